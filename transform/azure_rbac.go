package transform

import (
	"fmt"
	"sort"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// azRoleDefinition is a role definition in ARM's wire format (FORMATS.md §4.5; iam-dataset
// azure/built-in-roles-raw.json): the four permission lists nest under properties.permissions[].
type azRoleDefinition struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleName    string `json:"roleName"`
		Type        string `json:"type"`
		Description string `json:"description"`
		Permissions []struct {
			Actions        []string `json:"actions"`
			NotActions     []string `json:"notActions"`
			DataActions    []string `json:"dataActions"`
			NotDataActions []string `json:"notDataActions"`
		} `json:"permissions"`
		AssignableScopes []string `json:"assignableScopes"`
	} `json:"properties"`
}

// AzureRoleDefinitions turns role definitions in ARM's wire format (one JSON object each, as
// the roleDefinitions list returns them in "value") into rows, one per role definition ID,
// sorted by it. The same role is listed more than once when definitions are read at several
// scopes (a built-in role has one GUID everywhere): the first object seen is kept.
//
// The four permission lists are the union over the definition's permission blocks, duplicates
// (compared case-insensitively, as ARM compares permissions, §4.5) dropped, in the order first
// seen; never nil. ARM returns one block per role in practice; with several, a notAction of one
// block would also narrow the actions of another in this flat form, so the schema's columns
// overstate exclusions rather than grants.
func AzureRoleDefinitions(objects [][]byte, meta SnapshotMeta) ([]schemas.AzureRoleDefinition, error) {
	at := meta.SnapshotAt.UTC()
	seen := map[string]bool{}
	out := make([]schemas.AzureRoleDefinition, 0, len(objects))
	for i, b := range objects {
		var d azRoleDefinition
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("role definition %d: %w", i+1, err)
		}
		name := d.Name
		if name == "" {
			name = azLastSegment(d.ID)
		}
		guid, ok := azGUID(name)
		if !ok {
			return nil, fmt.Errorf("role definition %d (%s): name %q is not a GUID", i+1, azObjectName(d.ID, d.Properties.RoleName), name)
		}
		if seen[guid] {
			continue
		}
		seen[guid] = true
		row := schemas.AzureRoleDefinition{
			RoleDefinitionID: guid,
			ID:               d.ID,
			RoleName:         d.Properties.RoleName,
			RoleType:         d.Properties.Type,
			Description:      opt(d.Properties.Description),
			AssignableScopes: azUnion(d.Properties.AssignableScopes),
			SnapshotAt:       at,
			RunID:            meta.RunID,
			SourceKey:        meta.SourceKey,
		}
		var acts, notActs, dataActs, notDataActs [][]string
		for _, p := range d.Properties.Permissions {
			acts = append(acts, p.Actions)
			notActs = append(notActs, p.NotActions)
			dataActs = append(dataActs, p.DataActions)
			notDataActs = append(notDataActs, p.NotDataActions)
		}
		row.Actions = azUnion(acts...)
		row.NotActions = azUnion(notActs...)
		row.DataActions = azUnion(dataActs...)
		row.NotDataActions = azUnion(notDataActs...)
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RoleDefinitionID < out[j].RoleDefinitionID })
	return out, nil
}

// azRoleAssignment is a role assignment in ARM's wire format (FORMATS.md §4.5, api-version
// 2022-04-01 or later so that conditions are returned).
type azRoleAssignment struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Scope            string `json:"scope"`
		Condition        string `json:"condition"`
		ConditionVersion string `json:"conditionVersion"`
		CreatedOn        string `json:"createdOn"`
	} `json:"properties"`
}

// Scope levels of azure_role_assignments.scope_level.
const (
	AzureScopeRoot            = "root"
	AzureScopeManagementGroup = "management_group"
	AzureScopeSubscription    = "subscription"
	AzureScopeResourceGroup   = "resource_group"
	AzureScopeResource        = "resource"
)

