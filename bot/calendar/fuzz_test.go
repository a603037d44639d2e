package calendar_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
)

// FuzzParseDateTime: any text from chat must give either a future time in Tokyo or a
// person-facing error, never a panic.
func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{
		"11/28 19:00", "11月28日 19時", "11/28 19時半", "2026-11-28 19:00", "明日 10時", "明後日 14:30",
		"今日 18時", "来週水曜 夜", "水曜 19時", "午後3時", "１１／２８　１９：００", "2/29 10:00", "31日 10時",
		"tomorrow 3pm", "next wed 7pm", "11/28(金) 19:00", "99/99 99:99", "2026-02-30", "今夜8時", "3日後 夜",
		"9999年12月31日 23時59分", "0/0 0:0", "(", "時半", "日曜日日曜日",
	} {
		f.Add(s, int64(0))
	}
	base := parseNow
	f.Fuzz(func(t *testing.T, text string, offsetMinutes int64) {
		// Any now within ±50 years of the base.
		now := base.Add(time.Duration(offsetMinutes%(50*366*24*60)) * time.Minute)
		got, err := calendar.ParseDateTime(text, now)
		if err != nil {
			if bot.ErrorCode(err) != bot.EINVALID || bot.ErrorMessage(err) == "" {
				t.Fatalf("ParseDateTime(%q) error without a person-facing message: %v", text, err)
			}
			return
		}
		if !got.After(now) {
			t.Fatalf("ParseDateTime(%q, %v) = %v, not in the future", text, now, got)
		}
		if got.Location() != bot.Tokyo {
			t.Fatalf("ParseDateTime(%q) = %v, not in Asia/Tokyo", text, got)
		}
	})
}

// FuzzParseWindows: never a panic; what parses is valid, and shows and re-parses to itself.
func FuzzParseWindows(f *testing.F) {
	for _, s := range []string{
		"火 19:00-21:00, 土 10:00-12:00", "火曜 19時〜21時", "月〜金 9:00-17:00", "平日 19-21", "Tue 19:00-21:00",
		"土 10:00-12:00, 14:00-16:00", "火曜日　１９：００－２１：００", "金-月 0:00-24:00", "19:00", "火", "-", "月月月",
		"火 19時半-", "火 99:99-99:99", "sunny", "土日 10時から12時まで",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := calendar.ParseWindows(s)
		if err != nil {
			if bot.ErrorCode(err) != bot.EINVALID || bot.ErrorMessage(err) == "" {
				t.Fatalf("ParseWindows(%q) error without a person-facing message: %v", s, err)
			}
			return
		}
		if len(ws) == 0 {
			t.Fatalf("ParseWindows(%q) = no windows and no error", s)
		}
		for _, w := range ws {
			if w.Start < 0 || w.End > 24*60 || w.Start >= w.End || w.Weekday < time.Sunday || w.Weekday > time.Saturday {
				t.Fatalf("ParseWindows(%q) gave invalid %+v", s, w)
			}
		}
		for _, lang := range []bot.Lang{bot.LangJA, bot.LangEN} {
			back, err := calendar.ParseWindows(calendar.FormatWindows(ws, lang))
			if err != nil {
				t.Fatalf("ParseWindows(FormatWindows(%+v, %s)): %v", ws, lang, err)
			}
			if diff := cmp.Diff(ws, back); diff != "" {
				t.Fatalf("round trip of %q (%s) (-want +got):\n%s", s, lang, diff)
			}
		}
	})
}
