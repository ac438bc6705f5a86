package transform

import (
	"os"
	"path/filepath"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
	"github.com/permlake/permlake/transform/catalog"
)

// TestMappedShareOnRealShapedTrail: at least 99% of the successful principal calls in the
// testdata trail map to IAM actions (or to no permission), and at least 99% of the actions they
// map to are real actions of the catalog; anything else is listed.
func TestMappedShareOnRealShapedTrail(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../testdata/cloudtrail/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata trail: %v", err)
	}
	cat := catalog.AWS()
	var calls, mapped, actions, known int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var log struct{ Records []json.RawMessage }
		if err := json.Unmarshal(b, &log); err != nil {
			t.Fatal(err)
		}
		for _, raw := range log.Records {
			ev, err := CloudTrailEvent(raw, Lineage{})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if !ev.IsSuccess || ev.PrincipalType == schemas.PrincipalService {
				continue
			}
			calls++
			if ev.ActionMapping == schemas.MappingUnmapped {
				t.Logf("unmapped: %s %s", ev.EventSource, ev.EventName)
				continue
			}
			mapped++
			for _, a := range ev.IAMActions {
				actions++
				if _, ok := cat.Lookup(a); ok {
					known++
				} else {
					t.Logf("not in the catalog: %s (from %s %s)", a, ev.EventSource, ev.EventName)
				}
			}
		}
	}
	if calls < 30 || float64(mapped) < 0.99*float64(calls) || float64(known) < 0.99*float64(actions) {
		t.Errorf("%d successful calls, %d mapped; %d actions, %d in the catalog", calls, mapped, actions, known)
	}
}
