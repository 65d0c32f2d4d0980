package policy

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/testing/badinputs"
)

func TestValidateRepositoryName(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"seed default", "canvas-ta-production-app", true},
		{"namespaced", "team/app.web_v2", true},
		{"upper case", "Canvas-App", false},
		{"too short", "a", false},
		{"too long", strings.Repeat("a", 257), false},
		{"leading separator", "-app", false},
		// The API model's RepositoryName pattern joins components with
		// '.', '_', '__' or a run of '-'.
		{"run of hyphens", "app--web", true},
		{"double underscore", "app__web", true},
		{"triple underscore", "app___web", false},
		{"two separators", "app._web", false},
		{"trailing slash", "team/", false},
		{"space", "my app", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRepositoryName(tt.in)
			if (err == nil) != tt.ok {
				t.Errorf("ValidateRepositoryName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
	if err := ValidateRepositoryName("Canvas-App"); err == nil || !strings.Contains(err.Error(), `"canvas-app"`) {
		t.Errorf("upper-case name error should suggest the lower-case name, got %v", err)
	}
}

func TestValidateMutability(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		filters []string
		ok      bool
	}{
		{"mutable", "MUTABLE", nil, true},
		{"immutable with filter", "IMMUTABLE", []string{"latest"}, false},
		{"exclusion without filter", "IMMUTABLE_WITH_EXCLUSION", nil, false},
		{"exclusion with latest", "IMMUTABLE_WITH_EXCLUSION", []string{"latest", "dev-*"}, true},
		{"bad filter char", "MUTABLE_WITH_EXCLUSION", []string{"rel/*"}, false},
		{"six filters", "IMMUTABLE_WITH_EXCLUSION", []string{"a", "b", "c", "d", "e", "f"}, false},
		{"lower-case mode", "mutable", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMutability(tt.mode, tt.filters)
			if (err == nil) != tt.ok {
				t.Errorf("ValidateMutability(%q, %q) = %v, want ok=%v", tt.mode, tt.filters, err, tt.ok)
			}
		})
	}
}

func TestValidateSmallThings(t *testing.T) {
	if err := ValidateAccountID("012345678901"); err != nil {
		t.Errorf("leading-zero account rejected: %v", err)
	}
	for _, bad := range []string{"12345678901", "1234567890123", "*", "12345678901a", ""} {
		if ValidateAccountID(bad) == nil {
			t.Errorf("ValidateAccountID(%q) accepted", bad)
		}
	}
	if ValidateResourceTag("Team", strings.Repeat("v", 257)) == nil {
		t.Error("over-long tag value accepted")
	}
	if ValidateResourceTag("aws:owner", "x") == nil {
		t.Error("reserved aws: prefix accepted")
	}
}

func TestGenerateLifecyclePolicy(t *testing.T) {
	got, err := GenerateLifecyclePolicy(LifecycleParams{MaxImageCount: 30, UntaggedImageDays: 7, ProtectedTags: []string{"v*", "release-*"}})
	if err != nil {
		t.Fatal(err)
	}
	var p LifecyclePolicy
	if err := json.Unmarshal([]byte(got), &p); err != nil {
		t.Fatal(err)
	}
	want := LifecyclePolicy{Rules: []LifecycleRule{
		{1, GeneratedRulePrefix + "expire untagged images older than 7 days", LifecycleSelect{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: 7}, LifecycleAction{Type: "expire"}},
		{2, GeneratedRulePrefix + "protect images tagged v* from the keep-last rule", LifecycleSelect{TagStatus: "tagged", TagPatternList: []string{"v*"}, CountType: "imageCountMoreThan", CountNumber: ProtectCountNumber}, LifecycleAction{Type: "expire"}},
		{3, GeneratedRulePrefix + "protect images tagged release-* from the keep-last rule", LifecycleSelect{TagStatus: "tagged", TagPatternList: []string{"release-*"}, CountType: "imageCountMoreThan", CountNumber: ProtectCountNumber}, LifecycleAction{Type: "expire"}},
		{4, GeneratedRulePrefix + "keep the last 30 images", LifecycleSelect{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: 30}, LifecycleAction{Type: "expire"}},
	}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("generated policy (-want +got):\n%s", diff)
	}
	if !IsGeneratedLifecyclePolicy(got) {
		t.Error("generated policy not recognised as generated")
	}
	if IsGeneratedLifecyclePolicy(seedExample) {
		t.Error("a policy written by people recognised as generated")
	}
	if _, err := GenerateLifecyclePolicy(LifecycleParams{MaxImageCount: 0, UntaggedImageDays: 7}); err == nil {
		t.Error("max_image_count 0 accepted")
	}
}

