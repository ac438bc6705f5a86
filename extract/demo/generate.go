package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

type sessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type sessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

type sessionContext struct {
	SessionIssuer *sessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes    sessionAttributes `json:"attributes"`
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

type resource struct {
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

// record is one CloudTrail record in the field order CloudTrail writes.
type record struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        userIdentity   `json:"userIdentity"`
	EventTime           string         `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	RequestID           string         `json:"requestID,omitempty"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	SharedEventID       string         `json:"sharedEventID,omitempty"`
	EventCategory       string         `json:"eventCategory"`

	at time.Time // eventTime, for delivery bookkeeping
}

type slotKey struct {
	acct, region string
	slot         time.Time
}

// fileInfo describes a written log file for the digest that lists it.
type fileInfo struct {
	acct, region, key string // key relative to the bucket
	slot              time.Time
	newest, oldest    time.Time
	sha256            string // hex SHA-256 of the uncompressed content (set by the writer)
}

// delivery overrides the random delivery of one call.
type delivery struct {
	late time.Duration // deliver this long after the call
	dup  bool          // deliver a second copy in a later file
}

type generator struct {
	cfg     Config
	rng     *rand.Rand
	dir     string
	org     *Org
	iams    []accountIAM
	profs   [][]profile
	pending map[slotKey][]*record
	eg      *errgroup.Group
	ctx     context.Context
	digest  []*fileInfo // log files delivered in the window's first hour

	// ground truth, from intent
	used     map[string]map[string]bool
	acctOf   map[string]string
	typeOf   map[string]string
	calls    map[string]int
	lastCT   map[string]time.Time
	creds    map[string]credentials
	roleLast map[string]lastUse
	stats    map[string]int
}

var (
	sourceIPs  = []string{"203.0.113.10", "198.51.100.24", "192.0.2.77", "203.0.113.200"}
	userAgents = []string{"aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023", "Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux#6.1 lang/python#3.12.2",
		"APN/1.0 HashiCorp/1.0 Terraform/1.7.4 terraform-provider-aws/5.40.0", "aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22.1 md/GOOS#linux api/ec2#1.160.0"}
)

// Generate writes the organization under dir (which it creates) and returns its description.
// The same Config writes byte-identical files. It stops with ctx's error when ctx is done.
func Generate(ctx context.Context, dir string, cfg Config) (*Org, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(8) // file creation dominates: overlap it
	g := &generator{
		cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)), dir: dir, eg: eg, ctx: gctx,
		pending: map[slotKey][]*record{}, used: map[string]map[string]bool{}, acctOf: map[string]string{}, typeOf: map[string]string{},
		calls: map[string]int{}, lastCT: map[string]time.Time{}, creds: map[string]credentials{}, roleLast: map[string]lastUse{},
		stats: map[string]int{"duplicate_deliveries": 0, "late_events": 0, "failed_calls": 0, "cross_account_calls": 0, "service_events": 0},
	}
	accts := accounts(cfg.MemberAccounts)
	g.org = &Org{OrganizationID: "o-pl7demo4x2", ManagementAccountID: accts[0].ID, LogArchiveAccountID: accts[1].ID,
		TrailName: "permlake-org-trail", TrailBucket: "permlake-demo-org-trail", TrailPrefix: "org", Accounts: accts, Regions: regionsOf(cfg),
		WindowStart: cfg.End.Add(-time.Duration(cfg.Days) * 24 * time.Hour), WindowEnd: cfg.End}
	for i := range accts {
		g.iams = append(g.iams, buildIAM(accts, i))
		ps := profiles(g.iams[i])
		if cfg.Payloads == PayloadsLarge {
			ps = busyProfiles(ps)
		}
		g.profs = append(g.profs, ps)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create demo directory: %w", err)
	}
	err := func() error {
		for h := g.org.WindowStart; h.Before(cfg.End); h = h.Add(time.Hour) {
			if err := gctx.Err(); err != nil {
				return err
			}
			g.hour(h)
			g.flush(h.Add(time.Hour))
		}
		g.flush(time.Time{})
		return nil
	}()
	if werr := eg.Wait(); werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := g.writeDigests(); err != nil {
		return nil, err
	}
	if err := g.writeIAM(); err != nil {
		return nil, err
	}
	if err := g.writeOrganization(); err != nil {
		return nil, err
	}
	if err := g.writeAzure(); err != nil {
		return nil, err
	}
	if err := g.writeTruth(); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "org.json"), g.org); err != nil {
		return nil, err
	}
	return g.org, nil
}

