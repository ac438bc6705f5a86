package transform

import (
	"fmt"
	"sort"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// OrgSnapshot holds the rows of one organization snapshot: its accounts, service control
// policies and their statements.
type OrgSnapshot struct {
	ManagementAccountID string
	Accounts            []schemas.OrgAccount
	Policies            []schemas.OrgPolicy
	Statements          []schemas.IAMPolicyStatement
}

// orgDoc is the organization snapshot's JSON form (extract/aws.OrgSnapshot: the API's data, or an
// exported organization.json).
type orgDoc struct {
	OrganizationID      string `json:"organization_id"`
	ManagementAccountID string `json:"management_account_id"`
	Accounts            []struct {
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		OUPath    string   `json:"ou_path"`
		ParentIDs []string `json:"parent_ids"`
	} `json:"accounts"`
	Policies []struct {
		ID          string `json:"id"`
		ARN         string `json:"arn"`
		Name        string `json:"name"`
		Description string `json:"description"`
		AWSManaged  bool   `json:"aws_managed"`
		Content     string `json:"content"`
		Targets     []struct {
			ID string `json:"id"`
		} `json:"targets"`
	} `json:"policies"`
}

// Organization turns an organization snapshot (its JSON form) into rows. meta.AccountID must be
// the management account: the rows land in its partition. A policy whose document cannot be
// parsed is an error naming it: an SCP read wrongly would misstate every account's grants.
func Organization(doc []byte, meta SnapshotMeta) (*OrgSnapshot, error) {
	var d orgDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("organization snapshot: %w", err)
	}
	if d.ManagementAccountID != meta.AccountID {
		return nil, fmt.Errorf("organization snapshot: management account %q, want %q", d.ManagementAccountID, meta.AccountID)
	}
	out := &OrgSnapshot{ManagementAccountID: d.ManagementAccountID}
	for _, a := range d.Accounts {
		out.Accounts = append(out.Accounts, schemas.OrgAccount{
			MemberAccountID: a.ID, Name: a.Name, OrganizationID: d.OrganizationID, OUPath: a.OUPath,
			ParentIDs: nonNil(a.ParentIDs), IsManagementAccount: a.ID == d.ManagementAccountID,
			SnapshotAt: meta.SnapshotAt, RunID: meta.RunID, SourceKey: meta.SourceKey,
		})
	}
	base := schemas.IAMPolicyStatement{SnapshotAt: meta.SnapshotAt, RunID: meta.RunID, SourceKey: meta.SourceKey}
	for _, p := range d.Policies {
		text, err := DecodePolicyDocument(p.Content)
		if err != nil {
			return nil, fmt.Errorf("service control policy %s (%s): %w", p.ID, p.Name, err)
		}
		sts, err := PolicyStatements(p.ARN, text, base)
		if err != nil {
			return nil, fmt.Errorf("service control policy %s (%s): %w", p.ID, p.Name, err)
		}
		out.Statements = append(out.Statements, sts...)
		targets := make([]string, 0, len(p.Targets))
		for _, t := range p.Targets {
			targets = append(targets, t.ID)
		}
		sort.Strings(targets)
		out.Policies = append(out.Policies, schemas.OrgPolicy{
			ARN: p.ARN, PolicyID: p.ID, PolicyName: p.Name, Description: opt(p.Description), IsAWSManaged: p.AWSManaged,
			Document: text, TargetIDs: targets, SnapshotAt: meta.SnapshotAt, RunID: meta.RunID, SourceKey: meta.SourceKey,
		})
	}
	sort.Slice(out.Accounts, func(i, j int) bool { return out.Accounts[i].MemberAccountID < out.Accounts[j].MemberAccountID })
	sort.Slice(out.Policies, func(i, j int) bool { return out.Policies[i].ARN < out.Policies[j].ARN })
	sort.Slice(out.Statements, func(i, j int) bool {
		a, b := out.Statements[i], out.Statements[j]
		return a.PolicyKey < b.PolicyKey || a.PolicyKey == b.PolicyKey && a.StatementIndex < b.StatementIndex
	})
	return out, nil
}
