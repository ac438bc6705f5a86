package transform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// RecordMeta says where one exported log record came from: the run, the blob it was read from
// (Lineage.SourceKey, e.g. "insights-activity-logs/resourceId=/SUBSCRIPTIONS/…/PT1H.json") and
// the record's 1-based line in that blob. Errors name the record by key and line.
type RecordMeta struct {
	Lineage
	Line int64
}

func (m RecordMeta) name() string { return fmt.Sprintf("%s line %d", m.SourceKey, m.Line) }

// azActivityRecord is an Activity Log record in the storage (resource-log) schema, FORMATS.md
// §4.2. goccy/go-json matches keys case-insensitively, as encoding/json does, which absorbs the
// spelling differences between exports ("Level", "ResourceId"). Scalars are azText because
// exports write some of them as numbers, and the REST schema as {value, localizedValue}.
type azActivityRecord struct {
	Time            *azText         `json:"time"`
	ResourceID      azText          `json:"resourceId"`
	OperationName   azText          `json:"operationName"`
	Category        azText          `json:"category"`
	ResultType      azText          `json:"resultType"`
	ResultSignature azText          `json:"resultSignature"`
	CallerIPAddress azText          `json:"callerIpAddress"`
	CorrelationID   azText          `json:"correlationId"`
	Level           azText          `json:"level"`
	TenantID        azText          `json:"tenantId"`
	Identity        json.RawMessage `json:"identity"`
	Properties      json.RawMessage `json:"properties"`
}

// azIdentity is the record's "identity": the RBAC check (authorization) and the caller's token
// claims. Claims are kept as raw values: the claim set differs between user, application and
// managed-identity tokens, and a claim of an unexpected type must not cost the record.
type azIdentity struct {
	Authorization *struct {
		Action   azText `json:"action"`
		Scope    azText `json:"scope"`
		Evidence *struct {
			RoleAssignmentID azText `json:"roleAssignmentId"`
			RoleDefinitionID azText `json:"roleDefinitionId"`
			PrincipalID      azText `json:"principalId"`
			PrincipalType    azText `json:"principalType"`
		} `json:"evidence"`
	} `json:"authorization"`
	Claims map[string]json.RawMessage `json:"claims"`
}

