package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

func TestTenants(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ms := store.NewMembershipService(db)

	for _, bad := range []bot.TenantID{"", "a{b}", "a:b", "a b"} {
		wantCode(t, ms.CreateTenant(ctx, &bot.Tenant{ID: bad, Name: "x"}), bot.EINVALID)
	}
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "sanjo", Name: "三条市"}))
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "kobe", Name: "神戸市", Departments: []string{"総務課"}}))
	// Creating again updates.
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "sanjo", Name: "三条市役所"}))

	ts, err := ms.Tenants(ctx)
	mustNoErr(t, err)
	var got []string
	for _, x := range ts {
		got = append(got, string(x.ID)+"="+x.Name)
	}
	if diff := cmp.Diff([]string{"kobe=神戸市", "sanjo=三条市役所"}, got); diff != "" {
		t.Errorf("Tenants (-want +got):\n%s", diff)
	}
	kobe, err := ms.Tenant(ctx, "kobe")
	mustNoErr(t, err)
	if diff := cmp.Diff([]string{"総務課"}, kobe.Departments); diff != "" {
		t.Errorf("departments (-want +got):\n%s", diff)
	}
	if kobe.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}
	_, err = ms.Tenant(ctx, "nowhere")
	wantCode(t, err, bot.ENOTFOUND)
}

func webID(uid string) bot.Identity { return bot.Identity{Platform: bot.PlatformWeb, UserID: uid} }

func TestInvites(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	clock := newStepClock()
	db.Clock = clock
	ms := store.NewMembershipService(db)
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "okayama", Name: "岡山市"}))
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "kobe", Name: "神戸市"}))

	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "abcd-1234", Tenant: "okayama", Role: bot.RoleStaff, UsesLeft: 2}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "EXP-0001", Tenant: "okayama", Role: bot.RoleMayor, UsesLeft: 5,
		ExpiresAt: clock.Now().Add(time.Hour)}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "FOREVER", Tenant: "okayama", Role: bot.RoleStaff, UsesLeft: -1}))

	// Codes are unique across tenants.
	wantCode(t, ms.CreateInvite(ctx, &bot.Invite{Code: "ABCD-1234", Tenant: "okayama", Role: bot.RoleStaff, UsesLeft: 1}), bot.ECONFLICT)
	wantCode(t, ms.CreateInvite(ctx, &bot.Invite{Code: "ABCD-1234", Tenant: "kobe", Role: bot.RoleStaff, UsesLeft: 1}), bot.ECONFLICT)
	wantCode(t, ms.CreateInvite(ctx, &bot.Invite{Code: "X", Tenant: "kobe", Role: "boss", UsesLeft: 1}), bot.EINVALID)
	wantCode(t, ms.CreateInvite(ctx, &bot.Invite{Code: "  ", Tenant: "kobe", Role: bot.RoleStaff, UsesLeft: 1}), bot.EINVALID)

	// Uses: two people, then the code is used up. A full-width code typed on a phone works.
	p1, err := ms.Join(ctx, "ＡＢＣＤー１２３４", webID("u1"), "岡山 花子")
	mustNoErr(t, err)
	if p1.Tenant != "okayama" || p1.Role != bot.RoleStaff || p1.DisplayName != "岡山 花子" || p1.Lang != bot.LangJA {
		t.Errorf("joined person = %+v", p1)
	}
	if p1.Identities[bot.PlatformWeb] != "u1" {
		t.Errorf("identities = %v", p1.Identities)
	}
	_, err = ms.Join(ctx, "abcd-1234", webID("u2"), "")
	mustNoErr(t, err)
	_, err = ms.Join(ctx, "ABCD-1234", webID("u3"), "")
	wantCode(t, err, bot.EINVALID)
	if msg := bot.ErrorMessage(err); msg == "" || !containsAll(msg, "上限", "ABCD-1234") {
		t.Errorf("used-up message = %q", msg)
	}

	// Unknown code.
	_, err = ms.Join(ctx, "NOPE-0000", webID("u3"), "")
	wantCode(t, err, bot.ENOTFOUND)
	if !containsAll(bot.ErrorMessage(err), "見つかりません") {
		t.Errorf("unknown message = %q", bot.ErrorMessage(err))
	}

	// Expiry follows the store's clock.
	clock.Add(59 * time.Minute)
	_, err = ms.Join(ctx, "EXP-0001", webID("u4"), "")
	mustNoErr(t, err)
	clock.Add(time.Minute)
	_, err = ms.Join(ctx, "EXP-0001", webID("u5"), "")
	wantCode(t, err, bot.EINVALID)
	if !containsAll(bot.ErrorMessage(err), "有効期限") {
		t.Errorf("expired message = %q", bot.ErrorMessage(err))
	}

	// Unlimited codes stay usable.
	for i := range 5 {
		_, err := ms.Join(ctx, "FOREVER", webID(fmt.Sprintf("f%d", i)), "")
		mustNoErr(t, err)
	}

	members, err := ms.Members(ctx, "okayama")
	mustNoErr(t, err)
	if len(members) != 8 {
		t.Errorf("members = %d, want 8", len(members))
	}
	mayors, err := ms.Members(ctx, "okayama", bot.RoleMayor)
	mustNoErr(t, err)
	if len(mayors) != 1 || mayors[0].Identities[bot.PlatformWeb] != "u4" {
		t.Errorf("mayors = %+v", mayors)
	}
	none, err := ms.Members(ctx, "kobe")
	mustNoErr(t, err)
	if len(none) != 0 {
		t.Errorf("kobe sees okayama's members: %+v", none)
	}
}

