package lineworks_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/handlers/lineworks"
)

const (
	testBotID          = "2000001"
	testBotSecret      = "bot-secret-Zq8w3RkT"
	testClientID       = "client-id-abc"
	testClientSecret   = "client-secret-Yx71Lp0"
	testServiceAccount = "abcde.serviceaccount@city.example.jp"
	testDomain         = "40029600"
	testTenant         = bot.TenantID("demo")
)

var (
	keyOnce sync.Once
	testRSA *rsa.PrivateKey
)

// testKey is generated once per test binary: 2048-bit generation is slow under -race.
func testKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testRSA = k
	})
	return testRSA
}

func pemPKCS8(t testing.TB, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func pemPKCS1(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// fakeClock is a settable clock for token expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeAuth is the LINE WORKS token endpoint. It checks every assertion like the real
// server would (RS256 signature with the public key, iss, sub, exp) and issues tokens
// "tok-1", "tok-2", … that live lifetime seconds.
type fakeAuth struct {
	t        testing.TB
	srv      *httptest.Server
	pub      *rsa.PublicKey
	clock    *fakeClock
	lifetime int
	delay    time.Duration
	status   int    // when non-zero, answer this status instead of a token
	body     string // body for status

	mu         sync.Mutex
	issued     []string
	assertions []string
}

func newFakeAuth(t testing.TB, pub *rsa.PublicKey, clock *fakeClock) *fakeAuth {
	fa := &fakeAuth{t: t, pub: pub, clock: clock, lifetime: 600}
	fa.srv = httptest.NewServer(http.HandlerFunc(fa.serve))
	t.Cleanup(fa.srv.Close)
	return fa
}

func (fa *fakeAuth) serve(w http.ResponseWriter, r *http.Request) {
	if fa.delay > 0 {
		time.Sleep(fa.delay)
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		fa.t.Errorf("auth: bad request %s: %v", r.Method, err)
		w.WriteHeader(400)
		return
	}
	want := map[string]string{
		"grant_type":    "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"client_id":     testClientID,
		"client_secret": testClientSecret,
		"scope":         "bot",
	}
	for k, v := range want {
		if got := r.PostForm.Get(k); got != v {
			fa.t.Errorf("auth: %s = %q, want %q", k, got, v)
		}
	}
	assertion := r.PostForm.Get("assertion")
	fa.mu.Lock()
	fa.assertions = append(fa.assertions, assertion)
	fa.mu.Unlock()
	if err := fa.verify(assertion); err != nil {
		fa.t.Errorf("auth: assertion rejected: %v", err)
		w.WriteHeader(400)
		io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	}
	if fa.status != 0 {
		w.WriteHeader(fa.status)
		io.WriteString(w, fa.body)
		return
	}
	fa.mu.Lock()
	tok := fmt.Sprintf("tok-%d", len(fa.issued)+1)
	fa.issued = append(fa.issued, tok)
	fa.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	// expires_in as a string, as LINE WORKS sends it.
	fmt.Fprintf(w, `{"access_token":%q,"refresh_token":"r","token_type":"Bearer","expires_in":"%d","scope":"bot"}`, tok, fa.lifetime)
}

func (fa *fakeAuth) verify(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("want 3 parts, got %d", len(parts))
	}
	dec := base64.RawURLEncoding
	hb, err := dec.DecodeString(parts[0])
	if err != nil {
		return fmt.Errorf("header: %v", err)
	}
	var h struct{ Alg, Typ string }
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "RS256" {
		return fmt.Errorf("header %s", hb)
	}
	sig, err := dec.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("signature encoding: %v", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(fa.pub, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("signature: %v", err)
	}
	cb, err := dec.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("claims encoding: %v", err)
	}
	var c struct {
		Iss, Sub string
		Iat, Exp int64
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return fmt.Errorf("claims: %v", err)
	}
	now := fa.clock.Now().Unix()
	switch {
	case c.Iss != testClientID:
		return fmt.Errorf("iss %q", c.Iss)
	case c.Sub != testServiceAccount:
		return fmt.Errorf("sub %q", c.Sub)
	case c.Exp <= now || c.Iat > now+60:
		return fmt.Errorf("iat %d exp %d now %d", c.Iat, c.Exp, now)
	case c.Exp-c.Iat > 3600:
		return fmt.Errorf("exp - iat = %d s, more than 60 minutes", c.Exp-c.Iat)
	}
	return nil
}

func (fa *fakeAuth) count() int {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return len(fa.assertions)
}

func (fa *fakeAuth) tokens() []string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return append([]string(nil), fa.issued...)
}

// apiCall is one request the fake Bot API received.
type apiCall struct {
	Method, Path, Auth string
	// Content is the decoded "content" of a send-message request.
	Content map[string]any
	// Upload holds a multipart upload: file name, part content type and data.
	UploadName, UploadType string
	UploadData             []byte
	Status                 int
}

// response is a scripted answer of the fake Bot API.
type response struct {
	status int
	header map[string]string
	body   string
}

