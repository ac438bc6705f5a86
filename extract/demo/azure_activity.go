package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// azOp is one kind of ARM operation: the RBAC permission checked (identity.authorization.action,
// in the catalog's case) on a resource (the authorization scope). Only writes, deletes and
// actions: the Activity Log records no reads (FORMATS.md §4.3).
type azOp struct {
	action, resource string
}

// azProfile is a principal's background activity in one subscription, through one assignment
// (the one the records' evidence names).
type azProfile struct {
	who, sub, via string
	weight        int
	allHours      bool
	ops           []azOp
}

// Failure kinds of scheduled operations.
const (
	azDenied   = "AuthorizationFailed" // no Start record, no evidence, 403
	azConflict = "Conflict"            // authorized, Start then Failed with 409
)

// azScheduled is one fixed operation of the demo: the used expectations, the failures and the
// late-delivery cases. day is clamped to the window.
type azScheduled struct {
	day, hour, minute int
	who, sub, via     string
	op                azOp
	fail              string
	lateHours         int  // the end record is received this many hours after its event hour
	appendLate        bool // the end record is appended to its own hour's blob after that hour
}

var (
	prodRG   = azRG(azProdSub, "rg-app-prod")
	prodNet  = azRG(azProdSub, "rg-network-prod")
	devRG    = azRG(azDevSub, "rg-app-dev")
	prodVM1  = azRes(azProdSub, "rg-app-prod", "Microsoft.Compute/virtualMachines", "vm-app-01")
	prodVM2  = azRes(azProdSub, "rg-app-prod", "Microsoft.Compute/virtualMachines", "vm-app-02")
	prodSnap = azRes(azProdSub, "rg-app-prod", "Microsoft.Compute/snapshots", "snap-vm-app-01-nightly")
	prodSt   = azRes(azProdSub, "rg-app-prod", "Microsoft.Storage/storageAccounts", "stordersprod")
	prodKV   = azRes(azProdSub, "rg-app-prod", "Microsoft.KeyVault/vaults", "kv-orders-prod")
	prodApp  = azRes(azProdSub, "rg-app-prod", "Microsoft.Web/sites", "app-orders-prod")
	prodDep  = prodRG + "/providers/Microsoft.Resources/deployments/orders-release"
	prodNSG  = prodNet + "/providers/Microsoft.Network/networkSecurityGroups/nsg-app/securityRules/allow-https"
	prodRA   = prodRG + "/providers/Microsoft.Authorization/roleAssignments/" + uuidOf("azure/new-assignment")
	devVM1   = azRes(azDevSub, "rg-app-dev", "Microsoft.Compute/virtualMachines", "vm-dev-01")
	devVM2   = azRes(azDevSub, "rg-app-dev", "Microsoft.Compute/virtualMachines", "vm-dev-scratch")
	devNIC   = azRes(azDevSub, "rg-app-dev", "Microsoft.Network/networkInterfaces", "vm-dev-01-nic")
	devVNet  = azRes(azDevSub, "rg-app-dev", "Microsoft.Network/virtualNetworks", "vnet-dev")
	devApp   = azRes(azDevSub, "rg-app-dev", "Microsoft.Web/sites", "app-orders-dev")
	devSt    = azRes(azDevSub, "rg-app-dev", "Microsoft.Storage/storageAccounts", "stordersdev")
	devDep   = devRG + "/providers/Microsoft.Resources/deployments/sandbox-env"
)

