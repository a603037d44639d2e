package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
)

// emptyCommandText is what a bare "/kakehashi" sends: the menu (SPEC §3).
const emptyCommandText = "メニュー"

// tenant returns the tenant a Slack team is bound to.
func (a *Adapter) tenant(teamID string) (bot.TenantID, bool) {
	t, ok := a.cfg.Bindings[teamID]
	return t, ok && teamID != "" && t != ""
}

func (a *Adapter) unbound(kind, teamID string) {
	// team_id names a workspace, not a person.
	a.log.Info("slack: ignored, team not bound to a tenant", "kind", kind, "team_id", teamID)
}

// onEvent handles one Events API payload (HTTP body or Socket Mode envelope payload).
func (a *Adapter) onEvent(ctx context.Context, raw []byte) result {
	ev, err := slackevents.ParseEvent(json.RawMessage(raw), slackevents.OptionNoVerifyToken())
	if err != nil {
		if !json.Valid(raw) {
			return result{status: http.StatusBadRequest}
		}
		// A well-formed event we do not know: acknowledge it, or Slack keeps retrying.
		a.log.Info("slack: event ignored", "reason", "unsupported or malformed event")
		return ok200
	}
	switch ev.Type {
	case slackevents.URLVerification:
		uv, _ := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if uv == nil {
			return result{status: http.StatusBadRequest}
		}
		return result{status: http.StatusOK, body: map[string]string{"challenge": uv.Challenge}}
	case slackevents.AppRateLimited:
		a.log.Warn("slack: Events API rate limited for a workspace", "team_id", ev.TeamID)
		return ok200
	case slackevents.CallbackEvent:
	default:
		return ok200
	}
	cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if cb == nil {
		return ok200
	}
	teamID := ev.TeamID
	tenant, bound := a.tenant(teamID)
	if !bound {
		a.unbound("event", teamID)
		return ok200
	}
	var botUsers []string
	for _, au := range cb.Authorizations {
		if au.IsBot && au.UserID != "" {
			botUsers = append(botUsers, au.UserID)
		}
	}
	isBot := func(user string) bool { return slices.Contains(botUsers, user) }
	m := &bot.Message{
		EventID:  cb.EventID,
		Platform: bot.PlatformSlack,
		Tenant:   tenant,
		At:       a.clock.Now(),
	}
	if cb.EventTime > 0 {
		m.At = time.Unix(int64(cb.EventTime), 0)
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		// Only what a person typed in a DM with the bot; channel messages reach us as app_mention.
		if e.BotID != "" || (e.SubType != "" && e.SubType != "file_share") || !e.IsIM() || e.User == "" || isBot(e.User) {
			return ok200
		}
		m.UserID, m.Channel = e.User, e.Channel
		m.Text = plainText(stripMentions(e.Text, botUsers))
		if t, ok := slackTime(e.TimeStamp); ok {
			m.At = t
		}
		if m.EventID == "" {
			m.EventID = teamID + ":" + e.Channel + ":" + e.TimeStamp
		}
		a.enrich(ctx, m, teamID, e.UserTeam)
	case *slackevents.AppMentionEvent:
		if e.BotID != "" || e.Edited != nil || e.User == "" || isBot(e.User) {
			return ok200
		}
		m.UserID, m.Channel = e.User, e.Channel
		m.Text = plainText(stripMentions(e.Text, botUsers))
		if t, ok := slackTime(e.TimeStamp); ok {
			m.At = t
		}
		if m.EventID == "" {
			m.EventID = teamID + ":" + e.Channel + ":" + e.TimeStamp
		}
		a.enrich(ctx, m, teamID, e.UserTeam)
	case *slackevents.AppHomeOpenedEvent:
		// The event also fires for the Messages tab, which needs no view.
		if e.Tab != "home" || e.User == "" || a.deps.Engine == nil {
			return ok200
		}
		m.UserID, m.Channel = e.User, e.Channel
		m.Action = handlers.ActionHome
		if m.EventID == "" {
			m.EventID = teamID + ":home:" + e.User + ":" + e.EventTimeStamp
		}
		a.enrich(ctx, m, teamID, "")
		return result{status: http.StatusOK, after: func(ctx context.Context) { a.publishHome(ctx, m) }}
	default:
		return ok200
	}
	return a.dispatch(ctx, m)
}

// slackTime parses a Slack ts ("1595926230.009600").
func slackTime(ts string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}, false
	}
	var ns int64
	if len(frac) > 0 && len(frac) <= 9 && isDigits(frac) {
		ns, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return time.Unix(s, ns), true
}

