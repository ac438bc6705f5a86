package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigRejectsTyposAndBadURLs: a key nothing reads, and a URL missing its "//", were
// silently a default and a local directory (an empty run with exit 0, a lake in ./s3:/bucket/x);
// both are errors naming the key.
func TestConfigRejectsTyposAndBadURLs(t *testing.T) {
	t.Parallel()
	const trail = "aws:\n  trail:\n    url: file:///tmp/trail\n"
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; none: loads
	}{
		{"valid", "lake: file:///tmp/lake\nlookback_days: 30\n" + trail + "    organization_id: o-abcdefghij\n  accounts:\n    - id: \"012345678901\"\n      name: prod\n", nil},
		{"kubernetes example", "lake: file:///data/lake\nwarehouse: /data/warehouse.duckdb\naws:\n  region: us-east-1\n  member_role: {name: PermlakeReader, external_id: permlake}\n  organization:\n    role: {arn: \"arn:aws:iam::111122223333:role/PermlakeOrganizationReader\", external_id: permlake}\n  trail:\n    url: s3://org-cloudtrail-logs\n    organization_id: o-exampleorgid\n    role: {arn: \"arn:aws:iam::222233334444:role/PermlakeLogReader\", external_id: permlake}\n", nil},
		{"azure keys", "azure:\n  tenants:\n    - id: 00000000-0000-0000-0000-000000000001\n      credential: {kind: client_secret, client_id: abc, secret_env: X}\n  subscriptions:\n    - subscription_id: 00000000-0000-0000-0000-000000000002\n      credential: {kind: azure_cli}\n  discovery: {discover: true}\n  logs: {url: \"https://acct.blob.core.windows.net\", tenant_id: 00000000-0000-0000-0000-000000000001}\nlake_azure: {url: \"http://127.0.0.1:10000/devstoreaccount1\", shared_key_env: K}\n", nil},
		{"organisation_id", trail + "    organisation_id: o-abcdefghij\n", []string{`unknown configuration key "aws.trail.organisation_id"`, `did you mean "aws.trail.organization_id"`}},
		{"lookback_dyas", "lookback_dyas: 30\n", []string{`"lookback_dyas"`, `did you mean "lookback_days"`}},
		{"in a list", "aws:\n  accounts:\n    - id: \"012345678901\"\n      nmae: prod\n", []string{`"aws.accounts[0].nmae"`, `did you mean "aws.accounts[0].name"`}},
		{"nested azure", "azure:\n  tenants:\n    - id: 00000000-0000-0000-0000-000000000001\n      credential: {kind: default, clientid: x}\n", []string{`"azure.tenants[0].credential.clientid"`, `"azure.tenants[0].credential.client_id"`}},
		{"wrong level", "organization_id: o-abcdefghij\n", []string{`"organization_id"`, `did you mean "aws.trail.organization_id"`}},
		{"unknown section", "awss:\n  region: us-east-1\n", []string{`"awss"`, `did you mean "aws"`}},
		{"nothing close", "colour: blue\n", []string{`unknown configuration key "colour"`}},
		{"lake s3:/", "lake: \"s3:/bucket/x\"\n", []string{`lake: "s3:/bucket/x" looks like a URL without "//"`}},
		{"trail s3:", trail + "    prefix: x\n  iam_snapshots:\n    url: \"s3:bucket\"\n", []string{`aws.iam_snapshots.url: "s3:bucket"`}},
		{"trail url", "aws:\n  trail:\n    url: \"file:/tmp/trail\"\n", []string{`aws.trail.url`}},
		{"endpoint", "aws:\n  endpoints:\n    s3: \"http:localhost:9000\"\n", []string{`aws.endpoints.s3`}},
		{"azure logs", "azure:\n  logs:\n    url: \"https:/acct.blob.core.windows.net\"\n", []string{`azure.logs.url`}},
		{"batch of accounts", "models_batch_accounts: 8\nmodels_memory_limit: 1GB\n", nil},
		{"batch of no account", "models_batch_accounts: -1\n", []string{`models_batch_accounts must be between 1 and 1000, got -1`}},
		{"plain paths", "lake: ./lake\nwarehouse: ./w.duckdb\naws:\n  trail:\n    url: /tmp/trail\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "permlake.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(newViper(), path)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error with %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestConfigEnvironmentIsNotUnknown: keys set by the environment are never reported, and the
// file's typo is still found beside them.
func TestConfigEnvironmentIsNotUnknown(t *testing.T) {
	t.Setenv("PERMLAKE_LOOKBACK_DAYS", "45")
	t.Setenv("PERMLAKE_AWS_TRAIL_URL", "file:///tmp/trail")
	t.Setenv("PERMLAKE_NOT_A_KEY", "x")
	dir := t.TempDir()
	path := filepath.Join(dir, "permlake.yaml")
	if err := os.WriteFile(path, []byte("lake: file:///tmp/lake\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(newViper(), path)
	if err != nil || c.LookbackDays != 45 || c.AWS.Trail.URL != "file:///tmp/trail" {
		t.Fatalf("config %+v, %v", c, err)
	}
	if _, err := loadConfig(newViper(), ""); err != nil {
		t.Fatalf("no file: %v", err)
	}
	t.Setenv("PERMLAKE_LAKE", "s3:/bucket")
	if _, err := loadConfig(newViper(), path); err == nil || !strings.Contains(err.Error(), "lake") {
		t.Errorf("PERMLAKE_LAKE=s3:/bucket: %v", err)
	}
}

func TestConfigKeyPaths(t *testing.T) {
	t.Parallel()
	keys := strings.Join(configKeyPaths(), " ")
	for _, k := range []string{"lake", "lake_role.arn", "lake_azure.url", "aws.trail.organization_id", "aws.accounts[].member_role.name", "azure.tenants[].credential.kind", "azure.subscriptions[].credential.kind", "azure.retry.max_retries", "azure.discovery.discover"} {
		if !strings.Contains(" "+keys+" ", " "+k+" ") {
			t.Errorf("%s missing from %s", k, keys)
		}
	}
}
