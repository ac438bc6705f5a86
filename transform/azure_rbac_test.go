package transform

import (
	"os"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// listValues returns the objects of a list response's "value", each as its own JSON text, as
// extract hands them over.
func listValues(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := make([][]byte, len(page.Value))
	for i, v := range page.Value {
		out[i] = v
	}
	return out
}

var azSnapshotAt = time.Date(2026, 11, 22, 7, 0, 0, 0, time.FixedZone("CET", 3600))

func azMeta(key string) SnapshotMeta {
	return SnapshotMeta{AccountID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", SnapshotAt: azSnapshotAt, Lineage: Lineage{RunID: "run-7", SourceKey: key}}
}

func TestAzureRoleDefinitions(t *testing.T) {
	t.Parallel()
	rows, err := AzureRoleDefinitions(listValues(t, "testdata/azure/role_definitions.json"), azMeta("arm/roleDefinitions"))
	if err != nil {
		t.Fatal(err)
	}
	// Five objects, Reader twice (subscription- and tenant-level IDs): four rows, sorted.
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.RoleDefinitionID)
	}
	if got := strings.Join(ids, " "); got != "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1 3f0c1a2b-4d5e-4f60-8172-839405a6b7c8 acdd72a7-3385-48ef-bd42-f606fba81ae7 b24988ac-6180-42a0-ab88-20f7382dd24c" {
		t.Fatalf("role_definition_ids = %s", got)
	}
	blob, custom, reader, contrib := rows[0], rows[1], rows[2], rows[3]

	// The custom role's two permission blocks are one union; the second block's case variant of
	// start/action is the same permission and is not repeated.
	for name, tc := range map[string]struct{ got, want []string }{
		"actions":          {custom.Actions, []string{"Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/virtualMachines/*/read", "Microsoft.Compute/virtualMachines/restart/action"}},
		"not_actions":      {custom.NotActions, []string{"Microsoft.Compute/virtualMachines/delete"}},
		"data_actions":     {custom.DataActions, []string{"Microsoft.Compute/virtualMachines/login/action"}},
		"not_data_actions": {custom.NotDataActions, []string{"Microsoft.Compute/virtualMachines/loginAsAdmin/action"}},
		"scopes":           {custom.AssignableScopes, []string{"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg-app"}},
	} {
		if strings.Join(tc.got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("custom role %s = %q, want %q", name, tc.got, tc.want)
		}
	}
	if custom.RoleName != "VM Operator (custom)" || custom.RoleType != "CustomRole" || custom.Description != nil ||
		custom.ID != "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/providers/Microsoft.Authorization/roleDefinitions/3F0C1A2B-4D5E-4F60-8172-839405A6B7C8" {
		t.Errorf("custom role = %+v", custom)
	}
	// The first Reader seen is kept, with its subscription-level ID; empty lists are empty, not nil.
	if reader.RoleName != "Reader" || reader.RoleType != "BuiltInRole" || strings.Join(reader.Actions, ",") != "*/read" ||
		reader.NotActions == nil || len(reader.NotActions) != 0 || reader.DataActions == nil || reader.NotDataActions == nil ||
		!strings.HasPrefix(reader.ID, "/subscriptions/") || str(reader.Description) != "View all resources, but does not allow you to make any changes." {
		t.Errorf("reader = %+v", reader)
	}
	if len(contrib.NotActions) != 8 || contrib.NotActions[0] != "Microsoft.Authorization/*/Delete" || strings.Join(contrib.Actions, ",") != "*" {
		t.Errorf("contributor = %+v", contrib)
	}
	// No name: the GUID comes from the last segment of the id.
	if blob.RoleName != "Storage Blob Data Reader" || strings.Join(blob.DataActions, ",") != "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read" {
		t.Errorf("blob data reader = %+v", blob)
	}
	for _, r := range rows {
		if !r.SnapshotAt.Equal(azSnapshotAt) || r.SnapshotAt.Location() != time.UTC || r.RunID != "run-7" || r.SourceKey != "arm/roleDefinitions" {
			t.Errorf("%s: snapshot/lineage %v %s %s", r.RoleDefinitionID, r.SnapshotAt, r.RunID, r.SourceKey)
		}
	}

	// Nothing in, nothing out (and not nil).
	if rows, err := AzureRoleDefinitions(nil, azMeta("k")); err != nil || rows == nil || len(rows) != 0 {
		t.Errorf("no definitions: %v, %v", rows, err)
	}
}

func TestAzureRoleDefinitionsErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ obj, errHas string }{
		"name not a GUID":  {`{"id":"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/reader","name":"reader","properties":{"roleName":"Reader"}}`, `role definition 2 (/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/reader): name "reader" is not a GUID`},
		"no name or id":    {`{"properties":{"roleName":"Orphan"}}`, "role definition 2 (Orphan)"},
		"not JSON":         {`{"id":`, "role definition 2"},
		"permissions type": {`{"name":"acdd72a7-3385-48ef-bd42-f606fba81ae7","properties":{"permissions":{"actions":"*"}}}`, "role definition 2"},
	} {
		ok := `{"name":"b24988ac-6180-42a0-ab88-20f7382dd24c","properties":{"roleName":"Contributor"}}`
		if _, err := AzureRoleDefinitions([][]byte{[]byte(ok), []byte(tc.obj)}, azMeta("k")); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.errHas)
		}
	}
}

func TestAzureRoleAssignments(t *testing.T) {
	t.Parallel()
	rows, err := AzureRoleAssignments(listValues(t, "testdata/azure/role_assignments.json"), azMeta("arm/roleAssignments"))
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ level, principal, principalType, role, scopeLC, condition, conditionVersion, created string }
	wants := map[string]want{
		"0a1b2c3d-4e5f-4061-8273-849506172839": {"root", "2f0e1d2c-3b4a-4596-8877-665544332211", "foreign_group", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "/", "<nil>", "<nil>", "2024-01-01T00:00:00Z"},
		"1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9": {"management_group", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "group", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "/providers/microsoft.management/managementgroups/mg-platform", "<nil>", "<nil>", "2025-12-01T08:00:00Z"},
		"4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b": {"subscription", "2468adf0-8211-4e3a-95f1-85137af64708", "user", "b24988ac-6180-42a0-ab88-20f7382dd24c", "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "<nil>", "<nil>", "2026-03-04T10:11:12.1234567Z"},
		"5e6f7081-92a3-4b4c-8d5e-6f708192a3b4": {"resource_group", "66666666-7777-4888-8999-000000000000", "service_principal", "3f0c1a2b-4d5e-4f60-8172-839405a6b7c8", "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourcegroups/rg-app", "<nil>", "<nil>", "2026-06-02T09:30:00.5Z"},
		"9c8b7a69-5847-4362-9150-a1b2c3d4e5f6": {"resource", "a1b2c3d4-e5f6-4789-8abc-def012345678", "service_principal", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourcegroups/rg-data/providers/microsoft.storage/storageaccounts/stdata01",
			"((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'reports'))", "2.0", "2026-09-15T14:20:00.1234567Z"},
		// A trailing slash on the scope is still a resource group.
		"e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7": {"resource_group", "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "device", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourcegroups/rg-app/", "<nil>", "<nil>", "2026-10-01T00:00:00Z"},
	}
	// Seven objects, one assignment listed twice: six rows, sorted by GUID.
	if len(rows) != len(wants) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(wants), rows)
	}
	for i, r := range rows {
		if i > 0 && rows[i-1].RoleAssignmentID >= r.RoleAssignmentID {
			t.Errorf("rows not sorted at %d", i)
		}
		w, ok := wants[r.RoleAssignmentID]
		if !ok {
			t.Errorf("unexpected row %s", r.RoleAssignmentID)
			continue
		}
		got := want{r.ScopeLevel, r.PrincipalID, r.PrincipalType, r.RoleDefinitionID, r.ScopeLC, str(r.Condition), str(r.ConditionVersion), ptrTime(r.CreatedAt)}
		if got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", r.RoleAssignmentID, got, w)
		}
		if strings.ToLower(r.Scope) != r.ScopeLC || r.ID == "" || !strings.HasSuffix(strings.ToLower(r.ID), r.RoleAssignmentID) ||
			!r.SnapshotAt.Equal(azSnapshotAt) || r.SnapshotAt.Location() != time.UTC || r.RunID != "run-7" || r.SourceKey != "arm/roleAssignments" {
			t.Errorf("%s: scope %q id %q snapshot %v lineage %s %s", r.RoleAssignmentID, r.Scope, r.ID, r.SnapshotAt, r.RunID, r.SourceKey)
		}
	}
	// Scope and ID keep the API's spelling.
	for _, r := range rows {
		if r.RoleAssignmentID == "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4" && (r.Scope != "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourcegroups/RG-App" || !strings.HasSuffix(r.ID, "5E6F7081-92A3-4B4C-8D5E-6F708192A3B4")) {
			t.Errorf("spelling not kept: %q %q", r.Scope, r.ID)
		}
	}
}

