package azapitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Object is a directory object of the Graph server: its properties in Graph's names, "id"
// included. Users, groups and service principals are told apart by the list they are in.
type Object map[string]any

// Graph answers Microsoft Graph v1.0 under /v1.0:
//
//	GET  /users, /groups, /servicePrincipals          $select, $top, $filter=id in (...)
//	GET  /groups/{id}/transitiveMembers              nested groups expanded
//	POST /directoryObjects/getByIds                  {"ids":[...],"types":[...]}
//
// paged PageSize at a time with @odata.nextLink ($skiptoken). Like Graph, it returns only the
// $select-ed properties (a default set otherwise, never signInActivity), refuses $top above 999
// (500 with signInActivity), more than 15 values in an "in" filter and more than 1,000 IDs in
// getByIds. NoPremium makes signInActivity answer 403 as in a tenant without Entra ID P1. The
// first Throttle requests answer 429 with Retry-After.
type Graph struct {
	URL               string
	Server            *httptest.Server
	Audience          string // expected token audience; default the server URL
	PageSize          int
	Users             []Object
	Groups            []Object
	ServicePrincipals []Object
	// Members are each group's direct members (IDs of users, groups, service principals).
	Members    map[string][]string
	NoPremium  bool
	Throttle   int
	RetryAfter string // default "1"

	requests counter
	thr      throttle
	thrSet   bool
}

// NewGraph starts a Graph server with no data; fill the fields before the first request.
func NewGraph(t *testing.T) *Graph {
	t.Helper()
	g := &Graph{PageSize: 2, Members: map[string][]string{}}
	g.Server = newTLS(t, http.HandlerFunc(g.serve))
	g.URL = g.Server.URL
	return g
}

// Requests returns how many requests reached a path ("/v1.0/users"), throttled ones included.
func (g *Graph) Requests(path string) int { return g.requests.get(path) }

// Throttled returns how many 429 answers were sent.
func (g *Graph) Throttled() int {
	g.thr.mu.Lock()
	defer g.thr.mu.Unlock()
	return g.thr.sent
}

