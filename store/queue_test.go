package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

// newTestQueue returns a queue on a store whose clock the test moves.
func newTestQueue(t *testing.T) (*store.Queue, *stepClock) {
	t.Helper()
	db := openTest(t)
	clock := newStepClock()
	db.Clock = clock
	q := store.NewQueue(db)
	q.Lease = 200 * time.Millisecond
	return q, clock
}

func claimIDs(t *testing.T, q *store.Queue, n int) []string {
	t.Helper()
	jobs, err := q.Claim(context.Background(), n)
	mustNoErr(t, err)
	ids := []string{}
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

func TestQueueEnqueueOnce(t *testing.T) {
	ctx := context.Background()
	q, clock := newTestQueue(t)
	ok, err := q.Enqueue(ctx, "remind", "r1", map[string]string{"meeting": "m1"}, time.Time{})
	mustNoErr(t, err)
	if !ok {
		t.Fatal("first enqueue reported a duplicate")
	}
	ok, err = q.Enqueue(ctx, "remind", "r1", map[string]string{"meeting": "other"}, time.Time{})
	mustNoErr(t, err)
	if ok {
		t.Fatal("second enqueue of r1 was accepted")
	}
	jobs, err := q.Claim(ctx, 10)
	mustNoErr(t, err)
	if len(jobs) != 1 {
		t.Fatalf("claimed %d jobs, want 1", len(jobs))
	}
	j := jobs[0]
	if j.ID != "r1" || j.Kind != "remind" || string(j.Payload) != `{"meeting":"m1"}` || j.Attempts != 1 || !j.RunAt.Equal(clock.Now()) {
		t.Errorf("job = %+v", j)
	}
	// While leased it is still pending and cannot be enqueued again.
	pending, err := q.Pending(ctx, "r1")
	mustNoErr(t, err)
	if !pending {
		t.Error("leased job not pending")
	}
	if ok, _ := q.Enqueue(ctx, "remind", "r1", nil, time.Time{}); ok {
		t.Error("enqueue while leased was accepted")
	}
	// After Ack the ID stays blocked for Retention, then may be used again.
	q.Retention = 500 * time.Millisecond
	mustNoErr(t, q.Ack(ctx, "r1"))
	pending, err = q.Pending(ctx, "r1")
	mustNoErr(t, err)
	if pending {
		t.Error("acked job still pending")
	}
	if ok, _ := q.Enqueue(ctx, "remind", "r1", nil, time.Time{}); ok {
		t.Error("enqueue right after ack was accepted (a reminder would be sent twice)")
	}
	awaitTTL(t, "the ID is free again after Retention", func() bool {
		ok, err := q.Enqueue(ctx, "remind", "r1", nil, time.Time{})
		mustNoErr(t, err)
		return ok
	})
}

func TestQueueDueOrder(t *testing.T) {
	ctx := context.Background()
	q, clock := newTestQueue(t)
	now := clock.Now()
	for _, j := range []struct {
		id string
		at time.Duration
	}{{"c", 3 * time.Second}, {"a", time.Second}, {"later", time.Hour}, {"b", 2 * time.Second}} {
		_, err := q.Enqueue(ctx, "k", j.id, nil, now.Add(j.at))
		mustNoErr(t, err)
	}
	if got := claimIDs(t, q, 10); len(got) != 0 {
		t.Fatalf("claimed %v before anything was due", got)
	}
	clock.Add(2 * time.Second)
	if diff := cmp.Diff([]string{"a", "b"}, claimIDs(t, q, 10)); diff != "" {
		t.Errorf("due at +2s (-want +got):\n%s", diff)
	}
	mustNoErr(t, q.Ack(ctx, "a"))
	mustNoErr(t, q.Ack(ctx, "b"))
	clock.Add(time.Minute)
	if diff := cmp.Diff([]string{"c"}, claimIDs(t, q, 10)); diff != "" {
		t.Errorf("due at +1m (-want +got):\n%s", diff)
	}
	// n bounds a claim.
	for i := range 5 {
		_, err := q.Enqueue(ctx, "k", fmt.Sprintf("n%d", i), nil, clock.Now().Add(-time.Duration(5-i)*time.Millisecond))
		mustNoErr(t, err)
	}
	if diff := cmp.Diff([]string{"n0", "n1"}, claimIDs(t, q, 2)); diff != "" {
		t.Errorf("claim 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"n2", "n3", "n4"}, claimIDs(t, q, 10)); diff != "" {
		t.Errorf("rest (-want +got):\n%s", diff)
	}
}

// TestQueueLeaseExpiry: a worker that claimed a job and died never acks it; after the
// lease the job runs again elsewhere.
func TestQueueLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	q, clock := newTestQueue(t)
	_, err := q.Enqueue(ctx, "push", "p1", "hello", time.Time{})
	mustNoErr(t, err)
	if got := claimIDs(t, q, 1); len(got) != 1 { // the worker that crashes
		t.Fatalf("claimed %v", got)
	}
	clock.Add(q.Lease - time.Millisecond)
	if got := claimIDs(t, q, 1); len(got) != 0 {
		t.Fatalf("job redelivered within its lease: %v", got)
	}
	clock.Add(time.Millisecond)

	var ran []store.Job
	w := &store.Worker{Queue: q}
	w.Handle("push", func(_ context.Context, j store.Job) error { ran = append(ran, j); return nil })
	n, err := w.RunDue(ctx)
	mustNoErr(t, err)
	if n != 1 || len(ran) != 1 || ran[0].ID != "p1" || ran[0].Attempts != 2 || string(ran[0].Payload) != `"hello"` {
		t.Fatalf("after lease expiry ran %d: %+v", n, ran)
	}
	clock.Add(time.Hour)
	if n, _ := w.RunDue(ctx); n != 0 {
		t.Errorf("acked job ran again (%d)", n)
	}
}

func TestQueueFailBackoff(t *testing.T) {
	ctx := context.Background()
	q, clock := newTestQueue(t)
	_, err := q.Enqueue(ctx, "push", "j", nil, time.Time{})
	mustNoErr(t, err)

	// Plain failures back off 1 s, 2 s, 4 s …
	for attempt, delay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		jobs, err := q.Claim(ctx, 1)
		mustNoErr(t, err)
		if len(jobs) != 1 || jobs[0].Attempts != attempt+1 {
			t.Fatalf("attempt %d: claimed %+v", attempt+1, jobs)
		}
		mustNoErr(t, q.Fail(ctx, jobs[0], errors.New("platform 503")))
		clock.Add(delay - time.Millisecond)
		if got := claimIDs(t, q, 1); len(got) != 0 {
			t.Fatalf("attempt %d retried before %s", attempt+1, delay)
		}
		clock.Add(time.Millisecond)
	}

	// Retry-After longer than the backoff wins.
	jobs, err := q.Claim(ctx, 1)
	mustNoErr(t, err)
	if len(jobs) != 1 || jobs[0].Attempts != 4 {
		t.Fatalf("claimed %+v", jobs)
	}
	mustNoErr(t, q.Fail(ctx, jobs[0], fmt.Errorf("send: %w", &bot.RetryAfterError{After: 30 * time.Second, Err: errors.New("429")})))
	clock.Add(30*time.Second - time.Millisecond)
	if got := claimIDs(t, q, 1); len(got) != 0 {
		t.Fatal("Retry-After not honoured")
	}
	clock.Add(time.Millisecond)
	jobs, err = q.Claim(ctx, 1)
	mustNoErr(t, err)
	if len(jobs) != 1 {
		t.Fatal("job lost after Retry-After")
	}
	// A Retry-After shorter than the backoff (16 s after attempt 5) does not shorten it.
	if jobs[0].Attempts != 5 {
		t.Fatalf("attempts = %d, want 5", jobs[0].Attempts)
	}
	mustNoErr(t, q.Fail(ctx, jobs[0], &bot.RetryAfterError{After: time.Second, Err: errors.New("429")}))
	clock.Add(16*time.Second - time.Millisecond)
	if got := claimIDs(t, q, 1); len(got) != 0 {
		t.Fatal("short Retry-After shortened the backoff")
	}
	clock.Add(time.Millisecond)
	if got := claimIDs(t, q, 1); len(got) != 1 {
		t.Fatal("job lost")
	}
}

func TestBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 10: 512 * time.Second, 11: 10 * time.Minute, 50: 10 * time.Minute} {
		if got := store.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", attempt, got, want)
		}
	}
}

func TestQueueDeadLetter(t *testing.T) {
	ctx := context.Background()
	q, clock := newTestQueue(t)
	q.MaxAttempts = 2
	for _, id := range []string{"perm", "tired", "fine"} {
		_, err := q.Enqueue(ctx, "push", id, nil, time.Time{})
		mustNoErr(t, err)
	}
	jobs, err := q.Claim(ctx, 10)
	mustNoErr(t, err)
	byID := map[string]store.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	// A permanent error dead-letters at once.
	mustNoErr(t, q.Fail(ctx, byID["perm"], fmt.Errorf("line: 400 bad recipient: %w", bot.ErrPermanent)))
	// Too many attempts dead-letter too.
	mustNoErr(t, q.Fail(ctx, byID["tired"], errors.New("timeout")))
	mustNoErr(t, q.Ack(ctx, "fine"))
	clock.Add(time.Second)
	jobs, err = q.Claim(ctx, 10)
	mustNoErr(t, err)
	if len(jobs) != 1 || jobs[0].ID != "tired" || jobs[0].Attempts != 2 {
		t.Fatalf("second round claimed %+v", jobs)
	}
	mustNoErr(t, q.Fail(ctx, jobs[0], errors.New("timeout again")))
	clock.Add(time.Hour)
	if got := claimIDs(t, q, 10); len(got) != 0 {
		t.Fatalf("dead jobs were claimed: %v", got)
	}
	dead, err := q.Dead(ctx)
	mustNoErr(t, err)
	got := map[string]string{}
	for _, j := range dead {
		got[j.ID] = fmt.Sprintf("%s/%d/%s", j.Kind, j.Attempts, j.LastErr)
	}
	want := map[string]string{
		"perm":  "push/1/line: 400 bad recipient: permanent delivery failure",
		"tired": "push/2/timeout again",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead jobs (-want +got):\n%s", diff)
	}

	// Retry puts a dead job back with its attempts reset.
	mustNoErr(t, q.Retry(ctx, "tired"))
	jobs, err = q.Claim(ctx, 10)
	mustNoErr(t, err)
	if len(jobs) != 1 || jobs[0].ID != "tired" || jobs[0].Attempts != 1 {
		t.Fatalf("after Retry claimed %+v", jobs)
	}
	mustNoErr(t, q.Ack(ctx, "tired"))
	wantCode(t, q.Retry(ctx, "tired"), bot.ENOTFOUND)
	wantCode(t, q.Retry(ctx, "never"), bot.ENOTFOUND)

	// Cancel removes dead and pending jobs alike.
	mustNoErr(t, q.Cancel(ctx, "perm"))
	dead, err = q.Dead(ctx)
	mustNoErr(t, err)
	if len(dead) != 0 {
		t.Errorf("dead after cancel: %+v", dead)
	}
}

