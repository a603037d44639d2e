package match

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// BM25 parameters: the textbook values, which suit short texts of uneven
// length such as profiles (one line to a paragraph).
const (
	k1 = 1.2
	b  = 0.75
)

// bigramWeight scales the character-bigram field against whole terms. Bigrams
// recover partial matches (申請 in 電子申請) but also add noise (発経 in 開発経験),
// so they count for less; see eval_test.go for the measured effect. It is a
// variable only so that the evaluation can switch the field off.
var bigramWeight = 0.3

// textShare is the weight of text relevance in Score when the query also
// states structured requirements; the rest is the structured fit. Text leads
// because it is what the need is about; requirements separate the people who
// can do it. Relevance rarely exceeds 0.5 for real needs, so a larger
// structural share (0.7/0.3 was measured) lets a same-category profile with
// one shared word outrank a matching profile filed under another category.
const textShare = 0.8

// maxDocs bounds the ordinals a posting can address (24 bits); far above the
// million-profile target (SPEC §10) and it halves the postings' memory.
const maxDocs = 1 << 24

// Doc is one searchable document: a talent profile for candidate matching or
// an open need for similar-need detection. Every structured field is optional;
// an empty field means "not stated" and never counts as a match.
type Doc struct {
	ID   string
	Text string // skills and headline of a profile; title and description of a need
	// Categories are the stable category IDs of SPEC §4 (rpa_automation, …).
	Categories []string
	MICType    string   // producer, project_manager, service_designer, engineer
	Days       []string // weekday_evening, weekend, weekday_daytime
	// HoursPerWeek is the time the person offers; 0 means not stated.
	HoursPerWeek int
	WorkStyle    string   // remote, onsite or either
	Region       string   // free text, e.g. 岡山県
	Engagement   []string // side_job, secondment, contract, fixed_term_employee
}

// Query is what a need asks for. Text is matched with BM25; every other field
// that is set becomes a requirement that each result meets, misses, or cannot
// be judged on (Unknown).
type Query struct {
	Text     string
	Category string
	MICType  string
	// Days is met when the person is available on at least one of them.
	Days     []string
	MinHours int
	// WorkStyle is remote or onsite; either (or empty) states no requirement.
	WorkStyle string
	// Region is only a requirement when WorkStyle is not remote.
	Region string
	// Engagement is met when the person accepts at least one of the forms.
	Engagement []string
}

// Result is one ranked document with the reasons for its place.
type Result struct {
	ID string
	// Score is 0–100 and means the same for every query, so a tenant can set a
	// notification threshold: 100 × (0.8 × Relevance + 0.2 × Fit) when the
	// query states requirements, 100 × Relevance when it states only text and
	// 100 × Fit when it states no text.
	Score float64
	// Relevance is BM25 divided by the BM25 that a document of average length
	// containing every query term once would get, capped at 1: the share of
	// the need's (idf-weighted) vocabulary the document covers.
	Relevance float64
	// Fit is the weighted share of the stated requirements that are Met.
	Fit float64
	// Matched lists the query's terms found in the document, in query order.
	// It is empty when only character bigrams matched (a partial match such as
	// 申請 inside 電子申請): fragments like ージ would explain nothing.
	Matched []string
	// Met and Unmet are the Japanese explanations of Checks; Unmet includes the
	// requirements the document says nothing about ("稼働日が不明（未評価）").
	Met, Unmet []string
	Checks     []Check
}

// Reasons explains the result in a few short lines in Japanese ("ja") or
// English ("en"): matched terms first, then requirements met, then the rest.
func (r Result) Reasons(lang string) []string {
	var out []string
	en := isEnglish(lang)
	switch {
	case len(r.Matched) > 0:
		terms := r.Matched
		if len(terms) > 6 {
			terms = terms[:6]
		}
		if en {
			out = append(out, "matched terms: "+strings.Join(terms, ", "))
		} else {
			out = append(out, "一致語: "+strings.Join(terms, "、"))
		}
	case r.Relevance > 0:
		if en {
			out = append(out, "partial word overlap only")
		} else {
			out = append(out, "語の一部のみ一致")
		}
	}
	for _, want := range []bool{true, false} {
		for _, c := range r.Checks {
			if (c.Status == Met) == want {
				out = append(out, c.Text(lang))
			}
		}
	}
	return out
}

