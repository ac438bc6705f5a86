package schemas

import "time"

// Azure tables sit beside the AWS ones in the same lake. Subscription-scoped data (activity, role
// definitions and assignments) is partitioned by subscription and hour, directory data (sign-ins,
// principals, group members, the operations catalog) by tenant and hour. IDs in partition paths
// and ID columns are lower-case UUIDs; ARM resource IDs are kept as recorded and, for joins, in a
// lower-case copy (Azure compares them case-insensitively, and records vary in case).

// AzureActivityEvent is one row of azure_activity_events: one Activity Log record from the
// diagnostic-settings export (insights-activity-logs), flattened.
type AzureActivityEvent struct {
	RecordKey          string    `parquet:"record_key"`
	EventTime          time.Time `parquet:"event_time,timestamp(microsecond:local)"`
	ResourceID         string    `parquet:"resource_id"`
	ResourceIDLC       string    `parquet:"resource_id_lc"`
	ResourceGroup      *string   `parquet:"resource_group,optional"`
	ResourceProvider   *string   `parquet:"resource_provider,optional"`
	OperationName      string    `parquet:"operation_name"`
	Action             *string   `parquet:"action,optional"`
	AuthorizationScope *string   `parquet:"authorization_scope,optional"`
	Category           *string   `parquet:"category,optional"`
	ResultType         *string   `parquet:"result_type,optional"`
	ResultSignature    *string   `parquet:"result_signature,optional"`
	IsSuccess          bool      `parquet:"is_success"`
	CallerIPAddress    *string   `parquet:"caller_ip_address,optional"`
	CorrelationID      *string   `parquet:"correlation_id,optional"`
	Level              *string   `parquet:"level,optional"`
	TenantID           *string   `parquet:"tenant_id,optional"`
	PrincipalID        *string   `parquet:"principal_id,optional"`
	PrincipalType      *string   `parquet:"principal_type,optional"`
	AppID              *string   `parquet:"app_id,optional"`
	Caller             *string   `parquet:"caller,optional"`
	RoleAssignmentID   *string   `parquet:"role_assignment_id,optional"`
	RoleDefinitionID   *string   `parquet:"role_definition_id,optional"`
	Identity           *string   `parquet:"identity,optional"`
	Properties         *string   `parquet:"properties,optional"`
	RunID              string    `parquet:"_run_id"`
	SourceKey          string    `parquet:"_source_key"`
	SourceLine         int64     `parquet:"_source_line"`
}

// AzureActivityEvents is the azure_activity_events table.
var AzureActivityEvents = newTableBy(BySubscriptionHour, "azure_activity_events",
	"Azure Activity Log records (Administrative and other categories) from the diagnostic-settings export in Blob Storage.",
	"one row per distinct record (record_key) per event hour", AzureActivityEvent{}, []string{"record_key"}, withLineage(map[string]string{
		"record_key":          "SHA-256 (hex) of the record's JSON text: the same record delivered twice has the same key.",
		"event_time":          "time: when the operation happened (UTC); the partition hour is this hour, not the blob's receive hour.",
		"resource_id":         "resourceId as recorded (case varies between records).",
		"resource_id_lc":      "resourceId in lower case, for joins.",
		"resource_group":      "Resource group from resourceId, lower case; NULL above resource-group scope.",
		"resource_provider":   "Resource provider namespace from resourceId or operationName, lower case (microsoft.compute).",
		"operation_name":      "operationName as recorded ({Provider}/{type}/{read|write|delete|action}).",
		"action":              "identity.authorization.action, lower case: the RBAC permission that was checked (falls back to operationName for write/delete/action operations).",
		"authorization_scope": "identity.authorization.scope.",
		"category":            "properties.eventCategory when present, else category (Administrative, Policy, Security, ...).",
		"result_type":         "resultType (Start, Accept, Succeeded, Failed, ...).",
		"result_signature":    "resultSignature (HTTP status or sub-status).",
		"is_success":          "True when resultType is Succeeded/Success (a Start or Accept record is not a completed use).",
		"caller_ip_address":   "callerIpAddress.",
		"correlation_id":      "correlationId: shared by the Start and the end records of one operation.",
		"level":               "level (Informational, Warning, Error, Critical).",
		"tenant_id":           "Tenant of the caller (tid claim), lower case.",
		"principal_id":        "Object ID of the caller (oid claim, else authorization evidence principalId), lower-case UUID.",
		"principal_type":      "authorization evidence principalType (User, ServicePrincipal, Group, ...), when recorded.",
		"app_id":              "appid claim: the application the caller used or is.",
		"caller":              "UPN (or name) claim of the caller.",
		"role_assignment_id":  "identity.authorization.evidence.roleAssignmentId as a lower-case UUID: the assignment that allowed the call.",
		"role_definition_id":  "identity.authorization.evidence.roleDefinitionId as a lower-case UUID.",
		"identity":            "The identity object (claims, authorization) as JSON text.",
		"properties":          "properties as JSON text.",
		"_source_line":        "1-based line of the record in its blob (the first line of a multi-line document).",
	}))

