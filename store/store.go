package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// Config says which Redis to use.
type Config struct {
	// RedisURL selects a real Redis: redis://, rediss:// (TLS), redis-sentinel://host:port,host:port/master[?db=N],
	// or redis-cluster://host:port,host:port. Empty means the embedded server.
	RedisURL string
	// DataDir keeps the embedded server's snapshot.
	DataDir string
	// SnapshotEvery is the embedded snapshot interval (default 10 s).
	SnapshotEvery time.Duration
	Logger        *slog.Logger
	// Attach lets an admin command use the embedded server of a running process
	// (through its loopback address and password) instead of failing with ErrRunning.
	Attach bool
}

// DB is an open store: one go-redis client, and for the embedded mode the server and its snapshots.
type DB struct {
	Client redis.UniversalClient
	Clock  bot.Clock

	logger   *slog.Logger
	mini     *miniredis.Miniredis
	snapPath string
	stop     chan struct{}
	wg       sync.WaitGroup
	snapMu   sync.Mutex
	closed   bool
	lock     *os.File
	infoPath string
	attached bool
}

// Attached reports whether this process uses another process's embedded server.
func (db *DB) Attached() bool { return db.attached }

// Embedded reports whether the store runs the in-process server.
func (db *DB) Embedded() bool { return db.mini != nil }

// Addr returns the embedded server's loopback address ("" for a real Redis).
func (db *DB) Addr() string {
	if db.mini == nil {
		return ""
	}
	return db.mini.Addr()
}

// Open connects to Redis, or starts the embedded server restored from cfg.DataDir.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	db := &DB{logger: cfg.Logger, Clock: bot.SystemClock, stop: make(chan struct{})}
	if cfg.RedisURL != "" {
		opts, err := ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, err
		}
		db.Client = redis.NewUniversalClient(opts)
		if err := db.Client.Ping(ctx).Err(); err != nil {
			db.Client.Close()
			return nil, fmt.Errorf("store: connect to redis: %w", err)
		}
		return db, nil
	}
	if err := db.openEmbedded(ctx, cfg); err != nil {
		return nil, err
	}
	return db, nil
}

// ParseURL turns KAKEHASHI_REDIS_URL into go-redis universal options. The password
// never appears in errors.
func ParseURL(raw string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("store: KAKEHASHI_REDIS_URL is not a valid URL (expected redis://host:6379/0)")
	}
	switch u.Scheme {
	case "redis", "rediss":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("store: KAKEHASHI_REDIS_URL: %s", redactErr(err, u))
		}
		return &redis.UniversalOptions{
			Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password, DB: o.DB,
			TLSConfig: o.TLSConfig, Protocol: o.Protocol,
		}, nil
	case "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster":
		opts := &redis.UniversalOptions{Addrs: strings.Split(u.Host, ",")}
		if u.User != nil {
			opts.Username = u.User.Username()
			opts.Password, _ = u.User.Password()
		}
		if strings.HasPrefix(u.Scheme, "rediss") {
			opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		q := u.Query()
		if db := q.Get("db"); db != "" {
			n, err := strconv.Atoi(db)
			if err != nil {
				return nil, errors.New("store: KAKEHASHI_REDIS_URL: db must be a number")
			}
			opts.DB = n
		}
		if strings.HasSuffix(u.Scheme, "sentinel") {
			opts.MasterName = strings.Trim(u.Path, "/")
			if opts.MasterName == "" {
				return nil, errors.New("store: KAKEHASHI_REDIS_URL: a Sentinel URL needs the master name as its path (redis-sentinel://h1:26379,h2:26379/mymaster)")
			}
			opts.SentinelPassword = q.Get("sentinel_password")
		} else {
			opts.IsClusterMode = true
		}
		return opts, nil
	default:
		return nil, fmt.Errorf("store: KAKEHASHI_REDIS_URL: unknown scheme %q (use redis, rediss, redis-sentinel or redis-cluster)", u.Scheme)
	}
}

func redactErr(err error, u *url.URL) string {
	s := err.Error()
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	return s
}

// Ping checks that Redis answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.Client.Ping(ctx).Err()
}

// Close stops the snapshot loop, writes the final snapshot and closes the client and server.
func (db *DB) Close() error {
	db.snapMu.Lock()
	if db.closed {
		db.snapMu.Unlock()
		return nil
	}
	db.closed = true
	db.snapMu.Unlock()
	close(db.stop)
	db.wg.Wait()
	var err error
	if db.mini != nil {
		err = db.Snapshot(context.Background())
	}
	if cerr := db.Client.Close(); err == nil && cerr != nil && !errors.Is(cerr, redis.ErrClosed) {
		err = cerr
	}
	if db.mini != nil {
		db.mini.Close()
	}
	db.unlock()
	return err
}

// attempts bounds how often optimistic runs a transaction that keeps colliding.
const attempts = 20

// optimistic runs fn in a WATCH transaction on keys and runs it again whenever another
// writer changed one of them first. A *bot.Error from fn is returned as it is; other
// failures are wrapped as unavailable(op); after repeated collisions it returns conflict.
func (db *DB) optimistic(ctx context.Context, op string, conflict *bot.Error, fn func(tx *redis.Tx) error, keys ...string) error {
	for range attempts {
		err := db.Client.Watch(ctx, fn, keys...)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		var be *bot.Error
		if err != nil && !errors.As(err, &be) {
			return unavailable(op, err)
		}
		return err
	}
	return conflict
}

// Unavailable wraps a Redis failure as a bot error the person can understand.
func unavailable(op string, err error) error {
	return fmt.Errorf("store: %s: %w (%w)", op, err, &bot.Error{Code: bot.EUNAVAILABLE,
		Message: "ただいま処理が混み合っています。少し後でもう一度お試しください。"})
}
