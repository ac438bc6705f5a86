package demo

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The demo's Azure tenant: one tenant, a management group above two subscriptions (prod and
// dev), users, groups, applications and managed identities, role definitions and assignments
// at every scope level, and activity and sign-ins over the same window as the AWS activity.
// Everything is written under <dir>/azure in the real layouts (FORMATS.md §4): the
// diagnostic-settings exports under azure/blob/<container>/…/PT1H.json, and offline snapshots
// of the ARM and Graph list responses under azure/arm and azure/graph. The ground truth
// (AzureTruth) comes from the intent tables in this file and azure_activity.go.
const (
	azTenantID    = "5f1c9e2a-7b3d-4e8f-a06c-2d9b8e4f1a37"
	azProdSub     = "8c2f4d1e-3a5b-4c7d-9e0f-1a2b3c4d5e6f"
	azDevSub      = "1e7a9b3c-5d2f-4a8e-b6c0-7f3e2d1c9b84"
	azMGName      = "permlake-demo"
	azDomain      = "permlakedemo.onmicrosoft.com"
	azLookbackDay = 90
	// Microsoft's first-party tenant owns the applications behind managed identities.
	azMSServicesTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	azMGScope          = "/providers/Microsoft.Management/managementGroups/" + azMGName
)

// Principal kinds of the Azure ground truth (the lake's principal_type values).
const (
	azUser             = "user"
	azGroup            = "group"
	azServicePrincipal = "service_principal"
	azManagedIdentity  = "managed_identity"
)

// AzureSubscription is one subscription of the demo tenant.
type AzureSubscription struct {
	ID   string `json:"id"`   // lower-case UUID
	Name string `json:"name"` // displayName: prod or dev
}

// AzurePrincipalUse is what one principal used in one subscription.
type AzurePrincipalUse struct {
	SubscriptionID string `json:"subscription_id"`
	PrincipalID    string `json:"principal_id"`   // Entra object ID (lower-case UUID) of the caller: a user, never the group it acted through
	PrincipalType  string `json:"principal_type"` // user, service_principal or managed_identity
	DisplayName    string `json:"display_name"`
	// UsedActions are the RBAC operations (identity.authorization.action) of its operations
	// that ended Succeeded, lower case, sorted. Failed and Start-only operations are absent.
	UsedActions []string `json:"used_actions"`
	// Operations counts its operations in the subscription (one per correlationId), failed ones
	// included.
	Operations int `json:"operations"`
}

// AzureIdentity names a principal of the tenant.
type AzureIdentity struct {
	PrincipalID   string `json:"principal_id"`
	PrincipalType string `json:"principal_type"`
	DisplayName   string `json:"display_name"`
}

// AzureExpectation is the status a correct analysis must give one (subscription, principal,
// action) triple.
type AzureExpectation struct {
	SubscriptionID string `json:"subscription_id"`
	PrincipalID    string `json:"principal_id"`
	DisplayName    string `json:"display_name"`
	Action         string `json:"action"` // lower case
	// Status is used (exercised successfully in the window), unused (a granted write, delete or
	// action the Activity Log would have recorded and did not), unknown (granted, but a read or
	// a data action, which the Activity Log never records) or not_granted (no assignment grants
	// it: a NotActions entry removes it, or the role is assigned elsewhere; must not appear as
	// granted at all).
	Status string `json:"status"`
	Why    string `json:"why"`
}

// Statuses of AzureExpectation.
const (
	AzureUsed       = "used"
	AzureUnused     = "unused"
	AzureUnknown    = "unknown"
	AzureNotGranted = "not_granted"
)

// AzureTruth is the Azure part of the ground truth, from the generator's intent only.
//
// Stats: activity_operations = operations (correlationIds) in the Activity Log;
// activity_records = records written (a Start and an end record per operation, an end record
// only for authorization failures); failed_operations = operations that ended Failed;
// late_records = activity records whose blob hour is after their event hour;
// late_appended = records appended to an hour's blob after that hour had ended (the last line
// of that blob); signin_records = sign-in records in all four containers; failed_signins =
// those with resultType other than "0"; blobs = PT1H.json files written.
type AzureTruth struct {
	TenantID          string   `json:"tenant_id"`
	ManagementGroupID string   `json:"management_group_id"`
	SubscriptionIDs   []string `json:"subscription_ids"` // sorted
	LookbackDays      int      `json:"lookback_days"`
	// Principals lists, per (subscription, caller), the actions it used; sorted by
	// subscription then principal ID. Callers whose operations all failed appear with no
	// used actions.
	Principals []AzurePrincipalUse `json:"principals"`
	// InactivePrincipals are the users, service principals and managed identities holding a role
	// (directly or through a group) created
	// before the look-back (LookbackDays before WindowEnd) with no successful sign-in and no
	// Succeeded operation in it (a failed sign-in, a disabled account or a sign-in before the
	// look-back does not make them active). Sorted by ID.
	InactivePrincipals []AzureIdentity `json:"inactive_principals"`
	// Expectations are hand-picked triples the end-to-end test asserts, sorted.
	Expectations []AzureExpectation `json:"expectations"`
	Stats        map[string]int     `json:"stats"`
}