// Claim keys (FORMATS.md §4.2): storage records use full claim URIs, newer tokens the short
// names. The first key present with a usable value wins.
var (
	azClaimObjectID = []string{"http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"}
	azClaimTenantID = []string{"http://schemas.microsoft.com/identity/claims/tenantid", "tid"}
	azClaimCaller   = []string{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn", "name"}
	azClaimAppID    = []string{"appid", "azp"}
)

// AzureActivity turns one Activity Log record (one line of an insights-activity-logs PT1H.json
// blob, FORMATS.md §4.1–4.2) into a row. A record without time or operationName is an error
// naming the field and the record; so is a time that does not parse. Everything else is
// optional: a field of an unexpected shape leaves its column NULL, and identity and properties
// are kept whole as JSON text. A reader that has decoded the record already passes its fields to
// AzureActivityRecord instead, which gives the same row and the same error.
func AzureActivity(line []byte, meta RecordMeta) (schemas.AzureActivityEvent, error) {
	text := azTrimRecord(line)
	var r azActivityRecord
	if err := json.Unmarshal(text, &r); err != nil {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: %w", meta.name(), err)
	}
	f := AzureActivityFields{
		Text: text, ResourceID: string(r.ResourceID), OperationName: string(r.OperationName), Category: string(r.Category),
		ResultType: string(r.ResultType), ResultSignature: string(r.ResultSignature), CallerIPAddress: string(r.CallerIPAddress),
		CorrelationID: string(r.CorrelationID), Level: string(r.Level), TenantID: string(r.TenantID),
		Identity: r.Identity, Properties: r.Properties,
	}
	if r.Time != nil {
		f.Time = string(*r.Time)
	}
	var props struct {
		EventCategory azText `json:"eventCategory"`
	}
	if p := bytes.TrimSpace(r.Properties); len(p) > 0 && p[0] == '{' && json.Unmarshal(p, &props) == nil {
		f.EventCategory = string(props.EventCategory)
	}
	var id azIdentity
	if raw := bytes.TrimSpace(r.Identity); len(raw) > 0 && raw[0] == '{' {
		// A malformed identity leaves the caller columns NULL; the JSON text is still kept.
		if json.Unmarshal(raw, &id) != nil {
			id = azIdentity{}
		}
	}
	if a := id.Authorization; a != nil {
		f.Action, f.Scope = string(a.Action), string(a.Scope)
		if e := a.Evidence; e != nil {
			f.RoleAssignmentID, f.RoleDefinitionID = string(e.RoleAssignmentID), string(e.RoleDefinitionID)
			f.EvidencePrincipalID, f.PrincipalType = string(e.PrincipalID), string(e.PrincipalType)
		}
	}
	f.ObjectID = azClaim(id.Claims, azClaimObjectID)
	f.TenantClaim = azClaim(id.Claims, azClaimTenantID)
	f.Caller = azClaim(id.Claims, azClaimCaller)
	f.AppID = azClaim(id.Claims, azClaimAppID)
	return AzureActivityRecord(f, meta)
}

// AzureActivityFields is one Activity Log record already decoded, in the storage schema's terms
// (FORMATS.md §4.2): what AzureActivityRecord needs to shape its row without reading the JSON
// again. Strings are the values as written ("" when absent, null or not a scalar; a {value,
// localizedValue} object gives its value; numbers and booleans their text).
type AzureActivityFields struct {
	Text []byte // the record's JSON text as read: the record key hashes it (white space and a BOM around it ignored)
	Time string // "time" as written; "" when absent, null or empty

	ResourceID, OperationName, Category                         string
	ResultType, ResultSignature, CallerIPAddress, CorrelationID string
	Level, TenantID                                             string // TenantID: the top-level tenantId

	Identity   json.RawMessage // "identity" as JSON text, nil when absent
	Properties json.RawMessage // "properties" as JSON text, nil when absent
	// EventCategory is properties.eventCategory when properties is an object of the expected
	// shape, else "".
	EventCategory string

	// identity.authorization, when identity is an object of the expected shape; all "" otherwise.
	Action, Scope                                                          string
	RoleAssignmentID, RoleDefinitionID, EvidencePrincipalID, PrincipalType string // its evidence, as written
	// Claims (identity.claims), each the first of its keys present with a non-empty value:
	// ObjectID objectidentifier URI or oid; TenantClaim tenantid URI or tid; Caller the upn URI,
	// upn or name; AppID appid or azp.
	ObjectID, TenantClaim, Caller, AppID string
}

// AzureActivityRecord is AzureActivity for a record its reader has decoded already: the same
// row, and the same error for a record without time or operationName or with a time that does
// not parse.
func AzureActivityRecord(f AzureActivityFields, meta RecordMeta) (schemas.AzureActivityEvent, error) {
	if f.Time == "" {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: no time", meta.name())
	}
	if f.OperationName == "" {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: no operationName", meta.name())
	}
	at, err := azParseTime(f.Time)
	if err != nil {
		return schemas.AzureActivityEvent{}, fmt.Errorf("activity record %s: time: %w", meta.name(), err)
	}
	sum := sha256.Sum256(azTrimRecord(f.Text)) // the key is of the text as read
	resID, op := f.ResourceID, f.OperationName
	lc := strings.ToLower(resID)
	ev := schemas.AzureActivityEvent{
		RecordKey:       hex.EncodeToString(sum[:]),
		EventTime:       at,
		ResourceID:      resID,
		ResourceIDLC:    lc,
		OperationName:   op,
		ResultType:      opt(f.ResultType),
		ResultSignature: opt(f.ResultSignature),
		CallerIPAddress: opt(f.CallerIPAddress),
		CorrelationID:   opt(f.CorrelationID),
		Level:           opt(f.Level),
		Identity:        optJSON(f.Identity),
		Properties:      optJSON(f.Properties),
		RunID:           meta.RunID,
		SourceKey:       meta.SourceKey,
		SourceLine:      meta.Line,
	}
	// Only a completed operation is a use: the Administrative category writes a Start (or
	// Accept) record and then a Succeeded/Failed one with the same correlationId (§4.3).
	// "Success" is the spelling of the storage-schema sample, "Succeeded" of the REST schema.
	rt := f.ResultType
	ev.IsSuccess = strings.EqualFold(rt, "Succeeded") || strings.EqualFold(rt, "Success")
	ev.ResourceGroup, ev.ResourceProvider = azResourcePartsLower(lc)
	if ev.ResourceProvider == nil {
		ev.ResourceProvider = azProviderOfOperation(op)
	}

	// properties.eventCategory carries the REST category (Administrative, Policy, …). The
	// top-level category of storage records may instead say "Write" (the schema sample), which
	// FORMATS.md §4.2 maps to Administrative: the kind of operation, not a category.
	if f.EventCategory != "" {
		ev.Category = opt(f.EventCategory)
	} else {
		ev.Category = opt(azCategory(f.Category))
	}

	if azValidAction(f.Action) {
		ev.Action = opt(strings.ToLower(f.Action))
	}
	ev.AuthorizationScope = opt(f.Scope)
	// The evidence's GUIDs are written without hyphens in the sample record, and may be full
	// ARM IDs (…/roleAssignments/<guid>): take the last segment, then normalise (§4.2).
	ev.RoleAssignmentID = azOptGUID(azLastSegment(f.RoleAssignmentID))
	ev.RoleDefinitionID = azOptGUID(azLastSegment(f.RoleDefinitionID))
	ev.PrincipalType = opt(f.PrincipalType)
	if ev.Action == nil && azIsWriteLike(op) && azValidAction(op) {
		// Records without an authorization block (some service-initiated ones) still name the
		// permission in operationName; reads are never logged and never inferred (§4.3).
		ev.Action = opt(strings.ToLower(op))
	}
	ev.PrincipalID = azOptGUID(f.ObjectID)
	if ev.PrincipalID == nil {
		ev.PrincipalID = azOptGUID(f.EvidencePrincipalID)
	}
	ev.TenantID = azOptGUID(f.TenantClaim)
	if ev.TenantID == nil {
		ev.TenantID = azOptGUID(f.TenantID)
	}
	ev.Caller = opt(f.Caller)
	ev.AppID = azOptGUID(f.AppID)
	return ev, nil
}

// SubscriptionOf returns the subscription ID, lower case, of a resource ID that starts with
// /subscriptions/<uuid> (in any case: export paths and some records spell it /SUBSCRIPTIONS/,
// FORMATS.md §4.1). It reports false for tenant-, management-group- and root-level IDs and for a
// segment that is not a UUID.
func SubscriptionOf(resourceID string) (string, bool) {
	segs := strings.Split(resourceID, "/")
	if len(segs) < 3 || segs[0] != "" || !strings.EqualFold(segs[1], "subscriptions") {
		return "", false
	}
	id, ok := azGUID(segs[2])
	if !ok || len(segs[2]) != 36 {
		return "", false
	}
	return id, true
}

// azResourceParts reads the resource group and the provider namespace, lower case, from an ARM
// resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/<ns>/<type>/<name>…, in any
// case. For an extension resource (…/providers/A/x/y/providers/B/z/w) the last namespace is the
// resource's own.
func azResourceParts(resourceID string) (group, provider *string) {
	return azResourcePartsLower(strings.ToLower(resourceID))
}

// azResourcePartsLower is azResourceParts of an ID already in lower case. It walks the segments
// in place: splitting the ID cost an allocation of every segment for two of them.
func azResourcePartsLower(lc string) (group, provider *string) {
	// /subscriptions/<sub>/resourcegroups/<rg>[/…]: segments 1 to 4.
	if rest, ok := strings.CutPrefix(lc, "/subscriptions/"); ok {
		if _, rest, ok = strings.Cut(rest, "/"); ok {
			if rest, ok = strings.CutPrefix(rest, "resourcegroups/"); ok {
				if rg, _, _ := strings.Cut(rest, "/"); rg != "" {
					group = opt(rg)
				}
			}
		}
	}
	// The last "providers" segment (not the first nor the last segment) followed by a
	// non-empty one.
	end := len(lc)
	for end > 0 {
		i := strings.LastIndexByte(lc[:end], '/')
		if i < 0 {
			break
		}
		// lc[i+1:end] is a segment; it is segment 0 only when i < 0 (handled above).
		if lc[i+1:end] == "providers" && i+1 > 0 && end < len(lc) {
			next := lc[end+1:]
			if j := strings.IndexByte(next, '/'); j >= 0 {
				next = next[:j]
			}
			if next != "" {
				provider = opt(next)
				break
			}
		}
		end = i
	}
	return group, provider
}

// azProviderOfOperation is the namespace of an RBAC operation name
// ({Provider}/{resourceType}/{verb}, §4.2), lower case; nil when the name has no namespace.
func azProviderOfOperation(op string) *string {
	ns, _, ok := strings.Cut(op, "/")
	if !ok || !strings.Contains(ns, ".") {
		return nil
	}
	return opt(strings.ToLower(ns))
}

// azCategory is the top-level category of an Activity Log record, with the operation-kind
// spellings of the storage-schema sample ("Write", also "Delete" and "Action") read as the
// Administrative category they stand for (FORMATS.md §4.2).
func azCategory(c string) string {
	switch strings.ToLower(c) {
	case "write", "delete", "action":
		return "Administrative"
	}
	return c
}

// azValidAction reports whether s has the grammar of an Azure permission:
// <Namespace>/<resourceType>[/…]/<verb>, each segment letters, digits, '.', '-' or '_' (e.g.
// Microsoft.Compute/virtualMachines/start/action). Anything else — a forged "*" or
// "Microsoft.Authorization/*" in a record — is no action: a wildcard must never come from
// activity into a least-privilege role.
func azValidAction(s string) bool {
	if len(s) == 0 || len(s) > 512 {
		return false
	}
	segments := 1
	prev := byte('/')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			if prev == '/' {
				return false
			}
			segments++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
		prev = c
	}
	return segments >= 2 && prev != '/'
}