// ErrEmptyID is returned by Upsert for a document without an ID.
var ErrEmptyID = errors.New("match: document without ID")

// field separates the vocabularies that share one term dictionary.
type field uint8

const (
	fieldTerm     field = iota // analyser terms, scored with BM25
	fieldBigram                // katakana/kanji bigrams, scored with BM25 × bigramWeight
	fieldCategory              // category IDs: candidate generation and fit, not scored
)

// fieldKey prefixes a term with its field so that 申請 the word and 申請 the
// bigram have separate statistics.
func fieldKey(f field, s string) string { return string(rune('0'+f)) + s }

// posting is a document ordinal (high 24 bits) and the term's frequency in it
// (low 8 bits, saturated at 255, far beyond where BM25 stops caring).
type posting uint32

func (p posting) ord() uint32 { return uint32(p) >> 8 }
func (p posting) tf() uint32  { return uint32(p) & 0xff }

type termInfo struct {
	text  string // field-prefixed key
	field field
	df    uint32 // live documents containing the term
	post  []posting
}

type docInfo struct {
	id    string
	terms []uint32 // distinct term ids of all fields, sorted
}

// deadLen marks a removed document in Index.lens; real lengths stop below it.
// Folding "alive" into the length array saves the scoring loop a memory access.
const deadLen = math.MaxUint16

// Index is an in-memory BM25 index over Docs with structured fit. It keeps
// posting lists (term → documents) so a query touches only the documents that
// share a term with it, and it updates document frequencies and average
// lengths on every Upsert and Remove, so it never needs a rebuild.
//
// An Index is safe for concurrent use: searches share a read lock, changes
// take the write lock. It needs about 400 bytes per profile (410 MB of heap
// for a million generated profiles, see bench_test.go), most of it postings
// and each document's term list, which Remove needs to update frequencies.
type Index struct {
	a *Analyzer

	mu    sync.RWMutex
	dict  map[string]uint32 // field-prefixed term → id; id 0 is unused
	terms []termInfo
	// Per document ordinal: identity and terms, compact structured data, and
	// the length of each scored field (deadLen once removed).
	docs     []docInfo
	profiles []profile
	lens     [2][]uint16
	sum      [2]int64 // total length of live documents per scored field
	byID     map[string]uint32
	live     int
	// Interned structured values. The first 64 distinct categories get a bit
	// in profile.cats (SPEC §4 defines 9); any beyond live in extraCats.
	catBits   map[uint32]uint64 // category term id → bit
	catByBit  []uint32          // bit index → category term id
	extraCats map[uint32][]uint32
	regions   interner
	mics      interner
	// Removed ordinals: pending still have postings (skipped because dead);
	// sweep drops those postings and moves the ordinals to free, from which
	// new documents take theirs. Batching keeps Remove O(terms of the doc).
	pending, free []uint32
}

// NewIndex returns an empty index that analyses text with a; nil means Default().
func NewIndex(a *Analyzer) *Index {
	if a == nil {
		a = Default()
	}
	return &Index{
		a: a, dict: map[string]uint32{}, terms: make([]termInfo, 1), byID: map[string]uint32{},
		catBits: map[uint32]uint64{}, extraCats: map[uint32][]uint32{}, regions: newInterner(), mics: newInterner(),
	}
}

