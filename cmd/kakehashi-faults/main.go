// Command kakehashi-faults is the fault-injection suite: it builds the real kakehashi
// binary, runs `kakehashi serve --demo` against a real redis-server (AOF,
// appendfsync always) and a fake LINE WORKS API, and lets simulated people file needs
// over the web API and LINE WORKS callbacks while it SIGKILLs and restarts the bot,
// SIGKILLs and restarts redis-server, replays every callback 2–4 times (at once and
// later), and makes the fake API answer 429 and 5xx. At the end it counts what the
// promise to a city is about, and exits 1 unless these are all 0:
//
//   - acknowledged needs lost: a 「受け付けました（#N）」 seen by a person whose need #N
//     is not in Redis;
//   - needs filed twice: one person's need stored under two numbers;
//   - duplicate sends: the fake LINE WORKS API or a web inbox got the same message twice;
//   - pushes missed: a need whose card never reached the DX team's LINE WORKS room;
//   - reminders missed and duplicate reminders: web pairs (a staff member and an adviser)
//     book meetings a few minutes ahead (the adviser proposes 「今日 HH:MM」, the requester
//     accepts) with short KAKEHASHI_REMINDER_OFFSETS, and each attendee's inbox must hold
//     exactly one reminder per offset still ahead at confirmation (meetings.go);
//   - key audit: a key outside store.AllowedPrefixes or with an unknown tenant tag;
//   - log audit: the bot's logs contain a sentinel name, e-mail, phone or typed text.
//
// Usage (from the repository root; needs go and redis-server on PATH):
//
//	go run ./cmd/kakehashi-faults                 # about 5 minutes
//	go run ./cmd/kakehashi-faults -short          # about 2 minutes, for CI
//	go run ./cmd/kakehashi-faults -seed 7 -keep   # reproducible, keep the work dir
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
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/store"
)

const (
	botID     = "2000001"
	botSecret = "faults-bot-secret"
	msgBusy   = "ただいま処理が混み合っています。少し後でもう一度お試しください。"
)

// tenants bound to LINE WORKS domains; each posts new needs to its own DX room. Two
// tenants, so the per-tenant rate limit (3 requests/s) is not the bottleneck.
var tenants = []struct{ id, domain string }{{"demo", "40029600"}, {"faults2", "40029601"}}

type options struct {
	duration  time.Duration
	settle    time.Duration
	lwPerTen  int
	webPeople int
	seed      uint64
	keep      bool
	bin       string
	out       string
	// meetings: web pairs that book through the propose-another-time path, the bot's
	// KAKEHASHI_REMINDER_OFFSETS, and how long the faults may run past duration so the
	// reminders fall inside them
	pairs   int
	pairGap time.Duration
	offsets string
	extend  time.Duration
}

func main() {
	var o options
	short := flag.Bool("short", false, "the CI version: shorter, fewer people")
	flag.DurationVar(&o.duration, "duration", 150*time.Second, "how long faults are injected")
	flag.DurationVar(&o.settle, "settle", 150*time.Second, "how long unfinished conversations may take after the faults stop")
	flag.IntVar(&o.lwPerTen, "lineworks", 12, "LINE WORKS people per tenant (2 tenants)")
	flag.IntVar(&o.webPeople, "web", 12, "web people")
	flag.Uint64Var(&o.seed, "seed", 0, "random seed (0: from the clock)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, AOF, spool)")
	flag.StringVar(&o.bin, "bin", "", "use this kakehashi binary instead of building ./cmd/kakehashi")
	flag.StringVar(&o.out, "out", "", "also write the counts as JSON to this file")
	flag.IntVar(&o.pairs, "pairs", 4, "web pairs (staff + adviser) who book a meeting a few minutes ahead")
	flag.StringVar(&o.offsets, "offsets", "90s,30s", "KAKEHASHI_REMINDER_OFFSETS for the bot (default 90s,30s; -short: 60s,20s)")
	flag.DurationVar(&o.extend, "extend", 90*time.Second, "how long the faults may run past -duration, until the last reminder is due")
	flag.DurationVar(&o.pairGap, "pair-gap", 20*time.Second, "time between the pairs' starts (the first starts after half of it)")
	flag.Parse()
	if *short {
		o.duration, o.lwPerTen, o.webPeople, o.pairs, o.extend, o.pairGap = 45*time.Second, 4, 6, 3, 60*time.Second, 4*time.Second
		if !flagSet("offsets") {
			o.offsets = "60s,20s"
		}
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	rep, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kakehashi-faults:", err)
		os.Exit(2)
	}
	rep.print(os.Stdout)
	if o.out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		os.WriteFile(o.out, b, 0o644)
	}
	if !rep.ok() {
		os.Exit(1)
	}
}

