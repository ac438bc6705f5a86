package main

// The Azure side of `make bench` (-azure, -azure-only): permlake's ingest of Azure Activity Log
// exports (PT1H.json blobs in the insights-activity-logs container layout, FORMATS.md §4.1) side
// by side with DuckDB's read_json → COPY … PARTITION_BY on the same blobs, paired and alternating
// like the CloudTrail comparison (main.go), with peak RSS from wait4 rusage (launch.go) and the
// outputs compared per (subscription, date, hour).
//
// The set: the demo generator (extract/demo) supplies the tenant's offline ARM and Graph answers
// (what `permlake run` needs for the RBAC and directory snapshots), its Activity Log blobs are
// replaced by a larger synthetic export of records shaped like the demo's (storage schema: the
// authorization evidence, ~15 token claims with full claim URIs, Start and Succeeded/Failed
// records sharing a correlationId, resource IDs and operation names whose case varies, a few
// records received 1-3 hours late), over more subscriptions, and the Entra exports are removed:
// both sides read the same Activity Log blobs and nothing else.
//
// The DuckDB side runs as this binary started again with azureBaselineArg (see init), under the
// same launcher as every measured command.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/permlake/permlake/extract/demo"
)

// azureOptions are the Azure comparison's flags.
type azureOptions struct {
	run, only     bool
	subscriptions int // subscriptions of the synthetic export (the demo's two and copies)
	perHour       int // records per subscription and hour
	hours         int
	cache         string
}

// azureDefault gives ~480k records (8 subscriptions × 24 hours × 2,500), ~0.9 GB of JSON.
var azureDefault = azureOptions{subscriptions: 8, perHour: 2500, hours: 24}

// flags registers the Azure comparison's flags on the command line.
func (a *azureOptions) flags() {
	*a = azureDefault
	flag.BoolVar(&a.run, "azure", false, "also compare permlake's ingest of Azure Activity Log exports (PT1H.json) with DuckDB's read_json on the same blobs")
	flag.BoolVar(&a.only, "azure-only", false, "run only the Azure comparison (with other -…-only flags: those too)")
	flag.IntVar(&a.subscriptions, "azure-subscriptions", azureDefault.subscriptions, "Azure comparison: subscriptions of the export")
	flag.IntVar(&a.perHour, "azure-records-per-hour", azureDefault.perHour, "Azure comparison: Activity Log records per subscription and hour")
	flag.IntVar(&a.hours, "azure-hours", azureDefault.hours, "Azure comparison: hours of the export")
	flag.StringVar(&a.cache, "azure-cache", "", "Azure comparison: dataset cache (default $XDG_CACHE_HOME/permlake/bench-azure-s<subs>-r<records>-h<hours>)")
}

func (a azureOptions) name() string {
	return fmt.Sprintf("azure-s%d-r%d-h%d", a.subscriptions, a.perHour, a.hours)
}

// azureDataset is the generated export and its figures.
type azureDataset struct {
	Dir           string    `json:"-"`
	Subscriptions []string  `json:"subscriptions"`
	From          time.Time `json:"from"` // first hour
	Hours         int       `json:"hours"`
	PerHour       int       `json:"per_hour"` // records per subscription and hour
	Records       int       `json:"records"`
	Blobs         int       `json:"blobs"`
	Bytes         int64     `json:"bytes"`
	MaxBlob       int64     `json:"max_blob"`
	Late          int       `json:"late"` // records in a later hour's blob than their own
}

func (d *azureDataset) blobRoot() string { return filepath.Join(d.Dir, "azure", "blob") }

// glob matches every Activity Log blob.
func (d *azureDataset) glob() string {
	return filepath.Join(d.blobRoot(), "insights-activity-logs", "resourceId=", "SUBSCRIPTIONS", "*", "*", "*", "*", "*", "*", "PT1H.json")
}

func (d *azureDataset) bytesPerRecord() float64 { return float64(d.Bytes) / float64(max(d.Records, 1)) }

