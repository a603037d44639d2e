package slack_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	kslack "github.com/kakehashi/kakehashi/handlers/slack"
)

const (
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	testBotToken = "xoxb-test-token"
	testAppToken = "xapp-test-token"
	testTenant   = bot.TenantID("demo")
	testTeam     = "T111"
)

// fixedNow is the test clock; Slack timestamps in requests use the wall clock because
// slack.NewSecretsVerifier checks them against it.
var fixedNow = time.Date(2026, 4, 1, 9, 0, 0, 0, bot.Tokyo)

// sign computes Slack's v0 signature of body at ts.
func sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// apiCall is one request the fake Web API received.
type apiCall struct {
	Method string
	Token  string
	Params url.Values     // form-encoded methods
	JSON   map[string]any // JSON methods
	Raw    []byte
	File   []byte // the uploaded content (upload URL)
	At     time.Time
}

// fakeSlack is an httptest fake of the Slack Web API (and of the Socket Mode WebSocket).
type fakeSlack struct {
	t   testing.TB
	srv *httptest.Server

	mu    sync.Mutex
	calls []apiCall
	// limited answers the next n calls of a method with 429 and Retry-After: retryAfter.
	limited    map[string]int
	retryAfter string
	// throttle, when set, answers 429 to the n-th call (1-based) of a method when it returns
	// true, with Retry-After: retryAfter (none when empty).
	throttle func(method string, n int) bool
	seen     map[string]int
	// channelErrors makes chat.postMessage to a channel fail with the error code.
	channelErrors map[string]string
	users         map[string]slack.User
	// ws serves the Socket Mode WebSocket.
	ws func(*websocket.Conn)
	// notify receives every call's method.
	notify chan string
}

func newFakeSlack(t testing.TB) *fakeSlack {
	f := &fakeSlack{
		t:             t,
		limited:       map[string]int{},
		seen:          map[string]int{},
		channelErrors: map[string]string{},
		notify:        make(chan string, 1000),
		users: map[string]slack.User{
			"W111": member("W111", "山田 花子", "ja-JP"),
			"W222": member("W222", "佐藤 一郎", "ja-JP"),
			"U111": member("U111", "Alice", "en-US"),
			"U222": member("U222", "鈴木", "ja-JP"),
		},
	}
	guest := member("W333", "Guest", "ja-JP")
	guest.IsRestricted = true
	f.users["W333"] = guest
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func member(id, name, locale string) slack.User {
	u := slack.User{ID: id, TeamID: testTeam, Name: strings.ToLower(id), Locale: locale}
	u.Profile.DisplayName = name
	return u
}

func (f *fakeSlack) URL() string { return f.srv.URL + "/api/" }

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws" {
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			f.t.Errorf("fake slack: upgrade: %v", err)
			return
		}
		defer conn.Close()
		if f.ws != nil {
			f.ws(conn)
		}
		return
	}
	c := apiCall{At: time.Now()}
	if name, ok := strings.CutPrefix(r.URL.Path, "/upload/"); ok {
		c.Method = "upload"
		c.Token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			if p.FormName() == "file" {
				c.File = b
				c.Params = url.Values{"filename": {p.FileName()}, "id": {name}}
			}
		}
		f.record(c)
		fmt.Fprint(w, "OK - "+strconv.Itoa(len(c.File)))
		return
	}
	c.Method = strings.TrimPrefix(r.URL.Path, "/api/")
	c.Raw, _ = io.ReadAll(r.Body)
	c.Token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(c.Raw) > 0 {
			if err := json.Unmarshal(c.Raw, &c.JSON); err != nil {
				f.t.Errorf("fake slack: %s: bad JSON: %v", c.Method, err)
			}
		}
	} else {
		c.Params, _ = url.ParseQuery(string(c.Raw))
		if tok := c.Params.Get("token"); tok != "" {
			c.Token = tok
		}
		c.Params.Del("token")
	}
	f.mu.Lock()
	f.seen[c.Method]++
	limited := f.limited[c.Method] > 0
	if limited {
		f.limited[c.Method]--
	}
	if f.throttle != nil && f.throttle(c.Method, f.seen[c.Method]) {
		limited = true
	}
	f.mu.Unlock()
	if limited {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	want := testBotToken
	if c.Method == "apps.connections.open" {
		want = testAppToken
	}
	if c.Token != want {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	f.record(c)
	switch c.Method {
	case "chat.postMessage":
		ch := c.Params.Get("channel")
		f.mu.Lock()
		code := f.channelErrors[ch]
		n := len(f.calls)
		f.mu.Unlock()
		if code != "" {
			writeJSON(w, map[string]any{"ok": false, "error": code})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "channel": ch, "ts": fmt.Sprintf("1775000000.%06d", n)})
	case "conversations.open":
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + c.Params.Get("users")}})
	case "users.info":
		f.mu.Lock()
		u, ok := f.users[c.Params.Get("user")]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "user": u})
	case "views.open", "views.publish":
		writeJSON(w, map[string]any{"ok": true, "view": map[string]any{"id": "V123"}})
	case "files.getUploadURLExternal":
		writeJSON(w, map[string]any{"ok": true, "upload_url": f.srv.URL + "/upload/F123", "file_id": "F123"})
	case "files.completeUploadExternal":
		writeJSON(w, map[string]any{"ok": true, "files": []map[string]string{{"id": "F123", "title": "x"}}})
	case "apps.connections.open":
		writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws"})
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (f *fakeSlack) record(c apiCall) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	select {
	case f.notify <- c.Method:
	default:
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// callsTo returns the recorded calls of a method.
func (f *fakeSlack) callsTo(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSlack) limit(method string, n int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited[method] = n
	f.retryAfter = retryAfter
}

// postedBlocks decodes the blocks of a chat.postMessage call.
func postedBlocks(t *testing.T, c apiCall) []slack.Block {
	t.Helper()
	var bs slack.Blocks
	if err := json.Unmarshal([]byte(c.Params.Get("blocks")), &bs); err != nil {
		t.Fatalf("blocks of %s: %v", c.Method, err)
	}
	return bs.BlockSet
}

// dispatcher records dispatched messages.
type dispatcher struct {
	mu   sync.Mutex
	msgs []bot.Message
	err  error
}

func (d *dispatcher) Dispatch(_ context.Context, m *bot.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, *m)
	return d.err
}

