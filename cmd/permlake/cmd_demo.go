package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/permlake/permlake/extract"
	"github.com/permlake/permlake/extract/azure"
	"github.com/permlake/permlake/extract/demo"
)

type demoFlags struct {
	out           string
	seed          int64
	days          int
	members       int
	eventsPerHour int
	fresh         bool
}

func newDemoCmd(a *app) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate the demo organization and run everything on it (lake, warehouse, report)",
		Long: `demo writes a deterministic synthetic AWS organization (management, log-archive and member
accounts; IAM snapshots; an organization trail with weeks of CloudTrail) under <out>/source, runs
the pipeline over it into <out>/lake, builds <out>/warehouse.duckdb, writes <out>/report.html and
copies the generator's ground truth to <out>/ground-truth.json. Running it again is a no-op for the
lake (everything is already ingested) and rebuilds the same marts.` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), f)
		},
	}
	def := demo.Config{}.WithDefaults()
	cmd.Flags().StringVar(&f.out, "out", "demo-out", "output directory")
	cmd.Flags().Int64Var(&f.seed, "seed", def.Seed, "generator seed")
	cmd.Flags().IntVar(&f.days, "days", def.Days, "days of CloudTrail to generate")
	cmd.Flags().IntVar(&f.members, "member-accounts", def.MemberAccounts, "member accounts (plus management and log-archive)")
	cmd.Flags().IntVar(&f.eventsPerHour, "events-per-hour", def.EventsPerHour, "baseline events per account and hour")
	cmd.Flags().BoolVar(&f.fresh, "fresh", false, "delete <out> first (only a directory permlake demo created, or an empty one)")
	return cmd
}

// demoMarker is the file permlake demo leaves in a directory it created: --fresh deletes only
// a directory holding it (or an empty one), never one with someone else's files.
const demoMarker = ".permlake-demo"

// validate checks the flags before anything on disk changes.
func (f demoFlags) validate() error {
	switch {
	case strings.TrimSpace(f.out) == "":
		return fmt.Errorf("--out must not be empty")
	case f.days <= 0:
		return fmt.Errorf("--days must be positive, got %d", f.days)
	case f.members < 2:
		return fmt.Errorf("--member-accounts must be at least 2 (the demo's cross-account calls need two), got %d", f.members)
	case f.eventsPerHour <= 0:
		return fmt.Errorf("--events-per-hour must be positive, got %d", f.eventsPerHour)
	}
	return nil
}

// clearDemoDir deletes out for --fresh when permlake demo created it (its marker is there) or
// it is empty; it refuses any other directory, and the working directory or one above it.
func clearDemoDir(out, cwd string) error {
	st, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("--fresh: %s is not a directory: not deleting it", out)
	}
	if rel, err := filepath.Rel(out, cwd); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return fmt.Errorf("--fresh: %s is the working directory or holds it: not deleting it", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Lstat(filepath.Join(out, demoMarker)); err != nil {
			return fmt.Errorf("--fresh: %s was not created by permlake demo (no %s in it) and is not empty: not deleting it", out, demoMarker)
		}
	}
	return os.RemoveAll(out)
}

// claimDemoDir creates out and marks it as the demo's when it is new or empty; a directory
// that already holds other files is used but not marked, so --fresh never deletes it.
func claimDemoDir(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, demoMarker), []byte("created by permlake demo: permlake demo --fresh may delete this directory\n"), 0o644)
}

