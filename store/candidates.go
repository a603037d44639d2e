package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// CandidateService implements bot.CandidateService. The pool is operator-wide: profiles,
// contacts and lookups live under OperatorPrefix (one Cluster slot), while what a tenant
// did with a candidate (match records, introductions, audit) lives under that tenant.
//
// A profile is one JSON value; its contact details are a second key, read only by
// Contact, so that no code path that loads profiles (matching, cards, lists) ever holds
// them. Every tenant key that mentions a candidate is recorded in the candidate's refs
// set, which is how DeleteCandidate finds everything to erase without scanning.
type CandidateService struct {
	db *DB
	// AuditKeep bounds each audit log (oldest records are dropped first).
	AuditKeep int64
}

var _ bot.CandidateService = (*CandidateService)(nil)

// NewCandidateService returns the candidate store of db.
func NewCandidateService(db *DB) *CandidateService {
	return &CandidateService{db: db, AuditKeep: 100_000}
}

// Kinds of refs entries: a set member, a sorted-set member, a key, or a queued job.
const (
	refSet  = "s"
	refZSet = "z"
	refKey  = "k"
	refJob  = "j"
	refSep  = "\x1f"
)

func ref(parts ...string) string { return strings.Join(parts, refSep) }

func notFoundCandidate() error {
	return bot.Errorf(bot.ENOTFOUND, "候補者が見つかりません。登録が削除された可能性があります。")
}

func candidateSeq(id bot.CandidateID) float64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(string(id), "c"), 10, 64)
	return float64(n)
}

func memberField(r *bot.Recipient) string { return string(r.Tenant) + "/" + string(r.Person) }

// SaveCandidate creates or updates a profile (by ID, else by ExternalID).
func (s *CandidateService) SaveCandidate(ctx context.Context, c *bot.Candidate, contact *bot.Contact) (*bot.Candidate, bool, error) {
	c.ExternalID = strings.TrimSpace(c.ExternalID)
	if c.ExternalID == "" || strings.TrimSpace(c.DisplayName) == "" {
		return nil, false, bot.Errorf(bot.EINVALID, "候補者には external_id と表示名が必要です。")
	}
	id, byID := c.ID, c.ID != ""
	if !byID {
		existing, err := s.db.Client.HGet(ctx, keyCandidateExt(), c.ExternalID).Result()
		switch {
		case err == nil:
			id = bot.CandidateID(existing)
		case errors.Is(err, redis.Nil):
			n, err := s.db.Client.Incr(ctx, keyCandidateSeq()).Result()
			if err != nil {
				return nil, false, unavailable("number candidate", err)
			}
			fresh := bot.CandidateID("c" + strconv.FormatInt(n, 10))
			// Claim the external ID: when two imports race, the first one's ID wins.
			ok, err := s.db.Client.HSetNX(ctx, keyCandidateExt(), c.ExternalID, string(fresh)).Result()
			if err != nil {
				return nil, false, unavailable("claim external id", err)
			}
			id = fresh
			if !ok {
				other, err := s.db.Client.HGet(ctx, keyCandidateExt(), c.ExternalID).Result()
				if err != nil {
					return nil, false, unavailable("find external id", err)
				}
				id = bot.CandidateID(other)
			}
		default:
			return nil, false, unavailable("find external id", err)
		}
	}

	key := keyCandidate(id)
	var out *bot.Candidate
	var created bool
	err := s.db.optimistic(ctx, "save candidate", bot.Errorf(bot.ECONFLICT, "候補者情報が同時に更新されています。もう一度お試しください。"), func(tx *redis.Tx) error {
		var old *bot.Candidate
		raw, err := tx.Get(ctx, key).Bytes()
		if err == nil {
			old = new(bot.Candidate)
			if err := json.Unmarshal(raw, old); err != nil {
				return fmt.Errorf("store: decode candidate %s: %w", id, err)
			}
		} else if !errors.Is(err, redis.Nil) {
			return err
		} else if byID {
			return notFoundCandidate()
		}
		n := *c
		n.ID = id
		now := s.db.Clock.Now()
		n.UpdatedAt = now
		if n.Status == "" {
			n.Status = bot.CandidateActive
		}
		if old != nil {
			n.CreatedAt = old.CreatedAt
			if old.ExternalID != n.ExternalID {
				other, err := tx.HGet(ctx, keyCandidateExt(), n.ExternalID).Result()
				if err == nil && other != string(id) {
					return bot.Errorf(bot.ECONFLICT, "external_id「%s」は別の候補者が使っています。", n.ExternalID)
				} else if err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
			}
		} else if n.CreatedAt.IsZero() {
			n.CreatedAt = now
		}
		b, err := json.Marshal(&n)
		if err != nil {
			return fmt.Errorf("store: encode candidate: %w", err)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, b, 0)
			p.ZAdd(ctx, keyCandidates(), redis.Z{Score: candidateSeq(id), Member: string(id)})
			if old != nil && old.ExternalID != n.ExternalID {
				p.HDel(ctx, keyCandidateExt(), old.ExternalID)
			}
			p.HSet(ctx, keyCandidateExt(), n.ExternalID, string(id))
			if old != nil && old.Member != nil && (n.Member == nil || *old.Member != *n.Member) {
				p.HDel(ctx, keyCandidateMembers(), memberField(old.Member))
			}
			if n.Member != nil {
				p.HSet(ctx, keyCandidateMembers(), memberField(n.Member), string(id))
			}
			if contact != nil {
				if contact.Empty() {
					p.Del(ctx, keyCandidateContact(id))
				} else {
					cb, _ := json.Marshal(contact)
					p.Set(ctx, keyCandidateContact(id), cb, 0)
				}
			}
			return nil
		})
		out, created = &n, old == nil
		return err
	}, key)
	if err != nil {
		return nil, false, err
	}
	// Logged after the write, in one step with its number, so a process that reads
	// change number g finds every change up to g and the profile as saved.
	if err := changeScript.Run(ctx, s.db.Client, []string{keyCandidateChangeSeq(), keyCandidateChanges()}, string(id)).Err(); err != nil {
		return nil, false, unavailable("log candidate change", err)
	}
	return out, created, nil
}

