package schemas

import "time"

// Organization tables are hourly snapshots of the organization read through the management
// account: partitioned by the management account's ID and the snapshot hour. Service control
// policies narrow what every member account's identities are granted.

// OrgAccount is one row of aws_organizations_accounts: an ACTIVE account of the organization and
// where it sits in the OU tree.
type OrgAccount struct {
	MemberAccountID     string    `parquet:"member_account_id"`
	Name                string    `parquet:"name"`
	OrganizationID      string    `parquet:"organization_id"`
	OUPath              string    `parquet:"ou_path"`
	ParentIDs           []string  `parquet:"parent_ids,list"`
	IsManagementAccount bool      `parquet:"is_management_account"`
	SnapshotAt          time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID               string    `parquet:"_run_id"`
	SourceKey           string    `parquet:"_source_key"`
}

// OrgAccounts is the aws_organizations_accounts table.
var OrgAccounts = newTable("aws_organizations_accounts", "ACTIVE accounts of the organization (Organizations ListAccounts, ListParents), read through the management account.",
	"one row per member account per snapshot", OrgAccount{}, []string{"member_account_id"}, snapshot(map[string]string{
		"member_account_id":     "12-digit ID of the organization's account (the partition's account_id is the management account's).",
		"name":                  "Account name.",
		"organization_id":       "Organization ID (o-…).",
		"ou_path":               "Names from the root down to the account's OU, e.g. /Root/Workloads/Prod.",
		"parent_ids":            "Root and OU IDs above the account, root first: the levels whose SCPs apply to it.",
		"is_management_account": "True for the management account, which SCPs never restrict.",
	}))

// OrgPolicy is one row of aws_organizations_policies: a service control policy and what it is
// attached to.
type OrgPolicy struct {
	ARN          string    `parquet:"arn"`
	PolicyID     string    `parquet:"policy_id"`
	PolicyName   string    `parquet:"policy_name"`
	Description  *string   `parquet:"description,optional"`
	IsAWSManaged bool      `parquet:"is_aws_managed"`
	Document     string    `parquet:"document"`
	TargetIDs    []string  `parquet:"target_ids,list"`
	SnapshotAt   time.Time `parquet:"snapshot_at,timestamp(microsecond:local)"`
	RunID        string    `parquet:"_run_id"`
	SourceKey    string    `parquet:"_source_key"`
}

// OrgPolicies is the aws_organizations_policies table.
var OrgPolicies = newTable("aws_organizations_policies", "Service control policies (ListPolicies, DescribePolicy) with their targets (ListTargetsForPolicy).",
	"one row per service control policy per snapshot", OrgPolicy{}, []string{"arn"}, snapshot(map[string]string{
		"arn":            "Policy ARN (arn:aws:organizations::<management>:policy/o-…/service_control_policy/p-…).",
		"policy_id":      "Policy ID (p-…).",
		"policy_name":    "Policy name (FullAWSAccess for the AWS managed default).",
		"description":    "Policy description, when set.",
		"is_aws_managed": "True for AWS managed SCPs.",
		"document":       "The policy document, JSON text.",
		"target_ids":     "Root (r-…), OU (ou-…) and account IDs the policy is attached to.",
	}))

// OrgPolicyStatements is the aws_organizations_policy_statements table: the statements of every
// service control policy, normalised like aws_iam_policy_statements (policy_key is the SCP's ARN).
var OrgPolicyStatements = newTable("aws_organizations_policy_statements", "Statements of every service control policy, normalised.",
	"one row per (policy_key, statement_index) per snapshot", IAMPolicyStatement{}, []string{"policy_key", "statement_index"}, snapshot(statementDocs(
		"The SCP's ARN (aws_organizations_policies.arn).",
		"Condition block as JSON text; a conditional SCP statement narrows or allows conditionally.")))
