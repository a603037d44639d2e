package store

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

const (
	snapshotFile = "kakehashi.snap"
	runningFile  = "embedded.json"
	lockFile     = "kakehashi.lock"
)

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (db *DB) unlock() {
	if db.infoPath != "" {
		os.Remove(db.infoPath)
	}
	if db.lock != nil {
		syscall.Flock(int(db.lock.Fd()), syscall.LOCK_UN)
		db.lock.Close()
		db.lock = nil
	}
}

// attach connects to the embedded server of the process that holds the data dir.
func (db *DB) attach(ctx context.Context, dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, runningFile))
	if err != nil {
		return fmt.Errorf("store: a server holds %s but its %s is unreadable: %w", dir, runningFile, err)
	}
	var info runningInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return fmt.Errorf("store: %s is damaged: %w", runningFile, err)
	}
	db.Client = redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{info.Addr}, Password: info.Password})
	if err := db.Client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: reach the running server's embedded store: %w", err)
	}
	db.attached = true
	return nil
}

// snapshotScript reads every key with its type, remaining TTL and value in one atomic
// step (the embedded server runs a script under its global lock), so a snapshot is a
// consistent point in time.
var snapshotScript = redis.NewScript(`
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k)
  if type(t) == 'table' then t = t['ok'] end
  local ttl = redis.call('PTTL', k)
  local v = {}
  if t == 'string' then v = {redis.call('GET', k)}
  elseif t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then v = redis.call('SMEMBERS', k)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  end
  out[#out+1] = {k, t, ttl, v}
end
return out`)

type snapEntry struct {
	Key    string
	Type   string
	TTLms  int64
	Values []string
}

type snapFile struct {
	Version int
	At      time.Time
	Entries []snapEntry
}

// ErrRunning is returned by Open when another process serves the data dir and the caller
// did not ask to attach to it.
var ErrRunning = errors.New("store: another kakehashi process is using this data directory")

// runningInfo is written next to the snapshot while a server runs, so the admin CLI can
// reach the embedded server over loopback with its password (file mode 0600).
type runningInfo struct {
	Addr     string `json:"addr"`
	Password string `json:"password"`
}

func (db *DB) openEmbedded(ctx context.Context, cfg Config) error {
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("store: data dir: %w", err)
		}
		lock, err := lockDir(cfg.DataDir)
		if err != nil {
			if cfg.Attach {
				return db.attach(ctx, cfg.DataDir)
			}
			return ErrRunning
		}
		db.lock = lock
	}
	m := miniredis.NewMiniRedis()
	// TTLs run down in clockLoop's steps rather than with miniredis's ClockTTL, which walks
	// and sorts all keys on every command whenever the clock has moved: O(keys·log keys) per
	// command, a few commands per second at 50k keys.
	pw := NewToken()
	m.RequireAuth(pw)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		db.unlock()
		return fmt.Errorf("store: start embedded redis: %w", err)
	}
	db.mini = m
	db.Client = redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{m.Addr()}, Password: pw, PoolSize: 64,
		// The server is in-process: long timeouts only guard against a stall, and a busy
		// two-core machine must not turn a large pipeline into an error.
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	if cfg.DataDir != "" {
		info, _ := json.Marshal(runningInfo{Addr: m.Addr(), Password: pw})
		db.infoPath = filepath.Join(cfg.DataDir, runningFile)
		if err := os.WriteFile(db.infoPath, info, 0o600); err != nil {
			m.Close()
			db.unlock()
			return fmt.Errorf("store: write %s: %w", runningFile, err)
		}
		db.snapPath = filepath.Join(cfg.DataDir, snapshotFile)
		n, err := db.restore(ctx)
		if err != nil {
			m.Close()
			db.unlock()
			return err
		}
		if n > 0 {
			db.logger.Info("embedded store restored", "keys", n)
		}
		every := cfg.SnapshotEvery
		if every <= 0 {
			every = 10 * time.Second
		}
		db.wg.Add(1)
		go db.snapshotLoop(every)
	}
	db.wg.Add(1)
	go db.clockLoop(m)
	return nil
}

// clockLoop runs the embedded server's TTLs down in steps. Each step walks all keys once,
// so steps are at least 10 ms apart (the TTL precision) and, as the data grows, far enough
// apart that the walks take at most about 5% of the time.
func (db *DB) clockLoop(m *miniredis.Miniredis) {
	defer db.wg.Done()
	wait := 10 * time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		m.FastForward(now.Sub(last))
		last = now
		wait = min(max(10*time.Millisecond, 20*time.Since(now)), time.Second)
		t.Reset(wait)
	}
}

