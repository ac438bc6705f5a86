package runner

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	sqlfiles "github.com/permlake/permlake/sql"
)

// A session reads, with SourcesNeeded, only the lake tables its models read, and lists the
// snapshot tables once: every later build of the session, in any scope, reads the files its
// first listing found (what the fingerprints digested), not a snapshot written since.
func TestSessionSourcesNeededAndListedOnce(t *testing.T) {
	ctx := context.Background()
	root := writeFixtureLake(t)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	s, err := Open(ctx, db, Options{Lake: root, Now: now, FS: sqlfiles.FS, Seeds: map[string]Seed{"aws_iam_actions": catalogSeed()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exists := func(table string) bool {
		t.Helper()
		var n int
		if err := s.Conn().QueryRowContext(ctx, "select count(*) from information_schema.tables where table_name = ?", table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := s.Conn().QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	files, err := s.SnapshotFiles(schemas.IAMUsers)
	if err != nil || len(files) != 1 {
		t.Fatalf("SnapshotFiles(users) = %v, %v; want the fixture's one file", files, err)
	}
	one := &Scope{AWS: []string{acct}}
	if _, err := s.Build(ctx, Plan{Scope: one, Targets: []string{"stg_aws__iam_users"}, SourcesNeeded: true}); err != nil {
		t.Fatal(err)
	}
	// stg_aws__iam_users reads the IAM tables (through stg_aws__iam_snapshots), not the
	// organization's or Azure's.
	if !exists("src_aws_iam_users") || exists("src_aws_organizations_accounts") || exists("src_azure_role_assignments") {
		t.Errorf("SourcesNeeded for stg_aws__iam_users: src_aws_iam_users %v, src_aws_organizations_accounts %v, src_azure_role_assignments %v; want only the first",
			exists("src_aws_iam_users"), exists("src_aws_organizations_accounts"), exists("src_azure_role_assignments"))
	}
	if n := count("select count(*) from src_aws_iam_users"); n != 2 {
		t.Errorf("src_aws_iam_users: %d rows, want the fixture's 2", n)
	}

	// A newer snapshot of the account's users, written while the session is open.
	l, err := load.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	later := load.Partition{ID: acct, Hour: now} // the fixture's snapshot is an hour older
	if _, err := load.ReplacePartition(ctx, l, schemas.IAMUsers, later, []schemas.IAMUser{
		{ARN: "arn:aws:iam::" + acct + ":user/new", UserName: "new", CreatedAt: now, SnapshotAt: now}}); err != nil {
		t.Fatal(err)
	}
	if fresh, err := LatestSnapshots(root, schemas.IAMUsers); err != nil || slices.Equal(fresh, files) {
		t.Fatalf("LatestSnapshots after the new snapshot = %v, %v; want another file than %v", fresh, err, files)
	}

	// The same scope, another model: its tables are loaded now.
	if _, err := s.Build(ctx, Plan{Scope: one, Targets: []string{"stg_aws__organizations_accounts"}, SourcesNeeded: true}); err != nil {
		t.Fatal(err)
	}
	if !exists("src_aws_organizations_accounts") || exists("src_azure_role_assignments") {
		t.Errorf("second build: src_aws_organizations_accounts %v, src_azure_role_assignments %v; want true, false",
			exists("src_aws_organizations_accounts"), exists("src_azure_role_assignments"))
	}
	// Another scope reads the users again, from the session's listing: the fixture's two users.
	two := &Scope{AWS: []string{acct, acct2}}
	if _, err := s.Build(ctx, Plan{Scope: two, Targets: []string{"stg_aws__iam_users"}, SourcesNeeded: true}); err != nil {
		t.Fatal(err)
	}
	if n := count("select count(*) from src_aws_iam_users"); n != 2 {
		t.Errorf("src_aws_iam_users in a later scope: %d rows, want the 2 the session listed (not the newer snapshot)", n)
	}
	if got, err := s.SnapshotFiles(schemas.IAMUsers); err != nil || !slices.Equal(got, files) {
		t.Errorf("SnapshotFiles(users) later = %v, %v; want %v", got, err, files)
	}

	// Without SourcesNeeded every table's src_ is there (the warehouse keeps them for queries).
	if _, err := s.Build(ctx, Plan{Scope: two, Targets: []string{"stg_aws__iam_users"}}); err != nil {
		t.Fatal(err)
	}
	for _, tb := range schemas.All {
		if !s.skip[tb.Name] && !exists("src_"+tb.Name) {
			t.Errorf("without SourcesNeeded: no src_%s", tb.Name)
		}
	}
}
