package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/store"
)

// JobAdviserHealth is the daily health check of a tenant's advisers.
const JobAdviserHealth = "adviser.health"

// FlowAdviser is the DX lead's adviser profile form.
const FlowAdviser = "adviser"

// Advisers manages adviser profiles (SPEC §6): the DX lead's list, chat form and health
// report, the CSV/JSON import, the link between a profile and the member who answers on
// chat, and the monthly hours against the cap.
//
// Linking: a profile is linked to a member explicitly (the form's 「チャットのアカウント」),
// or, when it is marked BindOnJoin, to the earliest-joined adviser member who has no
// profile yet. The demo adviser profile is marked so, and the first person who joins with
// DEMO-ADVISER becomes that adviser; an import can mark profiles the same way for advisers
// who will join later with an adviser invite code.
type Advisers struct {
	Store     bot.AdviserService
	Members   bot.MembershipService
	Needs     bot.NeedService
	Meetings  bot.MeetingService
	Messenger bot.Messenger
	Queue     *store.Queue
	Calendar  *calendar.Calendar
	Clock     bot.Clock
	mux       *Mux
}

// Register mounts the DX lead's adviser commands.
func (h *Advisers) Register(m *Mux) {
	h.mux = m
	lead := []bot.Role{bot.RoleDXLead}
	m.HandleFunc(Command{Name: "adviser.list", Words: []string{"アドバイザー一覧", "advisers"}, Roles: lead,
		Menu: dialog.T("アドバイザー一覧・編集", "Advisers")}, h.list)
	m.HandleFunc(Command{Name: "adviser.status", Words: []string{"アドバイザー状況", "adviser status"}, Roles: lead,
		Menu: dialog.T("アドバイザー状況（稼働・期限）", "Adviser status")}, h.status)
	m.HandleFunc(Command{Name: "adviser.new", Roles: lead}, h.startForm)
	m.HandleFunc(Command{Name: "adviser.edit", Roles: lead}, h.startForm)
	m.flows[FlowAdviser] = &Flow{Form: h.form, Submit: h.submit}
}

// RegisterJobs adds the daily health check to a worker.
func (h *Advisers) RegisterJobs(w *store.Worker) { w.Handle(JobAdviserHealth, h.runHealth) }