// hour generates every call of one hour in every account: background calls drawn from the
// accounts' profiles (people in office hours, services around the clock), then the scheduled
// cases the demo must show.
func (g *generator) hour(h time.Time) {
	day := int(h.Sub(g.org.WindowStart) / (24 * time.Hour))
	office := h.Hour() >= 8 && h.Hour() < 18
	n := g.cfg.EventsPerHour * 55 / 100
	if office {
		n = g.cfg.EventsPerHour * 16 / 10
	}
	for i, iam := range g.iams {
		ps, total := g.profs[i], 0
		if !office {
			ps = nil
			for _, p := range g.profs[i] {
				if p.allHours {
					ps = append(ps, p)
				}
			}
		}
		for _, p := range ps {
			total += p.weight
		}
		for range n {
			if total == 0 {
				break
			}
			p := pick(g.rng, ps, total)
			k := p.calls[g.rng.IntN(len(p.calls))]
			g.call(iam.acct.ID, p.who, k, randomTime(g.rng, h), delivery{})
		}
		g.scheduled(iam, h, day)
	}
	g.crossAccount(h)
}

// scheduled adds one account's fixed cases: sign-ins, federation, service events, and on the
// first day a late delivery, a late delivery across midnight and a duplicate delivery.
func (g *generator) scheduled(iam accountIAM, h time.Time, day int) {
	a := iam.acct.ID
	if u, ok := iam.user("bob"); ok && h.Hour() == 9 {
		g.call(a, userActor(a, u), callConsoleLogin, h.Add(7*time.Minute), delivery{})
	}
	if u, ok := iam.user("carol"); ok && h.Hour() == 14 { // carol federates and works through the session
		carol := userActor(a, u)
		fed := federated(carol, "carol-fed")
		carol.session = fed.session
		g.call(a, carol, callGetFederationToken, h.Add(2*time.Minute), delivery{})
		g.call(a, fed, callListBuckets, h.Add(4*time.Minute), delivery{})
		g.call(a, fed, callDescribeRegions, h.Add(5*time.Minute), delivery{})
	}
	if r, ok := iam.role("app-server"); ok && h.Hour()%3 == 0 { // EC2 refreshing the instance profile's credentials
		g.serviceCall(a, "ec2.amazonaws.com", r, "i-0a1b2c3d4e5f60718", h.Add(11*time.Minute))
	}
	if r, ok := iam.role("AWSServiceRoleForSupport"); ok && h.Hour() == 4 {
		g.serviceCall(a, "support.amazonaws.com", r, "TrustedAdvisor_"+a, h.Add(41*time.Minute))
	}
	if iam.acct.Kind == KindManagement && h.Hour() == 10 && day%3 == 0 { // the root user signs in and looks around
		root := rootActor(a)
		g.call(a, root, callConsoleLogin, h.Add(3*time.Minute), delivery{})
		g.call(a, root, callGetAccountSummary, h.Add(5*time.Minute), delivery{})
		g.call(a, root, callListBuckets, h.Add(6*time.Minute), delivery{})
	}
	if r, ok := iam.role("security-scanner"); ok && day == 0 {
		scanner := roleActor(a, r, "security-scanner")
		switch h.Hour() {
		case 3:
			g.call(a, scanner, callDescribeTrails, h.Add(17*time.Minute), delivery{late: 3*time.Hour + 10*time.Minute})
		case 5:
			g.call(a, scanner, callGetBucketAcl, h.Add(9*time.Minute), delivery{dup: true})
		case 23: // delivered after midnight: the day folder differs from the event's day
			g.call(a, scanner, callDescribeSGs, h.Add(55*time.Minute), delivery{late: 2*time.Hour + 20*time.Minute})
		}
	}
}

// crossAccount adds the calls that cross member accounts A (the first) and B (the second).
func (g *generator) crossAccount(h time.Time) {
	a, b := g.iams[2], g.iams[3]
	switch h.Hour() {
	case 11: // alice in A assumes B's cross-account-deploy role and works in B
		u, _ := a.user("alice")
		target, _ := b.role("cross-account-deploy")
		alice := userActor(a.acct.ID, u)
		at := h.Add(20 * time.Minute)
		g.assumeAcross(alice, b.acct.ID, target, at)
		sess := roleActor(b.acct.ID, target, "alice")
		g.call(b.acct.ID, sess, callDescribeInstances, h.Add(22*time.Minute), delivery{})
		g.call(b.acct.ID, sess, callGetBucketPolicy, h.Add(23*time.Minute), delivery{})
	case 12: // A's CI role decrypts with B's key: only B's trail records it, credited to A's role
		r, _ := a.role("ci-deploy")
		ci := roleActor(a.acct.ID, r, "build-4711")
		rec := g.record(b.acct.ID, ci, callDecrypt, h.Add(30*time.Minute))
		rec.Resources = []resource{{AccountID: b.acct.ID, Type: "AWS::KMS::Key", ARN: "arn:aws:kms:" + rec.AWSRegion + ":" + b.acct.ID + ":key/" + uuidOf(b.acct.ID+"key")}}
		g.stats["cross_account_calls"]++
		g.send(b.acct.ID, rec, delivery{})
		g.credit(ci, callDecrypt, rec, 1)
	}
}

