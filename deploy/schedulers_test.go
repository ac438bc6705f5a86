// Package deploy_test checks the scheduler deployments: the Airflow DAG compiles and maps one
// task per account and hour, the cron wrapper runs the last hour under a lock, and the
// Kubernetes manifests parse into a CronJob that never overlaps.
package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	for _, want := range []string{
		"data_interval_start.strftime('%Y-%m-%dT%H')",  // the interval's start is the hour
		"--accounts \"$PERMLAKE_ACCOUNT\" --no-models", // one account per mapped task, models once
		".expand(",                // dynamic task mapping
		`"accounts", "--config"`,  // the accounts come from permlake itself
		`trigger_rule="all_done"`, // models run on what was committed
		`"retries": 3`,            // tasks retry on their own
		"models --config",
	} {
		if !strings.Contains(dag, want) {
			t.Errorf("the DAG lacks %q", want)
		}
	}
}

func TestCronWrapperRunsLastHourUnderALock(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "permlake")
	// The fake records its arguments and holds the lock for a while.
	if err := os.WriteFile(fake, []byte("#!/usr/bin/env bash\necho \"$@\" >> \""+dir+"/calls\"\nsleep 2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PERMLAKE_BIN="+fake, "PERMLAKE_CONFIG=/etc/p.yaml", "PERMLAKE_LOG_DIR="+dir, "PERMLAKE_LOCK="+filepath.Join(dir, "lock"))
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
	if !regexp.MustCompile(`^run --config /etc/p.yaml --hour \d{4}-\d\d-\d\dT\d\d\n$`).Match(calls) {
		t.Errorf("calls = %q, want exactly one run of the last hour", calls)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "permlake.log"))
	if !bytes.Contains(log, []byte("skipping this hour")) || !bytes.Contains(log, []byte("exit 3")) {
		t.Errorf("log = %s", log)
	}
}

func TestKubernetesCronJob(t *testing.T) {
	f, err := os.Open("kubernetes/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	kinds := map[string]map[string]any{}
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[doc["kind"].(string)] = doc
	}
	cj, sa := kinds["CronJob"], kinds["ServiceAccount"]
	if cj == nil || sa == nil || kinds["ConfigMap"] == nil {
		t.Fatalf("kinds = %v", kinds)
	}
	spec := cj["spec"].(map[string]any)
	if spec["concurrencyPolicy"] != "Forbid" || spec["schedule"] != "5 * * * *" || spec["timeZone"] != "Etc/UTC" {
		t.Errorf("CronJob spec = %v", spec)
	}
	ann := sa["metadata"].(map[string]any)["annotations"].(map[string]any)
	if ann["eks.amazonaws.com/role-arn"] == nil || ann["azure.workload.identity/client-id"] == nil {
		t.Errorf("service account annotations = %v: IRSA and workload identity both belong there", ann)
	}
	cfg := kinds["ConfigMap"]["data"].(map[string]any)["permlake.yaml"].(string)
	var c map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &c); err != nil || c["lake"] == nil {
		t.Errorf("the embedded permlake.yaml does not parse: %v", err)
	}
}
