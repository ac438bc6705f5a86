package transform

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// ctRecord is the part of a CloudTrail record permlake reads (FORMATS.md §1.3, §1.7). Nested
// payloads stay raw and are kept as JSON text. Every string is a substring of one copy of the
// record (see decodeRecord), so a row costs a handful of allocations, not one per field.
type ctRecord struct {
	EventVersion        string
	UserIdentity        ctIdentity
	EventTime           string
	EventSource         string
	EventName           string
	AWSRegion           string
	SourceIPAddress     string
	UserAgent           string
	ErrorCode           string
	ErrorMessage        string
	RequestParameters   string // raw JSON
	ResponseElements    string // raw JSON
	AdditionalEventData string // raw JSON
	Resources           string // raw JSON
	RequestID           string
	EventID             string
	ReadOnly            string // raw JSON: a boolean, or a string in some record versions
	EventType           string
	ManagementEvent     string // raw JSON, as ReadOnly
	RecipientAccountID  string
	SharedEventID       string
	VPCEndpointID       string
	EventCategory       string
}

type ctIdentity struct {
	Type           string
	PrincipalID    string
	ARN            string
	AccountID      string
	AccessKeyID    string
	UserName       string
	InvokedBy      string
	SessionContext *ctSessionContext
	OnBehalfOf     *ctOnBehalfOf
}

type ctSessionContext struct {
	SessionIssuer struct {
		Type      string
		ARN       string
		AccountID string
		UserName  string
	}
	MFAAuthenticated string // raw JSON of attributes.mfaAuthenticated
	SourceIdentity   string
}

type ctOnBehalfOf struct {
	UserID           string
	IdentityStoreARN string
}

// Lineage is what every row carries about where it came from.
type Lineage struct {
	RunID     string
	SourceKey string
}

// CloudTrailEvent decodes one raw CloudTrail record into a row. It fails, naming the field, when the
// record lacks what no analysis can do without (eventID, a parsable eventTime, eventSource,
// eventName); the caller counts such records and goes on. raw is not retained: the row's strings
// share one copy of it.
func CloudTrailEvent(raw []byte, lin Lineage) (schemas.CloudTrailEvent, error) {
	var r ctRecord
	if err := decodeRecord(string(raw), &r); err != nil {
		return schemas.CloudTrailEvent{}, fmt.Errorf("decode record: %w", err)
	}
	switch {
	case r.EventID == "":
		return schemas.CloudTrailEvent{}, fmt.Errorf("record has no eventID")
	case r.EventSource == "" || r.EventName == "":
		return schemas.CloudTrailEvent{}, fmt.Errorf("record %s has no eventSource/eventName", r.EventID)
	}
	t, err := parseEventTime(r.EventTime)
	if err != nil {
		return schemas.CloudTrailEvent{}, fmt.Errorf("record %s: eventTime: %w", r.EventID, err)
	}
	o := new(optionals)
	ev := schemas.CloudTrailEvent{
		// A copy, not a substring of the record: writers keep event IDs (load.MergeWriter's
		// key set for deduplication) long after the row, and a substring would pin the whole
		// record with it (measured: +250 MiB peak RSS on the make bench set).
		EventID:                 strings.Clone(r.EventID),
		EventTime:               t,
		EventVersion:            r.EventVersion,
		EventSource:             r.EventSource,
		EventName:               r.EventName,
		EventType:               r.EventType,
		EventCategory:           o.str(r.EventCategory),
		AWSRegion:               r.AWSRegion,
		SourceIPAddress:         o.str(r.SourceIPAddress),
		UserAgent:               o.str(r.UserAgent),
		ErrorCode:               o.str(r.ErrorCode),
		ErrorMessage:            o.str(r.ErrorMessage),
		IsReadOnly:              o.boolean(r.ReadOnly),
		IsManagementEvent:       o.boolean(r.ManagementEvent),
		RecipientAccountID:      r.RecipientAccountID,
		SharedEventID:           o.str(r.SharedEventID),
		RequestID:               o.str(r.RequestID),
		VPCEndpointID:           o.str(r.VPCEndpointID),
		UserIdentityType:        r.UserIdentity.Type,
		UserIdentityARN:         o.str(r.UserIdentity.ARN),
		UserIdentityAccountID:   o.str(r.UserIdentity.AccountID),
		UserIdentityPrincipalID: o.str(r.UserIdentity.PrincipalID),
		AccessKeyID:             o.str(r.UserIdentity.AccessKeyID),
		InvokedBy:               o.str(r.UserIdentity.InvokedBy),
		IsSuccess:               r.ErrorCode == "",
		RequestParameters:       o.json(r.RequestParameters),
		ResponseElements:        o.json(r.ResponseElements),
		AdditionalEventData:     o.json(r.AdditionalEventData),
		Resources:               o.json(r.Resources),
		RunID:                   lin.RunID,
		SourceKey:               lin.SourceKey,
	}
	if sc := r.UserIdentity.SessionContext; sc != nil {
		ev.SourceIdentity = o.str(sc.SourceIdentity)
		ev.IsMFAAuthenticated = o.boolean(sc.MFAAuthenticated)
	}
	attribute(&ev, &r, o)
	ev.IAMActions, ev.ActionMapping = MapEvent(r.EventSource, r.EventName)
	if r.EventSource == "dynamodb.amazonaws.com" {
		if acts, ok := requestActions(r.EventSource, r.EventName, []byte(r.RequestParameters)); ok {
			ev.IAMActions, ev.ActionMapping = acts, schemas.MappingException
		}
	}
	if ev.PrincipalType == schemas.PrincipalService && ev.ActionMapping != schemas.MappingUnmapped && ev.ActionMapping != schemas.MappingNoPermission {
		ev.ActionMapping = schemas.MappingNotAPrincipal
	}
	if ev.IAMActions == nil {
		ev.IAMActions = []string{}
	}
	return ev, nil
}

