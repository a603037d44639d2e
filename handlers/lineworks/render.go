package lineworks

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
)

// Documented limits of the Bot API message types this package sends.
const (
	// TextMax is the longest text message (2,000 characters).
	TextMax = 2000
	// ContentTextMax is the longest body of a button_template or link (1,000 characters).
	ContentTextMax = 1000
	// ButtonMax is the most buttons one button_template holds (10).
	ButtonMax = 10
	// LabelMax is the longest button or quick-reply label (20 characters).
	LabelMax = 20
	// QuickReplyMax is the most quick-reply items on one message (13).
	QuickReplyMax = 13
	// DisplayTextMax is the longest text a quick-reply press shows in the room (300 characters).
	DisplayTextMax = 300
)

// defaultPrompt is the body of a choice message whose reply has no text, because
// button_template requires a body and a quick reply needs a message to hang on.
const defaultPrompt = "選択してください"

// Content is one LINE WORKS message content ({"content": Content} is the request
// body of the send-message API). Only the fields of the types this package sends exist.
type Content struct {
	// Type is "text", "button_template", "image", "file" or "link".
	Type string `json:"type"`
	// Text is the body of a text message.
	Text string `json:"text,omitempty"`
	// ContentText is the body of a button_template or link message.
	ContentText string   `json:"contentText,omitempty"`
	Actions     []Action `json:"actions,omitempty"`
	// PreviewImageURL and OriginalContentURL address an image or file by HTTPS URL;
	// FileID addresses one uploaded through the attachments API instead.
	PreviewImageURL    string `json:"previewImageUrl,omitempty"`
	OriginalContentURL string `json:"originalContentUrl,omitempty"`
	FileID             string `json:"fileId,omitempty"`
	// LinkText and Link make a link message.
	LinkText   string      `json:"linkText,omitempty"`
	Link       string      `json:"link,omitempty"`
	QuickReply *QuickReply `json:"quickReply,omitempty"`
}

// Action is a button. Message actions (Type "message", allowed in button_template)
// carry the encoded choice in Postback; postback actions (Type "postback", allowed in
// quick replies) carry it in Data and show DisplayText as the person's message.
type Action struct {
	Type        string `json:"type"`
	Label       string `json:"label,omitempty"`
	Postback    string `json:"postback,omitempty"`
	Data        string `json:"data,omitempty"`
	DisplayText string `json:"displayText,omitempty"`
}

// QuickReply is the row of buttons shown above the input field for the latest message.
type QuickReply struct {
	Items []QuickReplyItem `json:"items"`
}

// QuickReplyItem is one quick-reply button.
type QuickReplyItem struct {
	Action Action `json:"action"`
}

// item is a rendered content plus the attachment Send may upload to replace it.
type item struct {
	content Content
	att     *bot.Attachment
}

// Render turns one reply into the contents sent for it, in order, as Send sends it when
// the reply is the last of its delivery (attachments with Data are uploaded by Send; Render
// shows the URL-based fallback). Rules, all within the documented limits:
//   - text (and the field card, one "label: value" line per field) is split into text
//     messages of at most TextMax characters, preferring line breaks;
//   - up to QuickReplyMax choices of a plain reply (no fields, no Kind) become quick replies
//     on the last message: light, and they vanish once answered;
//   - other choices (cards, or more than 13) become button_template messages of up to
//     ButtonMax buttons that stay in the room's history; more than ButtonMax are sent as
//     numbered pages "(1/2)", all at once — a "次へ" button would need the adapter to keep
//     the remaining choices between callbacks, which a stateless replica cannot;
//   - there is no date picker on LINE WORKS, so time proposals are plain buttons;
//   - labels are cut to LabelMax characters with "…"; a choice whose action and value
//     do not fit PostbackMax becomes a plain message button that sends its label as text.
func Render(r bot.Reply) []Content {
	var out []Content
	for _, it := range renderReply(r, true) {
		out = append(out, it.content)
	}
	return out
}

