package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
)

// TestPartialRunNamesTheFailedAccount: an account that cannot be read fails alone; the healthy
// ones commit, the exit code is 3 and both the error and the run manifest name it.
func TestPartialRunNamesTheFailedAccount(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	c := readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: org.Accounts[2].ID, Name: "healthy"}, {ID: "999999999999", Name: "missing"}})
	c.Warehouse = filepath.Join(dir, "w.duckdb")
	cfg := saveConfig(t, c, dir, "permlake")
	hour := org.WindowStart.Format("2006-01-02T15")
	code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", hour, "--to", org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15"))
	if code != exitPartial || !strings.Contains(stderr, "999999999999") {
		t.Fatalf("exit %d, stderr %q; want 3 naming 999999999999", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "aws_cloudtrail_events", "account_id="+org.Accounts[2].ID)); err != nil {
		t.Errorf("the healthy account did not commit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "w.duckdb")); err != nil {
		t.Errorf("models were not built for the healthy account: %v", err)
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "lake", "_manifests", "runs", "*.json"))
	if len(runs) != 1 {
		t.Fatalf("run manifests: %v", runs)
	}
	b, _ := os.ReadFile(runs[0])
	var m load.RunManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.ExitCode != exitPartial || len(m.Accounts) != 2 || m.Accounts[1].Status != "failed" || m.Accounts[0].Status != "ok" || m.Accounts[0].Objects == 0 {
		t.Errorf("manifest = %+v", m)
	}

	// Every account failing publishes nothing: exit 1.
	c.AWS.Accounts = []AccountConfig{{ID: "999999999999"}}
	if err := writeDemoConfig(cfg, c); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, ctx, "run", "--config", cfg, "--hour", hour); code != exitFailed {
		t.Errorf("all accounts failed: exit %d, want 1", code)
	}
	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"run", "--config", cfg, "--hour", "yesterday"},
		{"run", "--config", cfg, "--accounts", "123"},
		{"sql", "--warehouse", filepath.Join(dir, "nope.duckdb"), "-c", "select 1"},
		{"sql", "--warehouse", filepath.Join(dir, "w.duckdb"), "-c", "select 1", "--format", "xml"},
	} {
		if code, _, _ := runCLI(t, ctx, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestSQLInteractiveAndDocs(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	db := openDuck(t, wh)
	if _, err := db.Exec("create table t as select 1 as a union all select 2"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var out, errb strings.Builder
	code := run(context.Background(), []string{"sql", "--warehouse", wh, "--format", "csv"},
		strings.NewReader("select sum(a) as s\nfrom t;\nselect nope;\nselect count(*) as n from t;\n"), &out, &errb)
	if code != exitFailed || out.String() != "s\n3\nn\n2\n" || !strings.Contains(errb.String(), "nope") {
		t.Errorf("repl: exit %d, out %q, err %q (want the bad statement reported, the others run, exit 1)", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"docs"}, strings.NewReader(""), &out, &errb); code != exitOK ||
		!strings.Contains(out.String(), "## aws_cloudtrail_events") || !strings.Contains(out.String(), "| principal_arn | VARCHAR |") {
		t.Errorf("docs: exit %d\n%s", code, out.String())
	}
}

// TestBadLogFilesAreNamedAndSkipped: an empty, a truncated and a non-CloudTrail object are each
// named in the log, the ledger, the manifest and the error; every other file of the account is
// ingested; the run is partial (exit 3). After maxAttempts runs they are quarantined: skipped,
// listed in the manifest, and the run is ok again.
func TestBadLogFilesAreNamedAndSkipped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	acct := org.Accounts[2].ID
	day := org.WindowStart
	folder := trailFolder(src, org, acct, day)
	name := func(min int, tag string) string {
		return filepath.Join(folder, acct+"_CloudTrail_us-east-1_"+day.Add(time.Duration(min)*time.Minute).Format("20060102T1504Z")+"_"+tag+".json.gz")
	}
	bad := map[string][]byte{
		name(7, "EMPTYEMPTYEMPTY0"): {},
		name(8, "TRUNCATEDTRUNCA1"): {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xab},
		name(9, "NOTJSONNOTJSON02"): []byte("<html>not a log</html>"),
	}
	for p, b := range bad {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: acct}})
	c.AWS.IAMSnapshots = StoreConfig{}
	cfg := saveConfig(t, c, dir, "permlake")
	code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", day.Format("2006-01-02T15"), "--to", org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15"), "--no-models")
	if code != exitPartial || !strings.Contains(stderr, "unreadable object") {
		t.Fatalf("exit %d, want 3: %s", code, stderr)
	}
	for p := range bad {
		if !strings.Contains(stderr, filepath.Base(p)) {
			t.Errorf("log does not name %s", filepath.Base(p))
		}
	}
	l, err := load.Open(ctx, filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	led, err := l.Ingested(ctx, sourceCloudTrail, acct, day)
	if err != nil {
		t.Fatal(err)
	}
	var failed, ok int
	for _, o := range led {
		if o.Error != "" {
			failed++
		} else {
			ok++
		}
	}
	if failed != 3 || ok == 0 {
		t.Errorf("ledger: %d failed, %d ok; want 3 failed and the rest ok", failed, ok)
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "lake", "_manifests", "runs", "*.json"))
	b, _ := os.ReadFile(runs[0])
	var m load.RunManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Accounts) != 1 || len(m.Accounts[0].ObjectErrors) != 3 {
		t.Errorf("manifest object errors = %+v", m.Accounts)
	}

	args := []string{"run", "--config", cfg, "--from", day.Format("2006-01-02T15"), "--to", org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15"), "--no-models"}
	for attempt := 2; attempt <= load.MaxAttempts; attempt++ {
		if code, _, stderr := runCLI(t, ctx, args...); code != exitPartial {
			t.Fatalf("attempt %d: exit %d, want 3: %s", attempt, code, stderr)
		}
	}
	// Quarantined: skipped, but the run is still partial and the hours are not complete until
	// an operator acknowledges the loss.
	code, _, stderr = runCLI(t, ctx, args...)
	if code != exitPartial || !strings.Contains(stderr, "quarantined object") {
		t.Fatalf("after %d failed attempts: exit %d, want 3 naming the quarantined files: %s", load.MaxAttempts, code, stderr)
	}
	runs, _ = filepath.Glob(filepath.Join(dir, "lake", "_manifests", "runs", "*.json"))
	quarantined := 0
	for _, r := range runs {
		b, _ := os.ReadFile(r)
		var m load.RunManifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Accounts {
			quarantined += len(a.Quarantined)
		}
	}
	if quarantined != 3 {
		t.Errorf("manifests list %d quarantined objects, want 3", quarantined)
	}
	hourDone := func(h time.Time) bool {
		_, err := os.Stat(filepath.Join(dir, "lake", "_manifests", "success", "date="+h.Format("2006-01-02"), "hour="+h.Format("15"), "_SUCCESS"))
		return err == nil
	}
	if hourDone(day) {
		t.Errorf("hour %s marked complete with 3 quarantined files", day.Format("2006-01-02T15"))
	}
	statusAt := org.WindowEnd.Add(time.Hour)
	_, out, _ := runCLIAt(t, ctx, statusAt, "status", "--config", cfg, "--json")
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(rep.Quarantined) != 3 || rep.Quarantined[0].Acknowledged != nil || rep.Quarantined[0].Error == "" {
		t.Errorf("status lists %+v, want the 3 unacknowledged files with their errors", rep.Quarantined)
	}
	// Acknowledging one by key, then the rest; a key that is not quarantined is refused.
	first := rep.Quarantined[0].Key
	if code, _, stderr := runCLIAt(t, ctx, statusAt, "quarantine", "ack", "--config", cfg, "AWSLogs/nope.json.gz"); code != exitUsage || !strings.Contains(stderr, "nope.json.gz") {
		t.Errorf("ack of an unknown key: exit %d, %s", code, stderr)
	}
	if code, out, stderr := runCLIAt(t, ctx, statusAt, "quarantine", "ack", "--config", cfg, "--note", "truncated upstream", first); code != exitOK || !strings.Contains(out, first) {
		t.Fatalf("ack %s: exit %d, %s %s", first, code, out, stderr)
	}
	if code, _, _ := runCLI(t, ctx, args...); code != exitPartial {
		t.Errorf("with 2 of 3 quarantined files unacknowledged: exit %d, want 3", code)
	}
	if code, _, stderr := runCLIAt(t, ctx, statusAt, "quarantine", "ack", "--config", cfg, "--all"); code != exitOK {
		t.Fatalf("ack --all: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, ctx, args...); code != exitOK {
		t.Errorf("every quarantined file acknowledged: exit %d, want 0: %s", code, stderr)
	}
	if !hourDone(day) {
		t.Errorf("hour %s not marked complete after the acknowledgement", day.Format("2006-01-02T15"))
	}
	_, out, _ = runCLIAt(t, ctx, statusAt, "quarantine", "--config", cfg, "--json")
	var listed []quarantinedObject
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[0].Acknowledged == nil {
		t.Errorf("quarantine --json = %+v, want 3 acknowledged", listed)
	}
	for _, o := range listed {
		if o.Key == first && o.Acknowledged.Note != "truncated upstream" {
			t.Errorf("%s acknowledgement = %+v, want its note", first, o.Acknowledged)
		}
	}
	// A new version of a quarantined file is read again: here, a readable one.
	good, err := os.ReadFile(filepath.Join(folder, firstLogFile(t, folder)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name(9, "NOTJSONNOTJSON02"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, ctx, args...); code != exitOK {
		t.Errorf("after a quarantined file was replaced: exit %d, want 0: %s", code, stderr)
	}
	led, err = l.Ingested(ctx, sourceCloudTrail, acct, day)
	if err != nil {
		t.Fatal(err)
	}
	if o := led[strings.TrimPrefix(name(9, "NOTJSONNOTJSON02"), filepath.Join(src, "s3", org.TrailBucket)+"/")]; o.Error != "" || o.Records == 0 {
		t.Errorf("the replaced file's ledger record = %+v, want read", o)
	}
}

// firstLogFile is the name of a log file in folder that the demo wrote (a readable one).
func firstLogFile(t *testing.T, folder string) string {
	t.Helper()
	es, err := os.ReadDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if !strings.Contains(e.Name(), "EMPTY") && !strings.Contains(e.Name(), "TRUNC") && !strings.Contains(e.Name(), "NOTJSON") {
			return e.Name()
		}
	}
	t.Fatal("no log file")
	return ""
}

// TestOneAccountOfTenFails: nine accounts commit, the tenth (no trail folder, no IAM snapshot)
// fails alone — exit 3, named in the error and the manifest, the nine marked complete.
func TestOneAccountOfTenFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 2, MemberAccounts: 7}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if len(org.Accounts) != 9 {
		t.Fatalf("%d accounts, want 9", len(org.Accounts))
	}
	var accounts []AccountConfig
	for _, a := range org.Accounts {
		accounts = append(accounts, AccountConfig{ID: a.ID, Name: a.Name})
	}
	accounts = append(accounts, AccountConfig{ID: "999999999999", Name: "broken"})
	cfg := saveConfig(t, readLocal(testConfig(dir, "lake"), org, src, accounts), dir, "ten")
	h := org.WindowEnd.Add(-time.Hour)
	code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h.Format("2006-01-02T15"), "--no-models")
	if code != exitPartial || !strings.Contains(stderr, "account 999999999999") {
		t.Fatalf("exit %d, want 3 naming the broken account:\n%s", code, stderr)
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "lake", "_manifests", "runs", "*.json"))
	b, _ := os.ReadFile(runs[0])
	var m load.RunManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, o := range m.Accounts {
		switch {
		case o.AccountID == "999999999999" && o.Status != "failed":
			t.Errorf("the broken account's outcome = %+v", o)
		case o.AccountID != "999999999999" && o.Status == "ok":
			ok++
			if o.Seconds <= 0 || o.Objects == 0 {
				t.Errorf("account %s: %v s, %d objects in the manifest", o.AccountID, o.Seconds, o.Objects)
			}
		}
	}
	if ok != 9 || m.ExitCode != exitPartial {
		t.Errorf("manifest: %d accounts ok, exit %d; want 9 and 3", ok, m.ExitCode)
	}
	markers, _ := filepath.Glob(filepath.Join(dir, "lake", "_manifests", "success", "date="+h.Format("2006-01-02"), "hour="+h.Format("15"), "aws-*.json"))
	if len(markers) != 9 {
		t.Errorf("%d accounts marked complete for the hour, want the 9 healthy ones", len(markers))
	}
}
