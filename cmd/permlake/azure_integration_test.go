package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/azure"
	"github.com/permlake/permlake/extract/azure/activity"
	"github.com/permlake/permlake/extract/azure/azapitest"
	"github.com/permlake/permlake/extract/azure/azuretest"
)

const (
	itTenant = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa"
	itClient = "0a0a0a0a-0000-4000-8000-00000000000a"
	itProd   = "11111111-1111-4111-8111-111111111111"
	itDev    = "22222222-2222-4222-8222-222222222222"
	itAlice  = "a11ce000-0000-4000-8000-000000000001"
	itCI     = "c1c10000-0000-4000-8000-000000000003"
)

// activityLine is one Activity Log record in the storage schema.
func activityLine(sub, principal, op, result, corr string, at time.Time) string {
	return fmt.Sprintf(`{"time":"%s","resourceId":"/SUBSCRIPTIONS/%s/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1","operationName":"%s","category":"Administrative","resultType":"%s","resultSignature":"Succeeded.","durationMs":12,"callerIpAddress":"203.0.113.7","correlationId":"%s","identity":{"authorization":{"scope":"/subscriptions/%s/resourceGroups/rg1","action":"%s","evidence":{"role":"Contributor","principalId":"%s","principalType":"User"}},"claims":{"http://schemas.microsoft.com/identity/claims/objectidentifier":"%s","http://schemas.microsoft.com/identity/claims/tenantid":"%s","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}},"level":"Information","location":"global","properties":{"eventCategory":"Administrative"}}`,
		at.Format("2006-01-02T15:04:05.0000000Z"), strings.ToUpper(sub), op, result, corr, sub, op, strings.ReplaceAll(principal, "-", ""), principal, itTenant)
}

func signInLine(id, principal string, at time.Time) string {
	return fmt.Sprintf(`{"time":"%s","resourceId":"/tenants/%s/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"SignInLogs","tenantId":"%s","resultType":"0","callerIpAddress":"203.0.113.7","correlationId":"%s","identity":"Alice","level":4,"location":"NL","properties":{"id":"%s","createdDateTime":"%s","userId":"%s","userPrincipalName":"alice@example.com","appId":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c","appDisplayName":"Azure Portal","ipAddress":"203.0.113.7","status":{"errorCode":0},"isInteractive":true}}`,
		at.Format(time.RFC3339Nano), itTenant, itTenant, id, id, at.Format(time.RFC3339Nano), principal)
}

