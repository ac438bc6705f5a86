package azure

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/permlake/permlake/extract/azure/azapitest"
)

const (
	readerGUID  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	ownerGUID   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	customGUID  = "c0ffee00-1234-4abc-8def-0123456789ab"
	rgOnlyGUID  = "d00d0000-1234-4abc-8def-0123456789ab"
	goneGUID    = "dead0000-1234-4abc-8def-0123456789ab"
	userAlice   = "a11ce000-0000-4000-8000-000000000001"
	groupOps    = "6a000000-0000-4000-8000-000000000001"
	spPipeline  = "5e000000-0000-4000-8000-000000000001"
	miFunctions = "3d000000-0000-4000-8000-000000000001"
)

func assignments() []azapitest.RoleAssignment {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return []azapitest.RoleAssignment{
		{Name: "0e000000-0000-4000-8000-000000000001", Scope: "/providers/Microsoft.Management/managementGroups/contoso-root", PrincipalID: groupOps, PrincipalType: "Group", RoleDefinitionID: readerGUID, CreatedOn: at},
		{Name: "0e000000-0000-4000-8000-000000000002", Scope: "/subscriptions/" + subProd, PrincipalID: userAlice, PrincipalType: "User", RoleDefinitionID: ownerGUID, CreatedOn: at},
		{Name: "0e000000-0000-4000-8000-000000000003", Scope: "/subscriptions/" + subProd + "/resourceGroups/rg-app", PrincipalID: spPipeline, PrincipalType: "ServicePrincipal", RoleDefinitionID: customGUID, CreatedOn: at},
		{Name: "0e000000-0000-4000-8000-000000000004", Scope: "/subscriptions/" + subProd + "/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/stapp",
			PrincipalID: miFunctions, PrincipalType: "ServicePrincipal", RoleDefinitionID: rgOnlyGUID, CreatedOn: at,
			Condition:        "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'))",
			ConditionVersion: "2.0"},
		{Name: "0e000000-0000-4000-8000-000000000005", Scope: "/subscriptions/" + subProd, PrincipalID: "0ff00000-0000-4000-8000-000000000009", PrincipalType: "User", RoleDefinitionID: goneGUID, CreatedOn: at},
	}
}

func definitions() []azapitest.RoleDefinition {
	return []azapitest.RoleDefinition{
		{Name: readerGUID, RoleName: "Reader", Type: "BuiltInRole", Description: "View all resources, but does not allow you to make any changes.",
			Actions: []string{"*/read"}, AssignableScopes: []string{"/"}},
		{Name: ownerGUID, RoleName: "Owner", Type: "BuiltInRole", Description: "Grants full access to manage all resources.",
			Actions: []string{"*"}, AssignableScopes: []string{"/"}},
		{Name: customGUID, RoleName: "Pipeline Deployer", Type: "CustomRole", Description: "Deploys the app.",
			Actions:    []string{"Microsoft.Web/sites/*", "Microsoft.Resources/deployments/*"},
			NotActions: []string{"Microsoft.Web/sites/delete"}, DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"},
			NotDataActions:   []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"},
			AssignableScopes: []string{"/subscriptions/" + subProd, "/providers/Microsoft.Management/managementGroups/contoso-root"}},
	}
}

func prodSub() Subscription { return Subscription{ID: subProd, TenantID: tenantA} }

