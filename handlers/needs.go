package handlers

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/bot/match"
)

// ChannelPoster posts to a team channel (a Slack or LINE WORKS channel) through the outbox.
type ChannelPoster interface {
	PostChannel(ctx context.Context, tenant bot.TenantID, platform bot.Platform, channel string, r bot.Reply, key string) error
}

// Needs is the needs feature of SPEC §4: filing with similar-need detection, the
// transparent priority, the filer's own list, and the DX team's triage.
type Needs struct {
	Store     bot.NeedService
	Members   bot.MembershipService
	Messenger bot.Messenger
	Channels  ChannelPoster
	Similar   *SimilarNeeds
	Clock     bot.Clock
	mux       *Mux
	// OnStatus hooks run after a status change (the candidates feature matches triaged needs).
	OnStatus []func(ctx context.Context, n *bot.Need, by *bot.Person)
}

// Register mounts the needs commands and flows.
func (h *Needs) Register(m *Mux) {
	h.mux = m
	staff := []bot.Role{bot.RoleStaff}
	lead := []bot.Role{bot.RoleDXLead}
	m.HandleFlow(FlowNeed, Command{Name: "need.new", Words: []string{"ニーズ登録", "相談したい", "new need", "相談"}, Roles: staff,
		Menu: dialog.T("ニーズを登録（相談する）", "File a need")},
		&Flow{Form: func(_ context.Context, r *Request) (*dialog.Form, error) { return needForm(r.Tenant, r.Now), nil }, Submit: h.submitNeed})
	m.HandleFunc(Command{Name: "need.mine", Words: []string{"私のニーズ", "my needs"}, Roles: staff, Menu: dialog.T("私のニーズ", "My needs")}, h.mine)
	m.HandleFunc(Command{Name: "need.triage", Words: []string{"トリアージ", "triage"}, Roles: lead, Menu: dialog.T("トリアージ（受付一覧）", "Triage queue")}, h.triage)
	m.HandleFunc(Command{Name: "need.all", Words: []string{"ニーズ一覧", "all needs"}, Roles: []bot.Role{bot.RoleDXLead, bot.RoleMayor},
		Menu: dialog.T("ニーズ一覧", "All needs")}, h.all)
	m.HandleFunc(Command{Name: "need.view", Words: []string{"ニーズ", "need"}}, h.view)
	m.HandleFunc(Command{Name: "need.edit", Roles: staff}, h.edit)
	m.HandleFunc(Command{Name: "need.withdraw", Words: []string{"取り下げ", "withdraw"}, Roles: staff}, h.withdraw)
	m.HandleFunc(Command{Name: "need.support", Roles: staff}, h.support)
	m.HandleFunc(Command{Name: "need.separate", Roles: staff}, h.separate)
	m.HandleFunc(Command{Name: "need.status", Roles: lead}, h.statusMenu)
	m.HandleFunc(Command{Name: "need.setstatus", Roles: lead}, h.setStatus)
	m.HandleFunc(Command{Name: "need.category", Roles: lead}, h.categoryMenu)
	m.HandleFunc(Command{Name: "need.setcategory", Roles: lead}, h.setCategory)
	m.HandleFunc(Command{Name: "need.priority", Roles: lead}, h.startNeedFlow(FlowNeedPriority))
	m.HandleFunc(Command{Name: "need.note", Roles: lead}, h.startNeedFlow(FlowNeedNote))
	m.HandleFunc(Command{Name: "need.merge", Roles: lead}, h.startNeedFlow(FlowNeedMerge))
	m.HandleFunc(Command{Name: "need.assign", Roles: lead}, h.assignMenu)
	m.HandleFunc(Command{Name: "need.setadviser", Roles: lead}, h.setAdviser)
	m.HandleFunc(Command{Name: "need.claim", Roles: lead}, h.claim)
	m.HandleFunc(Command{Name: "need.exec", Roles: lead}, h.toggleExec)

	fixed := func(f *dialog.Form) func(context.Context, *Request) (*dialog.Form, error) {
		return func(context.Context, *Request) (*dialog.Form, error) { return f, nil }
	}
	m.flows[FlowNeedWithdraw] = &Flow{Form: fixed(withdrawForm()), Submit: h.submitWithdraw}
	m.flows[FlowNeedStatus] = &Flow{Form: func(_ context.Context, r *Request) (*dialog.Form, error) {
		return statusReasonForm(bot.NeedStatus(r.State.Data["status"]).NeedsReason()), nil
	}, Submit: h.submitStatus}
	m.flows[FlowNeedPriority] = &Flow{Form: fixed(priorityForm()), Submit: h.submitPriority}
	m.flows[FlowNeedNote] = &Flow{Form: fixed(noteForm()), Submit: h.submitNote}
	m.flows[FlowNeedMerge] = &Flow{Form: fixed(mergeForm()), Submit: h.submitMerge}
}

// parseNeedID reads "12", "#12" or "12:rest".
func parseNeedID(s string) (bot.NeedID, string, bool) {
	s = strings.TrimSpace(dialog.Fold(s))
	s = strings.TrimPrefix(s, "#")
	head, rest, _ := strings.Cut(s, ":")
	n, err := strconv.ParseInt(strings.TrimSpace(head), 10, 64)
	if err != nil || n <= 0 {
		return 0, "", false
	}
	return bot.NeedID(n), rest, true
}

func (h *Needs) weights(r *Request) map[string]int {
	if r.Tenant != nil {
		return r.Tenant.PriorityWeights
	}
	return nil
}

