package calendar_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, bot.Tokyo)
}

func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, bot.Tokyo)
}

// holidaysOf lists every day of year y that c reports as a holiday, keyed "MM-DD".
func holidaysOf(c *calendar.Calendar, y int) map[string]string {
	got := map[string]string{}
	for d := date(y, 1, 1); d.Year() == y; d = d.AddDate(0, 0, 1) {
		if name, ok := c.Holiday(d); ok {
			got[d.Format("01-02")] = name
		}
	}
	return got
}

// The official lists (内閣府「国民の祝日について」). 2027 and 2028 equinoxes are the
// 国立天文台 暦要項 dates (2027: 3/21 Sun, 9/23 Thu; 2028: 3/20 Mon, 9/22 Fri).
var officialHolidays = map[int]map[string]string{
	2026: {
		"01-01": "元日", "01-12": "成人の日", "02-11": "建国記念の日", "02-23": "天皇誕生日",
		"03-20": "春分の日", "04-29": "昭和の日", "05-03": "憲法記念日", "05-04": "みどりの日",
		"05-05": "こどもの日", "05-06": "振替休日", "07-20": "海の日", "08-11": "山の日",
		"09-21": "敬老の日", "09-22": "国民の休日", "09-23": "秋分の日", "10-12": "スポーツの日",
		"11-03": "文化の日", "11-23": "勤労感謝の日",
	},
	2027: {
		"01-01": "元日", "01-11": "成人の日", "02-11": "建国記念の日", "02-23": "天皇誕生日",
		"03-21": "春分の日", "03-22": "振替休日", "04-29": "昭和の日", "05-03": "憲法記念日",
		"05-04": "みどりの日", "05-05": "こどもの日", "07-19": "海の日", "08-11": "山の日",
		"09-20": "敬老の日", "09-23": "秋分の日", "10-11": "スポーツの日", "11-03": "文化の日",
		"11-23": "勤労感謝の日",
	},
	2028: {
		// 1/1 and 4/29 fall on Saturdays: no substitute (only Sundays move).
		"01-01": "元日", "01-10": "成人の日", "02-11": "建国記念の日", "02-23": "天皇誕生日",
		"03-20": "春分の日", "04-29": "昭和の日", "05-03": "憲法記念日", "05-04": "みどりの日",
		"05-05": "こどもの日", "07-17": "海の日", "08-11": "山の日", "09-18": "敬老の日",
		"09-22": "秋分の日", "10-09": "スポーツの日", "11-03": "文化の日", "11-23": "勤労感謝の日",
	},
}

func TestHolidaysOfficialLists(t *testing.T) {
	c := calendar.New()
	for y, want := range officialHolidays {
		t.Run(fmt.Sprint(y), func(t *testing.T) {
			if diff := cmp.Diff(want, holidaysOf(c, y)); diff != "" {
				t.Errorf("holidays of %d (-want +got):\n%s", y, diff)
			}
		})
	}
}

