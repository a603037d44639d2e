package match

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ikawaha/kagome-dict/dict"
	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
)

// The domain dictionary and the stop list are data, not code: reviewers from
// the DX team can read and extend them without reading Go.
var (
	//go:embed userdict.txt
	userDictText string
	//go:embed stopwords.txt
	stopWordsText string
)

// maxAnalyzeBytes bounds the text one call analyses. Needs are at most 2,000
// characters and profiles shorter still; the bound keeps a hostile or broken
// input from holding a CPU for seconds.
const maxAnalyzeBytes = 16 << 10

// Analyzer turns Japanese (and English) free text into the terms the index
// matches on. It wraps kagome with the IPA dictionary in Search mode plus the
// embedded domain dictionary (userdict.txt) and stop list (stopwords.txt).
//
// An Analyzer is immutable after construction and safe for concurrent use;
// loading the IPA dictionary takes about a second and ~100 MB, so the process
// shares one through Default.
type Analyzer struct {
	tok *tokenizer.Tokenizer
	// phrases maps a token sequence (surfaces joined by "\x00") to its concept.
	phrases map[string]*concept
	// maxRun is the longest phrase, in tokens, that starts with a given token;
	// it lets the phrase scan skip tokens that start no phrase.
	maxRun map[string]int
	stop   map[string]bool
}

// concept is one line of userdict.txt.
type concept struct {
	canonical string
	implied   []string
}

var (
	defaultOnce     sync.Once
	defaultAnalyzer *Analyzer
)

// Default returns the process-wide Analyzer, loading the IPA dictionary on the
// first call. It panics if the embedded dictionaries are malformed, which the
// package tests rule out for every build.
func Default() *Analyzer {
	defaultOnce.Do(func() {
		a, err := newAnalyzer(userDictText, stopWordsText)
		if err != nil {
			panic(fmt.Sprintf("match: load analyzer: %v", err))
		}
		defaultAnalyzer = a
	})
	return defaultAnalyzer
}

// newAnalyzer builds an Analyzer from the text of a domain dictionary and a
// stop list.
func newAnalyzer(userDict, stopWords string) (*Analyzer, error) {
	base, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
	if err != nil {
		return nil, err
	}
	lines, err := parseUserDict(userDict)
	if err != nil {
		return nil, err
	}

	// Japanese variants that IPA would split go to kagome's user dictionary so
	// the lattice keeps them whole. Words IPA already keeps whole stay out: a
	// zero-cost user entry wins against longer dictionary words around it.
	var records dict.UserDictRecords
	seen := map[string]string{}
	for _, l := range lines {
		for _, v := range l.variants {
			if prev, dup := seen[v]; dup {
				return nil, fmt.Errorf("userdict: variant %q of %q already belongs to %q", v, l.c.canonical, prev)
			}
			seen[v] = l.c.canonical
			if strings.ContainsRune(v, ' ') || hasASCIIAlnum(v) {
				continue
			}
			if !splits(base, v) {
				continue
			}
			records = append(records, dict.UserDicRecord{Text: v, Tokens: []string{v}, Yomi: []string{v}, Pos: "カスタム名詞"})
		}
	}
	tok := base
	if len(records) > 0 {
		ud, err := records.NewUserDict()
		if err != nil {
			return nil, fmt.Errorf("userdict: %w", err)
		}
		if tok, err = tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos(), tokenizer.UserDict(ud)); err != nil {
			return nil, err
		}
	}

	a := &Analyzer{tok: tok, phrases: map[string]*concept{}, maxRun: map[string]int{}, stop: map[string]bool{}}
	// Phrase keys come from the same tokenizer that will see real text, so a
	// variant is found exactly when it is tokenised the same way in context.
	for _, l := range lines {
		for _, v := range l.variants {
			toks := contentTokens(tok.Analyze(v, tokenizer.Search))
			if len(toks) == 0 {
				return nil, fmt.Errorf("userdict: variant %q of %q has no tokens", v, l.c.canonical)
			}
			key := make([]string, len(toks))
			for i, t := range toks {
				key[i] = t.Surface
			}
			k := strings.Join(key, "\x00")
			if prev, dup := a.phrases[k]; dup && prev != l.c {
				return nil, fmt.Errorf("userdict: %q (%q) and %q tokenise alike", v, l.c.canonical, prev.canonical)
			}
			a.phrases[k] = l.c
			if len(toks) > a.maxRun[key[0]] {
				a.maxRun[key[0]] = len(toks)
			}
		}
	}
	for _, line := range strings.Split(stopWords, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, w := range strings.Fields(line) {
			a.stop[Normalize(w)] = true
		}
	}
	return a, nil
}