func TestGenerateLifecyclePolicyArchive(t *testing.T) {
	got, err := GenerateLifecyclePolicy(LifecycleParams{MaxImageCount: 30, UntaggedImageDays: 7, ProtectedTags: []string{"v*"}, ArchiveDays: 60})
	if err != nil {
		t.Fatal(err)
	}
	var p LifecyclePolicy
	if err := json.Unmarshal([]byte(got), &p); err != nil {
		t.Fatal(err)
	}
	want := LifecyclePolicy{Rules: []LifecycleRule{
		{1, GeneratedRulePrefix + "expire untagged images older than 7 days", LifecycleSelect{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: 7}, LifecycleAction{Type: "expire"}},
		{2, GeneratedRulePrefix + "protect images tagged v* from the keep-last rule", LifecycleSelect{TagStatus: "tagged", TagPatternList: []string{"v*"}, CountType: "imageCountMoreThan", CountNumber: ProtectCountNumber}, LifecycleAction{Type: "expire"}},
		{3, GeneratedRulePrefix + "archive images not pulled for 60 days", LifecycleSelect{TagStatus: "any", CountType: "sinceImagePulled", CountUnit: "days", CountNumber: 60}, LifecycleAction{Type: "transition", TargetStorageClass: "archive"}},
	}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("generated policy (-want +got):\n%s", diff)
	}
	if !IsGeneratedLifecyclePolicy(got) {
		t.Error("generated archive policy not recognised as generated")
	}
}

// seedExample is the lifecycle policy of the seed module README: its any
// rule comes first, which ECR rejects.
const seedExample = `{"rules":[
 {"rulePriority":1,"description":"Keep last 30 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}},
 {"rulePriority":2,"description":"Remove untagged images older than 7 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}}]}`