var changeScript = redis.NewScript(`
local g = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], g, ARGV[1])
return g`)

// ChangedSince lists the profiles saved after change number since.
func (s *CandidateService) ChangedSince(ctx context.Context, since int64) ([]bot.CandidateID, int64, error) {
	now, err := s.db.Client.Get(ctx, keyCandidateChangeSeq()).Int64()
	if errors.Is(err, redis.Nil) {
		return nil, 0, nil
	} else if err != nil {
		return nil, 0, unavailable("read change number", err)
	}
	if now <= since {
		return nil, now, nil
	}
	ms, err := s.db.Client.ZRangeByScore(ctx, keyCandidateChanges(), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(since, 10), Max: strconv.FormatInt(now, 10)}).Result()
	if err != nil {
		return nil, 0, unavailable("read changes", err)
	}
	ids := make([]bot.CandidateID, len(ms))
	for i, m := range ms {
		ids[i] = bot.CandidateID(m)
	}
	return ids, now, nil
}

// Candidate returns a profile or ENOTFOUND.
func (s *CandidateService) Candidate(ctx context.Context, id bot.CandidateID) (*bot.Candidate, error) {
	raw, err := s.db.Client.Get(ctx, keyCandidate(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFoundCandidate()
	} else if err != nil {
		return nil, unavailable("load candidate", err)
	}
	var c bot.Candidate
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("store: decode candidate %s: %w", id, err)
	}
	return &c, nil
}

// CandidateByExternalID finds a profile by external ID or returns ENOTFOUND.
func (s *CandidateService) CandidateByExternalID(ctx context.Context, ext string) (*bot.Candidate, error) {
	id, err := s.db.Client.HGet(ctx, keyCandidateExt(), strings.TrimSpace(ext)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, notFoundCandidate()
	} else if err != nil {
		return nil, unavailable("find external id", err)
	}
	return s.Candidate(ctx, bot.CandidateID(id))
}

// CandidateByMember finds the profile a chat member registered, or returns ENOTFOUND.
func (s *CandidateService) CandidateByMember(ctx context.Context, t bot.TenantID, p bot.PersonID) (*bot.Candidate, error) {
	id, err := s.db.Client.HGet(ctx, keyCandidateMembers(), memberField(&bot.Recipient{Tenant: t, Person: p})).Result()
	if errors.Is(err, redis.Nil) {
		return nil, notFoundCandidate()
	} else if err != nil {
		return nil, unavailable("find member profile", err)
	}
	return s.Candidate(ctx, bot.CandidateID(id))
}

