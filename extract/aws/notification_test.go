package aws

import (
	"reflect"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
)

// Shape: AWS CloudTrail User Guide, "Configuring Amazon SNS notifications for CloudTrail"
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/configure-sns-notifications-for-cloudtrail.html),
// the single-file and the multi-file examples of the Message field.
const (
	ctOneFile = `{
    "s3Bucket": "your-bucket-name","s3ObjectKey": ["AWSLogs/123456789012/CloudTrail/us-east-2/2013/12/13/123456789012_CloudTrail_us-west-2_20131213T1920Z_LnPgDQnpkSKEsppV.json.gz"]
}`
	ctThreeFiles = `{
    "s3Bucket": "your-bucket-name",
    "s3ObjectKey": [
        "AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2215Z_kpaMYavMQA9Ahp7L.json.gz",
        "AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2210Z_zqDkyQv3TK8ZdLr0.json.gz",
        "AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2205Z_jaMVRa6JfdLCJYHP.json.gz"
    ]
}`
)

// Shape: Amazon S3 User Guide, "Event message structure"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
// "Example message when an object is created using a PUT request".
const s3PutExample = `{  
   "Records":[  
      {  
         "eventVersion":"2.1",
         "eventSource":"aws:s3",
         "awsRegion":"us-west-2",
         "eventTime":"1970-01-01T00:00:00.000Z",
         "eventName":"ObjectCreated:Put",
         "userIdentity":{  
            "principalId":"AIDAJDPLRKLG7UEXAMPLE"
         },
         "requestParameters":{  
            "sourceIPAddress":"127.0.0.1"
         },
         "responseElements":{  
            "x-amz-request-id":"C3D13FE58DE4C810",
            "x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
         },
         "s3":{  
            "s3SchemaVersion":"1.0",
            "configurationId":"testConfigRule",
            "bucket":{  
               "name":"mybucket",
               "ownerIdentity":{  
                  "principalId":"A3NL1KOZZKExample"
               },
               "arn":"arn:aws:s3:::mybucket"
            },
            "object":{  
               "key":"HappyFace.jpg",
               "size":1024,
               "eTag":"d41d8cd98f00b204e9800998ecf8427e",
               "versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko",
               "sequencer":"0055AED6DCD90281E5"
            }
         }
      }
   ]
}`

// Shape: Amazon S3 User Guide, "Event message structure"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
// "Amazon S3 test message".
const s3TestEvent = `{  
   "Service":"Amazon S3",
   "Event":"s3:TestEvent",
   "Time":"2014-10-13T15:57:02.089Z",
   "Bucket":"bucketname",
   "RequestId":"5582815E1AEA5ADF",
   "HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"
}`

// s3EventRecord returns one S3 event notification record shaped like the PUT example above
// (same page), with the given bucket, eventName and (already URL-encoded) key.
func s3EventRecord(bucket, eventName, key string) string {
	r := strings.NewReplacer("BUCKET", bucket, "EVENT", eventName, "KEY", key)
	return r.Replace(`{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",` +
		`"eventTime":"2026-12-07T10:20:00.000Z","eventName":"EVENT",` +
		`"userIdentity":{"principalId":"AWS:AROAEXAMPLE:regionalDeliverySession"},` +
		`"requestParameters":{"sourceIPAddress":"10.0.0.1"},` +
		`"responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},` +
		`"s3":{"s3SchemaVersion":"1.0","configurationId":"cloudtrail-logs",` +
		`"bucket":{"name":"BUCKET","ownerIdentity":{"principalId":"A3NL1KOZZKExample"},"arn":"arn:aws:s3:::BUCKET"},` +
		`"object":{"key":"KEY","size":2048,"eTag":"d41d8cd98f00b204e9800998ecf8427e","sequencer":"0055AED6DCD90281E5"}}}`)
}

func s3Event(records ...string) string {
	return `{"Records":[` + strings.Join(records, ",") + `]}`
}

