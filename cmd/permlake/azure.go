package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	json "github.com/goccy/go-json"
	"golang.org/x/sync/errgroup"

	"github.com/permlake/permlake/extract/azure"
	"github.com/permlake/permlake/extract/azure/activity"
	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	"github.com/permlake/permlake/transform"
)

// AzureConfig says where Azure data comes from: the live APIs (azure.tenants with their
// credentials) or an offline copy of their answers (azure.snapshots), and the diagnostic-settings
// exports (azure.logs). Secrets never go here: client secrets and storage keys come from the
// environment variables the config names.
type AzureConfig struct {
	azure.Config `mapstructure:",squash"`
	// Discovery selects the subscriptions: a static list and/or every readable one, filtered.
	Discovery azure.Discovery `mapstructure:"discovery"`
	// Snapshots, when set, reads entitlements from an offline copy of the ARM and Graph answers
	// (arm/…, graph/… as extract/azure.Files documents) instead of the APIs.
	Snapshots StoreConfig     `mapstructure:"snapshots"`
	Logs      AzureLogsConfig `mapstructure:"logs"`

	only []string // --accounts: collect only these subscriptions (lower-case IDs)
}

// AzureLogsConfig locates the Activity Log and Entra ID exports.
type AzureLogsConfig struct {
	// URL is the storage account's blob endpoint (https://<account>.blob.core.windows.net, or an
	// Azurite URL ending in the account name), or a local copy (file:///dir holding
	// <container>/<blob>).
	URL string `mapstructure:"url"`
	// TenantID is the tenant whose credential reads the account (default: the first tenant).
	TenantID string `mapstructure:"tenant_id"`
	// SharedKeyEnv names an environment variable holding the account key, for accounts reached
	// by shared key (Azurite) rather than Entra ID.
	SharedKeyEnv string `mapstructure:"shared_key_env"`
	// AccountName goes with SharedKeyEnv (default: the last path segment or first host label).
	AccountName string `mapstructure:"account_name"`
}

// enabled reports whether any Azure source is configured.
func (c AzureConfig) enabled() bool {
	return c.Snapshots.URL != "" || len(c.Tenants) > 0 || len(c.Discovery.Static) > 0
}

// Ledger sources of the Azure exports.
const (
	sourceAzureActivity = "azure_activity"
	sourceAzureSignIns  = "azure_signins"
	sourceAzureAudit    = "azure_audit"
)

// blobsPerCommit bounds how many export blobs (hours) one commit covers, so that few partition
// writers are open at once (records land in or near their blob's hour).
const blobsPerCommit = 6

// signInCategories maps the sign-in export containers to their log category.
var signInCategories = map[string]string{
	activity.ContainerSignInLogs:                   "SignInLogs",
	activity.ContainerNonInteractiveUserSignInLogs: "NonInteractiveUserSignInLogs",
	activity.ContainerServicePrincipalSignInLogs:   "ServicePrincipalSignInLogs",
	activity.ContainerManagedIdentitySignInLogs:    "ManagedIdentitySignInLogs",
}

// azureSources is what a run reads Azure data through.
type azureSources struct {
	src  azure.Source
	only []string // --accounts: only these subscriptions
	// reader returns the reader of one export container; nil when no export is configured.
	reader func(container string) (*activity.Reader, error)
	close  func() error
}

// azureTransport, when set, is the HTTP client of every ARM, Graph and Entra ID call: tests point it
// at their TLS servers. Production leaves it nil (the SDK's default transport).
var azureTransport policy.Transporter

