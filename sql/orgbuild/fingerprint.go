package orgbuild

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/permlake/permlake/schemas"
	sqlfiles "github.com/permlake/permlake/sql"
	"github.com/permlake/permlake/sql/runner"
)

// fingerprintFormat changes when what a fingerprint covers changes.
const fingerprintFormat = "orgbuild-4"

// fingerprint is a unit's two fingerprints (hex SHA-256).
type fingerprint struct {
	grants string // the grants' inputs: snapshots, organization or tenant, catalog, seeds, SQL
	unit   string // grants, activity digest, analysis time and window
	idle   string // the idle permission_usage rows' inputs (AWS; set during the build)
}

// fingerprinter computes units' fingerprints from a session's lake and rollups.
type fingerprinter struct {
	lake     string
	code     string               // the models, seeds and tests of the FS
	seeds    string               // the Go-provided seeds
	window   string               // analysis time and look-back
	aws      map[string][]string  // account → its snapshot files
	org      []string             // the organization snapshot's files (every AWS unit reads them)
	azure    []string             // every Azure snapshot file
	activity map[Unit]string      // digest of the unit's rollup rows up to the analysis time
	universe map[string]string    // cloud → digest of its action universe (universeModels)
	digests  map[string]rowDigest // snapshot file → digests of its rows
}

// rowDigest digests a snapshot file's rows, order-free (row count and sum of row hashes).
// grants covers the columns the grants are computed from: every one but the lineage columns,
// snapshot_at and the last-use columns (RoleLastUsed, sign-ins, the credential report), which
// change with every snapshot while the policies do not. all covers every column but lineage and
// snapshot_at (inactive_identities reads the last-use columns).
type rowDigest struct{ table, grants, all string }

// digestCache keeps snapshot files' row digests from build to build, by path, size and
// modification time: a snapshot object is written once (a new snapshot is another object; a
// replaced object is a new file, renamed into place), so a build reads only the files it has not
// digested before. Columns guards against a schema whose digested columns changed. It is advice:
// unreadable, it is rebuilt; two builds writing it at once leave one's whole file.
type digestCache struct {
	Format  string                  `json:"format"`
	Entries map[string]cachedDigest `json:"entries"`
	path    string
	used    map[string]bool // the entries this build looked up or added: the others are dropped
	changed bool
}

type cachedDigest struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	Columns string `json:"columns"`
	Table   string `json:"table"`
	Grants  string `json:"grants"`
	All     string `json:"all"`
}

// openDigestCache reads the cache file at path ("" or unreadable: an empty cache).
func openDigestCache(path string) *digestCache {
	c := &digestCache{path: path, used: map[string]bool{}}
	if path != "" {
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, c) == nil && c.Format == fingerprintFormat {
			c.used = map[string]bool{}
			c.path = path
		} else {
			c.Entries = nil
		}
	}
	if c.Entries == nil {
		c.Entries = map[string]cachedDigest{}
	}
	c.Format = fingerprintFormat
	return c
}

// lookup returns the digest of file abs (with info) when cached for the same columns.
func (c *digestCache) lookup(abs string, info fs.FileInfo, columns string) (rowDigest, bool) {
	e, ok := c.Entries[abs]
	if !ok || e.Size != info.Size() || e.ModTime != info.ModTime().UnixNano() || e.Columns != columns {
		return rowDigest{}, false
	}
	c.used[abs] = true
	return rowDigest{table: e.Table, grants: e.Grants, all: e.All}, true
}

// racyWindow: a file modified this recently is not cached. File times are coarse (a few
// milliseconds), so a file rewritten at once with the same size could keep its time; one older
// than this was not written in the same tick as any later rewrite.
const racyWindow = 2 * time.Second

func (c *digestCache) add(abs string, info fs.FileInfo, columns string, d rowDigest) {
	if time.Since(info.ModTime()) < racyWindow {
		return
	}
	c.Entries[abs] = cachedDigest{Size: info.Size(), ModTime: info.ModTime().UnixNano(), Columns: columns, Table: d.table, Grants: d.grants, All: d.all}
	c.used[abs] = true
	c.changed = true
}