// azIsWriteLike reports whether an operation name is a write, delete or action: the operations
// the Activity Log records (§4.3).
func azIsWriteLike(op string) bool {
	op = strings.ToLower(op)
	return strings.HasSuffix(op, "/write") || strings.HasSuffix(op, "/delete") || strings.HasSuffix(op, "/action")
}

// azClaim returns the first of keys present in claims with a non-empty scalar value.
func azClaim(claims map[string]json.RawMessage, keys []string) string {
	for _, k := range keys {
		v, ok := claims[k]
		if !ok {
			continue
		}
		var s azText
		if json.Unmarshal(v, &s) == nil && s != "" {
			return string(s)
		}
	}
	return ""
}

var utf8BOM = []byte("\xEF\xBB\xBF")

// azTrimRecord is the record's JSON text: surrounding white space (\r of CRLF exports included)
// and a UTF-8 byte-order mark, which some exports write at the start of a blob, removed. The
// record key hashes this text, so the same record keys the same on any line of any blob.
func azTrimRecord(b []byte) []byte {
	b = bytes.TrimSpace(b)
	for bytes.HasPrefix(b, utf8BOM) {
		b = bytes.TrimSpace(b[len(utf8BOM):])
	}
	return b
}

// azTimeLayouts are the spellings of timestamps in Azure exports and ARM/Graph responses:
// RFC 3339 with up to 7 fractional digits (Azure writes 7, more than time.RFC3339Nano needs to
// know about) and Z or an offset, or the same without a zone, which is UTC: exports are in UTC
// (FORMATS.md §4.1) and ARM writes createdOn without a zone in older api-versions.
var azTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
}

