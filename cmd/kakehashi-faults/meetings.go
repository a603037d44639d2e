package main

// Meetings and their reminders under faults. A few web pairs (a DEMO-STAFF person who
// files a need, and a DEMO-ADVISER person) book a meeting that starts a few minutes ahead
// through the propose-another-time path: the staff member sends the poll, the adviser
// answers 別の日時を提案 with 「今日 HH:MM」 (or 「明日 HH:MM」 just before midnight), the
// staff member accepts the proposal. The bot runs with short KAKEHASHI_REMINDER_OFFSETS,
// and the faults go on until the last reminder is due. At the end every attendee of every
// confirmed meeting must have exactly one reminder per offset that was still ahead when
// the meeting was confirmed, in the web inbox (GET /web/api/inbox).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
	"github.com/kakehashi/kakehashi/store"
)

// flagSet reports whether a flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// parseOffsets reads the offsets as the bot does (whole seconds), longest first.
func parseOffsets(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 || d%time.Second != 0 || slices.Contains(out, d) {
			return nil, fmt.Errorf("-offsets %q: want distinct positive durations in whole seconds, e.g. 90s,30s", s)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int((b - a) / time.Second) })
	return out, nil
}

// pair is one staff member booking one meeting with the adviser profile prof.
type pair struct {
	staff *person
	prof  string
	// what the people saw
	meeting   string    // the poll sent to the adviser
	sent      time.Time // when the staff member saw it sent
	confirmed time.Time // when the staff member saw 面談が確定しました
	viaView   bool      // the proposal was found with 詳細, its push had not come
	failed    string
}

// killDuring SIGKILLs the bot 0–20 ms after a meeting answer was sent, for every other
// answer while the faults run: the answer may be cut between the meeting's write and the
// reminders' enqueue (Reconcile repairs that) or the pushes that follow.
func (s *suite) killDuring(what string) {
	if !s.faulting.Load() || s.rand(2) == 0 {
		return
	}
	delay := time.Duration(s.rand(20_000)) * time.Microsecond
	s.count(func(r *report) { r.BotKills++; r.BotKillsAtAnswers++ })
	go func() {
		time.Sleep(delay)
		s.say("fault: SIGKILL the bot %s after %s", delay.Round(100*time.Microsecond), what)
		s.bot.kill()
	}()
}

// pairProfile is the adviser profile of pair i, imported before the run with
// `kakehashi advisers import`, marked bind_on_join.
func pairProfile(i int) string { return fmt.Sprintf("faults-adv-%02d", i+1) }

// setupMeetings imports one adviser profile per pair (bind_on_join). The demo DX adviser
// profile is bind_on_join too, so one more adviser joins than there are pairs: whichever
// order the bot links them in, every profile gets a member. Pairs book only the imported
// profiles (no contract dates, no cap), so the demo profile's contract end does not matter.
func (s *suite) setupMeetings() error {
	if s.o.pairs <= 0 {
		return nil
	}
	now := time.Now()
	start := proposalStart(now, s.lead())
	if reason, closed := calendar.New().Closed(start); closed {
		s.rep.MeetingsSkipped = fmt.Sprintf("%s (Tokyo) is a closed day (%s): a meeting cannot be set for it", start.In(bot.Tokyo).Format("2006-01-02"), reason)
		fmt.Println("meetings:", s.rep.MeetingsSkipped)
		return nil
	}
	var rows []map[string]any
	for i := range s.o.pairs {
		rows = append(rows, map[string]any{"id": pairProfile(i), "name": fmt.Sprintf("障害試験顧問%02d", i+1),
			"areas": []string{"web_ux", "data_ai"}, "modes": []string{"online"}, "join_url": fmt.Sprintf("https://meet.example.jp/faults/%02d", i+1),
			"windows":      "月 09:00-21:00; 火 09:00-21:00; 水 09:00-21:00; 木 09:00-21:00; 金 09:00-21:00; 土 10:00-17:00",
			"bind_on_join": "true"})
	}
	b, _ := json.Marshal(rows)
	file := filepath.Join(s.work, "advisers.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return err
	}
	out := s.outboxCLI("advisers", "import", "--tenant", "demo", file)
	if !strings.Contains(out, fmt.Sprintf("%d created", s.o.pairs)) {
		return fmt.Errorf("kakehashi advisers import: %s", strings.TrimSpace(out))
	}
	fmt.Print("kakehashi advisers import: ", out)
	return nil
}

