package dialog

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
)

// Text is a sentence in Japanese and English.
type Text struct{ JA, EN string }

// In returns the text in lang, falling back to Japanese.
func (t Text) In(lang bot.Lang) string {
	if lang == bot.LangEN && t.EN != "" {
		return t.EN
	}
	return t.JA
}

// T is shorthand for a Text.
func T(ja, en string) Text { return Text{JA: ja, EN: en} }

// Actions carried by the choices the engine renders. Adapters send them back as
// Message.Action with the choice's Value.
const (
	ActAnswer = "dialog.answer"
	ActSubmit = "dialog.submit"
	ActEdit   = "dialog.edit"
	ActCancel = "dialog.cancel"
	ActBack   = "dialog.back"
	ActSkip   = "dialog.skip"
	ActHelp   = "dialog.help"
)

// Problem is a validation failure: the message says what is wrong and what to type;
// Suggest offers choices (e.g. the tenant's departments).
type Problem struct {
	Msg     Text
	Suggest []bot.Choice
}

// Field is one question of a form.
type Field struct {
	Name   string
	Label  Text
	Prompt Text
	Help   Text
	// Optional fields can be skipped with スキップ/skip.
	Optional bool
	// Choices returns the buttons shown with the question; the typed label or value is accepted too.
	Choices func(s *State) []bot.Choice
	// Strict rejects answers that are not one of Choices.
	Strict bool
	// Validate normalises an answer or explains what is wrong. nil accepts any non-empty text.
	Validate func(in string, s *State) (string, *Problem)
	// Show formats a stored value for the summary; nil shows the label of the matching choice or the value.
	Show func(v string, lang bot.Lang) string
	// Skip hides the field for this draft (e.g. a deadline only when urgency is high).
	Skip func(s *State) bool
	// MaxLen and Multiline help channels with native forms (Slack modals) size the input.
	MaxLen    int
	Multiline bool
}

// Form is a multi-step flow.
type Form struct {
	Name   string
	Title  Text
	Fields []Field
	// SubmitLabel replaces 登録 on the summary (e.g. 送信).
	SubmitLabel Text
}

// State is one draft in progress. Step == len(Fields) means the summary is shown.
type State struct {
	Flow    string            `json:"flow"`
	Step    int               `json:"step"`
	Slots   map[string]string `json:"slots"`
	Editing bool              `json:"editing,omitempty"`
	// Picking is true while the person chooses which field to correct.
	Picking bool `json:"picking,omitempty"`
	// Data holds flow-private values that are not questions (e.g. the need being edited).
	Data    map[string]string `json:"data,omitempty"`
	Version int64             `json:"v"`
	// Draft identifies this draft; saving with it is idempotent.
	Draft   string    `json:"draft"`
	Started time.Time `json:"started"`
}

// Input is one message of the person.
type Input struct {
	Text   string
	Action string
	Value  string
}

// Outcome says what the caller must do after a step.
type Outcome int

// Outcomes of Step.
const (
	// Continue: store the state and send the replies.
	Continue Outcome = iota
	// Cancelled: discard the draft and send the replies.
	Cancelled
	// Submitted: save the draft's Slots, then clear the state.
	Submitted
)

// Result of one step.
type Result struct {
	State   *State
	Replies []bot.Reply
	Outcome Outcome
}

var (
	wordsCancel = []string{"やめる", "キャンセル", "cancel", "中止", "やめます", "quit"}
	wordsBack   = []string{"戻る", "もどる", "back"}
	wordsHelp   = []string{"ヘルプ", "help", "?", "？", "使い方"}
	wordsSkip   = []string{"スキップ", "skip", "なし", "無し", "none"}
	wordsSubmit = []string{"登録", "登録する", "submit", "ok", "はい"}
	wordsEdit   = []string{"修正", "修正する", "edit"}
)

// Is reports whether text is one of the control words (ignoring case, width and spaces).
func Is(text string, words []string) bool {
	t := Fold(text)
	for _, w := range words {
		if t == Fold(w) {
			return true
		}
	}
	return false
}

