package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/permlake/permlake/extract/azure/azapitest"
)

// rbacEnv is an env whose ARM server knows prodSub in tenant A with its roles (one only
// assignable at a resource group, one deleted while assigned) and whose Graph knows directory().
func rbacEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, nil)
	e.arm.Subscriptions = []azapitest.Subscription{{ID: subProd, DisplayName: "contoso-prod", TenantID: tenantA, State: "Enabled"}}
	e.arm.RoleDefinitions[subProd] = definitions()
	e.arm.HiddenDefinitions[subProd] = []azapitest.RoleDefinition{{Name: rgOnlyGUID, RoleName: "Blob Log Reader", Type: "CustomRole",
		DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}, AssignableScopes: []string{"/subscriptions/" + subProd + "/resourceGroups/rg-app"}}}
	e.arm.RoleAssignments[subProd] = assignments()
	directory(e.graph)
	return e
}

func apiSource(t *testing.T, e *env) *API {
	t.Helper()
	s := &API{Auth: e.auth, Discovery: Discovery{Discover: true}}
	subs, err := s.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].ID != subProd || subs[0].TenantID != tenantA {
		t.Fatalf("subscriptions %+v", subs)
	}
	return s
}

// serverValues pages a list of the ARM test server directly, with a token of tenant A, and
// returns each value as the server wrote it: what the Source's values must equal.
func serverValues(t *testing.T, e *env, path string) [][]byte {
	t.Helper()
	client := azapitest.Client(e.arm.Server)
	token := azapitest.Token(azapitest.Claims{TenantID: tenantA, ClientID: clientA, Scope: e.arm.URL + "/.default"})
	var out [][]byte
	for next := e.arm.URL + path; next != ""; {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", next, resp.StatusCode, err)
		}
		for _, v := range page.Value {
			out = append(out, v)
		}
		next = page.NextLink
	}
	return out
}

func obj(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return m
}

func props(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	p, _ := obj(t, raw)["properties"].(map[string]any)
	return p
}

