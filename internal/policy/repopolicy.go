package policy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Repository policies follow "Private repository policies in Amazon ECR":
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html
// SetRepositoryPolicy accepts policy text of at most 10,240 characters.
const MaxRepositoryPolicyLength = 10240

// CrossAccountSid names the one statement of a repository policy that the
// action owns. Statements with other Sids belong to people or other tools and
// are never changed.
const CrossAccountSid = "EcrActionCrossAccountPull"

// partitionPattern is an ARN partition: "aws", "aws-cn", "aws-us-gov",
// "aws-iso-b", ...
var partitionPattern = regexp.MustCompile(`^aws(-[a-z]+)*$`)

// PullActions are the ECR actions another account needs to pull images.
func PullActions() []string {
	return []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
}

// ValidateRepositoryPolicy checks that doc is a JSON policy object with a
// Statement, within ECR's size limit.
func ValidateRepositoryPolicy(doc string) error {
	if n := utf8.RuneCountInString(doc); n > MaxRepositoryPolicyLength {
		return &ValidationError{Problems: []string{fmt.Sprintf("policy is %d characters; ECR accepts at most %d", n, MaxRepositoryPolicyLength)}}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return &ValidationError{Problems: []string{"not a JSON object: " + err.Error()}}
	}
	switch st := m["Statement"].(type) {
	case map[string]any:
	case []any:
		if len(st) == 0 {
			return &ValidationError{Problems: []string{"Statement must not be empty"}}
		}
		for i, s := range st {
			if _, ok := s.(map[string]any); !ok {
				return &ValidationError{Problems: []string{fmt.Sprintf("Statement[%d] is not an object", i)}}
			}
		}
	default:
		return &ValidationError{Problems: []string{"policy has no Statement"}}
	}
	// A repository policy is a resource-based policy: every statement names
	// who it applies to (IAM User Guide, "Principal": "You must use the
	// Principal element in resource-based policies").
	for i, s := range statementsOf(m) {
		st := s.(map[string]any)
		_, p := st["Principal"]
		_, np := st["NotPrincipal"]
		if !p && !np {
			return &ValidationError{Problems: []string{fmt.Sprintf("Statement[%d] has no Principal; a repository policy names the principals it grants to (an IAM identity policy is not a repository policy)", i)}}
		}
	}
	return nil
}

// CrossAccountStatement is the statement the action owns: pull access for
// the root of each account, named by ID. partition is "aws" outside China
// and GovCloud.
func CrossAccountStatement(partition string, accounts []string) (map[string]any, error) {
	if len(accounts) == 0 {
		return nil, fmt.Errorf("cross-account access needs at least one account ID")
	}
	// The partition comes from the repository ARN ECR returned; anything
	// but a partition name (a "*", or text that reshapes the ARN) would make
	// the principal a wildcard or someone else's.
	if !partitionPattern.MatchString(partition) {
		return nil, fmt.Errorf("%q is not an AWS partition (aws, aws-cn, aws-us-gov, ...): refusing to write a cross-account principal with it", partition)
	}
	principals := make([]any, 0, len(accounts))
	seen := map[string]bool{}
	for _, id := range accounts {
		if err := ValidateAccountID(id); err != nil {
			return nil, err
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		principals = append(principals, fmt.Sprintf("arn:%s:iam::%s:root", partition, id))
	}
	actions := make([]any, 0, 3)
	for _, a := range PullActions() {
		actions = append(actions, a)
	}
	return map[string]any{
		"Sid":       CrossAccountSid,
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": principals},
		"Action":    actions,
	}, nil
}

// MergeCrossAccount returns existing with the action's statement replaced by
// one granting pull to accounts, or removed when accounts is empty. Other
// statements are kept as they are. The result is "" when no statement is left
// (the caller deletes the policy then).
func MergeCrossAccount(existing, partition string, accounts []string) (string, error) {
	doc := map[string]any{}
	var statements []any
	if strings.TrimSpace(existing) != "" {
		if err := json.Unmarshal([]byte(existing), &doc); err != nil {
			return "", fmt.Errorf("parsing the repository's current policy: %w", err)
		}
		statements = statementsOf(doc)
	}
	kept := make([]any, 0, len(statements)+1)
	for _, s := range statements {
		if m, ok := s.(map[string]any); ok && m["Sid"] == CrossAccountSid {
			continue
		}
		kept = append(kept, s)
	}
	if len(accounts) > 0 {
		st, err := CrossAccountStatement(partition, accounts)
		if err != nil {
			return "", err
		}
		kept = append(kept, st)
	}
	if len(kept) == 0 {
		return "", nil
	}
	if _, ok := doc["Version"]; !ok {
		doc["Version"] = "2012-10-17"
	}
	doc["Statement"] = kept
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encoding repository policy: %w", err)
	}
	if err := ValidateRepositoryPolicy(string(out)); err != nil {
		return "", fmt.Errorf("merged repository policy: %w", err)
	}
	return string(out), nil
}

// OwnedStatementAccounts returns the account IDs the action's statement
// grants pull to in doc, or nil when doc has no such statement.
func OwnedStatementAccounts(doc string) []string {
	var m map[string]any
	if json.Unmarshal([]byte(doc), &m) != nil {
		return nil
	}
	statements := statementsOf(m)
	for _, s := range statements {
		st, ok := s.(map[string]any)
		if !ok || st["Sid"] != CrossAccountSid {
			continue
		}
		p, _ := st["Principal"].(map[string]any)
		var ids []string
		for _, arn := range stringList(p["AWS"]) {
			parts := strings.Split(arn, ":")
			if len(parts) == 6 {
				ids = append(ids, parts[4])
			} else {
				ids = append(ids, arn)
			}
		}
		sort.Strings(ids)
		if ids == nil {
			ids = []string{}
		}
		return ids
	}
	return nil
}

// EqualRepositoryPolicies reports whether two IAM policy documents say the
// same thing: key order, white space, a single string versus a one-element
// list, and the order of list members and statements do not matter.
func EqualRepositoryPolicies(a, b string) bool {
	na, errA := normalizeIAM(a)
	nb, errB := normalizeIAM(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return na == nb
}

func normalizeIAM(doc string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return "", err
	}
	statements := statementsOf(m)
	norm := make([]string, 0, len(statements))
	for _, s := range statements {
		st, ok := s.(map[string]any)
		if !ok {
			b, _ := json.Marshal(s)
			norm = append(norm, string(b))
			continue
		}
		out := map[string]any{}
		for k, v := range st {
			switch k {
			case "Action", "NotAction", "Resource", "NotResource":
				out[k] = sortedList(v)
			case "Principal", "NotPrincipal":
				if pm, ok := v.(map[string]any); ok {
					np := map[string]any{}
					for pk, pv := range pm {
						np[pk] = sortedList(pv)
					}
					out[k] = np
				} else {
					out[k] = v
				}
			default:
				out[k] = v
			}
		}
		b, err := json.Marshal(out)
		if err != nil {
			return "", err
		}
		norm = append(norm, string(b))
	}
	sort.Strings(norm)
	m["Statement"] = norm
	b, err := json.Marshal(m)
	return string(b), err
}

func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func sortedList(v any) any {
	switch v.(type) {
	case string, []any:
		l := stringList(v)
		sort.Strings(l)
		return l
	}
	return v
}

// statementsOf returns a policy's statements: IAM allows one object or a list.
func statementsOf(doc map[string]any) []any {
	switch st := doc["Statement"].(type) {
	case map[string]any:
		return []any{st}
	case []any:
		return st
	}
	return nil
}