// lead is how far ahead the adviser proposes: the longest offset and 20 s to confirm.
func (s *suite) lead() time.Duration { return s.offsets[0] + 20*time.Second }

// proposalStart is the first whole minute at least lead from now.
func proposalStart(now time.Time, lead time.Duration) time.Time {
	t := now.Add(lead)
	if r := t.Truncate(time.Minute); !r.Equal(t) {
		t = r.Add(time.Minute)
	}
	return t
}

// startPairs starts the pairs' staff members (they file a need first, as the other web
// people do) and one adviser more than there are pairs.
func (s *suite) startPairs(done *sync.WaitGroup, deadline time.Time) {
	if s.o.pairs <= 0 || s.rep.MeetingsSkipped != "" {
		return
	}
	s.rep.Meetings = s.o.pairs
	s.say("%d web pairs book a meeting: the adviser proposes 「今日 HH:MM」 at least %s ahead; KAKEHASHI_REMINDER_OFFSETS=%s", s.o.pairs, s.lead(), s.o.offsets)
	n := len(s.people)
	var staff sync.WaitGroup
	for i := range s.o.pairs {
		n++
		// Half a gap in, so the faults have begun when the first pair books.
		p := newPerson(s, n, "web", "demo", "", s.o.pairGap/2+time.Duration(i)*s.o.pairGap)
		pr := &pair{staff: p, prof: pairProfile(i)}
		s.people = append(s.people, p)
		s.pairs = append(s.pairs, pr)
		staff.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			defer staff.Done()
			defer p.ended.Store(true)
			p.run(deadline)
			if !p.done {
				pr.failed = "the need was not acknowledged"
				return
			}
			s.book(pr, deadline)
		}()
	}
	pairsDone := make(chan struct{})
	go func() { staff.Wait(); close(pairsDone) }()
	for range s.o.pairs + 1 {
		n++
		a := newPerson(s, n, "web", "demo", "", 0)
		a.invite, a.name = "DEMO-ADVISER", fmt.Sprintf("試験顧問%03d", n)
		s.advisers = append(s.advisers, a)
		done.Add(1)
		go func() { defer done.Done(); defer a.ended.Store(true); s.advise(a, pairsDone, deadline) }()
	}
}

// faultsEnd is when the faults stop: after -duration, or once the last reminder of the
// meetings proposed so far is due (at most -extend later).
func (s *suite) faultsEnd(from time.Time) time.Time {
	end := from.Add(s.o.duration)
	if last := s.lastReminderDue(false); last.After(end) {
		end = last.Add(3 * time.Second)
		if limit := from.Add(s.o.duration + s.o.extend); end.After(limit) {
			end = limit
		}
	}
	return end
}

// lastReminderDue is when the last reminder of the proposed (or only the confirmed)
// meetings is due.
func (s *suite) lastReminderDue(confirmedOnly bool) time.Time {
	s.mtgMu.Lock()
	defer s.mtgMu.Unlock()
	var last time.Time
	for _, x := range s.proposals {
		confirmed := false
		for _, pr := range s.pairs {
			confirmed = confirmed || (pr.meeting == x.meeting && !pr.confirmed.IsZero())
		}
		if confirmedOnly && !confirmed {
			continue
		}
		if due := x.start.Add(-s.offsets[len(s.offsets)-1]); due.After(last) {
			last = due
		}
	}
	return last
}

// awaitReminders waits until the last reminder of the confirmed meetings is due; the
// queue drain that follows waits for it to be sent.
func (s *suite) awaitReminders() {
	last := s.lastReminderDue(true)
	if wait := time.Until(last.Add(2 * time.Second)); wait > 0 {
		s.say("waiting %s for the last reminder (due %s) …", wait.Round(time.Second), last.In(bot.Tokyo).Format("15:04:05"))
		time.Sleep(wait)
	}
}

// ---- the people of a pair -------------------------------------------------------------------

// press sends a button press (a web choice) and returns the replies.
func (p *person) press(action, value string) []reply {
	return p.webSay(action+" "+value, button{label: action, action: action, value: value})
}

