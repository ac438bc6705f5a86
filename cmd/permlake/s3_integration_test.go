package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/aws"
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
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 6}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Upload(ctx, t, org.TrailBucket, filepath.Join(src, "s3", org.TrailBucket)); n < 100 {
		t.Fatalf("uploaded %d trail objects", n)
	}
	m.Upload(ctx, t, "permlake-iam-exports", filepath.Join(src, "iam"))

	// The base credentials come from the environment, as the SDK chain finds them.
	useMinIOCredentials(t, m, dir)

	local := readLocal(testConfig(dir, "local"), org, src, nil)
	remote := readLocal(testConfig(dir, "remote"), org, src, nil)
	remote.AWS.Region = "us-east-1"
	remote.AWS.Endpoints = EndpointsConfig{S3: m.Endpoint, STS: m.Endpoint, S3PathStyle: true}
	reader := RoleConfig{ARN: "arn:aws:iam::" + org.LogArchiveAccountID + ":role/permlake-log-reader", ExternalID: "permlake-test",
		SessionName: "permlake-test", Duration: 15 * time.Minute}
	remote.AWS.Trail.URL, remote.AWS.Trail.Role = "s3://"+org.TrailBucket, reader
	remote.AWS.IAMSnapshots = StoreConfig{URL: "s3://permlake-iam-exports", Role: reader}

	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	for _, c := range []*Config{local, remote} {
		cfg := saveConfig(t, c, dir, strings.TrimSuffix(filepath.Base(c.Warehouse), ".duckdb"))
		if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", from, "--to", to, "--no-models"); code != exitOK {
			t.Fatalf("run over %s: exit %d\n%s", c.AWS.Trail.URL, code, stderr)
		}
	}
	want, got := lakeFingerprint(t, filepath.Join(dir, "local")), lakeFingerprint(t, filepath.Join(dir, "remote"))
	if got != want {
		t.Errorf("lake read through MinIO differs from the local one:\n%s\nwant\n%s", got, want)
	}
}

