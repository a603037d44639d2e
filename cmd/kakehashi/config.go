package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kakehashi/kakehashi/bot"
)

// setting is one environment variable with its default and meaning; the table is the
// single source for parsing and for `kakehashi help config`.
type setting struct {
	Name, Default, Help string
}

var settings = []setting{
	{"KAKEHASHI_ADDR", "127.0.0.1:8080", "listen address of the web chat, webhooks, /healthz, /readyz, /metrics"},
	{"KAKEHASHI_REDIS_URL", "", "redis://, rediss://, redis-sentinel://h1:26379,h2:26379/master or redis-cluster://h1:6379,h2:6379; empty = embedded store"},
	{"KAKEHASHI_DATA_DIR", "./data", "where the embedded store keeps its snapshot"},
	{"KAKEHASHI_SNAPSHOT_INTERVAL", "10s", "how often the embedded store is snapshotted"},
	{"KAKEHASHI_CONFIG", "", "YAML file with tenants and platform bindings"},
	{"KAKEHASHI_PUBLIC_URL", "", "public base URL used in links (e.g. https://kakehashi.example.lg.jp)"},
	{"KAKEHASHI_DRAFT_TTL", "30m", "how long an unfinished dialog draft is kept"},
	{"KAKEHASHI_REMINDER_OFFSETS", "24h,1h", "when meeting reminders are sent before the start"},
	{"KAKEHASHI_DIGEST_TIME", "08:30", "when the weekly digest goes out on the first business day of the week (Asia/Tokyo)"},
	{"KAKEHASHI_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"KAKEHASHI_LOG_FORMAT", "json", "json or text"},
	{"KAKEHASHI_WORKERS", "32", "concurrent jobs (pushes, reminders, inbound events) per process"},
	{"KAKEHASHI_SLACK_BOT_TOKEN", "", "Slack bot token (xoxb-…); also *_FILE"},
	{"KAKEHASHI_SLACK_SIGNING_SECRET", "", "Slack signing secret (HTTP mode); also *_FILE"},
	{"KAKEHASHI_SLACK_APP_TOKEN", "", "Slack app-level token (xapp-…, Socket Mode); also *_FILE"},
	{"KAKEHASHI_SLACK_API_URL", "https://slack.com/api/", "Slack Web API base URL"},
	{"KAKEHASHI_SLACK_POST_INTERVAL", "1s", "spacing of messages to one Slack channel (Slack allows about one per second)"},
	{"KAKEHASHI_LINEWORKS_BOT_ID", "", "LINE WORKS bot ID"},
	{"KAKEHASHI_LINEWORKS_BOT_SECRET", "", "LINE WORKS bot secret (callback signature); also *_FILE"},
	{"KAKEHASHI_LINEWORKS_CLIENT_ID", "", "LINE WORKS client ID"},
	{"KAKEHASHI_LINEWORKS_CLIENT_SECRET", "", "LINE WORKS client secret; also *_FILE"},
	{"KAKEHASHI_LINEWORKS_SERVICE_ACCOUNT", "", "LINE WORKS service account"},
	{"KAKEHASHI_LINEWORKS_PRIVATE_KEY", "", "LINE WORKS private key (PEM) or KAKEHASHI_LINEWORKS_PRIVATE_KEY_FILE"},
	{"KAKEHASHI_LINEWORKS_API_URL", "https://www.worksapis.com/v1.0", "LINE WORKS API base URL"},
	{"KAKEHASHI_LINEWORKS_AUTH_URL", "https://auth.worksmobile.com/oauth2/v2.0/token", "LINE WORKS token endpoint"},
	{"KAKEHASHI_LINE_CHANNEL_SECRET", "", "LINE channel secret; also *_FILE"},
	{"KAKEHASHI_LINE_CHANNEL_TOKEN", "", "LINE channel access token; also *_FILE"},
	{"KAKEHASHI_LINE_API_URL", "https://api.line.me", "LINE Messaging API base URL"},
}

func printConfigHelp(w io.Writer) {
	fmt.Fprintln(w, "Kakehashi is configured with environment variables (secrets may also come from VAR_FILE):")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	for _, s := range settings {
		def := s.Default
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, def, s.Help)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nTenants and platform bindings live in the YAML file named by KAKEHASHI_CONFIG, e.g.:")
	fmt.Fprint(w, exampleYAML)
}

const exampleYAML = `
tenants:
  - id: okayama
    name: 岡山市
    departments: [総務課, 市民課, 福祉課, 防災危機管理課, 情報政策課]
    dx_channel: web            # web | slack:C0123 | lineworks:CHANNEL_ID
    slack_team: T0123ABCD      # members of this Slack workspace are staff
    lineworks_domain: "10000001"
    priority_weights: {urgency: 30, deadline: 20, impact: 25, supporters: 15, departments: 10}
    digest_time: "08:30"       # weekly digest on the first business day of the week
`

// env reads a variable, falling back to VAR_FILE and then to the default.
func env(name string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	if f := os.Getenv(name + "_FILE"); f != "" {
		if b, err := os.ReadFile(f); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	for _, s := range settings {
		if s.Name == name {
			return s.Default
		}
	}
	return ""
}

func envDuration(name string) (time.Duration, error) {
	d, err := time.ParseDuration(env(name))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration (examples: 30m, 10s, 24h)", name, env(name))
	}
	return d, nil
}

// FileConfig is the YAML file of tenants and bindings.
type FileConfig struct {
	Tenants []TenantConfig `yaml:"tenants"`
}

// TenantConfig is one tenant in the YAML file.
type TenantConfig struct {
	ID              bot.TenantID   `yaml:"id"`
	Name            string         `yaml:"name"`
	Departments     []string       `yaml:"departments"`
	DXChannel       string         `yaml:"dx_channel"`
	SlackTeam       string         `yaml:"slack_team"`
	LineWorksDomain string         `yaml:"lineworks_domain"`
	PriorityWeights map[string]int `yaml:"priority_weights"`
	// DigestTime overrides KAKEHASHI_DIGEST_TIME for this tenant ("07:45").
	DigestTime string `yaml:"digest_time"`
}

func loadFileConfig(path string) (*FileConfig, error) {
	fc := &FileConfig{}
	if path == "" {
		return fc, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("KAKEHASHI_CONFIG: %w", err)
	}
	if err := yaml.Unmarshal(b, fc); err != nil {
		return nil, fmt.Errorf("KAKEHASHI_CONFIG %s: %w", path, err)
	}
	for i, t := range fc.Tenants {
		if t.ID == "" || t.Name == "" {
			return nil, fmt.Errorf("KAKEHASHI_CONFIG %s: tenant #%d needs an id and a name", path, i+1)
		}
	}
	return fc, nil
}
