package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	json "github.com/goccy/go-json"
	"golang.org/x/sync/errgroup"
)

// User is a Microsoft Graph user (https://learn.microsoft.com/graph/api/resources/user).
type User struct {
	ID                string          `json:"id"`
	UserPrincipalName string          `json:"userPrincipalName"`
	DisplayName       string          `json:"displayName"`
	AccountEnabled    *bool           `json:"accountEnabled"`
	CreatedDateTime   *time.Time      `json:"createdDateTime"`
	UserType          string          `json:"userType"` // Member or Guest
	SignInActivity    *SignInActivity `json:"signInActivity"`
}

// SignInActivity is a user's last sign-ins (https://learn.microsoft.com/graph/api/resources/signinactivity).
// Nil times mean never (or before Entra started recording); lastSuccessfulSignInDateTime
// exists from December 2023 and is not backfilled.
type SignInActivity struct {
	LastSignInDateTime               *time.Time `json:"lastSignInDateTime"`
	LastNonInteractiveSignInDateTime *time.Time `json:"lastNonInteractiveSignInDateTime"`
	LastSuccessfulSignInDateTime     *time.Time `json:"lastSuccessfulSignInDateTime"`
}

// Group is a Microsoft Graph group.
type Group struct {
	ID              string     `json:"id"`
	DisplayName     string     `json:"displayName"`
	SecurityEnabled *bool      `json:"securityEnabled"`
	MailEnabled     *bool      `json:"mailEnabled"`
	GroupTypes      []string   `json:"groupTypes"`
	CreatedDateTime *time.Time `json:"createdDateTime"`
}

// ServicePrincipal is a Microsoft Graph service principal; a managed identity is one whose
// servicePrincipalType is ManagedIdentity.
type ServicePrincipal struct {
	ID                     string     `json:"id"`
	AppID                  string     `json:"appId"`
	DisplayName            string     `json:"displayName"`
	ServicePrincipalType   string     `json:"servicePrincipalType"` // Application, ManagedIdentity, Legacy, SocialIdp
	AccountEnabled         *bool      `json:"accountEnabled"`
	CreatedDateTime        *time.Time `json:"createdDateTime"`
	AppOwnerOrganizationID string     `json:"appOwnerOrganizationId"`
}

// IsManagedIdentity reports whether the service principal is a managed identity.
func (s ServicePrincipal) IsManagedIdentity() bool {
	return strings.EqualFold(s.ServicePrincipalType, "ManagedIdentity")
}

// Member is one transitive member of a group: its object ID and OData type
// ("#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.servicePrincipal",
// "#microsoft.graph.device", "#microsoft.graph.orgContact").
type Member struct {
	ID        string `json:"id"`
	ODataType string `json:"@odata.type"`
}

// $select lists: Graph returns a default subset otherwise, and signInActivity only when
// selected (https://learn.microsoft.com/graph/api/user-list).
const (
	userSelect         = "id,userPrincipalName,displayName,accountEnabled,createdDateTime,userType"
	signInSelect       = ",signInActivity"
	groupSelect        = "id,displayName,securityEnabled,mailEnabled,groupTypes,createdDateTime"
	spSelect           = "id,appId,displayName,servicePrincipalType,accountEnabled,createdDateTime,appOwnerOrganizationId"
	noPremiumErrorCode = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
)

// Page sizes and batch limits of Graph:
//   - users: $top up to 999, but 500 when signInActivity is selected (user-list, above);
//   - directoryObjects/getByIds: up to 1,000 IDs per request
//     (https://learn.microsoft.com/graph/api/directoryobject-getbyids);
//   - $filter=id in (...): directory queries refuse more than 15 values
//     (https://learn.microsoft.com/graph/filter-query-parameter, "known issues").
const (
	topDefault    = 999
	topSignIn     = 500
	getByIDsBatch = 1000
	filterInBatch = 15
)

// Graph reads one tenant's directory through Microsoft Graph v1.0, through an azcore pipeline
// with a bearer-token policy for "<graph endpoint>/.default" and the Auth's retry policy
// (429 and 503/504 are retried after their Retry-After). It is safe for concurrent use.
type Graph struct {
	TenantID string
	base     string // e.g. https://graph.microsoft.com/v1.0
	pl       runtime.Pipeline
	// Concurrency bounds parallel requests of one call (transitive members of several
	// groups, batches of IDs); default 4. Graph throttles per app and tenant
	// (https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits).
	Concurrency int
}

