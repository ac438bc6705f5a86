package transform

// This file keeps the goccy/go-json decoder of CloudTrail records that transform used before its
// purpose-built decoder, as the reference the new one is checked against (TestDecoderMatchesReference,
// FuzzDecoderMatchesReference): same rows, same errors-or-not, for every input.

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// refCtRecord is the part of a CloudTrail record permlake reads (FORMATS.md §1.3, §1.7). Nested
// payloads stay raw and are kept as JSON text.
type refCtRecord struct {
	EventVersion        string          `json:"eventVersion"`
	UserIdentity        refCtIdentity   `json:"userIdentity"`
	EventTime           string          `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode"`
	ErrorMessage        string          `json:"errorMessage"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData json.RawMessage `json:"additionalEventData"`
	Resources           json.RawMessage `json:"resources"`
	RequestID           string          `json:"requestID"`
	EventID             string          `json:"eventID"`
	ReadOnly            json.RawMessage `json:"readOnly"`
	EventType           string          `json:"eventType"`
	ManagementEvent     json.RawMessage `json:"managementEvent"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	SharedEventID       string          `json:"sharedEventID"`
	VPCEndpointID       string          `json:"vpcEndpointId"`
	EventCategory       string          `json:"eventCategory"`
}

type refCtIdentity struct {
	Type           string `json:"type"`
	PrincipalID    string `json:"principalId"`
	ARN            string `json:"arn"`
	AccountID      string `json:"accountId"`
	AccessKeyID    string `json:"accessKeyId"`
	UserName       string `json:"userName"`
	InvokedBy      string `json:"invokedBy"`
	SessionContext *struct {
		SessionIssuer struct {
			Type      string `json:"type"`
			ARN       string `json:"arn"`
			AccountID string `json:"accountId"`
			UserName  string `json:"userName"`
		} `json:"sessionIssuer"`
		Attributes struct {
			MFAAuthenticated json.RawMessage `json:"mfaAuthenticated"`
		} `json:"attributes"`
		SourceIdentity string `json:"sourceIdentity"`
	} `json:"sessionContext"`
	OnBehalfOf *struct {
		UserID           string `json:"userId"`
		IdentityStoreARN string `json:"identityStoreArn"`
	} `json:"onBehalfOf"`
}

// refCloudTrailEvent decodes one raw CloudTrail record into a row. It fails, naming the field, when the
// record lacks what no analysis can do without (eventID, a parsable eventTime, eventSource,
// eventName); the caller counts such records and goes on.
func refCloudTrailEvent(raw []byte, lin Lineage) (schemas.CloudTrailEvent, error) {
	var r refCtRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return schemas.CloudTrailEvent{}, fmt.Errorf("decode record: %w", err)
	}
	switch {
	case r.EventID == "":
		return schemas.CloudTrailEvent{}, fmt.Errorf("record has no eventID")
	case r.EventSource == "" || r.EventName == "":
		return schemas.CloudTrailEvent{}, fmt.Errorf("record %s has no eventSource/eventName", r.EventID)
	}
	t, err := refParseEventTime(r.EventTime)
	if err != nil {
		return schemas.CloudTrailEvent{}, fmt.Errorf("record %s: eventTime: %w", r.EventID, err)
	}
	ev := schemas.CloudTrailEvent{
		EventID:                 r.EventID,
		EventTime:               t,
		EventVersion:            r.EventVersion,
		EventSource:             r.EventSource,
		EventName:               r.EventName,
		EventType:               r.EventType,
		EventCategory:           refOpt(r.EventCategory),
		AWSRegion:               r.AWSRegion,
		SourceIPAddress:         refOpt(r.SourceIPAddress),
		UserAgent:               refOpt(r.UserAgent),
		ErrorCode:               refOpt(r.ErrorCode),
		ErrorMessage:            refOpt(r.ErrorMessage),
		IsReadOnly:              refOptBool(r.ReadOnly),
		IsManagementEvent:       refOptBool(r.ManagementEvent),
		RecipientAccountID:      r.RecipientAccountID,
		SharedEventID:           refOpt(r.SharedEventID),
		RequestID:               refOpt(r.RequestID),
		VPCEndpointID:           refOpt(r.VPCEndpointID),
		UserIdentityType:        r.UserIdentity.Type,
		UserIdentityARN:         refOpt(r.UserIdentity.ARN),
		UserIdentityAccountID:   refOpt(r.UserIdentity.AccountID),
		UserIdentityPrincipalID: refOpt(r.UserIdentity.PrincipalID),
		AccessKeyID:             refOpt(r.UserIdentity.AccessKeyID),
		InvokedBy:               refOpt(r.UserIdentity.InvokedBy),
		IsSuccess:               r.ErrorCode == "",
		RequestParameters:       refOptJSON(r.RequestParameters),
		ResponseElements:        refOptJSON(r.ResponseElements),
		AdditionalEventData:     refOptJSON(r.AdditionalEventData),
		Resources:               refOptJSON(r.Resources),
		RunID:                   lin.RunID,
		SourceKey:               lin.SourceKey,
	}
	if sc := r.UserIdentity.SessionContext; sc != nil {
		ev.SourceIdentity = refOpt(sc.SourceIdentity)
		ev.IsMFAAuthenticated = refOptBool(sc.Attributes.MFAAuthenticated)
	}
	refAttribute(&ev, &r)
	ev.IAMActions, ev.ActionMapping = MapEvent(r.EventSource, r.EventName)
	if acts, ok := requestActions(r.EventSource, r.EventName, r.RequestParameters); ok {
		ev.IAMActions, ev.ActionMapping = acts, schemas.MappingException
	}
	if ev.PrincipalType == schemas.PrincipalService && ev.ActionMapping != schemas.MappingUnmapped && ev.ActionMapping != schemas.MappingNoPermission {
		ev.ActionMapping = schemas.MappingNotAPrincipal
	}
	if ev.IAMActions == nil {
		ev.IAMActions = []string{}
	}
	return ev, nil
}