// prepareAzure returns the cached set, generating it first when the cache has none (beside the
// cache directory, renamed into place when complete).
func prepareAzure(ctx context.Context, dir string, a azureOptions, stderr io.Writer) (*azureDataset, error) {
	if _, err := os.Stat(filepath.Join(dir, "azure.json")); err != nil {
		tmp := dir + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "generating %s (once; cached in %s)\n", a.name(), dir)
		start := time.Now()
		ds, err := generateAzure(ctx, tmp, a)
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		b, err := json.MarshalIndent(ds, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, "azure.json"), b, 0o644); err != nil {
			return nil, err
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "generated in %s\n", time.Since(start).Round(time.Second))
	}
	ds := &azureDataset{Dir: dir}
	if err := readJSONFile(filepath.Join(dir, "azure.json"), ds); err != nil {
		return nil, err
	}
	blobs, err := filepath.Glob(ds.glob())
	if err != nil {
		return nil, err
	}
	if len(blobs) != ds.Blobs {
		return nil, fmt.Errorf("%s holds %d blobs, azure.json says %d: remove it to regenerate", dir, len(blobs), ds.Blobs)
	}
	return ds, nil
}

// generateAzure writes the set into dir: the demo's tenant, subscriptions added by copying the
// first one's RBAC answers under a new ID, and the synthetic Activity Log export.
func generateAzure(ctx context.Context, dir string, a azureOptions) (*azureDataset, error) {
	if a.subscriptions < 1 || a.perHour < 2 || a.hours < 1 {
		return nil, fmt.Errorf("azure set needs at least 1 subscription, 2 records per hour and 1 hour")
	}
	org, err := demo.Generate(ctx, dir, demo.Config{MemberAccounts: 2, EventsPerHour: 1, Days: (a.hours + 23) / 24})
	if err != nil {
		return nil, err
	}
	// Only the Azure tenant's snapshots are used: the AWS side and the demo's own exports go.
	for _, p := range []string{filepath.Join(dir, "s3"), filepath.Join(dir, "azure", "blob")} {
		if err := os.RemoveAll(p); err != nil {
			return nil, err
		}
	}
	if len(org.AzureSubscriptions) == 0 {
		return nil, errors.New("the demo has no Azure subscription")
	}
	subs, err := addSubscriptions(filepath.Join(dir, "azure", "arm"), org, a.subscriptions)
	if err != nil {
		return nil, err
	}
	ds := &azureDataset{Dir: dir, Subscriptions: subs, From: org.WindowEnd.Add(-time.Duration(a.hours) * time.Hour), Hours: a.hours, PerHour: a.perHour}
	g := &azureRecords{rng: rand.New(rand.NewPCG(7, 0xa2)), tenant: org.AzureTenantID}
	for i, sub := range subs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := g.writeSubscription(ds, sub, int64(i)); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// addSubscriptions lists n subscriptions in arm/subscriptions.json: the demo's, then copies of
// the first one whose RBAC answers are the first's with its ID replaced. It returns their IDs.
func addSubscriptions(arm string, org *demo.Org, n int) ([]string, error) {
	path := filepath.Join(arm, "subscriptions.json")
	var list struct {
		Value []map[string]any `json:"value"`
	}
	if err := readJSONFile(path, &list); err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range org.AzureSubscriptions {
		ids = append(ids, strings.ToLower(s.ID))
	}
	if n < len(ids) {
		ids = ids[:n]
	}
	first := ids[0]
	for i := len(ids); i < n; i++ {
		id := fmt.Sprintf("b0000000-0000-4000-8000-%012d", i)
		src := filepath.Join(arm, "subscriptions", first)
		dst := filepath.Join(arm, "subscriptions", id)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, err
		}
		files, err := os.ReadDir(src)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(src, f.Name()))
			if err != nil {
				return nil, err
			}
			b = []byte(strings.ReplaceAll(strings.ReplaceAll(string(b), first, id), strings.ToUpper(first), strings.ToUpper(id)))
			if err := os.WriteFile(filepath.Join(dst, f.Name()), b, 0o644); err != nil {
				return nil, err
			}
		}
		entry := map[string]any{}
		for k, v := range list.Value[0] {
			entry[k] = v
		}
		entry["subscriptionId"], entry["id"], entry["displayName"] = id, "/subscriptions/"+id, fmt.Sprintf("bench-%02d", i)
		list.Value = append(list.Value, entry)
		ids = append(ids, id)
	}
	// The listing names exactly the subscriptions of the set.
	keep := list.Value[:0]
	for _, v := range list.Value {
		if id, _ := v["subscriptionId"].(string); slices.Contains(ids, strings.ToLower(id)) {
			keep = append(keep, v)
		}
	}
	list.Value = keep
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return ids, os.WriteFile(path, b, 0o644)
}

