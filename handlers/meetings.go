package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/store"
)

// Job kinds of the meetings feature.
const (
	JobMeetingReminder = "meeting.remind"
	JobMeetingNudge    = "meeting.nudge"
	JobMeetingEscalate = "meeting.escalate"
	JobMeetingAfter    = "meeting.after"
)

// Defaults of the meetings feature.
const (
	DefaultMeetingLength = time.Hour
	DefaultNudgeAfter    = 48 * time.Hour
	DefaultEscalateAfter = 72 * time.Hour
	// MaxPicks is how many options the requester may send to the adviser.
	MaxPicks = 3
)

// DefaultReminderOffsets are T-24h and T-1h (SPEC §6).
var DefaultReminderOffsets = []time.Duration{24 * time.Hour, time.Hour}

// Meetings is the scheduling feature of SPEC §6: the poll (`面談予約`), the adviser's
// answer, confirmation with an iCalendar invite, reminders through the durable queue,
// rescheduling and cancelling by either side, escalation of unanswered requests, and the
// follow-up after the meeting.
//
// Reminders are queue jobs with the ID ReminderJobID(tenant, meeting, offset, sequence,
// person): enqueueing is a no-op for an ID that is pending or done, the job pushes with
// its own ID as the outbox key, and it sends nothing unless the meeting is still confirmed
// with the same sequence. So a reminder is never doubled (redelivery, a second replica, a
// reconcile), and a moved or cancelled meeting's old reminders fall silent even if one was
// already claimed when they were cancelled.
type Meetings struct {
	Store     bot.MeetingService
	Advisers  *Advisers
	Needs     bot.NeedService
	Members   bot.MembershipService
	Messenger bot.Messenger
	Queue     *store.Queue
	Calendar  *calendar.Calendar
	Clock     bot.Clock
	Logger    *slog.Logger
	// Offsets are when reminders go out before the start (default 24h, 1h).
	Offsets []time.Duration
	// LeadTime, Length and Horizon shape the offered slots (defaults 24 h, 60 min, 21 days).
	LeadTime, Length, Horizon time.Duration
	// NudgeAfter and EscalateAfter time the adviser's reminder and the DX leads' alert (48 h, 72 h).
	NudgeAfter, EscalateAfter time.Duration
	// TenantHours are when the municipality meets advisers; nil means calendar.DefaultTenantHours.
	TenantHours []calendar.Window
	mux         *Mux
}

// Register mounts the meeting commands and flows.
func (h *Meetings) Register(m *Mux) {
	h.mux = m
	staff := []bot.Role{bot.RoleStaff}
	adviser := []bot.Role{bot.RoleAdviser}
	attendee := []bot.Role{bot.RoleStaff, bot.RoleAdviser}
	m.HandleFunc(Command{Name: "meeting.book", Words: []string{"面談予約", "面談を予約", "book meeting", "book a meeting"}, Roles: staff,
		Menu: dialog.T("アドバイザーとの面談を予約", "Book an adviser meeting")}, h.book)
	m.HandleFunc(Command{Name: "meeting.list", Words: []string{"面談一覧", "私の面談", "my meetings", "meetings"}, Roles: attendee,
		Menu: dialog.T("面談一覧", "My meetings")}, h.list)
	m.HandleFunc(Command{Name: "meeting.need", Roles: staff}, h.chooseAdviser)
	m.HandleFunc(Command{Name: "meeting.adviser", Roles: staff}, h.startPoll)
	m.HandleFunc(Command{Name: "meeting.toggle", Roles: staff}, h.toggle)
	m.HandleFunc(Command{Name: "meeting.send", Roles: staff}, h.send)
	m.HandleFunc(Command{Name: "meeting.discard", Roles: staff}, h.discard)
	m.HandleFunc(Command{Name: "meeting.view", Roles: attendee}, h.view)
	m.HandleFunc(Command{Name: "meeting.accept", Roles: adviser}, h.accept)
	m.HandleFunc(Command{Name: "meeting.propose", Roles: adviser}, h.startMeetingFlow(FlowMeetingPropose))
	m.HandleFunc(Command{Name: "meeting.decline", Roles: adviser}, h.startMeetingFlow(FlowMeetingDecline))
	m.HandleFunc(Command{Name: "meeting.paccept", Roles: staff}, h.acceptProposal)
	m.HandleFunc(Command{Name: "meeting.pdecline", Roles: staff}, h.declineProposal)
	m.HandleFunc(Command{Name: "meeting.reschedule", Roles: attendee}, h.startMeetingFlow(FlowMeetingMove))
	m.HandleFunc(Command{Name: "meeting.cancel", Roles: attendee}, h.startMeetingFlow(FlowMeetingCancel))
	m.HandleFunc(Command{Name: "meeting.feedback", Roles: staff}, h.startMeetingFlow(FlowMeetingFeedback))
	m.HandleFunc(Command{Name: "meeting.hours", Roles: adviser}, h.hours)

	m.flows[FlowMeetingPropose] = &Flow{Form: h.proposeForm, Submit: h.submitProposal}
	m.flows[FlowMeetingDecline] = &Flow{Form: staticMeetingForm(declineForm()), Submit: h.submitDecline}
	m.flows[FlowMeetingMove] = &Flow{Form: h.moveForm, Submit: h.submitMove}
	m.flows[FlowMeetingCancel] = &Flow{Form: staticMeetingForm(cancelMeetingForm()), Submit: h.submitCancel}
	m.flows[FlowMeetingFeedback] = &Flow{Form: staticMeetingForm(feedbackForm()), Submit: h.submitFeedback}
	m.flows[FlowMeetingHours] = &Flow{Form: staticMeetingForm(hoursForm()), Submit: h.submitHours}
}

// RegisterJobs adds the feature's job kinds to a worker.
func (h *Meetings) RegisterJobs(w *store.Worker) {
	w.Handle(JobMeetingReminder, h.RunReminder)
	w.Handle(JobMeetingNudge, h.runNudge)
	w.Handle(JobMeetingEscalate, h.runEscalate)
	w.Handle(JobMeetingAfter, h.runAfter)
}

func staticMeetingForm(f *dialog.Form) func(context.Context, *Request) (*dialog.Form, error) {
	return func(context.Context, *Request) (*dialog.Form, error) { return f, nil }
}

func (h *Meetings) length() time.Duration { return meetingDur(h.Length, DefaultMeetingLength) }
func (h *Meetings) lead() time.Duration   { return meetingDur(h.LeadTime, calendar.DefaultLeadTime) }
func (h *Meetings) horizon() time.Duration {
	return meetingDur(h.Horizon, calendar.DefaultHorizon)
}
func (h *Meetings) offsets() []time.Duration {
	if len(h.Offsets) == 0 {
		return DefaultReminderOffsets
	}
	return h.Offsets
}

func meetingDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// ReminderJobID is the queue ID (and outbox key) of one reminder:
// rem:{tenant}:{meeting}:{offset}:v{sequence}:{person}.
func ReminderJobID(t bot.TenantID, m bot.MeetingID, offset time.Duration, seq int, p bot.PersonID) string {
	return "rem:" + string(t) + ":" + string(m) + ":" + FormatOffset(offset) + ":v" + strconv.Itoa(seq) + ":" + string(p)
}

func afterJobID(t bot.TenantID, m bot.MeetingID, seq int) string {
	return "mafter:" + string(t) + ":" + string(m) + ":v" + strconv.Itoa(seq)
}
func nudgeJobID(t bot.TenantID, m bot.MeetingID) string {
	return "mnudge:" + string(t) + ":" + string(m)
}
func escalateJobID(t bot.TenantID, m bot.MeetingID) string {
	return "mescalate:" + string(t) + ":" + string(m)
}

// FormatOffset writes an offset compactly: 24h, 1h, 90m, 45s.
func FormatOffset(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	default:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
}

// offsetText is "24時間前" / "24 hours before".
func offsetText(d time.Duration, lang bot.Lang) string {
	switch {
	case d%time.Hour == 0:
		n := strconv.FormatInt(int64(d/time.Hour), 10)
		return dialog.T(n+"時間前", n+" h before").In(lang)
	case d%time.Minute == 0:
		n := strconv.FormatInt(int64(d/time.Minute), 10)
		return dialog.T(n+"分前", n+" min before").In(lang)
	}
	n := strconv.FormatInt(int64(d/time.Second), 10)
	return dialog.T(n+"秒前", n+" s before").In(lang)
}

func meetingSlotOf(s calendar.Slot) bot.TimeSlot  { return bot.TimeSlot{Start: s.Start, End: s.End} }
func meetingCalSlot(s bot.TimeSlot) calendar.Slot { return calendar.Slot{Start: s.Start, End: s.End} }

