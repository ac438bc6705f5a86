// Command bench is `make bench`: permlake's extract→transform→load of a synthetic CloudTrail set
// side by side with DuckDB's own read_json→COPY … PARTITION_BY on the same files, in one
// invocation, alternating, several repetitions each (DESIGN.md §6).
//
// The datasets come from the demo generator (extract/demo), one per shape of trail (-shapes,
// shapes.go: the demo's own and busy accounts' big files of big records), and are cached outside
// the clone ($XDG_CACHE_HOME/permlake/bench-<size>), so repeated runs reuse them. Both sides run as child
// processes — the real permlake CLI (`permlake run --no-models`) and bench/baseline — so that
// wall time and peak RSS come from the OS (wait4 rusage, taken by a launcher: launch.go). After
// the repetitions both outputs are read back with DuckDB and compared per (account, date, hour):
// the count of distinct event IDs and a checksum of them. permlake deduplicates on event_id and
// the demo re-delivers some records, DuckDB's COPY does not, so the distinct IDs are what must
// agree.
//
// -incremental adds the incremental-run benchmark (incremental.go), -orgscale the
// organization-scale one (orgscale.go); -incremental-only and -orgscale-only run just those.
//
// Results are printed and appended to bench/results.md with the machine description.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/klauspost/compress/gzip"

	"github.com/permlake/permlake/extract/demo"
)

// size is a dataset: the demo generator's knobs. The shape knobs (shapes.go) are zero for the
// demo generator's defaults.
type size struct {
	members, eventsPerHour, days int

	payloads        string // demo.Config.Payloads ("": small)
	deliveryMinutes int    // demo.Config.DeliveryMinutes (0: 5)
	regions         int    // the first this many of benchRegions (0: the demo's two)
}

func (s size) name() string {
	n := fmt.Sprintf("m%d-e%d-d%d", s.members, s.eventsPerHour, s.days)
	if s.payloads != "" {
		n += "-p" + s.payloads
	}
	if s.deliveryMinutes != 0 {
		n += fmt.Sprintf("-dl%d", s.deliveryMinutes)
	}
	if s.regions != 0 {
		n += fmt.Sprintf("-r%d", s.regions)
	}
	return n
}

// The default size gives ~2.0M records over 10 accounts (8 members, management, log archive)
// and 24 hours: the generator makes on average 0.99 × EventsPerHour background calls per
// account-hour (1.6× in 10 office hours, 0.55× in the other 14).
var (
	fullSize  = size{members: 8, eventsPerHour: 8500, days: 1}
	quickSize = size{members: 8, eventsPerHour: 850, days: 1}
)

type options struct {
	size        size
	reps        int
	cache       string
	work        string
	results     string
	checkRSS    int // MiB, 0: no check
	concurrency int
	threads     int
	keep        bool
	rssScale    int // 0: no memory check at a larger input

	incremental     bool // also run the incremental-run benchmark (incremental.go)
	incrementalOnly bool // run only that
	incr            incrOptions

	orgscale     bool // also run the organization-scale benchmark (orgscale.go)
	orgscaleOnly bool // run only that
	// queueRequests counts an hourly run's requests, listing vs the notification queue.
	queueRequests, queueRequestsOnly bool
	// flight measures rows/s streamed by permlake serve vs permlake sql --format csv (flight.go).
	flight, flightOnly bool
	org                orgOptions

	shapes []shape      // the comparison's datasets (shapes.go)
	azure  azureOptions // -azure, -azure-only (azure.go)
}