// azureRecords makes Activity Log records in the demo's shape (extract/demo/azure_activity.go).
type azureRecords struct {
	rng    *rand.Rand
	tenant string
}

type azWho struct {
	id, app, upn, name, kind string
}

// azBenchOps are operations of the demo's profiles: writes, deletes and actions only (the
// Activity Log records no reads).
var azBenchOps = []struct{ action, typ string }{
	{"Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines"},
	{"Microsoft.Compute/virtualMachines/restart/action", "Microsoft.Compute/virtualMachines"},
	{"Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/virtualMachines"},
	{"Microsoft.Compute/snapshots/write", "Microsoft.Compute/snapshots"},
	{"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage/storageAccounts"},
	{"Microsoft.Storage/storageAccounts/write", "Microsoft.Storage/storageAccounts"},
	{"Microsoft.KeyVault/vaults/write", "Microsoft.KeyVault/vaults"},
	{"Microsoft.Web/sites/config/write", "Microsoft.Web/sites"},
	{"Microsoft.Web/sites/restart/action", "Microsoft.Web/sites"},
	{"Microsoft.Network/networkSecurityGroups/securityRules/write", "Microsoft.Network/networkSecurityGroups"},
	{"Microsoft.Network/networkInterfaces/write", "Microsoft.Network/networkInterfaces"},
	{"Microsoft.Resources/deployments/write", "Microsoft.Resources/deployments"},
	{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments"},
	{"Microsoft.Insights/diagnosticSettings/write", "Microsoft.Insights/diagnosticSettings"},
}

type azLineOut struct {
	recv time.Time
	body []byte
}

// writeSubscription writes the subscription's hourly blobs: perHour records of each hour, each
// in the blob of the hour it was received in.
func (g *azureRecords) writeSubscription(ds *azureDataset, sub string, seed int64) error {
	rng := g.rng
	var people []azWho
	for i := range 40 {
		w := azWho{id: benchUUID(rng), app: benchUUID(rng), kind: "User"}
		switch i % 4 {
		case 0, 1:
			w.upn = fmt.Sprintf("user%02d.s%d@contoso.com", i, seed)
			w.name = fmt.Sprintf("User %02d", i)
		case 2:
			w.kind = "ServicePrincipal"
		case 3:
			w.kind = "ServicePrincipal" // a managed identity: principalType ServicePrincipal in evidence
		}
		people = append(people, w)
	}
	blobs := map[time.Time][]azLineOut{}
	end := ds.From.Add(time.Duration(ds.Hours) * time.Hour)
	flush := func(h time.Time) error {
		lines := blobs[h]
		delete(blobs, h)
		if len(lines) == 0 {
			return nil
		}
		slices.SortStableFunc(lines, func(a, b azLineOut) int { return a.recv.Compare(b.recv) })
		var buf []byte
		for _, l := range lines {
			buf = append(append(buf, l.body...), '\n')
		}
		p := filepath.Join(ds.blobRoot(), "insights-activity-logs", "resourceId=", "SUBSCRIPTIONS", strings.ToUpper(sub),
			filepath.FromSlash(h.Format("y=2006/m=01/d=02/h=15")), "m=00", "PT1H.json")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return err
		}
		ds.Blobs++
		ds.Bytes += int64(len(buf))
		ds.MaxBlob = max(ds.MaxBlob, int64(len(buf)))
		return nil
	}
	for h := ds.From; h.Before(end); h = h.Add(time.Hour) {
		for n := 0; n < ds.PerHour; {
			w := people[rng.IntN(len(people))]
			op := azBenchOps[rng.IntN(len(azBenchOps))]
			at := h.Add(time.Duration(rng.IntN(3590))*time.Second + time.Duration(rng.IntN(1e7))*100)
			recs := g.operation(sub, w, op.action, op.typ, at)
			for _, r := range recs {
				recv := r.at.Add(time.Duration(5+rng.IntN(90)) * time.Second)
				hour := r.at.Truncate(time.Hour)
				if rng.IntN(100) < 3 {
					if late := hour.Add(time.Duration(1+rng.IntN(3)) * time.Hour); late.Before(end) {
						hour, recv = late, late.Add(time.Duration(rng.IntN(3600))*time.Second)
						ds.Late++
					}
				}
				if recv.Truncate(time.Hour).After(hour) {
					recv = hour.Add(time.Hour - time.Second)
				}
				blobs[hour] = append(blobs[hour], azLineOut{recv: recv, body: r.body})
				ds.Records++
				n++
			}
		}
		if err := flush(h); err != nil {
			return err
		}
	}
	rest := make([]time.Time, 0, len(blobs))
	for h := range blobs {
		rest = append(rest, h)
	}
	slices.SortFunc(rest, time.Time.Compare)
	for _, h := range rest {
		if err := flush(h); err != nil {
			return err
		}
	}
	return nil
}

