package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	json "github.com/goccy/go-json"
)

// created is when every demo identity was created: long before the window.
var created = time.Date(2025, 1, 15, 9, 30, 0, 0, time.UTC)

// applyOverrides sets the identities whose only evidence is outside CloudTrail.
func (g *generator) applyOverrides() {
	end := g.cfg.End
	for _, iam := range g.iams {
		a := iam.acct.ID
		frank := findUser(iam, "frank").arn(a)
		g.password[frank] = end.Add(-30 * 24 * time.Hour) // active through the console only
		g.console[frank] = true
		erin := findUser(iam, "erin").arn(a)
		g.keys[erin] = end.Add(-200 * 24 * time.Hour) // an old key: inactive
		g.roleLast[findRole(iam, "legacy-batch").arn(a)] = lastUse{at: end.Add(-150 * 24 * time.Hour), region: "eu-west-1"}
		g.roleLast[findRole(iam, "reporting").arn(a)] = lastUse{at: end.Add(-20 * 24 * time.Hour), region: "us-east-1"}
	}
}

func (g *generator) writeIAM() error {
	g.applyOverrides()
	for _, iam := range g.iams {
		a := iam.acct.ID
		pages, err := iam.gaadPages(created, g.roleLast)
		if err != nil {
			return err
		}
		dir := filepath.Join(g.dir, "iam", a)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for i, p := range pages {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("gaad-%04d.json", i+1)), p, 0o644); err != nil {
				return err
			}
		}
		report := iam.credentialReport(created, g.cfg.End, g.password, g.keys, g.console)
		if err := os.WriteFile(filepath.Join(dir, "credential-report.csv"), report, 0o644); err != nil {
			return err
		}
		// A digest file beside the logs: the pipeline must not mistake it for a log file.
		end := g.org.WindowStart.Add(time.Hour)
		digest := map[string]any{"awsAccountId": a, "digestStartTime": ts(g.org.WindowStart), "digestEndTime": ts(end),
			"digestS3Bucket": g.org.TrailBucket, "digestPublicKeyFingerprint": "0123456789abcdef0123456789abcdef",
			"digestSignatureAlgorithm": "SHA256withRSA", "previousDigestS3Bucket": nil, "logFiles": []any{}}
		body, err := json.Marshal(digest)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s_CloudTrail-Digest_us-east-1_org-trail_us-east-1_%s.json.gz", a, end.Format("20060102T150405Z"))
		if err := writeGzip(filepath.Join(g.trailDir(a, "CloudTrail-Digest"), "us-east-1", end.Format("2006/01/02"), name), body); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) writeTruth() error {
	gt := GroundTruth{WindowStart: g.org.WindowStart, WindowEnd: g.cfg.End, LookbackDays: 90, Stats: map[string]int{}}
	for k, v := range g.stats {
		if k != "midnight_late" {
			gt.Stats[k] = v
		}
	}
	gt.Stats["events"], gt.Stats["files"] = g.org.Events, g.org.Files
	for _, p := range sortedKeys(g.used) {
		gt.Principals = append(gt.Principals, Principal{PrincipalARN: p, AccountID: g.acctOf[p], PrincipalType: g.typeOf[p],
			UsedActions: sortedKeys(g.used[p]), Calls: g.calls[p]})
	}
	since := g.cfg.End.Add(-90 * 24 * time.Hour)
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
			if !active(g.lastCT[arn], g.password[arn], g.keys[arn]) {
				gt.InactiveIdentities = append(gt.InactiveIdentities, Identity{PrincipalARN: arn, AccountID: a, PrincipalType: "iam_user"})
			}
		}
		for _, r := range iam.roles {
			arn := r.arn(a)
			if !r.serviceLinked && !active(g.lastCT[arn], g.roleLast[arn].at) {
				gt.InactiveIdentities = append(gt.InactiveIdentities, Identity{PrincipalARN: arn, AccountID: a, PrincipalType: "iam_role"})
			}
		}
	}
	sort.Slice(gt.InactiveIdentities, func(i, j int) bool {
		return gt.InactiveIdentities[i].PrincipalARN < gt.InactiveIdentities[j].PrincipalARN
	})
	b, err := json.MarshalIndent(gt, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(g.dir, "ground-truth.json"), append(b, '\n'), 0o644)
}
