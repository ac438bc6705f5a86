package demo

import (
	"path/filepath"
	"slices"
)

// The organization's tree and service control policies, as Organizations reports them, in the
// JSON form extract/aws.OrgSnapshotFile reads: the management account under the root, the
// log-archive account in Security, the first two members in Workloads/Prod and the others in
// Sandbox. Every SCP here denies only actions the demo never uses successfully, so the ground
// truth of use is unchanged; SCPDenied in the ground truth lists what they take away.
const (
	demoRootID     = "r-pl7d"
	ouSecurity     = "ou-pl7d-5ecur1ty"
	ouWorkloads    = "ou-pl7d-w0rk1oad"
	ouProd         = "ou-pl7d-pr0d0001"
	ouSandbox      = "ou-pl7d-5andb0x1"
	scpFullAccess  = "p-FullAWSAccess"
	scpGuardrails  = "p-gu4rdra11s"
	scpSandbox     = "p-5andb0x0001"
	fullAWSAccess  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	guardrailsDoc  = `{"Version":"2012-10-17","Statement":[{"Sid":"ProtectAuditTrail","Effect":"Deny","Action":["cloudtrail:StopLogging","cloudtrail:DeleteTrail"],"Resource":"*"},{"Sid":"StayInOrganization","Effect":"Deny","Action":["organizations:LeaveOrganization","account:CloseAccount"],"Resource":"*"}]}`
	sandboxDoc     = `{"Version":"2012-10-17","Statement":[{"Sid":"NoLongLivedCredentials","Effect":"Deny","Action":["iam:CreateUser","iam:CreateAccessKey","iam:CreateLoginProfile"],"Resource":"*"},{"Sid":"ApprovedRegionsOnly","Effect":"Deny","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}]}`
	orgPolicyARNPf = "arn:aws:organizations::111122223333:policy/"
)

// guardrailActions and sandboxActions are what the SCPs deny unconditionally (the conditional
// region deny removes nothing).
var (
	guardrailActions = []string{"account:CloseAccount", "cloudtrail:DeleteTrail", "cloudtrail:StopLogging", "organizations:LeaveOrganization"}
	sandboxActions   = []string{"iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateUser"}
)

type orgSnapshotAccount struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	OUPath    string   `json:"ou_path"`
	ParentIDs []string `json:"parent_ids"`
}

type orgSnapshotTarget struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

type orgSnapshotPolicy struct {
	ID          string              `json:"id"`
	ARN         string              `json:"arn"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	AWSManaged  bool                `json:"aws_managed"`
	Content     string              `json:"content"`
	Targets     []orgSnapshotTarget `json:"targets"`
}

type orgSnapshot struct {
	OrganizationID      string               `json:"organization_id"`
	ManagementAccountID string               `json:"management_account_id"`
	Accounts            []orgSnapshotAccount `json:"accounts"`
	Policies            []orgSnapshotPolicy  `json:"policies"`
}

// AccountAction is an action in an account, for SCPDenied.
type AccountAction struct {
	AccountID string `json:"account_id"`
	Action    string `json:"action"`
}

// placement returns the account's OU path and parent IDs, root first.
func (g *generator) placement(a Account, member int) (string, []string) {
	switch {
	case a.Kind == KindManagement:
		return "/Root", []string{demoRootID}
	case a.Kind == KindLogArchive:
		return "/Root/Security", []string{demoRootID, ouSecurity}
	case member < 2:
		return "/Root/Workloads/Prod", []string{demoRootID, ouWorkloads, ouProd}
	}
	return "/Root/Sandbox", []string{demoRootID, ouSandbox}
}

// organizationSnapshot lays out the tree and SCPs, and what the SCPs deny in which account.
func (g *generator) organizationSnapshot() (orgSnapshot, []AccountAction) {
	snap := orgSnapshot{OrganizationID: g.org.OrganizationID, ManagementAccountID: g.org.ManagementAccountID}
	full := orgSnapshotPolicy{ID: scpFullAccess, Name: "FullAWSAccess", AWSManaged: true, Content: fullAWSAccess,
		Description: "Allows access to every operation"}
	full.Targets = []orgSnapshotTarget{{demoRootID, "ROOT", "Root"}, {ouSecurity, "ORGANIZATIONAL_UNIT", "Security"},
		{ouWorkloads, "ORGANIZATIONAL_UNIT", "Workloads"}, {ouProd, "ORGANIZATIONAL_UNIT", "Prod"}, {ouSandbox, "ORGANIZATIONAL_UNIT", "Sandbox"}}
	var denied []AccountAction
	member := 0
	for _, a := range g.org.Accounts {
		path, parents := g.placement(a, member)
		if a.Kind == KindMember {
			member++
		}
		snap.Accounts = append(snap.Accounts, orgSnapshotAccount{ID: a.ID, Name: a.Name, OUPath: path, ParentIDs: parents})
		full.Targets = append(full.Targets, orgSnapshotTarget{a.ID, "ACCOUNT", a.Name})
		if a.Kind == KindManagement {
			continue // SCPs never restrict the management account
		}
		for _, act := range guardrailActions {
			denied = append(denied, AccountAction{a.ID, act})
		}
		if slices.Contains(parents, ouSandbox) {
			for _, act := range sandboxActions {
				denied = append(denied, AccountAction{a.ID, act})
			}
		}
	}
	slices.SortFunc(full.Targets, func(x, y orgSnapshotTarget) int { return compareStrings(x.ID, y.ID) })
	pfx := orgPolicyARNPf + g.org.OrganizationID + "/service_control_policy/"
	full.ARN = pfx + scpFullAccess
	snap.Policies = []orgSnapshotPolicy{
		full,
		{ID: scpGuardrails, ARN: pfx + scpGuardrails, Name: "guardrails", Description: "Keep CloudTrail on and accounts in the organization",
			Content: guardrailsDoc, Targets: []orgSnapshotTarget{{demoRootID, "ROOT", "Root"}}},
		{ID: scpSandbox, ARN: pfx + scpSandbox, Name: "sandbox", Description: "No IAM users or keys in sandboxes; approved regions only",
			Content: sandboxDoc, Targets: []orgSnapshotTarget{{ouSandbox, "ORGANIZATIONAL_UNIT", "Sandbox"}}},
	}
	slices.SortFunc(denied, func(x, y AccountAction) int {
		if c := compareStrings(x.AccountID, y.AccountID); c != 0 {
			return c
		}
		return compareStrings(x.Action, y.Action)
	})
	return snap, denied
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeOrganization writes organization/organization.json.
func (g *generator) writeOrganization() error {
	snap, _ := g.organizationSnapshot()
	return writeJSON(filepath.Join(g.dir, "organization", "organization.json"), snap)
}