// azPrincipal is one directory object of the demo tenant.
type azPrincipal struct {
	key      string // short name used by the intent tables
	kind     string // azUser, azGroup, azServicePrincipal, azManagedIdentity
	id       string // object ID
	appID    string // service principals and managed identities
	name     string // displayName
	upn      string
	guest    bool
	disabled bool
	created  time.Time
	prior    time.Time // users: last successful sign-in before the window (zero: none)
	noSignIn bool      // users: Graph shows signInActivity as null rather than an object
	mirid    string    // managed identity: its resource ID
	explicit bool      // managed identity: user-assigned
	members  []string  // groups: direct members' keys
}

// azRole is a role definition.
type azRole struct {
	guid, name, desc, typ                            string
	actions, notActions, dataActions, notDataActions []string
	scopes                                           []string // assignable scopes; nil means "/"
	created, updated                                 string
}

// azAssignment is a role assignment.
type azAssignment struct {
	key, scope, role, principal string
	condition, desc             string
	ageDays                     int
}

type azureModel struct {
	end         time.Time
	principals  []*azPrincipal
	byKey       map[string]*azPrincipal
	roles       []*azRole
	roleByName  map[string]*azRole
	assignments []*azAssignment
	asgByKey    map[string]*azAssignment
	subs        []AzureSubscription
}

func azRG(sub, rg string) string { return "/subscriptions/" + sub + "/resourceGroups/" + rg }

func azRes(sub, rg, typ, name string) string { return azRG(sub, rg) + "/providers/" + typ + "/" + name }

const (
	roleOwner       = "Owner"
	roleContributor = "Contributor"
	roleReader      = "Reader"
	roleVMContrib   = "Virtual Machine Contributor"
	roleBlobReader  = "Storage Blob Data Reader"
	roleVMOperator  = "VM Operator (permlake demo)"
)

// newAzureModel lays out the tenant. Creation times are relative to end so that who was created
// before the look-back does not depend on Config.End.
func newAzureModel(end time.Time) *azureModel {
	m := &azureModel{end: end, byKey: map[string]*azPrincipal{}, roleByName: map[string]*azRole{}, asgByKey: map[string]*azAssignment{},
		subs: []AzureSubscription{{ID: azProdSub, Name: "prod"}, {ID: azDevSub, Name: "dev"}}}
	old := end.AddDate(0, 0, -400).Truncate(24 * time.Hour).Add(9*time.Hour + 12*time.Minute)
	user := func(key, name string, p azPrincipal) {
		p.key, p.kind, p.name, p.id = key, azUser, name, uuidOf("azure/user/"+key)
		if p.upn == "" {
			p.upn = key + "@" + azDomain
		}
		if p.created.IsZero() {
			p.created = old.AddDate(0, 0, len(m.principals)*3)
		}
		m.add(&p)
	}
	user("alice", "Alice Martin", azPrincipal{})
	user("bob", "Bob Okafor", azPrincipal{})
	user("carol", "Carol Jensen", azPrincipal{})
	user("dave", "Dave Silva", azPrincipal{})
	// A guest from a partner tenant, active only through a sign-in before the window.
	user("erin", "Erin Novak (Fabrikam)", azPrincipal{guest: true, upn: "erin_fabrikam.com#EXT#@" + azDomain,
		prior: end.AddDate(0, 0, -40).Add(10*time.Hour + 14*time.Minute)})
	// Disabled after leaving; tries to sign in once in the window (and fails).
	user("frank", "Frank Weber", azPrincipal{disabled: true, prior: end.AddDate(0, 0, -200).Add(16*time.Hour + 3*time.Minute)})
	// Never signed in since being created long ago.
	user("grace", "Grace Liu", azPrincipal{noSignIn: true})
	// The break-glass Owner of the management group: last sign-in 120 days ago.
	user("heidi", "Heidi Break-Glass", azPrincipal{upn: "breakglass@" + azDomain, prior: end.AddDate(0, 0, -120).Add(7*time.Hour + 41*time.Minute)})
	// Joined 20 days ago and has not signed in yet: too new to be inactive.
	user("ivan", "Ivan Petrov", azPrincipal{created: end.AddDate(0, 0, -20).Add(9 * time.Hour)})

	group := func(key, name string, members ...string) {
		m.add(&azPrincipal{key: key, kind: azGroup, name: name, id: uuidOf("azure/group/" + key), created: old.AddDate(0, 0, 1), members: members})
	}
	group("platform-team", "Platform Team", "alice", "bob")
	group("cloud-engineers", "Cloud Engineers", "platform-team", "carol") // platform-team is nested in it
	group("data-readers", "Data Readers", "dave", "erin", "reporting-app")

	sp := func(key, name string, p azPrincipal) {
		p.key, p.kind, p.name = key, azServicePrincipal, name
		p.id, p.appID = uuidOf("azure/sp/"+key), uuidOf("azure/app/"+key)
		if p.created.IsZero() {
			p.created = old.AddDate(0, 0, 10+len(m.principals))
		}
		m.add(&p)
	}
	sp("deploy-pipeline", "deploy-pipeline", azPrincipal{})
	sp("reporting-app", "reporting-app", azPrincipal{})
	sp("legacy-sync", "legacy-sync", azPrincipal{}) // only a failed sign-in (expired secret) in the window

	mi := func(key string, explicit bool, resource string) {
		m.add(&azPrincipal{key: key, kind: azManagedIdentity, name: key, id: uuidOf("azure/mi/" + key), appID: uuidOf("azure/mi-app/" + key),
			created: old.AddDate(0, 0, 30), explicit: explicit, mirid: resource})
	}
	mi("mi-vm-backup", true, azRes(azProdSub, "rg-app-prod", "Microsoft.ManagedIdentity/userAssignedIdentities", "mi-vm-backup"))
	mi("func-orders-prod", false, azRes(azProdSub, "rg-app-prod", "Microsoft.Web/sites", "func-orders-prod"))

	for _, r := range azureRoles() {
		m.roles = append(m.roles, r)
		m.roleByName[r.name] = r
	}
	for _, a := range azureAssignments() {
		m.assignments = append(m.assignments, a)
		m.asgByKey[a.key] = a
	}
	return m
}

