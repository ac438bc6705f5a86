// Package azapitest serves Azure's Entra ID token endpoint, ARM (subscriptions, role
// definitions, role assignments) and Microsoft Graph (users, groups, service principals,
// transitive members, getByIds) from httptest TLS servers in the services' wire format:
// JSON with nextLink / @odata.nextLink paging, 429 with Retry-After, 403 errors in
// {"error":{"code","message"}} form. TLS because azcore's bearer-token policy refuses to send a
// token over plain http; Client trusts the servers' certificate.
//
// Tokens are "fake." + base64url(JSON{tid, appid, scp}), minted by Login or by Credential, so
// the ARM and Graph servers check on the wire that each call carries a token of the right
// tenant and audience.
//
// It is a test helper: it may import testing, and nothing but tests may import it.
package azapitest

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Claims is what a fake token carries.
type Claims struct {
	TenantID string `json:"tid"`
	ClientID string `json:"appid"`
	Scope    string `json:"scp"`
}

// Token mints a fake access token.
func Token(c Claims) string {
	b, _ := json.Marshal(c)
	return "fake." + base64.RawURLEncoding.EncodeToString(b)
}

// ParseToken reads the claims of an "Authorization: Bearer <token>" header.
func ParseToken(header string) (Claims, bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return Claims{}, false
	}
	raw, ok := strings.CutPrefix(tok, "fake.")
	if !ok {
		return Claims{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return Claims{}, false
	}
	var c Claims
	if json.Unmarshal(b, &c) != nil || c.TenantID == "" {
		return Claims{}, false
	}
	return c, true
}

// Credential is an azcore.TokenCredential minting fake tokens for its tenant, counting calls.
type Credential struct {
	TenantID, ClientID string

	mu     sync.Mutex
	scopes []string
}

// GetToken implements azcore.TokenCredential.
func (c *Credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	scope := strings.Join(o.Scopes, " ")
	c.scopes = append(c.scopes, scope)
	return azcore.AccessToken{Token: Token(Claims{TenantID: c.TenantID, ClientID: c.ClientID, Scope: scope}), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Scopes returns the scopes of every GetToken call so far.
func (c *Credential) Scopes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.scopes...)
}

// Client returns an HTTP client trusting the servers' certificates; pass it as the
// azcore Transport (policy.ClientOptions.Transport or azure.Options.Transport).
func Client(servers ...*httptest.Server) *http.Client {
	pool := x509.NewCertPool()
	for _, s := range servers {
		pool.AddCert(s.Certificate())
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// counter counts requests by a key, safely.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
	return c.n[k]
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// throttle answers the first n requests with 429 and Retry-After, as ARM and Graph do.
type throttle struct {
	mu   sync.Mutex
	left int
	sent int
}

func (t *throttle) take() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.left > 0 {
		t.left--
		t.sent++
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the {"error":{"code","message"}} shape ARM and Graph share.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func newTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewTLSServer(h)
	t.Cleanup(s.Close)
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("azapitest: %w", err))
	}
}
