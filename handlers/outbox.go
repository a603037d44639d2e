package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

// Job kinds of the outbox.
const (
	JobPush    = "push"
	JobInbound = "inbound"
	JobDeliver = "deliver"
)

// Outbox sends everything that is not a direct answer (notifications, pings, reminders,
// digests) and processes asynchronous inbound events, all through the durable queue:
// it implements bot.Messenger and Dispatcher.
type Outbox struct {
	Queue   *store.Queue
	Members *store.MembershipService
	Sent    *store.SentRecords
	Engine  Engine
	Senders map[bot.Platform]bot.Sender
	Logger  *slog.Logger
	// Spool, when set, keeps inbound messages of platforms that never redeliver (LINE
	// WORKS) while the queue cannot be reached, so their webhook still answers 200;
	// ReplaySpooled puts them on the queue when Redis is back. Without it such a
	// message fails with EUNAVAILABLE like any other.
	Spool *store.Spool
}

// SpoolDispatch is the spool record kind of a message Dispatch could not queue.
const SpoolDispatch = "dispatch"

// spooled reports whether a platform's messages go to the spool when Redis is down:
// those whose platform never sends a webhook again. Slack and LINE redeliver after a
// 503, which is better than a local file that only this replica can replay.
func spooled(p bot.Platform) bool { return p == bot.PlatformLineWorks }

var (
	_ bot.Messenger = (*Outbox)(nil)
	_ Dispatcher    = (*Outbox)(nil)
)

// wireReply keeps attachment bytes, which bot.Reply leaves out of its JSON.
type wireReply struct {
	Reply bot.Reply `json:"reply"`
	Data  [][]byte  `json:"data,omitempty"`
}

func toWire(rs []bot.Reply) []wireReply {
	out := make([]wireReply, len(rs))
	for i, r := range rs {
		out[i].Reply = r
		for _, a := range r.Attachments {
			out[i].Data = append(out[i].Data, a.Data)
		}
	}
	return out
}

func fromWire(ws []wireReply) []bot.Reply {
	out := make([]bot.Reply, len(ws))
	for i, w := range ws {
		out[i] = w.Reply
		out[i].Attachments = append([]bot.Attachment(nil), w.Reply.Attachments...)
		for j := range out[i].Attachments {
			if j < len(w.Data) {
				out[i].Attachments[j].Data = w.Data[j]
			}
		}
	}
	return out
}

type pushJob struct {
	To      bot.Recipient `json:"to"`
	Replies []wireReply   `json:"replies"`
	Key     string        `json:"key"`
}

type deliverJob struct {
	Platform     bot.Platform `json:"platform"`
	Tenant       bot.TenantID `json:"tenant"`
	UserID       string       `json:"user_id"`
	Channel      string       `json:"channel,omitempty"`
	ReplyToken   string       `json:"reply_token,omitempty"`
	ReplyTokenAt int64        `json:"reply_token_at,omitempty"`
	Replies      []wireReply  `json:"replies"`
}

// Push queues a reply for a member. The same key is delivered once, however often it is pushed.
func (o *Outbox) Push(ctx context.Context, to bot.Recipient, r bot.Reply, key string) error {
	_, err := o.Queue.Enqueue(ctx, JobPush, "push:"+string(to.Tenant)+":"+key, pushJob{To: to, Replies: toWire([]bot.Reply{r}), Key: key}, time.Time{})
	return err
}

// Dispatch stores an inbound message for processing by a worker. With a Spool, a
// LINE WORKS message that cannot be queued is spooled instead and the person is told
// that we are busy; while spooled messages wait, later ones join them, so one
// conversation's messages keep their order.
func (o *Outbox) Dispatch(ctx context.Context, m *bot.Message) error {
	if o.Spool == nil || !spooled(m.Platform) {
		return o.dispatch(ctx, m)
	}
	if m.EventID == "" {
		m.EventID = "sp:" + store.NewToken() // replays must dedupe
	}
	if o.Spool.Pending() > 0 {
		_, err := o.Spool.Append(SpoolDispatch, m)
		return err
	}
	err := o.dispatch(ctx, m)
	if err == nil || bot.ErrorCode(err) != bot.EUNAVAILABLE {
		return err
	}
	if _, serr := o.Spool.Append(SpoolDispatch, m); serr != nil {
		return fmt.Errorf("%w (and the spool failed: %v)", err, serr)
	}
	o.Logger.Warn("redis unreachable: inbound message spooled", "platform", m.Platform, "tenant", m.Tenant, "event_id", m.EventID)
	o.notifyBusy(m)
	return nil
}

