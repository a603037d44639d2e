package handlers

import (
	"context"

	"github.com/kakehashi/kakehashi/bot"
)

// HomeSection adds replies to a person's home view (the Slack App Home tab): the needs
// feature lists their needs, the meetings feature their meetings.
type HomeSection func(ctx context.Context, r *Request) ([]bot.Reply, error)

// Home answers ActionHome with a greeting, the menu and every registered section.
type Home struct {
	Mux      *Mux
	Sections []HomeSection
}

// Register mounts the home action.
func (h *Home) Register(m *Mux) {
	h.Mux = m
	m.HandleFunc(Command{Name: ActionHome, Public: true}, h.serve)
}

func (h *Home) serve(ctx context.Context, w *Response, r *Request) error {
	if r.Person == nil {
		w.Text(r.T("架け橋（Kakehashi）へようこそ。ご利用には招待コードが必要です。「参加 コード」とメッセージで送ってください。",
			"Welcome to Kakehashi. You need an invite code: send \"join CODE\" in a message."))
		return nil
	}
	name := ""
	if r.Tenant != nil {
		name = r.Tenant.Name + " / "
	}
	w.Reply(bot.Reply{Text: r.T("架け橋（"+name+RoleName(r.Person.Role, bot.LangJA)+"）", "Kakehashi ("+name+RoleName(r.Person.Role, bot.LangEN)+")"),
		Choices: h.Mux.Menu(r)})
	for _, s := range h.Sections {
		rs, err := s(ctx, r)
		if err != nil {
			return err
		}
		w.Reply(rs...)
	}
	return nil
}

// HomeSection lists the person's needs for the home view.
func (h *Needs) HomeSection(ctx context.Context, r *Request) ([]bot.Reply, error) {
	if !r.Person.Can(bot.RoleStaff) {
		return nil, nil
	}
	ns, err := h.Store.Needs(ctx, r.Tenant.ID, bot.NeedFilter{FiledBy: r.Person.ID, Limit: 10})
	if err != nil {
		return nil, err
	}
	rep := bot.Reply{Text: r.T("私のニーズ", "My needs")}
	if len(ns) == 0 {
		rep.Text += r.T("：まだありません。", ": none yet.")
		rep.Choices = []bot.Choice{{Label: r.T("ニーズを登録", "File a need"), Action: "need.new"}}
		return []bot.Reply{rep}, nil
	}
	for _, n := range ns {
		rep.Fields = append(rep.Fields, bot.Field{Label: "#" + itoa64(int64(n.ID)), Value: n.Title + "（" + n.Status.Name(r.Lang) + "）"})
	}
	return []bot.Reply{rep}, nil
}
