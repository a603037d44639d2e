package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

// syncBuffer collects logs written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// env is a bot on a fresh embedded store with the membership commands, a few test
// commands (one per middleware concern) and a small two-question flow.
type env struct {
	t       *testing.T
	db      *store.DB
	members *store.MembershipService
	logs    *syncBuffer
	logger  *slog.Logger
	bot     *handlers.Bot
	cfg     envConfig
	evt     atomic.Int64
	// submitted records the drafts the flow saved.
	mu        sync.Mutex
	submitted []map[string]string
}

type envOpt func(*envConfig)

type envConfig struct {
	timeout  time.Duration
	draftTTL time.Duration
	busyWait time.Duration
	// register adds test commands to every replica's router.
	register func(*handlers.Mux)
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	t.Parallel()
	cfg := envConfig{timeout: 5 * time.Second, draftTTL: 30 * time.Minute, busyWait: 10 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	db := openStore(t)
	e := &env{t: t, db: db, members: store.NewMembershipService(db), logs: &syncBuffer{}}
	e.logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	must(t, e.members.CreateTenant(ctx, &bot.Tenant{ID: "demo", Name: "デモ市", Departments: []string{"総務課"}}))
	for code, role := range map[string]bot.Role{"STAFF": bot.RoleStaff, "DX": bot.RoleDXLead, "MAYOR": bot.RoleMayor, "ADMIN": bot.RoleAdmin} {
		must(t, e.members.CreateInvite(ctx, &bot.Invite{Code: code, Tenant: "demo", Role: role, UsesLeft: -1}))
	}
	e.cfg = cfg
	e.bot = e.newReplica()
	return e
}

// newReplica builds another bot over the same store, as a second process would.
func (e *env) newReplica() *handlers.Bot {
	cfg := e.cfg
	mux := handlers.NewMux(e.logger)
	mux.Use(handlers.Recover(e.logger), handlers.Log(e.logger), handlers.Timeout(cfg.timeout))
	(&handlers.Membership{Members: e.members}).Register(mux)
	mux.HandleFunc(handlers.Command{Name: "triage", Words: []string{"トリアージ", "triage"}, Roles: []bot.Role{bot.RoleDXLead},
		Menu: dialog.T("トリアージ", "Triage")}, func(_ context.Context, w *handlers.Response, r *handlers.Request) error {
		w.Text(r.T("トリアージ一覧です。", "Triage queue."))
		return nil
	})
	mux.HandleFunc(handlers.Command{Name: "digest", Words: []string{"ダイジェスト"}, Roles: []bot.Role{bot.RoleMayor, bot.RoleDXLead},
		Menu: dialog.T("ダイジェスト", "Digest")}, func(_ context.Context, w *handlers.Response, r *handlers.Request) error {
		w.Text("今週のダイジェスト")
		return nil
	})
	mux.HandleFunc(handlers.Command{Name: "boom", Words: []string{"爆発"}}, func(context.Context, *handlers.Response, *handlers.Request) error {
		panic("kaboom")
	})
	mux.HandleFunc(handlers.Command{Name: "slow", Words: []string{"遅い"}}, func(ctx context.Context, w *handlers.Response, r *handlers.Request) error {
		<-ctx.Done()
		return ctx.Err()
	})
	mux.HandleFunc(handlers.Command{Name: "fail", Words: []string{"失敗"}}, func(context.Context, *handlers.Response, *handlers.Request) error {
		return bot.Errorf(bot.ECONFLICT, "そのニーズは既に完了しています。")
	})
	mux.HandleFlow("consult", handlers.Command{Name: "consult", Words: []string{"相談"}, Menu: dialog.T("相談する", "Consult")}, &handlers.Flow{
		Form: func(context.Context, *handlers.Request) (*dialog.Form, error) {
			return &dialog.Form{Name: "consult", Title: dialog.T("相談", "Consultation"), Fields: []dialog.Field{
				{Name: "title", Label: dialog.T("件名", "Title"), Prompt: dialog.T("件名を入力してください。", "Enter a title."), Validate: dialog.MaxRunes(20, dialog.T("件名", "title"))},
				{Name: "note", Label: dialog.T("補足", "Note"), Prompt: dialog.T("補足があれば入力してください。", "Anything to add?"), Optional: true},
			}}, nil
		},
		Submit: func(_ context.Context, w *handlers.Response, r *handlers.Request, s *dialog.State) error {
			e.mu.Lock()
			e.submitted = append(e.submitted, s.Slots)
			e.mu.Unlock()
			w.Text(r.T("相談を受け付けました。", "Received."))
			return nil
		},
	})
	if cfg.register != nil {
		cfg.register(mux)
	}
	return &handlers.Bot{Mux: mux, Members: e.members, Convs: store.NewConversations(e.db), Clock: bot.SystemClock,
		Logger: e.logger, DraftTTL: cfg.draftTTL, BusyWait: cfg.busyWait}
}

// user is one web identity talking to the bot.
type user struct {
	e   *env
	uid string
}

func (e *env) user(uid string) *user { return &user{e: e, uid: uid} }

// member joins with an invite code and returns the user.
func (e *env) member(uid, code string) *user {
	e.t.Helper()
	u := e.user(uid)
	u.say("参加 " + code)
	return u
}

func (u *user) msg() *bot.Message {
	return &bot.Message{EventID: fmt.Sprintf("evt-%d", u.e.evt.Add(1)), Platform: bot.PlatformWeb, Tenant: "demo", UserID: u.uid, DisplayName: "山田 太郎"}
}

func (u *user) handle(m *bot.Message) []bot.Reply {
	u.e.t.Helper()
	replies, err := u.e.bot.Handle(context.Background(), m)
	if err != nil && bot.ErrorCode(err) == bot.EUNAVAILABLE {
		u.e.t.Fatalf("handle %q: %v", m.Text, err)
	}
	return replies
}

func (u *user) say(text string) []bot.Reply {
	u.e.t.Helper()
	m := u.msg()
	m.Text = text
	return u.handle(m)
}

func (u *user) press(action, value string) []bot.Reply {
	u.e.t.Helper()
	m := u.msg()
	m.Action, m.Value = action, value
	return u.handle(m)
}

func texts(replies []bot.Reply) string {
	var b strings.Builder
	for _, r := range replies {
		b.WriteString(r.Text + "\n")
		for _, f := range r.Fields {
			b.WriteString(f.Label + ": " + f.Value + "\n")
		}
	}
	return b.String()
}

func labels(replies []bot.Reply) []string {
	var out []string
	for _, r := range replies {
		for _, c := range r.Choices {
			out = append(out, c.Label)
		}
	}
	return out
}

func mustContain(t *testing.T, replies []bot.Reply, want ...string) {
	t.Helper()
	s := texts(replies)
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("replies lack %q:\n%s", w, s)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecoverMiddleware(t *testing.T) {
	e := newEnv(t)
	u := e.member("u1", "STAFF")
	m := u.msg()
	m.Text = "爆発"
	replies, err := e.bot.Handle(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Errorf("err = %v, want the panic as an error", err)
	}
	if len(replies) != 1 || replies[0].Text != "申し訳ありません。処理中に問題が発生しました。少し後でもう一度お試しください。" {
		t.Errorf("replies = %+v, want one Japanese apology", replies)
	}
	if strings.Contains(texts(replies), "kaboom") {
		t.Error("the panic value reached the person")
	}
	if !strings.Contains(e.logs.String(), "handler panic") {
		t.Error("the panic was not logged")
	}
	// The conversation is not stuck behind the panic.
	mustContain(t, u.say("メニュー"), "メニュー（デモ市 / 職員）")
}

func TestTimeoutMiddleware(t *testing.T) {
	e := newEnv(t)
	u := e.member("u1", "STAFF")
	// A replica whose router gives each message 100 ms.
	e.cfg.timeout = 100 * time.Millisecond
	fast := e.newReplica()
	m := u.msg()
	m.Text = "遅い"
	start := time.Now()
	replies, err := fast.Handle(context.Background(), m)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a slow handler held the message for %s", d)
	}
	if err == nil {
		t.Error("no error from a timed-out handler")
	}
	mustContain(t, replies, "申し訳ありません。処理中に問題が発生しました。")
	// The conversation goes on.
	mustContain(t, u.say("メニュー"), "メニュー")
}

func TestHandlerErrorMessage(t *testing.T) {
	e := newEnv(t)
	u := e.member("u1", "STAFF")
	replies := u.say("失敗")
	if len(replies) != 1 || replies[0].Text != "そのニーズは既に完了しています。" {
		t.Errorf("replies = %+v, want the error's Japanese message only", replies)
	}
}

func TestRoleCheck(t *testing.T) {
	e := newEnv(t)
	staff := e.member("staff", "STAFF")
	lead := e.member("lead", "DX")
	mayor := e.member("mayor", "MAYOR")

	refused := "この操作は担当者のみが利用できます（あなたの役割: 職員）。「メニュー」でできることを確認してください。"
	for _, replies := range [][]bot.Reply{staff.say("トリアージ"), staff.press("triage", ""), staff.say("ＴＲＩＡＧＥ")} {
		if len(replies) != 1 || replies[0].Text != refused {
			t.Errorf("staff got %+v, want the refusal", replies)
		}
	}
	mustContain(t, lead.say("トリアージ"), "トリアージ一覧です。")
	mustContain(t, lead.press("triage", ""), "トリアージ一覧です。")
	mustContain(t, mayor.say("トリアージ"), "あなたの役割: 首長")
	mustContain(t, mayor.say("ダイジェスト"), "今週のダイジェスト")
	mustContain(t, lead.say("ダイジェスト"), "今週のダイジェスト")

	// RequireRole guards handlers mounted outside a command.
	h := handlers.RequireRole(bot.RoleAdmin)(handlers.HandlerFunc(func(_ context.Context, w *handlers.Response, _ *handlers.Request) error {
		w.Text("secret")
		return nil
	}))
	for _, tc := range []struct {
		person *bot.Person
		want   string
	}{
		{&bot.Person{Role: bot.RoleStaff}, "この操作は担当者のみが利用できます。"},
		{nil, "この操作は担当者のみが利用できます。"},
		{&bot.Person{Role: bot.RoleAdmin}, "secret"},
	} {
		w := &handlers.Response{}
		must(t, h.Serve(context.Background(), w, &handlers.Request{Msg: &bot.Message{}, Person: tc.person, Lang: bot.LangJA}))
		if len(w.Replies) != 1 || w.Replies[0].Text != tc.want {
			t.Errorf("RequireRole for %+v: %+v", tc.person, w.Replies)
		}
	}
}

func TestMenuPerRole(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		code string
		head string
		want []string
	}{
		{"STAFF", "メニュー（デモ市 / 職員）", []string{"自分の登録状況", "相談する"}},
		{"DX", "メニュー（デモ市 / DX推進担当）", []string{"自分の登録状況", "トリアージ", "ダイジェスト", "相談する"}},
		{"MAYOR", "メニュー（デモ市 / 首長）", []string{"自分の登録状況", "ダイジェスト", "相談する"}},
		{"ADMIN", "メニュー（デモ市 / 管理者）", []string{"自分の登録状況", "相談する"}},
	}
	for _, tt := range tests {
		u := e.member("menu-"+tt.code, tt.code)
		for _, word := range []string{"メニュー", "ヘルプ", "help", "ＨＥＬＰ"} {
			replies := u.say(word)
			if len(replies) != 1 || !strings.HasPrefix(replies[0].Text, tt.head) {
				t.Errorf("%s %q: %+v", tt.code, word, replies)
				continue
			}
			if diff := cmp.Diff(tt.want, labels(replies)); diff != "" {
				t.Errorf("%s menu (-want +got):\n%s", tt.code, diff)
			}
		}
		// The menu button itself.
		if diff := cmp.Diff(tt.want, labels(u.press("menu", ""))); diff != "" {
			t.Errorf("%s menu button (-want +got):\n%s", tt.code, diff)
		}
	}

	// English after "lang en", and back.
	u := e.member("english", "DX")
	replies := u.say("lang en")
	mustContain(t, replies, "I will answer in English.")
	replies = u.say("menu")
	mustContain(t, replies, "Menu (デモ市 / DX lead)")
	if diff := cmp.Diff([]string{"About me", "Triage", "Digest", "Consult"}, labels(replies)); diff != "" {
		t.Errorf("English menu (-want +got):\n%s", diff)
	}
	mustContain(t, u.say("whoami"), "Role: DX lead", "Language: en")
	mustContain(t, u.say("lang fr"), "Send \"lang ja\" or \"lang en\".")
	mustContain(t, u.say("lang ja"), "日本語で表示します。")
	mustContain(t, u.say("登録状況"), "役割: DX推進担当", "自治体: デモ市", "表示名: 山田 太郎")

	// An English locale from the platform is used until the person chooses.
	m := e.user("visitor").msg()
	m.Text, m.Locale = "menu", "en-US"
	replies = e.user("visitor").handle(m)
	mustContain(t, replies, "You need an invite code")
}