// optionals backs a row's nullable columns with one allocation instead of one per column
// (they were ~20 of the ~44 allocations per record in the bench profile). A row's pointers keep
// the whole block alive, which is what the row needs anyway.
type optionals struct {
	strs  [24]string
	n     int
	bools [3]bool
	nb    int
}

func (o *optionals) str(s string) *string {
	if s == "" {
		return nil
	}
	if o.n == len(o.strs) {
		p := new(string) // not &s: that would move every s to the heap
		*p = s
		return p
	}
	o.strs[o.n] = s
	o.n++
	return &o.strs[o.n-1]
}

func (o *optionals) boolean(raw string) *bool {
	v, ok := parseBool(raw)
	if !ok {
		return nil
	}
	if o.nb == len(o.bools) {
		p := new(bool)
		*p = v
		return p
	}
	o.bools[o.nb] = v
	o.nb++
	return &o.bools[o.nb-1]
}

func (o *optionals) json(raw string) *string {
	raw = strings.TrimSpace(raw)
	if raw == "null" {
		return nil
	}
	return o.str(raw)
}

// attribute credits the call to a principal as DESIGN.md §4 and FORMATS.md §1.7 say.
func attribute(ev *schemas.CloudTrailEvent, r *ctRecord, o *optionals) {
	id := &r.UserIdentity
	issuer := func() (arn, acct, typ string) {
		if id.SessionContext != nil {
			s := id.SessionContext.SessionIssuer
			return s.ARN, s.AccountID, s.Type
		}
		return "", "", ""
	}
	ev.PrincipalAccountID = o.str(id.AccountID)
	if r.EventType == "AwsServiceEvent" || id.Type == "AWSService" {
		ev.PrincipalType = schemas.PrincipalService
		return
	}
	switch id.Type {
	case "IAMUser":
		ev.PrincipalType, ev.PrincipalARN = schemas.PrincipalIAMUser, o.str(id.ARN)
	case "Root":
		ev.PrincipalType = schemas.PrincipalRoot
		arn := id.ARN
		if arn == "" && id.AccountID != "" {
			arn = "arn:aws:iam::" + id.AccountID + ":root"
		}
		ev.PrincipalARN = o.str(arn)
	case "AssumedRole", "Role":
		ev.PrincipalType = schemas.PrincipalIAMRole
		arn, acct, _ := issuer()
		if arn == "" {
			arn = roleFromSessionARN(id.ARN)
		}
		ev.PrincipalARN = o.str(arn)
		if acct != "" {
			ev.PrincipalAccountID = o.str(acct)
		}
		ev.SessionName = o.str(afterLastSlash(id.ARN))
	case "FederatedUser":
		// GetFederationToken: credit the IAM user (or root) that federated.
		arn, acct, typ := issuer()
		ev.PrincipalType = schemas.PrincipalIAMUser
		if typ == "Root" {
			ev.PrincipalType = schemas.PrincipalRoot
		}
		if arn == "" {
			ev.PrincipalType = schemas.PrincipalFederated
			arn = id.ARN
		}
		ev.PrincipalARN = o.str(arn)
		if acct != "" {
			ev.PrincipalAccountID = o.str(acct)
		}
		ev.SessionName = o.str(afterLastSlash(id.ARN))
	case "IdentityCenterUser":
		ev.PrincipalType = schemas.PrincipalFederated
		if id.OnBehalfOf != nil && id.OnBehalfOf.UserID != "" {
			ev.PrincipalARN = o.str(id.OnBehalfOf.IdentityStoreARN + "/user/" + id.OnBehalfOf.UserID)
		}
	case "SAMLUser", "WebIdentityUser":
		ev.PrincipalType = schemas.PrincipalFederated
		ev.SessionName = o.str(id.UserName)
	case "AWSAccount":
		ev.PrincipalType = schemas.PrincipalAccount
	default:
		ev.PrincipalType = schemas.PrincipalUnknown
	}
}

