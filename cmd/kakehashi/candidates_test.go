package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/bot/match"
	"github.com/kakehashi/kakehashi/handlers"
)

// cli runs an admin command against the test app's store, as an operator would on the
// same machine (attached to the running embedded server, or on the test Redis).
func (ta *testApp) candCLI(args ...string) (string, error) {
	ta.t.Helper()
	ta.t.Setenv("KAKEHASHI_DATA_DIR", ta.dir)
	ta.t.Setenv("KAKEHASHI_REDIS_URL", ta.cfg.RedisURL)
	var out bytes.Buffer
	err := run(context.Background(), args, &out, io.Discard)
	return out.String(), err
}

// candProfile is what a candidate types into the registration form.
type candProfile struct {
	Name, Headline, Skills, Categories, Email, Phone string
}

// registerCand runs consent and the whole form for u and returns the replies of 登録.
func registerCand(t *testing.T, u *webUser, p candProfile) []bot.Reply {
	t.Helper()
	consent := u.say("候補者登録")
	u.press(choice(t, consent, "はい").Action, choice(t, consent, "はい").Value)
	for _, a := range []string{p.Name, p.Headline, p.Skills, p.Categories, "エンジニア", "8", "10", "平日夜、土日", "どちらでも", "岡山県", "副業", p.Email, p.Phone} {
		u.say(a)
	}
	return u.press(dialog.ActSubmit, "")
}

// candCardFor finds the candidate card about ref among replies.
func candCardFor(t *testing.T, replies []bot.Reply, ref string) bot.Reply {
	t.Helper()
	for _, r := range replies {
		if r.Kind == "candidate_card" && len(r.Fields) > 0 && r.Fields[0].Value == ref {
			return r
		}
	}
	t.Fatalf("no candidate card for %s in %s", ref, dump(replies))
	return bot.Reply{}
}

func candidateCards(replies []bot.Reply) []bot.Reply {
	var out []bot.Reply
	for _, r := range replies {
		if r.Kind == "candidate_card" {
			out = append(out, r)
		}
	}
	return out
}

// triageNeed moves a need to 確認済 as a DX lead does.
func triageNeed(t *testing.T, lead *webUser, need string) {
	t.Helper()
	lead.press("need.setstatus", need+":triaged")
	lead.press(dialog.ActSkip, "")
	mustContain(t, lead.press(dialog.ActSubmit, ""), "「確認済」にしました")
}

func candNotContain(t *testing.T, where string, s string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(s, b) {
			t.Fatalf("%s contains %q:\n%s", where, b, s)
		}
	}
}

func candFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const candImportHeader = "external_id,display_name,headline,skills,categories,mic_type,years,hours_per_week,days,work_style,region,engagement,email,phone,consent_version,consent_at\n"

