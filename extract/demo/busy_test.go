package demo

import (
	"context"
	"strings"
	"testing"
)

// TestGenerateLargePayloads: the busy-accounts shape (issue 18) has big files of big records —
// at least 1.4 KB per record on average, RunInstances' instancesSet, policy documents, S3 data
// events — and its ground truth still matches its files.
func TestGenerateLargePayloads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	org, err := Generate(context.Background(), dir, Config{Days: 1, MemberAccounts: 2, EventsPerHour: 400,
		Payloads: PayloadsLarge, DeliveryMinutes: 30, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	g := loadRecords(t, generated{dir: dir, org: org, large: true})
	var bytes int
	seen := map[string]bool{}
	for _, r := range g.records {
		bytes += len(r.raw)
		switch {
		case r.EventName == "RunInstances" && strings.Contains(r.raw, `"instancesSet":{"items":[{"amiLaunchIndex":0`):
			seen["instancesSet"] = true
		case r.EventName == "CreatePolicy" && strings.Contains(r.raw, `"policyDocument":"{\"Version\":\"2012-10-17\"`):
			seen["policyDocument"] = true
		case r.EventName == "PutObject" && strings.Contains(r.raw, `"eventCategory":"Data"`) && strings.Contains(r.raw, `"bytesTransferredIn"`):
			seen["data event"] = true
		}
	}
	if avg := bytes / len(g.records); avg < 1400 {
		t.Errorf("%d bytes per record on average, want ≥ 1400", avg)
	}
	for _, k := range []string{"instancesSet", "policyDocument", "data event"} {
		if !seen[k] {
			t.Errorf("no record with a %s", k)
		}
	}
	if perFile := len(g.records) / org.Files; perFile < 100 {
		t.Errorf("%d records per file: the 30-minute delivery should gather more", perFile)
	}
	checkTruth(t, g)
}

func TestGenerateRejectsShape(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{Days: 1, Payloads: "huge"}, {Days: 1, DeliveryMinutes: 7}} {
		if _, err := Generate(context.Background(), t.TempDir(), cfg); err == nil {
			t.Errorf("%+v: want an error", cfg)
		}
	}
}
