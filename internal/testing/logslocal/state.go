package logslocal

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Name limits of the CloudWatch Logs API Reference.
const (
	maxNameLength  = 512
	describeLimit  = 50 // DescribeLogGroups and DescribeLogStreams: 1..50, default 50
	getEventsLimit = 10000
)

var groupNamePattern = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)

// retentionDays are the retentionInDays values PutRetentionPolicy accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var groupClasses = []string{"STANDARD", "INFREQUENT_ACCESS", "DELIVERY"}

type logGroup struct {
	name      string
	created   int64 // ms since the epoch
	retention int   // days; 0 = never expire
	kmsKeyID  string
	class     string
	streams   map[string]*logStream
}

type logStream struct {
	name          string
	created       int64
	first, last   int64 // event timestamps; meaningful once events is not empty
	lastIngestion int64
	bytes         int64 // message bytes stored
	events        []storedEvent
}

type storedEvent struct {
	timestamp int64
	message   string
	ingested  int64
}

func (g *logGroup) storedBytes() int64 {
	var n int64
	for _, st := range g.streams {
		n += st.bytes
	}
	return n
}

// checkGroupName validates a log group name (member names the request
// member, for the message).
func checkGroupName(member string, name *string) *apiError {
	if name == nil {
		return missingParameter(member)
	}
	n := *name
	if len(n) < 1 || len(n) > maxNameLength {
		return invalidParameter(member, n, fmt.Sprintf("Member must have length between 1 and %d", maxNameLength))
	}
	if !groupNamePattern.MatchString(n) {
		return invalidParameter(member, n, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
	return nil
}

// checkStreamName validates a log stream name: 1 to 512 characters, none
// of them ':' or '*'.
func checkStreamName(member string, name *string) *apiError {
	if name == nil {
		return missingParameter(member)
	}
	n := *name
	if c := utf8.RuneCountInString(n); c < 1 || c > maxNameLength {
		return invalidParameter(member, n, fmt.Sprintf("Member must have length between 1 and %d", maxNameLength))
	}
	if strings.ContainsAny(n, ":*") || !utf8.ValidString(n) {
		return invalidParameter(member, n, "Member must satisfy regular expression pattern: [^:*]*")
	}
	return nil
}

// checkLimit validates an optional limit member and returns its value, def
// when absent.
func checkLimit(limit *int32, maxLimit int, def int) (int, *apiError) {
	if limit == nil {
		return def, nil
	}
	if *limit < 1 || int(*limit) > maxLimit {
		return 0, invalidParameter("limit", fmt.Sprint(*limit), fmt.Sprintf("Member must have value between 1 and %d", maxLimit))
	}
	return int(*limit), nil
}

// resolveGroup finds the group a request names, by logGroupName or by
// logGroupIdentifier (a name or an ARN without the trailing ":*"); exactly
// one of the two must be given. The caller holds s.mu.
func (s *Server) resolveGroup(name, identifier *string) (*logGroup, *apiError) {
	switch {
	case name != nil && identifier != nil:
		return nil, &apiError{code: "InvalidParameterException", msg: "LogGroup name and LogGroup ARN are mutually exclusive parameters."}
	case name != nil:
		if aerr := checkGroupName("logGroupName", name); aerr != nil {
			return nil, aerr
		}
		g := s.groups[*name]
		if g == nil {
			return nil, groupNotFound()
		}
		return g, nil
	case identifier != nil:
		id := *identifier
		if strings.HasPrefix(id, "arn:") {
			rest, ok := strings.CutPrefix(id, s.groupARNPrefix())
			if !ok {
				return nil, groupNotFound()
			}
			id = rest
		}
		if aerr := checkGroupName("logGroupIdentifier", &id); aerr != nil {
			return nil, aerr
		}
		g := s.groups[id]
		if g == nil {
			return nil, groupNotFound()
		}
		return g, nil
	default:
		return nil, &apiError{code: "InvalidParameterException", msg: "Should provide either logGroupName or logGroupIdentifier."}
	}
}

func (s *Server) groupARNPrefix() string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:", s.region, s.account)
}

// groupARN is the log group ARN without the ":*" suffix (logGroupArn).
func (s *Server) groupARN(name string) string { return s.groupARNPrefix() + name }

func (s *Server) streamARN(group, stream string) string {
	return s.groupARN(group) + ":log-stream:" + stream
}

// pageToken is the opaque nextToken of DescribeLogGroups and
// DescribeLogStreams: the last name of the previous page.
func pageToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + last))
}

func parsePageToken(tok *string) (string, bool, *apiError) {
	if tok == nil {
		return "", false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	if err == nil {
		if after, ok := strings.CutPrefix(string(raw), "after:"); ok {
			return after, true, nil
		}
	}
	return "", false, &apiError{code: "InvalidParameterException", msg: "The specified nextToken is invalid."}
}

// page cuts a list ordered by key (descending when desc is set) to the
// items after the token's key, at most limit of them, and returns the token
// of the next page, "" when this is the last.
func page[T any](items []T, key func(T) string, after string, hasAfter, desc bool, limit int) ([]T, string) {
	if hasAfter {
		i := 0
		for i < len(items) && (!desc && key(items[i]) <= after || desc && key(items[i]) >= after) {
			i++
		}
		items = items[i:]
	}
	if len(items) <= limit {
		return items, ""
	}
	return items[:limit], pageToken(key(items[limit-1]))
}
