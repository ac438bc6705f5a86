// Package demo generates a deterministic synthetic AWS organization as files in the real layouts:
// an organization trail bucket of CloudTrail log files (with a digest file per account), paged
// GetAccountAuthorizationDetails responses and a credential report per account, the
// organization's OU tree and service control policies (organization/organization.json), and a ground
// truth of what every identity used and which identities are inactive. The ground truth is
// written from the generator's own intent (the principal and IAM action it meant each call to
// exercise, from its own small table), never by running the pipeline's attribution or mapping
// code, so that end-to-end tests can catch the pipeline's mistakes. It is the default source of
// a first run and sizes up for benchmarks.
//
// Output depends only on Config: randomness comes from math/rand/v2 seeded with Config.Seed and
// time from Config.End, never from the wall clock or map iteration order.
//
// demo must not import transform, load, cmd or any other permlake package.
package demo

import (
	"fmt"
	"slices"
	"time"
)

// Config sizes the organization. Zero fields take the defaults of WithDefaults.
type Config struct {
	Seed           int64     // default 42
	End            time.Time // exclusive end of the activity window, truncated to the UTC hour; default 2026-11-16T00:00:00Z
	Days           int       // window = [End-Days*24h, End); default 14
	MemberAccounts int       // member accounts, plus a management and a log-archive account; default 3, at least 2
	EventsPerHour  int       // average background calls per account and hour (busier in working hours); default 25
	Regions        []string  // regions of regional calls; default us-east-1, eu-west-1 (global calls are us-east-1)
	// Payloads is the payload profile: PayloadsSmall (the default) or PayloadsLarge (busy
	// accounts: large nested requestParameters and responseElements, S3 data events).
	Payloads string
	// DeliveryMinutes is how often CloudTrail publishes a file per account and region: it
	// decides, with EventsPerHour and Regions, how many records a file holds. Default 5
	// (FORMATS.md §1.4); it must divide 60.
	DeliveryMinutes int
}

// WithDefaults returns c with unset fields filled and End truncated to its UTC hour.
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
		c.EventsPerHour = 25
	}
	if len(c.Regions) == 0 {
		c.Regions = []string{"us-east-1", "eu-west-1"}
	}
	if c.Payloads == "" {
		c.Payloads = PayloadsSmall
	}
	if c.DeliveryMinutes <= 0 {
		c.DeliveryMinutes = 5
	}
	return c
}

func (c Config) validate() error {
	if c.MemberAccounts < 2 {
		return fmt.Errorf("demo needs at least 2 member accounts for its cross-account calls, got %d", c.MemberAccounts)
	}
	if c.MemberAccounts > 999 {
		return fmt.Errorf("demo supports at most 999 member accounts, got %d", c.MemberAccounts)
	}
	if c.Payloads != PayloadsSmall && c.Payloads != PayloadsLarge {
		return fmt.Errorf("demo payloads must be %q or %q, got %q", PayloadsSmall, PayloadsLarge, c.Payloads)
	}
	if 60%c.DeliveryMinutes != 0 {
		return fmt.Errorf("demo delivery minutes must divide 60, got %d", c.DeliveryMinutes)
	}
	for _, r := range c.Regions {
		if r == "" || len(r) > 32 {
			return fmt.Errorf("invalid region %q", r)
		}
	}
	return nil
}

// Account kinds of Account.Kind.
const (
	KindManagement = "management"
	KindLogArchive = "log_archive"
	KindMember     = "member"
)

// Account is one account of the organization.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"` // KindManagement, KindLogArchive or KindMember
}

// Org describes what Generate wrote; it is also written to <dir>/org.json.
type Org struct {
	OrganizationID      string    `json:"organization_id"`
	ManagementAccountID string    `json:"management_account_id"`
	LogArchiveAccountID string    `json:"log_archive_account_id"`
	TrailName           string    `json:"trail_name"`
	TrailBucket         string    `json:"trail_bucket"` // the folder s3/<TrailBucket> under the output directory
	TrailPrefix         string    `json:"trail_prefix"`
	Accounts            []Account `json:"accounts"`
	Regions             []string  `json:"regions"`      // every region with log files, sorted
	WindowStart         time.Time `json:"window_start"` // first hour with activity
	WindowEnd           time.Time `json:"window_end"`   // exclusive
	LastDelivery        time.Time `json:"last_delivery"`
	Events              int       `json:"events"` // records written to log files, re-deliveries included
	Files               int       `json:"files"`  // CloudTrail log files (digests not counted)
	DigestFiles         int       `json:"digest_files"`

	// The Azure tenant, written under azure/ (see azure.go).
	AzureTenantID          string              `json:"azure_tenant_id"`
	AzureManagementGroupID string              `json:"azure_management_group_id"`
	AzureSubscriptions     []AzureSubscription `json:"azure_subscriptions"`
	AzureActivityRecords   int                 `json:"azure_activity_records"` // Activity Log records in PT1H.json blobs
	AzureSignInRecords     int                 `json:"azure_signin_records"`   // sign-in records in the four sign-in containers
	AzureBlobs             int                 `json:"azure_blobs"`            // PT1H.json blobs written

	azureTruth *AzureTruth // for the ground truth file
}

// accounts lays out the organization: management, log-archive, then the members. The first
// member's ID starts with 0, as real IDs can, to catch pipelines that parse IDs as numbers.
func accounts(members int) []Account {
	out := []Account{
		{ID: "111122223333", Name: "management", Kind: KindManagement},
		{ID: "222233334444", Name: "log-archive", Kind: KindLogArchive},
	}
	fixed := []string{"012345678901", "333344445555", "444455556666"}
	for i := range members {
		id := fmt.Sprintf("5%02d%09d", i, 987654321)
		if i >= 100 { // organizations at benchmark scale; the IDs of the first 100 stay as they were
			id = fmt.Sprintf("6%03d%08d", i, 87654321)
		}
		if i < len(fixed) {
			id = fixed[i]
		}
		out = append(out, Account{ID: id, Name: fmt.Sprintf("member-%d", i+1), Kind: KindMember})
	}
	return out
}

// regionsOf lists the configured regions plus us-east-1, where global services log.
func regionsOf(cfg Config) []string {
	out := slices.Clone(cfg.Regions)
	if !slices.Contains(out, globalRegion) {
		out = append(out, globalRegion)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

const globalRegion = "us-east-1"
