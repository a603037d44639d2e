package match_test

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kakehashi/kakehashi/bot/match"
)

// evalSet is testdata/eval.json: needs with hand-graded judgements against a
// pool of talent profiles.
type evalSet struct {
	Profiles []struct {
		ID           string   `json:"id"`
		Text         string   `json:"text"`
		Categories   []string `json:"categories"`
		MICType      string   `json:"mic_type"`
		Days         []string `json:"days"`
		HoursPerWeek int      `json:"hours_per_week"`
		WorkStyle    string   `json:"work_style"`
		Region       string   `json:"region"`
		Engagement   []string `json:"engagement"`
	} `json:"profiles"`
	Needs []struct {
		ID         string         `json:"id"`
		Text       string         `json:"text"`
		Category   string         `json:"category"`
		Judgements map[string]int `json:"judgements"`
	} `json:"needs"`
}

func loadEval(t testing.TB) *evalSet {
	t.Helper()
	b, err := os.ReadFile("testdata/eval.json")
	if err != nil {
		t.Fatal(err)
	}
	var s evalSet
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Needs) < 30 || len(s.Profiles) < 50 {
		t.Fatalf("eval set too small: %d needs, %d profiles", len(s.Needs), len(s.Profiles))
	}
	return &s
}

func (s *evalSet) docs() []match.Doc {
	var out []match.Doc
	for _, p := range s.Profiles {
		out = append(out, match.Doc{ID: p.ID, Text: p.Text, Categories: p.Categories, MICType: p.MICType,
			Days: p.Days, HoursPerWeek: p.HoursPerWeek, WorkStyle: p.WorkStyle, Region: p.Region, Engagement: p.Engagement})
	}
	return out
}

// metrics returns mean recall@k (relevant found / all relevant, grade ≥ 1) and
// mean nDCG@k (gain 2^grade − 1) of rank over the eval needs.
func (s *evalSet) metrics(k int, rank func(need int) []string) (recall, ndcg float64) {
	for i, n := range s.Needs {
		got := rank(i)
		if len(got) > k {
			got = got[:k]
		}
		found, dcg := 0, 0.0
		for pos, id := range got {
			if g := n.Judgements[id]; g > 0 {
				found++
				dcg += (math.Pow(2, float64(g)) - 1) / math.Log2(float64(pos)+2)
			}
		}
		var grades []int
		for _, g := range n.Judgements {
			grades = append(grades, g)
		}
		slices.Sort(grades)
		slices.Reverse(grades)
		idcg := 0.0
		for pos, g := range grades[:min(k, len(grades))] {
			idcg += (math.Pow(2, float64(g)) - 1) / math.Log2(float64(pos)+2)
		}
		recall += float64(found) / float64(len(n.Judgements))
		ndcg += dcg / idcg
	}
	return recall / float64(len(s.Needs)), ndcg / float64(len(s.Needs))
}

// bigramBaseline is plain BM25 (k1=1.2, b=0.75) over the character bigrams of
// the normalised text — the usual dictionary-free baseline for Japanese search.
type bigramBaseline struct {
	ids  []string
	tf   []map[string]int
	dl   []int
	df   map[string]int
	avgl float64
}

func baselineGrams(text string) []string {
	var out []string
	for _, w := range strings.Fields(match.Normalize(text)) {
		r := []rune(w)
		if len(r) == 1 {
			out = append(out, w)
		}
		for i := 0; i+1 < len(r); i++ {
			out = append(out, string(r[i:i+2]))
		}
	}
	return out
}

func newBaseline(docs []match.Doc) *bigramBaseline {
	bl := &bigramBaseline{df: map[string]int{}}
	total := 0
	for _, d := range docs {
		g := baselineGrams(d.Text)
		tf := map[string]int{}
		for _, x := range g {
			tf[x]++
		}
		for x := range tf {
			bl.df[x]++
		}
		bl.ids = append(bl.ids, d.ID)
		bl.tf = append(bl.tf, tf)
		bl.dl = append(bl.dl, len(g))
		total += len(g)
	}
	bl.avgl = float64(total) / float64(len(docs))
	return bl
}

