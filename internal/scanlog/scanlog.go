// Package scanlog writes the action's scan result to CloudWatch Logs: one
// JSON event per run, in a log group the caller names (created when
// missing, with the retention it asks for) and a log stream per ECR
// repository.
//
// It costs one write per run once the group and stream exist: the reads
// (DescribeLogGroups, DescribeLogStreams) decide whether anything needs to
// be created or changed. Errors carry the IAM action that failed (see
// Error); only throttling and transient errors are retried, by the SDK
// client's retryer.
package scanlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// API is the part of the CloudWatch Logs client Write calls;
// *cloudwatchlogs.Client implements it.
type API interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	DeleteRetentionPolicy(ctx context.Context, in *cloudwatchlogs.DeleteRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteRetentionPolicyOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// Event is one run's scan result.
type Event struct {
	Repository string         // ECR repository name; names the log stream
	Registry   string         // registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com; optional
	Digest     string         // the image (or index) digest the run pushed
	Tags       []string       // the tags the run pushed
	ScanMode   string         // BASIC or ENHANCED; optional
	Status     string         // the merged scan status, e.g. COMPLETE
	Gate       string         // the gate's verdict: passed, failed or skipped
	Reason     string         // why the gate decided so; optional
	Threshold  string         // the severity at or above which the gate fails, e.g. HIGH
	Counts     map[string]int // findings left after the ignore rules, by severity (CRITICAL, HIGH, …)
	Blocking   int            // how many of them are at or above Threshold
	Ignored    int            // findings the ignore rules took out
	Commit     string         // the workflow's commit SHA; optional
	Ref        string         // the workflow's git ref; optional
	RunURL     string         // the workflow run
	Time       time.Time      // when the run decided; the event's timestamp
}

// SchemaVersion is the schema_version of the events Write sends. It changes
// only when a field changes meaning or is removed.
const SchemaVersion = 1

// record is the event's JSON. The fields from schema_version to run_url are
// always present, so that Logs Insights queries can rely on them.
type record struct {
	SchemaVersion int            `json:"schema_version"`
	Time          string         `json:"time"`
	Repository    string         `json:"repository"`
	Registry      string         `json:"registry,omitempty"`
	Digest        string         `json:"digest"`
	Tags          []string       `json:"tags"`
	ScanMode      string         `json:"scan_mode,omitempty"`
	Status        string         `json:"status"`
	Gate          string         `json:"gate"`
	Reason        string         `json:"reason,omitempty"`
	Threshold     string         `json:"threshold"`
	Counts        map[string]int `json:"counts"`
	Total         int            `json:"total"`
	Blocking      int            `json:"blocking"`
	Ignored       int            `json:"ignored"`
	Commit        string         `json:"commit,omitempty"`
	Ref           string         `json:"ref,omitempty"`
	RunURL        string         `json:"run_url"`
}

// Message is the JSON Write sends for ev: snake_case fields, counts as an
// object by severity, time in RFC 3339 (UTC, milliseconds).
func Message(ev Event) (string, error) {
	r := record{
		SchemaVersion: SchemaVersion,
		Time:          ev.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Repository:    ev.Repository,
		Registry:      ev.Registry,
		Digest:        ev.Digest,
		Tags:          ev.Tags,
		ScanMode:      ev.ScanMode,
		Status:        ev.Status,
		Gate:          ev.Gate,
		Reason:        ev.Reason,
		Threshold:     ev.Threshold,
		Counts:        ev.Counts,
		Blocking:      ev.Blocking,
		Ignored:       ev.Ignored,
		Commit:        ev.Commit,
		Ref:           ev.Ref,
		RunURL:        ev.RunURL,
	}
	if r.Tags == nil {
		r.Tags = []string{}
	}
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	for _, n := range r.Counts {
		r.Total += n
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encoding the scan log event: %w", err)
	}
	return string(b), nil
}

// validRetention are the values PutRetentionPolicy accepts; 0 means never
// expire (no retention policy).
var validRetention = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Limits of CloudWatch Logs.
const (
	maxStreamName = 512          // characters
	maxEventBytes = 1048576 - 26 // one event alone in a PutLogEvents batch
)

// StreamName is the log stream of a repository: the name with the
// characters CloudWatch Logs refuses in stream names (':' and '*', invalid
// UTF-8) replaced by '_', cut to 512 characters. ECR repository names never
// hold those, so in practice it is the repository name.
func StreamName(repository string) string {
	s := strings.ToValidUTF8(repository, "_")
	s = strings.Map(func(r rune) rune {
		if r == ':' || r == '*' {
			return '_'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxStreamName {
		s = string([]rune(s)[:maxStreamName])
	}
	return s
}

// Result is what Write did.
type Result struct {
	Group, Stream    string
	GroupCreated     bool // CreateLogGroup created the group
	RetentionSet     bool // PutRetentionPolicy set the retention
	RetentionRemoved bool // DeleteRetentionPolicy removed it (retention 0)
	StreamCreated    bool // CreateLogStream created the stream
	// WriteCalls counts the calls that change state (Create*, Put*,
	// Delete*), the event's PutLogEvents included; the SDK's retries of a
	// call count once. A run whose group and stream are as wanted makes 1.
	WriteCalls int
}

// Error is a failed CloudWatch Logs call: what was being done and the IAM
// action the call needs, so a caller can explain an access denial.
type Error struct {
	Op     string // e.g. `creating log group "/ecr-action/scans"`
	Action string // e.g. "logs:CreateLogGroup"
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (IAM action %s): %v", e.Op, e.Action, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// AccessDenied reports whether CloudWatch Logs refused the call for lack of
// permission: the role needs Action on the log group.
func (e *Error) AccessDenied() bool {
	var denied *types.AccessDeniedException
	return errors.As(e.Err, &denied)
}

// Write logs ev as one event in group, in the stream StreamName(ev.Repository).
//
// It creates the group when missing (a parallel run creating it first is
// fine), sets its retention to retentionDays when it differs (0: removes
// the retention policy, so events never expire), creates the stream when
// missing, and puts the event with timestamp ev.Time. Nothing is written
// when the arguments are invalid.
func Write(ctx context.Context, api API, group string, retentionDays int, ev Event) (Result, error) {
	res := Result{Group: group, Stream: StreamName(ev.Repository)}
	switch {
	case group == "":
		return res, errors.New("scan log: no log group given")
	case retentionDays != 0 && !slices.Contains(validRetention, retentionDays):
		return res, fmt.Errorf("scan log: retention of %d days is not one CloudWatch Logs accepts (0 to never expire, or one of %v)", retentionDays, validRetention)
	case ev.Repository == "":
		return res, errors.New("scan log: the event names no repository")
	case ev.Time.IsZero():
		return res, errors.New("scan log: the event has no time")
	}
	msg, err := Message(ev)
	if err != nil {
		return res, err
	}
	if len(msg) > maxEventBytes {
		return res, fmt.Errorf("scan log: the event is %d bytes, more than the %d CloudWatch Logs accepts", len(msg), maxEventBytes)
	}

	if err := ensureGroup(ctx, api, group, retentionDays, &res); err != nil {
		return res, err
	}
	if err := ensureStream(ctx, api, group, res.Stream, &res); err != nil {
		return res, err
	}
	res.WriteCalls++
	out, err := api.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(res.Stream),
		LogEvents:     []types.InputLogEvent{{Timestamp: aws.Int64(ev.Time.UnixMilli()), Message: aws.String(msg)}},
	})
	op := fmt.Sprintf("writing the scan event to log stream %q of log group %q", res.Stream, group)
	if err != nil {
		return res, &Error{Op: op, Action: "logs:PutLogEvents", Err: err}
	}
	if rej := out.RejectedLogEventsInfo; rej != nil {
		return res, &Error{Op: op, Action: "logs:PutLogEvents", Err: fmt.Errorf("CloudWatch Logs rejected the event: its time %s is %s", ev.Time.UTC().Format(time.RFC3339), rejectedWhy(rej))}
	}
	return res, nil
}

func rejectedWhy(rej *types.RejectedLogEventsInfo) string {
	switch {
	case rej.TooNewLogEventStartIndex != nil:
		return "more than 2 hours ahead of the service's clock"
	case rej.ExpiredLogEventEndIndex != nil:
		return "older than the log group's retention"
	default:
		return "more than 14 days old"
	}
}

// ensureGroup looks the group up and creates it, or sets its retention,
// only where it differs from what is wanted.
func ensureGroup(ctx context.Context, api API, group string, retentionDays int, res *Result) error {
	current, found, err := findGroup(ctx, api, group)
	if err != nil {
		return err
	}
	if !found {
		res.WriteCalls++
		_, err := api.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
		var exists *types.ResourceAlreadyExistsException
		switch {
		case errors.As(err, &exists):
			// A parallel run created it between the lookup and now. Its
			// retention is unknown; setting it again is harmless.
		case err != nil:
			return &Error{Op: fmt.Sprintf("creating log group %q", group), Action: "logs:CreateLogGroup", Err: err}
		default:
			res.GroupCreated = true
		}
		// A new group keeps its events forever until a policy is put.
		current = nil
	}
	switch {
	case retentionDays > 0 && (current == nil || int(*current) != retentionDays):
		res.WriteCalls++
		if _, err := api.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(int32(retentionDays))}); err != nil {
			return &Error{Op: fmt.Sprintf("setting the retention of log group %q to %d days", group, retentionDays), Action: "logs:PutRetentionPolicy", Err: err}
		}
		res.RetentionSet = true
	case retentionDays == 0 && current != nil:
		res.WriteCalls++
		if _, err := api.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(group)}); err != nil {
			return &Error{Op: fmt.Sprintf("removing the retention of log group %q (never expire)", group), Action: "logs:DeleteRetentionPolicy", Err: err}
		}
		res.RetentionRemoved = true
	}
	return nil
}

