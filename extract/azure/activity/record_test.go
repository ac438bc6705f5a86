package activity

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// activityLine is a storage-schema Activity Log record shaped like the sample in
// MicrosoftDocs activity-log-schema.md (claims as full URIs, evidence GUIDs without hyphens,
// a mixed-case resource ID, 7 fractional digits).
const activityLine = `{"time": "2026-11-22T07:14:26.9792776Z", "resourceId": "/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1", "operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE", "category": "Write", "resultType": "Success", "resultSignature": "Succeeded.Created", "resultDescription": "", "durationMs": 2826, "callerIpAddress": "203.0.113.7", "correlationId": "c776f9f4-36e5-4e0e-809b-c9b3c3fb62a8", "identity": {"authorization": {"scope": "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1", "action": "Microsoft.Compute/virtualMachines/write", "evidence": {"role": "Contributor", "roleAssignmentScope": "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "roleAssignmentId": "4f7dc3fa6c2a4a1b8c5e0d9f8e7d6c5b", "roleDefinitionId": "b24988ac618042a0ab8820f7382dd24c", "principalId": "2468adf082114e3a95f185137af64708", "principalType": "User"}}, "claims": {"aud": "https://management.core.windows.net/", "http://schemas.microsoft.com/identity/claims/tenantid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "http://schemas.microsoft.com/identity/claims/objectidentifier": "2468adf0-8211-4e3a-95f1-85137af64708", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "admin@contoso.com", "name": "John Smith", "appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appidacr": "2", "puid": "20030000801A118C"}}, "level": "Information", "location": "global", "properties": {"statusCode": "Created", "serviceRequestId": "50d5cddb-8ca0-47ad-9b80-6cde2207f97c", "eventCategory": "Administrative"}}`

// signInLine follows the Azure Monitor sign-in log schema sample: "identity" is a display name,
// "Level" is a capitalised number, createdDateTime has an offset.
const signInLine = `{"time": "2026-11-22T07:02:15.5522137Z", "resourceId": "/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "operationVersion": "1.0", "category": "SignInLogs", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resultType": "50140", "resultSignature": "None", "resultDescription": "Keep me signed in interrupt", "durationMs": 0, "callerIpAddress": "198.51.100.4", "correlationId": "5f8a5a8e-0b3f-4a7d-9d1d-1b2c3d4e5f60", "identity": "Timothy Perkins", "Level": 4, "location": "US", "properties": {"id": "9f0b6b3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "createdDateTime": "2026-11-22T09:02:15.5522137+02:00", "userDisplayName": "Timothy Perkins", "userPrincipalName": "timperkins@contoso.com", "userId": "a1b2c3d4-e5f6-4789-8abc-def012345678", "userType": "Member", "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appDisplayName": "Azure Portal", "ipAddress": "198.51.100.4", "status": {"errorCode": 50140, "failureReason": "Keep me signed in interrupt"}, "clientAppUsed": "Browser", "isInteractive": true, "conditionalAccessStatus": "notApplied", "authenticationRequirement": "singleFactorAuthentication", "servicePrincipalId": "", "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013", "resourceDisplayName": "Windows Azure Service Management API", "homeTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resourceTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"}}`

const spSignInLine = `{"time":"2026-11-22T07:30:00.1234567Z","resourceId":"/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"ServicePrincipalSignInLogs","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","resultType":"0","callerIpAddress":"192.0.2.10","correlationId":"0d3c2b1a-0000-4000-8000-000000000001","Level":4,"properties":{"id":"aaaa0000-0000-4000-8000-000000000001","createdDateTime":"2026-11-22T07:30:00.1234567Z","appId":"11111111-2222-4333-8444-555555555555","servicePrincipalId":"66666666-7777-4888-8999-000000000000","servicePrincipalName":"ci-deployer","ipAddress":"192.0.2.10","status":{"errorCode":0},"isInteractive":false}}`

