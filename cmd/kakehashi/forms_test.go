package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
)

// TestNeedFormForNativeChannels checks the form a Slack modal shows and that a submitted
// form is validated like the chat dialog and stored once.
func TestNeedFormForNativeChannels(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	spec, err := ta.Bot.Form(ctx, DemoTenant, bot.LangJA, "need")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range spec.Fields {
		names[f.Name] = true
		if f.Name == "title" && (f.MaxLen != 80 || f.Label != "件名") {
			t.Fatalf("title field = %+v", f)
		}
		if f.Name == "category" && len(f.Options) != len(bot.Categories) {
			t.Fatalf("category options = %d", len(f.Options))
		}
	}
	for _, want := range []string{"title", "description", "department", "category", "urgency", "impact", "form", "deadline"} {
		if !names[want] {
			t.Fatalf("form lacks %s", want)
		}
	}
	m := &bot.Message{EventID: "trig-1", Platform: bot.PlatformSlack, Tenant: DemoTenant, UserID: "U1", AutoRole: bot.RoleStaff}
	bad := map[string]string{"title": strings.Repeat("長", 90), "description": "説明", "department": "総務課", "category": "nope", "urgency": "high", "impact": "3", "form": "remote"}
	errs, replies, err := ta.Bot.SubmitForm(ctx, m, "need", bad)
	if err != nil || len(replies) != 0 || !strings.Contains(errs["title"], "80文字以内") || errs["category"] == "" {
		t.Fatalf("errs=%v replies=%v err=%v", errs, replies, err)
	}
	good := map[string]string{"title": "庁内チャットの導入を検討したい", "description": "部署間の連絡をメールから移したい", "department": "総務課",
		"category": "infra_security", "urgency": "medium", "impact": "4", "form": "either", "deadline": "2027-01-15"}
	m.EventID = "trig-2"
	errs, replies, err = ta.Bot.SubmitForm(ctx, m, "need", good)
	if err != nil || len(errs) != 0 {
		t.Fatalf("errs=%v err=%v", errs, err)
	}
	mustContain(t, replies, "受け付けました（#5）")
	// Slack retries the same submission: no second need, no second reply.
	errs, replies, err = ta.Bot.SubmitForm(ctx, m, "need", good)
	if err != nil || len(errs) != 0 || len(replies) != 0 {
		t.Fatalf("retry: errs=%v replies=%v err=%v", errs, replies, err)
	}
	if ns, _ := ta.NeedStore.Needs(ctx, DemoTenant, bot.NeedFilter{}); len(ns) != 5 {
		t.Fatalf("needs = %d, want 5", len(ns))
	}
}