func (m *azureModel) add(p *azPrincipal) {
	m.principals = append(m.principals, p)
	m.byKey[p.key] = p
}

// azureRoles are the role definitions: built-ins with their real GUIDs and permissions
// (MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles), and one custom
// role with a wildcard in the middle of a string and a NotActions entry.
func azureRoles() []*azRole {
	builtin := func(guid, name, desc string, actions, notActions, dataActions []string) *azRole {
		return &azRole{guid: guid, name: name, desc: desc, typ: "BuiltInRole", actions: actions, notActions: notActions, dataActions: dataActions,
			created: "2015-02-02T21:55:09.8806423Z", updated: "2024-03-21T18:31:11.6014534Z"}
	}
	return []*azRole{
		builtin("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", roleOwner,
			"Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", []string{"*"}, nil, nil),
		builtin("b24988ac-6180-42a0-ab88-20f7382dd24c", roleContributor,
			"Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
			[]string{"*"}, []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
				"Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete", "Microsoft.Resources/deploymentStacks/manageDenySetting/action"}, nil),
		builtin("acdd72a7-3385-48ef-bd42-f606fba81ae7", roleReader, "View all resources, but does not allow you to make any changes.", []string{"*/read"}, nil, nil),
		builtin("9980e02c-c2be-4d73-94e8-173b1dc7cf3c", roleVMContrib,
			"Lets you manage virtual machines, but not access to them, and not the virtual network or storage account they're connected to.",
			[]string{"Microsoft.Authorization/*/read", "Microsoft.Compute/availabilitySets/*", "Microsoft.Compute/locations/*", "Microsoft.Compute/virtualMachines/*",
				"Microsoft.Compute/virtualMachineScaleSets/*", "Microsoft.Compute/disks/write", "Microsoft.Compute/disks/read", "Microsoft.Compute/disks/delete",
				"Microsoft.DevTestLab/schedules/*", "Microsoft.Insights/alertRules/*", "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
				"Microsoft.Network/loadBalancers/backendAddressPools/join/action", "Microsoft.Network/loadBalancers/inboundNatPools/join/action",
				"Microsoft.Network/loadBalancers/inboundNatRules/join/action", "Microsoft.Network/loadBalancers/probes/join/action", "Microsoft.Network/loadBalancers/read",
				"Microsoft.Network/locations/*", "Microsoft.Network/networkInterfaces/*", "Microsoft.Network/networkSecurityGroups/join/action",
				"Microsoft.Network/networkSecurityGroups/read", "Microsoft.Network/publicIPAddresses/join/action", "Microsoft.Network/publicIPAddresses/read",
				"Microsoft.Network/virtualNetworks/read", "Microsoft.Network/virtualNetworks/subnets/join/action", "Microsoft.RecoveryServices/locations/*",
				"Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/write", "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/*/read",
				"Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read", "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write",
				"Microsoft.RecoveryServices/Vaults/backupPolicies/read", "Microsoft.RecoveryServices/Vaults/backupPolicies/write", "Microsoft.RecoveryServices/Vaults/read",
				"Microsoft.RecoveryServices/Vaults/usages/read", "Microsoft.RecoveryServices/Vaults/write", "Microsoft.ResourceHealth/availabilityStatuses/read",
				"Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.SqlVirtualMachine/*",
				"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage/storageAccounts/read", "Microsoft.Support/*"}, nil, nil),
		builtin("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", roleBlobReader, "Allows for read access to Azure Storage blob containers and data",
			[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
			nil, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}),
		{guid: "5c9d2f0e-7a41-4b6e-9c3d-2e8f1a7b4c60", name: roleVMOperator, typ: "CustomRole",
			desc:    "Start, stop and snapshot virtual machines; no run commands.",
			actions: []string{"Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/*/action", "Microsoft.Compute/disks/read", "Microsoft.Compute/snapshots/read", "Microsoft.Compute/snapshots/write", "Microsoft.Resources/subscriptions/resourceGroups/read"},
			// NotActions subtracts from this role only; it is not a deny.
			notActions: []string{"Microsoft.Compute/virtualMachines/runCommand/action"},
			scopes:     []string{"/subscriptions/" + azProdSub, "/subscriptions/" + azDevSub},
			created:    "2025-06-03T08:14:27.1834561Z", updated: "2025-09-18T13:02:55.9041127Z"},
	}
}

