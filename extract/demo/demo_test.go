package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gunzip(t *testing.T, key string, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return raw
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   Config
		want Config
	}{
		{"zero", Config{}, Config{Seed: 42, End: end, Days: 14, MemberAccounts: 3, EventsPerHour: 25, Regions: []string{"us-east-1", "eu-west-1"}}},
		{"kept and truncated", Config{Seed: 7, End: time.Date(2026, 1, 2, 3, 45, 0, 0, time.FixedZone("x", 3600)), Days: 20, MemberAccounts: 5, EventsPerHour: 2000, Regions: []string{"ap-south-2"}},
			Config{Seed: 7, End: time.Date(2026, 1, 2, 2, 0, 0, 0, time.UTC), Days: 20, MemberAccounts: 5, EventsPerHour: 2000, Regions: []string{"ap-south-2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.WithDefaults()
			if got.Seed != tc.want.Seed || !got.End.Equal(tc.want.End) || got.End.Location() != time.UTC || got.Days != tc.want.Days ||
				got.MemberAccounts != tc.want.MemberAccounts || got.EventsPerHour != tc.want.EventsPerHour || !slices.Equal(got.Regions, tc.want.Regions) {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGenerateRejects(t *testing.T) {
	t.Parallel()
	if _, err := Generate(context.Background(), t.TempDir(), Config{MemberAccounts: 1}); err == nil {
		t.Error("one member account: want an error (cross-account calls need two)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, t.TempDir(), Config{Days: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Days: 2, EventsPerHour: 10}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i, d := range dirs {
		c := cfg
		if i == 2 {
			c.Seed = 43
		}
		if _, err := Generate(context.Background(), d, c); err != nil {
			t.Fatal(err)
		}
	}
	a, b, other := readTree(t, dirs[0]), readTree(t, dirs[1]), readTree(t, dirs[2])
	if len(a) != len(b) || len(a) < 50 {
		t.Fatalf("trees differ in size: %d vs %d files", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Errorf("%s differs between two runs with the same config", k)
		}
	}
	if bytes.Equal(a["ground-truth.json"], other["ground-truth.json"]) {
		t.Error("another seed wrote the same ground truth: the seed is not used")
	}
}

// ctRecord is what the tests read back from the log files.
type ctRecord struct {
	EventVersion string `json:"eventVersion"`
	UserIdentity struct {
		Type           string `json:"type"`
		PrincipalID    string `json:"principalId"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		InvokedBy      string `json:"invokedBy"`
		SessionContext *struct {
			SessionIssuer *struct {
				Type string `json:"type"`
				ARN  string `json:"arn"`
			} `json:"sessionIssuer"`
			Attributes struct {
				CreationDate     string `json:"creationDate"`
				MFAAuthenticated string `json:"mfaAuthenticated"`
			} `json:"attributes"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	EventTime         string          `json:"eventTime"`
	EventSource       string          `json:"eventSource"`
	EventName         string          `json:"eventName"`
	AWSRegion         string          `json:"awsRegion"`
	ErrorCode         string          `json:"errorCode"`
	ErrorMessage      string          `json:"errorMessage"`
	RequestParameters json.RawMessage `json:"requestParameters"`
	RequestID         string          `json:"requestID"`
	EventID           string          `json:"eventID"`
	EventType         string          `json:"eventType"`
	EventCategory     string          `json:"eventCategory"`
	ManagementEvent   *bool           `json:"managementEvent"`
	ReadOnly          *bool           `json:"readOnly"`
	SharedEventID     string          `json:"sharedEventID"`
	Recipient         string          `json:"recipientAccountId"`

	key       string // file it was read from
	delivered time.Time
	at        time.Time
	raw       string
}

// credited attributes a record the way the brief says the pipeline must.
func (r ctRecord) credited() string {
	switch r.UserIdentity.Type {
	case "IAMUser", "Root":
		return r.UserIdentity.ARN
	case "AssumedRole", "FederatedUser":
		return r.UserIdentity.SessionContext.SessionIssuer.ARN
	}
	return ""
}

var (
	logKey    = regexp.MustCompile(`^s3/permlake-demo-org-trail/org/AWSLogs/o-[a-z0-9]{10}/([0-9]{12})/CloudTrail/([a-z0-9-]+)/(\d{4}/\d{2}/\d{2})/([0-9]{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)
	digestKey = regexp.MustCompile(`^s3/permlake-demo-org-trail/(org/AWSLogs/o-[a-z0-9]{10}/([0-9]{12})/CloudTrail-Digest/([a-z0-9-]+)/(\d{4}/\d{2}/\d{2})/([0-9]{12})_CloudTrail-Digest_([a-z0-9-]+)_permlake-org-trail_([a-z0-9-]+)_(\d{8}T\d{6}Z)\.json\.gz)$`)
	guid      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

type generated struct {
	dir     string
	org     *Org
	tree    map[string][]byte
	records []ctRecord
	truth   GroundTruth
	// large: generated with PayloadsLarge, whose calls also launch instances successfully
	large bool
}

var (
	defaultOnce sync.Once
	defaultRun  generated
	defaultErr  error
)

// generateDefault runs the default Generate once for the tests that read it.
func generateDefault(t *testing.T) generated {
	t.Helper()
	defaultOnce.Do(func() {
		dir, err := os.MkdirTemp("", "permlake-demo-")
		if err != nil {
			defaultErr = err
			return
		}
		start := time.Now()
		defaultRun.dir = dir
		defaultRun.org, defaultErr = Generate(context.Background(), dir, Config{})
		t.Logf("default Generate: %v", time.Since(start))
	})
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultRun
}

func TestMain(m *testing.M) {
	code := m.Run()
	if defaultRun.dir != "" {
		os.RemoveAll(defaultRun.dir)
	}
	os.Exit(code)
}

// loadRecords reads every log file, checking its key, and the ground truth.
func loadRecords(t *testing.T, g generated) generated {
	t.Helper()
	g.tree = readTree(t, g.dir)
	for key, body := range g.tree {
		if !strings.Contains(key, "/CloudTrail/") {
			continue
		}
		m := logKey.FindStringSubmatch(key)
		if m == nil {
			t.Fatalf("key %s does not have the organization-trail layout", key)
		}
		delivered, err := time.Parse("20060102T1504Z", m[6])
		if err != nil {
			t.Fatal(err)
		}
		if m[1] != m[4] || m[2] != m[5] || delivered.Format("2006/01/02") != m[3] || delivered.Minute()%5 != 0 {
			t.Errorf("%s: account, region or delivery date of the folder and the file name disagree", key)
		}
		var f struct{ Records []json.RawMessage }
		if err := json.Unmarshal(gunzip(t, key, body), &f); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if len(f.Records) == 0 {
			t.Errorf("%s: no records (no file is written without activity)", key)
		}
		for _, raw := range f.Records {
			var r ctRecord
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			r.key, r.delivered, r.raw = key, delivered, string(raw)
			if r.at, err = time.Parse(time.RFC3339, r.EventTime); err != nil || !strings.HasSuffix(r.EventTime, "Z") {
				t.Fatalf("eventTime %q: %v", r.EventTime, err)
			}
			if r.Recipient != m[1] || r.AWSRegion != m[2] {
				t.Errorf("%s holds a record for %s/%s", key, r.Recipient, r.AWSRegion)
			}
			if r.at.After(delivered) {
				t.Errorf("%s: event %s at %s delivered before it happened", key, r.EventID, r.EventTime)
			}
			g.records = append(g.records, r)
		}
	}
	if err := json.Unmarshal(g.tree["ground-truth.json"], &g.truth); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGenerateDefault(t *testing.T) {
	t.Parallel()
	g := loadRecords(t, generateDefault(t))
	org := g.org

	t.Run("org", func(t *testing.T) {
		var onDisk Org
		if err := json.Unmarshal(g.tree["org.json"], &onDisk); err != nil {
			t.Fatal(err)
		}
		if onDisk.OrganizationID != org.OrganizationID || !regexp.MustCompile(`^o-[a-z0-9]{10}$`).MatchString(org.OrganizationID) {
			t.Errorf("organization id %q / %q", org.OrganizationID, onDisk.OrganizationID)
		}
		kinds := map[string]int{}
		zero := false
		for _, a := range org.Accounts {
			kinds[a.Kind]++
			zero = zero || strings.HasPrefix(a.ID, "0")
		}
		if kinds[KindManagement] != 1 || kinds[KindLogArchive] != 1 || kinds[KindMember] < 3 || !zero {
			t.Errorf("accounts %+v", org.Accounts)
		}
		if org.TrailPrefix == "" || org.Events != len(g.records) || org.Events != g.truth.Stats["events"] || org.Files != g.truth.Stats["files"] {
			t.Errorf("org counts: events %d (read %d, truth %d), files %d (truth %d)", org.Events, len(g.records), g.truth.Stats["events"], org.Files, g.truth.Stats["files"])
		}
		if org.WindowEnd.Sub(org.WindowStart) != 14*24*time.Hour || org.LastDelivery.Before(org.WindowEnd.Add(-10*time.Minute)) {
			t.Errorf("window %s..%s, last delivery %s", org.WindowStart, org.WindowEnd, org.LastDelivery)
		}
		files := 0
		for k, b := range g.tree {
			if strings.Contains(k, "/CloudTrail/") {
				files++
			}
			if len(b) == 0 {
				t.Errorf("%s is empty", k)
			}
		}
		if files != org.Files {
			t.Errorf("%d log files on disk, org says %d", files, org.Files)
		}
	})

	t.Run("records are well formed", func(t *testing.T) {
		for _, r := range g.records {
			if r.EventVersion < "1.08" || !guid.MatchString(r.EventID) || r.EventCategory != "Management" || r.ManagementEvent == nil ||
				!*r.ManagementEvent || r.ReadOnly == nil || r.EventSource == "" || r.EventName == "" {
				t.Fatalf("malformed record: %s", r.raw)
			}
			if r.at.Before(org.WindowStart) || !r.at.Before(org.WindowEnd) {
				t.Fatalf("record outside the window: %s", r.raw)
			}
			if strings.Contains(r.raw, `"eventCategory":"Data"`) || r.EventName == "GetObject" || r.EventName == "PutObject" {
				t.Fatalf("data event in a management-only trail: %s", r.raw)
			}
			ui := r.UserIdentity
			switch ui.Type {
			case "AssumedRole", "FederatedUser":
				if ui.SessionContext == nil || ui.SessionContext.SessionIssuer == nil || ui.SessionContext.Attributes.CreationDate == "" || ui.PrincipalID == "" {
					t.Fatalf("session without issuer or attributes: %s", r.raw)
				}
			case "AWSService":
				if ui.InvokedBy == "" || r.EventType != "AwsServiceEvent" {
					t.Fatalf("service event without invokedBy or AwsServiceEvent: %s", r.raw)
				}
			}
		}
	})

	t.Run("required cases are present", func(t *testing.T) {
		copies := map[string][]ctRecord{}
		shared := map[string][]ctRecord{}
		count := map[string]int{}
		type pa struct{ who, name string }
		failedOnly := map[pa]bool{}
		okCalls := map[pa]bool{}
		for _, r := range g.records {
			copies[r.EventID] = append(copies[r.EventID], r)
			if len(copies[r.EventID]) > 1 {
				count["late"] += lateness(r)
				continue // a re-delivery: counted once below
			}
			if r.SharedEventID != "" {
				shared[r.SharedEventID] = append(shared[r.SharedEventID], r)
			}
			count["type "+r.UserIdentity.Type]++
			if lateness(r) == 1 {
				count["late"]++
				if r.delivered.Format("2006/01/02") != r.at.Format("2006/01/02") {
					count["late across midnight"]++
				}
			}
			if r.ErrorCode != "" {
				count["failed"]++
				if r.ErrorMessage == "" {
					t.Errorf("failed call without errorMessage: %s", r.raw)
				}
				failedOnly[pa{r.credited(), r.EventName}] = true
			} else {
				okCalls[pa{r.credited(), r.EventName}] = true
			}
			if strings.HasPrefix(r.Recipient, "0") {
				count["0-leading account"]++
			}
			if r.UserIdentity.AccountID != "" && r.UserIdentity.AccountID != r.Recipient {
				count["cross-account "+r.EventName]++
				if r.EventName == "Decrypt" && r.UserIdentity.Type == "AssumedRole" {
					count["cross-account role call"]++
				}
			}
			for _, name := range []string{"ListFunctions20150331", "GetFunction20150331v2", "ConsoleLogin", "GetCallerIdentity", "ListBuckets",
				"GetBucketAcl", "GetBucketPolicy", "DescribeInstances", "ListRoles", "Decrypt", "DescribeTable", "UpdateFunctionCode20150331v2",
				"GetFederationToken"} {
				if r.EventName == name {
					count[name]++
				}
			}
			if r.EventSource == "monitoring.amazonaws.com" {
				count["monitoring "+r.EventName]++
			}
			if r.EventName == "ConsoleLogin" && (r.EventType != "AwsConsoleSignIn" || r.EventSource != "signin.amazonaws.com") {
				t.Errorf("ConsoleLogin shape: %s", r.raw)
			}
			if r.UserIdentity.Type == "AssumedRole" && strings.Contains(r.UserIdentity.SessionContext.SessionIssuer.ARN, "AWSReservedSSO_") &&
				strings.HasSuffix(r.UserIdentity.ARN, "@example.com") {
				count["SSO session named by e-mail"]++
			}
		}
		dupInTwoFiles := 0
		for id, cs := range copies {
			if len(cs) > 1 {
				if cs[0].key == cs[1].key || cs[0].raw != cs[1].raw {
					t.Errorf("event %s: copies in the same file or with different content", id)
				}
				dupInTwoFiles++
			}
		}
		pairs := 0
		for id, cs := range shared {
			if len(cs) == 2 && cs[0].Recipient != cs[1].Recipient && cs[0].EventID != cs[1].EventID &&
				cs[0].UserIdentity.AccountID == cs[1].UserIdentity.AccountID {
				pairs++
			} else {
				t.Errorf("sharedEventID %s: %d records, want one per account with distinct eventIDs", id, len(cs))
			}
		}
		onlyFailed := 0
		for k := range failedOnly {
			if !okCalls[k] {
				onlyFailed++
			}
		}
		count["duplicate in two files"], count["shared-event pairs"], count["principal whose only call failed"] = dupInTwoFiles, pairs, onlyFailed
		for _, want := range []string{"type IAMUser", "type AssumedRole", "type Root", "type AWSService", "type FederatedUser", "late",
			"late across midnight", "failed", "0-leading account", "cross-account AssumeRole", "cross-account role call", "ListFunctions20150331",
			"GetFunction20150331v2", "ConsoleLogin", "GetCallerIdentity", "ListBuckets", "GetBucketAcl", "GetBucketPolicy", "DescribeInstances",
			"ListRoles", "Decrypt", "DescribeTable", "UpdateFunctionCode20150331v2", "GetFederationToken", "monitoring PutMetricData",
			"monitoring GetMetricData", "monitoring DescribeAlarms", "SSO session named by e-mail", "duplicate in two files", "shared-event pairs",
			"principal whose only call failed"} {
			if count[want] == 0 {
				t.Errorf("no %s", want)
			}
		}
		st := g.truth.Stats
		if st["duplicate_deliveries"] != dupInTwoFiles || st["late_events"] != count["late"] || st["failed_calls"] != count["failed"] ||
			st["service_events"] != count["type AWSService"] {
			t.Errorf("stats %v disagree with the files: duplicates %d, late %d, failed %d, service %d", st, dupInTwoFiles, count["late"], count["failed"], count["type AWSService"])
		}
	})

	t.Run("digests", func(t *testing.T) {
		per := map[string]int{}
		for key, body := range g.tree {
			if !strings.Contains(key, "CloudTrail-Digest") {
				continue
			}
			m := digestKey.FindStringSubmatch(key)
			if m == nil {
				t.Fatalf("digest key %s", key)
			}
			per[m[2]]++
			var d struct {
				AWSAccountID, DigestS3Object string
				LogFiles                     []struct{ S3Object, HashValue, HashAlgorithm string }
			}
			if err := json.Unmarshal(gunzip(t, key, body), &d); err != nil {
				t.Fatal(err)
			}
			if d.AWSAccountID != m[2] || d.DigestS3Object != m[1] {
				t.Errorf("%s names %s / %s", key, d.AWSAccountID, d.DigestS3Object)
			}
			for _, f := range d.LogFiles {
				if len(f.HashValue) != 64 || f.HashAlgorithm != "SHA-256" || g.tree["s3/permlake-demo-org-trail/"+f.S3Object] == nil {
					t.Errorf("%s lists %+v", key, f)
				}
			}
		}
		for _, a := range org.Accounts {
			if per[a.ID] == 0 {
				t.Errorf("account %s has no digest", a.ID)
			}
		}
	})

	t.Run("GAAD pages", func(t *testing.T) {
		for _, a := range org.Accounts {
			checkGAAD(t, g.tree, a.ID)
		}
	})

	t.Run("credential reports", func(t *testing.T) {
		for _, a := range org.Accounts {
			rows, err := csv.NewReader(bytes.NewReader(g.tree["iam/"+a.ID+"/credential-report.csv"])).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows[0], ",") != credentialReportHeader || len(rows[0]) != 22 {
				t.Fatalf("header %v", rows[0])
			}
			if rows[1][0] != "<root_account>" || rows[1][1] != rootARN(a.ID) || rows[1][3] != "not_supported" {
				t.Errorf("root row %v", rows[1])
			}
			for _, row := range rows[1:] {
				if len(row) != 22 {
					t.Fatalf("row %v", row)
				}
				for _, i := range []int{2, 4, 5, 9, 10, 15} {
					if v := row[i]; v != "N/A" && v != "no_information" && v != "not_supported" {
						if _, err := time.Parse(time.RFC3339, v); err != nil {
							t.Errorf("%s column %s = %q", row[0], rows[0][i], v)
						}
					}
				}
			}
		}
	})

	t.Run("ground truth matches the files", func(t *testing.T) {
		checkTruth(t, g)
	})
}

// lateness is 1 when r's file was delivered 2 hours or more after the start of its event hour.
func lateness(r ctRecord) int {
	if r.delivered.Sub(r.at.Truncate(time.Hour)) >= 2*time.Hour {
		return 1
	}
	return 0
}

// checkGAAD reads one account's pages: paging fields, every document URL-encoded JSON, managed
// policies with a default and an older version, every attached policy described.
func checkGAAD(t *testing.T, tree map[string][]byte, acct string) {
	t.Helper()
	type policy struct{ PolicyName, PolicyDocument string }
	type attached struct{ PolicyArn string }
	var users, groups, roles, policies int
	attachedARNs, described := map[string]bool{}, map[string]bool{}
	var docs []string
	for i := 1; ; i++ {
		b := tree[filepath.ToSlash(filepath.Join("iam", acct, "gaad-000"+string(rune('0'+i))+".json"))]
		if b == nil {
			if i < 3 {
				t.Fatalf("%s: %d GAAD pages, want at least 2", acct, i-1)
			}
			break
		}
		var p struct {
			UserDetailList []struct {
				Arn, CreateDate         string
				UserPolicyList          []policy
				AttachedManagedPolicies []attached
			}
			GroupDetailList []struct {
				GroupPolicyList         []policy
				AttachedManagedPolicies []attached
			}
			RoleDetailList []struct {
				Path, RoleName, AssumeRolePolicyDocument string
				RolePolicyList                           []policy
				AttachedManagedPolicies                  []attached
				PermissionsBoundary                      *struct{ PermissionsBoundaryArn string }
			}
			Policies []struct {
				Arn, DefaultVersionId string
				PolicyVersionList     []struct {
					Document, VersionId, CreateDate string
					IsDefaultVersion                bool
				}
			}
			IsTruncated *bool
			Marker      string
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.IsTruncated == nil || *p.IsTruncated != (tree[filepath.ToSlash(filepath.Join("iam", acct, "gaad-000"+string(rune('0'+i+1))+".json"))] != nil) ||
			*p.IsTruncated != (p.Marker != "") {
			t.Errorf("%s page %d: IsTruncated/Marker inconsistent", acct, i)
		}
		for _, u := range p.UserDetailList {
			users++
			if _, err := time.Parse(time.RFC3339, u.CreateDate); err != nil {
				t.Errorf("CreateDate %q", u.CreateDate)
			}
			for _, x := range u.UserPolicyList {
				docs = append(docs, x.PolicyDocument)
			}
			for _, x := range u.AttachedManagedPolicies {
				attachedARNs[x.PolicyArn] = true
			}
		}
		for _, g := range p.GroupDetailList {
			groups++
			for _, x := range g.GroupPolicyList {
				docs = append(docs, x.PolicyDocument)
			}
			for _, x := range g.AttachedManagedPolicies {
				attachedARNs[x.PolicyArn] = true
			}
		}
		for _, r := range p.RoleDetailList {
			roles++
			docs = append(docs, r.AssumeRolePolicyDocument)
			for _, x := range r.RolePolicyList {
				docs = append(docs, x.PolicyDocument)
			}
			for _, x := range r.AttachedManagedPolicies {
				attachedARNs[x.PolicyArn] = true
			}
			if r.PermissionsBoundary != nil {
				attachedARNs[r.PermissionsBoundary.PermissionsBoundaryArn] = true
			}
		}
		for _, mp := range p.Policies {
			policies++
			described[mp.Arn] = true
			defaults, older := 0, 0
			for _, v := range mp.PolicyVersionList {
				docs = append(docs, v.Document)
				if v.IsDefaultVersion {
					defaults++
					if v.VersionId != mp.DefaultVersionId {
						t.Errorf("%s: default version %s, DefaultVersionId %s", mp.Arn, v.VersionId, mp.DefaultVersionId)
					}
				} else {
					older++
				}
			}
			if defaults != 1 || older == 0 {
				t.Errorf("%s: %d default and %d other versions", mp.Arn, defaults, older)
			}
		}
	}
	if users == 0 || groups == 0 || roles == 0 || policies == 0 {
		t.Errorf("%s: %d users, %d groups, %d roles, %d policies", acct, users, groups, roles, policies)
	}
	aws := 0
	for arn := range attachedARNs {
		if !described[arn] {
			t.Errorf("%s: attached %s is not in Policies", acct, arn)
		}
		if strings.HasPrefix(arn, "arn:aws:iam::aws:policy/") {
			aws++
		}
	}
	if aws == 0 {
		t.Errorf("%s: no AWS managed policy", acct)
	}
	for _, d := range docs {
		if strings.ContainsAny(d, `{}" +`) {
			t.Fatalf("%s: document not URL-encoded: %.80s", acct, d)
		}
		dec, err := url.PathUnescape(d)
		if err != nil || !json.Valid([]byte(dec)) || !strings.Contains(dec, `"Version"`) {
			t.Fatalf("%s: document does not decode to a policy (%v): %.120s", acct, err, dec)
		}
	}
}

// checkTruth re-derives what it can of the ground truth from the files: calls per credited
// principal, that inactive identities have no evidence, and that the credential report and
// RoleLastUsed agree with the CloudTrail records.
func checkTruth(t *testing.T, g generated) {
	t.Helper()
	gt := g.truth
	if !gt.WindowStart.Equal(g.org.WindowStart) || !gt.WindowEnd.Equal(g.org.WindowEnd) || gt.LookbackDays != 90 {
		t.Errorf("truth window %s..%s lookback %d", gt.WindowStart, gt.WindowEnd, gt.LookbackDays)
	}
	seen := map[string]bool{}
	calls := map[string]int{}
	last := map[string]time.Time{}
	keyLast := map[string]time.Time{}
	for _, r := range g.records {
		k := r.EventID + "/" + r.Recipient
		if seen[k] {
			continue
		}
		seen[k] = true
		p := r.credited()
		if p == "" {
			continue
		}
		calls[p]++
		if r.at.After(last[p]) {
			last[p] = r.at
		}
		if r.UserIdentity.Type == "IAMUser" && r.EventName != "ConsoleLogin" && r.at.After(keyLast[p]) {
			keyLast[p] = r.at
		}
	}
	if len(gt.Principals) < 10 || len(gt.InactiveIdentities) < 5 {
		t.Fatalf("%d principals, %d inactive", len(gt.Principals), len(gt.InactiveIdentities))
	}
	types := map[string]bool{}
	for i, p := range gt.Principals {
		types[p.PrincipalType] = true
		if i > 0 && gt.Principals[i-1].PrincipalARN >= p.PrincipalARN {
			t.Errorf("principals not sorted at %s", p.PrincipalARN)
		}
		if len(p.UsedActions) == 0 || !slices.IsSorted(p.UsedActions) || p.Calls != calls[p.PrincipalARN] {
			t.Errorf("%s: actions %v, calls %d (files: %d)", p.PrincipalARN, p.UsedActions, p.Calls, calls[p.PrincipalARN])
		}
		if !strings.Contains(p.PrincipalARN, ":"+p.AccountID+":") {
			t.Errorf("%s credited to account %s", p.PrincipalARN, p.AccountID)
		}
		for _, a := range p.UsedActions {
			if a == "sts:GetCallerIdentity" || strings.HasPrefix(a, "signin:") || a == "iam:CreateUser" || (a == "ec2:RunInstances" && !g.large) {
				t.Errorf("%s: %s must not be used (no permission needed, or only failed)", p.PrincipalARN, a)
			}
		}
	}
	for _, ty := range []string{typeUser, typeRole, typeRoot} {
		if !types[ty] {
			t.Errorf("no %s principal", ty)
		}
	}
	since := gt.WindowEnd.AddDate(0, 0, -90)
	inactive := map[string]bool{}
	for _, id := range gt.InactiveIdentities {
		inactive[id.PrincipalARN] = true
		if calls[id.PrincipalARN] > 0 {
			t.Errorf("inactive %s has CloudTrail calls", id.PrincipalARN)
		}
	}
	recent := func(v string) bool {
		tm, err := time.Parse(time.RFC3339, v)
		return err == nil && !tm.Before(since)
	}
	activeOnlyByReport, activeOnlyByRoleLastUsed := 0, 0
	for _, a := range g.org.Accounts {
		rows, _ := csv.NewReader(bytes.NewReader(g.tree["iam/"+a.ID+"/credential-report.csv"])).ReadAll()
		for _, row := range rows[2:] {
			arn := row[1]
			evidence := recent(row[4]) || recent(row[10]) || recent(row[15]) || calls[arn] > 0
			if evidence == inactive[arn] {
				t.Errorf("user %s: evidence %v, inactive %v", arn, evidence, inactive[arn])
			}
			if calls[arn] == 0 && evidence {
				activeOnlyByReport++
			}
			if k := keyLast[arn]; !k.IsZero() && row[10] != k.Format("2006-01-02T15:04:05+00:00") {
				t.Errorf("user %s: access_key_1_last_used_date %s, last key call %s", arn, row[10], k)
			}
		}
		for i := 1; ; i++ {
			b := g.tree["iam/"+a.ID+"/gaad-000"+string(rune('0'+i))+".json"]
			if b == nil {
				break
			}
			var p struct {
				RoleDetailList []struct {
					Arn, Path    string
					RoleLastUsed struct{ LastUsedDate string }
				}
			}
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			for _, r := range p.RoleDetailList {
				if strings.HasPrefix(r.Path, "/aws-service-role/") {
					if inactive[r.Arn] {
						t.Errorf("service-linked %s listed inactive", r.Arn)
					}
					continue
				}
				if l := last[r.Arn]; !l.IsZero() && r.RoleLastUsed.LastUsedDate != ts(l) {
					t.Errorf("role %s: RoleLastUsed %q, last call %s", r.Arn, r.RoleLastUsed.LastUsedDate, l)
				}
				evidence := calls[r.Arn] > 0 || recent(r.RoleLastUsed.LastUsedDate)
				if evidence == inactive[r.Arn] {
					t.Errorf("role %s: evidence %v, inactive %v", r.Arn, evidence, inactive[r.Arn])
				}
				if calls[r.Arn] == 0 && evidence {
					activeOnlyByRoleLastUsed++
				}
			}
		}
	}
	if activeOnlyByReport == 0 || activeOnlyByRoleLastUsed == 0 {
		t.Errorf("active only through the credential report: %d users; only through RoleLastUsed: %d roles", activeOnlyByReport, activeOnlyByRoleLastUsed)
	}
}

func TestGenerateScales(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark-size generation")
	}
	t.Parallel()
	start := time.Now()
	org, err := Generate(context.Background(), t.TempDir(), Config{Days: 1, EventsPerHour: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if org.Events < len(org.Accounts)*24*2000*9/10 {
		t.Errorf("events = %d", org.Events)
	}
	t.Logf("%d events in %d files in %v", org.Events, org.Files, time.Since(start))
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(context.Background(), b.TempDir(), Config{Days: 1, EventsPerHour: 2000}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOrganizationSnapshot: the OU tree and SCPs cover every account, root first, and the SCPs
// never deny an action the ground truth says was used in that account.
func TestOrganizationSnapshot(t *testing.T) {
	t.Parallel()
	// Only the organization export and the ground truth: TestGenerateDefault checks the records.
	g := generateDefault(t)
	tree := map[string][]byte{}
	for _, key := range []string{"organization/organization.json", "ground-truth.json"} {
		if b, err := os.ReadFile(filepath.Join(g.dir, filepath.FromSlash(key))); err == nil {
			tree[key] = b
		}
	}
	decodeJSON(t, tree, "ground-truth.json", &g.truth)
	var snap orgSnapshot
	decodeJSON(t, tree, "organization/organization.json", &snap)
	if snap.ManagementAccountID != g.org.ManagementAccountID || snap.OrganizationID != g.org.OrganizationID || len(snap.Accounts) != len(g.org.Accounts) {
		t.Fatalf("snapshot %s %s with %d accounts", snap.OrganizationID, snap.ManagementAccountID, len(snap.Accounts))
	}
	sandbox := 0
	for _, a := range snap.Accounts {
		if len(a.ParentIDs) == 0 || a.ParentIDs[0] != demoRootID || !strings.HasPrefix(a.OUPath, "/Root") {
			t.Errorf("account %s: parents %v, path %s", a.ID, a.ParentIDs, a.OUPath)
		}
		if a.OUPath == "/Root/Sandbox" {
			sandbox++
		}
	}
	if sandbox == 0 {
		t.Error("no sandbox account: the sandbox SCP would narrow nothing")
	}
	if len(snap.Policies) != 3 || len(snap.Policies[0].Targets) != 5+len(g.org.Accounts) {
		t.Errorf("policies = %+v", snap.Policies)
	}
	denied := map[AccountAction]bool{}
	for _, d := range g.truth.SCPDenied {
		denied[d] = true
		if d.AccountID == g.org.ManagementAccountID {
			t.Errorf("SCPs never restrict the management account: %v", d)
		}
	}
	if len(denied) < 4*(len(g.org.Accounts)-1)+3*sandbox {
		t.Errorf("SCPDenied has %d pairs", len(denied))
	}
	for _, p := range g.truth.Principals {
		for _, a := range p.UsedActions {
			if denied[AccountAction{p.AccountID, a}] {
				t.Errorf("%s used %s, which an SCP denies in %s", p.PrincipalARN, a, p.AccountID)
			}
		}
	}
}

// TestLargeOrganizationAccountIDs: benchmark-scale organizations (up to 999 members) get distinct
// valid 12-digit account IDs, and the first 100 keep theirs.
func TestLargeOrganizationAccountIDs(t *testing.T) {
	t.Parallel()
	accts := accounts(999)
	seen := map[string]bool{}
	for _, a := range accts {
		if len(a.ID) != 12 || strings.Trim(a.ID, "0123456789") != "" || seen[a.ID] {
			t.Fatalf("account %s (%s): not a distinct 12-digit ID", a.ID, a.Name)
		}
		seen[a.ID] = true
	}
	if len(accts) != 1001 || accts[2+99].ID != "599987654321" || accts[2+100].ID != "610087654321" {
		t.Errorf("%d accounts; member 100 = %s, member 101 = %s", len(accts), accts[2+99].ID, accts[2+100].ID)
	}
	if err := (Config{MemberAccounts: 1000}).WithDefaults().validate(); err == nil {
		t.Error("1000 members accepted")
	}
}
