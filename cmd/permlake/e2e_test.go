package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/sql/orgbuild"
)

// groundTruth is the demo generator's contract with this test (extract/demo writes it from its own
// intent, never from the pipeline's code).
type groundTruth struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Principals  []struct {
		PrincipalARN  string   `json:"principal_arn"`
		AccountID     string   `json:"account_id"`
		PrincipalType string   `json:"principal_type"`
		UsedActions   []string `json:"used_actions"`
	} `json:"principals"`
	InactiveIdentities []struct {
		PrincipalARN  string `json:"principal_arn"`
		AccountID     string `json:"account_id"`
		PrincipalType string `json:"principal_type"`
	} `json:"inactive_identities"`
	SCPDenied []struct {
		AccountID string `json:"account_id"`
		Action    string `json:"action"`
	} `json:"scp_denied"`
	Stats map[string]int `json:"stats"`
	Azure *struct {
		TenantID        string   `json:"tenant_id"`
		SubscriptionIDs []string `json:"subscription_ids"`
		Principals      []struct {
			SubscriptionID string   `json:"subscription_id"`
			PrincipalID    string   `json:"principal_id"`
			UsedActions    []string `json:"used_actions"`
		} `json:"principals"`
		InactivePrincipals []struct {
			PrincipalID   string `json:"principal_id"`
			PrincipalType string `json:"principal_type"`
		} `json:"inactive_principals"`
		Expectations []struct {
			SubscriptionID string `json:"subscription_id"`
			PrincipalID    string `json:"principal_id"`
			Action         string `json:"action"`
			Status         string `json:"status"`
		} `json:"expectations"`
	} `json:"azure"`
}

