package ecrlocal

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Repository policy rules, written from:
//   - the model's RepositoryPolicyText shape: at most 10,240 characters;
//   - "Private repository policies in Amazon ECR" and "Private repository
//     policy examples in Amazon ECR" (ECR User Guide; the examples are
//     testdata/docs/repopolicy/valid, each must pass): "Amazon ECR repository
//     policies are a subset of IAM policies that are scoped for, and
//     specifically used for, controlling access to individual Amazon ECR
//     repositories";
//   - the IAM JSON policy element reference (IAM User Guide): the elements of
//     a policy and of a statement, Version 2012-10-17 or 2008-10-17, a
//     resource-based policy names a Principal.
//
// Stricter readings where ECR's own text is silent (the README lists them):
// unknown elements and element names in another case are refused; an
// action must be "*" or an ecr: action (the policy controls access to an ECR
// repository); Sids, when given, are unique; an AWS principal is "*", an
// account ID or an IAM ARN. ECR also checks that the principals exist, which
// ecrlocal cannot know: it takes any well-formed one.
const maxRepositoryPolicyText = 10240

var (
	ecrActionRule    = regexp.MustCompile(`^(\*|ecr:[A-Za-z*?]+)$`)
	awsPrincipalRule = regexp.MustCompile(`^(\*|[0-9]{12}|arn:aws[a-z-]*:(iam::[0-9]{12}:(root|user/.+|role/.+|federated-user/.+)|sts::[0-9]{12}:(assumed-role|federated-user)/.+))$`)
)

// checkRepositoryPolicy returns every way text breaks ECR's repository
// policy rules; nil when SetRepositoryPolicy would take it.
func checkRepositoryPolicy(text string) []string {
	if n := utf8.RuneCountInString(text); n > maxRepositoryPolicyText {
		return []string{fmt.Sprintf("the policy is %d characters long; policyText is at most %d characters", n, maxRepositoryPolicyText)}
	}
	doc, err := exactObject([]byte(text))
	if err != nil {
		return []string{"the policy is not a JSON object: " + err.Error()}
	}
	var problems []string
	for _, k := range unknownFields(doc, "Version", "Id", "Statement") {
		problems = append(problems, fmt.Sprintf("unknown policy element %q (a policy has Version, Id and Statement; element names are case-sensitive)", k))
	}
	if raw, ok := doc["Version"]; ok {
		var v string
		if json.Unmarshal(raw, &v) != nil || (v != "2012-10-17" && v != "2008-10-17") {
			problems = append(problems, fmt.Sprintf("Version %s is not 2012-10-17 or 2008-10-17", raw))
		}
	}
	if raw, ok := doc["Id"]; ok {
		var id string
		if json.Unmarshal(raw, &id) != nil {
			problems = append(problems, "Id must be a string")
		}
	}
	raw, ok := doc["Statement"]
	if !ok {
		return append(problems, "the policy has no Statement")
	}
	var statements []json.RawMessage
	if st, err := exactObject(raw); err == nil && st != nil {
		statements = []json.RawMessage{raw}
	} else if json.Unmarshal(raw, &statements) != nil || len(statements) == 0 {
		return append(problems, "Statement must be a statement object or a non-empty list of them")
	}
	sids := map[string]int{}
	for i, s := range statements {
		problems = append(problems, checkStatement(i, s, sids)...)
	}
	return problems
}

