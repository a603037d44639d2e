package match_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot/match"
)

// FuzzTerms feeds arbitrary text — as a need or a self-registered profile may
// contain — through Normalize and the Analyzer.
func FuzzTerms(f *testing.F) {
	for _, s := range []string{
		"窓口のRPA化を進めたい", "ｷﾝﾄｰﾝ", "ＡＩ－ＯＣＲ", "Power Automate Desktop", "ユ－ザ－",
		"UI/UX、デザイン。", "\xff\xfe", "①㈱", "ー－-ー", "", " ", "a", "ⅰⅱⅲ", "İstanbul", "ß", "ﬀ",
		"生成AIとChatGPT", "JIS X 8341-3", "LGWAN-ASP", strings.Repeat("ア", 3000),
	} {
		f.Add(s)
	}
	a := match.Default()
	f.Fuzz(func(t *testing.T, s string) {
		n := match.Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, n)
		}
		if again := match.Normalize(n); again != n {
			t.Fatalf("Normalize not idempotent: %q → %q → %q", s, n, again)
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("Normalize(%q) = %q has stray spaces", s, n)
		}
		terms := a.Terms(s)
		for _, term := range terms {
			if term == "" || !utf8.ValidString(term) || strings.TrimSpace(term) != term {
				t.Fatalf("Terms(%q) has bad term %q in %q", s, term, terms)
			}
		}
		if again := a.Terms(n); !slices.Equal(terms, again) {
			t.Fatalf("Terms depends on normalisation: Terms(%q) = %q, Terms(%q) = %q", s, terms, n, again)
		}
	})
}

// FuzzNormalize checks Normalize alone, which runs on every text, region and
// query; it is cheap enough to explore far more inputs than FuzzTerms.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ＡＩ－ＯＣＲ", "ｷﾝﾄｰﾝ", "ユ－ザ－", "a\u0301", "・\u0308a", "Ǆ", "ﬁ", "\u00a8", "ｶﾞ", "\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := match.Normalize(s)
		if !utf8.ValidString(n) || match.Normalize(n) != n {
			t.Fatalf("Normalize(%q) = %q, again %q", s, n, match.Normalize(n))
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("Normalize(%q) = %q has stray spaces", s, n)
		}
	})
}
