package activity

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
)

// Record is one exported log record, decoded into the fields a transform needs and kept whole in
// Raw. Field names follow the storage schema (FORMATS.md §4.2, §4.4); values are as written
// except where a field says it is normalised.
type Record struct {
	Container string // export container the blob is in
	Blob      string // blob name
	Offset    int64  // byte offset in the blob of the line (or document) that held the record
	Line      int64  // 1-based line number in the blob of that line (or of the document's first line)
	Index     int    // position inside a {"records":[…]} wrapper, 0 for a plain line

	Time              time.Time // "time", UTC
	TimeText          string    // "time" as written: a consumer with its own rules for timestamps reads this
	ResourceID        string    // "resourceId" as written (casing varies between records)
	ResourceIDLower   string    // ResourceID in lower case, for case-insensitive joins
	SubscriptionID    string    // lower case, from a /subscriptions/<id>/ resourceId; "" otherwise
	OperationName     string
	Category          string // top-level "category"
	EventCategory     string // properties.eventCategory: the REST category, preferred over Category (§4.2)
	ResultType        string // Activity Log: Start/Success/Failed…; sign-ins: error code as text, "0" = success
	ResultSignature   string
	ResultDescription string
	DurationMs        *int64
	CallerIPAddress   string
	CorrelationID     string
	Level             string // "Informational"… in the Activity Log; a number (as text) in sign-in logs
	Location          string
	TenantID          string
	Identity          Identity
	IdentityJSON      json.RawMessage // "identity" as raw JSON text, nil when absent
	Properties        json.RawMessage // "properties" as raw JSON text, nil when absent
	SignIn            *SignIn         // decoded properties of a sign-in record; nil for other categories
	Raw               []byte          // the record's JSON text exactly as read
}

// Identity is the caller of an Activity Log record: "identity.authorization" (the RBAC permission
// checked and the assignment that allowed it) and the token's claims (§4.2). Sign-in records carry
// a plain display name instead, kept in Name.
type Identity struct {
	Action    string    // identity.authorization.action: the permission exercised
	Scope     string    // identity.authorization.scope
	Evidence  *Evidence // identity.authorization.evidence, nil when absent
	ObjectID  string    // claims objectidentifier / oid
	TenantID  string    // claims tenantid / tid
	AppID     string    // claims appid / azp
	AppIDACR  string    // claims appidacr: 0 public client, 1 secret, 2 certificate
	UPN       string    // claims upn
	Name      string    // claims name, or the string "identity" of a sign-in record
	NameClaim string    // the short "name" claim alone (Name falls back to the name claim URI)
	IDType    string    // claims idtyp ("app", "user") when present
}

// Evidence names the role assignment that allowed an action. The sample shows the GUIDs without
// hyphens (§4.2); they are kept as written.
type Evidence struct {
	Role                string `json:"role"`
	RoleAssignmentScope string `json:"roleAssignmentScope"`
	RoleAssignmentID    string `json:"roleAssignmentId"`
	RoleDefinitionID    string `json:"roleDefinitionId"`
	PrincipalID         string `json:"principalId"`
	PrincipalType       string `json:"principalType"`
}

// SignIn holds the properties of an Entra sign-in record (Graph signIn resource, FORMATS.md §4.4)
// that attribute a sign-in to a principal and an application.
type SignIn struct {
	ID                        string
	CreatedAt                 time.Time // properties.createdDateTime, UTC; zero when absent
	UserPrincipalName         string
	UserID                    string
	UserDisplayName           string
	UserType                  string
	AppID                     string
	AppDisplayName            string
	ServicePrincipalID        string
	ServicePrincipalName      string
	ResourceID                string // the resource application signed in to (not an ARM ID)
	ResourceDisplayName       string
	IPAddress                 string
	ClientAppUsed             string
	IsInteractive             *bool
	ConditionalAccessStatus   string
	AuthenticationRequirement string
	ErrorCode                 *int64 // status.errorCode: 0 = success
	FailureReason             string // status.failureReason
	HomeTenantID              string
	ResourceTenantID          string
}

// signInCategories are the sign-in record categories, lower case.
var signInCategories = map[string]bool{
	"signinlogs":                   true,
	"noninteractiveusersigninlogs": true,
	"serviceprincipalsigninlogs":   true,
	"managedidentitysigninlogs":    true,
}

