package azure

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// CredentialKind selects the azidentity credential type.
type CredentialKind string

// Credential kinds. Each maps to one azidentity type; see Credential.
const (
	// CredentialDefault is azidentity's DefaultAzureCredential chain: environment, workload
	// identity, managed identity, Azure CLI, Azure Developer CLI, PowerShell.
	CredentialDefault CredentialKind = "default"
	// CredentialClientSecret is a service principal with a secret read from the environment.
	CredentialClientSecret CredentialKind = "client_secret"
	// CredentialClientCertificate is a service principal with a certificate file (PEM or PKCS#12).
	CredentialClientCertificate CredentialKind = "client_certificate"
	// CredentialManagedIdentity is the host's system-assigned identity, or a user-assigned one by client ID.
	CredentialManagedIdentity CredentialKind = "managed_identity"
	// CredentialWorkloadIdentity is a federated token file (AKS workload identity, GitHub OIDC).
	CredentialWorkloadIdentity CredentialKind = "workload_identity"
	// CredentialAzureCLI is the signed-in Azure CLI (az login); for a workstation.
	CredentialAzureCLI CredentialKind = "azure_cli"
)

// Environment variables read for secrets. They are the azidentity EnvironmentCredential's names
// (https://pkg.go.dev/github.com/Azure/azure-sdk-for-go/sdk/azidentity#readme-environment-variables),
// so one environment serves both permlake's explicit kinds and the default chain.
const (
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
)

// Credential configures one identity; the tenant it authenticates to is the Tenant (or
// SubscriptionAuth) it is configured under. It holds no secret: a client secret comes from the
// environment variable SecretEnv names and a certificate's password from PasswordEnv, read
// when the credential is built, so a Credential can be logged (LogValue) or printed safely.
type Credential struct {
	Kind CredentialKind `mapstructure:"kind"`
	// ClientID is the application (client) ID; for managed identity the user-assigned
	// identity's client ID (empty: system-assigned); for workload identity empty means
	// AZURE_CLIENT_ID as the webhook sets it.
	ClientID string `mapstructure:"client_id"`
	// CertificatePath is a PEM (certificate and unencrypted or PKCS#8 key) or PKCS#12 (.pfx) file.
	CertificatePath string `mapstructure:"certificate_path"`
	// SecretEnv names the variable holding the client secret (default AZURE_CLIENT_SECRET);
	// distinct names let several tenants' service principals share one environment.
	SecretEnv string `mapstructure:"secret_env"`
	// PasswordEnv names the variable holding the certificate's password (default
	// AZURE_CLIENT_CERTIFICATE_PASSWORD; unset or empty: the file is not encrypted).
	PasswordEnv string `mapstructure:"password_env"`
	// TokenFilePath is the federated token file for workload identity (default AZURE_FEDERATED_TOKEN_FILE).
	TokenFilePath string `mapstructure:"token_file_path"`
}

// LogValue shows what identifies the credential and nothing that authenticates it.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(c.kind())), slog.String("client_id", c.ClientID))
}

func (c Credential) kind() CredentialKind {
	if c.Kind == "" {
		return CredentialDefault
	}
	return c.Kind
}

// Tenant is a directory and the credential that reads it.
type Tenant struct {
	ID         string     `mapstructure:"id"`
	Credential Credential `mapstructure:"credential"`
}

// SubscriptionAuth overrides, for one subscription, which tenant it belongs to and optionally
// which credential reads it (a reader service principal of its own, a Lighthouse-delegated
// identity from another tenant).
type SubscriptionAuth struct {
	SubscriptionID string      `mapstructure:"subscription_id"`
	TenantID       string      `mapstructure:"tenant_id"`
	Credential     *Credential `mapstructure:"credential"`
}

// Cloud names the endpoints of an Azure cloud. Name picks a preset ("public", the default;
// "china"; "usgovernment"); every other field overrides the preset (tests, Azure Stack,
// private endpoints).
type Cloud struct {
	Name          string `mapstructure:"name"`
	AuthorityHost string `mapstructure:"authority_host"` // Entra ID, e.g. https://login.microsoftonline.us/
	ARMEndpoint   string `mapstructure:"arm_endpoint"`   // e.g. https://management.usgovcloudapi.net
	ARMAudience   string `mapstructure:"arm_audience"`   // token audience for ARM, e.g. https://management.core.usgovcloudapi.net
	GraphEndpoint string `mapstructure:"graph_endpoint"` // Microsoft Graph, e.g. https://graph.microsoft.us
	// DisableInstanceDiscovery skips Entra's instance metadata request, for an authority
	// MSAL does not know (Azure Stack, a test server).
	DisableInstanceDiscovery bool `mapstructure:"disable_instance_discovery"`
}