// renderReply renders r; last says whether r is the final reply of its delivery,
// the only place quick replies survive (a later message hides them).
func renderReply(r bot.Reply, last bool) []item {
	body := r.Text
	if card := fieldCard(r.Fields); card != "" {
		if strings.TrimSpace(body) != "" {
			body = strings.TrimRight(body, "\n") + "\n\n" + card
		} else {
			body = card
		}
	}
	quick := len(r.Choices) > 0 && len(r.Choices) <= QuickReplyMax && len(r.Fields) == 0 && r.Kind == "" && last

	var items []item
	var chunks []string
	for _, c := range splitText(body, TextMax) {
		if strings.TrimSpace(c) != "" { // the API rejects blank bodies
			chunks = append(chunks, c)
		}
	}
	if len(r.Choices) > 0 && !quick {
		// The question and its buttons belong in one bubble: the last chunk becomes the
		// template body, cut shorter since a template body holds only ContentTextMax.
		pages := pageChoices(r.Choices, ButtonMax)
		prompt := defaultPrompt
		if n := len(chunks); n > 0 {
			room := ContentTextMax
			if len(pages) > 1 {
				room -= len(pageMark(len(pages), len(pages))) + 1
			}
			tail := splitText(chunks[n-1], room)
			chunks = append(chunks[:n-1], tail...)
			if p := chunks[len(chunks)-1]; strings.TrimSpace(p) != "" {
				prompt = p
				chunks = chunks[:len(chunks)-1]
			}
		}
		for _, c := range chunks {
			items = append(items, item{content: Content{Type: "text", Text: c}})
		}
		for i, page := range pages {
			text := prompt
			if i > 0 {
				text = ""
			}
			if len(pages) > 1 {
				text = strings.TrimSpace(text + "\n" + pageMark(i+1, len(pages)))
			}
			actions := make([]Action, 0, len(page))
			for _, ch := range page {
				actions = append(actions, messageAction(ch))
			}
			items = append(items, item{content: Content{Type: "button_template", ContentText: text, Actions: actions}})
		}
	} else {
		if len(chunks) == 0 && quick {
			chunks = []string{defaultPrompt}
		}
		for _, c := range chunks {
			items = append(items, item{content: Content{Type: "text", Text: c}})
		}
	}
	for i := range r.Attachments {
		a := r.Attachments[i]
		items = append(items, item{content: attachmentFallback(a), att: &a})
	}
	if quick {
		qr := &QuickReply{}
		for _, ch := range r.Choices {
			qr.Items = append(qr.Items, QuickReplyItem{Action: postbackAction(ch)})
		}
		items[len(items)-1].content.QuickReply = qr
	}
	return items
}

func pageMark(i, n int) string { return fmt.Sprintf("(%d/%d)", i, n) }

func pageChoices(cs []bot.Choice, size int) [][]bot.Choice {
	var pages [][]bot.Choice
	for len(cs) > size {
		pages = append(pages, cs[:size])
		cs = cs[size:]
	}
	return append(pages, cs)
}

// messageAction renders a choice as a button_template button. Pressing it sends a
// message event whose content.postback is the encoded choice.
func messageAction(ch bot.Choice) Action {
	a := Action{Type: "message", Label: label(ch)}
	if data, err := EncodePostback(ch.Action, ch.Value); err == nil {
		a.Postback = data
	}
	return a
}

// postbackAction renders a choice as a quick reply. displayText is required there and
// shows the full label as what the person "said".
func postbackAction(ch bot.Choice) Action {
	data, err := EncodePostback(ch.Action, ch.Value)
	if err != nil {
		// Still pressable: a message action sends its label as text.
		return Action{Type: "message", Label: label(ch)}
	}
	return Action{Type: "postback", Label: label(ch), Data: data, DisplayText: truncate(fullLabel(ch), DisplayTextMax)}
}

