package calendar

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
)

// Window is a weekly recurring time range in Asia/Tokyo, e.g. every Tuesday 19:00–21:00.
// Minutes rather than time.Time keep a weekly pattern free of any particular date.
type Window struct {
	Weekday time.Weekday
	// Start and End are minutes from midnight, 0 ≤ Start < End ≤ 1440 (24:00).
	Start, End int
}

// DefaultTenantHours returns the hours a municipality meets advisers when it has not set its
// own: 月–金 09:00–21:00 and 土 10:00–17:00. They reach into the evening and Saturday because
// advisers work a side job (副業) and mostly meet outside their own office hours. It is a
// function so that no caller can modify a shared slice.
func DefaultTenantHours() []Window {
	ws := make([]Window, 0, 6)
	for wd := time.Monday; wd <= time.Friday; wd++ {
		ws = append(ws, Window{Weekday: wd, Start: 9 * 60, End: 21 * 60})
	}
	return append(ws, Window{Weekday: time.Saturday, Start: 10 * 60, End: 17 * 60})
}

// windowsExample is what every ParseWindows error tells people to type.
const windowsExample = "「火 19:00-21:00, 土 10:00-12:00」"

// maxWindowsInput bounds the input so a pasted document cannot make the error quote huge.
const maxWindowsInput = 500

// ParseWindows reads weekly availability as people type it in chat, e.g.
// "火 19:00-21:00, 土 10:00-12:00". It accepts
//
//   - day names 月 火 … 日, 月曜, 月曜日, (月), Mon/Monday …, 平日 (月–金), 週末 (土日), 毎日;
//     several days before one range ("土日 10:00-12:00", "月・水 19:00-21:00") and day ranges
//     ("月〜金 9:00-17:00");
//   - times 19:00, 9:30, 19時, 19時半, 19時30分, up to 24:00;
//   - range marks - 〜 ～ ~ – — ー and 「から」, entry separators , 、 ; ・ / and newlines;
//   - full-width digits and letters;
//   - several ranges after one day ("土 10:00-12:00, 14:00-16:00").
//
// The result is sorted Monday first (the Japanese week) with overlapping or touching
// windows of the same day merged. Errors are *bot.Error (EINVALID) whose Message says, in
// Japanese, what was wrong and what to type.
func ParseWindows(s string) ([]Window, error) {
	if utf8.RuneCountInString(s) > maxWindowsInput {
		return nil, invalid("入力が長すぎます。%sのように、曜日と時間帯だけを入力してください。", windowsExample)
	}
	p := windowParser{src: []rune(windowFold(s))}
	ws, err := p.parse()
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, invalid("空いている曜日と時間帯を%sのように入力してください。", windowsExample)
	}
	return normalizeWindows(ws), nil
}

// FormatWindows renders windows for display, e.g. "火 19:00–21:00、土 10:00–12:00" in
// Japanese or "Tue 19:00–21:00, Sat 10:00–12:00" in English. ParseWindows reads the result
// back, so the text can be shown for editing.
func FormatWindows(ws []Window, lang bot.Lang) string {
	ws = normalizeWindows(ws)
	names, sep := weekdayJA, "、"
	if lang == bot.LangEN {
		names, sep = weekdayEN, ", "
	}
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = names[w.Weekday] + " " + clock(w.Start) + "–" + clock(w.End)
	}
	return strings.Join(parts, sep)
}

// normalizeWindows returns a sorted copy (Monday first) with invalid windows dropped, times
// clipped to the day and overlapping or touching windows merged.
func normalizeWindows(in []Window) []Window {
	ws := make([]Window, 0, len(in))
	for _, w := range in {
		w.Start, w.End = max(w.Start, 0), min(w.End, 24*60)
		if w.Weekday < time.Sunday || w.Weekday > time.Saturday || w.Start >= w.End {
			continue
		}
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, b Window) int {
		if a.Weekday != b.Weekday {
			return mondayFirst(a.Weekday) - mondayFirst(b.Weekday)
		}
		return a.Start - b.Start
	})
	out := ws[:0]
	for _, w := range ws {
		if n := len(out); n > 0 && out[n-1].Weekday == w.Weekday && w.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, w.End)
			continue
		}
		out = append(out, w)
	}
	return out
}

