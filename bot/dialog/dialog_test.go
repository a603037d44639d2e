package dialog_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var started = time.Date(2026, 11, 24, 10, 0, 0, 0, bot.Tokyo)

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// consultForm is a small form with every kind of field: required and validated
// (MaxRunes), strict choice, conditional (only for high urgency), optional, and a
// choice that also takes free text.
func consultForm() *dialog.Form {
	T := dialog.T
	return &dialog.Form{
		Name:  "consult",
		Title: T("相談登録", "New consultation"),
		Fields: []dialog.Field{
			{Name: "title", Label: T("件名", "Title"), Prompt: T("件名を入力してください（20文字以内）。", "Enter a title (max 20 characters)."),
				Help:     T("件名は相談の一覧に表示されます。", "The title is shown in the list of consultations."),
				Validate: dialog.MaxRunes(20, T("件名", "title"))},
			{Name: "urgency", Label: T("緊急度", "Urgency"), Prompt: T("緊急度を選んでください。", "How urgent is it?"), Strict: true,
				Choices: func(*dialog.State) []bot.Choice {
					return []bot.Choice{{Label: "高", Value: "high"}, {Label: "中", Value: "medium"}, {Label: "低", Value: "low"}}
				}},
			{Name: "deadline", Label: T("期限", "Deadline"), Prompt: T("期限の日付を入力してください（例: 2026-12-01）。", "Enter the deadline (e.g. 2026-12-01)."),
				Skip: func(s *dialog.State) bool { return s.Slots["urgency"] != "high" },
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					if !dateRE.MatchString(in) {
						return "", &dialog.Problem{Msg: T("日付は 2026-12-01 の形で入力してください。", "Please type the date like 2026-12-01.")}
					}
					return in, nil
				}},
			{Name: "note", Label: T("補足", "Note"), Prompt: T("補足があれば入力してください。", "Anything to add?"), Optional: true},
			{Name: "dept", Label: T("部署", "Department"), Prompt: T("部署を選ぶか、入力してください。", "Choose or type your department."),
				Choices: func(*dialog.State) []bot.Choice {
					return []bot.Choice{{Label: "総務課", Value: "soumu"}, {Label: "市民課", Value: "shimin"}}
				}},
		},
	}
}

func say(text string) dialog.Input            { return dialog.Input{Text: text} }
func press(action, value string) dialog.Input { return dialog.Input{Action: action, Value: value} }

// session drives a form like the engine does, storing the state as JSON between steps.
type session struct {
	t       *testing.T
	form    *dialog.Form
	lang    bot.Lang
	state   *dialog.State
	last    *dialog.Result
	outcome dialog.Outcome
	log     strings.Builder
}

func start(t *testing.T, lang bot.Lang) *session {
	t.Helper()
	s := &session{t: t, form: consultForm(), lang: lang}
	res := dialog.Start(s.form, "draft-1", started, lang, nil)
	s.log.WriteString("(start)\n")
	s.keep(res)
	return s
}

func (s *session) keep(res *dialog.Result) {
	s.t.Helper()
	s.last, s.outcome = res, res.Outcome
	render(&s.log, res.Replies)
	raw, err := json.Marshal(res.State)
	if err != nil {
		s.t.Fatalf("state does not marshal: %v", err)
	}
	var st dialog.State
	if err := json.Unmarshal(raw, &st); err != nil {
		s.t.Fatalf("state does not unmarshal: %v", err)
	}
	s.state = &st
}

func (s *session) do(ins ...dialog.Input) *session {
	s.t.Helper()
	for _, in := range ins {
		if s.outcome != dialog.Continue {
			s.t.Fatalf("input %+v after the flow ended", in)
		}
		fmt.Fprintf(&s.log, "> %s\n", show(in))
		s.keep(dialog.Step(s.form, s.state, in, s.lang))
	}
	return s
}

// at names where the draft is: a field name, "summary" or "picking".
func (s *session) at() string {
	switch {
	case s.state.Picking:
		return "picking"
	case s.state.Step >= len(s.form.Fields):
		return "summary"
	}
	return s.form.Fields[s.state.Step].Name
}

func (s *session) text() string {
	var b strings.Builder
	render(&b, s.last.Replies)
	return b.String()
}

func show(in dialog.Input) string {
	if in.Action != "" {
		return "[" + in.Action + " " + in.Value + "]"
	}
	return in.Text
}

