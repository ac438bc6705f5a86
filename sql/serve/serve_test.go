package serve

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	_ "github.com/apache/arrow-go/v18/arrow/flight/flightsql/driver" // database/sql "flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const testToken = "s3cret-token"

// TestBuiltWithArrow fails a test run without the duckdb_arrow tag (make test sets it) instead
// of letting every other test here fail on ErrNoArrow one by one.
func TestBuiltWithArrow(t *testing.T) {
	if !arrowBuilt {
		t.Fatal("built without -tags duckdb_arrow: run the tests through make test, or pass the tag")
	}
}

// writeWarehouse builds a small warehouse at path the way the model build publishes one: into
// a temporary file beside it, then renamed over it. gen marks every row of the build.
func writeWarehouse(t *testing.T, path, lake string, gen, rows int) {
	t.Helper()
	tmp := path + ".building"
	db, err := sql.Open("duckdb", tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`create table build_info as select %s as lake, 'key' as build_key`, sqlQuote(lake)),
		fmt.Sprintf(`create table permission_usage as select %d as build, 'aws' as cloud, lpad(i::varchar, 12, '0') as account_id,
			'arn:aws:iam::' || lpad((i %% 7)::varchar, 12, '0') || ':role/r' || i as principal_arn, 's3:GetObject' as action,
			case when i %% 3 = 0 then 'unused' else 'used' end as status, i as uses,
			timestamp '2026-11-22 07:00:00' + to_minutes(i) as last_used_at, ['a', 'b'] as tags
			from range(%d) t(i)`, gen, rows),
		`create table creep_scores as select principal_arn, (uses % 101)::integer as score from permission_usage`,
		`create view used_actions as select principal_arn, action from permission_usage where status = 'used'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startServer serves opts on a free loopback port until the test ends.
func startServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	return srv, lis.Addr().String()
}

func newClient(t *testing.T, addr string) *flightsql.Client {
	t.Helper()
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// fetch reads every endpoint of info as rows of cell texts, with the app metadata seen.
func fetch(ctx context.Context, cl *flightsql.Client, info *flight.FlightInfo) (*arrow.Schema, [][]string, []string, error) {
	var out [][]string
	var meta []string
	var sc *arrow.Schema
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, nil, nil, err
		}
		sc = rdr.Schema()
		for rdr.Next() {
			out = append(out, cellRows(rdr.RecordBatch())...)
			if m := rdr.LatestAppMetadata(); len(m) > 0 {
				meta = append(meta, string(m))
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return nil, nil, nil, err
		}
	}
	return sc, out, meta, nil
}

func cellRows(rec arrow.RecordBatch) [][]string {
	out := make([][]string, rec.NumRows())
	for r := range out {
		out[r] = make([]string, rec.NumCols())
		for c := range out[r] {
			out[r][c] = strings.Clone(rec.Column(c).ValueStr(r)) // ValueStr may alias DuckDB's buffers
		}
	}
	return out
}

// localRows is DuckDB's own answer to q on the warehouse file, through the same Arrow path.
func localRows(t *testing.T, path, q string) [][]string {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rdr, err := arrowQuery(context.Background(), conn, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var out [][]string
	for rdr.Next() {
		out = append(out, cellRows(rdr.RecordBatch())...)
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFlightSQLClient(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	writeWarehouse(t, wh, t.TempDir(), 1, 5000)
	_, addr := startServer(t, Options{Warehouse: wh, Token: testToken, Version: "test"})
	cl := newClient(t, addr)
	ctx := withToken(context.Background(), testToken)

	t.Run("GetTables lists the marts, with their schemas", func(t *testing.T) {
		info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true})
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		tables := map[string]string{}
		var usage *arrow.Schema
		for rdr.Next() {
			rec := rdr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				name := rec.Column(2).(*array.String).Value(i)
				tables[rec.Column(0).ValueStr(i)+"."+rec.Column(1).ValueStr(i)+"."+name] = rec.Column(3).ValueStr(i)
				if name == "permission_usage" {
					if usage, err = flight.DeserializeSchema(rec.Column(4).(*array.Binary).Value(i), memory.DefaultAllocator); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if err := rdr.Err(); err != nil {
			t.Fatal(err)
		}
		for name, typ := range map[string]string{
			"warehouse.main.permission_usage": "TABLE", "warehouse.main.creep_scores": "TABLE",
			"warehouse.main.used_actions": "VIEW", "warehouse.main.build_info": "TABLE",
		} {
			if tables[name] != typ {
				t.Errorf("GetTables: %s is %q, want %q (all: %v)", name, tables[name], typ, tables)
			}
		}
		if usage == nil || usage.NumFields() != 9 || !usage.HasField("last_used_at") ||
			usage.Field(usage.FieldIndices("last_used_at")[0]).Type.ID() != arrow.TIMESTAMP {
			t.Errorf("permission_usage schema: %v", usage)
		}
	})

	t.Run("GetTables filters by name pattern and type", func(t *testing.T) {
		pattern := "%usage%"
		info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{TableNameFilterPattern: &pattern, TableTypes: []string{"TABLE"}})
		if err != nil {
			t.Fatal(err)
		}
		_, rows, _, err := fetch(ctx, cl, info)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0][2] != "permission_usage" {
			t.Errorf("tables like %s: %v", pattern, rows)
		}
	})

	t.Run("catalogs, schemas, table types", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			call func() (*flight.FlightInfo, error)
			want []string // first column's values that must be there
		}{
			{"catalogs", func() (*flight.FlightInfo, error) { return cl.GetCatalogs(ctx) }, []string{"warehouse"}},
			{"schemas", func() (*flight.FlightInfo, error) { return cl.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{}) }, []string{"warehouse"}},
			{"table types", func() (*flight.FlightInfo, error) { return cl.GetTableTypes(ctx) }, []string{"TABLE", "VIEW"}},
		} {
			info, err := tc.call()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			_, rows, _, err := fetch(ctx, cl, info)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r[0])
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s: %v lacks %s", tc.name, got, w)
				}
			}
			if slices.Contains(got, "system") {
				t.Errorf("%s lists DuckDB's internal catalog: %v", tc.name, got)
			}
		}
	})

	t.Run("GetSqlInfo says read-only", func(t *testing.T) {
		info, err := cl.GetSqlInfo(ctx, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, flightsql.SqlInfoFlightSqlServerReadOnly})
		if err != nil {
			t.Fatal(err)
		}
		_, rows, _, err := fetch(ctx, cl, info)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(rows)
		if len(rows) != 2 || !strings.Contains(got, "permlake") || !strings.Contains(got, "true") {
			t.Errorf("sql info: %v", rows)
		}
	})

	for _, q := range []string{
		"select * from permission_usage order by account_id",
		"select * from creep_scores order by principal_arn",
		"select * from used_actions order by principal_arn",
		"select status, count(*) as n, max(last_used_at) from permission_usage group by all order by 1 -- trailing comment",
	} {
		t.Run("statement "+q, func(t *testing.T) {
			info, err := cl.Execute(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if sc, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator); err != nil || sc.NumFields() == 0 {
				t.Errorf("FlightInfo schema: %v %v", sc, err)
			}
			_, got, meta, err := fetch(ctx, cl, info)
			if err != nil {
				t.Fatal(err)
			}
			want := localRows(t, wh, q)
			if len(want) == 0 || !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("%d rows over Flight SQL, %d from DuckDB; first %v vs %v", len(got), len(want), first(got), first(want))
			}
			if len(meta) != 0 {
				t.Errorf("app metadata without a row limit: %v", meta)
			}
		})
	}

	t.Run("prepared statement with a bound parameter", func(t *testing.T) {
		prep, err := cl.Prepare(ctx, "select principal_arn, uses from permission_usage where uses < ? and status = ? order by uses")
		if err != nil {
			t.Fatal(err)
		}
		defer prep.Close(ctx)
		if ps := prep.ParameterSchema(); ps == nil || ps.NumFields() != 2 {
			t.Errorf("parameter schema: %v", ps)
		}
		if ds := prep.DatasetSchema(); ds == nil || ds.NumFields() != 2 {
			t.Errorf("dataset schema: %v", ds)
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, prep.ParameterSchema())
		defer b.Release()
		b.Field(0).(*array.Int64Builder).Append(10)
		b.Field(1).(*array.StringBuilder).Append("used")
		params := b.NewRecordBatch()
		defer params.Release()
		prep.SetParameters(params)
		info, err := prep.Execute(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, got, _, err := fetch(ctx, cl, info)
		if err != nil {
			t.Fatal(err)
		}
		want := localRows(t, wh, "select principal_arn, uses from permission_usage where uses < 10 and status = 'used' order by uses")
		if len(want) == 0 || !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("prepared: %v, want %v", got, want)
		}
	})
}

func first(rows [][]string) []string {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

// TestReadOnly: no statement changes the warehouse file, or writes, attaches, installs or
// configures anything, by any route a client has.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	writeWarehouse(t, wh, t.TempDir(), 1, 10)
	_, addr := startServer(t, Options{Warehouse: wh})
	cl := newClient(t, addr)
	ctx := context.Background()
	out := filepath.Join(dir, "out.csv")
	for _, q := range []string{
		"insert into permission_usage select * from permission_usage",
		"update permission_usage set uses = 0",
		"delete from permission_usage",
		"create table x as select 1 as a",
		"create temp table x as select 1 as a",
		"create view v as select 1 as a",
		"drop table creep_scores",
		"copy (select 1) to " + sqlQuote(out),
		"copy permission_usage to " + sqlQuote(out),
		"export database " + sqlQuote(filepath.Join(dir, "export")),
		"attach " + sqlQuote(filepath.Join(dir, "other.duckdb")) + " as other",
		"set threads = 1",
		"install httpfs",
		"load httpfs",
		"checkpoint",
		"select 1; create table x as select 1 as a",
		"create table x as select 1 as a; select 1",
	} {
		t.Run(q, func(t *testing.T) {
			_, err := cl.Execute(ctx, q)
			if c := status.Code(err); c != codes.PermissionDenied && c != codes.InvalidArgument {
				t.Errorf("statement: %v (code %s), want it refused", err, c)
			}
			_, err = cl.Prepare(ctx, q)
			if c := status.Code(err); c != codes.PermissionDenied && c != codes.InvalidArgument {
				t.Errorf("prepare: %v (code %s), want it refused", err, c)
			}
			if _, err := cl.ExecuteUpdate(ctx, q); status.Code(err) != codes.PermissionDenied {
				t.Errorf("update: %v, want PermissionDenied", err)
			}
		})
	}
	// Files outside the lake are not readable, whatever the table function.
	secret := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"select * from read_csv(" + sqlQuote(secret) + ")",
		"select * from read_text(" + sqlQuote(secret) + ")",
		"select * from glob(" + sqlQuote(filepath.Join(dir, "*")) + ")",
		"select * from read_parquet(" + sqlQuote(filepath.Join(dir, "*.parquet")) + ")",
	} {
		t.Run(q, func(t *testing.T) {
			info, err := cl.Execute(ctx, q)
			var rows [][]string
			if err == nil {
				_, rows, _, err = fetch(ctx, cl, info)
			}
			if err == nil || !strings.Contains(err.Error(), "Permission") {
				t.Errorf("%s: %v rows, error %v: want a permission error", q, rows, err)
			}
		})
	}
	for _, f := range []string{out, filepath.Join(dir, "export"), filepath.Join(dir, "other.duckdb")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s was written", f)
		}
	}
	if got := localRows(t, wh, "select count(*), count(*) filter (where uses = 0) from permission_usage"); fmt.Sprint(got) != "[[10 1]]" {
		t.Errorf("permission_usage changed: %v", got)
	}
	if got := localRows(t, wh, "select count(*) from information_schema.tables where table_name in ('x', 'v') or table_name = 'creep_scores'"); fmt.Sprint(got) != "[[1]]" {
		t.Errorf("tables changed: %v", got)
	}
}

func TestAuth(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	writeWarehouse(t, wh, t.TempDir(), 1, 10)
	_, addr := startServer(t, Options{Warehouse: wh, Token: testToken})
	cl := newClient(t, addr)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want codes.Code
	}{
		{"no token", context.Background(), codes.Unauthenticated},
		{"wrong token", withToken(context.Background(), "not-the-token"), codes.Unauthenticated},
		{"token prefix", withToken(context.Background(), testToken[:4]), codes.Unauthenticated},
		{"basic auth", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic "+testToken), codes.Unauthenticated},
		{"right token", withToken(context.Background(), testToken), codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.Execute(tc.ctx, "select 1")
			if status.Code(err) != tc.want {
				t.Errorf("execute: %v, want %s", err, tc.want)
			}
			_, err = cl.GetTables(tc.ctx, &flightsql.GetTablesOpts{})
			if status.Code(err) != tc.want {
				t.Errorf("get tables: %v, want %s", err, tc.want)
			}
		})
	}
	t.Run("database/sql driver with a wrong token", func(t *testing.T) {
		db, err := sql.Open("flightsql", "flightsql://"+addr+"?token=wrong")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		err = db.QueryRow("select 1").Scan(&n)
		if status.Code(errors.Unwrap(err)) != codes.Unauthenticated && !strings.Contains(fmt.Sprint(err), "Unauthenticated") {
			t.Errorf("query with a wrong token: %v", err)
		}
	})
}

func TestDriver(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	writeWarehouse(t, wh, t.TempDir(), 1, 500)
	_, addr := startServer(t, Options{Warehouse: wh, Token: testToken})
	db, err := sql.Open("flightsql", "flightsql://"+addr+"?token="+testToken)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name, q string
		args    []any
		want    string
	}{
		{"statement", "select count(*), sum(uses) from permission_usage", nil, "500 124750"},
		{"prepared with parameters", "select count(*), sum(uses) from permission_usage where uses >= ? and status = ?", []any{400, "unused"}, "33 14850"},
		{"a view", "select count(*), 0 from used_actions", nil, "333 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n, sum int64
			if err := db.QueryRow(tc.q, tc.args...).Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(n, " ", sum); got != tc.want {
				t.Errorf("%s: %s, want %s", tc.q, got, tc.want)
			}
		})
	}
	if _, err := db.Exec("create table x as select 1"); err == nil {
		t.Error("driver Exec of a CREATE: no error")
	}
}

func TestRowLimit(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	writeWarehouse(t, wh, t.TempDir(), 1, 10000) // several DuckDB chunks of 2,048 rows
	for _, tc := range []struct {
		max, want int64
		meta      bool
	}{{0, 10000, false}, {10000, 10000, false}, {2048, 2048, true}, {3000, 3000, true}, {7, 7, true}} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			_, addr := startServer(t, Options{Warehouse: wh, MaxRows: tc.max})
			cl := newClient(t, addr)
			info, err := cl.Execute(context.Background(), "select * from permission_usage order by uses")
			if err != nil {
				t.Fatal(err)
			}
			_, rows, meta, err := fetch(context.Background(), cl, info)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(rows)) != tc.want || rows[len(rows)-1][6] != fmt.Sprint(tc.want-1) {
				t.Errorf("%d rows, want %d", len(rows), tc.want)
			}
			if got := len(meta) == 1 && strings.Contains(meta[0], `"truncated":true`); got != tc.meta {
				t.Errorf("app metadata %v, want truncated=%v", meta, tc.meta)
			}
		})
	}
}

func TestQueryTimeout(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	writeWarehouse(t, wh, t.TempDir(), 1, 10)
	_, addr := startServer(t, Options{Warehouse: wh, QueryTimeout: 300 * time.Millisecond})
	cl := newClient(t, addr)
	ctx := context.Background()
	start := time.Now()
	info, err := cl.Execute(ctx, "select count(*) from range(1000000000000) a")
	if err == nil {
		_, _, _, err = fetch(ctx, cl, info)
	}
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("slow query: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the timeout stopped the query after %s", d)
	}
	// The server still answers.
	info, err = cl.Execute(ctx, "select count(*) from permission_usage")
	if err != nil {
		t.Fatal(err)
	}
	if _, rows, _, err := fetch(ctx, cl, info); err != nil || fmt.Sprint(rows) != "[[10]]" {
		t.Errorf("after a timeout: %v %v", rows, err)
	}
}

// TestWarehouseSwap replaces the warehouse file by rename, as the model build does, while
// clients query: every answer is one build's, whole, and never an error; a long stream started
// on a build finishes on it; replaced builds are closed once their queries end.
func TestWarehouseSwap(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	lake := t.TempDir()
	const rows = 3000
	writeWarehouse(t, wh, lake, 1, rows)
	srv, addr := startServer(t, Options{Warehouse: wh, Token: testToken})
	ctx := withToken(context.Background(), testToken)

	// A stream read slowly, begun on build 1.
	slow := newClient(t, addr)
	info, err := slow.Execute(ctx, "select build, uses from permission_usage order by uses")
	if err != nil {
		t.Fatal(err)
	}
	slowRdr, err := slow.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer slowRdr.Release()

	const builds = 6
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	var failures []string
	db, err := sql.Open("flightsql", "flightsql://"+addr+"?token="+testToken)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for w := range 4 {
		cl := newClient(t, addr)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var got string
				var err error
				if w%2 == 0 { // the Flight SQL client
					var info *flight.FlightInfo
					var rs [][]string
					if info, err = cl.Execute(ctx, "select build, count(*) from permission_usage group by build"); err == nil {
						_, rs, _, err = fetch(ctx, cl, info)
						got = fmt.Sprint(rs)
					}
				} else { // the database/sql driver, prepared statements
					var b, n int64
					err = db.QueryRow("select build, count(*) from permission_usage where uses >= ? group by build", 0).Scan(&b, &n)
					got = fmt.Sprintf("[[%d %d]]", b, n)
				}
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					seen[got]++
				}
				mu.Unlock()
			}
		})
	}
	// Each build is replaced once queries have answered from it (slow under -race).
	answered := func(gen int) bool {
		mu.Lock()
		defer mu.Unlock()
		return seen[fmt.Sprintf("[[%d %d]]", gen, rows)] > 0 || len(failures) > 0
	}
	for gen := 1; gen <= builds; gen++ {
		if gen > 1 {
			writeWarehouse(t, wh, lake, gen, rows)
		}
		for deadline := time.Now().Add(time.Minute); !answered(gen) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()

	// The slow stream reads build 1 to the end, though the file was replaced five times.
	var n int
	for slowRdr.Next() {
		rec := slowRdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			if b := rec.Column(0).ValueStr(i); b != "1" {
				t.Fatalf("slow stream row %d from build %s", n, b)
			}
			n++
		}
	}
	if err := slowRdr.Err(); err != nil || n != rows {
		t.Errorf("slow stream: %d rows, %v", n, err)
	}

	if len(failures) > 0 {
		t.Errorf("%d queries failed during the swaps, first: %s", len(failures), failures[0])
	}
	for got := range seen {
		ok := false
		for gen := 1; gen <= builds; gen++ {
			ok = ok || got == fmt.Sprintf("[[%d %d]]", gen, rows)
		}
		if !ok {
			t.Errorf("answer %s is not one build's", got)
		}
	}
	if len(seen) != builds {
		t.Errorf("answers per build: %v: the queries did not follow the swaps", seen)
	}
	t.Logf("answers per build: %v", seen)
	slowRdr.Release()
	slow.Close()
	// Every replaced build is closed once its queries are done; the current one stays open.
	deadline := time.Now().Add(10 * time.Second)
	for srv.wh.live.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if l := srv.wh.live.Load(); l != 1 {
		t.Errorf("%d warehouse builds open after the swaps, want 1", l)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8815", "", true},
		{"[::1]:8815", "", true},
		{"localhost:8815", "", true},
		{"0.0.0.0:8815", "", false},
		{":8815", "", false},
		{"10.1.2.3:8815", "", false},
		{"0.0.0.0:8815", "t", true},
		{"no-port", "t", false},
	} {
		if err := CheckAddr(tc.addr, tc.token); (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, token %t) = %v, want ok=%t", tc.addr, tc.token != "", err, tc.ok)
		}
	}
}

// TestPreparedLimit: prepared statements a client leaves open are bounded; closing frees a place.
func TestPreparedLimit(t *testing.T) {
	defer func(n int) { maxPrepared = n }(maxPrepared)
	maxPrepared = 2
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse.duckdb")
	writeWarehouse(t, wh, t.TempDir(), 1, 10)
	_, addr := startServer(t, Options{Warehouse: wh})
	cl := newClient(t, addr)
	ctx := context.Background()
	var open []*flightsql.PreparedStatement
	for range 2 {
		p, err := cl.Prepare(ctx, "select count(*) from permission_usage")
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, p)
	}
	if _, err := cl.Prepare(ctx, "select 1"); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a third prepared statement: %v, want ResourceExhausted", err)
	}
	if err := open[0].Close(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := cl.Prepare(ctx, "select 1")
	if err != nil {
		t.Fatalf("after a close: %v", err)
	}
	defer p.Close(ctx)
	info, err := open[1].Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, rows, _, err := fetch(ctx, cl, info); err != nil || fmt.Sprint(rows) != "[[10]]" {
		t.Errorf("the statement still open: %v %v", rows, err)
	}
}