// Link binds BindOnJoin profiles without a member to the earliest-joined adviser members
// who have no profile. It is called before advisers are offered, so a demo adviser who
// just joined is bookable at once.
func (h *Advisers) Link(ctx context.Context, t bot.TenantID) error {
	all, err := h.Store.Advisers(ctx, t)
	if err != nil {
		return err
	}
	linked := map[bot.PersonID]bool{}
	var open []*bot.Adviser
	for _, a := range all {
		if a.Person != "" {
			linked[a.Person] = true
		} else if a.BindOnJoin {
			open = append(open, a)
		}
	}
	if len(open) == 0 {
		return nil
	}
	members, err := h.Members.Members(ctx, t, bot.RoleAdviser)
	if err != nil {
		return err
	}
	sort.SliceStable(members, func(i, j int) bool { return members[i].JoinedAt.Before(members[j].JoinedAt) })
	for _, a := range open {
		for _, p := range members {
			if linked[p.ID] {
				continue
			}
			a.Person = p.ID
			err := h.Store.SaveAdviser(ctx, a)
			if bot.ErrorCode(err) == bot.ECONFLICT {
				linked[p.ID] = true // another replica linked this member meanwhile
				a.Person = ""
				continue
			} else if err != nil {
				return err
			}
			linked[p.ID] = true
			if err := h.applyChannel(ctx, a); err != nil {
				return err
			}
			if err := h.adopt(ctx, a); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// adopt gives the newly linked member the profile's meetings that had nobody to answer
// for the adviser (imported or demo history), so they show in the member's list and the
// member can confirm their hours.
func (h *Advisers) adopt(ctx context.Context, a *bot.Adviser) error {
	ms, err := h.Meetings.Meetings(ctx, a.Tenant, bot.MeetingFilter{Adviser: a.ID})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.AdviserPerson != "" {
			continue
		}
		_, err := h.Meetings.UpdateMeeting(ctx, a.Tenant, m.ID, func(m *bot.Meeting) error {
			if m.AdviserPerson == "" {
				m.AdviserPerson = a.Person
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// applyChannel makes the profile's preferred channel the member's push channel when the
// member uses that platform.
func (h *Advisers) applyChannel(ctx context.Context, a *bot.Adviser) error {
	if a.Person == "" || a.Channel == "" {
		return nil
	}
	p, err := h.Members.Person(ctx, a.Tenant, a.Person)
	if err != nil {
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			return nil
		}
		return err
	}
	if _, ok := p.Identities[a.Channel]; !ok || p.Preferred == a.Channel {
		return nil
	}
	p.Preferred = a.Channel
	return h.Members.SavePerson(ctx, p)
}

// AdviserUsage is one adviser's billed minutes in a month.
type AdviserUsage struct {
	Adviser *bot.Adviser
	Minutes int
}

// MonthUsage returns every adviser's minutes in the month of now (confirmed hours, or the
// planned length of meetings not yet confirmed), in profile order.
func (h *Advisers) MonthUsage(ctx context.Context, t bot.TenantID, now time.Time) ([]AdviserUsage, error) {
	all, err := h.Store.Advisers(ctx, t)
	if err != nil {
		return nil, err
	}
	ms := meetingMonthStart(now)
	meetings, err := h.Meetings.Meetings(ctx, t, bot.MeetingFilter{From: ms, To: ms.AddDate(0, 1, 0)})
	if err != nil {
		return nil, err
	}
	used := map[bot.AdviserID]int{}
	for _, m := range meetings {
		used[m.Adviser] += m.BilledMinutes()
	}
	out := make([]AdviserUsage, 0, len(all))
	for _, a := range all {
		out = append(out, AdviserUsage{Adviser: a, Minutes: used[a.ID]})
	}
	return out, nil
}

// usedMinutes is one adviser's billed minutes in the month of t.
func (h *Advisers) usedMinutes(ctx context.Context, a *bot.Adviser, t time.Time) (int, error) {
	ms := meetingMonthStart(t)
	meetings, err := h.Meetings.Meetings(ctx, a.Tenant, bot.MeetingFilter{Adviser: a.ID, From: ms, To: ms.AddDate(0, 1, 0)})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range meetings {
		n += m.BilledMinutes()
	}
	return n, nil
}

// ---- health ----

// HealthAlert is one thing the DX lead should look at.
type HealthAlert struct {
	Adviser *bot.Adviser
	Text    dialog.Text
}

// Health checks SPEC §6's alerts: an assigned adviser with no meeting about the need in 4
// weeks, a contract or side-job permit ending within 30 days (or ended), and a month's
// hours above 80 % of the cap.
func (h *Advisers) Health(ctx context.Context, t bot.TenantID, now time.Time) ([]HealthAlert, error) {
	if err := h.Link(ctx, t); err != nil {
		return nil, err
	}
	usage, err := h.MonthUsage(ctx, t, now)
	if err != nil {
		return nil, err
	}
	byPerson := map[bot.PersonID]*bot.Adviser{}
	for _, u := range usage {
		if u.Adviser.Person != "" {
			byPerson[u.Adviser.Person] = u.Adviser
		}
	}
	today := meetingDayStart(now)
	var out []HealthAlert
	for _, u := range usage {
		a := u.Adviser
		for _, d := range []struct {
			at     time.Time
			ja, en string
		}{{a.ContractEnd, "契約", "contract"}, {a.PermitExpiry, "副業許可", "side-job permit"}} {
			if d.at.IsZero() {
				continue
			}
			days := int(meetingDayStart(d.at).Sub(today).Hours() / 24)
			date := d.at.In(bot.Tokyo).Format("2006-01-02")
			switch {
			case days < 0:
				out = append(out, HealthAlert{a, dialog.T(a.Name+" さんの"+d.ja+"は "+date+" に終了しています。", a.Name+"'s "+d.en+" ended on "+date+".")})
			case days <= 30:
				out = append(out, HealthAlert{a, dialog.T(a.Name+" さんの"+d.ja+"が "+date+" に終了します（あと"+strconv.Itoa(days)+"日）。",
					a.Name+"'s "+d.en+" ends on "+date+" (in "+strconv.Itoa(days)+" days).")})
			}
		}
		if a.CapHours > 0 && float64(u.Minutes) > 0.8*a.CapHours*60 {
			pct := strconv.Itoa(int(float64(u.Minutes) * 100 / (a.CapHours * 60)))
			out = append(out, HealthAlert{a, dialog.T(a.Name+" さんの今月の稼働が上限の"+pct+"%（"+hoursOfCap(u.Minutes, a.CapHours, bot.LangJA)+"）です。",
				a.Name+" has used "+pct+"% of this month's cap ("+hoursOfCap(u.Minutes, a.CapHours, bot.LangEN)+").")})
		}
	}
	needs, err := h.Needs.Needs(ctx, t, bot.NeedFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	fourWeeks := now.AddDate(0, 0, -28)
	for _, n := range needs {
		a, ok := byPerson[n.Adviser]
		if n.Adviser == "" || !ok {
			continue
		}
		assigned := n.CreatedAt
		for _, e := range n.History {
			if e.Action == "assigned" {
				assigned = e.At
			}
		}
		if assigned.After(fourWeeks) {
			continue
		}
		ms, err := h.Meetings.Meetings(ctx, t, bot.MeetingFilter{Need: n.ID, From: fourWeeks})
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(ms, func(m *bot.Meeting) bool { return m.Status.Takes() && m.Adviser == a.ID }) {
			out = append(out, HealthAlert{a, dialog.T(a.Name+" さん（ニーズ #"+itoa64(int64(n.ID))+"「"+n.Title+"」に割当）は4週間面談がありません。",
				a.Name+" (assigned to need #"+itoa64(int64(n.ID))+" \""+n.Title+"\") has had no meeting in 4 weeks.")})
		}
	}
	return out, nil
}

func meetingDayStart(t time.Time) time.Time {
	t = t.In(bot.Tokyo)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, bot.Tokyo)
}

func healthJobID(t bot.TenantID, day time.Time) string {
	return "mhealth:" + string(t) + ":" + day.In(bot.Tokyo).Format("2006-01-02")
}

// ScheduleHealth enqueues today's health check of the tenant for 09:00 Asia/Tokyo on
// business days; enqueueing is idempotent per day, so every replica may call it.
func (h *Advisers) ScheduleHealth(ctx context.Context, t bot.TenantID, now time.Time) error {
	if !h.Calendar.IsBusinessDay(now) {
		return nil
	}
	day := meetingDayStart(now)
	_, err := h.Queue.Enqueue(ctx, JobAdviserHealth, healthJobID(t, day), meetingJob{Tenant: t}, day.Add(9*time.Hour))
	return err
}

func (h *Advisers) runHealth(ctx context.Context, j store.Job) error {
	p, err := decodeMeetingJob(j)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	alerts, err := h.Health(ctx, p.Tenant, now)
	if err != nil || len(alerts) == 0 {
		return err
	}
	leads, err := h.Members.Members(ctx, p.Tenant, bot.RoleDXLead)
	if err != nil {
		return err
	}
	for _, l := range leads {
		rep := bot.Reply{Text: dialog.T("【アドバイザー状況】確認が必要な項目があります。", "[Adviser status] Some items need your attention.").In(l.Lang),
			Choices: []bot.Choice{{Label: dialog.T("アドバイザー状況", "Adviser status").In(l.Lang), Action: "adviser.status"}}}
		for _, a := range alerts {
			rep.Fields = append(rep.Fields, bot.Field{Label: a.Adviser.Name, Value: a.Text.In(l.Lang)})
		}
		if err := h.Messenger.Push(ctx, bot.Recipient{Tenant: p.Tenant, Person: l.ID}, rep, "health:"+meetingDayStart(now).Format("2006-01-02")+":"+string(l.ID)); err != nil {
			return err
		}
	}
	return nil
}

// status answers `アドバイザー状況`: hours this month against the cap, contract dates and
// the alerts, on demand.
func (h *Advisers) status(ctx context.Context, w *Response, r *Request) error {
	usage, err := h.MonthUsage(ctx, r.Tenant.ID, r.Now)
	if err != nil {
		return err
	}
	alerts, err := h.Health(ctx, r.Tenant.ID, r.Now)
	if err != nil {
		return err
	}
	if len(usage) == 0 {
		w.Reply(bot.Reply{Text: r.T("アドバイザーはまだ登録されていません。", "No advisers yet."),
			Choices: []bot.Choice{{Label: r.T("アドバイザーを登録", "Add an adviser"), Action: "adviser.new"}}})
		return nil
	}
	month := r.Now.In(bot.Tokyo)
	rep := bot.Reply{Text: r.T(month.Format("1")+"月のアドバイザー稼働状況です。", "Adviser hours for "+month.Format("January")+".")}
	for _, u := range usage {
		v := hoursOfCap(u.Minutes, u.Adviser.CapHours, r.Lang)
		if !u.Adviser.ContractEnd.IsZero() {
			v += r.T(" / 契約 〜", " / contract until ") + u.Adviser.ContractEnd.In(bot.Tokyo).Format("2006-01-02")
		}
		if u.Adviser.Person == "" {
			v += r.T(" / チャット未参加", " / not on chat yet")
		}
		rep.Fields = append(rep.Fields, bot.Field{Label: u.Adviser.Name, Value: v})
	}
	if len(alerts) == 0 {
		rep.Fields = append(rep.Fields, bot.Field{Label: r.T("注意事項", "Alerts"), Value: r.T("なし", "none")})
	}
	for _, a := range alerts {
		rep.Fields = append(rep.Fields, bot.Field{Label: r.T("注意", "Alert"), Value: a.Text.In(r.Lang)})
	}
	w.Reply(rep)
	return nil
}

func (h *Advisers) list(ctx context.Context, w *Response, r *Request) error {
	if err := h.Link(ctx, r.Tenant.ID); err != nil {
		return err
	}
	all, err := h.Store.Advisers(ctx, r.Tenant.ID)
	if err != nil {
		return err
	}
	rep := bot.Reply{Text: r.T("アドバイザー一覧です。押すと編集できます。", "Advisers. Press one to edit.")}
	for _, a := range all {
		member := r.T("チャット未参加", "not on chat")
		if a.Person != "" {
			if p, err := h.Members.Person(ctx, r.Tenant.ID, a.Person); err == nil {
				member = p.DisplayName
			}
		}
		rep.Fields = append(rep.Fields, bot.Field{Label: a.Name + " (" + string(a.ID) + ")",
			Value: adviserAreaNames(a.Areas, r.Lang) + "\n" + a.Windows + "\n" + meetingModeNames(a.Modes, r.Lang) + " / " + r.T("上限 ", "cap ") +
				strconv.FormatFloat(a.CapHours, 'f', -1, 64) + r.T("時間/月", " h/month") + " / " + member})
		rep.Choices = append(rep.Choices, bot.Choice{Label: truncate(r.T("編集: ", "Edit: ")+a.Name, 30), Action: "adviser.edit", Value: string(a.ID)})
	}
	if len(all) == 0 {
		rep.Text = r.T("アドバイザーはまだ登録されていません。", "No advisers yet.")
	}
	rep.Choices = append(rep.Choices, bot.Choice{Label: r.T("新しく登録", "Add an adviser"), Action: "adviser.new"})
	w.Reply(rep)
	return nil
}

// ---- the profile form ----

func (h *Advisers) startForm(ctx context.Context, w *Response, r *Request) error {
	if r.Command == "adviser.new" {
		return h.mux.StartFlow(ctx, w, r, FlowAdviser, map[string]string{})
	}
	a, err := h.Store.Adviser(ctx, r.Tenant.ID, bot.AdviserID(strings.TrimSpace(r.Args)))
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		w.Text(r.T("アドバイザーが見つかりません。「アドバイザー一覧」からお選びください。", "Adviser not found. Choose from \"advisers\"."))
		return nil
	} else if err != nil {
		return err
	}
	r.State = &dialog.State{Flow: FlowAdviser, Data: map[string]string{"adviser": string(a.ID)}, Slots: map[string]string{}}
	f, err := h.form(ctx, r)
	if err != nil {
		return err
	}
	res := dialog.Start(f, FlowAdviser+"-"+string(a.ID)+"-"+r.Now.Format("20060102150405.000"), r.Now, r.Lang, adviserSlots(a))
	res.State.Step = len(f.Fields)
	res.State.Data = map[string]string{"adviser": string(a.ID)}
	w.State = res.State
	w.Reply(bot.Reply{Text: r.T(a.Name+" さんのプロフィールを編集します。直したい項目を「修正」から選んでください。", "Editing "+a.Name+". Choose Edit to change an item.")})
	w.Reply(dialog.Step(f, res.State, dialog.Input{Text: "?"}, r.Lang).Replies...)
	return nil
}

// adviserSlots turns a profile into form answers, for editing.
func adviserSlots(a *bot.Adviser) map[string]string {
	cats := make([]string, len(a.Areas))
	for i, c := range a.Areas {
		cats[i] = string(c)
	}
	s := map[string]string{"name": a.Name, "areas": strings.Join(cats, ","), "windows": a.Windows, "modes": strings.Join(a.Modes, ","),
		"join_url": a.JoinURL, "venue": a.Venue, "cap": strconv.FormatFloat(a.CapHours, 'f', -1, 64), "channel": string(a.Channel), "member": string(a.Person)}
	for k, t := range map[string]time.Time{"contract_start": a.ContractStart, "contract_end": a.ContractEnd, "permit": a.PermitExpiry} {
		if !t.IsZero() {
			s[k] = t.In(bot.Tokyo).Format("2006-01-02")
		}
	}
	for k, v := range s {
		if v == "" {
			delete(s, k)
		}
	}
	return s
}

func (h *Advisers) form(ctx context.Context, r *Request) (*dialog.Form, error) {
	members, err := h.Members.Members(ctx, r.Tenant.ID, bot.RoleAdviser)
	if err != nil {
		return nil, err
	}
	T := dialog.T
	memberChoices := func(*dialog.State) []bot.Choice {
		out := make([]bot.Choice, 0, len(members))
		for _, p := range members {
			out = append(out, bot.Choice{Label: p.DisplayName + " (" + string(p.ID) + ")", Value: string(p.ID)})
		}
		return out
	}
	hasMode := func(mode string) func(s *dialog.State) bool {
		return func(s *dialog.State) bool { return !slices.Contains(strings.Split(s.Slots["modes"], ","), mode) }
	}
	date := func(name string, label, prompt dialog.Text) dialog.Field {
		return dialog.Field{Name: name, Label: label, Prompt: prompt, Optional: true,
			Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
				d, ok := parseAdviserDate(in)
				if !ok {
					return "", &dialog.Problem{Msg: T("日付は 2027-03-31 の形で入力してください（なければスキップ）。", "Type the date as 2027-03-31, or skip.")}
				}
				return d.Format("2006-01-02"), nil
			}}
	}
	return &dialog.Form{Name: FlowAdviser, Title: T("アドバイザーの登録・編集", "Adviser profile"), SubmitLabel: T("保存", "Save"),
		Fields: []dialog.Field{
			{Name: "name", Label: T("氏名", "Name"), Prompt: T("アドバイザーの氏名を入力してください。", "The adviser's name."),
				Validate: dialog.MaxRunes(40, T("氏名", "name"))},
			{Name: "areas", Label: T("担当分野", "Areas"), Prompt: T("担当分野を「、」区切りで入力してください（例: 防災、データ活用・AI）。分野: "+adviserAreaNames(adviserCategoryIDs(), bot.LangJA),
				"Areas, separated by commas (e.g. Disaster prevention, Data & AI). Areas: "+adviserAreaNames(adviserCategoryIDs(), bot.LangEN)),
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					cs, bad := parseAdviserAreas(in)
					if len(bad) > 0 || len(cs) == 0 {
						return "", &dialog.Problem{Msg: T("分野が読めませんでした（"+strings.Join(bad, "、")+"）。一覧の名前で入力してください。",
							"Unknown area ("+strings.Join(bad, ", ")+"). Please use the names listed.")}
					}
					return joinAdviserAreas(cs), nil
				},
				Show: func(v string, lang bot.Lang) string { cs, _ := parseAdviserAreas(v); return adviserAreaNames(cs, lang) }},
			{Name: "windows", Label: T("面談可能な時間帯", "Weekly availability"), Prompt: T("面談できる曜日と時間帯を入力してください（例: 火 19:00-21:00、土 10:00-12:00）。", "Weekly hours, e.g. Tue 19:00-21:00, Sat 10:00-12:00."),
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					ws, err := calendar.ParseWindows(in)
					if err != nil {
						return "", &dialog.Problem{Msg: T(bot.ErrorMessage(err), "I could not read the hours. Type e.g. Tue 19:00-21:00, Sat 10:00-12:00.")}
					}
					return calendar.FormatWindows(ws, bot.LangJA), nil
				}},
			{Name: "modes", Label: T("面談の形式", "Meeting modes"), Prompt: T("面談の形式を選んでください。", "How does the adviser meet?"), Strict: true,
				Choices: func(*dialog.State) []bot.Choice {
					return []bot.Choice{{Label: "オンライン", Value: bot.ModeOnline}, {Label: "対面（来庁）", Value: bot.ModeOnsite}, {Label: "両方", Value: bot.ModeOnline + "," + bot.ModeOnsite}}
				}},
			{Name: "join_url", Label: T("オンライン会議のURL", "Join URL"), Prompt: T("オンライン面談で使う会議URLを入力してください（https://…）。", "The default online meeting URL (https://…)."),
				Skip: hasMode(bot.ModeOnline), Validate: validateJoinURL},
			{Name: "venue", Label: T("対面の会場", "Venue"), Prompt: T("対面で面談する会場を入力してください（例: 本庁舎5階 DX推進室）。", "Where on-site meetings take place."),
				Skip: hasMode(bot.ModeOnsite), Validate: dialog.MaxRunes(100, T("会場", "venue"))},
			{Name: "cap", Label: T("月の稼働上限（時間）", "Monthly cap (hours)"), Prompt: T("1か月の稼働上限を時間で入力してください（上限なしは 0）。", "Monthly cap in hours (0 = none)."),
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					v, err := strconv.ParseFloat(strings.TrimSuffix(dialog.Fold(in), "時間"), 64)
					if err != nil || v < 0 || v > 200 {
						return "", &dialog.Problem{Msg: T("0〜200の数字で入力してください。", "Please enter a number from 0 to 200.")}
					}
					return strconv.FormatFloat(v, 'f', -1, 64), nil
				}},
			date("contract_start", T("契約開始日", "Contract start"), T("契約開始日を入力してください（例: 2026-04-01。なければスキップ）。", "Contract start (e.g. 2026-04-01), or skip.")),
			date("contract_end", T("契約終了日", "Contract end"), T("契約終了日を入力してください（例: 2027-03-31。なければスキップ）。", "Contract end (e.g. 2027-03-31), or skip.")),
			date("permit", T("副業許可の期限", "Side-job permit expiry"), T("本業の副業許可の期限を入力してください（なければスキップ）。", "When the employer's side-job permit expires, or skip.")),
			{Name: "channel", Label: T("連絡に使うチャネル", "Preferred channel"), Prompt: T("通知を送るチャネルを選んでください（分からなければスキップ）。", "Which channel should notices go to? (skip if unsure)"),
				Optional: true, Strict: true,
				Choices: func(*dialog.State) []bot.Choice {
					return []bot.Choice{{Label: "LINE", Value: string(bot.PlatformLINE)}, {Label: "Slack", Value: string(bot.PlatformSlack)},
						{Label: "LINE WORKS", Value: string(bot.PlatformLineWorks)}, {Label: "Web", Value: string(bot.PlatformWeb)}}
				}},
			{Name: "member", Label: T("チャットのアカウント", "Chat account"), Prompt: T("このアドバイザーとしてチャットで回答するメンバーを選んでください（未参加ならスキップ）。", "Which member answers on chat for this adviser? (skip if not joined yet)"),
				Optional: true, Strict: true, Choices: memberChoices},
		}}, nil
}

func (h *Advisers) submit(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	a := &bot.Adviser{Tenant: r.Tenant.ID}
	if id := s.Data["adviser"]; id != "" {
		cur, err := h.Store.Adviser(ctx, r.Tenant.ID, bot.AdviserID(id))
		if err != nil {
			return err
		}
		a = cur
	}
	fields := map[string]string{"name": s.Slots["name"], "areas": s.Slots["areas"], "windows": s.Slots["windows"], "modes": s.Slots["modes"],
		"join_url": s.Slots["join_url"], "venue": s.Slots["venue"], "monthly_cap_hours": s.Slots["cap"], "contract_start": s.Slots["contract_start"],
		"contract_end": s.Slots["contract_end"], "permit_expiry": s.Slots["permit"], "channel": s.Slots["channel"]}
	if errs := applyAdviserFields(a, fields); len(errs) > 0 {
		return bot.Errorf(bot.EINVALID, "%s", strings.Join(errs, "／"))
	}
	a.Person = bot.PersonID(s.Slots["member"])
	if err := h.Store.SaveAdviser(ctx, a); err != nil {
		return err
	}
	if err := h.applyChannel(ctx, a); err != nil {
		return err
	}
	w.Reply(bot.Reply{Text: r.T(a.Name+" さんのプロフィールを保存しました（"+string(a.ID)+"）。", "Saved the profile of "+a.Name+" ("+string(a.ID)+")."),
		Choices: []bot.Choice{{Label: r.T("アドバイザー一覧", "Advisers"), Action: "adviser.list"}}})
	return nil
}

func validateJoinURL(in string, _ *dialog.State) (string, *dialog.Problem) {
	if err := checkJoinURL(in); err != "" {
		return "", &dialog.Problem{Msg: dialog.T(err, "Please enter an https:// URL.")}
	}
	return strings.TrimSpace(in), nil
}

// checkJoinURL returns a Japanese problem, or "" for an absolute http(s) URL that an
// invite can carry.
func checkJoinURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(s, " \t\r\n\"") {
		return "会議URLは https:// で始まる形で入力してください。"
	}
	return ""
}

