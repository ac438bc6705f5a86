// Package transform turns raw records from the sources into typed rows of the lake tables in
// schemas: CloudTrail records into aws_cloudtrail_events rows (principal attribution and
// event → IAM action mapping), GetAccountAuthorizationDetails pages into the IAM snapshot tables
// (policy documents decoded and parsed into statements), credential report CSV into rows.
//
// Everything here is a pure function of its input: no I/O, no clock, no logging. transform imports
// schemas only; it must not import extract, load or cmd.
package transform
