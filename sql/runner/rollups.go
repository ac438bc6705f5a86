package runner

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/permlake/permlake/schemas"
	sqlfiles "github.com/permlake/permlake/sql"
)

// Rollups are the models of the rollups/ layer: aggregates of one event table per partition,
// kept in a state database between builds, so that an hourly build reads the partitions that
// changed since the last one instead of the lake's whole history. A rollup's SQL reads one
// source (src_<table>) and returns the table's partition keys among its columns; its rows for a
// partition depend on that partition's rows only.
//
// A build decides per state what to read:
//   - incremental: the commit journal (Options.Changes) since the state's last entry, less a day
//     for writers' clocks; the partitions its new entries name are aggregated again (a partition
//     gone from the lake loses its rows);
//   - full: every partition of the lake, when there is no state, the state belongs to another
//     lake or other rollup SQL, Options.Full is set, or there is no journal to follow.
//
// The state is updated in one transaction, so a build killed midway leaves it as it was.

// rollupFormat changes when the state's layout changes; the rollups' SQL is hashed in too.
const rollupFormat = "1"

// journalMargin is how far before the newest journal entry already read a build lists again:
// entries are dated by the writers' clocks, which may lag this one's.
const journalMargin = 24 * time.Hour

// Change is one entry of the lake's commit journal: a unique key, when it was written and the
// partition directories (relative to the lake root, "<table>/<key>=<id>/date=…/hour=…") it names.
type Change struct {
	Key  string
	At   time.Time
	Dirs []string
}

// RollupResult is what a build did to one rollup.
type RollupResult struct {
	Name       string
	Mode       string // "full" or "incremental"
	Partitions int    // partitions aggregated (full: every partition of the source)
	Rows       int64  // rows of the rollup after the build
	Duration   time.Duration
}

// rollupSource returns the one lake table a rollup reads.
func rollupSource(m Model) (*schemas.Table, error) {
	var found []*schemas.Table
	words := map[string]bool{}
	for _, w := range wordPattern.FindAllString(strings.ToLower(m.SQL), -1) {
		words[w] = true
	}
	for _, t := range schemas.All {
		if words["src_"+t.Name] {
			found = append(found, t)
		}
	}
	if len(found) != 1 || found[0].IsSnapshot() {
		return nil, fmt.Errorf("rollup %s (rollups/%s.sql): must read exactly one event table (src_<table>)", m.Name, m.Name)
	}
	return found[0], nil
}

var partitionDirPattern = regexp.MustCompile(`^([a-z0-9_]+)/(account_id|subscription_id|tenant_id)=([0-9a-f-]+)/date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})$`)

// dirtyPartition is one partition to aggregate again.
type dirtyPartition struct {
	dir      string // relative to the lake root
	id, date string
	hour     int
}

