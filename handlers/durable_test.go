package handlers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
)

// TestHandleThenKeepsRepliesBeforeCommit: when storing the replies fails (a crash between
// answering and queueing), the event is not marked processed, so the redelivery is answered.
func TestHandleThenKeepsRepliesBeforeCommit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := func() *bot.Message {
		return &bot.Message{EventID: "ev-keep-1", Platform: bot.PlatformSlack, Tenant: "demo", UserID: "U1", Text: "参加 STAFF"}
	}
	lost := errors.New("queue down")
	if _, err := e.bot.HandleThen(ctx, m(), func(context.Context, []bot.Reply) error { return lost }); !errors.Is(err, lost) {
		t.Fatalf("err = %v, want the keep error", err)
	}
	var kept []bot.Reply
	rs, err := e.bot.HandleThen(ctx, m(), func(_ context.Context, r []bot.Reply) error { kept = r; return nil })
	if err != nil || len(kept) == 0 || !strings.Contains(kept[0].Text, "参加しました") || len(rs) != len(kept) {
		t.Fatalf("redelivery: replies %v kept %v err %v", rs, kept, err)
	}
	// Now it is processed: a further redelivery is silent and keeps nothing.
	called := false
	rs, err = e.bot.HandleThen(ctx, m(), func(context.Context, []bot.Reply) error { called = true; return nil })
	if err != nil || len(rs) != 0 || called {
		t.Fatalf("duplicate: replies %v called %v err %v", rs, called, err)
	}
}
