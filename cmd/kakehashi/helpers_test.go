package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/match"
	"github.com/kakehashi/kakehashi/store"
)

// testRedisDB is the Redis database this package's tests use on a real server, so that
// packages tested in parallel do not flush each other's data.
const testRedisDB = 2

// stepClock is a settable clock for tests.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer captures the app's logs so tests can assert that no personal data is logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

type testApp struct {
	*App
	t     *testing.T
	srv   *httptest.Server
	clock *stepClock
	logs  *logBuffer
	dir   string
}

type testOpt func(*appConfig)

// redisURLForTest returns the real Redis to test against (KAKEHASHI_TEST_REDIS_URL) with
// this package's DB, or "" for the embedded server.
func redisURLForTest(t testing.TB) string {
	u := os.Getenv("KAKEHASHI_TEST_REDIS_URL")
	if u == "" {
		return ""
	}
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("KAKEHASHI_TEST_REDIS_URL: %v", err)
	}
	o.DB = testRedisDB
	c := redis.NewClient(o)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush test redis: %v", err)
	}
	u = strings.TrimRight(u, "/")
	if i := strings.LastIndex(u, "/"); i > len("redis://") {
		u = u[:i]
	}
	return u + "/" + itoa(testRedisDB)
}

// newTestApp starts the whole program with the demo tenant over httptest, with the
// job worker stopped so tests run jobs with runJobs.
func newTestApp(t *testing.T, opts ...testOpt) *testApp {
	t.Helper()
	dir := t.TempDir()
	return startTestApp(t, dir, redisURLForTest(t), opts...)
}

func startTestApp(t *testing.T, dir, redisURL string, opts ...testOpt) *testApp {
	t.Helper()
	logs := &logBuffer{}
	clock := &stepClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, bot.Tokyo)}
	cfg := appConfig{RedisURL: redisURL, DataDir: dir, SnapshotEvery: time.Hour, Demo: true, Clock: clock,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), NoWorker: true, Workers: 4}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := newApp(context.Background(), cfg)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	ta := &testApp{App: a, t: t, srv: httptest.NewServer(a.HTTP), clock: clock, logs: logs, dir: dir}
	t.Cleanup(ta.stop)
	return ta
}

func (ta *testApp) stop() {
	if ta.srv != nil {
		ta.srv.Close()
		ta.srv = nil
		ta.App.Close()
	}
}

// runJobs runs every job that is due now and returns how many ran.
func (ta *testApp) runJobs() int {
	ta.t.Helper()
	n, err := ta.Worker.RunDue(context.Background())
	if err != nil {
		ta.t.Fatalf("run jobs: %v", err)
	}
	return n
}

// webUser is a browser session on the web channel.
type webUser struct {
	t      *testing.T
	ta     *testApp
	client *http.Client
	UserID string
	Role   bot.Role
	Tenant bot.TenantID
	inbox  int64
}

func (ta *testApp) join(code, name string) *webUser {
	ta.t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &webUser{t: ta.t, ta: ta, client: &http.Client{Jar: jar}}
	var resp struct {
		UserID string       `json:"user_id"`
		Tenant bot.TenantID `json:"tenant"`
		Role   bot.Role     `json:"role"`
	}
	status := u.post("/web/api/session", map[string]string{"invite_code": code, "display_name": name}, &resp)
	if status != http.StatusOK {
		ta.t.Fatalf("join %s: status %d", code, status)
	}
	u.UserID, u.Role, u.Tenant = resp.UserID, resp.Role, resp.Tenant
	return u
}

func (u *webUser) post(path string, body any, out any) int {
	u.t.Helper()
	b, _ := json.Marshal(body)
	res, err := u.client.Post(u.ta.srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		u.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			u.t.Fatalf("POST %s: decode %q: %v", path, raw, err)
		}
	}
	return res.StatusCode
}

// say sends text and returns the replies.
func (u *webUser) say(text string) []bot.Reply {
	u.t.Helper()
	return u.send(map[string]string{"text": text})
}

// press presses a button.
func (u *webUser) press(action, value string) []bot.Reply {
	u.t.Helper()
	return u.send(map[string]string{"action": action, "value": value})
}

func (u *webUser) send(body map[string]string) []bot.Reply {
	u.t.Helper()
	var resp struct {
		Replies []bot.Reply `json:"replies"`
	}
	if st := u.post("/web/api/messages", body, &resp); st != http.StatusOK {
		u.t.Fatalf("message %v: status %d", body, st)
	}
	return resp.Replies
}

// pushes returns the inbox messages that arrived since the last call.
func (u *webUser) pushes() []bot.Reply {
	u.t.Helper()
	res, err := u.client.Get(u.ta.srv.URL + "/web/api/inbox?after=" + itoa(int(u.inbox)))
	if err != nil {
		u.t.Fatalf("inbox: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Messages []store.InboxItem `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		u.t.Fatalf("inbox decode: %v", err)
	}
	var out []bot.Reply
	for _, m := range body.Messages {
		out = append(out, m.Reply)
		u.inbox = max(u.inbox, m.ID)
	}
	return out
}

// choice finds the button with label in replies; it fails the test when there is none.
func choice(t *testing.T, replies []bot.Reply, label string) bot.Choice {
	t.Helper()
	for _, r := range replies {
		for _, c := range r.Choices {
			if c.Label == label {
				return c
			}
		}
	}
	t.Fatalf("no choice %q in %s", label, dump(replies))
	return bot.Choice{}
}

// texts joins the replies' texts for matching.
func texts(replies []bot.Reply) string {
	var b strings.Builder
	for _, r := range replies {
		b.WriteString(r.Text)
		b.WriteString("\n")
		for _, f := range r.Fields {
			b.WriteString(f.Label + ": " + f.Value + "\n")
		}
	}
	return b.String()
}

func dump(replies []bot.Reply) string {
	b, _ := json.MarshalIndent(replies, "", "  ")
	return string(b)
}

// mustContain fails unless every want appears in the replies' text.
func mustContain(t *testing.T, replies []bot.Reply, want ...string) {
	t.Helper()
	s := texts(replies)
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Fatalf("replies lack %q:\n%s", w, s)
		}
	}
}

// TestMain loads the Japanese dictionary once before the tests: under -race on a busy
// two-core machine the first load can outlast a handler's timeout.
func TestMain(m *testing.M) {
	match.Default()
	os.Exit(m.Run())
}
