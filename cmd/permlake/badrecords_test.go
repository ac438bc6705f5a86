package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/permlake/permlake/extract/aws"
	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
)

// ctRecord is a minimal real-shaped CloudTrail record.
func ctRecord(acct, id, at string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::%[1]s:user/mallory","accountId":"%[1]s","userName":"mallory"},`+
		`"eventTime":"%[3]s","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","userAgent":"test",`+
		`"requestParameters":null,"responseElements":null,"requestID":"r-%[2]s","eventID":"%[2]s","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%[1]s","eventCategory":"Management"}`, acct, id, at)
}

// trailEventIDs reads the eventIDs of the log files under root delivered in [from, to).
func trailEventIDs(t *testing.T, root string, from, to time.Time) []string {
	t.Helper()
	var ids []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		parts := strings.Split(filepath.Base(p), "_")
		at, err := time.Parse("20060102T1504Z", parts[len(parts)-2])
		if err != nil || at.Before(from) || !at.Before(to) {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = aws.ReadRecords(f, func(raw []byte) error {
			var r struct {
				EventID string `json:"eventID"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			ids = append(ids, r.EventID)
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestImplausibleEventTimeSkipsOnlyTheRecord: a log file holding one record whose eventTime
// cannot be (0001-01-01, year 9999) costs only that record. It is skipped, counted and named
// (file and eventID) in the log, the ledger and the run manifest; the file's other records and
// every other file of the account and hour are committed; no partition of year 1 or 9999 appears;
// the account is ok.
func TestImplausibleEventTimeSkipsOnlyTheRecord(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ name, eventTime string }{
		{"zero time", "0001-01-01T00:00:00Z"},
		{"far future", "9999-12-31T23:59:59Z"},
		{"before 2013", "2012-06-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "source")
			org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
			if err != nil {
				t.Fatal(err)
			}
			acct := org.Accounts[2].ID
			day := org.WindowStart
			trailRoot := filepath.Join(src, "s3", org.TrailBucket, org.TrailPrefix, "AWSLogs", org.OrganizationID, acct, "CloudTrail")
			base := acct + "_CloudTrail_us-east-1_" + day.Add(10*time.Minute).Format("20060102T1504Z") + "_IMPLAUSIBLETIME0.json.gz"
			key := filepath.ToSlash(filepath.Join(org.TrailPrefix, "AWSLogs", org.OrganizationID, acct, "CloudTrail", "us-east-1", day.Format("2006/01/02"), base))
			good := day.Add(5 * time.Minute).Format(time.RFC3339)
			body := `{"Records":[` + ctRecord(acct, "good-before-bad", good) + "," + ctRecord(acct, "the-bad-one", tc.eventTime) + "," + ctRecord(acct, "good-after-bad", good) + `]}`
			var gzb bytes.Buffer
			zw := gzip.NewWriter(&gzb)
			if _, err := zw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(trailRoot, "us-east-1", day.Format("2006/01/02"), base)
			if err := os.WriteFile(path, gzb.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			c := readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: acct}})
			c.AWS.IAMSnapshots = StoreConfig{}
			cfg := saveConfig(t, c, dir, "permlake")
			code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", day.Format("2006-01-02T15"), "--to", org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15"), "--no-models")
			if code != exitOK {
				t.Fatalf("exit %d, want 0 (one bad record costs only itself): %s", code, stderr)
			}
			if !strings.Contains(stderr, base) || !strings.Contains(stderr, "the-bad-one") {
				t.Errorf("the log does not name the file and the eventID: %s", stderr)
			}

			lake := filepath.Join(dir, "lake")
			want := map[string]bool{}
			for _, id := range trailEventIDs(t, trailRoot, day, org.WindowEnd.Add(c.LateMargin)) {
				if id != "the-bad-one" {
					want[id] = true
				}
			}
			wantIDs := make([]string, 0, len(want))
			for id := range want {
				wantIDs = append(wantIDs, id)
			}
			sort.Strings(wantIDs)
			db := openDuck(t, "")
			got := queryStrings(t, db, `select distinct event_id from `+lakeEvents(lake)+` where account_id = ?`, acct)
			if missing, extra := diffSets(wantIDs, got); len(missing) > 0 || len(extra) > 0 {
				t.Errorf("lake events: missing %v, extra %v", missing, extra)
			}
			for _, y := range []string{"0001", "2012", "9999"} {
				if m, _ := filepath.Glob(filepath.Join(lake, "aws_cloudtrail_events", "account_id="+acct, "date="+y+"-*")); len(m) > 0 {
					t.Errorf("a partition of an implausible date was written: %v", m)
				}
			}

			l, err := load.Open(ctx, lake)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			led, err := l.Ingested(ctx, sourceCloudTrail, acct, day)
			if err != nil {
				t.Fatal(err)
			}
			obj, ok := led[key]
			if !ok || obj.Error != "" || obj.Records != 3 || obj.RowsAdded != 2 {
				t.Errorf("ledger entry of %s = %+v (found %v); want ingested, 3 records, 2 rows", key, obj, ok)
			}
			checkSkippedRecord(t, lake, obj, key)
		})
	}
}
