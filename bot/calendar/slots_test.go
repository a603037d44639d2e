package calendar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
)

func mustWindows(t testing.TB, s string) []calendar.Window {
	t.Helper()
	ws, err := calendar.ParseWindows(s)
	if err != nil {
		t.Fatalf("ParseWindows(%q): %v", s, err)
	}
	return ws
}

// labels renders slots compactly ("2026-11-24 19:00-20:00") so that a diff reads well.
func labels(ss []calendar.Slot) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Start.In(bot.Tokyo).Format("2006-01-02 15:04") + "-" + s.End.In(bot.Tokyo).Format("15:04")
	}
	return out
}

func TestFindSlots(t *testing.T) {
	basic := "火 19:00-21:00, 土 10:00-12:00"
	tests := []struct {
		name string
		req  calendar.SlotRequest
		want []string
	}{
		{
			// Sat 11/21 is inside the 24 h lead time; 12/12 is beyond 21 days. Five days have
			// room, so each gets one slot and the earliest three a second, non-overlapping one.
			name: "spread over days",
			req:  calendar.SlotRequest{Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic)},
			want: []string{
				"2026-11-24 19:00-20:00", "2026-11-24 20:00-21:00",
				"2026-11-28 10:00-11:00", "2026-11-28 11:00-12:00",
				"2026-12-01 19:00-20:00", "2026-12-01 20:00-21:00",
				"2026-12-05 10:00-11:00",
				"2026-12-08 19:00-20:00",
			},
		},
		{
			// 4/29 昭和の日, 5/4–5/5 and 5/6 振替休日 are skipped.
			name: "golden week",
			req: calendar.SlotRequest{
				Now: at(2026, 4, 27, 9, 0), Horizon: 14 * 24 * time.Hour,
				AdviserWindows: mustWindows(t, "平日 19:00-21:00"),
			},
			want: []string{
				"2026-04-28 19:00-20:00", "2026-04-28 20:00-21:00",
				"2026-04-30 19:00-20:00", "2026-04-30 20:00-21:00",
				"2026-05-01 19:00-20:00", "2026-05-01 20:00-21:00",
				"2026-05-07 19:00-20:00",
				"2026-05-08 19:00-20:00",
			},
		},
		{
			// 12/29–1/3 are closed (1/2 is a Saturday the adviser would otherwise take).
			// 12/25 10:00 is exactly Now+24h and is offered. Eight days have room: one slot each.
			name: "year-end closing",
			req: calendar.SlotRequest{
				Now:            at(2026, 12, 24, 10, 0),
				AdviserWindows: mustWindows(t, "平日 10:00-12:00, 土 10:00-12:00"),
			},
			want: []string{
				"2026-12-25 10:00-11:00", "2026-12-26 10:00-11:00", "2026-12-28 10:00-11:00",
				"2027-01-04 10:00-11:00", "2027-01-05 10:00-11:00", "2027-01-06 10:00-11:00",
				"2027-01-07 10:00-11:00", "2027-01-08 10:00-11:00",
			},
		},
		{
			// 10/12 is スポーツの日. Only two Mondays remain, so a day gets a third slot to reach Min.
			name: "monday holiday and too few days",
			req: calendar.SlotRequest{
				Now:            at(2026, 10, 8, 12, 0),
				AdviserWindows: mustWindows(t, "月 19:00-21:00"),
			},
			want: []string{
				"2026-10-19 19:00-20:00", "2026-10-19 19:30-20:30", "2026-10-19 20:00-21:00",
				"2026-10-26 19:00-20:00", "2026-10-26 20:00-21:00",
			},
		},
		{
			name: "busy meetings of either side",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic),
				Busy: []calendar.Interval{
					// Given in UTC and out of order on purpose.
					{Start: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},      // 12/1 18:00–19:00 JST: touches 19:00 only
					{Start: time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC), End: time.Date(2026, 11, 24, 11, 30, 0, 0, time.UTC)}, // 11/24 19:30–20:30 JST
					{Start: at(2026, 11, 28, 10, 0), End: at(2026, 11, 28, 11, 0)},
					{Start: at(2026, 12, 5, 10, 0), End: at(2026, 12, 5, 9, 0)}, // end before start: ignored
				},
			},
			want: []string{
				"2026-11-28 11:00-12:00",
				"2026-12-01 19:00-20:00", "2026-12-01 20:00-21:00",
				"2026-12-05 10:00-11:00", "2026-12-05 11:00-12:00",
				"2026-12-08 19:00-20:00", "2026-12-08 20:00-21:00",
			},
		},
		{
			name: "monthly cap exhausted in November, reset in December",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic),
				RemainingMinutes: capTable(map[time.Month]int{time.November: 30, time.December: 600}),
			},
			want: []string{
				"2026-12-01 19:00-20:00", "2026-12-01 20:00-21:00",
				"2026-12-05 10:00-11:00", "2026-12-05 11:00-12:00",
				"2026-12-08 19:00-20:00", "2026-12-08 20:00-21:00",
			},
		},
		{
			name: "cap exactly one meeting",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic), Horizon: 9 * 24 * time.Hour,
				RemainingMinutes: capTable(map[time.Month]int{time.November: 60}),
			},
			want: []string{
				"2026-11-24 19:00-20:00", "2026-11-24 19:30-20:30", "2026-11-24 20:00-21:00",
				"2026-11-28 10:00-11:00", "2026-11-28 11:00-12:00",
			},
		},
		{
			name: "cap exhausted everywhere",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic),
				RemainingMinutes: capTable(map[time.Month]int{time.November: 59, time.December: 0}),
			},
			want: []string{},
		},
		{
			name: "longer meeting, custom min and max",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic),
				Duration: 2 * time.Hour, Min: 2, Max: 3,
			},
			want: []string{"2026-11-24 19:00-21:00", "2026-11-28 10:00-12:00", "2026-12-01 19:00-21:00"},
		},
		{
			// A wide window and a single day: the second slot is as far from the first as
			// possible, further ones fill the largest gaps (ties go to the earlier time).
			name: "morning and evening on a long day",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, "水 9:00-21:00"), Horizon: 7 * 24 * time.Hour,
			},
			want: []string{
				"2026-11-25 09:00-10:00", "2026-11-25 11:30-12:30", "2026-11-25 14:30-15:30",
				"2026-11-25 17:00-18:00", "2026-11-25 20:00-21:00",
			},
		},
		{
			// Windows not on the hour are rounded up to the next half hour.
			name: "start on the hour or half hour",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, "火 19:10-21:00"), Horizon: 5 * 24 * time.Hour,
			},
			want: []string{"2026-11-24 19:30-20:30", "2026-11-24 20:00-21:00"},
		},
		{
			name: "adviser windows outside tenant hours",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic),
				TenantHours: mustWindows(t, "平日 9:00-17:00"),
			},
			want: []string{},
		},
		{
			name: "sunday is outside the default tenant hours",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, "日 10:00-12:00, 土 16:00-18:00"),
				Horizon: 9 * 24 * time.Hour,
			},
			want: []string{"2026-11-21 16:00-17:00", "2026-11-28 16:00-17:00"},
		},
		{
			name: "closing-day override",
			req: calendar.SlotRequest{
				Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, basic), Horizon: 9 * 24 * time.Hour,
				Calendar: calendar.New(calendar.Override{Date: date(2026, 11, 24), Name: "庁舎点検", Closing: true}),
			},
			want: []string{"2026-11-28 10:00-11:00", "2026-11-28 10:30-11:30", "2026-11-28 11:00-12:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := labels(calendar.FindSlots(tt.req))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FindSlots (-want +got):\n%s", diff)
			}
		})
	}
}

