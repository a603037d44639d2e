package store_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

// The tests in this file are about the embedded server itself, so they always use it,
// also when KAKEHASHI_TEST_REDIS_URL is set.

var quiet = slog.New(slog.DiscardHandler)

func openDir(t *testing.T, dir string, attach bool) (*store.DB, error) {
	t.Helper()
	return store.Open(context.Background(), store.Config{DataDir: dir, SnapshotEvery: time.Hour, Attach: attach, Logger: quiet})
}

func mustOpenDir(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := openDir(t, dir, false)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return db
}

// dump reads every key's type and value, for comparing two servers.
func dump(t *testing.T, c redis.UniversalClient) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	for _, k := range scanKeys(t, c) {
		typ, err := c.Type(ctx, k).Result()
		mustNoErr(t, err)
		var v any
		switch typ {
		case "string":
			v, err = c.Get(ctx, k).Result()
		case "hash":
			v, err = c.HGetAll(ctx, k).Result()
		case "list":
			v, err = c.LRange(ctx, k, 0, -1).Result()
		case "set":
			var m []string
			m, err = c.SMembers(ctx, k).Result()
			set := map[string]bool{}
			for _, x := range m {
				set[x] = true
			}
			v = set
		case "zset":
			v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			t.Fatalf("key %s has unexpected type %s", k, typ)
		}
		mustNoErr(t, err)
		out[typ+" "+k] = v
	}
	return out
}

func TestSnapshotRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenDir(t, dir)
	if !db.Embedded() || db.Attached() || !strings.HasPrefix(db.Addr(), "127.0.0.1:") {
		t.Fatalf("embedded=%v attached=%v addr=%q", db.Embedded(), db.Attached(), db.Addr())
	}
	c := db.Client
	const long = time.Hour
	// Every Redis type the store uses, with and without a TTL, binary-safe and Japanese.
	mustNoErr(t, c.Set(ctx, "t:{demo}:s", "デモ市 \x00\xff", 0).Err())
	mustNoErr(t, c.Set(ctx, "t:{demo}:s:ttl", "draft", long).Err())
	mustNoErr(t, c.HSet(ctx, "t:{demo}:h", "role", "staff", "uses_left", "-1").Err())
	mustNoErr(t, c.HSet(ctx, "t:{demo}:h:ttl", "owner", "p1").Err())
	mustNoErr(t, c.Expire(ctx, "t:{demo}:h:ttl", long).Err())
	mustNoErr(t, c.RPush(ctx, "t:{demo}:l", "1", "2", "3", "2").Err())
	mustNoErr(t, c.RPush(ctx, "t:{demo}:l:ttl", "x").Err())
	mustNoErr(t, c.Expire(ctx, "t:{demo}:l:ttl", long).Err())
	mustNoErr(t, c.SAdd(ctx, "t:{demo}:set", "p1", "p2").Err())
	mustNoErr(t, c.SAdd(ctx, "t:{demo}:set:ttl", "p3").Err())
	mustNoErr(t, c.Expire(ctx, "t:{demo}:set:ttl", long).Err())
	mustNoErr(t, c.ZAdd(ctx, "q:{jobs}:due", redis.Z{Score: 1764000000123, Member: "a"}, redis.Z{Score: -2.5, Member: "b"}).Err())
	mustNoErr(t, c.ZAdd(ctx, "q:{jobs}:z:ttl", redis.Z{Score: 1, Member: "c"}).Err())
	mustNoErr(t, c.Expire(ctx, "q:{jobs}:z:ttl", long).Err())
	mustNoErr(t, c.Set(ctx, "t:{demo}:short", "soon gone", 2*time.Second).Err())
	// And through the services.
	ms := store.NewMembershipService(db)
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "demo", Name: "デモ市", Departments: []string{"総務課", "市民課"}}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "DEMO-STAFF", Tenant: "demo", Role: bot.RoleStaff, UsesLeft: -1}))
	p, err := ms.Join(ctx, "DEMO-STAFF", webID("w1"), "鈴木")
	mustNoErr(t, err)
	_, err = store.NewQueue(db).Enqueue(ctx, "push", "j1", map[string]int{"n": 1}, time.Time{})
	mustNoErr(t, err)

	before := dump(t, c)
	delete(before, "string t:{demo}:short") // compared by its TTL below
	ttlBefore, err := c.PTTL(ctx, "t:{demo}:s:ttl").Result()
	mustNoErr(t, err)
	mustNoErr(t, db.Close()) // writes the final snapshot
	mustNoErr(t, db.Close()) // a second Close is harmless

	entries, err := os.ReadDir(dir)
	mustNoErr(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"kakehashi.lock", "kakehashi.snap"}, names); diff != "" {
		t.Errorf("data dir after Close (-want +got):\n%s", diff)
	}

	db2 := mustOpenDir(t, dir)
	t.Cleanup(func() { db2.Close() })
	shortTTL, err := db2.Client.PTTL(ctx, "t:{demo}:short").Result()
	mustNoErr(t, err)
	if shortTTL <= 0 || shortTTL > 2*time.Second {
		t.Errorf("short-lived key: TTL after restore %s, want (0, 2s]", shortTTL)
	}
	after := dump(t, db2.Client)
	delete(after, "string t:{demo}:short")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("restored data differs (-before +after):\n%s", diff)
	}
	for _, k := range []string{"t:{demo}:s:ttl", "t:{demo}:h:ttl", "t:{demo}:l:ttl", "t:{demo}:set:ttl", "q:{jobs}:z:ttl"} {
		ttl, err := db2.Client.PTTL(ctx, k).Result()
		mustNoErr(t, err)
		if ttl <= 0 || ttl > ttlBefore {
			t.Errorf("%s: TTL after restore %s, want (0, %s]", k, ttl, ttlBefore)
		}
	}
	for _, k := range []string{"t:{demo}:s", "t:{demo}:h", "q:{jobs}:due"} {
		if ttl, _ := db2.Client.PTTL(ctx, k).Result(); ttl != -1 {
			t.Errorf("%s: TTL after restore %s, want none", k, ttl)
		}
	}
	got, err := store.NewMembershipService(db2).PersonByIdentity(ctx, "demo", webID("w1"))
	mustNoErr(t, err)
	if got.ID != p.ID || got.DisplayName != "鈴木" {
		t.Errorf("restored person = %+v", got)
	}
	// The TTLs keep counting after the restore.
	deadline := time.Now().Add(6 * time.Second)
	for db2.Client.Exists(ctx, "t:{demo}:short").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("a restored key with a 2 s TTL never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSnapshotDowntimeCounts: time the server was stopped counts against TTLs, as with
// Redis' own persistence; a draft does not come back to life after a long outage.
func TestSnapshotDowntimeCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenDir(t, dir)
	mustNoErr(t, db.Client.Set(ctx, "t:{demo}:conv:web:u", "draft", 300*time.Millisecond).Err())
	mustNoErr(t, db.Client.Set(ctx, "t:{demo}:keep", "x", time.Hour).Err())
	mustNoErr(t, db.Close())
	time.Sleep(400 * time.Millisecond)
	db2 := mustOpenDir(t, dir)
	defer db2.Close()
	if n := db2.Client.Exists(ctx, "t:{demo}:conv:web:u").Val(); n != 0 {
		t.Error("a key whose TTL ran out while the server was stopped was restored")
	}
	if n := db2.Client.Exists(ctx, "t:{demo}:keep").Val(); n != 1 {
		t.Error("a key with time left was not restored")
	}
}

// TestSnapshotPeriodic: the running server snapshots on its own, so a crash (no Close)
// loses at most one interval.
func TestSnapshotPeriodic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Config{DataDir: dir, SnapshotEvery: 50 * time.Millisecond, Logger: quiet})
	mustNoErr(t, err)
	defer db.Close()
	mustNoErr(t, db.Client.Set(ctx, "t:{demo}:k", "v1", 0).Err())
	snap := filepath.Join(dir, "kakehashi.snap")
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Copy the snapshot as a crash would leave it and open the copy.
		raw, err := os.ReadFile(snap)
		if err == nil {
			crashDir := t.TempDir()
			mustNoErr(t, os.WriteFile(filepath.Join(crashDir, "kakehashi.snap"), raw, 0o600))
			db2 := mustOpenDir(t, crashDir)
			v, _ := db2.Client.Get(ctx, "t:{demo}:k").Result()
			db2.Close()
			if v == "v1" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no periodic snapshot with the data within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Snapshots are atomic: once the loop has stopped, no temp files are left behind.
	mustNoErr(t, db.Snapshot(ctx))
	mustNoErr(t, db.Close())
	matches, _ := filepath.Glob(filepath.Join(dir, "*.tmp*"))
	if len(matches) != 0 {
		t.Errorf("temp files left: %v", matches)
	}
}

