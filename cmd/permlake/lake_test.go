package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/azure/azuretest"
	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
)

var lakeTestManifest = &load.RunManifest{RunID: "20261122T070000Z-lake", Command: "run", Hours: []string{"2026-11-22T07"}}

// TestOpenLakeS3 opens an s3:// lake on a real MinIO through the SDK default chain and a
// lake_role assumed over MinIO's STS, and finds what it wrote under the bucket's prefix.
func TestOpenLakeS3(t *testing.T) {
	ctx := context.Background()
	m := awstest.StartMinIO(t)
	useMinIOCredentials(t, m, t.TempDir())
	if _, err := m.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: sdkaws.String("permlake-lake")}); err != nil {
		t.Fatal(err)
	}
	c := testConfig(t.TempDir(), "lake")
	c.Lake = "s3://permlake-lake/prod"
	c.AWS.Region = "us-east-1"
	c.AWS.Endpoints = EndpointsConfig{S3: m.Endpoint, STS: m.Endpoint, S3PathStyle: true}
	role := RoleConfig{ARN: "arn:aws:iam::123456789012:role/PermlakeLakeWriter", ExternalID: "permlake-test", SessionName: "permlake-lake", Duration: 15 * time.Minute}

	for _, tc := range []struct {
		name   string
		access LakeAccess
	}{{"default chain", LakeAccess{}}, {"lake_role", LakeAccess{Role: role}}} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := openLakeWith(ctx, c, tc.access)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.URL() != "s3://permlake-lake/prod" || l.Root() != "" {
				t.Errorf("URL %q, Root %q", l.URL(), l.Root())
			}
			m := *lakeTestManifest
			m.Command = tc.name
			if err := l.WriteRunManifest(ctx, &m); err != nil {
				t.Fatal(err)
			}
			out, err := awsGet(ctx, t, c, "permlake-lake", "prod/_manifests/runs/20261122T070000Z-lake.json")
			if err != nil || !strings.Contains(out, `"command": "`+tc.name+`"`) {
				t.Errorf("manifest in MinIO: %v\n%s", err, out)
			}
		})
	}

	t.Run("lake_role is used", func(t *testing.T) {
		// The same role through an STS that does not answer: the write must fail on the
		// assumed role's credentials, proving they (not the base chain's) sign the lake's calls.
		bad := *c
		bad.AWS.Endpoints.STS = "http://127.0.0.1:1"
		l, err := openLakeWith(ctx, &bad, LakeAccess{Role: role})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		short, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := l.WriteRunManifest(short, lakeTestManifest); err == nil || !strings.Contains(err.Error(), "AssumeRole") {
			t.Errorf("write with an unreachable STS = %v; want an AssumeRole error", err)
		}
	})
	t.Run("invalid lake_role", func(t *testing.T) {
		if _, err := openLakeWith(ctx, c, LakeAccess{Role: RoleConfig{ARN: "not-an-arn"}}); err == nil || !strings.Contains(err.Error(), "lake_role") {
			t.Errorf("openLakeWith = %v; want an error naming lake_role", err)
		}
	})
}