func TestCandidateImportReportAndReimport(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	before, _ := ta.CandidateStore.CountCandidates(ctx)

	// A BOM, a multi-line quoted field, and one bad line of each kind.
	csv := "\ufeff" + candImportHeader +
		`GT-001,山本 一郎,RPA導入支援,"UiPathでのシナリオ開発
WinActorの保守",rpa_automation;data_ai,engineer,8,10,weekday_evening;weekend,remote,岡山県,side_job,ichiro@example.jp,090-1111-2222,2026-11,2026-11-01` + "\n" +
		`GT-002,中川 二葉,,GIS,disaster,engineer,5,8,weekend,remote,,side_job,,,,` + "\n" +
		`GT-003,,見出し,kintone,,,,,,,,,,,,` + "\n" +
		`GT-004,森 三郎,,,web_ux,,,,,,,,,,,` + "\n" +
		`GT-005,田村 四季,,Python,,designer,99,8,monday,hybrid,,,not-an-email,12,,` + "\n" +
		`GT-006,川口 五月,,データ分析` + "\n" +
		`GT-001,重複 太郎,,Excel,,,,,,,,,,,,` + "\n" +
		`GT-007,大森 七海,,ChatGPTの活用,data_ai,,,,,,,,,,2026-11,11月1日` + "\n" +
		`GT-008,小島 八重,SNS運用,Instagram運用,promotion_pr,service_designer,3,5,weekend,either,福岡県,side_job;contract,yae@example.jp,,,` + "\n"
	path := candFile(t, "candidates.csv", csv)
	out, err := ta.candCLI("candidates", "import", path)
	if err != errImportProblems {
		t.Fatalf("import with bad lines: err = %v, want errImportProblems\n%s", err, out)
	}
	checkGolden(t, "candidates_import.golden", out)

	n, _ := ta.CandidateStore.CountCandidates(ctx)
	if n != before+2 {
		t.Fatalf("pool grew by %d, want 2 (GT-001 and GT-008)", n-before)
	}
	c, err := ta.CandidateStore.CandidateByExternalID(ctx, "GT-001")
	if err != nil || !strings.Contains(c.Skills, "WinActorの保守") || !c.Matchable() || len(c.Categories) != 2 {
		t.Fatalf("GT-001 = %+v, %v", c, err)
	}
	eight, _ := ta.CandidateStore.CandidateByExternalID(ctx, "GT-008")
	if eight.Matchable() {
		t.Fatal("a profile imported without consent is matchable")
	}

	// Re-import: same external IDs update, nothing is added; a file without contact
	// columns keeps the stored contact.
	again := candFile(t, "again.csv", "external_id,display_name,skills,categories\n"+
		"GT-001,山本 一郎,UiPath、WinActor、BizRobo,rpa_automation\nGT-008,小島 八重,Instagram、LINE公式アカウント,promotion_pr\n")
	out, err = ta.candCLI("candidates", "import", again)
	if err != nil || !strings.Contains(out, "imported 2: 0 new, 2 updated; 0 rejected") {
		t.Fatalf("re-import: %v\n%s", err, out)
	}
	if n2, _ := ta.CandidateStore.CountCandidates(ctx); n2 != n {
		t.Fatalf("re-import changed the pool size from %d to %d", n, n2)
	}
	c2, _ := ta.CandidateStore.CandidateByExternalID(ctx, "GT-001")
	ct, _ := ta.CandidateStore.Contact(ctx, c2.ID)
	if c2.ID != c.ID || c2.Skills != "UiPath、WinActor、BizRobo" || ct.Email != "ichiro@example.jp" || !c2.Consent.Given() {
		t.Fatalf("after re-import: %+v contact %+v", c2, ct)
	}

	// JSON with arrays and numbers; its errors name lines too.
	js := candFile(t, "candidates.json", `[
  {"external_id": "GT-101", "display_name": "北村 十和", "skills": "QGISでのハザードマップ作成",
   "categories": ["disaster_prevention"], "hours_per_week": 6, "days": ["weekend"],
   "consent_version": "2026-11", "consent_at": "2026-11-02"},
  {"external_id": "GT-102", "display_name": "南 百花",
   "skills": ""}
]`)
	out, err = ta.candCLI("candidates", "import", js)
	if err != errImportProblems || !strings.Contains(out, "line 5: skills: required") || !strings.Contains(out, "imported 1: 1 new, 0 updated; 1 rejected") {
		t.Fatalf("JSON import: %v\n%s", err, out)
	}

	// A file that is not UTF-8 (Shift_JIS from Excel) is refused as a whole.
	sjis := candFile(t, "sjis.csv", "external_id,display_name,skills\nA1,\x8eR\x96{,RPA\n")
	if out, err = ta.candCLI("candidates", "import", sjis); err == nil || !strings.Contains(err.Error(), "line 2: the file is not UTF-8") {
		t.Fatalf("Shift_JIS file: %v\n%s", err, out)
	}
	// The running bot sees imported profiles without a restart.
	lead := ta.join("DEMO-DX", "佐藤 一郎")
	mustContain(t, lead.say("候補者検索 3"), "C-"+strings.TrimPrefix(string(candIDByExt(t, ta, "GT-101")), "c"))
}

func candIDByExt(t *testing.T, ta *testApp, ext string) bot.CandidateID {
	t.Helper()
	c, err := ta.CandidateStore.CandidateByExternalID(context.Background(), ext)
	if err != nil {
		t.Fatalf("candidate %s: %v", ext, err)
	}
	return c.ID
}

