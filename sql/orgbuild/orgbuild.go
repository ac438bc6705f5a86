// Package orgbuild is the organization-scale model build: the marts computed per account, kept
// in the lake per account, rebuilt only for the accounts whose inputs changed, and spread over
// shards; then a final step that builds the organization-level marts and the warehouse.
//
// # Units and fingerprints
//
// A unit is what one step computes alone: an AWS account, or all of Azure (a tenant's principals
// are judged across its subscriptions, so Azure is one unit). A unit's marts are a function of
//   - its grants: its latest entitlement snapshot, the organization's snapshot (accounts and SCPs)
//     or the tenant's, the action catalog and seeds, and the models' SQL — the grants fingerprint;
//   - its activity: the rollup rows of its trail and of calls its principals made anywhere, up to
//     the analysis time — a digest of those rows;
//   - the analysis time and window (the marts carry them, and "inactive for N days" moves with
//     them).
//
// The unit fingerprint hashes all three. A build computes every unit's fingerprint (cheap: file
// contents of the snapshots and a digest of the rollups, no model), compares it with the one
// recorded in the lake, and builds only the units that differ. The grants of a unit are kept in a
// local cache keyed by its grants fingerprint: a unit whose activity changed (every hour) loads
// them instead of expanding its policies again. As the window slides, the activity rows of the
// window are read again from the rollups (whole hours, exact), so results equal a full rebuild
// at every analysis time.
//
// # Idle rows
//
// Most permission_usage rows of an account are idle: granted, never called in the window. They
// depend on its grants, the set of keys its principals called and whether its trail recorded
// anything — not on the hour — so they are stored apart (with the rows of unused_high_risk and
// the counts service_usage and creep_scores add up) and kept while the account's idle
// fingerprint holds: a build then computes only the active rows, from the cached grants of the
// called keys. The window columns live in evidence_windows, joined back by views.
//
// # Layout in the lake
//
//	marts/<mart>/cloud=<aws|azure>/account_id=<id>/data.parquet   one object per partition
//	marts/permission_usage/cloud=…/account_id=…/{idle,active}.parquet   (and unused_high_risk, service_usage)
//	marts/_idle/int_permission_usage__counts/cloud=…/account_id=…/idle.parquet   (and __grants)
//	marts/_units/<aws-account-id|azure>.json                      the unit's record (commit point)
//	marts/_manifest.json                                          written by Finalize
//
// Each data object is replaced whole (atomic, as the lake's other partitions); the unit record,
// written last, names the fingerprint and the partitions of each mart. A step killed midway
// leaves the record of the previous build, so the next build redoes the unit; two steps building
// the same unit write the same bytes. Finalize reads the partitions the records name.
//
// orgbuild imports runner, load and schemas; it must not import extract, transform or cmd.
package orgbuild

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/sql/runner"
)

// PerAccount are the marts built per unit and stored per account.
var PerAccount = []string{"permission_usage", "evidence_windows", "service_usage", "unused_high_risk", "creep_scores", "least_privilege_policies", "inactive_identities", "identity_exposure", "remediation_actions"}

// martSource is where a per-account mart's rows are in a build session, and how a partition's
// rows are split into objects (split: a SQL expression naming each row's object; "" → data).
// A keepable source's "idle" object holds rows that derive from idle permission_usage rows only
// (granted, never called): kept from build to build while the account's idle fingerprint holds.
type martSource struct {
	mart, table, split string
	keepable           bool
	// idleOnly sources are not marts: only their idle object is stored (under marts/_idle/), for
	// the next build to add to what it computes.
	idleOnly bool
}