func adviserCategoryIDs() []bot.Category {
	out := make([]bot.Category, len(bot.Categories))
	for i, c := range bot.Categories {
		out[i] = c.ID
	}
	return out
}

var reAdviserListSep = regexp.MustCompile(`[,、;；/／・\s]+`)

// parseAdviserAreas reads category IDs or names (Japanese or English) separated by commas,
// 、 or semicolons; it returns the known ones and the words it did not recognise. Names
// that contain a separator themselves (データ活用・AI) are matched before splitting.
func parseAdviserAreas(in string) ([]bot.Category, []string) {
	rest := " " + dialog.Fold(in) + " "
	var out []bot.Category
	add := func(c bot.Category) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, c := range bot.Categories {
		for _, name := range []string{c.JA, c.EN} {
			if f := dialog.Fold(name); strings.Contains(rest, f) {
				rest = strings.ReplaceAll(rest, f, " ")
				add(c.ID)
			}
		}
	}
	var bad []string
	for _, w := range reAdviserListSep.Split(rest, -1) {
		if w == "" {
			continue
		}
		if c := bot.Category(w); c.Name(bot.LangJA) != w {
			add(c)
			continue
		}
		bad = append(bad, w)
	}
	slices.SortFunc(out, func(a, b bot.Category) int { return adviserAreaIndex(a) - adviserAreaIndex(b) })
	return out, bad
}