func (a *app) demo(ctx context.Context, f demoFlags) error {
	if err := f.validate(); err != nil {
		return withCode(exitUsage, err)
	}
	out, err := filepath.Abs(f.out)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if f.fresh {
		cwd, err := os.Getwd()
		if err != nil {
			return err
		}
		if err := clearDemoDir(out, cwd); err != nil {
			return withCode(exitUsage, err)
		}
	}
	if err := claimDemoDir(out); err != nil {
		return err
	}
	src := filepath.Join(out, "source")
	cfg := demo.Config{Seed: f.seed, Days: f.days, MemberAccounts: f.members, EventsPerHour: f.eventsPerHour}.WithDefaults()
	start := time.Now()
	org, err := demo.Generate(ctx, src, cfg)
	if err != nil {
		return fmt.Errorf("generate demo organization: %w", err)
	}
	a.logger.Info("demo organization generated", "dir", src, "accounts", len(org.Accounts), "duration", time.Since(start).String())

	c := &Config{
		Lake:         "file://" + filepath.Join(out, "lake"),
		Warehouse:    filepath.Join(out, "warehouse.duckdb"),
		LookbackDays: 90,
		LateMargin:   2 * time.Hour,
		Concurrency:  4,
		PublishMarts: true,
	}
	c.AWS.Trail = TrailConfig{URL: "file://" + filepath.Join(src, "s3", org.TrailBucket), Prefix: org.TrailPrefix, OrganizationID: org.OrganizationID}
	c.AWS.IAMSnapshots = StoreConfig{URL: "file://" + filepath.Join(src, "iam")}
	c.AWS.Organization.Export = StoreConfig{URL: "file://" + filepath.Join(src, "organization")}
	if org.AzureTenantID != "" {
		// The tenant's ARM and Graph answers and its export storage, as offline copies.
		c.Azure.Snapshots = StoreConfig{URL: "file://" + filepath.Join(src, "azure")}
		c.Azure.Discovery = azure.Discovery{Discover: true}
		c.Azure.Logs = AzureLogsConfig{URL: "file://" + filepath.Join(src, "azure", "blob")}
	}
	var accounts []extract.Account
	for _, acct := range org.Accounts {
		c.AWS.Accounts = append(c.AWS.Accounts, AccountConfig{ID: acct.ID, Name: acct.Name})
		accounts = append(accounts, extract.Account{ID: acct.ID, Name: acct.Name})
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := writeDemoConfig(filepath.Join(out, "permlake.yaml"), c); err != nil {
		return err
	}
	to := org.WindowEnd.Add(-time.Hour)
	w := window{From: org.WindowStart, To: to, DeliveredFrom: org.WindowStart.Add(-c.LateMargin),
		DeliveredTo: to.Add(time.Hour + c.LateMargin), SnapshotHour: to, SnapshotAt: org.WindowEnd}
	if last := org.LastDelivery.Add(time.Minute); last.After(w.DeliveredTo) {
		w.DeliveredTo = last
	}
	if err := a.runPipeline(ctx, c, "demo", accounts, w, true); err != nil {
		return err
	}
	gt, err := os.ReadFile(filepath.Join(src, "ground-truth.json"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "ground-truth.json"), gt, 0o644); err != nil {
		return err
	}
	reportPath := filepath.Join(out, "report.html")
	if err := a.writeReportFile(ctx, c.Warehouse, reportPath); err != nil {
		return err
	}
	return demoSummary(ctx, a.stdout, c.Warehouse, out)
}

// writeDemoConfig leaves a permlake.yaml in the demo directory so that `cd demo-out && permlake sql`
// and `permlake run` work there as they would on a real deployment.
func writeDemoConfig(path string, c *Config) error {
	var b []byte
	b = fmt.Appendf(b, "# Written by `permlake demo`: the demo organization as a configuration.\n")
	b = fmt.Appendf(b, "lake: %q\nwarehouse: %q\nlookback_days: %d\nlate_margin: %s\nconcurrency: %d\n", c.Lake, c.Warehouse, c.LookbackDays, c.LateMargin, c.Concurrency)
	b = fmt.Appendf(b, "aws:\n")
	if c.AWS.Region != "" {
		b = fmt.Appendf(b, "  region: %q\n", c.AWS.Region)
	}
	if o := c.AWS.Organization; o.Role.ARN != "" || o.Export.URL != "" {
		q := func(xs []string) string {
			var out []string
			for _, x := range xs {
				out = append(out, fmt.Sprintf("%q", x))
			}
			return strings.Join(out, ", ")
		}
		b = fmt.Appendf(b, "  organization:\n")
		if o.Role.ARN != "" {
			b = fmt.Appendf(b, "    include: [%s]\n    exclude: [%s]\n    role:\n      arn: %q\n      session_name: %q\n", q(o.Include), q(o.Exclude), o.Role.ARN, o.Role.SessionName)
		}
		if e := o.Export; e.URL != "" {
			b = fmt.Appendf(b, "    # the organization's OU tree and service control policies, exported (organization.json)\n    export:\n      url: %q\n      prefix: %q\n", e.URL, e.Prefix)
		}
	}
	if r := c.AWS.MemberRole; r.Name != "" {
		b = fmt.Appendf(b, "  member_role:\n    name: %q\n    external_id: %q\n    session_name: %q\n    duration: %s\n", r.Name, r.ExternalID, r.SessionName, r.Duration)
	}
	if e := c.AWS.Endpoints; e != (EndpointsConfig{}) {
		b = fmt.Appendf(b, "  endpoints:\n    iam: %q\n    organizations: %q\n    s3: %q\n    sts: %q\n    sqs: %q\n    sns: %q\n    s3_path_style: %t\n", e.IAM, e.Organizations, e.S3, e.STS, e.SQS, e.SNS, e.S3PathStyle)
	}
	b = fmt.Appendf(b, "  trail:\n    url: %q\n    prefix: %q\n    organization_id: %q\n", c.AWS.Trail.URL, c.AWS.Trail.Prefix, c.AWS.Trail.OrganizationID)
	b = appendRole(b, c.AWS.Trail.Role)
	b = fmt.Appendf(b, "    # data-event classes the trail logs (s3, lambda, dynamodb, sqs, sns, kinesis): none in the demo\n    data_events: [%s]\n", strings.Join(c.AWS.Trail.DataEvents, ", "))
	if q := c.AWS.Trail.Queue; q.URL != "" {
		b = fmt.Appendf(b, "    queue:\n      url: %q\n      topic_arn: %q\n      max_messages: %d\n      max_duration: %s\n      visibility_timeout: %s\n      wait: %s\n", q.URL, q.TopicARN, q.MaxMessages, q.MaxDuration, q.VisibilityTimeout, q.Wait)
	}
	b = fmt.Appendf(b, "  iam_snapshots:\n    url: %q\n", c.AWS.IAMSnapshots.URL)
	b = appendRole(b, c.AWS.IAMSnapshots.Role)
	b = fmt.Appendf(b, "  accounts:\n")
	for _, a := range c.AWS.Accounts {
		b = fmt.Appendf(b, "    - id: %q\n      name: %q\n", a.ID, a.Name)
	}
	if c.Azure.enabled() {
		az, err := azureYAML(c.Azure)
		if err != nil {
			return err
		}
		b = append(b, az...)
	}
	return os.WriteFile(path, b, 0o644)
}

// azureYAML renders the azure section in the config file's own key names (the mapstructure tags
// viper reads back), leaving out what is unset.
func azureYAML(ac AzureConfig) ([]byte, error) {
	var m map[string]any
	if err := mapstructure.Decode(ac, &m); err != nil {
		return nil, fmt.Errorf("encode azure config: %w", err)
	}
	out, err := yaml.Marshal(map[string]any{"azure": pruneEmpty(m)})
	if err != nil {
		return nil, fmt.Errorf("encode azure config: %w", err)
	}
	return out, nil
}

// pruneEmpty drops zero values from a decoded config map, recursively, and writes durations as
// text ("10ms"), which is how a person would write them and how viper reads them back.
func pruneEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if p := pruneEmpty(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case time.Duration:
		if x == 0 {
			return nil
		}
		return x.String()
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.IsZero() {
		return nil
	}
	switch rv.Kind() {
	case reflect.Slice:
		var out []any
		for i := range rv.Len() {
			if p := pruneEmpty(rv.Index(i).Interface()); p != nil {
				out = append(out, p)
			}
		}
		return out
	case reflect.Struct:
		var m map[string]any
		if err := mapstructure.Decode(v, &m); err == nil {
			return pruneEmpty(m)
		}
	case reflect.Pointer:
		return pruneEmpty(rv.Elem().Interface())
	}
	return v
}

func appendRole(b []byte, r RoleConfig) []byte {
	if r.ARN == "" {
		return b
	}
	return fmt.Appendf(b, "    role:\n      arn: %q\n      external_id: %q\n      session_name: %q\n      duration: %s\n", r.ARN, r.ExternalID, r.SessionName, r.Duration)
}

// demoSummary prints what the demo produced and the top gaps.
func demoSummary(ctx context.Context, w io.Writer, warehouse, out string) error {
	db, err := sql.Open("duckdb", warehouse+"?access_mode=read_only")
	if err != nil {
		return err
	}
	defer db.Close()
	var accounts, events, subs, azEvents, principals, used, unused, unknown, inactive int64
	q := `select
	  (select count(*) from int_trail__coverage),
	  (select coalesce(sum(events), 0) from int_trail__coverage),
	  (select count(distinct account_id) from creep_scores where cloud = 'azure'),
	  (select count(*) from stg_azure__activity_events),
	  (select count(distinct principal_arn) from permission_usage),
	  (select count(*) from permission_usage where status = 'used'),
	  (select count(*) from permission_usage where status = 'unused'),
	  (select count(*) from permission_usage where status = 'unknown'),
	  (select count(*) from inactive_identities)`
	if err := db.QueryRowContext(ctx, q).Scan(&accounts, &events, &subs, &azEvents, &principals, &used, &unused, &unknown, &inactive); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	fmt.Fprintf(w, "permlake demo: %d accounts, %d CloudTrail events in the look-back window; %d Azure subscriptions, %d Activity Log records; %d principals\n", accounts, events, subs, azEvents, principals)
	fmt.Fprintf(w, "permissions: %d used, %d granted but unused, %d unknown (not observable); %d inactive identities\n", used, unused, unknown, inactive)
	rows, err := db.QueryContext(ctx, `select priority_rank, priority, display_name, account_name, score, band, coalesce(first_step, '')
	  from identity_priority order by priority_rank limit 5`)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	defer rows.Close()
	fmt.Fprintln(w, "fix these first (identity_priority; creep score in brackets):")
	for rows.Next() {
		var rank int64
		var priority float64
		var name, account, band, step string
		var score int64
		if err := rows.Scan(&rank, &priority, &name, &account, &score, &band, &step); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %d. %6.1f  %s in %s [%d %s]: %s\n", rank, priority, name, account, score, band, step)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s/{lake/, warehouse.duckdb, report.html, ground-truth.json, permlake.yaml}\n", out)
	fmt.Fprintf(w, "try: permlake sql --warehouse %s/warehouse.duckdb -c \"select priority_rank, priority, display_name, account_name, priority_reason from identity_priority order by priority_rank limit 10\"\n", out)
	return nil
}