// meetingSlotLabel is "11/28(土) 19:00–20:00".
func meetingSlotLabel(s bot.TimeSlot, lang bot.Lang) string { return meetingCalSlot(s).Label(lang) }

// meetingRef is the meeting part of a button value: "m5" or "m5:rest".
func meetingRef(v string) (bot.MeetingID, string) {
	id, rest, _ := strings.Cut(strings.TrimSpace(v), ":")
	return bot.MeetingID(id), rest
}

// update applies fn under compare-and-set; fn returns a refusal (shown to the person)
// instead of changing the meeting when the change no longer applies.
func (h *Meetings) update(ctx context.Context, t bot.TenantID, id bot.MeetingID, fn func(m *bot.Meeting) *dialog.Text) (*bot.Meeting, *dialog.Text, error) {
	var refused *dialog.Text
	m, err := h.Store.UpdateMeeting(ctx, t, id, func(m *bot.Meeting) error {
		refused = fn(m)
		if refused != nil {
			return errRefused
		}
		return nil
	})
	if refused != nil {
		return nil, refused, nil
	}
	return m, nil, err
}

// errRefused aborts an update that fn refused; the refusal itself travels beside it.
var errRefused = &bot.Error{Code: bot.ECONFLICT, Message: "refused"}

func meetingRefusal(ja, en string) *dialog.Text { t := dialog.T(ja, en); return &t }

// stateRefusal explains why a meeting in its current status cannot take the answer.
func stateRefusal(m *bot.Meeting) *dialog.Text {
	switch m.Status {
	case bot.MeetingConfirmed, bot.MeetingHeld:
		return meetingRefusal("この面談は既に "+meetingSlotLabel(m.Slot, bot.LangJA)+" で確定しています。",
			"This meeting is already confirmed for "+meetingSlotLabel(m.Slot, bot.LangEN)+".")
	case bot.MeetingCancelled:
		return meetingRefusal("この面談は取り消されています。", "This meeting was cancelled.")
	case bot.MeetingDeclined:
		return meetingRefusal("この面談の調整は終了しています（不成立）。", "This request has been closed (declined).")
	case bot.MeetingDraft:
		return meetingRefusal("この面談はまだ送信されていません。", "This request has not been sent yet.")
	}
	return meetingRefusal("この操作は現在の状態（"+m.Status.Name(bot.LangJA)+"）ではできません。", "This cannot be done while the meeting is "+m.Status.Name(bot.LangEN)+".")
}

func (h *Meetings) loadMeeting(ctx context.Context, w *Response, r *Request, id bot.MeetingID) (*bot.Meeting, bool, error) {
	m, err := h.Store.Meeting(ctx, r.Tenant.ID, id)
	if bot.ErrorCode(err) == bot.ENOTFOUND || (err == nil && !h.canSee(r.Person, m)) {
		w.Text(r.T("面談が見つかりません。「面談一覧」からご確認ください。", "Meeting not found. See \"my meetings\"."))
		return nil, false, nil
	}
	return m, err == nil, err
}

func (h *Meetings) canSee(p *bot.Person, m *bot.Meeting) bool {
	return m.Attends(p.ID) || p.Role == bot.RoleDXLead
}

// name returns a member's display name, or a neutral word when unknown.
func (h *Meetings) name(ctx context.Context, t bot.TenantID, id bot.PersonID, lang bot.Lang) string {
	if id != "" {
		if p, err := h.Members.Person(ctx, t, id); err == nil && p.DisplayName != "" {
			return p.DisplayName
		}
	}
	return dialog.T("（名前未登録）", "(no name)").In(lang)
}

func (h *Meetings) langOf(ctx context.Context, t bot.TenantID, id bot.PersonID) bot.Lang {
	if p, err := h.Members.Person(ctx, t, id); err == nil && p.Lang != "" {
		return p.Lang
	}
	return bot.LangJA
}

func (h *Meetings) adviserName(ctx context.Context, m *bot.Meeting, lang bot.Lang) string {
	if a, err := h.Advisers.Store.Adviser(ctx, m.Tenant, m.Adviser); err == nil && a.Name != "" {
		return a.Name
	}
	return h.name(ctx, m.Tenant, m.AdviserPerson, lang)
}

// ---- booking: need → adviser → options ----

// bookableNeeds are the open needs the person may book a meeting for: their own (filed or
// supported), or any open need for a DX lead.
func (h *Meetings) bookableNeeds(ctx context.Context, r *Request) ([]*bot.Need, error) {
	f := bot.NeedFilter{OpenOnly: true, Limit: 20}
	if r.Person.Role != bot.RoleDXLead {
		f.FiledBy = r.Person.ID
	}
	return h.Needs.Needs(ctx, r.Tenant.ID, f)
}

func (h *Meetings) book(ctx context.Context, w *Response, r *Request) error {
	if id, _, ok := parseNeedID(r.Args); ok {
		r.Args = itoa64(int64(id))
		return h.chooseAdviser(ctx, w, r)
	}
	needs, err := h.bookableNeeds(ctx, r)
	if err != nil {
		return err
	}
	if len(needs) == 0 {
		w.Reply(bot.Reply{Text: r.T("面談はニーズごとに予約します。対応中のニーズがありません。先にニーズを登録してください。",
			"Meetings are booked for a need. You have no open need; please file one first."),
			Choices: []bot.Choice{{Label: r.T("ニーズを登録", "File a need"), Action: "need.new"}}})
		return nil
	}
	rep := bot.Reply{Text: r.T("どのニーズについて面談しますか？", "Which need is the meeting about?")}
	for _, n := range needs[:min(len(needs), 10)] {
		rep.Choices = append(rep.Choices, bot.Choice{Label: truncate(n.Label(), 30), Action: "meeting.need", Value: itoa64(int64(n.ID))})
	}
	w.Reply(rep)
	return nil
}

// loadBookableNeed reads the need in r.Args and checks the person may book for it.
func (h *Meetings) loadBookableNeed(ctx context.Context, w *Response, r *Request, arg string) (*bot.Need, bool, error) {
	id, _, ok := parseNeedID(arg)
	if !ok {
		w.Text(r.T("ニーズ番号が読めませんでした。「面談予約」からやり直してください。", "I could not read the need number. Please start again with \"book meeting\"."))
		return nil, false, nil
	}
	n, err := h.Needs.Need(ctx, r.Tenant.ID, id)
	if bot.ErrorCode(err) == bot.ENOTFOUND || (err == nil && r.Person.Role != bot.RoleDXLead && !n.HasSupporter(r.Person.ID)) {
		w.Text(r.T("ニーズ #"+itoa64(int64(id))+" は見つかりません。番号をご確認ください。", "Need #"+itoa64(int64(id))+" was not found."))
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !n.Status.Open() {
		w.Text(r.T("ニーズ #"+itoa64(int64(n.ID))+" は「"+n.Status.Name(bot.LangJA)+"」のため、面談を予約できません。",
			"Need #"+itoa64(int64(n.ID))+" is "+n.Status.Name(bot.LangEN)+"; no meeting can be booked for it."))
		return nil, false, nil
	}
	return n, true, nil
}

// chooseAdviser suggests advisers for the need: those whose areas include its category
// first, then the others; advisers out of contract or permit, or not yet on chat, are named
// but cannot be picked.
func (h *Meetings) chooseAdviser(ctx context.Context, w *Response, r *Request) error {
	n, ok, err := h.loadBookableNeed(ctx, w, r, r.Args)
	if !ok {
		return err
	}
	if err := h.Advisers.Link(ctx, r.Tenant.ID); err != nil {
		return err
	}
	all, err := h.Advisers.Store.Advisers(ctx, r.Tenant.ID)
	if err != nil {
		return err
	}
	var match, other []*bot.Adviser
	var unreachable []string
	for _, a := range all {
		switch {
		case !a.Available(r.Now):
			unreachable = append(unreachable, a.Name+r.T("（契約期間外）", " (not under contract)"))
		case a.Person == "":
			unreachable = append(unreachable, a.Name+r.T("（チャット未参加）", " (not on chat yet)"))
		case a.Serves(n.Category):
			match = append(match, a)
		default:
			other = append(other, a)
		}
	}
	if len(match)+len(other) == 0 {
		w.Text(r.T("予約できるアドバイザーがいません。DX推進担当にご相談ください。", "No adviser can be booked right now. Please contact the DX team."))
		return nil
	}
	text := r.T("ニーズ「"+n.Label()+"」（"+n.Category.Name(bot.LangJA)+"）の面談相手を選んでください。", "Choose the adviser for \""+n.Label()+"\" ("+n.Category.Name(bot.LangEN)+").")
	if len(match) > 0 {
		text += r.T("\n★ はこの分野の担当です。", "\n★ covers this category.")
	}
	rep := bot.Reply{Text: text}
	for _, a := range match {
		rep.Choices = append(rep.Choices, bot.Choice{Label: "★ " + a.Name, Action: "meeting.adviser", Value: itoa64(int64(n.ID)) + ":" + string(a.ID)})
	}
	for _, a := range other {
		rep.Choices = append(rep.Choices, bot.Choice{Label: a.Name, Action: "meeting.adviser", Value: itoa64(int64(n.ID)) + ":" + string(a.ID)})
	}
	for _, a := range append(slices.Clone(match), other...) {
		rep.Fields = append(rep.Fields, bot.Field{Label: a.Name, Value: adviserAreaNames(a.Areas, r.Lang) + " / " + meetingModeNames(a.Modes, r.Lang)})
	}
	if len(unreachable) > 0 {
		rep.Fields = append(rep.Fields, bot.Field{Label: r.T("現在は予約できません", "Not bookable now"), Value: strings.Join(unreachable, "\n")})
	}
	w.Reply(rep)
	return nil
}

func adviserAreaNames(cs []bot.Category, lang bot.Lang) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name(lang)
	}
	return strings.Join(names, dialog.T("、", ", ").In(lang))
}

