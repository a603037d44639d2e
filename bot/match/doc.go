// Package match finds the talent profiles that fit a municipal need and the
// open needs that resemble a new one (SPEC §4 "Similar needs", §5 "Matching").
// It is pure computation — no storage, no network — so the bot, the CLI
// (`kakehashi candidates match`) and the tests rank identically.
//
// # Text
//
// Staff write needs in everyday Japanese (「窓口のRPA化を進めたい」); talent
// writes skills in tool names (「UiPathでのシナリオ開発」). Matching bridges the
// two in three steps:
//
//   - Normalize folds typing variants (full-width ＡＩ, half-width ｷﾝﾄｰﾝ,
//     punctuation) so they never decide a match.
//   - Analyzer runs kagome (IPA dictionary, Search mode) with an embedded domain
//     dictionary, userdict.txt: tool and policy words stay whole (ノーコード,
//     電子申請), spellings fold to one term (キントーン → kintone) and tools imply
//     what they are for (uipath → rpa). Particles, auxiliaries and the stop
//     words in stopwords.txt are dropped; verbs are reduced to their base form.
//   - Katakana and kanji character bigrams form a second, lighter field that
//     catches partial overlaps whole words miss (申請 inside 電子申請).
//
// # Ranking
//
// Index is a hand-written BM25 (k1 = 1.2, b = 0.75) over posting lists with
// incremental statistics, plus a structured fit (category, MIC talent type,
// days, hours, remote/on-site, region, engagement form). Every Result explains
// itself: the matched terms and each requirement as met, unmet, or unknown.
// A profile that leaves a field empty is never credited with it — "unknown" is
// shown to the DX lead and earns no points.
//
// Quality is measured, not asserted: testdata/eval.json holds hand-judged needs
// and profiles, and eval_test.go requires this ranking to beat a plain
// character-bigram BM25 on nDCG@5. Benchmarks in bench_test.go cover the
// latency targets of SPEC §10 (top-10 of 100,000 profiles ≤ 50 ms p99, of
// 1,000,000 ≤ 500 ms).
//
// Glossary: ニーズ need, 候補者 candidate (talent profile), 類似ニーズ similar
// need, 一致語 matched term, 未評価 not scored (unknown).
package match
