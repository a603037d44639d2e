// Command kakehashi-load measures Kakehashi's webhook path the way a platform drives it:
// correctly signed Slack Events API requests (message.im and app_mention, each with a
// unique event_id, some redelivered with the same event_id and X-Slack-Retry-Num) and LINE
// webhooks (X-Line-Signature, unique webhookEventId, some redeliveries), a mix of new
// conversations, multi-step dialog flows (メニュー, ニーズ登録 then answers, やめる) and
// duplicates, closed loop for the highest throughput and open loop at fixed rates for the
// acknowledgement latency.
//
// By default it runs the whole side-by-side comparison in one go: it serves a fake Slack Web
// API and LINE Messaging API (bench/fakeapi) in-process, starts a private redis-server, and
// for each platform starts the bare SDK baseline (bench/slackbase, bench/linebase) and
// `kakehashi serve --demo` with the embedded store and with Redis, all pointed at the fake;
// it reports throughput, ack latency p50/p99/max, replies the fake received, Redis commands
// per event (INFO commandstats before and after) and the ratio ours/baseline.
//
//	kakehashi-load -bin ./bin -duration 10s -rates 1000 -json load.json
//
// With -attach URL it measures one bot that is already running (its platform API must
// point at a fake started with `kakehashi-load fakeapi -addr …`, named by -fake).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kakehashi/kakehashi/bench/fakeapi"
)

// Secrets of the load run; they sign only requests to local processes.
const (
	slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	lineSecret  = "load-channel-secret-0123456789ab"
	slackToken  = "xoxb-load-0000"
	lineToken   = "load-channel-token"
)

type options struct {
	bin, redisServer, work, jsonOut   string
	stores, platforms, targets, rates string
	duration, warmup, apiLatency      time.Duration
	conc, slots, people, dupPct       int
	newPct                            int
	maxInFlight                       int
	attach, fakeURL, redisAddr        string
	platform                          string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "fakeapi" {
		fs := flag.NewFlagSet("fakeapi", flag.ExitOnError)
		addr := fs.String("addr", "127.0.0.1:9900", "listen address")
		_ = fs.Parse(os.Args[2:])
		log.Printf("fake Slack/LINE API on http://%s (counters at /stats)", *addr)
		log.Fatal(http.ListenAndServe(*addr, &fakeapi.Server{}))
	}
	var o options
	flag.StringVar(&o.bin, "bin", "./bin", "directory with the kakehashi, slackbase and linebase binaries")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary for the Redis runs")
	flag.StringVar(&o.work, "work", "", "directory for data and logs (default: a new temporary one)")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.stores, "stores", "embedded,redis", "Kakehashi stores to measure")
	flag.StringVar(&o.platforms, "platforms", "slack,line", "webhooks to drive")
	flag.StringVar(&o.targets, "targets", "baseline,kakehashi", "bots to measure")
	flag.StringVar(&o.rates, "rates", "1000", "open-loop rates (events/s) for the latency runs, comma separated")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "closed-loop warm-up before each bot's runs (not reported)")
	flag.DurationVar(&o.apiLatency, "api-latency", 0, "delay of every fake API answer, as a real platform API has (0: none)")
	flag.IntVar(&o.conc, "conc", 64, "concurrent senders of the closed-loop (highest throughput) run")
	flag.IntVar(&o.slots, "slots", 4000, "conversations played side by side")
	flag.IntVar(&o.people, "people", 8000, "people the conversations are drawn from (0: a new person for every conversation)")
	flag.IntVar(&o.dupPct, "dup", 10, "percent of requests that are redeliveries of an earlier event")
	flag.IntVar(&o.newPct, "new", 40, "percent of conversations that are a single message from a new person")
	flag.IntVar(&o.maxInFlight, "max-in-flight", 2000, "open loop: requests outstanding at most (more count as missed)")
	flag.StringVar(&o.attach, "attach", "", "measure the bot running at this base URL instead of starting bots")
	flag.StringVar(&o.fakeURL, "fake", "", "with -attach: base URL of the fake API (kakehashi-load fakeapi)")
	flag.StringVar(&o.redisAddr, "redis", "", "with -attach: host:port of the bot's Redis for INFO commandstats")
	flag.StringVar(&o.platform, "platform", "slack", "with -attach: slack or line")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.attach != "" {
		err = runAttached(ctx, o)
	} else {
		err = runSuite(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kakehashi-load:", err)
		os.Exit(1)
	}
}

