package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	sqlfiles "github.com/permlake/permlake/sql"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

const (
	azSub    = "11111111-1111-4111-8111-111111111111"
	azTenant = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	alice    = "a11ce000-0000-4000-8000-000000000001"
	bob      = "b0b00000-0000-4000-8000-000000000002"
	ci       = "c1c10000-0000-4000-8000-000000000003"
	mi       = "d1d10000-0000-4000-8000-000000000004"
	readers  = "e0e00000-0000-4000-8000-000000000005"
)

// writeAzureFixture adds an Azure subscription and tenant to the lake at root: a Contributor-like
// role (everything but Microsoft.Authorization writes) for alice at the subscription, Reader for a
// group (alice and bob) at a management group, a custom VM operator role (start but not
// runCommand) for a CI service principal on one resource group, a blob data role for a managed
// identity on one storage account; activity: alice writes a VM (Start + Succeeded) and fails a
// delete, CI starts a VM, bob assigns a role Reader does not grant; alice signs in.
func writeAzureFixture(t *testing.T, root string) {
	t.Helper()
	ctx := context.Background()
	l, err := load.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	subPart := load.Partition{ID: azSub, By: schemas.BySubscriptionHour, Hour: now.Add(-time.Hour)}
	tenPart := load.Partition{ID: azTenant, By: schemas.ByTenantHour, Hour: now.Add(-time.Hour)}
	must := func(_ load.PartitionStats, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var ops []schemas.AzureOperation
	for _, o := range []string{"Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/delete",
		"Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/virtualMachines/runCommand/action", "Microsoft.Storage/storageAccounts/read",
		"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/read"} {
		ops = append(ops, schemas.AzureOperation{Operation: o, Provider: strings.ToLower(strings.Split(o, "/")[0]), SnapshotAt: snapAt})
	}
	ops = append(ops, schemas.AzureOperation{Operation: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", Provider: "microsoft.storage", IsDataAction: true, SnapshotAt: snapAt})
	must(load.ReplacePartition(ctx, l, schemas.AzureProviderOperations, tenPart, ops))
	none := []string{}
	must(load.ReplacePartition(ctx, l, schemas.AzureRoleDefinitions, subPart, []schemas.AzureRoleDefinition{
		{RoleDefinitionID: "r-contrib", RoleName: "Contrib", RoleType: "BuiltInRole", Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Write"}, DataActions: none, NotDataActions: none, AssignableScopes: []string{"/"}, SnapshotAt: snapAt},
		{RoleDefinitionID: "r-reader", RoleName: "Reader", RoleType: "BuiltInRole", Actions: []string{"*/read"}, NotActions: none, DataActions: none, NotDataActions: none, AssignableScopes: []string{"/"}, SnapshotAt: snapAt},
		{RoleDefinitionID: "r-vmop", RoleName: "VM operator", RoleType: "CustomRole", Actions: []string{"Microsoft.Compute/virtualMachines/*/action"}, NotActions: []string{"microsoft.compute/virtualmachines/runcommand/action"}, DataActions: none, NotDataActions: none, AssignableScopes: []string{"/subscriptions/" + azSub}, SnapshotAt: snapAt},
		{RoleDefinitionID: "r-blob", RoleName: "Blob reader", RoleType: "BuiltInRole", Actions: none, NotActions: none, DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}, NotDataActions: none, AssignableScopes: []string{"/"}, SnapshotAt: snapAt},
	}))
	scope := "/subscriptions/" + azSub
	ra := func(id, sc, level, role, principal, ptype string) schemas.AzureRoleAssignment {
		return schemas.AzureRoleAssignment{RoleAssignmentID: id, ID: sc + "/providers/Microsoft.Authorization/roleAssignments/" + id, Scope: sc, ScopeLC: strings.ToLower(sc),
			ScopeLevel: level, RoleDefinitionID: role, PrincipalID: principal, PrincipalType: ptype, SnapshotAt: snapAt}
	}
	must(load.ReplacePartition(ctx, l, schemas.AzureRoleAssignments, subPart, []schemas.AzureRoleAssignment{
		ra("ra-1", scope, "subscription", "r-contrib", alice, "user"),
		ra("ra-2", "/providers/Microsoft.Management/managementGroups/corp", "management_group", "r-reader", readers, "group"),
		ra("ra-3", scope+"/resourceGroups/rg1", "resource_group", "r-vmop", ci, "service_principal"),
		ra("ra-4", scope+"/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/st1", "resource", "r-blob", mi, "service_principal"),
	}))
	old := now.AddDate(-1, 0, 0)
	sp := func(s string) *string { return &s }
	must(load.ReplacePartition(ctx, l, schemas.AzurePrincipals, tenPart, []schemas.AzurePrincipal{
		{PrincipalID: alice, PrincipalType: "user", UserPrincipalName: sp("alice@example.com"), CreatedAt: &old, HasSignInActivity: true, SnapshotAt: snapAt},
		{PrincipalID: bob, PrincipalType: "user", UserPrincipalName: sp("bob@example.com"), CreatedAt: &old, HasSignInActivity: true, SnapshotAt: snapAt},
		{PrincipalID: ci, PrincipalType: "service_principal", DisplayName: sp("ci"), CreatedAt: &old, SnapshotAt: snapAt},
		{PrincipalID: mi, PrincipalType: "managed_identity", DisplayName: sp("app-identity"), CreatedAt: &old, SnapshotAt: snapAt},
		{PrincipalID: readers, PrincipalType: "group", DisplayName: sp("readers"), CreatedAt: &old, SnapshotAt: snapAt},
	}))
	must(load.ReplacePartition(ctx, l, schemas.AzureGroupMembers, tenPart, []schemas.AzureGroupMember{
		{GroupID: readers, MemberID: alice, MemberType: "user", SnapshotAt: snapAt},
		{GroupID: readers, MemberID: bob, MemberType: "user", SnapshotAt: snapAt},
	}))
	ev := func(key, principal, action, result, corr string, at time.Time) schemas.AzureActivityEvent {
		a := strings.ToLower(action)
		return schemas.AzureActivityEvent{RecordKey: key, EventTime: at, ResourceID: scope, ResourceIDLC: scope, OperationName: action, Action: &a,
			ResultType: &result, IsSuccess: result == "Succeeded", CorrelationID: &corr, PrincipalID: &principal, SourceKey: "k"}
	}
	events := []schemas.AzureActivityEvent{
		ev("e1", alice, "Microsoft.Compute/virtualMachines/write", "Start", "c1", hour),
		ev("e2", alice, "MICROSOFT.COMPUTE/virtualMachines/write", "Succeeded", "c1", hour.Add(time.Minute)),
		ev("e3", alice, "Microsoft.Compute/virtualMachines/delete", "Failed", "c2", hour.Add(2*time.Minute)),
		ev("e4", ci, "Microsoft.Compute/virtualMachines/start/action", "Succeeded", "c3", hour.Add(3*time.Minute)),
		ev("e5", bob, "Microsoft.Authorization/roleAssignments/write", "Succeeded", "c4", hour.Add(4*time.Minute)),
	}
	must(load.ReplacePartition(ctx, l, schemas.AzureActivityEvents, load.Partition{ID: azSub, By: schemas.BySubscriptionHour, Hour: hour}, events))
	must(load.ReplacePartition(ctx, l, schemas.AzureSignInEvents, load.Partition{ID: azTenant, By: schemas.ByTenantHour, Hour: hour}, []schemas.AzureSignInEvent{
		{SignInID: "s1", EventTime: hour, Category: "SignInLogs", PrincipalID: sp(alice), PrincipalType: "user", IsSuccess: true, SourceKey: "k"},
	}))
}

func TestAzureMarts(t *testing.T) {
	t.Parallel()
	root := writeFixtureLake(t)
	writeAzureFixture(t, root)
	db, err := buildLake(t, sqlfiles.FS, root)
	if err != nil {
		t.Fatal(err)
	}
	short := map[string]string{alice: "alice", bob: "bob", ci: "ci", mi: "mi"}
	got := rowsOf(t, db, `select concat_ws(' ', principal_arn, action, status, uses, attempts, nullif(array_to_string(granted_by, '+'), ''), coalesce(resource_scope, '-'), is_high_risk)
		from permission_usage where cloud = 'azure' order by principal_arn, action`)
	for i, g := range got {
		for id, name := range short {
			g = strings.Replace(g, id, name, 1)
		}
		got[i] = g
	}
	want := []string{
		"alice Microsoft.Authorization/roleAssignments/read unknown 0 0 Contrib+Reader all false",
		"alice Microsoft.Compute/virtualMachines/delete unused 0 1 Contrib all false",
		"alice Microsoft.Compute/virtualMachines/read unknown 0 0 Contrib+Reader all false",
		"alice Microsoft.Compute/virtualMachines/runCommand/action unused 0 0 Contrib all true",
		"alice Microsoft.Compute/virtualMachines/start/action unused 0 0 Contrib all false",
		"alice Microsoft.Compute/virtualMachines/write used 1 0 Contrib all false",
		"alice Microsoft.Storage/storageAccounts/listKeys/action unused 0 0 Contrib all true",
		"alice Microsoft.Storage/storageAccounts/read unknown 0 0 Contrib+Reader all false",
		"bob Microsoft.Authorization/roleAssignments/read unknown 0 0 Reader all false",
		"bob Microsoft.Authorization/roleAssignments/write used_not_granted 1 0 - true",
		"bob Microsoft.Compute/virtualMachines/read unknown 0 0 Reader all false",
		"bob Microsoft.Storage/storageAccounts/read unknown 0 0 Reader all false",
		"ci Microsoft.Compute/virtualMachines/start/action used 1 0 VM operator narrowed false",
		"mi Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read unknown 0 0 Blob reader narrowed false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("azure permission_usage:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := rowsOf(t, db, `select principal_type || ' ' || coalesce(last_activity_source, 'never') from inactive_identities where cloud = 'azure' order by 1`); strings.Join(got, ",") != "managed_identity never" {
		t.Errorf("azure inactive identities = %v (only the managed identity: alice signed in, bob and ci acted)", got)
	}
	if got := rowsOf(t, db, `select policy_document from least_privilege_policies where cloud = 'azure' and principal_arn = '`+ci+`'`); len(got) != 1 ||
		got[0] != `{"Name":"permlake least privilege `+ci+`","IsCustom":true,"Description":"The operations `+ci+` used in the look-back window","Actions":["Microsoft.Compute/virtualMachines/start/action"],"NotActions":[],"DataActions":[],"NotDataActions":[],"AssignableScopes":["/subscriptions/`+azSub+`"]}` {
		t.Errorf("azure least-privilege role = %v", got)
	}
	if got := rowsOf(t, db, `select principal_type || ' ' || granted_count || ' ' || unused_count || ' ' || unknown_count || ' ' || unused_high_risk_count || ' ' || score
		from creep_scores where cloud = 'azure' and principal_arn = '`+alice+`'`); strings.Join(got, ",") != "user 8 4 3 2 56" {
		t.Errorf("alice's creep score = %v", got)
	}
}

// TestAzureAuditLogIsActivity: a successful directory change is a sign of use; a failed one is
// not.
func TestAzureAuditLogIsActivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := writeFixtureLake(t)
	writeAzureFixture(t, root)
	l, err := load.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sp := func(s string) *string { return &s }
	if _, err := load.ReplacePartition(ctx, l, schemas.AzureAuditEvents, load.Partition{ID: azTenant, By: schemas.ByTenantHour, Hour: hour}, []schemas.AzureAuditEvent{
		{AuditID: "a1", EventTime: hour, Result: sp("success"), IsSuccess: true, InitiatedByID: sp(mi), InitiatedByType: sp("service_principal"), SourceKey: "k"},
		{AuditID: "a2", EventTime: hour, Result: sp("failure"), InitiatedByID: sp(ci), InitiatedByType: sp("service_principal"), SourceKey: "k"},
	}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	db, err := buildLake(t, sqlfiles.FS, root)
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, db, `select last_activity_source from int_azure_principals__activity where principal_id = '`+mi+`'`); strings.Join(got, ",") != "audit_log" {
		t.Errorf("managed identity's last activity = %v, want its directory change", got)
	}
	if got := rowsOf(t, db, `select count(*)::varchar from inactive_identities where cloud = 'azure'`); got[0] != "0" {
		t.Errorf("azure inactive identities = %v, want none", got)
	}
	if got := rowsOf(t, db, `select last_activity_source from int_azure_principals__activity where principal_id = '`+ci+`'`); strings.Join(got, ",") != "activity_log" {
		t.Errorf("a failed directory change counted for ci: %v", got)
	}
}
