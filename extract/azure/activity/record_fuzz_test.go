package activity

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParseLine: any export line yields records and line errors, never a panic or a hang. Every
// record and error carries the line's position as given; a record's time is UTC, its lower-case
// resource ID is its resource ID lower-cased, and a wrapper's elements are numbered in order.
func FuzzParseLine(f *testing.F) {
	b, err := os.ReadFile("../../../transform/testdata/azure/activity_PT1H.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte(`{"records":[` + rec(1) + `,` + rec(2) + `,{"time":"x"}]}`))
	f.Add([]byte("\xEF\xBB\xBF" + rec(3) + "\r"))
	f.Fuzz(func(t *testing.T, line []byte) {
		recs, errs := ParseLine("insights-activity-logs", "b/PT1H.json", 7, 1234, line)
		last := -1
		for _, r := range recs {
			if r.Line != 7 || r.Offset != 1234 || r.Container != "insights-activity-logs" || r.Blob != "b/PT1H.json" {
				t.Fatalf("record position %s/%s line %d offset %d, want the line's", r.Container, r.Blob, r.Line, r.Offset)
			}
			if r.Index <= last {
				t.Fatalf("record index %d after %d", r.Index, last)
			}
			last = r.Index
			if r.Time.Location() != time.UTC || r.ResourceIDLower != strings.ToLower(r.ResourceID) {
				t.Fatalf("record breaks its contract: %+v", r)
			}
		}
		for _, e := range errs {
			if e == nil || e.Err == nil || e.Line != 7 || e.Offset != 1234 {
				t.Fatalf("line error %+v does not name the line", e)
			}
		}
	})
}
