//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/load/laketest"
	"github.com/permlake/permlake/transform/catalog"
)

// The tests in this file run the real permlake binary as a child process: a SIGKILL must kill
// a process, and TZ must be a process's. TestMain builds it on first use into a directory it
// removes at the end.

var (
	binDir  string
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "permlake-faulttest-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Every service the demo's policies and trails name, so that the demo's grants and uses are
	// all in it: in-process builds expand wildcards over ~2,300 actions instead of ~22,000.
	small := catalog.AWS().Subset("account", "cloudformation", "cloudtrail", "cloudwatch", "dynamodb", "ec2", "iam",
		"kms", "lambda", "logs", "organizations", "s3", "sqs", "ssm", "sts", "support", "trustedadvisor")
	embeddedCatalog = func() *catalog.Catalog { return small }
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// permlakeBinary builds this package once (without -race: the child is the system under test,
// the race detector runs on the tests that drive it in-process).
func permlakeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "permlake")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// child is the outcome of one permlake process.
type child struct {
	code   int  // exit code (-1 when killed by a signal)
	killed bool // by SIGKILL
	stdout string
	stderr string
}

// runChild runs the permlake binary with args and extra environment (KEY=VALUE), bounded by
// two minutes.
func runChild(t *testing.T, env []string, args ...string) child {
	t.Helper()
	return runChildFor(t, 2*time.Minute, env, args...)
}

// runChildFor is runChild bounded by limit.
func runChildFor(t *testing.T, limit time.Duration, env []string, args ...string) child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, permlakeBinary(t), args...)
	cmd.Env = append(withoutKillAt(os.Environ()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	c := child{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		c.killed = true
	}
	if ctx.Err() != nil {
		t.Fatalf("permlake %v did not finish in %s: %v\n%s", args, limit, err, c.stderr)
	}
	return c
}

func withoutKillAt(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "PERMLAKE_TEST_KILL_AT=") && !strings.HasPrefix(e, "TZ=") {
			out = append(out, e)
		}
	}
	return out
}

// faultOrg is a small demo organization (5 accounts, one day, few events) written under dir.
func faultOrg(t *testing.T, dir string, end time.Time) (*demo.Org, string) {
	t.Helper()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(context.Background(), src, demo.Config{Days: 1, EventsPerHour: 3, End: end}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	return org, src
}

// lakeKind is where a test's lakes live.
type lakeKind struct {
	name string
	// env is what a child process needs in its environment to reach the lakes (credentials).
	env []string
	// config returns the config file of a new lake name (reading org from src) and the lake's
	// fingerprint function.
	config func(t *testing.T, dir, name string, org *demo.Org, src string) (cfg string, fingerprint func() string, lake func() *load.Lake)
}

var fileLakes = lakeKind{name: "file", config: func(t *testing.T, dir, name string, org *demo.Org, src string) (string, func() string, func() *load.Lake) {
	cfg := saveConfig(t, readLocal(testConfig(dir, name), org, src, nil), dir, name)
	root := filepath.Join(dir, name)
	return cfg, func() string { return laketest.FingerprintDir(t, root) }, func() *load.Lake {
		l, err := load.Open(context.Background(), root)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
}}

// minioLakes returns lakes in buckets of one MinIO server, its credentials in kind.env for the
// children (the test process's own environment is left as it is).
func minioLakes(t *testing.T) lakeKind {
	m := awstest.StartMinIO(t)
	return lakeKind{name: "minio", env: minioEnv(m, t.TempDir()), config: func(t *testing.T, dir, name string, org *demo.Org, src string) (string, func() string, func() *load.Lake) {
		bucket := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if _, err := m.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: sdkaws.String(bucket)}); err != nil {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
		c := readLocal(testConfig(dir, name), org, src, nil)
		c.Lake = "s3://" + bucket + "/lake"
		c.AWS.Region = "us-east-1"
		c.AWS.Endpoints = EndpointsConfig{S3: m.Endpoint, STS: m.Endpoint, S3PathStyle: true}
		open := func() *load.Lake {
			l, err := load.OpenWith(context.Background(), c.Lake, load.Options{S3: m.Client()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })
			return l
		}
		return saveConfig(t, c, dir, name), func() string { return laketest.Fingerprint(t, open()) }, open
	}}
}

func hourArg(h time.Time) string { return h.UTC().Format("2006-01-02T15") }

// runArgs backfills the organization's whole window, models off (the lake is what is compared).
func runArgs(cfg string, org *demo.Org) []string {
	return []string{"run", "--config", cfg, "--from", hourArg(org.WindowStart), "--to", hourArg(org.WindowEnd.Add(-time.Hour)), "--no-models"}
}

// manifests reads every run manifest and success marker of a lake.
func manifests(t *testing.T, l *load.Lake) (runs map[string]load.RunManifest, markers map[string]load.SuccessMarker, complete []string) {
	t.Helper()
	ctx := context.Background()
	runs, markers = map[string]load.RunManifest{}, map[string]load.SuccessMarker{}
	it := l.Bucket().List(nil)
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		switch {
		case strings.HasPrefix(obj.Key, "_manifests/runs/"):
			var m load.RunManifest
			b, err := l.Bucket().ReadAll(ctx, obj.Key)
			if err != nil || json.Unmarshal(b, &m) != nil {
				t.Fatalf("%s: %v", obj.Key, err)
			}
			runs[m.RunID] = m
		case strings.HasPrefix(obj.Key, "_manifests/success/") && strings.HasSuffix(obj.Key, "_SUCCESS"):
			complete = append(complete, obj.Key)
		case strings.HasPrefix(obj.Key, "_manifests/success/"):
			var m load.SuccessMarker
			b, err := l.Bucket().ReadAll(ctx, obj.Key)
			if err != nil || json.Unmarshal(b, &m) != nil {
				t.Fatalf("%s: %v", obj.Key, err)
			}
			markers[obj.Key] = m
		}
	}
	return runs, markers, complete
}

