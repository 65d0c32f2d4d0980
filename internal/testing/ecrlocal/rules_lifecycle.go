package ecrlocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Lifecycle policy rules, written from the ECR User Guide:
//   - "Lifecycle policy properties in Amazon ECR"
//     https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
//   - "Examples of lifecycle policies in Amazon ECR" (whose examples are
//     testdata/docs/lifecycle/valid; each must pass)
//     https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
//   - "Archiving an image" (archived images stay at least 90 days)
//   - the model's LifecyclePolicyText shape (100 to 30,720 characters) and
//     the ECR service quota of 50 rules per lifecycle policy.
//
// Where the documents leave a case open, the stricter reading is taken (the
// README lists those): field names are exact (JSON is case-sensitive here),
// unknown fields are refused, and a tagStatus any rule takes no tag lists.
const (
	minLifecycleText  = 100
	maxLifecycleText  = 30720
	maxLifecycleRules = 50
	maxTagWildcards   = 4
	minArchiveDays    = 90
)

// Values of a rule's selection and action.
const (
	countImageCountMoreThan     = "imageCountMoreThan"
	countSinceImagePushed       = "sinceImagePushed"
	countSinceImagePulled       = "sinceImagePulled"
	countSinceImageTransitioned = "sinceImageTransitioned"
	storageStandard             = "standard"
	storageArchive              = "archive"
	actionExpire                = "expire"
	actionTransition            = "transition"
)

// lifecycleRuleView is what the checks need of one rule after decoding.
type lifecycleRuleView struct {
	index        int
	priority     int
	tagStatus    string
	storageClass string // as written, "" = standard
}

// checkLifecyclePolicy returns every way text breaks ECR's lifecycle policy
// rules; nil when PutLifecyclePolicy would take it.
func checkLifecyclePolicy(text string) []string {
	if n := utf8.RuneCountInString(text); n < minLifecycleText || n > maxLifecycleText {
		return []string{fmt.Sprintf("the policy is %d characters long; lifecyclePolicyText must be %d to %d characters", n, minLifecycleText, maxLifecycleText)}
	}
	top, err := exactObject([]byte(text))
	if err != nil {
		return []string{"the policy is not a JSON object: " + err.Error()}
	}
	var problems []string
	for _, k := range unknownFields(top, "rules") {
		problems = append(problems, fmt.Sprintf("unknown field %q at the top level (the document is {\"rules\": [...]}, field names are case-sensitive)", k))
	}
	var rules []json.RawMessage
	if raw, ok := top["rules"]; !ok || json.Unmarshal(raw, &rules) != nil || len(rules) == 0 {
		return append(problems, `"rules" must be a non-empty array of rules`)
	}
	if len(rules) > maxLifecycleRules {
		problems = append(problems, fmt.Sprintf("the policy has %d rules; a lifecycle policy holds at most %d", len(rules), maxLifecycleRules))
	}
	var views []lifecycleRuleView
	for i, raw := range rules {
		v, ps := checkLifecycleRule(i, raw)
		problems = append(problems, ps...)
		if v != nil {
			views = append(views, *v)
		}
	}
	problems = append(problems, checkPriorities(views)...)
	return problems
}

// checkPriorities applies the rules that span rules: priorities are unique,
// and a tagStatus any rule has the highest priority, evaluated last. The
// docs' own "Combining archive and expire rules" example has two any rules,
// one selecting standard images (priority 1) and one archived images
// (priority 2), so the order is checked among the rules that select the same
// storage class.
func checkPriorities(views []lifecycleRuleView) []string {
	var problems []string
	seen := map[int]int{}
	for _, v := range views {
		if j, dup := seen[v.priority]; dup {
			problems = append(problems, fmt.Sprintf("rules[%d]: rulePriority %d is already used by rules[%d]; each rule needs a unique rulePriority", v.index, v.priority, j))
			continue
		}
		seen[v.priority] = v.index
	}
	for _, class := range []string{storageStandard, storageArchive} {
		maxPrio := 0
		for _, v := range views {
			if classOf(v) == class && v.priority > maxPrio {
				maxPrio = v.priority
			}
		}
		for _, v := range views {
			if classOf(v) == class && v.tagStatus == "any" && v.priority != maxPrio {
				problems = append(problems, fmt.Sprintf("rules[%d]: a rule with tagStatus any must have the highest rulePriority and be evaluated last; it has %d, another %s rule has %d", v.index, v.priority, class, maxPrio))
			}
		}
	}
	return problems
}

func classOf(v lifecycleRuleView) string {
	if v.storageClass == "" {
		return storageStandard
	}
	return v.storageClass
}

