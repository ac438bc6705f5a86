package azure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	json "github.com/goccy/go-json"
)

// Source yields Azure entitlement snapshots as raw wire-format JSON objects: each element is
// one value of an ARM or Graph list response, byte for byte what the service (or an export of
// it) holds, so transform parses one format whatever the origin. Implementations: API (live
// ARM and Graph) and Files (an offline copy in the same wire format).
//
// Every ID argument must be a UUID (any case); results carry IDs in lower case. Errors name
// the subscription or tenant and the call or file that failed, and KindOf classifies them.
// Implementations are safe for concurrent use by several subscriptions and tenants; every
// method is a read and may be retried.
type Source interface {
	// Subscriptions lists the subscriptions to collect (static list and/or discovery, filters
	// applied), sorted by ID.
	Subscriptions(ctx context.Context) ([]Subscription, error)
	// RBAC returns the subscription's role definitions and role assignments (every scope
	// visible from it).
	RBAC(ctx context.Context, subscriptionID string) (*RBACSnapshot, error)
	// Directory returns the principals (users, groups, service principals) the given object IDs
	// name, with the transitive members of the groups among them.
	Directory(ctx context.Context, tenantID string, principalIDs []string) (*DirectorySnapshot, error)
	// Operations returns the Provider Operations Metadata list response (the Azure permission
	// catalog) as one {"value":[…]} document, every page merged.
	Operations(ctx context.Context) ([]byte, error)
}

// RBACSnapshot is a subscription's RBAC objects in ARM's wire format
// ({id, name, type, properties{…}}; FORMATS.md 4.5).
type RBACSnapshot struct {
	// SubscriptionID is the subscription, a lower-case UUID.
	SubscriptionID string
	// TenantID is the directory the subscription belongs to (whose Graph knows the principals
	// the assignments name), lower case; "" when neither discovery nor the identity told.
	TenantID string
	// RoleDefinitions are the values of Role Definitions - List at the subscription scope
	// (built-in roles and custom roles assignable there), followed by any definition an
	// assignment names that the list did not return (a custom role assignable only below the
	// subscription), fetched by ID. A definition deleted while still assigned is absent.
	RoleDefinitions [][]byte
	// RoleAssignments are the values of Role Assignments - List For Subscription: inherited
	// from management groups and the root, the subscription's own, and those at resource
	// groups and resources below it.
	RoleAssignments [][]byte
	// SourceKey is where the snapshot was read, for lineage (_source_key): the ARM URL of the
	// subscription's authorization provider, or the files' folder.
	SourceKey string
}

