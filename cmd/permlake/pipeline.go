package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"
	"golang.org/x/sync/errgroup"

	"github.com/permlake/permlake/extract"
	"github.com/permlake/permlake/extract/aws"
	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	"github.com/permlake/permlake/transform"
)

const sourceCloudTrail = "aws_cloudtrail"

// batchRows bounds how many decoded rows wait before they go to a partition writer.
const batchRows = 2000

// groupSpan is how many delivery hours of files one commit group covers. Files delivered in a
// span touch the span's event hours and the hour before (plus rare late events), so few
// partition writers are open at once (many open writers exploded memory in a measurement:
// DESIGN.md §8) while each partition is rewritten about once per span instead of once per hour.
// An open writer holds up to a page of every column uncompressed: 6 hours held ~100 MB of the
// 8M-event run's live heap, 3 hours ~58 MB, for 2 % more bytes and ~5 % more time
// (bench/results.md).
const groupSpan = 3 * time.Hour

// maxObjectErrors bounds how many unreadable objects an account's outcome lists in the manifest
// (the ledger records every one).
const maxObjectErrors = 20

// pipeline runs extract → transform → load for a set of accounts and hours.
type pipeline struct {
	lake      *load.Lake
	trail     *aws.Trail
	iam       aws.IAMSource
	org       aws.OrgSource // nil: no organization snapshot (no SCPs)
	az        *azureSources // nil: Azure not configured
	progress  *progress     // nil: no progress display (not a terminal)
	reprocess bool          // read every source object of the window again, ignoring the ledger
	// queue, when set, names the CloudTrail files to read instead of listing (queueErr: draining
	// it failed, and so does every account's CloudTrail).
	queue       *queueBatch
	queueErr    error
	reconcile   bool // list the window (with a queue configured) and count what the queue missed
	runID       string
	log         *slog.Logger
	concurrency int
	now         func() time.Time
}

// window is what one run covers.
type window struct {
	From, To time.Time // first and last hour (inclusive), UTC, hour-aligned
	// DeliveredFrom/DeliveredTo bound the CloudTrail files read, by delivery time: the hours
	// themselves widened by the late margin, so files delivered late for earlier hours are found.
	DeliveredFrom, DeliveredTo time.Time
	SnapshotHour               time.Time // partition hour of the entitlement snapshot
	SnapshotAt                 time.Time
}

func newRunID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// accountResult is one account's outcome plus what it published.
type accountResult struct {
	outcome    load.AccountOutcome
	partitions []load.PartitionStats
	trailFiles int  // CloudTrail files listed in the delivery window (or notified), ingested before or not
	trailDone  bool // every CloudTrail file of the account was committed or recorded in the ledger
	newFiles   int  // CloudTrail files no earlier run had ingested
}

// run collects every account with bounded parallelism. One account failing never stops the
// others: its error is in its outcome. The returned error is only for the run as a whole
// (cancellation).
func (p *pipeline) run(ctx context.Context, accounts []extract.Account, w window) []accountResult {
	results := make([]accountResult, len(accounts))
	g := new(errgroup.Group) // accounts do not cancel each other
	g.SetLimit(p.concurrency)
	for i, acct := range accounts {
		g.Go(func() error {
			start := time.Now()
			log := p.log.With("account_id", acct.ID, "cloud", "aws")
			res := p.account(ctx, acct, w, log)
			res.outcome.Seconds = time.Since(start).Seconds()
			results[i] = res
			p.progress.done(acct.ID, res.outcome)
			if res.outcome.Status == "ok" {
				log.Info("account done", "objects", res.outcome.Objects, "records", res.outcome.Records, "rows", res.outcome.RowsAdded, "duration", time.Since(start).String())
			} else {
				log.Error("account failed", "error", res.outcome.Error, "duration", time.Since(start).String())
			}
			return nil
		})
	}
	_ = g.Wait()
	return results
}

