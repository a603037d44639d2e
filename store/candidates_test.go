package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

func newCandidate(ext, name, skills string) *bot.Candidate {
	return &bot.Candidate{ExternalID: ext, DisplayName: name, Skills: skills, Source: "import",
		Categories: []bot.Category{"rpa_automation"}, Days: []string{"weekend"},
		Consent: bot.Consent{Version: bot.ConsentVersion, At: time.Date(2026, 11, 1, 0, 0, 0, 0, bot.Tokyo)}}
}

func TestCandidateSaveUpdatesByExternalID(t *testing.T) {
	db := openTest(t)
	s := store.NewCandidateService(db)
	ctx := context.Background()

	c1, created, err := s.SaveCandidate(ctx, newCandidate("GT-1", "候補 一郎", "UiPath"), &bot.Contact{Email: "ichiro@example.jp"})
	mustNoErr(t, err)
	if !created || c1.ID == "" || c1.Status != bot.CandidateActive {
		t.Fatalf("first save = %+v created=%v", c1, created)
	}
	// Re-import with the same external ID: same record, new content, contact kept when nil.
	c2, created, err := s.SaveCandidate(ctx, newCandidate("GT-1", "候補 一郎", "UiPath, WinActor"), nil)
	mustNoErr(t, err)
	if created || c2.ID != c1.ID || c2.Skills != "UiPath, WinActor" || !c2.CreatedAt.Equal(c1.CreatedAt) {
		t.Fatalf("re-import = %+v created=%v, want update of %s", c2, created, c1.ID)
	}
	n, err := s.CountCandidates(ctx)
	mustNoErr(t, err)
	if n != 1 {
		t.Fatalf("pool has %d profiles after re-import, want 1", n)
	}
	ct, err := s.Contact(ctx, c1.ID)
	mustNoErr(t, err)
	if ct.Email != "ichiro@example.jp" {
		t.Fatalf("contact = %+v", ct)
	}
	// The profile key never holds the contact.
	raw, err := db.Client.Get(ctx, store.OperatorPrefix+"cand:"+string(c1.ID)).Result()
	mustNoErr(t, err)
	if strings.Contains(raw, "ichiro@") {
		t.Fatalf("profile JSON holds the contact: %s", raw)
	}
	got, err := s.CandidateByExternalID(ctx, "GT-1")
	mustNoErr(t, err)
	if diff := cmp.Diff(c2.Skills, got.Skills); diff != "" {
		t.Fatal(diff)
	}

	// A second profile may not take an external ID in use.
	c3, _, err := s.SaveCandidate(ctx, newCandidate("GT-2", "候補 二郎", "GIS"), nil)
	mustNoErr(t, err)
	c3.ExternalID = "GT-1"
	_, _, err = s.SaveCandidate(ctx, c3, nil)
	wantCode(t, err, bot.ECONFLICT)

	_, _, err = s.SaveCandidate(ctx, &bot.Candidate{ExternalID: "GT-9"}, nil)
	wantCode(t, err, bot.EINVALID)
	_, err = s.Candidate(ctx, "c999")
	wantCode(t, err, bot.ENOTFOUND)

	var seen []string
	mustNoErr(t, s.EachCandidate(ctx, func(c *bot.Candidate) error { seen = append(seen, c.ExternalID); return nil }))
	if diff := cmp.Diff([]string{"GT-1", "GT-2"}, seen); diff != "" {
		t.Fatalf("EachCandidate order (-want +got):\n%s", diff)
	}
}

func TestCandidateMemberLookupAndIntroductions(t *testing.T) {
	db := openTest(t)
	s := store.NewCandidateService(db)
	ctx := context.Background()
	c := newCandidate("chat-demo-p7", "候補 三郎", "kintone")
	c.Member = &bot.Recipient{Tenant: "demo", Person: "p7"}
	c, _, err := s.SaveCandidate(ctx, c, &bot.Contact{Email: "saburo@example.jp", Phone: "090-1234-5678"})
	mustNoErr(t, err)
	got, err := s.CandidateByMember(ctx, "demo", "p7")
	mustNoErr(t, err)
	if got.ID != c.ID {
		t.Fatalf("by member = %s, want %s", got.ID, c.ID)
	}

	first, err := s.MarkMatched(ctx, "demo", 2, c.ID)
	mustNoErr(t, err)
	again, err := s.MarkMatched(ctx, "demo", 2, c.ID)
	mustNoErr(t, err)
	if !first || again {
		t.Fatalf("MarkMatched first=%v again=%v, want true then false", first, again)
	}

	in, created, err := s.RequestIntroduction(ctx, &bot.Introduction{Tenant: "demo", Need: 2, Candidate: c.ID, RequestedBy: "p2"})
	mustNoErr(t, err)
	if !created || in.Status != bot.IntroPending {
		t.Fatalf("request = %+v created=%v", in, created)
	}
	_, created, err = s.RequestIntroduction(ctx, &bot.Introduction{Tenant: "demo", Need: 2, Candidate: c.ID, RequestedBy: "p3"})
	mustNoErr(t, err)
	if created {
		t.Fatal("a second request for the same pair was created")
	}
	pending, err := s.PendingIntroductions(ctx)
	mustNoErr(t, err)
	if len(pending) != 1 || pending[0].RequestedBy != "p2" {
		t.Fatalf("pending = %+v", pending)
	}
	ans, err := s.AnswerIntroduction(ctx, "demo", 2, c.ID, true)
	mustNoErr(t, err)
	if ans.Status != bot.IntroAccepted {
		t.Fatalf("answer = %+v", ans)
	}
	_, err = s.AnswerIntroduction(ctx, "demo", 2, c.ID, false)
	wantCode(t, err, bot.ECONFLICT)
	pending, _ = s.PendingIntroductions(ctx)
	if len(pending) != 0 {
		t.Fatalf("answered request still pending: %+v", pending)
	}
	list, err := s.Introductions(ctx, c.ID)
	mustNoErr(t, err)
	if len(list) != 1 || list[0].Status != bot.IntroAccepted {
		t.Fatalf("introductions = %+v", list)
	}
}