// render writes replies the way a person sees them: text, card fields, buttons.
func render(b *strings.Builder, replies []bot.Reply) {
	for _, r := range replies {
		for _, line := range strings.Split(r.Text, "\n") {
			b.WriteString("  " + line + "\n")
		}
		for _, f := range r.Fields {
			fmt.Fprintf(b, "  | %s: %s\n", f.Label, f.Value)
		}
		if len(r.Choices) > 0 {
			var cs []string
			for _, c := range r.Choices {
				cs = append(cs, fmt.Sprintf("[%s → %s %s]", c.Label, c.Action, c.Value))
			}
			b.WriteString("  " + strings.Join(cs, " ") + "\n")
		}
	}
}

func labels(replies []bot.Reply) []string {
	var out []string
	for _, r := range replies {
		for _, c := range r.Choices {
			out = append(out, c.Label)
		}
	}
	return out
}

// toSummary are the answers that reach the summary with every field filled.
var toSummary = []dialog.Input{say("窓口の電子化"), press(dialog.ActAnswer, "high"), say("2026-12-01"), say("至急"), say("市民課")}

func TestForm(t *testing.T) {
	tests := []struct {
		name        string
		lang        bot.Lang
		inputs      []dialog.Input
		wantAt      string
		wantOutcome dialog.Outcome
		wantSlots   map[string]string
		// wantText must all appear in the last replies; notText must not.
		wantText []string
		notText  []string
	}{
		{
			name:      "first question",
			wantAt:    "title",
			wantSlots: map[string]string{},
			wantText:  []string{"「相談登録」を始めます", "(1/4) 件名を入力してください（20文字以内）。"},
		},
		{
			name:      "every field to the summary",
			inputs:    toSummary,
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
			wantText:  []string{"以下の内容でよろしいですか？", "| 件名: 窓口の電子化", "| 緊急度: 高", "| 期限: 2026-12-01", "| 補足: 至急", "| 部署: 市民課"},
		},
		{
			name:        "submit",
			inputs:      append(append([]dialog.Input{}, toSummary...), press(dialog.ActSubmit, "")),
			wantOutcome: dialog.Submitted,
			wantSlots:   map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
		},
		{
			name:        "submit by typing",
			inputs:      append(append([]dialog.Input{}, toSummary...), say("登録")),
			wantOutcome: dialog.Submitted,
			wantSlots:   map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
		},
		{
			name:      "low urgency skips the deadline",
			inputs:    []dialog.Input{say("窓口の電子化"), say("低")},
			wantAt:    "note",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "low"},
			wantText:  []string{"(3/4) 補足があれば入力してください。", "[スキップ → dialog.skip ]"},
		},
		{
			name:      "high urgency asks the deadline",
			inputs:    []dialog.Input{say("窓口の電子化"), say("ＨＩＧＨ")},
			wantAt:    "deadline",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high"},
			wantText:  []string{"(3/5) 期限の日付を入力してください"},
		},
		{
			name:      "summary without the skipped fields",
			inputs:    []dialog.Input{say("窓口の電子化"), say("中"), press(dialog.ActSkip, ""), say("福祉課")},
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "medium", "dept": "福祉課"},
			wantText:  []string{"| 補足: （未入力）", "| 部署: 福祉課"},
			notText:   []string{"期限"},
		},
		{
			name:      "too long title is asked again with the reason",
			inputs:    []dialog.Input{say(strings.Repeat("あ", 25))},
			wantAt:    "title",
			wantSlots: map[string]string{},
			wantText:  []string{"件名は20文字以内でお願いします（今は25文字です）。短くして、もう一度入力してください。", "(1/4) 件名を入力してください"},
		},
		{
			name:      "empty answer",
			inputs:    []dialog.Input{say("窓口の電子化"), say("   ")},
			wantAt:    "urgency",
			wantSlots: map[string]string{"title": "窓口の電子化"},
			wantText:  []string{"回答が空でした。もう一度入力してください。", "(2/4) 緊急度を選んでください。", "[高 → dialog.answer high]"},
		},
		{
			name:      "strict choice refuses free text",
			inputs:    []dialog.Input{say("窓口の電子化"), say("とても急ぎ")},
			wantAt:    "urgency",
			wantSlots: map[string]string{"title": "窓口の電子化"},
			wantText:  []string{"選択肢から選んでください。", "[高 → dialog.answer high] [中 → dialog.answer medium] [低 → dialog.answer low]"},
		},
		{
			name:      "validated field explains the format",
			inputs:    []dialog.Input{say("窓口の電子化"), say("高"), say("来月")},
			wantAt:    "deadline",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high"},
			wantText:  []string{"日付は 2026-12-01 の形で入力してください。", "(3/5) 期限の日付を入力してください"},
		},
		{
			name:      "back at the first question",
			inputs:    []dialog.Input{say("戻る")},
			wantAt:    "title",
			wantSlots: map[string]string{},
			wantText:  []string{"最初の質問です。これより前には戻れません。", "(1/4) 件名を入力してください"},
		},
		{
			name:      "back shows the current value",
			inputs:    []dialog.Input{say("窓口の電子化"), say("back")},
			wantAt:    "title",
			wantSlots: map[string]string{"title": "窓口の電子化"},
			wantText:  []string{"（現在の値: 窓口の電子化）"},
		},
		{
			name:      "back over a skipped field",
			inputs:    []dialog.Input{say("窓口の電子化"), say("低"), say("戻る")},
			wantAt:    "urgency",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "low"},
			wantText:  []string{"（現在の値: 低）"},
		},
		{
			name:      "back from the summary, then forward again",
			inputs:    append(append([]dialog.Input{}, toSummary...), say("戻る"), say("総務課")),
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "soumu"},
			wantText:  []string{"| 部署: 総務課"},
		},
		{
			name:      "skip on an optional field drops an earlier answer",
			inputs:    []dialog.Input{say("窓口の電子化"), say("低"), say("メモ"), say("戻る"), say("スキップ")},
			wantAt:    "dept",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "low"},
		},
		{
			name:      "skip is refused on a required field",
			inputs:    []dialog.Input{say("スキップ")},
			wantAt:    "title",
			wantSlots: map[string]string{},
			wantText:  []string{"この質問は省略できません", "(1/4) 件名を入力してください"},
		},
		{
			name:      "help explains the current question",
			inputs:    []dialog.Input{say("ヘルプ")},
			wantAt:    "title",
			wantSlots: map[string]string{},
			wantText:  []string{"件名は相談の一覧に表示されます。", "「戻る」で前の質問へ、「やめる」で中止します。", "(1/4) 件名を入力してください"},
		},
		{
			name:        "cancel",
			inputs:      []dialog.Input{say("窓口の電子化"), say("やめる")},
			wantOutcome: dialog.Cancelled,
			wantSlots:   map[string]string{"title": "窓口の電子化"},
			wantText:    []string{"「相談登録」を中止しました。入力内容は破棄しました。", "[メニュー → menu ]"},
		},
		{
			name:      "summary wants one of its buttons",
			inputs:    append(append([]dialog.Input{}, toSummary...), say("たぶん")),
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
			wantText:  []string{"「登録」「修正」「やめる」のどれかを選んでください。", "以下の内容でよろしいですか？", "[登録 → dialog.submit ]"},
		},
		{
			name:      "edit: pick a field, answer, back to the summary",
			inputs:    append(append([]dialog.Input{}, toSummary...), say("修正"), press(dialog.ActAnswer, "title"), say("申請の電子化")),
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "申請の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
			wantText:  []string{"| 件名: 申請の電子化", "以下の内容でよろしいですか？"},
		},
		{
			name:      "edit: the question shows the current value",
			inputs:    append(append([]dialog.Input{}, toSummary...), press(dialog.ActEdit, ""), say("緊急度")),
			wantAt:    "urgency",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
			wantText:  []string{"緊急度を選んでください。", "（現在の値: 高）"},
		},
		{
			name:      "edit: unknown item",
			inputs:    append(append([]dialog.Input{}, toSummary...), say("修正"), say("色")),
			wantAt:    "picking",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
			wantText:  []string{"項目名をボタンから選んでください。"},
		},
		{
			name:      "edit: lowering the urgency hides the deadline",
			inputs:    append(append([]dialog.Input{}, toSummary...), say("修正"), say("緊急度"), say("低")),
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "low", "deadline": "2026-12-01", "note": "至急", "dept": "shimin"},
			notText:   []string{"期限"},
		},
		{
			name: "submit never saves a hidden field",
			inputs: append(append([]dialog.Input{}, toSummary...), say("修正"), say("緊急度"), say("低"),
				press(dialog.ActSubmit, "")),
			wantOutcome: dialog.Submitted,
			wantSlots:   map[string]string{"title": "窓口の電子化", "urgency": "low", "note": "至急", "dept": "shimin"},
		},
		{
			name:      "edit: raising the urgency asks the deadline before the summary",
			inputs:    []dialog.Input{say("窓口の電子化"), say("低"), say("スキップ"), say("市民課"), say("修正"), say("緊急度"), say("高")},
			wantAt:    "deadline",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high", "dept": "shimin"},
			wantText:  []string{"期限の日付を入力してください"},
		},
		{
			name:      "edit: the revealed question leads back to the summary",
			inputs:    []dialog.Input{say("窓口の電子化"), say("低"), say("スキップ"), say("市民課"), say("修正"), say("緊急度"), say("高"), say("2026-12-24")},
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "窓口の電子化", "urgency": "high", "deadline": "2026-12-24", "dept": "shimin"},
			wantText:  []string{"| 期限: 2026-12-24"},
		},
		{
			name:      "english",
			lang:      bot.LangEN,
			inputs:    []dialog.Input{say("Online forms"), say("とても"), say("high")},
			wantAt:    "deadline",
			wantSlots: map[string]string{"title": "Online forms", "urgency": "high"},
			wantText:  []string{"(3/5) Enter the deadline (e.g. 2026-12-01).", "[Back → dialog.back ] [Cancel → dialog.cancel ]"},
			notText:   []string{"期限"},
		},
		{
			name:      "english errors",
			lang:      bot.LangEN,
			inputs:    []dialog.Input{say(strings.Repeat("x", 21))},
			wantAt:    "title",
			wantSlots: map[string]string{},
			wantText:  []string{"The title must be at most 20 characters (it has 21). Please shorten it."},
		},
		{
			name:      "english summary",
			lang:      bot.LangEN,
			inputs:    []dialog.Input{say("Online forms"), say("low"), say("skip"), say("総務課")},
			wantAt:    "summary",
			wantSlots: map[string]string{"title": "Online forms", "urgency": "low", "dept": "soumu"},
			wantText:  []string{"Is this correct? \"Submit\" to confirm", "| Note: (none)", "[Submit → dialog.submit ] [Edit → dialog.edit ] [Cancel → dialog.cancel ]"},
		},
		{
			name:        "english cancel",
			lang:        bot.LangEN,
			inputs:      []dialog.Input{say("CANCEL")},
			wantOutcome: dialog.Cancelled,
			wantSlots:   map[string]string{},
			wantText:    []string{"Cancelled \"New consultation\". Your draft was discarded.", "[Menu → menu ]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lang := tt.lang
			if lang == "" {
				lang = bot.LangJA
			}
			s := start(t, lang).do(tt.inputs...)
			if s.outcome != tt.wantOutcome {
				t.Fatalf("outcome = %v, want %v\n%s", s.outcome, tt.wantOutcome, s.log.String())
			}
			if tt.wantOutcome == dialog.Continue {
				if got := s.at(); got != tt.wantAt {
					t.Errorf("at %q, want %q\n%s", got, tt.wantAt, s.log.String())
				}
			}
			if diff := cmp.Diff(tt.wantSlots, s.state.Slots); diff != "" {
				t.Errorf("slots (-want +got):\n%s", diff)
			}
			if s.state.Version != int64(len(tt.inputs)) {
				t.Errorf("version = %d after %d inputs", s.state.Version, len(tt.inputs))
			}
			if s.state.Draft != "draft-1" || s.state.Flow != "consult" || !s.state.Started.Equal(started) {
				t.Errorf("draft identity changed: %+v", s.state)
			}
			text := s.text()
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("replies lack %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notText {
				if strings.Contains(text, w) {
					t.Errorf("replies contain %q:\n%s", w, text)
				}
			}
		})
	}
}

