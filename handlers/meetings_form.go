package handlers

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

// Flow names of the meetings feature.
const (
	FlowMeetingPropose  = "meeting_propose"
	FlowMeetingDecline  = "meeting_decline"
	FlowMeetingMove     = "meeting_move"
	FlowMeetingCancel   = "meeting_cancel"
	FlowMeetingFeedback = "meeting_feedback"
	FlowMeetingHours    = "meeting_hours"
)

// meetingTimeHelp is the hint for every free-text time.
var meetingTimeHelp = dialog.T("「11/28 19:00」「明日 10時」「来週水曜 夜」のように入力できます（日本時間）。",
	"Type e.g. \"11/28 19:00\", \"明日 10時\" (tomorrow 10:00) or \"来週水曜 夜\" (next Wednesday evening), Japan time.")

// startMeetingFlow checks that the person may act on the meeting in its current state
// before asking anything, so nobody fills in a form that cannot be saved.
func (h *Meetings) startMeetingFlow(flow string) func(ctx context.Context, w *Response, r *Request) error {
	return func(ctx context.Context, w *Response, r *Request) error {
		id, _ := meetingRef(r.Args)
		m, ok, err := h.loadMeeting(ctx, w, r, id)
		if !ok {
			return err
		}
		if refusal := h.mayStart(flow, m, r.Person.ID, r.Now); refusal != nil {
			w.Text(refusal.In(r.Lang))
			return nil
		}
		data := map[string]string{"meeting": string(m.ID), "length": strconv.Itoa(m.DurationMin)}
		if flow == FlowMeetingMove {
			opts, err := h.moveOptions(ctx, m, r.Now)
			if err != nil {
				return err
			}
			data["options"] = opts
			hours, err := h.moveHours(ctx, m, r.Person.ID)
			if err != nil {
				return err
			}
			data["hours"] = calendar.FormatWindows(hours, bot.LangJA)
		}
		return h.mux.StartFlow(ctx, w, r, flow, data)
	}
}

func (h *Meetings) mayStart(flow string, m *bot.Meeting, p bot.PersonID, now time.Time) *dialog.Text {
	switch flow {
	case FlowMeetingPropose, FlowMeetingDecline:
		if m.AdviserPerson != p {
			return meetingRefusal("この依頼に回答できるのは依頼先のアドバイザーだけです。", "Only the adviser asked can answer this request.")
		}
		if !m.Status.Pending() {
			return stateRefusal(m)
		}
	case FlowMeetingMove:
		if !m.Attends(p) {
			return meetingRefusal("日時を変更できるのは面談の参加者だけです。", "Only the attendees can reschedule the meeting.")
		}
		if m.Status != bot.MeetingConfirmed {
			return meetingRefusal("日時を変更できるのは確定した面談だけです（現在: "+m.Status.Name(bot.LangJA)+"）。", "Only a confirmed meeting can be rescheduled (now: "+m.Status.Name(bot.LangEN)+").")
		}
	case FlowMeetingCancel:
		if !m.Attends(p) {
			return meetingRefusal("取り消しできるのは面談の参加者だけです。", "Only the attendees can cancel the meeting.")
		}
		if m.Status != bot.MeetingConfirmed && !m.Status.Pending() {
			return stateRefusal(m)
		}
	case FlowMeetingFeedback:
		if m.Requester != p {
			return meetingRefusal("振り返りを入力できるのは面談を依頼した方だけです。", "Only the requester can give feedback.")
		}
		if !m.Status.Takes() || m.Slot.Start.After(now) {
			return meetingRefusal("振り返りは面談の開始後に入力できます。", "Feedback can be given once the meeting has started.")
		}
	case FlowMeetingHours:
		if m.AdviserPerson != p {
			return meetingRefusal("稼働時間を確認できるのはアドバイザーご本人だけです。", "Only the adviser can confirm the hours.")
		}
		if !m.Status.Takes() || m.Slot.Start.After(now) {
			return meetingRefusal("稼働時間は面談の開始後に確認できます。", "Hours can be confirmed once the meeting has started.")
		}
	}
	return nil
}

