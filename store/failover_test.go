package store_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/store"
)

// redisServer runs one redis-server (or Sentinel) process for the failover test.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T, args ...string) *redisServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &redisServer{port: port}
	full := append([]string{}, args...)
	full = append(full, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--daemonize", "no", "--loglevel", "warning")
	s.cmd = exec.Command("redis-server", full...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
	})
	c := s.client()
	defer c.Close()
	for deadline := time.Now().Add(15 * time.Second); c.Ping(context.Background()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %d did not start", port)
		}
	}
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
}

// TestSentinelFailover runs store.Open with a redis-sentinel:// URL against a local
// primary, a replica and three Sentinels, keeps enqueueing jobs through the durable
// queue while SENTINEL FAILOVER promotes the replica, and counts the acknowledged
// writes that the new primary does not have. RELIABILITY.md reports the numbers.
//
// With Redis' defaults the old primary accepts writes until the Sentinels demote it,
// after the replica was promoted: those writes are acknowledged and then lost (the
// test measures them and fails only if the client never reaches the new primary).
// With min-replicas-to-write 1 the old primary refuses writes once its replica left
// it: only writes racing the promotion itself can be lost (0–1 measured), and writes
// stop until the old primary has resynced as the new one's replica (about 10 s).
func TestSentinelFailover(t *testing.T) {
	t.Run("defaults", func(t *testing.T) { sentinelFailover(t, false) })
	t.Run("min-replicas-to-write", func(t *testing.T) { sentinelFailover(t, true) })
}

