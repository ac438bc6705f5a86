package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/permlake/permlake/extract/aws"
	"github.com/permlake/permlake/extract/azure"
	"github.com/permlake/permlake/load"
)

// LakeAccess says how permlake reaches an object-store lake (lake: s3://bucket/prefix or
// azblob://container/prefix). Config embeds it, so its keys sit at the top level of the file:
//
//	lake: s3://permlake-lake/prod
//	lake_role: {arn: arn:aws:iam::123456789012:role/PermlakeLakeWriter, external_id: …}
//
//	lake: azblob://lake/prod
//	lake_azure: {url: https://permlakeprod.blob.core.windows.net, tenant_id: …}
//
// Secrets never go here: S3 credentials come from the SDK's default chain (then lake_role, with
// aws.hub_role first when set), a storage key from the environment variable
// lake_azure.shared_key_env, an Entra ID token from azure.tenants' credentials.
type LakeAccess struct {
	// Role, when set, is assumed (through aws.hub_role when configured) to write an s3:// lake;
	// without it the SDK default chain's credentials write it. aws.region,
	// aws.endpoints.s3, aws.endpoints.sts and aws.endpoints.s3_path_style apply.
	Role  RoleConfig      `mapstructure:"lake_role"`
	Azure LakeAzureConfig `mapstructure:"lake_azure"`
}

// LakeAzureConfig locates the storage account of an azblob:// lake and says how to
// authenticate to it, like azure.logs.
type LakeAzureConfig struct {
	// URL is the account's blob endpoint: https://<account>.blob.core.windows.net, or an
	// Azurite URL ending in the account name (http://127.0.0.1:10000/devstoreaccount1).
	URL string `mapstructure:"url"`
	// TenantID is the azure.tenants entry whose credential writes the lake (default: the first).
	TenantID string `mapstructure:"tenant_id"`
	// SharedKeyEnv names an environment variable holding the account key, for accounts reached
	// by shared key (Azurite) rather than Entra ID.
	SharedKeyEnv string `mapstructure:"shared_key_env"`
	// AccountName goes with SharedKeyEnv (default: the URL's last path segment or first host
	// label).
	AccountName string `mapstructure:"account_name"`
}

// openLake opens c.Lake: a local directory, an s3:// lake through the AWS SDK chain (and
// lake_role), or an azblob:// lake through lake_azure.
func openLake(ctx context.Context, c *Config) (*load.Lake, error) {
	return openLakeWith(ctx, c, c.LakeAccess)
}

func openLakeWith(ctx context.Context, c *Config, a LakeAccess) (*load.Lake, error) {
	switch {
	case strings.HasPrefix(c.Lake, "s3://"):
		ac := c.AWS
		cfg, err := aws.BaseConfig(ctx, ac.Region)
		if err != nil {
			return nil, fmt.Errorf("lake: %w", err)
		}
		ep := ac.Endpoints.sdk()
		if a.Role.ARN != "" {
			if cfg, err = aws.AssumeChain(cfg, ac.hops(a.Role), ep); err != nil {
				return nil, fmt.Errorf("lake_role: %w", err)
			}
		}
		return load.OpenWith(ctx, c.Lake, load.Options{AWS: &cfg, S3Endpoint: ep.S3, S3PathStyle: ep.S3PathStyle})
	case strings.HasPrefix(c.Lake, "azblob://"):
		u, err := url.Parse(c.Lake)
		if err != nil {
			return nil, fmt.Errorf("lake %q: %w", c.Lake, err)
		}
		cc, err := lakeContainer(c, a.Azure, u.Host)
		if err != nil {
			return nil, err
		}
		return load.OpenWith(ctx, c.Lake, load.Options{AzureContainer: cc})
	default:
		return load.Open(ctx, c.Lake)
	}
}

// lakeContainer builds the client of container name in the lake's storage account: by shared
// key when lake_azure.shared_key_env is set, else with the Entra ID credential of the tenant
// lake_azure.tenant_id names (azure.tenants; with none configured, azidentity's default chain).
func lakeContainer(c *Config, la LakeAzureConfig, name string) (*container.Client, error) {
	if la.URL == "" {
		return nil, errors.New("lake_azure.url: an azblob:// lake needs its storage account's blob endpoint")
	}
	base := strings.TrimRight(la.URL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("lake_azure.url %q: want https://<account>.blob.core.windows.net", la.URL)
	}
	if la.SharedKeyEnv != "" {
		key, ok := os.LookupEnv(la.SharedKeyEnv)
		if !ok || key == "" {
			return nil, fmt.Errorf("lake_azure.shared_key_env: %s is not set", la.SharedKeyEnv)
		}
		account := la.AccountName
		if account == "" {
			if p := strings.Trim(u.Path, "/"); p != "" {
				account = p[strings.LastIndex(p, "/")+1:]
			} else {
				account, _, _ = strings.Cut(u.Hostname(), ".")
			}
		}
		cred, err := azblob.NewSharedKeyCredential(account, key)
		if err != nil {
			return nil, fmt.Errorf("lake_azure: %w", err)
		}
		return container.NewClientWithSharedKeyCredential(base+"/"+name, cred, nil)
	}
	auth, err := azure.NewAuth(c.Azure.Config, azure.Options{Transport: azureTransport})
	if err != nil {
		return nil, fmt.Errorf("lake_azure: %w", err)
	}
	tenant := la.TenantID
	if ids := auth.TenantIDs(); tenant == "" && len(ids) > 0 {
		tenant = ids[0]
	}
	id, err := auth.Tenant(tenant)
	if err != nil {
		return nil, fmt.Errorf("lake_azure.tenant_id: %w", err)
	}
	var cred azcore.TokenCredential = id.Credential
	return container.NewClient(base+"/"+name, cred, nil)
}
