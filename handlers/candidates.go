package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/dialog"
	"github.com/kakehashi/kakehashi/bot/match"
	"github.com/kakehashi/kakehashi/store"
)

// JobCandidateMatch is the queue job that looks for open needs a newly registered or
// edited candidate fits (it searches once per open need, so it runs off the chat turn).
const JobCandidateMatch = "candidate.match"

// NeedQuery maps a need to the matcher's query: its text (title, description, skills
// wanted) and its structured requirements (category, MIC talent type, remote/on-site).
// The bot's notifications and `kakehashi candidates match --need` both use it.
func NeedQuery(n *bot.Need) match.Query {
	var parts []string
	for _, s := range []string{n.Title, n.Description, n.Skills} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	q := match.Query{Text: strings.Join(parts, "\n"), MICType: n.MICType}
	// "other" says nothing about the talent wanted: it is no requirement.
	if n.Category != "" && n.Category != "other" {
		q.Category = string(n.Category)
	}
	if n.Form == match.WorkRemote || n.Form == match.WorkOnsite {
		q.WorkStyle = n.Form
	}
	return q
}

// CandidateDoc is the searchable part of a profile. Name, contact and consent are not
// in it: the matcher never sees personal data it does not rank by.
func CandidateDoc(c *bot.Candidate) match.Doc {
	cats := make([]string, len(c.Categories))
	for i, x := range c.Categories {
		cats[i] = string(x)
	}
	return match.Doc{ID: string(c.ID), Text: c.Headline + "\n" + c.Skills, Categories: cats, MICType: c.MICType,
		Days: c.Days, HoursPerWeek: c.HoursPerWeek, WorkStyle: c.WorkStyle, Region: c.Region, Engagement: c.Engagement}
}

// CandidatePool is the in-memory match index of the operator's candidate pool. It is
// built from the store on first use (serve starts that at once, with progress in the
// log) and kept current by Update and Remove on every change made in this process.
// Only matchable profiles (active, with consent) are in it.
type CandidatePool struct {
	Store  bot.CandidateService
	Logger *slog.Logger
	// Progress, when set, is told how far a build has got (the CLI prints it).
	Progress func(done, total int)

	buildMu sync.Mutex // one build at a time
	mu      sync.Mutex // guards the fields below
	ix      *match.Index
	dirty   map[bot.CandidateID]bool // changes seen while a build runs
	seen    int64                    // the store's change number the index reflects
}

// Ready builds the index unless it is built already, and otherwise catches up with
// profiles saved by other processes (another replica, `kakehashi candidates import`).
// Profiles deleted elsewhere may linger in the index until they surface in a search;
// callers load every result from the store before showing it.
func (p *CandidatePool) Ready(ctx context.Context) (*match.Index, error) {
	p.mu.Lock()
	ix := p.ix
	p.mu.Unlock()
	if ix != nil {
		return ix, p.sync(ctx, ix)
	}
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	p.mu.Lock()
	ix = p.ix
	p.mu.Unlock()
	if ix != nil {
		return ix, nil
	}
	return p.build(ctx)
}

// Rebuild reloads the whole pool from the store.
func (p *CandidatePool) Rebuild(ctx context.Context) error {
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	_, err := p.build(ctx)
	return err
}

func (p *CandidatePool) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// build loads every profile into a new index and swaps it in; profiles changed during
// the load are read again afterwards, so a change is never lost to a concurrent build.
func (p *CandidatePool) build(ctx context.Context) (*match.Index, error) {
	start := time.Now()
	total, err := p.Store.CountCandidates(ctx)
	if err != nil {
		return nil, err
	}
	_, gen, err := p.Store.ChangedSince(ctx, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.dirty = map[bot.CandidateID]bool{}
	p.mu.Unlock()
	log := p.logger()
	log.Info("candidate index build started", "profiles", total)
	ix := match.NewIndex(nil)
	done, indexed := 0, 0
	err = p.Store.EachCandidate(ctx, func(c *bot.Candidate) error {
		if c.Matchable() {
			if err := ix.Upsert(CandidateDoc(c)); err != nil {
				return err
			}
			indexed++
		}
		done++
		if done%10000 == 0 {
			log.Info("candidate index build progress", "done", done, "total", total)
		}
		if p.Progress != nil && (done%1000 == 0 || done == total) {
			p.Progress(done, total)
		}
		return nil
	})
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = nil
	if err == nil {
		p.ix, p.seen = ix, gen
	}
	p.mu.Unlock()
	if err != nil {
		log.Error("candidate index build failed", "done", done, "err", err)
		return nil, err
	}
	for id := range dirty {
		if c, err := p.Store.Candidate(ctx, id); err == nil && c.Matchable() {
			ix.Upsert(CandidateDoc(c))
		} else {
			ix.Remove(string(id))
		}
	}
	log.Info("candidate index built", "profiles", done, "indexed", indexed, "ms", time.Since(start).Milliseconds())
	return ix, nil
}

// sync applies the changes logged since the index was last brought up to date.
func (p *CandidatePool) sync(ctx context.Context, ix *match.Index) error {
	p.mu.Lock()
	seen := p.seen
	p.mu.Unlock()
	ids, now, err := p.Store.ChangedSince(ctx, seen)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, err := p.Store.Candidate(ctx, id)
		switch {
		case bot.ErrorCode(err) == bot.ENOTFOUND:
			ix.Remove(string(id))
		case err != nil:
			return err
		case c.Matchable():
			ix.Upsert(CandidateDoc(c))
		default:
			ix.Remove(string(id))
		}
	}
	p.mu.Lock()
	p.seen = max(p.seen, now)
	p.mu.Unlock()
	return nil
}

