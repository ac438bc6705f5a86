// Package deploy_test checks the scheduler deployments: the Airflow DAG compiles and maps one
// task per account and hour, then one per model shard, then the final step; the cron wrapper
// runs the last hour under a lock, then the shards and the final step with the right exit code;
// and the Kubernetes manifests parse into a CronJob that never overlaps, whose hour runs ingest,
// an Indexed Job of shards and the final step.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestAirflowDAGCompiles(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to compile the DAG: ", err)
	}
	out, err := exec.Command(py, "-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", "airflow/permlake_dag.py").CombinedOutput()
	if err != nil {
		t.Fatalf("the DAG does not compile: %v\n%s", err, out)
	}
	b, err := os.ReadFile("airflow/permlake_dag.py")
	if err != nil {
		t.Fatal(err)
	}
	dag := string(b)
	const nextHour = "' + NEXT_HOUR"
	for _, want := range []string{
		"data_interval_start.strftime('%Y-%m-%dT%H')",  // the interval's start is the hour
		"--accounts \"$PERMLAKE_ACCOUNT\" --no-models", // one account per mapped task, models once
		".expand(",                // dynamic task mapping
		`"accounts", "--config"`,  // the accounts come from permlake itself
		`trigger_rule="all_done"`, // models run on what was committed
		`"retries": 3`,            // tasks retry on their own
		"--shard \"$PERMLAKE_SHARD\" --now " + nextHour, // mapped shards, the models task's --now
		"--finalize --now " + nextHour,                  // the final step, same --now
		`flock "$PERMLAKE_STATE_FILE.lock"`,             // one state file, one process
		"append_env=True",                               // the workers' credentials reach permlake
	} {
		if !strings.Contains(dag, want) {
			t.Errorf("the DAG lacks %q", want)
		}
	}
}

func TestKubernetesCronJob(t *testing.T) {
	docs := yamlDocs(t, "kubernetes/cronjob.yaml")
	cj, sa := docs["CronJob/permlake-hourly"], docs["ServiceAccount/permlake"]
	if cj == nil || sa == nil || docs["ConfigMap/permlake-config"] == nil {
		t.Fatalf("documents = %v", keys(docs))
	}
	spec := cj["spec"].(map[string]any)
	if spec["concurrencyPolicy"] != "Forbid" || spec["schedule"] != "5 * * * *" || spec["timeZone"] != "Etc/UTC" {
		t.Errorf("CronJob spec = %v", spec)
	}
	ann := sa["metadata"].(map[string]any)["annotations"].(map[string]any)
	if ann["eks.amazonaws.com/role-arn"] == nil || ann["azure.workload.identity/client-id"] == nil {
		t.Errorf("service account annotations = %v: IRSA and workload identity both belong there", ann)
	}
	cfg := docs["ConfigMap/permlake-config"]["data"].(map[string]any)["permlake.yaml"].(string)
	var c map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &c); err != nil || c["lake"] == nil {
		t.Errorf("the embedded permlake.yaml does not parse: %v", err)
	}
}