// positions are the places a draft can be in, with the inputs that lead there.
var positions = []struct {
	name   string
	prefix []dialog.Input
	at     string
	// back is where 戻る leads; help is what ヘルプ explains; skip is what スキップ does.
	back, help, skip string
}{
	{"title", nil, "title", "title", "件名は相談の一覧に表示されます。", "refused"},
	{"urgency", toSummary[:1], "urgency", "title", "緊急度を選んでください。", "refused"},
	{"deadline", toSummary[:2], "deadline", "urgency", "期限の日付を入力してください", "refused"},
	{"note", toSummary[:3], "note", "deadline", "この項目は省略できます", "dept"},
	{"dept", toSummary[:4], "dept", "note", "部署を選ぶか、入力してください。", "refused"},
	{"summary", toSummary, "summary", "dept", "入力内容を確認しています。", "「登録」「修正」「やめる」のどれかを選んでください。"},
	{"picking", append(append([]dialog.Input{}, toSummary...), say("修正")), "picking", "summary", "入力内容を確認しています。", "項目名をボタンから選んでください。"},
	{"editing", append(append([]dialog.Input{}, toSummary...), say("修正"), press(dialog.ActAnswer, "urgency")), "urgency", "title", "緊急度を選んでください。", "refused"},
}

// TestInterruptions tries every interruption at every step of the form.
func TestInterruptions(t *testing.T) {
	cancels := []dialog.Input{say("やめる"), say("キャンセル"), say("cancel"), say("ＣＡＮＣＥＬ"), say(" Cancel "), say("中止"), press(dialog.ActCancel, "")}
	backs := []dialog.Input{say("戻る"), say("もどる"), say("back"), say("ＢＡＣＫ"), press(dialog.ActBack, "")}
	helps := []dialog.Input{say("ヘルプ"), say("help"), say("？"), press(dialog.ActHelp, "")}
	skips := []dialog.Input{say("スキップ"), say("skip"), press(dialog.ActSkip, "")}
	for _, pos := range positions {
		t.Run(pos.name, func(t *testing.T) {
			before := start(t, bot.LangJA).do(pos.prefix...)
			if got := before.at(); got != pos.at {
				t.Fatalf("prefix leads to %q, want %q\n%s", got, pos.at, before.log.String())
			}
			slots := before.state.Slots
			for _, in := range cancels {
				s := start(t, bot.LangJA).do(pos.prefix...).do(in)
				if s.outcome != dialog.Cancelled || !strings.Contains(s.text(), "「相談登録」を中止しました。") {
					t.Errorf("%s: outcome %v, replies:\n%s", show(in), s.outcome, s.text())
				}
			}
			for _, in := range backs {
				s := start(t, bot.LangJA).do(pos.prefix...).do(in)
				if got := s.at(); got != pos.back || s.outcome != dialog.Continue {
					t.Errorf("%s: at %q (outcome %v), want %q\n%s", show(in), got, s.outcome, pos.back, s.text())
				}
				if s.state.Editing {
					t.Errorf("%s: still editing after back", show(in))
				}
				if diff := cmp.Diff(slots, s.state.Slots); diff != "" {
					t.Errorf("%s changed the answers (-want +got):\n%s", show(in), diff)
				}
			}
			for _, in := range helps {
				s := start(t, bot.LangJA).do(pos.prefix...).do(in)
				if got := s.at(); got != pos.at || s.outcome != dialog.Continue {
					t.Errorf("%s: at %q, want to stay at %q", show(in), got, pos.at)
				}
				if text := s.text(); !strings.Contains(text, pos.help) || !strings.Contains(text, "「やめる」で中止します。") {
					t.Errorf("%s: help lacks %q:\n%s", show(in), pos.help, text)
				}
				if diff := cmp.Diff(slots, s.state.Slots); diff != "" {
					t.Errorf("%s changed the answers (-want +got):\n%s", show(in), diff)
				}
			}
			for _, in := range skips {
				s := start(t, bot.LangJA).do(pos.prefix...).do(in)
				switch pos.skip {
				case "refused":
					if got := s.at(); got != pos.at || !strings.Contains(s.text(), "この質問は省略できません") {
						t.Errorf("%s at required %s: at %q:\n%s", show(in), pos.at, got, s.text())
					}
					if diff := cmp.Diff(slots, s.state.Slots); diff != "" {
						t.Errorf("%s stored an answer (-want +got):\n%s", show(in), diff)
					}
				case "dept":
					if got := s.at(); got != "dept" {
						t.Errorf("%s: at %q, want dept", show(in), got)
					}
					if _, ok := s.state.Slots["note"]; ok {
						t.Errorf("%s kept the note", show(in))
					}
				default:
					if got := s.at(); got != pos.at || !strings.Contains(s.text(), pos.skip) {
						t.Errorf("%s: at %q:\n%s", show(in), got, s.text())
					}
				}
			}
		})
	}
}