// checkClaims asserts that no manifest or marker claims what did not happen: every success
// marker names a run whose manifest exists with exit code 0 and that account ok, and every
// partition a manifest says it published is in the lake with at least the rows it claims.
func checkClaims(t *testing.T, l *load.Lake) {
	t.Helper()
	runs, markers, _ := manifests(t, l)
	for key, m := range markers {
		run, ok := runs[m.RunID]
		if !ok {
			t.Errorf("marker %s names run %s, which has no manifest", key, m.RunID)
			continue
		}
		okAcct := false
		for _, a := range run.Accounts {
			okAcct = okAcct || (a.AccountID == m.ID && a.Status == "ok")
		}
		if run.ExitCode != exitOK && !okAcct {
			t.Errorf("marker %s: run %s exited %d without account %s ok", key, m.RunID, run.ExitCode, m.ID)
		}
	}
	ctx := context.Background()
	for _, run := range runs {
		for _, p := range run.Partitions {
			if !p.Published {
				continue
			}
			if ok, err := l.Bucket().Exists(ctx, p.Dir+"/data.parquet"); err != nil || !ok {
				t.Errorf("run %s claims %s published; it is not in the lake (%v)", run.RunID, p.Dir, err)
			}
		}
	}
}

// strayFiles lists files of a file lake outside _manifests/ that are not partition objects,
// writers' temporary files ("*.tmp", invisible to readers) apart.
func strayFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "_manifests") {
			return err
		}
		if filepath.Base(p) != "data.parquet" && !strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// failedAccountLines returns the error of every "account failed" log line of a run.
func failedAccountLines(t *testing.T, stderr string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		var rec struct{ Msg, Error string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "account failed" {
			out = append(out, rec.Error)
		}
	}
	return out
}