// azureProfiles is the intent table of background activity. Nobody here performs an action an
// "unused" expectation names.
var azureProfiles = []azProfile{
	{who: "alice", sub: azProdSub, via: "prod-owner-alice", weight: 2, ops: []azOp{
		{"Microsoft.Resources/subscriptions/resourceGroups/write", prodRG}, {"Microsoft.Web/sites/config/write", prodApp + "/config/web"},
		{"Microsoft.KeyVault/vaults/write", prodKV}}},
	{who: "bob", sub: azProdSub, via: "prod-rg-vmc-platform", weight: 3, ops: []azOp{
		{"Microsoft.Compute/virtualMachines/restart/action", prodVM1}, {"Microsoft.Compute/virtualMachines/write", prodVM2},
		{"Microsoft.Compute/virtualMachines/start/action", prodVM2}, {"Microsoft.Resources/deployments/write", prodRG + "/providers/Microsoft.Resources/deployments/vm-app-02-update"}}},
	{who: "bob", sub: azProdSub, via: "prod-kv-contrib-bob", weight: 1, ops: []azOp{
		{"Microsoft.KeyVault/vaults/write", prodKV}, {"Microsoft.KeyVault/vaults/accessPolicies/write", prodKV + "/accessPolicies/add"}}},
	{who: "deploy-pipeline", sub: azProdSub, via: "prod-contrib-deploy", weight: 4, allHours: true, ops: []azOp{
		{"Microsoft.Resources/deployments/write", prodDep}, {"Microsoft.Web/sites/write", prodApp}, {"Microsoft.Web/sites/config/write", prodApp + "/config/appsettings"},
		{"Microsoft.Web/sites/restart/action", prodApp}, {"Microsoft.Storage/storageAccounts/write", prodSt},
		{"Microsoft.Storage/storageAccounts/listkeys/action", prodSt}, {"Microsoft.Network/networkSecurityGroups/securityRules/write", prodNSG}}},
	{who: "mi-vm-backup", sub: azProdSub, via: "prod-rg-vmop-backup", weight: 1, allHours: true, ops: []azOp{
		{"Microsoft.Compute/snapshots/write", prodSnap}, {"Microsoft.Compute/virtualMachines/powerOff/action", prodVM2},
		{"Microsoft.Compute/virtualMachines/start/action", prodVM2}}},
	{who: "bob", sub: azDevSub, via: "dev-contrib-platform", weight: 3, ops: []azOp{
		{"Microsoft.Compute/virtualMachines/write", devVM1}, {"Microsoft.Compute/virtualMachines/delete", devVM2},
		{"Microsoft.Network/virtualNetworks/write", devVNet}, {"Microsoft.Resources/subscriptions/resourceGroups/write", azRG(azDevSub, "rg-sandbox-dev")},
		{"Microsoft.Resources/deployments/write", devDep}}},
	{who: "alice", sub: azDevSub, via: "dev-contrib-platform", weight: 1, ops: []azOp{
		{"Microsoft.Web/sites/write", devApp}, {"Microsoft.Storage/storageAccounts/write", devSt}}},
	{who: "carol", sub: azDevSub, via: "dev-vmc-carol", weight: 2, ops: []azOp{
		{"Microsoft.Compute/virtualMachines/write", devVM1}, {"Microsoft.Compute/virtualMachines/restart/action", devVM1},
		{"Microsoft.Network/networkInterfaces/write", devNIC}}},
}

// azureScheduled are the fixed operations: one per used expectation, the failures, and the
// late-delivery cases.
var azureScheduled = []azScheduled{
	{day: 0, hour: 10, minute: 12, who: "alice", sub: azProdSub, via: "prod-owner-alice", op: azOp{"Microsoft.Authorization/roleAssignments/write", prodRA}},
	{day: 0, hour: 11, minute: 5, who: "bob", sub: azProdSub, via: "prod-rg-vmc-platform", op: azOp{"Microsoft.Compute/virtualMachines/restart/action", prodVM1}},
	{day: 0, hour: 2, minute: 30, who: "mi-vm-backup", sub: azProdSub, via: "prod-rg-vmop-backup", op: azOp{"Microsoft.Compute/virtualMachines/start/action", prodVM1}},
	{day: 0, hour: 5, minute: 40, who: "deploy-pipeline", sub: azProdSub, via: "prod-contrib-deploy", op: azOp{"Microsoft.Storage/storageAccounts/listkeys/action", prodSt}},
	{day: 0, hour: 14, minute: 20, who: "carol", sub: azDevSub, via: "dev-vmc-carol", op: azOp{"Microsoft.Compute/virtualMachines/write", devVM1}},
	// Failures: denied (not granted) and authorized-but-failed (granted, still unused).
	{day: 1, hour: 15, minute: 33, who: "bob", sub: azProdSub, op: azOp{"Microsoft.Authorization/roleAssignments/write", prodRA}, fail: azDenied},
	{day: 8, hour: 11, minute: 2, who: "bob", sub: azProdSub, op: azOp{"Microsoft.Authorization/roleAssignments/write", prodRA}, fail: azDenied},
	{day: 2, hour: 3, minute: 47, who: "deploy-pipeline", sub: azProdSub, via: "prod-contrib-deploy", op: azOp{"Microsoft.Web/sites/delete", prodApp}, fail: azConflict},
	{day: 4, hour: 10, minute: 51, who: "carol", sub: azDevSub, op: azOp{"Microsoft.Storage/storageAccounts/write", devSt}, fail: azDenied},
	// Received 2 hours after it happened, and appended to its hour's blob after that hour.
	{day: 0, hour: 3, minute: 18, who: "mi-vm-backup", sub: azProdSub, via: "prod-rg-vmop-backup", op: azOp{"Microsoft.Compute/snapshots/write", prodSnap}, lateHours: 2},
	{day: 0, hour: 9, minute: 57, who: "alice", sub: azProdSub, via: "prod-owner-alice", op: azOp{"Microsoft.Web/sites/config/write", prodApp + "/config/web"}, appendLate: true},
}