var defaultProps = map[string][]string{
	"user":             {"id", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"},
	"group":            {"id", "displayName", "securityEnabled", "mailEnabled", "groupTypes", "createdDateTime", "description", "mail"},
	"servicePrincipal": {"id", "appId", "displayName", "servicePrincipalType", "accountEnabled", "createdDateTime", "appOwnerOrganizationId", "servicePrincipalNames"},
}

var known = map[string]map[string]bool{
	"user": set("id", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage",
		"surname", "userPrincipalName", "accountEnabled", "createdDateTime", "userType", "signInActivity"),
	"group":            set("id", "displayName", "securityEnabled", "mailEnabled", "groupTypes", "createdDateTime", "description", "mail"),
	"servicePrincipal": set("id", "appId", "displayName", "servicePrincipalType", "accountEnabled", "createdDateTime", "appOwnerOrganizationId", "servicePrincipalNames"),
}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

var (
	membersPath = regexp.MustCompile(`^/v1\.0/groups/([0-9a-f-]{36})/transitiveMembers$`)
	inFilter    = regexp.MustCompile(`^id in \(((?:'[0-9a-f-]{36}'\s*,?\s*)*)\)$`)
)

func (g *Graph) serve(w http.ResponseWriter, r *http.Request) {
	g.requests.add(r.URL.Path)
	g.thr.mu.Lock()
	if !g.thrSet {
		g.thr.left, g.thrSet = g.Throttle, true
	}
	g.thr.mu.Unlock()
	w.Header().Set("request-id", "00000000-0000-4000-8000-00000000b001")
	audience := g.Audience
	if audience == "" {
		audience = g.URL
	}
	if c, ok := ParseToken(r.Header.Get("Authorization")); !ok || c.Scope != strings.TrimSuffix(audience, "/")+"/.default" {
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return
	}
	if g.thr.take() {
		retry := g.RetryAfter
		if retry == "" {
			retry = "1"
		}
		w.Header().Set("Retry-After", retry)
		writeError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1.0/users":
		g.list(w, r, "user", g.Users)
	case r.Method == http.MethodGet && r.URL.Path == "/v1.0/groups":
		g.list(w, r, "group", g.Groups)
	case r.Method == http.MethodGet && r.URL.Path == "/v1.0/servicePrincipals":
		g.list(w, r, "servicePrincipal", g.ServicePrincipals)
	case r.Method == http.MethodGet && membersPath.MatchString(r.URL.Path):
		id := membersPath.FindStringSubmatch(r.URL.Path)[1]
		if _, ok := g.find(id); !ok {
			writeError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
			return
		}
		var vals []any
		for _, m := range g.transitive(id) {
			o, _ := g.find(m)
			vals = append(vals, map[string]any{"@odata.type": "#microsoft.graph." + o.kind, "id": m})
		}
		if q.Get("$select") != "id" {
			writeError(w, http.StatusBadRequest, "Request_BadRequest", "azapitest serves transitiveMembers with $select=id only")
			return
		}
		g.page(w, r, vals)
	case r.Method == http.MethodPost && r.URL.Path == "/v1.0/directoryObjects/getByIds":
		var in struct {
			IDs   []string `json:"ids"`
			Types []string `json:"types"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, "Request_BadRequest", err.Error())
			return
		}
		if len(in.IDs) > 1000 {
			writeError(w, http.StatusBadRequest, "Request_BadRequest", "Too many ids: at most 1000 are allowed.")
			return
		}
		types := set(in.Types...)
		var vals []any
		for _, id := range in.IDs {
			if o, ok := g.find(id); ok && (len(types) == 0 || types[o.kind]) {
				v := project(o.obj, defaultProps[o.kind])
				v["@odata.type"] = "#microsoft.graph." + o.kind
				vals = append(vals, v)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": g.URL + "/v1.0/$metadata#directoryObjects", "value": vals})
	default:
		writeError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", r.URL.Path))
	}
}

type found struct {
	kind string
	obj  Object
}

func (g *Graph) find(id string) (found, bool) {
	for kind, objs := range map[string][]Object{"user": g.Users, "group": g.Groups, "servicePrincipal": g.ServicePrincipals} {
		for _, o := range objs {
			if strings.EqualFold(fmt.Sprint(o["id"]), id) {
				return found{kind, o}, true
			}
		}
	}
	return found{}, false
}

// transitive expands nested groups (each member once; cycles are allowed in Entra and harmless here).
func (g *Graph) transitive(group string) []string {
	seen := map[string]bool{group: true}
	var out []string
	queue := []string{group}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, m := range g.Members[cur] {
			if seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if o, ok := g.find(m); ok && o.kind == "group" {
				queue = append(queue, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (g *Graph) list(w http.ResponseWriter, r *http.Request, kind string, objs []Object) {
	q := r.URL.Query()
	props := defaultProps[kind]
	signIn := false
	if sel := q.Get("$select"); sel != "" {
		props = strings.Split(sel, ",")
		for _, p := range props {
			if !known[kind][p] {
				writeError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, kind))
				return
			}
			signIn = signIn || p == "signInActivity"
		}
	}
	if signIn && g.NoPremium {
		writeError(w, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
			"Neither tenant is B2C or tenant doesn't have premium license")
		return
	}
	if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		limit := 999
		if signIn {
			limit = 500
		}
		if err != nil || n < 1 || n > limit {
			writeError(w, http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", top, limit))
			return
		}
	}
	var ids map[string]bool
	if f := q.Get("$filter"); f != "" {
		m := inFilter.FindStringSubmatch(f)
		if m == nil {
			writeError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query: "+f)
			return
		}
		ids = map[string]bool{}
		for _, v := range strings.Split(m[1], ",") {
			if v = strings.Trim(strings.TrimSpace(v), "'"); v != "" {
				ids[v] = true
			}
		}
		if len(ids) > 15 {
			writeError(w, http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: 15.", len(ids)))
			return
		}
	}
	var vals []any
	for _, o := range objs {
		if ids == nil || ids[fmt.Sprint(o["id"])] {
			vals = append(vals, project(o, props))
		}
	}
	g.page(w, r, vals)
}

func project(o Object, props []string) map[string]any {
	v := map[string]any{}
	for _, p := range props {
		if x, ok := o[p]; ok {
			v[p] = x
		} else {
			v[p] = nil
		}
	}
	return v
}

func (g *Graph) page(w http.ResponseWriter, r *http.Request, vals []any) {
	q := r.URL.Query()
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "RFNwdAIAAQAAAC"))
		if err != nil || n < 0 || n > len(vals) {
			writeError(w, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
		start = n
	}
	size := max(g.PageSize, 1)
	end := min(start+size, len(vals))
	out := map[string]any{"@odata.context": g.URL + "/v1.0/$metadata#" + strings.TrimPrefix(r.URL.Path, "/v1.0/"),
		"value": append([]any{}, vals[start:end]...)}
	if end < len(vals) {
		q.Set("$skiptoken", fmt.Sprintf("RFNwdAIAAQAAAC%d", end))
		out["@odata.nextLink"] = g.URL + r.URL.Path + "?" + strings.ReplaceAll(q.Encode(), "%24", "$")
	}
	writeJSON(w, http.StatusOK, out)
}
