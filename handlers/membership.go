package handlers

import (
	"context"
	"strings"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

// Membership answers joining, the menu, help and language switching.
type Membership struct {
	Members bot.MembershipService
	Mux     *Mux
}

// Register mounts the membership commands on mux and makes it the fallback for unknown text.
func (h *Membership) Register(mux *Mux) {
	h.Mux = mux
	mux.HandleFunc(Command{Name: "join", Words: []string{"参加", "join"}, Public: true}, h.join)
	mux.HandleFunc(Command{Name: "menu", Words: []string{"メニュー", "ヘルプ", "help", "menu", "?", "？"}, Public: true}, h.menu)
	mux.HandleFunc(Command{Name: "lang", Words: []string{"lang", "言語"}}, h.lang)
	mux.HandleFunc(Command{Name: "whoami", Words: []string{"登録状況", "whoami"}, Menu: dialog.T("自分の登録状況", "About me")}, h.whoami)
	mux.HandleFunc(Command{Name: "follow", Public: true}, h.welcome)
	mux.Fallback = HandlerFunc(h.fallback)
}

func (h *Membership) welcomeText(r *Request) string {
	return r.T("こんにちは。架け橋（Kakehashi）は、自治体のDX相談と外部人材をつなぐボットです。\nご利用には担当者から届いた招待コードが必要です。「参加 コード」と送ってください（例: 参加 ABCD-1234）。",
		"Hello. Kakehashi connects municipal DX needs with outside talent.\nYou need an invite code from your municipality. Send \"join CODE\" (e.g. join ABCD-1234).")
}

func (h *Membership) welcome(_ context.Context, w *Response, r *Request) error {
	if r.Person != nil {
		w.Reply(bot.Reply{Text: r.T("おかえりなさい。「メニュー」でできることを表示します。", "Welcome back. Type \"menu\" to see what you can do."),
			Choices: []bot.Choice{{Label: r.T("メニュー", "Menu"), Action: "menu"}}})
		return nil
	}
	w.Text(h.welcomeText(r))
	return nil
}

func (h *Membership) join(ctx context.Context, w *Response, r *Request) error {
	code := strings.TrimSpace(r.Args)
	if code == "" {
		w.Text(r.T("招待コードを続けて送ってください（例: 参加 ABCD-1234）。", "Please add the invite code (e.g. join ABCD-1234)."))
		return nil
	}
	p, err := h.Members.Join(ctx, code, bot.Identity{Platform: r.Msg.Platform, UserID: r.Msg.UserID}, r.Msg.DisplayName)
	if err != nil {
		if msg := bot.ErrorMessage(err); msg != "" && bot.ErrorCode(err) != bot.EUNAVAILABLE {
			w.Text(msg)
			return nil
		}
		return err
	}
	r.Person = p
	if r.Tenant == nil || r.Tenant.ID != p.Tenant {
		if t, err := h.Members.Tenant(ctx, p.Tenant); err == nil {
			r.Tenant = t
		}
	}
	name := string(p.Tenant)
	if r.Tenant != nil {
		name = r.Tenant.Name
	}
	w.Reply(bot.Reply{
		Text: r.T(name+"に「"+RoleName(p.Role, bot.LangJA)+"」として参加しました。ようこそ。下のメニューからお選びください。",
			"You joined "+name+" as "+RoleName(p.Role, bot.LangEN)+". Welcome. Please choose from the menu below."),
		Choices: h.Mux.Menu(r),
	})
	return nil
}

func (h *Membership) menu(_ context.Context, w *Response, r *Request) error {
	if r.Person == nil {
		w.Text(h.welcomeText(r))
		return nil
	}
	name := ""
	if r.Tenant != nil {
		name = r.Tenant.Name + " / "
	}
	w.Reply(bot.Reply{
		Text: r.T("メニュー（"+name+RoleName(r.Person.Role, bot.LangJA)+"）: できることを選んでください。言葉で送っても大丈夫です。English: \"lang en\"",
			"Menu ("+name+RoleName(r.Person.Role, bot.LangEN)+"): choose what to do, or type it. 日本語: \"lang ja\""),
		Choices: h.Mux.Menu(r),
	})
	return nil
}

func (h *Membership) lang(ctx context.Context, w *Response, r *Request) error {
	switch strings.ToLower(strings.TrimSpace(r.Args)) {
	case "en", "english", "英語":
		r.Person.Lang = bot.LangEN
	case "ja", "japanese", "日本語":
		r.Person.Lang = bot.LangJA
	default:
		w.Text(r.T("「lang ja」または「lang en」と送ってください。", "Send \"lang ja\" or \"lang en\"."))
		return nil
	}
	if err := h.Members.SavePerson(ctx, r.Person); err != nil {
		return err
	}
	r.Lang = r.Person.Lang
	w.Reply(bot.Reply{Text: r.T("日本語で表示します。", "I will answer in English."), Choices: h.Mux.Menu(r)})
	return nil
}

func (h *Membership) whoami(_ context.Context, w *Response, r *Request) error {
	name := ""
	if r.Tenant != nil {
		name = r.Tenant.Name
	}
	w.Reply(bot.Reply{Text: r.T("登録状況です。", "Your membership."), Fields: []bot.Field{
		{Label: r.T("自治体", "Municipality"), Value: name},
		{Label: r.T("役割", "Role"), Value: RoleName(r.Person.Role, r.Lang)},
		{Label: r.T("表示名", "Name"), Value: r.Person.DisplayName},
		{Label: r.T("言語", "Language"), Value: string(r.Person.Lang)},
	}})
	return nil
}

func (h *Membership) fallback(_ context.Context, w *Response, r *Request) error {
	if r.Person == nil {
		w.Text(h.welcomeText(r))
		return nil
	}
	w.Reply(bot.Reply{
		Text:    r.T("すみません、よく分かりませんでした。下のメニューから選ぶか、「ヘルプ」と送ってください。", "Sorry, I did not understand. Choose from the menu below or type \"help\"."),
		Choices: h.Mux.Menu(r),
	})
	return nil
}
