package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/line"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
	"github.com/kakehashi/kakehashi/handlers/slack"
	"github.com/kakehashi/kakehashi/handlers/web"
)

func init() { features = append(features, wireLineWorks, wireSlack, wireLINE) }

// getenv is how channel adapters read their settings: they decide for themselves which
// variables turn them on, so they must not see our defaults.
var getenv = os.Getenv

// wireLineWorks turns LINE WORKS on when its settings are present: the callback route, the
// sender for pushes, and domain → tenant bindings from the YAML file.
func wireLineWorks(_ context.Context, a *App) error {
	cfg, on, err := lineworks.ConfigFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("LINE WORKS: %w", err)
	}
	if !on {
		return nil
	}
	_, cfg.Bindings = a.bindings()
	ad, err := lineworks.New(cfg, lineworks.Deps{Dispatcher: a.Outbox, Logger: a.Logger, Clock: a.Clock})
	if err != nil {
		return fmt.Errorf("LINE WORKS: %w", err)
	}
	a.Outbox.Senders[bot.PlatformLineWorks] = ad
	a.routes = append(a.routes, ad.Register)
	a.Logger.Info("channel on", "platform", "lineworks", "bindings", len(cfg.Bindings))
	return nil
}

// wireSlack turns Slack on: HTTP endpoints when the signing secret is set, Socket Mode
// when the app token is set (both may run), team → tenant bindings from the YAML file.
func wireSlack(_ context.Context, a *App) error {
	cfg, on, err := slack.ConfigFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("Slack: %w", err)
	}
	if !on {
		return nil
	}
	cfg.Bindings, _ = a.bindings()
	if v := getenv("KAKEHASHI_SLACK_POST_INTERVAL"); v != "" {
		if cfg.PostInterval, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("KAKEHASHI_SLACK_POST_INTERVAL: %q is not a duration (e.g. 1s)", v)
		}
	}
	ad, err := slack.New(cfg, slack.Deps{Dispatcher: a.Outbox, Engine: a, Forms: a.Bot, Logger: a.Logger})
	if err != nil {
		return fmt.Errorf("Slack: %w", err)
	}
	a.Outbox.Senders[bot.PlatformSlack] = ad
	a.closers = append(a.closers, func() {
		// App Home publishing and form acknowledgements still running finish first.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ad.Shutdown(ctx)
	})
	if cfg.SigningSecret != "" {
		a.routes = append(a.routes, ad.Register)
	}
	if cfg.AppToken != "" {
		a.starters = append(a.starters, func(ctx context.Context) {
			if err := ad.RunSocketMode(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Error("slack socket mode stopped", "err", err)
			}
		})
	}
	a.Logger.Info("channel on", "platform", "slack", "http", cfg.SigningSecret != "", "socket_mode", cfg.AppToken != "", "bindings", len(cfg.Bindings))
	return nil
}

// wireLINE turns LINE on: the webhook and the sender. LINE users have no workspace, so
// their tenant comes from the invite code they joined with.
func wireLINE(_ context.Context, a *App) error {
	cfg, on, err := line.ConfigFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("LINE: %w", err)
	}
	if !on {
		return nil
	}
	ad, err := line.New(cfg, line.Deps{Dispatcher: a.Outbox, Logger: a.Logger, Clock: a.Clock})
	if err != nil {
		return fmt.Errorf("LINE: %w", err)
	}
	// LINE cannot carry files: attachments travel as links (images as https URLs).
	files := &web.PublicFiles{Store: a.Web.Store, BaseURL: publicURL()}
	a.Outbox.Senders[bot.PlatformLINE] = web.WithLinks(ad, files)
	a.routes = append(a.routes, ad.Register, files.Register)
	a.Logger.Info("channel on", "platform", "line")
	return nil
}

// publicURL is where people's devices reach this server (links in LINE messages).
func publicURL() string {
	if u := env("KAKEHASHI_PUBLIC_URL"); u != "" {
		return u
	}
	return "http://" + env("KAKEHASHI_ADDR")
}
