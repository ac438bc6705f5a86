package activity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Containers that diagnostic settings write to (FORMATS.md §4.1, §4.4: insights-logs-<category in
// lower case>).
const (
	ContainerActivityLogs                 = "insights-activity-logs"
	ContainerSignInLogs                   = "insights-logs-signinlogs"
	ContainerNonInteractiveUserSignInLogs = "insights-logs-noninteractiveusersigninlogs"
	ContainerServicePrincipalSignInLogs   = "insights-logs-serviceprincipalsigninlogs"
	ContainerManagedIdentitySignInLogs    = "insights-logs-managedidentitysigninlogs"
	ContainerAuditLogs                    = "insights-logs-auditlogs"
)

// DefaultLate is how late a record can be received after its event hour: a blob holds data from
// up to 48 hours before its hour (FORMATS.md §4.1).
const DefaultLate = 48 * time.Hour

const (
	activityRoot = "resourceId=/SUBSCRIPTIONS/"
	entraRoot    = "tenantId="
	blobFileName = "PT1H.json"
	// maxListHours bounds a window: longer than the 90-day platform retention plus margin is a
	// caller's mistake, not a backfill.
	maxListHours = 24 * 120
)

// EntraContainers are the Entra ID export containers this package reads, in a stable order.
var EntraContainers = []string{
	ContainerSignInLogs,
	ContainerNonInteractiveUserSignInLogs,
	ContainerServicePrincipalSignInLogs,
	ContainerManagedIdentitySignInLogs,
	ContainerAuditLogs,
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ErrInvalidID is returned (wrapped) for a subscription or tenant ID that is not a UUID; it is
// checked before the ID becomes part of a blob prefix.
var ErrInvalidID = errors.New("not a UUID")

// ValidateUUID checks that id is a UUID in the 8-4-4-4-12 hex form, any case. what names the ID
// in the error ("subscription", "tenant").
func ValidateUUID(what, id string) error {
	if !uuidPattern.MatchString(id) {
		return fmt.Errorf("invalid %s ID %q: %w", what, id, ErrInvalidID)
	}
	return nil
}

// Export locates one scope's hourly blobs inside an export container: the blobs are named
// <Root><ID>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json.
type Export struct {
	// Container is the export's container name; it decides how records are read (sign-in
	// properties are decoded only for sign-in containers) and is kept in each Record.
	Container string
	// Root is the part of the name before the ID, e.g. "resourceId=/SUBSCRIPTIONS/". Blob
	// listing is case-sensitive, so a store written as "ResourceId=/…" (seen in public
	// lifecycle-rule samples, FORMATS.md §4.1) needs its own Root.
	Root string
	// ID is the subscription or tenant ID as it appears in the path.
	ID string
}

// ActivityExport is the Activity Log export of one subscription. The path spells the
// subscription in upper case (FORMATS.md §4.1); id may be given in any case.
func ActivityExport(subscriptionID string) (Export, error) {
	if err := ValidateUUID("subscription", subscriptionID); err != nil {
		return Export{}, err
	}
	return Export{Container: ContainerActivityLogs, Root: activityRoot, ID: strings.ToUpper(subscriptionID)}, nil
}

// EntraExport is one Entra ID log export of a tenant; container is one of EntraContainers. The
// tenantId= layout is what public integrations show (FORMATS.md §4.4, unconfirmed), so Root can be
// changed on the result. The tenant ID is written in lower case, as Entra prints it.
func EntraExport(containerName, tenantID string) (Export, error) {
	if err := ValidateUUID("tenant", tenantID); err != nil {
		return Export{}, err
	}
	known := false
	for _, c := range EntraContainers {
		known = known || c == containerName
	}
	if !known {
		return Export{}, fmt.Errorf("unknown Entra export container %q", containerName)
	}
	return Export{Container: containerName, Root: entraRoot, ID: strings.ToLower(tenantID)}, nil
}

// Validate checks the export before its fields become a blob prefix.
func (e Export) Validate() error {
	if err := ValidateUUID("scope", e.ID); err != nil {
		return err
	}
	if e.Root == "" || strings.Contains(e.Root, "..") || strings.HasPrefix(e.Root, "/") {
		return fmt.Errorf("invalid export root %q", e.Root)
	}
	return nil
}

// Prefix is the blob-name prefix of the whole scope, ending in "/".
func (e Export) Prefix() string { return e.Root + e.ID + "/" }

// HourPrefix is the prefix of the blobs of one path hour (UTC), ending in "/".
func (e Export) HourPrefix(hour time.Time) string {
	h := hour.UTC()
	return e.dayPrefix(h) + fmt.Sprintf("h=%02d/", h.Hour())
}

func (e Export) dayPrefix(h time.Time) string {
	h = h.UTC()
	return e.Prefix() + fmt.Sprintf("y=%04d/m=%02d/d=%02d/", h.Year(), int(h.Month()), h.Day())
}

// BlobName is the name of the PT1H.json blob of one path hour.
func (e Export) BlobName(hour time.Time) string { return e.HourPrefix(hour) + "m=00/" + blobFileName }

// Window is a range of event hours to collect and how late their records may be received.
type Window struct {
	From time.Time // first event hour, inclusive (truncated to the hour, UTC)
	To   time.Time // end, exclusive; To == From means the single hour From
	// Late is how long after its event hour a record may still be received. The path hour is the
	// receive hour, so DefaultLate is the usual value; a negative Late is an error.
	Late time.Duration
}

// PathHours are the path hours whose blobs can hold records of the window's event hours, oldest
// first: an event of hour e is received in an hour in [e, e+Late].
func (w Window) PathHours() ([]time.Time, error) {
	from := w.From.UTC().Truncate(time.Hour)
	to := w.To.UTC().Truncate(time.Hour)
	if w.To.IsZero() || !to.After(from) {
		to = from.Add(time.Hour)
	}
	if w.Late < 0 {
		return nil, fmt.Errorf("negative late margin %s", w.Late)
	}
	last := to.Add(-time.Hour).Add(w.Late.Truncate(time.Hour))
	if w.Late%time.Hour != 0 {
		last = last.Add(time.Hour) // a partial hour of lateness still reaches into the next blob
	}
	n := int(last.Sub(from)/time.Hour) + 1
	if n > maxListHours {
		return nil, fmt.Errorf("window %s..%s plus %s late spans %d hours, more than %d", from.Format(time.RFC3339), to.Format(time.RFC3339), w.Late, n, maxListHours)
	}
	hours := make([]time.Time, 0, n)
	for h := from; !h.After(last); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	return hours, nil
}

// Blob is one hourly export blob as listed.
type Blob struct {
	Name         string
	Container    string    // the export's container
	Hour         time.Time // path hour (UTC): when Azure received the records, not when they happened
	Size         int64
	ETag         string
	CreatedAt    time.Time // creation time; a change means the blob was deleted and written again
	LastModified time.Time
	// Append is true for append blobs, the only kind whose bytes never change once written, so the
	// only kind a saved offset stays valid for. Other blob types are read again from 0 when they
	// change.
	Append bool
}

// hourName matches …/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json after the scope prefix.
var hourName = regexp.MustCompile(`^y=([0-9]{4})/m=([0-9]{2})/d=([0-9]{2})/h=([0-9]{2})/m=00/PT1H\.json$`)

// parseHour returns the path hour of name below prefix, or false for any other name.
func parseHour(prefix, name string) (time.Time, bool) {
	if len(name) < len(prefix) || !strings.EqualFold(name[:len(prefix)], prefix) {
		return time.Time{}, false
	}
	m := hourName.FindStringSubmatch(name[len(prefix):])
	if m == nil {
		return time.Time{}, false
	}
	var v [4]int
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], 0, 0, 0, time.UTC)
	if t.Year() != v[0] || int(t.Month()) != v[1] || t.Day() != v[2] || t.Hour() != v[3] {
		return time.Time{}, false // m=13, d=31 in a short month, h=24: not a real hour
	}
	return t, true
}

