package scanlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/scanlog"
	"github.com/org/ecr-action/internal/testing/logslocal"
	"github.com/org/ecr-action/internal/testing/logslocal/logslocaltest"
)

const group = "/ecr-action/scans"

func sampleEvent() scanlog.Event {
	return scanlog.Event{
		Repository: "team/web",
		Registry:   "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		Digest:     "sha256:4a1c0ffee0000000000000000000000000000000000000000000000000000042",
		Tags:       []string{"v1.4.2", "latest"},
		ScanMode:   "ENHANCED",
		Status:     "ACTIVE",
		Gate:       "failed",
		Reason:     "1 CRITICAL finding is at or above the HIGH threshold",
		Threshold:  "HIGH",
		Counts:     map[string]int{"CRITICAL": 1, "HIGH": 0, "MEDIUM": 3, "LOW": 7, "INFORMATIONAL": 0, "UNDEFINED": 0},
		Blocking:   1,
		Ignored:    2,
		Commit:     "0123456789abcdef0123456789abcdef01234567",
		Ref:        "refs/heads/main",
		RunURL:     "https://github.com/org/app/actions/runs/42",
		Time:       time.Now().Add(-time.Minute).Truncate(time.Millisecond),
	}
}

func write(t *testing.T, api scanlog.API, retention int, ev scanlog.Event) scanlog.Result {
	t.Helper()
	res, err := scanlog.Write(context.Background(), api, group, retention, ev)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return res
}

// retention reads the group's retention back (0: none).
func retention(t *testing.T, c *cloudwatchlogs.Client) int {
	t.Helper()
	out, err := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil || len(out.LogGroups) != 1 {
		t.Fatalf("DescribeLogGroups = %+v, %v; want one group", out, err)
	}
	return int(aws.ToInt32(out.LogGroups[0].RetentionInDays))
}

