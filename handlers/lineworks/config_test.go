package lineworks_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

func fullEnv(t *testing.T) map[string]string {
	return map[string]string{
		lineworks.EnvBotID:          testBotID,
		lineworks.EnvBotSecret:      testBotSecret,
		lineworks.EnvClientID:       testClientID,
		lineworks.EnvClientSecret:   testClientSecret,
		lineworks.EnvServiceAccount: testServiceAccount,
		lineworks.EnvPrivateKey:     pemPKCS8(t, testKey(t)),
	}
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnvOff(t *testing.T) {
	cfg, enabled, err := lineworks.ConfigFromEnv(getenv(nil))
	if err != nil || enabled || cfg.BotID != "" {
		t.Errorf("no variables: enabled=%v err=%v, want off", enabled, err)
	}
}

func TestConfigFromEnvComplete(t *testing.T) {
	cfg, enabled, err := lineworks.ConfigFromEnv(getenv(fullEnv(t)))
	if err != nil || !enabled {
		t.Fatalf("enabled=%v err=%v", enabled, err)
	}
	got := []string{cfg.BotID, cfg.BotSecret, cfg.ClientID, cfg.ClientSecret, cfg.ServiceAccount, cfg.APIURL, cfg.AuthURL}
	want := []string{testBotID, testBotSecret, testClientID, testClientSecret, testServiceAccount, lineworks.DefaultAPIURL, lineworks.DefaultAuthURL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cfg.PrivateKey == nil || !cfg.PrivateKey.Equal(testKey(t)) {
		t.Error("private key not loaded")
	}
}

func TestConfigFromEnvPartial(t *testing.T) {
	for _, missing := range []string{lineworks.EnvBotID, lineworks.EnvBotSecret, lineworks.EnvClientID,
		lineworks.EnvClientSecret, lineworks.EnvServiceAccount, lineworks.EnvPrivateKey} {
		t.Run(missing, func(t *testing.T) {
			env := fullEnv(t)
			env[missing] = "  " // blank counts as missing
			_, enabled, err := lineworks.ConfigFromEnv(getenv(env))
			if err == nil || !enabled {
				t.Fatalf("enabled=%v err=%v, want an error", enabled, err)
			}
			if !strings.Contains(err.Error(), missing) {
				t.Errorf("error %q does not name %s", err, missing)
			}
		})
	}
	// A lone URL is a half configuration too.
	_, enabled, err := lineworks.ConfigFromEnv(getenv(map[string]string{lineworks.EnvAPIURL: "http://localhost:9"}))
	if err == nil || !enabled || !strings.Contains(err.Error(), lineworks.EnvBotID) {
		t.Errorf("only API URL: enabled=%v err=%v, want error naming %s", enabled, err, lineworks.EnvBotID)
	}
}

func TestConfigFromEnvFilesAndURLs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := fullEnv(t)
	delete(env, lineworks.EnvBotSecret)
	delete(env, lineworks.EnvClientSecret)
	delete(env, lineworks.EnvPrivateKey)
	env[lineworks.EnvBotSecret+"_FILE"] = write("bot", testBotSecret+"\n")
	env[lineworks.EnvClientSecret+"_FILE"] = write("client", testClientSecret+"\n")
	env[lineworks.EnvPrivateKey+"_FILE"] = write("key.pem", pemPKCS1(testKey(t)))
	env[lineworks.EnvAPIURL] = "http://127.0.0.1:8081/v1.0/"
	env[lineworks.EnvAuthURL] = "http://127.0.0.1:8082/token"
	cfg, _, err := lineworks.ConfigFromEnv(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BotSecret != testBotSecret || cfg.ClientSecret != testClientSecret {
		t.Errorf("secrets from files: %q %q (trailing newline must go)", cfg.BotSecret, cfg.ClientSecret)
	}
	if !cfg.PrivateKey.Equal(testKey(t)) {
		t.Error("PKCS#1 key from file not loaded")
	}
	if cfg.APIURL != "http://127.0.0.1:8081/v1.0" || cfg.AuthURL != "http://127.0.0.1:8082/token" {
		t.Errorf("URLs %q %q", cfg.APIURL, cfg.AuthURL)
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	goodPEM := pemPKCS8(t, testKey(t))
	// A damaged key: its text must not come back in the error.
	lines := strings.Split(goodPEM, "\n")
	lines[3] = strings.Repeat("A", len(lines[3]))
	badPEM := strings.Join(lines, "\n")
	tests := []struct {
		name, key, value, want string
	}{
		{"not PEM", lineworks.EnvPrivateKey, "hello", "no PEM block"},
		{"EC key", lineworks.EnvPrivateKey, ecPEM, "not an RSA key"},
		{"damaged key", lineworks.EnvPrivateKey, badPEM, "malformed"},
		{"both secret and file", lineworks.EnvBotSecret + "_FILE", "/nonexistent", "not both"},
		{"missing file", lineworks.EnvClientSecret + "_FILE", "/nonexistent/secret", "no such file"},
		{"relative API URL", lineworks.EnvAPIURL, "/v1.0", lineworks.EnvAPIURL},
		{"odd auth URL scheme", lineworks.EnvAuthURL, "ftp://auth", lineworks.EnvAuthURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fullEnv(t)
			if tt.key == lineworks.EnvClientSecret+"_FILE" {
				delete(env, lineworks.EnvClientSecret)
			}
			env[tt.key] = tt.value
			_, _, err := lineworks.ConfigFromEnv(getenv(env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "AAAA") || strings.Contains(err.Error(), lines[2]) {
				t.Errorf("error quotes key material: %v", err)
			}
		})
	}
}

func TestParsePrivateKeyEscapedNewlines(t *testing.T) {
	k, err := lineworks.ParsePrivateKey([]byte(strings.ReplaceAll(pemPKCS8(t, testKey(t)), "\n", `\n`)))
	if err != nil || !k.Equal(testKey(t)) {
		t.Errorf("key with literal \\n: %v", err)
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	cfg, _, err := lineworks.ConfigFromEnv(getenv(fullEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg)
	outputs := []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), logs.String()}
	for _, out := range outputs {
		for _, secret := range secretsOf(t) {
			if strings.Contains(out, secret) {
				t.Errorf("printed config contains a secret (%.12s…): %s", secret, out)
			}
		}
		if !strings.Contains(out, testBotID) {
			t.Errorf("printed config lost its harmless parts: %s", out)
		}
	}
}

// secretsOf lists what must never be printed: the secrets, and pieces of the key in
// the forms a dump would show it (PEM text, decimal modulus and private exponent).
func secretsOf(t testing.TB) []string {
	key := testKey(t)
	pemLines := strings.Split(pemPKCS8(t, key), "\n")
	return []string{testBotSecret, testClientSecret, pemLines[2], pemLines[5],
		key.D.String()[:24], key.Primes[0].String()[:24], key.N.String()[:24]}
}
