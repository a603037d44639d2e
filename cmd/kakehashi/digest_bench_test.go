package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// BenchmarkDigestYear200Tenants builds the weekly digest (store queries, builder, chart)
// for 200 tenants that each have a year of needs (5 a week, each moved through several
// statuses). SPEC §10 target: ≤ 60 s for all 200.
func BenchmarkDigestYear200Tenants(b *testing.B) {
	ta := benchApp(b)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 8, 30, 0, 0, bot.Tokyo)
	const tenants, perWeek, weeks = 200, 5, 52
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []bot.NeedStatus{bot.NeedTriaged, bot.NeedMatching, bot.NeedScheduling, bot.NeedInProgress, bot.NeedDone}
	var ts []*bot.Tenant
	for i := 0; i < tenants; i++ {
		tn := &bot.Tenant{ID: bot.TenantID(fmt.Sprintf("city%03d", i)), Name: fmt.Sprintf("市%03d", i)}
		if err := ta.Members.CreateTenant(ctx, tn); err != nil {
			b.Fatal(err)
		}
		ts = append(ts, tn)
		pipe := ta.DB.Client.Pipeline()
		for w := 0; w < weeks; w++ {
			for k := 0; k < perWeek; k++ {
				created := now.AddDate(0, 0, -7*(weeks-w)).Add(time.Duration(k) * 20 * time.Hour)
				n := &bot.Need{ID: bot.NeedID(w*perWeek + k + 1), Tenant: tn.ID, Title: fmt.Sprintf("ニーズ %d", w*perWeek+k), Department: "総務課",
					Category: "other", Urgency: bot.UrgencyMedium, Impact: 1 + rng.IntN(5), Form: "either", FiledBy: "p1", Status: bot.NeedNew,
					CreatedAt: created, StatusAt: created}
				n.History = []bot.HistoryEntry{{At: created, Action: "filed", To: bot.NeedNew}}
				at := created
				for _, s := range statuses[:rng.IntN(len(statuses)+1)] {
					at = at.Add(time.Duration(1+rng.IntN(10)) * 24 * time.Hour)
					if at.After(now) {
						break
					}
					n.History = append(n.History, bot.HistoryEntry{At: at, Action: "status", From: n.Status, To: s})
					n.Status, n.StatusAt = s, at
				}
				writeNeedRaw(ctx, pipe, n)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, tn := range ts {
			d, err := ta.Digest.Build(ctx, tn, now)
			if err != nil {
				b.Fatal(err)
			}
			r := ta.Digest.Render(d, bot.LangJA)
			if len(r.Attachments) != 1 || len(d.Weeks) != 8 {
				b.Fatalf("digest of %s incomplete", tn.ID)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/200-tenants")
	}
}

// writeNeedRaw stores a generated need through the public store API's data layout.
func writeNeedRaw(ctx context.Context, p redis.Pipeliner, n *bot.Need) {
	raw := mustJSON(n)
	id := fmt.Sprint(n.ID)
	p.Set(ctx, "t:{"+string(n.Tenant)+"}:need:"+id, raw, 0)
	p.ZAdd(ctx, "t:{"+string(n.Tenant)+"}:needs:all", redis.Z{Score: float64(n.CreatedAt.UnixMilli()), Member: id})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// benchApp starts the program on an embedded store for a benchmark.
func benchApp(b *testing.B) *App {
	b.Helper()
	a, err := newApp(context.Background(), appConfig{DataDir: "", Demo: false, NoWorker: true, Workers: 1,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return a
}
