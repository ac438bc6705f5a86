package transform

// This file keeps AzureActivity as it was when it decoded every line itself, with goccy/go-json
// and a nested json.Unmarshal per string, before the decoding moved into AzureActivityFields
// (shared with the reader's single decode) and strings got a fast path: the reference the new
// code is checked against (TestAzureActivityMatchesReference, FuzzAzureActivityMatchesReference):
// same rows, same errors, for every input.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// refAzActivityRecord is an Activity Log record in the storage (resource-log) schema, FORMATS.md
// §4.2. goccy/go-json matches keys case-insensitively, as encoding/json does, which absorbs the
// spelling differences between exports ("Level", "ResourceId"). Scalars are refAzText because
// exports write some of them as numbers, and the REST schema as {value, localizedValue}.
type refAzActivityRecord struct {
	Time            *refAzText      `json:"time"`
	ResourceID      refAzText       `json:"resourceId"`
	OperationName   refAzText       `json:"operationName"`
	Category        refAzText       `json:"category"`
	ResultType      refAzText       `json:"resultType"`
	ResultSignature refAzText       `json:"resultSignature"`
	CallerIPAddress refAzText       `json:"callerIpAddress"`
	CorrelationID   refAzText       `json:"correlationId"`
	Level           refAzText       `json:"level"`
	TenantID        refAzText       `json:"tenantId"`
	Identity        json.RawMessage `json:"identity"`
	Properties      json.RawMessage `json:"properties"`
}

// refAzIdentity is the record's "identity": the RBAC check (authorization) and the caller's token
// claims. Claims are kept as raw values: the claim set differs between user, application and
// managed-identity tokens, and a claim of an unexpected type must not cost the record.
type refAzIdentity struct {
	Authorization *struct {
		Action   refAzText `json:"action"`
		Scope    refAzText `json:"scope"`
		Evidence *struct {
			RoleAssignmentID refAzText `json:"roleAssignmentId"`
			RoleDefinitionID refAzText `json:"roleDefinitionId"`
			PrincipalID      refAzText `json:"principalId"`
			PrincipalType    refAzText `json:"principalType"`
		} `json:"evidence"`
	} `json:"authorization"`
	Claims map[string]json.RawMessage `json:"claims"`
}

// refAzureActivity is AzureActivity as it was before AzureActivityRecord; it turns one Activity Log record (one line of an insights-activity-logs PT1H.json
// blob, FORMATS.md §4.1–4.2) into a row. A record without time or operationName is an error
// naming the field and the record; so is a time that does not parse. Everything else is
// optional: a field of an unexpected shape leaves its column NULL, and identity and properties
// are kept whole as JSON text.
func refAzureActivity(line []byte, meta RecordMeta) (schemas.AzureActivityEvent, error) {
	text := azTrimRecord(line)
	sum := sha256.Sum256(text) // before decoding: the key is of the text as read
	var r refAzActivityRecord
	if err := json.Unmarshal(text, &r); err != nil {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: %w", meta.name(), err)
	}
	if r.Time == nil || *r.Time == "" {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: no time", meta.name())
	}
	if r.OperationName == "" {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: no operationName", meta.name())
	}
	at, err := azParseTime(string(*r.Time))
	if err != nil {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: time: %w", meta.name(), err)
	}
	resID, op := string(r.ResourceID), string(r.OperationName)
	ev := schemas.AzureActivityEvent{
		RecordKey:       hex.EncodeToString(sum[:]),
		EventTime:       at,
		ResourceID:      resID,
		ResourceIDLC:    strings.ToLower(resID),
		OperationName:   op,
		ResultType:      opt(string(r.ResultType)),
		ResultSignature: opt(string(r.ResultSignature)),
		CallerIPAddress: opt(string(r.CallerIPAddress)),
		CorrelationID:   opt(string(r.CorrelationID)),
		Level:           opt(string(r.Level)),
		Identity:        optJSON(r.Identity),
		Properties:      optJSON(r.Properties),
		RunID:           meta.RunID,
		SourceKey:       meta.SourceKey,
		SourceLine:      meta.Line,
	}
	// Only a completed operation is a use: the Administrative category writes a Start (or
	// Accept) record and then a Succeeded/Failed one with the same correlationId (§4.3).
	// "Success" is the spelling of the storage-schema sample, "Succeeded" of the REST schema.
	rt := string(r.ResultType)
	ev.IsSuccess = strings.EqualFold(rt, "Succeeded") || strings.EqualFold(rt, "Success")
	ev.ResourceGroup, ev.ResourceProvider = refAzResourceParts(resID)
	if ev.ResourceProvider == nil {
		ev.ResourceProvider = azProviderOfOperation(op)
	}

	// properties.eventCategory carries the REST category (Administrative, Policy, …). The
	// top-level category of storage records may instead say "Write" (the schema sample), which
	// FORMATS.md §4.2 maps to Administrative: the kind of operation, not a category.
	var props struct {
		EventCategory refAzText `json:"eventCategory"`
	}
	if p := bytes.TrimSpace(r.Properties); len(p) > 0 && p[0] == '{' && json.Unmarshal(p, &props) == nil && props.EventCategory != "" {
		ev.Category = opt(string(props.EventCategory))
	} else {
		ev.Category = opt(azCategory(string(r.Category)))
	}

	var id refAzIdentity
	if raw := bytes.TrimSpace(r.Identity); len(raw) > 0 && raw[0] == '{' {
		// A malformed identity leaves the caller columns NULL; the JSON text is still kept.
		if json.Unmarshal(raw, &id) != nil {
			id = refAzIdentity{}
		}
	}
	var evidencePrincipal string
	if a := id.Authorization; a != nil {
		if azValidAction(string(a.Action)) {
			ev.Action = opt(strings.ToLower(string(a.Action)))
		}
		ev.AuthorizationScope = opt(string(a.Scope))
		if e := a.Evidence; e != nil {
			// The evidence's GUIDs are written without hyphens in the sample record, and may be
			// full ARM IDs (…/roleAssignments/<guid>): take the last segment, then normalise (§4.2).
			ev.RoleAssignmentID = refAzOptGUID(azLastSegment(string(e.RoleAssignmentID)))
			ev.RoleDefinitionID = refAzOptGUID(azLastSegment(string(e.RoleDefinitionID)))
			ev.PrincipalType = opt(string(e.PrincipalType))
			evidencePrincipal = string(e.PrincipalID)
		}
	}
	if ev.Action == nil && azIsWriteLike(op) && azValidAction(op) {
		// Records without an authorization block (some service-initiated ones) still name the
		// permission in operationName; reads are never logged and never inferred (§4.3).
		ev.Action = opt(strings.ToLower(op))
	}
	ev.PrincipalID = refAzOptGUID(refAzClaim(id.Claims, azClaimObjectID))
	if ev.PrincipalID == nil {
		ev.PrincipalID = refAzOptGUID(evidencePrincipal)
	}
	ev.TenantID = refAzOptGUID(refAzClaim(id.Claims, azClaimTenantID))
	if ev.TenantID == nil {
		ev.TenantID = refAzOptGUID(string(r.TenantID))
	}
	ev.Caller = opt(refAzClaim(id.Claims, azClaimCaller))
	ev.AppID = refAzOptGUID(refAzClaim(id.Claims, azClaimAppID))
	return ev, nil
}

