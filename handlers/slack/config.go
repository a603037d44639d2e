package slack

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

// The environment variables of the Slack channel (SPEC §2, §9).
const (
	EnvBotToken      = "KAKEHASHI_SLACK_BOT_TOKEN"
	EnvSigningSecret = "KAKEHASHI_SLACK_SIGNING_SECRET"
	EnvAppToken      = "KAKEHASHI_SLACK_APP_TOKEN"
	EnvAPIURL        = "KAKEHASHI_SLACK_API_URL"
)

// DefaultAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// Config is the Slack channel's settings. HTTP mode needs SigningSecret, Socket Mode needs
// AppToken; both may be set at once.
type Config struct {
	// BotToken is the bot user OAuth token (xoxb-…) used for every Web API call.
	BotToken string
	// SigningSecret verifies the v0 signature of HTTP requests from Slack.
	SigningSecret string
	// AppToken is the app-level token (xapp-…, scope connections:write) for Socket Mode.
	AppToken string
	// APIURL is the Web API base URL with a trailing slash; tests point it at a fake.
	APIURL string
	// Bindings maps a Slack team_id to the tenant its members belong to. Events from
	// unbound teams are ignored.
	Bindings map[string]bot.TenantID
	// PostInterval is the minimum spacing of messages to one channel (Slack allows about
	// one message per second per channel). Zero means one second.
	PostInterval time.Duration
	// UserCacheTTL is how long users.info answers are kept in memory. Zero means ten minutes.
	UserCacheTTL time.Duration
}

// HTTPMode reports whether the HTTP endpoints can be served (a signing secret is set).
func (c Config) HTTPMode() bool { return c.SigningSecret != "" }

// SocketMode reports whether Socket Mode can run (an app-level token is set).
func (c Config) SocketMode() bool { return c.AppToken != "" }

// ConfigFromEnv reads the Slack settings through getenv. Every secret may instead be read
// from the file named by the same variable with a _FILE suffix. The channel is off
// (enabled false, no error) when no secret is set; it is an error naming the variable when
// only part of the settings is given: a missing or empty bot token, or neither a signing
// secret nor an app token. Bindings are not read here; the caller fills them from the config file.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	secrets := []string{EnvBotToken, EnvSigningSecret, EnvAppToken}
	some := false
	for _, name := range secrets {
		if getenv(name) != "" || getenv(name+"_FILE") != "" {
			some = true
		}
	}
	if !some {
		return Config{}, false, nil
	}
	if cfg.BotToken, err = secret(getenv, EnvBotToken); err != nil {
		return Config{}, false, err
	}
	if cfg.SigningSecret, err = secret(getenv, EnvSigningSecret); err != nil {
		return Config{}, false, err
	}
	if cfg.AppToken, err = secret(getenv, EnvAppToken); err != nil {
		return Config{}, false, err
	}
	if cfg.BotToken == "" {
		return Config{}, false, fmt.Errorf("slack: %s (or %s_FILE) is missing or empty; the Slack channel needs a bot token", EnvBotToken, EnvBotToken)
	}
	if cfg.SigningSecret == "" && cfg.AppToken == "" {
		return Config{}, false, fmt.Errorf("slack: %s (HTTP mode) or %s (Socket Mode) is missing or empty; set one of them", EnvSigningSecret, EnvAppToken)
	}
	if cfg.AppToken != "" && !strings.HasPrefix(cfg.AppToken, "xapp-") {
		return Config{}, false, fmt.Errorf("slack: %s must be an app-level token starting with xapp-", EnvAppToken)
	}
	if cfg.APIURL, err = normalizeAPIURL(getenv(EnvAPIURL)); err != nil {
		return Config{}, false, err
	}
	return cfg, true, nil
}

// secret returns the value of name or of the file named by name_FILE, trimmed of
// surrounding white space. A set but empty value is reported as an error naming the variable.
func secret(getenv func(string) string, name string) (string, error) {
	v, file := getenv(name), getenv(name+"_FILE")
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("slack: set only one of %s and %s_FILE", name, name)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			// The error names the path, never the content.
			return "", fmt.Errorf("slack: %s_FILE: %w", name, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("slack: %s_FILE names an empty file", name)
		}
		return s, nil
	case v != "":
		s := strings.TrimSpace(v)
		if s == "" {
			return "", fmt.Errorf("slack: %s is empty", name)
		}
		return s, nil
	}
	return "", nil
}

// normalizeAPIURL checks an API base URL and gives it the trailing slash slack-go expects.
func normalizeAPIURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultAPIURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("slack: %s must be an http(s) URL such as %s", EnvAPIURL, DefaultAPIURL)
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}