type azRec struct {
	at   time.Time
	body []byte
}

// operation is one ARM operation: a Start and a Succeeded record (2% Failed with a status
// message) sharing a correlationId, as the demo writes them.
func (g *azureRecords) operation(sub string, w azWho, action, typ string, at time.Time) []azRec {
	rng := g.rng
	rg := fmt.Sprintf("rg-app-%02d", rng.IntN(12))
	res := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/res-%03d", sub, rg, typ, rng.IntN(400))
	corr := benchUUID(rng)
	ip := fmt.Sprintf("198.51.100.%d", 1+rng.IntN(250))
	iat := at.Add(-time.Duration(5+rng.IntN(40)) * time.Minute).Unix()
	claims := map[string]string{
		"aud": "https://management.core.windows.net/", "iss": "https://sts.windows.net/" + g.tenant + "/", "ver": "1.0",
		"iat": strconv.FormatInt(iat, 10), "nbf": strconv.FormatInt(iat, 10), "exp": strconv.FormatInt(iat+3600, 10),
		"http://schemas.microsoft.com/identity/claims/objectidentifier": w.id,
		"http://schemas.microsoft.com/identity/claims/tenantid":         g.tenant,
		"appid": w.app, "ipaddr": ip, "uti": strings.ReplaceAll(benchUUID(rng), "-", "")[:22], "rh": "0.AXwA" + strings.ReplaceAll(w.id, "-", "")[:20],
	}
	if w.upn != "" {
		claims["appidacr"] = "0"
		claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = w.upn
		claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"] = w.upn
		claims["name"] = w.name
		claims["http://schemas.microsoft.com/claims/authnmethodsreferences"] = "pwd,mfa"
		claims["http://schemas.microsoft.com/identity/claims/scope"] = "user_impersonation"
	} else {
		claims["appidacr"], claims["idtyp"] = "1", "app"
		claims["http://schemas.microsoft.com/identity/claims/identityprovider"] = "https://sts.windows.net/" + g.tenant + "/"
	}
	nohy := func(s string) string { return strings.ReplaceAll(s, "-", "") }
	identity := map[string]any{
		"authorization": map[string]any{"scope": res, "action": action, "evidence": map[string]string{
			"role": "Contributor", "roleAssignmentScope": "/subscriptions/" + sub, "roleAssignmentId": nohy(benchUUIDOf(w.id + sub)),
			"roleDefinitionId": "b24988ac618042a0ab8820f7382dd24c", "principalId": nohy(w.id), "principalType": w.kind}},
		"claims": claims,
	}
	vary := func(s string) string {
		switch x := rng.IntN(100); {
		case x < 12:
			return strings.ToUpper(s)
		case x < 25:
			return strings.ToLower(s)
		}
		return s
	}
	props := map[string]any{"eventCategory": "Administrative", "entity": res, "message": action, "hierarchy": g.tenant + "/mg-contoso/" + sub}
	rec := func(t time.Time, resultType, signature, level string, dur int, extra map[string]any) azRec {
		p := map[string]any{}
		for k, v := range props {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		body, err := json.Marshal(struct {
			Time            string         `json:"time"`
			ResourceID      string         `json:"resourceId"`
			OperationName   string         `json:"operationName"`
			Category        string         `json:"category"`
			ResultType      string         `json:"resultType"`
			ResultSignature string         `json:"resultSignature"`
			DurationMs      int            `json:"durationMs"`
			CallerIPAddress string         `json:"callerIpAddress"`
			CorrelationID   string         `json:"correlationId"`
			Identity        map[string]any `json:"identity"`
			Level           string         `json:"level"`
			Location        string         `json:"location"`
			Properties      map[string]any `json:"properties"`
		}{t.UTC().Format("2006-01-02T15:04:05.0000000Z"), vary(res), vary(action), "Administrative", resultType, signature, dur, ip, corr,
			identity, level, "global", p})
		if err != nil {
			panic(err) // strings and maps: cannot fail
		}
		return azRec{at: t, body: body}
	}
	dur := 300 + rng.IntN(7700)
	done := at.Add(time.Duration(dur) * time.Millisecond)
	start := rec(at, "Start", "Started.", "Information", 0, nil)
	if rng.IntN(100) < 2 {
		status, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "Conflict",
			"message": "The operation could not be completed because the resource is locked or another operation is in progress."}})
		return []azRec{start, rec(done, "Failed", "Failed.Conflict", "Error", dur, map[string]any{"statusCode": "Conflict", "serviceRequestId": benchUUID(rng), "statusMessage": string(status)})}
	}
	code := "OK"
	if strings.HasSuffix(action, "/write") {
		code = "Created"
	}
	return []azRec{start, rec(done, "Succeeded", "Succeeded."+code, "Information", dur, map[string]any{"statusCode": code, "serviceRequestId": benchUUID(rng)})}
}