// ask sends a press (or, without an action, the text) and waits for its answer: a reply
// with one of the markers, in the HTTP response or, when the message was spooled (202) or
// the answer was lost with a killed bot, in the inbox (up to 40 s: a retried message waits
// for the dead process's conversation lock, 30 s). Everything received is returned. So a
// person does not press again while an answer is still on its way, and an answer to a
// repeated press (the same refusal twice) is not mistaken for a duplicate send.
func (p *person) ask(action, value, text string, markers ...string) []reply {
	var rs []reply
	if action != "" {
		rs = p.press(action, value)
	} else {
		rs = p.say(text, button{})
	}
	for deadline := time.Now().Add(40 * time.Second); !hasText(rs, markers...) && time.Now().Before(deadline); {
		rs = append(rs, p.webInbox(time.Until(deadline))...)
	}
	return rs
}

func findChoice(rs []reply, action, value string) (button, bool) {
	for _, r := range rs {
		for _, b := range r.buttons {
			if b.action == action && (value == "" || b.value == value) {
				return b, true
			}
		}
	}
	return button{}, false
}

func hasText(rs []reply, subs ...string) bool {
	for _, r := range rs {
		for _, sub := range subs {
			if strings.Contains(r.text, sub) {
				return true
			}
		}
	}
	return false
}

// pollID is the meeting ID of a poll card (its toggle buttons are "m5:0", "m5:1", …).
func pollID(rs []reply) string {
	if b, ok := findChoice(rs, "meeting.toggle", ""); ok {
		id, _, _ := strings.Cut(b.value, ":")
		return id
	}
	return ""
}

// Answers the pairs wait for (markers of ask).
var (
	ansNeeds    = []string{"どのニーズについて", "面談相手を選んでください", "対応中のニーズがありません"}
	ansAdvisers = []string{"面談相手を選んでください", "見つかりません", "予約できるアドバイザーがいません"}
	ansPoll     = []string{"面談候補です", "予約できません", "予約できる枠がありません", "見つかりません"}
	ansToggle   = []string{"面談候補です", "既に送信済み", "期限が切れました", "候補をボタンから"}
	ansSend     = []string{"候補日時を送りました", "既に送信済み", "候補を1つ以上選んで", "期限が切れました", "日時が過ぎています"}
	ansView     = []string{"状態: ", "面談が見つかりません"}
	ansAccept   = []string{"面談が確定しました", "で確定しています", "提案の日時は過ぎています", "この面談は", "提案に回答できるのは"}
	ansPropose  = []string{"ご都合のよい開始日時", "この面談は", "この依頼に回答できるのは", "面談が見つかりません"}
	ansWhen     = []string{"よろしいですか", "提案する", "過ぎ", "閉庁日", "読み取れ", "読めません"}
	ansSubmit   = []string{"を提案しました", "別の面談", "稼働上限", "閉庁日", "契約期間", "この面談は", "この依頼に回答できるのは", "「メニュー」"}
	ansList     = []string{"面談一覧（日時順）", "予定されている面談はありません"}
)

