package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/schemas"
)

// SourceObject records one source object a run read: auditable, and the reason nothing is read
// twice by accident.
type SourceObject struct {
	Source      string    `json:"source"`
	AccountID   string    `json:"account_id"` // AWS account, or Azure subscription or tenant, the object belongs to
	Key         string    `json:"key"`
	ETag        string    `json:"etag"`
	Size        int64     `json:"size"`
	DeliveredAt time.Time `json:"delivered_at"`
	Records     int       `json:"records"`
	RowsAdded   int       `json:"rows_added"`
	Duplicates  int       `json:"duplicates"`
	Error       string    `json:"error,omitempty"`    // set when the object could not be read: it is then not ingested
	Attempts    int       `json:"attempts,omitempty"` // failed reads of this version so far (with Error)
	// BadRecords counts the object's records that were skipped (undecodable, or an implausible
	// event time): the object is ingested without them. BadRecordExample names the first
	// (eventID and reason).
	BadRecords       int    `json:"bad_records,omitempty"`
	BadRecordExample string `json:"bad_record_example,omitempty"`
	// ConflictingDuplicates counts the object's rows whose key (eventID) was already in the lake
	// or written before with different content: the first-committed row was kept.
	ConflictingDuplicates int `json:"conflicting_duplicates,omitempty"`
	// Cursor is where reading stopped in an object that keeps growing (an Azure PT1H.json append
	// blob): opaque to load, JSON the source defines; the latest record of a key holds the
	// cursor to continue from.
	Cursor json.RawMessage `json:"cursor,omitempty"`
	// Acknowledged is set on a quarantined version by an operator (see Acknowledgement).
	Acknowledged *Acknowledgement `json:"acknowledged,omitempty"`
	RunID        string           `json:"run_id"`
	IngestedAt   time.Time        `json:"ingested_at"`
}