// report holds the counts.
type report struct {
	Seed            uint64  `json:"seed"`
	Seconds         float64 `json:"seconds"`
	People          int     `json:"people"`
	NeedsAcked      int     `json:"needs_acknowledged"`
	AckedLost       int     `json:"acknowledged_needs_lost"`
	NeedsDuplicated int     `json:"needs_filed_twice"`
	DuplicateSends  int     `json:"duplicate_sends"`
	// UncertainSends are duplicates whose first copy the platform accepted less than
	// uncertainWindow before a SIGKILL of the bot: without an idempotency key at the
	// platform (LINE WORKS) no sender can know whether it went out. Reported, not failed.
	UncertainSends int `json:"uncertain_sends"`
	PushesExpected int `json:"pushes_expected"`
	PushesMissed   int `json:"pushes_missed"`
	KeyAudit       int `json:"key_audit_failures"`
	// Meetings booked by the web pairs and their reminders, counted from the attendees' inboxes.
	ReminderOffsets     string `json:"reminder_offsets"`
	Meetings            int    `json:"meetings_booked"`
	MeetingsConfirmed   int    `json:"meetings_confirmed"`
	MeetingsSkipped     string `json:"meetings_skipped,omitempty"`
	RemindersExpected   int    `json:"reminders_expected"`
	RemindersMissed     int    `json:"reminders_missed"`
	DuplicateReminders  int    `json:"duplicate_reminders"`
	RemindersUnexpected int    `json:"reminders_unexpected"`
	RemindersInFaults   int    `json:"reminders_due_while_faults_ran"`
	// the meetings' other pushes: request ping, proposal, confirmation card (informational)
	MeetingPushes        int     `json:"meeting_pushes"`
	MeetingPushesMissing int     `json:"meeting_pushes_missing"`
	ReminderMaxDelay     float64 `json:"reminder_max_delay_seconds"`
	LogAudit             int     `json:"log_audit_failures"`
	// Informational: what the faults did and what people went through.
	BotKills          int            `json:"bot_sigkills"`
	BotKillsAtAnswers int            `json:"bot_sigkills_at_meeting_answers"`
	RedisKills        int            `json:"redis_sigkills"`
	APIFaultWindows   int            `json:"api_fault_windows"`
	APIRejected       map[string]int `json:"api_rejected"`
	Callbacks         int            `json:"callbacks"`
	Replays           int            `json:"callback_replays"`
	CallbackFailed    int            `json:"callbacks_not_acknowledged"`
	WebAccepted       int            `json:"web_messages_spooled"`
	WebRetries        int            `json:"web_retries"`
	BusyNotices       int            `json:"busy_notices"`
	Probes            int            `json:"help_probes"`
	Unfinished        int            `json:"conversations_unfinished"`
	DeadLetters       int            `json:"dead_letters"`
	DeadRetried       int            `json:"dead_letters_retried"`
	Keys              int            `json:"keys_audited"`
	Notes             []string       `json:"notes,omitempty"`
}

func (r *report) ok() bool {
	return r.AckedLost == 0 && r.NeedsDuplicated == 0 && r.DuplicateSends == 0 && r.PushesMissed == 0 &&
		r.KeyAudit == 0 && r.LogAudit == 0 && r.NeedsAcked > 0 &&
		r.RemindersMissed == 0 && r.DuplicateReminders == 0 && r.RemindersUnexpected == 0 &&
		(r.Meetings == 0 || r.MeetingsSkipped != "" || r.MeetingsConfirmed > 0)
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nkakehashi-faults: seed %d, %.0f s, %d people\n", r.Seed, r.Seconds, r.People)
	fmt.Fprintf(w, "faults: %d bot SIGKILLs (%d of them 0–20 ms after a meeting answer), %d redis-server SIGKILLs, %d fake-API fault windows (rejected: %v)\n",
		r.BotKills, r.BotKillsAtAnswers, r.RedisKills, r.APIFaultWindows, r.APIRejected)
	fmt.Fprintf(w, "traffic: %d LINE WORKS callbacks + %d replays (%d not acknowledged), %d web messages spooled, %d web retries, %d busy notices, %d help probes\n",
		r.Callbacks, r.Replays, r.CallbackFailed, r.WebAccepted, r.WebRetries, r.BusyNotices, r.Probes)
	fmt.Fprintf(w, "needs acknowledged:        %d\n", r.NeedsAcked)
	fmt.Fprintf(w, "acknowledged needs lost:   %d\n", r.AckedLost)
	fmt.Fprintf(w, "needs filed twice:         %d\n", r.NeedsDuplicated)
	fmt.Fprintf(w, "duplicate sends:           %d\n", r.DuplicateSends)
	fmt.Fprintf(w, "uncertain sends:           %d (accepted by the platform < %s before a SIGKILL; LINE WORKS has no idempotency key)\n", r.UncertainSends, uncertainWindow)
	fmt.Fprintf(w, "pushes missed:             %d of %d (DX room cards)\n", r.PushesMissed, r.PushesExpected)
	if r.MeetingsSkipped != "" {
		fmt.Fprintf(w, "meetings:                  not (all) booked: %s\n", r.MeetingsSkipped)
	}
	if r.Meetings > 0 && (r.MeetingsSkipped == "" || r.MeetingsConfirmed > 0) {
		fmt.Fprintf(w, "meetings confirmed:        %d of %d (web pairs, adviser proposes 「今日 HH:MM」; offsets %s)\n", r.MeetingsConfirmed, r.Meetings, r.ReminderOffsets)
		fmt.Fprintf(w, "reminders missed:          %d of %d (each attendee, each offset still ahead at confirmation)\n", r.RemindersMissed, r.RemindersExpected)
		fmt.Fprintf(w, "duplicate reminders:       %d (and %d for an offset already past at confirmation)\n", r.DuplicateReminders, r.RemindersUnexpected)
		fmt.Fprintf(w, "  (%d of the reminders were due while the faults ran; the latest came %.1f s after it was due;\n", r.RemindersInFaults, r.ReminderMaxDelay)
		fmt.Fprintf(w, "   the meetings' other pushes — request ping, proposal, confirmation card — missing: %d of %d)\n", r.MeetingPushesMissing, r.MeetingPushes)
	}
	fmt.Fprintf(w, "key audit failures:        %d (%d keys)\n", r.KeyAudit, r.Keys)
	fmt.Fprintf(w, "log audit failures:        %d\n", r.LogAudit)
	fmt.Fprintf(w, "unfinished conversations:  %d; dead letters: %d (retried with `kakehashi outbox retry`: %d)\n", r.Unfinished, r.DeadLetters, r.DeadRetried)
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if r.ok() {
		fmt.Fprintln(w, "RESULT: PASS (all counts 0)")
	} else {
		fmt.Fprintln(w, "RESULT: FAIL")
	}
}

