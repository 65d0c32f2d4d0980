package logslocal

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PutLogEvents limits of the CloudWatch Logs API Reference.
const (
	maxBatchEvents = 10000
	maxBatchBytes  = 1048576 // UTF-8 message bytes plus eventOverhead per event
	eventOverhead  = 26
	maxBatchSpan   = 24 * time.Hour
	maxEventAge    = 14 * 24 * time.Hour
	maxEventAhead  = 2 * time.Hour
)

type rejectedInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

func (s *Server) putLogEvents(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName  *string `json:"logGroupName"`
		LogStreamName *string `json:"logStreamName"`
		LogEvents     []struct {
			Timestamp *int64  `json:"timestamp"`
			Message   *string `json:"message"`
		} `json:"logEvents"`
		SequenceToken *string `json:"sequenceToken"` // ignored, as the service now does
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkGroupName("logGroupName", in.LogGroupName); aerr != nil {
		return nil, aerr
	}
	if aerr := checkStreamName("logStreamName", in.LogStreamName); aerr != nil {
		return nil, aerr
	}
	if in.LogEvents == nil {
		return nil, missingParameter("logEvents")
	}
	if n := len(in.LogEvents); n < 1 || n > maxBatchEvents {
		return nil, invalidParameter("logEvents", fmt.Sprintf("%d events", n), fmt.Sprintf("Member must have length between 1 and %d", maxBatchEvents))
	}
	size := 0
	for i, e := range in.LogEvents {
		member := fmt.Sprintf("logEvents.%d.member", i+1)
		if e.Timestamp == nil {
			return nil, missingParameter(member + ".timestamp")
		}
		if e.Message == nil {
			return nil, missingParameter(member + ".message")
		}
		if *e.Message == "" {
			return nil, invalidParameter(member+".message", "", "Member must have length greater than or equal to 1")
		}
		if !utf8.ValidString(*e.Message) {
			return nil, &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("Log event %d is not valid UTF-8", i)}
		}
		size += len(*e.Message) + eventOverhead
	}
	if size > maxBatchBytes {
		return nil, &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)}
	}
	for i := 1; i < len(in.LogEvents); i++ {
		if *in.LogEvents[i].Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, &apiError{code: "InvalidParameterException", msg: "Log events in a single PutLogEvents request must be in chronological order."}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[*in.LogGroupName]
	if g == nil {
		return nil, groupNotFound()
	}
	st := g.streams[*in.LogStreamName]
	if st == nil {
		return nil, streamNotFound()
	}

	now := s.now()
	tooOld := now.Add(-maxEventAge).UnixMilli()
	tooNew := now.Add(maxEventAhead).UnixMilli()
	var expired int64
	if g.retention > 0 {
		expired = now.AddDate(0, 0, -g.retention).UnixMilli()
	}
	// Events are in order, so each kind of rejection covers a run at one end.
	var rej rejectedInfo
	start, end := 0, len(in.LogEvents)
	if n := countWhile(in.LogEvents, func(i int) bool { return *in.LogEvents[i].Timestamp < tooOld }); n > 0 {
		rej.TooOldLogEventEndIndex = &n
		start = max(start, n)
	}
	if g.retention > 0 {
		if n := countWhile(in.LogEvents, func(i int) bool { return *in.LogEvents[i].Timestamp < expired }); n > 0 {
			rej.ExpiredLogEventEndIndex = &n
			start = max(start, n)
		}
	}
	for i := len(in.LogEvents) - 1; i >= 0 && *in.LogEvents[i].Timestamp > tooNew; i-- {
		end = i
	}
	if end < len(in.LogEvents) {
		e := end
		rej.TooNewLogEventStartIndex = &e
	}
	if start < end {
		if span := *in.LogEvents[end-1].Timestamp - *in.LogEvents[start].Timestamp; span > maxBatchSpan.Milliseconds() {
			return nil, &apiError{code: "InvalidParameterException", msg: "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."}
		}
		ingested := now.UnixMilli()
		sorted := len(st.events) == 0 || st.events[len(st.events)-1].timestamp <= *in.LogEvents[start].Timestamp
		for _, e := range in.LogEvents[start:end] {
			st.events = append(st.events, storedEvent{timestamp: *e.Timestamp, message: *e.Message, ingested: ingested})
			st.bytes += int64(len(*e.Message))
		}
		if !sorted {
			slices.SortStableFunc(st.events, func(a, b storedEvent) int { return cmp.Compare(a.timestamp, b.timestamp) })
		}
		st.first, st.last = st.events[0].timestamp, st.events[len(st.events)-1].timestamp
		st.lastIngestion = ingested
	}
	if rej == (rejectedInfo{}) {
		return struct{}{}, nil
	}
	return struct {
		RejectedLogEventsInfo rejectedInfo `json:"rejectedLogEventsInfo"`
	}{rej}, nil
}

