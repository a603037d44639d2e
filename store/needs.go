package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// NeedService implements bot.NeedService. A need is one JSON value; indexes by status,
// filer, department and priority are sorted sets of the same tenant, updated in the same
// MULTI/EXEC as the need so they never disagree.
type NeedService struct{ db *DB }

var _ bot.NeedService = (*NeedService)(nil)

// NewNeedService returns the need store of db.
func NewNeedService(db *DB) *NeedService { return &NeedService{db: db} }

// CreateNeed stores a new need; the same draft ID returns the need created before.
func (s *NeedService) CreateNeed(ctx context.Context, n *bot.Need, draft string) (*bot.Need, error) {
	t := n.Tenant
	var id int64
	if draft != "" {
		prev, err := s.db.Client.Get(ctx, keyNeedDraft(t, draft)).Int64()
		switch {
		case err == nil:
			found, ferr := s.Need(ctx, t, bot.NeedID(prev))
			if bot.ErrorCode(ferr) != bot.ENOTFOUND {
				return found, ferr
			}
			// A process died between claiming the draft and writing the need: finish it
			// under the number it claimed.
			id = prev
		case !errors.Is(err, redis.Nil):
			return nil, unavailable("check draft", err)
		}
	}
	if id == 0 {
		var err error
		if id, err = s.db.Client.Incr(ctx, keyNeedSeq(t)).Result(); err != nil {
			return nil, unavailable("number need", err)
		}
	}
	resumed := draft != "" && s.draftOwner(ctx, t, draft) == id
	now := s.db.Clock.Now()
	n.ID = bot.NeedID(id)
	if n.Status == "" {
		n.Status = bot.NeedNew
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	n.UpdatedAt, n.StatusAt = now, now
	if len(n.History) == 0 {
		n.History = []bot.HistoryEntry{{At: n.CreatedAt, By: n.FiledBy, Action: "filed", To: n.Status}}
	}
	if draft != "" && !resumed {
		// Claim the draft first: if another replica is saving the same draft, it wins.
		ok, err := s.db.Client.SetNX(ctx, keyNeedDraft(t, draft), id, 0).Result()
		if err != nil {
			return nil, unavailable("claim draft", err)
		}
		if !ok {
			other, _ := s.db.Client.Get(ctx, keyNeedDraft(t, draft)).Int64()
			return s.Need(ctx, t, bot.NeedID(other))
		}
	}
	if _, err := s.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.write(ctx, p, nil, n)
		return nil
	}); err != nil {
		return nil, unavailable("save need", err)
	}
	return n, nil
}

// draftOwner returns the need number a draft claimed, 0 when none.
func (s *NeedService) draftOwner(ctx context.Context, t bot.TenantID, draft string) int64 {
	id, _ := s.db.Client.Get(ctx, keyNeedDraft(t, draft)).Int64()
	return id
}

// write queues the need and its index entries; old is the previous version (nil when new).
func (s *NeedService) write(ctx context.Context, p redis.Pipeliner, old, n *bot.Need) {
	t, id := n.Tenant, strconv.FormatInt(int64(n.ID), 10)
	b, _ := json.Marshal(n)
	p.Set(ctx, keyNeed(t, n.ID), b, 0)
	score := float64(n.CreatedAt.UnixMilli())
	p.ZAdd(ctx, keyNeedsAll(t), redis.Z{Score: score, Member: id})
	if old != nil && old.Status != n.Status {
		p.ZRem(ctx, keyNeedsStatus(t, old.Status), id)
	}
	p.ZAdd(ctx, keyNeedsStatus(t, n.Status), redis.Z{Score: score, Member: id})
	p.ZAdd(ctx, keyNeedsBy(t, n.FiledBy), redis.Z{Score: score, Member: id})
	for _, sp := range n.Supporters {
		p.ZAdd(ctx, keyNeedsBy(t, sp.Person), redis.Z{Score: score, Member: id})
	}
	if old != nil && old.Department != n.Department {
		p.ZRem(ctx, keyNeedsDept(t, old.Department), id)
	}
	if n.Department != "" {
		p.ZAdd(ctx, keyNeedsDept(t, n.Department), redis.Z{Score: score, Member: id})
	}
	if n.Status.Open() {
		pr := bot.ComputePriority(n, nil, n.UpdatedAt, bot.LangJA)
		p.ZAdd(ctx, keyNeedsPriority(t), redis.Z{Score: float64(pr.Score), Member: id})
	} else {
		p.ZRem(ctx, keyNeedsPriority(t), id)
	}
}

