package activity

import (
	"bytes"
	"errors"
	"fmt"
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
	Properties        json.RawMessage // "properties" as raw JSON text, nil when absent
	SignIn            *SignIn         // decoded properties of a sign-in record; nil for other categories
	Raw               []byte          // the record's JSON text exactly as read
}

// Identity is the caller of an Activity Log record: "identity.authorization" (the RBAC permission
// checked and the assignment that allowed it) and the token's claims (§4.2). Sign-in records carry
// a plain display name instead, kept in Name.
type Identity struct {
	Action   string    // identity.authorization.action: the permission exercised
	Scope    string    // identity.authorization.scope
	Evidence *Evidence // identity.authorization.evidence, nil when absent
	ObjectID string    // claims objectidentifier / oid
	TenantID string    // claims tenantid / tid
	AppID    string    // claims appid / azp
	AppIDACR string    // claims appidacr: 0 public client, 1 secret, 2 certificate
	UPN      string    // claims upn
	Name     string    // claims name, or the string "identity" of a sign-in record
	IDType   string    // claims idtyp ("app", "user") when present
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

type wireIdentity struct {
	Authorization *struct {
		Action   string    `json:"action"`
		Scope    string    `json:"scope"`
		Evidence *Evidence `json:"evidence"`
	} `json:"authorization"`
	Claims map[string]json.RawMessage `json:"claims"`
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

// Claim keys: full claim URIs in Activity Log exports, short names in newer tokens (§4.2).
var (
	claimObjectID = []string{"http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"}
	claimTenantID = []string{"http://schemas.microsoft.com/identity/claims/tenantid", "tid"}
	claimUPN      = []string{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn"}
	claimName     = []string{"name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"}
	claimAppID    = []string{"appid", "azp"}
	claimAppIDACR = []string{"appidacr", "azpacr"}
	claimIDType   = []string{"idtyp"}
)

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
	r.Identity = decodeIdentity(w.Identity)
	if p := bytes.TrimSpace(w.Properties); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		r.Properties = bytes.Clone(p)
		// properties are kept raw whatever they hold; only an object is read further, and a
		// property of an unexpected type must not cost the record.
		var wp wireProperties
		if p[0] == '{' && json.Unmarshal(p, &wp) == nil {
			r.EventCategory = string(wp.EventCategory)
			if signInCategories[strings.ToLower(r.Category)] {
				r.SignIn = wp.signIn()
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
	if a := wi.Authorization; a != nil {
		id.Action, id.Scope, id.Evidence = a.Action, a.Scope, a.Evidence
	}
	claim := func(keys []string) string {
		for _, k := range keys {
			if v, ok := wi.Claims[k]; ok {
				var s flexString
				if json.Unmarshal(v, &s) == nil && s != "" {
					return string(s)
				}
			}
		}
		return ""
	}
	id.ObjectID = claim(claimObjectID)
	id.TenantID = claim(claimTenantID)
	id.UPN = claim(claimUPN)
	id.Name = claim(claimName)
	id.AppID = claim(claimAppID)
	id.AppIDACR = claim(claimAppIDACR)
	id.IDType = claim(claimIDType)
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
