package handlers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

func TestDuplicateEvent(t *testing.T) {
	e := newEnv(t)
	u := e.member("u1", "STAFF")
	m := u.msg()
	m.Text = "メニュー"
	first, err := e.bot.Handle(context.Background(), m)
	must(t, err)
	if len(first) != 1 {
		t.Fatalf("first delivery: %+v", first)
	}
	for range 3 {
		again := *m
		replies, err := e.bot.Handle(context.Background(), &again)
		if err != nil || replies != nil {
			t.Errorf("redelivery: replies %+v err %v, want nothing", replies, err)
		}
	}

	// A redelivered answer does not advance the draft twice, and a redelivered 登録 saves once.
	u.say("相談")
	answer := u.msg()
	answer.Text = "窓口の混雑"
	mustContain(t, u.handle(answer), "補足があれば")
	dup := *answer
	if replies := u.handle(&dup); replies != nil {
		t.Errorf("redelivered answer: %+v", replies)
	}
	mustContain(t, u.press(dialog.ActSkip, ""), "以下の内容でよろしいですか？", "件名: 窓口の混雑")
	submit := u.msg()
	submit.Action = dialog.ActSubmit
	mustContain(t, u.handle(submit), "相談を受け付けました。")
	dup = *submit
	if replies := u.handle(&dup); replies != nil {
		t.Errorf("redelivered submit: %+v", replies)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if diff := cmp.Diff([]map[string]string{{"title": "窓口の混雑"}}, e.submitted); diff != "" {
		t.Errorf("submitted (-want +got):\n%s", diff)
	}
}

func TestFlowThroughEngine(t *testing.T) {
	e := newEnv(t)
	u := e.member("u1", "STAFF")
	replies := u.press("consult", "")
	mustContain(t, replies, "「相談」を始めます。", "(1/2) 件名を入力してください。")

	// A button of another command is answered, and the draft waits.
	replies = u.press("menu", "")
	mustContain(t, replies, "メニュー（デモ市 / 職員）")
	mustContain(t, u.say(strings.Repeat("長", 21)), "件名は20文字以内でお願いします（今は21文字です）。")
	mustContain(t, u.say("ヘルプ"), "「戻る」で前の質問へ")
	mustContain(t, u.say("窓口の混雑"), "(2/2) 補足があれば入力してください。")
	mustContain(t, u.say("戻る"), "（現在の値: 窓口の混雑）")
	mustContain(t, u.say("やめる"), "「相談」を中止しました。入力内容は破棄しました。")
	// After a cancel nothing is left: no draft, and no "expired" notice either.
	replies = u.say("窓口の混雑")
	mustContain(t, replies, "すみません、よく分かりませんでした。")
	if strings.Contains(texts(replies), "下書き") {
		t.Errorf("a cancelled draft was reported as expired:\n%s", texts(replies))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.submitted) != 0 {
		t.Errorf("a cancelled draft was saved: %+v", e.submitted)
	}
}

// TestExpiredDraft: after the draft TTL the person is told once, and an old button
// of the draft only explains.
func TestExpiredDraft(t *testing.T) {
	const ttl = 600 * time.Millisecond
	e := newEnv(t, func(c *envConfig) { c.draftTTL = ttl })
	typist, presser := e.member("u1", "STAFF"), e.member("u2", "STAFF")
	expired := "前回の入力は30分以上操作がなかったため、下書きを破棄しました。お手数ですが、もう一度最初からお願いします。"
	typist.say("相談")
	presser.say("相談")
	// A server expires a key no earlier than its TTL (the embedded one in clock steps).
	deadline := time.Now().Add(5 * time.Second)
	for _, uid := range []string{"u1", "u2"} {
		for {
			keys, _, err := e.db.Client.Scan(context.Background(), 0, "*:conv:web:"+uid, 1000).Result()
			must(t, err)
			if len(keys) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the draft of %s did not expire", uid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Typed text after the expiry: the notice, then the text is handled as usual.
	replies := typist.say("窓口の混雑")
	if len(replies) < 2 || replies[0].Text != expired {
		t.Fatalf("after expiry: %+v", replies)
	}
	mustContain(t, replies[1:], "すみません、よく分かりませんでした。")
	replies = typist.say("メニュー")
	if strings.Contains(texts(replies), "下書き") {
		t.Errorf("expiry told twice: %s", texts(replies))
	}

	// A button pressed on the expired draft explains and offers the menu, nothing else.
	replies = presser.press(dialog.ActSubmit, "")
	if len(replies) != 2 || replies[0].Text != expired {
		t.Fatalf("expired button: %+v", replies)
	}
	if diff := cmp.Diff([]string{"メニュー"}, labels(replies)); diff != "" {
		t.Errorf("expired button choices (-want +got):\n%s", diff)
	}
	e.mu.Lock()
	n := len(e.submitted)
	e.mu.Unlock()
	if n != 0 {
		t.Errorf("an expired draft was submitted")
	}
	// A new flow started right after works normally.
	mustContain(t, presser.say("相談"), "(1/2) 件名を入力してください。")
}

func TestBusyConversation(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.busyWait = 150 * time.Millisecond })
	u := e.member("u1", "STAFF")
	// Another replica holds the conversation (and is stuck).
	convs := store.NewConversations(e.db)
	held, err := convs.Claim(context.Background(), "demo", bot.Identity{Platform: bot.PlatformWeb, UserID: "u1"}, "")
	must(t, err)
	m := u.msg()
	m.Text = "メニュー"
	replies, err := e.bot.Handle(context.Background(), m)
	if err == nil {
		t.Error("no error while the conversation is held")
	}
	if len(replies) != 1 || replies[0].Text != handlers.MsgBusy.JA {
		t.Errorf("replies = %+v, want the busy message", replies)
	}
	must(t, convs.Release(context.Background(), held))
	// The event was not marked: the platform's retry is processed.
	again := *m
	replies, err = e.bot.Handle(context.Background(), &again)
	must(t, err)
	mustContain(t, replies, "メニュー（デモ市 / 職員）")
}

func TestStoreDown(t *testing.T) {
	e := newEnv(t)
	u := e.member("u1", "STAFF")
	must(t, e.db.Close())
	m := u.msg()
	m.Text = "メニュー"
	replies, err := e.bot.Handle(context.Background(), m)
	if bot.ErrorCode(err) != bot.EUNAVAILABLE {
		t.Errorf("err = %v, want EUNAVAILABLE", err)
	}
	if len(replies) != 1 || replies[0].Text != "ただいま処理が混み合っています。少し後でもう一度お試しください。" {
		t.Errorf("replies = %+v", replies)
	}
}

// TestReplicas: two bot replicas over one store receive the messages of 100
// conversations, every message delivered to both at the same time, conversations
// interleaved, plus late redeliveries of earlier messages. Each conversation's messages
// must be handled in order, each exactly once, with exactly one reply.
func TestReplicas(t *testing.T) {
	const convs, perConv = 100, 5
	var mu sync.Mutex
	arrived := map[string][]int{}
	e := newEnv(t, func(c *envConfig) {
		c.register = func(mux *handlers.Mux) {
			mux.HandleFunc(handlers.Command{Name: "num", Words: []string{"num"}}, func(_ context.Context, w *handlers.Response, r *handlers.Request) error {
				n, err := strconv.Atoi(r.Args)
				if err != nil {
					return err
				}
				mu.Lock()
				arrived[r.Msg.UserID] = append(arrived[r.Msg.UserID], n)
				mu.Unlock()
				// The state carries what this conversation has seen, so each message also
				// proves it read the previous message's commit.
				seen := ""
				if r.State != nil {
					seen = r.State.Slots["seen"]
				}
				w.State = &dialog.State{Slots: map[string]string{"seen": seen + r.Args + ","}}
				w.Text(fmt.Sprintf("ok %s %d after %s", r.Msg.UserID, n, seen))
				return nil
			})
		}
	})
	replicas := []*handlers.Bot{e.bot, e.newReplica()}

	type key struct {
		user string
		n    int
	}
	var rmu sync.Mutex
	replies := map[key][]string{}
	var failures []string
	message := func(user string, n int) *bot.Message {
		// A bound Slack workspace: the first message makes the sender a staff member.
		return &bot.Message{EventID: fmt.Sprintf("Ev-%s-%d", user, n), Platform: bot.PlatformSlack, Tenant: "demo",
			UserID: user, Text: fmt.Sprintf("num %d", n), AutoRole: bot.RoleStaff}
	}
	deliver := func(rep *handlers.Bot, m *bot.Message, n int) {
		rs, err := rep.Handle(context.Background(), m)
		rmu.Lock()
		defer rmu.Unlock()
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", m.EventID, err))
		}
		for _, r := range rs {
			replies[key{m.UserID, n}] = append(replies[key{m.UserID, n}], r.Text)
		}
	}

	var all sync.WaitGroup
	for c := range convs {
		user := fmt.Sprintf("U%03d", c)
		all.Go(func() {
			for n := 1; n <= perConv; n++ {
				done := make(chan struct{}, 2)
				for _, i := range rand.Perm(2) {
					all.Go(func() {
						deliver(replicas[i], message(user, n), n)
						done <- struct{}{}
					})
				}
				// The platform got its answer from one replica; the copy at the other
				// may still be in flight while the next message is sent.
				<-done
				if n > 1 && rand.IntN(3) == 0 {
					late := rand.IntN(n-1) + 1
					all.Go(func() { deliver(replicas[rand.IntN(2)], message(user, late), late) })
				}
			}
		})
	}
	all.Wait()

	if len(failures) > 0 {
		t.Fatalf("%d deliveries failed, e.g. %s", len(failures), failures[0])
	}
	want := []int{1, 2, 3, 4, 5}
	for c := range convs {
		user := fmt.Sprintf("U%03d", c)
		if diff := cmp.Diff(want, arrived[user]); diff != "" {
			t.Errorf("%s handled (-want +got):\n%s", user, diff)
		}
		seen := ""
		for n := 1; n <= perConv; n++ {
			got := replies[key{user, n}]
			wantReply := fmt.Sprintf("ok %s %d after %s", user, n, seen)
			if len(got) != 1 || got[0] != wantReply {
				t.Errorf("%s message %d got replies %q, want exactly [%q]", user, n, got, wantReply)
			}
			seen += strconv.Itoa(n) + ","
		}
	}
	members, err := e.members.Members(context.Background(), "demo", bot.RoleStaff)
	must(t, err)
	if len(members) != convs {
		t.Errorf("staff members = %d, want %d (one per Slack user)", len(members), convs)
	}
}
