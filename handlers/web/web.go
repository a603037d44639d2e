// Package web is the built-in web chat: a page at / (embedded, works offline, mobile
// friendly) and the JSON API of SPEC §8 that the page and tests use. Sessions come from
// invite codes and live in Redis behind an HttpOnly, SameSite=Strict cookie.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

//go:embed static
var static embed.FS

// CookieName is the session cookie.
const CookieName = "kakehashi_session"

const maxBody = 64 << 10

// Channel serves the web chat and implements bot.Sender for pushes to web inboxes.
type Channel struct {
	Engine  handlers.Engine
	Members bot.MembershipService
	Store   *store.Web
	Logger  *slog.Logger
	// Secure marks the cookie Secure (set when served over HTTPS).
	Secure bool
	// Spool, when set, keeps messages that arrive while Redis cannot be reached: the
	// person is told we are busy (202) and the answer comes to the inbox after Replay.
	Spool *store.Spool
}

// SpoolKind is the spool record kind of a web message.
const SpoolKind = "web"

// spooledMessage is a message kept while Redis was down. The session is looked up in
// Redis, so the cookie's tenant and token are kept and resolved on replay.
type spooledMessage struct {
	Tenant bot.TenantID `json:"tenant"`
	Token  string       `json:"token"`
	Req    messageReq   `json:"req"`
	Locale string       `json:"locale,omitempty"`
}

var _ bot.Sender = (*Channel)(nil)

// Register mounts the page and the API.
func (c *Channel) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", c.page)
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("POST /web/api/session", c.session)
	mux.HandleFunc("POST /web/api/messages", c.messages)
	mux.HandleFunc("GET /web/api/inbox", c.inbox)
	mux.HandleFunc("GET /web/api/attachments/{id}", c.attachment)
}

func (c *Channel) page(w http.ResponseWriter, r *http.Request) {
	b, err := static.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeErr(w, http.StatusRequestEntityTooLarge, "送信内容が大きすぎます。短くしてもう一度お試しください。")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeErr(w, http.StatusBadRequest, "リクエストの形式が正しくありません（JSON）。")
		return false
	}
	return true
}

type sessionReq struct {
	InviteCode  string `json:"invite_code"`
	DisplayName string `json:"display_name"`
}

type sessionResp struct {
	UserID string       `json:"user_id"`
	Tenant bot.TenantID `json:"tenant"`
	Role   bot.Role     `json:"role"`
}

func (c *Channel) session(w http.ResponseWriter, r *http.Request) {
	var req sessionReq
	if !decode(w, r, &req) {
		return
	}
	name := strings.TrimSpace(req.DisplayName)
	if utf8.RuneCountInString(name) > 40 {
		writeErr(w, http.StatusBadRequest, "表示名は40文字以内で入力してください。")
		return
	}
	if strings.TrimSpace(req.InviteCode) == "" {
		writeErr(w, http.StatusForbidden, "招待コードを入力してください。担当者から届いたコードです。")
		return
	}
	uid := "w" + store.NewToken()[:16]
	p, err := c.Members.Join(r.Context(), req.InviteCode, bot.Identity{Platform: bot.PlatformWeb, UserID: uid}, name)
	if err != nil {
		switch bot.ErrorCode(err) {
		case bot.ENOTFOUND, bot.EINVALID:
			writeErr(w, http.StatusForbidden, bot.ErrorMessage(err))
		case bot.EUNAVAILABLE:
			writeErr(w, http.StatusServiceUnavailable, handlers.MsgBusy.JA)
		default:
			c.Logger.Error("web join failed", "err", err)
			writeErr(w, http.StatusInternalServerError, "参加の処理に失敗しました。少し後でもう一度お試しください。")
		}
		return
	}
	token := store.NewToken()
	if err := c.Store.CreateSession(r.Context(), token, store.Session{Tenant: p.Tenant, Person: p.ID, UserID: uid}); err != nil {
		writeErr(w, http.StatusServiceUnavailable, handlers.MsgBusy.JA)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: string(p.Tenant) + "." + token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.Secure, MaxAge: int(c.Store.SessionTTL.Seconds())})
	writeJSON(w, http.StatusOK, sessionResp{UserID: uid, Tenant: p.Tenant, Role: p.Role})
}