func TestAzureScopeLevel(t *testing.T) {
	t.Parallel()
	for scope, want := range map[string]string{
		"/": "root",
		"/providers/Microsoft.Management/managementGroups/mg-platform":                                 "management_group",
		"/PROVIDERS/MICROSOFT.MANAGEMENT/MANAGEMENTGROUPS/72f988bf-86f1-41af-91ab-2d7cd011db47":        "management_group",
		"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0":                                          "subscription",
		"/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/":                                         "subscription",
		"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg-app":                    "resource_group",
		"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/RESOURCEGROUPS/RG-APP":                    "resource_group",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1":                   "resource",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/web": "resource",
		"/subscriptions/s/providers/Microsoft.Security/pricings/default":                               "resource",
		"":                                      "",
		"subscriptions/s":                       "",
		"/subscriptions":                        "",
		"/subscriptions//resourceGroups/rg":     "",
		"/providers/Microsoft.Management":       "",
		"/tenants/72f988bf-86f1-41af-91ab-2d7c": "",
		"/subscriptions/s/resourceGroups":       "",
		"/providers/Microsoft.Management/managementGroups/mg/subscriptions/s": "",
	} {
		got, ok := azScopeLevel(scope)
		if got != want || ok != (want != "") {
			t.Errorf("azScopeLevel(%q) = %q, %v; want %q", scope, got, ok, want)
		}
	}
}

func TestAzureRoleAssignmentsErrors(t *testing.T) {
	t.Parallel()
	const id = "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/providers/Microsoft.Authorization/roleAssignments/4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b"
	obj := func(props string) string {
		return `{"id":"` + id + `","name":"4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b","properties":{` + props + `}}`
	}
	const (
		role      = `"roleDefinitionId":"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"`
		principal = `"principalId":"2468adf0-8211-4e3a-95f1-85137af64708","principalType":"User"`
		scope     = `"scope":"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"`
	)
	if rows, err := AzureRoleAssignments([][]byte{[]byte(obj(role + "," + principal + "," + scope))}, azMeta("k")); err != nil || len(rows) != 1 || rows[0].CreatedAt != nil {
		t.Fatalf("valid assignment: %+v, %v", rows, err)
	}
	for name, tc := range map[string]struct{ obj, errHas string }{
		"role definition not a GUID": {obj(`"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/Reader",` + principal + "," + scope), `roleDefinitionId "/providers/Microsoft.Authorization/roleDefinitions/Reader" does not end in a GUID`},
		"no role definition":         {obj(principal + "," + scope), "roleDefinitionId"},
		"principal not a GUID":       {obj(role + `,"principalId":"alice@contoso.com",` + scope), `principalId "alice@contoso.com"`},
		"no scope":                   {obj(role + "," + principal), `scope ""`},
		"tenant scope":               {obj(role + "," + principal + `,"scope":"/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47"`), "is not a root"},
		"bad createdOn":              {obj(role + "," + principal + "," + scope + `,"createdOn":"March"`), "createdOn"},
		"name not a GUID":            {`{"id":"/x/roleAssignments/abc","name":"abc","properties":{` + role + "," + principal + "," + scope + `}}`, `role assignment 1 (/x/roleAssignments/abc): name "abc"`},
		"not JSON":                   {`[1]`, "role assignment 1"},
	} {
		_, err := AzureRoleAssignments([][]byte{[]byte(tc.obj)}, azMeta("k"))
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.errHas)
		}
		if err != nil && tc.obj != `[1]` && !strings.Contains(err.Error(), "role assignment 1 (") {
			t.Errorf("%s: error %v does not name the assignment", name, err)
		}
	}
}

