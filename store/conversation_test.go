package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

func TestConversationClaimCommit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ms := store.NewMembershipService(db)
	cs := store.NewConversations(db)
	mustNoErr(t, ms.CreateTenant(ctx, &bot.Tenant{ID: "demo", Name: "デモ市"}))
	mustNoErr(t, ms.CreateInvite(ctx, &bot.Invite{Code: "S", Tenant: "demo", Role: bot.RoleStaff, UsesLeft: -1}))
	member := webID("member")
	_, err := ms.Join(ctx, "S", member, "山田")
	mustNoErr(t, err)

	// An unknown identity: no person, no state.
	cl, err := cs.Claim(ctx, "demo", webID("stranger"), "e0")
	mustNoErr(t, err)
	if cl.Duplicate || cl.Person != "" || cl.State != "" || cl.Gone != "" {
		t.Errorf("stranger claim = %+v", cl)
	}
	mustNoErr(t, cs.Commit(ctx, cl, "e0", "", time.Minute, ""))

	// A member: the person comes with the claim, the state round-trips.
	cl, err = cs.Claim(ctx, "demo", member, "e1")
	mustNoErr(t, err)
	if !containsAll(cl.Person, `"display_name":"山田"`, `"role":"staff"`) {
		t.Errorf("claim person = %q", cl.Person)
	}
	mustNoErr(t, cs.Commit(ctx, cl, "e1", `{"flow":"need","step":1}`, time.Minute, "need"))
	cl, err = cs.Claim(ctx, "demo", member, "e2")
	mustNoErr(t, err)
	if cl.State != `{"flow":"need","step":1}` || cl.Gone != "" {
		t.Errorf("claim after commit = %+v", cl)
	}
	// Clearing the state (submitted or cancelled) leaves nothing behind, and no "expired" notice.
	mustNoErr(t, cs.Commit(ctx, cl, "e2", "", time.Minute, ""))
	cl, err = cs.Claim(ctx, "demo", member, "e3")
	mustNoErr(t, err)
	if cl.State != "" || cl.Gone != "" {
		t.Errorf("claim after clearing = %+v (a cancelled draft must not be reported as expired)", cl)
	}
	mustNoErr(t, cs.Commit(ctx, cl, "e3", "", time.Minute, ""))

	// The same event again is a duplicate: nothing else is read or locked.
	for _, evt := range []string{"e1", "e2", "e3"} {
		cl, err = cs.Claim(ctx, "demo", member, evt)
		mustNoErr(t, err)
		if !cl.Duplicate || cl.Person != "" || cl.State != "" {
			t.Errorf("redelivery of %s = %+v", evt, cl)
		}
	}
	// Events without an ID are never duplicates.
	for range 2 {
		cl, err = cs.Claim(ctx, "demo", member, "")
		mustNoErr(t, err)
		if cl.Duplicate {
			t.Error("event without ID reported as duplicate")
		}
		mustNoErr(t, cs.Commit(ctx, cl, "", "", time.Minute, ""))
	}
	// Event IDs are per tenant.
	cl, err = cs.Claim(ctx, "other", member, "e1")
	mustNoErr(t, err)
	if cl.Duplicate {
		t.Error("event ID of another tenant reported as duplicate")
	}
	mustNoErr(t, cs.Release(ctx, cl))
}