var (
	sourceNamePattern = regexp.MustCompile(`^[a-z0-9_]+$`)
	runIDPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// validateScopeID accepts an AWS account ID or an Azure subscription or tenant ID.
func validateScopeID(id string) error {
	if uuidPattern.MatchString(id) {
		return nil
	}
	if err := validateAccountID(id); err != nil {
		return fmt.Errorf("invalid ID %q: want a 12-digit AWS account ID or a lower-case Azure UUID", id)
	}
	return nil
}

// ledgerDir is where the ledger of (source, account or subscription/tenant, delivery day) lives.
func ledgerDir(source, accountID string, day time.Time) string {
	return fmt.Sprintf("_manifests/ingested/source=%s/account_id=%s/date=%s/", source, accountID, day.UTC().Format("2006-01-02"))
}

// Ingested returns what earlier runs recorded for (source, account, delivery day), keyed by
// object key; a later record of a key wins over an earlier one.
func (l *Lake) Ingested(ctx context.Context, source, accountID string, day time.Time) (map[string]SourceObject, error) {
	if !sourceNamePattern.MatchString(source) {
		return nil, fmt.Errorf("invalid source name %q", source)
	}
	if err := validateScopeID(accountID); err != nil {
		return nil, err
	}
	dir := ledgerDir(source, accountID, day)
	var recs []SourceObject
	err := l.list(ctx, dir, func(obj *blob.ListObject) error {
		if !strings.HasSuffix(obj.Key, ".jsonl") {
			return nil
		}
		b, err := l.bucket.ReadAll(ctx, obj.Key)
		if err != nil {
			return fmt.Errorf("read %s: %w", obj.Key, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for line := 1; sc.Scan(); line++ {
			var r SourceObject
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return fmt.Errorf("%s line %d: %w", obj.Key, line, err)
			}
			recs = append(recs, r)
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read %s: %w", obj.Key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Later means recorded later, whatever the objects' names (run IDs need not sort by time).
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].IngestedAt.Before(recs[j].IngestedAt) })
	out := make(map[string]SourceObject, len(recs))
	for _, r := range recs {
		out[r.Key] = r
	}
	return out, nil
}

// RecordIngested appends records to the ledger: one new immutable JSON-lines object per
// (source, account, delivery day) under _manifests/ingested/…/<runID>-<seq>.jsonl. No run ever
// rewrites another run's object, so concurrent runs cannot clobber each other.
func (l *Lake) RecordIngested(ctx context.Context, runID string, objs []SourceObject) error {
	if len(objs) == 0 {
		return nil
	}
	if !runIDPattern.MatchString(runID) {
		return fmt.Errorf("invalid run ID %q", runID)
	}
	groups := map[string][]SourceObject{}
	var dirs []string
	for _, o := range objs {
		if !sourceNamePattern.MatchString(o.Source) {
			return fmt.Errorf("invalid source name %q", o.Source)
		}
		if err := validateScopeID(o.AccountID); err != nil {
			return err
		}
		o.Error = schemas.Redact(o.Error) // a server's text: no credential it echoes is stored
		d := ledgerDir(o.Source, o.AccountID, o.DeliveredAt.Truncate(24*time.Hour))
		if _, ok := groups[d]; !ok {
			dirs = append(dirs, d)
		}
		groups[d] = append(groups[d], o)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		var b bytes.Buffer
		for _, o := range groups[d] {
			line, err := json.Marshal(o)
			if err != nil {
				return err
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		if err := l.writeNew(ctx, d, runID, b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeNew writes data as a new object "<dir><runID>-<seq>.jsonl", never over an existing one:
// the write is conditional (If-None-Match: *, under the directory lock on a file lake), and a
// taken name (the same run ID through another Lake value) moves on to the next sequence number.
func (l *Lake) writeNew(ctx context.Context, dir, runID string, data []byte) error {
	for range 1000 {
		key := fmt.Sprintf("%s%s-%06d.jsonl", dir, runID, l.seq.Add(1))
		err := l.createObject(ctx, key, "application/x-ndjson", data)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("write %s%s-*.jsonl: no free sequence number", dir, runID)
}

// createObject writes data at key if no object is there; ErrConflict if one is.
func (l *Lake) createObject(ctx context.Context, key, contentType string, data []byte) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.wrote(key)
	w, err := l.bucket.NewWriter(wctx, key, l.writerOptions(contentType, ifAbsent))
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		cancel()
		_ = w.Close()
		return err
	}
	return l.closeWriter(key, w, ifAbsent, cancel)
}

// RunManifest describes one run: what it covered, each account's outcome, the partitions it
// published.
type RunManifest struct {
	RunID      string           `json:"run_id"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt time.Time        `json:"finished_at"`
	Command    string           `json:"command"`
	Hours      []string         `json:"hours"`
	Accounts   []AccountOutcome `json:"accounts"`
	Partitions []PartitionStats `json:"partitions"`
	ExitCode   int              `json:"exit_code"`
}

// AccountOutcome is one account's result in a run.
type AccountOutcome struct {
	AccountID string  `json:"account_id"`      // AWS account, or Azure subscription or tenant ID
	Cloud     string  `json:"cloud,omitempty"` // "azure" for Azure subscriptions and tenants; empty for AWS
	Kind      string  `json:"kind,omitempty"`  // "" for an AWS account, "organization", "subscription" or "tenant"
	Status    string  `json:"status"`          // ok, partial (a source failed, the others committed), failed
	Error     string  `json:"error,omitempty"`
	Objects   int     `json:"objects"`
	Seconds   float64 `json:"seconds"` // wall time the account, subscription or tenant took
	Records   int     `json:"records"`
	RowsAdded int     `json:"rows_added"`
	// ObjectErrors names the source objects that could not be read (they are retried by later
	// runs and do not fail the account: the rest of its data is committed).
	ObjectErrors []string `json:"object_errors,omitempty"`
	// Quarantined names objects skipped because reading this version failed too often; a new
	// version of the object (ETag) is read again.
	Quarantined []string `json:"quarantined,omitempty"`
	// Warnings name problems that cost one item while the rest committed (a policy document, a
	// credential-report row) or that an operator should see (hours without trail files), at most
	// 20; WarningCount counts them all. Skipped records are counted apart (SkippedRecords).
	Warnings     []string `json:"warnings,omitempty"`
	WarningCount int      `json:"warning_count,omitempty"`
	// SkippedRecords counts records of ingested objects that were skipped (undecodable, or an
	// implausible event time); SkippedRecordExamples names some ("<key>: record <eventID>: <reason>").
	SkippedRecords        int      `json:"skipped_records,omitempty"`
	SkippedRecordExamples []string `json:"skipped_record_examples,omitempty"`
	// ConflictingDuplicates counts rows dropped as duplicates of a key (eventID) whose row in the
	// lake differs: the first-committed row is kept, the conflict logged.
	ConflictingDuplicates int `json:"conflicting_duplicates,omitempty"`
}

// Complete reports whether the outcome vouches for all of its data: every source committed and no
// object was unreadable or quarantined without an operator's acknowledgement. Only complete hours
// get success markers.
func (o AccountOutcome) Complete() bool {
	return o.Status == "ok" && len(o.ObjectErrors) == 0 && len(o.Quarantined) == 0
}

// WriteRunManifest writes _manifests/runs/<runID>.json atomically.
func (l *Lake) WriteRunManifest(ctx context.Context, m *RunManifest) error {
	if !runIDPattern.MatchString(m.RunID) {
		return fmt.Errorf("invalid run ID %q", m.RunID)
	}
	// Errors are servers' text: credentials they echo (signed URLs, tokens) are redacted here,
	// on a copy, so that no writer of a manifest can forget it.
	r := *m
	r.Accounts = make([]AccountOutcome, len(m.Accounts))
	for i, a := range m.Accounts {
		a.Error = schemas.Redact(a.Error)
		a.ObjectErrors = schemas.RedactAll(a.ObjectErrors)
		a.Quarantined = schemas.RedactAll(a.Quarantined)
		a.Warnings = schemas.RedactAll(a.Warnings)
		a.SkippedRecordExamples = schemas.RedactAll(a.SkippedRecordExamples)
		r.Accounts[i] = a
	}
	if m.Accounts == nil {
		r.Accounts = nil
	}
	b, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		return err
	}
	key := "_manifests/runs/" + m.RunID + ".json"
	l.wrote(key)
	if err := l.bucket.WriteAll(ctx, key, append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