// suite is one run.
type suite struct {
	o     options
	rng   *mrand.Rand
	rngMu sync.Mutex
	// killedAt lists the instants the bot was SIGKILLed.
	killMu   sync.Mutex
	killedAt []time.Time
	work     string
	bin      string
	redis    *redisProc
	bot      *botProc
	api      *fakeAPI
	addr     string
	rep      *report
	repMu    sync.Mutex
	acks     []ack
	people   []*person
	bg       sync.WaitGroup
	stopped  atomic.Bool
	// meetings (meetings.go)
	offsets   []time.Duration
	pairs     []*pair
	advisers  []*person
	proposals []proposal
	mtgMu     sync.Mutex
	// when the faults started and stopped
	began, faultsUntil time.Time
	faulting           atomic.Bool
}

// say prints a progress line with the seconds since the faults began.
func (s *suite) say(format string, args ...any) {
	fmt.Printf("%6.1fs  %s\n", time.Since(s.began).Seconds(), fmt.Sprintf(format, args...))
}

type ack struct {
	tenant, title string
	n             int
}

func (s *suite) rand(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
}

func (s *suite) count(f func(r *report)) {
	s.repMu.Lock()
	f(s.rep)
	s.repMu.Unlock()
}

func run(o options) (*report, error) {
	start := time.Now()
	s := &suite{o: o, rng: mrand.New(mrand.NewPCG(o.seed, 0x6b616b65)), rep: &report{Seed: o.seed, APIRejected: map[string]int{}}}
	work, err := os.MkdirTemp("", "kakehashi-faults-")
	if err != nil {
		return nil, err
	}
	s.work = work
	if o.keep {
		fmt.Println("work dir:", work)
	} else {
		defer os.RemoveAll(work)
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server is not on PATH (apt-get install redis-server)")
	}
	s.bin = o.bin
	if s.bin == "" {
		s.bin = filepath.Join(work, "kakehashi")
		fmt.Println("building ./cmd/kakehashi …")
		b := exec.Command("go", "build", "-o", s.bin, "./cmd/kakehashi")
		b.Stdout, b.Stderr = os.Stdout, os.Stderr
		if err := b.Run(); err != nil {
			return nil, fmt.Errorf("build (run from the repository root): %w", err)
		}
	}
	s.redis = &redisProc{port: freePort(), dir: filepath.Join(work, "redis")}
	os.MkdirAll(s.redis.dir, 0o700)
	if err := s.redis.start(); err != nil {
		return nil, err
	}
	defer s.redis.kill()
	s.api = newFakeAPI(s)
	defer s.api.srv.Close()
	if s.offsets, err = parseOffsets(o.offsets); err != nil {
		return nil, err
	}
	s.rep.ReminderOffsets = o.offsets
	if err := s.startBot(); err != nil {
		return nil, err
	}
	defer s.bot.stop()
	if err := s.setupMeetings(); err != nil {
		return nil, err
	}

	s.began = time.Now()
	s.say("seed %d: %d LINE WORKS people in %d tenants, %d web people, faults for %s\n", o.seed, o.lwPerTen*len(tenants), len(tenants), o.webPeople, o.duration)
	// People start spread over the first two thirds of the fault window.
	spread := o.duration * 2 / 3
	n := 0
	for ti, t := range tenants {
		for i := range o.lwPerTen {
			n++
			s.people = append(s.people, newPerson(s, n, "lineworks", t.id, t.domain, time.Duration(ti*o.lwPerTen+i)*spread/time.Duration(o.lwPerTen*len(tenants)+o.webPeople)))
		}
	}
	for i := range o.webPeople {
		n++
		s.people = append(s.people, newPerson(s, n, "web", "demo", "", time.Duration(o.lwPerTen*len(tenants)+i)*spread/time.Duration(o.lwPerTen*len(tenants)+o.webPeople)))
	}
	var done sync.WaitGroup
	deadline := time.Now().Add(o.duration + o.settle)
	for _, p := range s.people {
		done.Add(1)
		go func() { defer done.Done(); defer p.ended.Store(true); p.run(deadline) }()
	}
	faultsFrom := time.Now()
	s.startPairs(&done, deadline.Add(o.extend))
	s.rep.People = len(s.people) + len(s.advisers)
	s.faulting.Store(true)
	s.chaos(func() time.Time { return s.faultsEnd(faultsFrom) })
	s.faulting.Store(false)
	s.faultsUntil = time.Now()
	s.say("faults stopped; waiting for conversations to finish …")
	waited := make(chan struct{})
	go s.progress(waited)
	done.Wait()
	close(waited)
	s.stopped.Store(true)
	s.bg.Wait() // late replays
	s.awaitReminders()
	if err := s.settleAndCount(); err != nil {
		return nil, err
	}
	s.rep.Seconds = time.Since(start).Seconds()
	return s.rep, nil
}

// chaos injects faults until end() has passed, then leaves everything running.
func (s *suite) chaos(end func() time.Time) {
	for time.Now().Before(end()) {
		time.Sleep(time.Duration(1500+s.rand(2500)) * time.Millisecond)
		if time.Now().After(end()) {
			break
		}
		switch k := s.rand(10); {
		case k < 4:
			s.say("fault: SIGKILL the bot")
			s.count(func(r *report) { r.BotKills++ })
			s.bot.kill()
		case k < 7:
			down := time.Duration(500+s.rand(3500)) * time.Millisecond
			s.say("fault: SIGKILL redis-server for %s", down.Round(100*time.Millisecond))
			s.count(func(r *report) { r.RedisKills++ })
			s.redis.kill()
			time.Sleep(down)
			if err := s.redis.start(); err != nil {
				s.say("redis-server did not restart: %v", err)
			}
		default:
			mode := []int{429, 500, 503}[s.rand(3)]
			win := time.Duration(2000+s.rand(3000)) * time.Millisecond
			s.say("fault: fake LINE WORKS API answers %d for %s", mode, win.Round(100*time.Millisecond))
			s.count(func(r *report) { r.APIFaultWindows++ })
			s.api.setMode(mode)
			time.Sleep(win)
			s.api.setMode(0)
		}
	}
	s.api.setMode(0)
}

