package main

import (
	"context"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
)

// TestHomeView is what the Slack App Home shows: greeting with the menu, and my needs.
func TestHomeView(t *testing.T) {
	ta := newTestApp(t)
	u := ta.join("DEMO-STAFF", "")
	fileNeed(t, u, "議事録作成を効率化したい", "総務課")
	rs, err := ta.Bot.Handle(context.Background(), &bot.Message{Platform: bot.PlatformWeb, Tenant: DemoTenant, UserID: u.UserID, Action: handlers.ActionHome})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, rs, "架け橋（デモ市 / 職員）", "私のニーズ", "#5: 議事録作成を効率化したい（受付）")
	choice(t, rs, "ニーズを登録（相談する）")
	rs, _ = ta.Bot.Handle(context.Background(), &bot.Message{Platform: bot.PlatformSlack, Tenant: DemoTenant, UserID: "UNKNOWN", Action: handlers.ActionHome})
	mustContain(t, rs, "招待コード")
}
