package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/store"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", false, "create the demo municipality デモ市 with fixed invite codes (idempotent)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	logger := newLogger(stderr)
	cfg, err := configFromEnv()
	if err != nil {
		return err
	}
	cfg.Logger = logger
	cfg.Demo = *demo
	a, err := newApp(ctx, cfg)
	if errors.Is(err, store.ErrRunning) {
		return fmt.Errorf("another kakehashi server is already using %s; stop it first or set KAKEHASHI_DATA_DIR", cfg.DataDir)
	} else if err != nil {
		return err
	}
	addr := env("KAKEHASHI_ADDR")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.Close()
		return fmt.Errorf("listen on %s (KAKEHASHI_ADDR): %w", addr, err)
	}
	srv := &http.Server{Handler: a.HTTP, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	a.Start(ctx)
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "架け橋 Kakehashi is running: %s\n", url)
	if a.DB.Embedded() {
		fmt.Fprintf(stdout, "Store: embedded (data kept in %s)\n", cfg.DataDir)
	} else {
		fmt.Fprintln(stdout, "Store: Redis (KAKEHASHI_REDIS_URL)")
	}
	if *demo {
		fmt.Fprintln(stdout, "Demo municipality: デモ市 (tenant demo). Open the URL and join with one of these invite codes:")
		for _, c := range demoCodes {
			fmt.Fprintf(stdout, "  %-16s %s\n", c.Code, c.Label)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		a.Close()
		return err
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	if err := a.Close(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func configFromEnv() (appConfig, error) {
	var cfg appConfig
	var err error
	cfg.RedisURL = env("KAKEHASHI_REDIS_URL")
	cfg.DataDir = env("KAKEHASHI_DATA_DIR")
	if cfg.SnapshotEvery, err = envDuration("KAKEHASHI_SNAPSHOT_INTERVAL"); err != nil {
		return cfg, err
	}
	if cfg.DraftTTL, err = envDuration("KAKEHASHI_DRAFT_TTL"); err != nil {
		return cfg, err
	}
	if cfg.Workers, err = strconv.Atoi(strings.TrimSpace(env("KAKEHASHI_WORKERS"))); err != nil || cfg.Workers < 1 {
		return cfg, fmt.Errorf("KAKEHASHI_WORKERS: %q must be a positive number", env("KAKEHASHI_WORKERS"))
	}
	if cfg.File, err = loadFileConfig(env("KAKEHASHI_CONFIG")); err != nil {
		return cfg, err
	}
	return cfg, nil
}
