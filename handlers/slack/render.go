package slack

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
)

// Block Kit limits (docs.slack.dev/reference/block-kit). Lengths are in UTF-16 units.
const (
	maxBlocksPerMessage  = 50
	maxBlocksPerHome     = 100
	maxSectionText       = 3000
	maxFieldText         = 2000
	maxFieldsPerSection  = 10
	maxElementsPerAction = 25
	maxButtonText        = 75
	maxButtonValue       = 2000
	maxActionID          = 255
	// maxMessageText keeps one message well below the size at which Slack answers
	// msg_blocks_too_long (about 13,000 characters of block text in practice).
	maxMessageText = 12000

	maxModalTitle    = 24
	maxModalBlocks   = 100
	maxInputLabel    = 2000
	maxSelectOptions = 100
	maxOptionText    = 75
	maxOptionValue   = 150
	maxInputLength   = 3000
	maxMetadata      = 3000
)

// Action IDs of our buttons carry the choice's action so that a press gives back exactly
// what was rendered: "kk<i>:<action>" with the choice's value as the button value, or, when
// the action is too long for an action_id, "kj<i>" with the JSON array [action, value] as
// the value. <i> keeps action IDs unique within a message.
const (
	actionPrefix     = "kk"
	actionJSONPrefix = "kj"
)

// encodeChoice returns the action_id and value for the i-th button of a reply; ok is false
// when the choice cannot round-trip within Slack's limits.
func encodeChoice(i int, c bot.Choice) (actionID, value string, ok bool) {
	idx := strconv.Itoa(i)
	actionID = actionPrefix + idx + ":" + c.Action
	if units(actionID) <= maxActionID && units(c.Value) <= maxButtonValue {
		return actionID, c.Value, true
	}
	b, err := json.Marshal([2]string{c.Action, c.Value})
	if err != nil || units(string(b)) > maxButtonValue {
		return "", "", false
	}
	return actionJSONPrefix + idx, string(b), true
}

// decodeChoice is the inverse of encodeChoice. Action IDs we did not render (another app's
// block) come back as they are.
func decodeChoice(actionID, value string) (action, val string) {
	if rest, ok := strings.CutPrefix(actionID, actionPrefix); ok {
		if idx, act, ok := strings.Cut(rest, ":"); ok && isDigits(idx) {
			return act, value
		}
	}
	if rest, ok := strings.CutPrefix(actionID, actionJSONPrefix); ok && isDigits(rest) {
		var pair [2]string
		if json.Unmarshal([]byte(value), &pair) == nil {
			return pair[0], pair[1]
		}
	}
	return actionID, value
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func mrkdwn(s string) *slack.TextBlockObject {
	// verbatim: Slack does no automatic linking of names or URLs in our (escaped) text.
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// Render turns a reply into Block Kit blocks within Slack's limits: the text as mrkdwn
// sections of at most 3,000 characters, the fields as sections with fields (or, when a value
// is too long for a field, as a compact list), attachments that only have a URL as links, and
// the choices as buttons, 25 to an actions block. Every string is escaped with Escape.
// Attachments with Data are uploaded by Send and not rendered here. The result may have more
// blocks than one message allows; Send spreads it over several messages.
func Render(r bot.Reply) []slack.Block {
	var blocks []slack.Block
	for _, s := range splitEscaped(r.Text, maxSectionText) {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(s), nil, nil))
	}
	blocks = append(blocks, renderFields(r.Fields)...)
	for _, a := range r.Attachments {
		if len(a.Data) > 0 {
			continue
		}
		if b := linkBlock(a); b != nil {
			blocks = append(blocks, b)
		}
	}
	var buttons []slack.BlockElement
	for i, c := range r.Choices {
		id, value, ok := encodeChoice(i, c)
		if !ok {
			// A value that cannot come back intact would make the press do something else.
			continue
		}
		label := c.Label
		if strings.TrimSpace(label) == "" {
			label = c.Value
		}
		if strings.TrimSpace(label) == "" {
			label = "…"
		}
		buttons = append(buttons, slack.NewButtonBlockElement(id, value, plain(truncate(label, maxButtonText))))
	}
	for len(buttons) > 0 {
		n := min(len(buttons), maxElementsPerAction)
		blocks = append(blocks, slack.NewActionBlock("", buttons[:n]...))
		buttons = buttons[n:]
	}
	return blocks
}

// renderFields lays out label → value lines.
func renderFields(fields []bot.Field) []slack.Block {
	if len(fields) == 0 {
		return nil
	}
	texts := make([]string, 0, len(fields))
	compact := false
	for _, f := range fields {
		t := Escape(f.Value)
		if f.Label != "" {
			t = "*" + Escape(f.Label) + "*\n" + t
		}
		if strings.TrimSpace(t) == "" {
			t = " "
		}
		if units(t) > maxFieldText {
			compact = true
			break
		}
		texts = append(texts, t)
	}
	var blocks []slack.Block
	if !compact {
		for len(texts) > 0 {
			n := min(len(texts), maxFieldsPerSection)
			objs := make([]*slack.TextBlockObject, n)
			for i, t := range texts[:n] {
				objs[i] = mrkdwn(t)
			}
			blocks = append(blocks, slack.NewSectionBlock(nil, objs, nil))
			texts = texts[n:]
		}
		return blocks
	}
	// A compact list: one line per field, split like text.
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('\n')
		}
		if f.Label != "" {
			b.WriteString("*" + f.Label + "*: ")
		}
		b.WriteString(f.Value)
	}
	for _, s := range splitEscaped(b.String(), maxSectionText) {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(s), nil, nil))
	}
	return blocks
}