// openAzure builds the Azure sources of c, or nil when Azure is not configured.
func openAzure(ctx context.Context, c *Config) (*azureSources, error) {
	ac := c.Azure
	if !ac.enabled() {
		return nil, nil
	}
	var closers []func() error
	s := &azureSources{only: ac.only, close: func() error {
		var errs []error
		for _, f := range closers {
			errs = append(errs, f())
		}
		return errors.Join(errs...)
	}}
	var auth *azure.Auth
	if len(ac.Tenants) > 0 || ac.Snapshots.URL == "" || strings.HasPrefix(ac.Logs.URL, "https://") || strings.HasPrefix(ac.Logs.URL, "http://") {
		var err error
		if auth, err = azure.NewAuth(ac.Config, azure.Options{Transport: azureTransport}); err != nil {
			return nil, fmt.Errorf("azure: %w", err)
		}
	}
	if ac.Snapshots.URL != "" {
		b, err := openBucket(ctx, ac.Snapshots.URL, RoleConfig{}, c.AWS)
		if err != nil {
			return nil, fmt.Errorf("azure.snapshots.url: %w", err)
		}
		closers = append(closers, b.Close)
		s.src = &azure.Files{Bucket: b, Prefix: ac.Snapshots.Prefix, Discovery: ac.Discovery}
	} else {
		s.src = &azure.API{Auth: auth, Discovery: ac.Discovery}
	}
	switch u := ac.Logs.URL; {
	case u == "":
	case strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://"):
		newClient, err := blobClients(ac.Logs, auth)
		if err != nil {
			return nil, err
		}
		s.reader = func(name string) (*activity.Reader, error) {
			cc, err := newClient(name)
			if err != nil {
				return nil, err
			}
			return activity.NewReader(cc), nil
		}
	default:
		b, err := openBucket(ctx, u, RoleConfig{}, c.AWS)
		if err != nil {
			return nil, fmt.Errorf("azure.logs.url: %w", err)
		}
		closers = append(closers, b.Close)
		s.reader = func(name string) (*activity.Reader, error) { return activity.NewBucketReader(b, name) }
	}
	return s, nil
}

// blobClients returns a constructor of container clients for the export account: by shared key
// when azure.logs.shared_key_env is set, else with the tenant's Entra ID credential.
func blobClients(lc AzureLogsConfig, auth *azure.Auth) (func(container string) (*container.Client, error), error) {
	base := strings.TrimRight(lc.URL, "/")
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("azure.logs.url: %w", err)
	}
	if lc.SharedKeyEnv != "" {
		key, ok := os.LookupEnv(lc.SharedKeyEnv)
		if !ok || key == "" {
			return nil, fmt.Errorf("azure.logs.shared_key_env: %s is not set", lc.SharedKeyEnv)
		}
		name := lc.AccountName
		if name == "" {
			if p := strings.Trim(u.Path, "/"); p != "" {
				name = p[strings.LastIndex(p, "/")+1:]
			} else {
				name, _, _ = strings.Cut(u.Hostname(), ".")
			}
		}
		cred, err := azblob.NewSharedKeyCredential(name, key)
		if err != nil {
			return nil, fmt.Errorf("azure.logs: %w", err)
		}
		return func(c string) (*container.Client, error) {
			return container.NewClientWithSharedKeyCredential(base+"/"+c, cred, nil)
		}, nil
	}
	if auth == nil {
		return nil, errors.New("azure.logs.url: Blob Storage needs azure.tenants (a credential) or azure.logs.shared_key_env")
	}
	id, err := auth.Tenant(lc.TenantID)
	if err != nil {
		return nil, fmt.Errorf("azure.logs: %w", err)
	}
	var cred azcore.TokenCredential = id.Credential
	return func(c string) (*container.Client, error) { return container.NewClient(base+"/"+c, cred, nil) }, nil
}

// azureRun collects every selected subscription (RBAC snapshot, Activity Log) with bounded
// parallelism, then every tenant they belong to (directory snapshot, operations catalog,
// sign-ins). One subscription or tenant failing never stops the others: its error is in its
// outcome.
func (p *pipeline) azureRun(ctx context.Context, w window) []accountResult {
	log := p.log.With("cloud", "azure")
	subs, err := p.az.src.Subscriptions(ctx)
	if err == nil && len(p.az.only) > 0 {
		subs, err = narrowSubscriptions(subs, p.az.only)
	}
	if err != nil {
		log.Error("azure subscriptions failed", "error", err)
		return []accountResult{{outcome: load.AccountOutcome{AccountID: "azure", Cloud: "azure", Status: "failed", Error: "subscriptions: " + err.Error()}}}
	}
	p.progress.expectAzure(len(subs))
	results := make([]accountResult, len(subs))
	principals := make([][]string, len(subs))
	g := new(errgroup.Group)
	g.SetLimit(p.concurrency)
	for i, sub := range subs {
		g.Go(func() error {
			start := time.Now()
			slog := log.With("subscription_id", sub.ID)
			results[i], principals[i] = p.azureSubscription(ctx, sub, w, slog)
			results[i].outcome.Seconds = time.Since(start).Seconds()
			p.progress.done(sub.ID, results[i].outcome)
			logOutcome(slog, results[i], start)
			return nil
		})
	}
	_ = g.Wait()

	byTenant := map[string][]string{}
	var tenants []string
	for i, sub := range subs {
		t := sub.TenantID
		if t == "" {
			continue // a static subscription discovery did not see: its directory is unknown
		}
		if _, ok := byTenant[t]; !ok {
			tenants = append(tenants, t)
		}
		byTenant[t] = append(byTenant[t], principals[i]...)
	}
	sort.Strings(tenants)
	var ops []byte
	var opsErr error
	var opsOnce sync.Once
	operations := func() ([]byte, error) {
		opsOnce.Do(func() { ops, opsErr = p.az.src.Operations(ctx) })
		return ops, opsErr
	}
	tres := make([]accountResult, len(tenants))
	for i, t := range tenants {
		g.Go(func() error {
			start := time.Now()
			tlog := log.With("tenant_id", t)
			tres[i] = p.azureTenant(ctx, t, byTenant[t], operations, w, tlog)
			tres[i].outcome.Seconds = time.Since(start).Seconds()
			logOutcome(tlog, tres[i], start)
			return nil
		})
	}
	_ = g.Wait()
	return append(results, tres...)
}

