package orgbuild

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"golang.org/x/sync/errgroup"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/sql/runner"
)

// unitsPrefix holds one record per unit.
const unitsPrefix = "marts/_units/"

// record is a unit's marts/_units/<unit>.json: what its last build published, and from what.
type record struct {
	Unit              Unit   `json:"unit"`
	Fingerprint       string `json:"fingerprint"`
	GrantsFingerprint string `json:"grants_fingerprint"`
	// IdleFingerprint covers the idle rows of permission_usage (AWS units; see idleFingerprints).
	IdleFingerprint string                 `json:"idle_fingerprint,omitempty"`
	BuiltAt         time.Time              `json:"built_at"`
	Marts           map[string][]partition `json:"marts"` // mart → its partitions of this unit
	// Publishing marks a record whose unit's objects a build began to replace: until the unit's
	// next record, its objects may hold rows other than those its partitions digest, so a build
	// writes them all again and keeps no idle object.
	Publishing bool `json:"publishing,omitempty"`
}

// partition is one published mart object.
type partition struct {
	Key    string `json:"key"` // marts/<mart>/cloud=…/account_id=…/data.parquet
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Digest digests the rows (their count and the sum of their hashes) and the names and types
	// of their columns (columnsDigest): a build whose rows for the partition have the same digest
	// leaves its object as it is instead of writing it again (publish).
	Digest string `json:"digest,omitempty"`
}

// idlePartitions returns the unit's kept idle objects by source (see martSource), when they were
// built for idle fingerprint fp (a source without idle rows has none): ok is false when they must
// be computed again.
func (r *record) idlePartitions(fp string) (kept map[string]partition, ok bool) {
	if r == nil || fp == "" || r.IdleFingerprint != fp || r.Publishing {
		return nil, false
	}
	kept = map[string]partition{}
	for _, src := range martSources {
		if !src.keepable {
			continue
		}
		for _, p := range r.Marts[src.mart] {
			if path.Base(p.Key) == "idle.parquet" {
				kept[src.mart] = p
			}
		}
	}
	return kept, true
}

func recordKey(u Unit) string { return unitsPrefix + string(u) + ".json" }

