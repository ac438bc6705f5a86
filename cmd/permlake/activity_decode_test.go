package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/permlake/permlake/extract/azure/activity"
	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/transform"
)

// The pipeline decodes an Activity Log record once: the reader's ParseLine, whose fields
// activityFields hands to transform.AzureActivityRecord. Before, transform.AzureActivity decoded
// the record's text again. These tests hold the single decode to the two-step path: the same
// rows and the same errors for every record the reader passes on (the reader's own errors are
// the same in both paths: it is the same reader). transform's TestAzureActivityMatchesReference
// holds AzureActivity itself to the code before the change.

// twoStepSame fails unless every record of line gives the same row or error both ways.
func twoStepSame(t *testing.T, line []byte) (rows, refused int) {
	t.Helper()
	const blob = "resourceId=/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/y=2026/m=11/d=22/h=07/m=00/PT1H.json"
	recs, _ := activity.ParseLine(activity.ContainerActivityLogs, blob, 5, 77, line)
	for _, rec := range recs {
		meta := transform.RecordMeta{Lineage: transform.Lineage{RunID: "r", SourceKey: activity.ContainerActivityLogs + "/" + blob}, Line: rec.Line}
		want, wantErr := transform.AzureActivity(rec.Raw, meta)
		got, gotErr := transform.AzureActivityRecord(activityFields(rec), meta)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("record %q:\nerror %v\nwant  %v", rec.Raw, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("record %q:\nrow  %s\nwant %s", rec.Raw, g, w)
		}
		if gotErr != nil {
			refused++
		} else {
			rows++
		}
	}
	return rows, refused
}

// activityCorpus is the transform testdata blob, every Activity Log line of a generated demo
// export, wrappers of them, and single-field mutations of a sample of them.
func activityCorpus(t *testing.T) [][]byte {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := os.ReadFile(filepath.Join(root, "transform/testdata/azure/activity_PT1H.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(fixture), []byte("\n"))
	dir := t.TempDir()
	if _, err := demo.Generate(context.Background(), dir, demo.Config{MemberAccounts: 2, EventsPerHour: 1, Days: 1}); err != nil {
		t.Fatal(err)
	}
	var blobs []string
	err = filepath.WalkDir(filepath.Join(dir, "azure", "blob", activity.ContainerActivityLogs), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "PT1H.json" {
			blobs = append(blobs, p)
		}
		return err
	})
	if err != nil || len(blobs) == 0 {
		t.Fatalf("demo activity blobs: %d, %v", len(blobs), err)
	}
	for _, b := range blobs {
		body, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, bytes.Split(bytes.TrimSpace(body), []byte("\n"))...)
	}
	out := append([][]byte{}, lines...)
	out = append(out, []byte(`{"records":[`+string(lines[0])+`,`+string(lines[len(lines)-1])+`,{"time":"2026-11-22T07:00:00Z"}]}`))
	variants := []any{nil, "", 7, true, []any{1}, map[string]any{}, map[string]any{"value": "Microsoft.Web/sites/write"}, "x\"y\u00e9",
		"2026-11-22 07:00:00Z", "2026-11-22T07:00:00", "4F7DC3FA6C2A4A1B8C5E0D9F8E7D6C5B", "*"}
	paths := [][]string{{"time"}, {"resourceId"}, {"operationName"}, {"category"}, {"resultType"}, {"level"}, {"tenantId"}, {"identity"},
		{"properties"}, {"properties", "eventCategory"}, {"properties", "isInteractive"}, {"properties", "status"},
		{"identity", "authorization"}, {"identity", "authorization", "action"}, {"identity", "authorization", "scope"},
		{"identity", "authorization", "evidence"}, {"identity", "authorization", "evidence", "principalId"},
		{"identity", "authorization", "evidence", "role"}, {"identity", "authorization", "evidence", "roleAssignmentId"},
		{"identity", "claims"}, {"identity", "claims", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"},
		{"identity", "claims", "name"}, {"identity", "claims", "http://schemas.microsoft.com/identity/claims/objectidentifier"},
		{"identity", "claims", "appid"}, {"identity", "claims", "OID"}, {"identity", "claims", "Name"}, {"identity", "claims", "AppId"}}
	for i, l := range lines {
		if i%7 != 0 && i >= 4 {
			continue
		}
		for _, p := range paths {
			for _, v := range append(variants, deleteField{}) {
				if b, ok := setField(l, p, v); ok {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

type deleteField struct{}

// setField returns line with the field at path set to v (deleted for deleteField{}); ok is false
// when an object on the way is missing.
func setField(line []byte, path []string, v any) ([]byte, bool) {
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
	if _, del := v.(deleteField); del {
		delete(cur, path[len(path)-1])
	} else {
		cur[path[len(path)-1]] = v
	}
	b, err := json.Marshal(m)
	return b, err == nil
}

func TestActivityFieldsMatchTwoStep(t *testing.T) {
	t.Parallel()
	corpus := activityCorpus(t)
	rows, refused := 0, 0
	for _, l := range corpus {
		r, f := twoStepSame(t, l)
		rows, refused = rows+r, refused+f
	}
	t.Logf("%d lines: %d rows, %d records refused by transform", len(corpus), rows, refused)
	if rows < 1000 || refused < 10 {
		t.Fatalf("corpus of %d lines gave %d rows and %d refused records: too little to compare", len(corpus), rows, refused)
	}
}

// FuzzActivityFieldsMatchTwoStep: any export line gives the same rows and errors both ways.
func FuzzActivityFieldsMatchTwoStep(f *testing.F) {
	root, err := filepath.Abs("../..")
	if err != nil {
		f.Fatal(err)
	}
	fixture, err := os.ReadFile(filepath.Join(root, "transform/testdata/azure/activity_PT1H.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(fixture), []byte("\n")) {
		f.Add(l)
		f.Add([]byte(`{"records":[` + string(l) + `]}`))
	}
	f.Add([]byte(strings.Replace(string(bytes.Split(fixture, []byte("\n"))[0]), `"action"`, `"action":5,"x"`, 1)))
	f.Fuzz(func(t *testing.T, line []byte) {
		twoStepSame(t, line)
	})
}
