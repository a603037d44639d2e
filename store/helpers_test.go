package store_test

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

// testRedisDB is the database this package uses on a real Redis, so that packages
// tested at the same time (cmd/kakehashi uses 2) do not flush each other's keys.
const testRedisDB = 1

// stepClock is a clock the test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock() *stepClock {
	return &stepClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, bot.Tokyo)}
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testRedisURL returns KAKEHASHI_TEST_REDIS_URL pointed at this package's database, or
// "" when the tests run on the embedded server.
func testRedisURL(t testing.TB) string {
	raw := os.Getenv("KAKEHASHI_TEST_REDIS_URL")
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("KAKEHASHI_TEST_REDIS_URL is not a URL")
	}
	u.Path = "/" + strconv.Itoa(testRedisDB)
	return u.String()
}

// openTest opens the store the tests run against: a real Redis (database 1, flushed)
// when KAKEHASHI_TEST_REDIS_URL is set, with the tests in turn; else a fresh embedded
// server without a data dir per test, with the tests in parallel.
// At the end of the test every key is audited against store.AllowedPrefixes.
func openTest(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	url := testRedisURL(t)
	if url == "" {
		// Each test has its own embedded server; only a shared real Redis needs them in turn.
		t.Parallel()
	}
	db, err := store.Open(ctx, store.Config{RedisURL: url})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if !db.Embedded() {
		if err := db.Client.FlushDB(ctx).Err(); err != nil {
			t.Fatalf("flush test db: %v", err)
		}
	}
	t.Cleanup(func() {
		auditKeys(t, db.Client)
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return db
}

// auditKeys fails the test for any key outside the documented prefixes: every key is
// either tenant-scoped (a Cluster hash tag) or one of the named global families.
func auditKeys(t *testing.T, c redis.UniversalClient) {
	t.Helper()
	for _, k := range scanKeys(t, c) {
		ok := false
		for _, p := range store.AllowedPrefixes {
			if strings.HasPrefix(k, p) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("key %q has none of the allowed prefixes %q", k, store.AllowedPrefixes)
		}
		if strings.HasPrefix(k, "t:{") && !strings.Contains(k, "}:") {
			t.Errorf("tenant key %q has no closed hash tag", k)
		}
	}
}

func scanKeys(t *testing.T, c redis.UniversalClient) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(context.Background(), 0, "*", 500).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return keys
}

// wantCode fails unless err carries the bot error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := bot.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// awaitTTL polls until cond holds. A server expires a key no earlier than its TTL, and
// the embedded server applies its clock in steps, so expiry is waited for, not slept for.
func awaitTTL(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// keyExists reports whether a key containing part exists (tests name no key layouts).
func keyExists(t *testing.T, c redis.UniversalClient, part string) bool {
	t.Helper()
	keys, _, err := c.Scan(context.Background(), 0, "*"+part+"*", 10000).Result()
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return len(keys) > 0
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