func benchUUID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func benchUUIDOf(seed string) string {
	return benchUUID(rand.New(rand.NewPCG(uint64(len(seed)), fnv64(seed))))
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// azureCompare is the side-by-side benchmark of permlake's and DuckDB's ingest of the export.
func azureCompare(ctx context.Context, o options, root, work, permlakeBin, cmdline string, stdout, stderr io.Writer) error {
	a := o.azure
	cache := a.cache
	if cache == "" {
		var err error
		if cache, err = defaultCache(a.name()); err != nil {
			return err
		}
	}
	ds, err := prepareAzure(ctx, cache, a, stderr)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(work, "permlake-azure.yaml")
	lake, duckdbOut := filepath.Join(work, "permlake-azure-lake"), filepath.Join(work, "duckdb-azure-out")
	cfg := fmt.Sprintf("# Written by bench: the Azure comparison's tenant, its Activity Log export only.\nlake: %q\nwarehouse: %q\nlookback_days: 90\nlate_margin: 4h\nconcurrency: %d\n"+
		"azure:\n  snapshots:\n    url: %q\n  discovery:\n    discover: true\n  logs:\n    url: %q\n",
		"file://"+lake, filepath.Join(work, "warehouse-azure.duckdb"), o.concurrency, "file://"+filepath.Join(ds.Dir, "azure"), "file://"+ds.blobRoot())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	last := ds.From.Add(time.Duration(ds.Hours-1) * time.Hour)
	permlakeCmd := func() *exec.Cmd {
		return exec.CommandContext(ctx, permlakeBin, "--config", cfgPath, "run",
			"--from", ds.From.Format("2006-01-02T15"), "--to", last.Format("2006-01-02T15"), "--no-models")
	}
	duckdbCmd := func() *exec.Cmd {
		args := []string{azureBaselineArg, "-glob", ds.glob(), "-out", duckdbOut}
		if o.threads > 0 {
			args = append(args, "-threads", fmt.Sprint(o.threads))
		}
		return exec.CommandContext(ctx, self, args...)
	}
	load := loadAvg()
	figures := fmt.Sprintf("%d Activity Log records in %d PT1H.json blobs (%d subscriptions × %d hours, %d records received in a later hour's blob), %.1f MB JSON, %.0f bytes/record, largest blob %.1f MB",
		ds.Records, ds.Blobs, len(ds.Subscriptions), ds.Hours, ds.Late, mb(ds.Bytes), ds.bytesPerRecord(), mb(ds.MaxBlob))
	fmt.Fprintf(stdout, "azure dataset %s: %s\n", a.name(), figures)
	fmt.Fprintf(stdout, "permlake: %s\nduckdb:   %s\n", strings.Join(permlakeCmd().Args, " "), strings.Join(duckdbCmd().Args, " "))
	eps := func(m measurement) float64 { return float64(ds.Records) / m.wall.Seconds() }
	var ms []measurement
	for rep := 1; rep <= o.reps; rep++ {
		order := []string{"permlake", "duckdb"}
		if rep%2 == 0 {
			slices.Reverse(order)
		}
		for _, side := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			cmd, out := permlakeCmd(), lake
			if side == "duckdb" {
				cmd, out = duckdbCmd(), duckdbOut
			}
			if err := os.RemoveAll(out); err != nil {
				return err
			}
			m, err := measure(cmd, side, rep)
			if err != nil {
				return err
			}
			ms = append(ms, m)
			fmt.Fprintf(stdout, "azure rep %d %-8s %7.2fs  %8.0f events/s  %6.1f MB/s JSON  peak RSS %6.0f MiB  cpu %.1fs user %.1fs sys (%.0f events/CPU-s)\n",
				rep, side, m.wall.Seconds(), eps(m), mb(ds.Bytes)/m.wall.Seconds(), mib(m.maxRSS), m.user.Seconds(), m.sys.Seconds(),
				float64(ds.Records)/(m.user+m.sys).Seconds())
		}
	}
	by := map[string][]measurement{}
	for _, m := range ms {
		by[m.side] = append(by[m.side], m)
	}
	medEPS, peak := map[string]float64{}, map[string]int64{}
	for side, xs := range by {
		var e []float64
		for _, m := range xs {
			e = append(e, eps(m))
			peak[side] = max(peak[side], m.maxRSS)
		}
		medEPS[side] = median(e)
	}
	var ratios []float64
	for i := range min(len(by["permlake"]), len(by["duckdb"])) {
		ratios = append(ratios, eps(by["permlake"][i])/eps(by["duckdb"][i]))
	}
	ratio := median(ratios)
	summary := fmt.Sprintf("median permlake %.0f events/s, peak RSS %.0f MiB; DuckDB %.0f events/s, peak RSS %.0f MiB; median paired ratio permlake/DuckDB events/s: %.2f",
		medEPS["permlake"], mib(peak["permlake"]), medEPS["duckdb"], mib(peak["duckdb"]), ratio)
	fmt.Fprintln(stdout, "azure "+summary)

	chk, chkErr := compareAzureOutputs(ctx, filepath.Join(lake, "azure_activity_events"), duckdbOut)
	if chkErr != nil {
		return fmt.Errorf("compare azure outputs: %w", chkErr)
	}
	fmt.Fprint(stdout, azureCheckText(chk))
	var rssErr error
	if o.checkRSS > 0 && mib(peak["permlake"]) > float64(o.checkRSS) {
		rssErr = fmt.Errorf("azure: permlake's peak RSS %.0f MiB exceeds -check-rss %d MiB", mib(peak["permlake"]), o.checkRSS)
	}

	var b strings.Builder
	mach := describeMachine()
	fmt.Fprintf(&b, "\n## %s — Azure Activity Log, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), a.name())
	fmt.Fprintf(&b, "Command: `%s` (from the module root)\n\n", cmdline)
	fmt.Fprintf(&b, "- Machine: %s.\n- Load average %s before, %s after.\n", mach.text(), load, loadAvg())
	fmt.Fprintf(&b, "- Dataset (bench/azure.go: the demo tenant's ARM and Graph answers, a synthetic export of demo-shaped records in the insights-activity-logs layout): %s.\n", figures)
	fmt.Fprintf(&b, "- permlake: `permlake run --no-models` (child process, concurrency %d, %s; it also takes the demo tenant's RBAC and directory snapshots) into a fresh local lake; "+
		"DuckDB: bench's azureBaseline (child process, read_json newline-delimited → COPY … PARTITION_BY (subscription_id, date, hour), zstd, preserve_insertion_order=false, threads %s).\n",
		o.concurrency, memoryLimitText(), threadsText(o.threads))
	fmt.Fprintf(&b, "- Wall time, and CPU and peak RSS from wait4 rusage of each child taken by a fresh launcher (bench/launch.go); events/s counts every record in the blobs.\n\n")
	fmt.Fprintf(&b, "| rep | side | wall s | events/s | MB/s JSON | peak RSS MiB | user s | sys s | events/CPU-s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "| %d | %s | %.2f | %.0f | %.1f | %.0f | %.1f | %.1f | %.0f |\n", m.rep, m.side, m.wall.Seconds(), eps(m), mb(ds.Bytes)/m.wall.Seconds(),
			mib(m.maxRSS), m.user.Seconds(), m.sys.Seconds(), float64(ds.Records)/(m.user+m.sys).Seconds())
	}
	fmt.Fprintf(&b, "\nMedians: permlake %.0f events/s, peak RSS %.0f MiB; DuckDB %.0f events/s, peak RSS %.0f MiB. **Median paired ratio permlake/DuckDB: %.2f** (target ≥ 2.0, permlake ≤ 400 MiB).\n\n",
		medEPS["permlake"], mib(peak["permlake"]), medEPS["duckdb"], mib(peak["duckdb"]), ratio)
	fmt.Fprintf(&b, "Outputs of the last repetition, read back with DuckDB: %s", strings.ReplaceAll(azureCheckText(chk), "\n", "\n\n"))
	if o.checkRSS > 0 {
		verdict := "ok"
		if rssErr != nil {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "check-rss %d MiB: %s.\n", o.checkRSS, verdict)
	}
	if err := appendResults(root, o, b.String(), stdout); err != nil {
		return err
	}
	if !chk.ok() {
		return errors.New("azure: the two outputs differ (see above)")
	}
	return rssErr
}

