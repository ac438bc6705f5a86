package aws

import (
	"context"
	"errors"
	"fmt"
	"io"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/extract"
)

// Check is the outcome of one access the pipeline needs, for `permlake check`.
type Check struct {
	AccountID string
	What      string // the permission or hop tried, e.g. "iam:GetAccountAuthorizationDetails"
	OK        bool
	Detail    string // the error code and message when it failed
}

func checkOf(account, what string, err error) Check {
	c := Check{AccountID: account, What: what, OK: err == nil}
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			c.Detail = api.ErrorCode() + ": " + api.ErrorMessage()
		} else {
			c.Detail = err.Error()
		}
	}
	return c
}

// Check tries every IAM access a snapshot needs, in order, stopping at the first hop that fails:
// the session (assuming the member role), GetAccountAuthorizationDetails, GenerateCredentialReport.
func (s *IAMAPI) Check(ctx context.Context, accountID string) []Check {
	if err := extract.ValidateAccountID(accountID); err != nil {
		return []Check{checkOf(accountID, "account ID", err)}
	}
	cfg, err := s.Session(ctx, accountID)
	if err == nil && cfg.Credentials != nil {
		_, err = cfg.Credentials.Retrieve(ctx)
	}
	out := []Check{checkOf(accountID, "sts:AssumeRole (member role)", err)}
	if err != nil {
		return out
	}
	client := iam.NewFromConfig(cfg, func(o *iam.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = sdkaws.String(expandAccount(s.Endpoint, accountID))
		}
	})
	_, err = client.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{MaxItems: sdkaws.Int32(1)})
	out = append(out, checkOf(accountID, "iam:GetAccountAuthorizationDetails", err))
	_, err = client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
	return append(out, checkOf(accountID, "iam:GenerateCredentialReport", err))
}

// Check tries to list the account's CloudTrail folder in the trail bucket.
func (t *Trail) Check(ctx context.Context, accountID string) Check {
	what := "s3:ListBucket on " + t.accountPrefix(accountID)
	if err := extract.ValidateAccountID(accountID); err != nil {
		return checkOf(accountID, what, err)
	}
	it := t.Bucket.List(&blob.ListOptions{Prefix: t.accountPrefix(accountID)})
	_, err := it.Next(ctx)
	if errors.Is(err, io.EOF) {
		return Check{AccountID: accountID, What: what, OK: false, Detail: "no CloudTrail log files under this prefix"}
	}
	if err != nil {
		return checkOf(accountID, what, fmt.Errorf("list: %w", err))
	}
	return Check{AccountID: accountID, What: what, OK: true}
}

// Check tries every Organizations read a run makes through the organization reader role:
// DescribeOrganization, ListAccounts, ListParents, ListPolicies(SERVICE_CONTROL_POLICY), and
// DescribePolicy and ListTargetsForPolicy on the first policy. Checks are named by the
// management account (or "organization" when even DescribeOrganization fails).
func (o *Organization) Check(ctx context.Context) []Check {
	c := o.client()
	org, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	who := "organization"
	if err == nil && org.Organization != nil {
		who = sdkaws.ToString(org.Organization.MasterAccountId)
	}
	out := []Check{checkOf(who, "organizations:DescribeOrganization", err)}
	if err != nil {
		return out
	}
	accts, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: sdkaws.Int32(1)})
	out = append(out, checkOf(who, "organizations:ListAccounts", err))
	if err == nil && len(accts.Accounts) > 0 {
		_, err = c.ListParents(ctx, &organizations.ListParentsInput{ChildId: accts.Accounts[0].Id})
		out = append(out, checkOf(who, "organizations:ListParents", err))
	}
	pols, err := c.ListPolicies(ctx, &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy, MaxResults: sdkaws.Int32(1)})
	out = append(out, checkOf(who, "organizations:ListPolicies", err))
	if err == nil && len(pols.Policies) > 0 {
		id := pols.Policies[0].Id
		_, err = c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: id})
		out = append(out, checkOf(who, "organizations:DescribePolicy", err))
		_, err = c.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: id, MaxResults: sdkaws.Int32(1)})
		out = append(out, checkOf(who, "organizations:ListTargetsForPolicy", err))
	}
	return out
}

// RequiredActions lists the IAM actions the code calls, by the role that needs them: the member
// reader role (IAMAPI), the trail bucket's reader role (Trail; kms:Decrypt only for an encrypted
// trail), the notification queue's reader (Queue; sns:ListSubscriptionsByTopic only for check) and the management account's organization reader role (Organization). deploy/aws's
// templates are tested against it: keep it in step with the calls.
var RequiredActions = map[string][]string{
	"member": {"iam:GetAccountAuthorizationDetails", "iam:GenerateCredentialReport", "iam:GetCredentialReport"},
	"trail":  {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"},
	// The trail's notification queue (Queue), read by the trail's role unless another is set.
	"queue": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sns:ListSubscriptionsByTopic"},
	"organization": {"organizations:DescribeOrganization", "organizations:ListAccounts", "organizations:ListParents",
		"organizations:DescribeOrganizationalUnit", "organizations:ListPolicies", "organizations:DescribePolicy",
		"organizations:ListTargetsForPolicy"},
}
