package line

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPostbackData is LINE's limit on a postback action's data.
const MaxPostbackData = 300

// EncodePostback packs a choice's Action and Value into postback data ("a=…&v=…", the
// value part left out when empty). It reports false when the result would exceed
// MaxPostbackData; the caller then has to render the choice some other way, because
// a truncated value would silently answer a different question.
func EncodePostback(action, value string) (data string, ok bool) {
	var b strings.Builder
	b.WriteString("a=")
	escapeInto(&b, action)
	if value != "" {
		b.WriteString("&v=")
		escapeInto(&b, value)
	}
	data = b.String()
	return data, utf16Len(data) <= MaxPostbackData
}

// DecodePostback unpacks postback data written by EncodePostback. It also accepts what an
// operator may configure by hand on a rich menu: "action=…&value=…" query data, and data
// without '=' as a bare action ("menu"). Malformed escapes are kept as far as url.ParseQuery
// got, and the results are always valid UTF-8, because they flow into the engine as text.
func DecodePostback(data string) (action, value string) {
	data = strings.TrimSpace(data)
	if !strings.Contains(data, "=") {
		return clean(data), ""
	}
	// ParseQuery keeps every well-formed pair even when it reports an error for another one.
	q, _ := url.ParseQuery(data)
	action, ok := first(q, "a")
	if !ok {
		action, _ = first(q, "action")
	}
	value, ok = first(q, "v")
	if !ok {
		value, _ = first(q, "value")
	}
	return clean(action), clean(value)
}

func first(q url.Values, key string) (string, bool) {
	vs, ok := q[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func clean(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// escapeInto percent-encodes only what url.ParseQuery would otherwise misread, so that
// Japanese text keeps one character per character within the 300-character budget.
func escapeInto(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r) || (r == utf8.RuneError && size == 1) {
			for j := i; j < i+size; j++ {
				c := s[j]
				b.WriteByte('%')
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0x0F])
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

func needsEscape(r rune) bool {
	switch r {
	case '%', '&', '=', '+', ';', '#':
		return true
	}
	return unicode.IsSpace(r) || unicode.IsControl(r)
}
