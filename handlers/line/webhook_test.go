package line_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/line"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

// fixtureAt is the timestamp shared by the LINE SDK fixtures (1462629479859 ms).
var fixtureAt = time.UnixMilli(1462629479859).UTC()

const (
	javaUser   = "u206d25c2ea6bd87c17655609a1c37cb8"
	pythonUser = "U206d25c2ea6bd87c17655609a1c37cb8"
	fixtureTok = "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
)

func lineMsg(id, user string, edit func(m *bot.Message)) bot.Message {
	m := bot.Message{EventID: id, Platform: bot.PlatformLINE, UserID: user, At: fixtureAt, ReplyToken: fixtureTok}
	if edit != nil {
		edit(&m)
	}
	return m
}

func TestSignatureVector(t *testing.T) {
	var v struct {
		Secret    string `json:"channel_secret"`
		Body      string `json:"body"`
		Signature string `json:"x_line_signature"`
	}
	if err := json.Unmarshal(fixture(t, "python-sdk_signature_vector.json"), &v); err != nil {
		t.Fatal(err)
	}
	if got := sign(v.Secret, []byte(v.Body)); got != v.Signature {
		t.Errorf("sign = %q, want the LINE SDK's %q", got, v.Signature)
	}
	if !webhook.ValidateSignature(v.Secret, v.Signature, []byte(v.Body)) {
		t.Error("SDK rejects the known-good vector")
	}
	if webhook.ValidateSignature(v.Secret, v.Signature, []byte(v.Body+" ")) {
		t.Error("SDK accepts the vector's signature for a different body")
	}
}

func TestWebhookEvents(t *testing.T) {
	id0 := "01JTESTEVENT00000000000000"
	tests := []struct {
		name string
		body func(t *testing.T) []byte
		want []bot.Message
	}{{
		name: "text message",
		body: func(t *testing.T) []byte { return withEventID(t, fixture(t, "java-sdk_text-user.json")) },
		want: []bot.Message{lineMsg(id0, javaUser, func(m *bot.Message) { m.Text = "Hello, world" })},
	}, {
		name: "postback from a hand-made rich menu",
		body: func(t *testing.T) []byte { return withEventID(t, fixture(t, "java-sdk_postback.json")) },
		want: []bot.Message{lineMsg(id0, javaUser, func(m *bot.Message) { m.Action = "buyItem" })},
	}, {
		name: "postback of a rendered choice",
		body: func(t *testing.T) []byte {
			data, _ := line.EncodePostback("meeting.accept", "会議 #12 & 13")
			return patchEvents(t, withEventID(t, fixture(t, "java-sdk_postback.json")), func(_ int, ev map[string]any) {
				ev["postback"] = map[string]any{"data": data}
			})
		},
		want: []bot.Message{lineMsg(id0, javaUser, func(m *bot.Message) { m.Action, m.Value = "meeting.accept", "会議 #12 & 13" })},
	}, {
		name: "datetime picker",
		body: func(t *testing.T) []byte {
			data, _ := line.EncodePostback(line.ActionProposeTime, "")
			return patchEvents(t, withEventID(t, fixture(t, "java-sdk_postback.json")), func(_ int, ev map[string]any) {
				ev["postback"] = map[string]any{"data": data, "params": map[string]any{"datetime": "2026-11-28T19:00"}}
			})
		},
		want: []bot.Message{lineMsg(id0, javaUser, func(m *bot.Message) { m.Action, m.Value = "propose_time", "2026-11-28 19:00" })},
	}, {
		name: "follow",
		body: func(t *testing.T) []byte { return withEventID(t, fixture(t, "java-sdk_follow.json")) },
		want: []bot.Message{lineMsg(id0, javaUser, func(m *bot.Message) { m.Action = "follow" })},
	}, {
		name: "follow after unblocking",
		body: func(t *testing.T) []byte {
			return patchEvents(t, withEventID(t, fixture(t, "java-sdk_follow.json")), func(_ int, ev map[string]any) {
				ev["follow"] = map[string]any{"isUnblocked": true}
			})
		},
		want: []bot.Message{lineMsg(id0, javaUser, func(m *bot.Message) { m.Action, m.Value = "follow", "unblocked" })},
	}, {
		name: "unfollow has no reply token",
		body: func(t *testing.T) []byte { return withEventID(t, fixture(t, "java-sdk_unfollow.json")) },
		want: []bot.Message{lineMsg(id0, javaUser, func(m *bot.Message) { m.Action, m.ReplyToken = "unfollow", "" })},
	}, {
		name: "redelivery keeps the event ID and the original time",
		body: func(t *testing.T) []byte { return fixture(t, "java-sdk_webhook-redelivery.json") },
		want: []bot.Message{lineMsg("01G2KZKG2DS765NMRH3GZFD8AP", javaUser, func(m *bot.Message) { m.Text = "Hello, world" })},
	}, {
		name: "unknown event types and shapes are ignored",
		body: func(t *testing.T) []byte { return withEventID(t, fixture(t, "java-sdk_unknown.json")) },
		want: nil,
	}, {
		name: "standby mode is ignored",
		body: func(t *testing.T) []byte {
			return patchEvents(t, withEventID(t, fixture(t, "java-sdk_text-user.json")), func(_ int, ev map[string]any) {
				ev["mode"] = "standby"
			})
		},
		want: nil,
	}, {
		name: "every event of the LINE SDK's webhook: one-to-one text, follow, unfollow and postbacks only",
		body: func(t *testing.T) []byte { return fixture(t, "python-sdk_webhook.json") },
		want: []bot.Message{
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Text = "Hello, world" }),
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Action = "follow" }),
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Action, m.ReplyToken = "unfollow", "" }),
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Action = "buyItem" }),
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Action, m.Value = "buyItem", "2013-04-01" }),
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Action, m.Value = "buyItem", "10:00" }),
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Action, m.Value = "buyItem", "2013-04-01 10:00" }),
			lineMsg("testwebhookeventid", pythonUser, func(m *bot.Message) { m.Text = "Hello, world" }),
		},
	}, {
		name: "empty verification call",
		body: func(t *testing.T) []byte {
			return []byte(`{"destination":"Uab012345678901234567890123456789","events":[]}`)
		},
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "http://127.0.0.1:1")
			body := tt.body(t)
			rec := h.post(body, sign(testSecret, body))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if diff := cmp.Diff(tt.want, h.disp.got()); diff != "" {
				t.Errorf("dispatched messages (-want +got):\n%s", diff)
			}
			// Logs carry event IDs and counts, never what people wrote or who they are.
			for _, secret := range []string{"Hello, world", javaUser, pythonUser, fixtureTok} {
				if strings.Contains(h.logs.String(), secret) {
					t.Errorf("logs contain %q:\n%s", secret, h.logs.String())
				}
			}
		})
	}
}