// compareAzureOutputs reads both outputs back and compares them per (subscription, date, hour):
// the row count and a checksum of the records' (correlationId, resultType), which the generator
// makes unique (an operation's Start and end records share the correlationId).
func compareAzureOutputs(ctx context.Context, permlakeDir, duckdbDir string) (check, error) {
	q := `SELECT subscription_id || '/' || "date" || '/' || "hour", count(*), count(DISTINCT (correlation_id, result_type)),
		       CAST(bit_xor(hash(correlation_id, result_type)) AS VARCHAR)
		FROM read_parquet(?, hive_partitioning = true,
		                  hive_types = {'subscription_id': 'VARCHAR', 'date': 'VARCHAR', 'hour': 'VARCHAR'})
		GROUP BY ALL`
	return comparePartitions(ctx, q, true, permlakeDir, duckdbDir)
}

// azureCheckText says how the two outputs compare.
func azureCheckText(c check) string {
	var b strings.Builder
	fmt.Fprintf(&b, "azure rows: permlake %d (%d distinct (correlationId, resultType)), duckdb %d (%d distinct)\n", c.permlakeRows, c.permlakeDistinct, c.duckdbRows, c.duckdbDistinct)
	if c.ok() {
		fmt.Fprintf(&b, "same rows: %d partitions (subscription, date, hour), row count and checksum of (correlationId, resultType) equal in each\n", c.partitions)
	} else {
		fmt.Fprintf(&b, "DIFFERENT: %d of %d partitions differ: %s\n", c.differ, c.partitions, strings.Join(c.differing, "; "))
	}
	return b.String()
}

