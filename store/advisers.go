package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// AdviserService implements bot.AdviserService. A profile is one JSON value; the set of
// profile IDs and the member → profile link are kept in the same MULTI/EXEC, so a member
// is never linked to two profiles.
type AdviserService struct{ db *DB }

var _ bot.AdviserService = (*AdviserService)(nil)

// NewAdviserService returns the adviser store of db.
func NewAdviserService(db *DB) *AdviserService { return &AdviserService{db: db} }

// validAdviserID keeps IDs usable inside keys and button values.
func validAdviserID(id bot.AdviserID) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	return !strings.ContainsAny(string(id), "{}: \t\r\n")
}

// SaveAdviser creates or replaces a profile. The member link moves with the profile: a
// profile that changes its member releases the old one. Linking a member who belongs to
// another profile is ECONFLICT.
func (s *AdviserService) SaveAdviser(ctx context.Context, a *bot.Adviser) error {
	t := a.Tenant
	if a.ID == "" {
		n, err := s.db.Client.Incr(ctx, keyAdviserSeq(t)).Result()
		if err != nil {
			return unavailable("number adviser", err)
		}
		a.ID = bot.AdviserID("a" + strconv.FormatInt(n, 10))
	}
	if !validAdviserID(a.ID) {
		return bot.Errorf(bot.EINVALID, "アドバイザーID「%s」には英数字とハイフンだけを使ってください（64文字以内）。", a.ID)
	}
	now := s.db.Clock.Now()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	a.UpdatedAt = now
	key := keyAdviser(t, a.ID)
	watch := []string{key}
	if a.Person != "" {
		watch = append(watch, keyAdviserByPerson(t, a.Person))
	}
	return s.db.optimistic(ctx, "save adviser", bot.Errorf(bot.ECONFLICT, "アドバイザー %s は他の方が同時に更新しています。もう一度お試しください。", a.ID), func(tx *redis.Tx) error {
		var old bot.Adviser
		raw, err := tx.Get(ctx, key).Bytes()
		if err == nil {
			if err := json.Unmarshal(raw, &old); err != nil {
				return fmt.Errorf("store: decode adviser %s: %w", a.ID, err)
			}
			if !old.CreatedAt.IsZero() {
				a.CreatedAt = old.CreatedAt
			}
		} else if !errors.Is(err, redis.Nil) {
			return err
		}
		if a.Person != "" {
			owner, err := tx.Get(ctx, keyAdviserByPerson(t, a.Person)).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			if owner != "" && owner != string(a.ID) {
				return bot.Errorf(bot.ECONFLICT, "このメンバーは既に別のアドバイザー（%s）に紐付いています。", owner)
			}
		}
		b, _ := json.Marshal(a)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, b, 0)
			p.SAdd(ctx, keyAdvisers(t), string(a.ID))
			if old.Person != "" && old.Person != a.Person {
				p.Del(ctx, keyAdviserByPerson(t, old.Person))
			}
			if a.Person != "" {
				p.Set(ctx, keyAdviserByPerson(t, a.Person), string(a.ID), 0)
			}
			return nil
		})
		return err
	}, watch...)
}

// Adviser returns a profile or ENOTFOUND.
func (s *AdviserService) Adviser(ctx context.Context, t bot.TenantID, id bot.AdviserID) (*bot.Adviser, error) {
	raw, err := s.db.Client.Get(ctx, keyAdviser(t, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "アドバイザーが見つかりません。一覧からもう一度お選びください。")
	} else if err != nil {
		return nil, unavailable("load adviser", err)
	}
	var a bot.Adviser
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("store: decode adviser %s: %w", id, err)
	}
	return &a, nil
}

// AdviserByPerson returns the profile linked to a member or ENOTFOUND.
func (s *AdviserService) AdviserByPerson(ctx context.Context, t bot.TenantID, p bot.PersonID) (*bot.Adviser, error) {
	id, err := s.db.Client.Get(ctx, keyAdviserByPerson(t, p)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "アドバイザーとして登録されていません。DX推進担当にご連絡ください。")
	} else if err != nil {
		return nil, unavailable("find adviser", err)
	}
	return s.Adviser(ctx, t, bot.AdviserID(id))
}

// Advisers lists the tenant's profiles sorted by ID (a2 before a10).
func (s *AdviserService) Advisers(ctx context.Context, t bot.TenantID) ([]*bot.Adviser, error) {
	ids, err := s.db.Client.SMembers(ctx, keyAdvisers(t)).Result()
	if err != nil {
		return nil, unavailable("list advisers", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = keyAdviser(t, bot.AdviserID(id))
	}
	vals, err := s.db.Client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable("load advisers", err)
	}
	out := make([]*bot.Adviser, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var a bot.Adviser
		if json.Unmarshal([]byte(str), &a) == nil {
			out = append(out, &a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(string(out[i].ID), string(out[j].ID)) })
	return out, nil
}

// naturalLess orders "a2" before "a10": a shorter ID with the same prefix letter first.
func naturalLess(a, b string) bool {
	if len(a) != len(b) && strings.TrimRight(a, "0123456789") == strings.TrimRight(b, "0123456789") {
		return len(a) < len(b)
	}
	return a < b
}
