package activity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// refTypeName matches the reference's type names in decoder errors (activity.refWire, refWire.time).
var refTypeName = regexp.MustCompile(`\b(?:activity\.)?ref([A-Z])`)

func lineErrorsText(errs []*LineError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "%s/%s line %d offset %d index %d: %v\n", e.Container, e.Blob, e.Line, e.Offset, e.Index, e.Err)
	}
	return refTypeName.ReplaceAllStringFunc(b.String(), func(m string) string {
		return strings.TrimSuffix(m, "ref"+m[len(m)-1:]) + strings.ToLower(m[len(m)-1:])
	})
}

// sameAsRefParseLine fails unless ParseLine gives refParseLine's errors and records. The new
// decode differs from the reference in two places only, both on malformed records: a non-string
// scalar in identity.authorization (action, scope, evidence) is read as text instead of costing the
// whole identity, and a sign-in property of an unexpected type no longer costs eventCategory. There
// the reference's Identity is empty (its EventCategory "") and the new one may be filled.
func sameAsRefParseLine(t *testing.T, line []byte) {
	t.Helper()
	recs, errs := ParseLine(ContainerActivityLogs, "b/PT1H.json", 7, 1234, line)
	want, wantErrs := refParseLine(ContainerActivityLogs, "b/PT1H.json", 7, 1234, line)
	if g, w := lineErrorsText(errs), lineErrorsText(wantErrs); g != w {
		t.Fatalf("line %q:\nerrors %s\nwant   %s", line, g, w)
	}
	if len(recs) != len(want) {
		t.Fatalf("line %q: %d records, want %d", line, len(recs), len(want))
	}
	for i := range recs {
		r := recs[i]
		if r.TimeText == "" || !bytes.Contains(r.Raw, r.IdentityJSON) {
			t.Fatalf("line %q: time text %q, identity JSON %q", line, r.TimeText, r.IdentityJSON)
		}
		r.TimeText, r.IdentityJSON, r.Identity.NameClaim = "", nil, ""
		w := want[i]
		if (w.Identity == Identity{}) {
			r.Identity = Identity{}
		}
		if w.EventCategory == "" {
			r.EventCategory = ""
		}
		if !reflect.DeepEqual(r, w) {
			g, _ := json.Marshal(r)
			ww, _ := json.Marshal(w)
			t.Fatalf("line %q:\nrecord %s\nwant   %s", line, g, ww)
		}
	}
}

// parseLineCorpus is the transform testdata blob, this package's test records, wrappers, and
// single-field mutations of them.
func parseLineCorpus(t *testing.T) [][]byte {
	b, err := os.ReadFile("../../../transform/testdata/azure/activity_PT1H.json")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	lines = append(lines, []byte(activityLine), []byte(signInLine), []byte(spSignInLine))
	out := append([][]byte{}, lines...)
	out = append(out, []byte(`{"records":[`+activityLine+`,`+spSignInLine+`,"x",{"time":"soon"}]}`), []byte("\xEF\xBB\xBF"+activityLine+"\r\n"),
		[]byte(`{"records":{"a":1}}`), []byte(`[1]`), []byte(`{"time":"2026-11-22T07:00:00Z"} x`))
	variants := []any{nil, "", 7, 1.5, true, []any{1}, map[string]any{}, map[string]any{"value": "v", "localizedValue": "w"}, "x\"y\u00e9\\z",
		"2026-11-22 07:00:00Z", "2026-11-22T07:00:00", "soon", "4F7DC3FA6C2A4A1B8C5E0D9F8E7D6C5B"}
	paths := [][]string{{"time"}, {"resourceId"}, {"operationName"}, {"category"}, {"resultType"}, {"level"}, {"Level"}, {"durationMs"},
		{"tenantId"}, {"identity"}, {"records"}, {"properties"}, {"properties", "eventCategory"}, {"properties", "isInteractive"},
		{"properties", "status"}, {"properties", "createdDateTime"}, {"properties", "userId"},
		{"identity", "authorization"}, {"identity", "authorization", "action"}, {"identity", "authorization", "scope"},
		{"identity", "authorization", "evidence"}, {"identity", "authorization", "evidence", "principalId"},
		{"identity", "authorization", "evidence", "role"}, {"identity", "claims"}, {"identity", "claims", "name"},
		{"identity", "claims", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"}, {"identity", "claims", "appid"},
		// keys a struct would match by case but a map does not (decodeClaims), and one spelled with an escape
		{"identity", "claims", "OID"}, {"identity", "claims", "Name"}, {"identity", "claims", "HTTP://SCHEMAS.XMLSOAP.ORG/WS/2005/05/IDENTITY/CLAIMS/UPN"},
		{"identity", "claims", "\u0061ppid"}, {"identity", "claims", "ſchemas"}}
	for _, l := range lines {
		for _, p := range paths {
			for _, v := range append(variants, "<delete>") {
				var m map[string]any
				if json.Unmarshal(l, &m) != nil {
					continue
				}
				cur, ok := m, true
				for _, k := range p[:len(p)-1] {
					if cur, ok = cur[k].(map[string]any); !ok {
						break
					}
				}
				if !ok {
					continue
				}
				if v == "<delete>" {
					delete(cur, p[len(p)-1])
				} else {
					cur[p[len(p)-1]] = v
				}
				if b, err := json.Marshal(m); err == nil {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

func TestParseLineMatchesReference(t *testing.T) {
	t.Parallel()
	corpus := parseLineCorpus(t)
	recs, errs := 0, 0
	for _, l := range corpus {
		sameAsRefParseLine(t, l)
		r, e := ParseLine(ContainerActivityLogs, "b", 1, 0, l)
		recs, errs = recs+len(r), errs+len(e)
	}
	if recs < 500 || errs < 50 {
		t.Fatalf("corpus of %d lines: %d records, %d errors: too little to compare", len(corpus), recs, errs)
	}
}

// FuzzParseLineMatchesReference: any line gives the reference's errors and records.
func FuzzParseLineMatchesReference(f *testing.F) {
	b, err := os.ReadFile("../../../transform/testdata/azure/activity_PT1H.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte(`{"records":[` + rec(1) + `,` + rec(2) + `,{"time":"x"}]}`))
	f.Add([]byte(signInLine))
	f.Add([]byte(`{"time":"2026-11-22T07:00:00Z","identity":{"claims":{"OID":"a","oid":"b","n\u0061me":"c","name":"d","Appid":"e"}}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		sameAsRefParseLine(t, line)
	})
}
