package aws

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob/fileblob"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/permlake/permlake/extract/aws/awstest"
)

func TestOrganizationAccounts(t *testing.T) {
	t.Parallel()
	srv := awstest.NewOrganizationsServer(t, []awstest.OrgAccount{
		{ID: "111122223333", Name: "management", State: "ACTIVE", Parent: "r-root"},
		{ID: "012345678901", Name: "prod", State: "ACTIVE", Parent: "ou-prod"},
		{ID: "333344445555", Name: "sandbox", State: "ACTIVE", Parent: "ou-sandbox"},
		{ID: "444455556666", Name: "closed", State: "SUSPENDED", Parent: "ou-sandbox"},
		{ID: "555566667777", Name: "staging", State: "ACTIVE", Parent: "ou-prod"},
	}, map[string][2]string{"ou-work": {"Workloads", "r-root"}, "ou-prod": {"Prod", "ou-work"}, "ou-sandbox": {"Sandbox", "r-root"}})
	cfg := sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	list := func(include, exclude []string) string {
		t.Helper()
		o := &Organization{Config: cfg, Endpoint: srv.URL, Include: include, Exclude: exclude}
		accts, err := o.Accounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, a := range accts {
			s = append(s, a.ID+" "+a.OUPath)
		}
		return strings.Join(s, ",")
	}
	if got, want := list(nil, nil), "012345678901 /Root/Workloads/Prod,111122223333 /Root,333344445555 /Root/Sandbox,555566667777 /Root/Workloads/Prod"; got != want {
		t.Errorf("all = %s\nwant %s", got, want)
	}
	if got, want := list([]string{"/Root/Workloads"}, []string{"555566667777"}), "012345678901 /Root/Workloads/Prod"; got != want {
		t.Errorf("filtered = %s, want %s", got, want)
	}
	if got, want := list(nil, []string{"/Root/Workloads/"}), "111122223333 /Root,333344445555 /Root/Sandbox"; got != want {
		t.Errorf("excluded OU = %s, want %s", got, want)
	}
	if got := list([]string{"/Root/Work"}, nil); got != "" {
		t.Errorf("an OU path prefix must match whole names: %s", got)
	}
}

func TestOrgSnapshot(t *testing.T) {
	t.Parallel()
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["cloudtrail:StopLogging","organizations:LeaveOrganization"],"Resource":"*"}]}`
	full := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	srv := awstest.NewOrganizationsServer(t, []awstest.OrgAccount{
		{ID: "111122223333", Name: "management", State: "ACTIVE", Parent: "r-root"},
		{ID: "012345678901", Name: "prod", State: "ACTIVE", Parent: "ou-prod"},
		{ID: "444455556666", Name: "closed", State: "SUSPENDED", Parent: "ou-prod"},
	}, map[string][2]string{"ou-work": {"Workloads", "r-root"}, "ou-prod": {"Prod", "ou-work"}})
	srv.Policies = []awstest.OrgPolicy{
		{ID: "p-FullAWSAccess", Name: "FullAWSAccess", Content: full, AWSManaged: true, Targets: []string{"r-root", "ou-work", "ou-prod", "012345678901", "111122223333"}},
		{ID: "p-guardrails", Name: "guardrails", Content: deny, Targets: []string{"ou-work"}},
	}
	cfg := sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	// Include/Exclude narrow what is collected, not which accounts' SCPs are known.
	o := &Organization{Config: cfg, Endpoint: srv.URL, Include: []string{"111122223333"}}
	snap, err := o.OrgSnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.OrganizationID != "o-pl7demo4x2" || snap.ManagementAccountID != "111122223333" {
		t.Errorf("organization %s, management %s", snap.OrganizationID, snap.ManagementAccountID)
	}
	if len(snap.Accounts) != 2 || snap.Accounts[0].ID != "012345678901" || strings.Join(snap.Accounts[0].ParentIDs, ",") != "r-root,ou-work,ou-prod" ||
		strings.Join(snap.Accounts[1].ParentIDs, ",") != "r-root" {
		t.Errorf("accounts = %+v; want the 2 active ones with parents root first", snap.Accounts)
	}
	if len(snap.Policies) != 2 {
		t.Fatalf("policies = %+v", snap.Policies)
	}
	p := snap.Policies[0]
	if p.ARN != awstest.PolicyARN("p-FullAWSAccess") || !p.AWSManaged || p.Content != full || len(p.Targets) != 5 {
		t.Errorf("FullAWSAccess = %+v (targets come in 3 pages)", p)
	}
	if tg := snap.Policies[1].Targets; len(tg) != 1 || tg[0] != (PolicyTarget{ID: "ou-work", Type: "ORGANIZATIONAL_UNIT", Name: "Workloads"}) {
		t.Errorf("guardrails targets = %+v", tg)
	}

	// The export file is the snapshot's JSON form.
	dir := t.TempDir()
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "org"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "org", "organization.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	bucket, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	got, err := (&OrgSnapshotFile{Bucket: bucket, Prefix: "org"}).OrgSnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.SourceKey != "org/organization.json" || len(got.Policies) != 2 || got.Policies[1].Content != deny || got.Accounts[0].OUPath != "/Root/Workloads/Prod" {
		t.Errorf("read back %+v", got)
	}

	for name, body := range map[string]string{
		"bad management account": `{"organization_id":"o-pl7demo4x2","management_account_id":"1111","accounts":[{"id":"111122223333","parent_ids":["r-root"]}]}`,
		"no parents":             `{"organization_id":"o-pl7demo4x2","management_account_id":"111122223333","accounts":[{"id":"111122223333"}]}`,
		"policy without content": `{"organization_id":"o-pl7demo4x2","management_account_id":"111122223333","accounts":[{"id":"111122223333","parent_ids":["r-root"]}],"policies":[{"id":"p-1","arn":"arn:x"}]}`,
		"not JSON":               `{"organization_id"`,
	} {
		if err := os.WriteFile(filepath.Join(dir, "org", "organization.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := (&OrgSnapshotFile{Bucket: bucket, Prefix: "org"}).OrgSnapshot(context.Background()); err == nil || !strings.Contains(err.Error(), "org/organization.json") {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
}