// notifyBusy tells the sender of a spooled message that its answer will be late,
// straight through the platform (the queue is down), in the background: the webhook
// must answer at once. The notice is best effort; the message itself is safe.
func (o *Outbox) notifyBusy(m *bot.Message) {
	s, ok := o.Senders[m.Platform]
	if !ok {
		return
	}
	d := bot.Delivery{Tenant: m.Tenant, UserID: m.UserID, Channel: m.Channel, Key: "busy:" + m.EventID,
		Replies: []bot.Reply{bot.Text(MsgBusy.In(langOf(nil, m)))}}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.Send(ctx, d); err != nil {
			o.Logger.Warn("busy notice not sent", "platform", m.Platform, "tenant", m.Tenant, "err", err)
		}
	}()
}

// ReplaySpooled queues one spooled message (kind SpoolDispatch); it is idempotent, since
// the queue drops a second job with the same event ID.
func (o *Outbox) ReplaySpooled(ctx context.Context, r store.SpoolRecord) error {
	var m bot.Message
	if err := json.Unmarshal(r.Data, &m); err != nil {
		o.Logger.Error("spooled message unreadable; dropped", "id", r.ID)
		return nil
	}
	return o.dispatch(ctx, &m)
}

func (o *Outbox) dispatch(ctx context.Context, m *bot.Message) error {
	id := "in:" + string(m.Platform) + ":" + m.EventID
	if m.EventID == "" {
		id = "in:" + string(m.Platform) + ":" + store.NewToken()
	}
	_, err := o.Queue.Enqueue(ctx, JobInbound, id, m, time.Time{})
	return err
}

// Register adds the outbox's job kinds to a worker.
func (o *Outbox) Register(w *store.Worker) {
	w.Handle(JobPush, o.runPush)
	w.Handle(JobInbound, o.runInbound)
	w.Handle(JobDeliver, o.runDeliver)
}

func (o *Outbox) runInbound(ctx context.Context, j store.Job) error {
	var m bot.Message
	if err := json.Unmarshal(j.Payload, &m); err != nil {
		return fmt.Errorf("handlers: decode inbound job: %w", bot.ErrPermanent)
	}
	// The delivery is queued before the conversation commits (with an engine that can),
	// so a crash in between cannot lose the answer; the job ID keeps it single.
	keep := func(ctx context.Context, replies []bot.Reply) error {
		d := deliverJob{Platform: m.Platform, Tenant: m.Tenant, UserID: m.UserID, Channel: m.Channel,
			ReplyToken: m.ReplyToken, Replies: toWire(replies)}
		if !m.At.IsZero() {
			d.ReplyTokenAt = m.At.UnixMilli()
		}
		_, err := o.Queue.Enqueue(ctx, JobDeliver, "out:"+j.ID, d, time.Time{})
		return err
	}
	if de, ok := o.Engine.(DurableEngine); ok {
		_, err := de.HandleThen(ctx, &m, keep)
		if err != nil && bot.ErrorCode(err) == bot.EUNAVAILABLE {
			return err // retry: nothing was committed
		}
		return nil
	}
	replies, err := o.Engine.Handle(ctx, &m)
	if err != nil && bot.ErrorCode(err) == bot.EUNAVAILABLE {
		return err // retry: nothing was committed
	}
	if len(replies) == 0 {
		return nil
	}
	return keep(ctx, replies)
}

// DurableEngine is an Engine that lets the caller store the replies before the
// conversation commits (Bot implements it).
type DurableEngine interface {
	HandleThen(ctx context.Context, m *bot.Message, keep func(ctx context.Context, replies []bot.Reply) error) ([]bot.Reply, error)
}

func (o *Outbox) runDeliver(ctx context.Context, j store.Job) error {
	var d deliverJob
	if err := json.Unmarshal(j.Payload, &d); err != nil {
		return fmt.Errorf("handlers: decode deliver job: %w", bot.ErrPermanent)
	}
	s, ok := o.Senders[d.Platform]
	if !ok {
		return fmt.Errorf("handlers: no sender for %s: %w", d.Platform, bot.ErrPermanent)
	}
	del := bot.Delivery{Tenant: d.Tenant, UserID: d.UserID, Channel: d.Channel, ReplyToken: d.ReplyToken,
		Replies: fromWire(d.Replies), Key: j.ID}
	if d.ReplyTokenAt > 0 {
		del.ReplyTokenAt = time.UnixMilli(d.ReplyTokenAt)
	}
	return o.send(ctx, d.Platform, s, del)
}