// Parse errors, wrapped in a *LineError.
var (
	ErrNotJSON     = errors.New("not a JSON object")
	ErrNoTime      = errors.New("record has no time")
	ErrBadTime     = errors.New("unparsable time")
	ErrLineTooLong = errors.New("line longer than the limit")
	ErrNoRecords   = errors.New("records wrapper holds no array")
)

// LineError is a line (or document) of a blob that could not be decoded. It was skipped; every
// other line of the blob was still returned.
type LineError struct {
	Container string
	Blob      string
	Line      int64 // 1-based
	Offset    int64 // byte offset of the line in the blob
	Index     int   // position inside a records wrapper, when the bad record was one of its elements
	Err       error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("blob %s/%s line %d: %v", e.Container, e.Blob, e.Line, e.Err)
}

// Unwrap returns the cause (ErrNotJSON, ErrBadTime, a JSON syntax error…).
func (e *LineError) Unwrap() error { return e.Err }

// wire is the envelope as written. Keys match case-insensitively (goccy/go-json follows
// encoding/json), which absorbs sign-in exports' "Level" and similar spellings.
type wire struct {
	Time              *string         `json:"time"`
	ResourceID        flexString      `json:"resourceId"`
	OperationName     flexString      `json:"operationName"`
	Category          flexString      `json:"category"`
	ResultType        flexString      `json:"resultType"`
	ResultSignature   flexString      `json:"resultSignature"`
	ResultDescription flexString      `json:"resultDescription"`
	DurationMs        flexInt         `json:"durationMs"`
	CallerIPAddress   flexString      `json:"callerIpAddress"`
	CorrelationID     flexString      `json:"correlationId"`
	Level             flexString      `json:"level"`
	Location          flexString      `json:"location"`
	TenantID          flexString      `json:"tenantId"`
	Identity          json.RawMessage `json:"identity"`
	Properties        json.RawMessage `json:"properties"`
	Records           json.RawMessage `json:"records"`
}

// wireIdentity reads scalars as flexString like the envelope does, so that a number or a
// {value} object where a string was expected costs neither the identity nor its claims.
type wireIdentity struct {
	Authorization *struct {
		Action   flexString    `json:"action"`
		Scope    flexString    `json:"scope"`
		Evidence *wireEvidence `json:"evidence"`
	} `json:"authorization"`
	Claims json.RawMessage `json:"claims"` // read by decodeClaims
}

// wireClaims are the claims Identity reads, by their exact keys (FORMATS.md §4.2).
type wireClaims struct {
	ObjectIDURI flexString `json:"http://schemas.microsoft.com/identity/claims/objectidentifier"`
	OID         flexString `json:"oid"`
	TenantIDURI flexString `json:"http://schemas.microsoft.com/identity/claims/tenantid"`
	TID         flexString `json:"tid"`
	UPNURI      flexString `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"`
	UPN         flexString `json:"upn"`
	Name        flexString `json:"name"`
	NameURI     flexString `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"`
	AppID       flexString `json:"appid"`
	AZP         flexString `json:"azp"`
	AppIDACR    flexString `json:"appidacr"`
	AZPACR      flexString `json:"azpacr"`
	IDType      flexString `json:"idtyp"`
}

// claimKeys are wireClaims' keys, quoted as they appear in JSON text.
var claimKeys = func() [][]byte {
	var out [][]byte
	t := reflect.TypeFor[wireClaims]()
	for i := range t.NumField() {
		out = append(out, []byte(`"`+t.Field(i).Tag.Get("json")+`"`))
	}
	return out
}()

// decodeClaims reads identity.claims: a JSON object of claim values (strings mostly), or null.
// Claims are matched by their exact keys, as a map[string]… would match them; the decoder matches
// a struct's keys case-insensitively, so the struct (which skips the other dozen claims without
// building a map: a map of raw values read one by one cost a quarter of the Activity Log's
// ingest) is used only when no key of the text can match a claim but by case. ok is false when
// claims is neither an object nor null: the identity is then malformed.
func decodeClaims(raw []byte) (c wireClaims, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return c, true
	}
	if raw[0] != '{' {
		return c, false
	}
	if exactClaimKeys(raw) {
		return c, json.Unmarshal(raw, &c) == nil
	}
	var m map[string]flexString
	if json.Unmarshal(raw, &m) != nil {
		return c, false
	}
	v := reflect.ValueOf(&c).Elem()
	for i, k := range claimKeys {
		v.Field(i).SetString(string(m[string(k[1:len(k)-1])]))
	}
	return c, true
}

