package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/sql/runner"
)

// checkPriorities holds identity_priority to issue 16's bar on the demo: the top ten strictly
// ordered, no more than a tenth of the identities sharing the top value, and every row's reason
// stated.
func checkPriorities(t *testing.T, wh *sql.DB) {
	t.Helper()
	top := queryStrings(t, wh, `select cast(priority as varchar) from identity_priority order by priority_rank limit 10`)
	if len(top) != 10 {
		t.Fatalf("identity_priority has %d rows, want at least 10", len(top))
	}
	for i := 1; i < len(top); i++ {
		if top[i] == top[i-1] {
			t.Errorf("ranks %d and %d share the priority %s: the top ten must be strict (%v)", i, i+1, top[i], top)
		}
	}
	all := queryInt(t, wh, `select count(*) from identity_priority`)
	atTop := queryInt(t, wh, `select count(*) from identity_priority where priority = (select max(priority) from identity_priority)`)
	if atTop*10 > all {
		t.Errorf("%d of %d identities share the top priority; at most a tenth may", atTop, all)
	}
	if n := queryInt(t, wh, `select count(*) from identity_priority where priority_reason = '' or display_name = ''`); n != 0 {
		t.Errorf("%d identities without a reason or a name", n)
	}
	if n := queryInt(t, wh, `select count(*) from identity_priority where cloud = 'azure' and display_name = principal_arn`); n != 0 {
		t.Errorf("%d Azure identities named only by their object ID", n)
	}
	if n := queryInt(t, wh, `select count(*) from identity_priority where account_name = account_id`); n != 0 {
		t.Errorf("%d identities whose account or subscription has no name", n)
	}
}

// step is a row of remediation_actions.
type step struct {
	cloud, account, principal, kind, target string
}