// Len returns the number of documents in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Upsert adds doc, replacing the document with the same ID. It analyses the
// text before taking the lock, so searches are not held up by kagome. It
// returns ErrEmptyID for a document without ID, and an error when all 2^24
// document slots are taken.
func (ix *Index) Upsert(doc Doc) error {
	if doc.ID == "" {
		return ErrEmptyID
	}
	norm := Normalize(doc.Text)
	return ix.put(doc, ix.a.terms(norm), ix.a.grams(norm))
}

// UpsertTerms is Upsert with the analyser's terms supplied by the caller, for
// bulk loads that cache analyses and for benchmarks that generate millions of
// documents; terms should be what Analyzer.Terms returns for doc.Text. The
// bigram field is still taken from doc.Text, which costs no analysis.
func (ix *Index) UpsertTerms(doc Doc, terms []string) error {
	if doc.ID == "" {
		return ErrEmptyID
	}
	return ix.put(doc, terms, ix.a.grams(Normalize(doc.Text)))
}

// grams returns the bigram field of normalised text without stop words, which
// are as uninformative as bigrams as they are as terms.
func (a *Analyzer) grams(norm string) []string {
	g := bigrams(norm)
	out := g[:0]
	for _, s := range g {
		if !a.stop[s] {
			out = append(out, s)
		}
	}
	return out
}

func (ix *Index) put(doc Doc, terms, grams []string) error {
	var cats []string
	for _, c := range doc.Categories {
		if c = ident(c); c != "" {
			cats = append(cats, c)
		}
	}
	p := profile{
		days:  bits(doc.Days, dayBits),
		style: styleBits[ident(doc.WorkStyle)],
		eng:   bits(doc.Engagement, engagementBits),
	}
	if doc.HoursPerWeek > 0 {
		p.hours = int32(min(doc.HoursPerWeek, math.MaxInt32))
	}
	region, mic := Normalize(doc.Region), ident(doc.MICType)

	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(ix.free) == 0 && len(ix.docs) >= maxDocs {
		// Checked before removing the old version, so a failed Upsert changes nothing.
		return fmt.Errorf("match: index full (%d document slots)", maxDocs)
	}
	if old, ok := ix.byID[doc.ID]; ok {
		ix.remove(old)
	}
	var ord uint32
	if n := len(ix.free); n > 0 {
		ord = ix.free[n-1]
		ix.free = ix.free[:n-1]
	} else {
		ord = uint32(len(ix.docs))
		ix.docs = append(ix.docs, docInfo{})
		ix.profiles = append(ix.profiles, profile{})
		ix.lens[0] = append(ix.lens[0], deadLen)
		ix.lens[1] = append(ix.lens[1], deadLen)
	}

	// Term ids with repeats; sorted, each run is one distinct term and its tf.
	// Looking keys up through a reused buffer keeps a bulk load from
	// allocating a string per term.
	ids := make([]uint32, 0, len(terms)+len(grams)+len(cats))
	var buf [64]byte
	for _, t := range terms {
		ids = append(ids, ix.termID(buf[:0], fieldTerm, t))
	}
	for _, g := range grams {
		ids = append(ids, ix.termID(buf[:0], fieldBigram, g))
	}
	for _, c := range cats {
		ids = append(ids, ix.termID(buf[:0], fieldCategory, c))
	}
	slices.Sort(ids)
	distinct := ids[:0]
	var extra []uint32
	for i := 0; i < len(ids); {
		id, j := ids[i], i+1
		for j < len(ids) && ids[j] == id {
			j++
		}
		tf := uint32(min(j-i, 255))
		i = j
		t := &ix.terms[id]
		if t.field == fieldCategory {
			tf = 1
			bit, ok := ix.catBits[id]
			if !ok && len(ix.catByBit) < 64 {
				bit = 1 << len(ix.catByBit)
				ix.catBits[id] = bit
				ix.catByBit = append(ix.catByBit, id)
			}
			if bit != 0 {
				p.cats |= bit
			} else {
				extra = append(extra, id)
			}
		}
		t.df++
		t.post = append(t.post, posting(ord<<8|tf))
		distinct = append(distinct, id)
	}
	if len(extra) > 0 {
		ix.extraCats[ord] = extra
		p.moreCats = true
	}
	p.region, p.mic = ix.regions.id(region), ix.mics.id(mic)
	ix.docs[ord] = docInfo{id: doc.ID, terms: slices.Clone(distinct)}
	ix.profiles[ord] = p
	ix.lens[0][ord] = uint16(min(len(terms), deadLen-1))
	ix.lens[1][ord] = uint16(min(len(grams), deadLen-1))
	ix.sum[0] += int64(ix.lens[0][ord])
	ix.sum[1] += int64(ix.lens[1][ord])
	ix.byID[doc.ID] = ord
	ix.live++
	return nil
}