// Update indexes a changed profile, or drops it when it may no longer be matched.
func (p *CandidatePool) Update(c *bot.Candidate) {
	p.mu.Lock()
	if p.dirty != nil {
		p.dirty[c.ID] = true
	}
	ix := p.ix
	p.mu.Unlock()
	if ix == nil {
		return // the first build reads it from the store
	}
	if c.Matchable() {
		if err := ix.Upsert(CandidateDoc(c)); err != nil {
			p.logger().Error("candidate index update failed", "candidate", c.ID, "err", err)
		}
	} else {
		ix.Remove(string(c.ID))
	}
}

// Remove drops a deleted profile.
func (p *CandidatePool) Remove(id bot.CandidateID) {
	p.mu.Lock()
	if p.dirty != nil {
		p.dirty[id] = true
	}
	ix := p.ix
	p.mu.Unlock()
	if ix != nil {
		ix.Remove(string(id))
	}
}

// Search ranks the pool for q, best first.
func (p *CandidatePool) Search(ctx context.Context, q match.Query, top int) ([]match.Result, error) {
	ix, err := p.Ready(ctx)
	if err != nil {
		return nil, err
	}
	return ix.Search(q, top), nil
}

// Candidates is the candidates feature of SPEC §5: self-registration with consent, the
// person's own view, edit, export and deletion; match notifications to DX leads; and
// the double opt-in introduction.
type Candidates struct {
	Store     bot.CandidateService
	Pool      *CandidatePool
	Needs     bot.NeedService
	Members   bot.MembershipService
	Messenger bot.Messenger
	// Queue runs JobCandidateMatch; nil runs the search inline.
	Queue  *store.Queue
	Clock  bot.Clock
	Logger *slog.Logger
	// Threshold is the score (0–100) a match needs to be notified; TopN bounds the
	// notified candidates per need.
	Threshold float64
	TopN      int
	mux       *Mux
}

// Register mounts the candidate commands and the registration flow.
func (h *Candidates) Register(m *Mux) {
	h.mux = m
	cand := []bot.Role{bot.RoleCandidate}
	lead := []bot.Role{bot.RoleDXLead}
	m.HandleFunc(Command{Name: "cand.register", Words: []string{"候補者登録", "register"}, Roles: cand, Menu: dialog.T("候補者として登録", "Register as a candidate")}, h.register)
	m.HandleFunc(Command{Name: "cand.consent", Words: []string{"同意する", "agree"}, Roles: cand}, h.consent)
	m.HandleFunc(Command{Name: "cand.consent.no", Words: []string{"同意しない", "disagree"}, Roles: cand}, h.consentNo)
	m.HandleFunc(Command{Name: "cand.profile", Words: []string{"登録内容", "my profile"}, Roles: cand, Menu: dialog.T("登録内容の確認", "My profile")}, h.profile)
	m.HandleFunc(Command{Name: "cand.edit", Words: []string{"登録変更", "edit profile"}, Roles: cand, Menu: dialog.T("登録内容の変更", "Edit my profile")}, h.edit)
	m.HandleFunc(Command{Name: "cand.export", Words: []string{"データ出力", "export my data"}, Roles: cand, Menu: dialog.T("データ出力（写しの取得）", "Export my data")}, h.export)
	m.HandleFunc(Command{Name: "cand.delete", Words: []string{"登録削除", "delete my data"}, Roles: cand, Menu: dialog.T("登録の削除", "Delete my data")}, h.deleteAsk)
	m.HandleFunc(Command{Name: "cand.delete.confirm", Roles: cand}, h.deleteConfirm)
	m.HandleFunc(Command{Name: "cand.pause", Roles: cand}, h.setStatus(bot.CandidatePaused))
	m.HandleFunc(Command{Name: "cand.resume", Roles: cand}, h.setStatus(bot.CandidateActive))
	m.HandleFunc(Command{Name: "cand.intro.yes", Roles: cand}, h.answer(true))
	m.HandleFunc(Command{Name: "cand.intro.no", Roles: cand}, h.answer(false))
	m.HandleFunc(Command{Name: "cand.search", Words: []string{"候補者検索", "find candidates"}, Roles: lead, Menu: dialog.T("候補者を探す", "Find candidates")}, h.search)
	m.HandleFunc(Command{Name: "cand.intro", Roles: lead}, h.requestIntro)
	m.flows[FlowCandidate] = &Flow{Form: func(context.Context, *Request) (*dialog.Form, error) { return candidateForm(), nil }, Submit: h.submit}
}

// RegisterJobs adds the background matching job to a worker.
func (h *Candidates) RegisterJobs(w *store.Worker) {
	w.Handle(JobCandidateMatch, func(ctx context.Context, j store.Job) error {
		var p struct {
			ID bot.CandidateID `json:"id"`
		}
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return fmt.Errorf("handlers: decode candidate match job: %w", bot.ErrPermanent)
		}
		return h.MatchCandidate(ctx, p.ID)
	})
}

func (h *Candidates) log() *slog.Logger {
	if h.Logger == nil {
		return slog.Default()
	}
	return h.Logger
}

func (h *Candidates) topN() int { return max(h.TopN, 1) }

// pushJobID is the queue job ID Outbox.Push uses for a key, so that deletion can cancel
// a notification that is still waiting.
func pushJobID(to bot.Recipient, key string) string { return "push:" + string(to.Tenant) + ":" + key }

// push queues a message about a candidate and remembers the job for deletion.
func (h *Candidates) push(ctx context.Context, id bot.CandidateID, to bot.Recipient, r bot.Reply, key string) error {
	if err := h.Store.TrackJob(ctx, id, pushJobID(to, key)); err != nil {
		return err
	}
	return h.Messenger.Push(ctx, to, r, key)
}

func (h *Candidates) audit(ctx context.Context, t bot.TenantID, rec bot.AuditRecord) error {
	if rec.At.IsZero() {
		rec.At = h.Clock.Now()
	}
	return h.Store.Audit(ctx, t, rec)
}

