package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the ICS re-parse loads TZID=Asia/Tokyo

	"github.com/emersion/go-ical"
	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

// meetingScene is the demo municipality with a staff member who filed need #5 (data_ai),
// the demo adviser (高橋 健, DX) and a DX lead, at Tuesday 2026-11-24 10:00 JST.
type meetingScene struct {
	t                *testing.T
	ta               *testApp
	staff, adv, lead *webUser
	need             string
}

func newMeetingScene(t *testing.T) *meetingScene {
	t.Helper()
	ta := newTestApp(t)
	s := &meetingScene{t: t, ta: ta, staff: ta.join("DEMO-STAFF", "山田 花子"), adv: ta.join("DEMO-ADVISER", "高橋 健"), lead: ta.join("DEMO-DX", "佐藤 一郎")}
	// The need is stored directly: filing is the needs feature's test, and its similar-need
	// index (kagome) takes longer than the handler timeout to build under -race.
	n, err := ta.NeedStore.CreateNeed(context.Background(), &bot.Need{Tenant: DemoTenant, Title: "庁内の問い合わせ統計を可視化したい",
		Description: "庁内の問い合わせ統計を可視化したいについて、現状の困りごとを相談したいです。", Department: "情報政策課",
		Category: "data_ai", Urgency: bot.UrgencyMedium, Impact: 4, Form: "either", FiledBy: s.person(s.staff)}, "")
	if err != nil || n.ID != 5 {
		t.Fatalf("need = %+v, %v", n, err)
	}
	s.need = "5"
	s.drain()
	return s
}

// drain delivers what is due and forgets everyone's inbox so far.
func (s *meetingScene) drain() {
	s.ta.runJobs()
	s.staff.pushes()
	s.adv.pushes()
	s.lead.pushes()
}

// poll runs 面談予約 up to the options and returns the poll card.
func (s *meetingScene) poll() bot.Reply {
	s.t.Helper()
	mustContain(s.t, s.staff.say("面談予約"), "どのニーズについて面談しますか")
	r := s.staff.press("meeting.need", s.need)
	c := choice(s.t, r, "★ 高橋 健（DX推進）")
	r = s.staff.press(c.Action, c.Value)
	if len(r) != 1 || len(r[0].Choices) < 3 {
		s.t.Fatalf("poll card: %s", dump(r))
	}
	return r[0]
}

// options are the poll's slot labels and the meeting ID.
func pollOptions(t *testing.T, card bot.Reply) ([]string, string) {
	t.Helper()
	var labels []string
	id := ""
	for _, c := range card.Choices {
		if c.Action == "meeting.toggle" {
			labels = append(labels, strings.TrimPrefix(c.Label, "✓ "))
			id, _, _ = strings.Cut(c.Value, ":")
		}
	}
	if id == "" {
		t.Fatalf("no options in %s", dump([]bot.Reply{card}))
	}
	return labels, id
}

// request books picks (indexes of the poll) and sends them to the adviser; it returns the
// meeting ID and the adviser's ping.
func (s *meetingScene) request(picks ...int) (string, bot.Reply) {
	s.t.Helper()
	_, id := pollOptions(s.t, s.poll())
	for _, i := range picks {
		s.staff.press("meeting.toggle", id+":"+itoa(i))
	}
	mustContain(s.t, s.staff.press("meeting.send", id), "さんに候補日時を送りました")
	s.ta.runJobs()
	p := s.adv.pushes()
	if len(p) != 1 {
		s.t.Fatalf("adviser got %d pings: %s", len(p), dump(p))
	}
	return id, p[0]
}

// confirmed books option i and has the adviser accept it.
func (s *meetingScene) confirmed(i int) string {
	s.t.Helper()
	id, ping := s.request(i)
	c := ping.Choices[0]
	mustContain(s.t, s.adv.press(c.Action, c.Value), "面談が確定しました")
	s.drain()
	return id
}

func (s *meetingScene) meeting(id string) *bot.Meeting {
	s.t.Helper()
	m, err := s.ta.MeetingStore.Meeting(context.Background(), DemoTenant, bot.MeetingID(id))
	if err != nil {
		s.t.Fatalf("meeting %s: %v", id, err)
	}
	return m
}

func (s *meetingScene) person(u *webUser) bot.PersonID {
	s.t.Helper()
	p, err := s.ta.Members.PersonByIdentity(context.Background(), DemoTenant, bot.Identity{Platform: bot.PlatformWeb, UserID: u.UserID})
	if err != nil {
		s.t.Fatal(err)
	}
	return p.ID
}

// reminderIDs are the queue IDs of every reminder of the meeting at sequence seq.
func (s *meetingScene) reminderIDs(id string, seq int) []string {
	var out []string
	for _, off := range s.ta.Meetings.Offsets {
		for _, p := range []bot.PersonID{s.person(s.staff), s.person(s.adv)} {
			out = append(out, handlers.ReminderJobID(DemoTenant, bot.MeetingID(id), off, seq, p))
		}
	}
	return out
}

func (s *meetingScene) pending(ids []string) []string {
	s.t.Helper()
	var out []string
	for _, id := range ids {
		ok, err := s.ta.Queue.Pending(context.Background(), id)
		if err != nil {
			s.t.Fatal(err)
		}
		if ok {
			out = append(out, id)
		}
	}
	return out
}

// at moves the test clock to a Tokyo time.
func (s *meetingScene) at(y int, mo time.Month, d, h, mi int) {
	s.set(time.Date(y, mo, d, h, mi, 0, 0, bot.Tokyo))
}

// set moves the test clock to t.
func (s *meetingScene) set(t time.Time) {
	s.ta.clock.mu.Lock()
	s.ta.clock.t = t
	s.ta.clock.mu.Unlock()
}

// reminders runs the due jobs twice (a second run must add nothing) and returns the
// reminders each side received.
func (s *meetingScene) reminders() (staff, adv []bot.Reply) {
	s.t.Helper()
	s.ta.runJobs()
	s.ta.runJobs()
	return onlyKind(s.staff.pushes(), "meeting_reminder"), onlyKind(s.adv.pushes(), "meeting_reminder")
}