// termID returns the id of a field's term, adding it to the dictionary if
// new; buf is scratch space for the key. The caller holds the write lock.
func (ix *Index) termID(buf []byte, f field, s string) uint32 {
	buf = append(append(buf, byte('0'+f)), s...)
	if id, ok := ix.dict[string(buf)]; ok { // no allocation for the lookup
		return id
	}
	key := string(buf)
	id := uint32(len(ix.terms))
	ix.dict[key] = id
	ix.terms = append(ix.terms, termInfo{text: key, field: f})
	return id
}

// Remove deletes the document with the given ID; it reports whether there was one.
func (ix *Index) Remove(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ord, ok := ix.byID[id]
	if ok {
		ix.remove(ord)
	}
	return ok
}

func (ix *Index) alive(ord uint32) bool { return ix.lens[0][ord] != deadLen }

// remove unlinks a document; the caller holds the write lock.
func (ix *Index) remove(ord uint32) {
	d := &ix.docs[ord]
	for _, id := range d.terms {
		ix.terms[id].df--
	}
	ix.sum[0] -= int64(ix.lens[0][ord])
	ix.sum[1] -= int64(ix.lens[1][ord])
	ix.lens[0][ord], ix.lens[1][ord] = deadLen, deadLen
	delete(ix.byID, d.id)
	delete(ix.extraCats, ord)
	*d = docInfo{}
	ix.profiles[ord] = profile{}
	ix.live--
	ix.pending = append(ix.pending, ord)
	if len(ix.pending) >= max(1024, ix.live/4) {
		ix.sweep()
	}
}

// sweep drops the postings of removed documents and frees their ordinals.
// It walks every posting list, which is why it runs only after many removals:
// the amortised cost per removal stays a few postings.
func (ix *Index) sweep() {
	for i := range ix.terms {
		post := ix.terms[i].post
		kept := post[:0]
		for _, p := range post {
			if ix.alive(p.ord()) {
				kept = append(kept, p)
			}
		}
		if cap(kept) > 2*len(kept)+8 {
			kept = slices.Clip(slices.Clone(kept))
		}
		ix.terms[i].post = kept
	}
	ix.free = append(ix.free, ix.pending...)
	ix.pending = ix.pending[:0]
}

// queryTerm is one distinct term of a query with what scoring needs.
type queryTerm struct {
	id    uint32 // 0 when no document has it
	field field
	text  string
	qtf   float64
	idf   float64
}

// accumulator holds per-query scratch space sized to the index, reused
// through a pool so that a search at a million documents allocates little.
// A document's score is 0 until a posting touches it, which is how touched
// documents are recognised without a second array.
type accumulator struct {
	score   []float32
	touched []uint32
}

var accPool = sync.Pool{New: func() any { return new(accumulator) }}

