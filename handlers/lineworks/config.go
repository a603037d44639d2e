package lineworks

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
)

// Defaults for the settings that have one; the URLs are the platform's own.
const (
	DefaultAPIURL  = "https://www.worksapis.com/v1.0"
	DefaultAuthURL = "https://auth.worksmobile.com/oauth2/v2.0/token"
	// DefaultScope is enough for sending messages and uploading attachments
	// (both documented with scope "bot" or "bot.message").
	DefaultScope = "bot"
	// DefaultRate and DefaultBurst keep one domain under the documented 240 requests
	// per minute per API (at most 5 + 3×60 = 185 per minute), with headroom for other replicas' bursts.
	DefaultRate  = 3.0
	DefaultBurst = 5
)

// Environment variable names (SPEC §2). Secrets also accept NAME_FILE.
const (
	EnvBotID          = "KAKEHASHI_LINEWORKS_BOT_ID"
	EnvBotSecret      = "KAKEHASHI_LINEWORKS_BOT_SECRET"
	EnvClientID       = "KAKEHASHI_LINEWORKS_CLIENT_ID"
	EnvClientSecret   = "KAKEHASHI_LINEWORKS_CLIENT_SECRET"
	EnvServiceAccount = "KAKEHASHI_LINEWORKS_SERVICE_ACCOUNT"
	EnvPrivateKey     = "KAKEHASHI_LINEWORKS_PRIVATE_KEY"
	EnvAPIURL         = "KAKEHASHI_LINEWORKS_API_URL"
	EnvAuthURL        = "KAKEHASHI_LINEWORKS_AUTH_URL"
)

// Config is everything the adapter needs to talk to one LINE WORKS bot.
// It never prints its secrets: String, GoString and LogValue redact them, so a
// stray log line or %v cannot leak the bot secret, client secret or private key.
type Config struct {
	BotID          string
	BotSecret      string
	ClientID       string
	ClientSecret   string
	ServiceAccount string
	PrivateKey     *rsa.PrivateKey
	// APIURL is the Bot API base (no trailing slash); AuthURL the OAuth token endpoint.
	APIURL  string
	AuthURL string
	// Scope is requested with the token; empty means DefaultScope.
	Scope string
	// Bindings maps a LINE WORKS domainId (as a decimal string) to its tenant.
	// Events from other domains are ignored, because membership comes from the domain.
	Bindings map[string]bot.TenantID
	// Rate is the per-tenant request rate (per second) and Burst its bucket size;
	// zero means DefaultRate / DefaultBurst.
	Rate  float64
	Burst int
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("lineworks.Config{BotID:%q ClientID:%q ServiceAccount:%q APIURL:%q AuthURL:%q Bindings:%d secrets:redacted}",
		c.BotID, c.ClientID, c.ServiceAccount, c.APIURL, c.AuthURL, len(c.Bindings))
}

// GoString makes %#v as safe as %v; the default would dump the RSA key's numbers.
func (c Config) GoString() string { return c.String() }

// LogValue keeps secrets out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("bot_id", c.BotID),
		slog.String("api_url", c.APIURL),
		slog.String("auth_url", c.AuthURL),
		slog.Int("bindings", len(c.Bindings)),
	)
}

