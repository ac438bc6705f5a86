package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/permlake/permlake/extract/aws"
)

// slowSQS is an in-memory queue with SQS's visibility semantics (a received message is hidden
// for the timeout asked for, in whole seconds; only its latest receipt handle changes it) whose
// every call takes latency: an endpoint far away, or one as slow as moto under load.
type slowSQS struct {
	aws.SQSAPI // calls the drain does not make
	latency    time.Duration

	mu   sync.Mutex
	msgs []*slowMessage
}

type slowMessage struct {
	id, body, handle string
	visibleAt        time.Time
	receives         int
}

func (q *slowSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	time.Sleep(q.latency)
	q.mu.Lock()
	defer q.mu.Unlock()
	now, out := time.Now(), &sqs.ReceiveMessageOutput{}
	for _, m := range q.msgs {
		if len(out.Messages) == int(in.MaxNumberOfMessages) {
			break
		}
		if now.Before(m.visibleAt) {
			continue
		}
		m.receives++
		m.handle = fmt.Sprintf("%s/%d", m.id, m.receives)
		m.visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
		out.Messages = append(out.Messages, sqstypes.Message{MessageId: sdkaws.String(m.id), ReceiptHandle: sdkaws.String(m.handle), Body: sdkaws.String(m.body),
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)}})
	}
	return out, nil
}

func (q *slowSQS) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	time.Sleep(q.latency)
	q.mu.Lock()
	defer q.mu.Unlock()
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		ok := false
		for _, m := range q.msgs {
			if m.handle == sdkaws.ToString(e.ReceiptHandle) {
				m.visibleAt, ok = time.Now().Add(time.Duration(e.VisibilityTimeout)*time.Second), true
			}
		}
		if !ok {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: sdkaws.String("ReceiptHandleIsInvalid")})
		}
	}
	return out, nil
}

// visible is how many messages a receive could take now.
func (q *slowSQS) visible() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, m := range q.msgs {
		if !time.Now().Before(m.visibleAt) {
			n++
		}
	}
	return n
}

// TestQueueRenewalKeepsUpWithSlowCalls: when renewing every held message takes longer than the
// visibility timeout (here 300 messages, 30 calls of 60 ms against 1 s), the drain still
// receives each message once and keeps all of them hidden while the run works. Renewing all of
// them every tick with the configured timeout let messages reappear midway, and a drain that
// receives again what it holds ran until max_duration (moto, in TestQueueSIGKILLAtEachStep).
func TestQueueRenewalKeepsUpWithSlowCalls(t *testing.T) {
	const n = 300
	fake := &slowSQS{latency: 60 * time.Millisecond}
	for i := range n {
		// Not a notification: each is held as malformed until settle, as a real batch is.
		fake.msgs = append(fake.msgs, &slowMessage{id: fmt.Sprintf("m-%03d", i), body: "not a notification"})
	}
	q := &aws.Queue{Client: fake, URL: "http://127.0.0.1/123456789012/q", Visibility: time.Second, Wait: 0}
	qc := QueueConfig{MaxMessages: 100000, MaxDuration: time.Minute, VisibilityTimeout: time.Second}
	b, err := drainQueue(context.Background(), q, nil, nil, window{}, qc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.stop()
	if b.Received != n || b.Again != 0 || len(b.bad) != n {
		t.Fatalf("drained %d messages (%d received again, %d held as malformed), want each of the %d once", b.Received, b.Again, len(b.bad), n)
	}
	// The run works on for several timeouts: nothing may reappear meanwhile.
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if v := fake.visible(); v != 0 {
			t.Fatalf("%d of the %d held messages visible again while the run works", v, n)
		}
	}
}
