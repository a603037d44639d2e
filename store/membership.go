package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/bot"
)

// MembershipService implements bot.MembershipService on Redis.
type MembershipService struct{ db *DB }

var _ bot.MembershipService = (*MembershipService)(nil)

// NewMembershipService returns the membership service of db.
func NewMembershipService(db *DB) *MembershipService { return &MembershipService{db: db} }

// CreateTenant creates or updates a tenant.
func (s *MembershipService) CreateTenant(ctx context.Context, t *bot.Tenant) error {
	if t.ID == "" || strings.ContainsAny(string(t.ID), "{}: ") {
		return bot.Errorf(bot.EINVALID, "テナントIDには英数字とハイフンだけを使ってください。")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.db.Clock.Now()
	}
	b, _ := json.Marshal(t)
	if err := s.db.Client.Set(ctx, keyTenant(t.ID), b, 0).Err(); err != nil {
		return unavailable("save tenant", err)
	}
	if err := s.db.Client.SAdd(ctx, keyTenants(), string(t.ID)).Err(); err != nil {
		return unavailable("index tenant", err)
	}
	return nil
}

// Tenant returns a tenant or ENOTFOUND.
func (s *MembershipService) Tenant(ctx context.Context, id bot.TenantID) (*bot.Tenant, error) {
	b, err := s.db.Client.Get(ctx, keyTenant(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "自治体 %s は登録されていません。", id)
	} else if err != nil {
		return nil, unavailable("load tenant", err)
	}
	var t bot.Tenant
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("store: decode tenant: %w", err)
	}
	return &t, nil
}

// Tenants lists all tenants sorted by ID.
func (s *MembershipService) Tenants(ctx context.Context) ([]*bot.Tenant, error) {
	ids, err := s.db.Client.SMembers(ctx, keyTenants()).Result()
	if err != nil {
		return nil, unavailable("list tenants", err)
	}
	sort.Strings(ids)
	out := make([]*bot.Tenant, 0, len(ids))
	for _, id := range ids {
		t, err := s.Tenant(ctx, bot.TenantID(id))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// NormalizeCode upper-cases an invite code and folds full-width characters people type on phones.
func NormalizeCode(code string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(code) {
		switch {
		case r >= 'Ａ' && r <= 'Ｚ', r >= 'ａ' && r <= 'ｚ', r >= '０' && r <= '９':
			r = r - 'Ａ' + 'A'
		case r == 'ー' || r == '－' || r == '―' || r == '‐':
			r = '-'
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// CreateInvite stores an invite; ECONFLICT if the code exists.
func (s *MembershipService) CreateInvite(ctx context.Context, inv *bot.Invite) error {
	inv.Code = NormalizeCode(inv.Code)
	if inv.Code == "" || !inv.Role.Valid() {
		return bot.Errorf(bot.EINVALID, "招待コードと役割を確認してください。")
	}
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = s.db.Clock.Now()
	}
	ok, err := s.db.Client.SetNX(ctx, keyInviteIndex(inv.Code), string(inv.Tenant), 0).Result()
	if err != nil {
		return unavailable("create invite", err)
	}
	if !ok {
		owner, _ := s.db.Client.Get(ctx, keyInviteIndex(inv.Code)).Result()
		if owner != string(inv.Tenant) {
			return bot.Errorf(bot.ECONFLICT, "招待コード %s は既に使われています。", inv.Code)
		}
		exists, _ := s.db.Client.Exists(ctx, keyInvite(inv.Tenant, inv.Code)).Result()
		if exists == 1 {
			return bot.Errorf(bot.ECONFLICT, "招待コード %s は既に使われています。", inv.Code)
		}
	}
	exp := int64(0)
	if !inv.ExpiresAt.IsZero() {
		exp = inv.ExpiresAt.Unix()
	}
	_, err = s.db.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, keyInvite(inv.Tenant, inv.Code), "role", string(inv.Role), "uses_left", inv.UsesLeft,
			"expires_at", exp, "created_at", inv.CreatedAt.Unix())
		p.SAdd(ctx, keyInvites(inv.Tenant), inv.Code)
		return nil
	})
	if err != nil {
		return unavailable("create invite", err)
	}
	return nil
}

// joinScript redeems an invite atomically: it checks expiry and uses, decrements the
// count, and creates the person or gives an existing one the invite's role.
// KEYS: invite, tenant identity, person seq. ARGV: now, platform, uid, display name, tenant, lang.
var joinScript = redis.NewScript(`
local inv = redis.call('HGETALL', KEYS[1])
if #inv == 0 then return {'err', 'notfound'} end
local f = {}
for i = 1, #inv, 2 do f[inv[i]] = inv[i+1] end
local now = tonumber(ARGV[1])
local exp = tonumber(f['expires_at'] or '0')
if exp > 0 and now >= exp then return {'err', 'expired'} end
local uses = tonumber(f['uses_left'] or '0')
if uses == 0 then return {'err', 'used'} end
local role = f['role']
local pid = redis.call('GET', KEYS[2])
local prefix = string.sub(KEYS[1], 1, string.find(KEYS[1], '}:') + 1)
local person
if pid then
  local raw = redis.call('GET', prefix .. 'person:' .. pid)
  if raw then person = cjson.decode(raw) end
end
if not person then
  pid = 'p' .. redis.call('INCR', KEYS[3])
  person = {id = pid, tenant = ARGV[5], display_name = ARGV[4], lang = ARGV[6], identities = {}, joined_at = ARGV[7]}
  person['identities'][ARGV[2]] = ARGV[3]
  redis.call('SET', KEYS[2], pid)
  redis.call('SADD', prefix .. 'persons', pid)
else
  redis.call('SREM', prefix .. 'role:' .. person['role'], pid)
end
person['role'] = role
if ARGV[4] ~= '' then person['display_name'] = ARGV[4] end
redis.call('SET', prefix .. 'person:' .. pid, cjson.encode(person))
redis.call('SADD', prefix .. 'role:' .. role, pid)
if uses > 0 then redis.call('HINCRBY', KEYS[1], 'uses_left', -1) end
return {'ok', cjson.encode(person)}`)

// Join redeems an invite code for an identity.
func (s *MembershipService) Join(ctx context.Context, code string, id bot.Identity, displayName string) (*bot.Person, error) {
	code = NormalizeCode(code)
	tenant, err := s.db.Client.Get(ctx, keyInviteIndex(code)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "招待コード「%s」が見つかりません。担当者から届いたコードをもう一度ご確認ください。", code)
	} else if err != nil {
		return nil, unavailable("find invite", err)
	}
	t := bot.TenantID(tenant)
	now := s.db.Clock.Now()
	res, err := joinScript.Run(ctx, s.db.Client,
		[]string{keyInvite(t, code), keyTenantIdentity(t, id.Platform, id.UserID), keyPersonSeq(t)},
		now.Unix(), string(id.Platform), id.UserID, displayName, tenant, string(bot.LangJA), now.UTC().Format(time.RFC3339)).StringSlice()
	if err != nil {
		return nil, unavailable("join", err)
	}
	if res[0] == "err" {
		switch res[1] {
		case "expired":
			return nil, bot.Errorf(bot.EINVALID, "招待コード「%s」は有効期限が切れています。担当者に新しいコードを依頼してください。", code)
		case "used":
			return nil, bot.Errorf(bot.EINVALID, "招待コード「%s」は利用回数の上限に達しています。担当者に新しいコードを依頼してください。", code)
		default:
			return nil, bot.Errorf(bot.ENOTFOUND, "招待コード「%s」が見つかりません。担当者から届いたコードをもう一度ご確認ください。", code)
		}
	}
	p, err := decodePerson(res[1])
	if err != nil {
		return nil, err
	}
	if err := s.linkIdentity(ctx, t, p.ID, id); err != nil {
		return nil, err
	}
	return p, nil
}