func meetingModeNames(modes []string, lang bot.Lang) string {
	var out []string
	for _, m := range modes {
		out = append(out, meetingModeName(m, lang))
	}
	return strings.Join(out, dialog.T("、", ", ").In(lang))
}

func meetingModeName(m string, lang bot.Lang) string {
	switch m {
	case bot.ModeOnline:
		return dialog.T("オンライン", "online").In(lang)
	case bot.ModeOnsite:
		return dialog.T("対面（来庁）", "on site").In(lang)
	}
	return m
}

// chooseMode picks how to meet: the need's desired form when the adviser offers it, else
// the adviser's first mode. A meeting always carries its join URL or venue.
func chooseMode(a *bot.Adviser, n *bot.Need) (mode, url, venue string) {
	mode = bot.ModeOnline
	switch {
	case n.Form == "onsite" && a.HasMode(bot.ModeOnsite):
		mode = bot.ModeOnsite
	case n.Form == "remote" && a.HasMode(bot.ModeOnline):
		mode = bot.ModeOnline
	case len(a.Modes) > 0:
		mode = a.Modes[0]
	}
	if mode == bot.ModeOnsite {
		return mode, "", a.Venue
	}
	return mode, a.JoinURL, ""
}

// slotRequest gathers what FindSlots needs: the adviser's windows, both sides' meetings,
// the adviser's remaining monthly minutes and the contract limits.
func (h *Meetings) slotRequest(ctx context.Context, t bot.TenantID, a *bot.Adviser, requester bot.PersonID, exclude bot.MeetingID, now time.Time) (calendar.SlotRequest, error) {
	req := calendar.SlotRequest{Now: now, Horizon: h.horizon(), Duration: h.length(), LeadTime: h.lead(),
		TenantHours: h.TenantHours, Calendar: h.Calendar}
	ws, err := calendar.ParseWindows(a.Windows)
	if err == nil {
		req.AdviserWindows = ws
	}
	// The contract and the side-job permit bound the search.
	if end := earliestLimit(a.ContractEnd, a.PermitExpiry); !end.IsZero() {
		limit := end.AddDate(0, 0, 1).Sub(now)
		if limit <= 0 {
			return req, nil
		}
		req.Horizon = min(req.Horizon, limit)
	}
	if !a.ContractStart.IsZero() && a.ContractStart.Sub(now) > req.LeadTime {
		req.LeadTime = a.ContractStart.Sub(now)
	}
	from := meetingMonthStart(now)
	to := now.Add(req.Horizon).AddDate(0, 1, 1)
	busy := map[bot.MeetingID]bot.TimeSlot{}
	billed := map[string]int{}
	mine, err := h.Store.Meetings(ctx, t, bot.MeetingFilter{Adviser: a.ID, From: from, To: to})
	if err != nil {
		return req, err
	}
	theirs, err := h.Store.Meetings(ctx, t, bot.MeetingFilter{Person: requester, From: now.Add(-24 * time.Hour), To: to})
	if err != nil {
		return req, err
	}
	for _, m := range mine {
		if m.ID == exclude || !m.Status.Takes() {
			continue
		}
		busy[m.ID] = m.Slot
		billed[meetingMonthKey(m.Slot.Start)] += m.BilledMinutes()
	}
	for _, m := range theirs {
		if m.ID != exclude && m.Status.Takes() {
			busy[m.ID] = m.Slot
		}
	}
	for _, s := range busy {
		req.Busy = append(req.Busy, calendar.Interval{Start: s.Start, End: s.End})
	}
	if a.CapHours > 0 {
		capMin := int(a.CapHours * 60)
		req.RemainingMinutes = func(y int, mo time.Month) int {
			return capMin - billed[fmt.Sprintf("%04d-%02d", y, int(mo))]
		}
	}
	return req, nil
}

func earliestLimit(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}

func meetingMonthStart(t time.Time) time.Time {
	t = t.In(bot.Tokyo)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, bot.Tokyo)
}

func meetingMonthKey(t time.Time) string { return t.In(bot.Tokyo).Format("2006-01") }

// startPoll offers the slots as toggle buttons; the draft lives in the store (a day).
func (h *Meetings) startPoll(ctx context.Context, w *Response, r *Request) error {
	needArg, advID, _ := strings.Cut(r.Args, ":")
	n, ok, err := h.loadBookableNeed(ctx, w, r, needArg)
	if !ok {
		return err
	}
	a, err := h.Advisers.Store.Adviser(ctx, r.Tenant.ID, bot.AdviserID(advID))
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		w.Text(r.T("アドバイザーが見つかりません。「面談予約」からやり直してください。", "Adviser not found. Please start again with \"book meeting\"."))
		return nil
	} else if err != nil {
		return err
	}
	if a.Person == "" || !a.Available(r.Now) {
		w.Text(r.T(a.Name+" さんは現在予約できません。別のアドバイザーを選んでください。", a.Name+" cannot be booked right now. Please choose another adviser."))
		return nil
	}
	req, err := h.slotRequest(ctx, r.Tenant.ID, a, r.Person.ID, "", r.Now)
	if err != nil {
		return err
	}
	slots := calendar.FindSlots(req)
	if len(slots) == 0 {
		w.Reply(bot.Reply{Text: r.T(a.Name+" さんの空き時間（"+calendar.FormatWindows(req.AdviserWindows, bot.LangJA)+"）に、今後3週間で予約できる枠がありません。別のアドバイザーを選ぶか、DX推進担当にご相談ください。",
			"There is no free slot in "+a.Name+"'s hours ("+calendar.FormatWindows(req.AdviserWindows, bot.LangEN)+") in the next three weeks. Choose another adviser or contact the DX team."),
			Choices: []bot.Choice{{Label: r.T("アドバイザーを選び直す", "Choose another adviser"), Action: "meeting.need", Value: itoa64(int64(n.ID))}}})
		return nil
	}
	mode, url, venue := chooseMode(a, n)
	m := &bot.Meeting{Tenant: r.Tenant.ID, Need: n.ID, NeedTitle: n.Title, Adviser: a.ID, AdviserPerson: a.Person,
		Requester: r.Person.ID, Status: bot.MeetingDraft, Mode: mode, JoinURL: url, Venue: venue, DurationMin: int(h.length() / time.Minute),
		History: []bot.MeetingEvent{{At: r.Now, By: r.Person.ID, Action: "drafted", To: bot.MeetingDraft}}}
	for _, s := range slots {
		m.Candidates = append(m.Candidates, meetingSlotOf(s))
	}
	m, err = h.Store.CreateMeeting(ctx, m)
	if err != nil {
		return err
	}
	w.Reply(h.pollCard(m, a, r.Lang))
	return nil
}

// pollCard shows the options with a check mark on the picked ones.
func (h *Meetings) pollCard(m *bot.Meeting, a *bot.Adviser, lang bot.Lang) bot.Reply {
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	mins := strconv.Itoa(m.DurationMin)
	rep := bot.Reply{Text: T("ニーズ #"+itoa64(int64(m.Need))+"「"+m.NeedTitle+"」について、"+a.Name+" さんとの面談候補です（"+mins+"分・"+meetingModeName(m.Mode, lang)+"）。\nご都合のよい日時を1〜3つ選び、「決定」を押してください。",
		"Meeting options with "+a.Name+" about need #"+itoa64(int64(m.Need))+" \""+m.NeedTitle+"\" ("+mins+" min, "+meetingModeName(m.Mode, lang)+").\nPick 1 to 3 times that suit you, then press \"Send\".")}
	for i, c := range m.Candidates {
		label := meetingSlotLabel(c, lang)
		if slices.Contains(m.Picks, i) {
			label = "✓ " + label
		}
		rep.Choices = append(rep.Choices, bot.Choice{Label: label, Action: "meeting.toggle", Value: string(m.ID) + ":" + strconv.Itoa(i)})
	}
	rep.Choices = append(rep.Choices,
		bot.Choice{Label: T("決定（"+strconv.Itoa(len(m.Picks))+"件選択中）", "Send ("+strconv.Itoa(len(m.Picks))+" picked)"), Action: "meeting.send", Value: string(m.ID)},
		bot.Choice{Label: T("やめる", "Cancel"), Action: "meeting.discard", Value: string(m.ID)})
	return rep
}

