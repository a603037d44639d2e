package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	kslack "github.com/kakehashi/kakehashi/handlers/slack"
)

func TestSignatureVector(t *testing.T) {
	// The published python-slack-sdk vector checks the signing helper every test relies on.
	var v struct {
		Secret    string `json:"signing_secret"`
		Timestamp string `json:"x_slack_request_timestamp"`
		Body      string `json:"body"`
		Signature string `json:"x_slack_signature"`
	}
	if err := json.Unmarshal(fixture(t, "python-sdk_signature_vector.json"), &v); err != nil {
		t.Fatal(err)
	}
	var ts int64
	if _, err := fmt.Sscan(v.Timestamp, &ts); err != nil {
		t.Fatal(err)
	}
	if got := sign(v.Secret, ts, []byte(v.Body)); got != v.Signature {
		t.Fatalf("sign = %s, want %s", got, v.Signature)
	}
}

func TestURLVerification(t *testing.T) {
	e := newEnv(t)
	w := e.event(fixture(t, "bolt-python_url_verification.json"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("challenge (-want +got):\n%s", diff)
	}
}

// dmEvent is java-slack-sdk's blanked message payload with the blanks filled in as a DM.
func dmEvent(t *testing.T, eventID, user, text string, kv ...any) []byte {
	base := []any{
		"type", "event_callback", "team_id", testTeam, "api_app_id", "A111", "event_id", eventID, "event_time", 1775000000,
		"event.user", user, "event.channel", "D0123", "event.channel_type", "im", "event.text", text,
		"event.ts", "1775000001.000200", "event.event_ts", "1775000001.000200", "event.team", testTeam,
		"event.client_msg_id", "9cbd4c5b-7ddf-4ede-b479-ad21fca66d63", "event.attachments.ts", "1775000001.000100",
		// In the blanked sample every field is present; a person's message has no bot fields.
		"event.bot_id", nil, "event.bot_profile", nil, "event.edited", nil,
		"authorizations.user_id", "UBOT", "authorizations.is_bot", true, "authorizations.team_id", testTeam,
	}
	return patched(t, "java-sdk_MessagePayload.json", append(base, kv...)...)
}

func TestEvents(t *testing.T) {
	at := time.Unix(1775000001, 200000)
	tests := []struct {
		name string
		body func(t *testing.T) []byte
		want []bot.Message
	}{{
		name: "DM",
		body: func(t *testing.T) []byte {
			return dmEvent(t, "Ev0DM", "W111", "参加 &lt;ABCD-1234&gt; &amp; <https://example.jp|example.jp> <@UBOT>")
		},
		want: []bot.Message{{
			EventID: "Ev0DM", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W111", DisplayName: "山田 花子",
			Text: "参加 <ABCD-1234> & example.jp", AutoRole: bot.RoleStaff, Locale: "ja-JP", At: at, Channel: "D0123",
		}},
	}, {
		name: "app_mention strips the mention",
		body: func(t *testing.T) []byte { return fixture(t, "bolt-python_event_message.json") },
		want: []bot.Message{{
			EventID: "Ev111", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W222", DisplayName: "佐藤 一郎",
			Text: "Hi there!", AutoRole: bot.RoleStaff, Locale: "ja-JP", At: time.Unix(1595926230, 9600000), Channel: "C111",
		}},
	}, {
		name: "guest gets no automatic role",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev0G", "W333", "help") },
		want: []bot.Message{{
			EventID: "Ev0G", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W333", DisplayName: "Guest",
			Text: "help", Locale: "ja-JP", At: at, Channel: "D0123",
		}},
	}, {
		name: "user of another organisation gets no automatic role",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev0X", "U111", "help", "event.user_team", "T999") },
		want: []bot.Message{{
			EventID: "Ev0X", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "U111", DisplayName: "Alice",
			Text: "help", Locale: "en-US", At: at, Channel: "D0123",
		}},
	}, {
		name: "unknown user: no name, no role",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev0U", "W999", "help") },
		want: []bot.Message{{
			EventID: "Ev0U", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W999", Text: "help", At: at, Channel: "D0123",
		}},
	}, {
		name: "bot message ignored",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev1", "W111", "hi", "event.bot_id", "B111") },
	}, {
		name: "message_changed ignored",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev2", "W111", "hi", "event.subtype", "message_changed") },
	}, {
		name: "our own bot user ignored",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev3", "UBOT", "hi") },
	}, {
		name: "channel message ignored (mentions arrive as app_mention)",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev4", "W111", "hi", "event.channel_type", "channel") },
	}, {
		name: "unbound team ignored",
		body: func(t *testing.T) []byte { return dmEvent(t, "Ev5", "W111", "hi", "team_id", "T999") },
	}, {
		name: "member_joined_channel ignored",
		body: func(t *testing.T) []byte { return fixture(t, "bolt-python_event_member_joined_channel.json") },
	}, {
		name: "app_rate_limited acknowledged",
		body: func(t *testing.T) []byte {
			return []byte(`{"token":"x","type":"app_rate_limited","team_id":"T111","minute_rate_limited":1518467820,"api_app_id":"A111"}`)
		},
	}, {
		name: "unknown event type acknowledged",
		body: func(t *testing.T) []byte {
			return patched(t, "bolt-python_event_message.json", "event.type", "kakehashi_unknown_event")
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.event(tt.body(t))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %q", w.Code, w.Body)
			}
			if diff := cmp.Diff(tt.want, e.disp.got(), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("dispatched (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventsJavaMention(t *testing.T) {
	// java-slack-sdk's app_mention sample carries every block type Slack can send; with the
	// blanks filled it must parse and dispatch like any mention.
	e := newEnv(t)
	body := patched(t, "java-sdk_AppMentionPayload.json",
		"type", "event_callback", "team_id", testTeam, "event_id", "Ev0JM", "event_time", 1775000000,
		"event.user", "W222", "event.text", "<@UBOT> 予定", "event.channel", "C222", "event.ts", "1775000002.000000",
		"event.bot_id", nil, "event.bot_profile", nil, "event.app_id", nil, "event.subtype", nil, "event.edited", nil,
		"authorizations.user_id", "UBOT", "authorizations.is_bot", true)
	if w := e.event(body); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	got := e.disp.got()
	if len(got) != 1 || got[0].Text != "予定" || got[0].Channel != "C222" || got[0].EventID != "Ev0JM" {
		t.Fatalf("dispatched %+v", got)
	}
}

func TestRetriesKeepEventID(t *testing.T) {
	e := newEnv(t)
	body := fixture(t, "bolt-python_event_message.json")
	for i, h := range [][]string{nil, {"X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout"}} {
		if w := e.event(body, h...); w.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, w.Code)
		}
	}
	got := e.disp.got()
	if len(got) != 2 || got[0].EventID != "Ev111" || got[1].EventID != "Ev111" {
		t.Fatalf("want two dispatches of Ev111 (the Dispatcher dedupes), got %+v", got)
	}
}

func TestDispatchErrors(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, http.StatusOK},
		{bot.Errorf(bot.EUNAVAILABLE, "store down"), http.StatusServiceUnavailable},
		{errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		e := newEnv(t)
		e.disp.err = tt.err
		if w := e.event(fixture(t, "bolt-python_event_message.json")); w.Code != tt.want {
			t.Errorf("Dispatch error %v: status %d, want %d", tt.err, w.Code, tt.want)
		}
	}
}

func TestRequestRejected(t *testing.T) {
	body := fixture(t, "bolt-python_event_message.json")
	now := time.Now().Unix()
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
	}{{
		name: "bad signature",
		req: func() *http.Request {
			r := newReq(body, now)
			r.Header.Set("X-Slack-Signature", sign("another-secret", now, body))
			return r
		},
		status: http.StatusUnauthorized,
	}, {
		name: "body changed after signing",
		req: func() *http.Request {
			r := newReq(bytes.Replace(body, []byte("Hi there"), []byte("Hi thera"), 1), now)
			r.Header.Set("X-Slack-Signature", sign(testSecret, now, body))
			return r
		},
		status: http.StatusUnauthorized,
	}, {
		name:   "timestamp older than 5 minutes",
		req:    func() *http.Request { return newReq(body, now-6*60) },
		status: http.StatusUnauthorized,
	}, {
		name:   "timestamp more than 5 minutes ahead",
		req:    func() *http.Request { return newReq(body, now+6*60) },
		status: http.StatusUnauthorized,
	}, {
		name: "no signature headers",
		req: func() *http.Request {
			r := newReq(body, now)
			r.Header.Del("X-Slack-Signature")
			return r
		},
		status: http.StatusUnauthorized,
	}, {
		name: "over 1 MiB",
		req: func() *http.Request {
			big := append([]byte(`{"type":"url_verification","challenge":"`), bytes.Repeat([]byte("a"), kslack.MaxBodyBytes)...)
			big = append(big, `"}`...)
			return newReq(big, now)
		},
		status: http.StatusRequestEntityTooLarge,
	}, {
		name: "over 1 MiB without Content-Length",
		req: func() *http.Request {
			big := bytes.Repeat([]byte(" "), kslack.MaxBodyBytes+1)
			r := newReq(big, now)
			r.ContentLength = -1
			return r
		},
		status: http.StatusRequestEntityTooLarge,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := httptest.NewRecorder()
			e.mux.ServeHTTP(w, tt.req())
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := e.disp.got(); len(got) != 0 {
				t.Fatalf("dispatched %+v", got)
			}
		})
	}
}