func TestCandidateMatchCLI(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	text := "RPAで給付金の入力作業を自動化したい。WinActorの経験者を希望します。"
	out, err := ta.candCLI("candidates", "match", "--text", text, "--top", "5", "--json")
	if err != nil {
		t.Fatalf("match: %v\n%s", err, out)
	}
	var got []matchOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("match --json printed %q: %v", out, err)
	}
	if len(got) < 3 || got[0].ExternalID != "demo-cand-01" || got[0].Score <= got[1].Score {
		t.Fatalf("ranking = %+v, want demo-cand-01 (UiPath/WinActor) clearly first", got)
	}
	if !strings.Contains(strings.Join(got[0].Reasons, " "), "winactor") {
		t.Fatalf("reasons of the best match = %q, want the matched term winactor", got[0].Reasons)
	}
	// The same ranking as the bot's own index.
	res, err := ta.CandidatePool.Search(ctx, handlers.NeedQuery(&bot.Need{Description: text}), 5)
	if err != nil {
		t.Fatal(err)
	}
	var want []matchOut
	for _, r := range res {
		c, _ := ta.CandidateStore.Candidate(ctx, bot.CandidateID(r.ID))
		want = append(want, matchOut{ExternalID: c.ExternalID, Score: r.Score, Reasons: r.Reasons("ja")})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CLI and bot rank differently (-bot +cli):\n%s", diff)
	}
	// --need ranks an existing need with its category, as the triageNeed notification does.
	out, err = ta.candCLI("candidates", "match", "--tenant", "demo", "--need", "3", "--top", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var byNeed []matchOut
	json.Unmarshal([]byte(out), &byNeed)
	if len(byNeed) == 0 || byNeed[0].ExternalID != "demo-cand-03" || !strings.Contains(strings.Join(byNeed[0].Reasons, " "), "カテゴリ一致: 防災") {
		t.Fatalf("--need 3 = %+v, want the GIS/防災 profile first with the category reason", byNeed)
	}
	// A deleted profile is gone from the CLI's ranking too.
	if out, err := ta.candCLI("candidates", "delete", "demo-cand-01"); err != nil || !strings.Contains(out, "deleted demo-cand-01") {
		t.Fatalf("delete: %v %s", err, out)
	}
	out, _ = ta.candCLI("candidates", "match", "--text", text, "--top", "5", "--json")
	if strings.Contains(out, "demo-cand-01") {
		t.Fatalf("deleted profile still ranked: %s", out)
	}
	if _, err := ta.candCLI("candidates", "match", "--top", "5"); err == nil {
		t.Fatal("match without --text or --need succeeded")
	}
}

var (
	candProfileA = candProfile{Name: "河合 結衣", Headline: "電子申請と窓口改革の実務経験", Skills: "電子申請の導入、窓口の申請受付のオンライン化、LoGoフォーム、業務改善",
		Categories: "web_ux", Email: "yui.kawai@example.jp", Phone: "090-2222-3333"}
	candProfileB = candProfile{Name: "星野 蓮", Headline: "電子申請フォームの設計", Skills: "電子申請フォームの設計と窓口業務の改善、申請受付の電子化",
		Categories: "web_ux", Email: "ren.hoshino@example.jp", Phone: "080-4444-5555"}
)

