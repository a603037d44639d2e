package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// Web keeps the web channel's sessions, inboxes and attachments.
type Web struct {
	db *DB
	// SessionTTL is how long a browser stays signed in without activity.
	SessionTTL time.Duration
	// InboxKeep is how many pushed messages an inbox keeps.
	InboxKeep int64
	// AttachmentTTL is how long attachments can be downloaded.
	AttachmentTTL time.Duration
}

// NewWeb returns the web store of db.
func NewWeb(db *DB) *Web {
	return &Web{db: db, SessionTTL: 30 * 24 * time.Hour, InboxKeep: 500, AttachmentTTL: 90 * 24 * time.Hour}
}

// Session is a signed-in browser.
type Session struct {
	Tenant bot.TenantID `json:"tenant"`
	Person bot.PersonID `json:"person"`
	UserID string       `json:"user_id"`
}

// NewToken returns a random URL-safe token.
func NewToken() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateSession stores a session under token.
func (w *Web) CreateSession(ctx context.Context, token string, s Session) error {
	b, _ := json.Marshal(s)
	if err := w.db.Client.Set(ctx, keySession(s.Tenant, token), b, w.SessionTTL).Err(); err != nil {
		return unavailable("create session", err)
	}
	return nil
}

// Session loads and refreshes a session; ENOTFOUND when it is unknown or expired.
func (w *Web) Session(ctx context.Context, tenant bot.TenantID, token string) (*Session, error) {
	b, err := w.db.Client.GetEx(ctx, keySession(tenant, token), w.SessionTTL).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.EUNAUTHORIZED, "セッションが切れました。招待コードでもう一度参加してください。")
	} else if err != nil {
		return nil, unavailable("load session", err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("store: decode session: %w", err)
	}
	return &s, nil
}

// InboxItem is one pushed message.
type InboxItem struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Reply bot.Reply `json:"reply"`
}

// appendInboxScript appends exactly once per delivery key: the sent-record and the
// message are written together, so a retried push never shows twice.
// KEYS: sent, seq, inbox. ARGV: item template (with id placeholder), keep, sent ttl ms.
var appendInboxScript = redis.NewScript(`
local prev = redis.call('GET', KEYS[1])
if prev then return {0, tonumber(prev)} end
local id = redis.call('INCR', KEYS[2])
local item = string.gsub(ARGV[1], '"id":0', '"id":' .. id, 1)
redis.call('RPUSH', KEYS[3], item)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[2]), -1)
redis.call('SET', KEYS[1], id, 'PX', ARGV[3])
return {1, id}`)

// AppendInbox delivers r to a person's inbox once per key; dup reports an earlier delivery.
func (w *Web) AppendInbox(ctx context.Context, tenant bot.TenantID, p bot.PersonID, r bot.Reply, key string) (id int64, dup bool, err error) {
	item, _ := json.Marshal(InboxItem{ID: 0, At: w.db.Clock.Now().UTC(), Reply: r})
	res, err := appendInboxScript.Run(ctx, w.db.Client, []string{keySent(tenant, "web:"+key), keyInboxSeq(tenant, p), keyInbox(tenant, p)},
		string(item), w.InboxKeep, (30 * 24 * time.Hour).Milliseconds()).Int64Slice()
	if err != nil {
		return 0, false, unavailable("append inbox", err)
	}
	return res[1], res[0] == 0, nil
}

// Inbox returns the messages after id, oldest first.
func (w *Web) Inbox(ctx context.Context, tenant bot.TenantID, p bot.PersonID, after int64) ([]InboxItem, error) {
	raw, err := w.db.Client.LRange(ctx, keyInbox(tenant, p), 0, -1).Result()
	if err != nil {
		return nil, unavailable("read inbox", err)
	}
	out := []InboxItem{}
	for _, s := range raw {
		var it InboxItem
		if json.Unmarshal([]byte(s), &it) == nil && it.ID > after {
			out = append(out, it)
		}
	}
	return out, nil
}

// PutAttachment stores a file for one person and returns its ID.
func (w *Web) PutAttachment(ctx context.Context, tenant bot.TenantID, owner bot.PersonID, a bot.Attachment) (string, error) {
	id := NewToken()
	err := w.db.Client.HSet(ctx, keyAttachment(tenant, id), "owner", string(owner), "name", a.Name, "type", a.ContentType, "data", a.Data).Err()
	if err == nil {
		err = w.db.Client.Expire(ctx, keyAttachment(tenant, id), w.AttachmentTTL).Err()
	}
	if err != nil {
		return "", unavailable("store attachment", err)
	}
	return id, nil
}

// Attachment returns a stored file if owner may read it; ENOTFOUND otherwise.
func (w *Web) Attachment(ctx context.Context, tenant bot.TenantID, owner bot.PersonID, id string) (*bot.Attachment, error) {
	f, err := w.db.Client.HGetAll(ctx, keyAttachment(tenant, id)).Result()
	if err != nil {
		return nil, unavailable("load attachment", err)
	}
	if len(f) == 0 || f["owner"] != string(owner) {
		return nil, bot.Errorf(bot.ENOTFOUND, "ファイルが見つかりません。")
	}
	return &bot.Attachment{Name: f["name"], ContentType: f["type"], Data: []byte(f["data"])}, nil
}

// ParseInboxAfter parses the ?after= query value.
func ParseInboxAfter(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
