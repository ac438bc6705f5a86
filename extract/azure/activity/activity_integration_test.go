package activity_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/extract/azure/activity"
	"github.com/permlake/permlake/extract/azure/azuretest"
)

const (
	sub1   = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	sub2   = "9a8b7c6d-5e4f-4321-8765-0fedcba98765"
	tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

var (
	h07 = time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	h08 = h07.Add(time.Hour)
)

// activityRec is an Activity Log line as diagnostic settings write it: 7 fractional digits, the
// resource ID in upper case like the path, the permission in identity.authorization.action.
func activityRec(sub, corr string, at time.Time, action string) string {
	return fmt.Sprintf(`{"time":"%s","resourceId":"/SUBSCRIPTIONS/%s/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/SA1","operationName":"%s","category":"Write","resultType":"Success","resultSignature":"Succeeded.OK","durationMs":12,"callerIpAddress":"203.0.113.9","correlationId":"%s","identity":{"authorization":{"scope":"/subscriptions/%s/resourceGroups/rg1","action":"%s","evidence":{"role":"Contributor","principalId":"2468adf082114e3a95f185137af64708","principalType":"ServicePrincipal"}},"claims":{"http://schemas.microsoft.com/identity/claims/objectidentifier":"2468adf0-8211-4e3a-95f1-85137af64708","appid":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}},"level":"Information","location":"westeurope","properties":{"eventCategory":"Administrative","statusCode":"OK"}}`,
		at.Format("2006-01-02T15:04:05.0000000Z"), strings.ToUpper(sub), strings.ToUpper(action), corr, sub, action)
}

func signInRec(corr, upn string, at time.Time, errorCode int) string {
	return fmt.Sprintf(`{"time":"%s","resourceId":"/tenants/%s/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"SignInLogs","tenantId":"%s","resultType":"%d","correlationId":"%s","identity":"%s","Level":4,"location":"DE","properties":{"id":"%s","createdDateTime":"%s","userPrincipalName":"%s","userId":"a1b2c3d4-e5f6-4789-8abc-def012345678","appId":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c","appDisplayName":"Azure Portal","ipAddress":"198.51.100.4","status":{"errorCode":%d},"isInteractive":true}}`,
		at.Format(time.RFC3339Nano), tenant, tenant, errorCode, corr, upn, corr, at.Format("2006-01-02T15:04:05.0000000+00:00"), upn, errorCode)
}

// listRecorder records the prefix of every List Blobs request.
type listRecorder struct {
	mu       sync.Mutex
	prefixes []string
}

func (l *listRecorder) Do(req *policy.Request) (*http.Response, error) {
	if q := req.Raw().URL.Query(); q.Get("comp") == "list" {
		l.mu.Lock()
		l.prefixes = append(l.prefixes, q.Get("prefix"))
		l.mu.Unlock()
	}
	return req.Next()
}

func (l *listRecorder) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.prefixes
	l.prefixes = nil
	return p
}

// readAll reads every listed blob with the saved states and returns the records by blob name and
// the new states, the way a collector run would.
func readAll(ctx context.Context, t *testing.T, r *activity.Reader, blobs []activity.Blob, states activity.States) (map[string][]activity.Record, map[string]activity.Result, activity.States) {
	t.Helper()
	recs := map[string][]activity.Record{}
	results := map[string]activity.Result{}
	next := activity.States{}
	for k, v := range states {
		next[k] = v
	}
	for _, b := range blobs {
		rs, res, err := r.ReadAll(ctx, b, states[b.Name])
		if err != nil {
			t.Fatalf("read %s: %v", b.Name, err)
		}
		recs[b.Name], results[b.Name], next[b.Name] = rs, res, res.State
	}
	return recs, results, next
}

func corrs(recs []activity.Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, fmt.Sprintf("%s@%d", r.CorrelationID, r.Line))
	}
	return strings.Join(s, ",")
}

func names(blobs []activity.Blob) []string {
	var n []string
	for _, b := range blobs {
		n = append(n, b.Name)
	}
	return n
}

// roundTrip persists states as JSON and loads them back, as the caller does between runs.
func roundTrip(t *testing.T, states activity.States) activity.States {
	t.Helper()
	b, err := json.Marshal(states)
	if err != nil {
		t.Fatal(err)
	}
	var back activity.States
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(states) {
		t.Fatalf("round trip kept %d of %d states: %s", len(back), len(states), b)
	}
	for k, v := range states {
		w := back[k]
		if w.Offset != v.Offset || w.Lines != v.Lines || w.Size != v.Size || w.ETag != v.ETag || !w.CreatedAt.Equal(v.CreatedAt) || w.Format != v.Format {
			t.Fatalf("state of %s changed through JSON: %+v -> %+v (%s)", k, v, w, b)
		}
	}
	return back
}

