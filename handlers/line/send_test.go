package line_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kakehashi/kakehashi/bot"
)

const (
	replyPath = "/v2/bot/message/reply"
	pushPath  = "/v2/bot/message/push"
)

// sevenMessages renders to 3 texts + 1 card + 1 image + 1 ICS text + 1 choice list = 7 messages.
var sevenMessages = bot.Reply{
	Text:        strings.Repeat("あ", 12000),
	Fields:      []bot.Field{{Label: "件名", Value: "窓口予約のオンライン化"}},
	Kind:        "need_card",
	Attachments: []bot.Attachment{{Name: "chart.png", ContentType: "image/png", URL: "https://files.example.jp/chart.png"}, {Name: "invite.ics", ContentType: "text/calendar", URL: "https://files.example.jp/invite.ics"}},
	Choices:     manyChoices(20),
}

func manyChoices(n int) []bot.Choice {
	cs := make([]bot.Choice, n)
	for i := range cs {
		cs[i] = bot.Choice{Label: fmt.Sprintf("選択肢 %d", i+1), Action: "pick", Value: fmt.Sprint(i + 1)}
	}
	return cs
}

// want describes the calls and the error class of one Send.
type sendWant struct {
	paths   []string
	sizes   []int // messages per call
	errKind string
	after   time.Duration
}

func errKind(err error) (string, time.Duration) {
	var ra *bot.RetryAfterError
	switch {
	case err == nil:
		return "", 0
	case errors.As(err, &ra):
		return "retry-after", ra.After
	case errors.Is(err, bot.ErrPermanent):
		return "permanent", 0
	default:
		return "retry", 0
	}
}

