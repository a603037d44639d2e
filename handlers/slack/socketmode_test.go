package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/kakehashi/kakehashi/bot"
	kslack "github.com/kakehashi/kakehashi/handlers/slack"
)

func TestSocketMode(t *testing.T) {
	e := newEnv(t)
	// The fixture's event comes from the bot user itself (authorizations names U111 as the
	// bot); as a DM from a person it is dispatched.
	dm := patched(t, "bolt-python_socketmode_envelope_events_api_retry.json",
		"envelope_id", "env-dm", "payload.event.channel_type", "im", "payload.event.channel", "D111",
		"payload.event.user", "U222", "payload.event.text", "<@U111> こんにちは")
	unknown := patched(t, "bolt-python_socketmode_envelope_events_api_retry.json",
		"envelope_id", "env-unknown", "payload.event.type", "kakehashi_unknown_event")
	envelopes := [][]byte{
		fixture(t, "bolt-python_socketmode_envelope_events_api_retry.json"), // a channel message: acknowledged, ignored
		dm,
		fixture(t, "bolt-python_socketmode_envelope_slash_commands.json"),
		fixture(t, "bolt-python_socketmode_envelope_interactive_shortcut.json"), // a shortcut: acknowledged, ignored
		unknown, // slack-go cannot parse it; still acknowledged so Slack does not redeliver
	}
	acks := make(chan map[string]any, 10)
	e.api.ws = func(c *websocket.Conn) {
		if err := c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1}); err != nil {
			t.Errorf("hello: %v", err)
			return
		}
		for _, env := range envelopes {
			if err := c.WriteMessage(websocket.TextMessage, env); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
		for range envelopes {
			var ack map[string]any
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if err := c.ReadJSON(&ack); err != nil {
				t.Errorf("reading ack: %v", err)
				return
			}
			acks <- ack
		}
		// Stay connected until the client goes away.
		_ = c.SetReadDeadline(time.Time{})
		_, _, _ = c.ReadMessage()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.RunSocketMode(ctx) }()

	got := map[string]any{}
	timeout := time.After(15 * time.Second)
	for len(got) < len(envelopes) {
		select {
		case ack := <-acks:
			got[ack["envelope_id"].(string)] = ack["payload"]
		case <-timeout:
			t.Fatalf("acks so far: %v", got)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunSocketMode = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not stop with its context")
	}
	wantAcks := map[string]any{
		"08cfc559-d933-402e-a5c1-79e135afaae4": nil,
		"env-dm":                               nil,
		"1d3c79ab-0ffb-41f3-a080-d19e85f53649": map[string]any{"response_type": "ephemeral", "text": "受け付けました。お返事はKakehashiとのDMに届きます。"},
		"57d6a792-4d35-4d0b-b6aa-3361493e1caf": nil,
		"env-unknown":                          nil,
	}
	if diff := cmp.Diff(wantAcks, got); diff != "" {
		t.Errorf("acks (-want +got):\n%s", diff)
	}
	byEvent := map[string]bot.Message{}
	for _, m := range e.disp.got() {
		byEvent[m.EventID] = m
	}
	want := map[string]bot.Message{
		"Ev111": {
			EventID: "Ev111", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "U222", DisplayName: "鈴木",
			Text: "こんにちは", AutoRole: bot.RoleStaff, Locale: "ja-JP", At: time.Unix(1610197986, 300000), Channel: "D111",
		},
		"111.222.xxx": {
			EventID: "111.222.xxx", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "U111", DisplayName: "Alice",
			Text: "メニュー", AutoRole: bot.RoleStaff, Locale: "en-US", At: fixedNow,
		},
	}
	if diff := cmp.Diff(want, byEvent); diff != "" {
		t.Errorf("dispatched (-want +got):\n%s", diff)
	}
	if n := len(e.api.callsTo("apps.connections.open")); n != 1 {
		t.Errorf("apps.connections.open called %d times", n)
	}
}

func TestSocketModeDispatchesDM(t *testing.T) {
	// The envelope of a person's DM is dispatched, then acknowledged; a Dispatcher that is
	// down leaves it unacknowledged so that Slack redelivers it.
	for _, down := range []bool{false, true} {
		e := newEnv(t)
		if down {
			e.disp.err = bot.Errorf(bot.EUNAVAILABLE, "down")
		}
		env := patched(t, "bolt-python_socketmode_envelope_events_api_retry.json",
			"payload.event.channel_type", "im", "payload.event.channel", "D111", "payload.event.user", "U222",
			"payload.event.text", "<@U111> 予定を教えて")
		acks := make(chan string, 2)
		e.api.ws = func(c *websocket.Conn) {
			_ = c.WriteJSON(map[string]any{"type": "hello"})
			_ = c.WriteMessage(websocket.TextMessage, env)
			// A second, harmless envelope marks the end: its ack arrives after the first one's.
			_ = c.WriteJSON(map[string]any{"envelope_id": "end", "type": "interactive", "payload": map[string]any{"type": "shortcut"}})
			for {
				var ack map[string]any
				if err := c.ReadJSON(&ack); err != nil {
					return
				}
				acks <- ack["envelope_id"].(string)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.a.RunSocketMode(ctx) }()
		const dmEnvelope = "08cfc559-d933-402e-a5c1-79e135afaae4"
		var got []string
		has := func(id string) bool {
			for _, x := range got {
				if x == id {
					return true
				}
			}
			return false
		}
		deadline := time.After(10 * time.Second)
		for !has("end") || (!down && !has(dmEnvelope)) || (down && len(e.disp.got()) == 0) {
			select {
			case id := <-acks:
				got = append(got, id)
			case <-time.After(10 * time.Millisecond):
			case <-deadline:
				t.Fatalf("acks: %v", got)
			}
		}
		if down {
			// The dispatch has failed; an ack, if (wrongly) sent, follows at once.
			select {
			case id := <-acks:
				got = append(got, id)
			case <-time.After(200 * time.Millisecond):
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if acked := has(dmEnvelope); acked == down {
			t.Errorf("dispatcher down=%v: acked=%v (acks %v)", down, acked, got)
		}
		msgs := e.disp.got()
		if len(msgs) != 1 || msgs[0].Text != "予定を教えて" || msgs[0].EventID != "Ev111" || msgs[0].UserID != "U222" || msgs[0].Channel != "D111" {
			t.Errorf("dispatched %+v", msgs)
		}
	}
}

func TestSocketModeNeedsAppToken(t *testing.T) {
	e := newEnv(t, func(c *kslack.Config, _ *kslack.Deps) { c.AppToken = "" })
	if err := e.a.RunSocketMode(context.Background()); err == nil {
		t.Fatal("RunSocketMode without an app token must fail")
	}
}

func TestSocketModeRefusedToken(t *testing.T) {
	// Slack answers invalid_auth to apps.connections.open: a fatal error, not a reconnect loop.
	e := newEnv(t, func(c *kslack.Config, _ *kslack.Deps) { c.AppToken = "xapp-revoked" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.a.RunSocketMode(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("RunSocketMode = %v (ctx %v)", err, ctx.Err())
	}
}
