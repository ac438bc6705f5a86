package transform

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"
)

// The Azure snapshot objects and export lines come from outside (ARM, Graph, Blob Storage): each
// target feeds one parser arbitrary bytes and requires an error or a row, never a panic or a
// hang, and the same answer twice (rows are keyed and deduped on their content). The seeds are
// the real-shaped fixtures of testdata/azure; testdata/fuzz/FuzzX holds them and what was found.

// fixtureValues returns the "value" elements of a list-response fixture.
func fixtureValues(tb testing.TB, path string) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	out := make([][]byte, len(page.Value))
	for i, v := range page.Value {
		out[i] = v
	}
	return out
}

// twice runs fn twice and fails when the answers differ.
func twice[T any](t *testing.T, fn func() (T, error)) {
	a, errA := fn()
	b, errB := fn()
	if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
		t.Fatalf("two parses differ: %v / %v", errA, errB)
	}
}

// FuzzAzureRBAC: one ARM object, read as a role definition, a role assignment and a provider
// operations document.
func FuzzAzureRBAC(f *testing.F) {
	for _, p := range []string{"role_definitions", "role_assignments"} {
		for _, v := range fixtureValues(f, "testdata/azure/"+p+".json") {
			f.Add(v)
		}
	}
	doc, err := os.ReadFile("testdata/azure/provider_operations.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	meta := azMeta("arm/fuzz")
	f.Fuzz(func(t *testing.T, obj []byte) {
		twice(t, func() (any, error) { return AzureRoleDefinitions([][]byte{obj}, meta) })
		twice(t, func() (any, error) { return AzureRoleAssignments([][]byte{obj, obj}, meta) })
		twice(t, func() (any, error) { return AzureProviderOperations(obj, meta) })
	})
}

// FuzzAzureDirectory: a user, a group, a service principal and a transitive member of that
// group, as Graph returns them.
func FuzzAzureDirectory(f *testing.F) {
	users := fixtureValues(f, "testdata/azure/graph_users.json")
	groups := fixtureValues(f, "testdata/azure/graph_groups.json")
	sps := fixtureValues(f, "testdata/azure/graph_service_principals.json")
	members := append(fixtureValues(f, "testdata/azure/graph_members_ops.json"), fixtureValues(f, "testdata/azure/graph_members_platform_admins.json")...)
	for i := range max(len(users), len(groups), len(sps), len(members)) {
		f.Add(users[i%len(users)], groups[i%len(groups)], sps[i%len(sps)], members[i%len(members)], i%2 == 0)
	}
	meta := azMeta("graph/fuzz")
	f.Fuzz(func(t *testing.T, user, group, sp, member []byte, noSignIn bool) {
		var g azGraphObject
		_ = json.Unmarshal(group, &g)
		in := DirectoryInput{
			Users: [][]byte{user}, Groups: [][]byte{group}, ServicePrincipals: [][]byte{sp},
			Members: map[string][][]byte{g.ID: {member}}, SignInActivityUnavailable: noSignIn,
		}
		twice(t, func() (*AzureDirectorySnapshot, error) { return AzureDirectory(in, meta) })
	})
}

// FuzzAzureEntraLogs: one line of an Entra export (sign-in logs of every category, audit logs).
func FuzzAzureEntraLogs(f *testing.F) {
	for _, l := range []string{signInInteractive, signInNonInteractive, signInServicePrincipal, signInManagedIdentity} {
		f.Add([]byte(l))
	}
	f.Add([]byte(`{"time":"2026-11-22T07:20:00Z","category":"AuditLogs","properties":{"id":"Directory_1","category":"ApplicationManagement","result":"failure","activityDisplayName":"Update application","initiatedBy":{"app":{"appId":"5e5e5e5e-0000-4000-8000-000000000005","displayName":"deploy-pipeline","servicePrincipalId":"9f2ea6a7-442b-44c9-8d4c-45cc7eea8fa4"}}}}`))
	meta := RecordMeta{Lineage: Lineage{RunID: "r1", SourceKey: "insights-logs-fuzz/PT1H.json"}, Line: 1}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, c := range []string{"SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs"} {
			if ev, err := AzureSignIn(line, c, meta); err == nil && ev.EventTime.Location() != time.UTC {
				t.Fatalf("%s: event time %v not UTC", c, ev.EventTime)
			}
		}
		if ev, err := AzureAudit(line, meta); err == nil && ev.EventTime.Location() != time.UTC {
			t.Fatalf("audit: event time %v not UTC", ev.EventTime)
		}
		twice(t, func() (any, error) { return AzureAudit(line, meta) })
	})
}