func (p *pipeline) account(ctx context.Context, acct extract.Account, w window, log *slog.Logger) (res accountResult) {
	res.outcome = load.AccountOutcome{AccountID: acct.ID, Status: "ok"}
	if err := extract.ValidateAccountID(acct.ID); err != nil {
		res.outcome.Status, res.outcome.Error = "failed", err.Error()
		return res
	}
	// Entitlements and activity are independent sources: a missing or bad IAM snapshot must not
	// cost the account its CloudTrail (an outage longer than late_margin would lose those hours),
	// nor the other way round. Each commits on its own; what failed is named.
	var s sources
	if p.iam != nil {
		stats, skipped, err := p.snapshot(ctx, acct.ID, w)
		res.partitions = append(res.partitions, stats...)
		s.add(&res, "iam snapshot", err)
		res.warn(log, skipped...)
	}
	if p.trail != nil {
		err := p.cloudTrail(ctx, acct.ID, w, log, &res)
		res.trailDone = err == nil
		s.add(&res, "cloudtrail", err)
		if res.trailFiles == 0 {
			s.empty++
		}
	}
	s.finish(&res)
	return res
}

// sources tallies the independent sources of one account, subscription or tenant (entitlement
// snapshot, activity) as they finish. The outcome is "ok" when all committed, "partial" when some
// failed and the others committed, and "failed" when none did; its Error names each failure.
//
// A source that worked but found nothing (no trail file in the window: an account that is not
// there, or a trail that is not delivered) does not save an account whose other sources failed
// from "failed": nothing of it was published.
type sources struct{ tried, failed, empty int }

func (s *sources) add(res *accountResult, what string, err error) {
	s.tried++
	if err == nil {
		return
	}
	s.failed++
	msg := what + ": " + err.Error()
	if res.outcome.Error != "" {
		msg = res.outcome.Error + "; " + msg
	}
	res.outcome.Error = msg
}

func (s *sources) finish(res *accountResult) {
	switch {
	case s.failed == 0:
		return
	case s.failed+s.empty >= s.tried:
		res.outcome.Status = "failed"
	default:
		res.outcome.Status = "partial"
	}
}

// maxWarnings bounds how many warnings an outcome lists in the run manifest (the log has all).
const maxWarnings = 20

// warn records problems that cost only one item (a policy document, a credential-report row)
// while the rest committed, or that an operator should look at (trail hours without a file):
// logged one by one, listed in the run manifest. They do not make the run partial: the item is
// named, and the same bad item would otherwise fail every hour forever.
func (r *accountResult) warn(log *slog.Logger, errs ...error) {
	for _, err := range errs {
		log.Warn("warning", "error", err.Error())
		r.outcome.WarningCount++
		if len(r.outcome.Warnings) < maxWarnings {
			r.outcome.Warnings = append(r.outcome.Warnings, err.Error())
		}
	}
}

// snapshot writes the account's entitlement snapshot as whole partitions of the snapshot hour.
// Items that could not be read (a policy document, a credential-report row) are skipped and
// returned; the rest of the snapshot is written.
func (p *pipeline) snapshot(ctx context.Context, accountID string, w window) (_ []load.PartitionStats, skipped []error, _ error) {
	raw, err := p.iam.Snapshot(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	meta := transform.SnapshotMeta{AccountID: accountID, SnapshotAt: w.SnapshotAt, Lineage: transform.Lineage{RunID: p.runID, SourceKey: raw.SourceKey}}
	snap, err := transform.GAAD(raw.GAADPages, meta)
	if err != nil {
		return nil, nil, fmt.Errorf("account %s: %w", accountID, err)
	}
	skipped = append(skipped, snap.Skipped...)
	var creds []schemas.IAMCredential
	if raw.CredentialReport != nil {
		cm := meta
		cm.SourceKey = raw.SourceKey + "credential-report.csv"
		var badRows []error
		if creds, badRows, err = transform.CredentialReport(raw.CredentialReport, cm); err != nil {
			return nil, nil, fmt.Errorf("account %s: %w", accountID, err)
		}
		skipped = append(skipped, badRows...)
	}
	part := load.Partition{ID: accountID, Hour: w.SnapshotHour}
	// Each table's partition is replaced atomically on its own; a re-run of the hour rewrites the
	// same rows.
	stats, err := p.replaceAll(ctx, []func() (load.PartitionStats, error){
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMUsers, part, snap.Users)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMGroups, part, snap.Groups)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMRoles, part, snap.Roles)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMPolicies, part, snap.Policies)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMGroupMemberships, part, snap.Memberships)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMPolicyAttachments, part, snap.Attachments)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMPolicyStatements, part, snap.Statements)
		},
		func() (load.PartitionStats, error) {
			return load.ReplacePartition(ctx, p.lake, schemas.IAMCredentialReport, part, creds)
		},
	})
	return stats, skipped, err
}

