package aws

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// SQSAPI is the part of the SQS client a Queue uses (the SDK's *sqs.Client).
type SQSAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Queue reads the SQS queue that the trail's log-file notifications reach (CloudTrail's SNS
// topic, S3 event notifications or EventBridge, see ParseNotification). SQS delivers each
// message at least once; a message is only deleted by its reader once what it names is safe,
// so a reader killed midway leaves it to reappear after its visibility timeout.
type Queue struct {
	Client SQSAPI
	URL    string
	// Visibility is the visibility timeout the reader asks for on receive and on every
	// extension, at least: how long a message stays hidden from other readers while this one
	// works, and how soon it reappears if this reader dies.
	Visibility time.Duration
	// Wait is the long-poll wait of each receive (at most 20 s). A receive that waited and got
	// nothing means the queue is drained.
	Wait time.Duration
}

// Message is one received queue message.
type Message struct {
	ID       string
	Handle   string // receipt handle: what deletes it or changes its visibility
	Body     []byte
	Receives int // ApproximateReceiveCount: 1 the first time
}

// queueURLPattern matches https://sqs.<region>.amazonaws.com[.cn]/<account>/<name> and the
// legacy https://<region>.queue.amazonaws.com/… form; other hosts (VPC endpoints, test servers)
// are accepted by ValidateQueueURL without a region.
var queueURLPattern = regexp.MustCompile(`^https://(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?/([0-9]{12})/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$`)

// ValidateQueueURL checks a queue URL before it is used and returns the region it names, if any.
func ValidateQueueURL(raw string) (region string, err error) {
	if m := queueURLPattern.FindStringSubmatch(raw); m != nil {
		if m[1] != "" {
			return m[1], nil
		}
		return m[2], nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Count(strings.Trim(u.Path, "/"), "/") != 1 {
		return "", fmt.Errorf("invalid queue URL %q: want https://sqs.<region>.amazonaws.com/<account>/<queue>", raw)
	}
	return "", nil
}

// Receive takes up to n messages (at most 10, SQS's limit for one call) in one call, hiding
// them for hide.
func (q *Queue) Receive(ctx context.Context, n int, hide time.Duration) ([]Message, error) {
	out, err := q.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &q.URL,
		MaxNumberOfMessages:         int32(min(max(n, 1), 10)),
		VisibilityTimeout:           seconds(hide),
		WaitTimeSeconds:             seconds(min(q.Wait, 20*time.Second)),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", q.URL, err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		rc, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		msgs = append(msgs, Message{ID: sdkaws.ToString(m.MessageId), Handle: sdkaws.ToString(m.ReceiptHandle), Body: []byte(sdkaws.ToString(m.Body)), Receives: rc})
	}
	return msgs, nil
}

// Delete deletes messages, ten per call. Every message SQS did not delete is named in the error.
func (q *Queue) Delete(ctx context.Context, msgs []Message) error {
	return q.batches(msgs, func(chunk []Message) ([]types.BatchResultErrorEntry, error) {
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: sdkaws.String(strconv.Itoa(i)), ReceiptHandle: sdkaws.String(m.Handle)}
		}
		out, err := q.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return nil, fmt.Errorf("delete messages from %s: %w", q.URL, err)
		}
		return out.Failed, nil
	})
}

// SetVisibility hides messages for d more from now (0 makes them visible again at once), ten
// per call. Every message whose visibility was not changed is named in the error.
func (q *Queue) SetVisibility(ctx context.Context, msgs []Message, d time.Duration) error {
	return q.batches(msgs, func(chunk []Message) ([]types.BatchResultErrorEntry, error) {
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: sdkaws.String(strconv.Itoa(i)), ReceiptHandle: sdkaws.String(m.Handle), VisibilityTimeout: seconds(d)}
		}
		out, err := q.Client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return nil, fmt.Errorf("change message visibility in %s: %w", q.URL, err)
		}
		return out.Failed, nil
	})
}