// roleFromSessionARN turns arn:aws:sts::123456789012:assumed-role/Name/session into the role ARN
// arn:aws:iam::123456789012:role/Name. The role's path is not in a session ARN; records normally
// carry sessionIssuer.arn with it, this is the fallback.
func roleFromSessionARN(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return ""
	}
	name := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")[0]
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + name
}

func afterLastSlash(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// parseEventTime accepts the RFC 3339 forms CloudTrail writes ("2026-11-02T07:15:00Z", with or
// without fractional seconds) and returns UTC.
func parseEventTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optBool reads a JSON boolean that some record versions write as a string ("true").
func optBool(raw json.RawMessage) *bool {
	v, ok := parseBool(string(raw))
	if !ok {
		return nil
	}
	return &v
}

// parseBool reads a JSON boolean that some record versions write as a string ("true"); ok is
// false for anything else (null included).
func parseBool(raw string) (v, ok bool) {
	switch raw {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	switch strings.Trim(strings.ToLower(strings.TrimSpace(raw)), `"`) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func optJSON(raw json.RawMessage) *string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s := string(raw)
	return &s
}

// decodeRecord fills r from one CloudTrail record (a JSON object). It is a purpose-built decoder:
// it checks the whole text against the JSON grammar, as json.Unmarshal did, but builds only the
// fields that become columns, as substrings of src (strings with escapes are unescaped into new
// ones), and keeps nested payloads as their raw text. It follows encoding/json's rules where a
// record could tell them apart: keys match case-insensitively, a later duplicate wins (objects
// merge), null leaves a field as it was, and a value of the wrong type is an error.
func decodeRecord(src string, r *ctRecord) error {
	d := decoder{s: src}
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
	} else if d.i >= len(d.s) || d.s[d.i] != '{' {
		return d.typeError("CloudTrail record")
	} else if err := d.object(0, func(key string) error { return d.recordField(r, key) }); err != nil {
		return err
	}
	d.ws()
	if d.i < len(d.s) {
		return d.syntax("after top-level value")
	}
	return nil
}

// recordKeys are ctRecord's JSON names, for the case-insensitive fallback.
var recordKeys = []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
	"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements",
	"additionalEventData", "resources", "requestID", "eventID", "readOnly", "eventType", "managementEvent",
	"recipientAccountId", "sharedEventID", "vpcEndpointId", "eventCategory"}

