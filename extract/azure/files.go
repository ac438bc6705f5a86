package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Files is the Source over an offline copy of the APIs' answers under Prefix in Bucket (the
// demo writes one; a team can export one with `az rest`):
//
//	arm/subscriptions.json                                {"value":[{subscriptionId, displayName, state, tenantId}]}
//	arm/providerOperations.json                           Provider Operations Metadata - List ($expand=resourceTypes)
//	arm/subscriptions/<sub>/roleDefinitions.json          Role Definitions - List at the subscription
//	arm/subscriptions/<sub>/roleAssignments.json          Role Assignments - List For Subscription
//	graph/<tenant>/users.json                             users with signInActivity
//	graph/<tenant>/groups.json
//	graph/<tenant>/servicePrincipals.json
//	graph/<tenant>/transitiveMembers/<groupId>.json       a group's transitive members, with "@odata.type"
//
// IDs in names are lower case. Each file is a list response {"value":[…]}, optionally continued
// by <name>-0002.json, <name>-0003.json, … beside it, read in order; a gap in the numbering, or
// a last page whose nextLink promises more, is an error rather than a silent truncation. Every
// file named above that a call needs must exist (an empty list is {"value":[]}); errors name
// the file. Files only reads and is safe for concurrent use.
type Files struct {
	Bucket *blob.Bucket
	Prefix string
	// Discovery selects the subscriptions as for the API, arm/subscriptions.json standing for
	// discovery: Static are always listed, Discover adds every listed subscription in States,
	// Include/Exclude filter.
	Discovery Discovery
}

var _ Source = (*Files)(nil)

func (f *Files) key(parts ...string) string {
	return strings.TrimPrefix(path.Join(append([]string{strings.Trim(f.Prefix, "/")}, parts...)...), "/")
}

// fileError classifies a failed read of key like a failed call, so the scheduler treats a
// missing file as not found and an unreadable bucket as a permission problem.
func fileError(key, sub, tenant string, err error) error {
	kind := KindOther
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		kind = KindNotFound
	case gcerrors.PermissionDenied:
		kind = KindPermission
	case gcerrors.Canceled, gcerrors.DeadlineExceeded:
		kind = KindCanceled
	case gcerrors.InvalidArgument:
		kind = KindInvalidInput
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		kind = KindCanceled
	}
	return &Error{Kind: kind, Call: "read " + key, SubscriptionID: sub, TenantID: tenant, Err: err}
}

// readList returns the values of the list response key ("…/roleAssignments.json") and of its
// continuation pages, in order.
func (f *Files) readList(ctx context.Context, key, sub, tenant string) ([][]byte, error) {
	dir, name := path.Split(key)
	stem := strings.TrimSuffix(name, ".json")
	pageName := regexp.MustCompile(`^` + regexp.QuoteMeta(stem) + `(?:-([0-9]{4,}))?\.json$`)
	pages := map[int]string{}
	it := f.Bucket.List(&blob.ListOptions{Prefix: dir + stem, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fileError(key, sub, tenant, fmt.Errorf("list %s*: %w", dir+stem, err))
		}
		m := pageName.FindStringSubmatch(path.Base(obj.Key))
		if obj.IsDir || m == nil {
			continue
		}
		n := 1
		if m[1] != "" {
			if n, _ = strconv.Atoi(m[1]); n < 2 {
				return nil, fileError(obj.Key, sub, tenant, errors.New("continuation pages are numbered from -0002"))
			}
		}
		if prev, dup := pages[n]; dup {
			return nil, fileError(obj.Key, sub, tenant, fmt.Errorf("page %d is also %s", n, prev))
		}
		pages[n] = obj.Key
	}
	if _, ok := pages[1]; !ok {
		// Read it anyway, for the bucket's own not-found error.
		_, err := f.Bucket.ReadAll(ctx, key)
		if err == nil {
			err = errors.New("not listed")
		}
		return nil, fileError(key, sub, tenant, err)
	}
	var out [][]byte
	for n := 1; n <= len(pages); n++ {
		k, ok := pages[n]
		if !ok {
			return nil, fileError(pageKey(key, n), sub, tenant, fmt.Errorf("continuation page %d is missing but later pages exist", n))
		}
		body, err := f.Bucket.ReadAll(ctx, k)
		if err != nil {
			return nil, fileError(k, sub, tenant, err)
		}
		p, err := decodeListPage(body)
		if err != nil {
			return nil, fileError(k, sub, tenant, err)
		}
		if p.next != "" && n == len(pages) {
			return nil, fileError(k, sub, tenant, fmt.Errorf("the page's nextLink promises more but %s does not exist: the copy is incomplete", path.Base(pageKey(key, n+1))))
		}
		out = append(out, p.values...)
	}
	return out, nil
}

