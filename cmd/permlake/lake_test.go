package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	digest := func(wh string) string {
		db := openDuck(t, wh+"?access_mode=read_only")
		var parts []string
		for _, q := range []string{
			`select count(*) || ':' || md5(string_agg(concat_ws('|', cloud, account_id, principal_arn, action, status, uses, attempts), ',' order by account_id, principal_arn, action)) from permission_usage`,
			`select count(*) || ':' || md5(string_agg(concat_ws('|', account_id, principal_arn, score), ',' order by account_id, principal_arn)) from creep_scores`,
			`select count(*) || ':' || md5(string_agg(concat_ws('|', account_id, principal_arn, credential), ',' order by account_id, principal_arn, credential)) from inactive_identities`,
			`select count(*) || ':' || md5(string_agg(policy_document, ',' order by account_id, principal_arn, policy_number)) from least_privilege_policies`,
		} {
			parts = append(parts, queryStrings(t, db, q)...)
		}
		db.Close()
		return strings.Join(parts, " ")
	}
	want, got := digest(filepath.Join(dir, "local.duckdb")), digest(filepath.Join(dir, "remote.duckdb"))
	if got != want || strings.HasPrefix(want, "0:") {
		t.Errorf("marts over the MinIO lake = %s\nover the local lake = %s", got, want)
	}
	manifest, err := awsGet(ctx, t, rc, "permlake-lake", "prod/marts/_manifest.json")
	if err != nil || !strings.Contains(manifest, `"key": "marts/permission_usage.parquet"`) {
		t.Errorf("marts not published to the MinIO lake: %v\n%s", err, manifest)
	}
	code, _, stderr := runCLI(t, ctx, "models", "--config", remote, "--now", org.WindowEnd.Format("2006-01-02T15"), "-v")
	if code != exitOK || !strings.Contains(stderr, `"downloaded":0`) {
		t.Errorf("second build: exit %d; want nothing downloaded:\n%s", code, stderr)
	}
}
