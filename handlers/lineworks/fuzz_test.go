package lineworks_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

// FuzzCallback feeds correctly signed bodies through the real handler: whatever the
// body, the answer is 200 or 400, never a panic, and a stored message is well formed.
func FuzzCallback(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"message","source":{"userId":"u","domainId":"40029600"},"content":{"type":"text","text":"x","postback":"action=a&value=%E3%81%82"}}`))
	f.Add([]byte(`{"type":"postback","source":{"domainId":40029600},"data":"action=&value="}`))
	f.Add([]byte(`{"type":"joined","source":{"domainId":4.0029600e7},"members":null,"issuedTime":"2022-13-99"}`))
	f.Add([]byte(`null`))
	rec := &recorder{}
	a, err := lineworks.New(lineworks.Config{
		BotID: testBotID, BotSecret: testBotSecret, ClientID: testClientID, ClientSecret: testClientSecret,
		ServiceAccount: testServiceAccount, PrivateKey: testKey(f),
		Bindings: map[string]bot.TenantID{testDomain: testTenant},
	}, lineworks.Deps{Dispatcher: rec})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := len(rec.got())
		req := httptest.NewRequest(http.MethodPost, lineworks.CallbackPath, bytes.NewReader(body))
		req.Header.Set("X-WORKS-Signature", sign(testBotSecret, body))
		req.Header.Set("X-WORKS-BotId", testBotID)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		got := rec.got()[before:]
		switch w.Code {
		case http.StatusOK:
			if len(got) > 1 {
				t.Fatalf("one body stored %d messages", len(got))
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if len(got) != 0 {
				t.Fatalf("status %d but a message was stored", w.Code)
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
		for _, m := range got {
			if m.EventID != lineworks.EventID(body) || m.Platform != bot.PlatformLineWorks ||
				m.Tenant != testTenant || m.AutoRole != bot.RoleStaff || m.At.IsZero() {
				t.Fatalf("malformed message %+v", m)
			}
			if m.Text != "" && m.Action != "" {
				t.Fatalf("both text and action set: %+v", m)
			}
			if len(m.Value) > len(body) {
				t.Fatalf("value longer than the body")
			}
		}
	})
}

// FuzzDecodePostback: any data decodes without panic, and what decodes re-encodes to
// data that decodes the same.
func FuzzDecodePostback(f *testing.F) {
	for _, s := range []string{"action=buy", "action=need.claim&value=12", "start", "action=%E3%81%82&value=%zz",
		"action=a&action=b", "value=1&action=x&extra=y", "", "action=a;b", "メニュー"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		action, value, ok := lineworks.DecodePostback(data)
		if !ok {
			if action != "" || value != "" {
				t.Fatalf("not ok but returned %q, %q", action, value)
			}
			return
		}
		if action == "" {
			t.Fatal("ok with an empty action")
		}
		re, err := lineworks.EncodePostback(action, value)
		if err != nil {
			return // longer than PostbackMax once escaped: Render falls back for it
		}
		a2, v2, ok2 := lineworks.DecodePostback(re)
		if !ok2 || a2 != action || v2 != value {
			t.Fatalf("round trip of %q: %q,%q -> %q -> %q,%q,%v", data, action, value, re, a2, v2, ok2)
		}
	})
}

// FuzzEncodePostback: every encodable pair comes back unchanged and fits the limit.
func FuzzEncodePostback(f *testing.F) {
	f.Add("need.claim", "12")
	f.Add("a&b", "=;%+ ")
	f.Add("カテゴリ", "防災・減災")
	f.Fuzz(func(t *testing.T, action, value string) {
		data, err := lineworks.EncodePostback(action, value)
		if err != nil {
			return
		}
		if len(data) > lineworks.PostbackMax {
			t.Fatalf("%d characters", len(data))
		}
		a, v, ok := lineworks.DecodePostback(data)
		if !ok || a != action || v != value {
			t.Fatalf("Decode(Encode(%q, %q)) = %q, %q, %v", action, value, a, v, ok)
		}
	})
}

// FuzzSplitText: pieces fit the limit, never split a character, and add up to the input.
func FuzzSplitText(f *testing.F) {
	f.Add("あいう\nえお😀", 3)
	f.Add(strings.Repeat("a\n", 50), 7)
	f.Add("\xff\xfe😀", 1)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 2 || max > 5000 {
			return
		}
		pieces := lineworks.SplitText(s, max)
		if strings.Join(pieces, "") != s {
			t.Fatal("pieces do not add up to the input")
		}
		for _, p := range pieces {
			if p == "" {
				t.Fatal("empty piece")
			}
			if units(p) > max && utf8.ValidString(s) {
				t.Fatalf("piece of %d units > %d", units(p), max)
			}
			if utf8.ValidString(s) && !utf8.ValidString(p) {
				t.Fatalf("piece %q splits a character", p)
			}
		}
	})
}
