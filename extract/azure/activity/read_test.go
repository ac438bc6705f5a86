package activity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// rec is a small valid Activity Log line for record n.
func rec(n int) string {
	return fmt.Sprintf(`{"time":"2026-11-22T07:%02d:00.1234567Z","resourceId":"/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0","operationName":"Microsoft.Storage/storageAccounts/write","category":"Administrative","resultType":"Success","correlationId":"corr-%d","identity":{"authorization":{"action":"Microsoft.Storage/storageAccounts/write"}}}`, n%60, n)
}

// scanString runs the reader's scan over body as if it were the blob from st.Offset on.
func scanString(t *testing.T, r *Reader, body string, st State) (scanResult, []Record) {
	t.Helper()
	var recs []Record
	res, err := r.scan(context.Background(), strings.NewReader(body), ContainerActivityLogs, "b", st, func(x Record) error {
		recs = append(recs, x)
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return res, recs
}

func correlations(recs []Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, fmt.Sprintf("%s@%d", r.CorrelationID, r.Line))
	}
	return strings.Join(s, ",")
}

func TestScanCompleteLinesOnly(t *testing.T) {
	t.Parallel()
	partial := rec(5)[:40]
	blob := "\xEF\xBB\xBF" + rec(1) + "\n" + // BOM before the first line
		"\n" + // blank line: skipped, counted
		rec(2) + "\r\n" + // CRLF
		"{not json\n" + // malformed: reported, skipped
		rec(3) + "\n" +
		partial // still being appended
	r := &Reader{}
	res, recs := scanString(t, r, blob, State{})
	if got := correlations(recs); got != "corr-1@1,corr-2@3,corr-3@5" {
		t.Errorf("records = %s", got)
	}
	complete := int64(len(blob) - len(partial))
	if res.state.Offset != complete || res.state.Lines != 5 || res.pending != int64(len(partial)) || res.lines != 5 || res.bytes != complete || res.records != 3 {
		t.Errorf("state = %+v pending %d lines %d bytes %d records %d; want offset %d, 5 lines, pending %d", res.state, res.pending, res.lines, res.bytes, res.records, complete, len(partial))
	}
	if len(res.errs) != 1 || res.errs[0].Line != 4 || !errors.Is(res.errs[0], ErrNotJSON) || res.errs[0].Offset != int64(strings.Index(blob, "{not")) {
		t.Errorf("errors = %v", res.errs)
	}
	if recs[2].Offset != int64(strings.Index(blob, rec(3))) {
		t.Errorf("offset of line 5 = %d", recs[2].Offset)
	}

	// The writer finishes the line and appends another: the next read starts at the saved
	// offset, returns the completed line once and numbers lines on from 5.
	blob += rec(5)[40:] + "\n" + rec(6) + "\n"
	res2, recs2 := scanString(t, r, blob[res.state.Offset:], res.state)
	if got := correlations(recs2); got != "corr-5@6,corr-6@7" {
		t.Errorf("second read = %s", got)
	}
	if res2.state.Offset != int64(len(blob)) || res2.state.Lines != 7 || res2.pending != 0 || len(res2.errs) != 0 {
		t.Errorf("second state = %+v pending %d errors %v", res2.state, res2.pending, res2.errs)
	}

	// Nothing new: nothing returned, nothing moves.
	res3, recs3 := scanString(t, r, "", res2.state)
	if len(recs3) != 0 || res3.state != res2.state {
		t.Errorf("empty read = %v %+v", recs3, res3.state)
	}
}

