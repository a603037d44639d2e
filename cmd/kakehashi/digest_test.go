package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
)

func TestDigestPreviewGolden(t *testing.T) {
	ta := newTestApp(t)
	mayor := ta.join("DEMO-MAYOR", "市長")
	r := mayor.say("ダイジェスト")
	if len(r) != 1 || r[0].Kind != "digest" {
		t.Fatalf("digest reply = %s", dump(r))
	}
	if len(r[0].Attachments) != 1 || r[0].Attachments[0].ContentType != "image/png" || !strings.Contains(r[0].Attachments[0].Alt, "棒グラフ") ||
		!strings.HasPrefix(r[0].Attachments[0].URL, "/web/api/attachments/") {
		t.Fatalf("chart attachment = %+v", r[0].Attachments)
	}
	// The chart downloads for the mayor only.
	res, err := mayor.client.Get(ta.srv.URL + r[0].Attachments[0].URL)
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("download: %v %v", res, err)
	}
	res.Body.Close()
	var b strings.Builder
	b.WriteString(r[0].Text + "\n")
	for _, f := range r[0].Fields {
		b.WriteString("[" + f.Label + "]\n" + f.Value + "\n")
	}
	checkGolden(t, "digest_demo.golden", b.String())
	// Staff may not see it.
	mustContain(t, ta.join("DEMO-STAFF", "").say("ダイジェスト"), "担当者のみ")
}

func TestDigestScheduleHolidayShift(t *testing.T) {
	ta := newTestApp(t)
	// 2027-01-11 is 成人の日 (Monday): the digest goes out on Tuesday 08:30.
	ws := handlers.WeekStart(time.Date(2027, 1, 13, 12, 0, 0, 0, bot.Tokyo))
	if got, want := ta.Digest.SendTime(ws), time.Date(2027, 1, 12, 8, 30, 0, 0, bot.Tokyo); !got.Equal(want) {
		t.Fatalf("send time = %s, want %s", got, want)
	}
	if got, want := ta.Digest.SendTime(handlers.WeekStart(time.Date(2026, 11, 25, 0, 0, 0, 0, bot.Tokyo))), time.Date(2026, 11, 23, 8, 30, 0, 0, bot.Tokyo).AddDate(0, 0, 1); !got.Equal(want) {
		// 2026-11-23 is 勤労感謝の日 (Monday).
		t.Fatalf("send time = %s, want %s", got, want)
	}
	mayor := ta.join("DEMO-MAYOR", "")
	ta.clock.t = time.Date(2027, 1, 11, 9, 0, 0, 0, bot.Tokyo)
	if n, err := ta.Digest.Tick(context.Background()); err != nil || n != 0 {
		t.Fatalf("tick on the holiday sent %d, %v", n, err)
	}
	ta.clock.t = time.Date(2027, 1, 12, 8, 31, 0, 0, bot.Tokyo)
	if n, err := ta.Digest.Tick(context.Background()); err != nil || n != 1 {
		t.Fatalf("tick on Tuesday sent %d, %v", n, err)
	}
	ta.runJobs()
	p := mayor.pushes()
	if len(p) != 1 || p[0].Kind != "digest" || len(p[0].Attachments) != 1 {
		t.Fatalf("mayor got %s", dump(p))
	}
}

func TestDigestTwoSchedulersSendOnce(t *testing.T) {
	ta := newTestApp(t)
	mayor := ta.join("DEMO-MAYOR", "")
	ta.clock.t = time.Date(2026, 11, 30, 8, 30, 5, 0, bot.Tokyo)
	other := *ta.Digest // a second replica's scheduler over the same Redis
	var wg sync.WaitGroup
	for _, d := range []*handlers.Digest{ta.Digest, &other} {
		wg.Add(1)
		go func() { defer wg.Done(); d.Tick(context.Background()) }()
	}
	wg.Wait()
	ta.runJobs()
	ta.Digest.Tick(context.Background())
	other.Tick(context.Background())
	ta.runJobs()
	if p := mayor.pushes(); len(p) != 1 {
		t.Fatalf("mayor got %d digests: %s", len(p), dump(p))
	}
}

