package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/handlers/web"
	"github.com/kakehashi/kakehashi/store"
)

func init() { features = append(features, wireSpool) }

// wireSpool keeps LINE WORKS callbacks and web messages in KAKEHASHI_DATA_DIR/spool.jsonl
// while Redis cannot be reached (LINE WORKS never redelivers; a person on the web waits
// for an answer) and replays them in order when it is back. Slack and LINE get a 503 and
// redeliver by themselves. Admin commands take no messages and open no spool.
func wireSpool(_ context.Context, a *App) error {
	if a.cfg.Attach || a.cfg.DataDir == "" {
		return nil
	}
	sp, err := store.OpenSpool(filepath.Join(a.cfg.DataDir, store.SpoolFile))
	if errors.Is(err, store.ErrSpoolLocked) {
		return fmt.Errorf("%s is used by another kakehashi process: give each replica its own KAKEHASHI_DATA_DIR", a.cfg.DataDir)
	} else if err != nil {
		return err
	}
	a.spool = sp
	a.Outbox.Spool = sp
	a.Web.Spool = sp
	a.closers = append(a.closers, func() { sp.Close() })
	a.starters = append(a.starters, a.runSpoolReplayer)
	if n := sp.Pending(); n > 0 {
		a.Logger.Warn("spooled messages from before the restart wait for Redis", "count", n)
	}
	return nil
}

// runSpoolReplayer replays spooled messages whenever there are some and Redis answers.
func (a *App) runSpoolReplayer(ctx context.Context) {
	a.Metrics.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kakehashi_spooled_messages",
		Help: "Inbound messages kept in the local spool until Redis is reachable."}, func() float64 { return float64(a.spool.Pending()) }))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if a.spool.Pending() > 0 {
			if _, err := a.replaySpool(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Debug("spool replay waits", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.spool.Kicked():
		}
	}
}

// replaySpool hands the spooled messages, oldest first, to the queue (LINE WORKS) or the
// web channel, and returns how many went through. It stops at the first that cannot.
func (a *App) replaySpool(ctx context.Context) (int, error) {
	if a.spool == nil {
		return 0, nil
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	err := a.DB.Ping(pctx)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("redis unreachable: %w", err)
	}
	n, err := a.spool.Replay(ctx, func(ctx context.Context, r store.SpoolRecord) error {
		switch r.Kind {
		case handlers.SpoolDispatch:
			return a.Outbox.ReplaySpooled(ctx, r)
		case web.SpoolKind:
			return a.Web.Replay(ctx, r)
		}
		a.Logger.Error("spooled record of unknown kind dropped", "kind", r.Kind, "id", r.ID)
		return nil
	})
	if n > 0 {
		a.Logger.Info("spooled messages replayed", "count", n, "left", a.spool.Pending())
	}
	return n, err
}