// save writes the cache (the entries this build used) when it changed: to a temporary file,
// renamed over the old one.
func (c *digestCache) save() error {
	if c.path == "" {
		return nil
	}
	for k := range c.Entries {
		if !c.used[k] {
			delete(c.Entries, k)
			c.changed = true
		}
	}
	if !c.changed {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), filepath.Base(c.path)+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), c.path)
}

// newFingerprinter digests the session's inputs. cacheDir ("" for none) keeps the snapshot
// files' digests for the next build (digestCache).
func newFingerprinter(ctx context.Context, s *runner.Session, opts runner.Options, cacheDir string) (*fingerprinter, error) {
	f := &fingerprinter{lake: opts.Lake, aws: map[string][]string{}, digests: map[string]rowDigest{}}
	cache := openDigestCache("")
	if cacheDir != "" {
		cache = openDigestCache(filepath.Join(cacheDir, "snapshot-digests.json"))
	}
	fsys := opts.FS
	if fsys == nil {
		fsys = sqlfiles.FS
	}
	h := sha256.New()
	if err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("hash the models: %w", err)
	}
	f.code = hex.EncodeToString(h.Sum(nil))
	f.seeds = hashSeeds(opts.Seeds)
	lookback := opts.LookbackDays
	if lookback <= 0 {
		lookback = 90
	}
	f.window = fmt.Sprintf("%s/%d", opts.Now.UTC().Truncate(3600e9).Format("2006-01-02T15"), lookback)

	if opts.Lake != "" {
		for _, t := range schemas.All {
			if !t.IsSnapshot() {
				continue
			}
			// The files the session's builds read.
			files, err := s.SnapshotFiles(t)
			if err != nil {
				return nil, err
			}
			if err := f.digestFiles(ctx, s.Conn(), t, files, cache); err != nil {
				return nil, fmt.Errorf("source %s: %w", t.Name, err)
			}
			for _, file := range files {
				switch {
				case strings.HasPrefix(t.Name, "aws_iam_"):
					id := runner.PartitionID(file)
					f.aws[id] = append(f.aws[id], file)
				case strings.HasPrefix(t.Name, "aws_organizations_"):
					f.org = append(f.org, file)
				case strings.HasPrefix(t.Name, "azure_"):
					f.azure = append(f.azure, file)
				}
			}
		}
		if err := cache.save(); err != nil {
			return nil, fmt.Errorf("snapshot digests: %w", err)
		}
	}
	var err error
	if f.activity, err = activityDigests(ctx, s); err != nil {
		return nil, fmt.Errorf("digest the activity: %w", err)
	}
	if f.universe, err = universeDigests(ctx, s); err != nil {
		return nil, fmt.Errorf("action universes: %w", err)
	}
	return f, nil
}

// universeModels are the action universes: the catalog plus the actions (operations) observed
// anywhere that it does not know. Wildcard grants expand against them, so a unit's grants depend
// on what other units observed: they are built once for the whole organization, provided to
// every scoped build, and digested into the grants fingerprint.
var universeModels = map[string]string{"aws": "int_actions__universe", "azure": "int_azure_actions__universe"}

// universeDigests builds the universe models in the session from every rollup row and returns
// a digest of each, by cloud (a sum of row hashes, as activityDigests).
func universeDigests(ctx context.Context, s *runner.Session) (map[string]string, error) {
	models := make([]string, 0, len(universeModels))
	for _, m := range universeModels {
		models = append(models, m)
	}
	sort.Strings(models)
	if _, err := s.Build(ctx, runner.Plan{Scope: &runner.Scope{Azure: true, AllActivity: true}, Targets: models, SourcesNeeded: true}); err != nil && !errors.Is(err, runner.ErrDataTest) {
		return nil, err
	}
	out := map[string]string{}
	for cloud, m := range universeModels {
		var sum sql.NullString
		var n int64
		// m is a model name (a validated identifier).
		if err := s.Conn().QueryRowContext(ctx, "select cast(sum(hash(r)) as varchar), count(*) from "+m+" as r").Scan(&sum, &n); err != nil {
			return nil, err
		}
		out[cloud] = fmt.Sprintf("%s:%d", sum.String, n)
	}
	return out, nil
}