// exactClaimKeys reports whether raw, a claims object, can be decoded into wireClaims with the
// same result as into a map: printable ASCII with no escapes (which could spell a key otherwise),
// and no string in it that equals a claim key but by case. A value that happens to spell a key so
// only makes it take the slower map. One pass over the text: counting each key's occurrences in
// it and in a lower-cased copy cost ten times the struct's decode.
func exactClaimKeys(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' || c >= 0x80 {
			return false
		}
		if c != '"' {
			continue
		}
		j := bytes.IndexByte(raw[i+1:], '"')
		if j < 0 {
			return false
		}
		tok := raw[i+1 : i+1+j]
		upper := false
		for _, d := range tok {
			if d == '\\' || d >= 0x80 {
				return false
			}
			upper = upper || 'A' <= d && d <= 'Z'
		}
		if upper {
			for _, k := range claimKeys {
				if k = k[1 : len(k)-1]; len(k) == len(tok) && bytes.EqualFold(k, tok) {
					return false
				}
			}
		}
		i += j + 1
	}
	return true
}

type wireEvidence struct {
	Role                flexString `json:"role"`
	RoleAssignmentScope flexString `json:"roleAssignmentScope"`
	RoleAssignmentID    flexString `json:"roleAssignmentId"`
	RoleDefinitionID    flexString `json:"roleDefinitionId"`
	PrincipalID         flexString `json:"principalId"`
	PrincipalType       flexString `json:"principalType"`
}

// wireProperties is the union of the property fields read from Activity Log and sign-in records;
// unknown keys are skipped by the decoder.
type wireProperties struct {
	EventCategory             flexString `json:"eventCategory"`
	ID                        flexString `json:"id"`
	CreatedDateTime           flexString `json:"createdDateTime"`
	UserPrincipalName         flexString `json:"userPrincipalName"`
	UserID                    flexString `json:"userId"`
	UserDisplayName           flexString `json:"userDisplayName"`
	UserType                  flexString `json:"userType"`
	AppID                     flexString `json:"appId"`
	AppDisplayName            flexString `json:"appDisplayName"`
	ServicePrincipalID        flexString `json:"servicePrincipalId"`
	ServicePrincipalName      flexString `json:"servicePrincipalName"`
	ResourceID                flexString `json:"resourceId"`
	ResourceDisplayName       flexString `json:"resourceDisplayName"`
	IPAddress                 flexString `json:"ipAddress"`
	ClientAppUsed             flexString `json:"clientAppUsed"`
	IsInteractive             *bool      `json:"isInteractive"`
	ConditionalAccessStatus   flexString `json:"conditionalAccessStatus"`
	AuthenticationRequirement flexString `json:"authenticationRequirement"`
	HomeTenantID              flexString `json:"homeTenantId"`
	ResourceTenantID          flexString `json:"resourceTenantId"`
	Status                    *struct {
		ErrorCode     flexInt    `json:"errorCode"`
		FailureReason flexString `json:"failureReason"`
	} `json:"status"`
}

// Claims are read by their keys in wireClaims: full claim URIs in Activity Log exports, short
// names in newer tokens (§4.2); the first key of each pair with a value wins.

// ParseLine decodes one line of an export blob: a record, or a {"records":[…]} wrapper (older
// exports and Event Hubs, FORMATS.md §4.1) whose elements each become a Record. A UTF-8 BOM and
// surrounding white space are ignored; a blank line yields no records and no error. A bad
// element of a wrapper is reported in errs with its Index while the other elements are returned.
// The returned records and errors carry container, blob, line and offset as given.
func ParseLine(containerName, blobName string, line, offset int64, b []byte) (recs []Record, errs []*LineError) {
	b = trimLine(b)
	if len(b) == 0 {
		return nil, nil
	}
	fail := func(index int, err error) *LineError {
		return &LineError{Container: containerName, Blob: blobName, Line: line, Offset: offset, Index: index, Err: err}
	}
	if b[0] != '{' {
		return nil, []*LineError{fail(0, ErrNotJSON)}
	}
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, []*LineError{fail(0, fmt.Errorf("%w: %w", ErrNotJSON, err))}
	}
	if w.Records != nil && w.Time == nil {
		var elems []json.RawMessage
		if err := json.Unmarshal(w.Records, &elems); err != nil {
			return nil, []*LineError{fail(0, fmt.Errorf("%w: %w", ErrNoRecords, err))}
		}
		for i, el := range elems {
			el = bytes.TrimSpace(el)
			var ew wire
			if len(el) == 0 || el[0] != '{' {
				errs = append(errs, fail(i, ErrNotJSON))
				continue
			}
			if err := json.Unmarshal(el, &ew); err != nil {
				errs = append(errs, fail(i, fmt.Errorf("%w: %w", ErrNotJSON, err)))
				continue
			}
			r, err := ew.record(el)
			if err != nil {
				errs = append(errs, fail(i, err))
				continue
			}
			r.Container, r.Blob, r.Line, r.Offset, r.Index = containerName, blobName, line, offset, i
			recs = append(recs, r)
		}
		return recs, errs
	}
	r, err := w.record(b)
	if err != nil {
		return nil, []*LineError{fail(0, err)}
	}
	r.Container, r.Blob, r.Line, r.Offset = containerName, blobName, line, offset
	return []Record{r}, nil
}

