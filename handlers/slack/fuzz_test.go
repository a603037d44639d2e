package slack_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	kslack "github.com/kakehashi/kakehashi/handlers/slack"
)

func TestInboundText(t *testing.T) {
	// Slack sends what a person typed with its own markup; the engine gets plain text.
	tests := []struct{ slack, want string }{
		{"11/28 19:00", "11/28 19:00"},
		{"明日 10時 &amp; 来週水曜 夜", "明日 10時 & 来週水曜 夜"},
		{"&lt;!channel&gt; は文字", "<!channel> は文字"},
		{"<https://example.jp>", "https://example.jp"},
		{"<http://example.jp|example.jp> を見て", "example.jp を見て"},
		{"<mailto:a@example.jp|a@example.jp>", "a@example.jp"},
		{"<@W222> さんと <@W333|suzuki>", "@W222 さんと @suzuki"},
		{"<#C111|general> で", "#general で"},
		{"<!here> 急ぎ", "@here 急ぎ"},
		{"<!subteam^S1|@dx-team>", "@dx-team"},
		{"a < b", "a < b"},
		{"<@UBOT> 参加 DEMO-STAFF", "参加 DEMO-STAFF"},
	}
	e := newEnv(t)
	for i, tt := range tests {
		e.event(dmEvent(t, "EvT"+strconv.Itoa(i), "W111", tt.slack))
		got := e.disp.got()
		if len(got) != i+1 || got[i].Text != tt.want {
			t.Fatalf("%q: dispatched %+v, want text %q", tt.slack, got, tt.want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"<!channel>", "<@U1|x>", "a & b", "&amp;", "<https://x|y>", "日本語 🎌", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := kslack.Escape(s)
		if strings.ContainsAny(got, "<>") {
			t.Fatalf("Escape(%q) = %q keeps a bracket", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] == '&' && !strings.HasPrefix(got[i:], "&amp;") && !strings.HasPrefix(got[i:], "&lt;") && !strings.HasPrefix(got[i:], "&gt;") {
				t.Fatalf("Escape(%q) = %q has a bare &", s, got)
			}
		}
		back := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(got)
		if back != s {
			t.Fatalf("Escape(%q) does not decode back: %q", s, back)
		}
		if utf8.ValidString(s) != utf8.ValidString(got) {
			t.Fatalf("Escape changed UTF-8 validity")
		}
	})
}

// FuzzEvents posts arbitrary, correctly signed bodies to /slack/events: the adapter must
// never panic, answer only 200 or 400, and dispatch only well-formed messages of the bound tenant.
func FuzzEvents(f *testing.F) {
	for _, name := range []string{
		"bolt-python_url_verification.json", "bolt-python_event_message.json", "bolt-python_event_app_home_opened.json",
		"bolt-python_event_member_joined_channel.json", "java-sdk_MessagePayload.json", "java-sdk_AppMentionPayload.json",
	} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"type":"event_callback","team_id":"T111","event_id":"Ev9","event":{"type":"message","channel_type":"im","user":"W111","text":"<@U1|<x>> &amp;&lt","channel":"D1","ts":"1.2"}}`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T111","event":null}`))
	f.Add([]byte(`{"type":"app_rate_limited","team_id":"T111"}`))
	f.Add([]byte(`[]`))
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := len(e.disp.got())
		ts := time.Now().Unix()
		r := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
		w := httptest.NewRecorder()
		e.mux.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d", w.Code)
		}
		for _, m := range e.disp.got()[before:] {
			if m.Platform != bot.PlatformSlack || m.Tenant != testTenant || m.EventID == "" || m.UserID == "" {
				t.Fatalf("dispatched a malformed message: %+v", m)
			}
		}
	})
}

// FuzzInteractions does the same for /slack/interactions payloads.
func FuzzInteractions(f *testing.F) {
	for _, name := range []string{"bolt-python_block_actions.json", "bolt-python_view_submission.json", "bolt-python_socketmode_envelope_interactive_shortcut.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"type":"block_actions","team":{"id":"T111"},"user":{"id":"W1"},"actions":[{"action_id":"kj0","value":"[\"a\""}]}`))
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		before := len(e.disp.got())
		body := []byte(url.Values{"payload": {string(payload)}}.Encode())
		ts := time.Now().Unix()
		r := httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
		w := httptest.NewRecorder()
		e.mux.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d", w.Code)
		}
		for _, m := range e.disp.got()[before:] {
			if m.Platform != bot.PlatformSlack || m.Tenant != testTenant || m.EventID == "" || m.UserID == "" {
				t.Fatalf("dispatched a malformed message: %+v", m)
			}
		}
	})
}