// refAttribute credits the call to a principal as DESIGN.md §4 and FORMATS.md §1.7 say.
func refAttribute(ev *schemas.CloudTrailEvent, r *refCtRecord) {
	id := &r.UserIdentity
	issuer := func() (arn, acct, typ string) {
		if id.SessionContext != nil {
			s := id.SessionContext.SessionIssuer
			return s.ARN, s.AccountID, s.Type
		}
		return "", "", ""
	}
	ev.PrincipalAccountID = refOpt(id.AccountID)
	if r.EventType == "AwsServiceEvent" || id.Type == "AWSService" {
		ev.PrincipalType = schemas.PrincipalService
		return
	}
	switch id.Type {
	case "IAMUser":
		ev.PrincipalType, ev.PrincipalARN = schemas.PrincipalIAMUser, refOpt(id.ARN)
	case "Root":
		ev.PrincipalType = schemas.PrincipalRoot
		arn := id.ARN
		if arn == "" && id.AccountID != "" {
			arn = "arn:aws:iam::" + id.AccountID + ":root"
		}
		ev.PrincipalARN = refOpt(arn)
	case "AssumedRole", "Role":
		ev.PrincipalType = schemas.PrincipalIAMRole
		arn, acct, _ := issuer()
		if arn == "" {
			arn = refRoleFromSessionARN(id.ARN)
		}
		ev.PrincipalARN = refOpt(arn)
		if acct != "" {
			ev.PrincipalAccountID = refOpt(acct)
		}
		ev.SessionName = refOpt(refAfterLastSlash(id.ARN))
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
		ev.PrincipalARN = refOpt(arn)
		if acct != "" {
			ev.PrincipalAccountID = refOpt(acct)
		}
		ev.SessionName = refOpt(refAfterLastSlash(id.ARN))
	case "IdentityCenterUser":
		ev.PrincipalType = schemas.PrincipalFederated
		if id.OnBehalfOf != nil && id.OnBehalfOf.UserID != "" {
			ev.PrincipalARN = refOpt(id.OnBehalfOf.IdentityStoreARN + "/user/" + id.OnBehalfOf.UserID)
		}
	case "SAMLUser", "WebIdentityUser":
		ev.PrincipalType = schemas.PrincipalFederated
		ev.SessionName = refOpt(id.UserName)
	case "AWSAccount":
		ev.PrincipalType = schemas.PrincipalAccount
	default:
		ev.PrincipalType = schemas.PrincipalUnknown
	}
}

// refRoleFromSessionARN turns arn:aws:sts::123456789012:assumed-role/Name/session into the role ARN
// arn:aws:iam::123456789012:role/Name. The role's path is not in a session ARN; records normally
// carry sessionIssuer.arn with it, this is the fallback.
func refRoleFromSessionARN(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return ""
	}
	name := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")[0]
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + name
}

func refAfterLastSlash(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// refParseEventTime accepts the RFC 3339 forms CloudTrail writes ("2026-11-02T07:15:00Z", with or
// without fractional seconds) and returns UTC.
func refParseEventTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func refOpt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// refOptBool reads a JSON boolean that some record versions write as a string ("true").
func refOptBool(raw json.RawMessage) *bool {
	switch strings.Trim(strings.ToLower(string(bytes.TrimSpace(raw))), `"`) {
	case "true":
		v := true
		return &v
	case "false":
		v := false
		return &v
	}
	return nil
}

func refOptJSON(raw json.RawMessage) *string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s := string(raw)
	return &s
}
