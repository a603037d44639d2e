package handlers

import (
	"context"
	"encoding/json"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

var _ Forms = (*Bot)(nil)

// Form describes a registered flow as one native form (a Slack modal).
func (b *Bot) Form(ctx context.Context, tenant bot.TenantID, lang bot.Lang, name string) (*FormSpec, error) {
	fl, ok := b.Mux.FlowByName(name)
	if !ok {
		return nil, bot.Errorf(bot.ENOTFOUND, "フォーム %s はありません。", name)
	}
	t, _ := b.tenant(ctx, tenant)
	r := &Request{Msg: &bot.Message{}, Tenant: t, Lang: lang, Now: b.Clock.Now(), State: &dialog.State{Flow: name, Slots: map[string]string{}}}
	f, err := fl.Form(ctx, r)
	if err != nil {
		return nil, err
	}
	spec := &FormSpec{Name: name, Title: f.Title.In(lang), Submit: dialog.T("登録", "Submit").In(lang)}
	if f.SubmitLabel.JA != "" {
		spec.Submit = f.SubmitLabel.In(lang)
	}
	for _, fd := range f.Fields {
		ff := FormField{Name: fd.Name, Label: fd.Label.In(lang), Hint: fd.Prompt.In(lang), Optional: fd.Optional, MaxLen: fd.MaxLen, Multiline: fd.Multiline}
		if fd.Choices != nil && fd.Strict {
			ff.Options = fd.Choices(r.State)
		}
		spec.Fields = append(spec.Fields, ff)
	}
	return spec, nil
}

// SubmitForm validates a whole form with the same rules as the chat dialog and, when it
// is valid, saves it through the flow's Submit inside the sender's conversation.
func (b *Bot) SubmitForm(ctx context.Context, m *bot.Message, name string, values map[string]string) (map[string]string, []bot.Reply, error) {
	fl, ok := b.Mux.FlowByName(name)
	if !ok {
		return nil, nil, bot.Errorf(bot.ENOTFOUND, "フォーム %s はありません。", name)
	}
	now := b.Clock.Now()
	id := bot.Identity{Platform: m.Platform, UserID: m.UserID}
	tenant := m.Tenant
	if tenant == "" {
		tenant = unknownTenant
	}
	cl, err := b.claim(ctx, tenant, id, m.EventID)
	if err != nil {
		return nil, nil, err
	}
	if cl.Duplicate {
		return nil, nil, nil
	}
	var fieldErrs map[string]string
	var state *dialog.State
	var replies []bot.Reply
	var herr error
	func() {
		req := &Request{Msg: m, Now: now}
		if cl.Person != "" {
			var p bot.Person
			if json.Unmarshal([]byte(cl.Person), &p) == nil {
				req.Person = &p
			}
		}
		if req.Person == nil && m.AutoRole != "" && tenant != unknownTenant {
			req.Person, herr = b.Members.EnsureMember(ctx, tenant, id, m.AutoRole, m.DisplayName)
			if herr != nil {
				return
			}
		}
		if req.Person == nil {
			replies = []bot.Reply{bot.Text(dialog.T("ご利用には招待コードでの参加が必要です。", "Please join with an invite code first.").In(langOf(nil, m)))}
			return
		}
		req.Lang = langOf(req.Person, m)
		req.Tenant, _ = b.tenant(ctx, tenant)
		s := &dialog.State{Flow: name, Slots: map[string]string{}, Data: map[string]string{"similar_done": "1"}, Draft: name + "-form-" + m.EventID, Started: now}
		req.State = s
		f, err := fl.Form(ctx, req)
		if err != nil {
			herr = err
			return
		}
		for i, fd := range f.Fields {
			if fd.Skip != nil && fd.Skip(s) {
				continue
			}
			v := values[fd.Name]
			if v == "" && fd.Optional {
				continue
			}
			got, prob := f.Check(i, v, s)
			if prob != nil {
				if fieldErrs == nil {
					fieldErrs = map[string]string{}
				}
				fieldErrs[fd.Name] = prob.Msg.In(req.Lang)
				continue
			}
			s.Slots[fd.Name] = got
		}
		if len(fieldErrs) > 0 {
			return
		}
		w := &Response{}
		herr = fl.Submit(ctx, w, req, s)
		replies, state = w.Replies, w.State
		if herr != nil {
			if msg := bot.ErrorMessage(herr); msg != "" {
				replies = append(replies, bot.Text(msg))
			}
		}
	}()
	var stateJSON, flow string
	if state != nil {
		raw, _ := json.Marshal(state)
		stateJSON, flow = string(raw), state.Flow
	}
	if len(fieldErrs) > 0 {
		// Nothing saved: leave the event unmarked so the corrected form is processed.
		b.Convs.Release(ctx, cl)
		return fieldErrs, nil, nil
	}
	if err := b.Convs.Commit(ctx, cl, m.EventID, stateJSON, b.DraftTTL, flow); err != nil {
		return nil, nil, err
	}
	return nil, replies, herr
}