// book is the staff member's side: 面談予約 → the need → the pair's adviser → one option
// → 決定, then accept the adviser's proposal. Every step waits for its answer and is
// repeated (or looked up with 詳細) when none comes, as a person would.
func (s *suite) book(pr *pair, deadline time.Time) {
	p := pr.staff
	need := strconv.Itoa(p.need)
	var got []reply // everything seen: the proposal may come while waiting for another answer
	keep := func(rs []reply) []reply { got = append(got, rs...); return rs }
	state, mid := "poll", ""
	lastView := time.Now()
	rs := keep(p.ask("", "", "面談予約", ansNeeds...))
	for time.Now().Before(deadline) {
		switch state {
		case "poll":
			b, ok := findChoice(rs, "meeting.adviser", need+":"+pr.prof)
			if !ok {
				// The need list, or a list without the adviser yet (not linked): ask again.
				time.Sleep(time.Second)
				rs = keep(p.ask("meeting.need", need, "", ansAdvisers...))
				continue
			}
			rs = keep(p.ask(b.action, b.value, "", ansPoll...))
			if id := pollID(rs); id != "" {
				mid, state = id, "pick"
				s.mtgMu.Lock()
				pr.meeting = mid
				s.mtgMu.Unlock()
				p.logf("poll %s", mid)
			}
		case "pick":
			rs = keep(p.ask("meeting.toggle", mid+":0", "", ansToggle...))
			switch {
			case hasText(rs, "既に送信済み"):
				state = "wait"
			case hasText(rs, "期限が切れました"):
				state = "poll"
			default:
				state = "send" // send says so when nothing is picked (a toggle applied twice)
			}
		case "send":
			rs = keep(p.ask("meeting.send", mid, "", ansSend...))
			switch {
			case hasText(rs, "候補日時を送りました", "既に送信済み"):
				state = "wait"
				lastView = time.Now()
				s.mtgMu.Lock()
				pr.sent = lastView
				s.mtgMu.Unlock()
			case hasText(rs, "候補を1つ以上選んで"):
				state = "pick"
			case hasText(rs, "期限が切れました", "日時が過ぎています"):
				state = "poll"
			default:
				time.Sleep(time.Second)
			}
		case "wait":
			if s.closedDay() != "" {
				pr.failed = "not booked: " + s.closedDay()
				return
			}
			if _, ok := findChoice(got, "meeting.paccept", mid); ok {
				state = "accept"
				continue
			}
			if time.Since(lastView) > 30*time.Second {
				// Nothing came for a while: look at the meeting.
				lastView = time.Now()
				rs = keep(p.ask("meeting.view", mid, "", ansView...))
				if hasText(rs, "状態: 確定") {
					state = "done"
				} else if _, ok := findChoice(rs, "meeting.paccept", mid); ok {
					pr.viaView = true
				}
				continue
			}
			keep(p.webInbox(5 * time.Second))
		case "accept":
			s.killDuring("a requester accepted a proposal")
			rs = keep(p.ask("meeting.paccept", mid, "", ansAccept...))
			switch {
			case hasText(rs, "面談が確定しました", "で確定しています"):
				state = "done"
			case hasText(rs, "提案の日時は過ぎています"):
				pr.failed = "the proposed time passed before it was accepted"
				return
			default:
				if rs = keep(p.ask("meeting.view", mid, "", ansView...)); hasText(rs, "状態: 確定") {
					state = "done"
				}
			}
		case "done":
			s.mtgMu.Lock()
			pr.confirmed = time.Now()
			s.mtgMu.Unlock()
			p.logf("meeting %s confirmed", mid)
			s.say("meeting %s confirmed (%s)", mid, p.name)
			return
		}
	}
	pr.failed = "not confirmed before the deadline (state " + state + ")"
}

var (
	reqRe    = regexp.MustCompile(`【面談のご依頼】`)
	statusRe = regexp.MustCompile(`状態: (\S+)`)
)

// advise is an adviser's side: join, then answer every request ping with 別の日時を提案 and
// a time a few minutes ahead. A request that never pinged is found with 面談一覧 after a while.
func (s *suite) advise(a *person, pairsDone <-chan struct{}, deadline time.Time) {
	if !a.join(deadline) {
		return
	}
	handled := map[string]bool{}
	var got []reply
	lastList := time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-pairsDone:
			return
		default:
		}
		got = append(got, a.webInbox(2*time.Second)...)
		for _, r := range got {
			if !reqRe.MatchString(r.text) {
				continue
			}
			if b, ok := findChoice([]reply{r}, "meeting.propose", ""); ok && !handled[b.value] {
				handled[b.value] = true
				s.propose(a, b.value, false, deadline)
			}
		}
		if time.Since(lastList) > 10*time.Second && len(handled) == 0 && s.unanswered(40*time.Second) {
			lastList = time.Now()
			rs := a.ask("", "", "面談一覧", ansList...)
			for _, r := range rs {
				for i, b := range r.buttons {
					if b.action != "meeting.view" || handled[b.value] || !strings.Contains(r.text, "回答待ち") {
						continue
					}
					// The list's fields are in the order of its buttons.
					if lines := strings.Split(r.text, "\n"); i+1 < len(lines) && strings.Contains(lines[i+1], "回答待ち") {
						handled[b.value] = true
						s.propose(a, b.value, true, deadline)
					}
				}
			}
		}
	}
}

// unanswered reports whether a pair sent its poll more than d ago and has no proposal yet.
func (s *suite) unanswered(d time.Duration) bool {
	s.mtgMu.Lock()
	defer s.mtgMu.Unlock()
	for _, pr := range s.pairs {
		if pr.sent.IsZero() || time.Since(pr.sent) < d || !pr.confirmed.IsZero() {
			continue
		}
		if !slices.ContainsFunc(s.proposals, func(x proposal) bool { return x.meeting == pr.meeting }) {
			return true
		}
	}
	return false
}