// pageKey is the name of page n of the list response key.
func pageKey(key string, n int) string {
	if n == 1 {
		return key
	}
	return strings.TrimSuffix(key, ".json") + fmt.Sprintf("-%04d.json", n)
}

// Subscriptions implements Source from arm/subscriptions.json (read only when Discovery.Discover
// is set or to complete static subscriptions' tenant and name when the file exists).
func (f *Files) Subscriptions(ctx context.Context) ([]Subscription, error) {
	d := f.Discovery
	for _, p := range append(append([]string(nil), d.Include...), d.Exclude...) {
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			return nil, fmt.Errorf("subscription filter %q: %w", p, err)
		}
	}
	found := map[string]Subscription{}
	for _, s := range d.Static {
		id, err := ParseID("subscription", s)
		if err != nil {
			return nil, err
		}
		found[id] = Subscription{ID: id}
	}
	listed, err := f.listedSubscriptions(ctx)
	if err != nil && (d.Discover || KindOf(err) != KindNotFound) {
		return nil, err
	}
	states := d.States
	if len(states) == 0 {
		states = []string{"Enabled"}
	}
	for _, s := range listed {
		_, static := found[s.ID]
		if static || (d.Discover && hasFold(states, s.State)) {
			found[s.ID] = s
		}
	}
	var out []Subscription
	for _, s := range found {
		if d.selected(s) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// listedSubscriptions reads arm/subscriptions.json.
func (f *Files) listedSubscriptions(ctx context.Context) ([]Subscription, error) {
	key := f.key("arm", "subscriptions.json")
	values, err := f.readList(ctx, key, "", "")
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(values))
	for i, raw := range values {
		var v struct {
			SubscriptionID   string `json:"subscriptionId"`
			DisplayName      string `json:"displayName"`
			State            string `json:"state"`
			TenantID         string `json:"tenantId"`
			ManagedByTenants []struct {
				TenantID string `json:"tenantId"`
			} `json:"managedByTenants"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fileError(key, "", "", fmt.Errorf("value %d: %w", i, err))
		}
		s := Subscription{DisplayName: v.DisplayName, State: v.State}
		if s.ID, err = ParseID("subscription", v.SubscriptionID); err != nil {
			return nil, fileError(key, "", "", fmt.Errorf("value %d: %w", i, err))
		}
		if v.TenantID != "" {
			if s.TenantID, err = ParseID("tenant", v.TenantID); err != nil {
				return nil, fileError(key, s.ID, "", fmt.Errorf("value %d: %w", i, err))
			}
		}
		for _, m := range v.ManagedByTenants {
			if t, err := ParseID("tenant", m.TenantID); err == nil {
				s.ManagedByTenants = append(s.ManagedByTenants, t)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// RBAC implements Source from arm/subscriptions/<sub>/roleDefinitions.json and
// roleAssignments.json; the tenant comes from arm/subscriptions.json when it lists the
// subscription ("" otherwise).
func (f *Files) RBAC(ctx context.Context, subscriptionID string) (*RBACSnapshot, error) {
	sub, err := ParseID("subscription", subscriptionID)
	if err != nil {
		return nil, err
	}
	snap := &RBACSnapshot{SubscriptionID: sub, SourceKey: f.key("arm", "subscriptions", sub) + "/"}
	if snap.RoleDefinitions, err = f.readList(ctx, f.key("arm", "subscriptions", sub, "roleDefinitions.json"), sub, ""); err != nil {
		return nil, err
	}
	if snap.RoleAssignments, err = f.readList(ctx, f.key("arm", "subscriptions", sub, "roleAssignments.json"), sub, ""); err != nil {
		return nil, err
	}
	listed, err := f.listedSubscriptions(ctx)
	if err != nil && KindOf(err) != KindNotFound {
		return nil, err
	}
	for _, s := range listed {
		if s.ID == sub {
			snap.TenantID = s.TenantID
		}
	}
	return snap, nil
}

// Operations implements Source from arm/providerOperations.json and its continuation pages.
func (f *Files) Operations(ctx context.Context) ([]byte, error) {
	values, err := f.readList(ctx, f.key("arm", "providerOperations.json"), "", "")
	if err != nil {
		return nil, err
	}
	return mergeValues(values), nil
}

// graphObject is what Directory needs of a Graph object.
type graphObject struct {
	ID             string          `json:"id"`
	ODataType      string          `json:"@odata.type"`
	SignInActivity json.RawMessage `json:"signInActivity"`
}

// Directory implements Source like the API path: only the requested principals, the transitive
// members of the requested groups (graph/<tenant>/transitiveMembers/<group>.json, which must
// exist for every requested group), and the objects of those members that the tenant's files
// list; requested IDs no file lists are Missing. SignInActivityUnavailable is set when users.json
// lists users and none carries a signInActivity property (an export made without the licence or
// AuditLog.Read.All).
func (f *Files) Directory(ctx context.Context, tenantID string, principalIDs []string) (*DirectorySnapshot, error) {
	tenant, err := ParseID("tenant", tenantID)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range principalIDs {
		id, err := ParseID("principal", id)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", tenant, err)
		}
		want[id] = true
	}
	snap := &DirectorySnapshot{TenantID: tenant, Members: map[string][][]byte{}, SourceKey: f.key("graph", tenant) + "/"}
	if len(want) == 0 {
		return snap, nil
	}
	const (
		kindUser = iota
		kindGroup
		kindSP
	)
	type object struct {
		kind int
		raw  []byte
	}
	index := map[string]object{}
	signIn, users := false, 0
	for kind, name := range []string{"users.json", "groups.json", "servicePrincipals.json"} {
		key := f.key("graph", tenant, name)
		values, err := f.readList(ctx, key, "", tenant)
		if err != nil {
			return nil, err
		}
		for i, raw := range values {
			var o graphObject
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fileError(key, "", tenant, fmt.Errorf("value %d: %w", i, err))
			}
			id, err := ParseID("object", o.ID)
			if err != nil {
				return nil, fileError(key, "", tenant, fmt.Errorf("value %d: %w", i, err))
			}
			index[id] = object{kind: kind, raw: raw}
			if kind == kindUser {
				users++
				signIn = signIn || o.SignInActivity != nil
			}
		}
	}
	snap.SignInActivityUnavailable = users > 0 && !signIn
	picked := [3]map[string][]byte{{}, {}, {}}
	for _, id := range sortedKeys(want) {
		o, ok := index[id]
		if !ok {
			snap.Missing = append(snap.Missing, id)
			continue
		}
		picked[o.kind][id] = o.raw
		if o.kind != kindGroup {
			continue
		}
		key := f.key("graph", tenant, "transitiveMembers", id+".json")
		members, err := f.readList(ctx, key, "", tenant)
		if err != nil {
			return nil, err
		}
		for i, raw := range members {
			var m graphObject
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, fileError(key, "", tenant, fmt.Errorf("value %d: %w", i, err))
			}
			mid, err := ParseID("member", m.ID)
			if err != nil {
				return nil, fileError(key, "", tenant, fmt.Errorf("value %d: %w", i, err))
			}
			if mo, ok := index[mid]; ok {
				picked[mo.kind][mid] = mo.raw
			}
		}
		snap.Members[id] = members
	}
	snap.Users, snap.Groups, snap.ServicePrincipals = sortedRaw(picked[kindUser]), sortedRaw(picked[kindGroup]), sortedRaw(picked[kindSP])
	return snap, nil
}
