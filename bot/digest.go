package bot

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// DigestNeed is one need line of the digest.
type DigestNeed struct {
	ID       NeedID
	Title    string
	Status   NeedStatus
	Priority int
	// Days is how long the need has been in its status.
	Days int
}

// AdviserHours is one adviser's hours this month against the cap.
type AdviserHours struct {
	Name  string
	Hours float64
	Cap   float64
}

// WeekCounts are the needs by status at the end of one week (for the chart).
type WeekCounts struct {
	WeekStart time.Time
	ByStatus  map[NeedStatus]int
}

// DigestInput is what the weekly digest is built from. Sections whose data a
// deployment does not have yet stay zero.
type DigestInput struct {
	Tenant    *Tenant
	WeekStart time.Time // Monday 00:00 Asia/Tokyo of the week the digest reports on
	Now       time.Time
	Needs     []*Need
	// Meetings held in the week and planned in the next week.
	MeetingsHeld, MeetingsPlanned    int
	MeetingsHeldPrev                 int
	AdviserHours                     []AdviserHours
	Introductions, IntroductionsPrev int
	UsefulnessSum                    float64
	UsefulnessCount                  int
}

// Digest is the weekly summary for the mayor (SPEC §7).
type Digest struct {
	Tenant             TenantID
	TenantName         string
	WeekStart, WeekEnd time.Time
	New, NewPrev       int
	Open, OpenPrev     int
	Done, DonePrev     int
	Top                []DigestNeed
	TopMore            int
	Stuck              []DigestNeed
	StuckMore          int
	Decisions          []DigestNeed
	DecisionsMore      int
	MeetingsHeld       int
	MeetingsHeldPrev   int
	MeetingsPlanned    int
	AdviserHours       []AdviserHours
	Introductions      int
	IntroductionsPrev  int
	Usefulness         float64
	UsefulnessCount    int
	Weeks              []WeekCounts
}

// StatusAt returns the need's status at t from its history, or "" when it did not exist yet.
func StatusAt(n *Need, t time.Time) NeedStatus {
	if n.CreatedAt.After(t) {
		return ""
	}
	st := NeedNew
	if len(n.History) > 0 && n.History[0].To != "" {
		st = n.History[0].To
	}
	for _, h := range n.History {
		if h.At.After(t) {
			break
		}
		if h.Action == "status" || h.Action == "filed" {
			if h.To != "" {
				st = h.To
			}
		}
	}
	return st
}

// BuildDigest computes the digest; it is pure so it can be tested and benchmarked alone.
func BuildDigest(in DigestInput) *Digest {
	ws := in.WeekStart
	we := ws.AddDate(0, 0, 7)
	prev := ws.AddDate(0, 0, -7)
	d := &Digest{WeekStart: ws, WeekEnd: we, MeetingsHeld: in.MeetingsHeld, MeetingsHeldPrev: in.MeetingsHeldPrev,
		MeetingsPlanned: in.MeetingsPlanned, AdviserHours: in.AdviserHours, Introductions: in.Introductions,
		IntroductionsPrev: in.IntroductionsPrev, UsefulnessCount: in.UsefulnessCount}
	if in.Tenant != nil {
		d.Tenant, d.TenantName = in.Tenant.ID, in.Tenant.Name
	}
	if in.UsefulnessCount > 0 {
		d.Usefulness = in.UsefulnessSum / float64(in.UsefulnessCount)
	}
	var weights map[string]int
	if in.Tenant != nil {
		weights = in.Tenant.PriorityWeights
	}
	var top, stuck, dec []DigestNeed
	for _, n := range in.Needs {
		if !n.CreatedAt.Before(ws) && n.CreatedAt.Before(we) {
			d.New++
		}
		if !n.CreatedAt.Before(prev) && n.CreatedAt.Before(ws) {
			d.NewPrev++
		}
		if s := StatusAt(n, we); s != "" && s.Open() {
			d.Open++
		}
		if s := StatusAt(n, ws); s != "" && s.Open() {
			d.OpenPrev++
		}
		for _, h := range n.History {
			if h.Action == "status" && h.To == NeedDone {
				if !h.At.Before(ws) && h.At.Before(we) {
					d.Done++
				} else if !h.At.Before(prev) && h.At.Before(ws) {
					d.DonePrev++
				}
			}
		}
		if !n.Status.Open() {
			continue
		}
		dn := DigestNeed{ID: n.ID, Title: n.Title, Status: n.Status, Priority: ComputePriority(n, weights, in.Now, LangJA).Score,
			Days: int(in.Now.Sub(n.StatusAt).Hours() / 24)}
		top = append(top, dn)
		if dn.Days > 14 {
			stuck = append(stuck, dn)
		}
		if n.ExecDecision {
			dec = append(dec, dn)
		}
	}
	byPrio := func(s []DigestNeed) {
		sort.SliceStable(s, func(i, j int) bool {
			if s[i].Priority != s[j].Priority {
				return s[i].Priority > s[j].Priority
			}
			return s[i].ID < s[j].ID
		})
	}
	byPrio(top)
	byPrio(dec)
	sort.SliceStable(stuck, func(i, j int) bool { return stuck[i].Days > stuck[j].Days })
	d.Top, d.TopMore = cut(top, 5)
	d.Stuck, d.StuckMore = cut(stuck, 3)
	d.Decisions, d.DecisionsMore = cut(dec, 3)
	for i := 7; i >= 0; i-- {
		wStart := ws.AddDate(0, 0, -7*i)
		end := wStart.AddDate(0, 0, 7)
		wc := WeekCounts{WeekStart: wStart, ByStatus: map[NeedStatus]int{}}
		for _, n := range in.Needs {
			if s := StatusAt(n, end); s != "" {
				wc.ByStatus[s]++
			}
		}
		d.Weeks = append(d.Weeks, wc)
	}
	return d
}