func adviserAreaIndex(c bot.Category) int {
	return slices.IndexFunc(bot.Categories, func(x struct {
		ID     bot.Category
		JA, EN string
	}) bool {
		return x.ID == c
	})
}

func joinAdviserAreas(cs []bot.Category) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

var reAdviserDate = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$`)

// parseAdviserDate reads 2027-03-31, 2027/3/31 or 2027年3月31日 as midnight Asia/Tokyo.
func parseAdviserDate(in string) (time.Time, bool) {
	g := reAdviserDate.FindStringSubmatch(dialog.Fold(in))
	if g == nil {
		return time.Time{}, false
	}
	y, _ := strconv.Atoi(g[1])
	m, _ := strconv.Atoi(g[2])
	d, _ := strconv.Atoi(g[3])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, bot.Tokyo)
	if t.Month() != time.Month(m) || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// applyAdviserFields validates the profile fields shared by the import and the chat form
// and sets them on a; it returns one Japanese problem per bad field (nothing is set then).
// Keys: name, areas, windows, modes, join_url, venue, monthly_cap_hours, contract_start,
// contract_end, permit_expiry, channel, bind_on_join. List values are separated by ";" or ",".
func applyAdviserFields(a *bot.Adviser, f map[string]string) []string {
	var errs []string
	bad := func(field, msg string) { errs = append(errs, field+": "+msg) }
	b := *a
	b.Name = strings.TrimSpace(f["name"])
	if b.Name == "" || len([]rune(b.Name)) > 40 {
		bad("name", "氏名を40文字以内で入力してください")
	}
	cs, unknown := parseAdviserAreas(f["areas"])
	switch {
	case len(unknown) > 0:
		bad("areas", "分野「"+strings.Join(unknown, "、")+"」はありません（使える値: "+joinAdviserAreas(adviserCategoryIDs())+"）")
	case len(cs) == 0:
		bad("areas", "分野を1つ以上指定してください")
	}
	b.Areas = cs
	if ws, err := calendar.ParseWindows(f["windows"]); err != nil {
		bad("windows", bot.ErrorMessage(err))
	} else {
		b.Windows = calendar.FormatWindows(ws, bot.LangJA)
	}
	b.Modes = nil
	for _, m := range reAdviserListSep.Split(dialog.Fold(f["modes"]), -1) {
		switch m {
		case "":
		case bot.ModeOnline, bot.ModeOnsite:
			if !slices.Contains(b.Modes, m) {
				b.Modes = append(b.Modes, m)
			}
		default:
			bad("modes", "形式「"+m+"」はありません（online / onsite）")
		}
	}
	if len(b.Modes) == 0 {
		bad("modes", "形式（online / onsite）を1つ以上指定してください")
	}
	b.JoinURL, b.Venue = strings.TrimSpace(f["join_url"]), strings.TrimSpace(f["venue"])
	if b.HasMode(bot.ModeOnline) {
		if msg := checkJoinURL(b.JoinURL); msg != "" {
			bad("join_url", "オンライン面談には会議URLが必要です。"+msg)
		}
	} else {
		b.JoinURL = ""
	}
	if b.HasMode(bot.ModeOnsite) {
		if b.Venue == "" || len([]rune(b.Venue)) > 100 {
			bad("venue", "対面の面談には会場（100文字以内）が必要です")
		}
	} else {
		b.Venue = ""
	}
	b.CapHours = 0
	if v := strings.TrimSpace(f["monthly_cap_hours"]); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 || n > 200 {
			bad("monthly_cap_hours", "0〜200の数字で指定してください")
		}
		b.CapHours = n
	}
	for _, d := range []struct {
		key string
		to  *time.Time
	}{{"contract_start", &b.ContractStart}, {"contract_end", &b.ContractEnd}, {"permit_expiry", &b.PermitExpiry}} {
		*d.to = time.Time{}
		if v := strings.TrimSpace(f[d.key]); v != "" {
			t, ok := parseAdviserDate(v)
			if !ok {
				bad(d.key, "日付は 2027-03-31 の形で指定してください")
			}
			*d.to = t
		}
	}
	if !b.ContractStart.IsZero() && !b.ContractEnd.IsZero() && b.ContractEnd.Before(b.ContractStart) {
		bad("contract_end", "契約終了日が開始日より前です")
	}
	switch ch := bot.Platform(strings.ToLower(strings.TrimSpace(f["channel"]))); ch {
	case "", bot.PlatformWeb, bot.PlatformSlack, bot.PlatformLineWorks, bot.PlatformLINE:
		b.Channel = ch
	default:
		bad("channel", "チャネル「"+string(ch)+"」はありません（web / slack / lineworks / line）")
	}
	if v, ok := f["bind_on_join"]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "", "false", "0", "no":
			b.BindOnJoin = false
		case "true", "1", "yes":
			b.BindOnJoin = true
		default:
			bad("bind_on_join", "true または false で指定してください")
		}
	}
	if len(errs) == 0 {
		*a = b
	}
	return errs
}

// AdviserColumns is the import header (UTF-8 CSV, a BOM is accepted); id, name, areas,
// windows and modes are required, the others may be absent or empty. Lists (areas, modes)
// are ";"-separated, and windows are written as in chat ("火 19:00-21:00; 土 10:00-12:00").
var AdviserColumns = []string{"id", "name", "areas", "windows", "modes", "join_url", "venue", "monthly_cap_hours",
	"contract_start", "contract_end", "permit_expiry", "channel", "bind_on_join"}

// ImportProblem names a bad line (or JSON element) of an import and why it was skipped.
type ImportProblem struct {
	Line    int
	ID      string
	Message string
}

// ParseAdvisers reads an adviser import: a JSON array of objects with AdviserColumns as
// keys (lists may be arrays), or CSV with AdviserColumns as header. It returns the valid
// profiles (without tenant) and one problem per bad line; a file it cannot read at all is
// an error.
func ParseAdvisers(r io.Reader) ([]*bot.Adviser, []ImportProblem, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
	var rows []map[string]string
	var lines []int
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		var objs []map[string]any
		if err := json.Unmarshal(t, &objs); err != nil {
			return nil, nil, fmt.Errorf("JSON: %w", err)
		}
		for i, o := range objs {
			row := map[string]string{}
			for k, v := range o {
				row[k] = adviserJSONString(v)
			}
			rows = append(rows, row)
			lines = append(lines, i+1)
		}
	} else {
		cr := csv.NewReader(bytes.NewReader(raw))
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			return nil, nil, fmt.Errorf("CSV header: %w", err)
		}
		for i := range header {
			header[i] = strings.ToLower(strings.TrimSpace(header[i]))
		}
		for _, need := range []string{"id", "name", "areas", "windows", "modes"} {
			if !slices.Contains(header, need) {
				return nil, nil, fmt.Errorf("CSV header lacks the column %q (expected %s)", need, strings.Join(AdviserColumns, ","))
			}
		}
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			line, _ := cr.FieldPos(0)
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					rows = append(rows, map[string]string{"_error": pe.Err.Error()})
					lines = append(lines, pe.Line)
					continue
				}
				return nil, nil, err
			}
			row := map[string]string{}
			for i, v := range rec {
				if i < len(header) {
					row[header[i]] = v
				}
			}
			rows = append(rows, row)
			lines = append(lines, line)
		}
	}
	var out []*bot.Adviser
	var problems []ImportProblem
	seen := map[string]int{}
	for i, row := range rows {
		id := strings.TrimSpace(row["id"])
		if msg := row["_error"]; msg != "" {
			problems = append(problems, ImportProblem{Line: lines[i], Message: "CSV: " + msg})
			continue
		}
		var errs []string
		switch {
		case id == "":
			errs = append(errs, "id: IDは必須です")
		case strings.ContainsAny(id, "{}: \t") || len(id) > 64:
			errs = append(errs, "id: IDには英数字とハイフンだけを使ってください（64文字以内）")
		case seen[id] > 0:
			errs = append(errs, "id: "+strconv.Itoa(seen[id])+"行目と重複しています")
		}
		a := &bot.Adviser{ID: bot.AdviserID(id)}
		errs = append(errs, applyAdviserFields(a, row)...)
		if len(errs) > 0 {
			problems = append(problems, ImportProblem{Line: lines[i], ID: id, Message: strings.Join(errs, "; ")})
			continue
		}
		seen[id] = lines[i]
		out = append(out, a)
	}
	return out, problems, nil
}

func adviserJSONString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = adviserJSONString(p)
		}
		return strings.Join(parts, ";")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Import saves parsed profiles into a tenant. A profile that exists keeps its member link
// and creation time, so re-importing a corrected file is safe.
func (h *Advisers) Import(ctx context.Context, t bot.TenantID, as []*bot.Adviser) (created, updated int, err error) {
	for _, a := range as {
		a.Tenant = t
		cur, err := h.Store.Adviser(ctx, t, a.ID)
		switch {
		case err == nil:
			a.Person, a.CreatedAt = cur.Person, cur.CreatedAt
			updated++
		case bot.ErrorCode(err) == bot.ENOTFOUND:
			created++
		default:
			return created, updated, err
		}
		if err := h.Store.SaveAdviser(ctx, a); err != nil {
			return created, updated, err
		}
	}
	return created, updated, nil
}
