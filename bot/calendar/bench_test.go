package calendar_test

import (
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot/calendar"
)

// BenchmarkFindSlots searches a year (Horizon 365 days) of an adviser's weekly windows with 50
// busy meetings of either side.
//
//   - typical: slots exist early; the search stops once Max days have room.
//   - sparse: the monthly cap is used up until the last month, so the whole year is walked
//     (every day's windows, holidays and busy meetings checked) before slots are found.
func BenchmarkFindSlots(b *testing.B) {
	now := at(2026, 4, 1, 9, 0)
	adviser := mustWindows(b, "平日 18:00-21:00, 土 9:00-13:00")
	busy := make([]calendar.Interval, 50)
	for i := range busy {
		// Spread over the year, on adviser evenings and Saturday mornings alike.
		st := now.AddDate(0, 0, 1+i*7).Add(time.Duration(9+i%12) * time.Hour)
		busy[i] = calendar.Interval{Start: st, End: st.Add(90 * time.Minute)}
	}
	cal := calendar.New()
	last := now.AddDate(0, 11, 0)
	cases := []struct {
		name string
		cap  func(int, time.Month) int
	}{
		{"typical", nil},
		{"sparse", func(y int, m time.Month) int {
			if y == last.Year() && m == last.Month() {
				return 600
			}
			return 0
		}},
	}
	for _, c := range cases {
		req := calendar.SlotRequest{
			Now: now, Horizon: 365 * 24 * time.Hour, AdviserWindows: adviser, Busy: busy,
			RemainingMinutes: c.cap, Calendar: cal,
		}
		if n := len(calendar.FindSlots(req)); n != calendar.DefaultMaxSlots {
			b.Fatalf("%s: %d slots; want %d", c.name, n, calendar.DefaultMaxSlots)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				calendar.FindSlots(req)
			}
		})
	}
}