// enrich adds the display name, locale and, for full members of the bound workspace, the
// staff role. A guest, a user from another organisation in a shared channel, or a user we
// could not look up gets no automatic role; the engine then treats them as unknown.
func (a *Adapter) enrich(ctx context.Context, m *bot.Message, teamID, userTeam string) {
	ctx, cancel := context.WithTimeout(ctx, userBudget)
	defer cancel()
	info, ok, err := a.users.lookup(ctx, m.UserID, func(ctx context.Context, id string) (*slack.User, error) {
		return a.api.GetUserInfoContext(ctx, id)
	})
	if err != nil {
		a.log.Warn("slack: users.info failed", "err", err)
	}
	if !ok {
		return
	}
	m.DisplayName, m.Locale = info.name, info.locale
	if info.member && (userTeam == "" || userTeam == teamID) {
		m.AutoRole = bot.RoleStaff
	}
}

// dispatch hands m to the Dispatcher and maps its error to a status Slack understands:
// 503 (Slack retries events) when the store is unavailable, 500 otherwise.
func (a *Adapter) dispatch(ctx context.Context, m *bot.Message) result {
	if err := a.deps.Dispatcher.Dispatch(ctx, m); err != nil {
		code := bot.ErrorCode(err)
		a.log.Error("slack: dispatch failed", "event_id", m.EventID, "code", code, "err", err)
		if code == bot.EUNAVAILABLE {
			return result{status: http.StatusServiceUnavailable}
		}
		return result{status: http.StatusInternalServerError}
	}
	return ok200
}

// onCommand handles a slash command: the text after the command is the message text.
func (a *Adapter) onCommand(ctx context.Context, sc slack.SlashCommand) result {
	tenant, bound := a.tenant(sc.TeamID)
	if !bound {
		a.unbound("command", sc.TeamID)
		return result{status: http.StatusOK, body: ephemeral("このワークスペースはKakehashiに登録されていません。管理者にお問い合わせください。")}
	}
	if sc.UserID == "" {
		return result{status: http.StatusBadRequest}
	}
	text := strings.TrimSpace(plainText(sc.Text))
	if text == "" {
		text = emptyCommandText
	}
	m := &bot.Message{
		EventID:  sc.TriggerID,
		Platform: bot.PlatformSlack,
		Tenant:   tenant,
		UserID:   sc.UserID,
		Text:     text,
		At:       a.clock.Now(),
		// The command may be typed in any channel, even a DM between two people where the
		// bot cannot post, and the answer is personal: it goes to the DM with the bot.
		Channel: "",
	}
	if m.EventID == "" {
		m.EventID = sc.TeamID + ":cmd:" + sc.UserID + ":" + strconv.FormatInt(m.At.UnixNano(), 10)
	}
	a.enrich(ctx, m, sc.TeamID, "")
	res := a.dispatch(ctx, m)
	if res.status == http.StatusOK && !strings.HasPrefix(sc.ChannelID, "D") {
		res.body = ephemeral("受け付けました。お返事はKakehashiとのDMに届きます。")
	}
	return res
}

// ephemeral is a slash command response only the sender sees.
func ephemeral(text string) map[string]string {
	return map[string]string{"response_type": "ephemeral", "text": text}
}

// onInteraction handles block_actions and view_submission; other interactions are acknowledged.
func (a *Adapter) onInteraction(ctx context.Context, ic *slack.InteractionCallback) result {
	teamID := ic.Team.ID
	if teamID == "" {
		teamID = ic.User.TeamID
	}
	switch ic.Type {
	case slack.InteractionTypeBlockActions, slack.InteractionTypeViewSubmission:
	default:
		return ok200
	}
	tenant, bound := a.tenant(teamID)
	if !bound {
		a.unbound(string(ic.Type), teamID)
		return ok200
	}
	if ic.User.ID == "" {
		return result{status: http.StatusBadRequest}
	}
	m := &bot.Message{
		EventID:  ic.TriggerID,
		Platform: bot.PlatformSlack,
		Tenant:   tenant,
		UserID:   ic.User.ID,
		At:       a.clock.Now(),
	}
	if t, ok := slackTime(ic.ActionTs); ok {
		m.At = t
	}
	if ic.Type == slack.InteractionTypeViewSubmission {
		if m.EventID == "" {
			m.EventID = teamID + ":view:" + ic.View.ID + ":" + ic.View.Hash
		}
		return a.submitForm(ctx, ic, m, teamID)
	}
	if len(ic.ActionCallback.BlockActions) == 0 {
		return ok200
	}
	act := ic.ActionCallback.BlockActions[0]
	value := act.Value
	if value == "" && act.SelectedOption.Value != "" {
		value = act.SelectedOption.Value
	}
	m.Action, m.Value = decodeChoice(act.ActionID, value)
	if t, ok := slackTime(act.ActionTs); ok {
		m.At = t
	}
	if m.EventID == "" {
		m.EventID = teamID + ":action:" + ic.User.ID + ":" + act.ActionTs
	}
	if ic.Container.Type != "view" {
		m.Channel = ic.Container.ChannelID
		if m.Channel == "" {
			m.Channel = ic.Channel.ID
		}
	}
	a.enrich(ctx, m, teamID, ic.User.TeamID)
	if m.Action == handlers.ActionOpenForm && a.deps.Forms != nil && ic.TriggerID != "" {
		if a.openForm(ctx, ic.TriggerID, m) {
			return ok200
		}
		// Without a modal the engine starts the same form as a chat dialog.
	}
	return a.dispatch(ctx, m)
}