// azParseTime parses an Azure timestamp and returns it in UTC.
func azParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range azTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unparsable time %q", s)
}

// azOptTime parses an optional timestamp: nil for "" and for Graph's 0001-01-01 "never".
func azOptTime(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := azParseTime(s)
	if err != nil {
		return nil, err
	}
	if t.Year() <= 1 {
		return nil, nil
	}
	return &t, nil
}

// azGUID normalises a GUID to the lower-case hyphenated 8-4-4-4-12 form ARM returns. It accepts
// the 32-digit form without hyphens (authorization evidence, §4.2) and braces.
func azGUID(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	var out [36]byte
	n := 0
	switch len(s) {
	case 32, 36:
	default:
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if len(s) == 36 && (i == 8 || i == 13 || i == 18 || i == 23) {
			if c != '-' {
				return "", false
			}
			continue
		}
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return "", false
		}
		if n == 8 || n == 13 || n == 18 || n == 23 {
			out[n] = '-'
			n++
		}
		out[n] = c
		n++
	}
	return string(out[:]), true
}

// azOptGUID is azGUID for an optional column: nil when s is empty or not a GUID (the raw JSON
// text of the record keeps whatever was there).
func azOptGUID(s string) *string {
	g, ok := azGUID(s)
	if !ok {
		return nil
	}
	return &g
}

