package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// socketWorkers bounds the envelopes handled at once in Socket Mode. Slack wants each one
// acknowledged within 3 s, so one slow Dispatch must not hold up the others.
const socketWorkers = 16

// RunSocketMode connects to Slack with the app-level token (apps.connections.open) and
// handles events, interactions and slash commands from the WebSocket until ctx is done.
// Each envelope is acknowledged once it is dispatched; an envelope whose dispatch failed is
// left unacknowledged so that Slack delivers it again. It returns nil when ctx ends and an
// error when Socket Mode is not configured or Slack refuses the token.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if !a.cfg.SocketMode() {
		return errors.New("slack: Socket Mode needs " + EnvAppToken)
	}
	api := slack.New(a.cfg.BotToken,
		slack.OptionAppLevelToken(a.cfg.AppToken),
		slack.OptionAPIURL(a.cfg.APIURL),
		slack.OptionHTTPClient(a.hc),
	)
	sm := socketmode.New(api)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(ctx) }()

	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, socketWorkers)
	for {
		select {
		case <-ctx.Done():
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("slack: socket mode: %w", err)
		case evt := <-sm.Events:
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				a.onSocketEvent(ctx, sm, evt)
			}()
		}
	}
}

// onSocketEvent handles one Socket Mode event with the same code as the HTTP endpoints.
func (a *Adapter) onSocketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	var res result
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, ackBudget)
		res = a.onEvent(rctx, evt.Request.Payload)
		cancel()
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, ackBudget)
		res = a.onInteraction(rctx, &ic)
		cancel()
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, ackBudget)
		res = a.onCommand(rctx, sc)
		cancel()
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not parse the envelope (an event type it does not know). It is still
		// an envelope: acknowledge it, or Slack redelivers it three times.
		if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var req socketmode.Request
			if json.Unmarshal(bad.Message, &req) == nil && req.EnvelopeID != "" {
				a.log.Info("slack: socket mode envelope ignored", "type", req.Type, "reason", "unsupported or malformed")
				if err := sm.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
					a.log.Warn("slack: socket mode ack failed", "err", err)
				}
			}
		}
		return
	case socketmode.EventTypeConnected:
		a.log.Info("slack: socket mode connected")
		return
	case socketmode.EventTypeConnectionError:
		a.log.Warn("slack: socket mode connection error", "err", evt.Data)
		return
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("slack: socket mode token refused; check " + EnvAppToken)
		return
	default:
		return // hello, connecting, disconnect (slack-go reconnects), incoming errors
	}
	if res.status/100 != 2 {
		a.log.Warn("slack: socket mode envelope not acknowledged; Slack will redeliver", "status", res.status)
		return
	}
	if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, res.body); err != nil {
		a.log.Warn("slack: socket mode ack failed", "err", err)
		return
	}
	a.later(res.after)
}
