package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

// TestDemoSession is the newcomer's first minutes: join with DEMO-STAFF, see the menu,
// start a flow and cancel it, and ask for the menu again.
func TestDemoSession(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "山田 花子")
	if u.Tenant != DemoTenant || u.Role != bot.RoleStaff {
		t.Fatalf("joined %s as %s", u.Tenant, u.Role)
	}
	menu := u.say("メニュー")
	mustContain(t, menu, "メニュー（デモ市 / 職員）")
	choice(t, menu, "自分の登録状況")
	var start *bot.Choice
	for _, c := range menu[0].Choices {
		if c.Action == "need.new" {
			start = &c
		}
	}
	if start == nil {
		t.Fatalf("no button to file a need in %s", dump(menu))
	}
	mustContain(t, u.press(start.Action, start.Value), "「ニーズ登録」を始めます。", "(1/10)")
	mustContain(t, u.say("やめる"), "「ニーズ登録」を中止しました。入力内容は破棄しました。")
	again := u.say("メニュー")
	mustContain(t, again, "メニュー（デモ市 / 職員）")
	if strings.Contains(texts(again), "下書き") {
		t.Errorf("a cancelled draft was reported as expired:\n%s", texts(again))
	}
	mustContain(t, u.say("登録状況"), "自治体: デモ市", "役割: 職員", "表示名: 山田 花子")
	// The logs carry what happened, not who said what.
	if logs := ta.logs.String(); strings.Contains(logs, "山田") || !strings.Contains(logs, `"command":"menu"`) {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ta := newTestApp(t)
	ta.join("DEMO-STAFF", "").say("メニュー")
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": `kakehashi_messages_total{outcome="ok",platform="web"} 1`} {
		res, err := http.Get(ta.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, body lacks %q", path, res.StatusCode, want)
		}
	}
}

// TestSessionCodes: the codes that let nobody in say so in Japanese with 403.
func TestSessionCodes(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	must(t, ta.Members.CreateInvite(ctx, &bot.Invite{Code: "ONCE-2026", Tenant: DemoTenant, Role: bot.RoleMayor, UsesLeft: 1}))
	must(t, ta.Members.CreateInvite(ctx, &bot.Invite{Code: "LATE-2026", Tenant: DemoTenant, Role: bot.RoleStaff, UsesLeft: 10,
		ExpiresAt: ta.clock.Now().Add(time.Hour)}))
	if u := ta.join("ONCE-2026", "市長"); u.Role != bot.RoleMayor {
		t.Fatalf("role %s", u.Role)
	}
	ta.clock.Add(time.Hour)
	for code, want := range map[string]string{
		"ONCE-2026": "利用回数の上限",
		"LATE-2026": "有効期限が切れています",
		"WHAT-EVER": "見つかりません",
	} {
		status, msg := tryJoin(t, ta, code)
		if status != http.StatusForbidden || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %q, want 403 with %q", code, status, msg, want)
		}
	}
	// The demo codes never run out.
	for range 3 {
		ta.join("DEMO-STAFF", "")
	}
}

func tryJoin(t *testing.T, ta *testApp, code string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"invite_code": code})
	res, err := http.Post(ta.srv.URL+"/web/api/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error
}

// sendWith posts a message with extra headers and returns the status and replies.
func (u *webUser) sendWith(body map[string]string, header map[string]string) (int, []bot.Reply) {
	u.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, u.ta.srv.URL+"/web/api/messages", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := u.client.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Replies []bot.Reply `json:"replies"`
	}
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.Replies
}

// TestResendIsProcessedOnce: the page resends a message after a network error with the
// same "id"; a client may use Idempotency-Key. The draft moves on once.
func TestResendIsProcessedOnce(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "")
	u.say("ニーズ登録")
	status, first := u.sendWith(map[string]string{"text": "窓口の混雑を解消したい", "id": "m1"}, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, first, "(2/10)")
	status, again := u.sendWith(map[string]string{"text": "窓口の混雑を解消したい", "id": "m1"}, nil)
	if status != http.StatusOK || len(again) != 0 {
		t.Fatalf("resend: %d %s", status, dump(again))
	}
	hdr := map[string]string{"Idempotency-Key": "m2"}
	_, r := u.sendWith(map[string]string{"text": "毎朝の窓口に行列ができ、待ち時間が1時間を超えます。"}, hdr)
	mustContain(t, r, "(3/10)")
	_, r = u.sendWith(map[string]string{"text": "毎朝の窓口に行列ができ、待ち時間が1時間を超えます。"}, hdr)
	if len(r) != 0 {
		t.Fatalf("resend with Idempotency-Key answered: %s", dump(r))
	}
	// Had either resend been processed, it would have answered the department question.
	mustContain(t, u.say("市民課"), "(4/10)")
}

