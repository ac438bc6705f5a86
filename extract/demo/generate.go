package demo

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	json "github.com/goccy/go-json"
	"github.com/klauspost/compress/gzip"
)

type sessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type sessionContext struct {
	SessionIssuer  *sessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes     map[string]string `json:"attributes"`
	SourceIdentity string            `json:"sourceIdentity,omitempty"`
}

type userIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
	SessionContext *sessionContext `json:"sessionContext,omitempty"`
}

type record struct {
	EventVersion       string         `json:"eventVersion"`
	UserIdentity       userIdentity   `json:"userIdentity"`
	EventTime          string         `json:"eventTime"`
	EventSource        string         `json:"eventSource"`
	EventName          string         `json:"eventName"`
	AWSRegion          string         `json:"awsRegion"`
	SourceIPAddress    string         `json:"sourceIPAddress"`
	UserAgent          string         `json:"userAgent"`
	ErrorCode          string         `json:"errorCode,omitempty"`
	ErrorMessage       string         `json:"errorMessage,omitempty"`
	RequestParameters  map[string]any `json:"requestParameters"`
	ResponseElements   map[string]any `json:"responseElements"`
	RequestID          string         `json:"requestID"`
	EventID            string         `json:"eventID"`
	ReadOnly           bool           `json:"readOnly"`
	EventType          string         `json:"eventType"`
	ManagementEvent    bool           `json:"managementEvent"`
	RecipientAccountID string         `json:"recipientAccountId"`
	SharedEventID      string         `json:"sharedEventID,omitempty"`
	EventCategory      string         `json:"eventCategory"`
}

type slotKey struct {
	acct, region string
	slot         time.Time
}

// Principal is one credited principal of the ground truth.
type Principal struct {
	PrincipalARN  string   `json:"principal_arn"`
	AccountID     string   `json:"account_id"`
	PrincipalType string   `json:"principal_type"`
	UsedActions   []string `json:"used_actions"`
	Calls         int      `json:"calls"`
}

// Identity names a user or role of the ground truth.
type Identity struct {
	PrincipalARN  string `json:"principal_arn"`
	AccountID     string `json:"account_id"`
	PrincipalType string `json:"principal_type"`
}

// GroundTruth is what the generator meant: the end-to-end test's expected marts.
type GroundTruth struct {
	WindowStart        time.Time      `json:"window_start"`
	WindowEnd          time.Time      `json:"window_end"`
	LookbackDays       int            `json:"lookback_days"`
	Principals         []Principal    `json:"principals"`
	InactiveIdentities []Identity     `json:"inactive_identities"`
	Stats              map[string]int `json:"stats"`
}

type generator struct {
	cfg      Config
	rng      *rand.Rand
	dir      string
	org      *Org
	iams     []accountIAM
	pending  map[slotKey][]record
	used     map[string]map[string]bool
	acctOf   map[string]string
	typeOf   map[string]string
	calls    map[string]int
	lastCT   map[string]time.Time
	password map[string]time.Time
	keys     map[string]time.Time
	roleLast map[string]lastUse
	console  map[string]bool
	stats    map[string]int
}

var (
	sourceIPs  = []string{"203.0.113.10", "198.51.100.24", "192.0.2.77"}
	userAgents = []string{"aws-cli/2.15.30 Python/3.11.8 Linux/6.1", "Boto3/1.34.50 Python/3.12.2", "terraform-provider-aws/5.40.0", "aws-sdk-go-v2/1.30.0"}
)

