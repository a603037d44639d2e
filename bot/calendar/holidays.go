package calendar

import (
	"sync"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/jp"
)

// Names of the days this package derives itself, so callers can recognise them.
const (
	// SubstituteHoliday is the weekday after a national holiday that fell on a Sunday (法 §3②).
	SubstituteHoliday = "振替休日"
	// CitizensHoliday is a day sandwiched between two national holidays (法 §3③).
	CitizensHoliday = "国民の休日"
	// YearEndClosing names 12/29–1/3, when municipal offices are closed by ordinance
	// (行政機関の休日に関する法律 and each municipality's 休日条例), although they are not national holidays.
	YearEndClosing = "年末年始閉庁日"
)

// national maps rickar's rules to the names people in Japanese offices use. The 2019
// one-offs are included so that 4/30 and 5/2 of 2019 come out as 国民の休日 by the normal
// rule; rickar's own entries for those (and for 9/22 of 2026) are left out because the rule
// derives them.
var national = [...]struct {
	rule *cal.Holiday
	name string
}{
	{jp.NewYear, "元日"},
	{jp.ComingOfAgeDay, "成人の日"},
	{jp.NationalFoundationDay, "建国記念の日"},
	{jp.TheEmperorsBirthday, "天皇誕生日"},
	{jp.VernalEquinoxDay, "春分の日"},
	{jp.ShowaDay, "昭和の日"},
	{jp.ConstitutionMemorialDay, "憲法記念日"},
	{jp.GreeneryDay, "みどりの日"},
	{jp.ChildrensDay, "こどもの日"},
	{jp.MarineDay, "海の日"},
	{jp.MountainDay, "山の日"},
	{jp.RespectForTheAgedDay, "敬老の日"},
	{jp.AutumnalEquinoxDay, "秋分の日"},
	{jp.SportsDay, "スポーツの日"},
	{jp.CultureDay, "文化の日"},
	{jp.LaborThanksgivingDay, "勤労感謝の日"},
	{jp.TheNewEmperorEnthronementDay, "天皇の即位の日"},
	{jp.TheNewEmperorEnthronementCeremony, "即位礼正殿の儀の行われる日"},
}

// Override records an announced change to the calendar, e.g. a corrected equinox date, a
// one-off national holiday, or a municipality's own closing day. Overrides exist because
// the holiday law changes by statute and the equinoxes are only fixed a year ahead.
type Override struct {
	// Date is the day in Asia/Tokyo; the clock time is ignored.
	Date time.Time
	// Name is the holiday or closing day's name. Empty means "休日" (or "閉庁日" with Closing).
	Name string
	// Closing marks a municipal closing day: Closed reports it, but it is not a national
	// holiday and takes no part in the substitute-holiday rules.
	Closing bool
	// Remove makes Date an ordinary day: it drops the national holiday, any substitute or
	// citizens' holiday and any closing day on that date. Removing a Sunday holiday also
	// drops the substitute holiday it would have caused.
	Remove bool
}

// Calendar answers "is this day a holiday / are the offices closed" for Japanese municipal
// offices. The zero value is ready to use (national holidays and year-end closing, no
// overrides). It is safe for concurrent use; results are computed per year on first use
// and cached. A Calendar must not be copied after first use.
type Calendar struct {
	overrides map[day]Override

	mu    sync.Mutex
	years map[int]map[day]string
}

// New returns a Calendar with the given overrides applied. When several overrides name the
// same day, the last one wins, so a table can be appended to as announcements arrive.
func New(overrides ...Override) *Calendar {
	c := &Calendar{}
	if len(overrides) > 0 {
		c.overrides = make(map[day]Override, len(overrides))
		for _, o := range overrides {
			c.overrides[dayOf(o.Date)] = o
		}
	}
	return c
}

// Holiday reports whether d's date in Asia/Tokyo is a national holiday (国民の祝日), a
// 振替休日 or a 国民の休日, or an added holiday override, and returns its Japanese name.
func (c *Calendar) Holiday(d time.Time) (name string, ok bool) {
	dd := dayOf(d)
	name, ok = c.holidays(dd.y)[dd]
	return name, ok
}

// Closed reports whether municipal offices are closed on d's date for a reason other than the
// weekend: a holiday (its name is returned), a closing-day override, or 12/29–1/3.
func (c *Calendar) Closed(d time.Time) (reason string, closed bool) {
	dd := dayOf(d)
	if name, ok := c.holidays(dd.y)[dd]; ok {
		return name, true
	}
	if o, ok := c.overrides[dd]; ok {
		if o.Remove {
			return "", false
		}
		if o.Closing {
			if o.Name == "" {
				return "閉庁日", true
			}
			return o.Name, true
		}
	}
	if (dd.m == time.December && dd.d >= 29) || (dd.m == time.January && dd.d <= 3) {
		return YearEndClosing, true
	}
	return "", false
}

