package lineworks_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

func choices(n int) []bot.Choice {
	cs := make([]bot.Choice, n)
	for i := range cs {
		cs[i] = bot.Choice{Label: fmt.Sprintf("候補%d", i+1), Action: "slot.pick", Value: itoa(i + 1)}
	}
	return cs
}

func pb(t *testing.T, action, value string) string {
	t.Helper()
	s, err := lineworks.EncodePostback(action, value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func buttons(t *testing.T, cs []bot.Choice) []lineworks.Action {
	var as []lineworks.Action
	for _, c := range cs {
		as = append(as, lineworks.Action{Type: "message", Label: c.Label, Postback: pb(t, c.Action, c.Value)})
	}
	return as
}

func TestRender(t *testing.T) {
	long := strings.Repeat("あ", 1500) + "\n" + strings.Repeat("い", 1500) + "\n" + strings.Repeat("う", 1500)
	tests := []struct {
		name  string
		reply bot.Reply
		want  []lineworks.Content
	}{
		{"text", bot.Text("受け付けました #12"), []lineworks.Content{{Type: "text", Text: "受け付けました #12"}}},
		{"empty reply sends nothing", bot.Reply{}, nil},
		{"long text split at line breaks", bot.Text(long), []lineworks.Content{
			{Type: "text", Text: strings.Repeat("あ", 1500) + "\n"},
			{Type: "text", Text: strings.Repeat("い", 1500) + "\n"},
			{Type: "text", Text: strings.Repeat("う", 1500)},
		}},
		{"few choices become quick replies", bot.Reply{Text: "緊急度は?", Choices: []bot.Choice{
			{Label: "高", Action: "slot", Value: "high"}, {Label: "中", Action: "slot", Value: "medium"},
		}}, []lineworks.Content{{Type: "text", Text: "緊急度は?", QuickReply: &lineworks.QuickReply{Items: []lineworks.QuickReplyItem{
			{Action: lineworks.Action{Type: "postback", Label: "高", Data: "action=slot&value=high", DisplayText: "高"}},
			{Action: lineworks.Action{Type: "postback", Label: "中", Data: "action=slot&value=medium", DisplayText: "中"}},
		}}}}},
		{"choices without text still get a message", bot.Reply{Choices: []bot.Choice{{Label: "はい", Action: "yes"}}},
			[]lineworks.Content{{Type: "text", Text: "選択してください", QuickReply: &lineworks.QuickReply{Items: []lineworks.QuickReplyItem{
				{Action: lineworks.Action{Type: "postback", Label: "はい", Data: "action=yes", DisplayText: "はい"}},
			}}}}},
		{"card with fields keeps buttons in the history", bot.Reply{
			Text:    "内容を確認してください",
			Fields:  []bot.Field{{Label: "件名", Value: "窓口予約のRPA化"}, {Label: "緊急度", Value: "高"}},
			Choices: []bot.Choice{{Label: "登録", Action: "form.submit"}, {Label: "修正", Action: "form.edit"}, {Label: "やめる", Action: "form.cancel"}},
		}, []lineworks.Content{{Type: "button_template", ContentText: "内容を確認してください\n\n件名: 窓口予約のRPA化\n緊急度: 高",
			Actions: []lineworks.Action{
				{Type: "message", Label: "登録", Postback: "action=form.submit"},
				{Type: "message", Label: "修正", Postback: "action=form.edit"},
				{Type: "message", Label: "やめる", Postback: "action=form.cancel"},
			}}}},
		{"fields alone are a text card", bot.Reply{Fields: []bot.Field{{Label: "優先度", Value: "78"}, {Value: "緊急(高) / 影響 4"}}},
			[]lineworks.Content{{Type: "text", Text: "優先度: 78\n緊急(高) / 影響 4"}}},
		{"a kind makes a card", bot.Reply{Text: "新しいニーズ #12", Kind: "need_card", Choices: []bot.Choice{{Label: "担当する", Action: "need.claim", Value: "12"}}},
			[]lineworks.Content{{Type: "button_template", ContentText: "新しいニーズ #12", Actions: []lineworks.Action{
				{Type: "message", Label: "担当する", Postback: "action=need.claim&value=12"}}}}},
		{"20 choices are two pages of 10 buttons", bot.Reply{Text: "候補を選んでください", Choices: choices(20)}, []lineworks.Content{
			{Type: "button_template", ContentText: "候補を選んでください\n(1/2)", Actions: buttons(t, choices(20)[:10])},
			{Type: "button_template", ContentText: "(2/2)", Actions: buttons(t, choices(20)[10:])},
		}},
		{"long labels are cut to 20", bot.Reply{Text: "?", Choices: []bot.Choice{{Label: strings.Repeat("長", 30), Action: "a", Value: "v"}}},
			[]lineworks.Content{{Type: "text", Text: "?", QuickReply: &lineworks.QuickReply{Items: []lineworks.QuickReplyItem{
				{Action: lineworks.Action{Type: "postback", Label: strings.Repeat("長", 19) + "…", Data: "action=a&value=v", DisplayText: strings.Repeat("長", 30)}},
			}}}}},
		{"a choice too long to encode sends its label", bot.Reply{Text: "?", Choices: []bot.Choice{{Label: "これ", Action: "a", Value: strings.Repeat("x", 400)}}},
			[]lineworks.Content{{Type: "text", Text: "?", QuickReply: &lineworks.QuickReply{Items: []lineworks.QuickReplyItem{
				{Action: lineworks.Action{Type: "message", Label: "これ"}},
			}}}}},
		{"attachments by URL, link and name", bot.Reply{Text: "週次ダイジェスト", Attachments: []bot.Attachment{
			{Name: "chart.png", ContentType: "image/png", URL: "https://kakehashi.example.jp/files/chart.png", Alt: "状態別ニーズ数"},
			{Name: "meeting.ics", ContentType: "text/calendar", URL: "https://kakehashi.example.jp/files/meeting.ics"},
			{Name: "intranet.png", ContentType: "image/png", URL: "http://lgwan.example/files/x.png"},
			{Name: "local.ics", ContentType: "text/calendar", URL: "/web/files/1"},
		}}, []lineworks.Content{
			{Type: "text", Text: "週次ダイジェスト"},
			{Type: "image", PreviewImageURL: "https://kakehashi.example.jp/files/chart.png", OriginalContentURL: "https://kakehashi.example.jp/files/chart.png"},
			{Type: "file", OriginalContentURL: "https://kakehashi.example.jp/files/meeting.ics"},
			{Type: "link", ContentText: "intranet.png", LinkText: "intranet.png", Link: "http://lgwan.example/files/x.png"},
			{Type: "text", Text: "📎 local.ics\n/web/files/1"},
		}},
		{"quick replies go on the last message", bot.Reply{Text: "招待状です", Choices: []bot.Choice{{Label: "OK", Action: "ok"}},
			Attachments: []bot.Attachment{{Name: "m.ics", ContentType: "text/calendar", URL: "https://x.example/m.ics"}}},
			[]lineworks.Content{{Type: "text", Text: "招待状です"}, {Type: "file", OriginalContentURL: "https://x.example/m.ics",
				QuickReply: &lineworks.QuickReply{Items: []lineworks.QuickReplyItem{
					{Action: lineworks.Action{Type: "postback", Label: "OK", Data: "action=ok", DisplayText: "OK"}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lineworks.Render(tt.reply)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
			checkLimits(t, got)
		})
	}
}

// TestRenderLimits renders replies far past every limit and checks each content
// against the documented maxima.
func TestRenderLimits(t *testing.T) {
	emoji := strings.Repeat("😀", 3000) // 2 UTF-16 units each
	fields := make([]bot.Field, 200)
	for i := range fields {
		fields[i] = bot.Field{Label: "項目" + itoa(i), Value: strings.Repeat("値", 40)}
	}
	replies := map[string]bot.Reply{
		"emoji text":              bot.Text(emoji),
		"no line breaks":          bot.Text(strings.Repeat("字", 9999)),
		"many fields and buttons": {Text: strings.Repeat("説明", 700), Fields: fields, Choices: choices(37)},
		"13 choices":              {Text: "x", Choices: choices(13)},
		"14 choices":              {Text: "x", Choices: choices(14)},
	}
	for name, r := range replies {
		t.Run(name, func(t *testing.T) {
			got := lineworks.Render(r)
			checkLimits(t, got)
			// Every choice is offered exactly once.
			var n int
			for _, c := range got {
				n += len(c.Actions)
				if c.QuickReply != nil {
					n += len(c.QuickReply.Items)
				}
			}
			if n != len(r.Choices) {
				t.Errorf("rendered %d buttons for %d choices", n, len(r.Choices))
			}
			// No text is lost.
			var all strings.Builder
			for _, c := range got {
				all.WriteString(c.Text + c.ContentText)
			}
			if r.Fields == nil && len(r.Choices) == 0 && all.String() != r.Text {
				t.Error("text pieces do not add up to the reply text")
			}
		})
	}
	if got := lineworks.Render(bot.Reply{Text: "x", Choices: choices(14)}); got[0].Type != "button_template" {
		t.Errorf("14 choices: first content %q, want button_template (over the quick-reply limit)", got[0].Type)
	}
}

func units(s string) int { return len(utf16.Encode([]rune(s))) }

func checkLimits(t *testing.T, cs []lineworks.Content) {
	t.Helper()
	for i, c := range cs {
		if units(c.Text) > lineworks.TextMax {
			t.Errorf("content %d: text of %d units", i, units(c.Text))
		}
		if units(c.ContentText) > lineworks.ContentTextMax {
			t.Errorf("content %d: contentText of %d units", i, units(c.ContentText))
		}
		if c.Type == "button_template" && (strings.TrimSpace(c.ContentText) == "" || len(c.Actions) == 0) {
			t.Errorf("content %d: button_template needs a body and buttons", i)
		}
		if c.Type == "text" && strings.TrimSpace(c.Text) == "" {
			t.Errorf("content %d: blank text message", i)
		}
		if len(c.Actions) > lineworks.ButtonMax {
			t.Errorf("content %d: %d buttons", i, len(c.Actions))
		}
		actions := c.Actions
		if c.QuickReply != nil {
			if len(c.QuickReply.Items) > lineworks.QuickReplyMax {
				t.Errorf("content %d: %d quick replies", i, len(c.QuickReply.Items))
			}
			if i != len(cs)-1 {
				t.Errorf("content %d: quick replies before the last message are hidden by it", i)
			}
			for _, it := range c.QuickReply.Items {
				actions = append(actions, it.Action)
			}
		}
		for _, a := range actions {
			if a.Label == "" || units(a.Label) > lineworks.LabelMax {
				t.Errorf("content %d: label %q", i, a.Label)
			}
			if len(a.Data) > lineworks.PostbackMax || len(a.Postback) > lineworks.PostbackMax {
				t.Errorf("content %d: postback of %d/%d chars", i, len(a.Data), len(a.Postback))
			}
			if a.Type == "postback" && (a.Data == "" || a.DisplayText == "") {
				t.Errorf("content %d: quick-reply postback needs data and displayText", i)
			}
		}
	}
}

func TestPostbackRoundTrip(t *testing.T) {
	tests := []struct{ action, value string }{
		{"need.claim", "12"},
		{"slot.pick", "2026-11-28T19:00+09:00"},
		{"lang", "en"},
		{"form.open", ""},
		{"x&y=z", "a&b=c;d%e+f g"},
		{"カテゴリ", "防災"},
	}
	for _, tt := range tests {
		data, err := lineworks.EncodePostback(tt.action, tt.value)
		if err != nil {
			t.Fatalf("Encode(%q, %q): %v", tt.action, tt.value, err)
		}
		a, v, ok := lineworks.DecodePostback(data)
		if !ok || a != tt.action || v != tt.value {
			t.Errorf("Decode(Encode(%q, %q)) = %q, %q, %v", tt.action, tt.value, a, v, ok)
		}
	}
	for _, bad := range []string{"", "start", "action=", "value=1", "action=%zz", "action=a&action=b", "action=a;b", "メニュー"} {
		if a, v, ok := lineworks.DecodePostback(bad); ok {
			t.Errorf("Decode(%q) = %q, %q, ok; want not ok", bad, a, v)
		}
	}
	if _, err := lineworks.EncodePostback("a", strings.Repeat("x", 400)); err == nil {
		t.Error("Encode accepted 400 characters")
	}
	if _, err := lineworks.EncodePostback("", "v"); err == nil {
		t.Error("Encode accepted an empty action")
	}
}
