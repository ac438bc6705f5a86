package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

const exportPrefix = "export/2026-11-22"

// bucket opens a fileblob bucket over a new temporary directory.
func bucket(t *testing.T) (*blob.Bucket, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, dir
}

// write puts a file under the export prefix, as the demo or `az rest` would.
func write(t *testing.T, dir, key, body string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(exportPrefix), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeList writes values as list response key with per values a page: key, then
// key-0002.json, … (the last page empty-valued when values is empty).
func writeList(t *testing.T, dir, key string, values [][]byte, per int) {
	t.Helper()
	for n, start := 1, 0; start < len(values) || n == 1; n, start = n+1, start+per {
		page := values[start:min(start+per, len(values))]
		write(t, dir, pageKey(key, n), string(mergeValues(page)))
	}
}

func assignment(name, principal, scope string) string {
	return fmt.Sprintf(`{"id":"%s/providers/Microsoft.Authorization/roleAssignments/%s","name":"%s","type":"Microsoft.Authorization/roleAssignments",`+
		`"properties":{"roleDefinitionId":"/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s","principalId":"%s","principalType":"User","scope":"%s","condition":null}}`,
		scope, name, name, subProd, readerGUID, principal, scope)
}

func names(t *testing.T, values [][]byte) string {
	t.Helper()
	var out []string
	for _, v := range values {
		out = append(out, fmt.Sprint(obj(t, v)["name"]))
	}
	return strings.Join(out, ",")
}

// TestFilesRBACReadsContinuationPages: roleAssignments.json, -0002.json and -0003.json are read
// in that order, values kept byte for byte; the tenant comes from arm/subscriptions.json
// (itself two pages); neighbours that only share the name's start are not pages.
func TestFilesRBACReadsContinuationPages(t *testing.T) {
	t.Parallel()
	b, dir := bucket(t)
	sub := "/subscriptions/" + subProd
	base := "arm/subscriptions/" + subProd + "/"
	write(t, dir, base+"roleAssignments.json", `{"value":[`+assignment("ra-1", userAlice, sub)+`,`+assignment("ra-2", userBob, sub+"/resourceGroups/rg")+`],"nextLink":"https://management.azure.com`+sub+`/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$skipToken=x"}`)
	write(t, dir, base+"roleAssignments-0002.json", `{"value":[`+assignment("ra-3", userCarol, sub)+`]}`)
	write(t, dir, base+"roleAssignments-0003.json", `{"value":[`+assignment("ra-4", groupOps, "/")+`]}`)
	write(t, dir, base+"roleAssignmentsOld.json", `{"value":[`+assignment("stale", userDave, sub)+`]}`)
	write(t, dir, base+"roleDefinitions.json", `{"value":[{"id":"/subscriptions/`+subProd+`/providers/Microsoft.Authorization/roleDefinitions/`+readerGUID+
		`","name":"`+readerGUID+`","type":"Microsoft.Authorization/roleDefinitions","properties":{"roleName":"Reader","type":"BuiltInRole","permissions":[{"actions":["*/read"],"notActions":[]}],"assignableScopes":["/"],"createdOn":"2015-02-02T21:55:09.8806423Z"}}]}`)
	write(t, dir, "arm/subscriptions.json", `{"value":[{"subscriptionId":"`+subDev+`","displayName":"dev","state":"Enabled","tenantId":"`+tenantB+`"}],"nextLink":"x"}`)
	write(t, dir, "arm/subscriptions-0002.json", `{"value":[{"subscriptionId":"`+strings.ToUpper(subProd)+`","displayName":"prod","state":"Enabled","tenantId":"`+strings.ToUpper(tenantA)+`"}]}`)

	f := &Files{Bucket: b, Prefix: "/" + exportPrefix + "/"}
	snap, err := f.RBAC(context.Background(), strings.ToUpper(subProd))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, snap.RoleAssignments); got != "ra-1,ra-2,ra-3,ra-4" {
		t.Errorf("assignments %s, want the three pages in order and not roleAssignmentsOld.json", got)
	}
	if want := assignment("ra-3", userCarol, sub); string(snap.RoleAssignments[2]) != want {
		t.Errorf("value not kept as written:\n got %s\nwant %s", snap.RoleAssignments[2], want)
	}
	if p := props(t, snap.RoleAssignments[3]); p["principalId"] != groupOps || p["scope"] != "/" {
		t.Errorf("ra-4 properties %v", p)
	}
	if len(snap.RoleDefinitions) != 1 || props(t, snap.RoleDefinitions[0])["createdOn"] != "2015-02-02T21:55:09.8806423Z" {
		t.Errorf("definitions %s", snap.RoleDefinitions)
	}
	if snap.SubscriptionID != subProd || snap.TenantID != tenantA || snap.SourceKey != exportPrefix+"/"+base {
		t.Errorf("snapshot %q in tenant %q from %q", snap.SubscriptionID, snap.TenantID, snap.SourceKey)
	}
	ids, err := snap.PrincipalIDs()
	if err != nil || strings.Join(ids, ",") != strings.Join([]string{groupOps, userAlice, userBob, userCarol}, ",") {
		t.Errorf("principal IDs %v %v", ids, err)
	}
}

