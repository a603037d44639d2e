package lineworks_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

func delivery(replies ...bot.Reply) bot.Delivery {
	return bot.Delivery{Tenant: testTenant, UserID: "taro@city.example.jp", Replies: replies}
}

func TestSendText(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.a.Send(context.Background(), delivery(bot.Text("こんにちは"))); err != nil {
		t.Fatal(err)
	}
	want := []apiCall{{
		Method: "POST", Path: "/bots/" + testBotID + "/users/taro@city.example.jp/messages", Auth: "Bearer tok-1",
		Content: map[string]any{"type": "text", "text": "こんにちは"}, Status: 201,
	}}
	if diff := cmp.Diff(want, e.api.recorded()); diff != "" {
		t.Errorf("API calls (-want +got):\n%s", diff)
	}
}

func TestSendToChannelAndEscapesPath(t *testing.T) {
	e := newEnv(t, nil)
	d := delivery(bot.Text("DXチームへ"))
	d.Channel = "ch/1 2"
	if err := e.a.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := e.api.recorded()[0].Path; got != "/bots/"+testBotID+"/channels/ch%2F1%202/messages" {
		t.Errorf("path %q", got)
	}
}

func TestSendSeveralRepliesInOrder(t *testing.T) {
	e := newEnv(t, nil)
	d := delivery(
		bot.Reply{Text: "一つ目", Choices: []bot.Choice{{Label: "A", Action: "a"}}},
		bot.Reply{Text: "二つ目", Choices: []bot.Choice{{Label: "B", Action: "b"}}},
	)
	if err := e.a.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	sent := e.api.sent()
	if len(sent) != 2 {
		t.Fatalf("sent %d messages, want 2", len(sent))
	}
	// Quick replies of the first reply would vanish under the second: it gets buttons.
	if sent[0]["type"] != "button_template" || sent[0]["contentText"] != "一つ目" {
		t.Errorf("first message %v, want a button_template", sent[0])
	}
	if sent[1]["type"] != "text" || sent[1]["quickReply"] == nil {
		t.Errorf("second message %v, want text with quick replies", sent[1])
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name          string
		answer        response
		wantPermanent bool
	}{
		{"bad request", response{status: 400, body: `{"code":"INVALID_PARAMETER","description":"x"}`}, true},
		{"forbidden", response{status: 403}, true},
		{"unknown user", response{status: 404}, true},
		{"server error", response{status: 500}, false},
		{"unavailable", response{status: 503}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.api.then(tt.answer)
			err := e.a.Send(context.Background(), delivery(bot.Text("x")))
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, bot.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.wantPermanent, err)
			}
			var ra *bot.RetryAfterError
			if errors.As(err, &ra) {
				t.Errorf("unexpected RetryAfterError: %v", err)
			}
		})
	}
	e := newEnv(t, nil)
	if err := e.a.Send(context.Background(), bot.Delivery{Replies: []bot.Reply{bot.Text("x")}}); !errors.Is(err, bot.ErrPermanent) {
		t.Errorf("delivery without recipient: %v, want ErrPermanent", err)
	}
}

func TestSend429(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"Retry-After seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"Retry-After date", map[string]string{"Retry-After": time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}, 90 * time.Second},
		{"no Retry-After: backoff", nil, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.api.then(response{status: 429, header: tt.header, body: `{"code":"TOO_MANY_REQUESTS","description":"API rate limit exceeded"}`})
			err := e.a.Send(context.Background(), delivery(bot.Text("x")))
			var ra *bot.RetryAfterError
			if !errors.As(err, &ra) {
				t.Fatalf("err = %v, want *bot.RetryAfterError", err)
			}
			if _, direct := err.(*bot.RetryAfterError); !direct {
				t.Errorf("RetryAfterError is wrapped (%T); the outbox may check the type directly", err)
			}
			if d := ra.After - tt.want; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("After = %v, want about %v", ra.After, tt.want)
			}
			if errors.Is(err, bot.ErrPermanent) {
				t.Error("429 marked permanent")
			}
		})
	}
}

// TestSend429ThenResume: a 429 halfway through a delivery; the retry with the same key
// waits out Retry-After and sends only what had not gone out.
func TestSend429ThenResume(t *testing.T) {
	e := newEnv(t, nil)
	d := delivery(bot.Text("一"), bot.Text("二"), bot.Text("三"))
	d.Key = "delivery-42"
	e.api.then(response{status: 201}, response{status: 429, header: map[string]string{"Retry-After": "1"}})
	err := e.a.Send(context.Background(), d)
	var ra *bot.RetryAfterError
	if !errors.As(err, &ra) {
		t.Fatalf("first Send: %v, want RetryAfterError", err)
	}
	start := time.Now()
	if err := e.a.Send(context.Background(), d); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("retry went out after %v, before Retry-After", waited)
	}
	var texts []any
	for _, c := range e.api.sent() {
		texts = append(texts, c["text"])
	}
	if diff := cmp.Diff([]any{"一", "二", "三"}, texts); diff != "" {
		t.Errorf("accepted messages (-want +got):\n%s", diff)
	}
	// A further retry of a finished delivery sends nothing.
	if err := e.a.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if n := len(e.api.sent()); n != 3 {
		t.Errorf("%d messages after re-sending a finished delivery, want 3", n)
	}
}