// fakeAPI is the Bot API. It answers 201 to sends, hands out upload URLs and file IDs,
// accepts uploads, rejects tokens the fake auth did not issue, and can be scripted to
// answer a list of responses (429, 401, 500 …) to the next requests.
type fakeAPI struct {
	t    testing.TB
	srv  *httptest.Server
	auth *fakeAuth

	mu      sync.Mutex
	calls   []apiCall
	script  []response
	revoked map[string]bool
}

func newFakeAPI(t testing.TB, auth *fakeAuth) *fakeAPI {
	fa := &fakeAPI{t: t, auth: auth, revoked: map[string]bool{}}
	fa.srv = httptest.NewServer(http.HandlerFunc(fa.serve))
	t.Cleanup(fa.srv.Close)
	return fa
}

func (fa *fakeAPI) then(rs ...response) {
	fa.mu.Lock()
	fa.script = append(fa.script, rs...)
	fa.mu.Unlock()
}

func (fa *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	call := apiCall{Method: r.Method, Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization")}
	body, _ := io.ReadAll(r.Body)
	switch {
	case strings.HasSuffix(r.URL.Path, "/messages"):
		var req struct {
			Content map[string]any `json:"content"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			fa.t.Errorf("api: bad JSON body: %v", err)
		}
		call.Content = req.Content
	case strings.HasPrefix(r.URL.Path, "/upload/"):
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			fa.t.Errorf("upload: content type %q", r.Header.Get("Content-Type"))
			break
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "Filedata" {
				call.UploadName, call.UploadType = p.FileName(), p.Header.Get("Content-Type")
				call.UploadData, _ = io.ReadAll(p)
			}
		}
	}
	tok := strings.TrimPrefix(call.Auth, "Bearer ")
	fa.mu.Lock()
	issued := false
	for _, t := range fa.auth.tokens() {
		issued = issued || t == tok
	}
	var resp response
	switch {
	case !issued || fa.revoked[tok]:
		resp = response{status: 401, body: `{"code":"UNAUTHORIZED","description":"Authentication failed"}`}
	case len(fa.script) > 0:
		resp = fa.script[0]
		fa.script = fa.script[1:]
	case strings.HasSuffix(r.URL.Path, "/attachments"):
		n := len(fa.calls) + 1
		resp = response{status: 200, body: fmt.Sprintf(`{"fileId":"file-%d","uploadUrl":"%s/upload/%d"}`, n, fa.srv.URL, n)}
	default:
		resp = response{status: 201}
	}
	call.Status = resp.status
	fa.calls = append(fa.calls, call)
	fa.mu.Unlock()
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.status)
	io.WriteString(w, resp.body)
}

func (fa *fakeAPI) revoke(tok string) {
	fa.mu.Lock()
	fa.revoked[tok] = true
	fa.mu.Unlock()
}

func (fa *fakeAPI) recorded() []apiCall {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return append([]apiCall(nil), fa.calls...)
}

// sent returns the contents of the send-message calls the API accepted.
func (fa *fakeAPI) sent() []map[string]any {
	var out []map[string]any
	for _, c := range fa.recorded() {
		if c.Content != nil && c.Status/100 == 2 {
			out = append(out, c.Content)
		}
	}
	return out
}

// recorder is a Dispatcher that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	msgs []*bot.Message
	err  error
}

func (r *recorder) Dispatch(_ context.Context, m *bot.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) got() []*bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*bot.Message(nil), r.msgs...)
}

var _ handlers.Dispatcher = (*recorder)(nil)

// env is one adapter wired to fakes.
type env struct {
	a     *lineworks.Adapter
	auth  *fakeAuth
	api   *fakeAPI
	clock *fakeClock
	disp  *recorder
	logs  *syncBuffer
	mux   *http.ServeMux
}

func newEnv(t testing.TB, tweak func(*lineworks.Config)) *env {
	t.Helper()
	key := testKey(t)
	clock := newClock()
	auth := newFakeAuth(t, &key.PublicKey, clock)
	api := newFakeAPI(t, auth)
	cfg := lineworks.Config{
		BotID: testBotID, BotSecret: testBotSecret, ClientID: testClientID, ClientSecret: testClientSecret,
		ServiceAccount: testServiceAccount, PrivateKey: key, APIURL: api.srv.URL, AuthURL: auth.srv.URL,
		Bindings: map[string]bot.TenantID{testDomain: testTenant},
		// Fast enough that pacing never slows the tests that are not about it.
		Rate: 1000, Burst: 1000,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	logs := &syncBuffer{}
	disp := &recorder{}
	a, err := lineworks.New(cfg, lineworks.Deps{
		Dispatcher: disp,
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:      clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	return &env{a: a, auth: auth, api: api, clock: clock, disp: disp, logs: logs, mux: mux}
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// post sends a callback signed with the test secret (or the given signature).
func (e *env) post(body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, lineworks.CallbackPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("X-WORKS-Signature", sign(testBotSecret, body))
	req.Header.Set("X-WORKS-BotId", testBotID)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editFixture decodes a fixture, lets fn change it and encodes it again, for the
// variants no public sample exists for (a message carrying content.postback).
func editFixture(t testing.TB, name string, fn func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(i int) string { return strconv.Itoa(i) }
