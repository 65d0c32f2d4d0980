package logslocal

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

type logGroupJSON struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   *int   `json:"retentionInDays,omitempty"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"` // the group ARN with ":*" appended, as the service reports it
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
	KmsKeyID          string `json:"kmsKeyId,omitempty"`
	LogGroupClass     string `json:"logGroupClass"`
}

func (s *Server) logGroupJSON(g *logGroup) logGroupJSON {
	out := logGroupJSON{
		LogGroupName:  g.name,
		CreationTime:  g.created,
		Arn:           s.groupARN(g.name) + ":*",
		LogGroupArn:   s.groupARN(g.name),
		StoredBytes:   g.storedBytes(),
		KmsKeyID:      g.kmsKeyID,
		LogGroupClass: g.class,
	}
	if g.retention > 0 {
		r := g.retention
		out.RetentionInDays = &r
	}
	return out
}

func (s *Server) createLogGroup(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName  *string           `json:"logGroupName"`
		KmsKeyID      *string           `json:"kmsKeyId"`
		LogGroupClass *string           `json:"logGroupClass"`
		Tags          map[string]string `json:"tags"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkGroupName("logGroupName", in.LogGroupName); aerr != nil {
		return nil, aerr
	}
	class := "STANDARD"
	if in.LogGroupClass != nil {
		class = *in.LogGroupClass
		if !slices.Contains(groupClasses, class) {
			return nil, invalidParameter("logGroupClass", class, "Member must satisfy enum value set: ["+strings.Join(groupClasses, ", ")+"]")
		}
	}
	var kms string
	if in.KmsKeyID != nil {
		kms = *in.KmsKeyID
		if kms == "" || len(kms) > 256 {
			return nil, invalidParameter("kmsKeyId", kms, "Member must have length between 1 and 256")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[*in.LogGroupName] != nil {
		return nil, &apiError{code: "ResourceAlreadyExistsException", msg: "The specified log group already exists"}
	}
	s.groups[*in.LogGroupName] = &logGroup{
		name:     *in.LogGroupName,
		created:  s.now().UnixMilli(),
		kmsKeyID: kms,
		class:    class,
		streams:  map[string]*logStream{},
	}
	return struct{}{}, nil
}

func (s *Server) describeLogGroups(body []byte) (any, *apiError) {
	var in struct {
		LogGroupNamePrefix    *string  `json:"logGroupNamePrefix"`
		LogGroupNamePattern   *string  `json:"logGroupNamePattern"`
		NextToken             *string  `json:"nextToken"`
		Limit                 *int32   `json:"limit"`
		LogGroupClass         *string  `json:"logGroupClass"`
		AccountIdentifiers    []string `json:"accountIdentifiers"`
		IncludeLinkedAccounts *bool    `json:"includeLinkedAccounts"`
		LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if len(in.AccountIdentifiers) > 0 || (in.IncludeLinkedAccounts != nil && *in.IncludeLinkedAccounts) || len(in.LogGroupIdentifiers) > 0 {
		return nil, &apiError{code: "InvalidParameterException", msg: "logslocal serves one account: accountIdentifiers, includeLinkedAccounts and logGroupIdentifiers are not supported"}
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, &apiError{code: "InvalidParameterException", msg: "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."}
	}
	if in.LogGroupNamePrefix != nil {
		if aerr := checkGroupName("logGroupNamePrefix", in.LogGroupNamePrefix); aerr != nil {
			return nil, aerr
		}
	}
	if p := in.LogGroupNamePattern; p != nil && *p != "" {
		if len(*p) > maxNameLength || !groupNamePattern.MatchString(*p) {
			return nil, invalidParameter("logGroupNamePattern", *p, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]*`)
		}
	}
	if c := in.LogGroupClass; c != nil && !slices.Contains(groupClasses, *c) {
		return nil, invalidParameter("logGroupClass", *c, "Member must satisfy enum value set: ["+strings.Join(groupClasses, ", ")+"]")
	}
	limit, aerr := checkLimit(in.Limit, describeLimit, describeLimit)
	if aerr != nil {
		return nil, aerr
	}
	after, hasAfter, aerr := parsePageToken(in.NextToken)
	if aerr != nil {
		return nil, aerr
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	var matched []*logGroup
	for _, name := range slices.Sorted(maps.Keys(s.groups)) {
		g := s.groups[name]
		switch {
		case in.LogGroupNamePrefix != nil && !strings.HasPrefix(name, *in.LogGroupNamePrefix):
		case in.LogGroupNamePattern != nil && !strings.Contains(name, *in.LogGroupNamePattern):
		case in.LogGroupClass != nil && g.class != *in.LogGroupClass:
		default:
			matched = append(matched, g)
		}
	}
	groups, next := page(matched, func(g *logGroup) string { return g.name }, after, hasAfter, false, limit)
	out := struct {
		LogGroups []logGroupJSON `json:"logGroups"`
		NextToken string         `json:"nextToken,omitempty"`
	}{LogGroups: []logGroupJSON{}, NextToken: next}
	for _, g := range groups {
		out.LogGroups = append(out.LogGroups, s.logGroupJSON(g))
	}
	return out, nil
}

func (s *Server) putRetentionPolicy(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName    *string `json:"logGroupName"`
		RetentionInDays *int    `json:"retentionInDays"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkGroupName("logGroupName", in.LogGroupName); aerr != nil {
		return nil, aerr
	}
	if in.RetentionInDays == nil {
		return nil, missingParameter("retentionInDays")
	}
	if !slices.Contains(retentionDays, *in.RetentionInDays) {
		return nil, invalidParameter("retentionInDays", fmt.Sprint(*in.RetentionInDays), "Member must satisfy enum value set: "+fmt.Sprint(retentionDays))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[*in.LogGroupName]
	if g == nil {
		return nil, groupNotFound()
	}
	g.retention = *in.RetentionInDays
	return struct{}{}, nil
}

func (s *Server) deleteRetentionPolicy(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName *string `json:"logGroupName"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkGroupName("logGroupName", in.LogGroupName); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[*in.LogGroupName]
	if g == nil {
		return nil, groupNotFound()
	}
	g.retention = 0
	return struct{}{}, nil
}
