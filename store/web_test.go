package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

func TestWebSessions(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	w := store.NewWeb(db)
	w.SessionTTL = 400 * time.Millisecond
	sess := store.Session{Tenant: "demo", Person: "p1", UserID: "wabc"}
	tok := store.NewToken()
	if len(tok) < 32 || tok == store.NewToken() {
		t.Fatalf("weak token %q", tok)
	}
	mustNoErr(t, w.CreateSession(ctx, tok, sess))
	got, err := w.Session(ctx, "demo", tok)
	mustNoErr(t, err)
	if diff := cmp.Diff(sess, *got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	_, err = w.Session(ctx, "demo", "forged")
	wantCode(t, err, bot.EUNAUTHORIZED)
	// A session belongs to its tenant: the same token under another tenant is nothing.
	_, err = w.Session(ctx, "other", tok)
	wantCode(t, err, bot.EUNAUTHORIZED)

	// Use keeps a session alive; idleness ends it.
	for range 3 {
		time.Sleep(w.SessionTTL / 4)
		_, err = w.Session(ctx, "demo", tok)
		mustNoErr(t, err)
	}
	// Reading a session renews it, so wait for its key to go without touching it.
	awaitTTL(t, "the idle session expires", func() bool { return !keyExists(t, db.Client, tok) })
	_, err = w.Session(ctx, "demo", tok)
	wantCode(t, err, bot.EUNAUTHORIZED)
	if !containsAll(bot.ErrorMessage(err), "招待コード") {
		t.Errorf("expired session message = %q", bot.ErrorMessage(err))
	}
}

func TestWebInbox(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	w := store.NewWeb(db)
	w.InboxKeep = 3

	items, err := w.Inbox(ctx, "demo", "p1", 0)
	mustNoErr(t, err)
	if items == nil || len(items) != 0 {
		t.Fatalf("empty inbox = %#v, want an empty non-nil slice", items)
	}

	reply := bot.Reply{Text: "面談のお知らせ", Choices: []bot.Choice{{Label: "確認", Action: "ok"}}}
	id1, dup, err := w.AppendInbox(ctx, "demo", "p1", reply, "meeting:1:24h")
	mustNoErr(t, err)
	if dup || id1 != 1 {
		t.Fatalf("first append: id %d dup %v", id1, dup)
	}
	// A retried delivery with the same key shows once and reports the first ID.
	again, dup, err := w.AppendInbox(ctx, "demo", "p1", bot.Reply{Text: "面談のお知らせ"}, "meeting:1:24h")
	mustNoErr(t, err)
	if !dup || again != id1 {
		t.Fatalf("second append: id %d dup %v, want %d true", again, dup, id1)
	}
	id2, _, err := w.AppendInbox(ctx, "demo", "p1", bot.Reply{Text: "二通目"}, "k2")
	mustNoErr(t, err)
	// Another person's and another tenant's inboxes are separate.
	_, _, err = w.AppendInbox(ctx, "demo", "p2", bot.Reply{Text: "p2"}, "k3")
	mustNoErr(t, err)
	_, _, err = w.AppendInbox(ctx, "other", "p1", bot.Reply{Text: "other"}, "k4")
	mustNoErr(t, err)

	items, err = w.Inbox(ctx, "demo", "p1", 0)
	mustNoErr(t, err)
	if len(items) != 2 || items[0].ID != id1 || items[1].ID != id2 {
		t.Fatalf("inbox = %+v", items)
	}
	if diff := cmp.Diff(reply, items[0].Reply, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stored reply (-want +got):\n%s", diff)
	}
	if items[0].At.IsZero() {
		t.Error("item without time")
	}
	items, err = w.Inbox(ctx, "demo", "p1", id1)
	mustNoErr(t, err)
	if len(items) != 1 || items[0].Reply.Text != "二通目" {
		t.Errorf("inbox after %d = %+v", id1, items)
	}

	// Only InboxKeep messages are kept; IDs keep increasing.
	for i := range 4 {
		_, _, err := w.AppendInbox(ctx, "demo", "p1", bot.Reply{Text: fmt.Sprint(i)}, fmt.Sprint("more", i))
		mustNoErr(t, err)
	}
	items, err = w.Inbox(ctx, "demo", "p1", 0)
	mustNoErr(t, err)
	var ids []int64
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if diff := cmp.Diff([]int64{4, 5, 6}, ids); diff != "" {
		t.Errorf("kept IDs (-want +got):\n%s", diff)
	}

	for in, want := range map[string]int64{"": 0, "7": 7, "x": 0, "-1": -1} {
		if got := store.ParseInboxAfter(in); got != want {
			t.Errorf("ParseInboxAfter(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestWebAttachments(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	w := store.NewWeb(db)
	ics := bot.Attachment{Name: "meeting.ics", ContentType: "text/calendar; charset=utf-8", Data: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")}
	id, err := w.PutAttachment(ctx, "demo", "p1", ics)
	mustNoErr(t, err)
	got, err := w.Attachment(ctx, "demo", "p1", id)
	mustNoErr(t, err)
	if diff := cmp.Diff(ics, *got); diff != "" {
		t.Errorf("attachment (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		tenant bot.TenantID
		person bot.PersonID
		id     string
	}{{"demo", "p2", id}, {"other", "p1", id}, {"demo", "p1", "nope"}} {
		_, err := w.Attachment(ctx, tc.tenant, tc.person, tc.id)
		wantCode(t, err, bot.ENOTFOUND)
	}
	ttl, err := db.Client.PTTL(ctx, "t:{demo}:att:"+id).Result()
	mustNoErr(t, err)
	if ttl <= 0 || ttl > w.AttachmentTTL {
		t.Errorf("attachment TTL = %s, want (0, %s]", ttl, w.AttachmentTTL)
	}
}