func (d *decoder) recordField(r *ctRecord, key string) error {
	switch key {
	case "eventVersion":
		return d.str(&r.EventVersion)
	case "userIdentity":
		return d.identity(&r.UserIdentity)
	case "eventTime":
		return d.str(&r.EventTime)
	case "eventSource":
		return d.str(&r.EventSource)
	case "eventName":
		return d.str(&r.EventName)
	case "awsRegion":
		return d.str(&r.AWSRegion)
	case "sourceIPAddress":
		return d.str(&r.SourceIPAddress)
	case "userAgent":
		return d.str(&r.UserAgent)
	case "errorCode":
		return d.str(&r.ErrorCode)
	case "errorMessage":
		return d.str(&r.ErrorMessage)
	case "requestParameters":
		return d.raw(&r.RequestParameters)
	case "responseElements":
		return d.raw(&r.ResponseElements)
	case "additionalEventData":
		return d.raw(&r.AdditionalEventData)
	case "resources":
		return d.raw(&r.Resources)
	case "requestID":
		return d.str(&r.RequestID)
	case "eventID":
		return d.str(&r.EventID)
	case "readOnly":
		return d.raw(&r.ReadOnly)
	case "eventType":
		return d.str(&r.EventType)
	case "managementEvent":
		return d.raw(&r.ManagementEvent)
	case "recipientAccountId":
		return d.str(&r.RecipientAccountID)
	case "sharedEventID":
		return d.str(&r.SharedEventID)
	case "vpcEndpointId":
		return d.str(&r.VPCEndpointID)
	case "eventCategory":
		return d.str(&r.EventCategory)
	}
	if k, ok := foldKey(key, recordKeys); ok {
		return d.recordField(r, k)
	}
	return d.skip(1)
}

var identityKeys = []string{"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy", "sessionContext", "onBehalfOf"}

func (d *decoder) identity(id *ctIdentity) error {
	return d.structure(func(key string) error { return d.identityField(id, key) })
}

func (d *decoder) identityField(id *ctIdentity, key string) error {
	switch key {
	case "type":
		return d.str(&id.Type)
	case "principalId":
		return d.str(&id.PrincipalID)
	case "arn":
		return d.str(&id.ARN)
	case "accountId":
		return d.str(&id.AccountID)
	case "accessKeyId":
		return d.str(&id.AccessKeyID)
	case "userName":
		return d.str(&id.UserName)
	case "invokedBy":
		return d.str(&id.InvokedBy)
	case "sessionContext":
		if d.null() {
			id.SessionContext = nil
			return nil
		}
		if id.SessionContext == nil {
			id.SessionContext = new(ctSessionContext)
		}
		return d.sessionContext(id.SessionContext)
	case "onBehalfOf":
		if d.null() {
			id.OnBehalfOf = nil
			return nil
		}
		if id.OnBehalfOf == nil {
			id.OnBehalfOf = new(ctOnBehalfOf)
		}
		ob := id.OnBehalfOf
		return d.structure(func(key string) error {
			switch k, _ := foldKey(key, []string{"userId", "identityStoreArn"}); k {
			case "userId":
				return d.str(&ob.UserID)
			case "identityStoreArn":
				return d.str(&ob.IdentityStoreARN)
			}
			return d.skip(3)
		})
	}
	if k, ok := foldKey(key, identityKeys); ok {
		return d.identityField(id, k)
	}
	return d.skip(2)
}

