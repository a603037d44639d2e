package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/kakehashi/kakehashi/bot"
	kslack "github.com/kakehashi/kakehashi/handlers/slack"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<!channel>", "&lt;!channel&gt;"},
		{"<!here> お知らせ", "&lt;!here&gt; お知らせ"},
		{"<!everyone>", "&lt;!everyone&gt;"},
		{"<@U0123ABCD>", "&lt;@U0123ABCD&gt;"},
		{"<!subteam^S123|@dx>", "&lt;!subteam^S123|@dx&gt;"},
		{"<https://evil.example|岡山市公式>", "&lt;https://evil.example|岡山市公式&gt;"},
		{"A & B", "A &amp; B"},
		{"&lt;already&gt;", "&amp;lt;already&amp;gt;"},
		{"*太字* _斜体_ `code`", "*太字* _斜体_ `code`"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := kslack.Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRenderEscapesEverything(t *testing.T) {
	r := bot.Reply{
		Text:        "<!channel> 会議 <@U123> <https://evil.example|安全なリンク> & <!here>",
		Fields:      []bot.Field{{Label: "<!everyone>", Value: "<@U1|x> & <#C1>"}},
		Choices:     []bot.Choice{{Label: "<!channel>", Action: "a", Value: "<!here>"}},
		Attachments: []bot.Attachment{{Name: "資料 <b>", URL: "https://example.jp/a?b=1&c=|2"}, {Name: "x", URL: "javascript:alert(1)"}},
	}
	want := []string{
		"&lt;!channel&gt; 会議 &lt;@U123&gt; &lt;https://evil.example|安全なリンク&gt; &amp; &lt;!here&gt;",
		"*&lt;!everyone&gt;*\n&lt;@U1|x&gt; &amp; &lt;#C1&gt;",
		"<https://example.jp/a?b=1&amp;c=%7C2|資料 &lt;b&gt;>",
		"[actions]", "[<!channel>]", // button labels are plain_text: shown as typed, never parsed
	}
	blocks := kslack.Render(r)
	if diff := cmp.Diff(want, texts(blocks)); diff != "" {
		t.Fatalf("texts (-want +got):\n%s", diff)
	}
	for _, b := range blocks {
		if ab, ok := b.(*slack.ActionBlock); ok {
			btn := ab.Elements.ElementSet[0].(*slack.ButtonBlockElement)
			if btn.Text.Type != slack.PlainTextType {
				t.Errorf("button text type %q", btn.Text.Type)
			}
		}
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && !s.Text.Verbatim {
			t.Errorf("section text must be verbatim (no automatic linking)")
		}
	}
}

func TestRenderLimits(t *testing.T) {
	long := strings.Repeat("岡山市の窓口予約をオンライン化したい。\n", 500) // 10,000 characters
	many := make([]bot.Choice, 120)
	for i := range many {
		many[i] = bot.Choice{Label: strings.Repeat("長", 80) + string(rune('A'+i%26)), Action: "need.view", Value: string(rune('a' + i%26))}
	}
	tests := []struct {
		name     string
		reply    bot.Reply
		sections int
		actions  []int // buttons per actions block
		joined   string
	}{{
		name: "10,000-character text", reply: bot.Reply{Text: long}, sections: 4, joined: long,
	}, {
		name: "ampersands never cut inside an entity", reply: bot.Reply{Text: strings.Repeat("&", 1000)}, sections: 2,
		joined: strings.Repeat("&amp;", 1000),
	}, {
		name: "emoji count twice", reply: bot.Reply{Text: strings.Repeat("🎌", 2000)}, sections: 2, joined: strings.Repeat("🎌", 2000),
	}, {
		name: "120 choices", reply: bot.Reply{Text: "候補", Choices: many}, sections: 1, actions: []int{25, 25, 25, 25, 20}, joined: "候補",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks := kslack.Render(tt.reply)
			var joined strings.Builder
			var sections int
			var actions []int
			ids := map[string]bool{}
			for _, b := range blocks {
				switch b := b.(type) {
				case *slack.SectionBlock:
					sections++
					if n := utf16Len(b.Text.Text); n > 3000 {
						t.Errorf("section of %d units", n)
					}
					joined.WriteString(b.Text.Text)
				case *slack.ActionBlock:
					actions = append(actions, len(b.Elements.ElementSet))
					for _, el := range b.Elements.ElementSet {
						btn := el.(*slack.ButtonBlockElement)
						if n := utf16Len(btn.Text.Text); n > 75 {
							t.Errorf("button text of %d characters", n)
						}
						if ids[btn.ActionID] {
							t.Errorf("duplicate action_id %q", btn.ActionID)
						}
						ids[btn.ActionID] = true
					}
				}
			}
			if sections != tt.sections {
				t.Errorf("%d sections, want %d", sections, tt.sections)
			}
			if diff := cmp.Diff(tt.actions, actions); diff != "" {
				t.Errorf("buttons per actions block (-want +got):\n%s", diff)
			}
			want := tt.joined
			if !strings.Contains(want, "&amp;") {
				want = kslack.Escape(want)
			}
			if joined.String() != want {
				t.Errorf("text not preserved across sections (%d vs %d bytes)", joined.Len(), len(want))
			}
		})
	}
}