// mine returns the sender's own profile, or tells them to register first.
func (h *Candidates) mine(ctx context.Context, w *Response, r *Request) (*bot.Candidate, error) {
	c, err := h.Store.CandidateByMember(ctx, r.Tenant.ID, r.Person.ID)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		w.Reply(bot.Reply{Text: r.T("まだ候補者登録をしていません。「候補者登録」から始めてください。", "You have not registered yet. Start with \"register\"."),
			Choices: []bot.Choice{{Label: r.T("候補者として登録", "Register"), Action: "cand.register"}}})
		return nil, nil
	}
	return c, err
}

func (h *Candidates) register(ctx context.Context, w *Response, r *Request) error {
	c, err := h.Store.CandidateByMember(ctx, r.Tenant.ID, r.Person.ID)
	if err == nil {
		w.Reply(bot.Reply{Text: r.T("既に候補者として登録されています（"+c.Ref()+"）。", "You are already registered ("+c.Ref()+")."),
			Choices: []bot.Choice{{Label: r.T("登録内容", "My profile"), Action: "cand.profile"}, {Label: r.T("登録変更", "Edit"), Action: "cand.edit"}}})
		return nil
	} else if bot.ErrorCode(err) != bot.ENOTFOUND {
		return err
	}
	w.Reply(bot.Reply{Text: consentText.In(r.Lang), Choices: []bot.Choice{
		{Label: r.T("はい", "Yes"), Action: "cand.consent", Value: bot.ConsentVersion},
		{Label: r.T("いいえ", "No"), Action: "cand.consent.no"},
	}})
	return nil
}

func (h *Candidates) consent(ctx context.Context, w *Response, r *Request) error {
	if _, err := h.Store.CandidateByMember(ctx, r.Tenant.ID, r.Person.ID); err == nil {
		return h.register(ctx, w, r)
	}
	// The consent is recorded with the profile on 登録; a cancelled draft stores nothing.
	w.Text(r.T("ご同意ありがとうございます。続けて登録内容を伺います。", "Thank you. Now a few questions for your profile."))
	return h.mux.StartFlow(ctx, w, r, FlowCandidate, consentData(r.Now))
}

func (h *Candidates) consentNo(_ context.Context, w *Response, r *Request) error {
	w.Reply(bot.Reply{Text: r.T("承知しました。同意いただけない場合は登録できません。入力された情報はありません。気が変わったら「候補者登録」と送ってください。",
		"Understood. Without your consent we cannot register you, and nothing was stored. Send \"register\" if you change your mind."),
		Choices: []bot.Choice{{Label: r.T("メニュー", "Menu"), Action: "menu"}}})
	return nil
}

func (h *Candidates) submit(ctx context.Context, w *Response, r *Request, s *dialog.State) error {
	actor := bot.AuditRecord{Actor: bot.ActorOf(r.Person)}
	var c *bot.Candidate
	editing := s.Data["candidate_id"] != ""
	if editing {
		old, err := h.Store.Candidate(ctx, bot.CandidateID(s.Data["candidate_id"]))
		if err != nil {
			return err
		}
		if old.Member == nil || old.Member.Tenant != r.Tenant.ID || old.Member.Person != r.Person.ID {
			return bot.Errorf(bot.EFORBIDDEN, "この登録は変更できません。")
		}
		c = old
	} else {
		at, err := time.Parse(time.RFC3339, s.Data["consent_at"])
		if err != nil || s.Data["consent_version"] == "" {
			return bot.Errorf(bot.EINVALID, "同意の記録がありません。お手数ですが「候補者登録」からやり直してください。")
		}
		c = &bot.Candidate{ExternalID: "chat-" + string(r.Tenant.ID) + "-" + string(r.Person.ID), Source: "chat",
			Member: &bot.Recipient{Tenant: r.Tenant.ID, Person: r.Person.ID}, Status: bot.CandidateActive,
			Consent: bot.Consent{Version: s.Data["consent_version"], At: at}}
		if cur, err := h.Store.CandidateByMember(ctx, r.Tenant.ID, r.Person.ID); err == nil {
			c.ID = cur.ID // a second registration of the same person updates the first
		}
	}
	contact := candidateFromSlots(c, s.Slots)
	saved, created, err := h.Store.SaveCandidate(ctx, c, &contact)
	if err != nil {
		return err
	}
	actor.Action, actor.Record = bot.AuditCandidateUpdate, saved.ID
	if created {
		actor.Action = bot.AuditCandidateCreate
	}
	if err := h.audit(ctx, r.Tenant.ID, actor); err != nil {
		return err
	}
	h.Pool.Update(saved)
	if created {
		w.Reply(bot.Reply{Text: r.T("候補者として登録しました（"+saved.Ref()+"）。合うニーズがあると、自治体から紹介の依頼が届きます。依頼には「はい」「いいえ」でお答えください。",
			"You are registered ("+saved.Ref()+"). When a municipal need fits you, its DX team may ask for an introduction; you answer yes or no."),
			Choices: []bot.Choice{{Label: r.T("登録内容", "My profile"), Action: "cand.profile"}, {Label: r.T("メニュー", "Menu"), Action: "menu"}}})
	} else {
		w.Reply(bot.Reply{Text: r.T("登録内容を更新しました。", "Your profile was updated."),
			Choices: []bot.Choice{{Label: r.T("登録内容", "My profile"), Action: "cand.profile"}}})
	}
	return h.scheduleMatch(ctx, saved)
}

// scheduleMatch queues the search for open needs the profile fits.
func (h *Candidates) scheduleMatch(ctx context.Context, c *bot.Candidate) error {
	if !c.Matchable() {
		return nil
	}
	if h.Queue == nil {
		return h.MatchCandidate(ctx, c.ID)
	}
	id := "cmatch:" + string(c.ID) + ":" + strconv.FormatInt(c.UpdatedAt.UnixNano(), 10)
	if err := h.Store.TrackJob(ctx, c.ID, id); err != nil {
		return err
	}
	_, err := h.Queue.Enqueue(ctx, JobCandidateMatch, id, map[string]string{"id": string(c.ID)}, time.Time{})
	return err
}