func (db *DB) snapshotLoop(every time.Duration) {
	defer db.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			if err := db.Snapshot(ctx); err != nil {
				db.logger.Error("embedded snapshot failed", "err", err)
			}
			cancel()
		}
	}
}

// Snapshot writes the embedded server's data atomically: a temp file in the same
// directory, fsync, rename, fsync of the directory. A crash leaves the old or the new
// snapshot, never a torn one. It does nothing for a real Redis or without a data dir.
func (db *DB) Snapshot(ctx context.Context) error {
	if db.mini == nil || db.snapPath == "" {
		return nil
	}
	db.snapMu.Lock()
	defer db.snapMu.Unlock()
	raw, err := snapshotScript.Run(ctx, db.Client, nil).Slice()
	if err != nil {
		return fmt.Errorf("store: snapshot read: %w", err)
	}
	sf := snapFile{Version: 1, At: time.Now(), Entries: make([]snapEntry, 0, len(raw))}
	for _, r := range raw {
		row, ok := r.([]any)
		if !ok || len(row) != 4 {
			return errors.New("store: snapshot read: unexpected reply shape")
		}
		e := snapEntry{Key: toString(row[0]), Type: toString(row[1])}
		e.TTLms, _ = strconv.ParseInt(toString(row[2]), 10, 64)
		if vals, ok := row[3].([]any); ok {
			e.Values = make([]string, len(vals))
			for i, v := range vals {
				e.Values[i] = toString(v)
			}
		}
		sf.Entries = append(sf.Entries, e)
	}
	dir := filepath.Dir(db.snapPath)
	f, err := os.CreateTemp(dir, snapshotFile+".tmp*")
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := gob.NewEncoder(f).Encode(&sf); err != nil {
		f.Close()
		return fmt.Errorf("store: snapshot encode: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store: snapshot fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: snapshot close: %w", err)
	}
	if err := os.Rename(tmp, db.snapPath); err != nil {
		return fmt.Errorf("store: snapshot rename: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (db *DB) restore(ctx context.Context) (int, error) {
	f, err := os.Open(db.snapPath)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("store: open snapshot: %w", err)
	}
	defer f.Close()
	var sf snapFile
	if err := gob.NewDecoder(f).Decode(&sf); err != nil {
		return 0, fmt.Errorf("store: snapshot %s is damaged (move it away to start empty): %w", db.snapPath, err)
	}
	// TTLs count while the server is stopped, as with Redis' own persistence: a draft
	// that would have expired during the downtime does not come back.
	if elapsed := time.Since(sf.At).Milliseconds(); elapsed > 0 {
		for i := range sf.Entries {
			if e := &sf.Entries[i]; e.TTLms > 0 {
				if e.TTLms -= elapsed; e.TTLms <= 0 {
					e.TTLms = -2
				}
			}
		}
	}
	const batch = 500
	for i := 0; i < len(sf.Entries); i += batch {
		end := min(i+batch, len(sf.Entries))
		_, err := db.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, e := range sf.Entries[i:end] {
				restoreEntry(ctx, p, e)
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("store: restore snapshot: %w", err)
		}
	}
	return len(sf.Entries), nil
}

func restoreEntry(ctx context.Context, p redis.Pipeliner, e snapEntry) {
	if e.TTLms == -2 {
		return
	}
	p.Del(ctx, e.Key)
	v := e.Values
	switch e.Type {
	case "string":
		if len(v) == 1 {
			p.Set(ctx, e.Key, v[0], 0)
		}
	case "hash":
		if len(v) > 0 {
			args := make([]any, len(v))
			for i := range v {
				args[i] = v[i]
			}
			p.HSet(ctx, e.Key, args...)
		}
	case "list":
		if len(v) > 0 {
			p.RPush(ctx, e.Key, toAny(v)...)
		}
	case "set":
		if len(v) > 0 {
			p.SAdd(ctx, e.Key, toAny(v)...)
		}
	case "zset":
		zs := make([]redis.Z, 0, len(v)/2)
		for i := 0; i+1 < len(v); i += 2 {
			s, _ := strconv.ParseFloat(v[i+1], 64)
			zs = append(zs, redis.Z{Member: v[i], Score: s})
		}
		if len(zs) > 0 {
			p.ZAdd(ctx, e.Key, zs...)
		}
	}
	if e.TTLms > 0 {
		p.PExpire(ctx, e.Key, time.Duration(e.TTLms)*time.Millisecond)
	}
}

func toAny(v []string) []any {
	out := make([]any, len(v))
	for i := range v {
		out[i] = v[i]
	}
	return out
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case []byte:
		return string(x)
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}
