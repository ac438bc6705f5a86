package laketest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/azure/azuretest"
	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/load/faultproxy"
	"github.com/permlake/permlake/schemas"
)

// faultStore is an object store reached through a fault-injecting proxy.
type faultStore struct {
	name     string
	throttle faultproxy.Fault // the store's own throttling answer
	// lakes returns a new empty lake behind a new proxy, and a reference lake on the same store
	// reached directly (the uninterrupted run to compare with).
	lakes func(t *testing.T) (faulted *load.Lake, proxy *faultproxy.Proxy, ref *load.Lake)
}

// Both SDKs keep their retry policies (the standard retryer: 3 attempts; azcore: 3 retries)
// with short delays so that a test does not sit in the production backoff.
func s3FaultStore(t *testing.T) faultStore {
	m := awstest.StartMinIO(t)
	var n atomic.Int64
	return faultStore{name: "S3", throttle: faultproxy.SlowDown, lakes: func(t *testing.T) (*load.Lake, *faultproxy.Proxy, *load.Lake) {
		i := n.Add(1)
		p := faultproxy.Start(t, m.Endpoint, uint64(i))
		client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: sdkaws.String(p.URL), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
			Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxBackoff = 50 * time.Millisecond
				o.RateLimiter = noRateLimit{}
			}),
			DisableLogOutputChecksumValidationSkipped: true})
		lake := func(c *s3.Client, bucket string) *load.Lake {
			if _, err := m.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: sdkaws.String(bucket)}); err != nil {
				t.Fatalf("create bucket %s: %v", bucket, err)
			}
			l, err := load.OpenWith(context.Background(), "s3://"+bucket+"/lake", load.Options{S3: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })
			return l
		}
		return lake(client, fmt.Sprintf("fault-%d", i)), p, lake(m.Client(), fmt.Sprintf("ref-%d", i))
	}}
}

func azureFaultStore(t *testing.T) faultStore {
	a := azuretest.StartAzurite(t)
	u, err := url.Parse(a.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	return faultStore{name: "AzureBlob", throttle: faultproxy.ServerBusy, lakes: func(t *testing.T) (*load.Lake, *faultproxy.Proxy, *load.Lake) {
		i := n.Add(1)
		p := faultproxy.Start(t, u.Scheme+"://"+u.Host, uint64(i))
		lake := func(base, name string) *load.Lake {
			a.Container(context.Background(), t, name)
			cred, err := azblob.NewSharedKeyCredential(azuretest.Account, azuretest.AccountKey)
			if err != nil {
				t.Fatal(err)
			}
			c, err := container.NewClientWithSharedKeyCredential(base+"/"+name, cred, &container.ClientOptions{ClientOptions: azcore.ClientOptions{
				Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond}}})
			if err != nil {
				t.Fatal(err)
			}
			l, err := load.OpenWith(context.Background(), "azblob://"+name+"/lake", load.Options{AzureContainer: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })
			return l
		}
		return lake(p.URL+u.Path, fmt.Sprintf("fault-%d", i)), p, lake(a.Endpoint, fmt.Sprintf("ref-%d", i))
	}}
}

// noRateLimit turns off the standard retryer's client-side retry quota: a test that injects many
// faults into one client must see the store's answers, not "retry quota exceeded".
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

var (
	dataPath   = regexp.MustCompile(`data\.parquet($|\?)`) // Blob escapes the key's slashes
	ledgerPath = regexp.MustCompile(`\.jsonl($|\?)`)
)

// TestObjectStoreFaults runs merges and ledger writes on S3 (MinIO) and Blob (Azurite) lakes
// through the fault proxy. Retryable answers (500, 503, throttling, a reset before the store
// saw the request) are retried by the SDK and the data lands once; what cannot be retried away
// (a 500 storm, resets or truncation on every attempt) fails with an error naming the partition
// or object, publishes nothing and leaves the previous object byte for byte; a rerun with the
// proxy healthy then builds the lake an uninterrupted run builds (Fingerprint).
func TestObjectStoreFaults(t *testing.T) {
	for _, mk := range []func(*testing.T) faultStore{s3FaultStore, azureFaultStore} {
		store := mk(t)
		t.Run(store.name, func(t *testing.T) {
			t.Run("merge", func(t *testing.T) { testMergeFaults(t, store) })
			t.Run("ledger", func(t *testing.T) { testLedgerFaults(t, store) })
		})
	}
}

var (
	faultPart = load.Partition{ID: acct, Hour: hour}
	oldRows   = []schemas.CloudTrailEvent{event("old-1", hour), event("old-2", hour)}
	newRows   = []schemas.CloudTrailEvent{event("new-1", hour), event("old-2", hour), event("new-2", hour), event("new-3", hour)}
)

