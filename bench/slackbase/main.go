// Command slackbase is the smallest correct Slack Events API bot slack-go allows, the
// baseline Kakehashi is measured against: it verifies the v0 signature, parses the event,
// and answers a DM or a mention through the SDK's chat.postMessage before acknowledging,
// as slack-go's examples/eventsapi does. It keeps no state; Slack's retries (requests with
// X-Slack-Retry-Num) are acknowledged without a second answer, the usual stateless
// shortcut, which drops the event when the first delivery failed.
//
// Settings come from the same variables as Kakehashi's: KAKEHASHI_SLACK_SIGNING_SECRET,
// KAKEHASHI_SLACK_BOT_TOKEN, KAKEHASHI_SLACK_API_URL, and the listen address from -addr.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	secret := os.Getenv("KAKEHASHI_SLACK_SIGNING_SECRET")
	if secret == "" || os.Getenv("KAKEHASHI_SLACK_BOT_TOKEN") == "" {
		log.Fatal("slackbase: KAKEHASHI_SLACK_SIGNING_SECRET and KAKEHASHI_SLACK_BOT_TOKEN are required")
	}
	opts := []slack.Option{}
	if u := os.Getenv("KAKEHASHI_SLACK_API_URL"); u != "" {
		opts = append(opts, slack.OptionAPIURL(u))
	}
	api := slack.New(os.Getenv("KAKEHASHI_SLACK_BOT_TOKEN"), opts...)

	http.HandleFunc("POST /slack/events", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := sv.Write(body); err != nil || sv.Ensure() != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch ev.Type {
		case slackevents.URLVerification:
			var ch *slackevents.ChallengeResponse
			if err := json.Unmarshal(body, &ch); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(ch.Challenge))
			return
		case slackevents.CallbackEvent:
		default:
			return
		}
		if r.Header.Get("X-Slack-Retry-Num") != "" {
			return // answered (or lost) on the first delivery
		}
		var channel, text string
		switch e := ev.InnerEvent.Data.(type) {
		case *slackevents.MessageEvent:
			if e.BotID != "" || e.SubType != "" || e.ChannelType != "im" {
				return
			}
			channel, text = e.Channel, e.Text
		case *slackevents.AppMentionEvent:
			if e.BotID != "" {
				return
			}
			channel, text = e.Channel, e.Text
		default:
			return
		}
		if _, _, err := api.PostMessageContext(r.Context(), channel, slack.MsgOptionText("受け付けました: "+text, false)); err != nil {
			log.Printf("slackbase: chat.postMessage: %v", err)
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	log.Printf("slackbase: listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
