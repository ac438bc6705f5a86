package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine describes where the benchmark ran, for the results file.
type machine struct {
	cpu, cores, memory, goVersion, duckdb, kernel string
}

// text is the machine in one line.
func (m machine) text() string {
	return fmt.Sprintf("%s, %s cores, %s memory, %s; Go %s; DuckDB %s", m.cpu, m.cores, m.memory, m.kernel, m.goVersion, m.duckdb)
}

func describeMachine() machine {
	m := machine{cpu: "unknown", cores: fmt.Sprint(runtime.NumCPU()), memory: "unknown", goVersion: runtime.Version(), duckdb: "unknown", kernel: "unknown"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.cpu = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		var kb int64
		if _, err := fmt.Sscanf(v, "%d kB", &kb); err == nil {
			m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if db, err := sql.Open("duckdb", ""); err == nil {
		var v string
		if err := db.QueryRow("SELECT library_version FROM pragma_version()").Scan(&v); err == nil {
			m.duckdb = v + " (duckdb-go, as linked into bench and the baseline)"
		}
		db.Close()
	}
	return m
}

// procField is the value of the first "key : value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAvg is /proc/loadavg's first three fields: how busy the shared machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func resultsMarkdown(cmdline string, o options, sh shape, ds *dataset, ms []measurement, s summary, c check, loadBefore string, rssErr error) string {
	m := describeMachine()
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), ds.Dir[strings.LastIndex(ds.Dir, "/")+1:])
	fmt.Fprintf(&b, "Command: `%s` (from the module root)\n\n", cmdline)
	fmt.Fprintf(&b, "- Machine: %s.\n", m.text())
	fmt.Fprintf(&b, "- Load average %s before, %s after.\n", loadBefore, loadAvg())
	fmt.Fprintf(&b, "- Dataset (shape %s): demo generator, %d member accounts (+ management and log archive = %d accounts), EventsPerHour %d, %d day(s) (%s to %s), %s: "+
		"%d CloudTrail records (re-deliveries included) in %d log files (%.0f records per file), %.1f MB gzipped, %.1f MB JSON (%.0f bytes per record).\n",
		sh.name, sh.size.members, len(ds.Org.Accounts), sh.size.eventsPerHour, sh.size.days, ds.Org.WindowStart.Format(time.RFC3339), ds.Org.WindowEnd.Format(time.RFC3339),
		sh.size.shapeText(), ds.Org.Events, ds.Files, float64(ds.Org.Events)/float64(max(ds.Files, 1)), mb(ds.GzipBytes), mb(ds.JSONBytes), float64(ds.JSONBytes)/float64(max(ds.Org.Events, 1)))
	fmt.Fprintf(&b, "- permlake: `permlake run --no-models` (child process, concurrency %d) into a fresh local lake; DuckDB: bench/baseline (child process, read_json → COPY … PARTITION_BY (account_id, date, hour), zstd, preserve_insertion_order=false, threads %s).\n",
		o.concurrency, threadsText(o.threads))
	fmt.Fprintf(&b, "- permlake's Go memory limit: %s.\n", memoryLimitText())
	fmt.Fprintf(&b, "- Wall time, and CPU and peak RSS from wait4 rusage of each child taken by a fresh launcher (bench/launch.go); events/s counts every record in the files.\n\n")
	fmt.Fprintf(&b, "| rep | side | wall s | events/s | MB/s gz | MB/s JSON | peak RSS MiB | user s | sys s | events/CPU-s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range ms {
		fmt.Fprintf(&b, "| %d | %s | %.2f | %.0f | %.1f | %.1f | %.0f | %.1f | %.1f | %.0f |\n", x.rep, x.side, x.wall.Seconds(), x.eventsPerSec(ds),
			mb(ds.GzipBytes)/x.wall.Seconds(), mb(ds.JSONBytes)/x.wall.Seconds(), mib(x.maxRSS), x.user.Seconds(), x.sys.Seconds(), x.eventsPerCPUSec(ds))
	}
	fmt.Fprintf(&b, "\nMedians: permlake %.0f events/s, peak RSS %.0f MiB; DuckDB %.0f events/s, peak RSS %.0f MiB. **Median ratio permlake/DuckDB: %.2f** (over the repetitions' pairs; ratio of the medians %.2f).\n\n",
		s.medianEPS["permlake"], mib(s.peakRSS["permlake"]), s.medianEPS["duckdb"], mib(s.peakRSS["duckdb"]), s.ratio, s.ofMedians)
	fmt.Fprintf(&b, "Outputs of the last repetition, read back with DuckDB: %s", strings.ReplaceAll(c.text(), "\n", "\n\n"))
	switch {
	case o.checkRSS > 0 && rssErr != nil:
		fmt.Fprintf(&b, "check-rss %d MiB: FAILED (%v).\n", o.checkRSS, rssErr)
	case o.checkRSS > 0:
		fmt.Fprintf(&b, "check-rss %d MiB: ok.\n", o.checkRSS)
	}
	return b.String()
}

func threadsText(n int) string {
	if n == 0 {
		return "default (one per core)"
	}
	return fmt.Sprint(n)
}

// memoryLimitText says which memory limit the permlake child runs with: it inherits the
// environment, and cmd/permlake/main.go sets 384 MiB unless it says otherwise.
func memoryLimitText() string {
	if v := os.Getenv("PERMLAKE_MEMORY_LIMIT"); v != "" {
		return "PERMLAKE_MEMORY_LIMIT=" + v
	}
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		return "GOMEMLIMIT=" + v
	}
	return "the default (384 MiB soft limit, cmd/permlake/main.go)"
}
