package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/demo"
)

// TestRunOverMinIO reads the demo organization's trail bucket and IAM exports from a real MinIO
// server, through the SDK's default chain (environment) and an assumed-role session served by
// MinIO's STS, and checks the lake equals the one built from the same files on local disk.
func TestRunOverMinIO(t *testing.T) {
	ctx := context.Background()
	m := awstest.StartMinIO(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 2, EventsPerHour: 6}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Upload(ctx, t, org.TrailBucket, filepath.Join(src, "s3", org.TrailBucket)); n < 100 {
		t.Fatalf("uploaded %d trail objects", n)
	}
	m.Upload(ctx, t, "permlake-iam-exports", filepath.Join(src, "iam"))

	// The base credentials come from the environment, as the SDK chain finds them; nothing else
	// on this machine may leak in.
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	base := func(name string) *Config {
		c := &Config{Lake: "file://" + filepath.Join(dir, name), Warehouse: filepath.Join(dir, name+".duckdb"), LookbackDays: 90, LateMargin: 2 * time.Hour, Concurrency: 2}
		c.AWS.Region = "us-east-1"
		c.AWS.Trail = TrailConfig{Prefix: org.TrailPrefix, OrganizationID: org.OrganizationID}
		for _, a := range org.Accounts {
			c.AWS.Accounts = append(c.AWS.Accounts, AccountConfig{ID: a.ID, Name: a.Name})
		}
		return c
	}
	local := base("local")
	local.AWS.Trail.URL = "file://" + filepath.Join(src, "s3", org.TrailBucket)
	local.AWS.IAMSnapshots = StoreConfig{URL: "file://" + filepath.Join(src, "iam")}
	remote := base("remote")
	remote.AWS.Endpoints = EndpointsConfig{S3: m.Endpoint, STS: m.Endpoint, S3PathStyle: true}
	reader := RoleConfig{ARN: "arn:aws:iam::" + org.LogArchiveAccountID + ":role/permlake-log-reader", ExternalID: "permlake-test",
		SessionName: "permlake-test", Duration: 15 * time.Minute}
	remote.AWS.Trail.URL, remote.AWS.Trail.Role = "s3://"+org.TrailBucket, reader
	remote.AWS.IAMSnapshots = StoreConfig{URL: "s3://permlake-iam-exports", Role: reader}

	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	for _, c := range []*Config{local, remote} {
		cfg := filepath.Join(dir, filepath.Base(c.Warehouse)+".yaml")
		if err := writeDemoConfig(cfg, c); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", from, "--to", to, "--no-models"); code != exitOK {
			t.Fatalf("run over %s: exit %d\n%s", c.AWS.Trail.URL, code, stderr)
		}
	}
	want, got := lakeFingerprint(t, filepath.Join(dir, "local")), lakeFingerprint(t, filepath.Join(dir, "remote"))
	if got != want {
		t.Errorf("lake read through MinIO differs from the local one:\n%s\nwant\n%s", got, want)
	}
}
