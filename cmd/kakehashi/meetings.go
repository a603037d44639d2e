package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

func init() {
	features = append(features, wireMeetings)
	demoSeeders = append(demoSeeders, seedDemoMeetings)
	extraCommands = append(extraCommands, struct {
		name string
		run  func(ctx context.Context, args []string, stdout io.Writer) error
	}{"advisers", advisersCmd})
}

// wireMeetings wires advisers and meetings (SPEC §6): the stores, the chat commands, the
// queue jobs (reminders, escalation, follow-up, health), the minute tick and the digest's
// meeting numbers.
func wireMeetings(_ context.Context, a *App) error {
	offsets, err := parseReminderOffsets(env("KAKEHASHI_REMINDER_OFFSETS"))
	if err != nil {
		return err
	}
	cal := calendar.New()
	a.AdviserStore = store.NewAdviserService(a.DB)
	a.MeetingStore = store.NewMeetingService(a.DB)
	needs := bot.NeedService(store.NewNeedService(a.DB))
	a.Advisers = &handlers.Advisers{Store: a.AdviserStore, Members: a.Members, Needs: needs, Meetings: a.MeetingStore,
		Messenger: a.Outbox, Queue: a.Queue, Calendar: cal, Clock: a.Clock}
	a.Meetings = &handlers.Meetings{Store: a.MeetingStore, Advisers: a.Advisers, Needs: needs, Members: a.Members,
		Messenger: a.Outbox, Queue: a.Queue, Calendar: cal, Clock: a.Clock, Logger: a.Logger, Offsets: offsets}
	a.Meetings.Register(a.Mux)
	a.Advisers.Register(a.Mux)
	a.Meetings.RegisterJobs(a.Worker)
	a.Advisers.RegisterJobs(a.Worker)
	if a.Digest != nil {
		a.Digest.Sources = append(a.Digest.Sources, a.Meetings.DigestSource)
	} else {
		a.Logger.Warn("digest is not wired before meetings; the digest will show no meeting numbers")
	}
	a.starters = append(a.starters, func(ctx context.Context) {
		for {
			if err := a.Meetings.Tick(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("meetings tick failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
		}
	})
	return nil
}

// parseReminderOffsets reads KAKEHASHI_REMINDER_OFFSETS ("24h,1h"; short ones such as
// "10m,1m" for a demo): positive, distinct durations, returned longest first.
func parseReminderOffsets(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 || d%time.Second != 0 {
			return nil, fmt.Errorf("KAKEHASHI_REMINDER_OFFSETS: %q is not a positive duration in whole seconds (example: 24h,1h)", part)
		}
		if slices.Contains(out, d) {
			return nil, fmt.Errorf("KAKEHASHI_REMINDER_OFFSETS: %s is listed twice", part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("KAKEHASHI_REMINDER_OFFSETS: %q lists no offsets (example: 24h,1h)", s)
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int((b - a) / time.Second) })
	return out, nil
}

// advisersCmd is `kakehashi advisers import|list`.
func advisersCmd(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "usage: kakehashi advisers import [--tenant ID] FILE.csv|FILE.json | kakehashi advisers list [--tenant ID]\n" +
		"CSV header: id,name,areas,windows,modes,join_url,venue,monthly_cap_hours,contract_start,contract_end,permit_expiry,channel,bind_on_join"
	if len(args) == 0 || (args[0] != "import" && args[0] != "list") {
		return usageError(use)
	}
	fs := flag.NewFlagSet("advisers", flag.ContinueOnError)
	tenantFlag := fs.String("tenant", "", "tenant ID (may be left out when there is only one tenant)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return usageError(err.Error() + "\n" + use)
	}
	if (args[0] == "import" && len(pos) != 1) || (args[0] == "list" && len(pos) != 0) {
		return usageError(use)
	}
	var parsed []*bot.Adviser
	var problems []handlers.ImportProblem
	if args[0] == "import" {
		// Read and check the file before opening the store, so a bad file changes nothing.
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		parsed, problems, err = handlers.ParseAdvisers(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
	}
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	tenant, err := adviserTenant(ctx, a, *tenantFlag)
	if err != nil {
		return err
	}
	if args[0] == "list" {
		all, err := a.AdviserStore.Advisers(ctx, tenant)
		if err != nil {
			return err
		}
		for _, ad := range all {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\tcap=%gh\tmember=%s\n", ad.ID, ad.Name, adviserAreaList(ad.Areas), ad.Windows, ad.CapHours, ad.Person)
		}
		return nil
	}
	for _, p := range problems {
		id := ""
		if p.ID != "" {
			id = " (id " + p.ID + ")"
		}
		fmt.Fprintf(stdout, "line %d%s skipped: %s\n", p.Line, id, p.Message)
	}
	created, updated, err := a.Advisers.Import(ctx, tenant, parsed)
	fmt.Fprintf(stdout, "advisers for tenant %s: %d created, %d updated, %d skipped\n", tenant, created, updated, len(problems))
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d line(s) skipped; fix them and import the file again (imported lines are updated, not duplicated)", len(problems))
	}
	return nil
}

func adviserAreaList(cs []bot.Category) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ";")
}