// linkBlock renders an attachment that only has a URL as a link, or nil when the URL is not http(s).
func linkBlock(a bot.Attachment) slack.Block {
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil
	}
	name := a.Name
	if name == "" {
		name = a.URL
	}
	link := Escape(strings.ReplaceAll(u.String(), "|", "%7C"))
	return slack.NewContextBlock("", mrkdwn(truncate("<"+link+"|"+Escape(name)+">", maxSectionText)))
}

// blockText estimates the text a block puts into a message, for maxMessageText.
func blockText(b slack.Block) int {
	switch b := b.(type) {
	case *slack.SectionBlock:
		n := 0
		if b.Text != nil {
			n += units(b.Text.Text)
		}
		for _, f := range b.Fields {
			n += units(f.Text)
		}
		return n
	case *slack.ActionBlock:
		n := 0
		if b.Elements != nil {
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					n += units(btn.Text.Text) + units(btn.Value)
				}
			}
		}
		return n
	case *slack.ContextBlock:
		n := 0
		for _, e := range b.ContextElements.Elements {
			if t, ok := e.(*slack.TextBlockObject); ok {
				n += units(t.Text)
			}
		}
		return n
	}
	return 0
}

// splitMessages spreads blocks over messages of at most 50 blocks and maxMessageText characters.
func splitMessages(blocks []slack.Block) [][]slack.Block {
	var out [][]slack.Block
	var cur []slack.Block
	n := 0
	for _, b := range blocks {
		w := blockText(b)
		if len(cur) > 0 && (len(cur) == maxBlocksPerMessage || n+w > maxMessageText) {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, b)
		n += w
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// fallbackText is the notification text of a message with blocks.
func fallbackText(r bot.Reply, part int) string {
	if part > 0 {
		return "（続き）"
	}
	t := strings.TrimSpace(r.Text)
	if t == "" && len(r.Fields) > 0 {
		t = r.Fields[0].Label + " " + r.Fields[0].Value
	}
	if strings.TrimSpace(t) == "" {
		return "Kakehashi"
	}
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = t[:i]
	}
	return Escape(truncate(t, 150))
}

// homeBlocks lays out the replies of the home action as an App Home view.
func homeBlocks(replies []bot.Reply) []slack.Block {
	var blocks []slack.Block
	for i, r := range replies {
		if i > 0 {
			blocks = append(blocks, slack.NewDividerBlock())
		}
		blocks = append(blocks, Render(r)...)
	}
	if len(blocks) > maxBlocksPerHome {
		blocks = append(blocks[:maxBlocksPerHome-1], slack.NewContextBlock("", mrkdwn("…（表示しきれない項目があります。DMで「メニュー」と送ってください）")))
	}
	return blocks
}

// Modal callback and element IDs. A form's input blocks use the field names as block IDs, so
// field errors map onto them directly.
const (
	formCallbackID = "kakehashi.form"
	formActionID   = "value"
)

// modalView builds the modal for a form.
func modalView(spec *handlers.FormSpec, name string, lang bot.Lang) (slack.ModalViewRequest, bool) {
	title := strings.TrimSpace(spec.Title)
	if title == "" {
		title = "Kakehashi"
	}
	submit, closeText, choose := "送信", "キャンセル", "選択してください"
	if lang == bot.LangEN {
		submit, closeText, choose = "Submit", "Cancel", "Choose"
	}
	if s := strings.TrimSpace(spec.Submit); s != "" {
		submit = s
	}
	var blocks []slack.Block
	seen := map[string]bool{}
	for _, f := range spec.Fields {
		if f.Name == "" || units(f.Name) > maxActionID || seen[f.Name] || len(blocks) == maxModalBlocks {
			continue
		}
		seen[f.Name] = true
		label := f.Label
		if strings.TrimSpace(label) == "" {
			label = f.Name
		}
		var hint *slack.TextBlockObject
		if strings.TrimSpace(f.Hint) != "" {
			hint = plain(truncate(f.Hint, maxInputLabel))
		}
		var elem slack.BlockElement
		if len(f.Options) > 0 {
			var opts []*slack.OptionBlockObject
			for _, o := range f.Options {
				if o.Value == "" || units(o.Value) > maxOptionValue || len(opts) == maxSelectOptions {
					continue // cannot be submitted intact
				}
				text := o.Label
				if strings.TrimSpace(text) == "" {
					text = o.Value
				}
				opts = append(opts, slack.NewOptionBlockObject(o.Value, plain(truncate(text, maxOptionText)), nil))
			}
			elem = slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(choose), formActionID, opts...)
		} else {
			in := slack.NewPlainTextInputBlockElement(nil, formActionID).WithMultiline(f.Multiline)
			if f.MaxLen > 0 {
				in = in.WithMaxLength(min(f.MaxLen, maxInputLength))
			}
			elem = in
		}
		blocks = append(blocks, slack.NewInputBlock(f.Name, plain(truncate(label, maxInputLabel)), hint, elem).WithOptional(f.Optional))
	}
	if len(blocks) == 0 || units(name) > maxMetadata {
		return slack.ModalViewRequest{}, false
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(truncate(title, maxModalTitle)),
		Submit:          plain(truncate(submit, maxModalTitle)),
		Close:           plain(truncate(closeText, maxModalTitle)),
		Blocks:          slack.Blocks{BlockSet: blocks},
		CallbackID:      formCallbackID,
		PrivateMetadata: name,
	}, true
}
