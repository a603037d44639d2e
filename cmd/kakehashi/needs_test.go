package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fileNeed runs the whole filing dialog with valid answers and returns the final replies.
func fileNeed(t *testing.T, u *webUser, title, dept string) []bot.Reply {
	t.Helper()
	u.say("ニーズ登録")
	u.say(title)
	u.say(title + "について、現状の困りごとを相談したいです。")
	u.say(dept)
	u.press(dialog.ActAnswer, "data_ai")
	u.press(dialog.ActSkip, "")
	u.say("中")
	u.press(dialog.ActSkip, "")
	u.say("4")
	u.say("どちらでも")
	u.press(dialog.ActSkip, "")
	return u.press(dialog.ActSubmit, "")
}

func TestNeedFromFilingToDone(t *testing.T) {
	ta := newTestApp(t)
	staff := ta.join("DEMO-STAFF", "山田 花子")
	lead := ta.join("DEMO-DX", "佐藤 一郎")
	lead.pushes()

	got := fileNeed(t, staff, "庁内の問い合わせ統計を可視化したい", "情報政策課")
	mustContain(t, got, "受け付けました（#5）", "優先度")
	// The acknowledgement comes only after the need is stored.
	n, err := ta.NeedStore.Need(context.Background(), DemoTenant, 5)
	if err != nil || n.Title != "庁内の問い合わせ統計を可視化したい" || n.Department != "情報政策課" || n.Status != bot.NeedNew {
		t.Fatalf("stored need = %+v, %v", n, err)
	}
	// The DX team's inbox gets the card with claim and triage buttons.
	ta.runJobs()
	team := lead.pushes()
	mustContain(t, team, "新しいニーズが届きました", "#5")
	choice(t, team, "担当する")

	// Staff may not triage.
	mustContain(t, staff.say("トリアージ"), "この操作は担当者のみが利用できます")

	// The DX lead sees the queue sorted by priority and works the need.
	q := lead.say("トリアージ")
	mustContain(t, q, "トリアージ一覧")
	lead.press("need.claim", "5")
	lead.press("need.note", "5")
	lead.say("内部メモ: 予算は来年度")
	lead.press(dialog.ActSubmit, "")
	for _, step := range []struct {
		to     bot.NeedStatus
		reason string
	}{{bot.NeedTriaged, "内容を確認しました"}, {bot.NeedMatching, ""}, {bot.NeedScheduling, ""}, {bot.NeedInProgress, ""}, {bot.NeedDone, "ダッシュボードを公開しました"}} {
		lead.press("need.setstatus", "5:"+string(step.to))
		if step.reason == "" {
			lead.press(dialog.ActSkip, "")
		} else {
			lead.say(step.reason)
		}
		mustContain(t, lead.press(dialog.ActSubmit, ""), "「"+step.to.Name(bot.LangJA)+"」にしました")
		ta.runJobs()
		p := staff.pushes()
		if len(p) != 1 {
			t.Fatalf("after %s the filer got %d notifications: %s", step.to, len(p), dump(p))
		}
		mustContain(t, p, "#5 庁内の問い合わせ統計を可視化したい", "「"+step.to.Name(bot.LangJA)+"」になりました")
		if step.reason != "" {
			mustContain(t, p, "理由: "+step.reason)
		}
		if strings.Contains(texts(p), "予算は来年度") {
			t.Fatalf("internal note leaked to the filer: %s", texts(p))
		}
	}
	n, _ = ta.NeedStore.Need(context.Background(), DemoTenant, 5)
	if n.Status != bot.NeedDone || n.ClaimedBy == "" || len(n.Notes) != 1 {
		t.Fatalf("final need = %+v", n)
	}
	// The filer's view shows the history but not the internal note.
	v := staff.press("need.view", "5")
	mustContain(t, v, "完了", "履歴")
	if strings.Contains(texts(v), "予算は来年度") {
		t.Fatal("internal note shown to the filer")
	}
	// Running the jobs again sends nothing twice.
	ta.runJobs()
	if p := staff.pushes(); len(p) != 0 {
		t.Fatalf("duplicate notifications: %s", dump(p))
	}
}

