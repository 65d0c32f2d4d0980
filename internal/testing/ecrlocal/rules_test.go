package ecrlocal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// docPolicies reads testdata/docs/<kind>/<verdict>/*.json: the AWS
// documents' own example policies (see testdata/docs/README.md).
func docPolicies(t *testing.T, kind, verdict string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "docs", kind, verdict, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s %s examples in testdata/docs: %v", verdict, kind, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = string(b)
	}
	return out
}

// The documents' examples go through the real SDK and PutLifecyclePolicy /
// SetRepositoryPolicy, so the wire error is checked as well as the rules.
func TestDocsLifecycleExamplesAreAccepted(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	repo := aws.String("docs")
	if _, err := e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	for name, doc := range docPolicies(t, "lifecycle", "valid") {
		t.Run(name, func(t *testing.T) {
			if _, err := e.client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(doc)}); err != nil {
				t.Errorf("PutLifecyclePolicy of the documents' example: %v", err)
			}
		})
	}
}

func TestDocsLifecycleCounterExamplesAreRefused(t *testing.T) {
	want := map[string]string{
		"properties-six-wildcards":           `"test*1*2*3*4*5*6" has 6 wildcards; the limit is 4`,
		"since-pulled-with-expire":           "sinceImagePulled must be used with the transition action",
		"archive-expire-before-90-days":      "archived images are kept at least 90 days",
		"since-transitioned-without-archive": `sinceImageTransitioned needs storageClass "archive"`,
		"any-rule-first":                     "tagStatus any must have the highest rulePriority",
	}
	e := newEnv(t, Options{})
	ctx := context.Background()
	repo := aws.String("docs")
	if _, err := e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	docs := docPolicies(t, "lifecycle", "invalid")
	if len(docs) != len(want) {
		t.Errorf("%d counter-examples in testdata, %d expectations here", len(docs), len(want))
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			_, err := e.client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(doc)})
			var ipe *types.InvalidParameterException
			if !errors.As(err, &ipe) || !strings.Contains(err.Error(), want[name]) {
				t.Errorf("PutLifecyclePolicy = %v, want InvalidParameterException saying %q", err, want[name])
			}
		})
	}
}

func TestDocsRepositoryPolicyExamples(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	repo := aws.String("docs")
	if _, err := e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	for name, doc := range docPolicies(t, "repopolicy", "valid") {
		t.Run(name, func(t *testing.T) {
			if _, err := e.client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: repo, PolicyText: aws.String(doc)}); err != nil {
				t.Errorf("SetRepositoryPolicy of the documents' example: %v", err)
			}
		})
	}
	for name, doc := range docPolicies(t, "repopolicy", "invalid") {
		t.Run(name, func(t *testing.T) {
			_, err := e.client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: repo, PolicyText: aws.String(doc)})
			var ipe *types.InvalidParameterException
			if !errors.As(err, &ipe) || !strings.Contains(err.Error(), "needs a Principal") {
				t.Errorf("SetRepositoryPolicy = %v, want InvalidParameterException saying a statement needs a Principal", err)
			}
		})
	}
}

// lifecycleDoc wraps rules (JSON) into a policy padded to ECR's minimum
// length with a description.
func lifecycleDoc(rules string) string {
	return `{"rules":[` + rules + `]}`
}

const (
	untaggedRule = `{"rulePriority":1,"description":"expire untagged images after 7 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}}`
	anyRule      = `{"rulePriority":2,"description":"keep the last 30 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}`
)