func TestSnapshotDamaged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	snap := filepath.Join(dir, "kakehashi.snap")
	mustNoErr(t, os.WriteFile(snap, []byte("this is not a snapshot"), 0o600))
	_, err := openDir(t, dir, false)
	if err == nil {
		t.Fatal("Open accepted a damaged snapshot")
	}
	if !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), snap) {
		t.Errorf("error %q should say the snapshot is damaged and name it", err)
	}
	// A truncated real snapshot (a torn write by some other tool) is damaged too.
	good := t.TempDir()
	db := mustOpenDir(t, good)
	mustNoErr(t, db.Client.Set(context.Background(), "t:{demo}:k", strings.Repeat("x", 1000), 0).Err())
	mustNoErr(t, db.Close())
	raw, err := os.ReadFile(filepath.Join(good, "kakehashi.snap"))
	mustNoErr(t, err)
	torn := t.TempDir()
	mustNoErr(t, os.WriteFile(filepath.Join(torn, "kakehashi.snap"), raw[:len(raw)/2], 0o600))
	if _, err := openDir(t, torn, false); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("truncated snapshot: err = %v, want damaged", err)
	}
	// The failed Open released the directory: moving the file away starts empty.
	mustNoErr(t, os.Rename(snap, snap+".bad"))
	db2 := mustOpenDir(t, dir)
	defer db2.Close()
	if n := len(scanKeys(t, db2.Client)); n != 0 {
		t.Errorf("fresh start has %d keys", n)
	}
}

func TestOpenRunningAndAttach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	server := mustOpenDir(t, dir)
	defer server.Close()

	_, err := openDir(t, dir, false)
	if !errors.Is(err, store.ErrRunning) {
		t.Fatalf("second Open: err = %v, want ErrRunning", err)
	}

	admin, err := openDir(t, dir, true)
	mustNoErr(t, err)
	if !admin.Attached() || admin.Embedded() {
		t.Fatalf("attach: attached=%v embedded=%v", admin.Attached(), admin.Embedded())
	}
	ms := store.NewMembershipService(admin)
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "kobe", Name: "神戸市"}))
	mustNoErr(t, admin.Close())

	// The server sees what the admin wrote, and keeps running after the admin left.
	tn, err := store.NewMembershipService(server).Tenant(ctx, "kobe")
	mustNoErr(t, err)
	if tn.Name != "神戸市" {
		t.Errorf("tenant via server = %+v", tn)
	}
	mustNoErr(t, server.Ping(ctx))
	// A second admin can attach too.
	admin2, err := openDir(t, dir, true)
	mustNoErr(t, err)
	mustNoErr(t, admin2.Ping(ctx))
	mustNoErr(t, admin2.Close())

	// The embedded server is reachable only with its password.
	c := redis.NewClient(&redis.Options{Addr: server.Addr()})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Error("embedded server answered without a password")
	}
	info, err := os.Stat(filepath.Join(dir, "embedded.json"))
	mustNoErr(t, err)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("embedded.json mode %v, want 0600", info.Mode().Perm())
	}

	// Once the server stops, the directory opens directly with what was written.
	mustNoErr(t, server.Close())
	if _, err := os.Stat(filepath.Join(dir, "embedded.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("embedded.json left after Close: %v", err)
	}
	db, err := openDir(t, dir, true)
	mustNoErr(t, err)
	defer db.Close()
	if db.Attached() || !db.Embedded() {
		t.Errorf("open after stop: attached=%v embedded=%v", db.Attached(), db.Embedded())
	}
	tn, err = store.NewMembershipService(db).Tenant(ctx, "kobe")
	mustNoErr(t, err)
	if tn.Name != "神戸市" {
		t.Errorf("tenant after restart = %+v", tn)
	}
}