// GraphService is the key of Microsoft Graph in a cloud.Configuration's Services; azcore
// defines only ResourceManager.
const GraphService cloud.ServiceName = "permlake/microsoftGraph"

// Graph endpoints per national cloud (https://learn.microsoft.com/graph/deployments).
var graphEndpoints = map[string]string{
	"public":       "https://graph.microsoft.com",
	"china":        "https://microsoftgraph.chinacloudapi.cn",
	"usgovernment": "https://graph.microsoft.us",
}

// Configuration returns the cloud as azcore's cloud.Configuration, with Graph under
// GraphService. Every endpoint must be an absolute https URL: azcore's bearer-token policy
// refuses to send a token over plain http.
func (c Cloud) Configuration() (cloud.Configuration, error) {
	name := strings.ToLower(c.Name)
	var base cloud.Configuration
	switch name {
	case "", "public", "azurepublic", "azurecloud":
		name, base = "public", cloud.AzurePublic
	case "china", "azurechina", "azurechinacloud":
		name, base = "china", cloud.AzureChina
	case "usgovernment", "azuregovernment", "azureusgovernment":
		name, base = "usgovernment", cloud.AzureGovernment
	default:
		return cloud.Configuration{}, fmt.Errorf("unknown Azure cloud %q: want public, china or usgovernment (override the endpoints for others)", c.Name)
	}
	arm := base.Services[cloud.ResourceManager]
	out := cloud.Configuration{
		ActiveDirectoryAuthorityHost: base.ActiveDirectoryAuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: arm,
			GraphService:          {Endpoint: graphEndpoints[name], Audience: graphEndpoints[name]},
		},
	}
	armCfg, graphCfg := out.Services[cloud.ResourceManager], out.Services[GraphService]
	for _, o := range []struct {
		dst     *string
		v, what string
	}{
		{&out.ActiveDirectoryAuthorityHost, c.AuthorityHost, "authority host"},
		{&armCfg.Endpoint, c.ARMEndpoint, "ARM endpoint"},
		{&armCfg.Audience, c.ARMAudience, "ARM audience"},
		{&graphCfg.Endpoint, c.GraphEndpoint, "Graph endpoint"},
	} {
		if o.v == "" {
			continue
		}
		u, err := url.Parse(o.v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return cloud.Configuration{}, fmt.Errorf("azure %s %q: want an absolute https URL", o.what, o.v)
		}
		*o.dst = o.v
	}
	if c.GraphEndpoint != "" {
		// Graph's token scope is the endpoint itself ("https://graph.microsoft.us/.default").
		graphCfg.Audience = strings.TrimSuffix(c.GraphEndpoint, "/")
	}
	if !strings.HasSuffix(out.ActiveDirectoryAuthorityHost, "/") {
		out.ActiveDirectoryAuthorityHost += "/"
	}
	out.Services[cloud.ResourceManager], out.Services[GraphService] = armCfg, graphCfg
	return out, nil
}

// Retry configures azcore's retry policy for every ARM, Graph and token call. Throttling is
// answered with 429 and Retry-After (ARM:
// https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling;
// Graph: https://learn.microsoft.com/graph/throttling); the policy waits as told, so a run
// absorbs it instead of failing.
type Retry struct {
	// MaxRetries after the first try (default 5).
	MaxRetries int `mapstructure:"max_retries"`
	// RetryDelay is the first backoff when the answer has no Retry-After (default 2 s,
	// doubling with jitter).
	RetryDelay time.Duration `mapstructure:"retry_delay"`
	// MaxRetryDelay caps the backoff and is the longest Retry-After honoured (default 2 min):
	// azcore gives up at once, returning the 429, when asked to wait longer.
	MaxRetryDelay time.Duration `mapstructure:"max_retry_delay"`
	// TryTimeout bounds one attempt (default 2 min), so a stalled connection is retried.
	TryTimeout time.Duration `mapstructure:"try_timeout"`
}

func (r Retry) options() policy.RetryOptions {
	o := policy.RetryOptions{MaxRetries: 5, RetryDelay: 2 * time.Second, MaxRetryDelay: 2 * time.Minute, TryTimeout: 2 * time.Minute}
	if r.MaxRetries != 0 {
		o.MaxRetries = int32(r.MaxRetries) // negative: no retries (azcore's convention)
	}
	if r.RetryDelay > 0 {
		o.RetryDelay = r.RetryDelay
	}
	if r.MaxRetryDelay > 0 {
		o.MaxRetryDelay = r.MaxRetryDelay
	}
	if r.TryTimeout > 0 {
		o.TryTimeout = r.TryTimeout
	}
	return o
}