func TestSlashCommand(t *testing.T) {
	e := newEnv(t)
	w := e.post("/slack/commands", bytes.TrimSpace(fixture(t, "bolt-python_slash_command.form.txt")), "application/x-www-form-urlencoded", 0)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	want := []bot.Message{{
		EventID: "111.111.xxx", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W111", DisplayName: "山田 花子",
		Text: "Hi", AutoRole: bot.RoleStaff, Locale: "ja-JP", At: fixedNow,
	}}
	if diff := cmp.Diff(want, e.disp.got()); diff != "" {
		t.Fatalf("dispatched (-want +got):\n%s", diff)
	}
	// Typed in a channel: the person is told the answer comes as a DM.
	var resp map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp["response_type"] != "ephemeral" {
		t.Fatalf("response %q (%v)", w.Body, err)
	}
}

func TestSlashCommandEmptyTextIsMenu(t *testing.T) {
	e := newEnv(t)
	body := bytes.Replace(bytes.TrimSpace(fixture(t, "bolt-python_slash_command.form.txt")), []byte("&text=Hi&"), []byte("&text=&"), 1)
	if w := e.post("/slack/commands", body, "application/x-www-form-urlencoded", 0); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got := e.disp.got(); len(got) != 1 || got[0].Text != "メニュー" {
		t.Fatalf("dispatched %+v", got)
	}
}