// progress names, every 30 s, the people still in a conversation.
func (s *suite) progress(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-time.After(30 * time.Second):
		}
		var names []string
		for _, p := range append(slices.Clone(s.people), s.advisers...) {
			if !p.ended.Load() {
				names = append(names, p.name+" ("+p.platform+")")
			}
		}
		s.say("still in a conversation: %s", strings.Join(names, ", "))
	}
}

// ---- processes -------------------------------------------------------------------

type redisProc struct {
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func (r *redisProc) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisProc) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--loglevel", "warning")
	log, _ := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port), MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("redis-server did not answer within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisProc) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
		r.cmd.Wait()
		r.cmd = nil
	}
}

// botProc supervises `kakehashi serve`: restarted whenever it exits, like a container.
type botProc struct {
	s    *suite
	mu   sync.Mutex
	cmd  *exec.Cmd
	quit bool
	done chan struct{}
	env  []string
	log  *os.File
}

func (s *suite) startBot() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(s.work, "lineworks.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	var cfg strings.Builder
	cfg.WriteString("tenants:\n")
	for _, t := range tenants {
		fmt.Fprintf(&cfg, "  - id: %s\n    name: 試験市%s\n    departments: [総務課, 市民課, 情報政策課]\n    dx_channel: lineworks:dx-%s\n    lineworks_domain: %q\n", t.id, t.id, t.id, t.domain)
	}
	cfgFile := filepath.Join(s.work, "config.yaml")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o600)
	s.addr = "127.0.0.1:" + strconv.Itoa(freePort())
	log, err := os.OpenFile(filepath.Join(s.work, "bot.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	b := &botProc{s: s, done: make(chan struct{}), log: log, env: append(os.Environ(),
		"KAKEHASHI_ADDR="+s.addr, "KAKEHASHI_REDIS_URL="+s.redis.url(), "KAKEHASHI_DATA_DIR="+filepath.Join(s.work, "data"),
		"KAKEHASHI_CONFIG="+cfgFile, "KAKEHASHI_WORKERS=4", "KAKEHASHI_LOG_LEVEL=debug", "KAKEHASHI_REMINDER_OFFSETS="+s.o.offsets,
		"KAKEHASHI_LINEWORKS_BOT_ID="+botID, "KAKEHASHI_LINEWORKS_BOT_SECRET="+botSecret,
		"KAKEHASHI_LINEWORKS_CLIENT_ID=faults-client", "KAKEHASHI_LINEWORKS_CLIENT_SECRET=faults-client-secret",
		"KAKEHASHI_LINEWORKS_SERVICE_ACCOUNT=svc@faults.example", "KAKEHASHI_LINEWORKS_PRIVATE_KEY_FILE="+keyFile,
		"KAKEHASHI_LINEWORKS_API_URL="+s.api.srv.URL+"/v1.0", "KAKEHASHI_LINEWORKS_AUTH_URL="+s.api.srv.URL+"/oauth2/v2.0/token",
	)}
	s.bot = b
	go b.supervise()
	// Wait for the first start.
	for deadline := time.Now().Add(60 * time.Second); ; {
		if res, err := http.Get("http://" + s.addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kakehashi serve did not become ready (see %s/bot.log)", s.work)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *botProc) supervise() {
	defer close(b.done)
	for {
		b.mu.Lock()
		if b.quit {
			b.mu.Unlock()
			return
		}
		cmd := exec.Command(b.s.bin, "serve", "--demo")
		cmd.Env, cmd.Stdout, cmd.Stderr = b.env, b.log, b.log
		if err := cmd.Start(); err != nil {
			b.mu.Unlock()
			time.Sleep(time.Second)
			continue
		}
		b.cmd = cmd
		b.mu.Unlock()
		cmd.Wait()
		time.Sleep(time.Duration(200+b.s.rand(800)) * time.Millisecond)
	}
}

func (b *botProc) kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(syscall.SIGKILL)
		b.s.killMu.Lock()
		b.s.killedAt = append(b.s.killedAt, time.Now())
		b.s.killMu.Unlock()
	}
}

// uncertainWindow bounds "killed right after the platform accepted the send": the bot
// records a send within milliseconds of the answer; a kill in between loses the record.
const uncertainWindow = 250 * time.Millisecond

// killedRightAfter reports whether the bot was SIGKILLed within uncertainWindow after t.
func (s *suite) killedRightAfter(t time.Time) (time.Duration, bool) {
	s.killMu.Lock()
	defer s.killMu.Unlock()
	for _, k := range s.killedAt {
		if d := k.Sub(t); d >= 0 && d <= uncertainWindow {
			return d, true
		}
	}
	return 0, false
}

// stop ends the bot gracefully (SIGTERM: running jobs finish).
func (b *botProc) stop() {
	b.mu.Lock()
	b.quit = true
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(syscall.SIGTERM)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		b.kill()
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ---- the fake LINE WORKS API --------------------------------------------------------

// fakeAPI is the LINE WORKS auth server and Bot API. In a fault window it rejects half
// of the message posts with the window's status before recording anything (a 429
// carries Retry-After: 1); what it accepts it records per user and per room.
type fakeAPI struct {
	s     *suite
	srv   *httptest.Server
	mu    sync.Mutex
	mode  int
	users map[string][]string
	rooms map[string][]string
	times map[string][]string
	// accepted holds the instant each message was accepted ("user:ID" / "room:ID"), to tell a
	// duplicate caused by a bot killed right after the platform accepted a send (LINE WORKS has
	// no idempotency key, so no client can avoid it) from a real double send.
	accepted map[string][]time.Time
	cond     *sync.Cond
}

func newFakeAPI(s *suite) *fakeAPI {
	f := &fakeAPI{s: s, users: map[string][]string{}, rooms: map[string][]string{}, times: map[string][]string{}, accepted: map[string][]time.Time{}}
	f.cond = sync.NewCond(&f.mu)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"faults-token","refresh_token":"r","token_type":"Bearer","expires_in":"86400","scope":"bot"}`)
	})
	post := func(target map[string][]string, name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer faults-token" || r.PathValue("bot") != botID {
				http.Error(w, `{"code":"UNAUTHORIZED"}`, http.StatusUnauthorized)
				return
			}
			var body struct {
				Content json.RawMessage `json:"content"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, `{"code":"INVALID_PARAMETER"}`, http.StatusBadRequest)
				return
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.mode != 0 && f.s.rand(2) == 0 {
				f.s.count(func(rep *report) { rep.APIRejected[strconv.Itoa(f.mode)]++ })
				if f.mode == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "1")
				}
				http.Error(w, `{"code":"FAULT"}`, f.mode)
				return
			}
			key := r.PathValue(name)
			target[key] = append(target[key], string(body.Content))
			f.accepted[name+":"+key] = append(f.accepted[name+":"+key], time.Now())
			if name == "user" {
				f.times[key] = append(f.times[key], time.Now().Format("15:04:05.000"))
			}
			f.cond.Broadcast()
			w.WriteHeader(http.StatusCreated)
		}
	}
	mux.HandleFunc("POST /v1.0/bots/{bot}/users/{user}/messages", post(f.users, "user"))
	mux.HandleFunc("POST /v1.0/bots/{bot}/channels/{room}/messages", post(f.rooms, "room"))
	f.srv = httptest.NewServer(mux)
	return f
}

