package line

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// ReplyTokenTTL is how long after its event a reply token is still tried. LINE documents
// about a minute and has been seen to reject tokens after ~30 s; a refused token costs
// one request before the push, a token used too late can fail silently, so stay below.
const ReplyTokenTTL = 50 * time.Second

// Backoffs when LINE answers 429 without Retry-After (LINE does not document one).
const (
	rateLimitBackoff = 10 * time.Second
	// A 429 for the monthly message quota clears only when the plan or the month changes.
	quotaBackoff = time.Hour
)

// Send delivers the replies of d to d.Channel (a group or room ID) or else d.UserID.
//
// The reply token is used when it is fresh and all messages fit one request; a token LINE
// refuses as invalid falls back to push. Push requests carry an X-Line-Retry-Key derived
// from d.Key and the batch index, so the outbox may retry Send as often as it likes: LINE
// executes each batch once and answers a repeat with 409, which counts as delivered.
// Deliveries of more than 5 messages never use the reply token, because the reply API has
// no retry key: after a failure in a later batch, a retry could not tell whether the
// replied batch arrived and would push it a second time.
//
// Errors: *bot.RetryAfterError for 429; errors.Is(err, bot.ErrPermanent) for other 4xx;
// anything else (5xx, network) is worth retrying as is.
func (a *Adapter) Send(ctx context.Context, d bot.Delivery) error {
	to := d.Channel
	if to == "" {
		to = d.UserID
	}
	if to == "" {
		return fmt.Errorf("line: send: delivery %q has no recipient: %w", d.Key, bot.ErrPermanent)
	}
	var msgs []messaging_api.MessageInterface
	for _, r := range d.Replies {
		msgs = append(msgs, Render(r)...)
	}
	if len(msgs) == 0 {
		return nil
	}
	var batches [][]messaging_api.MessageInterface
	for start := 0; start < len(msgs); start += MaxMessagesPerAPI {
		batches = append(batches, msgs[start:min(start+MaxMessagesPerAPI, len(msgs))])
	}

	// A client per call: the SDK's WithContext stores the context in the shared client,
	// which would race between concurrent Sends.
	api, err := messaging_api.NewMessagingApiAPI(a.cfg.ChannelToken,
		messaging_api.WithHTTPClient(a.http), messaging_api.WithEndpoint(a.cfg.APIURL))
	if err != nil {
		return fmt.Errorf("line: send: %w", err)
	}
	api.WithContext(ctx)

	if d.ReplyToken != "" && len(batches) == 1 && a.fresh(d.ReplyTokenAt) {
		res, _, err := api.ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{
			ReplyToken: d.ReplyToken,
			Messages:   batches[0],
		})
		status, apiMsg := outcome(res, err)
		switch {
		case status/100 == 2:
			return nil
		case status == http.StatusBadRequest && strings.Contains(strings.ToLower(apiMsg), "reply token"):
			a.log.Debug("line: reply token refused; pushing instead", "key", d.Key)
		default:
			return a.classify("reply", status, apiMsg, res, err)
		}
	}

	for i, batch := range batches {
		key := retryKey(d.Key, i)
		res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: to, Messages: batch}, key)
		status, apiMsg := outcome(res, err)
		switch {
		case status/100 == 2:
		case status == http.StatusConflict:
			// The retry key was executed before: this batch was delivered by an earlier attempt.
			a.log.Debug("line: push already accepted", "key", d.Key, "batch", i)
		default:
			return a.classify(fmt.Sprintf("push batch %d/%d", i+1, len(batches)), status, apiMsg, res, err)
		}
	}
	return nil
}

func (a *Adapter) fresh(issued time.Time) bool {
	return !issued.IsZero() && a.clock.Now().Sub(issued) < ReplyTokenTTL
}

// outcome reads the status and LINE's error message. It does not use the SDK's error text,
// which quotes the whole response body; LINE's {"message"} is enough and is bounded.
// A 2xx whose body the SDK could not decode still counts as sent.
func outcome(res *http.Response, err error) (status int, apiMsg string) {
	if res == nil {
		return 0, ""
	}
	if res.StatusCode/100 == 2 || err == nil || res.Body == nil {
		return res.StatusCode, ""
	}
	defer res.Body.Close()
	var e messaging_api.ErrorResponse
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if json.Unmarshal(b, &e) == nil {
		apiMsg = truncateUTF16(oneLine(e.Message), 200)
	}
	return res.StatusCode, apiMsg
}

// classify maps a failed call to the bot.Sender error contract.
func (a *Adapter) classify(op string, status int, apiMsg string, res *http.Response, err error) error {
	if status == 0 {
		if err == nil {
			err = errors.New("no response")
		}
		return fmt.Errorf("line: %s: %w", op, err)
	}
	cause := fmt.Errorf("line: %s: status %d: %s", op, status, apiMsg)
	switch {
	case status == http.StatusTooManyRequests:
		return &bot.RetryAfterError{After: retryAfter(res, apiMsg, a.clock.Now()), Err: cause}
	case status/100 == 4:
		return fmt.Errorf("%w: %w", cause, bot.ErrPermanent)
	default:
		return cause
	}
}

// retryAfter honours Retry-After (seconds or an HTTP date) and otherwise picks a backoff
// by the kind of 429: a rate limit passes within seconds, a monthly quota does not.
func retryAfter(res *http.Response, apiMsg string, now time.Time) time.Duration {
	if h := strings.TrimSpace(res.Header.Get("Retry-After")); h != "" {
		if s, err := strconv.Atoi(h); err == nil && s >= 0 {
			return max(time.Duration(s)*time.Second, time.Second)
		}
		if t, err := http.ParseTime(h); err == nil {
			return max(t.Sub(now), time.Second)
		}
	}
	if strings.Contains(strings.ToLower(apiMsg), "monthly limit") {
		return quotaBackoff
	}
	return rateLimitBackoff
}

// retryNamespace is the RFC 4122 URL namespace; names below are URNs of this project.
var retryNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// retryKey derives the X-Line-Retry-Key of one push batch: a name-based (version 5, SHA-1)
// UUID of the delivery key and batch index, so every retry of the same delivery sends the
// same keys while two batches never share one. Without a delivery key there is nothing
// stable to derive from; a random key still gives LINE a well-formed header.
func retryKey(deliveryKey string, batch int) string {
	var u [16]byte
	if deliveryKey == "" {
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40 // version 4
	} else {
		h := sha1.New()
		h.Write(retryNamespace[:])
		h.Write([]byte("urn:kakehashi:line-retry:" + deliveryKey + "#" + strconv.Itoa(batch)))
		copy(u[:], h.Sum(nil))
		u[6] = u[6]&0x0f | 0x50 // version 5
	}
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
