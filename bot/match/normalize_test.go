package match_test

import (
	"testing"

	"github.com/kakehashi/kakehashi/bot/match"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"full-width latin", "ＲＰＡとＡＩ－ＯＣＲ", "rpaとai ocr"},
		{"half-width katakana", "ｷﾝﾄｰﾝでｱﾌﾟﾘ作成", "キントーンでアプリ作成"},
		{"full-width digits and space", "経験５年　ＧＩＳ", "経験5年 gis"},
		{"japanese punctuation", "UI/UX、デザイン。「防災」・避難", "ui ux デザイン 防災 避難"},
		{"collapse and trim", "  LGWAN \t\n  接続系  ", "lgwan 接続系"},
		{"hyphen between katakana is a long vowel", "ユ－ザ－名とコ-ド", "ユーザ 名とコード"},
		{"hyphen elsewhere is a separator", "AI-OCR と 2024-04", "ai ocr と 2024 04"},
		{"circled digits and units", "①㈱ｷﾛ", "1 株 キロ"},
		{"invalid utf-8 dropped", "RPA\xff\xfe導入", "rpa 導入"},
		{"empty", "", ""},
		{"only punctuation", "、。！？", ""},
		{"upper case latin beyond ascii", "ÀÉÎ", "àéî"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := match.Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := match.Normalize(got); again != got {
				t.Errorf("not idempotent: Normalize(%q) = %q", got, again)
			}
		})
	}
}