func (h *Needs) priority(n *bot.Need, t *bot.Tenant, now time.Time, lang bot.Lang) bot.Priority {
	var w map[string]int
	if t != nil {
		w = t.PriorityWeights
	}
	return bot.ComputePriority(n, w, now, lang)
}

// Card renders a need. internal adds the DX team's notes and the full history.
func (h *Needs) Card(ctx context.Context, n *bot.Need, t *bot.Tenant, now time.Time, lang bot.Lang, internal bool) bot.Reply {
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	fields := []bot.Field{
		{Label: T("状態", "Status"), Value: n.Status.Name(lang)},
		{Label: T("優先度", "Priority"), Value: h.priority(n, t, now, lang).String(lang)},
		{Label: T("部署", "Department"), Value: n.Department},
		{Label: T("カテゴリ", "Category"), Value: n.Category.Name(lang)},
		{Label: T("緊急度", "Urgency"), Value: n.Urgency.Name(lang)},
	}
	if n.Deadline != nil {
		fields = append(fields, bot.Field{Label: T("期限", "Deadline"), Value: n.Deadline.In(bot.Tokyo).Format("2006-01-02")})
	}
	fields = append(fields, bot.Field{Label: T("影響", "Impact"), Value: strconv.Itoa(n.Impact)},
		bot.Field{Label: T("支援形態", "Form"), Value: bot.WorkFormName(n.Form, lang)})
	if n.MICType != "" {
		fields = append(fields, bot.Field{Label: T("人材タイプ", "Talent type"), Value: bot.MICName(n.MICType, lang)})
	}
	if n.Skills != "" {
		fields = append(fields, bot.Field{Label: T("求めるスキル", "Skills"), Value: n.Skills})
	}
	if len(n.Supporters) > 0 {
		fields = append(fields, bot.Field{Label: T("賛同", "Supporters"), Value: T(strconv.Itoa(len(n.Supporters))+"人", strconv.Itoa(len(n.Supporters)))})
	}
	if n.ClaimedBy != "" {
		fields = append(fields, bot.Field{Label: T("担当", "Owner"), Value: h.name(ctx, n.Tenant, n.ClaimedBy)})
	}
	if n.Adviser != "" {
		fields = append(fields, bot.Field{Label: T("アドバイザー", "Adviser"), Value: h.name(ctx, n.Tenant, n.Adviser)})
	}
	if n.MergedInto != 0 {
		fields = append(fields, bot.Field{Label: T("統合先", "Merged into"), Value: "#" + strconv.FormatInt(int64(n.MergedInto), 10)})
	}
	if internal {
		if n.ExecDecision {
			fields = append(fields, bot.Field{Label: T("首長判断", "Executive decision"), Value: T("判断待ち", "waiting")})
		}
		for _, note := range n.Notes {
			fields = append(fields, bot.Field{Label: T("内部メモ", "Internal note"), Value: note.At.In(bot.Tokyo).Format("01/02 15:04") + " " + note.Text})
		}
	}
	text := n.Label()
	if n.Description != "" {
		text += "\n" + truncate(n.Description, 300)
	}
	return bot.Reply{Text: text, Fields: fields, Kind: "need_card"}
}

func (h *Needs) name(ctx context.Context, t bot.TenantID, id bot.PersonID) string {
	p, err := h.Members.Person(ctx, t, id)
	if err != nil || p.DisplayName == "" {
		return string(id)
	}
	return p.DisplayName
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// submitNeed files a new need (after offering similar ones once) or saves an edit.
func (h *Needs) submitNeed(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	if idStr := s.Data["need_id"]; idStr != "" {
		id, _, _ := parseNeedID(idStr)
		n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
			if n.Status != bot.NeedNew && n.Status != bot.NeedTriaged {
				return bot.Errorf(bot.EINVALID, "ニーズ #%d は「%s」のため編集できません。DX推進担当にご連絡ください。", n.ID, n.Status.Name(bot.LangJA))
			}
			needFromSlots(n, s.Slots)
			n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "edited"})
			return nil
		})
		if err != nil {
			return err
		}
		h.Similar.Upsert(n)
		w.Reply(bot.Reply{Text: r.T("ニーズ #"+itoa64(int64(n.ID))+" を更新しました。", "Need #"+itoa64(int64(n.ID))+" was updated."),
			Fields: h.Card(ctx, n, r.Tenant, r.Now, r.Lang, false).Fields})
		return nil
	}
	draft := &bot.Need{Tenant: r.Tenant.ID, FiledBy: r.Person.ID}
	needFromSlots(draft, s.Slots)
	if s.Data["similar_done"] == "" {
		sims, err := h.Similar.Find(ctx, r.Tenant.ID, draft.Title+"\n"+draft.Description+"\n"+draft.Skills, 3)
		if err != nil {
			return err
		}
		if len(sims) > 0 {
			if s.Data == nil {
				s.Data = map[string]string{}
			}
			s.Data["similar_done"] = "1"
			w.State = s
			rep := bot.Reply{Text: r.T("登録の前に確認させてください。似ているニーズが既にあります。同じ内容なら賛同すると、優先度が上がり、進捗の通知も届きます。",
				"Before filing: similar needs exist. If yours is the same, support it — its priority goes up and you get its updates.")}
			for _, sn := range sims {
				rep.Fields = append(rep.Fields, bot.Field{Label: "#" + itoa64(int64(sn.ID)), Value: sn.Title + "（" + sn.Status.Name(r.Lang) + "）"})
				rep.Choices = append(rep.Choices, bot.Choice{Label: r.T("同じ内容です（賛同する）#", "Same as #") + itoa64(int64(sn.ID)), Action: "need.support", Value: itoa64(int64(sn.ID))})
			}
			rep.Choices = append(rep.Choices, bot.Choice{Label: r.T("別件として登録", "File as a new need"), Action: "need.separate"},
				bot.Choice{Label: r.T("やめる", "Cancel"), Action: dialog.ActCancel})
			w.Reply(rep)
			return nil
		}
	}
	return h.create(ctx, w, r, s, draft)
}