// TestFilesSubscriptions: arm/subscriptions.json is the discovery: Enabled ones by default,
// static ones whatever their state, Exclude by display-name glob; without Discover only the
// static ones, completed from the file.
func TestFilesSubscriptions(t *testing.T) {
	t.Parallel()
	b, dir := bucket(t)
	write(t, dir, "arm/subscriptions.json", `{"value":[`+
		`{"subscriptionId":"`+subProd+`","displayName":"contoso-prod","state":"Enabled","tenantId":"`+tenantA+`"},`+
		`{"subscriptionId":"`+subOld+`","displayName":"legacy","state":"Disabled","tenantId":"`+tenantA+`"}]}`)
	write(t, dir, "arm/subscriptions-0002.json", `{"value":[`+
		`{"subscriptionId":"`+subSbx+`","displayName":"sandbox-1","state":"Enabled","tenantId":"`+tenantB+`"},`+
		`{"subscriptionId":"`+subDev+`","displayName":"contoso-dev","state":"Enabled","tenantId":"`+tenantA+`","managedByTenants":[{"tenantId":"`+tenantB+`"}]}]}`)
	f := &Files{Bucket: b, Prefix: exportPrefix, Discovery: Discovery{Discover: true, Static: []string{strings.ToUpper(subOld)}, Exclude: []string{"sandbox-*"}}}
	subs, err := f.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range subs {
		got = append(got, s.ID+" "+s.DisplayName+" "+s.State+" "+s.TenantID+" "+strings.Join(s.ManagedByTenants, ";"))
	}
	// Sorted by ID; Disabled legacy only because it is static; the sandbox excluded by name.
	want := []string{subProd + " contoso-prod Enabled " + tenantA + " ", subDev + " contoso-dev Enabled " + tenantA + " " + tenantB, subOld + " legacy Disabled " + tenantA + " "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("subscriptions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	f.Discovery = Discovery{Static: []string{subSbx, subData}}
	subs, err = f.Subscriptions(context.Background())
	if err != nil || len(subs) != 2 || subs[0].ID != subData || subs[0].TenantID != "" || subs[1].ID != subSbx || subs[1].TenantID != tenantB {
		t.Errorf("static only: %+v %v", subs, err)
	}
	empty, _ := bucket(t)
	_, err = (&Files{Bucket: empty, Prefix: exportPrefix, Discovery: Discovery{Discover: true}}).Subscriptions(context.Background())
	if KindOf(err) != KindNotFound || !strings.Contains(err.Error(), "read "+exportPrefix+"/arm/subscriptions.json") {
		t.Errorf("discovery without the file: %v", err)
	}
}

// TestFilesErrorsNameTheFile: a missing file, a gap in the continuation pages, a last page
// whose nextLink promises more, and a body that is not a list response are errors naming the file.
func TestFilesErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	b, dir := bucket(t)
	base := "arm/subscriptions/" + subProd + "/"
	f := &Files{Bucket: b, Prefix: exportPrefix}
	ctx := context.Background()

	write(t, dir, base+"roleAssignments.json", `{"value":[]}`)
	_, err := f.RBAC(ctx, subProd)
	if KindOf(err) != KindNotFound || !strings.HasPrefix(err.Error(), "subscription "+subProd+": read "+exportPrefix+"/"+base+"roleDefinitions.json: not_found: ") {
		t.Errorf("missing file: %v", err)
	}
	write(t, dir, base+"roleDefinitions.json", `{"value":[]}`)
	write(t, dir, base+"roleAssignments-0003.json", `{"value":[]}`)
	_, err = f.RBAC(ctx, subProd)
	if !strings.Contains(err.Error(), "read "+exportPrefix+"/"+base+"roleAssignments-0002.json: ") || !strings.Contains(err.Error(), "page 2 is missing but later pages exist") {
		t.Errorf("gap: %v", err)
	}
	write(t, dir, base+"roleAssignments-0002.json", `{"value":[],"nextLink":"https://management.azure.com/x"}`)
	write(t, dir, base+"roleAssignments-0003.json", `{"value":[],"nextLink":"https://management.azure.com/y"}`)
	_, err = f.RBAC(ctx, subProd)
	if err == nil || !strings.Contains(err.Error(), "read "+exportPrefix+"/"+base+"roleAssignments-0003.json: ") || !strings.Contains(err.Error(), "roleAssignments-0004.json does not exist") {
		t.Errorf("truncated copy: %v", err)
	}
	write(t, dir, "arm/providerOperations.json", `[{"name":"Microsoft.Compute"}]`)
	_, err = f.Operations(ctx)
	if err == nil || !strings.Contains(err.Error(), "read "+exportPrefix+"/arm/providerOperations.json: ") {
		t.Errorf("bare array: %v", err)
	}
	if _, err := f.RBAC(ctx, "../../etc"); KindOf(err) != KindInvalidInput {
		t.Errorf("path in the ID: %v", err)
	}
}

// tenantFiles writes tenant A's directory: four users (Alice with signInActivity), two groups,
// three service principals; Ops's transitive members on two pages.
func tenantFiles(t *testing.T, dir string) {
	t.Helper()
	g := "graph/" + tenantA + "/"
	write(t, dir, g+"users.json", `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[`+
		`{"id":"`+userAlice+`","userPrincipalName":"alice@contoso.com","accountEnabled":true,"userType":"Member","signInActivity":{"lastSignInDateTime":"2026-11-20T08:00:00Z"}},`+
		`{"id":"`+userBob+`","userPrincipalName":"bob@fabrikam.com","accountEnabled":false,"userType":"Guest","signInActivity":null}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x"}`)
	write(t, dir, g+"users-0002.json", `{"value":[`+
		`{"id":"`+userCarol+`","userPrincipalName":"carol@contoso.com","signInActivity":{"lastSignInDateTime":null}},`+
		`{"id":"`+userDave+`","userPrincipalName":"dave@contoso.com","signInActivity":{"lastSignInDateTime":"2025-01-01T00:00:00Z"}}]}`)
	write(t, dir, g+"groups.json", `{"value":[{"id":"`+groupOps+`","displayName":"Platform Ops","securityEnabled":true},{"id":"`+groupNest+`","displayName":"On-call"}]}`)
	write(t, dir, g+"servicePrincipals.json", `{"value":[`+
		`{"id":"`+spPipeline+`","appId":"a9900000-0000-4000-8000-000000000001","servicePrincipalType":"Application"},`+
		`{"id":"`+miFunctions+`","servicePrincipalType":"ManagedIdentity"},`+
		`{"id":"5e000000-0000-4000-8000-000000000099","servicePrincipalType":"Application","displayName":"unassigned"}]}`)
	write(t, dir, g+"transitiveMembers/"+groupOps+".json", `{"value":[{"@odata.type":"#microsoft.graph.user","id":"`+userBob+`"},{"@odata.type":"#microsoft.graph.group","id":"`+groupNest+`"}]}`)
	write(t, dir, g+"transitiveMembers/"+groupOps+"-0002.json", `{"value":[{"@odata.type":"#microsoft.graph.user","id":"`+userCarol+`"},{"@odata.type":"#microsoft.graph.servicePrincipal","id":"`+miFunctions+`"},{"@odata.type":"#microsoft.graph.device","id":"de000000-0000-4000-8000-000000000001"}]}`)
	// The nested group is not requested: its file must not be needed.
}

func ids(t *testing.T, values [][]byte) string {
	t.Helper()
	var out []string
	for _, v := range values {
		out = append(out, fmt.Sprint(obj(t, v)["id"]))
	}
	return strings.Join(out, ",")
}

// TestFilesDirectory: like the API path, only the requested principals and the objects of the
// requested group's transitive members come back; the unknown ID is Missing.
func TestFilesDirectory(t *testing.T) {
	t.Parallel()
	b, dir := bucket(t)
	tenantFiles(t, dir)
	f := &Files{Bucket: b, Prefix: exportPrefix}
	d, err := f.Directory(context.Background(), strings.ToUpper(tenantA), []string{strings.ToUpper(userAlice), groupOps, spPipeline, goneID, userAlice})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, d.Users); got != strings.Join([]string{userAlice, userBob, userCarol}, ",") {
		t.Errorf("users %s: want Alice and Ops's members, not Dave", got)
	}
	if got := ids(t, d.Groups); got != groupOps+","+groupNest {
		t.Errorf("groups %s", got)
	}
	if got := ids(t, d.ServicePrincipals); got != miFunctions+","+spPipeline {
		t.Errorf("service principals %s: want the requested one and the member managed identity, not the unassigned one", got)
	}
	if len(d.Members) != 1 || len(d.Members[groupOps]) != 5 || obj(t, d.Members[groupOps][4])["@odata.type"] != "#microsoft.graph.device" {
		t.Errorf("members %s", d.Members)
	}
	if strings.Join(d.Missing, ",") != goneID || d.SignInActivityUnavailable || d.TenantID != tenantA || d.SourceKey != exportPrefix+"/graph/"+tenantA+"/" {
		t.Errorf("missing %v, sign-in unavailable %v, tenant %q, source %q", d.Missing, d.SignInActivityUnavailable, d.TenantID, d.SourceKey)
	}
	if s := obj(t, d.Users[0])["signInActivity"].(map[string]any); s["lastSignInDateTime"] != "2026-11-20T08:00:00Z" {
		t.Errorf("alice %s", d.Users[0])
	}

	// A tenant exported without signInActivity; and a requested group without its members file.
	g := "graph/" + tenantB + "/"
	write(t, dir, g+"users.json", `{"value":[{"id":"`+userAlice+`","userPrincipalName":"alice@contoso.com"}]}`)
	write(t, dir, g+"groups.json", `{"value":[{"id":"`+groupOps+`"}]}`)
	write(t, dir, g+"servicePrincipals.json", `{"value":[]}`)
	d, err = f.Directory(context.Background(), tenantB, []string{userAlice})
	if err != nil || !d.SignInActivityUnavailable || len(d.Users) != 1 {
		t.Errorf("no signInActivity: %+v %v", d, err)
	}
	_, err = f.Directory(context.Background(), tenantB, []string{groupOps})
	if KindOf(err) != KindNotFound || !strings.Contains(err.Error(), "tenant "+tenantB+": read "+exportPrefix+"/graph/"+tenantB+"/transitiveMembers/"+groupOps+".json") {
		t.Errorf("missing members file: %v", err)
	}
	if _, err := f.Directory(context.Background(), "", nil); KindOf(err) != KindInvalidInput {
		t.Errorf("empty tenant: %v", err)
	}
}