// batches calls fn for msgs ten at a time and joins what failed, naming each message.
func (q *Queue) batches(msgs []Message, fn func([]Message) ([]types.BatchResultErrorEntry, error)) error {
	var errs []error
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		failed, err := fn(chunk)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, f := range failed {
			i, _ := strconv.Atoi(sdkaws.ToString(f.Id))
			id := "?"
			if i >= 0 && i < len(chunk) {
				id = chunk[i].ID
			}
			errs = append(errs, fmt.Errorf("message %s in %s: %s: %s", id, q.URL, sdkaws.ToString(f.Code), sdkaws.ToString(f.Message)))
		}
	}
	return errors.Join(errs...)
}

// SNSAPI is the part of the SNS client Check uses.
type SNSAPI interface {
	ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
}

// Check tries what a run does with the queue without consuming a message: read its attributes
// (its ARN and whether a dead-letter queue takes what keeps failing), receive with a zero
// visibility timeout (a message received stays visible to the next run), change a message's
// visibility and delete one (with the received message's handle, handing it straight back, or
// with a handle SQS refuses as invalid, which it says only once the caller is authorized), and,
// when topic is set (topicClient may then not be nil), that the topic has a subscription
// delivering to the queue. Checks are named by who (the log-archive account).
func (q *Queue) Check(ctx context.Context, who string, topicClient SNSAPI, topic string) []Check {
	attrs, err := q.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &q.URL,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn, types.QueueAttributeNameRedrivePolicy}})
	out := []Check{checkOf(who, "sqs:GetQueueAttributes on "+q.URL, err)}
	if err != nil {
		return out
	}
	arn := attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
	if attrs.Attributes[string(types.QueueAttributeNameRedrivePolicy)] == "" {
		out = append(out, Check{AccountID: who, What: "dead-letter queue of " + arn, Detail: "no redrive policy: a message that can never be processed is received again forever"})
	} else {
		out = append(out, Check{AccountID: who, What: "dead-letter queue of " + arn, OK: true})
	}
	got, err := q.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &q.URL, MaxNumberOfMessages: 1, VisibilityTimeout: 0, WaitTimeSeconds: 0})
	out = append(out, checkOf(who, "sqs:ReceiveMessage", err))
	handle, received := "permlake-check-invalid-handle", false
	if err == nil && len(got.Messages) > 0 {
		handle, received = sdkaws.ToString(got.Messages[0].ReceiptHandle), true
	}
	_, err = q.Client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &q.URL,
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{{Id: sdkaws.String("0"), ReceiptHandle: &handle, VisibilityTimeout: 0}}})
	out = append(out, checkOf(who, "sqs:ChangeMessageVisibility", err))
	if received {
		// Deleting a real message would lose it: a handle SQS refuses tests the permission alone.
		handle = "permlake-check-invalid-handle"
	}
	_, err = q.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q.URL, ReceiptHandle: &handle})
	if isInvalidHandle(err) {
		err = nil
	}
	out = append(out, checkOf(who, "sqs:DeleteMessage", err))
	if topic == "" {
		return out
	}
	what := "sns:ListSubscriptionsByTopic: " + topic + " delivers to " + arn
	var next *string
	for {
		page, err := topicClient.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: &topic, NextToken: next})
		if err != nil {
			return append(out, checkOf(who, what, err))
		}
		for _, s := range page.Subscriptions {
			if sdkaws.ToString(s.Protocol) == "sqs" && sdkaws.ToString(s.Endpoint) == arn {
				if sa := sdkaws.ToString(s.SubscriptionArn); sa == "PendingConfirmation" {
					return append(out, Check{AccountID: who, What: what, Detail: "the subscription is pending confirmation"})
				}
				return append(out, Check{AccountID: who, What: what, OK: true})
			}
		}
		if next = page.NextToken; next == nil {
			return append(out, Check{AccountID: who, What: what, Detail: "no subscription of the topic delivers to the queue"})
		}
	}
}

// isInvalidHandle tells SQS's refusal of a receipt handle, which it gives only to an authorized
// caller.
func isInvalidHandle(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && strings.Contains(api.ErrorCode(), "ReceiptHandleIsInvalid")
}

func seconds(d time.Duration) int32 { return int32((d + time.Second - 1) / time.Second) }