// assumeAcross records an AssumeRole of a role in another account: CloudTrail delivers one
// record to each account, with its own eventID, the same sharedEventID, and the caller's account
// in userIdentity.accountId.
func (g *generator) assumeAcross(who actor, to string, target role, at time.Time) {
	shared := uuid(g.rng)
	g.stats["cross_account_calls"]++
	roleARN := target.arn(to)
	var first *record
	for _, acct := range []string{who.acct, to} {
		r := g.record(acct, who, callAssumeRole, at)
		r.SharedEventID = shared
		r.RequestParameters = map[string]any{"roleArn": roleARN, "roleSessionName": who.name, "externalId": "permlake-demo", "durationSeconds": 3600}
		r.ResponseElements = assumeResponse(to, target, who.name, at)
		r.Resources = []resource{{AccountID: to, Type: "AWS::IAM::Role", ARN: roleARN}}
		if first != nil {
			r.RequestID = first.RequestID
		}
		first = r
		g.send(acct, r, delivery{})
	}
	g.credit(who, callAssumeRole, first, 2)
}

// serviceCall records an AWS service assuming a role for itself: credited to nobody.
func (g *generator) serviceCall(acct, svc string, target role, session string, at time.Time) {
	k := serviceAssume(svc)
	r := g.record(acct, actor{kind: "AWSService", name: svc}, k, at)
	r.RequestParameters = map[string]any{"roleArn": target.arn(acct), "roleSessionName": session}
	r.ResponseElements = assumeResponse(acct, target, session, at)
	r.Resources = []resource{{AccountID: acct, Type: "AWS::IAM::Role", ARN: target.arn(acct)}}
	g.stats["service_events"]++
	g.send(acct, r, delivery{})
}

func assumeResponse(acct string, target role, session string, at time.Time) map[string]any {
	return map[string]any{
		"credentials": map[string]any{"accessKeyId": "ASIA" + stableID("", acct+target.name+session)[:16],
			"sessionToken": "IQoJb3JpZ2luX2VjE" + stableID("", session+acct)[:12], "expiration": at.Add(time.Hour).Format("Jan 2, 2006, 3:04:05 PM")},
		"assumedRoleUser": map[string]any{"assumedRoleId": stableID("AROA", acct+target.name) + ":" + session,
			"arn": "arn:aws:sts::" + acct + ":assumed-role/" + target.name + "/" + session},
	}
}

// call records one call made by who into the trail folder of acct, delivers it and credits it.
func (g *generator) call(acct string, who actor, k call, at time.Time, d delivery) {
	r := g.record(acct, who, k, at)
	if k.name == "GetFederationToken" {
		r.ResponseElements = map[string]any{
			"credentials":   map[string]any{"accessKeyId": federated(who, who.session).accessKey, "sessionToken": "IQoJb3JpZ2luX2VjE" + stableID("", who.session)[:12], "expiration": at.Add(time.Hour).Format("Jan 2, 2006, 3:04:05 PM")},
			"federatedUser": map[string]any{"federatedUserId": who.acct + ":" + who.session, "arn": "arn:aws:sts::" + who.acct + ":federated-user/" + who.session},
		}
	}
	g.send(acct, r, d)
	g.credit(who, k, r, 1)
}

// send delivers r once or twice, usually minutes after the call, sometimes hours.
func (g *generator) send(acct string, r *record, d delivery) {
	delay := time.Duration(60+g.rng.IntN(540)) * time.Second
	switch x := g.rng.IntN(1000); {
	case d.late > 0:
		delay = d.late
	case x < 6: // a few hours late: a later file in a later hour folder
		delay = time.Duration(2*3600+g.rng.IntN(3*3600)) * time.Second
	case x < 10:
		d.dup = true
	}
	g.deliver(acct, r, r.at.Add(delay))
	if d.dup { // at-least-once: the same record again, in a later file
		g.stats["duplicate_deliveries"]++
		g.deliver(acct, r, r.at.Add(delay+time.Duration(5+g.rng.IntN(50))*time.Minute))
	}
}