// Contact returns a profile's contact details.
func (s *CandidateService) Contact(ctx context.Context, id bot.CandidateID) (*bot.Contact, error) {
	vals, err := s.db.Client.MGet(ctx, keyCandidate(id), keyCandidateContact(id)).Result()
	if err != nil {
		return nil, unavailable("load contact", err)
	}
	if vals[0] == nil {
		return nil, notFoundCandidate()
	}
	var c bot.Contact
	if str, ok := vals[1].(string); ok {
		if err := json.Unmarshal([]byte(str), &c); err != nil {
			return nil, fmt.Errorf("store: decode contact of %s: %w", id, err)
		}
	}
	return &c, nil
}

// EachCandidate calls fn for every profile, oldest first, 500 at a time.
func (s *CandidateService) EachCandidate(ctx context.Context, fn func(c *bot.Candidate) error) error {
	const batch = 500
	for start := int64(0); ; start += batch {
		ids, err := s.db.Client.ZRange(ctx, keyCandidates(), start, start+batch-1).Result()
		if err != nil {
			return unavailable("list candidates", err)
		}
		if len(ids) == 0 {
			return nil
		}
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = keyCandidate(bot.CandidateID(id))
		}
		vals, err := s.db.Client.MGet(ctx, keys...).Result()
		if err != nil {
			return unavailable("load candidates", err)
		}
		for i, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue // deleted between the two reads
			}
			var c bot.Candidate
			if err := json.Unmarshal([]byte(str), &c); err != nil {
				return fmt.Errorf("store: decode candidate %s: %w", ids[i], err)
			}
			if err := fn(&c); err != nil {
				return err
			}
		}
		if len(ids) < batch {
			return nil
		}
	}
}

// CountCandidates returns the number of profiles.
func (s *CandidateService) CountCandidates(ctx context.Context) (int, error) {
	n, err := s.db.Client.ZCard(ctx, keyCandidates()).Result()
	if err != nil {
		return 0, unavailable("count candidates", err)
	}
	return int(n), nil
}

// DeleteCandidate erases a profile and everything that refers to it, tenant by tenant
// first and the profile last, so an interrupted deletion can simply be run again.
func (s *CandidateService) DeleteCandidate(ctx context.Context, id bot.CandidateID) error {
	c, err := s.Candidate(ctx, id)
	if err != nil {
		return err
	}
	refs, err := s.db.Client.SMembers(ctx, keyCandidateRefs(id)).Result()
	if err != nil {
		return unavailable("list candidate refs", err)
	}
	q := &Queue{db: s.db}
	for _, r := range refs {
		parts := strings.Split(r, refSep)
		var err error
		switch {
		case parts[0] == refSet && len(parts) == 3:
			err = s.db.Client.SRem(ctx, parts[1], parts[2]).Err()
		case parts[0] == refZSet && len(parts) == 3:
			err = s.db.Client.ZRem(ctx, parts[1], parts[2]).Err()
		case parts[0] == refKey && len(parts) == 2:
			err = s.db.Client.Del(ctx, parts[1]).Err()
		case parts[0] == refJob && len(parts) == 2:
			err = q.Cancel(ctx, parts[1])
		}
		if err != nil {
			return unavailable("erase candidate refs", err)
		}
	}
	if c.Member != nil {
		if err := s.purgeExports(ctx, c.Member); err != nil {
			return err
		}
	}
	_, err = s.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, keyCandidate(id), keyCandidateContact(id), keyCandidateRefs(id))
		p.ZRem(ctx, keyCandidates(), string(id))
		p.ZRem(ctx, keyCandidateChanges(), string(id))
		p.HDel(ctx, keyCandidateExt(), c.ExternalID)
		if c.Member != nil {
			p.HDel(ctx, keyCandidateMembers(), memberField(c.Member))
		}
		return nil
	})
	if err != nil {
		return unavailable("delete candidate", err)
	}
	return nil
}

