package lineworks

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kakehashi/kakehashi/bot"
)

const (
	// jwtLifetime stays well inside the 60 minutes LINE WORKS accepts for an assertion,
	// so a few minutes of clock skew between us and the auth server cannot make it "too long".
	jwtLifetime = 30 * time.Minute
	// refreshEarly renews a token before it expires, so a send never races the expiry.
	refreshEarly = 5 * time.Minute
	// defaultTokenLifetime is assumed when the auth server omits expires_in (docs: 1 h or 24 h).
	defaultTokenLifetime = time.Hour
	// fetchTimeout bounds one token request; the fetch outlives the caller that started
	// it (other callers share it), so it needs its own limit.
	fetchTimeout = 30 * time.Second
)

// tokenSource issues service-account access tokens: a JWT signed with the private key
// is exchanged at the auth URL, the token is cached until shortly before it expires,
// and concurrent callers share a single refresh.
type tokenSource struct {
	clientID, clientSecret, serviceAccount string
	key                                    *rsa.PrivateKey
	authURL, scope                         string
	client                                 *http.Client
	clock                                  bot.Clock

	mu        sync.Mutex
	token     string
	refreshAt time.Time
	inflight  *tokenCall
}

// tokenCall is one in-flight refresh that every waiting caller reads.
type tokenCall struct {
	done  chan struct{}
	token string
	err   error
}

// Token returns a valid access token, fetching one when the cache is empty or stale.
func (ts *tokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	if ts.token != "" && ts.clock.Now().Before(ts.refreshAt) {
		t := ts.token
		ts.mu.Unlock()
		return t, nil
	}
	c := ts.inflight
	if c == nil {
		c = &tokenCall{done: make(chan struct{})}
		ts.inflight = c
		// Detached from ctx: the first caller giving up must not fail the others
		// waiting on the same refresh; fetchTimeout still bounds it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		go func() {
			defer cancel()
			ts.fetch(fctx, c)
		}()
	}
	ts.mu.Unlock()
	select {
	case <-c.done:
		return c.token, c.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// invalidate drops the cached token after the API rejected it with 401. Only the
// token that was rejected is dropped, so many concurrent 401s cause one refresh.
func (ts *tokenSource) invalidate(rejected string) {
	ts.mu.Lock()
	if ts.token == rejected {
		ts.token = ""
	}
	ts.mu.Unlock()
}

func (ts *tokenSource) fetch(ctx context.Context, c *tokenCall) {
	tok, lifetime, err := ts.request(ctx)
	ts.mu.Lock()
	if err == nil {
		margin := refreshEarly
		if lifetime < 2*margin {
			margin = lifetime / 2
		}
		ts.token = tok
		ts.refreshAt = ts.clock.Now().Add(lifetime - margin)
	}
	ts.inflight = nil
	c.token, c.err = tok, err
	ts.mu.Unlock()
	close(c.done)
}

// request performs one JWT-bearer grant. Errors name the step and the HTTP status,
// never the assertion, the client secret or the returned token.
func (ts *tokenSource) request(ctx context.Context) (string, time.Duration, error) {
	assertion, err := signJWT(ts.key, ts.clientID, ts.serviceAccount, ts.clock.Now())
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"assertion":     {assertion},
		"grant_type":    {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"client_id":     {ts.clientID},
		"client_secret": {ts.clientSecret},
		"scope":         {ts.scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.authURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, errors.New("token: bad auth URL")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token: %w", stripURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", 0, fmt.Errorf("token: read response: %w", err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return "", 0, &bot.RetryAfterError{After: retryAfter(resp.Header, time.Now(), 5*time.Second),
			Err: errors.New("token: rate limited by the auth server")}
	}
	if resp.StatusCode != http.StatusOK {
		// Not ErrPermanent: a wrong secret is fixed by the operator, and the messages
		// waiting in the outbox should go out once it is.
		return "", 0, fmt.Errorf("token: auth server answered HTTP %d%s", resp.StatusCode, errorCode(body))
	}
	var tr struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   flexSeconds `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", 0, errors.New("token: malformed token response")
	}
	lifetime := time.Duration(tr.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	return tr.AccessToken, lifetime, nil
}

// flexSeconds accepts expires_in as a number or a string: LINE WORKS sends "86400".
type flexSeconds int64

func (f *flexSeconds) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("expires_in: not a number")
	}
	*f = flexSeconds(n)
	return nil
}

// signJWT builds the RS256 service-account assertion {iss: client ID, sub: service account, iat, exp}.
func signJWT(key *rsa.PrivateKey, clientID, serviceAccount string, now time.Time) (string, error) {
	enc := base64.RawURLEncoding // JWT wants base64url without padding.
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{clientID, serviceAccount, now.Unix(), now.Add(jwtLifetime).Unix()})
	if err != nil {
		return "", fmt.Errorf("jwt claims: %w", err)
	}
	signing := header + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", errors.New("jwt: signing failed")
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// errorCode extracts the machine-readable error code of an OAuth or Bot API error
// body (" (code X)"), and nothing else: descriptions may echo request data.
func errorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &e) != nil {
		return ""
	}
	code := e.Code
	if code == "" {
		code = e.Error
	}
	if code == "" || len(code) > 64 {
		return ""
	}
	for _, r := range code {
		if !(r == '_' || r == '-' || r == '.' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	return " (code " + code + ")"
}

// stripURL drops the request URL from a transport error: Bot API URLs carry the
// recipient's user ID, which may be a login e-mail address.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}