func fullLabel(ch bot.Choice) string {
	for _, s := range []string{ch.Label, ch.Value, ch.Action} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return "…"
}

func label(ch bot.Choice) string { return truncate(fullLabel(ch), LabelMax) }

// truncate cuts s to max characters (UTF-16 units, the conservative count), ending in "…".
func truncate(s string, max int) string {
	if utf16Len(s) <= max {
		return s
	}
	head := splitText(s, max-1)[0]
	return head + "…"
}

// fieldCard renders fields as text: the Bot API has no key/value card short of a
// Flexible Template, and a text card reads the same on every client.
func fieldCard(fs []bot.Field) string {
	var b strings.Builder
	for _, f := range fs {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		if f.Label != "" {
			b.WriteString(f.Label)
			b.WriteString(": ")
		}
		b.WriteString(f.Value)
	}
	return b.String()
}

// attachmentFallback is what an attachment becomes without an upload: an image or file
// message by HTTPS URL (the only scheme LINE WORKS fetches), a link message for other
// absolute URLs, or a text line naming the attachment.
func attachmentFallback(a bot.Attachment) Content {
	name := attachmentName(a)
	u, err := url.Parse(a.URL)
	switch {
	case err == nil && u.Scheme == "https" && u.Host != "" && utf16Len(a.URL) <= 1000:
		if isImage(a) {
			return Content{Type: "image", PreviewImageURL: a.URL, OriginalContentURL: a.URL}
		}
		return Content{Type: "file", OriginalContentURL: a.URL}
	case err == nil && u.Scheme == "http" && u.Host != "" && utf16Len(a.URL) <= 1000:
		text := name
		if a.Alt != "" {
			text = a.Alt
		}
		return Content{Type: "link", ContentText: truncate(text, ContentTextMax), LinkText: truncate(name, ContentTextMax), Link: a.URL}
	default:
		text := "📎 " + name
		if a.Alt != "" {
			text += "\n" + a.Alt
		}
		if a.URL != "" {
			text += "\n" + a.URL
		}
		return Content{Type: "text", Text: truncate(text, TextMax)}
	}
}

func isImage(a bot.Attachment) bool {
	if strings.HasPrefix(strings.ToLower(a.ContentType), "image/") {
		return true
	}
	switch strings.ToLower(path.Ext(a.Name)) {
	case ".png", ".jpg", ".jpeg", ".gif":
		return true
	}
	return false
}

// attachmentName is the file name shown and uploaded; a name is required by the
// attachments API and its extension decides how the client opens the file.
func attachmentName(a bot.Attachment) string {
	if n := strings.TrimSpace(a.Name); n != "" {
		return n
	}
	ct := strings.ToLower(a.ContentType)
	switch {
	case strings.HasPrefix(ct, "image/png"):
		return "image.png"
	case strings.HasPrefix(ct, "text/calendar"):
		return "invite.ics"
	case strings.HasPrefix(ct, "image/"):
		return "image"
	}
	return "file"
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// splitText cuts s into pieces of at most max UTF-16 units (LINE WORKS does not say
// how it counts; UTF-16 is the stricter of the plausible counts for Japanese and emoji).
// It prefers to cut after a line break in the second half of a piece and never cuts
// inside a character; the pieces concatenate to s.
func splitText(s string, max int) []string {
	var out []string
	for s != "" {
		if utf16Len(s) <= max {
			out = append(out, s)
			break
		}
		units, cut, lastNL := 0, 0, -1
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			n := 1
			if r >= 0x10000 {
				n = 2
			}
			if units+n > max {
				break
			}
			units += n
			i += w
			cut = i
			if r == '\n' {
				lastNL = i
			}
		}
		if cut == 0 { // max smaller than one character: take the character anyway.
			_, cut = utf8.DecodeRuneInString(s)
		}
		if lastNL > cut/2 {
			cut = lastNL
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}