func TestLifecycleRules(t *testing.T) {
	sel := func(prio, selection, action string) string {
		return `{"rulePriority":` + prio + `,"description":"a rule of this test, long enough for ECR's minimum","selection":` + selection + `,"action":` + action + `}`
	}
	expire := `{"type":"expire"}`
	for _, tc := range []struct {
		name, doc, want string // want "" = accepted
	}{
		{"untagged then any", lifecycleDoc(untaggedRule + "," + anyRule), ""},
		{"priorities need not be sequential", lifecycleDoc(strings.Replace(untaggedRule, `"rulePriority":1`, `"rulePriority":10`, 1) + "," + strings.Replace(anyRule, `"rulePriority":2`, `"rulePriority":200`, 1)), ""},
		{"shorter than 100 characters", `{"rules":[]}`, "must be 100 to 30720 characters"},
		{"not JSON", strings.Repeat(" ", 100) + "{", "not a JSON object"},
		{"trailing data", lifecycleDoc(untaggedRule) + " {}", "not a JSON object"},
		{"no rules", `{"rules":[]                                                                                           }`, `"rules" must be a non-empty array`},
		{"field in another case", `{"Rules":[` + untaggedRule + `]}`, `unknown field "Rules"`},
		{"rule field in another case", lifecycleDoc(strings.Replace(untaggedRule, "rulePriority", "RulePriority", 1)), `unknown field "RulePriority"`},
		{"duplicate priority", lifecycleDoc(untaggedRule + "," + strings.Replace(anyRule, `"rulePriority":2`, `"rulePriority":1`, 1)), "rulePriority 1 is already used by rules[0]"},
		{"priority zero", lifecycleDoc(strings.Replace(untaggedRule, `"rulePriority":1`, `"rulePriority":0`, 1)), "rulePriority is required: an integer of at least 1"},
		{"priority not an integer", lifecycleDoc(strings.Replace(untaggedRule, `"rulePriority":1`, `"rulePriority":1.5`, 1)), "rulePriority is required"},
		{"priority as a string", lifecycleDoc(strings.Replace(untaggedRule, `"rulePriority":1`, `"rulePriority":"1"`, 1)), "rulePriority is required"},
		{"two any rules for standard images", lifecycleDoc(strings.Replace(anyRule, `"rulePriority":2`, `"rulePriority":1`, 1) + "," + anyRule), "tagStatus any must have the highest rulePriority"},
		{"tagged without lists", lifecycleDoc(sel("1", `{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":3}`, expire)), "tagged needs a tagPatternList or a tagPrefixList"},
		{"tagged with both lists", lifecycleDoc(sel("1", `{"tagStatus":"tagged","tagPrefixList":["v"],"tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":3}`, expire)), "not both"},
		{"tagged with a prefix list", lifecycleDoc(sel("1", `{"tagStatus":"tagged","tagPrefixList":["prod","v"],"countType":"imageCountMoreThan","countNumber":3}`, expire)), ""},
		{"five wildcards", lifecycleDoc(sel("1", `{"tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],"countType":"imageCountMoreThan","countNumber":3}`, expire)), "has 5 wildcards"},
		{"empty pattern", lifecycleDoc(sel("1", `{"tagStatus":"tagged","tagPatternList":[""],"countType":"imageCountMoreThan","countNumber":3}`, expire)), "empty pattern"},
		{"untagged with a prefix list", lifecycleDoc(sel("1", `{"tagStatus":"untagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":3}`, expire)), "untagged must omit both"},
		{"any with a pattern list", lifecycleDoc(sel("1", `{"tagStatus":"any","tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":3}`, expire)), "any must omit both"},
		{"unknown tagStatus", lifecycleDoc(sel("1", `{"tagStatus":"TAGGED","tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":3}`, expire)), `tagStatus "TAGGED" is not one of`},
		{"count unit with image count", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"imageCountMoreThan","countUnit":"days","countNumber":3}`, expire)), "countUnit can only be given with"},
		{"since pushed without unit", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"sinceImagePushed","countNumber":3}`, expire)), `needs countUnit "days"`},
		{"since pushed in hours", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"hours","countNumber":3}`, expire)), `needs countUnit "days"`},
		{"unknown count type", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"sinceImageBuilt","countUnit":"days","countNumber":3}`, expire)), `countType "sinceImageBuilt" is not one of`},
		{"count number zero", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":0}`, expire)), "countNumber is required: a positive integer"},
		{"count number missing", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"imageCountMoreThan"}`, expire)), "countNumber is required"},
		{"archive with image count", lifecycleDoc(sel("1", `{"tagStatus":"untagged","storageClass":"archive","countType":"imageCountMoreThan","countNumber":3}`, expire)), "storageClass archive can only be used with countType sinceImageTransitioned"},
		{"standard spelled out", lifecycleDoc(sel("1", `{"tagStatus":"untagged","storageClass":"standard","countType":"imageCountMoreThan","countNumber":3}`, expire)), ""},
		{"unknown storage class", lifecycleDoc(sel("1", `{"tagStatus":"untagged","storageClass":"glacier","countType":"imageCountMoreThan","countNumber":3}`, expire)), `storageClass "glacier" is not one of`},
		{"archived for exactly 90 days", lifecycleDoc(sel("1", `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`, expire)), ""},
		{"transition archived images", lifecycleDoc(sel("1", `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`, `{"type":"transition","targetStorageClass":"archive"}`)), "sinceImageTransitioned must be used with the expire action"},
		{"transition without target", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":30}`, `{"type":"transition"}`)), `transition needs targetStorageClass "archive"`},
		{"transition to standard", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":30}`, `{"type":"transition","targetStorageClass":"standard"}`)), `transition needs targetStorageClass "archive"`},
		{"expire with a target", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":30}`, `{"type":"expire","targetStorageClass":"archive"}`)), "targetStorageClass can only be given with action type transition"},
		{"unknown action", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":30}`, `{"type":"delete"}`)), `action type "delete" is not one of`},
		{"no action", lifecycleDoc(`{"rulePriority":1,"description":"a rule without an action, long enough","selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1}}`), "action is required"},
		{"unknown selection field", lifecycleDoc(sel("1", `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":3,"countnumber":3}`, expire)), `unknown field "countnumber" in selection`},
		{"any transition rule must still be last", lifecycleDoc(sel("1", `{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30}`, `{"type":"transition","targetStorageClass":"archive"}`) + "," + sel("2", `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7}`, expire)), "tagStatus any must have the highest rulePriority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := checkLifecyclePolicy(tc.doc)
			got := strings.Join(problems, "; ")
			switch {
			case tc.want == "" && len(problems) > 0:
				t.Errorf("refused: %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("problems = %q, want one saying %q", got, tc.want)
			}
		})
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = strings.Replace(untaggedRule, `"rulePriority":1`, `"rulePriority":`+itoa(i+1), 1)
	}
	if got := strings.Join(checkLifecyclePolicy(lifecycleDoc(strings.Join(many, ","))), "; "); !strings.Contains(got, "at most 50") {
		t.Errorf("51 rules: %q, want the 50-rule limit", got)
	}
	long := lifecycleDoc(strings.Replace(untaggedRule, "expire untagged images after 7 days", strings.Repeat("x", 30720), 1))
	if got := strings.Join(checkLifecyclePolicy(long), "; "); !strings.Contains(got, "must be 100 to 30720 characters") {
		t.Errorf("a 30,900-character policy: %q", got)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestRepositoryPolicyRules(t *testing.T) {
	stmt := func(body string) string { return `{"Version":"2012-10-17","Statement":[` + body + `]}` }
	pull := `"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]`
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"the action's cross-account statement", stmt(`{"Sid":"EcrActionCrossAccountPull","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::012345678901:root"]},"Action":["ecr:BatchCheckLayerAvailability","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}`), ""},
		{"one statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*",` + pull + `}}`, ""},
		{"account ID principal", stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},` + pull + `}`), ""},
		{"role in GovCloud", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws-us-gov:iam::111122223333:role/ci/deployer"},` + pull + `}`), ""},
		{"Sid with spaces", stmt(`{"Sid":"Pull for CI jobs","Effect":"Allow","Principal":"*",` + pull + `}`), ""},
		{"not JSON", `{`, "not a JSON object"},
		{"an array", `[]`, "not a JSON object"},
		{"too long", stmt(`{"Sid":"` + strings.Repeat("x", 10240) + `","Effect":"Allow","Principal":"*",` + pull + `}`), "at most 10240 characters"},
		{"no Statement", `{"Version":"2012-10-17"}`, "has no Statement"},
		{"empty Statement", `{"Version":"2012-10-17","Statement":[]}`, "non-empty list"},
		{"statement not an object", `{"Version":"2012-10-17","Statement":["x"]}`, "Statement[0]: not a JSON object"},
		{"unknown Version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*",` + pull + `}}`, `Version "2020-01-01" is not`},
		{"element in another case", `{"version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*",` + pull + `}}`, `unknown policy element "version"`},
		{"no Principal", stmt(`{"Effect":"Allow",` + pull + `}`), "needs a Principal"},
		{"Principal and NotPrincipal", stmt(`{"Effect":"Allow","Principal":"*","NotPrincipal":"*",` + pull + `}`), "not both"},
		{"principal a bare word", stmt(`{"Effect":"Allow","Principal":"everyone",` + pull + `}`), `a Principal is "*" or an object`},
		{"AWS principal not an ARN", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123:root"},` + pull + `}`), "is not \"*\", a 12-digit account ID"},
		{"unknown principal type", stmt(`{"Effect":"Allow","Principal":{"Aws":"*"},` + pull + `}`), `unknown principal type "Aws"`},
		{"no Effect", stmt(`{"Principal":"*",` + pull + `}`), "Effect must be Allow or Deny"},
		{"Effect in lower case", stmt(`{"Effect":"allow","Principal":"*",` + pull + `}`), "Effect must be Allow or Deny"},
		{"no Action", stmt(`{"Effect":"Allow","Principal":"*"}`), "needs an Action"},
		{"empty Action list", stmt(`{"Effect":"Allow","Principal":"*","Action":[]}`), "non-empty list of strings"},
		{"another service's action", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}`), `"s3:GetObject" is not an Amazon ECR action`},
		{"duplicate Sid", stmt(`{"Sid":"A","Effect":"Allow","Principal":"*",` + pull + `},{"Sid":"A","Effect":"Deny","Principal":"*",` + pull + `}`), `Sid "A" is already used`},
		{"unknown statement element", stmt(`{"Effect":"Allow","Principal":"*",` + pull + `,"Resources":"*"}`), `unknown element "Resources"`},
		{"Condition not an object", stmt(`{"Effect":"Allow","Principal":"*",` + pull + `,"Condition":"yes"}`), "Condition must be a non-empty object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := checkRepositoryPolicy(tc.doc)
			got := strings.Join(problems, "; ")
			switch {
			case tc.want == "" && len(problems) > 0:
				t.Errorf("refused: %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("problems = %q, want one saying %q", got, tc.want)
			}
		})
	}
}

func TestRepositoryNameRuleIsTheModels(t *testing.T) {
	for name, ok := range map[string]bool{
		"app": true, "team/app": true, "a.b_c-d": true,
		"a__b": true, "a---b": true, // the model allows '__' and runs of '-'
		"a": false, "App": false, "a//b": false, "-a": false, "a-": false, "a___b": false, "a._b": false,
		strings.Repeat("a", 256): true, strings.Repeat("a", 257): false,
	} {
		if err := checkRepositoryName(name); (err == nil) != ok {
			t.Errorf("checkRepositoryName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestWildcardAndMutabilityRules(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"latest", "latest", true}, {"latest", "latest2", false}, {"dev-*", "dev-1", true}, {"*", "", true},
		{"team/*", "team/a/b", true}, {"a*b*c", "abc", true}, {"a*b*c", "acb", false}, {"a*a", "a", false},
	} {
		if got := wildcardMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
	if !tagImmutable(mutImmutable, nil, "v1") || tagImmutable(mutMutable, nil, "v1") ||
		tagImmutable(mutImmutableWithExclusion, []string{"latest"}, "latest") || !tagImmutable(mutImmutableWithExclusion, []string{"latest"}, "v1") ||
		!tagImmutable(mutMutableWithExclusion, []string{"release-*"}, "release-1") || tagImmutable(mutMutableWithExclusion, []string{"release-*"}, "dev") {
		t.Error("tagImmutable disagrees with the mutability modes")
	}
	for _, tc := range []struct {
		mode    string
		filters []string
		ok      bool
	}{
		{mutMutable, nil, true}, {mutImmutable, []string{"x"}, false}, {mutImmutableWithExclusion, nil, false},
		{mutImmutableWithExclusion, []string{"a", "b", "c", "d", "e", "f"}, false}, {mutMutableWithExclusion, []string{"bad/filter"}, false},
		{mutMutableWithExclusion, []string{"release-*"}, true}, {"SOMETIMES", nil, false},
	} {
		if err := checkMutabilityRules(tc.mode, tc.filters); (err == nil) != tc.ok {
			t.Errorf("checkMutabilityRules(%s, %q) = %v, want ok=%v", tc.mode, tc.filters, err, tc.ok)
		}
	}
}
