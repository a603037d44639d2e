package line

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
)

// The environment variables of SPEC §2; each may instead name a file with the suffix _FILE,
// so that secrets can come from a mounted secret store rather than the process environment.
const (
	EnvChannelSecret = "KAKEHASHI_LINE_CHANNEL_SECRET"
	EnvChannelToken  = "KAKEHASHI_LINE_CHANNEL_TOKEN"
	EnvAPIURL        = "KAKEHASHI_LINE_API_URL"
)

// DefaultAPIURL is LINE's Messaging API; tests and staging point Config.APIURL at a fake.
const DefaultAPIURL = "https://api.line.me"

// Config is what the adapter needs from the operator. It prints and logs with its
// secrets redacted, so that a config dump at start-up cannot leak them.
type Config struct {
	// ChannelSecret signs webhooks (X-Line-Signature).
	ChannelSecret string
	// ChannelToken is the channel access token for the Messaging API.
	ChannelToken string
	// APIURL is the Messaging API base URL.
	APIURL string
}

// String redacts the secrets.
func (c Config) String() string {
	return fmt.Sprintf("line.Config{APIURL: %q, ChannelSecret: %s, ChannelToken: %s}",
		c.APIURL, redact(c.ChannelSecret), redact(c.ChannelToken))
}

// GoString redacts the secrets for %#v as well.
func (c Config) GoString() string { return c.String() }

// LogValue redacts the secrets in structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_url", c.APIURL),
		slog.String("channel_secret", redact(c.ChannelSecret)),
		slog.String("channel_token", redact(c.ChannelToken)),
	)
}

func redact(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// ConfigFromEnv reads the LINE settings through getenv (os.Getenv in production). With none
// of them set, LINE is off (enabled is false, err is nil). Settings given only in part, an
// empty secret, a variable given both directly and as _FILE, or a bad URL stop the start
// with an error naming the variable: a half-configured channel must not run, because an
// empty channel secret would accept webhooks anyone can sign.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	secret, secretSet, err := lookup(getenv, EnvChannelSecret)
	if err != nil {
		return Config{}, false, err
	}
	token, tokenSet, err := lookup(getenv, EnvChannelToken)
	if err != nil {
		return Config{}, false, err
	}
	apiURL, urlSet, err := lookup(getenv, EnvAPIURL)
	if err != nil {
		return Config{}, false, err
	}
	if !secretSet && !tokenSet && !urlSet {
		return Config{}, false, nil
	}
	if !secretSet {
		return Config{}, false, missing(EnvChannelSecret)
	}
	if !tokenSet {
		return Config{}, false, missing(EnvChannelToken)
	}
	if !urlSet {
		apiURL = DefaultAPIURL
	}
	cfg = Config{ChannelSecret: secret, ChannelToken: token, APIURL: apiURL}
	if err := cfg.validate(); err != nil {
		return Config{}, false, err
	}
	return cfg, true, nil
}

func missing(name string) error {
	return fmt.Errorf("line: %s (or %s_FILE) is not set, but other KAKEHASHI_LINE_* settings are: set it, or remove them all to turn LINE off", name, name)
}

// lookup returns the value of name or of the file named by name_FILE, trimmed of the
// surrounding white space (a trailing newline in a secret file is the usual case).
func lookup(getenv func(string) string, name string) (value string, set bool, err error) {
	direct, file := getenv(name), getenv(name+"_FILE")
	switch {
	case direct != "" && file != "":
		return "", false, fmt.Errorf("line: both %s and %s_FILE are set: keep one", name, name)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", false, fmt.Errorf("line: read %s_FILE: %w", name, err)
		}
		value = strings.TrimSpace(string(b))
		if value == "" {
			return "", false, fmt.Errorf("line: the file named by %s_FILE is empty", name)
		}
		return value, true, nil
	case direct != "":
		value = strings.TrimSpace(direct)
		if value == "" {
			return "", false, fmt.Errorf("line: %s is empty", name)
		}
		return value, true, nil
	}
	return "", false, nil
}

// validate is shared by ConfigFromEnv and New, so that a Config built in code is held to
// the same rules as one read from the environment.
func (c Config) validate() error {
	if strings.TrimSpace(c.ChannelSecret) == "" {
		return fmt.Errorf("line: %s is empty", EnvChannelSecret)
	}
	if strings.TrimSpace(c.ChannelToken) == "" {
		return fmt.Errorf("line: %s is empty", EnvChannelToken)
	}
	u, err := url.Parse(c.APIURL)
	if err != nil {
		return fmt.Errorf("line: %s: %w", EnvAPIURL, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("line: %s must be an absolute http(s) URL, got %q", EnvAPIURL, c.APIURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("line: " + EnvAPIURL + " must not carry a query or fragment")
	}
	return nil
}