// TestRoleAssignmentsPagesAndRetries lists five assignments at every scope level, two a page
// (three pages), after two 429 answers with Retry-After that azcore's retry policy absorbs.
func TestRoleAssignmentsPagesAndRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.arm.RoleAssignments[subProd] = assignments()
	e.arm.Throttle = 2
	got, err := (&RBAC{Auth: e.auth}).RoleAssignments(context.Background(), prodSub())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("%d assignments, want 5", len(got))
	}
	path := "/subscriptions/" + subProd + "/providers/Microsoft.Authorization/roleAssignments"
	if n, thr := e.arm.Requests(path), e.arm.Throttled(); n != 5 || thr != 2 {
		t.Errorf("%d requests with %d throttled; want 3 pages + 2 retried 429s = 5", n, thr)
	}
	scopes := []string{got[0].Scope, got[1].Scope, got[2].Scope, got[3].Scope}
	want := []string{"/providers/Microsoft.Management/managementGroups/contoso-root", "/subscriptions/" + subProd,
		"/subscriptions/" + subProd + "/resourceGroups/rg-app", "/subscriptions/" + subProd + "/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/stapp"}
	if strings.Join(scopes, "|") != strings.Join(want, "|") {
		t.Errorf("scopes %v, want inherited, own and child scopes %v", scopes, want)
	}
	mi := got[3]
	if mi.PrincipalID != miFunctions || mi.PrincipalType != "ServicePrincipal" || mi.ConditionVersion != "2.0" || !strings.HasPrefix(mi.Condition, "((!(ActionMatches") ||
		mi.RoleDefinitionID != "/subscriptions/"+subProd+"/providers/Microsoft.Authorization/roleDefinitions/"+rgOnlyGUID ||
		mi.Name != "0e000000-0000-4000-8000-000000000004" || !strings.HasSuffix(mi.ID, "/stapp/providers/Microsoft.Authorization/roleAssignments/"+mi.Name) {
		t.Errorf("assignment fields: %+v", mi)
	}
	if mi.CreatedOn == nil || !mi.CreatedOn.Equal(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) || got[1].Condition != "" {
		t.Errorf("createdOn %v, condition of an unconditional one %q", mi.CreatedOn, got[1].Condition)
	}
	// The token came from the tenant's client-secret credential through the token endpoint.
	reqs := e.login.Requests()
	if len(reqs) != 1 || reqs[0].TenantID != tenantA || reqs[0].ClientID != clientA || !reqs[0].SecretOK || reqs[0].GrantType != "client_credentials" ||
		!strings.Contains(reqs[0].Scope, e.arm.URL+"/.default") {
		t.Errorf("token requests %+v; want one client_credentials for tenant A with the ARM scope (token cached across retries and pages)", reqs)
	}
}

// TestRoleDefinitionsAndSnapshot: built-in and custom roles with their four permission lists,
// across pages; Snapshot fetches by ID the definition only assignable at a resource group and
// skips one deleted while still assigned (404).
func TestRoleDefinitionsAndSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.arm.RoleDefinitions[subProd] = definitions()
	e.arm.HiddenDefinitions[subProd] = []azapitest.RoleDefinition{{Name: rgOnlyGUID, RoleName: "Blob Log Reader", Type: "CustomRole",
		DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}, AssignableScopes: []string{"/subscriptions/" + subProd + "/resourceGroups/rg-app"}}}
	e.arm.RoleAssignments[subProd] = assignments()
	snap, err := (&RBAC{Auth: e.auth}).Snapshot(context.Background(), prodSub())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.RoleAssignments) != 5 || len(snap.RoleDefinitions) != 4 {
		t.Fatalf("%d assignments, %d definitions; want 5 and 3 listed + 1 fetched by ID", len(snap.RoleAssignments), len(snap.RoleDefinitions))
	}
	byName := map[string]RoleDefinition{}
	for _, d := range snap.RoleDefinitions {
		byName[d.RoleName] = d
	}
	c := byName["Pipeline Deployer"]
	if c.RoleType != "CustomRole" || c.Name != customGUID || len(c.Permissions) != 1 ||
		strings.Join(c.Permissions[0].Actions, ",") != "Microsoft.Web/sites/*,Microsoft.Resources/deployments/*" ||
		strings.Join(c.Permissions[0].NotActions, ",") != "Microsoft.Web/sites/delete" ||
		strings.Join(c.Permissions[0].DataActions, ",") != "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*" ||
		strings.Join(c.Permissions[0].NotDataActions, ",") != "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete" ||
		len(c.AssignableScopes) != 2 || c.ID != "/subscriptions/"+subProd+"/providers/Microsoft.Authorization/roleDefinitions/"+customGUID {
		t.Errorf("custom role: %+v", c)
	}
	if r := byName["Reader"]; r.RoleType != "BuiltInRole" || r.Permissions[0].Actions[0] != "*/read" || r.AssignableScopes[0] != "/" {
		t.Errorf("Reader: %+v", r)
	}
	if h := byName["Blob Log Reader"]; h.Name != rgOnlyGUID || h.Permissions[0].DataActions[0] != "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read" {
		t.Errorf("definition fetched by ID: %+v", h)
	}
	base := "/subscriptions/" + subProd + "/providers/Microsoft.Authorization/roleDefinitions"
	if e.arm.Requests(base) != 2 || e.arm.Requests(base+"/"+rgOnlyGUID) != 1 || e.arm.Requests(base+"/"+goneGUID) != 1 {
		t.Errorf("list requests %d (want 2 pages), get-by-id %d and %d (want 1 each)", e.arm.Requests(base), e.arm.Requests(base+"/"+rgOnlyGUID), e.arm.Requests(base+"/"+goneGUID))
	}
}