// closedDay is why meetings could not be booked (the offices are closed on the day of
// the proposed start), or "".
func (s *suite) closedDay() string {
	s.mtgMu.Lock()
	defer s.mtgMu.Unlock()
	return s.rep.MeetingsSkipped
}

// propose answers one request with 別の日時を提案 → 「今日 HH:MM」 → 提案する. When an answer does
// not come it looks at the meeting (詳細) before proposing again, so the requester is not
// asked twice.
func (s *suite) propose(a *person, mid string, viaList bool, deadline time.Time) {
	for time.Now().Before(deadline) {
		rs := a.ask("meeting.propose", mid, "", ansPropose...)
		if hasText(rs, "ご都合のよい開始日時") {
			now := time.Now()
			start := proposalStart(now, s.lead())
			if reason, closed := calendar.New().Closed(start); closed {
				s.mtgMu.Lock()
				s.rep.MeetingsSkipped = fmt.Sprintf("%s (Tokyo) is a closed day (%s): a meeting cannot be set for it", start.In(bot.Tokyo).Format("2006-01-02"), reason)
				s.mtgMu.Unlock()
				return
			}
			day := "今日"
			if start.In(bot.Tokyo).YearDay() != now.In(bot.Tokyo).YearDay() {
				day = "明日"
			}
			rs = a.ask("", "", day+" "+start.In(bot.Tokyo).Format("15:04"), ansWhen...)
			if b, ok := findChoice(rs, "dialog.submit", ""); ok {
				s.killDuring("an adviser proposed a time")
				rs = a.ask(b.action, b.value, "", ansSubmit...)
				if hasText(rs, "を提案しました") {
					s.proposed(mid, start, viaList)
					a.logf("proposed %s for %s", start.In(bot.Tokyo).Format("15:04"), mid)
					return
				}
				if hasText(rs, "別の面談", "稼働上限", "閉庁日", "契約期間") {
					a.logf("proposal for %s refused: %s", mid, short(joinText(rs)))
					return
				}
			}
		}
		// No answer, or not the one expected: what is the meeting's state now?
		rs = a.ask("meeting.view", mid, "", ansView...)
		if m := statusRe.FindStringSubmatch(joinText(rs)); m != nil && m[1] != "回答待ち" {
			if m[1] == "別日時の提案あり" {
				if t, ok := proposedIn(rs); ok {
					s.proposed(mid, t, viaList)
				}
			}
			a.logf("meeting %s is %s", mid, m[1])
			return
		}
		time.Sleep(time.Second)
	}
}

// proposed records a proposal (the faults go on until its reminders are due).
func (s *suite) proposed(mid string, start time.Time, viaList bool) {
	s.mtgMu.Lock()
	defer s.mtgMu.Unlock()
	s.proposals = append(s.proposals, proposal{mid, start, viaList})
	s.say("meeting %s: the adviser proposed %s", mid, start.In(bot.Tokyo).Format("15:04"))
}

type proposal struct {
	meeting string
	start   time.Time
	viaList bool
}

func joinText(rs []reply) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.text + "\n")
	}
	return b.String()
}

var proposedRe = regexp.MustCompile(`提案中の日時: (\d+)/(\d+)\([^)]*\) (\d+):(\d+)`)

// proposedIn reads the proposed start from a meeting card.
func proposedIn(rs []reply) (time.Time, bool) {
	m := proposedRe.FindStringSubmatch(joinText(rs))
	if m == nil {
		return time.Time{}, false
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	now := time.Now().In(bot.Tokyo)
	t := time.Date(now.Year(), time.Month(n[0]), n[1], n[2], n[3], 0, 0, bot.Tokyo)
	if t.Before(now.AddDate(0, -6, 0)) {
		t = t.AddDate(1, 0, 0)
	}
	return t, true
}

// ---- the count --------------------------------------------------------------------------------

var reminderOffsetRe = regexp.MustCompile(`面談の(\d+)(秒|分|時間)前です`)

// reminderOffset reads the offset a reminder names ("面談の90秒前です"); a late reminder
// ("開始まであと…（通知が遅れました）") names none.
func reminderOffset(text string) (time.Duration, bool) {
	m := reminderOffsetRe.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"秒": time.Second, "分": time.Minute, "時間": time.Hour}[m[2]]
	return time.Duration(n) * unit, true
}