// TestKubernetesShardsThenFinalize checks the hour's steps: ingest, then the Indexed Job of
// shards (created from its ConfigMap and waited for), then the final step, each with a memory
// limit, and the shard count agreeing everywhere.
func TestKubernetesShardsThenFinalize(t *testing.T) {
	docs := yamlDocs(t, "kubernetes/cronjob.yaml")
	pod := dig(t, docs["CronJob/permlake-hourly"], "spec", "jobTemplate", "spec", "template", "spec")
	inits, _ := pod["initContainers"].([]any)
	mains, _ := pod["containers"].([]any)
	var order []string
	var scripts []string
	for _, c := range append(append([]any{}, inits...), mains...) {
		m := c.(map[string]any)
		order = append(order, m["name"].(string))
		scripts = append(scripts, script(m))
		checkMemory(t, m)
	}
	// Init containers run in order and each must succeed: that orders the steps.
	if strings.Join(order, ",") != "ingest,shards,finalize" || len(mains) != 1 {
		t.Fatalf("containers = %v (init %d): want init ingest, shards, then the finalize container", order, len(inits))
	}
	if !strings.Contains(scripts[0], "permlake run") || !strings.Contains(scripts[0], "--no-models") {
		t.Errorf("ingest = %s", scripts[0])
	}
	if !strings.Contains(scripts[1], "/etc/permlake-shards/job.yaml | kubectl create -f -") || !strings.Contains(scripts[1], "Complete") {
		t.Errorf("shards = %s: want the Job created from its ConfigMap and waited for", scripts[1])
	}
	if !regexp.MustCompile(`permlake models .*--finalize --now "\$\(cat /run/permlake/now\)"`).MatchString(scripts[2]) {
		t.Errorf("finalize = %s", scripts[2])
	}
	if !strings.Contains(scripts[0], "> /run/permlake/now") {
		t.Errorf("ingest = %s: it writes the analysis time the shards and the final step use", scripts[0])
	}
	if docs["Role/permlake-shards"] == nil || docs["RoleBinding/permlake-shards"] == nil {
		t.Errorf("documents = %v: the shards step needs its Role to create Jobs", keys(docs))
	}

	// The Job template, as the shards step fills it in.
	tmpl := docs["ConfigMap/permlake-models-shards"]["data"].(map[string]any)["job.yaml"].(string)
	tmpl = strings.NewReplacer("${NAME}", "permlake-shards-2026-11-22t08", "${NOW}", "2026-11-22T08").Replace(tmpl)
	var job map[string]any
	if err := yaml.Unmarshal([]byte(tmpl), &job); err != nil {
		t.Fatalf("the shard Job does not parse: %v", err)
	}
	js := job["spec"].(map[string]any)
	if job["kind"] != "Job" || js["completionMode"] != "Indexed" {
		t.Errorf("shard Job = %v: want an Indexed Job", job)
	}
	sc := dig(t, job, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
	checkMemory(t, sc)
	cmd := script(sc)
	m := regexp.MustCompile(`permlake models .*--shard "\$\(\(JOB_COMPLETION_INDEX ?\+ ?1\)\)/(\d+)" --now "2026-11-22T08"`).FindStringSubmatch(cmd)
	if m == nil {
		t.Fatalf("shard command = %s: want --shard $((JOB_COMPLETION_INDEX+1))/N and the hour's --now", cmd)
	}
	n, _ := strconv.Atoi(m[1])
	if js["completions"] != n || js["parallelism"] != n {
		t.Errorf("completions %v, parallelism %v, --shard …/%d: they must agree", js["completions"], js["parallelism"], n)
	}
	if !strings.Contains(cmd, "PERMLAKE_STATE_FILE=") || !strings.Contains(cmd, "$JOB_COMPLETION_INDEX") {
		t.Errorf("shard command = %s: each index needs its own state file", cmd)
	}
}

// yamlDocs reads a multi-document manifest, keyed by kind/name.
func yamlDocs(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	docs := map[string]map[string]any{}
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name, _ := doc["metadata"].(map[string]any)["name"].(string)
		docs[doc["kind"].(string)+"/"+name] = doc
	}
	return docs
}

func keys(m map[string]map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func dig(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			t.Fatalf("no %s in %v", p, m)
		}
		m = next
	}
	return m
}

// script is a container's command and arguments as one text.
func script(c map[string]any) string {
	var parts []string
	for _, k := range []string{"command", "args"} {
		l, _ := c[k].([]any)
		for _, s := range l {
			parts = append(parts, s.(string))
		}
	}
	return strings.Join(parts, " ")
}

// checkMemory wants a memory request and limit, the limit at least the request.
func checkMemory(t *testing.T, c map[string]any) {
	t.Helper()
	res, _ := c["resources"].(map[string]any)
	req, _ := res["requests"].(map[string]any)
	lim, _ := res["limits"].(map[string]any)
	r, rok := req["memory"].(string)
	l, lok := lim["memory"].(string)
	if !rok || !lok {
		t.Errorf("container %v: resources %v lack a memory request and limit", c["name"], res)
		return
	}
	if quantity(t, l) < quantity(t, r) {
		t.Errorf("container %v: memory limit %s under its request %s", c["name"], l, r)
	}
}

