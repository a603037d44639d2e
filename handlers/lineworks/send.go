package lineworks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/kakehashi/kakehashi/bot"
)

// Send delivers d through the Bot API: to the room d.Channel when set, else to the
// user d.UserID. Each reply is rendered as Render describes (quick replies only on the
// last reply, where they stay visible) and the contents are posted one by one.
//
// LINE WORKS has no idempotency key, so a retried delivery could repeat messages that
// already went out. Send remembers, per d.Key and in this process, how many contents
// were accepted and resumes after them; a retry on another replica can still repeat.
//
// Errors: *bot.RetryAfterError on 429 (Retry-After, else a growing backoff per tenant);
// errors wrapping bot.ErrPermanent for other 4xx and for a delivery without recipient;
// plain errors (retry) for 5xx, network trouble and auth-server failures. A 401 makes
// Send fetch a new token and try once more.
func (a *Adapter) Send(ctx context.Context, d bot.Delivery) error {
	var target string
	switch {
	case d.Channel != "":
		target = "/bots/" + url.PathEscape(a.cfg.BotID) + "/channels/" + url.PathEscape(d.Channel) + "/messages"
	case d.UserID != "":
		target = "/bots/" + url.PathEscape(a.cfg.BotID) + "/users/" + url.PathEscape(d.UserID) + "/messages"
	default:
		return fmt.Errorf("lineworks: send: delivery has neither user nor channel: %w", bot.ErrPermanent)
	}
	var items []item
	for i, r := range d.Replies {
		items = append(items, renderReply(r, i == len(d.Replies)-1)...)
	}
	start := a.progress.get(d.Key)
	if start >= len(items) {
		return nil
	}
	// Uploads first: an upload failing must not leave the person with half a delivery.
	contents := make([]Content, len(items))
	for i := start; i < len(items); i++ {
		c, err := a.resolve(ctx, d.Tenant, items[i])
		if err != nil {
			return retryAware(err, "lineworks: send: upload attachment")
		}
		contents[i] = c
	}
	for i := start; i < len(items); i++ {
		body, err := json.Marshal(struct {
			Content Content `json:"content"`
		}{contents[i]})
		if err != nil {
			return fmt.Errorf("lineworks: send: encode content: %w", err)
		}
		if err := a.call(ctx, d.Tenant, http.MethodPost, a.cfg.APIURL+target, body, "application/json", nil); err != nil {
			return retryAware(err, fmt.Sprintf("lineworks: send message %d of %d", i+1, len(items)))
		}
		a.progress.set(d.Key, i+1)
	}
	return nil
}

// retryAware adds context to err but keeps a *bot.RetryAfterError on top, since the
// outbox may look for it without unwrapping.
func retryAware(err error, op string) error {
	var ra *bot.RetryAfterError
	if errors.As(err, &ra) {
		return &bot.RetryAfterError{After: ra.After, Err: fmt.Errorf("%s: %w", op, ra.Err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// resolve uploads an item's attachment data, when it has some, and returns the content
// to send. A permanent upload failure (no scope, file type blocked) falls back to the
// URL or a text line rather than failing the whole delivery.
func (a *Adapter) resolve(ctx context.Context, tenant bot.TenantID, it item) (Content, error) {
	if it.att == nil || len(it.att.Data) == 0 {
		return it.content, nil
	}
	fileID, err := a.upload(ctx, tenant, *it.att)
	if errors.Is(err, bot.ErrPermanent) {
		a.log.Warn("lineworks: attachment upload refused; sending a link instead", "tenant", tenant, "err", err)
		return it.content, nil
	}
	if err != nil {
		return Content{}, err
	}
	c := Content{Type: "file", FileID: fileID, QuickReply: it.content.QuickReply}
	if isImage(*it.att) {
		c.Type = "image"
	}
	return c, nil
}

// upload stores data through the documented two steps: POST /bots/{botId}/attachments
// {"fileName"} answers {fileId, uploadUrl}; the file then goes to uploadUrl as
// multipart/form-data field "Filedata", with the same bearer token.
func (a *Adapter) upload(ctx context.Context, tenant bot.TenantID, att bot.Attachment) (string, error) {
	name := attachmentName(att)
	reqBody, err := json.Marshal(map[string]string{"fileName": name})
	if err != nil {
		return "", err
	}
	var created struct {
		FileID    string `json:"fileId"`
		UploadURL string `json:"uploadUrl"`
	}
	if err := a.call(ctx, tenant, http.MethodPost, a.cfg.APIURL+"/bots/"+url.PathEscape(a.cfg.BotID)+"/attachments",
		reqBody, "application/json", &created); err != nil {
		return "", fmt.Errorf("create upload URL: %w", err)
	}
	if u, err := url.Parse(created.UploadURL); created.FileID == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("create upload URL: malformed answer")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="Filedata"; filename="`+quoteEscaper.Replace(name)+`"`)
	ct := att.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	pw, err := mw.CreatePart(h)
	if err != nil {
		return "", err
	}
	if _, err := pw.Write(att.Data); err != nil {
		return "", err
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	if err := a.call(ctx, tenant, http.MethodPost, created.UploadURL, buf.Bytes(), mw.FormDataContentType(), nil); err != nil {
		return "", fmt.Errorf("upload file: %w", err)
	}
	return created.FileID, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

// call performs one authenticated request under the tenant's rate limit, decoding a
// JSON answer into out when out is not nil. A 401 gets one retry with a fresh token.
func (a *Adapter) call(ctx context.Context, tenant bot.TenantID, method, target string, body []byte, contentType string, out any) error {
	for attempt := 0; ; attempt++ {
		if err := a.limiter.wait(ctx, tenant); err != nil {
			return err
		}
		tok, err := a.tokens.Token(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
		if err != nil {
			return errors.New("bad request URL")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", contentType)
		resp, err := a.client.Do(req)
		if err != nil {
			return stripURL(err)
		}
		respBody, readErr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch code := resp.StatusCode; {
		case code >= 200 && code < 300:
			if readErr != nil {
				return fmt.Errorf("read answer: %w", readErr)
			}
			a.limiter.succeeded(tenant)
			if out != nil {
				if err := json.Unmarshal(respBody, out); err != nil {
					return errors.New("malformed JSON answer")
				}
			}
			return nil
		case code == http.StatusUnauthorized && attempt == 0:
			// The token expired early or was revoked: drop it and try once more.
			a.tokens.invalidate(tok)
			continue
		case code == http.StatusTooManyRequests:
			after := a.limiter.throttled(tenant, resp.Header)
			return &bot.RetryAfterError{After: after, Err: fmt.Errorf("HTTP 429%s", errorCode(respBody))}
		case code >= 500, code == http.StatusRequestTimeout, code == http.StatusUnauthorized:
			// A second 401 means broken credentials or scope: the operator must act, and
			// the outbox should keep the message until then, so it is not permanent.
			return fmt.Errorf("HTTP %d%s", code, errorCode(respBody))
		default:
			return fmt.Errorf("HTTP %d%s: %w", code, errorCode(respBody), bot.ErrPermanent)
		}
	}
}
