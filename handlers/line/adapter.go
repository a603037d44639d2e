package line

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

// WebhookPath is where LINE posts events; configure it as the channel's webhook URL.
const WebhookPath = "/line/webhook"

// MaxBodyBytes caps a webhook body. LINE's are a few KB; the SDK itself reads without a cap.
const MaxBodyBytes = 1 << 20

// dispatchTimeout bounds storing one webhook's events. LINE counts an answer slower than
// about a second as a failure anyway; past this, 503 and LINE's redelivery are the better path.
const dispatchTimeout = 3 * time.Second

// Deps are the adapter's collaborators.
type Deps struct {
	// Dispatcher stores inbound messages durably for asynchronous processing. Required.
	Dispatcher handlers.Dispatcher
	// Logger receives structured logs without personal data; nil discards them.
	Logger *slog.Logger
	// Clock decides whether a reply token is still fresh; nil means the wall clock.
	Clock bot.Clock
	// HTTPClient calls the Messaging API; nil means a client with a 20 s timeout. Set it
	// for an outbound proxy, which municipal networks often require.
	HTTPClient *http.Client
}

// Adapter is the LINE channel: the webhook handler and the bot.Sender.
type Adapter struct {
	cfg        Config
	dispatcher handlers.Dispatcher
	log        *slog.Logger
	clock      bot.Clock
	http       *http.Client
}

var _ bot.Sender = (*Adapter)(nil)

// New checks cfg and returns the adapter. It refuses an empty channel secret because
// the SDK's ValidateSignature would accept bodies signed with the empty key by anyone.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Dispatcher == nil {
		return nil, errors.New("line: Deps.Dispatcher is required")
	}
	a := &Adapter{cfg: cfg, dispatcher: deps.Dispatcher, log: deps.Logger, clock: deps.Clock, http: deps.HTTPClient}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.clock == nil {
		a.clock = bot.SystemClock
	}
	if a.http == nil {
		// Every call goes to one host: keep enough idle connections for the outbox workers,
		// where the default of 2 re-dials under load.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		a.http = &http.Client{Timeout: 20 * time.Second, Transport: t}
	}
	a.log = a.log.With("channel", string(bot.PlatformLINE))
	return a, nil
}

// Register mounts POST /line/webhook; other methods get 405 from the mux.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.Handle("POST "+WebhookPath, http.HandlerFunc(a.serveWebhook))
}

// serveWebhook verifies, translates and stores, then acknowledges. Its log lines carry
// event IDs and counts only: the body holds what people typed and their LINE user IDs.
func (a *Adapter) serveWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.Warn("line: webhook body over the size limit", "limit", MaxBodyBytes)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		a.log.Warn("line: reading webhook body failed")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	// Verify on the exact raw bytes before any parsing: nothing unsigned is trusted.
	sig := r.Header.Get("X-Line-Signature")
	if sig == "" || !webhook.ValidateSignature(a.cfg.ChannelSecret, sig, body) {
		a.log.Warn("line: webhook signature invalid", "remote", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}

	// Events are parsed one by one with the SDK so that one event it cannot read (a new
	// type with a surprising shape) does not make LINE redeliver — and us drop — the rest.
	var envelope struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		// The decoder's error may quote the body; log a fixed message.
		a.log.Warn("line: webhook body is not a LINE callback")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if len(envelope.Events) == 0 {
		// LINE's "Verify" button and connectivity checks send events: [].
		w.WriteHeader(http.StatusOK)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), dispatchTimeout)
	defer cancel()
	dispatched, ignored := 0, 0
	for i, raw := range envelope.Events {
		ev, err := webhook.UnmarshalEvent(raw)
		if err != nil {
			a.log.Warn("line: skipping an event the SDK cannot parse", "index", i)
			ignored++
			continue
		}
		m, info, ok := translate(ev)
		if !ok {
			a.log.Debug("line: event ignored", "index", i, "type", ev.GetType(), "reason", info.reason)
			ignored++
			continue
		}
		if m.EventID == "" {
			m.EventID = syntheticEventID(raw)
			a.log.Warn("line: event without webhookEventId; using a content hash", "event_id", m.EventID)
		}
		if info.redelivery {
			// The reply token of a redelivered event is usually spent or stale; At keeps the
			// original event time so that Send's freshness check falls back to push.
			a.log.Info("line: redelivered event", "event_id", m.EventID, "type", ev.GetType())
		}
		if err := a.dispatcher.Dispatch(ctx, m); err != nil {
			status := http.StatusInternalServerError
			if bot.ErrorCode(err) == bot.EUNAVAILABLE || errors.Is(err, context.DeadlineExceeded) {
				status = http.StatusServiceUnavailable
			}
			// Non-2xx makes LINE redeliver (when redelivery is on); events stored before this
			// one come back with the same webhookEventId and are dropped as duplicates.
			a.log.Error("line: dispatch failed", "event_id", m.EventID, "status", status, "err", err)
			http.Error(w, http.StatusText(status), status)
			return
		}
		dispatched++
	}
	a.log.Debug("line: webhook handled", "events", len(envelope.Events), "dispatched", dispatched, "ignored", ignored)
	w.WriteHeader(http.StatusOK)
}