func TestScanLongLine(t *testing.T) {
	t.Parallel()
	r := &Reader{MaxLineBytes: 400} // rec() lines are about 320 bytes
	long := `{"time":"2026-11-22T07:00:00Z","pad":"` + strings.Repeat("x", 500) + `"}`
	blob := rec(1) + "\n" + long + "\n" + rec(2) + "\n" + long // the last one unterminated
	res, recs := scanString(t, r, blob, State{})
	if got := correlations(recs); got != "corr-1@1,corr-2@3" {
		t.Errorf("records = %s", got)
	}
	if len(res.errs) != 1 || !errors.Is(res.errs[0], ErrLineTooLong) || res.errs[0].Line != 2 {
		t.Errorf("errors = %v", res.errs)
	}
	if res.state.Offset != int64(len(blob)-len(long)) || res.pending != int64(len(long)) {
		t.Errorf("state = %+v pending %d: an unterminated line, long or not, is not consumed", res.state, res.pending)
	}
}

func TestScanFnErrorKeepsStateAtLastAcceptedLine(t *testing.T) {
	t.Parallel()
	r := &Reader{}
	blob := rec(1) + "\n" + rec(2) + "\n" + rec(3) + "\n"
	boom := errors.New("sink full")
	n := 0
	res, err := r.scan(context.Background(), strings.NewReader(blob), ContainerActivityLogs, "b", State{}, func(Record) error {
		if n++; n == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "blob insights-activity-logs/b line 2") {
		t.Fatalf("err = %v", err)
	}
	if res.state.Offset != int64(len(rec(1))+1) || res.state.Lines != 1 || res.records != 1 {
		t.Errorf("state = %+v records %d, want only line 1 consumed", res.state, res.records)
	}
}

func TestScanPrettyRecordsDocument(t *testing.T) {
	t.Parallel()
	doc := "\xEF\xBB\xBF{\n  \"records\": [\n    " + rec(1) + ",\n    " + rec(2) + "\n  ]\n}\n"
	r := &Reader{}

	// Half a document: nothing consumed, all of it pending.
	res, recs := scanString(t, r, doc[:len(doc)/2], State{})
	if len(recs) != 0 || res.state.Offset != 0 || res.pending != int64(len(doc)/2) || len(res.errs) != 0 {
		t.Fatalf("half document: %d records, state %+v, pending %d, errors %v", len(recs), res.state, res.pending, res.errs)
	}

	two := doc + "{\"records\":[" + rec(3) + "]}\n"
	res, recs = scanString(t, r, two, State{})
	if got := correlations(recs); got != "corr-1@1,corr-2@1,corr-3@7" {
		t.Errorf("records = %s", got)
	}
	if recs[1].Index != 1 || recs[2].Index != 0 || recs[2].Offset != int64(len(doc)) {
		t.Errorf("positions = %d %d %d", recs[1].Index, recs[2].Index, recs[2].Offset)
	}
	if res.state.Offset != int64(len(two)) || res.state.Lines != 7 || res.pending != 0 {
		t.Errorf("state = %+v pending %d", res.state, res.pending)
	}

	// A syntax error inside a document is reported at the document's line; decoding resumes line
	// by line, so a record on a line of its own is still returned and each leftover line of the
	// broken document is reported.
	bad := "{\n \"records\": [\n" + rec(1) + ",\n oops\n]}\n"
	res, recs = scanString(t, r, bad, State{})
	if got := correlations(recs); got != "corr-1@3" {
		t.Errorf("bad document: records %s", got)
	}
	if len(res.errs) < 2 || res.errs[0].Line != 1 || res.errs[len(res.errs)-1].Line != 5 || res.state.Offset != int64(len(bad)) || res.state.Lines != 5 {
		t.Errorf("bad document: errors %v, state %+v", res.errs, res.state)
	}
}

func TestResetReason(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 22, 7, 0, 1, 0, time.UTC)
	st := State{Offset: 100, Lines: 2, Size: 120, ETag: `"0x1"`, CreatedAt: created}
	for _, tc := range []struct {
		name string
		blob Blob
		st   State
		want Reset
	}{
		{"grown", Blob{Size: 200, ETag: `"0x2"`, CreatedAt: created, Append: true}, st, ResetNone},
		{"shorter than offset", Blob{Size: 50, ETag: `"0x2"`, CreatedAt: created, Append: true}, st, ResetShrunk},
		{"recreated and longer", Blob{Size: 500, ETag: `"0x9"`, CreatedAt: created.Add(time.Hour), Append: true}, st, ResetRecreated},
		{"block blob rewritten", Blob{Size: 200, ETag: `"0x2"`, CreatedAt: created}, st, ResetRewritten},
		{"block blob unchanged", Blob{Size: 120, ETag: `"0x1"`, CreatedAt: created}, st, ResetNone},
		{"never read", Blob{Size: 10}, State{}, ResetNone},
		{"state without creation time", Blob{Size: 200, CreatedAt: created, Append: true}, State{Offset: 100, Lines: 1}, ResetNone},
	} {
		if got := resetReason(tc.blob, tc.st); got != tc.want {
			t.Errorf("%s: reset = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestContentRangeTotal(t *testing.T) {
	t.Parallel()
	if n, ok := contentRangeTotal("bytes 100-199/1234"); !ok || n != 1234 {
		t.Errorf("got %d %v", n, ok)
	}
	if _, ok := contentRangeTotal("bytes */*"); ok {
		t.Error("unknown total parsed")
	}
}

// FuzzScanIncremental checks the property the state exists for: reading a blob in two goes, the
// first ending anywhere (mid-line included), returns exactly the records and errors of reading it
// whole, with the same line numbers, and never consumes a partial line.
func FuzzScanIncremental(f *testing.F) {
	f.Add(rec(1)+"\n"+rec(2)+"\n"+rec(3), 50)
	f.Add("\xEF\xBB\xBF"+rec(1)+"\r\n\n{bad\n"+rec(2)+"\n", 1)
	f.Add(`{"records":[`+rec(1)+`,`+rec(2)+`]}`+"\n"+rec(3)+"\n", 200)
	f.Add("{\n\"records\": [\n"+rec(1)+"\n]}\n", 20)
	f.Fuzz(func(t *testing.T, blob string, cut int) {
		if cut < 0 {
			cut = -cut
		}
		cut %= len(blob) + 1
		r := &Reader{MaxLineBytes: 1 << 16}
		whole, wholeRecs := scanString(t, r, blob, State{})
		first, recs1 := scanString(t, r, blob[:cut], State{})
		if first.state.Offset > int64(cut) || (first.state.Format != FormatDocument && first.state.Offset > 0 && blob[first.state.Offset-1] != '\n') {
			t.Fatalf("first read stopped at %d, not after a line", first.state.Offset)
		}
		second, recs2 := scanString(t, r, blob[first.state.Offset:], first.state)
		got := correlations(append(recs1, recs2...))
		if want := correlations(wholeRecs); got != want {
			t.Fatalf("two reads = %s, one read = %s", got, want)
		}
		if second.state != whole.state || len(first.errs)+len(second.errs) != len(whole.errs) {
			t.Fatalf("states %+v vs %+v, errors %d+%d vs %d", second.state, whole.state, len(first.errs), len(second.errs), len(whole.errs))
		}
	})
}

// TestStateJSON pins the persisted form of State: callers store it between runs, so its field
// names are a contract.
func TestStateJSON(t *testing.T) {
	t.Parallel()
	st := States{"a/PT1H.json": {Offset: 1876, Lines: 3, Size: 1900, ETag: "0x8DCB1", CreatedAt: time.Date(2026, 11, 22, 7, 0, 1, 0, time.UTC), Format: FormatLines}, "b/PT1H.json": {}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a/PT1H.json":{"offset":1876,"lines":3,"size":1900,"etag":"0x8DCB1","created_at":"2026-11-22T07:00:01Z","format":"lines"},"b/PT1H.json":{"offset":0,"lines":0,"size":0}}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
	var back States
	if err := json.Unmarshal(b, &back); err != nil || back["a/PT1H.json"] != st["a/PT1H.json"] || back["b/PT1H.json"] != (State{}) {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}