// findGroup looks the group up by its exact name and returns its retention
// (nil: never expire).
func findGroup(ctx context.Context, api API, group string) (retention *int32, found bool, err error) {
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(api, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, false, &Error{Op: fmt.Sprintf("looking up log group %q", group), Action: "logs:DescribeLogGroups", Err: err}
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) == group {
				return g.RetentionInDays, true, nil
			}
		}
	}
	return nil, false, nil
}

// ensureStream creates the stream unless it exists. A group created by this
// run has no streams, so the lookup is skipped then.
func ensureStream(ctx context.Context, api API, group, stream string, res *Result) error {
	if !res.GroupCreated {
		found, err := findStream(ctx, api, group, stream)
		if err != nil || found {
			return err
		}
	}
	res.WriteCalls++
	_, err := api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	var exists *types.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		// A parallel run for the same repository created it first.
	case err != nil:
		return &Error{Op: fmt.Sprintf("creating log stream %q in log group %q", stream, group), Action: "logs:CreateLogStream", Err: err}
	default:
		res.StreamCreated = true
	}
	return nil
}

func findStream(ctx context.Context, api API, group, stream string) (bool, error) {
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(api, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group), LogStreamNamePrefix: aws.String(stream)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, &Error{Op: fmt.Sprintf("looking up log stream %q in log group %q", stream, group), Action: "logs:DescribeLogStreams", Err: err}
		}
		for _, s := range out.LogStreams {
			if aws.ToString(s.LogStreamName) == stream {
				return true, nil
			}
		}
	}
	return false, nil
}
