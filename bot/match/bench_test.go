package match_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot/match"
)

// skillPhrases is the vocabulary generated profiles and needs are made of:
// what talent actually writes, skewed so that the first phrases are the most
// common (as 業務改善 is, and ゼロトラスト is not).
var skillPhrases = []string{
	"業務改善", "データ分析", "プロジェクト管理", "システム開発", "Webサイト制作", "RPA導入", "UiPathでのシナリオ開発",
	"WinActorによる業務自動化", "BizRoboの運用", "Power Automateでの自動化", "Excel VBAでの集計", "kintoneアプリ開発",
	"ノーコードツールの活用", "ローコード開発", "電子申請の導入", "LoGoフォームでの申請フォーム作成", "書かない窓口の設計",
	"マイナンバーカードの普及", "キャッシュレス決済の導入", "ペーパーレス化", "文書管理システム", "GISでの地図作成",
	"QGISによる防災マップ", "避難所の情報整備", "防災アプリの開発", "ドローン撮影", "ハザードマップの作成", "オープンデータの公開",
	"BIダッシュボード構築", "Tableauでの可視化", "Pythonでのデータ処理", "SQLによる集計", "EBPMの推進", "統計分析",
	"機械学習モデル開発", "生成AIの業務活用", "ChatGPTの利用ガイドライン策定", "AIチャットボット導入", "RAGによる庁内検索",
	"AI-OCRによる帳票読み取り", "UI/UXデザイン", "Figmaでのプロトタイピング", "ユーザーテスト", "ウェブアクセシビリティ診断",
	"CMSの構築", "WordPressでのサイト運用", "スマートフォン対応", "フロントエンド開発", "サービスデザイン", "デザイン思考ワークショップ",
	"住民インタビュー", "情報セキュリティポリシー策定", "ISMS認証取得", "脆弱性診断", "CSIRT構築", "標的型メール訓練",
	"ゼロトラスト設計", "LGWAN接続系の見直し", "三層分離の見直し", "ネットワーク構築", "庁内LAN更改", "AWSでのクラウド移行",
	"Azureの基盤設計", "ガバメントクラウド移行", "自治体システム標準化", "基幹系システムの移行", "ベンダーとの調整",
	"調達仕様書の作成", "RFPの作成と提案評価", "要件定義", "PMO", "アジャイル開発", "スクラムマスター", "DX推進計画の策定",
	"CIO補佐官としての助言", "デジタル人材育成", "職員研修の講師", "IT予算の最適化", "情報化計画", "SNS運用",
	"Instagramでの情報発信", "LINE公式アカウント運用", "シティプロモーション", "動画制作", "広報紙の編集", "観光マーケティング",
	"移住促進", "地域包括ケア", "GIGAスクール端末の運用", "教員向けICT研修", "農業IoT", "スマートシティ", "データ連携基盤",
	"Microsoft 365の全庁導入", "Teamsの活用", "テレワーク環境整備", "VDI導入", "ヘルプデスク運用", "IT資産管理",
	"Salesforceでの顧客管理", "公会計の改善", "予算編成の効率化", "業務フローの可視化", "BPRによる業務改革", "窓口業務の改善",
}

var (
	prefectures = []string{"北海道", "岩手県", "宮城県", "東京都", "神奈川県", "新潟県", "石川県", "福井県", "長野県", "静岡県",
		"愛知県", "京都府", "大阪府", "兵庫県", "岡山県", "広島県", "香川県", "福岡県", "熊本県", "沖縄県"}
	categories = []string{"web_ux", "rpa_automation", "data_ai", "infra_security", "pm_procurement", "cio_strategy",
		"promotion_pr", "disaster_prevention", "other"}
	micTypes    = []string{"producer", "project_manager", "service_designer", "engineer"}
	days        = []string{match.DayWeekdayEvening, match.DayWeekend, match.DayWeekdayDaytime}
	styles      = []string{match.WorkRemote, match.WorkOnsite, match.WorkEither}
	engagements = []string{match.EngagementSideJob, match.EngagementSecondment, match.EngagementContract, match.EngagementFixedTermEmployee}
)

// corpus generates documents from skillPhrases with the terms analysed once
// per phrase, so that a million profiles take seconds, not kagome-minutes.
type corpus struct {
	phraseTerms [][]string
	rng         *rand.Rand
}

func newCorpus(seed uint64) *corpus {
	c := &corpus{rng: rand.New(rand.NewPCG(seed, 42))}
	a := match.Default()
	for _, p := range skillPhrases {
		c.phraseTerms = append(c.phraseTerms, a.Terms(p))
	}
	return c
}

// phrase picks a phrase index with a Zipf-like skew.
func (c *corpus) phrase() int {
	u := c.rng.Float64()
	return int(u * u * float64(len(skillPhrases)))
}

