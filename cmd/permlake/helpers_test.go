package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/demo"
)

// testConfig is a config with its lake and warehouse under dir, named name.
func testConfig(dir, name string) *Config {
	return &Config{Lake: "file://" + filepath.Join(dir, name), Warehouse: filepath.Join(dir, name+".duckdb"),
		LookbackDays: 90, LateMargin: 2 * time.Hour, Concurrency: 2}
}

// readLocal points c at the demo organization's files under src: its trail bucket, its IAM
// exports and (when accounts is nil) all its accounts.
func readLocal(c *Config, org *demo.Org, src string, accounts []AccountConfig) *Config {
	c.AWS.Trail = TrailConfig{URL: "file://" + filepath.Join(src, "s3", org.TrailBucket), Prefix: org.TrailPrefix, OrganizationID: org.OrganizationID}
	c.AWS.IAMSnapshots = StoreConfig{URL: "file://" + filepath.Join(src, "iam")}
	if accounts == nil {
		for _, a := range org.Accounts {
			accounts = append(accounts, AccountConfig{ID: a.ID, Name: a.Name})
		}
	}
	c.AWS.Accounts = accounts
	return c
}

// saveConfig writes c as dir/name.yaml and returns its path.
func saveConfig(t *testing.T, c *Config, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	if err := writeDemoConfig(path, c); err != nil {
		t.Fatal(err)
	}
	return path
}

// useMinIOCredentials makes MinIO's root credentials the SDK default chain's base credentials,
// and keeps anything else on the machine (profiles, instance metadata) out.
func useMinIOCredentials(t *testing.T, m *awstest.MinIO, dir string) {
	for _, kv := range minioEnv(m, dir) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// minioEnv is useMinIOCredentials' environment as KEY=VALUE, for a child process.
func minioEnv(m *awstest.MinIO, dir string) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + m.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + m.SecretKey,
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// martDigest is a digest of the main marts of the warehouse file wh (row counts and hashes).
func martDigest(t *testing.T, wh string) string {
	t.Helper()
	db := openDuck(t, wh+"?access_mode=read_only")
	defer db.Close()
	var parts []string
	for _, q := range []string{
		`select count(*) || ':' || coalesce(md5(string_agg(concat_ws('|', cloud, account_id, principal_arn, action, status, uses, attempts, first_used_at, last_used_at, evidence_start, evidence_end), ',' order by account_id, principal_arn, action)), '') from permission_usage`,
		`select count(*) || ':' || coalesce(md5(string_agg(concat_ws('|', account_id, principal_arn, score), ',' order by account_id, principal_arn)), '') from creep_scores`,
		`select count(*) || ':' || coalesce(md5(string_agg(concat_ws('|', account_id, principal_arn, credential, last_activity_at), ',' order by account_id, principal_arn, credential)), '') from inactive_identities`,
		`select count(*) || ':' || coalesce(md5(string_agg(policy_document, ',' order by account_id, principal_arn, policy_number)), '') from least_privilege_policies`,
		`select count(*) || ':' || coalesce(md5(string_agg(concat_ws('|', cloud, event_source, event_name, events, first_seen_at, last_seen_at), ',' order by cloud, event_source, event_name)), '') from unmapped_events`,
	} {
		parts = append(parts, queryStrings(t, db, q)...)
	}
	return strings.Join(parts, " ")
}

// trailFolder is the demo trail's us-east-1 folder of acct for day under the source dir src,
// where tests drop log files of their own.
func trailFolder(src string, org *demo.Org, acct string, day time.Time) string {
	return filepath.Join(src, "s3", org.TrailBucket, org.TrailPrefix, "AWSLogs", org.OrganizationID, acct, "CloudTrail", "us-east-1", day.Format("2006/01/02"))
}

// smallDemo runs `permlake demo` on a small organization (two members, one day) and returns its
// config, warehouse and the analysis time its warehouse was built for.
func smallDemo(t *testing.T, ctx context.Context) (cfg, wh string, now time.Time) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "demo-out")
	if code, stdout, stderr := runCLI(t, ctx, "demo", "--out", out, "--days", "1", "--member-accounts", "2", "--events-per-hour", "2"); code != exitOK {
		t.Fatalf("permlake demo exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	cfg = filepath.Join(out, "permlake.yaml")
	wh = filepath.Join(out, "warehouse.duckdb")
	db := openDuck(t, wh+"?access_mode=read_only")
	if err := db.QueryRow("select now from build_info").Scan(&now); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return cfg, wh, now
}
