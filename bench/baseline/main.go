// Command baseline is the DuckDB side of `make bench`: what a user would write instead of
// permlake to land CloudTrail log files as Hive-partitioned Parquet. It reads every log file
// with DuckDB's own read_json (explicit columns, the Records array unnested) and writes the
// columns of aws_cloudtrail_events that plain SQL can compute with one
// COPY … (FORMAT parquet, PARTITION_BY …, COMPRESSION zstd).
//
// It runs as a child process of the benchmark so that its wall time and peak RSS are measured by
// the OS, as permlake's are. It does not deduplicate: DuckDB's COPY writes every delivered
// record, re-deliveries included (the benchmark compares distinct event IDs).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

// recordType is one CloudTrail record as read_json should parse it. Nested payloads are JSON so
// that they are kept as JSON text, as permlake keeps them.
const recordType = `STRUCT(
	eventVersion VARCHAR,
	userIdentity STRUCT(
		"type" VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, accessKeyId VARCHAR,
		userName VARCHAR, invokedBy VARCHAR,
		sessionContext STRUCT(
			sessionIssuer STRUCT("type" VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, userName VARCHAR),
			attributes STRUCT(creationDate VARCHAR, mfaAuthenticated VARCHAR),
			sourceIdentity VARCHAR)),
	eventTime VARCHAR,
	eventSource VARCHAR,
	eventName VARCHAR,
	awsRegion VARCHAR,
	sourceIPAddress VARCHAR,
	userAgent VARCHAR,
	errorCode VARCHAR,
	errorMessage VARCHAR,
	requestParameters JSON,
	responseElements JSON,
	additionalEventData JSON,
	requestID VARCHAR,
	eventID VARCHAR,
	readOnly BOOLEAN,
	resources JSON,
	eventType VARCHAR,
	managementEvent BOOLEAN,
	recipientAccountId VARCHAR,
	sharedEventID VARCHAR,
	vpcEndpointId VARCHAR,
	eventCategory VARCHAR)`

// selectColumns are aws_cloudtrail_events' columns as far as SQL computes them without
// permlake's tables: attribution by userIdentity.type as DESIGN.md §4 states it, and
// iam_actions by the default rule <service prefix>:<eventName> only (no exceptions table).
const selectColumns = `
	r.eventID AS event_id,
	CAST(r.eventTime AS TIMESTAMP) AS event_time,
	r.eventVersion AS event_version,
	r.eventSource AS event_source,
	r.eventName AS event_name,
	r.eventType AS event_type,
	r.eventCategory AS event_category,
	r.awsRegion AS aws_region,
	r.sourceIPAddress AS source_ip_address,
	r.userAgent AS user_agent,
	r.errorCode AS error_code,
	r.errorMessage AS error_message,
	r.readOnly AS is_read_only,
	r.managementEvent AS is_management_event,
	r.recipientAccountId AS recipient_account_id,
	r.sharedEventID AS shared_event_id,
	r.requestID AS request_id,
	r.vpcEndpointId AS vpc_endpoint_id,
	r.userIdentity."type" AS user_identity_type,
	r.userIdentity.arn AS user_identity_arn,
	r.userIdentity.accountId AS user_identity_account_id,
	r.userIdentity.principalId AS user_identity_principal_id,
	r.userIdentity.accessKeyId AS access_key_id,
	r.userIdentity.invokedBy AS invoked_by,
	CASE r.userIdentity."type"
		WHEN 'AssumedRole' THEN r.userIdentity.sessionContext.sessionIssuer.arn
		WHEN 'AWSService' THEN NULL
		ELSE r.userIdentity.arn END AS principal_arn,
	r.userIdentity.accountId AS principal_account_id,
	CASE r.userIdentity."type"
		WHEN 'IAMUser' THEN 'iam_user' WHEN 'FederatedUser' THEN 'iam_user'
		WHEN 'AssumedRole' THEN 'iam_role' WHEN 'Root' THEN 'root'
		WHEN 'AWSService' THEN 'aws_service' ELSE 'unknown' END AS principal_type,
	CASE r.userIdentity."type"
		WHEN 'AssumedRole' THEN split_part(r.userIdentity.arn, '/', 3)
		WHEN 'FederatedUser' THEN split_part(r.userIdentity.principalId, ':', 2) END AS session_name,
	r.userIdentity.sessionContext.sourceIdentity AS source_identity,
	CAST(r.userIdentity.sessionContext.attributes.mfaAuthenticated AS BOOLEAN) AS is_mfa_authenticated,
	r.errorCode IS NULL AS is_success,
	[split_part(r.eventSource, '.', 1) || ':' || r.eventName] AS iam_actions,
	'default' AS action_mapping,
	CAST(r.requestParameters AS VARCHAR) AS request_parameters,
	CAST(r.responseElements AS VARCHAR) AS response_elements,
	CAST(r.additionalEventData AS VARCHAR) AS additional_event_data,
	CAST(r.resources AS VARCHAR) AS resources,
	'duckdb-baseline' AS _run_id,
	filename AS _source_key,
	r.recipientAccountId AS account_id,
	strftime(CAST(r.eventTime AS TIMESTAMP), '%Y-%m-%d') AS date,
	strftime(CAST(r.eventTime AS TIMESTAMP), '%H') AS hour`

func main() {
	glob := flag.String("glob", "", "glob of the CloudTrail log files (.json.gz)")
	out := flag.String("out", "", "output directory (must not exist)")
	threads := flag.Int("threads", 0, "DuckDB threads (0: DuckDB's default, one per core)")
	maxObject := flag.Int("max-object-size", 64<<20, "read_json maximum_object_size in bytes (one log file is one object)")
	flag.Parse()
	if *glob == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "baseline: -glob and -out are required")
		os.Exit(2)
	}
	if err := run(context.Background(), *glob, *out, *threads, *maxObject); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, glob, out string, threads, maxObject int) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // SET applies to a connection
	if err != nil {
		return err
	}
	defer conn.Close()
	setup := []string{"SET preserve_insertion_order = false"}
	if threads > 0 {
		setup = append(setup, fmt.Sprintf("SET threads = %d", threads))
	}
	for _, s := range setup {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	// A CloudTrail log file is one JSON object {"Records":[…]} on one line: newline-delimited
	// with one object per file, the records unnested in SQL.
	q := fmt.Sprintf(`COPY (
	SELECT %s
	FROM (SELECT unnest(Records) AS r, filename
	      FROM read_json(%s, format = 'newline_delimited', compression = 'gzip', filename = true,
	                     maximum_object_size = %d, columns = {Records: '%s[]'}))
) TO %s (FORMAT parquet, PARTITION_BY (account_id, date, hour), COMPRESSION zstd)`,
		selectColumns, quote(glob), maxObject, strings.Join(strings.Fields(recordType), " "), quote(out))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