// PrincipalIDs returns the distinct properties.principalId of the role assignments, lower
// case and sorted: the IDs to pass to Directory.
func (s *RBACSnapshot) PrincipalIDs() ([]string, error) {
	seen := map[string]bool{}
	for i, raw := range s.RoleAssignments {
		var a struct {
			Properties struct {
				PrincipalID string `json:"principalId"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("subscription %s: role assignment %d: %w", s.SubscriptionID, i, err)
		}
		id, err := ParseID("principal", a.Properties.PrincipalID)
		if err != nil {
			return nil, fmt.Errorf("subscription %s: role assignment %d: %w", s.SubscriptionID, i, err)
		}
		seen[id] = true
	}
	return sortedKeys(seen), nil
}

// DirectorySnapshot is a tenant's principals in Microsoft Graph's wire format.
type DirectorySnapshot struct {
	// TenantID is the directory, a lower-case UUID ("" for the implicit tenant of a
	// configuration without tenants).
	TenantID string
	// Users are user objects (id, userPrincipalName, displayName, accountEnabled,
	// createdDateTime, userType, signInActivity{lastSignInDateTime, …}), sorted by ID.
	Users [][]byte
	// Groups are group objects (id, displayName, securityEnabled, mailEnabled, groupTypes,
	// createdDateTime), sorted by ID.
	Groups [][]byte
	// ServicePrincipals are service principal objects (id, appId, displayName,
	// servicePrincipalType — "ManagedIdentity" for managed identities —, accountEnabled, …),
	// sorted by ID.
	ServicePrincipals [][]byte
	// Members maps each requested group's ID to its transitive members, each an object with
	// "@odata.type" ("#microsoft.graph.user", "#microsoft.graph.group", …) and "id". The
	// members' own objects are among Users, Groups and ServicePrincipals when the directory
	// knows them.
	Members map[string][][]byte
	// Missing are requested IDs the directory does not know (principals deleted while their
	// role assignments remain, objects of other tenants), sorted.
	Missing []string
	// SignInActivityUnavailable is set when the tenant could not give users' signInActivity
	// (no Entra ID P1/P2 licence, no AuditLog.Read.All); users then carry no signInActivity
	// property and their inactivity is unknown, not "never signed in".
	SignInActivityUnavailable bool
	// SourceKey is where the snapshot was read, for lineage: the Graph URL, or the files' folder.
	SourceKey string
}

// API is the Source over the live services: subscriptions from ARM discovery (Auth.Subscriptions),
// RBAC through armauthorization's pagers, principals through Graph.Principals, the catalog
// through an ARM pipeline. Every call goes through Auth's azcore pipelines (bearer token,
// retry policy absorbing 429 Retry-After). Use a pointer; the zero value of the unexported
// state is ready.
type API struct {
	Auth *Auth
	// Discovery selects the subscriptions Subscriptions returns.
	Discovery Discovery
	// Principals tunes Directory (see Graph.Principals).
	Principals PrincipalOptions

	mu      sync.Mutex
	tenants map[string]string // subscription → tenant, as Subscriptions discovered them
}

var _ Source = (*API)(nil)

// Subscriptions implements Source with Auth.Subscriptions; it remembers each discovered
// subscription's tenant for RBAC and Check.
func (s *API) Subscriptions(ctx context.Context) ([]Subscription, error) {
	list, err := s.Auth.Subscriptions(ctx, s.Discovery)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tenants == nil {
		s.tenants = map[string]string{}
	}
	for _, sub := range list.Selected {
		if sub.TenantID != "" {
			s.tenants[sub.ID] = sub.TenantID
		}
	}
	return list.Selected, nil
}

// identity returns the identity reading a subscription and the subscription's tenant: the
// discovered one, else the identity's.
func (s *API) identity(sub string) (Identity, string, error) {
	s.mu.Lock()
	tenant := s.tenants[sub]
	s.mu.Unlock()
	ident, err := s.Auth.Subscription(sub, tenant)
	if err != nil {
		return Identity{}, "", err
	}
	if tenant == "" {
		tenant = ident.TenantID
	}
	return ident, tenant, nil
}

// RBAC implements Source. The values are the response bodies' own bytes, captured from the
// SDK's pagers (policy.WithCaptureResponse), not the SDK models re-marshalled: the models of
// armauthorization v2.2.0 have no createdOn, updatedOn, createdBy or updatedBy for role
// definitions, and drop any property added to the API later (TestRBACKeepsWhatSDKModelsDrop).
func (s *API) RBAC(ctx context.Context, subscriptionID string) (*RBACSnapshot, error) {
	sub, err := ParseID("subscription", subscriptionID)
	if err != nil {
		return nil, err
	}
	ident, tenant, err := s.identity(sub)
	if err != nil {
		return nil, err
	}
	opts := s.Auth.armOptions()
	ac, err := armauthorization.NewRoleAssignmentsClient(sub, ident.Credential, opts)
	if err != nil {
		return nil, classify("armauthorization:RoleAssignments", sub, "", err)
	}
	dc, err := armauthorization.NewRoleDefinitionsClient(ident.Credential, opts)
	if err != nil {
		return nil, classify("armauthorization:RoleDefinitions", sub, "", err)
	}
	snap := &RBACSnapshot{SubscriptionID: sub, TenantID: tenant,
		SourceKey: strings.TrimSuffix(s.Auth.cloud.Services[cloud.ResourceManager].Endpoint, "/") + "/subscriptions/" + sub + "/providers/Microsoft.Authorization"}
	if snap.RoleAssignments, err = rawPages(ctx, "armauthorization:RoleAssignments.ListForSubscription", sub, ac.NewListForSubscriptionPager(nil)); err != nil {
		return nil, err
	}
	if snap.RoleDefinitions, err = rawPages(ctx, "armauthorization:RoleDefinitions.List", sub, dc.NewListPager("subscriptions/"+sub, nil)); err != nil {
		return nil, err
	}
	// As RBAC.Snapshot: fetch by ID the definitions assignments name that the list lacks.
	have := map[string]bool{}
	for _, raw := range snap.RoleDefinitions {
		var d struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, classify("armauthorization:RoleDefinitions.List", sub, "", fmt.Errorf("decode definition: %w", err))
		}
		have[strings.ToLower(d.Name)] = true
	}
	for _, raw := range snap.RoleAssignments {
		var a struct {
			Properties struct {
				RoleDefinitionID string `json:"roleDefinitionId"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, classify("armauthorization:RoleAssignments.ListForSubscription", sub, "", fmt.Errorf("decode assignment: %w", err))
		}
		defID := a.Properties.RoleDefinitionID
		m := roleDefinitionIDPattern.FindStringSubmatch(defID)
		if m == nil || have[strings.ToLower(m[1])] {
			continue // not an ID to put in a URL path (transform reports it), or already there
		}
		have[strings.ToLower(m[1])] = true
		var resp *http.Response
		if _, err := dc.GetByID(policy.WithCaptureResponse(ctx, &resp), defID, nil); err != nil {
			if KindOf(classify("", "", "", err)) == KindNotFound {
				continue // deleted while still assigned: the assignment keeps naming it
			}
			return nil, classify("armauthorization:RoleDefinitions.GetByID "+defID, sub, "", err)
		}
		body, err := runtime.Payload(resp)
		if err != nil {
			return nil, classify("armauthorization:RoleDefinitions.GetByID "+defID, sub, "", err)
		}
		snap.RoleDefinitions = append(snap.RoleDefinitions, bytes.Clone(bytes.TrimSpace(body)))
	}
	return snap, nil
}

// rawPages walks an SDK pager and returns the "value" elements of each page's response body
// as received. The pager does the paging (nextLink) and its pipeline the retries; the body is
// buffered by azcore, so reading it again after the SDK decoded it is safe.
func rawPages[T any](ctx context.Context, call, sub string, pager *runtime.Pager[T]) ([][]byte, error) {
	var out [][]byte
	for page := 1; pager.More(); page++ {
		var resp *http.Response
		if _, err := pager.NextPage(policy.WithCaptureResponse(ctx, &resp)); err != nil {
			return nil, classify(call, sub, "", err)
		}
		if resp == nil {
			return nil, classify(call, sub, "", fmt.Errorf("page %d: no response captured", page))
		}
		body, err := runtime.Payload(resp)
		if err != nil {
			return nil, classify(call, sub, "", fmt.Errorf("page %d: %w", page, err))
		}
		p, err := decodeListPage(body)
		if err != nil {
			return nil, classify(call, sub, "", fmt.Errorf("page %d: %w", page, err))
		}
		out = append(out, p.values...)
	}
	return out, nil
}

// listPage is one {"value":[…], "nextLink"|"@odata.nextLink": …} list response.
type listPage struct {
	values [][]byte
	next   string
}

// decodeListPage splits a list response into its values (copied, nulls dropped). A body
// without a "value" array is an error: a bare array or another document is not a list response.
func decodeListPage(body []byte) (listPage, error) {
	var p struct {
		Value     *[]json.RawMessage `json:"value"`
		NextLink  *string            `json:"nextLink"`
		ODataNext *string            `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return listPage{}, fmt.Errorf("decode list response: %w", err)
	}
	if p.Value == nil {
		return listPage{}, errors.New(`decode list response: no "value" array`)
	}
	out := listPage{next: deref(p.NextLink)}
	if out.next == "" {
		out.next = deref(p.ODataNext)
	}
	for _, v := range *p.Value {
		if v = bytes.TrimSpace(v); len(v) == 0 || string(v) == "null" {
			continue
		}
		out.values = append(out.values, bytes.Clone(v))
	}
	return out, nil
}

// mergeValues writes values as one {"value":[…]} document.
func mergeValues(values [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"value":[`)
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// Directory implements Source with Graph.Principals, which resolves the IDs (getByIds), the
// groups' transitive members and the users with their sign-in activity, and marshals its
// typed objects: their fields carry Graph's property names and are the $select-ed properties,
// so the JSON is Graph's wire format for them (signInActivity keeps its three dates, not the
// request IDs).
func (s *API) Directory(ctx context.Context, tenantID string, principalIDs []string) (*DirectorySnapshot, error) {
	if tenantID != "" {
		var err error
		if tenantID, err = ParseID("tenant", tenantID); err != nil {
			return nil, err
		}
	}
	g, err := s.Auth.Graph(tenantID)
	if err != nil {
		return nil, err
	}
	dir, err := g.Principals(ctx, principalIDs, s.Principals)
	if err != nil {
		return nil, err
	}
	out := &DirectorySnapshot{TenantID: dir.TenantID, Members: map[string][][]byte{}, Missing: dir.Missing,
		SignInActivityUnavailable: dir.SignInActivityUnavailable, SourceKey: g.base}
	fail := func(err error) (*DirectorySnapshot, error) {
		return nil, &Error{Kind: KindOther, Call: "graph: encode directory", TenantID: dir.TenantID, Err: err}
	}
	for _, u := range dir.Users {
		u.ID = strings.ToLower(u.ID)
		b, err := json.Marshal(u)
		if err == nil && dir.SignInActivityUnavailable {
			b, err = withoutProperty(b, "signInActivity")
		}
		if err != nil {
			return fail(err)
		}
		out.Users = append(out.Users, b)
	}
	for _, x := range dir.Groups {
		b, err := json.Marshal(x)
		if err != nil {
			return fail(err)
		}
		out.Groups = append(out.Groups, b)
	}
	for _, x := range dir.ServicePrincipals {
		b, err := json.Marshal(x)
		if err != nil {
			return fail(err)
		}
		out.ServicePrincipals = append(out.ServicePrincipals, b)
	}
	for gid, ms := range dir.Members {
		list := make([][]byte, 0, len(ms))
		for _, m := range ms {
			m.ID = strings.ToLower(m.ID)
			b, err := json.Marshal(m)
			if err != nil {
				return fail(err)
			}
			list = append(list, b)
		}
		out.Members[gid] = list
	}
	return out, nil
}

// withoutProperty removes a top-level property from a JSON object: a user read without
// signInActivity must not say "signInActivity": null, which reads as "never signed in".
func withoutProperty(obj []byte, name string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	delete(m, name)
	return json.Marshal(m)
}

// Check is the outcome of one access the pipeline needs, for `permlake check`; it mirrors
// aws.Check with the subscription in place of the account.
type Check struct {
	SubscriptionID string
	What           string // the permission or step tried, e.g. "Microsoft.Authorization/roleAssignments/read"
	OK             bool
	Detail         string // the status, error code and message when it failed
}

func checkOf(sub, what string, err error) Check {
	c := Check{SubscriptionID: sub, What: what, OK: err == nil}
	var e *Error
	switch {
	case err == nil:
	case errors.As(err, &e) && e.StatusCode != 0:
		c.Detail = fmt.Sprintf("%d %s", e.StatusCode, e.Code)
		if e.Message != "" {
			c.Detail += ": " + e.Message
		}
	default:
		c.Detail = err.Error()
	}
	return c
}

// errCheckStop ends a listing after its first page: a check needs one answer, not the tenant.
var errCheckStop = errors.New("first page read")

// Check tries each read a snapshot of the subscription needs, one row each: the identity and
// its ARM token (stopping there when either fails), role definitions, role assignments and
// the provider operations catalog (first page each), then in the subscription's tenant Graph
// users, users' signInActivity, groups and service principals (first page each). A failed row
// names the permission to grant (RequiredPermissions) and carries the service's answer.
func (s *API) Check(ctx context.Context, subscriptionID string) []Check {
	sub, err := ParseID("subscription", subscriptionID)
	if err != nil {
		return []Check{checkOf(subscriptionID, "subscription ID", err)}
	}
	ident, tenant, err := s.identity(sub)
	if err != nil {
		return []Check{checkOf(sub, "credential", err)}
	}
	armCfg := s.Auth.cloud.Services[cloud.ResourceManager]
	_, err = ident.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(armCfg.Audience, "/") + "/.default"}})
	out := []Check{checkOf(sub, fmt.Sprintf("Entra ID token for ARM (%s credential)", ident.Kind), classify("token", sub, "", err))}
	if err != nil {
		return out
	}
	opts := s.Auth.armOptions()
	dc, err := armauthorization.NewRoleDefinitionsClient(ident.Credential, opts)
	if err == nil {
		_, err = dc.NewListPager("subscriptions/"+sub, nil).NextPage(ctx)
	}
	out = append(out, checkOf(sub, PermRoleDefinitionsRead, classify("armauthorization:RoleDefinitions.List", sub, "", err)))
	ac, err := armauthorization.NewRoleAssignmentsClient(sub, ident.Credential, opts)
	if err == nil {
		_, err = ac.NewListForSubscriptionPager(nil).NextPage(ctx)
	}
	out = append(out, checkOf(sub, PermRoleAssignmentsRead, classify("armauthorization:RoleAssignments.ListForSubscription", sub, "", err)))
	_, err = s.operations(ctx, ident, 1)
	out = append(out, checkOf(sub, PermProviderOperationsRead, err))

	g, err := s.Auth.Graph(tenant)
	graphRow := func(what string, list func(*Graph) error) {
		if err != nil {
			out = append(out, checkOf(sub, what, err))
			return
		}
		e := list(g)
		if errors.Is(e, errCheckStop) {
			e = nil
		}
		out = append(out, checkOf(sub, what, e))
	}
	stop := func() error { return errCheckStop }
	graphRow(PermDirectoryReadAll+" (GET /users)", func(g *Graph) error {
		return g.Users(ctx, false, func([]User) error { return stop() })
	})
	graphRow(PermAuditLogReadAll+" (GET /users signInActivity)", func(g *Graph) error {
		return g.Users(ctx, true, func([]User) error { return stop() })
	})
	graphRow(PermDirectoryReadAll+" (GET /groups)", func(g *Graph) error {
		return g.Groups(ctx, func([]Group) error { return stop() })
	})
	graphRow(PermDirectoryReadAll+" (GET /servicePrincipals)", func(g *Graph) error {
		return g.ServicePrincipals(ctx, func([]ServicePrincipal) error { return stop() })
	})
	return out
}