func (c *corpus) subset(from []string, empty float64) []string {
	if c.rng.Float64() < empty {
		return nil // missing data is common in real imports
	}
	var out []string
	for _, v := range from {
		if c.rng.IntN(2) == 0 {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		out = append(out, from[c.rng.IntN(len(from))])
	}
	return out
}

// categories gives most profiles one category, some two, and some none.
func (c *corpus) categories() []string {
	switch r := c.rng.IntN(10); {
	case r == 0:
		return nil
	case r < 3:
		return []string{categories[c.rng.IntN(len(categories))], categories[c.rng.IntN(len(categories))]}
	default:
		return []string{categories[c.rng.IntN(len(categories))]}
	}
}

func (c *corpus) profile(i int) (match.Doc, []string) {
	n := 3 + c.rng.IntN(5)
	var text []string
	var terms []string
	for range n {
		p := c.phrase()
		text = append(text, skillPhrases[p])
		terms = append(terms, c.phraseTerms[p]...)
	}
	d := match.Doc{
		ID:         fmt.Sprintf("cand-%07d", i),
		Text:       strings.Join(text, "、") + "の経験があります。",
		Categories: c.categories(),
		MICType:    micTypes[c.rng.IntN(len(micTypes))],
		Days:       c.subset(days, 0.2),
		WorkStyle:  styles[c.rng.IntN(len(styles))],
		Engagement: c.subset(engagements, 0.2),
	}
	if c.rng.IntN(5) > 0 {
		d.HoursPerWeek = 2 + c.rng.IntN(30)
	}
	if c.rng.IntN(3) > 0 {
		d.Region = prefectures[c.rng.IntN(len(prefectures))]
	}
	return d, terms
}

func (c *corpus) need(i int) (match.Doc, []string) {
	p1, p2 := c.phrase(), c.phrase()
	text := fmt.Sprintf("%sを進めたい。あわせて%sについても相談したい。", skillPhrases[p1], skillPhrases[p2])
	terms := slices.Concat(c.phraseTerms[p1], c.phraseTerms[p2])
	return match.Doc{ID: fmt.Sprintf("need-%06d", i), Text: text}, terms
}

// builtIndex is an index built once per process and size, with the heap it took.
type builtIndex struct {
	once  sync.Once
	ix    *match.Index
	mb    float64
	build time.Duration
}

var built sync.Map // key → *builtIndex

func buildIndex(b *testing.B, key string, n int, gen func(c *corpus, i int) (match.Doc, []string)) *builtIndex {
	v, _ := built.LoadOrStore(key, new(builtIndex))
	bi := v.(*builtIndex)
	bi.once.Do(func() {
		c := newCorpus(uint64(n))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		ix := match.NewIndex(match.Default())
		for i := range n {
			d, terms := gen(c, i)
			if err := ix.UpsertTerms(d, terms); err != nil {
				b.Fatal(err)
			}
		}
		bi.build = time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		bi.ix, bi.mb = ix, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20)
	})
	if bi.ix == nil {
		b.Fatal("index build failed earlier")
	}
	return bi
}

// benchQueries are needs as staff file them: the evaluation set's texts with
// their categories, and some structured requirements.
func benchQueries(b *testing.B) []match.Query {
	s := loadEval(b)
	rng := rand.New(rand.NewPCG(7, 7))
	var qs []match.Query
	for i := range 200 {
		n := s.Needs[i%len(s.Needs)]
		q := match.Query{Text: n.Text, Category: n.Category}
		if i%2 == 0 {
			q.Days = []string{days[rng.IntN(len(days))]}
			q.WorkStyle = styles[rng.IntN(len(styles))]
			q.MinHours = 4 + rng.IntN(8)
			q.Region = prefectures[rng.IntN(len(prefectures))]
		}
		qs = append(qs, q)
	}
	return qs
}

// runLatency runs one query per iteration and reports p99 per-query latency,
// measured over at least 200 queries (topped up after the timed loop).
func runLatency(b *testing.B, queries int, do func(i int)) {
	var durs []time.Duration
	i := 0
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		do(i % queries)
		durs = append(durs, time.Since(start))
		i++
	}
	for len(durs) < 200 {
		start := time.Now()
		do(i % queries)
		durs = append(durs, time.Since(start))
		i++
	}
	slices.Sort(durs)
	p99 := durs[(len(durs)*99+99)/100-1]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
}

func benchSearch(b *testing.B, n int) {
	bi := buildIndex(b, fmt.Sprint("profiles", n), n, (*corpus).profile)
	qs := benchQueries(b)
	b.Logf("%d profiles: built in %v, %.0f MB heap", n, bi.build.Round(time.Millisecond), bi.mb)
	runLatency(b, len(qs), func(i int) {
		if rs := bi.ix.Search(qs[i], 10); len(rs) == 0 {
			b.Fatalf("no result for %q", qs[i].Text)
		}
	})
	b.ReportMetric(bi.mb, "index-MB")
}

// BenchmarkSearch100k: SPEC §10 asks for top-10 over 100,000 profiles in ≤ 50 ms p99.
func BenchmarkSearch100k(b *testing.B) { benchSearch(b, 100_000) }

// BenchmarkSearch1M: SPEC §10 asks for ≤ 500 ms over 1,000,000 profiles. The
// index takes a while to build, so -short skips it.
func BenchmarkSearch1M(b *testing.B) {
	if testing.Short() {
		b.Skip("1M-profile index skipped in -short mode")
	}
	benchSearch(b, 1_000_000)
}

// BenchmarkSimilar50k: similar-need detection over one tenant's 50,000 open
// needs, target ≤ 20 ms p99.
func BenchmarkSimilar50k(b *testing.B) {
	bi := buildIndex(b, "needs50000", 50_000, (*corpus).need)
	s := loadEval(b)
	b.Logf("50000 needs: built in %v, %.0f MB heap", bi.build.Round(time.Millisecond), bi.mb)
	runLatency(b, len(s.Needs), func(i int) {
		bi.ix.Similar(s.Needs[i].Text, 3, 20)
	})
	b.ReportMetric(bi.mb, "index-MB")
}

// BenchmarkTerms measures the analyser on one profile-sized text, the cost an
// Upsert adds before it takes the index lock.
func BenchmarkTerms(b *testing.B) {
	a := match.Default()
	text := "UiPathとWinActorでのRPAシナリオ開発5年。kintoneでの業務アプリ作成、電子申請の導入支援、職員向け研修の講師も務めました。"
	for b.Loop() {
		a.Terms(text)
	}
}
