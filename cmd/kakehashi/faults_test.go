package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

// redisProc is a real redis-server the test starts, SIGKILLs and starts again on the
// same port and AOF directory (appendfsync always), as the fault-injection tool does.
type redisProc struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	r := &redisProc{t: t, port: freePort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(func() { r.kill() })
	return r
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *redisProc) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port)})
	defer c.Close()
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatal("redis-server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisProc) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
		r.cmd.Wait()
		r.cmd = nil
	}
}

const (
	slackSigning = "slack-test-signing-secret"
	slackTeam    = "T0FAULTS"
	lineSecret   = "line-test-channel-secret"
)

// channelsEnv turns on LINE WORKS (against fw), Slack (HTTP events) and LINE, with the
// Slack and LINE Web APIs pointed at a fake that refuses everything.
func channelsEnv(t *testing.T, fw *fakeWorks) {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":false,"error":"user_not_found"}`)
	}))
	t.Cleanup(api.Close)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	withEnv(t, map[string]string{
		"KAKEHASHI_LINEWORKS_BOT_ID": lwBotID, "KAKEHASHI_LINEWORKS_BOT_SECRET": lwBotSecret,
		"KAKEHASHI_LINEWORKS_CLIENT_ID": "lw-client", "KAKEHASHI_LINEWORKS_CLIENT_SECRET": "lw-client-secret",
		"KAKEHASHI_LINEWORKS_SERVICE_ACCOUNT": "svc@example", "KAKEHASHI_LINEWORKS_PRIVATE_KEY": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"KAKEHASHI_LINEWORKS_API_URL": fw.srv.URL + "/v1.0", "KAKEHASHI_LINEWORKS_AUTH_URL": fw.srv.URL + "/oauth2/v2.0/token",
		"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-test", "KAKEHASHI_SLACK_SIGNING_SECRET": slackSigning, "KAKEHASHI_SLACK_API_URL": api.URL + "/api/",
		"KAKEHASHI_LINE_CHANNEL_SECRET": lineSecret, "KAKEHASHI_LINE_CHANNEL_TOKEN": "line-token", "KAKEHASHI_LINE_API_URL": api.URL,
	})
}

func faultsApp(t *testing.T, dir, redisURL string) *testApp {
	t.Helper()
	return startTestApp(t, dir, redisURL, func(c *appConfig) {
		c.File = &FileConfig{Tenants: []TenantConfig{{ID: DemoTenant, Name: "デモ市", LineWorksDomain: lwDomain, SlackTeam: slackTeam}}}
	})
}

