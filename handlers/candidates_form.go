package handlers

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

// FlowCandidate is the self-registration (and edit) form of a candidate.
const FlowCandidate = "candidate"

// consentText is the purpose-of-use notice shown before registration (APPI 利用目的).
// Its version is bot.ConsentVersion; change both together.
var consentText = dialog.T(
	"【個人情報の取り扱い（"+bot.ConsentVersion+"版）】\n"+
		"・利用目的: 自治体のDX推進ニーズとあなたの経験を照合し、合う自治体にご紹介するために使います。\n"+
		"・自治体に見えるもの: 見出し、スキル、分野、稼働条件、一致の理由です。お名前・連絡先は見えません。\n"+
		"・連絡先（メール・電話）: 紹介の依頼にあなたが「はい」と答えた自治体のDX推進担当にだけお伝えします。\n"+
		"・「登録内容」で確認、「データ出力」で写しの取得、「登録削除」でいつでも削除できます。\n"+
		"同意して登録を始めますか？",
	"[How we use your personal data (version "+bot.ConsentVersion+")]\n"+
		"- Purpose: to match your experience with municipal DX needs and introduce you to municipalities that fit.\n"+
		"- What municipalities see: your headline, skills, fields, availability and why you match — not your name or contact details.\n"+
		"- Your e-mail and phone go only to the DX team of a municipality whose introduction request you accept.\n"+
		"- \"my profile\" shows your data, \"export my data\" gives you a copy, \"delete my data\" erases it at any time.\n"+
		"Do you agree and want to register?")

// candidateForm is the registration form of SPEC §5.
func candidateForm() *dialog.Form {
	T := dialog.T
	opt := func(opts []bot.Option) func(*dialog.State) []bot.Choice {
		return func(*dialog.State) []bot.Choice { return optionChoices(opts, bot.LangJA) }
	}
	return &dialog.Form{
		Name:  FlowCandidate,
		Title: T("候補者登録", "Candidate registration"),
		Fields: []dialog.Field{
			{Name: "display_name", Label: T("お名前", "Name"), Prompt: T("お名前（表示名）を入力してください。紹介を承諾するまで、自治体には表示されません。", "Your name. Municipalities see it only after you accept an introduction."),
				Validate: dialog.MaxRunes(40, T("お名前", "name")), MaxLen: 40},
			{Name: "headline", Label: T("見出し", "Headline"), Prompt: T("あなたの経験をひとことで教えてください（60文字以内）。例: 自治体のRPA導入を5年支援。自治体に表示されるため、勤務先の名称は書かないでください。", "Your experience in one line (max 60 characters), e.g. \"5 years of RPA projects for municipalities\". Municipalities see it: please leave out your employer's name."),
				Validate: dialog.MaxRunes(60, T("見出し", "headline")), MaxLen: 60},
			{Name: "skills", Label: T("スキル・経験", "Skills"), Prompt: T("スキルや経験を教えてください（1,000文字以内）。ツール名（UiPath、kintone、QGIS など）も書くと、合うニーズが見つかりやすくなります。", "Your skills and experience (max 1,000 characters). Tool names (UiPath, kintone, QGIS …) help matching."),
				Validate: dialog.MaxRunes(1000, T("スキル・経験", "skills")), MaxLen: 1000, Multiline: true},
			{Name: "categories", Label: T("得意分野", "Fields"), Prompt: T("得意な分野を選んでください。複数ある場合は「、」で区切って入力できます（例: RPA、データ活用）。", "Choose your fields. Type several separated by commas (e.g. RPA, Data)."), Optional: true,
				Choices: func(*dialog.State) []bot.Choice { return categoryChoices(bot.LangJA) },
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					return multiOption(in, categoryOptions(), T("分野", "field"))
				},
				Show: func(v string, lang bot.Lang) string { return optionNames(categoryOptions(), v, lang) }},
			{Name: "mic_type", Label: T("人材タイプ", "Talent type"), Prompt: T("近い人材タイプを選んでください（総務省の4類型）。", "Which talent type fits you best?"), Optional: true, Strict: true,
				Choices: func(*dialog.State) []bot.Choice { return micChoices(bot.LangJA) }},
			{Name: "years", Label: T("経験年数", "Years of experience"), Prompt: T("関連する経験年数を数字で入力してください（例: 8）。", "Years of relevant experience (e.g. 8)."), Optional: true,
				Validate: intRange(0, 60, T("経験年数", "years")), Show: func(v string, lang bot.Lang) string { return dialog.T(v+"年", v+" years").In(lang) }},
			{Name: "hours_per_week", Label: T("稼働時間（週）", "Hours per week"), Prompt: T("1週間に使える時間を数字で入力してください（例: 10）。", "Hours per week you can offer (e.g. 10)."), Optional: true,
				Validate: intRange(1, 80, T("稼働時間", "hours")), Show: func(v string, lang bot.Lang) string { return dialog.T("週"+v+"時間", v+" h/week").In(lang) }},
			{Name: "days", Label: T("稼働できる時間帯", "Available"), Prompt: T("稼働できる時間帯を選んでください。複数ある場合は「、」で区切って入力できます（例: 平日夜、土日）。", "When can you work? Type several separated by commas (e.g. weekday evenings, weekends)."), Optional: true,
				Choices: opt(bot.AvailabilityDays),
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					return multiOption(in, bot.AvailabilityDays, T("時間帯", "time"))
				},
				Show: func(v string, lang bot.Lang) string { return optionNames(bot.AvailabilityDays, v, lang) }},
			{Name: "work_style", Label: T("働き方", "Work style"), Prompt: T("リモートと現地（来庁）のどちらで支援できますか？", "Can you work remotely, on site, or both?"), Optional: true, Strict: true,
				Choices: func(*dialog.State) []bot.Choice { return formChoices(bot.LangJA) }},
			{Name: "region", Label: T("地域", "Region"), Prompt: T("お住まいの地域（都道府県など）を教えてください。現地対応の目安にします。", "Where do you live (prefecture)? It helps with on-site work."), Optional: true,
				Validate: dialog.MaxRunes(40, T("地域", "region")), MaxLen: 40},
			{Name: "engagement", Label: T("契約形態", "Engagement"), Prompt: T("希望する契約形態を選んでください。複数ある場合は「、」で区切って入力できます。", "Which forms of engagement do you accept? Type several separated by commas."), Optional: true,
				Choices: opt(bot.Engagements),
				Validate: func(in string, _ *dialog.State) (string, *dialog.Problem) {
					return multiOption(in, bot.Engagements, T("契約形態", "engagement"))
				},
				Show: func(v string, lang bot.Lang) string { return optionNames(bot.Engagements, v, lang) }},
			{Name: "email", Label: T("メールアドレス", "E-mail"), Prompt: T("メールアドレスを入力してください。紹介を承諾した自治体のDX推進担当にだけお伝えします。", "Your e-mail address. Only the DX team of a municipality whose request you accept receives it."),
				Validate: validateEmail, MaxLen: 254},
			{Name: "phone", Label: T("電話番号", "Phone"), Prompt: T("電話番号を入力してください（任意）。メールと同じく、承諾した自治体にだけお伝えします。", "Your phone number (optional). Shared like your e-mail, only on your yes."), Optional: true,
				Validate: validatePhone, MaxLen: 20},
		},
	}
}