// TestCandidateIntroductionBothAnswers is the demo of SPEC §5: two people register
// with DEMO-CANDIDATE, the DX lead triages need #1 and gets their cards with reasons,
// asks for both introductions; one says yes (the lead gets the contact by direct
// message), the other says no (the lead is told, without any detail).
func TestCandidateIntroductionBothAnswers(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	lead := ta.join("DEMO-DX", "佐藤 一郎")
	staff := ta.join("DEMO-STAFF", "山田 花子")
	a := ta.join("DEMO-CANDIDATE", "河合")
	b := ta.join("DEMO-CANDIDATE", "星野")
	mustContain(t, registerCand(t, a, candProfileA), "候補者として登録しました")
	mustContain(t, registerCand(t, b, candProfileB), "候補者として登録しました")
	ta.runJobs()
	lead.pushes()
	staff.pushes()
	ca, _ := ta.CandidateStore.CandidateByMember(ctx, DemoTenant, bot.PersonID(a.candPersonID(t)))
	cb, _ := ta.CandidateStore.CandidateByMember(ctx, DemoTenant, bot.PersonID(b.candPersonID(t)))

	triageNeed(t, lead, "1")
	ta.runJobs()
	pushed := lead.pushes()
	cards := candidateCards(pushed)
	if len(cards) != 3 {
		t.Fatalf("lead got %d candidate cards for need #1, want the top 3: %s", len(cards), dump(pushed))
	}
	cardA := candCardFor(t, cards, ca.Ref())
	candCardFor(t, cards, cb.Ref())
	mustContain(t, []bot.Reply{cardA}, "ニーズ「#1 窓口の申請受付を電子化したい」に合う候補者", "一致語: ", "電子申請", "カテゴリ一致: Web・UX", "一致度")
	// Before any yes: no name, no contact.
	all := texts(pushed) + dump(pushed)
	candNotContain(t, "candidate cards", all, candProfileA.Name, candProfileA.Email, candProfileA.Phone, candProfileB.Name, candProfileB.Email, candProfileB.Phone)
	// Staff never see candidates.
	if p := candidateCards(staff.pushes()); len(p) > 0 {
		t.Fatalf("staff got candidate cards: %s", dump(p))
	}
	mustContain(t, staff.press("cand.intro", "1:"+string(ca.ID)), "この操作は担当者のみが利用できます")

	// Request both introductions; a second press does not ask twice.
	intro := choice(t, []bot.Reply{cardA}, "紹介を依頼")
	mustContain(t, lead.press(intro.Action, intro.Value), "紹介を依頼しました", ca.Ref())
	mustContain(t, lead.press(intro.Action, intro.Value), "既に紹介を依頼しています")
	introB := choice(t, []bot.Reply{candCardFor(t, cards, cb.Ref())}, "紹介を依頼")
	lead.press(introB.Action, introB.Value)
	ta.runJobs()

	// The candidates get a ping naming the municipality and the need.
	pa := a.pushes()
	mustContain(t, pa, "デモ市のDX推進担当から", "#1 窓口の申請受付を電子化したい")
	yes := choice(t, pa, "はい")
	mustContain(t, a.press(yes.Action, yes.Value), "連絡先をデモ市のDX推進担当にお送りしました")
	mustContain(t, a.press(yes.Action, yes.Value), "既に回答済みです")
	no := choice(t, b.pushes(), "いいえ")
	mustContain(t, b.press(no.Action, no.Value), "お断りの旨をデモ市にお伝えしました")
	// b may not answer for a.
	mustContain(t, b.press(yes.Action, yes.Value), "この依頼は見つかりません")
	ta.runJobs()

	got := lead.pushes()
	mustContain(t, got, ca.Ref()+" さんがニーズ「#1 窓口の申請受付を電子化したい」の紹介を承諾しました", candProfileA.Name, candProfileA.Email, candProfileA.Phone,
		cb.Ref()+"）は、ご本人の都合により今回は見送り")
	candNotContain(t, "the lead's messages after a no", texts(got)+dump(got), candProfileB.Name, candProfileB.Email, candProfileB.Phone)
	// Only the requesting DX lead gets the contact: nobody else's inbox has it.
	for _, u := range []*webUser{staff, a, b} {
		p := u.pushes()
		candNotContain(t, "another inbox", texts(p)+dump(p), candProfileA.Email, candProfileA.Phone)
	}

	// Never twice for the same (need, candidate): triaging #1 again sends no card.
	lead.press("need.setstatus", "1:matching")
	lead.press(dialog.ActSkip, "")
	lead.press(dialog.ActSubmit, "")
	triageNeed(t, lead, "1")
	ta.runJobs()
	if c := candidateCards(lead.pushes()); len(c) != 0 {
		t.Fatalf("cards sent twice: %s", dump(c))
	}

	// The texts people read, reviewed as a golden file: the card, the ping, the contact
	// message and the polite no.
	var golden strings.Builder
	for _, part := range [][]bot.Reply{{cardA}, pa, got} {
		golden.WriteString(candTranscript(part))
	}
	checkGolden(t, "candidates_introduction.golden", golden.String())

	// Every request, answer and reveal is audited, without content.
	log, err := ta.CandidateStore.AuditLog(ctx, DemoTenant, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range log {
		if r.Record == ca.ID || r.Record == cb.ID {
			actions = append(actions, r.Action+" "+string(r.Record))
		}
	}
	want := []string{bot.AuditCandidateCreate + " " + string(ca.ID), bot.AuditCandidateCreate + " " + string(cb.ID),
		bot.AuditIntroRequest + " " + string(ca.ID), bot.AuditIntroRequest + " " + string(cb.ID),
		bot.AuditIntroAccept + " " + string(ca.ID), bot.AuditContactReveal + " " + string(ca.ID), bot.AuditIntroDecline + " " + string(cb.ID)}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Fatalf("audit log (-want +got):\n%s", diff)
	}
	raw, _ := json.Marshal(log)
	candNotContain(t, "the audit log", string(raw), candProfileA.Name, candProfileA.Email, candProfileA.Skills)
	if _, err := ta.candCLI("candidates", "intros"); err != nil {
		t.Fatal(err)
	}
}

