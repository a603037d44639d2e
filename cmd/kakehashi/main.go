// Command kakehashi runs the Kakehashi chat bot and its admin commands.
//
//	kakehashi serve [--demo]        run the bot (embedded store unless KAKEHASHI_REDIS_URL is set)
//	kakehashi tenant create ID NAME [--departments 総務課,市民課]
//	kakehashi invite create --tenant ID --role ROLE [--uses N] [--expires 720h] [--code CODE]
//	kakehashi candidates …          import, match, delete and audit the candidate pool
//	kakehashi advisers …            import and list adviser profiles
//	kakehashi help config           list every setting with its default
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "kakehashi:", err)
		os.Exit(1)
	}
}

type usageError string

func (u usageError) Error() string { return string(u) }

const usage = `usage:
  kakehashi serve [--demo]                 run the bot (web chat at KAKEHASHI_ADDR)
  kakehashi tenant create ID NAME [--departments 総務課,市民課]
  kakehashi tenant list
  kakehashi invite create --tenant ID --role ROLE [--uses N] [--expires 720h] [--code CODE]
  kakehashi outbox [list|retry ID]         dead-lettered pushes
  kakehashi candidates import FILE [--dry-run] | match --text "…" --top N [--json] | delete EXTERNAL_ID | audit | intros | answer …
  kakehashi advisers import [--tenant ID] FILE | list [--tenant ID]
  kakehashi healthcheck                    exit 0 when the running server is ready (for container health checks)
  kakehashi help config                    list every setting with its default`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(usage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "tenant":
		return tenantCmd(ctx, args[1:], stdout)
	case "invite":
		return inviteCmd(ctx, args[1:], stdout)
	case "outbox":
		return outboxCmd(ctx, args[1:], stdout)
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "config" {
			printConfigHelp(stdout)
			return nil
		}
		fmt.Fprintln(stdout, usage)
		return nil
	}
	for _, c := range extraCommands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout)
		}
	}
	return usageError("unknown command " + args[0] + "\n" + usage)
}

// extraCommands lets feature files add admin subcommands (candidates, advisers, …).
var extraCommands []struct {
	name string
	run  func(ctx context.Context, args []string, stdout io.Writer) error
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(env("KAKEHASHI_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(env("KAKEHASHI_LOG_FORMAT")) == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