// AzureSignInEvent is one row of azure_signin_events: one Entra ID sign-in (interactive,
// non-interactive, service principal or managed identity).
type AzureSignInEvent struct {
	SignInID                string    `parquet:"sign_in_id"`
	EventTime               time.Time `parquet:"event_time,timestamp(microsecond:local)"`
	Category                string    `parquet:"category"`
	PrincipalID             *string   `parquet:"principal_id,optional"`
	PrincipalType           string    `parquet:"principal_type"`
	UserPrincipalName       *string   `parquet:"user_principal_name,optional"`
	AppID                   *string   `parquet:"app_id,optional"`
	AppDisplayName          *string   `parquet:"app_display_name,optional"`
	ResourceDisplayName     *string   `parquet:"resource_display_name,optional"`
	ResultType              *string   `parquet:"result_type,optional"`
	IsSuccess               bool      `parquet:"is_success"`
	IsInteractive           *bool     `parquet:"is_interactive,optional"`
	IPAddress               *string   `parquet:"ip_address,optional"`
	ConditionalAccessStatus *string   `parquet:"conditional_access_status,optional"`
	Properties              *string   `parquet:"properties,optional"`
	RunID                   string    `parquet:"_run_id"`
	SourceKey               string    `parquet:"_source_key"`
	SourceLine              int64     `parquet:"_source_line"`
}

// Principal types of Azure rows (principal_type columns of the sign-in, principal and member
// tables).
const (
	AzureUser             = "user"
	AzureGroup            = "group"
	AzureServicePrincipal = "service_principal"
	AzureManagedIdentity  = "managed_identity"
)

// AzureSignInEvents is the azure_signin_events table.
var AzureSignInEvents = newTableBy(ByTenantHour, "azure_signin_events",
	"Entra ID sign-ins from the diagnostic-settings exports (insights-logs-signinlogs, -noninteractiveusersigninlogs, -serviceprincipalsigninlogs, -managedidentitysigninlogs).",
	"one row per sign-in (sign_in_id) per event hour", AzureSignInEvent{}, []string{"sign_in_id"}, withLineage(map[string]string{
		"sign_in_id":                "properties.id of the sign-in.",
		"event_time":                "time of the sign-in (UTC).",
		"category":                  "SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs or ManagedIdentitySignInLogs.",
		"principal_id":              "Object ID that signed in (userId, else servicePrincipalId), lower-case UUID.",
		"principal_type":            "user, service_principal or managed_identity.",
		"user_principal_name":       "userPrincipalName, for users.",
		"app_id":                    "appId of the application signed in to (or the service principal's own).",
		"app_display_name":          "appDisplayName.",
		"resource_display_name":     "resourceDisplayName: the resource the token was for.",
		"result_type":               "resultType: the error code as text, \"0\" for success.",
		"is_success":                "True when resultType is 0.",
		"is_interactive":            "isInteractive, when recorded.",
		"ip_address":                "ipAddress (callerIpAddress when absent).",
		"conditional_access_status": "conditionalAccessStatus.",
		"properties":                "properties as JSON text.",
		"_source_line":              "1-based line of the record in its blob.",
	}))

