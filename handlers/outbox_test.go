package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/handlers/web"
	"github.com/kakehashi/kakehashi/store"
)

// Sender fakes bot.Sender: SendFn decides the outcome, Sent keeps what went out.
type Sender struct {
	mu     sync.Mutex
	SendFn func(ctx context.Context, d bot.Delivery) error
	Calls  int
	Sent   []bot.Delivery
}

var _ bot.Sender = (*Sender)(nil)

func (s *Sender) Send(ctx context.Context, d bot.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls++
	if s.SendFn != nil {
		if err := s.SendFn(ctx, d); err != nil {
			return err
		}
	}
	s.Sent = append(s.Sent, d)
	return nil
}

func (s *Sender) sent() []bot.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bot.Delivery(nil), s.Sent...)
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

type outboxEnv struct {
	t       *testing.T
	db      *store.DB
	clock   *stepClock
	members *store.MembershipService
	outbox  *handlers.Outbox
	worker  *store.Worker
	senders map[bot.Platform]*Sender
}

func newOutboxEnv(t *testing.T, engine handlers.Engine) *outboxEnv {
	t.Helper()
	t.Parallel()
	db := openStore(t)
	clock := &stepClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, bot.Tokyo)}
	db.Clock = clock
	quiet := slog.New(slog.DiscardHandler)
	q := store.NewQueue(db)
	q.Logger = quiet
	e := &outboxEnv{t: t, db: db, clock: clock, members: store.NewMembershipService(db),
		senders: map[bot.Platform]*Sender{bot.PlatformSlack: {}, bot.PlatformLINE: {}, bot.PlatformWeb: {}}}
	senders := map[bot.Platform]bot.Sender{}
	for p, s := range e.senders {
		senders[p] = s
	}
	e.outbox = &handlers.Outbox{Queue: q, Members: e.members, Sent: store.NewSentRecords(db), Engine: engine,
		Senders: senders, Logger: quiet}
	e.worker = &store.Worker{Queue: q}
	e.outbox.Register(e.worker)
	return e
}

func (e *outboxEnv) person(id bot.PersonID, preferred bot.Platform, ids map[bot.Platform]string) *bot.Person {
	e.t.Helper()
	p := &bot.Person{ID: id, Tenant: "demo", Role: bot.RoleAdviser, Lang: bot.LangJA, Identities: ids, Preferred: preferred}
	must(e.t, e.members.SavePerson(context.Background(), p))
	return p
}

func (e *outboxEnv) run() int {
	e.t.Helper()
	n, err := e.worker.RunDue(context.Background())
	must(e.t, err)
	return n
}

// pushAgain pushes a key again once the queue has forgotten its first job (Retention), and
// runs the new job.
func (e *outboxEnv) pushAgain(to bot.Recipient, r bot.Reply, key string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		must(e.t, e.outbox.Push(context.Background(), to, r, key))
		if e.run() == 1 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("push %s was never queued again", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *outboxEnv) dead() []string {
	e.t.Helper()
	jobs, err := e.outbox.Queue.Dead(context.Background())
	must(e.t, err)
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

func TestPushOnce(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, nil)
	e.outbox.Queue.Retention = time.Millisecond
	e.person("p1", "", map[bot.Platform]string{bot.PlatformSlack: "U1"})
	to := bot.Recipient{Tenant: "demo", Person: "p1"}
	ping := bot.Reply{Text: "明日 19:00 から面談です。", Choices: []bot.Choice{{Label: "参加URL", Action: "open", Value: "https://meet.example/abc"}}}

	must(t, e.outbox.Push(ctx, to, ping, "meeting:7:24h"))
	must(t, e.outbox.Push(ctx, to, ping, "meeting:7:24h")) // a second replica's scheduler
	e.run()
	got := e.senders[bot.PlatformSlack].sent()
	want := []bot.Delivery{{Tenant: "demo", UserID: "U1", Replies: []bot.Reply{ping}, Key: "push:meeting:7:24h"}}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("deliveries (-want +got):\n%s", diff)
	}
	// Long after the queue forgot the job, the sent-record still stops a second send.
	e.pushAgain(to, ping, "meeting:7:24h")
	if n := len(e.senders[bot.PlatformSlack].sent()); n != 1 {
		t.Errorf("sent %d times, want once", n)
	}
	// Another key is another message.
	must(t, e.outbox.Push(ctx, to, bot.Text("1時間前です。"), "meeting:7:1h"))
	e.run()
	if n := len(e.senders[bot.PlatformSlack].sent()); n != 2 {
		t.Errorf("sent %d, want 2", n)
	}
}

