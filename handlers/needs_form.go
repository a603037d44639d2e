package handlers

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

// Flow names of the needs feature.
const (
	FlowNeed         = "need"
	FlowNeedWithdraw = "need_withdraw"
	FlowNeedStatus   = "need_status"
	FlowNeedPriority = "need_priority"
	FlowNeedNote     = "need_note"
	FlowNeedMerge    = "need_merge"
)

const freePrefix = "free:"

// needForm is the filing form (SPEC §4). Its choices depend on the tenant's departments.
func needForm(t *bot.Tenant, now time.Time) *dialog.Form {
	var depts []string
	if t != nil {
		depts = t.Departments
	}
	T := dialog.T
	return &dialog.Form{
		Name:  FlowNeed,
		Title: T("ニーズ登録", "New need"),
		Fields: []dialog.Field{
			{Name: "title", Label: T("件名", "Title"), Prompt: T("相談したいことを一言で教えてください（80文字以内）。例: 窓口の申請受付を電子化したい", "Describe the need in one line (max 80 characters)."),
				Help:     T("件名はDX推進担当の一覧に表示されます。具体的な業務名を入れると伝わりやすくなります。", "The title appears in the DX team's queue. Name the task concretely."),
				Validate: dialog.MaxRunes(80, T("件名", "title")), MaxLen: 80},
			{Name: "description", Label: T("内容", "Description"), Prompt: T("詳しい内容を教えてください（2,000文字以内）。今の困りごと、目指す姿、関係する業務など。", "Describe it in detail (max 2,000 characters): the problem today, the goal, the work involved."),
				Validate: dialog.MaxRunes(2000, T("内容", "description")), MaxLen: 2000, Multiline: true},
			{Name: "department", Label: T("部署", "Department"), Prompt: T("所属部署を選ぶか、入力してください。", "Choose or type your department."),
				Choices: func(*dialog.State) []bot.Choice { return stringChoices(depts) },
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					return validateDepartment(in, depts)
				}},
			{Name: "category", Label: T("カテゴリ", "Category"), Prompt: T("近いカテゴリを選んでください。", "Choose the closest category."), Strict: true,
				Choices: func(*dialog.State) []bot.Choice { return categoryChoices(bot.LangJA) }},
			{Name: "mic_type", Label: T("求める人材タイプ", "Talent type"), Prompt: T("求める人材のタイプを選んでください（分からなければスキップ）。", "Which talent type do you need? (skip if unsure)"), Strict: true, Optional: true,
				Choices: func(*dialog.State) []bot.Choice { return micChoices(bot.LangJA) }},
			{Name: "urgency", Label: T("緊急度", "Urgency"), Prompt: T("緊急度を選んでください。", "How urgent is it?"), Strict: true,
				Choices: func(*dialog.State) []bot.Choice {
					return []bot.Choice{{Label: "高", Value: "high"}, {Label: "中", Value: "medium"}, {Label: "低", Value: "low"}}
				}},
			{Name: "deadline", Label: T("期限", "Deadline"), Prompt: T("期限があれば日付を入力してください（例: 2027-03-31、3/31）。なければスキップ。", "Any deadline? Type a date (e.g. 2027-03-31) or skip."), Optional: true,
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) { return validateDate(in, now) }},
			{Name: "impact", Label: T("影響の大きさ", "Impact"), Prompt: T("影響の大きさを1〜5で選んでください（1: 課内のみ 〜 5: 全市民）。", "Impact from 1 (one team) to 5 (all residents)."), Strict: true,
				Choices: func(*dialog.State) []bot.Choice {
					return []bot.Choice{{Label: "1 課内", Value: "1"}, {Label: "2 複数係", Value: "2"}, {Label: "3 部全体", Value: "3"}, {Label: "4 全庁", Value: "4"}, {Label: "5 全市民", Value: "5"}}
				}},
			{Name: "form", Label: T("希望する支援形態", "Form of support"), Prompt: T("希望する支援の形を選んでください。", "Remote or on site?"), Strict: true,
				Choices: func(*dialog.State) []bot.Choice { return formChoices(bot.LangJA) }},
			{Name: "skills", Label: T("求めるスキル", "Skills wanted"), Prompt: T("求めるスキルや経験があれば教えてください（例: RPA、kintone、GIS）。なければスキップ。", "Skills wanted (e.g. RPA, kintone, GIS), or skip."), Optional: true,
				Validate: dialog.MaxRunes(500, T("求めるスキル", "skills"))},
		},
	}
}

func stringChoices(ss []string) []bot.Choice {
	out := make([]bot.Choice, len(ss))
	for i, s := range ss {
		out[i] = bot.Choice{Label: s, Value: s}
	}
	return out
}