func TestIncrementalReadsAgainstAzurite(t *testing.T) {
	ctx := context.Background()
	az := azuretest.StartAzurite(t)
	rec := &listRecorder{}
	client := az.NewClient(t, &azblob.ClientOptions{ClientOptions: policy.ClientOptions{PerCallPolicies: []policy.Policy{rec}}})
	actC := az.Container(ctx, t, activity.ContainerActivityLogs)
	signC := az.Container(ctx, t, activity.ContainerSignInLogs)
	actR := activity.NewReader(client.ServiceClient().NewContainerClient(activity.ContainerActivityLogs))
	signR := activity.NewReader(client.ServiceClient().NewContainerClient(activity.ContainerSignInLogs))

	// The export is given lower-case IDs; the path must spell the subscription in upper case.
	e1, err := activity.ActivityExport(sub1)
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := activity.ActivityExport(sub2)
	et, _ := activity.EntraExport(activity.ContainerSignInLogs, strings.ToUpper(tenant))
	s1h07 := "resourceId=/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/y=2026/m=11/d=22/h=07/m=00/PT1H.json"
	s1h08 := "resourceId=/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/y=2026/m=11/d=22/h=08/m=00/PT1H.json"
	s2h07 := "resourceId=/SUBSCRIPTIONS/9A8B7C6D-5E4F-4321-8765-0FEDCBA98765/y=2026/m=11/d=22/h=07/m=00/PT1H.json"
	t07 := "tenantId=72f988bf-86f1-41af-91ab-2d7cd011db47/y=2026/m=11/d=22/h=07/m=00/PT1H.json"
	if e1.BlobName(h07) != s1h07 || e2.BlobName(h07) != s2h07 || et.BlobName(h07) != t07 {
		t.Fatalf("layout: %s %s %s", e1.BlobName(h07), e2.BlobName(h07), et.BlobName(h07))
	}

	// Hour 08 ends in half a line: the writer is in the middle of appending it.
	late08 := activityRec(sub1, "s1-08-c", h08.Add(20*time.Minute), "Microsoft.Storage/storageAccounts/delete")
	half, rest := late08[:97], late08[97:]
	azuretest.Append(ctx, t, actC, s1h07, []byte(
		activityRec(sub1, "s1-07-a", h07.Add(1*time.Minute), "Microsoft.Storage/storageAccounts/write")+"\n"+
			activityRec(sub1, "s1-07-b", h07.Add(2*time.Minute), "Microsoft.Storage/storageAccounts/listKeys/action")+"\n"+
			"{\"time\":\"2026-11-22T07:03:00Z\",\"resourceId\":\n"+ // malformed: reported with its line, skipped
			activityRec(sub1, "s1-07-d", h07.Add(4*time.Minute), "Microsoft.Authorization/roleAssignments/write")+"\n"))
	azuretest.Append(ctx, t, actC, s1h08, []byte(
		activityRec(sub1, "s1-08-a", h08.Add(1*time.Minute), "Microsoft.Storage/storageAccounts/write")+"\n"+
			activityRec(sub1, "s1-08-b", h07.Add(59*time.Minute), "Microsoft.Storage/storageAccounts/write")+"\n"+ // generated in 07, received in 08
			half))
	azuretest.Append(ctx, t, actC, s2h07, []byte("\xEF\xBB\xBF"+activityRec(sub2, "s2-07-a", h07.Add(10*time.Minute), "Microsoft.Compute/virtualMachines/write")+"\n\n"+
		activityRec(sub2, "s2-07-b", h07.Add(11*time.Minute), "Microsoft.Compute/virtualMachines/delete")+"\n"))
	// Outside the window, and names that only resemble the layout: never returned.
	azuretest.Append(ctx, t, actC, e1.BlobName(h07.Add(12*time.Hour)), []byte(activityRec(sub1, "s1-19", h07.Add(12*time.Hour), "x/write")+"\n"))
	azuretest.Append(ctx, t, actC, e1.HourPrefix(h07)+"m=00/PT1H.json.bak", []byte(activityRec(sub1, "bak", h07, "x/write")+"\n"))
	azuretest.Append(ctx, t, signC, t07, []byte(
		signInRec("si-1", "alice@contoso.com", h07.Add(5*time.Minute), 0)+"\n"+
			signInRec("si-2", "bob@contoso.com", h07.Add(6*time.Minute), 50126)+"\n"))

	window := activity.Window{From: h07, To: h08, Late: time.Hour} // path hours 07 and 08
	list := func(r *activity.Reader, e activity.Export) []activity.Blob {
		t.Helper()
		bs, err := r.List(ctx, e, window)
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}

	// Listing: only the window's hours of the one scope, oldest first, by prefixes below the day.
	b1, b2, bt := list(actR, e1), list(actR, e2), list(signR, et)
	if got := names(b1); strings.Join(got, " ") != s1h07+" "+s1h08 {
		t.Fatalf("sub1 blobs = %q", got)
	}
	if got := names(b2); strings.Join(got, " ") != s2h07 {
		t.Fatalf("sub2 blobs = %q", got)
	}
	if got := names(bt); strings.Join(got, " ") != t07 {
		t.Fatalf("tenant blobs = %q", got)
	}
	if !b1[0].Hour.Equal(h07) || !b1[1].Hour.Equal(h08) || !b1[0].Append || b1[0].ETag == "" || b1[0].CreatedAt.IsZero() || b1[0].Container != activity.ContainerActivityLogs {
		t.Errorf("listed blob = %+v", b1[0])
	}
	// Two hours of one day: one day prefix per scope; one hour: that hour's prefix.
	wantPrefixes := e1.Prefix() + "y=2026/m=11/d=22/ " + e2.Prefix() + "y=2026/m=11/d=22/ " + et.Prefix() + "y=2026/m=11/d=22/"
	if got := strings.Join(rec.take(), " "); got != wantPrefixes {
		t.Errorf("listed prefixes %q, want %q", got, wantPrefixes)
	}
	if one, err := actR.List(ctx, e1, activity.Window{From: h08}); err != nil || len(one) != 1 || one[0].Name != s1h08 {
		t.Errorf("one-hour list = %v %v", names(one), err)
	}
	if got := rec.take(); len(got) != 1 || got[0] != e1.HourPrefix(h08) {
		t.Errorf("one-hour list prefixes %q, want %q", got, e1.HourPrefix(h08))
	}

	// seen counts every record returned by a run, to prove none is returned twice.
	seen := map[string]int{}
	count := func(recs map[string][]activity.Record) {
		for _, rs := range recs {
			for _, r := range rs {
				seen[r.CorrelationID]++
			}
		}
	}

	// First run.
	recs, results, states := readAll(ctx, t, actR, append(append([]activity.Blob{}, b1...), b2...), activity.States{})
	signRecs, signResults, signStates := readAll(ctx, t, signR, bt, activity.States{})
	if got := corrs(recs[s1h07]); got != "s1-07-a@1,s1-07-b@2,s1-07-d@4" {
		t.Errorf("run 1 %s = %s", s1h07, got)
	}
	if got := corrs(recs[s1h08]); got != "s1-08-a@1,s1-08-b@2" {
		t.Errorf("run 1 %s = %s", s1h08, got)
	}
	if got := corrs(recs[s2h07]); got != "s2-07-a@1,s2-07-b@3" {
		t.Errorf("run 1 %s = %s", s2h07, got)
	}
	if got := corrs(signRecs[t07]); got != "si-1@1,si-2@2" {
		t.Errorf("run 1 %s = %s", t07, got)
	}
	r07 := results[s1h07]
	if len(r07.Errors) != 1 || r07.Errors[0].Line != 3 || r07.Errors[0].Blob != s1h07 || !strings.Contains(r07.Errors[0].Error(), "line 3") {
		t.Errorf("run 1 errors of %s = %v, want line 3", s1h07, r07.Errors)
	}
	r08 := results[s1h08]
	if r08.Pending != int64(len(half)) || r08.State.Offset != r08.State.Size-int64(len(half)) || r08.State.Lines != 2 {
		t.Errorf("run 1 %s: state %+v pending %d, want the half line (%d bytes) left", s1h08, r08.State, r08.Pending, len(half))
	}

	// Concrete values survive the trip through Blob Storage.
	a := recs[s1h07][2]
	if a.Identity.Action != "Microsoft.Authorization/roleAssignments/write" || a.OperationName != "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE" ||
		a.SubscriptionID != sub1 || a.ResourceIDLower != "/subscriptions/"+sub1+"/resourcegroups/rg1/providers/microsoft.storage/storageaccounts/sa1" ||
		!a.Time.Equal(h07.Add(4*time.Minute)) || a.Identity.ObjectID != "2468adf0-8211-4e3a-95f1-85137af64708" || a.Identity.Evidence == nil ||
		a.Identity.Evidence.PrincipalType != "ServicePrincipal" || a.EventCategory != "Administrative" || a.Blob != s1h07 || a.Container != activity.ContainerActivityLogs {
		t.Errorf("record = %+v", a)
	}
	if s := signRecs[t07][1]; s.SignIn == nil || s.SignIn.UserPrincipalName != "bob@contoso.com" || s.SignIn.ErrorCode == nil || *s.SignIn.ErrorCode != 50126 || s.ResultType != "50126" || s.Level != "4" || s.Identity.Name != "bob@contoso.com" {
		t.Errorf("sign-in record = %+v / %+v", s, s.SignIn)
	}

	count(recs)
	count(signRecs)
	states = roundTrip(t, states)
	signStates = roundTrip(t, signStates)

	// Between runs: the half line is completed and another record follows with a new half line; a
	// late record lands in hour 07, already read; sub2 and the tenant do not change.
	late07 := activityRec(sub1, "s1-07-late", h07.Add(30*time.Minute), "Microsoft.KeyVault/vaults/write")
	next08 := activityRec(sub1, "s1-08-d", h08.Add(40*time.Minute), "Microsoft.Network/networkSecurityGroups/write")
	half2 := next08[:50]
	azuretest.Append(ctx, t, actC, s1h08, []byte(rest+"\n"+activityRec(sub1, "s1-08-e", h08.Add(30*time.Minute), "Microsoft.Web/sites/write")+"\n"+half2))
	azuretest.Append(ctx, t, actC, s1h07, []byte(late07+"\n"))

	b1, b2, bt = list(actR, e1), list(actR, e2), list(signR, et)
	recs, results, states = readAll(ctx, t, actR, append(append([]activity.Blob{}, b1...), b2...), states)
	signRecs, signResults, signStates = readAll(ctx, t, signR, bt, signStates)
	if got := corrs(recs[s1h07]); got != "s1-07-late@5" {
		t.Errorf("run 2 %s = %s, want only the late record", s1h07, got)
	}
	if got := corrs(recs[s1h08]); got != "s1-08-c@3,s1-08-e@4" {
		t.Errorf("run 2 %s = %s, want the completed line and the new one", s1h08, got)
	}
	if c := recs[s1h08]; len(c) == 2 && (string(c[0].Raw) != late08 || c[0].Identity.Action != "Microsoft.Storage/storageAccounts/delete") {
		t.Errorf("completed line = %s", c[0].Raw)
	}
	if res := results[s1h08]; res.Pending != int64(len(half2)) || res.Reset != activity.ResetNone || len(res.Errors) != 0 {
		t.Errorf("run 2 %s: pending %d reset %q errors %v", s1h08, res.Pending, res.Reset, res.Errors)
	}
	if res := results[s1h07]; len(res.Errors) != 0 || res.Lines != 1 {
		t.Errorf("run 2 %s: the malformed line was reported again or more was read: %+v", s1h07, res)
	}
	if res := results[s2h07]; !res.Unchanged || len(recs[s2h07]) != 0 {
		t.Errorf("run 2 %s: %+v, %d records; want unchanged and nothing downloaded", s2h07, res, len(recs[s2h07]))
	}
	if res := signResults[t07]; !res.Unchanged || len(signRecs[t07]) != 0 {
		t.Errorf("run 2 %s: %+v; want unchanged", t07, res)
	}
	count(recs)
	count(signRecs)
	states = roundTrip(t, states)
	_ = roundTrip(t, signStates)

	// Third run with nothing appended: nothing at all.
	recs, results, states = readAll(ctx, t, actR, append(append([]activity.Blob{}, list(actR, e1)...), list(actR, e2)...), states)
	for name, rs := range recs {
		if len(rs) != 0 || !results[name].Unchanged {
			t.Errorf("run 3 %s: %d records, %+v", name, len(rs), results[name])
		}
	}

	count(recs)

	// Across the runs every complete record was returned exactly once, and they are what one
	// fresh read of the blobs as they now stand returns (the half line excepted).
	fresh := map[string]int{}
	for _, b := range []string{s1h07, s1h08, s2h07} {
		st, err := actR.Stat(ctx, e1, b)
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
		if b == s1h08 && (!st.Hour.Equal(h08) || res.Pending != int64(len(half2))) {
			t.Errorf("stat %s: hour %v, pending %d", b, st.Hour, res.Pending)
		}
	}
	for _, c := range []string{"si-1", "si-2"} {
		fresh[c]++
	}
	if fmt.Sprint(seen) != fmt.Sprint(fresh) || len(seen) != 12 {
		t.Errorf("records over the runs %v\nfresh read %v", seen, fresh)
	}
	for c, n := range seen {
		if n != 1 {
			t.Errorf("%s returned %d times", c, n)
		}
	}
}

