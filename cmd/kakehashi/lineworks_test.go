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
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
)

var lwSeq int

const (
	lwBotID     = "2000001"
	lwBotSecret = "lw-test-bot-secret"
	lwDomain    = "40029600"
)

// fakeWorks is an httptest fake of the LINE WORKS auth server and Bot API that records
// every message the bot sends, by user.
type fakeWorks struct {
	srv  *httptest.Server
	mu   sync.Mutex
	sent map[string][]string // userId → texts (with button labels) in order
}

func newFakeWorks(t *testing.T) *fakeWorks {
	f := &fakeWorks{sent: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("assertion") == "" || r.Form.Get("client_id") != "lw-client" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"tok-1","refresh_token":"r","token_type":"Bearer","expires_in":"86400","scope":"bot"}`)
	})
	mux.HandleFunc("POST /v1.0/bots/{bot}/users/{user}/messages", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" || r.PathValue("bot") != lwBotID {
			http.Error(w, `{"code":"UNAUTHORIZED"}`, http.StatusUnauthorized)
			return
		}
		var body struct {
			Content json.RawMessage `json:"content"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.sent[r.PathValue("user")] = append(f.sent[r.PathValue("user")], string(body.Content))
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWorks) take(user string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := strings.Join(f.sent[user], "\n")
	f.sent[user] = nil
	return s
}

func withEnv(t *testing.T, vars map[string]string) {
	old := getenv
	getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return ""
	}
	t.Cleanup(func() { getenv = old })
}

func lineWorksApp(t *testing.T) (*testApp, *fakeWorks) {
	fw := newFakeWorks(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	withEnv(t, map[string]string{
		"KAKEHASHI_LINEWORKS_BOT_ID": lwBotID, "KAKEHASHI_LINEWORKS_BOT_SECRET": lwBotSecret,
		"KAKEHASHI_LINEWORKS_CLIENT_ID": "lw-client", "KAKEHASHI_LINEWORKS_CLIENT_SECRET": "lw-client-secret",
		"KAKEHASHI_LINEWORKS_SERVICE_ACCOUNT": "svc@example", "KAKEHASHI_LINEWORKS_PRIVATE_KEY": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"KAKEHASHI_LINEWORKS_API_URL": fw.srv.URL + "/v1.0", "KAKEHASHI_LINEWORKS_AUTH_URL": fw.srv.URL + "/oauth2/v2.0/token",
	})
	ta := newTestApp(t, func(c *appConfig) {
		c.File = &FileConfig{Tenants: []TenantConfig{{ID: DemoTenant, Name: "デモ市", LineWorksDomain: lwDomain}}}
	})
	return ta, fw
}

// lwSay posts a correctly signed LINE WORKS text message from user and runs the jobs it causes.
func lwSay(t *testing.T, ta *testApp, user, text string) {
	t.Helper()
	raw, err := os.ReadFile("../../handlers/lineworks/testdata/ruby-sdk_text_message.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	json.Unmarshal(raw, &ev)
	src := ev["source"].(map[string]any)
	src["userId"] = user
	delete(src, "channelId") // a 1:1 talk with the bot
	ev["content"] = map[string]any{"type": "text", "text": text}
	// Each message is a new event (LINE WORKS has no event ID; the adapter derives one from the body).
	lwSeq++
	ev["issuedTime"] = fmt.Sprintf("2026-11-24T01:%02d:%02d.000Z", lwSeq/60%60, lwSeq%60)
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest(http.MethodPost, ta.srv.URL+"/lineworks/callback", bytes.NewReader(body))
	mac := hmac.New(sha256.New, []byte(lwBotSecret))
	mac.Write(body)
	req.Header.Set("X-WORKS-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-WORKS-BotId", lwBotID)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("callback status %d", res.StatusCode)
	}
	ta.runJobs()
}

// TestLineWorksStaffFilesNeed: a member of the bound LINE WORKS domain is staff and files a need end to end.
func TestLineWorksStaffFilesNeed(t *testing.T) {
	ta, fw := lineWorksApp(t)
	user := "c72af563-0f21-4736-11e4-045237113344"
	lwSay(t, ta, user, "メニュー")
	if got := fw.take(user); !strings.Contains(got, "職員") || !strings.Contains(got, "ニーズを登録") {
		t.Fatalf("menu on LINE WORKS = %s", got)
	}
	for _, in := range []string{"ニーズ登録", "公用車の予約を電子化したい", "紙の台帳で予約しており、重複予約が起きています。", "総務課",
		"Web・UI/UX", "スキップ", "中", "スキップ", "3", "どちらでも", "スキップ"} {
		lwSay(t, ta, user, in)
	}
	if got := fw.take(user); !strings.Contains(got, "よろしいですか") || !strings.Contains(got, "公用車の予約を電子化したい") {
		t.Fatalf("summary on LINE WORKS = %s", got)
	}
	lwSay(t, ta, user, "登録")
	got := fw.take(user)
	if !strings.Contains(got, "受け付けました（#5）") {
		t.Fatalf("acknowledgement on LINE WORKS = %s", got)
	}
	n, err := ta.NeedStore.Need(context.Background(), DemoTenant, 5)
	if err != nil || n.Title != "公用車の予約を電子化したい" {
		t.Fatalf("need = %+v %v", n, err)
	}
	p, _ := ta.Members.Person(context.Background(), DemoTenant, n.FiledBy)
	if p.Role != bot.RoleStaff || p.Identities[bot.PlatformLineWorks] != user {
		t.Fatalf("filer = %+v", p)
	}
}
