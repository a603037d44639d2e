package match_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kakehashi/kakehashi/bot/match"
)

func mustUpsert(t testing.TB, ix *match.Index, docs ...match.Doc) {
	t.Helper()
	for _, d := range docs {
		if err := ix.Upsert(d); err != nil {
			t.Fatalf("Upsert(%s): %v", d.ID, err)
		}
	}
}

func TestSearchRanksByText(t *testing.T) {
	ix := match.NewIndex(nil)
	mustUpsert(t, ix,
		match.Doc{ID: "uipath", Text: "UiPathでのシナリオ開発5年、市役所の定型業務を自動化"},
		match.Doc{ID: "kintone", Text: "kintoneで庁内アプリを内製"},
		match.Doc{ID: "gis", Text: "QGISで防災マップを作成"},
	)
	tests := []struct {
		query string
		want  []string
	}{
		{"窓口のRPA化を進めたい", []string{"uipath"}},
		{"キントーンで申請を電子化", []string{"kintone"}},
		{"GISで避難所の地図を作りたい", []string{"gis"}},
		{"観光パンフレットの翻訳", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(ix.Search(match.Query{Text: tt.query}, 10))); diff != "" {
				t.Errorf("Search(%q) (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

// TestIncrementalStatistics checks that Upsert and Remove keep document
// frequencies current and that ranking follows them: as more documents say
// rpa, rpa says less, and a gis document overtakes an rpa document.
func TestIncrementalStatistics(t *testing.T) {
	ix := match.NewIndex(nil)
	mustUpsert(t, ix,
		match.Doc{ID: "a-rpa", Text: "RPA"},
		match.Doc{ID: "b-gis", Text: "GIS"},
		match.Doc{ID: "c", Text: "広報"},
		match.Doc{ID: "d", Text: "防災"},
	)
	q := match.Query{Text: "RPAとGIS"}
	first := func() string { return ix.Search(q, 1)[0].ID }
	if got := first(); got != "a-rpa" {
		t.Fatalf("equal idf: top = %s, want a-rpa (tie broken by ID)", got)
	}
	mustUpsert(t, ix, match.Doc{ID: "r1", Text: "RPA"}, match.Doc{ID: "r2", Text: "RPA"})
	if got, want := ix.DocFreq("rpa"), 3; got != want {
		t.Fatalf("DocFreq(rpa) = %d, want %d", got, want)
	}
	if got := first(); got != "b-gis" {
		t.Fatalf("after rpa became common: top = %s, want b-gis", got)
	}

	// Replacing a document's text moves its terms.
	mustUpsert(t, ix, match.Doc{ID: "r1", Text: "広報"})
	if got, want := ix.DocFreq("rpa"), 2; got != want {
		t.Fatalf("after re-upsert DocFreq(rpa) = %d, want %d", got, want)
	}
	if got, want := ix.DocFreq("広報"), 2; got != want {
		t.Fatalf("after re-upsert DocFreq(広報) = %d, want %d", got, want)
	}
	if !ix.Remove("r2") || ix.Remove("r2") {
		t.Fatal("Remove should report true once, then false")
	}
	if got, want := ix.DocFreq("rpa"), 1; got != want {
		t.Fatalf("after Remove DocFreq(rpa) = %d, want %d", got, want)
	}
	if got := first(); got != "a-rpa" {
		t.Fatalf("after removal: top = %s, want a-rpa again", got)
	}
	if got, want := ix.Len(), 5; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	if rs := ix.Search(match.Query{Text: "RPA"}, 10); !slices.Equal(ids(rs), []string{"a-rpa"}) {
		t.Fatalf("removed or replaced documents still found: %v", ids(rs))
	}
}

// TestIncrementalEqualsFresh churns an index through thousands of upserts and
// removals — enough to trigger the posting sweep and ordinal reuse — and
// requires the same results, scores included, as an index built from scratch
// with only the surviving documents.
func TestIncrementalEqualsFresh(t *testing.T) {
	vocab := []string{"rpa", "uipath", "kintone", "gis", "防災", "広報", "sns", "ai", "データ分析", "セキュリティ", "lgwan", "電子申請", "窓口", "研修"}
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(id string) (match.Doc, []string) {
		n := 1 + rng.IntN(5)
		terms := make([]string, n)
		for i := range terms {
			terms[i] = vocab[rng.IntN(len(vocab))]
		}
		cats := []string{[]string{"rpa_automation", "data_ai", "web_ux"}[rng.IntN(3)]}
		return match.Doc{ID: id, Categories: cats, Days: []string{match.DayWeekend}}, terms
	}
	inc := match.NewIndex(nil)
	live := map[string][]string{}
	docs := map[string]match.Doc{}
	for i := range 6000 {
		id := fmt.Sprintf("d%04d", rng.IntN(3000))
		switch {
		case i%3 == 2 && len(live) > 0:
			// Remove some existing document (or a missing one, which is a no-op).
			delete(live, id)
			delete(docs, id)
			inc.Remove(id)
		default:
			d, terms := gen(id)
			if err := inc.UpsertTerms(d, terms); err != nil {
				t.Fatal(err)
			}
			live[id], docs[id] = terms, d
		}
	}
	fresh := match.NewIndex(nil)
	for id, terms := range live {
		if err := fresh.UpsertTerms(docs[id], terms); err != nil {
			t.Fatal(err)
		}
	}
	if inc.Len() != fresh.Len() {
		t.Fatalf("Len: incremental %d, fresh %d", inc.Len(), fresh.Len())
	}
	for _, w := range vocab {
		if inc.DocFreq(w) != fresh.DocFreq(w) {
			t.Errorf("DocFreq(%s): incremental %d, fresh %d", w, inc.DocFreq(w), fresh.DocFreq(w))
		}
	}
	for _, q := range []match.Query{
		{Text: "RPAとkintone"},
		{Text: "防災 GIS 広報", Category: "web_ux"},
		{Category: "data_ai", Days: []string{match.DayWeekend}},
		{Text: "LGWANのセキュリティ研修"},
	} {
		a, b := inc.Search(q, 20), fresh.Search(q, 20)
		if diff := cmp.Diff(b, a, cmpopts.EquateApprox(0, 1e-4)); diff != "" {
			t.Errorf("Search(%+v): incremental differs from fresh (-fresh +incremental):\n%s", q, diff)
		}
	}
}

// TestMissingDataIsNotAMatch: a profile that states nothing must not be
// credited with fitting the need; its requirements are "unknown", shown as
// unmet, and earn no points.
func TestMissingDataIsNotAMatch(t *testing.T) {
	ix := match.NewIndex(nil)
	text := "UiPathでRPAのシナリオ開発"
	mustUpsert(t, ix,
		match.Doc{ID: "full", Text: text, Categories: []string{"rpa_automation"}, MICType: "engineer",
			Days: []string{match.DayWeekend, match.DayWeekdayEvening}, HoursPerWeek: 10, WorkStyle: match.WorkEither,
			Region: "岡山県", Engagement: []string{match.EngagementSideJob}},
		match.Doc{ID: "empty", Text: text},
		match.Doc{ID: "wrong", Text: text, Categories: []string{"web_ux"}, MICType: "producer",
			Days: []string{match.DayWeekdayDaytime}, HoursPerWeek: 2, WorkStyle: match.WorkRemote,
			Region: "東京都", Engagement: []string{match.EngagementSecondment}},
	)
	q := match.Query{Text: "RPAのシナリオ開発", Category: "rpa_automation", MICType: "engineer",
		Days: []string{match.DayWeekend}, MinHours: 8, WorkStyle: match.WorkOnsite, Region: "岡山県",
		Engagement: []string{match.EngagementSideJob}}
	rs := ix.Search(q, 10)
	if diff := cmp.Diff([]string{"full", "empty", "wrong"}, ids(rs)); diff != "" {
		t.Fatalf("order (-want +got):\n%s", diff)
	}
	full, empty, wrong := rs[0], rs[1], rs[2]
	if full.Fit != 1 || empty.Fit != 0 || wrong.Fit != 0 {
		t.Errorf("Fit full=%v empty=%v wrong=%v, want 1, 0, 0", full.Fit, empty.Fit, wrong.Fit)
	}
	if empty.Relevance != full.Relevance {
		t.Errorf("same text should be equally relevant: %v vs %v", empty.Relevance, full.Relevance)
	}
	if len(empty.Met) != 0 {
		t.Errorf("empty profile has Met %q; missing data must never be met", empty.Met)
	}
	for _, c := range empty.Checks {
		if c.Status != match.Unknown || c.Have != "" {
			t.Errorf("empty profile check %+v: want Unknown with no Have", c)
		}
	}
	for _, c := range wrong.Checks {
		if c.Status != match.Unmet {
			t.Errorf("wrong profile check %+v: want Unmet", c)
		}
	}
	wantUnmet := []string{
		"カテゴリが不明（未評価）", "人材タイプが不明（未評価）", "稼働日が不明（未評価）", "稼働時間が不明（未評価）",
		"リモート／現地の可否が不明（未評価）", "地域が不明（未評価）", "契約形態が不明（未評価）",
	}
	if diff := cmp.Diff(wantUnmet, empty.Unmet); diff != "" {
		t.Errorf("empty.Unmet (-want +got):\n%s", diff)
	}
	// With the same text, the empty profile scores exactly the text part.
	if want := 100 * 0.8 * empty.Relevance; empty.Score < want-0.1 || empty.Score > want+0.1 {
		t.Errorf("empty.Score = %v, want %v (text only, no structural points)", empty.Score, want)
	}
}

func TestExplanations(t *testing.T) {
	ix := match.NewIndex(nil)
	mustUpsert(t, ix,
		match.Doc{ID: "p1", Text: "キントーンでの業務アプリ開発、RPA導入", Categories: []string{"rpa_automation"},
			MICType: "engineer", Days: []string{match.DayWeekend}, HoursPerWeek: 4, WorkStyle: match.WorkRemote,
			Engagement: []string{match.EngagementSideJob, match.EngagementContract}},
		match.Doc{ID: "p2", Text: "広報誌の編集"},
	)
	rs := ix.Search(match.Query{Text: "kintoneで申請アプリを作りたい", Category: "rpa_automation", MICType: "producer",
		Days: []string{match.DayWeekend, match.DayWeekdayEvening}, MinHours: 8, WorkStyle: match.WorkRemote,
		Engagement: []string{match.EngagementContract}}, 5)
	if len(rs) != 1 {
		t.Fatalf("got %d results, want 1: %+v", len(rs), rs)
	}
	r := rs[0]
	want := match.Result{
		ID:      "p1",
		Matched: []string{"kintone", "ノーコード", "アプリ"},
		Met:     []string{"カテゴリ一致: RPA・業務自動化", "稼働日が合う: 土日", "リモート可", "契約形態が合う: 業務委託"},
		Unmet:   []string{"人材タイプ不一致: 希望 プロデューサー（候補: エンジニア）", "稼働時間が不足: 週4時間（希望 8時間以上）"},
	}
	if diff := cmp.Diff(want, r, cmpopts.IgnoreFields(match.Result{}, "Score", "Relevance", "Fit", "Checks")); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if wantFit := (3.0 + 2 + 2 + 1) / (3 + 1 + 2 + 1 + 2 + 1); r.Fit != wantFit {
		t.Errorf("Fit = %v, want %v", r.Fit, wantFit)
	}
	if r.Score <= 0 || r.Score > 100 {
		t.Errorf("Score %v out of 0–100", r.Score)
	}
	if diff := cmp.Diff([]string{
		"一致語: kintone、ノーコード、アプリ",
		"カテゴリ一致: RPA・業務自動化", "稼働日が合う: 土日", "リモート可", "契約形態が合う: 業務委託",
		"人材タイプ不一致: 希望 プロデューサー（候補: エンジニア）", "稼働時間が不足: 週4時間（希望 8時間以上）",
	}, r.Reasons("ja")); diff != "" {
		t.Errorf("Reasons(ja) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"matched terms: kintone, ノーコード, アプリ",
		"category matches: RPA & automation", "available on weekends", "remote OK", "engagement fits: contract",
		"talent type differs: wanted producer (is engineer)", "only 4 h/week (wanted 8+)",
	}, r.Reasons("en")); diff != "" {
		t.Errorf("Reasons(en) (-want +got):\n%s", diff)
	}
}

func TestStructureOnlyQueries(t *testing.T) {
	ix := match.NewIndex(nil)
	mustUpsert(t, ix,
		match.Doc{ID: "a", Text: "広報", Categories: []string{"promotion_pr"}, Days: []string{match.DayWeekend}},
		match.Doc{ID: "b", Text: "防災", Categories: []string{"disaster_prevention"}, Days: []string{match.DayWeekend}},
		match.Doc{ID: "c", Text: "防災", Categories: []string{"promotion_pr"}},
	)
	t.Run("category without text", func(t *testing.T) {
		rs := ix.Search(match.Query{Category: "promotion_pr", Days: []string{match.DayWeekend}}, 10)
		if diff := cmp.Diff([]string{"a", "c", "b"}, ids(rs)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		if rs[0].Score != 100 || rs[0].Relevance != 0 {
			t.Errorf("a: Score %v Relevance %v, want 100 and 0", rs[0].Score, rs[0].Relevance)
		}
	})
	t.Run("category brings in profiles with other words", func(t *testing.T) {
		rs := ix.Search(match.Query{Text: "防災", Category: "promotion_pr"}, 10)
		if diff := cmp.Diff([]string{"c", "b", "a"}, ids(rs)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
	t.Run("nothing asked", func(t *testing.T) {
		if rs := ix.Search(match.Query{}, 10); rs != nil {
			t.Fatalf("empty query returned %v", ids(rs))
		}
	})
	t.Run("top zero", func(t *testing.T) {
		if rs := ix.Search(match.Query{Text: "防災"}, 0); rs != nil {
			t.Fatalf("top=0 returned %v", ids(rs))
		}
	})
}

func TestSimilar(t *testing.T) {
	ix := match.NewIndex(nil)
	mustUpsert(t, ix,
		match.Doc{ID: "need-1", Text: "窓口業務をRPAで自動化したい"},
		match.Doc{ID: "need-2", Text: "防災アプリの画面を見やすくしたい"},
		match.Doc{ID: "need-3", Text: "税務課の入力作業にRPAを入れたい"},
		match.Doc{ID: "need-4", Text: "SNSで観光の情報発信"},
	)
	tests := []struct {
		text     string
		minScore float64
		want     []string
	}{
		{"窓口のRPA化", 10, []string{"need-1", "need-3"}},
		{"窓口のRPA化", 60, []string{"need-1"}},
		{"ＲＰＡで税務の入力を自動化", 10, []string{"need-3", "need-1"}},
		{"観光PRの動画", 10, []string{"need-4"}},
		{"給食の献立", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			rs := ix.Similar(tt.text, 3, tt.minScore)
			if diff := cmp.Diff(tt.want, ids(rs)); diff != "" {
				t.Errorf("Similar(%q, %v) (-want +got):\n%s\n%+v", tt.text, tt.minScore, diff, rs)
			}
		})
	}
}

func TestScoreIsBounded(t *testing.T) {
	ix := match.NewIndex(nil)
	text := "kintoneとRPAで窓口業務を電子化 kintone kintone RPA"
	mustUpsert(t, ix, match.Doc{ID: "same", Text: text}, match.Doc{ID: "other", Text: "RPA"})
	rs := ix.Search(match.Query{Text: text}, 2)
	if len(rs) != 2 || rs[0].ID != "same" {
		t.Fatalf("got %v", ids(rs))
	}
	if rs[0].Score > 100 || rs[0].Score < 90 {
		t.Errorf("a document identical to the query scores %v, want 90–100", rs[0].Score)
	}
	if rs[1].Score <= 0 || rs[1].Score >= rs[0].Score {
		t.Errorf("partial match scores %v", rs[1].Score)
	}
}

func TestUpsertErrors(t *testing.T) {
	ix := match.NewIndex(nil)
	if err := ix.Upsert(match.Doc{Text: "RPA"}); !errors.Is(err, match.ErrEmptyID) {
		t.Errorf("Upsert without ID: %v, want ErrEmptyID", err)
	}
	if err := ix.UpsertTerms(match.Doc{}, []string{"rpa"}); !errors.Is(err, match.ErrEmptyID) {
		t.Errorf("UpsertTerms without ID: %v, want ErrEmptyID", err)
	}
	if ix.Len() != 0 {
		t.Errorf("Len = %d after failed upserts", ix.Len())
	}
}

// TestConcurrentUse runs searches while other goroutines upsert and remove;
// run with -race.
func TestConcurrentUse(t *testing.T) {
	ix := match.NewIndex(nil)
	texts := []string{"UiPathでRPA開発", "kintoneアプリ", "GISで防災マップ", "SNS広報", "LGWANとセキュリティ"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := fmt.Sprintf("w%d-%d", w, i%50)
				if i%7 == 6 {
					ix.Remove(id)
					continue
				}
				if err := ix.Upsert(match.Doc{ID: id, Text: texts[i%len(texts)], Categories: []string{"data_ai"}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				for _, r := range ix.Search(match.Query{Text: texts[i%len(texts)], Category: "data_ai"}, 5) {
					if r.Score <= 0 || r.Score > 100 {
						t.Errorf("score %v out of range", r.Score)
						return
					}
				}
				_ = ix.Similar("RPA", 3, 10)
				_ = ix.Len()
			}
		}()
	}
	wg.Wait()
	if n := ix.Len(); n == 0 || n > 200 {
		t.Errorf("Len = %d after concurrent use", n)
	}
}

// TestPartialMatchExplained: when only character bigrams are shared (申請 in
// 電子申請), the result says so instead of listing fragments.
func TestPartialMatchExplained(t *testing.T) {
	ix := match.NewIndex(nil)
	mustUpsert(t, ix, match.Doc{ID: "p", Text: "電子申請システムの構築"}, match.Doc{ID: "q", Text: "広報"})
	rs := ix.Search(match.Query{Text: "申請の様式を見直したい"}, 5)
	if len(rs) != 1 || rs[0].ID != "p" {
		t.Fatalf("got %v, want only p", ids(rs))
	}
	if len(rs[0].Matched) != 0 {
		t.Errorf("Matched = %q, want none (bigrams only)", rs[0].Matched)
	}
	if diff := cmp.Diff([]string{"語の一部のみ一致"}, rs[0].Reasons("ja")); diff != "" {
		t.Errorf("Reasons(ja) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"partial word overlap only"}, rs[0].Reasons("en")); diff != "" {
		t.Errorf("Reasons(en) (-want +got):\n%s", diff)
	}
}

// TestManyCategories covers categories beyond the 64 that get a bit of their
// own; SPEC §4 has 9, but a tenant's free-form import must not break matching.
func TestManyCategories(t *testing.T) {
	ix := match.NewIndex(nil)
	for i := range 70 {
		mustUpsert(t, ix, match.Doc{ID: fmt.Sprintf("d%02d", i), Text: "防災", Categories: []string{fmt.Sprintf("cat%02d", i), "shared"}})
	}
	for _, cat := range []string{"cat03", "cat68"} {
		rs := ix.Search(match.Query{Text: "防災", Category: cat}, 3)
		if len(rs) == 0 || rs[0].ID != "d"+cat[3:] || rs[0].Fit != 1 {
			t.Fatalf("category %s: got %+v", cat, rs)
		}
		want := match.Check{Requirement: match.ReqCategory, Status: match.Met, Want: cat, Have: cat + ",shared"}
		if diff := cmp.Diff([]match.Check{want}, rs[0].Checks); diff != "" {
			t.Errorf("category %s checks (-want +got):\n%s", cat, diff)
		}
		if rs[1].Fit != 0 || rs[1].Checks[0].Status != match.Unmet {
			t.Errorf("category %s: second result %+v should not match the category", cat, rs[1])
		}
	}
}