// Graph returns the Graph reader of a configured tenant (one per tenant, shared).
func (a *Auth) Graph(tenantID string) (*Graph, error) {
	ident, err := a.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if g, ok := a.graphs[ident.TenantID]; ok {
		return g, nil
	}
	svc := a.cloud.Services[GraphService]
	scope := strings.TrimSuffix(svc.Audience, "/") + "/.default"
	bearer := runtime.NewBearerTokenPolicy(ident.Credential, []string{scope}, nil)
	pl := runtime.NewPipeline("permlake/extract/azure", "v1", runtime.PipelineOptions{PerRetry: []policy.Policy{bearer}},
		&policy.ClientOptions{Cloud: a.cloud, Retry: a.retry, Transport: a.transport})
	g := &Graph{TenantID: ident.TenantID, base: strings.TrimSuffix(svc.Endpoint, "/") + "/v1.0", pl: pl}
	a.graphs[ident.TenantID] = g
	return g, nil
}

type graphPage[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// do sends one request and decodes a 200 answer into out.
func (g *Graph) do(ctx context.Context, call, method, rawURL string, body any, out any) error {
	req, err := runtime.NewRequest(ctx, method, rawURL)
	if err != nil {
		return classify(call, "", g.TenantID, err)
	}
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return classify(call, "", g.TenantID, err)
		}
	}
	resp, err := g.pl.Do(req)
	if err != nil {
		return classify(call, "", g.TenantID, err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return classify(call, "", g.TenantID, runtime.NewResponseError(resp))
	}
	data, err := runtime.Payload(resp)
	if err != nil {
		return classify(call, "", g.TenantID, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return classify(call, "", g.TenantID, fmt.Errorf("decode answer: %w", err))
	}
	return nil
}

// list follows @odata.nextLink from first, handing each page's values to fn. A nextLink is
// opaque (it carries $skiptoken) and used as given, but only on the Graph endpoint: the
// bearer policy would send the token wherever it points.
func list[T any](ctx context.Context, g *Graph, call, first string, fn func([]T) error) error {
	next := first
	for page := 1; next != ""; page++ {
		if !strings.HasPrefix(next, g.base+"/") {
			return &Error{Kind: KindOther, Call: call, TenantID: g.TenantID, Err: fmt.Errorf("page %d: nextLink %q is not on %s", page, next, g.base)}
		}
		var p graphPage[T]
		if err := g.do(ctx, call, http.MethodGet, next, nil, &p); err != nil {
			return err
		}
		if err := fn(p.Value); err != nil {
			return err
		}
		next = p.NextLink
	}
	return nil
}

func (g *Graph) url(path string, q url.Values) string {
	// Graph wants $select/$top/$filter spelt with a literal "$"; url.Values would escape it.
	return g.base + path + "?" + strings.ReplaceAll(q.Encode(), "%24", "$")
}

// Users streams every user of the tenant, a page at a time (up to 500 with sign-in activity,
// 999 without), so memory does not grow with the tenant. withSignIn selects signInActivity,
// which needs AuditLog.Read.All and an Entra ID P1/P2 licence; without one Graph answers 403
// Authentication_RequestFromNonPremiumTenantOrB2CTenant.
func (g *Graph) Users(ctx context.Context, withSignIn bool, fn func([]User) error) error {
	sel, top := userSelect, topDefault
	if withSignIn {
		sel, top = sel+signInSelect, topSignIn
	}
	return list(ctx, g, "graph:GET /users", g.url("/users", url.Values{"$select": {sel}, "$top": {fmt.Sprint(top)}}), fn)
}

// Groups streams every group of the tenant.
func (g *Graph) Groups(ctx context.Context, fn func([]Group) error) error {
	return list(ctx, g, "graph:GET /groups", g.url("/groups", url.Values{"$select": {groupSelect}, "$top": {fmt.Sprint(topDefault)}}), fn)
}

// ServicePrincipals streams every service principal (applications and managed identities).
func (g *Graph) ServicePrincipals(ctx context.Context, fn func([]ServicePrincipal) error) error {
	return list(ctx, g, "graph:GET /servicePrincipals", g.url("/servicePrincipals", url.Values{"$select": {spSelect}, "$top": {fmt.Sprint(topDefault)}}), fn)
}

// TransitiveMembers lists a group's members, nested groups expanded
// (https://learn.microsoft.com/graph/api/group-list-transitivemembers), as IDs and types.
func (g *Graph) TransitiveMembers(ctx context.Context, groupID string) ([]Member, error) {
	id, err := ParseID("group", groupID)
	if err != nil {
		return nil, err
	}
	var out []Member
	err = list(ctx, g, "graph:GET /groups/"+id+"/transitiveMembers", g.url("/groups/"+id+"/transitiveMembers",
		url.Values{"$select": {"id"}, "$top": {fmt.Sprint(topDefault)}}), func(ms []Member) error {
		out = append(out, ms...)
		return nil
	})
	return out, err
}

// directoryObject is a getByIds answer entry: the union of the three types' fields.
type directoryObject struct {
	ODataType string `json:"@odata.type"`
	ServicePrincipal
	SecurityEnabled *bool    `json:"securityEnabled"`
	MailEnabled     *bool    `json:"mailEnabled"`
	GroupTypes      []string `json:"groupTypes"`
}

// objectsByIDs resolves IDs to groups and service principals (POST /directoryObjects/getByIds,
// 1,000 IDs a request) and reports which IDs are users and which exist at all.
func (g *Graph) objectsByIDs(ctx context.Context, ids []string) (users []string, groups []Group, sps []ServicePrincipal, found map[string]bool, err error) {
	const call = "graph:POST /directoryObjects/getByIds"
	found = map[string]bool{}
	for start := 0; start < len(ids); start += getByIDsBatch {
		batch := ids[start:min(start+getByIDsBatch, len(ids))]
		var page graphPage[directoryObject]
		body := map[string]any{"ids": batch, "types": []string{"user", "group", "servicePrincipal"}}
		if err := g.do(ctx, call, http.MethodPost, g.base+"/directoryObjects/getByIds", body, &page); err != nil {
			return nil, nil, nil, nil, err
		}
		for _, o := range page.Value {
			id := strings.ToLower(o.ID)
			found[id] = true
			switch o.ODataType {
			case "#microsoft.graph.user":
				users = append(users, id)
			case "#microsoft.graph.group":
				groups = append(groups, Group{ID: id, DisplayName: o.DisplayName, SecurityEnabled: o.SecurityEnabled,
					MailEnabled: o.MailEnabled, GroupTypes: o.GroupTypes, CreatedDateTime: o.CreatedDateTime})
			case "#microsoft.graph.servicePrincipal":
				sp := o.ServicePrincipal
				sp.ID = id
				sps = append(sps, sp)
			}
		}
	}
	return users, groups, sps, found, nil
}

// UsersByIDs fetches the given users with $filter=id in (...), 15 IDs a request, up to
// Concurrency requests at once. IDs that are not users (or no longer exist) are absent.
func (g *Graph) UsersByIDs(ctx context.Context, ids []string, withSignIn bool) ([]User, error) {
	sel := userSelect
	if withSignIn {
		sel += signInSelect
	}
	for _, id := range ids {
		if _, err := ParseID("principal", id); err != nil {
			return nil, err // IDs are spliced into the filter: nothing but UUIDs
		}
	}
	var mu sync.Mutex
	var out []User
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(g.concurrency())
	for start := 0; start < len(ids); start += filterInBatch {
		batch := ids[start:min(start+filterInBatch, len(ids))]
		eg.Go(func() error {
			filter := "id in ('" + strings.Join(batch, "','") + "')"
			return list(ctx, g, "graph:GET /users?$filter=id in (...)", g.url("/users", url.Values{"$filter": {filter}, "$select": {sel}}),
				func(us []User) error {
					mu.Lock()
					out = append(out, us...)
					mu.Unlock()
					return nil
				})
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (g *Graph) concurrency() int {
	if g.Concurrency > 0 {
		return g.Concurrency
	}
	return 4
}

// Directory is the principals a tenant's role assignments name, and the members of its groups.
type Directory struct {
	TenantID          string
	Users             []User             // sorted by ID
	Groups            []Group            // sorted by ID
	ServicePrincipals []ServicePrincipal // sorted by ID; managed identities included
	// Members maps each requested (assigned) group to its transitive members; nested groups'
	// members are already among their parent's.
	Members map[string][]Member
	// Missing are requested IDs Graph does not know: principals deleted while their role
	// assignments remain (the portal's "Identity not found"), or objects of other tenants.
	Missing []string
	// SignInActivityUnavailable is set when the tenant could not return signInActivity (no
	// Entra ID P1/P2 licence, or no AuditLog.Read.All); users then carry no sign-in times and
	// their inactivity is unknown, not "never signed in".
	SignInActivityUnavailable bool
}

// PrincipalOptions tunes Principals.
type PrincipalOptions struct {
	// All lists every user, group and service principal of the tenant instead of resolving
	// only the requested IDs (an inventory of identities holding no Azure role).
	All bool
	// ByIDLimit is the number of users above which Principals lists all users (500 a page)
	// instead of fetching them 15 at a time: past ~5,000 IDs listing is fewer requests in a
	// tenant of 150,000 users or less. Default 5000.
	ByIDLimit int
	// NoSignInActivity never asks for signInActivity.
	NoSignInActivity bool
}

// Principals resolves the principal IDs role assignments name into users, groups and service
// principals, with the transitive members of those groups and every user among them.
//
// Why not simply list the directory: a tenant may hold hundreds of thousands of users, most of
// them without any Azure role; what the entitlement analysis needs is the principals that hold
// a role, directly or through a group. So by default only those are fetched — getByIds (1,000
// IDs a request) for types, groups and service principals; transitiveMembers for each assigned
// group; users 15 IDs a request with their sign-in activity. A role granted to a very large
// group ("all employees") makes the user set big; past ByIDLimit users the whole user list is
// paged instead (500 a page: 200,000 users are 400 requests) and filtered here. With All set,
// every user, group and service principal is listed.
func (g *Graph) Principals(ctx context.Context, ids []string, opt PrincipalOptions) (*Directory, error) {
	want := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		id, err := ParseID("principal", id)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", g.TenantID, err)
		}
		if !seen[id] {
			seen[id] = true
			want = append(want, id)
		}
	}
	sort.Strings(want)
	dir := &Directory{TenantID: g.TenantID, Members: map[string][]Member{}}
	userIDs, groups, sps, found, err := g.objectsByIDs(ctx, want)
	if err != nil {
		return nil, err
	}
	for _, id := range want {
		if !found[id] {
			dir.Missing = append(dir.Missing, id)
		}
	}
	// Members of the assigned groups, in parallel, bounded.
	var mu sync.Mutex
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(g.concurrency())
	for _, grp := range groups {
		eg.Go(func() error {
			ms, err := g.TransitiveMembers(gctx, grp.ID)
			if err != nil {
				return err
			}
			mu.Lock()
			dir.Members[grp.ID] = ms
			mu.Unlock()
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	// Members not yet resolved: users by ID below; service principals and nested groups by getByIds.
	userSet, other := map[string]bool{}, map[string]bool{}
	for _, u := range userIDs {
		userSet[u] = true
	}
	known := map[string]bool{}
	for _, x := range groups {
		known[x.ID] = true
	}
	for _, x := range sps {
		known[x.ID] = true
	}
	for _, ms := range dir.Members {
		for _, m := range ms {
			id := strings.ToLower(m.ID)
			switch m.ODataType {
			case "#microsoft.graph.user":
				userSet[id] = true
			case "#microsoft.graph.servicePrincipal", "#microsoft.graph.group":
				if !known[id] {
					other[id] = true
				}
			}
		}
	}
	if len(other) > 0 {
		_, moreGroups, moreSPs, _, err := g.objectsByIDs(ctx, sortedKeys(other))
		if err != nil {
			return nil, err
		}
		groups, sps = append(groups, moreGroups...), append(sps, moreSPs...)
	}
	withSignIn := !opt.NoSignInActivity
	users, err := g.principalUsers(ctx, sortedKeys(userSet), opt, withSignIn)
	if withSignIn && isNoPremium(err) {
		dir.SignInActivityUnavailable = true
		users, err = g.principalUsers(ctx, sortedKeys(userSet), opt, false)
	}
	if err != nil {
		return nil, err
	}
	dir.Users = users
	if opt.All {
		if dir.Groups, dir.ServicePrincipals, err = g.allGroupsAndSPs(ctx); err != nil {
			return nil, err
		}
	} else {
		dir.Groups, dir.ServicePrincipals = dedupGroups(groups), dedupSPs(sps)
	}
	return dir, nil
}

// principalUsers fetches ids (All: every user) the cheaper way.
func (g *Graph) principalUsers(ctx context.Context, ids []string, opt PrincipalOptions, withSignIn bool) ([]User, error) {
	limit := opt.ByIDLimit
	if limit <= 0 {
		limit = 5000
	}
	if !opt.All && len(ids) <= limit {
		return g.UsersByIDs(ctx, ids, withSignIn)
	}
	keep := map[string]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	var out []User
	err := g.Users(ctx, withSignIn, func(us []User) error {
		for _, u := range us {
			u.ID = strings.ToLower(u.ID)
			if opt.All || keep[u.ID] {
				out = append(out, u)
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

func (g *Graph) allGroupsAndSPs(ctx context.Context) ([]Group, []ServicePrincipal, error) {
	var groups []Group
	var sps []ServicePrincipal
	if err := g.Groups(ctx, func(p []Group) error { groups = append(groups, p...); return nil }); err != nil {
		return nil, nil, err
	}
	if err := g.ServicePrincipals(ctx, func(p []ServicePrincipal) error { sps = append(sps, p...); return nil }); err != nil {
		return nil, nil, err
	}
	return dedupGroups(groups), dedupSPs(sps), nil
}

func isNoPremium(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusForbidden && e.Code == noPremiumErrorCode
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupGroups(xs []Group) []Group {
	sort.Slice(xs, func(i, j int) bool { return xs[i].ID < xs[j].ID })
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x.ID != xs[i-1].ID {
			out = append(out, x)
		}
	}
	return out
}

func dedupSPs(xs []ServicePrincipal) []ServicePrincipal {
	sort.Slice(xs, func(i, j int) bool { return xs[i].ID < xs[j].ID })
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x.ID != xs[i-1].ID {
			out = append(out, x)
		}
	}
	return out
}