var bom = []byte("\xEF\xBB\xBF")

// trimLine drops a UTF-8 BOM (written at the start of some exports) and white space, \r included.
func trimLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	for bytes.HasPrefix(b, bom) {
		b = bytes.TrimSpace(b[len(bom):])
	}
	return b
}

// record builds the Record from the decoded envelope; raw is copied so that the caller's buffer
// can be reused.
func (w *wire) record(raw []byte) (Record, error) {
	if w.Time == nil || *w.Time == "" {
		return Record{}, ErrNoTime
	}
	t, err := ParseTime(*w.Time)
	if err != nil {
		return Record{}, err
	}
	r := Record{
		Time:              t,
		TimeText:          *w.Time,
		ResourceID:        string(w.ResourceID),
		ResourceIDLower:   strings.ToLower(string(w.ResourceID)),
		OperationName:     string(w.OperationName),
		Category:          string(w.Category),
		ResultType:        string(w.ResultType),
		ResultSignature:   string(w.ResultSignature),
		ResultDescription: string(w.ResultDescription),
		DurationMs:        w.DurationMs.ptr(),
		CallerIPAddress:   string(w.CallerIPAddress),
		CorrelationID:     string(w.CorrelationID),
		Level:             string(w.Level),
		Location:          string(w.Location),
		TenantID:          string(w.TenantID),
		Raw:               bytes.Clone(raw),
	}
	r.SubscriptionID = subscriptionOf(r.ResourceIDLower)
	if id := bytes.TrimSpace(w.Identity); len(id) > 0 {
		r.IdentityJSON = id
	}
	r.Identity = decodeIdentity(w.Identity)
	if p := bytes.TrimSpace(w.Properties); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		r.Properties = bytes.Clone(p)
		// properties are kept raw whatever they hold; only an object is read further, and a
		// property of an unexpected type must not cost the record.
		if p[0] == '{' {
			var wp wireProperties
			if json.Unmarshal(p, &wp) == nil {
				r.EventCategory = string(wp.EventCategory)
				if signInCategories[strings.ToLower(r.Category)] {
					r.SignIn = wp.signIn()
				}
			} else {
				// A sign-in property of an unexpected type (isInteractive, status) must not
				// cost the category either: read it alone (rare, malformed records only).
				var ec struct {
					EventCategory flexString `json:"eventCategory"`
				}
				if json.Unmarshal(p, &ec) == nil {
					r.EventCategory = string(ec.EventCategory)
				}
			}
		}
	}
	return r, nil
}

func (wp *wireProperties) signIn() *SignIn {
	s := &SignIn{
		ID: string(wp.ID), UserPrincipalName: string(wp.UserPrincipalName), UserID: string(wp.UserID),
		UserDisplayName: string(wp.UserDisplayName), UserType: string(wp.UserType), AppID: string(wp.AppID),
		AppDisplayName: string(wp.AppDisplayName), ServicePrincipalID: string(wp.ServicePrincipalID),
		ServicePrincipalName: string(wp.ServicePrincipalName), ResourceID: string(wp.ResourceID),
		ResourceDisplayName: string(wp.ResourceDisplayName), IPAddress: string(wp.IPAddress),
		ClientAppUsed: string(wp.ClientAppUsed), IsInteractive: wp.IsInteractive,
		ConditionalAccessStatus: string(wp.ConditionalAccessStatus), AuthenticationRequirement: string(wp.AuthenticationRequirement),
		HomeTenantID: string(wp.HomeTenantID), ResourceTenantID: string(wp.ResourceTenantID),
	}
	if wp.CreatedDateTime != "" {
		// A bad createdDateTime leaves CreatedAt zero: the record's own "time" already placed it.
		s.CreatedAt, _ = ParseTime(string(wp.CreatedDateTime))
	}
	if wp.Status != nil {
		s.ErrorCode = wp.Status.ErrorCode.ptr()
		s.FailureReason = string(wp.Status.FailureReason)
	}
	return s
}

