package demo

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/klauspost/compress/gzip"
)

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Days: 2, EventsPerHour: 5}
	a, b := t.TempDir(), t.TempDir()
	if _, err := Generate(context.Background(), a, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), b, cfg); err != nil {
		t.Fatal(err)
	}
	ta, tb := readTree(t, a), readTree(t, b)
	if len(ta) != len(tb) || len(ta) < 20 {
		t.Fatalf("trees differ in size: %d vs %d", len(ta), len(tb))
	}
	for k, v := range ta {
		if !bytes.Equal(v, tb[k]) {
			t.Errorf("%s differs between two runs with the same config", k)
		}
	}
}

type ctRecord struct {
	EventID      string `json:"eventID"`
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	ErrorCode    string `json:"errorCode"`
	SharedID     string `json:"sharedEventID"`
	Recipient    string `json:"recipientAccountId"`
	UserIdentity struct {
		Type      string `json:"type"`
		AccountID string `json:"accountId"`
	} `json:"userIdentity"`
}

var keyPattern = regexp.MustCompile(`^s3/permlake-demo-org-trail/org/AWSLogs/o-[a-z0-9]{10,32}/([0-9]{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/([0-9]{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)

func TestGenerateCoversTheCases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	org, err := Generate(context.Background(), dir, Config{Days: 14})
	if err != nil {
		t.Fatal(err)
	}
	tree := readTree(t, dir)
	seen := map[string][]string{} // eventID → files
	var late, failed, service, federated, root, assumed, dated, crossAcct, zeroAcct int
	shared := map[string]map[string]bool{}
	for key, body := range tree {
		key = filepath.ToSlash(key)
		if !strings.Contains(key, "/CloudTrail/") {
			continue
		}
		m := keyPattern.FindStringSubmatch(key)
		if m == nil {
			t.Fatalf("key %s does not have the CloudTrail layout", key)
		}
		delivered, _ := time.Parse("20060102T1504Z", m[8])
		if m[1] != m[6] || m[2] != m[7] || delivered.Format("2006/01/02") != m[3]+"/"+m[4]+"/"+m[5] {
			t.Errorf("%s: folder and file name disagree", key)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(zr)
		var f struct{ Records []ctRecord }
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		for _, r := range f.Records {
			seen[r.EventID] = append(seen[r.EventID], key)
			et, _ := time.Parse(time.RFC3339, r.EventTime)
			if delivered.Sub(et.Truncate(time.Hour)) >= 2*time.Hour {
				late++
			}
			if et.After(delivered.Add(5 * time.Minute)) {
				t.Errorf("event %s delivered before it happened", r.EventID)
			}
			if r.ErrorCode != "" {
				failed++
			}
			switch r.UserIdentity.Type {
			case "AWSService":
				service++
			case "FederatedUser":
				federated++
			case "Root":
				root++
			case "AssumedRole":
				assumed++
			}
			if strings.Contains(r.EventName, "20150331") {
				dated++
			}
			if r.UserIdentity.AccountID != "" && r.UserIdentity.AccountID != m[1] {
				crossAcct++
			}
			if strings.HasPrefix(m[1], "0") {
				zeroAcct++
			}
			if r.SharedID != "" {
				if shared[r.SharedID] == nil {
					shared[r.SharedID] = map[string]bool{}
				}
				shared[r.SharedID][r.Recipient] = true
			}
		}
	}
	dups := 0
	for _, files := range seen {
		if len(files) > 1 && files[0] != files[1] {
			dups++
		}
	}
	twoCopies := 0
	for _, recips := range shared {
		if len(recips) == 2 {
			twoCopies++
		}
	}
	for name, n := range map[string]int{"duplicates in two files": dups, "late (>=2h)": late, "failed": failed, "AWSService": service,
		"FederatedUser": federated, "Root": root, "AssumedRole": assumed, "dated names": dated, "cross-account": crossAcct,
		"shared-event copies": twoCopies, "0-leading account": zeroAcct} {
		if n == 0 {
			t.Errorf("no %s event", name)
		}
	}
	if org.Events == 0 || org.Files == 0 || !org.LastDelivery.After(org.WindowEnd.Add(-time.Hour)) {
		t.Errorf("org = %+v", org)
	}
	var digests int
	for key := range tree {
		if strings.Contains(key, "CloudTrail-Digest") {
			digests++
		}
	}
	if digests != len(org.Accounts) {
		t.Errorf("digests = %d", digests)
	}

	// IAM: two pages with URL-encoded documents that decode to JSON.
	for _, a := range org.Accounts {
		p1 := tree[filepath.Join("iam", a.ID, "gaad-0001.json")]
		p2 := tree[filepath.Join("iam", a.ID, "gaad-0002.json")]
		if p1 == nil || p2 == nil || tree[filepath.Join("iam", a.ID, "credential-report.csv")] == nil {
			t.Fatalf("account %s lacks IAM files", a.ID)
		}
		var page struct {
			IsTruncated    bool
			RoleDetailList []struct{ AssumeRolePolicyDocument string }
		}
		if err := json.Unmarshal(p2, &page); err != nil || page.IsTruncated || len(page.RoleDetailList) == 0 {
			t.Fatalf("page 2 of %s: %v", a.ID, err)
		}
		doc := page.RoleDetailList[0].AssumeRolePolicyDocument
		if strings.HasPrefix(doc, "{") {
			t.Errorf("trust policy not URL-encoded: %s", doc)
		}
		dec, err := url.PathUnescape(doc)
		if err != nil || !json.Valid([]byte(dec)) {
			t.Errorf("trust policy does not decode to JSON: %v", err)
		}
	}

	var gt GroundTruth
	if err := json.Unmarshal(tree["ground-truth.json"], &gt); err != nil {
		t.Fatal(err)
	}
	if len(gt.Principals) == 0 || len(gt.InactiveIdentities) == 0 {
		t.Fatalf("ground truth: %d principals, %d inactive", len(gt.Principals), len(gt.InactiveIdentities))
	}
	has := func(suffix string, inactive bool) bool {
		if inactive {
			for _, i := range gt.InactiveIdentities {
				if strings.HasSuffix(i.PrincipalARN, suffix) {
					return true
				}
			}
			return false
		}
		for _, p := range gt.Principals {
			if strings.HasSuffix(p.PrincipalARN, suffix) {
				return true
			}
		}
		return false
	}
	for _, s := range []string{"user/erin", "role/legacy-batch", "AWSReservedSSO_ReadOnly_" + ssoSuffixReadOnly} {
		if !has(s, true) {
			t.Errorf("%s should be inactive", s)
		}
	}
	for _, s := range []string{"user/frank", "role/reporting", "user/dave", "role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport"} {
		if has(s, true) {
			t.Errorf("%s should not be inactive", s)
		}
	}
	for _, p := range gt.Principals {
		if strings.HasSuffix(p.PrincipalARN, "user/dave") {
			for _, a := range p.UsedActions {
				if a == "iam:CreateUser" {
					t.Error("dave's only CreateUser calls failed; it must not be used")
				}
			}
		}
	}
	if !has(":root", false) || !has("user/carol", false) {
		t.Error("root and carol (federated) must have used actions")
	}
}

func TestGenerateScales(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark-size generation")
	}
	t.Parallel()
	org, err := Generate(context.Background(), t.TempDir(), Config{Days: 1, EventsPerHour: 800, MemberAccounts: 3})
	if err != nil {
		t.Fatal(err)
	}
	if org.Events < 5*24*800 {
		t.Errorf("events = %d", org.Events)
	}
}
