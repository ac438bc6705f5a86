package azure

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// providerOperationsPath lists every resource provider's operations: with
// $expand=resourceTypes each provider also lists its resource types' operations, which is where
// most permissions are (https://learn.microsoft.com/rest/api/authorization/provider-operations-metadata/list).
const providerOperationsPath = "/providers/Microsoft.Authorization/providerOperations?api-version=2022-04-01&$expand=resourceTypes"

// Operations implements Source: every page of Provider Operations Metadata - List, merged into
// one {"value":[…]} document of the providers as ARM returned them. The catalog is the same
// for every tenant; it is read with the first configured tenant's identity.
func (s *API) Operations(ctx context.Context) ([]byte, error) {
	ident, err := s.Auth.Tenant(s.Auth.order[0])
	if err != nil {
		return nil, err
	}
	values, err := s.operations(ctx, ident, 0)
	if err != nil {
		return nil, err
	}
	return mergeValues(values), nil
}

// operations reads the catalog's providers, at most maxPages pages (0: all). The SDK's
// ProviderOperationsMetadataClient would decode into models that drop fields, so the request
// goes through an ARM pipeline (bearer token for the ARM audience, Auth's retry policy) and
// the pages are kept as received.
func (s *API) operations(ctx context.Context, ident Identity, maxPages int) ([][]byte, error) {
	const call = "arm:ProviderOperationsMetadata.List"
	client, err := arm.NewClient("permlake/extract/azure", "v1.0.0", ident.Credential, s.Auth.armOptions())
	if err != nil {
		return nil, classify(call, "", ident.TenantID, err)
	}
	base := strings.TrimSuffix(client.Endpoint(), "/")
	var out [][]byte
	next := base + providerOperationsPath
	for page := 1; next != "" && (maxPages == 0 || page <= maxPages); page++ {
		// A nextLink is opaque and used as given, but only on the ARM endpoint: the bearer
		// policy would send the token wherever it points.
		if !strings.HasPrefix(next, base+"/") {
			return nil, &Error{Kind: KindOther, Call: call, TenantID: ident.TenantID, Err: fmt.Errorf("page %d: nextLink %q is not on %s", page, next, base)}
		}
		req, err := runtime.NewRequest(ctx, http.MethodGet, next)
		if err != nil {
			return nil, classify(call, "", ident.TenantID, err)
		}
		req.Raw().Header.Set("Accept", "application/json")
		resp, err := client.Pipeline().Do(req)
		if err != nil {
			return nil, classify(call, "", ident.TenantID, err)
		}
		if !runtime.HasStatusCode(resp, http.StatusOK) {
			return nil, classify(call, "", ident.TenantID, runtime.NewResponseError(resp))
		}
		body, err := runtime.Payload(resp)
		if err != nil {
			return nil, classify(call, "", ident.TenantID, fmt.Errorf("page %d: %w", page, err))
		}
		p, err := decodeListPage(body)
		if err != nil {
			return nil, classify(call, "", ident.TenantID, fmt.Errorf("page %d: %w", page, err))
		}
		out = append(out, p.values...)
		next = p.next
	}
	return out, nil
}
