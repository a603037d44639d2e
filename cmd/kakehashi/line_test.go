package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/line"
)

const lnSecret = "line-e2e-channel-secret"

// lnFake is an httptest fake of the LINE Messaging API that records reply and push requests by user.
type lnFake struct {
	srv *httptest.Server
	mu  sync.Mutex
	// msgs holds each sent request body per user; replies are filed under the user of their token.
	msgs   map[string][]string
	tokens map[string]string // reply token → user
	keys   map[string]bool   // X-Line-Retry-Key seen
}

func newLnFake(t *testing.T) *lnFake {
	f := &lnFake{msgs: map[string][]string{}, tokens: map[string]string{}, keys: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			To         string `json:"to"`
			ReplyToken string `json:"replyToken"`
		}
		json.Unmarshal(body, &req)
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v2/bot/message/reply":
			user, ok := f.tokens[req.ReplyToken]
			if !ok {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"message":"Invalid reply token"}`)
				return
			}
			delete(f.tokens, req.ReplyToken)
			f.msgs[user] = append(f.msgs[user], string(body))
		case "/v2/bot/message/push":
			if k := r.Header.Get("X-Line-Retry-Key"); k != "" {
				if f.keys[k] {
					w.WriteHeader(http.StatusConflict)
					io.WriteString(w, `{"message":"The retry key is already accepted"}`)
					return
				}
				f.keys[k] = true
			}
			f.msgs[req.To] = append(f.msgs[req.To], string(body))
		}
		io.WriteString(w, `{"sentMessages":[]}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// take returns and forgets what was sent to user.
func (f *lnFake) take(user string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := strings.Join(f.msgs[user], "\n")
	f.msgs[user] = nil
	return s
}

// postbacks lists the postback data of every action in s (quick replies, buttons).
func postbacks(s string) map[string]string {
	out := map[string]string{} // label → data
	for _, line := range strings.Split(s, "\n") {
		var v any
		if json.Unmarshal([]byte(line), &v) != nil {
			continue
		}
		var walk func(any)
		walk = func(x any) {
			switch t := x.(type) {
			case map[string]any:
				if d, ok := t["data"].(string); ok && t["type"] == "postback" {
					label, _ := t["label"].(string)
					out[label] = d
				}
				for _, y := range t {
					walk(y)
				}
			case []any:
				for _, y := range t {
					walk(y)
				}
			}
		}
		walk(v)
	}
	return out
}

func lineApp(t *testing.T) (*testApp, *lnFake) {
	f := newLnFake(t)
	withEnv(t, map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET": lnSecret, "KAKEHASHI_LINE_CHANNEL_TOKEN": "line-token", "KAKEHASHI_LINE_API_URL": f.srv.URL})
	return newTestApp(t), f
}

var lnSeq int

// lnEvent posts one signed webhook event from user and runs the jobs it causes.
func lnEvent(t *testing.T, ta *testApp, f *lnFake, user string, ev map[string]any) {
	t.Helper()
	lnSeq++
	tok := fmt.Sprintf("rt-%d", lnSeq)
	f.mu.Lock()
	f.tokens[tok] = user
	f.mu.Unlock()
	ev["webhookEventId"] = fmt.Sprintf("01HE2E%08d", lnSeq)
	ev["deliveryContext"] = map[string]any{"isRedelivery": false}
	ev["timestamp"] = ta.clock.Now().UnixMilli()
	ev["source"] = map[string]any{"type": "user", "userId": user}
	ev["replyToken"] = tok
	ev["mode"] = "active"
	body, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{ev}})
	mac := hmac.New(sha256.New, []byte(lnSecret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, ta.srv.URL+"/line/webhook", bytes.NewReader(body))
	req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("webhook status %d", res.StatusCode)
	}
	ta.runJobs()
}

func lnText(t *testing.T, ta *testApp, f *lnFake, user, text string) {
	t.Helper()
	lnEvent(t, ta, f, user, map[string]any{"type": "message", "message": map[string]any{"type": "text", "id": fmt.Sprint(lnSeq), "text": text}})
}

func lnPostback(t *testing.T, ta *testApp, f *lnFake, user, data string) {
	t.Helper()
	lnEvent(t, ta, f, user, map[string]any{"type": "postback", "postback": map[string]any{"data": data}})
}