func TestTokenCachedAndRefreshed(t *testing.T) {
	e := newEnv(t, nil)
	e.auth.lifetime = 600 // renewed 5 minutes early: after 300 s
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := e.a.Send(ctx, delivery(bot.Text("x"))); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.auth.count(); n != 1 {
		t.Errorf("%d token requests for 3 sends, want 1 (cached)", n)
	}
	e.clock.Advance(299 * time.Second)
	if err := e.a.Send(ctx, delivery(bot.Text("x"))); err != nil {
		t.Fatal(err)
	}
	if n := e.auth.count(); n != 1 {
		t.Errorf("token renewed %d s before expiry, want renewal only within the last 5 minutes", 600-299)
	}
	e.clock.Advance(2 * time.Second)
	if err := e.a.Send(ctx, delivery(bot.Text("x"))); err != nil {
		t.Fatal(err)
	}
	calls := e.api.recorded()
	if n := e.auth.count(); n != 2 || calls[len(calls)-1].Auth != "Bearer tok-2" {
		t.Errorf("after 301 s: %d token requests, last auth %q; want a fresh tok-2", n, calls[len(calls)-1].Auth)
	}
}

func TestTokenShortLifetime(t *testing.T) {
	e := newEnv(t, nil)
	e.auth.lifetime = 60 // shorter than the 5-minute margin: renewed at half-life
	ctx := context.Background()
	for _, step := range []struct {
		advance time.Duration
		want    int
	}{{0, 1}, {29 * time.Second, 1}, {2 * time.Second, 2}} {
		e.clock.Advance(step.advance)
		if err := e.a.Send(ctx, delivery(bot.Text("x"))); err != nil {
			t.Fatal(err)
		}
		if n := e.auth.count(); n != step.want {
			t.Errorf("after +%v: %d token requests, want %d", step.advance, n, step.want)
		}
	}
}

func TestTokenSingleflight(t *testing.T) {
	e := newEnv(t, nil)
	e.auth.delay = 100 * time.Millisecond
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.a.Send(context.Background(), delivery(bot.Text("x")))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.auth.count(); n != 1 {
		t.Errorf("%d token requests for 20 concurrent sends, want 1", n)
	}
}