// subscriptionOf returns the subscription ID of a lower-case resource ID, or "".
func subscriptionOf(lower string) string {
	const p = "/subscriptions/"
	if !strings.HasPrefix(lower, p) {
		return ""
	}
	id, _, _ := strings.Cut(lower[len(p):], "/")
	if !uuidPattern.MatchString(id) {
		return ""
	}
	return id
}

// decodeIdentity reads an Activity Log identity object or a sign-in record's display-name
// string. Anything else leaves the Identity empty: the raw line still has it.
func decodeIdentity(raw json.RawMessage) Identity {
	raw = bytes.TrimSpace(raw)
	var id Identity
	if len(raw) == 0 {
		return id
	}
	if raw[0] == '"' {
		_ = json.Unmarshal(raw, &id.Name)
		return id
	}
	var wi wireIdentity
	if raw[0] != '{' || json.Unmarshal(raw, &wi) != nil {
		return id
	}
	claims, ok := decodeClaims(wi.Claims)
	if !ok {
		return id
	}
	if a := wi.Authorization; a != nil {
		id.Action, id.Scope = string(a.Action), string(a.Scope)
		if e := a.Evidence; e != nil {
			id.Evidence = &Evidence{Role: string(e.Role), RoleAssignmentScope: string(e.RoleAssignmentScope), RoleAssignmentID: string(e.RoleAssignmentID),
				RoleDefinitionID: string(e.RoleDefinitionID), PrincipalID: string(e.PrincipalID), PrincipalType: string(e.PrincipalType)}
		}
	}
	first := func(vs ...flexString) string {
		for _, v := range vs {
			if v != "" {
				return string(v)
			}
		}
		return ""
	}
	c := &claims
	id.ObjectID = first(c.ObjectIDURI, c.OID)
	id.TenantID = first(c.TenantIDURI, c.TID)
	id.UPN = first(c.UPNURI, c.UPN)
	id.Name = first(c.Name, c.NameURI)
	id.NameClaim = string(c.Name)
	id.AppID = first(c.AppID, c.AZP)
	id.AppIDACR = first(c.AppIDACR, c.AZPACR)
	id.IDType = string(c.IDType)
	return id
}

// timeLayouts are the spellings of "time" seen in exports: RFC 3339 with up to 9 fractional
// digits (Azure writes 7) and Z or an offset, the same without a zone (taken as UTC, the export's
// zone per FORMATS.md §4.1), and a space instead of the T.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseTime parses an export timestamp and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w %q", ErrBadTime, s)
}

// flexString decodes a JSON string, number or boolean as its text (sign-in exports write "Level"
// and some codes as numbers), null and arrays as "". An object with a "value" key (the REST schema's
// {value, localizedValue}) yields that value.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*f = ""
	case b[0] == '"':
		if s, ok := plainString(b); ok {
			*f = flexString(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '{':
		var v struct {
			Value flexString `json:"value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = v.Value
	case b[0] == '[':
		*f = "" // not a scalar: the raw record still has it
	default:
		*f = flexString(b) // number or boolean, as written
	}
	return nil
}

// plainString returns the text of a JSON string literal that needs no decoding: printable ASCII
// between its quotes, no escape. Anything else (escapes, other bytes) is left to a JSON decoder,
// which knows their rules; ok is false then. Most strings of an export are plain, and a nested
// json.Unmarshal per field costs more than the whole record's scan.
func plainString(b []byte) (s string, ok bool) {
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

// flexInt decodes a JSON number or a numeric string; anything else (null, "", text) is absent.
type flexInt struct {
	v  int64
	ok bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(bytes.TrimSpace(b), `"`)
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*f = flexInt{v: n, ok: true}
	} else if x, err := strconv.ParseFloat(string(b), 64); err == nil {
		*f = flexInt{v: int64(x), ok: true}
	} else {
		*f = flexInt{}
	}
	return nil
}

func (f flexInt) ptr() *int64 {
	if !f.ok {
		return nil
	}
	v := f.v
	return &v
}
