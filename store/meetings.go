package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// DraftTTL is how long a poll the requester has not sent yet is kept.
const DraftTTL = 24 * time.Hour

// MeetingService implements bot.MeetingService. A meeting is one JSON value; updates are
// compare-and-set under WATCH (Version+1 per write). Sent meetings are indexed in sorted
// sets scored by Meeting.When: the tenant's, each attendee's, the adviser's and the need's.
// Drafts (a poll still being picked) expire after DraftTTL and are not indexed.
type MeetingService struct{ db *DB }

var _ bot.MeetingService = (*MeetingService)(nil)

// NewMeetingService returns the meeting store of db.
func NewMeetingService(db *DB) *MeetingService { return &MeetingService{db: db} }

func notFoundMeeting(id bot.MeetingID) error {
	return bot.Errorf(bot.ENOTFOUND, "面談 %s は見つかりません。「面談一覧」からご確認ください。", id)
}

// CreateMeeting assigns the next ID ("m12") and stores the meeting.
func (s *MeetingService) CreateMeeting(ctx context.Context, m *bot.Meeting) (*bot.Meeting, error) {
	n, err := s.db.Client.Incr(ctx, keyMeetingSeq(m.Tenant)).Result()
	if err != nil {
		return nil, unavailable("number meeting", err)
	}
	now := s.db.Clock.Now()
	m.ID = bot.MeetingID("m" + strconv.FormatInt(n, 10))
	if m.Status == "" {
		m.Status = bot.MeetingDraft
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	m.UpdatedAt = now
	m.Version = 1
	if _, err := s.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.write(ctx, p, m)
		return nil
	}); err != nil {
		return nil, unavailable("save meeting", err)
	}
	return m, nil
}

// write queues the meeting and its index entries.
func (s *MeetingService) write(ctx context.Context, p redis.Pipeliner, m *bot.Meeting) {
	t := m.Tenant
	b, _ := json.Marshal(m)
	if m.Status == bot.MeetingDraft {
		p.Set(ctx, keyMeeting(t, m.ID), b, DraftTTL)
		return
	}
	p.Set(ctx, keyMeeting(t, m.ID), b, 0)
	z := redis.Z{Score: float64(m.When().UnixMilli()), Member: string(m.ID)}
	p.ZAdd(ctx, keyMeetingsAll(t), z)
	p.ZAdd(ctx, keyMeetingsAdviser(t, m.Adviser), z)
	p.ZAdd(ctx, keyMeetingsNeed(t, m.Need), z)
	for _, pid := range m.Attendees() {
		if pid != "" {
			p.ZAdd(ctx, keyMeetingsPerson(t, pid), z)
		}
	}
}

// Meeting returns one meeting or ENOTFOUND.
func (s *MeetingService) Meeting(ctx context.Context, t bot.TenantID, id bot.MeetingID) (*bot.Meeting, error) {
	raw, err := s.db.Client.Get(ctx, keyMeeting(t, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFoundMeeting(id)
	} else if err != nil {
		return nil, unavailable("load meeting", err)
	}
	var m bot.Meeting
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("store: decode meeting %s: %w", id, err)
	}
	return &m, nil
}

// UpdateMeeting applies fn under WATCH and retries when another writer got there first.
func (s *MeetingService) UpdateMeeting(ctx context.Context, t bot.TenantID, id bot.MeetingID, fn func(m *bot.Meeting) error) (*bot.Meeting, error) {
	key := keyMeeting(t, id)
	var out *bot.Meeting
	err := s.db.optimistic(ctx, "update meeting", bot.Errorf(bot.ECONFLICT, "面談 %s は他の方が同時に更新しています。もう一度お試しください。", id), func(tx *redis.Tx) error {
		raw, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return notFoundMeeting(id)
		} else if err != nil {
			return err
		}
		var m bot.Meeting
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("store: decode meeting %s: %w", id, err)
		}
		seen := m.Version
		if err := fn(&m); err != nil {
			return err
		}
		m.Version = seen + 1
		m.UpdatedAt = s.db.Clock.Now()
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.write(ctx, p, &m)
			return nil
		})
		out = &m
		return err
	}, key)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Meetings lists meetings matching f ordered by When().
func (s *MeetingService) Meetings(ctx context.Context, t bot.TenantID, f bot.MeetingFilter) ([]*bot.Meeting, error) {
	key := keyMeetingsAll(t)
	switch {
	case f.Person != "":
		key = keyMeetingsPerson(t, f.Person)
	case f.Adviser != "":
		key = keyMeetingsAdviser(t, f.Adviser)
	case f.Need != 0:
		key = keyMeetingsNeed(t, f.Need)
	}
	lo, hi := "-inf", "+inf"
	if !f.From.IsZero() {
		lo = strconv.FormatInt(f.From.UnixMilli(), 10)
	}
	if !f.To.IsZero() {
		hi = "(" + strconv.FormatInt(f.To.UnixMilli(), 10)
	}
	ids, err := s.db.Client.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: lo, Max: hi}).Result()
	if err != nil {
		return nil, unavailable("list meetings", err)
	}
	var out []*bot.Meeting
	const batch = 200
	for i := 0; i < len(ids); i += batch {
		part := ids[i:min(i+batch, len(ids))]
		keys := make([]string, len(part))
		for j, id := range part {
			keys[j] = keyMeeting(t, bot.MeetingID(id))
		}
		vals, err := s.db.Client.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, unavailable("load meetings", err)
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			var m bot.Meeting
			if json.Unmarshal([]byte(str), &m) != nil || !matchMeeting(&m, f) {
				continue
			}
			out = append(out, &m)
			if f.Limit > 0 && len(out) >= f.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}

func matchMeeting(m *bot.Meeting, f bot.MeetingFilter) bool {
	switch {
	case f.Person != "" && !m.Attends(f.Person):
		return false
	case f.Adviser != "" && m.Adviser != f.Adviser:
		return false
	case f.Need != 0 && m.Need != f.Need:
		return false
	case len(f.Status) > 0 && !slices.Contains(f.Status, m.Status):
		return false
	}
	return true
}
