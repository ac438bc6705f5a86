package load

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStoredErrorsAreRedacted: server error text that reaches the ledger (SourceObject.Error)
// or a run manifest (an account's Error, ObjectErrors, Quarantined, Warnings) loses its
// credentials at write, and keeps which object and account it is about.
func TestStoredErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	const (
		key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T0705Z_a.json.gz"
		// an S3 presigned-URL error, an STS body and an azblob SAS URL, shortened
		presigned = "read " + key + `: Get "https://trail.s3.amazonaws.com/` + key + `?X-Amz-Credential=ASIAQWERTYUIOPASDF12%2F20261102%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=IQoJsessiontokensecret&X-Amz-Signature=3f1c0ffee": i/o timeout`
		sts       = "assume role for account 111122223333: deserialization failed, body: <Credentials><AccessKeyId>ASIAJEXAMPLEXEG2JICE</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey><SessionToken>AQoDYXdzEPTstssecret</SessionToken></Credentials>"
		sas       = "read insights-logs/PT1H.json: GET https://acct.blob.core.windows.net/insights-logs/PT1H.json?se=2026-12-31&sig=Zm9vYmFyc2lnc2VjcmV0%3D&sp=rl&sv=2023-11-03\nRESPONSE 403: AuthenticationFailed\nAuthorization: Bearer eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.jwtsigsecret"
	)
	secrets := []string{"ASIAQWERTYUIOPASDF12", "IQoJsessiontokensecret", "3f1c0ffee", "ASIAJEXAMPLEXEG2JICE",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AQoDYXdzEPTstssecret", "Zm9vYmFyc2lnc2VjcmV0", "jwtsigsecret", "eyJ0eXAiOiJKV1QifQ"}
	keep := []string{key, "account 111122223333", "insights-logs/PT1H.json", "AuthenticationFailed"}

	ctx := context.Background()
	dir := t.TempDir()
	l := openLake(t, dir)
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	objs := []SourceObject{
		{Source: "aws_cloudtrail", AccountID: "111122223333", Key: key, DeliveredAt: day, Error: presigned, Attempts: 1},
		{Source: "aws_cloudtrail", AccountID: "111122223333", Key: key + "2", DeliveredAt: day, Error: sts, Attempts: 1},
		{Source: "azure_activity", AccountID: "00000000-0000-0000-0000-000000000001", Key: "insights-logs/PT1H.json", DeliveredAt: day, Error: sas, Attempts: 1},
	}
	if err := l.RecordIngested(ctx, "run-1", objs); err != nil {
		t.Fatal(err)
	}
	m := &RunManifest{RunID: "run-1", Accounts: []AccountOutcome{{
		AccountID: "111122223333", Status: "failed", Error: sts,
		ObjectErrors: []string{presigned, sas}, Quarantined: []string{presigned}, Warnings: []string{sas},
	}}}
	if err := l.WriteRunManifest(ctx, m); err != nil {
		t.Fatal(err)
	}
	if m.Accounts[0].Error != sts || objs[0].Error != presigned {
		t.Error("the caller's values were changed")
	}
	var stored strings.Builder
	err := filepath.WalkDir(filepath.Join(dir, "_manifests"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		stored.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := stored.String()
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("secret %q stored", s)
		}
	}
	for _, s := range keep {
		if !strings.Contains(got, s) {
			t.Errorf("lost %q", s)
		}
	}
	if t.Failed() {
		t.Log(got)
	}
}