func TestJoinTwiceUpdatesRole(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ms := store.NewMembershipService(db)
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "demo", Name: "デモ市"}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "STAFF", Tenant: "demo", Role: bot.RoleStaff, UsesLeft: -1}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "DX", Tenant: "demo", Role: bot.RoleDXLead, UsesLeft: -1}))

	p1, err := ms.Join(ctx, "STAFF", webID("u1"), "田中")
	mustNoErr(t, err)
	p2, err := ms.Join(ctx, "DX", webID("u1"), "")
	mustNoErr(t, err)
	if p2.ID != p1.ID {
		t.Fatalf("second join made a new person %s (first %s)", p2.ID, p1.ID)
	}
	if p2.Role != bot.RoleDXLead || p2.DisplayName != "田中" {
		t.Errorf("after second join: role %s name %q", p2.Role, p2.DisplayName)
	}
	staff, err := ms.Members(ctx, "demo", bot.RoleStaff)
	mustNoErr(t, err)
	if len(staff) != 0 {
		t.Errorf("still listed as staff: %+v", staff)
	}
	leads, err := ms.Members(ctx, "demo", bot.RoleDXLead)
	mustNoErr(t, err)
	if len(leads) != 1 || leads[0].ID != p1.ID {
		t.Errorf("dx leads = %+v", leads)
	}
	got, err := ms.PersonByIdentity(ctx, "demo", webID("u1"))
	mustNoErr(t, err)
	if got.Role != bot.RoleDXLead {
		t.Errorf("stored role = %s", got.Role)
	}
}