// replaceAll runs the partition replacements of one snapshot in order, stopping at the first
// error, and journals what was replaced (see load.Lake.Journal) even when one failed.
func (p *pipeline) replaceAll(ctx context.Context, steps []func() (load.PartitionStats, error)) ([]load.PartitionStats, error) {
	var out []load.PartitionStats
	var err error
	for _, step := range steps {
		var st load.PartitionStats
		if st, err = step(); err != nil {
			break
		}
		out = append(out, st)
	}
	return out, errors.Join(err, p.lake.Journal(context.WithoutCancel(ctx), out))
}

// organization writes the organization snapshot (accounts, SCPs and their statements) as whole
// partitions of the management account at the snapshot hour. Its outcome is named after the
// management account, or "organization" when the snapshot could not be read.
func (p *pipeline) organization(ctx context.Context, w window) (res accountResult) {
	res.outcome = load.AccountOutcome{AccountID: "organization", Kind: "organization", Status: "ok"}
	err := func() error {
		raw, err := p.org.OrgSnapshot(ctx)
		if err != nil {
			return err
		}
		res.outcome.AccountID = raw.ManagementAccountID
		doc, err := json.Marshal(raw)
		if err != nil {
			return err
		}
		meta := transform.SnapshotMeta{AccountID: raw.ManagementAccountID, SnapshotAt: w.SnapshotAt, Lineage: transform.Lineage{RunID: p.runID, SourceKey: raw.SourceKey}}
		snap, err := transform.Organization(doc, meta)
		if err != nil {
			return err
		}
		part := load.Partition{ID: raw.ManagementAccountID, Hour: w.SnapshotHour}
		stats, err := p.replaceAll(ctx, []func() (load.PartitionStats, error){
			func() (load.PartitionStats, error) {
				return load.ReplacePartition(ctx, p.lake, schemas.OrgAccounts, part, snap.Accounts)
			},
			func() (load.PartitionStats, error) {
				return load.ReplacePartition(ctx, p.lake, schemas.OrgPolicies, part, snap.Policies)
			},
			func() (load.PartitionStats, error) {
				return load.ReplacePartition(ctx, p.lake, schemas.OrgPolicyStatements, part, snap.Statements)
			},
		})
		res.partitions = append(res.partitions, stats...)
		return err
	}()
	if err != nil {
		res.outcome.Status, res.outcome.Error = "failed", fmt.Sprintf("organization snapshot: %v", err)
		p.log.Error("organization snapshot failed", "error", err)
	}
	return res
}