func (c *Channel) auth(w http.ResponseWriter, r *http.Request) (*store.Session, bool) {
	s, _, _, err := c.lookup(r)
	if err == nil {
		return s, true
	}
	if bot.ErrorCode(err) == bot.EUNAVAILABLE {
		writeErr(w, http.StatusServiceUnavailable, handlers.MsgBusy.JA)
		return nil, false
	}
	writeErr(w, http.StatusUnauthorized, msgNoSession)
	return nil, false
}

const msgNoSession = "参加していません。招待コードで参加してください。"

// lookup resolves the session cookie. It returns the cookie's tenant and token too, and
// an error with EUNAVAILABLE when Redis cannot be reached (any other error: no session).
func (c *Channel) lookup(r *http.Request) (*store.Session, bot.TenantID, string, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return nil, "", "", ErrNoSession
	}
	t, tok, ok := strings.Cut(ck.Value, ".")
	if !ok || t == "" || tok == "" {
		return nil, "", "", ErrNoSession
	}
	s, err := c.Store.Session(r.Context(), bot.TenantID(t), tok)
	return s, bot.TenantID(t), tok, err
}

type messageReq struct {
	Text   string `json:"text"`
	Action string `json:"action"`
	Value  string `json:"value"`
	// ID optionally identifies the message so a resent request is not processed twice.
	ID string `json:"id"`
}

type messagesResp struct {
	Replies []bot.Reply `json:"replies"`
}

func (c *Channel) messages(w http.ResponseWriter, r *http.Request) {
	s, tenant, token, lerr := c.lookup(r)
	down := lerr != nil && bot.ErrorCode(lerr) == bot.EUNAVAILABLE
	if lerr != nil && (!down || c.Spool == nil) {
		if down {
			writeErr(w, http.StatusServiceUnavailable, handlers.MsgBusy.JA)
		} else {
			writeErr(w, http.StatusUnauthorized, msgNoSession)
		}
		return
	}
	var req messageReq
	if !decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Text) == "" && req.Action == "" {
		writeErr(w, http.StatusBadRequest, "メッセージが空です。文字を入力するか、ボタンを押してください。")
		return
	}
	if utf8.RuneCountInString(req.Text) > 5000 {
		writeErr(w, http.StatusRequestEntityTooLarge, "メッセージは5,000文字以内でお願いします。")
		return
	}
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		req.ID = h
	}
	sm := spooledMessage{Tenant: tenant, Token: token, Req: req, Locale: r.Header.Get("Accept-Language")}
	if down || (c.Spool != nil && !c.spoolDrained(r.Context())) {
		// Redis is down, or messages spooled earlier are still waiting: keep this one
		// behind them, so the conversation stays in order.
		c.spool(w, sm)
		return
	}
	m := c.message(s, sm)
	replies, err := c.Engine.Handle(r.Context(), m)
	if err != nil && bot.ErrorCode(err) == bot.EUNAVAILABLE {
		if c.Spool != nil {
			c.spool(w, sm)
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, messagesResp{Replies: replies})
		return
	}
	if replies == nil {
		replies = []bot.Reply{}
	}
	if err := c.storeAttachments(r.Context(), s.Tenant, s.Person, replies); err != nil {
		writeErr(w, http.StatusServiceUnavailable, handlers.MsgBusy.JA)
		return
	}
	writeJSON(w, http.StatusOK, messagesResp{Replies: replies})
}

func (c *Channel) storeAttachments(ctx context.Context, t bot.TenantID, p bot.PersonID, replies []bot.Reply) error {
	for i := range replies {
		for j := range replies[i].Attachments {
			a := &replies[i].Attachments[j]
			if len(a.Data) == 0 {
				continue
			}
			id, err := c.Store.PutAttachment(ctx, t, p, *a)
			if err != nil {
				return err
			}
			a.URL = "/web/api/attachments/" + id
		}
	}
	return nil
}

type inboxResp struct {
	Messages []store.InboxItem `json:"messages"`
}

func (c *Channel) inbox(w http.ResponseWriter, r *http.Request) {
	s, ok := c.auth(w, r)
	if !ok {
		return
	}
	items, err := c.Store.Inbox(r.Context(), s.Tenant, s.Person, store.ParseInboxAfter(r.URL.Query().Get("after")))
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, handlers.MsgBusy.JA)
		return
	}
	writeJSON(w, http.StatusOK, inboxResp{Messages: items})
}

