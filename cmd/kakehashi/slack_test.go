package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

const (
	skSecret = "slack-e2e-signing-secret"
	skTeam   = "T0DEMO"
)

// skFake is an httptest fake of the Slack Web API that records what the bot posts per channel.
type skFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	posts   map[string][]string // channel → text and button labels of each chat.postMessage
	views   []string
	uploads int
}

func newSkFake(t *testing.T) *skFake {
	f := &skFake{posts: map[string][]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/"), "/") {
		case "users.info":
			fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":%q,"name":"taro","real_name":"山田 太郎","profile":{"display_name":"山田"},"locale":"ja-JP"}}`, r.Form.Get("user"), skTeam)
		case "conversations.open":
			fmt.Fprint(w, `{"ok":true,"channel":{"id":"D0DM"}}`)
		case "chat.postMessage":
			f.mu.Lock()
			f.posts[r.Form.Get("channel")] = append(f.posts[r.Form.Get("channel")], r.Form.Get("text")+" "+r.Form.Get("blocks"))
			f.mu.Unlock()
			fmt.Fprint(w, `{"ok":true,"channel":"D0DM","ts":"1700000000.000100"}`)
		case "files.getUploadURLExternal":
			fmt.Fprintf(w, `{"ok":true,"upload_url":%q,"file_id":"F1"}`, "http://"+r.Host+"/upload/F1")
		case "upload/F1":
			f.mu.Lock()
			f.uploads++
			f.mu.Unlock()
			fmt.Fprint(w, "OK - 1")
		case "files.completeUploadExternal":
			fmt.Fprint(w, `{"ok":true,"files":[{"id":"F1","title":"chart"}]}`)
		case "views.publish", "views.open":
			f.mu.Lock()
			f.views = append(f.views, r.Form.Get("view"))
			f.mu.Unlock()
			fmt.Fprint(w, `{"ok":true,"view":{"id":"V1"}}`)
		default:
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *skFake) take(channel string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := strings.Join(f.posts[channel], "\n")
	f.posts[channel] = nil
	return s
}

func skApp(t *testing.T) (*testApp, *skFake) {
	fs := newSkFake(t)
	withEnv(t, map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-test", "KAKEHASHI_SLACK_SIGNING_SECRET": skSecret,
		"KAKEHASHI_SLACK_API_URL": fs.srv.URL + "/api/", "KAKEHASHI_SLACK_POST_INTERVAL": "1ms"})
	ta := newTestApp(t, func(c *appConfig) {
		c.File = &FileConfig{Tenants: []TenantConfig{{ID: DemoTenant, Name: "デモ市", SlackTeam: skTeam}}}
	})
	return ta, fs
}

var skSeq int