// List returns the export's blobs whose path hour is one of w.PathHours(), oldest hour first,
// through c, a client of e's container.
//
// It never lists the container or the scope: each day of the window is listed by its hour
// prefix when one hour of it is wanted, and by its day prefix (which holds at most 24 PT1H.json
// blobs of this scope) when several are, filtering names by hour. Names that do not follow the
// layout are ignored.
func List(ctx context.Context, c *container.Client, e Export, w Window) ([]Blob, error) {
	return listExport(ctx, containerStore{c}, e, w)
}

func listExport(ctx context.Context, s store, e Export, w Window) ([]Blob, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	hours, err := w.PathHours()
	if err != nil {
		return nil, err
	}
	want := make(map[time.Time]bool, len(hours))
	var days []time.Time
	perDay := map[time.Time][]time.Time{}
	for _, h := range hours {
		want[h] = true
		d := h.Truncate(24 * time.Hour) // UTC midnight: hours are UTC
		if perDay[d] == nil {
			days = append(days, d)
		}
		perDay[d] = append(perDay[d], h)
	}
	keep := func(name string) bool {
		h, ok := parseHour(e.Prefix(), name)
		return ok && want[h]
	}
	var out []Blob
	for _, d := range days {
		prefix := e.dayPrefix(d)
		if hs := perDay[d]; len(hs) == 1 {
			prefix = e.HourPrefix(hs[0])
		}
		bs, err := s.list(ctx, prefix, keep)
		if err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", e.Container, prefix, err)
		}
		for _, b := range bs {
			if b.Hour, _ = parseHour(e.Prefix(), b.Name); keep(b.Name) {
				b.Container = e.Container
				out = append(out, b)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Hour.Equal(out[j].Hour) {
			return out[i].Hour.Before(out[j].Hour)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Stat returns the current properties of one export blob, through c, a client of its container,
// for a caller that knows its name but has not listed it. The path hour is parsed from the name
// when it follows the layout.
func Stat(ctx context.Context, c *container.Client, containerName, name string) (Blob, error) {
	return statBlob(ctx, containerStore{c}, containerName, name)
}

func statBlob(ctx context.Context, s store, containerName, name string) (Blob, error) {
	b, err := s.stat(ctx, name)
	if err != nil {
		return Blob{}, fmt.Errorf("stat %s/%s: %w", containerName, name, err)
	}
	b.Name, b.Container = name, containerName
	if i := strings.Index(name, "/y="); i >= 0 {
		b.Hour, _ = parseHour(name[:i+1], name)
	}
	return b, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefTime(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.UTC()
}
