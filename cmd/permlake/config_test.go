package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseHour(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2026-11-22T07":             "2026-11-22T07:00:00Z",
		"2026-11-22T07:00":          "2026-11-22T07:00:00Z",
		"2026-11-22T09:00:00+02:00": "2026-11-22T07:00:00Z",
	} {
		got, err := parseHour(in)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("parseHour(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2026-11-22", "2026-11-22T07:30", "yesterday", "2026-13-01T00"} {
		if _, err := parseHour(in); err == nil {
			t.Errorf("parseHour(%q) accepted", in)
		}
	}
}

func TestRunFlagsHours(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 8, 20, 0, 0, time.UTC)
	tests := []struct {
		f        runFlags
		from, to string
		err      bool
	}{
		{runFlags{}, "2026-11-22T07", "2026-11-22T07", false},
		{runFlags{hour: "2026-11-20T03"}, "2026-11-20T03", "2026-11-20T03", false},
		{runFlags{from: "2026-11-20T03", to: "2026-11-21T05"}, "2026-11-20T03", "2026-11-21T05", false},
		{runFlags{from: "2026-11-21T03", to: "2026-11-20T05"}, "", "", true},
		{runFlags{from: "2026-11-21T03"}, "", "", true},
		{runFlags{hour: "2026-11-20T03", to: "2026-11-21T05"}, "", "", true},
		// Open and future hours are refused: running them would mark them complete too early.
		{runFlags{hour: "2026-11-22T08"}, "", "", true},
		{runFlags{hour: "2030-01-01T00"}, "", "", true},
		{runFlags{from: "2026-11-22T06", to: "2026-11-22T08"}, "", "", true},
		// 07 closed at 08:00; its files are complete at 08:05 (delivery delay).
		{runFlags{hour: "2026-11-22T07"}, "2026-11-22T07", "2026-11-22T07", false},
	}
	for _, tc := range tests {
		from, to, err := tc.f.hours(now, 5*time.Minute)
		if tc.err {
			if err == nil {
				t.Errorf("%+v: no error", tc.f)
			}
			continue
		}
		if err != nil || from.Format("2006-01-02T15") != tc.from || to.Format("2006-01-02T15") != tc.to {
			t.Errorf("%+v: %v %v %v; want %s %s", tc.f, from, to, err, tc.from, tc.to)
		}
	}
}

// TestRunRefusesOpenHours: an hour that has not closed plus the delivery delay is refused
// (exit 2), and the default hour is the last one past the delay.
func TestRunRefusesOpenHours(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	tests := []struct {
		now  string
		f    runFlags
		want string // "" for refused
	}{
		{"2026-11-22T08:04:59Z", runFlags{hour: "2026-11-22T07"}, ""},
		{"2026-11-22T08:05:00Z", runFlags{hour: "2026-11-22T07"}, "2026-11-22T07"},
		{"2026-11-22T08:04:59Z", runFlags{}, "2026-11-22T06"},
		{"2026-11-22T08:05:00Z", runFlags{}, "2026-11-22T07"},
	}
	for _, tc := range tests {
		_, to, err := tc.f.hours(at(tc.now), 5*time.Minute)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("now %s %+v: ran %s, want refused", tc.now, tc.f, to.Format("2006-01-02T15"))
		case tc.want != "" && (err != nil || to.Format("2006-01-02T15") != tc.want):
			t.Errorf("now %s %+v: %s %v, want %s", tc.now, tc.f, to.Format("2006-01-02T15"), err, tc.want)
		}
	}
	// Through the CLI: a future hour exits 2 and writes nothing.
	dir := t.TempDir()
	c := testConfig(dir, "lake")
	c.AWS.Accounts = []AccountConfig{{ID: "111111111111"}}
	c.AWS.Trail = TrailConfig{URL: "file://" + dir}
	cfg := saveConfig(t, c, dir, "permlake")
	code, _, stderr := runCLIAt(t, context.Background(), at("2026-11-22T08:20:00Z"), "run", "--config", cfg, "--hour", "2030-01-01T00")
	if code != exitUsage || !strings.Contains(stderr, "2030-01-01T00 has not closed") {
		t.Errorf("future hour: exit %d, want 2 naming the hour: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "_manifests")); !os.IsNotExist(err) {
		t.Errorf("a refused run wrote manifests: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "permlake.yaml")
	yaml := "lake: file:///tmp/lake\nlookback_days: 30\naws:\n  accounts:\n    - id: \"012345678901\"\n      name: prod\n      data_events: [dynamodb]\n  trail:\n    url: file:///tmp/trail\n    organization_id: o-abcdefghij\n    data_events: [s3]\n    excluded_services: [kms]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PERMLAKE_LOOKBACK_DAYS", "45")
	t.Setenv("PERMLAKE_AWS_TRAIL_PREFIX", "org")
	c, err := loadConfig(newViper(), path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Lake != "file:///tmp/lake" || c.LookbackDays != 45 || c.LateMargin != 2*time.Hour || c.Concurrency != 4 {
		t.Errorf("config = %+v", c)
	}
	if len(c.AWS.Accounts) != 1 || c.AWS.Accounts[0].ID != "012345678901" || c.AWS.Trail.Prefix != "org" || c.AWS.Trail.OrganizationID != "o-abcdefghij" {
		t.Errorf("aws = %+v", c.AWS)
	}
	if got := mergeRole(RoleConfig{Name: "PermlakeReader", ExternalID: "org-wide", Duration: time.Hour}, RoleConfig{ExternalID: "per-account"}); got.Name != "PermlakeReader" || got.ExternalID != "per-account" || got.Duration != time.Hour {
		t.Errorf("mergeRole = %+v", got)
	}
	seeds := trailSeeds(c)
	if d := seeds["aws_trail_data_events"].Rows; len(d) != 2 || d[0][0] != "*" || d[0][1] != "s3" || d[1][0] != "012345678901" || d[1][1] != "dynamodb" {
		t.Errorf("data-event seed = %v", d)
	}
	if e := seeds["aws_trail_excluded_services"].Rows; len(e) != 1 || e[0][1] != "kms" {
		t.Errorf("excluded-services seed = %v", e)
	}
	if _, err := selectAccounts(c, []string{"111111111111"}); err == nil {
		t.Error("unconfigured account accepted by --accounts")
	}
	if got, err := selectAccounts(c, []string{"012345678901"}); err != nil || len(got) != 1 {
		t.Errorf("selectAccounts = %v, %v", got, err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("aws:\n  accounts:\n    - id: 12345678901\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(newViper(), bad); err == nil || !strings.Contains(err.Error(), "aws.accounts[0]") {
		t.Errorf("an 11-digit account (a YAML number that lost its zero) must be rejected naming the field: %v", err)
	}
	if _, err := loadConfig(newViper(), filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing config file accepted")
	}
}
