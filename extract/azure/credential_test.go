package azure

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// writePEM writes a self-signed certificate and its key, as `az ad sp create-for-rbac --create-cert` does.
func writePEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048) // Entra accepts RSA keys only
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "permlake-reader"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	p := filepath.Join(t.TempDir(), "reader.pem")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCredentialSelection: each configured kind gives its azidentity type, without any network.
func TestCredentialSelection(t *testing.T) {
	t.Parallel()
	certPath := writePEM(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("eyJ.fake.jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvClientSecret: "s3cr3t-value", "OTHER_SECRET": "other"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		name string
		cred Credential
		want any
	}{
		{"empty kind is the default chain", Credential{}, &azidentity.DefaultAzureCredential{}},
		{"default", Credential{Kind: CredentialDefault}, &azidentity.DefaultAzureCredential{}},
		{"client secret", Credential{Kind: CredentialClientSecret, ClientID: clientA}, &azidentity.ClientSecretCredential{}},
		{"client secret from a named variable", Credential{Kind: CredentialClientSecret, ClientID: clientA, SecretEnv: "OTHER_SECRET"}, &azidentity.ClientSecretCredential{}},
		{"client certificate", Credential{Kind: CredentialClientCertificate, ClientID: clientA, CertificatePath: certPath}, &azidentity.ClientCertificateCredential{}},
		{"system-assigned managed identity", Credential{Kind: CredentialManagedIdentity}, &azidentity.ManagedIdentityCredential{}},
		{"user-assigned managed identity", Credential{Kind: CredentialManagedIdentity, ClientID: clientB}, &azidentity.ManagedIdentityCredential{}},
		{"workload identity", Credential{Kind: CredentialWorkloadIdentity, ClientID: clientA, TokenFilePath: tokenFile}, &azidentity.WorkloadIdentityCredential{}},
		{"azure cli", Credential{Kind: CredentialAzureCLI}, &azidentity.AzureCLICredential{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth, err := NewAuth(Config{Tenants: []Tenant{{ID: strings.ToUpper(tenantA), Credential: tc.cred}}}, Options{LookupEnv: lookup})
			if err != nil {
				t.Fatal(err)
			}
			ident, err := auth.Tenant(tenantA)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.TypeOf(ident.Credential) != reflect.TypeOf(tc.want) || ident.TenantID != tenantA || ident.Kind != tc.cred.kind() {
				t.Errorf("got %T tenant %s kind %s, want %T tenant %s", ident.Credential, ident.TenantID, ident.Kind, tc.want, tenantA)
			}
		})
	}
}

// TestCredentialErrors: what is missing is named; secrets never appear in errors or logs.
func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	lookup := func(k string) (string, bool) {
		if k == EnvClientSecret {
			return "s3cr3t-value", true
		}
		return "", false
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"secret variable unset", Config{Tenants: []Tenant{{ID: tenantA, Credential: Credential{Kind: CredentialClientSecret, ClientID: clientA, SecretEnv: "NOPE"}}}},
			"tenant " + tenantA + ": client_secret credential: environment variable NOPE is not set"},
		{"client ID missing", Config{Tenants: []Tenant{{ID: tenantA, Credential: Credential{Kind: CredentialClientSecret}}}}, "client_id is required"},
		{"certificate missing", Config{Tenants: []Tenant{{ID: tenantA, Credential: Credential{Kind: CredentialClientCertificate, ClientID: clientA, CertificatePath: "/nonexistent.pem"}}}},
			"/nonexistent.pem"},
		{"unknown kind", Config{Tenants: []Tenant{{ID: tenantA, Credential: Credential{Kind: "password"}}}}, `unknown credential kind "password"`},
		{"bad tenant", Config{Tenants: []Tenant{{ID: "contoso.onmicrosoft.com"}}}, `invalid Azure tenant ID "contoso.onmicrosoft.com"`},
		{"bad client", Config{Tenants: []Tenant{{ID: tenantA, Credential: Credential{Kind: CredentialManagedIdentity, ClientID: "my-identity"}}}}, `invalid Azure client ID "my-identity"`},
		{"duplicate tenant", Config{Tenants: []Tenant{{ID: tenantA}, {ID: strings.ToUpper(tenantA)}}}, "configured twice"},
		{"bad override subscription", Config{Tenants: []Tenant{{ID: tenantA}}, Subscriptions: []SubscriptionAuth{{SubscriptionID: "prod", TenantID: tenantA}}}, `invalid Azure subscription ID "prod"`},
		{"override of an unknown tenant without credential", Config{Tenants: []Tenant{{ID: tenantA}}, Subscriptions: []SubscriptionAuth{{SubscriptionID: subB, TenantID: tenantB}}},
			"subscription " + subB + ": tenant " + tenantB + " is not configured"},
		{"http endpoint", Config{Cloud: Cloud{ARMEndpoint: "http://localhost:8080"}}, `azure ARM endpoint "http://localhost:8080": want an absolute https URL`},
		{"unknown cloud", Config{Cloud: Cloud{Name: "mars"}}, `unknown Azure cloud "mars"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAuth(tc.cfg, Options{LookupEnv: lookup})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("secret in error: %v", err)
			}
		})
	}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("credential", "cred", Credential{Kind: CredentialClientSecret, ClientID: clientA, SecretEnv: "X"})
	if !strings.Contains(b.String(), `"cred":{"kind":"client_secret","client_id":"`+clientA+`"}`) {
		t.Errorf("log line %s", b.String())
	}
}

// TestSubscriptionIdentity: override > discovered tenant > the only tenant; ambiguity is an error.
func TestSubscriptionIdentity(t *testing.T) {
	t.Parallel()
	lookup := func(string) (string, bool) { return "x", true }
	auth, err := NewAuth(Config{
		Tenants: []Tenant{{ID: tenantA, Credential: Credential{Kind: CredentialAzureCLI}}, {ID: tenantB, Credential: Credential{Kind: CredentialManagedIdentity}}},
		Subscriptions: []SubscriptionAuth{
			{SubscriptionID: subDev, TenantID: tenantB},
			{SubscriptionID: subData, TenantID: tenantA, Credential: &Credential{Kind: CredentialClientSecret, ClientID: clientA}},
			{SubscriptionID: subSbx, TenantID: tenantA, Credential: &Credential{Kind: CredentialClientSecret, ClientID: clientA}},
		},
	}, Options{LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	check := func(sub, tenantHint string, wantTenant string, want any) Identity {
		t.Helper()
		ident, err := auth.Subscription(sub, tenantHint)
		if err != nil {
			t.Fatal(err)
		}
		if ident.TenantID != wantTenant || reflect.TypeOf(ident.Credential) != reflect.TypeOf(want) {
			t.Errorf("%s: tenant %s %T, want %s %T", sub, ident.TenantID, ident.Credential, wantTenant, want)
		}
		return ident
	}
	check(subProd, tenantA, tenantA, &azidentity.AzureCLICredential{})
	check(subProd, strings.ToUpper(tenantB), tenantB, &azidentity.ManagedIdentityCredential{})
	check(subDev, tenantA, tenantB, &azidentity.ManagedIdentityCredential{}) // the override wins over discovery
	d1 := check(subData, "", tenantA, &azidentity.ClientSecretCredential{})
	d2 := check(strings.ToUpper(subSbx), "", tenantA, &azidentity.ClientSecretCredential{})
	if d1.Credential != d2.Credential {
		t.Error("two subscriptions with the same override got two credentials (two token caches)")
	}
	if _, err := auth.Subscription(subOld, ""); err == nil || !strings.Contains(err.Error(), "subscription "+subOld) || KindOf(err) != KindInvalidInput {
		t.Errorf("unknown tenant with two configured: %v", err)
	}
	var ie *InvalidIDError
	if _, err := auth.Subscription("not-a-uuid", ""); !errors.As(err, &ie) {
		t.Errorf("bad ID: %v", err)
	}
}

// TestCloudConfiguration: presets per national cloud and every endpoint overridable.
func TestCloudConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cloud                      Cloud
		authority, arm, aud, graph string
	}{
		{Cloud{}, "https://login.microsoftonline.com/", "https://management.azure.com", "https://management.core.windows.net/", "https://graph.microsoft.com"},
		{Cloud{Name: "usgovernment"}, "https://login.microsoftonline.us/", "https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net/", "https://graph.microsoft.us"},
		{Cloud{Name: "AzureChina"}, "https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn"},
		{Cloud{Name: "usgovernment", GraphEndpoint: "https://dod-graph.microsoft.us/", AuthorityHost: "https://login.example.test"},
			"https://login.example.test/", "https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net/", "https://dod-graph.microsoft.us/"},
		{Cloud{ARMEndpoint: "https://arm.private.example", ARMAudience: "https://arm.private.example/aud"},
			"https://login.microsoftonline.com/", "https://arm.private.example", "https://arm.private.example/aud", "https://graph.microsoft.com"},
	} {
		c, err := tc.cloud.Configuration()
		if err != nil {
			t.Fatal(err)
		}
		arm, graph := c.Services[cloud.ResourceManager], c.Services[GraphService]
		if c.ActiveDirectoryAuthorityHost != tc.authority || arm.Endpoint != tc.arm || arm.Audience != tc.aud || graph.Endpoint != tc.graph ||
			graph.Audience != strings.TrimSuffix(tc.graph, "/") {
			t.Errorf("%+v: got authority %s arm %s aud %s graph %s/%s", tc.cloud, c.ActiveDirectoryAuthorityHost, arm.Endpoint, arm.Audience, graph.Endpoint, graph.Audience)
		}
	}
}

// TestParseID covers the UUID check every ID passes before reaching a URL path.
func TestParseID(t *testing.T) {
	t.Parallel()
	if id, err := ParseID("tenant", "AAAAAAAA-1111-4111-8111-AAAAAAAAAAAA"); err != nil || id != tenantA {
		t.Errorf("upper case: %q %v", id, err)
	}
	for _, bad := range []string{"", "contoso.onmicrosoft.com", "aaaaaaaa11114111-8111-aaaaaaaaaaaa", tenantA + "/../x", " " + tenantA, "gggggggg-1111-4111-8111-aaaaaaaaaaaa", strings.Repeat("a", 200)} {
		_, err := ParseID("subscription", bad)
		var ie *InvalidIDError
		if !errors.As(err, &ie) || ie.Value != bad || ie.What != "subscription" || len(err.Error()) > 200 {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if ValidateTenantID(tenantA) != nil || ValidateSubscriptionID(subProd) != nil || ValidateTenantID("common") == nil {
		t.Error("Validate* disagree with ParseID")
	}
}
