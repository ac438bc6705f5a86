package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/permlake/permlake/extract"
	"github.com/permlake/permlake/extract/aws"
	"github.com/permlake/permlake/extract/azure"
	"github.com/permlake/permlake/load"
)

type runFlags struct {
	hour, from, to string
	accounts       []string
	noModels       bool
	reprocess      bool
	reconcile      bool
}

func newRunCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Extract, transform and load hours of data for every account, then build the models",
		Long: `Run collects the entitlement snapshot and the CloudTrail files delivered for the given hours
(by default the last UTC hour closed at least delivery_delay ago) for every configured account,
writes them into the lake, and rebuilds the warehouse. An hour that has not closed, or closed less
than delivery_delay (default 5m) ago, is refused with exit 2: its files are still arriving.

Safe to retry: files already ingested are skipped, partitions are merged on event ID, and a killed
run leaves the lake as it was or as the next run will finish it. Files delivered late for earlier
hours are found within late_margin (default 2h) before the first hour.

With aws.trail.queue set, an hourly run (no --from/--to, --accounts, --reprocess) takes the log
files to read from the trail's SNS/SQS notifications instead of listing the bucket, and deletes a
message once its files are committed; --reconcile lists the window and ingests what the queue
missed, counting it.` + exitStatusHelp,
		Example: `  permlake run --hour 2026-11-22T07
  permlake run --from 2026-11-01T00 --to 2026-11-21T23 --accounts 111111111111,012345678901
  permlake run --hour 2026-11-22T07 --accounts 8c2f4d1e-3a5b-4c7d-9e0f-1a2b3c4d5e6f`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			from, to, err := f.hours(a.now(), c.DeliveryDelay)
			if err != nil {
				return withCode(exitUsage, err)
			}
			awsOnly, subs, err := splitScope(f.accounts)
			if err != nil {
				return withCode(exitUsage, err)
			}
			var accounts []extract.Account
			if len(subs) == 0 || len(awsOnly) > 0 {
				if accounts, err = resolveAccounts(cmd.Context(), c, awsOnly); err != nil {
					return withCode(exitUsage, err)
				}
			}
			if len(subs) > 0 && !c.Azure.enabled() {
				return withCode(exitUsage, fmt.Errorf("--accounts names Azure subscriptions but azure is not configured"))
			}
			if len(awsOnly) > 0 && len(subs) == 0 {
				c.Azure = AzureConfig{} // only these AWS accounts
			}
			c.Azure.only = subs
			// The entitlement snapshot lands in the run's last hour. Its time is the end of that hour
			// (or now, if sooner): a backfill of old hours run today must not become the "latest"
			// snapshot that the models read over the newer ones.
			w := window{From: from, To: to, DeliveredFrom: from.Add(-c.LateMargin), DeliveredTo: to.Add(time.Hour + c.LateMargin),
				SnapshotHour: to, SnapshotAt: minTime(a.now().UTC(), to.Add(time.Hour))}
			a.reprocess, a.reconcile = f.reprocess, f.reconcile
			// The trail's queue (aws.trail.queue) serves the hourly run of every account; backfills,
			// a subset of accounts, --reprocess and --reconcile list the bucket.
			a.listTrail = f.from != "" || f.to != "" || len(f.accounts) > 0 || f.reprocess || f.reconcile
			return a.runPipeline(cmd.Context(), c, "run", accounts, w, !f.noModels)
		},
	}
	cmd.Flags().StringVar(&f.hour, "hour", "", "UTC hour to run, YYYY-MM-DDTHH (default: the last closed hour)")
	cmd.Flags().StringVar(&f.from, "from", "", "first UTC hour of a backfill, YYYY-MM-DDTHH")
	cmd.Flags().StringVar(&f.to, "to", "", "last UTC hour of a backfill, YYYY-MM-DDTHH (inclusive)")
	cmd.Flags().StringSliceVar(&f.accounts, "accounts", nil, "only these AWS account IDs and/or Azure subscription IDs (comma-separated)")
	cmd.Flags().BoolVar(&f.noModels, "no-models", false, "load the lake only; do not rebuild the warehouse")
	cmd.Flags().BoolVar(&f.reconcile, "reconcile", false, "with aws.trail.queue: list the bucket for the run's hours (and late_margin before) and ingest the files the queue did not deliver, counting them")
	cmd.Flags().BoolVar(&f.reprocess, "reprocess", false, "read every source object of the window again, even those already ingested (merges keep each record once)")
	return cmd
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// parseHour reads "2026-11-22T07" (also "2026-11-22T07:00", RFC 3339) as a UTC hour.
func parseHour(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if !t.Equal(t.Truncate(time.Hour)) {
				return time.Time{}, fmt.Errorf("hour %q is not on the hour", s)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid hour %q: want YYYY-MM-DDTHH (UTC)", s)
}

// hours is the run's first and last hour. An hour is run only once it has closed and its files
// had delay to arrive: a run of an open (or future) hour would mark it complete with its data
// still to come.
func (f *runFlags) hours(now time.Time, delay time.Duration) (from, to time.Time, err error) {
	from, to, err = f.span(now.Add(-delay))
	if err != nil {
		return from, to, err
	}
	if ready := to.Add(time.Hour + delay); ready.After(now) {
		return time.Time{}, time.Time{}, fmt.Errorf("hour %s has not closed: its files are complete after %s (the hour's end plus delivery_delay %s)",
			to.Format("2006-01-02T15"), ready.UTC().Format(time.RFC3339), delay)
	}
	return from, to, nil
}

// span is the hours the flags name; by default the last hour closed by now.
func (f *runFlags) span(now time.Time) (time.Time, time.Time, error) {
	switch {
	case f.hour != "" && (f.from != "" || f.to != ""):
		return time.Time{}, time.Time{}, fmt.Errorf("--hour and --from/--to exclude each other")
	case f.hour != "":
		h, err := parseHour(f.hour)
		return h, h, err
	case f.from != "" || f.to != "":
		if f.from == "" || f.to == "" {
			return time.Time{}, time.Time{}, fmt.Errorf("--from and --to go together")
		}
		from, err := parseHour(f.from)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		to, err := parseHour(f.to)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		if to.Before(from) {
			return time.Time{}, time.Time{}, fmt.Errorf("--to %s is before --from %s", f.to, f.from)
		}
		return from, to, nil
	}
	h := now.UTC().Truncate(time.Hour).Add(-time.Hour)
	return h, h, nil
}

// resolveAccounts is the configured accounts plus, when aws.organization.role is set, the
// organization's ACTIVE accounts (filtered), narrowed by --accounts.
func resolveAccounts(ctx context.Context, c *Config, only []string) ([]extract.Account, error) {
	if len(c.AWS.Accounts) == 0 && c.AWS.Organization.Role.ARN == "" && len(only) == 0 && c.Azure.enabled() {
		return nil, nil // Azure only
	}
	if c.AWS.Organization.Role.ARN != "" {
		org, err := organization(ctx, c)
		if err != nil {
			return nil, err
		}
		found, err := org.Accounts(ctx)
		if err != nil {
			return nil, fmt.Errorf("discover accounts: %w", err)
		}
		known := map[string]bool{}
		for _, a := range c.AWS.Accounts {
			known[a.ID] = true
		}
		for _, a := range found {
			if !known[a.ID] {
				c.AWS.Accounts = append(c.AWS.Accounts, AccountConfig{ID: a.ID, Name: a.Name})
			}
		}
	}
	return selectAccounts(c, only)
}

// writeSuccess marks every hour of w complete for each account, subscription and tenant that
// committed everything (no failed source, no unreadable or unacknowledged quarantined object), and,
// when all did, the hour itself.
func writeSuccess(ctx context.Context, lake *load.Lake, runID string, now time.Time, w window, results []accountResult, all bool) error {
	for h := w.From; !h.After(w.To); h = h.Add(time.Hour) {
		var ms []load.SuccessMarker
		for _, r := range results {
			o := r.outcome
			if !o.Complete() || o.Kind == "organization" {
				continue
			}
			cloud := "aws"
			if o.Cloud == "azure" {
				cloud = "azure"
			}
			ms = append(ms, load.SuccessMarker{Cloud: cloud, ID: o.AccountID, Hour: h, RunID: runID, CommittedAt: now.UTC()})
		}
		if err := lake.WriteSuccess(ctx, h, ms, all); err != nil {
			return fmt.Errorf("success markers: %w", err)
		}
	}
	return nil
}

// organization reaches Organizations through the management account's organization reader role.
func organization(ctx context.Context, c *Config) (*aws.Organization, error) {
	cfg, err := aws.BaseConfig(ctx, c.AWS.Region)
	if err != nil {
		return nil, err
	}
	ep := c.AWS.Endpoints.sdk()
	if cfg, err = aws.AssumeChain(cfg, c.AWS.hops(c.AWS.Organization.Role), ep); err != nil {
		return nil, err
	}
	return &aws.Organization{Config: cfg, Endpoint: c.AWS.Endpoints.Organizations, Include: c.AWS.Organization.Include, Exclude: c.AWS.Organization.Exclude}, nil
}

// splitScope sorts --accounts values into AWS account IDs (12 digits) and Azure subscription IDs
// (UUIDs, lower-cased), refusing anything else.
func splitScope(ids []string) (awsIDs, subs []string, err error) {
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if extract.ValidateAccountID(id) == nil {
			awsIDs = append(awsIDs, id)
			continue
		}
		sub, err := azure.ParseID("subscription", id)
		if err != nil {
			return nil, nil, fmt.Errorf("--accounts: %q is neither a 12-digit AWS account ID nor an Azure subscription ID", id)
		}
		subs = append(subs, sub)
	}
	return awsIDs, subs, nil
}

