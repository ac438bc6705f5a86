// Package extract knows the clouds: credentials, account discovery, paging, retries and reading
// source objects. It yields raw records (a CloudTrail record, a GetAccountAuthorizationDetails
// page, a credential report) and never shapes lake tables.
//
// extract and its subpackages must not import transform, load or cmd.
package extract

import (
	"fmt"
	"regexp"
)

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// ValidateAccountID checks that id is an AWS account ID (exactly 12 digits, leading zeros kept)
// before it is used in a key or path.
func ValidateAccountID(id string) error {
	if !accountIDPattern.MatchString(id) {
		return fmt.Errorf("invalid AWS account ID %q: want exactly 12 digits", id)
	}
	return nil
}

// Account is one AWS account to collect.
type Account struct {
	ID   string
	Name string
}

// GetID returns the account ID.
func (a Account) GetID() string { return a.ID }
