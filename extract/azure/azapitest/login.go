package azapitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TokenRequest is a token request the Login server received. The secret itself is not kept,
// only whether it matched.
type TokenRequest struct {
	TenantID, ClientID, GrantType, Scope string
	SecretOK                             bool   // client_secret matched Secrets[ClientID]
	AssertionType                        string // client_assertion_type (certificate, workload identity)
}

// Login serves Entra ID's OpenID discovery document and v2.0 token endpoint for any tenant:
// GET /{tenant}/v2.0/.well-known/openid-configuration and POST /{tenant}/oauth2/v2.0/token
// (client_credentials with client_secret or client_assertion). Use it as the authority host with
// instance discovery disabled.
type Login struct {
	URL    string
	Server *httptest.Server
	// Secrets are the valid client secrets by client ID.
	Secrets map[string]string

	mu       sync.Mutex
	requests []TokenRequest
}

// NewLogin starts a Login server.
func NewLogin(t *testing.T) *Login {
	t.Helper()
	l := &Login{Secrets: map[string]string{}}
	l.Server = newTLS(t, http.HandlerFunc(l.serve))
	l.URL = l.Server.URL
	return l
}

// Requests returns the token requests received so far.
func (l *Login) Requests() []TokenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]TokenRequest(nil), l.requests...)
}

func (l *Login) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		writeError(w, http.StatusNotFound, "not_found", r.URL.Path)
		return
	}
	tenant := parts[0]
	base := l.URL + "/" + tenant
	switch rest := strings.Join(parts[1:], "/"); {
	case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"issuer":                                base + "/v2.0",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"tenant_region_scope":                   "EU",
		})
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": err.Error()})
			return
		}
		req := TokenRequest{TenantID: tenant, ClientID: r.PostForm.Get("client_id"), GrantType: r.PostForm.Get("grant_type"),
			Scope: r.PostForm.Get("scope"), AssertionType: r.PostForm.Get("client_assertion_type")}
		secret := r.PostForm.Get("client_secret")
		l.mu.Lock()
		want, known := l.Secrets[req.ClientID]
		req.SecretOK = known && secret != "" && secret == want
		l.requests = append(l.requests, req)
		l.mu.Unlock()
		if secret != "" && !req.SecretOK {
			// AADSTS7000215 is Entra's answer to a wrong secret.
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client",
				"error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": []int{7000215}})
			return
		}
		scope := strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(req.Scope, "openid", ""), "offline_access", ""))
		scope = strings.TrimSpace(strings.ReplaceAll(scope, "profile", ""))
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
			"access_token": Token(Claims{TenantID: tenant, ClientID: req.ClientID, Scope: scope})})
	default:
		writeError(w, http.StatusNotFound, "not_found", r.URL.Path)
	}
}
