package aws

import (
	"context"
	"strings"
	"testing"

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