func TestConversationLock(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	cs := store.NewConversations(db)
	alice, bob := webID("alice"), webID("bob")

	held, err := cs.Claim(ctx, "demo", alice, "a1")
	mustNoErr(t, err)
	if _, err := cs.Claim(ctx, "demo", alice, "a2"); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("second claim while held: err = %v, want ErrBusy", err)
	}
	// Other conversations are not blocked.
	other, err := cs.Claim(ctx, "demo", bob, "b1")
	mustNoErr(t, err)
	mustNoErr(t, cs.Commit(ctx, other, "b1", "", time.Minute, ""))

	// Release gives the conversation back without marking the event: a redelivery is processed.
	mustNoErr(t, cs.Release(ctx, held))
	cl, err := cs.Claim(ctx, "demo", alice, "a1")
	mustNoErr(t, err)
	if cl.Duplicate {
		t.Fatal("released event reported as duplicate")
	}

	// A replica that crashed while holding the lock blocks only until LockTTL.
	mustNoErr(t, cs.Release(ctx, cl))
	cs.LockTTL = 300 * time.Millisecond
	cl, err = cs.Claim(ctx, "demo", alice, "a1")
	mustNoErr(t, err)
	if _, err := cs.Claim(ctx, "demo", alice, "a2"); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("claim while held: %v", err)
	}
	cs.LockTTL = time.Minute
	var late *store.Claim
	awaitTTL(t, "the crashed replica's lock expires", func() bool {
		late, err = cs.Claim(ctx, "demo", alice, "a2")
		if errors.Is(err, store.ErrBusy) {
			return false
		}
		mustNoErr(t, err)
		return true
	})
	// The crashed replica's late commit must not release the new holder's lock.
	mustNoErr(t, cs.Commit(ctx, cl, "a1", "", time.Minute, ""))
	if _, err := cs.Claim(ctx, "demo", alice, "a3"); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("stale commit released someone else's lock: %v", err)
	}
	mustNoErr(t, cs.Commit(ctx, late, "a2", "", time.Minute, ""))
	cl, err = cs.Claim(ctx, "demo", alice, "a3")
	mustNoErr(t, err)
	mustNoErr(t, cs.Release(ctx, cl))
}

// TestConversationExpiry: a draft left alone past its TTL is gone, and the person is
// told once that it expired.
func TestConversationExpiry(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	cs := store.NewConversations(db)
	u := webID("u")
	const ttl = 800 * time.Millisecond

	cl, err := cs.Claim(ctx, "demo", u, "1")
	mustNoErr(t, err)
	mustNoErr(t, cs.Commit(ctx, cl, "1", `{"flow":"need"}`, ttl, "need"))
	// Activity within the TTL keeps the draft (each commit renews it).
	time.Sleep(ttl / 2)
	cl, err = cs.Claim(ctx, "demo", u, "2")
	mustNoErr(t, err)
	if cl.State == "" {
		t.Fatal("draft expired early")
	}
	mustNoErr(t, cs.Commit(ctx, cl, "2", cl.State, ttl, "need"))
	time.Sleep(ttl * 3 / 4) // past the first commit's TTL
	cl, err = cs.Claim(ctx, "demo", u, "3")
	mustNoErr(t, err)
	if cl.State == "" {
		t.Fatal("a commit did not renew the draft's TTL")
	}
	mustNoErr(t, cs.Commit(ctx, cl, "3", cl.State, ttl, "need"))

	cl = claimExpired(t, cs, u, "4")
	if cl.State != "" || cl.Gone != "need" {
		t.Fatalf("after the TTL: state %q gone %q, want no state and gone=need", cl.State, cl.Gone)
	}
	mustNoErr(t, cs.Commit(ctx, cl, "4", "", ttl, ""))
	cl, err = cs.Claim(ctx, "demo", u, "5")
	mustNoErr(t, err)
	if cl.Gone != "" {
		t.Errorf("expiry reported a second time: gone %q", cl.Gone)
	}
	mustNoErr(t, cs.Commit(ctx, cl, "5", "", ttl, ""))

	// A new draft started right after the notice expires on its own again.
	cl, err = cs.Claim(ctx, "demo", u, "6")
	mustNoErr(t, err)
	mustNoErr(t, cs.Commit(ctx, cl, "6", `{"flow":"meeting"}`, ttl, "meeting"))
	cl = claimExpired(t, cs, u, "7")
	if cl.Gone != "meeting" {
		t.Errorf("second expiry: gone %q, want meeting", cl.Gone)
	}
	mustNoErr(t, cs.Commit(ctx, cl, "7", "", ttl, ""))
}

// claimExpired claims the conversation once its draft has expired.
func claimExpired(t *testing.T, cs *store.Conversations, u bot.Identity, evt string) *store.Claim {
	t.Helper()
	var cl *store.Claim
	awaitTTL(t, "the draft expires", func() bool {
		var err error
		cl, err = cs.Claim(context.Background(), "demo", u, evt)
		mustNoErr(t, err)
		if cl.State == "" {
			return true
		}
		mustNoErr(t, cs.Release(context.Background(), cl))
		return false
	})
	return cl
}