func TestParseLineActivity(t *testing.T) {
	t.Parallel()
	recs, errs := ParseLine(ContainerActivityLogs, "b.json", 3, 100, []byte(activityLine+"\n"))
	if len(errs) != 0 || len(recs) != 1 {
		t.Fatalf("got %d records, errors %v", len(recs), errs)
	}
	r := recs[0]
	wantTime := time.Date(2026, 11, 22, 7, 14, 26, 979277600, time.UTC)
	checks := []struct{ name, got, want string }{
		{"time", r.Time.Format(time.RFC3339Nano), wantTime.Format(time.RFC3339Nano)},
		{"container", r.Container, ContainerActivityLogs},
		{"blob", r.Blob, "b.json"},
		{"resourceId", r.ResourceID, "/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1"},
		{"resourceIdLower", r.ResourceIDLower, "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/vm1"},
		{"subscription", r.SubscriptionID, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
		{"operationName", r.OperationName, "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"},
		{"category", r.Category, "Write"},
		{"eventCategory", r.EventCategory, "Administrative"},
		{"resultType", r.ResultType, "Success"},
		{"resultSignature", r.ResultSignature, "Succeeded.Created"},
		{"callerIp", r.CallerIPAddress, "203.0.113.7"},
		{"correlationId", r.CorrelationID, "c776f9f4-36e5-4e0e-809b-c9b3c3fb62a8"},
		{"level", r.Level, "Information"},
		{"location", r.Location, "global"},
		{"action", r.Identity.Action, "Microsoft.Compute/virtualMachines/write"},
		{"scope", r.Identity.Scope, "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1"},
		{"oid", r.Identity.ObjectID, "2468adf0-8211-4e3a-95f1-85137af64708"},
		{"tid", r.Identity.TenantID, "72f988bf-86f1-41af-91ab-2d7cd011db47"},
		{"upn", r.Identity.UPN, "admin@contoso.com"},
		{"name", r.Identity.Name, "John Smith"},
		{"appid", r.Identity.AppID, "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"},
		{"appidacr", r.Identity.AppIDACR, "2"},
		{"raw", string(r.Raw), activityLine},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if r.Line != 3 || r.Offset != 100 || r.Index != 0 {
		t.Errorf("position = line %d offset %d index %d, want 3 100 0", r.Line, r.Offset, r.Index)
	}
	if r.DurationMs == nil || *r.DurationMs != 2826 {
		t.Errorf("durationMs = %v, want 2826", r.DurationMs)
	}
	if e := r.Identity.Evidence; e == nil || e.Role != "Contributor" || e.RoleDefinitionID != "b24988ac618042a0ab8820f7382dd24c" || e.PrincipalType != "User" {
		t.Errorf("evidence = %+v", e)
	}
	if !strings.HasPrefix(string(r.Properties), `{"statusCode": "Created"`) || !strings.HasSuffix(string(r.Properties), `"eventCategory": "Administrative"}`) {
		t.Errorf("properties not kept as raw text: %s", r.Properties)
	}
	if r.SignIn != nil {
		t.Errorf("activity record decoded as a sign-in: %+v", r.SignIn)
	}
}

func TestParseLineSignIn(t *testing.T) {
	t.Parallel()
	recs, errs := ParseLine(ContainerSignInLogs, "s.json", 1, 0, []byte(signInLine))
	if len(errs) != 0 || len(recs) != 1 {
		t.Fatalf("got %d records, errors %v", len(recs), errs)
	}
	r := recs[0]
	if r.Level != "4" || r.ResultType != "50140" || r.Identity.Name != "Timothy Perkins" || r.Category != "SignInLogs" ||
		r.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" || r.SubscriptionID != "" ||
		r.ResourceIDLower != "/tenants/72f988bf-86f1-41af-91ab-2d7cd011db47/providers/microsoft.aadiam" {
		t.Errorf("envelope = level %q result %q identity %q category %q tenant %q sub %q rid %q", r.Level, r.ResultType, r.Identity.Name, r.Category, r.TenantID, r.SubscriptionID, r.ResourceIDLower)
	}
	s := r.SignIn
	if s == nil {
		t.Fatal("no sign-in properties")
	}
	if s.UserPrincipalName != "timperkins@contoso.com" || s.UserID != "a1b2c3d4-e5f6-4789-8abc-def012345678" || s.AppID != "c44b4083-3bb0-49c1-b47d-974e53cbdf3c" ||
		s.AppDisplayName != "Azure Portal" || s.IPAddress != "198.51.100.4" || s.ClientAppUsed != "Browser" || s.UserType != "Member" ||
		s.ResourceID != "797f4846-ba00-4fd7-ba43-dac1f8f63013" || s.ConditionalAccessStatus != "notApplied" || s.FailureReason != "Keep me signed in interrupt" {
		t.Errorf("sign-in = %+v", s)
	}
	if s.ErrorCode == nil || *s.ErrorCode != 50140 {
		t.Errorf("errorCode = %v, want 50140", s.ErrorCode)
	}
	if s.IsInteractive == nil || !*s.IsInteractive {
		t.Errorf("isInteractive = %v, want true", s.IsInteractive)
	}
	// +02:00 at 09:02 is 07:02 UTC.
	if want := time.Date(2026, 11, 22, 7, 2, 15, 552213700, time.UTC); !s.CreatedAt.Equal(want) || s.CreatedAt.Location() != time.UTC {
		t.Errorf("createdAt = %v, want %v", s.CreatedAt, want)
	}

	recs, errs = ParseLine(ContainerServicePrincipalSignInLogs, "sp.json", 1, 0, []byte(spSignInLine))
	if len(errs) != 0 || len(recs) != 1 || recs[0].SignIn == nil {
		t.Fatalf("service principal sign-in: %d records, errors %v", len(recs), errs)
	}
	sp := recs[0].SignIn
	if sp.ServicePrincipalID != "66666666-7777-4888-8999-000000000000" || sp.ServicePrincipalName != "ci-deployer" || sp.ErrorCode == nil || *sp.ErrorCode != 0 ||
		sp.IsInteractive == nil || *sp.IsInteractive || recs[0].ResultType != "0" {
		t.Errorf("service principal sign-in = %+v", sp)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 22, 7, 14, 26, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-22T07:14:26.9792776Z", base.Add(979277600)},
		{"2026-11-22T07:14:26.9792776", base.Add(979277600)}, // no zone: UTC
		{"2026-11-22T09:14:26.9792776+02:00", base.Add(979277600)},
		{"2026-11-22T02:14:26.9792776-05:00", base.Add(979277600)},
		{"2026-11-22T07:14:26Z", base},
		{"2026-11-22T07:14:26.123Z", base.Add(123 * time.Millisecond)},
		{"2026-11-22 07:14:26.5Z", base.Add(500 * time.Millisecond)},
		{" 2026-11-22T07:14:26Z ", base},
	} {
		got, err := ParseTime(tc.in)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v UTC", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-11-22", "2026-13-22T07:14:26Z", "1732259666"} {
		if _, err := ParseTime(bad); !errors.Is(err, ErrBadTime) {
			t.Errorf("ParseTime(%q) error = %v, want ErrBadTime", bad, err)
		}
	}
}

func TestParseLineVariants(t *testing.T) {
	t.Parallel()
	minimal := `{"time":"2026-11-22T07:00:00.0000001","resourceId":"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/x","operationName":{"value":"Microsoft.Resources/deployments/write","localizedValue":"Create deployment"},"category":"Administrative","resultType":"Start","durationMs":"15","properties":"not an object","identity":{"claims":{"oid":"abc","tid":"t","upn":"u@x","azp":"app2"}}}`
	for _, tc := range []struct {
		name string
		line string
		test func(t *testing.T, r Record)
	}{
		{"bom", "\xEF\xBB\xBF" + minimal + "\r\n", func(t *testing.T, r Record) {
			if r.ResultType != "Start" || !strings.HasPrefix(string(r.Raw), "{") {
				t.Errorf("bom not stripped: %q", r.Raw[:3])
			}
		}},
		{"rest-schema operationName object", minimal, func(t *testing.T, r Record) {
			if r.OperationName != "Microsoft.Resources/deployments/write" {
				t.Errorf("operationName = %q", r.OperationName)
			}
		}},
		{"no zone time is UTC with 100ns", minimal, func(t *testing.T, r Record) {
			if !r.Time.Equal(time.Date(2026, 11, 22, 7, 0, 0, 100, time.UTC)) {
				t.Errorf("time = %v", r.Time)
			}
		}},
		{"duration as string", minimal, func(t *testing.T, r Record) {
			if r.DurationMs == nil || *r.DurationMs != 15 {
				t.Errorf("durationMs = %v", r.DurationMs)
			}
		}},
		{"properties not an object kept raw", minimal, func(t *testing.T, r Record) {
			if string(r.Properties) != `"not an object"` || r.EventCategory != "" {
				t.Errorf("properties = %s, eventCategory %q", r.Properties, r.EventCategory)
			}
		}},
		{"short claim names", minimal, func(t *testing.T, r Record) {
			if id := r.Identity; id.ObjectID != "abc" || id.TenantID != "t" || id.UPN != "u@x" || id.AppID != "app2" || id.Action != "" {
				t.Errorf("identity = %+v", id)
			}
		}},
		{"lower-case resource id", minimal, func(t *testing.T, r Record) {
			if r.SubscriptionID != "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" || r.ResourceIDLower != "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourcegroups/x" || r.ResourceID != "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/x" {
				t.Errorf("resource = %q %q %q", r.ResourceID, r.ResourceIDLower, r.SubscriptionID)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recs, errs := ParseLine(ContainerActivityLogs, "v.json", 1, 0, []byte(tc.line))
			if len(errs) != 0 || len(recs) != 1 {
				t.Fatalf("got %d records, errors %v", len(recs), errs)
			}
			tc.test(t, recs[0])
		})
	}
	for _, blank := range []string{"", "\n", "  \r\n", "\xEF\xBB\xBF\n"} {
		if recs, errs := ParseLine(ContainerActivityLogs, "v.json", 1, 0, []byte(blank)); recs != nil || errs != nil {
			t.Errorf("blank line %q: %v %v", blank, recs, errs)
		}
	}
}

func TestParseLineRecordsWrapper(t *testing.T) {
	t.Parallel()
	line := `{"records": [` + activityLine + `, ` + spSignInLine + `, "text", {"operationName":"x/write"}, {"time":"soon"}]}`
	recs, errs := ParseLine(ContainerActivityLogs, "w.json", 7, 40, []byte(line))
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	if recs[0].Index != 0 || recs[1].Index != 1 || recs[0].Line != 7 || recs[1].Offset != 40 ||
		recs[0].CorrelationID != "c776f9f4-36e5-4e0e-809b-c9b3c3fb62a8" || recs[1].CorrelationID != "0d3c2b1a-0000-4000-8000-000000000001" {
		t.Errorf("records = %+v / %+v", recs[0], recs[1])
	}
	if string(recs[0].Raw) != activityLine {
		t.Errorf("wrapper element raw = %s", recs[0].Raw)
	}
	if recs[1].SignIn == nil || recs[1].SignIn.ServicePrincipalName != "ci-deployer" {
		t.Errorf("sign-in element not decoded: %+v", recs[1].SignIn)
	}
	wantErrs := []struct {
		index int
		err   error
	}{{2, ErrNotJSON}, {3, ErrNoTime}, {4, ErrBadTime}}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want %d", errs, len(wantErrs))
	}
	for i, w := range wantErrs {
		if errs[i].Index != w.index || !errors.Is(errs[i], w.err) || errs[i].Line != 7 || errs[i].Blob != "w.json" {
			t.Errorf("error %d = %+v, want index %d %v", i, errs[i], w.index, w.err)
		}
	}
}

func TestParseLineMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		line string
		want error
	}{
		{"not json", `time=2026-11-22 op=write`, ErrNotJSON},
		{"array", `[1,2,3]`, ErrNotJSON},
		{"truncated", `{"time":"2026-11-22T07:00:00Z","resourceId":"/subs`, ErrNotJSON},
		{"trailing garbage", `{"time":"2026-11-22T07:00:00Z"} x`, ErrNotJSON},
		{"no time", `{"operationName":"Microsoft.Compute/virtualMachines/write"}`, ErrNoTime},
		{"empty time", `{"time":""}`, ErrNoTime},
		{"bad time", `{"time":"22/11/2026 07:00"}`, ErrBadTime},
		{"records not an array", `{"records":{"a":1}}`, ErrNoRecords},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recs, errs := ParseLine(ContainerActivityLogs, "resourceId=/SUBSCRIPTIONS/X/PT1H.json", 12, 3456, []byte(tc.line))
			if len(recs) != 0 || len(errs) != 1 {
				t.Fatalf("got %d records, errors %v", len(recs), errs)
			}
			e := errs[0]
			if !errors.Is(e, tc.want) || e.Line != 12 || e.Offset != 3456 || e.Blob != "resourceId=/SUBSCRIPTIONS/X/PT1H.json" {
				t.Errorf("error = %+v, want %v at line 12", e, tc.want)
			}
			if msg := e.Error(); !strings.HasPrefix(msg, "blob insights-activity-logs/resourceId=/SUBSCRIPTIONS/X/PT1H.json line 12: ") {
				t.Errorf("message %q does not name blob and line", msg)
			}
		})
	}
}
