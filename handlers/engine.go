package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/store"
)

// unknownTenant keys the conversations of people who are not members of any tenant yet.
const unknownTenant bot.TenantID = "_"

// MsgBusy is what people see when the store cannot be reached.
var MsgBusy = dialog.T("ただいま処理が混み合っています。少し後でもう一度お試しください。",
	"We are busy right now. Please try again in a moment.")

// Bot is the Engine: it turns one inbound message into replies, keeping per-conversation
// order across replicas (a Redis lock per conversation), dropping redeliveries (a
// processed-event marker), and storing the dialog state with a TTL.
type Bot struct {
	Mux       *Mux
	Members   *store.MembershipService
	Convs     *store.Conversations
	Clock     bot.Clock
	Logger    *slog.Logger
	DraftTTL  time.Duration
	tenantsMu sync.Mutex
	tenantsAt map[bot.TenantID]time.Time
	tenants   map[bot.TenantID]*bot.Tenant
	BusyWait  time.Duration
}

var _ Engine = (*Bot)(nil)

// Handle processes one message. Redeliveries return no replies and no error.
func (b *Bot) Handle(ctx context.Context, m *bot.Message) ([]bot.Reply, error) {
	return b.HandleThen(ctx, m, nil)
}

// HandleThen is Handle with a step between computing the replies and committing the
// conversation: keep stores the replies durably (the outbox queues their delivery). If
// keep fails, nothing is committed and the lock is released, so a redelivery computes
// and keeps the replies again; once committed, the replies are already safe. Without
// it, a crash between commit and queueing would lose the answer: the redelivered event
// would be a duplicate.
func (b *Bot) HandleThen(ctx context.Context, m *bot.Message, keep func(ctx context.Context, replies []bot.Reply) error) ([]bot.Reply, error) {
	now := b.Clock.Now()
	if m.At.IsZero() {
		m.At = now
	}
	id := bot.Identity{Platform: m.Platform, UserID: m.UserID}
	tenant := m.Tenant
	if tenant == "" {
		t, err := b.Members.CurrentTenant(ctx, id)
		if err != nil {
			return []bot.Reply{bot.Text(MsgBusy.In(langOf(nil, m)))}, err
		}
		tenant = t
	}
	if tenant == "" {
		tenant = unknownTenant
	} else if m.Tenant == "" {
		// Channels without a workspace binding (LINE) learn the tenant here; their
		// deliveries need it for per-tenant limits and links.
		m.Tenant = tenant
	}
	cl, err := b.claim(ctx, tenant, id, m.EventID)
	if err != nil {
		return []bot.Reply{bot.Text(MsgBusy.In(langOf(nil, m)))}, err
	}
	if cl.Duplicate {
		return nil, nil
	}
	replies, state, flow, herr := b.process(ctx, m, cl, tenant, id, now)
	if keep != nil && len(replies) > 0 {
		if err := keep(ctx, replies); err != nil {
			b.Convs.Release(ctx, cl)
			return nil, err
		}
	}
	var stateJSON string
	if state != nil {
		raw, _ := json.Marshal(state)
		stateJSON = string(raw)
	}
	if err := b.Convs.Commit(ctx, cl, m.EventID, stateJSON, b.DraftTTL, flow); err != nil {
		return []bot.Reply{bot.Text(MsgBusy.In(langOf(nil, m)))}, err
	}
	return replies, herr
}

func (b *Bot) claim(ctx context.Context, tenant bot.TenantID, id bot.Identity, eventID string) (*store.Claim, error) {
	wait := 2 * time.Millisecond
	deadline := time.Now().Add(b.BusyWait)
	for {
		cl, err := b.Convs.Claim(ctx, tenant, id, eventID)
		if !errors.Is(err, store.ErrBusy) {
			return cl, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("handlers: conversation still busy after %s: %w", b.BusyWait, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

func (b *Bot) process(ctx context.Context, m *bot.Message, cl *store.Claim, tenant bot.TenantID, id bot.Identity, now time.Time) (replies []bot.Reply, state *dialog.State, flow string, err error) {
	req := &Request{Msg: m, Now: now}
	if cl.Person != "" {
		var p bot.Person
		if jerr := json.Unmarshal([]byte(cl.Person), &p); jerr == nil {
			req.Person = &p
		}
	}
	if req.Person == nil && m.AutoRole != "" && tenant != unknownTenant {
		p, perr := b.Members.EnsureMember(ctx, tenant, id, m.AutoRole, m.DisplayName)
		if perr != nil {
			return []bot.Reply{bot.Text(MsgBusy.In(langOf(nil, m)))}, nil, "", perr
		}
		req.Person = p
	}
	req.Lang = langOf(req.Person, m)
	if tenant != unknownTenant {
		t, terr := b.tenant(ctx, tenant)
		if terr == nil {
			req.Tenant = t
		}
	}
	if cl.State != "" {
		var s dialog.State
		if jerr := json.Unmarshal([]byte(cl.State), &s); jerr == nil {
			req.State = &s
		}
	}
	w := &Response{}
	if cl.Gone != "" {
		w.Text(req.T("前回の入力は30分以上操作がなかったため、下書きを破棄しました。お手数ですが、もう一度最初からお願いします。",
			"Your previous draft expired after 30 minutes without activity and was discarded. Please start again."))
		if m.Action == dialog.ActAnswer || m.Action == dialog.ActSubmit || m.Action == dialog.ActEdit ||
			m.Action == dialog.ActBack || m.Action == dialog.ActSkip || m.Action == dialog.ActCancel {
			// A button of the expired draft: explaining is all we can do.
			w.Reply(bot.Reply{Text: req.T("「メニュー」でできることを表示します。", "Type \"menu\" to see what you can do."),
				Choices: []bot.Choice{{Label: req.T("メニュー", "Menu"), Action: "menu"}}})
			return w.Replies, nil, "", nil
		}
	}
	err = b.Mux.Serve(ctx, w, req)
	if err != nil {
		msg := bot.ErrorMessage(err)
		if msg == "" {
			msg = req.T("申し訳ありません。処理中に問題が発生しました。少し後でもう一度お試しください。", "Sorry, something went wrong. Please try again in a moment.")
		}
		w.Text(msg)
	}
	if w.State != nil {
		flow = w.State.Flow
	}
	return w.Replies, w.State, flow, err
}

// tenant returns a tenant from a short-lived cache: tenants change rarely and are read on every message.
func (b *Bot) tenant(ctx context.Context, id bot.TenantID) (*bot.Tenant, error) {
	b.tenantsMu.Lock()
	if b.tenants == nil {
		b.tenants, b.tenantsAt = map[bot.TenantID]*bot.Tenant{}, map[bot.TenantID]time.Time{}
	}
	if t, ok := b.tenants[id]; ok && time.Since(b.tenantsAt[id]) < 30*time.Second {
		b.tenantsMu.Unlock()
		return t, nil
	}
	b.tenantsMu.Unlock()
	t, err := b.Members.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	b.tenantsMu.Lock()
	b.tenants[id], b.tenantsAt[id] = t, time.Now()
	b.tenantsMu.Unlock()
	return t, nil
}

func langOf(p *bot.Person, m *bot.Message) bot.Lang {
	if p != nil && p.Lang != "" {
		return p.Lang
	}
	if len(m.Locale) >= 2 && m.Locale[:2] == "en" {
		return bot.LangEN
	}
	return bot.LangJA
}
