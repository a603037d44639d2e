package calendar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
)

func w(wd time.Weekday, from, to string) calendar.Window {
	return calendar.Window{Weekday: wd, Start: minutes(from), End: minutes(to)}
}

// minutes parses "19:30" in tests; kept separate from the code under test on purpose.
func minutes(hm string) int {
	var h, m int
	for i, part := range strings.SplitN(hm, ":", 2) {
		n := 0
		for _, r := range part {
			n = n*10 + int(r-'0')
		}
		if i == 0 {
			h = n
		} else {
			m = n
		}
	}
	return h*60 + m
}

func TestParseWindows(t *testing.T) {
	tue1921 := w(time.Tuesday, "19:00", "21:00")
	sat1012 := w(time.Saturday, "10:00", "12:00")
	tests := []struct {
		in   string
		want []calendar.Window
	}{
		{"火 19:00-21:00, 土 10:00-12:00", []calendar.Window{tue1921, sat1012}},
		{"土 10:00-12:00、火 19:00-21:00", []calendar.Window{tue1921, sat1012}}, // sorted Monday first
		{"火曜 19:00〜21:00 土曜日 10:00～12:00", []calendar.Window{tue1921, sat1012}},
		{"火曜日　１９：００－２１：００，土　１０：００～１２：００", []calendar.Window{tue1921, sat1012}},
		{"Tue 19:00-21:00; Sat 10:00-12:00", []calendar.Window{tue1921, sat1012}},
		{"TUESDAY 19:00 - 21:00\nsaturday 10:00 - 12:00", []calendar.Window{tue1921, sat1012}},
		{"(火) 19時〜21時", []calendar.Window{tue1921}},
		{"火 19時から21時まで", []calendar.Window{tue1921}},
		{"火 19時半-21時", []calendar.Window{w(time.Tuesday, "19:30", "21:00")}},
		{"火 19時15分-20時45分", []calendar.Window{w(time.Tuesday, "19:15", "20:45")}},
		{"火 19-21", []calendar.Window{tue1921}},
		{"火 9:00ー12:00", []calendar.Window{w(time.Tuesday, "9:00", "12:00")}},
		{"金 22:00-24:00", []calendar.Window{w(time.Friday, "22:00", "24:00")}},
		{"土日 10:00-12:00", []calendar.Window{sat1012, w(time.Sunday, "10:00", "12:00")}},
		{"月・水 19:00-21:00", []calendar.Window{w(time.Monday, "19:00", "21:00"), w(time.Wednesday, "19:00", "21:00")}},
		{"mon/wed 19:00-21:00", []calendar.Window{w(time.Monday, "19:00", "21:00"), w(time.Wednesday, "19:00", "21:00")}},
		{"月〜水 19:00-21:00", []calendar.Window{w(time.Monday, "19:00", "21:00"), w(time.Tuesday, "19:00", "21:00"), w(time.Wednesday, "19:00", "21:00")}},
		{"fri-mon 9:00-10:00", []calendar.Window{w(time.Monday, "9:00", "10:00"), w(time.Friday, "9:00", "10:00"), w(time.Saturday, "9:00", "10:00"), w(time.Sunday, "9:00", "10:00")}},
		{"平日 19:00-21:00", []calendar.Window{
			w(time.Monday, "19:00", "21:00"), w(time.Tuesday, "19:00", "21:00"), w(time.Wednesday, "19:00", "21:00"),
			w(time.Thursday, "19:00", "21:00"), w(time.Friday, "19:00", "21:00")}},
		{"毎週土 10:00-12:00, 14:00-16:00", []calendar.Window{sat1012, w(time.Saturday, "14:00", "16:00")}},
		{"土 10:00-12:00 土 11:00-13:00 土 13:00-14:00", []calendar.Window{w(time.Saturday, "10:00", "14:00")}}, // merged
		{"土 10:00-14:00, 11:00-12:00", []calendar.Window{w(time.Saturday, "10:00", "14:00")}},                // contained
		{"火 19:00-21:00 土 10:00-12:00", []calendar.Window{tue1921, sat1012}},                                 // no comma
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := calendar.ParseWindows(tt.in)
			if err != nil {
				t.Fatalf("ParseWindows(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseWindows(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseWindowsErrors(t *testing.T) {
	tests := []struct {
		in       string
		wantHint string // a part of the message that tells people what to do
	}{
		{"", "火 19:00-21:00"},
		{"   、 ", "火 19:00-21:00"},
		{"19:00-21:00", "曜日を先に"},
		{"火", "「火 10:00-12:00」"},
		{"火 19:00-21:00 土", "「土 10:00-12:00」"},
		{"火 19:00", "終わりの時刻"},
		{"火 19:00-", "終わりの時刻"},
		{"火 21:00-19:00", "分けて入力"},
		{"火 19:00-19:00", "分けて入力"},
		{"火 25:00-26:00", "0:00〜24:00"},
		{"火 19:60-21:00", "0:00〜24:00"},
		{"火 24:30-24:45", "0:00〜24:00"},
		{"火 123:00-124:00", "0:00〜24:00"},
		{"火 19:5-21:00", "0:00〜24:00"},
		{"火 19時5-21時", "0:00〜24:00"},
		{"毎朝 9:00-10:00", "読み取れません"},
		{"sunny 9:00-10:00", "読み取れません"},
		{"平日-土 9:00-10:00", "1つずつ"},
		{strings.Repeat("火 19:00-21:00, ", 40), "長すぎます"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := calendar.ParseWindows(tt.in)
			if err == nil {
				t.Fatalf("ParseWindows(%q) = %v; want an error", tt.in, got)
			}
			if code := bot.ErrorCode(err); code != bot.EINVALID {
				t.Errorf("code = %q; want %q", code, bot.EINVALID)
			}
			if msg := bot.ErrorMessage(err); !strings.Contains(msg, tt.wantHint) {
				t.Errorf("message %q does not contain %q", msg, tt.wantHint)
			}
		})
	}
}

func TestFormatWindows(t *testing.T) {
	ws := []calendar.Window{w(time.Saturday, "10:00", "12:00"), w(time.Tuesday, "19:00", "21:00"), w(time.Friday, "22:00", "24:00")}
	tests := []struct {
		lang bot.Lang
		want string
	}{
		{bot.LangJA, "火 19:00–21:00、金 22:00–24:00、土 10:00–12:00"},
		{bot.LangEN, "Tue 19:00–21:00, Fri 22:00–24:00, Sat 10:00–12:00"},
	}
	for _, tt := range tests {
		got := calendar.FormatWindows(ws, tt.lang)
		if got != tt.want {
			t.Errorf("FormatWindows(%s) = %q; want %q", tt.lang, got, tt.want)
		}
		// What is shown can be typed back.
		back, err := calendar.ParseWindows(got)
		if err != nil {
			t.Fatalf("ParseWindows(FormatWindows) error: %v", err)
		}
		if diff := cmp.Diff(calendar.FormatWindows(back, tt.lang), got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	if got := calendar.FormatWindows(nil, bot.LangJA); got != "" {
		t.Errorf("FormatWindows(nil) = %q; want empty", got)
	}
}

func TestDefaultTenantHours(t *testing.T) {
	want := []calendar.Window{
		w(time.Monday, "9:00", "21:00"), w(time.Tuesday, "9:00", "21:00"), w(time.Wednesday, "9:00", "21:00"),
		w(time.Thursday, "9:00", "21:00"), w(time.Friday, "9:00", "21:00"), w(time.Saturday, "10:00", "17:00"),
	}
	got := calendar.DefaultTenantHours()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultTenantHours (-want +got):\n%s", diff)
	}
	got[0].Start = 0 // a caller's change must not leak into the next call
	if diff := cmp.Diff(want, calendar.DefaultTenantHours()); diff != "" {
		t.Errorf("DefaultTenantHours shares its slice (-want +got):\n%s", diff)
	}
}
