package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/extract"
)

// IAMAPI takes snapshots from the IAM API of each account, through the account's own session
// (typically the member reader role assumed over the collector's base credentials).
type IAMAPI struct {
	// Session returns the AWS configuration for an account (credentials of its reader role).
	Session func(ctx context.Context, accountID string) (sdkaws.Config, error)
	// Endpoint overrides the IAM endpoint (tests, GovCloud, China, private endpoints); a
	// "{account}" in it is replaced by the account ID.
	Endpoint string
	// ReportWait bounds how long the credential report may take to generate (default 2 min).
	ReportWait time.Duration
	// Poll is the first wait between GetCredentialReport attempts (default 2 s, doubling).
	Poll time.Duration
}

// iamAPI is the narrow slice of the IAM client the snapshot uses (tests can fake it).
type iamAPI interface {
	GetAccountAuthorizationDetails(context.Context, *iam.GetAccountAuthorizationDetailsInput, ...func(*iam.Options)) (*iam.GetAccountAuthorizationDetailsOutput, error)
	GenerateCredentialReport(context.Context, *iam.GenerateCredentialReportInput, ...func(*iam.Options)) (*iam.GenerateCredentialReportOutput, error)
	GetCredentialReport(context.Context, *iam.GetCredentialReportInput, ...func(*iam.Options)) (*iam.GetCredentialReportOutput, error)
}

// gaadPage is a GetAccountAuthorizationDetails page in the API's field names: the SDK's types
// carry exactly those names, and policy documents stay URL-encoded as the API returns them, so
// the same transform reads API snapshots and exported ones.
type gaadPage struct {
	UserDetailList  []types.UserDetail
	GroupDetailList []types.GroupDetail
	RoleDetailList  []types.RoleDetail
	Policies        []types.ManagedPolicyDetail
	IsTruncated     bool
	Marker          *string
}

// Snapshot implements IAMSource: every GetAccountAuthorizationDetails page (IsTruncated/Marker)
// and the credential report (generated, polled, fetched). Throttling is retried by the SDK's
// retryer; errors name the account and the call.
func (s *IAMAPI) Snapshot(ctx context.Context, accountID string) (*IAMSnapshot, error) {
	if err := extract.ValidateAccountID(accountID); err != nil {
		return nil, err
	}
	cfg, err := s.Session(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("account %s: session: %w", accountID, err)
	}
	client := iam.NewFromConfig(cfg, func(o *iam.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = sdkaws.String(expandAccount(s.Endpoint, accountID))
		}
	})
	return s.snapshot(ctx, client, accountID)
}

func expandAccount(endpoint, accountID string) string {
	return strings.ReplaceAll(endpoint, "{account}", accountID)
}

func (s *IAMAPI) snapshot(ctx context.Context, client iamAPI, accountID string) (*IAMSnapshot, error) {
	snap := &IAMSnapshot{AccountID: accountID, SourceKey: "iam:GetAccountAuthorizationDetails/" + accountID + "/"}
	p := iam.NewGetAccountAuthorizationDetailsPaginator(client, &iam.GetAccountAuthorizationDetailsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("account %s: GetAccountAuthorizationDetails page %d: %w", accountID, len(snap.GAADPages)+1, err)
		}
		b, err := json.Marshal(gaadPage{UserDetailList: out.UserDetailList, GroupDetailList: out.GroupDetailList,
			RoleDetailList: out.RoleDetailList, Policies: out.Policies, IsTruncated: out.IsTruncated, Marker: out.Marker})
		if err != nil {
			return nil, err
		}
		snap.GAADPages = append(snap.GAADPages, b)
	}
	report, err := s.credentialReport(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("account %s: credential report: %w", accountID, err)
	}
	snap.CredentialReport = report
	return snap, nil
}

// credentialReport asks IAM to generate the report (it reuses one younger than 4 hours) and
// fetches it once ready.
func (s *IAMAPI) credentialReport(ctx context.Context, client iamAPI) ([]byte, error) {
	wait, poll := s.ReportWait, s.Poll
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	if poll <= 0 {
		poll = 2 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		gen, err := client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			return nil, fmt.Errorf("GenerateCredentialReport: %w", err)
		}
		if gen.State == types.ReportStateTypeComplete {
			out, err := client.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
			var notReady *types.CredentialReportNotReadyException
			switch {
			case err == nil:
				return out.Content, nil
			case !errors.As(err, &notReady):
				return nil, fmt.Errorf("GetCredentialReport: %w", err)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not ready after %s", wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, 15*time.Second)
	}
}