func countWhile[T any](s []T, f func(i int) bool) int {
	n := 0
	for n < len(s) && f(n) {
		n++
	}
	return n
}

type outputEventJSON struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// GetLogEvents tokens: "f/N" reads forward from position N of the events
// the request's time range selects, "b/N" reads backward from position N.
func parseEventsToken(tok string) (forward bool, pos int, aerr *apiError) {
	dir, num, ok := strings.Cut(tok, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 || (dir != "f" && dir != "b") {
		return false, 0, &apiError{code: "InvalidParameterException", msg: "The specified nextToken is invalid."}
	}
	return dir == "f", n, nil
}

func (s *Server) getLogEvents(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName       *string `json:"logGroupName"`
		LogGroupIdentifier *string `json:"logGroupIdentifier"`
		LogStreamName      *string `json:"logStreamName"`
		StartTime          *int64  `json:"startTime"`
		EndTime            *int64  `json:"endTime"`
		NextToken          *string `json:"nextToken"`
		Limit              *int32  `json:"limit"`
		StartFromHead      *bool   `json:"startFromHead"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkStreamName("logStreamName", in.LogStreamName); aerr != nil {
		return nil, aerr
	}
	limit, aerr := checkLimit(in.Limit, getEventsLimit, getEventsLimit)
	if aerr != nil {
		return nil, aerr
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	pos := -1 // the end of the selection, for a backward read without a token
	if in.NextToken != nil {
		if forward, pos, aerr = parseEventsToken(*in.NextToken); aerr != nil {
			return nil, aerr
		}
	} else if forward {
		pos = 0
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	g, aerr := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if aerr != nil {
		return nil, aerr
	}
	st := g.streams[*in.LogStreamName]
	if st == nil {
		return nil, streamNotFound()
	}
	var sel []storedEvent
	for _, e := range st.events {
		if (in.StartTime == nil || e.timestamp >= *in.StartTime) && (in.EndTime == nil || e.timestamp < *in.EndTime) {
			sel = append(sel, e)
		}
	}
	if pos < 0 || pos > len(sel) {
		pos = len(sel)
	}
	// At most limit events and 1 MB of them, counted as PutLogEvents does.
	from, to := pos, pos
	size := 0
	if forward {
		for to < len(sel) && to-from < limit && size+len(sel[to].message)+eventOverhead <= maxBatchBytes {
			size += len(sel[to].message) + eventOverhead
			to++
		}
	} else {
		for from > 0 && to-from < limit && size+len(sel[from-1].message)+eventOverhead <= maxBatchBytes {
			size += len(sel[from-1].message) + eventOverhead
			from--
		}
	}
	out := struct {
		Events            []outputEventJSON `json:"events"`
		NextForwardToken  string            `json:"nextForwardToken"`
		NextBackwardToken string            `json:"nextBackwardToken"`
	}{
		Events:            []outputEventJSON{},
		NextForwardToken:  "f/" + strconv.Itoa(to),
		NextBackwardToken: "b/" + strconv.Itoa(from),
	}
	for _, e := range sel[from:to] {
		out.Events = append(out.Events, outputEventJSON{Timestamp: e.timestamp, Message: e.message, IngestionTime: e.ingested})
	}
	return out, nil
}