// splits reports whether the IPA tokenizer may cut a word in two: it does so
// alone or between particles, or the word is not in IPA at all — unknown
// words are grouped by character class and context (スマホ is whole alone but
// becomes スマ|ホ in 住民がスマホで).
func splits(t *tokenizer.Tokenizer, w string) bool {
	if toks := t.Analyze(w, tokenizer.Search); len(toks) == 1 && toks[0].Class == tokenizer.UNKNOWN {
		return true
	}
	for _, ctx := range [][2]string{{"", ""}, {"が", "で"}, {"の", "を"}, {"と", "の"}} {
		in := ctx[0] + w + ctx[1]
		for _, tk := range t.Analyze(in, tokenizer.Search) {
			if tk.Position == len(ctx[0]) {
				if len(tk.Surface) != len(w) {
					return true
				}
				break
			}
			if tk.Position > len(ctx[0]) {
				return true
			}
		}
	}
	return false
}

type dictLine struct {
	c        *concept
	variants []string // normalised, including the canonical form
}

// parseUserDict reads "canonical = variant, ... => implied, ..." lines.
func parseUserDict(text string) ([]dictLine, error) {
	var out []dictLine
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lhs, implied, _ := strings.Cut(line, "=>")
		canon, vars, ok := strings.Cut(lhs, "=")
		canon = strings.TrimSpace(canon)
		if !ok || canon == "" {
			return nil, fmt.Errorf("userdict line %d: want \"canonical = variants [=> implied]\": %q", n, line)
		}
		if canon != strings.ToLower(canon) || strings.TrimSpace(canon) != canon {
			return nil, fmt.Errorf("userdict line %d: canonical %q must be lower case", n, canon)
		}
		l := dictLine{c: &concept{canonical: canon}}
		set := map[string]bool{}
		for _, v := range append([]string{canon}, strings.Split(vars, ",")...) {
			v = Normalize(v)
			if v != "" && !set[v] {
				set[v] = true
				l.variants = append(l.variants, v)
			}
		}
		for _, im := range strings.Split(implied, ",") {
			if im = strings.TrimSpace(im); im != "" {
				if im == canon {
					return nil, fmt.Errorf("userdict line %d: %q implies itself", n, canon)
				}
				l.c.implied = append(l.c.implied, im)
			}
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// Terms returns the content terms of text in text order: domain concepts in
// their canonical form (キントーン → kintone) followed by the broader terms they
// imply (uipath → rpa), nouns as written, verbs in their base form; particles,
// auxiliaries, symbols, numbers, suffixes and stop words are dropped. A term
// that occurs twice is returned twice, because BM25 counts occurrences.
func (a *Analyzer) Terms(text string) []string {
	return a.terms(Normalize(text))
}

// terms analyses text that is already normalised.
func (a *Analyzer) terms(norm string) []string {
	if len(norm) > maxAnalyzeBytes {
		norm = strings.ToValidUTF8(norm[:maxAnalyzeBytes], "")
	}
	if norm == "" {
		return nil
	}
	toks := contentTokens(a.tok.Analyze(capRuns(norm), tokenizer.Search))
	out := make([]string, 0, len(toks))
	var key strings.Builder
	for i := 0; i < len(toks); {
		// Longest phrase first, so "power automate" wins over "power".
		if run := min(a.maxRun[toks[i].Surface], len(toks)-i); run > 0 {
			var found *concept
			n := 0
			key.Reset()
			for j := 0; j < run; j++ {
				if j > 0 {
					key.WriteByte(0)
				}
				key.WriteString(toks[i+j].Surface)
				if c, ok := a.phrases[key.String()]; ok {
					found, n = c, j+1
				}
			}
			if found != nil {
				out = append(out, found.canonical)
				out = append(out, found.implied...)
				i += n
				continue
			}
		}
		if t, ok := a.content(toks[i]); ok {
			out = append(out, t)
		}
		i++
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// content decides whether one token is a content term and in which form.
func (a *Analyzer) content(t tokenizer.Token) (string, bool) {
	pos := t.POS()
	if len(pos) == 0 {
		return "", false
	}
	term := t.Surface
	switch pos[0] {
	case "名詞":
		if len(pos) > 1 {
			switch pos[1] {
			case "非自立", "代名詞", "数", "接尾", "副詞可能", "特殊", "ナイ形容詞語幹", "接続詞的", "動詞非自立的":
				return "", false
			}
		}
	case "動詞":
		if len(pos) > 1 && pos[1] != "自立" {
			return "", false
		}
		if b, ok := t.BaseForm(); ok && b != "" && b != "*" {
			term = b
		}
	case "カスタム名詞":
		// A user-dictionary word; phrases already folded it, keep it as is.
	default:
		// 助詞, 助動詞, 記号, 形容詞, 副詞, 連体詞, 接続詞, 接頭詞, フィラー, 感動詞:
		// none of them names a skill or a task.
		return "", false
	}
	if a.stop[term] || !meaningful(term) {
		return "", false
	}
	return term, true
}

// meaningful drops one-character leftovers (a stray kana or latin letter)
// while keeping one-kanji words such as 税 or 窓.
func meaningful(term string) bool {
	r, size := utf8.DecodeRuneInString(term)
	if size == len(term) {
		return isHan(r)
	}
	for _, r := range term {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// maxRunRunes caps runs of katakana or latin/other letters before analysis.
// kagome groups such unknown characters into candidate words of every length,
// which is quadratic in the run: 3,000 katakana in a row took 1.5 s, capped
// 35 ms. No real word is 32 characters long (デジタルトランスフォーメーション
// has 16), so cutting there costs nothing.
const maxRunRunes = 32

// capRuns inserts a space into every run of katakana or of other non-Japanese
// letters and digits longer than maxRunRunes. Kanji and hiragana are left
// alone: IPA knows them and does not group them into long unknown words.
func capRuns(s string) string {
	var b strings.Builder
	class, n := 0, 0
	for i, r := range s {
		c := 0
		switch {
		case r == ' ' || isHan(r) || unicode.Is(unicode.Hiragana, r):
		case isKatakana(r):
			c = 1
		default:
			c = 2
		}
		if c != 0 && c == class {
			n++
		} else {
			n = 1
		}
		class = c
		if n > maxRunRunes {
			if b.Len() == 0 {
				b.Grow(len(s) + len(s)/maxRunRunes)
				b.WriteString(s[:i])
			}
			b.WriteByte(' ')
			n = 1
		}
		if b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return s
	}
	return b.String()
}

// contentTokens drops the whitespace tokens that Normalize left between words,
// so that phrases match across a space ("power automate") and across the
// punctuation Normalize turned into spaces ("ai-ocr").
func contentTokens(toks []tokenizer.Token) []tokenizer.Token {
	out := toks[:0]
	for _, t := range toks {
		if strings.TrimSpace(t.Surface) == "" {
			continue
		}
		out = append(out, t)
	}
	return out
}

func hasASCIIAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			return true
		}
	}
	return false
}

// bigrams returns the character bigrams of each katakana run and each kanji
// run of normalised text. They are the secondary field: they let 電子申請 in a
// profile meet 申請 in a need, and オンライン申請 meet 電子申請 halfway, where
// whole-word terms cannot. Runs are split at script changes because bigrams
// such as 災ア (防災アプリ) span two words and only add noise.
func bigrams(norm string) []string {
	if len(norm) > maxAnalyzeBytes {
		norm = strings.ToValidUTF8(norm[:maxAnalyzeBytes], "")
	}
	var out []string
	prevClass := 0
	prevPos := 0
	for i, r := range norm {
		class := 0
		switch {
		case isKatakana(r):
			class = 1
		case isHan(r):
			class = 2
		}
		if class != 0 && class == prevClass {
			out = append(out, norm[prevPos:i+utf8.RuneLen(r)])
		}
		prevClass, prevPos = class, i
	}
	return out
}
