package line

import (
	"net/url"
	"path"
	"strings"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// Choice conventions the renderer understands.
const (
	// ActionProposeTime marks a choice that asks the person for a date and time; it is
	// rendered as a datetime picker, and the answer comes back as that action with the
	// picked time as Value ("2026-11-28 19:00").
	ActionProposeTime = "propose_time"
	// ValueDatetime marks any choice as a datetime picker, whatever its action.
	ValueDatetime = "datetime"
)

// Layout budgets chosen to stay well inside LINE's JSON size limits (30 KB per bubble):
// long values move out of the card into plain text, where nothing is lost.
const (
	cardFieldsPerBubble = 12
	cardValueMax        = 300 // UTF-16 units shown in a card row
	cardLabelMax        = 40
	buttonsPerBubble    = 10
	bubblesPerCarousel  = 12 // LINE's maximum
	altValueMax         = 40 // per field in a card's alt text: a notification line, not the card
)

// card headers per bot.Reply.Kind; a reply without a known kind gets a plain card.
var cardStyles = map[string]struct{ title, color string }{
	"need_card":      {"ニーズ", "#0B5CAD"},
	"candidate_card": {"候補者", "#2E7D32"},
	"meeting_card":   {"面談", "#6A1B9A"},
	"digest":         {"ダイジェスト", "#37474F"},
}

// choicePrompt carries the quick replies when a reply has choices and nothing else to
// attach them to (LINE only shows quick replies under a message).
const choicePrompt = "選択してください"

// Render turns one reply into LINE messages, in order: the text (split at 5,000 UTF-16
// units), the field card, the attachments, and the choices — as quick replies on the last
// message when there are at most 13 of them, otherwise as Flex button lists, so that no
// choice is ever dropped. The result may hold more than 5 messages; Send batches them.
// Every message is a fresh pointer: the SDK's MarshalJSON writes the type discriminators
// into the value, so messages must not be shared between goroutines.
func Render(r bot.Reply) []messaging_api.MessageInterface {
	var msgs []messaging_api.MessageInterface
	if strings.TrimSpace(r.Text) != "" {
		for _, part := range splitText(r.Text, MaxTextLength) {
			msgs = append(msgs, &messaging_api.TextMessage{Text: part})
		}
	}
	msgs = append(msgs, renderFields(r)...)
	for _, a := range r.Attachments {
		msgs = append(msgs, renderAttachment(a)...)
	}
	switch n := len(r.Choices); {
	case n == 0:
	case n <= MaxQuickReplies:
		if len(msgs) == 0 {
			msgs = append(msgs, &messaging_api.TextMessage{Text: choicePrompt})
		}
		setQuickReply(msgs[len(msgs)-1], quickReply(r.Choices))
	default:
		msgs = append(msgs, renderChoiceLists(r)...)
	}
	return msgs
}

func quickReply(choices []bot.Choice) *messaging_api.QuickReply {
	items := make([]messaging_api.QuickReplyItem, 0, len(choices))
	for _, c := range choices {
		// Type must be set by hand: QuickReplyItem.MarshalJSON does not fill it in.
		items = append(items, messaging_api.QuickReplyItem{Type: "action", Action: choiceAction(c)})
	}
	return &messaging_api.QuickReply{Items: items}
}

func setQuickReply(m messaging_api.MessageInterface, q *messaging_api.QuickReply) {
	switch m := m.(type) {
	case *messaging_api.TextMessage:
		m.QuickReply = q
	case *messaging_api.FlexMessage:
		m.QuickReply = q
	case *messaging_api.ImageMessage:
		m.QuickReply = q
	}
}

// choiceLabel is what fits on a button: one line, at most 20 runes.
func choiceLabel(c bot.Choice) string {
	label := oneLine(c.Label)
	if label == "" {
		label = oneLine(c.Value)
	}
	if label == "" {
		label = oneLine(c.Action)
	}
	if label == "" {
		label = "-"
	}
	return truncateRunes(label, MaxLabel)
}

// choiceAction picks the LINE action for a choice. A postback carries Action and Value
// back exactly; the full label goes into displayText, so the chat shows what was chosen
// even when the button had to shorten it. When Action and Value do not fit into 300
// characters, the choice becomes a message action that sends its value as typed text —
// the answer a person would have typed — rather than a postback with a truncated value.
func choiceAction(c bot.Choice) messaging_api.ActionInterface {
	label := choiceLabel(c)
	if c.Action == ActionProposeTime || c.Value == ValueDatetime {
		value := c.Value
		if value == ValueDatetime {
			value = ""
		}
		data, ok := EncodePostback(c.Action, value)
		if !ok {
			data, _ = EncodePostback(c.Action, "")
		}
		return &messaging_api.DatetimePickerAction{
			Label: label,
			Data:  data,
			Mode:  messaging_api.DatetimePickerActionMODE_DATETIME,
		}
	}
	display := truncateUTF16(oneLine(c.Label), maxDisplayText)
	if display == "" {
		display = label
	}
	if data, ok := EncodePostback(c.Action, c.Value); ok {
		return &messaging_api.PostbackAction{Label: label, Data: data, DisplayText: display}
	}
	text := c.Value
	if strings.TrimSpace(text) == "" {
		text = c.Label
	}
	return &messaging_api.MessageAction{Label: label, Text: truncateUTF16(text, maxDisplayText)}
}

// renderChoiceLists shows more choices than quick replies allow as Flex bubbles of
// buttons, 10 to a bubble and 12 bubbles to a carousel message.
func renderChoiceLists(r bot.Reply) []messaging_api.MessageInterface {
	var bubbles []messaging_api.FlexBubble
	for start := 0; start < len(r.Choices); start += buttonsPerBubble {
		end := min(start+buttonsPerBubble, len(r.Choices))
		var buttons []messaging_api.FlexComponentInterface
		for _, c := range r.Choices[start:end] {
			buttons = append(buttons, &messaging_api.FlexButton{
				Action: choiceAction(c),
				Style:  messaging_api.FlexButtonSTYLE_SECONDARY,
				Height: messaging_api.FlexButtonHEIGHT_SM,
				Margin: "sm",
			})
		}
		bubbles = append(bubbles, messaging_api.FlexBubble{
			Body: &messaging_api.FlexBox{Layout: messaging_api.FlexBoxLAYOUT_VERTICAL, Contents: buttons},
		})
	}
	var msgs []messaging_api.MessageInterface
	for start := 0; start < len(bubbles); start += bubblesPerCarousel {
		end := min(start+bubblesPerCarousel, len(bubbles))
		labels := make([]string, 0, buttonsPerBubble*(end-start))
		for _, c := range r.Choices[start*buttonsPerBubble : min(end*buttonsPerBubble, len(r.Choices))] {
			labels = append(labels, choiceLabel(c))
		}
		msgs = append(msgs, &messaging_api.FlexMessage{
			AltText:  altText(choicePrompt + ": " + strings.Join(labels, " / ")),
			Contents: &messaging_api.FlexCarousel{Contents: bubbles[start:end]},
		})
	}
	return msgs
}

// renderFields draws the fields as a Flex card. Values longer than a card row follow the
// card in full as text, so a long need description is readable rather than cut off.
func renderFields(r bot.Reply) []messaging_api.MessageInterface {
	if len(r.Fields) == 0 {
		return nil
	}
	style, styled := cardStyles[r.Kind]
	var msgs, overflow []messaging_api.MessageInterface
	for start := 0; start < len(r.Fields); start += cardFieldsPerBubble {
		fields := r.Fields[start:min(start+cardFieldsPerBubble, len(r.Fields))]
		rows := make([]messaging_api.FlexComponentInterface, 0, len(fields))
		alt := make([]string, 0, len(fields))
		for _, f := range fields {
			label := truncateUTF16(oneLine(f.Label), cardLabelMax)
			value := strings.TrimSpace(f.Value)
			if utf16Len(value) > cardValueMax {
				for _, part := range splitText("【"+label+"】\n"+value, MaxTextLength) {
					overflow = append(overflow, &messaging_api.TextMessage{Text: part})
				}
				value = truncateUTF16(value, cardValueMax)
			}
			if value == "" {
				value = "-"
			}
			if label == "" {
				label = "-"
			}
			rows = append(rows, &messaging_api.FlexBox{
				Layout:  messaging_api.FlexBoxLAYOUT_BASELINE,
				Spacing: "sm",
				Contents: []messaging_api.FlexComponentInterface{
					&messaging_api.FlexText{Text: label, Flex: 2, Size: "sm", Color: "#888888", Wrap: true},
					&messaging_api.FlexText{Text: value, Flex: 5, Size: "sm", Color: "#111111", Wrap: true},
				},
			})
			alt = append(alt, label+": "+truncateUTF16(oneLine(value), altValueMax))
		}
		bubble := &messaging_api.FlexBubble{
			Body: &messaging_api.FlexBox{Layout: messaging_api.FlexBoxLAYOUT_VERTICAL, Spacing: "sm", Contents: rows},
		}
		altPrefix := ""
		if styled {
			bubble.Header = &messaging_api.FlexBox{
				Layout:          messaging_api.FlexBoxLAYOUT_VERTICAL,
				BackgroundColor: style.color,
				Contents: []messaging_api.FlexComponentInterface{
					&messaging_api.FlexText{Text: style.title, Color: "#FFFFFF", Weight: messaging_api.FlexTextWEIGHT_BOLD, Size: "md"},
				},
			}
			altPrefix = "【" + style.title + "】"
		}
		msgs = append(msgs, &messaging_api.FlexMessage{
			AltText:  altText(altPrefix + strings.Join(alt, " / ")),
			Contents: bubble,
		})
	}
	return append(msgs, overflow...)
}

// altText is what notifications, the chat list and screen readers show for a Flex message;
// LINE rejects an empty one.
func altText(s string) string {
	s = oneLine(s)
	if s == "" {
		s = "カード"
	}
	return truncateUTF16(s, maxAltText)
}

// renderAttachment sends an image LINE can fetch (an absolute https URL, as LINE requires)
// as an image, and everything else — an .ics invite, a chart behind a relative or plain
// http URL — as a text with its name and link: the Messaging API cannot send files.
func renderAttachment(a bot.Attachment) []messaging_api.MessageInterface {
	name := oneLine(a.Name)
	if name == "" {
		name = path.Base(a.URL)
	}
	link := absoluteURL(a.URL)
	if isImage(a) && strings.HasPrefix(link, "https://") && len(link) <= maxImageURL {
		img := &messaging_api.ImageMessage{OriginalContentUrl: link, PreviewImageUrl: link}
		if alt := strings.TrimSpace(a.Alt); alt != "" {
			// LINE images have no alt text; say what the image shows for people who cannot see it.
			return []messaging_api.MessageInterface{&messaging_api.TextMessage{Text: truncateUTF16("🖼 "+alt, MaxTextLength)}, img}
		}
		return []messaging_api.MessageInterface{img}
	}
	var b strings.Builder
	switch {
	case isCalendar(a):
		b.WriteString("📅 カレンダー招待: ")
	case isImage(a):
		b.WriteString("🖼 画像: ")
	default:
		b.WriteString("📎 ファイル: ")
	}
	b.WriteString(name)
	if alt := strings.TrimSpace(a.Alt); alt != "" {
		b.WriteString("\n" + alt)
	}
	if link != "" {
		b.WriteString("\n" + link)
	}
	return []messaging_api.MessageInterface{&messaging_api.TextMessage{Text: truncateUTF16(b.String(), MaxTextLength)}}
}

// absoluteURL returns u when people can open it from LINE (an absolute http(s) URL), else "".
func absoluteURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
		return ""
	}
	return p.String()
}

func isImage(a bot.Attachment) bool {
	ct := strings.ToLower(a.ContentType)
	if ct == "image/png" || ct == "image/jpeg" {
		return true
	}
	ext := strings.ToLower(path.Ext(a.Name))
	return ct == "" && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")
}

func isCalendar(a bot.Attachment) bool {
	return strings.HasPrefix(strings.ToLower(a.ContentType), "text/calendar") ||
		strings.EqualFold(path.Ext(a.Name), ".ics")
}
