package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

// Request is one routed message with everything a handler needs to know about its sender.
type Request struct {
	Msg    *bot.Message
	Person *bot.Person // nil when the sender is not a member
	Tenant *bot.Tenant // nil when unknown
	Lang   bot.Lang
	// Command is the matched command's name and Args the rest of the text or the button's value.
	Command string
	Args    string
	// State is the active draft, nil when none.
	State *dialog.State
	Now   time.Time
}

// T returns the text in the request's language.
func (r *Request) T(ja, en string) string { return dialog.T(ja, en).In(r.Lang) }

// Response collects replies and the dialog state to keep.
type Response struct {
	Replies []bot.Reply
	// State is kept for the next message; nil clears the conversation.
	State *dialog.State
}

// Reply appends replies.
func (w *Response) Reply(r ...bot.Reply) { w.Replies = append(w.Replies, r...) }

// Text appends a plain text reply.
func (w *Response) Text(s string) { w.Replies = append(w.Replies, bot.Text(s)) }

// Handler answers one request.
type Handler interface {
	Serve(ctx context.Context, w *Response, r *Request) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, w *Response, r *Request) error

// Serve calls f.
func (f HandlerFunc) Serve(ctx context.Context, w *Response, r *Request) error { return f(ctx, w, r) }

// Middleware decorates a Handler.
type Middleware func(Handler) Handler

// Command describes what triggers a handler and who may use it.
type Command struct {
	// Name is the command's action name (buttons send it as Message.Action).
	Name string
	// Words trigger it when typed, alone or followed by arguments ("参加 ABCD-1234").
	Words []string
	// Roles may use it; empty means every member.
	Roles []bot.Role
	// Menu is its label in the menu; empty keeps it out of the menu.
	Menu dialog.Text
	// Public commands work for people who are not members yet (join, help).
	Public bool
}

// Flow is a multi-step form with what to do on 登録.
type Flow struct {
	// Form builds the form for this request (choices may depend on the tenant).
	Form func(ctx context.Context, r *Request) (*dialog.Form, error)
	// Submit saves the draft. It runs only after the summary was confirmed.
	Submit func(ctx context.Context, w *Response, r *Request, s *dialog.State) error
}

type route struct {
	cmd Command
	h   Handler
}

// Mux routes requests to handlers by button action, typed command or active flow.
type Mux struct {
	routes []route
	flows  map[string]*Flow
	mw     []Middleware
	// Fallback answers text that matches no command.
	Fallback Handler
	Logger   *slog.Logger
}

// NewMux returns an empty router.
func NewMux(logger *slog.Logger) *Mux {
	return &Mux{flows: map[string]*Flow{}, Logger: logger}
}

// Use adds middleware around every handler; the first added runs outermost.
func (m *Mux) Use(mw ...Middleware) { m.mw = append(m.mw, mw...) }

// Handle registers a command.
func (m *Mux) Handle(c Command, h Handler) {
	m.routes = append(m.routes, route{cmd: c, h: h})
}

// HandleFunc registers a command handled by f.
func (m *Mux) HandleFunc(c Command, f func(ctx context.Context, w *Response, r *Request) error) {
	m.Handle(c, HandlerFunc(f))
}

// HandleFlow registers a flow under name and a command that starts it.
func (m *Mux) HandleFlow(name string, c Command, fl *Flow) {
	m.flows[name] = fl
	m.Handle(c, HandlerFunc(func(ctx context.Context, w *Response, r *Request) error {
		return m.StartFlow(ctx, w, r, name, nil)
	}))
}

// FlowByName returns a registered flow.
func (m *Mux) FlowByName(name string) (*Flow, bool) {
	fl, ok := m.flows[name]
	return fl, ok
}

// StartFlow begins the named flow with optional prefilled slots or data.
func (m *Mux) StartFlow(ctx context.Context, w *Response, r *Request, name string, data map[string]string) error {
	fl, ok := m.flows[name]
	if !ok {
		return fmt.Errorf("handlers: unknown flow %q", name)
	}
	// The form may depend on the flow's data (e.g. the status being set).
	r.State = &dialog.State{Flow: name, Data: data, Slots: map[string]string{}}
	f, err := fl.Form(ctx, r)
	if err != nil {
		return err
	}
	draft := name + "-" + r.Msg.Conversation() + "-" + r.Now.Format("20060102150405.000000000")
	res := dialog.Start(f, draft, r.Now, r.Lang, nil)
	res.State.Data = data
	w.Reply(res.Replies...)
	w.State = res.State
	return nil
}

// Serve routes one request through the middleware.
func (m *Mux) Serve(ctx context.Context, w *Response, r *Request) error {
	h := Handler(HandlerFunc(m.route))
	for i := len(m.mw) - 1; i >= 0; i-- {
		h = m.mw[i](h)
	}
	return h.Serve(ctx, w, r)
}