func (h *Needs) create(ctx context.Context, w *Response, r *Request, s *dialog.State, draft *bot.Need) error {
	n, err := h.Store.CreateNeed(ctx, draft, s.Draft)
	if err != nil {
		return err
	}
	w.State = nil
	h.Similar.Upsert(n)
	card := h.Card(ctx, n, r.Tenant, r.Now, r.Lang, false)
	w.Reply(bot.Reply{
		Text: r.T("受け付けました（#"+itoa64(int64(n.ID))+"）。DX推進担当が確認し、状態が変わるたびにお知らせします。",
			"Received (#"+itoa64(int64(n.ID))+"). The DX team will review it and you will be told of every change."),
		Fields:  card.Fields,
		Choices: []bot.Choice{{Label: r.T("私のニーズ", "My needs"), Action: "need.mine"}, {Label: r.T("メニュー", "Menu"), Action: "menu"}},
	})
	h.postTeam(ctx, r.Tenant, n, "new", r.Now)
	return nil
}

// postTeam posts the need's card with claim and triage buttons to the tenant's DX channel.
func (h *Needs) postTeam(ctx context.Context, t *bot.Tenant, n *bot.Need, event string, now time.Time) {
	card := h.Card(ctx, n, t, now, bot.LangJA, true)
	id := itoa64(int64(n.ID))
	switch event {
	case "new":
		card.Text = "新しいニーズが届きました: " + card.Text
	case "claimed":
		card.Text = "担当が決まりました（" + h.name(ctx, t.ID, n.ClaimedBy) + "）: " + card.Text
	}
	card.Choices = []bot.Choice{{Label: "担当する", Action: "need.claim", Value: id}, {Label: "トリアージ", Action: "need.view", Value: id}}
	key := "need:" + id + ":team:" + event + ":" + strconv.Itoa(len(n.History))
	platform, channel, _ := strings.Cut(t.DXChannel, ":")
	if (platform == string(bot.PlatformSlack) || platform == string(bot.PlatformLineWorks)) && channel != "" && h.Channels != nil {
		if err := h.Channels.PostChannel(ctx, t.ID, bot.Platform(platform), channel, card, key); err == nil {
			return
		}
	}
	leads, err := h.Members.Members(ctx, t.ID, bot.RoleDXLead)
	if err != nil {
		return
	}
	for _, p := range leads {
		h.Messenger.Push(ctx, bot.Recipient{Tenant: t.ID, Person: p.ID}, card, key+":"+string(p.ID))
	}
}

func (h *Needs) support(ctx context.Context, w *Response, r *Request) error {
	id, _, ok := parseNeedID(r.Args)
	if !ok {
		w.Text(r.T("ニーズ番号が読めませんでした。", "I could not read the need number."))
		return nil
	}
	dept := ""
	if r.State != nil && r.State.Flow == FlowNeed {
		dept = r.State.Slots["department"]
	}
	n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
		if !n.Status.Open() {
			return bot.Errorf(bot.EINVALID, "ニーズ #%d は既に「%s」です。別件として登録してください。", n.ID, n.Status.Name(bot.LangJA))
		}
		if !n.HasSupporter(r.Person.ID) {
			n.Supporters = append(n.Supporters, bot.Supporter{Person: r.Person.ID, Department: dept})
			n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "supported"})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if r.State != nil && r.State.Flow == FlowNeed {
		w.State = nil
	}
	w.Reply(bot.Reply{Text: r.T("ニーズ #"+itoa64(int64(n.ID))+"「"+n.Title+"」に賛同しました。進捗はこちらにもお知らせします。",
		"You now support need #"+itoa64(int64(n.ID))+". You will get its updates."), Fields: h.Card(ctx, n, r.Tenant, r.Now, r.Lang, false).Fields})
	return nil
}

func (h *Needs) separate(ctx context.Context, w *Response, r *Request) error {
	if r.State == nil || r.State.Flow != FlowNeed {
		w.Text(r.T("登録中のニーズがありません。「ニーズ登録」から始めてください。", "There is no need being filed. Start with \"new need\"."))
		return nil
	}
	draft := &bot.Need{Tenant: r.Tenant.ID, FiledBy: r.Person.ID}
	needFromSlots(draft, r.State.Slots)
	return h.create(ctx, w, r, r.State, draft)
}

func (h *Needs) mine(ctx context.Context, w *Response, r *Request) error {
	ns, err := h.Store.Needs(ctx, r.Tenant.ID, bot.NeedFilter{FiledBy: r.Person.ID, Limit: 20})
	if err != nil {
		return err
	}
	if len(ns) == 0 {
		w.Reply(bot.Reply{Text: r.T("登録したニーズはまだありません。", "You have not filed any needs yet."),
			Choices: []bot.Choice{{Label: r.T("ニーズを登録", "File a need"), Action: "need.new"}}})
		return nil
	}
	rep := bot.Reply{Text: r.T("あなたのニーズ（新しい順）です。番号を押すと詳細を表示します。", "Your needs, newest first. Press one for details.")}
	for _, n := range ns {
		rep.Fields = append(rep.Fields, bot.Field{Label: "#" + itoa64(int64(n.ID)), Value: n.Title + "（" + n.Status.Name(r.Lang) + "）"})
		rep.Choices = append(rep.Choices, bot.Choice{Label: truncate("#"+itoa64(int64(n.ID))+" "+n.Title, 30), Action: "need.view", Value: itoa64(int64(n.ID))})
	}
	w.Reply(rep)
	return nil
}