// countReminders reads the confirmed meetings of the pairs from Redis and every attendee's
// inbox through GET /web/api/inbox (the attendee's own session), and counts per attendee and
// offset: none where one was due is a missed reminder, more than one a duplicate, one for an
// offset already past at confirmation an unexpected one.
func (s *suite) countReminders(ctx context.Context, rdb *redis.Client) error {
	if s.rep.Meetings == 0 {
		return nil
	}
	// Who is who: each simulated web person's person ID, from their session.
	byID := map[bot.PersonID]*person{}
	for _, p := range append(slices.Clone(s.people), s.advisers...) {
		if p.platform != "web" {
			continue
		}
		if id, err := p.personID(ctx, rdb); err == nil {
			byID[id] = p
		}
	}
	// The meetings about the people's needs (the demo's own meetings are left out).
	var meetings []*bot.Meeting
	iter := rdb.Scan(ctx, 0, "t:{demo}:meeting:*", 500).Iterator()
	for iter.Next(ctx) {
		raw, err := rdb.Get(ctx, iter.Val()).Bytes()
		if err != nil {
			continue
		}
		var m bot.Meeting
		if json.Unmarshal(raw, &m) == nil && strings.HasPrefix(m.NeedTitle, "障害試験") {
			meetings = append(meetings, &m)
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	slices.SortFunc(meetings, func(a, b *bot.Meeting) int { return strings.Compare(string(a.ID), string(b.ID)) })
	type slot struct {
		meeting string
		person  bot.PersonID
		offset  time.Duration
	}
	got := map[slot]int{}
	late := map[slot]int{}              // late reminders name no offset: per meeting and person
	at := map[slot][]time.Time{}        // when they reached the inbox
	pushes := map[slot]map[string]int{} // per meeting and person: the actions of the buttons pushed
	for id, p := range byID {
		items, err := p.fullInbox()
		if err != nil {
			return fmt.Errorf("inbox of %s: %w", p.name, err)
		}
		for _, it := range items {
			for _, c := range it.Reply.Choices {
				k := slot{c.Value, id, 0}
				if pushes[k] == nil {
					pushes[k] = map[string]int{}
				}
				pushes[k][c.Action]++
			}
			if it.Reply.Kind != "meeting_reminder" {
				continue
			}
			mid := ""
			for _, c := range it.Reply.Choices {
				if c.Action == "meeting.view" {
					mid = c.Value
				}
			}
			if off, ok := reminderOffset(it.Reply.Text); ok {
				got[slot{mid, id, off}]++
				at[slot{mid, id, off}] = append(at[slot{mid, id, off}], it.At)
			} else {
				late[slot{mid, id, 0}]++
				s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("late reminder for %s to %s: %s", mid, p.name, short(it.Reply.Text)))
			}
		}
	}
	for _, m := range meetings {
		if m.Status != bot.MeetingConfirmed && m.Status != bot.MeetingHeld {
			continue
		}
		s.rep.MeetingsConfirmed++
		var due []time.Duration
		for _, off := range s.offsets {
			if !m.Slot.Start.Add(-off).Before(m.ScheduledAt) {
				due = append(due, off)
			}
		}
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("meeting %s at %s, confirmed %s before: reminders due %v",
			m.ID, m.Slot.Start.In(bot.Tokyo).Format("15:04"), m.Slot.Start.Sub(m.ScheduledAt).Round(time.Second), due))
		for _, who := range m.Attendees() {
			name := string(who)
			if p := byID[who]; p != nil {
				name = p.name
			} else {
				s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("attendee %s of %s is none of the simulated people", who, m.ID))
			}
			spare := late[slot{string(m.ID), who, 0}]
			for _, off := range s.offsets {
				k := slot{string(m.ID), who, off}
				c := got[k]
				delete(got, k)
				if !slices.Contains(due, off) {
					if c > 0 {
						s.rep.RemindersUnexpected += c
						s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("%s got %d reminder(s) %s before %s, already past at confirmation", name, c, off, m.ID))
					}
					continue
				}
				s.rep.RemindersExpected++
				if due := m.Slot.Start.Add(-off); due.Before(s.faultsUntil) {
					s.rep.RemindersInFaults++
				}
				for _, t := range at[k] {
					d := t.Sub(m.Slot.Start.Add(-off))
					s.rep.ReminderMaxDelay = max(s.rep.ReminderMaxDelay, d.Seconds())
					if d < -time.Second {
						s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("early reminder: %s got the %s reminder of %s %s before it was due", name, off, m.ID, -d))
					}
				}
				if c == 0 && spare > 0 { // a late reminder stands for the first one missing
					c, spare = 1, spare-1
				}
				switch {
				case c == 0:
					s.rep.RemindersMissed++
					s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("reminder missed: %s, %s before %s", name, off, m.ID))
				case c > 1:
					s.rep.DuplicateReminders += c - 1
					s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("reminder sent %d times: %s, %s before %s", c, name, off, m.ID))
				}
			}
			if spare > 0 {
				s.rep.DuplicateReminders += spare
			}
			delete(late, slot{string(m.ID), who, 0})
		}
	}
	// Reminders for meetings that are not confirmed, or to someone who does not attend.
	for k, c := range got {
		s.rep.RemindersUnexpected += c
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("unexpected reminder: %d× %s before %s to %s", c, k.offset, k.meeting, k.person))
	}
	for k, c := range late {
		s.rep.RemindersUnexpected += c
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("unexpected late reminder: %d× for %s to %s", c, k.meeting, k.person))
	}
	for _, pr := range s.pairs {
		if pr.failed != "" {
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("pair of %s: %s", pr.staff.name, pr.failed))
		}
	}
	for _, x := range s.proposals {
		if x.viaList {
			s.rep.Notes = append(s.rep.Notes, "the adviser found request "+x.meeting+" in 面談一覧: its ping did not come within 40 s")
		}
	}
	for _, pr := range s.pairs {
		if pr.viaView {
			s.rep.Notes = append(s.rep.Notes, "the requester found the proposal for "+pr.meeting+" with 詳細: its push did not come within 30 s")
		}
	}
	// The meeting's other pushes (informational): the adviser's request ping and
	// confirmation card, the requester's proposal.
	for _, m := range meetings {
		if m.Status != bot.MeetingConfirmed && m.Status != bot.MeetingHeld {
			continue
		}
		for _, want := range []struct {
			who          bot.PersonID
			what, action string
		}{{m.AdviserPerson, "request ping", "meeting.propose"}, {m.Requester, "proposal", "meeting.paccept"}, {m.AdviserPerson, "confirmation card", "meeting.reschedule"}} {
			s.rep.MeetingPushes++
			if pushes[slot{string(m.ID), want.who, 0}][want.action] == 0 {
				s.rep.MeetingPushesMissing++
				s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("meeting %s: no %s in the inbox of %s", m.ID, want.what, want.who))
			}
		}
	}
	return nil
}