func (bl *bigramBaseline) rank(text string) []string {
	type sc struct {
		id string
		s  float64
	}
	var res []sc
	n := float64(len(bl.ids))
	q := baselineGrams(text)
	for i, id := range bl.ids {
		s := 0.0
		for _, x := range q {
			tf := float64(bl.tf[i][x])
			if tf == 0 {
				continue
			}
			df := float64(bl.df[x])
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			s += idf * tf * 2.2 / (tf + 1.2*(0.25+0.75*float64(bl.dl[i])/bl.avgl))
		}
		if s > 0 {
			res = append(res, sc{id, s})
		}
	}
	slices.SortFunc(res, func(a, b sc) int {
		if a.s != b.s {
			if a.s > b.s {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	var out []string
	for _, r := range res {
		out = append(out, r.id)
	}
	return out
}

// TestEvalBeatsBigramBaseline is the quality gate: on hand-judged needs our
// ranking (kagome terms + domain dictionary + bigram field) must beat a
// character-bigram BM25 baseline on nDCG@5 by a clear margin. Both rank on the
// need's text alone, so the comparison is about text matching.
func TestEvalBeatsBigramBaseline(t *testing.T) {
	s := loadEval(t)
	docs := s.docs()
	ix := match.NewIndex(match.Default())
	for _, d := range docs {
		if err := ix.Upsert(d); err != nil {
			t.Fatal(err)
		}
	}
	const k = 5
	ours := func(i int) []string { return ids(ix.Search(match.Query{Text: s.Needs[i].Text}, k)) }
	bl := newBaseline(docs)
	base := func(i int) []string { return bl.rank(s.Needs[i].Text) }

	oR, oN := s.metrics(k, ours)
	bR, bN := s.metrics(k, base)
	restore := match.SetBigramWeight(0)
	nbR, nbN := s.metrics(k, ours)
	restore()
	withCat := func(i int) []string {
		return ids(ix.Search(match.Query{Text: s.Needs[i].Text, Category: s.Needs[i].Category}, k))
	}
	cR, cN := s.metrics(k, withCat)

	// Ablation: the same pipeline without the domain dictionary.
	plain, err := match.NewAnalyzerFromText("", match.StopWordsText)
	if err != nil {
		t.Fatal(err)
	}
	pix := match.NewIndex(plain)
	for _, d := range docs {
		if err := pix.Upsert(d); err != nil {
			t.Fatal(err)
		}
	}
	pR, pN := s.metrics(k, func(i int) []string { return ids(pix.Search(match.Query{Text: s.Needs[i].Text}, k)) })

	t.Logf("eval: %d needs, %d profiles", len(s.Needs), len(s.Profiles))
	t.Logf("bigram BM25 baseline     recall@5=%.3f nDCG@5=%.3f", bR, bN)
	t.Logf("ours (text)              recall@5=%.3f nDCG@5=%.3f", oR, oN)
	t.Logf("ours without bigrams     recall@5=%.3f nDCG@5=%.3f", nbR, nbN)
	t.Logf("ours without domain dict recall@5=%.3f nDCG@5=%.3f", pR, pN)
	t.Logf("ours (text + category)   recall@5=%.3f nDCG@5=%.3f", cR, cN)
	if testing.Verbose() {
		for i, n := range s.Needs {
			t.Logf("%s ours=%v base=%v want=%v", n.ID, ours(i), base(i)[:min(k, len(base(i)))], n.Judgements)
		}
	}
	const margin = 0.08
	if oN < bN+margin {
		t.Errorf("nDCG@5 ours %.3f, baseline %.3f: want a margin of at least %.2f", oN, bN, margin)
	}
	if oR < bR {
		t.Errorf("recall@5 ours %.3f below baseline %.3f", oR, bR)
	}
}

func ids(rs []match.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