// TestLineAdviserAnswersPollAndGetsReminders: an adviser on LINE joins, receives a meeting
// poll pushed from the web, accepts it with a postback, and gets each reminder once.
func TestLineAdviserAnswersPollAndGetsReminders(t *testing.T) {
	ta, f := lineApp(t)
	adv := "Uadviser0000000000000000000000001"
	lnEvent(t, ta, f, adv, map[string]any{"type": "follow", "follow": map[string]any{"isUnblocked": false}})
	if got := f.take(adv); !strings.Contains(got, "招待コード") {
		t.Fatalf("welcome on LINE = %s", got)
	}
	lnText(t, ta, f, adv, "参加 DEMO-ADVISER")
	if got := f.take(adv); !strings.Contains(got, "アドバイザー") {
		t.Fatalf("join on LINE = %s", got)
	}
	// Staff on the web books the adviser.
	s := &meetingScene{t: t, ta: ta, staff: ta.join("DEMO-STAFF", "山田 花子"), lead: ta.join("DEMO-DX", "佐藤 一郎")}
	n, err := ta.NeedStore.CreateNeed(context.Background(), &bot.Need{Tenant: DemoTenant, Title: "庁内の問い合わせ統計を可視化したい", Description: "統計の可視化",
		Department: "情報政策課", Category: "data_ai", Urgency: bot.UrgencyMedium, Impact: 4, Form: "either", FiledBy: s.person(s.staff)}, "")
	if err != nil {
		t.Fatal(err)
	}
	s.need = fmt.Sprint(n.ID)
	mustContain(t, s.staff.say("面談予約"), "どのニーズについて面談しますか")
	r := s.staff.press("meeting.need", s.need)
	var pick bot.Choice
	for _, c := range r[len(r)-1].Choices {
		if strings.HasPrefix(c.Label, "★") {
			pick = c
		}
	}
	card := s.staff.press(pick.Action, pick.Value)
	_, id := pollOptions(t, card[0])
	s.staff.press("meeting.toggle", id+":2")
	mustContain(t, s.staff.press("meeting.send", id), "候補日時を送りました")
	ta.runJobs()
	ping := f.take(adv)
	if !strings.Contains(ping, "面談") || !strings.Contains(ping, "別の日時を提案") {
		t.Fatalf("poll ping on LINE = %s", ping)
	}
	var accept string
	for label, data := range postbacks(ping) {
		if strings.Contains(data, "meeting.accept") {
			accept = data
			_ = label
		}
	}
	if accept == "" {
		t.Fatalf("no accept postback in %s", ping)
	}
	lnPostback(t, ta, f, adv, accept)
	got := f.take(adv)
	if !strings.Contains(got, "面談が確定しました") || !strings.Contains(got, "/files/demo/") {
		t.Fatalf("confirmation on LINE (with the invite link) = %s", got)
	}
	mustContain(t, s.staff.pushes(), "面談が確定しました")
	m, err := ta.MeetingStore.Meeting(context.Background(), DemoTenant, bot.MeetingID(id))
	if err != nil || m.Status != bot.MeetingConfirmed {
		t.Fatalf("meeting = %+v %v", m, err)
	}
	// Each reminder arrives on LINE once, with the join link.
	for _, off := range ta.Meetings.Offsets {
		ta.clock.t = m.Slot.Start.Add(-off)
		ta.runJobs()
		ta.runJobs()
		got := f.take(adv)
		if strings.Count(got, "【リマインド】") != 1 || !strings.Contains(got, "https://") {
			t.Fatalf("reminder at -%s on LINE = %s", off, got)
		}
	}
}

// TestLineCandidateRegistersAndAnswersIntroduction: a candidate on LINE registers with
// consent, is matched to a triaged need, and says yes to the introduction.
func TestLineCandidateRegistersAndAnswersIntroduction(t *testing.T) {
	ta, f := lineApp(t)
	u := "Ucandidate00000000000000000000001"
	lnText(t, ta, f, u, "参加 DEMO-CANDIDATE")
	f.take(u)
	lnText(t, ta, f, u, "候補者登録")
	consent := f.take(u)
	yes, ok := postbacks(consent)["はい"]
	if !ok || !strings.Contains(consent, "同意") {
		t.Fatalf("consent on LINE = %s", consent)
	}
	lnPostback(t, ta, f, u, yes)
	for _, a := range []string{"小川 未来", "電子申請とWeb改善の支援", "電子申請システムの導入支援、Webサイトのアクセシビリティ改善、UI/UX設計", "Web・UI/UX",
		"エンジニア", "8", "10", "平日夜、土日", "どちらでも", "岡山県", "副業", "mirai.ogawa@example.jp", "090-3333-4444"} {
		lnText(t, ta, f, u, a)
	}
	f.take(u)
	submit, _ := line.EncodePostback("dialog.submit", "")
	lnPostback(t, ta, f, u, submit)
	if got := f.take(u); !strings.Contains(got, "候補者として登録しました") {
		t.Fatalf("registration on LINE = %s", got)
	}
	// The DX lead triages need #1 (窓口の申請受付を電子化したい) and gets the candidate's card.
	lead := ta.join("DEMO-DX", "佐藤 一郎")
	ta.runJobs()
	lead.pushes()
	triageNeed(t, lead, "1")
	ta.runJobs()
	var intro bot.Choice
	for _, r := range lead.pushes() {
		if r.Kind == "candidate_card" && strings.Contains(texts([]bot.Reply{r}), "電子申請とWeb改善の支援") {
			for _, c := range r.Choices {
				if c.Label == "紹介を依頼" {
					intro = c
				}
			}
		}
	}
	if intro.Action == "" {
		t.Fatal("no candidate card for the LINE candidate")
	}
	mustContain(t, lead.press(intro.Action, intro.Value), "紹介を依頼しました")
	ta.runJobs()
	ping := f.take(u)
	if ping == "" {
		dumpDead(t, ta)
	}
	if !strings.Contains(ping, "デモ市") || !strings.Contains(ping, "#1 窓口の申請受付を電子化したい") {
		t.Fatalf("introduction ping on LINE = %s", ping)
	}
	lnPostback(t, ta, f, u, postbacks(ping)["はい"])
	if got := f.take(u); !strings.Contains(got, "連絡先をデモ市のDX推進担当にお送りしました") {
		t.Fatalf("answer on LINE = %s", got)
	}
	ta.runJobs()
	mustContain(t, lead.pushes(), "mirai.ogawa@example.jp", "090-3333-4444")
}

func dumpDead(t *testing.T, ta *testApp) {
	dead, _ := ta.Queue.Dead(context.Background())
	for _, j := range dead {
		t.Logf("dead %s %s %s", j.ID, j.Kind, j.LastErr)
	}
	t.Log(ta.logs.String()[max(0, len(ta.logs.String())-3000):])
}
