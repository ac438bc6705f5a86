package transform

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// azureActivityVariants are the values a mutated record puts in place of one field: every JSON
// type, the REST schema's {value, localizedValue}, strings that need decoding (escapes, non-ASCII,
// invalid UTF-8 is not JSON and is left to the fuzz target), GUIDs in their spellings, times in
// the spellings exports use and some they do not.
var azureActivityVariants = []any{
	nil, "", 0, 12.5, true, false, []any{}, []any{"a", 1}, map[string]any{}, map[string]any{"value": "Succeeded", "localizedValue": "Réussi"},
	map[string]any{"value": 201}, "Microsoft.Compute/virtualMachines/write", "microsoft.support/supporttickets/WRITE", "*", "Microsoft.Authorization/*",
	"a\"b\\c\u00e9\u2028/x", "tab\there", "2026-11-22T07:14:26.9792776Z", "2026-11-22 07:14:26Z", "2026-11-22T07:14:26", "yesterday",
	"4F7DC3FA6C2A4A1B8C5E0D9F8E7D6C5B", "{4F7DC3FA-6C2A-4A1B-8C5E-0D9F8E7D6C5B}", "/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/providers/Microsoft.Authorization/roleAssignments/17D1049B-9A84-46FB-8F53-869881C3D3AB",
	"/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.WEB/SITES/A/PROVIDERS/MICROSOFT.INSIGHTS/X/Y",
	"Success", "SUCCEEDED", "Write", "Policy",
}

