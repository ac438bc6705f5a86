package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/permlake/permlake/extract/aws"
	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load/laketest"
)

// queueFixture is a demo organization's trail in a MinIO bucket and an SQS server (moto) where
// tests create queues and send the trail's notifications.
type queueFixture struct {
	m       *awstest.MinIO
	sqs     *awstest.SQS
	org     *demo.Org
	dir     string
	src     string
	env     []string // a child process's credentials
	logs    []string // the trail bucket's log files, by key
	digests []string // its digest files
}

func newQueueFixture(t *testing.T, eventsPerHour int) *queueFixture {
	t.Helper()
	ctx := context.Background()
	f := &queueFixture{m: awstest.StartMinIO(t), sqs: awstest.StartSQS(t), dir: t.TempDir()}
	f.src = filepath.Join(f.dir, "source")
	org, err := demo.Generate(ctx, f.src, demo.Config{Days: 1, EventsPerHour: eventsPerHour}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	f.org = org
	root := filepath.Join(f.src, "s3", org.TrailBucket)
	f.m.Upload(ctx, t, org.TrailBucket, root)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.Contains(rel, "CloudTrail-Digest") {
			f.digests = append(f.digests, filepath.ToSlash(rel))
		} else {
			f.logs = append(f.logs, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.logs) < 50 || len(f.digests) == 0 {
		t.Fatalf("the demo trail has %d log files and %d digests", len(f.logs), len(f.digests))
	}
	f.env = minioEnv(f.m, f.dir)
	return f
}

// config writes the config of a lake named name reading the trail from MinIO, through the queue
// at queueURL when it is set.
func (f *queueFixture) config(t *testing.T, name, queueURL string, visibility time.Duration) string {
	t.Helper()
	return f.configTopic(t, name, queueURL, "", visibility)
}

// configTopic is config with the queue's SNS topic named, for check.
func (f *queueFixture) configTopic(t *testing.T, name, queueURL, topicARN string, visibility time.Duration) string {
	t.Helper()
	c := readLocal(testConfig(f.dir, name), f.org, f.src, nil)
	c.AWS.Region = "us-east-1"
	c.AWS.Endpoints = EndpointsConfig{S3: f.m.Endpoint, STS: f.m.Endpoint, SQS: f.sqs.Endpoint, SNS: f.sqs.Endpoint, S3PathStyle: true}
	c.AWS.Trail.URL = "s3://" + f.org.TrailBucket
	c.AWS.Trail.Role = RoleConfig{ARN: "arn:aws:iam::" + f.org.LogArchiveAccountID + ":role/PermlakeLogReader", SessionName: "permlake"}
	if queueURL != "" {
		c.AWS.Trail.Queue = QueueConfig{URL: queueURL, TopicARN: topicARN, MaxMessages: 100000, MaxDuration: 5 * time.Minute, VisibilityTimeout: visibility, Wait: time.Second}
	}
	return saveConfig(t, c, f.dir, name)
}

// newQueue creates a queue and an SNS topic delivering to it without raw message delivery (the
// envelope), as CloudTrail's topic is usually subscribed.
func (f *queueFixture) newQueue(t *testing.T, name string) (queueURL, topicARN string) {
	t.Helper()
	ctx := context.Background()
	arnOf := func(url *string) string {
		attrs, err := f.sqs.Client().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		return attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	dlq, err := f.sqs.Client().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: sdkaws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := f.sqs.Client().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: sdkaws.String(name), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + arnOf(dlq.QueueUrl) + `","maxReceiveCount":"20"}`}})
	if err != nil {
		t.Fatal(err)
	}
	topic, err := f.sqs.SNS().CreateTopic(ctx, &sns.CreateTopicInput{Name: sdkaws.String(name + "-topic")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sqs.SNS().Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: sdkaws.String("sqs"),
		Endpoint: sdkaws.String(arnOf(q.QueueUrl))}); err != nil {
		t.Fatal(err)
	}
	return *q.QueueUrl, *topic.TopicArn
}

// Notification forms, as AWS sends them (shapes: extract/aws/notification_test.go, with their
// sources).
const (
	viaCloudTrailSNS = iota // CloudTrail's own notification, published to its SNS topic
	viaCloudTrailRaw        // the same with raw message delivery: the notification alone
	viaS3Event              // an S3 event notification sent straight to the queue (URL-encoded key)
	viaEventBridge          // an EventBridge "Object Created" event
	forms
)

