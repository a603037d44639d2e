package line

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// LINE's limits that the renderer respects. Text is counted in UTF-16 code units (an emoji
// counts 2); action labels are counted in grapheme clusters, which runes over-count, so
// counting runes is the safe side.
const (
	MaxTextLength     = 5000 // a text message
	MaxQuickReplies   = 13   // quick reply items on one message
	MaxLabel          = 20   // an action label, in runes
	MaxMessagesPerAPI = 5    // messages in one reply or push request
	maxAltText        = 400  // Flex allows more; notifications show far less
	maxDisplayText    = 300  // postback displayText and message action text
	maxImageURL       = 2000 // originalContentUrl / previewImageUrl
)

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16RuneLen(r)
	}
	return n
}

func utf16RuneLen(r rune) int {
	if l := utf16.RuneLen(r); l > 0 {
		return l
	}
	return 1 // invalid runes are sent as U+FFFD
}

// splitText cuts s into pieces of at most max UTF-16 units without splitting a surrogate
// pair, preferring to cut after a newline in the second half of a piece so that paragraphs
// stay whole. Joining the pieces gives s back.
func splitText(s string, max int) []string {
	var out []string
	for s != "" {
		if len(s) <= max { // UTF-8 never has fewer bytes than UTF-16 units
			out = append(out, s)
			break
		}
		units, cut, lastNL := 0, 0, -1
		for cut < len(s) {
			r, size := utf8.DecodeRuneInString(s[cut:])
			l := utf16RuneLen(r)
			if units+l > max {
				break
			}
			units += l
			cut += size
			if r == '\n' && units > max/2 {
				lastNL = cut
			}
		}
		if cut == len(s) {
			out = append(out, s)
			break
		}
		if lastNL > 0 {
			cut = lastNL
		}
		if cut == 0 { // max smaller than one rune: never loop forever
			_, cut = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

// truncateRunes shortens s to at most max runes, ending in "…" when it had to cut,
// so that a person sees the label was shortened rather than reading a different word.
func truncateRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max-1 {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimRight(b.String(), " 　") + "…"
}

// truncateUTF16 shortens s to at most max UTF-16 units, ending in "…" when it had to cut.
func truncateUTF16(s string, max int) string {
	if utf16Len(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		l := utf16RuneLen(r)
		if n+l > max-1 {
			break
		}
		b.WriteRune(r)
		n += l
	}
	return b.String() + "…"
}

// oneLine folds line breaks and runs of white space into single spaces, for labels
// and alt texts that LINE shows on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