// linkIdentity records the global identity → tenant lookup used by channels without a
// tenant binding (LINE) and makes this tenant the identity's current one.
func (s *MembershipService) linkIdentity(ctx context.Context, t bot.TenantID, pid bot.PersonID, id bot.Identity) error {
	err := s.db.Client.HSet(ctx, keyIdentity(id.Platform, id.UserID), string(t), string(pid), "_current", string(t)).Err()
	if err != nil {
		return unavailable("link identity", err)
	}
	return nil
}

func decodePerson(raw string) (*bot.Person, error) {
	var p bot.Person
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, fmt.Errorf("store: decode person: %w", err)
	}
	if p.Identities == nil {
		p.Identities = map[bot.Platform]string{}
	}
	if p.Lang == "" {
		p.Lang = bot.LangJA
	}
	return &p, nil
}

// CurrentTenant returns the tenant an identity last joined or used, or "" if none.
func (s *MembershipService) CurrentTenant(ctx context.Context, id bot.Identity) (bot.TenantID, error) {
	t, err := s.db.Client.HGet(ctx, keyIdentity(id.Platform, id.UserID), "_current").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	} else if err != nil {
		return "", unavailable("find identity", err)
	}
	return bot.TenantID(t), nil
}

// PersonByIdentity finds the member behind an identity.
func (s *MembershipService) PersonByIdentity(ctx context.Context, tenant bot.TenantID, id bot.Identity) (*bot.Person, error) {
	if tenant == "" {
		t, err := s.CurrentTenant(ctx, id)
		if err != nil {
			return nil, err
		}
		if t == "" {
			return nil, bot.Errorf(bot.ENOTFOUND, "not a member")
		}
		tenant = t
	}
	pid, err := s.db.Client.Get(ctx, keyTenantIdentity(tenant, id.Platform, id.UserID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "not a member")
	} else if err != nil {
		return nil, unavailable("find member", err)
	}
	return s.Person(ctx, tenant, bot.PersonID(pid))
}

