package calendar

import (
	"fmt"
	"slices"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

// Interval is a half-open span of time [Start, End), e.g. a meeting that blocks a slot.
// Half-open so that a meeting ending at 20:00 does not block one starting at 20:00.
type Interval struct {
	Start, End time.Time
}

// Slot is one candidate meeting time offered to the requester.
type Slot struct {
	Start, End time.Time
}

// Label renders the slot for a chat button: "11/28(土) 10:00–11:00" in Japanese,
// "Sat 11/28 10:00–11:00" in English. Times are shown in Asia/Tokyo.
func (s Slot) Label(lang bot.Lang) string {
	end := s.End.In(bot.Tokyo)
	return dateLabel(s.Start, lang) + "–" + clock(end.Hour()*60+end.Minute())
}

// Defaults applied by FindSlots to zero fields of SlotRequest.
const (
	DefaultHorizon  = 21 * 24 * time.Hour
	DefaultDuration = time.Hour
	DefaultLeadTime = 24 * time.Hour
	DefaultMinSlots = 5
	DefaultMaxSlots = 8
)

// SlotRequest describes one scheduling poll (SPEC §6). Zero fields take the defaults above.
type SlotRequest struct {
	// Now is the current time; slots are computed relative to it, never to the wall clock.
	Now time.Time
	// Horizon is how far ahead slots may start (default 21 days).
	Horizon time.Duration
	// Duration is the meeting length (default 60 minutes).
	Duration time.Duration
	// AdviserWindows is the adviser's weekly availability.
	AdviserWindows []Window
	// TenantHours is when the municipality holds meetings; empty means DefaultTenantHours().
	TenantHours []Window
	// Busy holds the existing meetings of either side; a slot overlapping one is not offered.
	Busy []Interval
	// LeadTime is the minimum notice: slots start at or after Now+LeadTime (default 24 h;
	// a negative value means no minimum).
	LeadTime time.Duration
	// RemainingMinutes reports how many minutes of the adviser's monthly cap are left in a
	// month (Asia/Tokyo). A slot is offered only if its Duration fits into what is left in the
	// month it starts in. The cap resets monthly, so for a later month this is normally the
	// full cap minus meetings already booked in that month. Each slot is checked on its own
	// because only one of the offered slots becomes a meeting. Nil means no cap.
	RemainingMinutes func(year int, month time.Month) int
	// Min and Max bound the number of slots returned (defaults 5 and 8).
	Min, Max int
	// Calendar supplies holidays and closing days; nil means New() (no overrides).
	Calendar *Calendar
}

// FindSlots returns up to Max candidate slots, in chronological order: adviser windows ∩
// tenant hours, starting on the hour or half hour, excluding national holidays and closing
// days, busy meetings, slots inside the lead time or beyond the horizon, and slots the
// monthly cap cannot pay for.
//
// The slots are spread over days so that the requester has real alternatives: first one slot
// on each of the earliest days with room (up to Max days), then a second slot on those days,
// earliest days first, until Max. Only when that still gives fewer than Min slots (too few
// days have room) are more slots taken from the same days. Within a day, a further slot is
// as far as possible from the ones already chosen, so it does not overlap them when it can
// avoid it and a long day yields a morning and an evening option. Fewer than Min slots come
// back only when fewer exist; the caller should then suggest a longer horizon or other windows.
//
// Starts are aligned to :00 and :30 because people read and pick such times at a glance and
// both sides' other meetings usually start on them too.
func FindSlots(req SlotRequest) []Slot {
	horizon := cmpOr(req.Horizon, DefaultHorizon)
	dur := cmpOr(req.Duration, DefaultDuration)
	lead := req.LeadTime
	switch {
	case lead == 0:
		lead = DefaultLeadTime
	case lead < 0:
		lead = 0
	}
	maxN := cmpOr(req.Max, DefaultMaxSlots)
	minN := min(cmpOr(req.Min, DefaultMinSlots), maxN)
	tenant := req.TenantHours
	if len(tenant) == 0 {
		tenant = DefaultTenantHours()
	}
	cal := req.Calendar
	if cal == nil {
		cal = New()
	}

	avail := intersect(normalizeWindows(req.AdviserWindows), normalizeWindows(tenant))
	busy := mergeBusy(req.Busy)
	durMin := int((dur + time.Minute - 1) / time.Minute)
	earliest := req.Now.Add(lead)
	latest := req.Now.Add(horizon)

	var (
		days      []daySlots
		bi        int // busy[:bi] end before the current candidate
		remaining = map[day]int{}
	)
	// Once Max days have room, later days could not be chosen (see choose), so stop there:
	// a year-long horizon then costs no more than the first weeks that have room.
	for d := dayOf(earliest); !latest.Before(d.midnight()) && len(days) < maxN; d = d.add(1) {
		spans := avail[d.weekday()]
		if len(spans) == 0 {
			continue
		}
		midnight := d.midnight()
		if _, closed := cal.Closed(midnight); closed {
			continue
		}
		if req.RemainingMinutes != nil {
			month := day{d.y, d.m, 1}
			left, ok := remaining[month]
			if !ok {
				left = req.RemainingMinutes(d.y, d.m)
				remaining[month] = left
			}
			if left < durMin {
				continue
			}
		}
		var cands []Slot
		for _, sp := range spans {
			for m := (sp.start + 29) / 30 * 30; m+durMin <= sp.end; m += 30 {
				st := midnight.Add(time.Duration(m) * time.Minute)
				if st.Before(earliest) || !st.Before(latest) {
					continue
				}
				en := st.Add(dur)
				for bi < len(busy) && !busy[bi].End.After(st) {
					bi++
				}
				if bi < len(busy) && busy[bi].Start.Before(en) {
					continue
				}
				cands = append(cands, Slot{Start: st, End: en})
			}
		}
		if len(cands) > 0 {
			days = append(days, daySlots{cands: cands})
		}
	}
	return choose(days, minN, maxN)
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// span is a range of minutes within one day.
type span struct{ start, end int }

// intersect returns, per weekday, the ranges covered by both a and b (both normalised).
func intersect(a, b []Window) [7][]span {
	var out [7][]span
	for _, x := range a {
		for _, y := range b {
			if x.Weekday != y.Weekday {
				continue
			}
			s, e := max(x.Start, y.Start), min(x.End, y.End)
			if s < e {
				out[x.Weekday] = append(out[x.Weekday], span{s, e})
			}
		}
	}
	// Normalised inputs are sorted and disjoint per day, so pairwise intersections are too,
	// but they come out in a's-then-b's order; sort by start.
	for i := range out {
		slices.SortFunc(out[i], func(p, q span) int { return p.start - q.start })
	}
	return out
}

// mergeBusy sorts busy intervals and merges overlapping ones, so that FindSlots can sweep
// them once alongside the chronologically generated candidates.
func mergeBusy(in []Interval) []Interval {
	bs := make([]Interval, 0, len(in))
	for _, b := range in {
		if b.End.After(b.Start) {
			bs = append(bs, b)
		}
	}
	slices.SortFunc(bs, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	out := bs[:0]
	for _, b := range bs {
		if n := len(out); n > 0 && !b.Start.After(out[n-1].End) {
			if b.End.After(out[n-1].End) {
				out[n-1].End = b.End
			}
			continue
		}
		out = append(out, b)
	}
	return out
}

// daySlots holds the candidates of one day and which of them were chosen.
type daySlots struct {
	cands  []Slot
	picked []int
}

// choose spreads the picks over days as FindSlots documents.
func choose(days []daySlots, minN, maxN int) []Slot {
	n := 0
	for i := range days { // one per day
		if n == maxN {
			break
		}
		if days[i].pick() {
			n++
		}
	}
	for i := range days { // a second per day (this pass visits each day once)
		if n == maxN {
			break
		}
		if days[i].pick() {
			n++
		}
	}
	for progress := true; n < minN && progress; { // too few days: more per day
		progress = false
		for i := range days {
			if n >= minN {
				break
			}
			if days[i].pick() {
				n++
				progress = true
			}
		}
	}
	out := make([]Slot, 0, n)
	for _, d := range days {
		for _, i := range d.picked {
			out = append(out, d.cands[i])
		}
	}
	slices.SortFunc(out, func(a, b Slot) int { return a.Start.Compare(b.Start) })
	return out
}

// pick chooses one more candidate of the day: the earliest first, then the one farthest
// from those already chosen (the largest minimum distance; ties go to the earlier). All
// candidates have the same length, so two overlap exactly when their starts are closer than
// that length; maximising the distance therefore avoids overlaps whenever possible. It
// reports false when every candidate is taken.
func (d *daySlots) pick() bool {
	if len(d.picked) == len(d.cands) {
		return false
	}
	if len(d.picked) == 0 {
		d.picked = append(d.picked, 0)
		return true
	}
	best, bestDist := -1, time.Duration(-1)
	for i, c := range d.cands {
		if slices.Contains(d.picked, i) {
			continue
		}
		dist := time.Duration(1<<63 - 1)
		for _, j := range d.picked {
			dist = min(dist, absDur(c.Start.Sub(d.cands[j].Start)))
		}
		if dist > bestDist {
			best, bestDist = i, dist
		}
	}
	d.picked = append(d.picked, best)
	return true
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// String is for test failure messages and logs.
func (s Slot) String() string {
	return fmt.Sprintf("%s–%s", s.Start.In(bot.Tokyo).Format("2006-01-02 15:04"), s.End.In(bot.Tokyo).Format("15:04"))
}