func sentinelFailover(t *testing.T, minReplicas bool) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	if testing.Short() {
		t.Skip("starts five redis processes and fails over")
	}
	ctx := context.Background()
	aof := func() []string {
		a := []string{"--dir", t.TempDir(), "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--repl-diskless-sync-delay", "0"}
		if minReplicas {
			a = append(a, "--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
		}
		return a
	}
	primary := startRedisServer(t, aof()...)
	replica := startRedisServer(t, append(aof(), "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))...)
	var sentinels []*redisServer
	for i := range 3 {
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf("dir %s\nsentinel monitor mymaster 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 10000\n", dir, primary.port)), 0o600)
		sentinels = append(sentinels, startRedisServer(t, conf, "--sentinel"))
		_ = i
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinels[0].addr()})
	defer sc.Close()
	// A forced failover promotes a replica even if it never synced (everything lost):
	// wait for the link, and until the Sentinels know the replica and each other.
	rc := replica.client()
	waitUntil(t, 30*time.Second, "the replica is in sync", func() bool {
		return strings.Contains(rc.Info(ctx, "replication").Val(), "master_link_status:up")
	})
	rc.Close()
	waitUntil(t, 30*time.Second, "sentinels see the replica and each other", func() bool {
		reps, err := sc.Replicas(ctx, "mymaster").Result()
		if err != nil || len(reps) != 1 || !strings.Contains(fmt.Sprint(reps[0]), "slave") || strings.Contains(fmt.Sprint(reps[0]), "s_down") {
			return false
		}
		sens, err := sc.Sentinels(ctx, "mymaster").Result()
		return err == nil && len(sens) == 2
	})

	var addrs []string
	for _, s := range sentinels {
		addrs = append(addrs, s.addr())
	}
	db, err := store.Open(ctx, store.Config{RedisURL: "redis-sentinel://" + strings.Join(addrs, ",") + "/mymaster"})
	if err != nil {
		t.Fatalf("open through sentinel: %v", err)
	}
	defer db.Close()
	q := store.NewQueue(db)

	// The writer: one job after another, as the webhooks would enqueue them.
	type outcome struct {
		at    time.Time
		acked bool
	}
	var mu sync.Mutex
	results := map[int]outcome{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ok, err := q.Enqueue(wctx, "failover", "fo:"+strconv.Itoa(i), map[string]int{"i": i}, time.Time{})
			cancel()
			mu.Lock()
			results[i] = outcome{at: time.Now(), acked: err == nil && ok}
			mu.Unlock()
			if err != nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	time.Sleep(time.Second)
	failoverAt := time.Now()
	if err := sc.Failover(ctx, "mymaster").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	waitUntil(t, 30*time.Second, "the replica is promoted", func() bool {
		a, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
		return err == nil && len(a) == 2 && a[1] == strconv.Itoa(replica.port)
	})
	promoted := time.Since(failoverAt)
	// Writes go on until some succeed against the new primary (with min-replicas-to-write
	// it takes writes once the old primary has resynced as its replica), then a second more.
	promotedAt := time.Now()
	resumed := time.Duration(-1)
	for deadline := time.Now().Add(30 * time.Second); resumed < 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		for _, o := range results {
			if o.acked && o.at.After(promotedAt) {
				resumed = time.Since(failoverAt)
				break
			}
		}
		mu.Unlock()
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	// What the new primary has.
	nc := replica.client()
	defer nc.Close()
	if role, _ := nc.Do(ctx, "ROLE").Slice(); len(role) == 0 || role[0] != "master" {
		t.Fatalf("the old replica's role after the failover = %v", role)
	}
	waitUntil(t, 30*time.Second, "the old primary follows the new one", func() bool {
		oc := primary.client()
		defer oc.Close()
		role, err := oc.Do(ctx, "ROLE").Slice()
		return err == nil && len(role) > 0 && role[0] == "slave"
	})
	var acked, failed, lost, ackedAfter int
	var firstErr, lastErr, firstLost, lastLost time.Time
	mu.Lock()
	defer mu.Unlock()
	for i, o := range results {
		if !o.acked {
			failed++
			if firstErr.IsZero() || o.at.Before(firstErr) {
				firstErr = o.at
			}
			if o.at.After(lastErr) {
				lastErr = o.at
			}
			continue
		}
		acked++
		if o.at.After(failoverAt.Add(promoted)) {
			ackedAfter++
		}
		if n, err := nc.Exists(ctx, store.QueuePrefix+"job:fo:"+strconv.Itoa(i)).Result(); err != nil || n != 1 {
			lost++
			if firstLost.IsZero() || o.at.Before(firstLost) {
				firstLost = o.at
			}
			if o.at.After(lastLost) {
				lastLost = o.at
			}
		}
	}
	gap := time.Duration(0)
	if failed > 0 {
		gap = lastErr.Sub(firstErr)
	}
	window := time.Duration(0)
	if lost > 0 {
		window = lastLost.Sub(firstLost)
		t.Logf("lost writes were acknowledged from %s to %s after SENTINEL FAILOVER", firstLost.Sub(failoverAt).Round(time.Millisecond), lastLost.Sub(failoverAt).Round(time.Millisecond))
	}
	t.Logf("failover (min-replicas-to-write %v): promoted after %s, writes resumed after %s; %d writes acknowledged (%d after the promotion), %d failed with an error (over %s), %d acknowledged but lost (over %s)",
		minReplicas, promoted.Round(time.Millisecond), resumed.Round(time.Millisecond), acked, ackedAfter, failed, gap.Round(time.Millisecond), lost, window.Round(time.Millisecond))
	if ackedAfter == 0 {
		t.Error("no write succeeded after the failover: the client did not follow the new primary")
	}
	// What may be lost is bounded by the failover: nothing acknowledged after the
	// promotion (plus the time the client needs to hear of it) is lost.
	if lost > 0 && lastLost.After(failoverAt.Add(promoted+time.Second)) {
		t.Errorf("a write acknowledged %s after SENTINEL FAILOVER (promotion took %s) was lost", lastLost.Sub(failoverAt), promoted)
	}
	// With min-replicas-to-write 1 only writes racing the promotion itself can be lost.
	if minReplicas && lost > 5 {
		t.Errorf("%d acknowledged writes lost with min-replicas-to-write 1", lost)
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
	}
}