func selectAccounts(c *Config, only []string) ([]extract.Account, error) {
	var out []extract.Account
	want := map[string]bool{}
	for _, id := range only {
		id = strings.TrimSpace(id)
		if err := extract.ValidateAccountID(id); err != nil {
			return nil, fmt.Errorf("--accounts: %w", err)
		}
		want[id] = true
	}
	for _, ac := range c.AWS.Accounts {
		if len(want) > 0 && !want[ac.ID] {
			continue
		}
		delete(want, ac.ID)
		out = append(out, extract.Account{ID: ac.ID, Name: ac.Name})
	}
	for id := range want {
		return nil, fmt.Errorf("--accounts: %s is not a configured account", id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no accounts configured (aws.accounts) or discovered (aws.organization)")
	}
	return out, nil
}

// memberIAM takes IAM snapshots through each account's API, assuming the member reader role
// over the SDK's default credentials.
func memberIAM(c *Config) *aws.IAMAPI {
	ac := c.AWS
	ep := ac.Endpoints.sdk()
	return &aws.IAMAPI{
		Endpoint: ac.Endpoints.IAM,
		Session: func(ctx context.Context, accountID string) (sdkaws.Config, error) {
			cfg, err := aws.BaseConfig(ctx, ac.Region)
			if err != nil {
				return sdkaws.Config{}, err
			}
			r := ac.MemberRole
			for _, a := range ac.Accounts {
				if a.ID == accountID {
					r = mergeRole(r, a.MemberRole)
				}
			}
			r.ARN = "arn:" + ac.Partition + ":iam::" + accountID + ":role/" + r.Name
			return aws.AssumeChain(cfg, ac.hops(r), ep)
		},
	}
}

// mergeRole returns base with the fields over sets.
func mergeRole(base, over RoleConfig) RoleConfig {
	if over.Name != "" {
		base.Name = over.Name
	}
	if over.ExternalID != "" {
		base.ExternalID = over.ExternalID
	}
	if over.SessionName != "" {
		base.SessionName = over.SessionName
	}
	if over.Duration != 0 {
		base.Duration = over.Duration
	}
	return base
}

// runPipeline runs the pipeline for accounts over w, writes the run manifest and, when models is
// set, rebuilds the warehouse. The error carries the exit code.
func (a *app) runPipeline(ctx context.Context, c *Config, command string, accounts []extract.Account, w window, models bool) error {
	started := a.now()
	lake, err := openLake(ctx, c)
	if err != nil {
		// A lake the operating system refuses (not a directory, permission denied) is a failure to
		// publish, not a usage error.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return withCode(exitFailed, err)
		}
		return withCode(exitUsage, err)
	}
	defer lake.Close()
	settleQueue := func([]accountResult) {}
	p := &pipeline{lake: lake, runID: newRunID(started), log: a.logger, concurrency: c.Concurrency, now: a.now, reprocess: a.reprocess, reconcile: a.reconcile}
	p.log = p.log.With("run_id", p.runID)
	if c.AWS.Trail.URL != "" {
		b, err := openBucket(ctx, c.AWS.Trail.URL, c.AWS.Trail.Role, c.AWS)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("aws.trail.url: %w", err))
		}
		defer b.Close()
		p.trail = &aws.Trail{Bucket: b, Prefix: c.AWS.Trail.Prefix, OrganizationID: c.AWS.Trail.OrganizationID, Regions: c.AWS.Trail.Regions}
		p.trail.BucketName, p.trail.BucketPrefix = aws.SplitS3URL(c.AWS.Trail.URL)
		if err := p.trail.Validate(); err != nil {
			return withCode(exitUsage, fmt.Errorf("aws.trail: %w", err))
		}
	}
	if p.trail != nil && c.AWS.Trail.Queue.URL != "" && !a.listTrail && len(accounts) > 0 {
		q, _, err := openQueue(ctx, c)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("aws.trail.queue: %w", err))
		}
		configured := map[string]bool{}
		for _, acct := range accounts {
			configured[acct.ID] = true
		}
		p.queue, p.queueErr = drainQueue(ctx, q, p.trail, configured, w, c.AWS.Trail.Queue, p.log)
		settle := p.queue.settler(ctx)
		defer settle(nil) // returned early: nothing committed, the messages reappear
		settleQueue = settle
	}
	if c.AWS.IAMSnapshots.URL != "" {
		b, err := openBucket(ctx, c.AWS.IAMSnapshots.URL, c.AWS.IAMSnapshots.Role, c.AWS)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("aws.iam_snapshots.url: %w", err))
		}
		defer b.Close()
		p.iam = &aws.SnapshotFiles{Bucket: b, Prefix: c.AWS.IAMSnapshots.Prefix}
	}
	if c.AWS.IAMSnapshots.URL == "" && c.AWS.MemberRole.Name != "" {
		p.iam = memberIAM(c)
	}
	switch o := c.AWS.Organization; {
	case o.Role.ARN != "":
		if p.org, err = organization(ctx, c); err != nil {
			return withCode(exitUsage, fmt.Errorf("aws.organization.role: %w", err))
		}
	case o.Export.URL != "":
		b, err := openBucket(ctx, o.Export.URL, o.Export.Role, c.AWS)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("aws.organization.export.url: %w", err))
		}
		defer b.Close()
		p.org = &aws.OrgSnapshotFile{Bucket: b, Prefix: o.Export.Prefix}
	}
	if p.az, err = openAzure(ctx, c); err != nil {
		return withCode(exitUsage, err)
	}
	if p.az != nil {
		defer p.az.close()
	}
	if p.trail == nil && p.iam == nil && p.az == nil {
		return withCode(exitUsage, fmt.Errorf("nothing to collect: set aws.trail.url and aws.iam_snapshots.url or aws.member_role.name, or azure"))
	}
	if a.progress(c) {
		p.progress = newProgress(a.stderr, len(accounts))
		defer p.progress.finish()
	}
	p.log.Info("run started", "accounts", len(accounts), "from", w.From.Format(time.RFC3339), "to", w.To.Format(time.RFC3339))
	var results []accountResult
	if len(accounts) > 0 && (p.trail != nil || p.iam != nil) {
		results = p.run(ctx, accounts, w)
	}
	if p.org != nil {
		// The organization's SCPs narrow every account's grants; its failure leaves the accounts'
		// own data committed (exit 3) and the models without SCPs for this snapshot.
		results = append(results, p.organization(ctx, w))
	}
	if p.az != nil {
		results = append(results, p.azureRun(ctx, w)...)
	}
	settleQueue(results)
	if p.reconcile {
		missed := 0
		for _, r := range results {
			missed += r.newFiles
		}
		p.log.Info("reconcile done: CloudTrail files the queue had not delivered, now ingested", "files", missed)
	}
	m, code := runManifest(p.runID, command, started, a.now(), w, results)
	killpoint("before-manifest")
	if err := lake.WriteRunManifest(context.WithoutCancel(ctx), m); err != nil {
		return withCode(exitFailed, fmt.Errorf("write run manifest: %w", err))
	}
	killpoint("after-manifest")
	if ctx.Err() != nil {
		return withCode(exitInterrupted, ctx.Err())
	}
	if err := writeSuccess(ctx, lake, p.runID, a.now(), w, results, code == exitOK); err != nil {
		return withCode(exitFailed, err)
	}
	// Temporary files of runs killed before their rename, in the directories this run wrote
	// (where a killed run's retry writes again); an hour is far longer than any write.
	if n, err := lake.RemoveOrphans(ctx, time.Hour); err != nil {
		p.log.Warn("orphaned temporary files not removed", "error", err)
	} else if n > 0 {
		p.log.Info("orphaned temporary files removed", "files", n)
	}
	runErr := failedAccounts(results)
	// The run ends with its summary, after the models' output: on the display, or logged.
	p.progress.finish()
	defer a.summarize(c, results)
	if code == exitFailed {
		return withCode(exitFailed, fmt.Errorf("nothing published: %w", runErr))
	}
	if models {
		if err := a.buildModels(ctx, c, lake, w.To.Add(time.Hour), everything(false)); err != nil {
			if code == exitPartial {
				return withCode(exitPartial, fmt.Errorf("%w; models: %v", runErr, err))
			}
			return err
		}
	}
	if code == exitPartial {
		return withCode(exitPartial, fmt.Errorf("partial run (everything else committed): %w", runErr))
	}
	return nil
}
