package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bot"
)

// defaultRetryAfter is used when Slack answers 429 without a Retry-After header (the
// workspace-wide message limit does that).
const defaultRetryAfter = 30 * time.Second

// permanentErrors are Web API error codes that no retry can fix for this delivery.
var permanentErrors = map[string]bool{
	"channel_not_found":     true,
	"not_in_channel":        true,
	"is_archived":           true,
	"channel_is_archived":   true,
	"user_not_found":        true,
	"user_not_visible":      true,
	"user_disabled":         true,
	"cannot_dm_bot":         true,
	"messages_tab_disabled": true,
	"restricted_action":     true,
	"invalid_blocks":        true,
	"invalid_blocks_format": true,
	"msg_too_long":          true,
	"no_text":               true,
	"too_many_attachments":  true,
	"invalid_arguments":     true,
	"file_upload_disabled":  true,
}

// Send implements bot.Sender: it posts each reply of d as Block Kit messages (split to stay
// within Slack's limits) to d.Channel or, when that is empty, to the DM with d.UserID, and
// uploads attachments that carry Data into the same channel. Messages to one channel are
// spaced by Config.PostInterval. A 429 returns *bot.RetryAfterError with Slack's Retry-After;
// errors such as channel_not_found wrap bot.ErrPermanent. When d.Key is set, parts already
// posted by an earlier attempt of the same delivery are skipped.
func (a *Adapter) Send(ctx context.Context, d bot.Delivery) error {
	if len(d.Replies) == 0 {
		return nil
	}
	channel := d.Channel
	if channel == "" {
		var err error
		if channel, err = a.dm(ctx, d.UserID); err != nil {
			return err
		}
	}
	for i, r := range d.Replies {
		for j, blocks := range splitMessages(Render(r)) {
			part := "m" + strconv.Itoa(i) + "." + strconv.Itoa(j)
			if err := a.once(ctx, d.Key, part, channel, func() error {
				_, _, err := a.api.PostMessageContext(ctx, channel,
					slack.MsgOptionText(fallbackText(r, j), false),
					slack.MsgOptionBlocks(blocks...),
					slack.MsgOptionDisableLinkUnfurl(),
					slack.MsgOptionDisableMediaUnfurl(),
				)
				return classify("chat.postMessage", err)
			}); err != nil {
				return a.noteRateLimit(channel, err)
			}
		}
		for k, att := range r.Attachments {
			if len(att.Data) == 0 {
				continue
			}
			part := "f" + strconv.Itoa(i) + "." + strconv.Itoa(k)
			if err := a.once(ctx, d.Key, part, channel, func() error {
				return a.upload(ctx, channel, att)
			}); err != nil {
				return a.noteRateLimit(channel, err)
			}
		}
	}
	return nil
}

// once runs post for one part of a delivery unless an earlier attempt already did, waiting
// for the channel's rate limit first.
func (a *Adapter) once(ctx context.Context, key, part, channel string, post func() error) error {
	k := key + "\x00" + part
	if key != "" && a.done.has(k, time.Now()) {
		return nil
	}
	if err := a.limit.wait(ctx, channel); err != nil {
		return fmt.Errorf("slack: waiting for the rate limit: %w", err)
	}
	if err := post(); err != nil {
		return err
	}
	if key != "" {
		a.done.add(k, time.Now())
	}
	return nil
}

func (a *Adapter) noteRateLimit(channel string, err error) error {
	var ra *bot.RetryAfterError
	if errors.As(err, &ra) {
		a.limit.hold(channel, ra.After)
	}
	return err
}

// upload sends a file with the external upload flow (files.getUploadURLExternal, the upload
// itself, files.completeUploadExternal), shared into channel.
func (a *Adapter) upload(ctx context.Context, channel string, att bot.Attachment) error {
	name := path.Base(strings.ReplaceAll(att.Name, "\\", "/"))
	if name == "" || name == "." || name == "/" {
		name = "attachment"
	}
	_, err := a.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader:   bytes.NewReader(att.Data),
		FileSize: len(att.Data),
		Filename: name,
		Title:    name,
		AltTxt:   att.Alt,
		Channel:  channel,
	})
	return classify("files upload", err)
}

// dm returns the DM channel with a user, opening it with conversations.open once.
func (a *Adapter) dm(ctx context.Context, userID string) (string, error) {
	if userID == "" {
		return "", fmt.Errorf("slack: delivery has neither channel nor user: %w", bot.ErrPermanent)
	}
	if ch, ok := a.dms.get(userID); ok {
		return ch, nil
	}
	c, _, _, err := a.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}})
	if err != nil {
		return "", classify("conversations.open", err)
	}
	if c == nil || c.ID == "" {
		return "", errors.New("slack: conversations.open returned no channel")
	}
	a.dms.put(userID, c.ID)
	return c.ID, nil
}

// classify maps a slack-go error to the bot.Sender error contract.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("slack: %s: %w", op, err)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &bot.RetryAfterError{After: max(rl.RetryAfter, time.Second), Err: wrapped}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return &bot.RetryAfterError{After: defaultRetryAfter, Err: wrapped}
		case sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusRequestTimeout:
			return fmt.Errorf("slack: %s: %w: %w", op, bot.ErrPermanent, err)
		}
		return wrapped
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch {
		case se.Err == "ratelimited" || se.Err == "rate_limited" || se.Err == "message_limit_exceeded":
			return &bot.RetryAfterError{After: defaultRetryAfter, Err: wrapped}
		case permanentErrors[se.Err]:
			return fmt.Errorf("slack: %s: %w: %w", op, bot.ErrPermanent, err)
		}
	}
	return wrapped
}
