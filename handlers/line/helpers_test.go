package line_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/handlers/line"
)

const (
	testSecret = "test-channel-secret"
	testToken  = "test-channel-token"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// sign computes X-Line-Signature independently of the SDK, so the tests check the adapter
// against LINE's definition rather than against the code it calls.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// dispatcher records dispatched messages; err, when set, decides each Dispatch's result.
type dispatcher struct {
	mu   sync.Mutex
	msgs []bot.Message
	err  func(m *bot.Message) error
}

func (d *dispatcher) Dispatch(ctx context.Context, m *bot.Message) error {
	if d.err != nil {
		if err := d.err(m); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, *m)
	return nil
}

// take returns the dispatched messages and forgets them, so a fuzz loop does not grow.
func (d *dispatcher) take() []bot.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	msgs := d.msgs
	d.msgs = nil
	return msgs
}

func (d *dispatcher) got() []bot.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bot.Message(nil), d.msgs...)
}

var _ handlers.Dispatcher = (*dispatcher)(nil)

// syncBuffer lets the race detector see log writes from the handler and reads from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	adapter *line.Adapter
	mux     *http.ServeMux
	disp    *dispatcher
	logs    *syncBuffer
}

// newHarness builds an adapter against apiURL (a fake LINE API, or an unused address for
// webhook-only tests) with debug logs captured, so tests can check what gets logged.
func newHarness(t testing.TB, apiURL string) *harness {
	t.Helper()
	h := &harness{mux: http.NewServeMux(), disp: &dispatcher{}, logs: &syncBuffer{}}
	a, err := line.New(line.Config{ChannelSecret: testSecret, ChannelToken: testToken, APIURL: apiURL}, line.Deps{
		Dispatcher: h.disp,
		Logger:     slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:      bot.ClockFunc(func() time.Time { return testNow }),
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Register(h.mux)
	h.adapter = a
	return h
}

func (h *harness) post(body []byte, signature string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, line.WebhookPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	if signature != "" {
		req.Header.Set("X-Line-Signature", signature)
	}
	rec := httptest.NewRecorder()
	h.mux.ServeHTTP(rec, req)
	return rec
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patchEvents fills in what a fixture leaves blank (the java fixtures predate webhookEventId)
// or sets a field under test, by editing event i of the decoded body.
func patchEvents(t testing.TB, body []byte, edit func(i int, ev map[string]any)) []byte {
	t.Helper()
	var cb map[string]any
	if err := json.Unmarshal(body, &cb); err != nil {
		t.Fatal(err)
	}
	events, _ := cb["events"].([]any)
	for i, e := range events {
		edit(i, e.(map[string]any))
	}
	out, err := json.Marshal(cb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withEventID fills webhookEventId with a distinct ULID-shaped value per event.
func withEventID(t testing.TB, body []byte) []byte {
	return patchEvents(t, body, func(i int, ev map[string]any) {
		if _, ok := ev["webhookEventId"]; !ok {
			ev["webhookEventId"] = fmt.Sprintf("01JTESTEVENT%014d", i)
		}
	})
}

// apiCall is one request the fake LINE API received.
type apiCall struct {
	Path     string
	RetryKey string
	HasKey   bool
	Auth     string
	Body     map[string]any
}

func (c apiCall) messages() []any { m, _ := c.Body["messages"].([]any); return m }

// response is what the fake answers; a zero response is 200 {"sentMessages":[]}.
type response struct {
	status     int
	retryAfter string
	message    string
}

// fakeLINE is an httptest Messaging API. It records every call, checks the request against
// LINE's documented limits (a violation is answered 400 like LINE would, and recorded as a
// test failure), and answers from script, in order; past the script it answers 200.
// With retryKeys set it behaves like LINE's retry-key store: a key that succeeded before gets 409.
type fakeLINE struct {
	t         testing.TB
	srv       *httptest.Server
	mu        sync.Mutex
	calls     []apiCall
	script    []response
	retryKeys bool
	accepted  map[string]bool
}

func newFakeLINE(t testing.TB, script ...response) *fakeLINE {
	f := &fakeLINE{t: t, script: script, accepted: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func (f *fakeLINE) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	c := apiCall{Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
	c.RetryKey, c.HasKey = r.Header.Get("X-Line-Retry-Key"), len(r.Header.Values("X-Line-Retry-Key")) > 0
	if err := json.Unmarshal(raw, &c.Body); err != nil {
		f.t.Errorf("fake LINE: %s: body is not JSON: %v", c.Path, err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	var resp response
	if len(f.script) > 0 {
		resp, f.script = f.script[0], f.script[1:]
	}
	if problems := lineProblems(c.messages()); len(problems) > 0 {
		f.t.Errorf("fake LINE: %s violates LINE limits: %v", c.Path, problems)
		resp = response{status: 400, message: "The request body has errors"}
	}
	if c.Path == "/v2/bot/message/push" {
		if !uuidRE.MatchString(c.RetryKey) {
			f.t.Errorf("fake LINE: push retry key %q is not a UUID", c.RetryKey)
		}
		if f.retryKeys && f.accepted[c.RetryKey] {
			resp = response{status: http.StatusConflict, message: "The retry key is already accepted"}
		}
	}
	if resp.status == 0 || resp.status/100 == 2 {
		f.accepted[c.RetryKey] = true
	}
	f.mu.Unlock()

	if resp.status == 0 {
		resp.status = 200
	}
	w.Header().Set("Content-Type", "application/json")
	if resp.retryAfter != "" {
		w.Header().Set("Retry-After", resp.retryAfter)
	}
	w.WriteHeader(resp.status)
	if resp.status/100 == 2 {
		_, _ = io.WriteString(w, `{"sentMessages":[]}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"message": resp.message})
}

func (f *fakeLINE) got() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

// lineProblems checks decoded messages against the Messaging API's limits and required
// fields; Render's tests and the fake API share it.
func lineProblems(msgs []any) []string {
	var p []string
	if len(msgs) == 0 || len(msgs) > 5 {
		p = append(p, fmt.Sprintf("%d messages in one request", len(msgs)))
	}
	for i, m := range msgs {
		msg, _ := m.(map[string]any)
		switch msg["type"] {
		case "text":
			text, _ := msg["text"].(string)
			if n := len(utf16.Encode([]rune(text))); n == 0 || n > 5000 {
				p = append(p, fmt.Sprintf("message %d: text of %d UTF-16 units", i, n))
			}
		case "flex":
			alt, _ := msg["altText"].(string)
			if alt == "" || utf8.RuneCountInString(alt) > 1500 {
				p = append(p, fmt.Sprintf("message %d: altText %q", i, alt))
			}
			if b, _ := json.Marshal(msg["contents"]); len(b) > 30<<10 {
				p = append(p, fmt.Sprintf("message %d: flex contents of %d bytes", i, len(b)))
			}
		case "image":
			for _, k := range []string{"originalContentUrl", "previewImageUrl"} {
				if u, _ := msg[k].(string); !strings.HasPrefix(u, "https://") {
					p = append(p, fmt.Sprintf("message %d: %s %q is not https", i, k, u))
				}
			}
		default:
			p = append(p, fmt.Sprintf("message %d: type %q", i, msg["type"]))
		}
		if q, ok := msg["quickReply"].(map[string]any); ok {
			items, _ := q["items"].([]any)
			if len(items) == 0 || len(items) > 13 {
				p = append(p, fmt.Sprintf("message %d: %d quick reply items", i, len(items)))
			}
			for _, it := range items {
				if item, _ := it.(map[string]any); item["type"] != "action" {
					p = append(p, fmt.Sprintf("message %d: quick reply item type %v", i, item["type"]))
				}
			}
		}
		walkActions(msg, func(a map[string]any) {
			label, _ := a["label"].(string)
			if label == "" || utf8.RuneCountInString(label) > 20 {
				p = append(p, fmt.Sprintf("message %d: action label %q", i, label))
			}
			switch a["type"] {
			case "postback", "datetimepicker":
				if d, _ := a["data"].(string); utf8.RuneCountInString(d) > 300 {
					p = append(p, fmt.Sprintf("message %d: postback data of %d chars", i, utf8.RuneCountInString(d)))
				}
			case "message":
				if text, _ := a["text"].(string); text == "" || utf8.RuneCountInString(text) > 300 {
					p = append(p, fmt.Sprintf("message %d: message action text %q", i, text))
				}
			default:
				p = append(p, fmt.Sprintf("message %d: action type %v", i, a["type"]))
			}
		})
	}
	return p
}

// walkActions calls fn for every object under an "action" key.
func walkActions(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if a, ok := x.(map[string]any); ok && k == "action" {
				fn(a)
			}
			walkActions(x, fn)
		}
	case []any:
		for _, x := range v {
			walkActions(x, fn)
		}
	}
}
