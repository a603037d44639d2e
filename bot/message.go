package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Message is one inbound event from any channel, already translated by its adapter.
type Message struct {
	// EventID is the platform's delivery ID (Slack event_id, LINE webhookEventId, …);
	// a second message with the same EventID is a redelivery and gets no second reply.
	EventID  string
	Platform Platform
	// Tenant is set when the channel itself determines it (a bound Slack workspace,
	// a LINE WORKS domain, a web session); empty means "the identity's current tenant".
	Tenant TenantID
	// UserID is the platform user ID.
	UserID      string
	DisplayName string
	// Text is what the person typed; Action/Value are set for a button press.
	Text   string
	Action string
	Value  string
	// AutoRole makes an unknown sender a member with this role (a bound workspace makes its members staff).
	AutoRole Role
	// Locale is the platform's locale hint ("en-US", "ja").
	Locale string
	At     time.Time
	// Channel is the platform's room for the answer (a Slack DM or channel, a LINE WORKS channel);
	// empty means a direct message to UserID.
	Channel string
	// ReplyToken is LINE's one-shot reply token, valid for a short time after At.
	ReplyToken string
}

// Conversation identifies one person's dialog on one platform.
func (m *Message) Conversation() string { return string(m.Platform) + ":" + m.UserID }

// Reply is the platform-neutral outbound message every adapter renders.
type Reply struct {
	Text        string       `json:"text"`
	Choices     []Choice     `json:"choices"`
	Fields      []Field      `json:"fields"`
	Attachments []Attachment `json:"attachments"`
	// Kind hints renderers at a richer layout ("need_card", "candidate_card", "meeting_card", "digest"); optional.
	Kind string `json:"kind,omitempty"`
}

// Choice is a button or quick reply.
type Choice struct {
	Label  string `json:"label"`
	Action string `json:"action"`
	Value  string `json:"value"`
}

// Field is one label → value line of a card.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Attachment is a file sent with a reply: an .ics invite or a PNG chart.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	URL         string `json:"url"`
	// Alt describes an image for people who cannot see it.
	Alt string `json:"alt,omitempty"`
	// Data is the content; adapters upload it or store it behind URL.
	Data []byte `json:"-"`
}

// MarshalJSON always writes the list fields as arrays, never null, as SPEC §8 shows them.
func (r Reply) MarshalJSON() ([]byte, error) {
	type plain Reply
	p := plain(r)
	if p.Choices == nil {
		p.Choices = []Choice{}
	}
	if p.Fields == nil {
		p.Fields = []Field{}
	}
	if p.Attachments == nil {
		p.Attachments = []Attachment{}
	}
	return json.Marshal(p)
}

// Text returns a plain text reply.
func Text(s string) Reply { return Reply{Text: s} }

// Recipient addresses a push to a member.
type Recipient struct {
	Tenant TenantID `json:"tenant"`
	Person PersonID `json:"person"`
}

// Messenger pushes replies to people outside of a conversation turn (notifications,
// meeting pings, digests). Implementations are durable and idempotent: a second
// Push with the same key never delivers a second message.
type Messenger interface {
	Push(ctx context.Context, to Recipient, r Reply, key string) error
}

// Delivery is one or more replies for one platform identity.
type Delivery struct {
	Tenant TenantID
	// UserID is the platform user ID; Channel, when set, is the room to post in instead of a DM.
	UserID  string
	Channel string
	// ReplyToken is LINE's reply token when the delivery answers a fresh inbound event.
	ReplyToken string
	// ReplyTokenAt is when the token was issued; LINE tokens are only good for about a minute.
	ReplyTokenAt time.Time
	Replies      []Reply
	// Key is stable across retries of the same delivery (LINE X-Line-Retry-Key is derived from it).
	Key string
}

// Sender delivers replies to one platform; each channel adapter implements it.
// Returns a *RetryAfterError when the platform asked to slow down, and an error
// satisfying errors.Is(err, ErrPermanent) when retrying cannot help (bad recipient, 4xx).
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}

// ErrPermanent marks a delivery failure that no retry can fix.
var ErrPermanent = errors.New("permanent delivery failure")

// RetryAfterError tells the outbox to try again no sooner than After.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return "retry after " + e.After.String() + ": " + e.Err.Error()
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, d Delivery) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, d Delivery) error { return f(ctx, d) }