// azLine is one record of an append blob: received at recv, written in (recv, seq) order.
type azLine struct {
	recv time.Time
	seq  int
	body []byte
}

type signInRef struct {
	at time.Time
	id string
}

// azureGen generates and writes the Azure part and keeps the ground truth from its intent.
type azureGen struct {
	cfg        Config
	dir        string
	start, end time.Time
	rng        *rand.Rand
	m          *azureModel
	blobs      map[string][]azLine // key: path under azure/blob
	seq        int

	used   map[[2]string]map[string]bool // (subscription, object ID) → lower-case actions that succeeded
	ops    map[[2]string]int             // (subscription, object ID) → operations
	lastOK map[string]time.Time          // object ID → last successful sign-in or operation
	// users' sign-ins for Graph signInActivity
	lastInteractive, lastNonInteractive, lastSuccess map[string]signInRef
	stats                                            map[string]int
}

// Well-known first-party application IDs the demo's users sign in with.
const (
	appAzurePortal = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
	appAzureCLI    = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	appARM         = "797f4846-ba00-4fd7-ba43-dac1f8f63013" // Windows Azure Service Management API
)

var (
	azOfficeIPs = []string{"198.51.100.41", "198.51.100.77", "203.0.113.58"}
	azRunnerIPs = []string{"20.42.65.91", "20.62.134.12"}
)

func (az *azureGen) generate() {
	az.lastInteractive, az.lastNonInteractive, az.lastSuccess = map[string]signInRef{}, map[string]signInRef{}, map[string]signInRef{}
	sched := map[time.Time][]azScheduled{}
	for _, s := range azureScheduled {
		d := min(s.day, az.cfg.Days-1)
		h := az.start.Add(time.Duration(d)*24*time.Hour + time.Duration(s.hour)*time.Hour)
		sched[h] = append(sched[h], s)
	}
	for h := az.start; h.Before(az.end); h = h.Add(time.Hour) {
		day := int(h.Sub(az.start) / (24 * time.Hour))
		office := h.Hour() >= 8 && h.Hour() < 18
		for _, sub := range []string{azProdSub, azDevSub} {
			var ps []azProfile
			total := 0
			for _, p := range azureProfiles {
				if p.sub == sub && (office || p.allHours) {
					ps = append(ps, p)
					total += p.weight
				}
			}
			n := az.rng.IntN(2)
			if office {
				n = 4 + az.rng.IntN(3)
			}
			for range n {
				if total == 0 {
					break
				}
				p := pickAz(az.rng, ps, total)
				op := p.ops[az.rng.IntN(len(p.ops))]
				fail := ""
				if az.rng.IntN(100) < 2 {
					fail = azConflict
				}
				az.operation(az.at(h), azScheduled{who: p.who, sub: p.sub, via: p.via, op: op, fail: fail})
			}
		}
		for _, s := range sched[h] {
			az.operation(h.Add(time.Duration(s.minute)*time.Minute+time.Duration(az.rng.IntN(60))*time.Second+time.Duration(az.rng.IntN(1e7))*100), s)
		}
		az.signIns(h, day, office)
	}
}

