package match

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Requirement names one structured condition of a Query.
type Requirement string

// The structured requirements a Query can state, in the order explanations
// list them.
const (
	ReqCategory   Requirement = "category"
	ReqMICType    Requirement = "mic_type"
	ReqDays       Requirement = "days"
	ReqHours      Requirement = "hours"
	ReqWorkStyle  Requirement = "work_style"
	ReqRegion     Requirement = "region"
	ReqEngagement Requirement = "engagement"
)

// reqWeight is each requirement's share of the structured fit. Category and
// availability decide whether a person can help at all; the rest refine.
var reqWeight = map[Requirement]float64{
	ReqCategory:   3,
	ReqMICType:    1,
	ReqDays:       2,
	ReqHours:      1,
	ReqWorkStyle:  2,
	ReqRegion:     1,
	ReqEngagement: 1,
}

// Status is the outcome of one requirement for one document.
type Status int8

const (
	// Met means the document states a value and it satisfies the query.
	Met Status = iota + 1
	// Unmet means the document states a value and it does not satisfy the query.
	Unmet
	// Unknown means the document states nothing about it. Unknown earns no
	// points: a profile that leaves its days empty must not outrank one that
	// honestly says "weekends only" for a weekend need.
	Unknown
)

// String returns the status in lower-case English, for logs and JSON.
func (s Status) String() string {
	switch s {
	case Met:
		return "met"
	case Unmet:
		return "unmet"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("Status(%d)", int8(s))
}

// MarshalText makes a Status read as met/unmet/unknown in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Check is the structured form of one requirement's outcome; Met and Unmet on
// Result are its Japanese renderings, Text renders it in either language.
type Check struct {
	Requirement Requirement
	Status      Status
	// Want is what the query asked for and Have what the document says, both as
	// stable identifiers (weekday_evening, remote, 20); Have is empty when
	// Status is Unknown.
	Want, Have string
}

// Days of availability, engagement forms and work styles, as stored in
// profiles (SPEC §5). Unknown values in a Doc are ignored, never guessed.
const (
	DayWeekdayEvening = "weekday_evening"
	DayWeekend        = "weekend"
	DayWeekdayDaytime = "weekday_daytime"

	EngagementSideJob           = "side_job"
	EngagementSecondment        = "secondment"
	EngagementContract          = "contract"
	EngagementFixedTermEmployee = "fixed_term_employee"

	WorkRemote = "remote"
	WorkOnsite = "onsite"
	WorkEither = "either"
)

var dayBits = map[string]uint8{DayWeekdayEvening: 1, DayWeekend: 2, DayWeekdayDaytime: 4}
var engagementBits = map[string]uint8{EngagementSideJob: 1, EngagementSecondment: 2, EngagementContract: 4, EngagementFixedTermEmployee: 8}

// Work styles as bits: what a person offers (remote=1, onsite=2, either=3).
var styleBits = map[string]uint8{WorkRemote: 1, WorkOnsite: 2, WorkEither: 3}

// labels gives the Japanese and English words users see for identifiers.
var labels = map[string][2]string{
	// categories (SPEC §4)
	"web_ux":              {"Web・UX", "web & UX"},
	"rpa_automation":      {"RPA・業務自動化", "RPA & automation"},
	"data_ai":             {"データ・AI", "data & AI"},
	"infra_security":      {"インフラ・セキュリティ", "infrastructure & security"},
	"pm_procurement":      {"PM・調達", "PM & procurement"},
	"cio_strategy":        {"CIO・DX戦略", "CIO & DX strategy"},
	"promotion_pr":        {"広報・PR", "promotion & PR"},
	"disaster_prevention": {"防災", "disaster prevention"},
	"other":               {"その他", "other"},
	// MIC talent types
	"producer":         {"プロデューサー", "producer"},
	"project_manager":  {"プロジェクトマネージャー", "project manager"},
	"service_designer": {"サービスデザイナー", "service designer"},
	"engineer":         {"エンジニア", "engineer"},
	// days, engagement, work style
	DayWeekdayEvening:           {"平日夜", "weekday evenings"},
	DayWeekend:                  {"土日", "weekends"},
	DayWeekdayDaytime:           {"平日日中", "weekday daytime"},
	EngagementSideJob:           {"副業", "side job"},
	EngagementSecondment:        {"出向", "secondment"},
	EngagementContract:          {"業務委託", "contract"},
	EngagementFixedTermEmployee: {"任期付職員", "fixed-term employee"},
	WorkRemote:                  {"リモートのみ", "remote only"},
	WorkOnsite:                  {"現地のみ", "on-site only"},
	WorkEither:                  {"リモート・現地どちらも可", "remote or on-site"},
}

// label renders a comma-separated list of identifiers in one language.
func label(ids, lang string) string {
	if ids == "" {
		return ""
	}
	i := 0
	if isEnglish(lang) {
		i = 1
	}
	parts := strings.Split(ids, ",")
	for k, p := range parts {
		if l, ok := labels[p]; ok {
			parts[k] = l[i]
		}
	}
	sep := "・"
	if i == 1 {
		sep = ", "
	}
	return strings.Join(parts, sep)
}

func isEnglish(lang string) bool {
	return strings.HasPrefix(strings.ToLower(lang), "en")
}

// Text renders the check as one short sentence in Japanese (lang "ja" or
// empty) or English ("en"), e.g. "稼働日が不明（未評価）".
func (c Check) Text(lang string) string {
	en := isEnglish(lang)
	want, have := label(c.Want, lang), label(c.Have, lang)
	pick := func(ja, e string) string {
		if en {
			return e
		}
		return ja
	}
	if c.Status == Unknown {
		subject := map[Requirement][2]string{
			ReqCategory:   {"カテゴリ", "category"},
			ReqMICType:    {"人材タイプ", "talent type"},
			ReqDays:       {"稼働日", "available days"},
			ReqHours:      {"稼働時間", "hours per week"},
			ReqWorkStyle:  {"リモート／現地の可否", "remote or on-site"},
			ReqRegion:     {"地域", "region"},
			ReqEngagement: {"契約形態", "engagement form"},
		}[c.Requirement]
		return pick(subject[0]+"が不明（未評価）", subject[1]+" unknown (not scored)")
	}
	met := c.Status == Met
	switch c.Requirement {
	case ReqCategory:
		if met {
			return pick("カテゴリ一致: "+want, "category matches: "+want)
		}
		return pick("カテゴリ不一致: 希望 "+want+"（候補: "+have+"）", "category differs: wanted "+want+" (has "+have+")")
	case ReqMICType:
		if met {
			return pick("人材タイプ一致: "+want, "talent type matches: "+want)
		}
		return pick("人材タイプ不一致: 希望 "+want+"（候補: "+have+"）", "talent type differs: wanted "+want+" (is "+have+")")
	case ReqDays:
		if met {
			return pick("稼働日が合う: "+have, "available on "+have)
		}
		return pick("稼働日が合わない: 希望 "+want+"（候補: "+have+"）", "days differ: wanted "+want+" (available "+have+")")
	case ReqHours:
		if met {
			return pick("稼働時間: 週"+c.Have+"時間（希望 "+c.Want+"時間以上）", c.Have+" h/week (wanted "+c.Want+"+)")
		}
		return pick("稼働時間が不足: 週"+c.Have+"時間（希望 "+c.Want+"時間以上）", "only "+c.Have+" h/week (wanted "+c.Want+"+)")
	case ReqWorkStyle:
		if c.Want == WorkRemote {
			if met {
				return pick("リモート可", "remote OK")
			}
			return pick("リモート不可（"+have+"）", "no remote work ("+have+")")
		}
		if met {
			return pick("現地対応可", "on-site OK")
		}
		return pick("現地対応不可（"+have+"）", "no on-site work ("+have+")")
	case ReqRegion:
		if met {
			return pick("地域一致: "+c.Have, "region matches: "+c.Have)
		}
		return pick("地域不一致: 希望 "+c.Want+"（候補: "+c.Have+"）", "region differs: wanted "+c.Want+" (is "+c.Have+")")
	case ReqEngagement:
		if met {
			return pick("契約形態が合う: "+have, "engagement fits: "+have)
		}
		return pick("契約形態が合わない: 希望 "+want+"（候補: "+have+"）", "engagement differs: wanted "+want+" (offers "+have+")")
	}
	return string(c.Requirement) + ": " + c.Status.String()
}

// profile is the structured part of a Doc in compact form. The index keeps
// them in one array and evaluates one per candidate of every query, so it is
// 24 bytes of integers: strings are interned, categories are bits.
type profile struct {
	cats   uint64 // bit i: the category with catBit i (see Index.catBits)
	region uint32 // interned region, 0 = not stated
	mic    uint32 // interned MIC type, 0 = not stated
	hours  int32  // 0 = not stated
	days   uint8
	style  uint8
	eng    uint8
	// moreCats says the document also has categories beyond the first 64
	// distinct ones the index has seen, kept in Index.extraCats.
	moreCats bool
}

// need is the structured part of a Query, compiled once per query.
type need struct {
	cat      uint32 // category term id; 0 when no document has the category
	catBit   uint64 // its bit in profile.cats; 0 when it has none
	catName  string
	mic      uint32 // interned; 0 when no document has this MIC type
	micName  string
	days     uint8
	daysText string
	hours    int32
	style    string // remote or onsite; "" when the query does not care
	region   string
	regionOK []bool // by interned region: does it satisfy region?
	eng      uint8
	engText  string
	total    float64 // sum of the weights of the stated requirements
}

func bits(values []string, table map[string]uint8) uint8 {
	var m uint8
	for _, v := range values {
		m |= table[strings.ToLower(strings.TrimSpace(v))]
	}
	return m
}

// bitNames lists the identifiers of a bit set in a stable order.
func bitNames(m uint8, table map[string]uint8) string {
	var names []string
	for name, bit := range table {
		if m&bit != 0 {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return int(table[a]) - int(table[b]) })
	return strings.Join(names, ",")
}

func ident(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// compileNeed turns a Query's structured part into a need; the caller holds
// a lock. Values it does not know (a misspelt day) are dropped rather than
// matched against anything.
func (ix *Index) compileNeed(q Query) need {
	n := need{catName: ident(q.Category), micName: ident(q.MICType), days: bits(q.Days, dayBits), eng: bits(q.Engagement, engagementBits)}
	if n.catName != "" {
		n.total += reqWeight[ReqCategory]
		n.cat = ix.dict[fieldKey(fieldCategory, n.catName)]
		n.catBit = ix.catBits[n.cat]
	}
	if n.micName != "" {
		n.total += reqWeight[ReqMICType]
		n.mic = ix.mics.ids[n.micName]
	}
	if n.days != 0 {
		n.total += reqWeight[ReqDays]
		n.daysText = bitNames(n.days, dayBits)
	}
	if q.MinHours > 0 {
		n.hours = int32(min(q.MinHours, math.MaxInt32))
		n.total += reqWeight[ReqHours]
	}
	if s := ident(q.WorkStyle); s == WorkRemote || s == WorkOnsite {
		n.style = s
		n.total += reqWeight[ReqWorkStyle]
	}
	// A region only matters when someone has to come to the office.
	if r := Normalize(q.Region); r != "" && n.style != WorkRemote {
		n.region = r
		n.total += reqWeight[ReqRegion]
		n.regionOK = make([]bool, len(ix.regions.names))
		for i, name := range ix.regions.names {
			n.regionOK[i] = i > 0 && regionMatch(r, name)
		}
	}
	if n.eng != 0 {
		n.total += reqWeight[ReqEngagement]
		n.engText = bitNames(n.eng, engagementBits)
	}
	return n
}

// hasCat reports whether the document at ord has the need's category.
func (ix *Index) hasCat(n *need, ord uint32, p *profile) bool {
	switch {
	case n.cat == 0:
		return false
	case n.catBit != 0:
		return p.cats&n.catBit != 0
	default:
		return p.moreCats && slices.Contains(ix.extraCats[ord], n.cat)
	}
}

// fit returns the weighted share of stated requirements the profile meets, in
// [0,1]. Unknown counts as not met. It runs for many candidates, so it only
// compares integers.
func (ix *Index) fit(n *need, ord uint32) float64 {
	if n.total == 0 {
		return 0
	}
	p := &ix.profiles[ord]
	var got float64
	if n.catName != "" && ix.hasCat(n, ord, p) {
		got += reqWeight[ReqCategory]
	}
	if n.mic != 0 && p.mic == n.mic {
		got += reqWeight[ReqMICType]
	}
	if n.days != 0 && p.days&n.days != 0 {
		got += reqWeight[ReqDays]
	}
	if n.hours > 0 && p.hours >= n.hours {
		got += reqWeight[ReqHours]
	}
	if n.style != "" && p.style&styleBits[n.style] != 0 {
		got += reqWeight[ReqWorkStyle]
	}
	if n.region != "" && n.regionOK[p.region] {
		got += reqWeight[ReqRegion]
	}
	if n.eng != 0 && p.eng&n.eng != 0 {
		got += reqWeight[ReqEngagement]
	}
	return got / n.total
}

// regionMatch accepts a region written more or less precisely on either side
// (岡山県 and 岡山県岡山市).
func regionMatch(want, have string) bool {
	return have != "" && (strings.Contains(have, want) || strings.Contains(want, have))
}

// checks explains every stated requirement for one document; the index calls
// it only for the results it returns.
func (ix *Index) checks(n *need, ord uint32) []Check {
	p := &ix.profiles[ord]
	var out []Check
	add := func(r Requirement, known, ok bool, want, have string) {
		c := Check{Requirement: r, Want: want, Have: have, Status: Unmet}
		switch {
		case !known:
			c.Status, c.Have = Unknown, ""
		case ok:
			c.Status = Met
		}
		out = append(out, c)
	}
	if n.catName != "" {
		have := ix.categories(ord)
		add(ReqCategory, len(have) > 0, ix.hasCat(n, ord, p), n.catName, strings.Join(have, ","))
	}
	if n.micName != "" {
		add(ReqMICType, p.mic != 0, n.mic != 0 && p.mic == n.mic, n.micName, ix.mics.names[p.mic])
	}
	if n.days != 0 {
		// Name the days that fit when there are some; otherwise all the person offers.
		have := p.days
		if p.days&n.days != 0 {
			have = p.days & n.days
		}
		add(ReqDays, p.days != 0, p.days&n.days != 0, n.daysText, bitNames(have, dayBits))
	}
	if n.hours > 0 {
		add(ReqHours, p.hours > 0, p.hours >= n.hours, fmt.Sprint(n.hours), fmt.Sprint(p.hours))
	}
	if n.style != "" {
		have := ""
		for name, bit := range styleBits {
			if p.style == bit {
				have = name
			}
		}
		add(ReqWorkStyle, p.style != 0, p.style&styleBits[n.style] != 0, n.style, have)
	}
	if n.region != "" {
		add(ReqRegion, p.region != 0, n.regionOK[p.region], n.region, ix.regions.names[p.region])
	}
	if n.eng != 0 {
		have := p.eng
		if p.eng&n.eng != 0 {
			have = p.eng & n.eng
		}
		add(ReqEngagement, p.eng != 0, p.eng&n.eng != 0, n.engText, bitNames(have, engagementBits))
	}
	return out
}

// categories lists a document's category IDs, sorted so that explanations
// do not depend on the order the index first saw them in.
func (ix *Index) categories(ord uint32) []string {
	var out []string
	p := &ix.profiles[ord]
	for i, id := range ix.catByBit {
		if p.cats&(uint64(1)<<i) != 0 {
			out = append(out, ix.terms[id].text[1:])
		}
	}
	if p.moreCats {
		for _, id := range ix.extraCats[ord] {
			out = append(out, ix.terms[id].text[1:])
		}
	}
	slices.Sort(out)
	return out
}

// interner maps strings to small integers; 0 stands for "not stated".
type interner struct {
	ids   map[string]uint32
	names []string
}

func newInterner() interner { return interner{ids: map[string]uint32{}, names: []string{""}} }

func (in *interner) id(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := uint32(len(in.names))
	in.ids[s] = id
	in.names = append(in.names, s)
	return id
}