func (g *generator) record(recipient string, who actor, k call, at time.Time) *record {
	region := g.cfg.Regions[g.rng.IntN(len(g.cfg.Regions))]
	if k.global || k.errorCode != "" {
		region = globalRegion
	}
	et := ts(at)
	r := &record{EventVersion: "1.09", EventTime: et, EventSource: k.source, EventName: k.name,
		AWSRegion: region, SourceIPAddress: sourceIPs[g.rng.IntN(len(sourceIPs))], UserAgent: userAgents[g.rng.IntN(len(userAgents))],
		RequestParameters: params(k, recipient, region, who), RequestID: uuid(g.rng), EventID: uuid(g.rng), ReadOnly: k.readOnly,
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: recipient, EventCategory: "Management", at: at}
	created := ts(at.Add(-time.Duration(5+g.rng.IntN(50)) * time.Minute))
	switch who.kind {
	case "IAMUser":
		r.UserIdentity = userIdentity{Type: "IAMUser", PrincipalID: who.id, ARN: who.arn, AccountID: who.acct, AccessKeyID: who.accessKey, UserName: who.name}
	case "Root":
		r.UserIdentity = userIdentity{Type: "Root", PrincipalID: who.acct, ARN: who.arn, AccountID: who.acct, AccessKeyID: who.accessKey,
			SessionContext: &sessionContext{Attributes: sessionAttributes{CreationDate: created, MFAAuthenticated: "true"}}}
	case "AssumedRole":
		r.UserIdentity = userIdentity{Type: "AssumedRole", PrincipalID: who.id + ":" + who.session,
			ARN: "arn:aws:sts::" + who.acct + ":assumed-role/" + who.name + "/" + who.session, AccountID: who.acct, AccessKeyID: who.accessKey,
			SessionContext: &sessionContext{SessionIssuer: &sessionIssuer{Type: "Role", PrincipalID: who.id, ARN: who.arn, AccountID: who.acct, UserName: who.name},
				Attributes: sessionAttributes{CreationDate: created, MFAAuthenticated: "false"}}}
	case "FederatedUser":
		r.UserIdentity = userIdentity{Type: "FederatedUser", PrincipalID: who.acct + ":" + who.session,
			ARN: "arn:aws:sts::" + who.acct + ":federated-user/" + who.session, AccountID: who.acct, AccessKeyID: who.accessKey,
			SessionContext: &sessionContext{SessionIssuer: &sessionIssuer{Type: "IAMUser", PrincipalID: who.id, ARN: who.arn, AccountID: who.acct, UserName: who.name},
				Attributes: sessionAttributes{CreationDate: created, MFAAuthenticated: "false"}}}
	case "AWSService":
		r.UserIdentity = userIdentity{Type: "AWSService", InvokedBy: who.name}
		r.SourceIPAddress, r.UserAgent = who.name, who.name
		r.EventType = "AwsServiceEvent"
		r.ReadOnly = true
	}
	if k.errorCode != "" {
		r.ErrorCode = k.errorCode
		msg := "User: " + r.UserIdentity.ARN + " is not authorized to perform: " + k.actions[0] + " on resource: " +
			"arn:aws:iam::" + recipient + ":user/temp-admin because no identity-based policy allows the " + k.actions[0] + " action"
		if k.errorCode == "Client.UnauthorizedOperation" {
			msg = "You are not authorized to perform this operation. User: " + r.UserIdentity.ARN + " is not authorized to perform: " +
				k.actions[0] + " on resource: arn:aws:ec2:" + region + ":" + recipient + ":instance/* because no identity-based policy allows the " + k.actions[0] + " action"
		}
		r.ErrorMessage = msg
		g.stats["failed_calls"]++
	}
	if g.cfg.Payloads == PayloadsLarge {
		largePayload(g.rng, r, k, recipient, region, who)
	}
	if k.source == "signin.amazonaws.com" {
		r.EventType, r.ReadOnly, r.RequestID = "AwsConsoleSignIn", false, ""
		r.UserIdentity.AccessKeyID, r.UserIdentity.SessionContext = "", nil
		r.UserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
		r.ResponseElements = map[string]any{"ConsoleLogin": "Success"}
		mfa := "No"
		if who.kind == "Root" || who.name == "bob" {
			mfa = "Yes"
		}
		r.AdditionalEventData = map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfa}
	}
	return r
}