func (h *Meetings) draftOf(ctx context.Context, w *Response, r *Request, id bot.MeetingID) (*bot.Meeting, bool, error) {
	m, err := h.Store.Meeting(ctx, r.Tenant.ID, id)
	if bot.ErrorCode(err) == bot.ENOTFOUND || (err == nil && m.Requester != r.Person.ID) {
		w.Text(r.T("この候補は期限が切れました。お手数ですが「面談予約」からやり直してください。", "These options have expired. Please start again with \"book meeting\"."))
		return nil, false, nil
	}
	return m, err == nil, err
}

func (h *Meetings) toggle(ctx context.Context, w *Response, r *Request) error {
	id, rest := meetingRef(r.Args)
	i, perr := strconv.Atoi(rest)
	if _, ok, err := h.draftOf(ctx, w, r, id); !ok {
		return err
	}
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if m.Status != bot.MeetingDraft {
			return meetingRefusal("この面談は既に送信済みです（"+m.Status.Name(bot.LangJA)+"）。", "This request was already sent ("+m.Status.Name(bot.LangEN)+").")
		}
		if perr != nil || i < 0 || i >= len(m.Candidates) {
			return meetingRefusal("候補をボタンから選んでください。", "Please pick an option from the buttons.")
		}
		if k := slices.Index(m.Picks, i); k >= 0 {
			m.Picks = slices.Delete(m.Picks, k, k+1)
			return nil
		}
		if len(m.Picks) >= MaxPicks {
			return meetingRefusal("選べるのは3つまでです。別の候補を外してから選んでください。", "You can pick up to 3 options. Unpick one first.")
		}
		m.Picks = append(m.Picks, i)
		slices.Sort(m.Picks)
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	a, err := h.Advisers.Store.Adviser(ctx, r.Tenant.ID, m.Adviser)
	if err != nil {
		return err
	}
	w.Reply(h.pollCard(m, a, r.Lang))
	return nil
}

func (h *Meetings) discard(ctx context.Context, w *Response, r *Request) error {
	w.Reply(bot.Reply{Text: r.T("面談の予約を中止しました。", "The booking was cancelled."),
		Choices: []bot.Choice{{Label: r.T("メニュー", "Menu"), Action: "menu"}}})
	return nil
}

// send turns the draft into a request and pings the adviser.
func (h *Meetings) send(ctx context.Context, w *Response, r *Request) error {
	id, _ := meetingRef(r.Args)
	if _, ok, err := h.draftOf(ctx, w, r, id); !ok {
		return err
	}
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if m.Status != bot.MeetingDraft {
			return meetingRefusal("この面談は既に送信済みです（"+m.Status.Name(bot.LangJA)+"）。", "This request was already sent ("+m.Status.Name(bot.LangEN)+").")
		}
		if len(m.Picks) == 0 {
			return meetingRefusal("候補を1つ以上選んでから「決定」を押してください。", "Pick at least one option, then press \"Send\".")
		}
		for _, i := range m.Picks {
			if !m.Candidates[i].Start.After(r.Now) {
				return meetingRefusal("選んだ候補の日時が過ぎています。「面談予約」からやり直してください。", "A picked time has passed. Please start again with \"book meeting\".")
			}
		}
		m.Status, m.RequestedAt = bot.MeetingRequested, r.Now
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "requested", To: bot.MeetingRequested})
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	// The adviser's ping, then the 48 h reminder and the 72 h escalation (both check that
	// the request is still unanswered when they run).
	if err := h.pushRequest(ctx, m, false); err != nil {
		return err
	}
	job := meetingJob{Tenant: m.Tenant, Meeting: m.ID}
	if _, err := h.Queue.Enqueue(ctx, JobMeetingNudge, nudgeJobID(m.Tenant, m.ID), job, r.Now.Add(meetingDur(h.NudgeAfter, DefaultNudgeAfter))); err != nil {
		return err
	}
	if _, err := h.Queue.Enqueue(ctx, JobMeetingEscalate, escalateJobID(m.Tenant, m.ID), job, r.Now.Add(meetingDur(h.EscalateAfter, DefaultEscalateAfter))); err != nil {
		return err
	}
	rep := bot.Reply{Text: r.T(h.adviserName(ctx, m, r.Lang)+" さんに候補日時を送りました。回答が届いたらお知らせします。",
		"The options were sent to "+h.adviserName(ctx, m, r.Lang)+". You will be told when they answer.")}
	for _, i := range m.Picks {
		rep.Fields = append(rep.Fields, bot.Field{Label: r.T("候補", "Option"), Value: meetingSlotLabel(m.Candidates[i], r.Lang)})
	}
	rep.Choices = []bot.Choice{{Label: r.T("面談一覧", "My meetings"), Action: "meeting.list"}}
	w.Reply(rep)
	return nil
}

// requestCard is the adviser's ping: the picked options, 別の日時を提案 and 辞退.
func (h *Meetings) requestCard(ctx context.Context, m *bot.Meeting, lang bot.Lang, nudge bool) bot.Reply {
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	tenant := string(m.Tenant)
	if t, err := h.Members.Tenant(ctx, m.Tenant); err == nil {
		tenant = t.Name
	}
	who := h.name(ctx, m.Tenant, m.Requester, lang)
	text := T("【面談のご依頼】"+tenant+"の "+who+" さんから、ニーズ #"+itoa64(int64(m.Need))+"「"+m.NeedTitle+"」について面談のご依頼です。ご都合のよい日時を1つお選びください。",
		"[Meeting request] "+who+" of "+tenant+" asks for a meeting about need #"+itoa64(int64(m.Need))+" \""+m.NeedTitle+"\". Please choose one time.")
	if nudge {
		text = T("【再送】まだご回答をいただいていません。", "[Reminder] This request is still waiting for your answer.\n") + text
	}
	rep := bot.Reply{Text: text, Fields: []bot.Field{
		{Label: T("形式", "Format"), Value: meetingModeName(m.Mode, lang) + " / " + strconv.Itoa(m.DurationMin) + T("分", " min")},
	}}
	if n, err := h.Needs.Need(ctx, m.Tenant, m.Need); err == nil {
		rep.Fields = append(rep.Fields, bot.Field{Label: T("部署", "Department"), Value: n.Department},
			bot.Field{Label: T("内容", "Description"), Value: truncate(n.Description, 200)})
	}
	for _, i := range m.Picks {
		rep.Choices = append(rep.Choices, bot.Choice{Label: meetingSlotLabel(m.Candidates[i], lang), Action: "meeting.accept", Value: string(m.ID) + ":" + strconv.Itoa(i)})
	}
	rep.Choices = append(rep.Choices,
		bot.Choice{Label: T("別の日時を提案", "Propose another time"), Action: "meeting.propose", Value: string(m.ID)},
		bot.Choice{Label: T("辞退", "Decline"), Action: "meeting.decline", Value: string(m.ID)})
	return rep
}

func (h *Meetings) pushRequest(ctx context.Context, m *bot.Meeting, nudge bool) error {
	lang := h.langOf(ctx, m.Tenant, m.AdviserPerson)
	key := "meet:" + string(m.ID) + ":request"
	if nudge {
		key = "meet:" + string(m.ID) + ":nudge"
	}
	return h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: m.AdviserPerson}, h.requestCard(ctx, m, lang, nudge), key)
}

// ---- answers ----