func categoryChoices(lang bot.Lang) []bot.Choice {
	out := make([]bot.Choice, len(bot.Categories))
	for i, c := range bot.Categories {
		out[i] = bot.Choice{Label: c.ID.Name(lang), Value: string(c.ID)}
	}
	return out
}

func micChoices(lang bot.Lang) []bot.Choice {
	out := make([]bot.Choice, len(bot.MICTypes))
	for i, c := range bot.MICTypes {
		out[i] = bot.Choice{Label: bot.MICName(c.ID, lang), Value: c.ID}
	}
	return out
}

func formChoices(lang bot.Lang) []bot.Choice {
	out := make([]bot.Choice, len(bot.WorkForms))
	for i, c := range bot.WorkForms {
		out[i] = bot.Choice{Label: bot.WorkFormName(c.ID, lang), Value: c.ID}
	}
	return out
}

// validateDepartment accepts a department of the tenant's list (also a unique partial
// match like 総務 → 総務課), or free text the person confirmed with the button.
func validateDepartment(in string, depts []string) (string, *dialog.Problem) {
	in = strings.TrimSpace(in)
	if v, ok := strings.CutPrefix(in, freePrefix); ok {
		return dialog.MaxRunes(40, dialog.T("部署名", "department"))(v, nil)
	}
	if len(depts) == 0 {
		return dialog.MaxRunes(40, dialog.T("部署名", "department"))(in, nil)
	}
	var hits []string
	for _, d := range depts {
		if dialog.Fold(d) == dialog.Fold(in) {
			return d, nil
		}
		if in != "" && strings.Contains(d, in) {
			hits = append(hits, d)
		}
	}
	if len(hits) == 1 {
		return hits[0], nil
	}
	suggest := stringChoices(depts)
	for i := range suggest {
		suggest[i].Action = dialog.ActAnswer
	}
	if in != "" && len([]rune(in)) <= 40 {
		suggest = append(suggest, bot.Choice{Label: "「" + in + "」で登録", Action: dialog.ActAnswer, Value: freePrefix + in})
	}
	return "", &dialog.Problem{
		Msg:     dialog.T("「"+in+"」は部署一覧にありません。一覧から選ぶか、このままの名前で登録してください。", "\""+in+"\" is not in the department list. Choose one, or keep your own wording."),
		Suggest: suggest,
	}
}

var (
	reISODate = regexp.MustCompile(`^(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?$`)
	reMDDate  = regexp.MustCompile(`^(\d{1,2})[/月](\d{1,2})日?$`)
)

// validateDate accepts 2027-03-31, 2027/3/31, 2027年3月31日, 3/31 and 3月31日 (the next such day).
func validateDate(in string, now time.Time) (string, *dialog.Problem) {
	s := dialog.Fold(in)
	s = strings.ReplaceAll(s, " ", "")
	now = now.In(bot.Tokyo)
	var y, m, d int
	if g := reISODate.FindStringSubmatch(s); g != nil {
		y, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		d, _ = strconv.Atoi(g[3])
	} else if g := reMDDate.FindStringSubmatch(s); g != nil {
		m, _ = strconv.Atoi(g[1])
		d, _ = strconv.Atoi(g[2])
		y = now.Year()
		if time.Date(y, time.Month(m), d, 23, 59, 0, 0, bot.Tokyo).Before(now) {
			y++
		}
	} else {
		return "", &dialog.Problem{Msg: dialog.T("日付として読めませんでした。2027-03-31 や 3/31 の形で入力するか、「スキップ」を押してください。",
			"That is not a date I can read. Type e.g. 2027-03-31 or 3/31, or press Skip.")}
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, bot.Tokyo)
	if t.Month() != time.Month(m) || t.Day() != d {
		return "", &dialog.Problem{Msg: dialog.T("存在しない日付です。もう一度入力してください。", "That date does not exist. Please try again.")}
	}
	if t.Before(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, bot.Tokyo)) {
		return "", &dialog.Problem{Msg: dialog.T("過去の日付です。これからの日付を入力してください。", "That date is in the past. Please enter a future date.")}
	}
	return t.Format("2006-01-02"), nil
}

// needFromSlots fills a need from a completed draft.
func needFromSlots(n *bot.Need, slots map[string]string) {
	n.Title = slots["title"]
	n.Description = slots["description"]
	n.Department = slots["department"]
	n.Category = bot.Category(slots["category"])
	n.MICType = slots["mic_type"]
	n.Urgency = bot.Urgency(slots["urgency"])
	n.Deadline = nil
	if d, err := time.ParseInLocation("2006-01-02", slots["deadline"], bot.Tokyo); err == nil {
		n.Deadline = &d
	}
	n.Impact, _ = strconv.Atoi(slots["impact"])
	n.Form = slots["form"]
	n.Skills = slots["skills"]
}