// Permissions the code needs, by name. Reader at the subscription (or a management group above
// it) grants the ARM actions; the Graph ones are application permissions of Microsoft Graph,
// granted with admin consent.
const (
	PermSubscriptionsRead      = "Microsoft.Resources/subscriptions/read"          // Subscriptions - List (discovery)
	PermRoleDefinitionsRead    = "Microsoft.Authorization/roleDefinitions/read"    // Role Definitions - List, Get By Id
	PermRoleAssignmentsRead    = "Microsoft.Authorization/roleAssignments/read"    // Role Assignments - List For Subscription
	PermProviderOperationsRead = "Microsoft.Authorization/providerOperations/read" // Provider Operations Metadata - List
	// PermDirectoryReadAll covers /users, /groups, /servicePrincipals, transitiveMembers and
	// directoryObjects/getByIds, whose least privileged permission it is
	// (https://learn.microsoft.com/graph/api/directoryobject-getbyids#permissions).
	PermDirectoryReadAll = "Directory.Read.All"
	// PermAuditLogReadAll is needed, with an Entra ID P1/P2 licence, for users' signInActivity
	// (https://learn.microsoft.com/graph/api/user-list#permissions).
	PermAuditLogReadAll = "AuditLog.Read.All"
)

// RequiredPermissions lists what the code calls, like aws.RequiredActions: "arm" the RBAC
// actions of the reader role assignment, "graph" the Microsoft Graph application permissions.
// deploy/azure is tested against it: keep it in step with the calls.
var RequiredPermissions = map[string][]string{
	"arm":   {PermSubscriptionsRead, PermRoleDefinitionsRead, PermRoleAssignmentsRead, PermProviderOperationsRead},
	"graph": {PermDirectoryReadAll, PermAuditLogReadAll},
}

// sortedRaw sorts raw objects by their lower-cased "id"; objects without one sort first.
func sortedRaw(objs map[string][]byte) [][]byte {
	ids := make([]string, 0, len(objs))
	for id := range objs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([][]byte, 0, len(ids))
	for _, id := range ids {
		out = append(out, objs[id])
	}
	return out
}
