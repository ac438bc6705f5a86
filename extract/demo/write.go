package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/klauspost/compress/gzip"
)

// Principal is one credited principal of the ground truth.
type Principal struct {
	PrincipalARN  string   `json:"principal_arn"`
	AccountID     string   `json:"account_id"`     // the principal's own account (the caller's, for cross-account calls)
	PrincipalType string   `json:"principal_type"` // iam_user, iam_role or root
	UsedActions   []string `json:"used_actions"`   // IAM actions of its successful calls, sorted, canonical case
	Calls         int      `json:"calls"`          // records credited to it (distinct eventIDs), failed ones included
}

// Identity names a user or role of the ground truth.
type Identity struct {
	PrincipalARN  string `json:"principal_arn"`
	AccountID     string `json:"account_id"`
	PrincipalType string `json:"principal_type"` // iam_user or iam_role
}

// GroundTruth is what the generator meant, written to ground-truth.json: the end-to-end test's
// expected marts. Principals lists every principal with at least one used action; inactive
// identities are the users and non-service-linked roles with no activity (CloudTrail, credential
// report, RoleLastUsed) in the LookbackDays before WindowEnd.
//
// Stats: events = records in log files (re-deliveries and both copies of a shared event
// included); files = log files; duplicate_deliveries = extra copies of an already delivered
// record; late_events = delivered records whose file is 2 hours or more after the start of the
// event's hour; failed_calls = calls with an errorCode; cross_account_calls = calls whose caller
// belongs to another account than the one called; service_events = AWSService events.
type GroundTruth struct {
	WindowStart        time.Time   `json:"window_start"`
	WindowEnd          time.Time   `json:"window_end"`
	LookbackDays       int         `json:"lookback_days"`
	Principals         []Principal `json:"principals"`
	InactiveIdentities []Identity  `json:"inactive_identities"`
	// SCPDenied are the actions the organization's service control policies deny unconditionally
	// in each account: no identity there is granted them, whatever its own policies say.
	SCPDenied []AccountAction `json:"scp_denied"`
	Stats     map[string]int  `json:"stats"`
	// Azure is the Azure tenant's ground truth (see AzureTruth).
	Azure *AzureTruth `json:"azure"`
}

func sortSlots(keys []slotKey) {
	slices.SortFunc(keys, func(a, b slotKey) int {
		if c := a.slot.Compare(b.slot); c != 0 {
			return c
		}
		if a.acct != b.acct {
			if a.acct < b.acct {
				return -1
			}
			return 1
		}
		switch {
		case a.region < b.region:
			return -1
		case a.region > b.region:
			return 1
		}
		return 0
	})
}

// writeRecords writes one log file {"Records":[…]}, gzip-compressed, and returns the hex SHA-256
// of its uncompressed content (what a digest lists).
func writeRecords(path string, recs []*record) (string, error) {
	body, err := gojson.Marshal(struct {
		Records []*record `json:"Records"`
	}{recs})
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", path, err)
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), writeGzip(path, body)
}

// gzipWriters keeps the log files' gzip writers between files. Not a sync.Pool: every garbage
// collection emptied it, and each new writer allocates and clears its compressor's tables (most of
// a generation's time under the race detector).
var gzipWriters = make(chan *gzip.Writer, runtime.GOMAXPROCS(0))

func writeGzip(path string, body []byte) error {
	var b bytes.Buffer
	var zw *gzip.Writer
	select {
	case zw = <-gzipWriters:
		zw.Reset(&b)
	default:
		zw, _ = gzip.NewWriterLevel(&b, gzip.BestSpeed)
	}
	defer func() {
		select {
		case gzipWriters <- zw:
		default:
		}
	}()
	if _, err := zw.Write(body); err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	return writeFile(path, b.Bytes())
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeFile(path, append(b, '\n'))
}

type digestLogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// digestFile is a CloudTrail digest (FORMATS.md §1.5), the first of its chain.
type digestFile struct {
	AWSAccountID                string          `json:"awsAccountId"`
	DigestStartTime             string          `json:"digestStartTime"`
	DigestEndTime               string          `json:"digestEndTime"`
	DigestS3Bucket              string          `json:"digestS3Bucket"`
	DigestS3Object              string          `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string          `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string          `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string         `json:"newestEventTime"`
	OldestEventTime             *string         `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string         `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string         `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string         `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string         `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string         `json:"previousDigestSignature"`
	LogFiles                    []digestLogFile `json:"logFiles"`
}