// MatchCandidate notifies the DX leads of every open need (triaged or matching, in any
// tenant) for which the candidate is among the top matches above the threshold.
func (h *Candidates) MatchCandidate(ctx context.Context, id bot.CandidateID) error {
	c, err := h.Store.Candidate(ctx, id)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	if !c.Matchable() {
		return nil
	}
	tenants, err := h.Members.Tenants(ctx)
	if err != nil {
		return err
	}
	sent := 0
	for _, t := range tenants {
		needs, err := h.Needs.Needs(ctx, t.ID, bot.NeedFilter{Status: []bot.NeedStatus{bot.NeedTriaged, bot.NeedMatching}})
		if err != nil {
			return err
		}
		for _, n := range needs {
			res, err := h.Pool.Search(ctx, NeedQuery(n), h.topN())
			if err != nil {
				return err
			}
			for _, m := range res {
				if m.ID == string(c.ID) && m.Score >= h.Threshold {
					ok, err := h.notify(ctx, t, n, c, m)
					if err != nil {
						return err
					}
					if ok {
						sent++
					}
				}
			}
		}
	}
	h.log().Info("candidate matched against open needs", "candidate", c.ID, "notified_needs", sent)
	return nil
}

// OnNeedStatus is the Needs.OnStatus hook: a need that becomes triaged is matched
// against the pool, and its top candidates above the threshold go to the DX leads.
func (h *Candidates) OnNeedStatus(ctx context.Context, n *bot.Need, _ *bot.Person) {
	if n.Status != bot.NeedTriaged {
		return
	}
	sent, err := h.MatchNeed(ctx, n)
	if err != nil {
		h.log().Warn("candidate matching for need failed", "tenant", n.Tenant, "need", n.ID, "code", bot.ErrorCode(err), "err", err)
		return
	}
	h.log().Info("candidates matched for need", "tenant", n.Tenant, "need", n.ID, "notified", sent)
}

// MatchNeed sends the need's top matches above the threshold that were not sent before,
// and returns how many candidates it sent.
func (h *Candidates) MatchNeed(ctx context.Context, n *bot.Need) (int, error) {
	t, err := h.Members.Tenant(ctx, n.Tenant)
	if err != nil {
		return 0, err
	}
	res, err := h.Pool.Search(ctx, NeedQuery(n), h.topN())
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, m := range res {
		if m.Score < h.Threshold {
			break // best first: the rest are below too
		}
		c, err := h.Store.Candidate(ctx, bot.CandidateID(m.ID))
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			h.Pool.Remove(bot.CandidateID(m.ID)) // deleted through another process
			continue
		} else if err != nil {
			return sent, err
		}
		if !c.Matchable() {
			h.Pool.Update(c)
			continue
		}
		ok, err := h.notify(ctx, t, n, c, m)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// notify sends one candidate card for a need to the need's DX lead (its owner when
// claimed, else every DX lead of the tenant), once per (need, candidate).
func (h *Candidates) notify(ctx context.Context, t *bot.Tenant, n *bot.Need, c *bot.Candidate, m match.Result) (bool, error) {
	if done, err := h.Store.Matched(ctx, t.ID, n.ID, c.ID); err != nil || done {
		return false, err
	}
	leads, err := h.Members.Members(ctx, t.ID, bot.RoleDXLead)
	if err != nil {
		return false, err
	}
	if n.ClaimedBy != "" {
		for _, p := range leads {
			if p.ID == n.ClaimedBy {
				leads = []*bot.Person{p}
				break
			}
		}
	}
	for _, p := range leads {
		card := candidateCard(c, n, m, p.Lang)
		card.Text = dialog.T("ニーズ「"+n.Label()+"」に合う候補者が見つかりました。", "A candidate fits the need \""+n.Label()+"\".").In(p.Lang)
		key := "cand:" + itoa64(int64(n.ID)) + ":" + string(c.ID) + ":" + string(p.ID)
		if err := h.push(ctx, c.ID, bot.Recipient{Tenant: t.ID, Person: p.ID}, card, key); err != nil {
			return false, err
		}
	}
	if _, err := h.Store.MarkMatched(ctx, t.ID, n.ID, c.ID); err != nil {
		return false, err
	}
	return true, nil
}

// candidateCard shows what a municipality may see before an introduction: headline,
// skills, availability, score and reasons — never the name, employer or contact.
func candidateCard(c *bot.Candidate, n *bot.Need, m match.Result, lang bot.Lang) bot.Reply {
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	fields := []bot.Field{{Label: T("候補者", "Candidate"), Value: c.Ref()}}
	if c.Headline != "" {
		fields = append(fields, bot.Field{Label: T("見出し", "Headline"), Value: c.Headline})
	}
	fields = append(fields, bot.Field{Label: T("スキル", "Skills"), Value: truncate(c.Skills, 200)})
	fields = append(fields, profileFacts(c, lang)...)
	fields = append(fields, bot.Field{Label: T("一致度", "Match"), Value: strconv.FormatFloat(m.Score, 'f', -1, 64) + " / 100"})
	lc := "ja"
	if lang == bot.LangEN {
		lc = "en"
	}
	if rs := m.Reasons(lc); len(rs) > 0 {
		fields = append(fields, bot.Field{Label: T("理由", "Why"), Value: strings.Join(rs, "\n")})
	}
	value := itoa64(int64(n.ID)) + ":" + string(c.ID)
	return bot.Reply{Kind: "candidate_card", Fields: fields, Choices: []bot.Choice{
		{Label: T("紹介を依頼", "Request introduction"), Action: "cand.intro", Value: value},
		{Label: T("ニーズを見る", "View need"), Action: "need.view", Value: itoa64(int64(n.ID))},
	}}
}

// profileFacts are the structured parts of a profile as card fields.
func profileFacts(c *bot.Candidate, lang bot.Lang) []bot.Field {
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	sep := T("、", ", ")
	var out []bot.Field
	if len(c.Categories) > 0 {
		var names []string
		for _, x := range c.Categories {
			names = append(names, x.Name(lang))
		}
		out = append(out, bot.Field{Label: T("得意分野", "Fields"), Value: strings.Join(names, sep)})
	}
	if c.MICType != "" {
		out = append(out, bot.Field{Label: T("人材タイプ", "Talent type"), Value: bot.MICName(c.MICType, lang)})
	}
	if c.Years > 0 {
		out = append(out, bot.Field{Label: T("経験年数", "Experience"), Value: T(strconv.Itoa(c.Years)+"年", strconv.Itoa(c.Years)+" years")})
	}
	var avail []string
	if c.HoursPerWeek > 0 {
		avail = append(avail, T("週"+strconv.Itoa(c.HoursPerWeek)+"時間", strconv.Itoa(c.HoursPerWeek)+" h/week"))
	}
	for _, d := range c.Days {
		avail = append(avail, bot.OptionName(bot.AvailabilityDays, d, lang))
	}
	if len(avail) > 0 {
		out = append(out, bot.Field{Label: T("稼働", "Availability"), Value: strings.Join(avail, sep)})
	}
	if c.WorkStyle != "" || c.Region != "" {
		v := bot.WorkFormName(c.WorkStyle, lang)
		if c.Region != "" {
			if v != "" {
				v += " / "
			}
			v += c.Region
		}
		out = append(out, bot.Field{Label: T("働き方・地域", "Work style & region"), Value: v})
	}
	if len(c.Engagement) > 0 {
		var names []string
		for _, e := range c.Engagement {
			names = append(names, bot.OptionName(bot.Engagements, e, lang))
		}
		out = append(out, bot.Field{Label: T("契約形態", "Engagement"), Value: strings.Join(names, sep)})
	}
	return out
}

// search shows a DX lead the best candidates for one need, as cards they can act on.
func (h *Candidates) search(ctx context.Context, w *Response, r *Request) error {
	id, _, ok := parseNeedID(r.Args)
	if !ok {
		w.Text(r.T("ニーズ番号を付けて送ってください（例: 候補者検索 12）。", "Add the need number (e.g. find candidates 12)."))
		return nil
	}
	n, err := h.Needs.Need(ctx, r.Tenant.ID, id)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		w.Text(r.T("ニーズ #"+itoa64(int64(id))+" は見つかりません。番号をご確認ください。", "Need #"+itoa64(int64(id))+" was not found."))
		return nil
	} else if err != nil {
		return err
	}
	res, err := h.Pool.Search(ctx, NeedQuery(n), 5)
	if err != nil {
		return err
	}
	var cards []bot.Reply
	for _, m := range res {
		c, err := h.Store.Candidate(ctx, bot.CandidateID(m.ID))
		if err != nil || !c.Matchable() {
			continue
		}
		// Recorded as shown, so the introduction button works and the triage notice does not repeat it.
		if _, err := h.Store.MarkMatched(ctx, r.Tenant.ID, n.ID, c.ID); err != nil {
			return err
		}
		cards = append(cards, candidateCard(c, n, m, r.Lang))
	}
	if len(cards) == 0 {
		w.Text(r.T("ニーズ「"+n.Label()+"」に合う候補者は、いまのところ見つかりません。", "No candidate fits \""+n.Label()+"\" yet."))
		return nil
	}
	w.Text(r.T("ニーズ「"+n.Label()+"」に合う候補者（一致度の高い順、最大5人）です。連絡先は、本人が紹介を承諾した後にお送りします。",
		"Candidates for \""+n.Label()+"\", best first (up to 5). Contact details come after the person accepts an introduction."))
	w.Reply(cards...)
	return nil
}