// cloudTrail ingests the account's log files delivered in the run's delivery window that no
// earlier run ingested. Files are processed in groups of groupSpan delivery hours: the partitions a
// group touches are committed, then the group's files are recorded
// in the ledger. A run killed between the two re-reads those files next time and the merge
// drops the rows already there, so nothing doubles and nothing is lost.
//
// With a queue, the files are those its notifications named: their size and version are known
// once read, and a file the ledger holds under the same key is not read again (CloudTrail never
// rewrites a log file: its key names one content).
func (p *pipeline) cloudTrail(ctx context.Context, accountID string, w window, log *slog.Logger, res *accountResult) error {
	var files []aws.LogFile
	switch {
	case p.queueErr != nil:
		return p.queueErr
	case p.queue != nil:
		files = p.queue.filesFor(accountID)
	default:
		var err error
		if files, err = p.trail.ListLogFiles(ctx, accountID, w.DeliveredFrom, w.DeliveredTo); err != nil {
			return err
		}
		if msg := noTrailWarning(files, w); msg != "" {
			res.warn(log, errors.New(msg))
		}
	}
	res.trailFiles = len(files)
	delivered := make([]time.Time, len(files))
	for i, f := range files {
		delivered[i] = f.DeliveredAt
	}
	seen, err := p.ingested(ctx, sourceCloudTrail, accountID, delivered)
	if err != nil {
		return err
	}
	var todo []aws.LogFile
	attempts := map[string]int{} // earlier failed reads of the current version
	for _, f := range files {
		prev, ok := seen[f.Key]
		same := ok && (prev.ETag == f.Version || f.Version == "")
		switch {
		case p.reprocess:
			// --reprocess: read everything in the window again; the merge keeps each event once.
		case same && prev.Error == "":
			continue
		case same && prev.IsQuarantined():
			res.quarantined(log, prev)
			continue
		case same:
			attempts[f.Key] = prev.Attempts
		}
		todo = append(todo, f)
	}
	res.newFiles = len(todo)
	log.Debug("cloudtrail files", "listed", len(files), "new", len(todo))
	if p.reconcile && len(todo) > 0 {
		log.Warn("reconcile: CloudTrail files the queue had not delivered", "files", len(todo), "first", todo[0].Key)
	}
	for start := 0; start < len(todo); {
		end := start
		limit := todo[start].DeliveredAt.Truncate(time.Hour).Add(groupSpan)
		for end < len(todo) && todo[end].DeliveredAt.Before(limit) {
			end++
		}
		group := todo[start:end]
		if err := retryConflicts(ctx, res, log, func() error { return p.ingestGroup(ctx, accountID, group, attempts, log, res) }); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (p *pipeline) ingestGroup(ctx context.Context, accountID string, files []aws.LogFile, attempts map[string]int, log *slog.Logger, res *accountResult) (err error) {
	pw := load.NewPartitionedWriter(ctx, p.lake, schemas.CloudTrailEvents, eventKey, batchRows)
	pw.SetContent(transform.CloudTrailContentHash) // the same eventID with other content is counted and named
	defer func() {
		if err != nil {
			err = errors.Join(err, pw.Abort()) // the commit failed or never happened: nothing more of this group is published
		}
	}()
	var ledger []load.SourceObject
	decoded, stop := p.decodeAhead(ctx, files)
	defer stop()
	for i, f := range files {
		obj := load.SourceObject{Source: sourceCloudTrail, AccountID: accountID, Key: f.Key, ETag: f.Version, Size: f.Size,
			DeliveredAt: f.DeliveredAt, RunID: p.runID, IngestedAt: p.now().UTC()}
		d, err := decoded(i)
		if err != nil {
			return err
		}
		if obj.ETag == "" { // named by a notification: known once read
			obj.ETag, obj.Size = d.version, d.size
		}
		rows, n, bad, firstBad, rerr := d.rows, d.records, d.bad, d.firstBad, d.err
		obj.BadRecords = bad
		obj.Records = n
		if rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			obj.Error, obj.Attempts = rerr.Error(), attempts[f.Key]+1
			log.Error("cloudtrail file skipped", "key", f.Key, "attempt", obj.Attempts, "error", rerr.Error())
			if len(res.outcome.ObjectErrors) < maxObjectErrors {
				res.outcome.ObjectErrors = append(res.outcome.ObjectErrors, rerr.Error())
			}
			ledger = append(ledger, obj)
			continue
		}
		if bad > 0 {
			// Skipped records cost only themselves: the file is ingested without them, and they are
			// counted and named for monitoring (a bad record never becomes good on a re-read).
			obj.BadRecordExample = truncateText(firstBad.Error(), maxExampleLen)
			res.outcome.SkippedRecords += bad
			if len(res.outcome.SkippedRecordExamples) < maxObjectErrors {
				res.outcome.SkippedRecordExamples = append(res.outcome.SkippedRecordExamples, f.Key+": "+obj.BadRecordExample)
			}
			log.Warn("cloudtrail records skipped", "key", f.Key, "event_id", d.firstBadID, "bad_records", bad, "error", obj.BadRecordExample)
		}
		for i := range rows {
			if err := pw.Add(load.Partition{ID: accountID, Hour: rows[i].EventTime.Truncate(time.Hour)}, rows[i]); err != nil {
				return err
			}
		}
		// Flushing per file tells what this file added (rows not already in the lake).
		added, err := pw.Flush()
		if err != nil {
			return err
		}
		obj.RowsAdded = added
		obj.Duplicates = len(rows) - added
		if nc, conflicts := pw.TakeConflicts(); nc > 0 {
			// Deduplication keeps the first-committed row, deterministically; a duplicate that
			// differs is a forged or broken record, or a change upstream: never silent.
			obj.ConflictingDuplicates = nc
			res.outcome.ConflictingDuplicates += nc
			for _, c := range conflicts {
				log.Warn("conflicting duplicate event dropped: the first-committed row is kept", "key", f.Key, "event_id", c.Key, "partition", c.Partition, "conflicts", nc)
			}
		}
		res.outcome.Records += n
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
	killpoint("after-data")
	if err := p.lake.RecordIngested(ctx, p.runID, ledger); err != nil {
		return err
	}
	res.outcome.Objects += len(ledger)
	return nil
}

// quarantined notes an object skipped because this version failed load.MaxAttempts reads. Until
// an operator acknowledges it (permlake quarantine ack) it is listed in the manifest and keeps
// the account's hours partial; acknowledged, it is only logged.
func (r *accountResult) quarantined(log *slog.Logger, o load.SourceObject) {
	if o.Acknowledged != nil {
		log.Info("quarantined object skipped (acknowledged)", "key", o.Key, "acknowledged_at", o.Acknowledged.At.Format(time.RFC3339))
		return
	}
	log.Warn("object quarantined", "key", o.Key, "attempts", o.Attempts, "error", o.Error)
	if len(r.outcome.Quarantined) < maxObjectErrors {
		r.outcome.Quarantined = append(r.outcome.Quarantined, o.Key)
	}
}

// ingested is what earlier runs recorded in the ledger for the objects of source and scope
// delivered at the given times, by key: one ledger read per delivery day.
func (p *pipeline) ingested(ctx context.Context, source, scopeID string, delivered []time.Time) (map[string]load.SourceObject, error) {
	seen := map[string]load.SourceObject{}
	days := map[time.Time]bool{}
	for _, at := range delivered {
		day := at.Truncate(24 * time.Hour)
		if days[day] {
			continue
		}
		days[day] = true
		got, err := p.lake.Ingested(ctx, source, scopeID, day)
		if err != nil {
			return nil, err
		}
		for k, v := range got {
			seen[k] = v
		}
	}
	return seen, nil
}

// conflictRetries is how many times a commit group is redone when another run committed one of
// its partitions (or took a ledger name) first.
const conflictRetries = 3

// retryConflicts runs fn, one commit group of an account, again when it fails with
// load.ErrConflict: another run of the same hour committed first, and merging again on top of
// what it wrote loses and doubles nothing (rows already there are dropped, partitions already
// complete are left untouched). The outcome counters fn adds to are restored before each retry,
// so nothing is counted twice. It also covers a commit whose answer was lost and whose
// conditional retry then found its own write.
func retryConflicts(ctx context.Context, res *accountResult, log *slog.Logger, fn func() error) error {
	for attempt := 1; ; attempt++ {
		saved, parts := res.outcome, len(res.partitions)
		objErrs, quarantined := len(res.outcome.ObjectErrors), len(res.outcome.Quarantined)
		err := fn()
		if err == nil || !errors.Is(err, load.ErrConflict) || ctx.Err() != nil || attempt > conflictRetries {
			return err
		}
		res.outcome, res.partitions = saved, res.partitions[:parts]
		res.outcome.ObjectErrors, res.outcome.Quarantined = res.outcome.ObjectErrors[:objErrs], res.outcome.Quarantined[:quarantined]
		log.Warn("another run committed first; merging again", "attempt", attempt, "error", err)
	}
}

func eventKey(e *schemas.CloudTrailEvent) string { return e.EventID }

// filesAhead is how many log files of an account are decoded in parallel, ahead of the one being
// written: decoding (gzip, JSON) is the CPU-heavy part, and at most this many files' rows are
// held in memory.
const filesAhead = 4

// decodedFile is one log file read whole: a file is ingested whole or not at all, so its rows
// are held until it has been read to the end (a truncated or corrupt file publishes nothing).
type decodedFile struct {
	rows       []schemas.CloudTrailEvent
	records    int
	size       int64  // the object's, as read
	version    string // the object's version as listing reports it (aws.Trail.ReadLogFile)
	bad        int    // records skipped: not decodable into rows, or with an implausible eventTime
	firstBad   error  // the first of them, naming its eventID when it has one
	firstBadID string // that eventID, when known
	err        error  // the file could not be read
}

// maxExampleLen bounds a skipped record's description in the ledger and the manifest.
const maxExampleLen = 300

// decodeFile reads f whole. A record that cannot be decoded, or whose eventTime is implausible
// for a file delivered at f.DeliveredAt (transform.CheckEventTime), is skipped and counted: it
// costs only itself, never the file or the account's hour.
func (p *pipeline) decodeFile(ctx context.Context, f aws.LogFile) decodedFile {
	var d decodedFile
	d.records, d.size, d.version, d.err = p.trail.ReadLogFile(ctx, f.Key, func(raw []byte) error {
		ev, err := transform.CloudTrailEvent(raw, transform.Lineage{RunID: p.runID, SourceKey: f.Key})
		id := ""
		if err == nil {
			if terr := transform.CheckEventTime(ev.EventTime, f.DeliveredAt); terr != nil {
				err, id = fmt.Errorf("record %s: %w", ev.EventID, terr), ev.EventID
			}
		}
		if err != nil {
			d.bad++
			if d.firstBad == nil {
				d.firstBad, d.firstBadID = err, id
			}
			return nil
		}
		d.rows = append(d.rows, ev)
		return nil
	})
	return d
}

// truncateText cuts s to at most n bytes (at a UTF-8 boundary), marking the cut.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// decodeAhead decodes files with up to filesAhead goroutines, ahead of the caller, who takes the
// results in file order with next(i) (i increasing from 0). stop cancels what is still running
// and waits for it; call it before returning.
func (p *pipeline) decodeAhead(ctx context.Context, files []aws.LogFile) (next func(int) (decodedFile, error), stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	results := make([]chan decodedFile, len(files))
	for i := range results {
		results[i] = make(chan decodedFile, 1)
	}
	slots := make(chan struct{}, filesAhead)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the dispatcher: starts a decoder whenever a slot is free
		defer wg.Done()
		for i, f := range files {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] <- p.decodeFile(ctx, f)
			}()
		}
	}()
	next = func(i int) (decodedFile, error) {
		select {
		case d := <-results[i]:
			<-slots // the caller holds this file's rows now; the next decode may start
			return d, nil
		case <-ctx.Done():
			return decodedFile{}, ctx.Err()
		}
	}
	stop = func() {
		cancel()
		wg.Wait()
	}
	return next, stop
}

