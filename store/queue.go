package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// Queue is a durable job queue on Redis: jobs wait in a sorted set by due time, a worker
// leases them (a crashed worker's lease expires and the job runs again), failures retry
// with exponential backoff that honours Retry-After, and jobs that keep failing go to a
// dead-letter set an admin can list and retry. Job IDs are chosen by the caller, so
// enqueueing the same ID twice is a no-op: that is what makes a reminder or a
// notification exactly-once at the queue.
type Queue struct {
	db *DB
	// Lease is how long a worker may hold a job before another may take it.
	Lease time.Duration
	// Retention is how long a finished job's ID stays blocked from being enqueued again.
	Retention time.Duration
	// MaxAttempts before a job is dead-lettered.
	MaxAttempts int
	Logger      *slog.Logger
	// wake tells an idle Worker of this process that a job became due, so it does not sit
	// out the poll interval (jobs enqueued by other replicas are found by polling).
	wake chan struct{}
}

// NewQueue returns the queue of db.
func NewQueue(db *DB) *Queue {
	return &Queue{db: db, Lease: time.Minute, Retention: 14 * 24 * time.Hour, MaxAttempts: 12, Logger: slog.Default(),
		wake: make(chan struct{}, 1)}
}

// Job is one unit of work.
type Job struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Payload  json.RawMessage `json:"payload"`
	RunAt    time.Time       `json:"run_at"`
	Attempts int             `json:"attempts"`
	LastErr  string          `json:"last_error,omitempty"`
}

var enqueueScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'payload', ARGV[3], 'attempts', 0, 'run_at', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1`)

// Enqueue adds a job to run at job.RunAt (now when zero). It reports false when a job
// with this ID is pending or finished within Retention.
func (q *Queue) Enqueue(ctx context.Context, kind, id string, payload any, runAt time.Time) (bool, error) {
	if runAt.IsZero() {
		runAt = q.db.Clock.Now()
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return false, fmt.Errorf("store: encode job %s: %w", kind, err)
	}
	n, err := enqueueScript.Run(ctx, q.db.Client, []string{keyQueueJob(id), keyQueueDone(id), keyQueueDue()},
		id, kind, b, runAt.UnixMilli()).Int()
	if err != nil {
		return false, unavailable("enqueue", err)
	}
	if n == 1 && !runAt.After(q.db.Clock.Now()) {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return n == 1, nil
}

// Cancel removes a pending job. A job running right now finishes.
func (q *Queue) Cancel(ctx context.Context, id string) error {
	_, err := q.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, keyQueueDue(), id)
		p.ZRem(ctx, keyQueueDead(), id)
		p.Del(ctx, keyQueueJob(id))
		return nil
	})
	if err != nil {
		return unavailable("cancel job", err)
	}
	return nil
}

// Pending reports whether a job is waiting or running.
func (q *Queue) Pending(ctx context.Context, id string) (bool, error) {
	n, err := q.db.Client.Exists(ctx, keyQueueJob(id)).Result()
	if err != nil {
		return false, unavailable("job state", err)
	}
	return n == 1, nil
}

// claimScript returns expired leases to the due set, then leases up to ARGV[3] due jobs.
var claimJobsScript = redis.NewScript(`
local now = tonumber(ARGV[1])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], id)
  if redis.call('EXISTS', ARGV[4] .. id) == 1 then redis.call('ZADD', KEYS[1], now, id) end
