package schemas

import (
	"regexp"
	"strings"
)

// Redacted replaces every secret Redact removes.
const Redacted = "[REDACTED]"

// secretNames are keys whose value is a credential wherever they appear: as a query parameter
// or key=value pair, a JSON or YAML field, an HTTP header or an XML element. The S3 error body of
// a rejected signature echoes the signature (SignatureProvided) and the canonical request in
// text and hex (CanonicalRequest, CanonicalRequestBytes, StringToSignBytes), which hold the
// presigned URL's session token; STS and the SDKs' credential files name the secret key and
// the session token.
var secretNames = []string{
	"X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-Credential", "AWSAccessKeyId",
	"Signature", "SignatureProvided", "CanonicalRequest", "CanonicalRequestBytes", "StringToSignBytes",
	"SessionToken", "SecretAccessKey", "SecretKey", "aws_secret_access_key", "aws_session_token",
	"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "Credential",
	"AccountKey", "SharedAccessSignature", "client_secret", "client_assertion",
	"access_token", "refresh_token", "id_token", "password",
}

// sasParams are the query parameters of an Azure shared access signature: sig is the
// signature; the others (expiry, permissions, start, the user-delegation key's fields) say
// what the token grants. Short names, so only as query parameters.
var sasParams = []string{"sig", "se", "sp", "st", "skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "sdd"}

var redactions = func() []struct {
	re   *regexp.Regexp
	repl string
} {
	names := make([]string, len(secretNames))
	for i, n := range secretNames {
		names[i] = regexp.QuoteMeta(n)
	}
	// Longest first, so that SignatureProvided is not read as Signature.
	sortByLenDesc(names)
	alt := strings.Join(names, "|")
	type rx = struct {
		re   *regexp.Regexp
		repl string
	}
	return []rx{
		// Authorization headers (AWS4-HMAC-SHA256 Credential=…, Signature=…; Bearer …;
		// SharedKey account:sig): everything up to the end of the line or the quoted value.
		{regexp.MustCompile(`(?i)(authorization["']?\s*[:=]\s*["']?)[^"'\r\n<]+`), "${1}" + Redacted},
		// <Name>value</Name>
		{regexp.MustCompile(`(?i)(<(?:` + alt + `)>)[^<]*`), "${1}" + Redacted},
		// Name=value, Name: value, "Name": "value" (also URL-encoded in a query string).
		{regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_-])((?:` + alt + `)["']?\s*[:=]\s*["']?)[^\s"'&<>,;{}\[\]]+`), "${1}${2}" + Redacted},
		// Azure SAS query parameters.
		{regexp.MustCompile(`(?i)([?&](?:` + strings.Join(sasParams, "|") + `)=)[^\s"'&<>,;#]+`), "${1}" + Redacted},
		// Bearer tokens and JSON web tokens wherever they are.
		{regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+`), "${1}" + Redacted},
		{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), Redacted},
		// AWS access key IDs (long-term AKIA, temporary ASIA): the prefix says which.
		{regexp.MustCompile(`\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`), "${1}" + Redacted},
		// Passwords in URLs: scheme://user:password@host.
		{regexp.MustCompile(`(://[^/\s:@"']+:)[^@\s/"']+@`), "${1}" + Redacted + "@"},
	}
}()

func sortByLenDesc(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && len(xs[j]) > len(xs[j-1]); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// Redact removes credentials from text that came from outside permlake (a server's error, a
// URL) before it is logged or stored: AWS access key IDs, secret keys and session tokens
// wherever they are named, request signatures (SigV4 query parameters and Authorization
// headers, S3's SignatureDoesNotMatch echo), Azure SAS tokens and account keys, bearer tokens
// and JWTs, and passwords in URLs. What the text says about which object or account failed
// stays. Redact is idempotent and safe for concurrent use.
func Redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// RedactAll redacts every string of xs in a new slice (nil stays nil).
func RedactAll(xs []string) []string {
	if xs == nil {
		return nil
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = Redact(x)
	}
	return out
}
