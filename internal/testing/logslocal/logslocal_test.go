package logslocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/testing/logslocal"
	"github.com/org/ecr-action/internal/testing/logslocal/logslocaltest"
)

// wantCode fails the test unless err is the SDK's typed exception T.
func wantCode[T error](t *testing.T, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
}

func mustCreateGroup(t *testing.T, c *cloudwatchlogs.Client, name string) {
	t.Helper()
	if _, err := c.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatalf("CreateLogGroup(%q): %v", name, err)
	}
}

func mustCreateStream(t *testing.T, c *cloudwatchlogs.Client, group, stream string) {
	t.Helper()
	if _, err := c.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatalf("CreateLogStream(%q, %q): %v", group, stream, err)
	}
}

func TestLogGroupLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_123)
	env := logslocaltest.StartWith(t, logslocal.Options{Account: "210987654321", Region: "eu-west-1", Now: func() time.Time { return now }})
	c := env.Client

	mustCreateGroup(t, c, "/ecr/scans")
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecr/scans")})
	wantCode[*types.ResourceAlreadyExistsException](t, err)
	mustCreateGroup(t, c, "/ecr/scans-other")
	mustCreateGroup(t, c, "/other")

	describe := func() []types.LogGroup {
		t.Helper()
		out, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecr/scans")})
		if err != nil {
			t.Fatalf("DescribeLogGroups: %v", err)
		}
		return out.LogGroups
	}
	groups := describe()
	if len(groups) != 2 || aws.ToString(groups[0].LogGroupName) != "/ecr/scans" || aws.ToString(groups[1].LogGroupName) != "/ecr/scans-other" {
		t.Fatalf("DescribeLogGroups(prefix /ecr/scans) = %+v, want /ecr/scans and /ecr/scans-other", groups)
	}
	g := groups[0]
	if got, want := aws.ToString(g.Arn), "arn:aws:logs:eu-west-1:210987654321:log-group:/ecr/scans:*"; got != want {
		t.Errorf("arn = %q, want %q", got, want)
	}
	if got, want := aws.ToString(g.LogGroupArn), "arn:aws:logs:eu-west-1:210987654321:log-group:/ecr/scans"; got != want {
		t.Errorf("logGroupArn = %q, want %q", got, want)
	}
	if got := aws.ToInt64(g.CreationTime); got != now.UnixMilli() {
		t.Errorf("creationTime = %d, want %d", got, now.UnixMilli())
	}
	if g.RetentionInDays != nil {
		t.Errorf("retentionInDays = %d on a new group, want none", *g.RetentionInDays)
	}
	if g.StoredBytes == nil || g.LogGroupClass != types.LogGroupClassStandard {
		t.Errorf("storedBytes = %v, logGroupClass = %q, want 0 and STANDARD", g.StoredBytes, g.LogGroupClass)
	}

	if _, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/ecr/scans"), RetentionInDays: aws.Int32(30)}); err != nil {
		t.Fatalf("PutRetentionPolicy: %v", err)
	}
	if got := aws.ToInt32(describe()[0].RetentionInDays); got != 30 {
		t.Errorf("retentionInDays = %d after PutRetentionPolicy(30), want 30", got)
	}
	if _, err := c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("/ecr/scans")}); err != nil {
		t.Fatalf("DeleteRetentionPolicy: %v", err)
	}
	if r := describe()[0].RetentionInDays; r != nil {
		t.Errorf("retentionInDays = %d after DeleteRetentionPolicy, want none", *r)
	}

	for _, days := range []int32{0, 2, 31, 365 * 10, 3654} {
		_, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/ecr/scans"), RetentionInDays: aws.Int32(days)})
		wantCode[*types.InvalidParameterException](t, err)
	}
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/missing"), RetentionInDays: aws.Int32(30)})
	wantCode[*types.ResourceNotFoundException](t, err)
	_, err = c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("/missing")})
	wantCode[*types.ResourceNotFoundException](t, err)
}

func TestEveryRetentionValue(t *testing.T) {
	env := logslocaltest.Start(t)
	mustCreateGroup(t, env.Client, "g")
	for _, days := range []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653} {
		if _, err := env.Client.PutRetentionPolicy(context.Background(), &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(days)}); err != nil {
			t.Errorf("PutRetentionPolicy(%d): %v", days, err)
		}
	}
}