// personID reads the person of the web session from Redis (the cookie names the tenant
// and the session token).
func (p *person) personID(ctx context.Context, rdb *redis.Client) (bot.PersonID, error) {
	u, _ := url.Parse(p.url("/"))
	for _, c := range p.http.Jar.Cookies(u) {
		if c.Name != "kakehashi_session" {
			continue
		}
		tenant, token, _ := strings.Cut(c.Value, ".")
		raw, err := rdb.Get(ctx, "t:{"+tenant+"}:sess:"+token).Bytes()
		if err != nil {
			return "", err
		}
		var sess store.Session
		if err := json.Unmarshal(raw, &sess); err != nil {
			return "", err
		}
		return sess.Person, nil
	}
	return "", errors.New("no session")
}

// fullInbox is the person's whole inbox, as GET /web/api/inbox?after=0 returns it.
func (p *person) fullInbox() ([]store.InboxItem, error) {
	var err error
	for range 20 {
		var res *http.Response
		res, err = p.http.Get(p.url("/web/api/inbox?after=0"))
		if err != nil {
			time.Sleep(500 * time.Millisecond)
			continue
		}
		var body struct {
			Messages []store.InboxItem `json:"messages"`
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			err = fmt.Errorf("%d %s", res.StatusCode, raw)
			time.Sleep(500 * time.Millisecond)
			continue
		}
		if err = json.Unmarshal(raw, &body); err == nil {
			return body.Messages, nil
		}
	}
	return nil, err
}