func mondayFirst(wd time.Weekday) int { return (int(wd) + 6) % 7 }

// windowFold normalises the spellings of range marks and fillers to one form each.
var windowReplacer = strings.NewReplacer(
	"から", "-", "まで", " ", "毎週", " ",
	"〜", "-", "~", "-", "–", "-", "—", "-", "−", "-", "‐", "-", "ー", "-", "ｰ", "-",
)

func windowFold(s string) string { return windowReplacer.Replace(fold(s)) }

// dayName is one spelling of one or more weekdays.
type dayName struct {
	name string
	days []time.Weekday
}

// dayNames lists the day spellings, longest first so that 月曜日 is not read as 月 + 曜日
// and "monday" not as "mon" + "day".
var dayNames = buildDayNames()

func buildDayNames() []dayName {
	one := func(wd time.Weekday) []time.Weekday { return []time.Weekday{wd} }
	ns := []dayName{
		{"平日", []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}},
		{"週末", []time.Weekday{time.Saturday, time.Sunday}},
		{"毎日", []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}},
	}
	for _, suffix := range []string{"曜日", "曜", ""} {
		for wd := time.Sunday; wd <= time.Saturday; wd++ {
			ns = append(ns, dayName{weekdayJA[wd] + suffix, one(wd)})
		}
	}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		ns = append(ns, dayName{strings.ToLower(wd.String()), one(wd)})
	}
	ns = append(ns, dayName{"thurs", one(time.Thursday)}, dayName{"thur", one(time.Thursday)}, dayName{"tues", one(time.Tuesday)})
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		ns = append(ns, dayName{strings.ToLower(weekdayEN[wd]), one(wd)})
	}
	slices.SortStableFunc(ns, func(a, b dayName) int {
		return utf8.RuneCountInString(b.name) - utf8.RuneCountInString(a.name)
	})
	return ns
}

// matchDay returns the days named at the start of src and how many runes the name has.
func matchDay(src []rune) ([]time.Weekday, int) {
	for _, n := range dayNames {
		l := utf8.RuneCountInString(n.name)
		if l <= len(src) && string(src[:l]) == n.name {
			// An English name must not be the start of a longer word ("sunny").
			if l < len(src) && isLatin(src[l]) && isLatin(src[0]) {
				continue
			}
			return n.days, l
		}
	}
	return nil, 0
}

func isLatin(r rune) bool { return r >= 'a' && r <= 'z' }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isWindowSep(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', ',', '、', ';', '・', '/', '(', ')', 'と', '。':
		return true
	}
	return false
}

type windowParser struct {
	src []rune
	i   int
}

func (p *windowParser) parse() ([]Window, error) {
	var (
		out  []Window
		days []time.Weekday // the days the next range applies to
		used bool           // a range was attached to days; the next day name starts afresh
		dayS string         // the text of days, quoted in errors
	)
	for {
		p.skip()
		if p.i >= len(p.src) {
			break
		}
		r := p.src[p.i]
		switch {
		case isDigit(r):
			start := p.i
			from, to, err := p.timeRange()
			if err != nil {
				return nil, err
			}
			if len(days) == 0 {
				return nil, invalid("「%s」の曜日がありません。%sのように、曜日を先に書いてください。", string(p.src[start:p.i]), windowsExample)
			}
			for _, wd := range days {
				out = append(out, Window{Weekday: wd, Start: from, End: to})
			}
			used = true
		default:
			start := p.i
			ds, err := p.days()
			if err != nil {
				return nil, err
			}
			if used {
				days, used, dayS = nil, false, ""
			}
			days = append(days, ds...)
			dayS += string(p.src[start:p.i])
		}
	}
	if len(days) > 0 && !used {
		return nil, invalid("「%s」の時間帯がありません。「%s 10:00-12:00」のように時刻の範囲も書いてください。", dayS, dayS)
	}
	return out, nil
}

func (p *windowParser) skip() {
	for p.i < len(p.src) && isWindowSep(p.src[p.i]) {
		p.i++
	}
}

func (p *windowParser) skipSpace() {
	for p.i < len(p.src) && (p.src[p.i] == ' ' || p.src[p.i] == '\t') {
		p.i++
	}
}

