package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The rules below follow "Lifecycle policy properties in Amazon ECR":
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
// and the policy template in "Examples of lifecycle policies in Amazon ECR":
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html

// LifecyclePolicy is the JSON document PutLifecyclePolicy takes.
type LifecyclePolicy struct {
	Rules []LifecycleRule `json:"rules"`
}

// LifecycleRule is one rule of a lifecycle policy.
type LifecycleRule struct {
	RulePriority int             `json:"rulePriority"`
	Description  string          `json:"description,omitempty"`
	Selection    LifecycleSelect `json:"selection"`
	Action       LifecycleAction `json:"action"`
}

// LifecycleSelect is a rule's selection.
type LifecycleSelect struct {
	TagStatus      string   `json:"tagStatus"`
	TagPatternList []string `json:"tagPatternList,omitempty"`
	TagPrefixList  []string `json:"tagPrefixList,omitempty"`
	StorageClass   string   `json:"storageClass,omitempty"`
	CountType      string   `json:"countType"`
	CountUnit      string   `json:"countUnit,omitempty"`
	CountNumber    int      `json:"countNumber"`
}

// LifecycleAction is a rule's action.
type LifecycleAction struct {
	Type               string `json:"type"`
	TargetStorageClass string `json:"targetStorageClass,omitempty"`
}

// ProtectCountNumber is the count a protection rule keeps: a tagged rule
// selects the protected images, and since "an image that matches the tagging
// requirements of a rule cannot be expired by a rule with a lower priority",
// the keep-last-N rule never expires them. The rule itself expires only past
// this many images per pattern.
const ProtectCountNumber = 9999

// GeneratedRulePrefix starts the description of every rule the action
// generates, so that a later run can tell its own policy from one written by
// people or other tools (and remove only its own).
const GeneratedRulePrefix = "ecr-action: "

// MinArchiveDays is how long an archived image stays before a lifecycle rule
// may expire it ("Archived images have a minimum storage duration of 90
// days", ECR User Guide, archiving an image).
const MinArchiveDays = 90

// IsGeneratedLifecyclePolicy reports whether every rule of doc carries the
// action's description prefix.
func IsGeneratedLifecyclePolicy(doc string) bool {
	var p LifecyclePolicy
	if json.Unmarshal([]byte(doc), &p) != nil || len(p.Rules) == 0 {
		return false
	}
	for _, r := range p.Rules {
		if !strings.HasPrefix(r.Description, GeneratedRulePrefix) {
			return false
		}
	}
	return true
}

// LifecycleParams are the inputs of the generated policy.
type LifecycleParams struct {
	MaxImageCount     int      // keep the last N images (tagStatus any, evaluated last)
	UntaggedImageDays int      // expire untagged images older than N days
	ProtectedTags     []string // wildcard tag patterns never expired by the keep-last-N rule
	// ArchiveDays, when positive, archives images instead of expiring
	// them: the last rule (tagStatus any) moves images not pulled for this
	// many days to the archive storage class, in place of keeping the last
	// MaxImageCount. Archived images are kept; they cost less to store,
	// cannot be pulled until restored, and ECR keeps them at least 90 days.
	ArchiveDays int
}