// canSee reports whether the person may view a need: its filer and supporters, the DX
// team, the mayor (read-only) and its assigned adviser.
func canSee(p *bot.Person, n *bot.Need) bool {
	return p.Role == bot.RoleDXLead || p.Role == bot.RoleMayor || p.Role == bot.RoleAdmin || n.HasSupporter(p.ID) ||
		(p.Role == bot.RoleAdviser && n.Adviser == p.ID)
}

func (h *Needs) load(ctx context.Context, w *Response, r *Request) (*bot.Need, bool, error) {
	id, _, ok := parseNeedID(r.Args)
	if !ok {
		w.Text(r.T("ニーズ番号を付けて送ってください（例: ニーズ 12）。", "Add the need number (e.g. need 12)."))
		return nil, false, nil
	}
	n, err := h.Store.Need(ctx, r.Tenant.ID, id)
	if bot.ErrorCode(err) == bot.ENOTFOUND || (err == nil && !canSee(r.Person, n)) {
		w.Text(r.T("ニーズ #"+itoa64(int64(id))+" は見つかりません。番号をご確認ください。", "Need #"+itoa64(int64(id))+" was not found."))
		return nil, false, nil
	}
	return n, err == nil, err
}

func (h *Needs) view(ctx context.Context, w *Response, r *Request) error {
	n, ok, err := h.load(ctx, w, r)
	if !ok {
		return err
	}
	lead := r.Person.Role == bot.RoleDXLead
	card := h.Card(ctx, n, r.Tenant, r.Now, r.Lang, lead)
	id := itoa64(int64(n.ID))
	if lead {
		card.Choices = []bot.Choice{
			{Label: r.T("状態を変更", "Change status"), Action: "need.status", Value: id},
			{Label: r.T("カテゴリ変更", "Category"), Action: "need.category", Value: id},
			{Label: r.T("優先度を設定", "Set priority"), Action: "need.priority", Value: id},
			{Label: r.T("アドバイザー割当", "Assign adviser"), Action: "need.assign", Value: id},
			{Label: r.T("内部メモ", "Internal note"), Action: "need.note", Value: id},
			{Label: r.T("重複を統合", "Merge duplicate"), Action: "need.merge", Value: id},
			{Label: r.T("担当する", "Claim"), Action: "need.claim", Value: id},
			{Label: r.T("首長判断待ち切替", "Toggle exec decision"), Action: "need.exec", Value: id},
		}
	} else if n.FiledBy == r.Person.ID && n.Status.Open() {
		if n.Status == bot.NeedNew || n.Status == bot.NeedTriaged {
			card.Choices = append(card.Choices, bot.Choice{Label: r.T("編集", "Edit"), Action: "need.edit", Value: id})
		}
		card.Choices = append(card.Choices, bot.Choice{Label: r.T("取り下げ", "Withdraw"), Action: "need.withdraw", Value: id})
	}
	if lead || n.FiledBy == r.Person.ID {
		var hist []string
		for _, e := range n.History {
			if e.Internal && !lead {
				continue
			}
			line := e.At.In(bot.Tokyo).Format("01/02 15:04") + " " + historyText(e, r.Lang)
			hist = append(hist, line)
		}
		if len(hist) > 0 {
			card.Fields = append(card.Fields, bot.Field{Label: r.T("履歴", "History"), Value: strings.Join(lastN(hist, 8), "\n")})
		}
	}
	w.Reply(card)
	return nil
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func historyText(e bot.HistoryEntry, lang bot.Lang) string {
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	var s string
	switch e.Action {
	case "filed":
		s = T("登録", "filed")
	case "status":
		s = T("状態: ", "status: ") + e.From.Name(lang) + " → " + e.To.Name(lang)
	case "edited":
		s = T("編集", "edited")
	case "supported":
		s = T("賛同", "supported")
	case "claimed":
		s = T("担当決定", "claimed")
	case "assigned":
		s = T("アドバイザー割当", "adviser assigned")
	case "priority":
		s = T("優先度設定", "priority set")
	case "category":
		s = T("カテゴリ変更", "category changed")
	case "merged":
		s = T("統合", "merged")
	case "note":
		s = T("内部メモ", "internal note")
	default:
		s = e.Action
	}
	if e.Reason != "" {
		s += T("（理由: ", " (reason: ") + e.Reason + T("）", ")")
	}
	return s
}

func (h *Needs) edit(ctx context.Context, w *Response, r *Request) error {
	n, ok, err := h.load(ctx, w, r)
	if !ok {
		return err
	}
	if n.FiledBy != r.Person.ID {
		w.Text(r.T("編集できるのは登録した方だけです。", "Only the filer can edit a need."))
		return nil
	}
	if n.Status != bot.NeedNew && n.Status != bot.NeedTriaged {
		w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" は「"+n.Status.Name(bot.LangJA)+"」のため編集できません。DX推進担当にご連絡ください。",
			"Need #"+itoa64(int64(n.ID))+" is "+n.Status.Name(bot.LangEN)+" and can no longer be edited."))
		return nil
	}
	f := needForm(r.Tenant, r.Now)
	draft := FlowNeed + "-edit-" + itoa64(int64(n.ID)) + "-" + r.Now.Format("20060102150405.000")
	res := dialog.Start(f, draft, r.Now, r.Lang, slotsFromNeed(n))
	res.State.Step = len(f.Fields)
	res.State.Data = map[string]string{"need_id": itoa64(int64(n.ID))}
	w.State = res.State
	w.Reply(bot.Reply{Text: r.T("ニーズ #"+itoa64(int64(n.ID))+" を編集します。直したい項目を「修正」から選んでください。", "Editing need #"+itoa64(int64(n.ID))+". Choose Edit to change an item.")})
	w.Reply(dialog.Step(f, res.State, dialog.Input{Text: "?"}, r.Lang).Replies...)
	return nil
}