// quantity reads the Mi and Gi quantities the manifests use, in MiB.
func quantity(t *testing.T, q string) int {
	t.Helper()
	for suffix, mult := range map[string]int{"Mi": 1, "Gi": 1024} {
		if n, err := strconv.Atoi(strings.TrimSuffix(q, suffix)); err == nil && strings.HasSuffix(q, suffix) {
			return n * mult
		}
	}
	t.Errorf("memory quantity %q: want <n>Mi or <n>Gi", q)
	return 0
}

// dagStub runs the DAG file against stand-ins for the Airflow modules it imports (Airflow is not
// installed here) and prints the tasks and dependencies it declares as JSON: the mapped shard
// list is the one its list_shards task returns at run time, with the Variables it reads.
const dagStub = `
import json, sys, types

variables = json.loads(sys.argv[2])
tasks, edges = {}, []

class Node:
    def __rshift__(self, other):
        edges.append((self.task_id, other.task_id))
        return other

class Mapped(Node):
    def __init__(self, fn):
        self.task_id, self.fn = fn.__name__, fn
        tasks[self.task_id] = {"kind": "python"}
    def map(self, f):
        return ("map", self, f)

def task(fn):
    return lambda *a, **k: Mapped(fn)

def dag(**kw):
    def wrap(fn):
        return fn
    return wrap

class Variable:
    @staticmethod
    def get(key, default_var=None):
        return variables.get(key, default_var)

class BashOperator(Node):
    def __init__(self, task_id, bash_command, env=None, **kw):
        self.task_id = task_id
        tasks[task_id] = {"kind": "bash", "command": bash_command, "env": [env], "kw": {k: str(v) for k, v in kw.items()}}
    @staticmethod
    def partial(task_id, bash_command, **kw):
        class Partial:
            def expand(self, env):
                op = BashOperator(task_id, bash_command, **kw)
                if isinstance(env, Mapped):
                    tasks[task_id]["env"] = env.fn()
                    edges.append((env.task_id, task_id))
                else:
                    tasks[task_id]["env"] = None
                    edges.append((env[1].task_id, task_id))
                tasks[task_id]["mapped"] = True
                return op
        return Partial()

mods = {n: types.ModuleType(n) for n in ["airflow", "airflow.decorators", "airflow.models", "airflow.operators", "airflow.operators.bash"]}
mods["airflow.decorators"].dag, mods["airflow.decorators"].task = dag, task
mods["airflow.models"].Variable = Variable
mods["airflow.operators.bash"].BashOperator = BashOperator
sys.modules.update(mods)
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), {"__name__": "dag"})
print(json.dumps({"tasks": tasks, "edges": edges}))
`

