package slack

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bot"
)

// maxCacheEntries bounds the in-memory caches; past it, expired entries are dropped and,
// if that is not enough, the cache starts over.
const maxCacheEntries = 10000

// userInfo is what the adapter needs to know about a Slack user. It is kept in memory only
// and never logged.
type userInfo struct {
	name   string
	locale string
	// member is true for a full member of the workspace: not a guest, bot, or deactivated account.
	member bool
}

type userEntry struct {
	info    userInfo
	ok      bool
	expires time.Time
}

// userCache caches users.info answers for a TTL (negative answers for a shorter time, so a
// failing API is not asked on every message).
type userCache struct {
	mu      sync.Mutex
	entries map[string]userEntry
	ttl     time.Duration
	clock   bot.Clock
}

func newUserCache(ttl time.Duration, clock bot.Clock) *userCache {
	return &userCache{entries: map[string]userEntry{}, ttl: ttl, clock: clock}
}

// lookup returns the cached user or asks fetch; ok is false when nothing is known.
func (c *userCache) lookup(ctx context.Context, id string, fetch func(context.Context, string) (*slack.User, error)) (userInfo, bool, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, hit := c.entries[id]
	c.mu.Unlock()
	if hit && now.Before(e.expires) {
		return e.info, e.ok, nil
	}
	u, err := fetch(ctx, id)
	e = userEntry{ok: err == nil && u != nil}
	if e.ok {
		e.info = userInfo{
			name:   displayName(u),
			locale: u.Locale,
			member: !u.IsBot && !u.Deleted && !u.IsRestricted && !u.IsUltraRestricted && !u.IsStranger,
		}
		e.expires = now.Add(c.ttl)
	} else {
		e.expires = now.Add(min(c.ttl, time.Minute))
	}
	c.mu.Lock()
	if len(c.entries) >= maxCacheEntries {
		for k, v := range c.entries {
			if !now.Before(v.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCacheEntries {
			c.entries = map[string]userEntry{}
		}
	}
	c.entries[id] = e
	c.mu.Unlock()
	return e.info, e.ok, err
}

func displayName(u *slack.User) string {
	for _, s := range []string{u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// langOf maps a Slack locale ("en-US", "ja-JP") to a bot language; Japanese is the default.
func langOf(locale string) bot.Lang {
	if strings.HasPrefix(strings.ToLower(locale), "en") {
		return bot.LangEN
	}
	return bot.LangJA
}

// stringCache is a bounded map for values that do not change (user → DM channel).
type stringCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *stringCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *stringCache) put(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCacheEntries {
		c.m = map[string]string{}
	}
	c.m[k] = v
}

// doneSet remembers which parts of a delivery were already posted, so that when the outbox
// retries a delivery after a 429 or an error half way, the parts Slack already accepted are
// not posted again. It is per process; the outbox's own dedupe covers the rest.
type doneSet struct {
	mu  sync.Mutex
	m   map[string]time.Time
	ttl time.Duration
}

func (s *doneSet) has(k string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[k]
	return ok && now.Before(t)
}

func (s *doneSet) add(k string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]time.Time{}
	}
	if len(s.m) >= maxCacheEntries {
		for k, t := range s.m {
			if !now.Before(t) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= maxCacheEntries {
			s.m = map[string]time.Time{}
		}
	}
	s.m[k] = now.Add(s.ttl)
}

// postBurst is how many messages may go to one channel at once before the interval applies.
// Slack allows about one message per second per channel "with generous burst behavior"; a
// reply of two or three messages must not hold an outbox worker for seconds (under load
// the strict spacing parked every worker in wait and the outbox ran 8 deliveries a second).
const postBurst = 3

// limiter spaces messages to one channel by an interval (Slack: about 1 message per second
// per channel) after a burst of postBurst. It reserves slots in order, so concurrent senders
// queue rather than exceed the rate.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     map[string]time.Time
}

// wait blocks until the channel's next slot or until ctx is done.
func (l *limiter) wait(ctx context.Context, channel string) error {
	l.mu.Lock()
	now := time.Now()
	if l.next == nil {
		l.next = map[string]time.Time{}
	}
	if len(l.next) >= maxCacheEntries {
		for k, t := range l.next {
			if t.Before(now) {
				delete(l.next, k)
			}
		}
	}
	at := l.next[channel]
	// An idle channel has a full burst: its next slot may lie up to postBurst-1 intervals back.
	if floor := now.Add(-time.Duration(postBurst-1) * l.interval); at.Before(floor) {
		at = floor
	}
	l.next[channel] = at.Add(l.interval)
	l.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold keeps the channel quiet for d after Slack answered 429.
func (l *limiter) hold(channel string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next == nil {
		l.next = map[string]time.Time{}
	}
	if until := time.Now().Add(d); l.next[channel].Before(until) {
		l.next[channel] = until
	}
}