// AzureRoleAssignments turns role assignments in ARM's wire format (one JSON object each) into
// rows, one per assignment GUID, sorted by it; an assignment listed twice (read at two scopes)
// is one row. An assignment without a GUID name, a role definition GUID, a principal GUID or a
// scope of a known form is an error naming its id: it could not be joined or placed.
func AzureRoleAssignments(objects [][]byte, meta SnapshotMeta) ([]schemas.AzureRoleAssignment, error) {
	at := meta.SnapshotAt.UTC()
	seen := map[string]bool{}
	out := make([]schemas.AzureRoleAssignment, 0, len(objects))
	for i, b := range objects {
		var a azRoleAssignment
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("role assignment %d: %w", i+1, err)
		}
		what := fmt.Sprintf("role assignment %d (%s)", i+1, azObjectName(a.ID, a.Name))
		name := a.Name
		if name == "" {
			name = azLastSegment(a.ID)
		}
		guid, ok := azGUID(name)
		if !ok {
			return nil, fmt.Errorf("%s: name %q is not a GUID", what, name)
		}
		p := a.Properties
		roleID, ok := azGUID(azLastSegment(p.RoleDefinitionID))
		if !ok {
			return nil, fmt.Errorf("%s: roleDefinitionId %q does not end in a GUID", what, p.RoleDefinitionID)
		}
		principal, ok := azGUID(p.PrincipalID)
		if !ok {
			return nil, fmt.Errorf("%s: principalId %q is not a GUID", what, p.PrincipalID)
		}
		level, ok := azScopeLevel(p.Scope)
		if !ok {
			return nil, fmt.Errorf("%s: scope %q is not a root, management group, subscription or resource scope", what, p.Scope)
		}
		created, err := azOptTime(p.CreatedOn)
		if err != nil {
			return nil, fmt.Errorf("%s: createdOn: %w", what, err)
		}
		if seen[guid] {
			continue
		}
		seen[guid] = true
		out = append(out, schemas.AzureRoleAssignment{
			RoleAssignmentID: guid,
			ID:               a.ID,
			Scope:            p.Scope,
			ScopeLC:          strings.ToLower(p.Scope),
			ScopeLevel:       level,
			RoleDefinitionID: roleID,
			PrincipalID:      principal,
			PrincipalType:    azSnakeCase(p.PrincipalType),
			Condition:        opt(p.Condition),
			ConditionVersion: opt(p.ConditionVersion),
			CreatedAt:        created,
			SnapshotAt:       at,
			RunID:            meta.RunID,
			SourceKey:        meta.SourceKey,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RoleAssignmentID < out[j].RoleAssignmentID })
	return out, nil
}

// azScopeLevel classifies an assignment scope, compared case-insensitively (ARM returns
// "resourcegroups" and "resourceGroups" alike): "/" is the root (tenant) scope,
// /providers/Microsoft.Management/managementGroups/<mg> a management group,
// /subscriptions/<s> a subscription, …/resourceGroups/<rg> a resource group, anything deeper
// (including subscription-level resources, /subscriptions/<s>/providers/…) a resource.
func azScopeLevel(scope string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(scope))
	if s == "/" {
		return AzureScopeRoot, true
	}
	s = strings.TrimRight(s, "/")
	segs := strings.Split(s, "/")
	if len(segs) < 3 || segs[0] != "" {
		return "", false
	}
	for _, seg := range segs[1:] {
		if seg == "" {
			return "", false
		}
	}
	switch {
	case segs[1] == "providers" && len(segs) == 5 && segs[2] == "microsoft.management" && segs[3] == "managementgroups":
		return AzureScopeManagementGroup, true
	case segs[1] == "subscriptions" && len(segs) == 3:
		return AzureScopeSubscription, true
	case segs[1] == "subscriptions" && len(segs) == 5 && segs[3] == "resourcegroups":
		return AzureScopeResourceGroup, true
	case segs[1] == "subscriptions" && len(segs) > 5:
		return AzureScopeResource, true
	}
	return "", false
}

