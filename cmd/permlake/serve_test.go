package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	_ "github.com/apache/arrow-go/v18/arrow/flight/flightsql/driver" // database/sql "flightsql"
	json "github.com/goccy/go-json"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	sqlfiles "github.com/permlake/permlake/sql"
	"github.com/permlake/permlake/sql/runner"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDemo: `permlake serve` on the demo's warehouse answers every mart as `permlake sql`
// does, lists the marts to the Flight SQL client, refuses a wrong token, and keeps answering,
// from the old or the new build, while `permlake models` rebuilds the warehouse.
func TestServeDemo(t *testing.T) {
	ctx := context.Background()
	cfg, wh, now := smallDemo(t, ctx)

	const token = "demo-token"
	t.Setenv(serveTokenEnv, token)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	sctx, stop := context.WithCancel(ctx)
	var logs syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- run(sctx, []string{"serve", "--config", cfg, "--addr", addr}, strings.NewReader(""), &logs, &logs)
	}()
	t.Cleanup(func() {
		stop()
		if code := <-served; code != exitOK {
			t.Errorf("permlake serve exit %d\n%s", code, logs.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("permlake serve does not listen on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	models, err := runner.Models(sqlfiles.FS)
	if err != nil {
		t.Fatal(err)
	}
	var marts []string
	for _, m := range models {
		if m.Layer == "marts" {
			marts = append(marts, m.Name)
		}
	}

	t.Run("GetTables lists every mart", func(t *testing.T) {
		cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		cctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		info, err := cl.GetTables(cctx, &flightsql.GetTablesOpts{})
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := cl.DoGet(cctx, info.Endpoint[0].Ticket)
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		var tables []string
		for rdr.Next() {
			rec := rdr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				tables = append(tables, strings.Clone(rec.Column(2).(*array.String).Value(i)))
			}
		}
		if err := rdr.Err(); err != nil {
			t.Fatal(err)
		}
		for _, m := range append(slices.Clone(marts), "src_aws_cloudtrail_events") {
			if !slices.Contains(tables, m) {
				t.Errorf("GetTables lacks %s: %v", m, tables)
			}
		}
	})

	fdb, err := sql.Open("flightsql", "flightsql://"+addr+"?token="+token)
	if err != nil {
		t.Fatal(err)
	}
	defer fdb.Close()

	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	lists := listMarts(t, wh)
	cols := tableColumns(t, wh)
	for _, m := range marts {
		t.Run("mart "+m+" as permlake sql answers", func(t *testing.T) {
			q := "select * from " + m + " order by all"
			code, want, stderr := runCLI(t, ctx, "sql", "--warehouse", wh, "-c", q, "--format", "csv")
			if code != exitOK {
				t.Fatalf("permlake sql exit %d: %s", code, stderr)
			}
			if strings.Count(want, "\n") < 2 && m != "unmapped_events" {
				t.Errorf("%s: no rows in the demo: the comparison proves nothing\n%s", m, want)
			}
			// The Flight SQL client: Arrow batches as Go values, rendered as permlake sql renders them.
			got, err := flightCSV(cctx, cl, q)
			if err != nil {
				t.Fatalf("Flight SQL client: %v", err)
			}
			if got != want {
				t.Errorf("%s over the Flight SQL client differs from permlake sql:\n%s\nvs\n%s", m, head(got), head(want))
			}
			// The database/sql driver; it decodes no LIST column (arrow-go's driver, fromArrowType).
			got, err = driverCSV(ctx, fdb, q)
			switch {
			case err != nil && strings.Contains(err.Error(), "*array.List: not supported") && lists[m]:
			case err != nil:
				t.Errorf("database/sql driver: %v", err)
			case got != want:
				t.Errorf("%s over the database/sql driver differs from permlake sql:\n%s\nvs\n%s", m, head(got), head(want))
			}
		})
	}

	// A BI client on the database/sql driver reads a list-holding mart's scalar columns, each
	// list among them as its <column>_text.
	for _, m := range marts {
		if !lists[m] {
			continue
		}
		t.Run("mart "+m+" scalar columns over the database/sql driver", func(t *testing.T) {
			c := cols[m]
			if len(c.lists) == 0 {
				t.Fatalf("%s: the catalog has a LIST column but none was read: %+v", m, c)
			}
			for _, l := range c.lists {
				if !slices.Contains(c.scalars, l+"_text") {
					t.Errorf("%s: LIST column %s has no %s_text column", m, l, l)
				}
			}
			q := "select " + strings.Join(c.scalars, ", ") + " from " + m + " order by all"
			code, want, stderr := runCLI(t, ctx, "sql", "--warehouse", wh, "-c", q, "--format", "csv")
			if code != exitOK {
				t.Fatalf("permlake sql exit %d: %s", code, stderr)
			}
			got, err := driverCSV(ctx, fdb, q)
			if err != nil {
				t.Fatalf("database/sql driver: %v", err)
			}
			if got != want {
				t.Errorf("%s's scalar columns over the database/sql driver differ from permlake sql:\n%s\nvs\n%s", m, head(got), head(want))
			}
			// Some row must hold a non-empty list, or the _text columns were compared as '' only.
			nonEmpty := make([]string, len(c.lists))
			for i, l := range c.lists {
				nonEmpty[i] = l + "_text <> ''"
			}
			var n int
			if err := fdb.QueryRowContext(ctx, "select count(*) from "+m+" where "+strings.Join(nonEmpty, " or ")).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("%s: no row with a non-empty list in the demo: the _text comparison proves little", m)
			}
		})
	}

	t.Run("a wrong token is refused", func(t *testing.T) {
		bad, err := sql.Open("flightsql", "flightsql://"+addr+"?token=wrong")
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		var n int
		if err := bad.QueryRow("select 1").Scan(&n); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
			t.Errorf("wrong token: %v", err)
		}
		if strings.Contains(logs.String(), token) {
			t.Error("the server logged the token")
		}
	})

	t.Run("queries while permlake models rebuilds the warehouse", func(t *testing.T) {
		const q = "select count(*), sum(uses) from permission_usage"
		var want string
		if err := fdb.QueryRow("select count(*) || ' ' || sum(uses) from permission_usage").Scan(&want); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var answers int
		var failures []string
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					var n, uses int64
					err := fdb.QueryRow(q).Scan(&n, &uses)
					mu.Lock()
					switch got := fmt.Sprint(n, " ", uses); {
					case err != nil:
						failures = append(failures, err.Error())
					case got != want:
						failures = append(failures, "answer "+got+", want "+want)
					default:
						answers++
					}
					mu.Unlock()
				}
			})
		}
		for range 2 {
			code, _, stderr := runCLI(t, ctx, "models", "--config", cfg, "--finalize", "--now", now.UTC().Format("2006-01-02T15"))
			if code != exitOK {
				t.Errorf("permlake models exit %d: %s", code, stderr)
			}
		}
		// A query after the last build reads it.
		deadline := time.Now().Add(time.Minute)
		for strings.Count(logs.String(), "warehouse replaced by a new build") < 1 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		close(done)
		wg.Wait()
		if len(failures) > 0 {
			t.Errorf("%d of %d queries failed during the rebuilds, first: %s", len(failures), len(failures)+answers, failures[0])
		}
		if answers == 0 || !strings.Contains(logs.String(), "warehouse replaced by a new build") {
			t.Errorf("%d answers; the server did not follow the new build:\n%s", answers, logs.String())
		}
	})
}