// martSources are PerAccount's sources, then the kept partial aggregates. permission_usage,
// unused_high_risk and remediation_actions are stored without their window columns
// (evidence_windows holds them); the first two split into the idle rows (the bulk, the same from
// hour to hour) and the active ones.
var martSources = func() []martSource {
	var out []martSource
	for _, m := range PerAccount {
		src := martSource{mart: m, table: m}
		switch m {
		case "permission_usage":
			src = martSource{mart: m, table: "int_permission_usage__rows", split: "case when uses = 0 and attempts = 0 then 'idle' else 'active' end", keepable: true}
		case "unused_high_risk":
			src = martSource{mart: m, table: "int_unused_high_risk__rows", split: "case when attempts = 0 then 'idle' else 'active' end", keepable: true}
		case "service_usage":
			// Most of an account's services are never used in the window: their rows change only
			// with its grants or its trail's coverage, and are left as they are from hour to hour
			// (publish digests them) while the used services' rows are written again.
			src.split = "case when used_actions = 0 then 'idle' else 'active' end"
		case "remediation_actions":
			// Without the evidence window, which moves every hour: the steps' object is left
			// as it is while they are the same (publish).
			src = martSource{mart: m, table: "int_remediation_actions__rows"}
		}
		out = append(out, src)
	}
	return append(out, martSource{mart: "_idle/int_permission_usage__counts", table: "int_permission_usage__counts",
		split: "case when is_idle then 'idle' else 'active' end", keepable: true, idleOnly: true},
		martSource{mart: "_idle/int_permission_usage__grants", table: "int_permission_usage__grants",
			split: "case when is_idle then 'idle' else 'active' end", keepable: true, idleOnly: true})
}()

// keptTargets are the models a batch computes before it adds the kept idle objects: the
// keepable sources' tables, and the views over them (whose data tests then see what was computed).
var keptTargets = []string{"permission_usage", "unused_high_risk", "int_permission_usage__counts", "int_permission_usage__grants"}

// grantModels are the models whose rows are cached per unit by grants fingerprint, per cloud:
// the grants, then the entitlement-side models the per-account marts read besides them (the
// remediation routes and the roles' trust), so that a unit built from its cached grants reads no
// attachment, statement or trust policy again. A unit's cache is used only when every one of its
// cloud's files is there.
var grantModels = map[string][]string{
	"aws":   {awsGrants, "int_remediation__routes", "int_roles__trust"},
	"azure": {"int_azure_grants__resolved"},
}

// awsGrants is the AWS grants model, the first of grantModels["aws"].
const awsGrants = "int_grants__resolved"

// AzureUnit is the ID of the unit holding every Azure subscription and tenant.
const AzureUnit = "azure"

var awsAccountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Unit is an AWS account ID or AzureUnit.
type Unit string

// Cloud is "aws" or "azure".
func (u Unit) Cloud() string {
	if u == AzureUnit {
		return "azure"
	}
	return "aws"
}

// ParseUnit validates an AWS account ID (12 digits) or "azure".
func ParseUnit(s string) (Unit, error) {
	if s == AzureUnit || awsAccountPattern.MatchString(s) {
		return Unit(s), nil
	}
	return "", fmt.Errorf("account %q: want a 12-digit AWS account ID or %q", s, AzureUnit)
}

// Shard is the i-th (1-based) of n parts of the units, by a hash of the unit: the same unit is
// always in the same shard for a given n. The zero Shard is everything.
type Shard struct{ Index, Count int }

// ParseShard reads "i/n" (1 ≤ i ≤ n).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n || n > 10000 {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 1 ≤ i ≤ n", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Has reports whether unit u is in the shard.
func (s Shard) Has(u Unit) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(u))
	return int(h.Sum32()%uint32(s.Count)) == s.Index-1
}

