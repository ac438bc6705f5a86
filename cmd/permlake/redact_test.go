package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Real-shaped server errors: an S3 GET through a presigned URL, an STS body the SDK echoed, an
// azblob ResponseError for a SAS URL.
const (
	presignedErr = `Get "https://trail.s3.us-east-1.amazonaws.com/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/04/f.json.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQWERTYUIOPASDF12%2F20261204%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEsessionsecret&X-Amz-SignedHeaders=host&X-Amz-Signature=3f1c0ffeesig": i/o timeout`
	stsErr       = `operation error STS: AssumeRole, deserialization failed, body: <Credentials><AccessKeyId>ASIAJEXAMPLEXEG2JICE</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey><SessionToken>AQoDYXdzEPTstssecret</SessionToken></Credentials>`
	sasErr       = "GET https://acct.blob.core.windows.net/insights-logs/PT1H.json?se=2026-12-31&sig=Zm9vc2lnc2VjcmV0%3D&sp=rl&sv=2023-11-03\n-----\nRESPONSE 403: 403 Server failed to authenticate the request.\nERROR CODE: AuthenticationFailed\nAuthorization: Bearer eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.jwtsigsecret"
)

var leakedSecrets = []string{"ASIAQWERTYUIOPASDF12", "IQoJb3JpZ2luX2VjEsessionsecret", "3f1c0ffeesig", "ASIAJEXAMPLEXEG2JICE",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AQoDYXdzEPTstssecret", "Zm9vc2lnc2VjcmV0", "jwtsigsecret", "eyJ0eXAiOiJKV1QifQ"}

func assertRedacted(t *testing.T, got string, keep ...string) {
	t.Helper()
	for _, s := range leakedSecrets {
		if strings.Contains(got, s) {
			t.Errorf("secret %q written", s)
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

// TestLogsAreRedacted: whatever form server text takes in a log line (an error attribute, a
// string, a list, a group, the message, an attribute bound with With), its credentials are gone
// and the account and object it names stay.
func TestLogsAreRedacted(t *testing.T) {
	t.Parallel()
	for _, text := range []bool{false, true} {
		t.Run(fmt.Sprintf("text=%t", text), func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			opts := &slog.HandlerOptions{ReplaceAttr: redactAttr}
			log := newLogger(&b, false)
			if text {
				log = slog.New(slog.NewTextHandler(&b, opts))
			}
			err := fmt.Errorf("account 111122223333: read AWSLogs/111122223333/f.json.gz: %w", errors.New(presignedErr))
			log.Error("account failed", "account_id", "111122223333", "error", err)
			log.With("error", errors.New(stsErr)).Warn("assume role for 444455556666 failed")
			log.Info("objects unreadable", slog.Group("account", "errors", []string{sasErr}))
			log.Warn("unreadable: " + sasErr)
			assertRedacted(t, b.String(), "account 111122223333: read AWSLogs/111122223333/f.json.gz", "assume role for 444455556666", "AuthenticationFailed", "insights-logs/PT1H.json")
		})
	}
}

// TestStderrIsRedacted: the CLI's last line on stderr is an error's text; a presigned URL given
// as --config names the file without its credentials.
func TestStderrIsRedacted(t *testing.T) {
	t.Parallel()
	cfg := "https://configs.s3.amazonaws.com/permlake.yaml?X-Amz-Credential=ASIAQWERTYUIOPASDF12%2F20261204&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEsessionsecret&X-Amz-Signature=3f1c0ffeesig"
	code, _, stderr := runCLI(t, context.Background(), "status", "--config", cfg)
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	assertRedacted(t, stderr, "configs.s3.amazonaws.com/permlake.yaml")
}