// TestButtonsPerStep: every question offers exactly the buttons that make sense there.
func TestButtonsPerStep(t *testing.T) {
	want := map[string][]string{
		"title":    {"やめる"},
		"urgency":  {"高", "中", "低", "戻る", "やめる"},
		"deadline": {"戻る", "やめる"},
		"note":     {"スキップ", "戻る", "やめる"},
		"dept":     {"総務課", "市民課", "戻る", "やめる"},
		"summary":  {"登録", "修正", "やめる"},
		"picking":  {"件名", "緊急度", "期限", "補足", "部署", "戻る"},
		"editing":  {"高", "中", "低", "戻る", "やめる"},
	}
	for _, pos := range positions {
		s := start(t, bot.LangJA).do(pos.prefix...)
		last := s.last.Replies[len(s.last.Replies)-1:]
		if diff := cmp.Diff(want[pos.name], labels(last)); diff != "" {
			t.Errorf("%s buttons (-want +got):\n%s", pos.name, diff)
		}
	}
}

// TestGolden keeps the rendered Japanese and English of a whole session under review.
func TestGolden(t *testing.T) {
	script := []dialog.Input{
		say("ヘルプ"), say(strings.Repeat("長", 21)), say("窓口の電子化"), say("とても急ぎ"), say("高"), say("来月"), say("戻る"),
		press(dialog.ActAnswer, "high"), say("2026-12-01"), press(dialog.ActSkip, ""), say("福祉課"),
		press(dialog.ActEdit, ""), press(dialog.ActAnswer, "note"), say("窓口が混雑しています"), press(dialog.ActSubmit, ""),
	}
	for _, lang := range []bot.Lang{bot.LangJA, bot.LangEN} {
		t.Run(string(lang), func(t *testing.T) {
			s := start(t, lang).do(script...)
			if s.outcome != dialog.Submitted {
				t.Fatalf("outcome %v\n%s", s.outcome, s.log.String())
			}
			summary := s.form.Summary(s.state, lang)
			s.log.WriteString("(submitted)\n")
			for _, f := range summary {
				fmt.Fprintf(&s.log, "  | %s: %s\n", f.Label, f.Value)
			}
			golden(t, "session_"+string(lang)+".golden", s.log.String())
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot/dialog/ -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update if the change is intended:\n%s", path, diff)
	}
}

func TestStartPrefill(t *testing.T) {
	f := consultForm()
	res := dialog.Start(f, "d", started, bot.LangJA, map[string]string{"title": "既存の件名"})
	if res.State.Step != 0 || res.State.Slots["title"] != "既存の件名" {
		t.Fatalf("state = %+v", res.State)
	}
	if !strings.Contains(res.Replies[1].Text, "（現在の値: 既存の件名）") {
		t.Errorf("prefilled value not shown: %q", res.Replies[1].Text)
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"やめる", true}, {"キャンセル", true}, {"cancel", true}, {"ＣＡＮＣＥＬ", true}, {"　ｃａｎｃｅｌ　", true}, {"Quit", true},
		{"やめない", false}, {"cancel please", false}, {"", false},
	}
	for _, tt := range tests {
		if got := dialog.IsCancel(dialog.Input{Text: tt.text}); got != tt.want {
			t.Errorf("IsCancel(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
	if !dialog.IsCancel(dialog.Input{Action: dialog.ActCancel}) {
		t.Error("the cancel button does not cancel")
	}
	if got := dialog.Fold("　ＡＢＣ－１２３　"); got != "abc-123" {
		t.Errorf("Fold = %q", got)
	}
}

func TestMaxRunes(t *testing.T) {
	v := dialog.MaxRunes(5, dialog.T("件名", "title"))
	tests := []struct {
		in, want, problem string
	}{
		{"  あいうえお ", "あいうえお", ""},
		{"あいうえおか", "", "件名は5文字以内でお願いします（今は6文字です）。短くして、もう一度入力してください。"},
		{"   ", "", "件名を入力してください。"},
	}
	for _, tt := range tests {
		got, p := v(tt.in, nil)
		msg := ""
		if p != nil {
			msg = p.Msg.JA
		}
		if got != tt.want || msg != tt.problem {
			t.Errorf("MaxRunes(5)(%q) = %q, %q; want %q, %q", tt.in, got, msg, tt.want, tt.problem)
		}
	}
}

func TestTextIn(t *testing.T) {
	x := dialog.T("こんにちは", "Hello")
	if x.In(bot.LangJA) != "こんにちは" || x.In(bot.LangEN) != "Hello" || x.In("fr") != "こんにちは" {
		t.Errorf("In: %q %q %q", x.In(bot.LangJA), x.In(bot.LangEN), x.In("fr"))
	}
	if got := dialog.T("日本語のみ", "").In(bot.LangEN); got != "日本語のみ" {
		t.Errorf("missing English falls back to %q", got)
	}
}