func (m *Mux) route(ctx context.Context, w *Response, r *Request) error {
	rt, args := m.match(r)
	// An active draft receives everything except a button of another command, and
	// except the menu: a person who types メニュー mid-form wants the menu, and the draft
	// waits for them (their next answer, or やめる, continues it).
	if r.State != nil && (rt == nil || r.Msg.Action == "") {
		if fl, ok := m.flows[r.State.Flow]; ok && r.Person != nil {
			// ヘルプ stays with the form (it explains the current question).
			if t := dialog.Fold(r.Msg.Text); rt != nil && rt.cmd.Name == "menu" && (t == "メニュー" || t == "menu") {
				r.Command = rt.cmd.Name
				w.State = r.State
				if err := rt.h.Serve(ctx, w, r); err != nil {
					return err
				}
				w.Text(r.T("入力中の内容はそのまま残っています。続きは、いまの質問への回答を送ってください（中止は「やめる」）。",
					"Your draft is kept. To continue, answer the current question (or type \"cancel\")."))
				return nil
			}
			return m.step(ctx, w, r, fl)
		}
	}
	if rt == nil {
		w.State = r.State
		if m.Fallback != nil {
			return m.Fallback.Serve(ctx, w, r)
		}
		return nil
	}
	r.Command, r.Args = rt.cmd.Name, args
	w.State = r.State
	if !rt.cmd.Public && r.Person == nil {
		return m.Fallback.Serve(ctx, w, r)
	}
	if len(rt.cmd.Roles) > 0 && !r.Person.Can(rt.cmd.Roles...) {
		w.Text(r.T("この操作は担当者のみが利用できます（あなたの役割: "+RoleName(r.Person.Role, bot.LangJA)+"）。「メニュー」でできることを確認してください。",
			"Only authorised roles can do this (your role: "+RoleName(r.Person.Role, bot.LangEN)+"). Type \"menu\" to see what you can do."))
		return nil
	}
	return rt.h.Serve(ctx, w, r)
}

func (m *Mux) step(ctx context.Context, w *Response, r *Request, fl *Flow) error {
	f, err := fl.Form(ctx, r)
	if err != nil {
		return err
	}
	res := dialog.Step(f, r.State, dialog.Input{Text: r.Msg.Text, Action: r.Msg.Action, Value: r.Msg.Value}, r.Lang)
	w.Reply(res.Replies...)
	switch res.Outcome {
	case dialog.Cancelled:
		w.State = nil
	case dialog.Submitted:
		w.State = nil
		if err := fl.Submit(ctx, w, r, res.State); err != nil {
			// Keep the draft so nothing typed is lost; the person can press 登録 again.
			w.State = res.State
			return err
		}
	default:
		w.State = res.State
	}
	return nil
}

func (m *Mux) match(r *Request) (*route, string) {
	if a := r.Msg.Action; a != "" {
		for i := range m.routes {
			if m.routes[i].cmd.Name == a {
				return &m.routes[i], r.Msg.Value
			}
		}
		return nil, ""
	}
	text := dialog.Fold(r.Msg.Text)
	for i := range m.routes {
		for _, w := range m.routes[i].cmd.Words {
			fw := dialog.Fold(w)
			if text == fw {
				return &m.routes[i], ""
			}
			if strings.HasPrefix(text, fw+" ") {
				// Fold maps rune to rune, so the word is as many runes of the original text
				// (not bytes: "参加　ＤＥＭＯ－ＳＴＡＦＦ" is typed full-width on phones).
				orig := []rune(strings.TrimSpace(r.Msg.Text))
				return &m.routes[i], strings.TrimSpace(string(orig[min(utf8.RuneCountInString(fw), len(orig)):]))
			}
		}
	}
	return nil, ""
}

// Menu lists the commands the person may use, as choices.
func (m *Mux) Menu(r *Request) []bot.Choice {
	var out []bot.Choice
	for _, rt := range m.routes {
		if rt.cmd.Menu.JA == "" {
			continue
		}
		if r.Person == nil && !rt.cmd.Public {
			continue
		}
		if len(rt.cmd.Roles) > 0 && !r.Person.Can(rt.cmd.Roles...) {
			continue
		}
		out = append(out, bot.Choice{Label: rt.cmd.Menu.In(r.Lang), Action: rt.cmd.Name})
	}
	return out
}

// Recover turns a panic into an error so one bad message cannot stop the bot.
func Recover(logger *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, w *Response, r *Request) (err error) {
			defer func() {
				if p := recover(); p != nil {
					logger.Error("handler panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					err = fmt.Errorf("handlers: panic: %v", p)
				}
			}()
			return next.Serve(ctx, w, r)
		})
	}
}

// Log records each routed message without personal data: platform, tenant, command, duration, outcome.
func Log(logger *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, w *Response, r *Request) error {
			start := time.Now()
			err := next.Serve(ctx, w, r)
			attrs := []any{"platform", r.Msg.Platform, "command", r.Command, "replies", len(w.Replies), "ms", time.Since(start).Milliseconds()}
			if r.Tenant != nil {
				attrs = append(attrs, "tenant", r.Tenant.ID)
			}
			if r.State != nil {
				attrs = append(attrs, "flow", r.State.Flow)
			}
			if err != nil {
				logger.Warn("message failed", append(attrs, "code", bot.ErrorCode(err), "err", err)...)
			} else {
				logger.Debug("message handled", attrs...)
			}
			return err
		})
	}
}

// Timeout bounds the time one message may take.
func Timeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, w *Response, r *Request) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next.Serve(ctx, w, r)
		})
	}
}

// RequireRole wraps a handler so only the roles may use it (for handlers mounted outside a Command).
func RequireRole(roles ...bot.Role) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, w *Response, r *Request) error {
			if !r.Person.Can(roles...) {
				w.Text(r.T("この操作は担当者のみが利用できます。", "Only authorised roles can do this."))
				return nil
			}
			return next.Serve(ctx, w, r)
		})
	}
}

// RoleName is a role's display name.
func RoleName(role bot.Role, lang bot.Lang) string {
	names := map[bot.Role]dialog.Text{
		bot.RoleStaff:     dialog.T("職員", "staff"),
		bot.RoleDXLead:    dialog.T("DX推進担当", "DX lead"),
		bot.RoleAdviser:   dialog.T("アドバイザー", "adviser"),
		bot.RoleMayor:     dialog.T("首長", "mayor"),
		bot.RoleAdmin:     dialog.T("管理者", "admin"),
		bot.RoleCandidate: dialog.T("候補者", "candidate"),
	}
	if t, ok := names[role]; ok {
		return t.In(lang)
	}
	return string(role)
}
