package azure

import (
	"context"
	"strings"
	"testing"

	"github.com/permlake/permlake/extract/azure/azapitest"
)

func fleet() []azapitest.Subscription {
	return []azapitest.Subscription{
		{ID: subProd, DisplayName: "prod-payments", TenantID: tenantA, State: "Enabled"},
		{ID: subDev, DisplayName: "dev-payments", TenantID: tenantA, State: "Enabled"},
		{ID: subOld, DisplayName: "prod-legacy", TenantID: tenantA, State: "Disabled"},
		{ID: subData, DisplayName: "Prod-Data", TenantID: tenantA, State: "Enabled"},
		{ID: subSbx, DisplayName: "sandbox", TenantID: tenantA, State: "Warned"},
		{ID: subB, DisplayName: "prod-fabrikam", TenantID: tenantB, State: "Enabled", ManagedByTenants: []string{tenantA}},
	}
}

// TestSubscriptionsDiscovery lists both tenants' subscriptions (tenant A's six across three
// pages, the Lighthouse-delegated one seen from both tenants once), keeps Enabled ones and
// reports the others with the reason.
func TestSubscriptionsDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.arm.Subscriptions = fleet()
	e.arm.Throttle = 1
	got, err := e.auth.Subscriptions(context.Background(), Discovery{Discover: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ss []Subscription) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.DisplayName)
		}
		return strings.Join(out, ",")
	}
	if g := ids(got.Selected); g != "prod-payments,dev-payments,Prod-Data,prod-fabrikam" {
		t.Errorf("selected %s", g)
	}
	var skipped []string
	for _, s := range got.Skipped {
		skipped = append(skipped, s.ID+" "+s.Reason)
	}
	if g := strings.Join(skipped, ","); g != subOld+" state Disabled,"+subSbx+" state Warned" {
		t.Errorf("skipped %s", g)
	}
	fab := got.Selected[3]
	if fab.ID != subB || fab.TenantID != tenantB || fab.State != "Enabled" || len(fab.ManagedByTenants) != 1 || fab.ManagedByTenants[0] != tenantA {
		t.Errorf("delegated subscription %+v", fab)
	}
	// Tenant A: 6 subscriptions at 2 a page = 3 requests, +1 throttled; tenant B: 1.
	if n := e.arm.Requests("/subscriptions"); n != 5 {
		t.Errorf("%d list requests, want 3 pages for A + 1 for B + 1 retried 429", n)
	}
	tenants := map[string]bool{}
	for _, r := range e.login.Requests() {
		tenants[r.TenantID+"/"+r.ClientID] = r.SecretOK
	}
	if !tenants[tenantA+"/"+clientA] || !tenants[tenantB+"/"+clientB] || len(tenants) != 2 {
		t.Errorf("token requests %v: each tenant must list with its own service principal", tenants)
	}
}

// TestSubscriptionsFilters: include by display-name glob (case-insensitive) and by ID, exclude
// winning over include, extra states, static IDs kept without discovery.
func TestSubscriptionsFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.arm.Subscriptions = fleet()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		d    Discovery
		want string
	}{
		{"glob", Discovery{Discover: true, Include: []string{"prod-*"}}, subProd + "," + subData + "," + subB},
		{"glob and exclude by ID", Discovery{Discover: true, Include: []string{"PROD-*"}, Exclude: []string{strings.ToUpper(subData)}}, subProd + "," + subB},
		{"include by ID", Discovery{Discover: true, Include: []string{subDev}}, subDev},
		{"exclude by glob", Discovery{Discover: true, Exclude: []string{"*payments"}}, subData + "," + subB},
		{"states", Discovery{Discover: true, States: []string{"Enabled", "warned"}, Include: []string{"sand*"}}, subSbx},
		{"static disabled one is kept", Discovery{Discover: true, Static: []string{subOld}, Include: []string{"*legacy"}}, subOld},
		{"static only", Discovery{Static: []string{strings.ToUpper(subDev), subOld}}, subDev + "," + subOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.auth.Subscriptions(ctx, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range got.Selected {
				ids = append(ids, s.ID)
			}
			if g := strings.Join(ids, ","); g != tc.want {
				t.Errorf("selected %s, want %s", g, tc.want)
			}
		})
	}
	before := e.arm.Requests("/subscriptions")
	if _, err := e.auth.Subscriptions(ctx, Discovery{Static: []string{"prod"}, Discover: true}); KindOf(err) != KindInvalidInput || !strings.Contains(err.Error(), `"prod"`) {
		t.Errorf("bad static ID: %v", err)
	}
	if _, err := e.auth.Subscriptions(ctx, Discovery{Include: []string{"prod-["}}); err == nil || !strings.Contains(err.Error(), "prod-[") {
		t.Errorf("bad glob: %v", err)
	}
	if e.arm.Requests("/subscriptions") != before {
		t.Error("invalid input still listed subscriptions")
	}
}

// TestSubscriptionsDenied: a tenant whose identity may not list subscriptions fails naming it.
func TestSubscriptionsDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.login.Secrets[clientB] = "rotated" // tenant B's secret in the environment is stale
	_, err := e.auth.Subscriptions(context.Background(), Discovery{Discover: true})
	if KindOf(err) != KindPermission || !strings.Contains(err.Error(), "tenant "+tenantB) || strings.Contains(err.Error(), "secret-b") {
		t.Errorf("err = %v, want a permission error naming tenant B without its secret", err)
	}
}