// moveOptions offers new slots for both sides, the meeting itself excluded from the busy
// times; they are kept in the draft so the buttons stay the same while the person answers.
func (h *Meetings) moveOptions(ctx context.Context, m *bot.Meeting, now time.Time) (string, error) {
	a, err := h.Advisers.Store.Adviser(ctx, m.Tenant, m.Adviser)
	if err != nil {
		return "", err
	}
	req, err := h.slotRequest(ctx, m.Tenant, a, m.Requester, m.ID, now)
	if err != nil {
		return "", err
	}
	req.Duration = time.Duration(m.DurationMin) * time.Minute
	var out []string
	for _, s := range calendar.FindSlots(req) {
		if !s.Start.Equal(m.Slot.Start) { // its own time is no move
			out = append(out, s.Start.Format(time.RFC3339))
		}
	}
	return strings.Join(out, ","), nil
}

// whenField asks for a start time: a button of options, or free text read by
// calendar.ParseDateTime in Asia/Tokyo (LINE's date picker sends "2026-11-28T19:00").
//
// allowed, when set, bounds a typed time: the whole meeting must fit into one of the windows.
func (h *Meetings) whenField(prompt dialog.Text, options []string, length time.Duration, now time.Time, allowed []calendar.Window) dialog.Field {
	return dialog.Field{Name: "when", Label: dialog.T("日時", "Time"), Prompt: prompt, Help: meetingTimeHelp,
		Choices: func(*dialog.State) []bot.Choice {
			var cs []bot.Choice
			for _, o := range options {
				if t, err := time.Parse(time.RFC3339, o); err == nil {
					cs = append(cs, bot.Choice{Label: meetingSlotLabel(bot.TimeSlot{Start: t, End: t.Add(length)}, bot.LangJA), Value: o})
				}
			}
			return cs
		},
		Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
			t, err := time.Parse(time.RFC3339, in)
			if err != nil {
				t, err = calendar.ParseDateTime(in, now)
			}
			if err != nil {
				msg := bot.ErrorMessage(err)
				if msg == "" {
					msg = "日時が読めませんでした。"
				}
				return "", &dialog.Problem{Msg: dialog.T(msg, "I could not read that time. "+meetingTimeHelp.EN)}
			}
			if !t.After(now) {
				return "", &dialog.Problem{Msg: dialog.T("過ぎた日時です。これからの日時を入力してください。", "That time has passed. Please enter a future time.")}
			}
			if reason, closed := h.Calendar.Closed(t); closed {
				return "", &dialog.Problem{Msg: dialog.T("その日は閉庁日（"+reason+"）です。別の日を入力してください。", "The city hall is closed that day ("+reason+"). Please choose another day.")}
			}
			if allowed != nil && !fitsWindows(allowed, t, t.Add(length)) {
				return "", &dialog.Problem{Msg: dialog.T("その時間は面談できる時間帯（"+calendar.FormatWindows(allowed, bot.LangJA)+"）の外です。ボタンから選ぶか、時間帯の中で入力してください。",
					"That time is outside the meeting hours ("+calendar.FormatWindows(allowed, bot.LangEN)+"). Choose a button or a time within them.")}
			}
			return t.In(bot.Tokyo).Format(time.RFC3339), nil
		},
		Show: func(v string, lang bot.Lang) string {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return v
			}
			return meetingSlotLabel(bot.TimeSlot{Start: t, End: t.Add(length)}, lang)
		},
	}
}

func meetingDataLength(r *Request) time.Duration {
	if r.State != nil {
		if n, err := strconv.Atoi(r.State.Data["length"]); err == nil && n > 0 {
			return time.Duration(n) * time.Minute
		}
	}
	return DefaultMeetingLength
}