// Shape: Amazon S3 User Guide, "EventBridge event message structure"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html), "Object created"
// and "Object deleted (using DeleteObject)".
const (
	ebObjectCreated = `{
  "version": "0",
  "id": "17793124-05d4-b198-2fde-7ededc63b103",
  "detail-type": "Object Created",
  "source": "aws.s3",
  "account": "111122223333",
  "time": "2021-11-12T00:00:00Z",
  "region": "ca-central-1",
  "resources": [
    "arn:aws:s3:::amzn-s3-demo-bucket1"
  ],
  "detail": {
    "version": "0",
    "bucket": {
      "name": "amzn-s3-demo-bucket1"
    },
    "object": {
      "key": "example-key",
      "size": 5,
      "etag": "b1946ac92492d2347c6235b4d2611184",
      "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
      "sequencer": "617f08299329d189"
    },
    "request-id": "N4N7GDK58NMKJ12R",
    "requester": "123456789012",
    "source-ip-address": "1.2.3.4",
    "reason": "PutObject"
  }
}`
	ebObjectDeleted = `{
  "version": "0",
  "id": "2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
  "detail-type": "Object Deleted",
  "source": "aws.s3",
  "account": "111122223333",
  "time": "2021-11-12T00:00:00Z",
  "region": "ca-central-1",
  "resources": [
    "arn:aws:s3:::amzn-s3-demo-bucket1"
  ],
  "detail": {
    "version": "0",
    "bucket": {
      "name": "amzn-s3-demo-bucket1"
    },
    "object": {
      "key": "example-key",
      "etag": "d41d8cd98f00b204e9800998ecf8427e",
      "version-id": "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
      "sequencer": "617f0837b476e463"
    },
    "request-id": "0BH729840619AG5K",
    "requester": "123456789012",
    "source-ip-address": "1.2.3.4",
    "reason": "DeleteObject",
    "deletion-type": "Delete Marker Created"
  }
}`
)

