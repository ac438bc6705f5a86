package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/permlake/permlake/extract/aws"
	"github.com/permlake/permlake/extract/azure"
)

func newCheckCmd(a *app) *cobra.Command {
	var accounts []string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Try every hop and read the pipeline needs, per account, and print what works and what is missing",
		Long: `check assumes each role the configuration names and tries each read a run makes: the member
role and the IAM calls of a snapshot (GetAccountAuthorizationDetails, GenerateCredentialReport),
a listing of the account's CloudTrail folder through the trail bucket's role, and, with an
organization role, the Organizations reads of account discovery and service control policies
(DescribeOrganization, ListAccounts, ListParents, ListPolicies, DescribePolicy,
ListTargetsForPolicy), and for each Azure subscription reached through the APIs, the token, the
role definition, role assignment and provider operations reads and the Graph directory reads. It
prints one
line per check and exits 1 when anything is missing, naming the permission and the error.` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			accts, err := resolveAccounts(cmd.Context(), c, accounts)
			if err != nil {
				return withCode(exitUsage, err)
			}
			checks, err := runChecks(cmd.Context(), c, accountIDs(accts))
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tCHECK\tRESULT\tDETAIL")
			missing := 0
			for _, ch := range checks {
				result := "ok"
				if !ch.OK {
					result, missing = "MISSING", missing+1
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.AccountID, ch.What, result, ch.Detail)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if missing > 0 {
				return withCode(exitFailed, fmt.Errorf("%d of %d checks failed", missing, len(checks)))
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&accounts, "accounts", nil, "only these account IDs (comma-separated)")
	return cmd
}

func accountIDs[T interface{ GetID() string }](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.GetID()
	}
	return out
}

// runChecks tries the configured sources for every account.
func runChecks(ctx context.Context, c *Config, accounts []string) ([]aws.Check, error) {
	var trail *aws.Trail
	var checks []aws.Check
	if c.AWS.Trail.URL != "" {
		b, err := openBucket(ctx, c.AWS.Trail.URL, c.AWS.Trail.Role, c.AWS)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("aws.trail.url: %w", err))
		}
		defer b.Close()
		trail = &aws.Trail{Bucket: b, Prefix: c.AWS.Trail.Prefix, OrganizationID: c.AWS.Trail.OrganizationID}
	}
	if qc := c.AWS.Trail.Queue; qc.URL != "" {
		q, topics, err := openQueue(ctx, c)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("aws.trail.queue: %w", err))
		}
		checks = append(checks, q.Check(ctx, "queue", topics, qc.TopicARN)...)
	}
	var api *aws.IAMAPI
	if c.AWS.IAMSnapshots.URL == "" && c.AWS.MemberRole.Name != "" {
		api = memberIAM(c)
	}
	if c.AWS.Organization.Role.ARN != "" {
		org, err := organization(ctx, c)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("aws.organization.role: %w", err))
		}
		checks = append(checks, org.Check(ctx)...)
	}
	for _, id := range accounts {
		if api != nil {
			checks = append(checks, api.Check(ctx, id)...)
		}
		if trail != nil {
			checks = append(checks, trail.Check(ctx, id))
		}
	}
	az, err := azureChecks(ctx, c)
	if err != nil {
		return nil, err
	}
	return append(checks, az...), nil
}

// azureChecks tries, for every selected subscription reached through the APIs, each ARM and
// Graph read a run makes (extract/azure.API.Check), as rows of the same table.
func azureChecks(ctx context.Context, c *Config) ([]aws.Check, error) {
	az, err := openAzure(ctx, c)
	if err != nil || az == nil {
		return nil, withCode(exitUsage, err)
	}
	defer az.close()
	api, ok := az.src.(*azure.API)
	if !ok {
		return nil, nil // offline snapshots: nothing to reach
	}
	subs, err := api.Subscriptions(ctx)
	if err != nil {
		return []aws.Check{{AccountID: "azure", What: "Microsoft.Resources/subscriptions/read", Detail: err.Error()}}, nil
	}
	var out []aws.Check
	for _, s := range subs {
		for _, ch := range api.Check(ctx, s.ID) {
			out = append(out, aws.Check{AccountID: ch.SubscriptionID, What: ch.What, OK: ch.OK, Detail: ch.Detail})
		}
	}
	return out, nil
}