func parseIntroValue(s string) (bot.NeedID, bot.CandidateID, bool) {
	id, rest, ok := parseNeedID(s)
	if !ok || !strings.HasPrefix(rest, "c") {
		return 0, "", false
	}
	return id, bot.CandidateID(rest), true
}

// requestIntro is 紹介を依頼: the candidate is asked, and nothing about them is
// revealed until they say yes.
func (h *Candidates) requestIntro(ctx context.Context, w *Response, r *Request) error {
	needID, cid, ok := parseIntroValue(r.Args)
	if !ok {
		w.Text(r.T("依頼の内容が読めませんでした。候補者カードのボタンからお試しください。", "I could not read the request. Please use the button on a candidate card."))
		return nil
	}
	shown, err := h.Store.Matched(ctx, r.Tenant.ID, needID, cid)
	if err != nil {
		return err
	}
	if !shown {
		w.Text(r.T("この候補者はニーズ #"+itoa64(int64(needID))+" の候補として表示されていません。「候補者検索 "+itoa64(int64(needID))+"」で探してください。",
			"This candidate was not suggested for need #"+itoa64(int64(needID))+". Try \"find candidates "+itoa64(int64(needID))+"\"."))
		return nil
	}
	c, err := h.Store.Candidate(ctx, cid)
	if bot.ErrorCode(err) == bot.ENOTFOUND || (err == nil && !c.Matchable()) {
		w.Text(r.T("この候補者は現在ご紹介できません（登録の削除または休止）。ほかの候補者をご検討ください。",
			"This candidate cannot be introduced now (the profile was deleted or paused). Please consider others."))
		return nil
	} else if err != nil {
		return err
	}
	n, err := h.Needs.Need(ctx, r.Tenant.ID, needID)
	if err != nil {
		return err
	}
	in, created, err := h.Store.RequestIntroduction(ctx, &bot.Introduction{Tenant: r.Tenant.ID, Need: n.ID, Candidate: c.ID, RequestedBy: r.Person.ID, CreatedAt: r.Now})
	if err != nil {
		return err
	}
	if !created {
		switch in.Status {
		case bot.IntroAccepted:
			w.Text(r.T(c.Ref()+" さんは既に紹介を承諾しています。連絡先は依頼した担当者にお送り済みです。", c.Ref()+" already accepted; the contact details were sent to the requester."))
		case bot.IntroDeclined:
			w.Text(r.T(c.Ref()+" さんからは、このニーズについては見送りとのお返事をいただいています。", c.Ref()+" declined this introduction."))
		default:
			w.Text(r.T(c.Ref()+" さんには既に紹介を依頼しています。お返事をお待ちください。", "An introduction to "+c.Ref()+" is already requested. Please wait for the answer."))
		}
		return nil
	}
	if err := h.audit(ctx, r.Tenant.ID, bot.AuditRecord{At: r.Now, Actor: bot.ActorOf(r.Person), Action: bot.AuditIntroRequest, Record: c.ID, Need: n.ID}); err != nil {
		return err
	}
	if c.Member == nil {
		w.Text(r.T("紹介を依頼しました（"+c.Ref()+"、ニーズ #"+itoa64(int64(n.ID))+"）。この方はチャット未登録のため、運営事務局が本人に確認します。承諾があれば、連絡先をこちらにお送りします。",
			"Introduction requested ("+c.Ref()+", need #"+itoa64(int64(n.ID))+"). This person is not on chat, so the operator will ask them; on their yes you get the contact details here."))
		return nil
	}
	if err := h.askCandidate(ctx, r.Tenant, n, c); err != nil {
		return err
	}
	w.Text(r.T("紹介を依頼しました（"+c.Ref()+"、ニーズ #"+itoa64(int64(n.ID))+"）。ご本人が承諾すると、連絡先をこちらにお送りします。",
		"Introduction requested ("+c.Ref()+", need #"+itoa64(int64(n.ID))+"). When the person accepts, you get the contact details here."))
	return nil
}