// Config is the Azure part of permlake's configuration: plain data, no secrets.
type Config struct {
	Cloud Cloud `mapstructure:"cloud"`
	// Tenants lists each directory with its credential. Empty: one tenant, whichever the
	// default chain's identity signs in to (a workstation with `az login`).
	Tenants []Tenant `mapstructure:"tenants"`
	// Subscriptions overrides, per subscription, the tenant and credential used.
	Subscriptions []SubscriptionAuth `mapstructure:"subscriptions"`
	Retry         Retry              `mapstructure:"retry"`
}

// Options are the run-time parts of NewAuth that are not configuration.
type Options struct {
	// Transport sends the HTTP requests (nil: azcore's default client). Tests pass a client
	// that trusts their TLS server's certificate.
	Transport policy.Transporter
	// LookupEnv reads the secrets' environment variables (nil: os.LookupEnv).
	LookupEnv func(string) (string, bool)
}

// Identity is what a call for a subscription or tenant authenticates with.
type Identity struct {
	TenantID   string // lower-case UUID; "" for the implicit tenant of an empty Config.Tenants
	Kind       CredentialKind
	Credential azcore.TokenCredential // safe for concurrent use; caches and refreshes tokens
}

// Auth holds the credentials of every configured tenant and subscription override. Each is
// built once, so every call for a tenant shares one token cache. Auth is safe for concurrent use.
type Auth struct {
	cloud     cloud.Configuration
	retry     policy.RetryOptions
	transport policy.Transporter
	disableID bool
	tenants   map[string]Identity
	order     []string
	subs      map[string]Identity

	mu     sync.Mutex
	graphs map[string]*Graph
}

// NewAuth validates cfg (every tenant, subscription and client ID a UUID, every endpoint https)
// and builds its credentials. Building talks to no network: tokens are requested on first use.
func NewAuth(cfg Config, opt Options) (*Auth, error) {
	cc, err := cfg.Cloud.Configuration()
	if err != nil {
		return nil, err
	}
	if opt.LookupEnv == nil {
		opt.LookupEnv = os.LookupEnv
	}
	a := &Auth{cloud: cc, retry: cfg.Retry.options(), transport: opt.Transport, disableID: cfg.Cloud.DisableInstanceDiscovery,
		tenants: map[string]Identity{}, subs: map[string]Identity{}, graphs: map[string]*Graph{}}
	tenants := cfg.Tenants
	if len(tenants) == 0 {
		tenants = []Tenant{{}}
	}
	for _, t := range tenants {
		id := ""
		if t.ID != "" || len(cfg.Tenants) > 0 {
			if id, err = ParseID("tenant", t.ID); err != nil {
				return nil, err
			}
		}
		if _, dup := a.tenants[id]; dup {
			return nil, fmt.Errorf("azure tenant %s configured twice", id)
		}
		ident, err := a.build(t.Credential, id, opt.LookupEnv)
		if err != nil {
			return nil, err
		}
		a.tenants[id] = ident
		a.order = append(a.order, id)
	}
	built := map[string]Identity{} // one credential per distinct (tenant, override)
	for _, s := range cfg.Subscriptions {
		sub, err := ParseID("subscription", s.SubscriptionID)
		if err != nil {
			return nil, err
		}
		if _, dup := a.subs[sub]; dup {
			return nil, fmt.Errorf("azure subscription %s overridden twice", sub)
		}
		tid, err := ParseID("tenant", s.TenantID)
		if err != nil {
			return nil, fmt.Errorf("subscription %s: %w", sub, err)
		}
		if s.Credential == nil {
			ident, ok := a.tenants[tid]
			if !ok {
				return nil, fmt.Errorf("subscription %s: tenant %s is not configured and the override names no credential", sub, tid)
			}
			a.subs[sub] = ident
			continue
		}
		key := fmt.Sprintf("%s|%+v", tid, *s.Credential)
		ident, ok := built[key]
		if !ok {
			if ident, err = a.build(*s.Credential, tid, opt.LookupEnv); err != nil {
				return nil, fmt.Errorf("subscription %s: %w", sub, err)
			}
			built[key] = ident
		}
		a.subs[sub] = ident
	}
	return a, nil
}

