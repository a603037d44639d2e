package lineworks_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

func TestCallbackEvents(t *testing.T) {
	issued := time.Date(2022, 1, 4, 5, 16, 5, 716e6, time.UTC)
	const user = "c72af563-0f21-4736-11e4-045237113344"
	postback, err := lineworks.EncodePostback("need.claim", "12")
	if err != nil {
		t.Fatal(err)
	}
	withPostback := func(pb string) func(map[string]any) {
		return func(m map[string]any) {
			m["content"].(map[string]any)["postback"] = pb
			m["content"].(map[string]any)["text"] = "担当する"
		}
	}
	base := func(channel string) bot.Message {
		return bot.Message{Platform: bot.PlatformLineWorks, Tenant: testTenant, UserID: user,
			AutoRole: bot.RoleStaff, At: issued, Channel: channel}
	}
	tests := []struct {
		name string
		body []byte
		want func(m bot.Message) bot.Message
	}{
		{"text", fixture(t, "ruby-sdk_text_message.json"), func(m bot.Message) bot.Message {
			m.Channel, m.Text = "12345a12-b12c-12d3-e123fghijkl", "hello"
			return m
		}},
		{"postback event", fixture(t, "ruby-sdk_postback.json"), func(m bot.Message) bot.Message {
			m.Action = "buy"
			return m
		}},
		{"message with our postback", editFixture(t, "ruby-sdk_text_message.json", withPostback(postback)), func(m bot.Message) bot.Message {
			m.Channel, m.Action, m.Value = "12345a12-b12c-12d3-e123fghijkl", "need.claim", "12"
			return m
		}},
		{"start button", editFixture(t, "ruby-sdk_text_message.json", withPostback("start")), func(m bot.Message) bot.Message {
			m.Channel, m.Action = "12345a12-b12c-12d3-e123fghijkl", lineworks.ActionJoin
			return m
		}},
		{"foreign postback keeps the label as text", editFixture(t, "ruby-sdk_text_message.json", withPostback("MENU_1")), func(m bot.Message) bot.Message {
			m.Channel, m.Text = "12345a12-b12c-12d3-e123fghijkl", "担当する"
			return m
		}},
		{"rich menu postback as keyword", editFixture(t, "ruby-sdk_postback.json", func(m map[string]any) { m["data"] = "メニュー" }), func(m bot.Message) bot.Message {
			m.Text = "メニュー"
			return m
		}},
		{"1:1 text without channel, domainId as string", editFixture(t, "ruby-sdk_text_message.json", func(m map[string]any) {
			src := m["source"].(map[string]any)
			delete(src, "channelId")
			src["domainId"] = testDomain
		}), func(m bot.Message) bot.Message {
			m.Channel, m.Text = "", "hello"
			return m
		}},
		{"join", fixture(t, "ruby-sdk_join.json"), func(m bot.Message) bot.Message {
			m.UserID, m.Action, m.At = "", lineworks.ActionJoin, time.Date(2022, 1, 4, 5, 16, 5, 0, time.UTC)
			return m
		}},
		{"joined", fixture(t, "ruby-sdk_joined.json"), func(m bot.Message) bot.Message {
			m.UserID, m.Action, m.Value = "", lineworks.ActionJoin, "userf7da-f82c-4284-13e7-030f3b4c756x"
			return m
		}},
		{"leave", fixture(t, "ruby-sdk_leave.json"), func(m bot.Message) bot.Message {
			m.UserID, m.Action = "", lineworks.ActionLeave
			return m
		}},
		{"left", fixture(t, "ruby-sdk_left.json"), func(m bot.Message) bot.Message {
			m.UserID, m.Action, m.Value = "", lineworks.ActionLeave, "userf7da-f82c-4284-13e7-030f3b4c756x"
			return m
		}},
		{"sticker", fixture(t, "ruby-sdk_sticker_message.json"), func(m bot.Message) bot.Message {
			m.Action, m.Value = lineworks.ActionUnsupported, "sticker"
			return m
		}},
		{"image", fixture(t, "ruby-sdk_image_message.json"), func(m bot.Message) bot.Message {
			m.Action, m.Value = lineworks.ActionUnsupported, "image"
			return m
		}},
		{"file", fixture(t, "ruby-sdk_file_message.json"), func(m bot.Message) bot.Message {
			m.Action, m.Value = lineworks.ActionUnsupported, "file"
			return m
		}},
		{"location", fixture(t, "ruby-sdk_location_message.json"), func(m bot.Message) bot.Message {
			m.Action, m.Value = lineworks.ActionUnsupported, "location"
			return m
		}},
		{"content without type", fixture(t, "ruby-sdk_unsupport_message.json"), func(m bot.Message) bot.Message {
			m.UserID, m.Action = "", lineworks.ActionUnsupported
			return m
		}},
		{"unknown event", fixture(t, "ruby-sdk_unknown.json"), func(m bot.Message) bot.Message {
			m.UserID, m.Action, m.Value = "", lineworks.ActionUnsupported, "unknown"
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			rec := e.post(tt.body, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200 (%s)", rec.Code, rec.Body)
			}
			got := e.disp.got()
			if len(got) != 1 {
				t.Fatalf("dispatched %d messages, want 1", len(got))
			}
			want := tt.want(base("12345"))
			want.EventID = lineworks.EventID(tt.body)
			if diff := cmp.Diff(want, *got[0]); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventIDStableAndDistinct(t *testing.T) {
	a := fixture(t, "ruby-sdk_text_message.json")
	b := bytes.Replace(a, []byte("05.716Z"), []byte("06.001Z"), 1)
	if lineworks.EventID(a) != lineworks.EventID(append([]byte(nil), a...)) {
		t.Error("same body, different IDs")
	}
	if lineworks.EventID(a) == lineworks.EventID(b) {
		t.Error("different issuedTime, same ID")
	}
	if !strings.HasPrefix(lineworks.EventID(a), "lw:") || len(lineworks.EventID(a)) != 3+64 {
		t.Errorf("EventID %q: want lw: + 64 hex digits", lineworks.EventID(a))
	}
}

func TestCallbackRejects(t *testing.T) {
	body := fixture(t, "ruby-sdk_text_message.json")
	huge := append([]byte(`{"type":"message","pad":"`), bytes.Repeat([]byte("a"), lineworks.MaxBodyBytes)...)
	huge = append(huge, `"}`...)
	tests := []struct {
		name string
		body []byte
		hdr  map[string]string
		want int
	}{
		{"bad signature", body, map[string]string{"X-WORKS-Signature": sign("other-secret", body)}, http.StatusUnauthorized},
		{"signature of another body", body, map[string]string{"X-WORKS-Signature": sign(testBotSecret, []byte("{}"))}, http.StatusUnauthorized},
		{"missing signature", body, map[string]string{"X-WORKS-Signature": ""}, http.StatusUnauthorized},
		{"signature not base64", body, map[string]string{"X-WORKS-Signature": "%%%"}, http.StatusUnauthorized},
		{"wrong bot ID", body, map[string]string{"X-WORKS-BotId": "9999999"}, http.StatusForbidden},
		{"missing bot ID", body, map[string]string{"X-WORKS-BotId": ""}, http.StatusForbidden},
		{"body over 1 MiB", huge, nil, http.StatusRequestEntityTooLarge},
		{"unsigned garbage is not parsed", []byte(`{"type":`), map[string]string{"X-WORKS-Signature": sign("x", body)}, http.StatusUnauthorized},
		{"signed garbage", []byte(`{"type":`), nil, http.StatusBadRequest},
		{"signed wrong shape", []byte(`{"type":"message","source":[]}`), nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			rec := e.post(tt.body, tt.hdr)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
			if n := len(e.disp.got()); n != 0 {
				t.Errorf("dispatched %d messages, want none", n)
			}
		})
	}
}

func TestCallbackHeaderNamesAnyCase(t *testing.T) {
	e := newEnv(t, nil)
	body := fixture(t, "ruby-sdk_text_message.json")
	req := httptest.NewRequest(http.MethodPost, lineworks.CallbackPath, bytes.NewReader(body))
	// The docs show both X-WORKS-BotId and X-WORKS-botId.
	req.Header["x-works-signature"] = []string{sign(testBotSecret, body)}
	req.Header["X-WORKS-botId"] = []string{testBotID}
	req.Header = http.Header(canonical(req.Header))
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(e.disp.got()) != 1 {
		t.Fatalf("status %d, dispatched %d", rec.Code, len(e.disp.got()))
	}
}

// canonical does what net/http's server does to incoming header names.
func canonical(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		for _, s := range v {
			out.Add(k, s)
		}
	}
	return out
}

func TestCallbackOnlyPOST(t *testing.T) {
	e := newEnv(t, nil)
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, lineworks.CallbackPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", rec.Code)
	}
}

func TestCallbackUnboundDomainIgnored(t *testing.T) {
	e := newEnv(t, func(c *lineworks.Config) { c.Bindings = map[string]bot.TenantID{"1": "other"} })
	rec := e.post(fixture(t, "ruby-sdk_text_message.json"), nil)
	if rec.Code != http.StatusOK {
		t.Errorf("status %d, want 200 (acknowledged, dropped)", rec.Code)
	}
	if n := len(e.disp.got()); n != 0 {
		t.Errorf("dispatched %d messages, want none", n)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "unbound domain") || !strings.Contains(logs, testDomain) {
		t.Errorf("no log line naming the unbound domain:\n%s", logs)
	}
}

func TestCallbackDispatchFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"store unavailable", bot.Errorf(bot.EUNAVAILABLE, "redis down"), http.StatusServiceUnavailable},
		{"other failure", errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.disp.err = tt.err
			rec := e.post(fixture(t, "ruby-sdk_text_message.json"), nil)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
			logs := e.logs.String()
			if !strings.Contains(logs, "could not store callback") {
				t.Errorf("failure not logged:\n%s", logs)
			}
			if strings.Contains(logs, "hello") || strings.Contains(logs, "c72af563") {
				t.Errorf("log line carries the message text or user ID:\n%s", logs)
			}
		})
	}
}
