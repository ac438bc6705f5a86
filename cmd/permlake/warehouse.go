package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the embedded DuckDB engine

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/sql/orgbuild"
	"github.com/permlake/permlake/sql/runner"
	"github.com/permlake/permlake/transform/catalog"
)

// embeddedCatalog is the catalog used when the configuration names none: the embedded one.
// This package's tests replace it (TestMain) with a few services' subset, which keeps each
// in-process model build a few seconds; the tests of the whole catalog run the built binary.
var embeddedCatalog = catalog.AWS

// actionCatalog is the IAM action catalog the models expand wildcards against: the file the
// `catalog` key names (a newer iam-data release, no rebuild needed), else the embedded one.
func actionCatalog(c *Config) (*catalog.Catalog, error) {
	if c.Catalog == "" {
		return embeddedCatalog(), nil
	}
	path, err := localPath(c.Catalog)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return catalog.Load(path)
}

// catalogSeed hands the IAM action catalog to the models as the aws_iam_actions table.
func catalogSeed(cat *catalog.Catalog) runner.Seed {
	acts := cat.Actions()
	s := runner.Seed{
		Columns: []string{"service", "action_name", "action", "access_level"},
		Types:   []string{"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"},
		Rows:    make([][]any, 0, len(acts)),
	}
	for _, a := range acts {
		s.Rows = append(s.Rows, []any{a.Service, a.Name, a.String(), a.AccessLevel})
	}
	return s
}

// trailSeeds tells the models what the trails record beyond management events, and what they
// exclude, from the configuration ('*' stands for every account).
func trailSeeds(c *Config) map[string]runner.Seed {
	two := []string{"VARCHAR", "VARCHAR"}
	data := runner.Seed{Columns: []string{"account_id", "data_event_class"}, Types: two}
	for _, class := range c.AWS.Trail.DataEvents {
		data.Rows = append(data.Rows, []any{"*", class})
	}
	for _, a := range c.AWS.Accounts {
		for _, class := range a.DataEvents {
			data.Rows = append(data.Rows, []any{a.ID, class})
		}
	}
	excluded := runner.Seed{Columns: []string{"account_id", "service"}, Types: two}
	for _, svc := range c.AWS.Trail.ExcludedServices {
		excluded.Rows = append(excluded.Rows, []any{"*", svc})
	}
	return map[string]runner.Seed{"aws_trail_data_events": data, "aws_trail_excluded_services": excluded}
}

// modelsPlan is which steps of the model build a command runs (permlake models' flags).
type modelsPlan struct {
	units    []orgbuild.Unit // nil: every unit
	shard    orgbuild.Shard
	accounts bool // build the per-account marts of the selected units
	finalize bool // build the organization-level marts, the warehouse and the marts manifest
	full     bool // aggregate the rollups from the whole lake and rebuild every selected unit
}

// everything is a whole build: every unit, then the final step.
func everything(full bool) modelsPlan { return modelsPlan{accounts: true, finalize: true, full: full} }

