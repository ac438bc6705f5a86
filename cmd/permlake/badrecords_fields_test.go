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