// GenerateLifecyclePolicy builds the action's lifecycle policy: the untagged
// rule first, one protection rule per protected pattern (patterns in one
// tagPatternList are ANDed by ECR, so each gets its own rule), and the
// tagStatus any rule last, as ECR requires.
func GenerateLifecyclePolicy(p LifecycleParams) (string, error) {
	if p.MaxImageCount < 1 {
		return "", fmt.Errorf("max_image_count must be at least 1, got %d", p.MaxImageCount)
	}
	if p.UntaggedImageDays < 1 {
		return "", fmt.Errorf("untagged_image_days must be at least 1, got %d", p.UntaggedImageDays)
	}
	var doc LifecyclePolicy
	prio := 1
	doc.Rules = append(doc.Rules, LifecycleRule{
		RulePriority: prio,
		Description:  GeneratedRulePrefix + fmt.Sprintf("expire untagged images older than %d days", p.UntaggedImageDays),
		Selection:    LifecycleSelect{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: p.UntaggedImageDays},
		Action:       LifecycleAction{Type: "expire"},
	})
	for _, pattern := range p.ProtectedTags {
		prio++
		doc.Rules = append(doc.Rules, LifecycleRule{
			RulePriority: prio,
			Description:  GeneratedRulePrefix + fmt.Sprintf("protect images tagged %s from the keep-last rule", pattern),
			Selection:    LifecycleSelect{TagStatus: "tagged", TagPatternList: []string{pattern}, CountType: "imageCountMoreThan", CountNumber: ProtectCountNumber},
			Action:       LifecycleAction{Type: "expire"},
		})
	}
	prio++
	if p.ArchiveDays > 0 {
		// ECR allows one tagStatus any rule per storage class, evaluated
		// last: archiving takes the keep-last-N rule's place ("Combining
		// archive and expire rules" in the ECR User Guide).
		doc.Rules = append(doc.Rules, LifecycleRule{
			RulePriority: prio,
			Description:  GeneratedRulePrefix + fmt.Sprintf("archive images not pulled for %d days", p.ArchiveDays),
			Selection:    LifecycleSelect{TagStatus: "any", CountType: "sinceImagePulled", CountUnit: "days", CountNumber: p.ArchiveDays},
			Action:       LifecycleAction{Type: "transition", TargetStorageClass: "archive"},
		})
	} else {
		doc.Rules = append(doc.Rules, LifecycleRule{
			RulePriority: prio,
			Description:  GeneratedRulePrefix + fmt.Sprintf("keep the last %d images", p.MaxImageCount),
			Selection:    LifecycleSelect{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: p.MaxImageCount},
			Action:       LifecycleAction{Type: "expire"},
		})
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encoding lifecycle policy: %w", err)
	}
	if err := ValidateLifecyclePolicy(string(out)); err != nil {
		return "", err
	}
	return string(out), nil
}

// ValidationError lists every problem found in a document.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string { return strings.Join(e.Problems, "; ") }

