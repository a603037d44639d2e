package lineworks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
)

// CallbackPath is where LINE WORKS posts callbacks (SPEC §2).
const CallbackPath = "/lineworks/callback"

// MaxBodyBytes caps a callback body; LINE WORKS events are a few hundred bytes.
const MaxBodyBytes = 1 << 20

// dispatchTimeout bounds storing one event. LINE WORKS never redelivers, so the store
// gets a fair chance even when the platform hangs up early (see serveCallback).
const dispatchTimeout = 10 * time.Second

// Actions this adapter puts on bot.Message for events that are not text or buttons.
const (
	// ActionJoin: the bot was added to a room ("join"), people joined a room the bot is
	// in ("joined", Value = their user IDs, comma-separated), a 1:1 room with the bot
	// began ("begin"), or the person pressed the "start using" button. The engine greets.
	ActionJoin = "join"
	// ActionLeave: the bot was removed ("leave"), people left ("left", Value as for
	// joined), or a 1:1 room ended ("end"). Nothing should be sent in answer.
	ActionLeave = "leave"
	// ActionUnsupported: a sticker, image, file, location, audio, video or an unknown
	// event; Value is the content or event type. The engine says it only reads text.
	ActionUnsupported = "unsupported"
)

// startPostback is what LINE WORKS puts in content.postback for the "start using" button.
const startPostback = "start"

// Adapter connects Kakehashi to one LINE WORKS bot: it receives callbacks (Register)
// and sends replies (Send, implementing bot.Sender).
type Adapter struct {
	cfg      Config
	disp     handlers.Dispatcher
	log      *slog.Logger
	clock    bot.Clock
	client   *http.Client
	tokens   *tokenSource
	limiter  *limiter
	progress *progress
}

var _ bot.Sender = (*Adapter)(nil)

