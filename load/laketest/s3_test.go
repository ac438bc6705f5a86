package laketest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/permlake/permlake/extract/aws/awstest"
	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/load/laketest"
)

// TestS3Lake runs the conformance suite on s3:// lakes in a real MinIO server: each lake is a
// prefix of a bucket of its own, opened with a caller-built client; the second Lake value of a
// storage is opened from an AWS configuration instead, the other way Options takes.
func TestS3Lake(t *testing.T) {
	m := awstest.StartMinIO(t)
	client := m.Client()
	cfg := sdkaws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, "")}
	var n atomic.Int64
	open := func(t *testing.T, url string, opts load.Options) *load.Lake {
		l, err := load.OpenWith(context.Background(), url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
		return l
	}
	laketest.Run(t, laketest.Backend{
		New: func(t *testing.T) *load.Lake {
			bucket := fmt.Sprintf("lake-%d", n.Add(1))
			if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: sdkaws.String(bucket)}); err != nil {
				t.Fatalf("create bucket %s: %v", bucket, err)
			}
			l := open(t, "s3://"+bucket+"/team/lake/", load.Options{S3: client})
			if want := "s3://" + bucket + "/team/lake"; l.URL() != want || l.Root() != "" {
				t.Fatalf("URL %q, Root %q; want %q and no local root", l.URL(), l.Root(), want)
			}
			return l
		},
		Again: func(t *testing.T, l *load.Lake) *load.Lake {
			return open(t, l.URL(), load.Options{AWS: &cfg, S3Endpoint: m.Endpoint, S3PathStyle: true})
		},
	})
}