func TestPushRouting(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, nil)
	e.person("web-only", "", map[bot.Platform]string{bot.PlatformWeb: "w123"})
	e.person("slack-and-line", "", map[bot.Platform]string{bot.PlatformLINE: "Uline", bot.PlatformSlack: "Uslack"})
	e.person("prefers-line", bot.PlatformLINE, map[bot.Platform]string{bot.PlatformLINE: "Uline2", bot.PlatformSlack: "Uslack2"})
	e.person("prefers-web", bot.PlatformWeb, map[bot.Platform]string{bot.PlatformWeb: "w9", bot.PlatformSlack: "Uslack3"})
	e.person("prefers-lineworks", bot.PlatformLineWorks, map[bot.Platform]string{bot.PlatformLineWorks: "lw1", bot.PlatformLINE: "Uline4"})
	for _, p := range []bot.PersonID{"web-only", "slack-and-line", "prefers-line", "prefers-web", "prefers-lineworks", "gone"} {
		// Keys are per tenant, so callers name the recipient in them.
		must(t, e.outbox.Push(ctx, bot.Recipient{Tenant: "demo", Person: p}, bot.Text("お知らせ"), "notice:"+string(p)))
	}
	e.run()
	got := map[string][]string{}
	for p, s := range e.senders {
		for _, d := range s.sent() {
			got[string(p)] = append(got[string(p)], d.UserID)
		}
	}
	want := map[string][]string{
		// The web inbox is addressed by person, the chat platforms by their user ID.
		"web": {"web-only", "prefers-web"},
		// The first chat platform in order Slack, LINE WORKS, LINE; the preferred one if it is configured.
		"slack": {"Uslack"},
		"line":  {"Uline2", "Uline4"},
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	// A push to someone who left is dropped, not dead-lettered.
	if dead := e.dead(); len(dead) != 0 {
		t.Errorf("dead jobs: %v", dead)
	}
}

func TestPushRetries(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, nil)
	e.person("p1", "", map[bot.Platform]string{bot.PlatformSlack: "U1"})
	e.person("p2", "", map[bot.Platform]string{bot.PlatformLINE: "U2"})
	slack, line := e.senders[bot.PlatformSlack], e.senders[bot.PlatformLINE]
	slack.SendFn = func(_ context.Context, d bot.Delivery) error {
		switch slack.Calls {
		case 1:
			return errors.New("slack: 503")
		case 2:
			return &bot.RetryAfterError{After: time.Minute, Err: errors.New("slack: 429 ratelimited")}
		}
		return nil
	}
	line.SendFn = func(context.Context, bot.Delivery) error {
		return fmt.Errorf("line: 400 invalid user: %w", bot.ErrPermanent)
	}
	must(t, e.outbox.Push(ctx, bot.Recipient{Tenant: "demo", Person: "p1"}, bot.Text("ping"), "k1"))
	must(t, e.outbox.Push(ctx, bot.Recipient{Tenant: "demo", Person: "p2"}, bot.Text("ping"), "k2"))
	e.run()
	e.clock.Add(time.Second) // the 503 backs off one second
	e.run()
	e.clock.Add(59 * time.Second)
	e.run()
	if slack.Calls != 2 || len(slack.sent()) != 0 {
		t.Fatalf("Retry-After not honoured: %d calls, %d sent", slack.Calls, len(slack.sent()))
	}
	e.clock.Add(time.Second)
	e.run()
	if slack.Calls != 3 || len(slack.sent()) != 1 {
		t.Errorf("after the retries: %d calls, %d sent; want 3 and 1", slack.Calls, len(slack.sent()))
	}
	// A permanent failure is tried once and dead-lettered for an admin.
	e.clock.Add(time.Hour)
	e.run()
	if line.Calls != 1 {
		t.Errorf("permanent failure tried %d times", line.Calls)
	}
	if diff := cmp.Diff([]string{"push:demo:k2"}, e.dead()); diff != "" {
		t.Errorf("dead (-want +got):\n%s", diff)
	}
}

func TestPushKeepsAttachments(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, nil)
	e.person("p1", "", map[bot.Platform]string{bot.PlatformSlack: "U1"})
	ics := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
	r := bot.Reply{Text: "面談が確定しました。", Attachments: []bot.Attachment{{Name: "meeting.ics", ContentType: "text/calendar", Data: ics}}}
	must(t, e.outbox.Push(ctx, bot.Recipient{Tenant: "demo", Person: "p1"}, r, "confirm:7"))
	e.run()
	got := e.senders[bot.PlatformSlack].sent()
	if len(got) != 1 || len(got[0].Replies) != 1 || len(got[0].Replies[0].Attachments) != 1 {
		t.Fatalf("deliveries = %+v", got)
	}
	if a := got[0].Replies[0].Attachments[0]; a.Name != "meeting.ics" || string(a.Data) != string(ics) {
		t.Errorf("attachment after the queue = %+v", a)
	}
}

