package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/permlake/permlake/load"
)

// quarantinedObject is one quarantined source object as `permlake quarantine --json` and
// `permlake status --json` print it.
type quarantinedObject struct {
	Source       string                `json:"source"`
	ScopeID      string                `json:"account_id"`
	Key          string                `json:"key"`
	ETag         string                `json:"etag"`
	DeliveredAt  time.Time             `json:"delivered_at"`
	Attempts     int                   `json:"attempts"`
	Error        string                `json:"error"`
	LastRunID    string                `json:"last_run_id"`
	Acknowledged *load.Acknowledgement `json:"acknowledged,omitempty"`
}

func quarantineView(objs []load.SourceObject) []quarantinedObject {
	out := make([]quarantinedObject, 0, len(objs))
	for _, o := range objs {
		out = append(out, quarantinedObject{Source: o.Source, ScopeID: o.AccountID, Key: o.Key, ETag: o.ETag, DeliveredAt: o.DeliveredAt.UTC(),
			Attempts: o.Attempts, Error: o.Error, LastRunID: o.RunID, Acknowledged: o.Acknowledged})
	}
	return out
}

// printQuarantined writes objs as a table.
func printQuarantined(tw *tabwriter.Writer, objs []quarantinedObject) {
	fmt.Fprintln(tw, "SOURCE\tACCOUNT\tDELIVERED\tATTEMPTS\tACKNOWLEDGED\tKEY\tERROR")
	for _, o := range objs {
		ack := "no"
		if o.Acknowledged != nil {
			ack = o.Acknowledged.At.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", o.Source, o.ScopeID, o.DeliveredAt.Format("2006-01-02T15:04Z"), o.Attempts, ack, o.Key, o.Error)
	}
}

func newQuarantineCmd(a *app) *cobra.Command {
	var days int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "List source objects skipped because they could not be read, and acknowledge them",
		Long: `A source object (a CloudTrail log file, an Azure export blob) whose current version could not be
read in ` + fmt.Sprint(load.MaxAttempts) + ` runs is quarantined: later runs skip it. Until an operator acknowledges it, every run
that skips it exits 3 (partial) and the hours it covers get no success marker, so a scheduler
never sees them as complete. A new version of the object (its ETag changes, e.g. the producer
rewrote it) is read again without any acknowledgement.

quarantine lists the quarantined objects delivered in the last --days days, acknowledged or not;
'quarantine ack' acknowledges some or all of them (the data in them is then accepted as lost).` + exitStatusHelp,
		Example: `  permlake quarantine
  permlake quarantine --json --days 30
  permlake quarantine ack --note "truncated by the producer, AWS case 1234" AWSLogs/…/111111111111_CloudTrail_us-east-1_20261122T0710Z_x.json.gz
  permlake quarantine ack --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lake, err := a.quarantineLake(cmd, days)
			if err != nil {
				return err
			}
			defer lake.Close()
			objs, err := quarantinedSince(cmd, lake, a.now(), days)
			if err != nil {
				return err
			}
			view := quarantineView(objs)
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(view)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			printQuarantined(tw, view)
			return tw.Flush()
		},
	}
	cmd.PersistentFlags().IntVar(&days, "days", 7, "look at objects delivered in this many days up to today")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(newQuarantineAckCmd(a, &days))
	return cmd
}

func newQuarantineAckCmd(a *app, days *int) *cobra.Command {
	var all bool
	var note, by string
	cmd := &cobra.Command{
		Use:   "ack [--all | KEY...]",
		Short: "Acknowledge quarantined objects: runs then skip them without reporting the hour partial",
		Long: `ack records, in the lake's ledger, that an operator accepts the named quarantined objects (their
current versions) as lost. Later runs skip them silently (logged at info level) and mark their
hours complete. A key that is not quarantined is an error and nothing is recorded. A new version
of an acknowledged object is read again as usual.` + exitStatusHelp,
		RunE: func(cmd *cobra.Command, keys []string) error {
			if all == (len(keys) > 0) {
				return withCode(exitUsage, fmt.Errorf("name the keys to acknowledge, or --all"))
			}
			lake, err := a.quarantineLake(cmd, *days)
			if err != nil {
				return err
			}
			defer lake.Close()
			objs, err := quarantinedSince(cmd, lake, a.now(), *days)
			if err != nil {
				return err
			}
			var pick []load.SourceObject
			byKey := map[string]load.SourceObject{}
			for _, o := range objs {
				if o.Acknowledged == nil {
					byKey[o.Key] = o
					if all {
						pick = append(pick, o)
					}
				}
			}
			for _, k := range keys {
				o, ok := byKey[k]
				if !ok {
					return withCode(exitUsage, fmt.Errorf("%s is not an unacknowledged quarantined object delivered in the last %d days (see permlake quarantine)", k, *days))
				}
				pick = append(pick, o)
			}
			if len(pick) == 0 {
				fmt.Fprintln(a.stdout, "nothing to acknowledge")
				return nil
			}
			now := a.now()
			ack := load.Acknowledgement{At: now.UTC(), By: by, Note: note}
			if err := lake.Acknowledge(cmd.Context(), "ack-"+newRunID(now), pick, ack); err != nil {
				return withCode(exitFailed, err)
			}
			for _, o := range pick {
				fmt.Fprintf(a.stdout, "acknowledged %s %s %s\n", o.Source, o.AccountID, o.Key)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "acknowledge every unacknowledged quarantined object")
	cmd.Flags().StringVar(&note, "note", "", "why the objects are accepted as lost (kept in the ledger)")
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who acknowledges (kept in the ledger)")
	return cmd
}

// quarantineLake validates --days and opens the configured lake.
func (a *app) quarantineLake(cmd *cobra.Command, days int) (*load.Lake, error) {
	if days <= 0 {
		return nil, withCode(exitUsage, fmt.Errorf("--days must be positive"))
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	lake, err := openLake(cmd.Context(), c)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return lake, nil
}

// quarantinedSince lists the lake's quarantined objects delivered in the days days up to now
// (now's day included).
func quarantinedSince(cmd *cobra.Command, lake *load.Lake, now time.Time, days int) ([]load.SourceObject, error) {
	now = now.UTC()
	objs, err := lake.Quarantined(cmd.Context(), now.AddDate(0, 0, 1-days), now)
	if err != nil {
		return nil, withCode(exitFailed, err)
	}
	return objs, nil
}