// TestUnknownPerson: someone who has not joined gets the explanation and nothing else,
// whatever they send.
func TestUnknownPerson(t *testing.T) {
	e := newEnv(t)
	u := e.user("stranger")
	explain := "ご利用には担当者から届いた招待コードが必要です。"
	for _, m := range []func() []bot.Reply{
		func() []bot.Reply { return u.say("こんにちは") },
		func() []bot.Reply { return u.say("メニュー") },
		func() []bot.Reply { return u.say("トリアージ") },
		func() []bot.Reply { return u.say("相談") },
		func() []bot.Reply { return u.press("triage", "") },
		func() []bot.Reply { return u.press("consult", "") },
		func() []bot.Reply { return u.press("follow", "") },
		func() []bot.Reply { return u.press(dialog.ActSubmit, "") },
	} {
		replies := m()
		if len(replies) != 1 || !strings.Contains(replies[0].Text, explain) || len(replies[0].Choices) != 0 {
			t.Errorf("stranger got %+v", replies)
		}
	}
	// Not even the identity's state is kept, and no member was created.
	ms, err := e.members.Members(context.Background(), "demo")
	must(t, err)
	if len(ms) != 0 {
		t.Errorf("members = %+v", ms)
	}
	// A wrong code says so; an empty one asks for it.
	mustContain(t, u.say("参加 NOPE-0000"), "招待コード「NOPE-0000」が見つかりません。")
	mustContain(t, u.say("参加"), "招待コードを続けて送ってください")
	// Joining works with a full-width code and shows the menu of the role.
	replies := u.say("参加　ｓｔａｆｆ")
	mustContain(t, replies, "デモ市に「職員」として参加しました。")
	if diff := cmp.Diff([]string{"自分の登録状況", "相談する"}, labels(replies)); diff != "" {
		t.Errorf("menu after joining (-want +got):\n%s", diff)
	}
	mustContain(t, u.press("follow", ""), "おかえりなさい。")
}