func TestNeedValidationAndInterruptions(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "")
	u.say("相談したい")
	mustContain(t, u.say(strings.Repeat("あ", 81)), "80文字以内", "81文字")
	mustContain(t, u.say("ヘルプ"), "件名は")
	u.say("窓口予約をオンライン化したい")
	mustContain(t, u.say("戻る"), "(1/10)", "現在の値: 窓口予約をオンライン化したい")
	u.say("窓口予約をオンライン化したい")
	u.say("来庁予約の電話が多く、職員の負担になっています。")
	r := u.say("ひみつ課")
	mustContain(t, r, "「ひみつ課」は部署一覧にありません")
	choice(t, r, "総務課")
	r = u.press(dialog.ActAnswer, "free:ひみつ課")
	mustContain(t, r, "(4/10)")
	mustContain(t, u.say("カテゴリ？"), "選択肢から選んでください")
	u.press(dialog.ActAnswer, "web_ux")
	u.press(dialog.ActSkip, "")
	u.say("高")
	mustContain(t, u.say("きのう"), "日付として読めませんでした")
	mustContain(t, u.say("2020-01-01"), "過去の日付")
	u.say("2027/3/31")
	u.say("5")
	u.say("リモート")
	sum := u.press(dialog.ActSkip, "")
	mustContain(t, sum, "部署: ひみつ課", "期限: 2027-03-31")
	// 修正 → pick the title → answer → back at the summary.
	u.press(dialog.ActEdit, "")
	u.press(dialog.ActAnswer, "title")
	mustContain(t, u.say("窓口予約をオンラインにしたい"), "件名: 窓口予約をオンラインにしたい", "よろしいですか")
	mustContain(t, u.say("キャンセル"), "中止しました")
	if ns, _ := ta.NeedStore.Needs(context.Background(), DemoTenant, bot.NeedFilter{}); len(ns) != 4 {
		t.Fatalf("a cancelled draft was stored: %d needs", len(ns))
	}
}

func TestSimilarNeedSupport(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "")
	u.say("ニーズ登録")
	u.say("給付金の入力作業をRPAで自動化したい")
	u.say("申請書の転記に時間がかかっています。RPAで自動化したいです。")
	u.say("福祉課")
	u.press(dialog.ActAnswer, "rpa_automation")
	u.press(dialog.ActSkip, "")
	u.say("中")
	u.press(dialog.ActSkip, "")
	u.say("3")
	u.say("リモート")
	u.press(dialog.ActSkip, "")
	r := u.press(dialog.ActSubmit, "")
	mustContain(t, r, "似ているニーズが既にあります", "#2")
	c := choice(t, r, "同じ内容です（賛同する）#2")
	choice(t, r, "別件として登録")
	mustContain(t, u.press(c.Action, c.Value), "賛同しました")
	n, _ := ta.NeedStore.Need(context.Background(), DemoTenant, 2)
	if len(n.Supporters) != 1 || n.Supporters[0].Department != "福祉課" {
		t.Fatalf("supporters = %+v", n.Supporters)
	}
	if ns, _ := ta.NeedStore.Needs(context.Background(), DemoTenant, bot.NeedFilter{}); len(ns) != 4 {
		t.Fatalf("supporting filed a new need: %d needs", len(ns))
	}
	// The supporter sees it among their needs and is told of changes.
	mustContain(t, u.say("私のニーズ"), "#2")
}

func TestEditAndWithdraw(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "")
	other := ta.join("DEMO-STAFF", "")
	fileNeed(t, u, "会議録の作成をAIで効率化したい", "総務課")
	r := u.press("need.view", "5")
	choice(t, r, "編集")
	choice(t, r, "取り下げ")
	// Someone else cannot see or edit it.
	mustContain(t, other.press("need.view", "5"), "見つかりません")
	mustContain(t, other.press("need.edit", "5"), "見つかりません")
	u.press("need.edit", "5")
	u.press(dialog.ActEdit, "")
	u.press(dialog.ActAnswer, "urgency")
	u.say("高")
	mustContain(t, u.press(dialog.ActSubmit, ""), "更新しました")
	n, _ := ta.NeedStore.Need(context.Background(), DemoTenant, 5)
	if n.Urgency != bot.UrgencyHigh {
		t.Fatalf("urgency = %s", n.Urgency)
	}
	u.press("need.withdraw", "5")
	u.say("別の方法で解決しました")
	mustContain(t, u.press(dialog.ActSubmit, ""), "「取下げ」にしました")
	n, _ = ta.NeedStore.Need(context.Background(), DemoTenant, 5)
	if n.Status != bot.NeedWithdrawn || n.History[len(n.History)-1].Reason != "別の方法で解決しました" {
		t.Fatalf("need = %+v", n)
	}
	mustContain(t, u.press("need.edit", "5"), "編集できません")
}

func TestMergeAndPriorityOverride(t *testing.T) {
	ta := newTestApp(t)
	lead := ta.join("DEMO-DX", "")
	lead.press("need.merge", "4")
	lead.say("1")
	mustContain(t, lead.press(dialog.ActSubmit, ""), "「見送り」にしました")
	n1, _ := ta.NeedStore.Need(context.Background(), DemoTenant, 1)
	n4, _ := ta.NeedStore.Need(context.Background(), DemoTenant, 4)
	if n4.Status != bot.NeedDeclined || n4.MergedInto != 1 || !n1.HasSupporter(n4.FiledBy) {
		t.Fatalf("merge: n1=%+v n4=%+v", n1.Supporters, n4)
	}
	lead.press("need.priority", "1")
	lead.say("95")
	lead.say("市長公約のため")
	mustContain(t, lead.press(dialog.ActSubmit, ""), "優先度 95: 担当者設定: 市長公約のため")
	mustContain(t, lead.say("トリアージ"), "#1 受付")
}

