package aws

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	json "github.com/goccy/go-json"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/extract"
)

// OrgSnapshot is the organization's structure and service control policies at one time: what
// narrows every member account's grants. Its JSON form is also the export file format
// (OrgSnapshotFile).
type OrgSnapshot struct {
	OrganizationID      string       `json:"organization_id"`
	ManagementAccountID string       `json:"management_account_id"`
	Accounts            []OrgAccount `json:"accounts"` // every ACTIVE account, unfiltered
	Policies            []OrgPolicy  `json:"policies"` // service control policies
	SourceKey           string       `json:"-"`        // where it was read from, for lineage
}

// OrgPolicy is one service control policy with the roots, OUs and accounts it is attached to.
type OrgPolicy struct {
	ID          string         `json:"id"`
	ARN         string         `json:"arn"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	AWSManaged  bool           `json:"aws_managed"`
	Content     string         `json:"content"` // the policy document, JSON text as DescribePolicy returns it
	Targets     []PolicyTarget `json:"targets"`
}

// PolicyTarget is a root, OU or account a policy is attached to.
type PolicyTarget struct {
	ID   string `json:"id"`
	Type string `json:"type"` // ROOT, ORGANIZATIONAL_UNIT or ACCOUNT
	Name string `json:"name"`
}

// OrgSource yields organization snapshots.
type OrgSource interface {
	// OrgSnapshot returns the organization's current structure and service control policies.
	OrgSnapshot(ctx context.Context) (*OrgSnapshot, error)
}

// OrgSnapshot implements OrgSource through the management account's organization reader role:
// DescribeOrganization, ListAccounts with ListParents (every ACTIVE account and its parents),
// ListPolicies(SERVICE_CONTROL_POLICY), DescribePolicy and ListTargetsForPolicy, every page.
// Include/Exclude do not apply: the SCPs of every account are kept, whichever are collected.
func (o *Organization) OrgSnapshot(ctx context.Context) (*OrgSnapshot, error) {
	c := o.client()
	org, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("organizations:DescribeOrganization: %w", err)
	}
	snap := &OrgSnapshot{SourceKey: "organizations:" + o.Endpoint}
	if o.Endpoint == "" {
		snap.SourceKey = "organizations:api"
	}
	if org.Organization != nil {
		snap.OrganizationID = sdkaws.ToString(org.Organization.Id)
		snap.ManagementAccountID = sdkaws.ToString(org.Organization.MasterAccountId)
	}
	if snap.Accounts, err = listAccounts(ctx, c); err != nil {
		return nil, err
	}
	p := organizations.NewListPoliciesPaginator(c, &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("organizations:ListPolicies: %w", err)
		}
		for _, sum := range page.Policies {
			pol, err := describePolicy(ctx, c, sdkaws.ToString(sum.Id))
			if err != nil {
				return nil, err
			}
			snap.Policies = append(snap.Policies, pol)
		}
	}
	return snap, snap.Validate()
}

func describePolicy(ctx context.Context, c *organizations.Client, id string) (OrgPolicy, error) {
	out, err := c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: sdkaws.String(id)})
	if err != nil {
		return OrgPolicy{}, fmt.Errorf("organizations:DescribePolicy %s: %w", id, err)
	}
	pol := OrgPolicy{ID: id}
	if out.Policy != nil {
		pol.Content = sdkaws.ToString(out.Policy.Content)
		if s := out.Policy.PolicySummary; s != nil {
			pol.ARN, pol.Name, pol.Description = sdkaws.ToString(s.Arn), sdkaws.ToString(s.Name), sdkaws.ToString(s.Description)
			pol.AWSManaged = s.AwsManaged
		}
	}
	tp := organizations.NewListTargetsForPolicyPaginator(c, &organizations.ListTargetsForPolicyInput{PolicyId: sdkaws.String(id)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return OrgPolicy{}, fmt.Errorf("organizations:ListTargetsForPolicy %s: %w", id, err)
		}
		for _, t := range page.Targets {
			pol.Targets = append(pol.Targets, PolicyTarget{ID: sdkaws.ToString(t.TargetId), Type: string(t.Type), Name: sdkaws.ToString(t.Name)})
		}
	}
	sort.Slice(pol.Targets, func(i, j int) bool { return pol.Targets[i].ID < pol.Targets[j].ID })
	return pol, nil
}

// Validate checks the IDs a snapshot carries before they reach lake paths, and that each policy
// has a document.
func (s *OrgSnapshot) Validate() error {
	if err := extract.ValidateAccountID(s.ManagementAccountID); err != nil {
		return fmt.Errorf("organization snapshot: management account: %w", err)
	}
	if !orgIDPattern.MatchString(s.OrganizationID) {
		return fmt.Errorf("organization snapshot: invalid organization ID %q", s.OrganizationID)
	}
	for _, a := range s.Accounts {
		if err := extract.ValidateAccountID(a.ID); err != nil {
			return fmt.Errorf("organization snapshot: %w", err)
		}
		if len(a.ParentIDs) == 0 {
			return fmt.Errorf("organization snapshot: account %s has no parent IDs", a.ID)
		}
	}
	for _, p := range s.Policies {
		if p.ID == "" || p.ARN == "" {
			return fmt.Errorf("organization snapshot: policy %q has no ID or ARN", p.Name)
		}
		if strings.TrimSpace(p.Content) == "" {
			return fmt.Errorf("organization snapshot: policy %s has no content", p.ID)
		}
	}
	return nil
}

// OrgSnapshotFile reads an organization snapshot exported as one JSON object (OrgSnapshot's
// JSON form) at <Prefix>/organization.json. The demo organization is written this way.
type OrgSnapshotFile struct {
	Bucket *blob.Bucket
	Prefix string
}

// OrgSnapshot implements OrgSource.
func (f *OrgSnapshotFile) OrgSnapshot(ctx context.Context) (*OrgSnapshot, error) {
	key := strings.TrimPrefix(path.Join(strings.Trim(f.Prefix, "/"), "organization.json"), "/")
	b, err := f.Bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	var snap OrgSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(snap.Accounts) == 0 {
		return nil, errors.New(key + ": no accounts")
	}
	snap.SourceKey = key
	if err := snap.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &snap, nil
}
