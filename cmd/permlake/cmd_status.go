package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// statusReport is what `permlake status --json` prints.
type statusReport struct {
	Now      time.Time         `json:"now"`
	Accounts []statusAccount   `json:"accounts"`
	Runs     []statusRunResult `json:"runs"`
	// Quarantined lists the quarantined source objects delivered in the days looked at,
	// acknowledged or not (permlake quarantine).
	Quarantined []quarantinedObject `json:"quarantined"`
}

type statusAccount struct {
	Cloud       string     `json:"cloud"`
	ID          string     `json:"id"`
	LastHour    *time.Time `json:"last_hour"` // nil: no committed hour in the days looked at
	HoursBehind *int       `json:"hours_behind"`
	RunID       string     `json:"run_id,omitempty"`
}

type statusRunResult struct {
	RunID      string    `json:"run_id"`
	Command    string    `json:"command"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Hours      string    `json:"hours"`
	ExitCode   int       `json:"exit_code"`
	Failed     []string  `json:"failed,omitempty"`
}

func newStatusCmd(a *app) *cobra.Command {
	var days, runs int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show how fresh the lake is per account and hour, and the last runs",
		Long: `status reads the lake's success markers (_manifests/success/date=…/hour=…/, written when an
account's or subscription's hour was fully committed) and run manifests, and prints the latest
committed hour of every account, subscription and tenant with how many hours it is behind the last
closed hour, then the last runs with their exit codes and failed accounts, then the quarantined
source objects (see permlake quarantine). Configured AWS accounts that have no committed hour in
the days looked at are listed as never.` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			if days <= 0 || runs < 0 {
				return withCode(exitUsage, fmt.Errorf("--days must be positive and --runs not negative"))
			}
			lake, err := openLake(cmd.Context(), c)
			if err != nil {
				return withCode(exitUsage, err)
			}
			defer lake.Close()
			now := a.now().UTC()
			fresh, err := lake.Freshness(cmd.Context(), now, days)
			if err != nil {
				return withCode(exitFailed, err)
			}
			rep := statusReport{Now: now}
			closed := now.Truncate(time.Hour).Add(-time.Hour)
			seen := map[string]bool{}
			for _, f := range fresh {
				h := f.LastHour
				behind := int(closed.Sub(h) / time.Hour)
				rep.Accounts = append(rep.Accounts, statusAccount{Cloud: f.Cloud, ID: f.ID, LastHour: &h, HoursBehind: &behind, RunID: f.RunID})
				seen[f.Cloud+"/"+f.ID] = true
			}
			for _, ac := range c.AWS.Accounts {
				if !seen["aws/"+ac.ID] {
					rep.Accounts = append(rep.Accounts, statusAccount{Cloud: "aws", ID: ac.ID})
				}
			}
			ms, err := lake.RecentRuns(cmd.Context(), runs)
			if err != nil {
				return withCode(exitFailed, err)
			}
			for _, m := range ms {
				r := statusRunResult{RunID: m.RunID, Command: m.Command, StartedAt: m.StartedAt, FinishedAt: m.FinishedAt, ExitCode: m.ExitCode}
				if n := len(m.Hours); n > 0 {
					r.Hours = m.Hours[0]
					if n > 1 {
						r.Hours += ".." + m.Hours[n-1]
					}
				}
				for _, o := range m.Accounts {
					if o.Status != "ok" {
						r.Failed = append(r.Failed, o.AccountID)
					}
				}
				rep.Runs = append(rep.Runs, r)
			}
			q, err := quarantinedSince(cmd, lake, now, days)
			if err != nil {
				return err
			}
			rep.Quarantined = quarantineView(q)
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CLOUD\tACCOUNT\tLAST COMMITTED HOUR\tHOURS BEHIND\tRUN")
			for _, ac := range rep.Accounts {
				if ac.LastHour == nil {
					fmt.Fprintf(tw, "%s\t%s\tnever (last %d days)\t-\t-\n", ac.Cloud, ac.ID, days)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", ac.Cloud, ac.ID, ac.LastHour.Format("2006-01-02T15"), *ac.HoursBehind, ac.RunID)
			}
			fmt.Fprintln(tw, "\nRUN\tCOMMAND\tSTARTED\tHOURS\tEXIT\tFAILED")
			for _, r := range rep.Runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.RunID, r.Command, r.StartedAt.Format(time.RFC3339), r.Hours, r.ExitCode, strings.Join(r.Failed, ","))
			}
			if len(rep.Quarantined) > 0 {
				fmt.Fprintln(tw, "\nQUARANTINED OBJECTS (acknowledge with: permlake quarantine ack)")
				printQuarantined(tw, rep.Quarantined)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&days, "days", 7, "how many days of success markers and quarantined objects to look at")
	cmd.Flags().IntVar(&runs, "runs", 5, "how many of the last runs to show")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