// eventInfo explains translate's decision to the log.
type eventInfo struct {
	redelivery bool
	reason     string
}

// translate maps one SDK event to a bot.Message; ok is false for events the bot ignores.
func translate(ev webhook.EventInterface) (m *bot.Message, info eventInfo, ok bool) {
	var (
		source     webhook.SourceInterface
		mode       webhook.EventMode
		id, token  string
		ts         int64
		delivery   *webhook.DeliveryContext
		text       string
		action     string
		value      string
		hasContent bool
	)
	switch e := ev.(type) {
	case webhook.MessageEvent:
		source, mode, id, token, ts, delivery = e.Source, e.Mode, e.WebhookEventId, e.ReplyToken, e.Timestamp, e.DeliveryContext
		t, isText := e.Message.(webhook.TextMessageContent)
		if !isText {
			return nil, eventInfo{reason: "not a text message"}, false
		}
		text, hasContent = t.Text, true
	case webhook.PostbackEvent:
		source, mode, id, token, ts, delivery = e.Source, e.Mode, e.WebhookEventId, e.ReplyToken, e.Timestamp, e.DeliveryContext
		if e.Postback == nil {
			return nil, eventInfo{reason: "postback without content"}, false
		}
		action, value = DecodePostback(e.Postback.Data)
		if picked, ok := pickedValue(e.Postback.Params); ok {
			value = picked
		}
		hasContent = action != "" || value != ""
	case webhook.FollowEvent:
		source, mode, id, token, ts, delivery = e.Source, e.Mode, e.WebhookEventId, e.ReplyToken, e.Timestamp, e.DeliveryContext
		action, hasContent = "follow", true
		if e.Follow != nil && e.Follow.IsUnblocked {
			value = "unblocked"
		}
	case webhook.UnfollowEvent:
		source, mode, id, ts, delivery = e.Source, e.Mode, e.WebhookEventId, e.Timestamp, e.DeliveryContext
		action, hasContent = "unfollow", true
	default:
		return nil, eventInfo{reason: "event type not used"}, false
	}
	if delivery != nil {
		info.redelivery = delivery.IsRedelivery
	}
	if mode == webhook.EventMode_STANDBY {
		// Another module channel holds the chat; answering would talk over it.
		info.reason = "standby mode"
		return nil, info, false
	}
	user, isUser := source.(webhook.UserSource)
	if !isUser || user.UserId == "" {
		info.reason = "not a one-to-one chat"
		return nil, info, false
	}
	if !hasContent {
		info.reason = "empty postback"
		return nil, info, false
	}
	return &bot.Message{
		EventID:    id,
		Platform:   bot.PlatformLINE,
		UserID:     user.UserId,
		Text:       text,
		Action:     action,
		Value:      value,
		At:         time.UnixMilli(ts).UTC(),
		ReplyToken: token,
	}, info, true
}

// pickedValue turns a date/time picker's answer into the form the engine's date parser
// reads ("2026-11-28T19:00" → "2026-11-28 19:00").
func pickedValue(params map[string]string) (string, bool) {
	if v := params["datetime"]; v != "" {
		return strings.Replace(v, "T", " ", 1), true
	}
	if v := params["date"]; v != "" {
		return v, true
	}
	if v := params["time"]; v != "" {
		return v, true
	}
	return "", false
}

// syntheticEventID stands in for a missing webhookEventId (LINE always sends one; old
// fixtures and proxies may not). It hashes the event without its deliveryContext, so a
// redelivery of the same event gets the same ID and is still deduplicated.
func syntheticEventID(raw json.RawMessage) string {
	// Decode fully and re-encode: sorted keys and no white space make the hash independent
	// of how the JSON was laid out; UseNumber keeps millisecond timestamps exact.
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fields); err == nil {
		delete(fields, "deliveryContext")
		if canon, err := json.Marshal(fields); err == nil {
			raw = canon
		}
	}
	sum := sha256.Sum256(raw)
	return "sha256-" + hex.EncodeToString(sum[:16])
}
