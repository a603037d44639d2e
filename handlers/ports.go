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

// Forms lets a channel with native forms (Slack modals) show a dialog flow as one form
// instead of one question at a time. The same validation as in the chat dialog applies.
type Forms interface {
	// Form describes the named form ("need" for filing a need) in the person's language.
	// Returns ENOTFOUND for an unknown form.
	Form(ctx context.Context, tenant bot.TenantID, lang bot.Lang, name string) (*FormSpec, error)
	// SubmitForm validates and saves a submitted form for the sender of m (m carries EventID,
	// Platform, Tenant, UserID like any message). When fieldErrors is non-empty nothing was saved
	// and the errors (field name → Japanese message) are shown next to the fields; otherwise
	// replies are the acknowledgement to send to the person.
	SubmitForm(ctx context.Context, m *bot.Message, name string, values map[string]string) (fieldErrors map[string]string, replies []bot.Reply, err error)
}

// FormSpec is a form as a whole.
type FormSpec struct {
	Name   string
	Title  string
	Submit string
	Fields []FormField
}

// FormField is one input of a form.
type FormField struct {
	Name      string
	Label     string
	Hint      string
	Multiline bool
	// Options, when set, make the field a select; Choice.Value is what is submitted.
	Options  []bot.Choice
	Optional bool
	MaxLen   int
}

// Well-known actions that adapters produce or render.
const (
	// ActionHome asks for the person's home view (Slack App Home: my needs and my meetings).
	ActionHome = "home"
	// ActionOpenForm asks the adapter to open a native form; its Value is the form name.
	// Adapters without native forms send it to the Engine, which starts the chat dialog.
	ActionOpenForm = "form.open"
)
