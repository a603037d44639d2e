package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

// adminApp opens the store for an admin command: a real Redis when KAKEHASHI_REDIS_URL
// is set; otherwise the embedded data dir — directly when no server runs, or through the
// running server's loopback-only embedded store (address and password in a 0600 file).
func adminApp(ctx context.Context) (*App, error) {
	cfg, err := configFromEnv()
	if err != nil {
		return nil, err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Attach = true
	cfg.NoWorker = true
	return newApp(ctx, cfg)
}

func tenantCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError("usage: kakehashi tenant create ID NAME [--departments 総務課,市民課] | kakehashi tenant list")
	}
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "list":
		ts, err := a.Members.Tenants(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Departments, ","))
		}
		return nil
	case "create":
		fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
		deps := fs.String("departments", "", "comma-separated department names")
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil {
			return usageError(err.Error())
		}
		if len(pos) != 2 {
			return usageError("usage: kakehashi tenant create ID NAME [--departments 総務課,市民課]")
		}
		t := &bot.Tenant{ID: bot.TenantID(pos[0]), Name: pos[1], DXChannel: "web"}
		if *deps != "" {
			t.Departments = strings.Split(*deps, ",")
		}
		if err := a.Members.CreateTenant(ctx, t); err != nil {
			return errors.New(bot.ErrorMessage(err) + " " + err.Error())
		}
		fmt.Fprintf(stdout, "tenant %s (%s) saved\n", t.ID, t.Name)
		return nil
	}
	return usageError("unknown tenant command " + args[0])
}

func inviteCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError("usage: kakehashi invite create --tenant ID --role ROLE [--uses N] [--expires 720h] [--code CODE]")
	}
	fs := flag.NewFlagSet("invite create", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant ID")
	role := fs.String("role", "staff", "staff, dx_lead, adviser, mayor, admin or candidate")
	uses := fs.Int("uses", 1, "how many people may use the code (-1 = unlimited)")
	expires := fs.Duration("expires", 30*24*time.Hour, "validity")
	code := fs.String("code", "", "the code (random when empty)")
	if _, err := parseInterleaved(fs, args[1:]); err != nil {
		return usageError(err.Error())
	}
	if *tenant == "" || !bot.Role(*role).Valid() {
		return usageError("invite create needs --tenant and a valid --role (staff, dx_lead, adviser, mayor, admin, candidate)")
	}
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Members.Tenant(ctx, bot.TenantID(*tenant)); err != nil {
		return fmt.Errorf("tenant %s: %s", *tenant, bot.ErrorMessage(err))
	}
	c := *code
	if c == "" {
		t := strings.ToUpper(store.NewToken())
		c = t[:4] + "-" + t[4:8]
	}
	inv := &bot.Invite{Code: c, Tenant: bot.TenantID(*tenant), Role: bot.Role(*role), UsesLeft: *uses, ExpiresAt: time.Now().Add(*expires)}
	if err := a.Members.CreateInvite(ctx, inv); err != nil {
		return errors.New(bot.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "invite %s: tenant %s, role %s, uses %d, expires %s\n", inv.Code, inv.Tenant, inv.Role, inv.UsesLeft, inv.ExpiresAt.In(bot.Tokyo).Format("2006-01-02 15:04"))
	return nil
}

func outboxCmd(ctx context.Context, args []string, stdout io.Writer) error {
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if len(args) >= 2 && args[0] == "retry" {
		if err := a.Queue.Retry(ctx, args[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %s queued again\n", args[1])
		return nil
	}
	dead, err := a.Queue.Dead(ctx)
	if err != nil {
		return err
	}
	if len(dead) == 0 {
		fmt.Fprintln(stdout, "no dead-lettered jobs")
		return nil
	}
	for _, j := range dead {
		fmt.Fprintf(stdout, "%s\t%s\tattempts=%d\t%s\n", j.ID, j.Kind, j.Attempts, j.LastErr)
	}
	return nil
}

// parseInterleaved parses flags that may come before or after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