// TestUnknownPlatformUser: on a channel without a tenant binding (LINE) a stranger has
// no tenant at all, and still gets only the explanation.
func TestUnknownPlatformUser(t *testing.T) {
	e := newEnv(t)
	m := &bot.Message{EventID: "line-1", Platform: bot.PlatformLINE, UserID: "Uabc", Text: "メニュー"}
	replies, err := e.bot.Handle(context.Background(), m)
	must(t, err)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "招待コード") {
		t.Fatalf("replies = %+v", replies)
	}
	// After joining, the identity's tenant is found without a binding.
	m = &bot.Message{EventID: "line-2", Platform: bot.PlatformLINE, UserID: "Uabc", Text: "join DX"}
	replies, err = e.bot.Handle(context.Background(), m)
	must(t, err)
	mustContain(t, replies, "DX推進担当")
	m = &bot.Message{EventID: "line-3", Platform: bot.PlatformLINE, UserID: "Uabc", Text: "トリアージ"}
	replies, err = e.bot.Handle(context.Background(), m)
	must(t, err)
	mustContain(t, replies, "トリアージ一覧です。")
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	e := newEnv(t)
	u := e.member("u-private", "STAFF")
	u.say("相談")
	u.say("田中さんの件で秘密の相談")
	u.say("爆発")
	logs := e.logs.String()
	if !strings.Contains(logs, `"command":"consult"`) {
		t.Errorf("logs lack the command:\n%s", logs)
	}
	for _, secret := range []string{"山田", "田中さんの件", "u-private"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}
