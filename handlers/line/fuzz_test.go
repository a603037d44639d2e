package line_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/line"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// FuzzWebhook feeds correctly signed bodies through the handler: whatever LINE (or someone
// holding the secret) sends, the handler answers 200 or 400, never panics, and dispatches
// only well-formed messages.
func FuzzWebhook(f *testing.F) {
	for _, name := range []string{"java-sdk_text-user.json", "java-sdk_postback.json", "java-sdk_follow.json",
		"java-sdk_unfollow.json", "java-sdk_unknown.json", "java-sdk_webhook-redelivery.json", "python-sdk_webhook.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"type":"postback","source":{"type":"user","userId":"U1"},"postback":{"data":"a=%ZZ&v=%E3","params":{"datetime":"T"}}}]}`))
	f.Add([]byte(`{"events":[{"type":"message","source":{"type":"user"},"message":{"type":"text"}}]}`))
	f.Add([]byte(`{"events":[null, 1, "x", {"type":7}]}`))
	h := newHarness(f, "http://127.0.0.1:1")
	f.Fuzz(func(t *testing.T, body []byte) {
		defer h.logs.Reset()
		rec := h.post(body, sign(testSecret, body))
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", rec.Code)
		}
		for _, m := range h.disp.take() {
			if m.EventID == "" || m.UserID == "" || m.Platform != bot.PlatformLINE || m.Tenant != "" {
				t.Fatalf("ill-formed message %+v", m)
			}
			if m.Text == "" && m.Action == "" && m.Value == "" {
				t.Fatalf("empty message dispatched: %+v", m)
			}
			if m.Action != "" && (!utf8.ValidString(m.Action) || !utf8.ValidString(m.Value)) {
				t.Fatalf("postback decoded to invalid UTF-8: %+v", m)
			}
		}
	})
}

// FuzzDecodePostback checks the decoder on any data: no panic, valid UTF-8 out, and what it
// decodes survives a round trip through EncodePostback.
func FuzzDecodePostback(f *testing.F) {
	for _, seed := range []string{
		"a=confirm&v=yes", "a=meeting.accept&v=会議%20%2312%20%26%2013", "action=buyItem&itemId=123123&color=red",
		"menu", "", "=", "a=&v=", "a=%zz&v=%", "a=x;y&v=1", "value=1&action=2", "a=1&a=2&v=+", "\xff=\xfe",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		action, value := line.DecodePostback(data)
		if !utf8.ValidString(action) || !utf8.ValidString(value) {
			t.Fatalf("DecodePostback(%q) = %q, %q: invalid UTF-8", data, action, value)
		}
		enc, ok := line.EncodePostback(action, value)
		if !ok {
			return // longer than LINE allows; the renderer uses a message action instead
		}
		a2, v2 := line.DecodePostback(enc)
		if a2 != action || v2 != value {
			t.Fatalf("round trip of %q: encoded %q, decoded %q, %q; want %q, %q", data, enc, a2, v2, action, value)
		}
	})
}

func TestPostbackRoundTrip(t *testing.T) {
	tests := []struct {
		action, value string
		data          string // the encoded form: Japanese stays as it is
	}{
		{"confirm", "yes", "a=confirm&v=yes"},
		{"cancel", "", "a=cancel"},
		{"dept", "総務課", "a=dept&v=総務課"},
		{"q", "a+b c;d&e=f%g#h\n", "a=q&v=a%2Bb%20c%3Bd%26e%3Df%25g%23h%0A"},
		{"", "only value", "a=&v=only%20value"},
	}
	for _, tt := range tests {
		data, ok := line.EncodePostback(tt.action, tt.value)
		if !ok || data != tt.data {
			t.Errorf("EncodePostback(%q, %q) = %q, %v; want %q", tt.action, tt.value, data, ok, tt.data)
		}
		if a, v := line.DecodePostback(data); a != tt.action || v != tt.value {
			t.Errorf("DecodePostback(%q) = %q, %q; want %q, %q", data, a, v, tt.action, tt.value)
		}
	}
	if _, ok := line.EncodePostback("answer", strings.Repeat("長", 300)); ok {
		t.Error("EncodePostback accepted data over 300 characters")
	}
}

// FuzzRenderText checks the splitter on any text (people's own words reach it through the
// engine): pieces join back to the text, each fits LINE's 5,000 UTF-16 units. Long texts
// are built by repeating a short fuzzed piece: the fuzzer stalls on multi-kilobyte seeds.
func FuzzRenderText(f *testing.F) {
	f.Add("🍎", uint16(2501))
	f.Add("あ\n", uint16(2600))
	f.Add("x\xff", uint16(4000))
	f.Add(" ", uint16(1))
	f.Fuzz(func(t *testing.T, piece string, times uint16) {
		if len(piece) == 0 || len(piece)*int(times) > 64<<10 {
			return
		}
		text := strings.Repeat(piece, int(times))
		var joined strings.Builder
		for _, m := range line.Render(bot.Reply{Text: text}) {
			tm := m.(*messaging_api.TextMessage)
			if n := len(utf16.Encode([]rune(tm.Text))); n == 0 || n > line.MaxTextLength {
				t.Fatalf("piece of %d UTF-16 units", n)
			}
			joined.WriteString(tm.Text)
		}
		if strings.TrimSpace(text) != "" && joined.String() != text {
			t.Fatal("pieces do not join back to the text")
		}
	})
}
