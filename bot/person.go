package bot

import (
	"context"
	"time"
)

// Role is what a member may do in a tenant.
type Role string

// The roles of SPEC §1.
const (
	RoleStaff     Role = "staff"
	RoleDXLead    Role = "dx_lead"
	RoleAdviser   Role = "adviser"
	RoleMayor     Role = "mayor"
	RoleAdmin     Role = "admin"
	RoleCandidate Role = "candidate"
)

// Roles lists every role in display order.
var Roles = []Role{RoleStaff, RoleDXLead, RoleAdviser, RoleMayor, RoleAdmin, RoleCandidate}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Tenant is one municipality.
type Tenant struct {
	ID          TenantID `json:"id"`
	Name        string   `json:"name"`
	Departments []string `json:"departments"`
	// DXChannel is where new needs are posted: "web" (the DX leads' inboxes),
	// "slack:CHANNEL" or "lineworks:CHANNEL".
	DXChannel string `json:"dx_channel,omitempty"`
	// PriorityWeights override the default weights of the need priority score
	// (urgency, deadline, impact, supporters, departments).
	PriorityWeights map[string]int `json:"priority_weights,omitempty"`
	// DigestTime is when the weekly digest goes out on the week's first business day
	// ("08:30", Asia/Tokyo); empty means the deployment's KAKEHASHI_DIGEST_TIME.
	DigestTime string    `json:"digest_time,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Identity is one person's account on one platform.
type Identity struct {
	Platform Platform `json:"platform"`
	UserID   string   `json:"user_id"`
}

// Person is a member of a tenant. A person has at most one identity per platform.
type Person struct {
	ID          PersonID            `json:"id"`
	Tenant      TenantID            `json:"tenant"`
	Role        Role                `json:"role"`
	DisplayName string              `json:"display_name"`
	Lang        Lang                `json:"lang"`
	Identities  map[Platform]string `json:"identities"`
	// Preferred is the platform pushes go to; empty means the most recently used one.
	Preferred Platform  `json:"preferred,omitempty"`
	JoinedAt  time.Time `json:"joined_at"`
}

// Can reports whether the person has one of the roles. A dx_lead can do what staff can.
func (p *Person) Can(roles ...Role) bool {
	if p == nil {
		return false
	}
	for _, r := range roles {
		if p.Role == r || (r == RoleStaff && p.Role == RoleDXLead) {
			return true
		}
	}
	return false
}

// Invite is a code that makes its sender a member of a tenant with a role.
type Invite struct {
	Code   string   `json:"code"`
	Tenant TenantID `json:"tenant"`
	Role   Role     `json:"role"`
	// UsesLeft counts remaining uses; a negative value means unlimited (the demo codes).
	UsesLeft  int       `json:"uses_left"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// MembershipService manages tenants, members and invites.
type MembershipService interface {
	// CreateTenant creates or updates a tenant.
	CreateTenant(ctx context.Context, t *Tenant) error
	// Tenant returns a tenant. Returns ENOTFOUND if it does not exist.
	Tenant(ctx context.Context, id TenantID) (*Tenant, error)
	// Tenants lists all tenants.
	Tenants(ctx context.Context) ([]*Tenant, error)
	// CreateInvite stores an invite. Returns ECONFLICT if the code exists.
	CreateInvite(ctx context.Context, inv *Invite) error
	// Join redeems code for the platform identity, creating the person or updating their role.
	// Returns ENOTFOUND for an unknown code, EINVALID for an expired or used-up code.
	Join(ctx context.Context, code string, id Identity, displayName string) (*Person, error)
	// PersonByIdentity finds the member behind a platform identity in a tenant;
	// with an empty tenant it uses the identity's current tenant. Returns ENOTFOUND if none.
	PersonByIdentity(ctx context.Context, tenant TenantID, id Identity) (*Person, error)
	// Person returns a member. Returns ENOTFOUND if none.
	Person(ctx context.Context, tenant TenantID, id PersonID) (*Person, error)
	// EnsureMember makes the identity a member with role (used for bound workspaces) and returns it.
	EnsureMember(ctx context.Context, tenant TenantID, id Identity, role Role, displayName string) (*Person, error)
	// SavePerson stores changes to a person (language, display name, preferred channel).
	SavePerson(ctx context.Context, p *Person) error
	// Members lists the members of a tenant with one of the roles (all when none given).
	Members(ctx context.Context, tenant TenantID, roles ...Role) ([]*Person, error)
}