func (d *decoder) sessionContext(sc *ctSessionContext) error {
	return d.structure(func(key string) error {
		switch k, _ := foldKey(key, []string{"sessionIssuer", "attributes", "sourceIdentity"}); k {
		case "sessionIssuer":
			si := &sc.SessionIssuer
			return d.structure(func(key string) error {
				switch k, _ := foldKey(key, []string{"type", "arn", "accountId", "userName"}); k {
				case "type":
					return d.str(&si.Type)
				case "arn":
					return d.str(&si.ARN)
				case "accountId":
					return d.str(&si.AccountID)
				case "userName":
					return d.str(&si.UserName)
				}
				return d.skip(4)
			})
		case "attributes":
			return d.structure(func(key string) error {
				if k, _ := foldKey(key, []string{"mfaAuthenticated"}); k == "mfaAuthenticated" {
					return d.raw(&sc.MFAAuthenticated)
				}
				return d.skip(4)
			})
		case "sourceIdentity":
			return d.str(&sc.SourceIdentity)
		}
		return d.skip(3)
	})
}

// foldKey returns the name in names that key equals, exactly or else case-insensitively (as
// encoding/json matches struct fields).
func foldKey(key string, names []string) (string, bool) {
	for _, n := range names {
		if n == key {
			return n, true
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return n, true
		}
	}
	return "", false
}

// decoder reads the JSON text s from offset i.
type decoder struct {
	s string
	i int
}

// maxDepth bounds nesting, as encoding/json does, so hostile input cannot exhaust the stack.
const maxDepth = 10000

var errEnd = errors.New("unexpected end of JSON input")

func (d *decoder) syntax(context string) error {
	if d.i >= len(d.s) {
		return errEnd
	}
	return fmt.Errorf("invalid character %q %s at offset %d", d.s[d.i], context, d.i)
}

// typeError reports a value at i that is not of the type the field wants.
func (d *decoder) typeError(want string) error {
	if d.i >= len(d.s) {
		return errEnd
	}
	kind := "value"
	switch c := d.s[d.i]; {
	case c == '"':
		kind = "string"
	case c == '{':
		kind = "object"
	case c == '[':
		kind = "array"
	case c == 't' || c == 'f':
		kind = "bool"
	case c == '-' || c >= '0' && c <= '9':
		kind = "number"
	}
	return fmt.Errorf("cannot unmarshal %s into %s at offset %d", kind, want, d.i)
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// null consumes a null literal at i if there is one.
func (d *decoder) null() bool {
	if strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// object walks the object at i ('{'), calling field with each key positioned at its value, which
// field must consume.
func (d *decoder) object(depth int, field func(key string) error) error {
	if depth >= maxDepth {
		return errors.New("exceeded max depth")
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return d.syntax("looking for beginning of object key string")
		}
		var key string
		if err := d.str(&key); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return d.syntax("after object key")
		}
		d.i++
		d.ws()
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) {
			return errEnd
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			return nil
		default:
			return d.syntax("after object key:value pair")
		}
	}
}

// structure decodes a value meant for a Go struct: an object, or null (no change).
func (d *decoder) structure(field func(key string) error) error {
	if d.null() {
		return nil
	}
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return d.typeError("Go struct")
	}
	return d.object(1, field)
}

// str decodes a string value into *dst; null leaves *dst unchanged.
func (d *decoder) str(dst *string) error {
	if d.i >= len(d.s) {
		return errEnd
	}
	if d.s[d.i] != '"' {
		if d.null() {
			return nil
		}
		return d.typeError("Go string")
	}
	start := d.i + 1
	escaped, nonASCII, err := d.scanString()
	if err != nil {
		return err
	}
	if v := d.s[start : d.i-1]; escaped || nonASCII && !utf8.ValidString(v) {
		*dst = unescape(v)
	} else {
		*dst = v
	}
	return nil
}

// raw stores the text of the value at i, whatever its type.
func (d *decoder) raw(dst *string) error {
	start := d.i
	if err := d.skip(1); err != nil {
		return err
	}
	*dst = d.s[start:d.i]
	return nil
}