// Need returns one need or ENOTFOUND.
func (s *NeedService) Need(ctx context.Context, t bot.TenantID, id bot.NeedID) (*bot.Need, error) {
	b, err := s.db.Client.Get(ctx, keyNeed(t, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "ニーズ #%d は見つかりません。番号をご確認ください。", id)
	} else if err != nil {
		return nil, unavailable("load need", err)
	}
	var n bot.Need
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("store: decode need %d: %w", id, err)
	}
	return &n, nil
}

// UpdateNeed applies fn under WATCH and retries when another writer got there first.
func (s *NeedService) UpdateNeed(ctx context.Context, t bot.TenantID, id bot.NeedID, fn func(n *bot.Need) error) (*bot.Need, error) {
	var out *bot.Need
	key := keyNeed(t, id)
	err := s.db.optimistic(ctx, "update need", bot.Errorf(bot.ECONFLICT, "ニーズ #%d は他の方が同時に更新しています。もう一度お試しください。", id), func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return bot.Errorf(bot.ENOTFOUND, "ニーズ #%d は見つかりません。番号をご確認ください。", id)
		} else if err != nil {
			return err
		}
		var old, n bot.Need
		if err := json.Unmarshal(b, &old); err != nil {
			return err
		}
		json.Unmarshal(b, &n)
		if err := fn(&n); err != nil {
			return err
		}
		n.UpdatedAt = s.db.Clock.Now()
		if n.Status != old.Status {
			n.StatusAt = n.UpdatedAt
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.write(ctx, p, &old, &n)
			return nil
		})
		out = &n
		return err
	}, key)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Needs lists needs matching f, newest first.
func (s *NeedService) Needs(ctx context.Context, t bot.TenantID, f bot.NeedFilter) ([]*bot.Need, error) {
	key := keyNeedsAll(t)
	switch {
	case f.FiledBy != "":
		key = keyNeedsBy(t, f.FiledBy)
	case f.Department != "":
		key = keyNeedsDept(t, f.Department)
	case len(f.Status) == 1:
		key = keyNeedsStatus(t, f.Status[0])
	}
	ids, err := s.db.Client.ZRevRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, unavailable("list needs", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		n, _ := strconv.ParseInt(id, 10, 64)
		keys[i] = keyNeed(t, bot.NeedID(n))
	}
	var out []*bot.Need
	const batch = 200
	for i := 0; i < len(keys); i += batch {
		vals, err := s.db.Client.MGet(ctx, keys[i:min(i+batch, len(keys))]...).Result()
		if err != nil {
			return nil, unavailable("load needs", err)
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			var n bot.Need
			if json.Unmarshal([]byte(str), &n) != nil || !match(&n, f) {
				continue
			}
			out = append(out, &n)
			if f.Limit > 0 && len(out) >= f.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}

func match(n *bot.Need, f bot.NeedFilter) bool {
	if f.OpenOnly && !n.Status.Open() {
		return false
	}
	if f.FiledBy != "" && !n.HasSupporter(f.FiledBy) {
		return false
	}
	if f.Department != "" && n.Department != f.Department {
		return false
	}
	if len(f.Status) > 0 {
		ok := false
		for _, s := range f.Status {
			ok = ok || s == n.Status
		}
		if !ok {
			return false
		}
	}
	return true
}