func pickAz(rng *rand.Rand, ps []azProfile, total int) azProfile {
	n := rng.IntN(total)
	for _, p := range ps {
		if n < p.weight {
			return p
		}
		n -= p.weight
	}
	return ps[len(ps)-1]
}

// at is a random instant of the hour at 100 ns resolution (Azure times have 7 fractional digits).
func (az *azureGen) at(h time.Time) time.Time {
	return h.Add(time.Duration(az.rng.IntN(3600))*time.Second + time.Duration(az.rng.IntN(1e7))*100)
}

type azAuthorization struct {
	Scope    string      `json:"scope"`
	Action   string      `json:"action"`
	Evidence *azEvidence `json:"evidence,omitempty"`
}

// azEvidence names the assignment that allowed the call; the GUIDs are written without hyphens,
// as the schema's sample shows (FORMATS.md §4.2).
type azEvidence struct {
	Role                string `json:"role"`
	RoleAssignmentScope string `json:"roleAssignmentScope"`
	RoleAssignmentID    string `json:"roleAssignmentId"`
	RoleDefinitionID    string `json:"roleDefinitionId"`
	PrincipalID         string `json:"principalId"`
	PrincipalType       string `json:"principalType"`
}

type azIdentity struct {
	Authorization azAuthorization   `json:"authorization"`
	Claims        map[string]string `json:"claims"`
}

// azActivityRecord is an Activity Log record in the storage schema, in its field order.
type azActivityRecord struct {
	Time            string         `json:"time"`
	ResourceID      string         `json:"resourceId"`
	OperationName   string         `json:"operationName"`
	Category        string         `json:"category"`
	ResultType      string         `json:"resultType"`
	ResultSignature string         `json:"resultSignature"`
	DurationMs      int            `json:"durationMs"`
	CallerIPAddress string         `json:"callerIpAddress"`
	CorrelationID   string         `json:"correlationId"`
	Identity        azIdentity     `json:"identity"`
	Level           string         `json:"level"`
	Location        string         `json:"location"`
	Properties      map[string]any `json:"properties"`
}

func noHyphens(id string) string { return strings.ReplaceAll(id, "-", "") }

func azTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// claims are the token claims of an ARM call by p, with the full claim URIs of the storage
// schema for the object ID, tenant and UPN.
func (az *azureGen) claims(p *azPrincipal, at time.Time, ip string) map[string]string {
	iat := at.Add(-time.Duration(5+az.rng.IntN(40)) * time.Minute).Unix()
	c := map[string]string{
		"aud": "https://management.core.windows.net/", "iss": "https://sts.windows.net/" + azTenantID + "/", "ver": "1.0",
		"iat": strconv.FormatInt(iat, 10), "nbf": strconv.FormatInt(iat, 10), "exp": strconv.FormatInt(iat+3600+int64(az.rng.IntN(1800)), 10),
		"http://schemas.microsoft.com/identity/claims/objectidentifier": p.id,
		"http://schemas.microsoft.com/identity/claims/tenantid":         azTenantID,
		"appid": p.appID, "ipaddr": ip, "uti": hexID(strconv.FormatInt(iat, 10) + p.key)[:22], "rh": "0.AXwA" + hexID(p.key)[:20],
	}
	switch p.kind {
	case azUser:
		app := appAzurePortal
		if az.rng.IntN(3) == 0 {
			app = appAzureCLI
		}
		c["appid"], c["appidacr"] = app, "0"
		c["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = p.upn
		c["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"] = p.upn
		c["name"] = p.name
		c["http://schemas.microsoft.com/claims/authnmethodsreferences"] = "pwd,mfa"
		c["http://schemas.microsoft.com/identity/claims/scope"] = "user_impersonation"
		c["puid"] = strings.ToUpper(hexID("puid" + p.key)[:16])
	case azServicePrincipal:
		c["appidacr"], c["idtyp"] = "1", "app"
		c["http://schemas.microsoft.com/identity/claims/identityprovider"] = "https://sts.windows.net/" + azTenantID + "/"
	case azManagedIdentity:
		c["appidacr"], c["idtyp"], c["xms_mirid"] = "2", "app", p.mirid
		c["http://schemas.microsoft.com/identity/claims/identityprovider"] = "https://sts.windows.net/" + azTenantID + "/"
	}
	return c
}

func (az *azureGen) callerIP(p *azPrincipal) string {
	switch p.kind {
	case azUser:
		return azOfficeIPs[az.rng.IntN(len(azOfficeIPs))]
	case azServicePrincipal:
		return azRunnerIPs[az.rng.IntN(len(azRunnerIPs))]
	}
	return "10.20." + strconv.Itoa(1+az.rng.IntN(3)) + "." + strconv.Itoa(4+az.rng.IntN(200))
}

// vary returns s in the case it is usually recorded in, or now and then in upper or lower case,
// as Activity Log records differ (FORMATS.md §4.2).
func (az *azureGen) vary(s string) string {
	switch x := az.rng.IntN(100); {
	case x < 12:
		return strings.ToUpper(s)
	case x < 25:
		return strings.ToLower(s)
	}
	return s
}

// operation records one ARM operation: a Start and an end record (Succeeded or Failed) with
// one correlationId, or a single Failed record when authorization denied it; it credits the
// ground truth with the intended outcome.
func (az *azureGen) operation(at time.Time, s azScheduled) {
	m := az.m
	p := m.byKey[s.who]
	corr := uuid(az.rng)
	ip := az.callerIP(p)
	claims := az.claims(p, at, ip)
	auth := azAuthorization{Scope: s.op.resource, Action: s.op.action}
	if s.fail != azDenied {
		a := m.asgByKey[s.via]
		r, ap := m.roleByName[a.role], m.byKey[a.principal]
		auth.Evidence = &azEvidence{Role: r.name, RoleAssignmentScope: a.scope, RoleAssignmentID: noHyphens(a.guid()), RoleDefinitionID: noHyphens(r.guid),
			PrincipalID: noHyphens(ap.id), PrincipalType: principalTypeARM(ap.kind)}
	}
	hierarchy := azTenantID + "/" + azMGName + "/" + s.sub
	props := func(extra map[string]any) map[string]any {
		out := map[string]any{"eventCategory": "Administrative", "entity": s.op.resource, "message": s.op.action, "hierarchy": hierarchy}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	rec := func(t time.Time, resultType, signature, level string, dur int, extra map[string]any) azActivityRecord {
		return azActivityRecord{Time: azTS(t), ResourceID: az.vary(s.op.resource), OperationName: az.vary(s.op.action), Category: "Administrative",
			ResultType: resultType, ResultSignature: signature, DurationMs: dur, CallerIPAddress: ip, CorrelationID: corr,
			Identity: azIdentity{Authorization: auth, Claims: claims}, Level: level, Location: "global", Properties: props(extra)}
	}
	key := [2]string{s.sub, p.id}
	az.ops[key]++
	az.stats["activity_operations"]++
	if s.fail == azDenied {
		msg := fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
			p.upn, p.id, s.op.action, s.op.resource)
		status, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "AuthorizationFailed", "message": msg}})
		az.activity(s.sub, at, rec(at, "Failed", "Failed.Forbidden", "Error", 0, map[string]any{"statusCode": "Forbidden", "statusMessage": string(status)}), s)
		az.stats["failed_operations"]++
		return
	}
	az.activity(s.sub, at, rec(at, "Start", "Started.", "Information", 0, nil), azScheduled{})
	dur := 300 + az.rng.IntN(7700)
	done := at.Add(time.Duration(dur) * time.Millisecond)
	reqID := uuid(az.rng)
	if s.fail == azConflict {
		status, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "Conflict",
			"message": "The operation could not be completed because the resource is locked or another operation is in progress."}})
		az.activity(s.sub, done, rec(done, "Failed", "Failed.Conflict", "Error", dur, map[string]any{"statusCode": "Conflict", "serviceRequestId": reqID, "statusMessage": string(status)}), s)
		az.stats["failed_operations"]++
		return
	}
	code := "OK"
	if strings.HasSuffix(s.op.action, "/write") {
		code = "Created"
	}
	az.activity(s.sub, done, rec(done, "Succeeded", "Succeeded."+code, "Information", dur, map[string]any{"statusCode": code, "serviceRequestId": reqID}), s)
	if az.used[key] == nil {
		az.used[key] = map[string]bool{}
	}
	az.used[key][strings.ToLower(s.op.action)] = true
	if done.After(az.lastOK[p.id]) {
		az.lastOK[p.id] = done
	}
}

