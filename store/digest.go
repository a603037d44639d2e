package store

import (
	"context"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

// DigestMarks records which weekly digests were handed to the outbox.
type DigestMarks struct{ db *DB }

// NewDigestMarks returns the digest marks of db.
func NewDigestMarks(db *DB) *DigestMarks { return &DigestMarks{db: db} }

// DigestSent reports whether the tenant's digest of week was handed over.
func (m *DigestMarks) DigestSent(ctx context.Context, t bot.TenantID, week string) (bool, error) {
	n, err := m.db.Client.Exists(ctx, keyDigestSent(t, week)).Result()
	if err != nil {
		return false, unavailable("digest mark", err)
	}
	return n == 1, nil
}

// MarkDigestSent remembers it for two weeks.
func (m *DigestMarks) MarkDigestSent(ctx context.Context, t bot.TenantID, week string) error {
	if err := m.db.Client.Set(ctx, keyDigestSent(t, week), "1", 15*24*time.Hour).Err(); err != nil {
		return unavailable("digest mark", err)
	}
	return nil
}