// checkLifecycleRule checks one rule. The view is nil when the rule is too
// broken to take part in the checks across rules.
func checkLifecycleRule(i int, raw json.RawMessage) (*lifecycleRuleView, []string) {
	where := fmt.Sprintf("rules[%d]", i)
	rule, err := exactObject(raw)
	if err != nil {
		return nil, []string{where + ": not a JSON object"}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, where+": "+fmt.Sprintf(format, args...)) }
	for _, k := range unknownFields(rule, "rulePriority", "description", "selection", "action") {
		bad("unknown field %q (rule fields are rulePriority, description, selection, action)", k)
	}
	view := &lifecycleRuleView{index: i}
	if p, ok := intField(rule, "rulePriority"); !ok || p < 1 {
		bad("rulePriority is required: an integer of at least 1")
		view = nil
	} else {
		view.priority = p
	}
	if d, ok := rule["description"]; ok {
		var s string
		if json.Unmarshal(d, &s) != nil {
			bad("description must be a string")
		}
	}

	sel, err := exactObject(rule["selection"])
	if err != nil {
		bad("selection is required: an object")
		return nil, problems
	}
	for _, k := range unknownFields(sel, "tagStatus", "tagPatternList", "tagPrefixList", "storageClass", "countType", "countUnit", "countNumber") {
		bad("unknown field %q in selection", k)
	}
	tagStatus, _ := stringField(sel, "tagStatus")
	patterns, hasPatterns, okP := stringListField(sel, "tagPatternList")
	prefixes, hasPrefixes, okX := stringListField(sel, "tagPrefixList")
	if !okP {
		bad("tagPatternList must be a list of strings")
	}
	if !okX {
		bad("tagPrefixList must be a list of strings")
	}
	switch tagStatus {
	case "tagged":
		switch {
		case len(patterns) == 0 && len(prefixes) == 0:
			bad("tagStatus tagged needs a tagPatternList or a tagPrefixList")
		case hasPatterns && hasPrefixes:
			bad("give a tagPatternList or a tagPrefixList, not both")
		}
		for _, p := range patterns {
			if p == "" {
				bad("tagPatternList has an empty pattern")
			} else if n := strings.Count(p, "*"); n > maxTagWildcards {
				bad("tag pattern %q has %d wildcards; the limit is %d per pattern", p, n, maxTagWildcards)
			}
		}
		for _, p := range prefixes {
			if p == "" {
				bad("tagPrefixList has an empty prefix")
			}
		}
	case "untagged", "any":
		if hasPatterns || hasPrefixes {
			bad("tagStatus %s must omit both tagPrefixList and tagPatternList", tagStatus)
		}
	case "":
		bad("selection.tagStatus is required: tagged, untagged or any")
	default:
		bad("tagStatus %q is not one of tagged, untagged, any", tagStatus)
	}
	if view != nil {
		view.tagStatus = tagStatus
	}

	countType, _ := stringField(sel, "countType")
	storage, hasStorage := stringField(sel, "storageClass")
	switch {
	case !hasStorage:
	case storage != storageStandard && storage != storageArchive:
		bad("storageClass %q is not one of standard, archive", storage)
	}
	if view != nil && hasStorage {
		view.storageClass = storage
	}
	unit, hasUnit := stringField(sel, "countUnit")
	switch countType {
	case countImageCountMoreThan:
		if hasUnit {
			bad("countUnit can only be given with countType sinceImagePushed, sinceImagePulled or sinceImageTransitioned")
		}
	case countSinceImagePushed, countSinceImagePulled, countSinceImageTransitioned:
		if unit != "days" {
			bad("countType %s needs countUnit \"days\"", countType)
		}
	case "":
		bad("selection.countType is required: imageCountMoreThan, sinceImagePushed, sinceImagePulled or sinceImageTransitioned")
	default:
		bad("countType %q is not one of imageCountMoreThan, sinceImagePushed, sinceImagePulled, sinceImageTransitioned", countType)
	}
	if countType == countSinceImageTransitioned {
		if storage != storageArchive {
			bad("countType sinceImageTransitioned needs storageClass \"archive\"")
		}
	} else if hasStorage && storage == storageArchive {
		bad("storageClass archive can only be used with countType sinceImageTransitioned; %s selects standard images", countType)
	}
	count, ok := intField(sel, "countNumber")
	if !ok || count < 1 {
		bad("countNumber is required: a positive integer (0 is not accepted)")
	}

	act, err := exactObject(rule["action"])
	if err != nil {
		bad("action is required: an object")
		return view, problems
	}
	for _, k := range unknownFields(act, "type", "targetStorageClass") {
		bad("unknown field %q in action", k)
	}
	typ, _ := stringField(act, "type")
	target, hasTarget := stringField(act, "targetStorageClass")
	switch typ {
	case actionExpire:
		if hasTarget {
			bad("targetStorageClass can only be given with action type transition")
		}
		if countType == countSinceImagePulled {
			bad("countType sinceImagePulled must be used with the transition action, not expire: transition images to archive first, then expire them with sinceImageTransitioned")
		}
		if countType == countSinceImageTransitioned && ok && count < minArchiveDays {
			bad("countNumber %d: archived images are kept at least %d days, so a rule cannot expire them sooner", count, minArchiveDays)
		}
	case actionTransition:
		if target != storageArchive {
			bad("action type transition needs targetStorageClass \"archive\"")
		}
		if countType == countSinceImageTransitioned {
			bad("countType sinceImageTransitioned must be used with the expire action")
		}
	case "":
		bad("action.type is required: expire or transition")
	default:
		bad("action type %q is not one of expire, transition", typ)
	}
	return view, problems
}

// exactObject decodes a JSON object keeping its keys as written: ECR's field
// names are case-sensitive, encoding/json's struct matching is not.
func exactObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("null is not an object")
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON document")
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("data after the JSON document")
	}
	return m, nil
}

// unknownFields lists, sorted, the keys of m that are not among allowed.
func unknownFields(m map[string]json.RawMessage, allowed ...string) []string {
	var out []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// intField reads an integer member; ok is false when it is missing or not
// an integer (1.5, "1", true).
func intField(m map[string]json.RawMessage, key string) (int, bool) {
	raw, present := m[key]
	if !present {
		return 0, false
	}
	var n int
	if json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

// stringField reads a string member; present is false when it is missing.
// A member that is not a string reads as present with a value no rule
// accepts.
func stringField(m map[string]json.RawMessage, key string) (string, bool) {
	raw, present := m[key]
	if !present {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw), true
	}
	return s, true
}

// stringListField reads a list of strings; ok is false when it is present
// but not one.
func stringListField(m map[string]json.RawMessage, key string) (list []string, present, ok bool) {
	raw, present := m[key]
	if !present {
		return nil, false, true
	}
	if json.Unmarshal(raw, &list) != nil || list == nil {
		return nil, true, false
	}
	return list, true, true
}
