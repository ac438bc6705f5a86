package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/permlake/permlake/extract/aws/awstest"
)

func TestNotifiedFile(t *testing.T) {
	tr := &Trail{Prefix: "org", OrganizationID: "o-abcdefghij", BucketName: "trail-bucket", BucketPrefix: "archive"}
	good := "archive/org/AWSLogs/o-abcdefghij/111122223333/CloudTrail/us-east-1/2026/12/07/111122223333_CloudTrail_us-east-1_20261207T0405Z_AbCd1234.json.gz"
	f, err := tr.NotifiedFile("trail-bucket", good)
	if err != nil {
		t.Fatal(err)
	}
	if f.Key != strings.TrimPrefix(good, "archive/") || f.AccountID != "111122223333" || f.Region != "us-east-1" || !f.DeliveredAt.Equal(time.Date(2026, 12, 7, 4, 5, 0, 0, time.UTC)) || f.Version != "" {
		t.Fatalf("NotifiedFile = %+v", f)
	}
	for _, c := range []struct {
		bucket, key string
		want        error  // errors.Is target, nil: a plain error
		mention     string // in the message
	}{
		{"other-bucket", good, nil, `bucket "other-bucket"`},
		{"trail-bucket", "elsewhere/" + strings.TrimPrefix(good, "archive/"), ErrOutsideTrail, "archive/"},
		{"trail-bucket", strings.Replace(good, "o-abcdefghij", "o-zzzzzzzzzz", 1), ErrOutsideTrail, "o-abcdefghij"},
		{"trail-bucket", strings.Replace(good, "2026/12/07", "2026/12/06", 1), ErrOutsideTrail, "2026/12/07"},
		{"trail-bucket", "archive/org/AWSLogs/o-abcdefghij/111122223333/CloudTrail-Digest/us-east-1/2026/12/07/111122223333_CloudTrail-Digest_us-east-1_org_us-east-1_20261207T0405Z.json.gz", ErrNotLogFile, "CloudTrail-Digest"},
		{"trail-bucket", "archive/org/AWSLogs/o-abcdefghij/111122223333/CloudTrail-Insight/us-east-1/2026/12/07/111122223333_CloudTrail-Insight_us-east-1_20261207T0405Z_x.json.gz", ErrNotLogFile, "Insight"},
	} {
		_, err := tr.NotifiedFile(c.bucket, c.key)
		switch {
		case err == nil:
			t.Errorf("%s %s: no error", c.bucket, c.key)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.key, err, c.want)
		case c.want == nil && (errors.Is(err, ErrOutsideTrail) || errors.Is(err, ErrNotLogFile)):
			t.Errorf("%s: %v should be a plain error", c.key, err)
		case !strings.Contains(err.Error(), c.mention):
			t.Errorf("%s: %v does not mention %q", c.key, err, c.mention)
		}
	}
}

func TestValidateQueueURL(t *testing.T) {
	for raw, region := range map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/222233334444/permlake-trail": "eu-west-1",
		"https://us-east-2.queue.amazonaws.com/222233334444/q.fifo":       "us-east-2",
		"http://127.0.0.1:4566/000000000000/q":                            "",
	} {
		got, err := ValidateQueueURL(raw)
		if err != nil || got != region {
			t.Errorf("ValidateQueueURL(%q) = %q, %v; want %q", raw, got, err, region)
		}
	}
	for _, raw := range []string{"", "sqs://q", "https://sqs.eu-west-1.amazonaws.com/q", "ftp://x/1/q"} {
		if _, err := ValidateQueueURL(raw); err == nil {
			t.Errorf("ValidateQueueURL(%q): no error", raw)
		}
	}
}

// TestQueueOnMoto drives Queue against a real SQS implementation: receive in tens, hide, hand
// back, delete in batches, and the SNS envelope with raw message delivery off and on.
func TestQueueOnMoto(t *testing.T) {
	srv := awstest.StartSQS(t)
	ctx := context.Background()
	client := srv.Client()
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: sdkaws.String("trail")})
	if err != nil {
		t.Fatal(err)
	}
	q := &Queue{Client: client, URL: *created.QueueUrl, Visibility: 30 * time.Second, Wait: time.Second}
	for i := range 13 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: sdkaws.String(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	var got []Message
	for {
		msgs, err := q.Receive(ctx, 25, q.Visibility)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) > 10 {
			t.Fatalf("one receive returned %d messages", len(msgs))
		}
		if len(msgs) == 0 {
			break
		}
		got = append(got, msgs...)
	}
	if len(got) != 13 || got[0].ID == "" || got[0].Handle == "" || got[0].Receives != 1 {
		t.Fatalf("received %d messages, first %+v", len(got), got[0])
	}
	// Handed back: received again, with a higher receive count.
	if err := q.SetVisibility(ctx, got[:2], 0); err != nil {
		t.Fatal(err)
	}
	again, err := q.Receive(ctx, 10, q.Visibility)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 2 || again[0].Receives != 2 {
		t.Fatalf("after handing back 2: received %+v", again)
	}
	if err := q.Delete(ctx, append(got[2:], again...)); err != nil {
		t.Fatal(err)
	}
	if n, err := srv.Depth(ctx, q.URL); err != nil || n != 0 {
		t.Fatalf("%d messages left after deleting all (%v)", n, err)
	}
	// A stale receipt handle is named, not ignored.
	if err := q.SetVisibility(ctx, []Message{{ID: "m-1", Handle: "not-a-handle"}}, 0); err == nil || !strings.Contains(err.Error(), "m-1") {
		t.Errorf("bad handle: %v", err)
	}

	// Through SNS, as CloudTrail publishes: the envelope, then raw.
	topic, err := srv.SNS().CreateTopic(ctx, &sns.CreateTopicInput{Name: sdkaws.String("cloudtrail")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &q.URL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	key := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/07/111122223333_CloudTrail_us-east-1_20261207T0405Z_AbCd1234.json.gz"
	body := `{"s3Bucket":"trail-bucket","s3ObjectKey":["` + key + `"]}`
	for _, raw := range []string{"false", "true"} {
		sub, err := srv.SNS().Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: sdkaws.String("sqs"),
			Endpoint: sdkaws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]), Attributes: map[string]string{"RawMessageDelivery": raw}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.SNS().Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: sdkaws.String(body)}); err != nil {
			t.Fatal(err)
		}
		msgs, err := q.Receive(ctx, 10, q.Visibility)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("raw %s: received %d messages, %v", raw, len(msgs), err)
		}
		if isEnvelope := strings.Contains(string(msgs[0].Body), `"TopicArn"`); isEnvelope != (raw == "false") {
			t.Fatalf("raw %s: body %s", raw, msgs[0].Body)
		}
		n, err := ParseNotification(msgs[0].Body)
		if err != nil || n.Bucket != "trail-bucket" || !slices.Equal(n.Keys, []string{key}) {
			t.Fatalf("raw %s: ParseNotification = %+v, %v", raw, n, err)
		}
		if err := q.Delete(ctx, msgs); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.SNS().Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn}); err != nil {
			t.Fatal(err)
		}
	}
}