func TestAirflowDAGShardsThenFinalize(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to load the DAG: ", err)
	}
	for _, tc := range []struct {
		vars   string
		shards int
	}{
		{`{}`, 4},
		{`{"permlake_model_shards": "3", "permlake_work_dir": "/w"}`, 3},
	} {
		out, err := exec.Command(py, "-c", dagStub, "airflow/permlake_dag.py", tc.vars).CombinedOutput()
		if err != nil {
			t.Fatalf("load the DAG: %v\n%s", err, out)
		}
		var got struct {
			Tasks map[string]struct {
				Kind    string
				Command string
				Env     []map[string]string
				Mapped  bool
				KW      map[string]string
			}
			Edges [][2]string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		shards, fin, collect := got.Tasks["models_shard"], got.Tasks["models_finalize"], got.Tasks["collect"]
		if !shards.Mapped || !collect.Mapped || fin.Mapped || fin.Kind != "bash" {
			t.Fatalf("tasks = %+v: want mapped collect and models_shard, one models_finalize", got.Tasks)
		}
		// One shard task per part, each with its own state file and cache.
		if len(shards.Env) != tc.shards {
			t.Errorf("%s: %d shard tasks, want %d", tc.vars, len(shards.Env), tc.shards)
		}
		seen := map[string]bool{}
		for i, env := range shards.Env {
			if want := fmt.Sprintf("%d/%d", i+1, tc.shards); env["PERMLAKE_SHARD"] != want {
				t.Errorf("shard %d: PERMLAKE_SHARD = %q, want %q", i, env["PERMLAKE_SHARD"], want)
			}
			for _, k := range []string{"PERMLAKE_STATE_FILE", "PERMLAKE_CACHE_DIR"} {
				if env[k] == "" || seen[env[k]] {
					t.Errorf("shard %d: %s = %q: want one of its own", i, k, env[k])
				}
				seen[env[k]] = true
			}
		}
		// Both models steps judge the same window: the hour after the collected one.
		const now = "--now {{ data_interval_end.strftime('%Y-%m-%dT%H') }}"
		if !strings.Contains(shards.Command, "--shard \"$PERMLAKE_SHARD\" "+now) || !strings.Contains(fin.Command, "--finalize "+now) {
			t.Errorf("commands:\n%s\n%s\nwant --shard and --finalize with %q", shards.Command, fin.Command, now)
		}
		if !strings.Contains(collect.Command, "--no-models") {
			t.Errorf("collect = %s: the models are the shards' and the final step's", collect.Command)
		}
		// collect >> shards >> finalize, and nothing after the final step.
		edges := map[[2]string]bool{}
		for _, e := range got.Edges {
			edges[e] = true
			if e[0] == "models_finalize" {
				t.Errorf("edge %v: the final step must be last", e)
			}
		}
		for _, e := range [][2]string{{"collect", "models_shard"}, {"models_shard", "models_finalize"}, {"list_shards", "models_shard"}} {
			if !edges[e] {
				t.Errorf("edges = %v, lacks %v", got.Edges, e)
			}
		}
		if shards.KW["trigger_rule"] != "all_done" || fin.KW["trigger_rule"] != "all_done" {
			t.Errorf("trigger rules: shards %q, finalize %q: the models run on what was committed", shards.KW["trigger_rule"], fin.KW["trigger_rule"])
		}
	}
}