// ValidateLifecyclePolicy checks a lifecycle policy text against ECR's rules
// and reports every problem found, not only the first.
func ValidateLifecyclePolicy(doc string) error {
	var raw struct {
		Rules []json.RawMessage `json:"rules"`
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&raw); err != nil {
		return &ValidationError{Problems: []string{"not valid JSON: " + err.Error()}}
	}
	if dec.More() {
		return &ValidationError{Problems: []string{"trailing data after the JSON document"}}
	}
	// A key given twice is read by its last value here (and by Go's
	// case-insensitive matching, "Rules" would count as "rules"), but ECR
	// may read it otherwise: what is sent must be what was validated.
	if where, key, dup := DuplicateKey(doc); dup {
		return &ValidationError{Problems: []string{fmt.Sprintf("key %q is given twice in %s (keys are compared ignoring case, as the validation reads them); give each key once", key, where)}}
	}
	if bad := unknownKeys(json.RawMessage(doc), "rules"); len(bad) > 0 {
		return &ValidationError{Problems: []string{fmt.Sprintf("unknown field %s at the top level: the document is {\"rules\": [...]}, and ECR's field names are case-sensitive", strings.Join(bad, ", "))}}
	}
	if len(raw.Rules) == 0 {
		return &ValidationError{Problems: []string{`"rules" must be a non-empty array`}}
	}
	// PutLifecyclePolicy: lifecyclePolicyText length 100 to 30720.
	if n := utf8.RuneCountInString(doc); n < 100 || n > 30720 {
		return &ValidationError{Problems: []string{fmt.Sprintf("policy is %d characters; ECR accepts 100 to 30720", n)}}
	}
	var problems []string
	seen := map[int]int{}
	// The any rule is evaluated last among the rules that select the same
	// storage class: the guide's own "Combining archive and expire rules"
	// example has an any rule for standard images (priority 1) and one for
	// archived images (priority 2).
	anyPrio, maxPrio, anyCount := map[string]int{}, map[string]int{}, map[string]int{}
	for i, r := range raw.Rules {
		where := fmt.Sprintf("rules[%d]", i)
		var rule LifecycleRule
		d := json.NewDecoder(bytes.NewReader(r))
		d.DisallowUnknownFields()
		if err := d.Decode(&rule); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		if bad := ruleUnknownKeys(r); len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("%s: unknown field %s (ECR's field names are case-sensitive: rulePriority, description, selection, action)", where, strings.Join(bad, ", ")))
			continue
		}
		if rule.RulePriority < 1 {
			problems = append(problems, fmt.Sprintf("%s: rulePriority must be an integer of at least 1", where))
		} else if j, dup := seen[rule.RulePriority]; dup {
			problems = append(problems, fmt.Sprintf("%s: rulePriority %d is already used by rules[%d]; priorities must be unique", where, rule.RulePriority, j))
		} else {
			seen[rule.RulePriority] = i
		}
		s := rule.Selection
		class := s.StorageClass
		if class == "" {
			class = "standard"
		}
		if rule.RulePriority > maxPrio[class] {
			maxPrio[class] = rule.RulePriority
		}
		if s.TagStatus == "any" {
			anyCount[class]++
			anyPrio[class] = rule.RulePriority
		}
		problems = append(problems, selectionProblems(where, s)...)
		problems = append(problems, actionProblems(where, rule.Action, s)...)
	}
	for _, class := range []string{"standard", "archive"} {
		if anyCount[class] > 1 {
			problems = append(problems, fmt.Sprintf("only one rule selecting %s images may have tagStatus any", class))
		}
		if anyCount[class] == 1 && anyPrio[class] != maxPrio[class] {
			problems = append(problems, fmt.Sprintf("the tagStatus any rule has rulePriority %d but must have the highest (%d is higher): ECR evaluates it last and rejects any other order", anyPrio[class], maxPrio[class]))
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// selectionProblems checks one rule's selection; where names the rule.
func selectionProblems(where string, s LifecycleSelect) []string {
	var problems []string
	switch s.TagStatus {
	case "any":
		if len(s.TagPatternList)+len(s.TagPrefixList) > 0 {
			problems = append(problems, fmt.Sprintf("%s: tagStatus any takes no tagPatternList or tagPrefixList", where))
		}
	case "untagged":
		if len(s.TagPatternList)+len(s.TagPrefixList) > 0 {
			problems = append(problems, fmt.Sprintf("%s: tagStatus untagged must omit tagPatternList and tagPrefixList", where))
		}
	case "tagged":
		switch {
		case len(s.TagPatternList) == 0 && len(s.TagPrefixList) == 0:
			problems = append(problems, fmt.Sprintf("%s: tagStatus tagged needs tagPatternList or tagPrefixList", where))
		case len(s.TagPatternList) > 0 && len(s.TagPrefixList) > 0:
			problems = append(problems, fmt.Sprintf("%s: give tagPatternList or tagPrefixList, not both", where))
		}
		for _, p := range s.TagPatternList {
			if p == "" {
				problems = append(problems, fmt.Sprintf("%s: empty tag pattern", where))
			} else if n := strings.Count(p, "*"); n > 4 {
				problems = append(problems, fmt.Sprintf("%s: tag pattern %q has %d wildcards; ECR allows at most 4", where, p, n))
			}
		}
		for _, p := range s.TagPrefixList {
			if p == "" {
				problems = append(problems, fmt.Sprintf("%s: empty tag prefix", where))
			}
		}
	default:
		problems = append(problems, fmt.Sprintf("%s: tagStatus must be tagged, untagged or any, got %q", where, s.TagStatus))
	}
	switch s.StorageClass {
	case "", "standard", "archive":
	default:
		problems = append(problems, fmt.Sprintf("%s: storageClass must be standard or archive, got %q", where, s.StorageClass))
	}
	// "Storage class": sinceImageTransitioned needs archive; the other
	// count types select standard images only.
	switch {
	case s.CountType == "sinceImageTransitioned" && s.StorageClass != "archive":
		problems = append(problems, fmt.Sprintf("%s: countType sinceImageTransitioned needs storageClass \"archive\"", where))
	case s.CountType != "sinceImageTransitioned" && s.StorageClass == "archive":
		problems = append(problems, fmt.Sprintf("%s: storageClass archive is only for countType sinceImageTransitioned; countType %s selects standard images", where, s.CountType))
	}
	switch s.CountType {
	case "imageCountMoreThan":
		if s.CountUnit != "" {
			problems = append(problems, fmt.Sprintf("%s: countType imageCountMoreThan takes no countUnit", where))
		}
	case "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned":
		if s.CountUnit != "days" {
			problems = append(problems, fmt.Sprintf("%s: countType %s needs countUnit \"days\"", where, s.CountType))
		}
	default:
		problems = append(problems, fmt.Sprintf("%s: countType must be imageCountMoreThan, sinceImagePushed, sinceImagePulled or sinceImageTransitioned, got %q", where, s.CountType))
	}
	if s.CountNumber < 1 {
		problems = append(problems, fmt.Sprintf("%s: countNumber must be an integer of at least 1, got %d", where, s.CountNumber))
	}
	return problems
}

// actionProblems checks one rule's action against its selection s.
func actionProblems(where string, action LifecycleAction, s LifecycleSelect) []string {
	var problems []string
	switch action.Type {
	case "expire":
		if action.TargetStorageClass != "" {
			problems = append(problems, fmt.Sprintf("%s: action expire takes no targetStorageClass", where))
		}
		// Examples page: "The sinceImagePulled count type must be used
		// with the transition action"; "Images must be in archive
		// storage for a minimum of 90 days before deletion."
		if s.CountType == "sinceImagePulled" {
			problems = append(problems, fmt.Sprintf("%s: countType sinceImagePulled must be used with the transition action, not expire", where))
		}
		if s.CountType == "sinceImageTransitioned" && s.CountNumber >= 1 && s.CountNumber < MinArchiveDays {
			problems = append(problems, fmt.Sprintf("%s: countNumber %d: archived images are kept at least %d days before a rule may expire them", where, s.CountNumber, MinArchiveDays))
		}
	case "transition":
		if action.TargetStorageClass != "archive" {
			problems = append(problems, fmt.Sprintf("%s: action transition needs targetStorageClass \"archive\"", where))
		}
		if s.CountType == "sinceImageTransitioned" {
			problems = append(problems, fmt.Sprintf("%s: countType sinceImageTransitioned must be used with the expire action", where))
		}
	default:
		problems = append(problems, fmt.Sprintf("%s: action type must be expire (or transition), got %q", where, action.Type))
	}
	return problems
}

// unknownKeys returns, quoted, the keys of the JSON object obj that are not
// in allowed, compared exactly: encoding/json matches field names without
// regard to case, ECR does not ("RulePriority" is not "rulePriority"). A
// value that is not an object has no keys.
func unknownKeys(obj json.RawMessage, allowed ...string) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	var bad []string
	for k := range m {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, strconv.Quote(k))
		}
	}
	sort.Strings(bad)
	return bad
}