// updateRollups brings the state's rollups up to date with the lake (Session.Build exposes them
// to the models: rollupViews).
func updateRollups(ctx context.Context, conn *sql.Conn, opts Options, rollups []Model) ([]RollupResult, error) {
	if len(rollups) == 0 {
		return nil, nil
	}
	state := opts.State
	if state == "" {
		state = ":memory:"
	} else if err := os.MkdirAll(filepath.Dir(state), 0o755); err != nil {
		return nil, err
	}
	if err := attachState(ctx, conn, state); err != nil {
		return nil, err
	}
	for _, q := range []string{
		"create table if not exists state.rollup_meta (lake varchar, version varchar, journal_since timestamp)",
		"create table if not exists state.rollup_journal (key varchar primary key, committed_at timestamp)",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("state %s: %w", state, err)
		}
	}
	sources := map[string]*schemas.Table{}
	var tables []*schemas.Table
	h := sha256.New()
	h.Write([]byte(rollupFormat))
	for _, m := range rollups {
		t, err := rollupSource(m)
		if err != nil {
			return nil, err
		}
		sources[m.Name] = t
		if !containsTable(tables, t) {
			tables = append(tables, t)
		}
		fmt.Fprintf(h, "\x00%s\x00%s", m.Name, m.SQL)
	}
	version := hex.EncodeToString(h.Sum(nil))

	full, since, err := needsFull(ctx, conn, opts, version, rollups)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", state, err)
	}
	started := time.Now().UTC()
	var fresh []Change
	dirty := map[string][]dirtyPartition{} // by table
	if full && opts.Changes != nil && opts.Lake != "" {
		// Listed before the lake is read: every entry there now names a commit that the full
		// read below sees, so the next build need not read its partitions again.
		if fresh, err = opts.Changes(ctx, started.Add(-journalMargin), nil); err != nil {
			return nil, fmt.Errorf("read the lake's commit journal: %w", err)
		}
	}
	if !full {
		known, err := seenKeys(ctx, conn)
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", state, err)
		}
		if fresh, err = opts.Changes(ctx, since.Add(-journalMargin), func(k string) bool { return known[k] }); err != nil {
			return nil, fmt.Errorf("read the lake's commit journal: %w", err)
		}
		seen := map[string]bool{}
		for _, c := range fresh {
			for _, d := range c.Dirs {
				m := partitionDirPattern.FindStringSubmatch(d)
				if m == nil {
					return nil, fmt.Errorf("commit journal entry %s: invalid partition %q", c.Key, d)
				}
				t := schemas.ByName(m[1])
				if t == nil || !containsTable(tables, t) || m[2] != t.Partitioning.Key() || seen[d] {
					continue // a table no rollup reads
				}
				seen[d] = true
				hour, err := strconv.Atoi(m[5])
				if err != nil {
					return nil, fmt.Errorf("commit journal entry %s: invalid partition %q", c.Key, d)
				}
				dirty[t.Name] = append(dirty[t.Name], dirtyPartition{dir: d, id: m[3], date: m[4], hour: hour})
			}
		}
	}

	partitions := map[string]int{}
	took := map[string]time.Duration{} // aggregation, by table
	var out []RollupResult
	// Aggregated beside the current tables, a batch of partitions at a time, before the
	// transaction below merges them in (incremental) or swaps them in (full): many partitions
	// are never read in one statement (DuckDB keeps every file's metadata of a read_parquet call
	// in memory, outside its memory_limit: 1.2M files took 20 GB), and a build killed midway
	// leaves the state as it was.
	for _, t := range tables {
		start := time.Now()
		var files []string
		if full {
			if opts.Lake != "" {
				if files, err = fs.Glob(os.DirFS(opts.Lake), fileLayout(t)); err != nil {
					return nil, fmt.Errorf("source %s: %w", t.Name, err)
				}
			}
		} else {
			ds := dirty[t.Name]
			for i := range ds {
				matches, err := fs.Glob(os.DirFS(opts.Lake), path.Join(ds[i].dir, "*.parquet"))
				if err != nil {
					return nil, fmt.Errorf("source %s: %w", t.Name, err)
				}
				files = append(files, matches...)
			}
			if err := loadDirty(ctx, conn, t, ds); err != nil {
				return nil, err
			}
		}
		parts, err := aggregate(ctx, conn, opts, t, rollups, sources, files, full)
		if err != nil {
			return nil, err
		}
		if !full {
			parts = len(dirty[t.Name]) // those gone from the lake included
		}
		partitions[t.Name], took[t.Name] = parts, time.Since(start)
	}

	// The journal entries read, staged beside the state: inserted in the transaction below.
	if _, err := conn.ExecContext(ctx, "create or replace temp table rollup_fresh (key varchar, committed_at timestamp)"); err != nil {
		return nil, err
	}
	for rest := fresh; len(rest) > 0; {
		n := min(len(rest), 500)
		args := make([]any, 0, 2*n)
		for _, c := range rest[:n] {
			args = append(args, c.Key, c.At.UTC().Format("2006-01-02 15:04:05.999999"))
		}
		q := "insert into temp.rollup_fresh values " + strings.TrimSuffix(strings.Repeat("(?, cast(? as timestamp)), ", n), ", ")
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, m := range rollups {
		start := time.Now()
		t := sources[m.Name]
		mode := "full"
		if full {
			for _, q := range []string{"drop table if exists state." + m.Name, "alter table " + sideTable(m, true) + " rename to " + m.Name} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return nil, fmt.Errorf("rollup %s: %w", m.Name, err)
				}
			}
		} else {
			mode = "incremental"
			// What a full build killed midway left behind.
			if _, err := tx.ExecContext(ctx, "drop table if exists "+sideTable(m, true)); err != nil {
				return nil, fmt.Errorf("rollup %s: %w", m.Name, err)
			}
			var on []string
			for _, c := range t.PartitionColumns() {
				on = append(on, fmt.Sprintf("r.%s = d.%s", c.Name, c.Name))
			}
			del := fmt.Sprintf("delete from state.%s as r using rollup_dirty_%s as d where %s", m.Name, t.Name, strings.Join(on, " and "))
			if _, err := tx.ExecContext(ctx, del); err != nil {
				return nil, fmt.Errorf("rollup %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, "insert into state."+m.Name+" by name select * from "+sideTable(m, false)); err != nil {
				return nil, fmt.Errorf("rollup %s: %w", m.Name, err)
			}
		}
		out = append(out, RollupResult{Name: m.Name, Mode: mode, Partitions: partitions[t.Name], Duration: took[t.Name] + time.Since(start)})
	}
	if full {
		// Only the entries not listed again go: DuckDB checks a primary key against rows deleted
		// in the same transaction, so a key deleted and inserted again here would be ignored, the
		// journal left without it, and the next build would read its partitions again.
		for _, q := range []string{"delete from state.rollup_journal where key not in (select key from temp.rollup_fresh)", "delete from state.rollup_meta"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, "insert into state.rollup_meta values (?, ?, cast(? as timestamp))", opts.LakeID, version, started.Format("2006-01-02 15:04:05.999999")); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, "insert or ignore into state.rollup_journal select * from temp.rollup_fresh"); err != nil {
		return nil, err
	}
	// Keys older than any future listing reaches are no longer needed to recognise an entry.
	if _, err := tx.ExecContext(ctx, "delete from state.rollup_journal where committed_at < (select max(committed_at) from state.rollup_journal) - interval 3 day"); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("state %s: commit: %w", state, err)
	}
	for i, m := range rollups {
		if err := conn.QueryRowContext(ctx, "select count(*) from state."+m.Name).Scan(&out[i].Rows); err != nil {
			return nil, err
		}
		opts.Logger.Debug("rollup updated", "table", m.Name, "mode", out[i].Mode, "partitions", out[i].Partitions,
			"rows", out[i].Rows, "duration", out[i].Duration.String())
	}
	var drops []string
	for _, t := range tables {
		drops = append(drops, "drop table if exists temp.src_"+t.Name, "drop table if exists temp.rollup_dirty_"+t.Name)
	}
	drops = append(drops, "drop table if exists temp.rollup_fresh")
	if !full {
		for _, m := range rollups {
			drops = append(drops, "drop table if exists "+sideTable(m, false))
		}
	}
	for _, q := range drops {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rollupViews exposes each rollup of the state to the models as a temporary view of its name,
// narrowed to scope (scopeFilters).
func rollupViews(ctx context.Context, conn *sql.Conn, scope *Scope, rollups []Model, sources map[string]*schemas.Table) error {
	filters, err := scopeFilters(ctx, conn, scope, rollups, sources)
	if err != nil {
		return err
	}
	for _, m := range rollups {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("create or replace temp view %s as select * from state.%s%s", m.Name, m.Name, filters[m.Name])); err != nil {
			return err
		}
	}
	return nil
}

