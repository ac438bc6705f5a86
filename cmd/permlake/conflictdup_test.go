package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
)

// TestConflictingDuplicateIsCountedAndNamed: the same eventID delivered again with different
// content is still deduplicated (the first-committed row kept), but counted and named (eventID,
// partition, file) in the log, the ledger and the run manifest. An identical re-delivery is an
// ordinary duplicate and counts as none. Cases: the conflict inside one run, and against a row an
// earlier run committed.
func TestConflictingDuplicateIsCountedAndNamed(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		separate bool // the second file is delivered to a later run
	}{
		{"same run", false},
		{"earlier run", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "source")
			org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
			if err != nil {
				t.Fatal(err)
			}
			acct := org.Accounts[2].ID
			day := org.WindowStart
			folder := trailFolder(src, org, acct, day)
			at := day.Add(5 * time.Minute).Format(time.RFC3339)
			write := func(min int, tag string, records ...string) string {
				base := acct + "_CloudTrail_us-east-1_" + day.Add(time.Duration(min)*time.Minute).Format("20060102T1504Z") + "_" + tag + ".json.gz"
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				_, _ = zw.Write([]byte(`{"Records":[` + strings.Join(records, ",") + `]}`))
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(folder, base), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return base
			}
			first := ctRecord(acct, "the-conflict", at)
			forged := strings.Replace(first, `"eventName":"ListUsers"`, `"eventName":"DeleteUser"`, 1)
			write(10, "FIRSTFIRSTFIRST0", first, ctRecord(acct, "same-twice", at))
			c := readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: acct}})
			c.AWS.IAMSnapshots = StoreConfig{}
			cfg := saveConfig(t, c, dir, "permlake")
			args := []string{"run", "--config", cfg, "--from", day.Format("2006-01-02T15"), "--to", org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15"), "--no-models"}
			var second string
			if tc.separate {
				if code, _, stderr := runCLI(t, ctx, args...); code != exitOK {
					t.Fatalf("first run: exit %d: %s", code, stderr)
				}
			}
			second = write(20, "SECONDSECONDSEC0", forged, ctRecord(acct, "same-twice", at))
			code, _, stderr := runCLI(t, ctx, args...)
			if code != exitOK {
				t.Fatalf("exit %d, want 0: %s", code, stderr)
			}
			partition := "account_id=" + acct + "/date=" + day.Format("2006-01-02") + "/hour=00"
			if !strings.Contains(stderr, "the-conflict") || !strings.Contains(stderr, partition) || strings.Contains(stderr, `"event_id":"same-twice"`) {
				t.Errorf("the log does not name the conflicting eventID and its partition %s (or names the identical duplicate): %s", partition, stderr)
			}
			db := openDuck(t, "")
			names := queryStrings(t, db, `select event_name from `+lakeEvents(filepath.Join(dir, "lake"))+` where event_id = 'the-conflict'`)
			if len(names) != 1 || names[0] != "ListUsers" {
				t.Errorf("rows of the-conflict: %v, want the first-committed one only (ListUsers)", names)
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
			var obj load.SourceObject
			for k, o := range led {
				if strings.HasSuffix(k, second) {
					obj = o
				}
			}
			if obj.Key == "" || obj.Error != "" || obj.Duplicates != 2 {
				t.Errorf("ledger entry of %s = %+v; want ingested with 2 duplicates", second, obj)
			}
			checkConflict(t, filepath.Join(dir, "lake"), obj)
		})
	}
}
