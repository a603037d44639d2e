package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

func TestMeetingAdviserProfiles(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := store.NewAdviserService(db)

	a := &bot.Adviser{Tenant: "demo", Name: "防災 太郎", Areas: []bot.Category{"disaster_prevention"}, Windows: "土 10:00–12:00",
		Modes: []string{bot.ModeOnline}, JoinURL: "https://meet.example.jp/x", CapHours: 10}
	mustNoErr(t, s.SaveAdviser(ctx, a))
	if a.ID != "a1" {
		t.Fatalf("first generated ID = %q, want a1", a.ID)
	}
	for i := 2; i <= 10; i++ {
		mustNoErr(t, s.SaveAdviser(ctx, &bot.Adviser{Tenant: "demo", Name: "x"}))
	}
	imported := &bot.Adviser{ID: "okayama-pr", Tenant: "demo", Name: "広報 花子", Person: "p7"}
	mustNoErr(t, s.SaveAdviser(ctx, imported))

	list, err := s.Advisers(ctx, "demo")
	mustNoErr(t, err)
	var ids []string
	for _, x := range list {
		ids = append(ids, string(x.ID))
	}
	want := []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "okayama-pr"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Fatalf("adviser order (-want +got):\n%s", diff)
	}

	got, err := s.AdviserByPerson(ctx, "demo", "p7")
	mustNoErr(t, err)
	if got.ID != "okayama-pr" {
		t.Fatalf("AdviserByPerson(p7) = %s", got.ID)
	}
	// A member belongs to one profile only.
	a.Person = "p7"
	wantCode(t, s.SaveAdviser(ctx, a), bot.ECONFLICT)
	// Moving the link releases the old member.
	imported.Person = "p8"
	mustNoErr(t, s.SaveAdviser(ctx, imported))
	_, err = s.AdviserByPerson(ctx, "demo", "p7")
	wantCode(t, err, bot.ENOTFOUND)
	a.Person = "p7"
	mustNoErr(t, s.SaveAdviser(ctx, a))

	// Other tenants see nothing.
	other, err := s.Advisers(ctx, "kobe")
	mustNoErr(t, err)
	if len(other) != 0 {
		t.Fatalf("tenant kobe sees %d advisers", len(other))
	}
	_, err = s.Adviser(ctx, "kobe", "a1")
	wantCode(t, err, bot.ENOTFOUND)
	wantCode(t, s.SaveAdviser(ctx, &bot.Adviser{ID: "bad:id", Tenant: "demo"}), bot.EINVALID)
}

func meetingAt(h, m int, day int) time.Time { return time.Date(2026, 12, day, h, m, 0, 0, bot.Tokyo) }

