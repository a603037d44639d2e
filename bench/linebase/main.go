// Command linebase is the smallest correct LINE bot line-bot-sdk-go v8 allows, the baseline
// Kakehashi is measured against: webhook.ParseRequest verifies X-Line-Signature and parses,
// and each text message is answered with the reply token through messaging_api before the
// webhook is acknowledged, as the SDK's examples/echo_bot does. It keeps no state;
// redelivered events (deliveryContext.isRedelivery) are skipped, the stateless shortcut,
// which drops an event whose first delivery failed.
//
// Settings come from the same variables as Kakehashi's: KAKEHASHI_LINE_CHANNEL_SECRET,
// KAKEHASHI_LINE_CHANNEL_TOKEN, KAKEHASHI_LINE_API_URL, and the listen address from -addr.
package main

import (
	"errors"
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	flag.Parse()
	secret, token := os.Getenv("KAKEHASHI_LINE_CHANNEL_SECRET"), os.Getenv("KAKEHASHI_LINE_CHANNEL_TOKEN")
	if secret == "" || token == "" {
		log.Fatal("linebase: KAKEHASHI_LINE_CHANNEL_SECRET and KAKEHASHI_LINE_CHANNEL_TOKEN are required")
	}
	opts := []messaging_api.MessagingApiAPIOption{}
	if u := os.Getenv("KAKEHASHI_LINE_API_URL"); u != "" {
		opts = append(opts, messaging_api.WithEndpoint(u))
	}
	bot, err := messaging_api.NewMessagingApiAPI(token, opts...)
	if err != nil {
		log.Fatal(err)
	}

	http.HandleFunc("POST /line/webhook", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		cb, err := webhook.ParseRequest(secret, r)
		if err != nil {
			if errors.Is(err, webhook.ErrInvalidSignature) {
				w.WriteHeader(http.StatusBadRequest)
			} else {
				w.WriteHeader(http.StatusInternalServerError)
			}
			return
		}
		for _, ev := range cb.Events {
			e, ok := ev.(webhook.MessageEvent)
			if !ok || (e.DeliveryContext != nil && e.DeliveryContext.IsRedelivery) {
				continue
			}
			m, ok := e.Message.(webhook.TextMessageContent)
			if !ok {
				continue
			}
			if _, err := bot.ReplyMessage(&messaging_api.ReplyMessageRequest{
				ReplyToken: e.ReplyToken,
				Messages:   []messaging_api.MessageInterface{&messaging_api.TextMessage{Text: "受け付けました: " + m.Text}},
			}); err != nil {
				log.Printf("linebase: reply: %v", err)
			}
		}
	})
	log.Printf("linebase: listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