// skPost sends a correctly signed request to one of the Slack endpoints.
func skPost(t *testing.T, ta *testApp, path, contentType string, body []byte) *http.Response {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(skSecret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, ta.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// skDM sends a DM event (Events API) and runs the jobs it causes.
func skDM(t *testing.T, ta *testApp, user, text string) {
	t.Helper()
	skSeq++
	ev := map[string]any{"token": "x", "team_id": skTeam, "api_app_id": "A0", "type": "event_callback",
		"event_id": fmt.Sprintf("Ev%06d", skSeq), "event_time": time.Now().Unix(),
		"authorizations": []map[string]any{{"team_id": skTeam, "user_id": "UBOT", "is_bot": true}},
		"event": map[string]any{"type": "message", "channel_type": "im", "channel": "D0DM", "user": user, "text": text,
			"ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), skSeq), "team": skTeam}}
	body, _ := json.Marshal(ev)
	if res := skPost(t, ta, "/slack/events", "application/json", body); res.StatusCode != 200 {
		t.Fatalf("events status %d", res.StatusCode)
	}
	ta.runJobs()
}

func skButton(t *testing.T, ta *testApp, user, action, value string) {
	t.Helper()
	skSeq++
	payload := map[string]any{"type": "block_actions", "team": map[string]any{"id": skTeam}, "user": map[string]any{"id": user, "team_id": skTeam},
		"trigger_id": fmt.Sprintf("trig.%d", skSeq), "channel": map[string]any{"id": "D0DM"}, "container": map[string]any{"type": "message", "channel_id": "D0DM"},
		"actions": []map[string]any{{"type": "button", "action_id": "kk0:" + action, "block_id": "b", "value": value, "text": map[string]any{"type": "plain_text", "text": "x"}}}}
	raw, _ := json.Marshal(payload)
	body := []byte("payload=" + url.QueryEscape(string(raw)))
	if res := skPost(t, ta, "/slack/interactions", "application/x-www-form-urlencoded", body); res.StatusCode != 200 {
		t.Fatalf("interactions status %d", res.StatusCode)
	}
	ta.runJobs()
}

// TestSlackNeedFlow: a member of the bound workspace files a need by DM, and a retried
// event gets no second answer; the DX lead (joined with a code on Slack) triages it.
func TestSlackNeedFlow(t *testing.T) {
	ta, fs := skApp(t)
	skDM(t, ta, "U100", "メニュー")
	if got := fs.take("D0DM"); !strings.Contains(got, "職員") || !strings.Contains(got, "ニーズを登録") {
		t.Fatalf("menu on Slack = %s", got)
	}
	// Slack retries the same event: no second reply.
	body, _ := json.Marshal(map[string]any{"team_id": skTeam, "type": "event_callback", "event_id": fmt.Sprintf("Ev%06d", skSeq),
		"authorizations": []map[string]any{{"team_id": skTeam, "user_id": "UBOT", "is_bot": true}},
		"event":          map[string]any{"type": "message", "channel_type": "im", "channel": "D0DM", "user": "U100", "text": "メニュー", "ts": "1.1", "team": skTeam}})
	skPost(t, ta, "/slack/events", "application/json", body)
	ta.runJobs()
	if got := fs.take("D0DM"); got != "" {
		t.Fatalf("a retried event was answered again: %s", got)
	}
	for _, in := range []string{"ニーズ登録", "オンライン会議の環境を整えたい <!channel>", "会議室が足りず、Web会議の機材も不足しています。", "総務課"} {
		skDM(t, ta, "U100", in)
	}
	skButton(t, ta, "U100", "dialog.answer", "infra_security")
	for _, in := range []string{"スキップ", "中", "スキップ", "4", "どちらでも", "スキップ", "登録"} {
		skDM(t, ta, "U100", in)
	}
	got := fs.take("D0DM")
	if !strings.Contains(got, "受け付けました（#5）") {
		t.Fatalf("acknowledgement on Slack = %s", got)
	}
	if strings.Contains(got, "<!channel>") {
		t.Fatalf("user text was not escaped: %s", got)
	}
	n, err := ta.NeedStore.Need(context.Background(), DemoTenant, 5)
	if err != nil || !strings.HasPrefix(n.Title, "オンライン会議の環境を整えたい") || n.Category != "infra_security" {
		t.Fatalf("need = %+v %v", n, err)
	}
	// The DX lead joins with a code on Slack and moves the need; the filer is told on Slack.
	skDM(t, ta, "U200", "参加 DEMO-DX")
	fs.take("D0DM")
	skButton(t, ta, "U200", "need.setstatus", "5:triaged")
	skDM(t, ta, "U200", "内容を確認しました")
	skDM(t, ta, "U200", "登録")
	if got := fs.take("D0DM"); !strings.Contains(got, "「確認済」にしました") {
		t.Fatalf("status change on Slack = %s", got)
	}
	lead, _ := ta.Members.PersonByIdentity(context.Background(), DemoTenant, bot.Identity{Platform: bot.PlatformSlack, UserID: "U200"})
	if lead == nil || lead.Role != bot.RoleDXLead {
		t.Fatalf("lead = %+v", lead)
	}
}

// TestSlackModalSubmission files a need through the modal (view_submission) with a field error first.
func TestSlackModalSubmission(t *testing.T) {
	ta, fs := skApp(t)
	submit := func(title string) *http.Response {
		skSeq++
		vals := map[string]any{}
		for k, v := range map[string]string{"title": title, "description": "説明です", "department": "総務課", "category": "web_ux",
			"urgency": "low", "impact": "2", "form": "remote"} {
			vals[k] = map[string]any{k: map[string]any{"type": "plain_text_input", "value": v}}
		}
		payload := map[string]any{"type": "view_submission", "team": map[string]any{"id": skTeam}, "user": map[string]any{"id": "U300", "team_id": skTeam},
			"trigger_id": fmt.Sprintf("trig.m%d", skSeq), "view": map[string]any{"id": "V1", "callback_id": "kakehashi.form", "private_metadata": "need",
				"state": map[string]any{"values": vals}}}
		raw, _ := json.Marshal(payload)
		return skPost(t, ta, "/slack/interactions", "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(raw))))
	}
	if res := submit(strings.Repeat("長", 81)); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ns, _ := ta.NeedStore.Needs(context.Background(), DemoTenant, bot.NeedFilter{}); len(ns) != 4 {
		t.Fatalf("an invalid modal was saved")
	}
	submit("ホームページのアクセシビリティを改善したい")
	ta.runJobs()
	time.Sleep(100 * time.Millisecond)
	ns, _ := ta.NeedStore.Needs(context.Background(), DemoTenant, bot.NeedFilter{})
	if len(ns) != 5 || ns[0].Title != "ホームページのアクセシビリティを改善したい" {
		t.Fatalf("modal need not stored: %d", len(ns))
	}
	_ = fs
}

// TestSlackMayorDigest: the mayor asks for the digest on Slack and gets the card with the chart uploaded.
func TestSlackMayorDigest(t *testing.T) {
	ta, fs := skApp(t)
	skDM(t, ta, "U900", "参加 DEMO-MAYOR")
	fs.take("D0DM")
	skDM(t, ta, "U900", "ダイジェスト")
	got := fs.take("D0DM")
	if !strings.Contains(got, "週次ダイジェスト") || !strings.Contains(got, "優先度上位") {
		t.Fatalf("digest on Slack = %s", got)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.uploads != 1 {
		t.Fatalf("chart uploads = %d", fs.uploads)
	}
}