// eventCounts counts the lake's CloudTrail rows and distinct event IDs per account (an
// object-store lake is downloaded first).
func eventCounts(t *testing.T, l *load.Lake) (rows, distinct int64) {
	t.Helper()
	root := l.Root()
	if root == "" {
		root = t.TempDir()
		ctx := context.Background()
		it := l.Bucket().List(nil)
		for {
			obj, err := it.Next(ctx)
			if err != nil {
				break
			}
			if !strings.HasSuffix(obj.Key, ".parquet") {
				continue
			}
			b, err := l.Bucket().ReadAll(ctx, obj.Key)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, filepath.FromSlash(obj.Key))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	db := openDuck(t, "")
	if err := db.QueryRow(`select count(*), count(distinct account_id || '/' || event_id) from `+lakeEvents(root)).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

func objectKeys(t *testing.T, l *load.Lake) []string {
	t.Helper()
	var keys []string
	it := l.Bucket().List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err != nil {
			break
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

func allPartitionsOrManifests(keys []string) bool {
	for _, k := range keys {
		if !strings.HasPrefix(k, "_manifests/") && !strings.HasSuffix(k, "/data.parquet") {
			return false
		}
	}
	return true
}

var killSteps = []string{"before-data", "after-data", "before-manifest", "after-manifest"}

// TestSIGKILLAtEachCommitStep kills the real binary with SIGKILL at each commit step (and at a
// later ingest group for the data steps), checks what the dead run left, reruns, and compares
// with one uninterrupted run: the same rows in the same partitions, no manifest or marker
// claiming what did not happen, and the hours' _SUCCESS present after the rerun.
func TestSIGKILLAtEachCommitStep(t *testing.T) {
	for _, kind := range []func(*testing.T) lakeKind{func(*testing.T) lakeKind { return fileLakes }, minioLakes} {
		kind := kind(t)
		t.Run(kind.name, func(t *testing.T) { testSIGKILLAtEachCommitStep(t, kind) })
	}
}

func testSIGKILLAtEachCommitStep(t *testing.T, kind lakeKind) {
	dir := t.TempDir()
	org, src := faultOrg(t, dir, time.Time{})
	cleanCfg, cleanFP, _ := kind.config(t, dir, "clean", org, src)
	if c := runChild(t, kind.env, runArgs(cleanCfg, org)...); c.code != exitOK {
		t.Fatalf("clean run: exit %d\n%s", c.code, c.stderr)
	}
	want := cleanFP()
	if !strings.Contains(want, "aws_cloudtrail_events: rows=") || strings.Contains(want, "aws_cloudtrail_events: rows=0 ") {
		t.Fatalf("the clean lake has no events:\n%s", want)
	}
	for _, at := range []string{"before-data", "before-data:7", "after-data", "after-data:7", "before-manifest", "after-manifest"} {
		t.Run(at, func(t *testing.T) {
			name := strings.ReplaceAll(at, ":", "-")
			cfg, fp, open := kind.config(t, dir, name, org, src)
			c := runChild(t, append(slices.Clip(kind.env), "PERMLAKE_TEST_KILL_AT="+at), runArgs(cfg, org)...)
			if !c.killed {
				t.Fatalf("PERMLAKE_TEST_KILL_AT=%s: exit %d, not killed\n%s", at, c.code, c.stderr)
			}
			l := open()
			runs, markers, complete := manifests(t, l)
			step, _, _ := strings.Cut(at, ":")
			wantRuns := 0
			if step == "after-manifest" {
				wantRuns = 1
			}
			if len(runs) != wantRuns || len(markers) != 0 || len(complete) != 0 {
				t.Errorf("killed %s: %d run manifests, %d markers, %d _SUCCESS; want %d, 0, 0", at, len(runs), len(markers), len(complete), wantRuns)
			}
			checkClaims(t, l)
			if step == "before-data" && fp() == want {
				t.Error("the run killed before its data commit left the lake complete: the kill proved nothing")
			}
			if l.Root() != "" {
				if stray := strayFiles(t, l.Root()); len(stray) > 0 {
					t.Errorf("visible files that are not partitions: %v", stray)
				}
				// A writer killed before its rename leaves its temporary file: no reader's glob
				// sees it, and RemoveOrphans deletes it once it is an hour old.
				tmps := 0
				_ = filepath.WalkDir(l.Root(), func(p string, d fs.DirEntry, err error) error {
					if err == nil && strings.HasSuffix(p, ".tmp") {
						tmps++
					}
					return err
				})
				t.Logf("SIGKILL at %s left %d temporary files", at, tmps)
			} else if keys := objectKeys(t, l); len(keys) != 0 && !allPartitionsOrManifests(keys) {
				t.Errorf("objects that are neither partitions nor manifests: %v", keys)
			}
			if c := runChild(t, kind.env, runArgs(cfg, org)...); c.code != exitOK {
				t.Fatalf("rerun after the kill: exit %d\n%s", c.code, c.stderr)
			}
			if got := fp(); got != want {
				t.Errorf("after SIGKILL at %s and a rerun the lake differs:\n%s\nuninterrupted:\n%s", at, got, want)
			}
			runs, _, complete = manifests(t, l)
			checkClaims(t, l)
			if len(runs) != wantRuns+1 || len(complete) != 24 {
				t.Errorf("after the rerun: %d run manifests, %d _SUCCESS hours; want %d and 24", len(runs), len(complete), wantRuns+1)
			}
		})
	}
}

// TestRandomKillsConverge runs the organization's day hour by hour, as cron does, with seeded
// random SIGKILLs (random step, random n) and reruns until each hour completes, at least 20
// kill-and-rerun cycles in all, on a file lake and on a MinIO lake; each ends identical, row for
// row, to the same hours run without a kill.
func TestRandomKillsConverge(t *testing.T) {
	for _, kind := range []func(*testing.T) lakeKind{func(*testing.T) lakeKind { return fileLakes }, minioLakes} {
		kind := kind(t)
		t.Run(kind.name, func(t *testing.T) {
			dir := t.TempDir()
			org, src := faultOrg(t, dir, time.Time{})
			hours := []time.Time{}
			for h := org.WindowStart; len(hours) < 12; h = h.Add(2 * time.Hour) {
				hours = append(hours, h)
			}
			cleanCfg, cleanFP, _ := kind.config(t, dir, "clean", org, src)
			for _, h := range hours {
				if c := runChild(t, kind.env, "run", "--config", cleanCfg, "--hour", hourArg(h), "--no-models"); c.code != exitOK {
					t.Fatalf("clean run of %s: exit %d\n%s", hourArg(h), c.code, c.stderr)
				}
			}
			want := cleanFP()
			cfg, fp, open := kind.config(t, dir, "killed", org, src)
			rng := rand.New(rand.NewPCG(20261101, 7))
			kills, runs := 0, 0
			for _, h := range hours {
				for attempt := 0; ; attempt++ {
					if attempt > 6 {
						t.Fatalf("hour %s: no clean finish after %d runs", hourArg(h), attempt)
					}
					env := slices.Clip(kind.env)
					if attempt < 3 {
						step := killSteps[rng.IntN(len(killSteps))]
						n := 1
						if strings.HasSuffix(step, "-data") {
							n = 1 + rng.IntN(4)
						}
						env = append(env, fmt.Sprintf("PERMLAKE_TEST_KILL_AT=%s:%d", step, n))
					}
					c := runChild(t, env, "run", "--config", cfg, "--hour", hourArg(h), "--no-models")
					runs++
					if c.killed {
						kills++
						continue
					}
					if c.code != exitOK {
						t.Fatalf("hour %s run %d (%v): exit %d\n%s", hourArg(h), attempt, env, c.code, c.stderr)
					}
					break
				}
			}
			t.Logf("%d runs, %d killed by SIGKILL", runs, kills)
			if kills < 20 {
				t.Errorf("only %d kill-and-rerun cycles, want at least 20", kills)
			}
			if got := fp(); got != want {
				t.Errorf("after %d kills the lake differs from uninterrupted runs:\n%s\nuninterrupted:\n%s", kills, got, want)
			}
			checkClaims(t, open())
		})
	}
}

// TestConcurrentRunsOneLake starts two runs of the same hour, then two overlapping backfills,
// at the same moment on one lake (file and MinIO): each exits 0 or fails naming
// load.ErrConflict; no row is doubled or lost, and a final run leaves the lake equal to one
// uninterrupted run's.
func TestConcurrentRunsOneLake(t *testing.T) {
	for _, kind := range []func(*testing.T) lakeKind{func(*testing.T) lakeKind { return fileLakes }, minioLakes} {
		kind := kind(t)
		t.Run(kind.name, func(t *testing.T) {
			dir := t.TempDir()
			org, src := faultOrg(t, dir, time.Time{})
			first, last := org.WindowStart, org.WindowEnd.Add(-time.Hour)
			mid := first.Add(12 * time.Hour)
			for _, tc := range []struct {
				name string
				a, b []string // --hour or --from/--to of each run
				all  []string // the uninterrupted equivalent
			}{
				{"same hour", []string{"--hour", hourArg(mid)}, []string{"--hour", hourArg(mid)}, []string{"--hour", hourArg(mid)}},
				{"overlapping backfills", []string{"--from", hourArg(first), "--to", hourArg(mid)},
					[]string{"--from", hourArg(first.Add(6 * time.Hour)), "--to", hourArg(last)}, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					name := strings.ReplaceAll(kind.name+"-"+tc.name, " ", "-")
					cleanCfg, cleanFP, _ := kind.config(t, dir, name+"-clean", org, src)
					cfg, fp, open := kind.config(t, dir, name, org, src)
					run := func(cfg string, span []string) []string {
						return append([]string{"run", "--config", cfg, "--no-models"}, span...)
					}
					// The uninterrupted equivalent: the same runs one after the other.
					for _, span := range [][]string{tc.a, tc.b} {
						if c := runChild(t, kind.env, run(cleanCfg, span)...); c.code != exitOK {
							t.Fatalf("clean %v: exit %d\n%s", span, c.code, c.stderr)
						}
					}
					want := cleanFP()
					results := make([]child, 2)
					var wg sync.WaitGroup
					for i, span := range [][]string{tc.a, tc.b} {
						wg.Add(1)
						go func() {
							defer wg.Done()
							results[i] = runChild(t, kind.env, run(cfg, span)...)
						}()
					}
					wg.Wait()
					// Every account either committed or lost a partition's race: its error names
					// the partition and ErrConflict, nothing else.
					conflicts := 0
					for i, c := range results {
						failures := failedAccountLines(t, c.stderr)
						switch {
						case c.code == exitOK && len(failures) == 0:
						case c.code == exitFailed || c.code == exitPartial:
							conflicts++
							for _, f := range failures {
								if !strings.Contains(f, "commit aws_cloudtrail_events/account_id=") || !strings.HasSuffix(f, load.ErrConflict.Error()) {
									t.Errorf("run %d: an account failed with %q; want ErrConflict naming the partition", i, f)
								}
							}
							if len(failures) == 0 {
								t.Errorf("run %d: exit %d with no failed account\n%s", i, c.code, c.stderr)
							}
						default:
							t.Errorf("run %d: exit %d; want 0, or 1/3 naming ErrConflict\n%s", i, c.code, c.stderr)
						}
					}
					// A group that loses a partition's race merges again on top of the winner
					// (retryConflicts), so both runs finish: the work is done once, by either.
					if conflicts != 0 {
						t.Errorf("%d of 2 runs failed with ErrConflict (exits %d, %d); a lost race must be merged again", conflicts, results[0].code, results[1].code)
					}
					l := open()
					checkClaims(t, l)
					if rows, distinct := eventCounts(t, l); rows == 0 || rows != distinct {
						t.Errorf("after the race: %d events, %d distinct; want no duplicate", rows, distinct)
					}
					if conflicts == 0 {
						if got := fp(); got != want {
							t.Errorf("both runs exited 0 but the lake differs:\n%s\nsequential:\n%s", got, want)
						}
					}
					// A run that lost a race is retried, as Airflow would: the lake converges.
					for i, c := range results {
						if c.code != exitOK {
							span := [][]string{tc.a, tc.b}[i]
							if c := runChild(t, kind.env, run(cfg, span)...); c.code != exitOK {
								t.Fatalf("retry of %v: exit %d\n%s", span, c.code, c.stderr)
							}
						}
					}
					if got := fp(); got != want {
						t.Errorf("after concurrent runs (and retries) the lake differs:\n%s\nsequential:\n%s", got, want)
					}
				})
			}
		})
	}
}

// TestTimeZonesSameLake backfills a day across the 2026-11-01 end of daylight saving time in New
// York (06:00 UTC) under TZ=UTC, TZ=America/New_York and TZ=Asia/Kolkata (+05:30): the lakes are
// identical, partition paths included (the fingerprint lists them).
func TestTimeZonesSameLake(t *testing.T) {
	dir := t.TempDir()
	org, src := faultOrg(t, dir, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	if !org.WindowStart.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("window starts %s", org.WindowStart)
	}
	var want string
	for _, tz := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		name := strings.ReplaceAll(tz, "/", "-")
		cfg, fp, open := fileLakes.config(t, dir, name, org, src)
		if c := runChild(t, []string{"TZ=" + tz}, runArgs(cfg, org)...); c.code != exitOK {
			t.Fatalf("TZ=%s: exit %d\n%s", tz, c.code, c.stderr)
		}
		// The success markers (what a sensor waits on) are the same UTC hours too.
		_, markers, complete := manifests(t, open())
		var keys []string
		for k := range markers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sort.Strings(complete)
		if len(complete) != 24 || complete[0] != "_manifests/success/date=2026-11-01/hour=00/_SUCCESS" || complete[23] != "_manifests/success/date=2026-11-01/hour=23/_SUCCESS" {
			t.Errorf("TZ=%s: _SUCCESS markers %v; want the 24 UTC hours of 2026-11-01", tz, complete)
		}
		got := fp() + "markers: " + strings.Join(keys, " ") + "\n"
		if !strings.Contains(got, "date=2026-11-01/hour=05/data.parquet") || !strings.Contains(got, "date=2026-11-01/hour=06/data.parquet") {
			t.Errorf("TZ=%s: the UTC hours around the DST change are not partitions:\n%s", tz, got)
		}
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("TZ=%s lake differs from TZ=UTC:\n%s\nUTC:\n%s", tz, got, want)
		}
	}
}

// TestUnwritableLocalLake: a lake path where a directory is expected is a regular file. Root
// cannot write through a file either (ENOTDIR), unlike through a read-only directory (root
// ignores permission bits, and chattr +i is not available here), so this fails for every user.
// A disk-full lake is not tested: making one honestly needs a small filesystem mounted (tmpfs,
// loop device), which needs privileges the tests do not have.
func TestUnwritableLocalLake(t *testing.T) {
	dir := t.TempDir()
	org, src := faultOrg(t, dir, time.Time{})
	args := func(cfg string) []string {
		return []string{"run", "--config", cfg, "--hour", hourArg(org.WindowStart.Add(10 * time.Hour)), "--no-models"}
	}
	t.Run("lake root under a file", func(t *testing.T) {
		file := filepath.Join(dir, "not-a-dir")
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := readLocal(testConfig(dir, "x"), org, src, nil)
		c.Lake = "file://" + filepath.Join(file, "lake")
		r := runChild(t, nil, args(saveConfig(t, c, dir, "under-file"))...)
		if r.code == exitOK || !strings.Contains(r.stderr, filepath.Join(file, "lake")) || !strings.Contains(r.stderr, "not a directory") {
			t.Fatalf("exit %d; want a failure naming %s and ENOTDIR\n%s", r.code, filepath.Join(file, "lake"), r.stderr)
		}
		// DESIGN.md §5: 1 = nothing published (the operating system refused the lake).
		if r.code != exitFailed {
			t.Errorf("exit %d, want %d for a lake the operating system refuses", r.code, exitFailed)
		}
		if b, _ := os.ReadFile(file); string(b) != "x" {
			t.Error("the file in the lake's way was changed")
		}
	})
	t.Run("table directory is a file", func(t *testing.T) {
		cfg, _, _ := fileLakes.config(t, dir, "table-file", org, src)
		root := filepath.Join(dir, "table-file")
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		blocker := filepath.Join(root, "aws_cloudtrail_events")
		if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		// The IAM snapshots commit (their tables are other directories); the CloudTrail of every
		// account fails: partial, exit 3, each account naming the partition.
		r := runChild(t, nil, args(cfg)...)
		if r.code != exitPartial || !strings.Contains(r.stderr, "aws_cloudtrail_events/account_id=") || !strings.Contains(r.stderr, "not a directory") {
			t.Fatalf("exit %d; want 3 and an error naming the partition and ENOTDIR\n%s", r.code, r.stderr)
		}
		if stray := strayFiles(t, root); len(stray) != 1 || stray[0] != blocker {
			t.Errorf("visible files that are not partitions: %v; want only the blocker", stray)
		}
		var tmps []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".tmp") {
				tmps = append(tmps, p)
			}
			return err
		})
		if len(tmps) != 0 {
			t.Errorf("a failed run left temporary files: %v", tmps)
		}
		l, err := load.Open(context.Background(), root)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		runs, markers, complete := manifests(t, l)
		if len(runs) != 1 || len(markers) != 0 || len(complete) != 0 {
			t.Errorf("%d manifests, %d markers, %d _SUCCESS; want the failed run's manifest only", len(runs), len(markers), len(complete))
		}
		for _, m := range runs {
			if m.ExitCode != exitPartial {
				t.Errorf("manifest exit code %d, want 3", m.ExitCode)
			}
			for _, a := range m.Accounts {
				if a.Status != "partial" || !strings.Contains(a.Error, "cloudtrail: ") || !strings.Contains(a.Error, "not a directory") {
					t.Errorf("account %s: %s %q; want partial, its CloudTrail failed with ENOTDIR", a.AccountID, a.Status, a.Error)
				}
			}
		}
		checkClaims(t, l)
		// With the blocker gone the next run completes the hour.
		if err := os.Remove(blocker); err != nil {
			t.Fatal(err)
		}
		if r := runChild(t, nil, args(cfg)...); r.code != exitOK {
			t.Fatalf("run after the fix: exit %d\n%s", r.code, r.stderr)
		}
	})
}
