package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
)

const (
	// MaxBodyBytes is the largest request body accepted from Slack; larger ones get 413.
	MaxBodyBytes = 1 << 20
	// ackBudget bounds the work done before acknowledging Slack, which gives up after 3 s.
	ackBudget = 2500 * time.Millisecond
	// userBudget bounds a users.info call on the acknowledgement path.
	userBudget = time.Second
	// afterBudget bounds work done after the acknowledgement (App Home, form replies).
	afterBudget = 30 * time.Second
)

// Deps are the services the adapter calls.
type Deps struct {
	// Dispatcher takes every inbound message for durable asynchronous handling. Required.
	Dispatcher handlers.Dispatcher
	// Engine builds the App Home view (handlers.ActionHome). Optional: without it the Home tab is not published.
	Engine handlers.Engine
	// Forms backs native modals. Optional: without it form buttons go to the Dispatcher,
	// which starts the chat dialog.
	Forms handlers.Forms
	// Logger receives operational logs without personal data. Nil means slog.Default().
	Logger *slog.Logger
	// Clock stamps messages without a Slack time and expires caches. Nil means bot.SystemClock.
	Clock bot.Clock
	// HTTPClient is used for the Web API. Nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Adapter connects Kakehashi to Slack: it serves the HTTP endpoints or Socket Mode for
// inbound events and implements bot.Sender for replies and pushes.
type Adapter struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	clock bot.Clock
	hc    *http.Client
	api   *slack.Client

	users *userCache
	dms   stringCache
	limit *limiter
	done  doneSet

	bgMu     sync.Mutex
	closed   bool
	bg       context.Context
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
}

var _ bot.Sender = (*Adapter)(nil)

// New returns an adapter for cfg. It makes no network call.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if cfg.BotToken == "" {
		return nil, errors.New("slack: " + EnvBotToken + " is required")
	}
	if deps.Dispatcher == nil {
		return nil, errors.New("slack: a Dispatcher is required")
	}
	apiURL, err := normalizeAPIURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	cfg.APIURL = apiURL
	if cfg.PostInterval <= 0 {
		cfg.PostInterval = time.Second
	}
	if cfg.UserCacheTTL <= 0 {
		cfg.UserCacheTTL = 10 * time.Minute
	}
	a := &Adapter{cfg: cfg, deps: deps, log: deps.Logger, clock: deps.Clock, hc: deps.HTTPClient}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.clock == nil {
		a.clock = bot.SystemClock
	}
	if a.hc == nil {
		// Every call goes to one host: keep enough idle connections for the outbox workers
		// and the acknowledgement path, where the default of 2 re-dials under load.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		a.hc = &http.Client{Timeout: 30 * time.Second, Transport: t}
	}
	a.api = slack.New(cfg.BotToken, slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(a.hc))
	a.users = newUserCache(cfg.UserCacheTTL, a.clock)
	a.limit = &limiter{interval: cfg.PostInterval}
	a.done.ttl = time.Hour
	a.bg, a.bgCancel = context.WithCancel(context.Background())
	if len(cfg.Bindings) == 0 {
		a.log.Warn("slack: no workspace is bound to a tenant; every event will be ignored")
	}
	return a, nil
}

// Register mounts the HTTP endpoints POST /slack/events, /slack/interactions and
// /slack/commands on mux. Without a signing secret (Socket Mode only) it mounts nothing,
// since unsigned requests must never be accepted.
func (a *Adapter) Register(mux *http.ServeMux) {
	if !a.cfg.HTTPMode() {
		a.log.Info("slack: no signing secret, HTTP endpoints not mounted")
		return
	}
	mux.HandleFunc("POST /slack/events", a.serveEvents)
	mux.HandleFunc("POST /slack/interactions", a.serveInteractions)
	mux.HandleFunc("POST /slack/commands", a.serveCommands)
}

// Shutdown stops taking work after acknowledgements (App Home publishing, form replies) and
// waits for the work under way; when ctx ends first, that work is cancelled and ctx's error returned.
func (a *Adapter) Shutdown(ctx context.Context) error {
	a.bgMu.Lock()
	a.closed = true
	a.bgMu.Unlock()
	done := make(chan struct{})
	go func() { a.bgWG.Wait(); close(done) }()
	select {
	case <-done:
		a.bgCancel()
		return nil
	case <-ctx.Done():
		a.bgCancel()
		<-done
		return ctx.Err()
	}
}

// later runs f after the acknowledgement, bounded by afterBudget and Shutdown.
func (a *Adapter) later(f func(ctx context.Context)) {
	if f == nil {
		return
	}
	a.bgMu.Lock()
	defer a.bgMu.Unlock()
	if a.closed {
		return
	}
	a.bgWG.Add(1)
	go func() {
		defer a.bgWG.Done()
		ctx, cancel := context.WithTimeout(a.bg, afterBudget)
		defer cancel()
		f(ctx)
	}()
}

// result is the outcome of one inbound request, shared by HTTP and Socket Mode.
type result struct {
	// status is the HTTP status; in Socket Mode anything but 2xx leaves the envelope
	// unacknowledged so that Slack delivers it again.
	status int
	// body is the JSON response (url_verification, view_submission errors, ephemeral text).
	body any
	// after runs once the request is acknowledged.
	after func(ctx context.Context)
}

var ok200 = result{status: http.StatusOK}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readVerified(w, r)
	if !ok {
		return
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		a.log.Debug("slack: event redelivered", "retry_num", n, "retry_reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	ctx, cancel := context.WithTimeout(r.Context(), ackBudget)
	defer cancel()
	a.respond(w, a.onEvent(ctx, body))
}

func (a *Adapter) serveInteractions(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readVerified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	payload := form.Get("payload")
	if err != nil || payload == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &ic); err != nil {
		a.log.Info("slack: interaction ignored", "reason", "malformed payload")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ackBudget)
	defer cancel()
	a.respond(w, a.onInteraction(ctx, &ic))
}

func (a *Adapter) serveCommands(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readVerified(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ackBudget)
	defer cancel()
	a.respond(w, a.onCommand(ctx, sc))
}

// readVerified reads the body (at most MaxBodyBytes) and checks Slack's v0 signature and
// timestamp over the raw bytes before anything parses them.
func (a *Adapter) readVerified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > MaxBodyBytes {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad request", http.StatusBadRequest)
		}
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		reason := "bad signature"
		switch {
		case errors.Is(err, slack.ErrExpiredTimestamp):
			reason = "timestamp outside the 5-minute window"
		case errors.Is(err, slack.ErrMissingHeaders):
			reason = "missing signature headers"
		}
		a.log.Warn("slack: request rejected", "path", r.URL.Path, "reason", reason)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (a *Adapter) respond(w http.ResponseWriter, res result) {
	if res.body != nil && res.status/100 == 2 {
		b, err := json.Marshal(res.body)
		if err != nil {
			a.log.Error("slack: encoding response", "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(res.status)
		_, _ = w.Write(b)
	} else {
		w.WriteHeader(res.status)
	}
	if res.status/100 == 2 {
		a.later(res.after)
	}
}
