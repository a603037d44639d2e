package calendar

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
)

// dateTimeExample is the hint every ParseDateTime error ends with.
const dateTimeExample = "例: 11/28 19:00、明日 10時、来週水曜 夜"

// maxDateTimeInput bounds the input; a date and a time never need more.
const maxDateTimeInput = 100

// maxYearsAhead rejects explicit years further away than this, which are typos ("2062").
const maxYearsAhead = 10

// Default clock times for words that name a part of the day without a time.
var periodDefault = map[string]int{
	"朝": 9 * 60, "午前": 10 * 60, "昼": 12 * 60, "正午": 12 * 60,
	"午後": 14 * 60, "夕方": 17 * 60, "夜": 19 * 60, "晩": 19 * 60, "noon": 12 * 60,
}

// The patterns ParseDateTime looks for, in this order; each match is blanked out before the
// next pattern runs, so e.g. 11月28日 is not read again as 28日. Input is folded first
// (full-width → ASCII, lower case).
var (
	reYMD      = regexp.MustCompile(`(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?t?`)
	reMD       = regexp.MustCompile(`(\d{1,2})\s*(?:月\s*(\d{1,2})\s*日?|/\s*(\d{1,2}))`)
	reDaysOn   = regexp.MustCompile(`(\d{1,2})\s*日\s*後`)
	reD        = regexp.MustCompile(`(\d{1,2})\s*日`)
	reRel      = regexp.MustCompile(`明々後日|明明後日|しあさって|明後日|あさって|明日|あした|あす|今日|本日|きょう|今夜|今晩|明朝|today|tomorrow`)
	reWeekRel  = regexp.MustCompile(`(再来週|今週|来週)\s*の?\s*([月火水木金土日])(?:\s*曜\s*日?)?`)
	reWeekday  = regexp.MustCompile(`([月火水木金土日])\s*曜\s*日?|\(\s*([月火水木金土日])\s*\)|\b(?:next\s+)?(mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\b\.?`)
	reHM       = regexp.MustCompile(`(午前|午後|朝|夜|夕方|昼|晩)?\s*の?\s*(\d{1,2})\s*:\s*(\d{2})(?:\s*(am|pm))?`)
	reHour     = regexp.MustCompile(`(午前|午後|朝|夜|夕方|昼|晩)?\s*の?\s*(\d{1,2})\s*時\s*(?:(半)|(\d{1,2})\s*分)?`)
	reAMPM     = regexp.MustCompile(`(\d{1,2})\s*(am|pm)\b`)
	rePeriod   = regexp.MustCompile(`正午|午前|午後|夕方|朝|昼|夜|晩|\bnoon\b`)
	fillerWord = strings.NewReplacer(
		"でお願いいたします", "", "でお願いします", "", "お願いいたします", "", "お願いします", "",
		"から", "", "ごろ", "", "頃", "", "くらい", "", "ぐらい", "", "以降", "", "開始", "", "スタート", "",
		"希望", "", "より", "", "中", "", "の", "", "に", "", "で", "", "を", "", "at", "", "on", "",
	)
)

var weekdayByJA = map[string]time.Weekday{"日": 0, "月": 1, "火": 2, "水": 3, "木": 4, "金": 5, "土": 6}
var weekdayByEN = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// dateSpec is what the text said about the day.
type dateSpec struct {
	kind    int // one of the date* constants
	y, m, d int // dateYMD, dateMD (m, d), dateDay (d)
	offset  int // dateRel: days from today; dateWeekRel: weeks from this week
	wd      time.Weekday
}

const (
	dateNone = iota
	dateYMD
	dateMD
	dateDay
	dateRel
	dateWeekRel
	dateWeekday
)

