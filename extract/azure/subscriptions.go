package azure

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

// Subscription is one Azure subscription to collect.
type Subscription struct {
	ID          string // lower-case UUID
	DisplayName string // "" for a static subscription discovery did not see
	TenantID    string // the directory it belongs to; "" when unknown (static, not discovered)
	State       string // Enabled, Warned, PastDue, Disabled, Deleted; "" when unknown
	// ManagedByTenants are the tenants that manage it through Azure Lighthouse.
	ManagedByTenants []string
}

// SkippedSubscription is a discovered subscription left out, and why.
type SkippedSubscription struct {
	Subscription
	Reason string // "state Disabled", "excluded"
}

// Discovery selects the subscriptions to collect.
type Discovery struct {
	// Static subscription IDs, always collected unless excluded.
	Static []string `mapstructure:"static"`
	// Discover lists every subscription each tenant's identity can read (Subscriptions - List,
	// https://learn.microsoft.com/rest/api/resources/subscriptions/list) and adds them.
	Discover bool `mapstructure:"discover"`
	// Include keeps only subscriptions whose ID equals an entry or whose display name matches
	// it as a glob (path.Match, case-insensitive: "prod-*"); empty keeps all.
	Include []string `mapstructure:"include"`
	// Exclude drops subscriptions matching an entry the same way; it wins over Include.
	Exclude []string `mapstructure:"exclude"`
	// States are the discovered states collected (default Enabled only: a Disabled or Deleted
	// subscription is read-only or gone, and Warned/PastDue ones may be about to be).
	States []string `mapstructure:"states"`
}

// SubscriptionList is the outcome of discovery.
type SubscriptionList struct {
	Selected []Subscription        // sorted by ID
	Skipped  []SkippedSubscription // discovered but not selected, sorted by ID
}

// Subscriptions lists the subscriptions to collect: d.Static, plus with d.Discover every one
// each configured tenant can read (all pages, deduplicated), filtered by state and by
// Include/Exclude. Invalid static IDs and patterns are reported before any call.
func (a *Auth) Subscriptions(ctx context.Context, d Discovery) (*SubscriptionList, error) {
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
	states := d.States
	if len(states) == 0 {
		states = []string{string(armsubscriptions.SubscriptionStateEnabled)}
	}
	out := &SubscriptionList{}
	if d.Discover {
		seen := map[string]bool{}
		for _, tid := range a.order {
			subs, err := a.listSubscriptions(ctx, tid)
			if err != nil {
				return nil, err
			}
			for _, s := range subs {
				if seen[s.ID] {
					continue // the same subscription seen from two tenants (Lighthouse)
				}
				seen[s.ID] = true
				if _, static := found[s.ID]; !static && !hasFold(states, s.State) {
					out.Skipped = append(out.Skipped, SkippedSubscription{Subscription: s, Reason: "state " + s.State})
					continue
				}
				found[s.ID] = s
			}
		}
	}
	for _, s := range found {
		if !d.selected(s) {
			out.Skipped = append(out.Skipped, SkippedSubscription{Subscription: s, Reason: "excluded"})
			continue
		}
		out.Selected = append(out.Selected, s)
	}
	sort.Slice(out.Selected, func(i, j int) bool { return out.Selected[i].ID < out.Selected[j].ID })
	sort.Slice(out.Skipped, func(i, j int) bool { return out.Skipped[i].ID < out.Skipped[j].ID })
	return out, nil
}

func hasFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (d Discovery) selected(s Subscription) bool {
	match := func(rules []string) bool {
		for _, r := range rules {
			if strings.EqualFold(r, s.ID) {
				return true
			}
			if s.DisplayName != "" {
				if ok, _ := path.Match(strings.ToLower(r), strings.ToLower(s.DisplayName)); ok {
					return true
				}
			}
		}
		return false
	}
	return (len(d.Include) == 0 || match(d.Include)) && !match(d.Exclude)
}

// listSubscriptions pages through the subscriptions tenantID's identity can read.
func (a *Auth) listSubscriptions(ctx context.Context, tenantID string) ([]Subscription, error) {
	const call = "armsubscriptions:Subscriptions.List"
	ident := a.tenants[tenantID]
	client, err := armsubscriptions.NewClient(ident.Credential, a.armOptions())
	if err != nil {
		return nil, classify(call, "", tenantID, err)
	}
	var out []Subscription
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify(call, "", tenantID, err)
		}
		for _, v := range page.Value {
			if v == nil || v.SubscriptionID == nil {
				continue
			}
			id, err := ParseID("subscription", *v.SubscriptionID)
			if err != nil {
				return nil, classify(call, "", tenantID, err)
			}
			s := Subscription{ID: id, DisplayName: deref(v.DisplayName), TenantID: strings.ToLower(deref(v.TenantID))}
			if v.State != nil {
				s.State = string(*v.State)
			}
			for _, m := range v.ManagedByTenants {
				if m != nil && m.TenantID != nil {
					s.ManagedByTenants = append(s.ManagedByTenants, strings.ToLower(*m.TenantID))
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