// azABACCondition lets the function app read blobs of the orders container only.
const azABACCondition = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR " +
	"(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'orders'))"

// azureAssignments gives roles at every scope level: the management group (inherited by both
// subscriptions), a subscription, a resource group and a single resource; to users, groups
// (members inherit, transitively), service principals and managed identities.
func azureAssignments() []*azAssignment {
	prodRG, devRG := azRG(azProdSub, "rg-app-prod"), azRG(azDevSub, "rg-app-dev")
	return []*azAssignment{
		{key: "mg-owner-heidi", scope: azMGScope, role: roleOwner, principal: "heidi", desc: "break-glass", ageDays: 700},
		{key: "mg-reader-engineers", scope: azMGScope, role: roleReader, principal: "cloud-engineers", ageDays: 390},
		{key: "prod-owner-alice", scope: "/subscriptions/" + azProdSub, role: roleOwner, principal: "alice", ageDays: 380},
		{key: "prod-contrib-deploy", scope: "/subscriptions/" + azProdSub, role: roleContributor, principal: "deploy-pipeline", desc: "CI/CD", ageDays: 370},
		{key: "prod-reader-data", scope: "/subscriptions/" + azProdSub, role: roleReader, principal: "data-readers", ageDays: 360},
		{key: "prod-rg-vmc-platform", scope: prodRG, role: roleVMContrib, principal: "platform-team", ageDays: 350},
		{key: "prod-rg-vmop-backup", scope: prodRG, role: roleVMOperator, principal: "mi-vm-backup", ageDays: 160},
		{key: "prod-rg-blob-reporting", scope: prodRG, role: roleBlobReader, principal: "reporting-app", ageDays: 300},
		{key: "prod-kv-contrib-bob", scope: azRes(azProdSub, "rg-app-prod", "Microsoft.KeyVault/vaults", "kv-orders-prod"), role: roleContributor, principal: "bob", ageDays: 200},
		{key: "prod-st-blob-func", scope: azRes(azProdSub, "rg-app-prod", "Microsoft.Storage/storageAccounts", "stordersprod"), role: roleBlobReader, principal: "func-orders-prod",
			condition: azABACCondition, desc: "orders container only", ageDays: 120},
		{key: "dev-contrib-platform", scope: "/subscriptions/" + azDevSub, role: roleContributor, principal: "platform-team", ageDays: 340},
		{key: "dev-vmc-carol", scope: "/subscriptions/" + azDevSub, role: roleVMContrib, principal: "carol", ageDays: 330},
		{key: "dev-rg-contrib-frank", scope: devRG, role: roleContributor, principal: "frank", ageDays: 500},
		{key: "dev-rg-contrib-legacy", scope: devRG, role: roleContributor, principal: "legacy-sync", ageDays: 600},
	}
}

func (a *azAssignment) guid() string { return uuidOf("azure/assignment/" + a.key) }

func (a *azAssignment) armID() string {
	return a.scope + "/providers/Microsoft.Authorization/roleAssignments/" + a.guid()
}

// visibleFrom reports whether listing sub's role assignments returns a: the management group's
// and the subscription's own (and those below it).
func (a *azAssignment) visibleFrom(sub string) bool {
	return a.scope == azMGScope || strings.HasPrefix(strings.ToLower(a.scope), "/subscriptions/"+sub)
}

// principalTypeARM is the principalType ARM records for a principal (managed identities are
// ServicePrincipal).
func principalTypeARM(kind string) string {
	switch kind {
	case azUser:
		return "User"
	case azGroup:
		return "Group"
	}
	return "ServicePrincipal"
}

// --- wire formats of the offline snapshots ---

type armList[T any] struct {
	Value []T `json:"value"`
}

type armSubscriptionPolicies struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

type armSubscription struct {
	ID                   string                  `json:"id"`
	AuthorizationSource  string                  `json:"authorizationSource"`
	ManagedByTenants     []any                   `json:"managedByTenants"`
	SubscriptionID       string                  `json:"subscriptionId"`
	TenantID             string                  `json:"tenantId"`
	DisplayName          string                  `json:"displayName"`
	State                string                  `json:"state"`
	SubscriptionPolicies armSubscriptionPolicies `json:"subscriptionPolicies"`
}

