package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/permlake/permlake/load"
)

// checkSkippedRecord: the ledger entry of key and the run manifest count and name the skipped
// record "the-bad-one".
func checkSkippedRecord(t *testing.T, lake string, obj load.SourceObject, key string) {
	t.Helper()
	if obj.BadRecords != 1 || !strings.Contains(obj.BadRecordExample, "the-bad-one") || !strings.Contains(obj.BadRecordExample, "implausible event time") {
		t.Errorf("ledger entry of %s: bad records %d, example %q; want 1 naming the-bad-one", key, obj.BadRecords, obj.BadRecordExample)
	}
	runs, _ := filepath.Glob(filepath.Join(lake, "_manifests", "runs", "*.json"))
	if len(runs) != 1 {
		t.Fatalf("%d run manifests, want 1", len(runs))
	}
	b, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	var m load.RunManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Accounts) != 1 {
		t.Fatalf("manifest accounts = %+v", m.Accounts)
	}
	a := m.Accounts[0]
	named := false
	for _, e := range a.SkippedRecordExamples {
		named = named || strings.Contains(e, key) && strings.Contains(e, "the-bad-one")
	}
	if a.Status != "ok" || a.SkippedRecords != 1 || !named || len(a.ObjectErrors) != 0 {
		t.Errorf("manifest outcome = %+v; want ok, 1 skipped record named by key and eventID, no object error", a)
	}
}

// checkConflict: the ledger entry and the run manifest count one conflicting duplicate.
func checkConflict(t *testing.T, lake string, obj load.SourceObject) {
	t.Helper()
	if obj.ConflictingDuplicates != 1 {
		t.Errorf("ledger entry of %s: %d conflicting duplicates, want 1", obj.Key, obj.ConflictingDuplicates)
	}
	runs, _ := filepath.Glob(filepath.Join(lake, "_manifests", "runs", "*.json"))
	total, parts := 0, 0
	for _, r := range runs {
		b, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		var m load.RunManifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Accounts {
			total += a.ConflictingDuplicates
		}
		for _, p := range m.Partitions {
			parts += p.ConflictingDuplicates
		}
	}
	if total != 1 || parts != 1 {
		t.Errorf("run manifests count %d conflicting duplicates in outcomes and %d in partitions, want 1 and 1", total, parts)
	}
}