// scopeFilters returns, per rollup, the WHERE clause that narrows it to scope (empty without a
// scope): an AWS rollup keeps the rows of the scope's trails and of calls its principals made
// anywhere (principal_account_id), so that cross-account calls count for the caller; an Azure
// rollup keeps everything or nothing. The scope's accounts are in the temporary table
// scope_aws_accounts, filled with bound parameters.
func scopeFilters(ctx context.Context, conn *sql.Conn, scope *Scope, rollups []Model, sources map[string]*schemas.Table) (map[string]string, error) {
	out := map[string]string{}
	if scope == nil || scope.AllActivity {
		return out, nil
	}
	if _, err := conn.ExecContext(ctx, "create or replace temp table scope_aws_accounts (account_id varchar primary key)"); err != nil {
		return nil, err
	}
	for _, id := range scope.AWS {
		if _, err := conn.ExecContext(ctx, "insert or ignore into scope_aws_accounts values (?)", id); err != nil {
			return nil, err
		}
	}
	for _, m := range rollups {
		t := sources[m.Name]
		switch scopedBy(t) {
		case "aws":
			cols, err := tableColumns(ctx, conn, m.Name)
			if err != nil {
				return nil, err
			}
			f := " where account_id in (select account_id from scope_aws_accounts)"
			if cols["principal_account_id"] {
				f += " or principal_account_id in (select account_id from scope_aws_accounts)"
			}
			out[m.Name] = f
		case "azure":
			if !scope.Azure {
				out[m.Name] = " where false"
			}
		}
	}
	return out, nil
}