type armPermission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

type armRoleDefinitionProps struct {
	RoleName         string          `json:"roleName"`
	Type             string          `json:"type"`
	Description      string          `json:"description"`
	AssignableScopes []string        `json:"assignableScopes"`
	Permissions      []armPermission `json:"permissions"`
	CreatedOn        string          `json:"createdOn"`
	UpdatedOn        string          `json:"updatedOn"`
	CreatedBy        *string         `json:"createdBy"`
	UpdatedBy        *string         `json:"updatedBy"`
}

type armRoleDefinition struct {
	ID         string                 `json:"id"`
	Type       string                 `json:"type"`
	Name       string                 `json:"name"`
	Properties armRoleDefinitionProps `json:"properties"`
}

type armRoleAssignmentProps struct {
	RoleDefinitionID                   string  `json:"roleDefinitionId"`
	PrincipalID                        string  `json:"principalId"`
	PrincipalType                      string  `json:"principalType"`
	Scope                              string  `json:"scope"`
	Condition                          *string `json:"condition"`
	ConditionVersion                   *string `json:"conditionVersion"`
	CreatedOn                          string  `json:"createdOn"`
	UpdatedOn                          string  `json:"updatedOn"`
	CreatedBy                          *string `json:"createdBy"`
	UpdatedBy                          *string `json:"updatedBy"`
	DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
	Description                        *string `json:"description"`
}

type armRoleAssignment struct {
	ID         string                 `json:"id"`
	Type       string                 `json:"type"`
	Name       string                 `json:"name"`
	Properties armRoleAssignmentProps `json:"properties"`
}

type graphList[T any] struct {
	Context string `json:"@odata.context"`
	Value   []T    `json:"value"`
}

type graphSignInActivity struct {
	LastSignInDateTime                *string `json:"lastSignInDateTime"`
	LastSignInRequestID               *string `json:"lastSignInRequestId"`
	LastNonInteractiveSignInDateTime  *string `json:"lastNonInteractiveSignInDateTime"`
	LastNonInteractiveSignInRequestID *string `json:"lastNonInteractiveSignInRequestId"`
	LastSuccessfulSignInDateTime      *string `json:"lastSuccessfulSignInDateTime"`
	LastSuccessfulSignInRequestID     *string `json:"lastSuccessfulSignInRequestId"`
}

type graphUser struct {
	ID                string               `json:"id"`
	UserPrincipalName string               `json:"userPrincipalName"`
	DisplayName       string               `json:"displayName"`
	Mail              *string              `json:"mail"`
	AccountEnabled    bool                 `json:"accountEnabled"`
	CreatedDateTime   string               `json:"createdDateTime"`
	UserType          string               `json:"userType"`
	SignInActivity    *graphSignInActivity `json:"signInActivity"`
}

type graphGroup struct {
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName"`
	Description     *string  `json:"description"`
	MailNickname    string   `json:"mailNickname"`
	SecurityEnabled bool     `json:"securityEnabled"`
	MailEnabled     bool     `json:"mailEnabled"`
	GroupTypes      []string `json:"groupTypes"`
	CreatedDateTime string   `json:"createdDateTime"`
}

type graphServicePrincipal struct {
	ID                     string   `json:"id"`
	AppID                  string   `json:"appId"`
	DisplayName            string   `json:"displayName"`
	ServicePrincipalType   string   `json:"servicePrincipalType"`
	AccountEnabled         bool     `json:"accountEnabled"`
	CreatedDateTime        string   `json:"createdDateTime"`
	AppOwnerOrganizationID string   `json:"appOwnerOrganizationId"`
	AlternativeNames       []string `json:"alternativeNames"`
	ServicePrincipalNames  []string `json:"servicePrincipalNames"`
}

type graphMember struct {
	ODataType         string  `json:"@odata.type"`
	ID                string  `json:"id"`
	DisplayName       string  `json:"displayName"`
	UserPrincipalName *string `json:"userPrincipalName,omitempty"`
	AppID             *string `json:"appId,omitempty"`
}

// graphTime is Graph's timestamp form: whole seconds, Z.
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// armTime is ARM's timestamp form: 7 fractional digits, Z.
func armTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func strPtr(s string) *string { return &s }

// writeAzure generates the tenant's activity and sign-ins and writes every Azure file. It draws
// from its own random stream, so the AWS output does not change with it.
func (g *generator) writeAzure() error {
	az := &azureGen{cfg: g.cfg, dir: filepath.Join(g.dir, "azure"), start: g.org.WindowStart, end: g.cfg.End,
		rng: rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0xa2a2e5a17e0b5eed)), m: newAzureModel(g.cfg.End),
		blobs: map[string][]azLine{}, used: map[[2]string]map[string]bool{}, ops: map[[2]string]int{},
		lastOK: map[string]time.Time{}, stats: map[string]int{}}
	az.generate()
	if err := az.writeBlobs(); err != nil {
		return err
	}
	if err := az.writeSnapshots(); err != nil {
		return err
	}
	o := g.org
	o.AzureTenantID, o.AzureManagementGroupID, o.AzureSubscriptions = azTenantID, azMGName, slices.Clone(az.m.subs)
	o.AzureActivityRecords, o.AzureSignInRecords, o.AzureBlobs = az.stats["activity_records"], az.stats["signin_records"], az.stats["blobs"]
	o.azureTruth = az.truth()
	return nil
}

