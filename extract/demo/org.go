// Package demo generates a deterministic synthetic AWS organization as files in the real layouts:
// an organization trail bucket of CloudTrail log files, GetAccountAuthorizationDetails pages and
// credential reports per account, and a ground truth of what every identity used, written from
// the generator's own intent (never by running the pipeline's attribution or mapping code), so
// that end-to-end tests can catch the pipeline's mistakes. It is the default for a first run and
// sizes up for benchmarks.
//
// demo must not import transform, load or cmd.
package demo

import (
	"fmt"
	"time"
)

// Config sizes the organization. The zero value means the defaults (WithDefaults).
type Config struct {
	Seed           int64
	End            time.Time // exclusive end of the activity window, hour-aligned UTC
	Days           int       // window = [End - Days, End)
	MemberAccounts int       // plus a management and a log-archive account
	EventsPerHour  int       // background calls per account and hour
	Regions        []string
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 42
	}
	if c.End.IsZero() {
		c.End = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	}
	c.End = c.End.UTC().Truncate(time.Hour)
	if c.Days <= 0 {
		c.Days = 14
	}
	if c.MemberAccounts <= 0 {
		c.MemberAccounts = 3
	}
	if c.EventsPerHour <= 0 {
		c.EventsPerHour = 12
	}
	if len(c.Regions) == 0 {
		c.Regions = []string{"us-east-1", "eu-west-1"}
	}
	return c
}

// Account is one account of the organization.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"` // management, log_archive, member
}

// Org describes what Generate wrote (also written to org.json).
type Org struct {
	OrganizationID      string    `json:"organization_id"`
	ManagementAccountID string    `json:"management_account_id"`
	LogArchiveAccountID string    `json:"log_archive_account_id"`
	TrailBucket         string    `json:"trail_bucket"`
	TrailPrefix         string    `json:"trail_prefix"`
	Accounts            []Account `json:"accounts"`
	Regions             []string  `json:"regions"`
	WindowStart         time.Time `json:"window_start"`
	WindowEnd           time.Time `json:"window_end"`
	LastDelivery        time.Time `json:"last_delivery"`
	Events              int       `json:"events"`
	Files               int       `json:"files"`
}

func accounts(members int) []Account {
	out := []Account{
		{ID: "111122223333", Name: "management", Kind: "management"},
		{ID: "222233334444", Name: "log-archive", Kind: "log_archive"},
	}
	fixed := []string{"012345678901", "333344445555", "444455556666"}
	for i := range members {
		id := fmt.Sprintf("9%011d", i)
		if i < len(fixed) {
			id = fixed[i]
		}
		out = append(out, Account{ID: id, Name: fmt.Sprintf("member-%d", i+1), Kind: "member"})
	}
	return out
}