func TestAzureSnakeCase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"User": "user", "Group": "group", "ServicePrincipal": "service_principal", "ForeignGroup": "foreign_group",
		"Device": "device", "user": "user", "USER": "user", "": "unknown",
	} {
		if got := azSnakeCase(in); got != want {
			t.Errorf("azSnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAzureProviderOperations(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("testdata/azure/provider_operations.json")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := AzureProviderOperations(doc, azMeta("arm/providerOperations"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Operation+" "+r.Provider+" "+str(r.DisplayName)+" "+map[bool]string{true: "data", false: "control"}[r.IsDataAction])
		if !r.SnapshotAt.Equal(azSnapshotAt) || r.SnapshotAt.Location() != time.UTC || r.RunID != "run-7" || r.SourceKey != "arm/providerOperations" {
			t.Errorf("%s: snapshot/lineage %v %s %s", r.Operation, r.SnapshotAt, r.RunID, r.SourceKey)
		}
	}
	// The provider's own operation and those under each resource type; the lower-case spelling
	// of virtualMachines/read is the same operation and is dropped; a missing isDataAction is
	// a control-plane operation.
	want := []string{
		"Microsoft.Compute/register/action microsoft.compute Register Subscription for Compute control",
		"Microsoft.Compute/virtualMachines/extensions/read microsoft.compute Get Virtual Machine Extension control",
		"Microsoft.Compute/virtualMachines/login/action microsoft.compute Log in to Virtual Machine data",
		"Microsoft.Compute/virtualMachines/read microsoft.compute Get Virtual Machine control",
		"Microsoft.Compute/virtualMachines/start/action microsoft.compute Start Virtual Machine control",
		"Microsoft.Compute/virtualMachines/write microsoft.compute Create or Update Virtual Machine control",
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read microsoft.storage Read Blob data",
		"Microsoft.Storage/storageAccounts/listKeys/action microsoft.storage List Storage Account Keys control",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("operations:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if rows, err := AzureProviderOperations([]byte(`{"value":[]}`), azMeta("k")); err != nil || rows == nil || len(rows) != 0 {
		t.Errorf("empty list: %v, %v", rows, err)
	}
	for name, tc := range map[string]struct{ doc, errHas string }{
		"next page not merged":     {`{"value":[],"nextLink":"https://management.azure.com/providers/Microsoft.Authorization/providerOperations?$skiptoken=abc"}`, "nextLink"},
		"operation without a name": {`{"value":[{"name":"Microsoft.Web","operations":[{"displayName":"x"}]}]}`, "provider Microsoft.Web has an operation without a name"},
		"not JSON":                 {`{"value":`, "provider operations"},
	} {
		if _, err := AzureProviderOperations([]byte(tc.doc), azMeta("k")); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.errHas)
		}
	}
}
