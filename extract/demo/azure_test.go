package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Azure tests read the files back with their own decoders and their own wildcard matcher,
// never through the generator's tables, so that they check what was written.

var (
	azActivityPath = regexp.MustCompile(`^azure/blob/insights-activity-logs/resourceId=/SUBSCRIPTIONS/([0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12})/y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})/m=00/PT1H\.json$`)
	azSignInPath   = regexp.MustCompile(`^azure/blob/insights-logs-(signinlogs|noninteractiveusersigninlogs|serviceprincipalsigninlogs|managedidentitysigninlogs)/tenantId=([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})/m=00/PT1H\.json$`)
	azTime7        = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$`)
	lowerUUID      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

const (
	claimOID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimTenant = "http://schemas.microsoft.com/identity/claims/tenantid"
	claimUPN    = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
)

type azTestActivity struct {
	Time            string `json:"time"`
	ResourceID      string `json:"resourceId"`
	OperationName   string `json:"operationName"`
	Category        string `json:"category"`
	ResultType      string `json:"resultType"`
	ResultSignature string `json:"resultSignature"`
	CorrelationID   string `json:"correlationId"`
	Level           string `json:"level"`
	Identity        struct {
		Authorization struct {
			Scope    string `json:"scope"`
			Action   string `json:"action"`
			Evidence *struct {
				Role, RoleAssignmentScope, RoleAssignmentID, RoleDefinitionID, PrincipalID, PrincipalType string
			} `json:"evidence"`
		} `json:"authorization"`
		Claims map[string]string `json:"claims"`
	} `json:"identity"`
	Properties struct {
		EventCategory string `json:"eventCategory"`
		StatusCode    string `json:"statusCode"`
	} `json:"properties"`

	blob    string
	line    int
	last    bool // last line of its blob
	sub     string
	hour    time.Time // blob (receive) hour
	at      time.Time
	success bool
}

type azTestSignIn struct {
	Time       string          `json:"time"`
	ResourceID string          `json:"resourceId"`
	Category   string          `json:"category"`
	TenantID   string          `json:"tenantId"`
	ResultType string          `json:"resultType"`
	Level      json.RawMessage `json:"Level"`
	Properties struct {
		ID                 string `json:"id"`
		UserID             string `json:"userId"`
		ServicePrincipalID string `json:"servicePrincipalId"`
		AppID              string `json:"appId"`
		IsInteractive      *bool  `json:"isInteractive"`
		Status             struct {
			ErrorCode *int `json:"errorCode"`
		} `json:"status"`
	} `json:"properties"`

	container string
	hour, at  time.Time
}

type azTestPerm struct{ Actions, NotActions, DataActions, NotDataActions []string }

type azTestRole struct {
	ID         string
	Name       string
	Properties struct {
		RoleName         string
		Type             string
		AssignableScopes []string
		Permissions      []azTestPerm
	}
}

type azTestAssignment struct {
	ID         string
	Name       string
	Type       string
	Properties struct {
		RoleDefinitionID string
		PrincipalID      string
		PrincipalType    string
		Scope            string
		Condition        *string
		ConditionVersion *string
	}
}

type azTestUser struct {
	ID, UserPrincipalName, DisplayName, UserType, CreatedDateTime string
	AccountEnabled                                                bool
	SignInActivity                                                *struct {
		LastSignInDateTime, LastNonInteractiveSignInDateTime, LastSuccessfulSignInDateTime *string
	}
}

type azTestSP struct {
	ID, AppID, DisplayName, ServicePrincipalType, CreatedDateTime string
	AlternativeNames                                              []string
}

type azFiles struct {
	tree        map[string][]byte
	truth       *AzureTruth
	org         *Org
	activity    []azTestActivity
	signIns     []azTestSignIn
	subs        []string
	catalog     map[string]bool // lower-case operation → isDataAction
	catalogCase map[string]string
	roles       map[string]map[string]azTestRole // sub → GUID → definition
	assignments map[string][]azTestAssignment    // sub → assignments listed
	users       []azTestUser
	sps         []azTestSP
	groups      map[string]string   // group ID → name
	members     map[string][]string // group ID → transitive member IDs
	memberTypes map[string]map[string]string
}

func decodeJSON(t *testing.T, tree map[string][]byte, key string, v any) {
	t.Helper()
	b, ok := tree[key]
	if !ok {
		t.Fatalf("no %s", key)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// loadAzure reads every Azure file of a generated tree, checking each path and line as it goes.
func loadAzure(t *testing.T, tree map[string][]byte, org *Org) *azFiles {
	t.Helper()
	x := &azFiles{tree: tree, org: org, catalog: map[string]bool{}, catalogCase: map[string]string{}, roles: map[string]map[string]azTestRole{},
		assignments: map[string][]azTestAssignment{}, groups: map[string]string{}, members: map[string][]string{}, memberTypes: map[string]map[string]string{}}
	var gt GroundTruth
	decodeJSON(t, tree, "ground-truth.json", &gt)
	if gt.Azure == nil {
		t.Fatal("ground truth has no azure part")
	}
	x.truth = gt.Azure
	tenant := gt.Azure.TenantID

	var subs struct {
		Value []struct{ ID, SubscriptionID, TenantID, DisplayName, State string }
	}
	decodeJSON(t, tree, "azure/arm/subscriptions.json", &subs)
	names := map[string]bool{}
	for _, s := range subs.Value {
		if !lowerUUID.MatchString(s.SubscriptionID) || s.ID != "/subscriptions/"+s.SubscriptionID || s.TenantID != tenant || s.State != "Enabled" {
			t.Errorf("subscription %+v", s)
		}
		names[s.DisplayName] = true
		x.subs = append(x.subs, s.SubscriptionID)
	}
	if len(x.subs) != 2 || !names["prod"] || !names["dev"] {
		t.Fatalf("subscriptions %+v", subs.Value)
	}
	if got := slices.Sorted(slices.Values(x.subs)); !slices.Equal(got, gt.Azure.SubscriptionIDs) {
		t.Errorf("truth subscriptions %v, files %v", gt.Azure.SubscriptionIDs, got)
	}

	var ops struct {
		Value []struct {
			ID, Name, Type string
			Operations     []struct {
				Name         string
				IsDataAction *bool
			}
			ResourceTypes []struct {
				Name       string
				Operations []struct {
					Name         string
					IsDataAction *bool
				}
			}
		}
	}
	decodeJSON(t, tree, "azure/arm/providerOperations.json", &ops)
	for _, p := range ops.Value {
		if p.ID != "/providers/Microsoft.Authorization/providerOperations/"+p.Name || p.Type != "Microsoft.Authorization/providerOperations" {
			t.Errorf("provider %s: id %s type %s", p.Name, p.ID, p.Type)
		}
		add := func(rt, name string, data *bool) {
			if data == nil || !strings.HasPrefix(name, p.Name+"/") || (rt != "" && !strings.HasPrefix(name, p.Name+"/"+rt+"/")) {
				t.Errorf("operation %q (resource type %q, isDataAction %v)", name, rt, data)
				return
			}
			k := strings.ToLower(name)
			if _, dup := x.catalog[k]; dup {
				t.Errorf("operation %s listed twice", name)
			}
			x.catalog[k], x.catalogCase[k] = *data, name
		}
		for _, o := range p.Operations {
			add("", o.Name, o.IsDataAction)
		}
		for _, rt := range p.ResourceTypes {
			for _, o := range rt.Operations {
				add(rt.Name, o.Name, o.IsDataAction)
			}
		}
	}

	for _, sub := range x.subs {
		var defs struct{ Value []azTestRole }
		decodeJSON(t, tree, "azure/arm/subscriptions/"+sub+"/roleDefinitions.json", &defs)
		x.roles[sub] = map[string]azTestRole{}
		for _, d := range defs.Value {
			if d.ID != "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+d.Name || !lowerUUID.MatchString(d.Name) || len(d.Properties.Permissions) == 0 {
				t.Errorf("%s: role definition %+v", sub, d)
			}
			x.roles[sub][d.Name] = d
		}
		var asg struct{ Value []azTestAssignment }
		decodeJSON(t, tree, "azure/arm/subscriptions/"+sub+"/roleAssignments.json", &asg)
		for _, a := range asg.Value {
			p := a.Properties
			if a.ID != p.Scope+"/providers/Microsoft.Authorization/roleAssignments/"+a.Name || a.Type != "Microsoft.Authorization/roleAssignments" ||
				!lowerUUID.MatchString(a.Name) || !lowerUUID.MatchString(p.PrincipalID) {
				t.Errorf("%s: assignment %+v", sub, a)
			}
			if _, ok := x.roles[sub][guidOf(p.RoleDefinitionID)]; !ok {
				t.Errorf("%s: assignment %s names definition %s, not listed", sub, a.Name, p.RoleDefinitionID)
			}
			if !strings.HasPrefix(p.Scope, "/providers/Microsoft.Management/managementGroups/") && !strings.HasPrefix(p.Scope, "/subscriptions/"+sub) {
				t.Errorf("%s lists an assignment at %s", sub, p.Scope)
			}
		}
		x.assignments[sub] = asg.Value
	}

	gdir := "azure/graph/" + tenant + "/"
	var users struct{ Value []azTestUser }
	decodeJSON(t, tree, gdir+"users.json", &users)
	x.users = users.Value
	var sps struct{ Value []azTestSP }
	decodeJSON(t, tree, gdir+"servicePrincipals.json", &sps)
	x.sps = sps.Value
	var groups struct {
		Value []struct{ ID, DisplayName string }
	}
	decodeJSON(t, tree, gdir+"groups.json", &groups)
	for _, g := range groups.Value {
		x.groups[g.ID] = g.DisplayName
		var ms struct {
			Value []struct {
				Type string `json:"@odata.type"`
				ID   string `json:"id"`
			}
		}
		decodeJSON(t, tree, gdir+"transitiveMembers/"+g.ID+".json", &ms)
		x.memberTypes[g.ID] = map[string]string{}
		for _, m := range ms.Value {
			if !strings.HasPrefix(m.Type, "#microsoft.graph.") || !lowerUUID.MatchString(m.ID) {
				t.Errorf("group %s member %+v", g.DisplayName, m)
			}
			x.members[g.ID] = append(x.members[g.ID], m.ID)
			x.memberTypes[g.ID][m.ID] = m.Type
		}
	}

	known := map[string]bool{"azure/arm/subscriptions.json": true, "azure/arm/providerOperations.json": true, gdir + "users.json": true,
		gdir + "groups.json": true, gdir + "servicePrincipals.json": true}
	for _, s := range x.subs {
		known["azure/arm/subscriptions/"+s+"/roleDefinitions.json"], known["azure/arm/subscriptions/"+s+"/roleAssignments.json"] = true, true
	}
	for id := range x.groups {
		known[gdir+"transitiveMembers/"+id+".json"] = true
	}
	upperSubs := map[string]string{}
	for _, s := range x.subs {
		upperSubs[strings.ToUpper(s)] = s
	}
	for _, key := range sortedKeys(tree) {
		if !strings.HasPrefix(key, "azure/") || known[key] {
			continue
		}
		var hour time.Time
		m, si := azActivityPath.FindStringSubmatch(key), azSignInPath.FindStringSubmatch(key)
		switch {
		case m != nil:
			hour = pathHour(t, key, m[2:6])
			if upperSubs[m[1]] == "" {
				t.Errorf("%s: not a subscription of the tenant", key)
			}
		case si != nil:
			hour = pathHour(t, key, si[3:7])
			if si[2] != tenant {
				t.Errorf("%s: tenant %s", key, si[2])
			}
		default:
			t.Errorf("unexpected file %s", key)
			continue
		}
		body := tree[key]
		if len(body) == 0 || body[len(body)-1] != '\n' {
			t.Errorf("%s: not newline-terminated JSON Lines", key)
		}
		lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		for i, line := range lines {
			if !json.Valid(line) || len(line) == 0 || line[0] != '{' {
				t.Fatalf("%s line %d is not a JSON object: %.80s", key, i+1, line)
			}
			if m != nil {
				var r azTestActivity
				if err := json.Unmarshal(line, &r); err != nil {
					t.Fatalf("%s line %d: %v", key, i+1, err)
				}
				r.blob, r.line, r.last, r.sub, r.hour = key, i+1, i == len(lines)-1, upperSubs[m[1]], hour
				r.at = parseAzTime(t, r.Time)
				r.success = r.ResultType == "Succeeded" || r.ResultType == "Success"
				x.activity = append(x.activity, r)
				continue
			}
			var r azTestSignIn
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("%s line %d: %v", key, i+1, err)
			}
			r.container, r.hour, r.at = si[1], hour, parseAzTime(t, r.Time)
			x.signIns = append(x.signIns, r)
		}
	}
	return x
}

func pathHour(t *testing.T, key string, ymdh []string) time.Time {
	t.Helper()
	h, err := time.Parse("2006-01-02T15", ymdh[0]+"-"+ymdh[1]+"-"+ymdh[2]+"T"+ymdh[3])
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return h
}

func parseAzTime(t *testing.T, s string) time.Time {
	t.Helper()
	if !azTime7.MatchString(s) {
		t.Fatalf("time %q does not have 7 fractional digits", s)
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// guidOf returns the lower-case GUID at the end of an ARM ID, hyphenated.
func guidOf(id string) string {
	g := strings.ToLower(id[strings.LastIndex(id, "/")+1:])
	if len(g) == 32 {
		g = g[:8] + "-" + g[8:12] + "-" + g[12:16] + "-" + g[16:20] + "-" + g[20:]
	}
	return g
}

var azPatternCache sync.Map // pattern → *regexp.Regexp; parallel tests share it

// azMatches is the test's own RBAC wildcard match: '*' matches any run of characters,
// case-insensitively (FORMATS.md §4.5).
func azMatches(pattern, op string) bool {
	re, ok := azPatternCache.Load(pattern)
	if !ok {
		re, _ = azPatternCache.LoadOrStore(pattern, regexp.MustCompile("(?i)^"+strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*")+"$"))
	}
	return re.(*regexp.Regexp).MatchString(op)
}

func anyMatch(patterns []string, op string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return azMatches(p, op) })
}

// covers reports whether an assignment to assignee applies to principal: the same object or a
// group it is a transitive member of.
func (x *azFiles) covers(assignee, principal string) bool {
	return assignee == principal || slices.Contains(x.members[assignee], principal)
}

// grants reports whether a role permits op: Actions minus NotActions for control-plane
// operations, DataActions minus NotDataActions for data actions, per permission entry.
func (x *azFiles) grants(role azTestRole, op string) bool {
	data := x.catalog[strings.ToLower(op)]
	for _, p := range role.Properties.Permissions {
		allow, deny := p.Actions, p.NotActions
		if data {
			allow, deny = p.DataActions, p.NotDataActions
		}
		if anyMatch(allow, op) && !anyMatch(deny, op) {
			return true
		}
	}
	return false
}

// granted reports whether any assignment visible in sub grants op to principal.
func (x *azFiles) granted(sub, principal, op string) bool {
	for _, a := range x.assignments[sub] {
		if x.covers(a.Properties.PrincipalID, principal) && x.grants(x.roles[sub][guidOf(a.Properties.RoleDefinitionID)], op) {
			return true
		}
	}
	return false
}

func loadDefaultAzure(t *testing.T) *azFiles {
	t.Helper()
	g := generateDefault(t)
	return loadAzure(t, readTree(t, g.dir), g.org)
}

func TestAzureLayout(t *testing.T) {
	t.Parallel()
	x := loadDefaultAzure(t)
	tenant := x.truth.TenantID
	if !lowerUUID.MatchString(tenant) || x.org.AzureTenantID != tenant {
		t.Fatalf("tenant %q, org %q", tenant, x.org.AzureTenantID)
	}
	if len(x.activity) < 1000 || len(x.signIns) < 300 {
		t.Fatalf("%d activity records, %d sign-ins", len(x.activity), len(x.signIns))
	}
	if x.org.AzureActivityRecords != len(x.activity) || x.org.AzureSignInRecords != len(x.signIns) || x.truth.Stats["activity_records"] != len(x.activity) {
		t.Errorf("org counts %d/%d, read %d/%d", x.org.AzureActivityRecords, x.org.AzureSignInRecords, len(x.activity), len(x.signIns))
	}
	start, end := x.org.WindowStart, x.org.WindowEnd
	caseVariants, lowerIDs, upperIDs := 0, 0, 0
	for _, r := range x.activity {
		if r.at.Before(start) || !r.at.Before(end) || r.hour.Before(r.at.Truncate(time.Hour)) || r.hour.After(r.at.Add(3*time.Hour)) || !r.hour.Before(end) {
			t.Errorf("%s: record at %s in the blob of %s", r.blob, r.Time, r.hour)
		}
		if !strings.HasPrefix(strings.ToLower(r.ResourceID), "/subscriptions/"+r.sub+"/") {
			t.Errorf("%s holds a record of %s", r.blob, r.ResourceID)
		}
		c := r.Identity.Claims
		if c[claimTenant] != tenant || !lowerUUID.MatchString(c[claimOID]) || !lowerUUID.MatchString(c["appid"]) || r.Category != "Administrative" ||
			r.Properties.EventCategory != "Administrative" || r.CorrelationID == "" || !strings.EqualFold(r.Identity.Authorization.Scope, r.ResourceID) {
			t.Fatalf("%s line %d: malformed record", r.blob, r.line)
		}
		if ev := r.Identity.Authorization.Evidence; ev != nil && (len(ev.RoleAssignmentID) != 32 || len(ev.RoleDefinitionID) != 32 || len(ev.PrincipalID) != 32) {
			t.Errorf("%s line %d: evidence GUIDs %+v (want 32 hex digits, no hyphens)", r.blob, r.line, ev)
		}
		if r.OperationName != x.catalogCase[strings.ToLower(r.OperationName)] {
			caseVariants++
		}
		switch r.ResourceID {
		case strings.ToLower(r.ResourceID):
			lowerIDs++
		case strings.ToUpper(r.ResourceID):
			upperIDs++
		}
	}
	if caseVariants == 0 || lowerIDs == 0 || upperIDs == 0 {
		t.Errorf("casing variants: %d operationNames, %d lower-case and %d upper-case resourceIds", caseVariants, lowerIDs, upperIDs)
	}
	per := map[string]int{}
	failedPer := map[string]int{}
	for _, r := range x.signIns {
		want := map[string]string{"signinlogs": "SignInLogs", "noninteractiveusersigninlogs": "NonInteractiveUserSignInLogs",
			"serviceprincipalsigninlogs": "ServicePrincipalSignInLogs", "managedidentitysigninlogs": "ManagedIdentitySignInLogs"}[r.container]
		if r.Category != want || r.TenantID != tenant || r.ResourceID != "/tenants/"+tenant+"/providers/Microsoft.aadiam" || r.Properties.ID == "" ||
			r.Properties.Status.ErrorCode == nil || r.ResultType != itoa(*r.Properties.Status.ErrorCode) || len(r.Level) == 0 {
			t.Fatalf("%s sign-in %+v", r.container, r)
		}
		if r.at.Before(start) || !r.at.Before(end) || r.hour.Before(r.at.Truncate(time.Hour)) {
			t.Errorf("sign-in at %s in the blob of %s", r.Time, r.hour)
		}
		user := r.container == "signinlogs" || r.container == "noninteractiveusersigninlogs"
		if user != (r.Properties.UserID != "") || user == (r.Properties.ServicePrincipalID != "") {
			t.Errorf("%s sign-in names user %q, service principal %q", r.container, r.Properties.UserID, r.Properties.ServicePrincipalID)
		}
		if r.Properties.IsInteractive == nil || *r.Properties.IsInteractive != (r.container == "signinlogs") {
			t.Errorf("%s sign-in isInteractive %v", r.container, r.Properties.IsInteractive)
		}
		per[r.container]++
		if r.ResultType != "0" {
			failedPer[r.container]++
		}
	}
	for _, c := range []string{"signinlogs", "noninteractiveusersigninlogs", "serviceprincipalsigninlogs", "managedidentitysigninlogs"} {
		if per[c] == 0 {
			t.Errorf("no %s records", c)
		}
	}
	if failedPer["signinlogs"] == 0 || failedPer["serviceprincipalsigninlogs"] == 0 {
		t.Errorf("failed sign-ins per container: %v", failedPer)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestAzureIsDeterministic(t *testing.T) {
	t.Parallel()
	trees := make([]map[string][]byte, 3)
	for i := range trees {
		cfg := Config{Days: 3, EventsPerHour: 5}
		if i == 2 {
			cfg.Seed = 7
		}
		d := t.TempDir()
		if _, err := Generate(context.Background(), d, cfg); err != nil {
			t.Fatal(err)
		}
		trees[i] = map[string][]byte{}
		for k, v := range readTree(t, d) {
			if strings.HasPrefix(k, "azure/") {
				trees[i][k] = v
			}
		}
	}
	a, b := trees[0], trees[1]
	if len(a) != len(b) || len(a) < 100 {
		t.Fatalf("azure trees: %d and %d files", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Errorf("%s differs between two runs with the same config", k)
		}
	}
	same := 0
	for k, v := range a {
		if strings.Contains(k, "/blob/") && bytes.Equal(v, trees[2][k]) {
			same++
		}
	}
	if same > len(a)/10 {
		t.Errorf("another seed wrote %d identical blobs: the seed is not used", same)
	}
}

// TestAzureShortWindow: a one-day window still has every scheduled case, clamped into it.
func TestAzureShortWindow(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	org, err := Generate(context.Background(), d, Config{Days: 1, EventsPerHour: 3})
	if err != nil {
		t.Fatal(err)
	}
	x := loadAzure(t, readTree(t, d), org)
	checkAzureTruth(t, x)
}

func TestAzureTruthMatchesRecords(t *testing.T) {
	t.Parallel()
	checkAzureTruth(t, loadDefaultAzure(t))
}

// checkAzureTruth recomputes the ground truth from the written files and compares.
func checkAzureTruth(t *testing.T, x *azFiles) {
	t.Helper()
	type key struct{ sub, oid string }
	used := map[key]map[string]bool{}
	opsOf := map[key]map[string]bool{}
	lastOK := map[string]time.Time{}
	byCorr := map[string][]azTestActivity{}
	late, failed := 0, 0
	for _, r := range x.activity {
		oid := r.Identity.Claims[claimOID]
		k := key{r.sub, oid}
		if opsOf[k] == nil {
			opsOf[k] = map[string]bool{}
		}
		opsOf[k][r.CorrelationID] = true
		byCorr[r.CorrelationID] = append(byCorr[r.CorrelationID], r)
		if r.hour.After(r.at.Truncate(time.Hour)) {
			late++
		}
		action := r.Identity.Authorization.Action
		lc := strings.ToLower(action)
		data, inCatalog := x.catalog[lc]
		if !inCatalog || !strings.EqualFold(action, r.OperationName) {
			t.Errorf("%s line %d: action %s (operationName %s) not in the catalog", r.blob, r.line, action, r.OperationName)
		}
		if data || strings.HasSuffix(lc, "/read") {
			t.Errorf("%s line %d: %s is a read or data action, which the Activity Log never records", r.blob, r.line, action)
		}
		switch {
		case r.success:
			if used[k] == nil {
				used[k] = map[string]bool{}
			}
			used[k][lc] = true
			if r.at.After(lastOK[oid]) {
				lastOK[oid] = r.at
			}
			checkEvidence(t, x, r)
		case r.ResultType == "Failed":
			failed++
			if r.Identity.Authorization.Evidence == nil && x.granted(r.sub, oid, action) {
				t.Errorf("%s line %d: denied %s, yet %s is granted it", r.blob, r.line, action, oid)
			}
		case r.ResultType != "Start":
			t.Errorf("%s line %d: resultType %q", r.blob, r.line, r.ResultType)
		}
	}
	st := x.truth.Stats
	if late == 0 || late != st["late_records"] || failed != st["failed_operations"] || len(byCorr) != st["activity_operations"] {
		t.Errorf("late %d, failed %d, operations %d; stats %v", late, failed, len(byCorr), st)
	}

	// Start and end records share a correlationId; a denied call has one Failed record.
	denied := 0
	for corr, rs := range byCorr {
		if len(rs) == 1 && rs[0].ResultType == "Failed" && rs[0].Identity.Authorization.Evidence == nil {
			denied++
			continue
		}
		slices.SortFunc(rs, func(a, b azTestActivity) int { return a.at.Compare(b.at) })
		if len(rs) != 2 || rs[0].ResultType != "Start" || (!rs[1].success && rs[1].ResultType != "Failed") ||
			!strings.EqualFold(rs[0].ResourceID, rs[1].ResourceID) || !strings.EqualFold(rs[0].OperationName, rs[1].OperationName) ||
			rs[0].Identity.Claims[claimOID] != rs[1].Identity.Claims[claimOID] {
			t.Errorf("correlationId %s: %d records, not one Start and one end of the same call", corr, len(rs))
		}
	}
	if denied == 0 {
		t.Error("no denied call")
	}

	// The late-appended record: the last line of an hour's blob, from that hour, after records
	// received later than it happened.
	appended := 0
	for _, r := range x.activity {
		if r.last && r.success && r.at.Truncate(time.Hour).Equal(r.hour) && r.at.Minute() >= 57 &&
			strings.EqualFold(r.OperationName, "Microsoft.Web/sites/config/write") && r.Identity.Claims[claimUPN] != "" {
			appended++
		}
	}
	if appended == 0 || st["late_appended"] != 1 {
		t.Errorf("late-appended record: %d found, stats %d", appended, st["late_appended"])
	}

	// Used actions per (subscription, principal) equal the truth's.
	seen := map[key]bool{}
	for _, p := range x.truth.Principals {
		k := key{p.SubscriptionID, p.PrincipalID}
		seen[k] = true
		if got := sortedKeys(used[k]); !slices.Equal(got, p.UsedActions) && !(len(got) == 0 && len(p.UsedActions) == 0) {
			t.Errorf("%s in %s: truth used %v, records %v", p.DisplayName, p.SubscriptionID, p.UsedActions, got)
		}
		if p.Operations != len(opsOf[k]) {
			t.Errorf("%s in %s: truth %d operations, records %d", p.DisplayName, p.SubscriptionID, p.Operations, len(opsOf[k]))
		}
		for _, a := range p.UsedActions {
			if a != strings.ToLower(a) {
				t.Errorf("used action %s not lower case", a)
			}
		}
	}
	for k := range opsOf {
		if !seen[k] {
			t.Errorf("records credit %v, absent from the truth", k)
		}
	}

	// Inactive principals from the sign-in records, activity and Graph.
	lastSignIn := map[string]time.Time{}
	for _, r := range x.signIns {
		if r.ResultType != "0" {
			continue
		}
		id := r.Properties.UserID
		if id == "" {
			id = r.Properties.ServicePrincipalID
		}
		if r.at.After(lastOK[id]) {
			lastOK[id] = r.at
		}
		if r.at.After(lastSignIn[id]) {
			lastSignIn[id] = r.at
		}
	}
	since := x.org.WindowEnd.AddDate(0, 0, -x.truth.LookbackDays)
	want := map[string]bool{}
	// Only holders of a role are judged: the assignees and their groups' transitive members.
	holds := map[string]bool{}
	for _, as := range x.assignments {
		for _, a := range as {
			holds[a.Properties.PrincipalID] = true
			for _, m := range x.members[a.Properties.PrincipalID] {
				holds[m] = true
			}
		}
	}
	consider := func(id, created string, graphLast *string) {
		if !holds[id] {
			return
		}
		c, err := time.Parse(time.RFC3339, created)
		if err != nil {
			t.Fatalf("createdDateTime %q", created)
		}
		last := lastOK[id]
		if graphLast != nil {
			g, err := time.Parse(time.RFC3339, *graphLast)
			if err != nil {
				t.Fatal(err)
			}
			if l := lastSignIn[id]; !l.IsZero() && !g.Equal(l.Truncate(time.Second)) {
				t.Errorf("user %s: lastSuccessfulSignInDateTime %s, last successful sign-in record %s", id, *graphLast, l)
			}
			if g.After(last) {
				last = g
			}
		}
		if c.Before(since) && last.Before(since) {
			want[id] = true
		}
	}
	nullActivity, disabled, guest, recent := 0, 0, 0, 0
	for _, u := range x.users {
		var g *string
		if u.SignInActivity == nil {
			nullActivity++
		} else {
			g = u.SignInActivity.LastSuccessfulSignInDateTime
		}
		if !u.AccountEnabled {
			disabled++
		}
		if u.UserType == "Guest" {
			guest++
		}
		if c, _ := time.Parse(time.RFC3339, u.CreatedDateTime); !c.Before(since) {
			recent++
		}
		consider(u.ID, u.CreatedDateTime, g)
	}
	for _, s := range x.sps {
		consider(s.ID, s.CreatedDateTime, nil)
	}
	if nullActivity == 0 || disabled == 0 || guest == 0 || recent == 0 {
		t.Errorf("users: %d without signInActivity, %d disabled, %d guests, %d created in the look-back", nullActivity, disabled, guest, recent)
	}
	got := map[string]bool{}
	for _, p := range x.truth.InactivePrincipals {
		got[p.PrincipalID] = true
	}
	if len(want) < 3 || !mapsEqual(got, want) {
		t.Errorf("inactive: truth %v, files %v", sortedKeys(got), sortedKeys(want))
	}

	// The expectations, re-judged from the files.
	statuses := map[string]int{}
	for _, e := range x.truth.Expectations {
		statuses[e.Status]++
		k := key{e.SubscriptionID, e.PrincipalID}
		data, ok := x.catalog[e.Action]
		if !ok {
			t.Errorf("expectation %+v: action not in the catalog", e)
			continue
		}
		isGranted := x.granted(e.SubscriptionID, e.PrincipalID, x.catalogCase[e.Action])
		isUsed := used[k][e.Action]
		var ok2 bool
		switch e.Status {
		case AzureUsed:
			ok2 = isUsed && isGranted
		case AzureUnused:
			ok2 = isGranted && !isUsed && !data && !strings.HasSuffix(e.Action, "/read")
		case AzureUnknown:
			ok2 = isGranted && !isUsed && (data || strings.HasSuffix(e.Action, "/read"))
		case AzureNotGranted:
			ok2 = !isGranted && !isUsed
		}
		if !ok2 {
			t.Errorf("expectation %s %s %s = %s, but the files say granted %v, used %v, data %v", e.DisplayName, e.SubscriptionID, e.Action, e.Status, isGranted, isUsed, data)
		}
	}
	for _, s := range []string{AzureUsed, AzureUnused, AzureUnknown, AzureNotGranted} {
		if statuses[s] == 0 {
			t.Errorf("no %s expectation", s)
		}
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// checkEvidence: a successful call's evidence names an assignment listed in its subscription,
// to the caller or a group holding it, whose role grants the action at a scope above the
// resource.
func checkEvidence(t *testing.T, x *azFiles, r azTestActivity) {
	t.Helper()
	ev := r.Identity.Authorization.Evidence
	if ev == nil {
		t.Errorf("%s line %d: success without evidence", r.blob, r.line)
		return
	}
	for _, a := range x.assignments[r.sub] {
		p := a.Properties
		if guidOf(ev.RoleAssignmentID) != a.Name {
			continue
		}
		role := x.roles[r.sub][guidOf(p.RoleDefinitionID)]
		oid := r.Identity.Claims[claimOID]
		if guidOf(ev.PrincipalID) != p.PrincipalID || ev.PrincipalType != p.PrincipalType || guidOf(ev.RoleDefinitionID) != role.Name ||
			ev.Role != role.Properties.RoleName || ev.RoleAssignmentScope != p.Scope || !x.covers(p.PrincipalID, oid) {
			t.Errorf("%s line %d: evidence %+v disagrees with assignment %s", r.blob, r.line, ev, a.ID)
		}
		if !x.grants(role, r.Identity.Authorization.Action) {
			t.Errorf("%s line %d: %s does not grant %s", r.blob, r.line, role.Properties.RoleName, r.Identity.Authorization.Action)
		}
		scope := strings.ToLower(p.Scope)
		if !strings.HasPrefix(scope, "/providers/microsoft.management/") && !strings.HasPrefix(strings.ToLower(r.ResourceID)+"/", scope+"/") {
			t.Errorf("%s line %d: %s is outside the assignment's scope %s", r.blob, r.line, r.ResourceID, p.Scope)
		}
		return
	}
	t.Errorf("%s line %d: evidence names assignment %s, not listed in %s", r.blob, r.line, ev.RoleAssignmentID, r.sub)
}

// TestAzureEntitlements checks the snapshots' content: the built-in roles' real IDs and
// permissions, the custom role, assignments at every scope level and to every kind of
// principal, the ABAC condition, nested groups, managed identities, and that every role
// pattern naming a catalogued provider expands to some operation.
func TestAzureEntitlements(t *testing.T) {
	t.Parallel()
	x := loadDefaultAzure(t)
	if n := len(x.catalog); n < 150 || n > 300 {
		t.Errorf("catalog has %d operations", n)
	}
	providers := map[string]bool{}
	dataOps := 0
	for op, data := range x.catalog {
		providers[op[:strings.Index(op, "/")]] = true
		if data {
			dataOps++
		}
	}
	for _, p := range []string{"microsoft.compute", "microsoft.storage", "microsoft.network", "microsoft.keyvault", "microsoft.authorization", "microsoft.resources", "microsoft.web"} {
		if !providers[p] {
			t.Errorf("catalog lacks %s", p)
		}
	}
	if !x.catalog["microsoft.storage/storageaccounts/blobservices/containers/blobs/read"] || dataOps < 10 {
		t.Errorf("data actions: %d, blobs/read data %v", dataOps, x.catalog["microsoft.storage/storageaccounts/blobservices/containers/blobs/read"])
	}
	roles := x.roles[azProdSub]
	wantBuiltins := map[string]struct {
		name                     string
		actions, not, dataAction []string
	}{
		"8e3af657-a8ff-443c-a75c-2fe8c4bcb635": {"Owner", []string{"*"}, nil, nil},
		"b24988ac-6180-42a0-ab88-20f7382dd24c": {"Contributor", []string{"*"}, []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action"}, nil},
		"acdd72a7-3385-48ef-bd42-f606fba81ae7": {"Reader", []string{"*/read"}, nil, nil},
		"2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": {"Storage Blob Data Reader", []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read",
			"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"}, nil, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}},
	}
	for id, w := range wantBuiltins {
		r, ok := roles[id]
		if !ok || r.Properties.RoleName != w.name || r.Properties.Type != "BuiltInRole" {
			t.Errorf("built-in %s (%s): %+v", w.name, id, r)
			continue
		}
		p := r.Properties.Permissions[0]
		if !slices.Equal(p.Actions, w.actions) || !slices.Equal(p.NotActions, nonNil(w.not)) || !slices.Equal(p.DataActions, nonNil(w.dataAction)) || p.NotDataActions == nil {
			t.Errorf("%s permissions %+v", w.name, p)
		}
	}
	if r := roles["9980e02c-c2be-4d73-94e8-173b1dc7cf3c"]; r.Properties.RoleName != "Virtual Machine Contributor" || !slices.Contains(r.Properties.Permissions[0].Actions, "Microsoft.Compute/virtualMachines/*") {
		t.Errorf("Virtual Machine Contributor %+v", r)
	}
	custom := 0
	for _, r := range roles {
		if r.Properties.Type != "CustomRole" {
			continue
		}
		custom++
		mid := slices.ContainsFunc(r.Properties.Permissions[0].Actions, func(a string) bool {
			i := strings.Index(a, "*")
			return i > 0 && i < len(a)-1
		})
		if !mid || len(r.Properties.Permissions[0].NotActions) == 0 || slices.Contains(r.Properties.AssignableScopes, "/") {
			t.Errorf("custom role %+v", r)
		}
	}
	if custom != 1 {
		t.Errorf("%d custom roles", custom)
	}
	// Every pattern over a catalogued provider expands to something of its plane.
	for _, r := range roles {
		for _, p := range r.Properties.Permissions {
			for _, set := range []struct {
				patterns []string
				data     bool
			}{{p.Actions, false}, {p.NotActions, false}, {p.DataActions, true}, {p.NotDataActions, true}} {
				for _, pat := range set.patterns {
					ns := strings.ToLower(strings.SplitN(pat, "/", 2)[0])
					if ns != "*" && !providers[ns] {
						continue
					}
					n := 0
					for op, data := range x.catalog {
						if data == set.data && azMatches(pat, op) {
							n++
						}
					}
					if n == 0 {
						t.Errorf("%s: %s expands to nothing in the catalog", r.Properties.RoleName, pat)
					}
				}
			}
		}
	}

	levels, types := map[string]int{}, map[string]int{}
	conditions := 0
	mgSeen := map[string]int{}
	for _, sub := range x.subs {
		for _, a := range x.assignments[sub] {
			p := a.Properties
			s := strings.ToLower(p.Scope)
			switch parts := strings.Count(s, "/"); {
			case strings.HasPrefix(s, "/providers/microsoft.management/managementgroups/"):
				levels["management group"]++
				mgSeen[a.Name]++
			case parts == 2:
				levels["subscription"]++
			case parts == 4:
				levels["resource group"]++
			default:
				levels["resource"]++
			}
			types[p.PrincipalType]++
			if p.Condition != nil {
				conditions++
				if p.ConditionVersion == nil || *p.ConditionVersion != "2.0" {
					t.Errorf("condition without version 2.0: %+v", p)
				}
			}
		}
	}
	for _, l := range []string{"management group", "subscription", "resource group", "resource"} {
		if levels[l] == 0 {
			t.Errorf("no assignment at %s scope", l)
		}
	}
	for id, n := range mgSeen {
		if n != len(x.subs) {
			t.Errorf("management-group assignment %s listed in %d subscriptions", id, n)
		}
	}
	if types["User"] == 0 || types["Group"] == 0 || types["ServicePrincipal"] == 0 || conditions == 0 {
		t.Errorf("assignment principal types %v, %d conditions", types, conditions)
	}
	mis, apps := 0, 0
	for _, s := range x.sps {
		switch s.ServicePrincipalType {
		case "ManagedIdentity":
			mis++
			if len(s.AlternativeNames) != 2 || !strings.HasPrefix(s.AlternativeNames[0], "isExplicit=") {
				t.Errorf("managed identity %+v", s)
			}
		case "Application":
			apps++
		}
	}
	if mis != 2 || apps != 3 || len(x.users) < 8 || len(x.groups) != 3 {
		t.Errorf("%d managed identities, %d applications, %d users, %d groups", mis, apps, len(x.users), len(x.groups))
	}
	nested := 0
	for g, ms := range x.members {
		for _, m := range ms {
			if x.memberTypes[g][m] == "#microsoft.graph.group" {
				nested++
				for _, inner := range x.members[m] {
					if !slices.Contains(ms, inner) {
						t.Errorf("group %s: member %s of nested group %s is not a transitive member", x.groups[g], inner, x.groups[m])
					}
				}
			}
		}
	}
	if nested == 0 {
		t.Error("no nested group")
	}
}