func checkStatement(i int, raw json.RawMessage, sids map[string]int) []string {
	where := fmt.Sprintf("Statement[%d]", i)
	st, err := exactObject(raw)
	if err != nil {
		return []string{where + ": not a JSON object"}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, where+": "+fmt.Sprintf(format, args...)) }
	for _, k := range unknownFields(st, "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition") {
		bad("unknown element %q", k)
	}
	if rawSid, ok := st["Sid"]; ok {
		var sid string
		if json.Unmarshal(rawSid, &sid) != nil {
			bad("Sid must be a string")
		} else if j, dup := sids[sid]; dup {
			bad("Sid %q is already used by Statement[%d]; Sids must be unique within a policy", sid, j)
		} else {
			sids[sid] = i
		}
	}
	if effect, _ := stringField(st, "Effect"); effect != "Allow" && effect != "Deny" {
		bad("Effect must be Allow or Deny")
	}

	_, hasP := st["Principal"]
	_, hasNP := st["NotPrincipal"]
	switch {
	case hasP && hasNP:
		bad("give Principal or NotPrincipal, not both")
	case !hasP && !hasNP:
		bad("a repository policy is a resource-based policy: each statement needs a Principal")
	case hasP:
		problems = append(problems, checkPrincipal(where+".Principal", st["Principal"])...)
	default:
		problems = append(problems, checkPrincipal(where+".NotPrincipal", st["NotPrincipal"])...)
	}

	_, hasA := st["Action"]
	_, hasNA := st["NotAction"]
	switch {
	case hasA && hasNA:
		bad("give Action or NotAction, not both")
	case !hasA && !hasNA:
		bad("each statement needs an Action")
	default:
		key := "Action"
		if hasNA {
			key = "NotAction"
		}
		actions, ok := oneOrMany(st[key])
		if !ok {
			bad("%s must be a string or a non-empty list of strings", key)
		}
		for _, a := range actions {
			if !ecrActionRule.MatchString(a) {
				bad("%s %q is not an Amazon ECR action (ecr:<Action>, wildcards allowed, or *)", key, a)
			}
		}
	}
	if _, hasR := st["Resource"]; hasR {
		if _, hasNR := st["NotResource"]; hasNR {
			bad("give Resource or NotResource, not both")
		}
	}
	for _, key := range []string{"Resource", "NotResource"} {
		if r, ok := st[key]; ok {
			if _, ok := oneOrMany(r); !ok {
				bad("%s must be a string or a non-empty list of strings", key)
			}
		}
	}
	if c, ok := st["Condition"]; ok {
		problems = append(problems, checkCondition(where, c)...)
	}
	return problems
}

func checkPrincipal(where string, raw json.RawMessage) []string {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return []string{where + `: a Principal is "*" or an object such as {"AWS": "arn:aws:iam::111122223333:root"}`}
		}
		return nil
	}
	m, err := exactObject(raw)
	if err != nil || len(m) == 0 {
		return []string{where + `: a Principal is "*" or a non-empty object such as {"AWS": "arn:aws:iam::111122223333:root"}`}
	}
	var problems []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		values, ok := oneOrMany(m[k])
		if !ok {
			problems = append(problems, fmt.Sprintf("%s.%s must be a string or a non-empty list of strings", where, k))
			continue
		}
		switch k {
		case "AWS":
			for _, v := range values {
				if !awsPrincipalRule.MatchString(v) {
					problems = append(problems, fmt.Sprintf("%s.AWS %q is not \"*\", a 12-digit account ID or an IAM principal ARN (arn:aws:iam::<account>:root, :user/..., :role/...)", where, v))
				}
			}
		case "Service", "Federated", "CanonicalUser":
			for _, v := range values {
				if v == "" || strings.ContainsAny(v, " \t\n") {
					problems = append(problems, fmt.Sprintf("%s.%s %q is not a principal", where, k, v))
				}
			}
		default:
			problems = append(problems, fmt.Sprintf("%s: unknown principal type %q (AWS, Service, Federated or CanonicalUser)", where, k))
		}
	}
	return problems
}

// checkCondition checks the Condition block's shape: operator -> key ->
// value or list of values.
func checkCondition(where string, raw json.RawMessage) []string {
	ops, err := exactObject(raw)
	if err != nil || len(ops) == 0 {
		return []string{where + ": Condition must be a non-empty object of condition operators"}
	}
	var problems []string
	for op, body := range ops {
		keys, err := exactObject(body)
		if err != nil || len(keys) == 0 {
			problems = append(problems, fmt.Sprintf("%s: Condition %s must map condition keys to values", where, op))
			continue
		}
		for key, v := range keys {
			var one any
			if json.Unmarshal(v, &one) != nil {
				problems = append(problems, fmt.Sprintf("%s: Condition %s %s has no value", where, op, key))
				continue
			}
			switch x := one.(type) {
			case string, bool, float64:
			case []any:
				if len(x) == 0 {
					problems = append(problems, fmt.Sprintf("%s: Condition %s %s is an empty list", where, op, key))
				}
			default:
				problems = append(problems, fmt.Sprintf("%s: Condition %s %s must be a value or a list of values", where, op, key))
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// oneOrMany reads an IAM element that is a string or a non-empty list of
// strings.
func oneOrMany(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, false
	}
	return many, true
}