// TestRBACDeniedIsPermission: 403 AuthorizationFailed is classified as a permission error
// naming the subscription, the call and ARM's code and message, and is not retried.
func TestRBACDeniedIsPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.arm.Denied[subProd] = true
	_, err := (&RBAC{Auth: e.auth}).RoleAssignments(context.Background(), prodSub())
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if KindOf(err) != KindPermission || ae.SubscriptionID != subProd || ae.Code != "AuthorizationFailed" || ae.StatusCode != 403 ||
		ae.Call != "armauthorization:RoleAssignments.ListForSubscription" {
		t.Errorf("classified as %+v", ae)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "subscription "+subProd+": armauthorization:RoleAssignments.ListForSubscription: permission: 403 AuthorizationFailed: ") ||
		!strings.Contains(msg, "Microsoft.Authorization/roleAssignments/read") || strings.Contains(msg, "fake.") {
		t.Errorf("message %q", msg)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 {
		t.Errorf("the SDK's ResponseError is not reachable with errors.As: %v", err)
	}
	if n := e.arm.Requests("/subscriptions/" + subProd + "/providers/Microsoft.Authorization/roleAssignments"); n != 1 {
		t.Errorf("%d requests; a 403 must not be retried", n)
	}
	_, err = (&RBAC{Auth: e.auth}).RoleDefinitions(context.Background(), prodSub())
	if KindOf(err) != KindPermission || !strings.Contains(err.Error(), subProd) || !strings.Contains(err.Error(), "roleDefinitions/read") {
		t.Errorf("role definitions denied: %v", err)
	}
}

// TestRBACThrottledPastMaxRetryDelay: a Retry-After longer than MaxRetryDelay is not waited
// out; the 429 comes back at once, classified as throttled, naming the subscription.
func TestRBACThrottledPastMaxRetryDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.arm.Throttle, e.arm.RetryAfter = 10, "3600"
	start := time.Now()
	_, err := (&RBAC{Auth: e.auth}).RoleAssignments(context.Background(), prodSub())
	if KindOf(err) != KindThrottled || !strings.Contains(err.Error(), "subscription "+subProd) || !strings.Contains(err.Error(), "429 TooManyRequests") {
		t.Fatalf("err = %v, want throttled naming %s", err, subProd)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s: the hour-long Retry-After was waited for", d)
	}
	if e.arm.Throttled() != 1 {
		t.Errorf("%d throttled answers, want 1 (no retry when Retry-After > MaxRetryDelay)", e.arm.Throttled())
	}
}

// TestRBACRejectsBadSubscriptionID: the ID is checked before any request.
func TestRBACRejectsBadSubscriptionID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, bad := range []string{"../../providers/Microsoft.Authorization", "11111111-1111-4111-8111-11111111111", ""} {
		_, err := (&RBAC{Auth: e.auth}).RoleAssignments(context.Background(), Subscription{ID: bad})
		var ie *InvalidIDError
		if !errors.As(err, &ie) || ie.What != "subscription" || ie.Value != bad || KindOf(err) != KindInvalidInput {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if n := e.arm.Requests("/subscriptions"); n != 0 || len(e.login.Requests()) != 0 {
		t.Errorf("requests were sent for invalid IDs")
	}
}