func (h *Meetings) proposeForm(_ context.Context, r *Request) (*dialog.Form, error) {
	return &dialog.Form{Name: FlowMeetingPropose, Title: dialog.T("別の日時を提案", "Propose another time"), SubmitLabel: dialog.T("提案する", "Propose"),
		Fields: []dialog.Field{h.whenField(dialog.T("ご都合のよい開始日時を入力してください。例: 11/28 19:00、明日 10時、来週水曜 夜（日本時間）",
			"When could you meet? "+meetingTimeHelp.EN), nil, meetingDataLength(r), r.Now, nil)}}, nil
}

func (h *Meetings) moveForm(_ context.Context, r *Request) (*dialog.Form, error) {
	var opts []string
	allowed := []calendar.Window{} // nothing fits unless the draft says otherwise
	if r.State != nil {
		if r.State.Data["options"] != "" {
			opts = strings.Split(r.State.Data["options"], ",")
		}
		if ws, err := calendar.ParseWindows(r.State.Data["hours"]); err == nil {
			allowed = ws
		}
	}
	return &dialog.Form{Name: FlowMeetingMove, Title: dialog.T("面談の日時変更", "Reschedule the meeting"), SubmitLabel: dialog.T("変更する", "Reschedule"),
		Fields: []dialog.Field{
			h.whenField(dialog.T("新しい日時を選ぶか、入力してください。例: 11/28 19:00、明日 10時（日本時間）", "Choose or type the new time. "+meetingTimeHelp.EN), opts, meetingDataLength(r), r.Now, allowed),
			{Name: "reason", Label: dialog.T("理由", "Reason"), Prompt: dialog.T("変更の理由を入力してください（相手の方に伝わります）。", "Why is it moved? (the other side will see it)"),
				Validate: dialog.MaxRunes(300, dialog.T("理由", "reason"))},
		}}, nil
}

func declineForm() *dialog.Form {
	return &dialog.Form{Name: FlowMeetingDecline, Title: dialog.T("面談の辞退", "Decline the request"), SubmitLabel: dialog.T("辞退する", "Decline"),
		Fields: []dialog.Field{{Name: "reason", Label: dialog.T("理由", "Reason"), Optional: true,
			Prompt:   dialog.T("差し支えなければ、辞退の理由を入力してください（相談者に伝わります。スキップ可）。", "If you like, tell the requester why (optional)."),
			Validate: dialog.MaxRunes(300, dialog.T("理由", "reason"))}}}
}

func cancelMeetingForm() *dialog.Form {
	return &dialog.Form{Name: FlowMeetingCancel, Title: dialog.T("面談の取り消し", "Cancel the meeting"), SubmitLabel: dialog.T("取り消す", "Cancel meeting"),
		Fields: []dialog.Field{{Name: "reason", Label: dialog.T("理由", "Reason"),
			Prompt:   dialog.T("取り消す理由を入力してください（相手の方に伝わります）。", "Why is it cancelled? (the other side will see it)"),
			Validate: dialog.MaxRunes(300, dialog.T("理由", "reason"))}}}
}

func feedbackForm() *dialog.Form {
	return &dialog.Form{Name: FlowMeetingFeedback, Title: dialog.T("面談の振り返り", "Meeting feedback"), SubmitLabel: dialog.T("送信", "Send"),
		Fields: []dialog.Field{
			{Name: "notes", Label: dialog.T("メモ", "Notes"), Optional: true, Multiline: true, MaxLen: 1000,
				Prompt:   dialog.T("面談のメモを入力してください（スキップ可）。", "Notes from the meeting (optional)."),
				Validate: dialog.MaxRunes(1000, dialog.T("メモ", "notes"))},
			{Name: "actions", Label: dialog.T("今後の対応", "Action items"), Optional: true, Multiline: true, MaxLen: 1000,
				Prompt:   dialog.T("今後の対応（誰が・いつまでに・何を）を入力してください（スキップ可）。", "Action items: who does what by when (optional)."),
				Validate: dialog.MaxRunes(1000, dialog.T("今後の対応", "action items"))},
			{Name: "usefulness", Label: dialog.T("役に立った度", "Usefulness"), Strict: true,
				Prompt: dialog.T("この面談は役に立ちましたか？1（あまり）〜5（とても）でお選びください。", "Was it useful? 1 (not really) to 5 (very)."),
				Choices: func(*dialog.State) []bot.Choice {
					return []bot.Choice{{Label: "1", Value: "1"}, {Label: "2", Value: "2"}, {Label: "3", Value: "3"}, {Label: "4", Value: "4"}, {Label: "5", Value: "5"}}
				}},
		}}
}