// askCandidate pings the candidate with the municipality and the need and はい/いいえ.
func (h *Candidates) askCandidate(ctx context.Context, t *bot.Tenant, n *bot.Need, c *bot.Candidate) error {
	to := *c.Member
	lang := bot.LangJA
	if p, err := h.Members.Person(ctx, to.Tenant, to.Person); err == nil {
		lang = p.Lang
	}
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	value := string(t.ID) + ":" + itoa64(int64(n.ID)) + ":" + string(c.ID)
	rep := bot.Reply{
		Text: T("【紹介のご依頼】"+t.Name+"のDX推進担当から、次のニーズについて紹介の依頼が届きました。\n「はい」と答えると、お名前・メールアドレス・電話番号を"+t.Name+"のDX推進担当にだけお伝えします。「いいえ」の場合は何もお伝えしません。",
			"[Introduction request] The DX team of "+t.Name+" would like to be introduced to you for the need below.\nIf you answer yes, your name, e-mail and phone go to that DX team only. If you answer no, nothing is shared."),
		Fields: []bot.Field{
			{Label: T("自治体", "Municipality"), Value: t.Name},
			{Label: T("ニーズ", "Need"), Value: n.Label()},
			{Label: T("分野", "Field"), Value: n.Category.Name(lang)},
			{Label: T("支援形態", "Form"), Value: bot.WorkFormName(n.Form, lang)},
		},
		Choices: []bot.Choice{
			{Label: T("はい", "Yes"), Action: "cand.intro.yes", Value: value},
			{Label: T("いいえ", "No"), Action: "cand.intro.no", Value: value},
		},
	}
	return h.push(ctx, c.ID, to, rep, "intro:"+value)
}

func parseAnswerValue(s string) (bot.TenantID, bot.NeedID, bot.CandidateID, bool) {
	t, rest, ok := strings.Cut(s, ":")
	if !ok || t == "" {
		return "", 0, "", false
	}
	n, c, ok := parseIntroValue(rest)
	return bot.TenantID(t), n, c, ok
}

// answer handles the candidate's はい/いいえ to an introduction request.
func (h *Candidates) answer(yes bool) func(ctx context.Context, w *Response, r *Request) error {
	return func(ctx context.Context, w *Response, r *Request) error {
		t, needID, cid, ok := parseAnswerValue(r.Args)
		if !ok {
			w.Text(r.T("回答の内容が読めませんでした。依頼メッセージのボタンからお答えください。", "I could not read the answer. Please use the buttons of the request."))
			return nil
		}
		c, err := h.Store.Candidate(ctx, cid)
		if err == nil && (c.Member == nil || c.Member.Tenant != r.Tenant.ID || c.Member.Person != r.Person.ID) {
			err = bot.Errorf(bot.ENOTFOUND, "")
		}
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			w.Text(r.T("この依頼は見つかりません。登録を削除した場合は、依頼も取り消されています。", "This request was not found. Requests are withdrawn when a profile is deleted."))
			return nil
		} else if err != nil {
			return err
		}
		in, err := h.AnswerIntroduction(ctx, t, needID, c, yes, bot.ActorOf(r.Person))
		switch bot.ErrorCode(err) {
		case "":
		case bot.ECONFLICT, bot.ENOTFOUND:
			w.Text(bot.ErrorMessage(err))
			return nil
		default:
			return err
		}
		tn := string(t)
		if ten, err := h.Members.Tenant(ctx, t); err == nil {
			tn = ten.Name
		}
		if in.Status == bot.IntroAccepted {
			w.Text(r.T("承諾をお伝えし、連絡先を"+tn+"のDX推進担当にお送りしました。担当者からのご連絡をお待ちください。",
				"Thank you. Your contact details were sent to the DX team of "+tn+"; they will get in touch."))
		} else {
			w.Text(r.T("お断りの旨を"+tn+"にお伝えしました。連絡先はお伝えしていません。", "We told "+tn+" that you decline. Your contact details were not shared."))
		}
		return nil
	}
}