// conflict reports a refusal when the slot overlaps another meeting of either side or
// would exceed the adviser's monthly cap.
func (h *Meetings) conflict(ctx context.Context, m *bot.Meeting, s bot.TimeSlot) (*dialog.Text, error) {
	if _, closed := h.Calendar.Closed(s.Start); closed {
		return meetingRefusal("この日は閉庁日（祝日・年末年始）のため面談できません。", "The city hall is closed that day (holiday or year-end)."), nil
	}
	from, to := s.Start.Add(-24*time.Hour), s.End.Add(24*time.Hour)
	for _, f := range []bot.MeetingFilter{{Adviser: m.Adviser, From: from, To: to}, {Person: m.Requester, From: from, To: to}, {Person: m.AdviserPerson, From: from, To: to}} {
		if f.Adviser == "" && f.Person == "" {
			continue // an empty filter would read the whole tenant
		}
		others, err := h.Store.Meetings(ctx, m.Tenant, f)
		if err != nil {
			return nil, err
		}
		for _, o := range others {
			if o.ID != m.ID && o.Status.Takes() && o.Slot.Overlaps(s) {
				return meetingRefusal("この日時には既に別の面談（"+meetingSlotLabel(o.Slot, bot.LangJA)+"）が入っています。別の日時を選んでください。",
					"Another meeting ("+meetingSlotLabel(o.Slot, bot.LangEN)+") already takes this time. Please choose another."), nil
			}
		}
	}
	a, err := h.Advisers.Store.Adviser(ctx, m.Tenant, m.Adviser)
	if err != nil {
		return nil, err
	}
	if !a.Available(s.Start) {
		return meetingRefusal("この日はアドバイザーの契約期間（または副業許可の期限）外です。", "That day is outside the adviser's contract or side-job permit."), nil
	}
	if a.CapHours > 0 {
		ms := meetingMonthStart(s.Start)
		month, err := h.Store.Meetings(ctx, m.Tenant, bot.MeetingFilter{Adviser: m.Adviser, From: ms, To: ms.AddDate(0, 1, 0)})
		if err != nil {
			return nil, err
		}
		used := 0
		for _, o := range month {
			if o.ID != m.ID {
				used += o.BilledMinutes()
			}
		}
		if used+s.Minutes() > int(a.CapHours*60) {
			return meetingRefusal("この月のアドバイザーの稼働上限（"+strconv.FormatFloat(a.CapHours, 'f', -1, 64)+"時間）を超えるため、確定できません。別の月の日時を選ぶか、DX推進担当にご相談ください。",
				"This would exceed the adviser's monthly cap ("+strconv.FormatFloat(a.CapHours, 'f', -1, 64)+" h). Choose a time in another month or contact the DX team."), nil
		}
	}
	return nil, nil
}

// confirm sets the meeting's time if it is still open and the slot is still free; pick
// returns the slot the answer stands for, or a refusal.
func (h *Meetings) confirm(ctx context.Context, w *Response, r *Request, id bot.MeetingID, action string, pick func(m *bot.Meeting) (bot.TimeSlot, *dialog.Text)) error {
	cur, ok, err := h.loadMeeting(ctx, w, r, id)
	if !ok {
		return err
	}
	slot, refusal := pick(cur)
	if refusal == nil {
		if refusal, err = h.conflict(ctx, cur, slot); err != nil {
			return err
		}
	} else if err := h.finishConfirm(ctx, cur, r.Person.ID, action); err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		s, ref := pick(m)
		if ref != nil {
			return ref
		}
		if !s.Start.Equal(slot.Start) || !s.End.Equal(slot.End) {
			return meetingRefusal("回答の間に面談の内容が変わりました。最新の内容をご確認ください。", "The meeting changed while you answered. Please check it again.")
		}
		m.Status, m.Slot, m.Proposal, m.ScheduledAt = bot.MeetingConfirmed, s, nil, r.Now
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: action, To: bot.MeetingConfirmed})
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	h.cancelPollJobs(ctx, m)
	if err := h.schedule(ctx, m); err != nil {
		return err
	}
	card, err := h.card(ctx, m, r.Lang, "confirmed", r.Person.ID)
	if err != nil {
		return err
	}
	w.Reply(card)
	return h.notify(ctx, m, r.Person.ID, "confirmed")
}

// finishConfirm completes a confirmation that was cut short: when the process died after
// the meeting was written and before its reminders and the other side's card were queued,
// the same person's answer comes again (a redelivery, a retried web message) and finds the
// meeting confirmed. Both are queued again under their keys, so this is a no-op when they
// were queued the first time.
func (h *Meetings) finishConfirm(ctx context.Context, m *bot.Meeting, actor bot.PersonID, action string) error {
	if m.Status != bot.MeetingConfirmed || len(m.History) == 0 {
		return nil
	}
	if last := m.History[len(m.History)-1]; last.Action != action || last.By != actor || last.To != bot.MeetingConfirmed {
		return nil
	}
	if err := h.schedule(ctx, m); err != nil {
		return err
	}
	return h.notify(ctx, m, actor, "confirmed")
}

// accept is the adviser choosing one of the requester's options. The first acceptable
// answer wins; a later one is told the meeting is already confirmed.
func (h *Meetings) accept(ctx context.Context, w *Response, r *Request) error {
	id, rest := meetingRef(r.Args)
	i, perr := strconv.Atoi(rest)
	return h.confirm(ctx, w, r, id, "accepted", func(m *bot.Meeting) (bot.TimeSlot, *dialog.Text) {
		if m.AdviserPerson != r.Person.ID {
			return bot.TimeSlot{}, meetingRefusal("この依頼に回答できるのは依頼先のアドバイザーだけです。", "Only the adviser asked can answer this request.")
		}
		if !m.Status.Pending() {
			return bot.TimeSlot{}, stateRefusal(m)
		}
		if perr != nil || !slices.Contains(m.Picks, i) {
			return bot.TimeSlot{}, meetingRefusal("候補をボタンから選んでください。", "Please choose one of the buttons.")
		}
		if !m.Candidates[i].Start.After(r.Now) {
			return bot.TimeSlot{}, meetingRefusal("この候補の日時は過ぎています。「別の日時を提案」からご提案ください。", "This time has passed. Please propose another time.")
		}
		return m.Candidates[i], nil
	})
}

// acceptProposal is the requester accepting the adviser's counter-proposal.
func (h *Meetings) acceptProposal(ctx context.Context, w *Response, r *Request) error {
	id, _ := meetingRef(r.Args)
	return h.confirm(ctx, w, r, id, "proposal_accepted", func(m *bot.Meeting) (bot.TimeSlot, *dialog.Text) {
		if m.Requester != r.Person.ID {
			return bot.TimeSlot{}, meetingRefusal("提案に回答できるのは面談を依頼した方だけです。", "Only the requester can answer the proposal.")
		}
		if m.Status != bot.MeetingProposed || m.Proposal == nil {
			return bot.TimeSlot{}, stateRefusal(m)
		}
		if !m.Proposal.Start.After(r.Now) {
			return bot.TimeSlot{}, meetingRefusal("提案の日時は過ぎています。「面談予約」から改めて調整してください。", "The proposed time has passed. Please book again.")
		}
		return *m.Proposal, nil
	})
}

func (h *Meetings) declineProposal(ctx context.Context, w *Response, r *Request) error {
	id, _ := meetingRef(r.Args)
	if _, ok, err := h.loadMeeting(ctx, w, r, id); !ok {
		return err
	}
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if m.Requester != r.Person.ID {
			return meetingRefusal("提案に回答できるのは面談を依頼した方だけです。", "Only the requester can answer the proposal.")
		}
		if m.Status != bot.MeetingProposed {
			return stateRefusal(m)
		}
		m.Status = bot.MeetingDeclined
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "proposal_declined", To: bot.MeetingDeclined})
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	h.cancelPollJobs(ctx, m)
	w.Reply(bot.Reply{Text: r.T("提案の日時を見送りました。アドバイザーにお伝えします。別の候補で改めて予約できます。",
		"You declined the proposed time; the adviser will be told. You can book again with other options."),
		Choices: []bot.Choice{{Label: r.T("改めて予約する", "Book again"), Action: "meeting.adviser", Value: itoa64(int64(m.Need)) + ":" + string(m.Adviser)}}})
	lang := h.langOf(ctx, m.Tenant, m.AdviserPerson)
	return h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: m.AdviserPerson}, bot.Reply{
		Text: dialog.T(h.name(ctx, m.Tenant, m.Requester, lang)+" さんは、ご提案の日時（"+meetingSlotLabel(*m.Proposal, bot.LangJA)+"）を見送りました。改めて依頼が届く場合があります。",
			h.name(ctx, m.Tenant, m.Requester, lang)+" declined the proposed time ("+meetingSlotLabel(*m.Proposal, bot.LangEN)+"). A new request may follow.").In(lang),
	}, "meet:"+string(m.ID)+":pdeclined")
}

// ---- lists and views ----