func (s Shard) String() string {
	if s.Count <= 1 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Options configure a build.
type Options struct {
	// Runner holds the model build's options: Lake (the local directory of the lake's tables),
	// Now, LookbackDays, Seeds, State, LakeID, Changes, Full, MemoryLimit, CatalogVersion,
	// Logger. Scope, Targets and Provided are set by this package.
	Runner runner.Options
	// Lake is where the per-account marts and unit records are published.
	Lake *load.Lake
	// CacheDir is a local directory for the grants cache and the files being published.
	CacheDir string
	// Units narrows the build to these units (nil: every unit found); Shard to a part of them.
	Units []Unit
	Shard Shard
	// BatchSize is how many AWS accounts one model build computes together (default 25; 4 × as
	// many with cached grants, keptBatchFactor × when their idle rows are kept): larger batches
	// amortise each build's fixed cost, smaller ones bound its memory.
	BatchSize int
	// Rebuild builds every selected unit whatever its fingerprint, without the grants cache.
	Rebuild bool
	// MarkCurrent makes Finalize record the warehouse's fingerprint in build_info.build_key when
	// its data tests pass (a caller whose per-account step failed a test leaves it unset, so the
	// next build does not take the warehouse as current).
	MarkCurrent bool
	// PublishOrgMarts makes Finalize write the organization-level marts into the lake as
	// marts/<mart>/data.parquet (the per-account ones are always there).
	PublishOrgMarts bool

	// Progress, when set, is told how many of the units to build are published, after each
	// batch (and once before the first, with none built). The per-account step reports units,
	// not models: at organization scale a line per model of each batch would be thousands; the
	// runner's Progress (Runner.Progress) hears Finalize's build of the organization-level marts.
	Progress func(UnitsProgress)

	// failBatch, when set (by tests), is asked after a batch's models are built and before
	// anything of it is cached or published; an error it returns is the batch's.
	failBatch func(units []Unit) error
	// eachMax, when set (by tests), replaces eachPartitionMax (-1: every mart and grants cache
	// in one partitioned COPY).
	eachMax int
	// failPublish, when set (by tests), is asked after a batch's objects are uploaded and before
	// its records are written: an error stands for a build killed there.
	failPublish func() error
}

// UnitsProgress is where BuildAccounts is: Built of ToBuild units published (Units selected, the
// rest up to date), Elapsed since the units were compared.
type UnitsProgress struct {
	Units, ToBuild, Built int
	Elapsed               time.Duration
}

// Result is what BuildAccounts did.
type Result struct {
	Rollups []runner.RollupResult
	Units   int    // units selected (after Units and Shard)
	Built   []Unit // units computed and published
	Cached  int    // of Built, units whose grants came from the cache
	// IdleKept counts, of Cached, the units whose idle permission_usage rows were kept (their
	// called keys and coverage unchanged): only their active rows were computed.
	IdleKept int
	Removed  []Unit // units gone from the lake's inputs whose marts were deleted
	Tests    []runner.TestResult
	Skipped  []string // account IDs seen in activity that cannot name a partition (not 12 digits)
	// OrgFingerprint is the fingerprint of the warehouse these units give (every unit selected:
	// no Units, no Shard), as Finalize records it in build_info.build_key: equal, the warehouse
	// is current.
	OrgFingerprint string
}

// BuildAccounts brings the per-account marts of the selected units up to date in the lake. A
// failing data test makes it return an error wrapping runner.ErrDataTest after everything was
// published (as a whole build does).
func BuildAccounts(ctx context.Context, db *sql.DB, opts Options) (*Result, error) {
	if opts.Lake == nil || opts.CacheDir == "" {
		return nil, errors.New("orgbuild: Options.Lake and CacheDir are required")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 25
	}
	if opts.Runner.Logger == nil {
		opts.Runner.Logger = slog.New(slog.DiscardHandler)
	}
	log := opts.Runner.Logger
	s, err := runner.Open(ctx, db, opts.Runner)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res := &Result{Rollups: s.Rollups}
	fp, err := newFingerprinter(ctx, s, opts.Runner, opts.CacheDir)
	if err != nil {
		return res, err
	}
	found, skipped, err := fp.units(ctx)
	if err != nil {
		return res, err
	}
	res.Skipped = skipped
	if len(skipped) > 0 {
		log.Warn("account IDs in the activity that are not 12-digit AWS account IDs: their rows are in no per-account mart",
			"accounts", skipped)
	}
	selected := selectUnits(found, opts.Units, opts.Shard)
	res.Units = len(selected)
	records, err := readRecords(ctx, opts.Lake)
	if err != nil {
		return res, err
	}

	// Units whose inputs are gone (an account left the organization and its activity aged out).
	for u, rec := range records {
		if slices.Contains(found, u) || !opts.Shard.Has(u) || (opts.Units != nil && !slices.Contains(opts.Units, u)) {
			continue
		}
		if err := removeUnit(ctx, opts.Lake, rec); err != nil {
			return res, err
		}
		res.Removed = append(res.Removed, u)
	}

	var work []todo
	current := map[Unit]string{}
	for _, u := range selected {
		f, err := fp.of(ctx, u)
		if err != nil {
			return res, err
		}
		current[u] = f.unit
		if rec, ok := records[u]; ok && rec.Fingerprint == f.unit && !rec.Publishing && !opts.Rebuild {
			continue
		}
		w := todo{unit: u, fp: f}
		if !opts.Rebuild {
			w.cached = cachedGrants(opts.CacheDir, u, f.grants)
		}
		work = append(work, w)
	}
	if opts.Units == nil && opts.Shard.Count <= 1 {
		res.OrgFingerprint = orgKey(current, opts.Runner)
	}
	log.Info("per-account models", "units", len(selected), "shard", opts.Shard.String(), "to_build", len(work),
		"up_to_date", len(selected)-len(work))
	compared := time.Now()
	report := func() {
		if opts.Progress != nil {
			opts.Progress(UnitsProgress{Units: len(selected), ToBuild: len(work), Built: len(res.Built), Elapsed: time.Since(compared)})
		}
	}
	report()
	if len(work) == 0 {
		return res, nil
	}
	// The organization's action universes (built by the fingerprinter), for every batch.
	universes := map[string][]string{}
	for _, m := range universeModels {
		file := filepath.Join(opts.CacheDir, "universe", m+".parquet")
		if err := copyRows(ctx, s.Conn(), "select * from "+m, nil, file); err != nil {
			return res, fmt.Errorf("export %s: %w", m, err)
		}
		universes[m] = []string{file}
	}
	// Which units will keep their idle rows, known before batching: they compute only their
	// active rows (a small part), so they go in much larger batches than units whose rows are
	// all computed. Each batch checks it again (idleFingerprints) before it keeps anything.
	cachedAWS := map[Unit]fingerprint{}
	for _, w := range work {
		if w.cached != nil && w.unit != AzureUnit {
			cachedAWS[w.unit] = w.fp
		}
	}
	keeps, err := keepingIdle(ctx, s, cachedAWS, universes, records)
	if err != nil {
		return res, err
	}
	// Batches of one kind: kept idle rows, cached grants, grants to expand.
	kind := func(w todo) int {
		switch {
		case keeps[w.unit]:
			return 0
		case w.cached != nil:
			return 1
		}
		return 2
	}
	sort.SliceStable(work, func(i, j int) bool { return kind(work[i]) < kind(work[j]) })

	b := &batcher{s: s, opts: opts, universes: universes, records: records, log: log}
	var testErr error
	for start := 0; start < len(work); {
		// A batch: AWS accounts of the same cache state, up to BatchSize; Azure alone.
		end := start + 1
		if work[start].unit != AzureUnit {
			size := opts.BatchSize
			switch kind(work[start]) {
			case 0:
				// Only the rows of the keys called in the window, from a small cached file.
				size *= keptBatchFactor
			case 1:
				// Cached grants: no policy expanded.
				size *= 4
			}
			for end < len(work) && end-start < size && work[end].unit != AzureUnit && kind(work[end]) == kind(work[start]) {
				end++
			}
		}
		batch := work[start:end]
		start = end
		if err := b.buildSplitting(ctx, batch, res, &testErr); err != nil {
			return res, err
		}
		report()
	}
	return res, testErr
}

// todo is a unit to build: its fingerprint, and its grants cache files (grantModels → file; nil
// when the grants must be built).
type todo struct {
	unit   Unit
	fp     fingerprint
	cached map[string]string
}

// batcher builds batches of units in one session.
type batcher struct {
	s         *runner.Session
	opts      Options
	universes map[string][]string // the organization's action universes, provided to every batch
	records   map[Unit]*record
	log       *slog.Logger
}

// buildSplitting builds batch and adds it to res (its failing data tests to testErr). A batch
// that runs out of DuckDB's memory before any of it was published is built again as two halves,
// down to single units: the build slows down instead of failing when a batch's accounts are
// larger than the batch size assumed (DuckDB spills most operators, not every one).
func (b *batcher) buildSplitting(ctx context.Context, batch []todo, res *Result, testErr *error) error {
	retry, err := b.build(ctx, batch, res, testErr)
	if err == nil || !retry || !isOutOfMemory(err) {
		return err
	}
	units := unitsOf(batch)
	if len(batch) == 1 {
		return fmt.Errorf("account %s alone needs more than the models' memory_limit %q: %w", units[0], b.opts.Runner.MemoryLimit, err)
	}
	b.log.Warn("a batch ran out of memory: building it again in two halves", "units", describe(units),
		"batch_size", len(batch), "memory_limit", b.opts.Runner.MemoryLimit, "error", err)
	if err := b.s.SetActiveOnly(ctx, nil); err != nil {
		return err
	}
	half := len(batch) / 2
	if err := b.buildSplitting(ctx, batch[:half], res, testErr); err != nil {
		return err
	}
	return b.buildSplitting(ctx, batch[half:], res, testErr)
}

// isOutOfMemory tells whether err is DuckDB's "Out of Memory Error" (the memory_limit reached
// by an operator that cannot spill).
func isOutOfMemory(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && de.Type == duckdb.ErrorTypeOutOfMemory
}

// unitsOf are the units of batch.
func unitsOf(batch []todo) []Unit {
	units := make([]Unit, len(batch))
	for i, w := range batch {
		units[i] = w.unit
	}
	return units
}

// build builds one batch in the session, publishes its marts and adds it to res. retry is true
// when it failed before publishing anything (the batch can be built again, whole or in parts).
func (b *batcher) build(ctx context.Context, batch []todo, res *Result, testErr *error) (retry bool, err error) {
	s, opts, records, log := b.s, b.opts, b.records, b.log
	scope := &runner.Scope{}
	provided := maps.Clone(b.universes)
	var units []Unit
	for _, w := range batch {
		units = append(units, w.unit)
		if w.unit == AzureUnit {
			scope.Azure = true
		} else {
			scope.AWS = append(scope.AWS, string(w.unit))
		}
		for m, f := range w.cached {
			provided[m] = append(provided[m], f)
		}
	}
	started := time.Now()
	// 1. What the batch's principals called, and whether its trails recorded anything.
	first := runner.Plan{Scope: scope, Targets: []string{"int_actions__used", "int_trail__coverage"}, Provided: provided, ProvidedViews: true, SourcesNeeded: true}
	br, berr := s.Build(ctx, first)
	if berr != nil {
		return true, fmt.Errorf("build %s: %w", describe(units), berr)
	}
	present := builtNames(br, nil)
	// 2. The idle rows of permission_usage kept where the account's grants, the keys it
	// called and its trail's coverage are those of its last build.
	fps := map[Unit]fingerprint{}
	for _, w := range batch {
		fps[w.unit] = w.fp
	}
	idle, err := idleFingerprints(ctx, s.Conn(), fps)
	if err != nil {
		return true, fmt.Errorf("build %s: %w", describe(units), err)
	}
	reused := map[Unit]map[string]partition{}
	idleFiles := map[string][]string{} // table → kept idle objects
	var activeOnly []string
	for _, w := range batch {
		if w.cached == nil {
			continue // grants expanded again: every row computed
		}
		kept, ok := records[w.unit].idlePartitions(idle[w.unit])
		if !ok {
			continue
		}
		for _, src := range martSources {
			if p, ok := kept[src.mart]; ok {
				file, err := localCopy(ctx, opts.Lake, filepath.Join(opts.CacheDir, "lake-marts"), p)
				if err != nil {
					return true, err
				}
				idleFiles[src.table] = append(idleFiles[src.table], file)
			}
		}
		reused[w.unit] = kept
		activeOnly = append(activeOnly, string(w.unit))
		// The grants of the keys it called, when the last build kept them: the rows to compute.
		if f := cachedFile(activeGrantsPath(opts.CacheDir, w.unit, idle[w.unit])); f != "" {
			all := w.cached[awsGrants]
			provided[awsGrants] = slices.DeleteFunc(slices.Clone(provided[awsGrants]), func(p string) bool { return p == all })
			provided[awsGrants] = append(provided[awsGrants], f)
		}
	}
	if err := s.SetActiveOnly(ctx, activeOnly); err != nil {
		return true, err
	}
	// 3. The rows computed (tested as computed), then the kept idle rows added, then the marts
	// that read them all.
	var tests []runner.TestResult
	var testErrs error
	for step, targets := range [][]string{keptTargets, PerAccount} {
		br, berr := s.Build(ctx, runner.Plan{Scope: scope, Targets: targets, Provided: provided, Present: present, ProvidedViews: true, SourcesNeeded: true})
		if br != nil {
			tests = append(tests, br.Tests...)
		}
		if berr != nil && !errors.Is(berr, runner.ErrDataTest) {
			return true, fmt.Errorf("build %s: %w", describe(units), berr)
		}
		testErrs = errors.Join(testErrs, berr)
		present = builtNames(br, present)
		if step > 0 {
			continue
		}
		for table, files := range idleFiles {
			if err := s.ExtendWithFiles(ctx, table, files); err != nil {
				return true, err
			}
		}
	}
	if opts.failBatch != nil {
		if err := opts.failBatch(units); err != nil {
			return true, fmt.Errorf("build %s: %w", describe(units), err)
		}
	}
	if err := s.SetActiveOnly(ctx, nil); err != nil {
		return true, err
	}
	missing := map[Unit]string{}
	for _, w := range batch {
		if w.unit != AzureUnit && cachedFile(activeGrantsPath(opts.CacheDir, w.unit, idle[w.unit])) == "" {
			missing[w.unit] = idle[w.unit]
		}
	}
	began := time.Now()
	if err := cacheActiveGrants(ctx, s.Conn(), opts.CacheDir, missing, opts.each()); err != nil {
		return true, err
	}
	log.Debug("called grants cached", "units", len(missing), "duration", time.Since(began).String())
	expanded := map[Unit]string{} // AWS units whose grants were expanded → grants fingerprint
	for _, w := range batch {
		switch {
		case w.cached != nil:
		case w.unit == AzureUnit:
			if err := cacheGrants(ctx, s.Conn(), opts.CacheDir, w.unit, w.fp.grants); err != nil {
				return true, err
			}
		default:
			expanded[w.unit] = w.fp.grants
		}
	}
	began = time.Now()
	if err := cacheAccountGrants(ctx, s.Conn(), opts.CacheDir, expanded, opts.each()); err != nil {
		return true, err
	}
	log.Debug("grants cached", "units", len(expanded), "duration", time.Since(began).String())
	for u := range fps {
		f := fps[u]
		f.idle = idle[u]
		fps[u] = f
	}
	if err := publish(ctx, s, opts, fps, reused, records); err != nil {
		return false, err
	}
	runner.ReleaseMemory() // the Parquet writers' buffers
	res.Tests = append(res.Tests, tests...)
	if testErrs != nil {
		*testErr = errors.Join(*testErr, fmt.Errorf("%s: %w", describe(units), testErrs))
	}
	res.IdleKept += len(reused)
	for _, w := range batch {
		res.Built = append(res.Built, w.unit)
		if w.cached != nil {
			res.Cached++
		}
	}
	log.Info("per-account marts published", "units", describe(units), "grants_cached", batch[0].cached != nil,
		"idle_rows_kept", len(reused), "duration", time.Since(started).String())
	return false, nil
}

// each is the most partitions written one COPY each (eachPartitionMax unless a test set eachMax).
func (o Options) each() int {
	if o.eachMax != 0 {
		return o.eachMax
	}
	return eachPartitionMax
}

// keptBatchFactor is how many times BatchSize the batches of units that keep their idle rows
// hold. 40 (the bench organization's ~990 kept units in one batch instead of two) was no faster:
// the one batch took 33.2 s where the two had taken 30.4 s, and the hourly build's peak RSS rose
// from 1,031-1,060 to 1,071-1,239 MiB (bench/results.md, 2026-12-07).
const keptBatchFactor = 20

// keepingIdle tells which of units (AWS accounts with cached grants, and their fingerprints)
// will keep their idle rows: their idle fingerprint, from what the session's activity says they
// called, is the one their record was built with.
func keepingIdle(ctx context.Context, s *runner.Session, units map[Unit]fingerprint, universes map[string][]string, records map[Unit]*record) (map[Unit]bool, error) {
	out := map[Unit]bool{}
	if len(units) == 0 {
		return out, nil
	}
	scope := &runner.Scope{}
	for u := range units {
		scope.AWS = append(scope.AWS, string(u))
	}
	slices.Sort(scope.AWS)
	if _, err := s.Build(ctx, runner.Plan{Scope: scope, Targets: []string{"int_actions__used", "int_trail__coverage"}, Provided: universes, ProvidedViews: true, SourcesNeeded: true}); err != nil {
		return nil, fmt.Errorf("the keys called: %w", err)
	}
	idle, err := idleFingerprints(ctx, s.Conn(), units)
	if err != nil {
		return nil, err
	}
	for u := range units {
		if _, ok := records[u].idlePartitions(idle[u]); ok {
			out[u] = true
		}
	}
	return out, nil
}

// builtNames adds the models of r (built or loaded) to names.
func builtNames(r *runner.Result, names []string) []string {
	if r == nil {
		return names
	}
	for _, m := range r.Models {
		if !slices.Contains(names, m.Name) {
			names = append(names, m.Name)
		}
	}
	return names
}

// describe names a few units of a batch.
func describe(units []Unit) string {
	var s []string
	for i, u := range units {
		if i == 3 {
			s = append(s, fmt.Sprintf("and %d more", len(units)-3))
			break
		}
		s = append(s, string(u))
	}
	return strings.Join(s, ", ")
}

// selectUnits keeps the found units that are in units (all when nil) and in the shard, sorted.
func selectUnits(found, units []Unit, shard Shard) []Unit {
	var out []Unit
	for _, u := range found {
		if (units == nil || slices.Contains(units, u)) && shard.Has(u) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// cachedGrants returns the grants cache files of unit u for grants fingerprint g (grantModels of
// its cloud → file), or nil when one of them is missing.
func cachedGrants(dir string, u Unit, g string) map[string]string {
	out := map[string]string{}
	for _, m := range grantModels[u.Cloud()] {
		f := cachedFile(grantsPath(dir, u, m, g))
		if f == "" {
			return nil
		}
		out[m] = f
	}
	return out
}

// cachedFile returns p when the file exists, else "".
func cachedFile(p string) string {
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// activeGrantsPath is where the grants of the keys AWS account u called are cached, for its idle
// fingerprint fp (which covers its grants and the set of keys called): what a build that keeps
// the account's idle rows reads instead of all its grants.
func activeGrantsPath(dir string, u Unit, fp string) string {
	return filepath.Join(dir, "grants-active", awsGrants, "account_id="+string(u), fp+".parquet")
}

// cacheActiveGrants writes, for each AWS account of units (→ its idle fingerprint), the grants
// of the keys it called (int_actions__used, uses or attempts) from the session into the cache,
// replacing the account's older files: one statement for all, then a file per account (an empty
// one when it called nothing).
func cacheActiveGrants(ctx context.Context, conn *sql.Conn, dir string, units map[Unit]string, each int) error {
	if len(units) == 0 {
		return nil
	}
	dsts := map[Unit]string{}
	for u, fp := range units {
		dsts[u] = activeGrantsPath(dir, u, fp)
	}
	// Constant SQL: the accounts are in orgbuild_cache_units (cacheUnits binds them).
	rows := `select g.* from int_grants__resolved as g
		semi join (
			select account_id, principal_arn, action_lc from int_actions__used
			where (uses > 0 or attempts > 0) and account_id in (select account_id from orgbuild_cache_units)
		) as a on a.account_id = g.account_id and a.principal_arn = g.principal_arn and a.action_lc = lower(g.action)`
	if err := filesByAccount(ctx, conn, rows, filepath.Join(dir, "grants-active", "batch.tmp"), dsts, each); err != nil {
		return fmt.Errorf("cache the called grants: %w", err)
	}
	return nil
}

// filesByAccount writes the rows of query (constant SQL that may read the accounts of dsts from
// the temporary table orgbuild_cache_units) to a file per AWS account of dsts (account → cache
// path; without the account_id column), through one partitioned COPY into the directory tmp
// (copyPartitioned), straight from the query, or, for at most each accounts, a COPY per account
// (copyOne): an empty file for an account without rows; each file replaces the older ones of its
// directory (replaceCached).
func filesByAccount(ctx context.Context, conn *sql.Conn, query, tmp string, dsts map[Unit]string, each int) error {
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return err
	}
	if err := cacheUnits(ctx, conn, dsts); err != nil {
		return err
	}
	if len(dsts) <= each {
		for u, dst := range dsts {
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := copyOne(ctx, conn, query, []string{"account_id"}, []any{string(u)}, dst+".tmp"); err != nil {
				return fmt.Errorf("%s: %w", u, err)
			}
			if err := replaceCached(dst); err != nil {
				return err
			}
		}
		return nil
	}
	if err := copyPartitioned(ctx, conn, query, tmp, "account_id", len(dsts)); err != nil {
		return err
	}
	for u, dst := range dsts {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		part := filepath.Join(tmp, "account_id="+string(u))
		if _, err := os.Stat(part); errors.Is(err, fs.ErrNotExist) {
			if err := copyRows(ctx, conn, "select * exclude (account_id) from ("+query+") where false", nil, dst+".tmp"); err != nil {
				return err
			}
		} else {
			file, err := onePartitionFile(ctx, conn, part)
			if err != nil {
				return fmt.Errorf("%s: %w", u, err)
			}
			if err := os.Rename(file, dst+".tmp"); err != nil {
				return err
			}
		}
		if err := replaceCached(dst); err != nil {
			return err
		}
	}
	return os.RemoveAll(tmp)
}

// cacheUnits fills the temporary table orgbuild_cache_units with the AWS accounts of dsts, bound
// one by one: the queries that read it stay constant SQL.
func cacheUnits(ctx context.Context, conn *sql.Conn, dsts map[Unit]string) error {
	if _, err := conn.ExecContext(ctx, "create or replace temp table orgbuild_cache_units (account_id varchar primary key)"); err != nil {
		return err
	}
	for u := range dsts {
		if _, err := conn.ExecContext(ctx, "insert into orgbuild_cache_units values (?)", string(u)); err != nil {
			return err
		}
	}
	return nil
}

// replaceCached renames dst.tmp to dst and removes the other files of its directory.
func replaceCached(dst string) error {
	if err := os.Rename(dst+".tmp", dst); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(filepath.Dir(dst), "*.parquet"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if f != dst {
			_ = os.Remove(f)
		}
	}
	return nil
}

// grantsPath is where unit u's rows of grant model m (one of grantModels) for grants
// fingerprint g are cached: Hive-partitioned by account_id for AWS (runner.PartitionColumns).
func grantsPath(dir string, u Unit, m, g string) string {
	if u == AzureUnit {
		return filepath.Join(dir, "grants", m, g+".parquet")
	}
	return filepath.Join(dir, "grants", m, "account_id="+string(u), g+".parquet")
}

// cacheGrants writes unit u's rows of its grant models from the session into the cache,
// replacing the unit's older files (each written to a temporary name, then renamed: a reader
// never sees a part, and cachedGrants takes the unit as cached only once every file is there).
func cacheGrants(ctx context.Context, conn *sql.Conn, dir string, u Unit, g string) error {
	for _, m := range grantModels[u.Cloud()] {
		dst := grantsPath(dir, u, m, g)
		rows := "select * from " + m
		var args []any
		if u != AzureUnit {
			rows = "select * exclude (account_id) from " + m + " where account_id = ?"
			args = append(args, string(u))
		}
		if err := copyRows(ctx, conn, rows, args, dst+".tmp"); err != nil {
			return fmt.Errorf("cache the %s rows of %s: %w", m, u, err)
		}
		if err := replaceCached(dst); err != nil {
			return err
		}
	}
	return nil
}

// cacheAccountGrants writes the grant models' rows of AWS accounts (→ grants fingerprint) from
// the session into the cache, as cacheGrants does for one unit, in one statement per model for
// all: a file per account (an empty one when the account has no row).
func cacheAccountGrants(ctx context.Context, conn *sql.Conn, dir string, units map[Unit]string, each int) error {
	if len(units) == 0 {
		return nil
	}
	for _, m := range grantModels["aws"] {
		dsts := map[Unit]string{}
		for u, g := range units {
			dsts[u] = grantsPath(dir, u, m, g)
		}
		// Constant SQL: the accounts are in orgbuild_cache_units (cacheUnits binds them).
		rows := "select * from " + m + " where account_id in (select account_id from orgbuild_cache_units)"
		if err := filesByAccount(ctx, conn, rows, filepath.Join(dir, "grants", m, "batch.tmp"), dsts, each); err != nil {
			return fmt.Errorf("cache the %s rows: %w", m, err)
		}
	}
	return nil
}

// copyRows writes the rows of query (with bound args) to the Parquet file path. COPY takes no
// parameter, so the rows go through a temporary table first.
func copyRows(ctx context.Context, conn *sql.Conn, query string, args []any, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "create or replace temp table orgbuild_export as "+query, args...); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, fmt.Sprintf("copy orgbuild_export to '%s' (format parquet, compression zstd)", sqlString(path)))
	return err
}

// sqlString escapes s for a single-quoted SQL literal (COPY takes no parameter for its path;
// the paths come from the cache directory and validated unit IDs).
func sqlString(s string) string { return strings.ReplaceAll(s, "'", "''") }
