package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/permlake/permlake/extract/aws"
	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/demo"
)

// The queue-requests benchmark counts (it does not time) the requests one hourly run makes to
// S3 (and STS) and SQS, listing the trail bucket and reading the trail's notification queue, on
// a generated organization: real MinIO and moto servers behind counting proxies. Both modes run
// the hour before first (uncounted, listing), so the counted run is the steady state: the ledger
// holds what earlier hours read, the queue holds the notifications delivered since.

// queueSize is the organization: 200 accounts (198 members), 4 regions, one day.
var queueSize = struct {
	members, eventsPerHour int
	regions                []string
}{198, 4, []string{"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"}}

// requestCounter counts proxied requests by operation.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) add(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

// countingProxy forwards 127.0.0.1 requests to target, counting them by classify's operation
// name. The Host header is left as the client signed it.
func countingProxy(target string, classify func(*http.Request) string) (string, *requestCounter, func(), error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, nil, err
	}
	c := &requestCounter{n: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.add(classify(r))
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), c, func() { _ = srv.Close() }, nil
}

// s3Operation names an S3 (or MinIO STS) request from its method and query.
func s3Operation(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/":
		return "sts:AssumeRole"
	case r.Method == http.MethodGet && (q.Has("list-type") || q.Has("prefix") || q.Has("delimiter")):
		return "s3:ListObjectsV2"
	case r.Method == http.MethodGet:
		return "s3:GetObject"
	case r.Method == http.MethodHead:
		return "s3:HeadObject"
	}
	return "s3:" + r.Method
}

// sqsOperation names an SQS request from its AWS JSON 1.0 target.
func sqsOperation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return "sqs:" + strings.TrimPrefix(t, "AmazonSQS.")
	}
	return "sqs:" + r.Method
}

func queueRequests(ctx context.Context, o options, root, permlakeBin, cmdline string, stdout, stderr io.Writer) error {
	name := fmt.Sprintf("queue-m%d-r%d", queueSize.members, len(queueSize.regions))
	cache, err := defaultCache(name)
	if err != nil {
		return err
	}
	org, err := cachedOrg(ctx, cache, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "permlake-bench-queue-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	minio, stopMinIO, err := awstest.RunMinIO(filepath.Join(work, "minio"), filepath.Join(work, "minio.log"))
	if err != nil {
		return err
	}
	defer stopMinIO()
	moto, stopMoto, err := awstest.RunSQS(filepath.Join(work, "moto.log"))
	if err != nil {
		return err
	}
	defer stopMoto()
	trailRoot := filepath.Join(cache, "s3", org.TrailBucket)
	start := time.Now()
	objects, err := minio.UploadDir(ctx, org.TrailBucket, trailRoot)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "uploaded %d trail objects to MinIO in %s\n", objects, time.Since(start).Round(time.Second))
	s3URL, s3Count, stopS3, err := countingProxy(minio.Endpoint, s3Operation)
	if err != nil {
		return err
	}
	defer stopS3()
	sqsURL, sqsCount, stopSQS, err := countingProxy(moto.Endpoint, sqsOperation)
	if err != nil {
		return err
	}
	defer stopSQS()
	created, err := moto.Client().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: sdkaws.String("trail")})
	if err != nil {
		return err
	}
	queueURL := *created.QueueUrl
	logs, err := logFiles(trailRoot)
	if err != nil {
		return err
	}
	const lateMargin = 2 * time.Hour
	// An hour in the middle of the day: files keep being delivered after it, as every hour of a
	// live trail.
	hour := org.WindowStart.Add(12 * time.Hour)
	// A run at hour h reads files delivered before h+1h+late_margin.
	deliveredBefore := func(h time.Time) time.Time { return h.Add(time.Hour + lateMargin) }
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+minio.AccessKey, "AWS_SECRET_ACCESS_KEY="+minio.SecretKey, "AWS_SESSION_TOKEN=",
		"AWS_PROFILE=", "AWS_CONFIG_FILE="+filepath.Join(work, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(work, "none"), "AWS_EC2_METADATA_DISABLED=true")
	counts := map[string]map[string]int{}
	newFiles := map[string]int{}
	for _, mode := range []string{"listing", "queue"} {
		dir := filepath.Join(work, mode)
		cfg, err := writeQueueBenchConfig(dir, org, s3URL, sqsURL, queueURL, mode == "queue", lateMargin)
		if err != nil {
			return err
		}
		// The hour before, uncounted, as a backfill (listing) in both modes: its ledger is the
		// steady state of hourly runs. Then the counted hour; the queue holds the notifications
		// delivered since, as SNS would have delivered them.
		for i, h := range []time.Time{hour.Add(-time.Hour), hour} {
			args := []string{"--config", cfg, "run", "--hour", h.Format(hourLayout), "--no-models"}
			if i == 0 {
				args = []string{"--config", cfg, "run", "--from", h.Format(hourLayout), "--to", h.Format(hourLayout), "--no-models"}
			} else if mode == "queue" {
				n, err := notifyDelivered(ctx, moto, queueURL, org.TrailBucket, logs, deliveredBefore(hour.Add(-time.Hour)), deliveredBefore(hour))
				if err != nil {
					return err
				}
				newFiles[mode] = n
			}
			s3Count.take()
			sqsCount.take()
			cmd := exec.CommandContext(ctx, permlakeBin, args...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s run at %s: %w\n%s", mode, h.Format(hourLayout), err, tailString(string(out), 4000))
			}
		}
		c := s3Count.take()
		for k, v := range sqsCount.take() {
			c[k] = v
		}
		counts[mode] = c
		if mode == "listing" {
			newFiles[mode] = c["s3:GetObject"]
		}
	}
	accounts := len(org.Accounts)
	md := queueMarkdown(cmdline, accounts, objects, hour, counts, newFiles)
	fmt.Fprint(stdout, md)
	return appendResults(root, o, md, stdout)
}

