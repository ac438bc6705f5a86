package transform

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// DecodePolicyDocument returns the JSON text of a policy document as GetAccountAuthorizationDetails
// returns it: URL-encoded (RFC 3986) from the API, already decoded JSON from the CLI. Decoding uses
// PathUnescape, not QueryUnescape, which would turn '+' into a space (FORMATS.md §3.1).
func DecodePolicyDocument(doc string) (string, error) {
	s := strings.TrimSpace(doc)
	if s == "" {
		return "", fmt.Errorf("empty policy document")
	}
	if !strings.HasPrefix(s, "{") {
		d, err := url.PathUnescape(s)
		if err != nil {
			return "", fmt.Errorf("url-decode policy document: %w", err)
		}
		s = strings.TrimSpace(d)
	}
	if !json.Valid([]byte(s)) {
		return "", fmt.Errorf("policy document is not JSON")
	}
	return s, nil
}

// stringOrList decodes IAM's "a value or a list of values" fields.
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var xs []string
		if err := json.Unmarshal(b, &xs); err != nil {
			return err
		}
		*l = xs
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*l = []string{s}
	return nil
}

type policyStatement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Action       stringOrList    `json:"Action"`
	NotAction    stringOrList    `json:"NotAction"`
	Resource     stringOrList    `json:"Resource"`
	NotResource  stringOrList    `json:"NotResource"`
	Condition    json.RawMessage `json:"Condition"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
}

// PolicyStatements parses a decoded policy document into normalised statement rows for policyKey.
// Statement may be one object or a list; Action, NotAction, Resource and NotResource may be a
// string or a list. A statement with neither Action nor NotAction, or an Effect other than
// Allow/Deny, is an error naming the statement index: a malformed grant must not pass silently.
func PolicyStatements(policyKey, document string, base schemas.IAMPolicyStatement) ([]schemas.IAMPolicyStatement, error) {
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(document), &doc); err != nil {
		return nil, fmt.Errorf("policy %s: %w", policyKey, err)
	}
	var sts []policyStatement
	raw := bytes.TrimSpace(doc.Statement)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &sts); err != nil {
			return nil, fmt.Errorf("policy %s: Statement: %w", policyKey, err)
		}
	default:
		var one policyStatement
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("policy %s: Statement: %w", policyKey, err)
		}
		sts = []policyStatement{one}
	}
	out := make([]schemas.IAMPolicyStatement, 0, len(sts))
	for i, st := range sts {
		effect := st.Effect
		switch strings.ToLower(effect) {
		case "allow":
			effect = "Allow"
		case "deny":
			effect = "Deny"
		default:
			return nil, fmt.Errorf("policy %s statement %d: Effect %q is neither Allow nor Deny", policyKey, i, st.Effect)
		}
		if len(st.Action) == 0 && len(st.NotAction) == 0 {
			return nil, fmt.Errorf("policy %s statement %d: neither Action nor NotAction", policyKey, i)
		}
		row := base
		row.PolicyKey = policyKey
		row.StatementIndex = int32(i)
		row.Sid = opt(st.Sid)
		row.Effect = effect
		row.Actions = nonNil(st.Action)
		row.NotActions = nonNil(st.NotAction)
		row.Resources = nonNil(st.Resource)
		row.NotResources = nonNil(st.NotResource)
		row.Condition = optJSON(st.Condition)
		if row.Condition != nil && (*row.Condition == "{}") {
			row.Condition = nil
		}
		out = append(out, row)
	}
	return out, nil
}

func nonNil(l stringOrList) []string {
	if l == nil {
		return []string{}
	}
	return []string(l)
}