// azLastSegment is what follows the last "/" of an ARM ID (the whole string when it has none,
// trailing slashes ignored).
func azLastSegment(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// azText decodes a JSON string, number or boolean as its text (sign-in exports write levels and
// codes as numbers), null and arrays as "". An object with a "value" key (the REST schema's
// {value, localizedValue}, e.g. operationName) yields that value.
type azText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *azText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")) || b[0] == '[':
		*t = ""
	case b[0] == '"':
		if s, ok := azPlainString(b); ok {
			*t = azText(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = azText(s)
	case b[0] == '{':
		var v struct {
			Value azText `json:"value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*t = v.Value
	default:
		*t = azText(b)
	}
	return nil
}

// azPlainString returns the text of a JSON string literal that needs no decoding: printable
// ASCII between its quotes, no escape. Anything else is left to the JSON decoder (ok false),
// which knows the rules for escapes and other bytes; a nested json.Unmarshal per field cost more
// than the scan of the whole record.
func azPlainString(b []byte) (s string, ok bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(in), true
}

// azSignInCategories maps a sign-in category, lower case, to its spelling in the
// diagnostic-settings list and the principal type it signs in (FORMATS.md §4.4).
var azSignInCategories = map[string]struct{ name, principalType string }{
	"signinlogs":                   {"SignInLogs", schemas.AzureUser},
	"noninteractiveusersigninlogs": {"NonInteractiveUserSignInLogs", schemas.AzureUser},
	"serviceprincipalsigninlogs":   {"ServicePrincipalSignInLogs", schemas.AzureServicePrincipal},
	"managedidentitysigninlogs":    {"ManagedIdentitySignInLogs", schemas.AzureManagedIdentity},
}

// azSignInRecord is an Entra sign-in record in the Azure Monitor schema: the resource-log
// envelope with the Graph signIn resource in properties (FORMATS.md §4.4).
type azSignInRecord struct {
	Time            *azText         `json:"time"`
	Category        azText          `json:"category"`
	ResultType      *azText         `json:"resultType"`
	CallerIPAddress azText          `json:"callerIpAddress"`
	Properties      json.RawMessage `json:"properties"`
}

type azSignInProperties struct {
	ID                      azText          `json:"id"`
	CreatedDateTime         azText          `json:"createdDateTime"`
	UserID                  azText          `json:"userId"`
	UserPrincipalName       azText          `json:"userPrincipalName"`
	ServicePrincipalID      azText          `json:"servicePrincipalId"`
	AppID                   azText          `json:"appId"`
	AppDisplayName          azText          `json:"appDisplayName"`
	ResourceDisplayName     azText          `json:"resourceDisplayName"`
	IPAddress               azText          `json:"ipAddress"`
	IsInteractive           json.RawMessage `json:"isInteractive"`
	ConditionalAccessStatus azText          `json:"conditionalAccessStatus"`
	Status                  *struct {
		ErrorCode *azText `json:"errorCode"`
	} `json:"status"`
}

// AzureSignIn turns one Entra sign-in record (one line of an insights-logs-*signinlogs blob,
// FORMATS.md §4.4) into a row. category is the export's category, known from the container
// ("ServicePrincipalSignInLogs" in any case; the container name "insights-logs-…" is accepted
// too); it wins over the record's own category field, which is used only when category is "".
// The record must have a sign-in category, properties.id and a time (the record's, else
// properties.createdDateTime); errors name the record and what is missing.
func AzureSignIn(line []byte, category string, meta RecordMeta) (schemas.AzureSignInEvent, error) {
	var r azSignInRecord
	if err := json.Unmarshal(azTrimRecord(line), &r); err != nil {
		return schemas.AzureSignInEvent{}, fmt.Errorf("sign-in record %s: %w", meta.name(), err)
	}
	if category == "" {
		category = string(r.Category)
	}
	cat, ok := azSignInCategories[strings.TrimPrefix(strings.ToLower(strings.TrimSpace(category)), "insights-logs-")]
	if !ok {
		return schemas.AzureSignInEvent{}, fmt.Errorf("sign-in record %s: category %q is not a sign-in category", meta.name(), category)
	}
	var p azSignInProperties
	if raw := bytes.TrimSpace(r.Properties); len(raw) == 0 || raw[0] != '{' {
		return schemas.AzureSignInEvent{}, fmt.Errorf("sign-in record %s: no properties", meta.name())
	} else if err := json.Unmarshal(raw, &p); err != nil {
		return schemas.AzureSignInEvent{}, fmt.Errorf("sign-in record %s: properties: %w", meta.name(), err)
	}
	if p.ID == "" {
		return schemas.AzureSignInEvent{}, fmt.Errorf("sign-in record %s: no properties.id", meta.name())
	}
	ts := string(p.CreatedDateTime)
	if r.Time != nil && *r.Time != "" {
		ts = string(*r.Time)
	}
	if ts == "" {
		return schemas.AzureSignInEvent{}, fmt.Errorf("sign-in record %s (%s): no time", meta.name(), p.ID)
	}
	at, err := azParseTime(ts)
	if err != nil {
		return schemas.AzureSignInEvent{}, fmt.Errorf("sign-in record %s (%s): time: %w", meta.name(), p.ID, err)
	}
	ev := schemas.AzureSignInEvent{
		SignInID:                string(p.ID),
		EventTime:               at,
		Category:                cat.name,
		PrincipalType:           cat.principalType,
		AppID:                   azOptGUID(string(p.AppID)),
		AppDisplayName:          opt(string(p.AppDisplayName)),
		ResourceDisplayName:     opt(string(p.ResourceDisplayName)),
		IsInteractive:           optBool(p.IsInteractive),
		IPAddress:               opt(string(p.IPAddress)),
		ConditionalAccessStatus: opt(string(p.ConditionalAccessStatus)),
		Properties:              optJSON(r.Properties),
		RunID:                   meta.RunID,
		SourceKey:               meta.SourceKey,
		SourceLine:              meta.Line,
	}
	if ev.IPAddress == nil {
		ev.IPAddress = opt(string(r.CallerIPAddress))
	}
	// Service-principal and managed-identity sign-ins leave userId empty and name the signer in
	// servicePrincipalId (Graph signIn resource).
	if cat.principalType == schemas.AzureUser {
		ev.PrincipalID = azOptGUID(string(p.UserID))
		ev.UserPrincipalName = opt(string(p.UserPrincipalName))
	} else {
		ev.PrincipalID = azOptGUID(string(p.ServicePrincipalID))
	}
	// resultType is the error code as text, "0" for success; a record without it still has
	// the code in properties.status.errorCode (a number in the Graph resource).
	switch {
	case r.ResultType != nil && *r.ResultType != "":
		ev.ResultType = opt(string(*r.ResultType))
	case p.Status != nil && p.Status.ErrorCode != nil:
		ev.ResultType = opt(string(*p.Status.ErrorCode))
	}
	ev.IsSuccess = ev.ResultType != nil && *ev.ResultType == "0"
	return ev, nil
}
