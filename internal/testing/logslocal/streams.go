package logslocal

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

type logStreamJSON struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (s *Server) logStreamJSON(g *logGroup, st *logStream) logStreamJSON {
	out := logStreamJSON{
		LogStreamName: st.name,
		CreationTime:  st.created,
		Arn:           s.streamARN(g.name, st.name),
		StoredBytes:   st.bytes,
	}
	if len(st.events) > 0 {
		first, last, ingested := st.first, st.last, st.lastIngestion
		out.FirstEventTimestamp, out.LastEventTimestamp, out.LastIngestionTime = &first, &last, &ingested
	}
	return out
}

func (s *Server) createLogStream(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName  *string `json:"logGroupName"`
		LogStreamName *string `json:"logStreamName"`
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
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[*in.LogGroupName]
	if g == nil {
		return nil, groupNotFound()
	}
	if g.streams[*in.LogStreamName] != nil {
		return nil, &apiError{code: "ResourceAlreadyExistsException", msg: "The specified log stream already exists"}
	}
	g.streams[*in.LogStreamName] = &logStream{name: *in.LogStreamName, created: s.now().UnixMilli()}
	return struct{}{}, nil
}

func (s *Server) describeLogStreams(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName        *string `json:"logGroupName"`
		LogGroupIdentifier  *string `json:"logGroupIdentifier"`
		LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
		OrderBy             *string `json:"orderBy"`
		Descending          *bool   `json:"descending"`
		NextToken           *string `json:"nextToken"`
		Limit               *int32  `json:"limit"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if in.LogStreamNamePrefix != nil {
		if aerr := checkStreamName("logStreamNamePrefix", in.LogStreamNamePrefix); aerr != nil {
			return nil, aerr
		}
	}
	byTime := false
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			byTime = true
		default:
			return nil, invalidParameter("orderBy", *in.OrderBy, "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
		}
	}
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, &apiError{code: "InvalidParameterException", msg: "Cannot order by LastEventTime with a logStreamNamePrefix."}
	}
	limit, aerr := checkLimit(in.Limit, describeLimit, describeLimit)
	if aerr != nil {
		return nil, aerr
	}
	after, hasAfter, aerr := parsePageToken(in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	desc := in.Descending != nil && *in.Descending

	s.mu.RLock()
	defer s.mu.RUnlock()
	g, aerr := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if aerr != nil {
		return nil, aerr
	}
	key := func(st *logStream) string { return st.name }
	if byTime {
		// Streams without events sort first, as if their last event were at
		// the epoch; ties by name keep the order (and the token) stable.
		key = func(st *logStream) string {
			var last int64
			if len(st.events) > 0 {
				last = max(st.last, 0)
			}
			return fmt.Sprintf("%020d/%s", last, st.name)
		}
	}
	var matched []*logStream
	for _, st := range g.streams {
		if in.LogStreamNamePrefix == nil || strings.HasPrefix(st.name, *in.LogStreamNamePrefix) {
			matched = append(matched, st)
		}
	}
	slices.SortFunc(matched, func(a, b *logStream) int {
		if desc {
			return cmp.Compare(key(b), key(a))
		}
		return cmp.Compare(key(a), key(b))
	})
	streams, next := page(matched, key, after, hasAfter, desc, limit)
	out := struct {
		LogStreams []logStreamJSON `json:"logStreams"`
		NextToken  string          `json:"nextToken,omitempty"`
	}{LogStreams: []logStreamJSON{}, NextToken: next}
	for _, st := range streams {
		out.LogStreams = append(out.LogStreams, s.logStreamJSON(g, st))
	}
	return out, nil
}
