// Package lineworks is Kakehashi's LINE WORKS channel, the chat of city-hall staff.
// It speaks Bot API 2.0 with the standard library only (there is no Go SDK).
//
// Inbound: Register mounts POST /lineworks/callback. A callback is read up to
// MaxBodyBytes (413 beyond), its X-WORKS-Signature (base64 HMAC-SHA256 of the raw
// body with the bot secret) is checked in constant time before anything is parsed
// (401), and X-WORKS-BotId must be the configured bot (403). LINE WORKS never resends
// a callback, so the event is handed to handlers.Dispatcher — which stores it — before
// the 200; when storing fails the answer is 503 (store unavailable) or 500 and the
// failure is logged, since the event is then lost. Events become bot.Message:
//
//	message, content.type text        → Text
//	message with content.postback     → Action/Value (DecodePostback); "start" → ActionJoin
//	postback (quick reply, rich menu) → Action/Value from data; other data → Text
//	join, joined, begin               → ActionJoin   (joined: Value = member IDs)
//	leave, left, end                  → ActionLeave  (left: Value = member IDs)
//	sticker, image, file, location, … → ActionUnsupported, Value = content type
//	any other event type              → ActionUnsupported, Value = event type
//
// The tenant comes from Config.Bindings[source.domainId] and members of a bound
// domain get AutoRole staff; events of other domains are acknowledged, logged and
// dropped. Channel is source.channelId (absent in 1:1 rooms), UserID source.userId.
// LINE WORKS sends no event ID, so EventID is "lw:" + hex(SHA-256(raw body)).
//
// Outbound: Adapter.Send implements bot.Sender over POST /bots/{botId}/users/{userId}/messages
// or /bots/{botId}/channels/{channelId}/messages; Render documents how a bot.Reply maps
// onto text, button_template, quick replies, image, file and link messages. Buttons
// carry their choice as postback data "action=<action>&value=<value>" (query-escaped,
// at most PostbackMax characters; see EncodePostback).
//
// Auth: a service-account JWT (RS256; iss = client ID, sub = service account, 30-minute
// exp) is exchanged at the auth URL for an access token, which is cached, renewed five
// minutes before it expires by one request that concurrent senders share, and renewed
// once more on a 401. Neither the key nor any token or secret appears in a log line or
// an error; Config redacts itself when printed. Requests are paced per tenant (token
// bucket, Config.Rate/Burst) because LINE WORKS limits each domain separately.
package lineworks
