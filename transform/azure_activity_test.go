package transform

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/schemas"
)

const activityBlob = "insights-activity-logs/resourceId=/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/y=2026/m=11/d=22/h=07/m=00/PT1H.json"

// readLines returns the lines of a testdata file as they would come off a blob.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ptrTime(p *time.Time) string {
	if p == nil {
		return "<nil>"
	}
	return p.UTC().Format(time.RFC3339Nano)
}

func ptrBool(p *bool) string {
	switch {
	case p == nil:
		return "<nil>"
	case *p:
		return "true"
	}
	return "false"
}

// mustReplace replaces the one occurrence of old in a test record, panicking when it is not
// there exactly once, so that a variant cannot silently test the unchanged record.
func mustReplace(record, old, repl string) string {
	if strings.Count(record, old) != 1 {
		panic("test record does not contain " + old + " exactly once")
	}
	return strings.Replace(record, old, repl, 1)
}

// mustCut removes the one occurrence of field from a test record (see mustReplace).
func mustCut(record, field string) string { return mustReplace(record, field, "") }

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestAzureActivityBlob decodes a PT1H.json shaped like the export: a Start and a Succeeded
// record of one VM write (same correlationId), a failed role assignment by a service principal
// and a resource-group delete by a managed identity, and checks every derived column.
func TestAzureActivityBlob(t *testing.T) {
	t.Parallel()
	lines := readLines(t, "testdata/azure/activity_PT1H.json")
	if len(lines) != 4 {
		t.Fatalf("testdata has %d lines", len(lines))
	}
	rows := make([]schemas.AzureActivityEvent, len(lines))
	for i, l := range lines {
		ev, err := AzureActivity(l, RecordMeta{Lineage: Lineage{RunID: "run-7", SourceKey: activityBlob}, Line: int64(i + 1)})
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		rows[i] = ev
	}
	const (
		sub    = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
		tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		alice  = "2468adf0-8211-4e3a-95f1-85137af64708"
		ci     = "66666666-7777-4888-8999-000000000000"
		mi     = "a1b2c3d4-e5f6-4789-8abc-def012345678"
	)
	want := []map[string]string{
		{ // Start: the operation began; not a use yet.
			"event_time": "2026-11-22T07:14:20.1234567Z", "resource_id_lc": "/subscriptions/" + sub + "/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/vm1",
			"resource_group": "rg-app", "resource_provider": "microsoft.compute", "operation_name": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
			"action": "microsoft.compute/virtualmachines/write", "category": "Administrative", "result_type": "Start", "is_success": "false",
			"result_signature": "Started.", "correlation_id": "c776f9f4-36e5-4e0e-809b-c9b3c3fb62a8", "level": "Informational",
			"tenant_id": tenant, "principal_id": alice, "principal_type": "User", "app_id": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
			"caller": "admin@contoso.com", "caller_ip_address": "203.0.113.7",
			"role_assignment_id": "4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b", "role_definition_id": "b24988ac-6180-42a0-ab88-20f7382dd24c",
			"authorization_scope": "/subscriptions/" + sub + "/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1",
		},
		{ // Succeeded, written with a +02:00 offset: the completed use.
			"event_time": "2026-11-22T07:14:26.9792776Z", "resource_id_lc": "/subscriptions/" + sub + "/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/vm1",
			"resource_group": "rg-app", "resource_provider": "microsoft.compute", "action": "microsoft.compute/virtualmachines/write",
			"result_type": "Succeeded", "is_success": "true", "correlation_id": "c776f9f4-36e5-4e0e-809b-c9b3c3fb62a8",
			"principal_id": alice, "role_assignment_id": "4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b", "tenant_id": tenant,
		},
		{ // Failed, no zone on the time (UTC), short claims, evidence IDs as full ARM IDs.
			"event_time": "2026-11-22T07:20:01.5Z", "resource_group": "rg-data", "resource_provider": "microsoft.authorization",
			"action": "microsoft.authorization/roleassignments/write", "result_type": "Failed", "is_success": "false",
			"result_signature": "Conflict.RoleAssignmentExists", "level": "Error", "tenant_id": tenant, "principal_id": ci,
			"principal_type": "ServicePrincipal", "app_id": "11111111-2222-4333-8444-555555555555", "caller": "<nil>",
			"role_assignment_id": "0e5b1c6d-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "role_definition_id": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
		},
		{ // Resource-group delete: no provider in the ID (taken from operationName), no
			// eventCategory, no oid claim (principal from the hyphen-less evidence), tenant from the
			// top-level tenantId, caller from the name claim.
			"event_time": "2026-11-22T07:41:09.0000001Z", "resource_id_lc": "/subscriptions/" + sub + "/resourcegroups/rg-old",
			"resource_group": "rg-old", "resource_provider": "microsoft.resources", "category": "Administrative",
			"action": "microsoft.resources/subscriptions/resourcegroups/delete", "result_type": "Success", "is_success": "true",
			"principal_id": mi, "principal_type": "ServicePrincipal", "tenant_id": tenant, "caller": "mi-cleanup", "app_id": "<nil>",
			"role_assignment_id": "c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f", "role_definition_id": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
		},
	}
	for i, ev := range rows {
		got := map[string]string{
			"event_time": ev.EventTime.Format(time.RFC3339Nano), "resource_id_lc": ev.ResourceIDLC, "resource_group": str(ev.ResourceGroup),
			"resource_provider": str(ev.ResourceProvider), "operation_name": ev.OperationName, "action": str(ev.Action),
			"authorization_scope": str(ev.AuthorizationScope), "category": str(ev.Category), "result_type": str(ev.ResultType),
			"result_signature": str(ev.ResultSignature), "is_success": map[bool]string{true: "true", false: "false"}[ev.IsSuccess],
			"caller_ip_address": str(ev.CallerIPAddress), "correlation_id": str(ev.CorrelationID), "level": str(ev.Level),
			"tenant_id": str(ev.TenantID), "principal_id": str(ev.PrincipalID), "principal_type": str(ev.PrincipalType),
			"app_id": str(ev.AppID), "caller": str(ev.Caller), "role_assignment_id": str(ev.RoleAssignmentID),
			"role_definition_id": str(ev.RoleDefinitionID),
		}
		for k, w := range want[i] {
			if got[k] != w {
				t.Errorf("line %d: %s = %q, want %q", i+1, k, got[k], w)
			}
		}
		if ev.EventTime.Location() != time.UTC {
			t.Errorf("line %d: event_time in %v, want UTC", i+1, ev.EventTime.Location())
		}
		if ev.RecordKey != sha(bytes.TrimSpace(lines[i])) || ev.SourceLine != int64(i+1) || ev.SourceKey != activityBlob || ev.RunID != "run-7" {
			t.Errorf("line %d: lineage key=%s line=%d source=%s run=%s", i+1, ev.RecordKey, ev.SourceLine, ev.SourceKey, ev.RunID)
		}
		if ev.ResourceID != strings.TrimSpace(ev.ResourceID) || strings.ToLower(ev.ResourceID) != ev.ResourceIDLC {
			t.Errorf("line %d: resource_id %q vs resource_id_lc %q", i+1, ev.ResourceID, ev.ResourceIDLC)
		}
		if ev.Identity == nil || !strings.HasPrefix(*ev.Identity, `{"authorization"`) || ev.Properties == nil || !strings.HasPrefix(*ev.Properties, "{") {
			t.Errorf("line %d: identity/properties JSON = %s / %s", i+1, str(ev.Identity), str(ev.Properties))
		}
	}
	// The Start and the Succeeded record of one operation are two rows (different keys) with the
	// same correlation id, and only the Succeeded one counts as a use.
	if rows[0].RecordKey == rows[1].RecordKey || *rows[0].CorrelationID != *rows[1].CorrelationID || rows[0].IsSuccess || !rows[1].IsSuccess {
		t.Errorf("start/succeeded pair: keys %s %s, success %v %v", rows[0].RecordKey, rows[1].RecordKey, rows[0].IsSuccess, rows[1].IsSuccess)
	}
	// The upper-case resource ID of the Start record and the mixed-case one of the Succeeded
	// record join in lower case.
	if rows[0].ResourceID == rows[1].ResourceID || rows[0].ResourceIDLC != rows[1].ResourceIDLC {
		t.Errorf("resource ids: %q / %q", rows[0].ResourceIDLC, rows[1].ResourceIDLC)
	}
}