// TestAPIRBACIsARMWireFormat: RBAC returns List For Subscription's and Role Definitions - List's
// values byte for byte as the server sent them (three pages of assignments, two of definitions),
// then the definition only assignable at a resource group fetched by ID; the deleted one is skipped.
func TestAPIRBACIsARMWireFormat(t *testing.T) {
	t.Parallel()
	e := rbacEnv(t)
	s := apiSource(t, e)
	snap, err := s.RBAC(context.Background(), strings.ToUpper(subProd))
	if err != nil {
		t.Fatal(err)
	}
	if snap.SubscriptionID != subProd || snap.TenantID != tenantA ||
		snap.SourceKey != e.arm.URL+"/subscriptions/"+subProd+"/providers/Microsoft.Authorization" {
		t.Errorf("snapshot identity %q %q %q", snap.SubscriptionID, snap.TenantID, snap.SourceKey)
	}
	base := "/subscriptions/" + subProd + "/providers/Microsoft.Authorization"
	wantRA := serverValues(t, e, base+"/roleAssignments?api-version=2022-04-01")
	wantRD := serverValues(t, e, base+"/roleDefinitions?api-version=2022-04-01")
	if len(snap.RoleAssignments) != 5 || len(wantRA) != 5 {
		t.Fatalf("%d assignments (server lists %d), want 5", len(snap.RoleAssignments), len(wantRA))
	}
	for i := range wantRA {
		if !bytes.Equal(bytes.TrimSpace(snap.RoleAssignments[i]), bytes.TrimSpace(wantRA[i])) {
			t.Errorf("assignment %d:\n got %s\nwant %s", i, snap.RoleAssignments[i], wantRA[i])
		}
	}
	if len(snap.RoleDefinitions) != 4 {
		t.Fatalf("%d definitions, want 3 listed + 1 by ID", len(snap.RoleDefinitions))
	}
	for i := range wantRD {
		if !bytes.Equal(bytes.TrimSpace(snap.RoleDefinitions[i]), bytes.TrimSpace(wantRD[i])) {
			t.Errorf("definition %d:\n got %s\nwant %s", i, snap.RoleDefinitions[i], wantRD[i])
		}
	}
	// The fields transform reads, concretely.
	mi := obj(t, snap.RoleAssignments[3])
	p := props(t, snap.RoleAssignments[3])
	if mi["name"] != "0e000000-0000-4000-8000-000000000004" || mi["type"] != "Microsoft.Authorization/roleAssignments" ||
		p["principalId"] != miFunctions || p["principalType"] != "ServicePrincipal" || p["conditionVersion"] != "2.0" ||
		p["scope"] != "/subscriptions/"+subProd+"/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/stapp" ||
		!strings.HasPrefix(fmt.Sprint(p["condition"]), "((!(ActionMatches{'Microsoft.Storage/") || p["createdOn"] != "2026-03-04T05:06:07.0000000Z" ||
		p["roleDefinitionId"] != "/subscriptions/"+subProd+"/providers/Microsoft.Authorization/roleDefinitions/"+rgOnlyGUID {
		t.Errorf("assignment 3: %s", snap.RoleAssignments[3])
	}
	hidden := obj(t, snap.RoleDefinitions[3])
	hp := props(t, snap.RoleDefinitions[3])
	perms, _ := hp["permissions"].([]any)
	if hidden["name"] != rgOnlyGUID || hp["roleName"] != "Blob Log Reader" || hp["type"] != "CustomRole" || len(perms) != 1 ||
		fmt.Sprint(perms[0].(map[string]any)["dataActions"]) != "[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read]" {
		t.Errorf("definition fetched by ID: %s", snap.RoleDefinitions[3])
	}
	if e.arm.Requests(base+"/roleAssignments") != 2*3 || e.arm.Requests(base+"/roleDefinitions/"+goneGUID) != 1 {
		t.Errorf("%d assignment requests (want 3 pages, by RBAC and by serverValues), %d for the deleted definition",
			e.arm.Requests(base+"/roleAssignments"), e.arm.Requests(base+"/roleDefinitions/"+goneGUID))
	}
	ids, err := snap.PrincipalIDs()
	if err != nil || strings.Join(ids, ",") != strings.Join([]string{goneID, miFunctions, spPipeline, groupOps, userAlice}, ",") {
		t.Errorf("principal IDs %v %v", ids, err)
	}
}

// TestRBACKeepsWhatSDKModelsDrop is why RBAC keeps the response bytes: decoding into
// armauthorization's models and marshalling them back (their MarshalJSON) keeps an
// assignment's properties.principalId, scope and condition, but drops a definition's
// createdOn/updatedOn/createdBy/updatedBy, which ARM returns.
func TestRBACKeepsWhatSDKModelsDrop(t *testing.T) {
	t.Parallel()
	e := rbacEnv(t)
	snap, err := apiSource(t, e).RBAC(context.Background(), subProd)
	if err != nil {
		t.Fatal(err)
	}
	var ra armauthorization.RoleAssignment
	if err := ra.UnmarshalJSON(snap.RoleAssignments[3]); err != nil {
		t.Fatal(err)
	}
	b, err := ra.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := props(t, b)
	if p["principalId"] != miFunctions || p["scope"] != props(t, snap.RoleAssignments[3])["scope"] || p["condition"] != props(t, snap.RoleAssignments[3])["condition"] ||
		obj(t, b)["id"] != obj(t, snap.RoleAssignments[3])["id"] {
		t.Errorf("assignment through the SDK model: %s", b)
	}
	var rd armauthorization.RoleDefinition
	if err := rd.UnmarshalJSON(snap.RoleDefinitions[0]); err != nil {
		t.Fatal(err)
	}
	b, err = rd.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := props(t, snap.RoleDefinitions[0])["createdOn"]; !ok {
		t.Fatalf("the raw definition lost createdOn: %s", snap.RoleDefinitions[0])
	}
	if _, ok := props(t, b)["createdOn"]; ok {
		t.Errorf("armauthorization's RoleDefinition now keeps createdOn (%s): marshalling the models would be lossless for definitions", b)
	}
}

