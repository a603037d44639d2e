package lineworks

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

const (
	// minBackoff and maxBackoff bound the wait after a 429 without Retry-After
	// (LINE WORKS does not document one); it doubles per 429 in a row.
	minBackoff = time.Second
	maxBackoff = time.Minute
	// maxRetryAfter caps what a server may ask for, so a bogus header cannot park a tenant for days.
	maxRetryAfter = time.Hour
)

// limiter is a token bucket per tenant: LINE WORKS counts requests per domain, and one
// busy municipality must not slow down the others. It works on wall time (not the
// injected bot.Clock) because it must really wait.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[bot.TenantID]*bucket
}

type bucket struct {
	tokens    float64
	last      time.Time
	notBefore time.Time // set by a 429: nobody of this tenant calls before then
	strikes   int       // 429s in a row, for the backoff
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[bot.TenantID]*bucket{}}
}

func (l *limiter) get(t bot.TenantID, now time.Time) *bucket {
	b := l.buckets[t]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[t] = b
	}
	return b
}

// wait blocks until the tenant may make one more request, or ctx ends.
func (l *limiter) wait(ctx context.Context, t bot.TenantID) error {
	l.mu.Lock()
	now := l.now()
	b := l.get(t, now)
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	// Reserve a token now (the count may go negative) so that waiters queue up
	// in order instead of all waking at once.
	b.tokens--
	var delay time.Duration
	if b.tokens < 0 {
		delay = time.Duration(-b.tokens / l.rate * float64(time.Second))
	}
	if d := b.notBefore.Sub(now); d > delay {
		delay = d
	}
	l.mu.Unlock()
	if delay <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		b.tokens++ // give the reservation back
		l.mu.Unlock()
		return ctx.Err()
	}
}

// succeeded resets the 429 backoff of a tenant.
func (l *limiter) succeeded(t bot.TenantID) {
	l.mu.Lock()
	if b := l.buckets[t]; b != nil {
		b.strikes = 0
	}
	l.mu.Unlock()
}

// throttled records a 429 and returns how long to wait: Retry-After when the server
// sent one, else a backoff doubling with every 429 in a row. Other sends of the same
// tenant wait as well, instead of earning their own 429s.
func (l *limiter) throttled(t bot.TenantID, h http.Header) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.get(t, now)
	backoff := minBackoff << min(b.strikes, 6)
	if backoff > maxBackoff {
		backoff = maxBackoff
	}
	b.strikes++
	after := retryAfter(h, now, backoff)
	if nb := now.Add(after); nb.After(b.notBefore) {
		b.notBefore = nb
	}
	return after
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), else returns def.
func retryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	var d time.Duration
	if v == "" {
		return def
	} else if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return def
	}
	if d < time.Second {
		d = time.Second
	}
	if d > maxRetryAfter {
		d = maxRetryAfter
	}
	return d
}

// progress remembers how many contents of a delivery (by bot.Delivery.Key) were
// accepted, so an outbox retry after a 429 halfway through does not repeat them.
// It is per process and bounded; it narrows duplicates, it cannot rule them out.
type progress struct {
	mu  sync.Mutex
	m   map[string]progressEntry
	now func() time.Time
}

type progressEntry struct {
	sent int
	at   time.Time
}

const (
	progressTTL = 24 * time.Hour
	progressMax = 10000
)

func newProgress() *progress {
	return &progress{m: map[string]progressEntry{}, now: time.Now}
}

func (p *progress) get(key string) int {
	if key == "" {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[key]
	if !ok || p.now().Sub(e.at) > progressTTL {
		return 0
	}
	return e.sent
}

func (p *progress) set(key string, sent int) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if _, ok := p.m[key]; !ok && len(p.m) >= progressMax {
		for k, e := range p.m {
			if now.Sub(e.at) > progressTTL {
				delete(p.m, k)
			}
		}
		// Still full: forget arbitrary entries; the cost is a possible duplicate, not a loss.
		for k := range p.m {
			if len(p.m) < progressMax {
				break
			}
			delete(p.m, k)
		}
	}
	p.m[key] = progressEntry{sent: sent, at: now}
}