func TestTokenRefreshOn401(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.a.Send(ctx, delivery(bot.Text("1"))); err != nil {
		t.Fatal(err)
	}
	e.api.revoke("tok-1") // revoked server-side before its expiry
	if err := e.a.Send(ctx, delivery(bot.Text("2"))); err != nil {
		t.Fatalf("send after revocation: %v", err)
	}
	var auths []string
	var statuses []int
	for _, c := range e.api.recorded() {
		auths, statuses = append(auths, c.Auth), append(statuses, c.Status)
	}
	if diff := cmp.Diff([]string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2"}, auths); diff != "" {
		t.Errorf("tokens used (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{201, 401, 201}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestPersistent401IsNotRetriedForever(t *testing.T) {
	e := newEnv(t, nil)
	e.api.then(response{status: 401}, response{status: 401}, response{status: 401})
	err := e.a.Send(context.Background(), delivery(bot.Text("x")))
	if err == nil || errors.Is(err, bot.ErrPermanent) {
		t.Fatalf("err = %v; want a retryable error (credentials are the operator's to fix)", err)
	}
	if n := len(e.api.recorded()); n != 2 {
		t.Errorf("%d API calls, want 2 (one refresh)", n)
	}
}

func TestAuthServerFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.auth.status, e.auth.body = 400, `{"error":"invalid_client","error_description":"client_secret `+testClientSecret+` is wrong"}`
	err := e.a.Send(context.Background(), delivery(bot.Text("x")))
	if err == nil {
		t.Fatal("no error")
	}
	if errors.Is(err, bot.ErrPermanent) {
		t.Error("auth failure marked permanent; queued messages would be dropped")
	}
	if got := err.Error(); !bytes.Contains([]byte(got), []byte("invalid_client")) || bytes.Contains([]byte(got), []byte(testClientSecret)) {
		t.Errorf("error %q: want the error code, never the description or secret", got)
	}
	if n := len(e.api.recorded()); n != 0 {
		t.Errorf("%d API calls without a token", n)
	}
}

func TestSendUploadsAttachments(t *testing.T) {
	e := newEnv(t, nil)
	png := []byte("\x89PNG\r\n\x1a\nfake")
	ics := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	d := delivery(bot.Reply{Text: "面談が確定しました", Attachments: []bot.Attachment{
		{Name: "chart.png", ContentType: "image/png", Data: png},
		{Name: "面談.ics", ContentType: "text/calendar", Data: ics, URL: "https://kakehashi.example.jp/f/1.ics"},
	}})
	if err := e.a.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	calls := e.api.recorded()
	var paths []string
	for _, c := range calls {
		paths = append(paths, c.Path)
	}
	att, msgs := "/bots/"+testBotID+"/attachments", "/bots/"+testBotID+"/users/taro@city.example.jp/messages"
	wantPaths := []string{att, "/upload/1", att, "/upload/3", msgs, msgs, msgs}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
	if c := calls[1]; c.UploadName != "chart.png" || c.UploadType != "image/png" || !bytes.Equal(c.UploadData, png) || c.Auth != "Bearer tok-1" {
		t.Errorf("PNG upload: %q %q %q auth %q", c.UploadName, c.UploadType, c.UploadData, c.Auth)
	}
	if c := calls[3]; c.UploadName != "面談.ics" || c.UploadType != "text/calendar" || !bytes.Equal(c.UploadData, ics) {
		t.Errorf("ICS upload: %q %q %q", c.UploadName, c.UploadType, c.UploadData)
	}
	want := []map[string]any{
		{"type": "text", "text": "面談が確定しました"},
		{"type": "image", "fileId": "file-1"},
		{"type": "file", "fileId": "file-3"},
	}
	if diff := cmp.Diff(want, e.api.sent()); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestSendUploadRefusedFallsBack(t *testing.T) {
	e := newEnv(t, nil)
	e.api.then(response{status: 403, body: `{"code":"FORBIDDEN"}`}, response{status: 403})
	d := delivery(bot.Reply{Attachments: []bot.Attachment{
		{Name: "chart.png", ContentType: "image/png", Data: []byte("png"), URL: "https://kakehashi.example.jp/f/chart.png"},
		{Name: "invite.ics", ContentType: "text/calendar", Data: []byte("ics")},
	}})
	if err := e.a.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"type": "image", "previewImageUrl": "https://kakehashi.example.jp/f/chart.png", "originalContentUrl": "https://kakehashi.example.jp/f/chart.png"},
		{"type": "text", "text": "📎 invite.ics"},
	}
	if diff := cmp.Diff(want, e.api.sent()); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestSendUploadFailureSendsNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.api.then(response{status: 503})
	d := delivery(bot.Reply{Text: "ダイジェスト", Attachments: []bot.Attachment{{Name: "c.png", ContentType: "image/png", Data: []byte("png")}}})
	err := e.a.Send(context.Background(), d)
	if err == nil || errors.Is(err, bot.ErrPermanent) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if n := len(e.api.sent()); n != 0 {
		t.Errorf("%d messages sent before the upload failed; want none (no half deliveries)", n)
	}
}

func TestRateLimitPerTenant(t *testing.T) {
	e := newEnv(t, func(c *lineworks.Config) { c.Rate, c.Burst = 20, 1 })
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 5; i++ {
		if err := e.a.Send(ctx, delivery(bot.Text("x"))); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 180*time.Millisecond {
		t.Errorf("5 sends at 20/s with burst 1 took %v, want at least 200ms", el)
	}
}

func TestRateLimitTenantsIndependent(t *testing.T) {
	e := newEnv(t, func(c *lineworks.Config) { c.Rate, c.Burst = 2, 1 })
	ctx := context.Background()
	if err := e.a.Send(ctx, delivery(bot.Text("a1"))); err != nil {
		t.Fatal(err)
	}
	// The demo tenant's next send waits half a second for its bucket...
	done := make(chan error, 1)
	go func() { done <- e.a.Send(ctx, delivery(bot.Text("a2"))) }()
	// ...while another municipality is not queued behind it.
	other := delivery(bot.Text("b1"))
	other.Tenant = "other"
	start := time.Now()
	if err := e.a.Send(ctx, other); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 300*time.Millisecond {
		t.Errorf("another tenant's send took %v: tenants share a bucket", el)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	e := newEnv(t, func(c *lineworks.Config) { c.Rate, c.Burst = 0.01, 1 })
	if err := e.a.Send(context.Background(), delivery(bot.Text("x"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.a.Send(ctx, delivery(bot.Text("y")))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("waited %v despite the deadline", el)
	}
	if n := len(e.api.recorded()); n != 1 {
		t.Errorf("%d API calls, want 1", n)
	}
}
