package slack

import (
	"strings"
	"unicode/utf8"
)

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes s safe to embed in Slack mrkdwn: it replaces exactly the three control
// characters &, < and > with their entities, so that text a person typed can never become a
// mention (<!channel>, <!here>, <@U…>, <!subteam^…>) or a link (<url|text>). Other characters
// are left alone: entity-encoding more would show up literally in Slack.
func Escape(s string) string { return escaper.Replace(s) }

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// plainText turns the text of an inbound Slack message into what the person typed: links
// <url|label> become their label (or URL), mentions <@U1|name> become @name (or @U1), channel
// links become #name, special mentions like <!here> become @here, and the three entities are
// decoded. Unterminated brackets are kept as they are.
func plainText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteString(plainToken(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	return unescaper.Replace(b.String())
}

// plainToken renders the inside of one <…> control sequence.
func plainToken(t string) string {
	target, label, hasLabel := strings.Cut(t, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		if hasLabel && label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return target
	case strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return "#" + label
		}
		return target
	case strings.HasPrefix(target, "!"):
		if hasLabel && label != "" {
			return label
		}
		name, _, _ := strings.Cut(target[1:], "^")
		return "@" + name
	}
	if hasLabel && label != "" {
		return label
	}
	return target
}

// stripMentions removes mentions of the bot users from text. With no known bot user it
// removes a single leading mention, which is how app_mention text starts.
func stripMentions(text string, botUsers []string) string {
	if len(botUsers) == 0 {
		t := strings.TrimLeft(text, " \t\n")
		if strings.HasPrefix(t, "<@") {
			if j := strings.IndexByte(t, '>'); j > 0 {
				return strings.TrimSpace(t[j+1:])
			}
		}
		return strings.TrimSpace(text)
	}
	for _, id := range botUsers {
		if id == "" {
			continue
		}
		text = strings.ReplaceAll(text, "<@"+id+">", "")
		for {
			i := strings.Index(text, "<@"+id+"|")
			if i < 0 {
				break
			}
			j := strings.IndexByte(text[i:], '>')
			if j < 0 {
				break
			}
			text = text[:i] + text[i+j+1:]
		}
	}
	return strings.TrimSpace(text)
}

// units counts s the way Slack's length limits do, in UTF-16 code units, so an emoji
// outside the BMP counts twice. Counting runes would let such text overflow a limit.
func units(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// truncate shortens s to at most max units, ending it with "…" when it was cut.
func truncate(s string, max int) string {
	if units(s) <= max {
		return s
	}
	n := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if n+w > max-1 {
			return s[:i] + "…"
		}
		n += w
	}
	return s
}

// splitEscaped escapes s for mrkdwn and cuts the result into pieces of at most limit units.
// A piece never ends inside an entity or a character, and it ends after a line break when one
// falls in its second half. Concatenated, the pieces are Escape(s) (pieces of white space only
// are dropped, since Slack rejects empty texts).
func splitEscaped(s string, limit int) []string {
	e := Escape(s)
	var out []string
	emit := func(p string) {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	start, n := 0, 0
	brk, nAtBrk := -1, 0
	for i := 0; i < len(e); {
		var size, w int
		// Look for the entity's ';' within its 5 bytes only: searching the rest of the text
		// at every character made splitting quadratic (2 ms for a 6,000-character answer).
		if j := strings.IndexByte(e[i:min(i+5, len(e))], ';'); e[i] == '&' && j > 0 {
			size, w = j+1, j+1 // an entity: &amp; &lt; &gt;
		} else {
			r, sz := utf8.DecodeRuneInString(e[i:])
			size, w = sz, 1
			if r > 0xFFFF {
				w = 2
			}
		}
		if n+w > limit && i > start {
			if brk > start && nAtBrk > limit/2 {
				emit(e[start:brk])
				start, n = brk, n-nAtBrk
			} else {
				emit(e[start:i])
				start, n = i, 0
			}
			brk = -1
		}
		n += w
		i += size
		if e[i-1] == '\n' {
			brk, nAtBrk = i, n
		}
	}
	if start < len(e) {
		emit(e[start:])
	}
	return out
}
