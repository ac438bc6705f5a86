package shell

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"

	_ "github.com/duckdb/duckdb-go/v2" // the embedded DuckDB engine
)

func TestWrite(t *testing.T) {
	t.Parallel()
	r := Result{Columns: []string{"a", "b", "c"},
		Rows: [][]any{{"x", nil, []any{"p", "q"}}, {"y,z", int64(3), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}}
	for _, tc := range []struct {
		mode Mode
		want string
	}{
		{ModeCSV, "a,b,c\nx,,\"[\"\"p\"\",\"\"q\"\"]\"\n\"y,z\",3,2026-01-02T03:04:05Z\n"},
		{ModeTable, "a    b     c\nx    NULL  [\"p\",\"q\"]\ny,z  3     2026-01-02T03:04:05Z\n(2 rows)\n"},
		{ModeJSON, "[\n  {\n    \"a\": \"x\",\n    \"b\": null,\n    \"c\": [\n      \"p\",\n      \"q\"\n    ]\n  },\n  {\n    \"a\": \"y,z\",\n    \"b\": 3,\n    \"c\": \"2026-01-02T03:04:05Z\"\n  }\n]\n"},
		{ModeMarkdown, "| a | b | c |\n|---|---|---|\n| x | NULL | [\"p\",\"q\"] |\n| y,z | 3 | 2026-01-02T03:04:05Z |\n"},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.mode, r, 0); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

// TestJSONKeepsColumnOrder: the keys come in the result's order, not sorted (a map sorts them).
func TestJSONKeepsColumnOrder(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := Write(&b, ModeJSON, Result{Columns: []string{"zeta", "alpha", "mid"}, Rows: [][]any{{1, 2, 3}}}, 0); err != nil {
		t.Fatal(err)
	}
	z, a, m := strings.Index(b.String(), `"zeta"`), strings.Index(b.String(), `"alpha"`), strings.Index(b.String(), `"mid"`)
	if z < 0 || !(z < a && a < m) {
		t.Errorf("keys out of the columns' order:\n%s", b.String())
	}
}

func TestTableFitsWidth(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name  string
		r     Result
		width int
	}{
		{"one wide column", Result{Columns: []string{"id", "doc"}, Rows: [][]any{{1, long}}}, 80},
		{"many columns", Result{Columns: strings.Split(strings.Repeat("col,", 40), ",")[:40], Rows: [][]any{make([]any, 40)}}, 80},
		{"newlines in a cell", Result{Columns: []string{"a"}, Rows: [][]any{{"one\ntwo\nthree " + long}}}, 30},
		{"wide runes", Result{Columns: []string{"名前", "x"}, Rows: [][]any{{strings.Repeat("漢字", 50), long}}}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, ModeTable, tc.r, tc.width); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if len(lines) != len(tc.r.Rows)+2 {
				t.Errorf("%d lines, want a header, %d rows and the count (a cell wrapped?):\n%s", len(lines), len(tc.r.Rows), b.String())
			}
			for _, l := range lines {
				if w := runewidth.StringWidth(l); w > tc.width {
					t.Errorf("line of %d columns, more than %d: %q", w, tc.width, l)
				}
			}
			if !strings.Contains(b.String(), "…") {
				t.Errorf("nothing cut with an ellipsis:\n%s", b.String())
			}
		})
	}
}

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		stmts []string
		rest  string
	}{
		{"select 1; select 2;", []string{"select 1;", "select 2;"}, ""},
		{"select 1;\nselect\n 2", []string{"select 1;"}, "\nselect\n 2"},
		{"select ';' as s;", []string{"select ';' as s;"}, ""},
		{"select 'it''s;' ;", []string{"select 'it''s;' ;"}, ""},
		{`select 1 as "a;b";`, []string{`select 1 as "a;b";`}, ""},
		{"select 1 -- a; comment\n;", []string{"select 1 -- a; comment\n;"}, ""},
		{"select /* ; */ 1;", []string{"select /* ; */ 1;"}, ""},
		{";; -- only\n;", nil, ""},
	} {
		stmts, rest := splitStatements(tc.in)
		if !reflect.DeepEqual(stmts, tc.stmts) || rest != tc.rest {
			t.Errorf("splitStatements(%q) = %q, %q; want %q, %q", tc.in, stmts, rest, tc.stmts, tc.rest)
		}
	}
}

// memConn is one connection of an in-memory DuckDB.
func memConn(t *testing.T) *sql.Conn {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestExec(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out.csv")
	for _, tc := range []struct {
		name, text, want, wantErr string
	}{
		{"every result printed", "select 1 as a; select 2 as b", "a\n1\nb\n2\n", ""},
		{"last statement without ';'", "select 1 as a;\nselect 'x' as b", "a\n1\nb\nx\n", ""},
		{"stops at the first error", "select 1 as a; select nope; select 3 as c", "a\n1\n", "nope"},
		{"dot commands", "create table t1 (x int);\ncreate view v1 as select 1 as y;\n.tables\n.schema t1\n.mode json\nselect 1 as z, 2 as a;",
			"t1\nv1\ncolumn  type\nx       INTEGER\n(1 rows)\n[\n  {\n    \"z\": 1,\n    \"a\": 2\n  }\n]\n", ""},
		{"output to a file and back", ".output " + out + "\nselect 1 as infile;\n.output\nselect 2 as back;", "back\n2\n", ""},
		{"quit", "select 1 as a;\n.quit\nselect 2 as b;", "a\n1\n", ""},
		{"unknown dot command", ".nope", "", "unknown command .nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			sh := New(memConn(t), &stdout, &stderr, Options{Mode: ModeCSV})
			defer sh.Close()
			err := sh.Exec(context.Background(), tc.text)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if stdout.String() != tc.want {
				t.Errorf("stdout\n%s\nwant\n%s", stdout.String(), tc.want)
			}
		})
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "infile\n1\n" {
		t.Errorf(".output file: %q, %v", b, err)
	}
}

func TestScriptGoesOnAfterAnError(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	sh := New(memConn(t), &stdout, &stderr, Options{Mode: ModeCSV})
	err := sh.Script(context.Background(), strings.NewReader("select 1 as a;\nselect nope;\n.timer on\nselect 3\n as c;\n"))
	if err == nil || stdout.String() != "a\n1\nc\n3\n" || !strings.Contains(stderr.String(), "nope") || !strings.Contains(stderr.String(), "Run Time:") {
		t.Errorf("err %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// TestStatementContexts: a canceled statement leaves the shell (its connection and temporary
// views) usable for the next one.
func TestStatementContexts(t *testing.T) {
	t.Parallel()
	conn := memConn(t)
	var stdout, stderr bytes.Buffer
	sh := New(conn, &stdout, &stderr, Options{Mode: ModeCSV})
	if err := sh.Exec(context.Background(), "create temp view v as select 42 as answer;"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	start := time.Now()
	if err := sh.Statement(ctx, "select count(*) from range(10000000000)"); err == nil {
		t.Fatal("a canceled statement succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancellation took %s", d)
	}
	stdout.Reset()
	if err := sh.Statement(context.Background(), "select answer from v"); err != nil || stdout.String() != "answer\n42\n" {
		t.Errorf("after a cancel: %v, %q", err, stdout.String())
	}
}