// TestDispatch: an inbound event stored by a webhook is processed once, however often
// the platform delivers it, and its replies go out through the platform's sender.
func TestDispatch(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var handled []string
	fail := 1
	engine := handlers.EngineFunc(func(_ context.Context, m *bot.Message) ([]bot.Reply, error) {
		mu.Lock()
		defer mu.Unlock()
		if m.Text == "flaky" && fail > 0 {
			fail--
			return []bot.Reply{bot.Text(handlers.MsgBusy.JA)}, bot.Errorf(bot.EUNAVAILABLE, "redis down")
		}
		handled = append(handled, m.EventID)
		if m.Text == "silent" {
			return nil, nil
		}
		return []bot.Reply{bot.Text("echo " + m.Text)}, nil
	})
	e := newOutboxEnv(t, engine)
	at := e.clock.Now()
	m := &bot.Message{EventID: "Ev1", Platform: bot.PlatformLINE, UserID: "Uline", Text: "hello", ReplyToken: "rt-1", At: at}
	for range 3 { // LINE redelivers
		must(t, e.outbox.Dispatch(ctx, m))
	}
	must(t, e.outbox.Dispatch(ctx, &bot.Message{EventID: "Ev2", Platform: bot.PlatformSlack, Tenant: "demo", UserID: "U1", Channel: "C42", Text: "hi"}))
	must(t, e.outbox.Dispatch(ctx, &bot.Message{EventID: "Ev3", Platform: bot.PlatformSlack, Tenant: "demo", UserID: "U1", Text: "silent"}))
	must(t, e.outbox.Dispatch(ctx, &bot.Message{EventID: "Ev4", Platform: bot.PlatformSlack, Tenant: "demo", UserID: "U1", Text: "flaky"}))
	e.run()
	e.clock.Add(time.Second)
	e.run()

	mu.Lock()
	if diff := cmp.Diff([]string{"Ev1", "Ev2", "Ev3", "Ev4"}, handled, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	mu.Unlock()
	lineSent := e.senders[bot.PlatformLINE].sent()
	if len(lineSent) != 1 {
		t.Fatalf("LINE deliveries = %+v", lineSent)
	}
	d := lineSent[0]
	if d.UserID != "Uline" || d.ReplyToken != "rt-1" || !d.ReplyTokenAt.Equal(at) || d.Key != "out:in:line:Ev1" || d.Replies[0].Text != "echo hello" {
		t.Errorf("LINE delivery = %+v", d)
	}
	var slackTexts []string
	for _, d := range e.senders[bot.PlatformSlack].sent() {
		slackTexts = append(slackTexts, d.Channel+":"+d.Replies[0].Text)
	}
	// The failed attempt's busy message is not delivered; the retry's answer is.
	if diff := cmp.Diff([]string{":echo flaky", "C42:echo hi"}, slackTexts, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Slack deliveries (-want +got):\n%s", diff)
	}

	// A platform without a sender is a permanent failure.
	must(t, e.outbox.Dispatch(ctx, &bot.Message{EventID: "Ev5", Platform: bot.PlatformLineWorks, UserID: "lw", Text: "x"}))
	e.run()
	if diff := cmp.Diff([]string{"out:in:lineworks:Ev5"}, e.dead()); diff != "" {
		t.Errorf("dead (-want +got):\n%s", diff)
	}
}

func TestPostChannel(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, nil)
	card := bot.Reply{Text: "新しいニーズ #12", Kind: "need_card"}
	must(t, e.outbox.PostChannel(ctx, "demo", bot.PlatformSlack, "C0DX", card, "need:12:new"))
	must(t, e.outbox.PostChannel(ctx, "demo", bot.PlatformSlack, "C0DX", card, "need:12:new"))
	e.run()
	got := e.senders[bot.PlatformSlack].sent()
	if len(got) != 1 || got[0].Channel != "C0DX" || got[0].Replies[0].Kind != "need_card" {
		t.Errorf("channel posts = %+v", got)
	}
	if err := e.outbox.PostChannel(ctx, "demo", bot.PlatformLineWorks, "ch", card, "x"); err == nil {
		t.Error("posting to an unconfigured platform succeeded")
	}
}

// TestPushToWebInbox runs pushes into the real web channel: a retried push shows once.
func TestPushToWebInbox(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, nil)
	ws := store.NewWeb(e.db)
	e.outbox.Senders[bot.PlatformWeb] = &web.Channel{Store: ws, Members: e.members, Logger: slog.New(slog.DiscardHandler)}
	e.outbox.Queue.Retention = time.Millisecond
	e.person("p1", "", map[bot.Platform]string{bot.PlatformWeb: "w1"})
	to := bot.Recipient{Tenant: "demo", Person: "p1"}
	must(t, e.outbox.Push(ctx, to, bot.Text("ダイジェストが届きました。"), "digest:2026-W48"))
	e.run()
	e.pushAgain(to, bot.Text("ダイジェストが届きました。"), "digest:2026-W48")
	items, err := ws.Inbox(ctx, "demo", "p1", 0)
	must(t, err)
	if len(items) != 1 || items[0].Reply.Text != "ダイジェストが届きました。" {
		t.Errorf("inbox = %+v", items)
	}
}