func TestReplacedBlobsAreReadAgainFromTheStart(t *testing.T) {
	ctx := context.Background()
	az := azuretest.StartAzurite(t)
	c := az.Container(ctx, t, activity.ContainerActivityLogs)
	r := activity.NewReader(c)
	e, _ := activity.ActivityExport(sub2)
	name := e.BlobName(h07)
	one := activityRec(sub2, "old-1", h07, "a/write") + "\n" + activityRec(sub2, "old-2", h07, "a/write") + "\n"
	azuretest.Append(ctx, t, c, name, []byte(one))
	stat := func() activity.Blob {
		t.Helper()
		b, err := r.Stat(ctx, e, name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	_, res, err := r.ReadAll(ctx, stat(), activity.State{})
	if err != nil || res.Records != 2 {
		t.Fatalf("first read: %+v %v", res, err)
	}
	st := res.State

	// Deleted and written again, shorter than the saved offset.
	del := func() {
		t.Helper()
		if _, err := c.NewBlobClient(name).Delete(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	del()
	time.Sleep(1100 * time.Millisecond) // creation times have one-second resolution
	azuretest.Append(ctx, t, c, name, []byte(activityRec(sub2, "new-1", h07, "b/write")+"\n"))
	recs, res, err := r.ReadAll(ctx, stat(), st)
	if err != nil || res.Reset != activity.ResetShrunk || corrs(recs) != "new-1@1" || res.State.Lines != 1 {
		t.Fatalf("shrunk: %s %+v %v", corrs(recs), res, err)
	}
	st = res.State

	// Written again, longer than before: only the creation time tells.
	del()
	time.Sleep(1100 * time.Millisecond)
	long := activityRec(sub2, "newer-1", h07, "c/write") + "\n" + activityRec(sub2, "newer-2", h07, "c/write") + "\n"
	azuretest.Append(ctx, t, c, name, []byte(long))
	recs, res, err = r.ReadAll(ctx, stat(), st)
	if err != nil || res.Reset != activity.ResetRecreated || corrs(recs) != "newer-1@1,newer-2@2" || res.State.Offset != int64(len(long)) {
		t.Fatalf("recreated: %s %+v %v", corrs(recs), res, err)
	}

	// A block blob (an older export) that is rewritten cannot be read from an offset.
	bb := c.NewBlockBlobClient(e.BlobName(h08))
	up := func(body string) {
		t.Helper()
		if _, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte(body))), nil); err != nil {
			t.Fatal(err)
		}
	}
	v1 := `{"records":[` + activityRec(sub2, "blk-1", h08, "d/write") + `]}` + "\n"
	up(v1)
	bst, err := r.Stat(ctx, e, e.BlobName(h08))
	if err != nil || bst.Append {
		t.Fatalf("block blob stat = %+v %v", bst, err)
	}
	recs, res, err = r.ReadAll(ctx, bst, activity.State{})
	if err != nil || corrs(recs) != "blk-1@1" {
		t.Fatalf("block blob: %s %v", corrs(recs), err)
	}
	up(`{"records":[` + activityRec(sub2, "blk-1", h08, "d/write") + `,` + activityRec(sub2, "blk-2", h08, "d/write") + `]}` + "\n")
	bst, _ = r.Stat(ctx, e, e.BlobName(h08))
	recs, res, err = r.ReadAll(ctx, bst, res.State)
	// Both reasons read from the start. Azurite gives an overwritten block blob a new creation
	// time (second resolution): when the two uploads fall in different seconds the reader sees
	// "recreated" (CI on a fresh clone did), in the same second "rewritten".
	if err != nil || (res.Reset != activity.ResetRewritten && res.Reset != activity.ResetRecreated) || corrs(recs) != "blk-1@1,blk-2@1" {
		t.Fatalf("rewritten block blob: %s %+v %v", corrs(recs), res, err)
	}
}

// TestAzuriteClient checks the harness itself: the endpoint and the shared-key client.
func TestAzuriteClient(t *testing.T) {
	ctx := context.Background()
	az := azuretest.StartAzurite(t)
	u, err := url.Parse(az.Endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Path != "/"+azuretest.Account {
		t.Fatalf("endpoint %q", az.Endpoint)
	}
	c := az.Container(ctx, t, "probe")
	azuretest.Append(ctx, t, c, "a/b.json", []byte("x\n"))
	azuretest.Append(ctx, t, c, "a/b.json", []byte("y\n")) // appends to the existing blob
	resp, err := az.Client.DownloadStream(ctx, "probe", "a/b.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil || buf.String() != "x\ny\n" {
		t.Fatalf("body %q %v", buf.String(), err)
	}
}
