package load

// The behaviour every backend must have is tested by the conformance suite in load/laketest
// (run on a file lake there). These tests cover what is particular to this package: opening file
// lakes, schema evolution of a partition, misuse, and ledger names shared by two Lake values.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/permlake/permlake/schemas"
)

var hour = time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)

func openLake(t *testing.T, dir string) *Lake {
	t.Helper()
	l, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

func TestOpen(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(cwd, filepath.Join(base, "rel"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		root      string // want Root(); "" when Open must fail
		errHas    string
	}{
		{"file URL, created with parents", "file://" + base + "/a/b", filepath.Join(base, "a/b"), ""},
		{"plain absolute path", filepath.Join(base, "plain"), filepath.Join(base, "plain"), ""},
		{"relative path", rel, filepath.Join(base, "rel"), ""},
		{"existing file", "file://" + file, "", file},
		{"s3 without a client", "s3://bucket/prefix", "", "needs an S3 client"},
		{"azblob without a client", "azblob://container/prefix", "", "needs a container client"},
		{"unknown scheme", "gs://bucket", "", `scheme "gs"`},
		{"s3 with a query", "s3://bucket?region=x", "", "without query"},
		{"s3 without a bucket", "s3:///prefix", "", "s3://<name>"},
		{"empty", "", "", "empty"},
		{"empty file URL", "file://", "", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Open(context.Background(), tc.url)
			if tc.root == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Open(%q) = %v, want an error containing %s", tc.url, err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.Root() != tc.root || l.URL() != "file://"+tc.root {
				t.Errorf("Root = %s, URL = %s; want %s", l.Root(), l.URL(), tc.root)
			}
			if err := l.Bucket().WriteAll(context.Background(), "x/y.json", []byte("{}"), nil); err != nil {
				t.Fatal(err)
			}
			ents, err := os.ReadDir(filepath.Join(tc.root, "x"))
			if err != nil || len(ents) != 1 || ents[0].Name() != "y.json" {
				t.Errorf("objects are files under the root, without sidecars: %v %v", ents, err)
			}
		})
	}
}

// rowV1 is a table's row before a column was added; rowV2 after.
type rowV1 struct {
	ID string `parquet:"id"`
	N  int64  `parquet:"n"`
}

type rowV2 struct {
	ID    string  `parquet:"id"`
	N     int64   `parquet:"n"`
	Added *string `parquet:"added,optional"`
}

func TestMergeIntoOlderSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t, t.TempDir())
	tab := &schemas.Table{Name: "evolving", DedupeKey: []string{"id"}}
	p := Partition{ID: "012345678901", Hour: hour}
	w1, err := NewMergeWriter(ctx, l, tab, p, func(r *rowV1) string { return r.ID })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w1.Write([]rowV1{{"a", 1}, {"b", 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w1.Commit(); err != nil {
		t.Fatal(err)
	}
	w2, err := NewMergeWriter(ctx, l, tab, p, func(r *rowV2) string { return r.ID })
	if err != nil {
		t.Fatal(err)
	}
	x := "x"
	if n, err := w2.Write([]rowV2{{"a", 9, &x}, {"c", 3, &x}}); err != nil || n != 1 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	st, err := w2.Commit()
	if err != nil || st.RowsBefore != 2 || st.RowsAfter != 3 {
		t.Fatalf("Commit = %+v, %v", st, err)
	}
	b, err := l.Bucket().ReadAll(ctx, p.dataKey(tab.Name))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[rowV2](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != "a" || got[0].N != 1 || got[0].Added != nil || got[2].ID != "c" || got[2].Added == nil {
		t.Errorf("rows = %+v; want a(1, NULL), b(2, NULL), c(3, x)", got)
	}
}

func TestMergeWriterMisuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t, t.TempDir())
	p := Partition{ID: "012345678901", Hour: hour}
	key := func(e *schemas.CloudTrailEvent) string { return e.EventID }

	t.Run("two key columns", func(t *testing.T) {
		tab := &schemas.Table{Name: "two", DedupeKey: []string{"a", "b"}}
		if _, err := NewMergeWriter(ctx, l, tab, p, key); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("corrupt partition object", func(t *testing.T) {
		tab := &schemas.Table{Name: "corrupt", DedupeKey: []string{"event_id"}}
		if err := l.Bucket().WriteAll(ctx, p.dataKey(tab.Name), []byte("not parquet"), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := NewMergeWriter(ctx, l, tab, p, key); err == nil || !strings.Contains(err.Error(), p.dataKey(tab.Name)) {
			t.Errorf("error %v does not name the object", err)
		}
	})
	t.Run("use after commit", func(t *testing.T) {
		w, err := NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]schemas.CloudTrailEvent{{EventID: "a"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]schemas.CloudTrailEvent{{EventID: "b"}}); err == nil {
			t.Error("Write after Commit accepted")
		}
		if _, err := w.Commit(); err == nil {
			t.Error("second Commit accepted")
		}
	})
}

// Two Lake values on one store (two processes, or a retried open) with the same run ID must
// not overwrite each other's ledger objects.
func TestLedgerObjectsAreNeverOverwritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for i, key := range []string{"k1", "k2", "k3"} {
		l := openLake(t, dir)
		obj := SourceObject{Source: "aws_cloudtrail", AccountID: "012345678901", Key: key, DeliveredAt: day, IngestedAt: day.Add(time.Duration(i) * time.Hour)}
		if err := l.RecordIngested(ctx, "run-1", []SourceObject{obj}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := openLake(t, dir).Ingested(ctx, "aws_cloudtrail", "012345678901", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("ledger = %v, want k1, k2, k3", got)
	}
}

func TestAzurePartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t, t.TempDir())
	sub := "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	p := Partition{ID: sub, By: schemas.BySubscriptionHour, Hour: hour}
	rows := []schemas.AzureRoleAssignment{{RoleAssignmentID: "a", ID: "/x", Scope: "/subscriptions/" + sub, ScopeLC: "/subscriptions/" + sub,
		ScopeLevel: "subscription", RoleDefinitionID: "r", PrincipalID: "p", PrincipalType: "user", SnapshotAt: hour}}
	st, err := ReplacePartition(ctx, l, schemas.AzureRoleAssignments, p, rows)
	if err != nil || st.Dir != "azure_role_assignments/subscription_id="+sub+"/date=2026-11-02/hour=07" {
		t.Fatalf("ReplacePartition = %+v, %v", st, err)
	}
	for name, bad := range map[string]Partition{
		"an account partition for a subscription table": {ID: "012345678901", Hour: hour},
		"upper-case UUID":         {ID: strings.ToUpper(sub), By: schemas.BySubscriptionHour, Hour: hour},
		"path characters":         {ID: "../../etc", By: schemas.BySubscriptionHour, Hour: hour},
		"a tenant partition here": {ID: sub, By: schemas.ByTenantHour, Hour: hour},
	} {
		if _, err := ReplacePartition(ctx, l, schemas.AzureRoleAssignments, bad, rows); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ReplacePartition(ctx, l, schemas.IAMRoles, p, []schemas.IAMRole{}); err == nil {
		t.Error("a subscription partition accepted for an AWS table")
	}
	if _, err := l.Ingested(ctx, "azure_activity", sub, hour); err != nil {
		t.Errorf("ledger refuses a subscription ID: %v", err)
	}
	if _, err := l.Ingested(ctx, "azure_activity", "not-an-id", hour); err == nil {
		t.Error("ledger accepted a bad ID")
	}
}

func TestPartitionedWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t, t.TempDir())
	key := func(e *schemas.CloudTrailEvent) string { return e.EventID }
	ev := func(id string, at time.Time) schemas.CloudTrailEvent {
		return schemas.CloudTrailEvent{EventID: id, EventTime: at, RecipientAccountID: "012345678901", IAMActions: []string{}}
	}
	part := func(h time.Time) Partition { return Partition{ID: "012345678901", Hour: h} }
	w := NewPartitionedWriter(ctx, l, schemas.CloudTrailEvents, key, 2)
	for _, e := range []schemas.CloudTrailEvent{ev("a", hour), ev("b", hour), ev("a", hour), ev("c", hour.Add(time.Hour))} {
		if err := w.Add(part(e.EventTime.Truncate(time.Hour)), e); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.Flush(); err != nil || n != 3 {
		t.Fatalf("Flush = %d, %v; want 3 new rows (a twice is one)", n, err)
	}
	if err := w.Add(part(hour), ev("b", hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Flush(); err != nil || n != 0 {
		t.Fatalf("second Flush = %d, %v; want 0 (b is already there)", n, err)
	}
	stats, err := w.Commit()
	if err != nil || len(stats) != 2 || stats[0].RowsAfter != 2 || stats[1].RowsAfter != 1 || !strings.HasSuffix(stats[1].Dir, "hour=08") {
		t.Fatalf("Commit = %+v, %v; want the two hours, oldest first", stats, err)
	}
	// Abort publishes nothing of what was added.
	w = NewPartitionedWriter(ctx, l, schemas.CloudTrailEvents, key, 0)
	if err := w.Add(part(hour.Add(5*time.Hour)), ev("d", hour.Add(5*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Bucket().Exists(ctx, part(hour.Add(5*time.Hour)).dataKey(schemas.CloudTrailEvents.Name)); err != nil || ok {
		t.Errorf("aborted partition exists: %v %v", ok, err)
	}
}

func TestOpenWithObjectStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// No request is made: opening only checks the URL and the client.
	other, err := container.NewClientWithNoCredential("http://127.0.0.1:1/devstoreaccount1/other", nil)
	if err != nil {
		t.Fatal(err)
	}
	lake, err := container.NewClientWithNoCredential("http://127.0.0.1:1/devstoreaccount1/lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		opts      Options
		want      string // URL(), or the error's text when err
		err       bool
	}{
		{"s3 from an AWS config", "s3://bucket/a/b/", Options{AWS: &sdkaws.Config{Region: "eu-west-1"}, S3Endpoint: "http://127.0.0.1:1", S3PathStyle: true}, "s3://bucket/a/b", false},
		{"s3 from a client, no prefix", "s3://bucket", Options{S3: s3.New(s3.Options{Region: "eu-west-1"})}, "s3://bucket", false},
		{"azblob", "azblob://lake/prod", Options{AzureContainer: lake}, "azblob://lake/prod", false},
		{"azblob with another container's client", "azblob://lake/prod", Options{AzureContainer: other}, `not container "lake"`, true},
		{"azblob with an S3 client only", "azblob://lake", Options{S3: s3.New(s3.Options{})}, "needs a container client", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := OpenWith(ctx, tc.url, tc.opts)
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("OpenWith = %v; want an error containing %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.URL() != tc.want || l.Root() != "" {
				t.Errorf("URL %q, Root %q; want %q and no root", l.URL(), l.Root(), tc.want)
			}
		})
	}
}