// IsBusinessDay reports whether d's date is a weekday on which the offices are open. Meetings
// may still be held on Saturdays (see DefaultTenantHours); this is for deadlines such as
// "reply by the next business day".
func (c *Calendar) IsBusinessDay(d time.Time) bool {
	switch dayOf(d).weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	_, closed := c.Closed(d)
	return !closed
}

// NextBusinessDay returns midnight (Asia/Tokyo) of the first business day strictly after d's date.
func (c *Calendar) NextBusinessDay(d time.Time) time.Time {
	dd := dayOf(d)
	for {
		dd = dd.add(1)
		t := dd.midnight()
		if c.IsBusinessDay(t) {
			return t
		}
	}
}

// holidays returns the holidays of year y. The returned map is never written after it is
// cached, so callers may read it without the lock.
func (c *Calendar) holidays(y int) map[day]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.years[y]; ok {
		return h
	}
	h := c.compute(y)
	if c.years == nil {
		c.years = make(map[int]map[day]string)
	}
	c.years[y] = h
	return h
}

// compute derives year y's holidays. The neighbouring years take part because a Sunday
// holiday on 12/31 (only possible by override) moves into January and 1/1 sandwiches 12/31.
func (c *Calendar) compute(y int) map[day]string {
	// 国民の祝日 of y-1..y+1, with overrides applied, so that the derived days see them.
	base := make(map[day]string, 60)
	for yy := y - 1; yy <= y+1; yy++ {
		addNational(base, yy)
	}
	for d, o := range c.overrides {
		if d.y < y-1 || d.y > y+1 {
			continue
		}
		switch {
		case o.Remove:
			delete(base, d)
		case o.Closing:
		case o.Name == "":
			base[d] = "休日"
		default:
			base[d] = o.Name
		}
	}

	out := make(map[day]string, 24)
	for d, name := range base {
		if d.y == y {
			out[d] = name
		}
	}
	// 振替休日: 「国民の祝日」が日曜日に当たるときは、その日後においてその日に最も近い
	// 「国民の祝日」でない日を休日とする。 (So 5/3 on a Sunday moves to 5/6.)
	for d := range base {
		if d.weekday() != time.Sunday {
			continue
		}
		s := d.add(1)
		for {
			if _, ok := base[s]; !ok {
				break
			}
			s = s.add(1)
		}
		if s.y == y {
			out[s] = SubstituteHoliday
		}
	}
	// 国民の休日: その前日及び翌日が「国民の祝日」である日（「国民の祝日」でない日に限る。）
	for d := range base {
		mid, next := d.add(1), d.add(2)
		if mid.y != y {
			continue
		}
		if _, ok := base[mid]; ok {
			continue
		}
		if _, ok := base[next]; !ok {
			continue
		}
		if _, ok := out[mid]; ok { // already a 振替休日
			continue
		}
		out[mid] = CitizensHoliday
	}
	for d, o := range c.overrides {
		if o.Remove {
			delete(out, d)
		}
	}
	return out
}

// addNational adds year y's 国民の祝日 (without substitutes) to m.
func addNational(m map[day]string, y int) {
	// The law took effect in July 1948; the equinox formula rickar uses ends in 2150.
	if y < 1949 || y > 2150 {
		return
	}
	for _, n := range national {
		// Calc on a clone: rickar's VernalEquinoxDay rule writes the computed day into the
		// *Holiday it is called on, which would be a data race on the shared package variable.
		actual, _ := n.rule.Clone(nil).Calc(y)
		if actual.IsZero() {
			continue
		}
		yy, mm, dd := actual.Date()
		m[day{yy, mm, dd}] = n.name
	}
	// Special laws that rickar does not model.
	switch y {
	case 2019:
		// The Emperor changed on 5/1/2019: no 天皇誕生日 on 12/23/2019, and 2/23 starts in 2020.
		delete(m, day{2019, time.December, 23})
	case 2020:
		// Olympics special measures law: 山の日 moved to 8/10 (2020) and 8/8 (2021).
		delete(m, day{2020, time.August, 11})
		m[day{2020, time.August, 10}] = "山の日"
	case 2021:
		delete(m, day{2021, time.August, 11})
		m[day{2021, time.August, 8}] = "山の日"
	}
}