func (h *Meetings) list(ctx context.Context, w *Response, r *Request) error {
	f := bot.MeetingFilter{Person: r.Person.ID, From: r.Now.Add(-7 * 24 * time.Hour), Limit: 30}
	if r.Person.Role == bot.RoleDXLead {
		f.Person = ""
	}
	ms, err := h.Store.Meetings(ctx, r.Tenant.ID, f)
	if err != nil {
		return err
	}
	var shown []*bot.Meeting
	for _, m := range ms {
		if m.Status.Pending() || m.Status == bot.MeetingConfirmed || (m.Status == bot.MeetingHeld && m.Attends(r.Person.ID)) {
			shown = append(shown, m)
		}
	}
	if len(shown) == 0 {
		rep := bot.Reply{Text: r.T("予定されている面談はありません。", "You have no upcoming meetings.")}
		if r.Person.Can(bot.RoleStaff) {
			rep.Choices = []bot.Choice{{Label: r.T("面談を予約", "Book a meeting"), Action: "meeting.book"}}
		}
		w.Reply(rep)
		return nil
	}
	rep := bot.Reply{Text: r.T("面談一覧（日時順）です。押すと詳細を表示します。", "Meetings by date. Press one for details.")}
	for _, m := range shown[:min(len(shown), 10)] {
		when := meetingSlotLabel(bot.TimeSlot{Start: m.When(), End: m.When().Add(time.Duration(m.DurationMin) * time.Minute)}, r.Lang)
		if !m.Status.Takes() {
			when = r.T("調整中", "pending")
		}
		rep.Fields = append(rep.Fields, bot.Field{Label: when + " " + m.Status.Name(r.Lang), Value: "#" + itoa64(int64(m.Need)) + " " + m.NeedTitle + " / " + h.adviserName(ctx, m, r.Lang)})
		rep.Choices = append(rep.Choices, bot.Choice{Label: truncate(string(m.ID)+" "+m.NeedTitle, 30), Action: "meeting.view", Value: string(m.ID)})
	}
	w.Reply(rep)
	return nil
}

func (h *Meetings) view(ctx context.Context, w *Response, r *Request) error {
	id, _ := meetingRef(r.Args)
	m, ok, err := h.loadMeeting(ctx, w, r, id)
	if !ok {
		return err
	}
	rep, err := h.card(ctx, m, r.Lang, "view", r.Person.ID)
	if err != nil {
		return err
	}
	switch {
	case m.Status == bot.MeetingRequested && m.AdviserPerson == r.Person.ID:
		rep.Choices = h.requestCard(ctx, m, r.Lang, false).Choices
	case m.Status == bot.MeetingProposed && m.Requester == r.Person.ID:
		rep.Choices = h.proposalChoices(m, r.Lang)
	case m.Status == bot.MeetingHeld && m.Requester == r.Person.ID:
		rep.Choices = []bot.Choice{{Label: r.T("振り返りを入力", "Give feedback"), Action: "meeting.feedback", Value: string(m.ID)}}
	case m.Status == bot.MeetingHeld && m.AdviserPerson == r.Person.ID:
		rep.Choices = h.hoursChoices(m, r.Lang)
	}
	w.Reply(rep)
	return nil
}

// card renders a meeting; for a set or changed time it carries the invite as an .ics
// attachment (METHOD:CANCEL for a cancelled meeting).
func (h *Meetings) card(ctx context.Context, m *bot.Meeting, lang bot.Lang, event string, viewer bot.PersonID) (bot.Reply, error) {
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	label := "#" + itoa64(int64(m.Need)) + "「" + m.NeedTitle + "」"
	var text string
	switch event {
	case "confirmed":
		text = T("面談が確定しました: "+label, "The meeting is confirmed: "+label)
	case "moved":
		text = T("面談の日時が変更されました: "+label, "The meeting was moved: "+label)
	case "cancelled":
		text = T("面談が取り消されました: "+label, "The meeting was cancelled: "+label)
	default:
		text = T("面談 "+string(m.ID)+": "+label, "Meeting "+string(m.ID)+": "+label)
	}
	rep := bot.Reply{Kind: "meeting_card", Text: text}
	add := func(l, v string) { rep.Fields = append(rep.Fields, bot.Field{Label: l, Value: v}) }
	add(T("状態", "Status"), m.Status.Name(lang))
	if !m.Slot.Start.IsZero() {
		add(T("日時", "When"), meetingSlotLabel(m.Slot, lang))
	} else if m.Proposal != nil {
		add(T("提案中の日時", "Proposed time"), meetingSlotLabel(*m.Proposal, lang))
	} else {
		var opts []string
		for _, i := range m.Picks {
			opts = append(opts, meetingSlotLabel(m.Candidates[i], lang))
		}
		add(T("候補", "Options"), strings.Join(opts, "\n"))
	}
	add(T("形式", "Format"), meetingModeName(m.Mode, lang))
	h.addPlace(&rep, m, lang)
	add(T("相談者", "Requester"), h.name(ctx, m.Tenant, m.Requester, lang))
	add(T("アドバイザー", "Adviser"), h.adviserName(ctx, m, lang))
	if m.Reason != "" && (event == "moved" || event == "cancelled" || m.Status == bot.MeetingDeclined) {
		add(T("理由", "Reason"), m.Reason)
	}
	if m.Status == bot.MeetingHeld && (viewer == m.Requester || viewer == m.AdviserPerson) {
		if m.Usefulness > 0 {
			add(T("役に立った度", "Usefulness"), strconv.Itoa(m.Usefulness)+" / 5")
		}
		if m.Notes != "" {
			add(T("メモ", "Notes"), m.Notes)
		}
		if m.ActionItems != "" {
			add(T("今後の対応", "Action items"), m.ActionItems)
		}
		if m.Minutes > 0 {
			add(T("稼働時間", "Hours"), strconv.FormatFloat(bot.Hours(m.Minutes), 'f', 1, 64)+T("時間", " h"))
		}
	}
	if m.Status == bot.MeetingConfirmed && m.Attends(viewer) {
		rep.Choices = []bot.Choice{
			{Label: T("日時を変更", "Reschedule"), Action: "meeting.reschedule", Value: string(m.ID)},
			{Label: T("取り消す", "Cancel meeting"), Action: "meeting.cancel", Value: string(m.ID)},
		}
	}
	if m.Status.Takes() || (m.Status == bot.MeetingCancelled && !m.Slot.Start.IsZero()) {
		ics, err := h.invite(ctx, m)
		if err != nil {
			return rep, err
		}
		rep.Attachments = []bot.Attachment{ics}
	}
	return rep, nil
}

// addPlace adds the join URL or the venue: every card and reminder carries one.
func (h *Meetings) addPlace(rep *bot.Reply, m *bot.Meeting, lang bot.Lang) {
	switch {
	case m.Mode == bot.ModeOnsite && m.Venue != "":
		rep.Fields = append(rep.Fields, bot.Field{Label: dialog.T("会場", "Venue").In(lang), Value: m.Venue})
	case m.JoinURL != "":
		rep.Fields = append(rep.Fields, bot.Field{Label: dialog.T("参加URL", "Join URL").In(lang), Value: m.JoinURL})
	case m.Venue != "":
		rep.Fields = append(rep.Fields, bot.Field{Label: dialog.T("会場", "Venue").In(lang), Value: m.Venue})
	default:
		rep.Fields = append(rep.Fields, bot.Field{Label: dialog.T("会場", "Venue").In(lang),
			Value: dialog.T("未定（DX推進担当にご確認ください）", "not set (please ask the DX team)").In(lang)})
	}
}

// invite builds the iCalendar attachment: a stable UID per meeting, SEQUENCE from the
// meeting, METHOD:CANCEL once cancelled, DTSTAMP at the last change.
func (h *Meetings) invite(ctx context.Context, m *bot.Meeting) (bot.Attachment, error) {
	tenantName := string(m.Tenant)
	if t, err := h.Members.Tenant(ctx, m.Tenant); err == nil && t.Name != "" {
		tenantName = t.Name
	}
	addr := func(p bot.PersonID) string { return "urn:kakehashi:" + string(m.Tenant) + ":" + string(p) }
	desc := "ニーズ #" + itoa64(int64(m.Need)) + " " + m.NeedTitle +
		"\n相談者: " + h.name(ctx, m.Tenant, m.Requester, bot.LangJA) + "\nアドバイザー: " + h.adviserName(ctx, m, bot.LangJA)
	inv := calendar.Invite{
		UID: string(m.ID) + "@" + string(m.Tenant) + ".kakehashi", Sequence: m.Sequence, Method: calendar.MethodRequest,
		Start: m.Slot.Start, End: m.Slot.End, Summary: "面談: " + m.NeedTitle,
		Organizer: calendar.Person{Name: tenantName + " DX推進担当", Address: "urn:kakehashi:" + string(m.Tenant) + ":dx"},
		Attendees: []calendar.Person{
			{Name: h.name(ctx, m.Tenant, m.Requester, bot.LangJA), Address: addr(m.Requester)},
			{Name: h.adviserName(ctx, m, bot.LangJA), Address: addr(m.AdviserPerson)},
		},
		Stamp: m.UpdatedAt,
	}
	if m.Mode == bot.ModeOnsite {
		inv.Location = m.Venue
	} else {
		inv.URL = m.JoinURL
		if inv.URL == "" {
			inv.Location = m.Venue
		}
	}
	switch {
	case m.Status == bot.MeetingCancelled:
		inv.Method = calendar.MethodCancel
		desc += "\n取消理由: " + m.Reason
	case m.Sequence > 0 && m.Reason != "":
		desc += "\n変更理由: " + m.Reason
	}
	inv.Description = desc
	b, err := inv.ICS()
	if err != nil {
		return bot.Attachment{}, err
	}
	method := strings.ToLower(inv.Method)
	return bot.Attachment{Name: "meeting-" + string(m.ID) + ".ics", ContentType: "text/calendar; charset=utf-8; method=" + strings.ToUpper(method), Data: b}, nil
}

