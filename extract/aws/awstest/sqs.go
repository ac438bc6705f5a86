package awstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS is a running moto server (github.com/getmoto/moto, the AWS service emulator the botocore
// project's own tests use) serving SQS and SNS on 127.0.0.1. It speaks SQS's AWS JSON 1.0
// protocol, which the aws-sdk-go-v2 SQS client permlake ships uses (goaws 0.4, the other
// candidate, only speaks the older query protocol), and delivers SNS publications to subscribed
// queues with or without raw message delivery, as SNS does.
type SQS struct {
	Endpoint string
}

// SQSBinary finds moto's server: $PERMLAKE_MOTO, then moto_server on PATH. `make tools` installs
// it (Debian's python3-moto) when the machine has none.
func SQSBinary() (string, error) {
	if p := os.Getenv("PERMLAKE_MOTO"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("moto_server")
	if err != nil {
		return "", fmt.Errorf("moto_server not found (run `make tools`, or set PERMLAKE_MOTO): %w", err)
	}
	return p, nil
}

// StartSQS starts a moto server on 127.0.0.1 and stops it when the test ends. A missing server
// fails the test.
func StartSQS(t *testing.T) *SQS {
	t.Helper()
	s, stop, err := RunSQS(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// RunSQS starts a moto server on 127.0.0.1 logging to logPath, for programs other than tests
// (the benchmark); stop ends it.
func RunSQS(logPath string) (_ *SQS, stop func(), _ error) {
	bin, err := SQSBinary()
	if err != nil {
		return nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	s := &SQS{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port)}
	stop, err = startServer(exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port)), logPath, s.Endpoint+"/moto-api/data.json", "moto")
	return s, stop, err
}

// Config is an SDK configuration whose static test credentials moto accepts (it checks none).
func (s *SQS) Config() sdkaws.Config {
	return sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("permlaketest", "permlaketest-secret", "")}
}

// Client is an SQS client for setting up fixtures.
func (s *SQS) Client() *sqs.Client {
	return sqs.NewFromConfig(s.Config(), func(o *sqs.Options) { o.BaseEndpoint = sdkaws.String(s.Endpoint) })
}

// SNS is an SNS client for setting up fixtures.
func (s *SQS) SNS() *sns.Client {
	return sns.NewFromConfig(s.Config(), func(o *sns.Options) { o.BaseEndpoint = sdkaws.String(s.Endpoint) })
}

// Depth is how many messages the queue holds, visible or not.
func (s *SQS) Depth(ctx context.Context, queueURL string) (int, error) {
	return s.count(ctx, queueURL, sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
}

// Visible is how many messages the queue holds that a receive can take now.
func (s *SQS) Visible(ctx context.Context, queueURL string) (int, error) {
	return s.count(ctx, queueURL, sqstypes.QueueAttributeNameApproximateNumberOfMessages)
}

// count sums the queue's count attributes names.
func (s *SQS) count(ctx context.Context, queueURL string, names ...sqstypes.QueueAttributeName) (int, error) {
	out, err := s.Client().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &queueURL, AttributeNames: names})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		k, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("queue attribute %q: %w", v, err)
		}
		n += k
	}
	return n, nil
}