// capTable models the adviser's remaining minutes per month of 2026; months not listed have none.
func capTable(m map[time.Month]int) func(int, time.Month) int {
	return func(y int, month time.Month) int {
		if y != 2026 {
			return 0
		}
		return m[month]
	}
}

func TestFindSlotsLeadTime(t *testing.T) {
	tue := mustWindows(t, "火 19:00-21:00")
	tests := []struct {
		name      string
		now       time.Time
		lead      time.Duration
		wantFirst string
	}{
		{"default 24 h, well before", at(2026, 11, 23, 18, 30), 0, "2026-11-24 19:00-20:00"},
		{"default 24 h, exactly on the boundary", at(2026, 11, 23, 19, 0), 0, "2026-11-24 19:00-20:00"},
		{"default 24 h, a minute late", at(2026, 11, 23, 19, 1), 0, "2026-11-24 19:30-20:30"},
		{"48 h skips to next week", at(2026, 11, 23, 18, 30), 48 * time.Hour, "2026-12-01 19:00-20:00"},
		{"negative means none", at(2026, 11, 24, 18, 0), -1, "2026-11-24 19:00-20:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := calendar.FindSlots(calendar.SlotRequest{Now: tt.now, LeadTime: tt.lead, AdviserWindows: tue, Horizon: 14 * 24 * time.Hour})
			if len(got) == 0 {
				t.Fatal("no slots")
			}
			if first := labels(got)[0]; first != tt.wantFirst {
				t.Errorf("first slot = %s; want %s", first, tt.wantFirst)
			}
		})
	}
}

