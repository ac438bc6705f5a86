package aws

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeSTS answers AssumeRole in STS's query-protocol XML with credentials that expire after
// lifetime, and records the requests.
type fakeSTS struct {
	mu       sync.Mutex
	lifetime time.Duration
	forms    []map[string]string
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	form := map[string]string{}
	for k := range r.Form {
		form[k] = r.Form.Get(k)
	}
	form["Authorization"] = r.Header.Get("Authorization")
	f.forms = append(f.forms, form)
	n := len(f.forms)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>`+
		`<AccessKeyId>ASIATEST%04d</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token%d</SessionToken>`+
		`<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>%s/permlake</Arn><AssumedRoleId>AROATEST:permlake</AssumedRoleId>`+
		`</AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r%d</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		n, n, time.Now().Add(f.lifetime).UTC().Format(time.RFC3339), form["RoleArn"], n)
}

// TestAssumeChainRefreshesBeforeExpiry: credentials within five minutes of expiring are never
// handed out; the hop is assumed again, with its ExternalId, session name and duration.
func TestAssumeChainRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "secret", "")}
	hop := Hop{RoleARN: "arn:aws:iam::012345678901:role/PermlakeReader", ExternalID: "ext-1", SessionName: "permlake", Duration: 15 * time.Minute}

	short := &fakeSTS{lifetime: 3 * time.Minute} // inside the refresh window: every use re-assumes
	srv := httptest.NewServer(short)
	defer srv.Close()
	cfg, err := AssumeChain(base, []Hop{hop}, Endpoints{STS: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	first, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.AccessKeyID == second.AccessKeyID || len(short.forms) != 2 {
		t.Errorf("credentials about to expire were reused: %s then %s after %d AssumeRole calls", first.AccessKeyID, second.AccessKeyID, len(short.forms))
	}
	f := short.forms[0]
	if f["Action"] != "AssumeRole" || f["RoleArn"] != hop.RoleARN || f["ExternalId"] != "ext-1" || f["RoleSessionName"] != "permlake" || f["DurationSeconds"] != "900" {
		t.Errorf("AssumeRole request = %v", f)
	}

	long := &fakeSTS{lifetime: time.Hour} // comfortably valid: cached
	srv2 := httptest.NewServer(long)
	defer srv2.Close()
	cfg, err = AssumeChain(base, []Hop{hop}, Endpoints{STS: srv2.URL})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(long.forms) != 1 {
		t.Errorf("valid credentials were not cached: %d AssumeRole calls", len(long.forms))
	}
	if _, err := AssumeChain(base, []Hop{{RoleARN: "not-an-arn"}}, Endpoints{}); err == nil {
		t.Error("invalid role ARN accepted")
	}
}

// TestAssumeChainSignsEachHopWithThePrevious: base → hub → member, the member role assumed with
// the hub session's credentials.
func TestAssumeChainSignsEachHopWithThePrevious(t *testing.T) {
	t.Parallel()
	sts := &fakeSTS{lifetime: time.Hour}
	srv := httptest.NewServer(sts)
	defer srv.Close()
	base := sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "secret", "")}
	cfg, err := AssumeChain(base, []Hop{
		{RoleARN: "arn:aws:iam::111122223333:role/PermlakeHub", SessionName: "hub"},
		{RoleARN: "arn:aws:iam::012345678901:role/PermlakeReader", ExternalID: "ext", SessionName: "member"},
	}, Endpoints{STS: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sts.forms) != 2 || got.AccessKeyID != "ASIATEST0002" {
		t.Fatalf("%d AssumeRole calls, final key %s", len(sts.forms), got.AccessKeyID)
	}
	hub, member := sts.forms[0], sts.forms[1]
	if hub["RoleArn"] != "arn:aws:iam::111122223333:role/PermlakeHub" || !strings.Contains(hub["Authorization"], "Credential=AKIDBASE/") {
		t.Errorf("hub hop = %v", hub)
	}
	if member["RoleArn"] != "arn:aws:iam::012345678901:role/PermlakeReader" || !strings.Contains(member["Authorization"], "Credential=ASIATEST0001/") {
		t.Errorf("member hop not signed with the hub session: %v", member)
	}
}