// Shape: Amazon SNS Developer Guide, "Fanout to Amazon SQS queues"
// (https://docs.aws.amazon.com/sns/latest/dg/SendMessageToSQS.html) for the envelope SNS puts
// in the queue, and "Amazon SNS raw message delivery"
// (https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html):
// with raw delivery off the published message is this envelope's Message string; with it on,
// the queue gets the published message itself (the unwrapped fixtures above).
func snsWrap(t testing.TB, message string) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Type             string
		MessageId        string
		TopicArn         string
		Subject          string
		Message          string
		Timestamp        string
		SignatureVersion string
		Signature        string
		SigningCertURL   string
		UnsubscribeURL   string
	}{
		Type:             "Notification",
		MessageId:        "63a3f6b6-d533-4a47-aef9-fcf5cf758c76",
		TopicArn:         "arn:aws:sns:us-west-2:123456789012:MyTopic",
		Subject:          "Testing publish to subscribed queues",
		Message:          message,
		Timestamp:        "2012-03-29T05:12:16.901Z",
		SignatureVersion: "1",
		Signature:        "EXAMPLEnTrFPa3...",
		SigningCertURL:   "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
		UnsubscribeURL:   "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c7fe3a54-ab0e-4ec2-88e0-db410a0f2bee",
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Shape: Amazon SNS Developer Guide, "HTTP/HTTPS subscription confirmation JSON format"
// (https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html) and
// "HTTP/HTTPS unsubscribe confirmation JSON format"
// (https://docs.aws.amazon.com/sns/latest/dg/http-unsubscribe-confirmation-json.html).
const (
	snsSubscriptionConfirmation = `{
  "Type" : "SubscriptionConfirmation",
  "MessageId" : "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
  "Token" : "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
  "TopicArn" : "arn:aws:sns:us-west-2:123456789012:MyTopic",
  "Message" : "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
  "SubscribeURL" : "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37...",
  "Timestamp" : "2012-04-26T20:45:04.751Z",
  "SignatureVersion" : "1",
  "Signature" : "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
  "SigningCertURL" : "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
}`
	snsUnsubscribeConfirmation = `{
  "Type" : "UnsubscribeConfirmation",
  "MessageId" : "47138184-6831-46b8-8f7c-afc488602d7d",
  "Token" : "2336412f37...",
  "TopicArn" : "arn:aws:sns:us-west-2:123456789012:MyTopic",
  "Message" : "You have chosen to deactivate subscription arn:aws:sns:us-west-2:123456789012:MyTopic:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
  "SubscribeURL" : "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412fff...",
  "Timestamp" : "2012-04-26T20:06:41.581Z",
  "SignatureVersion" : "1",
  "Signature" : "EXAMPLEHXgJm...",
  "SigningCertURL" : "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
}`
)

const (
	trailBucket = "org-trail-logs"
	// encodedKey is a CloudTrail log key as an S3 event carries it: '+' is a space, %2B a '+'.
	encodedKey = "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/12/07/a%2Bb+c.json.gz"
	decodedKey = "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/12/07/a+b c.json.gz"
)

type notificationCase struct {
	name    string
	body    string
	want    Notification
	wantErr []string // substrings the error must contain; nil means success
}

func notificationCases(t testing.TB) []notificationCase {
	ebRawKey := strings.Replace(ebObjectCreated, `"example-key"`, `"`+decodedKey+`"`, 1)
	return []notificationCase{
		// 1. CloudTrail's own notification, with raw delivery on (or SQS subscribed directly)…
		{name: "cloudtrail one file", body: ctOneFile, want: Notification{Bucket: "your-bucket-name", Keys: []string{
			"AWSLogs/123456789012/CloudTrail/us-east-2/2013/12/13/123456789012_CloudTrail_us-west-2_20131213T1920Z_LnPgDQnpkSKEsppV.json.gz"}}},
		{name: "cloudtrail three files", body: ctThreeFiles, want: Notification{Bucket: "your-bucket-name", Keys: []string{
			"AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2215Z_kpaMYavMQA9Ahp7L.json.gz",
			"AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2210Z_zqDkyQv3TK8ZdLr0.json.gz",
			"AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2205Z_jaMVRa6JfdLCJYHP.json.gz"}}},
		{name: "cloudtrail keys are not URL-decoded", body: `{"s3Bucket":"b","s3ObjectKey":["` + encodedKey + `"]}`,
			want: Notification{Bucket: "b", Keys: []string{encodedKey}}},
		// 2. … and in an SNS envelope (raw delivery off).
		{name: "cloudtrail through SNS", body: snsWrap(t, ctOneFile), want: Notification{Bucket: "your-bucket-name", Keys: []string{
			"AWSLogs/123456789012/CloudTrail/us-east-2/2013/12/13/123456789012_CloudTrail_us-west-2_20131213T1920Z_LnPgDQnpkSKEsppV.json.gz"}}},
		{name: "SNS subscription confirmation", body: snsSubscriptionConfirmation, want: Notification{Ignored: "SNS SubscriptionConfirmation"}},
		{name: "SNS unsubscribe confirmation", body: snsUnsubscribeConfirmation, want: Notification{Ignored: "SNS UnsubscribeConfirmation"}},

		// 3. S3 event notifications.
		{name: "s3 put example", body: s3PutExample, want: Notification{Bucket: "mybucket", Keys: []string{"HappyFace.jpg"}}},
		{name: "s3 put through SNS", body: snsWrap(t, s3PutExample), want: Notification{Bucket: "mybucket", Keys: []string{"HappyFace.jpg"}}},
		{name: "s3 key is form-decoded", body: s3Event(s3EventRecord(trailBucket, "ObjectCreated:Put", encodedKey)),
			want: Notification{Bucket: trailBucket, Keys: []string{decodedKey}}},
		{name: "s3 doc's red flower", body: s3Event(s3EventRecord("b", "ObjectCreated:Copy", "red+flower.jpg")),
			want: Notification{Bucket: "b", Keys: []string{"red flower.jpg"}}},
		{name: "s3 encoded key through SNS", body: snsWrap(t, s3Event(s3EventRecord(trailBucket, "ObjectCreated:CompleteMultipartUpload", encodedKey))),
			want: Notification{Bucket: trailBucket, Keys: []string{decodedKey}}},
		{name: "s3 records in order, removals skipped", body: s3Event(
			s3EventRecord(trailBucket, "ObjectCreated:Put", "k2%3Dx"),
			s3EventRecord(trailBucket, "ObjectRemoved:Delete", "gone"),
			s3EventRecord(trailBucket, "ObjectCreated:Post", "k1")),
			want: Notification{Bucket: trailBucket, Keys: []string{"k2=x", "k1"}}},
		{name: "s3 only a removal", body: s3Event(s3EventRecord(trailBucket, "ObjectRemoved:Delete", "gone")),
			want: Notification{Ignored: "S3 ObjectRemoved:Delete"}},
		{name: "s3 only removals through SNS", body: snsWrap(t, s3Event(
			s3EventRecord(trailBucket, "ObjectRemoved:Delete", "a"),
			s3EventRecord(trailBucket, "ObjectRemoved:DeleteMarkerCreated", "b"),
			s3EventRecord(trailBucket, "ObjectRemoved:Delete", "c"))),
			want: Notification{Ignored: "S3 ObjectRemoved:Delete, ObjectRemoved:DeleteMarkerCreated"}},

		// 4. The S3 test event.
		{name: "s3 test event", body: s3TestEvent, want: Notification{Ignored: "s3:TestEvent"}},
		{name: "s3 test event through SNS", body: snsWrap(t, s3TestEvent), want: Notification{Ignored: "s3:TestEvent"}},

		// 5. EventBridge.
		{name: "eventbridge object created", body: ebObjectCreated, want: Notification{Bucket: "amzn-s3-demo-bucket1", Keys: []string{"example-key"}}},
		{name: "eventbridge key taken verbatim", body: ebRawKey, want: Notification{Bucket: "amzn-s3-demo-bucket1", Keys: []string{decodedKey}}},
		{name: "eventbridge through SNS", body: snsWrap(t, ebObjectCreated), want: Notification{Bucket: "amzn-s3-demo-bucket1", Keys: []string{"example-key"}}},
		{name: "eventbridge object deleted", body: ebObjectDeleted, want: Notification{Ignored: "EventBridge Object Deleted"}},

		// Errors: the body.
		{name: "not JSON", body: `{"s3Bucket":`, wantErr: []string{"not JSON", `"{\"s3Bucket\":"`}},
		{name: "empty body", body: ``, wantErr: []string{"not JSON"}},
		{name: "array", body: `[{"s3Bucket":"b"}]`, wantErr: []string{"not a JSON object", `found "[{\"s3Bucket\":\"b\"}]"`}},
		{name: "null", body: `null`, wantErr: []string{"not a JSON object", `found "null"`}},
		{name: "unknown shape", body: `{"zeta":1,"alpha":{"x":2}}`, wantErr: []string{"not a known notification", `fields found: "alpha", "zeta"`}},
		{name: "empty object", body: `{}`, wantErr: []string{"not a known notification", "none (empty object)"}},
		{name: "two shapes", body: `{"Records":[],"s3Bucket":"b","s3ObjectKey":["k"]}`, wantErr: []string{"ambiguous", "CloudTrail notification", "S3 event notification"}},
		{name: "deep nesting", body: `{"Records":` + strings.Repeat("[", 200000), wantErr: []string{"not JSON"}},
		{name: "deep nesting, balanced", body: `{"Records":[` + strings.Repeat("[", 100000) + strings.Repeat("]", 100001) + `}`, wantErr: []string{"not JSON", "exceeded max depth"}},
		{name: "huge body is quoted short", body: "x" + strings.Repeat("y", 10000), wantErr: []string{"not JSON", `yyy"…`}},

		// Errors: SNS.
		{name: "SNS Message not a string", body: `{"Type":"Notification","MessageId":"m","Message":{"s3Bucket":"b"}}`,
			wantErr: []string{"SNS Notification", "Message is not a string", `found "{\"s3Bucket\":\"b\"}"`}},
		{name: "SNS Message null", body: `{"Type":"Notification","Message":null}`, wantErr: []string{"Message is not a string", `found "null"`}},
		{name: "SNS Message empty", body: `{"Type":"Notification","Message":""}`, wantErr: []string{"SNS Notification", "Message is empty"}},
		{name: "SNS Message missing", body: `{"Type":"Notification","TopicArn":"arn:aws:sns:us-west-2:123456789012:MyTopic"}`, wantErr: []string{"Message is missing"}},
		{name: "SNS Message plain text", body: snsWrap(t, "Hello world!"), wantErr: []string{"SNS Notification Message: not JSON", `"Hello world!"`}},
		{name: "SNS Type unknown", body: `{"Type":"Bogus","Message":"{}"}`, wantErr: []string{"SNS envelope", `Type "Bogus"`}},
		{name: "SNS Type not a string", body: `{"Type":7,"Message":"{}"}`, wantErr: []string{"SNS envelope", "Type is not a string", `found "7"`}},
		{name: "SNS inside SNS", body: snsWrap(t, snsWrap(t, ctOneFile)), wantErr: []string{"nested inside an SNS envelope"}},
		{name: "SNS inner error has context", body: snsWrap(t, `{"s3Bucket":"","s3ObjectKey":["k"]}`), wantErr: []string{"SNS Notification Message: CloudTrail notification: s3Bucket is empty"}},

		// Errors: CloudTrail.
		{name: "cloudtrail s3Bucket missing", body: `{"s3ObjectKey":["k"]}`, wantErr: []string{"CloudTrail notification", "s3Bucket is missing"}},
		{name: "cloudtrail s3Bucket empty", body: `{"s3Bucket":"","s3ObjectKey":["k"]}`, wantErr: []string{"s3Bucket is empty"}},
		{name: "cloudtrail s3Bucket a number", body: `{"s3Bucket":5,"s3ObjectKey":["k"]}`, wantErr: []string{"s3Bucket is not a string", `found "5"`}},
		{name: "cloudtrail s3ObjectKey missing", body: `{"s3Bucket":"b"}`, wantErr: []string{"s3ObjectKey is missing"}},
		{name: "cloudtrail s3ObjectKey a string", body: `{"s3Bucket":"b","s3ObjectKey":"AWSLogs/k.json.gz"}`, wantErr: []string{"s3ObjectKey is not an array", `found "\"AWSLogs/k.json.gz\""`}},
		{name: "cloudtrail s3ObjectKey null", body: `{"s3Bucket":"b","s3ObjectKey":null}`, wantErr: []string{"s3ObjectKey is not an array"}},
		{name: "cloudtrail s3ObjectKey empty", body: `{"s3Bucket":"b","s3ObjectKey":[]}`, wantErr: []string{"s3ObjectKey is an empty array"}},
		{name: "cloudtrail key empty", body: `{"s3Bucket":"b","s3ObjectKey":["k",""]}`, wantErr: []string{"s3ObjectKey[1] is empty"}},
		{name: "cloudtrail key a number", body: `{"s3Bucket":"b","s3ObjectKey":["k",42]}`, wantErr: []string{"s3ObjectKey[1] is not a string", `found "42"`}},

		// Errors: S3 events.
		{name: "s3 Records not an array", body: `{"Records":{"eventSource":"aws:s3"}}`, wantErr: []string{"S3 event", "Records is not an array"}},
		{name: "s3 Records empty", body: `{"Records":[]}`, wantErr: []string{"Records is an empty array"}},
		{name: "s3 bucket name missing", body: s3Event(s3EventRecord("", "ObjectCreated:Put", "k")), wantErr: []string{"Records[0].s3.bucket.name is missing or empty"}},
		{name: "s3 key missing", body: s3Event(s3EventRecord("b", "ObjectCreated:Put", "k"), strings.Replace(s3EventRecord("b", "ObjectCreated:Put", "k"), `"key":"k",`, "", 1)),
			wantErr: []string{"Records[1].s3.object.key is missing or empty"}},
		{name: "s3 key a number", body: s3Event(strings.Replace(s3EventRecord("b", "ObjectCreated:Put", "k"), `"key":"k"`, `"key":12`, 1)),
			wantErr: []string{"S3 event: Records[0]", "key"}},
		{name: "s3 key bad escape", body: s3Event(s3EventRecord("b", "ObjectCreated:Put", "AWSLogs/a%zzb.json.gz")),
			wantErr: []string{"Records[0].s3.object.key", `"AWSLogs/a%zzb.json.gz"`, "invalid URL escape"}},
		{name: "s3 two buckets", body: s3Event(s3EventRecord("one", "ObjectCreated:Put", "k1"), s3EventRecord("two", "ObjectCreated:Put", "k2")),
			wantErr: []string{"Records[1]", `bucket "two" differs from "one"`}},
		{name: "s3 eventName missing", body: s3Event(strings.Replace(s3EventRecord("b", "ObjectCreated:Put", "k"), `"eventName":"ObjectCreated:Put",`, "", 1)),
			wantErr: []string{"Records[0].eventName is missing or empty"}},
		{name: "a CloudTrail log body is not an S3 event", body: `{"Records":[{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"PutObject"}]}`,
			wantErr: []string{"Records[0].eventSource is \"s3.amazonaws.com\"", `want "aws:s3"`}},

		// Errors: S3 test event and EventBridge.
		{name: "s3 unknown Event", body: `{"Service":"Amazon S3","Event":"s3:Other"}`, wantErr: []string{"S3 test event", `Event is "s3:Other"`}},
		{name: "eventbridge other source", body: strings.Replace(ebObjectCreated, `"aws.s3"`, `"aws.ec2"`, 1), wantErr: []string{"EventBridge event", `source is "aws.ec2"`}},
		{name: "eventbridge key missing", body: strings.Replace(ebObjectCreated, `"key": "example-key",`, "", 1), wantErr: []string{"EventBridge Object Created", "detail.object.key is missing"}},
		{name: "eventbridge bucket missing", body: strings.Replace(ebObjectCreated, `"name": "amzn-s3-demo-bucket1"`, `"name": ""`, 1), wantErr: []string{"detail.bucket.name is missing"}},
		{name: "eventbridge detail missing", body: `{"detail-type":"Object Created","source":"aws.s3"}`, wantErr: []string{"detail is missing"}},
		{name: "eventbridge detail-type not a string", body: `{"detail-type":["Object Created"],"source":"aws.s3"}`, wantErr: []string{"detail-type is not a string"}},
	}
}

func TestParseNotification(t *testing.T) {
	t.Parallel()
	for _, tc := range notificationCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseNotification([]byte(tc.body))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("got %+v, want an error containing %q", got, tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if len(err.Error()) > 700 {
					t.Errorf("error is %d bytes, want input quoted short: %q", len(err.Error()), err)
				}
				if !reflect.DeepEqual(got, Notification{}) {
					t.Errorf("with an error got %+v, want the zero Notification", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseNotification(f *testing.F) {
	for _, tc := range notificationCases(f) {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			return
		}
		if n.Ignored == "" && (len(n.Keys) == 0 || n.Bucket == "") {
			t.Fatalf("%q: nil error but nothing announced and nothing ignored: %+v", body, n)
		}
		for i, k := range n.Keys {
			if k == "" {
				t.Fatalf("%q: Keys[%d] is empty", body, i)
			}
		}
	})
}