func TestBlockActionsRoundTrip(t *testing.T) {
	choices := []bot.Choice{
		{Label: "登録", Action: "need.submit", Value: ""},
		{Label: "詳細", Action: "need.view", Value: "12"},
		{Label: "記号", Action: "a:b|c", Value: `{"x":"<y>&z"} 日本語 🎌`},
		{Label: "長いアクション", Action: strings.Repeat("あ", 300), Value: "v"},
		{Label: "長い値", Action: "x", Value: strings.Repeat("v", 1990)},
	}
	blocks := kslack.Render(bot.Reply{Text: "選んでください", Choices: choices})
	var buttons []*slack.ButtonBlockElement
	for _, b := range blocks {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				buttons = append(buttons, el.(*slack.ButtonBlockElement))
			}
		}
	}
	if len(buttons) != len(choices) {
		t.Fatalf("%d buttons for %d choices", len(buttons), len(choices))
	}
	e := newEnv(t)
	for i, btn := range buttons {
		if n := len([]rune(btn.ActionID)); n > 255 {
			t.Errorf("button %d: action_id has %d characters", i, n)
		}
		if n := len([]rune(btn.Value)); n > 2000 {
			t.Errorf("button %d: value has %d characters", i, n)
		}
		payload := patched(t, "bolt-python_block_actions.json",
			"actions.action_id", btn.ActionID, "actions.value", btn.Value, "trigger_id", "trig-"+string(rune('a'+i)))
		if w := e.interaction(payload); w.Code != http.StatusOK {
			t.Fatalf("button %d: status %d", i, w.Code)
		}
	}
	got := e.disp.got()
	if len(got) != len(choices) {
		t.Fatalf("dispatched %d messages", len(got))
	}
	for i, m := range got {
		if diff := cmp.Diff(choices[i], bot.Choice{Label: choices[i].Label, Action: m.Action, Value: m.Value}); diff != "" {
			t.Errorf("choice %d round trip (-want +got):\n%s", i, diff)
		}
	}
	want := bot.Message{
		EventID: "trig-b", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W111", DisplayName: "山田 花子",
		Action: "need.view", Value: "12", AutoRole: bot.RoleStaff, Locale: "ja-JP", At: time.Unix(1596530385, 194939000), Channel: "C111",
	}
	if diff := cmp.Diff(want, got[1]); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

