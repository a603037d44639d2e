package main

import (
	"context"

	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/handlers/web"
	"github.com/kakehashi/kakehashi/store"
)

// appConfig is everything newApp needs; serve fills it from the environment, tests by hand.
type appConfig struct {
	RedisURL      string
	DataDir       string
	SnapshotEvery time.Duration
	DraftTTL      time.Duration
	Workers       int
	Demo          bool
	File          *FileConfig
	Clock         bot.Clock
	Logger        *slog.Logger
	// Attach lets an admin command share a running server's embedded store.
	Attach bool
	// NoWorker leaves the job worker to the caller (tests drive it with RunDue).
	NoWorker bool
}

// App is the wired program: store, services, router, channels and the HTTP handler.
type App struct {
	cfg     appConfig
	Logger  *slog.Logger
	Clock   bot.Clock
	DB      *store.DB
	Members *store.MembershipService
	Convs   *store.Conversations
	Queue   *store.Queue
	Worker  *store.Worker
	Outbox  *handlers.Outbox
	Mux     *handlers.Mux
	Bot     *handlers.Bot
	Web     *web.Channel
	HTTP    *http.ServeMux
	Metrics *prometheus.Registry

	NeedStore *store.NeedService
	Needs     *handlers.Needs
	Digest    *handlers.Digest
	Home      *handlers.Home

	AdviserStore *store.AdviserService
	MeetingStore *store.MeetingService
	Advisers     *handlers.Advisers
	Meetings     *handlers.Meetings

	CandidateStore *store.CandidateService
	CandidatePool  *handlers.CandidatePool
	Candidates     *handlers.Candidates

	messages *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	bg     sync.WaitGroup
	cancel context.CancelFunc
	// starters run when the app starts (schedulers, socket connections); closers when it stops.
	starters []func(ctx context.Context)
	// routes add the HTTP endpoints of optional features (platform webhooks).
	routes []func(mux *http.ServeMux)
	// spool keeps LINE WORKS and web messages while Redis is down (spool.go); closers
	// release such resources when the app stops.
	spool   *store.Spool
	closers []func()
}

func newApp(ctx context.Context, cfg appConfig) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = bot.SystemClock
	}
	if cfg.DraftTTL <= 0 {
		cfg.DraftTTL = 30 * time.Minute
	}
	if cfg.File == nil {
		cfg.File = &FileConfig{}
	}
	db, err := store.Open(ctx, store.Config{RedisURL: cfg.RedisURL, DataDir: cfg.DataDir, SnapshotEvery: cfg.SnapshotEvery,
		Logger: cfg.Logger, Attach: cfg.Attach})
	if err != nil {
		return nil, err
	}
	db.Clock = cfg.Clock
	a := &App{cfg: cfg, Logger: cfg.Logger, Clock: cfg.Clock, DB: db}
	a.Members = store.NewMembershipService(db)
	a.Convs = store.NewConversations(db)
	a.Queue = store.NewQueue(db)
	a.Queue.Logger = cfg.Logger
	a.Worker = &store.Worker{Queue: a.Queue, Concurrency: max(cfg.Workers, 1)}
	a.Mux = handlers.NewMux(cfg.Logger)
	a.Mux.Use(handlers.Recover(cfg.Logger), handlers.Log(cfg.Logger), handlers.Timeout(20*time.Second))
	a.Bot = &handlers.Bot{Mux: a.Mux, Members: a.Members, Convs: a.Convs, Clock: cfg.Clock, Logger: cfg.Logger,
		DraftTTL: cfg.DraftTTL, BusyWait: 20 * time.Second}
	a.Web = &web.Channel{Engine: a, Members: a.Members, Store: store.NewWeb(db), Logger: cfg.Logger}
	a.Outbox = &handlers.Outbox{Queue: a.Queue, Members: a.Members, Sent: store.NewSentRecords(db), Engine: a,
		Senders: map[bot.Platform]bot.Sender{bot.PlatformWeb: a.Web}, Logger: cfg.Logger}
	a.Outbox.Register(a.Worker)

	(&handlers.Membership{Members: a.Members}).Register(a.Mux)
	// Needs come first: other features (candidates, meetings, digest) build on them.
	if err := wireNeeds(ctx, a); err != nil {
		db.Close()
		return nil, err
	}
	for _, wire := range features {
		if err := wire(ctx, a); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := a.applyFileConfig(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if cfg.Demo {
		if err := seedDemo(ctx, a); err != nil {
			db.Close()
			return nil, fmt.Errorf("demo data: %w", err)
		}
	}
	a.initHTTP()
	return a, nil
}

// features wire optional parts of the program (needs, meetings, candidates, digest, channels)
// into the app; each feature file appends itself in init.
var features []func(ctx context.Context, a *App) error

// Handle implements handlers.Engine with metrics around the bot.
func (a *App) Handle(ctx context.Context, m *bot.Message) ([]bot.Reply, error) {
	return a.HandleThen(ctx, m, nil)
}

// HandleThen implements handlers.DurableEngine with metrics around the bot.
func (a *App) HandleThen(ctx context.Context, m *bot.Message, keep func(ctx context.Context, replies []bot.Reply) error) ([]bot.Reply, error) {
	start := time.Now()
	replies, err := a.Bot.HandleThen(ctx, m, keep)
	outcome := "ok"
	if err != nil {
		outcome = bot.ErrorCode(err)
	}
	a.messages.WithLabelValues(string(m.Platform), outcome).Inc()
	a.latency.WithLabelValues(string(m.Platform)).Observe(time.Since(start).Seconds())
	return replies, err
}

func (a *App) initHTTP() {
	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.messages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kakehashi_messages_total", Help: "Inbound messages by platform and outcome."}, []string{"platform", "outcome"})
	a.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kakehashi_message_seconds", Help: "Time to handle one inbound message.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"platform"})
	a.Metrics.MustRegister(a.messages, a.latency)
	a.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kakehashi_dead_jobs", Help: "Dead-lettered jobs."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := a.DB.Client.ZCard(ctx, store.QueuePrefix+"dead").Result()
		if err != nil {
			return -1
		}
		return float64(n)
	}))

	a.HTTP = http.NewServeMux()
	a.Web.Register(a.HTTP)
	a.HTTP.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	a.HTTP.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := a.DB.Ping(ctx); err != nil {
			http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	a.HTTP.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{}))
	for _, r := range a.routes {
		r(a.HTTP)
	}
}