// credit updates the ground truth from the generator's intent. n is the number of records
// (distinct eventIDs) the call produced.
func (g *generator) credit(who actor, k call, r *record, n int) {
	if who.credited == "" || k.service != "" {
		return
	}
	p, at := who.credited, r.at
	g.acctOf[p], g.typeOf[p] = who.acct, who.ptype
	g.calls[p] += n
	if at.After(g.lastCT[p]) {
		g.lastCT[p] = at
	}
	if k.errorCode == "" && len(k.actions) > 0 {
		if g.used[p] == nil {
			g.used[p] = map[string]bool{}
		}
		for _, a := range k.actions {
			g.used[p][a] = true
		}
	}
	c := g.creds[p]
	switch {
	case k.source == "signin.amazonaws.com" && (who.kind == "IAMUser" || who.kind == "Root"):
		if at.After(c.passwordUsed) {
			c.passwordUsed = at
		}
	case who.kind == "IAMUser": // long-term access key (also when the call failed)
		if at.After(c.keyUsed) {
			svc := strings.TrimSuffix(k.source, ".amazonaws.com")
			if len(k.actions) > 0 {
				svc = strings.SplitN(k.actions[0], ":", 2)[0]
			}
			region := r.AWSRegion
			if svc == "s3" { // non-regional in the report
				region = "N/A"
			}
			c.keyUsed, c.keyRegion, c.keyService = at, region, svc
		}
	case who.kind == "AssumedRole":
		if lu := g.roleLast[p]; at.After(lu.at) {
			g.roleLast[p] = lastUse{at: at, region: r.AWSRegion}
		}
	}
	g.creds[p] = c
}

// deliver puts r into the file CloudTrail publishes for its account and region at the first
// delivery mark (every DeliveryMinutes, 5 by default) at or after t: never before the event happened.
func (g *generator) deliver(acct string, r *record, t time.Time) {
	every := time.Duration(g.cfg.DeliveryMinutes) * time.Minute
	slot := t.Truncate(every)
	if slot.Before(t) {
		slot = slot.Add(every)
	}
	k := slotKey{acct: acct, region: r.AWSRegion, slot: slot}
	g.pending[k] = append(g.pending[k], r)
	g.org.Events++
	if !slot.Before(r.at.Truncate(time.Hour).Add(2 * time.Hour)) {
		g.stats["late_events"]++
	}
	if slot.After(g.org.LastDelivery) {
		g.org.LastDelivery = slot
	}
}

// flush writes every pending file delivered before until (all when until is zero): no later
// call can land in them, since delivery never precedes the call. Names and record order are
// drawn here, in a fixed order; the writes run concurrently.
func (g *generator) flush(until time.Time) {
	var keys []slotKey
	for k := range g.pending {
		if until.IsZero() || k.slot.Before(until) {
			keys = append(keys, k)
		}
	}
	sortSlots(keys)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digestEnd := g.org.WindowStart.Add(time.Hour)
	for _, k := range keys {
		recs := g.pending[k]
		delete(g.pending, k)
		g.rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		var unique [16]byte
		for i := range unique {
			unique[i] = alphabet[g.rng.IntN(len(alphabet))]
		}
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", k.acct, k.region, k.slot.Format("20060102T1504Z"), unique[:])
		key := g.trailKey(k.acct, "CloudTrail", k.region, k.slot) + name
		g.org.Files++
		var fi *fileInfo
		if k.slot.Before(digestEnd) {
			fi = &fileInfo{acct: k.acct, region: k.region, key: key, slot: k.slot}
			for _, r := range recs {
				if fi.newest.IsZero() || r.at.After(fi.newest) {
					fi.newest = r.at
				}
				if fi.oldest.IsZero() || r.at.Before(fi.oldest) {
					fi.oldest = r.at
				}
			}
			g.digest = append(g.digest, fi)
		}
		path := filepath.Join(g.dir, "s3", g.org.TrailBucket, filepath.FromSlash(key))
		g.eg.Go(func() error {
			if err := g.ctx.Err(); err != nil {
				return err
			}
			sum, err := writeRecords(path, recs)
			if fi != nil {
				fi.sha256 = sum
			}
			return err
		})
	}
}

// trailKey is the bucket-relative folder of an account's trail files of one delivery day.
func (g *generator) trailKey(acct, kind, region string, t time.Time) string {
	return g.org.TrailPrefix + "/AWSLogs/" + g.org.OrganizationID + "/" + acct + "/" + kind + "/" + region + "/" + t.Format("2006/01/02") + "/"
}

func uuidOf(seed string) string {
	h := hexID(seed)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}
