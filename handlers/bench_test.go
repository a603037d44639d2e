package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

// Benchmarks of the engine (SPEC §10: ≤ 2 Redis round trips per new event, 1 per duplicate).
// They run on the embedded store, or on the Redis of KAKEHASHI_TEST_REDIS_URL when set, and
// report the round trips per event counted by a go-redis hook (a pipeline or a script is one).
//
//	go test ./handlers -run '^$' -bench . -benchmem

// rttHook counts round trips to Redis.
type rttHook struct{ n atomic.Int64 }

func (h *rttHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *rttHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *rttHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

type benchEnv struct {
	db      *store.DB
	members *store.MembershipService
	bot     *handlers.Bot
	rtt     *rttHook
	tenant  bot.TenantID
	users   []string
}

var benchRun atomic.Int64

// newBenchEnv opens a store with users members of a fresh tenant and a bot with the
// membership commands and a two-question flow, as the tests' env does.
func newBenchEnv(b *testing.B, users int) *benchEnv {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{RedisURL: os.Getenv("KAKEHASHI_TEST_REDIS_URL"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	run := fmt.Sprintf("bench%d-%d", time.Now().UnixNano()%1e9, benchRun.Add(1))
	e := &benchEnv{db: db, members: store.NewMembershipService(db), rtt: &rttHook{}, tenant: bot.TenantID(run)}
	if err := e.members.CreateTenant(ctx, &bot.Tenant{ID: e.tenant, Name: "ベンチ市", Departments: []string{"総務課"}}); err != nil {
		b.Fatal(err)
	}
	code := "B" + run
	if err := e.members.CreateInvite(ctx, &bot.Invite{Code: code, Tenant: e.tenant, Role: bot.RoleStaff, UsesLeft: -1}); err != nil {
		b.Fatal(err)
	}
	for i := range users {
		u := fmt.Sprintf("U%s-%d", run, i)
		if _, err := e.members.Join(ctx, code, bot.Identity{Platform: bot.PlatformSlack, UserID: u}, "職員"); err != nil {
			b.Fatal(err)
		}
		if _, err := e.members.Join(ctx, code, bot.Identity{Platform: bot.PlatformLINE, UserID: u}, "職員"); err != nil {
			b.Fatal(err)
		}
		e.users = append(e.users, u)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil)) // the production logger's work, thrown away
	mux := handlers.NewMux(logger)
	mux.Use(handlers.Recover(logger), handlers.Log(logger), handlers.Timeout(20*time.Second))
	(&handlers.Membership{Members: e.members}).Register(mux)
	mux.HandleFlow("consult", handlers.Command{Name: "consult", Words: []string{"相談"}, Menu: dialog.T("相談する", "Consult")}, &handlers.Flow{
		Form: func(context.Context, *handlers.Request) (*dialog.Form, error) {
			return &dialog.Form{Name: "consult", Title: dialog.T("相談", "Consultation"), Fields: []dialog.Field{
				{Name: "title", Label: dialog.T("件名", "Title"), Prompt: dialog.T("件名を入力してください。", "Enter a title."), Validate: dialog.MaxRunes(20, dialog.T("件名", "title"))},
				{Name: "note", Label: dialog.T("補足", "Note"), Prompt: dialog.T("補足があれば入力してください。", "Anything to add?"), Optional: true},
			}}, nil
		},
		Submit: func(_ context.Context, w *handlers.Response, r *handlers.Request, s *dialog.State) error {
			w.Text(r.T("相談を受け付けました。", "Received."))
			return nil
		},
	})
	e.bot = &handlers.Bot{Mux: mux, Members: e.members, Convs: store.NewConversations(db), Clock: bot.SystemClock,
		Logger: logger, DraftTTL: 30 * time.Minute, BusyWait: 20 * time.Second}
	db.Client.AddHook(e.rtt)
	return e
}

// msg is a message of user i. Slack messages carry their tenant (the adapter knows the
// workspace); LINE messages do not, so the engine looks it up.
func (e *benchEnv) msg(p bot.Platform, i int, n int64, text string) *bot.Message {
	m := &bot.Message{EventID: fmt.Sprintf("ev-%s-%d", e.tenant, n), Platform: p, UserID: e.users[i%len(e.users)], Text: text}
	if p == bot.PlatformSlack {
		m.Tenant = e.tenant
	}
	return m
}

func (e *benchEnv) handle(b *testing.B, m *bot.Message) []bot.Reply {
	replies, err := e.bot.Handle(context.Background(), m)
	if err != nil {
		b.Fatal(err)
	}
	return replies
}

// BenchmarkHandleNewEvent is one new message (メニュー) through Engine.Handle.
func BenchmarkHandleNewEvent(b *testing.B) {
	for _, p := range []bot.Platform{bot.PlatformSlack, bot.PlatformLINE} {
		b.Run(string(p), func(b *testing.B) {
			e := newBenchEnv(b, 100)
			var n int64
			for i := range 200 { // warm up: scripts loaded, tenant cached
				n++
				e.handle(b, e.msg(p, i, n, "メニュー"))
			}
			start := e.rtt.n.Load()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				n++
				if r := e.handle(b, e.msg(p, i, n, "メニュー")); len(r) == 0 {
					b.Fatal("no reply")
				}
			}
			b.ReportMetric(float64(e.rtt.n.Load()-start)/float64(b.N), "rtt/event")
		})
	}
}

// BenchmarkHandleDuplicate is a redelivery of a handled event.
func BenchmarkHandleDuplicate(b *testing.B) {
	for _, p := range []bot.Platform{bot.PlatformSlack, bot.PlatformLINE} {
		b.Run(string(p), func(b *testing.B) {
			e := newBenchEnv(b, 1)
			m := e.msg(p, 0, 1, "メニュー")
			first := *m // Handle fills in the tenant; a redelivery arrives without it
			e.handle(b, &first)
			start := e.rtt.n.Load()
			b.ResetTimer()
			for b.Loop() {
				again := *m
				if r := e.handle(b, &again); r != nil {
					b.Fatal("a duplicate was answered")
				}
			}
			b.ReportMetric(float64(e.rtt.n.Load()-start)/float64(b.N), "rtt/event")
		})
	}
}

// BenchmarkDialogTurn is one turn of a dialog through the engine: 100 people each start the
// flow, answer the first question and cancel, in turns, so every message finds a draft
// (or clears one) in the store.
func BenchmarkDialogTurn(b *testing.B) {
	e := newBenchEnv(b, 100)
	steps := []string{"相談", "窓口の混雑", "やめる"}
	var n int64
	for i := range 300 {
		n++
		e.handle(b, e.msg(bot.PlatformSlack, i%100, n, steps[(i/100)%3]))
	}
	start := e.rtt.n.Load()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		n++
		e.handle(b, e.msg(bot.PlatformSlack, i%100, n, steps[(i/100)%3]))
	}
	b.ReportMetric(float64(e.rtt.n.Load()-start)/float64(b.N), "rtt/turn")
}