func (d *dispatcher) got() []bot.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bot.Message(nil), d.msgs...)
}

var _ handlers.Dispatcher = (*dispatcher)(nil)

// forms fakes handlers.Forms with function fields.
type forms struct {
	FormFn       func(ctx context.Context, tenant bot.TenantID, lang bot.Lang, name string) (*handlers.FormSpec, error)
	SubmitFormFn func(ctx context.Context, m *bot.Message, name string, values map[string]string) (map[string]string, []bot.Reply, error)
}

func (f *forms) Form(ctx context.Context, tenant bot.TenantID, lang bot.Lang, name string) (*handlers.FormSpec, error) {
	return f.FormFn(ctx, tenant, lang, name)
}

func (f *forms) SubmitForm(ctx context.Context, m *bot.Message, name string, values map[string]string) (map[string]string, []bot.Reply, error) {
	return f.SubmitFormFn(ctx, m, name, values)
}

var _ handlers.Forms = (*forms)(nil)

// env is an adapter wired to a fake Slack and recording fakes.
type env struct {
	t    testing.TB
	api  *fakeSlack
	disp *dispatcher
	a    *kslack.Adapter
	mux  *http.ServeMux
	logs *bytes.Buffer
}

type option func(*kslack.Config, *kslack.Deps)

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	e := &env{t: t, api: newFakeSlack(t), disp: &dispatcher{}, mux: http.NewServeMux(), logs: &bytes.Buffer{}}
	cfg := kslack.Config{
		BotToken:      testBotToken,
		SigningSecret: testSecret,
		AppToken:      testAppToken,
		APIURL:        e.api.URL(),
		Bindings:      map[string]bot.TenantID{testTeam: testTenant},
		PostInterval:  time.Millisecond,
	}
	deps := kslack.Deps{
		Dispatcher: e.disp,
		Logger:     slog.New(slog.NewJSONHandler(&syncWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:      bot.ClockFunc(func() time.Time { return fixedNow }),
	}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	a, err := kslack.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	a.Register(e.mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return e
}

// syncWriter serialises log writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// post sends a request signed at ts (the current time when zero).
func (e *env) post(path string, body []byte, contentType string, ts int64, header ...string) *httptest.ResponseRecorder {
	if ts == 0 {
		ts = time.Now().Unix()
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func (e *env) event(body []byte, header ...string) *httptest.ResponseRecorder {
	return e.post("/slack/events", body, "application/json", 0, header...)
}

func (e *env) interaction(payload []byte) *httptest.ResponseRecorder {
	body := url.Values{"payload": {string(payload)}}.Encode()
	return e.post("/slack/interactions", []byte(body), "application/x-www-form-urlencoded", 0)
}

// wait lets the work after the acknowledgement finish.
func (e *env) wait() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.a.Shutdown(ctx); err != nil {
		e.t.Fatalf("shutdown: %v", err)
	}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patched loads a JSON fixture and sets the dotted paths ("event.channel_type") to values;
// a nil value deletes the key.
func patched(t testing.TB, name string, kv ...any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	return patch(t, m, kv...)
}

func patch(t testing.TB, m map[string]any, kv ...any) []byte {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		keys := strings.Split(kv[i].(string), ".")
		cur := m
		for _, k := range keys[:len(keys)-1] {
			switch next := cur[k].(type) {
			case map[string]any:
				cur = next
			case []any:
				cur = next[0].(map[string]any) // "actions.x" means the first element
			default:
				t.Fatalf("patch %s: no object at %s", kv[i], k)
			}
		}
		if kv[i+1] == nil {
			delete(cur, keys[len(keys)-1])
		} else {
			cur[keys[len(keys)-1]] = kv[i+1]
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newReq is a request to /slack/events signed with the test secret at ts.
func newReq(body []byte, ts int64) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
	return r
}

// texts collects every text a person sees in blocks, with block types for dividers and actions.
func texts(blocks []slack.Block) []string {
	var out []string
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
			for _, f := range b.Fields {
				out = append(out, f.Text)
			}
		case *slack.ContextBlock:
			for _, el := range b.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					out = append(out, t.Text)
				}
			}
		case *slack.ActionBlock:
			out = append(out, "[actions]")
			for _, el := range b.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					out = append(out, "["+btn.Text.Text+"]")
				}
			}
		case *slack.DividerBlock:
			out = append(out, "---")
		}
	}
	return out
}
