package store

import (
	"context"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

// SentRecords remember which deliveries reached a platform, so a retried job never
// sends the same message twice on platforms without an idempotency key.
type SentRecords struct {
	db  *DB
	TTL time.Duration
}

// NewSentRecords returns the sent-records of db.
func NewSentRecords(db *DB) *SentRecords { return &SentRecords{db: db, TTL: 30 * 24 * time.Hour} }

// Begin marks a delivery as being sent. It reports false when it was already sent.
func (s *SentRecords) Begin(ctx context.Context, t bot.TenantID, key string) (bool, error) {
	v, err := s.db.Client.Get(ctx, keySent(t, key)).Result()
	if err == nil && v == "sent" {
		return false, nil
	}
	if err := s.db.Client.Set(ctx, keySent(t, key), "sending", s.TTL).Err(); err != nil {
		return false, unavailable("mark sending", err)
	}
	return true, nil
}

// Done marks a delivery as sent.
func (s *SentRecords) Done(ctx context.Context, t bot.TenantID, key string) error {
	if err := s.db.Client.Set(ctx, keySent(t, key), "sent", s.TTL).Err(); err != nil {
		return unavailable("mark sent", err)
	}
	return nil
}

// Abort forgets a delivery that failed, so the retry sends it.
func (s *SentRecords) Abort(ctx context.Context, t bot.TenantID, key string) {
	s.db.Client.Del(ctx, keySent(t, key))
}