func TestSend(t *testing.T) {
	fresh, stale := testNow.Add(-10*time.Second), testNow.Add(-60*time.Second)
	hello := []bot.Reply{bot.Text("こんにちは")}
	tests := []struct {
		name   string
		d      bot.Delivery
		script []response
		want   sendWant
	}{
		{"fresh reply token replies",
			bot.Delivery{UserID: "U1", ReplyToken: "rt", ReplyTokenAt: fresh, Replies: hello, Key: "k"}, nil,
			sendWant{paths: []string{replyPath}, sizes: []int{1}}},
		{"stale reply token pushes",
			bot.Delivery{UserID: "U1", ReplyToken: "rt", ReplyTokenAt: stale, Replies: hello, Key: "k"}, nil,
			sendWant{paths: []string{pushPath}, sizes: []int{1}}},
		{"reply token without an issue time pushes",
			bot.Delivery{UserID: "U1", ReplyToken: "rt", Replies: hello, Key: "k"}, nil,
			sendWant{paths: []string{pushPath}, sizes: []int{1}}},
		{"invalid reply token falls back to push",
			bot.Delivery{UserID: "U1", ReplyToken: "rt", ReplyTokenAt: fresh, Replies: hello, Key: "k"},
			[]response{{status: 400, message: "Invalid reply token"}},
			sendWant{paths: []string{replyPath, pushPath}, sizes: []int{1, 1}}},
		{"another 400 on reply is permanent",
			bot.Delivery{UserID: "U1", ReplyToken: "rt", ReplyTokenAt: fresh, Replies: hello, Key: "k"},
			[]response{{status: 400, message: "The request body has 1 error(s)"}},
			sendWant{paths: []string{replyPath}, sizes: []int{1}, errKind: "permanent"}},
		{"more than five messages push in batches even with a fresh token",
			bot.Delivery{UserID: "U1", ReplyToken: "rt", ReplyTokenAt: fresh, Replies: []bot.Reply{sevenMessages}, Key: "k"}, nil,
			sendWant{paths: []string{pushPath, pushPath}, sizes: []int{5, 2}}},
		{"replies of one delivery share the batches",
			bot.Delivery{UserID: "U1", Replies: []bot.Reply{bot.Text("1"), bot.Text("2"), bot.Text("3"), bot.Text("4"), bot.Text("5"), bot.Text("6")}, Key: "k"}, nil,
			sendWant{paths: []string{pushPath, pushPath}, sizes: []int{5, 1}}},
		{"409 on a retried key counts as delivered",
			bot.Delivery{UserID: "U1", Replies: hello, Key: "k"},
			[]response{{status: 409, message: "The retry key is already accepted"}},
			sendWant{paths: []string{pushPath}, sizes: []int{1}}},
		{"429 with Retry-After",
			bot.Delivery{UserID: "U1", Replies: hello, Key: "k"},
			[]response{{status: 429, retryAfter: "7", message: "Too many requests"}},
			sendWant{paths: []string{pushPath}, sizes: []int{1}, errKind: "retry-after", after: 7 * time.Second}},
		{"429 with Retry-After as an HTTP date",
			bot.Delivery{UserID: "U1", Replies: hello, Key: "k"},
			[]response{{status: 429, retryAfter: "Fri, 20 Nov 2026 10:00:30 GMT", message: "Too many requests"}},
			sendWant{paths: []string{pushPath}, sizes: []int{1}, errKind: "retry-after", after: 30 * time.Second}},
		{"429 without Retry-After backs off",
			bot.Delivery{UserID: "U1", Replies: hello, Key: "k"},
			[]response{{status: 429, message: "Too many requests"}},
			sendWant{paths: []string{pushPath}, sizes: []int{1}, errKind: "retry-after", after: 10 * time.Second}},
		{"429 for the monthly quota waits long",
			bot.Delivery{UserID: "U1", Replies: hello, Key: "k"},
			[]response{{status: 429, message: "You have reached your monthly limit."}},
			sendWant{paths: []string{pushPath}, sizes: []int{1}, errKind: "retry-after", after: time.Hour}},
		{"429 on reply",
			bot.Delivery{UserID: "U1", ReplyToken: "rt", ReplyTokenAt: fresh, Replies: hello, Key: "k"},
			[]response{{status: 429, retryAfter: "3", message: "Too many requests"}},
			sendWant{paths: []string{replyPath}, sizes: []int{1}, errKind: "retry-after", after: 3 * time.Second}},
		{"500 is retried as is",
			bot.Delivery{UserID: "U1", Replies: hello, Key: "k"},
			[]response{{status: 500, message: "Internal error"}},
			sendWant{paths: []string{pushPath}, sizes: []int{1}, errKind: "retry"}},
		{"401 bad token is permanent",
			bot.Delivery{UserID: "U1", Replies: hello, Key: "k"},
			[]response{{status: 401, message: "Authentication failed"}},
			sendWant{paths: []string{pushPath}, sizes: []int{1}, errKind: "permanent"}},
		{"no recipient is permanent, nothing sent",
			bot.Delivery{Replies: hello, Key: "k"}, nil,
			sendWant{errKind: "permanent"}},
		{"nothing to say sends nothing",
			bot.Delivery{UserID: "U1", Replies: []bot.Reply{{}}, Key: "k"}, nil,
			sendWant{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeLINE(t, tt.script...)
			h := newHarness(t, api.srv.URL)
			err := h.adapter.Send(context.Background(), tt.d)
			kind, after := errKind(err)
			got := sendWant{errKind: kind, after: after}
			for _, c := range api.got() {
				got.paths = append(got.paths, c.Path)
				got.sizes = append(got.sizes, len(c.messages()))
				if c.Auth != "Bearer "+testToken {
					t.Errorf("%s: Authorization = %q", c.Path, c.Auth)
				}
				switch c.Path {
				case replyPath:
					if c.Body["replyToken"] != "rt" || c.HasKey && c.RetryKey != "" {
						t.Errorf("reply: token %v, retry key %q", c.Body["replyToken"], c.RetryKey)
					}
				case pushPath:
					if c.Body["to"] != "U1" {
						t.Errorf("push to %v, want U1", c.Body["to"])
					}
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(sendWant{})); diff != "" {
				t.Errorf("Send (-want +got):\n%s\nerr: %v", diff, err)
			}
			if strings.Contains(h.logs.String(), "こんにちは") || strings.Contains(h.logs.String(), "U1\"") {
				t.Errorf("logs contain message text or user ID:\n%s", h.logs.String())
			}
		})
	}
}

func TestSendToGroupChannel(t *testing.T) {
	api := newFakeLINE(t)
	h := newHarness(t, api.srv.URL)
	if err := h.adapter.Send(context.Background(), bot.Delivery{UserID: "U1", Channel: "C0123", Replies: []bot.Reply{bot.Text("x")}, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if calls := api.got(); len(calls) != 1 || calls[0].Body["to"] != "C0123" {
		t.Errorf("calls = %+v, want one push to the channel", calls)
	}
}

// TestSendRetryKeys plays an outbox retrying a delivery whose second batch failed, against a
// fake that executes each retry key once like LINE: every message arrives exactly once.
func TestSendRetryKeys(t *testing.T) {
	api := newFakeLINE(t, response{}, response{status: 503, message: "Service unavailable"})
	api.retryKeys = true
	h := newHarness(t, api.srv.URL)
	d := bot.Delivery{UserID: "U1", Replies: []bot.Reply{sevenMessages}, Key: "outbox:42"}

	err := h.adapter.Send(context.Background(), d)
	if kind, _ := errKind(err); kind != "retry" {
		t.Fatalf("first attempt: err = %v, want a retryable error", err)
	}
	if err := h.adapter.Send(context.Background(), d); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if err := h.adapter.Send(context.Background(), d); err != nil {
		t.Fatalf("third attempt (all batches answered 409): %v", err)
	}

	var keys []string
	delivered := 0
	for _, c := range api.got() {
		keys = append(keys, c.RetryKey)
	}
	// Keys are UUIDv5(URL namespace, "urn:kakehashi:line-retry:outbox:42#<batch>"), computed
	// with Python's uuid.uuid5 as an independent reference.
	k0, k1 := "9c1c5635-a8be-52f2-9507-c839ddc9cc91", "270dcecf-656e-569e-abe7-2d50bc30b716"
	if diff := cmp.Diff([]string{k0, k1, k0, k1, k0, k1}, keys); diff != "" {
		t.Errorf("retry keys across attempts (-want +got):\n%s", diff)
	}
	api.mu.Lock()
	for k := range api.accepted {
		if k == k0 || k == k1 {
			delivered++
		}
	}
	api.mu.Unlock()
	if delivered != 2 {
		t.Errorf("%d batches executed, want 2", delivered)
	}
}

func TestSendHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select { // LINE hangs
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for the handler
	h := newHarness(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := h.adapter.Send(ctx, bot.Delivery{UserID: "U1", Replies: []bot.Reply{bot.Text("x")}, Key: "k"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
	if kind, _ := errKind(err); kind != "retry" {
		t.Errorf("a timeout must stay retryable, got %s", kind)
	}
}
