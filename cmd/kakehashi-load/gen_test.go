package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// The SDKs are the oracle: what the load tool sends must pass their own verification and parsing.
func TestSlackEventsVerifyAndParse(t *testing.T) {
	g := NewGen(Slack, "t1", 10, 5, 30, 50, 1)
	s := Signer{Platform: Slack, Secret: []byte(slackSecret)}
	ids := map[string]int{}
	for range 500 {
		e := g.Next()
		h := http.Header{}
		s.Sign(h, e)
		sv, err := slack.NewSecretsVerifier(h, slackSecret)
		if err != nil {
			t.Fatal(err)
		}
		sv.Write(e.Body)
		if err := sv.Ensure(); err != nil {
			t.Fatalf("signature: %v", err)
		}
		if (e.Retry > 0) != (h.Get("X-Slack-Retry-Num") != "") || e.Retry > 0 == e.Unique {
			t.Fatalf("retry %d unique %v header %q", e.Retry, e.Unique, h.Get("X-Slack-Retry-Num"))
		}
		ev, err := slackevents.ParseEvent(json.RawMessage(e.Body), slackevents.OptionNoVerifyToken())
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		cb := ev.Data.(*slackevents.EventsAPICallbackEvent)
		switch ev.InnerEvent.Data.(type) {
		case *slackevents.MessageEvent, *slackevents.AppMentionEvent:
		default:
			t.Fatalf("inner event %T", ev.InnerEvent.Data)
		}
		if e.Unique {
			ids[cb.EventID]++
		} else if ids[cb.EventID] == 0 {
			t.Fatalf("redelivery of an event never sent: %s", cb.EventID)
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("event_id %s sent as new %d times", id, n)
		}
	}
}

func TestLINEWebhooksVerifyAndParse(t *testing.T) {
	g := NewGen(LINE, "t2", 10, 5, 30, 50, 2)
	s := Signer{Platform: LINE, Secret: []byte(lineSecret)}
	for range 500 {
		e := g.Next()
		h := http.Header{}
		s.Sign(h, e)
		if !webhook.ValidateSignature(lineSecret, h.Get("X-Line-Signature"), e.Body) {
			t.Fatal("signature rejected")
		}
		var cb webhook.CallbackRequest
		if err := json.Unmarshal(e.Body, &cb); err != nil {
			t.Fatal(err)
		}
		m, ok := cb.Events[0].(webhook.MessageEvent)
		if !ok || m.WebhookEventId == "" || m.ReplyToken == "" {
			t.Fatalf("event %#v", cb.Events[0])
		}
		if m.DeliveryContext.IsRedelivery == e.Unique {
			t.Fatalf("isRedelivery %v for unique %v", m.DeliveryContext.IsRedelivery, e.Unique)
		}
	}
}
