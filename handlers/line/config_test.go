package line_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kakehashi/kakehashi/handlers/line"
)

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(secretFile, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    line.Config
		enabled bool
		errHas  string // "" for no error
	}{
		{name: "nothing set: off", env: nil},
		{name: "secret and token: on with LINE's URL",
			env:     map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET": "s", "KAKEHASHI_LINE_CHANNEL_TOKEN": "t"},
			want:    line.Config{ChannelSecret: "s", ChannelToken: "t", APIURL: "https://api.line.me"},
			enabled: true},
		{name: "secret from a file, URL of a fake",
			env:     map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET_FILE": secretFile, "KAKEHASHI_LINE_CHANNEL_TOKEN": "t", "KAKEHASHI_LINE_API_URL": "http://127.0.0.1:9999"},
			want:    line.Config{ChannelSecret: "file-secret", ChannelToken: "t", APIURL: "http://127.0.0.1:9999"},
			enabled: true},
		{name: "token without secret",
			env:    map[string]string{"KAKEHASHI_LINE_CHANNEL_TOKEN": "t"},
			errHas: "KAKEHASHI_LINE_CHANNEL_SECRET"},
		{name: "secret without token",
			env:    map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET": "s"},
			errHas: "KAKEHASHI_LINE_CHANNEL_TOKEN"},
		{name: "only the URL",
			env:    map[string]string{"KAKEHASHI_LINE_API_URL": "http://127.0.0.1:9999"},
			errHas: "KAKEHASHI_LINE_CHANNEL_SECRET"},
		{name: "blank secret",
			env:    map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET": "  ", "KAKEHASHI_LINE_CHANNEL_TOKEN": "t"},
			errHas: "KAKEHASHI_LINE_CHANNEL_SECRET is empty"},
		{name: "empty secret file",
			env:    map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET_FILE": emptyFile, "KAKEHASHI_LINE_CHANNEL_TOKEN": "t"},
			errHas: "KAKEHASHI_LINE_CHANNEL_SECRET_FILE is empty"},
		{name: "missing token file",
			env:    map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET": "s", "KAKEHASHI_LINE_CHANNEL_TOKEN_FILE": filepath.Join(dir, "nope")},
			errHas: "KAKEHASHI_LINE_CHANNEL_TOKEN_FILE"},
		{name: "both a value and a file",
			env:    map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET": "s", "KAKEHASHI_LINE_CHANNEL_SECRET_FILE": secretFile, "KAKEHASHI_LINE_CHANNEL_TOKEN": "t"},
			errHas: "both KAKEHASHI_LINE_CHANNEL_SECRET and KAKEHASHI_LINE_CHANNEL_SECRET_FILE"},
		{name: "relative URL",
			env:    map[string]string{"KAKEHASHI_LINE_CHANNEL_SECRET": "s", "KAKEHASHI_LINE_CHANNEL_TOKEN": "t", "KAKEHASHI_LINE_API_URL": "api.line.me"},
			errHas: "KAKEHASHI_LINE_API_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, enabled, err := line.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one naming %s", err, tt.errHas)
				}
				if enabled {
					t.Error("enabled despite an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if enabled != tt.enabled {
				t.Errorf("enabled = %v, want %v", enabled, tt.enabled)
			}
			if diff := cmp.Diff(tt.want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	cfg := line.Config{ChannelSecret: "s3cr3t-value", ChannelToken: "t0ken-value", APIURL: line.DefaultAPIURL}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "line", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logs.String()} {
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, "t0ken") {
			t.Errorf("secret printed: %s", out)
		}
	}
}

func TestNewRejects(t *testing.T) {
	disp := &dispatcher{}
	tests := []struct {
		name string
		cfg  line.Config
		deps line.Deps
	}{
		{"empty secret (anyone could sign)", line.Config{ChannelToken: "t", APIURL: line.DefaultAPIURL}, line.Deps{Dispatcher: disp}},
		{"empty token", line.Config{ChannelSecret: "s", APIURL: line.DefaultAPIURL}, line.Deps{Dispatcher: disp}},
		{"no URL", line.Config{ChannelSecret: "s", ChannelToken: "t"}, line.Deps{Dispatcher: disp}},
		{"no dispatcher", line.Config{ChannelSecret: "s", ChannelToken: "t", APIURL: line.DefaultAPIURL}, line.Deps{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := line.New(tt.cfg, tt.deps); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}