// azClaim returns the first of keys present in claims with a non-empty scalar value.
func refAzClaim(claims map[string]json.RawMessage, keys []string) string {
	for _, k := range keys {
		v, ok := claims[k]
		if !ok {
			continue
		}
		var s refAzText
		if json.Unmarshal(v, &s) == nil && s != "" {
			return string(s)
		}
	}
	return ""
}

// refAzText decodes a JSON string, number or boolean as its text (sign-in exports write levels and
// codes as numbers), null and arrays as "". An object with a "value" key (the REST schema's
// {value, localizedValue}, e.g. operationName) yields that value.
type refAzText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *refAzText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")) || b[0] == '[':
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = refAzText(s)
	case b[0] == '{':
		var v struct {
			Value refAzText `json:"value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*t = v.Value
	default:
		*t = refAzText(b)
	}
	return nil
}

// refAzResourceParts reads the resource group and the provider namespace, lower case, from an ARM
// resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/<ns>/<type>/<name>…, in any
// case. For an extension resource (…/providers/A/x/y/providers/B/z/w) the last namespace is the
// resource's own.
func refAzResourceParts(resourceID string) (group, provider *string) {
	segs := strings.Split(strings.ToLower(resourceID), "/")
	if len(segs) >= 5 && segs[0] == "" && segs[1] == "subscriptions" && segs[3] == "resourcegroups" && segs[4] != "" {
		group = opt(segs[4])
	}
	for i := len(segs) - 2; i >= 1; i-- {
		if segs[i] == "providers" && segs[i+1] != "" {
			provider = opt(segs[i+1])
			break
		}
	}
	return group, provider
}

// refAzGUID normalises a GUID to the lower-case hyphenated 8-4-4-4-12 form ARM returns. It accepts
// the 32-digit form without hyphens (authorization evidence, §4.2) and braces.
func refAzGUID(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	var hexDigits [32]byte
	n := 0
	switch len(s) {
	case 32:
		copy(hexDigits[:], s)
		n = 32
	case 36:
		for i := 0; i < len(s); i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return "", false
				}
				continue
			}
			hexDigits[n] = s[i]
			n++
		}
	default:
		return "", false
	}
	for i := range hexDigits {
		c := hexDigits[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			hexDigits[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	h := string(hexDigits[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
}

// refAzOptGUID is refAzGUID for an optional column: nil when s is empty or not a GUID (the raw JSON
// text of the record keeps whatever was there).
func refAzOptGUID(s string) *string {
	g, ok := refAzGUID(s)
	if !ok {
		return nil
	}
	return &g
}