func testMergeFaults(t *testing.T, store faultStore) {
	dir := faultPart.Dir(schemas.CloudTrailEvents.Name)
	key := dir + "/data.parquet"
	isS3 := store.throttle == faultproxy.SlowDown
	// What each SDK's retry policy allows: the S3 standard retryer 3 attempts, azcore 1 + 3 retries.
	attempts := map[bool]int{true: 3, false: 4}[isS3]
	type result int
	const (
		committed result = iota // Commit succeeded, the store saw the PUT `tries` times
		failed                  // an error naming want; the previous object intact
	)
	for _, tc := range []struct {
		name    string
		rule    faultproxy.Rule
		want    result
		tries   int    // PUTs (writes) or GETs (reads) of data.parquet the store answered or the proxy faulted
		atLeast bool   // tries is a lower bound
		errHas  string // for failed
	}{
		{name: "write 500 twice", rule: faultproxy.Rule{Method: http.MethodPut, Times: 2, Fault: faultproxy.Status500}, want: committed, tries: 3},
		{name: "write 503 twice", rule: faultproxy.Rule{Method: http.MethodPut, Times: 2, Fault: faultproxy.Status503}, want: committed, tries: 3},
		{name: "write throttled twice", rule: faultproxy.Rule{Method: http.MethodPut, Times: 2, Fault: store.throttle}, want: committed, tries: 3},
		{name: "write reset twice", rule: faultproxy.Rule{Method: http.MethodPut, Times: 2, Fault: faultproxy.ResetBefore}, want: committed, tries: 3},
		{name: "write 500 storm", rule: faultproxy.Rule{Method: http.MethodPut, Fault: faultproxy.Status500}, want: failed, tries: attempts, errHas: "publish " + dir},
		{name: "write reset on every attempt", rule: faultproxy.Rule{Method: http.MethodPut, Fault: faultproxy.ResetBefore}, want: failed, tries: attempts, errHas: "publish " + dir},
		{name: "read 503 twice", rule: faultproxy.Rule{Method: http.MethodGet, Times: 2, Fault: faultproxy.Status503}, want: committed, tries: 3},
		{name: "read throttled twice", rule: faultproxy.Rule{Method: http.MethodGet, Times: 2, Fault: store.throttle}, want: committed, tries: 3},
		{name: "read reset twice", rule: faultproxy.Rule{Method: http.MethodGet, Times: 2, Fault: faultproxy.ResetBefore}, want: committed, tries: 3},
		{name: "read 500 storm", rule: faultproxy.Rule{Method: http.MethodGet, Fault: faultproxy.Status500}, want: failed, tries: attempts, errHas: "open " + key},
		{name: "read truncated on every attempt", rule: faultproxy.Rule{Method: http.MethodGet, Fault: faultproxy.Truncate}, want: failed,
			// S3 does not retry a body; Blob's retry reader resumes it with ranged GETs, its retry
			// count reset by each one's progress (half the rest), so it gives up after more.
			tries: map[bool]int{true: 1, false: 5}[isS3], atLeast: !isS3, errHas: "download " + key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			lake, proxy, ref := store.lakes(t)
			merge(t, ctx, lake, faultPart, oldRows)
			merge(t, ctx, ref, faultPart, oldRows)
			merge(t, ctx, ref, faultPart, newRows)
			want := Fingerprint(t, ref)
			before, err := lake.Bucket().ReadAll(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			r := tc.rule
			r.Path = dataPath
			seen := proxy.Count(r.Method, dataPath)
			proxy.Inject(r)
			st, err := mergeOnce(ctx, lake, newRows)
			proxy.Heal()
			if n := proxy.Count(r.Method, dataPath) - seen; n != tc.tries && !(tc.atLeast && n > tc.tries) {
				t.Errorf("%s %s reached the proxy %d times, want %d (%d faulted)", r.Method, key, n, tc.tries, proxy.Faults(0))
			}
			switch tc.want {
			case committed:
				if err != nil || !st.Published || st.RowsBefore != 2 || st.RowsAdded != 3 || st.RowsAfter != 5 {
					t.Fatalf("merge through %d faults = %+v, %v; want 3 rows added to 2", proxy.Faults(0), st, err)
				}
				if got := countRows(t, lake, faultPart); !reflect.DeepEqual(got, map[string]int{"old": 2, "new": 3}) {
					t.Errorf("rows %v; want each row once", got)
				}
			case failed:
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || st.Published {
					t.Fatalf("merge = %+v, %v; want an error containing %q", st, err, tc.errHas)
				}
				t.Logf("error: %v", err)
				if now, _ := lake.Bucket().ReadAll(ctx, key); !bytes.Equal(now, before) {
					t.Error("the failed merge changed the previous object")
				}
				if keys := listKeys(t, lake, ""); !reflect.DeepEqual(keys, []string{key}) {
					t.Errorf("objects %v; want only %s", keys, key)
				}
				// The next run, the store healthy, completes the work.
				if st := merge(t, ctx, lake, faultPart, newRows); st.RowsAdded != 3 {
					t.Errorf("healing merge added %d rows, want 3", st.RowsAdded)
				}
			}
			if got := Fingerprint(t, lake); got != want {
				t.Errorf("lake after the faults:\n%s\nuninterrupted:\n%s", got, want)
			}
		})
	}

	// A reset after the store applied the PUT: the client cannot know whether its conditional
	// write happened. The SDK retries; the retry's own precondition (If-Match on the version it
	// replaced) no longer holds, so Commit reports ErrConflict although the rows were published,
	// once. A caller's retry (the next run) finds the rows there and adds nothing.
	t.Run("write applied, answer lost", func(t *testing.T) {
		ctx := context.Background()
		lake, proxy, ref := store.lakes(t)
		merge(t, ctx, lake, faultPart, oldRows)
		merge(t, ctx, ref, faultPart, oldRows)
		merge(t, ctx, ref, faultPart, newRows)
		seen := proxy.Count(http.MethodPut, dataPath)
		proxy.Inject(faultproxy.Rule{Method: http.MethodPut, Path: dataPath, Times: 1, Fault: faultproxy.ResetAfter})
		st, err := mergeOnce(ctx, lake, newRows)
		proxy.Heal()
		if !errors.Is(err, load.ErrConflict) || !strings.Contains(err.Error(), dir) || st.Published {
			t.Fatalf("merge whose answer was lost = %+v, %v; want ErrConflict naming %s", st, err, dir)
		}
		if n := proxy.Count(http.MethodPut, dataPath) - seen; n != 2 {
			t.Errorf("PUTs %d, want the lost one and the SDK's retry", n)
		}
		if got := countRows(t, lake, faultPart); !reflect.DeepEqual(got, map[string]int{"old": 2, "new": 3}) {
			t.Errorf("rows %v; want each row once", got)
		}
		if st := merge(t, ctx, lake, faultPart, newRows); st.RowsAdded != 0 || st.Published {
			t.Errorf("retry after the lost answer = %+v; want nothing added", st)
		}
		if got, want := Fingerprint(t, lake), Fingerprint(t, ref); got != want {
			t.Errorf("lake:\n%s\nuninterrupted:\n%s", got, want)
		}
	})

	// Truncation once: S3's SDK does not retry a body (the error names the object); the Blob
	// driver's retry reader resumes the body from where it broke, If-Match on the first
	// answer's ETag, and the merge succeeds.
	t.Run("read truncated once", func(t *testing.T) {
		ctx := context.Background()
		lake, proxy, ref := store.lakes(t)
		merge(t, ctx, lake, faultPart, oldRows)
		merge(t, ctx, ref, faultPart, oldRows)
		merge(t, ctx, ref, faultPart, newRows)
		proxy.Inject(faultproxy.Rule{Method: http.MethodGet, Path: dataPath, Times: 1, Fault: faultproxy.Truncate})
		st, err := mergeOnce(ctx, lake, newRows)
		proxy.Heal()
		if isS3 {
			if err == nil || !strings.Contains(err.Error(), "download "+key) {
				t.Fatalf("merge over a truncated read = %+v, %v; want an error naming %s", st, err, key)
			}
			merge(t, ctx, lake, faultPart, newRows)
		} else if err != nil || st.RowsAdded != 3 {
			t.Fatalf("merge over a truncated read = %+v, %v; want the retry reader to resume", st, err)
		}
		if got, want := Fingerprint(t, lake), Fingerprint(t, ref); got != want {
			t.Errorf("lake:\n%s\nuninterrupted:\n%s", got, want)
		}
	})
}

