// Package fakeapi is a fast local fake of the platform APIs the bots under load call: the
// Slack Web API (chat.postMessage, conversations.open, users.info) and the LINE Messaging
// API (reply, push). It answers at once and counts what it received, so that one load run
// can compare Kakehashi and the bare SDK baselines against the same server.
//
// It keeps the two platform rules that decide whether a bot replied exactly once: a LINE
// reply token works once (a second use gets LINE's 400 "Invalid reply token"), and a LINE
// push with an X-Line-Retry-Key already seen gets 409.
package fakeapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the counters of one Server. Replies counts every accepted message post (Slack
// posts, LINE replies and pushes); the other fields break it down.
type Stats struct {
	SlackPosts     int64 `json:"slack_posts"`
	SlackOpens     int64 `json:"slack_opens"`
	SlackUserInfos int64 `json:"slack_user_infos"`
	LineReplies    int64 `json:"line_replies"`
	LinePushes     int64 `json:"line_pushes"`
	LineMessages   int64 `json:"line_messages"`
	// TokenReused counts reply tokens used a second time: a duplicate reply.
	TokenReused int64 `json:"line_reply_token_reused"`
	// RetryKeyRepeated counts pushes refused with 409 because their retry key was seen.
	RetryKeyRepeated int64 `json:"line_retry_key_repeated"`
	Unknown          int64 `json:"unknown"`
}

// Replies is the number of messages delivered to people through either platform.
func (s Stats) Replies() int64 { return s.SlackPosts + s.LineReplies + s.LinePushes }

// Sub returns s - o, the counts of one run.
func (s Stats) Sub(o Stats) Stats {
	return Stats{
		SlackPosts: s.SlackPosts - o.SlackPosts, SlackOpens: s.SlackOpens - o.SlackOpens,
		SlackUserInfos: s.SlackUserInfos - o.SlackUserInfos, LineReplies: s.LineReplies - o.LineReplies,
		LinePushes: s.LinePushes - o.LinePushes, LineMessages: s.LineMessages - o.LineMessages,
		TokenReused: s.TokenReused - o.TokenReused, RetryKeyRepeated: s.RetryKeyRepeated - o.RetryKeyRepeated,
		Unknown: s.Unknown - o.Unknown,
	}
}

// Server is the fake. The zero value is ready; serve it with http.Serve.
type Server struct {
	// Delay is added before every answer, to imitate a real API's latency (zero: none).
	Delay time.Duration

	slackPosts, slackOpens, slackUsers         atomic.Int64
	lineReplies, linePushes, lineMsgs, unknown atomic.Int64
	tokenReused, keyRepeated                   atomic.Int64
	tokens, keys                               sync.Map
	lastReply                                  atomic.Int64 // unix nanos of the last accepted reply
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{
		SlackPosts: s.slackPosts.Load(), SlackOpens: s.slackOpens.Load(), SlackUserInfos: s.slackUsers.Load(),
		LineReplies: s.lineReplies.Load(), LinePushes: s.linePushes.Load(), LineMessages: s.lineMsgs.Load(),
		TokenReused: s.tokenReused.Load(), RetryKeyRepeated: s.keyRepeated.Load(), Unknown: s.unknown.Load(),
	}
}

// LastReply is when the last reply was accepted (zero before the first).
func (s *Server) LastReply() time.Time {
	n := s.lastReply.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (s *Server) replied() { s.lastReply.Store(time.Now().UnixNano()) }

// ServeHTTP answers /api/<method> like Slack and /v2/bot/message/{reply,push} like LINE;
// GET /stats returns the counters as JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	switch {
	case r.URL.Path == "/stats":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	case strings.HasPrefix(r.URL.Path, "/api/"):
		s.slack(w, r, strings.TrimPrefix(r.URL.Path, "/api/"))
	case r.URL.Path == "/v2/bot/message/reply":
		s.lineReply(w, r)
	case r.URL.Path == "/v2/bot/message/push":
		s.linePush(w, r)
	default:
		s.unknown.Add(1)
		http.NotFound(w, r)
	}
}

func (s *Server) slack(w http.ResponseWriter, r *http.Request, method string) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && r.FormValue("token") == "" {
		writeJSON(w, `{"ok":false,"error":"not_authed"}`)
		return
	}
	switch method {
	case "chat.postMessage":
		// slack-go posts a form; the channel is all a reply needs to be counted.
		_ = r.ParseForm()
		ch := r.PostForm.Get("channel")
		if ch == "" {
			writeJSON(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		s.slackPosts.Add(1)
		s.replied()
		writeJSON(w, `{"ok":true,"channel":"`+jsonSafe(ch)+`","ts":"`+ts()+`"}`)
	case "conversations.open":
		_ = r.ParseForm()
		users := r.PostForm.Get("users")
		s.slackOpens.Add(1)
		writeJSON(w, `{"ok":true,"channel":{"id":"D`+jsonSafe(strings.TrimPrefix(users, "U"))+`"}}`)
	case "users.info":
		_ = r.ParseForm()
		u := jsonSafe(r.Form.Get("user"))
		s.slackUsers.Add(1)
		writeJSON(w, `{"ok":true,"user":{"id":"`+u+`","team_id":"TLOAD","name":"load-`+u+`","real_name":"負荷 試験",`+
			`"locale":"ja-JP","tz":"Asia/Tokyo","profile":{"display_name":"負荷試験","real_name":"負荷 試験"}}}`)
	default:
		s.unknown.Add(1)
		writeJSON(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

type lineRequest struct {
	ReplyToken string `json:"replyToken"`
	To         string `json:"to"`
	Messages   []struct {
		Type string `json:"type"`
	} `json:"messages"`
}

func (s *Server) readLine(w http.ResponseWriter, r *http.Request) (*lineRequest, bool) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req lineRequest
	valid := err == nil && json.Unmarshal(body, &req) == nil && len(req.Messages) > 0 && len(req.Messages) <= 5
	for _, m := range req.Messages {
		valid = valid && m.Type != "" // LINE refuses a message without its type
	}
	if !valid {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"The request body has 1 error(s)"}`)
		return nil, false
	}
	return &req, true
}

func (s *Server) lineReply(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readLine(w, r)
	if !ok {
		return
	}
	if _, used := s.tokens.LoadOrStore(req.ReplyToken, struct{}{}); used || req.ReplyToken == "" {
		s.tokenReused.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"Invalid reply token"}`)
		return
	}
	s.lineReplies.Add(1)
	s.lineMsgs.Add(int64(len(req.Messages)))
	s.replied()
	writeJSON(w, `{"sentMessages":[]}`)
}

func (s *Server) linePush(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readLine(w, r)
	if !ok {
		return
	}
	if key := r.Header.Get("X-Line-Retry-Key"); key != "" {
		if _, seen := s.keys.LoadOrStore(key, struct{}{}); seen {
			s.keyRepeated.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"message":"The retry key is already accepted"}`)
			return
		}
	}
	s.linePushes.Add(1)
	s.lineMsgs.Add(int64(len(req.Messages)))
	s.replied()
	writeJSON(w, `{"sentMessages":[]}`)
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = io.WriteString(w, body)
}

var tsSeq atomic.Int64

// ts is a Slack message timestamp, unique per call.
func ts() string {
	return strconv.FormatInt(time.Now().Unix(), 10) + "." + fmt.Sprintf("%06d", tsSeq.Add(1)%1000000)
}

// jsonSafe keeps IDs from the request from breaking the hand-written JSON.
func jsonSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 {
			return -1
		}
		return r
	}, s)
}