func cut(s []DigestNeed, n int) ([]DigestNeed, int) {
	if len(s) <= n {
		return s, 0
	}
	return s[:n], len(s) - n
}

func delta(cur, prev int, lang Lang) string {
	diff := cur - prev
	sign := "±"
	if diff > 0 {
		sign = "+"
	} else if diff < 0 {
		sign = "−"
		diff = -diff
	}
	if lang == LangEN {
		return strconv.Itoa(cur) + " (" + sign + strconv.Itoa(diff) + " vs last week)"
	}
	return strconv.Itoa(cur) + "件（前週比 " + sign + strconv.Itoa(diff) + "）"
}

// Reply renders the digest as one screen: numbers first, then the few items that need attention.
func (d *Digest) Reply(lang Lang) Reply {
	en := lang == LangEN
	T := func(ja, e string) string {
		if en {
			return e
		}
		return ja
	}
	period := d.WeekStart.In(Tokyo).Format("1/2") + "〜" + d.WeekEnd.AddDate(0, 0, -1).In(Tokyo).Format("1/2")
	r := Reply{Kind: "digest", Text: T(d.TenantName+" 週次ダイジェスト（"+period+"）", d.TenantName+" weekly digest ("+period+")")}
	add := func(l, v string) { r.Fields = append(r.Fields, Field{Label: l, Value: v}) }
	add(T("新規ニーズ", "New needs"), delta(d.New, d.NewPrev, lang))
	add(T("対応中", "Open"), delta(d.Open, d.OpenPrev, lang))
	add(T("完了", "Done"), delta(d.Done, d.DonePrev, lang))
	add(T("優先度上位", "Top priorities"), needLines(d.Top, d.TopMore, lang, true))
	if len(d.Stuck) > 0 {
		add(T("14日以上停滞", "Stuck > 14 days"), needLines(d.Stuck, d.StuckMore, lang, false))
	}
	if len(d.Decisions) > 0 {
		add(T("首長判断待ち", "Waiting for your decision"), needLines(d.Decisions, d.DecisionsMore, lang, true))
	}
	// The digest reports on the week just ended; "planned" is the week it is read in.
	add(T("面談", "Meetings"), T("実施 "+delta(d.MeetingsHeld, d.MeetingsHeldPrev, lang)+" / 今週の予定 "+strconv.Itoa(d.MeetingsPlanned)+"件",
		"held "+delta(d.MeetingsHeld, d.MeetingsHeldPrev, lang)+" / "+strconv.Itoa(d.MeetingsPlanned)+" planned this week"))
	if len(d.AdviserHours) > 0 {
		var lines []string
		for _, a := range d.AdviserHours {
			lines = append(lines, a.Name+" "+strconv.FormatFloat(a.Hours, 'f', 1, 64)+"/"+strconv.FormatFloat(a.Cap, 'f', 0, 64)+T("時間", "h"))
		}
		add(T("アドバイザー稼働（今月）", "Adviser hours this month"), strings.Join(lines, "\n"))
	}
	add(T("候補者紹介", "Candidates introduced"), delta(d.Introductions, d.IntroductionsPrev, lang))
	if d.UsefulnessCount > 0 {
		add(T("面談の満足度", "Meeting usefulness"), strconv.FormatFloat(d.Usefulness, 'f', 1, 64)+" / 5"+T("（"+strconv.Itoa(d.UsefulnessCount)+"件）", " ("+strconv.Itoa(d.UsefulnessCount)+")"))
	}
	return r
}

func needLines(ns []DigestNeed, more int, lang Lang, prio bool) string {
	if len(ns) == 0 {
		if lang == LangEN {
			return "none"
		}
		return "なし"
	}
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("#" + strconv.FormatInt(int64(n.ID), 10) + " " + n.Title + "（" + n.Status.Name(lang))
		if prio {
			b.WriteString(" " + strconv.Itoa(n.Priority))
		} else if lang == LangEN {
			b.WriteString(" " + strconv.Itoa(n.Days) + " days")
		} else {
			b.WriteString(" " + strconv.Itoa(n.Days) + "日")
		}
		b.WriteString("）")
	}
	if more > 0 {
		if lang == LangEN {
			b.WriteString("\n+" + strconv.Itoa(more) + " more")
		} else {
			b.WriteString("\nほか" + strconv.Itoa(more) + "件")
		}
	}
	return b.String()
}
