package azure

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/azure/azapitest"
)

const (
	userBob   = "b0b00000-0000-4000-8000-000000000002"
	userCarol = "ca001000-0000-4000-8000-000000000003"
	userDave  = "da7e0000-0000-4000-8000-000000000004"
	groupNest = "6a000000-0000-4000-8000-000000000002"
	goneID    = "0ff00000-0000-4000-8000-000000000009"
)

func directory(g *azapitest.Graph) {
	g.Users = []azapitest.Object{
		{"id": userAlice, "userPrincipalName": "alice@contoso.com", "displayName": "Alice", "accountEnabled": true, "createdDateTime": "2021-01-02T03:04:05Z",
			"userType": "Member", "mail": "alice@contoso.com",
			"signInActivity": map[string]any{"lastSignInDateTime": "2026-11-20T08:00:00Z", "lastSignInRequestId": "r1",
				"lastNonInteractiveSignInDateTime": "2026-11-21T09:30:00Z", "lastSuccessfulSignInDateTime": "2026-11-20T08:00:00Z"}},
		{"id": userBob, "userPrincipalName": "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com", "displayName": "Bob", "accountEnabled": false,
			"createdDateTime": "2022-05-06T07:08:09Z", "userType": "Guest", "signInActivity": map[string]any{"lastSignInDateTime": nil, "lastNonInteractiveSignInDateTime": nil}},
		{"id": userCarol, "userPrincipalName": "carol@contoso.com", "displayName": "Carol", "accountEnabled": true, "createdDateTime": "2023-01-01T00:00:00Z", "userType": "Member"},
		{"id": userDave, "userPrincipalName": "dave@contoso.com", "displayName": "Dave", "accountEnabled": true, "createdDateTime": "2023-01-01T00:00:00Z", "userType": "Member",
			"signInActivity": map[string]any{"lastSignInDateTime": "2025-01-01T00:00:00Z"}},
	}
	g.Groups = []azapitest.Object{
		{"id": groupOps, "displayName": "Platform Ops", "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}, "createdDateTime": "2020-01-01T00:00:00Z"},
		{"id": groupNest, "displayName": "On-call", "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{"DynamicMembership"}, "createdDateTime": "2020-02-01T00:00:00Z"},
	}
	g.ServicePrincipals = []azapitest.Object{
		{"id": spPipeline, "appId": "a9900000-0000-4000-8000-000000000001", "displayName": "deploy-pipeline", "servicePrincipalType": "Application",
			"accountEnabled": true, "createdDateTime": "2024-01-01T00:00:00Z", "appOwnerOrganizationId": tenantA},
		{"id": miFunctions, "appId": "a9900000-0000-4000-8000-000000000002", "displayName": "func-orders", "servicePrincipalType": "ManagedIdentity",
			"accountEnabled": true, "createdDateTime": "2024-02-01T00:00:00Z"},
	}
	// Ops contains Bob and the On-call group; On-call contains Carol and the managed identity.
	g.Members[groupOps] = []string{userBob, groupNest}
	g.Members[groupNest] = []string{userCarol, miFunctions}
}

func graphOf(t *testing.T, e *env) *Graph {
	t.Helper()
	g, err := e.auth.Graph(tenantA)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGraphUsersPagesAndRetries pages all users two at a time with signInActivity selected,
// after a 429 with Retry-After, and decodes the values.
func TestGraphUsersPagesAndRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	directory(e.graph)
	e.graph.Throttle = 1
	var users []User
	pages := 0
	err := graphOf(t, e).Users(context.Background(), true, func(us []User) error {
		pages++
		users = append(users, us...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 2 || len(users) != 4 || e.graph.Requests("/v1.0/users") != 3 || e.graph.Throttled() != 1 {
		t.Fatalf("%d pages, %d users, %d requests (%d throttled); want 2, 4, 3 (1)", pages, len(users), e.graph.Requests("/v1.0/users"), e.graph.Throttled())
	}
	a := users[0]
	if a.ID != userAlice || a.UserPrincipalName != "alice@contoso.com" || a.AccountEnabled == nil || !*a.AccountEnabled || a.UserType != "Member" ||
		a.CreatedDateTime == nil || !a.CreatedDateTime.Equal(time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)) || a.SignInActivity == nil ||
		!a.SignInActivity.LastSignInDateTime.Equal(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)) ||
		!a.SignInActivity.LastNonInteractiveSignInDateTime.Equal(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("alice %+v %+v", a, a.SignInActivity)
	}
	if b := users[1]; b.UserType != "Guest" || *b.AccountEnabled || b.SignInActivity == nil || b.SignInActivity.LastSignInDateTime != nil {
		t.Errorf("bob %+v", b)
	}
	// Without sign-in activity the field is not selected, so not returned.
	var plain []User
	if err := graphOf(t, e).Users(context.Background(), false, func(us []User) error { plain = append(plain, us...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(plain) != 4 || plain[0].SignInActivity != nil || plain[0].UserType != "Member" {
		t.Errorf("users without signInActivity: %+v", plain[0])
	}
	// The token carried Graph's scope (the server checks the audience of every call).
	for _, r := range e.login.Requests() {
		if !strings.Contains(r.Scope, e.graph.URL+"/.default") {
			t.Errorf("token scope %q, want the Graph endpoint's /.default", r.Scope)
		}
	}
}

// TestGraphPrincipals resolves the principals role assignments name: a user, a group (whose
// transitive members include a nested group's user and a managed identity), a service
// principal, and a deleted principal.
func TestGraphPrincipals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	directory(e.graph)
	ids := []string{strings.ToUpper(userAlice), groupOps, spPipeline, goneID, userAlice}
	dir, err := graphOf(t, e).Principals(context.Background(), ids, PrincipalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, u := range dir.Users {
		users = append(users, u.DisplayName)
	}
	if g := strings.Join(users, ","); g != "Alice,Bob,Carol" {
		t.Errorf("users %s, want the assigned one and the group's transitive members (Dave holds no role)", g)
	}
	if len(dir.Groups) != 2 || dir.Groups[0].ID != groupOps || dir.Groups[1].DisplayName != "On-call" || dir.Groups[1].GroupTypes[0] != "DynamicMembership" {
		t.Errorf("groups %+v", dir.Groups)
	}
	if len(dir.ServicePrincipals) != 2 || dir.ServicePrincipals[0].ID != miFunctions || !dir.ServicePrincipals[0].IsManagedIdentity() ||
		dir.ServicePrincipals[1].IsManagedIdentity() || dir.ServicePrincipals[1].AppOwnerOrganizationID != tenantA {
		t.Errorf("service principals %+v", dir.ServicePrincipals)
	}
	var members []string
	for _, m := range dir.Members[groupOps] {
		members = append(members, m.ID+" "+m.ODataType)
	}
	if g := strings.Join(members, ","); g != fmt.Sprintf("%s #microsoft.graph.servicePrincipal,%s #microsoft.graph.group,%s #microsoft.graph.user,%s #microsoft.graph.user", miFunctions, groupNest, userBob, userCarol) {
		t.Errorf("members of Ops: %s", g)
	}
	if len(dir.Missing) != 1 || dir.Missing[0] != goneID || dir.SignInActivityUnavailable || dir.Users[0].SignInActivity == nil {
		t.Errorf("missing %v, sign-in unavailable %v", dir.Missing, dir.SignInActivityUnavailable)
	}
	if e.graph.Requests("/v1.0/directoryObjects/getByIds") != 2 || e.graph.Requests("/v1.0/users") != 2 || e.graph.Requests("/v1.0/groups/"+groupOps+"/transitiveMembers") != 2 {
		t.Errorf("getByIds %d, users %d requests; want 2 (assigned IDs, then the members not yet known), 2 (one filter, two pages) and 2 member pages",
			e.graph.Requests("/v1.0/directoryObjects/getByIds"), e.graph.Requests("/v1.0/users"))
	}
	if _, ok := dir.Members[groupNest]; ok {
		t.Error("members fetched for a nested group: the assigned group's transitive members already include them")
	}
	if _, err := graphOf(t, e).Principals(context.Background(), []string{"alice@contoso.com"}, PrincipalOptions{}); KindOf(err) != KindInvalidInput ||
		!strings.Contains(err.Error(), "tenant "+tenantA) {
		t.Errorf("UPN instead of object ID: %v", err)
	}
}

// TestGraphPrincipalsLargeGroupListsUsers: past ByIDLimit users the user list is paged
// instead of 15-ID filters; All lists every object.
func TestGraphPrincipalsLargeGroupListsUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	directory(e.graph)
	dir, err := graphOf(t, e).Principals(context.Background(), []string{groupOps}, PrincipalOptions{ByIDLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Users) != 2 || dir.Users[0].ID != userBob || dir.Users[1].ID != userCarol {
		t.Errorf("users %+v, want Bob and Carol only", dir.Users)
	}
	if n := e.graph.Requests("/v1.0/users"); n != 2 {
		t.Errorf("%d user requests, want the 2 pages of the full list", n)
	}
	all, err := graphOf(t, e).Principals(context.Background(), nil, PrincipalOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Users) != 4 || len(all.Groups) != 2 || len(all.ServicePrincipals) != 2 {
		t.Errorf("all: %d users, %d groups, %d service principals", len(all.Users), len(all.Groups), len(all.ServicePrincipals))
	}
}

// TestGraphUsersByIDsBatches: 40 IDs are fetched in filters of at most 15 (the server refuses more).
func TestGraphUsersByIDsBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		ids = append(ids, id)
		e.graph.Users = append(e.graph.Users, azapitest.Object{"id": id, "displayName": fmt.Sprint("user ", i), "userType": "Member"})
	}
	e.graph.PageSize = 100
	users, err := graphOf(t, e).UsersByIDs(context.Background(), ids, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 40 || users[39].DisplayName != "user 39" || e.graph.Requests("/v1.0/users") != 3 {
		t.Errorf("%d users in %d requests; want 40 in 3", len(users), e.graph.Requests("/v1.0/users"))
	}
}

// TestGraphNoPremium: a tenant without Entra ID P1 refuses signInActivity with 403; the users
// are fetched without it and the directory says sign-in activity is unknown.
func TestGraphNoPremium(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	directory(e.graph)
	e.graph.NoPremium = true
	dir, err := graphOf(t, e).Principals(context.Background(), []string{userAlice}, PrincipalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !dir.SignInActivityUnavailable || len(dir.Users) != 1 || dir.Users[0].SignInActivity != nil || dir.Users[0].UserPrincipalName != "alice@contoso.com" {
		t.Errorf("%+v", dir)
	}
	err = graphOf(t, e).Users(context.Background(), true, func([]User) error { return nil })
	if KindOf(err) != KindPermission || !strings.Contains(err.Error(), "tenant "+tenantA+": graph:GET /users: permission: 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant") {
		t.Errorf("err = %v", err)
	}
}

// TestGraphRefusesForeignNextLink: a nextLink to another host is not followed (the bearer
// policy would send it the token).
func TestGraphRefusesForeignNextLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	g := graphOf(t, e)
	err := list(context.Background(), g, "graph:GET /users", "https://evil.example/v1.0/users", func([]User) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "is not on "+e.graph.URL+"/v1.0") || e.graph.Requests("/v1.0/users") != 0 {
		t.Errorf("err = %v", err)
	}
}