func (o *Outbox) runPush(ctx context.Context, j store.Job) error {
	var p pushJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return fmt.Errorf("handlers: decode push job: %w", bot.ErrPermanent)
	}
	person, err := o.Members.Person(ctx, p.To.Tenant, p.To.Person)
	if err != nil {
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			return nil // the person left or was deleted: nothing to send
		}
		return err
	}
	platform, uid := o.route(person)
	s, ok := o.Senders[platform]
	if !ok {
		return fmt.Errorf("handlers: no sender for %s: %w", platform, bot.ErrPermanent)
	}
	d := bot.Delivery{Tenant: p.To.Tenant, UserID: uid, Replies: fromWire(p.Replies), Key: "push:" + p.Key}
	return o.send(ctx, platform, s, d)
}

// route picks the channel a push goes to: the person's preferred one, else the first
// chat platform they use, else the web inbox.
func (o *Outbox) route(p *bot.Person) (bot.Platform, string) {
	if p.Preferred != "" {
		if uid, ok := p.Identities[p.Preferred]; ok {
			if _, ok := o.Senders[p.Preferred]; ok {
				if p.Preferred == bot.PlatformWeb {
					return bot.PlatformWeb, string(p.ID)
				}
				return p.Preferred, uid
			}
		}
	}
	for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformLineWorks, bot.PlatformLINE} {
		if uid, ok := p.Identities[pl]; ok {
			if _, ok := o.Senders[pl]; ok {
				return pl, uid
			}
		}
	}
	return bot.PlatformWeb, string(p.ID)
}

// send delivers once per key: the web inbox is idempotent by itself, LINE by its retry
// key; for the others a sent-record is kept around the call.
func (o *Outbox) send(ctx context.Context, platform bot.Platform, s bot.Sender, d bot.Delivery) error {
	if platform == bot.PlatformWeb || platform == bot.PlatformLINE {
		return s.Send(ctx, d)
	}
	if len(d.Replies) > 1 {
		// One sent-record per reply: when a retry runs in another process (after a crash,
		// or a lease that ran out while the platform throttled us), the replies that went
		// out are not sent again.
		for i, r := range d.Replies {
			one := d
			one.Replies, one.Key = []bot.Reply{r}, d.Key+"#"+strconv.Itoa(i)
			if err := o.sendOnce(ctx, s, one); err != nil {
				return err
			}
		}
		return nil
	}
	return o.sendOnce(ctx, s, d)
}

// sendOnce sends d unless its sent-record says it went out.
func (o *Outbox) sendOnce(ctx context.Context, s bot.Sender, d bot.Delivery) error {
	first, err := o.Sent.Begin(ctx, d.Tenant, d.Key)
	if err != nil {
		return err
	}
	if !first {
		return nil
	}
	if err := s.Send(ctx, d); err != nil {
		o.Sent.Abort(ctx, d.Tenant, d.Key)
		return err
	}
	// The message is out. If Redis is away for a moment now, the job would run again
	// after its lease and, finding the record still "sending", send it a second time:
	// keep trying to record it for as long as the job may run.
	for wait := 50 * time.Millisecond; ; wait = min(wait*2, 2*time.Second) {
		err := o.Sent.Done(ctx, d.Tenant, d.Key)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// PostChannel queues a message to a team channel (a Slack or LINE WORKS channel), once per key.
func (o *Outbox) PostChannel(ctx context.Context, tenant bot.TenantID, platform bot.Platform, channel string, r bot.Reply, key string) error {
	if _, ok := o.Senders[platform]; !ok {
		return fmt.Errorf("handlers: %s is not configured", platform)
	}
	d := deliverJob{Platform: platform, Tenant: tenant, Channel: channel, Replies: toWire([]bot.Reply{r})}
	_, err := o.Queue.Enqueue(ctx, JobDeliver, "chan:"+string(tenant)+":"+key, d, time.Time{})
	return err
}