// listMarts are the warehouse's tables and views with a LIST column, which the database/sql
// driver cannot decode.
func listMarts(t *testing.T, wh string) map[string]bool {
	t.Helper()
	db := openDuck(t, wh+"?access_mode=read_only")
	names := queryStrings(t, db, `select distinct table_name from information_schema.columns where data_type like '%[]'`)
	db.Close()
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	if !out["permission_usage"] {
		t.Fatalf("no LIST column found in permission_usage (granted_by): %v", names)
	}
	return out
}

// columnKinds are a table's columns in order: the LIST ones and the others.
type columnKinds struct{ lists, scalars []string }

// tableColumns reads the warehouse catalog's columns of every table and view.
func tableColumns(t *testing.T, wh string) map[string]columnKinds {
	t.Helper()
	db := openDuck(t, wh+"?access_mode=read_only")
	defer db.Close()
	rows, err := db.Query(`select table_name, column_name, data_type like '%[]' from information_schema.columns order by table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]columnKinds{}
	for rows.Next() {
		var table, column string
		var isList bool
		if err := rows.Scan(&table, &column, &isList); err != nil {
			t.Fatal(err)
		}
		k := out[table]
		if isList {
			k.lists = append(k.lists, column)
		} else {
			k.scalars = append(k.scalars, column)
		}
		out[table] = k
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// flightCSV runs q with the Flight SQL client and renders the batches with csvText, each cell
// as the Go value DuckDB's database/sql driver would have given.
func flightCSV(ctx context.Context, cl *flightsql.Client, q string) (string, error) {
	info, err := cl.Execute(ctx, q)
	if err != nil {
		return "", err
	}
	var cols []string
	var records [][]any
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return "", err
		}
		cols = cols[:0]
		for _, f := range rdr.Schema().Fields() {
			cols = append(cols, f.Name)
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			for r := 0; r < int(rec.NumRows()); r++ {
				row := make([]any, rec.NumCols())
				for c := range row {
					if row[c], err = goCell(rec.Column(c), r); err != nil {
						rdr.Release()
						return "", fmt.Errorf("column %s: %w", cols[c], err)
					}
				}
				records = append(records, row)
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return "", err
		}
	}
	return csvText(cols, records)
}

// driverCSV runs q through the database/sql driver, rendered like flightCSV.
func driverCSV(ctx context.Context, db *sql.DB, q string) (string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var records [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		records = append(records, vals)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return csvText(cols, records)
}

// csvText renders rows as `permlake sql --format csv` prints them (its cell rules restated
// here, so that this test compares with the command's output, not with its code): NULL empty,
// timestamps UTC RFC 3339, lists as JSON, the rest as Go prints it.
func csvText(cols []string, records [][]any) (string, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(cols); err != nil {
		return "", err
	}
	for _, r := range records {
		line := make([]string, len(r))
		for i, v := range r {
			line[i] = csvCell(v)
		}
		if err := w.Write(line); err != nil {
			return "", err
		}
	}
	w.Flush()
	return buf.String(), w.Error()
}

func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		for i, e := range x {
			if t, ok := e.(time.Time); ok {
				x[i] = t.UTC().Format(time.RFC3339Nano)
			}
		}
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

func goCell(a arrow.Array, i int) (any, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	switch a := a.(type) {
	case *array.String:
		return strings.Clone(a.Value(i)), nil
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int32:
		return a.Value(i), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit), nil
	case *array.Date32:
		return a.Value(i).ToTime(), nil
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			v, err := goCell(a.ListValues(), int(j))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("type %s: add it to goCell", a.DataType())
}

func head(s string) string {
	lines := strings.SplitN(s, "\n", 6)
	return strings.Join(lines[:min(5, len(lines))], "\n")
}

// TestServeRefuses: serve exits 2, listening on nothing, when it would serve unauthenticated
// beyond loopback or with half a TLS configuration.
func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	for _, tc := range []struct {
		name, token string
		args        []string
		want        string
	}{
		{"all interfaces without a token", "", []string{"--addr", "0.0.0.0:0"}, "not a loopback address"},
		{"empty host without a token", "", []string{"--addr", ":0"}, "not a loopback address"},
		{"a certificate without its key", "t", []string{"--addr", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "c.pem")}, "both a certificate and a key"},
		{"an unreadable certificate", "t", []string{"--addr", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "c.pem"), "--tls-key", filepath.Join(dir, "k.pem")}, "tls certificate"},
		{"negative max rows", "", []string{"--addr", "127.0.0.1:0", "--max-rows", "-1"}, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(serveTokenEnv, tc.token)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, _, stderr := runCLI(t, ctx, append([]string{"serve", "--warehouse", wh}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, exitUsage, tc.want, stderr)
			}
		})
	}
}