// runManifest summarises a run for the ledger and the exit code.
func runManifest(runID, command string, started, finished time.Time, w window, results []accountResult) (*load.RunManifest, int) {
	m := &load.RunManifest{RunID: runID, StartedAt: started.UTC(), FinishedAt: finished.UTC(), Command: command}
	for h := w.From; !h.After(w.To); h = h.Add(time.Hour) {
		m.Hours = append(m.Hours, h.Format("2006-01-02T15"))
	}
	failed, notOK := 0, 0
	for _, r := range results {
		m.Accounts = append(m.Accounts, r.outcome)
		m.Partitions = append(m.Partitions, r.partitions...)
		if r.outcome.Status == "failed" {
			failed++
		}
		if !r.outcome.Complete() {
			notOK++
		}
	}
	code := exitOK
	switch {
	case len(results) > 0 && failed == len(results):
		code = exitFailed
	case notOK > 0:
		// A failed source, or an unreadable or quarantined (not acknowledged) object, leaves a
		// hole in an account's data: the run is partial though everything else committed.
		code = exitPartial
	}
	m.ExitCode = code
	return m, code
}

// failedAccounts names the accounts that failed and the objects that could not be read, for the
// error message.
func failedAccounts(results []accountResult) error {
	var errs []error
	for _, r := range results {
		what := "account " + r.outcome.AccountID
		if r.outcome.Cloud == "azure" {
			what = "azure " + r.outcome.AccountID
		}
		if r.outcome.Status != "ok" {
			errs = append(errs, fmt.Errorf("%s: %s", what, r.outcome.Error))
		}
		for _, e := range r.outcome.ObjectErrors {
			errs = append(errs, fmt.Errorf("%s: unreadable object: %s", what, e))
		}
		for _, k := range r.outcome.Quarantined {
			errs = append(errs, fmt.Errorf("%s: quarantined object (acknowledge with permlake quarantine ack): %s", what, k))
		}
	}
	return errors.Join(errs...)
}
