package match

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize folds the many ways Japanese staff type the same word into one
// spelling, so that matching never depends on an IME setting: NFKC (full-width
// ＡＢＣ and half-width ｶﾀｶﾅ become ABC and カタカナ), lower case, every
// punctuation mark or symbol (、。・/「」…) becomes a space, runs of spaces
// become one, and a hyphen typed between katakana becomes the long-vowel mark ー
// (ユ－ザ－名 → ユーザ 名, コ－ド → コード). Invalid UTF-8 is dropped rather than guessed at.
//
// Normalize is idempotent: Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	// NFKC again after ToLower when it changed something: lower-casing may leave
	// a sequence NFKC would compose differently, and idempotence is what lets
	// callers normalise early.
	s = norm.NFKC.String(s)
	if l := strings.ToLower(s); l != s {
		s = norm.NFKC.String(l)
	}

	var b strings.Builder
	b.Grow(len(s))
	space := true    // suppress leading spaces
	dropped := false // the previous rune became a space
	recheck := false // a combining mark now follows a different rune
	var prev rune
	for i, r := range s {
		switch {
		case isHyphen(r) && isKatakana(prev) && isKatakana(nextRune(s, i)):
			r = 'ー'
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) ||
			unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			if !space {
				b.WriteByte(' ')
				space = true
			}
			dropped, prev = true, r
			continue
		}
		if dropped && unicode.Is(unicode.M, r) {
			recheck = true
		}
		b.WriteRune(r)
		space, dropped, prev = false, false, r
	}
	out := strings.TrimSuffix(b.String(), " ")
	if recheck && !norm.NFKC.IsNormalString(out) {
		// Dropping a symbol put a combining mark next to a rune it composes
		// with; one more pass keeps the result stable.
		return Normalize(out)
	}
	return out
}

// nextRune returns the rune after the one at byte offset i, or 0 at the end.
func nextRune(s string, i int) rune {
	_, size := utf8.DecodeRuneInString(s[i:])
	r, _ := utf8.DecodeRuneInString(s[i+size:])
	if r == utf8.RuneError {
		return 0
	}
	return r
}

// isHyphen reports dash-like runes that NFKC leaves alone but that people type
// in place of the katakana long-vowel mark.
func isHyphen(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−':
		return true
	}
	return false
}

// isKatakana reports full-width katakana including the long-vowel mark, which
// Unicode files under Common rather than Katakana.
func isKatakana(r rune) bool {
	return r == 'ー' || (unicode.Is(unicode.Katakana, r) && r != '・')
}

// isHan reports kanji, including the iteration mark 々 and the small ヶ used in
// place names (霞ヶ関), which belong in the same word as the kanji around them.
func isHan(r rune) bool {
	return unicode.Is(unicode.Han, r) || r == '々' || r == 'ヶ' || r == '〆'
}
