package line_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/line"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// wire marshals rendered messages the way the SDK sends them (through a request, which
// fills in the type discriminators) and decodes them generically.
func wire(t testing.TB, msgs []messaging_api.MessageInterface) []any {
	t.Helper()
	b, err := json.Marshal(&messaging_api.PushMessageRequest{To: "U1", Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	var req struct{ Messages []any }
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return req.Messages
}

// checkLimits applies the fake API's rules to each message (the 5-per-request rule is Send's).
func checkLimits(t *testing.T, msgs []any) {
	t.Helper()
	for _, m := range msgs {
		if p := lineProblems([]any{m}); len(p) > 0 {
			t.Errorf("rendered message breaks LINE limits: %v", p)
		}
	}
}

func TestRenderText(t *testing.T) {
	apple := strings.Repeat("🍎", 3000) // 6,000 UTF-16 units in 3,000 runes
	paragraphs := strings.Repeat("段落です。\n", 1000)
	tests := []struct {
		name  string
		text  string
		units []int
	}{
		{"short", "受け付けました #12", []int{11}},
		{"12,000 characters split at 5,000", strings.Repeat("x", 12000), []int{5000, 5000, 2000}},
		{"emoji count two and are never cut in half", apple, []int{5000, 1000}},
		{"cut after a newline when there is one", paragraphs, []int{4998, 1002}},
		{"blank text sends nothing", " \n ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := wire(t, line.Render(bot.Reply{Text: tt.text}))
			checkLimits(t, msgs)
			var units []int
			var joined strings.Builder
			for _, m := range msgs {
				text := m.(map[string]any)["text"].(string)
				if !utf8.ValidString(text) {
					t.Errorf("piece is not valid UTF-8 (a surrogate pair was split)")
				}
				units = append(units, len(utf16.Encode([]rune(text))))
				joined.WriteString(text)
			}
			if diff := cmp.Diff(tt.units, units); diff != "" {
				t.Errorf("UTF-16 units per message (-want +got):\n%s", diff)
			}
			if len(msgs) > 0 && joined.String() != tt.text {
				t.Error("the pieces do not join back to the text")
			}
		})
	}
}

// decodedChoice is what a person's tap sends back to the webhook.
type decodedChoice struct{ Label, Type, Action, Value, Display string }

func decodeActions(t *testing.T, msgs []any) []decodedChoice {
	t.Helper()
	var out []decodedChoice
	for _, m := range msgs {
		walkActions(m, func(a map[string]any) {
			c := decodedChoice{Type: a["type"].(string)}
			c.Label, _ = a["label"].(string)
			c.Display, _ = a["displayText"].(string)
			if data, ok := a["data"].(string); ok {
				c.Action, c.Value = line.DecodePostback(data)
			}
			if text, ok := a["text"].(string); ok {
				c.Value = text
			}
			out = append(out, c)
		})
	}
	return out
}

func TestRenderChoices(t *testing.T) {
	long := "アドバイザーとの面談を来週の平日夜に設定する" // 22 runes
	tests := []struct {
		name       string
		reply      bot.Reply
		wantTypes  []string // message types
		quickOn    int      // index of the message carrying quick replies, -1 for none
		wantChoice []decodedChoice
	}{{
		name:      "a few choices become quick replies on the text",
		reply:     bot.Reply{Text: "どうしますか？", Choices: []bot.Choice{{Label: "登録", Action: "confirm", Value: "yes"}, {Label: "やめる", Action: "cancel"}}},
		wantTypes: []string{"text"},
		quickOn:   0,
		wantChoice: []decodedChoice{
			{Label: "登録", Type: "postback", Action: "confirm", Value: "yes", Display: "登録"},
			{Label: "やめる", Type: "postback", Action: "cancel", Display: "やめる"},
		},
	}, {
		name:      "choices alone get a prompt to hang on",
		reply:     bot.Reply{Choices: []bot.Choice{{Label: "メニュー", Action: "menu"}}},
		wantTypes: []string{"text"},
		quickOn:   0,
		wantChoice: []decodedChoice{
			{Label: "メニュー", Type: "postback", Action: "menu", Display: "メニュー"},
		},
	}, {
		name:      "long labels are shortened, the chat still shows them in full",
		reply:     bot.Reply{Text: "?", Choices: []bot.Choice{{Label: long, Action: "pick", Value: "1"}}},
		wantTypes: []string{"text"},
		quickOn:   0,
		wantChoice: []decodedChoice{
			{Label: "アドバイザーとの面談を来週の平日夜に設…", Type: "postback", Action: "pick", Value: "1", Display: long},
		},
	}, {
		name:      "propose_time becomes a datetime picker",
		reply:     bot.Reply{Text: "候補日時", Choices: []bot.Choice{{Label: "別の日時を提案", Action: "propose_time", Value: "m-12"}, {Label: "日時を選ぶ", Action: "meeting.slot", Value: "datetime"}}},
		wantTypes: []string{"text"},
		quickOn:   0,
		wantChoice: []decodedChoice{
			{Label: "別の日時を提案", Type: "datetimepicker", Action: "propose_time", Value: "m-12"},
			{Label: "日時を選ぶ", Type: "datetimepicker", Action: "meeting.slot"},
		},
	}, {
		name:      "a value too long for postback data is sent as typed text",
		reply:     bot.Reply{Text: "?", Choices: []bot.Choice{{Label: "この内容で", Action: "answer", Value: strings.Repeat("長", 299)}}},
		wantTypes: []string{"text"},
		quickOn:   0,
		wantChoice: []decodedChoice{
			{Label: "この内容で", Type: "message", Value: strings.Repeat("長", 299)},
		},
	}, {
		name:      "an image can carry the quick replies",
		reply:     bot.Reply{Attachments: []bot.Attachment{{Name: "c.png", ContentType: "image/png", URL: "https://x.example/c.png"}}, Choices: []bot.Choice{{Label: "OK", Action: "ok"}}},
		wantTypes: []string{"image"},
		quickOn:   0,
		wantChoice: []decodedChoice{
			{Label: "OK", Type: "postback", Action: "ok", Display: "OK"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := wire(t, line.Render(tt.reply))
			checkLimits(t, msgs)
			var types []string
			quickOn := -1
			for i, m := range msgs {
				types = append(types, m.(map[string]any)["type"].(string))
				if _, ok := m.(map[string]any)["quickReply"]; ok {
					quickOn = i
				}
			}
			if diff := cmp.Diff(tt.wantTypes, types); diff != "" {
				t.Errorf("message types (-want +got):\n%s", diff)
			}
			if quickOn != tt.quickOn {
				t.Errorf("quick replies on message %d, want %d", quickOn, tt.quickOn)
			}
			if diff := cmp.Diff(tt.wantChoice, decodeActions(t, msgs)); diff != "" {
				t.Errorf("choices (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderManyChoices(t *testing.T) {
	for _, n := range []int{13, 14, 20, 121, 250} {
		choices := manyChoices(n)
		msgs := wire(t, line.Render(bot.Reply{Text: "部署を選んでください", Choices: choices}))
		checkLimits(t, msgs)
		var want []decodedChoice
		for _, c := range choices {
			want = append(want, decodedChoice{Label: c.Label, Type: "postback", Action: c.Action, Value: c.Value, Display: c.Label})
		}
		if diff := cmp.Diff(want, decodeActions(t, msgs)); diff != "" {
			t.Errorf("%d choices: every choice must survive, in order (-want +got):\n%s", n, diff)
		}
		_, quick := msgs[0].(map[string]any)["quickReply"]
		if quick != (n <= 13) {
			t.Errorf("%d choices: quick replies = %v", n, quick)
		}
		if n > 13 {
			if len(msgs) < 2 {
				t.Fatalf("%d choices: %d messages, want the text and a list", n, len(msgs))
			}
			flex := msgs[1].(map[string]any)
			if flex["type"] != "flex" || !strings.HasPrefix(flex["altText"].(string), "選択してください: 選択肢 1") {
				t.Errorf("%d choices: second message %v %q, want a flex list with a readable alt text", n, flex["type"], flex["altText"])
			}
		}
	}
}

func TestRenderAttachments(t *testing.T) {
	tests := []struct {
		name string
		att  bot.Attachment
		want []string // per message: "image <url>" or the text
	}{
		{"PNG at an https URL is an image, its alt text goes before it",
			bot.Attachment{Name: "needs.png", ContentType: "image/png", URL: "https://kakehashi.example.jp/files/needs.png", Alt: "ステータス別ニーズ件数（8週間）"},
			[]string{"text 🖼 ステータス別ニーズ件数（8週間）", "image https://kakehashi.example.jp/files/needs.png"}},
		{"PNG behind a relative URL is a text with its name",
			bot.Attachment{Name: "needs.png", ContentType: "image/png", URL: "/web/files/needs.png"},
			[]string{"text 🖼 画像: needs.png"}},
		{"PNG over plain http is a link, LINE only fetches https",
			bot.Attachment{Name: "needs.png", ContentType: "image/png", URL: "http://intra.example/needs.png"},
			[]string{"text 🖼 画像: needs.png\nhttp://intra.example/needs.png"}},
		{"ICS is a text with its download URL",
			bot.Attachment{Name: "meeting-12.ics", ContentType: "text/calendar; charset=utf-8", URL: "https://kakehashi.example.jp/ics/meeting-12.ics"},
			[]string{"text 📅 カレンダー招待: meeting-12.ics\nhttps://kakehashi.example.jp/ics/meeting-12.ics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := wire(t, line.Render(bot.Reply{Attachments: []bot.Attachment{tt.att}}))
			checkLimits(t, msgs)
			var got []string
			for _, m := range msgs {
				m := m.(map[string]any)
				if m["type"] == "image" {
					got = append(got, "image "+m["originalContentUrl"].(string))
				} else {
					got = append(got, "text "+m["text"].(string))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderCardGolden pins the Flex JSON of a need card; run with -update after a
// deliberate layout change and review the diff.
func TestRenderCardGolden(t *testing.T) {
	r := bot.Reply{
		Text: "ニーズ #12 を受け付けました。",
		Kind: "need_card",
		Fields: []bot.Field{
			{Label: "件名", Value: "窓口予約のオンライン化"},
			{Label: "部署", Value: "市民課"},
			{Label: "緊急度", Value: "高（2026-12-25まで）"},
			{Label: "説明", Value: strings.Repeat("住民票の窓口が混雑しています。", 30)},
			{Label: "スキル", Value: ""},
		},
		Choices: []bot.Choice{{Label: "確認済にする", Action: "need.triage", Value: "12"}},
	}
	msgs := wire(t, line.Render(r))
	checkLimits(t, msgs)
	got, err := json.MarshalIndent(msgs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "render_need_card.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("rendered card differs from %s (-want +got):\n%s", golden, diff)
	}
	// The long description is cut in the card and follows in full.
	last := msgs[len(msgs)-1].(map[string]any)
	if !strings.HasPrefix(last["text"].(string), "【説明】\n住民票") || !bytes.Contains(got, []byte(`"altText": "【ニーズ】件名: 窓口予約のオンライン化`)) {
		t.Errorf("card layout: last message %q", last["text"])
	}
}

func TestRenderCardAltTextWithoutKind(t *testing.T) {
	msgs := wire(t, line.Render(bot.Reply{Fields: []bot.Field{{Label: "", Value: ""}}}))
	checkLimits(t, msgs)
	if alt := msgs[0].(map[string]any)["altText"]; alt != "-: -" {
		t.Errorf("altText = %q", alt)
	}
	if _, ok := msgs[0].(map[string]any)["contents"].(map[string]any)["header"]; ok {
		t.Error("a card without a known kind has no header")
	}
}

func TestRenderManyFields(t *testing.T) {
	fields := make([]bot.Field, 30)
	for i := range fields {
		fields[i] = bot.Field{Label: "項目", Value: strings.Repeat("値", 250)}
	}
	msgs := wire(t, line.Render(bot.Reply{Kind: "candidate_card", Fields: fields}))
	checkLimits(t, msgs) // includes the 30 KB bubble limit
	if len(msgs) != 3 {
		t.Errorf("%d messages, want 3 cards of at most 12 rows", len(msgs))
	}
}

func BenchmarkRender(b *testing.B) {
	for b.Loop() {
		msgs := line.Render(sevenMessages)
		if len(msgs) != 7 {
			b.Fatal(len(msgs))
		}
	}
}