// TestRunThroughMemberRoles collects IAM through each account's API (a server speaking IAM's
// query protocol, throttling first) with the member role assumed through MinIO's STS, and the
// trail from MinIO; an account whose role has no IAM access fails alone, named, exit 3, and the
// others' data equals a local run's.
func TestRunThroughMemberRoles(t *testing.T) {
	ctx := context.Background()
	m := awstest.StartMinIO(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 6}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	m.Upload(ctx, t, org.TrailBucket, filepath.Join(src, "s3", org.TrailBucket))
	pages, reports := map[string][][]byte{}, map[string][]byte{}
	files, err := openBucket(ctx, "file://"+filepath.Join(src, "iam"), RoleConfig{}, AWSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	var healthy []AccountConfig
	for _, a := range org.Accounts[:4] {
		snap, err := (&aws.SnapshotFiles{Bucket: files}).Snapshot(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		pages[a.ID], reports[a.ID] = snap.GAADPages, snap.CredentialReport
		healthy = append(healthy, AccountConfig{ID: a.ID, Name: a.Name})
	}
	iamSrv := awstest.NewIAMServer(t, pages, reports)
	iamSrv.Throttle = 1
	// The organization's tree and SCPs, served through the Organizations API from the demo's
	// export, so the remote run (API) and the local run (export file) read the same organization.
	scpSrv := organizationsFromExport(t, filepath.Join(src, "organization"))

	useMinIOCredentials(t, m, dir)

	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	mk := func(name string, accounts []AccountConfig, remote bool) string {
		c := testConfig(dir, name)
		c.AWS.Region, c.AWS.Accounts = "us-east-1", accounts
		c.AWS.Trail = TrailConfig{Prefix: org.TrailPrefix, OrganizationID: org.OrganizationID}
		if remote {
			c.AWS.Endpoints = EndpointsConfig{IAM: iamSrv.URL + "/{account}", Organizations: scpSrv.URL, S3: m.Endpoint, STS: m.Endpoint, S3PathStyle: true}
			c.AWS.Organization.Role = RoleConfig{ARN: "arn:aws:iam::" + org.ManagementAccountID + ":role/PermlakeOrganizationReader", SessionName: "permlake"}
			c.AWS.MemberRole = RoleConfig{Name: "PermlakeReader", ExternalID: "permlake-test", SessionName: "permlake", Duration: 15 * time.Minute}
			c.AWS.Trail.URL = "s3://" + org.TrailBucket
			c.AWS.Trail.Role = RoleConfig{ARN: "arn:aws:iam::" + org.LogArchiveAccountID + ":role/PermlakeLogReader", SessionName: "permlake"}
		} else {
			c.AWS.Trail.URL = "file://" + filepath.Join(src, "s3", org.TrailBucket)
			c.AWS.IAMSnapshots = StoreConfig{URL: "file://" + filepath.Join(src, "iam")}
			c.AWS.Organization.Export = StoreConfig{URL: "file://" + filepath.Join(src, "organization")}
		}
		cfg := filepath.Join(dir, name+".yaml")
		if err := writeDemoConfig(cfg, c); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	// Member 3 (org.Accounts[4]) has a trail but its role cannot call IAM.
	broken := AccountConfig{ID: org.Accounts[4].ID, Name: "no-iam-access"}
	remoteCfg := mk("remote", append(healthy, broken), true)

	// permlake check names the missing permission of the broken account only.
	code, out, _ := runCLI(t, ctx, "check", "--config", remoteCfg)
	if code != exitFailed {
		t.Errorf("check: exit %d, want 1\n%s", code, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		isBroken := strings.HasPrefix(line, broken.ID)
		missing := strings.Contains(line, "MISSING")
		if missing != (isBroken && strings.Contains(line, "iam:")) {
			t.Errorf("check line %q", line)
		}
		if missing && !strings.Contains(line, "AccessDenied") {
			t.Errorf("check does not say why: %q", line)
		}
	}
	if n := strings.Count(out, "\n"); n != 1+6+5*4 {
		t.Errorf("check printed %d lines, want a header, 6 organization checks and 4 checks for each of 5 accounts:\n%s", n, out)
	}
	if !strings.Contains(out, org.ManagementAccountID+"  organizations:ListTargetsForPolicy") {
		t.Errorf("check does not try the SCP reads through the organization role:\n%s", out)
	}
	if code, out, _ := runCLI(t, ctx, "accounts", "--config", remoteCfg); code != exitOK || !strings.Contains(out, broken.ID) || !strings.Contains(out, "role/PermlakeReader") {
		t.Errorf("accounts: exit %d\n%s", code, out)
	}

	// Discovery: the organization's ACTIVE accounts under an OU, through the organization reader
	// role assumed over MinIO's STS.
	var orgAccounts []awstest.OrgAccount
	for i, a := range org.Accounts {
		parent := "ou-members"
		if i < 2 {
			parent = "r-root"
		}
		orgAccounts = append(orgAccounts, awstest.OrgAccount{ID: a.ID, Name: a.Name, State: "ACTIVE", Parent: parent})
	}
	orgAccounts = append(orgAccounts, awstest.OrgAccount{ID: "999988887777", Name: "gone", State: "CLOSED", Parent: "ou-members"})
	orgSrv := awstest.NewOrganizationsServer(t, orgAccounts, map[string][2]string{"ou-members": {"Members", "r-root"}})
	disc := testConfig(dir, "disc")
	disc.AWS.Region = "us-east-1"
	disc.AWS.Endpoints = EndpointsConfig{Organizations: orgSrv.URL, STS: m.Endpoint, S3: m.Endpoint, S3PathStyle: true}
	disc.AWS.Organization = OrganizationConfig{Include: []string{"/Root/Members"}, Exclude: []string{org.Accounts[3].ID},
		Role: RoleConfig{ARN: "arn:aws:iam::" + org.ManagementAccountID + ":role/PermlakeOrganizationReader", SessionName: "permlake"}}
	disc.AWS.MemberRole = RoleConfig{Name: "PermlakeReader"}
	discCfg := saveConfig(t, disc, dir, "disc")
	code, out, stderr := runCLI(t, ctx, "accounts", "--config", discCfg)
	listed := 0
	for _, a := range org.Accounts {
		if strings.Contains(out, a.ID) {
			listed++
		}
	}
	if code != exitOK || listed != 2 || !strings.Contains(out, org.Accounts[2].ID) || strings.Contains(out, "999988887777") || strings.Contains(out, org.Accounts[3].ID) {
		t.Errorf("discovered accounts: exit %d, want members 3 and 5 only:\n%s%s", code, out, stderr)
	}

	code, _, stderr = runCLI(t, ctx, "run", "--config", remoteCfg, "--from", from, "--to", to, "--no-models")
	if code != exitPartial || !strings.Contains(stderr, broken.ID) || !strings.Contains(stderr, "AccessDenied") {
		t.Fatalf("exit %d, want 3 naming %s and AccessDenied:\n%s", code, broken.ID, stderr)
	}
	// The broken account's CloudTrail is collected all the same (its entitlements and activity
	// are independent sources): the local reference holds it too, with no IAM snapshot.
	if err := os.RemoveAll(filepath.Join(src, "iam", broken.ID)); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, ctx, "run", "--config", mk("local", append(healthy, broken), false), "--from", from, "--to", to, "--no-models"); code != exitPartial || !strings.Contains(stderr, broken.ID+": iam snapshot") {
		t.Fatalf("local run: exit %d, want 3 naming %s's missing snapshot\n%s", code, broken.ID, stderr)
	}
	if got, want := lakeFingerprint(t, filepath.Join(dir, "remote")), lakeFingerprint(t, filepath.Join(dir, "local")); got != want {
		t.Errorf("lake through member roles and MinIO differs from the local one:\n%s\nwant\n%s", got, want)
	}
	if fp := lakeFingerprint(t, filepath.Join(dir, "remote")); !strings.Contains(fp, "aws_organizations_policies: rows=3 ") {
		t.Errorf("the organization's 3 SCPs did not reach the lake:\n%s", fp)
	}

	// The marts of the collected accounts: the SCPs the fixtures attach take their actions away
	// from every member principal, the management account keeps them.
	if code, _, stderr := runCLI(t, ctx, "models", "--config", remoteCfg, "--now", org.WindowEnd.Format("2006-01-02T15")); code != exitOK {
		t.Fatalf("models: exit %d\n%s", code, stderr)
	}
	wh := openDuck(t, filepath.Join(dir, "remote.duckdb")+"?access_mode=read_only")
	if n := queryInt(t, wh, `select count(*) from permission_usage where action = 'cloudtrail:StopLogging' and account_id <> ? and status <> 'used_not_granted'`, org.ManagementAccountID); n != 0 {
		t.Errorf("%d member principals keep cloudtrail:StopLogging, which the root's SCP denies", n)
	}
	if n := queryInt(t, wh, `select count(*) from permission_usage where action = 'cloudtrail:StopLogging' and account_id = ?`, org.ManagementAccountID); n == 0 {
		t.Error("the management account lost cloudtrail:StopLogging to an SCP")
	}
	if n := queryInt(t, wh, `select count(*) from permission_usage where action = 'iam:CreateUser' and account_id = ?`, org.Accounts[4].ID); n != 0 {
		t.Errorf("the sandbox account %s keeps iam:CreateUser (%d rows)", org.Accounts[4].ID, n)
	}
	if n := queryInt(t, wh, `select count(*) from permission_usage where action = 'iam:CreateUser' and account_id = ?`, org.Accounts[2].ID); n == 0 {
		t.Errorf("the prod account %s lost iam:CreateUser, which only the sandbox SCP denies", org.Accounts[2].ID)
	}
}

// organizationsFromExport starts an Organizations server holding the organization an exported
// organization.json (extract/aws.OrgSnapshot's JSON form) describes.
func organizationsFromExport(t *testing.T, dir string) *awstest.OrganizationsServer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "organization.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snap aws.OrgSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	var accounts []awstest.OrgAccount
	ous := map[string][2]string{}
	for _, a := range snap.Accounts {
		accounts = append(accounts, awstest.OrgAccount{ID: a.ID, Name: a.Name, State: "ACTIVE", Parent: a.ParentIDs[len(a.ParentIDs)-1]})
		names := strings.Split(strings.TrimPrefix(a.OUPath, "/"), "/") // Root, OU, OU…
		for i := 1; i < len(a.ParentIDs); i++ {
			ous[a.ParentIDs[i]] = [2]string{names[i], a.ParentIDs[i-1]}
		}
	}
	srv := awstest.NewOrganizationsServer(t, accounts, ous)
	for _, p := range snap.Policies {
		pol := awstest.OrgPolicy{ID: p.ID, Name: p.Name, Content: p.Content, AWSManaged: p.AWSManaged}
		for _, tg := range p.Targets {
			pol.Targets = append(pol.Targets, tg.ID)
		}
		srv.Policies = append(srv.Policies, pol)
	}
	return srv
}