func awsGet(ctx context.Context, t *testing.T, c *Config, bucket, key string) (string, error) {
	t.Helper()
	m := &awstest.MinIO{Endpoint: c.AWS.Endpoints.S3, AccessKey: "permlaketest", SecretKey: "permlaketest-secret-key"}
	out, err := m.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: sdkaws.String(bucket), Key: sdkaws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// TestOpenLakeAzureBlob opens an azblob:// lake on a real Azurite by shared key and finds what
// it wrote in the container under the prefix; misconfigurations name the lake_azure key.
func TestOpenLakeAzureBlob(t *testing.T) {
	ctx := context.Background()
	a := azuretest.StartAzurite(t)
	a.Container(ctx, t, "lake")
	t.Setenv("PERMLAKE_TEST_LAKE_KEY", azuretest.AccountKey)
	c := testConfig(t.TempDir(), "lake")
	c.Lake = "azblob://lake/prod"
	access := LakeAccess{Azure: LakeAzureConfig{URL: a.Endpoint + "/", SharedKeyEnv: "PERMLAKE_TEST_LAKE_KEY"}}
	l, err := openLakeWith(ctx, c, access)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.URL() != "azblob://lake/prod" || l.Root() != "" {
		t.Errorf("URL %q, Root %q", l.URL(), l.Root())
	}
	if err := l.WriteRunManifest(ctx, lakeTestManifest); err != nil {
		t.Fatal(err)
	}
	resp, err := a.Client.DownloadStream(ctx, "lake", "prod/_manifests/runs/20261122T070000Z-lake.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(b), `"run_id": "20261122T070000Z-lake"`) {
		t.Errorf("manifest in Azurite: %v\n%s", err, b)
	}

	for _, tc := range []struct {
		name   string
		access LakeAzureConfig
		want   string
	}{
		{"no account URL", LakeAzureConfig{SharedKeyEnv: "PERMLAKE_TEST_LAKE_KEY"}, "lake_azure.url"},
		{"not a URL", LakeAzureConfig{URL: "devstoreaccount1"}, "lake_azure.url"},
		{"key variable unset", LakeAzureConfig{URL: a.Endpoint, SharedKeyEnv: "PERMLAKE_TEST_NO_SUCH_KEY"}, "PERMLAKE_TEST_NO_SUCH_KEY is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := openLakeWith(ctx, c, LakeAccess{Azure: tc.access}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("openLakeWith = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestOpenLakeFile: a local lake needs no access settings, through openLake as the commands
// call it.
func TestOpenLakeFile(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(dir, "lake")
	l, err := openLake(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if want := filepath.Join(dir, "lake"); l.Root() != want || l.URL() != "file://"+want {
		t.Errorf("Root %q, URL %q; want %s", l.Root(), l.URL(), want)
	}
}

// TestModelsOverMinIOLakeEqualLocal: `permlake run` with the lake on MinIO (the models reading it
// through their local copy) builds the same marts as with a local lake; a second build fetches
// nothing new.
func TestModelsOverMinIOLakeEqualLocal(t *testing.T) {
	ctx := context.Background()
	m := awstest.StartMinIO(t)
	dir := t.TempDir()
	useMinIOCredentials(t, m, dir)
	if _, err := m.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: sdkaws.String("permlake-lake")}); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 6}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	local := saveConfig(t, readLocal(testConfig(dir, "local"), org, src, nil), dir, "local")
	rc := readLocal(testConfig(dir, "remote"), org, src, nil)
	rc.Lake = "s3://permlake-lake/prod"
	rc.AWS.Region = "us-east-1"
	rc.AWS.Endpoints = EndpointsConfig{S3: m.Endpoint, STS: m.Endpoint, S3PathStyle: true}
	remote := saveConfig(t, rc, dir, "remote")
	for _, cfg := range []string{local, remote} {
		if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", from, "--to", to); code != exitOK {
			t.Fatalf("%s: exit %d\n%s", cfg, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "remote")); err == nil {
		t.Fatal("the remote run wrote a local lake directory")
	}
	want, got := martDigest(t, filepath.Join(dir, "local.duckdb")), martDigest(t, filepath.Join(dir, "remote.duckdb"))
	if got != want || strings.HasPrefix(want, "0:") {
		t.Errorf("marts over the MinIO lake = %s\nover the local lake = %s", got, want)
	}
	manifest, err := awsGet(ctx, t, rc, "permlake-lake", "prod/marts/_manifest.json")
	if err != nil || !strings.Contains(manifest, `"key": "marts/permission_usage/cloud=aws/account_id=`) {
		t.Errorf("marts not published to the MinIO lake: %v\n%s", err, manifest)
	}
	code, _, stderr := runCLI(t, ctx, "models", "--config", remote, "--now", org.WindowEnd.Format("2006-01-02T15"), "-v")
	if code != exitOK || !strings.Contains(stderr, `"mode":"journal"`) || !strings.Contains(stderr, `"downloaded":0`) {
		t.Errorf("second build: exit %d; want a journal sync downloading nothing:\n%s", code, stderr)
	}
}

// expiringSTS forwards AssumeRole to MinIO's real STS and shortens the Expiration it answers to
// lifetime: the credentials stay valid in MinIO while the SDK believes they are about to expire,
// so a run keeps re-assuming the role mid-run, as a long run past a chained hop's hour does.
type expiringSTS struct {
	target   string
	lifetime time.Duration
	calls    atomic.Int64
}

func (s *expiringSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, s.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host // the request is signed for the proxy's host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	short := time.Now().Add(s.lifetime).UTC().Format(time.RFC3339)
	out = regexp.MustCompile(`<Expiration>[^<]*</Expiration>`).ReplaceAll(out, []byte("<Expiration>"+short+"</Expiration>"))
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// TestLakeCredentialsExpiringMidRun: the lake's role credentials expire over and over during a
// run (each one inside the SDK's refresh window); the run re-assumes the role and finishes with
// the same lake as a local run.
func TestLakeCredentialsExpiringMidRun(t *testing.T) {
	ctx := context.Background()
	m := awstest.StartMinIO(t)
	dir := t.TempDir()
	useMinIOCredentials(t, m, dir)
	if _, err := m.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: sdkaws.String("permlake-lake")}); err != nil {
		t.Fatal(err)
	}
	sts := &expiringSTS{target: m.Endpoint, lifetime: 2 * time.Minute}
	srv := httptest.NewServer(sts)
	defer srv.Close()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 4}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	rc := readLocal(testConfig(dir, "remote"), org, src, nil)
	rc.Lake = "s3://permlake-lake/prod"
	rc.AWS.Region = "us-east-1"
	rc.AWS.Endpoints = EndpointsConfig{S3: m.Endpoint, STS: srv.URL, S3PathStyle: true}
	rc.LakeAccess.Role = RoleConfig{ARN: "arn:aws:iam::123456789012:role/PermlakeLakeWriter", SessionName: "permlake-lake", Duration: 15 * time.Minute}
	cfg := filepath.Join(dir, "remote.yaml")
	if err := writeDemoConfig(cfg, rc); err != nil {
		t.Fatal(err)
	}
	// writeDemoConfig does not know lake_role: append it.
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "lake_role:\n  arn: %q\n  session_name: permlake-lake\n  duration: 15m\n", rc.LakeAccess.Role.ARN)
	f.Close()
	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", from, "--to", to, "--no-models"); code != exitOK {
		t.Fatalf("run with expiring lake credentials: exit %d\n%s", code, stderr)
	}
	t.Logf("lake role assumed %d times during the run", sts.calls.Load())
	if n := sts.calls.Load(); n < 3 {
		t.Errorf("the lake role was assumed %d times; expiring credentials must be re-assumed during the run", n)
	}
	local := saveConfig(t, readLocal(testConfig(dir, "local"), org, src, nil), dir, "local")
	if code, _, stderr := runCLI(t, ctx, "run", "--config", local, "--from", from, "--to", to, "--no-models"); code != exitOK {
		t.Fatalf("local run: exit %d\n%s", code, stderr)
	}
	remote := filepath.Join(dir, "remote-copy")
	l, err := openLakeWith(ctx, rc, LakeAccess{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.SyncTo(ctx, remote, org.WindowStart.AddDate(0, 0, -1), false); err != nil {
		t.Fatal(err)
	}
	if got, want := lakeFingerprint(t, remote), lakeFingerprint(t, filepath.Join(dir, "local")); got != want {
		t.Errorf("lake written with expiring credentials differs from the local one:\n%s\nwant\n%s", got, want)
	}
}
