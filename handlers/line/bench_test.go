package line_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/line"
)

// Replies the renderer sees most: the menu (quick replies), a candidate card (Flex), and a
// long answer that is split.
var benchReplies = map[string]bot.Reply{
	"menu": {Text: "メニュー（デモ市 / 候補者）\nご用件をお選びください。", Choices: []bot.Choice{
		{Label: "候補者として登録", Action: "cand.register"}, {Label: "登録内容の確認", Action: "cand.profile"},
		{Label: "登録内容の変更", Action: "cand.edit"}, {Label: "データ出力", Action: "cand.export"},
		{Label: "登録の削除", Action: "cand.delete"}, {Label: "自分の登録状況", Action: "whoami"}}},
	"flex_card": {Kind: "candidate_card", Text: "候補者プロフィール", Fields: []bot.Field{
		{Label: "スキル", Value: "kintone, RPA, 業務改善"}, {Label: "経験", Value: "自治体DX支援 5年"}, {Label: "地域", Value: "北海道・東北"},
		{Label: "稼働", Value: "週2日（火・木）"}, {Label: "形態", Value: "リモート可"}, {Label: "報酬", Value: "応相談"},
		{Label: "同意", Value: "2026-11-01 取得"}, {Label: "更新", Value: "2026-11-20"}},
		Choices: []bot.Choice{{Label: "紹介を依頼", Action: "cand.intro", Value: "c12"}, {Label: "メニュー", Action: "menu"}}},
	"long_text": {Text: strings.Repeat("市民の皆さまからの問い合わせ対応を効率化したい。", 250)},
}

// BenchmarkRenderFlex renders one reply to LINE messages and encodes them as the SDK sends them.
func BenchmarkRenderFlex(b *testing.B) {
	for _, name := range []string{"menu", "flex_card", "long_text"} {
		r := benchReplies[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				msgs := line.Render(r)
				if len(msgs) == 0 {
					b.Fatal("no messages")
				}
				if _, err := json.Marshal(msgs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
