package aws

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// Hop is one role assumed on the way to an account's data: the hub role, the member role, the
// log-archive role. Each hop signs its AssumeRole with the previous hop's credentials.
type Hop struct {
	RoleARN     string
	ExternalID  string // not a secret (AWS recommends one per account); never logged anyway
	SessionName string
	Duration    time.Duration // 0: the SDK default (15 min); a chained hop is capped at 1 h by AWS
}

// Endpoints overrides AWS endpoints: tests (MinIO), GovCloud, China, private endpoints.
type Endpoints struct {
	S3          string
	STS         string
	SQS         string
	SNS         string
	S3PathStyle bool // MinIO and most S3-compatible stores want path-style addressing
}

var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

// Validate checks a hop before it is used.
func (h Hop) Validate() error {
	if !roleARNPattern.MatchString(h.RoleARN) {
		return fmt.Errorf("invalid role ARN %q", h.RoleARN)
	}
	if h.Duration != 0 && (h.Duration < 15*time.Minute || h.Duration > 12*time.Hour) {
		return fmt.Errorf("role %s: duration %s outside 15m-12h", h.RoleARN, h.Duration)
	}
	return nil
}

// BaseConfig loads the SDK's default credential chain (environment, shared config and SSO,
// web identity/IRSA, ECS and EC2 instance roles) for region. Credentials never come from
// permlake's own configuration.
func BaseConfig(ctx context.Context, region string) (sdkaws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return sdkaws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// AssumeChain returns a copy of cfg whose credentials are those of the last hop. Every hop's
// credentials are cached and refreshed before they expire (5 minutes ahead), so a run longer
// than a session never fails with ExpiredToken.
func AssumeChain(cfg sdkaws.Config, hops []Hop, ep Endpoints) (sdkaws.Config, error) {
	for _, h := range hops {
		if err := h.Validate(); err != nil {
			return sdkaws.Config{}, err
		}
		client := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if ep.STS != "" {
				o.BaseEndpoint = sdkaws.String(ep.STS)
			}
		})
		provider := stscreds.NewAssumeRoleProvider(client, h.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = h.SessionName
			if o.RoleSessionName == "" {
				o.RoleSessionName = "permlake"
			}
			if h.ExternalID != "" {
				o.ExternalID = sdkaws.String(h.ExternalID)
			}
			if h.Duration > 0 {
				o.Duration = h.Duration
			}
		})
		cfg = cfg.Copy()
		cfg.Credentials = sdkaws.NewCredentialsCache(provider, func(o *sdkaws.CredentialsCacheOptions) {
			o.ExpiryWindow = 5 * time.Minute
			o.ExpiryWindowJitterFrac = 0.2
		})
	}
	return cfg, nil
}

// NewSQSClient returns an SQS client with cfg's credentials in region (cfg's own when empty).
func NewSQSClient(cfg sdkaws.Config, region string, ep Endpoints) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if region != "" {
			o.Region = region
		}
		if ep.SQS != "" {
			o.BaseEndpoint = sdkaws.String(ep.SQS)
		}
	})
}

// SplitS3URL splits s3://name/prefix/ into the bucket's name and key prefix (without slashes at
// either end); both are empty for any other URL.
func SplitS3URL(raw string) (name, prefix string) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return "", ""
	}
	name, prefix, _ = strings.Cut(rest, "/")
	return name, strings.Trim(prefix, "/")
}

// NewSNSClient returns an SNS client with cfg's credentials in region (cfg's own when empty).
func NewSNSClient(cfg sdkaws.Config, region string, ep Endpoints) *sns.Client {
	return sns.NewFromConfig(cfg, func(o *sns.Options) {
		if region != "" {
			o.Region = region
		}
		if ep.SNS != "" {
			o.BaseEndpoint = sdkaws.String(ep.SNS)
		}
	})
}

// OpenS3Bucket opens an S3 bucket ("s3://bucket" or "s3://bucket/prefix/") with cfg's
// credentials through gocloud.dev/blob, so the trail reader works on it unchanged.
func OpenS3Bucket(ctx context.Context, cfg sdkaws.Config, rawURL string, ep Endpoints) (*blob.Bucket, error) {
	name, prefix := SplitS3URL(rawURL)
	if name == "" {
		return nil, fmt.Errorf("%q is not an s3://bucket URL", rawURL)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep.S3 != "" {
			o.BaseEndpoint = sdkaws.String(ep.S3)
		}
		o.UsePathStyle = ep.S3PathStyle
		// Trail objects are read whole and gzip-checked; stores without response checksums
		// (MinIO, some S3-compatibles) must not flood the log with "checksum skipped" lines.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	b, err := s3blob.OpenBucket(ctx, client, name, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rawURL, err)
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	return b, nil
}