// writeDigests writes, per account and region, the digest of the window's first hour listing
// the log files delivered in it. The pipeline must not mistake these for log files.
func (g *generator) writeDigests() error {
	start, end := g.org.WindowStart, g.org.WindowStart.Add(time.Hour)
	for _, a := range g.org.Accounts {
		for _, region := range g.org.Regions {
			d := digestFile{AWSAccountID: a.ID, DigestStartTime: ts(start), DigestEndTime: ts(end), DigestS3Bucket: g.org.TrailBucket,
				DigestPublicKeyFingerprint: hexID("fingerprint" + region), DigestSignatureAlgorithm: "SHA256withRSA", LogFiles: []digestLogFile{}}
			name := fmt.Sprintf("%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz", a.ID, region, g.org.TrailName, region, end.Format("20060102T150405Z"))
			d.DigestS3Object = g.trailKey(a.ID, "CloudTrail-Digest", region, end) + name
			var newest, oldest time.Time
			for _, f := range g.digest {
				if f.acct != a.ID || f.region != region {
					continue
				}
				d.LogFiles = append(d.LogFiles, digestLogFile{S3Bucket: g.org.TrailBucket, S3Object: f.key, HashValue: f.sha256,
					HashAlgorithm: "SHA-256", NewestEventTime: ts(f.newest), OldestEventTime: ts(f.oldest)})
				if newest.IsZero() || f.newest.After(newest) {
					newest = f.newest
				}
				if oldest.IsZero() || f.oldest.Before(oldest) {
					oldest = f.oldest
				}
			}
			if !newest.IsZero() {
				n, o := ts(newest), ts(oldest)
				d.NewestEventTime, d.OldestEventTime = &n, &o
			}
			body, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("encode digest: %w", err)
			}
			if err := writeGzip(filepath.Join(g.dir, "s3", g.org.TrailBucket, filepath.FromSlash(d.DigestS3Object)), body); err != nil {
				return err
			}
			g.org.DigestFiles++
		}
	}
	return nil
}

// created is when the demo's identities were created: long before the window.
func (g *generator) created() time.Time {
	return g.org.WindowStart.AddDate(0, 0, -400).Truncate(24 * time.Hour).Add(9*time.Hour + 30*time.Minute)
}

// applyOverrides sets the evidence that lies outside the window's CloudTrail: a console user
// active only through the credential report, a key used long ago, and roles whose RoleLastUsed
// is old (inactive) or recent but before the window (active only through RoleLastUsed).
func (g *generator) applyOverrides() {
	end, start := g.cfg.End, g.org.WindowStart
	frankAt := end.AddDate(0, 0, -30)
	if !frankAt.Before(start) {
		frankAt = start.AddDate(0, 0, -2)
	}
	for _, iam := range g.iams {
		a := iam.acct.ID
		if u, ok := iam.user("frank"); ok {
			c := g.creds[u.arn(a)]
			c.passwordUsed = frankAt.Add(8*time.Hour + 42*time.Minute)
			g.creds[u.arn(a)] = c
		}
		if u, ok := iam.user("erin"); ok {
			g.creds[u.arn(a)] = credentials{keyUsed: end.AddDate(0, 0, -200).Add(15 * time.Hour), keyRegion: "eu-west-1", keyService: "ec2"}
		}
		if r, ok := iam.role("legacy-batch"); ok {
			g.roleLast[r.arn(a)] = lastUse{at: end.AddDate(0, 0, -150).Add(3 * time.Hour), region: "eu-west-1"}
		}
		if r, ok := iam.role("reporting"); ok {
			g.roleLast[r.arn(a)] = lastUse{at: start.AddDate(0, 0, -6).Add(7 * time.Hour), region: "us-east-1"}
		}
	}
}

func (g *generator) writeIAM() error {
	g.applyOverrides()
	created := g.created()
	for _, iam := range g.iams {
		a := iam.acct.ID
		pages, err := iam.gaadPages(created, g.roleLast)
		if err != nil {
			return err
		}
		dir := filepath.Join(g.dir, "iam", a)
		for i, p := range pages {
			if err := writeFile(filepath.Join(dir, fmt.Sprintf("gaad-%04d.json", i+1)), p); err != nil {
				return err
			}
		}
		if err := writeFile(filepath.Join(dir, "credential-report.csv"), iam.credentialReport(created, g.cfg.End, g.creds)); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) writeTruth() error {
	gt := GroundTruth{WindowStart: g.org.WindowStart, WindowEnd: g.cfg.End, LookbackDays: 90, Stats: map[string]int{},
		Principals: []Principal{}, InactiveIdentities: []Identity{}}
	for k, v := range g.stats {
		gt.Stats[k] = v
	}
	gt.Stats["events"], gt.Stats["files"] = g.org.Events, g.org.Files
	for _, p := range sortedKeys(g.used) {
		gt.Principals = append(gt.Principals, Principal{PrincipalARN: p, AccountID: g.acctOf[p], PrincipalType: g.typeOf[p],
			UsedActions: sortedKeys(g.used[p]), Calls: g.calls[p]})
	}
	since := g.cfg.End.AddDate(0, 0, -gt.LookbackDays)
	active := func(ts ...time.Time) bool {
		for _, t := range ts {
			if !t.Before(since) && t.Before(g.cfg.End) {
				return true
			}
		}
		return false
	}
	for _, iam := range g.iams {
		a := iam.acct.ID
		for _, u := range iam.users {
			arn := u.arn(a)
			if c := g.creds[arn]; !active(g.lastCT[arn], c.passwordUsed, c.keyUsed) {
				gt.InactiveIdentities = append(gt.InactiveIdentities, Identity{PrincipalARN: arn, AccountID: a, PrincipalType: typeUser})
			}
		}
		for _, r := range iam.roles {
			arn := r.arn(a)
			if !r.serviceLinked && !active(g.lastCT[arn], g.roleLast[arn].at) {
				gt.InactiveIdentities = append(gt.InactiveIdentities, Identity{PrincipalARN: arn, AccountID: a, PrincipalType: typeRole})
			}
		}
	}
	slices.SortFunc(gt.InactiveIdentities, func(x, y Identity) int { return compareStrings(x.PrincipalARN, y.PrincipalARN) })
	_, gt.SCPDenied = g.organizationSnapshot()
	gt.Azure = g.org.azureTruth
	return writeJSON(filepath.Join(g.dir, "ground-truth.json"), gt)
}