// AnswerIntroduction records the candidate's answer and tells the requesting DX lead:
// on yes with the contact details (by direct message to that lead only, audited as a
// reveal), on no politely and without them. actor is the candidate's chat account, or
// bot.ActorOperator when the operator relays an answer given outside the chat.
func (h *Candidates) AnswerIntroduction(ctx context.Context, t bot.TenantID, needID bot.NeedID, c *bot.Candidate, yes bool, actor string) (*bot.Introduction, error) {
	in, err := h.Store.AnswerIntroduction(ctx, t, needID, c.ID, yes)
	if err != nil {
		return in, err
	}
	now := h.Clock.Now()
	lead := bot.Recipient{Tenant: t, Person: in.RequestedBy}
	lang := bot.LangJA
	if p, err := h.Members.Person(ctx, t, in.RequestedBy); err == nil {
		lang = p.Lang
	}
	T := func(ja, en string) string { return dialog.T(ja, en).In(lang) }
	label := "#" + itoa64(int64(needID))
	if n, err := h.Needs.Need(ctx, t, needID); err == nil {
		label = n.Label()
	}
	key := "intro:" + string(t) + ":" + itoa64(int64(needID)) + ":" + string(c.ID) + ":answer"
	if !yes {
		if err := h.audit(ctx, t, bot.AuditRecord{At: now, Actor: actor, Action: bot.AuditIntroDecline, Record: c.ID, Need: needID}); err != nil {
			return in, err
		}
		return in, h.push(ctx, c.ID, lead, bot.Reply{Text: T("ニーズ「"+label+"」の紹介依頼（"+c.Ref()+"）は、ご本人の都合により今回は見送りとのお返事でした。ほかの候補者もご検討ください。",
			"The introduction to "+c.Ref()+" for \""+label+"\" was declined this time. Please consider other candidates."),
			Choices: []bot.Choice{{Label: T("候補者を探す", "Find candidates"), Action: "cand.search", Value: itoa64(int64(needID))}}}, key)
	}
	ct, err := h.Store.Contact(ctx, c.ID)
	if err != nil {
		return in, err
	}
	// Audited before the message is queued: a reveal is never unrecorded.
	if err := h.audit(ctx, t, bot.AuditRecord{At: now, Actor: actor, Action: bot.AuditIntroAccept, Record: c.ID, Need: needID}); err != nil {
		return in, err
	}
	if err := h.audit(ctx, t, bot.AuditRecord{At: now, Actor: actor, Action: bot.AuditContactReveal, Record: c.ID, Need: needID, To: in.RequestedBy}); err != nil {
		return in, err
	}
	none := T("（未登録）", "(none)")
	email, phone := ct.Email, ct.Phone
	if email == "" {
		email = none
	}
	if phone == "" {
		phone = none
	}
	rep := bot.Reply{
		Text: T(c.Ref()+" さんがニーズ「"+label+"」の紹介を承諾しました。連絡先をお送りします。ご本人の同意に基づく情報です。このニーズのご連絡にのみ使い、ほかの方への転送はお控えください。",
			c.Ref()+" accepted the introduction for \""+label+"\". Here are the contact details, shared with their consent: use them for this need only and do not forward them."),
		Fields: []bot.Field{
			{Label: T("お名前", "Name"), Value: c.DisplayName},
			{Label: T("見出し", "Headline"), Value: c.Headline},
			{Label: T("メール", "E-mail"), Value: email},
			{Label: T("電話", "Phone"), Value: phone},
		},
	}
	return in, h.push(ctx, c.ID, lead, rep, key)
}

func (h *Candidates) profile(ctx context.Context, w *Response, r *Request) error {
	c, err := h.mine(ctx, w, r)
	if c == nil {
		return err
	}
	ct, err := h.Store.Contact(ctx, c.ID)
	if err != nil {
		return err
	}
	m := ct.Masked()
	fields := []bot.Field{
		{Label: r.T("登録番号", "Reference"), Value: c.Ref()},
		{Label: r.T("状態", "Status"), Value: c.Status.Name(r.Lang)},
		{Label: r.T("お名前", "Name"), Value: c.DisplayName},
		{Label: r.T("見出し", "Headline"), Value: c.Headline},
		{Label: r.T("スキル・経験", "Skills"), Value: c.Skills},
	}
	fields = append(fields, profileFacts(c, r.Lang)...)
	none := r.T("（未登録）", "(none)")
	if m.Email == "" {
		m.Email = none
	}
	if m.Phone == "" {
		m.Phone = none
	}
	fields = append(fields, bot.Field{Label: r.T("メール", "E-mail"), Value: m.Email}, bot.Field{Label: r.T("電話", "Phone"), Value: m.Phone},
		bot.Field{Label: r.T("同意", "Consent"), Value: r.T(c.Consent.Version+"版（"+c.Consent.At.In(bot.Tokyo).Format("2006-01-02")+" 同意）",
			"version "+c.Consent.Version+" (agreed "+c.Consent.At.In(bot.Tokyo).Format("2006-01-02")+")")})
	toggle := bot.Choice{Label: r.T("公開を休止", "Pause"), Action: "cand.pause"}
	if c.Status != bot.CandidateActive {
		toggle = bot.Choice{Label: r.T("公開を再開", "Resume"), Action: "cand.resume"}
	}
	w.Reply(bot.Reply{Text: r.T("登録内容です（連絡先は一部を伏せて表示しています）。", "Your profile (contact details partly hidden)."), Fields: fields,
		Choices: []bot.Choice{{Label: r.T("登録変更", "Edit"), Action: "cand.edit"}, toggle,
			{Label: r.T("データ出力", "Export"), Action: "cand.export"}, {Label: r.T("登録削除", "Delete"), Action: "cand.delete"}}})
	return nil
}

