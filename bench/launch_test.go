package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// allocEnv makes the test binary a child that holds this many MiB, touched, and exits.
const allocEnv = "PERMLAKE_BENCH_TEST_ALLOC_MIB"

func TestMain(m *testing.M) {
	if report := os.Getenv(launchEnv); report != "" {
		launchMain(report)
	}
	if os.Getenv(allocEnv) != "" {
		b := make([]byte, 48<<20)
		for i := 0; i < len(b); i += 4096 { // a byte per page makes it resident
			b[i] = 1
		}
		b[len(b)-1] = 1
		os.Exit(int(b[len(b)-1]) - 1)
	}
	os.Exit(m.Run())
}

// TestMeasureIsTheChildsOwn: a child's measured peak RSS is its own, not the measuring
// process's (which wait4 alone reports when the parent is the larger: see launch.go).
func TestMeasureIsTheChildsOwn(t *testing.T) {
	held := make([]byte, 400<<20) // the parent's memory, well above the child's
	for i := 0; i < len(held); i += 4096 {
		held[i] = 1
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), allocEnv+"=1")
	m, err := measure(cmd, "child", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := mib(m.maxRSS); got < 48 || got > 200 {
		t.Fatalf("child's peak RSS %.0f MiB, want its own 48 MiB and a little (the parent holds %d MiB)", got, len(held)>>20)
	}
	if m.user <= 0 {
		t.Fatalf("child's user CPU %v, want the child's", m.user)
	}
	// Without the launcher, the same child reports the parent's memory: what the launcher is for.
	direct := exec.Command(self)
	direct.Env = append(os.Environ(), allocEnv+"=1")
	if err := direct.Run(); err != nil {
		t.Fatal(err)
	}
	if ru, ok := direct.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.Logf("the same child without the launcher: peak RSS %d MiB", ru.Maxrss>>10)
	}
	held[0] = 0
}