// ParseDateTime reads a meeting time typed in chat and returns it in Asia/Tokyo. now is the
// current time (injected so that tests and replays are deterministic).
//
// Dates:
//   - 2026-11-28, 2026/11/28, 2026年11月28日: that day.
//   - 11/28, 11月28日: the next 11/28 that is not before today (next year once it has passed).
//   - 28日: the next 28th of a month that is not before today.
//   - 今日/本日, 明日/あした/あす, 明後日/あさって, 明々後日/しあさって, today, tomorrow, 3日後.
//   - 水曜, 水曜日, wed: the next Wednesday strictly after today (on a Wednesday, next week's).
//   - 今週水曜, 来週水曜, 再来週水曜: Wednesday of this, next or the following week; weeks run
//     Monday to Sunday.
//   - An added weekday, as in 11/28(土), is checked against the date.
//   - No date at all: today if the time is still ahead, otherwise tomorrow.
//
// Times:
//   - 19:00, 19時, 19時半, 19時30分, 3pm, 3:30pm.
//   - 午前/午後/朝/昼/夕方/夜/晩 before a time shift it as people mean it: 午後3時 = 15:00,
//     夜7時 = 19:00, 昼1時 = 13:00.
//   - The words alone stand for a default time: 朝 9:00, 午前 10:00, 昼/正午 12:00, 午後 14:00,
//     夕方 17:00, 夜/晩 19:00, noon 12:00; 今夜/今晩 = today 夜 (今夜8時 = 20:00), 明朝 =
//     tomorrow 朝.
//   - A time is required: a date alone is an error, because a meeting needs a start.
//
// Full-width digits and letters are accepted, fillers such as の, に, から, ごろ, でお願いします
// are ignored, and anything else unrecognised is an error rather than a guess. The result
// must be after now, and an explicit year may be at most ten years ahead. Errors are
// *bot.Error (EINVALID) with a Japanese message that includes an example of what to type.
func ParseDateTime(text string, now time.Time) (time.Time, error) {
	now = now.In(bot.Tokyo)
	if utf8.RuneCountInString(text) > maxDateTimeInput {
		return time.Time{}, invalid("入力が長すぎます。日時だけを入力してください（%s）。", dateTimeExample)
	}
	s := []byte(fold(text))
	if strings.TrimSpace(string(s)) == "" {
		return time.Time{}, invalid("日時を入力してください（%s）。", dateTimeExample)
	}

	var (
		date      dateSpec
		dates     int
		weekday   = time.Weekday(-1)
		weekdays  int
		clockMin  = -1
		clocks    int
		hint      string // period implied by 今夜 / 明朝
		clockErrs []string
	)
	setDate := func(ds dateSpec) {
		date = ds
		dates++
	}
	setClock := func(raw, period string, h, m int) {
		clocks++
		v, ok := applyPeriod(period, h, m)
		if !ok {
			clockErrs = append(clockErrs, strings.TrimSpace(raw))
			return
		}
		clockMin = v
	}
	// each runs re over s, calls f for every match and blanks the match out.
	each := func(re *regexp.Regexp, f func(m []string)) {
		for _, loc := range re.FindAllSubmatchIndex(s, -1) {
			groups := make([]string, len(loc)/2)
			for i := range groups {
				if loc[2*i] >= 0 {
					groups[i] = string(s[loc[2*i]:loc[2*i+1]])
				}
			}
			f(groups)
			for i := loc[0]; i < loc[1]; i++ {
				s[i] = ' '
			}
		}
	}

	each(reYMD, func(g []string) { setDate(dateSpec{kind: dateYMD, y: atoi(g[1]), m: atoi(g[2]), d: atoi(g[3])}) })
	each(reMD, func(g []string) {
		d := g[2]
		if d == "" {
			d = g[3]
		}
		setDate(dateSpec{kind: dateMD, m: atoi(g[1]), d: atoi(d)})
	})
	each(reDaysOn, func(g []string) { setDate(dateSpec{kind: dateRel, offset: atoi(g[1])}) })
	each(reD, func(g []string) { setDate(dateSpec{kind: dateDay, d: atoi(g[1])}) })
	each(reRel, func(g []string) {
		switch g[0] {
		case "今日", "本日", "きょう", "today":
			setDate(dateSpec{kind: dateRel})
		case "今夜", "今晩":
			setDate(dateSpec{kind: dateRel})
			hint = "夜"
		case "明日", "あした", "あす", "tomorrow":
			setDate(dateSpec{kind: dateRel, offset: 1})
		case "明朝":
			setDate(dateSpec{kind: dateRel, offset: 1})
			hint = "朝"
		case "明後日", "あさって":
			setDate(dateSpec{kind: dateRel, offset: 2})
		default: // 明々後日
			setDate(dateSpec{kind: dateRel, offset: 3})
		}
	})
	each(reWeekRel, func(g []string) {
		off := map[string]int{"今週": 0, "来週": 1, "再来週": 2}[g[1]]
		setDate(dateSpec{kind: dateWeekRel, offset: off, wd: weekdayByJA[g[2]]})
	})
	each(reWeekday, func(g []string) {
		weekdays++
		switch {
		case g[1] != "":
			weekday = weekdayByJA[g[1]]
		case g[2] != "":
			weekday = weekdayByJA[g[2]]
		default:
			weekday = weekdayByEN[g[3]]
		}
	})
	each(reHM, func(g []string) {
		period := g[1]
		if g[4] != "" {
			if period != "" {
				period = "?" // 午後3:00pm: contradictory or doubled
			} else {
				period = g[4]
			}
		}
		setClock(g[0], period, atoi(g[2]), atoi(g[3]))
	})
	each(reHour, func(g []string) {
		m := 0
		switch {
		case g[3] != "":
			m = 30
		case g[4] != "":
			m = atoi(g[4])
		}
		setClock(g[0], g[1], atoi(g[2]), m)
	})
	each(reAMPM, func(g []string) { setClock(g[0], g[2], atoi(g[1]), 0) })
	each(rePeriod, func(g []string) {
		clocks++
		clockMin = periodDefault[g[0]]
	})

	if rest := strings.TrimSpace(leftover(string(s))); rest != "" {
		if r := []rune(rest); len(r) > 20 {
			rest = string(r[:20]) + "…"
		}
		return time.Time{}, invalid("「%s」を日時として読み取れませんでした。11/28 19:00、明日 10時、来週水曜 夜 のように入力してください。", rest)
	}
	if len(clockErrs) > 0 {
		return time.Time{}, invalid("「%s」は時刻として正しくありません。0:00〜23:59 の範囲で「19:00」「19時半」「午後3時」のように入力してください。", clockErrs[0])
	}
	if dates > 1 {
		return time.Time{}, invalid("日付が2つ以上あります。1つだけ入力してください（%s）。", dateTimeExample)
	}
	if clocks > 1 {
		return time.Time{}, invalid("時刻が2つ以上あります。始まりの時刻を1つだけ入力してください（例: 11/28 19:00）。")
	}
	if weekdays > 1 || (weekdays == 1 && date.kind == dateWeekRel) {
		return time.Time{}, invalid("曜日が2つ以上あります。1つだけ入力してください（%s）。", dateTimeExample)
	}
	if weekdays == 1 && dates == 0 {
		date = dateSpec{kind: dateWeekday, wd: weekday}
		weekdays = 0
	}
	if clocks == 0 {
		if hint == "" {
			if date.kind == dateNone {
				return time.Time{}, invalid("日時を読み取れませんでした。%s のように入力してください。", dateTimeExample)
			}
			return time.Time{}, invalid("時刻も入力してください（例: 11/28 19:00、明日 10時）。")
		}
		clockMin = periodDefault[hint]
	} else if hint == "夜" && clockMin < 12*60 && clockMin >= 60 {
		clockMin += 12 * 60 // 今夜8時 = 20:00
	}

	d, err := resolveDate(date, clockMin, now)
	if err != nil {
		return time.Time{}, err
	}
	if weekdays == 1 && d.weekday() != weekday {
		return time.Time{}, invalid("%d/%d は%s曜日です。日付か曜日を確かめてください（%s）。", int(d.m), d.d, weekdayJA[d.weekday()], dateTimeExample)
	}
	t := d.midnight().Add(time.Duration(clockMin) * time.Minute)
	if !t.After(now) {
		return time.Time{}, invalid("%s はすでに過ぎています。これから先の日時を入力してください（例: 明日 10時）。", dateLabel(t, bot.LangJA))
	}
	return t, nil
}

