package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
)

// TestBadSnapshotKeepsCloudTrail: entitlements and activity are independent sources. An account
// whose IAM snapshot is missing, and one whose snapshot cannot be read, still get their CloudTrail
// rows in the lake and their used actions in permission_usage (used_not_granted until a snapshot
// returns); the run is partial, names the snapshot failures, and marks neither account's hours
// complete. (On 1c2e0d7 both accounts ingested no events.)
func TestBadSnapshotKeepsCloudTrail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	missing, broken, healthy := org.Accounts[1].ID, org.Accounts[2].ID, org.Accounts[3].ID
	if err := os.RemoveAll(filepath.Join(src, "iam", missing)); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(src, "iam", broken, "gaad-*.json"))
	if len(pages) == 0 {
		t.Fatal("no GAAD pages written by the demo")
	}
	if err := os.WriteFile(pages[0], []byte("<Error><Code>AccessDenied</Code></Error>"), 0o644); err != nil {
		t.Fatal(err)
	}
	// One bad inline policy document costs only that policy: the account is ok, the item a
	// warning naming it.
	oneBad := org.Accounts[4].ID
	inline := regexp.MustCompile(`"PolicyDocument":\s*"`)
	badPage := ""
	pages, _ = filepath.Glob(filepath.Join(src, "iam", oneBad, "gaad-*.json"))
	for i, page := range pages {
		doc, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if loc := inline.FindIndex(doc); loc != nil {
			doc = append(doc[:loc[1]:loc[1]], append([]byte("%ZZ"), doc[loc[1]:]...)...)
			if err := os.WriteFile(page, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			badPage = fmt.Sprintf("gaad page %d", i+1)
			break
		}
	}
	if badPage == "" {
		t.Fatalf("no inline policy document in %s's GAAD pages", oneBad)
	}
	c := readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: missing}, {ID: broken}, {ID: healthy}, {ID: oneBad}})
	cfg := saveConfig(t, c, dir, "permlake")
	last := org.WindowEnd.Add(-time.Hour)
	code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", org.WindowStart.Format("2006-01-02T15"), "--to", last.Format("2006-01-02T15"))
	if code != exitPartial {
		t.Fatalf("exit %d, want 3: %s", code, stderr)
	}
	for _, want := range []string{"account " + missing + ": iam snapshot", "account " + broken + ": iam snapshot", "gaad page 1"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not name %q:\n%s", want, stderr)
		}
	}

	runs, _ := filepath.Glob(filepath.Join(dir, "lake", "_manifests", "runs", "*.json"))
	b, _ := os.ReadFile(runs[0])
	var m load.RunManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	status := map[string]load.AccountOutcome{}
	for _, o := range m.Accounts {
		status[o.AccountID] = o
	}
	for _, id := range []string{missing, broken} {
		if o := status[id]; o.Status != "partial" || o.Objects == 0 || o.RowsAdded == 0 || !strings.Contains(o.Error, "iam snapshot") {
			t.Errorf("account %s outcome = %+v, want partial with its CloudTrail committed", id, o)
		}
	}
	if o := status[healthy]; o.Status != "ok" || o.WarningCount != 0 {
		t.Errorf("healthy account outcome = %+v", o)
	}
	if o := status[oneBad]; o.Status != "ok" || o.WarningCount != 1 || len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], badPage) {
		t.Errorf("account with one bad policy document: outcome = %+v, want ok with the document named in one warning", o)
	}
	markers, _ := filepath.Glob(filepath.Join(dir, "lake", "_manifests", "success", "date="+last.Format("2006-01-02"), "hour="+last.Format("15"), "aws-*.json"))
	if len(markers) != 2 || !strings.Contains(markers[0]+markers[1], healthy) || !strings.Contains(markers[0]+markers[1], oneBad) {
		t.Errorf("success markers %v, want the healthy account's and the one with a skipped policy", markers)
	}

	db := openDuck(t, c.Warehouse+"?access_mode=read_only")
	defer db.Close()
	for _, id := range []string{missing, broken} {
		if n := queryInt(t, db, `select count(*) from `+lakeEvents(filepath.Join(dir, "lake"))+` where account_id = ?`, id); n == 0 {
			t.Errorf("account %s: no CloudTrail rows in the lake", id)
		}
		got := queryStrings(t, db, `select distinct status from permission_usage where account_id = ? order by 1`, id)
		if strings.Join(got, ",") != "used_not_granted" {
			t.Errorf("account %s: permission_usage statuses %v, want its used actions as used_not_granted", id, got)
		}
	}
	for _, id := range []string{healthy, oneBad} {
		if n := queryInt(t, db, `select count(*) from permission_usage where account_id = ? and status = 'unused'`, id); n == 0 {
			t.Errorf("account %s: no unused grants in permission_usage", id)
		}
	}
}
