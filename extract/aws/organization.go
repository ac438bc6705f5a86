package aws

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/permlake/permlake/extract"
)

// OrgAccount is an account discovered in the organization.
type OrgAccount struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	OUPath string `json:"ou_path"` // "/Root/Workloads/Prod"
	// ParentIDs are the root and OU IDs above the account, root first ("r-ab12", "ou-ab12-…"):
	// the levels whose service control policies apply to it.
	ParentIDs []string `json:"parent_ids"`
}

// Organization discovers accounts through the management account's organization reader role.
type Organization struct {
	Config   sdkaws.Config
	Endpoint string
	Include  []string // account IDs or OU path prefixes ("/Root/Workloads"); empty: all
	Exclude  []string // account IDs or OU path prefixes
}

// Accounts lists the organization's ACTIVE accounts (ListAccounts, every page) with their OU
// path, filtered by Include/Exclude, sorted by ID. Suspended, closed and pending accounts are
// skipped: they cannot be read.
func (o *Organization) Accounts(ctx context.Context) ([]OrgAccount, error) {
	all, err := listAccounts(ctx, o.client())
	if err != nil {
		return nil, err
	}
	var out []OrgAccount
	for _, a := range all {
		if o.selected(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (o *Organization) client() *organizations.Client {
	return organizations.NewFromConfig(o.Config, func(opt *organizations.Options) {
		if o.Endpoint != "" {
			opt.BaseEndpoint = sdkaws.String(o.Endpoint)
		}
	})
}

// listAccounts lists every ACTIVE account with its OU path and parents, sorted by ID.
func listAccounts(ctx context.Context, client *organizations.Client) ([]OrgAccount, error) {
	names := map[string]string{} // OU or root ID → name
	var out []OrgAccount
	p := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("organizations:ListAccounts: %w", err)
		}
		for _, a := range page.Accounts {
			id := sdkaws.ToString(a.Id)
			// State replaces the deprecated Status (removed from responses in September 2026).
			active := a.State == types.AccountStateActive || (a.State == "" && a.Status == types.AccountStatusActive)
			if !active {
				continue
			}
			if err := extract.ValidateAccountID(id); err != nil {
				return nil, fmt.Errorf("organizations:ListAccounts: %w", err)
			}
			ou, parents, err := ouPath(ctx, client, id, names)
			if err != nil {
				return nil, err
			}
			out = append(out, OrgAccount{ID: id, Name: sdkaws.ToString(a.Name), OUPath: ou, ParentIDs: parents})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (o *Organization) selected(a OrgAccount) bool {
	match := func(rules []string) bool {
		for _, r := range rules {
			if r == a.ID || strings.HasPrefix(r, "/") && (a.OUPath == r || strings.HasPrefix(a.OUPath, strings.TrimSuffix(r, "/")+"/")) {
				return true
			}
		}
		return false
	}
	return (len(o.Include) == 0 || match(o.Include)) && !match(o.Exclude)
}

type orgAPI interface {
	ListParents(context.Context, *organizations.ListParentsInput, ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
	DescribeOrganizationalUnit(context.Context, *organizations.DescribeOrganizationalUnitInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationalUnitOutput, error)
}

// ouPath walks ListParents up to the root, naming each OU once (names caches them). It returns the
// path of names and the parent IDs, root first.
func ouPath(ctx context.Context, c orgAPI, child string, names map[string]string) (string, []string, error) {
	var parts, ids []string
	for depth := 0; depth < 10; depth++ { // Organizations allows 5 levels of OUs below the root
		out, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: sdkaws.String(child)})
		if err != nil {
			return "", nil, fmt.Errorf("organizations:ListParents %s: %w", child, err)
		}
		if len(out.Parents) == 0 {
			break
		}
		parent := out.Parents[0]
		id := sdkaws.ToString(parent.Id)
		ids = append(ids, id)
		if parent.Type == types.ParentTypeRoot {
			parts = append(parts, "Root")
			break
		}
		name, ok := names[id]
		if !ok {
			ou, err := c.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: sdkaws.String(id)})
			if err != nil {
				return "", nil, fmt.Errorf("organizations:DescribeOrganizationalUnit %s: %w", id, err)
			}
			name = sdkaws.ToString(ou.OrganizationalUnit.Name)
			names[id] = name
		}
		parts = append(parts, name)
		child = id
	}
	slices.Reverse(parts)
	slices.Reverse(ids)
	return path.Join(append([]string{"/"}, parts...)...), ids, nil
}