func TestDigestCatchUpAfterMissedMonday(t *testing.T) {
	ta := newTestApp(t)
	mayor := ta.join("DEMO-MAYOR", "")
	// The bot was down on Monday; it starts on Wednesday of the same week.
	ta.clock.t = time.Date(2026, 12, 2, 14, 0, 0, 0, bot.Tokyo)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ta.Digest.Run(ctx, time.Hour, nil); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := ta.Queue.Pending(context.Background(), "push:demo:digest:"+handlers.WeekKey(ta.clock.Now())+":"+string(personOf(t, ta, mayor))); n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	ta.runJobs()
	if p := mayor.pushes(); len(p) != 1 {
		t.Fatalf("catch-up sent %d digests", len(p))
	}
	// The next week's Monday before 08:30 sends nothing yet.
	ta.clock.t = time.Date(2026, 12, 7, 8, 0, 0, 0, bot.Tokyo)
	if n, _ := ta.Digest.Tick(context.Background()); n != 0 {
		t.Fatalf("sent %d before 08:30", n)
	}
}

// TestDigestCountsIntroductions: introductions requested in the reported week and the
// week before come from the audit log.
func TestDigestCountsIntroductions(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	ws := handlers.WeekStart(ta.clock.Now()).AddDate(0, 0, -7)
	for _, at := range []time.Time{ws.Add(time.Hour), ws.Add(50 * time.Hour), ws.Add(-24 * time.Hour), ws.Add(-30 * 24 * time.Hour)} {
		if err := ta.CandidateStore.Audit(ctx, DemoTenant, bot.AuditRecord{At: at, Action: bot.AuditIntroRequest, Record: "c1", Need: 1}); err != nil {
			t.Fatal(err)
		}
	}
	tn, _ := ta.Members.Tenant(ctx, DemoTenant)
	d, err := ta.Digest.Build(ctx, tn, ta.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d.Introductions != 2 || d.IntroductionsPrev != 1 {
		t.Fatalf("introductions = %d (prev %d), want 2 (1)", d.Introductions, d.IntroductionsPrev)
	}
	mustContain(t, []bot.Reply{d.Reply(bot.LangJA)}, "候補者紹介: 2件（前週比 +1）")
}

// TestDigestPerTenantTime: a tenant's own digest_time moves its send time; others keep the default.
func TestDigestPerTenantTime(t *testing.T) {
	ta := newTestApp(t, func(c *appConfig) {
		c.File = &FileConfig{Tenants: []TenantConfig{{ID: DemoTenant, Name: "デモ市", DigestTime: "07:15"}, {ID: "late", Name: "遅番市"}}}
	})
	ctx := context.Background()
	demo, _ := ta.Members.Tenant(ctx, DemoTenant)
	late, _ := ta.Members.Tenant(ctx, "late")
	ws := handlers.WeekStart(time.Date(2026, 12, 1, 0, 0, 0, 0, bot.Tokyo))
	if got := ta.Digest.TenantSendTime(demo, ws); !got.Equal(time.Date(2026, 11, 30, 7, 15, 0, 0, bot.Tokyo)) {
		t.Fatalf("demo sends at %s", got)
	}
	if got := ta.Digest.TenantSendTime(late, ws); !got.Equal(time.Date(2026, 11, 30, 8, 30, 0, 0, bot.Tokyo)) {
		t.Fatalf("late sends at %s", got)
	}
	mayor := ta.join("DEMO-MAYOR", "")
	ta.clock.t = time.Date(2026, 11, 30, 7, 20, 0, 0, bot.Tokyo)
	if n, err := ta.Digest.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("tick at 07:20 sent %d, %v", n, err)
	}
	ta.runJobs()
	if p := mayor.pushes(); len(p) != 1 {
		t.Fatalf("mayor got %d digests", len(p))
	}
}

func personOf(t *testing.T, ta *testApp, u *webUser) bot.PersonID {
	t.Helper()
	p, err := ta.Members.PersonByIdentity(context.Background(), DemoTenant, bot.Identity{Platform: bot.PlatformWeb, UserID: u.UserID})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// TestDigestMayorJoiningLaterIsCaughtUp: the week's digest went to one mayor; a deputy
// mayor who joins on Wednesday gets it at the next tick, and the first mayor not again.
func TestDigestMayorJoiningLaterIsCaughtUp(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	first := ta.join("DEMO-MAYOR", "市長")
	ta.clock.t = time.Date(2026, 11, 30, 8, 31, 0, 0, bot.Tokyo)
	if n, err := ta.Digest.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("Monday tick sent %d, %v", n, err)
	}
	ta.runJobs()
	ta.clock.t = time.Date(2026, 12, 2, 10, 0, 0, 0, bot.Tokyo)
	deputy := ta.join("DEMO-MAYOR", "副市長")
	ta.Digest.Tick(ctx)
	ta.Digest.Tick(ctx)
	ta.runJobs()
	if p := first.pushes(); len(p) != 1 {
		t.Fatalf("first mayor got %d digests", len(p))
	}
	if p := deputy.pushes(); len(p) != 1 {
		t.Fatalf("deputy got %d digests", len(p))
	}
}
