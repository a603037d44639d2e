package handlers

import (
	"context"

	"github.com/kakehashi/kakehashi/bot"
)

// Engine runs one inbound message through membership, the conversation state and the
// router, and returns the replies for its sender. A redelivered message (same EventID)
// returns no replies.
type Engine interface {
	Handle(ctx context.Context, m *bot.Message) ([]bot.Reply, error)
}

// EngineFunc adapts a function to Engine.
type EngineFunc func(ctx context.Context, m *bot.Message) ([]bot.Reply, error)

// Handle calls f.
func (f EngineFunc) Handle(ctx context.Context, m *bot.Message) ([]bot.Reply, error) {
	return f(ctx, m)
}

// Dispatcher takes an inbound message for asynchronous processing. When Dispatch returns
// nil the message is stored durably: it will be processed once (duplicates by EventID are
// dropped) and its replies delivered through the platform's bot.Sender. Channel adapters
// call it after verifying and parsing a webhook, then acknowledge the platform at once.
// Returns an error wrapping bot.EUNAVAILABLE when the store is down (answer 503 where the platform retries).
type Dispatcher interface {
	Dispatch(ctx context.Context, m *bot.Message) error
}

// DispatcherFunc adapts a function to Dispatcher.
type DispatcherFunc func(ctx context.Context, m *bot.Message) error

// Dispatch calls f.
func (f DispatcherFunc) Dispatch(ctx context.Context, m *bot.Message) error { return f(ctx, m) }