// TestCandidateDeleteLeavesOnlyAudit fills every kind of record that mentions a
// candidate, deletes it, and scans the whole keyspace for anything left.
func TestCandidateDeleteLeavesOnlyAudit(t *testing.T) {
	db := openTest(t)
	s := store.NewCandidateService(db)
	q := store.NewQueue(db)
	web := store.NewWeb(db)
	ctx := context.Background()

	c := newCandidate("chat-demo-p9", "削除 花子", "SENTINEL-SKILL 防災")
	c.Member = &bot.Recipient{Tenant: "demo", Person: "p9"}
	c, _, err := s.SaveCandidate(ctx, c, &bot.Contact{Email: "hanako-sentinel@example.jp", Phone: "080-9999-0000"})
	mustNoErr(t, err)
	keep, _, err := s.SaveCandidate(ctx, newCandidate("GT-keep", "残る 人", "GIS"), nil)
	mustNoErr(t, err)

	_, err = s.MarkMatched(ctx, "demo", 3, c.ID)
	mustNoErr(t, err)
	_, err = s.MarkMatched(ctx, "demo", 3, keep.ID)
	mustNoErr(t, err)
	_, _, err = s.RequestIntroduction(ctx, &bot.Introduction{Tenant: "other", Need: 1, Candidate: c.ID, RequestedBy: "p1"})
	mustNoErr(t, err)
	job := "push:demo:cand:3:" + string(c.ID) + ":p2"
	mustNoErr(t, s.TrackJob(ctx, c.ID, job))
	if ok, err := q.Enqueue(ctx, "push", job, map[string]string{"text": "SENTINEL-SKILL"}, time.Time{}); err != nil || !ok {
		t.Fatalf("enqueue: %v %v", ok, err)
	}
	// A data export the person downloaded, and an unrelated file of theirs.
	_, err = web.PutAttachment(ctx, "demo", "p9", bot.Attachment{Name: bot.CandidateExportFile, ContentType: "application/json", Data: []byte(`{"email":"hanako-sentinel@example.jp"}`)})
	mustNoErr(t, err)
	_, err = web.PutAttachment(ctx, "demo", "p9", bot.Attachment{Name: "invite.ics", ContentType: "text/calendar", Data: []byte("BEGIN:VCALENDAR")})
	mustNoErr(t, err)
	mustNoErr(t, s.Audit(ctx, "demo", bot.AuditRecord{Actor: "demo/p9", Action: bot.AuditCandidateDelete, Record: c.ID}))

	mustNoErr(t, s.DeleteCandidate(ctx, c.ID))
	wantCode(t, s.DeleteCandidate(ctx, c.ID), bot.ENOTFOUND)

	if pending, _ := q.Pending(ctx, job); pending {
		t.Fatal("the queued notification survived the deletion")
	}
	if ok, _ := s.Matched(ctx, "demo", 3, keep.ID); !ok {
		t.Fatal("deletion removed another candidate's match record")
	}
	if _, err := s.CandidateByExternalID(ctx, "chat-demo-p9"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Fatalf("external ID still resolves: %v", err)
	}
	if _, err := s.CandidateByMember(ctx, "demo", "p9"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Fatalf("member still resolves: %v", err)
	}
	sawAudit, sawICS := false, false
	for _, k := range scanKeys(t, db.Client) {
		atoms := keyAtoms(t, db, k)
		dump := k + " " + strings.Join(atoms, " ")
		for _, bad := range []string{"SENTINEL", "hanako-sentinel", "9999-0000", "削除 花子", "chat-demo-p9"} {
			if strings.Contains(dump, bad) {
				t.Errorf("key %s still holds %q after deletion", k, bad)
			}
		}
		// A key mentions the candidate when one of its segments is the ID (random tokens in
		// other keys may contain the ID's characters).
		mentions := slices.Contains(strings.FieldsFunc(k, func(r rune) bool { return r == ':' || r == '{' || r == '}' }), string(c.ID))
		for _, a := range atoms {
			mentions = mentions || a == string(c.ID) || strings.Contains(a, `"`+string(c.ID)+`"`) || strings.Contains(a, "|"+string(c.ID))
		}
		if mentions {
			if k != "t:{demo}:audit" {
				t.Errorf("key %s still refers to the deleted candidate: %s", k, dump)
			}
			sawAudit = true
		}
		sawICS = sawICS || strings.Contains(dump, "VCALENDAR")
	}
	if !sawAudit || !sawICS {
		t.Fatalf("audit record kept=%v, unrelated attachment kept=%v; want both", sawAudit, sawICS)
	}
}

