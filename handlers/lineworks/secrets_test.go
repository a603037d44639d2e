package lineworks_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

// TestNoSecretsInLogsOrErrors drives every failure path that logs or returns an error
// and checks that neither the key, the secrets, the JWT assertions, the access tokens
// nor the recipient's address show up.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var errs []error
	send := func(d bot.Delivery) {
		if err := e.a.Send(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	send(delivery(bot.Text("ok")))
	// A server that echoes the request in its error description.
	e.api.then(response{status: 400, body: `{"code":"INVALID","description":"Bearer tok-1 taro@city.example.jp"}`})
	send(delivery(bot.Text("x")))
	e.api.then(response{status: 401}, response{status: 401})
	send(delivery(bot.Text("x")))
	e.api.then(response{status: 403, body: `{"code":"FORBIDDEN","description":"tok-2"}`})
	send(delivery(bot.Reply{Attachments: []bot.Attachment{{Name: "c.png", ContentType: "image/png", Data: []byte("png")}}}))
	e.api.then(response{status: 429, body: `{"code":"TOO_MANY_REQUESTS","description":"tok-2"}`})
	throttled := delivery(bot.Text("x"))
	throttled.Tenant = "busy" // its pause must not slow the rest of this test
	send(throttled)
	e.post(fixture(t, "ruby-sdk_text_message.json"), map[string]string{"X-WORKS-Signature": sign("guess", []byte("x"))})
	e.disp.err = bot.Errorf(bot.EUNAVAILABLE, "store down")
	e.post(fixture(t, "ruby-sdk_text_message.json"), nil)

	// The auth server fails, echoing the secret.
	e.auth.status, e.auth.body = 401, `{"error":"invalid_client","error_description":"`+testClientSecret+`"}`
	e.clock.Advance(24 * 60 * 60 * 1e9)
	send(delivery(bot.Text("x")))

	// Network failure: transport errors carry the URL, which holds the user's address.
	dead := httptest.NewServer(nil)
	deadURL := dead.URL
	dead.Close()
	e2 := newEnv(t, func(c *lineworks.Config) { c.APIURL = deadURL })
	if err := e2.a.Send(ctx, delivery(bot.Text("x"))); err != nil {
		errs = append(errs, err)
	} else {
		t.Error("send to a closed server succeeded")
	}
	if len(errs) != 5 { // the refused upload falls back to text without an error
		t.Errorf("%d errors, want 5: %v", len(errs), errs)
	}

	forbidden := append(secretsOf(t), "taro@city.example.jp", "Bearer")
	forbidden = append(forbidden, e.auth.tokens()...)
	forbidden = append(forbidden, e2.auth.tokens()...)
	for _, a := range append(e.auth.assertions, e2.auth.assertions...) {
		forbidden = append(forbidden, a[strings.LastIndex(a, ".")+1:][:20]) // the signature part
	}
	texts := []string{e.logs.String(), e2.logs.String()}
	for _, err := range errs {
		texts = append(texts, err.Error())
	}
	for _, text := range texts {
		for _, s := range forbidden {
			if strings.Contains(text, s) {
				t.Errorf("%q leaked into: %s", s, text)
			}
		}
	}
	if !strings.Contains(e.logs.String(), "bad signature") || !strings.Contains(e.logs.String(), "upload refused") {
		t.Errorf("expected log lines missing:\n%s", e.logs.String())
	}
	var ra *bot.RetryAfterError
	if !errors.As(errs[2], &ra) {
		t.Errorf("errs[2] = %v, want the 429", errs[2])
	}
}

// TestNewDefaultsAndValidation: nil logger and clock get defaults; missing settings do not.
func TestNewDefaultsAndValidation(t *testing.T) {
	key := testKey(t)
	cfg := lineworks.Config{BotID: "1", BotSecret: "s", ClientID: "c", ClientSecret: "cs", ServiceAccount: "sa", PrivateKey: key}
	if _, err := lineworks.New(cfg, lineworks.Deps{Dispatcher: &recorder{}}); err != nil {
		t.Errorf("New with defaults: %v", err)
	}
	if _, err := lineworks.New(cfg, lineworks.Deps{}); err == nil {
		t.Error("New without Dispatcher succeeded; callbacks would be lost")
	}
	cfg.ClientSecret = ""
	_, err := lineworks.New(cfg, lineworks.Deps{Dispatcher: &recorder{}, Logger: slog.Default()})
	if err == nil || !strings.Contains(err.Error(), lineworks.EnvClientSecret) {
		t.Errorf("New without client secret: %v", err)
	}
}