// Start runs the background work: the job worker and feature starters.
func (a *App) Start(ctx context.Context) {
	ctx, a.cancel = context.WithCancel(ctx)
	if !a.cfg.NoWorker {
		a.bg.Add(1)
		go func() { defer a.bg.Done(); a.Worker.Run(ctx) }()
	}
	for _, s := range a.starters {
		a.bg.Add(1)
		go func() { defer a.bg.Done(); s(ctx) }()
	}
}

// Close stops background work, letting running jobs finish, and closes the store (final snapshot).
func (a *App) Close() error {
	if a.cancel != nil {
		a.cancel()
	}
	a.bg.Wait()
	for _, c := range a.closers {
		c()
	}
	return a.DB.Close()
}

func (a *App) applyFileConfig(ctx context.Context) error {
	for _, tc := range a.cfg.File.Tenants {
		t, err := a.Members.Tenant(ctx, tc.ID)
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			t = &bot.Tenant{ID: tc.ID}
		} else if err != nil {
			return err
		}
		t.Name = tc.Name
		if len(tc.Departments) > 0 {
			t.Departments = tc.Departments
		}
		if tc.DXChannel != "" {
			t.DXChannel = tc.DXChannel
		}
		if len(tc.PriorityWeights) > 0 {
			t.PriorityWeights = tc.PriorityWeights
		}
		if tc.DigestTime != "" {
			if _, ok := handlers.ParseClock(tc.DigestTime); !ok {
				return fmt.Errorf("KAKEHASHI_CONFIG: tenant %s: digest_time %q must look like 08:30", tc.ID, tc.DigestTime)
			}
			t.DigestTime = tc.DigestTime
		}
		if err := a.Members.CreateTenant(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// bindings returns platform workspace → tenant maps from the YAML file.
func (a *App) bindings() (slack, lineworks map[string]bot.TenantID) {
	slack, lineworks = map[string]bot.TenantID{}, map[string]bot.TenantID{}
	for _, t := range a.cfg.File.Tenants {
		if t.SlackTeam != "" {
			slack[t.SlackTeam] = t.ID
		}
		if t.LineWorksDomain != "" {
			lineworks[t.LineWorksDomain] = t.ID
		}
	}
	return slack, lineworks
}

func itoa(n int) string { return strconv.Itoa(n) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