// TestRestart: members, drafts and data survive a restart through the snapshot the
// embedded store writes when the app closes.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ta := startTestApp(t, dir, "")
	staff := ta.join("DEMO-STAFF", "山田 花子")
	p, err := ta.Members.PersonByIdentity(ctx, DemoTenant, bot.Identity{Platform: bot.PlatformWeb, UserID: staff.UserID})
	must(t, err)
	to := bot.Recipient{Tenant: DemoTenant, Person: p.ID}
	// Data: a delivered push, and one still waiting in the queue.
	must(t, ta.Outbox.Push(ctx, to, bot.Text("明日10時から面談です。"), "restart:1"))
	ta.runJobs()
	mustContain(t, staff.pushes(), "明日10時から面談です。")
	must(t, ta.Outbox.Push(ctx, to, bot.Text("面談の1時間前です。"), "restart:2"))
	// A draft in progress.
	staff.say("ニーズ登録")
	mustContain(t, staff.say("窓口のキャッシュレス化"), "(2/10)")

	ta.stop() // Close writes the final snapshot
	ta2 := startTestApp(t, dir, "")
	staff.ta = ta2 // the same browser, with the same cookie

	// Still a member.
	mustContain(t, staff.press("whoami", ""), "自治体: デモ市", "役割: 職員", "表示名: 山田 花子")
	// The draft continues where it was.
	mustContain(t, staff.say("窓口で現金しか使えず、住民から要望が出ています。"), "(3/10)")
	mustContain(t, staff.say("やめる"), "中止しました")
	// The queued push is delivered once, after the one delivered before the restart.
	if n := ta2.runJobs(); n != 1 {
		t.Errorf("ran %d jobs after the restart, want 1", n)
	}
	if n := ta2.runJobs(); n != 0 {
		t.Errorf("ran %d more jobs", n)
	}
	staff.inbox = 0
	got := staff.pushes()
	if len(got) != 2 || got[0].Text != "明日10時から面談です。" || got[1].Text != "面談の1時間前です。" {
		t.Errorf("inbox after restart: %s", dump(got))
	}
	// The demo seeding ran again without duplicating anything.
	ms, err := ta2.Members.Members(ctx, DemoTenant, bot.RoleStaff)
	must(t, err)
	if len(ms) != 2 { // the seeded filer and 山田 花子
		t.Errorf("staff after restart: %d", len(ms))
	}
	needs, err := ta2.NeedStore.Needs(ctx, DemoTenant, bot.NeedFilter{})
	must(t, err)
	if len(needs) != len(demoNeeds) {
		t.Errorf("needs after restart: %d, want %d", len(needs), len(demoNeeds))
	}
}

// runCLI runs the admin CLI as `kakehashi args...` would.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), err
}

// TestAdminCLIWithRunningServer: with a server on the data dir, the CLI works through
// the server's loopback embedded store, and the server sees the result at once.
func TestAdminCLIWithRunningServer(t *testing.T) {
	dir := t.TempDir()
	ta := startTestApp(t, dir, "")
	t.Setenv("KAKEHASHI_REDIS_URL", "")
	t.Setenv("KAKEHASHI_DATA_DIR", dir)

	out, err := runCLI(t, "tenant", "create", "kobe", "神戸市", "--departments", "総務課,市民課")
	must(t, err)
	if out != "tenant kobe (神戸市) saved\n" {
		t.Errorf("tenant create printed %q", out)
	}
	kobe, err := ta.Members.Tenant(context.Background(), "kobe")
	must(t, err)
	if diff := cmp.Diff([]string{"総務課", "市民課"}, kobe.Departments); diff != "" {
		t.Errorf("departments (-want +got):\n%s", diff)
	}
	out, err = runCLI(t, "invite", "create", "--tenant", "kobe", "--role", "dx_lead", "--uses", "2", "--code", "kobe-dx-01")
	must(t, err)
	if !strings.HasPrefix(out, "invite KOBE-DX-01: tenant kobe, role dx_lead, uses 2, expires ") {
		t.Errorf("invite create printed %q", out)
	}
	u := ta.join("KOBE-DX-01", "")
	if u.Tenant != "kobe" || u.Role != bot.RoleDXLead {
		t.Errorf("joined %s as %s", u.Tenant, u.Role)
	}
	out, err = runCLI(t, "invite", "create", "--tenant", "kobe", "--role", "staff")
	must(t, err)
	if !strings.HasPrefix(out, "invite ") || len(strings.Fields(out)[1]) != len("ABCD-1234:") {
		t.Errorf("random code: %q", out)
	}
	out, err = runCLI(t, "tenant", "list")
	must(t, err)
	if !strings.Contains(out, "demo\tデモ市\t") || !strings.Contains(out, "kobe\t神戸市\t総務課,市民課") {
		t.Errorf("tenant list:\n%s", out)
	}

	// Mistakes are explained.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"invite", "create", "--tenant", "nowhere", "--role", "staff"}, "tenant nowhere"},
		{[]string{"invite", "create", "--tenant", "kobe", "--role", "boss"}, "valid --role"},
		{[]string{"invite", "create", "--tenant", "kobe", "--code", "KOBE-DX-01"}, "既に使われています"},
		{[]string{"invite", "create", "--tenant", "kobe", "--code", "DEMO-STAFF"}, "既に使われています"},
		{[]string{"tenant", "create", "bad:id", "名前"}, "英数字"},
		{[]string{"tenant", "create", "only-id"}, "usage"},
	} {
		_, err := runCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	// The server is unaffected by the CLI coming and going.
	mustContain(t, ta.join("DEMO-STAFF", "").say("メニュー"), "メニュー")
}

