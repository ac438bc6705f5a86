package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newAccountsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "accounts",
		Short: "List the accounts and Azure subscriptions a run would collect, and how (sources, roles)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			if _, err := resolveAccounts(cmd.Context(), c, nil); err != nil {
				return withCode(exitUsage, err)
			}
			iam := "none"
			switch {
			case c.AWS.IAMSnapshots.URL != "":
				iam = "exported snapshots " + c.AWS.IAMSnapshots.URL
			case c.AWS.MemberRole.Name != "":
				iam = "IAM API as role/" + c.AWS.MemberRole.Name
			}
			trail := "none"
			if c.AWS.Trail.URL != "" {
				trail = c.AWS.Trail.URL
				if c.AWS.Trail.Role.ARN != "" {
					trail += " as " + c.AWS.Trail.Role.ARN
				}
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tNAME\tENTITLEMENTS\tCLOUDTRAIL")
			for _, ac := range c.AWS.Accounts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ac.ID, ac.Name, iam, trail)
			}
			az, err := openAzure(cmd.Context(), c)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if az != nil {
				defer az.close()
				subs, err := az.src.Subscriptions(cmd.Context())
				if err != nil {
					return withCode(exitFailed, fmt.Errorf("azure subscriptions: %w", err))
				}
				ent := "ARM and Graph APIs"
				if c.Azure.Snapshots.URL != "" {
					ent = "offline snapshots " + c.Azure.Snapshots.URL
				}
				logs := "none"
				if c.Azure.Logs.URL != "" {
					logs = "exports " + c.Azure.Logs.URL
				}
				for _, s := range subs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.DisplayName, ent+" (tenant "+s.TenantID+")", logs)
				}
			}
			return tw.Flush()
		},
	}
}