func TestCreateLogGroupRefusesBadNames(t *testing.T) {
	env := logslocaltest.Start(t)
	for name, group := range map[string]string{
		"empty":       "",
		"too long":    strings.Repeat("a", 513),
		"space":       "a b",
		"colon":       "a:b",
		"star":        "logs*",
		"non-ascii":   "grüße",
		"bad class":   "",
		"bad kms key": "",
	} {
		t.Run(name, func(t *testing.T) {
			in := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}
			switch name {
			case "bad class":
				in.LogGroupName, in.LogGroupClass = aws.String("ok"), "COLD"
			case "bad kms key":
				in.LogGroupName, in.KmsKeyId = aws.String("ok"), aws.String("")
			}
			_, err := env.Client.CreateLogGroup(context.Background(), in)
			wantCode[*types.InvalidParameterException](t, err)
		})
	}
	for _, ok := range []string{strings.Repeat("a", 512), "/aws/x", "A-z_0.9/#"} {
		mustCreateGroup(t, env.Client, ok)
	}
}

func TestDescribeLogGroupsPages(t *testing.T) {
	env := logslocaltest.Start(t)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("/scan/%02d", i)
		want = append(want, name)
		mustCreateGroup(t, env.Client, name)
	}
	mustCreateGroup(t, env.Client, "/zzz")
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(env.Client, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/scan/"), Limit: aws.Int32(3)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, g := range out.LogGroups {
			got = append(got, aws.ToString(g.LogGroupName))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("%d pages (want 3); names (-want +got):\n%s", pages, diff)
	}

	out, err := env.Client.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("can/0")})
	if err != nil || len(out.LogGroups) != 7 {
		t.Errorf("DescribeLogGroups(pattern can/0) = %d groups, %v; want 7", len(out.LogGroups), err)
	}
	for name, in := range map[string]*cloudwatchlogs.DescribeLogGroupsInput{
		"limit 0":          {Limit: aws.Int32(0)},
		"limit 51":         {Limit: aws.Int32(51)},
		"bad token":        {NextToken: aws.String("not-a-token")},
		"prefix+pattern":   {LogGroupNamePrefix: aws.String("/s"), LogGroupNamePattern: aws.String("s")},
		"other account":    {AccountIdentifiers: []string{"111111111111"}},
		"bad prefix chars": {LogGroupNamePrefix: aws.String("a b")},
	} {
		_, err := env.Client.DescribeLogGroups(context.Background(), in)
		var target *types.InvalidParameterException
		if !errors.As(err, &target) {
			t.Errorf("%s: error = %v, want InvalidParameterException", name, err)
		}
	}
}

func TestLogStreams(t *testing.T) {
	ctx := context.Background()
	env := logslocaltest.Start(t)
	c := env.Client

	_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	wantCode[*types.ResourceNotFoundException](t, err)
	mustCreateGroup(t, c, "g")
	for _, name := range []string{"team/app", "team/app-canary", "team/web", "other"} {
		mustCreateStream(t, c, "g", name)
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("team/app")})
	wantCode[*types.ResourceAlreadyExistsException](t, err)
	for _, bad := range []string{"", "a:b", "a*", strings.Repeat("s", 513)} {
		_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String(bad)})
		wantCode[*types.InvalidParameterException](t, err)
	}
	mustCreateStream(t, c, "g", "spaces and ünïcode/are [fine]")

	out, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("team/app")})
	if err != nil {
		t.Fatalf("DescribeLogStreams: %v", err)
	}
	var names []string
	for _, s := range out.LogStreams {
		names = append(names, aws.ToString(s.LogStreamName))
	}
	if diff := cmp.Diff([]string{"team/app", "team/app-canary"}, names); diff != "" {
		t.Errorf("streams with prefix team/app (-want +got):\n%s", diff)
	}
	if got, want := aws.ToString(out.LogStreams[0].Arn), "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:team/app"; got != want {
		t.Errorf("arn = %q, want %q", got, want)
	}
	if out.LogStreams[0].LastEventTimestamp != nil {
		t.Errorf("lastEventTimestamp = %d on an empty stream, want none", *out.LogStreams[0].LastEventTimestamp)
	}

	// By group ARN, paged two at a time.
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(c, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g"), Limit: aws.Int32(2)})
	names = nil
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeLogStreams page: %v", err)
		}
		for _, s := range out.LogStreams {
			names = append(names, aws.ToString(s.LogStreamName))
		}
	}
	if diff := cmp.Diff([]string{"other", "spaces and ünïcode/are [fine]", "team/app", "team/app-canary", "team/web"}, names); diff != "" {
		t.Errorf("all streams (-want +got):\n%s", diff)
	}

	_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("missing")})
	wantCode[*types.ResourceNotFoundException](t, err)
	_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("t")})
	wantCode[*types.InvalidParameterException](t, err)
	_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{})
	wantCode[*types.InvalidParameterException](t, err)
}