func (f *fakeAPI) setMode(m int) {
	f.mu.Lock()
	f.mode = m
	f.mu.Unlock()
}

// since returns the contents a user got from index i on, waiting up to d for some.
func (f *fakeAPI) since(user string, i int, d time.Duration) []string {
	deadline := time.Now().Add(d)
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.users[user]) <= i && time.Now().Before(deadline) {
		f.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		f.mu.Lock()
	}
	if len(f.users[user]) <= i {
		return nil
	}
	return append([]string(nil), f.users[user][i:]...)
}

// ---- people --------------------------------------------------------------------------

// reply is what a person sees of one bot message: its text and its buttons.
type reply struct {
	text    string
	buttons []button
}

type button struct {
	label, action, value string // web
	postback, data       string // LINE WORKS (message action postback, or postback action data)
}

// person files one need, answering whatever the bot asks.
type person struct {
	s        *suite
	n        int
	platform string
	invite   string // web invite code (DEMO-STAFF unless set)
	need     int    // the acknowledged need's number
	tenant   string
	domain   string
	delay    time.Duration
	// sentinel personal data, audited in the logs
	name, email, phone, title, desc string
	// LINE WORKS
	user string
	seen int
	// web
	http   *http.Client
	inbox  int64
	msgSeq int

	ended    atomic.Bool // its conversation is over (finished or given up)
	answered map[string]int
	probed   bool
	timeline []string
	last     []reply
	done     bool
}

func newPerson(s *suite, n int, platform, tenant, domain string, delay time.Duration) *person {
	p := &person{s: s, n: n, platform: platform, tenant: tenant, domain: domain, delay: delay, answered: map[string]int{},
		name:  fmt.Sprintf("試験太郎%03d", n),
		email: fmt.Sprintf("taro%03d.faults@example.lg.jp", n),
		phone: fmt.Sprintf("090-5555-%04d", n),
		title: fmt.Sprintf("障害試験%03d 窓口予約をオンライン化したい", n),
	}
	p.desc = fmt.Sprintf("障害試験の相談本文%03d。担当 %s、連絡先 %s / %s。紙の予約台帳で二重予約が起きています。", n, p.name, p.email, p.phone)
	p.user = fmt.Sprintf("faults-user-%03d-%08x", n, s.rand(1<<30))
	jar, _ := cookiejar.New(nil)
	p.http = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	return p
}

var (
	ackRe  = regexp.MustCompile(`受け付けました（#(\d+)）`)
	prompt = []struct{ kind, marker string }{
		{"title", "相談したいことを一言で"}, {"desc", "詳しい内容を教えてください"}, {"dept", "所属部署を選ぶか"},
		{"cat", "近いカテゴリを選んでください"}, {"mic", "求める人材のタイプ"}, {"urgency", "緊急度を選んでください"},
		{"deadline", "期限があれば"}, {"impact", "影響の大きさを1〜5"}, {"form", "希望する支援の形"},
		{"skills", "求めるスキルや経験"}, {"similar", "似ているニーズが既にあります"}, {"summary", "よろしいですか"},
	}
)

func classify(text string) string {
	if ackRe.MatchString(text) {
		return "ack"
	}
	if strings.Contains(text, "ニーズを登録") && !strings.Contains(text, "「ニーズ登録」を始めます") {
		return "menu"
	}
	kind := ""
	at := -1
	for _, pr := range prompt { // the question asked last in the text wins (help texts repeat the prompt)
		if i := strings.LastIndex(text, pr.marker); i > at {
			kind, at = pr.kind, i
		}
	}
	return kind
}

func (p *person) run(deadline time.Time) {
	time.Sleep(p.delay)
	if p.platform == "web" && !p.join(deadline) {
		p.s.count(func(r *report) { r.Unfinished++ })
		return
	}
	replies := p.say("ニーズ登録", button{})
	for !p.done && time.Now().Before(deadline) {
		kind, r := "", reply{}
		for _, rp := range replies {
			if k := classify(rp.text); k != "" {
				kind, r = k, rp
			}
		}
		if kind == "ack" {
			m := ackRe.FindStringSubmatch(r.text)
			id, _ := strconv.Atoi(m[1])
			p.s.repMu.Lock()
			p.s.acks = append(p.s.acks, ack{tenant: p.tenant, title: p.title, n: id})
			p.s.repMu.Unlock()
			p.need = id
			p.done = true
			break
		}
		if kind == "" || (p.answered[kind] > 0 && !p.probed) {
			// Nothing new to answer: wait for the answer to arrive (LINE WORKS, web inbox).
			more := p.wait(45 * time.Second)
			if len(more) == 0 {
				// Nothing came: the message or its answer was lost on the way, as a person
				// would see it. Ask what the bot is waiting for.
				p.s.count(func(r *report) { r.Probes++ })
				p.probed = true
				replies = p.say("ヘルプ", button{})
				continue
			}
			replies = more
			continue
		}
		p.probed = false
		p.answered[kind]++
		replies = p.answer(kind, r)
	}
	if !p.done {
		p.s.count(func(r *report) { r.Unfinished++ })
	}
}