func TestWebhookMissingEventIDIsStableAcrossRedelivery(t *testing.T) {
	h := newHarness(t, "http://127.0.0.1:1")
	first := fixture(t, "java-sdk_text-user.json") // no webhookEventId at all
	again := patchEvents(t, first, func(_ int, ev map[string]any) {
		ev["deliveryContext"] = map[string]any{"isRedelivery": true}
	})
	for _, body := range [][]byte{first, again} {
		if rec := h.post(body, sign(testSecret, body)); rec.Code != http.StatusOK {
			t.Fatalf("status = %d", rec.Code)
		}
	}
	got := h.disp.got()
	if len(got) != 2 || got[0].EventID == "" || got[0].EventID != got[1].EventID {
		t.Errorf("synthetic event IDs = %q, want one non-empty ID for both deliveries", []string{got[0].EventID, got[1].EventID})
	}
}

func TestWebhookRejects(t *testing.T) {
	valid := withEventID(t, fixture(t, "java-sdk_text-user.json"))
	huge := append(append([]byte(`{"events":[],"pad":"`), bytes.Repeat([]byte("a"), line.MaxBodyBytes)...), `"}`...)
	notJSON := []byte(`{"events": [ {"type":"message","message":{"type":"text","text":"電話 090-1234-5678"`)
	tests := []struct {
		name      string
		method    string
		body      []byte
		signature string
		want      int
	}{
		{"bad signature", http.MethodPost, valid, sign("another secret", valid), http.StatusUnauthorized},
		{"signature of another body", http.MethodPost, valid, sign(testSecret, []byte("{}")), http.StatusUnauthorized},
		{"missing signature", http.MethodPost, valid, "", http.StatusUnauthorized},
		{"signature not base64", http.MethodPost, valid, "***", http.StatusUnauthorized},
		{"body over 1 MiB, correctly signed", http.MethodPost, huge, sign(testSecret, huge), http.StatusRequestEntityTooLarge},
		{"signed but not JSON", http.MethodPost, notJSON, sign(testSecret, notJSON), http.StatusBadRequest},
		{"GET", http.MethodGet, nil, "", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "http://127.0.0.1:1")
			req, _ := http.NewRequest(tt.method, line.WebhookPath, bytes.NewReader(tt.body))
			if tt.signature != "" {
				req.Header.Set("X-Line-Signature", tt.signature)
			}
			rec := httptest.NewRecorder()
			h.mux.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			if got := h.disp.got(); len(got) != 0 {
				t.Errorf("dispatched %d messages from a rejected request", len(got))
			}
			if strings.Contains(h.logs.String(), "090-1234-5678") || strings.Contains(h.logs.String(), javaUser) {
				t.Errorf("logs quote the body:\n%s", h.logs.String())
			}
		})
	}
}

func TestWebhookDispatchFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"store unavailable → 503 so LINE redelivers", bot.Errorf(bot.EUNAVAILABLE, "redis down"), http.StatusServiceUnavailable},
		{"wrapped unavailable", errors.Join(errors.New("enqueue"), bot.Errorf(bot.EUNAVAILABLE, "redis down")), http.StatusServiceUnavailable},
		{"other failure → 500", errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "http://127.0.0.1:1")
			// The second event fails: the first stays stored (the redelivery will be deduplicated)
			// and the third is not dispatched ahead of the failed one.
			calls := 0
			h.disp.err = func(*bot.Message) error {
				calls++
				if calls == 2 {
					return tt.err
				}
				return nil
			}
			body := withEventID(t, fixture(t, "java-sdk_text-user.json"))
			var cb map[string]any
			_ = json.Unmarshal(body, &cb)
			ev := cb["events"].([]any)[0]
			cb["events"] = []any{ev, ev, ev}
			body, _ = json.Marshal(cb)
			rec := h.post(body, sign(testSecret, body))
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			if got := len(h.disp.got()); got != 1 || calls != 2 {
				t.Errorf("stored %d, dispatch calls %d; want 1 stored and no call after the failure", got, calls)
			}
		})
	}
}

// BenchmarkWebhook measures the acknowledgement path (verify, parse, translate, dispatch
// to an in-memory dispatcher) that SPEC §10 budgets at 50 ms p99.
func BenchmarkWebhook(b *testing.B) {
	h := newHarness(b, "http://127.0.0.1:1")
	body := withEventID(b, fixture(b, "java-sdk_text-user.json"))
	sig := sign(testSecret, body)
	for b.Loop() {
		if rec := h.post(body, sig); rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
		h.disp.take()
	}
}