// Fold trims, lower-cases and narrows full-width ASCII so 「ＣＡＮＣＥＬ」 equals "cancel".
func Fold(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if r >= '！' && r <= '～' {
			r = r - '！' + '!'
		} else if r == '\u3000' {
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.ToLower(strings.TrimSpace(b.String()))
}

// IsCancel reports whether the input ends the flow.
func IsCancel(in Input) bool { return in.Action == ActCancel || Is(in.Text, wordsCancel) }

// Start begins a new draft and asks the first question.
func Start(f *Form, draft string, now time.Time, lang bot.Lang, prefill map[string]string) *Result {
	s := &State{Flow: f.Name, Slots: map[string]string{}, Draft: draft, Started: now}
	for k, v := range prefill {
		s.Slots[k] = v
	}
	s.Step = f.next(s, -1)
	r := &Result{State: s}
	intro := bot.Text(T("「"+f.Title.JA+"」を始めます。途中で「やめる」で中止、「戻る」で前の質問に戻れます。",
		"Starting \""+f.Title.EN+"\". Type \"cancel\" to stop or \"back\" for the previous question.").In(lang))
	r.Replies = append(r.Replies, intro)
	r.Replies = append(r.Replies, f.ask(s, lang, nil))
	return r
}

// Step applies one input to the draft.
func Step(f *Form, s *State, in Input, lang bot.Lang) *Result {
	s.Version++
	if s.Slots == nil {
		s.Slots = map[string]string{}
	}
	r := &Result{State: s}
	switch {
	case IsCancel(in):
		r.Outcome = Cancelled
		r.Replies = []bot.Reply{bot.Text(T("「"+f.Title.JA+"」を中止しました。入力内容は破棄しました。「メニュー」でできることを表示します。",
			"Cancelled \""+f.Title.EN+"\". Your draft was discarded. Type \"menu\" to see what you can do.").In(lang))}
		r.Replies[0].Choices = []bot.Choice{{Label: T("メニュー", "Menu").In(lang), Action: "menu"}}
		return r
	case in.Action == ActHelp || Is(in.Text, wordsHelp):
		r.Replies = []bot.Reply{f.help(s, lang)}
		return r
	case in.Action == ActBack || Is(in.Text, wordsBack):
		return f.back(s, lang, r)
	}
	if s.Picking {
		return f.pick(s, in, lang, r)
	}
	if s.Step >= len(f.Fields) {
		return f.summaryInput(s, in, lang, r)
	}
	fd := &f.Fields[s.Step]
	answer := strings.TrimSpace(in.Text)
	if in.Action == ActAnswer {
		answer = in.Value
	}
	if !fd.Optional && (in.Action == ActSkip || Is(in.Text, []string{"スキップ", "skip"})) {
		// "スキップ" is a request, not an answer: never store it as one.
		r.Replies = []bot.Reply{f.ask(s, lang, &Problem{Msg: T("この質問は省略できません。回答を入力してください。", "This question cannot be skipped. Please answer it.")})}
		return r
	}
	if fd.Optional && (in.Action == ActSkip || Is(in.Text, wordsSkip)) {
		delete(s.Slots, fd.Name)
		f.advance(s)
		r.Replies = []bot.Reply{f.ask(s, lang, nil)}
		return r
	}
	v, prob := f.validate(fd, answer, s, in.Action == ActAnswer)
	if prob != nil {
		r.Replies = []bot.Reply{f.ask(s, lang, prob)}
		return r
	}
	s.Slots[fd.Name] = v
	f.advance(s)
	r.Replies = []bot.Reply{f.ask(s, lang, nil)}
	return r
}

func (f *Form) advance(s *State) {
	if s.Editing {
		// A changed answer can reveal a required question that was skipped before: ask it first.
		for i := range f.Fields {
			fd := &f.Fields[i]
			if !fd.Optional && (fd.Skip == nil || !fd.Skip(s)) && s.Slots[fd.Name] == "" {
				s.Step = i
				return
			}
		}
		s.Editing = false
		s.Step = len(f.Fields)
		return
	}
	s.Step = f.next(s, s.Step)
}

// next returns the index of the first field after i that is not skipped, or len(Fields).
func (f *Form) next(s *State, i int) int {
	for j := i + 1; j < len(f.Fields); j++ {
		if f.Fields[j].Skip == nil || !f.Fields[j].Skip(s) {
			return j
		}
	}
	return len(f.Fields)
}

func (f *Form) prev(s *State, i int) int {
	for j := i - 1; j >= 0; j-- {
		if f.Fields[j].Skip == nil || !f.Fields[j].Skip(s) {
			return j
		}
	}
	return -1
}

func (f *Form) back(s *State, lang bot.Lang, r *Result) *Result {
	if s.Picking {
		s.Picking = false
		r.Replies = []bot.Reply{f.ask(s, lang, nil)}
		return r
	}
	p := f.prev(s, s.Step)
	if p < 0 {
		r.Replies = []bot.Reply{bot.Text(T("最初の質問です。これより前には戻れません。", "This is the first question.").In(lang)), f.ask(s, lang, nil)}
		return r
	}
	s.Editing = false
	s.Step = p
	r.Replies = []bot.Reply{f.ask(s, lang, nil)}
	return r
}

// Check validates one answer for field i outside a chat dialog (a native form).
func (f *Form) Check(i int, answer string, s *State) (string, *Problem) {
	return f.validate(&f.Fields[i], strings.TrimSpace(answer), s, false)
}

func (f *Form) validate(fd *Field, answer string, s *State, pressed bool) (string, *Problem) {
	if answer == "" {
		return "", &Problem{Msg: T("回答が空でした。もう一度入力してください。", "The answer was empty. Please type it again.")}
	}
	if fd.Choices != nil {
		for _, c := range fd.Choices(s) {
			if answer == c.Value || Fold(answer) == Fold(c.Label) || Fold(answer) == Fold(c.Value) {
				answer = c.Value
				if fd.Validate == nil {
					return answer, nil
				}
				break
			}
		}
	}
	if fd.Validate != nil {
		return fd.Validate(answer, s)
	}
	if fd.Strict && fd.Choices != nil {
		for _, c := range fd.Choices(s) {
			if c.Value == answer {
				return answer, nil
			}
		}
		return "", &Problem{Msg: T("選択肢から選んでください。", "Please pick one of the choices.")}
	}
	return answer, nil
}

// ask renders the current question (or the summary), prefixed by a problem if any.
func (f *Form) ask(s *State, lang bot.Lang, prob *Problem) bot.Reply {
	if s.Step >= len(f.Fields) {
		return f.summary(s, lang)
	}
	fd := &f.Fields[s.Step]
	var b strings.Builder
	if prob != nil {
		b.WriteString(prob.Msg.In(lang))
		b.WriteString("\n")
	}
	total, pos := 0, 0
	for i := range f.Fields {
		if f.Fields[i].Skip == nil || !f.Fields[i].Skip(s) {
			total++
			if i <= s.Step {
				pos++
			}
		}
	}
	b.WriteString("(" + strconv.Itoa(pos) + "/" + strconv.Itoa(total) + ") ")
	b.WriteString(fd.Prompt.In(lang))
	if cur, ok := s.Slots[fd.Name]; ok && cur != "" {
		b.WriteString(T("\n（現在の値: ", "\n(current: ").In(lang) + f.show(fd, cur, s, lang) + T("）", ")").In(lang))
	}
	rep := bot.Reply{Text: b.String()}
	if prob != nil && len(prob.Suggest) > 0 {
		rep.Choices = append(rep.Choices, prob.Suggest...)
	} else if fd.Choices != nil {
		for _, c := range fd.Choices(s) {
			rep.Choices = append(rep.Choices, bot.Choice{Label: c.Label, Action: ActAnswer, Value: c.Value})
		}
	}
	if fd.Optional {
		rep.Choices = append(rep.Choices, bot.Choice{Label: T("スキップ", "Skip").In(lang), Action: ActSkip})
	}
	if f.prev(s, s.Step) >= 0 {
		rep.Choices = append(rep.Choices, bot.Choice{Label: T("戻る", "Back").In(lang), Action: ActBack})
	}
	rep.Choices = append(rep.Choices, bot.Choice{Label: T("やめる", "Cancel").In(lang), Action: ActCancel})
	return rep
}

func (f *Form) show(fd *Field, v string, s *State, lang bot.Lang) string {
	if fd.Show != nil {
		return fd.Show(v, lang)
	}
	if fd.Choices != nil {
		for _, c := range fd.Choices(s) {
			if c.Value == v {
				return c.Label
			}
		}
	}
	return v
}

// Summary returns the card of the draft's values.
func (f *Form) Summary(s *State, lang bot.Lang) []bot.Field {
	var out []bot.Field
	for i := range f.Fields {
		fd := &f.Fields[i]
		if fd.Skip != nil && fd.Skip(s) {
			continue
		}
		v, ok := s.Slots[fd.Name]
		shown := T("（未入力）", "(none)").In(lang)
		if ok && v != "" {
			shown = f.show(fd, v, s, lang)
		}
		out = append(out, bot.Field{Label: fd.Label.In(lang), Value: shown})
	}
	return out
}

func (f *Form) summary(s *State, lang bot.Lang) bot.Reply {
	submit := T("登録", "Submit")
	if f.SubmitLabel.JA != "" {
		submit = f.SubmitLabel
	}
	return bot.Reply{
		Text:   T("以下の内容でよろしいですか？「"+submit.JA+"」で確定、「修正」で直せます。", "Is this correct? \""+submit.EN+"\" to confirm, \"Edit\" to change.").In(lang),
		Fields: f.Summary(s, lang),
		Choices: []bot.Choice{
			{Label: submit.In(lang), Action: ActSubmit},
			{Label: T("修正", "Edit").In(lang), Action: ActEdit},
			{Label: T("やめる", "Cancel").In(lang), Action: ActCancel},
		},
	}
}

func (f *Form) summaryInput(s *State, in Input, lang bot.Lang, r *Result) *Result {
	switch {
	case in.Action == ActSubmit || Is(in.Text, wordsSubmit) || (f.SubmitLabel.JA != "" && Is(in.Text, []string{f.SubmitLabel.JA, f.SubmitLabel.EN})):
		r.Outcome = Submitted
		// Save only what the summary showed: drop answers of questions a later answer hid.
		for i := range f.Fields {
			if f.Fields[i].Skip != nil && f.Fields[i].Skip(s) {
				delete(s.Slots, f.Fields[i].Name)
			}
		}
		return r
	case in.Action == ActEdit || Is(in.Text, wordsEdit):
		s.Picking = true
		rep := bot.Reply{Text: T("どの項目を修正しますか？", "Which item do you want to change?").In(lang)}
		for i := range f.Fields {
			if f.Fields[i].Skip != nil && f.Fields[i].Skip(s) {
				continue
			}
			rep.Choices = append(rep.Choices, bot.Choice{Label: f.Fields[i].Label.In(lang), Action: ActAnswer, Value: f.Fields[i].Name})
		}
		rep.Choices = append(rep.Choices, bot.Choice{Label: T("戻る", "Back").In(lang), Action: ActBack})
		r.Replies = []bot.Reply{rep}
		return r
	}
	msg := T("「登録」「修正」「やめる」のどれかを選んでください。", "Please choose Submit, Edit or Cancel.")
	r.Replies = []bot.Reply{bot.Text(msg.In(lang)), f.summary(s, lang)}
	return r
}

func (f *Form) pick(s *State, in Input, lang bot.Lang, r *Result) *Result {
	want := in.Value
	if in.Action != ActAnswer {
		want = in.Text
	}
	for i := range f.Fields {
		fd := &f.Fields[i]
		if want == fd.Name || Fold(want) == Fold(fd.Label.JA) || Fold(want) == Fold(fd.Label.EN) {
			s.Picking = false
			s.Editing = true
			s.Step = i
			r.Replies = []bot.Reply{f.ask(s, lang, nil)}
			return r
		}
	}
	r.Replies = []bot.Reply{bot.Text(T("項目名をボタンから選んでください。", "Please choose an item from the buttons.").In(lang))}
	return r
}

func (f *Form) help(s *State, lang bot.Lang) bot.Reply {
	var b strings.Builder
	if s.Step < len(f.Fields) && !s.Picking {
		fd := &f.Fields[s.Step]
		if h := fd.Help.In(lang); h != "" {
			b.WriteString(h + "\n")
		} else {
			b.WriteString(fd.Prompt.In(lang) + "\n")
		}
		if fd.Optional {
			b.WriteString(T("この項目は省略できます（「スキップ」）。\n", "You may skip this item (\"skip\").\n").In(lang))
		}
	} else {
		b.WriteString(T("入力内容を確認しています。\n", "You are reviewing your answers.\n").In(lang))
	}
	b.WriteString(T("「戻る」で前の質問へ、「やめる」で中止します。", "\"back\" returns to the previous question, \"cancel\" stops.").In(lang))
	rep := f.ask(s, lang, nil)
	rep.Text = b.String() + "\n\n" + rep.Text
	return rep
}

// MaxRunes returns a validator that rejects empty answers and answers longer than n characters.
func MaxRunes(n int, label Text) func(string, *State) (string, *Problem) {
	return func(in string, _ *State) (string, *Problem) {
		in = strings.TrimSpace(in)
		c := utf8.RuneCountInString(in)
		if c == 0 {
			return "", &Problem{Msg: T(label.JA+"を入力してください。", "Please enter the "+label.EN+".")}
		}
		if c > n {
			return "", &Problem{Msg: T(
				label.JA+"は"+strconv.Itoa(n)+"文字以内でお願いします（今は"+strconv.Itoa(c)+"文字です）。短くして、もう一度入力してください。",
				"The "+label.EN+" must be at most "+strconv.Itoa(n)+" characters (it has "+strconv.Itoa(c)+"). Please shorten it.")}
		}
		return in, nil
	}
}
