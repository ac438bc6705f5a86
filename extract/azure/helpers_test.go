package azure

import (
	"testing"
	"time"

	"github.com/permlake/permlake/extract/azure/azapitest"
)

const (
	tenantA = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa"
	tenantB = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb"
	clientA = "0a0a0a0a-0000-4000-8000-00000000000a"
	clientB = "0b0b0b0b-0000-4000-8000-00000000000b"
	subProd = "11111111-1111-4111-8111-111111111111"
	subDev  = "22222222-2222-4222-8222-222222222222"
	subOld  = "33333333-3333-4333-8333-333333333333"
	subData = "44444444-4444-4444-8444-444444444444"
	subSbx  = "55555555-5555-4555-8555-555555555555"
	subB    = "66666666-6666-4666-8666-666666666666"
)

// env is a login, an ARM and a Graph server and an Auth whose endpoints point at them, with a
// client-secret service principal in each of two tenants (secrets from a fake environment).
type env struct {
	login *azapitest.Login
	arm   *azapitest.ARM
	graph *azapitest.Graph
	auth  *Auth
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	e := &env{login: azapitest.NewLogin(t), arm: azapitest.NewARM(t), graph: azapitest.NewGraph(t)}
	e.login.Secrets[clientA] = "secret-a"
	e.login.Secrets[clientB] = "secret-b"
	cfg := Config{
		Cloud: Cloud{AuthorityHost: e.login.URL, ARMEndpoint: e.arm.URL, ARMAudience: e.arm.URL, GraphEndpoint: e.graph.URL,
			DisableInstanceDiscovery: true},
		Tenants: []Tenant{
			{ID: tenantA, Credential: Credential{Kind: CredentialClientSecret, ClientID: clientA}},
			{ID: tenantB, Credential: Credential{Kind: CredentialClientSecret, ClientID: clientB, SecretEnv: "PERMLAKE_TEST_SECRET_B"}},
		},
		// Short first backoff; Retry-After from the servers still rules when present.
		Retry: Retry{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	envVars := map[string]string{EnvClientSecret: "secret-a", "PERMLAKE_TEST_SECRET_B": "secret-b"}
	auth, err := NewAuth(cfg, Options{
		Transport: azapitest.Client(e.login.Server, e.arm.Server, e.graph.Server),
		LookupEnv: func(k string) (string, bool) { v, ok := envVars[k]; return v, ok },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.auth = auth
	return e
}