func TestPutAndGetLogEvents(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	env := logslocaltest.StartWith(t, logslocal.Options{Now: func() time.Time { return now }})
	c := env.Client
	ev := func(ts time.Time, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(msg)}
	}
	put := func(evs ...types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
		return c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
	}

	_, err := put(ev(now, "x"))
	wantCode[*types.ResourceNotFoundException](t, err)
	mustCreateGroup(t, c, "g")
	_, err = put(ev(now, "x"))
	wantCode[*types.ResourceNotFoundException](t, err)
	mustCreateStream(t, c, "g", "s")

	out, err := put(ev(now.Add(-time.Minute), "first"), ev(now, "second"))
	if err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
	if out.RejectedLogEventsInfo != nil {
		t.Errorf("rejectedLogEventsInfo = %+v, want none", out.RejectedLogEventsInfo)
	}
	// A later batch with an earlier event is accepted; reads come back in
	// timestamp order.
	if _, err := put(ev(now.Add(-30*time.Second), "between")); err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
	want := []logslocal.Event{
		{Timestamp: now.Add(-time.Minute), Message: "first", Ingested: now},
		{Timestamp: now.Add(-30 * time.Second), Message: "between", Ingested: now},
		{Timestamp: now, Message: "second", Ingested: now},
	}
	if diff := cmp.Diff(want, env.Server.Events("g", "s")); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}

	got, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), Limit: aws.Int32(2)})
	if err != nil {
		t.Fatalf("GetLogEvents: %v", err)
	}
	if len(got.Events) != 2 || aws.ToString(got.Events[0].Message) != "first" || aws.ToInt64(got.Events[1].Timestamp) != now.Add(-30*time.Second).UnixMilli() {
		t.Errorf("GetLogEvents from head, limit 2 = %+v", got.Events)
	}
	got, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: got.NextForwardToken})
	if err != nil || len(got.Events) != 1 || aws.ToString(got.Events[0].Message) != "second" || aws.ToInt64(got.Events[0].IngestionTime) != now.UnixMilli() {
		t.Errorf("GetLogEvents next page = %+v, %v; want [second]", got, err)
	}
	got, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(1)})
	if err != nil || len(got.Events) != 1 || aws.ToString(got.Events[0].Message) != "second" {
		t.Errorf("GetLogEvents from tail, limit 1 = %+v, %v; want [second]", got, err)
	}

	streams, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
	if err != nil {
		t.Fatalf("DescribeLogStreams: %v", err)
	}
	s := streams.LogStreams[0]
	if aws.ToInt64(s.FirstEventTimestamp) != now.Add(-time.Minute).UnixMilli() || aws.ToInt64(s.LastEventTimestamp) != now.UnixMilli() || aws.ToInt64(s.LastIngestionTime) != now.UnixMilli() {
		t.Errorf("stream times = first %v last %v ingested %v", aws.ToInt64(s.FirstEventTimestamp), aws.ToInt64(s.LastEventTimestamp), aws.ToInt64(s.LastIngestionTime))
	}
}

func TestPutLogEventsRefusesBadBatches(t *testing.T) {
	now := time.Now()
	env := logslocaltest.Start(t)
	mustCreateGroup(t, env.Client, "g")
	mustCreateStream(t, env.Client, "g", "s")
	ev := func(ts time.Time, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(msg)}
	}
	many := make([]types.InputLogEvent, 10001)
	for i := range many {
		many[i] = ev(now, "m")
	}
	fits := make([]types.InputLogEvent, 2)
	fits[0] = ev(now, strings.Repeat("a", 1048576-2*26-1))
	fits[1] = ev(now, "b")
	for name, tc := range map[string]struct {
		events []types.InputLogEvent
		ok     bool
	}{
		"none":           {events: []types.InputLogEvent{}},
		"10001 events":   {events: many},
		"10000 events":   {events: many[:10000], ok: true},
		"1 MiB exactly":  {events: fits, ok: true},
		"1 MiB + 1 byte": {events: []types.InputLogEvent{fits[0], ev(now, "bb")}},
		"out of order":   {events: []types.InputLogEvent{ev(now, "late"), ev(now.Add(-time.Second), "early")}},
		"empty message":  {events: []types.InputLogEvent{ev(now, "")}},
		"span over 24h":  {events: []types.InputLogEvent{ev(now.Add(-25*time.Hour), "a"), ev(now, "b")}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := env.Client.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: tc.events})
			if tc.ok {
				if err != nil {
					t.Fatalf("PutLogEvents: %v", err)
				}
				return
			}
			wantCode[*types.InvalidParameterException](t, err)
		})
	}
}

