package fakeapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bench/fakeapi"
)

func TestSDKsAgainstTheFake(t *testing.T) {
	f := &fakeapi.Server{}
	srv := httptest.NewServer(f)
	defer srv.Close()

	api := slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/api/"))
	if _, err := api.GetUserInfo("U1"); err != nil {
		t.Fatal(err)
	}
	ch, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || ch.ID == "" {
		t.Fatalf("open: %v %+v", err, ch)
	}
	if _, _, err := api.PostMessage(ch.ID, slack.MsgOptionText("こんにちは", false)); err != nil {
		t.Fatal(err)
	}

	bot, err := messaging_api.NewMessagingApiAPI("token", messaging_api.WithEndpoint(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []messaging_api.MessageInterface{&messaging_api.TextMessage{Text: "はい"}}
	if _, err := bot.ReplyMessage(&messaging_api.ReplyMessageRequest{ReplyToken: "rt1", Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	// A reply token works once, as on LINE.
	if _, err := bot.ReplyMessage(&messaging_api.ReplyMessageRequest{ReplyToken: "rt1", Messages: msgs}); err == nil {
		t.Fatal("second use of a reply token accepted")
	}
	if _, err := bot.PushMessage(&messaging_api.PushMessageRequest{To: "U1", Messages: msgs}, "key-1"); err != nil {
		t.Fatal(err)
	}
	res, _, _ := bot.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: "U1", Messages: msgs}, "key-1")
	if res == nil || res.StatusCode != 409 {
		t.Fatalf("repeated retry key: %v", res)
	}
	got := f.Stats()
	want := fakeapi.Stats{SlackPosts: 1, SlackOpens: 1, SlackUserInfos: 1, LineReplies: 1, LinePushes: 1, LineMessages: 2,
		TokenReused: 1, RetryKeyRepeated: 1}
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	if got.Replies() != 3 {
		t.Fatalf("replies %d", got.Replies())
	}
}