// mergeOnce merges rows into faultPart and returns what Commit (or the open) said.
func mergeOnce(ctx context.Context, l *load.Lake, rows []schemas.CloudTrailEvent) (load.PartitionStats, error) {
	w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, faultPart, eventKey)
	if err != nil {
		return load.PartitionStats{}, err
	}
	if _, err := w.Write(rows); err != nil {
		return load.PartitionStats{}, errors.Join(err, w.Abort())
	}
	return w.Commit()
}

func testLedgerFaults(t *testing.T, store faultStore) {
	recs := []load.SourceObject{
		{Source: "aws_cloudtrail", AccountID: acct, Key: "k1", ETag: "e1", DeliveredAt: hour, IngestedAt: hour, RunID: "run-1", Records: 3},
		{Source: "aws_cloudtrail", AccountID: acct, Key: "k2", ETag: "e2", DeliveredAt: hour, IngestedAt: hour, RunID: "run-1", Records: 4},
	}
	prefix := "_manifests/ingested/"
	check := func(t *testing.T, l *load.Lake, objects int) {
		t.Helper()
		got, err := l.Ingested(context.Background(), "aws_cloudtrail", acct, hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["k1"].Records != 3 || got["k2"].Records != 4 {
			t.Errorf("ledger = %+v; want k1 and k2 once each", got)
		}
		if keys := listKeys(t, l, prefix); len(keys) != objects {
			t.Errorf("ledger objects %v; want %d", keys, objects)
		}
	}
	for _, tc := range []struct {
		name    string
		rule    faultproxy.Rule
		ok      bool
		objects int // ledger objects after the write (and the healing rerun when it failed)
	}{
		{"write 503 twice", faultproxy.Rule{Method: http.MethodPut, Times: 2, Fault: faultproxy.Status503}, true, 1},
		{"write throttled twice", faultproxy.Rule{Method: http.MethodPut, Times: 2, Fault: store.throttle}, true, 1},
		{"write reset twice", faultproxy.Rule{Method: http.MethodPut, Times: 2, Fault: faultproxy.ResetBefore}, true, 1},
		// The first PUT lands but its answer is lost; the retry's If-None-Match fails, and the
		// ledger writes the same records under the next name: two objects, each record read
		// once (a later record of a key wins, and both say the same).
		{"write applied, answer lost", faultproxy.Rule{Method: http.MethodPut, Times: 1, Fault: faultproxy.ResetAfter}, true, 2},
		{"write 500 storm", faultproxy.Rule{Method: http.MethodPut, Fault: faultproxy.Status500}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			lake, proxy, _ := store.lakes(t)
			r := tc.rule
			r.Path = ledgerPath
			proxy.Inject(r)
			err := lake.RecordIngested(ctx, "run-1", recs)
			proxy.Heal()
			if tc.ok {
				if err != nil {
					t.Fatalf("RecordIngested through %d faults: %v", proxy.Faults(0), err)
				}
			} else {
				if err == nil || !regexp.MustCompile(`write _manifests/ingested/source=aws_cloudtrail/account_id=`+acct+`/date=2026-11-02/run-1-\d+\.jsonl`).MatchString(err.Error()) {
					t.Fatalf("RecordIngested in a storm = %v; want an error naming the ledger object", err)
				}
				t.Logf("error: %v", err)
				if keys := listKeys(t, lake, prefix); len(keys) != 0 {
					t.Fatalf("a failed ledger write left %v", keys)
				}
				if err := lake.RecordIngested(ctx, "run-2", recs); err != nil {
					t.Fatal(err)
				}
			}
			check(t, lake, tc.objects)
		})
	}
	t.Run("read faults", func(t *testing.T) {
		ctx := context.Background()
		lake, proxy, _ := store.lakes(t)
		if err := lake.RecordIngested(ctx, "run-1", recs); err != nil {
			t.Fatal(err)
		}
		// Listing and reading retried through 503s and throttling.
		proxy.Inject(faultproxy.Rule{Method: http.MethodGet, Times: 1, Fault: faultproxy.Status503})
		proxy.Inject(faultproxy.Rule{Method: http.MethodGet, Path: ledgerPath, Times: 2, Fault: store.throttle})
		check(t, lake, 1)
		if proxy.Faults(0) != 3 {
			t.Errorf("%d faults injected, want 3", proxy.Faults(0))
		}
		proxy.Heal()
		// A ledger object whose every read is cut short fails the read, naming it.
		proxy.Inject(faultproxy.Rule{Method: http.MethodGet, Path: ledgerPath, Fault: faultproxy.Truncate})
		_, err := lake.Ingested(ctx, "aws_cloudtrail", acct, hour)
		proxy.Heal()
		if err == nil || !regexp.MustCompile(`read _manifests/ingested/.*/run-1-\d+\.jsonl`).MatchString(err.Error()) {
			t.Errorf("Ingested over truncated reads = %v; want an error naming the ledger object", err)
		}
		check(t, lake, 1)
	})
}
