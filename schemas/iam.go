package schemas

import "time"

// Every IAM table is an hourly snapshot: partitioned by account and the hour it was taken in.
var snapshotDocs = map[string]string{
	"snapshot_at": "When the entitlement snapshot was taken (UTC).",
}

func snapshot(docs map[string]string) map[string]string {
	for k, v := range snapshotDocs {
		docs[k] = v
	}
	return withLineage(docs)
}

// IAMUser is one row of aws_iam_users.
type IAMUser struct {
	ARN                    string    `parquet:"arn"`
	UserName               string    `parquet:"user_name"`
	UserID                 string    `parquet:"user_id"`
	Path                   string    `parquet:"path"`
	CreatedAt              time.Time `parquet:"created_at,timestamp(microsecond:local)"`
	PermissionsBoundaryARN *string   `parquet:"permissions_boundary_arn,optional"`
	Tags                   *string   `parquet:"tags,optional"`
	SnapshotAt             time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID                  string    `parquet:"_run_id"`
	SourceKey              string    `parquet:"_source_key"`
}

// IAMUsers is the aws_iam_users table.
var IAMUsers = newTable("aws_iam_users", "IAM users from GetAccountAuthorizationDetails.",
	"one row per user per snapshot", IAMUser{}, []string{"arn"}, snapshot(map[string]string{
		"arn":                      "User ARN.",
		"user_name":                "UserName.",
		"user_id":                  "UserId (AIDA...).",
		"path":                     "IAM path.",
		"created_at":               "CreateDate.",
		"permissions_boundary_arn": "ARN of the permissions boundary policy, when set.",
		"tags":                     "Tags as a JSON object text.",
	}))

// IAMGroup is one row of aws_iam_groups.
type IAMGroup struct {
	ARN        string    `parquet:"arn"`
	GroupName  string    `parquet:"group_name"`
	GroupID    string    `parquet:"group_id"`
	Path       string    `parquet:"path"`
	CreatedAt  time.Time `parquet:"created_at,timestamp(microsecond:local)"`
	SnapshotAt time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID      string    `parquet:"_run_id"`
	SourceKey  string    `parquet:"_source_key"`
}

// IAMGroups is the aws_iam_groups table.
var IAMGroups = newTable("aws_iam_groups", "IAM groups from GetAccountAuthorizationDetails.",
	"one row per group per snapshot", IAMGroup{}, []string{"arn"}, snapshot(map[string]string{
		"arn":        "Group ARN.",
		"group_name": "GroupName.",
		"group_id":   "GroupId (AGPA...).",
		"path":       "IAM path.",
		"created_at": "CreateDate.",
	}))