// fakePermlake writes a stand-in permlake that appends its arguments to dir/calls and exits with
// $FAKE_<STEP>_CODE (RUN, SHARD, FINALIZE; SHARD<i> for shard i alone), 0 by default; the run
// step sleeps $FAKE_SLEEP seconds first.
func fakePermlake(t *testing.T, dir string) string {
	t.Helper()
	fake := filepath.Join(dir, "permlake")
	script := `#!/usr/bin/env bash
echo "$@" >> "` + dir + `/calls"
case "$1 $*" in
  run*) sleep "${FAKE_SLEEP:-0}"; exit "${FAKE_RUN_CODE:-0}" ;;
  *--finalize*) exit "${FAKE_FINALIZE_CODE:-0}" ;;
  *--shard*)
    i=$(echo "$*" | sed -E 's/.*--shard ([0-9]+)\/.*/\1/')
    v=FAKE_SHARD${i}_CODE
    exit "${!v:-${FAKE_SHARD_CODE:-0}}" ;;
esac
exit 99
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return fake
}

func TestCronWrapperRunsLastHourUnderALock(t *testing.T) {
	dir := t.TempDir()
	fake := fakePermlake(t, dir)
	env := append(os.Environ(), "PERMLAKE_BIN="+fake, "PERMLAKE_CONFIG=/etc/p.yaml", "PERMLAKE_LOG_DIR="+dir,
		"PERMLAKE_LOCK="+filepath.Join(dir, "lock"), "FAKE_SLEEP=2", "FAKE_RUN_CODE=3", "PERMLAKE_SHARDS=1")
	first := exec.Command("bash", "cron/permlake-hourly.sh")
	first.Env = env
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	second := exec.Command("bash", "cron/permlake-hourly.sh")
	second.Env = env
	if out, err := second.CombinedOutput(); err != nil {
		t.Errorf("the second, overlapping run must skip with exit 0: %v\n%s", err, out)
	}
	err := first.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("the wrapper must pass permlake's exit code on: %v", err)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	if !regexp.MustCompile(`^run --config /etc/p.yaml --hour \d{4}-\d\d-\d\dT\d\d --no-models\n`).Match(calls) {
		t.Errorf("calls = %q, want one run of the last hour first", calls)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "permlake.log"))
	if !bytes.Contains(log, []byte("skipping this hour")) || !bytes.Contains(log, []byte("exit 3")) {
		t.Errorf("log = %s", log)
	}
}

func TestCronWrapperShardsThenFinalize(t *testing.T) {
	t.Parallel()
	const (
		run      = "run"
		finalize = "finalize"
	)
	shard := func(i, n int) string { return fmt.Sprintf("shard %d/%d", i, n) }
	all4 := []string{run, shard(1, 4), shard(2, 4), shard(3, 4), shard(4, 4), finalize}
	for _, tc := range []struct {
		name  string
		env   []string
		steps []string
		code  int
	}{
		{"ok", nil, all4, 0},
		{"two shards", []string{"PERMLAKE_SHARDS=2"}, []string{run, shard(1, 2), shard(2, 2), finalize}, 0},
		{"ingest partial still builds", []string{"FAKE_RUN_CODE=3"}, all4, 3},
		{"ingest failed stops", []string{"FAKE_RUN_CODE=1"}, []string{run}, 1},
		{"ingest misconfigured stops", []string{"FAKE_RUN_CODE=2"}, []string{run}, 2},
		{"shard failed stops", []string{"FAKE_SHARD2_CODE=1"}, []string{run, shard(1, 4), shard(2, 4)}, 1},
		{"shard data test still finalizes", []string{"FAKE_SHARD3_CODE=4"}, all4, 4},
		{"finalize stale", []string{"FAKE_FINALIZE_CODE=1"}, all4, 1},
		{"first code kept", []string{"FAKE_RUN_CODE=3", "FAKE_FINALIZE_CODE=1"}, all4, 3},
		{"bad shard count", []string{"PERMLAKE_SHARDS=0"}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command("bash", "cron/permlake-hourly.sh")
			cmd.Env = append(append(os.Environ(), "PERMLAKE_BIN="+fakePermlake(t, dir), "PERMLAKE_CONFIG=/etc/p.yaml",
				"PERMLAKE_LOG_DIR="+dir, "PERMLAKE_LOCK="+filepath.Join(dir, "lock")), tc.env...)
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "calls"))
			var steps []string
			hour, now := "", ""
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if line == "" {
					continue
				}
				if m := regexp.MustCompile(`^run --config /etc/p.yaml --hour (\S+) --no-models$`).FindStringSubmatch(line); m != nil {
					steps, hour = append(steps, run), m[1]
				} else if m := regexp.MustCompile(`^models --config /etc/p.yaml --shard (\d+/\d+) --now (\S+)$`).FindStringSubmatch(line); m != nil {
					steps = append(steps, "shard "+m[1])
					if now != "" && m[2] != now {
						t.Errorf("--now %s after %s: every models step must judge the same hour", m[2], now)
					}
					now = m[2]
				} else if m := regexp.MustCompile(`^models --config /etc/p.yaml --finalize --now (\S+)$`).FindStringSubmatch(line); m != nil {
					steps = append(steps, finalize)
					if m[1] != now {
						t.Errorf("finalize --now %s, the shards' %s", m[1], now)
					}
				} else {
					t.Errorf("unexpected call %q", line)
				}
			}
			if strings.Join(steps, ", ") != strings.Join(tc.steps, ", ") {
				t.Errorf("steps = %q, want %q", steps, tc.steps)
			}
			if now != "" {
				h, err1 := time.Parse("2006-01-02T15", hour)
				n, err2 := time.Parse("2006-01-02T15", now)
				if err1 != nil || err2 != nil || n.Sub(h) != time.Hour {
					t.Errorf("--hour %s, --now %s: want the hour after the collected one", hour, now)
				}
			}
		})
	}
}
