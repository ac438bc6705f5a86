package transform

import (
	"strings"
	"testing"
	"time"
)

func TestAzureAudit(t *testing.T) {
	t.Parallel()
	meta := RecordMeta{Lineage: Lineage{RunID: "r1", SourceKey: "insights-logs-auditlogs/tenantId=t/y=2026/m=11/d=22/h=07/m=00/PT1H.json"}, Line: 4}
	byUser := `{"time":"2026-11-22T07:14:03.1234567Z","resourceId":"/tenants/5f1c9e2a-7b3d-4e8f-a06c-2d9b8e4f1a37/providers/Microsoft.aadiam","operationName":"Add member to role","operationVersion":"1.0","category":"AuditLogs","tenantId":"5f1c9e2a-7b3d-4e8f-a06c-2d9b8e4f1a37","resultSignature":"None","durationMs":0,"callerIpAddress":"203.0.113.7","correlationId":"8d5c0a37-2c4e-4c6f-9d3a-1b2c3d4e5f60","level":"Informational","properties":{"id":"Directory_8d5c0a37_ABC","category":"RoleManagement","correlationId":"8d5c0a37-2c4e-4c6f-9d3a-1b2c3d4e5f60","result":"success","resultReason":"","activityDisplayName":"Add member to role","activityDateTime":"2026-11-22T07:14:03.1234567+00:00","loggedByService":"Core Directory","operationType":"Assign","initiatedBy":{"user":{"id":"DC7AF91E-78BF-4849-81F2-66F384460D24","displayName":null,"userPrincipalName":"alice@example.com","ipAddress":"203.0.113.7"}},"targetResources":[{"id":"b2ade4f7-b3da-454e-8bb7-c33d22fc5205","type":"User","userPrincipalName":"bob@example.com","modifiedProperties":[{"displayName":"Role.DisplayName","oldValue":null,"newValue":"\"Global Reader\""}]}],"additionalDetails":[]}}`
	ev, err := AzureAudit([]byte(byUser), meta)
	if err != nil {
		t.Fatal(err)
	}
	if ev.AuditID != "Directory_8d5c0a37_ABC" || !ev.EventTime.Equal(time.Date(2026, 11, 22, 7, 14, 3, 123456700, time.UTC)) || !ev.IsSuccess ||
		*ev.InitiatedByID != "dc7af91e-78bf-4849-81f2-66f384460d24" || *ev.InitiatedByType != "user" || *ev.InitiatedByName != "alice@example.com" ||
		*ev.Category != "RoleManagement" || *ev.OperationType != "Assign" || !strings.Contains(*ev.TargetResources, "Global Reader") || ev.SourceLine != 4 {
		t.Errorf("row = %+v", ev)
	}
	byApp := `{"time":"2026-11-22T07:20:00Z","category":"AuditLogs","properties":{"id":"Directory_1","category":"ApplicationManagement","result":"failure","activityDisplayName":"Update application","initiatedBy":{"app":{"appId":"5e5e5e5e-0000-4000-8000-000000000005","displayName":"deploy-pipeline","servicePrincipalId":"9f2ea6a7-442b-44c9-8d4c-45cc7eea8fa4"}}}}`
	ev, err = AzureAudit([]byte(byApp), meta)
	if err != nil {
		t.Fatal(err)
	}
	if ev.IsSuccess || *ev.InitiatedByID != "9f2ea6a7-442b-44c9-8d4c-45cc7eea8fa4" || *ev.InitiatedByType != "service_principal" || *ev.InitiatedByName != "deploy-pipeline" {
		t.Errorf("app row = %+v", ev)
	}
	for name, tc := range map[string]struct{ line, errHas string }{
		"no id":         {`{"time":"2026-11-22T07:20:00Z","properties":{"result":"success"}}`, "no properties.id"},
		"no time":       {`{"properties":{"id":"x"}}`, "no time"},
		"no properties": {`{"time":"2026-11-22T07:20:00Z"}`, "no properties"},
		"not json":      {`{"time":`, "audit record"},
	} {
		if _, err := AzureAudit([]byte(tc.line), meta); err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "line 4") {
			t.Errorf("%s: error %v, want one naming line 4 and %q", name, err, tc.errHas)
		}
	}
}