func (h *Candidates) edit(ctx context.Context, w *Response, r *Request) error {
	c, err := h.mine(ctx, w, r)
	if c == nil {
		return err
	}
	ct, err := h.Store.Contact(ctx, c.ID)
	if err != nil {
		return err
	}
	f := candidateForm()
	draft := FlowCandidate + "-edit-" + string(c.ID) + "-" + r.Now.Format("20060102150405.000")
	res := dialog.Start(f, draft, r.Now, r.Lang, slotsFromCandidate(c, ct))
	res.State.Step = len(f.Fields)
	res.State.Data = map[string]string{"candidate_id": string(c.ID)}
	w.State = res.State
	w.Reply(bot.Reply{Text: r.T("登録内容を変更します。直したい項目を「修正」から選び、最後に「登録」を押してください。", "Editing your profile. Choose Edit to change an item, then Submit."),
		Fields: f.Summary(res.State, r.Lang),
		Choices: []bot.Choice{{Label: r.T("登録", "Submit"), Action: dialog.ActSubmit}, {Label: r.T("修正", "Edit"), Action: dialog.ActEdit},
			{Label: r.T("やめる", "Cancel"), Action: dialog.ActCancel}}})
	return nil
}

func (h *Candidates) setStatus(to bot.CandidateStatus) func(ctx context.Context, w *Response, r *Request) error {
	return func(ctx context.Context, w *Response, r *Request) error {
		c, err := h.mine(ctx, w, r)
		if c == nil {
			return err
		}
		c.Status = to
		saved, _, err := h.Store.SaveCandidate(ctx, c, nil)
		if err != nil {
			return err
		}
		if err := h.audit(ctx, r.Tenant.ID, bot.AuditRecord{At: r.Now, Actor: bot.ActorOf(r.Person), Action: bot.AuditCandidateUpdate, Record: c.ID}); err != nil {
			return err
		}
		h.Pool.Update(saved)
		if to == bot.CandidateActive {
			w.Text(r.T("公開を再開しました。合うニーズがあればお知らせします。", "Your profile is active again."))
			return h.scheduleMatch(ctx, saved)
		}
		w.Text(r.T("公開を休止しました。再開するまで、自治体への紹介の候補になりません。", "Your profile is paused: municipalities will not see it until you resume."))
		return nil
	}
}

// exportDoc is the JSON copy a candidate receives (APPI disclosure).
type exportDoc struct {
	ExportedAt    time.Time           `json:"exported_at"`
	Profile       *bot.Candidate      `json:"profile"`
	Contact       *bot.Contact        `json:"contact"`
	Introductions []*bot.Introduction `json:"introductions"`
}

func (h *Candidates) export(ctx context.Context, w *Response, r *Request) error {
	c, err := h.mine(ctx, w, r)
	if c == nil {
		return err
	}
	ct, err := h.Store.Contact(ctx, c.ID)
	if err != nil {
		return err
	}
	intros, err := h.Store.Introductions(ctx, c.ID)
	if err != nil {
		return err
	}
	if intros == nil {
		intros = []*bot.Introduction{}
	}
	b, err := json.MarshalIndent(exportDoc{ExportedAt: r.Now, Profile: c, Contact: ct, Introductions: intros}, "", "  ")
	if err != nil {
		return fmt.Errorf("handlers: encode export: %w", err)
	}
	if err := h.audit(ctx, r.Tenant.ID, bot.AuditRecord{At: r.Now, Actor: bot.ActorOf(r.Person), Action: bot.AuditCandidateExport, Record: c.ID}); err != nil {
		return err
	}
	w.Reply(bot.Reply{Text: r.T("登録データの写しです（JSON形式）。連絡先を含むため、大切に保管してください。", "A copy of your data (JSON). It includes your contact details: keep it safe."),
		Attachments: []bot.Attachment{{Name: bot.CandidateExportFile, ContentType: "application/json", Data: b}}})
	return nil
}

func (h *Candidates) deleteAsk(ctx context.Context, w *Response, r *Request) error {
	c, err := h.mine(ctx, w, r)
	if c == nil {
		return err
	}
	w.Reply(bot.Reply{Text: r.T("登録を削除すると、プロフィール・連絡先・紹介の記録がすべて消え、元に戻せません（削除した日時の記録だけが、内容なしで残ります）。削除しますか？",
		"Deleting erases your profile, contact details and introductions for good (only a record of when, without content, remains). Delete?"),
		Choices: []bot.Choice{{Label: r.T("削除する", "Delete"), Action: "cand.delete.confirm", Value: string(c.ID)},
			{Label: r.T("やめる", "Keep"), Action: "menu"}}})
	return nil
}

func (h *Candidates) deleteConfirm(ctx context.Context, w *Response, r *Request) error {
	c, err := h.mine(ctx, w, r)
	if c == nil {
		return err
	}
	if r.Args != string(c.ID) {
		w.Text(r.T("削除の確認が古くなっています。もう一度「登録削除」からお願いします。", "This confirmation is out of date. Please start again with \"delete my data\"."))
		return nil
	}
	if err := h.Delete(ctx, c, bot.ActorOf(r.Person), r.Tenant.ID); err != nil {
		return err
	}
	// An edit draft left open holds a copy of the profile and contact: drop it too.
	w.State = nil
	// The chat account stays (the person may register again) but loses its name.
	r.Person.DisplayName = ""
	if err := h.Members.SavePerson(ctx, r.Person); err != nil {
		return err
	}
	w.Reply(bot.Reply{Text: r.T("登録を削除しました。プロフィール・連絡先・紹介の記録は残っていません。ご利用ありがとうございました。",
		"Your data was deleted: no profile, contact details or introductions remain. Thank you."),
		Choices: []bot.Choice{{Label: r.T("メニュー", "Menu"), Action: "menu"}}})
	return nil
}

// Delete erases a candidate (store, index, queued notices) and audits it in tenant t,
// or in the operator's log when t is empty.
func (h *Candidates) Delete(ctx context.Context, c *bot.Candidate, actor string, t bot.TenantID) error {
	if err := h.Store.DeleteCandidate(ctx, c.ID); err != nil {
		return err
	}
	h.Pool.Remove(c.ID)
	return h.audit(ctx, t, bot.AuditRecord{Actor: actor, Action: bot.AuditCandidateDelete, Record: c.ID})
}
