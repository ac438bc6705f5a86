package activity

// This file keeps ParseLine's decoding as it was before the record's single decode (transform
// reads the fields decoded here instead of decoding the text again): the reference the new
// ParseLine is checked against (TestParseLineMatchesReference, FuzzParseLineMatchesReference).

import (
	"bytes"
	"fmt"
	"strings"

	json "github.com/goccy/go-json"
)

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

// refWire is the envelope as written. Keys match case-insensitively (goccy/go-json follows
// encoding/json), which absorbs sign-in exports' "Level" and similar spellings.
type refWire struct {
	Time              *string         `json:"time"`
	ResourceID        refFlexString   `json:"resourceId"`
	OperationName     refFlexString   `json:"operationName"`
	Category          refFlexString   `json:"category"`
	ResultType        refFlexString   `json:"resultType"`
	ResultSignature   refFlexString   `json:"resultSignature"`
	ResultDescription refFlexString   `json:"resultDescription"`
	DurationMs        flexInt         `json:"durationMs"`
	CallerIPAddress   refFlexString   `json:"callerIpAddress"`
	CorrelationID     refFlexString   `json:"correlationId"`
	Level             refFlexString   `json:"level"`
	Location          refFlexString   `json:"location"`
	TenantID          refFlexString   `json:"tenantId"`
	Identity          json.RawMessage `json:"identity"`
	Properties        json.RawMessage `json:"properties"`
	Records           json.RawMessage `json:"records"`
}

type refWireIdentity struct {
	Authorization *struct {
		Action   string    `json:"action"`
		Scope    string    `json:"scope"`
		Evidence *Evidence `json:"evidence"`
	} `json:"authorization"`
	Claims map[string]json.RawMessage `json:"claims"`
}

// refWireProperties is the union of the property fields read from Activity Log and sign-in records;
// unknown keys are skipped by the decoder.
type refWireProperties struct {
	EventCategory             refFlexString `json:"eventCategory"`
	ID                        refFlexString `json:"id"`
	CreatedDateTime           refFlexString `json:"createdDateTime"`
	UserPrincipalName         refFlexString `json:"userPrincipalName"`
	UserID                    refFlexString `json:"userId"`
	UserDisplayName           refFlexString `json:"userDisplayName"`
	UserType                  refFlexString `json:"userType"`
	AppID                     refFlexString `json:"appId"`
	AppDisplayName            refFlexString `json:"appDisplayName"`
	ServicePrincipalID        refFlexString `json:"servicePrincipalId"`
	ServicePrincipalName      refFlexString `json:"servicePrincipalName"`
	ResourceID                refFlexString `json:"resourceId"`
	ResourceDisplayName       refFlexString `json:"resourceDisplayName"`
	IPAddress                 refFlexString `json:"ipAddress"`
	ClientAppUsed             refFlexString `json:"clientAppUsed"`
	IsInteractive             *bool         `json:"isInteractive"`
	ConditionalAccessStatus   refFlexString `json:"conditionalAccessStatus"`
	AuthenticationRequirement refFlexString `json:"authenticationRequirement"`
	HomeTenantID              refFlexString `json:"homeTenantId"`
	ResourceTenantID          refFlexString `json:"resourceTenantId"`
	Status                    *struct {
		ErrorCode     flexInt       `json:"errorCode"`
		FailureReason refFlexString `json:"failureReason"`
	} `json:"status"`
}

// refParseLine decodes one line of an export blob: a record, or a {"records":[…]} wrapper (older
// exports and Event Hubs, FORMATS.md §4.1) whose elements each become a Record. A UTF-8 BOM and
// surrounding white space are ignored; a blank line yields no records and no error. A bad
// element of a wrapper is reported in errs with its Index while the other elements are returned.
// The returned records and errors carry container, blob, line and offset as given.
func refParseLine(containerName, blobName string, line, offset int64, b []byte) (recs []Record, errs []*LineError) {
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
	var w refWire
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
			var ew refWire
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

// record builds the Record from the decoded envelope; raw is copied so that the caller's buffer
// can be reused.
func (w *refWire) record(raw []byte) (Record, error) {
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
	r.Identity = refDecodeIdentity(w.Identity)
	if p := bytes.TrimSpace(w.Properties); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		r.Properties = bytes.Clone(p)
		// properties are kept raw whatever they hold; only an object is read further, and a
		// property of an unexpected type must not cost the record.
		var wp refWireProperties
		if p[0] == '{' && json.Unmarshal(p, &wp) == nil {
			r.EventCategory = string(wp.EventCategory)
			if signInCategories[strings.ToLower(r.Category)] {
				r.SignIn = wp.signIn()
			}
		}
	}
	return r, nil
}

func (wp *refWireProperties) signIn() *SignIn {
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

// refDecodeIdentity reads an Activity Log identity object or a sign-in record's display-name
// string. Anything else leaves the Identity empty: the raw line still has it.
func refDecodeIdentity(raw json.RawMessage) Identity {
	raw = bytes.TrimSpace(raw)
	var id Identity
	if len(raw) == 0 {
		return id
	}
	if raw[0] == '"' {
		_ = json.Unmarshal(raw, &id.Name)
		return id
	}
	var wi refWireIdentity
	if raw[0] != '{' || json.Unmarshal(raw, &wi) != nil {
		return id
	}
	if a := wi.Authorization; a != nil {
		id.Action, id.Scope, id.Evidence = a.Action, a.Scope, a.Evidence
	}
	claim := func(keys []string) string {
		for _, k := range keys {
			if v, ok := wi.Claims[k]; ok {
				var s refFlexString
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

// refFlexString decodes a JSON string, number or boolean as its text (sign-in exports write "Level"
// and some codes as numbers), null and arrays as "". An object with a "value" key (the REST schema's
// {value, localizedValue}) yields that value.
type refFlexString string

func (f *refFlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = refFlexString(s)
	case b[0] == '{':
		var v struct {
			Value refFlexString `json:"value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = v.Value
	case b[0] == '[':
		*f = "" // not a scalar: the raw record still has it
	default:
		*f = refFlexString(b) // number or boolean, as written
	}
	return nil
}