// slotsFromNeed is the inverse, for editing.
func slotsFromNeed(n *bot.Need) map[string]string {
	s := map[string]string{"title": n.Title, "description": n.Description, "department": n.Department,
		"category": string(n.Category), "mic_type": n.MICType, "urgency": string(n.Urgency),
		"impact": strconv.Itoa(n.Impact), "form": n.Form, "skills": n.Skills}
	if n.Deadline != nil {
		s["deadline"] = n.Deadline.In(bot.Tokyo).Format("2006-01-02")
	}
	for k, v := range s {
		if v == "" || v == "0" {
			delete(s, k)
		}
	}
	return s
}

// smallForms are the one- or two-question flows of need management.
func withdrawForm() *dialog.Form {
	return &dialog.Form{Name: FlowNeedWithdraw, Title: dialog.T("ニーズの取り下げ", "Withdraw a need"), SubmitLabel: dialog.T("取り下げる", "Withdraw"),
		Fields: []dialog.Field{{Name: "reason", Label: dialog.T("理由", "Reason"), Prompt: dialog.T("取り下げる理由を教えてください。", "Why do you withdraw it?"),
			Validate: dialog.MaxRunes(300, dialog.T("理由", "reason"))}}}
}

func statusReasonForm(required bool) *dialog.Form {
	f := dialog.Field{Name: "reason", Label: dialog.T("理由", "Reason"), Prompt: dialog.T("理由を入力してください（申請者に通知されます）。", "Enter the reason (the filer will see it)."),
		Validate: dialog.MaxRunes(500, dialog.T("理由", "reason"))}
	if !required {
		f.Optional = true
		f.Prompt = dialog.T("申請者へのひとこと・理由があれば入力してください（スキップ可）。", "Add a note for the filer, or skip.")
	}
	return &dialog.Form{Name: FlowNeedStatus, Title: dialog.T("状態の変更", "Change status"), SubmitLabel: dialog.T("変更する", "Change"), Fields: []dialog.Field{f}}
}

func priorityForm() *dialog.Form {
	return &dialog.Form{Name: FlowNeedPriority, Title: dialog.T("優先度の設定", "Set priority"), SubmitLabel: dialog.T("設定する", "Set"),
		Fields: []dialog.Field{
			{Name: "score", Label: dialog.T("優先度", "Priority"), Prompt: dialog.T("優先度を0〜100の数字で入力してください。「自動」で自動計算に戻します。", "Enter a priority 0–100, or \"auto\" to go back to the computed score."),
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					f := dialog.Fold(in)
					if f == "自動" || f == "auto" {
						return "auto", nil
					}
					n, err := strconv.Atoi(f)
					if err != nil || n < 0 || n > 100 {
						return "", &dialog.Problem{Msg: dialog.T("0〜100の数字で入力してください。", "Please enter a number from 0 to 100.")}
					}
					return strconv.Itoa(n), nil
				}},
			{Name: "reason", Label: dialog.T("理由", "Reason"), Prompt: dialog.T("設定する理由を入力してください。", "Why?"),
				Skip:     func(s *dialog.State) bool { return s.Slots["score"] == "auto" },
				Validate: dialog.MaxRunes(200, dialog.T("理由", "reason"))},
		}}
}

func noteForm() *dialog.Form {
	return &dialog.Form{Name: FlowNeedNote, Title: dialog.T("内部メモ", "Internal note"), SubmitLabel: dialog.T("保存", "Save"),
		Fields: []dialog.Field{{Name: "text", Label: dialog.T("メモ", "Note"), Prompt: dialog.T("内部メモを入力してください（申請者には表示されません）。", "Type the internal note (never shown to the filer)."),
			Validate: dialog.MaxRunes(1000, dialog.T("メモ", "note"))}}}
}

func mergeForm() *dialog.Form {
	return &dialog.Form{Name: FlowNeedMerge, Title: dialog.T("重複ニーズの統合", "Merge a duplicate"), SubmitLabel: dialog.T("統合する", "Merge"),
		Fields: []dialog.Field{{Name: "target", Label: dialog.T("統合先", "Merge into"), Prompt: dialog.T("統合先のニーズ番号を入力してください（例: 12）。", "Which need number should it be merged into? (e.g. 12)"),
			Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
				n, err := strconv.Atoi(strings.TrimPrefix(dialog.Fold(in), "#"))
				if err != nil || n <= 0 {
					return "", &dialog.Problem{Msg: dialog.T("ニーズ番号を数字で入力してください（例: 12）。", "Please enter the need number (e.g. 12).")}
				}
				return strconv.Itoa(n), nil
			}}}}
}