// azureActivityPaths are the fields the transform reads, as paths into the record.
var azureActivityPaths = [][]string{
	{"time"}, {"resourceId"}, {"operationName"}, {"category"}, {"resultType"}, {"resultSignature"}, {"callerIpAddress"},
	{"correlationId"}, {"level"}, {"Level"}, {"tenantId"}, {"identity"}, {"properties"}, {"properties", "eventCategory"},
	{"identity", "authorization"}, {"identity", "authorization", "action"}, {"identity", "authorization", "scope"},
	{"identity", "authorization", "evidence"}, {"identity", "authorization", "evidence", "principalId"},
	{"identity", "authorization", "evidence", "roleAssignmentId"}, {"identity", "authorization", "evidence", "roleDefinitionId"},
	{"identity", "authorization", "evidence", "principalType"}, {"identity", "authorization", "evidence", "role"},
	{"identity", "claims"}, {"identity", "claims", "http://schemas.microsoft.com/identity/claims/objectidentifier"},
	{"identity", "claims", "oid"}, {"identity", "claims", "tid"}, {"identity", "claims", "upn"}, {"identity", "claims", "name"},
	{"identity", "claims", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"}, {"identity", "claims", "appid"}, {"identity", "claims", "azp"},
	{"records"},
}

// mutateRecord returns line with the field at path set to v (created where the objects on the
// way exist), or deleted when del; ok is false when line is not an object.
func mutateRecord(line []byte, path []string, v any, del bool) ([]byte, bool) {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return nil, false
	}
	cur := m
	for _, k := range path[:len(path)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	if del {
		delete(cur, path[len(path)-1])
	} else {
		cur[path[len(path)-1]] = v
	}
	b, err := json.Marshal(m)
	return b, err == nil
}

// azureActivityCorpus is the testdata blob's lines, the records of this package's tests, and every
// single-field mutation of the testdata lines (each path deleted or set to each variant).
func azureActivityCorpus(t *testing.T) [][]byte {
	lines := readLines(t, "testdata/azure/activity_PT1H.json")
	out := append([][]byte{}, lines...)
	const tm = `"2026-11-22T07:00:00Z"`
	for _, s := range []string{activityRecord(tm, ""), activityRecord(`"2026-11-22T07:00:00"`, `,"identity":"x"`), signInInteractive,
		signInServicePrincipal, signInManagedIdentity, "", "null", "[]", `{"time":`, "\xEF\xBB\xBF" + activityRecord(tm, "") + "\r"} {
		out = append(out, []byte(s))
	}
	for _, l := range lines {
		for _, p := range azureActivityPaths {
			if b, ok := mutateRecord(l, p, nil, true); ok {
				out = append(out, b)
			}
			for _, v := range azureActivityVariants {
				if b, ok := mutateRecord(l, p, v, false); ok {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// sameAsReference fails unless AzureActivity gives what refAzureActivity (the code before the
// single decode) gives: the same row, or an error with the same text.
func sameAsReference(t *testing.T, line []byte) {
	t.Helper()
	meta := RecordMeta{Lineage: Lineage{RunID: "r", SourceKey: activityBlob}, Line: 9}
	want, wantErr := refAzureActivity(line, meta)
	got, gotErr := AzureActivity(line, meta)
	// The reference's decoding types carry a ref prefix, which its errors name.
	if fmt.Sprint(gotErr) != strings.ReplaceAll(fmt.Sprint(wantErr), "transform.refAz", "transform.az") {
		t.Fatalf("line %q:\nerror %v\nwant  %v", line, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("line %q:\nrow  %s\nwant %s", line, rowText(got), rowText(want))
	}
}

func rowText(ev any) string {
	b, _ := json.Marshal(ev)
	return string(b)
}

// TestAzureActivityMatchesReference: the decoder behind AzureActivityRecord gives the reference's
// rows and errors over the testdata and generated records.
func TestAzureActivityMatchesReference(t *testing.T) {
	t.Parallel()
	corpus := azureActivityCorpus(t)
	if len(corpus) < 1000 {
		t.Fatalf("corpus of %d records: the generator lost its mutations", len(corpus))
	}
	rows, errs := 0, map[string]int{}
	for _, l := range corpus {
		sameAsReference(t, l)
		if _, err := AzureActivity(l, RecordMeta{}); err != nil {
			errs[fmt.Sprint(err)]++
		} else {
			rows++
		}
	}
	// A differential test that only ever sees rows, or only errors, proves little.
	if rows < len(corpus)/2 || len(errs) < 4 {
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("corpus gave %d rows and errors %v", rows, keys)
	}
}

// FuzzAzureActivityMatchesReference: any line gives the reference's row or error.
func FuzzAzureActivityMatchesReference(f *testing.F) {
	for _, l := range readLinesF(f, "testdata/azure/activity_PT1H.json") {
		f.Add(l)
	}
	f.Add([]byte(activityRecord(`"2026-11-22T07:00:00"`, `,"identity":{"authorization":{"action":5,"evidence":{"principalId":{"value":"a1b2c3d4e5f647898abcdef012345678"}}},"claims":{"upn":"\u00e9@x","name":7}}`)))
	f.Add([]byte(`{"time":"2026-11-22T07:00:00Z","operationName":"a\u002fb/write","resourceId":"\ud800","properties":{"eventCategory":"P\"x"}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		sameAsReference(t, line)
	})
}

// FuzzAzureIDHelpersMatchReference: the allocation-free resource-ID and GUID readers give what
// the ones they replaced gave.
func FuzzAzureIDHelpersMatchReference(f *testing.F) {
	for _, s := range []string{"/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
		"/SUBSCRIPTIONS/X/RESOURCEGROUPS//PROVIDERS/A/B/C/providers/", "/subscriptions//resourcegroups/x", "providers/a", "/providers/Microsoft.Management/managementGroups/mg1",
		"/a/providers//providers/b/", "4F7DC3FA6C2A4A1B8C5E0D9F8E7D6C5B", "{4F7DC3FA-6C2A-4A1B-8C5E-0D9F8E7D6C5B}", " 4f7dc3fa-6c2a-4a1b-8c5e-0d9f8e7d6c5b ",
		"4f7dc3fa6c2a-4a1b-8c5e-0d9f8e7d6c5b0", "", "/", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, p := azResourceParts(s)
		rg, rp := refAzResourceParts(s)
		if str(g) != str(rg) || str(p) != str(rp) {
			t.Fatalf("azResourceParts(%q) = %s %s, want %s %s", s, str(g), str(p), str(rg), str(rp))
		}
		if a, b := azOptGUID(s), refAzOptGUID(s); str(a) != str(b) {
			t.Fatalf("azOptGUID(%q) = %s, want %s", s, str(a), str(b))
		}
	})
}
