package runner

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

// TestLeastPrivilegeNeverWidensForUnknownActions: a service's statement becomes "<service>:*"
// only when every catalog action of the service was used. Actions unknown to the catalog (a
// forged or new event name) do not count toward that: 2 of kms's 3 catalog actions plus one
// unknown name must stay a list of 3 actions, never kms:*.
func TestLeastPrivilegeNeverWidensForUnknownActions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := load.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	role := "arn:aws:iam::" + acct + ":role/forger"
	seed := catalogSeed()
	seed.Rows = append(seed.Rows, []any{"kms", "Encrypt", "kms:Encrypt", "Write"}, []any{"kms", "ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", "Write"})
	rows := []schemas.CloudTrailEvent{
		ev("e1", role, "iam_role", []string{"kms:Decrypt"}, true, hour),
		ev("e2", role, "iam_role", []string{"kms:Encrypt"}, true, hour),
		ev("e3", role, "iam_role", []string{"kms:NotARealAction"}, true, hour),
	}
	w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, load.Partition{ID: acct, Hour: hour}, func(e *schemas.CloudTrailEvent) string { return e.EventID })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := Build(ctx, db, Options{Lake: l.Root(), Now: now, Seeds: map[string]Seed{"aws_iam_actions": seed}}); err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, db, `select policy_document from least_privilege_policies where principal_arn = '`+role+`'`)
	if len(got) != 1 || strings.Contains(got[0], "kms:*") || !strings.Contains(got[0], "kms:Decrypt") {
		t.Errorf("least-privilege policy of %s = %v; want the used actions listed, never kms:*", role, got)
	}
}
