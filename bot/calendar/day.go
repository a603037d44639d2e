package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

// day is a calendar date in Asia/Tokyo. Holiday rules are about dates, not instants, so the
// tables are keyed by day rather than by time.Time (whose == also compares locations).
type day struct {
	y int
	m time.Month
	d int
}

// dayOf returns the Tokyo date of t.
func dayOf(t time.Time) day {
	y, m, d := t.In(bot.Tokyo).Date()
	return day{y, m, d}
}

// midnight returns the start of the day in Tokyo. Asia/Tokyo has had no daylight saving time
// since 1951, so every day is exactly 24 hours long and minute offsets from midnight are exact.
func (d day) midnight() time.Time {
	return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, bot.Tokyo)
}

// add returns the date n days later (earlier when n < 0); time.Date normalises the overflow.
func (d day) add(n int) day {
	y, m, dd := time.Date(d.y, d.m, d.d+n, 12, 0, 0, 0, time.UTC).Date()
	return day{y, m, dd}
}

func (d day) weekday() time.Weekday {
	return time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Weekday()
}

func (d day) before(e day) bool {
	if d.y != e.y {
		return d.y < e.y
	}
	if d.m != e.m {
		return d.m < e.m
	}
	return d.d < e.d
}

// weekdayJA and weekdayEN are the short names people read in chat, indexed by time.Weekday.
var (
	weekdayJA = [7]string{"日", "月", "火", "水", "木", "金", "土"}
	weekdayEN = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
)

// clock formats minutes from midnight as 19:00; 1440 is shown as 24:00 so that a window
// ending at midnight stays on its own day.
func clock(min int) string {
	return fmt.Sprintf("%02d:%02d", min/60, min%60)
}

// dateLabel formats t as 11/28(土) 19:00 (Japanese) or Sat 11/28 19:00 (English).
func dateLabel(t time.Time, lang bot.Lang) string {
	t = t.In(bot.Tokyo)
	hm := clock(t.Hour()*60 + t.Minute())
	if lang == bot.LangEN {
		return fmt.Sprintf("%s %d/%d %s", weekdayEN[t.Weekday()], int(t.Month()), t.Day(), hm)
	}
	return fmt.Sprintf("%d/%d(%s) %s", int(t.Month()), t.Day(), weekdayJA[t.Weekday()], hm)
}

// fold maps full-width ASCII (０-９, ：, ／, Ａ-Ｚ …) and the ideographic space to ASCII and
// lower-cases Latin letters, because people type dates with the Japanese IME switched on.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// invalid returns the person-facing error every parser in this package uses.
func invalid(format string, args ...any) error {
	return bot.Errorf(bot.EINVALID, format, args...)
}