// narrowSubscriptions keeps the subscriptions --accounts names; one it names that is not among
// the selected subscriptions is an error.
func narrowSubscriptions(subs []azure.Subscription, only []string) ([]azure.Subscription, error) {
	want := map[string]bool{}
	for _, id := range only {
		want[id] = true
	}
	var out []azure.Subscription
	for _, s := range subs {
		if want[s.ID] {
			out = append(out, s)
			delete(want, s.ID)
		}
	}
	for id := range want {
		return nil, fmt.Errorf("--accounts: subscription %s is not among the configured or discovered subscriptions", id)
	}
	return out, nil
}

func logOutcome(log *slog.Logger, r accountResult, start time.Time) {
	if r.outcome.Status == "ok" {
		log.Info("done", "objects", r.outcome.Objects, "records", r.outcome.Records, "rows", r.outcome.RowsAdded, "duration", time.Since(start).String())
		return
	}
	log.Error("failed", "error", r.outcome.Error, "duration", time.Since(start).String())
}

// azureSubscription writes the subscription's RBAC snapshot and ingests its Activity Log export.
// It returns the principal IDs its role assignments name, for the tenant's directory snapshot.
func (p *pipeline) azureSubscription(ctx context.Context, sub azure.Subscription, w window, log *slog.Logger) (res accountResult, principals []string) {
	res.outcome = load.AccountOutcome{AccountID: sub.ID, Cloud: "azure", Kind: "subscription", Status: "ok"}
	// The RBAC snapshot and the Activity Log export are independent sources: one failing keeps
	// the other (see pipeline.account).
	var s sources
	var err error
	principals, err = p.azureRBAC(ctx, sub, w, &res)
	s.add(&res, "rbac", err)
	if p.az.reader != nil {
		s.add(&res, "activity log", p.azureActivity(ctx, sub, w, log, &res))
	}
	s.finish(&res)
	return res, principals
}

// azureRBAC writes the subscription's role definitions and assignments as whole partitions of
// the snapshot hour and returns the principal IDs the assignments name.
func (p *pipeline) azureRBAC(ctx context.Context, sub azure.Subscription, w window, res *accountResult) ([]string, error) {
	rbac, err := p.az.src.RBAC(ctx, sub.ID)
	if err != nil {
		return nil, err
	}
	meta := transform.SnapshotMeta{AccountID: sub.ID, SnapshotAt: w.SnapshotAt, Lineage: transform.Lineage{RunID: p.runID, SourceKey: rbac.SourceKey}}
	defs, err := transform.AzureRoleDefinitions(rbac.RoleDefinitions, meta)
	if err != nil {
		return nil, fmt.Errorf("subscription %s: %w", sub.ID, err)
	}
	assigns, err := transform.AzureRoleAssignments(rbac.RoleAssignments, meta)
	if err != nil {
		return nil, fmt.Errorf("subscription %s: %w", sub.ID, err)
	}
	principals, err := rbac.PrincipalIDs()
	if err != nil {
		return nil, fmt.Errorf("subscription %s: %w", sub.ID, err)
	}
	part := load.Partition{ID: sub.ID, By: schemas.BySubscriptionHour, Hour: w.SnapshotHour}
	stats, err := p.replaceAll(ctx, []func() (load.PartitionStats, error){
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.AzureRoleDefinitions, part, defs)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.AzureRoleAssignments, part, assigns)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.AzureSubscriptions, part, []schemas.AzureSubscription{subscriptionRow(sub, rbac, meta)})
		},
	})
	res.partitions = append(res.partitions, stats...)
	return principals, err
}