// openForm shows the form named by m.Value as a modal; false means it could not.
func (a *Adapter) openForm(ctx context.Context, triggerID string, m *bot.Message) bool {
	spec, err := a.deps.Forms.Form(ctx, m.Tenant, langOf(m.Locale), m.Value)
	if err != nil || spec == nil {
		a.log.Warn("slack: form not available", "form", m.Value, "code", bot.ErrorCode(err))
		return false
	}
	view, ok := modalView(spec, m.Value, langOf(m.Locale))
	if !ok {
		a.log.Warn("slack: form has no usable field", "form", m.Value)
		return false
	}
	resp, err := a.api.OpenViewContext(ctx, triggerID, view)
	if err != nil {
		var msgs []string
		if resp != nil {
			msgs = resp.ResponseMetadata.Messages
		}
		a.log.Warn("slack: views.open failed", "form", m.Value, "err", err, "details", msgs)
		return false
	}
	return true
}

// submitForm validates a submitted modal with Forms.SubmitForm. Field errors keep the modal
// open with each message under its input; success closes it and sends the replies to the DM.
func (a *Adapter) submitForm(ctx context.Context, ic *slack.InteractionCallback, m *bot.Message, teamID string) result {
	if ic.View.CallbackID != formCallbackID || a.deps.Forms == nil {
		return ok200
	}
	name := ic.View.PrivateMetadata
	values := map[string]string{}
	var inputs []string // input block IDs in view order
	for _, b := range ic.View.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok && in.BlockID != "" {
			inputs = append(inputs, in.BlockID)
		}
	}
	if ic.View.State != nil {
		for blockID, actions := range ic.View.State.Values {
			act, ok := actions[formActionID]
			if !ok {
				for _, x := range actions {
					act = x
					break
				}
			}
			v := act.Value
			if act.SelectedOption.Value != "" {
				v = act.SelectedOption.Value
			}
			values[blockID] = v
			if !slices.Contains(inputs, blockID) {
				inputs = append(inputs, blockID)
			}
		}
	}
	a.enrich(ctx, m, teamID, ic.User.TeamID)
	fieldErrors, replies, err := a.deps.Forms.SubmitForm(ctx, m, name, values)
	if err != nil {
		a.log.Error("slack: form submission failed", "form", name, "code", bot.ErrorCode(err), "err", err)
		msg := bot.ErrorMessage(err)
		if msg == "" {
			msg = "保存できませんでした。しばらくしてからもう一度「送信」を押してください。"
		}
		if len(inputs) == 0 {
			return result{status: http.StatusInternalServerError}
		}
		return result{status: http.StatusOK, body: slack.NewErrorsViewSubmissionResponse(map[string]string{inputs[0]: msg})}
	}
	if len(fieldErrors) > 0 {
		return result{status: http.StatusOK, body: slack.NewErrorsViewSubmissionResponse(errorsByBlock(fieldErrors, inputs))}
	}
	d := bot.Delivery{Tenant: m.Tenant, UserID: m.UserID, Replies: replies, Key: "slack:form:" + m.EventID}
	return result{status: http.StatusOK, body: slack.NewClearViewSubmissionResponse(), after: func(ctx context.Context) {
		if len(d.Replies) == 0 {
			return
		}
		if err := a.Send(ctx, d); err != nil {
			a.log.Error("slack: sending form acknowledgement failed", "form", name, "err", err)
		}
	}}
}

// errorsByBlock keys field errors by input block ID. Slack only shows errors keyed by an
// input block of the view, so an error for any other name joins the first input's message.
func errorsByBlock(fieldErrors map[string]string, inputs []string) map[string]string {
	out := map[string]string{}
	var stray []string
	for field, msg := range fieldErrors {
		if slices.Contains(inputs, field) {
			out[field] = msg
		} else {
			stray = append(stray, msg)
		}
	}
	if len(stray) > 0 && len(inputs) > 0 {
		// Deterministic order for the person and for tests.
		slices.Sort(stray)
		msg := strings.Join(stray, " / ")
		if prev, ok := out[inputs[0]]; ok {
			msg = prev + " / " + msg
		}
		out[inputs[0]] = msg
	}
	return out
}

// publishHome asks the engine for the home view and publishes it on the App Home tab.
func (a *Adapter) publishHome(ctx context.Context, m *bot.Message) {
	replies, err := a.deps.Engine.Handle(ctx, m)
	if err != nil {
		a.log.Error("slack: home view failed", "event_id", m.EventID, "code", bot.ErrorCode(err), "err", err)
		return
	}
	if len(replies) == 0 {
		return // a redelivered event
	}
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: homeBlocks(replies)}}
	if _, err := a.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: m.UserID, View: view}); err != nil {
		a.log.Error("slack: views.publish failed", "event_id", m.EventID, "err", err)
	}
}