// activity puts one record into its subscription's export: the blob of the hour Azure received
// it in (usually its own hour, sometimes 1-3 hours later), or, for appendLate, its own hour's
// blob after that hour had ended.
func (az *azureGen) activity(sub string, t time.Time, r azActivityRecord, s azScheduled) {
	body, err := json.Marshal(r)
	if err != nil {
		panic(err) // plain strings and maps: cannot fail
	}
	hour, recv := az.receive(t, s.lateHours, 4)
	if s.appendLate {
		hour, recv = t.Truncate(time.Hour), t.Truncate(time.Hour).Add(time.Hour+4*time.Minute)
		az.stats["late_appended"]++
	}
	if hour.After(t.Truncate(time.Hour)) {
		az.stats["late_records"]++
	}
	az.put("insights-activity-logs/resourceId=/SUBSCRIPTIONS/"+strings.ToUpper(sub)+"/"+azHourPath(hour), recv, body)
	az.stats["activity_records"]++
}

// receive picks the hour a record made at t is received in and the instant, for its order in
// the blob: lateHours after its hour when asked, else latePct percent of the time 1-3 hours
// late, never at or after the window's end.
func (az *azureGen) receive(t time.Time, lateHours, latePct int) (time.Time, time.Time) {
	own := t.Truncate(time.Hour)
	if lateHours == 0 && az.rng.IntN(100) < latePct {
		lateHours = 1 + az.rng.IntN(3)
	}
	if hour := own.Add(time.Duration(lateHours) * time.Hour); lateHours > 0 && hour.Before(az.end) {
		return hour, hour.Add(time.Duration(az.rng.IntN(3600)) * time.Second)
	}
	recv := t.Add(time.Duration(5+az.rng.IntN(90)) * time.Second)
	if last := own.Add(time.Hour - time.Second); recv.After(last) {
		recv = last
	}
	return own, recv
}

func azHourPath(h time.Time) string {
	return h.Format("y=2006/m=01/d=02/h=15") + "/m=00/PT1H.json"
}

func (az *azureGen) put(path string, recv time.Time, body []byte) {
	az.seq++
	az.blobs[path] = append(az.blobs[path], azLine{recv: recv, seq: az.seq, body: body})
}

// Sign-in export containers and their categories.
const (
	azSignIns        = "signinlogs"
	azNonInteractive = "noninteractiveusersigninlogs"
	azSPSignIns      = "serviceprincipalsigninlogs"
	azMISignIns      = "managedidentitysigninlogs"
)

var azSignInCategory = map[string]string{
	azSignIns: "SignInLogs", azNonInteractive: "NonInteractiveUserSignInLogs", azSPSignIns: "ServicePrincipalSignInLogs", azMISignIns: "ManagedIdentitySignInLogs",
}

// azSignInRecord is an Entra sign-in record as the diagnostic-settings export writes it
// (FORMATS.md §4.4), including the capitalised "Level" number sign-in exports carry.
type azSignInRecord struct {
	Time              string         `json:"time"`
	ResourceID        string         `json:"resourceId"`
	OperationName     string         `json:"operationName"`
	OperationVersion  string         `json:"operationVersion"`
	Category          string         `json:"category"`
	TenantID          string         `json:"tenantId"`
	ResultType        string         `json:"resultType"`
	ResultSignature   string         `json:"resultSignature"`
	ResultDescription string         `json:"resultDescription,omitempty"`
	DurationMs        int            `json:"durationMs"`
	CallerIPAddress   string         `json:"callerIpAddress"`
	CorrelationID     string         `json:"correlationId"`
	Identity          string         `json:"identity"`
	Level             int            `json:"Level"`
	Location          string         `json:"location"`
	Properties        map[string]any `json:"properties"`
}