func TestFindSlotsCapMonths(t *testing.T) {
	var asked []string
	calendar.FindSlots(calendar.SlotRequest{
		Now: at(2026, 11, 20, 12, 0), AdviserWindows: mustWindows(t, "火 19:00-21:00"),
		RemainingMinutes: func(y int, m time.Month) int {
			asked = append(asked, fmt.Sprintf("%d-%02d", y, m))
			return 600
		},
	})
	// Asked once per month, for the months the slots fall in.
	if diff := cmp.Diff([]string{"2026-11", "2026-12"}, asked); diff != "" {
		t.Errorf("RemainingMinutes calls (-want +got):\n%s", diff)
	}
}

func TestSlotLabel(t *testing.T) {
	s := calendar.Slot{Start: time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)}
	for lang, want := range map[bot.Lang]string{
		bot.LangJA: "11/28(土) 10:00–11:00",
		bot.LangEN: "Sat 11/28 10:00–11:00",
		"":         "11/28(土) 10:00–11:00",
	} {
		if got := s.Label(lang); got != want {
			t.Errorf("Label(%q) = %q; want %q", lang, got, want)
		}
	}
}

// TestFindSlotsInvariants checks the documented promises over many start times across three
// years, including every holiday, closing day and month boundary on the way.
func TestFindSlotsInvariants(t *testing.T) {
	adviser := mustWindows(t, "平日 18:00-21:00, 土 9:00-13:00, 日 10:00-12:00")
	tenant := calendar.DefaultTenantHours()
	cal := calendar.New()
	within := func(s calendar.Slot) bool {
		st, en := s.Start.In(bot.Tokyo), s.End.In(bot.Tokyo)
		from, to := st.Hour()*60+st.Minute(), en.Hour()*60+en.Minute()
		in := func(ws []calendar.Window) bool {
			for _, w := range ws {
				if w.Weekday == st.Weekday() && w.Start <= from && to <= w.End {
					return true
				}
			}
			return false
		}
		return in(adviser) && in(tenant)
	}
	for now := at(2026, 1, 1, 8, 17); now.Year() < 2029; now = now.Add(37 * time.Hour) {
		// Two busy meetings near now, in the adviser's evening and Saturday morning.
		d := now.AddDate(0, 0, 3)
		busy := []calendar.Interval{
			{Start: at(d.Year(), d.Month(), d.Day(), 19, 0), End: at(d.Year(), d.Month(), d.Day(), 20, 0)},
			{Start: at(d.Year(), d.Month(), d.Day()+2, 10, 30), End: at(d.Year(), d.Month(), d.Day()+2, 11, 30)},
		}
		req := calendar.SlotRequest{Now: now, AdviserWindows: adviser, Busy: busy, Calendar: cal}
		got := calendar.FindSlots(req)
		if len(got) > calendar.DefaultMaxSlots {
			t.Fatalf("now %v: %d slots > max", now, len(got))
		}
		if len(got) < calendar.DefaultMinSlots {
			t.Fatalf("now %v: %d slots; this adviser always has room for %d in 21 days", now, len(got), calendar.DefaultMinSlots)
		}
		perDay := map[string]int{}
		for i, s := range got {
			st := s.Start.In(bot.Tokyo)
			switch {
			case st.Minute()%30 != 0 || st.Second() != 0:
				t.Errorf("now %v: %v does not start on the hour or half hour", now, s)
			case s.End.Sub(s.Start) != calendar.DefaultDuration:
				t.Errorf("now %v: %v is not an hour", now, s)
			case s.Start.Before(now.Add(calendar.DefaultLeadTime)):
				t.Errorf("now %v: %v is inside the lead time", now, s)
			case !s.Start.Before(now.Add(calendar.DefaultHorizon)):
				t.Errorf("now %v: %v is beyond the horizon", now, s)
			case !within(s):
				t.Errorf("now %v: %v is outside adviser windows ∩ tenant hours", now, s)
			case i > 0 && !got[i-1].Start.Before(s.Start):
				t.Errorf("now %v: slots not strictly chronological at %v", now, s)
			}
			if reason, closed := cal.Closed(s.Start); closed {
				t.Errorf("now %v: %v is on a closed day (%s)", now, s, reason)
			}
			for _, b := range busy {
				if s.Start.Before(b.End) && b.Start.Before(s.End) {
					t.Errorf("now %v: %v overlaps busy %v–%v", now, s, b.Start, b.End)
				}
			}
			perDay[st.Format("2006-01-02")]++
		}
		for d, n := range perDay {
			// More than two on a day only to reach Min, i.e. when too few days had room.
			if n > 2 && len(got) != calendar.DefaultMinSlots {
				t.Errorf("now %v: %d slots on %s although %d slots were returned", now, n, d, len(got))
			}
		}
	}
}