// cachedOrg generates the benchmark's organization once.
func cachedOrg(ctx context.Context, dir string, stderr io.Writer) (*demo.Org, error) {
	path := filepath.Join(dir, "org.json")
	if _, err := os.Stat(path); err != nil {
		tmp := dir + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "generating %s (once)\n", dir)
		org, err := demo.Generate(ctx, tmp, demo.Config{MemberAccounts: queueSize.members, EventsPerHour: queueSize.eventsPerHour, Days: 1, Regions: queueSize.regions})
		if err != nil {
			return nil, err
		}
		if err := writeJSONFile(filepath.Join(tmp, "org.json"), org); err != nil {
			return nil, err
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, err
		}
	}
	org := new(demo.Org)
	return org, readJSONFile(path, org)
}

// logFiles lists the log files (not digests) under the bucket folder root.
func logFiles(root string) ([]aws.LogFile, error) {
	var out []aws.LogFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if f, ok := aws.ParseLogFileKey(filepath.ToSlash(rel)); ok {
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// notifyDelivered sends CloudTrail's notification (raw message delivery) for every log file
// delivered in [from, to), ten per call straight to moto (uncounted), and returns how many.
func notifyDelivered(ctx context.Context, moto *awstest.SQS, queueURL, bucket string, logs []aws.LogFile, from, to time.Time) (int, error) {
	client := moto.Client()
	var batch []sqstypes.SendMessageBatchRequestEntry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &queueURL, Entries: batch})
		if err == nil && len(out.Failed) > 0 {
			err = fmt.Errorf("send notifications: %d failed: %s", len(out.Failed), sdkaws.ToString(out.Failed[0].Message))
		}
		batch = batch[:0]
		return err
	}
	n := 0
	for _, f := range logs {
		if f.DeliveredAt.Before(from) || !f.DeliveredAt.Before(to) {
			continue
		}
		body, _ := json.Marshal(map[string]any{"s3Bucket": bucket, "s3ObjectKey": []string{f.Key}})
		batch = append(batch, sqstypes.SendMessageBatchRequestEntry{Id: sdkaws.String(fmt.Sprint(len(batch))), MessageBody: sdkaws.String(string(body))})
		n++
		if len(batch) == 10 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

func writeQueueBenchConfig(dir string, org *demo.Org, s3URL, sqsURL, queueURL string, queue bool, lateMargin time.Duration) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by bench.\nlake: %q\nwarehouse: %q\nlate_margin: %s\nconcurrency: 4\n", "file://"+filepath.Join(dir, "lake"), filepath.Join(dir, "warehouse.duckdb"), lateMargin)
	fmt.Fprintf(&b, "aws:\n  region: us-east-1\n  endpoints:\n    s3: %q\n    sts: %q\n    sqs: %q\n    s3_path_style: true\n", s3URL, s3URL, sqsURL)
	fmt.Fprintf(&b, "  trail:\n    url: %q\n    prefix: %q\n    organization_id: %q\n", "s3://"+org.TrailBucket, org.TrailPrefix, org.OrganizationID)
	fmt.Fprintf(&b, "    role:\n      arn: %q\n      session_name: permlake\n", "arn:aws:iam::"+org.LogArchiveAccountID+":role/PermlakeLogReader")
	if queue {
		fmt.Fprintf(&b, "    queue:\n      url: %q\n      wait: 1s\n", queueURL)
	}
	fmt.Fprintf(&b, "  accounts:\n")
	for _, a := range org.Accounts {
		fmt.Fprintf(&b, "    - id: %q\n      name: %q\n", a.ID, a.Name)
	}
	path := filepath.Join(dir, "permlake.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

func queueMarkdown(cmdline string, accounts, objects int, hour time.Time, counts map[string]map[string]int, newFiles map[string]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s: requests of one hourly run, listing vs the trail's notification queue\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "`%s`: %d accounts, %d regions, %d trail objects (one day) in MinIO, SQS on moto, both behind counting proxies; the run at %s after the run of the hour before (steady state). Counted, not timed.\n\n",
		cmdline, accounts, len(queueSize.regions), objects, hour.Format(hourLayout))
	var ops []string
	for _, c := range counts {
		for op := range c {
			if !slices.Contains(ops, op) {
				ops = append(ops, op)
			}
		}
	}
	slices.Sort(ops)
	fmt.Fprintf(&b, "| request | listing | queue |\n|---|---:|---:|\n")
	total := map[string]int{}
	for _, op := range ops {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", op, counts["listing"][op], counts["queue"][op])
		for m := range counts {
			total[m] += counts[m][op]
		}
	}
	fmt.Fprintf(&b, "| **all** | **%d** | **%d** |\n\n", total["listing"], total["queue"])
	fmt.Fprintf(&b, "New log files in the counted hour: %d by listing, %d notified. Requests per new file: listing %.2f, queue %.2f; the queue makes %.1f%% of listing's requests.\n",
		newFiles["listing"], newFiles["queue"], perFile(total["listing"], newFiles["listing"]), perFile(total["queue"], newFiles["queue"]), 100*float64(total["queue"])/float64(max(total["listing"], 1)))
	return b.String()
}

func perFile(n, files int) float64 { return float64(n) / float64(max(files, 1)) }