// IAMRole is one row of aws_iam_roles.
type IAMRole struct {
	ARN                      string     `parquet:"arn"`
	RoleName                 string     `parquet:"role_name"`
	RoleID                   string     `parquet:"role_id"`
	Path                     string     `parquet:"path"`
	CreatedAt                time.Time  `parquet:"created_at,timestamp(microsecond:local)"`
	AssumeRolePolicyDocument *string    `parquet:"assume_role_policy_document,optional"`
	PermissionsBoundaryARN   *string    `parquet:"permissions_boundary_arn,optional"`
	RoleLastUsedAt           *time.Time `parquet:"role_last_used_at,optional,timestamp(microsecond:local)"`
	RoleLastUsedRegion       *string    `parquet:"role_last_used_region,optional"`
	IsServiceLinked          bool       `parquet:"is_service_linked"`
	IsSSO                    bool       `parquet:"is_sso"`
	Tags                     *string    `parquet:"tags,optional"`
	SnapshotAt               time.Time  `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID                    string     `parquet:"_run_id"`
	SourceKey                string     `parquet:"_source_key"`
}

// IAMRoles is the aws_iam_roles table.
var IAMRoles = newTable("aws_iam_roles", "IAM roles from GetAccountAuthorizationDetails.",
	"one row per role per snapshot", IAMRole{}, []string{"arn"}, snapshot(map[string]string{
		"arn":                         "Role ARN.",
		"role_name":                   "RoleName.",
		"role_id":                     "RoleId (AROA...).",
		"path":                        "IAM path (/aws-service-role/ for service-linked roles, /aws-reserved/sso.amazonaws.com/ for SSO).",
		"created_at":                  "CreateDate.",
		"assume_role_policy_document": "Trust policy, decoded JSON text.",
		"permissions_boundary_arn":    "ARN of the permissions boundary policy, when set.",
		"role_last_used_at":           "RoleLastUsed.LastUsedDate (trailing 400 days), NULL if never used.",
		"role_last_used_region":       "RoleLastUsed.Region.",
		"is_service_linked":           "True for service-linked roles (path /aws-service-role/).",
		"is_sso":                      "True for IAM Identity Center permission-set roles (AWSReservedSSO_*).",
		"tags":                        "Tags as a JSON object text.",
	}))

// IAMPolicy is one row of aws_iam_policies: a managed policy with its default version.
type IAMPolicy struct {
	ARN              string    `parquet:"arn"`
	PolicyName       string    `parquet:"policy_name"`
	PolicyID         string    `parquet:"policy_id"`
	Path             string    `parquet:"path"`
	IsAWSManaged     bool      `parquet:"is_aws_managed"`
	DefaultVersionID string    `parquet:"default_version_id"`
	Document         string    `parquet:"document"`
	AttachmentCount  int64     `parquet:"attachment_count"`
	IsAttachable     bool      `parquet:"is_attachable"`
	CreatedAt        time.Time `parquet:"created_at,timestamp(microsecond:local)"`
	UpdatedAt        time.Time `parquet:"updated_at,timestamp(microsecond:local)"`
	SnapshotAt       time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID            string    `parquet:"_run_id"`
	SourceKey        string    `parquet:"_source_key"`
}

// IAMPolicies is the aws_iam_policies table.
var IAMPolicies = newTable("aws_iam_policies", "Managed policies (customer and AWS managed) with the document of their default version.",
	"one row per managed policy per snapshot", IAMPolicy{}, []string{"arn"}, snapshot(map[string]string{
		"arn":                "Policy ARN (arn:aws:iam::aws:policy/... for AWS managed).",
		"policy_name":        "PolicyName.",
		"policy_id":          "PolicyId (ANPA...).",
		"path":               "IAM path.",
		"is_aws_managed":     "True for AWS managed policies.",
		"default_version_id": "DefaultVersionId (v1, v2, ...).",
		"document":           "The default version's policy document, URL-decoded JSON text.",
		"attachment_count":   "AttachmentCount.",
		"is_attachable":      "IsAttachable.",
		"created_at":         "CreateDate.",
		"updated_at":         "UpdateDate.",
	}))

// IAMGroupMembership is one row of aws_iam_group_memberships.
type IAMGroupMembership struct {
	UserARN    string    `parquet:"user_arn"`
	GroupName  string    `parquet:"group_name"`
	GroupARN   string    `parquet:"group_arn"`
	SnapshotAt time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID      string    `parquet:"_run_id"`
	SourceKey  string    `parquet:"_source_key"`
}

// IAMGroupMemberships is the aws_iam_group_memberships table.
var IAMGroupMemberships = newTable("aws_iam_group_memberships", "Which IAM user is in which group.",
	"one row per (user, group) per snapshot", IAMGroupMembership{}, []string{"user_arn", "group_arn"}, snapshot(map[string]string{
		"user_arn":   "Member user ARN.",
		"group_name": "Group name (UserDetail.GroupList).",
		"group_arn":  "Group ARN.",
	}))

// Attachment kinds written to aws_iam_policy_attachments.policy_type.
const (
	PolicyManaged = "managed"
	PolicyInline  = "inline"
)

// IAMPolicyAttachment is one row of aws_iam_policy_attachments: a policy attached to a user, group
// or role, managed or inline. Users inherit their groups' rows through aws_iam_group_memberships.
type IAMPolicyAttachment struct {
	PrincipalARN  string    `parquet:"principal_arn"`
	PrincipalType string    `parquet:"principal_type"`
	PolicyType    string    `parquet:"policy_type"`
	PolicyKey     string    `parquet:"policy_key"`
	PolicyARN     *string   `parquet:"policy_arn,optional"`
	PolicyName    string    `parquet:"policy_name"`
	Document      *string   `parquet:"document,optional"`
	SnapshotAt    time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID         string    `parquet:"_run_id"`
	SourceKey     string    `parquet:"_source_key"`
}

// IAMPolicyAttachments is the aws_iam_policy_attachments table.
var IAMPolicyAttachments = newTable("aws_iam_policy_attachments", "Policies attached to users, groups and roles: managed attachments and inline policies.",
	"one row per (principal, policy) per snapshot", IAMPolicyAttachment{}, []string{"principal_arn", "policy_key"}, snapshot(map[string]string{
		"principal_arn":  "ARN of the user, group or role the policy is attached to.",
		"principal_type": "iam_user, iam_group or iam_role.",
		"policy_type":    "managed or inline.",
		"policy_key":     "Policy identity used by aws_iam_policy_statements: the ARN for managed, '<principal_arn>#inline/<name>' for inline.",
		"policy_arn":     "Managed policy ARN (NULL for inline).",
		"policy_name":    "Policy name.",
		"document":       "Inline policy document, URL-decoded JSON text (NULL for managed: see aws_iam_policies).",
	}))

// IAMPolicyStatement is one row of aws_iam_policy_statements: one statement of a managed policy's
// default version or of an inline policy, normalised (single values become lists).
type IAMPolicyStatement struct {
	PolicyKey      string    `parquet:"policy_key"`
	StatementIndex int32     `parquet:"statement_index"`
	Sid            *string   `parquet:"sid,optional"`
	Effect         string    `parquet:"effect"`
	Actions        []string  `parquet:"actions,list"`
	NotActions     []string  `parquet:"not_actions,list"`
	Resources      []string  `parquet:"resources,list"`
	NotResources   []string  `parquet:"not_resources,list"`
	Condition      *string   `parquet:"condition,optional"`
	SnapshotAt     time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID          string    `parquet:"_run_id"`
	SourceKey      string    `parquet:"_source_key"`
}

// IAMPolicyStatements is the aws_iam_policy_statements table.
var IAMPolicyStatements = newTable("aws_iam_policy_statements", "Statements of every managed (default version) and inline policy, normalised.",
	"one row per (policy_key, statement_index) per snapshot", IAMPolicyStatement{}, []string{"policy_key", "statement_index"}, snapshot(statementDocs(
		"Managed policy ARN, or '<principal_arn>#inline/<name>' for an inline policy.",
		"Condition block as JSON text; a statement with a condition grants conditionally.")))

// statementDocs documents the columns of a normalised statement table (IAMPolicyStatement rows)
// whose policy_key and condition mean what keyDoc and conditionDoc say.
func statementDocs(keyDoc, conditionDoc string) map[string]string {
	return map[string]string{
		"policy_key":      keyDoc,
		"statement_index": "0-based position of the statement in the document.",
		"sid":             "Statement Sid, when set.",
		"effect":          "Allow or Deny.",
		"actions":         "Action patterns (wildcards * and ?), empty when the statement uses NotAction.",
		"not_actions":     "NotAction patterns, empty when the statement uses Action.",
		"resources":       "Resource patterns.",
		"not_resources":   "NotResource patterns.",
		"condition":       conditionDoc,
	}
}

// IAMCredential is one row of aws_iam_credential_report.
type IAMCredential struct {
	User                  string     `parquet:"user"`
	ARN                   string     `parquet:"arn"`
	UserCreatedAt         *time.Time `parquet:"user_created_at,optional,timestamp(microsecond:local)"`
	IsPasswordEnabled     *bool      `parquet:"is_password_enabled,optional"`
	PasswordLastUsedAt    *time.Time `parquet:"password_last_used_at,optional,timestamp(microsecond:local)"`
	PasswordLastChangedAt *time.Time `parquet:"password_last_changed_at,optional,timestamp(microsecond:local)"`
	IsMFAActive           bool       `parquet:"is_mfa_active"`
	IsAccessKey1Active    bool       `parquet:"is_access_key_1_active"`
	AccessKey1LastRotated *time.Time `parquet:"access_key_1_last_rotated_at,optional,timestamp(microsecond:local)"`
	AccessKey1LastUsedAt  *time.Time `parquet:"access_key_1_last_used_at,optional,timestamp(microsecond:local)"`
	AccessKey1LastService *string    `parquet:"access_key_1_last_used_service,optional"`
	IsAccessKey2Active    bool       `parquet:"is_access_key_2_active"`
	AccessKey2LastRotated *time.Time `parquet:"access_key_2_last_rotated_at,optional,timestamp(microsecond:local)"`
	AccessKey2LastUsedAt  *time.Time `parquet:"access_key_2_last_used_at,optional,timestamp(microsecond:local)"`
	AccessKey2LastService *string    `parquet:"access_key_2_last_used_service,optional"`
	SnapshotAt            time.Time  `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID                 string     `parquet:"_run_id"`
	SourceKey             string     `parquet:"_source_key"`
}

