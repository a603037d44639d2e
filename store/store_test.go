package store_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/kakehashi/kakehashi/store"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		want    *redis.UniversalOptions
		wantTLS bool
	}{
		{
			name: "redis with password and db",
			url:  "redis://:s3cret@cache.local:6380/3",
			want: &redis.UniversalOptions{Addrs: []string{"cache.local:6380"}, Password: "s3cret", DB: 3},
		},
		{
			name: "redis default port",
			url:  "redis://127.0.0.1",
			want: &redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}},
		},
		{
			name:    "rediss with ACL user",
			url:     "rediss://bot:pw@redis.example.lg.jp:6380/0",
			want:    &redis.UniversalOptions{Addrs: []string{"redis.example.lg.jp:6380"}, Username: "bot", Password: "pw"},
			wantTLS: true,
		},
		{
			name: "sentinel with master, db and sentinel password",
			url:  "redis-sentinel://:pw@s1:26379,s2:26379,s3:26379/mymaster?db=2&sentinel_password=sp",
			want: &redis.UniversalOptions{Addrs: []string{"s1:26379", "s2:26379", "s3:26379"}, Password: "pw", DB: 2,
				MasterName: "mymaster", SentinelPassword: "sp"},
		},
		{
			name:    "sentinel over TLS",
			url:     "rediss-sentinel://s1:26379/mymaster",
			want:    &redis.UniversalOptions{Addrs: []string{"s1:26379"}, MasterName: "mymaster"},
			wantTLS: true,
		},
		{
			name: "cluster",
			url:  "redis-cluster://:pw@n1:6379,n2:6379",
			want: &redis.UniversalOptions{Addrs: []string{"n1:6379", "n2:6379"}, Password: "pw", IsClusterMode: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.url, err)
			}
			if (got.TLSConfig != nil) != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLSConfig != nil, tt.wantTLS)
			}
			got.TLSConfig = nil
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(redis.UniversalOptions{}),
				cmpopts.IgnoreFields(redis.UniversalOptions{}, "Protocol")); diff != "" {
				t.Errorf("ParseURL(%q) mismatch (-want +got):\n%s", tt.url, diff)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "Hunter2Secret"
	tests := []struct {
		name string
		url  string
		want string // part of the message
	}{
		{"bad scheme", "memcache://:" + secret + "@h:11211", "unknown scheme"},
		{"http scheme", "http://h:6379", "unknown scheme"},
		{"sentinel without master", "redis-sentinel://:" + secret + "@s1:26379,s2:26379", "master name"},
		{"sentinel bad db", "redis-sentinel://:" + secret + "@s1:26379/m?db=x", "db must be a number"},
		{"redis bad db", "redis://:" + secret + "@h:6379/notanumber", "KAKEHASHI_REDIS_URL"},
		{"redis unknown option", "redis://:" + secret + "@h:6379/0?bogus=" + secret, "KAKEHASHI_REDIS_URL"},
		{"not a URL", "redis://:" + secret + "@h:port/0", "not a valid URL"},
		{"control character", "redis://:" + secret + "@h:6379/\x7f", "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.ParseURL(tt.url)
			if err == nil {
				t.Fatalf("ParseURL(%q) succeeded, want an error", tt.url)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}