// build makes the azidentity credential c describes, authenticating to tenantID.
func (a *Auth) build(c Credential, tenantID string, lookup func(string) (string, bool)) (Identity, error) {
	kind := c.kind()
	ident := Identity{TenantID: tenantID, Kind: kind}
	fail := func(err error) (Identity, error) {
		if tenantID == "" {
			return Identity{}, fmt.Errorf("azure %s credential: %w", kind, err)
		}
		return Identity{}, fmt.Errorf("tenant %s: %s credential: %w", tenantID, kind, err)
	}
	if c.ClientID != "" {
		if _, err := ParseID("client", c.ClientID); err != nil {
			return fail(err)
		}
	}
	needs := func(what string, ok bool) error {
		if !ok {
			return fmt.Errorf("%s is required", what)
		}
		return nil
	}
	co := azcore.ClientOptions{Cloud: a.cloud, Retry: a.retry, Transport: a.transport}
	var err error
	switch kind {
	case CredentialClientSecret:
		if err := errors.Join(needs("tenant ID", tenantID != ""), needs("client_id", c.ClientID != "")); err != nil {
			return fail(err)
		}
		name := c.SecretEnv
		if name == "" {
			name = EnvClientSecret
		}
		secret, _ := lookup(name)
		if secret == "" {
			return fail(fmt.Errorf("environment variable %s is not set", name))
		}
		ident.Credential, err = azidentity.NewClientSecretCredential(tenantID, c.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: a.disableID})
	case CredentialClientCertificate:
		if err := errors.Join(needs("tenant ID", tenantID != ""), needs("client_id", c.ClientID != ""), needs("certificate_path", c.CertificatePath != "")); err != nil {
			return fail(err)
		}
		data, err := os.ReadFile(c.CertificatePath)
		if err != nil {
			return fail(err)
		}
		name := c.PasswordEnv
		if name == "" {
			name = EnvCertificatePassword
		}
		password, _ := lookup(name)
		certs, key, err := azidentity.ParseCertificates(data, []byte(password))
		if err != nil {
			return fail(fmt.Errorf("%s: %w", c.CertificatePath, err))
		}
		ident.Credential, err = azidentity.NewClientCertificateCredential(tenantID, c.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: a.disableID})
		if err != nil {
			return fail(err)
		}
	case CredentialManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if c.ClientID != "" {
			o.ID = azidentity.ClientID(c.ClientID)
		}
		ident.Credential, err = azidentity.NewManagedIdentityCredential(o)
	case CredentialWorkloadIdentity:
		ident.Credential, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: co,
			TenantID: tenantID, ClientID: c.ClientID, TokenFilePath: c.TokenFilePath, DisableInstanceDiscovery: a.disableID})
	case CredentialAzureCLI:
		// The CLI uses its own cloud (`az cloud set`) and token cache; only the tenant applies.
		ident.Credential, err = azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: tenantID})
	case CredentialDefault:
		ident.Credential, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co,
			TenantID: tenantID, DisableInstanceDiscovery: a.disableID})
	default:
		return fail(fmt.Errorf("unknown credential kind %q: want %s, %s, %s, %s, %s or %s", c.Kind, CredentialDefault,
			CredentialClientSecret, CredentialClientCertificate, CredentialManagedIdentity, CredentialWorkloadIdentity, CredentialAzureCLI))
	}
	if err != nil {
		return fail(err)
	}
	return ident, nil
}

// TenantIDs returns the configured tenants in configuration order ("" for the implicit one).
func (a *Auth) TenantIDs() []string { return append([]string(nil), a.order...) }

// Tenant returns the identity configured for a tenant.
func (a *Auth) Tenant(tenantID string) (Identity, error) {
	if tenantID != "" {
		var err error
		if tenantID, err = ParseID("tenant", tenantID); err != nil {
			return Identity{}, err
		}
	}
	ident, ok := a.tenants[tenantID]
	if !ok {
		return Identity{}, &Error{Kind: KindInvalidInput, Call: "credential", TenantID: tenantID, Err: errors.New("tenant not configured")}
	}
	return ident, nil
}

// Subscription returns the identity a subscription is read with: its override if configured,
// else the credential of its tenant (tenantID, as discovery reported it), else — one tenant
// configured — that tenant's credential (a subscription delegated to it through Lighthouse is
// read with the managing tenant's token).
func (a *Auth) Subscription(subscriptionID, tenantID string) (Identity, error) {
	sub, err := ParseID("subscription", subscriptionID)
	if err != nil {
		return Identity{}, err
	}
	if ident, ok := a.subs[sub]; ok {
		return ident, nil
	}
	if tenantID != "" {
		tid, err := ParseID("tenant", tenantID)
		if err != nil {
			return Identity{}, fmt.Errorf("subscription %s: %w", sub, err)
		}
		if ident, ok := a.tenants[tid]; ok {
			return ident, nil
		}
	}
	if len(a.order) == 1 {
		return a.tenants[a.order[0]], nil
	}
	return Identity{}, &Error{Kind: KindInvalidInput, Call: "credential", SubscriptionID: sub,
		Err: fmt.Errorf("tenant %q is not configured and %d tenants are: add a subscription override", tenantID, len(a.order))}
}

// Cloud returns the endpoints in use.
func (a *Auth) Cloud() cloud.Configuration { return a.cloud }

// armOptions are the ARM clients' options: the cloud, transport and retry policy.
// Resource-provider registration is off: permlake only reads, and the policy would try to
// register providers (a write) on a 409 MissingSubscriptionRegistration.
func (a *Auth) armOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: a.cloud, Retry: a.retry, Transport: a.transport},
		DisableRPRegistration: true}
}
