package schemas

import (
	"strings"
	"testing"
)

// Real-shaped error texts as the SDKs print them, with the secret parts a test must not find
// after Redact and the parts that must stay.
const (
	// An S3 GET through a presigned URL of a temporary credential: the Go HTTP client's error
	// names the URL with its query string.
	presignedURLError = `read AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/12/04/111122223333_CloudTrail_us-east-1_20261204T1005Z_x.json.gz: Get "https://trail-bucket.s3.us-east-1.amazonaws.com/AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/12/04/111122223333_CloudTrail_us-east-1_20261204T1005Z_x.json.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQWERTYUIOPASDF12%2F20261204%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261204T101500Z&X-Amz-Expires=900&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQDsessiontokensecret&X-Amz-SignedHeaders=host&X-Amz-Signature=3f1c0ffee4b1d2e0a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6": dial tcp 52.216.0.1:443: i/o timeout`
	// S3's answer to a bad signature echoes the request: the key ID, the signature and the
	// canonical request (with the session token) in text and hex.
	s3SignatureError = `operation error S3: GetObject, https response error StatusCode: 403, RequestID: 4Q7ZJ3K1, HostID: hostid, api error SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.
<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256
20261204T101500Z
20261204/us-east-1/s3/aws4_request
9e0e90d9c76ab8e1bf8c1a9d7d4e</StringToSign><SignatureProvided>0badc0de0badc0de0badc0de0badc0de</SignatureProvided><StringToSignBytes>41 57 53 34 2d 48 4d 41 43</StringToSignBytes><CanonicalRequest>GET
/AWSLogs/111122223333/CloudTrail/x.json.gz
X-Amz-Security-Token=FwoGZXIvYXdzEBcanonicaltokensecret
host:trail-bucket.s3.amazonaws.com</CanonicalRequest><CanonicalRequestBytes>47 45 54 0a 2f 41 57 53 secrethex</CanonicalRequestBytes><RequestId>4Q7ZJ3K1</RequestId></Error>
Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261204/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024`
	// An STS answer the SDK could not decode, echoed whole: the temporary credentials.
	stsBodyError = `assume arn:aws:iam::444455556666:role/permlake-reader for account 444455556666: operation error STS: AssumeRole, deserialization failed, body: <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAJEXAMPLEXEG2JICE</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey><SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764stssessionsecret</SessionToken><Expiration>2026-12-04T11:15:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>; also {"SessionToken": "jsonSessionSecret", "SecretAccessKey": "jsonSecretKey/abc+def"} aws_secret_access_key=iniSecretKey`
	// azblob's ResponseError for a SAS URL, and a bearer token echoed by a proxy.
	azureSASError = `read insights-activity-logs/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/y=2026/m=12/d=04/h=10/m=00/PT1H.json: GET https://permlakelogs.blob.core.windows.net/insights-activity-logs/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/y=2026/m=12/d=04/h=10/m=00/PT1H.json?se=2026-12-31T00%3A00%3A00Z&sig=Zm9vYmFyc2lnbmF0dXJlc2VjcmV0%2BAbC%3D&sp=rl&spr=https&sr=c&sv=2023-11-03&skoid=11111111-2222&sktid=33333333-4444
--------------------------------------------------------------------------------
RESPONSE 403: 403 Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.
ERROR CODE: AuthenticationFailed
--------------------------------------------------------------------------------
Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3N0b3JhZ2UuYXp1cmUuY29tIn0.c2lnbmF0dXJlc2VjcmV0
token in body: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.jwtsignaturesecret DefaultEndpointsProtocol=https;AccountName=permlakelogs;AccountKey=YWNjb3VudGtleXNlY3JldA==;EndpointSuffix=core.windows.net`
)

// RedactCases pairs each fixture with what must go and what must stay.
var redactCases = []struct {
	name         string
	in           string
	secrets      []string
	keep         []string
	wantRedacted int // at least this many markers
}{
	{"s3 presigned URL", presignedURLError,
		[]string{"ASIAQWERTYUIOPASDF12", "IQoJb3JpZ2luX2VjEJr", "sessiontokensecret", "3f1c0ffee4b1d2e0a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6"},
		[]string{"AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/12/04/111122223333_CloudTrail_us-east-1_20261204T1005Z_x.json.gz", "trail-bucket.s3.us-east-1.amazonaws.com", "X-Amz-Expires=900", "i/o timeout"}, 3},
	{"s3 SignatureDoesNotMatch", s3SignatureError,
		[]string{"AKIAIOSFODNN7EXAMPLE", "0badc0de", "canonicaltokensecret", "secrethex", "41 57 53 34", "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"},
		[]string{"SignatureDoesNotMatch", "StatusCode: 403", "RequestID: 4Q7ZJ3K1", "GetObject"}, 5},
	{"sts body", stsBodyError,
		[]string{"ASIAJEXAMPLEXEG2JICE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AQoDYXdzEPT", "sessionsecret", "jsonSessionSecret", "jsonSecretKey", "iniSecretKey"},
		[]string{"arn:aws:iam::444455556666:role/permlake-reader", "account 444455556666", "AssumeRole", "2026-12-04T11:15:00Z"}, 6},
	{"azure SAS URL", azureSASError,
		[]string{"Zm9vYmFyc2lnbmF0dXJlc2VjcmV0", "2026-12-31T00%3A00%3A00Z", "sp=rl", "11111111-2222", "33333333-4444", "c2lnbmF0dXJlc2VjcmV0", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9", "jwtsignaturesecret", "YWNjb3VudGtleXNlY3JldA"},
		[]string{"permlakelogs.blob.core.windows.net/insights-activity-logs/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/y=2026/m=12/d=04/h=10/m=00/PT1H.json", "AuthenticationFailed", "RESPONSE 403", "AccountName=permlakelogs"}, 6},
	{"nothing secret", "read AWSLogs/111122223333/x.json.gz: unexpected EOF; Signature is not a key here; case=1&use=2",
		nil, []string{"read AWSLogs/111122223333/x.json.gz: unexpected EOF; Signature is not a key here; case=1&use=2"}, 0},
	{"password in URL", "dial https://user:hunter2@proxy.example.com:8080/x: refused",
		[]string{"hunter2"}, []string{"https://user:", "@proxy.example.com:8080/x: refused"}, 1},
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range redactCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Redact(tc.in)
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("secret %q survived:\n%s", s, got)
				}
			}
			for _, s := range tc.keep {
				if !strings.Contains(got, s) {
					t.Errorf("lost %q:\n%s", s, got)
				}
			}
			if n := strings.Count(got, Redacted); n < tc.wantRedacted {
				t.Errorf("%d redactions, want ≥ %d:\n%s", n, tc.wantRedacted, got)
			}
			if again := Redact(got); again != got {
				t.Errorf("not idempotent:\n%s\n%s", got, again)
			}
		})
	}
}

func FuzzRedact(f *testing.F) {
	for _, tc := range redactCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Redact(s)
		if Redact(r) != r {
			t.Errorf("not idempotent: %q -> %q -> %q", s, r, Redact(r))
		}
	})
}