// purgeExports deletes the data exports (web attachments) the member downloaded: they
// are copies of the profile and its contact.
func (s *CandidateService) purgeExports(ctx context.Context, m *bot.Recipient) error {
	pattern := keyAttachmentPattern(m.Tenant)
	var client redis.Cmdable = s.db.Client
	if cc, ok := s.db.Client.(*redis.ClusterClient); ok {
		// All of a tenant's keys share one slot; SCAN must run on the node that has it.
		node, err := cc.MasterForKey(ctx, pattern)
		if err != nil {
			return unavailable("find attachment node", err)
		}
		client = node
	}
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, pattern, 500).Result()
		if err != nil {
			return unavailable("scan attachments", err)
		}
		for _, k := range keys {
			f, err := client.HMGet(ctx, k, "owner", "name").Result()
			if err != nil {
				return unavailable("read attachment", err)
			}
			if owner, _ := f[0].(string); owner == string(m.Person) {
				if name, _ := f[1].(string); name == bot.CandidateExportFile {
					if err := client.Del(ctx, k).Err(); err != nil {
						return unavailable("delete attachment", err)
					}
				}
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// addRef records a tenant key that mentions the candidate, before the key is written.
func (s *CandidateService) addRef(ctx context.Context, id bot.CandidateID, r string) error {
	if err := s.db.Client.SAdd(ctx, keyCandidateRefs(id), r).Err(); err != nil {
		return unavailable("record candidate ref", err)
	}
	return nil
}

// MarkMatched records a (need, candidate) pair once.
func (s *CandidateService) MarkMatched(ctx context.Context, t bot.TenantID, n bot.NeedID, id bot.CandidateID) (bool, error) {
	key := keyCandidateMatched(t, n)
	if err := s.addRef(ctx, id, ref(refSet, key, string(id))); err != nil {
		return false, err
	}
	added, err := s.db.Client.SAdd(ctx, key, string(id)).Result()
	if err != nil {
		return false, unavailable("mark match", err)
	}
	return added == 1, nil
}

// Matched reports whether a pair was recorded.
func (s *CandidateService) Matched(ctx context.Context, t bot.TenantID, n bot.NeedID, id bot.CandidateID) (bool, error) {
	ok, err := s.db.Client.SIsMember(ctx, keyCandidateMatched(t, n), string(id)).Result()
	if err != nil {
		return false, unavailable("check match", err)
	}
	return ok, nil
}

// TrackJob remembers a queued job about the candidate.
func (s *CandidateService) TrackJob(ctx context.Context, id bot.CandidateID, jobID string) error {
	return s.addRef(ctx, id, ref(refJob, jobID))
}

func pendingMember(t bot.TenantID, n bot.NeedID, id bot.CandidateID) string {
	return string(t) + "|" + strconv.FormatInt(int64(n), 10) + "|" + string(id)
}

// RequestIntroduction stores a pending request once per (tenant, need, candidate).
func (s *CandidateService) RequestIntroduction(ctx context.Context, in *bot.Introduction) (*bot.Introduction, bool, error) {
	key := keyIntro(in.Tenant, in.Need, in.Candidate)
	pm := pendingMember(in.Tenant, in.Need, in.Candidate)
	if err := s.addRef(ctx, in.Candidate, ref(refKey, key)); err != nil {
		return nil, false, err
	}
	if err := s.addRef(ctx, in.Candidate, ref(refZSet, keyIntrosPending(), pm)); err != nil {
		return nil, false, err
	}
	in.Status = bot.IntroPending
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.db.Clock.Now()
	}
	b, _ := json.Marshal(in)
	ok, err := s.db.Client.SetNX(ctx, key, b, 0).Result()
	if err != nil {
		return nil, false, unavailable("request introduction", err)
	}
	if !ok {
		cur, err := s.Introduction(ctx, in.Tenant, in.Need, in.Candidate)
		return cur, false, err
	}
	if err := s.db.Client.ZAdd(ctx, keyIntrosPending(), redis.Z{Score: float64(in.CreatedAt.UnixMilli()), Member: pm}).Err(); err != nil {
		return nil, false, unavailable("list introduction", err)
	}
	return in, true, nil
}

// Introduction returns one request or ENOTFOUND.
func (s *CandidateService) Introduction(ctx context.Context, t bot.TenantID, n bot.NeedID, id bot.CandidateID) (*bot.Introduction, error) {
	raw, err := s.db.Client.Get(ctx, keyIntro(t, n, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "この紹介依頼は見つかりません。取り消されたか、候補者の登録が削除された可能性があります。")
	} else if err != nil {
		return nil, unavailable("load introduction", err)
	}
	var in bot.Introduction
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("store: decode introduction: %w", err)
	}
	return &in, nil
}