func TestFirstRunCreatesGroupRetentionStreamAndEvent(t *testing.T) {
	env := logslocaltest.Start(t)
	ev := sampleEvent()
	res := write(t, env.Client, 30, ev)

	want := scanlog.Result{Group: group, Stream: "team/web", GroupCreated: true, RetentionSet: true, StreamCreated: true, WriteCalls: 4}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	// The stream of a group this run created is not looked up.
	wantCalls := map[string]int{"DescribeLogGroups": 1, "CreateLogGroup": 1, "PutRetentionPolicy": 1, "CreateLogStream": 1, "PutLogEvents": 1}
	if diff := cmp.Diff(wantCalls, env.Server.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if n := env.Server.WriteCalls(); n != res.WriteCalls {
		t.Errorf("server counted %d writes, Result.WriteCalls = %d", n, res.WriteCalls)
	}
	if got := retention(t, env.Client); got != 30 {
		t.Errorf("retention = %d days, want 30", got)
	}
	events := env.Server.Events(group, "team/web")
	if len(events) != 1 || !events[0].Timestamp.Equal(ev.Time) {
		t.Fatalf("events = %+v, want one at %v", events, ev.Time)
	}
}

func TestSecondRunWritesOnlyTheEvent(t *testing.T) {
	env := logslocaltest.Start(t)
	write(t, env.Client, 30, sampleEvent())
	env.Server.ResetCalls()

	res := write(t, env.Client, 30, sampleEvent())
	if diff := cmp.Diff(scanlog.Result{Group: group, Stream: "team/web", WriteCalls: 1}, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	wantCalls := map[string]int{"DescribeLogGroups": 1, "DescribeLogStreams": 1, "PutLogEvents": 1}
	if diff := cmp.Diff(wantCalls, env.Server.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if n := env.Server.WriteCalls(); n != 1 {
		t.Errorf("server counted %d writes, want 1", n)
	}
	if n := len(env.Server.Events(group, "team/web")); n != 2 {
		t.Errorf("%d events after two runs, want 2", n)
	}

	// Another repository: a new stream in the same group.
	other := sampleEvent()
	other.Repository = "team/api"
	res = write(t, env.Client, 30, other)
	if !res.StreamCreated || res.GroupCreated || res.RetentionSet || res.WriteCalls != 2 {
		t.Errorf("Result for a second repository = %+v, want only the stream created, 2 writes", res)
	}
}

func TestRetentionChanges(t *testing.T) {
	for _, tc := range []struct {
		name        string
		from, to    int
		want        scanlog.Result
		wantWrite   string // the group write made, "" for none
		wantDaysNow int
	}{
		{name: "30 to 90", from: 30, to: 90, want: scanlog.Result{RetentionSet: true, WriteCalls: 2}, wantWrite: "PutRetentionPolicy", wantDaysNow: 90},
		{name: "30 to never expire", from: 30, to: 0, want: scanlog.Result{RetentionRemoved: true, WriteCalls: 2}, wantWrite: "DeleteRetentionPolicy", wantDaysNow: 0},
		{name: "never expire unchanged", from: 0, to: 0, want: scanlog.Result{WriteCalls: 1}},
		{name: "never expire to 7", from: 0, to: 7, want: scanlog.Result{RetentionSet: true, WriteCalls: 2}, wantWrite: "PutRetentionPolicy", wantDaysNow: 7},
		{name: "3653 unchanged", from: 3653, to: 3653, want: scanlog.Result{WriteCalls: 1}, wantDaysNow: 3653},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := logslocaltest.Start(t)
			write(t, env.Client, tc.from, sampleEvent())
			if got := retention(t, env.Client); got != tc.from {
				t.Fatalf("retention after the first run = %d, want %d", got, tc.from)
			}
			env.Server.ResetCalls()

			res := write(t, env.Client, tc.to, sampleEvent())
			tc.want.Group, tc.want.Stream = group, "team/web"
			if diff := cmp.Diff(tc.want, res); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			wantCalls := map[string]int{"DescribeLogGroups": 1, "DescribeLogStreams": 1, "PutLogEvents": 1}
			if tc.wantWrite != "" {
				wantCalls[tc.wantWrite] = 1
			}
			if diff := cmp.Diff(wantCalls, env.Server.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if got := retention(t, env.Client); got != tc.wantDaysNow {
				t.Errorf("retention = %d, want %d", got, tc.wantDaysNow)
			}
		})
	}
}

// racer is the client of a run that another run, in parallel, overtakes:
// after its lookups report a missing group or stream, the other run creates
// it.
type racer struct {
	*cloudwatchlogs.Client
	afterGroups, afterStreams func()
}

func (r *racer) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	out, err := r.Client.DescribeLogGroups(ctx, in, optFns...)
	if r.afterGroups != nil {
		r.afterGroups()
	}
	return out, err
}

func (r *racer) DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	out, err := r.Client.DescribeLogStreams(ctx, in, optFns...)
	if r.afterStreams != nil {
		r.afterStreams()
	}
	return out, err
}

