package azapitest

import (
	"fmt"
	"net/http"
	"strings"
)

// Operation is one permission of the provider operations catalog: Name is the RBAC string
// ("Microsoft.Compute/virtualMachines/read").
type Operation struct {
	Name, DisplayName, Description string
	Origin                         string // "user", "system" or "user,system"; default "user,system"
	IsDataAction                   bool
}

// ResourceType is one resource type of a provider, with its own operations.
type ResourceType struct {
	Name, DisplayName string
	Operations        []Operation
}

// Provider is one resource provider of Provider Operations Metadata - List
// (https://learn.microsoft.com/rest/api/authorization/provider-operations-metadata/list):
// provider-level operations, and per resource type operations when the request says
// $expand=resourceTypes.
type Provider struct {
	Namespace, DisplayName string
	Operations             []Operation
	ResourceTypes          []ResourceType
}

// serveProviderOperations answers GET /providers/Microsoft.Authorization/providerOperations,
// PageSize providers a page. Without $expand=resourceTypes the resource types are left out, as
// ARM does; DeniedOperations answers 403 AuthorizationFailed.
func (a *ARM) serveProviderOperations(w http.ResponseWriter, r *http.Request, claims Claims) {
	if v := r.URL.Query().Get("api-version"); v != "2022-04-01" {
		writeError(w, http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid.", v))
		return
	}
	if a.DeniedOperations {
		w.Header().Set("x-ms-failure-cause", "gateway")
		writeError(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("The client '%s' with object id '%s' does not have authorization "+
			"to perform action 'Microsoft.Authorization/providerOperations/read' over scope '/providers/Microsoft.Authorization' or the scope is invalid.",
			claims.ClientID, claims.ClientID))
		return
	}
	expand := strings.EqualFold(r.URL.Query().Get("$expand"), "resourceTypes")
	vals := make([]any, 0, len(a.ProviderOperations))
	for _, p := range a.ProviderOperations {
		vals = append(vals, providerJSON(p, expand))
	}
	a.page(w, r, vals)
}

func providerJSON(p Provider, expand bool) map[string]any {
	out := map[string]any{
		"id":   "/providers/Microsoft.Authorization/providerOperations/" + p.Namespace,
		"name": p.Namespace, "type": "Microsoft.Authorization/providerOperations", "displayName": p.DisplayName,
		"operations": operationsJSON(p.Operations),
	}
	if expand {
		rts := []any{}
		for _, rt := range p.ResourceTypes {
			rts = append(rts, map[string]any{"name": rt.Name, "displayName": rt.DisplayName, "operations": operationsJSON(rt.Operations)})
		}
		out["resourceTypes"] = rts
	}
	return out
}

func operationsJSON(ops []Operation) []any {
	out := []any{}
	for _, o := range ops {
		origin := o.Origin
		if origin == "" {
			origin = "user,system"
		}
		out = append(out, map[string]any{"name": o.Name, "displayName": o.DisplayName, "description": o.Description,
			"origin": origin, "properties": nil, "isDataAction": o.IsDataAction})
	}
	return out
}
