package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// scopeRow is one account or subscription a run would collect, for --json.
type scopeRow struct {
	Cloud        string `json:"cloud"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	TenantID     string `json:"tenant_id,omitempty"`
	Entitlements string `json:"entitlements"`
	Activity     string `json:"activity"`
}

func newAccountsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
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
			var rows []scopeRow
			for _, ac := range c.AWS.Accounts {
				rows = append(rows, scopeRow{Cloud: "aws", ID: ac.ID, Name: ac.Name, Entitlements: iam, Activity: trail})
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
					rows = append(rows, scopeRow{Cloud: "azure", ID: s.ID, Name: s.DisplayName, TenantID: s.TenantID, Entitlements: ent, Activity: logs})
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tNAME\tENTITLEMENTS\tACTIVITY")
			for _, r := range rows {
				ent := r.Entitlements
				if r.TenantID != "" {
					ent += " (tenant " + r.TenantID + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Name, ent, r.Activity)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of {cloud, id, name, tenant_id, entitlements, activity} (for schedulers)")
	return cmd
}