// New checks cfg and returns an adapter. Defaults fill APIURL, AuthURL, Scope, Rate,
// Burst, the logger (discarded), the clock and the HTTP client.
func New(cfg Config, deps Deps) (*Adapter, error) {
	for _, req := range []struct{ v, name string }{
		{cfg.BotID, EnvBotID}, {cfg.BotSecret, EnvBotSecret}, {cfg.ClientID, EnvClientID},
		{cfg.ClientSecret, EnvClientSecret}, {cfg.ServiceAccount, EnvServiceAccount},
	} {
		if strings.TrimSpace(req.v) == "" {
			return nil, fmt.Errorf("lineworks: missing %s", req.name)
		}
	}
	if cfg.PrivateKey == nil {
		return nil, fmt.Errorf("lineworks: missing %s", EnvPrivateKey)
	}
	if deps.Dispatcher == nil {
		return nil, errors.New("lineworks: Deps.Dispatcher is required: callbacks are never redelivered, so they must be stored")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	a := &Adapter{cfg: cfg, disp: deps.Dispatcher, log: deps.Logger, clock: deps.Clock, client: deps.HTTPClient}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.clock == nil {
		a.clock = bot.SystemClock
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	a.tokens = &tokenSource{
		clientID: cfg.ClientID, clientSecret: cfg.ClientSecret, serviceAccount: cfg.ServiceAccount,
		key: cfg.PrivateKey, authURL: cfg.AuthURL, scope: cfg.Scope, client: a.client, clock: a.clock,
	}
	a.limiter = newLimiter(cfg.Rate, cfg.Burst)
	a.progress = newProgress()
	return a, nil
}

// Register mounts the callback: POST /lineworks/callback.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+CallbackPath, a.serveCallback)
}

// serveCallback verifies, translates and stores one callback before acknowledging it:
// LINE WORKS never resends a callback, so a 200 must mean "stored".
func (a *Adapter) serveCallback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.Warn("lineworks: callback body too large", "limit", MaxBodyBytes)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	// Authenticate before looking inside: nothing of an unsigned body is parsed.
	if !a.validSignature(r.Header.Get("X-WORKS-Signature"), body) {
		a.log.Warn("lineworks: callback with bad signature rejected")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if got := r.Header.Get("X-WORKS-BotId"); got != a.cfg.BotID {
		a.log.Warn("lineworks: callback for another bot rejected")
		http.Error(w, "unknown bot", http.StatusForbidden)
		return
	}
	m, ev, err := a.translate(body)
	if err != nil {
		// Signed but unreadable: retrying cannot help and LINE WORKS would not retry anyway.
		a.log.Warn("lineworks: malformed callback", "err", err)
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if m == nil {
		a.log.Info("lineworks: event from an unbound domain ignored", "domain_id", ev.Source.DomainID, "type", ev.Type)
		w.WriteHeader(http.StatusOK)
		return
	}
	// Detached from the request: if LINE WORKS hangs up mid-store, the event must still
	// be stored, since it will never be sent again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), dispatchTimeout)
	defer cancel()
	if err := a.disp.Dispatch(ctx, m); err != nil {
		status := http.StatusInternalServerError
		if bot.ErrorCode(err) == bot.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
		a.log.Error("lineworks: could not store callback; LINE WORKS will not resend it",
			"event_id", m.EventID, "type", ev.Type, "domain_id", ev.Source.DomainID, "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// validSignature checks X-WORKS-Signature = base64(HMAC-SHA256(bot secret, raw body)) in constant time.
func (a *Adapter) validSignature(header string, body []byte) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(a.cfg.BotSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// event is one LINE WORKS callback (one event per request, no envelope).
type event struct {
	Type   string `json:"type"`
	Source struct {
		UserID    string `json:"userId"`
		ChannelID string `json:"channelId"`
		DomainID  flexID `json:"domainId"`
	} `json:"source"`
	IssuedTime string `json:"issuedTime"`
	Content    *struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Postback string `json:"postback"`
	} `json:"content"`
	Data    string   `json:"data"`
	Members []string `json:"members"`
}

// flexID reads domainId as a JSON number (as documented) or a string (as one JP table shows).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("domainId: %w", err)
	}
	*f = flexID(n.String())
	return nil
}

// EventID derives the message's dedupe key. LINE WORKS sends no event ID, so it is
// "lw:" + hex(SHA-256(raw body)): a byte-identical body is the same event (a proxy or
// load balancer replaying it), while two real events differ at least in issuedTime.
// The signature would do as well (it is an HMAC of the same bytes), but it changes
// when the bot secret is rotated.
func EventID(body []byte) string {
	sum := sha256.Sum256(body)
	return "lw:" + hex.EncodeToString(sum[:])
}

// translate parses a verified body into a message. It returns a nil message (and no
// error) for events of domains that are not bound to a tenant.
func (a *Adapter) translate(body []byte) (*bot.Message, *event, error) {
	ev := &event{}
	if err := json.Unmarshal(body, ev); err != nil {
		// json errors quote at most a token of the input, never the whole body, but
		// the offset is all that is needed to find the problem.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, ev, fmt.Errorf("invalid JSON at offset %d", se.Offset)
		}
		return nil, ev, errors.New("unexpected JSON shape")
	}
	tenant, ok := a.cfg.Bindings[string(ev.Source.DomainID)]
	if !ok || ev.Source.DomainID == "" {
		return nil, ev, nil
	}
	m := &bot.Message{
		EventID:  EventID(body),
		Platform: bot.PlatformLineWorks,
		Tenant:   tenant,
		UserID:   ev.Source.UserID,
		// Membership comes from the domain: everyone in a bound domain is city-hall staff.
		AutoRole: bot.RoleStaff,
		Channel:  ev.Source.ChannelID,
		At:       a.clock.Now(),
	}
	if t, err := time.Parse(time.RFC3339Nano, ev.IssuedTime); err == nil {
		m.At = t
	}
	switch ev.Type {
	case "message":
		c := ev.Content
		switch {
		case c == nil:
			m.Action = ActionUnsupported
		case c.Postback == startPostback:
			m.Action = ActionJoin
		case c.Postback != "":
			if act, val, ok := DecodePostback(c.Postback); ok {
				m.Action, m.Value = act, val
			} else {
				// Not one of ours (a persistent menu set up by hand): the label the person
				// saw is the best text to go on.
				m.Text = c.Text
			}
		case c.Type == "text":
			m.Text = c.Text
		default:
			m.Action, m.Value = ActionUnsupported, short(c.Type)
		}
	case "postback":
		if act, val, ok := DecodePostback(ev.Data); ok {
			m.Action, m.Value = act, val
		} else {
			// A rich-menu postback configured by hand ("メニュー") works as a keyword.
			m.Text = ev.Data
		}
	case "join", "begin":
		m.Action = ActionJoin
	case "joined":
		m.Action, m.Value = ActionJoin, strings.Join(ev.Members, ",")
	case "leave", "end":
		m.Action = ActionLeave
	case "left":
		m.Action, m.Value = ActionLeave, strings.Join(ev.Members, ",")
	default:
		m.Action, m.Value = ActionUnsupported, short(ev.Type)
	}
	return m, ev, nil
}

// short bounds a type name taken from outside input before it travels on as a Value.
func short(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return strings.ToValidUTF8(s, "")
}