// activityRecord builds a minimal storage-schema record around a time and an identity.
func activityRecord(timeJSON, extra string) string {
	return `{"time":` + timeJSON + `,"resourceId":"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/st1","operationName":"Microsoft.Storage/storageAccounts/listKeys/action","category":"Administrative","resultType":"Succeeded"` + extra + `}`
}

func TestAzureActivityTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`"2026-11-22T07:14:26.9792776Z"`, "2026-11-22T07:14:26.9792776Z"},
		{`"2026-11-22T07:14:26Z"`, "2026-11-22T07:14:26Z"},
		{`"2026-11-22T07:14:26.5Z"`, "2026-11-22T07:14:26.5Z"},
		{`"2026-11-22T09:14:26.9792776+02:00"`, "2026-11-22T07:14:26.9792776Z"},
		{`"2026-11-22T02:14:26.123-05:00"`, "2026-11-22T07:14:26.123Z"},
		{`"2026-11-23T00:14:26+17:00"`, "2026-11-22T07:14:26Z"},
		{`"2026-11-22T07:14:26.9792776"`, "2026-11-22T07:14:26.9792776Z"}, // no zone: UTC
		{`"2026-11-22T07:14:26"`, "2026-11-22T07:14:26Z"},
		{`" 2026-11-22T07:14:26Z "`, "2026-11-22T07:14:26Z"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			ev, err := AzureActivity([]byte(activityRecord(tc.in, "")), RecordMeta{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ev.EventTime.Format(time.RFC3339Nano); got != tc.want || ev.EventTime.Location() != time.UTC {
				t.Errorf("time %s = %s (%v), want %s UTC", tc.in, got, ev.EventTime.Location(), tc.want)
			}
		})
	}
}