// writeSnapshots writes the ARM and Graph list responses as of the window's end.
func (az *azureGen) writeSnapshots() error {
	m, dir := az.m, az.dir
	var subs []armSubscription
	for _, s := range m.subs {
		subs = append(subs, armSubscription{ID: "/subscriptions/" + s.ID, AuthorizationSource: "RoleBased", ManagedByTenants: []any{},
			SubscriptionID: s.ID, TenantID: azTenantID, DisplayName: s.Name, State: "Enabled",
			SubscriptionPolicies: armSubscriptionPolicies{LocationPlacementID: "Public_2014-09-01", QuotaID: "PayAsYouGo_2014-09-01", SpendingLimit: "Off"}})
	}
	if err := writeJSON(filepath.Join(dir, "arm", "subscriptions.json"), armList[armSubscription]{subs}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "arm", "providerOperations.json"), armList[armProviderOperations]{azureCatalog()}); err != nil {
		return err
	}
	creator := m.byKey["alice"].id
	for _, s := range m.subs {
		var defs []armRoleDefinition
		for _, r := range m.roles {
			scopes := r.scopes
			if scopes == nil {
				scopes = []string{"/"}
			}
			if !slices.Contains(scopes, "/") && !slices.Contains(scopes, "/subscriptions/"+s.ID) {
				continue
			}
			p := armRoleDefinitionProps{RoleName: r.name, Type: r.typ, Description: r.desc, AssignableScopes: scopes, CreatedOn: r.created, UpdatedOn: r.updated,
				Permissions: []armPermission{{Actions: nonNil(r.actions), NotActions: nonNil(r.notActions), DataActions: nonNil(r.dataActions), NotDataActions: nonNil(r.notDataActions)}}}
			if r.typ == "CustomRole" {
				p.CreatedBy, p.UpdatedBy = strPtr(creator), strPtr(creator)
			}
			defs = append(defs, armRoleDefinition{ID: "/subscriptions/" + s.ID + "/providers/Microsoft.Authorization/roleDefinitions/" + r.guid,
				Type: "Microsoft.Authorization/roleDefinitions", Name: r.guid, Properties: p})
		}
		var asgs []armRoleAssignment
		for _, a := range m.assignments {
			if !a.visibleFrom(s.ID) {
				continue
			}
			r, p := m.roleByName[a.role], m.byKey[a.principal]
			// Listed from a subscription, definitions of its own assignments carry its prefix;
			// the management group's carry the group's (a reader must join on the GUID).
			defID := "/subscriptions/" + s.ID + "/providers/Microsoft.Authorization/roleDefinitions/" + r.guid
			if a.scope == azMGScope {
				defID = azMGScope + "/providers/Microsoft.Authorization/roleDefinitions/" + r.guid
			}
			on := armTime(az.end.AddDate(0, 0, -a.ageDays).Add(10*time.Hour + 17*time.Minute + time.Duration(a.ageDays)*time.Second))
			props := armRoleAssignmentProps{RoleDefinitionID: defID, PrincipalID: p.id, PrincipalType: principalTypeARM(p.kind), Scope: a.scope,
				CreatedOn: on, UpdatedOn: on, CreatedBy: strPtr(creator), UpdatedBy: strPtr(creator)}
			if a.ageDays > 450 { // made before the creator's account existed in this form
				props.CreatedBy, props.UpdatedBy = nil, nil
			}
			if a.condition != "" {
				props.Condition, props.ConditionVersion = strPtr(a.condition), strPtr("2.0")
			}
			if a.desc != "" {
				props.Description = strPtr(a.desc)
			}
			asgs = append(asgs, armRoleAssignment{ID: a.armID(), Type: "Microsoft.Authorization/roleAssignments", Name: a.guid(), Properties: props})
		}
		sd := filepath.Join(dir, "arm", "subscriptions", s.ID)
		if err := writeJSON(filepath.Join(sd, "roleDefinitions.json"), armList[armRoleDefinition]{defs}); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(sd, "roleAssignments.json"), armList[armRoleAssignment]{asgs}); err != nil {
			return err
		}
	}
	return az.writeGraph()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeGraph writes users (with signInActivity), groups, service principals (applications and
// managed identities) and each group's transitive members.
func (az *azureGen) writeGraph() error {
	m, dir := az.m, filepath.Join(az.dir, "graph", azTenantID)
	const base = "https://graph.microsoft.com/v1.0/$metadata#"
	var users []graphUser
	var groups []graphGroup
	var sps []graphServicePrincipal
	for _, p := range m.principals {
		switch p.kind {
		case azUser:
			u := graphUser{ID: p.id, UserPrincipalName: p.upn, DisplayName: p.name, AccountEnabled: !p.disabled, CreatedDateTime: graphTime(p.created), UserType: "Member"}
			if p.guest {
				u.UserType, u.Mail = "Guest", strPtr("erin@fabrikam.com")
			} else {
				u.Mail = strPtr(p.upn)
			}
			if !p.noSignIn {
				u.SignInActivity = az.signInActivity(p)
			}
			users = append(users, u)
		case azGroup:
			groups = append(groups, graphGroup{ID: p.id, DisplayName: p.name, MailNickname: p.key, SecurityEnabled: true, GroupTypes: []string{},
				CreatedDateTime: graphTime(p.created)})
		default:
			s := graphServicePrincipal{ID: p.id, AppID: p.appID, DisplayName: p.name, ServicePrincipalType: "Application", AccountEnabled: true,
				CreatedDateTime: graphTime(p.created), AppOwnerOrganizationID: azTenantID, AlternativeNames: []string{}, ServicePrincipalNames: []string{p.appID}}
			if p.kind == azManagedIdentity {
				s.ServicePrincipalType, s.AppOwnerOrganizationID = "ManagedIdentity", azMSServicesTenant
				s.AlternativeNames = []string{fmt.Sprintf("isExplicit=%t", p.explicit), p.mirid}
				s.ServicePrincipalNames = []string{p.appID, "https://identity.azure.net/" + hexID(p.key)[:24]}
			}
			sps = append(sps, s)
		}
	}
	if err := writeJSON(filepath.Join(dir, "users.json"), graphList[graphUser]{base + "users(id,userPrincipalName,displayName,mail,accountEnabled,createdDateTime,userType,signInActivity)", users}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "groups.json"), graphList[graphGroup]{base + "groups", groups}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "servicePrincipals.json"), graphList[graphServicePrincipal]{base + "servicePrincipals", sps}); err != nil {
		return err
	}
	for _, p := range m.principals {
		if p.kind != azGroup {
			continue
		}
		var ms []graphMember
		for _, k := range m.transitive(p.key) {
			q := m.byKey[k]
			gm := graphMember{ID: q.id, DisplayName: q.name}
			switch q.kind {
			case azUser:
				gm.ODataType, gm.UserPrincipalName = "#microsoft.graph.user", strPtr(q.upn)
			case azGroup:
				gm.ODataType = "#microsoft.graph.group"
			default:
				gm.ODataType, gm.AppID = "#microsoft.graph.servicePrincipal", strPtr(q.appID)
			}
			ms = append(ms, gm)
		}
		if err := writeJSON(filepath.Join(dir, "transitiveMembers", p.id+".json"), graphList[graphMember]{base + "directoryObjects", ms}); err != nil {
			return err
		}
	}
	return nil
}