// IAMCredentialReport is the aws_iam_credential_report table.
var IAMCredentialReport = newTable("aws_iam_credential_report", "The IAM credential report: passwords and access keys with their last use.",
	"one row per user (and the root user) per snapshot", IAMCredential{}, []string{"arn"}, snapshot(map[string]string{
		"user":                           "user column ('<root_account>' for the root user).",
		"arn":                            "User ARN (arn:aws:iam::<acct>:root for the root user).",
		"user_created_at":                "user_creation_time.",
		"is_password_enabled":            "password_enabled (NULL when not_supported, for root).",
		"password_last_used_at":          "password_last_used; NULL for N/A or no_information.",
		"password_last_changed_at":       "password_last_changed; NULL for N/A or not_supported.",
		"is_mfa_active":                  "mfa_active.",
		"is_access_key_1_active":         "access_key_1_active.",
		"access_key_1_last_rotated_at":   "access_key_1_last_rotated.",
		"access_key_1_last_used_at":      "access_key_1_last_used_date; NULL when never used.",
		"access_key_1_last_used_service": "access_key_1_last_used_service.",
		"is_access_key_2_active":         "access_key_2_active.",
		"access_key_2_last_rotated_at":   "access_key_2_last_rotated.",
		"access_key_2_last_used_at":      "access_key_2_last_used_date; NULL when never used.",
		"access_key_2_last_used_service": "access_key_2_last_used_service.",
	}))