// Row is one measured run.
type Row struct {
	Bot      string `json:"bot"`
	Platform string `json:"platform"`
	Store    string `json:"store"`
	// Mode is "max" (closed loop) or the offered rate in events/s.
	Mode string `json:"mode"`

	Sent      int64   `json:"sent"`
	Unique    int64   `json:"unique"`
	Acked     int64   `json:"acked"`
	Failed    int64   `json:"failed"`
	Missed    int64   `json:"missed"`
	AckRate   float64 `json:"ack_per_s"`
	Processed int64   `json:"processed"`
	// ProcRate is events handled by the engine (replies queued) per second, from the first
	// request to the last event handled; for the baselines, which answer before acknowledging,
	// it is the acknowledged unique events per second.
	ProcRate float64 `json:"processed_per_s"`
	P50ms    float64 `json:"ack_p50_ms"`
	P99ms    float64 `json:"ack_p99_ms"`
	MaxMs    float64 `json:"ack_max_ms"`
	// Replies are message posts the fake API accepted; DupReplies are LINE reply tokens
	// used twice (a duplicate answer).
	Replies    int64            `json:"replies"`
	DupReplies int64            `json:"dup_replies"`
	APIStats   fakeapi.Stats    `json:"api"`
	RedisCmds  map[string]int64 `json:"redis_commands,omitempty"`
	// CPUms is the bot process's CPU time per 1,000 requests.
	CPUms   float64       `json:"bot_cpu_ms_per_1k"`
	Drain   time.Duration `json:"drain_ns"`
	Status  map[int]int64 `json:"status"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// RedisPerEvent is Redis commands (as INFO commandstats counts them, script-internal
// calls included) per request sent.
func (r Row) RedisPerEvent() float64 {
	var n int64
	for _, v := range r.RedisCmds {
		n += v
	}
	if r.Sent == 0 || r.RedisCmds == nil {
		return 0
	}
	return float64(n) / float64(r.Sent)
}

// ScriptsPerEvent is EVAL/EVALSHA and MULTI calls per request: the round trips that do work.
func (r Row) ScriptsPerEvent() float64 {
	if r.Sent == 0 || r.RedisCmds == nil {
		return 0
	}
	return float64(r.RedisCmds["evalsha"]+r.RedisCmds["eval"]+r.RedisCmds["multi"]) / float64(r.Sent)
}

type target struct {
	bot, store string
	platform   Platform
	base       string // base URL
	pid        int
	redisAddr  string
	kakehashi  bool
}

func runSuite(ctx context.Context, o options) error {
	work := o.work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "kakehashi-load-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	fake := &fakeapi.Server{Delay: o.apiLatency}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(ln, fake) }()
	fakeURL := "http://" + ln.Addr().String()
	fmt.Fprintf(os.Stderr, "fake API %s, work dir %s, GOMAXPROCS %d\n", fakeURL, work, runtime.GOMAXPROCS(0))

	cfgPath := filepath.Join(work, "kakehashi.yaml")
	if err := os.WriteFile(cfgPath, []byte("tenants:\n  - id: demo\n    name: デモ市\n    slack_team: "+loadTeam+"\n"), 0o644); err != nil {
		return err
	}
	env := []string{
		"KAKEHASHI_SLACK_BOT_TOKEN=" + slackToken, "KAKEHASHI_SLACK_SIGNING_SECRET=" + slackSecret,
		"KAKEHASHI_SLACK_API_URL=" + fakeURL + "/api/",
		"KAKEHASHI_LINE_CHANNEL_SECRET=" + lineSecret, "KAKEHASHI_LINE_CHANNEL_TOKEN=" + lineToken,
		"KAKEHASHI_LINE_API_URL=" + fakeURL,
	}
	var rows []Row
	runID := 0
	for _, pl := range split(o.platforms) {
		p := Platform(pl)
		for _, tg := range split(o.targets) {
			var stores []string
			if tg == "kakehashi" {
				stores = split(o.stores)
			} else {
				stores = []string{"-"}
			}
			for _, st := range stores {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				runID++
				addr, err := freeAddr()
				if err != nil {
					return err
				}
				t := target{store: st, platform: p, base: "http://" + addr}
				var procs []*Proc
				stopAll := func() {
					for i := len(procs) - 1; i >= 0; i-- {
						procs[i].Stop()
					}
				}
				name := fmt.Sprintf("%s-%s-%s", p, tg, st)
				switch tg {
				case "baseline":
					bin := filepath.Join(o.bin, string(p)+"base")
					t.bot = string(p) + "base"
					pr, err := start(name, work, bin, env, "-addr", addr)
					if err != nil {
						return err
					}
					procs = append(procs, pr)
					t.pid = pr.Pid()
					if err := pr.waitHTTP(t.base+"/healthz", 30*time.Second); err != nil {
						stopAll()
						return err
					}
				case "kakehashi":
					t.bot, t.kakehashi = "kakehashi", true
					benv := append(append([]string{}, env...), "KAKEHASHI_ADDR="+addr, "KAKEHASHI_CONFIG="+cfgPath,
						"KAKEHASHI_DATA_DIR="+filepath.Join(work, name+"-data"))
					if st == "redis" {
						rp, raddr, err := startRedis(o.redisServer, work)
						if err != nil {
							return err
						}
						procs = append(procs, rp)
						t.redisAddr = raddr
						benv = append(benv, "KAKEHASHI_REDIS_URL=redis://"+raddr+"/0")
					} else {
						benv = append(benv, "KAKEHASHI_REDIS_URL=")
					}
					pr, err := start(name, work, filepath.Join(o.bin, "kakehashi"), benv, "serve", "--demo")
					if err != nil {
						stopAll()
						return err
					}
					procs = append(procs, pr)
					t.pid = pr.Pid()
					if err := pr.waitHTTP(t.base+"/readyz", 120*time.Second); err != nil {
						stopAll()
						return err
					}
				default:
					return fmt.Errorf("unknown target %q", tg)
				}
				gen := NewGen(p, fmt.Sprintf("%02d", runID), o.slots, o.people, o.dupPct, o.newPct, uint64(runID))
				rs, err := measure(ctx, o, t, gen, fake.Stats)
				stopAll()
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				for _, r := range rs {
					printRow(os.Stderr, r)
				}
				rows = append(rows, rs...)
			}
		}
	}
	report(os.Stdout, o, rows)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func runAttached(ctx context.Context, o options) error {
	if o.fakeURL == "" {
		return errors.New("-attach needs -fake, the base URL of `kakehashi-load fakeapi`")
	}
	stats := func() fakeapi.Stats {
		var s fakeapi.Stats
		resp, err := http.Get(strings.TrimSuffix(o.fakeURL, "/") + "/stats")
		if err != nil {
			return s
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(&s)
		return s
	}
	_, err := handled(strings.TrimSuffix(o.attach, "/"))
	t := target{bot: "attached", store: "?", platform: Platform(o.platform), base: strings.TrimSuffix(o.attach, "/"),
		redisAddr: o.redisAddr, kakehashi: err == nil}
	gen := NewGen(t.platform, strconv.FormatInt(time.Now().Unix()%100000, 10), o.slots, o.people, o.dupPct, o.newPct, uint64(time.Now().UnixNano()))
	rows, err := measure(ctx, o, t, gen, stats)
	if err != nil {
		return err
	}
	report(os.Stdout, o, rows)
	return nil
}

// measure runs the warm-up, the closed-loop run and the open-loop runs against one bot.
func measure(ctx context.Context, o options, t target, gen *Gen, stats func() fakeapi.Stats) ([]Row, error) {
	signer := Signer{Platform: t.platform, Secret: []byte(slackSecret)}
	if t.platform == LINE {
		signer.Secret = []byte(lineSecret)
	}
	url := t.base + t.platform.Path()
	if o.warmup > 0 {
		l := &Load{URL: url, Gen: gen, Signer: signer, Conc: o.conc, Duration: o.warmup}
		l.Run(ctx)
	}
	var rows []Row
	modes := []int{0}
	for _, r := range split(o.rates) {
		n, err := strconv.Atoi(r)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad rate %q", r)
		}
		modes = append(modes, n)
	}
	for _, rate := range modes {
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		// Start from a quiet bot: no backlog of inbound or deliver jobs from the run before.
		quiesce(ctx, t, stats)
		before := stats()
		var cmdBefore map[string]int64
		if t.redisAddr != "" {
			cmdBefore, _ = commandStats(ctx, t.redisAddr)
		}
		var h0 int64
		if t.kakehashi {
			h0, _ = handled(t.base)
		}
		cpu0 := cpuTime(t.pid)
		l := &Load{URL: url, Gen: gen, Signer: signer, Rate: rate, Conc: o.conc, Duration: o.duration, MaxInFlight: o.maxInFlight}
		start := time.Now()
		res := l.Run(ctx)
		row := Row{Bot: t.bot, Platform: string(t.platform), Store: t.store, Mode: "max",
			Sent: res.Sent, Unique: res.Unique, Acked: res.Acked, Failed: res.Failed, Missed: res.Missed,
			AckRate: res.AckRate(), Status: res.Status, Elapsed: res.Elapsed,
			P50ms: ms(res.Quantile(0.5)), P99ms: ms(res.Quantile(0.99)), MaxMs: ms(res.Quantile(1))}
		if rate > 0 {
			row.Mode = strconv.Itoa(rate) + "/s"
		}
		if t.kakehashi {
			done, n := drain(ctx, t, h0+res.Unique, stats)
			row.Processed = n - h0
			row.Drain = done.Sub(start) - res.Elapsed
			row.ProcRate = float64(row.Processed) / done.Sub(start).Seconds()
		} else {
			settle(ctx, stats)
			row.Processed = res.Unique
			row.ProcRate = float64(res.Unique) / res.Elapsed.Seconds()
		}
		if rate > 0 {
			// An open-loop run cannot go faster than offered; report what was sustained.
			row.ProcRate = min(row.ProcRate, float64(row.Processed)/o.duration.Seconds())
		}
		row.CPUms = (cpuTime(t.pid) - cpu0) * 1000 / float64(max(res.Sent, 1)) * 1000
		row.APIStats = stats().Sub(before)
		row.Replies, row.DupReplies = row.APIStats.Replies(), row.APIStats.TokenReused
		if t.redisAddr != "" {
			after, _ := commandStats(ctx, t.redisAddr)
			row.RedisCmds = map[string]int64{}
			for k, v := range after {
				if d := v - cmdBefore[k]; d > 0 && k != "info" {
					row.RedisCmds[k] = d
				}
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// drain waits until the engine has handled want events in total (or its count has not moved
// for 30 s), then until replies stop arriving at the fake API. It returns when the last
// event was handled and how many were.
func drain(ctx context.Context, t target, want int64, stats func() fakeapi.Stats) (time.Time, int64) {
	last, lastAt := int64(-1), time.Now()
	deadline := time.Now().Add(5 * time.Minute)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		n, err := handled(t.base)
		if err == nil && n != last {
			last, lastAt = n, time.Now()
		}
		if want >= 0 && n >= want {
			break
		}
		if time.Since(lastAt) > 30*time.Second {
			break // nothing moves: some events were not handled (reported as Processed < Unique)
		}
		time.Sleep(20 * time.Millisecond)
	}
	settle(ctx, stats)
	return lastAt, last
}

// quiesce waits (at most 5 minutes) until neither the engine's count nor the replies at the
// fake API have moved for 2 s.
func quiesce(ctx context.Context, t target, stats func() fakeapi.Stats) {
	key := func() [2]int64 {
		var n int64
		if t.kakehashi {
			n, _ = handled(t.base)
		}
		return [2]int64{n, stats().Replies()}
	}
	prev, since := key(), time.Now()
	deadline := time.Now().Add(5 * time.Minute)
	for ctx.Err() == nil && time.Since(since) < 2*time.Second && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if k := key(); k != prev {
			prev, since = k, time.Now()
		}
	}
}

// settle waits until the fake API has seen no reply for 500 ms.
func settle(ctx context.Context, stats func() fakeapi.Stats) {
	prev := stats().Replies()
	for ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		n := stats().Replies()
		if n == prev {
			return
		}
		prev = n
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func printRow(w io.Writer, r Row) {
	fmt.Fprintf(w, "%-9s %-5s %-8s %-7s sent %6d uniq %6d ack %6d fail %d miss %d  ack/s %7.0f  proc/s %7.0f  p50 %6.2fms p99 %7.2fms max %7.1fms  replies %6d dup %d  redis/evt %.1f scripts/evt %.2f  cpu %.0fms/1k drain %s\n",
		r.Bot, r.Platform, r.Store, r.Mode, r.Sent, r.Unique, r.Acked, r.Failed, r.Missed, r.AckRate, r.ProcRate,
		r.P50ms, r.P99ms, r.MaxMs, r.Replies, r.DupReplies, r.RedisPerEvent(), r.ScriptsPerEvent(), r.CPUms, r.Drain.Round(time.Millisecond))
}

// report prints the Markdown tables for BENCHMARKS.md.
func report(w io.Writer, o options, rows []Row) {
	if o.apiLatency > 0 {
		fmt.Fprintf(w, "\nFake API latency %s per call.", o.apiLatency)
	}
	fmt.Fprintf(w, "\nDuration %s per run, %d closed-loop senders, %d%% redeliveries, %d%% single-message conversations, %d side by side from %d people, GOMAXPROCS %d (tool), NumCPU %d.\n\n",
		o.duration, o.conc, o.dupPct, o.newPct, o.slots, o.people, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintln(w, "| bot | platform | store | load | sent (unique) | acked | ack/s | processed/s | ack p50 | ack p99 | ack max | replies | dup replies | Redis cmds/req | scripts+MULTI/req | bot CPU ms/1k req |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		redisCol, scriptCol := "–", "–"
		if r.RedisCmds != nil {
			redisCol, scriptCol = fmt.Sprintf("%.2f", r.RedisPerEvent()), fmt.Sprintf("%.2f", r.ScriptsPerEvent())
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d (%d) | %d | %.0f | %.0f | %.2f ms | %.2f ms | %.1f ms | %d | %d | %s | %s | %.0f |\n",
			r.Bot, r.Platform, r.Store, r.Mode, r.Sent, r.Unique, r.Acked, r.AckRate, r.ProcRate, r.P50ms, r.P99ms, r.MaxMs,
			r.Replies, r.DupReplies, redisCol, scriptCol, r.CPUms)
	}
	// Ratios ours/baseline, per platform and store, from the same run.
	base := map[string]Row{}
	for _, r := range rows {
		if r.Bot != "kakehashi" && r.Mode == "max" {
			base[r.Platform] = r
		}
	}
	fmt.Fprintln(w, "\n| platform | store | ours processed/s | baseline processed/s | ratio | ours ack/s | baseline ack/s | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		b, ok := base[r.Platform]
		if r.Bot != "kakehashi" || r.Mode != "max" || !ok {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.2f× | %.0f | %.0f | %.2f× |\n", r.Platform, r.Store, r.ProcRate, b.ProcRate,
			r.ProcRate/b.ProcRate, r.AckRate, b.AckRate, r.AckRate/b.AckRate)
	}
	if len(rows) > 0 {
		cmds := map[string]float64{}
		for _, r := range rows {
			if r.Bot == "kakehashi" && r.Mode == "max" && r.RedisCmds != nil {
				for k, v := range r.RedisCmds {
					cmds[r.Platform+" "+k] = float64(v) / float64(r.Sent)
				}
			}
		}
		if len(cmds) > 0 {
			b, _ := json.Marshal(cmds)
			fmt.Fprintf(w, "\nRedis commands per request by command (closed-loop runs, Redis store): %s\n", b)
		}
	}
}