func TestRenderFields(t *testing.T) {
	var fields []bot.Field
	for i := range 12 {
		fields = append(fields, bot.Field{Label: "項目" + string(rune('A'+i)), Value: "値"})
	}
	blocks := kslack.Render(bot.Reply{Fields: fields})
	if len(blocks) != 2 || len(blocks[0].(*slack.SectionBlock).Fields) != 10 || len(blocks[1].(*slack.SectionBlock).Fields) != 2 {
		t.Fatalf("12 fields: %v", texts(blocks))
	}
	// A value too long for a field turns the card into a compact list.
	blocks = kslack.Render(bot.Reply{Fields: []bot.Field{{Label: "件名", Value: "予約"}, {Label: "内容", Value: strings.Repeat("あ", 2500)}}})
	got := texts(blocks)
	if len(got) != 1 || !strings.HasPrefix(got[0], "*件名*: 予約\n*内容*: あ") || len(blocks[0].(*slack.SectionBlock).Fields) != 0 {
		t.Fatalf("compact list: %d blocks", len(blocks))
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

func TestSendSplitsMessages(t *testing.T) {
	many := make([]bot.Choice, 1300)
	for i := range many {
		many[i] = bot.Choice{Label: "候補", Action: "c", Value: string(rune('a' + i%26))}
	}
	tests := []struct {
		name     string
		reply    bot.Reply
		messages int
	}{
		{"10,000 characters fit one message", bot.Reply{Text: strings.Repeat("あ", 10000)}, 1},
		{"30,000 characters", bot.Reply{Text: strings.Repeat("あ", 30000)}, 3},
		{"1,300 choices", bot.Reply{Text: "候補", Choices: many}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.a.Send(context.Background(), bot.Delivery{Channel: "C1", Replies: []bot.Reply{tt.reply}}); err != nil {
				t.Fatal(err)
			}
			posts := e.api.callsTo("chat.postMessage")
			if len(posts) != tt.messages {
				t.Fatalf("%d messages, want %d", len(posts), tt.messages)
			}
			buttons := 0
			for _, p := range posts {
				blocks := postedBlocks(t, p)
				if len(blocks) > 50 {
					t.Errorf("message with %d blocks", len(blocks))
				}
				for _, b := range blocks {
					if ab, ok := b.(*slack.ActionBlock); ok {
						buttons += len(ab.Elements.ElementSet)
					}
				}
				if p.Params.Get("unfurl_links") != "false" {
					t.Errorf("links must not unfurl")
				}
			}
			if buttons != len(tt.reply.Choices) {
				t.Errorf("%d buttons posted, want %d", buttons, len(tt.reply.Choices))
			}
		})
	}
}

func TestSendOpensDM(t *testing.T) {
	e := newEnv(t)
	for range 2 {
		if err := e.a.Send(context.Background(), bot.Delivery{Tenant: testTenant, UserID: "U222", Replies: []bot.Reply{bot.Text("こんにちは")}}); err != nil {
			t.Fatal(err)
		}
	}
	opens := e.api.callsTo("conversations.open")
	if len(opens) != 1 || opens[0].Params.Get("users") != "U222" {
		t.Fatalf("conversations.open calls: %+v", opens)
	}
	for _, p := range e.api.callsTo("chat.postMessage") {
		if p.Params.Get("channel") != "DU222" {
			t.Errorf("posted to %q", p.Params.Get("channel"))
		}
	}
	err := e.a.Send(context.Background(), bot.Delivery{Replies: []bot.Reply{bot.Text("x")}})
	if !errors.Is(err, bot.ErrPermanent) {
		t.Fatalf("no channel and no user: %v", err)
	}
}

func TestSendAttachments(t *testing.T) {
	e := newEnv(t)
	ics := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
	png := []byte("\x89PNG\r\n\x1a\nfake")
	d := bot.Delivery{Channel: "C1", Replies: []bot.Reply{{
		Text: "面談が確定しました",
		Attachments: []bot.Attachment{
			{Name: "meeting.ics", ContentType: "text/calendar", Data: ics},
			{Name: "../needs.png", ContentType: "image/png", Alt: "状態別ニーズ数の推移", Data: png},
		},
	}}}
	if err := e.a.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	type upload struct{ Name, Length, Alt, Content, Channel, Files string }
	var got []upload
	gets, ups, completes := e.api.callsTo("files.getUploadURLExternal"), e.api.callsTo("upload"), e.api.callsTo("files.completeUploadExternal")
	if len(gets) != 2 || len(ups) != 2 || len(completes) != 2 {
		t.Fatalf("upload calls: %d %d %d", len(gets), len(ups), len(completes))
	}
	for i := range gets {
		got = append(got, upload{
			Name: gets[i].Params.Get("filename"), Length: gets[i].Params.Get("length"), Alt: gets[i].Params.Get("alt_txt"),
			Content: string(ups[i].File), Channel: completes[i].Params.Get("channel_id"), Files: completes[i].Params.Get("files"),
		})
	}
	want := []upload{
		{Name: "meeting.ics", Length: "45", Content: string(ics), Channel: "C1", Files: `[{"id":"F123","title":"meeting.ics"}]`},
		{Name: "needs.png", Length: "12", Alt: "状態別ニーズ数の推移", Content: string(png), Channel: "C1", Files: `[{"id":"F123","title":"needs.png"}]`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("uploads (-want +got):\n%s", diff)
	}
	if n := len(e.api.callsTo("chat.postMessage")); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestSendRateLimit(t *testing.T) {
	// Long enough that a busy CI machine's scheduling delays stay well inside it.
	const interval = 400 * time.Millisecond
	e := newEnv(t, func(c *kslack.Config, _ *kslack.Deps) { c.PostInterval = interval })
	ctx := context.Background()
	// Three messages go out at once (Slack's burst), the next two one interval apart each.
	five := bot.Delivery{Channel: "C1", Replies: []bot.Reply{bot.Text("1"), bot.Text("2"), bot.Text("3"), bot.Text("4"), bot.Text("5")}}
	var wg sync.WaitGroup
	wg.Add(1)
	var otherTook time.Duration
	go func() {
		defer wg.Done()
		time.Sleep(20 * time.Millisecond)
		start := time.Now()
		if err := e.a.Send(ctx, bot.Delivery{Channel: "C2", Replies: []bot.Reply{bot.Text("other")}}); err != nil {
			t.Error(err)
		}
		otherTook = time.Since(start)
	}()
	begin := time.Now()
	if err := e.a.Send(ctx, five); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var times []time.Time
	for _, p := range e.api.callsTo("chat.postMessage") {
		if p.Params.Get("channel") == "C1" {
			times = append(times, p.At)
		}
	}
	if len(times) != 5 {
		t.Fatalf("%d posts to C1", len(times))
	}
	// Post k may not go out before its slot, begin + (k-2)×interval after the burst of three
	// (a late post on a busy machine may shorten one gap, but never moves a later post before its slot).
	const burst = 3
	for i := burst; i < len(times); i++ {
		slot := time.Duration(i-burst+1) * interval
		if at := times[i].Sub(begin); at < slot-30*time.Millisecond {
			t.Errorf("post %d went out %v after the first send, before its slot at %v", i, at, slot)
		}
	}
	if at := times[burst-1].Sub(begin); at > interval {
		t.Errorf("post %d of the burst waited %v", burst-1, at)
	}
	if otherTook > interval {
		t.Errorf("another channel waited %v", otherTook)
	}
	// Waiting for a slot gives up with the context.
	e2 := newEnv(t, func(c *kslack.Config, _ *kslack.Deps) { c.PostInterval = time.Hour })
	if err := e2.a.Send(ctx, bot.Delivery{Channel: "C1", Replies: []bot.Reply{bot.Text("1"), bot.Text("2"), bot.Text("3")}}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e2.a.Send(cctx, bot.Delivery{Channel: "C1", Replies: []bot.Reply{bot.Text("4")}})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("Send = %v after %v", err, time.Since(start))
	}
}

func TestSend429(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		want       time.Duration
	}{
		{"Retry-After header", "1", time.Second},
		{"no Retry-After (workspace limit)", "", 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.api.retryAfter = tt.retryAfter
			e.api.throttle = func(method string, n int) bool { return method == "chat.postMessage" && n == 2 }
			d := bot.Delivery{Channel: "C1", Key: "delivery-1", Replies: []bot.Reply{bot.Text("一通目"), bot.Text("二通目")}}
			err := e.a.Send(context.Background(), d)
			var ra *bot.RetryAfterError
			if !errors.As(err, &ra) || ra.After != tt.want {
				t.Fatalf("Send = %v, want *bot.RetryAfterError after %v", err, tt.want)
			}
			if errors.Is(err, bot.ErrPermanent) {
				t.Fatal("429 is not permanent")
			}
			if tt.want > 5*time.Second {
				return
			}
			// The outbox retries the same delivery: the first message is not posted twice,
			// and the channel stays quiet for Retry-After.
			start := time.Now()
			if err := e.a.Send(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited < 900*time.Millisecond {
				t.Errorf("retried after %v, before Retry-After", waited)
			}
			var got []string
			for _, p := range e.api.callsTo("chat.postMessage") {
				got = append(got, p.Params.Get("text"))
			}
			if diff := cmp.Diff([]string{"一通目", "二通目"}, got); diff != "" {
				t.Fatalf("posted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendPermanentErrors(t *testing.T) {
	tests := []struct {
		code      string
		permanent bool
	}{
		{"channel_not_found", true},
		{"not_in_channel", true},
		{"is_archived", true},
		{"internal_error", false},
	}
	for _, tt := range tests {
		e := newEnv(t)
		e.api.channelErrors["CX"] = tt.code
		err := e.a.Send(context.Background(), bot.Delivery{Channel: "CX", Replies: []bot.Reply{bot.Text("x")}})
		if err == nil || errors.Is(err, bot.ErrPermanent) != tt.permanent {
			t.Errorf("%s: Send = %v, permanent %v", tt.code, err, tt.permanent)
		}
		if !strings.Contains(err.Error(), tt.code) {
			t.Errorf("%s: error %q does not name the code", tt.code, err)
		}
	}
}

func TestPostedBlocksAreValidJSON(t *testing.T) {
	// What we post decodes back into the same blocks with slack-go's own types.
	e := newEnv(t)
	r := bot.Reply{Text: "確認", Fields: []bot.Field{{Label: "件名", Value: "RPA"}}, Choices: []bot.Choice{{Label: "登録", Action: "ok", Value: "1"}}}
	if err := e.a.Send(context.Background(), bot.Delivery{Channel: "C1", Replies: []bot.Reply{r}}); err != nil {
		t.Fatal(err)
	}
	posts := e.api.callsTo("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	want, _ := json.Marshal(slack.Blocks{BlockSet: kslack.Render(r)})
	got, _ := json.Marshal(slack.Blocks{BlockSet: postedBlocks(t, posts[0])})
	if string(want) != string(got) {
		t.Fatalf("posted blocks differ:\nwant %s\ngot  %s", want, got)
	}
}