// TestAdminCLIWithoutServer: with no server running, the CLI opens the data dir itself
// and leaves a snapshot the next server starts from.
func TestAdminCLIWithoutServer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KAKEHASHI_REDIS_URL", "")
	t.Setenv("KAKEHASHI_DATA_DIR", dir)
	_, err := runCLI(t, "tenant", "create", "sanjo", "三条市")
	must(t, err)
	_, err = runCLI(t, "invite", "create", "--tenant", "sanjo", "--role", "adviser", "--code", "SANJO-ADV")
	must(t, err)
	if _, err := os.Stat(dir + "/embedded.json"); !os.IsNotExist(err) {
		t.Errorf("the CLI left embedded.json behind: %v", err)
	}
	ta := startTestApp(t, dir, "")
	u := ta.join("SANJO-ADV", "")
	if u.Tenant != "sanjo" || u.Role != bot.RoleAdviser {
		t.Errorf("joined %s as %s", u.Tenant, u.Role)
	}
}

// TestAdminCLIWithRedis runs the CLI against the real Redis the tests use, when there is one.
func TestAdminCLIWithRedis(t *testing.T) {
	raw := os.Getenv("KAKEHASHI_TEST_REDIS_URL")
	if raw == "" {
		t.Skip("KAKEHASHI_TEST_REDIS_URL is not set")
	}
	ta := newTestApp(t) // flushes this package's database and seeds the demo
	u, err := url.Parse(raw)
	must(t, err)
	u.Path = "/" + itoa(testRedisDB)
	t.Setenv("KAKEHASHI_REDIS_URL", u.String())
	t.Setenv("KAKEHASHI_DATA_DIR", t.TempDir())
	_, err = runCLI(t, "tenant", "create", "kitakami", "北上市")
	must(t, err)
	_, err = runCLI(t, "invite", "create", "--tenant", "kitakami", "--role", "mayor", "--code", "KITAKAMI-M")
	must(t, err)
	if w := ta.join("KITAKAMI-M", ""); w.Tenant != "kitakami" || w.Role != bot.RoleMayor {
		t.Errorf("joined %s as %s", w.Tenant, w.Role)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestKeyAudit: after a demo session of every role, every key in the store belongs to a
// tenant (with its Cluster hash tag) or to one of the documented global families.
func TestKeyAudit(t *testing.T) {
	ta := newTestApp(t)
	for _, c := range demoCodes {
		u := ta.join(c.Code, "")
		u.say("メニュー")
		u.say("登録状況")
	}
	staff := ta.join("DEMO-STAFF", "")
	staff.say("ニーズ登録")
	staff.say("窓口の混雑")
	ta.runJobs()
	ctx := context.Background()
	var keys []string
	iter := ta.DB.Client.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	must(t, iter.Err())
	if len(keys) < 20 {
		t.Fatalf("only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		ok := false
		for _, p := range store.AllowedPrefixes {
			ok = ok || strings.HasPrefix(k, p)
		}
		if !ok {
			t.Errorf("key %q has none of the prefixes %q", k, store.AllowedPrefixes)
		}
		if strings.HasPrefix(k, "t:{") && !strings.HasPrefix(k, "t:{"+string(DemoTenant)+"}:") {
			t.Errorf("key %q of another tenant in a demo-only store", k)
		}
	}
}