// TestAPIDirectoryIsGraphWireFormat: the assigned principals with the transitive members of the
// assigned group, as Graph objects: users with signInActivity, service principals with
// servicePrincipalType, members with "@odata.type"; the deleted principal is Missing.
func TestAPIDirectoryIsGraphWireFormat(t *testing.T) {
	t.Parallel()
	e := rbacEnv(t)
	s := apiSource(t, e)
	dir, err := s.Directory(context.Background(), strings.ToUpper(tenantA), []string{userAlice, strings.ToUpper(groupOps), spPipeline, goneID})
	if err != nil {
		t.Fatal(err)
	}
	if dir.TenantID != tenantA || dir.SourceKey != e.graph.URL+"/v1.0" || dir.SignInActivityUnavailable ||
		strings.Join(dir.Missing, ",") != goneID {
		t.Errorf("tenant %q, source %q, sign-in unavailable %v, missing %v", dir.TenantID, dir.SourceKey, dir.SignInActivityUnavailable, dir.Missing)
	}
	var users []string
	for _, u := range dir.Users {
		users = append(users, fmt.Sprint(obj(t, u)["userPrincipalName"]))
	}
	if strings.Join(users, ",") != "alice@contoso.com,bob_fabrikam.com#EXT#@contoso.onmicrosoft.com,carol@contoso.com" {
		t.Errorf("users %v", users)
	}
	alice := obj(t, dir.Users[0])
	sia, _ := alice["signInActivity"].(map[string]any)
	if alice["id"] != userAlice || alice["accountEnabled"] != true || alice["userType"] != "Member" || alice["createdDateTime"] != "2021-01-02T03:04:05Z" ||
		sia["lastSignInDateTime"] != "2026-11-20T08:00:00Z" || sia["lastNonInteractiveSignInDateTime"] != "2026-11-21T09:30:00Z" {
		t.Errorf("alice: %s", dir.Users[0])
	}
	if len(dir.ServicePrincipals) != 2 || obj(t, dir.ServicePrincipals[0])["id"] != miFunctions ||
		obj(t, dir.ServicePrincipals[0])["servicePrincipalType"] != "ManagedIdentity" || obj(t, dir.ServicePrincipals[1])["appOwnerOrganizationId"] != tenantA {
		t.Errorf("service principals %s", dir.ServicePrincipals)
	}
	if len(dir.Groups) != 2 || obj(t, dir.Groups[0])["displayName"] != "Platform Ops" || obj(t, dir.Groups[1])["securityEnabled"] != true {
		t.Errorf("groups %s", dir.Groups)
	}
	var members []string
	for _, m := range dir.Members[groupOps] {
		o := obj(t, m)
		members = append(members, fmt.Sprint(o["@odata.type"], " ", o["id"]))
	}
	want := "#microsoft.graph.servicePrincipal " + miFunctions + ",#microsoft.graph.group " + groupNest + ",#microsoft.graph.user " + userBob + ",#microsoft.graph.user " + userCarol
	if len(dir.Members) != 1 || strings.Join(members, ",") != want {
		t.Errorf("members %v, want only the assigned group's: %s", members, want)
	}

	// Without P1 the users carry no signInActivity property at all (not null: that reads "never").
	e.graph.NoPremium = true
	dir, err = s.Directory(context.Background(), tenantA, []string{userAlice})
	if err != nil {
		t.Fatal(err)
	}
	if !dir.SignInActivityUnavailable || len(dir.Users) != 1 || bytes.Contains(dir.Users[0], []byte("signInActivity")) ||
		obj(t, dir.Users[0])["userPrincipalName"] != "alice@contoso.com" {
		t.Errorf("no premium: %v %s", dir.SignInActivityUnavailable, dir.Users)
	}
	if _, err := s.Directory(context.Background(), "contoso.onmicrosoft.com", nil); KindOf(err) != KindInvalidInput {
		t.Errorf("domain as tenant: %v", err)
	}
}

