package main

import (
	"context"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

func init() { features = append(features, wireDigest) }

func wireDigest(_ context.Context, a *App) error {
	at, err := digestAt()
	if err != nil {
		return err
	}
	a.Digest = &handlers.Digest{Needs: a.NeedStore, Members: a.Members, Messenger: a.Outbox, Marks: store.NewDigestMarks(a.DB),
		Calendar: calendar.New(), Clock: a.Clock, At: at}
	a.Digest.Register(a.Mux)
	if a.CandidateStore != nil {
		a.Digest.Sources = append(a.Digest.Sources, a.introductionsForDigest)
	}
	a.starters = append(a.starters, func(ctx context.Context) {
		a.Digest.Run(ctx, time.Minute, func(err error) { a.Logger.Warn("digest tick failed", "err", err) })
	})
	return nil
}

// introductionsForDigest counts the introductions the tenant's DX team requested in the
// digest's week and the week before, from the audit log (which keeps no content).
func (a *App) introductionsForDigest(ctx context.Context, t *bot.Tenant, in *bot.DigestInput) error {
	recs, err := a.CandidateStore.AuditLog(ctx, t.ID, 5000)
	if err != nil {
		return err
	}
	prev := in.WeekStart.AddDate(0, 0, -7)
	end := in.WeekStart.AddDate(0, 0, 7)
	for _, r := range recs {
		if r.Action != bot.AuditIntroRequest {
			continue
		}
		switch {
		case !r.At.Before(in.WeekStart) && r.At.Before(end):
			in.Introductions++
		case !r.At.Before(prev) && r.At.Before(in.WeekStart):
			in.IntroductionsPrev++
		}
	}
	return nil
}

// digestAt reads KAKEHASHI_DIGEST_TIME ("08:30") as an offset from midnight.
func digestAt() (time.Duration, error) {
	t, err := time.Parse("15:04", env("KAKEHASHI_DIGEST_TIME"))
	if err != nil {
		return 0, errorf("KAKEHASHI_DIGEST_TIME: %q must look like 08:30", env("KAKEHASHI_DIGEST_TIME"))
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