func (p *person) logf(format string, args ...any) {
	p.timeline = append(p.timeline, time.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
}

func (p *person) answeredAny() bool { return len(p.answered) > 0 }

func (p *person) answer(kind string, r reply) []reply {
	text := map[string]string{"menu": "ニーズ登録", "title": p.title, "desc": p.desc, "dept": "総務課", "mic": "スキップ", "urgency": "中",
		"deadline": "スキップ", "impact": "3", "form": "どちらでも", "skills": "スキップ"}[kind]
	label := map[string]string{"cat": "Web・UI/UX", "summary": "登録", "similar": "別件として登録"}[kind]
	if label == "" {
		return p.say(text, button{})
	}
	for _, b := range r.buttons {
		if b.label == label {
			return p.say(label, b)
		}
	}
	return p.say(label, button{})
}

// say sends one message (or button press) and returns the replies seen so far.
func (p *person) say(text string, b button) []reply {
	if p.platform == "web" {
		return p.webSay(text, b)
	}
	return p.lwSay(text, b)
}

// wait returns replies that arrive later (LINE WORKS messages, web inbox).
func (p *person) wait(d time.Duration) []reply {
	if p.platform == "web" {
		return p.webInbox(d)
	}
	return p.lwReplies(d)
}

// ---- LINE WORKS person ----------------------------------------------------------------

func (p *person) lwSay(text string, b button) []reply {
	content := map[string]any{"type": "text", "text": text}
	ev := map[string]any{"type": "message", "source": map[string]any{"userId": p.user, "domainId": json.Number(p.domain)}}
	switch {
	case b.data != "":
		ev = map[string]any{"type": "postback", "source": ev["source"], "data": b.data}
	case b.postback != "":
		content["postback"] = b.postback
	}
	if ev["type"] == "message" {
		ev["content"] = content
	}
	for attempt := 0; attempt < 20; attempt++ {
		ev["issuedTime"] = time.Now().UTC().Format(time.RFC3339Nano)
		body, _ := json.Marshal(ev)
		p.s.count(func(r *report) { r.Callbacks++ })
		st := p.s.callback(body)
		p.logf("sent %q: %d", short(text), st)
		if st == http.StatusOK {
			p.s.replays(body)
			return p.lwReplies(45 * time.Second)
		}
		// LINE WORKS would not resend. The bot may still have stored it (killed after
		// storing, before answering): wait for an answer before typing again, and then
		// ask what the bot waits for rather than repeat the message.
		p.s.count(func(r *report) { r.CallbackFailed++ })
		if rs := p.lwReplies(10 * time.Second); len(rs) > 0 {
			return rs
		}
		if text != "ヘルプ" && attempt == 0 && p.answeredAny() {
			text = "ヘルプ"
			ev["content"] = map[string]any{"type": "text", "text": text}
			if ev["type"] == "postback" {
				ev = map[string]any{"type": "message", "source": ev["source"], "content": ev["content"]}
			}
			p.s.count(func(r *report) { r.Probes++ })
		}
	}
	return nil
}

func (s *suite) callback(body []byte) int {
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/lineworks/callback", bytes.NewReader(body))
	mac := hmac.New(sha256.New, []byte(botSecret))
	mac.Write(body)
	req.Header.Set("X-WORKS-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-WORKS-BotId", botID)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 15 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// replays delivers an acknowledged callback 1–3 more times: one at once (concurrently)
// and the others later, as a proxy or a platform hiccup would.
func (s *suite) replays(body []byte) {
	extra := 1 + s.rand(3)
	for i := range extra {
		delay := time.Duration(0)
		if i > 0 {
			delay = time.Duration(1000+s.rand(20000)) * time.Millisecond
		}
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			time.Sleep(delay)
			s.count(func(r *report) { r.Replays++ })
			s.callback(body)
		}()
	}
}

func (p *person) lwReplies(d time.Duration) []reply {
	var out []reply
	for _, c := range p.s.api.since(p.user, p.seen, d) {
		p.seen++
		r := parseContent(c)
		if strings.Contains(r.text, msgBusy) {
			p.s.count(func(rep *report) { rep.BusyNotices++ })
			continue
		}
		out = append(out, r)
	}
	if len(out) == 0 && d > 0 && p.seen > 0 {
		// Only busy notices so far: the answer comes after the replay.
		return p.lwReplies(d / 2)
	}
	return out
}

// parseContent reads the text and buttons of a LINE WORKS message content.
func parseContent(raw string) reply {
	var v any
	json.Unmarshal([]byte(raw), &v)
	var r reply
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if l, ok := x["label"].(string); ok {
				b := button{label: l}
				b.postback, _ = x["postback"].(string)
				b.data, _ = x["data"].(string)
				r.buttons = append(r.buttons, b)
			}
			for _, k := range []string{"text", "contentText", "title", "altText"} {
				if s, ok := x[k].(string); ok {
					r.text += s + "\n"
				}
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return r
}

// ---- web person ---------------------------------------------------------------------------

func (p *person) url(path string) string { return "http://" + p.s.addr + path }

func (p *person) join(deadline time.Time) bool {
	invite := p.invite
	if invite == "" {
		invite = "DEMO-STAFF"
	}
	body, _ := json.Marshal(map[string]string{"invite_code": invite, "display_name": p.name})
	for time.Now().Before(deadline) {
		res, err := p.http.Post(p.url("/web/api/session"), "application/json", bytes.NewReader(body))
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return false
}

type webReply struct {
	Text    string `json:"text"`
	Choices []struct {
		Label  string `json:"label"`
		Action string `json:"action"`
		Value  string `json:"value"`
	} `json:"choices"`
	Fields []struct {
		Label string `json:"label"`
		Value string `json:"value"`
	} `json:"fields"`
}

func fromWeb(w webReply) reply {
	r := reply{text: w.Text}
	for _, f := range w.Fields {
		r.text += "\n" + f.Label + ": " + f.Value
	}
	for _, c := range w.Choices {
		r.buttons = append(r.buttons, button{label: c.Label, action: c.Action, value: c.Value})
	}
	return r
}

// webSay posts a message with an id; it is resent with the same id until the bot
// answers (200, or 202 when it was spooled: the answer comes to the inbox).
func (p *person) webSay(text string, b button) []reply {
	p.msgSeq++
	msg := map[string]string{"id": fmt.Sprintf("m%d", p.msgSeq)}
	if b.action != "" {
		msg["action"], msg["value"] = b.action, b.value
	} else {
		msg["text"] = text
	}
	body, _ := json.Marshal(msg)
	p.logf("web %q", short(text))
	for attempt := 0; attempt < 240; attempt++ {
		if attempt > 0 {
			p.s.count(func(r *report) { r.WebRetries++ })
			time.Sleep(500 * time.Millisecond)
		}
		res, err := p.http.Post(p.url("/web/api/messages"), "application/json", bytes.NewReader(body))
		if err != nil {
			continue
		}
		var out struct {
			Replies []webReply `json:"replies"`
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		json.Unmarshal(raw, &out)
		switch res.StatusCode {
		case http.StatusOK:
			var rs []reply
			for _, w := range out.Replies {
				rs = append(rs, fromWeb(w))
			}
			return rs
		case http.StatusAccepted:
			p.s.count(func(r *report) { r.WebAccepted++; r.BusyNotices++ })
			return p.webInbox(45 * time.Second)
		}
	}
	return nil
}

func (p *person) webInbox(d time.Duration) []reply {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		items, err := p.inboxSince(p.inbox)
		if err != nil || len(items) == 0 {
			continue
		}
		var rs []reply
		for _, it := range items {
			p.inbox = max(p.inbox, it.ID)
			rs = append(rs, fromWeb(it.Reply))
		}
		return rs
	}
	return nil
}

type inboxItem struct {
	ID    int64    `json:"id"`
	Reply webReply `json:"reply"`
}

func (p *person) inboxSince(after int64) ([]inboxItem, error) {
	res, err := p.http.Get(p.url("/web/api/inbox?after=" + strconv.FormatInt(after, 10)))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("inbox: %d", res.StatusCode)
	}
	var body struct {
		Messages []inboxItem `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Messages, nil
}

// ---- the counts ----------------------------------------------------------------------------

var cardRe = regexp.MustCompile(`新しいニーズが届きました[^#]*#(\d+)`)

func (s *suite) settleAndCount() error {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(s.redis.port)})
	defer rdb.Close()
	// Let the queue and the spool drain: nothing due, nothing leased, nothing spooled.
	s.say("waiting for the queue to drain …")
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		due := pendingJobs(ctx, rdb)
		lease, _ := rdb.ZCard(ctx, store.QueuePrefix+"lease").Result()
		if due == 0 && lease == 0 && s.spoolEmpty() {
			s.say("queue drained")
			break
		}
	}
	// Dead letters: list them with the real admin CLI and retry them once.
	dead := s.outboxCLI("outbox")
	for _, line := range strings.Split(strings.TrimSpace(dead), "\n") {
		id, _, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		s.rep.DeadLetters++
		s.rep.Notes = append(s.rep.Notes, "dead letter: "+line)
		if strings.Contains(s.outboxCLI("outbox", "retry", id), "queued again") {
			s.rep.DeadRetried++
		}
	}
	if s.rep.DeadRetried > 0 {
		time.Sleep(5 * time.Second)
	}
	// Reminders: read the attendees' inboxes through the web API while the bot runs.
	if err := s.countReminders(ctx, rdb); err != nil {
		return err
	}
	s.bot.stop() // graceful: running jobs finish

	// Acknowledged needs must be in Redis, once per person.
	s.rep.NeedsAcked = len(s.acks)
	for _, a := range s.acks {
		raw, err := rdb.Get(ctx, fmt.Sprintf("t:{%s}:need:%d", a.tenant, a.n)).Result()
		var n struct {
			Title string `json:"title"`
		}
		if err != nil || json.Unmarshal([]byte(raw), &n) != nil || n.Title != a.title {
			s.rep.AckedLost++
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("acknowledged need %s #%d not stored (%v)", a.tenant, a.n, err))
		}
	}
	titles := map[string]int{}
	for _, t := range tenants {
		iter := rdb.Scan(ctx, 0, "t:{"+t.id+"}:need:*", 500).Iterator()
		for iter.Next(ctx) {
			raw, _ := rdb.Get(ctx, iter.Val()).Result()
			var n struct {
				Title string `json:"title"`
			}
			if json.Unmarshal([]byte(raw), &n) == nil && strings.HasPrefix(n.Title, "障害試験") {
				titles[t.id+"/"+n.Title]++
			}
		}
	}
	for k, c := range titles {
		if c > 1 {
			s.rep.NeedsDuplicated += c - 1
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("need filed %d times: %s", c, k))
		}
	}

	// Duplicate sends: the same content twice to one LINE WORKS user or room, or the same
	// message twice in a web inbox. Busy notices are per message and not counted.
	// Answers to the people's own repeated questions (help texts, the menu) repeat by design.
	byUser := map[string]*person{}
	for _, p := range s.people {
		byUser[p.user] = p
	}
	var dupLog strings.Builder
	s.api.mu.Lock()
	for who, contents := range s.api.users {
		seen := map[string]int{}
		for i, c := range contents {
			if strings.Contains(c, msgBusy) || strings.Contains(c, "「戻る」で前の質問へ") || classify(parseContent(c).text) == "menu" {
				continue
			}
			if first, ok := seen[c]; ok {
				if acc := s.api.accepted["user:"+who]; first < len(acc) {
					if d, killed := s.killedRightAfter(acc[first]); killed {
						s.rep.UncertainSends++
						s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("uncertain send to %s (bot killed %s after the first copy was accepted): %s", who, d.Round(time.Millisecond), short(c)))
						continue
					}
				}
				s.rep.DuplicateSends++
				s.rep.Notes = append(s.rep.Notes, "duplicate send to "+who+": "+short(c))
				fmt.Fprintf(&dupLog, "== %s: %s\n", who, short(c))
				if p := byUser[who]; p != nil {
					fmt.Fprintf(&dupLog, "person:\n  %s\n", strings.Join(p.timeline, "\n  "))
				}
				for i, c2 := range contents {
					fmt.Fprintf(&dupLog, "  got %s %s\n", s.api.times[who][i], short(parseContent(c2).text))
				}
			}
			seen[c] = i
		}
	}
	os.WriteFile(filepath.Join(s.work, "duplicates.txt"), []byte(dupLog.String()), 0o600)
	cards := map[string]int{}
	cardFirst := map[string]time.Time{}
	for room, contents := range s.api.rooms {
		acc := s.api.accepted["room:"+room]
		for i, c := range contents {
			if m := cardRe.FindStringSubmatch(parseContent(c).text); m != nil {
				k := room + "#" + m[1]
				if cards[k] == 0 && i < len(acc) {
					cardFirst[k] = acc[i]
				}
				cards[k]++
			}
		}
	}
	s.api.mu.Unlock()
	for k, c := range cards {
		if c > 1 {
			if d, killed := s.killedRightAfter(cardFirst[k]); killed && c == 2 {
				s.rep.UncertainSends++
				s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("uncertain DX room card %s (bot killed %s after the first copy was accepted)", k, d.Round(time.Millisecond)))
				continue
			}
			s.rep.DuplicateSends += c - 1
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("DX room card %s posted %d times", k, c))
		}
	}
	s.rep.PushesExpected = len(s.acks)
	for _, a := range s.acks {
		if cards[fmt.Sprintf("dx-%s#%d", a.tenant, a.n)] == 0 {
			s.rep.PushesMissed++
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("no DX room card for %s #%d", a.tenant, a.n))
		}
	}
	dups, err := inboxDuplicates(ctx, rdb)
	if err != nil {
		return err
	}
	for _, d := range dups {
		s.rep.DuplicateSends++
		s.rep.Notes = append(s.rep.Notes, "duplicate in a web inbox: "+short(d))
	}

	// Isolation audit: every key has an allowed prefix; tenant keys name a known tenant.
	known := map[string]bool{"_": true}
	for _, t := range tenants {
		known[t.id] = true
	}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		s.rep.Keys++
		ok := false
		for _, p := range store.AllowedPrefixes {
			ok = ok || strings.HasPrefix(k, p)
		}
		if ok && strings.HasPrefix(k, "t:{") {
			tag, _, cut := strings.Cut(k[3:], "}:")
			ok = cut && known[tag]
		}
		if !ok {
			s.rep.KeyAudit++
			s.rep.Notes = append(s.rep.Notes, "key outside the allowed prefixes or tenants: "+k)
		}
	}
	// Privacy audit: no sentinel personal data in the bot's logs.
	logs, err := os.ReadFile(filepath.Join(s.work, "bot.log"))
	if err != nil {
		return err
	}
	for _, p := range append(slices.Clone(s.people), s.advisers...) {
		for _, pd := range []string{p.name, p.email, p.phone, p.title, "障害試験の相談本文"} {
			if bytes.Contains(logs, []byte(pd)) {
				s.rep.LogAudit++
				s.rep.Notes = append(s.rep.Notes, "personal data in the logs: "+pd)
			}
		}
	}
	return nil
}

