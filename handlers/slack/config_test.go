package slack_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	kslack "github.com/kakehashi/kakehashi/handlers/slack"
)

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "bot-token")
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(tokenFile, []byte("xoxb-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    kslack.Config
		enabled bool
		errHas  string // the error must name this variable
	}{{
		name: "nothing set: channel off",
		env:  map[string]string{},
	}, {
		name: "only the API URL: still off",
		env:  map[string]string{"KAKEHASHI_SLACK_API_URL": "http://127.0.0.1:9/api/"},
	}, {
		name:    "HTTP mode",
		env:     map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1", "KAKEHASHI_SLACK_SIGNING_SECRET": "s3cret"},
		want:    kslack.Config{BotToken: "xoxb-1", SigningSecret: "s3cret", APIURL: "https://slack.com/api/"},
		enabled: true,
	}, {
		name: "Socket Mode, token from a file, API URL without slash",
		env: map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN_FILE": tokenFile, "KAKEHASHI_SLACK_APP_TOKEN": "xapp-1",
			"KAKEHASHI_SLACK_API_URL": "http://127.0.0.1:8081/api"},
		want:    kslack.Config{BotToken: "xoxb-from-file", AppToken: "xapp-1", APIURL: "http://127.0.0.1:8081/api/"},
		enabled: true,
	}, {
		name:   "secret without bot token",
		env:    map[string]string{"KAKEHASHI_SLACK_SIGNING_SECRET": "s3cret"},
		errHas: "KAKEHASHI_SLACK_BOT_TOKEN",
	}, {
		name:   "bot token without secret or app token",
		env:    map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1"},
		errHas: "KAKEHASHI_SLACK_SIGNING_SECRET",
	}, {
		name:   "white-space secret",
		env:    map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1", "KAKEHASHI_SLACK_SIGNING_SECRET": "  "},
		errHas: "KAKEHASHI_SLACK_SIGNING_SECRET",
	}, {
		name:   "empty secret file",
		env:    map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1", "KAKEHASHI_SLACK_SIGNING_SECRET_FILE": emptyFile},
		errHas: "KAKEHASHI_SLACK_SIGNING_SECRET_FILE",
	}, {
		name:   "missing secret file",
		env:    map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1", "KAKEHASHI_SLACK_SIGNING_SECRET_FILE": filepath.Join(dir, "nope")},
		errHas: "KAKEHASHI_SLACK_SIGNING_SECRET_FILE",
	}, {
		name:   "both value and file",
		env:    map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1", "KAKEHASHI_SLACK_BOT_TOKEN_FILE": tokenFile, "KAKEHASHI_SLACK_APP_TOKEN": "xapp-1"},
		errHas: "KAKEHASHI_SLACK_BOT_TOKEN",
	}, {
		name:   "bot token given as app token",
		env:    map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1", "KAKEHASHI_SLACK_APP_TOKEN": "xoxb-1"},
		errHas: "KAKEHASHI_SLACK_APP_TOKEN",
	}, {
		name:   "bad API URL",
		env:    map[string]string{"KAKEHASHI_SLACK_BOT_TOKEN": "xoxb-1", "KAKEHASHI_SLACK_APP_TOKEN": "xapp-1", "KAKEHASHI_SLACK_API_URL": "slack.com/api"},
		errHas: "KAKEHASHI_SLACK_API_URL",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, enabled, err := kslack.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one naming %s", err, tt.errHas)
				}
				for _, v := range tt.env {
					if len(v) > 4 && !strings.Contains(v, "/") && strings.Contains(err.Error(), v) {
						t.Errorf("error %q reveals a secret value", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if enabled != tt.enabled {
				t.Errorf("enabled = %v", enabled)
			}
			if diff := cmp.Diff(tt.want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewAndRegister(t *testing.T) {
	if _, err := kslack.New(kslack.Config{SigningSecret: "x"}, kslack.Deps{Dispatcher: &dispatcher{}}); err == nil {
		t.Error("New without a bot token must fail")
	}
	if _, err := kslack.New(kslack.Config{BotToken: "xoxb-1", SigningSecret: "x"}, kslack.Deps{}); err == nil {
		t.Error("New without a Dispatcher must fail")
	}
	// Socket Mode only: no unsigned HTTP endpoint may exist.
	e := newEnv(t, func(c *kslack.Config, _ *kslack.Deps) { c.SigningSecret = "" })
	for _, p := range []string{"/slack/events", "/slack/interactions", "/slack/commands"} {
		w := httptest.NewRecorder()
		e.mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, p, strings.NewReader(`{"type":"url_verification","challenge":"x"}`)))
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, w.Code)
		}
	}
	// HTTP mode: only POST is routed.
	e = newEnv(t)
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/slack/events", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", w.Code)
	}
}