func TestRaceOnCreateLogGroup(t *testing.T) {
	env := logslocaltest.Start(t)
	other := sampleEvent()
	api := &racer{Client: env.Client, afterGroups: func() {
		if _, err := scanlog.Write(context.Background(), env.Client, group, 30, other); err != nil {
			t.Errorf("the parallel run: %v", err)
		}
	}}
	res := write(t, api, 30, sampleEvent())
	// The group exists (ResourceAlreadyExistsException) with a retention
	// this run cannot know, so it puts it again; the stream exists by the
	// time it is looked up.
	want := scanlog.Result{Group: group, Stream: "team/web", RetentionSet: true, WriteCalls: 3}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if n := env.Server.Calls()["CreateLogGroup"]; n != 2 {
		t.Errorf("CreateLogGroup calls = %d, want 2 (one per run)", n)
	}
	if n := len(env.Server.Events(group, "team/web")); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

func TestRaceOnCreateLogStream(t *testing.T) {
	env := logslocaltest.Start(t)
	first := sampleEvent()
	first.Repository = "team/api"
	write(t, env.Client, 30, first) // the group exists, the stream of team/web not yet
	api := &racer{Client: env.Client, afterStreams: func() {
		if _, err := env.Client.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("team/web")}); err != nil {
			t.Errorf("the parallel run creating the stream: %v", err)
		}
	}}
	res := write(t, api, 30, sampleEvent())
	if diff := cmp.Diff(scanlog.Result{Group: group, Stream: "team/web", WriteCalls: 2}, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if n := len(env.Server.Events(group, "team/web")); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func TestParallelRuns(t *testing.T) {
	env := logslocaltest.Start(t)
	const runs = 4
	var wg sync.WaitGroup
	results := make([]scanlog.Result, runs)
	errs := make([]error, runs)
	for i := range runs {
		wg.Go(func() {
			results[i], errs[i] = scanlog.Write(context.Background(), env.Client, group, 14, sampleEvent())
		})
	}
	wg.Wait()
	groupsCreated, streamsCreated := 0, 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
		if results[i].GroupCreated {
			groupsCreated++
		}
		if results[i].StreamCreated {
			streamsCreated++
		}
	}
	if groupsCreated != 1 || streamsCreated != 1 {
		t.Errorf("%d runs created the group and %d the stream, want 1 each", groupsCreated, streamsCreated)
	}
	if n := len(env.Server.Events(group, "team/web")); n != runs {
		t.Errorf("%d events, want %d", n, runs)
	}
	if got := retention(t, env.Client); got != 14 {
		t.Errorf("retention = %d, want 14", got)
	}
}

func TestAccessDeniedFailsAtOnce(t *testing.T) {
	env := logslocaltest.Start(t)
	env.Server.Inject("CreateLogGroup", logslocal.Fault{Count: 5, Error: "AccessDeniedException"})
	_, err := scanlog.Write(context.Background(), env.Client, group, 30, sampleEvent())
	if err == nil {
		t.Fatal("Write succeeded, want AccessDeniedException")
	}
	if n := env.Server.Calls()["CreateLogGroup"]; n != 1 {
		t.Errorf("CreateLogGroup calls = %d, want 1: access denied is not retried", n)
	}
	if n := env.Server.WriteCalls(); n != 1 {
		t.Errorf("%d writes, want only the refused CreateLogGroup", n)
	}
	var serr *scanlog.Error
	if !errors.As(err, &serr) || serr.Action != "logs:CreateLogGroup" || !serr.AccessDenied() {
		t.Errorf("error = %#v, want a *scanlog.Error for logs:CreateLogGroup that is an access denial", err)
	}
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Errorf("error %v does not unwrap to *types.AccessDeniedException", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "logs:CreateLogGroup") || !strings.Contains(msg, `creating log group "/ecr-action/scans"`) {
		t.Errorf("error %q does not say what failed and which IAM action it needs", msg)
	}
}

func TestErrorsNameTheIAMAction(t *testing.T) {
	for _, tc := range []struct {
		op, action string
		existing   bool // the group and stream exist before the run
		retention  int
	}{
		{op: "DescribeLogGroups", action: "logs:DescribeLogGroups"},
		{op: "CreateLogGroup", action: "logs:CreateLogGroup"},
		{op: "PutRetentionPolicy", action: "logs:PutRetentionPolicy", retention: 30},
		{op: "DeleteRetentionPolicy", action: "logs:DeleteRetentionPolicy", existing: true, retention: 0},
		{op: "DescribeLogStreams", action: "logs:DescribeLogStreams", existing: true, retention: 30},
		{op: "CreateLogStream", action: "logs:CreateLogStream", retention: 30},
		{op: "PutLogEvents", action: "logs:PutLogEvents", existing: true, retention: 30},
	} {
		t.Run(tc.op, func(t *testing.T) {
			env := logslocaltest.Start(t)
			if tc.existing {
				write(t, env.Client, 30, sampleEvent())
			}
			env.Server.Inject(tc.op, logslocal.Fault{Count: 1, Error: "AccessDeniedException"})
			_, err := scanlog.Write(context.Background(), env.Client, group, tc.retention, sampleEvent())
			var serr *scanlog.Error
			if !errors.As(err, &serr) || serr.Action != tc.action || !serr.AccessDenied() {
				t.Fatalf("error = %v, want an access denial for %s", err, tc.action)
			}
		})
	}
}