func (h *Needs) withdraw(ctx context.Context, w *Response, r *Request) error {
	n, ok, err := h.load(ctx, w, r)
	if !ok {
		return err
	}
	if n.FiledBy != r.Person.ID || !n.Status.CanMoveTo(bot.NeedWithdrawn) {
		w.Text(r.T("このニーズは取り下げできません。", "This need cannot be withdrawn."))
		return nil
	}
	return h.mux.StartFlow(ctx, w, r, FlowNeedWithdraw, map[string]string{"need_id": itoa64(int64(n.ID))})
}

func (h *Needs) submitWithdraw(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id, _, _ := parseNeedID(s.Data["need_id"])
	return h.changeStatus(ctx, w, r, id, bot.NeedWithdrawn, s.Slots["reason"], func(n *bot.Need) error {
		if n.FiledBy != r.Person.ID {
			return bot.Errorf(bot.EFORBIDDEN, "取り下げできるのは登録した方だけです。")
		}
		return nil
	})
}

// changeStatus moves a need, records who and why, and tells the filer and supporters.
func (h *Needs) changeStatus(ctx context.Context, w *Response, r *Request, id bot.NeedID, to bot.NeedStatus, reason string, check func(n *bot.Need) error) error {
	var from bot.NeedStatus
	n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
		if check != nil {
			if err := check(n); err != nil {
				return err
			}
		}
		if !n.Status.CanMoveTo(to) {
			return bot.Errorf(bot.EINVALID, "ニーズ #%d は「%s」から「%s」には変更できません。", n.ID, n.Status.Name(bot.LangJA), to.Name(bot.LangJA))
		}
		if to.NeedsReason() && strings.TrimSpace(reason) == "" {
			return bot.Errorf(bot.EINVALID, "「%s」にするには理由が必要です。", to.Name(bot.LangJA))
		}
		from = n.Status
		n.Status = to
		n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "status", From: from, To: to, Reason: reason})
		return nil
	})
	if err != nil {
		return err
	}
	if to.Open() {
		h.Similar.Upsert(n)
	} else {
		h.Similar.Remove(n)
	}
	w.Reply(bot.Reply{Text: r.T("ニーズ #"+itoa64(int64(n.ID))+" を「"+to.Name(bot.LangJA)+"」にしました。", "Need #"+itoa64(int64(n.ID))+" is now "+to.Name(bot.LangEN)+"."),
		Choices: []bot.Choice{{Label: r.T("詳細", "Details"), Action: "need.view", Value: itoa64(int64(n.ID))}}})
	h.notifyStatus(ctx, n, r.Person.ID, from, to, reason)
	for _, hook := range h.OnStatus {
		hook(ctx, n, r.Person)
	}
	return nil
}

// notifyStatus tells the filer and supporters (never with internal notes).
func (h *Needs) notifyStatus(ctx context.Context, n *bot.Need, by bot.PersonID, from, to bot.NeedStatus, reason string) {
	people := []bot.PersonID{n.FiledBy}
	for _, s := range n.Supporters {
		people = append(people, s.Person)
	}
	key := "need:" + itoa64(int64(n.ID)) + ":h" + strconv.Itoa(len(n.History))
	for _, pid := range people {
		if pid == by {
			continue
		}
		p, err := h.Members.Person(ctx, n.Tenant, pid)
		lang := bot.LangJA
		if err == nil {
			lang = p.Lang
		}
		T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
		text := T("ニーズ「"+n.Label()+"」の状態が「"+from.Name(lang)+"」から「"+to.Name(lang)+"」になりました。",
			"Your need \""+n.Label()+"\" changed from "+from.Name(lang)+" to "+to.Name(lang)+".")
		if reason != "" {
			text += T("\n理由: ", "\nReason: ") + reason
		}
		h.Messenger.Push(ctx, bot.Recipient{Tenant: n.Tenant, Person: pid}, bot.Reply{Text: text,
			Choices: []bot.Choice{{Label: T("詳細を見る", "Details"), Action: "need.view", Value: itoa64(int64(n.ID))}}}, key+":"+string(pid))
	}
}

