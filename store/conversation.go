package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// Conversations keeps per-conversation dialog state, its lock and the processed-event
// markers. One inbound event costs two round trips: Claim and Commit.
type Conversations struct {
	db *DB
	// LockTTL bounds how long a crashed replica can hold a conversation.
	LockTTL time.Duration
	// EventTTL is how long a processed event ID is remembered (platforms retry for minutes to hours).
	EventTTL time.Duration
	// GoneTTL is how long "your draft expired" is remembered after a draft's TTL ran out.
	GoneTTL time.Duration
}

// NewConversations returns the conversation store of db.
func NewConversations(db *DB) *Conversations {
	return &Conversations{db: db, LockTTL: 30 * time.Second, EventTTL: 24 * time.Hour, GoneTTL: 7 * 24 * time.Hour}
}

// Claim is the result of claiming a conversation for one event.
type Claim struct {
	Tenant bot.TenantID
	Conv   string
	Token  string
	// Duplicate is true when the event was processed before; nothing else is set then.
	Duplicate bool
	// Person is the member's JSON, "" for an unknown identity.
	Person string
	// State is the stored dialog state JSON, "" when there is none.
	State string
	// Gone names the flow whose draft expired since the last message, "" otherwise.
	Gone string
}

// claimScript, in one round trip: drop a duplicate event, take the conversation lock,
// and read the member and the dialog state.
// KEYS: event, lock, state, gone, tenant identity. ARGV: token, lock ttl ms, has event (0/1).
var claimScript = redis.NewScript(`
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return {'dup'} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'locked'} end
local person = ''
local pid = redis.call('GET', KEYS[5])
if pid then
  local prefix = string.sub(KEYS[2], 1, string.find(KEYS[2], '}:') + 1)
  person = redis.call('GET', prefix .. 'person:' .. pid) or ''
end
local state = redis.call('GET', KEYS[3]) or ''
local gone = ''
if state == '' then gone = redis.call('GET', KEYS[4]) or '' end
return {'ok', person, state, gone}`)

// commitScript, in one round trip: remember the event, store or clear the state, and
// release the lock if we still hold it.
// KEYS: event, lock, state, gone. ARGV: token, state (” clears), state ttl ms, flow name, gone ttl ms, event ttl ms, has event, clear gone.
var commitScript = redis.NewScript(`
if ARGV[7] == '1' then redis.call('SET', KEYS[1], '1', 'PX', ARGV[6]) end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[3])
else
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[4], ARGV[4], 'PX', ARGV[5])
elseif ARGV[8] == '1' then
  redis.call('DEL', KEYS[4])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`)

// ErrBusy means another replica is processing the same conversation right now.
var ErrBusy = errors.New("store: conversation busy")

// Claim takes the conversation for one event. It returns ErrBusy when another worker
// holds it; callers wait and try again, which keeps one conversation's messages in order.
func (c *Conversations) Claim(ctx context.Context, tenant bot.TenantID, id bot.Identity, eventID string) (*Claim, error) {
	conv := string(id.Platform) + ":" + id.UserID
	tok := make([]byte, 12)
	rand.Read(tok)
	cl := &Claim{Tenant: tenant, Conv: conv, Token: hex.EncodeToString(tok)}
	hasEvt := "0"
	if eventID != "" {
		hasEvt = "1"
	}
	res, err := claimScript.Run(ctx, c.db.Client, []string{
		keyEvent(tenant, eventID), keyConvLock(tenant, conv), keyConv(tenant, conv), keyConvGone(tenant, conv),
		keyTenantIdentity(tenant, id.Platform, id.UserID),
	}, cl.Token, c.LockTTL.Milliseconds(), hasEvt).StringSlice()
	if err != nil {
		return nil, unavailable("claim conversation", err)
	}
	switch res[0] {
	case "dup":
		cl.Duplicate = true
		return cl, nil
	case "locked":
		return nil, ErrBusy
	}
	cl.Person, cl.State, cl.Gone = res[1], res[2], res[3]
	return cl, nil
}

// Commit stores the new state of flow (empty state clears it) with ttl, marks the event
// processed and releases the lock.
func (c *Conversations) Commit(ctx context.Context, cl *Claim, eventID, state string, ttl time.Duration, flow string) error {
	hasEvt := "0"
	if eventID != "" {
		hasEvt = "1"
	}
	// Without a draft there is nothing left to expire: drop the tombstone, so a cancelled or
	// submitted draft is never reported as expired and an expiry is reported only once.
	clearGone := "0"
	if state == "" {
		clearGone = "1"
	}
	err := commitScript.Run(ctx, c.db.Client, []string{
		keyEvent(cl.Tenant, eventID), keyConvLock(cl.Tenant, cl.Conv), keyConv(cl.Tenant, cl.Conv), keyConvGone(cl.Tenant, cl.Conv),
	}, cl.Token, state, max(ttl.Milliseconds(), 1), flow, (ttl + c.GoneTTL).Milliseconds(), c.EventTTL.Milliseconds(), hasEvt, clearGone).Err()
	if err != nil {
		return unavailable("commit conversation", err)
	}
	return nil
}

// Release gives up the lock without changing anything (the event is not marked, so a redelivery is processed).
func (c *Conversations) Release(ctx context.Context, cl *Claim) error {
	err := c.db.Client.Eval(ctx, `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
		[]string{keyConvLock(cl.Tenant, cl.Conv)}, cl.Token).Err()
	if err != nil {
		return fmt.Errorf("store: release conversation: %w", err)
	}
	return nil
}