func catalog() []azapitest.Provider {
	return []azapitest.Provider{
		{Namespace: "Microsoft.Authorization", DisplayName: "Microsoft Authorization",
			Operations: []azapitest.Operation{{Name: "Microsoft.Authorization/elevateAccess/action", DisplayName: "Elevate access"}},
			ResourceTypes: []azapitest.ResourceType{{Name: "roleAssignments", DisplayName: "Role assignment", Operations: []azapitest.Operation{
				{Name: "Microsoft.Authorization/roleAssignments/read", DisplayName: "Get role assignment"},
				{Name: "Microsoft.Authorization/roleAssignments/write", DisplayName: "Create role assignment"}}}}},
		{Namespace: "Microsoft.Compute", DisplayName: "Microsoft Compute",
			Operations: []azapitest.Operation{{Name: "Microsoft.Compute/register/action", DisplayName: "Register Subscription for Compute", Origin: "user"}},
			ResourceTypes: []azapitest.ResourceType{{Name: "virtualMachines", DisplayName: "Virtual Machines", Operations: []azapitest.Operation{
				{Name: "Microsoft.Compute/virtualMachines/read", DisplayName: "Get Virtual Machine"},
				{Name: "Microsoft.Compute/virtualMachines/start/action", DisplayName: "Start Virtual Machine"}}}}},
		{Namespace: "Microsoft.Storage", DisplayName: "Microsoft Storage",
			ResourceTypes: []azapitest.ResourceType{{Name: "storageAccounts/blobServices/containers/blobs", DisplayName: "Blob", Operations: []azapitest.Operation{
				{Name: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", DisplayName: "Read Blob", IsDataAction: true}}}}},
	}
}

type catalogDoc struct {
	Value []struct {
		Name          string `json:"name"`
		ResourceTypes []struct {
			Name       string `json:"name"`
			Operations []struct {
				Name         string `json:"name"`
				IsDataAction bool   `json:"isDataAction"`
			} `json:"operations"`
		} `json:"resourceTypes"`
		Operations []struct {
			Name   string `json:"name"`
			Origin string `json:"origin"`
		} `json:"operations"`
	} `json:"value"`
}

// TestAPIOperationsPagesIntoOneDocument: three providers two a page, after a 429, merged into
// one {"value":[…]} with their resource types (so $expand=resourceTypes was sent).
func TestAPIOperationsPagesIntoOneDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.arm.ProviderOperations = catalog()
	e.arm.Throttle = 1
	doc, err := (&API{Auth: e.auth}).Operations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var c catalogDoc
	if err := json.Unmarshal(doc, &c); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	if len(c.Value) != 3 || c.Value[0].Name != "Microsoft.Authorization" || c.Value[2].Name != "Microsoft.Storage" {
		t.Fatalf("providers %+v", c.Value)
	}
	vm := c.Value[1].ResourceTypes
	if len(vm) != 1 || vm[0].Name != "virtualMachines" || len(vm[0].Operations) != 2 || vm[0].Operations[1].Name != "Microsoft.Compute/virtualMachines/start/action" ||
		c.Value[1].Operations[0].Origin != "user" || !c.Value[2].ResourceTypes[0].Operations[0].IsDataAction {
		t.Errorf("Microsoft.Compute %+v, Storage %+v", c.Value[1], c.Value[2])
	}
	if n := e.arm.Requests("/providers/Microsoft.Authorization/providerOperations"); n != 3 || e.arm.Throttled() != 1 {
		t.Errorf("%d requests (%d throttled), want 2 pages + 1 retried 429", n, e.arm.Throttled())
	}
	if !bytes.HasPrefix(doc, []byte(`{"value":[{`)) || bytes.Contains(doc, []byte("nextLink")) {
		t.Errorf("document %.80s…: want one list response without a nextLink", doc)
	}

	e.arm.DeniedOperations = true
	_, err = (&API{Auth: e.auth}).Operations(context.Background())
	if KindOf(err) != KindPermission || !strings.Contains(err.Error(), "arm:ProviderOperationsMetadata.List: permission: 403 AuthorizationFailed") ||
		!strings.Contains(err.Error(), PermProviderOperationsRead) {
		t.Errorf("denied: %v", err)
	}
}

func checkRows(cs []Check) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s ok=%v\n", c.What, c.OK)
	}
	return b.String()
}

// TestCheck: every read a snapshot needs, one row each; a 403 on the RBAC reads names the
// permission and carries ARM's code and message; a tenant without P1 fails only the
// signInActivity row; a wrong secret stops at the token.
func TestCheck(t *testing.T) {
	t.Parallel()
	e := rbacEnv(t)
	e.arm.ProviderOperations = catalog()
	s := apiSource(t, e)
	all := s.Check(context.Background(), subProd)
	want := "Entra ID token for ARM (client_secret credential) ok=true\n" +
		PermRoleDefinitionsRead + " ok=true\n" + PermRoleAssignmentsRead + " ok=true\n" + PermProviderOperationsRead + " ok=true\n" +
		"Directory.Read.All (GET /users) ok=true\nAuditLog.Read.All (GET /users signInActivity) ok=true\n" +
		"Directory.Read.All (GET /groups) ok=true\nDirectory.Read.All (GET /servicePrincipals) ok=true\n"
	if got := checkRows(all); got != want {
		t.Errorf("all granted:\n%s\nwant\n%s", got, want)
	}
	if n := e.graph.Requests("/v1.0/users"); n != 2 {
		t.Errorf("%d user requests: a check reads one page per row", n)
	}
	// Every permission a row names is one deploy/azure grants.
	granted := map[string]bool{}
	for _, ps := range RequiredPermissions {
		for _, p := range ps {
			granted[p] = true
		}
	}
	for _, c := range all[1:] {
		if perm, _, _ := strings.Cut(c.What, " "); !granted[perm] || c.SubscriptionID != subProd {
			t.Errorf("row %+v names %q, not in RequiredPermissions", c, perm)
		}
	}

	e.arm.Denied[subProd] = true
	e.graph.NoPremium = true
	denied := s.Check(context.Background(), subProd)
	want = strings.NewReplacer(PermRoleDefinitionsRead+" ok=true", PermRoleDefinitionsRead+" ok=false",
		PermRoleAssignmentsRead+" ok=true", PermRoleAssignmentsRead+" ok=false",
		"signInActivity) ok=true", "signInActivity) ok=false").Replace(want)
	if got := checkRows(denied); got != want {
		t.Errorf("denied:\n%s\nwant\n%s", got, want)
	}
	ra := denied[2]
	if !strings.HasPrefix(ra.Detail, "403 AuthorizationFailed: The client '"+clientA+"'") ||
		!strings.Contains(ra.Detail, "perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/subscriptions/"+subProd+"'") {
		t.Errorf("role assignments row detail %q", ra.Detail)
	}
	if d := denied[5].Detail; d != "403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: Neither tenant is B2C or tenant doesn't have premium license" {
		t.Errorf("signInActivity row detail %q", d)
	}
	if denied[0].Detail != "" || denied[3].Detail != "" {
		t.Errorf("granted rows carry details: %+v", denied)
	}

	// A wrong secret (one tenant configured): the token row fails and nothing else is tried.
	bad := newEnv(t, func(c *Config) { c.Tenants = c.Tenants[:1] })
	bad.login.Secrets[clientA] = "rotated"
	rows := (&API{Auth: bad.auth}).Check(context.Background(), subProd)
	if len(rows) != 1 || rows[0].OK || !strings.HasPrefix(rows[0].What, "Entra ID token") || !strings.Contains(rows[0].Detail, "AADSTS7000215") {
		t.Errorf("wrong secret: %+v", rows)
	}
	// Two tenants and a subscription discovery never saw: the credential row says why.
	rows = (&API{Auth: e.auth}).Check(context.Background(), subDev)
	if len(rows) != 1 || rows[0].What != "credential" || rows[0].OK || !strings.Contains(rows[0].Detail, "add a subscription override") {
		t.Errorf("unknown tenant: %+v", rows)
	}
	if rows := s.Check(context.Background(), "prod"); len(rows) != 1 || rows[0].What != "subscription ID" || rows[0].OK {
		t.Errorf("bad ID: %+v", rows)
	}
}