// TestFilesMatchAPI: what the API source returns, written in the offline layout two values a
// page, reads back through Files identically — the two implementations are one contract.
func TestFilesMatchAPI(t *testing.T) {
	t.Parallel()
	e := rbacEnv(t)
	e.arm.ProviderOperations = catalog()
	api := apiSource(t, e)
	ctx := context.Background()
	rbac, err := api.RBAC(ctx, subProd)
	if err != nil {
		t.Fatal(err)
	}
	principals, err := rbac.PrincipalIDs()
	if err != nil {
		t.Fatal(err)
	}
	dirAPI, err := api.Directory(ctx, rbac.TenantID, principals)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := api.Operations(ctx)
	if err != nil {
		t.Fatal(err)
	}

	b, dir := bucket(t)
	writeList(t, dir, "arm/subscriptions.json", serverValues(t, e, "/subscriptions?api-version=2022-12-01"), 2)
	base := "arm/subscriptions/" + subProd + "/"
	writeList(t, dir, base+"roleDefinitions.json", rbac.RoleDefinitions, 2)
	writeList(t, dir, base+"roleAssignments.json", rbac.RoleAssignments, 2)
	var doc struct{ Value []json.RawMessage }
	if err := json.Unmarshal(ops, &doc); err != nil {
		t.Fatal(err)
	}
	var opValues [][]byte
	for _, v := range doc.Value {
		opValues = append(opValues, v)
	}
	writeList(t, dir, "arm/providerOperations.json", opValues, 2)
	g := "graph/" + tenantA + "/"
	writeList(t, dir, g+"users.json", dirAPI.Users, 2)
	writeList(t, dir, g+"groups.json", dirAPI.Groups, 2)
	writeList(t, dir, g+"servicePrincipals.json", dirAPI.ServicePrincipals, 2)
	for gid, ms := range dirAPI.Members {
		writeList(t, dir, g+"transitiveMembers/"+gid+".json", ms, 2)
	}

	files := &Files{Bucket: b, Prefix: exportPrefix, Discovery: api.Discovery}
	subsA, _ := api.Subscriptions(ctx)
	subsF, err := files.Subscriptions(ctx)
	if err != nil || !reflect.DeepEqual(subsA, subsF) {
		t.Errorf("subscriptions: API %+v, files %+v (%v)", subsA, subsF, err)
	}
	rbacF, err := files.RBAC(ctx, subProd)
	if err != nil {
		t.Fatal(err)
	}
	rbacF.SourceKey = rbac.SourceKey
	if rbac.SubscriptionID != rbacF.SubscriptionID || rbac.TenantID != rbacF.TenantID {
		t.Errorf("RBAC identity: API %q %q, files %q %q", rbac.SubscriptionID, rbac.TenantID, rbacF.SubscriptionID, rbacF.TenantID)
	}
	for _, l := range []struct {
		what     string
		api, got [][]byte
	}{{"assignments", rbac.RoleAssignments, rbacF.RoleAssignments}, {"definitions", rbac.RoleDefinitions, rbacF.RoleDefinitions}} {
		if len(l.api) != len(l.got) {
			t.Errorf("%s: API %d, files %d", l.what, len(l.api), len(l.got))
			continue
		}
		for i := range l.api {
			if !bytes.Equal(l.api[i], l.got[i]) {
				t.Errorf("%s %d:\nAPI   %q\nfiles %q", l.what, i, l.api[i], l.got[i])
			}
		}
	}
	dirF, err := files.Directory(ctx, tenantA, principals)
	if err != nil {
		t.Fatal(err)
	}
	dirF.SourceKey = dirAPI.SourceKey
	if !reflect.DeepEqual(dirAPI, dirF) {
		t.Errorf("directory differs:\nAPI   %+v\nfiles %+v", dirAPI, dirF)
	}
	if len(dirAPI.Users) != 3 || len(dirAPI.Missing) != 1 || len(dirAPI.Members[groupOps]) != 4 {
		t.Errorf("the comparison is over too little: %d users, missing %v, %d members", len(dirAPI.Users), dirAPI.Missing, len(dirAPI.Members[groupOps]))
	}
	opsF, err := files.Operations(ctx)
	if err != nil || !bytes.Equal(ops, opsF) {
		t.Errorf("operations differ (%v):\nAPI   %s\nfiles %s", err, ops, opsF)
	}
	if _, err := os.Stat(filepath.Join(dir, exportPrefix, base, "roleAssignments-0003.json")); err != nil {
		t.Errorf("five assignments two a page should make three files: %v", err)
	}
}