func (h *Needs) triage(ctx context.Context, w *Response, r *Request) error {
	ns, err := h.Store.Needs(ctx, r.Tenant.ID, bot.NeedFilter{OpenOnly: true})
	if err != nil {
		return err
	}
	if len(ns) == 0 {
		w.Text(r.T("対応中のニーズはありません。", "There are no open needs."))
		return nil
	}
	type scored struct {
		n *bot.Need
		p bot.Priority
	}
	list := make([]scored, len(ns))
	for i, n := range ns {
		list[i] = scored{n, h.priority(n, r.Tenant, r.Now, r.Lang)}
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].p.Score != list[j].p.Score {
			return list[i].p.Score > list[j].p.Score
		}
		return list[i].n.ID < list[j].n.ID
	})
	rep := bot.Reply{Text: r.T("トリアージ一覧（優先度順、対応中 "+strconv.Itoa(len(list))+" 件）です。番号を押すと操作できます。",
		"Triage queue by priority ("+strconv.Itoa(len(list))+" open). Press one to work on it.")}
	shown := list[:min(len(list), 10)]
	for _, s := range shown {
		id := itoa64(int64(s.n.ID))
		rep.Fields = append(rep.Fields, bot.Field{Label: "#" + id + " " + s.n.Status.Name(r.Lang), Value: s.n.Title + " — " + s.p.String(r.Lang)})
		rep.Choices = append(rep.Choices, bot.Choice{Label: truncate("#"+id+" "+s.n.Title, 30), Action: "need.view", Value: id})
	}
	if len(list) > len(shown) {
		rep.Text += r.T("\nほか "+strconv.Itoa(len(list)-len(shown))+" 件", "\n+"+strconv.Itoa(len(list)-len(shown))+" more")
	}
	w.Reply(rep)
	return nil
}

func (h *Needs) all(ctx context.Context, w *Response, r *Request) error {
	ns, err := h.Store.Needs(ctx, r.Tenant.ID, bot.NeedFilter{Limit: 30})
	if err != nil {
		return err
	}
	if len(ns) == 0 {
		w.Text(r.T("ニーズはまだありません。", "No needs yet."))
		return nil
	}
	rep := bot.Reply{Text: r.T("ニーズ一覧（新しい順、最大30件）", "All needs (newest first, up to 30)")}
	for _, n := range ns {
		rep.Fields = append(rep.Fields, bot.Field{Label: "#" + itoa64(int64(n.ID)) + " " + n.Status.Name(r.Lang), Value: n.Title + "（" + n.Department + "）"})
	}
	for _, n := range ns[:min(len(ns), 10)] {
		rep.Choices = append(rep.Choices, bot.Choice{Label: truncate("#"+itoa64(int64(n.ID))+" "+n.Title, 30), Action: "need.view", Value: itoa64(int64(n.ID))})
	}
	w.Reply(rep)
	return nil
}

func (h *Needs) statusMenu(ctx context.Context, w *Response, r *Request) error {
	n, ok, err := h.load(ctx, w, r)
	if !ok {
		return err
	}
	rep := bot.Reply{Text: r.T("ニーズ #"+itoa64(int64(n.ID))+"（現在: "+n.Status.Name(bot.LangJA)+"）を、どの状態にしますか？",
		"Move need #"+itoa64(int64(n.ID))+" (now "+n.Status.Name(bot.LangEN)+") to:")}
	for _, s := range n.Status.Next() {
		rep.Choices = append(rep.Choices, bot.Choice{Label: s.Name(r.Lang), Action: "need.setstatus", Value: itoa64(int64(n.ID)) + ":" + string(s)})
	}
	if len(rep.Choices) == 0 {
		rep.Text = r.T("このニーズの状態はこれ以上変更できません。", "This need's status can no longer change.")
	}
	w.Reply(rep)
	return nil
}

// setStatus asks for a reason (required for 見送り, optional otherwise) before changing.
func (h *Needs) setStatus(ctx context.Context, w *Response, r *Request) error {
	id, rest, ok := parseNeedID(r.Args)
	to := bot.NeedStatus(rest)
	if !ok || to == "" {
		w.Text(r.T("変更先の状態が読めませんでした。", "I could not read the new status."))
		return nil
	}
	return h.mux.StartFlow(ctx, w, r, FlowNeedStatus, map[string]string{"need_id": itoa64(int64(id)), "status": string(to)})
}

func (h *Needs) submitStatus(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id, _, _ := parseNeedID(s.Data["need_id"])
	return h.changeStatus(ctx, w, r, id, bot.NeedStatus(s.Data["status"]), s.Slots["reason"], nil)
}

func (h *Needs) categoryMenu(ctx context.Context, w *Response, r *Request) error {
	n, ok, err := h.load(ctx, w, r)
	if !ok {
		return err
	}
	rep := bot.Reply{Text: r.T("カテゴリを選んでください（現在: "+n.Category.Name(bot.LangJA)+"）。", "Choose the category (now "+n.Category.Name(bot.LangEN)+").")}
	for _, c := range categoryChoices(r.Lang) {
		rep.Choices = append(rep.Choices, bot.Choice{Label: c.Label, Action: "need.setcategory", Value: itoa64(int64(n.ID)) + ":" + c.Value})
	}
	w.Reply(rep)
	return nil
}

func (h *Needs) setCategory(ctx context.Context, w *Response, r *Request) error {
	id, rest, ok := parseNeedID(r.Args)
	cat := bot.Category(rest)
	if !ok || cat.Name(bot.LangJA) == string(cat) {
		w.Text(r.T("カテゴリが読めませんでした。", "I could not read the category."))
		return nil
	}
	n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
		n.Category = cat
		n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "category", Internal: true})
		return nil
	})
	if err != nil {
		return err
	}
	w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" のカテゴリを「"+cat.Name(bot.LangJA)+"」にしました。", "Category of #"+itoa64(int64(n.ID))+" set to "+cat.Name(bot.LangEN)+"."))
	return nil
}