func hoursForm() *dialog.Form {
	return &dialog.Form{Name: FlowMeetingHours, Title: dialog.T("稼働時間の確認", "Confirm hours"), SubmitLabel: dialog.T("確定", "Confirm"),
		Fields: []dialog.Field{{Name: "minutes", Label: dialog.T("稼働時間", "Hours"),
			Prompt: dialog.T("実際の稼働時間を入力してください（例: 90分、1.5時間、1時間30分）。", "How long did you work? (e.g. 90 min, 1.5 h)"),
			Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
				n, ok := parseMeetingMinutes(in)
				if !ok {
					return "", &dialog.Problem{Msg: dialog.T("時間が読めませんでした。「90分」「1.5時間」のように入力してください（最大12時間）。", "Please type e.g. \"90 min\" or \"1.5 h\" (up to 12 h).")}
				}
				return strconv.Itoa(n), nil
			},
			Show: func(v string, lang bot.Lang) string { return v + dialog.T("分", " min").In(lang) }}}}
}

var (
	reHoursMinutes = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*(?:時間|h|hours?|hrs?)\s*(?:(\d+)\s*(?:分|m|min|minutes?))?$`)
	reMinutesOnly  = regexp.MustCompile(`^(\d+)\s*(?:分|m|min|minutes?)?$`)
)

// parseMeetingMinutes reads 90, 90分, 1.5時間, 1時間30分, 2h into minutes (1 to 720).
func parseMeetingMinutes(in string) (int, bool) {
	s := strings.ReplaceAll(dialog.Fold(in), " ", "")
	var n float64
	if g := reMinutesOnly.FindStringSubmatch(s); g != nil {
		v, _ := strconv.Atoi(g[1])
		n = float64(v)
	} else if g := reHoursMinutes.FindStringSubmatch(s); g != nil {
		hrs, _ := strconv.ParseFloat(g[1], 64)
		mins, _ := strconv.Atoi(g[2])
		n = hrs*60 + float64(mins)
	} else {
		return 0, false
	}
	m := int(n + 0.5)
	return m, m >= 1 && m <= 720
}

func slotFromDraft(s *dialog.State) (bot.TimeSlot, bool) {
	t, err := time.Parse(time.RFC3339, s.Slots["when"])
	n, _ := strconv.Atoi(s.Data["length"])
	if err != nil || n <= 0 {
		return bot.TimeSlot{}, false
	}
	return bot.TimeSlot{Start: t, End: t.Add(time.Duration(n) * time.Minute)}, true
}

// submitProposal records the adviser's counter-proposal and asks the requester.
func (h *Meetings) submitProposal(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id := bot.MeetingID(s.Data["meeting"])
	slot, ok := slotFromDraft(s)
	cur, found, err := h.loadMeeting(ctx, w, r, id)
	if !found || !ok {
		return err
	}
	if proposedAlready(cur, r.Person.ID, slot) {
		// The same answer again: the process died after the proposal was written, before the
		// conversation was committed, and the message came again. The proposal stands; the
		// requester is asked under the first attempt's key (a no-op if that push was queued).
		w.Text(r.T(meetingSlotLabel(slot, bot.LangJA)+" を提案しました。相談者の回答をお知らせします。", "You proposed "+meetingSlotLabel(slot, bot.LangEN)+". You will be told the requester's answer."))
		return h.pushProposal(ctx, cur, slot)
	}
	refusal, err := h.conflict(ctx, cur, slot)
	if err != nil {
		return err
	}
	if refusal == nil {
		var m *bot.Meeting
		m, refusal, err = h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
			if ref := h.mayStart(FlowMeetingPropose, m, r.Person.ID, r.Now); ref != nil {
				return ref
			}
			m.Status, m.Proposal = bot.MeetingProposed, &slot
			m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "proposed", To: bot.MeetingProposed})
			return nil
		})
		if err != nil {
			return err
		}
		if refusal == nil {
			h.cancelPollJobs(ctx, m)
			w.Text(r.T(meetingSlotLabel(slot, bot.LangJA)+" を提案しました。相談者の回答をお知らせします。", "You proposed "+meetingSlotLabel(slot, bot.LangEN)+". You will be told the requester's answer."))
			return h.pushProposal(ctx, m, slot)
		}
	}
	w.Text(refusal.In(r.Lang))
	return nil
}

// proposedAlready reports whether the meeting's open proposal is this person's last
// answer, for this very slot.
func proposedAlready(m *bot.Meeting, p bot.PersonID, slot bot.TimeSlot) bool {
	if m.Status != bot.MeetingProposed || m.Proposal == nil || len(m.History) == 0 {
		return false
	}
	last := m.History[len(m.History)-1]
	return last.Action == "proposed" && last.By == p && m.Proposal.Start.Equal(slot.Start) && m.Proposal.End.Equal(slot.End)
}

// pushProposal asks the requester about the proposal; the key names the meeting's version
// that holds it, so a later proposal is told again and the same one once.
func (h *Meetings) pushProposal(ctx context.Context, m *bot.Meeting, slot bot.TimeSlot) error {
	lang := h.langOf(ctx, m.Tenant, m.Requester)
	return h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: m.Requester}, bot.Reply{
		Text: dialog.T(h.adviserName(ctx, m, lang)+" さんから、ニーズ #"+itoa64(int64(m.Need))+"「"+m.NeedTitle+"」の面談について別の日時の提案がありました: "+meetingSlotLabel(slot, bot.LangJA)+"。この日時でよろしいですか？",
			h.adviserName(ctx, m, lang)+" proposed another time for the meeting about #"+itoa64(int64(m.Need))+" \""+m.NeedTitle+"\": "+meetingSlotLabel(slot, bot.LangEN)+". Does it suit you?").In(lang),
		Choices: h.proposalChoices(m, lang),
	}, "meet:"+string(m.ID)+":v"+strconv.FormatInt(m.Version, 10)+":proposal")
}

func (h *Meetings) submitDecline(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id := bot.MeetingID(s.Data["meeting"])
	reason := s.Slots["reason"]
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if ref := h.mayStart(FlowMeetingDecline, m, r.Person.ID, r.Now); ref != nil {
			return ref
		}
		m.Status, m.Reason, m.Proposal = bot.MeetingDeclined, reason, nil
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "declined", To: bot.MeetingDeclined, Reason: reason})
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
	w.Text(r.T("辞退を相談者にお伝えします。ご回答ありがとうございました。", "The requester will be told. Thank you for answering."))
	lang := h.langOf(ctx, m.Tenant, m.Requester)
	text := dialog.T(h.adviserName(ctx, m, lang)+" さんは、ニーズ #"+itoa64(int64(m.Need))+"「"+m.NeedTitle+"」の面談を辞退されました。",
		h.adviserName(ctx, m, lang)+" declined the meeting about #"+itoa64(int64(m.Need))+" \""+m.NeedTitle+"\".").In(lang)
	if reason != "" {
		text += dialog.T("\n理由: ", "\nReason: ").In(lang) + reason
	}
	return h.Messenger.Push(ctx, bot.Recipient{Tenant: m.Tenant, Person: m.Requester}, bot.Reply{Text: text,
		Choices: []bot.Choice{{Label: dialog.T("他のアドバイザーで予約", "Book another adviser").In(lang), Action: "meeting.need", Value: itoa64(int64(m.Need))}}},
		"meet:"+string(m.ID)+":declined")
}

// submitMove moves a confirmed meeting: SEQUENCE+1, the old reminders are cancelled and
// the new ones scheduled, the other side gets the updated invite at once.
func (h *Meetings) submitMove(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id := bot.MeetingID(s.Data["meeting"])
	slot, ok := slotFromDraft(s)
	reason := s.Slots["reason"]
	cur, found, err := h.loadMeeting(ctx, w, r, id)
	if !found || !ok {
		return err
	}
	refusal, err := h.conflict(ctx, cur, slot)
	if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	oldSeq := -1
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if ref := h.mayStart(FlowMeetingMove, m, r.Person.ID, r.Now); ref != nil {
			return ref
		}
		oldSeq = m.Sequence
		m.Slot, m.Reason, m.ScheduledAt = slot, reason, r.Now
		m.Sequence++
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "moved", To: bot.MeetingConfirmed, Reason: reason})
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	if err := h.unschedule(ctx, m, oldSeq); err != nil {
		return err
	}
	if err := h.schedule(ctx, m); err != nil {
		return err
	}
	card, err := h.card(ctx, m, r.Lang, "moved", r.Person.ID)
	if err != nil {
		return err
	}
	w.Reply(card)
	return h.notify(ctx, m, r.Person.ID, "moved")
}

// submitCancel cancels a confirmed meeting (SEQUENCE+1, METHOD:CANCEL, reminders removed)
// or withdraws a pending request.
func (h *Meetings) submitCancel(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id := bot.MeetingID(s.Data["meeting"])
	reason := s.Slots["reason"]
	wasConfirmed := false
	oldSeq := 0
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if ref := h.mayStart(FlowMeetingCancel, m, r.Person.ID, r.Now); ref != nil {
			return ref
		}
		wasConfirmed, oldSeq = m.Status == bot.MeetingConfirmed, m.Sequence
		if wasConfirmed {
			m.Sequence++
		}
		m.Status, m.Reason, m.Proposal = bot.MeetingCancelled, reason, nil
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "cancelled", To: bot.MeetingCancelled, Reason: reason})
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
	if wasConfirmed {
		if err := h.unschedule(ctx, m, oldSeq); err != nil {
			return err
		}
	}
	card, err := h.card(ctx, m, r.Lang, "cancelled", r.Person.ID)
	if err != nil {
		return err
	}
	w.Reply(card)
	return h.notify(ctx, m, r.Person.ID, "cancelled")
}

func (h *Meetings) submitFeedback(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	id := bot.MeetingID(s.Data["meeting"])
	score, _ := strconv.Atoi(s.Slots["usefulness"])
	_, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if ref := h.mayStart(FlowMeetingFeedback, m, r.Person.ID, r.Now); ref != nil {
			return ref
		}
		m.Notes, m.ActionItems, m.Usefulness, m.FeedbackAt = s.Slots["notes"], s.Slots["actions"], score, r.Now
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "feedback"})
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	w.Text(r.T("振り返りを記録しました。ありがとうございました。DX推進担当の週次集計に反映されます。", "Thank you. Your feedback was saved and counts in the weekly summary."))
	return nil
}

// hours confirms the planned length with one press ("m5:60") or asks for the actual hours.
func (h *Meetings) hours(ctx context.Context, w *Response, r *Request) error {
	id, rest := meetingRef(r.Args)
	if rest == "" {
		return h.startMeetingFlow(FlowMeetingHours)(ctx, w, r)
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > 720 {
		w.Text(r.T("時間が読めませんでした。もう一度ボタンを押してください。", "I could not read the hours. Please press the button again."))
		return nil
	}
	return h.recordHours(ctx, w, r, id, n)
}

func (h *Meetings) submitHours(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	n, _ := strconv.Atoi(s.Slots["minutes"])
	return h.recordHours(ctx, w, r, bot.MeetingID(s.Data["meeting"]), n)
}

func (h *Meetings) recordHours(ctx context.Context, w *Response, r *Request, id bot.MeetingID, minutes int) error {
	m, refusal, err := h.update(ctx, r.Tenant.ID, id, func(m *bot.Meeting) *dialog.Text {
		if ref := h.mayStart(FlowMeetingHours, m, r.Person.ID, r.Now); ref != nil {
			return ref
		}
		m.Minutes, m.HoursAt = minutes, r.Now
		m.History = append(m.History, bot.MeetingEvent{At: r.Now, By: r.Person.ID, Action: "hours"})
		return nil
	})
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		w.Text(r.T("面談が見つかりません。「面談一覧」からご確認ください。", "Meeting not found. See \"my meetings\"."))
		return nil
	} else if err != nil {
		return err
	}
	if refusal != nil {
		w.Text(refusal.In(r.Lang))
		return nil
	}
	text := r.T("稼働時間 "+strconv.FormatFloat(bot.Hours(minutes), 'f', 1, 64)+" 時間を記録しました。", "Recorded "+strconv.FormatFloat(bot.Hours(minutes), 'f', 1, 64)+" h.")
	if a, err := h.Advisers.Store.Adviser(ctx, m.Tenant, m.Adviser); err == nil {
		used, err := h.Advisers.usedMinutes(ctx, a, m.Slot.Start)
		if err != nil {
			return err
		}
		text += r.T("\n"+m.Slot.Start.In(bot.Tokyo).Format("1")+"月の合計: "+hoursOfCap(used, a.CapHours, bot.LangJA),
			"\nTotal for "+m.Slot.Start.In(bot.Tokyo).Format("January")+": "+hoursOfCap(used, a.CapHours, bot.LangEN))
	}
	w.Text(text)
	return nil
}

// hoursOfCap is "3.0 / 10 時間" (or "3.0 時間" without a cap).
func hoursOfCap(minutes int, capHours float64, lang bot.Lang) string {
	s := strconv.FormatFloat(bot.Hours(minutes), 'f', 1, 64)
	if capHours > 0 {
		s += " / " + strconv.FormatFloat(capHours, 'f', -1, 64)
	}
	return s + dialog.T(" 時間", " h").In(lang)
}

// moveHours is when the person may move the meeting to without asking: the adviser within
// the city's meeting hours (it is their own time), the requester only within the adviser's
// windows as well, because the adviser is told but not asked.
func (h *Meetings) moveHours(ctx context.Context, m *bot.Meeting, mover bot.PersonID) ([]calendar.Window, error) {
	tenant := h.TenantHours
	if len(tenant) == 0 {
		tenant = calendar.DefaultTenantHours()
	}
	if mover == m.AdviserPerson {
		return tenant, nil
	}
	a, err := h.Advisers.Store.Adviser(ctx, m.Tenant, m.Adviser)
	if err != nil {
		return nil, err
	}
	ws, err := calendar.ParseWindows(a.Windows)
	if err != nil {
		return nil, nil
	}
	var out []calendar.Window
	for _, x := range ws {
		for _, y := range tenant {
			if x.Weekday == y.Weekday && max(x.Start, y.Start) < min(x.End, y.End) {
				out = append(out, calendar.Window{Weekday: x.Weekday, Start: max(x.Start, y.Start), End: min(x.End, y.End)})
			}
		}
	}
	return out, nil
}

// fitsWindows reports whether [start, end) lies within one window on start's day (Tokyo).
func fitsWindows(ws []calendar.Window, start, end time.Time) bool {
	s, e := start.In(bot.Tokyo), end.In(bot.Tokyo)
	day := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, bot.Tokyo)
	from, to := int(s.Sub(day)/time.Minute), int(e.Sub(day)/time.Minute)
	for _, w := range ws {
		if w.Weekday == s.Weekday() && w.Start <= from && to <= w.End {
			return true
		}
	}
	return false
}
