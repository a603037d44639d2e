package handlers

import (
	"context"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/calendar"
	"github.com/kakehashi/kakehashi/bot/chart"
	"github.com/kakehashi/kakehashi/bot/dialog"
)

// DigestSource fills its part of the digest input (meetings, adviser hours, introductions).
type DigestSource func(ctx context.Context, t *bot.Tenant, in *bot.DigestInput) error

// DigestMarks remembers which tenants' digests of a week were handed to the outbox, so
// the scheduler does not rebuild them every minute. Delivery itself is exactly-once by
// the outbox key (tenant, ISO week, recipient), whatever the marks say.
type DigestMarks interface {
	DigestSent(ctx context.Context, t bot.TenantID, week string) (bool, error)
	MarkDigestSent(ctx context.Context, t bot.TenantID, week string) error
}

// Digest builds the mayor's weekly digest, answers `ダイジェスト` with a preview and
// sends it on schedule: Monday 08:30 Asia/Tokyo, or the next business day when Monday is
// a holiday; late (within the same week) rather than never when the bot was down.
type Digest struct {
	Needs     bot.NeedService
	Members   bot.MembershipService
	Messenger bot.Messenger
	Marks     DigestMarks
	Calendar  *calendar.Calendar
	Clock     bot.Clock
	Sources   []DigestSource
	// At is the send time on the first business day of the week (default 08:30).
	At time.Duration
}

// Register mounts the preview command.
func (h *Digest) Register(m *Mux) {
	m.HandleFunc(Command{Name: "digest", Words: []string{"ダイジェスト", "digest", "週次ダイジェスト"}, Roles: []bot.Role{bot.RoleMayor, bot.RoleDXLead},
		Menu: dialog.T("週次ダイジェスト", "Weekly digest")}, h.preview)
}

// WeekStart returns Monday 00:00 Asia/Tokyo of the week containing t.
func WeekStart(t time.Time) time.Time {
	t = t.In(bot.Tokyo)
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, bot.Tokyo)
	off := (int(d.Weekday()) + 6) % 7
	return d.AddDate(0, 0, -off)
}

// WeekKey is the ISO week, e.g. "2026-W48".
func WeekKey(t time.Time) string {
	y, w := t.In(bot.Tokyo).ISOWeek()
	return strconv.Itoa(y) + "-W" + pad2(w)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// SendTime returns when the digest of the week starting at ws goes out: the first business
// day of that week (Monday unless it is a holiday) at h.At.
func (h *Digest) SendTime(ws time.Time) time.Time { return h.sendTimeAt(ws, h.At) }

// TenantSendTime is SendTime with the tenant's own time of day, when it has one.
func (h *Digest) TenantSendTime(t *bot.Tenant, ws time.Time) time.Time {
	if at, ok := ParseClock(t.DigestTime); ok {
		return h.sendTimeAt(ws, at)
	}
	return h.SendTime(ws)
}

// ParseClock reads "08:30" as an offset from midnight.
func ParseClock(s string) (time.Duration, bool) {
	c, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute, true
}

func (h *Digest) sendTimeAt(ws time.Time, at time.Duration) time.Time {
	if at == 0 {
		at = 8*time.Hour + 30*time.Minute
	}
	d := ws
	for i := 0; i < 5 && !h.Calendar.IsBusinessDay(d); i++ {
		d = d.AddDate(0, 0, 1)
	}
	return d.Add(at)
}

// Build returns the digest reporting on the week before now's week (sent on Monday
// morning, it covers the week just ended), with its chart.
func (h *Digest) Build(ctx context.Context, t *bot.Tenant, now time.Time) (*bot.Digest, error) {
	ws := WeekStart(now).AddDate(0, 0, -7)
	needs, err := h.Needs.Needs(ctx, t.ID, bot.NeedFilter{})
	if err != nil {
		return nil, err
	}
	in := bot.DigestInput{Tenant: t, WeekStart: ws, Now: now, Needs: needs}
	for _, s := range h.Sources {
		if err := s(ctx, t, &in); err != nil {
			return nil, err
		}
	}
	return bot.BuildDigest(in), nil
}

// Render turns a digest into a reply with the chart attached.
func (h *Digest) Render(d *bot.Digest, lang bot.Lang) bot.Reply {
	r := d.Reply(lang)
	if png, alt, err := chart.NeedsByStatus(d.Weeks, lang); err == nil {
		r.Attachments = append(r.Attachments, bot.Attachment{Name: "needs-" + WeekKey(d.WeekStart) + ".png", ContentType: "image/png", Alt: alt, Data: png})
	}
	return r
}

func (h *Digest) preview(ctx context.Context, w *Response, r *Request) error {
	d, err := h.Build(ctx, r.Tenant, r.Now)
	if err != nil {
		return err
	}
	rep := h.Render(d, r.Lang)
	rep.Text = r.T("【プレビュー】", "[Preview] ") + rep.Text
	w.Reply(rep)
	return nil
}

// Tick sends every tenant's digest that is due this week and not yet handed over.
// Several replicas may tick at once: the outbox keys make each (tenant, week, mayor) one message.
func (h *Digest) Tick(ctx context.Context) (sent int, err error) {
	now := h.Clock.Now()
	ws := WeekStart(now)
	week := WeekKey(ws)
	tenants, err := h.Members.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	for _, t := range tenants {
		if now.Before(h.TenantSendTime(t, ws)) {
			continue
		}
		mayors, err := h.Members.Members(ctx, t.ID, bot.RoleMayor)
		if err != nil {
			return sent, err
		}
		if len(mayors) == 0 {
			continue // a mayor who joins later this week still gets it
		}
		// The mark names the week and the mayors it went to, so a mayor who joins later in
		// the week is caught up; those already served are skipped by their outbox keys.
		mark := week + ":" + mayorSet(mayors)
		done, err := h.Marks.DigestSent(ctx, t.ID, mark)
		if err != nil {
			return sent, err
		}
		if done {
			continue
		}
		d, err := h.Build(ctx, t, now)
		if err != nil {
			return sent, err
		}
		for _, m := range mayors {
			if err := h.Messenger.Push(ctx, bot.Recipient{Tenant: t.ID, Person: m.ID}, h.Render(d, m.Lang), "digest:"+week+":"+string(m.ID)); err != nil {
				return sent, err
			}
			sent++
		}
		if err := h.Marks.MarkDigestSent(ctx, t.ID, mark); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// mayorSet is a short fingerprint of the mayors' IDs (Members returns them sorted).
func mayorSet(ps []*bot.Person) string {
	h := fnv.New64a()
	for _, p := range ps {
		h.Write([]byte(p.ID))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// Run ticks every interval until ctx ends; the first tick runs at once, so a bot that was
// down at 08:30 catches up on start.
func (h *Digest) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	for {
		if _, err := h.Tick(ctx); err != nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