// keyAtoms returns a key's value as its parts: the string, the list or set members,
// the hash fields and values, the sorted-set members.
func keyAtoms(t *testing.T, db *store.DB, k string) []string {
	t.Helper()
	ctx := context.Background()
	typ, err := db.Client.Type(ctx, k).Result()
	mustNoErr(t, err)
	switch typ {
	case "string":
		v, err := db.Client.Get(ctx, k).Result()
		mustNoErr(t, err)
		return []string{v}
	case "hash":
		m, err := db.Client.HGetAll(ctx, k).Result()
		mustNoErr(t, err)
		var out []string
		for f, v := range m {
			out = append(out, f, v)
		}
		return out
	case "list":
		v, err := db.Client.LRange(ctx, k, 0, -1).Result()
		mustNoErr(t, err)
		return v
	case "set":
		v, err := db.Client.SMembers(ctx, k).Result()
		mustNoErr(t, err)
		return v
	case "zset":
		v, err := db.Client.ZRange(ctx, k, 0, -1).Result()
		mustNoErr(t, err)
		return v
	}
	t.Fatalf("key %s has unexpected type %s", k, typ)
	return nil
}

func TestCandidateAuditLog(t *testing.T) {
	db := openTest(t)
	s := store.NewCandidateService(db)
	s.AuditKeep = 3
	ctx := context.Background()
	for i, a := range []string{bot.AuditCandidateCreate, bot.AuditIntroRequest, bot.AuditContactReveal, bot.AuditCandidateExport} {
		mustNoErr(t, s.Audit(ctx, "demo", bot.AuditRecord{Actor: "demo/p1", Action: a, Record: bot.CandidateID("c" + string(rune('1'+i)))}))
	}
	mustNoErr(t, s.Audit(ctx, "", bot.AuditRecord{Actor: bot.ActorOperator, Action: bot.AuditCandidateDelete, Record: "c9"}))
	got, err := s.AuditLog(ctx, "demo", 10)
	mustNoErr(t, err)
	var actions []string
	for _, r := range got {
		actions = append(actions, r.Action)
		if r.At.IsZero() {
			t.Fatalf("audit record without time: %+v", r)
		}
	}
	if diff := cmp.Diff([]string{bot.AuditIntroRequest, bot.AuditContactReveal, bot.AuditCandidateExport}, actions); diff != "" {
		t.Fatalf("tenant audit log (-want +got):\n%s", diff)
	}
	op, err := s.AuditLog(ctx, "", 10)
	mustNoErr(t, err)
	if len(op) != 1 || op[0].Actor != bot.ActorOperator || op[0].Record != "c9" {
		t.Fatalf("operator audit log = %+v", op)
	}
}

// TestCandidateChangedSince is how a second process's index catches up: every save is
// logged with a number, deletions drop out of the log.
func TestCandidateChangedSince(t *testing.T) {
	db := openTest(t)
	s := store.NewCandidateService(db)
	ctx := context.Background()
	ids, now, err := s.ChangedSince(ctx, 0)
	mustNoErr(t, err)
	if len(ids) != 0 || now != 0 {
		t.Fatalf("empty pool: ids=%v now=%d", ids, now)
	}
	a, _, err := s.SaveCandidate(ctx, newCandidate("A", "甲", "RPA"), nil)
	mustNoErr(t, err)
	b, _, err := s.SaveCandidate(ctx, newCandidate("B", "乙", "GIS"), nil)
	mustNoErr(t, err)
	ids, mark, err := s.ChangedSince(ctx, 0)
	mustNoErr(t, err)
	if diff := cmp.Diff([]bot.CandidateID{a.ID, b.ID}, ids); diff != "" || mark != 2 {
		t.Fatalf("changes since 0 (-want +got):\n%s now=%d", diff, mark)
	}
	a.Skills = "RPA、kintone"
	_, _, err = s.SaveCandidate(ctx, a, nil)
	mustNoErr(t, err)
	mustNoErr(t, s.DeleteCandidate(ctx, b.ID))
	ids, now, err = s.ChangedSince(ctx, mark)
	mustNoErr(t, err)
	if diff := cmp.Diff([]bot.CandidateID{a.ID}, ids); diff != "" || now != 3 {
		t.Fatalf("changes since %d (-want +got):\n%s now=%d", mark, diff, now)
	}
	if ids, _, _ := s.ChangedSince(ctx, now); len(ids) != 0 {
		t.Fatalf("changes since now = %v", ids)
	}
}
