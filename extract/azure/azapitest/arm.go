package azapitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Subscription is a subscription the ARM server knows.
type Subscription struct {
	ID, DisplayName, TenantID, State string
	ManagedByTenants                 []string
}

// RoleDefinition is a role the ARM server lists (Name is its GUID; Type BuiltInRole or CustomRole).
type RoleDefinition struct {
	Name, RoleName, Type, Description                string
	Actions, NotActions, DataActions, NotDataActions []string
	AssignableScopes                                 []string
}

// RoleAssignment is an assignment the ARM server lists; RoleDefinitionID is the role's GUID.
type RoleAssignment struct {
	Name, Scope, PrincipalID, PrincipalType, RoleDefinitionID string
	Condition, ConditionVersion                               string
	CreatedOn                                                 time.Time
}

// ARM answers, for api-version 2022-04-01 (authorization) and 2022-12-01 (subscriptions):
//
//	GET /subscriptions                                                                 Subscriptions - List
//	GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions         Role Definitions - List
//	GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}  Role Definitions - Get By Id
//	GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments         Role Assignments - List For Subscription
//	GET /providers/Microsoft.Authorization/providerOperations                          Provider Operations Metadata - List
//
// every list paged PageSize entries at a time through nextLink. Subscriptions - List returns
// the subscriptions of the token's tenant (and those it manages through Lighthouse). A
// subscription in Denied answers 403 AuthorizationFailed; the first Throttle requests answer
// 429 with Retry-After.
type ARM struct {
	URL    string
	Server *httptest.Server
	// Audience is the token audience expected (scope Audience + "/.default"); default the server URL.
	Audience        string
	PageSize        int
	Subscriptions   []Subscription
	RoleDefinitions map[string][]RoleDefinition // by subscription; listed at subscription scope
	// HiddenDefinitions are not listed but answer Get By Id (a custom role assignable only at a resource group).
	HiddenDefinitions map[string][]RoleDefinition
	RoleAssignments   map[string][]RoleAssignment
	Denied            map[string]bool
	// ProviderOperations is the permission catalog, PageSize providers a page.
	ProviderOperations []Provider
	// DeniedOperations answers the catalog with 403 AuthorizationFailed.
	DeniedOperations bool
	Throttle         int
	RetryAfter       string // default "1" (seconds, as ARM sends it)

	requests counter
	thr      throttle
	thrSet   bool
}

// NewARM starts an ARM server with no data; fill the fields before the first request.
func NewARM(t *testing.T) *ARM {
	t.Helper()
	a := &ARM{PageSize: 2, RoleDefinitions: map[string][]RoleDefinition{}, HiddenDefinitions: map[string][]RoleDefinition{},
		RoleAssignments: map[string][]RoleAssignment{}, Denied: map[string]bool{}}
	a.Server = newTLS(t, http.HandlerFunc(a.serve))
	a.URL = a.Server.URL
	return a
}

// Requests returns how many requests reached a path ("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments"),
// throttled ones included.
func (a *ARM) Requests(path string) int { return a.requests.get(path) }

// Throttled returns how many 429 answers were sent.
func (a *ARM) Throttled() int {
	a.thr.mu.Lock()
	defer a.thr.mu.Unlock()
	return a.thr.sent
}

var armPath = regexp.MustCompile(`^/subscriptions(?:/([0-9a-f-]{36})/providers/Microsoft\.Authorization/(roleDefinitions|roleAssignments)(?:/([0-9a-f-]{36}))?)?$`)

