package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

func init() { features = append(features, wireLineWorks) }

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