// TestEnsureMemberRace: two replicas see the first message of the same Slack user at
// once; exactly one person must come out of it.
func TestEnsureMemberRace(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ms := store.NewMembershipService(db)
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "kitakami", Name: "北上市"}))
	const users = 30
	for u := range users {
		id := bot.Identity{Platform: bot.PlatformSlack, UserID: fmt.Sprintf("U%03d", u)}
		var wg sync.WaitGroup
		got := make([]*bot.Person, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				got[i], errs[i] = ms.EnsureMember(ctx, "kitakami", id, bot.RoleStaff, "")
			})
		}
		close(start)
		wg.Wait()
		for i := range 2 {
			if errs[i] != nil {
				t.Fatalf("user %s replica %d: %v", id.UserID, i, errs[i])
			}
		}
		if got[0].ID != got[1].ID {
			t.Fatalf("user %s became two people: %s and %s", id.UserID, got[0].ID, got[1].ID)
		}
	}
	members, err := ms.Members(ctx, "kitakami")
	mustNoErr(t, err)
	if len(members) != users {
		t.Errorf("members = %d, want %d", len(members), users)
	}
	// A member keeps their role: EnsureMember never downgrades.
	p := members[0]
	p.Role = bot.RoleDXLead
	mustNoErr(t, ms.SavePerson(ctx, p))
	again, err := ms.EnsureMember(ctx, "kitakami", bot.Identity{Platform: bot.PlatformSlack, UserID: p.Identities[bot.PlatformSlack]}, bot.RoleStaff, "")
	mustNoErr(t, err)
	if again.ID != p.ID || again.Role != bot.RoleDXLead {
		t.Errorf("EnsureMember changed the member: %+v", again)
	}
}

func TestIdentities(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ms := store.NewMembershipService(db)
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "a", Name: "A市"}))
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "b", Name: "B町"}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "A-ADV", Tenant: "a", Role: bot.RoleAdviser, UsesLeft: -1}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "B-ADV", Tenant: "b", Role: bot.RoleAdviser, UsesLeft: -1}))

	line := bot.Identity{Platform: bot.PlatformLINE, UserID: "Uline1"}
	cur, err := ms.CurrentTenant(ctx, line)
	mustNoErr(t, err)
	if cur != "" {
		t.Errorf("unknown identity has current tenant %q", cur)
	}
	_, err = ms.PersonByIdentity(ctx, "", line)
	wantCode(t, err, bot.ENOTFOUND)

	// An adviser of two tenants: the last joined is current, both memberships remain.
	pa, err := ms.Join(ctx, "A-ADV", line, "佐藤")
	mustNoErr(t, err)
	pb, err := ms.Join(ctx, "B-ADV", line, "佐藤")
	mustNoErr(t, err)
	cur, err = ms.CurrentTenant(ctx, line)
	mustNoErr(t, err)
	if cur != "b" {
		t.Errorf("current tenant = %q, want b", cur)
	}
	got, err := ms.PersonByIdentity(ctx, "", line)
	mustNoErr(t, err)
	if got.Tenant != "b" || got.ID != pb.ID {
		t.Errorf("current person = %+v", got)
	}
	got, err = ms.PersonByIdentity(ctx, "a", line)
	mustNoErr(t, err)
	if got.Tenant != "a" || got.ID != pa.ID {
		t.Errorf("person in a = %+v", got)
	}

	// A second platform identity for the same person (one per platform).
	slack := bot.Identity{Platform: bot.PlatformSlack, UserID: "U999"}
	mustNoErr(t, ms.AddIdentity(ctx, pa, slack))
	viaSlack, err := ms.PersonByIdentity(ctx, "a", slack)
	mustNoErr(t, err)
	want := map[bot.Platform]string{bot.PlatformLINE: "Uline1", bot.PlatformSlack: "U999"}
	if viaSlack.ID != pa.ID || !cmp.Equal(want, viaSlack.Identities) {
		t.Errorf("via slack = %+v", viaSlack)
	}
	_, err = ms.PersonByIdentity(ctx, "b", slack)
	wantCode(t, err, bot.ENOTFOUND)
	_, err = ms.Person(ctx, "a", "p999")
	wantCode(t, err, bot.ENOTFOUND)
}

func TestNormalizeCode(t *testing.T) {
	tests := map[string]string{
		"demo-staff":   "DEMO-STAFF",
		" ＤＥＭＯ－ＳＴＡＦＦ ": "DEMO-STAFF",
		"ａｂｃｄー１２３４":    "ABCD-1234",
		"abcd‐1234":    "ABCD-1234",
	}
	for in, want := range tests {
		if got := store.NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