func TestAzureActivityFields(t *testing.T) {
	t.Parallel()
	const tm = `"2026-11-22T07:00:00Z"`
	tests := []struct {
		name  string
		line  string
		check func(ev schemas.AzureActivityEvent) string
	}{
		{"no authorization: action from a write-like operationName, in lower case",
			activityRecord(tm, `,"identity":{"claims":{"oid":"2468ADF0-8211-4E3A-95F1-85137AF64708","tid":"72f988bf86f141af91ab2d7cd011db47","upn":"ops@contoso.com"}}`),
			func(ev schemas.AzureActivityEvent) string {
				if str(ev.Action) != "microsoft.storage/storageaccounts/listkeys/action" || str(ev.AuthorizationScope) != "<nil>" ||
					str(ev.PrincipalID) != "2468adf0-8211-4e3a-95f1-85137af64708" || str(ev.TenantID) != "72f988bf-86f1-41af-91ab-2d7cd011db47" ||
					str(ev.Caller) != "ops@contoso.com" || str(ev.RoleAssignmentID) != "<nil>" {
					return "action/principal/tenant/caller"
				}
				return ""
			}},
		{"read operations are not logged and never become an action",
			mustReplace(activityRecord(tm, ""), "listKeys/action", "read"),
			func(ev schemas.AzureActivityEvent) string {
				if ev.Action != nil {
					return "action " + *ev.Action
				}
				return ""
			}},
		{"a forged wildcard action in authorization is no action (never a wildcard in a role)",
			`{"time":"2026-11-22T07:00:00Z","operationName":"Microsoft.Authorization/*/write","resultType":"Success","identity":{"authorization":{"action":"Microsoft.Authorization/*","scope":"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}}}`,
			func(ev schemas.AzureActivityEvent) string {
				if ev.Action != nil {
					return "action " + *ev.Action
				}
				return ""
			}},
		{"a bare * action is no action",
			`{"time":"2026-11-22T07:00:00Z","operationName":"*","resultType":"Success","identity":{"authorization":{"action":"*"}}}`,
			func(ev schemas.AzureActivityEvent) string {
				if ev.Action != nil {
					return "action " + *ev.Action
				}
				return ""
			}},
		{"REST-schema values ({value, localizedValue}) and numbers as text",
			`{"time":"2026-11-22T07:00:00Z","resourceId":"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","operationName":{"value":"Microsoft.Resources/deployments/write","localizedValue":"Create deployment"},"resultType":{"value":"Succeeded","localizedValue":"Succeeded"},"resultSignature":201,"Level":"Informational","properties":{"eventCategory":"Administrative"}}`,
			func(ev schemas.AzureActivityEvent) string {
				if ev.OperationName != "Microsoft.Resources/deployments/write" || !ev.IsSuccess || str(ev.ResultSignature) != "201" ||
					str(ev.Level) != "Informational" || str(ev.Action) != "microsoft.resources/deployments/write" ||
					ev.ResourceGroup != nil || str(ev.ResourceProvider) != "microsoft.resources" || ev.Identity != nil {
					return "decoded wrong"
				}
				return ""
			}},
		{"category: a top-level Write without eventCategory is Administrative",
			`{"time":"2026-11-22T07:00:00Z","operationName":"microsoft.support/supporttickets/write","category":"Write","resultType":"Success","properties":{"statusCode":"Created"}}`,
			func(ev schemas.AzureActivityEvent) string {
				if str(ev.Category) != "Administrative" || str(ev.ResourceProvider) != "microsoft.support" {
					return "category " + str(ev.Category)
				}
				return ""
			}},
		{"category: a top-level category other than an operation kind is kept",
			`{"time":"2026-11-22T07:00:00Z","operationName":"Microsoft.Security/locations/alerts/activate/action","category":"Security","resultType":"Succeeded"}`,
			func(ev schemas.AzureActivityEvent) string {
				if str(ev.Category) != "Security" {
					return "category " + str(ev.Category)
				}
				return ""
			}},
		{"category: properties.eventCategory beats the top-level Write",
			`{"time":"2026-11-22T07:00:00Z","operationName":"Microsoft.Authorization/policies/audit/action","category":"Write","resultType":"Success","properties":{"eventCategory":"Policy"}}`,
			func(ev schemas.AzureActivityEvent) string {
				if str(ev.Category) != "Policy" || !ev.IsSuccess || ev.ResourceID != "" || ev.ResourceProvider == nil || *ev.ResourceProvider != "microsoft.authorization" {
					return "category " + str(ev.Category)
				}
				return ""
			}},
		{"resultType compared case-insensitively; Accept is not a success",
			mustReplace(activityRecord(tm, ""), `"Succeeded"`, `"SUCCEEDED"`),
			func(ev schemas.AzureActivityEvent) string {
				if !ev.IsSuccess {
					return "SUCCEEDED not a success"
				}
				if a, _ := AzureActivity([]byte(mustReplace(activityRecord(tm, ""), `"Succeeded"`, `"Accept"`)), RecordMeta{}); a.IsSuccess {
					return "Accept counted as success"
				}
				return ""
			}},
		{"a claim that is not a GUID falls back to the evidence; braces and case normalised",
			activityRecord(tm, `,"identity":{"authorization":{"action":"Microsoft.Storage/storageAccounts/listKeys/action","evidence":{"principalId":"{A1B2C3D4-E5F6-4789-8ABC-DEF012345678}","roleAssignmentId":"not-a-guid","roleDefinitionId":"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/providers/Microsoft.Authorization/roleDefinitions/17D1049B-9A84-46FB-8F53-869881C3D3AB"}},"claims":{"oid":"abc","name":"Storage Operator"}}`),
			func(ev schemas.AzureActivityEvent) string {
				if str(ev.PrincipalID) != "a1b2c3d4-e5f6-4789-8abc-def012345678" || ev.RoleAssignmentID != nil ||
					str(ev.RoleDefinitionID) != "17d1049b-9a84-46fb-8f53-869881c3d3ab" || str(ev.Caller) != "Storage Operator" {
					return "principal/role ids"
				}
				return ""
			}},
		{"upper-case resource ID with a nested extension resource",
			`{"time":"2026-11-22T07:00:00Z","resourceId":"/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DS1","operationName":"microsoft.insights/diagnosticSettings/write","resultType":"Succeeded"}`,
			func(ev schemas.AzureActivityEvent) string {
				if str(ev.ResourceGroup) != "rg-app" || str(ev.ResourceProvider) != "microsoft.insights" ||
					ev.ResourceIDLC != "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/vm1/providers/microsoft.insights/diagnosticsettings/ds1" {
					return "group/provider " + str(ev.ResourceGroup) + " " + str(ev.ResourceProvider)
				}
				return ""
			}},
		{"an identity that is not an object is kept as text and attributes nothing",
			activityRecord(tm, `,"identity":"Timothy Perkins","tenantId":"72F988BF-86F1-41AF-91AB-2D7CD011DB47"`),
			func(ev schemas.AzureActivityEvent) string {
				if str(ev.Identity) != `"Timothy Perkins"` || ev.PrincipalID != nil || ev.Caller != nil || str(ev.TenantID) != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
					return "identity " + str(ev.Identity)
				}
				return ""
			}},
		{"a malformed identity leaves the caller columns NULL",
			activityRecord(tm, `,"identity":{"claims":["oid"],"authorization":{"action":"Microsoft.Storage/storageAccounts/write"}}`),
			func(ev schemas.AzureActivityEvent) string {
				if ev.PrincipalID != nil || str(ev.Action) != "microsoft.storage/storageaccounts/listkeys/action" || ev.Identity == nil {
					return "action " + str(ev.Action)
				}
				return ""
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := AzureActivity([]byte(tc.line), RecordMeta{})
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(ev); msg != "" {
				t.Errorf("%s: %+v", msg, ev)
			}
		})
	}
}