// buildModels brings the per-account marts up to date in the lake (orgbuild: only the accounts
// whose inputs changed) and rebuilds the warehouse file from them: into a temporary file beside
// it, then renamed over the old one, so readers (BI, analysts) never open a half-built
// warehouse. A file lake is read in place; an object-store lake through its local copy
// (cache_dir), synced first with only the partitions of the look-back window and only what
// changed since the last build.
func (a *app) buildModels(ctx context.Context, c *Config, lake *load.Lake, now time.Time, plan modelsPlan) (err error) {
	dst, err := localPath(c.Warehouse)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("warehouse: %w", err))
	}
	cat, err := actionCatalog(c)
	if err != nil {
		return withCode(exitUsage, err)
	}
	cache := c.CacheDir
	if cache == "" {
		cache = filepath.Join(filepath.Dir(dst), "lake-cache")
	}
	if cache, err = localPath(cache); err != nil {
		return withCode(exitUsage, fmt.Errorf("cache_dir: %w", err))
	}
	lakeRoot := lake.Root()
	if lakeRoot == "" {
		lakeRoot = cache
		since := now.UTC().AddDate(0, 0, -c.LookbackDays-1)
		start := time.Now()
		st, err := lake.SyncTo(ctx, lakeRoot, since, plan.full)
		if err != nil {
			return fmt.Errorf("copy %s for the models: %w", lake.URL(), err)
		}
		a.logger.Info("lake copied for the models", "lake", lake.URL(), "dir", lakeRoot, "mode", st.Mode, "listed", st.Listed, "objects", st.Objects,
			"downloaded", st.Downloaded, "bytes", st.Bytes, "removed", st.Removed, "duration", time.Since(start).String())
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	seeds := trailSeeds(c)
	seeds["aws_iam_actions"] = catalogSeed(cat)
	instance, err := lake.InstanceID(ctx)
	if err != nil {
		return err
	}
	state := c.StateFile
	if state == "" {
		state = strings.TrimSuffix(dst, ".duckdb") + ".state.duckdb"
	}
	if state, err = localPath(state); err != nil {
		return withCode(exitUsage, fmt.Errorf("state_file: %w", err))
	}
	out := a.newBuildOutput(c)
	defer out.done()
	opts := orgbuild.Options{
		Runner: runner.Options{
			Lake: lakeRoot, Now: now.UTC(), LookbackDays: c.LookbackDays, Seeds: seeds, Logger: a.logger,
			State: state, LakeID: lake.URL() + "#" + instance, Changes: commitFeed(lake), Full: plan.full,
			MemoryLimit: c.ModelsMemoryLimit, CatalogVersion: cat.Version(), Progress: out.event,
		},
		Lake: lake, CacheDir: filepath.Join(cache, "models"), Units: plan.units, Shard: plan.shard, Rebuild: plan.full,
		PublishOrgMarts: c.PublishMarts, BatchSize: c.ModelsBatchAccounts, Progress: out.unitsProgress,
	}
	var testErr error
	if plan.accounts {
		start := time.Now()
		res, err := a.buildAccounts(ctx, opts)
		if err != nil && !errors.Is(err, runner.ErrDataTest) {
			return fmt.Errorf("build models: %w", err)
		}
		testErr = err
		out.unitTests(res.Tests)
		a.logger.Info("per-account marts up to date", "units", res.Units, "built", len(res.Built), "grants_cached", res.Cached,
			"removed", len(res.Removed), "shard", plan.shard.String(), "duration", time.Since(start).String())
		// The rollups are brought up to date once: the final step finds nothing new.
		opts.Runner.Full = false
		if plan.finalize && err == nil && len(res.Built) == 0 && len(res.Removed) == 0 && res.OrgFingerprint != "" {
			if _, serr := os.Stat(dst); serr == nil && orgbuild.WarehouseKey(ctx, dst) == res.OrgFingerprint {
				a.logger.Info("warehouse up to date", "path", dst)
				return nil
			}
		}
	}
	opts.MarkCurrent = testErr == nil
	if !plan.finalize {
		if testErr != nil {
			return withCode(exitDataTest, testErr)
		}
		return nil
	}
	tmp := dst + ".building"
	for _, f := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	db, err := sql.Open("duckdb", tmp)
	if err != nil {
		return fmt.Errorf("open warehouse %s: %w", tmp, err)
	}
	start := time.Now()
	res, berr := orgbuild.Finalize(ctx, db, opts)
	if cerr := db.Close(); cerr != nil && berr == nil {
		berr = cerr
	}
	if berr != nil && !errors.Is(berr, runner.ErrDataTest) {
		_ = os.Remove(tmp)
		if errors.Is(berr, orgbuild.ErrStale) {
			return withCode(exitFailed, fmt.Errorf("build the warehouse: %w", berr))
		}
		return fmt.Errorf("build models: %w", berr)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("publish warehouse: %w", err)
	}
	models := 0
	if res != nil {
		models = len(res.Models)
		for _, r := range res.Rollups {
			a.logger.Info("rollup updated", "table", r.Name, "mode", r.Mode, "partitions", r.Partitions, "rows", r.Rows,
				"duration", r.Duration.String())
		}
	}
	a.logger.Info("warehouse built", "path", dst, "models", models, "duration", time.Since(start).String())
	if berr != nil {
		testErr = errors.Join(testErr, berr)
	}
	if testErr != nil {
		return withCode(exitDataTest, testErr)
	}
	return nil
}

// buildAccounts runs the per-account step on a scratch database in the cache directory (the
// warehouse is the final step's).
func (a *app) buildAccounts(ctx context.Context, opts orgbuild.Options) (*orgbuild.Result, error) {
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, err
	}
	scratch := filepath.Join(opts.CacheDir, "build.duckdb")
	for _, f := range []string{scratch, scratch + ".wal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	db, err := sql.Open("duckdb", scratch)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", scratch, err)
	}
	defer func() {
		db.Close()
		_ = os.Remove(scratch)
		_ = os.Remove(scratch + ".wal")
	}()
	res, err := orgbuild.BuildAccounts(ctx, db, opts)
	if res == nil {
		res = &orgbuild.Result{}
	}
	for _, r := range res.Rollups {
		a.logger.Info("rollup updated", "table", r.Name, "mode", r.Mode, "partitions", r.Partitions, "rows", r.Rows,
			"duration", r.Duration.String())
	}
	return res, err
}

// commitFeed reads lake's commit journal for the rollups (runner.Options.Changes).
func commitFeed(lake *load.Lake) func(context.Context, time.Time, func(string) bool) ([]runner.Change, error) {
	return func(ctx context.Context, since time.Time, seen func(string) bool) ([]runner.Change, error) {
		cs, err := lake.Commits(ctx, since, seen)
		if err != nil {
			return nil, err
		}
		out := make([]runner.Change, len(cs))
		for i, c := range cs {
			out[i] = runner.Change{Key: c.Key, At: c.CommittedAt}
			for _, p := range c.Partitions {
				out[i].Dirs = append(out[i].Dirs, p.Dir)
			}
		}
		return out, nil
	}
}