// azureBaselineArg as the first argument makes this binary the DuckDB side of the Azure
// comparison (init), so that it needs no program of its own.
const azureBaselineArg = "-azure-duckdb-baseline"

func init() {
	// A launcher (launchEnv set) passes the argument on to the command it starts.
	if len(os.Args) > 1 && os.Args[1] == azureBaselineArg && os.Getenv(launchEnv) == "" {
		if err := azureBaseline(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "azure baseline:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// azureBaseline is what a user would write instead of permlake to land the Activity Log export as
// Hive-partitioned Parquet: read_json over the PT1H.json blobs (explicit columns; identity and
// properties as JSON, kept as text and read with one multi-path extraction each) and one COPY
// of the columns of azure_activity_events that plain SQL computes: no record key (read_json
// does not hand out a record's text), GUIDs of the evidence normalised, no check of an action's
// grammar.
func azureBaseline(args []string) error {
	fs := flag.NewFlagSet("azure-baseline", flag.ContinueOnError)
	glob := fs.String("glob", "", "glob of the PT1H.json blobs")
	out := fs.String("out", "", "output directory (must not exist)")
	threads := fs.Int("threads", 0, "DuckDB threads (0: one per core)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	setup := []string{"SET preserve_insertion_order = false"}
	if *threads > 0 {
		setup = append(setup, fmt.Sprintf("SET threads = %d", *threads))
	}
	for _, s := range setup {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	const guid = `regexp_replace(lower(%s), '^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$', '\1-\2-\3-\4-\5')`
	q := fmt.Sprintf(`COPY (
	SELECT
		CAST("time" AS TIMESTAMP) AS event_time,
		resourceId AS resource_id,
		lower(resourceId) AS resource_id_lc,
		nullif(regexp_extract(lower(resourceId), '^/subscriptions/[^/]+/resourcegroups/([^/]+)', 1), '') AS resource_group,
		nullif(regexp_extract(lower(resourceId), '/providers/([^/]+)/[^/]+/[^/]+$', 1), '') AS resource_provider,
		operationName AS operation_name,
		lower(id[1]) AS action,
		id[2] AS authorization_scope,
		coalesce(properties->>'$.eventCategory', category) AS category,
		resultType AS result_type,
		resultSignature AS result_signature,
		lower(resultType) IN ('succeeded', 'success') AS is_success,
		callerIpAddress AS caller_ip_address,
		correlationId AS correlation_id,
		"level" AS "level",
		%s AS tenant_id,
		coalesce(%s, %s) AS principal_id,
		id[6] AS principal_type,
		%s AS app_id,
		coalesce(id[9], id[10]) AS caller,
		%s AS role_assignment_id,
		%s AS role_definition_id,
		CAST(identity AS VARCHAR) AS identity,
		CAST(properties AS VARCHAR) AS properties,
		'duckdb-baseline' AS _run_id,
		filename AS _source_key,
		lower(regexp_extract(filename, '/SUBSCRIPTIONS/([^/]+)/', 1)) AS subscription_id,
		strftime(CAST("time" AS TIMESTAMP), '%%Y-%%m-%%d') AS "date",
		strftime(CAST("time" AS TIMESTAMP), '%%H') AS "hour"
	FROM (SELECT *, json_extract_string(identity, ['$.authorization.action', '$.authorization.scope',
	              '$.authorization.evidence.roleAssignmentId', '$.authorization.evidence.roleDefinitionId',
	              '$.authorization.evidence.principalId', '$.authorization.evidence.principalType',
	              '$.claims."http://schemas.microsoft.com/identity/claims/objectidentifier"',
	              '$.claims."http://schemas.microsoft.com/identity/claims/tenantid"',
	              '$.claims."http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"', '$.claims.name', '$.claims.appid']) AS id
	      FROM read_json(%s, format = 'newline_delimited', filename = true, hive_partitioning = false,
	                     columns = {"time": 'VARCHAR', resourceId: 'VARCHAR', operationName: 'VARCHAR', category: 'VARCHAR',
	                                resultType: 'VARCHAR', resultSignature: 'VARCHAR', callerIpAddress: 'VARCHAR',
	                                correlationId: 'VARCHAR', "level": 'VARCHAR', tenantId: 'VARCHAR',
	                                identity: 'JSON', properties: 'JSON'}))
) TO %s (FORMAT parquet, PARTITION_BY (subscription_id, "date", "hour"), COMPRESSION zstd)`,
		fmt.Sprintf(guid, "coalesce(id[8], tenantId)"), fmt.Sprintf(guid, "id[7]"), fmt.Sprintf(guid, "id[5]"), fmt.Sprintf(guid, "id[11]"),
		fmt.Sprintf(guid, "id[3]"), fmt.Sprintf(guid, "id[4]"), quote(*glob), quote(*out))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