end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  redis.call('ZREM', KEYS[1], id)
  local k = ARGV[4] .. id
  if redis.call('EXISTS', k) == 1 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    local att = redis.call('HINCRBY', k, 'attempts', 1)
    local f = redis.call('HMGET', k, 'kind', 'payload', 'run_at')
    out[#out+1] = {id, f[1], f[2], f[3], att}
  end
end
return out`)

// Claim leases up to n due jobs.
func (q *Queue) Claim(ctx context.Context, n int) ([]Job, error) {
	now := q.db.Clock.Now()
	res, err := claimJobsScript.Run(ctx, q.db.Client, []string{keyQueueDue(), keyQueueLease()},
		now.UnixMilli(), q.Lease.Milliseconds(), n, QueuePrefix+"job:").Slice()
	if err != nil {
		return nil, unavailable("claim jobs", err)
	}
	jobs := make([]Job, 0, len(res))
	for _, r := range res {
		row := r.([]any)
		runAt, _ := strconv.ParseInt(toString(row[3]), 10, 64)
		att, _ := strconv.Atoi(toString(row[4]))
		jobs = append(jobs, Job{ID: toString(row[0]), Kind: toString(row[1]), Payload: json.RawMessage(toString(row[2])),
			RunAt: time.UnixMilli(runAt), Attempts: att})
	}
	return jobs, nil
}

// Ack finishes a job and blocks its ID for Retention.
func (q *Queue) Ack(ctx context.Context, id string) error {
	_, err := q.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, keyQueueLease(), id)
		p.Del(ctx, keyQueueJob(id))
		p.Set(ctx, keyQueueDone(id), "1", q.Retention)
		return nil
	})
	if err != nil {
		return unavailable("ack job", err)
	}
	return nil
}

// Fail schedules a retry after backoff, or dead-letters the job after MaxAttempts or a permanent error.
func (q *Queue) Fail(ctx context.Context, j Job, cause error) error {
	msg := cause.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	dead := errors.Is(cause, bot.ErrPermanent) || j.Attempts >= q.MaxAttempts
	delay := Backoff(j.Attempts)
	var ra *bot.RetryAfterError
	if errors.As(cause, &ra) && ra.After > delay {
		delay = ra.After
	}
	now := q.db.Clock.Now()
	_, err := q.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, keyQueueLease(), j.ID)
		p.HSet(ctx, keyQueueJob(j.ID), "last_error", msg)
		if dead {
			p.ZAdd(ctx, keyQueueDead(), redis.Z{Score: float64(now.UnixMilli()), Member: j.ID})
		} else {
			p.ZAdd(ctx, keyQueueDue(), redis.Z{Score: float64(now.Add(delay).UnixMilli()), Member: j.ID})
		}
		return nil
	})
	if err != nil {
		return unavailable("fail job", err)
	}
	return nil
}

// Backoff is the delay before attempt n+1: 1 s, 2 s, 4 s … capped at 10 min.
func Backoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 10)
	return min(d, 10*time.Minute)
}

// Dead lists dead-lettered jobs, newest first.
func (q *Queue) Dead(ctx context.Context) ([]Job, error) {
	ids, err := q.db.Client.ZRevRange(ctx, keyQueueDead(), 0, 199).Result()
	if err != nil {
		return nil, unavailable("list dead jobs", err)
	}
	out := make([]Job, 0, len(ids))
	for _, id := range ids {
		f, err := q.db.Client.HGetAll(ctx, keyQueueJob(id)).Result()
		if err != nil {
			return nil, unavailable("load dead job", err)
		}
		att, _ := strconv.Atoi(f["attempts"])
		out = append(out, Job{ID: id, Kind: f["kind"], Attempts: att, LastErr: f["last_error"]})
	}
	return out, nil
}

// Retry moves a dead job back to the due set with its attempts reset.
func (q *Queue) Retry(ctx context.Context, id string) error {
	n, err := q.db.Client.ZRem(ctx, keyQueueDead(), id).Result()
	if err != nil {
		return unavailable("retry job", err)
	}
	if n == 0 {
		return bot.Errorf(bot.ENOTFOUND, "dead job %s not found", id)
	}
	_, err = q.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, keyQueueJob(id), "attempts", 0)
		p.ZAdd(ctx, keyQueueDue(), redis.Z{Score: float64(q.db.Clock.Now().UnixMilli()), Member: id})
		return nil
	})
	if err != nil {
		return unavailable("retry job", err)
	}
	return nil
}

// JobFunc runs one job. Errors retry with backoff; wrap bot.ErrPermanent to dead-letter at once.
type JobFunc func(ctx context.Context, j Job) error

// Worker runs jobs of the registered kinds until its context ends.
type Worker struct {
	Queue *Queue
	// Concurrency is how many jobs run at once.
	Concurrency int
	// Poll is how often an idle worker looks for due jobs.
	Poll  time.Duration
	kinds map[string]JobFunc
	mu    sync.Mutex
}

// Handle registers the function for a job kind.
func (w *Worker) Handle(kind string, f JobFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kinds == nil {
		w.kinds = map[string]JobFunc{}
	}
	w.kinds[kind] = f
}

// Run processes jobs until ctx is done; running jobs are finished before it returns.
func (w *Worker) Run(ctx context.Context) {
	conc := max(w.Concurrency, 1)
	poll := w.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		free := conc - len(sem)
		if free == 0 {
			// Every slot is busy: claim again as soon as one frees up, not after the poll
			// interval, which capped a busy worker at Concurrency jobs per interval.
			select {
			case <-ctx.Done():
			case sem <- struct{}{}:
				<-sem
			}
			continue
		}
		jobs, err := w.Queue.Claim(ctx, free)
		if err != nil && ctx.Err() == nil {
			w.Queue.Logger.Warn("queue claim failed", "err", err)
		}
		for _, j := range jobs {
			sem <- struct{}{}
			wg.Add(1)
			go func(j Job) {
				defer func() { <-sem; wg.Done() }()
				w.runOne(j)
			}(j)
		}
		if len(jobs) == 0 {
			select {
			case <-ctx.Done():
			case <-w.Queue.wake:
			case <-time.After(poll):
			}
		}
	}
}

// RunDue processes every job due now, one at a time, and returns how many ran (for tests and CLIs).
func (w *Worker) RunDue(ctx context.Context) (int, error) {
	n := 0
	for {
		jobs, err := w.Queue.Claim(ctx, 16)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		for _, j := range jobs {
			w.runOne(j)
			n++
		}
	}
}

func (w *Worker) runOne(j Job) {
	w.mu.Lock()
	f := w.kinds[j.Kind]
	w.mu.Unlock()
	// Jobs finish even during shutdown: a half-done send is worse than a late stop.
	ctx, cancel := context.WithTimeout(context.Background(), w.Queue.Lease*3/4)
	defer cancel()
	var err error
	if f == nil {
		err = fmt.Errorf("store: no handler for job kind %q: %w", j.Kind, bot.ErrPermanent)
	} else {
		err = f(ctx, j)
	}
	if err == nil {
		if aerr := w.Queue.Ack(ctx, j.ID); aerr != nil {
			w.Queue.Logger.Error("job ack failed", "kind", j.Kind, "err", aerr)
		}
		return
	}
	w.Queue.Logger.Warn("job failed", "kind", j.Kind, "attempt", j.Attempts, "err", err)
	if ferr := w.Queue.Fail(ctx, j, err); ferr != nil {
		w.Queue.Logger.Error("job retry scheduling failed", "kind", j.Kind, "err", ferr)
	}
}