func TestQueueCancel(t *testing.T) {
	ctx := context.Background()
	q, clock := newTestQueue(t)
	_, err := q.Enqueue(ctx, "remind", "m1:24h", nil, clock.Now().Add(time.Hour))
	mustNoErr(t, err)
	_, err = q.Enqueue(ctx, "remind", "m1:1h", nil, clock.Now().Add(2*time.Hour))
	mustNoErr(t, err)
	mustNoErr(t, q.Cancel(ctx, "m1:24h"))
	mustNoErr(t, q.Cancel(ctx, "unknown")) // cancelling nothing is fine
	pending, err := q.Pending(ctx, "m1:24h")
	mustNoErr(t, err)
	if pending {
		t.Error("cancelled job pending")
	}
	clock.Add(3 * time.Hour)
	if diff := cmp.Diff([]string{"m1:1h"}, claimIDs(t, q, 10)); diff != "" {
		t.Errorf("claimed (-want +got):\n%s", diff)
	}
	// A moved meeting re-enqueues under the same ID once the old one is cancelled.
	ok, err := q.Enqueue(ctx, "remind", "m1:24h", nil, time.Time{})
	mustNoErr(t, err)
	if !ok {
		t.Error("re-enqueue after cancel refused")
	}
}

// TestWorkerRun runs the background worker for real: every job runs exactly once, an
// unknown kind is dead-lettered, and Run returns when its context ends.
func TestWorkerRun(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	q := store.NewQueue(db)
	q.Logger = slog.New(slog.DiscardHandler)
	w := &store.Worker{Queue: q, Concurrency: 4, Poll: 5 * time.Millisecond}
	var mu sync.Mutex
	counts := map[string]int{}
	done := make(chan struct{}, 100)
	w.Handle("count", func(_ context.Context, j store.Job) error {
		var n int
		if err := json.Unmarshal(j.Payload, &n); err != nil {
			return err
		}
		mu.Lock()
		counts[j.ID]++
		mu.Unlock()
		done <- struct{}{}
		return nil
	})
	const jobs = 40
	for i := range jobs {
		_, err := q.Enqueue(ctx, "count", fmt.Sprintf("c%02d", i), i, time.Time{})
		mustNoErr(t, err)
	}
	_, err := q.Enqueue(ctx, "mystery", "m", nil, time.Time{})
	mustNoErr(t, err)

	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { w.Run(runCtx); close(stopped) }()
	timeout := time.After(10 * time.Second)
	for range jobs {
		select {
		case <-done:
		case <-timeout:
			t.Fatal("worker did not run every job")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		dead, err := q.Dead(ctx)
		mustNoErr(t, err)
		if len(dead) == 1 && dead[0].ID == "m" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unknown kind not dead-lettered: %+v", dead)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range counts {
		if n != 1 {
			t.Errorf("job %s ran %d times", id, n)
		}
	}
	if len(counts) != jobs {
		t.Errorf("ran %d distinct jobs, want %d", len(counts), jobs)
	}
}

func TestSentRecords(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := store.NewSentRecords(db)
	first, err := s.Begin(ctx, "demo", "push:1")
	mustNoErr(t, err)
	if !first {
		t.Fatal("first Begin refused")
	}
	// A failed send is forgotten, so the retry sends.
	s.Abort(ctx, "demo", "push:1")
	first, err = s.Begin(ctx, "demo", "push:1")
	mustNoErr(t, err)
	if !first {
		t.Fatal("Begin after Abort refused")
	}
	mustNoErr(t, s.Done(ctx, "demo", "push:1"))
	first, err = s.Begin(ctx, "demo", "push:1")
	mustNoErr(t, err)
	if first {
		t.Fatal("Begin after Done allowed a second send")
	}
	// Keys are per tenant.
	first, err = s.Begin(ctx, "other", "push:1")
	mustNoErr(t, err)
	if !first {
		t.Fatal("another tenant's record blocked the send")
	}
}