func (a *ARM) serve(w http.ResponseWriter, r *http.Request) {
	a.requests.add(r.URL.Path)
	a.thr.mu.Lock()
	if !a.thrSet {
		a.thr.left, a.thrSet = a.Throttle, true
	}
	a.thr.mu.Unlock()
	w.Header().Set("x-ms-request-id", "00000000-0000-4000-8000-00000000a001")
	claims, ok := ParseToken(r.Header.Get("Authorization"))
	audience := a.Audience
	if audience == "" {
		audience = a.URL
	}
	if !ok || claims.Scope != strings.TrimSuffix(audience, "/")+"/.default" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	if a.thr.take() {
		retry := a.RetryAfter
		if retry == "" {
			retry = "1"
		}
		w.Header().Set("Retry-After", retry)
		writeError(w, http.StatusTooManyRequests, "TooManyRequests",
			"The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00.")
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/providers/Microsoft.Authorization/providerOperations" {
		a.serveProviderOperations(w, r, claims)
		return
	}
	m := armPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodGet || m == nil {
		writeError(w, http.StatusNotFound, "InvalidResourceType", fmt.Sprintf("The resource type could not be found for %s %s.", r.Method, r.URL.Path))
		return
	}
	sub, kind, guid := m[1], m[2], m[3]
	wantVersion := "2022-04-01"
	if sub == "" {
		wantVersion = "2022-12-01"
	}
	if v := r.URL.Query().Get("api-version"); v != wantVersion {
		writeError(w, http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid.", v))
		return
	}
	if sub != "" && a.Denied[sub] {
		action := "Microsoft.Authorization/" + kind + "/read"
		w.Header().Set("x-ms-failure-cause", "gateway")
		writeError(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("The client '%s' with object id '%s' does not have authorization "+
			"to perform action '%s' over scope '/subscriptions/%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
			claims.ClientID, claims.ClientID, action, sub))
		return
	}
	switch {
	case sub == "":
		var vals []any
		for _, s := range a.Subscriptions {
			if strings.EqualFold(s.TenantID, claims.TenantID) || contains(s.ManagedByTenants, claims.TenantID) {
				vals = append(vals, subscriptionJSON(s))
			}
		}
		a.page(w, r, vals)
	case kind == "roleDefinitions" && guid != "":
		for _, d := range append(append([]RoleDefinition(nil), a.RoleDefinitions[sub]...), a.HiddenDefinitions[sub]...) {
			if d.Name == guid {
				writeJSON(w, http.StatusOK, definitionJSON(sub, d))
				return
			}
		}
		writeError(w, http.StatusNotFound, "RoleDefinitionDoesNotExist", fmt.Sprintf("The specified role definition with ID '%s' does not exist.", guid))
	case kind == "roleDefinitions":
		var vals []any
		for _, d := range a.RoleDefinitions[sub] {
			vals = append(vals, definitionJSON(sub, d))
		}
		a.page(w, r, vals)
	default:
		if r.URL.Query().Has("$filter") {
			// This server, like the code under test, only lists without atScope(): say so loudly.
			writeError(w, http.StatusBadRequest, "UnsupportedQuery", "azapitest serves List For Subscription without $filter only")
			return
		}
		var vals []any
		for _, ra := range a.RoleAssignments[sub] {
			vals = append(vals, assignmentJSON(sub, ra))
		}
		a.page(w, r, vals)
	}
}

// page answers one page of vals; the skip token is the offset, as opaque to the client as ARM's.
func (a *ARM) page(w http.ResponseWriter, r *http.Request, vals []any) {
	size := max(a.PageSize, 1)
	start := 0
	q := r.URL.Query()
	if tok := q.Get("$skipToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "offset-"))
		if err != nil || n < 0 || n > len(vals) {
			writeError(w, http.StatusBadRequest, "InvalidSkipToken", "The skip token is invalid.")
			return
		}
		start = n
	}
	end := min(start+size, len(vals))
	out := map[string]any{"value": append([]any{}, vals[start:end]...)}
	if end < len(vals) {
		q.Set("$skipToken", fmt.Sprintf("offset-%d", end))
		out["nextLink"] = a.URL + r.URL.Path + "?" + q.Encode()
	}
	w.Header().Set("x-ms-ratelimit-remaining-subscription-reads", "11999")
	writeJSON(w, http.StatusOK, out)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func subscriptionJSON(s Subscription) map[string]any {
	managed := []any{}
	for _, t := range s.ManagedByTenants {
		managed = append(managed, map[string]any{"tenantId": t})
	}
	return map[string]any{
		"id": "/subscriptions/" + s.ID, "authorizationSource": "RoleBased", "managedByTenants": managed,
		"subscriptionId": s.ID, "tenantId": s.TenantID, "displayName": s.DisplayName, "state": s.State,
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
	}
}

func list(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func definitionJSON(sub string, d RoleDefinition) map[string]any {
	return map[string]any{
		"id":   "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + d.Name,
		"type": "Microsoft.Authorization/roleDefinitions", "name": d.Name,
		"properties": map[string]any{
			"roleName": d.RoleName, "type": d.Type, "description": d.Description, "assignableScopes": list(d.AssignableScopes),
			"permissions": []any{map[string]any{"actions": list(d.Actions), "notActions": list(d.NotActions),
				"dataActions": list(d.DataActions), "notDataActions": list(d.NotDataActions)}},
			"createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2021-11-11T20:13:47.8628684Z", "createdBy": nil, "updatedBy": nil,
		},
	}
}

func assignmentJSON(sub string, ra RoleAssignment) map[string]any {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return map[string]any{
		"id":   strings.TrimSuffix(ra.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + ra.Name,
		"type": "Microsoft.Authorization/roleAssignments", "name": ra.Name,
		"properties": map[string]any{
			"roleDefinitionId": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + ra.RoleDefinitionID,
			"principalId":      ra.PrincipalID, "principalType": ra.PrincipalType, "scope": ra.Scope,
			"condition": null(ra.Condition), "conditionVersion": null(ra.ConditionVersion),
			"createdOn": ra.CreatedOn.UTC().Format("2006-01-02T15:04:05.0000000Z"), "updatedOn": ra.CreatedOn.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			"createdBy": "7d8a1c2e-0b5f-4a3e-9c6d-1f2e3a4b5c6d", "updatedBy": "7d8a1c2e-0b5f-4a3e-9c6d-1f2e3a4b5c6d",
			"delegatedManagedIdentityResourceId": nil, "description": nil,
		},
	}
}