func onlyKind(rs []bot.Reply, kind string) []bot.Reply {
	var out []bot.Reply
	for _, r := range rs {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// download fetches an attachment of a reply with the person's session.
func (u *webUser) download(a bot.Attachment) []byte {
	u.t.Helper()
	res, err := u.client.Get(u.ta.srv.URL + a.URL)
	if err != nil {
		u.t.Fatalf("download %s: %v", a.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		u.t.Fatalf("download %s: %d %s", a.URL, res.StatusCode, b)
	}
	return b
}

// invite returns the .ics attached to the card, parsed by emersion/go-ical.
func (u *webUser) invite(card bot.Reply) ([]byte, *ical.Calendar) {
	u.t.Helper()
	if len(card.Attachments) != 1 || !strings.HasPrefix(card.Attachments[0].ContentType, "text/calendar") || !strings.HasSuffix(card.Attachments[0].Name, ".ics") {
		u.t.Fatalf("card has no invite: %s", dump([]bot.Reply{card}))
	}
	b := u.download(card.Attachments[0])
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		u.t.Fatalf("go-ical cannot read the invite: %v\n%s", err, b)
	}
	return b, cal
}

// checkInvite asserts what every attendee's calendar app relies on.
func checkInvite(t *testing.T, cal *ical.Calendar, method, uid string, seq int, start time.Time, place string) {
	t.Helper()
	if got := cal.Props.Get(ical.PropMethod).Value; got != method {
		t.Errorf("METHOD = %q, want %q", got, method)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if got := ev.Props.Get(ical.PropUID).Value; got != uid {
		t.Errorf("UID = %q, want %q", got, uid)
	}
	if got, err := ev.Props.Get(ical.PropSequence).Int(); err != nil || got != seq {
		t.Errorf("SEQUENCE = %d (%v), want %d", got, err, seq)
	}
	st, err := ev.DateTimeStart(nil)
	if err != nil || !st.Equal(start) || st.Location().String() != "Asia/Tokyo" {
		t.Errorf("DTSTART = %v in %v (%v), want %v Asia/Tokyo", st, st.Location(), err, start)
	}
	text := ev.Props.Get(ical.PropLocation).Value + " " + ev.Props.Get(ical.PropDescription).Value
	if !strings.Contains(text, place) {
		t.Errorf("invite lacks %q: %s", place, text)
	}
	if !strings.Contains(ev.Props.Get(ical.PropSummary).Value, "庁内の問い合わせ統計を可視化したい") {
		t.Errorf("SUMMARY = %q does not name the need", ev.Props.Get(ical.PropSummary).Value)
	}
}

// icsGolden compares an invite with testdata, person IDs replaced by their roles so that
// other features' demo members do not change the file.
func (s *meetingScene) icsGolden(name string, b []byte) {
	s.t.Helper()
	// Folding may split an address, so the lines are unfolded first.
	got := strings.ReplaceAll(string(b), "\r\n ", "")
	got = strings.NewReplacer(":"+string(s.person(s.staff))+"\r\n", ":REQUESTER\r\n", ":"+string(s.person(s.adv))+"\r\n", ":ADVISER\r\n").Replace(got)
	meetingGolden(s.t, name, got)
}

func meetingGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// transcript renders replies for a golden file: text, fields and button labels.
func transcript(b *strings.Builder, who string, rs []bot.Reply) {
	for _, r := range rs {
		b.WriteString("[" + who + "] " + r.Text + "\n")
		for _, f := range r.Fields {
			b.WriteString("    " + f.Label + ": " + strings.ReplaceAll(f.Value, "\n", " / ") + "\n")
		}
		var labels []string
		for _, c := range r.Choices {
			labels = append(labels, c.Label)
		}
		if len(labels) > 0 {
			b.WriteString("    (" + strings.Join(labels, " | ") + ")\n")
		}
		for _, a := range r.Attachments {
			b.WriteString("    📎 " + a.Name + " " + a.ContentType + "\n")
		}
	}
}

// The whole poll: options, picks, the adviser's ping, the first answer confirms for
// everyone, a second answer is told, both get the invite; the transcript is golden.
func TestMeetingPollConfirmsForEveryone(t *testing.T) {
	s := newMeetingScene(t)
	var tr strings.Builder
	card := s.poll()
	labels, id := pollOptions(t, card)
	transcript(&tr, "職員", []bot.Reply{card})
	want := []string{"11/25(水) 18:30–19:30", "11/28(土) 13:00–14:00", "11/30(月) 19:00–20:00", "12/2(水) 18:30–19:30",
		"12/5(土) 13:00–14:00", "12/7(月) 19:00–20:00", "12/9(水) 18:30–19:30", "12/12(土) 13:00–14:00"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Fatalf("options (-want +got):\n%s", diff)
	}

	// Sending with nothing picked is refused; a fourth pick is refused.
	mustContain(t, s.staff.press("meeting.send", id), "候補を1つ以上選んでから")
	for _, i := range []int{0, 2, 5} {
		s.staff.press("meeting.toggle", id+":"+itoa(i))
	}
	mustContain(t, s.staff.press("meeting.toggle", id+":"+"6"), "選べるのは3つまで")
	r := s.staff.press("meeting.toggle", id+":"+"5") // unpick
	choice(t, r, "✓ 11/25(水) 18:30–19:30")
	choice(t, r, "決定（2件選択中）")
	transcript(&tr, "職員", r)
	r = s.staff.press("meeting.send", id)
	transcript(&tr, "職員", r)
	mustContain(t, s.staff.press("meeting.toggle", id+":1"), "既に送信済み")

	s.ta.runJobs()
	ping := s.adv.pushes()
	transcript(&tr, "アドバイザー", ping)
	if len(ping) != 1 {
		t.Fatalf("adviser pings: %s", dump(ping))
	}
	for _, l := range []string{"11/25(水) 18:30–19:30", "11/30(月) 19:00–20:00", "別の日時を提案", "辞退"} {
		choice(t, ping, l)
	}
	// Only the adviser asked may answer.
	accept := choice(t, ping, "11/30(月) 19:00–20:00")
	mustContain(t, s.lead.press(accept.Action, accept.Value), "担当者のみ")
	r = s.adv.press(accept.Action, accept.Value)
	transcript(&tr, "アドバイザー", r)
	mustContain(t, r, "面談が確定しました", "11/30(月) 19:00–20:00", "https://meet.example.jp/demo/takahashi")
	// The late second answer is told it is already confirmed, and changes nothing.
	late := s.adv.press("meeting.accept", id+":0")
	transcript(&tr, "アドバイザー", late)
	mustContain(t, late, "既に 11/30(月) 19:00–20:00 で確定しています")
	m := s.meeting(id)
	if m.Status != bot.MeetingConfirmed || !m.Slot.Start.Equal(time.Date(2026, 11, 30, 19, 0, 0, 0, bot.Tokyo)) || m.Sequence != 0 {
		t.Fatalf("meeting = %s %v seq %d", m.Status, m.Slot, m.Sequence)
	}
	_, advCal := s.adv.invite(r[0])
	s.ta.runJobs()
	got := s.staff.pushes()
	transcript(&tr, "職員", got)
	if len(got) != 1 || got[0].Kind != "meeting_card" {
		t.Fatalf("requester got %s", dump(got))
	}
	raw, cal := s.staff.invite(got[0])
	start := time.Date(2026, 11, 30, 19, 0, 0, 0, bot.Tokyo)
	checkInvite(t, cal, "REQUEST", id+"@demo.kakehashi", 0, start, "https://meet.example.jp/demo/takahashi")
	checkInvite(t, advCal, "REQUEST", id+"@demo.kakehashi", 0, start, "https://meet.example.jp/demo/takahashi")
	s.icsGolden("meeting_confirmed.ics", raw)
	if p := s.adv.pushes(); len(p) != 0 {
		t.Fatalf("the adviser, who answered, also got a push: %s", dump(p))
	}
	// Both see it in their list; the DX lead sees every meeting.
	mustContain(t, s.staff.say("面談一覧"), "11/30(月) 19:00–20:00 確定")
	mustContain(t, s.adv.say("面談一覧"), "#5 庁内の問い合わせ統計を可視化したい")
	mustContain(t, s.lead.say("面談一覧"), "11/30(月) 19:00–20:00 確定")
	meetingGolden(t, "meeting_poll.golden", tr.String())
	if logs := s.ta.logs.String(); strings.Contains(logs, "山田") || strings.Contains(logs, "問い合わせ統計") {
		t.Fatalf("personal data or need text in the logs")
	}
}

// The adviser proposes another time in free text; the requester accepts. A second poll's
// proposal is declined by the requester; a third is declined by the adviser.
func TestMeetingProposeAnotherAndDecline(t *testing.T) {
	s := newMeetingScene(t)
	id, ping := s.request(0, 1)
	r := s.adv.press(choice(t, []bot.Reply{ping}, "別の日時を提案").Action, id)
	mustContain(t, r, "ご都合のよい開始日時を入力してください")
	mustContain(t, s.adv.say("そのうち"), "日時として読み取れませんでした")
	mustContain(t, s.adv.say("12/30 19:00"), "閉庁日")
	mustContain(t, s.adv.say("11/24 9:00"), "すでに過ぎています")
	r = s.adv.say("来週水曜 夜") // Tuesday 11/24 → Wednesday 12/2 19:00
	mustContain(t, r, "12/2(水) 19:00–20:00")
	mustContain(t, s.adv.press(dialog.ActSubmit, ""), "12/2(水) 19:00–20:00 を提案しました")
	if m := s.meeting(id); m.Status != bot.MeetingProposed || m.Proposal == nil {
		t.Fatalf("meeting after the proposal: %+v", m)
	}
	// The original options no longer wait for the adviser: 48 h later nobody is nudged.
	s.ta.runJobs()
	p := s.staff.pushes()
	mustContain(t, p, "別の日時の提案がありました: 12/2(水) 19:00–20:00")
	// Only the requester can answer it.
	mustContain(t, s.lead.press("meeting.paccept", id), "提案に回答できるのは面談を依頼した方だけです")
	r = s.staff.press(choice(t, p, "この日時で承諾").Action, id)
	mustContain(t, r, "面談が確定しました", "12/2(水) 19:00–20:00")
	mustContain(t, s.staff.press("meeting.pdecline", id), "既に 12/2(水) 19:00–20:00 で確定しています")
	s.ta.runJobs()
	advCard := onlyKind(s.adv.pushes(), "meeting_card")
	if len(advCard) != 1 {
		t.Fatalf("adviser cards: %d", len(advCard))
	}
	_, cal := s.adv.invite(advCard[0])
	checkInvite(t, cal, "REQUEST", id+"@demo.kakehashi", 0, time.Date(2026, 12, 2, 19, 0, 0, 0, bot.Tokyo), "https://meet.example.jp/demo/takahashi")
	s.ta.clock.Add(49 * time.Hour)
	s.drain()

	// Second poll: the adviser proposes with LINE's date picker format; the requester declines.
	id2, _ := s.request(0)
	s.adv.press("meeting.propose", id2)
	mustContain(t, s.adv.say("2026-12-05T14:00"), "12/5(土) 14:00–15:00")
	s.adv.press(dialog.ActSubmit, "")
	s.ta.runJobs()
	s.staff.pushes()
	r = s.staff.press("meeting.pdecline", id2)
	mustContain(t, r, "提案の日時を見送りました")
	choice(t, r, "改めて予約する")
	s.ta.runJobs()
	mustContain(t, s.adv.pushes(), "ご提案の日時（12/5(土) 14:00–15:00）を見送りました")
	if m := s.meeting(id2); m.Status != bot.MeetingDeclined {
		t.Fatalf("second poll = %s", m.Status)
	}
	// The adviser can no longer confirm one of the original options.
	mustContain(t, s.adv.press("meeting.accept", id2+":0"), "調整は終了しています")

	// Third poll: the adviser declines with a reason.
	id3, _ := s.request(1)
	s.adv.press("meeting.decline", id3)
	s.adv.say("本業の繁忙期のため")
	mustContain(t, s.adv.press(dialog.ActSubmit, ""), "辞退を相談者にお伝えします")
	s.ta.runJobs()
	p = s.staff.pushes()
	mustContain(t, p, "面談を辞退されました", "理由: 本業の繁忙期のため")
	choice(t, p, "他のアドバイザーで予約")
	if got := s.meeting(id3); got.Status != bot.MeetingDeclined || got.Reason != "本業の繁忙期のため" {
		t.Fatalf("third poll = %s %q", got.Status, got.Reason)
	}
	// No nudge or escalation for answered polls.
	s.ta.clock.Add(80 * time.Hour)
	s.ta.runJobs()
	if p := s.adv.pushes(); len(p) != 0 {
		t.Fatalf("answered polls still nudged the adviser: %s", dump(p))
	}
	if p := s.lead.pushes(); len(p) != 0 {
		t.Fatalf("answered polls escalated: %s", dump(p))
	}
}

// Offered slots skip national holidays and the year-end closing days, both sides'
// meetings and the adviser's used-up monthly cap.
func TestMeetingSlotsAroundHolidays(t *testing.T) {
	s := newMeetingScene(t)
	dayOf := func(label string) string { d, _, _ := strings.Cut(label, " "); return d }
	check := func(when string, wantDays, never []string) []string {
		t.Helper()
		card := s.poll()
		labels, _ := pollOptions(t, card)
		var days []string
		for _, l := range labels {
			if !slices.Contains(days, dayOf(l)) {
				days = append(days, dayOf(l))
			}
		}
		for _, d := range never {
			if slices.Contains(days, d) {
				t.Errorf("%s: %s is offered: %v", when, d, labels)
			}
		}
		if diff := cmp.Diff(wantDays, days); diff != "" {
			t.Errorf("%s: days (-want +got):\n%s\nall: %v", when, diff, labels)
		}
		return labels
	}
	// From Monday 12/21: 12/29–1/3 are closed (年末年始), so 12/30 (Wed) and 1/2 (Sat) go.
	s.at(2026, 12, 21, 10, 0)
	check("year end", []string{"12/23(水)", "12/26(土)", "12/28(月)", "1/4(月)", "1/6(水)", "1/9(土)"},
		[]string{"12/30(水)", "1/2(土)"})
	// From Tuesday 1/5: Monday 1/11 is 成人の日; the Mondays around it are offered.
	s.at(2027, 1, 5, 10, 0)
	labels := check("成人の日", []string{"1/6(水)", "1/9(土)", "1/13(水)", "1/16(土)", "1/18(月)", "1/20(水)", "1/23(土)", "1/25(月)"},
		[]string{"1/11(月)"})
	if !slices.Contains(labels, "1/18(月) 19:00–20:00") {
		t.Errorf("Monday evening 1/18 missing: %v", labels)
	}

	// A confirmed meeting of either side is busy time.
	s.confirmed(0) // 1/6(水) 18:30
	labels, _ = pollOptions(t, s.poll())
	for _, l := range labels {
		if strings.HasPrefix(l, "1/6(水) 18:30") || strings.HasPrefix(l, "1/6(水) 19:00") {
			t.Errorf("slot overlapping the confirmed meeting offered: %s", l)
		}
	}
	// The cap: with 1 h a month, January is used up; only February is offered.
	ctx := context.Background()
	a, err := s.ta.AdviserStore.Adviser(ctx, DemoTenant, "demo-dx")
	if err != nil {
		t.Fatal(err)
	}
	a.CapHours = 1
	if err := s.ta.AdviserStore.SaveAdviser(ctx, a); err != nil {
		t.Fatal(err)
	}
	s.at(2027, 1, 20, 10, 0)
	labels, _ = pollOptions(t, s.poll())
	for _, l := range labels {
		if strings.HasPrefix(l, "1/") {
			t.Errorf("January slot offered although its cap is used: %v", labels)
			break
		}
	}
}

// Reminders arrive at each offset exactly once, to both sides, with the join link.
func TestMeetingRemindersAtOffsetsExactlyOnce(t *testing.T) {
	for _, c := range []struct {
		env     string
		offsets []time.Duration
	}{
		{"", []time.Duration{24 * time.Hour, time.Hour}},
		{"1m, 10m", []time.Duration{10 * time.Minute, time.Minute}}, // short, as on a demo
	} {
		t.Run("offsets="+c.env, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("KAKEHASHI_REMINDER_OFFSETS", c.env)
			}
			s := newMeetingScene(t)
			if diff := cmp.Diff(c.offsets, s.ta.Meetings.Offsets); diff != "" {
				t.Fatalf("offsets (-want +got):\n%s", diff)
			}
			id := s.confirmed(2) // 11/30(月) 19:00
			start := time.Date(2026, 11, 30, 19, 0, 0, 0, bot.Tokyo)
			if p := s.pending(s.reminderIDs(id, 0)); len(p) != 2*len(c.offsets) {
				t.Fatalf("pending reminders %v", p)
			}
			for _, off := range c.offsets {
				due := start.Add(-off)
				s.set(due.Add(-time.Second))
				if st, ad := s.reminders(); len(st)+len(ad) != 0 {
					t.Fatalf("reminder before %s: %s %s", due, dump(st), dump(ad))
				}
				s.set(due)
				st, ad := s.reminders()
				if len(st) != 1 || len(ad) != 1 {
					t.Fatalf("at %s: requester %d, adviser %d reminders", due, len(st), len(ad))
				}
				mustContain(t, st, "【リマインド】面談の"+offsetJA(off)+"です", "11/30(月) 19:00–20:00",
					"参加URL: https://meet.example.jp/demo/takahashi", "相手: 高橋 健（DX推進）")
				mustContain(t, ad, "【リマインド】", "参加URL: https://meet.example.jp/demo/takahashi", "相手: 山田 花子")
			}
			// After the end: the requester is asked for feedback, the adviser for the hours.
			s.set(start.Add(time.Hour))
			s.ta.runJobs()
			s.ta.runJobs()
			mustContain(t, s.staff.pushes(), "はいかがでしたか")
			mustContain(t, s.adv.pushes(), "稼働時間をご確認ください")
			if st, ad := s.reminders(); len(st)+len(ad) != 0 {
				t.Fatalf("extra reminders: %s %s", dump(st), dump(ad))
			}
			// Reconcile on a later tick changes nothing: done IDs are never sent again.
			s.set(start.Add(-c.offsets[0]))
			if err := s.ta.Meetings.Reconcile(context.Background(), DemoTenant, s.ta.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if st, ad := s.reminders(); len(st)+len(ad) != 0 {
				t.Fatalf("reconcile resent: %s %s", dump(st), dump(ad))
			}
		})
	}
}

// A reschedule bumps SEQUENCE, tells the other side with the new invite and moves the
// reminders: the old ones never fire.
func TestMeetingRescheduleMovesReminders(t *testing.T) {
	s := newMeetingScene(t)
	id := s.confirmed(2) // 11/30(月) 19:00
	old := s.reminderIDs(id, 0)
	// Only attendees may move it; the adviser moves it with a typed time and a reason.
	mustContain(t, s.lead.press("meeting.reschedule", id), "参加者だけ")
	r := s.adv.press("meeting.reschedule", id)
	mustContain(t, r, "新しい日時を選ぶか、入力してください")
	choice(t, r, "12/2(水) 18:30–19:30") // offered slots leave out the meeting's own time
	mustContain(t, s.adv.say("12/3 20:00"), "変更の理由を入力してください")
	s.adv.say("本業の会議と重なったため")
	r = s.adv.press(dialog.ActSubmit, "")
	mustContain(t, r, "面談の日時が変更されました", "12/3(木) 20:00–21:00", "理由: 本業の会議と重なったため")
	m := s.meeting(id)
	if m.Sequence != 1 || m.Status != bot.MeetingConfirmed {
		t.Fatalf("after move: seq %d status %s", m.Sequence, m.Status)
	}
	if p := s.pending(old); len(p) != 0 {
		t.Fatalf("old reminders still pending: %v", p)
	}
	if p := s.pending(s.reminderIDs(id, 1)); len(p) != 4 {
		t.Fatalf("new reminders pending: %v", p)
	}
	s.ta.runJobs()
	p := s.staff.pushes()
	if len(p) != 1 {
		t.Fatalf("requester told %d times: %s", len(p), dump(p))
	}
	mustContain(t, p, "面談の日時が変更されました", "12/3(木) 20:00–21:00", "本業の会議と重なったため", "高橋 健 さんによる操作")
	raw, cal := s.staff.invite(p[0])
	checkInvite(t, cal, "REQUEST", id+"@demo.kakehashi", 1, time.Date(2026, 12, 3, 20, 0, 0, 0, bot.Tokyo), "https://meet.example.jp/demo/takahashi")
	s.icsGolden("meeting_moved.ics", raw)

	// The old times pass in silence; the new ones remind.
	for _, at := range []time.Time{time.Date(2026, 11, 29, 19, 0, 0, 0, bot.Tokyo), time.Date(2026, 11, 30, 18, 0, 0, 0, bot.Tokyo)} {
		s.set(at)
		if st, ad := s.reminders(); len(st)+len(ad) != 0 {
			t.Fatalf("old reminder fired at %s: %s %s", at, dump(st), dump(ad))
		}
	}
	s.set(time.Date(2026, 11, 30, 20, 0, 0, 0, bot.Tokyo)) // the old end: no follow-up
	s.ta.runJobs()
	if p := s.staff.pushes(); len(p) != 0 {
		t.Fatalf("old follow-up ran: %s", dump(p))
	}
	s.set(time.Date(2026, 12, 2, 20, 0, 0, 0, bot.Tokyo))
	if st, ad := s.reminders(); len(st) != 1 || len(ad) != 1 {
		t.Fatalf("new 24h reminder: %d %d", len(st), len(ad))
	}
	// The requester can move it too, within the adviser's windows (the adviser is told, not
	// asked): a Sunday or a Tuesday morning is refused, an offered slot is taken.
	s.staff.press("meeting.reschedule", id)
	mustContain(t, s.staff.say("12/6 10:00"), "面談できる時間帯（月 19:00–21:00、水 18:30–21:00、土 13:00–17:00）の外です")
	mustContain(t, s.staff.say("12/8 10:00"), "面談できる時間帯")
	r = s.staff.press(dialog.ActAnswer, "2026-12-05T13:00:00+09:00")
	mustContain(t, r, "変更の理由")
	s.staff.say("資料の準備のため")
	mustContain(t, s.staff.press(dialog.ActSubmit, ""), "12/5(土) 13:00–14:00")
	if m := s.meeting(id); m.Sequence != 2 {
		t.Fatalf("sequence after the second move = %d", m.Sequence)
	}
	s.ta.runJobs()
	_, cal = s.adv.invite(onlyKind(s.adv.pushes(), "meeting_card")[0])
	checkInvite(t, cal, "REQUEST", id+"@demo.kakehashi", 2, time.Date(2026, 12, 5, 13, 0, 0, 0, bot.Tokyo), "https://meet.example.jp/demo/takahashi")
}

// A cancel sends METHOD:CANCEL with SEQUENCE+1 to the other side and leaves no reminder
// in the queue.
func TestMeetingCancelRemovesReminders(t *testing.T) {
	s := newMeetingScene(t)
	id := s.confirmed(2)
	all := s.reminderIDs(id, 0)
	if p := s.pending(all); len(p) != 4 {
		t.Fatalf("pending before cancel: %v", p)
	}
	s.staff.press("meeting.cancel", id)
	mustContain(t, s.staff.press(dialog.ActSubmit, ""), "回答が空でした") // the reason is required
	s.staff.say("課内で解決したため")
	r := s.staff.press(dialog.ActSubmit, "")
	mustContain(t, r, "面談が取り消されました", "理由: 課内で解決したため")
	if p := s.pending(append(all, s.reminderIDs(id, 1)...)); len(p) != 0 {
		t.Fatalf("reminder jobs left after cancel: %v", p)
	}
	s.ta.runJobs()
	p := s.adv.pushes()
	mustContain(t, p, "面談が取り消されました", "課内で解決したため")
	raw, cal := s.adv.invite(p[0])
	checkInvite(t, cal, "CANCEL", id+"@demo.kakehashi", 1, time.Date(2026, 11, 30, 19, 0, 0, 0, bot.Tokyo), "https://meet.example.jp/demo/takahashi")
	if st, err := cal.Events()[0].Status(); err != nil || st != ical.EventCancelled {
		t.Errorf("STATUS = %v, %v", st, err)
	}
	s.icsGolden("meeting_cancel.ics", raw)
	mustContain(t, s.adv.press("meeting.reschedule", id), "確定した面談だけ")
	// Nothing fires any more.
	s.set(time.Date(2026, 12, 1, 0, 0, 0, 0, bot.Tokyo))
	s.ta.runJobs()
	if p := append(s.staff.pushes(), s.adv.pushes()...); len(p) != 0 {
		t.Fatalf("after cancel: %s", dump(p))
	}
}

// A worker killed in the middle of a send (after the push, before the ack; and after the
// web delivery, before its ack) still leads to exactly one delivered reminder.
func TestMeetingReminderWorkerKilledMidSend(t *testing.T) {
	s := newMeetingScene(t)
	ctx := context.Background()
	id := s.confirmed(2)
	s.set(time.Date(2026, 11, 29, 19, 0, 0, 0, bot.Tokyo)) // T-24h

	// Replica A claims the due reminders with a short lease, sends one, and dies.
	replica := store.NewQueue(s.ta.DB)
	replica.Lease = 2 * time.Second
	jobs, err := replica.Claim(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	staffReminder := handlers.ReminderJobID(DemoTenant, bot.MeetingID(id), 24*time.Hour, 0, s.person(s.staff))
	var claimed *store.Job
	for i := range jobs {
		if jobs[i].ID == staffReminder {
			claimed = &jobs[i]
		}
	}
	if claimed == nil {
		t.Fatalf("reminder %s not claimed among %d jobs", staffReminder, len(jobs))
	}
	if err := s.ta.Meetings.RunReminder(ctx, *claimed); err != nil {
		t.Fatal(err)
	}
	// It got as far as the web delivery of the push, which it also never acked.
	pushes, err := replica.Claim(ctx, 100)
	if err != nil || len(pushes) != 1 || pushes[0].ID != "push:demo:"+staffReminder {
		t.Fatalf("push job = %+v, %v", pushes, err)
	}
	s.deliverWeb(pushes[0])

	// Replica B runs while the leases hold, then after they expired: the jobs run again.
	s.ta.runJobs()
	s.ta.clock.Add(3 * time.Second)
	n := s.ta.runJobs()
	if n < 2 {
		t.Fatalf("after the leases expired only %d jobs ran again", n)
	}
	s.ta.runJobs()
	st := onlyKind(s.staff.pushes(), "meeting_reminder")
	if len(st) != 1 {
		t.Fatalf("requester got %d reminders, want exactly 1: %s", len(st), dump(st))
	}
	if ad := onlyKind(s.adv.pushes(), "meeting_reminder"); len(ad) != 1 {
		t.Fatalf("adviser got %d reminders", len(ad))
	}
	for _, j := range append(jobs, pushes...) {
		if p, _ := s.ta.Queue.Pending(ctx, j.ID); p {
			t.Errorf("job %s still pending", j.ID)
		}
	}
}

// deliverWeb does what the outbox does for a web push (the contract of handlers.Outbox:
// the delivery key is "push:" + the push key), so the test can die right after it.
func (s *meetingScene) deliverWeb(j store.Job) {
	s.t.Helper()
	var p struct {
		To      bot.Recipient `json:"to"`
		Replies []struct {
			Reply bot.Reply `json:"reply"`
		} `json:"replies"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(j.Payload, &p); err != nil || len(p.Replies) != 1 {
		s.t.Fatalf("push payload %s: %v", j.Payload, err)
	}
	err := s.ta.Web.Send(context.Background(), bot.Delivery{Tenant: p.To.Tenant, UserID: string(p.To.Person), Replies: []bot.Reply{p.Replies[0].Reply}, Key: "push:" + p.Key})
	if err != nil {
		s.t.Fatal(err)
	}
}

// Unanswered requests: one reminder to the adviser at 48 h, the DX leads at 72 h.
func TestMeetingEscalation(t *testing.T) {
	s := newMeetingScene(t)
	id, _ := s.request(0, 1)
	s.ta.clock.Add(47 * time.Hour)
	s.ta.runJobs()
	if p := s.adv.pushes(); len(p) != 0 {
		t.Fatalf("nudged early: %s", dump(p))
	}
	s.ta.clock.Add(time.Hour)
	s.ta.runJobs()
	s.ta.runJobs()
	p := s.adv.pushes()
	if len(p) != 1 {
		t.Fatalf("adviser nudges at 48h: %d", len(p))
	}
	mustContain(t, p, "【再送】まだご回答をいただいていません")
	choice(t, p, "辞退")
	s.ta.clock.Add(24 * time.Hour)
	s.ta.runJobs()
	s.ta.runJobs()
	p = s.lead.pushes()
	if len(p) != 1 {
		t.Fatalf("DX lead alerts at 72h: %d %s", len(p), dump(p))
	}
	mustContain(t, p, "【要確認】アドバイザー 高橋 健（DX推進） さんが、面談の依頼に72時間回答していません", "#5 庁内の問い合わせ統計を可視化したい", "山田 花子")
	if p := s.adv.pushes(); len(p) != 0 {
		t.Fatalf("adviser nudged twice: %s", dump(p))
	}
	mustContain(t, s.lead.press("meeting.view", id), "回答待ち")
}

// After the meeting: notes and usefulness from the requester, hours from the adviser;
// the hours count against the cap in the status, the health alerts and the digest.
func TestMeetingFollowUpHoursAndHealth(t *testing.T) {
	s := newMeetingScene(t)
	ctx := context.Background()
	id := s.confirmed(2)
	mustContain(t, s.staff.press("meeting.feedback", id), "振り返りは面談の開始後")
	s.set(time.Date(2026, 11, 30, 20, 0, 0, 0, bot.Tokyo))
	s.ta.runJobs()
	p := s.staff.pushes()
	s.staff.press(choice(t, p, "振り返りを入力").Action, id)
	s.staff.say("ダッシュボードの指標を3つに絞る")
	s.staff.say("情報政策課: 12月中に試作")
	s.staff.press(dialog.ActAnswer, "4")
	mustContain(t, s.staff.press(dialog.ActSubmit, ""), "振り返りを記録しました")
	m := s.meeting(id)
	if m.Status != bot.MeetingHeld || m.Usefulness != 4 || m.Notes != "ダッシュボードの指標を3つに絞る" || m.ActionItems != "情報政策課: 12月中に試作" {
		t.Fatalf("after feedback: %+v", m)
	}
	p = s.adv.pushes()
	choice(t, p, "60分で確定")
	s.adv.press("meeting.hours", id)
	mustContain(t, s.adv.say("すこし"), "「90分」「1.5時間」")
	s.adv.say("1時間30分")
	// November also holds the demo's 11/22 meeting, whose hours are not confirmed yet:
	// it counts with its planned 60 minutes.
	mustContain(t, s.adv.press(dialog.ActSubmit, ""), "稼働時間 1.5 時間を記録しました", "11月の合計: 2.5 / 20 時間")
	if m := s.meeting(id); m.Minutes != 90 || m.HoursAt.IsZero() {
		t.Fatalf("minutes = %d", m.Minutes)
	}
	// The DX lead's status: hours against the caps, and the demo 防災 adviser's permit.
	r := s.lead.say("アドバイザー状況")
	mustContain(t, r, "高橋 健（DX推進）: 2.5 / 20 時間", "山口 誠（防災）: 2.0 / 8 時間", "副業許可が 2026-12-14 に終了します（あと14日）")
	// Above 80 % of the cap is an alert; the cap resets with the month.
	a, _ := s.ta.AdviserStore.Adviser(ctx, DemoTenant, "demo-dx")
	a.CapHours = 3
	if err := s.ta.AdviserStore.SaveAdviser(ctx, a); err != nil {
		t.Fatal(err)
	}
	s.set(time.Date(2026, 11, 30, 23, 0, 0, 0, bot.Tokyo))
	mustContain(t, s.lead.say("アドバイザー状況"), "高橋 健（DX推進） さんの今月の稼働が上限の83%（2.5 / 3 時間）です")
	var in bot.DigestInput
	in.WeekStart, in.Now = time.Date(2026, 11, 23, 0, 0, 0, 0, bot.Tokyo), s.ta.clock.Now()
	if err := s.ta.Meetings.DigestSource(ctx, &bot.Tenant{ID: DemoTenant}, &in); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(in.AdviserHours, bot.AdviserHours{Name: "高橋 健（DX推進）", Hours: 2.5, Cap: 3}) {
		t.Fatalf("digest adviser hours: %+v", in.AdviserHours)
	}
	s.set(time.Date(2026, 12, 1, 8, 0, 0, 0, bot.Tokyo))
	r = s.lead.say("アドバイザー状況")
	mustContain(t, r, "高橋 健（DX推進）: 0.0 / 3 時間")
	if strings.Contains(texts(r), "上限の") {
		t.Fatalf("cap alert in a new month: %s", texts(r))
	}

	// The daily check runs at 09:00 on business days and tells each DX lead once.
	s.drain()
	s.set(time.Date(2026, 12, 1, 8, 59, 0, 0, bot.Tokyo))
	for range 2 {
		if err := s.ta.Meetings.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		s.ta.runJobs()
	}
	if p := s.lead.pushes(); len(p) != 0 {
		t.Fatalf("health sent before 09:00: %s", dump(p))
	}
	s.set(time.Date(2026, 12, 1, 9, 0, 0, 0, bot.Tokyo))
	for range 2 {
		if err := s.ta.Meetings.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		s.ta.runJobs()
	}
	p = s.lead.pushes()
	if len(p) != 1 {
		t.Fatalf("DX lead got %d health alerts", len(p))
	}
	mustContain(t, p, "【アドバイザー状況】", "副業許可が 2026-12-14 に終了します（あと13日）")
	if strings.Contains(texts(p), "4週間") {
		t.Fatalf("4-week alert too early: %s", texts(p))
	}
	// Saturday: no check.
	s.set(time.Date(2026, 12, 5, 9, 30, 0, 0, bot.Tokyo))
	s.ta.Meetings.Tick(ctx)
	s.ta.runJobs()
	if p := s.lead.pushes(); len(p) != 0 {
		t.Fatalf("health check on a Saturday: %s", dump(p))
	}

	// The digest counts the meeting held and its score in the week of 11/30.
	in = bot.DigestInput{WeekStart: time.Date(2026, 11, 30, 0, 0, 0, 0, bot.Tokyo), Now: time.Date(2026, 12, 7, 9, 0, 0, 0, bot.Tokyo)}
	if err := s.ta.Meetings.DigestSource(ctx, &bot.Tenant{ID: DemoTenant}, &in); err != nil {
		t.Fatal(err)
	}
	if in.MeetingsHeld != 1 || in.MeetingsHeldPrev != 1 || in.UsefulnessCount != 1 || in.UsefulnessSum != 4 {
		t.Fatalf("digest input: held %d (prev %d) usefulness %v/%d", in.MeetingsHeld, in.MeetingsHeldPrev, in.UsefulnessSum, in.UsefulnessCount)
	}
}

// An adviser assigned to a need with no meeting about it for 4 weeks is reported.
func TestMeetingHealthAssignedWithoutMeeting(t *testing.T) {
	s := newMeetingScene(t)
	mustContain(t, s.lead.press("need.setadviser", "1:"+string(s.person(s.adv))), "割り当てました")
	s.set(time.Date(2026, 12, 21, 10, 0, 0, 0, bot.Tokyo)) // 27 days later
	if strings.Contains(texts(s.lead.say("アドバイザー状況")), "4週間") {
		t.Fatal("4-week alert after 27 days")
	}
	s.set(time.Date(2026, 12, 22, 10, 0, 0, 0, bot.Tokyo))
	mustContain(t, s.lead.say("アドバイザー状況"), "高橋 健（DX推進） さん（ニーズ #1「窓口の申請受付を電子化したい」に割当）は4週間面談がありません",
		"山口 誠（防災） さんの副業許可は 2026-12-14 に終了しています")
}

// The DX lead edits a profile in chat; an import adds and updates profiles and reports bad lines.
func TestMeetingAdviserProfiles(t *testing.T) {
	s := newMeetingScene(t)
	ctx := context.Background()
	r := s.lead.say("アドバイザー一覧")
	mustContain(t, r, "小野 美咲（プロモーション） (demo-promo)", "高橋 健（DX推進） (demo-dx)")
	s.lead.press("adviser.edit", "demo-promo")
	s.lead.press(dialog.ActEdit, "")
	s.lead.press(dialog.ActAnswer, "windows")
	mustContain(t, s.lead.say("金曜の夜"), "「火 19:00-21:00, 土 10:00-12:00」")
	s.lead.say("金 19:00-21:00、土 10時-12時")
	s.lead.press(dialog.ActEdit, "")
	s.lead.press(dialog.ActAnswer, "areas")
	mustContain(t, s.lead.say("広報、宇宙"), "分野が読めませんでした（広報、宇宙）")
	s.lead.say("プロモーション・広報、データ活用・AI")
	mustContain(t, s.lead.press(dialog.ActSubmit, ""), "プロフィールを保存しました")
	a, err := s.ta.AdviserStore.Adviser(ctx, DemoTenant, "demo-promo")
	if err != nil || a.Windows != "金 19:00–21:00、土 10:00–12:00" || !slices.Equal(a.Areas, []bot.Category{"data_ai", "promotion_pr"}) {
		t.Fatalf("after edit: %+v %v", a, err)
	}
	// The staff member may not manage advisers.
	mustContain(t, s.staff.say("アドバイザー一覧"), "担当者のみ")

	dir := t.TempDir()
	csvPath := filepath.Join(dir, "advisers.csv")
	csvText := "\ufeffid,name,areas,windows,modes,join_url,venue,monthly_cap_hours,contract_end,permit_expiry,channel,bind_on_join\n" +
		"okayama-dx,岡山 太郎,cio_strategy;data_ai,火 19:00-21:00; 土 10:00-12:00,online,https://meet.example.jp/okayama,,12,2027-03-31,,line,false\n" +
		"bad-area,誤り 花子,space,火 19:00-21:00,online,https://meet.example.jp/x,,10,,,,\n" +
		"bad-window,誤り 次郎,防災,いつでも,onsite,,本庁舎,10,,,,\n" +
		"demo-promo,小野 美咲（プロモーション）,promotion_pr,土 10:00-12:00,online,https://meet.example.jp/demo/ono,,10,,,,\n"
	if err := os.WriteFile(csvPath, []byte(csvText), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := s.adminRun("advisers", "import", "--tenant", "demo", csvPath)
	if err == nil || !strings.Contains(err.Error(), "2 line(s) skipped") {
		t.Fatalf("import error = %v", err)
	}
	for _, want := range []string{"line 3 (id bad-area) skipped: areas: 分野「space」はありません", "line 4 (id bad-window) skipped: windows:",
		"advisers for tenant demo: 1 created, 1 updated, 2 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	got, err := s.ta.AdviserStore.Adviser(ctx, DemoTenant, "okayama-dx")
	if err != nil || got.Windows != "火 19:00–21:00、土 10:00–12:00" || got.CapHours != 12 || got.Channel != bot.PlatformLINE ||
		!got.ContractEnd.Equal(time.Date(2027, 3, 31, 0, 0, 0, 0, bot.Tokyo)) {
		t.Fatalf("imported: %+v %v", got, err)
	}
	if _, err := s.ta.AdviserStore.Adviser(ctx, DemoTenant, "bad-area"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Fatalf("a bad line was imported: %v", err)
	}
	// JSON works the same way; lists may be arrays.
	jsonPath := filepath.Join(dir, "advisers.json")
	os.WriteFile(jsonPath, []byte(`[{"id":"kobe-pr","name":"神戸 花子","areas":["promotion_pr"],"windows":"土 10:00-12:00","modes":["online"],"join_url":"https://meet.example.jp/kobe","monthly_cap_hours":6}]`), 0o600)
	if out, err := s.adminRun("advisers", "import", "--tenant", "demo", jsonPath); err != nil || !strings.Contains(out, "1 created, 0 updated, 0 skipped") {
		t.Fatalf("JSON import: %v\n%s", err, out)
	}
	out, err = s.adminRun("advisers", "list", "--tenant", "demo")
	if err != nil || !strings.Contains(out, "kobe-pr\t神戸 花子\tpromotion_pr") {
		t.Fatalf("list: %v\n%s", err, out)
	}
}

// adminRun runs an admin command against the test app's store, as an operator would on
// the same machine.
func (s *meetingScene) adminRun(args ...string) (string, error) {
	s.t.Setenv("KAKEHASHI_DATA_DIR", s.ta.dir)
	s.t.Setenv("KAKEHASHI_REDIS_URL", s.ta.cfg.RedisURL)
	var out bytes.Buffer
	err := run(context.Background(), args, &out, io.Discard)
	return out.String(), err
}

func TestMeetingReminderOffsetsSetting(t *testing.T) {
	for in, want := range map[string][]time.Duration{
		"24h,1h":   {24 * time.Hour, time.Hour},
		"1h, 24h":  {24 * time.Hour, time.Hour},
		" 10m ,1m": {10 * time.Minute, time.Minute},
		"90s":      {90 * time.Second},
	} {
		got, err := parseReminderOffsets(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseReminderOffsets(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ",", "1h,1h", "-1h", "0s", "soon", "1.5s"} {
		if _, err := parseReminderOffsets(bad); err == nil || !strings.Contains(err.Error(), "KAKEHASHI_REMINDER_OFFSETS") {
			t.Errorf("parseReminderOffsets(%q) = %v; want an error naming the setting", bad, err)
		}
	}
}

// offsetJA is how a reminder names its offset: 24時間前, 10分前.
func offsetJA(d time.Duration) string {
	if d%time.Hour == 0 {
		return itoa(int(d/time.Hour)) + "時間前"
	}
	return itoa(int(d/time.Minute)) + "分前"
}

// BenchmarkMeetingReminders10k schedules 10,000 reminders due in the same minute (5,000
// meetings × 2 attendees, one 1 h offset) through the queue and delivers them to the web
// inboxes: the enqueue is Reconcile (the same schedule() a confirmation uses), the delivery
// is the reminder job (re-reading the meeting) and then its outbox push, run by RunDue in 1
// or 8 concurrent workers. The embedded store, or a real Redis with KAKEHASHI_TEST_REDIS_URL.
// Run with -benchtime 1x; each iteration uses fresh meetings.
func BenchmarkMeetingReminders10k(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run("workers="+itoa(workers), func(b *testing.B) { benchReminders(b, workers) })
	}
}

func benchReminders(b *testing.B, workers int) {
	const meetings, advisers = 5000, 50
	ctx := context.Background()
	clock := &stepClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, bot.Tokyo)}
	a, err := newApp(ctx, appConfig{RedisURL: redisURLForTest(b), DataDir: b.TempDir(), SnapshotEvery: time.Hour, Demo: true, Clock: clock,
		NoWorker: true, Workers: 1, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	a.Meetings.Offsets = []time.Duration{time.Hour}
	var advs []*bot.Adviser
	for i := range advisers {
		p, err := a.Members.EnsureMember(ctx, DemoTenant, bot.Identity{Platform: bot.PlatformWeb, UserID: "bench-adv-" + itoa(i)}, bot.RoleAdviser, "アドバイザー"+itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		ad := &bot.Adviser{ID: bot.AdviserID("bench-" + itoa(i)), Tenant: DemoTenant, Name: "アドバイザー" + itoa(i), Person: p.ID, Areas: []bot.Category{"data_ai"},
			Windows: "月 19:00–21:00", Modes: []string{bot.ModeOnline}, JoinURL: "https://meet.example.jp/bench"}
		if err := a.AdviserStore.SaveAdviser(ctx, ad); err != nil {
			b.Fatal(err)
		}
		advs = append(advs, ad)
	}
	var staff []bot.PersonID
	for i := range meetings {
		p, err := a.Members.EnsureMember(ctx, DemoTenant, bot.Identity{Platform: bot.PlatformWeb, UserID: "bench-staff-" + itoa(i)}, bot.RoleStaff, "職員"+itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		staff = append(staff, p.ID)
	}
	web := store.NewWeb(a.DB)
	setClock := func(t time.Time) { clock.mu.Lock(); clock.t = t; clock.mu.Unlock() }
	var enqueue, deliver time.Duration
	b.StopTimer()
	for n := 0; n < b.N; n++ {
		// A fresh day per iteration: 5,000 meetings starting within one minute.
		base := time.Date(2026, 12, 1+n, 19, 0, 0, 0, bot.Tokyo)
		for i := range meetings {
			ad := advs[i%advisers]
			st := base.Add(time.Duration(i%60) * time.Second)
			if _, err := a.MeetingStore.CreateMeeting(ctx, &bot.Meeting{Tenant: DemoTenant, Need: 1, NeedTitle: "ベンチマーク", Adviser: ad.ID, AdviserPerson: ad.Person,
				Requester: staff[i], Status: bot.MeetingConfirmed, Slot: bot.TimeSlot{Start: st, End: st.Add(time.Hour)}, Mode: bot.ModeOnline,
				JoinURL: ad.JoinURL, DurationMin: 60, ScheduledAt: base.AddDate(0, 0, -7)}); err != nil {
				b.Fatal(err)
			}
		}
		setClock(base.Add(-time.Hour - time.Minute))
		b.StartTimer()
		t0 := time.Now()
		if err := a.Meetings.Reconcile(ctx, DemoTenant, clock.Now()); err != nil {
			b.Fatal(err)
		}
		enqueue += time.Since(t0)
		setClock(base.Add(-time.Hour + time.Minute))
		t0 = time.Now()
		ran := make(chan int, workers)
		for range workers {
			go func() {
				n, err := a.Worker.RunDue(ctx)
				if err != nil {
					b.Error(err)
				}
				ran <- n
			}()
		}
		total := 0
		for range workers {
			total += <-ran
		}
		deliver += time.Since(t0)
		b.StopTimer()
		if total != 4*meetings { // 10,000 reminder jobs + 10,000 push jobs
			b.Fatalf("ran %d jobs, want %d", total, 4*meetings)
		}
		// Sampled attendees got exactly this day's reminders, once each.
		got := 0
		for _, p := range append(slices.Clone(staff[:10]), advs[0].Person) {
			items, err := web.Inbox(ctx, DemoTenant, p, 0)
			if err != nil {
				b.Fatal(err)
			}
			got += len(items)
		}
		if want := 10*(n+1) + min((meetings/advisers)*(n+1), int(web.InboxKeep)); got != want {
			b.Fatalf("sampled inboxes hold %d reminders, want %d", got, want)
		}
	}
	iters := float64(b.N)
	b.ReportMetric(enqueue.Seconds()/iters, "enqueue-s/10k")
	b.ReportMetric(deliver.Seconds()/iters, "deliver-s/10k")
	b.ReportMetric(2*meetings*iters/deliver.Seconds(), "delivered/s")
}

// Each person reads their own language: an English-speaking requester, a Japanese adviser.
func TestMeetingEnglishRequester(t *testing.T) {
	s := newMeetingScene(t)
	s.staff.say("lang en")
	mustContain(t, s.staff.say("book meeting"), "Which need is the meeting about?")
	r := s.staff.press("meeting.need", s.need)
	mustContain(t, r, "Choose the adviser for", "★ covers this category")
	r = s.staff.press(choice(t, r, "★ 高橋 健（DX推進）").Action, s.need+":demo-dx")
	mustContain(t, r, "Pick 1 to 3 times that suit you")
	_, id := pollOptions(t, r[0])
	choice(t, r, "Sat 11/28 13:00–14:00")
	s.staff.press("meeting.toggle", id+":1")
	mustContain(t, s.staff.press("meeting.send", id), "The options were sent to 高橋 健（DX推進）")
	s.ta.runJobs()
	ping := s.adv.pushes()
	mustContain(t, ping, "【面談のご依頼】")
	choice(t, ping, "11/28(土) 13:00–14:00")
	s.adv.press("meeting.accept", id+":1")
	s.ta.runJobs()
	got := s.staff.pushes()
	mustContain(t, got, "The meeting is confirmed", "When: Sat 11/28 13:00–14:00", "Join URL: https://meet.example.jp/demo/takahashi")
	choice(t, got, "Reschedule")
	s.set(time.Date(2026, 11, 27, 13, 0, 0, 0, bot.Tokyo))
	s.ta.runJobs()
	mustContain(t, onlyKind(s.staff.pushes(), "meeting_reminder"), "[Reminder] Your meeting is 24 h away")
	mustContain(t, onlyKind(s.adv.pushes(), "meeting_reminder"), "【リマインド】面談の24時間前です")
}

// A proposal answered again — written, but the process died before the conversation was
// committed, and the submit came again — is applied once and told to the requester once; a
// different time is a new proposal. Found by kakehashi-faults (two "proposed" events).
func TestMeetingProposalAnsweredAgainOnce(t *testing.T) {
	s := newMeetingScene(t)
	id, ping := s.request(0)
	propose := func(when, label string) {
		t.Helper()
		s.adv.press(choice(t, []bot.Reply{ping}, "別の日時を提案").Action, id)
		s.adv.say(when)
		mustContain(t, s.adv.press(dialog.ActSubmit, ""), label+" を提案しました")
	}
	proposals := func() int {
		n := 0
		for _, e := range s.meeting(id).History {
			if e.Action == "proposed" {
				n++
			}
		}
		return n
	}
	propose("来週水曜 夜", "12/2(水) 19:00–20:00")
	propose("来週水曜 夜", "12/2(水) 19:00–20:00")
	s.ta.runJobs()
	if p := s.staff.pushes(); len(p) != 1 || proposals() != 1 {
		t.Fatalf("the same proposal twice: %d proposed events, requester got %s", proposals(), dump(p))
	}
	propose("来週木曜 夜", "12/3(木) 19:00–20:00")
	s.ta.runJobs()
	p := s.staff.pushes()
	if len(p) != 1 || proposals() != 2 {
		t.Fatalf("a new time: %d proposed events, requester got %s", proposals(), dump(p))
	}
	mustContain(t, p, "別の日時の提案がありました: 12/3(木) 19:00–20:00")
}

// A confirmation cut short — the process died after the meeting was written, before the
// reminders and the adviser's card were queued — is finished when the requester's answer
// comes again (a retried web message, a redelivery), once. Found by kakehashi-faults.
func TestMeetingConfirmCutShortFinishedOnRetry(t *testing.T) {
	s := newMeetingScene(t)
	id, ping := s.request(0)
	s.adv.press(choice(t, []bot.Reply{ping}, "別の日時を提案").Action, id)
	s.adv.say("来週水曜 夜")
	mustContain(t, s.adv.press(dialog.ActSubmit, ""), "12/2(水) 19:00–20:00 を提案しました")
	s.drain()
	// What the requester's acceptance writes, without what it queues afterwards.
	staff, now := s.person(s.staff), s.ta.clock.Now()
	if _, err := s.ta.MeetingStore.UpdateMeeting(context.Background(), DemoTenant, bot.MeetingID(id), func(m *bot.Meeting) error {
		m.Status, m.Slot, m.Proposal, m.ScheduledAt = bot.MeetingConfirmed, *m.Proposal, nil, now
		m.History = append(m.History, bot.MeetingEvent{At: now, By: staff, Action: "proposal_accepted", To: bot.MeetingConfirmed})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p := s.pending(s.reminderIDs(id, 0)); len(p) != 0 {
		t.Fatalf("reminders before the retry: %v", p)
	}
	mustContain(t, s.staff.press("meeting.paccept", id), "既に 12/2(水) 19:00–20:00 で確定しています")
	if p := s.pending(s.reminderIDs(id, 0)); len(p) != 2*len(s.ta.Meetings.Offsets) {
		t.Fatalf("reminders after the retry: %v", p)
	}
	s.ta.runJobs()
	cards := onlyKind(s.adv.pushes(), "meeting_card")
	if len(cards) != 1 {
		t.Fatalf("adviser cards after the retry: %s", dump(cards))
	}
	mustContain(t, cards, "面談が確定しました")
	// Once: another retry, or the adviser's stale answer, queues nothing new.
	s.staff.press("meeting.paccept", id)
	s.adv.press("meeting.accept", id+":0")
	s.ta.runJobs()
	if p := onlyKind(append(s.adv.pushes(), s.staff.pushes()...), "meeting_card"); len(p) != 0 {
		t.Fatalf("cards sent again: %s", dump(p))
	}
}

// A bot that was down at the due time sends the reminder late, once, saying so; after the
// meeting is over it sends none.
func TestMeetingReminderLateNotLost(t *testing.T) {
	s := newMeetingScene(t)
	s.confirmed(2)                                          // 11/30(月) 19:00
	s.set(time.Date(2026, 11, 30, 18, 40, 0, 0, bot.Tokyo)) // both reminders are due; the worker ran neither
	st, ad := s.reminders()
	if len(st) != 2 || len(ad) != 2 {
		t.Fatalf("late reminders: requester %d, adviser %d", len(st), len(ad))
	}
	mustContain(t, st, "【リマインド】面談の開始まであと20分です（通知が遅れました）", "参加URL: https://meet.example.jp/demo/takahashi")

	s2 := newMeetingScene(t)
	s2.confirmed(2)
	s2.set(time.Date(2026, 11, 30, 20, 0, 0, 0, bot.Tokyo)) // down until the meeting was over
	s2.ta.runJobs()
	s2.ta.runJobs()
	got := s2.staff.pushes()
	if rem := append(onlyKind(got, "meeting_reminder"), onlyKind(s2.adv.pushes(), "meeting_reminder")...); len(rem) != 0 {
		t.Fatalf("reminders after the meeting: %s", dump(rem))
	}
	mustContain(t, got, "はいかがでしたか") // the follow-up still comes
}

// The demo adviser who joins takes over the demo profile's history: the past meeting whose
// hours are not confirmed yet shows in their list, and they can confirm them.
func TestMeetingDemoAdviserAdoptsHistory(t *testing.T) {
	ta := newTestApp(t)
	adv := ta.join("DEMO-ADVISER", "高橋 健")
	if err := ta.Meetings.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := ta.AdviserStore.Adviser(context.Background(), DemoTenant, "demo-dx")
	if err != nil || a.Person == "" {
		t.Fatalf("demo profile not linked: %+v %v", a, err)
	}
	r := adv.say("面談一覧")
	mustContain(t, r, "実施済み", "#2 RPAで給付金の入力作業を自動化したい")
	id := r[0].Choices[0].Value
	r = adv.press("meeting.view", id)
	c := choice(t, r, "60分で確定")
	mustContain(t, adv.press(c.Action, c.Value), "稼働時間 1.0 時間を記録しました")
	// A second adviser who joins is not given the same profile.
	ta.join("DEMO-ADVISER", "別の アドバイザー")
	ta.Meetings.Tick(context.Background())
	if b, _ := ta.AdviserStore.Adviser(context.Background(), DemoTenant, "demo-dx"); b.Person != a.Person {
		t.Fatalf("profile moved to %s", b.Person)
	}
}