func TestNotAccessDenied(t *testing.T) {
	env := logslocaltest.Start(t)
	env.Server.Inject("CreateLogGroup", logslocal.Fault{Count: 1, Error: "InvalidParameterException"})
	_, err := scanlog.Write(context.Background(), env.Client, group, 30, sampleEvent())
	var serr *scanlog.Error
	if !errors.As(err, &serr) || serr.AccessDenied() {
		t.Fatalf("error = %v, want a *scanlog.Error that is not an access denial", err)
	}
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Errorf("error %v does not unwrap to *types.InvalidParameterException", err)
	}
	if n := env.Server.Calls()["CreateLogGroup"]; n != 1 {
		t.Errorf("CreateLogGroup calls = %d, want 1", n)
	}
}

func TestThrottledPutLogEventsIsRetried(t *testing.T) {
	env := logslocaltest.Start(t)
	env.Server.Inject("PutLogEvents", logslocal.Fault{Count: 2, Throttle: true})
	res := write(t, env.Client, 30, sampleEvent())
	if n := env.Server.Calls()["PutLogEvents"]; n != 3 {
		t.Errorf("PutLogEvents calls = %d, want 3 (2 throttled, then accepted)", n)
	}
	if res.WriteCalls != 4 {
		t.Errorf("Result.WriteCalls = %d, want 4: the SDK's retries count once", res.WriteCalls)
	}
	if n := len(env.Server.Events(group, "team/web")); n != 1 {
		t.Errorf("%d events, want exactly 1", n)
	}
}

func TestRejectedEventIsAnError(t *testing.T) {
	env := logslocaltest.Start(t)
	ev := sampleEvent()
	ev.Time = time.Now().Add(-20 * 24 * time.Hour)
	_, err := scanlog.Write(context.Background(), env.Client, group, 30, ev)
	var serr *scanlog.Error
	if !errors.As(err, &serr) || serr.Action != "logs:PutLogEvents" || !strings.Contains(err.Error(), "more than 14 days old") {
		t.Fatalf("error = %v, want the rejection of an event more than 14 days old", err)
	}
	if n := len(env.Server.Events(group, "team/web")); n != 0 {
		t.Errorf("%d events stored, want 0", n)
	}
}

func TestEventJSON(t *testing.T) {
	env := logslocaltest.Start(t)
	ev := sampleEvent()
	write(t, env.Client, 30, ev)
	events := env.Server.Events(group, "team/web")
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	if got, want := events[0].Timestamp.UnixMilli(), ev.Time.UnixMilli(); got != want {
		t.Errorf("timestamp = %d, want ev.Time in ms, %d", got, want)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(events[0].Message), &got); err != nil {
		t.Fatalf("the message is not JSON: %v\n%s", err, events[0].Message)
	}
	want := map[string]any{
		"schema_version": 1.0,
		"time":           ev.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		"repository":     "team/web",
		"registry":       "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"digest":         "sha256:4a1c0ffee0000000000000000000000000000000000000000000000000000042",
		"tags":           []any{"v1.4.2", "latest"},
		"scan_mode":      "ENHANCED",
		"status":         "ACTIVE",
		"gate":           "failed",
		"reason":         "1 CRITICAL finding is at or above the HIGH threshold",
		"threshold":      "HIGH",
		"counts":         map[string]any{"CRITICAL": 1.0, "HIGH": 0.0, "MEDIUM": 3.0, "LOW": 7.0, "INFORMATIONAL": 0.0, "UNDEFINED": 0.0},
		"total":          11.0,
		"blocking":       1.0,
		"ignored":        2.0,
		"commit":         "0123456789abcdef0123456789abcdef01234567",
		"ref":            "refs/heads/main",
		"run_url":        "https://github.com/org/app/actions/runs/42",
	}
	for field, w := range want {
		if diff := cmp.Diff(w, got[field]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", field, diff)
		}
	}
	for field := range got {
		if _, ok := want[field]; !ok {
			t.Errorf("unexpected field %s = %v", field, got[field])
		}
	}
}