// subscriptionRow is the subscription as discovery listed it, at the snapshot: the name the marts
// and the report show.
func subscriptionRow(sub azure.Subscription, rbac *azure.RBACSnapshot, meta transform.SnapshotMeta) schemas.AzureSubscription {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	tenant := sub.TenantID
	if tenant == "" {
		tenant = rbac.TenantID
	}
	return schemas.AzureSubscription{SubscriptionName: opt(sub.DisplayName), TenantID: opt(tenant), State: opt(sub.State),
		SnapshotAt: meta.SnapshotAt, RunID: meta.RunID, SourceKey: meta.SourceKey}
}

// azureActivity ingests the subscription's Activity Log export.
func (p *pipeline) azureActivity(ctx context.Context, sub azure.Subscription, w window, log *slog.Logger, res *accountResult) error {
	export, err := activity.ActivityExport(sub.ID)
	if err != nil {
		return err
	}
	conv := func(rec activity.Record, m transform.RecordMeta) (schemas.AzureActivityEvent, time.Time, error) {
		ev, err := transform.AzureActivityRecord(activityFields(rec), m)
		return ev, ev.EventTime, err
	}
	return ingestExport(ctx, p, export, sub.ID, schemas.BySubscriptionHour, schemas.AzureActivityEvents, sourceAzureActivity,
		func(e *schemas.AzureActivityEvent) string { return e.RecordKey }, conv, w, log, res)
}

// activityFields hands transform what the reader decoded of an Activity Log record, so that the
// record is decoded once (the reader's pass) rather than again from its text:
// transform.AzureActivityRecord(activityFields(rec)) is transform.AzureActivity(rec.Raw)
// (TestActivityFieldsMatchTwoStep).
func activityFields(rec activity.Record) transform.AzureActivityFields {
	id := rec.Identity
	f := transform.AzureActivityFields{
		Text: rec.Raw, Time: rec.TimeText, ResourceID: rec.ResourceID, OperationName: rec.OperationName, Category: rec.Category,
		ResultType: rec.ResultType, ResultSignature: rec.ResultSignature, CallerIPAddress: rec.CallerIPAddress,
		CorrelationID: rec.CorrelationID, Level: rec.Level, TenantID: rec.TenantID,
		Identity: rec.IdentityJSON, Properties: rec.Properties, EventCategory: rec.EventCategory,
		Action: id.Action, Scope: id.Scope, ObjectID: id.ObjectID, TenantClaim: id.TenantID, Caller: id.UPN, AppID: id.AppID,
	}
	if f.Caller == "" {
		f.Caller = id.NameClaim
	}
	if e := id.Evidence; e != nil {
		f.RoleAssignmentID, f.RoleDefinitionID, f.EvidencePrincipalID, f.PrincipalType = e.RoleAssignmentID, e.RoleDefinitionID, e.PrincipalID, e.PrincipalType
	}
	return f
}