// azSnakeCase turns ARM's principalType (User, Group, ServicePrincipal, ForeignGroup, Device)
// into the lake's lower snake case (user, …, service_principal, foreign_group, device); an
// empty type is "unknown".
func azSnakeCase(s string) string {
	if s == "" {
		return "unknown"
	}
	var b strings.Builder
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			if i > 0 && !(s[i-1] >= 'A' && s[i-1] <= 'Z') && s[i-1] != '_' {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// azUnion concatenates lists, dropping blanks and case-insensitive duplicates and keeping the
// first spelling; the result is never nil (list columns are empty, not NULL).
func azUnion(lists ...[]string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			k := strings.ToLower(s)
			if s == "" || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// azObjectName names an object in an error: its ARM/Graph id, else the fallback.
func azObjectName(id, fallback string) string {
	if id != "" {
		return id
	}
	if fallback != "" {
		return fallback
	}
	return "no id"
}

// azOperation is one operation of the Provider Operations Metadata API (FORMATS.md §4.6).
type azOperation struct {
	Name         string          `json:"name"`
	DisplayName  string          `json:"displayName"`
	IsDataAction json.RawMessage `json:"isDataAction"`
}

// azProviderOperationsList is the list response of
// GET /providers/Microsoft.Authorization/providerOperations?$expand=resourceTypes.
type azProviderOperationsList struct {
	Value []struct {
		Name          string        `json:"name"`
		Operations    []azOperation `json:"operations"`
		ResourceTypes []struct {
			Name       string        `json:"name"`
			Operations []azOperation `json:"operations"`
		} `json:"resourceTypes"`
	} `json:"value"`
	NextLink string `json:"nextLink"`
}

// AzureProviderOperations turns the Provider Operations Metadata list response (all pages'
// "value" in one document, FORMATS.md §4.6) into azure_provider_operations rows: every operation
// of every provider, its own and those under resourceTypes, one row per operation compared
// case-insensitively (the first spelling kept), sorted by operation in lower case. A document
// that still has a nextLink is an error: a truncated catalog would make role wildcards expand
// to less than they grant.
func AzureProviderOperations(doc []byte, meta SnapshotMeta) ([]schemas.AzureOperation, error) {
	var l azProviderOperationsList
	if err := json.Unmarshal(doc, &l); err != nil {
		return nil, fmt.Errorf("provider operations: %w", err)
	}
	if l.NextLink != "" {
		return nil, fmt.Errorf("provider operations: response has a nextLink (%s): pass every page's providers in one document", l.NextLink)
	}
	at := meta.SnapshotAt.UTC()
	seen := map[string]bool{}
	var out []schemas.AzureOperation
	for _, p := range l.Value {
		ops := append([]azOperation(nil), p.Operations...)
		for _, rt := range p.ResourceTypes {
			ops = append(ops, rt.Operations...)
		}
		for _, o := range ops {
			if o.Name == "" {
				return nil, fmt.Errorf("provider operations: provider %s has an operation without a name", p.Name)
			}
			k := strings.ToLower(o.Name)
			if seen[k] {
				continue
			}
			seen[k] = true
			provider := strings.ToLower(p.Name)
			if provider == "" {
				provider, _, _ = strings.Cut(k, "/")
			}
			isData := optBool(o.IsDataAction)
			out = append(out, schemas.AzureOperation{
				Operation: o.Name, Provider: provider, DisplayName: opt(o.DisplayName),
				IsDataAction: isData != nil && *isData,
				SnapshotAt:   at, RunID: meta.RunID, SourceKey: meta.SourceKey,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Operation), strings.ToLower(out[j].Operation)
		return a < b || a == b && out[i].Operation < out[j].Operation
	})
	if out == nil {
		out = []schemas.AzureOperation{}
	}
	return out, nil
}