// transitive lists a group's members at any depth (nested groups included, as Graph's
// transitiveMembers does), in first-seen order.
func (m *azureModel) transitive(group string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(k string) {
		for _, c := range m.byKey[k].members {
			if seen[c] {
				continue
			}
			seen[c] = true
			out = append(out, c)
			if m.byKey[c].kind == azGroup {
				walk(c)
			}
		}
	}
	walk(group)
	return out
}

// truth assembles AzureTruth from what the generator meant.
func (az *azureGen) truth() *AzureTruth {
	m := az.m
	t := &AzureTruth{TenantID: azTenantID, ManagementGroupID: azMGName, SubscriptionIDs: []string{azDevSub, azProdSub}, LookbackDays: azLookbackDay,
		Principals: []AzurePrincipalUse{}, InactivePrincipals: []AzureIdentity{}, Stats: map[string]int{}}
	slices.Sort(t.SubscriptionIDs)
	for k, v := range az.stats {
		t.Stats[k] = v
	}
	for k, n := range az.ops {
		p := m.byID(k[1])
		t.Principals = append(t.Principals, AzurePrincipalUse{SubscriptionID: k[0], PrincipalID: k[1], PrincipalType: p.kind, DisplayName: p.name,
			UsedActions: sortedKeys(az.used[k]), Operations: n})
	}
	slices.SortFunc(t.Principals, func(x, y AzurePrincipalUse) int {
		if c := compareStrings(x.SubscriptionID, y.SubscriptionID); c != 0 {
			return c
		}
		return compareStrings(x.PrincipalID, y.PrincipalID)
	})
	since := az.end.AddDate(0, 0, -azLookbackDay)
	// Only principals that hold a role (directly or through a group, transitively) are judged:
	// the directory snapshot holds just the principals role assignments name, since a permission
	// analysis has nothing to say about an identity with no permission.
	holds := map[string]bool{}
	for _, a := range m.assignments {
		holds[a.principal] = true
		if m.byKey[a.principal].kind == azGroup {
			for _, k := range m.transitive(a.principal) {
				holds[k] = true
			}
		}
	}
	for _, p := range m.principals {
		if p.kind == azGroup || !p.created.Before(since) || !holds[p.key] {
			continue
		}
		last := az.lastOK[p.id]
		if p.prior.After(last) {
			last = p.prior
		}
		if last.Before(since) {
			t.InactivePrincipals = append(t.InactivePrincipals, AzureIdentity{PrincipalID: p.id, PrincipalType: p.kind, DisplayName: p.name})
		}
	}
	slices.SortFunc(t.InactivePrincipals, func(x, y AzureIdentity) int { return compareStrings(x.PrincipalID, y.PrincipalID) })
	for _, e := range azureExpectations {
		p := m.byKey[e.who]
		t.Expectations = append(t.Expectations, AzureExpectation{SubscriptionID: e.sub, PrincipalID: p.id, DisplayName: p.name,
			Action: strings.ToLower(e.action), Status: e.status, Why: e.why})
	}
	slices.SortFunc(t.Expectations, func(x, y AzureExpectation) int {
		if c := compareStrings(x.SubscriptionID, y.SubscriptionID); c != 0 {
			return c
		}
		if c := compareStrings(x.PrincipalID, y.PrincipalID); c != 0 {
			return c
		}
		return compareStrings(x.Action, y.Action)
	})
	return t
}