func main() {
	if report := os.Getenv(launchEnv); report != "" {
		launchMain(report)
	}
	var o options
	quick := flag.Bool("quick", false, fmt.Sprintf("small dataset (%d member accounts, %d events/hour, %d day): for trying the benchmark", quickSize.members, quickSize.eventsPerHour, quickSize.days))
	flag.IntVar(&o.size.members, "members", 0, fmt.Sprintf("demo member accounts (default %d; the organization adds 2 accounts)", fullSize.members))
	flag.IntVar(&o.size.eventsPerHour, "events-per-hour", 0, fmt.Sprintf("demo EventsPerHour per account (default %d)", fullSize.eventsPerHour))
	flag.IntVar(&o.size.days, "days", 0, fmt.Sprintf("demo days of activity (default %d)", fullSize.days))
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each side")
	flag.StringVar(&o.cache, "cache", "", "dataset cache directory (default $XDG_CACHE_HOME/permlake/bench-<size>)")
	flag.StringVar(&o.work, "work", "", "directory for the outputs (default a temporary directory, removed afterwards)")
	flag.StringVar(&o.results, "results", "bench/results.md", "file the results are appended to (empty: none)")
	flag.IntVar(&o.checkRSS, "check-rss", 0, "fail (exit 1) when permlake's peak RSS exceeds this many MiB (0: no check)")
	flag.IntVar(&o.concurrency, "concurrency", runtime.NumCPU(), "permlake's concurrency (accounts in parallel)")
	flag.IntVar(&o.threads, "threads", 0, "DuckDB threads (0: DuckDB's default, one per core)")
	flag.BoolVar(&o.keep, "keep", false, "keep the outputs of the last repetition")
	flag.IntVar(&o.rssScale, "rss-scale", 4, "also run permlake alone on the set made this many times longer (more days) and check its peak RSS against -check-rss (0: no)")
	flag.BoolVar(&o.incremental, "incremental", false, "also run the incremental-run benchmark: hourly runs and model builds over a 7-day and a 30-day lake, and a model build over the deepest lake")
	flag.BoolVar(&o.incrementalOnly, "incremental-only", false, "run only the incremental-run benchmark (not the comparison with DuckDB)")
	flag.IntVar(&o.incr.size.members, "incr-members", incrDefault.members, "incremental benchmark: demo member accounts (the organization adds 2; the demo allows at most 999)")
	flag.IntVar(&o.incr.size.eventsPerHour, "incr-events-per-hour", incrDefault.eventsPerHour, "incremental benchmark: demo EventsPerHour per account")
	flag.IntVar(&o.incr.size.days, "incr-days", incrDefault.days, "incremental benchmark: days of history of the deepest lake (more than 30)")
	flag.StringVar(&o.incr.cache, "incr-cache", "", "incremental benchmark: cache of its source and lakes (default $XDG_CACHE_HOME/permlake/bench-<size>)")
	o.org = orgDefault
	flag.BoolVar(&o.orgscale, "orgscale", false, "also run the organization-scale benchmark: per-account model builds (full, sharded, nothing new, hourly) over ~1,000 accounts, and the default demo with nothing new")
	flag.BoolVar(&o.queueRequests, "queue-requests", false, "also count the S3, STS and SQS requests of an hourly run over 200 accounts in 4 regions, listing the trail bucket and reading its notification queue (MinIO and moto behind counting proxies)")
	flag.BoolVar(&o.queueRequestsOnly, "queue-requests-only", false, "run only the queue-requests count (with other -…-only flags: those too)")
	flag.BoolVar(&o.flight, "flight", false, "also measure rows/s of `select * from permission_usage` on the default demo streamed over Flight SQL (permlake serve) vs permlake sql --format csv")
	flag.BoolVar(&o.flightOnly, "flight-only", false, "run only the Flight SQL throughput measurement (with other -…-only flags: those too)")
	shapeList := flag.String("shapes", "demo,busy", "comma-separated shapes of trail the comparison runs on: demo (the -members/-events-per-hour/-days set), busy (big files, large payloads; small), busy-big (the same at 10 accounts)")
	flag.BoolVar(&o.orgscaleOnly, "orgscale-only", false, "run only the organization-scale benchmark (with -incremental-only: those two)")
	flag.IntVar(&o.org.members, "org-members", orgDefault.members, "organization-scale benchmark: demo member accounts (the organization adds 2; the demo allows at most 999)")
	flag.IntVar(&o.org.eventsPerHour, "org-events-per-hour", orgDefault.eventsPerHour, "organization-scale benchmark: demo EventsPerHour per account")
	flag.IntVar(&o.org.hours, "org-hours", orgDefault.hours, "organization-scale benchmark: hourly repetitions")
	flag.IntVar(&o.org.shards, "org-shards", orgDefault.shards, "organization-scale benchmark: shard processes of the split build (0: no split build; the later steps start from the full build's state)")
	flag.StringVar(&o.org.memoryLimit, "org-memory-limit", orgDefault.memoryLimit, "organization-scale benchmark: models_memory_limit of its config")
	flag.StringVar(&o.org.shardMemoryLimit, "org-shard-memory-limit", orgDefault.shardMemoryLimit, "organization-scale benchmark: models_memory_limit of the shard processes")
	flag.IntVar(&o.org.shardBatch, "org-shard-batch", orgDefault.shardBatch, "organization-scale benchmark: models_batch_accounts of the shard processes")
	flag.StringVar(&o.org.cache, "org-cache", "", "organization-scale benchmark: cache of its source and lake (default $XDG_CACHE_HOME/permlake/bench-org-m<members>-e<events>)")
	o.azure.flags()
	flag.Parse()
	// An -…-only flag runs only the parts named by such flags; without one, the comparison and
	// the parts asked for.
	if o.incrementalOnly || o.orgscaleOnly || o.queueRequestsOnly || o.flightOnly || o.azure.only {
		o.incremental, o.orgscale, o.queueRequests, o.flight = o.incrementalOnly, o.orgscaleOnly, o.queueRequestsOnly, o.flightOnly
		o.azure.run = o.azure.only
	}
	base := fullSize
	if *quick {
		base = quickSize
	}
	if o.size.members == 0 {
		o.size.members = base.members
	}
	if o.size.eventsPerHour == 0 {
		o.size.eventsPerHour = base.eventsPerHour
	}
	if o.size.days == 0 {
		o.size.days = base.days
	}
	var err error
	if o.shapes, err = parseShapes(*shapeList, o.size, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o, strings.TrimSpace("go run ./bench "+strings.Join(os.Args[1:], " ")), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// dataset is the generated set and what the benchmark needs to know about it.
type dataset struct {
	Dir       string
	Org       *demo.Org
	Files     int
	GzipBytes int64
	JSONBytes int64
	MaxJSON   int64 // the largest file, uncompressed (read_json's maximum_object_size must hold it)
}

// trailRoot is where the log files are: the bucket folder.
func (d *dataset) trailRoot() string { return filepath.Join(d.Dir, "s3", d.Org.TrailBucket) }

// logGlob matches every CloudTrail log file and no digest (CloudTrail-Digest/ folders).
func (d *dataset) logGlob() string {
	return filepath.Join(d.trailRoot(), d.Org.TrailPrefix, "AWSLogs", d.Org.OrganizationID, "*", "CloudTrail", "*", "*", "*", "*", "*.json.gz")
}

// defaultCache is the cache directory of a dataset called name.
func defaultCache(name string) (string, error) {
	dir, err := os.UserCacheDir() // $XDG_CACHE_HOME or ~/.cache
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "permlake", "bench-"+name), nil
}

// prepare returns the cached dataset, generating it first when the cache has none. The set is
// generated beside the cache directory and renamed into place, so an interrupted generation is
// never taken for a complete one.
func prepare(ctx context.Context, dir string, s size, stderr io.Writer) (*dataset, error) {
	if _, err := os.Stat(filepath.Join(dir, "org.json")); err != nil {
		tmp := dir + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "generating %s (once; cached in %s)\n", s.name(), dir)
		start := time.Now()
		if _, err := demo.Generate(ctx, tmp, s.demoConfig()); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "generated in %s\n", time.Since(start).Round(time.Second))
	}
	d := &dataset{Dir: dir, Org: new(demo.Org)}
	if err := readJSONFile(filepath.Join(dir, "org.json"), d.Org); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(d.logGlob())
	if err != nil {
		return nil, err
	}
	if len(files) != d.Org.Files {
		return nil, fmt.Errorf("%s holds %d log files, org.json says %d: remove it to regenerate", dir, len(files), d.Org.Files)
	}
	d.Files = len(files)
	for _, f := range files {
		gz, raw, err := fileSizes(f)
		if err != nil {
			return nil, err
		}
		d.GzipBytes += gz
		d.JSONBytes += raw
		d.MaxJSON = max(d.MaxJSON, raw)
	}
	return d, nil
}

