package azure

import (
	"fmt"
	"regexp"
	"strings"
)

// uuidPattern is the 8-4-4-4-12 form Azure uses for tenant, subscription and object IDs. IDs are
// checked before they are spliced into a URL path, so a typo or "../" can never address
// another resource.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// InvalidIDError reports an ID that is not a UUID.
type InvalidIDError struct {
	What  string // "tenant", "subscription", "principal"
	Value string
}

func (e *InvalidIDError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:80] + "..."
	}
	return fmt.Sprintf("invalid Azure %s ID %q: want a UUID (8-4-4-4-12 hex digits)", e.What, v)
}

// ParseID checks that id is a UUID and returns it in lower case, the form ARM returns, so IDs
// from configuration, ARM and Graph compare equal. what names the kind of ID in the error.
func ParseID(what, id string) (string, error) {
	if !uuidPattern.MatchString(id) {
		return "", &InvalidIDError{What: what, Value: id}
	}
	return strings.ToLower(id), nil
}

// ValidateSubscriptionID checks a subscription ID (a UUID) before it is used in a URL path.
func ValidateSubscriptionID(id string) error {
	_, err := ParseID("subscription", id)
	return err
}

// ValidateTenantID checks a tenant (directory) ID (a UUID) before it is used in a URL path.
// Domain names ("contoso.onmicrosoft.com") are refused too: per-tenant credentials and the
// tenant a subscription belongs to are matched by ID.
func ValidateTenantID(id string) error {
	_, err := ParseID("tenant", id)
	return err
}