// AzureRoleDefinition is one row of azure_role_definitions: a built-in or custom role usable in a
// subscription.
type AzureRoleDefinition struct {
	RoleDefinitionID string    `parquet:"role_definition_id"`
	ID               string    `parquet:"id"`
	RoleName         string    `parquet:"role_name"`
	RoleType         string    `parquet:"role_type"`
	Description      *string   `parquet:"description,optional"`
	Actions          []string  `parquet:"actions,list"`
	NotActions       []string  `parquet:"not_actions,list"`
	DataActions      []string  `parquet:"data_actions,list"`
	NotDataActions   []string  `parquet:"not_data_actions,list"`
	AssignableScopes []string  `parquet:"assignable_scopes,list"`
	SnapshotAt       time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID            string    `parquet:"_run_id"`
	SourceKey        string    `parquet:"_source_key"`
}

// AzureRoleDefinitions is the azure_role_definitions table.
var AzureRoleDefinitions = newTableBy(BySubscriptionHour, "azure_role_definitions",
	"Azure RBAC role definitions (built-in and custom) usable in the subscription, with their permissions.",
	"one row per role definition per snapshot", AzureRoleDefinition{}, []string{"role_definition_id"}, snapshot(map[string]string{
		"role_definition_id": "The role's GUID (name), lower case: the same for a built-in role in every subscription.",
		"id":                 "The definition's ARM ID as returned (/subscriptions/…/providers/Microsoft.Authorization/roleDefinitions/<guid>).",
		"role_name":          "roleName (Reader, Contributor, a custom name).",
		"role_type":          "BuiltInRole or CustomRole.",
		"description":        "description.",
		"actions":            "permissions[].actions, every permission block's together (patterns with *; case-insensitive).",
		"not_actions":        "permissions[].notActions: subtracted from actions (not a deny).",
		"data_actions":       "permissions[].dataActions.",
		"not_data_actions":   "permissions[].notDataActions.",
		"assignable_scopes":  "assignableScopes.",
	}))

// AzureRoleAssignment is one row of azure_role_assignments: a role given to a principal at a
// scope visible from the subscription (management group, subscription, resource group, resource).
type AzureRoleAssignment struct {
	RoleAssignmentID string     `parquet:"role_assignment_id"`
	ID               string     `parquet:"id"`
	Scope            string     `parquet:"scope"`
	ScopeLC          string     `parquet:"scope_lc"`
	ScopeLevel       string     `parquet:"scope_level"`
	RoleDefinitionID string     `parquet:"role_definition_id"`
	PrincipalID      string     `parquet:"principal_id"`
	PrincipalType    string     `parquet:"principal_type"`
	Condition        *string    `parquet:"condition,optional"`
	ConditionVersion *string    `parquet:"condition_version,optional"`
	CreatedAt        *time.Time `parquet:"created_at,optional,timestamp(microsecond:local)"`
	SnapshotAt       time.Time  `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID            string     `parquet:"_run_id"`
	SourceKey        string     `parquet:"_source_key"`
}

// AzureRoleAssignments is the azure_role_assignments table.
var AzureRoleAssignments = newTableBy(BySubscriptionHour, "azure_role_assignments",
	"Azure RBAC role assignments at every scope visible from the subscription, conditions kept.",
	"one row per role assignment per snapshot", AzureRoleAssignment{}, []string{"role_assignment_id"}, snapshot(map[string]string{
		"role_assignment_id": "The assignment's GUID (name), lower case.",
		"id":                 "The assignment's ARM ID as returned.",
		"scope":              "properties.scope as returned.",
		"scope_lc":           "scope in lower case, for prefix matching against resource IDs.",
		"scope_level":        "management_group, subscription, resource_group or resource.",
		"role_definition_id": "GUID of the assigned role definition, lower case.",
		"principal_id":       "Object ID of the principal, lower-case UUID.",
		"principal_type":     "user, group, service_principal (managed identities included; see azure_principals) or foreign_group/device as returned in lower snake case.",
		"condition":          "ABAC condition; NULL when unconditional. A conditional assignment grants conditionally.",
		"condition_version":  "conditionVersion (2.0).",
		"created_at":         "createdOn.",
	}))

// AzureSubscription is one row of azure_subscriptions: what discovery (Subscriptions - List)
// said of the subscription when its RBAC snapshot was taken.
type AzureSubscription struct {
	SubscriptionName *string   `parquet:"subscription_name,optional"`
	TenantID         *string   `parquet:"tenant_id,optional"`
	State            *string   `parquet:"state,optional"`
	SnapshotAt       time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID            string    `parquet:"_run_id"`
	SourceKey        string    `parquet:"_source_key"`
}

// AzureSubscriptions is the azure_subscriptions table.
var AzureSubscriptions = newTableBy(BySubscriptionHour, "azure_subscriptions",
	"Azure subscriptions as discovery listed them, one row per RBAC snapshot: the names reports and marts show.",
	// One row per partition: its source key (the subscription's ARM folder or URL) is unique in it.
	"one row per subscription per snapshot", AzureSubscription{}, []string{"_source_key"}, snapshot(map[string]string{
		"subscription_name": "displayName; NULL for a subscription configured by ID that discovery did not list.",
		"tenant_id":         "The directory the subscription belongs to, lower case; NULL when unknown.",
		"state":             "Enabled, Disabled, Warned, PastDue or Deleted, as listed; NULL when unknown.",
	}))

// AzurePrincipal is one row of azure_principals: a user, group, service principal or managed
// identity of the tenant that a role assignment names (or, in a full inventory, every one).
type AzurePrincipal struct {
	PrincipalID                string     `parquet:"principal_id"`
	PrincipalType              string     `parquet:"principal_type"`
	DisplayName                *string    `parquet:"display_name,optional"`
	UserPrincipalName          *string    `parquet:"user_principal_name,optional"`
	AppID                      *string    `parquet:"app_id,optional"`
	IsEnabled                  *bool      `parquet:"is_enabled,optional"`
	CreatedAt                  *time.Time `parquet:"created_at,optional,timestamp(microsecond:local)"`
	LastSignInAt               *time.Time `parquet:"last_sign_in_at,optional,timestamp(microsecond:local)"`
	LastNonInteractiveSignInAt *time.Time `parquet:"last_non_interactive_sign_in_at,optional,timestamp(microsecond:local)"`
	LastSuccessfulSignInAt     *time.Time `parquet:"last_successful_sign_in_at,optional,timestamp(microsecond:local)"`
	HasSignInActivity          bool       `parquet:"has_sign_in_activity"`
	SnapshotAt                 time.Time  `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID                      string     `parquet:"_run_id"`
	SourceKey                  string     `parquet:"_source_key"`
}