func (m *azureModel) byID(id string) *azPrincipal {
	for _, p := range m.principals {
		if p.id == id {
			return p
		}
	}
	return nil
}

// azureExpectations are the triples the end-to-end test asserts. Each used one is guaranteed
// by a scheduled operation (azure_activity.go); no profile ever performs an unused one.
var azureExpectations = []struct{ sub, who, action, status, why string }{
	{azProdSub, "alice", "Microsoft.Authorization/roleAssignments/write", AzureUsed, "Owner at the subscription; scheduled on the first day"},
	{azProdSub, "bob", "Microsoft.Compute/virtualMachines/restart/action", AzureUsed, "Virtual Machine Contributor through the platform-team group at rg-app-prod"},
	{azProdSub, "mi-vm-backup", "Microsoft.Compute/virtualMachines/start/action", AzureUsed, "custom role's Microsoft.Compute/virtualMachines/*/action"},
	{azProdSub, "deploy-pipeline", "Microsoft.Storage/storageAccounts/listkeys/action", AzureUsed, "a POST action the Activity Log records"},
	{azDevSub, "carol", "Microsoft.Compute/virtualMachines/write", AzureUsed, "Virtual Machine Contributor at the dev subscription"},
	{azProdSub, "heidi", "Microsoft.Authorization/roleAssignments/write", AzureUnused, "Owner at the management group, inherited; break-glass never used"},
	{azDevSub, "heidi", "Microsoft.Compute/virtualMachines/delete", AzureUnused, "Owner at the management group, inherited by dev"},
	{azProdSub, "mi-vm-backup", "Microsoft.Compute/virtualMachines/deallocate/action", AzureUnused, "matched by */action, never called"},
	{azProdSub, "deploy-pipeline", "Microsoft.Web/sites/delete", AzureUnused, "attempted once and failed (Conflict): attempted is not used"},
	{azDevSub, "frank", "Microsoft.Compute/virtualMachines/write", AzureUnused, "Contributor at rg-app-dev, account disabled"},
	{azProdSub, "dave", "Microsoft.Compute/virtualMachines/read", AzureUnknown, "Reader (*/read) through data-readers: reads are never logged"},
	{azProdSub, "erin", "Microsoft.KeyVault/vaults/read", AzureUnknown, "guest in data-readers, Reader at prod"},
	{azProdSub, "reporting-app", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", AzureUnknown, "Storage Blob Data Reader dataAction"},
	{azProdSub, "func-orders-prod", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", AzureUnknown, "dataAction under an ABAC condition"},
	{azProdSub, "deploy-pipeline", "Microsoft.Authorization/roleAssignments/write", AzureNotGranted, "Contributor's NotActions Microsoft.Authorization/*/Write"},
	{azProdSub, "mi-vm-backup", "Microsoft.Compute/virtualMachines/runCommand/action", AzureNotGranted, "custom role's NotActions"},
	{azProdSub, "mi-vm-backup", "Microsoft.Compute/virtualMachines/login/action", AzureNotGranted, "a dataAction: */action in Actions does not grant it"},
	{azDevSub, "alice", "Microsoft.Authorization/roleAssignments/write", AzureNotGranted, "Owner only at prod; Contributor at dev excludes it"},
	{azProdSub, "bob", "Microsoft.Authorization/roleAssignments/write", AzureNotGranted, "attempted and denied (AuthorizationFailed)"},
	{azDevSub, "carol", "Microsoft.Storage/storageAccounts/write", AzureNotGranted, "attempted and denied: Virtual Machine Contributor lacks it"},
}