// signIns adds the hour's sign-ins from the intent: people sign in interactively once a day
// and refresh tokens non-interactively in office hours; applications and managed identities
// sign in around the clock; a few sign-ins fail.
func (az *azureGen) signIns(h time.Time, day int, office bool) {
	hr := h.Hour()
	at := func(minute int) time.Time {
		return h.Add(time.Duration(minute)*time.Minute + time.Duration(az.rng.IntN(60))*time.Second + time.Duration(az.rng.IntN(1e7))*100)
	}
	clamp := func(d int) int { return min(d, az.cfg.Days-1) }
	if hr == 8 {
		az.signIn(at(3), "alice", azSignIns, 0, "")
	}
	if hr == 9 {
		if day == clamp(2) {
			az.signIn(at(0), "bob", azSignIns, 50126, "Error validating credentials due to invalid username or password.")
		}
		az.signIn(at(4), "bob", azSignIns, 0, "")
	}
	if hr == 10 && day%2 == 0 {
		if day == 0 {
			az.signIn(at(1), "carol", azSignIns, 50074, "Strong Authentication is required.")
		}
		az.signIn(at(3), "carol", azSignIns, 0, "")
	}
	if hr == 13 && day%3 == 0 {
		az.signIn(at(15), "dave", azSignIns, 0, "")
	}
	if hr == 8 && day == clamp(5) {
		az.signIn(at(30), "frank", azSignIns, 50057, "User account is disabled. The account has been disabled by an administrator.")
	}
	if office {
		for _, u := range []struct {
			key string
			pct int
		}{{"alice", 33}, {"bob", 33}, {"carol", 25}} {
			if az.rng.IntN(100) < u.pct {
				az.signIn(at(20+az.rng.IntN(39)), u.key, azNonInteractive, 0, "")
			}
		}
	}
	if az.rng.IntN(2) == 0 {
		az.signIn(at(az.rng.IntN(59)), "deploy-pipeline", azSPSignIns, 0, "")
	}
	if hr%4 == 1 {
		az.signIn(at(6), "reporting-app", azSPSignIns, 0, "")
	}
	if hr == 4 && day == clamp(3) {
		az.signIn(at(0), "legacy-sync", azSPSignIns, 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
	}
	if hr%6 == 2 {
		az.signIn(at(29), "mi-vm-backup", azMISignIns, 0, "")
	}
	if az.rng.IntN(3) == 0 {
		az.signIn(at(az.rng.IntN(59)), "func-orders-prod", azMISignIns, 0, "")
	}
}

// signIn writes one sign-in record into its container and keeps what Graph's signInActivity
// and the ground truth need.
func (az *azureGen) signIn(t time.Time, key, container string, errCode int, reason string) {
	p := az.m.byKey[key]
	id, corr := uuid(az.rng), uuid(az.rng)
	status := map[string]any{"errorCode": errCode}
	resultType, signature := strconv.Itoa(errCode), "None" // exports write "None" for failures too
	if errCode != 0 {
		status["failureReason"] = reason
	}
	ip := az.callerIP(p)
	props := map[string]any{"id": id, "createdDateTime": azTS(t), "correlationId": corr, "ipAddress": ip, "status": status,
		"resourceDisplayName": "Windows Azure Service Management API", "resourceId": appARM, "homeTenantId": azTenantID, "resourceTenantId": azTenantID}
	switch p.kind {
	case azUser:
		app, appName := appAzurePortal, "Azure Portal"
		if az.rng.IntN(3) == 0 {
			app, appName = appAzureCLI, "Microsoft Azure CLI"
		}
		userType := "Member"
		if p.guest {
			userType = "Guest"
		}
		props["userId"], props["userPrincipalName"], props["userDisplayName"], props["userType"] = p.id, p.upn, p.name, userType
		props["appId"], props["appDisplayName"] = app, appName
		props["isInteractive"] = container == azSignIns
		props["clientAppUsed"] = "Browser"
		if app == appAzureCLI {
			props["clientAppUsed"] = "Mobile Apps and Desktop clients"
		}
		props["conditionalAccessStatus"] = "success"
		props["authenticationRequirement"] = "multiFactorAuthentication"
		if errCode != 0 {
			props["conditionalAccessStatus"] = "notApplied"
		}
		props["tokenIssuerType"] = "AzureAD"
		props["location"] = map[string]any{"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL"}
	default:
		props["appId"], props["appDisplayName"], props["servicePrincipalId"], props["servicePrincipalName"] = p.appID, p.name, p.id, p.name
		props["isInteractive"] = false
		props["conditionalAccessStatus"] = "notApplied"
		if p.kind == azServicePrincipal {
			props["clientCredentialType"] = "clientSecret"
			props["servicePrincipalCredentialKeyId"] = uuidOf("azure/secret/" + p.key)
		} else {
			props["clientCredentialType"] = "managedIdentity"
			props["managedIdentityType"] = "userAssigned"
			if !p.explicit {
				props["managedIdentityType"] = "systemAssigned"
			}
		}
	}
	r := azSignInRecord{Time: azTS(t), ResourceID: "/tenants/" + azTenantID + "/providers/Microsoft.aadiam", OperationName: "Sign-in activity",
		OperationVersion: "1.0", Category: azSignInCategory[container], TenantID: azTenantID, ResultType: resultType, ResultSignature: signature,
		ResultDescription: reason, CallerIPAddress: ip, CorrelationID: corr, Identity: p.name, Level: 4, Location: "NL", Properties: props}
	if errCode != 0 {
		r.Level = 3 // warning
	}
	body, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	hour, recv := az.receive(t, 0, 3)
	az.put("insights-logs-"+container+"/tenantId="+azTenantID+"/"+azHourPath(hour), recv, body)
	az.stats["signin_records"]++
	if errCode != 0 {
		az.stats["failed_signins"]++
	}
	if p.kind == azUser {
		ref := signInRef{at: t, id: id}
		if container == azSignIns && t.After(az.lastInteractive[p.id].at) {
			az.lastInteractive[p.id] = ref
		}
		if container == azNonInteractive && t.After(az.lastNonInteractive[p.id].at) {
			az.lastNonInteractive[p.id] = ref
		}
		if errCode == 0 && t.After(az.lastSuccess[p.id].at) {
			az.lastSuccess[p.id] = ref
		}
	}
	if errCode == 0 && t.After(az.lastOK[p.id]) {
		az.lastOK[p.id] = t
	}
}

// signInActivity is a user's Graph signInActivity as of the snapshot: the window's sign-ins
// and any before it. lastSignInDateTime counts failed interactive attempts too.
func (az *azureGen) signInActivity(p *azPrincipal) *graphSignInActivity {
	out := &graphSignInActivity{}
	set := func(dst, dstID **string, refs ...signInRef) {
		var best signInRef
		for _, r := range refs {
			if r.at.After(best.at) {
				best = r
			}
		}
		if !best.at.IsZero() {
			*dst, *dstID = strPtr(graphTime(best.at)), strPtr(best.id)
		}
	}
	var prior signInRef
	if !p.prior.IsZero() {
		prior = signInRef{at: p.prior, id: uuidOf("azure/prior-sign-in/" + p.key)}
	}
	set(&out.LastSignInDateTime, &out.LastSignInRequestID, prior, az.lastInteractive[p.id])
	set(&out.LastNonInteractiveSignInDateTime, &out.LastNonInteractiveSignInRequestID, az.lastNonInteractive[p.id])
	set(&out.LastSuccessfulSignInDateTime, &out.LastSuccessfulSignInRequestID, prior, az.lastSuccess[p.id])
	return out
}

// writeBlobs writes every PT1H.json, its records in the order Azure appended them, one JSON
// object per line.
func (az *azureGen) writeBlobs() error {
	for _, path := range sortedKeys(az.blobs) {
		lines := az.blobs[path]
		slices.SortFunc(lines, func(a, b azLine) int {
			if c := a.recv.Compare(b.recv); c != 0 {
				return c
			}
			return a.seq - b.seq
		})
		var buf []byte
		for _, l := range lines {
			buf = append(append(buf, l.body...), '\n')
		}
		if err := writeFile(filepath.Join(az.dir, "blob", filepath.FromSlash(path)), buf); err != nil {
			return err
		}
		az.stats["blobs"]++
	}
	return nil
}
