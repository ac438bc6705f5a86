package main

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/sql/runner"
)

// emptyWarehouse builds every model over an empty lake: the marts exist and hold no row.
func emptyWarehouse(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := runner.Build(context.Background(), db, runner.Options{Lake: t.TempDir(), Now: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC),
		Seeds: map[string]runner.Seed{"aws_iam_actions": catalogSeed()}}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestReportEmptyAndEscaped(t *testing.T) {
	db := emptyWarehouse(t)
	var out bytes.Buffer
	if err := writeReport(context.Background(), db, &out, time.Date(2026, 11, 16, 1, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	if !strings.Contains(page, "No data.") || !strings.Contains(page, "2026-11-16T01:00:00Z") {
		t.Errorf("empty report lacks its empty states or timestamp")
	}
	for _, q := range []string{
		`insert into creep_scores values ('aws', '012345678901', 'arn:aws:iam::012345678901:role/<script>x', 'iam_role', 10, 1, 9, 0, 3, 0.9, 66, 'medium')`,
		`insert into inactive_identities values ('aws', '012345678901', 'arn:aws:iam::012345678901:user/old', 'iam_user', 'identity', 'old', null, null, null, 400, 90)`,
		`insert into permission_usage values ('aws', '012345678901', 'arn:aws:iam::012345678901:role/<script>x', 'iam_role', 'iam:PassRole', 'iam', 'Write', 'unused', 0, 0, null, null, ['p1'], ['p1#0'], false, 'all', true, 'privilege escalation', timestamp '2026-08-18', timestamp '2026-11-16')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := writeReport(context.Background(), db, &out, time.Now()); err != nil {
		t.Fatal(err)
	}
	page = out.String()
	if strings.Contains(page, "<script") || !strings.Contains(page, "role/&lt;script&gt;x") {
		t.Error("principal ARN is not escaped")
	}
	for _, want := range []string{"<svg", "<rect", "iam:PassRole", "user/old", "never seen", ">66<"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "src="} {
		if strings.Contains(page, bad) {
			t.Errorf("report is not self-contained: has %q", bad)
		}
	}
}
