package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Platform selects which webhook a run drives.
type Platform string

const (
	Slack Platform = "slack"
	LINE  Platform = "line"
)

// The bound Slack workspace and the bot user of the load run (the YAML config binds the team).
const (
	loadTeam   = "TLOAD"
	loadBotID  = "UKAKEBOT"
	loadApp    = "ALOAD"
	lineDest   = "U0123456789abcdef0123456789abcdef"
	mentionPct = 20 // share of new Slack conversations that are @mentions in a channel
)

// Conversations the generator plays. A new conversation is one message from someone the bot
// has not seen; a flow is several messages of one person, the dialog engine's bread and butter.
var (
	slackNew   = [][]string{{"メニュー"}, {"ヘルプ"}}
	slackFlows = [][]string{
		{"メニュー", "ニーズ登録", "窓口予約をオンライン化したい", "市民課", "やめる"},
		{"ニーズ登録", "紙の申請書を減らしたい", "戻る", "やめる"},
	}
	lineNew   = [][]string{{"メニュー"}, {"こんにちは"}}
	lineFlows = [][]string{
		{"参加 DEMO-CANDIDATE", "メニュー", "登録内容", "やめる"},
		{"参加 DEMO-ADVISER", "メニュー", "面談一覧", "やめる"},
	}
)

// Event is one webhook request, signed when it is sent (Slack signs the time of sending).
type Event struct {
	Body []byte
	// Retry is the redelivery number (0 for a first delivery).
	Retry int
	// Unique is false for a redelivery of an earlier event.
	Unique bool
}

// Gen produces the event mix. Conversations live in slots played round-robin, so the next
// message of one person comes many events after the previous one (people wait for the
// answer), while thousands of conversations run side by side.
type Gen struct {
	platform Platform
	run      string
	dupPct   int
	newPct   int
	people   int

	mu     sync.Mutex
	rng    *rand.Rand
	slots  []*conv
	next   int
	users  int
	active map[int]bool // people in a conversation now
	events int
	recent []Event // recent first deliveries, for redeliveries
}

type conv struct {
	person        int
	user, channel string
	mention       bool
	steps         []string
	at            int
}

// NewGen returns a generator; run makes IDs unique across runs against one store. People
// is the size of the population conversations are drawn from (0: a new person each time);
// one person is in at most one conversation at a time.
func NewGen(p Platform, run string, slots, people, dupPct, newPct int, seed uint64) *Gen {
	g := &Gen{platform: p, run: run, dupPct: dupPct, newPct: newPct, people: people, active: map[int]bool{},
		rng: rand.New(rand.NewPCG(seed, 7))}
	g.slots = make([]*conv, slots)
	return g
}

// Next returns the next event to send.
func (g *Gen) Next() Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.recent) > 100 && g.rng.IntN(100) < g.dupPct {
		e := g.recent[g.rng.IntN(len(g.recent))]
		e.Retry = 1 + g.rng.IntN(3)
		e.Unique = false
		if g.platform == LINE {
			e.Body = redeliver(e.Body)
		}
		return e
	}
	i := g.next
	g.next = (g.next + 1) % len(g.slots)
	c := g.slots[i]
	if c == nil || c.at >= len(c.steps) {
		if c != nil {
			delete(g.active, c.person)
		}
		c = g.newConv()
		g.slots[i] = c
	}
	text := c.steps[c.at]
	c.at++
	g.events++
	var body []byte
	if g.platform == Slack {
		body = g.slackBody(c, text)
	} else {
		body = g.lineBody(c, text)
	}
	e := Event{Body: body, Unique: true}
	if len(g.recent) < 4096 {
		g.recent = append(g.recent, e)
	} else {
		g.recent[g.rng.IntN(len(g.recent))] = e
	}
	return e
}

// person picks someone not in a conversation now, or someone new.
func (g *Gen) person() int {
	for range 8 {
		if g.people == 0 {
			break
		}
		if p := g.rng.IntN(g.people); !g.active[p] {
			return p
		}
	}
	g.users++
	return g.people + g.users
}