// Days where rickar's own data is wrong or incomplete, so this package's rules matter.
func TestHolidaySpecialCases(t *testing.T) {
	c := calendar.New()
	tests := []struct {
		name string
		day  time.Time
		want string // "" means not a holiday
	}{
		{"2019 citizens' holiday before enthronement", date(2019, 4, 30), "国民の休日"},
		{"2019 enthronement day", date(2019, 5, 1), "天皇の即位の日"},
		{"2019 citizens' holiday after enthronement", date(2019, 5, 2), "国民の休日"},
		{"2019 children's day on Sunday", date(2019, 5, 6), "振替休日"},
		{"2019 enthronement ceremony", date(2019, 10, 22), "即位礼正殿の儀の行われる日"},
		{"2019 had no emperor's birthday", date(2019, 12, 23), ""},
		{"2020 mountain day moved for the Olympics", date(2020, 8, 10), "山の日"},
		{"2020 mountain day not on 8/11", date(2020, 8, 11), ""},
		{"2021 mountain day moved to Sunday 8/8", date(2021, 8, 8), "山の日"},
		{"2021 its substitute", date(2021, 8, 9), "振替休日"},
		{"2032 citizens' holiday", date(2032, 9, 21), "国民の休日"},
		{"2037 citizens' holiday beyond rickar's table", date(2037, 9, 22), "国民の休日"},
		{"2037 autumnal equinox", date(2037, 9, 23), "秋分の日"},
		{"2026 12/29 is a closing day, not a holiday", date(2026, 12, 29), ""},
		{"time of day is irrelevant", at(2026, 5, 6, 23, 59), "振替休日"},
		{"UTC instant on a Tokyo holiday", time.Date(2026, 5, 5, 20, 0, 0, 0, time.UTC), "振替休日"},
		{"UTC instant the evening before", time.Date(2026, 5, 2, 14, 59, 0, 0, time.UTC), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ok := c.Holiday(tt.day)
			if ok != (tt.want != "") || name != tt.want {
				t.Errorf("Holiday(%v) = %q, %v; want %q", tt.day, name, ok, tt.want)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	c := calendar.New()
	tests := []struct {
		day        time.Time
		wantReason string
	}{
		{date(2026, 12, 28), ""},
		{date(2026, 12, 29), "年末年始閉庁日"},
		{date(2026, 12, 31), "年末年始閉庁日"},
		{date(2027, 1, 1), "元日"},
		{date(2027, 1, 2), "年末年始閉庁日"},
		{date(2027, 1, 3), "年末年始閉庁日"},
		{date(2027, 1, 4), ""},
		{date(2026, 5, 6), "振替休日"},
		{date(2026, 9, 22), "国民の休日"},
		{date(2026, 11, 28), ""}, // an ordinary Saturday is not "closed"
	}
	for _, tt := range tests {
		reason, closed := c.Closed(tt.day)
		if closed != (tt.wantReason != "") || reason != tt.wantReason {
			t.Errorf("Closed(%s) = %q, %v; want %q", tt.day.Format("2006-01-02"), reason, closed, tt.wantReason)
		}
	}
}

func TestBusinessDays(t *testing.T) {
	c := calendar.New()
	tests := []struct {
		from, wantNext time.Time
	}{
		{date(2026, 12, 28), date(2027, 1, 4)}, // year-end closing, then the weekend
		{date(2026, 5, 1), date(2026, 5, 7)},   // Golden Week incl. 振替休日 5/6
		{date(2026, 7, 17), date(2026, 7, 21)}, // Friday before 海の日
		{date(2026, 9, 18), date(2026, 9, 24)}, // silver week 9/19–9/23
		{at(2026, 11, 20, 23, 30), date(2026, 11, 24)},
		{date(2027, 3, 19), date(2027, 3, 23)}, // 3/22 振替休日 for the Sunday equinox
	}
	for _, tt := range tests {
		got := c.NextBusinessDay(tt.from)
		if !got.Equal(tt.wantNext) || got.Location() != bot.Tokyo {
			t.Errorf("NextBusinessDay(%v) = %v; want %v", tt.from, got, tt.wantNext)
		}
	}
	for _, tt := range []struct {
		day  time.Time
		want bool
	}{
		{date(2026, 11, 24), true},
		{date(2026, 11, 23), false}, // 勤労感謝の日 (Monday)
		{date(2026, 11, 28), false}, // Saturday
		{date(2026, 11, 29), false}, // Sunday
		{date(2026, 12, 29), false}, // closing day (Tuesday)
	} {
		if got := c.IsBusinessDay(tt.day); got != tt.want {
			t.Errorf("IsBusinessDay(%s) = %v; want %v", tt.day.Format("2006-01-02"), got, tt.want)
		}
	}
}

func TestOverrides(t *testing.T) {
	c := calendar.New(
		// A Sunday holiday removed: its substitute on 5/6 must go too (5/4, 5/5 stay).
		calendar.Override{Date: date(2026, 5, 3), Remove: true},
		// A one-off national holiday on a Sunday gets a substitute on Monday.
		calendar.Override{Date: date(2027, 6, 13), Name: "臨時の祝日"},
		// A holiday that sandwiches a day creates a citizens' holiday (2028-11-22, Wed).
		calendar.Override{Date: date(2028, 11, 21), Name: "記念日"},
		// A municipality's own closing day is closed but not a holiday.
		calendar.Override{Date: date(2026, 10, 1), Name: "市制施行記念日", Closing: true},
		// An office open on 12/29.
		calendar.Override{Date: date(2026, 12, 29), Remove: true},
		// Corrected equinox: the later override for the same day wins.
		calendar.Override{Date: date(2027, 3, 21), Name: "wrong"},
		calendar.Override{Date: date(2027, 3, 21), Remove: true},
		calendar.Override{Date: date(2027, 3, 20), Name: "春分の日"},
	)
	tests := []struct {
		day         time.Time
		wantHoliday string
		wantClosed  string
	}{
		{date(2026, 5, 3), "", ""},
		{date(2026, 5, 4), "みどりの日", "みどりの日"},
		{date(2026, 5, 6), "", ""},
		{date(2027, 6, 13), "臨時の祝日", "臨時の祝日"},
		{date(2027, 6, 14), "振替休日", "振替休日"},
		{date(2028, 11, 22), "国民の休日", "国民の休日"},
		{date(2026, 10, 1), "", "市制施行記念日"},
		{date(2026, 12, 29), "", ""},
		{date(2026, 12, 30), "", "年末年始閉庁日"},
		{date(2027, 3, 20), "春分の日", "春分の日"},
		{date(2027, 3, 21), "", ""},
		{date(2027, 3, 22), "", ""}, // no Sunday holiday any more, so no 振替休日
	}
	for _, tt := range tests {
		name, _ := c.Holiday(tt.day)
		reason, _ := c.Closed(tt.day)
		if name != tt.wantHoliday || reason != tt.wantClosed {
			t.Errorf("%s: Holiday = %q, Closed = %q; want %q, %q", tt.day.Format("2006-01-02"), name, reason, tt.wantHoliday, tt.wantClosed)
		}
	}
	// Overrides belong to their Calendar only.
	if name, _ := calendar.New().Holiday(date(2026, 5, 3)); name != "憲法記念日" {
		t.Errorf("a fresh Calendar sees overrides of another: 2026-05-03 = %q", name)
	}
}

func TestZeroCalendar(t *testing.T) {
	var c calendar.Calendar
	if name, ok := c.Holiday(date(2026, 9, 22)); !ok || name != "国民の休日" {
		t.Errorf("zero Calendar: Holiday(2026-09-22) = %q, %v", name, ok)
	}
}

// TestConcurrentUse is meaningful under -race: the per-year cache and rickar's rules
// (one of which writes to its receiver) must not race.
func TestConcurrentUse(t *testing.T) {
	c := calendar.New()
	var wg sync.WaitGroup
	results := make([]map[string]string, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = holidaysOf(c, 2026+i%3)
			calendar.New().Holiday(date(2030+i, 3, 20))
		}()
	}
	wg.Wait()
	for i, got := range results {
		if diff := cmp.Diff(officialHolidays[2026+i%3], got); diff != "" {
			t.Errorf("goroutine %d (-want +got):\n%s", i, diff)
		}
	}
}
