package transform

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/schemas"
)

const (
	dirAlice      = "2468adf0-8211-4e3a-95f1-85137af64708"
	dirBob        = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
	dirCarol      = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"
	dirPlatform   = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	dirOps        = "b3a2c1d0-e9f8-4a7b-8c6d-5e4f3a2b1c0d"
	dirCI         = "66666666-7777-4888-8999-000000000000"
	dirMI         = "a1b2c3d4-e5f6-4789-8abc-def012345678"
	dirOtherMI    = "f0e1d2c3-b4a5-4968-8776-655443322110"
	dirUnknownSP  = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	dirTenantBlob = "graph/72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// directoryInput is the tenant of testdata/azure/graph_*.json: Platform Admins holds Alice, the
// Ops group (Bob, the ci-deployer app, a device, a managed identity the snapshot does not list,
// an unlisted service principal) and the mi-cleanup managed identity, transitively.
func directoryInput(t *testing.T) DirectoryInput {
	return DirectoryInput{
		Users:             listValues(t, "testdata/azure/graph_users.json"),
		Groups:            listValues(t, "testdata/azure/graph_groups.json"),
		ServicePrincipals: listValues(t, "testdata/azure/graph_service_principals.json"),
		Members: map[string][][]byte{
			dirPlatform:             listValues(t, "testdata/azure/graph_members_platform_admins.json"),
			strings.ToUpper(dirOps): listValues(t, "testdata/azure/graph_members_ops.json"),
		},
	}
}

func TestAzureDirectory(t *testing.T) {
	t.Parallel()
	snap, err := AzureDirectory(directoryInput(t), azMeta(dirTenantBlob))
	if err != nil {
		t.Fatal(err)
	}
	type principal struct{ typ, name, upn, app, enabled, created, last, lastNI string }
	want := map[string]principal{
		dirAlice:    {"user", "Alice Admin", "admin@contoso.com", "<nil>", "true", "2024-02-10T09:30:00Z", "2026-11-21T16:02:11Z", "2026-11-22T06:45:03.1234567Z"},
		dirBob:      {"user", "Bob Ops", "bob@contoso.com", "<nil>", "true", "2025-05-05T05:05:05Z", "2026-08-01T12:00:00Z", "<nil>"},
		dirCarol:    {"user", "Carol Contractor", "carol_fabrikam.com#EXT#@contoso.onmicrosoft.com", "<nil>", "false", "2026-01-15T00:00:00Z", "<nil>", "<nil>"},
		dirPlatform: {"group", "Platform Admins", "<nil>", "<nil>", "<nil>", "2023-09-01T10:00:00Z", "<nil>", "<nil>"},
		dirOps:      {"group", "Ops", "<nil>", "<nil>", "<nil>", "2023-09-01T10:05:00Z", "<nil>", "<nil>"},
		dirCI:       {"service_principal", "ci-deployer", "<nil>", "11111111-2222-4333-8444-555555555555", "true", "2025-03-01T00:00:00Z", "<nil>", "<nil>"},
		dirMI:       {"managed_identity", "mi-cleanup", "<nil>", "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5", "true", "2026-02-02T02:02:02Z", "<nil>", "<nil>"},
	}
	// Eight objects, Alice twice (overlapping pages): seven principals, sorted, the first Alice kept.
	if len(snap.Principals) != len(want) {
		t.Fatalf("%d principals, want %d: %+v", len(snap.Principals), len(want), snap.Principals)
	}
	for i, p := range snap.Principals {
		if i > 0 && snap.Principals[i-1].PrincipalID >= p.PrincipalID {
			t.Errorf("principals not sorted at %d", i)
		}
		got := principal{p.PrincipalType, str(p.DisplayName), str(p.UserPrincipalName), str(p.AppID), ptrBool(p.IsEnabled),
			ptrTime(p.CreatedAt), ptrTime(p.LastSignInAt), ptrTime(p.LastNonInteractiveSignInAt)}
		if got != want[p.PrincipalID] {
			t.Errorf("%s:\n got %+v\nwant %+v", p.PrincipalID, got, want[p.PrincipalID])
		}
		// Users have sign-in activity (Carol's absence of it means never); nobody else does.
		if p.HasSignInActivity != (p.PrincipalType == schemas.AzureUser) {
			t.Errorf("%s (%s): has_sign_in_activity = %v", p.PrincipalID, p.PrincipalType, p.HasSignInActivity)
		}
		if !p.SnapshotAt.Equal(azSnapshotAt) || p.SnapshotAt.Location() != time.UTC || p.RunID != "run-7" || p.SourceKey != dirTenantBlob {
			t.Errorf("%s: snapshot/lineage %v %s %s", p.PrincipalID, p.SnapshotAt, p.RunID, p.SourceKey)
		}
	}

	// Transitive members: nested members appear under both groups, the device under neither, the
	// duplicate Alice once; a member service principal is a managed identity when the snapshot
	// (or, for one it lacks, the member object) says so.
	var got []string
	for i, m := range snap.GroupMembers {
		got = append(got, m.GroupID+" "+m.MemberID+" "+m.MemberType)
		if i > 0 {
			a, b := snap.GroupMembers[i-1], m
			if a.GroupID > b.GroupID || a.GroupID == b.GroupID && a.MemberID >= b.MemberID {
				t.Errorf("members not sorted at %d", i)
			}
		}
		if !m.SnapshotAt.Equal(azSnapshotAt) || m.RunID != "run-7" || m.SourceKey != dirTenantBlob {
			t.Errorf("member %s: snapshot/lineage", m.MemberID)
		}
	}
	wantMembers := []string{
		dirPlatform + " " + dirAlice + " user",
		dirPlatform + " " + dirBob + " user",
		dirPlatform + " " + dirCI + " service_principal",
		dirPlatform + " " + dirMI + " managed_identity",
		dirPlatform + " " + dirOps + " group",
		dirOps + " " + dirUnknownSP + " service_principal",
		dirOps + " " + dirBob + " user",
		dirOps + " " + dirCI + " service_principal",
		dirOps + " " + dirOtherMI + " managed_identity",
	}
	// sorted by group, then member ID
	if strings.Join(got, "\n") != strings.Join(sortedCopy(wantMembers), "\n") {
		t.Errorf("members:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(sortedCopy(wantMembers), "\n"))
	}
}

func sortedCopy(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

// TestAzureDirectoryNoSignInActivity: without the licence or permission, nobody has sign-in
// activity and last sign-ins are unknown (NULL), even for a user object that carried some.
func TestAzureDirectoryNoSignInActivity(t *testing.T) {
	t.Parallel()
	in := directoryInput(t)
	in.SignInActivityUnavailable = true
	snap, err := AzureDirectory(in, azMeta(dirTenantBlob))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Principals) != 7 {
		t.Fatalf("%d principals", len(snap.Principals))
	}
	for _, p := range snap.Principals {
		if p.HasSignInActivity || p.LastSignInAt != nil || p.LastNonInteractiveSignInAt != nil {
			t.Errorf("%s: has=%v last=%s lastNI=%s", p.PrincipalID, p.HasSignInActivity, ptrTime(p.LastSignInAt), ptrTime(p.LastNonInteractiveSignInAt))
		}
	}
	if len(snap.GroupMembers) != 9 {
		t.Errorf("%d members, want 9", len(snap.GroupMembers))
	}
}

func TestAzureDirectoryEdges(t *testing.T) {
	t.Parallel()
	// A member without @odata.type takes its type from the snapshot; Graph's 0001-01-01 is "never".
	in := DirectoryInput{
		Users:             [][]byte{[]byte(`{"id":"` + dirAlice + `","displayName":"Alice","signInActivity":{"lastSignInDateTime":"0001-01-01T00:00:00Z","lastNonInteractiveSignInDateTime":"2026-11-01T00:00:00+01:00"}}`)},
		ServicePrincipals: [][]byte{[]byte(`{"id":"` + strings.ToUpper(dirMI) + `","appId":"0C1D2E3F-4A5B-4C6D-8E7F-8091A2B3C4D5","servicePrincipalType":"managedidentity"}`)},
		Members: map[string][][]byte{dirPlatform: {
			[]byte(`{"id":"` + dirAlice + `"}`),
			[]byte(`{"id":"` + dirMI + `","@odata.type":"#microsoft.graph.servicePrincipal"}`),
			[]byte(`{"id":"9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b","@odata.type":"#microsoft.graph.orgContact"}`),
		}},
	}
	snap, err := AzureDirectory(in, azMeta("k"))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Principals) != 2 || snap.Principals[0].PrincipalID != dirAlice || snap.Principals[0].LastSignInAt != nil ||
		ptrTime(snap.Principals[0].LastNonInteractiveSignInAt) != "2026-10-31T23:00:00Z" || !snap.Principals[0].HasSignInActivity ||
		snap.Principals[1].PrincipalID != dirMI || snap.Principals[1].PrincipalType != "managed_identity" ||
		str(snap.Principals[1].AppID) != "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5" || snap.Principals[1].HasSignInActivity {
		t.Errorf("principals = %+v", snap.Principals)
	}
	if len(snap.GroupMembers) != 2 || snap.GroupMembers[0].MemberType != "user" || snap.GroupMembers[1].MemberType != "managed_identity" {
		t.Errorf("members = %+v", snap.GroupMembers)
	}
	// An empty directory is an empty snapshot.
	if snap, err := AzureDirectory(DirectoryInput{}, azMeta("k")); err != nil || len(snap.Principals) != 0 || len(snap.GroupMembers) != 0 {
		t.Errorf("empty directory: %+v, %v", snap, err)
	}
}

func TestAzureDirectoryErrors(t *testing.T) {
	t.Parallel()
	user := []byte(`{"id":"` + dirAlice + `","displayName":"Alice"}`)
	for name, tc := range map[string]struct {
		in     DirectoryInput
		errHas string
	}{
		"user id not a GUID": {DirectoryInput{Users: [][]byte{user, []byte(`{"id":"alice","displayName":"Alice"}`)}}, `graph user 2 (alice): id "alice" is not a GUID`},
		"group without id":   {DirectoryInput{Groups: [][]byte{[]byte(`{"displayName":"Ops"}`)}}, "graph group 1 (Ops): id"},
		"bad createdDateTime": {DirectoryInput{ServicePrincipals: [][]byte{[]byte(`{"id":"` + dirCI + `","createdDateTime":"soon"}`)}},
			"graph service_principal 1 (" + dirCI + "): createdDateTime"},
		"bad lastSignInDateTime": {DirectoryInput{Users: [][]byte{[]byte(`{"id":"` + dirAlice + `","signInActivity":{"lastSignInDateTime":"last week"}}`)}}, "lastSignInDateTime"},
		"user not JSON":          {DirectoryInput{Users: [][]byte{[]byte(`{"id":`)}}, "graph user 1"},
		"group key not a GUID":   {DirectoryInput{Members: map[string][][]byte{"ops": {user}}}, `transitive members of group "ops"`},
		"member id not a GUID": {DirectoryInput{Members: map[string][][]byte{dirOps: {[]byte(`{"@odata.type":"#microsoft.graph.user","id":"bob"}`)}}},
			"group " + dirOps + ` member 1: id "bob"`},
		"unknown member type": {DirectoryInput{Members: map[string][][]byte{dirOps: {[]byte(`{"@odata.type":"#microsoft.graph.application","id":"` + dirCI + `"}`)}}},
			"group " + dirOps + " member " + dirCI + `: unknown @odata.type "#microsoft.graph.application"`},
		"untyped member not in the snapshot": {DirectoryInput{Members: map[string][][]byte{dirOps: {[]byte(`{"id":"` + dirBob + `"}`)}}},
			`unknown @odata.type ""`},
	} {
		if _, err := AzureDirectory(tc.in, azMeta("k")); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.errHas)
		}
	}
}