// A build reads the lake in statements of whole partitions holding at most about this many
// files and bytes: DuckDB's memory per read_parquet call grows with its files, beyond
// memory_limit. Aggregating the bench organization's 94,462 files from empty state at a 400MB
// limit peaked at 984 MiB with 4,096 files a statement, 522 MiB with 1,024 and 407 MiB with 512,
// taking 20.3, 21.7 and 23.8 s.
const (
	batchFiles = 1024
	batchBytes = 1 << 30
)

// sideTable is where a build aggregates rollup m before the final transaction: for a full build
// the state's next table (state.<rollup>__building, renamed over the old one), for an
// incremental one a temporary table of the rows of the partitions read again.
func sideTable(m Model, full bool) string {
	if full {
		return "state." + m.Name + "__building"
	}
	return "temp." + m.Name + "__delta"
}

// aggregate fills the side table of each rollup reading t (sideTable) from files, a batch of
// whole partitions at a time (a rollup's rows for a partition depend on that partition only;
// files of one directory must be adjacent), and returns how many partitions the files are in.
func aggregate(ctx context.Context, conn *sql.Conn, opts Options, t *schemas.Table, rollups []Model, sources map[string]*schemas.Table, files []string, full bool) (int, error) {
	var mine []Model
	for _, m := range rollups {
		if sources[m.Name] == t {
			mine = append(mine, m)
		}
	}
	// The tables are created from an empty source, so that they exist, typed, when no file
	// is read.
	if err := loadFiles(ctx, conn, true, opts.Lake, t, nil); err != nil {
		return 0, err
	}
	for _, m := range mine {
		create := "create or replace table "
		if !full {
			create = "create or replace temp table "
		}
		if _, err := conn.ExecContext(ctx, create+sideTable(m, full)+" as "+m.SQL); err != nil {
			return 0, fmt.Errorf("rollup %s (rollups/%s.sql): %w", m.Name, m.Name, err)
		}
	}
	cols := usedColumns(t, rollups)
	most := batchFiles
	if opts.batchFiles > 0 {
		most = opts.batchFiles
	}
	var batch []string
	var size int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := loadFiles(ctx, conn, true, opts.Lake, t, batch, cols...); err != nil {
			return err
		}
		for _, m := range mine {
			if _, err := conn.ExecContext(ctx, "insert into "+sideTable(m, full)+" by name "+m.SQL); err != nil {
				return fmt.Errorf("rollup %s (rollups/%s.sql): %w", m.Name, m.Name, err)
			}
		}
		batch, size = batch[:0], 0
		ReleaseMemory() // the files' footers, freed by DuckDB but kept by the C heap
		return nil
	}
	parts := 0
	for i, f := range files {
		if i == 0 || path.Dir(f) != path.Dir(files[i-1]) {
			parts++
			if len(batch) >= most || size >= batchBytes {
				if err := flush(); err != nil {
					return 0, err
				}
			}
		}
		info, err := os.Stat(filepath.Join(opts.Lake, filepath.FromSlash(f)))
		if err != nil {
			return 0, fmt.Errorf("source %s: %w", t.Name, err)
		}
		batch, size = append(batch, f), size+info.Size()
	}
	return parts, flush()
}