// AnswerIntroduction records the candidate's answer once.
func (s *CandidateService) AnswerIntroduction(ctx context.Context, t bot.TenantID, n bot.NeedID, id bot.CandidateID, yes bool) (*bot.Introduction, error) {
	key := keyIntro(t, n, id)
	var out *bot.Introduction
	err := s.db.optimistic(ctx, "answer introduction", bot.Errorf(bot.ECONFLICT, "この紹介依頼は同時に更新されています。もう一度お試しください。"), func(tx *redis.Tx) error {
		raw, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return bot.Errorf(bot.ENOTFOUND, "この紹介依頼は見つかりません。取り消された可能性があります。")
		} else if err != nil {
			return err
		}
		var in bot.Introduction
		if err := json.Unmarshal(raw, &in); err != nil {
			return fmt.Errorf("store: decode introduction: %w", err)
		}
		if in.Status != bot.IntroPending {
			out = &in
			return bot.Errorf(bot.ECONFLICT, "この紹介依頼には既に回答済みです。")
		}
		in.Status = bot.IntroDeclined
		if yes {
			in.Status = bot.IntroAccepted
		}
		in.AnsweredAt = s.db.Clock.Now()
		b, _ := json.Marshal(&in)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, b, 0)
			return nil
		})
		out = &in
		return err
	}, key)
	var be *bot.Error
	if errors.As(err, &be) {
		return out, err // e.g. already answered: the caller shows the earlier answer
	} else if err != nil {
		return nil, err
	}
	if err := s.db.Client.ZRem(ctx, keyIntrosPending(), pendingMember(t, n, id)).Err(); err != nil {
		return nil, unavailable("answer introduction", err)
	}
	return out, nil
}

// Introductions lists a candidate's requests in every tenant.
func (s *CandidateService) Introductions(ctx context.Context, id bot.CandidateID) ([]*bot.Introduction, error) {
	refs, err := s.db.Client.SMembers(ctx, keyCandidateRefs(id)).Result()
	if err != nil {
		return nil, unavailable("list candidate refs", err)
	}
	var out []*bot.Introduction
	for _, r := range refs {
		parts := strings.Split(r, refSep)
		if parts[0] != refKey || len(parts) != 2 {
			continue
		}
		raw, err := s.db.Client.Get(ctx, parts[1]).Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		} else if err != nil {
			return nil, unavailable("load introduction", err)
		}
		var in bot.Introduction
		if json.Unmarshal(raw, &in) == nil && in.Candidate == id {
			out = append(out, &in)
		}
	}
	sortIntros(out)
	return out, nil
}

func sortIntros(in []*bot.Introduction) {
	slices.SortStableFunc(in, func(a, b *bot.Introduction) int { return a.CreatedAt.Compare(b.CreatedAt) })
}

// PendingIntroductions lists unanswered requests, oldest first.
func (s *CandidateService) PendingIntroductions(ctx context.Context) ([]*bot.Introduction, error) {
	ms, err := s.db.Client.ZRange(ctx, keyIntrosPending(), 0, -1).Result()
	if err != nil {
		return nil, unavailable("list pending introductions", err)
	}
	var out []*bot.Introduction
	for _, m := range ms {
		parts := strings.Split(m, "|")
		if len(parts) != 3 {
			continue
		}
		n, _ := strconv.ParseInt(parts[1], 10, 64)
		in, err := s.Introduction(ctx, bot.TenantID(parts[0]), bot.NeedID(n), bot.CandidateID(parts[2]))
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Audit appends a record to a tenant's (or the operator's) audit log.
func (s *CandidateService) Audit(ctx context.Context, t bot.TenantID, rec bot.AuditRecord) error {
	if rec.At.IsZero() {
		rec.At = s.db.Clock.Now()
	}
	key := keyOperatorAudit()
	if t != "" {
		key = keyAudit(t)
	}
	b, _ := json.Marshal(rec)
	_, err := s.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, key, b)
		p.LTrim(ctx, key, -s.AuditKeep, -1)
		return nil
	})
	if err != nil {
		return unavailable("write audit record", err)
	}
	return nil
}

// AuditLog returns the newest n records, oldest first.
func (s *CandidateService) AuditLog(ctx context.Context, t bot.TenantID, n int) ([]bot.AuditRecord, error) {
	key := keyOperatorAudit()
	if t != "" {
		key = keyAudit(t)
	}
	raw, err := s.db.Client.LRange(ctx, key, -int64(max(n, 1)), -1).Result()
	if err != nil {
		return nil, unavailable("read audit log", err)
	}
	out := make([]bot.AuditRecord, 0, len(raw))
	for _, r := range raw {
		var rec bot.AuditRecord
		if json.Unmarshal([]byte(r), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}