// notify pushes the card (with the invite) to every attendee except the one who acted;
// they got it as their reply. Keys carry the sequence, so each change is told once.
func (h *Meetings) notify(ctx context.Context, m *bot.Meeting, actor bot.PersonID, event string) error {
	for _, p := range m.Attendees() {
		if p == actor {
			continue
		}
		lang := h.langOf(ctx, m.Tenant, p)
		card, err := h.card(ctx, m, lang, event, p)
		if err != nil {
			return err
		}
		if event != "confirmed" && actor != "" {
			card.Text += dialog.T("\n（"+h.name(ctx, m.Tenant, actor, bot.LangJA)+" さんによる操作）", "\n(by "+h.name(ctx, m.Tenant, actor, bot.LangEN)+")").In(lang)
		}
		key := "meet:" + string(m.ID) + ":s" + strconv.Itoa(m.Sequence) + ":" + event + ":" + string(p)
		if err := h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: p}, card, key); err != nil {
			return err
		}
	}
	return nil
}

func (h *Meetings) proposalChoices(m *bot.Meeting, lang bot.Lang) []bot.Choice {
	return []bot.Choice{
		{Label: dialog.T("この日時で承諾", "Accept this time").In(lang), Action: "meeting.paccept", Value: string(m.ID)},
		{Label: dialog.T("見送る", "Decline").In(lang), Action: "meeting.pdecline", Value: string(m.ID)},
	}
}

// ---- jobs: reminders, follow-up, escalation ----

// meetingJob is the payload of the meeting jobs.
type meetingJob struct {
	Tenant   bot.TenantID  `json:"tenant"`
	Meeting  bot.MeetingID `json:"meeting"`
	Sequence int           `json:"seq"`
	Offset   time.Duration `json:"offset,omitempty"`
	Person   bot.PersonID  `json:"person,omitempty"`
}

// schedule enqueues the reminders of the meeting's current time for every attendee and the
// follow-up at its end. Offsets already past when the time was set are skipped; the rest
// are enqueued even if due now (late rather than never). Enqueueing is idempotent, so
// Reconcile may call it again.
func (h *Meetings) schedule(ctx context.Context, m *bot.Meeting) error {
	if m.Status != bot.MeetingConfirmed {
		return nil
	}
	for _, off := range h.offsets() {
		due := m.Slot.Start.Add(-off)
		if due.Before(m.ScheduledAt) {
			continue
		}
		for _, p := range m.Attendees() {
			job := meetingJob{Tenant: m.Tenant, Meeting: m.ID, Sequence: m.Sequence, Offset: off, Person: p}
			if _, err := h.Queue.Enqueue(ctx, JobMeetingReminder, ReminderJobID(m.Tenant, m.ID, off, m.Sequence, p), job, due); err != nil {
				return err
			}
		}
	}
	_, err := h.Queue.Enqueue(ctx, JobMeetingAfter, afterJobID(m.Tenant, m.ID, m.Sequence), meetingJob{Tenant: m.Tenant, Meeting: m.ID, Sequence: m.Sequence}, m.Slot.End)
	return err
}

// unschedule cancels the reminders and the follow-up of sequence seq, and any push of such
// a reminder still waiting in the outbox. A job already running finds the sequence changed
// and sends nothing.
func (h *Meetings) unschedule(ctx context.Context, m *bot.Meeting, seq int) error {
	for _, off := range h.offsets() {
		for _, p := range m.Attendees() {
			id := ReminderJobID(m.Tenant, m.ID, off, seq, p)
			if err := h.Queue.Cancel(ctx, id); err != nil {
				return err
			}
			if err := h.Queue.Cancel(ctx, "push:"+string(m.Tenant)+":"+id); err != nil {
				return err
			}
		}
	}
	return h.Queue.Cancel(ctx, afterJobID(m.Tenant, m.ID, seq))
}

func (h *Meetings) cancelPollJobs(ctx context.Context, m *bot.Meeting) {
	for _, id := range []string{nudgeJobID(m.Tenant, m.ID), escalateJobID(m.Tenant, m.ID)} {
		if err := h.Queue.Cancel(ctx, id); err != nil {
			// Harmless: the jobs check the meeting's status before they send anything.
			h.log().Warn("cancel poll job failed", "tenant", m.Tenant, "meeting", m.ID, "err", err)
		}
	}
}

func (h *Meetings) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func decodeMeetingJob(j store.Job) (meetingJob, error) {
	var p meetingJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return p, fmt.Errorf("handlers: decode %s job: %w", j.Kind, bot.ErrPermanent)
	}
	return p, nil
}

// RunReminder sends one reminder. It re-reads the meeting and sends nothing unless the
// meeting is still confirmed at the job's sequence; it pushes with the job's ID as the key,
// so a redelivered job (a worker killed before its ack) never sends twice.
func (h *Meetings) RunReminder(ctx context.Context, j store.Job) error {
	p, err := decodeMeetingJob(j)
	if err != nil {
		return err
	}
	m, err := h.Store.Meeting(ctx, p.Tenant, p.Meeting)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if m.Status != bot.MeetingConfirmed || m.Sequence != p.Sequence || !m.Attends(p.Person) {
		return nil // moved, cancelled or held: this reminder is stale
	}
	now := h.Clock.Now()
	if !now.Before(m.Slot.End) {
		return nil // the meeting is over (the bot was down past it): a reminder helps nobody
	}
	lang := h.langOf(ctx, m.Tenant, p.Person)
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	when := T("面談の"+offsetText(p.Offset, lang)+"です", "Your meeting is "+strings.TrimSuffix(offsetText(p.Offset, lang), " before")+" away")
	if now.Sub(m.Slot.Start.Add(-p.Offset)) > 5*time.Minute { // late (the bot was down at the due time): say how late
		if left := int(m.Slot.Start.Sub(now) / time.Minute); left > 0 {
			when = T("面談の開始まであと"+strconv.Itoa(left)+"分です（通知が遅れました）", "Your meeting starts in "+strconv.Itoa(left)+" min (this reminder is late)")
		} else {
			when = T("面談は開始時刻を過ぎています（通知が遅れました）", "Your meeting has started (this reminder is late)")
		}
	}
	rep := bot.Reply{Kind: "meeting_reminder",
		Text: T("【リマインド】"+when+": #"+itoa64(int64(m.Need))+"「"+m.NeedTitle+"」",
			"[Reminder] "+when+": #"+itoa64(int64(m.Need))+" \""+m.NeedTitle+"\""),
		Fields: []bot.Field{{Label: T("日時", "When"), Value: meetingSlotLabel(m.Slot, lang)},
			{Label: T("相手", "With"), Value: h.otherName(ctx, m, p.Person, lang)}},
		Choices: []bot.Choice{{Label: T("詳細", "Details"), Action: "meeting.view", Value: string(m.ID)}},
	}
	h.addPlace(&rep, m, lang)
	return h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: p.Person}, rep, j.ID)
}

func (h *Meetings) otherName(ctx context.Context, m *bot.Meeting, p bot.PersonID, lang bot.Lang) string {
	if p == m.Requester {
		return h.adviserName(ctx, m, lang)
	}
	return h.name(ctx, m.Tenant, m.Requester, lang)
}

// runNudge reminds the adviser once when the request is still unanswered after 48 h.
func (h *Meetings) runNudge(ctx context.Context, j store.Job) error {
	p, err := decodeMeetingJob(j)
	if err != nil {
		return err
	}
	m, err := h.Store.Meeting(ctx, p.Tenant, p.Meeting)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if m.Status != bot.MeetingRequested {
		return nil
	}
	return h.pushRequest(ctx, m, true)
}