// candTranscript renders replies with their fields and buttons for golden files.
func candTranscript(rs []bot.Reply) string {
	var b strings.Builder
	b.WriteString(texts(rs))
	for _, r := range rs {
		for _, c := range r.Choices {
			b.WriteString("[" + c.Label + "]")
		}
	}
	b.WriteString("\n---\n")
	return b.String()
}

// candPersonID returns the person ID behind a web session.
func (u *webUser) candPersonID(t *testing.T) string {
	t.Helper()
	p, err := u.ta.Members.PersonByIdentity(context.Background(), u.Tenant, bot.Identity{Platform: bot.PlatformWeb, UserID: u.UserID})
	if err != nil {
		t.Fatal(err)
	}
	return string(p.ID)
}

func TestCandidateRegistrationConsentEditAndExport(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	u := ta.join("DEMO-CANDIDATE", "河合")
	before, _ := ta.CandidateStore.CountCandidates(ctx)
	var script strings.Builder
	record := func(rs []bot.Reply) []bot.Reply {
		script.WriteString(candTranscript(rs))
		return rs
	}

	// Only candidates register.
	staff := ta.join("DEMO-STAFF", "山田 花子")
	mustContain(t, staff.say("候補者登録"), "この操作は担当者のみが利用できます")

	// Consent refused: nothing is stored.
	consent := record(u.say("候補者登録"))
	mustContain(t, consent, "個人情報の取り扱い（2026-11版）", "利用目的", "お名前・連絡先は見えません")
	mustContain(t, record(u.press("cand.consent.no", "")), "同意いただけない場合は登録できません")
	if n, _ := ta.CandidateStore.CountCandidates(ctx); n != before {
		t.Fatalf("refused consent stored a profile (%d → %d)", before, n)
	}
	mustContain(t, u.say("登録内容"), "まだ候補者登録をしていません")

	// Consent given: the form, with validation, then the summary.
	u.say("候補者登録")
	record(u.press("cand.consent", bot.ConsentVersion))
	for _, a := range []string{candProfileA.Name, candProfileA.Headline, candProfileA.Skills} {
		record(u.say(a))
	}
	mustContain(t, record(u.say("宇宙開発")), "「宇宙開発」は分野の選択肢にありません")
	record(u.say("RPA、データ活用"))
	for _, a := range []string{"エンジニア", "8", "10", "平日夜、土日", "どちらでも", "岡山県", "副業"} {
		record(u.say(a))
	}
	mustContain(t, record(u.say("yui.kawai@example")), "メールアドレスの形式ではないようです")
	record(u.say(candProfileA.Email))
	sum := record(u.say(candProfileA.Phone))
	mustContain(t, sum, "以下の内容でよろしいですか", "RPA・業務自動化、データ活用・AI", "平日夜、土日", candProfileA.Email)
	mustContain(t, record(u.press(dialog.ActSubmit, "")), "候補者として登録しました（C-")
	c, err := ta.CandidateStore.CandidateByMember(ctx, DemoTenant, bot.PersonID(u.candPersonID(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Consent.Version != bot.ConsentVersion || !c.Consent.At.Equal(ta.clock.Now()) || c.Source != "chat" || c.Years != 8 ||
		!cmp.Equal(c.Days, []string{"weekday_evening", "weekend"}) || !cmp.Equal(c.Categories, []bot.Category{"rpa_automation", "data_ai"}) {
		t.Fatalf("stored profile = %+v", c)
	}
	checkGolden(t, "candidates_registration.golden", script.String())

	// 登録内容 masks the contact.
	prof := u.say("登録内容")
	mustContain(t, prof, "yu***@example.jp", "***-****-3333", "2026-11版")
	candNotContain(t, "the profile view", texts(prof), candProfileA.Email, candProfileA.Phone)

	// 登録変更 edits one item and keeps the rest.
	mustContain(t, u.say("登録変更"), "登録内容を変更します")
	u.press(dialog.ActEdit, "")
	u.press(dialog.ActAnswer, "headline")
	u.say("自治体DXの実務経験10年")
	mustContain(t, u.press(dialog.ActSubmit, ""), "登録内容を更新しました")
	c2, _ := ta.CandidateStore.Candidate(ctx, c.ID)
	if c2.Headline != "自治体DXの実務経験10年" || c2.Skills != candProfileA.Skills || !c2.Consent.At.Equal(c.Consent.At) {
		t.Fatalf("after edit: %+v", c2)
	}

	// データ出力 gives a JSON copy with the full contact, downloadable by this session only.
	exp := u.say("データ出力")
	if len(exp) != 1 || len(exp[0].Attachments) != 1 || exp[0].Attachments[0].Name != bot.CandidateExportFile {
		t.Fatalf("export reply = %s", dump(exp))
	}
	res, err := u.client.Get(ta.srv.URL + exp[0].Attachments[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var doc struct {
		Profile bot.Candidate `json:"profile"`
		Contact bot.Contact   `json:"contact"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Contact.Email != candProfileA.Email || doc.Profile.Consent.Version != bot.ConsentVersion {
		t.Fatalf("export body %s: %v", body, err)
	}
	if res, _ := staff.client.Get(ta.srv.URL + exp[0].Attachments[0].URL); res.StatusCode != 404 {
		t.Fatalf("another session downloaded the export: %d", res.StatusCode)
	}
	log, _ := ta.CandidateStore.AuditLog(ctx, DemoTenant, 10)
	if last := log[len(log)-1]; last.Action != bot.AuditCandidateExport || last.Record != c.ID || last.Actor != "demo/"+u.candPersonID(t) {
		t.Fatalf("last audit record = %+v, want the export", last)
	}

	// Pausing takes the profile out of matching; resuming puts it back.
	u.press("cand.pause", "")
	if res, _ := ta.CandidatePool.Search(ctx, handlers.NeedQuery(&bot.Need{Title: candProfileA.Skills}), 40); candInResults(res, c.ID) {
		t.Fatal("a paused profile is still matched")
	}
	u.press("cand.resume", "")
	if res, _ := ta.CandidatePool.Search(ctx, handlers.NeedQuery(&bot.Need{Title: candProfileA.Skills}), 40); !candInResults(res, c.ID) {
		t.Fatal("a resumed profile is not matched")
	}
}

func candInResults(res []match.Result, id bot.CandidateID) bool {
	for _, r := range res {
		if r.ID == string(id) {
			return true
		}
	}
	return false
}

// candSentinel is personal data no log line and, after deletion, no key may contain.
var candSentinel = candProfile{Name: "検証用センチネル太郎", Headline: "センチネル見出し", Skills: "RPAで給付金の入力作業を自動化、WinActor、UiPath、センチネル技能",
	Categories: "rpa_automation", Email: "sentinel.taro@example.jp", Phone: "090-7777-8888"}

// TestCandidateDeletionLeavesOnlyAudit registers a candidate who is matched to need
// #2 at once (cards and an introduction ping waiting in the queue), exports the data,
// then deletes: nothing is delivered afterwards and a scan of every key finds no trace
// but the audit records.
func TestCandidateDeletionLeavesOnlyAudit(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	lead := ta.join("DEMO-DX", "佐藤 一郎")
	u := ta.join("DEMO-CANDIDATE", candSentinel.Name)
	registerCand(t, u, candSentinel)
	pid := bot.PersonID(u.candPersonID(t))
	c, err := ta.CandidateStore.CandidateByMember(ctx, DemoTenant, pid)
	if err != nil {
		t.Fatal(err)
	}
	// Match against the open needs without delivering (the queue holds the cards).
	if err := ta.Candidates.MatchCandidate(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := ta.CandidateStore.Matched(ctx, DemoTenant, 2, c.ID); !ok {
		t.Fatal("the candSentinel profile did not match need #2 (RPA)")
	}
	mustContain(t, lead.press("cand.intro", "2:"+string(c.ID)), "紹介を依頼しました")
	u.say("データ出力")

	// An edit draft is open (a copy of the profile and contact) when the person deletes.
	mustContain(t, u.say("登録変更"), "登録内容を変更します")
	mustContain(t, u.press("cand.delete", ""), "元に戻せません")
	mustContain(t, u.press("cand.delete.confirm", string(c.ID)), "登録を削除しました")
	mustContain(t, u.say("登録内容"), "まだ候補者登録をしていません")
	mustContain(t, lead.press("cand.intro", "2:"+string(c.ID)), "この候補者はニーズ #2 の候補として表示されていません")

	ta.runJobs()
	if p := lead.pushes(); len(candidateCards(p)) > 0 || strings.Contains(texts(p), c.Ref()) {
		t.Fatalf("the lead got notices about the deleted candidate: %s", dump(p))
	}
	if p := u.pushes(); len(p) > 0 {
		t.Fatalf("the deleted candidate still got pings: %s", dump(p))
	}
	if res, _ := ta.CandidatePool.Search(ctx, handlers.NeedQuery(&bot.Need{Title: candSentinel.Skills}), 50); candInResults(res, c.ID) {
		t.Fatal("the deleted profile is still in the match index")
	}

	// SCAN every key: no personal data, and only audit records refer to the profile.
	auditSeen := false
	for _, k := range ta.candAllKeys() {
		vals := ta.candKeyValues(k)
		dump := k + "\n" + strings.Join(vals, "\n")
		for _, bad := range []string{candSentinel.Name, candSentinel.Email, candSentinel.Phone, "センチネル見出し", "センチネル技能", "chat-demo-" + string(pid)} {
			if strings.Contains(dump, bad) {
				t.Errorf("key %s still holds %q after deletion", k, bad)
			}
		}
		refers := false
		for _, v := range vals {
			refers = refers || v == string(c.ID) || strings.Contains(v, `"`+string(c.ID)+`"`) || strings.Contains(v, ":"+string(c.ID)) || strings.Contains(v, "|"+string(c.ID))
		}
		if refers || strings.Contains(k, ":"+string(c.ID)) {
			if k != "t:{demo}:audit" {
				t.Errorf("key %s still refers to %s: %s", k, c.ID, dump)
			}
			auditSeen = true
		}
	}
	if !auditSeen {
		t.Fatal("no audit record of the deletion")
	}
	log, _ := ta.CandidateStore.AuditLog(ctx, DemoTenant, 20)
	if last := log[len(log)-1]; last.Action != bot.AuditCandidateDelete || last.Record != c.ID {
		t.Fatalf("last audit record = %+v", last)
	}
}

func (ta *testApp) candAllKeys() []string {
	ta.t.Helper()
	var keys []string
	iter := ta.DB.Client.Scan(context.Background(), 0, "*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		ta.t.Fatal(err)
	}
	return keys
}

// keyValues returns a key's value as text parts, whatever its type.
func (ta *testApp) candKeyValues(k string) []string {
	ta.t.Helper()
	ctx := context.Background()
	c := ta.DB.Client
	switch c.Type(ctx, k).Val() {
	case "string":
		return []string{c.Get(ctx, k).Val()}
	case "hash":
		var out []string
		for f, v := range c.HGetAll(ctx, k).Val() {
			out = append(out, f, v)
		}
		return out
	case "list":
		return c.LRange(ctx, k, 0, -1).Val()
	case "set":
		return c.SMembers(ctx, k).Val()
	case "zset":
		return c.ZRange(ctx, k, 0, -1).Val()
	}
	return nil
}

// TestCandidateLogsHoldNoPersonalData runs registration (with a mistyped address),
// matching, an accepted introduction, export, CLI import and deletion with candSentinel
// names, addresses and numbers, then searches every log line for them.
func TestCandidateLogsHoldNoPersonalData(t *testing.T) {
	ta := newTestApp(t)
	lead := ta.join("DEMO-DX", "佐藤 一郎")
	u := ta.join("DEMO-CANDIDATE", candSentinel.Name)
	consent := u.say("候補者登録")
	u.press(choice(t, consent, "はい").Action, bot.ConsentVersion)
	for _, a := range []string{candSentinel.Name, candSentinel.Headline, candSentinel.Skills, candSentinel.Categories, "エンジニア", "8", "10", "平日夜", "リモート", "岡山県", "副業",
		"sentinel.taro＠example", candSentinel.Email, candSentinel.Phone} {
		u.say(a)
	}
	u.press(dialog.ActSubmit, "")
	ta.runJobs()
	cards := candidateCards(lead.pushes())
	c, err := ta.CandidateStore.CandidateByMember(context.Background(), DemoTenant, bot.PersonID(u.candPersonID(t)))
	if err != nil {
		t.Fatal(err)
	}
	intro := choice(t, []bot.Reply{candCardFor(t, cards, c.Ref())}, "紹介を依頼")
	lead.press(intro.Action, intro.Value)
	ta.runJobs()
	yes := choice(t, u.pushes(), "はい")
	u.press(yes.Action, yes.Value)
	ta.runJobs()
	mustContain(t, lead.pushes(), candSentinel.Email)
	u.say("登録内容")
	u.say("データ出力")
	csvPath := candFile(t, "s.csv", candImportHeader+"S-1,センチネル花子,,センチネル技能,,,,,,,,,hanako.sentinel@example.jp,080-6666-9999,,\nS-2,センチネル次郎,,,,,,,,,,,bad@@sentinel,,,\n")
	ta.candCLI("candidates", "import", csvPath)
	u.say("登録削除")
	u.press("cand.delete.confirm", string(c.ID))
	ta.runJobs()

	logs := ta.logs.String()
	if !strings.Contains(logs, `"msg":"candidate index built","profiles":30`) {
		t.Fatalf("no log line of the index build from the store:\n%s", logs)
	}
	if !strings.Contains(logs, "candidates matched for need") && !strings.Contains(logs, "candidate matched against open needs") {
		t.Fatalf("the flow logged nothing about matching; the test would prove nothing:\n%s", logs)
	}
	for _, s := range []string{candSentinel.Name, "センチネル", candSentinel.Email, "sentinel.taro", candSentinel.Phone, "7777-8888", "hanako.sentinel", "6666-9999", "bad@@sentinel", "example.jp"} {
		if strings.Contains(logs, s) {
			i := strings.Index(logs, s)
			t.Errorf("logs contain %q: …%s…", s, logs[max(0, i-200):min(len(logs), i+100)])
		}
	}
}

// FuzzParseCandidates feeds the import parser arbitrary files: it never panics, every
// problem names a line of the file, and every accepted row has what SPEC §5 requires.
func FuzzParseCandidates(f *testing.F) {
	f.Add([]byte("\ufeff" + candImportHeader + "A-1,山田,見出し,RPA,rpa_automation;data_ai,engineer,3,10,weekend,remote,岡山県,side_job,a@example.jp,090-1234-5678,2026-11,2026-11-01\n"))
	f.Add([]byte("external_id,display_name,skills\n\"A\nB\",x,y\nC,\"unterminated\n"))
	f.Add([]byte(`[{"external_id":"J-1","display_name":"x","skills":"y","days":["weekend"],"years":3}, {"skills": 5}]`))
	f.Add([]byte("external_id,display_name,skills,emial\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, probs, err := parseCandidates(data)
		if err != nil {
			return
		}
		lines := 1 + bytes.Count(data, []byte("\n"))
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("problem on line %d of a %d-line file: %s", p.Line, lines, p)
			}
		}
		for _, r := range rows {
			if r.Cand.ExternalID == "" || r.Cand.DisplayName == "" || r.Cand.Skills == "" || r.Line < 1 || r.Line > lines {
				t.Fatalf("accepted an incomplete row: %+v", r)
			}
		}
	})
}