// TestAzureRunThroughAPIsAndAzurite collects two subscriptions through the ARM and Graph test
// servers (wire format, paging, a 429 first) and their Activity Log and sign-in exports from a
// real Azurite; after the append blobs grow (a half line completed, a late record appended to an
// hour already read, a new hour) a second run ingests exactly the new records.
func TestAzureRunThroughAPIsAndAzurite(t *testing.T) {
	ctx := context.Background()
	az := azuretest.StartAzurite(t)
	login, arm, graph := azapitest.NewLogin(t), azapitest.NewARM(t), azapitest.NewGraph(t)
	login.Secrets[itClient] = "secret"
	t.Setenv(azure.EnvClientSecret, "secret")
	t.Setenv("PERMLAKE_TEST_AZURITE_KEY", azuretest.AccountKey)
	old := azureTransport
	azureTransport = azapitest.Client(login.Server, arm.Server, graph.Server)
	t.Cleanup(func() { azureTransport = old })

	hour := time.Date(2026, 11, 15, 7, 0, 0, 0, time.UTC)
	arm.Throttle = 1
	arm.Subscriptions = []azapitest.Subscription{
		{ID: itProd, DisplayName: "prod", TenantID: itTenant, State: "Enabled"},
		{ID: itDev, DisplayName: "dev", TenantID: itTenant, State: "Enabled"},
	}
	contributor := azapitest.RoleDefinition{Name: "b24988ac-6180-42a0-ab88-20f7382dd24c", RoleName: "Contributor", Type: "BuiltInRole",
		Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Write"}, AssignableScopes: []string{"/"}}
	reader := azapitest.RoleDefinition{Name: "acdd72a7-3385-48ef-bd42-f606fba81ae7", RoleName: "Reader", Type: "BuiltInRole",
		Actions: []string{"*/read"}, AssignableScopes: []string{"/"}}
	arm.RoleDefinitions = map[string][]azapitest.RoleDefinition{itProd: {contributor, reader}, itDev: {contributor, reader}}
	arm.RoleAssignments = map[string][]azapitest.RoleAssignment{
		itProd: {{Name: "0000aaaa-0000-4000-8000-000000000001", Scope: "/subscriptions/" + itProd, PrincipalID: itAlice, PrincipalType: "User", RoleDefinitionID: contributor.Name, CreatedOn: hour.AddDate(-1, 0, 0)},
			{Name: "0000aaaa-0000-4000-8000-000000000002", Scope: "/subscriptions/" + itProd + "/resourceGroups/rg1", PrincipalID: itCI, PrincipalType: "ServicePrincipal", RoleDefinitionID: reader.Name, CreatedOn: hour.AddDate(-1, 0, 0)}},
		itDev: {{Name: "0000aaaa-0000-4000-8000-000000000003", Scope: "/subscriptions/" + itDev, PrincipalID: itAlice, PrincipalType: "User", RoleDefinitionID: reader.Name, CreatedOn: hour.AddDate(-1, 0, 0)}},
	}
	arm.ProviderOperations = []azapitest.Provider{{Namespace: "Microsoft.Compute", Operations: []azapitest.Operation{
		{Name: "Microsoft.Compute/virtualMachines/read"}, {Name: "Microsoft.Compute/virtualMachines/write"},
		{Name: "Microsoft.Compute/virtualMachines/start/action"}, {Name: "Microsoft.Compute/virtualMachines/delete"}}}}
	created := hour.AddDate(-1, 0, 0).Format(time.RFC3339)
	graph.Users = []azapitest.Object{{"id": itAlice, "displayName": "Alice", "userPrincipalName": "alice@example.com", "accountEnabled": true, "createdDateTime": created,
		"signInActivity": map[string]any{"lastSignInDateTime": hour.Format(time.RFC3339)}}}
	graph.ServicePrincipals = []azapitest.Object{{"id": itCI, "appId": "5e5e5e5e-0000-4000-8000-000000000005", "displayName": "ci", "servicePrincipalType": "Application", "accountEnabled": true, "createdDateTime": created}}

	// The exports: prod's hour 07 and 08, dev's hour 07, the tenant's sign-ins of hour 07.
	actC := az.Container(ctx, t, activity.ContainerActivityLogs)
	sigC := az.Container(ctx, t, activity.ContainerSignInLogs)
	blobName := func(e activity.Export, h time.Time) string { return e.BlobName(h) }
	prodExp, _ := activity.ActivityExport(itProd)
	devExp, _ := activity.ActivityExport(itDev)
	sigExp, _ := activity.EntraExport(activity.ContainerSignInLogs, itTenant)
	write, start, ok := "Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/start/action", "Succeeded"
	azuretest.Append(ctx, t, actC, blobName(prodExp, hour), []byte(
		activityLine(itProd, itAlice, write, "Start", "c-1", hour.Add(time.Minute))+"\n"+
			activityLine(itProd, itAlice, write, ok, "c-1", hour.Add(2*time.Minute))+"\n"+
			"not json at all\n"+
			activityLine(itProd, itAlice, start, ok, "c-2", hour.Add(3*time.Minute))[:40])) // a half line, completed later
	azuretest.Append(ctx, t, actC, blobName(devExp, hour), []byte(activityLine(itDev, itAlice, write, "Failed", "c-3", hour.Add(5*time.Minute))+"\n"))
	azuretest.Append(ctx, t, sigC, blobName(sigExp, hour), []byte(signInLine("s-1", itAlice, hour.Add(10*time.Minute))+"\n"))
	audC := az.Container(ctx, t, activity.ContainerAuditLogs)
	audExp, _ := activity.EntraExport(activity.ContainerAuditLogs, itTenant)
	azuretest.Append(ctx, t, audC, blobName(audExp, hour), []byte(fmt.Sprintf(`{"time":"%s","category":"AuditLogs","properties":{"id":"Directory_1","category":"RoleManagement","result":"success","activityDisplayName":"Add member to role","initiatedBy":{"user":{"id":"%s","userPrincipalName":"alice@example.com"}}}}`+"\n",
		hour.Add(20*time.Minute).Format(time.RFC3339), itAlice)))

	dir := t.TempDir()
	c := testConfig(dir, "azure")
	c.Azure.Cloud = azure.Cloud{AuthorityHost: login.URL, ARMEndpoint: arm.URL, ARMAudience: arm.URL, GraphEndpoint: graph.URL, DisableInstanceDiscovery: true}
	c.Azure.Tenants = []azure.Tenant{{ID: itTenant, Credential: azure.Credential{Kind: azure.CredentialClientSecret, ClientID: itClient}}}
	c.Azure.Retry = azure.Retry{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second}
	c.Azure.Discovery = azure.Discovery{Discover: true}
	c.Azure.Logs = AzureLogsConfig{URL: az.Endpoint, SharedKeyEnv: "PERMLAKE_TEST_AZURITE_KEY"}
	cfg := saveConfig(t, c, dir, "azure")
	lake := filepath.Join(dir, "azure")
	h := hour.Format("2006-01-02T15")

	code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h, "--no-models")
	t.Logf("first run:\n%s", stderr)
	if code != exitPartial || !strings.Contains(stderr, "line 3") {
		t.Fatalf("first run: exit %d, want 3 naming the malformed line 3:\n%s", code, stderr)
	}
	db := openDuck(t, "")
	events := func() []string {
		return queryStrings(t, db, `select subscription_id || ' ' || operation_name || ' ' || result_type || ' ' || principal_id || ' ' || hour
			from read_parquet('`+lake+`/azure_activity_events/**/*.parquet', hive_partitioning=true, hive_types={'subscription_id': 'VARCHAR', 'date': 'DATE', 'hour': 'INTEGER'}) order by event_time`)
	}
	want := []string{itProd + " " + write + " Start " + itAlice + " 7", itProd + " " + write + " Succeeded " + itAlice + " 7", itDev + " " + write + " Failed " + itAlice + " 7"}
	if got := events(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("activity after the first run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	count := func(table, key string) int64 {
		return queryInt(t, db, `select count(*) from read_parquet('`+lake+`/`+table+`/**/*.parquet', hive_partitioning=true, hive_types={'`+key+`': 'VARCHAR', 'date': 'DATE', 'hour': 'INTEGER'})`)
	}
	if n := count("azure_role_assignments", "subscription_id"); n != 3 {
		t.Errorf("role assignments = %d, want 3 over the two subscriptions", n)
	}
	if n := count("azure_principals", "tenant_id"); n != 2 {
		t.Errorf("principals = %d, want alice and ci", n)
	}
	if n := count("azure_provider_operations", "tenant_id"); n != 4 {
		t.Errorf("provider operations = %d, want 4", n)
	}
	if n := count("azure_signin_events", "tenant_id"); n != 1 {
		t.Errorf("sign-ins = %d, want 1", n)
	}
	if n := count("azure_audit_events", "tenant_id"); n != 1 {
		t.Errorf("audit records = %d, want 1", n)
	}
	if arm.Throttled() == 0 {
		t.Error("the ARM server's 429 was never sent")
	}

	// The blobs grow: the half line is completed, a late record lands in hour 07's blob, hour 08
	// gets its first record.
	azuretest.Append(ctx, t, actC, blobName(prodExp, hour), []byte(activityLine(itProd, itAlice, start, ok, "c-2", hour.Add(3*time.Minute))[40:]+"\n"+
		activityLine(itProd, itCI, start, ok, "c-4", hour.Add(-30*time.Minute))+"\n"))
	azuretest.Append(ctx, t, actC, blobName(prodExp, hour.Add(time.Hour)), []byte(activityLine(itProd, itAlice, write, ok, "c-5", hour.Add(65*time.Minute))+"\n"))
	code, _, stderr = runCLI(t, ctx, "run", "--config", cfg, "--hour", hour.Add(time.Hour).Format("2006-01-02T15"), "--no-models")
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	want = []string{
		itProd + " " + start + " Succeeded " + itCI + " 6", // the late record, in its own event hour
		want[0], want[1],
		itProd + " " + start + " Succeeded " + itAlice + " 7", // the completed half line
		want[2],
		itProd + " " + write + " Succeeded " + itAlice + " 8",
	}
	if got := events(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("activity after the second run (exactly the new records):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A third run of the same hour reads nothing new and changes nothing.
	if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", hour.Add(time.Hour).Format("2006-01-02T15"), "--no-models"); code != exitOK {
		t.Fatalf("third run: exit %d\n%s", code, stderr)
	}
	if got := events(); len(got) != len(want) {
		t.Errorf("a re-run changed the activity: %d rows, want %d", len(got), len(want))
	}

	// --accounts narrows to named subscriptions; an unknown one is named.
	if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h, "--no-models", "--accounts", strings.ToUpper(itDev)); code != exitOK || strings.Contains(stderr, itProd) {
		t.Errorf("run --accounts dev: exit %d, and prod must not be touched:\n%s", code, stderr)
	}
	const unknownSub = "99999999-9999-4999-8999-999999999999"
	if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h, "--no-models", "--accounts", unknownSub); code == exitOK || !strings.Contains(stderr, unknownSub) {
		t.Errorf("run --accounts <unknown subscription>: exit %d, want a failure naming it:\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h, "--accounts", "not-an-id"); code != exitUsage {
		t.Errorf("run --accounts not-an-id: exit %d, want 2:\n%s", code, stderr)
	}

	if code, out, stderr := runCLI(t, ctx, "accounts", "--config", cfg); code != exitOK || !strings.Contains(out, itProd+"  prod") || !strings.Contains(out, itDev+"  dev") {
		t.Errorf("accounts: exit %d, want both subscriptions:\n%s%s", code, out, stderr)
	}

	code, out, _ := runCLI(t, ctx, "accounts", "--config", cfg, "--json")
	var rows []scopeRow
	if err := json.Unmarshal([]byte(out), &rows); code != exitOK || err != nil || len(rows) != 2 || rows[0].Cloud != "azure" || rows[0].TenantID != itTenant {
		t.Errorf("accounts --json: exit %d, %v: %s", code, err, out)
	}

	// permlake check: every read works; then dev's role assignments are denied and named.
	code, out, stderr = runCLI(t, ctx, "check", "--config", cfg)
	if code != exitOK || strings.Count(out, itProd) < 5 || strings.Count(out, itDev) < 5 {
		t.Errorf("check: exit %d, want 0 with rows for both subscriptions:\n%s%s", code, out, stderr)
	}
	arm.Denied = map[string]bool{itDev: true}
	code, out, _ = runCLI(t, ctx, "check", "--config", cfg)
	var missing []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "MISSING") {
			missing = append(missing, line)
		}
	}
	if code != exitFailed || len(missing) == 0 {
		t.Fatalf("check with dev denied: exit %d\n%s", code, out)
	}
	for _, line := range missing {
		if !strings.HasPrefix(line, itDev) || !strings.Contains(line, "AuthorizationFailed") {
			t.Errorf("check line %q: only dev's ARM reads may be missing, with ARM's reason", line)
		}
	}
	if !strings.Contains(out, "Microsoft.Authorization/roleAssignments/read") {
		t.Errorf("check does not name the missing permission:\n%s", out)
	}
}