// Search returns the top documents for q, best first (ties by ID). Candidates
// are the documents that share at least one term or bigram with q.Text, plus
// every document in q.Category — so that a person whose profile words differ
// from the need's can still surface on structure — or, when q has no text
// terms at all, every document. The ranking is exact: a candidate's
// structured fit is skipped only when even a perfect fit could not lift it
// into the top.
func (ix *Index) Search(q Query, top int) []Result {
	if top <= 0 {
		return nil
	}
	norm := Normalize(q.Text)
	var terms, grams []string
	if norm != "" {
		terms, grams = ix.a.terms(norm), ix.a.grams(norm)
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live == 0 {
		return nil
	}
	n := ix.compileNeed(q)
	qts := ix.queryTerms(terms, grams)
	var ideal float64
	for _, qt := range qts {
		ideal += qt.qtf * qt.idf * fieldWeight(qt.field)
	}
	hasText, hasReqs := ideal > 0, n.total > 0
	if !hasText && !hasReqs {
		return nil // nothing asked, nothing to rank by
	}

	acc := accPool.Get().(*accumulator)
	defer accPool.Put(acc)
	if len(acc.score) < len(ix.docs) {
		acc.score = make([]float32, len(ix.docs))
	}
	acc.touched = acc.touched[:0]
	defer func() {
		for _, o := range acc.touched {
			acc.score[o] = 0
		}
	}()

	// Term at a time: every posting adds its BM25 contribution.
	for _, qt := range qts {
		if qt.id == 0 {
			continue
		}
		f := qt.field
		avg := max(float64(ix.sum[f])/float64(ix.live), 1)
		w := qt.qtf * qt.idf * fieldWeight(f) * (k1 + 1)
		c0, c1 := k1*(1-b), k1*b/avg // length normalisation as a multiplier on dl
		lens := ix.lens[f]
		score := acc.score
		for _, p := range ix.terms[qt.id].post {
			o := p.ord()
			dl := lens[o]
			if dl == deadLen {
				continue
			}
			tf := float64(p.tf())
			if score[o] == 0 {
				acc.touched = append(acc.touched, o)
			}
			score[o] += float32(w * tf / (tf + c0 + c1*float64(dl)))
		}
	}
	textHits := len(acc.touched)

	h := topK{k: top, docs: ix.docs}
	consider := func(o uint32, rel float64) {
		// Skip the fit when even a perfect one would not enter the heap.
		if h.full() && combine(hasText, hasReqs, rel, 1) < h.h[0].score {
			return
		}
		fit := ix.fit(&n, o)
		if s := combine(hasText, hasReqs, rel, fit); s > 0 {
			h.push(hit{ord: o, score: s, rel: rel, fit: fit})
		}
	}
	for _, o := range acc.touched[:textHits] {
		consider(o, min(1, float64(acc.score[o])/ideal))
	}
	switch {
	case !hasText:
		for o := range ix.docs {
			if ix.alive(uint32(o)) {
				consider(uint32(o), 0)
			}
		}
	case n.cat != 0:
		// Structure-only candidates: in the category but sharing no word.
		for _, p := range ix.terms[n.cat].post {
			if o := p.ord(); ix.alive(o) && acc.score[o] == 0 {
				consider(o, 0)
			}
		}
	}

	hits := h.sorted()
	out := make([]Result, len(hits))
	for i, ht := range hits {
		r := Result{ID: ix.docs[ht.ord].id, Score: math.Round(ht.score*10) / 10, Relevance: ht.rel, Fit: ht.fit}
		r.Matched = ix.matched(&ix.docs[ht.ord], qts)
		r.Checks = ix.checks(&n, ht.ord)
		for _, c := range r.Checks {
			if c.Status == Met {
				r.Met = append(r.Met, c.Text("ja"))
			} else {
				r.Unmet = append(r.Unmet, c.Text("ja"))
			}
		}
		out[i] = r
	}
	return out
}

// Similar returns up to top documents whose text resembles text with a Score
// of at least minScore, best first. It serves the "似たニーズがあります" check
// before a need is filed: the index then holds one tenant's open needs.
func (ix *Index) Similar(text string, top int, minScore float64) []Result {
	rs := ix.Search(Query{Text: text}, top)
	out := rs[:0]
	for _, r := range rs {
		if r.Score >= minScore && r.Relevance > 0 {
			out = append(out, r)
		}
	}
	return out
}

func fieldWeight(f field) float64 {
	if f == fieldBigram {
		return bigramWeight
	}
	return 1
}

func combine(hasText, hasReqs bool, rel, fit float64) float64 {
	switch {
	case hasText && hasReqs:
		return 100 * (textShare*rel + (1-textShare)*fit)
	case hasText:
		return 100 * rel
	default:
		return 100 * fit
	}
}

// queryTerms looks up the distinct terms of a query; the caller holds a lock.
func (ix *Index) queryTerms(terms, grams []string) []queryTerm {
	var qts []queryTerm
	pos := map[string]int{}
	N := float64(ix.live)
	add := func(f field, s string) {
		key := fieldKey(f, s)
		if i, ok := pos[key]; ok {
			qts[i].qtf++
			return
		}
		id := ix.dict[key]
		df := 0.0
		if id != 0 {
			df = float64(ix.terms[id].df)
			if df == 0 {
				id = 0 // every document that had it is gone
			}
		}
		pos[key] = len(qts)
		// BM25's idf with +1 inside the log, so that very common terms still
		// count a little instead of going negative. A term no document has
		// keeps its (high) idf: the need asks for something nobody offers, and
		// Relevance should say so.
		qts = append(qts, queryTerm{id: id, field: f, text: s, qtf: 1, idf: math.Log(1 + (N-df+0.5)/(df+0.5))})
	}
	for _, t := range terms {
		add(fieldTerm, t)
	}
	for _, g := range grams {
		add(fieldBigram, g)
	}
	return qts
}

// matched lists the query terms a document contains (see Result.Matched).
func (ix *Index) matched(d *docInfo, qts []queryTerm) []string {
	var words []string
	for _, qt := range qts {
		if qt.id == 0 || qt.field != fieldTerm {
			continue
		}
		if _, ok := slices.BinarySearch(d.terms, qt.id); ok {
			words = append(words, qt.text)
		}
	}
	return words
}

// DocFreq returns the number of documents whose analysed text contains term
// (as returned by Analyzer.Terms). It exists for diagnostics and tests of the
// incremental statistics.
func (ix *Index) DocFreq(term string) int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if id, ok := ix.dict[fieldKey(fieldTerm, term)]; ok {
		return int(ix.terms[id].df)
	}
	return 0
}