// hashSeeds hashes the Go-provided seeds, in name order.
func hashSeeds(seeds map[string]runner.Seed) string {
	names := make([]string, 0, len(seeds))
	for n := range seeds {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		s := seeds[n]
		fmt.Fprintf(h, "%s\x00%q\x00%q\x00%d\x00", n, s.Columns, s.Types, len(s.Rows))
		for _, r := range s.Rows {
			for _, v := range r {
				fmt.Fprintf(h, "%v\x1f", v)
			}
			h.Write([]byte{'\x1e'})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// activityDigests digests, per unit, the rollup rows before the analysis time that its models
// read: an AWS account's are the rows of its trail and those of calls its principals made
// anywhere (principal_account_id); Azure's are every Azure rollup row. A sum of row hashes:
// the rollups have one row per key, and the sum, unlike a xor, never cancels.
func activityDigests(ctx context.Context, s *runner.Session) (map[Unit]string, error) {
	conn := s.Conn()
	var parts []string
	for _, m := range s.Models() {
		if m.Layer != "rollups" {
			continue
		}
		cols := map[string]bool{}
		rows, err := conn.QueryContext(ctx, "select column_name from information_schema.columns where table_catalog = 'state' and table_name = ?", m.Name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			cols[c] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(cols) == 0 || !cols["hour_start"] {
			return nil, fmt.Errorf("rollup %s: no hour_start column in the state", m.Name)
		}
		// Model names are validated identifiers (runner.Models).
		from := fmt.Sprintf("from state.%s as r where r.hour_start < getvariable('now')", m.Name)
		switch {
		case strings.HasPrefix(m.Name, "rollup_aws_"):
			parts = append(parts, fmt.Sprintf("select 'aws' as cloud, r.account_id as id, hash(r) as h %s", from))
			if cols["principal_account_id"] {
				parts = append(parts, fmt.Sprintf("select 'aws', r.principal_account_id, hash(r) %s and r.principal_account_id is distinct from r.account_id and r.principal_account_id is not null", from))
			}
		case strings.HasPrefix(m.Name, "rollup_azure_"):
			parts = append(parts, fmt.Sprintf("select 'azure', '%s', hash(r) %s", AzureUnit, from))
		default:
			return nil, fmt.Errorf("rollup %s: neither rollup_aws_ nor rollup_azure_", m.Name)
		}
	}
	out := map[Unit]string{}
	if len(parts) == 0 {
		return out, nil
	}
	q := "select cloud, id, cast(sum(h) as varchar), count(*) from (" + strings.Join(parts, " union all ") + ") group by all"
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var cloud, id, sum string
		var n int64
		if err := rows.Scan(&cloud, &id, &sum, &n); err != nil {
			return nil, err
		}
		out[Unit(id)] = fmt.Sprintf("%s:%d", sum, n)
	}
	return out, rows.Err()
}

// units lists the units the lake's inputs hold: AWS accounts with a snapshot or activity, and
// Azure when it has either. Activity account IDs that are not 12 digits are returned apart.
func (f *fingerprinter) units(context.Context) ([]Unit, []string, error) {
	seen := map[Unit]bool{}
	var skipped []string
	for id := range f.aws {
		u, err := ParseUnit(id)
		if err != nil || u == AzureUnit {
			return nil, nil, fmt.Errorf("lake partition account_id=%s: not a 12-digit account ID", id)
		}
		seen[u] = true
	}
	for u := range f.activity {
		if _, err := ParseUnit(string(u)); err != nil {
			skipped = append(skipped, string(u))
			continue
		}
		seen[u] = true
	}
	if len(f.azure) > 0 {
		seen[AzureUnit] = true
	}
	out := make([]Unit, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	sort.Strings(skipped)
	return out, skipped, nil
}

// of computes unit u's fingerprints.
func (f *fingerprinter) of(_ context.Context, u Unit) (fingerprint, error) {
	g := sha256.New()
	fmt.Fprintf(g, "%s\x00grants\x00%s\x00%s\x00%s\x00%s\x00", fingerprintFormat, u, f.code, f.seeds, f.universe[u.Cloud()])
	files := f.azure
	if u != AzureUnit {
		files = append(append([]string(nil), f.aws[string(u)]...), f.org...)
	}
	grants, all := f.rowDigests(files)
	g.Write([]byte(grants))
	out := fingerprint{grants: hex.EncodeToString(g.Sum(nil))}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00unit\x00%s\x00%s\x00%s\x00%s\x00", fingerprintFormat, out.grants, f.window, f.activity[u], all)
	out.unit = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// orgKey fingerprints a whole warehouse: every unit's fingerprint (which covers its inputs, the
// models, seeds and window; every rollup row is in some unit's activity), the lake and the
// catalog version recorded in build_info.
func orgKey(units map[Unit]string, opts runner.Options) string {
	names := make([]string, 0, len(units))
	for u := range units {
		names = append(names, string(u))
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00org\x00%s\x00%s\x00%s\x00", fingerprintFormat, opts.LakeID, opts.CatalogVersion, opts.Now.UTC().Truncate(3600e9).Format("2006-01-02T15"))
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\x00", n, units[Unit(n)])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rowDigests returns the grants and all digests of files, sorted by table and digest (not by
// path: a new snapshot of the same rows lands under another date and hour).
func (f *fingerprinter) rowDigests(files []string) (grants, all string) {
	var gs, as []string
	for _, file := range files {
		d := f.digests[file]
		gs = append(gs, d.table+"="+d.grants)
		as = append(as, d.table+"="+d.all)
	}
	sort.Strings(gs)
	sort.Strings(as)
	return strings.Join(gs, "\x00"), strings.Join(as, "\x00")
}

// notGrantInput reports the columns of snapshot tables that no grant is computed from.
func notGrantInput(table, col string) bool {
	return table == "aws_iam_credential_report" || col == "snapshot_at" || strings.HasPrefix(col, "_") ||
		strings.Contains(col, "last_used") || strings.Contains(col, "sign_in")
}

// digestFiles computes the rowDigest of each of table t's files (relative to the lake): from
// cache when it holds the file, the others in one query.
func (f *fingerprinter) digestFiles(ctx context.Context, conn *sql.Conn, t *schemas.Table, files []string, cache *digestCache) error {
	if len(files) == 0 {
		return nil
	}
	partition := map[string]bool{}
	for _, c := range t.PartitionColumns() {
		partition[c.Name] = true
	}
	var grantCols, allCols []string
	for _, c := range t.Columns {
		if partition[c.Name] || c.Name == "snapshot_at" || strings.HasPrefix(c.Name, "_") {
			continue
		}
		if !identPattern.MatchString(c.Name) {
			return fmt.Errorf("column %q", c.Name)
		}
		allCols = append(allCols, c.Name)
		if !notGrantInput(t.Name, c.Name) {
			grantCols = append(grantCols, c.Name)
		}
	}
	grantsExpr := "'-'"
	if len(grantCols) > 0 {
		grantsExpr = "cast(sum(hash(" + strings.Join(grantCols, ", ") + ")) as varchar)"
	}
	allExpr := "'-'"
	if len(allCols) > 0 {
		allExpr = "cast(sum(hash(" + strings.Join(allCols, ", ") + ")) as varchar)"
	}
	// The digested columns and their types: a schema change digests every file again.
	ch := sha256.New()
	fmt.Fprintf(ch, "%s\x00%s\x00%s", t.Name, grantsExpr, allExpr)
	for _, c := range t.Columns {
		fmt.Fprintf(ch, "\x00%s %s", c.Name, c.Type)
	}
	columns := hex.EncodeToString(ch.Sum(nil))[:16]
	byPath := map[string]string{}
	infos := map[string]fs.FileInfo{}
	var quoted []string
	for _, file := range files {
		abs := filepath.Join(f.lake, filepath.FromSlash(file))
		if strings.ContainsAny(abs, "\n*?[]") {
			return fmt.Errorf("file %q: glob characters and newlines are not supported", abs)
		}
		info, err := os.Stat(abs)
		if err != nil {
			return err
		}
		if d, ok := cache.lookup(abs, info, columns); ok {
			f.digests[file] = d
			continue
		}
		byPath[abs], infos[abs] = file, info
		quoted = append(quoted, "'"+strings.ReplaceAll(abs, "'", "''")+"'")
		f.digests[file] = rowDigest{table: t.Name, grants: "0:0", all: "0:0"} // a file with no row
	}
	if len(quoted) == 0 {
		return nil
	}
	// The columns are the schema's (validated identifiers above), the paths quoted literals.
	q := fmt.Sprintf(`select filename, count(*), %s, %s
		from read_parquet([%s], filename = true, union_by_name = true, hive_partitioning = false)
		group by filename`, grantsExpr, allExpr, strings.Join(quoted, ", "))
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, g, a string
		var n int64
		if err := rows.Scan(&name, &n, &g, &a); err != nil {
			return err
		}
		file, ok := byPath[name]
		if !ok {
			return fmt.Errorf("digest: unexpected file %s", name)
		}
		f.digests[file] = rowDigest{table: t.Name, grants: fmt.Sprintf("%d:%s", n, g), all: fmt.Sprintf("%d:%s", n, a)}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for abs, file := range byPath {
		cache.add(abs, infos[abs], columns, f.digests[file])
	}
	return nil
}

// identPattern matches the schema's column names, spliced into the digest query.
var identPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// idleFingerprints fingerprints the idle permission_usage rows (granted, never called in the
// window) of the batch's AWS units, from the session's int_actions__used and int_trail__coverage:
// those rows depend only on the unit's grants (their fingerprint covers the models, seeds and
// universe too), the set of keys its principals called (successfully or not) and whether its
// trail recorded anything in the window — not on the hour or the calls' counts.
func idleFingerprints(ctx context.Context, conn *sql.Conn, batch map[Unit]fingerprint) (map[Unit]string, error) {
	var ids []string
	for u := range batch {
		if u != AzureUnit {
			ids = append(ids, string(u))
		}
	}
	out := map[Unit]string{}
	if len(ids) == 0 {
		return out, nil
	}
	// An order-free digest of each account's called keys: their count and the sum of their hashes.
	rows, err := conn.QueryContext(ctx, `
		with accounts as (select unnest(string_split(?, ',')) as account_id),
		called as (
			select account_id, count(*) as n, sum(hash(principal_arn, action_lc)::hugeint) as h
			from int_actions__used
			where uses > 0 or attempts > 0
			group by account_id
		)
		select a.account_id, coalesce(c.n, 0), cast(coalesce(c.h, 0) as varchar),
			exists (select 1 from int_trail__coverage as t where t.account_id = a.account_id)
		from accounts as a
		left join called as c on c.account_id = a.account_id`, strings.Join(ids, ","))
	if err != nil {
		return nil, fmt.Errorf("digest the called keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, sum string
		var n int64
		var covered bool
		if err := rows.Scan(&id, &n, &sum, &covered); err != nil {
			return nil, err
		}
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00idle\x00%s\x00%d\x00%s\x00%v\x00", fingerprintFormat, batch[Unit(id)].grants, n, sum, covered)
		out[Unit(id)] = hex.EncodeToString(h.Sum(nil))
	}
	return out, rows.Err()
}
