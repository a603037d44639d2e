package match_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kakehashi/kakehashi/bot/match"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// The domain dictionary keeps words whole that IPA would cut (キン|トーン, ノー|コード, 電子|申請).
		{"kintone in katakana folds to kintone", "キントーンでアプリを作る", []string{"kintone", "ノーコード", "アプリ"}},
		{"half-width katakana too", "ｷﾝﾄｰﾝ", []string{"kintone", "ノーコード"}},
		{"no-code stays one term", "ノーコードツール", []string{"ノーコード", "ツール"}},
		{"e-application stays one term", "電子申請システムの導入", []string{"電子申請", "システム", "導入"}},
		{"synonym folding", "アールピーエーとオンライン申請", []string{"rpa", "電子申請"}},
		{"tools imply what they are for", "UiPathとWinActor", []string{"uipath", "rpa", "winactor", "rpa"}},
		{"multi-word phrase", "Power Automate Desktopで自動化", []string{"power automate", "rpa", "自動化"}},
		{"phrase across punctuation", "ＡＩ－ＯＣＲ", []string{"ai-ocr", "ocr", "ai"}},
		{"compound implies its head", "ガバメントクラウドへの移行", []string{"ガバメントクラウド", "クラウド", "移行"}},
		{"stop words and particles dropped", "RPAの経験がある人を支援できる", []string{"rpa"}},
		{"verbs in base form", "規程を見直したいので整えたい", []string{"規程", "見直す", "整える"}},
		{"ipa words are not cut by user entries", "オンラインでロードマップを共有", []string{"オンライン", "ロードマップ", "共有"}},
		{"unknown katakana kept whole in context", "住民がスマホで開ける", []string{"住民", "スマホ", "開ける"}},
		{"latin words", "PythonとSQLでデータ分析", []string{"python", "sql", "データ分析"}},
		{"empty", "", nil},
		{"only function words", "これはそれです。", nil},
	}
	a := match.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, a.Terms(tt.in)); diff != "" {
				t.Errorf("Terms(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestTermsPartsNotEmitted guards the user dictionary against regressions in
// which kagome cuts a domain word and its halves leak into the index.
func TestTermsPartsNotEmitted(t *testing.T) {
	a := match.Default()
	for in, parts := range map[string][]string{
		"キントーン":     {"キン", "トーン"},
		"ノーコード":     {"ノー", "コード"},
		"電子申請":      {"電子", "申請"},
		"ガバメントクラウド": {"ガバ", "メントクラウド"},
	} {
		got := a.Terms("市の" + in + "について")
		for _, p := range parts {
			if slices.Contains(got, p) {
				t.Errorf("Terms(%q) = %q contains fragment %q", in, got, p)
			}
		}
	}
}

func TestDefaultIsShared(t *testing.T) {
	if match.Default() != match.Default() {
		t.Fatal("Default returned two analyzers; the IPA dictionary must be loaded once")
	}
}

func TestAnalyzerRejectsBrokenDictionary(t *testing.T) {
	tests := []struct{ name, dict, wantErr string }{
		{"no equals sign", "rpa RPA\n", "want"},
		{"upper-case canonical", "RPA = rpa\n", "lower case"},
		{"variant in two concepts", "rpa = RPA, ロボ\nrobot = ロボ\n", "already belongs"},
		{"implies itself", "rpa = RPA => rpa\n", "implies itself"},
		{"variant without tokens", "rpa = 、。\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := match.NewAnalyzerFromText(tt.dict, "")
			if tt.wantErr == "" {
				// "、。" normalises to nothing and is skipped: still a valid dictionary.
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}