// inboxDuplicates returns the messages that appear twice in one web inbox. Each web
// person files one need, so every question and answer it gets is different.
func inboxDuplicates(ctx context.Context, rdb *redis.Client) ([]string, error) {
	var dups []string
	iter := rdb.Scan(ctx, 0, "t:{*}:inbox:*", 500).Iterator()
	for iter.Next(ctx) {
		items, err := rdb.LRange(ctx, iter.Val(), 0, -1).Result()
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, raw := range items {
			var it struct {
				Reply json.RawMessage `json:"reply"`
			}
			json.Unmarshal([]byte(raw), &it)
			if seen[string(it.Reply)] {
				dups = append(dups, string(it.Reply))
			}
			seen[string(it.Reply)] = true
		}
	}
	return dups, iter.Err()
}

// pendingJobs counts the queued jobs the drain waits for: those due now and those waiting
// to be retried after a failure (backoff). Jobs first scheduled for later (a meeting's
// follow-up at its end, the advisers' 9:00 health check) do not count.
func pendingJobs(ctx context.Context, rdb *redis.Client) int {
	jobs, err := rdb.ZRangeWithScores(ctx, store.QueuePrefix+"due", 0, -1).Result()
	if err != nil {
		return -1
	}
	now := float64(time.Now().UnixMilli())
	n := 0
	for _, z := range jobs {
		id, _ := z.Member.(string)
		if z.Score <= now {
			n++
		} else if att, _ := rdb.HGet(ctx, store.QueuePrefix+"job:"+id, "attempts").Int(); att > 0 {
			n++
		}
	}
	return n
}

func (s *suite) spoolEmpty() bool {
	fi, err := os.Stat(filepath.Join(s.work, "data", store.SpoolFile))
	return err != nil || fi.Size() == 0
}

func (s *suite) outboxCLI(args ...string) string {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.bot.env
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func short(s string) string {
	if r := []rune(s); len(r) > 120 {
		return string(r[:120]) + "…"
	}
	return s
}