// azureTenant writes the tenant's directory snapshot (the principals its subscriptions' role
// assignments name, with groups' transitive members), the operations catalog, and ingests its
// audit and sign-in exports.
func (p *pipeline) azureTenant(ctx context.Context, tenantID string, principals []string, operations func() ([]byte, error), w window, log *slog.Logger) (res accountResult) {
	res.outcome = load.AccountOutcome{AccountID: tenantID, Cloud: "azure", Kind: "tenant", Status: "ok"}
	// The directory snapshot and each log export are independent sources: one failing keeps the
	// others (see pipeline.account).
	var s sources
	s.add(&res, "directory", p.azureDirectory(ctx, tenantID, principals, operations, w, log, &res))
	if p.az.reader == nil {
		s.finish(&res)
		return res
	}
	s.add(&res, activity.ContainerAuditLogs, func() error {
		audit, err := activity.EntraExport(activity.ContainerAuditLogs, tenantID)
		if err != nil {
			return err
		}
		return ingestExport(ctx, p, audit, tenantID, schemas.ByTenantHour, schemas.AzureAuditEvents, sourceAzureAudit,
			func(e *schemas.AzureAuditEvent) string { return e.AuditID }, func(rec activity.Record, m transform.RecordMeta) (schemas.AzureAuditEvent, time.Time, error) {
				ev, err := transform.AzureAudit(rec.Raw, m)
				return ev, ev.EventTime, err
			}, w, log, &res)
	}())
	containers := make([]string, 0, len(signInCategories))
	for c := range signInCategories {
		containers = append(containers, c)
	}
	sort.Strings(containers)
	for _, c := range containers {
		s.add(&res, c, func() error {
			export, err := activity.EntraExport(c, tenantID)
			if err != nil {
				return err
			}
			category := signInCategories[c]
			conv := func(rec activity.Record, m transform.RecordMeta) (schemas.AzureSignInEvent, time.Time, error) {
				ev, err := transform.AzureSignIn(rec.Raw, category, m)
				return ev, ev.EventTime, err
			}
			return ingestExport(ctx, p, export, tenantID, schemas.ByTenantHour, schemas.AzureSignInEvents, sourceAzureSignIns,
				func(e *schemas.AzureSignInEvent) string { return e.SignInID }, conv, w, log, &res)
		}())
	}
	s.finish(&res)
	return res
}

// azureDirectory writes the tenant's directory snapshot (principals, group members) and the
// provider operations catalog as whole partitions of the snapshot hour.
func (p *pipeline) azureDirectory(ctx context.Context, tenantID string, principals []string, operations func() ([]byte, error), w window, log *slog.Logger, res *accountResult) error {
	sort.Strings(principals)
	principals = compactStrings(principals)
	dir, err := p.az.src.Directory(ctx, tenantID, principals)
	if err != nil {
		return err
	}
	if len(dir.Missing) > 0 {
		log.Warn("principals named by role assignments not found in the directory (deleted?)", "count", len(dir.Missing))
	}
	meta := transform.SnapshotMeta{AccountID: tenantID, SnapshotAt: w.SnapshotAt, Lineage: transform.Lineage{RunID: p.runID, SourceKey: dir.SourceKey}}
	snap, err := transform.AzureDirectory(transform.DirectoryInput{Users: dir.Users, Groups: dir.Groups, ServicePrincipals: dir.ServicePrincipals,
		Members: dir.Members, SignInActivityUnavailable: dir.SignInActivityUnavailable}, meta)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", tenantID, err)
	}
	doc, err := operations()
	if err != nil {
		return fmt.Errorf("provider operations: %w", err)
	}
	om := meta
	om.SourceKey = "providerOperations"
	ops, err := transform.AzureProviderOperations(doc, om)
	if err != nil {
		return err
	}
	part := load.Partition{ID: tenantID, By: schemas.ByTenantHour, Hour: w.SnapshotHour}
	stats, err := p.replaceAll(ctx, []func() (load.PartitionStats, error){
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.AzurePrincipals, part, snap.Principals)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.AzureGroupMembers, part, snap.GroupMembers)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.AzureProviderOperations, part, ops)
		},
	})
	res.partitions = append(res.partitions, stats...)
	return err
}

func compactStrings(xs []string) []string {
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// ingestExport reads the export's blobs of the run's receive-hour window from where earlier runs
// stopped (the ledger's cursor per blob), converts each complete new line into a row of table in
// the partition of its event hour (merged on key, so a line read twice is one row), and commits
// every blobsPerCommit blobs: partitions first, then the ledger with the new cursors. A run killed
// between the two reads the same lines again next time, and the merge drops them. Lines that do not
// decode are skipped and named (blob and line) in the outcome; the rest of the blob goes on.
func ingestExport[T any](ctx context.Context, p *pipeline, export activity.Export, scopeID string, by schemas.Partitioning, table *schemas.Table,
	source string, key func(*T) string, conv func(activity.Record, transform.RecordMeta) (T, time.Time, error), w window, log *slog.Logger, res *accountResult) error {
	reader, err := p.az.reader(export.Container)
	if err != nil {
		return err
	}
	blobs, err := reader.List(ctx, export, activity.Window{From: w.DeliveredFrom, To: w.DeliveredTo})
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		// Nothing of this category is exported (no diagnostic setting for it, or no licence for
		// sign-in logs): there is nothing to read, which is not an error.
		log.Debug("export container absent", "container", export.Container)
		return nil
	}
	if err != nil {
		return err
	}
	hours := make([]time.Time, len(blobs))
	for i, b := range blobs {
		hours[i] = b.Hour
	}
	seen, err := p.ingested(ctx, source, scopeID, hours)
	if err != nil {
		return err
	}
	for start := 0; start < len(blobs); start += blobsPerCommit {
		group := blobs[start:min(start+blobsPerCommit, len(blobs))]
		if err := retryConflicts(ctx, res, log, func() error {
			return ingestBlobs(ctx, p, reader, group, seen, scopeID, by, table, source, key, conv, log, res)
		}); err != nil {
			return err
		}
	}
	return nil
}

