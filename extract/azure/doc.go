// Package azure knows Azure: credentials (azidentity), subscription discovery (ARM
// subscriptions), RBAC role definitions and assignments (ARM authorization) and the principals
// behind them (Microsoft Graph). It yields raw typed records in the APIs' own field names and
// never shapes lake tables; transform does that.
//
// Calls go through azcore pipelines whose retry policy absorbs throttling (429 with
// Retry-After); what still fails is returned as an *Error classified into a few Kinds that the
// scheduler acts on, naming the subscription or tenant and the call.
//
// Secrets never pass through this package's configuration: a client secret or certificate
// password is read from the environment (or the SDK's own chains) when a credential is built,
// and tokens are never logged.
//
// azure must not import transform, load or cmd.
package azure