// resolveDate turns what was said about the day into a date, given the time of day (needed
// when no date was given: today if that time is still ahead).
func resolveDate(ds dateSpec, clockMin int, now time.Time) (day, error) {
	today := dayOf(now)
	switch ds.kind {
	case dateYMD:
		if ds.y > now.Year()+maxYearsAhead {
			return day{}, invalid("%d年は先すぎます。年を確かめてください（例: %d-11-28 19:00）。", ds.y, now.Year())
		}
		if !validDate(ds.y, ds.m, ds.d) {
			return day{}, invalid("%d年%d月%d日という日付はありません。日付を確かめてください（%s）。", ds.y, ds.m, ds.d, dateTimeExample)
		}
		return day{ds.y, time.Month(ds.m), ds.d}, nil
	case dateMD:
		if !validDate(2000, ds.m, ds.d) { // 2000 is a leap year: only truly impossible dates fail
			return day{}, invalid("%d月%d日という日付はありません。日付を確かめてください（%s）。", ds.m, ds.d, dateTimeExample)
		}
		for y := today.y; ; y++ { // 2/29 waits for the next leap year
			d := day{y, time.Month(ds.m), ds.d}
			if validDate(y, ds.m, ds.d) && !d.before(today) {
				return d, nil
			}
		}
	case dateDay:
		if ds.d < 1 || ds.d > 31 {
			return day{}, invalid("%d日という日付はありません。日付を確かめてください（%s）。", ds.d, dateTimeExample)
		}
		for i := 0; ; i++ { // 31日 waits for the next month that has one
			first := day{today.y, today.m, 1}
			y, m, _ := time.Date(first.y, first.m+time.Month(i), 1, 12, 0, 0, 0, time.UTC).Date()
			d := day{y, m, ds.d}
			if validDate(y, int(m), ds.d) && !d.before(today) {
				return d, nil
			}
		}
	case dateRel:
		return today.add(ds.offset), nil
	case dateWeekRel:
		monday := today.add(-mondayFirst(today.weekday()))
		return monday.add(7*ds.offset + mondayFirst(ds.wd)), nil
	case dateWeekday:
		n := (int(ds.wd) - int(today.weekday()) + 7) % 7
		if n == 0 {
			n = 7
		}
		return today.add(n), nil
	default: // time only
		if now.Hour()*60+now.Minute() < clockMin {
			return today, nil
		}
		return today.add(1), nil
	}
}

