package calendar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
)

// parseNow is Friday 2026-11-20 15:00 in Tokyo.
var parseNow = at(2026, 11, 20, 15, 0)

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"11/28 19:00", at(2026, 11, 28, 19, 0)},
		{"11月28日 19時", at(2026, 11, 28, 19, 0)},
		{"11月28日19時", at(2026, 11, 28, 19, 0)},
		{"11/28 19時半", at(2026, 11, 28, 19, 30)},
		{"11/28 19時15分", at(2026, 11, 28, 19, 15)},
		{"2026-11-28 19:00", at(2026, 11, 28, 19, 0)},
		{"2026/11/28 19:00", at(2026, 11, 28, 19, 0)},
		{"2026年11月28日 午後7時", at(2026, 11, 28, 19, 0)},
		{"2026-11-28T19:00", at(2026, 11, 28, 19, 0)},
		{"２０２６年１１月２８日　１９：００", at(2026, 11, 28, 19, 0)},
		{"１１／２８　１９時", at(2026, 11, 28, 19, 0)},
		{"11/28(土) 19:00", at(2026, 11, 28, 19, 0)},
		{"11/28（土曜） 19:00", at(2026, 11, 28, 19, 0)},
		{"11/28の19時からでお願いします", at(2026, 11, 28, 19, 0)},
		{"28日 19時", at(2026, 11, 28, 19, 0)},
		{"5日 10時", at(2026, 12, 5, 10, 0)}, // the 5th of this month has passed
		{"20日 18時", at(2026, 11, 20, 18, 0)},
		{"明日 10時", at(2026, 11, 21, 10, 0)},
		{"あした10:30", at(2026, 11, 21, 10, 30)},
		{"明後日 14:30", at(2026, 11, 22, 14, 30)},
		{"あさって 9時", at(2026, 11, 22, 9, 0)},
		{"しあさって 9時", at(2026, 11, 23, 9, 0)},
		{"3日後 10時", at(2026, 11, 23, 10, 0)},
		{"今日 18時", at(2026, 11, 20, 18, 0)},
		{"本日 15:30", at(2026, 11, 20, 15, 30)},
		{"今夜", at(2026, 11, 20, 19, 0)},
		{"今夜8時", at(2026, 11, 20, 20, 0)},
		{"明朝", at(2026, 11, 21, 9, 0)},
		{"来週水曜 夜", at(2026, 11, 25, 19, 0)},
		{"来週の水曜日 朝", at(2026, 11, 25, 9, 0)},
		{"来週月曜 午前", at(2026, 11, 23, 10, 0)},
		{"再来週火曜 19:00", at(2026, 12, 1, 19, 0)},
		{"今週土曜 昼", at(2026, 11, 21, 12, 0)},
		{"水曜 19時", at(2026, 11, 25, 19, 0)},
		{"金曜 10時", at(2026, 11, 27, 10, 0)}, // today is Friday: next week's
		{"日曜日 夕方", at(2026, 11, 22, 17, 0)},
		{"明日 午後", at(2026, 11, 21, 14, 0)},
		{"明日 正午", at(2026, 11, 21, 12, 0)},
		{"明日 昼1時", at(2026, 11, 21, 13, 0)},
		{"明日 夜の7時", at(2026, 11, 21, 19, 0)},
		{"明日 夜 19時", at(2026, 11, 21, 19, 0)}, // redundant but consistent
		{"明日 午前9時", at(2026, 11, 21, 9, 0)},
		{"明日 午前中", at(2026, 11, 21, 10, 0)},
		{"午後3時", at(2026, 11, 21, 15, 0)}, // 15:00 today is not after now: tomorrow
		{"午後4時", at(2026, 11, 20, 16, 0)},
		{"19時", at(2026, 11, 20, 19, 0)},
		{"9時", at(2026, 11, 21, 9, 0)},
		{"1/5 10:00", at(2027, 1, 5, 10, 0)},     // next occurrence
		{"11/19 10:00", at(2027, 11, 19, 10, 0)}, // yesterday's date: next year
		{"2/29 10:00", at(2028, 2, 29, 10, 0)},   // next leap day
		{"31日 10時", at(2026, 12, 31, 10, 0)},     // November has no 31st
		{"tomorrow 3pm", at(2026, 11, 21, 15, 0)},
		{"Tomorrow 10:30 AM", at(2026, 11, 21, 10, 30)},
		{"next wed 7pm", at(2026, 11, 25, 19, 0)},
		{"saturday noon", at(2026, 11, 21, 12, 0)},
		{"12/1 12am", at(2026, 12, 1, 0, 0)},
		{"明日 12pm", at(2026, 11, 21, 12, 0)},
		{"明日 午後0時", at(2026, 11, 21, 12, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := calendar.ParseDateTime(tt.in, parseNow)
			if err != nil {
				t.Fatalf("ParseDateTime(%q) error: %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != bot.Tokyo {
				t.Errorf("ParseDateTime(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDateTimeNowInOtherZone(t *testing.T) {
	// The same instant as parseNow given in UTC must give the same answer: "明日" is Tokyo's tomorrow.
	got, err := calendar.ParseDateTime("明日 10時", parseNow.UTC())
	if err != nil || !got.Equal(at(2026, 11, 21, 10, 0)) {
		t.Errorf("ParseDateTime with UTC now = %v, %v", got, err)
	}
	// 23:30 UTC on the 20th is already the 21st in Tokyo.
	got, err = calendar.ParseDateTime("明日 10時", time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC))
	if err != nil || !got.Equal(at(2026, 11, 22, 10, 0)) {
		t.Errorf("ParseDateTime late UTC now = %v, %v", got, err)
	}
}

func TestParseDateTimeErrors(t *testing.T) {
	tests := []struct {
		in       string
		wantHint string // part of the message: what went wrong or what to type
	}{
		{"", "例: 11/28 19:00"},
		{"　 ", "例: 11/28 19:00"},
		{"あいうえお", "「あいうえお」"},
		{"11/28", "時刻も入力してください"},
		{"明日", "時刻も入力してください"},
		{"来週水曜", "時刻も入力してください"},
		{"今日 14時", "すでに過ぎています"},
		{"今日 15:00", "すでに過ぎています"}, // exactly now is not in the future
		{"今週水曜 19時", "すでに過ぎています"},
		{"2026-11-19 10:00", "すでに過ぎています"},
		{"11/20 10:00", "すでに過ぎています"}, // today's date is not moved to next year
		{"2/30 10:00", "2月30日という日付はありません"},
		{"13/1 10:00", "13月1日という日付はありません"},
		{"2027-02-29 10:00", "2027年2月29日という日付はありません"},
		{"32日 10時", "32日という日付はありません"},
		{"2099-01-01 10:00", "先すぎます"},
		{"11/28(金) 19:00", "11/28 は土曜日です"},
		{"明日(月) 10時", "11/21 は土曜日です"},
		{"11/28 25:00", "0:00〜23:59"},
		{"11/28 19:60", "0:00〜23:59"},
		{"11/28 午前13時", "0:00〜23:59"},
		{"11/28 夜0時", "0:00〜23:59"},
		{"11/28 13pm", "0:00〜23:59"},
		{"11/28 19:00 20:00", "時刻が2つ以上"},
		{"11/28 19:00-20:00", "時刻が2つ以上"},
		{"11/28 19時 夜", "時刻が2つ以上"},
		{"明日 11/28 10時", "日付が2つ以上"},
		{"来週水曜(木) 10時", "曜日が2つ以上"},
		{"来週 10時", "「来週」"},
		{"11/28 19:00 会議室A", "会議室a"},
		{"19", "「19」"},
		{"sunny 10am", "「sunny」"},
		{strings.Repeat("明日 ", 40), "長すぎます"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := calendar.ParseDateTime(tt.in, parseNow)
			if err == nil {
				t.Fatalf("ParseDateTime(%q) = %v; want an error", tt.in, got)
			}
			if code := bot.ErrorCode(err); code != bot.EINVALID {
				t.Errorf("code = %q; want %q (%v)", code, bot.EINVALID, err)
			}
			msg := bot.ErrorMessage(err)
			if !strings.Contains(msg, tt.wantHint) {
				t.Errorf("message %q does not contain %q", msg, tt.wantHint)
			}
			if !strings.Contains(msg, "例") && !strings.Contains(msg, "のように") {
				t.Errorf("message %q gives no example of what to type", msg)
			}
		})
	}
}