func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// runCLIAt runs the CLI with the clock stopped at now.
func runCLIAt(t *testing.T, ctx context.Context, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runAt(ctx, func() time.Time { return now }, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func openDuck(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// lakeEvents is a DuckDB expression reading the lake's CloudTrail table as analysts would.
func lakeEvents(lake string) string {
	return fmt.Sprintf(`read_parquet('%s/aws_cloudtrail_events/**/*.parquet', hive_partitioning=true, hive_types={'account_id': 'VARCHAR', 'date': 'DATE', 'hour': 'INTEGER'})`, lake)
}

func diffSets(want, got []string) (missing, extra []string) {
	w, g := map[string]bool{}, map[string]bool{}
	for _, s := range want {
		w[s] = true
	}
	for _, s := range got {
		g[s] = true
	}
	for s := range w {
		if !g[s] {
			missing = append(missing, s)
		}
	}
	for s := range g {
		if !w[s] {
			extra = append(extra, s)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

// The demo runs as the built binary (permlakeBinary, without the race detector), as `make demo`
// runs it: under -race in-process it took ~470 s of the package's time on a loaded 2-core
// machine, while the race detector watches the same code in the smaller in-process tests.
func TestDemoEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "demo-out")
	r := runChildFor(t, 15*time.Minute, nil, "demo", "--out", out)
	stdout := r.stdout
	if r.code != exitOK {
		t.Fatalf("permlake demo exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"accounts", "CloudTrail events", "principals", "fix these first"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"warehouse.duckdb", "report.html", "ground-truth.json", "permlake.yaml"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
	var gt groundTruth
	b, err := os.ReadFile(filepath.Join(out, "ground-truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &gt); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"duplicate_deliveries", "late_events", "failed_calls", "cross_account_calls", "service_events"} {
		if gt.Stats[k] == 0 {
			t.Errorf("ground truth stats: %s = 0; the demo must exercise it", k)
		}
	}

	wh := openDuck(t, filepath.Join(out, "warehouse.duckdb")+"?access_mode=read_only")
	lake := filepath.Join(out, "lake")

	t.Run("the top ten priorities are strict and explained", func(t *testing.T) { checkPriorities(t, wh) })
	t.Run("remediation of the top ten keeps every used action", func(t *testing.T) { checkRemediation(t, out, wh) })
	t.Run("the report renders in Chromium", func(t *testing.T) {
		checkReportInChromium(t, filepath.Join(out, "report.html"), artifactsDir(t))
	})

	t.Run("used actions equal the ground truth", func(t *testing.T) {
		var want []string
		for _, p := range gt.Principals {
			for _, a := range p.UsedActions {
				want = append(want, strings.ToLower(p.AccountID+" "+p.PrincipalARN+" "+a))
			}
		}
		got := queryStrings(t, wh, `select lower(account_id || ' ' || principal_arn || ' ' || action) from permission_usage
			where cloud = 'aws' and status in ('used', 'used_not_granted')`)
		if missing, extra := diffSets(want, got); len(missing)+len(extra) > 0 {
			t.Errorf("used actions differ from the ground truth\nmissing (%d): %s\nextra (%d): %s", len(missing), strings.Join(missing, "\n  "), len(extra), strings.Join(extra, "\n  "))
		}
		if len(want) == 0 {
			t.Fatal("ground truth has no used actions")
		}
	})

	t.Run("inactive identities equal the ground truth", func(t *testing.T) {
		var want []string
		for _, p := range gt.InactiveIdentities {
			want = append(want, p.AccountID+" "+p.PrincipalType+" "+p.PrincipalARN)
		}
		got := queryStrings(t, wh, `select account_id || ' ' || principal_type || ' ' || principal_arn from inactive_identities where cloud = 'aws' and credential = 'identity'`)
		if missing, extra := diffSets(want, got); len(missing)+len(extra) > 0 {
			t.Errorf("inactive identities differ\nmissing: %v\nextra: %v", missing, extra)
		}
		if len(want) == 0 {
			t.Fatal("ground truth has no inactive identity")
		}
	})

	t.Run("service control policies take away what they deny, except in the management account", func(t *testing.T) {
		if len(gt.SCPDenied) == 0 {
			t.Fatal("ground truth has no SCP-denied action")
		}
		for _, d := range gt.SCPDenied {
			if n := queryInt(t, wh, `select count(*) from permission_usage where account_id = ? and lower(action) = lower(?) and status <> 'used_not_granted'`,
				d.AccountID, d.Action); n != 0 {
				t.Errorf("%s in %s: %d principals granted it though an SCP denies it", d.Action, d.AccountID, n)
			}
		}
		// AdministratorAccess holders keep every action in the management account, which SCPs never
		// restrict, and every other action in the members.
		if n := queryInt(t, wh, `select count(*) from permission_usage where account_id = '111122223333' and action = 'cloudtrail:StopLogging'`); n == 0 {
			t.Error("the management account lost cloudtrail:StopLogging to an SCP")
		}
		if n := queryInt(t, wh, `select count(*) from permission_usage where account_id = ? and action = 'cloudtrail:LookupEvents'`, gt.SCPDenied[0].AccountID); n == 0 {
			t.Errorf("account %s lost actions no SCP denies", gt.SCPDenied[0].AccountID)
		}
	})

	t.Run("azure marts equal the ground truth", func(t *testing.T) {
		az := gt.Azure
		if az == nil || len(az.SubscriptionIDs) != 2 {
			t.Fatalf("ground truth has no Azure tenant with two subscriptions: %+v", az)
		}
		var want []string
		for _, p := range az.Principals {
			for _, a := range p.UsedActions {
				want = append(want, p.SubscriptionID+" "+p.PrincipalID+" "+strings.ToLower(a))
			}
		}
		got := queryStrings(t, wh, `select account_id || ' ' || principal_arn || ' ' || lower(action) from permission_usage
			where cloud = 'azure' and status in ('used', 'used_not_granted')`)
		if missing, extra := diffSets(want, got); len(missing)+len(extra) > 0 || len(want) == 0 {
			t.Errorf("azure used actions differ from the ground truth\nmissing: %v\nextra: %v", missing, extra)
		}
		for _, e := range az.Expectations {
			status := queryStrings(t, wh, `select status from permission_usage where cloud = 'azure' and account_id = ? and principal_arn = ? and lower(action) = ?`,
				e.SubscriptionID, e.PrincipalID, e.Action)
			switch {
			case e.Status == "not_granted" && len(status) == 1 && status[0] != "used_not_granted":
				t.Errorf("%s %s %s: %s, want not granted", e.SubscriptionID, e.PrincipalID, e.Action, status[0])
			case e.Status != "not_granted" && (len(status) != 1 || status[0] != e.Status):
				t.Errorf("%s %s %s: %v, want %s", e.SubscriptionID, e.PrincipalID, e.Action, status, e.Status)
			}
		}
		want = nil
		for _, p := range az.InactivePrincipals {
			want = append(want, az.TenantID+" "+p.PrincipalType+" "+p.PrincipalID)
		}
		got = queryStrings(t, wh, `select account_id || ' ' || principal_type || ' ' || principal_arn from inactive_identities where cloud = 'azure'`)
		if missing, extra := diffSets(want, got); len(missing)+len(extra) > 0 || len(want) == 0 {
			t.Errorf("azure inactive principals differ\nmissing: %v\nextra: %v", missing, extra)
		}
		for _, mart := range []string{"permission_usage", "service_usage", "creep_scores", "account_creep_scores", "least_privilege_policies", "unused_high_risk", "inactive_identities"} {
			if n := queryInt(t, wh, `select count(*) from `+mart+` where cloud = 'azure'`); n == 0 {
				t.Errorf("mart %s has no Azure row", mart)
			}
		}
	})

	t.Run("lake holds each event once, late and cross-account ones included", func(t *testing.T) {
		db := openDuck(t, "")
		total := queryInt(t, db, `select count(*) from `+lakeEvents(lake))
		distinct := queryInt(t, db, `select count(distinct event_id) from `+lakeEvents(lake))
		if total == 0 || total != distinct {
			t.Errorf("count(*) = %d, count(distinct event_id) = %d", total, distinct)
		}
		// Late: an event whose source file was delivered in a later hour than its event hour.
		late := queryInt(t, db, `select count(*) from `+lakeEvents(lake)+`
			where strptime(regexp_extract(_source_key, '_(\d{8}T\d{4}Z)_', 1), '%Y%m%dT%H%MZ') >= date_trunc('hour', event_time) + interval 2 hour`)
		if late == 0 {
			t.Error("no event delivered two or more hours late reached the lake")
		}
		cross := queryInt(t, db, `select count(*) from `+lakeEvents(lake)+` where principal_account_id <> account_id and principal_arn is not null`)
		if cross == 0 {
			t.Error("no cross-account call in the lake")
		}
		zero := queryInt(t, db, `select count(*) from `+lakeEvents(lake)+` where account_id like '0%'`)
		if zero == 0 {
			t.Error("the account with a leading zero lost it (or has no events)")
		}
	})

	t.Run("at least 99% of successful principal calls map to an IAM action", func(t *testing.T) {
		db := openDuck(t, "")
		var mapped, unmapped int64
		if err := db.QueryRow(`select count(*) filter (where action_mapping in ('default', 'exception', 'no_permission')),
			count(*) filter (where action_mapping = 'unmapped') from `+lakeEvents(lake)+` where is_success`).Scan(&mapped, &unmapped); err != nil {
			t.Fatal(err)
		}
		if mapped == 0 || float64(mapped)/float64(mapped+unmapped) < 0.99 {
			t.Errorf("mapped %d, unmapped %d", mapped, unmapped)
		}
		t.Logf("mapped share: %d of %d successful calls", mapped, mapped+unmapped)
	})

	t.Run("marts are published into the lake as Parquet", func(t *testing.T) {
		db := openDuck(t, "")
		// Per-account marts: one partition per cloud and account; organization-level: one object.
		for _, mart := range []string{"permission_usage", "creep_scores", "inactive_identities", "least_privilege_policies", "account_creep_scores"} {
			want := queryInt(t, wh, `select count(*) from `+mart)
			files := filepath.Join(lake, "marts", mart, "cloud=*", "account_id=*", "data.parquet")
			if mart == "permission_usage" { // idle.parquet and active.parquet
				files = filepath.Join(lake, "marts", mart, "cloud=*", "account_id=*", "*.parquet")
			}
			if mart == "account_creep_scores" {
				files = filepath.Join(lake, "marts", mart, "data.parquet")
			}
			got := queryInt(t, db, `select count(*) from read_parquet(?, hive_partitioning = true)`, files)
			if got != want || want == 0 {
				t.Errorf("lake/marts/%s holds %d rows, the warehouse %d", mart, got, want)
			}
		}
		var m orgbuild.Manifest
		b, err := os.ReadFile(filepath.Join(lake, "marts", "_manifest.json"))
		if err != nil || json.Unmarshal(b, &m) != nil || len(m.Marts) < 8 || len(m.Units) < 5 {
			t.Errorf("marts manifest: %v %s", err, b)
		}
		if _, err := os.Stat(filepath.Join(lake, "marts", "permission_usage.parquet")); err == nil {
			t.Error("the whole-mart file of the earlier layout is still in the lake")
		}
	})

	t.Run("sql command prints csv", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, ctx, "sql", "--warehouse", filepath.Join(out, "warehouse.duckdb"), "-c", "select * from permission_usage limit 5", "--format", "csv")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 6 || recs[0][0] != "cloud" {
			t.Errorf("csv = %d lines, header %v", len(recs), recs[0])
		}
	})

	t.Run("sql without a warehouse reads the lake's marts", func(t *testing.T) {
		cfg := filepath.Join(out, "permlake.yaml")
		for _, mart := range []string{"permission_usage", "creep_scores", "evidence_windows", "inactive_identities", "unused_high_risk"} {
			q := "select count(*) as n, count(distinct account_id) as accounts from " + mart
			code, mem, stderr := runCLI(t, ctx, "sql", "--config", cfg, "--warehouse", ":memory:", "--format", "csv", "-c", q)
			if code != exitOK {
				t.Fatalf("%s in memory: exit %d: %s", mart, code, stderr)
			}
			_, whOut, _ := runCLI(t, ctx, "sql", "--config", cfg, "--format", "csv", "-c", q)
			if mem != whOut || mem == "n,accounts\n0,0\n" {
				t.Errorf("%s: in memory %q, warehouse %q", mart, mem, whOut)
			}
		}
		code, mem, stderr := runCLI(t, ctx, "sql", "--config", cfg, "--warehouse", ":memory:", "--format", "csv", "-c", "select count(*) as n from src_aws_cloudtrail_events")
		if want := fmt.Sprintf("n\n%d\n", queryInt(t, openDuck(t, ""), `select count(*) from `+lakeEvents(lake))); code != exitOK || mem != want {
			t.Errorf("src_aws_cloudtrail_events in memory: exit %d, %q, want %q: %s", code, mem, want, stderr)
		}
	})

	t.Run("re-running the same hours changes nothing", func(t *testing.T) {
		db := openDuck(t, "")
		before := queryInt(t, db, `select count(*) from `+lakeEvents(lake))
		from, to := gt.WindowStart.Format("2006-01-02T15"), gt.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
		if r := runChildFor(t, 10*time.Minute, nil, "run", "--config", filepath.Join(out, "permlake.yaml"), "--from", from, "--to", to); r.code != exitOK {
			t.Fatalf("permlake run exit %d: %s", r.code, r.stderr)
		}
		after := queryInt(t, db, `select count(*) from `+lakeEvents(lake))
		distinct := queryInt(t, db, `select count(distinct event_id) from `+lakeEvents(lake))
		if after != before || distinct != after {
			t.Errorf("rows before %d, after %d, distinct %d", before, after, distinct)
		}
	})
}