// readRecords reads every unit record of the lake (16 at a time). A record that does not parse
// or names another unit is an error naming its key: it would otherwise hide a unit's marts.
func readRecords(ctx context.Context, lake *load.Lake) (map[Unit]*record, error) {
	var keys []string
	it := lake.Bucket().List(&blob.ListOptions{Prefix: unitsPrefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", unitsPrefix, err)
		}
		if !obj.IsDir && strings.HasSuffix(obj.Key, ".json") {
			keys = append(keys, obj.Key)
		}
	}
	out := map[Unit]*record{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, k := range keys {
		g.Go(func() error {
			b, err := lake.Bucket().ReadAll(gctx, k)
			if gcerrors.Code(err) == gcerrors.NotFound {
				return nil // removed since listed
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", k, err)
			}
			var r record
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("unit record %s: %w", k, err)
			}
			if _, err := ParseUnit(string(r.Unit)); err != nil || recordKey(r.Unit) != k {
				return fmt.Errorf("unit record %s: names unit %q", k, r.Unit)
			}
			mu.Lock()
			out[r.Unit] = &r
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// removeUnit deletes a unit's partitions, then its record.
func removeUnit(ctx context.Context, lake *load.Lake, r *record) error {
	for _, ps := range r.Marts {
		for _, p := range ps {
			if err := deleteObject(ctx, lake, p.Key); err != nil {
				return err
			}
		}
	}
	return deleteObject(ctx, lake, recordKey(r.Unit))
}

func deleteObject(ctx context.Context, lake *load.Lake, key string) error {
	err := lake.Bucket().Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// publish writes the batch's per-account marts from the session into the lake, object by
// object, then each unit's record (its commit point), and deletes the objects a unit had and no
// longer has. reused are the kept idle objects by source (see idleFingerprints) of units whose
// session rows are only the active ones. records is updated.
func publish(ctx context.Context, s *runner.Session, opts Options, batch map[Unit]fingerprint, reused map[Unit]map[string]partition, records map[Unit]*record) error {
	conn := s.Conn()
	if _, err := conn.ExecContext(ctx, "create or replace temp table orgbuild_units (account_id varchar primary key)"); err != nil {
		return err
	}
	azure := false
	for u := range batch {
		if u == AzureUnit {
			azure = true
			continue
		}
		if _, err := conn.ExecContext(ctx, "insert into orgbuild_units values (?)", string(u)); err != nil {
			return err
		}
	}
	// Constant SQL: the batch's accounts are in orgbuild_units, bound above.
	where := "cloud = 'aws' and account_id in (select account_id from orgbuild_units)"
	if azure {
		where = "(" + where + ") or cloud = 'azure'"
	}
	next := map[Unit]*record{}
	for u, fp := range batch {
		next[u] = &record{Unit: u, Fingerprint: fp.unit, GrantsFingerprint: fp.grants, IdleFingerprint: fp.idle,
			BuiltAt: time.Now().UTC().Truncate(time.Second), Marts: map[string][]partition{}}
		for mart, p := range reused[u] {
			next[u].Marts[mart] = append(next[u].Marts[mart], p)
		}
	}
	log := opts.Runner.Logger
	// 1. Each source's partitions and their digests: those whose rows are the rows of the object
	// the unit's record names (a record not marked as being published) are left as they are.
	type source struct {
		src                martSource
		rowsOf             string
		counts             map[string]int64
		digests            map[string]string
		unchanged          map[string]partition
		changed            []string
		began              time.Time
		digested, exported time.Duration
	}
	sources := make([]*source, 0, len(martSources))
	dirty := map[Unit]bool{} // units with an object to write
	for _, src := range martSources {
		w := &source{src: src, counts: map[string]int64{}, digests: map[string]string{}, unchanged: map[string]partition{}, began: time.Now()}
		sources = append(sources, w)
		table := src.table
		// The rows the session computed, without the kept rows ExtendWithFiles added.
		var n int
		if err := conn.QueryRowContext(ctx, "select count(*) from information_schema.tables where table_name = ?", table+"__built").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			table += "__built"
		}
		split := "'data'"
		if src.split != "" {
			split = src.split
		}
		// An idle-only source publishes only the idle rows (of the units whose idle rows were
		// computed): its other rows are not stored.
		w.rowsOf = fmt.Sprintf("select *, %s as part from %s as t where %s", split, table, where)
		if src.idleOnly {
			w.rowsOf = "select * from (" + w.rowsOf + ") where part = 'idle'"
		}
		schema, err := columnsDigest(ctx, conn, table)
		if err != nil {
			return fmt.Errorf("mart %s: %w", src.mart, err)
		}
		// A keepable source's idle rows are not digested: they are kept by idle fingerprint
		// (idlePartitions), and hashing them, the bulk of a full build's rows, cost more than
		// writing them. Other sources' objects are all digested.
		digested := "true"
		if src.keepable {
			digested = "part <> 'idle'"
		}
		rows, err := conn.QueryContext(ctx, "select cloud, account_id, part, count(*), coalesce(cast(sum(hash(t)) filter (where "+digested+") as varchar), '') from ("+w.rowsOf+") as t group by all")
		if err != nil {
			return fmt.Errorf("mart %s: %w", src.mart, err)
		}
		for rows.Next() {
			var cloud, id, part, sum string
			var n int64
			if err := rows.Scan(&cloud, &id, &part, &n, &sum); err != nil {
				rows.Close()
				return err
			}
			p := "cloud=" + cloud + "/account_id=" + id + "/part=" + part
			w.counts[p] = n
			if sum != "" {
				w.digests[p] = schema + ":" + strconv.FormatInt(n, 10) + ":" + sum
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for p := range w.counts {
			d := w.digests[p]
			cloud, id, part := partitionKeys(p)
			if err := validPartitionID(cloud, id); err != nil {
				return fmt.Errorf("mart %s: %w", src.mart, err)
			}
			u := unitOf(cloud, id)
			if next[u] == nil {
				return fmt.Errorf("mart %s: partition %s outside the batch", src.mart, p)
			}
			if _, ok := reused[u]; ok && src.keepable && part == "idle" {
				return fmt.Errorf("mart %s: account %s has idle rows computed although kept", src.mart, id)
			}
			if old, ok := records[u].partition(src.mart, path.Join("marts", src.mart, "cloud="+cloud, "account_id="+id, part+".parquet")); ok && d != "" && old.Digest == d && !records[u].Publishing {
				w.unchanged[p] = old
				continue
			}
			w.changed = append(w.changed, p)
			dirty[u] = true
		}
		sort.Strings(w.changed)
		w.digested = time.Since(w.began)
	}
	// 2. The records of the units whose objects are about to be replaced say so: were the build
	// killed before their new records, the next one would not take those objects for the rows
	// the old records digest (nor keep their idle objects).
	if err := markPublishing(ctx, opts.Lake, records, dirty); err != nil {
		return err
	}
	// 3. The changed partitions, written and uploaded; the unchanged ones named again.
	for _, w := range sources {
		src := w.src
		began := time.Now()
		dir := filepath.Join(opts.CacheDir, "publish", src.mart)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if len(w.changed) > 0 && len(w.changed) <= opts.each() {
			if err := copyEach(ctx, conn, w.rowsOf, dir, w.changed); err != nil {
				return fmt.Errorf("export mart %s: %w", src.mart, err)
			}
		} else if len(w.changed) > 0 {
			if _, err := conn.ExecContext(ctx, "create or replace temp table orgbuild_parts (cloud varchar, account_id varchar, part varchar)"); err != nil {
				return err
			}
			for _, p := range w.changed {
				cloud, id, part := partitionKeys(p)
				if _, err := conn.ExecContext(ctx, "insert into orgbuild_parts values (?, ?, ?)", cloud, id, part); err != nil {
					return err
				}
			}
			q := w.rowsOf
			if len(w.unchanged) > 0 {
				q = "select * from (" + w.rowsOf + ") semi join orgbuild_parts using (cloud, account_id, part)"
			}
			if err := copyPartitioned(ctx, conn, q, dir, "cloud, account_id, part", len(w.changed)); err != nil {
				return fmt.Errorf("export mart %s: %w", src.mart, err)
			}
		}
		w.exported = time.Since(began)
		for p, old := range w.unchanged {
			cloud, id, _ := partitionKeys(p)
			rec := next[unitOf(cloud, id)]
			rec.Marts[src.mart] = append(rec.Marts[src.mart], old)
		}
		// A partition that came in several files is merged on the session's connection first;
		// then the objects are uploaded concurrently (one request each on an object store).
		files := make([]string, len(w.changed))
		for i, p := range w.changed {
			file, err := onePartitionFile(ctx, conn, filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				return fmt.Errorf("mart %s partition %s: %w", src.mart, p, err)
			}
			files[i] = file
		}
		uploaded := make([]partition, len(w.changed))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(uploadConcurrency)
		for i, p := range w.changed {
			g.Go(func() error {
				cloud, id, part := partitionKeys(p)
				key := path.Join("marts", src.mart, "cloud="+cloud, "account_id="+id, part+".parquet")
				n, sum, err := upload(gctx, opts.Lake, key, files[i])
				if err != nil {
					return err
				}
				uploaded[i] = partition{Key: key, Rows: w.counts[p], Bytes: n, SHA256: sum, Digest: w.digests[p]}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for i, p := range w.changed {
			cloud, id, _ := partitionKeys(p)
			rec := next[unitOf(cloud, id)]
			rec.Marts[src.mart] = append(rec.Marts[src.mart], uploaded[i])
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		log.Debug("mart published", "table", src.mart, "partitions", len(w.counts), "unchanged", len(w.unchanged),
			"duration", (w.digested + time.Since(began)).String(), "digested", w.digested.String(), "exported", w.exported.String())
	}
	for _, rec := range next {
		for _, ps := range rec.Marts {
			slices.SortFunc(ps, func(a, b partition) int { return strings.Compare(a.Key, b.Key) })
		}
	}
	if opts.failPublish != nil {
		if err := opts.failPublish(); err != nil {
			return err
		}
	}
	began := time.Now()
	defer func() { log.Debug("unit records written", "units", len(next), "duration", time.Since(began).String()) }()
	units := make([]Unit, 0, len(next))
	for u := range next {
		units = append(units, u)
	}
	slices.Sort(units)
	for _, u := range units {
		rec := next[u]
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		if err := opts.Lake.Bucket().WriteAll(ctx, recordKey(u), append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			return fmt.Errorf("write %s: %w", recordKey(u), err)
		}
		if old := records[u]; old != nil {
			keep := map[string]bool{}
			for _, ps := range rec.Marts {
				for _, p := range ps {
					keep[p.Key] = true
				}
			}
			for _, ps := range old.Marts {
				for _, p := range ps {
					if !keep[p.Key] {
						if err := deleteObject(ctx, opts.Lake, p.Key); err != nil {
							return err
						}
					}
				}
			}
		}
		records[u] = rec
	}
	return nil
}

// unitOf is the unit of a partition's cloud and account.
func unitOf(cloud, id string) Unit {
	if cloud == "azure" {
		return AzureUnit
	}
	return Unit(id)
}

// partition returns the record's object of mart whose key is key, if any.
func (r *record) partition(mart, key string) (partition, bool) {
	if r == nil {
		return partition{}, false
	}
	for _, p := range r.Marts[mart] {
		if p.Key == key {
			return p, true
		}
	}
	return partition{}, false
}

// columnsDigest digests the names and types of table's columns (a temporary table or a view of
// the session): two partitions' rows digest alike only when stored with the same columns.
func columnsDigest(ctx context.Context, conn *sql.Conn, table string) (string, error) {
	var cols string
	err := conn.QueryRowContext(ctx, `select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position)
		from information_schema.columns where table_name = ?`, table).Scan(&cols)
	if err != nil {
		return "", fmt.Errorf("the columns of %s: %w", table, err)
	}
	h := sha256.Sum256([]byte(cols))
	return hex.EncodeToString(h[:8]), nil
}

// markPublishing rewrites the records of the dirty units that have one with Publishing set.
func markPublishing(ctx context.Context, lake *load.Lake, records map[Unit]*record, dirty map[Unit]bool) error {
	for u := range dirty {
		rec := records[u]
		if rec == nil || rec.Publishing {
			continue
		}
		rec.Publishing = true
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		if err := lake.Bucket().WriteAll(ctx, recordKey(u), append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			return fmt.Errorf("write %s: %w", recordKey(u), err)
		}
	}
	return nil
}

// partitionKeys splits "cloud=<c>/account_id=<id>/part=<name>".
func partitionKeys(p string) (cloud, id, part string) {
	a, rest, _ := strings.Cut(p, "/")
	b, c, _ := strings.Cut(rest, "/")
	_, cloud, _ = strings.Cut(a, "=")
	_, id, _ = strings.Cut(b, "=")
	_, part, _ = strings.Cut(c, "=")
	return cloud, id, part
}

// validPartitionID checks an ID before it names an object: 12 digits for AWS; a lower-case UUID
// (subscription or tenant) for Azure.
func validPartitionID(cloud, id string) error {
	switch cloud {
	case "aws":
		if awsAccountPattern.MatchString(id) {
			return nil
		}
	case "azure":
		if uuidPattern.MatchString(id) {
			return nil
		}
	}
	return fmt.Errorf("partition cloud=%s/account_id=%s: not a valid ID", cloud, id)
}

// partitionRowGroup is the row group size of the Parquet files a partitioned COPY writes. DuckDB
// keeps one writer open per partition, each buffering its row group outside memory_limit; with
// the default 122,880 rows, publishing a 4-account batch's permission_usage (8 files) was the peak
// of a shard's process. On the bench organization, shard 1/20 at a 400MB limit: 629 MiB with the
// default, 564 with 32,768 rows, 535 with 16,384; the files 32,768 rows make are no larger (an
// idle partition of ~115,000 rows: 430 KB against 446-498 KB with the default, 493 KB with 16,384).
const partitionRowGroup = 32768

// copyPartitioned writes the rows of query (constant SQL) as zstd Parquet files under dir,
// partitioned by the columns of by, n partitions with a file open for each: DuckDB keeps
// partitioned_write_max_open_files (100) open and closes the others, so a partition whose rows
// came after its file was closed got a second file, for onePartitionFile to merge with another
// COPY (most of 500 accounts' service_usage: 1.5–2 s).
//
// A COPY writes its partitions' files one after another, at 1–3 ms each whatever their rows.
// Two COPYs of half the partitions each, on two connections at once (the rows materialized in a
// table first), were no faster: the four marts every active account changes, in an hourly build
// of the 1,000-account bench organization, exported in 11.9 s against 10.9 s (same state, one run
// each).
func copyPartitioned(ctx context.Context, conn *sql.Conn, query, dir, by string, n int) (err error) {
	if n > 100 {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("set partitioned_write_max_open_files = %d", n)); err != nil {
			return err
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "reset partitioned_write_max_open_files"); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf("copy (%s) to '%s' (format parquet, compression zstd, row_group_size %d, partition_by (%s))", query, sqlString(dir), partitionRowGroup, by))
	return err
}

// eachPartitionMax is the most partitions (or accounts) written one COPY each (copyOne) instead
// of one partitioned COPY.
const eachPartitionMax = 16

// copyEach writes each of parts (cloud=…/account_id=…/part=…, as DuckDB's partition_by names
// them) of the rows of query (constant SQL, with the partition columns) as one Parquet file in
// its directory under dir, one COPY after another (copyOne).
func copyEach(ctx context.Context, conn *sql.Conn, query, dir string, parts []string) error {
	for _, p := range parts {
		cloud, id, part := partitionKeys(p)
		file := filepath.Join(dir, filepath.FromSlash(p), "data_0.parquet")
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		if err := copyOne(ctx, conn, query, []string{"cloud", "account_id", "part"}, []any{cloud, id, part}, file); err != nil {
			return fmt.Errorf("partition %s: %w", p, err)
		}
	}
	return nil
}

// copyOne writes the rows of query (constant SQL) whose columns by (identifiers) equal vals
// (bound, through a temporary table) to file, as copyPartitioned writes a partition: zstd, without
// the by columns. A partitioned COPY buffers a row group per partition at once, outside
// memory_limit: publishing a 4-account batch's permission_usage (8 partitions, ~460,000 rows) and
// caching its grants were the peaks of a shard's process. A COPY per partition buffers one; a
// batch of a few partitions scans its rows a few more times, in milliseconds.
func copyOne(ctx context.Context, conn *sql.Conn, query string, by []string, vals []any, file string) error {
	defs := make([]string, len(by))
	marks := make([]string, len(by))
	for i, c := range by {
		defs[i], marks[i] = c+" varchar", "?"
	}
	cols := strings.Join(by, ", ")
	if _, err := conn.ExecContext(ctx, "create or replace temp table orgbuild_one ("+strings.Join(defs, ", ")+")"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "insert into orgbuild_one values ("+strings.Join(marks, ", ")+")", vals...); err != nil {
		return err
	}
	// The values are bound in orgbuild_one; the path is a quoted literal (COPY takes no
	// parameter for it).
	q := fmt.Sprintf("copy (select * exclude (%s) from (%s) semi join orgbuild_one using (%s)) to '%s' (format parquet, compression zstd, row_group_size %d)",
		cols, query, cols, sqlString(file), partitionRowGroup)
	_, err := conn.ExecContext(ctx, q)
	return err
}

// uploadConcurrency is how many objects publish uploads at once.
const uploadConcurrency = 8

// onePartitionFile returns the single Parquet file of a partition directory DuckDB wrote,
// merging several into one when it wrote more.
func onePartitionFile(ctx context.Context, conn *sql.Conn, dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return "", err
	}
	switch len(files) {
	case 0:
		return "", fmt.Errorf("no file written in %s", dir)
	case 1:
		return files[0], nil
	}
	merged := filepath.Join(dir, "merged.parquet.tmp")
	q := fmt.Sprintf("copy (select * from read_parquet('%s')) to '%s' (format parquet, compression zstd)", sqlString(filepath.Join(dir, "*.parquet")), sqlString(merged))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return "", err
	}
	return merged, nil
}

// upload writes file to key (a whole-object replace) and returns its size and SHA-256.
func upload(ctx context.Context, lake *load.Lake, key, file string) (int64, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	w, err := lake.Bucket().NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/vnd.apache.parquet"})
	if err != nil {
		return 0, "", fmt.Errorf("write %s: %w", key, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err != nil {
		_ = w.Close()
		return 0, "", fmt.Errorf("write %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return 0, "", fmt.Errorf("write %s: %w", key, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// localCopies returns local paths of the partitions, by mart: in place on a file lake, else
// downloaded into dir (again only when the local copy's hash differs from the record's).
func localCopies(ctx context.Context, lake *load.Lake, dir string, records map[Unit]*record) (map[string][]string, error) {
	out := map[string][]string{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, r := range records {
		for mart, ps := range r.Marts {
			for _, p := range ps {
				g.Go(func() error {
					local, err := localCopy(gctx, lake, dir, p)
					if err != nil {
						return err
					}
					mu.Lock()
					out[mart] = append(out[mart], local)
					mu.Unlock()
					return nil
				})
			}
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, files := range out {
		sort.Strings(files)
	}
	return out, nil
}

func localCopy(ctx context.Context, lake *load.Lake, dir string, p partition) (string, error) {
	if root := lake.Root(); root != "" {
		local := filepath.Join(root, filepath.FromSlash(p.Key))
		if _, err := os.Stat(local); err != nil {
			return "", fmt.Errorf("mart partition %s: %w", p.Key, err)
		}
		return local, nil
	}
	local := filepath.Join(dir, filepath.FromSlash(p.Key))
	if sum, err := fileSHA256(local); err == nil && sum == p.SHA256 {
		return local, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", err
	}
	r, err := lake.Bucket().NewReader(ctx, p.Key, nil)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", p.Key, err)
	}
	defer r.Close()
	tmp := local + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("read %s: %w", p.Key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
		_ = os.Remove(tmp)
		// Replaced since the record was read: another build is publishing this unit.
		return "", fmt.Errorf("mart partition %s changed while read (another build is publishing it): run again", p.Key)
	}
	return local, os.Rename(tmp, local)
}

func fileSHA256(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
