package match

// SetBigramWeight changes the bigram field's weight for an ablation in the
// evaluation and returns a function that restores it. Not safe to call while
// searches run.
func SetBigramWeight(w float64) (restore func()) {
	old := bigramWeight
	bigramWeight = w
	return func() { bigramWeight = old }
}

// NewAnalyzerFromText builds an Analyzer from the text of a domain dictionary
// and a stop list, so tests can check that malformed dictionaries are refused.
func NewAnalyzerFromText(userDict, stopWords string) (*Analyzer, error) {
	return newAnalyzer(userDict, stopWords)
}

// StopWordsText is the embedded stop list, for ablations that replace only
// the domain dictionary.
var StopWordsText = stopWordsText