func (c *Channel) attachment(w http.ResponseWriter, r *http.Request) {
	s, ok := c.auth(w, r)
	if !ok {
		return
	}
	a, err := c.Store.Attachment(r.Context(), s.Tenant, s.Person, r.PathValue("id"))
	if err != nil {
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			writeErr(w, http.StatusNotFound, "ファイルが見つかりません。")
			return
		}
		writeErr(w, http.StatusServiceUnavailable, handlers.MsgBusy.JA)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeName(a.Name)+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(a.Data)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, s)
}

// Send implements bot.Sender: it delivers to the person's inbox exactly once per d.Key.
// For the web channel d.UserID is the PersonID.
func (c *Channel) Send(ctx context.Context, d bot.Delivery) error {
	p := bot.PersonID(d.UserID)
	for i, r := range d.Replies {
		rs := []bot.Reply{r}
		if err := c.storeAttachments(ctx, d.Tenant, p, rs); err != nil {
			return err
		}
		key := d.Key
		if len(d.Replies) > 1 {
			key = d.Key + "#" + string(rune('a'+i))
		}
		if _, _, err := c.Store.AppendInbox(ctx, d.Tenant, p, rs[0], key); err != nil {
			return err
		}
	}
	return nil
}

// message builds the inbound message of a (possibly spooled) request.
func (c *Channel) message(s *store.Session, sm spooledMessage) *bot.Message {
	evt := sm.Req.ID
	if evt != "" {
		evt = "web:" + s.UserID + ":" + evt
	}
	return &bot.Message{EventID: evt, Platform: bot.PlatformWeb, Tenant: s.Tenant, UserID: s.UserID,
		Text: sm.Req.Text, Action: sm.Req.Action, Value: sm.Req.Value, Locale: sm.Locale}
}

// spool keeps a message for Replay and tells the person we are busy. 202: the message is
// safe, so the browser must not send it again; the answer arrives in the inbox.
func (c *Channel) spool(w http.ResponseWriter, sm spooledMessage) {
	if _, err := c.Spool.Append(SpoolKind, sm); err != nil {
		c.Logger.Error("web message could not be spooled", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, messagesResp{Replies: []bot.Reply{bot.Text(handlers.MsgBusy.JA)}})
		return
	}
	c.Logger.Warn("redis unreachable: web message spooled", "tenant", sm.Tenant)
	lang := bot.LangJA
	if strings.HasPrefix(sm.Locale, "en") {
		lang = bot.LangEN
	}
	writeJSON(w, http.StatusAccepted, messagesResp{Replies: []bot.Reply{bot.Text(handlers.MsgBusy.In(lang))}})
}

// spoolDrained waits a little for spooled messages to be replayed and reports whether
// none are left.
func (c *Channel) spoolDrained(ctx context.Context) bool {
	deadline := time.Now().Add(3 * time.Second)
	for c.Spool.Pending() > 0 {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Replay processes a spooled web message (kind SpoolKind) now that Redis is back; its
// answer goes to the person's inbox, once. It returns an error (try again later) while
// Redis is unreachable; a message whose session expired meanwhile is dropped.
func (c *Channel) Replay(ctx context.Context, rec store.SpoolRecord) error {
	var sm spooledMessage
	if err := json.Unmarshal(rec.Data, &sm); err != nil {
		c.Logger.Error("spooled web message unreadable; dropped", "id", rec.ID)
		return nil
	}
	s, err := c.Store.Session(ctx, sm.Tenant, sm.Token)
	if err != nil {
		if bot.ErrorCode(err) == bot.EUNAVAILABLE {
			return err
		}
		c.Logger.Warn("spooled web message of an expired session dropped", "tenant", sm.Tenant, "id", rec.ID)
		return nil
	}
	if sm.Req.ID == "" {
		sm.Req.ID = "spool:" + rec.ID // a replay after a crash is a duplicate, not a new message
	}
	replies, err := c.Engine.Handle(ctx, c.message(s, sm))
	if err != nil && bot.ErrorCode(err) == bot.EUNAVAILABLE {
		return err
	}
	if len(replies) == 0 {
		return nil
	}
	d := bot.Delivery{Tenant: s.Tenant, UserID: string(s.Person), Replies: replies, Key: "spool:" + rec.ID}
	// The message is processed now and a replay would be a silent duplicate: keep trying
	// to deliver its answer for a while rather than lose it.
	for wait := 100 * time.Millisecond; ; wait = min(wait*2, 5*time.Second) {
		if err = c.Send(ctx, d); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// ErrNoSession is returned for requests without a valid session.
var ErrNoSession = errors.New("web: no session")
