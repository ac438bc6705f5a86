package aws

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/demo"
)

// TestIAMAPISnapshot takes a snapshot through the real SDK from a server speaking IAM's query
// protocol: paging, throttling retried, credential report generated then fetched, an account
// without access failing with an error that names it.
func TestIAMAPISnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	org, err := demo.Generate(ctx, dir, demo.Config{Days: 1, EventsPerHour: 1}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	acct := org.Accounts[2].ID
	files := &SnapshotFiles{Bucket: mustFileBucket(t, filepath.Join(dir, "iam"))}
	want, err := files.Snapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	srv := awstest.NewIAMServer(t, map[string][][]byte{acct: want.GAADPages}, map[string][]byte{acct: want.CredentialReport})
	srv.Throttle = 2
	api := &IAMAPI{
		Session: func(context.Context, string) (sdkaws.Config, error) {
			return sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, nil
		},
		Endpoint: srv.URL + "/{account}",
		Poll:     10 * time.Millisecond,
	}
	got, err := api.Snapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GAADPages) != len(want.GAADPages) || string(got.CredentialReport) != string(want.CredentialReport) {
		t.Fatalf("pages %d (want %d), report equal %v", len(got.GAADPages), len(want.GAADPages), string(got.CredentialReport) == string(want.CredentialReport))
	}
	count := func(pages [][]byte) map[string]int {
		n := map[string]int{}
		for _, p := range pages {
			var m map[string][]json.RawMessage
			var loose map[string]json.RawMessage
			if err := json.Unmarshal(p, &loose); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"} {
				var xs []json.RawMessage
				if raw, ok := loose[k]; ok && string(raw) != "null" {
					if err := json.Unmarshal(raw, &xs); err != nil {
						t.Fatal(err)
					}
				}
				n[k] += len(xs)
			}
			_ = m
		}
		return n
	}
	if g, w := count(got.GAADPages), count(want.GAADPages); g["UserDetailList"] != w["UserDetailList"] || g["RoleDetailList"] != w["RoleDetailList"] || g["Policies"] != w["Policies"] || g["GroupDetailList"] != w["GroupDetailList"] {
		t.Errorf("entities through the API %v, in the export %v", g, w)
	}
	// Documents stay URL-encoded, as the API returns them.
	if !strings.Contains(string(got.GAADPages[1]), `"AssumeRolePolicyDocument":"%7B`) {
		t.Errorf("trust policy not kept URL-encoded: %.300s", got.GAADPages[1])
	}
	if c := srv.Calls(acct); c < 7 {
		t.Errorf("%d calls; want the 2 throttled retries, 2 pages, 2 report generations and 1 fetch", c)
	}
	if _, err := api.Snapshot(ctx, "999999999999"); err == nil || !strings.Contains(err.Error(), "999999999999") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("denied account: err = %v", err)
	}
}

func mustFileBucket(t *testing.T, dir string) *blobBucket {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	b, err := openFileBucket(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestIAMAPIRetriesThrottling: throttling answered as 400 Throttling, 429 or 503 is retried by the
// SDK's retryer and the snapshot completes.
func TestIAMAPIRetriesThrottling(t *testing.T) {
	t.Parallel()
	page := []byte(`{"UserDetailList":[],"GroupDetailList":[],"RoleDetailList":[],"Policies":[]}`)
	for _, tc := range []struct {
		status int
		code   string
	}{{400, "Throttling"}, {429, "TooManyRequestsException"}, {503, "ServiceUnavailable"}} {
		t.Run(tc.code, func(t *testing.T) {
			const acct = "012345678901"
			srv := awstest.NewIAMServer(t, map[string][][]byte{acct: {page}}, map[string][]byte{acct: []byte("user,arn\n")})
			srv.Throttle, srv.ThrottleStatus, srv.ThrottleCode = 2, tc.status, tc.code
			api := &IAMAPI{
				Session: func(context.Context, string) (sdkaws.Config, error) {
					return sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, nil
				},
				Endpoint: srv.URL + "/{account}",
				Poll:     10 * time.Millisecond,
			}
			snap, err := api.Snapshot(context.Background(), acct)
			if err != nil || len(snap.GAADPages) != 1 {
				t.Fatalf("snapshot after %d %s answers: %v", srv.Throttle, tc.code, err)
			}
			if c := srv.Calls(acct); c < 2+1+2+1 {
				t.Errorf("%d calls; the throttled ones were not retried", c)
			}
		})
	}
}