func TestValidateLifecyclePolicy(t *testing.T) {
	rule := func(prio int, sel string) string {
		return `{"rulePriority":` + itoa(prio) + `,"selection":` + sel + `,"action":{"type":"expire"}}`
	}
	untagged := `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7}`
	anyRule := `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30}`
	tests := []struct {
		name, doc string
		want      string // substring of the error; "" = valid
	}{
		{"valid", `{"rules":[` + rule(1, untagged) + `,` + rule(2, anyRule) + `]}`, ""},
		{"priorities need not be sequential", `{"rules":[` + rule(10, untagged) + `,` + rule(50, anyRule) + `]}`, ""},
		{"seed example order", seedExample, "must have the highest"},
		{"duplicate priority", `{"rules":[` + rule(1, untagged) + `,` + rule(1, anyRule) + `]}`, "already used"},
		{"no rules", `{"rules":[]}`, "non-empty"},
		{"not json", `{"rules":`, "not valid JSON"},
		{"negative count", `{"rules":[` + rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":-1}`) + `]}`, "countNumber"},
		{"count unit on count rule", `{"rules":[` + rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countUnit":"days","countNumber":3}`) + `]}`, "no countUnit"},
		{"days without unit", `{"rules":[` + rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countNumber":3}`) + `]}`, "countUnit"},
		{"tagged without list", `{"rules":[` + rule(1, `{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":3}`) + `]}`, "needs tagPatternList"},
		{"untagged with prefix", `{"rules":[` + rule(1, `{"tagStatus":"untagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":3}`) + `]}`, "must omit"},
		{"five wildcards", `{"rules":[` + rule(1, `{"tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],"countType":"imageCountMoreThan","countNumber":3}`) + `]}`, "at most 4"},
		{"unknown field", `{"rules":[{"rulePriority":1,"selection":` + untagged + `,"action":{"type":"expire"},"extra":1}]}`, "unknown field"},
		{"bad action", `{"rules":[{"rulePriority":1,"selection":` + untagged + `,"action":{"type":"delete"}}]}`, "action type"},
		{"two any rules", `{"rules":[` + rule(1, anyRule) + `,` + rule(2, anyRule) + `]}`, "only one rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateLifecyclePolicy(tt.doc)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("valid policy rejected: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("invalid policy accepted, want error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestEqualLifecyclePolicies(t *testing.T) {
	a := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}},{"rulePriority":2,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}]}`
	reordered := `{ "rules": [ {"action":{"type":"expire"},"selection":{"countNumber":30,"countType":"imageCountMoreThan","tagStatus":"any"},"rulePriority":2},
	  {"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}} ] }`
	if !EqualLifecyclePolicies(a, reordered) {
		t.Error("policies differing only in order and spacing compare unequal")
	}
	changed := strings.Replace(a, `"countNumber":30`, `"countNumber":31`, 1)
	if EqualLifecyclePolicies(a, changed) {
		t.Error("policies with different counts compare equal")
	}
}

func TestMergeCrossAccount(t *testing.T) {
	people := `{"Version":"2012-10-17","Statement":[{"Sid":"CIPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/ci"},"Action":"ecr:PutImage"}]}`

	merged, err := MergeCrossAccount(people, "aws", []string{"012345678901", "222222222222", "012345678901"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(merged), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 2 || doc.Statement[0]["Sid"] != "CIPush" {
		t.Fatalf("people's statement not kept first and untouched: %s", merged)
	}
	if diff := cmp.Diff([]string{"012345678901", "222222222222"}, OwnedStatementAccounts(merged)); diff != "" {
		t.Errorf("owned accounts (-want +got):\n%s", diff)
	}
	if !strings.Contains(merged, `"arn:aws:iam::012345678901:root"`) {
		t.Errorf("leading zero lost: %s", merged)
	}

	// Idempotent: merging again gives an equal policy.
	again, err := MergeCrossAccount(merged, "aws", []string{"222222222222", "012345678901"})
	if err != nil {
		t.Fatal(err)
	}
	if !EqualRepositoryPolicies(merged, again) {
		t.Errorf("second merge changed the policy:\n%s\n%s", merged, again)
	}

	// Turning the feature off removes only our statement.
	off, err := MergeCrossAccount(merged, "aws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !EqualRepositoryPolicies(off, people) {
		t.Errorf("removing our statement changed others: %s", off)
	}
	// With only our statement, nothing is left.
	ours, _ := MergeCrossAccount("", "aws", []string{"222222222222"})
	if empty, err := MergeCrossAccount(ours, "aws", nil); err != nil || empty != "" {
		t.Errorf("MergeCrossAccount(only ours, off) = %q, %v; want empty", empty, err)
	}
	if _, err := MergeCrossAccount("", "aws", []string{"*"}); err == nil {
		t.Error("wildcard principal accepted")
	}
	// The partition comes from the repository ARN: one that is not a
	// partition name must not turn the principal into a wildcard.
	for _, p := range []string{"*", "", "aws*", "aws:iam::*:root#", "AWS"} {
		if out, err := MergeCrossAccount("", p, []string{"012345678901"}); err == nil {
			t.Errorf("partition %q accepted: %s", p, out)
		}
	}
	if out, err := MergeCrossAccount("", "aws-us-gov", []string{"012345678901"}); err != nil || !strings.Contains(out, `"arn:aws-us-gov:iam::012345678901:root"`) {
		t.Errorf("aws-us-gov: %s, %v", out, err)
	}
}

func TestEqualRepositoryPolicies(t *testing.T) {
	a := `{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}}`
	b := `{"Statement":[{"Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"],"Principal":{"AWS":["arn:aws:iam::111111111111:root"]},"Effect":"Allow","Sid":"A"}],"Version":"2012-10-17"}`
	if !EqualRepositoryPolicies(a, b) {
		t.Error("equivalent policies compare unequal")
	}
	if EqualRepositoryPolicies(a, strings.Replace(b, "111111111111", "222222222222", 1)) {
		t.Error("different principals compare equal")
	}
}

func FuzzValidateLifecyclePolicy(f *testing.F) {
	f.Add(seedExample)
	g, _ := GenerateLifecyclePolicy(LifecycleParams{MaxImageCount: 3, UntaggedImageDays: 1, ProtectedTags: []string{"v*"}})
	f.Add(g)
	untagged := `{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}}`
	for _, doc := range []string{
		`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}},` + strings.Replace(untagged, `"rulePriority":1`, `"rulePriority":2`, 1) + `]}`,
		`{"rules":[` + untagged + `,{"RulePriority":2,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}]}`,
		`{"Rules":[` + untagged + `]}`,
		`{"rules":[` + untagged + `,{"rulePriority":3,"selection":{"tagStatus":"tagged","tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":9999},"action":{"type":"expire"}},{"rulePriority":4,"selection":{"tagStatus":"tagged","tagPrefixList":["rel"],"storageClass":"standard","countType":"sinceImagePulled","countUnit":"days","countNumber":90},"action":{"type":"transition","targetStorageClass":"archive"}}]}`,
		`{"rules":[` + untagged + `,` + untagged + `]}`,
	} {
		f.Add(doc)
	}
	// Every lifecycle policy of the bad-input catalogue.
	catalogue, err := badinputs.FindModuleFile(badinputs.File)
	if err != nil {
		f.Fatal(err)
	}
	cases, err := badinputs.Load(catalogue)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		if doc, ok := c.Inputs["lifecycle_policy"]; ok && strings.HasPrefix(doc, "{") {
			f.Add(doc)
		}
	}
	// ECR's rules, written out independently of ValidateLifecyclePolicy
	// (lifecycle_policy_parameters.html): field names as ECR spells them,
	// integers where numbers are, unique priorities of at least 1, the any
	// rule (at most one) last, tag lists only with tagged, at most 4
	// wildcards per pattern, countUnit days with the since* count types and
	// none with imageCountMoreThan, countNumber of at least 1.
	intOf := func(v any) (int, bool) {
		n, ok := v.(float64)
		return int(n), ok && n == float64(int(n))
	}
	keysIn := func(m map[string]any, allowed ...string) bool {
		for k := range m {
			found := false
			for _, a := range allowed {
				found = found || k == a
			}
			if !found {
				return false
			}
		}
		return true
	}
	ecrAccepts := func(doc string) string {
		if n := len([]rune(doc)); n < 100 || n > 30720 {
			return "length"
		}
		var top map[string]any
		if json.Unmarshal([]byte(doc), &top) != nil || !keysIn(top, "rules") {
			return "top level"
		}
		rules, ok := top["rules"].([]any)
		if !ok || len(rules) == 0 {
			return "rules"
		}
		prios := map[int]bool{}
		maxPrio, anyPrio, anyCount := 0, 0, 0
		for _, r := range rules {
			rule, ok := r.(map[string]any)
			if !ok || !keysIn(rule, "rulePriority", "description", "selection", "action") {
				return "rule keys"
			}
			if d, ok := rule["description"]; ok {
				if _, ok := d.(string); !ok {
					return "description"
				}
			}
			prio, ok := intOf(rule["rulePriority"])
			if !ok || prio < 1 || prios[prio] {
				return "rulePriority"
			}
			prios[prio] = true
			maxPrio = max(maxPrio, prio)
			sel, ok := rule["selection"].(map[string]any)
			if !ok || !keysIn(sel, "tagStatus", "tagPatternList", "tagPrefixList", "storageClass", "countType", "countUnit", "countNumber") {
				return "selection keys"
			}
			lists := 0
			for _, key := range []string{"tagPatternList", "tagPrefixList"} {
				v, present := sel[key]
				if !present || v == nil {
					continue
				}
				items, ok := v.([]any)
				if !ok {
					return key
				}
				if len(items) > 0 {
					lists++
				}
				for _, it := range items {
					s, ok := it.(string)
					if !ok || s == "" || (key == "tagPatternList" && strings.Count(s, "*") > 4) {
						return key + " item"
					}
				}
			}
			switch sel["tagStatus"] {
			case "tagged":
				if lists != 1 {
					return "tagged lists"
				}
			case "any":
				anyCount++
				anyPrio = prio
				fallthrough
			case "untagged":
				if lists != 0 {
					return "untagged/any lists"
				}
			default:
				return "tagStatus"
			}
			unit, hasUnit := sel["countUnit"]
			switch sel["countType"] {
			case "imageCountMoreThan":
				if hasUnit && unit != "" {
					return "countUnit with imageCountMoreThan"
				}
			case "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned":
				if unit != "days" {
					return "countUnit"
				}
			default:
				return "countType"
			}
			if n, ok := intOf(sel["countNumber"]); !ok || n < 1 {
				return "countNumber"
			}
			action, ok := rule["action"].(map[string]any)
			if !ok || !keysIn(action, "type", "targetStorageClass") {
				return "action keys"
			}
			if tp := action["type"]; tp != "expire" && tp != "transition" {
				return "action type"
			}
		}
		if anyCount > 1 || (anyCount == 1 && anyPrio != maxPrio) {
			return "any rule not last"
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if ValidateLifecyclePolicy(doc) != nil {
			return
		}
		if why := ecrAccepts(doc); why != "" {
			t.Fatalf("accepted a policy ECR rejects (%s):\n%s", why, doc)
		}
		// A policy we accept must normalize, stably, and equal itself.
		n, err := NormalizeLifecyclePolicy(doc)
		if err != nil {
			t.Fatalf("accepted policy does not normalize: %v", err)
		}
		if again, err := NormalizeLifecyclePolicy(n); err != nil || again != n {
			t.Fatalf("normalizing is not stable: %q then %q (%v)", n, again, err)
		}
		if !EqualLifecyclePolicies(doc, doc) {
			t.Fatal("accepted policy is not equal to itself")
		}
	})
}

func FuzzMergeCrossAccount(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Deny","Principal":"*","Action":"ecr:*"}]}`, "aws", "012345678901")
	f.Add(``, "aws", "111111111111")
	f.Add(``, "aws-us-gov", "111111111111,222222222222,111111111111")
	f.Add(`{"Statement":{"Sid":"EcrActionCrossAccountPull","Effect":"Allow","Principal":"*","Action":"ecr:*"}}`, "aws-cn", "")
	f.Add(`{"Statement":[{"Sid":"EcrActionCrossAccountPull","Effect":"Allow","Principal":{"AWS":"*"},"Action":"ecr:PutImage"},{"Sid":"EcrActionCrossAccountPull"}]}`, "aws", "012345678901")
	f.Add(``, "*", "012345678901")
	f.Add(``, "aws:iam::*:root#", "012345678901")
	f.Fuzz(func(t *testing.T, existing, partition, accountList string) {
		var accounts []string
		if accountList != "" {
			accounts = strings.Split(accountList, ",")
		}
		merged, err := MergeCrossAccount(existing, partition, accounts)
		if err != nil {
			return
		}
		checkCrossAccountInvariants(t, existing, merged, partition, accounts)
		if len(accounts) == 0 {
			return
		}
		if got, want := OwnedStatementAccounts(merged), uniqueSorted(accounts); !slices.Equal(got, want) {
			t.Fatalf("owned accounts = %q, want %q", got, want)
		}
		off, err := MergeCrossAccount(merged, partition, nil)
		if err != nil {
			t.Fatalf("removing our statement: %v", err)
		}
		checkCrossAccountInvariants(t, merged, off, partition, nil)
	})
}

// rootPrincipal is the only principal the action's statement may name: an
// account root, by 12-digit ID, in an AWS partition.
var rootPrincipal = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:root$`)

// checkCrossAccountInvariants checks what every MergeCrossAccount result
// must hold: the action's statement (only when accounts are given, and
// once) grants exactly the pull actions, to account roots named by ID,
// never to "*" or a wildcard, with nothing else in it; every other
// statement of existing is kept.
func checkCrossAccountInvariants(t *testing.T, existing, merged, partition string, accounts []string) {
	t.Helper()
	if merged == "" {
		if len(accounts) > 0 {
			t.Fatal("accounts given, but the merged policy is empty")
		}
		return
	}
	if err := ValidateRepositoryPolicy(merged); err != nil {
		t.Fatalf("merged policy is invalid: %v\n%s", err, merged)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(merged), &doc); err != nil {
		t.Fatal(err)
	}
	var ours []map[string]any
	others := 0
	for _, s := range statementsOf(doc) {
		if m, ok := s.(map[string]any); ok && m["Sid"] == CrossAccountSid {
			ours = append(ours, m)
			continue
		}
		others++
	}
	wantOurs := 0
	if len(accounts) > 0 {
		wantOurs = 1
	}
	if len(ours) != wantOurs {
		t.Fatalf("%d statements with Sid %s, want %d:\n%s", len(ours), CrossAccountSid, wantOurs, merged)
	}
	var before map[string]any
	kept := 0
	if strings.TrimSpace(existing) != "" && json.Unmarshal([]byte(existing), &before) == nil {
		for _, s := range statementsOf(before) {
			if m, ok := s.(map[string]any); !ok || m["Sid"] != CrossAccountSid {
				kept++
			}
		}
	}
	if others != kept {
		t.Fatalf("%d other statements after the merge, %d before:\n%s\n%s", others, kept, existing, merged)
	}
	for _, st := range ours {
		keys := slices.Sorted(maps.Keys(st))
		if !slices.Equal(keys, []string{"Action", "Effect", "Principal", "Sid"}) {
			t.Fatalf("our statement has elements %v; want exactly Sid, Effect, Principal, Action:\n%s", keys, merged)
		}
		if st["Effect"] != "Allow" {
			t.Fatalf("our statement's Effect is %v", st["Effect"])
		}
		actions := stringList(st["Action"])
		slices.Sort(actions)
		if !slices.Equal(actions, PullActions()) {
			t.Fatalf("our statement grants %v; want only the pull actions %v", actions, PullActions())
		}
		p, ok := st["Principal"].(map[string]any)
		if !ok || len(p) != 1 || p["AWS"] == nil {
			t.Fatalf("our statement's Principal is %v; want {\"AWS\": [account roots]}", st["Principal"])
		}
		roots := stringList(p["AWS"])
		if len(roots) == 0 {
			t.Fatalf("our statement names no principal: %v", p["AWS"])
		}
		for _, r := range roots {
			if strings.ContainsAny(r, "*?") || !rootPrincipal.MatchString(r) || !strings.HasPrefix(r, "arn:"+partition+":") {
				t.Fatalf("our statement grants pull to %q; want arn:%s:iam::<12-digit account>:root only", r, partition)
			}
		}
	}
}

func uniqueSorted(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	return slices.Compact(out)
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestTagImmutable(t *testing.T) {
	cases := []struct {
		mode    string
		filters []string
		tag     string
		want    bool
	}{
		{"MUTABLE", nil, "latest", false},
		{"IMMUTABLE", nil, "latest", true},
		{"IMMUTABLE", nil, "v1.2.3", true},
		{"IMMUTABLE_WITH_EXCLUSION", []string{"latest"}, "latest", false},
		{"IMMUTABLE_WITH_EXCLUSION", []string{"latest"}, "v1", true},
		{"IMMUTABLE_WITH_EXCLUSION", []string{"dev-*", "latest"}, "dev-abc", false},
		{"MUTABLE_WITH_EXCLUSION", []string{"release-*"}, "release-1", true},
		{"MUTABLE_WITH_EXCLUSION", []string{"release-*"}, "latest", false},
		{"MUTABLE_WITH_EXCLUSION", []string{"v*.*.*"}, "v1.2.3", true},
		{"MUTABLE_WITH_EXCLUSION", []string{"v*.*.*"}, "v1.2", false},
	}
	for _, c := range cases {
		if got := TagImmutable(c.mode, c.filters, c.tag); got != c.want {
			t.Errorf("TagImmutable(%s, %q, %q) = %v, want %v", c.mode, c.filters, c.tag, got, c.want)
		}
	}
}

// ECR WILDCARD filters: tag mutability exclusions and scanning rules.
func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "anything/at/all", true},
		{"prod", "prod", true},
		{"prod", "prod-api", false},
		{"prod-*", "prod-api", true},
		{"prod-*", "dev-prod-api", false},
		{"*-api", "team/prod-api", true},
		{"team/*/web", "team/a/b/web", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
		{"v*", "v1.2", true},
		{"v*", "latest", false},
		{"canvas-*", "canvas-ta/web", true},
		{"a?c", "abc", false},
		{"[ab]", "a", false},
	} {
		if got := WildcardMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

// docExamples reads the ECR User Guide's own example policies, kept with
// ecrlocal's tests (internal/testing/ecrlocal/testdata/docs): the action's rules must
// accept every valid one and refuse every one the guide says ECR refuses,
// as ecrlocal's independent rules do.
func docExamples(t *testing.T, kind, verdict string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testing", "ecrlocal", "testdata", "docs", kind, verdict, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s %s examples: %v", verdict, kind, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

func TestLifecycleRulesAgreeWithTheGuidesExamples(t *testing.T) {
	for name, doc := range docExamples(t, "lifecycle", "valid") {
		if err := ValidateLifecyclePolicy(doc); err != nil {
			t.Errorf("%s, an example of the ECR User Guide, is refused: %v", name, err)
		}
	}
	for name, doc := range docExamples(t, "lifecycle", "invalid") {
		if err := ValidateLifecyclePolicy(doc); err == nil {
			t.Errorf("%s is accepted; the ECR User Guide says ECR refuses it", name)
		}
	}
}

func TestRepositoryPolicyRulesAgreeWithTheGuidesExamples(t *testing.T) {
	for name, doc := range docExamples(t, "repopolicy", "valid") {
		if err := ValidateRepositoryPolicy(doc); err != nil {
			t.Errorf("%s, an example of the ECR User Guide, is refused: %v", name, err)
		}
	}
	for name, doc := range docExamples(t, "repopolicy", "invalid") {
		if err := ValidateRepositoryPolicy(doc); err == nil || !strings.Contains(err.Error(), "no Principal") {
			t.Errorf("%s = %v, want refused for naming no Principal", name, err)
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	for _, c := range []struct {
		doc, where, key string
		found           bool
	}{
		{`{"rules":[],"rules":[]}`, "the top-level object", "rules", true},
		{`{"rules":[{"selection":{"tagStatus":"any","TagStatus":"x"}}]}`, "rules[0].selection", "TagStatus", true},
		{`{"rules":[{"a":1},{"a":1}]}`, "", "", false},
		{`{"a":{"b":1},"c":{"b":2}}`, "", "", false},
		{`not json`, "", "", false},
	} {
		where, key, found := DuplicateKey(c.doc)
		if where != c.where || key != c.key || found != c.found {
			t.Errorf("DuplicateKey(%s) = %q, %q, %v; want %q, %q, %v", c.doc, where, key, found, c.where, c.key, c.found)
		}
	}
	doc := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}],"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	if err := ValidateLifecyclePolicy(doc); err == nil || !strings.Contains(err.Error(), `"rules" is given twice`) {
		t.Errorf("a policy with two rules keys: %v, want a duplicate key error", err)
	}
}