func optionChoices(opts []bot.Option, lang bot.Lang) []bot.Choice {
	out := make([]bot.Choice, len(opts))
	for i, o := range opts {
		out[i] = bot.Choice{Label: o.Name(lang), Value: o.ID}
	}
	return out
}

func categoryOptions() []bot.Option {
	out := make([]bot.Option, len(bot.Categories))
	for i, c := range bot.Categories {
		out[i] = bot.Option{ID: string(c.ID), JA: c.JA, EN: c.EN}
	}
	return out
}

// optionNames renders a comma-separated list of IDs with their names.
func optionNames(opts []bot.Option, ids string, lang bot.Lang) string {
	var names []string
	for _, id := range splitList(ids) {
		names = append(names, bot.OptionName(opts, id, lang))
	}
	sep := "、"
	if lang == bot.LangEN {
		sep = ", "
	}
	return strings.Join(names, sep)
}

var reListSep = regexp.MustCompile(`[、,，;；\s]+`)

func splitList(s string) []string {
	var out []string
	for _, p := range reListSep.Split(strings.TrimSpace(s), -1) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// findOption matches an ID or a name in either language, or failing that a name that
// uniquely contains the text (「RPA」 → RPA・業務自動化).
func findOption(opts []bot.Option, s string) (string, bool) {
	f := dialog.Fold(s)
	if f == "" {
		return "", false
	}
	for _, o := range opts {
		if f == dialog.Fold(o.ID) || f == dialog.Fold(o.JA) || f == dialog.Fold(o.EN) {
			return o.ID, true
		}
	}
	hit := ""
	for _, o := range opts {
		if strings.Contains(dialog.Fold(o.JA), f) || strings.Contains(dialog.Fold(o.EN), f) {
			if hit != "" {
				return "", false
			}
			hit = o.ID
		}
	}
	return hit, hit != ""
}

// multiOption accepts one option or several separated by 、 , ; or spaces and returns
// their IDs, comma-separated, in the options' order.
func multiOption(in string, opts []bot.Option, what dialog.Text) (string, *dialog.Problem) {
	picked := map[string]bool{}
	if id, ok := findOption(opts, in); ok {
		picked[id] = true
	} else {
		for _, p := range splitList(in) {
			id, ok := findOption(opts, p)
			if !ok {
				return "", &dialog.Problem{Msg: dialog.T("「"+p+"」は"+what.JA+"の選択肢にありません。ボタンから選ぶか、「、」で区切って入力してください。",
					"\""+p+"\" is not a known "+what.EN+". Choose a button or type several separated by commas.")}
			}
			picked[id] = true
		}
	}
	if len(picked) == 0 {
		return "", &dialog.Problem{Msg: dialog.T(what.JA+"を選んでください。", "Please choose a "+what.EN+".")}
	}
	var ids []string
	for _, o := range opts {
		if picked[o.ID] {
			ids = append(ids, o.ID)
		}
	}
	return strings.Join(ids, ","), nil
}

func intRange(lo, hi int, what dialog.Text) func(string, *dialog.State) (string, *dialog.Problem) {
	return func(in string, _ *dialog.State) (string, *dialog.Problem) {
		s := strings.TrimSuffix(strings.TrimSuffix(dialog.Fold(in), "時間"), "年")
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < lo || n > hi {
			return "", &dialog.Problem{Msg: dialog.T(what.JA+"は"+strconv.Itoa(lo)+"〜"+strconv.Itoa(hi)+"の数字で入力してください。",
				"Please enter the "+what.EN+" as a number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi)+".")}
		}
		return strconv.Itoa(n), nil
	}
}

var (
	reEmail = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	rePhone = regexp.MustCompile(`^\+?[0-9][0-9-]{8,18}[0-9]$`)
)

// validateEmail accepts an address with one @ and a dotted domain; full-width input is narrowed.
func validateEmail(in string, _ *dialog.State) (string, *dialog.Problem) {
	s := dialog.Fold(in)
	if len(s) > 254 || !reEmail.MatchString(s) {
		return "", &dialog.Problem{Msg: dialog.T("メールアドレスの形式ではないようです。name@example.jp のように入力してください。",
			"That does not look like an e-mail address. Please type it like name@example.jp.")}
	}
	return s, nil
}

// validatePhone accepts digits with optional hyphens and a leading +, 10–15 digits.
func validatePhone(in string, _ *dialog.State) (string, *dialog.Problem) {
	s := strings.NewReplacer("ー", "-", "−", "-", "‐", "-", " ", "", "(", "", ")", "").Replace(dialog.Fold(in))
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if !rePhone.MatchString(s) || digits < 10 || digits > 15 {
		return "", &dialog.Problem{Msg: dialog.T("電話番号の形式ではないようです。090-1234-5678 のように入力するか、「スキップ」を押してください。",
			"That does not look like a phone number. Type it like 090-1234-5678, or press Skip.")}
	}
	return s, nil
}

// candidateFromSlots fills a profile from a completed draft; it returns the contact apart.
func candidateFromSlots(c *bot.Candidate, slots map[string]string) bot.Contact {
	c.DisplayName = slots["display_name"]
	c.Headline = slots["headline"]
	c.Skills = slots["skills"]
	c.Categories = nil
	for _, id := range splitList(slots["categories"]) {
		c.Categories = append(c.Categories, bot.Category(id))
	}
	c.MICType = slots["mic_type"]
	c.Years, _ = strconv.Atoi(slots["years"])
	c.HoursPerWeek, _ = strconv.Atoi(slots["hours_per_week"])
	c.Days = splitList(slots["days"])
	c.WorkStyle = slots["work_style"]
	c.Region = slots["region"]
	c.Engagement = splitList(slots["engagement"])
	return bot.Contact{Email: slots["email"], Phone: slots["phone"]}
}

// slotsFromCandidate is the inverse, for editing.
func slotsFromCandidate(c *bot.Candidate, ct *bot.Contact) map[string]string {
	cats := make([]string, len(c.Categories))
	for i, x := range c.Categories {
		cats[i] = string(x)
	}
	s := map[string]string{"display_name": c.DisplayName, "headline": c.Headline, "skills": c.Skills,
		"categories": strings.Join(cats, ","), "mic_type": c.MICType, "years": strconv.Itoa(c.Years),
		"hours_per_week": strconv.Itoa(c.HoursPerWeek), "days": strings.Join(c.Days, ","), "work_style": c.WorkStyle,
		"region": c.Region, "engagement": strings.Join(c.Engagement, ",")}
	if ct != nil {
		s["email"], s["phone"] = ct.Email, ct.Phone
	}
	if c.Years == 0 {
		delete(s, "years")
	}
	for k, v := range s {
		if v == "" || v == "0" && k == "hours_per_week" {
			delete(s, k)
		}
	}
	return s
}

// consentData is what the registration flow carries from the consent to the submit.
func consentData(now time.Time) map[string]string {
	return map[string]string{"consent_version": bot.ConsentVersion, "consent_at": now.UTC().Format(time.RFC3339)}
}