func TestBlockActionsFixture(t *testing.T) {
	// An action we did not render comes through as Slack sent it.
	e := newEnv(t)
	if w := e.interaction(fixture(t, "bolt-python_block_actions.json")); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	got := e.disp.got()
	if len(got) != 1 || got[0].Action != "a" || got[0].Value != "click_me_123" || got[0].EventID != "111.222.valid" {
		t.Fatalf("dispatched %+v", got)
	}
}

func needForm() *handlers.FormSpec {
	return &handlers.FormSpec{Name: "need", Title: "ニーズを登録", Submit: "登録", Fields: []handlers.FormField{
		{Name: "title", Label: "件名", Hint: "80文字以内", MaxLen: 80},
		{Name: "description", Label: "内容", Multiline: true, MaxLen: 2000},
		{Name: "urgency", Label: "緊急度", Options: []bot.Choice{{Label: "高", Value: "high"}, {Label: "中", Value: "medium"}, {Label: "低", Value: "low"}}},
		{Name: "skills", Label: "求めるスキル", Optional: true},
	}}
}

func TestOpenFormButton(t *testing.T) {
	var gotLang bot.Lang
	f := &forms{FormFn: func(_ context.Context, tenant bot.TenantID, lang bot.Lang, name string) (*handlers.FormSpec, error) {
		gotLang = lang
		if tenant != testTenant || name != "need" {
			return nil, bot.Errorf(bot.ENOTFOUND, "no form")
		}
		return needForm(), nil
	}}
	e := newEnv(t, func(_ *kslack.Config, d *kslack.Deps) { d.Forms = f })
	id, value := buttonFor(t, bot.Choice{Label: "ニーズを登録", Action: handlers.ActionOpenForm, Value: "need"})
	if w := e.interaction(patched(t, "bolt-python_block_actions.json", "actions.action_id", id, "actions.value", value)); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got := e.disp.got(); len(got) != 0 {
		t.Fatalf("a form button must open the modal, not dispatch: %+v", got)
	}
	if gotLang != bot.LangJA {
		t.Errorf("lang %q", gotLang)
	}
	opens := e.api.callsTo("views.open")
	if len(opens) != 1 {
		t.Fatalf("views.open called %d times", len(opens))
	}
	if opens[0].JSON["trigger_id"] != "111.222.valid" {
		t.Errorf("trigger_id %v", opens[0].JSON["trigger_id"])
	}
	var view slack.ModalViewRequest
	raw, _ := json.Marshal(opens[0].JSON["view"])
	if err := json.Unmarshal(raw, &view); err != nil {
		t.Fatal(err)
	}
	type input struct {
		Block, Label, Hint, Type string
		Multiline, Optional      bool
		MaxLen                   int
		Options                  []string
	}
	var got []input
	for _, b := range view.Blocks.BlockSet {
		in := b.(*slack.InputBlock)
		x := input{Block: in.BlockID, Label: in.Label.Text, Optional: in.Optional}
		if in.Hint != nil {
			x.Hint = in.Hint.Text
		}
		switch el := in.Element.(type) {
		case *slack.PlainTextInputBlockElement:
			x.Type, x.Multiline, x.MaxLen = string(el.Type), el.Multiline, el.MaxLength
		case *slack.SelectBlockElement:
			x.Type = el.Type
			for _, o := range el.Options {
				x.Options = append(x.Options, o.Text.Text+"="+o.Value)
			}
		}
		got = append(got, x)
	}
	want := []input{
		{Block: "title", Label: "件名", Hint: "80文字以内", Type: "plain_text_input", MaxLen: 80},
		{Block: "description", Label: "内容", Type: "plain_text_input", Multiline: true, MaxLen: 2000},
		{Block: "urgency", Label: "緊急度", Type: "static_select", Options: []string{"高=high", "中=medium", "低=low"}},
		{Block: "skills", Label: "求めるスキル", Type: "plain_text_input", Optional: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("modal inputs (-want +got):\n%s", diff)
	}
	if view.Title.Text != "ニーズを登録" || view.Submit.Text != "登録" || view.Close.Text != "キャンセル" || view.PrivateMetadata != "need" {
		t.Errorf("modal title %q submit %q close %q metadata %q", view.Title.Text, view.Submit.Text, view.Close.Text, view.PrivateMetadata)
	}
}

func TestOpenFormFallsBackToDialog(t *testing.T) {
	// Unknown form: the engine gets the button and starts the chat dialog instead.
	f := &forms{FormFn: func(context.Context, bot.TenantID, bot.Lang, string) (*handlers.FormSpec, error) {
		return nil, bot.Errorf(bot.ENOTFOUND, "no form")
	}}
	e := newEnv(t, func(_ *kslack.Config, d *kslack.Deps) { d.Forms = f })
	id, value := buttonFor(t, bot.Choice{Label: "x", Action: handlers.ActionOpenForm, Value: "nope"})
	e.interaction(patched(t, "bolt-python_block_actions.json", "actions.action_id", id, "actions.value", value))
	got := e.disp.got()
	if len(got) != 1 || got[0].Action != handlers.ActionOpenForm || got[0].Value != "nope" {
		t.Fatalf("dispatched %+v", got)
	}
	if n := len(e.api.callsTo("views.open")); n != 0 {
		t.Fatalf("views.open called %d times", n)
	}
}

// buttonFor renders a single choice and returns its button's action_id and value.
func buttonFor(t *testing.T, c bot.Choice) (string, string) {
	t.Helper()
	for _, b := range kslack.Render(bot.Reply{Choices: []bot.Choice{c}}) {
		if ab, ok := b.(*slack.ActionBlock); ok {
			btn := ab.Elements.ElementSet[0].(*slack.ButtonBlockElement)
			return btn.ActionID, btn.Value
		}
	}
	t.Fatal("no button rendered")
	return "", ""
}

func TestViewSubmission(t *testing.T) {
	type submitted struct {
		Name   string
		Values map[string]string
		Msg    bot.Message
	}
	tests := []struct {
		name        string
		fieldErrors map[string]string
		err         error
		wantBody    string
		wantPosts   int
	}{{
		name:        "field errors under the inputs",
		fieldErrors: map[string]string{"hspI": "件名を入力してください（80文字以内）", "deadline": "日付の形式が正しくありません"},
		wantBody:    `{"response_action":"errors","errors":{"hspI":"件名を入力してください（80文字以内） / 日付の形式が正しくありません"}}`,
	}, {
		name:     "store down keeps the modal open",
		err:      bot.Errorf(bot.EUNAVAILABLE, "只今保存できません。しばらくしてからもう一度お試しください。"),
		wantBody: `{"response_action":"errors","errors":{"hspI":"只今保存できません。しばらくしてからもう一度お試しください。"}}`,
	}, {
		name:      "success closes the modal and answers in the DM",
		wantBody:  `{"response_action":"clear"}`,
		wantPosts: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []submitted
			f := &forms{SubmitFormFn: func(_ context.Context, m *bot.Message, name string, values map[string]string) (map[string]string, []bot.Reply, error) {
				got = append(got, submitted{name, values, *m})
				return tt.fieldErrors, []bot.Reply{bot.Text("受け付けました #12")}, tt.err
			}}
			e := newEnv(t, func(_ *kslack.Config, d *kslack.Deps) { d.Forms = f })
			payload := patched(t, "bolt-python_view_submission.json",
				"view.callback_id", "kakehashi.form", "view.private_metadata", "need")
			w := e.interaction(payload)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if diff := cmp.Diff(tt.wantBody, strings.TrimSpace(w.Body.String())); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			want := []submitted{{Name: "need", Values: map[string]string{"hspI": "test"}, Msg: bot.Message{
				EventID: "111.222.valid", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W111",
				DisplayName: "山田 花子", AutoRole: bot.RoleStaff, Locale: "ja-JP", At: fixedNow,
			}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SubmitForm (-want +got):\n%s", diff)
			}
			e.wait()
			posts := e.api.callsTo("chat.postMessage")
			if len(posts) != tt.wantPosts {
				t.Fatalf("%d posts, want %d; logs:\n%s", len(posts), tt.wantPosts, e.logs)
			}
			if tt.wantPosts > 0 && len(posts) > 0 && posts[0].Params.Get("channel") != "DW111" {
				t.Errorf("acknowledgement went to %q, want the DM", posts[0].Params.Get("channel"))
			}
			if len(e.disp.got()) != 0 {
				t.Errorf("a submission is not dispatched")
			}
		})
	}
}

func TestFormRoundTrip(t *testing.T) {
	// Open the modal, then submit the view Slack would send back, keyed by our block IDs.
	var values map[string]string
	f := &forms{
		FormFn: func(context.Context, bot.TenantID, bot.Lang, string) (*handlers.FormSpec, error) {
			return needForm(), nil
		},
		SubmitFormFn: func(_ context.Context, _ *bot.Message, _ string, v map[string]string) (map[string]string, []bot.Reply, error) {
			values = v
			return map[string]string{"title": "件名は80文字以内で入力してください"}, nil, nil
		},
	}
	e := newEnv(t, func(_ *kslack.Config, d *kslack.Deps) { d.Forms = f })
	id, value := buttonFor(t, bot.Choice{Label: "登録", Action: handlers.ActionOpenForm, Value: "need"})
	e.interaction(patched(t, "bolt-python_block_actions.json", "actions.action_id", id, "actions.value", value))
	opens := e.api.callsTo("views.open")
	if len(opens) != 1 {
		t.Fatalf("views.open called %d times", len(opens))
	}
	view := opens[0].JSON["view"].(map[string]any)
	state := map[string]any{
		"title":       map[string]any{"value": map[string]any{"type": "plain_text_input", "value": strings.Repeat("長", 81)}},
		"description": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "窓口の予約を\nオンライン化したい"}},
		"urgency":     map[string]any{"value": map[string]any{"type": "static_select", "selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": "高"}, "value": "high"}}},
		"skills":      map[string]any{"value": map[string]any{"type": "plain_text_input", "value": nil}},
	}
	var m map[string]any
	_ = json.Unmarshal(fixture(t, "bolt-python_view_submission.json"), &m)
	v := m["view"].(map[string]any)
	v["blocks"], v["callback_id"], v["private_metadata"] = view["blocks"], view["callback_id"], view["private_metadata"]
	v["state"] = map[string]any{"values": state}
	w := e.interaction(patch(t, m))
	want := map[string]string{"title": strings.Repeat("長", 81), "description": "窓口の予約を\nオンライン化したい", "urgency": "high", "skills": ""}
	if diff := cmp.Diff(want, values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	var resp slack.ViewSubmissionResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"title": "件名は80文字以内で入力してください"}, resp.Errors); diff != "" || resp.ResponseAction != slack.RAErrors {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestAppHome(t *testing.T) {
	var asked []bot.Message
	engine := handlers.EngineFunc(func(_ context.Context, m *bot.Message) ([]bot.Reply, error) {
		asked = append(asked, *m)
		return []bot.Reply{
			{Text: "あなたのニーズ", Fields: []bot.Field{{Label: "#12 <!channel>", Value: "受付"}}},
			{Text: "あなたの面談", Choices: []bot.Choice{{Label: "詳細", Action: "meeting.view", Value: "3"}}},
		}, nil
	})
	e := newEnv(t, func(_ *kslack.Config, d *kslack.Deps) { d.Engine = engine })
	home := patched(t, "java-sdk_AppHomeOpenedPayload.json",
		"type", "event_callback", "team_id", testTeam, "event_id", "Ev0HOME", "event_time", 1775000000,
		"event.user", "W111", "event.channel", "D0123", "event.tab", "home", "event.event_ts", "1775000000.000100", "event.view", nil)
	// The Messages tab also sends app_home_opened (bolt-python's sample); it needs no view.
	messagesTab := patched(t, "bolt-python_event_app_home_opened.json", "team_id", testTeam)
	for _, body := range [][]byte{home, messagesTab} {
		if w := e.event(body); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	}
	e.wait()
	want := []bot.Message{{
		EventID: "Ev0HOME", Platform: bot.PlatformSlack, Tenant: testTenant, UserID: "W111", DisplayName: "山田 花子",
		Action: handlers.ActionHome, AutoRole: bot.RoleStaff, Locale: "ja-JP", At: time.Unix(1775000000, 0), Channel: "D0123",
	}}
	if diff := cmp.Diff(want, asked); diff != "" {
		t.Fatalf("Engine.Handle (-want +got):\n%s", diff)
	}
	pubs := e.api.callsTo("views.publish")
	if len(pubs) != 1 {
		t.Fatalf("views.publish called %d times", len(pubs))
	}
	var req slack.PublishViewContextRequest
	if err := json.Unmarshal(pubs[0].Raw, &req); err != nil {
		t.Fatal(err)
	}
	if req.UserID != "W111" || req.View.Type != slack.VTHomeTab {
		t.Fatalf("published %+v", req)
	}
	want2 := []string{"あなたのニーズ", "*#12 &lt;!channel&gt;*\n受付", "---", "あなたの面談", "[actions]", "[詳細]"}
	if diff := cmp.Diff(want2, texts(req.View.Blocks.BlockSet)); diff != "" {
		t.Errorf("home view (-want +got):\n%s", diff)
	}
	if len(e.disp.got()) != 0 {
		t.Errorf("App Home is not dispatched")
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	e := newEnv(t)
	e.disp.err = errors.New("boom")
	e.event(dmEvent(t, "Ev0L", "W111", "私の電話番号は090-1234-5678です"))
	e.event(dmEvent(t, "Ev0L2", "W111", "x", "team_id", "T999"))
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("expected log lines")
	}
	for _, s := range []string{"090-1234-5678", "山田", "W111", testSecret, testBotToken} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}