func fileSizes(path string) (gz, raw int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	raw, err = io.Copy(io.Discard, zr)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return st.Size(), raw, nil
}

// measurement is one child process's run.
type measurement struct {
	side   string // "permlake" or "duckdb"
	rep    int
	wall   time.Duration
	user   time.Duration
	sys    time.Duration
	maxRSS int64  // bytes
	output string // the end of what the command printed (stdout and stderr)
}

func (m measurement) eventsPerSec(d *dataset) float64 {
	return float64(d.Org.Events) / m.wall.Seconds()
}

// eventsPerCPUSec is throughput per CPU second (user + sys): how much of the machine it takes.
func (m measurement) eventsPerCPUSec(d *dataset) float64 {
	return float64(d.Org.Events) / (m.user + m.sys).Seconds()
}

// measure runs cmd and reads its wall time and rusage (peak RSS, CPU) from the OS.
func measure(cmd *exec.Cmd, side string, rep int) (measurement, error) {
	tmp, err := os.MkdirTemp("", "permlake-bench-usage-")
	if err != nil {
		return measurement{}, err
	}
	defer os.RemoveAll(tmp)
	report := filepath.Join(tmp, "rusage.json")
	args := strings.Join(cmd.Args, " ")
	if err := launched(cmd, report); err != nil {
		return measurement{}, err
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s: %w\n%s", args, err, tailString(out.String(), 4000))
	}
	m := measurement{side: side, rep: rep, wall: wall, output: tailString(out.String(), 1<<16)}
	var floor int64
	if m.user, m.sys, m.maxRSS, floor, err = readUsage(report); err != nil {
		return measurement{}, err
	}
	if m.maxRSS <= floor {
		return measurement{}, fmt.Errorf("%s: peak RSS %.0f MiB is not above the launcher's own %.0f MiB: not a measurement", args, mib(m.maxRSS), mib(floor))
	}
	return m, nil
}