// days reads a day name or a day range such as 月-金.
func (p *windowParser) days() ([]time.Weekday, error) {
	ds, l := matchDay(p.src[p.i:])
	if l == 0 {
		return nil, p.unknown()
	}
	p.i += l
	save := p.i
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == '-' {
		p.i++
		p.skipSpace()
		if to, l2 := matchDay(p.src[p.i:]); l2 > 0 {
			if len(ds) != 1 || len(to) != 1 {
				return nil, invalid("曜日の範囲は「月〜金」のように1つずつの曜日で書いてください。")
			}
			p.i += l2
			var span []time.Weekday
			for wd := ds[0]; ; wd = (wd + 1) % 7 {
				span = append(span, wd)
				if wd == to[0] {
					break
				}
			}
			return span, nil
		}
	}
	p.i = save
	return ds, nil
}

// unknown reports the word at p.i that is neither a day nor a time.
func (p *windowParser) unknown() error {
	end := p.i
	for end < len(p.src) && end-p.i < 12 && !isWindowSep(p.src[end]) && !isDigit(p.src[end]) {
		end++
	}
	if end == p.i {
		end = p.i + 1
	}
	return invalid("「%s」が読み取れませんでした。曜日（月〜日 または Mon〜Sun）と時間帯を%sのように入力してください。", string(p.src[p.i:end]), windowsExample)
}

// timeRange reads "19:00-21:00" and returns minutes from midnight.
func (p *windowParser) timeRange() (from, to int, err error) {
	start := p.i
	if from, err = p.clock(); err != nil {
		return 0, 0, err
	}
	p.skipSpace()
	if p.i >= len(p.src) || p.src[p.i] != '-' {
		return 0, 0, invalid("「%s」の終わりの時刻がありません。「%s-21:00」のように始まりと終わりを書いてください。", string(p.src[start:p.i]), strings.TrimSpace(string(p.src[start:p.i])))
	}
	p.i++
	p.skipSpace()
	if p.i >= len(p.src) || !isDigit(p.src[p.i]) {
		return 0, 0, invalid("「%s」の終わりの時刻がありません。「19:00-21:00」のように始まりと終わりを書いてください。", string(p.src[start:p.i]))
	}
	if to, err = p.clock(); err != nil {
		return 0, 0, err
	}
	if from >= to {
		return 0, 0, invalid("「%s」は終わりが始まりより前です。日をまたぐ場合は「金 22:00-24:00, 土 0:00-1:00」のように分けて入力してください。", string(p.src[start:p.i]))
	}
	return from, to, nil
}

// clock reads 19:00, 19時, 19時半 or 19時30分. A bare hour ("19-21") is accepted too.
func (p *windowParser) clock() (int, error) {
	start := p.i
	num := func(maxDigits int) (int, bool) {
		n, k := 0, 0
		for p.i < len(p.src) && isDigit(p.src[p.i]) {
			if k == maxDigits {
				return 0, false
			}
			n = n*10 + int(p.src[p.i]-'0')
			p.i++
			k++
		}
		return n, k > 0
	}
	bad := func() (int, error) {
		for p.i < len(p.src) && (isDigit(p.src[p.i]) || p.src[p.i] == ':' || p.src[p.i] == '時' || p.src[p.i] == '分' || p.src[p.i] == '半') {
			p.i++
		}
		return 0, invalid("「%s」は時刻として読み取れませんでした。0:00〜24:00 の範囲で「19:00」や「19時半」のように入力してください。", string(p.src[start:p.i]))
	}
	h, ok := num(2)
	if !ok {
		return bad()
	}
	m := 0
	if p.i < len(p.src) {
		switch p.src[p.i] {
		case ':':
			p.i++
			ms := p.i
			if m, ok = num(2); !ok || p.i-ms != 2 {
				return bad()
			}
		case '時':
			p.i++
			switch {
			case p.i < len(p.src) && p.src[p.i] == '半':
				p.i++
				m = 30
			case p.i < len(p.src) && isDigit(p.src[p.i]):
				if m, ok = num(2); !ok || p.i >= len(p.src) || p.src[p.i] != '分' {
					return bad()
				}
				p.i++
			}
		}
	}
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return bad()
	}
	return h*60 + m, nil
}
