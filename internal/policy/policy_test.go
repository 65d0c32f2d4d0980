package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		{"double separator", "app--web", false},
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
	if err := ValidateKMSKeyARN("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"); err != nil {
		t.Errorf("key ARN rejected: %v", err)
	}
	for _, bad := range []string{"1234abcd-12ab", "arn:aws:kms:us-east-1:123:key/x", "arn:aws:s3:::bucket"} {
		if ValidateKMSKeyARN(bad) == nil {
			t.Errorf("ValidateKMSKeyARN(%q) accepted", bad)
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
	f.Fuzz(func(t *testing.T, doc string) {
		if ValidateLifecyclePolicy(doc) != nil {
			return
		}
		// A policy we accept must normalize and compare equal to itself.
		if _, err := NormalizeLifecyclePolicy(doc); err != nil {
			t.Fatalf("accepted policy does not normalize: %v", err)
		}
		if !EqualLifecyclePolicies(doc, doc) {
			t.Fatal("accepted policy is not equal to itself")
		}
	})
}

func FuzzMergeCrossAccount(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Deny","Principal":"*","Action":"ecr:*"}]}`, "012345678901")
	f.Add(``, "111111111111")
	f.Fuzz(func(t *testing.T, existing, account string) {
		merged, err := MergeCrossAccount(existing, "aws", []string{account})
		if err != nil {
			return
		}
		if got := OwnedStatementAccounts(merged); len(got) != 1 || got[0] != account {
			t.Fatalf("owned accounts = %q, want [%q]", got, account)
		}
		off, err := MergeCrossAccount(merged, "aws", nil)
		if err != nil {
			t.Fatalf("removing our statement: %v", err)
		}
		if off != "" && OwnedStatementAccounts(off) != nil {
			t.Fatal("our statement survived removal")
		}
	})
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