// usedColumns returns the columns of t that the rollups reading it name: only those are read
// from the Parquet files (the JSON payloads, most of an event's bytes, are not).
func usedColumns(t *schemas.Table, rollups []Model) []string {
	words := map[string]bool{}
	for _, m := range rollups {
		for _, w := range wordPattern.FindAllString(strings.ToLower(m.SQL), -1) {
			words[w] = true
		}
	}
	var out []string
	for _, c := range t.AllColumns() {
		if words[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out
}

func containsTable(ts []*schemas.Table, t *schemas.Table) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// attachState attaches the state database as "state". DuckDB cannot bind ATTACH's path, so it is
// a quoted literal; another build holding the file is waited for (up to a minute).
func attachState(ctx context.Context, conn *sql.Conn, state string) error {
	q := "attach " + quoteLiteral(state) + " as state"
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := conn.ExecContext(ctx, q)
		if err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "lock") || time.Now().After(deadline) {
			return fmt.Errorf("open state %s: %w", state, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// needsFull tells whether the rollups must be built from the whole lake, and otherwise since
// when the journal is to be read.
func needsFull(ctx context.Context, conn *sql.Conn, opts Options, version string, rollups []Model) (bool, time.Time, error) {
	if opts.Full || opts.Changes == nil || opts.Lake == "" {
		return true, time.Time{}, nil
	}
	var lake, ver string
	var since time.Time
	err := conn.QueryRowContext(ctx, "select lake, version, journal_since from state.rollup_meta").Scan(&lake, &ver, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return true, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, err
	}
	if lake != opts.LakeID || ver != version {
		return true, time.Time{}, nil
	}
	for _, m := range rollups {
		var n int
		if err := conn.QueryRowContext(ctx, "select count(*) from duckdb_tables() where database_name = 'state' and table_name = ?", m.Name).Scan(&n); err != nil {
			return false, time.Time{}, err
		}
		if n == 0 {
			return true, time.Time{}, nil
		}
	}
	var newest sql.NullTime
	if err := conn.QueryRowContext(ctx, "select max(committed_at) from state.rollup_journal").Scan(&newest); err != nil {
		return false, time.Time{}, err
	}
	if newest.Valid && newest.Time.After(since) {
		since = newest.Time
	}
	return false, since, nil
}

// seenKeys returns the journal keys the state has recorded.
func seenKeys(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "select key from state.rollup_journal")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		seen[k] = true
	}
	return seen, rows.Err()
}

// loadDirty creates temp.rollup_dirty_<table>: the partition keys of the partitions aggregated
// again, those that no longer hold a file included (their rows go).
func loadDirty(ctx context.Context, conn *sql.Conn, t *schemas.Table, parts []dirtyPartition) error {
	key := t.Partitioning.Key()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("create or replace temp table rollup_dirty_%s (%s varchar, date date, hour integer)", t.Name, key)); err != nil {
		return err
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].dir < parts[j].dir })
	if len(parts) == 0 {
		return nil
	}
	var ids, dates, hours []string
	for _, p := range parts {
		ids, dates, hours = append(ids, p.id), append(dates, p.date), append(hours, fmt.Sprint(p.hour))
	}
	// Three bound newline-separated lists, zipped: one statement however many partitions.
	q := fmt.Sprintf(`insert into rollup_dirty_%s
		select unnest(string_split(?, chr(10))), cast(unnest(string_split(?, chr(10))) as date), cast(unnest(string_split(?, chr(10))) as integer)`, t.Name)
	_, err := conn.ExecContext(ctx, q, strings.Join(ids, "\n"), strings.Join(dates, "\n"), strings.Join(hours, "\n"))
	return err
}

// SourceViews creates on conn, for a query session over a built warehouse, temporary views
// src_<table> of the tables the models read through rollups and the warehouse therefore does not
// hold (the CloudTrail events): the lake's files at lake, read where they lie. A table without
// files is an empty typed table. DuckDB cannot bind parameters in a view, so the glob is a quoted
// literal (a lake root with glob characters or a newline is refused).
func SourceViews(ctx context.Context, conn *sql.Conn, lake string) error {
	if strings.ContainsAny(lake, "*?[]\\\n") {
		return fmt.Errorf("lake path %q: glob characters (*?[]\\) and newlines are not supported", lake)
	}
	models, err := Models(sqlfiles.FS)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, m := range models {
		if m.Layer != "rollups" {
			continue
		}
		t, err := rollupSource(m)
		if err != nil {
			return err
		}
		if done[t.Name] {
			continue
		}
		done[t.Name] = true
		layout := fileLayout(t)
		files, err := fs.Glob(os.DirFS(lake), layout)
		if err != nil {
			return fmt.Errorf("source %s: %w", t.Name, err)
		}
		if len(files) == 0 {
			if err := loadFiles(ctx, conn, true, lake, t, nil); err != nil {
				return err
			}
			continue
		}
		q := fmt.Sprintf("create or replace temp view src_%s as select * from read_parquet(%s, hive_partitioning = true, union_by_name = true, hive_types = %s)",
			t.Name, quoteLiteral(filepath.Join(lake, filepath.FromSlash(layout))), t.HiveTypes())
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("source %s: %w", t.Name, err)
		}
	}
	return nil
}
