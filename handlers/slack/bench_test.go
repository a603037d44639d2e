package slack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
	kslack "github.com/kakehashi/kakehashi/handlers/slack"
)

// Replies the renderer sees most: the menu, a need card, and a long answer that is split.
var benchReplies = map[string]bot.Reply{
	"menu": {Text: "メニュー（デモ市 / 職員）\nご用件をお選びください。", Choices: []bot.Choice{
		{Label: "ニーズを登録（相談する）", Action: "need.new"}, {Label: "私のニーズ", Action: "need.mine"},
		{Label: "面談を予約", Action: "meeting.book"}, {Label: "私の面談", Action: "meeting.list"},
		{Label: "自分の登録状況", Action: "whoami"}, {Label: "言語 / Language", Action: "lang"}}},
	"need_card": {Kind: "need_card", Text: "#12 窓口予約のオンライン化 <@U123> <!channel>", Fields: []bot.Field{
		{Label: "状態", Value: "受付"}, {Label: "優先度", Value: "高（72）"}, {Label: "部署", Value: "市民課"},
		{Label: "カテゴリ", Value: "業務改善"}, {Label: "緊急度", Value: "中"}, {Label: "期限", Value: "2026-12-25"},
		{Label: "影響", Value: "1200"}, {Label: "支援形態", Value: "伴走支援"}},
		Choices: []bot.Choice{{Label: "支援する", Action: "need.support", Value: "12"}, {Label: "編集", Action: "need.edit", Value: "12"},
			{Label: "取り下げ", Action: "need.withdraw", Value: "12"}, {Label: "メニュー", Action: "menu"}}},
	"long_text": {Text: strings.Repeat("市民の皆さまからの問い合わせ対応を効率化したい。", 250)},
}

// BenchmarkRenderBlockKit renders one reply to Block Kit and encodes it as chat.postMessage sends it.
func BenchmarkRenderBlockKit(b *testing.B) {
	for _, name := range []string{"menu", "need_card", "long_text"} {
		r := benchReplies[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				blocks := kslack.Render(r)
				if len(blocks) == 0 {
					b.Fatal("no blocks")
				}
				if _, err := json.Marshal(blocks); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