// AzurePrincipals is the azure_principals table.
var AzurePrincipals = newTableBy(ByTenantHour, "azure_principals",
	"Entra ID principals from Microsoft Graph: users (with sign-in activity), groups, service principals and managed identities.",
	"one row per principal per snapshot", AzurePrincipal{}, []string{"principal_id"}, snapshot(map[string]string{
		"principal_id":                    "Object ID, lower-case UUID.",
		"principal_type":                  "user, group, service_principal or managed_identity (servicePrincipalType ManagedIdentity).",
		"display_name":                    "displayName.",
		"user_principal_name":             "userPrincipalName (users).",
		"app_id":                          "appId (service principals and managed identities).",
		"is_enabled":                      "accountEnabled.",
		"created_at":                      "createdDateTime.",
		"last_sign_in_at":                 "signInActivity.lastSignInDateTime (users): last interactive sign-in attempt, successful or not.",
		"last_non_interactive_sign_in_at": "signInActivity.lastNonInteractiveSignInDateTime (users).",
		"last_successful_sign_in_at":      "signInActivity.lastSuccessfulSignInDateTime (users): the last sign-in that succeeded, interactive or not (the two above include failed attempts); recorded since December 2023.",
		"has_sign_in_activity":            "False when Graph could not return sign-in activity (no Entra ID P1 licence or AuditLog.Read.All): last sign-in is then unknown, not never.",
	}))

// AzureGroupMember is one row of azure_group_members: a transitive member of a group that a role
// assignment names (members of nested groups included).
type AzureGroupMember struct {
	GroupID    string    `parquet:"group_id"`
	MemberID   string    `parquet:"member_id"`
	MemberType string    `parquet:"member_type"`
	SnapshotAt time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID      string    `parquet:"_run_id"`
	SourceKey  string    `parquet:"_source_key"`
}

// AzureGroupMembers is the azure_group_members table.
var AzureGroupMembers = newTableBy(ByTenantHour, "azure_group_members",
	"Transitive members of the groups role assignments name (Graph /groups/{id}/transitiveMembers).",
	"one row per (group, member) per snapshot", AzureGroupMember{}, []string{"group_id", "member_id"}, snapshot(map[string]string{
		"group_id":    "Group object ID, lower-case UUID.",
		"member_id":   "Member object ID, lower-case UUID.",
		"member_type": "user, group, service_principal or managed_identity.",
	}))