func ingestBlobs[T any](ctx context.Context, p *pipeline, reader *activity.Reader, blobs []activity.Blob, seen map[string]load.SourceObject, scopeID string,
	by schemas.Partitioning, table *schemas.Table, source string, key func(*T) string, conv func(activity.Record, transform.RecordMeta) (T, time.Time, error),
	log *slog.Logger, res *accountResult) (err error) {
	pw := load.NewPartitionedWriter(ctx, p.lake, table, key, batchRows)
	defer func() {
		if err != nil {
			err = errors.Join(err, pw.Abort())
		}
	}()
	var ledger []load.SourceObject
	for _, b := range blobs {
		objKey := b.Container + "/" + b.Name
		var st activity.State
		if prev, ok := seen[objKey]; ok && len(prev.Cursor) > 0 && !p.reprocess {
			if err := json.Unmarshal(prev.Cursor, &st); err != nil {
				return fmt.Errorf("ledger cursor of %s: %w", objKey, err)
			}
		}
		var bad []string
		undecoded := 0 // records the transform refused (counted in r.Records, unlike r.Errors)
		r, err := reader.Read(ctx, b, st, func(rec activity.Record) error {
			row, at, err := conv(rec, transform.RecordMeta{Lineage: transform.Lineage{RunID: p.runID, SourceKey: objKey}, Line: rec.Line})
			if err == nil {
				// The blob's path hour is when Azure received the records (FORMATS.md §4.1): one
				// received by the end of that hour cannot come from more than a day later, nor
				// from before 2013. Such a line is skipped and named like any bad line (a year-1
				// time failed the whole subscription; year 9999 opened a partition of that date).
				err = transform.CheckEventTime(at, b.Hour.Add(time.Hour))
			}
			if err != nil {
				undecoded++
				bad = append(bad, fmt.Sprintf("blob %s line %d: %v", objKey, rec.Line, err))
				return nil
			}
			return pw.Add(load.Partition{ID: scopeID, By: by, Hour: at.UTC().Truncate(time.Hour)}, row)
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", objKey, err)
		}
		if r.Unchanged {
			continue
		}
		for _, le := range r.Errors {
			bad = append(bad, le.Error())
		}
		if r.Reset != activity.ResetNone {
			log.Warn("export blob read again from its start", "key", objKey, "reason", string(r.Reset))
		}
		for _, msg := range bad {
			log.Warn("export line skipped", "error", msg)
			if len(res.outcome.ObjectErrors) < maxObjectErrors {
				res.outcome.ObjectErrors = append(res.outcome.ObjectErrors, msg)
			}
		}
		added, err := pw.Flush()
		if err != nil {
			return err
		}
		cursor, err := json.Marshal(r.State)
		if err != nil {
			return err
		}
		obj := load.SourceObject{Source: source, AccountID: scopeID, Key: objKey, ETag: r.State.ETag, Size: r.State.Offset, DeliveredAt: b.Hour,
			Records: r.Records, RowsAdded: added, Duplicates: r.Records - undecoded - added, RunID: p.runID, IngestedAt: p.now().UTC(), Cursor: cursor}
		if len(bad) > 0 {
			obj.Error = fmt.Sprintf("%d lines skipped, first: %s", len(bad), bad[0])
		}
		res.outcome.Records += r.Records
		ledger = append(ledger, obj)
	}
	killpoint("before-data")
	stats, err := pw.Commit()
	res.partitions = append(res.partitions, stats...)
	for _, st := range stats {
		res.outcome.RowsAdded += st.RowsAdded
	}
	if err != nil {
		return err
	}
	if len(ledger) == 0 {
		return nil
	}
	killpoint("after-data")
	if err := p.lake.RecordIngested(ctx, p.runID, ledger); err != nil {
		return err
	}
	res.outcome.Objects += len(ledger)
	return nil
}
