// Package line connects Kakehashi to the LINE Messaging API. LINE is the channel for
// people outside city hall — advisers and candidates — so messages carry no tenant:
// the engine resolves it from the sender's identity.
//
// Inbound, Register mounts POST /line/webhook. A request is capped at 1 MiB, its
// X-Line-Signature is checked with the SDK (webhook.ValidateSignature) on the raw bytes
// before anything is parsed, and each event is translated to a bot.Message and handed
// to the durable handlers.Dispatcher. The webhook answers 200 as soon as the events are
// stored (LINE classifies a response slower than about a second as a timeout) and 503
// when the store is unavailable, so that LINE's webhook redelivery tries again;
// duplicates are dropped downstream by EventID (webhookEventId).
//
// Translated events:
//
//	message (text)  → Text
//	postback        → Action/Value decoded from the postback data (see DecodePostback);
//	                  a datetime-picker answer replaces Value with "2006-01-02 15:04"
//	follow          → Action "follow" (Value "unblocked" when a blocked bot is re-added)
//	unfollow        → Action "unfollow"
//
// Everything else — other message types, group and room chats, standby-mode events of
// module channels, unknown event types — is acknowledged and ignored: the bot's flows
// are one-to-one and may show personal data, which must never land in a group.
//
// Outbound, Adapter implements bot.Sender. Render turns one bot.Reply into LINE messages
// within the platform's limits (5,000 UTF-16 units per text, 13 quick replies, 20-character
// labels, 300-character postback data, 5 messages per request). Send uses the reply token
// when it is fresh and the whole delivery fits one request, and otherwise pushes with an
// X-Line-Retry-Key derived from bot.Delivery.Key, so a retried push is executed once.
//
// Postback data format: "a=<action>&v=<value>", URL-query form, where only the characters
// that would change how url.ParseQuery splits the string ('%', '&', '=', '+', ';', '#',
// spaces and control characters) are percent-encoded. Japanese stays readable and short
// (a kana costs one character, not nine). Data that LINE delivers from elsewhere — a rich
// menu configured in the console — is also understood: "action=" and "value=" are read
// when "a=" and "v=" are absent, and data without any '=' is taken as a bare action.
package line