// applyPeriod combines a part-of-day word with the hour people said. It reports false for
// combinations that are not a time (25時, 夜0時, 午前13時).
func applyPeriod(period string, h, m int) (int, bool) {
	if m > 59 {
		return 0, false
	}
	switch period {
	case "":
		if h > 23 {
			return 0, false
		}
	case "朝":
		if h < 4 || h > 11 {
			return 0, false
		}
	case "午前", "am":
		if h > 12 {
			return 0, false
		}
		h %= 12
	case "午後", "pm":
		switch {
		case h <= 12:
			h = h%12 + 12
		case period == "午後" && h <= 23: // 午後15時 is redundant but clear
		default:
			return 0, false
		}
	case "昼":
		switch {
		case h >= 1 && h <= 5:
			h += 12
		case h == 11 || h == 12 || (h >= 13 && h <= 17):
		default:
			return 0, false
		}
	case "夕方", "夜", "晩":
		switch {
		case h >= 1 && h <= 11:
			h += 12
		case h >= 13 && h <= 23:
		default:
			return 0, false
		}
	default:
		return 0, false
	}
	return h*60 + m, true
}

// leftover removes fillers and punctuation that carry no date or time.
func leftover(s string) string {
	s = fillerWord.Replace(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', ',', '、', '.', '。', '!', '?', '~', '〜', '-', '(', ')', '[', ']', '「', '」':
			return -1
		}
		return r
	}, s)
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// atoi parses the at most four digits the patterns capture.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
