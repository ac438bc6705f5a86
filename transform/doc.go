// Package transform turns raw records from the sources into typed rows of the lake tables in
// schemas: CloudTrail records into aws_cloudtrail_events rows (principal attribution and
// event → IAM action mapping), GetAccountAuthorizationDetails pages into the IAM snapshot tables
// (policy documents decoded and parsed into statements), credential report CSV into rows, an
// organization snapshot into the aws_organizations_* tables (SCP statements parsed like IAM
// policies); and on the Azure side, Activity Log and Entra ID sign-in records into
// azure_activity_events and azure_signin_events rows, ARM role definitions, assignments and the
// provider operations catalog, and Graph directory objects into their snapshot tables.
//
// Everything here is a pure function of its input: no I/O, no clock, no logging. transform imports
// schemas only; it must not import extract, load or cmd.
package transform