func TestMessageKeepsCoreFieldsWhenEmpty(t *testing.T) {
	msg, err := scanlog.Message(scanlog.Event{Repository: "r", Gate: "skipped", Time: time.Date(2025, 3, 1, 12, 0, 0, 5e6, time.FixedZone("CET", 3600))})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema_version":1,"time":"2025-03-01T11:00:00.005Z","repository":"r","digest":"","tags":[],"status":"","gate":"skipped","threshold":"","counts":{},"total":0,"blocking":0,"ignored":0,"run_url":""}`
	if msg != want {
		t.Errorf("Message =\n%s\nwant\n%s", msg, want)
	}
}

func TestInvalidArgumentsWriteNothing(t *testing.T) {
	ev := sampleEvent()
	noRepo, noTime, huge := ev, ev, ev
	noRepo.Repository = ""
	noTime.Time = time.Time{}
	huge.Reason = strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name      string
		group     string
		retention int
		ev        scanlog.Event
		want      string
	}{
		{"no group", "", 30, ev, "no log group"},
		{"retention 2", group, 2, ev, "retention of 2 days"},
		{"retention -1", group, -1, ev, "retention of -1 days"},
		{"retention 3654", group, 3654, ev, "retention of 3654 days"},
		{"no repository", group, 30, noRepo, "no repository"},
		{"no time", group, 30, noTime, "no time"},
		{"too large", group, 30, huge, "bytes, more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := logslocaltest.Start(t)
			_, err := scanlog.Write(context.Background(), env.Client, tc.group, tc.retention, tc.ev)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one saying %q", err, tc.want)
			}
			if calls := env.Server.Calls(); len(calls) != 0 {
				t.Errorf("calls = %v, want none", calls)
			}
		})
	}
}

// pagedGroups answers the first DescribeLogGroups page with a neighbour of
// the group only, so the group itself is on the second page.
type pagedGroups struct {
	*cloudwatchlogs.Client
	calls int
}

func (p *pagedGroups) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	p.calls++
	if in.NextToken == nil {
		return &cloudwatchlogs.DescribeLogGroupsOutput{LogGroups: []types.LogGroup{{LogGroupName: aws.String(group + "-old")}}, NextToken: aws.String("page-2")}, nil
	}
	in.NextToken = nil
	return p.Client.DescribeLogGroups(ctx, in, optFns...)
}

func TestGroupLookupPages(t *testing.T) {
	env := logslocaltest.Start(t)
	write(t, env.Client, 30, sampleEvent())
	env.Server.ResetCalls()
	api := &pagedGroups{Client: env.Client}
	res := write(t, api, 30, sampleEvent())
	if api.calls != 2 || res.GroupCreated || res.RetentionSet || res.WriteCalls != 1 {
		t.Errorf("%d DescribeLogGroups pages, Result %+v; want 2 pages and only the event written", api.calls, res)
	}
}

func TestStreamName(t *testing.T) {
	for in, want := range map[string]string{
		"team/web":                "team/web",
		"a.b_c-d/e":               "a.b_c-d/e",
		"odd:name*":               "odd_name_",
		"bad\xffutf8":             "bad_utf8",
		strings.Repeat("é", 600):  strings.Repeat("é", 512),
		strings.Repeat("ab", 200): strings.Repeat("ab", 200),
	} {
		if got := scanlog.StreamName(in); got != want {
			t.Errorf("StreamName(%.40q) = %.40q, want %.40q", in, got, want)
		}
	}
}

func FuzzStreamName(f *testing.F) {
	for _, s := range []string{"team/web", "a:b*c", "\xff", strings.Repeat("x", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, repo string) {
		if repo == "" {
			return
		}
		s := scanlog.StreamName(repo)
		if s == "" || strings.ContainsAny(s, ":*") || !utf8.ValidString(s) || len([]rune(s)) > 512 {
			t.Errorf("StreamName(%q) = %q: not a valid CloudWatch Logs stream name", repo, s)
		}
	})
}
