package azure

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
)

// RoleDefinition is an Azure role (built-in or custom) in ARM's field names.
type RoleDefinition struct {
	ID               string // /subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>
	Name             string // the GUID
	RoleName         string // "Reader"
	RoleType         string // properties.type: BuiltInRole or CustomRole
	Description      string
	Permissions      []Permission
	AssignableScopes []string
}

// Permission is one entry of a role's properties.permissions. The strings keep the API's case
// and wildcards; matching is case-insensitive and NotActions is not a deny (FORMATS.md 4.5).
type Permission struct {
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// RoleAssignment is a role assignment in ARM's field names.
type RoleAssignment struct {
	ID               string
	Name             string // the GUID
	Scope            string // "/", "/providers/Microsoft.Management/managementGroups/<mg>", "/subscriptions/<sub>[/resourceGroups/<rg>[/providers/...]]"
	PrincipalID      string
	PrincipalType    string // User, Group, ServicePrincipal, ForeignGroup, Device
	RoleDefinitionID string
	Condition        string // ABAC condition, "" when none
	ConditionVersion string // "2.0"
	Description      string
	// DelegatedManagedIdentityResourceID is set on assignments made for a managed identity of another tenant.
	DelegatedManagedIdentityResourceID string
	CreatedOn                          *time.Time
	UpdatedOn                          *time.Time
	CreatedBy                          string
	UpdatedBy                          string
}

// RBAC reads role definitions and assignments through armauthorization (api-version
// 2022-04-01, the first to return conditions:
// https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-subscription).
type RBAC struct {
	Auth *Auth
}

// Entitlements is a subscription's RBAC snapshot.
type Entitlements struct {
	Subscription    Subscription
	RoleDefinitions []RoleDefinition
	RoleAssignments []RoleAssignment
}

// Snapshot lists a subscription's role assignments and role definitions, then fetches by ID
// any definition an assignment names that the list did not return (a custom role assignable
// only at a resource group below the subscription is not listed at subscription scope).
func (r *RBAC) Snapshot(ctx context.Context, sub Subscription) (*Entitlements, error) {
	assignments, err := r.RoleAssignments(ctx, sub)
	if err != nil {
		return nil, err
	}
	defs, err := r.RoleDefinitions(ctx, sub)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, d := range defs {
		have[strings.ToLower(d.Name)] = true
	}
	client, err := r.definitionsClient(sub)
	if err != nil {
		return nil, err
	}
	for _, a := range assignments {
		m := roleDefinitionIDPattern.FindStringSubmatch(a.RoleDefinitionID)
		if m == nil {
			// Not an ID we will put in a URL path; transform reports the unknown definition.
			continue
		}
		guid := strings.ToLower(m[1])
		if have[guid] {
			continue
		}
		have[guid] = true
		resp, err := client.GetByID(ctx, a.RoleDefinitionID, nil)
		if err != nil {
			// A definition deleted while still assigned answers 404: keep the assignment, it
			// names its definition ID, and let transform report it.
			if KindOf(classify("", "", "", err)) == KindNotFound {
				continue
			}
			return nil, classify("armauthorization:RoleDefinitions.GetByID "+a.RoleDefinitionID, sub.ID, "", err)
		}
		defs = append(defs, roleDefinition(&resp.RoleDefinition))
	}
	return &Entitlements{Subscription: sub, RoleDefinitions: defs, RoleAssignments: assignments}, nil
}

// roleDefinitionIDPattern is a role definition's ARM ID, at a subscription, a management group
// or the tenant root; the group is its GUID.
var roleDefinitionIDPattern = regexp.MustCompile(`^(?i)(?:/subscriptions/[0-9a-f-]{36}|/providers/Microsoft\.Management/managementGroups/[\w().-]{1,90})?/providers/Microsoft\.Authorization/roleDefinitions/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

func (r *RBAC) definitionsClient(sub Subscription) (*armauthorization.RoleDefinitionsClient, error) {
	ident, err := r.Auth.Subscription(sub.ID, sub.TenantID)
	if err != nil {
		return nil, err
	}
	client, err := armauthorization.NewRoleDefinitionsClient(ident.Credential, r.Auth.armOptions())
	if err != nil {
		return nil, classify("armauthorization:RoleDefinitions", sub.ID, "", err)
	}
	return client, nil
}

// RoleDefinitions lists every role definition usable in the subscription: built-in roles and
// custom roles assignable at the subscription or above (RoleDefinitions - List at scope
// /subscriptions/<id>, every nextLink page).
func (r *RBAC) RoleDefinitions(ctx context.Context, sub Subscription) ([]RoleDefinition, error) {
	const call = "armauthorization:RoleDefinitions.List"
	if err := ValidateSubscriptionID(sub.ID); err != nil {
		return nil, err
	}
	client, err := r.definitionsClient(sub)
	if err != nil {
		return nil, err
	}
	var out []RoleDefinition
	pager := client.NewListPager("subscriptions/"+strings.ToLower(sub.ID), nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify(call, sub.ID, "", err)
		}
		for _, d := range page.Value {
			if d != nil {
				out = append(out, roleDefinition(d))
			}
		}
	}
	return out, nil
}

// RoleAssignments lists every role assignment visible from the subscription: those inherited
// from management groups and the root, the subscription's own, and those at resource groups and
// resources below it. It uses List For Subscription without $filter=atScope(), which would
// drop the child scopes.
func (r *RBAC) RoleAssignments(ctx context.Context, sub Subscription) ([]RoleAssignment, error) {
	const call = "armauthorization:RoleAssignments.ListForSubscription"
	id, err := ParseID("subscription", sub.ID)
	if err != nil {
		return nil, err
	}
	ident, err := r.Auth.Subscription(id, sub.TenantID)
	if err != nil {
		return nil, err
	}
	client, err := armauthorization.NewRoleAssignmentsClient(id, ident.Credential, r.Auth.armOptions())
	if err != nil {
		return nil, classify(call, id, "", err)
	}
	var out []RoleAssignment
	pager := client.NewListForSubscriptionPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify(call, id, "", err)
		}
		for _, a := range page.Value {
			if a == nil {
				continue
			}
			ra := RoleAssignment{ID: deref(a.ID), Name: deref(a.Name)}
			if p := a.Properties; p != nil {
				ra.Scope, ra.PrincipalID, ra.RoleDefinitionID = deref(p.Scope), strings.ToLower(deref(p.PrincipalID)), deref(p.RoleDefinitionID)
				ra.Condition, ra.ConditionVersion, ra.Description = deref(p.Condition), deref(p.ConditionVersion), deref(p.Description)
				ra.DelegatedManagedIdentityResourceID = deref(p.DelegatedManagedIdentityResourceID)
				ra.CreatedOn, ra.UpdatedOn, ra.CreatedBy, ra.UpdatedBy = p.CreatedOn, p.UpdatedOn, deref(p.CreatedBy), deref(p.UpdatedBy)
				if p.PrincipalType != nil {
					ra.PrincipalType = string(*p.PrincipalType)
				}
			}
			out = append(out, ra)
		}
	}
	return out, nil
}

func roleDefinition(d *armauthorization.RoleDefinition) RoleDefinition {
	rd := RoleDefinition{ID: deref(d.ID), Name: deref(d.Name)}
	if p := d.Properties; p != nil {
		rd.RoleName, rd.RoleType, rd.Description = deref(p.RoleName), deref(p.RoleType), deref(p.Description)
		rd.AssignableScopes = strs(p.AssignableScopes)
		for _, perm := range p.Permissions {
			if perm == nil {
				continue
			}
			rd.Permissions = append(rd.Permissions, Permission{Actions: strs(perm.Actions), NotActions: strs(perm.NotActions),
				DataActions: strs(perm.DataActions), NotDataActions: strs(perm.NotDataActions)})
		}
	}
	return rd
}

func strs(ps []*string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}