// special marks the bytes scanString stops at.
var special = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80
	}
	return t
}()

// scanString moves past the string literal at i (its opening quote), checking its escapes, and
// says whether it has any and whether it has bytes outside ASCII.
func (d *decoder) scanString() (escaped, nonASCII bool, err error) {
	i := d.i + 1
	for {
		// Most bytes are plain: find the next quote, backslash, control or non-ASCII byte, eight
		// bytes at a time while none is in sight.
		for i+8 <= len(d.s) && !hasSpecial(load64(d.s[i:])) {
			i += 8
		}
		for i < len(d.s) && !special[d.s[i]] {
			i++
		}
		if i >= len(d.s) {
			d.i = i
			return escaped, nonASCII, errEnd
		}
		switch c := d.s[i]; {
		case c >= 0x80:
			nonASCII = true
			i++
		case c == '"':
			d.i = i + 1
			return escaped, nonASCII, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(d.s) {
				d.i = len(d.s)
				return escaped, nonASCII, errEnd
			}
			switch d.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(d.s) {
						d.i = len(d.s)
						return escaped, nonASCII, errEnd
					}
					if !isHex(d.s[k]) {
						d.i = k
						return escaped, nonASCII, d.syntax(`in \u hexadecimal character escape`)
					}
				}
				i += 6
			default:
				d.i = i + 1
				return escaped, nonASCII, d.syntax("in string escape code")
			}
		default:
			d.i = i
			return escaped, nonASCII, d.syntax("in string literal")
		}
	}
}

// load64 is the first eight bytes of s, little-endian (one load once compiled).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasSpecial says whether any byte of x is special: '"', '\\', below 0x20 or above 0x7f. Each
// test is the exact "some byte is less than n" bit trick (Hacker's Delight 6-1, n <= 0x80).
func hasSpecial(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, b := x^(ones*'"'), x^(ones*'\\')
	return ((q-ones)&^q|(b-ones)&^b|(x-ones*0x20)&^x|x)&highs != 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// unescape decodes the body of a checked string literal that has escapes or invalid UTF-8,
// replacing invalid UTF-16 surrogates and each invalid UTF-8 byte with U+FFFD, as encoding/json
// (and goccy, which this replaced) do.
func unescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // RuneError for an invalid byte
			i += size
			continue
		}
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(s[i+2:i+6])); r2 != utf8.RuneError {
						b = utf8.AppendRune(b, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, s[i+1])
		}
		i += 2
	}
	return string(b)
}

func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// skip moves past the value at i, checking its grammar.
func (d *decoder) skip(depth int) error {
	if d.i >= len(d.s) {
		return errEnd
	}
	switch c := d.s[d.i]; {
	case c == '"':
		_, _, err := d.scanString()
		return err
	case c == '{':
		return d.object(depth, func(string) error { return d.skip(depth + 1) })
	case c == '[':
		if depth >= maxDepth {
			return errors.New("exceeded max depth")
		}
		d.i++
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.s) {
				return errEnd
			}
			switch d.s[d.i] {
			case ',':
				d.i++
				d.ws()
			case ']':
				d.i++
				return nil
			default:
				return d.syntax("after array element")
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	}
	return d.syntax("looking for beginning of value")
}

func (d *decoder) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if d.i >= len(d.s) {
			return errEnd
		}
		if d.s[d.i] != word[k] {
			return d.syntax("in literal " + word)
		}
		d.i++
	}
	return nil
}

// number moves past -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (d *decoder) number() error {
	digits := func() int {
		n := 0
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i >= len(d.s):
		return errEnd
	case d.s[d.i] == '0':
		d.i++
	case d.s[d.i] >= '1' && d.s[d.i] <= '9':
		digits()
	default:
		return d.syntax("in numeric literal")
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return d.syntax("after decimal point in numeric literal")
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return d.syntax("in exponent of numeric literal")
		}
	}
	return nil
}