// checkRemediation applies, one at a time, every remediation step that changes what an identity
// is granted, of the demo's ten highest-priority identities and of every identity that used
// something, by re-running the grant
// expansion (int_grants__resolved, int_azure_grants__resolved) over the demo's lake without the
// detached policy, group, statement or assignment, and checks that each identity keeps every
// action it used. Each of the ten must have at least one such step, or be an inactive identity
// to delete that used nothing.
func checkRemediation(t *testing.T, out string, wh *sql.DB) {
	t.Helper()
	ctx := context.Background()
	// The top ten's steps, and those of every identity that used something (where a step that
	// took away a used action would show).
	rows, err := wh.QueryContext(ctx, `select s.cloud, s.account_id, s.principal_arn, s.step_kind, s.target
		from remediation_actions as s
		left join (select * from identity_priority order by priority_rank limit 10) as p
			on p.cloud = s.cloud and p.account_id = s.account_id and p.principal_arn = s.principal_arn
		where p.priority_rank is not null or exists (
			select 1 from permission_usage as u
			where u.cloud = s.cloud and u.account_id = s.account_id and u.principal_arn = s.principal_arn and u.status = 'used')
		order by p.priority_rank nulls last, s.cloud, s.account_id, s.principal_arn, s.step_number`)
	if err != nil {
		t.Fatal(err)
	}
	var steps []step
	for rows.Next() {
		var s step
		if err := rows.Scan(&s.cloud, &s.account, &s.principal, &s.kind, &s.target); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	top := queryStrings(t, wh, `select cloud || ' ' || account_id || ' ' || principal_arn from identity_priority order by priority_rank limit 10`)

	s, conn := grantSession(t, out)
	models := map[string]string{}
	for _, m := range s.Models() {
		models[m.Name] = m.SQL
	}
	proved := map[string]bool{}
	usedBy := map[string][]string{} // identity → the actions it used, read once
	simulated := 0
	for _, st := range steps {
		id := st.cloud + " " + st.account + " " + st.principal
		used, ok := usedBy[id]
		if !ok {
			used = queryStrings(t, wh, `select distinct lower(action) from permission_usage
				where cloud = ? and account_id = ? and principal_arn = ? and status = 'used'`, st.cloud, st.account, st.principal)
			usedBy[id] = used
		}
		if st.kind == "delete_inactive_identity" {
			if len(used) == 0 {
				proved[id] = true
			} else {
				t.Errorf("%s: delete_inactive_identity, but it used %v", id, used)
			}
			continue
		}
		sh, model, ok := simulation(st)
		if !ok {
			continue // credentials and replacements do not change what the grants model reads
		}
		simulated++
		left := simulate(t, conn, sh, model, models[model], st)
		var lost []string
		for _, a := range used {
			if !slices.Contains(left, a) {
				lost = append(lost, a)
			}
		}
		if len(lost) > 0 {
			t.Errorf("%s: %s %s removes actions it used: %v", id, st.kind, st.target, lost)
			continue
		}
		proved[id] = true
	}
	for _, id := range top {
		if !proved[id] {
			t.Errorf("%s (top ten) has no remediation step shown to keep what it used", id)
		}
	}
	if simulated < 10 {
		t.Errorf("%d steps simulated: the check proves little", simulated)
	}
	t.Logf("%d steps of %d simulated", simulated, len(steps))
}

// grantSession opens a model session over the demo's lake with the grants models built.
func grantSession(t *testing.T, out string) (*runner.Session, *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	c, err := loadConfig(newViper(), filepath.Join(out, "permlake.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := actionCatalog(c)
	if err != nil {
		t.Fatal(err)
	}
	seeds := trailSeeds(c)
	seeds["aws_iam_actions"] = catalogSeed(cat)
	db := openDuck(t, "")
	s, err := runner.Open(ctx, db, runner.Options{Lake: filepath.Join(out, "lake"), Now: demo.Config{}.WithDefaults().End,
		LookbackDays: c.LookbackDays, Seeds: seeds, State: filepath.Join(t.TempDir(), "state.duckdb"), LakeID: "remediation-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Build(ctx, runner.Plan{Targets: []string{"int_grants__resolved", "int_azure_grants__resolved"}}); err != nil {
		t.Fatal(err)
	}
	return s, s.Conn()
}

var statementTarget = regexp.MustCompile(`^inline:(.+)#([0-9]+)( \(.*\))?$`)

// shadow is a change to one input of a grants model: the rows of table that scope selects (the
// step's account or subscription: the model then computes that account alone, which is all the
// check reads), less those drop selects ("" drops nothing).
type shadow struct{ table, scope, drop string }

// simulation says which inputs a step changes and which grants model to run again.
func simulation(st step) (shadows []shadow, model string, ok bool) {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	acct := "account_id = " + q(st.account)
	sub := "subscription_id = " + q(st.account)
	who := "principal_arn = " + q(st.principal)
	switch st.kind {
	case "detach_managed_policy", "remove_inline_policy":
		return []shadow{{"int_principal_policies__resolved", acct, fmt.Sprintf("%s and attached_via = 'direct' and policy_key = %s", who, q(st.target))}}, "int_grants__resolved", true
	case "remove_from_group":
		if st.cloud == "azure" {
			return []shadow{{"int_azure_assignments__expanded", sub, fmt.Sprintf("principal_id = %s and assigned_via = %s", q(st.principal), q("group:"+st.target))}}, "int_azure_grants__resolved", true
		}
		return []shadow{{"int_principal_policies__resolved", acct, fmt.Sprintf("%s and attached_via = %s", who, q("group:"+st.target))}}, "int_grants__resolved", true
	case "remove_inline_statement":
		m := statementTarget.FindStringSubmatch(st.target)
		if m == nil {
			return nil, "", false
		}
		idx, _ := strconv.Atoi(m[2])
		// The statement leaves the policy's document (which principals' signatures are read from)
		// and its expansion.
		drop := fmt.Sprintf("policy_key = %s and statement_index = %d", q(st.principal+"#inline/"+m[1]), idx)
		return []shadow{{"int_principal_policies__resolved", acct, ""}, {"stg_aws__iam_policy_statements", acct, drop},
			{"int_statements__expanded", acct, drop}}, "int_grants__resolved", true
	case "remove_role_assignment":
		return []shadow{{"int_azure_assignments__expanded", sub, fmt.Sprintf("principal_id = %s and role_assignment_id = %s", q(st.principal), q(st.target))}}, "int_azure_grants__resolved", true
	}
	return nil, "", false
}

// simulate runs the grants model's SQL with the shadowed inputs (temporary tables of the same
// names, which DuckDB resolves before the session's) and returns the identity's granted actions,
// lower case.
func simulate(t *testing.T, conn *sql.Conn, shadows []shadow, model, modelSQL string, st step) []string {
	t.Helper()
	ctx := context.Background()
	if modelSQL == "" {
		t.Fatalf("no SQL for model %s", model)
	}
	for _, sh := range shadows {
		keep := sh.scope
		if sh.drop != "" {
			keep += " and not (" + sh.drop + ")"
		}
		before := queryConnInt(t, conn, "select count(*) from main."+sh.table+" where "+sh.scope)
		if _, err := conn.ExecContext(ctx, "create or replace temp table "+sh.table+" as select * from main."+sh.table+" where "+keep); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, "drop table if exists temp."+sh.table)
		if after := queryConnInt(t, conn, "select count(*) from temp."+sh.table); sh.drop != "" && after >= before {
			t.Fatalf("%s %s: the simulation removed no row of %s", st.kind, st.target, sh.table)
		}
	}
	if _, err := conn.ExecContext(ctx, "create or replace temp table simulated_grants as "+modelSQL); err != nil {
		t.Fatalf("re-run %s: %v", model, err)
	}
	defer conn.ExecContext(ctx, "drop table if exists temp.simulated_grants")
	left := grantedActions(t, conn, "temp.simulated_grants", model, st)
	// The step removes unused grants: fewer must be left, or the shadow was not read.
	if was := grantedActions(t, conn, "main."+model, model, st); len(left) >= len(was) {
		t.Errorf("%s %s %s: %d actions granted before, %d after: the step changed nothing", st.principal, st.kind, st.target, len(was), len(left))
	}
	return left
}

// grantedActions lists the identity's actions in a table of the grants model's shape, lower case.
func grantedActions(t *testing.T, conn *sql.Conn, table, model string, st step) []string {
	t.Helper()
	q := "select distinct lower(action) from " + table + " where account_id = ? and principal_arn = ?"
	if model == "int_azure_grants__resolved" {
		q = "select distinct operation_lc from " + table + " where subscription_id = ? and principal_id = ?"
	}
	rows, err := conn.QueryContext(context.Background(), q, st.account, st.principal)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryConnInt(t *testing.T, conn *sql.Conn, q string) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
