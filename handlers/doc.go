// Package handlers holds Kakehashi's edges: the message router (Handler, HandlerFunc,
// Mux and middleware in the style of net/http), the Engine that runs one inbound message
// through membership, conversation state and the router, and the platform-neutral use
// cases (membership, needs, meetings, candidates, digest). One sub-package per chat
// platform translates its payloads to bot.Message and renders bot.Reply.
package handlers