func TestTenantsAreIsolated(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	if err := ta.Members.CreateTenant(ctx, &bot.Tenant{ID: "other", Name: "ほか市", Departments: []string{"企画課"}}); err != nil {
		t.Fatal(err)
	}
	if err := ta.Members.CreateInvite(ctx, &bot.Invite{Code: "OTHER-DX", Tenant: "other", Role: bot.RoleDXLead, UsesLeft: 5}); err != nil {
		t.Fatal(err)
	}
	o := ta.join("OTHER-DX", "")
	mustContain(t, o.say("トリアージ"), "対応中のニーズはありません")
	mustContain(t, o.press("need.view", "1"), "見つかりません")
	mustContain(t, o.say("ニーズ一覧"), "ニーズはまだありません")
	// Keys of both tenants stay under their own hash tags.
	keys, _ := ta.DB.Client.Keys(ctx, "*").Result()
	for _, k := range keys {
		if strings.Contains(k, "need:") && !strings.HasPrefix(k, "t:{demo}:") && !strings.HasPrefix(k, "t:{other}:") && !strings.HasPrefix(k, "q:{jobs}:") {
			t.Fatalf("need key outside a tenant: %s", k)
		}
	}
}

// TestNeedTextsGolden pins the Japanese wording of the filing dialog and the acknowledgement.
func TestNeedTextsGolden(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "")
	var b strings.Builder
	rec := func(rs []bot.Reply) {
		for _, r := range rs {
			b.WriteString("> " + r.Text + "\n")
			for _, f := range r.Fields {
				b.WriteString("  " + f.Label + ": " + f.Value + "\n")
			}
			for _, c := range r.Choices {
				b.WriteString("  [" + c.Label + "]\n")
			}
		}
	}
	rec(u.say("ニーズ登録"))
	for _, in := range []string{"オープンデータを公開したい", "統計データを機械判読できる形で公開したいです。", "情報政策課"} {
		rec(u.say(in))
	}
	rec(u.press(dialog.ActAnswer, "data_ai"))
	rec(u.press(dialog.ActAnswer, "engineer"))
	rec(u.say("低"))
	rec(u.press(dialog.ActSkip, ""))
	rec(u.say("2"))
	rec(u.say("リモート"))
	rec(u.say("CSV, API"))
	rec(u.press(dialog.ActSubmit, ""))
	checkGolden(t, "need_filing.golden", b.String())
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", path, err)
	}
	if string(want) != got {
		t.Fatalf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestNeedDraftClaimedButNotWritten: a process died after claiming a draft's number and
// before writing the need; pressing 登録 again files it under that number.
func TestNeedDraftClaimedButNotWritten(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	if err := ta.DB.Client.Set(ctx, "t:{demo}:needdraft:d-crash", 77, 0).Err(); err != nil {
		t.Fatal(err)
	}
	n, err := ta.NeedStore.CreateNeed(ctx, &bot.Need{Tenant: DemoTenant, Title: "再送", FiledBy: "p1", Urgency: bot.UrgencyLow, Impact: 1}, "d-crash")
	if err != nil || n.ID != 77 {
		t.Fatalf("need = %+v, %v", n, err)
	}
	again, err := ta.NeedStore.CreateNeed(ctx, &bot.Need{Tenant: DemoTenant, Title: "再送", FiledBy: "p1"}, "d-crash")
	if err != nil || again.ID != 77 {
		t.Fatalf("second save = %+v, %v", again, err)
	}
	if ns, _ := ta.NeedStore.Needs(ctx, DemoTenant, bot.NeedFilter{}); len(ns) != 5 {
		t.Fatalf("needs = %d, want 5", len(ns))
	}
}

// TestMenuMidFormKeepsTheDraft: メニュー during a form shows the menu and keeps the draft;
// the next answer continues where the person was.
func TestMenuMidFormKeepsTheDraft(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "")
	u.say("ニーズ登録")
	u.say("公民館の予約をオンライン化したい")
	mustContain(t, u.say("メニュー"), "メニュー（デモ市 / 職員）", "入力中の内容はそのまま残っています")
	mustContain(t, u.say("予約は電話と窓口だけで、職員の負担が大きいです。"), "(3/10)")
	mustContain(t, u.say("ヘルプ"), "「戻る」で前の質問へ")
}
