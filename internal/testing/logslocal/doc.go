// Package logslocal is a local stand-in for Amazon CloudWatch Logs: an
// http.Handler that serves the CloudWatch Logs JSON API (awsJson1_1,
// X-Amz-Target "Logs_20140328.<Operation>") for the operations the action
// calls, so the real SDK client can be pointed at it in tests.
//
// Served operations: CreateLogGroup, DescribeLogGroups, PutRetentionPolicy,
// DeleteRetentionPolicy, CreateLogStream, DescribeLogStreams, PutLogEvents
// and GetLogEvents. Requests are validated as the CloudWatch Logs API
// Reference documents (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/)
// and refused with the service's exception names (InvalidParameterException,
// ResourceNotFoundException, ResourceAlreadyExistsException, ...) in both
// the "__type" member and the X-Amzn-ErrorType header, so the SDK decodes
// them into its typed errors. Any other target answers
// UnknownOperationException.
//
// State lives in memory. Calls counts requests per operation, Events shows
// what a stream holds, and Inject arranges throttling or other faults.
//
// What it does not do, on purpose:
//   - SigV4 signatures are not verified: any credentials are accepted.
//   - One account and region; ARNs are made from Options. Cross-account
//     options (accountIdentifiers, includeLinkedAccounts,
//     logGroupIdentifiers) are refused with InvalidParameterException.
//   - No metric filters, subscription filters, destinations, export tasks,
//     Logs Insights queries, anomaly detection, data protection or
//     transformers; no FilterLogEvents, DeleteLogGroup or DeleteLogStream.
//   - kmsKeyId and logGroupClass are stored and described, not checked
//     against KMS; tags given to CreateLogGroup are accepted and dropped.
//   - Retention is recorded, never enforced: stored events do not expire.
//   - PutLogEvents ignores sequenceToken and never answers
//     InvalidSequenceTokenException or DataAlreadyAcceptedException, as the
//     service does today. Events older than 14 days or than the group's
//     retention, or more than 2 hours ahead, are rejected through
//     rejectedLogEventsInfo; the rest are stored.
//   - No service quotas beyond those of a single request (for example the
//     1,000,000 log groups per account or the PutLogEvents rate).
//   - Pagination tokens are opaque strings of its own. DescribeLogGroups
//     orders by name; DescribeLogStreams by name or, with orderBy
//     LastEventTime, by last event timestamp and then name.
package logslocal