// AzureOperation is one row of azure_provider_operations: one RBAC operation of a resource
// provider (the catalog wildcards in role definitions expand against).
type AzureOperation struct {
	Operation    string    `parquet:"operation"`
	Provider     string    `parquet:"provider"`
	DisplayName  *string   `parquet:"display_name,optional"`
	IsDataAction bool      `parquet:"is_data_action"`
	SnapshotAt   time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID        string    `parquet:"_run_id"`
	SourceKey    string    `parquet:"_source_key"`
}

// AzureProviderOperations is the azure_provider_operations table.
var AzureProviderOperations = newTableBy(ByTenantHour, "azure_provider_operations",
	"Every RBAC operation of the resource providers (Provider Operations Metadata API): what role-definition wildcards expand to.",
	"one row per operation per snapshot", AzureOperation{}, []string{"operation"}, snapshot(map[string]string{
		"operation":      "Operation name as the API spells it (Microsoft.Compute/virtualMachines/start/action).",
		"provider":       "Provider namespace in lower case (microsoft.compute).",
		"display_name":   "displayName.",
		"is_data_action": "isDataAction: a data-plane operation (dataActions).",
	}))

// AzureAuditEvent is one row of azure_audit_events: one Entra ID directory audit record (who
// changed what in the directory: users, groups, role assignments, applications).
type AzureAuditEvent struct {
	AuditID             string    `parquet:"audit_id"`
	EventTime           time.Time `parquet:"event_time,timestamp(microsecond:local)"`
	Category            *string   `parquet:"category,optional"`
	ActivityDisplayName *string   `parquet:"activity_display_name,optional"`
	OperationType       *string   `parquet:"operation_type,optional"`
	Result              *string   `parquet:"result,optional"`
	IsSuccess           bool      `parquet:"is_success"`
	LoggedByService     *string   `parquet:"logged_by_service,optional"`
	InitiatedByID       *string   `parquet:"initiated_by_id,optional"`
	InitiatedByType     *string   `parquet:"initiated_by_type,optional"`
	InitiatedByName     *string   `parquet:"initiated_by_name,optional"`
	CorrelationID       *string   `parquet:"correlation_id,optional"`
	TargetResources     *string   `parquet:"target_resources,optional"`
	Properties          *string   `parquet:"properties,optional"`
	RunID               string    `parquet:"_run_id"`
	SourceKey           string    `parquet:"_source_key"`
	SourceLine          int64     `parquet:"_source_line"`
}

// AzureAuditEvents is the azure_audit_events table.
var AzureAuditEvents = newTableBy(ByTenantHour, "azure_audit_events",
	"Entra ID directory audit records from the diagnostic-settings export (insights-logs-auditlogs).",
	"one row per audit record (audit_id) per event hour", AzureAuditEvent{}, []string{"audit_id"}, withLineage(map[string]string{
		"audit_id":              "properties.id of the audit record.",
		"event_time":            "time (else properties.activityDateTime), UTC.",
		"category":              "properties.category (UserManagement, GroupManagement, RoleManagement, ApplicationManagement, ...).",
		"activity_display_name": "properties.activityDisplayName (\"Add member to role\").",
		"operation_type":        "properties.operationType (Add, Update, Delete, Assign, ...).",
		"result":                "properties.result (success, failure, timeout, unknownFutureValue).",
		"is_success":            "True when result is success.",
		"logged_by_service":     "properties.loggedByService (Core Directory, PIM, ...).",
		"initiated_by_id":       "Object ID of who made the change: initiatedBy.user.id, else initiatedBy.app.servicePrincipalId (lower-case UUID).",
		"initiated_by_type":     "user or service_principal.",
		"initiated_by_name":     "initiatedBy.user.userPrincipalName, else initiatedBy.app.displayName.",
		"correlation_id":        "properties.correlationId.",
		"target_resources":      "properties.targetResources as JSON text (what was changed, with modifiedProperties).",
		"properties":            "properties as JSON text.",
		"_source_line":          "1-based line of the record in its blob.",
	}))