// countingSender stands in for a platform: it counts deliveries.
type countingSender struct {
	n    atomic.Int64
	done chan struct{}
	want int64
	once sync.Once
}

func (s *countingSender) Send(_ context.Context, d bot.Delivery) error {
	if s.n.Add(1) == s.want {
		s.once.Do(func() { close(s.done) })
	}
	return nil
}

// BenchmarkPipeline is the whole asynchronous path of one webhook event after its signature
// is checked: Outbox.Dispatch (the durable inbound job), a worker running the engine, the
// deliver job and the platform Sender, with the Redis round trips of all of it per event.
func BenchmarkPipeline(b *testing.B) {
	for _, p := range []bot.Platform{bot.PlatformSlack, bot.PlatformLINE} {
		b.Run(string(p), func(b *testing.B) {
			e := newBenchEnv(b, 1000)
			q := store.NewQueue(e.db)
			q.Logger = slog.New(slog.DiscardHandler)
			sender := &countingSender{done: make(chan struct{})}
			out := &handlers.Outbox{Queue: q, Members: e.members, Sent: store.NewSentRecords(e.db), Engine: e.bot,
				Senders: map[bot.Platform]bot.Sender{p: sender}, Logger: q.Logger}
			w := &store.Worker{Queue: q, Concurrency: 8}
			out.Register(w)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(ctx) }()
			defer func() { cancel(); wg.Wait() }()

			sender.want = int64(b.N)
			start := e.rtt.n.Load()
			b.ResetTimer()
			for i := range b.N {
				if err := out.Dispatch(context.Background(), e.msg(p, i, int64(i+1), "メニュー")); err != nil {
					b.Fatal(err)
				}
			}
			select {
			case <-sender.done:
			case <-time.After(10 * time.Minute):
				b.Fatalf("%d of %d events delivered", sender.n.Load(), b.N)
			}
			b.StopTimer()
			b.ReportMetric(float64(e.rtt.n.Load()-start)/float64(b.N), "rtt/event")
		})
	}
}