func run(ctx context.Context, o options, cmdline string, stdout, stderr io.Writer) error {
	if o.reps < 1 {
		return fmt.Errorf("-reps must be at least 1")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work := o.work
	if work == "" {
		if work, err = os.MkdirTemp("", "permlake-bench-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(work)
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	// Build the children first, from the working tree (the code under test changes between
	// invocations): the measured runs do no compiling.
	permlakeBin, baselineBin := filepath.Join(work, "permlake"), filepath.Join(work, "baseline")
	if err := goBuild(ctx, root, permlakeBin, "./cmd/permlake", stderr); err != nil {
		return err
	}
	var cmpErr error
	if !o.incrementalOnly && !o.orgscaleOnly && !o.queueRequestsOnly && !o.flightOnly && !o.azure.only {
		if err := goBuild(ctx, root, baselineBin, "./bench/baseline", stderr); err != nil {
			return err
		}
		// A failed check of the comparison (outputs differ, RSS over the limit) does not keep
		// the other shapes or the incremental part from running: every verdict is reported.
		var results []shapeResult
		for _, sh := range o.shapes {
			r, err := compare(ctx, o, sh, root, work, permlakeBin, baselineBin, cmdline, stdout, stderr)
			cmpErr = errors.Join(cmpErr, err)
			if ctx.Err() != nil {
				return cmpErr
			}
			if r.ds != nil {
				results = append(results, r)
			}
		}
		printShapes(stdout, results)
		if o.rssScale > 1 {
			cmpErr = errors.Join(cmpErr, memoryScale(ctx, o, root, work, permlakeBin, cmdline, stdout, stderr))
			if ctx.Err() != nil {
				return cmpErr
			}
		}
	}
	if o.incremental {
		cmpErr = errors.Join(cmpErr, incremental(ctx, o, root, work, permlakeBin, cmdline, stdout, stderr))
		if ctx.Err() != nil {
			return cmpErr
		}
	}
	if o.orgscale {
		cmpErr = errors.Join(cmpErr, orgscale(ctx, o, root, permlakeBin, cmdline, stdout, stderr))
		if ctx.Err() != nil {
			return cmpErr
		}
	}
	if o.queueRequests {
		cmpErr = errors.Join(cmpErr, queueRequests(ctx, o, root, permlakeBin, cmdline, stdout, stderr))
		if ctx.Err() != nil {
			return cmpErr
		}
	}
	if o.flight {
		cmpErr = errors.Join(cmpErr, flightThroughput(ctx, o, root, permlakeBin, cmdline, stdout, stderr))
		if ctx.Err() != nil {
			return cmpErr
		}
	}
	if o.azure.run {
		cmpErr = errors.Join(cmpErr, azureCompare(ctx, o, root, work, permlakeBin, cmdline, stdout, stderr))
	}
	return cmpErr
}

// goBuild builds pkg (relative to the module root) into out, with duckdb-go's Arrow interface
// (permlake serve needs it; the Makefile sets the same tag).
func goBuild(ctx context.Context, root, out, pkg string, stderr io.Writer) error {
	build := exec.CommandContext(ctx, "go", "build", "-tags", "duckdb_arrow", "-o", out, pkg)
	build.Dir, build.Stdout, build.Stderr = root, stderr, stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// compare is the side-by-side benchmark of permlake's ingest and DuckDB's COPY on one shape.
// The result has a dataset once the comparison ran, also when its checks failed.
func compare(ctx context.Context, o options, sh shape, root, work, permlakeBin, baselineBin, cmdline string, stdout, stderr io.Writer) (shapeResult, error) {
	res := shapeResult{shape: sh}
	cache := o.cache
	if sh.name != "demo" || cache == "" { // -cache is the demo shape's
		var err error
		if cache, err = defaultCache(sh.size.name()); err != nil {
			return res, err
		}
	}
	ds, err := prepare(ctx, cache, sh.size, stderr)
	if err != nil {
		return res, err
	}
	cfgPath := filepath.Join(work, "permlake.yaml")
	permlakeLake, duckdbOut := filepath.Join(work, "permlake-lake"), filepath.Join(work, "duckdb-out")
	if err := writeConfig(cfgPath, ds, permlakeLake, filepath.Join(work, "warehouse.duckdb"), o.concurrency); err != nil {
		return res, err
	}
	from, to := ds.Org.WindowStart, ds.Org.WindowEnd.Add(-time.Hour)
	permlakeCmd := func() *exec.Cmd {
		return exec.CommandContext(ctx, permlakeBin, "--config", cfgPath, "run",
			"--from", from.Format("2006-01-02T15"), "--to", to.Format("2006-01-02T15"), "--no-models")
	}
	maxObject := max(int64(64<<20), 2*ds.MaxJSON)
	duckdbCmd := func() *exec.Cmd {
		args := []string{"-glob", ds.logGlob(), "-out", duckdbOut, "-max-object-size", fmt.Sprint(maxObject)}
		if o.threads > 0 {
			args = append(args, "-threads", fmt.Sprint(o.threads))
		}
		return exec.CommandContext(ctx, baselineBin, args...)
	}
	load := loadAvg()
	fmt.Fprintf(stdout, "shape %s, dataset %s (%s): %s (re-deliveries included), %s → %s\n",
		sh.name, sh.size.name(), sh.size.shapeText(), ds.figures(), ds.Org.WindowStart.Format(time.RFC3339), ds.Org.WindowEnd.Format(time.RFC3339))
	fmt.Fprintf(stdout, "permlake: %s\nduckdb:   %s\n", strings.Join(permlakeCmd().Args, " "), strings.Join(duckdbCmd().Args, " "))

	// Alternate, swapping which side goes first each repetition, so that neither always runs
	// on a warmer (or busier) machine.
	var ms []measurement
	for rep := 1; rep <= o.reps; rep++ {
		order := []string{"permlake", "duckdb"}
		if rep%2 == 0 {
			slices.Reverse(order)
		}
		for _, side := range order {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			var cmd *exec.Cmd
			switch side {
			case "permlake":
				if err := os.RemoveAll(permlakeLake); err != nil {
					return res, err
				}
				cmd = permlakeCmd()
			case "duckdb":
				if err := os.RemoveAll(duckdbOut); err != nil {
					return res, err
				}
				cmd = duckdbCmd()
			}
			m, err := measure(cmd, side, rep)
			if err != nil {
				return res, err
			}
			ms = append(ms, m)
			fmt.Fprintf(stdout, "rep %d %-8s %7.2fs  %8.0f events/s  %6.1f MB/s gz  %6.1f MB/s JSON  peak RSS %6.0f MiB  cpu %.1fs user %.1fs sys (%.0f events/CPU-s)\n",
				rep, side, m.wall.Seconds(), m.eventsPerSec(ds), mb(ds.GzipBytes)/m.wall.Seconds(), mb(ds.JSONBytes)/m.wall.Seconds(),
				mib(m.maxRSS), m.user.Seconds(), m.sys.Seconds(), m.eventsPerCPUSec(ds))
		}
	}
	sum := summarize(ms, ds)
	fmt.Fprint(stdout, sum.text())

	chk, err := compareOutputs(ctx, filepath.Join(permlakeLake, "aws_cloudtrail_events"), duckdbOut)
	if err != nil {
		return res, fmt.Errorf("compare outputs: %w", err)
	}
	fmt.Fprint(stdout, chk.text())
	res.ds, res.sum, res.same = ds, sum, chk.ok()

	var rssErr error
	if o.checkRSS > 0 {
		if peak := sum.peakRSS["permlake"]; mib(peak) > float64(o.checkRSS) {
			rssErr = fmt.Errorf("shape %s: permlake's peak RSS %.0f MiB exceeds -check-rss %d MiB", sh.name, mib(peak), o.checkRSS)
		} else {
			fmt.Fprintf(stdout, "check-rss: permlake's peak RSS %.0f MiB ≤ %d MiB: ok\n", mib(peak), o.checkRSS)
		}
	}
	if err := appendResults(root, o, resultsMarkdown(cmdline, o, sh, ds, ms, sum, chk, load, rssErr), stdout); err != nil {
		return res, err
	}
	if o.keep {
		fmt.Fprintf(stdout, "outputs kept in %s\n", work)
	}
	if !chk.ok() {
		return res, fmt.Errorf("shape %s: the two outputs differ (see above)", sh.name)
	}
	return res, rssErr
}

// writeConfig writes permlake's config: the trail bucket only (no IAM snapshots, no Azure), every
// account of the organization, and a late margin wide enough for the demo's latest deliveries
// (a few hours after the event, plus re-deliveries up to an hour after that).
func writeConfig(path string, ds *dataset, lake, warehouse string, concurrency int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by bench: the benchmark dataset's trail bucket only.\n")
	fmt.Fprintf(&b, "lake: %q\nwarehouse: %q\nlookback_days: 90\nlate_margin: 12h\nconcurrency: %d\n", "file://"+lake, warehouse, concurrency)
	fmt.Fprintf(&b, "aws:\n  trail:\n    url: %q\n    prefix: %q\n    organization_id: %q\n", "file://"+ds.trailRoot(), ds.Org.TrailPrefix, ds.Org.OrganizationID)
	fmt.Fprintf(&b, "  accounts:\n")
	for _, a := range ds.Org.Accounts {
		fmt.Fprintf(&b, "    - id: %q\n      name: %q\n", a.ID, a.Name)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// summary is the medians of each side.
type summary struct {
	medianEPS map[string]float64
	medianSec map[string]float64
	peakRSS   map[string]int64 // the largest of the repetitions
	medianRSS map[string]int64
	ratio     float64 // median of permlake/DuckDB events/s over the repetitions' pairs
	ofMedians float64 // permlake's median events/s over DuckDB's
}

func summarize(ms []measurement, ds *dataset) summary {
	s := summary{medianEPS: map[string]float64{}, medianSec: map[string]float64{}, peakRSS: map[string]int64{}, medianRSS: map[string]int64{}}
	by := map[string][]measurement{}
	for _, m := range ms {
		by[m.side] = append(by[m.side], m)
	}
	for side, xs := range by {
		var eps, sec, rss []float64
		for _, m := range xs {
			eps = append(eps, m.eventsPerSec(ds))
			sec = append(sec, m.wall.Seconds())
			rss = append(rss, float64(m.maxRSS))
			s.peakRSS[side] = max(s.peakRSS[side], m.maxRSS)
		}
		s.medianEPS[side], s.medianSec[side], s.medianRSS[side] = median(eps), median(sec), int64(median(rss))
	}
	var ratios []float64
	for i := range by["permlake"] {
		if i < len(by["duckdb"]) {
			ratios = append(ratios, by["permlake"][i].eventsPerSec(ds)/by["duckdb"][i].eventsPerSec(ds))
		}
	}
	s.ratio = median(ratios)
	if d := s.medianEPS["duckdb"]; d > 0 {
		s.ofMedians = s.medianEPS["permlake"] / d
	}
	return s
}

func (s summary) text() string {
	var b strings.Builder
	for _, side := range []string{"permlake", "duckdb"} {
		fmt.Fprintf(&b, "median %-8s %7.2fs  %8.0f events/s  peak RSS %.0f MiB (median %.0f MiB)\n",
			side, s.medianSec[side], s.medianEPS[side], mib(s.peakRSS[side]), mib(s.medianRSS[side]))
	}
	fmt.Fprintf(&b, "median ratio permlake/DuckDB events/s: %.2f (over the repetitions' pairs; ratio of the medians %.2f)\n", s.ratio, s.ofMedians)
	return b.String()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// partStat is one (account, date, hour) partition of an output.
type partStat struct {
	rows, distinct int64
	sum            string // checksum of the distinct event IDs
}

// check is the comparison of the two outputs.
type check struct {
	permlakeRows, permlakeDistinct int64
	duckdbRows, duckdbDistinct     int64
	partitions                     int
	differing                      []string // partitions whose distinct IDs differ, first few
	differ                         int
}

func (c check) ok() bool { return c.differ == 0 && c.partitions > 0 }

func (c check) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rows: permlake %d (%d distinct event IDs), duckdb %d (%d distinct event IDs; COPY keeps re-deliveries)\n",
		c.permlakeRows, c.permlakeDistinct, c.duckdbRows, c.duckdbDistinct)
	if c.ok() {
		fmt.Fprintf(&b, "same rows: %d partitions (account, date, hour), distinct event-ID count and checksum equal in each\n", c.partitions)
	} else {
		fmt.Fprintf(&b, "DIFFERENT: %d of %d partitions differ: %s\n", c.differ, c.partitions, strings.Join(c.differing, "; "))
	}
	return b.String()
}

// compareOutputs reads both outputs back with DuckDB and compares them per partition. Hive
// values are read as text: account IDs keep their leading zeros (DESIGN.md §8).
func compareOutputs(ctx context.Context, permlakeDir, duckdbDir string) (check, error) {
	q := `SELECT account_id || '/' || "date" || '/' || "hour", count(*), count(DISTINCT event_id),
	       CAST(bit_xor(h) FILTER (WHERE first) AS VARCHAR)
	FROM (SELECT account_id, "date", "hour", event_id, hash(event_id) AS h,
	             row_number() OVER (PARTITION BY account_id, "date", "hour", event_id) = 1 AS first
	      FROM read_parquet(?, hive_partitioning = true,
	                        hive_types = {'account_id': 'VARCHAR', 'date': 'VARCHAR', 'hour': 'VARCHAR'}))
	GROUP BY ALL`
	return comparePartitions(ctx, q, false, permlakeDir, duckdbDir)
}

// comparePartitions runs query over each output's Parquet files (its one parameter: their glob,
// three Hive levels deep) for one row per partition — its key, rows, distinct records and a
// checksum of them — and compares the two outputs partition by partition: the distinct records
// and checksums, and the row counts too when sameRows (DuckDB keeps a re-delivered CloudTrail
// record twice where permlake keeps it once).
func comparePartitions(ctx context.Context, query string, sameRows bool, permlakeDir, duckdbDir string) (check, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return check{}, err
	}
	defer db.Close()
	read := func(dir string) (map[string]partStat, error) {
		rows, err := db.QueryContext(ctx, query, filepath.Join(dir, "*", "*", "*", "*.parquet"))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		defer rows.Close()
		out := map[string]partStat{}
		for rows.Next() {
			var k string
			var p partStat
			if err := rows.Scan(&k, &p.rows, &p.distinct, &p.sum); err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, rows.Err()
	}
	pl, err := read(permlakeDir)
	if err != nil {
		return check{}, err
	}
	dd, err := read(duckdbDir)
	if err != nil {
		return check{}, err
	}
	var c check
	keys := map[string]bool{}
	for k, p := range pl {
		keys[k] = true
		c.permlakeRows += p.rows
		c.permlakeDistinct += p.distinct
	}
	for k, p := range dd {
		keys[k] = true
		c.duckdbRows += p.rows
		c.duckdbDistinct += p.distinct
	}
	sorted := slices.Sorted(maps.Keys(keys))
	c.partitions = len(sorted)
	for _, k := range sorted {
		a, b := pl[k], dd[k]
		if a.distinct != b.distinct || a.sum != b.sum || (sameRows && a.rows != b.rows) {
			c.differ++
			if len(c.differing) < 5 {
				c.differing = append(c.differing, fmt.Sprintf("%s: permlake %d rows (%d distinct), duckdb %d rows (%d distinct)", k, a.rows, a.distinct, b.rows, b.distinct))
			}
		}
	}
	return c, nil
}

// tailString is the last n bytes of s.
func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func mb(n int64) float64  { return float64(n) / 1e6 }
func mib(n int64) float64 { return float64(n) / (1 << 20) }

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// appendResults appends md to the results file (-results, relative to the module root; empty:
// none) and says so.
func appendResults(root string, o options, md string, stdout io.Writer) error {
	if o.results == "" {
		return nil
	}
	path := o.results
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	if err := appendFile(path, md); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "appended to %s\n", o.results)
	return nil
}

func appendFile(path, s string) (err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = f.WriteString(s)
	return err
}

// moduleRoot is the directory of go.mod: the benchmark builds the children from it and writes
// its results file there.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run bench inside the permlake module")
	}
	return filepath.Dir(mod), nil
}
