// Package slack is Kakehashi's Slack channel (SPEC §2): it turns Slack events, interactions
// and slash commands into bot.Message values for the handlers.Dispatcher, and renders
// bot.Reply values as Block Kit for the Web API (bot.Sender).
//
// Inbound, over HTTP (POST /slack/events, /slack/interactions, /slack/commands) or Socket
// Mode (an app-level token, no public URL):
//
//   - every HTTP request is checked for Slack's v0 signature and 5-minute timestamp window
//     over the raw body before anything parses it; bodies over 1 MiB are refused;
//   - DMs (message.im), @mentions (app_mention, the mention removed), "/kakehashi …" and button
//     presses (block_actions) are dispatched and acknowledged at once; the Dispatcher stores
//     them durably and deduplicates by EventID (Slack's event_id, or the trigger_id of
//     interactions and commands), so Slack's retries are harmless. A store outage answers 503
//     so that Slack retries;
//   - a button with the action handlers.ActionOpenForm opens the form as a modal, whose
//     submission is validated synchronously by handlers.Forms (errors appear under the
//     fields); opening the App Home tab publishes the engine's handlers.ActionHome replies;
//   - events from a workspace that is not bound to a tenant are ignored; full members of a
//     bound workspace get the staff role automatically, guests and users of other
//     organisations in shared channels do not.
//
// Outbound, Send posts each reply as one or more messages within Block Kit's limits
// (50 blocks, 3,000-character sections, 25 buttons per actions block), spaced about one
// second apart per channel, uploads .ics and PNG attachments with the external upload flow,
// and reports 429 as *bot.RetryAfterError and unfixable failures as bot.ErrPermanent.
//
// Every string that ends up in mrkdwn goes through Escape, so text a person typed can never
// become @channel, a mention or a disguised link. Logs carry event IDs, team IDs and error
// codes, never message text, names or user IDs.
package slack