// TestAzureActivityRecordKey: the key is the trimmed record text's SHA-256, so the same record
// read from a CRLF blob, with a BOM, or re-delivered in another blob keys the same, and any
// change to the record changes it.
func TestAzureActivityRecordKey(t *testing.T) {
	t.Parallel()
	rec := activityRecord(`"2026-11-22T07:00:00Z"`, "")
	base, err := AzureActivity([]byte(rec), RecordMeta{Lineage: Lineage{SourceKey: "a"}, Line: 1})
	if err != nil {
		t.Fatal(err)
	}
	if base.RecordKey != sha([]byte(rec)) || len(base.RecordKey) != 64 {
		t.Fatalf("record_key = %s, want sha256 of the text", base.RecordKey)
	}
	for _, variant := range []string{"  " + rec + "\r\n", "\t" + rec, "\xEF\xBB\xBF" + rec + "\n"} {
		ev, err := AzureActivity([]byte(variant), RecordMeta{Lineage: Lineage{SourceKey: "b"}, Line: 9})
		if err != nil {
			t.Fatal(err)
		}
		if ev.RecordKey != base.RecordKey {
			t.Errorf("%q keyed %s, want %s", variant, ev.RecordKey, base.RecordKey)
		}
	}
	other, err := AzureActivity([]byte(mustReplace(rec, "07:00:00", "07:00:01")), RecordMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if other.RecordKey == base.RecordKey {
		t.Error("different records share a key")
	}
}

func TestAzureActivityErrors(t *testing.T) {
	t.Parallel()
	meta := RecordMeta{Lineage: Lineage{SourceKey: activityBlob}, Line: 42}
	for _, tc := range []struct{ name, line, errHas string }{
		{"no time", `{"resourceId":"/subscriptions/x","operationName":"Microsoft.Compute/virtualMachines/write"}`, "no time"},
		{"empty time", `{"time":"","operationName":"Microsoft.Compute/virtualMachines/write"}`, "no time"},
		{"null time", `{"time":null,"operationName":"Microsoft.Compute/virtualMachines/write"}`, "no time"},
		{"no operationName", `{"time":"2026-11-22T07:00:00Z","resourceId":"/subscriptions/x"}`, "no operationName"},
		{"unparsable time", `{"time":"22/11/2026 07:00","operationName":"a/b/write"}`, `time: unparsable time "22/11/2026 07:00"`},
		{"truncated line", `{"time":"2026-11-22T07:00:00Z","operationName":"a/b/wr`, "activity record"},
		{"not an object", `["time"]`, "activity record"},
		{"empty line", ``, "activity record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := AzureActivity([]byte(tc.line), meta)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), activityBlob+" line 42") {
				t.Errorf("error %v, want one naming %q and the record", err, tc.errHas)
			}
		})
	}
}

func TestSubscriptionOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", true},
		{"/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/RESOURCEGROUPS/RG", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", true},
		{"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", true},
		{"/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam", "", false},
		{"/providers/Microsoft.Management/managementGroups/mg1", "", false},
		{"/subscriptions/0f1e2d3c4b5a69788796a5b4c3d2e1f0/resourceGroups/rg", "", false},
		{"/subscriptions/../resourceGroups/rg", "", false},
		{"subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "", false},
		{"/", "", false},
		{"", "", false},
	} {
		got, ok := SubscriptionOf(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("SubscriptionOf(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAzureGUID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"4F7DC3FA6C2A4A1B8C5E0D9F8E7D6C5B":       "4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b",
		"4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b":   "4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b",
		"{4F7DC3FA-6C2A-4A1B-8C5E-0D9F8E7D6C5B}": "4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b",
		"4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5":    "",
		"4f7dc3fa_6c2a_4a1b_8c5e_0d9f8e7d6c5b":   "",
		"4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5g":   "",
		"4f7dc3fa6c2a-4a1b-8c5e-0d9f8e7d6c5b0":   "",
		"":                                       "",
	} {
		got, ok := azGUID(in)
		if got != want || ok != (want != "") {
			t.Errorf("azGUID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// Sign-in records in the Azure Monitor schema (FORMATS.md §4.4), one per category.
const (
	signInInteractive      = `{"time": "2026-11-22T07:02:15.5522137Z", "resourceId": "/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "operationVersion": "1.0", "category": "SignInLogs", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resultType": "50140", "resultSignature": "None", "resultDescription": "Keep me signed in interrupt", "durationMs": 0, "callerIpAddress": "198.51.100.4", "correlationId": "5f8a5a8e-0b3f-4a7d-9d1d-1b2c3d4e5f60", "identity": "Alice Admin", "Level": 4, "location": "US", "properties": {"id": "9f0b6b3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "createdDateTime": "2026-11-22T09:02:15.5522137+02:00", "userDisplayName": "Alice Admin", "userPrincipalName": "admin@contoso.com", "userId": "2468ADF0-8211-4E3A-95F1-85137AF64708", "userType": "Member", "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appDisplayName": "Azure Portal", "ipAddress": "198.51.100.4", "status": {"errorCode": 50140, "failureReason": "This occurred due to 'Keep me signed in' interrupt when the user was signing in."}, "clientAppUsed": "Browser", "isInteractive": true, "conditionalAccessStatus": "notApplied", "authenticationRequirement": "singleFactorAuthentication", "servicePrincipalId": "", "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013", "resourceDisplayName": "Windows Azure Service Management API", "homeTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resourceTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"}}`
	signInNonInteractive   = `{"time": "2026-11-22T07:45:03.1234567Z", "resourceId": "/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "category": "NonInteractiveUserSignInLogs", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resultType": "0", "resultSignature": "None", "callerIpAddress": "198.51.100.4", "correlationId": "11112222-3333-4444-8555-666677778888", "identity": "Alice Admin", "Level": 4, "properties": {"id": "c4b1e3a7-0bd1-4a2e-9f5d-6a7b8c9d0e1f", "createdDateTime": "2026-11-22T07:45:03.1234567+00:00", "userPrincipalName": "admin@contoso.com", "userId": "2468adf0-8211-4e3a-95f1-85137af64708", "appId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "appDisplayName": "Microsoft Azure CLI", "status": {"errorCode": 0}, "isInteractive": false, "conditionalAccessStatus": "success", "resourceDisplayName": "Windows Azure Service Management API"}}`
	signInServicePrincipal = `{"time":"2026-11-22T07:30:00.1234567Z","resourceId":"/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"ServicePrincipalSignInLogs","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","resultType":"0","callerIpAddress":"192.0.2.10","correlationId":"0d3c2b1a-0000-4000-8000-000000000001","Level":4,"properties":{"id":"aaaa0000-0000-4000-8000-000000000001","createdDateTime":"2026-11-22T07:30:00.1234567Z","appId":"11111111-2222-4333-8444-555555555555","appDisplayName":"ci-deployer","servicePrincipalId":"66666666-7777-4888-8999-000000000000","servicePrincipalName":"ci-deployer","ipAddress":"192.0.2.10","status":{"errorCode":0},"resourceDisplayName":"Azure Resource Manager","conditionalAccessStatus":"notApplied"}}`
	// A managed-identity sign-in without resultType: success comes from status.errorCode, the
	// address from callerIpAddress, and the record's category field disagrees with the container.
	signInManagedIdentity = `{"time":"2026-11-22T07:41:00Z","resourceId":"/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"ServicePrincipalSignInLogs","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","callerIpAddress":"10.1.2.3","correlationId":"0d3c2b1a-0000-4000-8000-000000000002","Level":4,"properties":{"id":"bbbb0000-0000-4000-8000-000000000002","createdDateTime":"2026-11-22T07:41:00Z","appId":"0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5","servicePrincipalId":"a1b2c3d4-e5f6-4789-8abc-def012345678","servicePrincipalName":"mi-cleanup","managedIdentityType":"SystemAssigned","status":{"errorCode":0},"resourceDisplayName":"Azure Resource Manager"}}`
)

func TestAzureSignIn(t *testing.T) {
	t.Parallel()
	const tenantBlob = "insights-logs-signinlogs/tenantId=72f988bf-86f1-41af-91ab-2d7cd011db47/y=2026/m=11/d=22/h=07/m=00/PT1H.json"
	tests := []struct {
		name, line, category string
		want                 map[string]string
	}{
		{"interactive, failed", signInInteractive, "SignInLogs", map[string]string{
			"sign_in_id": "9f0b6b3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "time": "2026-11-22T07:02:15.5522137Z", "category": "SignInLogs",
			"principal_type": "user", "principal_id": "2468adf0-8211-4e3a-95f1-85137af64708", "upn": "admin@contoso.com",
			"app_id": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "app": "Azure Portal", "resource": "Windows Azure Service Management API",
			"result_type": "50140", "success": "false", "interactive": "true", "ip": "198.51.100.4", "ca": "notApplied"}},
		{"non-interactive, category from the container name", signInNonInteractive, "insights-logs-noninteractiveusersigninlogs", map[string]string{
			"sign_in_id": "c4b1e3a7-0bd1-4a2e-9f5d-6a7b8c9d0e1f", "category": "NonInteractiveUserSignInLogs", "principal_type": "user",
			"principal_id": "2468adf0-8211-4e3a-95f1-85137af64708", "app": "Microsoft Azure CLI", "result_type": "0", "success": "true",
			"interactive": "false", "ip": "198.51.100.4", "ca": "success"}}, // no properties.ipAddress: callerIpAddress
		{"service principal, category in lower case", signInServicePrincipal, "serviceprincipalsigninlogs", map[string]string{
			"category": "ServicePrincipalSignInLogs", "principal_type": "service_principal", "principal_id": "66666666-7777-4888-8999-000000000000",
			"upn": "<nil>", "app_id": "11111111-2222-4333-8444-555555555555", "result_type": "0", "success": "true", "interactive": "<nil>",
			"ip": "192.0.2.10", "time": "2026-11-22T07:30:00.1234567Z"}},
		{"managed identity: the category argument wins over the record's", signInManagedIdentity, "ManagedIdentitySignInLogs", map[string]string{
			"sign_in_id": "bbbb0000-0000-4000-8000-000000000002", "category": "ManagedIdentitySignInLogs", "principal_type": "managed_identity",
			"principal_id": "a1b2c3d4-e5f6-4789-8abc-def012345678", "result_type": "0", "success": "true", "ip": "10.1.2.3"}},
		{"no category argument: the record's field", signInManagedIdentity, "", map[string]string{
			"category": "ServicePrincipalSignInLogs", "principal_type": "service_principal"}},
		{"no time: properties.createdDateTime; no resultType: status.errorCode",
			mustCut(mustCut(signInNonInteractive, `"time": "2026-11-22T07:45:03.1234567Z", `), `"resultType": "0", `),
			"NonInteractiveUserSignInLogs", map[string]string{"time": "2026-11-22T07:45:03.1234567Z", "result_type": "0", "success": "true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := AzureSignIn([]byte(tc.line), tc.category, RecordMeta{Lineage: Lineage{RunID: "r", SourceKey: tenantBlob}, Line: 3})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{
				"sign_in_id": ev.SignInID, "time": ev.EventTime.Format(time.RFC3339Nano), "category": ev.Category,
				"principal_type": ev.PrincipalType, "principal_id": str(ev.PrincipalID), "upn": str(ev.UserPrincipalName),
				"app_id": str(ev.AppID), "app": str(ev.AppDisplayName), "resource": str(ev.ResourceDisplayName),
				"result_type": str(ev.ResultType), "success": map[bool]string{true: "true", false: "false"}[ev.IsSuccess],
				"interactive": ptrBool(ev.IsInteractive), "ip": str(ev.IPAddress), "ca": str(ev.ConditionalAccessStatus),
			}
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
			if ev.EventTime.Location() != time.UTC || ev.SourceKey != tenantBlob || ev.SourceLine != 3 || ev.RunID != "r" ||
				ev.Properties == nil || !strings.Contains(*ev.Properties, `"id"`) {
				t.Errorf("lineage/properties: %+v", ev)
			}
		})
	}
	// A failed sign-in whose resultType is absent fails through status.errorCode too.
	failed := mustCut(mustCut(signInInteractive, `"resultType": "50140", `), `"time": "2026-11-22T07:02:15.5522137Z", `)
	ev, err := AzureSignIn([]byte(failed), "SignInLogs", RecordMeta{})
	if err != nil || ev.IsSuccess || str(ev.ResultType) != "50140" || ev.EventTime.Format(time.RFC3339Nano) != "2026-11-22T07:02:15.5522137Z" {
		t.Errorf("failed without resultType: %+v, %v", ev, err)
	}
}

func TestAzureSignInErrors(t *testing.T) {
	t.Parallel()
	meta := RecordMeta{Lineage: Lineage{SourceKey: "insights-logs-signinlogs/x/PT1H.json"}, Line: 7}
	for _, tc := range []struct{ name, line, category, errHas string }{
		{"audit category", signInInteractive, "AuditLogs", `category "AuditLogs" is not a sign-in category`},
		{"no category anywhere", mustCut(signInInteractive, `"category": "SignInLogs", `), "", `category ""`},
		{"no properties.id", mustCut(signInInteractive, `"id": "9f0b6b3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", `), "SignInLogs", "no properties.id"},
		{"no properties", `{"time":"2026-11-22T07:00:00Z","category":"SignInLogs","resultType":"0"}`, "SignInLogs", "no properties"},
		{"no time at all", `{"category":"SignInLogs","properties":{"id":"x1"}}`, "SignInLogs", "(x1): no time"},
		{"bad time", `{"time":"yesterday","properties":{"id":"x1"}}`, "SignInLogs", `time: unparsable time "yesterday"`},
		{"not JSON", `{"time":`, "SignInLogs", "sign-in record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := AzureSignIn([]byte(tc.line), tc.category, meta)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "PT1H.json line 7") {
				t.Errorf("error %v, want one naming %q and the record", err, tc.errHas)
			}
		})
	}
}

// FuzzAzureActivity: any line either fails or yields a row whose normalised columns hold their
// contracts (UTC time, 64-hex key, lower-case hyphenated GUIDs, lower-case derived IDs).
func FuzzAzureActivity(f *testing.F) {
	for _, l := range readLinesF(f, "testdata/azure/activity_PT1H.json") {
		f.Add(l)
	}
	f.Add([]byte(activityRecord(`"2026-11-22T07:00:00"`, `,"identity":"x"`)))
	f.Add([]byte(signInServicePrincipal))
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := AzureActivity(line, RecordMeta{})
		if err != nil {
			return
		}
		if ev.EventTime.Location() != time.UTC || len(ev.RecordKey) != 64 || ev.OperationName == "" || ev.ResourceIDLC != strings.ToLower(ev.ResourceID) {
			t.Fatalf("row breaks its contract: %+v", ev)
		}
		for name, p := range map[string]*string{"principal_id": ev.PrincipalID, "tenant_id": ev.TenantID, "app_id": ev.AppID,
			"role_assignment_id": ev.RoleAssignmentID, "role_definition_id": ev.RoleDefinitionID} {
			if p != nil {
				if g, ok := azGUID(*p); !ok || g != *p {
					t.Fatalf("%s = %q is not a normalised GUID", name, *p)
				}
			}
		}
		for name, p := range map[string]*string{"action": ev.Action, "resource_group": ev.ResourceGroup, "resource_provider": ev.ResourceProvider} {
			if p != nil && *p != strings.ToLower(*p) {
				t.Fatalf("%s = %q is not lower case", name, *p)
			}
		}
	})
}

func readLinesF(f *testing.F, path string) [][]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(b), []byte("\n"))
}
