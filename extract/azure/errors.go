package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	json "github.com/goccy/go-json"
)

// Kind classifies a failed call so the scheduler can act on it without knowing Azure's error
// codes: a denied subscription is a partial run, a throttled one can be tried again later.
type Kind string

// Kinds of Error. They are the kinds STYLE.md names for every cloud; extract/aws keeps the
// cloud's error code in the message ("AccessDenied") and Azure's code is kept in Error.Code.
const (
	KindPermission   Kind = "permission"    // 401/403: not authorised, not authenticated, licence missing
	KindThrottled    Kind = "throttled"     // 429 still answered after the retry policy gave up
	KindNotFound     Kind = "not_found"     // 404: subscription, scope or object does not exist
	KindInvalidInput Kind = "invalid_input" // a bad ID or parameter (ours or the API's 400)
	KindCanceled     Kind = "canceled"      // the context was canceled or timed out
	KindOther        Kind = "other"         // 5xx after retries, transport errors, bad responses
)

// Error is a failed Azure call, classified once at the cloud boundary.
type Error struct {
	Kind           Kind
	Call           string // e.g. "armauthorization:RoleAssignments.ListForSubscription", "graph:GET /users"
	SubscriptionID string // the subscription the call was for, if any
	TenantID       string // the tenant the call was for, if any
	StatusCode     int    // HTTP status of the final answer, 0 when there was none
	Code           string // ARM or Graph error code ("AuthorizationFailed", "Authorization_RequestDenied")
	Message        string // the service's error message (never contains a token)
	Err            error  // the SDK's error (*azcore.ResponseError, azidentity errors, ctx errors)
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.SubscriptionID != "" {
		fmt.Fprintf(&b, "subscription %s: ", e.SubscriptionID)
	} else if e.TenantID != "" {
		fmt.Fprintf(&b, "tenant %s: ", e.TenantID)
	}
	b.WriteString(e.Call)
	b.WriteString(": ")
	switch {
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "%s: %d %s", e.Kind, e.StatusCode, e.Code)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	default:
		fmt.Fprintf(&b, "%s: %v", e.Kind, e.Err)
	}
	return b.String()
}

// Unwrap returns the SDK's error, for errors.As(err, &*azcore.ResponseError).
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of an error returned by this package (KindOther for others, "" for nil).
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var bad *InvalidIDError
	if errors.As(err, &bad) {
		return KindInvalidInput
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return KindCanceled
	}
	return KindOther
}

// classify wraps err from call into an *Error. ARM's error body is
// {"error":{"code":"AuthorizationFailed","message":"..."}}
// (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors);
// Graph's has the same outer shape (https://learn.microsoft.com/graph/errors).
func classify(call, subscriptionID, tenantID string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Kind: KindOther, Call: call, SubscriptionID: subscriptionID, TenantID: tenantID, Err: err}
	var resp *azcore.ResponseError
	var authFailed *azidentity.AuthenticationFailedError
	var authRequired *azidentity.AuthenticationRequiredError
	var bad *InvalidIDError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindCanceled
	case errors.As(err, &resp):
		e.StatusCode, e.Code = resp.StatusCode, resp.ErrorCode
		if code, msg := errorBody(resp.RawResponse); msg != "" {
			e.Message = msg
			if e.Code == "" {
				e.Code = code
			}
		}
		e.Kind = kindOfStatus(resp.StatusCode)
	case errors.As(err, &authFailed), errors.As(err, &authRequired):
		// The token request itself was refused (wrong secret, unknown client, no consent).
		e.Kind = KindPermission
	case errors.As(err, &bad):
		e.Kind = KindInvalidInput
	}
	return e
}

func kindOfStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindPermission
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusTooManyRequests:
		return KindThrottled
	case status == http.StatusBadRequest:
		return KindInvalidInput
	default:
		return KindOther
	}
}

// errorBody reads the {"error":{"code","message"}} body that ARM and Graph answer with. azcore
// has already buffered the body, so reading it again is safe.
func errorBody(resp *http.Response) (code, message string) {
	if resp == nil {
		return "", ""
	}
	body, err := runtime.Payload(resp)
	if err != nil || len(body) == 0 {
		return "", ""
	}
	var v struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", ""
	}
	msg := v.Error.Message
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return v.Error.Code, msg
}