// ConfigFromEnv reads the KAKEHASHI_LINEWORKS_* variables through getenv. With none
// of them set the channel is off (enabled false, no error); with only some set it
// returns an error naming the first missing variable, so a half-configured bot stops
// the start instead of failing at the first message. Secrets may come from files
// (KAKEHASHI_LINEWORKS_BOT_SECRET_FILE, …_CLIENT_SECRET_FILE, …_PRIVATE_KEY_FILE).
// The private key is PEM, PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1 ("BEGIN RSA PRIVATE KEY").
// Bindings, Rate and Burst are left for the caller (they come from the config file).
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	all := []string{EnvBotID, EnvBotSecret, EnvBotSecret + "_FILE", EnvClientID, EnvClientSecret,
		EnvClientSecret + "_FILE", EnvServiceAccount, EnvPrivateKey, EnvPrivateKey + "_FILE", EnvAPIURL, EnvAuthURL}
	for _, name := range all {
		if strings.TrimSpace(getenv(name)) != "" {
			enabled = true
			break
		}
	}
	if !enabled {
		return Config{}, false, nil
	}
	plain := func(name string) (string, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return "", fmt.Errorf("lineworks: %s is not set (the LINE WORKS channel needs all of its settings, or none to stay off)", name)
		}
		return v, nil
	}
	if cfg.BotID, err = plain(EnvBotID); err != nil {
		return Config{}, true, err
	}
	if cfg.BotSecret, err = secret(getenv, EnvBotSecret, true); err != nil {
		return Config{}, true, err
	}
	if cfg.ClientID, err = plain(EnvClientID); err != nil {
		return Config{}, true, err
	}
	if cfg.ClientSecret, err = secret(getenv, EnvClientSecret, true); err != nil {
		return Config{}, true, err
	}
	if cfg.ServiceAccount, err = plain(EnvServiceAccount); err != nil {
		return Config{}, true, err
	}
	pemText, err := secret(getenv, EnvPrivateKey, false)
	if err != nil {
		return Config{}, true, err
	}
	if cfg.PrivateKey, err = ParsePrivateKey([]byte(pemText)); err != nil {
		return Config{}, true, fmt.Errorf("lineworks: %s: %w", EnvPrivateKey, err)
	}
	if cfg.APIURL, err = baseURL(getenv, EnvAPIURL, DefaultAPIURL); err != nil {
		return Config{}, true, err
	}
	if cfg.AuthURL, err = baseURL(getenv, EnvAuthURL, DefaultAuthURL); err != nil {
		return Config{}, true, err
	}
	return cfg, true, nil
}

// secret reads NAME or NAME_FILE (not both). trim drops surrounding whitespace,
// which a file written by an editor usually ends with.
func secret(getenv func(string) string, name string, trim bool) (string, error) {
	v, file := getenv(name), strings.TrimSpace(getenv(name+"_FILE"))
	if strings.TrimSpace(v) != "" && file != "" {
		return "", fmt.Errorf("lineworks: set %s or %s_FILE, not both", name, name)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			// The path is not secret, the content would be; os errors carry only the path.
			return "", fmt.Errorf("lineworks: %s_FILE: %w", name, err)
		}
		v = string(b)
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("lineworks: %s_FILE %s is empty", name, file)
		}
	}
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("lineworks: %s (or %s_FILE) is not set (the LINE WORKS channel needs all of its settings, or none to stay off)", name, name)
	}
	if trim {
		v = strings.TrimSpace(v)
	}
	return v, nil
}

func baseURL(getenv func(string) string, name, def string) (string, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("lineworks: %s must be an absolute http(s) URL", name)
	}
	return strings.TrimRight(v, "/"), nil
}

// ParsePrivateKey reads the service account's RSA key from PEM (PKCS#8 or PKCS#1).
// Errors never quote the input, since the input is the key.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	// A key pasted into an environment variable often has literal "\n" instead of newlines.
	if !strings.Contains(string(pemBytes), "\n") && strings.Contains(string(pemBytes), `\n`) {
		pemBytes = []byte(strings.ReplaceAll(string(pemBytes), `\n`, "\n"))
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found (expected -----BEGIN PRIVATE KEY-----)")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("malformed PKCS#8 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the PKCS#8 key is not an RSA key (LINE WORKS signs with RS256)")
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("malformed PKCS#1 private key")
		}
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported PEM block %q (expected PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
}

// Deps are the adapter's collaborators.
type Deps struct {
	// Dispatcher stores inbound messages durably; required.
	Dispatcher handlers.Dispatcher
	Logger     *slog.Logger
	// Clock dates events without issuedTime and ages cached tokens; nil means bot.SystemClock.
	Clock bot.Clock
	// HTTPClient calls the auth server and the Bot API; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

const defaultHTTPTimeout = 30 * time.Second