// adviserTenant checks the --tenant flag, or takes the only tenant there is.
func adviserTenant(ctx context.Context, a *App, id string) (bot.TenantID, error) {
	if id != "" {
		if _, err := a.Members.Tenant(ctx, bot.TenantID(id)); err != nil {
			return "", fmt.Errorf("tenant %s: %s", id, bot.ErrorMessage(err))
		}
		return bot.TenantID(id), nil
	}
	ts, err := a.Members.Tenants(ctx)
	if err != nil {
		return "", err
	}
	if len(ts) != 1 {
		return "", usageError(fmt.Sprintf("there are %d tenants; name one with --tenant ID", len(ts)))
	}
	return ts[0].ID, nil
}

// demoAdvisers are デモ市's three advisers, modelled on Okayama's side-job strategic
// managers (promotion, DX, 防災), with evening and weekend windows. The DX adviser is
// BindOnJoin: the first person who joins with DEMO-ADVISER answers for that profile.
func demoAdvisers(now time.Time) []*bot.Adviser {
	end := time.Date(2027, 3, 31, 0, 0, 0, 0, bot.Tokyo)
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, bot.Tokyo)
	// 防災's side-job permit runs out soon, so the health check has something to show.
	permit := time.Date(now.In(bot.Tokyo).Year(), now.In(bot.Tokyo).Month(), now.In(bot.Tokyo).Day()+20, 0, 0, 0, 0, bot.Tokyo)
	return []*bot.Adviser{
		{ID: "demo-promo", Tenant: DemoTenant, Name: "小野 美咲（プロモーション）", Areas: []bot.Category{"promotion_pr", "web_ux"},
			Windows: "火 19:00–21:00、木 19:00–21:00、土 10:00–12:00", Modes: []string{bot.ModeOnline}, JoinURL: "https://meet.example.jp/demo/ono",
			CapHours: 10, ContractStart: start, ContractEnd: end, PermitExpiry: end, Channel: bot.PlatformLINE},
		{ID: "demo-dx", Tenant: DemoTenant, Name: "高橋 健（DX推進）", BindOnJoin: true,
			Areas:   []bot.Category{"cio_strategy", "data_ai", "rpa_automation", "pm_procurement", "infra_security", "web_ux"},
			Windows: "月 19:00–21:00、水 18:30–21:00、土 13:00–17:00", Modes: []string{bot.ModeOnline, bot.ModeOnsite},
			JoinURL: "https://meet.example.jp/demo/takahashi", Venue: "デモ市役所 本庁舎5階 DX推進室", CapHours: 20, ContractStart: start, ContractEnd: end},
		{ID: "demo-bosai", Tenant: DemoTenant, Name: "山口 誠（防災）", Areas: []bot.Category{"disaster_prevention"},
			Windows: "水 19:00–21:00、土 09:00–12:00", Modes: []string{bot.ModeOnsite, bot.ModeOnline},
			JoinURL: "https://meet.example.jp/demo/yamaguchi", Venue: "デモ市役所 防災危機管理課 会議室", CapHours: 8,
			ContractStart: start, ContractEnd: end, PermitExpiry: permit},
	}
}

