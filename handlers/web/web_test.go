package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/handlers/web"
	"github.com/kakehashi/kakehashi/store"
)

// server is the web channel over httptest with an engine that records what it gets.
type server struct {
	t       *testing.T
	srv     *httptest.Server
	db      *store.DB
	members *store.MembershipService
	ch      *web.Channel
	mu      sync.Mutex
	got     []bot.Message
	// reply decides the engine's answer.
	reply func(m *bot.Message) ([]bot.Reply, error)
}

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

func newServer(t *testing.T) (*server, *stepClock) {
	t.Helper()
	t.Parallel()
	quiet := slog.New(slog.DiscardHandler)
	db, err := store.Open(context.Background(), store.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &stepClock{t: time.Now()}
	db.Clock = clock
	s := &server{t: t, db: db, members: store.NewMembershipService(db)}
	s.reply = func(m *bot.Message) ([]bot.Reply, error) {
		return []bot.Reply{bot.Text("受信: " + m.Text + m.Action)}, nil
	}
	engine := handlers.EngineFunc(func(_ context.Context, m *bot.Message) ([]bot.Reply, error) {
		s.mu.Lock()
		seen := false
		for _, g := range s.got {
			seen = seen || (m.EventID != "" && g.EventID == m.EventID)
		}
		s.got = append(s.got, *m)
		s.mu.Unlock()
		if seen { // the real engine drops redeliveries the same way
			return nil, nil
		}
		return s.reply(m)
	})
	s.ch = &web.Channel{Engine: engine, Members: s.members, Store: store.NewWeb(db), Logger: quiet}
	mux := http.NewServeMux()
	s.ch.Register(mux)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	ctx := context.Background()
	for _, tn := range []bot.TenantID{"demo", "kobe"} {
		if err := s.members.CreateTenant(ctx, &bot.Tenant{ID: tn, Name: string(tn)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, inv := range []*bot.Invite{
		{Code: "DEMO-STAFF", Tenant: "demo", Role: bot.RoleStaff, UsesLeft: -1},
		{Code: "ONCE-0001", Tenant: "demo", Role: bot.RoleMayor, UsesLeft: 1},
		{Code: "SOON-0001", Tenant: "demo", Role: bot.RoleStaff, UsesLeft: 5, ExpiresAt: clock.Now().Add(time.Hour)},
		{Code: "KOBE-STAFF", Tenant: "kobe", Role: bot.RoleStaff, UsesLeft: -1},
	} {
		if err := s.members.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	return s, clock
}

func (s *server) messages() []bot.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bot.Message(nil), s.got...)
}

// browser is one cookie jar.
type browser struct {
	s      *server
	client *http.Client
}

func (s *server) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, client: &http.Client{Jar: jar}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// errorText returns the "error" of a JSON error body.
func (r response) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.json(t, &e)
	return e.Error
}

func (b *browser) do(method, path string, body []byte, header map[string]string) response {
	b.s.t.Helper()
	req, err := http.NewRequest(method, b.s.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		b.s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

func (b *browser) post(path string, v any, header map[string]string) response {
	b.s.t.Helper()
	raw, _ := json.Marshal(v)
	return b.do(http.MethodPost, path, raw, header)
}

func (b *browser) join(code string) response {
	b.s.t.Helper()
	return b.post("/web/api/session", map[string]string{"invite_code": code, "display_name": "市役所 太郎"}, nil)
}

func (b *browser) mustJoin(code string) {
	b.s.t.Helper()
	if r := b.join(code); r.status != http.StatusOK {
		b.s.t.Fatalf("join %s: %d %s", code, r.status, r.body)
	}
}

func TestSession(t *testing.T) {
	s, clock := newServer(t)
	b := s.browser()
	r := b.join("demo-staff")
	if r.status != http.StatusOK {
		t.Fatalf("join: %d %s", r.status, r.body)
	}
	var got struct {
		UserID string       `json:"user_id"`
		Tenant bot.TenantID `json:"tenant"`
		Role   bot.Role     `json:"role"`
	}
	r.json(t, &got)
	if !strings.HasPrefix(got.UserID, "w") || got.Tenant != "demo" || got.Role != bot.RoleStaff {
		t.Errorf("session = %+v", got)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %+v", cookies)
	}
	c := cookies[0]
	if c.Name != web.CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
		t.Errorf("cookie = %+v, want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if !strings.HasPrefix(c.Value, "demo.") || len(c.Value) < len("demo.")+32 {
		t.Errorf("cookie value %q is not tenant.token", c.Value)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
	}
	p, err := s.members.PersonByIdentity(context.Background(), "demo", bot.Identity{Platform: bot.PlatformWeb, UserID: got.UserID})
	if err != nil || p.DisplayName != "市役所 太郎" {
		t.Errorf("member = %+v, %v", p, err)
	}

	// Codes that do not let anyone in: 403 with a Japanese sentence that says what to do.
	if r := s.browser().join("ONCE-0001"); r.status != http.StatusOK {
		t.Fatalf("single-use code, first use: %d", r.status)
	}
	clock.Add(2 * time.Hour)
	tests := []struct {
		name, code, want string
	}{
		{"unknown", "NOPE-0000", "招待コード「NOPE-0000」が見つかりません。担当者から届いたコードをもう一度ご確認ください。"},
		{"used up", "ONCE-0001", "招待コード「ONCE-0001」は利用回数の上限に達しています。担当者に新しいコードを依頼してください。"},
		{"expired", "SOON-0001", "招待コード「SOON-0001」は有効期限が切れています。担当者に新しいコードを依頼してください。"},
		{"empty", "  ", "招待コードを入力してください。担当者から届いたコードです。"},
	}
	for _, tt := range tests {
		r := s.browser().join(tt.code)
		if r.status != http.StatusForbidden || r.errorText(t) != tt.want {
			t.Errorf("%s: %d %s, want 403 %q", tt.name, r.status, r.body, tt.want)
		}
		if len((&http.Response{Header: r.header}).Cookies()) != 0 {
			t.Errorf("%s: a refused join set a cookie", tt.name)
		}
	}

	// Malformed requests.
	if r := b.do(http.MethodPost, "/web/api/session", []byte("{not json"), nil); r.status != http.StatusBadRequest || !strings.Contains(r.errorText(t), "形式") {
		t.Errorf("bad JSON: %d %s", r.status, r.body)
	}
	long := map[string]string{"invite_code": "DEMO-STAFF", "display_name": strings.Repeat("名", 41)}
	if r := b.post("/web/api/session", long, nil); r.status != http.StatusBadRequest || !strings.Contains(r.errorText(t), "40文字") {
		t.Errorf("long name: %d %s", r.status, r.body)
	}
	huge := map[string]string{"invite_code": "DEMO-STAFF", "display_name": strings.Repeat("x", 70<<10)}
	if r := b.post("/web/api/session", huge, nil); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.errorText(t), "大きすぎます") {
		t.Errorf("huge body: %d %s", r.status, r.body)
	}
}

func TestMessages(t *testing.T) {
	s, _ := newServer(t)

	// Without a session, or with a forged or foreign one: 401 in Japanese.
	anon := s.browser()
	if r := anon.post("/web/api/messages", map[string]string{"text": "メニュー"}, nil); r.status != http.StatusUnauthorized || r.errorText(t) != "参加していません。招待コードで参加してください。" {
		t.Errorf("no session: %d %s", r.status, r.body)
	}
	for _, cookie := range []string{"demo.forged", "garbage", "kobe." + strings.Repeat("0", 36), ".x", "demo."} {
		r := anon.do(http.MethodPost, "/web/api/messages", []byte(`{"text":"x"}`), map[string]string{"Cookie": web.CookieName + "=" + cookie})
		if r.status != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d", cookie, r.status)
		}
	}
	if len(s.messages()) != 0 {
		t.Fatalf("the engine saw unauthenticated messages: %+v", s.messages())
	}

	b := s.browser()
	b.mustJoin("DEMO-STAFF")
	r := b.post("/web/api/messages", map[string]string{"text": "メニュー"}, map[string]string{"Accept-Language": "en-US,en;q=0.8"})
	if r.status != http.StatusOK {
		t.Fatalf("message: %d %s", r.status, r.body)
	}
	// The reply model as SPEC §8 shows it: lists are arrays, never null.
	if want := `{"replies":[{"text":"受信: メニュー","choices":[],"fields":[],"attachments":[]}]}`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("body = %s, want %s", r.body, want)
	}
	b.post("/web/api/messages", map[string]string{"action": "menu", "value": "x"}, nil)
	got := s.messages()
	if len(got) != 2 {
		t.Fatalf("engine got %d messages", len(got))
	}
	m := got[0]
	if m.Platform != bot.PlatformWeb || m.Tenant != "demo" || !strings.HasPrefix(m.UserID, "w") || m.Text != "メニュー" || m.Locale != "en-US,en;q=0.8" || m.EventID != "" {
		t.Errorf("message = %+v", m)
	}
	if got[1].Action != "menu" || got[1].Value != "x" || got[1].UserID != m.UserID {
		t.Errorf("button = %+v", got[1])
	}

	// Bad messages never reach the engine.
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		want   string
	}{
		{"empty", []byte(`{"text":"   "}`), http.StatusBadRequest, "メッセージが空です。文字を入力するか、ボタンを押してください。"},
		{"nothing", []byte(`{}`), http.StatusBadRequest, "メッセージが空です。"},
		{"not JSON", []byte(`text=hello`), http.StatusBadRequest, "リクエストの形式が正しくありません（JSON）。"},
		{"too long", []byte(`{"text":"` + strings.Repeat("あ", 5001) + `"}`), http.StatusRequestEntityTooLarge, "メッセージは5,000文字以内でお願いします。"},
		{"oversized body", []byte(`{"text":"` + strings.Repeat("a", 65<<10) + `"}`), http.StatusRequestEntityTooLarge, "送信内容が大きすぎます。短くしてもう一度お試しください。"},
	} {
		r := b.do(http.MethodPost, "/web/api/messages", tc.body, nil)
		if r.status != tc.status || !strings.HasPrefix(r.errorText(t), tc.want) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
	if n := len(s.messages()); n != 2 {
		t.Errorf("engine got %d messages, want 2", n)
	}

	// The store being down is a 503 with the busy message for the page to show.
	s.reply = func(*bot.Message) ([]bot.Reply, error) {
		return []bot.Reply{bot.Text(handlers.MsgBusy.JA)}, bot.Errorf(bot.EUNAVAILABLE, "down")
	}
	r = b.post("/web/api/messages", map[string]string{"text": "x"}, nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "混み合っています") {
		t.Errorf("store down: %d %s", r.status, r.body)
	}
}

// TestResend: a request resent with the same Idempotency-Key or "id" is one event.
func TestResend(t *testing.T) {
	s, _ := newServer(t)
	b := s.browser()
	b.mustJoin("DEMO-STAFF")
	other := s.browser()
	other.mustJoin("DEMO-STAFF")

	first := b.post("/web/api/messages", map[string]string{"text": "登録", "id": "m-1"}, nil)
	again := b.post("/web/api/messages", map[string]string{"text": "登録", "id": "m-1"}, nil)
	if first.status != http.StatusOK || again.status != http.StatusOK {
		t.Fatalf("statuses %d %d", first.status, again.status)
	}
	if string(again.body) != "{\"replies\":[]}\n" {
		t.Errorf("resend answered %s, want no replies", again.body)
	}
	hdr := map[string]string{"Idempotency-Key": "k-9"}
	b.post("/web/api/messages", map[string]string{"text": "a"}, hdr)
	b.post("/web/api/messages", map[string]string{"text": "a"}, hdr)
	// The same key from another person is another event.
	other.post("/web/api/messages", map[string]string{"text": "a"}, hdr)
	var ids []string
	for _, m := range s.messages() {
		ids = append(ids, strings.TrimPrefix(m.EventID, "web:"+m.UserID+":"))
	}
	if diff := cmp.Diff([]string{"m-1", "m-1", "k-9", "k-9", "k-9"}, ids); diff != "" {
		t.Errorf("event IDs (-want +got):\n%s", diff)
	}
	got := s.messages()
	if got[0].EventID == got[4].EventID {
		t.Error("two people's keys collide")
	}
}

func TestInbox(t *testing.T) {
	s, _ := newServer(t)
	b := s.browser()
	b.mustJoin("DEMO-STAFF")
	if r := s.browser().do(http.MethodGet, "/web/api/inbox", nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("inbox without session: %d", r.status)
	}
	var empty struct {
		Messages []store.InboxItem `json:"messages"`
	}
	r := b.do(http.MethodGet, "/web/api/inbox", nil, nil)
	r.json(t, &empty)
	if r.status != http.StatusOK || empty.Messages == nil || len(empty.Messages) != 0 {
		t.Errorf("empty inbox: %d %s", r.status, r.body)
	}

	p, err := s.members.Members(context.Background(), "demo")
	if err != nil || len(p) != 1 {
		t.Fatalf("members %+v %v", p, err)
	}
	ctx := context.Background()
	// Pushes arrive through the channel's Sender; a retried delivery shows once.
	for range 2 {
		if err := s.ch.Send(ctx, bot.Delivery{Tenant: "demo", UserID: string(p[0].ID), Replies: []bot.Reply{bot.Text("面談のお知らせ")}, Key: "push:m1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ch.Send(ctx, bot.Delivery{Tenant: "demo", UserID: string(p[0].ID), Replies: []bot.Reply{bot.Text("一"), bot.Text("二")}, Key: "push:m2"}); err != nil {
		t.Fatal(err)
	}
	inbox := func(after string) []string {
		var body struct {
			Messages []store.InboxItem `json:"messages"`
		}
		r := b.do(http.MethodGet, "/web/api/inbox?after="+after, nil, nil)
		r.json(t, &body)
		var out []string
		for _, m := range body.Messages {
			out = append(out, m.Reply.Text)
			if m.At.IsZero() || m.ID == 0 {
				t.Errorf("item without id or time: %+v", m)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"面談のお知らせ", "一", "二"}, inbox("0")); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"二"}, inbox("2")); diff != "" {
		t.Errorf("inbox after 2 (-want +got):\n%s", diff)
	}
	if got := inbox("3"); len(got) != 0 {
		t.Errorf("inbox after 3 = %q", got)
	}
	if diff := cmp.Diff([]string{"面談のお知らせ", "一", "二"}, inbox("nonsense")); diff != "" {
		t.Errorf("inbox after nonsense (-want +got):\n%s", diff)
	}
	// Someone else's inbox is empty.
	other := s.browser()
	other.mustJoin("DEMO-STAFF")
	r = other.do(http.MethodGet, "/web/api/inbox", nil, nil)
	if !strings.Contains(string(r.body), `"messages":[]`) {
		t.Errorf("another person's inbox: %s", r.body)
	}
}

func TestAttachments(t *testing.T) {
	s, _ := newServer(t)
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
	s.reply = func(*bot.Message) ([]bot.Reply, error) {
		return []bot.Reply{{Text: "招待状です。", Attachments: []bot.Attachment{{Name: `面談"1".ics`, ContentType: "text/calendar; charset=utf-8", Data: []byte(ics)}}}}, nil
	}
	owner := s.browser()
	owner.mustJoin("DEMO-STAFF")
	var body struct {
		Replies []bot.Reply `json:"replies"`
	}
	owner.post("/web/api/messages", map[string]string{"text": "ics"}, nil).json(t, &body)
	if len(body.Replies) != 1 || len(body.Replies[0].Attachments) != 1 {
		t.Fatalf("replies = %+v", body.Replies)
	}
	a := body.Replies[0].Attachments[0]
	if !strings.HasPrefix(a.URL, "/web/api/attachments/") || a.Name != `面談"1".ics` || a.ContentType != "text/calendar; charset=utf-8" {
		t.Fatalf("attachment = %+v", a)
	}
	r := owner.do(http.MethodGet, a.URL, nil, nil)
	if r.status != http.StatusOK || string(r.body) != ics || r.header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Errorf("owner download: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="面談_1_.ics"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("download without nosniff")
	}
	// Not for another member of the same tenant, another tenant, or no session.
	same := s.browser()
	same.mustJoin("DEMO-STAFF")
	foreign := s.browser()
	foreign.mustJoin("KOBE-STAFF")
	for name, b := range map[string]*browser{"same tenant": same, "other tenant": foreign} {
		if r := b.do(http.MethodGet, a.URL, nil, nil); r.status != http.StatusNotFound || r.errorText(t) != "ファイルが見つかりません。" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := s.browser().do(http.MethodGet, a.URL, nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous download: %d", r.status)
	}
	if r := owner.do(http.MethodGet, "/web/api/attachments/nope", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("unknown attachment: %d", r.status)
	}
}

func TestPage(t *testing.T) {
	s, _ := newServer(t)
	r := s.browser().do(http.MethodGet, "/", nil, nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %q", r.status, r.header.Get("Content-Type"))
	}
	page := string(r.body)
	for _, want := range []string{`<html lang="ja">`, `name="viewport"`, "招待コード", "/web/api/session", "/web/api/messages", "/web/api/inbox"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Works with no internet: nothing is loaded from elsewhere.
	for _, ext := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(page, `src="`+ext) || strings.Contains(page, `href="`+ext) {
			t.Errorf("page loads %s resources", ext)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	if r := s.browser().do(http.MethodGet, "/nothing-here", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("unknown path: %d", r.status)
	}
}