// runEscalate tells the DX leads when the adviser has not answered in 72 h.
func (h *Meetings) runEscalate(ctx context.Context, j store.Job) error {
	p, err := decodeMeetingJob(j)
	if err != nil {
		return err
	}
	m, err := h.Store.Meeting(ctx, p.Tenant, p.Meeting)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if m.Status != bot.MeetingRequested {
		return nil
	}
	leads, err := h.Members.Members(ctx, m.Tenant, bot.RoleDXLead)
	if err != nil {
		return err
	}
	hours := strconv.Itoa(int(meetingDur(h.EscalateAfter, DefaultEscalateAfter) / time.Hour))
	for _, l := range leads {
		T := func(ja, en string) string { return dialog.T(ja, en).In(l.Lang) }
		rep := bot.Reply{Text: T("【要確認】アドバイザー "+h.adviserName(ctx, m, l.Lang)+" さんが、面談の依頼に"+hours+"時間回答していません。",
			"[Attention] Adviser "+h.adviserName(ctx, m, l.Lang)+" has not answered a meeting request for "+hours+" hours."),
			Fields: []bot.Field{{Label: T("ニーズ", "Need"), Value: "#" + itoa64(int64(m.Need)) + " " + m.NeedTitle},
				{Label: T("相談者", "Requester"), Value: h.name(ctx, m.Tenant, m.Requester, l.Lang)},
				{Label: T("依頼日時", "Requested"), Value: m.RequestedAt.In(bot.Tokyo).Format("01/02 15:04")}},
			Choices: []bot.Choice{{Label: T("詳細", "Details"), Action: "meeting.view", Value: string(m.ID)}}}
		if err := h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: l.ID}, rep, "meet:"+string(m.ID)+":escalate:"+string(l.ID)); err != nil {
			return err
		}
	}
	return nil
}

// runAfter marks the meeting held at its end and asks the requester for notes and
// usefulness, and the adviser to confirm the hours.
func (h *Meetings) runAfter(ctx context.Context, j store.Job) error {
	p, err := decodeMeetingJob(j)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	m, refusal, err := h.update(ctx, p.Tenant, p.Meeting, func(m *bot.Meeting) *dialog.Text {
		if m.Status != bot.MeetingConfirmed || m.Sequence != p.Sequence {
			return meetingRefusal("stale", "stale")
		}
		m.Status = bot.MeetingHeld
		m.History = append(m.History, bot.MeetingEvent{At: now, Action: "held", To: bot.MeetingHeld})
		return nil
	})
	if bot.ErrorCode(err) == bot.ENOTFOUND || refusal != nil {
		// Stale (moved or cancelled), or an earlier run already marked it; the pushes below
		// are keyed, so an earlier run that stopped before them is completed by Reconcile.
		if refusal != nil {
			if cur, lerr := h.Store.Meeting(ctx, p.Tenant, p.Meeting); lerr == nil && cur.Status == bot.MeetingHeld && cur.Sequence == p.Sequence {
				return h.askFollowUp(ctx, cur)
			}
		}
		return nil
	} else if err != nil {
		return err
	}
	return h.askFollowUp(ctx, m)
}

func (h *Meetings) askFollowUp(ctx context.Context, m *bot.Meeting) error {
	seq := strconv.Itoa(m.Sequence)
	if m.FeedbackAt.IsZero() {
		lang := h.langOf(ctx, m.Tenant, m.Requester)
		rep := bot.Reply{Text: dialog.T("面談「"+m.NeedTitle+"」（"+meetingSlotLabel(m.Slot, bot.LangJA)+"）はいかがでしたか？メモ・今後の対応と、役に立った度合い（1〜5）をお聞かせください。",
			"How was the meeting about \""+m.NeedTitle+"\" ("+meetingSlotLabel(m.Slot, bot.LangEN)+")? Please share notes, action items and how useful it was (1–5).").In(lang),
			Choices: []bot.Choice{{Label: dialog.T("振り返りを入力", "Give feedback").In(lang), Action: "meeting.feedback", Value: string(m.ID)}}}
		if err := h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: m.Requester}, rep, "meet:"+string(m.ID)+":s"+seq+":feedback"); err != nil {
			return err
		}
	}
	if m.HoursAt.IsZero() && m.AdviserPerson != "" {
		lang := h.langOf(ctx, m.Tenant, m.AdviserPerson)
		rep := bot.Reply{Text: dialog.T("面談「"+m.NeedTitle+"」（"+meetingSlotLabel(m.Slot, bot.LangJA)+"）の稼働時間をご確認ください。月の稼働上限の計算に使います。",
			"Please confirm your hours for the meeting about \""+m.NeedTitle+"\" ("+meetingSlotLabel(m.Slot, bot.LangEN)+"). They count against your monthly cap.").In(lang),
			Choices: h.hoursChoices(m, lang)}
		if err := h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: m.AdviserPerson}, rep, "meet:"+string(m.ID)+":s"+seq+":hours"); err != nil {
			return err
		}
	}
	return nil
}

func (h *Meetings) hoursChoices(m *bot.Meeting, lang bot.Lang) []bot.Choice {
	planned := m.Slot.Minutes()
	return []bot.Choice{
		{Label: dialog.T(strconv.Itoa(planned)+"分で確定", "Confirm "+strconv.Itoa(planned)+" min").In(lang), Action: "meeting.hours", Value: string(m.ID) + ":" + strconv.Itoa(planned)},
		{Label: dialog.T("時間を修正", "Enter other hours").In(lang), Action: "meeting.hours", Value: string(m.ID)},
	}
}

// Reconcile re-enqueues the reminders and follow-ups of confirmed meetings whose next job
// is due soon (or was due within the last hour). It repairs a crash between a meeting's
// write and its enqueue; for jobs that exist or ran, enqueueing is a no-op.
func (h *Meetings) Reconcile(ctx context.Context, t bot.TenantID, now time.Time) error {
	const ahead, behind = 5 * time.Minute, time.Hour
	longest := slices.Max(h.offsets())
	ms, err := h.Store.Meetings(ctx, t, bot.MeetingFilter{From: now.Add(-behind - 24*time.Hour), To: now.Add(longest + ahead), Status: []bot.MeetingStatus{bot.MeetingConfirmed}})
	if err != nil {
		return err
	}
	for _, m := range ms {
		soon := m.Slot.End.After(now.Add(-behind)) && m.Slot.End.Before(now.Add(ahead))
		for _, off := range h.offsets() {
			due := m.Slot.Start.Add(-off)
			soon = soon || (due.After(now.Add(-behind)) && due.Before(now.Add(ahead)))
		}
		if soon {
			if err := h.schedule(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// DigestSource fills the digest's meeting numbers: held in the reported week and the week
// before, planned for the next week, each adviser's hours this month against the cap, and
// the usefulness scores given during the reported week.
func (h *Meetings) DigestSource(ctx context.Context, t *bot.Tenant, in *bot.DigestInput) error {
	ws := in.WeekStart
	we, prev := ws.AddDate(0, 0, 7), ws.AddDate(0, 0, -7)
	ms, err := h.Store.Meetings(ctx, t.ID, bot.MeetingFilter{From: ws.AddDate(0, 0, -35), To: we.AddDate(0, 0, 7)})
	if err != nil {
		return err
	}
	in.MeetingsHeld, in.MeetingsHeldPrev, in.MeetingsPlanned, in.UsefulnessSum, in.UsefulnessCount = 0, 0, 0, 0, 0
	for _, m := range ms {
		if m.Status.Takes() {
			switch st := m.Slot.Start; {
			case !st.Before(ws) && st.Before(we):
				in.MeetingsHeld++
			case !st.Before(prev) && st.Before(ws):
				in.MeetingsHeldPrev++
			case m.Status == bot.MeetingConfirmed && !st.Before(we) && st.Before(we.AddDate(0, 0, 7)):
				in.MeetingsPlanned++
			}
		}
		if m.Usefulness > 0 && !m.FeedbackAt.Before(ws) && m.FeedbackAt.Before(we) {
			in.UsefulnessSum += float64(m.Usefulness)
			in.UsefulnessCount++
		}
	}
	usage, err := h.Advisers.MonthUsage(ctx, t.ID, in.Now)
	if err != nil {
		return err
	}
	in.AdviserHours = nil
	for _, u := range usage {
		in.AdviserHours = append(in.AdviserHours, bot.AdviserHours{Name: u.Adviser.Name, Hours: bot.Hours(u.Minutes), Cap: u.Adviser.CapHours})
	}
	return nil
}

// Tick is the feature's minute timer: for every tenant it links advisers who joined, schedules
// today's adviser health check and reconciles the reminders due soon. Every replica may tick; both are idempotent.
func (h *Meetings) Tick(ctx context.Context) error {
	now := h.Clock.Now()
	tenants, err := h.Members.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		// An adviser who just joined is linked within a minute, not only when booked.
		if err := h.Advisers.Link(ctx, t.ID); err != nil {
			return err
		}
		if err := h.Advisers.ScheduleHealth(ctx, t.ID, now); err != nil {
			return err
		}
		if err := h.Reconcile(ctx, t.ID, now); err != nil {
			return err
		}
	}
	return nil
}