func (h *Needs) startNeedFlow(flow string) func(ctx context.Context, w *Response, r *Request) error {
	return func(ctx context.Context, w *Response, r *Request) error {
		n, ok, err := h.load(ctx, w, r)
		if !ok {
			return err
		}
		return h.mux.StartFlow(ctx, w, r, flow, map[string]string{"need_id": itoa64(int64(n.ID))})
	}
}

func (h *Needs) submitPriority(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id, _, _ := parseNeedID(s.Data["need_id"])
	n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
		if s.Slots["score"] == "auto" {
			n.Override, n.OverrideReason = nil, ""
		} else {
			v, _ := strconv.Atoi(s.Slots["score"])
			n.Override, n.OverrideReason = &v, s.Slots["reason"]
		}
		n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "priority", Reason: s.Slots["reason"], Internal: true})
		return nil
	})
	if err != nil {
		return err
	}
	w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" の", "Need #"+itoa64(int64(n.ID))+": ") + h.priority(n, r.Tenant, r.Now, r.Lang).String(r.Lang))
	return nil
}

func (h *Needs) submitNote(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id, _, _ := parseNeedID(s.Data["need_id"])
	_, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
		n.Notes = append(n.Notes, bot.Note{By: r.Person.ID, At: r.Now, Text: s.Slots["text"]})
		n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "note", Internal: true})
		return nil
	})
	if err != nil {
		return err
	}
	w.Text(r.T("内部メモを保存しました（申請者には表示されません）。", "Internal note saved (never shown to the filer)."))
	return nil
}

// submitMerge closes a duplicate into another need, carrying over the filer and supporters.
func (h *Needs) submitMerge(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	src, _, _ := parseNeedID(s.Data["need_id"])
	dst, _, _ := parseNeedID(s.Slots["target"])
	if src == dst {
		return bot.Errorf(bot.EINVALID, "同じニーズには統合できません。別の番号を指定してください。")
	}
	from, err := h.Store.Need(ctx, r.Tenant.ID, src)
	if err != nil {
		return err
	}
	into, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, dst, func(n *bot.Need) error {
		if !n.Status.Open() {
			return bot.Errorf(bot.EINVALID, "統合先 #%d は既に「%s」です。対応中のニーズを指定してください。", n.ID, n.Status.Name(bot.LangJA))
		}
		add := append([]bot.Supporter{{Person: from.FiledBy, Department: from.Department}}, from.Supporters...)
		for _, sp := range add {
			if !n.HasSupporter(sp.Person) {
				n.Supporters = append(n.Supporters, sp)
			}
		}
		n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "merged", Reason: fmt.Sprintf("#%d を統合", src)})
		return nil
	})
	if err != nil {
		return err
	}
	h.Similar.Upsert(into)
	reason := fmt.Sprintf("#%d「%s」に統合しました", dst, into.Title)
	if _, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, src, func(n *bot.Need) error { n.MergedInto = dst; return nil }); err != nil {
		return err
	}
	return h.changeStatus(ctx, w, r, src, bot.NeedDeclined, reason, nil)
}

func (h *Needs) assignMenu(ctx context.Context, w *Response, r *Request) error {
	n, ok, err := h.load(ctx, w, r)
	if !ok {
		return err
	}
	advisers, err := h.Members.Members(ctx, r.Tenant.ID, bot.RoleAdviser)
	if err != nil {
		return err
	}
	if len(advisers) == 0 {
		w.Text(r.T("登録されたアドバイザーがいません。管理者に招待コード（アドバイザー）の発行を依頼してください。", "No advisers yet. Ask the admin for an adviser invite code."))
		return nil
	}
	rep := bot.Reply{Text: r.T("ニーズ #"+itoa64(int64(n.ID))+" に割り当てるアドバイザーを選んでください。", "Choose the adviser for need #"+itoa64(int64(n.ID))+".")}
	for _, a := range advisers {
		rep.Choices = append(rep.Choices, bot.Choice{Label: a.DisplayName, Action: "need.setadviser", Value: itoa64(int64(n.ID)) + ":" + string(a.ID)})
	}
	w.Reply(rep)
	return nil
}

func (h *Needs) setAdviser(ctx context.Context, w *Response, r *Request) error {
	id, rest, ok := parseNeedID(r.Args)
	adviser, err := h.Members.Person(ctx, r.Tenant.ID, bot.PersonID(rest))
	if !ok || err != nil || adviser.Role != bot.RoleAdviser {
		w.Text(r.T("アドバイザーが見つかりません。", "Adviser not found."))
		return nil
	}
	n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
		n.Adviser = adviser.ID
		n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "assigned"})
		return nil
	})
	if err != nil {
		return err
	}
	w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" に "+adviser.DisplayName+" さんを割り当てました。", "Assigned "+adviser.DisplayName+" to need #"+itoa64(int64(n.ID))+"."))
	h.Messenger.Push(ctx, bot.Recipient{Tenant: n.Tenant, Person: adviser.ID}, bot.Reply{
		Text:    dialog.T("ニーズ「"+n.Label()+"」のアドバイザーに割り当てられました。", "You were assigned to the need \""+n.Label()+"\".").In(adviser.Lang),
		Choices: []bot.Choice{{Label: dialog.T("詳細を見る", "Details").In(adviser.Lang), Action: "need.view", Value: itoa64(int64(n.ID))}},
	}, "need:"+itoa64(int64(n.ID))+":assign:"+string(adviser.ID)+":"+strconv.Itoa(len(n.History)))
	return nil
}