// seedDemoMeetings adds the demo advisers and a few past meetings (two with notes, scores
// and confirmed hours, one still waiting for its follow-up) and one planned for next week.
// Each part is created only when missing, so it is safe at every start.
func seedDemoMeetings(ctx context.Context, a *App) error {
	now := a.Clock.Now()
	for _, ad := range demoAdvisers(now) {
		_, err := a.AdviserStore.Adviser(ctx, DemoTenant, ad.ID)
		if err == nil {
			continue
		} else if bot.ErrorCode(err) != bot.ENOTFOUND {
			return err
		}
		if err := a.AdviserStore.SaveAdviser(ctx, ad); err != nil {
			return err
		}
	}
	if existing, err := a.MeetingStore.Meetings(ctx, DemoTenant, bot.MeetingFilter{Limit: 1}); err != nil || len(existing) > 0 {
		return err
	}
	staff, err := a.Members.EnsureMember(ctx, DemoTenant, bot.Identity{Platform: bot.PlatformWeb, UserID: "demo-seed-staff"}, bot.RoleStaff, "デモ職員（市民課）")
	if err != nil {
		return err
	}
	needs, err := a.NeedStore.Needs(ctx, DemoTenant, bot.NeedFilter{})
	if err != nil {
		return err
	}
	byCategory := map[bot.Category]*bot.Need{}
	for _, n := range needs {
		byCategory[n.Category] = n
	}
	day := func(offset, hour int) bot.TimeSlot {
		t := now.In(bot.Tokyo)
		st := time.Date(t.Year(), t.Month(), t.Day()+offset, hour, 0, 0, 0, bot.Tokyo)
		return bot.TimeSlot{Start: st, End: st.Add(time.Hour)}
	}
	past := []struct {
		adviser    bot.AdviserID
		category   bot.Category
		slot       bot.TimeSlot
		status     bot.MeetingStatus
		minutes    int
		usefulness int
		notes      string
		actions    string
	}{
		{"demo-bosai", "disaster_prevention", day(-9, 19), bot.MeetingHeld, 60, 5, "避難所データの公開形式（CSV・GeoJSON）と更新手順を確認しました。", "防災危機管理課: 避難所一覧をオープンデータ化（12月中）"},
		{"demo-promo", "promotion_pr", day(-6, 10), bot.MeetingHeld, 90, 4, "子育て世帯向けにLINEの配信セグメントを分ける案をいただきました。", "子育て支援課: 配信計画の素案を作成"},
		{"demo-dx", "rpa_automation", day(-2, 19), bot.MeetingHeld, 0, 0, "", ""},
		{"demo-bosai", "disaster_prevention", day(4, 10), bot.MeetingConfirmed, 0, 0, "", ""},
	}
	for _, p := range past {
		n := byCategory[p.category]
		if n == nil {
			continue // the needs feature seeds these; without them there is nothing to meet about
		}
		ad, err := a.AdviserStore.Adviser(ctx, DemoTenant, p.adviser)
		if err != nil {
			return err
		}
		m := &bot.Meeting{Tenant: DemoTenant, Need: n.ID, NeedTitle: n.Title, Adviser: ad.ID, AdviserPerson: ad.Person, Requester: staff.ID,
			Status: p.status, Slot: p.slot, Mode: ad.Modes[0], DurationMin: 60, Minutes: p.minutes, Usefulness: p.usefulness,
			Notes: p.notes, ActionItems: p.actions, RequestedAt: p.slot.Start.AddDate(0, 0, -7), ScheduledAt: p.slot.Start.AddDate(0, 0, -6),
			CreatedAt: p.slot.Start.AddDate(0, 0, -7),
			History:   []bot.MeetingEvent{{At: p.slot.Start.AddDate(0, 0, -6), Action: "accepted", To: bot.MeetingConfirmed}}}
		if m.Mode == bot.ModeOnsite {
			m.Venue = ad.Venue
		} else {
			m.JoinURL = ad.JoinURL
		}
		if p.minutes > 0 {
			m.HoursAt = p.slot.End.Add(2 * time.Hour)
		}
		if p.usefulness > 0 {
			m.FeedbackAt = p.slot.End.Add(3 * time.Hour)
		}
		if _, err := a.MeetingStore.CreateMeeting(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