// ruleUnknownKeys applies unknownKeys to a rule, its selection and its action.
func ruleUnknownKeys(rule json.RawMessage) []string {
	bad := unknownKeys(rule, "rulePriority", "description", "selection", "action")
	var parts struct {
		Selection json.RawMessage `json:"selection"`
		Action    json.RawMessage `json:"action"`
	}
	if json.Unmarshal(rule, &parts) == nil {
		bad = append(bad, unknownKeys(parts.Selection, "tagStatus", "tagPatternList", "tagPrefixList", "storageClass", "countType", "countUnit", "countNumber")...)
		bad = append(bad, unknownKeys(parts.Action, "type", "targetStorageClass")...)
	}
	return bad
}

// NormalizeLifecyclePolicy returns a canonical form of a lifecycle policy for
// comparison: ECR may store rules reordered by priority and reformatted.
func NormalizeLifecyclePolicy(doc string) (string, error) {
	var p LifecyclePolicy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return "", fmt.Errorf("parsing lifecycle policy: %w", err)
	}
	sort.SliceStable(p.Rules, func(i, j int) bool { return p.Rules[i].RulePriority < p.Rules[j].RulePriority })
	out, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encoding lifecycle policy: %w", err)
	}
	return string(out), nil
}

// EqualLifecyclePolicies reports whether two lifecycle policies say the same
// thing. Documents that do not parse are compared as text.
func EqualLifecyclePolicies(a, b string) bool {
	na, errA := NormalizeLifecyclePolicy(a)
	nb, errB := NormalizeLifecyclePolicy(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return na == nb
}

// IsValidationError reports whether err is a *ValidationError.
func IsValidationError(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// DuplicateKey finds the first object in the JSON document doc that holds
// the same key twice, keys compared ignoring case (Go's encoding/json
// matches struct fields that way). where is a path such as rules[0].selection.
// A document that is not valid JSON has no duplicate reported.
func DuplicateKey(doc string) (where, key string, found bool) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var walk func(path string) bool
	walk = func(path string) bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return false
				}
				k, _ := kt.(string)
				folded := strings.ToLower(k)
				if seen[folded] {
					where, key, found = path, k, true
					return true
				}
				seen[folded] = true
				child := k
				if path != "" {
					child = path + "." + k
				}
				if walk(child) {
					return true
				}
			}
			dec.Token() // '}'
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if walk(fmt.Sprintf("%s[%d]", path, i)) {
					return true
				}
			}
			dec.Token() // ']'
		}
		return false
	}
	walk("")
	if found && where == "" {
		where = "the top-level object"
	}
	return where, key, found
}