func (h *Needs) claim(ctx context.Context, w *Response, r *Request) error {
	id, _, ok := parseNeedID(r.Args)
	if !ok {
		w.Text(r.T("ニーズ番号が読めませんでした。", "I could not read the need number."))
		return nil
	}
	already := false
	n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error {
		if n.ClaimedBy != "" {
			already = true
			return nil
		}
		n.ClaimedBy = r.Person.ID
		n.History = append(n.History, bot.HistoryEntry{At: r.Now, By: r.Person.ID, Action: "claimed", Internal: true})
		return nil
	})
	if err != nil {
		return err
	}
	if already {
		w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" は既に "+h.name(ctx, n.Tenant, n.ClaimedBy)+" さんが担当しています。", "Need #"+itoa64(int64(n.ID))+" is already claimed by "+h.name(ctx, n.Tenant, n.ClaimedBy)+"."))
		return nil
	}
	w.Reply(bot.Reply{Text: r.T("ニーズ #"+itoa64(int64(n.ID))+" の担当になりました。", "You now own need #"+itoa64(int64(n.ID))+"."),
		Choices: []bot.Choice{{Label: r.T("トリアージする", "Triage it"), Action: "need.view", Value: itoa64(int64(n.ID))}}})
	h.postTeam(ctx, r.Tenant, n, "claimed", r.Now)
	return nil
}

func (h *Needs) toggleExec(ctx context.Context, w *Response, r *Request) error {
	id, _, ok := parseNeedID(r.Args)
	if !ok {
		return nil
	}
	n, err := h.Store.UpdateNeed(ctx, r.Tenant.ID, id, func(n *bot.Need) error { n.ExecDecision = !n.ExecDecision; return nil })
	if err != nil {
		return err
	}
	if n.ExecDecision {
		w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" を首長判断待ちにしました（週次ダイジェストに載ります）。", "Need #"+itoa64(int64(n.ID))+" now waits for an executive decision."))
	} else {
		w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" の首長判断待ちを解除しました。", "Need #"+itoa64(int64(n.ID))+" no longer waits for a decision."))
	}
	return nil
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// SimilarNeeds keeps one in-memory match index of open needs per tenant, built from the
// store on first use and kept current by the handlers; a search also picks up needs
// filed through other replicas since the last build.
type SimilarNeeds struct {
	Store bot.NeedService
	// MinScore is the match score (0–100) a need must reach to be offered as similar.
	MinScore float64
	mu       sync.Mutex
	idx      map[bot.TenantID]*tenantIndex
}

type tenantIndex struct {
	ix    *match.Index
	maxID bot.NeedID
}

func needDoc(n *bot.Need) match.Doc {
	return match.Doc{ID: itoa64(int64(n.ID)), Text: n.Title + "\n" + n.Description + "\n" + n.Skills}
}

func (s *SimilarNeeds) tenant(ctx context.Context, t bot.TenantID) (*tenantIndex, error) {
	s.mu.Lock()
	if s.idx == nil {
		s.idx = map[bot.TenantID]*tenantIndex{}
	}
	ti, ok := s.idx[t]
	s.mu.Unlock()
	if ok {
		return ti, nil
	}
	ns, err := s.Store.Needs(ctx, t, bot.NeedFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	ti = &tenantIndex{ix: match.NewIndex(nil)}
	for _, n := range ns {
		ti.ix.Upsert(needDoc(n))
		ti.maxID = max(ti.maxID, n.ID)
	}
	s.mu.Lock()
	if cur, ok := s.idx[t]; ok {
		ti = cur
	} else {
		s.idx[t] = ti
	}
	s.mu.Unlock()
	return ti, nil
}

// Upsert adds or refreshes an open need.
func (s *SimilarNeeds) Upsert(n *bot.Need) {
	s.mu.Lock()
	ti, ok := s.idx[n.Tenant]
	s.mu.Unlock()
	if !ok {
		return // built on first search
	}
	if n.Status.Open() {
		ti.ix.Upsert(needDoc(n))
	} else {
		ti.ix.Remove(itoa64(int64(n.ID)))
	}
}

// Remove drops a closed need.
func (s *SimilarNeeds) Remove(n *bot.Need) { s.Upsert(n) }

// Find returns up to top open needs that look like text, best first.
func (s *SimilarNeeds) Find(ctx context.Context, t bot.TenantID, text string, top int) ([]*bot.Need, error) {
	ti, err := s.tenant(ctx, t)
	if err != nil {
		return nil, err
	}
	// Needs filed through another replica since the index was built.
	if recent, err := s.Store.Needs(ctx, t, bot.NeedFilter{Limit: 20}); err == nil {
		for _, n := range recent {
			if n.ID > ti.maxID && n.Status.Open() {
				ti.ix.Upsert(needDoc(n))
			}
		}
		if len(recent) > 0 {
			s.mu.Lock()
			ti.maxID = max(ti.maxID, recent[0].ID)
			s.mu.Unlock()
		}
	}
	res := ti.ix.Similar(text, top*2, s.MinScore)
	var out []*bot.Need
	for _, r := range res {
		id, _, _ := parseNeedID(r.ID)
		n, err := s.Store.Need(ctx, t, id)
		if err != nil {
			continue
		}
		if !n.Status.Open() {
			ti.ix.Remove(r.ID)
			continue
		}
		out = append(out, n)
		if len(out) == top {
			break
		}
	}
	return out, nil
}