// hit is a scored candidate.
type hit struct {
	ord             uint32
	score, rel, fit float64
}

// topK is a bounded min-heap of hits: the root is the worst hit kept, so each
// candidate costs one comparison unless it enters the top k.
type topK struct {
	k    int
	h    []hit
	docs []docInfo
}

// less orders hits worst first: lower score, or equal score and larger ID.
func (t *topK) less(a, b hit) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return t.docs[a.ord].id > t.docs[b.ord].id
}

func (t *topK) full() bool { return len(t.h) == t.k }

func (t *topK) push(x hit) {
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return
	}
	if !t.less(t.h[0], x) {
		return
	}
	t.h[0] = x
	t.down(0)
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(t.h[i], t.h[p]) {
			return
		}
		t.h[i], t.h[p] = t.h[p], t.h[i]
		i = p
	}
}

func (t *topK) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(t.h) {
			return
		}
		m := l
		if r := l + 1; r < len(t.h) && t.less(t.h[r], t.h[l]) {
			m = r
		}
		if !t.less(t.h[m], t.h[i]) {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// sorted empties the heap into best-first order.
func (t *topK) sorted() []hit {
	out := make([]hit, len(t.h))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = t.h[0]
		last := len(t.h) - 1
		t.h[0] = t.h[last]
		t.h = t.h[:last]
		t.down(0)
	}
	return out
}
