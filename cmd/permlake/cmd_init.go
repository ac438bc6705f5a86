package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
)

// starterConfig is what `permlake init` writes: an AWS organization read through its management
// account's organization reader role, with CloudTrail in a log-archive account, and an Azure
// tenant. Every key is one Config decodes (TestInitWritesAValidConfig loads it with the real
// loader); the IDs and names are placeholders to replace. The roles are those the templates in
// deploy/aws create.
const starterConfig = `# permlake configuration: a starter written by "permlake init". Replace the placeholders
# (111111111111, 222222222222, o-exampleorgid, 00000000-…) with your own IDs and names; delete
# the part of the cloud you do not use. Every key is documented in the README's Configuration
# table. Secrets never go here: AWS credentials come from the SDK's default chain (environment,
# profile, instance or pod role), Azure ones from azidentity (see azure.tenants below).
# Environment variables override any key: PERMLAKE_LAKE, PERMLAKE_AWS_TRAIL_URL, ...

# Where the Parquet lake lives: a local directory (file://), s3://bucket/prefix or
# azblob://container/prefix (with lake_azure.url).
lake: file://./lake
# The DuckDB file the models build and analysts query (permlake sql) and BI reads.
warehouse: ./warehouse.duckdb
# The usage window: a permission not used in this many days is "unused".
lookback_days: 90
# Accounts and subscriptions collected in parallel.
concurrency: 4

aws:
  region: us-east-1
  # aws, aws-us-gov or aws-cn (the partition of the role ARNs).
  partition: aws

  # Account discovery and service control policies: the organization reader role in the
  # management account (deploy/aws/organization-reader-role.yaml). Every ACTIVE account joins
  # the run; include/exclude narrow them by account ID or OU path.
  organization:
    role:
      arn: arn:aws:iam::111111111111:role/permlake-organization-reader
      external_id: permlake
    exclude: []

  # The reader role assumed in every member account to read IAM
  # (deploy/aws/member-reader-role.yaml): arn:<partition>:iam::<account>:role/<name>.
  member_role:
    name: permlake-reader
    external_id: permlake
    duration: 1h

  # The organization trail's bucket in the log-archive account, read through that account's
  # reader role (deploy/aws/log-archive-reader-role.yaml).
  trail:
    url: s3://aws-controltower-logs-222222222222-us-east-1
    prefix: o-exampleorgid
    organization_id: o-exampleorgid
    role:
      arn: arn:aws:iam::222222222222:role/permlake-log-archive-reader
      external_id: permlake
    # Data-event classes the trail logs (s3, lambda, dynamodb, sqs, sns, kinesis): without
    # them those actions are "unknown", never "unused".
    data_events: []
    # Services whose events the trail excludes (e.g. kms): their actions are "unknown".
    excluded_services: []

  # Accounts to read besides those the organization lists (IDs quoted: 12 digits, leading
  # zeros kept), e.g.
  #   - {id: "333333333333", name: sandbox}
  accounts: []

azure:
  # The tenant and the identity that reads it (deploy/azure/setup-collector.sh). kind is
  # default, client_secret (the secret from $AZURE_CLIENT_SECRET, or the variable secret_env
  # names), client_certificate, managed_identity, workload_identity or azure_cli.
  tenants:
    - id: 00000000-0000-0000-0000-000000000000
      credential:
        kind: workload_identity
        client_id: 00000000-0000-0000-0000-000000000001
  # Which subscriptions: every one the identity can read, or a static list of IDs.
  discovery:
    discover: true
    static: []
  # The storage account the diagnostic settings export the Activity Log and Entra ID logs to
  # (deploy/azure/diagnostic-settings.sh).
  logs:
    url: https://permlakelogs.blob.core.windows.net
`

func newInitCmd(a *app) *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter permlake.yaml for an AWS organization and an Azure tenant",
		Long: `init writes a starter configuration (default ./permlake.yaml): an AWS organization read
through its management account's organization reader role, CloudTrail from the organization
trail in the log-archive account, the member reader role, and an Azure tenant with its
subscriptions and log exports. Replace the placeholders, then check it with permlake check.
An existing file is kept unless --force.` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return withCode(exitUsage, fmt.Errorf("%s exists: keep it, or write over it with --force", out))
			}
			if err != nil {
				return err
			}
			if _, err := f.WriteString(starterConfig); err != nil {
				f.Close()
				return fmt.Errorf("write %s: %w", out, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			fmt.Fprintf(a.stdout, "wrote %s: replace its placeholders, then run permlake check\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "permlake.yaml", "file to write")
	cmd.Flags().BoolVar(&force, "force", false, "write over an existing file")
	return cmd
}