// Person returns a member or ENOTFOUND.
func (s *MembershipService) Person(ctx context.Context, tenant bot.TenantID, id bot.PersonID) (*bot.Person, error) {
	raw, err := s.db.Client.Get(ctx, keyPerson(tenant, id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENOTFOUND, "not a member")
	} else if err != nil {
		return nil, unavailable("load member", err)
	}
	return decodePerson(raw)
}

// EnsureMember makes a bound-workspace identity a member with role, keeping a higher role it already has.
func (s *MembershipService) EnsureMember(ctx context.Context, tenant bot.TenantID, id bot.Identity, role bot.Role, displayName string) (*bot.Person, error) {
	p, err := s.PersonByIdentity(ctx, tenant, id)
	if err == nil {
		return p, nil
	} else if bot.ErrorCode(err) != bot.ENOTFOUND {
		return nil, err
	}
	seq, err := s.db.Client.Incr(ctx, keyPersonSeq(tenant)).Result()
	if err != nil {
		return nil, unavailable("create member", err)
	}
	p = &bot.Person{ID: bot.PersonID(fmt.Sprintf("p%d", seq)), Tenant: tenant, Role: role, DisplayName: displayName,
		Lang: bot.LangJA, Identities: map[bot.Platform]string{id.Platform: id.UserID}, JoinedAt: s.db.Clock.Now().UTC()}
	ok, err := s.db.Client.SetNX(ctx, keyTenantIdentity(tenant, id.Platform, id.UserID), string(p.ID), 0).Result()
	if err != nil {
		return nil, unavailable("create member", err)
	}
	if !ok { // another replica created it first; its person record follows the identity by a moment
		for wait := time.Millisecond; ; wait *= 2 {
			p, err := s.PersonByIdentity(ctx, tenant, id)
			if bot.ErrorCode(err) != bot.ENOTFOUND || wait > time.Second {
				return p, err
			}
			time.Sleep(wait)
		}
	}
	if err := s.SavePerson(ctx, p); err != nil {
		return nil, err
	}
	return p, s.linkIdentity(ctx, tenant, p.ID, id)
}

// SavePerson stores a person and its role index.
func (s *MembershipService) SavePerson(ctx context.Context, p *bot.Person) error {
	b, _ := json.Marshal(p)
	_, err := s.db.Client.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.Set(ctx, keyPerson(p.Tenant, p.ID), b, 0)
		pl.SAdd(ctx, keyPersons(p.Tenant), string(p.ID))
		for _, r := range bot.Roles {
			if r != p.Role {
				pl.SRem(ctx, keyRole(p.Tenant, r), string(p.ID))
			}
		}
		pl.SAdd(ctx, keyRole(p.Tenant, p.Role), string(p.ID))
		return nil
	})
	if err != nil {
		return unavailable("save member", err)
	}
	return nil
}

// AddIdentity links another platform identity to an existing person (one per platform).
func (s *MembershipService) AddIdentity(ctx context.Context, p *bot.Person, id bot.Identity) error {
	if p.Identities == nil {
		p.Identities = map[bot.Platform]string{}
	}
	p.Identities[id.Platform] = id.UserID
	if err := s.db.Client.Set(ctx, keyTenantIdentity(p.Tenant, id.Platform, id.UserID), string(p.ID), 0).Err(); err != nil {
		return unavailable("link identity", err)
	}
	if err := s.SavePerson(ctx, p); err != nil {
		return err
	}
	return s.linkIdentity(ctx, p.Tenant, p.ID, id)
}

// Members lists a tenant's members with one of roles (all when none), sorted by ID.
func (s *MembershipService) Members(ctx context.Context, tenant bot.TenantID, roles ...bot.Role) ([]*bot.Person, error) {
	var ids []string
	var err error
	if len(roles) == 0 {
		ids, err = s.db.Client.SMembers(ctx, keyPersons(tenant)).Result()
	} else {
		keys := make([]string, len(roles))
		for i, r := range roles {
			keys[i] = keyRole(tenant, r)
		}
		ids, err = s.db.Client.SUnion(ctx, keys...).Result()
	}
	if err != nil {
		return nil, unavailable("list members", err)
	}
	sort.Strings(ids)
	out := make([]*bot.Person, 0, len(ids))
	for _, id := range ids {
		p, err := s.Person(ctx, tenant, bot.PersonID(id))
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