func TestMeetingStoreIndexesAndDrafts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.Clock = newStepClock()
	s := store.NewMeetingService(db)

	draft, err := s.CreateMeeting(ctx, &bot.Meeting{Tenant: "demo", Need: 3, Adviser: "a1", Requester: "p1", AdviserPerson: "p2",
		Candidates: []bot.TimeSlot{{Start: meetingAt(19, 0, 1), End: meetingAt(20, 0, 1)}}})
	mustNoErr(t, err)
	if draft.ID != "m1" || draft.Status != bot.MeetingDraft || draft.Version != 1 {
		t.Fatalf("draft = %+v", draft)
	}
	// A draft is kept for a day and is in no list.
	ttl, err := db.Client.PTTL(ctx, "t:{demo}:meeting:m1").Result()
	mustNoErr(t, err)
	if ttl <= 0 || ttl > store.DraftTTL {
		t.Fatalf("draft TTL = %v", ttl)
	}
	if ms, _ := s.Meetings(ctx, "demo", bot.MeetingFilter{Person: "p1"}); len(ms) != 0 {
		t.Fatalf("draft listed: %+v", ms)
	}

	mk := func(need bot.NeedID, day int, status bot.MeetingStatus) *bot.Meeting {
		m, err := s.CreateMeeting(ctx, &bot.Meeting{Tenant: "demo", Need: need, Adviser: "a1", Requester: "p1", AdviserPerson: "p2",
			Status: status, Slot: bot.TimeSlot{Start: meetingAt(19, 0, day), End: meetingAt(20, 0, day)}})
		mustNoErr(t, err)
		return m
	}
	m2 := mk(3, 10, bot.MeetingConfirmed)
	m3 := mk(4, 5, bot.MeetingCancelled)
	m4 := mk(4, 20, bot.MeetingConfirmed)

	// Sending the draft makes it permanent and indexed.
	sent, err := s.UpdateMeeting(ctx, "demo", draft.ID, func(m *bot.Meeting) error {
		m.Status, m.Picks = bot.MeetingRequested, []int{0}
		return nil
	})
	mustNoErr(t, err)
	if sent.Version != 2 {
		t.Fatalf("version after one update = %d", sent.Version)
	}
	if ttl, _ := db.Client.PTTL(ctx, "t:{demo}:meeting:m1").Result(); ttl != -1 {
		t.Fatalf("sent meeting still expires (PTTL %v)", ttl)
	}

	ids := func(f bot.MeetingFilter) []bot.MeetingID {
		t.Helper()
		ms, err := s.Meetings(ctx, "demo", f)
		mustNoErr(t, err)
		out := []bot.MeetingID{}
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	for name, c := range map[string]struct {
		f    bot.MeetingFilter
		want []bot.MeetingID
	}{
		"person by time":  {bot.MeetingFilter{Person: "p2"}, []bot.MeetingID{draft.ID, m3.ID, m2.ID, m4.ID}},
		"range half-open": {bot.MeetingFilter{From: meetingAt(19, 0, 5), To: meetingAt(19, 0, 20)}, []bot.MeetingID{m3.ID, m2.ID}},
		"need":            {bot.MeetingFilter{Need: 4}, []bot.MeetingID{m3.ID, m4.ID}},
		"status":          {bot.MeetingFilter{Adviser: "a1", Status: []bot.MeetingStatus{bot.MeetingConfirmed}}, []bot.MeetingID{m2.ID, m4.ID}},
		"limit":           {bot.MeetingFilter{Limit: 2}, []bot.MeetingID{draft.ID, m3.ID}},
		"other person":    {bot.MeetingFilter{Person: "p9"}, []bot.MeetingID{}},
	} {
		if diff := cmp.Diff(c.want, ids(c.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	// Moving a meeting moves it in every index.
	_, err = s.UpdateMeeting(ctx, "demo", m4.ID, func(m *bot.Meeting) error {
		m.Slot = bot.TimeSlot{Start: meetingAt(19, 0, 2), End: meetingAt(20, 0, 2)}
		return nil
	})
	mustNoErr(t, err)
	if diff := cmp.Diff([]bot.MeetingID{draft.ID, m4.ID, m3.ID, m2.ID}, ids(bot.MeetingFilter{Person: "p1"})); diff != "" {
		t.Errorf("after the move (-want +got):\n%s", diff)
	}
	_, err = s.Meeting(ctx, "kobe", m2.ID)
	wantCode(t, err, bot.ENOTFOUND)
}

// Two answers race for one poll: exactly one confirms, the other sees it confirmed.
func TestMeetingCompareAndSet(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := store.NewMeetingService(db)
	m, err := s.CreateMeeting(ctx, &bot.Meeting{Tenant: "demo", Status: bot.MeetingRequested, Requester: "p1", AdviserPerson: "p2",
		Candidates: []bot.TimeSlot{{Start: meetingAt(19, 0, 1), End: meetingAt(20, 0, 1)}, {Start: meetingAt(10, 0, 5), End: meetingAt(11, 0, 5)}}, Picks: []int{0, 1}})
	mustNoErr(t, err)

	const racers = 8
	var wg sync.WaitGroup
	wins := make(chan int, racers)
	refusals := make(chan string, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateMeeting(ctx, "demo", m.ID, func(m *bot.Meeting) error {
				if m.Status != bot.MeetingRequested {
					return bot.Errorf(bot.ECONFLICT, "already %s", m.Status)
				}
				m.Status, m.Slot = bot.MeetingConfirmed, m.Candidates[i%2]
				return nil
			})
			if err == nil {
				wins <- i
			} else {
				refusals <- bot.ErrorCode(err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	close(refusals)
	if len(wins) != 1 {
		t.Fatalf("%d answers confirmed the meeting, want exactly 1", len(wins))
	}
	for code := range refusals {
		if code != bot.ECONFLICT {
			t.Fatalf("a losing answer got %q, want conflict", code)
		}
	}
	got, err := s.Meeting(ctx, "demo", m.ID)
	mustNoErr(t, err)
	if got.Status != bot.MeetingConfirmed || got.Version != 2 {
		t.Fatalf("final meeting: status %s version %d, want confirmed 2", got.Status, got.Version)
	}
}