func (g *Gen) newConv() *conv {
	p := g.person()
	g.active[p] = true
	c := &conv{person: p}
	var pool [][]string
	if g.platform == Slack {
		c.user = fmt.Sprintf("U%s%07d", g.run, p)
		c.channel = "D" + c.user[1:]
		pool = slackFlows
		if g.rng.IntN(100) < g.newPct {
			pool = slackNew
			if g.rng.IntN(100) < mentionPct {
				c.mention, c.channel = true, fmt.Sprintf("C%s%05d", g.run, g.rng.IntN(10000))
			}
		}
	} else {
		sum := sha256.Sum256([]byte(g.run + "/" + strconv.Itoa(p)))
		c.user = "U" + hex.EncodeToString(sum[:16])
		pool = lineFlows
		if g.rng.IntN(100) < g.newPct {
			pool = lineNew
		}
	}
	c.steps = pool[g.rng.IntN(len(pool))]
	return c
}

func (g *Gen) slackBody(c *conv, text string) []byte {
	now := time.Now()
	ts := fmt.Sprintf("%d.%06d", now.Unix(), g.events%1000000)
	inner := map[string]any{"type": "message", "channel": c.channel, "user": c.user, "text": text, "ts": ts,
		"event_ts": ts, "channel_type": "im", "team": loadTeam,
		"blocks": []any{map[string]any{"type": "rich_text", "block_id": "b" + strconv.Itoa(g.events),
			"elements": []any{map[string]any{"type": "rich_text_section", "elements": []any{map[string]any{"type": "text", "text": text}}}}}}}
	if c.mention {
		inner["type"], inner["text"], inner["channel_type"] = "app_mention", "<@"+loadBotID+"> "+text, "channel"
		delete(inner, "blocks")
	}
	b, _ := json.Marshal(map[string]any{
		"token": "legacy-unused", "team_id": loadTeam, "context_team_id": loadTeam, "api_app_id": loadApp,
		"event": inner, "type": "event_callback", "event_id": fmt.Sprintf("Ev%s%08d", g.run, g.events),
		"event_time": now.Unix(), "event_context": "4-load",
		"authorizations": []any{map[string]any{"enterprise_id": nil, "team_id": loadTeam, "user_id": loadBotID,
			"is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false,
	})
	return b
}

func (g *Gen) lineBody(c *conv, text string) []byte {
	now := time.Now()
	id := fmt.Sprintf("01LOAD%s%014d", g.run, g.events)
	b, _ := json.Marshal(map[string]any{
		"destination": lineDest,
		"events": []any{map[string]any{
			"type": "message", "mode": "active", "timestamp": now.UnixMilli(), "webhookEventId": id,
			"deliveryContext": map[string]any{"isRedelivery": false},
			"source":          map[string]any{"type": "user", "userId": c.user},
			"replyToken":      fmt.Sprintf("rt%s%012d", g.run, g.events),
			"message":         map[string]any{"type": "text", "id": strconv.Itoa(100000000 + g.events), "quoteToken": "q" + id, "text": text},
		}},
	})
	return b
}

// redeliver marks a LINE webhook body as a redelivery: same webhookEventId and reply token.
func redeliver(body []byte) []byte {
	var cb map[string]any
	if json.Unmarshal(body, &cb) != nil {
		return body
	}
	for _, e := range cb["events"].([]any) {
		e.(map[string]any)["deliveryContext"] = map[string]any{"isRedelivery": true}
	}
	b, _ := json.Marshal(cb)
	return b
}

// Signer signs requests as the platform would.
type Signer struct {
	Platform Platform
	Secret   []byte
}

// Sign sets the signature headers of one delivery of e (a Slack retry gets a new timestamp).
func (s Signer) Sign(h http.Header, e Event) {
	h.Set("Content-Type", "application/json")
	switch s.Platform {
	case Slack:
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, s.Secret)
		mac.Write([]byte("v0:" + ts + ":"))
		mac.Write(e.Body)
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		if e.Retry > 0 {
			h.Set("X-Slack-Retry-Num", strconv.Itoa(e.Retry))
			h.Set("X-Slack-Retry-Reason", "http_timeout")
		}
	case LINE:
		mac := hmac.New(sha256.New, s.Secret)
		mac.Write(e.Body)
		h.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
}

// Path is the webhook path of the platform.
func (p Platform) Path() string {
	if p == Slack {
		return "/slack/events"
	}
	return "/line/webhook"
}
