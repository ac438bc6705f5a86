package activity_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/permlake/permlake/extract/azure/activity"
)

// exportCopy is a place an export is written to and read back from: a directory in the azcopy
// layout, or Azurite (bucket_integration_test.go).
type exportCopy interface {
	// appendTo appends data to blob name of container, creating it when missing.
	appendTo(t *testing.T, containerName, name string, data []byte)
	// replace writes blob name again with data (a shorter body: a replaced blob).
	replace(t *testing.T, containerName, name string, data []byte)
	reader(t *testing.T, containerName string) *activity.Reader
}

// dirCopy is <root>/<container>/<blob name> on disk, written with plain file appends as azcopy
// (or a sync job) leaves it, and read through fileblob.
type dirCopy struct {
	root   string
	bucket *blob.Bucket
}

func newDirCopy(t *testing.T, opts *fileblob.Options) *dirCopy {
	t.Helper()
	root := t.TempDir()
	b, err := fileblob.OpenBucket(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return &dirCopy{root: root, bucket: b}
}

func (d *dirCopy) path(containerName, name string) string {
	return filepath.Join(d.root, containerName, filepath.FromSlash(name))
}

func (d *dirCopy) appendTo(t *testing.T, containerName, name string, data []byte) {
	t.Helper()
	p := d.path(containerName, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func (d *dirCopy) replace(t *testing.T, containerName, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(d.path(containerName, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (d *dirCopy) reader(t *testing.T, containerName string) *activity.Reader {
	t.Helper()
	r, err := activity.NewBucketReader(d.bucket, containerName)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// blobOut is what one read of one blob returned, without the storage's own version fields
// (ETag, creation time), which differ between copies of the same bytes.
type blobOut struct {
	Records   []activity.Record
	Reset     activity.Reset
	Unchanged bool
	Lines     int64
	Bytes     int64
	Pending   int64
	Errors    []string
	Offset    int64 // State.Offset
	StLines   int64 // State.Lines
	Size      int64 // State.Size
	Format    activity.Format
}

// runOut is one run of the collector: blob name → what was read.
type runOut map[string]blobOut

func outOf(recs map[string][]activity.Record, results map[string]activity.Result) runOut {
	out := runOut{}
	for name, res := range results {
		var errs []string
		for _, e := range res.Errors {
			errs = append(errs, fmt.Sprintf("%d@%d: %v", e.Line, e.Offset, e))
		}
		out[name] = blobOut{Records: recs[name], Reset: res.Reset, Unchanged: res.Unchanged, Lines: res.Lines, Bytes: res.Bytes,
			Pending: res.Pending, Errors: errs, Offset: res.State.Offset, StLines: res.State.Lines, Size: res.State.Size, Format: res.State.Format}
	}
	return out
}

// incrementalScenario writes the export of TestIncrementalReadsAgainstAzurite (two subscriptions
// and a tenant's sign-in container; a half line completed between runs; a late record in an hour
// already read; names outside the window or the layout), reads it in runs the way a collector
// does, with the states going through JSON between runs, makes the same checks, then replaces
// one blob by a shorter one. It returns what every run read, to compare copies.
func incrementalScenario(t *testing.T, cp exportCopy) []runOut {
	t.Helper()
	ctx := context.Background()
	actR, signR := cp.reader(t, activity.ContainerActivityLogs), cp.reader(t, activity.ContainerSignInLogs)
	actPrefixes, signPrefixes := activity.RecordListPrefixes(actR), activity.RecordListPrefixes(signR)
	act := func(name, data string) { cp.appendTo(t, activity.ContainerActivityLogs, name, []byte(data)) }

	e1, _ := activity.ActivityExport(sub1)
	e2, _ := activity.ActivityExport(sub2)
	et, _ := activity.EntraExport(activity.ContainerSignInLogs, strings.ToUpper(tenant))
	s1h07, s1h08, s2h07, t07 := e1.BlobName(h07), e1.BlobName(h08), e2.BlobName(h07), et.BlobName(h07)
	if s1h07 != "resourceId=/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/y=2026/m=11/d=22/h=07/m=00/PT1H.json" ||
		t07 != "tenantId=72f988bf-86f1-41af-91ab-2d7cd011db47/y=2026/m=11/d=22/h=07/m=00/PT1H.json" {
		t.Fatalf("layout: %s %s", s1h07, t07)
	}

	late08 := activityRec(sub1, "s1-08-c", h08.Add(20*time.Minute), "Microsoft.Storage/storageAccounts/delete")
	half, rest := late08[:97], late08[97:]
	act(s1h07, activityRec(sub1, "s1-07-a", h07.Add(1*time.Minute), "Microsoft.Storage/storageAccounts/write")+"\n"+
		activityRec(sub1, "s1-07-b", h07.Add(2*time.Minute), "Microsoft.Storage/storageAccounts/listKeys/action")+"\n"+
		"{\"time\":\"2026-11-22T07:03:00Z\",\"resourceId\":\n"+
		activityRec(sub1, "s1-07-d", h07.Add(4*time.Minute), "Microsoft.Authorization/roleAssignments/write")+"\n")
	act(s1h08, activityRec(sub1, "s1-08-a", h08.Add(1*time.Minute), "Microsoft.Storage/storageAccounts/write")+"\n"+
		activityRec(sub1, "s1-08-b", h07.Add(59*time.Minute), "Microsoft.Storage/storageAccounts/write")+"\n"+half)
	act(s2h07, "\xEF\xBB\xBF"+activityRec(sub2, "s2-07-a", h07.Add(10*time.Minute), "Microsoft.Compute/virtualMachines/write")+"\n\n"+
		activityRec(sub2, "s2-07-b", h07.Add(11*time.Minute), "Microsoft.Compute/virtualMachines/delete")+"\n")
	act(e1.BlobName(h08.Add(time.Hour)), activityRec(sub1, "s1-09", h08.Add(time.Hour), "x/write")+"\n") // one hour past the margin
	act(e1.BlobName(h07.Add(12*time.Hour)), activityRec(sub1, "s1-19", h07.Add(12*time.Hour), "x/write")+"\n")
	act(e1.HourPrefix(h07)+"m=00/PT1H.json.bak", activityRec(sub1, "bak", h07, "x/write")+"\n")
	cp.appendTo(t, activity.ContainerSignInLogs, t07, []byte(signInRec("si-1", "alice@contoso.com", h07.Add(5*time.Minute), 0)+"\n"+
		signInRec("si-2", "bob@contoso.com", h07.Add(6*time.Minute), 50126)+"\n"))

	window := activity.Window{From: h07, To: h08, Late: time.Hour} // path hours 07 and 08
	list := func(r *activity.Reader, e activity.Export, w activity.Window) []activity.Blob {
		t.Helper()
		bs, err := r.List(ctx, e, w)
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}

	// Listing: the hours asked for plus the late margin, of the one scope, oldest first, listed
	// by the day's prefix.
	b1, b2, bt := list(actR, e1, window), list(actR, e2, window), list(signR, et, window)
	if got := strings.Join(names(b1), " "); got != s1h07+" "+s1h08 {
		t.Fatalf("sub1 blobs = %q", got)
	}
	if got := strings.Join(names(b2), " "); got != s2h07 {
		t.Fatalf("sub2 blobs = %q", got)
	}
	if got := strings.Join(names(bt), " "); got != t07 {
		t.Fatalf("tenant blobs = %q", got)
	}
	if !b1[0].Hour.Equal(h07) || !b1[1].Hour.Equal(h08) || !b1[0].Append || b1[0].ETag == "" || b1[0].Container != activity.ContainerActivityLogs || b1[0].LastModified.IsZero() {
		t.Errorf("listed blob = %+v", b1[0])
	}
	day := "y=2026/m=11/d=22/"
	if got, want := strings.Join(actPrefixes(), " "), e1.Prefix()+day+" "+e2.Prefix()+day; got != want {
		t.Errorf("listed prefixes %q, want %q", got, want)
	}
	if got, want := strings.Join(signPrefixes(), " "), et.Prefix()+day; got != want {
		t.Errorf("listed prefixes %q, want %q", got, want)
	}
	// Without the margin, hour 08 is not wanted; one hour is listed by its own prefix.
	if one := list(actR, e1, activity.Window{From: h07, To: h08}); len(one) != 1 || one[0].Name != s1h07 {
		t.Errorf("no-margin list = %v", names(one))
	}
	if got := actPrefixes(); len(got) != 1 || got[0] != e1.HourPrefix(h07) {
		t.Errorf("one-hour list prefixes %q, want %q", got, e1.HourPrefix(h07))
	}

	seen := map[string]int{}
	count := func(recs map[string][]activity.Record) {
		for _, rs := range recs {
			for _, r := range rs {
				seen[r.CorrelationID]++
			}
		}
	}
	var runs []runOut
	both := func(states, signStates activity.States) (map[string][]activity.Record, map[string]activity.Result, activity.States, activity.States) {
		t.Helper()
		recs, results, states := readAll(ctx, t, actR, append(list(actR, e1, window), list(actR, e2, window)...), states)
		signRecs, signResults, signStates := readAll(ctx, t, signR, list(signR, et, window), signStates)
		for k, v := range signRecs {
			recs[k] = v
		}
		for k, v := range signResults {
			results[k] = v
		}
		count(recs)
		runs = append(runs, outOf(recs, results))
		return recs, results, roundTrip(t, states), roundTrip(t, signStates)
	}

	// Run 1.
	recs, results, states, signStates := both(activity.States{}, activity.States{})
	for name, want := range map[string]string{s1h07: "s1-07-a@1,s1-07-b@2,s1-07-d@4", s1h08: "s1-08-a@1,s1-08-b@2", s2h07: "s2-07-a@1,s2-07-b@3", t07: "si-1@1,si-2@2"} {
		if got := corrs(recs[name]); got != want {
			t.Errorf("run 1 %s = %s, want %s", name, got, want)
		}
	}
	if r07 := results[s1h07]; len(r07.Errors) != 1 || r07.Errors[0].Line != 3 || r07.Errors[0].Blob != s1h07 {
		t.Errorf("run 1 errors of %s = %v, want line 3", s1h07, r07.Errors)
	}
	if r08 := results[s1h08]; r08.Pending != int64(len(half)) || r08.State.Offset != r08.State.Size-int64(len(half)) || r08.State.Lines != 2 {
		t.Errorf("run 1 %s: state %+v pending %d, want the half line (%d bytes) left", s1h08, r08.State, r08.Pending, len(half))
	}
	if a := recs[s1h07][2]; a.Identity.Action != "Microsoft.Authorization/roleAssignments/write" || a.SubscriptionID != sub1 || !a.Time.Equal(h07.Add(4*time.Minute)) ||
		a.Identity.Evidence == nil || a.Identity.Evidence.PrincipalType != "ServicePrincipal" || a.Blob != s1h07 || a.Container != activity.ContainerActivityLogs {
		t.Errorf("record = %+v", a)
	}
	if s := recs[t07][1]; s.SignIn == nil || s.SignIn.UserPrincipalName != "bob@contoso.com" || s.SignIn.ErrorCode == nil || *s.SignIn.ErrorCode != 50126 || s.Container != activity.ContainerSignInLogs {
		t.Errorf("sign-in record = %+v / %+v", s, s.SignIn)
	}

	// Between runs: the half line is completed and a new half line follows; a late record lands
	// in hour 07, already read.
	next08 := activityRec(sub1, "s1-08-d", h08.Add(40*time.Minute), "Microsoft.Network/networkSecurityGroups/write")
	half2 := next08[:50]
	act(s1h08, rest+"\n"+activityRec(sub1, "s1-08-e", h08.Add(30*time.Minute), "Microsoft.Web/sites/write")+"\n"+half2)
	act(s1h07, activityRec(sub1, "s1-07-late", h07.Add(30*time.Minute), "Microsoft.KeyVault/vaults/write")+"\n")

	// Run 2.
	recs, results, states, signStates = both(states, signStates)
	if got := corrs(recs[s1h07]); got != "s1-07-late@5" {
		t.Errorf("run 2 %s = %s, want only the late record", s1h07, got)
	}
	if got := corrs(recs[s1h08]); got != "s1-08-c@3,s1-08-e@4" {
		t.Errorf("run 2 %s = %s, want the completed line and the new one", s1h08, got)
	}
	if c := recs[s1h08]; len(c) == 2 && string(c[0].Raw) != late08 {
		t.Errorf("completed line = %s", c[0].Raw)
	}
	if res := results[s1h08]; res.Pending != int64(len(half2)) || res.Reset != activity.ResetNone || len(res.Errors) != 0 {
		t.Errorf("run 2 %s: pending %d reset %q errors %v", s1h08, res.Pending, res.Reset, res.Errors)
	}
	if res := results[s1h07]; len(res.Errors) != 0 || res.Lines != 1 {
		t.Errorf("run 2 %s: the malformed line was reported again or more was read: %+v", s1h07, res)
	}
	for _, name := range []string{s2h07, t07} {
		if res := results[name]; !res.Unchanged || len(recs[name]) != 0 {
			t.Errorf("run 2 %s: %+v, %d records; want unchanged", name, res, len(recs[name]))
		}
	}

	// Run 3, nothing appended: nothing at all.
	recs, results, states, signStates = both(states, signStates)
	for name, rs := range recs {
		if len(rs) != 0 || !results[name].Unchanged {
			t.Errorf("run 3 %s: %d records, %+v", name, len(rs), results[name])
		}
	}

	// Every complete record came back exactly once, and they are what a fresh read of the blobs
	// as they stand returns.
	fresh := map[string]int{"si-1": 1, "si-2": 1}
	for _, name := range []string{s1h07, s1h08, s2h07} {
		st, err := actR.Stat(ctx, e1, name)
		if err != nil {
			t.Fatal(err)
		}
		rs, res, err := actR.ReadAll(ctx, st, activity.State{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			fresh[r.CorrelationID]++
		}
		if name == s1h08 && (!st.Hour.Equal(h08) || res.Pending != int64(len(half2))) {
			t.Errorf("stat %s: hour %v, pending %d", name, st.Hour, res.Pending)
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(fresh) || len(seen) != 12 {
		t.Errorf("records over the runs %v\nfresh read %v", seen, fresh)
	}

	// Run 4: sub2's blob is replaced by a shorter one; it is read again from 0.
	cp.replace(t, activity.ContainerActivityLogs, s2h07, []byte(activityRec(sub2, "s2-new", h07, "b/write")+"\n"))
	recs, results, _, _ = both(states, signStates)
	if res := results[s2h07]; res.Reset != activity.ResetShrunk || corrs(recs[s2h07]) != "s2-new@1" || res.State.Lines != 1 {
		t.Errorf("run 4 %s: %s %+v, want shrunk and read from 0", s2h07, corrs(recs[s2h07]), res)
	}
	return runs
}

func TestDirectoryExport(t *testing.T) {
	t.Parallel()
	incrementalScenario(t, newDirCopy(t, nil))
}

// TestBucketCreationTime: with a driver that keeps a creation time (memblob, like azureblob and
// gcsblob) a deleted and rewritten blob is read again from 0 even when longer, as in Blob Storage.
func TestBucketCreationTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	r, err := activity.NewBucketReader(b, activity.ContainerActivityLogs)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := activity.ActivityExport(sub1)
	name := e.BlobName(h07)
	key := activity.ContainerActivityLogs + "/" + name
	write := func(body string) activity.Blob {
		t.Helper()
		if err := b.WriteAll(ctx, key, []byte(body), nil); err != nil {
			t.Fatal(err)
		}
		bl, err := r.Stat(ctx, e, name)
		if err != nil {
			t.Fatal(err)
		}
		return bl
	}
	one := activityRec(sub1, "a", h07, "a/write") + "\n"
	bl := write(one)
	if bl.CreatedAt.IsZero() {
		t.Fatalf("no creation time from memblob: %+v", bl)
	}
	_, res, err := r.ReadAll(ctx, bl, activity.State{})
	if err != nil || res.Records != 1 || !res.State.CreatedAt.Equal(bl.CreatedAt) {
		t.Fatalf("first read: %+v %v", res, err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	two := activityRec(sub1, "b", h07, "b/write") + "\n" + activityRec(sub1, "c", h07, "b/write") + "\n"
	bl = write(two)
	recs, res, err := r.ReadAll(ctx, bl, res.State)
	if err != nil || res.Reset != activity.ResetRecreated || corrs(recs) != "b@1,c@2" {
		t.Errorf("recreated: %s %+v %v", corrs(recs), res, err)
	}
}

// TestDirectoryAppendOnly pins what NewBucketReader documents for files: the size is the
// version, a shorter file is read again from 0, a longer replacement is not detected.
func TestDirectoryAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDirCopy(t, nil)
	r := d.reader(t, activity.ContainerActivityLogs)
	e, _ := activity.ActivityExport(sub2)
	name := e.BlobName(h07)
	d.appendTo(t, activity.ContainerActivityLogs, name, []byte(activityRec(sub2, "a", h07, "a/write")+"\n"+activityRec(sub2, "b", h07, "a/write")+"\n"))
	stat := func() activity.Blob {
		t.Helper()
		b, err := r.Stat(ctx, e, name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := stat()
	if !b.Append || b.ETag == "" || !b.CreatedAt.IsZero() || !b.Hour.Equal(h07) || b.Container != activity.ContainerActivityLogs {
		t.Fatalf("stat = %+v", b)
	}
	_, res, err := r.ReadAll(ctx, b, activity.State{})
	if err != nil || res.Records != 2 || res.State.ETag != b.ETag || res.State.Size != b.Size {
		t.Fatalf("first read: %+v %v", res, err)
	}
	st := res.State

	// Touched (copied again with the same bytes): a new modification time and ETag, same size.
	p := d.path(activity.ContainerActivityLogs, name)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if b = stat(); b.ETag == st.ETag {
		t.Fatalf("touching kept the ETag %q: the test proves nothing", b.ETag)
	}
	if recs, res, err := r.ReadAll(ctx, b, st); err != nil || !res.Unchanged || len(recs) != 0 || res.State != st {
		t.Errorf("touched: %d records %+v %v; want unchanged", len(recs), res, err)
	}

	// Shorter than the saved offset: read again from 0.
	d.replace(t, activity.ContainerActivityLogs, name, []byte(activityRec(sub2, "c", h07, "c/write")+"\n"))
	recs, res, err := r.ReadAll(ctx, stat(), st)
	if err != nil || res.Reset != activity.ResetShrunk || corrs(recs) != "c@1" || res.State.Offset != stat().Size {
		t.Fatalf("shrunk: %s %+v %v", corrs(recs), res, err)
	}
	st = res.State

	// Replaced by a longer file: without a creation time it looks grown, and is read on from the
	// saved offset (documented).
	long := activityRec(sub2, "d", h07, "d/write") + "\n" + activityRec(sub2, "e", h07, "d/write") + "\n"
	d.replace(t, activity.ContainerActivityLogs, name, []byte(long))
	if recs, res, err = r.ReadAll(ctx, stat(), st); err != nil || res.Reset != activity.ResetNone || res.State.Offset != int64(len(long)) {
		t.Errorf("longer replacement: %s %+v %v", corrs(recs), res, err)
	}

	// Shrunk between listing and reading: the listing's size is stale, the read notices.
	st = res.State
	b = stat()
	d.replace(t, activity.ContainerActivityLogs, name, []byte(activityRec(sub2, "f", h07, "f/write")+"\n"))
	b.Size += 10 // as if it had grown meanwhile, so the saved offset looks valid
	if recs, res, err = r.ReadAll(ctx, b, st); err != nil || res.Reset != activity.ResetShrunk || corrs(recs) != "f@1" {
		t.Errorf("shrunk after listing: %s %+v %v", corrs(recs), res, err)
	}

}

// TestBucketReaderContainers checks the container handling: one container per reader, named as
// Blob Storage names containers, and files written through fileblob itself (with its .attrs
// sidecars) read like copied ones.
func TestBucketReaderContainers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDirCopy(t, nil)
	for _, bad := range []string{"", "ab", "../x", "insights-activity-logs/x", "Insights", "a--b", "-ab", strings.Repeat("a", 64)} {
		if _, err := activity.NewBucketReader(d.bucket, bad); err == nil {
			t.Errorf("container %q accepted", bad)
		}
	}
	if _, err := activity.NewBucketReader(nil, activity.ContainerActivityLogs); err == nil {
		t.Error("nil bucket accepted")
	}

	signR := d.reader(t, activity.ContainerSignInLogs)
	e, _ := activity.ActivityExport(sub1)
	if _, err := signR.List(ctx, e, activity.Window{From: h07}); err == nil || !strings.Contains(err.Error(), activity.ContainerActivityLogs) {
		t.Errorf("activity export listed through a sign-in reader: %v", err)
	}
	if _, _, err := signR.ReadAll(ctx, activity.Blob{Container: activity.ContainerActivityLogs, Name: e.BlobName(h07), Size: 1}, activity.State{}); err == nil {
		t.Error("activity blob read through a sign-in reader")
	}

	body := activityRec(sub1, "w-1", h07, "a/write") + "\n"
	if err := d.bucket.WriteAll(ctx, activity.ContainerActivityLogs+"/"+e.BlobName(h07), []byte(body), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.path(activity.ContainerActivityLogs, e.BlobName(h07)) + ".attrs"); err != nil {
		t.Fatalf("no sidecar written: %v", err)
	}
	r := d.reader(t, activity.ContainerActivityLogs)
	bs, err := r.List(ctx, e, activity.Window{From: h07})
	if err != nil || len(bs) != 1 {
		t.Fatalf("list = %v %v", names(bs), err)
	}
	if recs, _, err := r.ReadAll(ctx, bs[0], activity.State{}); err != nil || corrs(recs) != "w-1@1" {
		t.Errorf("read = %s %v", corrs(recs), err)
	}
	if _, err := r.Stat(ctx, e, e.BlobName(h08)); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("stat of a missing file = %v", err)
	}
}
