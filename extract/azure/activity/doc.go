// Package activity reads Azure diagnostic-settings exports from Blob Storage, or from a copy of
// them in a directory or any gocloud.dev/blob bucket (NewBucketReader): the Activity Log
// (container insights-activity-logs, one folder per subscription) and the Entra ID sign-in and
// audit logs (containers insights-logs-<category>, one folder per tenant), FORMATS.md §4.1 and
// §4.4. It lists the hourly PT1H.json blobs that can hold a range of hours, reads each one
// incrementally from a byte offset the caller keeps (the blobs are append blobs that grow during
// their hour and receive late records after it), and decodes every complete JSON line into a raw
// Record in the export's own field names. Shaping lake rows is transform's job.
//
// It is part of the extract layer: it must not import transform, load or cmd, nor
// extract/azure (which knows ARM and Graph; this package knows only Blob Storage, through
// azblob, and copies of it, through gocloud.dev/blob, and takes a container client or bucket
// built by its caller).
package activity