// notify sends one notification for keys in the given form.
func (f *queueFixture) notify(t *testing.T, queueURL, topicARN string, form int, keys ...string) {
	t.Helper()
	ctx := context.Background()
	bucket := f.org.TrailBucket
	var body []byte
	switch form {
	case viaCloudTrailSNS, viaCloudTrailRaw:
		body, _ = json.Marshal(map[string]any{"s3Bucket": bucket, "s3ObjectKey": keys})
		if form == viaCloudTrailSNS {
			if _, err := f.sqs.SNS().Publish(ctx, &sns.PublishInput{TopicArn: &topicARN, Message: sdkaws.String(string(body))}); err != nil {
				t.Fatal(err)
			}
			return
		}
	case viaS3Event:
		var records []map[string]any
		for _, k := range keys {
			records = append(records, map[string]any{
				"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-12-07T04:05:06.000Z",
				"eventName": "ObjectCreated:Put", "userIdentity": map[string]any{"principalId": "AWS:AROAEXAMPLE:regionalDeliverySession"},
				"requestParameters": map[string]any{"sourceIPAddress": "198.51.100.7"},
				"responseElements":  map[string]any{"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
				"s3": map[string]any{"s3SchemaVersion": "1.0", "configurationId": "permlake-trail",
					"bucket": map[string]any{"name": bucket, "ownerIdentity": map[string]any{"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::" + bucket},
					"object": map[string]any{"key": url.QueryEscape(k), "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"}},
			})
		}
		body, _ = json.Marshal(map[string]any{"Records": records})
	case viaEventBridge:
		body, _ = json.Marshal(map[string]any{"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
			"source": "aws.s3", "account": f.org.LogArchiveAccountID, "time": "2026-12-07T04:05:06Z", "region": "us-east-1",
			"resources": []string{"arn:aws:s3:::" + bucket},
			"detail": map[string]any{"version": "0", "bucket": map[string]any{"name": bucket},
				"object":     map[string]any{"key": keys[0], "size": 1024, "etag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "00617F08299329D189"},
				"request-id": "N4N7GDK58NMKJ12R", "requester": "cloudtrail.amazonaws.com", "source-ip-address": "198.51.100.7", "reason": "PutObject"}})
	}
	f.send(t, queueURL, string(body))
}

func (f *queueFixture) send(t *testing.T, queueURL, body string) string {
	t.Helper()
	out, err := f.sqs.Client().SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: &body})
	if err != nil {
		t.Fatal(err)
	}
	return *out.MessageId
}

// deliveredFrom counts the trail's log files delivered at or after t (from their names).
func (f *queueFixture) deliveredFrom(t time.Time) int {
	n := 0
	for _, key := range f.logs {
		if lf, ok := aws.ParseLogFileKey(key); ok && !lf.DeliveredAt.Before(t) {
			n++
		}
	}
	return n
}

// awaitVisible waits until n messages of the queue are visible: those of a killed run reappear
// once the visibility timeout it last asked for has passed (a minute at most here).
func (f *queueFixture) awaitVisible(t *testing.T, queueURL string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := f.sqs.Visible(context.Background(), queueURL)
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages of the queue visible after a minute, want %d", got, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// queueDepth is how many messages the queue holds, visible or not.
func (f *queueFixture) queueDepth(t *testing.T, queueURL string) int {
	t.Helper()
	n, err := f.sqs.Depth(context.Background(), queueURL)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQueueIngestEqualsListing delivers a multi-account day of trail through the queue in every
// notification form, with duplicates, files notified late, notifications for hours after the run's,
// a test event, digest notifications and a malformed message: two hourly runs build the lake that
// listing builds from the same objects, and the queue ends holding only the malformed message,
// which the run named.
func TestQueueIngestEqualsListing(t *testing.T) {
	f := newQueueFixture(t, 4)
	ctx := context.Background()
	// Hourly runs at hour 20 and 23 of the day, then one 3 hours later: the demo delivers a few
	// files beyond late_margin, which that run's window reaches.
	first, last, next := f.org.WindowStart.Add(20*time.Hour), f.org.WindowEnd.Add(-time.Hour), f.org.WindowEnd.Add(2*time.Hour)
	now := next.Add(2 * time.Hour)
	for _, kv := range f.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}

	listed := f.config(t, "listed", "", 0)
	for _, args := range [][]string{{"--from", hourArg(f.org.WindowStart), "--to", hourArg(first)}, {"--hour", hourArg(last)}, {"--hour", hourArg(next)}} {
		if code, _, stderr := runCLIAt(t, ctx, now, append([]string{"run", "--config", listed, "--no-models"}, args...)...); code != exitOK {
			t.Fatalf("listing run %v: exit %d\n%s", args, code, stderr)
		}
	}

	queueURL, topic := f.newQueue(t, "trail")
	queued := f.config(t, "queued", queueURL, 30*time.Second)
	var late []string
	for i, key := range f.logs {
		if i%37 == 5 { // notified only after the first run: files delivered late
			late = append(late, key)
			continue
		}
		f.notify(t, queueURL, topic, i%forms, key)
		if i%11 == 0 { // SQS delivers at least once; CloudTrail and S3 may both notify
			f.notify(t, queueURL, topic, (i+1)%forms, key)
		}
	}
	f.notify(t, queueURL, topic, viaCloudTrailRaw, f.logs[1], f.logs[2], f.logs[3]) // one message, several files
	for i, key := range f.digests {
		f.notify(t, queueURL, topic, []int{viaS3Event, viaEventBridge}[i%2], key)
	}
	f.send(t, queueURL, `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-07T04:00:00.000Z","Bucket":"`+f.org.TrailBucket+`","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`)
	malformed := f.send(t, queueURL, `{"s3Bucket": "`+f.org.TrailBucket+`", "s3ObjectKey": "AWSLogs/not-a-list.json.gz"}`)

	// check reaches the queue as a run does and finds the subscription, consuming nothing.
	depth := f.queueDepth(t, queueURL)
	code, out, stderr := runCLIAt(t, ctx, now, "check", "--config", f.configTopic(t, "checked", queueURL, topic, 30*time.Second), "--accounts", f.org.Accounts[0].ID)
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s%s", code, out, stderr)
	}
	for _, what := range []string{"sqs:GetQueueAttributes", "dead-letter queue", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sns:ListSubscriptionsByTopic"} {
		if !strings.Contains(out, what) {
			t.Errorf("check does not try %s:\n%s", what, out)
		}
	}
	if n := f.queueDepth(t, queueURL); n != depth {
		t.Errorf("check changed the queue's depth from %d to %d", depth, n)
	}

	code, _, stderr = runCLIAt(t, ctx, now, "run", "--config", queued, "--hour", hourArg(first), "--no-models")
	if code != exitOK {
		t.Fatalf("first queue run: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, malformed) || !strings.Contains(stderr, "s3ObjectKey") {
		t.Errorf("the malformed message %s is not named with its fault:\n%s", malformed, stderr)
	}
	if got := f.queueDepth(t, queueURL); got <= 1 {
		t.Errorf("after the first run the queue holds %d messages: those of hours after %s should wait", got, hourArg(first))
	}
	for i, key := range late {
		f.notify(t, queueURL, topic, i%forms, key)
	}
	for _, hour := range []time.Time{last, next} {
		code, _, stderr = runCLIAt(t, ctx, now, "run", "--config", queued, "--hour", hourArg(hour), "--no-models")
		if code != exitOK {
			t.Fatalf("queue run at %s: exit %d\n%s", hourArg(hour), code, stderr)
		}
	}
	want, got := laketest.FingerprintDir(t, filepath.Join(f.dir, "listed")), laketest.FingerprintDir(t, filepath.Join(f.dir, "queued"))
	if got != want {
		t.Errorf("the lake built from the queue differs from listing's:\n%s\nlisting:\n%s", got, want)
	}
	if n := f.queueDepth(t, queueURL); n != 1 {
		t.Errorf("the queue ends with %d messages, want the malformed one only; the last run:\n%s", n, stderr)
	}

	// Reconciliation: a file the queue never announced is found by listing, and counted.
	missed := f.logs[len(f.logs)/2]
	recon := f.config(t, "reconciled", queueURL, 30*time.Second)
	for i, key := range f.logs {
		if key != missed {
			f.notify(t, queueURL, topic, i%forms, key)
		}
	}
	for _, hour := range []time.Time{first, last, next} {
		if code, _, stderr := runCLIAt(t, ctx, now, "run", "--config", recon, "--hour", hourArg(hour), "--no-models"); code != exitOK {
			t.Fatalf("queue run: exit %d\n%s", code, stderr)
		}
	}
	if laketest.FingerprintDir(t, filepath.Join(f.dir, "reconciled")) == want {
		t.Fatal("the lake is complete without the missed file: the test proves nothing")
	}
	code, _, stderr = runCLIAt(t, ctx, now, "run", "--config", recon, "--from", hourArg(f.org.WindowStart), "--to", hourArg(next), "--reconcile", "--no-models")
	if code != exitOK {
		t.Fatalf("reconcile: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "reconcile") || !strings.Contains(stderr, missed) || !strings.Contains(stderr, `"files":1`) {
		t.Errorf("reconcile does not name the missed file %s:\n%s", missed, stderr)
	}
	if got := laketest.FingerprintDir(t, filepath.Join(f.dir, "reconciled")); got != want {
		t.Errorf("after reconciling, the lake differs from listing's:\n%s\nlisting:\n%s", got, want)
	}
}

// TestQueueSIGKILLAtEachStep kills the run at each step of a queue batch — after receiving,
// after committing a group's data (its ledger records not written), before deleting the
// messages — and reruns it once the messages reappear: the lake is the same, nothing lost and
// nothing doubled, and the queue ends empty.
func TestQueueSIGKILLAtEachStep(t *testing.T) {
	f := newQueueFixture(t, 3)
	hour := f.org.WindowEnd.Add(-time.Hour)
	args := func(cfg string) []string {
		return []string{"run", "--config", cfg, "--hour", hourArg(hour), "--no-models"}
	}
	listed := f.config(t, "listed", "", 0)
	if c := runChild(t, f.env, "run", "--config", listed, "--from", hourArg(f.org.WindowStart), "--to", hourArg(hour), "--no-models"); c.code != exitOK {
		t.Fatalf("listing run: exit %d\n%s", c.code, c.stderr)
	}
	want := laketest.FingerprintDir(t, filepath.Join(f.dir, "listed"))
	const visibility = 3 * time.Second
	for _, at := range []string{"queue-after-receive", "after-data", "after-data:5", "queue-before-delete"} {
		t.Run(at, func(t *testing.T) {
			name := strings.ReplaceAll(at, ":", "-")
			queueURL, topic := f.newQueue(t, name)
			cfg := f.config(t, name, queueURL, visibility)
			for i, key := range f.logs {
				f.notify(t, queueURL, topic, i%forms, key)
			}
			c := runChild(t, append(slices.Clip(f.env), "PERMLAKE_TEST_KILL_AT="+at), args(cfg)...)
			if !c.killed {
				t.Fatalf("PERMLAKE_TEST_KILL_AT=%s: exit %d, not killed\n%s", at, c.code, c.stderr)
			}
			if n := f.queueDepth(t, queueURL); n != len(f.logs) {
				t.Fatalf("killed at %s: the queue holds %d messages, want all %d", at, n, len(f.logs))
			}
			f.awaitVisible(t, queueURL, len(f.logs)) // the killed run's messages reappear
			if c := runChild(t, f.env, args(cfg)...); c.code != exitOK {
				t.Fatalf("rerun after the kill: exit %d\n%s", c.code, c.stderr)
			}
			if got := laketest.FingerprintDir(t, filepath.Join(f.dir, name)); got != want {
				t.Errorf("after SIGKILL at %s and a rerun the lake differs:\n%s\nlisting:\n%s", at, got, want)
			}
			// What stays is for later hours: the demo delivers a few files beyond late_margin.
			if n, later := f.queueDepth(t, queueURL), f.deliveredFrom(hour.Add(time.Hour+2*time.Hour)); n != later || later == 0 {
				t.Errorf("after the rerun the queue holds %d messages, want the %d of files delivered after the run's window", n, later)
			}
		})
	}
}
