package orgbuild

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/sql/runner"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// finalExtras are models besides the marts that the warehouse keeps for the report and analysts,
// cheap to build organization-wide from the rollups.
var finalExtras = []string{"int_trail__coverage", "stg_azure__activity_events"}

// ManifestKey is the marts manifest Finalize writes.
const ManifestKey = "marts/_manifest.json"

// Manifest is marts/_manifest.json: the analysis time, every unit with its fingerprint and
// partitions, and the organization-level marts.
type Manifest struct {
	BuiltAt   time.Time       `json:"built_at"`
	WindowEnd time.Time       `json:"window_end"`
	Units     []ManifestUnit  `json:"units"`
	Marts     []ManifestTable `json:"marts"`
}

// ManifestUnit is one unit's entry.
type ManifestUnit struct {
	Unit        Unit                   `json:"unit"`
	Fingerprint string                 `json:"fingerprint"`
	Marts       map[string][]partition `json:"marts"`
}

// ManifestTable is one mart of the warehouse: per-account (its partitions are in Units) or
// organization-level, published as Key when Options.PublishOrgMarts.
type ManifestTable struct {
	Name       string `json:"name"`
	PerAccount bool   `json:"per_account"`
	Rows       int64  `json:"rows"`
	Key        string `json:"key,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`
}

// ErrStale is wrapped by Finalize's error when units' published marts are not those of the
// current inputs (a shard has not run, or failed).
var ErrStale = errors.New("per-account marts not up to date")

// WarehouseKey is the build_key a warehouse file records ("" when it has none or cannot be read):
// equal to BuildAccounts' Result.OrgFingerprint, it is current.
func WarehouseKey(ctx context.Context, path string) string {
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return ""
	}
	defer db.Close()
	var key sql.NullString
	if err := db.QueryRowContext(ctx, "select build_key from build_info").Scan(&key); err != nil {
		return ""
	}
	return key.String
}

// Finalize builds the warehouse in db: the per-account marts loaded from their partitions, and
// the organization-level marts and finalExtras computed; then writes the marts manifest. Every
// unit found must have been built for the current inputs (BuildAccounts, in any number of
// shards); otherwise it returns an error wrapping ErrStale naming the units, and builds nothing.
func Finalize(ctx context.Context, db *sql.DB, opts Options) (*runner.Result, error) {
	if opts.Lake == nil || opts.CacheDir == "" {
		return nil, errors.New("orgbuild: Options.Lake and CacheDir are required")
	}
	s, err := runner.Open(ctx, db, opts.Runner)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	fp, err := newFingerprinter(ctx, s, opts.Runner, opts.CacheDir)
	if err != nil {
		return nil, err
	}
	found, _, err := fp.units(ctx)
	if err != nil {
		return nil, err
	}
	records, err := readRecords(ctx, opts.Lake)
	if err != nil {
		return nil, err
	}
	var stale []string
	current := map[Unit]string{}
	for _, u := range found {
		f, err := fp.of(ctx, u)
		if err != nil {
			return nil, err
		}
		current[u] = f.unit
		if r := records[u]; r == nil || r.Fingerprint != f.unit || r.Publishing {
			stale = append(stale, string(u))
		}
	}
	for u := range records {
		if !slices.Contains(found, u) {
			stale = append(stale, string(u)+" (gone)")
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		return nil, fmt.Errorf("%w: %d units (%s): build them (permlake models --accounts or every --shard) first", ErrStale, len(stale), strings.Join(firstN(stale, 10), ", "))
	}
	files, err := localCopies(ctx, opts.Lake, filepath.Join(opts.CacheDir, "lake-marts"), records)
	if err != nil {
		return nil, err
	}
	// The per-account marts are views over their objects: the warehouse does not copy the
	// organization's permission_usage rows every hour.
	provided := map[string][]string{}
	// Their rows are their objects', which the records count: counting the views would read
	// every object (~3 s an hour at 1,000 accounts). A mart stored as its source table's rows
	// (permission_usage, unused_high_risk, remediation_actions) is a view adding the window
	// columns to them, row for row; the tests compare these counts with the warehouse's.
	objectRows := map[string]int64{}
	for _, r := range records {
		for mart, ps := range r.Marts {
			for _, p := range ps {
				objectRows[mart] += p.Rows
			}
		}
	}
	rows := map[string]int64{}
	for _, src := range martSources {
		if !src.idleOnly {
			provided[src.table] = files[src.mart]
			rows[src.table], rows[src.mart] = objectRows[src.mart], objectRows[src.mart]
		}
	}
	var targets []string
	for _, m := range s.Models() {
		if m.Layer == "marts" {
			targets = append(targets, m.Name)
		}
	}
	targets = append(targets, finalExtras...)
	res, berr := s.Build(ctx, runner.Plan{Scope: &runner.Scope{AllActivity: true}, Targets: targets, Provided: provided,
		ProvidedViews: true, Untested: []string{"permission_usage", "unused_high_risk"}, Rows: rows, Progress: opts.Runner.Progress})
	if berr != nil && !errors.Is(berr, runner.ErrDataTest) {
		return res, berr
	}
	res.Rollups = s.Rollups
	if berr == nil && opts.MarkCurrent {
		if _, err := s.Conn().ExecContext(ctx, "update build_info set build_key = ?", orgKey(current, opts.Runner)); err != nil {
			return res, err
		}
	}
	m := Manifest{BuiltAt: time.Now().UTC().Truncate(time.Second), WindowEnd: opts.Runner.Now.UTC().Truncate(time.Hour)}
	units := make([]Unit, 0, len(records))
	for u := range records {
		units = append(units, u)
	}
	slices.Sort(units)
	for _, u := range units {
		m.Units = append(m.Units, ManifestUnit{Unit: u, Fingerprint: records[u].Fingerprint, Marts: records[u].Marts})
	}
	for _, r := range res.Models {
		if !slices.Contains(targets, r.Name) || slices.Contains(finalExtras, r.Name) {
			continue
		}
		t := ManifestTable{Name: r.Name, PerAccount: slices.Contains(PerAccount, r.Name), Rows: r.Rows}
		if !t.PerAccount && opts.PublishOrgMarts {
			// The mart name is a model's (a validated identifier).
			file := filepath.Join(opts.CacheDir, "publish", r.Name+".parquet")
			if err := copyRows(ctx, s.Conn(), "select * from "+r.Name, nil, file); err != nil {
				return res, fmt.Errorf("export mart %s: %w", r.Name, err)
			}
			t.Key = "marts/" + r.Name + "/data.parquet"
			if t.Bytes, _, err = upload(ctx, opts.Lake, t.Key, file); err != nil {
				return res, err
			}
			_ = os.Remove(file)
		}
		m.Marts = append(m.Marts, t)
	}
	// The whole-mart objects of the layout before per-account marts, which BI would read stale.
	for _, t := range targets {
		if err := deleteObject(ctx, opts.Lake, "marts/"+t+".parquet"); err != nil {
			return res, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return res, err
	}
	if err := opts.Lake.Bucket().WriteAll(ctx, ManifestKey, append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return res, fmt.Errorf("write %s: %w", ManifestKey, err)
	}
	return res, berr
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
}