func TestPutLogEventsRejectsOldAndNewEvents(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	env := logslocaltest.StartWith(t, logslocal.Options{Now: func() time.Time { return now }})
	mustCreateGroup(t, env.Client, "g")
	mustCreateStream(t, env.Client, "g", "s")
	ev := func(ts time.Time, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(msg)}
	}
	put := func(evs ...types.InputLogEvent) *types.RejectedLogEventsInfo {
		t.Helper()
		out, err := env.Client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
		if err != nil {
			t.Fatalf("PutLogEvents: %v", err)
		}
		return out.RejectedLogEventsInfo
	}

	// Older than 14 days, valid, more than 2 hours ahead.
	got := put(ev(now.Add(-15*24*time.Hour), "old"), ev(now.Add(-15*24*time.Hour+time.Second), "old too"), ev(now, "ok"), ev(now.Add(3*time.Hour), "new"))
	want := &types.RejectedLogEventsInfo{TooOldLogEventEndIndex: aws.Int32(2), TooNewLogEventStartIndex: aws.Int32(3)}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(types.RejectedLogEventsInfo{})); diff != "" {
		t.Errorf("rejectedLogEventsInfo (-want +got):\n%s", diff)
	}
	// Older than the group's retention of 1 day.
	if _, err := env.Client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	got = put(ev(now.Add(-2*24*time.Hour), "expired"), ev(now.Add(-time.Hour), "kept"))
	if got == nil || aws.ToInt32(got.ExpiredLogEventEndIndex) != 1 || got.TooOldLogEventEndIndex != nil || got.TooNewLogEventStartIndex != nil {
		t.Errorf("rejectedLogEventsInfo = %+v, want expiredLogEventEndIndex 1 only", got)
	}
	var msgs []string
	for _, e := range env.Server.Events("g", "s") {
		msgs = append(msgs, e.Message)
	}
	if diff := cmp.Diff([]string{"kept", "ok"}, msgs); diff != "" {
		t.Errorf("stored messages (-want +got):\n%s", diff)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	env := logslocaltest.Start(t)

	env.Server.Inject("CreateLogGroup", logslocal.Fault{Count: 2, Throttle: true})
	mustCreateGroup(t, env.Client, "g")
	if n := env.Server.Calls()["CreateLogGroup"]; n != 3 {
		t.Errorf("CreateLogGroup calls = %d after 2 throttles, want 3 (the SDK retries ThrottlingException)", n)
	}

	env.Server.Inject("CreateLogStream", logslocal.Fault{Count: 5, Error: "AccessDeniedException"})
	_, err := env.Client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	wantCode[*types.AccessDeniedException](t, err)
	if n := env.Server.Calls()["CreateLogStream"]; n != 1 {
		t.Errorf("CreateLogStream calls = %d, want 1: AccessDeniedException is not retried", n)
	}

	env.Server.ResetCalls()
	env.Server.Inject("DescribeLogGroups", logslocal.Fault{Count: 1, Error: "ServiceUnavailableException"})
	if _, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Errorf("DescribeLogGroups after one ServiceUnavailableException: %v", err)
	}
	if got, want := env.Server.Calls(), map[string]int{"DescribeLogGroups": 2}; !cmp.Equal(got, want) {
		t.Errorf("Calls = %v, want %v", got, want)
	}
	if n := env.Server.WriteCalls(); n != 0 {
		t.Errorf("WriteCalls = %d after reads only, want 0", n)
	}
	mustCreateGroup(t, env.Client, "g2")
	if n := env.Server.WriteCalls(); n != 1 {
		t.Errorf("WriteCalls = %d, want 1", n)
	}
}

func TestUnknownOperation(t *testing.T) {
	env := logslocaltest.Start(t)
	for _, target := range []string{"Logs_20140328.FilterLogEvents", "AmazonEC2ContainerRegistry_V20150921.CreateRepository", ""} {
		req, err := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%q: decoding the error: %v", target, err)
		}
		if resp.StatusCode != http.StatusBadRequest || body.Type != "UnknownOperationException" || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" || body.Message == "" {
			t.Errorf("%q: status %d, __type %q, header %q, message %q; want 400 UnknownOperationException", target, resp.StatusCode, body.Type, resp.Header.Get("X-Amzn-Errortype"), body.Message)
		}
	}
}

func TestRoute(t *testing.T) {
	logs := logslocal.New(logslocal.Options{})
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := logs.Route(other)
	for _, tc := range []struct {
		target string
		want   int
	}{
		{"Logs_20140328.DescribeLogGroups", http.StatusOK},
		{"AmazonEC2ContainerRegistry_V20150921.DescribeRepositories", http.StatusTeapot},
		{"", http.StatusTeapot},
	} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", tc.target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%q: status %d, want %d", tc.target, rec.Code, tc.want)
		}
	}
}