// lwPost posts a signed LINE WORKS text message and returns the status.
func lwPost(t *testing.T, ta *testApp, user, text string) int {
	t.Helper()
	lwSeq++
	ev := map[string]any{"type": "message", "source": map[string]any{"userId": user, "domainId": json.Number(lwDomain)},
		"issuedTime": fmt.Sprintf("2026-11-24T02:%02d:%02d.000Z", lwSeq/60%60, lwSeq%60),
		"content":    map[string]any{"type": "text", "text": text}}
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest(http.MethodPost, ta.srv.URL+"/lineworks/callback", bytes.NewReader(body))
	mac := hmac.New(sha256.New, []byte(lwBotSecret))
	mac.Write(body)
	req.Header.Set("X-WORKS-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-WORKS-BotId", lwBotID)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// slackPost posts a signed Slack Events API direct message and returns the status.
func slackPost(t *testing.T, ta *testApp, eventID, text string) int {
	t.Helper()
	body := fmt.Sprintf(`{"token":"x","team_id":%q,"api_app_id":"A1","type":"event_callback","event_id":%q,"event_time":%d,`+
		`"authorizations":[{"team_id":%q,"user_id":"UBOT","is_bot":true}],`+
		`"event":{"type":"message","channel_type":"im","channel":"D0FAULT","user":"U0FAULT","text":%q,"ts":"%d.000100"}}`,
		slackTeam, eventID, time.Now().Unix(), slackTeam, text, time.Now().Unix())
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSigning))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req, _ := http.NewRequest(http.MethodPost, ta.srv.URL+"/slack/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// linePost posts a signed LINE webhook with one text message and returns the status.
func linePost(t *testing.T, ta *testApp, eventID, text string) int {
	t.Helper()
	body := fmt.Sprintf(`{"destination":"Ubot","events":[{"type":"message","mode":"active","timestamp":%d,"webhookEventId":%q,`+
		`"deliveryContext":{"isRedelivery":false},"replyToken":"rt-%s","source":{"type":"user","userId":"U0123456789abcdef0123456789abcdef"},`+
		`"message":{"id":"1","type":"text","text":%q}}]}`, time.Now().UnixMilli(), eventID, eventID, text)
	mac := hmac.New(sha256.New, []byte(lineSecret))
	mac.Write([]byte(body))
	req, _ := http.NewRequest(http.MethodPost, ta.srv.URL+"/line/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (ta *testApp) readyz() int {
	res, err := http.Get(ta.srv.URL + "/readyz")
	if err != nil {
		ta.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// sendRaw posts a web message and returns the status and replies (no status check).
func (u *webUser) sendRaw(text string) (int, []bot.Reply) {
	u.t.Helper()
	var resp struct {
		Replies []bot.Reply `json:"replies"`
	}
	st := u.post("/web/api/messages", map[string]string{"text": text}, &resp)
	return st, resp.Replies
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisDown stops a real redis-server under the running app: Slack and LINE webhooks
// get 503 (they redeliver), LINE WORKS callbacks and web messages are spooled and the
// person is told we are busy, /readyz is red; when Redis is back the spooled messages
// are replayed in order, also by a restarted app, and their answers arrive.
func TestRedisDown(t *testing.T) {
	rp := startRedis(t)
	fw := newFakeWorks(t)
	channelsEnv(t, fw)
	dir := t.TempDir()
	ta := faultsApp(t, dir, rp.url())
	ctx := context.Background()
	staff := ta.join("DEMO-STAFF", "山田 花子")
	lwUser := "lw-user-down"
	if st := lwPost(t, ta, lwUser, "メニュー"); st != http.StatusOK {
		t.Fatalf("callback with Redis up: %d", st)
	}
	ta.runJobs()
	if got := fw.take(lwUser); !strings.Contains(got, "ニーズを登録") {
		t.Fatalf("menu on LINE WORKS = %s", got)
	}
	if ta.readyz() != http.StatusOK {
		t.Fatal("/readyz red with Redis up")
	}

	rp.kill()
	if st := ta.readyz(); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down = %d, want 503", st)
	}
	if st := slackPost(t, ta, "EvDown1", "メニュー"); st != http.StatusServiceUnavailable {
		t.Errorf("Slack event with Redis down = %d, want 503 (Slack retries)", st)
	}
	if st := linePost(t, ta, "01HDOWN0000000000000000001", "メニュー"); st != http.StatusServiceUnavailable {
		t.Errorf("LINE webhook with Redis down = %d, want 503 (LINE redelivers)", st)
	}
	// LINE WORKS never resends: the callback is spooled, acknowledged, and the person told.
	if st := lwPost(t, ta, lwUser, "ニーズ登録"); st != http.StatusOK {
		t.Errorf("LINE WORKS callback with Redis down = %d, want 200 after spooling", st)
	}
	waitFor(t, "the busy notice on LINE WORKS", func() bool {
		fw.mu.Lock()
		defer fw.mu.Unlock()
		return len(fw.sent[lwUser]) > 0
	})
	if got := fw.take(lwUser); !strings.Contains(got, handlers.MsgBusy.JA) {
		t.Errorf("LINE WORKS notice = %s, want %s", got, handlers.MsgBusy.JA)
	}
	st, replies := staff.sendRaw("ニーズ登録")
	if st != http.StatusAccepted || len(replies) != 1 || replies[0].Text != handlers.MsgBusy.JA {
		t.Errorf("web message with Redis down = %d %s, want 202 and the busy message", st, dump(replies))
	}
	if n := ta.spool.Pending(); n != 2 {
		t.Errorf("spooled = %d, want 2", n)
	}
	if n, err := ta.replaySpool(ctx); err == nil || n != 0 {
		t.Errorf("replay with Redis down = %d, %v; want an error and nothing replayed", n, err)
	}

	rp.start()
	waitFor(t, "/readyz green", func() bool { return ta.readyz() == http.StatusOK })
	if n, err := ta.replaySpool(ctx); err != nil || n != 2 {
		t.Fatalf("replay = %d, %v; want 2", n, err)
	}
	ta.runJobs()
	if got := fw.take(lwUser); !strings.Contains(got, "相談したいことを一言で") {
		t.Errorf("LINE WORKS after the replay = %s, want the first question of the need form", got)
	}
	if got := texts(staff.pushes()); !strings.Contains(got, "相談したいことを一言で") {
		t.Errorf("web inbox after the replay = %s, want the first question of the need form", got)
	}
	// Slack and LINE redeliver by themselves, and it works once Redis is back.
	if st := slackPost(t, ta, "EvDown1", "メニュー"); st != http.StatusOK {
		t.Errorf("Slack redelivery = %d", st)
	}

	// Redis goes down again, a message is spooled, and the app stops before Redis is back:
	// the next start replays it.
	rp.kill()
	if st, _ := staff.sendRaw("公用車の予約を電子化したい"); st != http.StatusAccepted {
		t.Fatalf("web message with Redis down = %d", st)
	}
	ta.stop()
	rp.start()
	ta2 := faultsApp(t, dir, rp.url())
	if n := ta2.spool.Pending(); n != 1 {
		t.Fatalf("spooled after restart = %d, want 1", n)
	}
	if n, err := ta2.replaySpool(ctx); err != nil || n != 1 {
		t.Fatalf("replay after restart = %d, %v", n, err)
	}
	staff.ta = ta2
	if got := texts(staff.pushes()); !strings.Contains(got, "詳しい内容を教えてください") {
		t.Errorf("web inbox after the restart's replay = %s, want the description question", got)
	}
	if fi, err := os.Stat(ta2.spool.Path()); err != nil || fi.Size() != 0 {
		t.Errorf("spool not emptied after the replay: %v", err)
	}
}

// TestAuditKeysAndLogs runs the flows of two tenants (web, LINE WORKS, the Redis-down
// spool path) with sentinel personal data, then audits every key: an allowed prefix,
// tenant keys tagged with a known tenant, and nothing of one tenant's sentinel text in
// another tenant's keys; and the captured logs hold none of the sentinel data.
func TestAuditKeysAndLogs(t *testing.T) {
	fw := newFakeWorks(t)
	channelsEnv(t, fw)
	ta := faultsApp(t, t.TempDir(), redisURLForTest(t))
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ta.Members.CreateTenant(ctx, &bot.Tenant{ID: "other", Name: "別市", Departments: []string{"総務課"}, DXChannel: "web"}))
	must(ta.Members.CreateInvite(ctx, &bot.Invite{Code: "OTHER-STAFF", Tenant: "other", Role: bot.RoleStaff, UsesLeft: -1, ExpiresAt: ta.clock.Now().Add(time.Hour)}))
	must(ta.Members.CreateInvite(ctx, &bot.Invite{Code: "OTHER-DX", Tenant: "other", Role: bot.RoleDXLead, UsesLeft: -1, ExpiresAt: ta.clock.Now().Add(time.Hour)}))

	// Sentinel personal data: names, e-mail, phone, free text.
	demoPD := []string{"監査用山田花子", "hanako.audit@example.lg.jp", "090-4321-8765", "監査センチネル甲の相談内容"}
	otherPD := []string{"監査用鈴木次郎", "jiro.audit@example.lg.jp", "080-1111-2222", "監査センチネル乙の相談内容"}
	demoStaff := ta.join("DEMO-STAFF", demoPD[0])
	ta.join("DEMO-DX", "監査用佐藤一郎")
	otherStaff := ta.join("OTHER-STAFF", otherPD[0])
	ta.join("OTHER-DX", "監査用田中三郎")
	file := func(u *webUser, pd []string, dept string) {
		u.say("ニーズ登録")
		u.say(pd[3] + "を進めたい")
		u.say(pd[3] + "。連絡先 " + pd[1] + " / " + pd[2])
		u.say(dept)
		u.press(dialog.ActAnswer, "other")
		u.press(dialog.ActSkip, "")
		u.say("中")
		u.press(dialog.ActSkip, "")
		u.say("3")
		u.say("どちらでも")
		u.press(dialog.ActSkip, "")
		for _, r := range u.press(dialog.ActSubmit, "") {
			for _, c := range r.Choices {
				if c.Action == "need.separate" {
					u.press(c.Action, c.Value)
				}
			}
		}
	}
	file(demoStaff, demoPD, "総務課")
	file(otherStaff, otherPD, "総務課")
	lwUser := "lw-audit-user"
	for _, in := range []string{"ニーズ登録", demoPD[3] + "（LINE WORKS）", demoPD[2] + " に電話ください"} {
		if st := lwPost(t, ta, lwUser, in); st != http.StatusOK {
			t.Fatalf("callback: %d", st)
		}
		ta.runJobs()
	}
	ta.runJobs()
	// The error paths log too: free text typed while Redis is unreachable.
	closed := ta.DB.Client
	ta.DB.Client = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	lwPost(t, ta, lwUser, demoPD[3]+"（停止中）")
	demoStaff.sendRaw(demoPD[1] + " 停止中の入力")
	ta.DB.Client.Close()
	ta.DB.Client = closed
	if _, err := ta.replaySpool(ctx); err != nil {
		t.Fatalf("replay: %v", err)
	}
	ta.runJobs()

	tenants := map[string]bool{string(DemoTenant): true, "other": true, "_": true}
	pdOf := map[string][]string{string(DemoTenant): demoPD, "other": otherPD}
	var keys int
	iter := ta.DB.Client.Scan(ctx, 0, "*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		keys++
		allowed := false
		for _, p := range store.AllowedPrefixes {
			allowed = allowed || strings.HasPrefix(k, p)
		}
		if !allowed {
			t.Errorf("key %q has no allowed prefix %v", k, store.AllowedPrefixes)
			continue
		}
		if !strings.HasPrefix(k, "t:{") {
			continue
		}
		tag, _, ok := strings.Cut(k[3:], "}:")
		if !ok || !tenants[tag] {
			t.Errorf("key %q: tenant hash tag %q is not a tenant", k, tag)
			continue
		}
		val := dumpKey(ctx, ta.DB.Client, k)
		for tn, pd := range pdOf {
			if tn == tag {
				continue
			}
			for _, s := range pd {
				if strings.Contains(val, s) {
					t.Errorf("key %q of tenant %s holds tenant %s's %q", k, tag, tn, s)
				}
			}
		}
	}
	must(iter.Err())
	if keys < 50 {
		t.Fatalf("only %d keys after the flows: the audit saw too little", keys)
	}
	// The flows really stored the sentinel data (or the log audit proves nothing).
	if v := dumpKey(ctx, ta.DB.Client, "t:{other}:need:1"); !strings.Contains(v, otherPD[3]) {
		t.Fatalf("the other tenant's need was not filed: %q", v)
	}
	logs := ta.logs.String()
	if !strings.Contains(logs, "spooled") {
		t.Fatal("the logs lack the spool's warnings: the audit did not see the error paths")
	}
	for _, s := range append(append(demoPD, otherPD...), "監査用佐藤一郎", "監査用田中三郎") {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain personal data %q", s)
		}
	}
}

// dumpKey returns a key's value as text, whatever its type.
func dumpKey(ctx context.Context, c redis.UniversalClient, k string) string {
	switch c.Type(ctx, k).Val() {
	case "string":
		return c.Get(ctx, k).Val()
	case "hash":
		return fmt.Sprint(c.HGetAll(ctx, k).Val())
	case "list":
		return strings.Join(c.LRange(ctx, k, 0, -1).Val(), "\n")
	case "set":
		return strings.Join(c.SMembers(ctx, k).Val(), "\n")
	case "zset":
		return strings.Join(c.ZRange(ctx, k, 0, -1).Val(), "\n")
	case "stream":
		return fmt.Sprint(c.XRange(ctx, k, "-", "+").Val())
	}
	return ""
}