// Generate writes the organization under dir and returns its description. The same Config writes
// byte-identical files.
func Generate(ctx context.Context, dir string, cfg Config) (*Org, error) {
	cfg = cfg.WithDefaults()
	g := &generator{
		cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)), dir: dir,
		pending: map[slotKey][]record{}, used: map[string]map[string]bool{}, acctOf: map[string]string{}, typeOf: map[string]string{},
		calls: map[string]int{}, lastCT: map[string]time.Time{}, password: map[string]time.Time{}, keys: map[string]time.Time{},
		roleLast: map[string]lastUse{}, console: map[string]bool{}, stats: map[string]int{},
	}
	accts := accounts(cfg.MemberAccounts)
	g.org = &Org{OrganizationID: "o-pl7demo4x2", ManagementAccountID: accts[0].ID, LogArchiveAccountID: accts[1].ID,
		TrailBucket: "permlake-demo-org-trail", TrailPrefix: "org", Accounts: accts, Regions: cfg.Regions,
		WindowStart: cfg.End.Add(-time.Duration(cfg.Days) * 24 * time.Hour), WindowEnd: cfg.End}
	for _, a := range accts {
		g.iams = append(g.iams, buildIAM(a, accts[0].ID))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for h := g.org.WindowStart; h.Before(cfg.End); h = h.Add(time.Hour) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		g.hour(h)
		if err := g.flush(h.Add(time.Hour)); err != nil {
			return nil, err
		}
	}
	if err := g.flush(time.Time{}); err != nil {
		return nil, err
	}
	if err := g.writeIAM(); err != nil {
		return nil, err
	}
	if err := g.writeTruth(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(g.org, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "org.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return g.org, nil
}

// hour generates every call of one hour in every account: background calls drawn from the
// accounts' profiles, and the scheduled cases the demo must show.
func (g *generator) hour(h time.Time) {
	day := int(h.Sub(g.org.WindowStart) / (24 * time.Hour))
	members := g.iams[2:]
	for _, iam := range g.iams {
		ps := profiles(iam)
		for range g.cfg.EventsPerHour {
			p := pick(g.rng, ps)
			k := p.calls[g.rng.IntN(len(p.calls))]
			g.call(iam.acct.ID, p.who, k, randomTime(g.rng, h), "")
		}
		a := iam.acct.ID
		switch h.Hour() {
		case 9: // console sign-in of bob, the admin
			g.call(a, userActor(a, findUser(iam, "bob")), callConsoleLogin, h.Add(7*time.Minute), "")
		case 14: // carol federates and works through the federated session
			if iam.acct.Kind == "member" {
				carol := userActor(a, findUser(iam, "carol"))
				g.call(a, carol, callGetFederationToken, h.Add(2*time.Minute), "")
				fed := carol
				fed.kind, fed.session = "FederatedUser", "carol-fed"
				g.call(a, fed, callListBuckets, h.Add(4*time.Minute), "")
				g.call(a, fed, callDescribeRegions, h.Add(5*time.Minute), "")
			}
		}
		if iam.acct.Kind == "member" && h.Hour()%3 == 0 { // EC2 launching an instance profile: a service's call
			svc := actor{kind: "AWSService", service: "ec2.amazonaws.com"}
			g.call(a, svc, callAssumeRole, h.Add(11*time.Minute), "")
			g.stats["service_events"]++
		}
	}
	mgmt := g.iams[0]
	if h.Hour() == 10 && day%3 == 1 { // the root user signs in and looks around
		root := actor{kind: "Root", acct: mgmt.acct.ID, arn: rootARN(mgmt.acct.ID), credited: rootARN(mgmt.acct.ID), ptype: "root"}
		g.call(mgmt.acct.ID, root, callConsoleLogin, h.Add(3*time.Minute), "")
		g.call(mgmt.acct.ID, root, callGetAccountSummary, h.Add(5*time.Minute), "")
		g.call(mgmt.acct.ID, root, callListBuckets, h.Add(6*time.Minute), "")
	}
	if len(members) >= 2 && h.Hour() == 11 { // alice (member A) assumes a role in member B and works there
		a, b := members[0], members[1]
		alice := userActor(a.acct.ID, findUser(a, "alice"))
		target := findRole(b, "cross-account-deploy")
		g.crossAccountAssume(alice, a.acct.ID, b.acct.ID, target.arn(b.acct.ID), h.Add(20*time.Minute))
		sess := roleActor(b.acct.ID, target, "alice")
		g.call(b.acct.ID, sess, callDescribeInstances, h.Add(22*time.Minute), "")
		g.call(b.acct.ID, sess, callGetBucketPolicy, h.Add(23*time.Minute), "")
	}
	if len(members) >= 2 && h.Hour() == 12 { // member A's CI role decrypts with member B's key: B's trail records it
		a, b := members[0], members[1]
		ci := roleActor(a.acct.ID, findRole(a, "ci-deploy"), "build-4711")
		g.call(b.acct.ID, ci, callDecrypt, h.Add(30*time.Minute), "")
		g.stats["cross_account_calls"]++
	}
}

// crossAccountAssume records an AssumeRole of a role in another account: CloudTrail delivers one
// copy to each account, with their own eventIDs and one sharedEventID.
func (g *generator) crossAccountAssume(who actor, from, to, roleARN string, at time.Time) {
	shared := uuid(g.rng)
	g.stats["cross_account_calls"]++
	for i, acct := range []string{from, to} {
		r := g.record(acct, who, callAssumeRole, at)
		r.SharedEventID = shared
		r.RequestParameters = map[string]any{"roleArn": roleARN, "roleSessionName": who.name, "externalId": "permlake-demo"}
		g.deliver(acct, r, at, 3*time.Minute+time.Duration(i)*time.Minute)
	}
	g.credit(who, callAssumeRole, at, true)
}

// call records one call made by who, into the trail folder of acct, and credits it.
func (g *generator) call(acct string, who actor, k call, at time.Time, _ string) {
	r := g.record(acct, who, k, at)
	delay := time.Duration(60+g.rng.IntN(600)) * time.Second
	switch n := g.rng.IntN(1000); {
	case n < 8: // a few hours late: the file lands in a later hour folder
		delay = time.Duration(2*3600+g.rng.IntN(3*3600)) * time.Second
		g.stats["late_events"]++
	case n < 13: // delivered twice, the second copy in a later file
		g.stats["duplicate_deliveries"]++
		g.deliver(acct, r, at, delay+time.Duration(5+g.rng.IntN(50))*time.Minute)
	}
	if at.Hour() == 23 && at.Minute() >= 50 && g.stats["midnight_late"] == 0 { // one late file crosses midnight
		delay = 3 * time.Hour
		g.stats["midnight_late"]++
		g.stats["late_events"]++
	}
	g.deliver(acct, r, at, delay)
	g.credit(who, k, at, false)
}

func (g *generator) record(recipient string, who actor, k call, at time.Time) record {
	region := g.cfg.Regions[g.rng.IntN(len(g.cfg.Regions))]
	if k.global {
		region = "us-east-1"
	}
	r := record{EventVersion: "1.09", EventTime: at.UTC().Format("2006-01-02T15:04:05Z"), EventSource: k.source, EventName: k.name,
		AWSRegion: region, SourceIPAddress: sourceIPs[g.rng.IntN(len(sourceIPs))], UserAgent: userAgents[g.rng.IntN(len(userAgents))],
		RequestParameters: map[string]any{}, RequestID: uuid(g.rng), EventID: uuid(g.rng), ReadOnly: k.readOnly,
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: recipient, EventCategory: "Management"}
	if k.errorCode != "" {
		r.ErrorCode = k.errorCode
		r.ErrorMessage = "User: " + who.arn + " is not authorized to perform: " + k.actions[0]
		g.stats["failed_calls"]++
	}
	switch who.kind {
	case "IAMUser":
		r.UserIdentity = userIdentity{Type: "IAMUser", PrincipalID: stableID("AIDA", who.acct+who.name), ARN: who.arn, AccountID: who.acct,
			AccessKeyID: who.accessKey, UserName: who.name}
	case "Root":
		r.UserIdentity = userIdentity{Type: "Root", PrincipalID: who.acct, ARN: who.arn, AccountID: who.acct,
			SessionContext: &sessionContext{Attributes: map[string]string{"creationDate": r.EventTime, "mfaAuthenticated": "true"}}}
	case "AssumedRole":
		roleID := stableID("AROA", who.acct+who.name)
		r.UserIdentity = userIdentity{Type: "AssumedRole", PrincipalID: roleID + ":" + who.session,
			ARN: "arn:aws:sts::" + who.acct + ":assumed-role/" + who.name + "/" + who.session, AccountID: who.acct, AccessKeyID: who.accessKey,
			SessionContext: &sessionContext{SessionIssuer: &sessionIssuer{Type: "Role", PrincipalID: roleID, ARN: who.arn, AccountID: who.acct, UserName: who.name},
				Attributes: map[string]string{"creationDate": at.Add(-10 * time.Minute).UTC().Format("2006-01-02T15:04:05Z"), "mfaAuthenticated": "false"}}}
	case "FederatedUser":
		r.UserIdentity = userIdentity{Type: "FederatedUser", PrincipalID: who.acct + ":" + who.session,
			ARN: "arn:aws:sts::" + who.acct + ":federated-user/" + who.session, AccountID: who.acct, AccessKeyID: "ASIA" + stableID("", who.session)[:16],
			SessionContext: &sessionContext{SessionIssuer: &sessionIssuer{Type: "IAMUser", PrincipalID: stableID("AIDA", who.acct+who.name), ARN: who.arn, AccountID: who.acct, UserName: who.name},
				Attributes: map[string]string{"creationDate": at.Add(-2 * time.Minute).UTC().Format("2006-01-02T15:04:05Z"), "mfaAuthenticated": "false"}}}
	case "AWSService":
		r.UserIdentity = userIdentity{Type: "AWSService", InvokedBy: who.service}
		r.SourceIPAddress, r.UserAgent = who.service, who.service
		r.EventType = "AwsServiceEvent"
	}
	if k.source == "signin.amazonaws.com" {
		r.EventType = "AwsConsoleSignIn"
		r.ResponseElements = map[string]any{"ConsoleLogin": "Success"}
	}
	return r
}

// credit updates the ground truth from the generator's intent.
func (g *generator) credit(who actor, k call, at time.Time, crossCopy bool) {
	if who.credited == "" {
		return
	}
	p := who.credited
	if who.kind == "FederatedUser" {
		p = who.arn // the IAM user who federated
	}
	g.acctOf[p], g.typeOf[p] = who.acct, who.ptype
	g.calls[p]++
	if at.After(g.lastCT[p]) {
		g.lastCT[p] = at
	}
	if k.errorCode == "" && k.actions != nil {
		if g.used[p] == nil {
			g.used[p] = map[string]bool{}
		}
		for _, a := range k.actions {
			g.used[p][a] = true
		}
	}
	switch {
	case who.kind == "IAMUser" && k.source == "signin.amazonaws.com", who.kind == "Root" && k.source == "signin.amazonaws.com":
		g.password[p] = maxTime(g.password[p], at)
		g.console[p] = true
	case who.kind == "IAMUser":
		g.keys[p] = maxTime(g.keys[p], at)
	case who.kind == "AssumedRole":
		if lu := g.roleLast[p]; at.After(lu.at) {
			g.roleLast[p] = lastUse{at: at, region: "us-east-1"}
		}
	}
	_ = crossCopy
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// deliver puts r into the log file of its delivery slot (5-minute files, as CloudTrail publishes).
func (g *generator) deliver(acct string, r record, at time.Time, delay time.Duration) {
	slot := at.Add(delay).Truncate(5 * time.Minute)
	k := slotKey{acct: acct, region: r.AWSRegion, slot: slot}
	g.pending[k] = append(g.pending[k], r)
	g.org.Events++
	if slot.After(g.org.LastDelivery) {
		g.org.LastDelivery = slot
	}
}

// flush writes every pending file delivered before until (all when until is zero): no later
// call can land in them, since delivery never precedes the call.
func (g *generator) flush(until time.Time) error {
	var keys []slotKey
	for k := range g.pending {
		if until.IsZero() || k.slot.Before(until) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if !a.slot.Equal(b.slot) {
			return a.slot.Before(b.slot)
		}
		if a.acct != b.acct {
			return a.acct < b.acct
		}
		return a.region < b.region
	})
	for _, k := range keys {
		recs := g.pending[k]
		delete(g.pending, k)
		g.rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		if err := g.writeLogFile(k, recs); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) trailDir(acct, kind string) string {
	return filepath.Join(g.dir, "s3", g.org.TrailBucket, g.org.TrailPrefix, "AWSLogs", g.org.OrganizationID, acct, kind)
}

func (g *generator) writeLogFile(k slotKey, recs []record) error {
	var unique [16]byte
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := range unique {
		unique[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", k.acct, k.region, k.slot.Format("20060102T1504Z"), unique[:])
	dir := filepath.Join(g.trailDir(k.acct, "CloudTrail"), k.region, k.slot.Format("2006/01/02"))
	body, err := json.Marshal(map[string][]record{"Records": recs})
	if err != nil {
		return err
	}
	g.org.Files++
	return writeGzip(filepath.Join(dir, name), body)
}

func writeGzip(path string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
