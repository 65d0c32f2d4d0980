package ecrlocal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/testing/goldenfile"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// repoView is the part of a Repository the tests compare.
type repoView struct {
	Arn, RegistryID, Name, URI string
	Mutability                 types.ImageTagMutability
	Filters                    []string
	ScanOnPush                 bool
	Encryption                 types.EncryptionType
	KMSKey                     string
}

func view(r *types.Repository) repoView {
	v := repoView{
		Arn:        aws.ToString(r.RepositoryArn),
		RegistryID: aws.ToString(r.RegistryId),
		Name:       aws.ToString(r.RepositoryName),
		URI:        aws.ToString(r.RepositoryUri),
		Mutability: r.ImageTagMutability,
	}
	for _, f := range r.ImageTagMutabilityExclusionFilters {
		v.Filters = append(v.Filters, string(f.FilterType)+":"+aws.ToString(f.Filter))
	}
	if r.ImageScanningConfiguration != nil {
		v.ScanOnPush = r.ImageScanningConfiguration.ScanOnPush
	}
	if r.EncryptionConfiguration != nil {
		v.Encryption = r.EncryptionConfiguration.EncryptionType
		v.KMSKey = aws.ToString(r.EncryptionConfiguration.KmsKey)
	}
	return v
}

func TestCreateRepository(t *testing.T) {
	e := newEnv(t, Options{})
	arn := func(name string) string { return "arn:aws:ecr:us-east-1:123456789012:repository/" + name }
	key, err := e.srv.CreateKMSKey("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   ecr.CreateRepositoryInput
		want repoView
	}{
		{
			name: "defaults",
			in:   ecr.CreateRepositoryInput{RepositoryName: aws.String("app")},
			want: repoView{Arn: arn("app"), RegistryID: "123456789012", Name: "app", URI: e.host + "/app", Mutability: "MUTABLE", Encryption: "AES256"},
		},
		{
			name: "namespaced name, scan on push, immutable",
			in: ecr.CreateRepositoryInput{
				RepositoryName:             aws.String("team-a/web.app_1"),
				ImageTagMutability:         types.ImageTagMutabilityImmutable,
				ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
			},
			want: repoView{Arn: arn("team-a/web.app_1"), RegistryID: "123456789012", Name: "team-a/web.app_1", URI: e.host + "/team-a/web.app_1", Mutability: "IMMUTABLE", ScanOnPush: true, Encryption: "AES256"},
		},
		{
			name: "KMS with a key keeps the key",
			in: ecr.CreateRepositoryInput{
				RepositoryName:          aws.String("kms-key"),
				EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String(key)},
			},
			want: repoView{Arn: arn("kms-key"), RegistryID: "123456789012", Name: "kms-key", URI: e.host + "/kms-key", Mutability: "MUTABLE", Encryption: "KMS", KMSKey: key},
		},
		{
			name: "exclusion filters are reported back",
			in: ecr.CreateRepositoryInput{
				RepositoryName:     aws.String("excl"),
				ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion,
				ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{
					{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("latest")},
					{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("dev-*")},
				},
			},
			want: repoView{Arn: arn("excl"), RegistryID: "123456789012", Name: "excl", URI: e.host + "/excl", Mutability: "IMMUTABLE_WITH_EXCLUSION", Filters: []string{"WILDCARD:latest", "WILDCARD:dev-*"}, Encryption: "AES256"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := view(e.createRepo(t, &tc.in))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CreateRepository returned (-want +got):\n%s", diff)
			}
			out, err := e.client.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{got.Name}})
			if err != nil {
				t.Fatalf("DescribeRepositories: %v", err)
			}
			if diff := cmp.Diff(tc.want, view(&out.Repositories[0])); diff != "" {
				t.Errorf("DescribeRepositories returned (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateRepositoryKMSWithoutKeyReportsManagedKey(t *testing.T) {
	e := newEnv(t, Options{})
	for _, typ := range []types.EncryptionType{types.EncryptionTypeKms, types.EncryptionTypeKmsDsse} {
		t.Run(string(typ), func(t *testing.T) {
			r := e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("k-" + strings.ToLower(string(typ))), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: typ}})
			got := aws.ToString(r.EncryptionConfiguration.KmsKey)
			if !strings.HasPrefix(got, "arn:aws:kms:us-east-1:123456789012:key/") {
				t.Errorf("kmsKey = %q, want an AWS-managed key ARN in the account and region", got)
			}
		})
	}
}

func TestCreateRepositoryRejects(t *testing.T) {
	e := newEnv(t, Options{})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("taken")})
	wildcard := func(f string) []types.ImageTagMutabilityExclusionFilter {
		return []types.ImageTagMutabilityExclusionFilter{{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String(f)}}
	}
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	tests := []struct {
		name  string
		in    ecr.CreateRepositoryInput
		check func(*testing.T, error)
	}{
		{"upper-case name", ecr.CreateRepositoryInput{RepositoryName: aws.String("App")}, wantAPIError[*types.InvalidParameterException]},
		{"one character", ecr.CreateRepositoryInput{RepositoryName: aws.String("a")}, wantAPIError[*types.InvalidParameterException]},
		{"257 characters", ecr.CreateRepositoryInput{RepositoryName: aws.String(strings.Repeat("a", 257))}, wantAPIError[*types.InvalidParameterException]},
		{"two separators in a row", ecr.CreateRepositoryInput{RepositoryName: aws.String("a._b")}, wantAPIError[*types.InvalidParameterException]},
		{"exists", ecr.CreateRepositoryInput{RepositoryName: aws.String("taken")}, wantAPIError[*types.RepositoryAlreadyExistsException]},
		{"unknown mutability", ecr.CreateRepositoryInput{RepositoryName: aws.String("m1"), ImageTagMutability: "SOMETIMES"}, wantAPIError[*types.InvalidParameterException]},
		{"MUTABLE with filters", ecr.CreateRepositoryInput{RepositoryName: aws.String("m2"), ImageTagMutability: types.ImageTagMutabilityMutable, ImageTagMutabilityExclusionFilters: wildcard("v*")}, wantAPIError[*types.InvalidParameterException]},
		{"WITH_EXCLUSION without filters", ecr.CreateRepositoryInput{RepositoryName: aws.String("m3"), ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion}, wantAPIError[*types.InvalidParameterException]},
		{"filter with a slash", ecr.CreateRepositoryInput{RepositoryName: aws.String("m4"), ImageTagMutability: types.ImageTagMutabilityMutableWithExclusion, ImageTagMutabilityExclusionFilters: wildcard("v1/x")}, wantAPIError[*types.InvalidParameterException]},
		{"unknown encryption", ecr.CreateRepositoryInput{RepositoryName: aws.String("e1"), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: "DES"}}, wantAPIError[*types.InvalidParameterException]},
		{"AES256 with a key", ecr.CreateRepositoryInput{RepositoryName: aws.String("e2"), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256, KmsKey: aws.String("arn:aws:kms:us-east-1:123456789012:key/x")}}, wantAPIError[*types.InvalidParameterException]},
		{"51 tags", ecr.CreateRepositoryInput{RepositoryName: aws.String("t1"), Tags: manyTags}, wantAPIError[*types.TooManyTagsException]},
		{"tag key of 129", ecr.CreateRepositoryInput{RepositoryName: aws.String("t2"), Tags: []types.Tag{{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}}}, wantAPIError[*types.InvalidTagParameterException]},
		{"tag value of 257", ecr.CreateRepositoryInput{RepositoryName: aws.String("t3"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}}}, wantAPIError[*types.InvalidTagParameterException]},
		{"other registry", ecr.CreateRepositoryInput{RepositoryName: aws.String("r1"), RegistryId: aws.String("999999999999")}, wantAPIError[*types.InvalidParameterException]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateRepository(context.Background(), &tc.in)
			tc.check(t, err)
		})
	}
	if got := e.srv.Calls()["CreateRepository"]; got != len(tests)+1 {
		t.Errorf("Calls()[CreateRepository] = %d, want %d", got, len(tests)+1)
	}
	out, err := e.client.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatalf("DescribeRepositories: %v", err)
	}
	if len(out.Repositories) != 1 {
		t.Errorf("after rejected creates, %d repositories exist, want only %q", len(out.Repositories), "taken")
	}
}

func TestAccountWithLeadingZero(t *testing.T) {
	e := newEnv(t, Options{Account: "012345678901", Region: "eu-west-1"})
	r := e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	want := repoView{Arn: "arn:aws:ecr:eu-west-1:012345678901:repository/app", RegistryID: "012345678901", Name: "app", URI: e.host + "/app", Mutability: "MUTABLE", Encryption: "AES256"}
	if diff := cmp.Diff(want, view(r)); diff != "" {
		t.Errorf("CreateRepository returned (-want +got):\n%s", diff)
	}
	if _, err := e.client.ListTagsForResource(context.Background(), &ecr.ListTagsForResourceInput{ResourceArn: aws.String(want.Arn)}); err != nil {
		t.Errorf("ListTagsForResource(%s): %v", want.Arn, err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Account: "12345"}, {Account: "12345678901x"}, {Region: "Mars"}} {
		if s, err := New(o); err == nil {
			_ = s.Close()
			t.Errorf("New(%+v) succeeded, want an error", o)
		}
	}
}

func TestDescribeRepositories(t *testing.T) {
	e := newEnv(t, Options{})
	names := []string{"e", "a", "d", "b", "c"}
	for _, n := range names {
		e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("r-" + n)})
	}
	t.Run("paginates through all, by name", func(t *testing.T) {
		p := ecr.NewDescribeRepositoriesPaginator(e.client, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
		var got []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			pages++
			for _, r := range out.Repositories {
				got = append(got, aws.ToString(r.RepositoryName))
			}
		}
		want := []string{"r-a", "r-b", "r-c", "r-d", "r-e"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("names (-want +got):\n%s", diff)
		}
		if pages != 3 {
			t.Errorf("pages = %d, want 3", pages)
		}
	})
	t.Run("a missing name fails", func(t *testing.T) {
		_, err := e.client.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"r-a", "nope"}})
		wantAPIError[*types.RepositoryNotFoundException](t, err)
	})
}

func TestDeleteRepository(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("full")})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("empty")})
	e.putTestImage(t, "full", "v1")

	_, err := e.client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("full")})
	wantAPIError[*types.RepositoryNotEmptyException](t, err)
	if _, err := e.client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("full"), Force: true}); err != nil {
		t.Errorf("DeleteRepository(full, force): %v", err)
	}
	if _, err := e.client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("empty")}); err != nil {
		t.Errorf("DeleteRepository(empty): %v", err)
	}
	_, err = e.client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("empty")})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
}

func TestPutScanningAndMutability(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})

	sc, err := e.client.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String("app"), ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil {
		t.Fatalf("PutImageScanningConfiguration: %v", err)
	}
	if !sc.ImageScanningConfiguration.ScanOnPush || aws.ToString(sc.RegistryId) != "123456789012" {
		t.Errorf("PutImageScanningConfiguration answered %+v, want scanOnPush true in registry 123456789012", sc.ImageScanningConfiguration)
	}
	mu, err := e.client.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
		RepositoryName:     aws.String("app"),
		ImageTagMutability: types.ImageTagMutabilityMutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("v*")},
		},
	})
	if err != nil {
		t.Fatalf("PutImageTagMutability: %v", err)
	}
	if mu.ImageTagMutability != types.ImageTagMutabilityMutableWithExclusion || len(mu.ImageTagMutabilityExclusionFilters) != 1 {
		t.Errorf("PutImageTagMutability answered %s with %d filters, want MUTABLE_WITH_EXCLUSION with 1", mu.ImageTagMutability, len(mu.ImageTagMutabilityExclusionFilters))
	}
	out, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app"}})
	if err != nil {
		t.Fatalf("DescribeRepositories: %v", err)
	}
	got := view(&out.Repositories[0])
	if !got.ScanOnPush || got.Mutability != types.ImageTagMutabilityMutableWithExclusion || len(got.Filters) != 1 {
		t.Errorf("after the puts the repository is %+v", got)
	}

	_, err = e.client.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("app"), ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion})
	wantAPIError[*types.InvalidParameterException](t, err)
	_, err = e.client.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String("nope"), ImageScanningConfiguration: &types.ImageScanningConfiguration{}})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
	_, err = e.client.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("nope"), ImageTagMutability: types.ImageTagMutabilityMutable})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
}

// goodLifecycle is the seed module's policy in the order ECR accepts.
const goodLifecycle = `{
  "rules": [
    {"rulePriority": 1, "description": "Remove untagged images older than 7 days",
     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "Keep last 30 images",
     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
     "action": {"type": "expire"}}
  ]
}`

// seedLifecycle is the seed README's example: the any rule first, which real
// ECR rejects.
const seedLifecycle = `{"rules":[{"rulePriority":1,"description":"Keep last 30 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}},{"rulePriority":2,"description":"Remove untagged images older than 7 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}}]}`

func TestLifecyclePolicy(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	repo := aws.String("app")

	_, err := e.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	wantAPIError[*types.LifecyclePolicyNotFoundException](t, err)

	for name, doc := range map[string]string{
		"any rule not last":  seedLifecycle,
		"not JSON":           strings.Repeat("x", 120),
		"too short":          `{"rules":[]}`,
		"untagged with tags": strings.Replace(goodLifecycle, `"tagStatus": "untagged"`, `"tagStatus": "untagged", "tagPrefixList": ["v"]`, 1),
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			_, err := e.client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(doc)})
			wantAPIError[*types.InvalidParameterException](t, err)
		})
	}
	_, err = e.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	wantAPIError[*types.LifecyclePolicyNotFoundException](t, err)

	if _, err := e.client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(goodLifecycle)}); err != nil {
		t.Fatalf("PutLifecyclePolicy: %v", err)
	}
	got, err := e.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	if err != nil {
		t.Fatalf("GetLifecyclePolicy: %v", err)
	}
	if diff := cmp.Diff(asJSON(t, goodLifecycle), asJSON(t, aws.ToString(got.LifecyclePolicyText))); diff != "" {
		t.Errorf("GetLifecyclePolicy text differs as JSON (-put +got):\n%s", diff)
	}
	if aws.ToString(got.LifecyclePolicyText) == goodLifecycle {
		t.Errorf("GetLifecyclePolicy returned the text byte for byte; ECR reformats it, and so should ecrlocal to catch text comparisons")
	}
	if _, err := e.client.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: repo}); err != nil {
		t.Fatalf("DeleteLifecyclePolicy: %v", err)
	}
	_, err = e.client.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: repo})
	wantAPIError[*types.LifecyclePolicyNotFoundException](t, err)
	_, err = e.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("nope")})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
}

func asJSON(t *testing.T, doc string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	return v
}

const pullPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"EcrActionCrossAccountPull","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::012345678901:root"]},"Action":["ecr:BatchCheckLayerAvailability","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`

func TestRepositoryPolicy(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	repo := aws.String("app")

	_, err := e.client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: repo})
	wantAPIError[*types.RepositoryPolicyNotFoundException](t, err)
	for name, doc := range map[string]string{
		"not JSON":       "{",
		"no Statement":   `{"Version":"2012-10-17"}`,
		"over 10240":     `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", 10240) + `"}]}`,
		"trailing bytes": pullPolicy + "}",
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			_, err := e.client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: repo, PolicyText: aws.String(doc)})
			wantAPIError[*types.InvalidParameterException](t, err)
		})
	}
	if _, err := e.client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: repo, PolicyText: aws.String(pullPolicy)}); err != nil {
		t.Fatalf("SetRepositoryPolicy: %v", err)
	}
	got, err := e.client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: repo})
	if err != nil {
		t.Fatalf("GetRepositoryPolicy: %v", err)
	}
	goldenfile.Check(t, "repository-policy.json", aws.ToString(got.PolicyText))
	if diff := cmp.Diff(asJSON(t, pullPolicy), asJSON(t, aws.ToString(got.PolicyText))); diff != "" {
		t.Errorf("GetRepositoryPolicy differs as JSON (-set +got):\n%s", diff)
	}
	del, err := e.client.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: repo})
	if err != nil {
		t.Fatalf("DeleteRepositoryPolicy: %v", err)
	}
	if aws.ToString(del.PolicyText) != aws.ToString(got.PolicyText) {
		t.Errorf("DeleteRepositoryPolicy returned %q, want the deleted policy", aws.ToString(del.PolicyText))
	}
	_, err = e.client.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: repo})
	wantAPIError[*types.RepositoryPolicyNotFoundException](t, err)
	_, err = e.client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("nope"), PolicyText: aws.String(pullPolicy)})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
}

func TestResourceTags(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	r := e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app"), Tags: []types.Tag{{Key: aws.String("Project"), Value: aws.String("canvas")}}})
	arn := r.RepositoryArn
	list := func(t *testing.T) map[string]string {
		t.Helper()
		out, err := e.client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if diff := cmp.Diff(map[string]string{"Project": "canvas"}, list(t)); diff != "" {
		t.Errorf("tags after create (-want +got):\n%s", diff)
	}
	if _, err := e.client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("Project"), Value: aws.String("ta")}, {Key: aws.String("Env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"Project": "ta", "Env": "prod"}, list(t)); diff != "" {
		t.Errorf("tags after TagResource (-want +got):\n%s", diff)
	}
	if _, err := e.client.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"Project", "NotThere"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"Env": "prod"}, list(t)); diff != "" {
		t.Errorf("tags after UntagResource (-want +got):\n%s", diff)
	}

	many := make([]types.Tag, 50)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")}
	}
	_, err := e.client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: many})
	wantAPIError[*types.TooManyTagsException](t, err)
	_, err = e.client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("aws:reserved"), Value: aws.String("v")}}})
	wantAPIError[*types.InvalidTagParameterException](t, err)
	_, err = e.client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:123456789012:repository/nope")})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
	_, err = e.client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:s3:::bucket")})
	wantAPIError[*types.InvalidParameterException](t, err)
}

func TestGetAuthorizationToken(t *testing.T) {
	e := newEnv(t, Options{})
	before := time.Now()
	out, err := e.client.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	if err != nil {
		t.Fatalf("token is not base64: %v", err)
	}
	if user, pass, _ := strings.Cut(string(raw), ":"); user != "AWS" || pass == "" {
		t.Errorf("token decodes to user %q and a %d-character password, want AWS and a password", user, len(pass))
	}
	if got, want := aws.ToString(d.ProxyEndpoint), "http://"+e.host; got != want {
		t.Errorf("proxyEndpoint = %q, want %q", got, want)
	}
	if got := d.ExpiresAt.Sub(before); got < 12*time.Hour-time.Minute || got > 12*time.Hour+time.Minute {
		t.Errorf("expiresAt is %v ahead, want 12h", got)
	}
}

// TestWireFormat checks what the SDK cannot show: the raw error shape and the
// answer to an operation ecrlocal does not serve.
func TestWireFormat(t *testing.T) {
	e := newEnv(t, Options{})
	post := func(t *testing.T, target, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("body %q is not JSON: %v", b, err)
		}
		return resp, m
	}
	tests := []struct {
		name, target, body string
		status             int
		errType            string
	}{
		{"missing repository", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories", `{"repositoryNames":["nope"]}`, 400, "RepositoryNotFoundException"},
		{"unknown operation", "AmazonEC2ContainerRegistry_V20150921.FlyToTheMoon", `{}`, 400, "UnknownOperationException"},
		{"other service", "DynamoDB_20120810.ListTables", `{}`, 400, "UnknownOperationException"},
		{"bad body", "AmazonEC2ContainerRegistry_V20150921.CreateRepository", `{"repositoryName":5}`, 400, "SerializationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := post(t, tc.target, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tc.errType {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tc.errType)
			}
			if m["__type"] != tc.errType || m["message"] == "" {
				t.Errorf("body = %v, want __type %q and a message", m, tc.errType)
			}
		})
	}
	t.Run("timestamps are epoch seconds", func(t *testing.T) {
		_, m := post(t, "AmazonEC2ContainerRegistry_V20150921.CreateRepository", `{"repositoryName":"ts"}`)
		created, ok := m["repository"].(map[string]any)["createdAt"].(float64)
		if !ok || created < float64(time.Now().Add(-time.Hour).Unix()) {
			t.Errorf("createdAt = %v, want epoch seconds as a number", m["repository"].(map[string]any)["createdAt"])
		}
	})
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("throttling is retried by the SDK", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.srv.Inject("CreateRepository", Fault{Count: 2, Throttle: true})
		client := newClient(e.http.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 3 })
		if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
			t.Fatalf("CreateRepository after 2 throttles: %v", err)
		}
		if got := e.srv.Calls()["CreateRepository"]; got != 3 {
			t.Errorf("CreateRepository calls = %d, want 3 (2 throttled, 1 served)", got)
		}
	})
	t.Run("throttling past the retries", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.srv.Inject("DescribeRepositories", Fault{Count: 1, Throttle: true})
		client := newClient(e.http.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
		_, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
			t.Fatalf("got %v, want ThrottlingException", err)
		}
		if _, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
			t.Errorf("the fault applied past its count: %v", err)
		}
	})
	t.Run("named errors", func(t *testing.T) {
		e := newEnv(t, Options{})
		client := newClient(e.http.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
		e.srv.Inject("CreateRepository", Fault{Count: 1, Error: "AccessDeniedException"})
		_, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Errorf("got %v, want AccessDeniedException", err)
		}
		e.srv.Inject("CreateRepository", Fault{Count: 1, Error: "ServerException"})
		_, err = client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
		wantAPIError[*types.ServerException](t, err)
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() != 500 {
			t.Errorf("ServerException came with HTTP %d, want 500", re.HTTPStatusCode())
		}
		if e.srv.WriteCalls() != 2 {
			t.Errorf("WriteCalls = %d, want the 2 faulted calls counted", e.srv.WriteCalls())
		}
	})
	t.Run("delay honours the request context", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.srv.Inject("DescribeRepositories", Fault{Count: 1, Delay: time.Minute})
		client := newClient(e.http.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := client.DescribeRepositories(cctx, &ecr.DescribeRepositoriesInput{})
		if err == nil {
			t.Fatalf("DescribeRepositories returned before a one-minute delay")
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("the call took %v; the delay should end with the context", time.Since(start))
		}
	})
	t.Run("short delay then success", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.srv.Inject("DescribeRepositories", Fault{Count: 1, Delay: 50 * time.Millisecond})
		start := time.Now()
		if _, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
			t.Fatalf("DescribeRepositories: %v", err)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("call took %v, want at least the 50ms delay", d)
		}
	})
}

func TestCallCounting(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	for range 2 {
		if _, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("app")}); err == nil {
		t.Fatal("GetLifecyclePolicy found a policy in a new repository")
	}
	want := map[string]int{"CreateRepository": 1, "DescribeRepositories": 2, "GetLifecyclePolicy": 1}
	if diff := cmp.Diff(want, e.srv.Calls()); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
	if got := e.srv.WriteCalls(); got != 1 {
		t.Errorf("WriteCalls = %d, want 1", got)
	}
	resp, err := http.Get(e.http.URL + "/_ecrlocal/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("decoding /_ecrlocal/calls: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/_ecrlocal/calls (-want +got):\n%s", diff)
	}
	e.srv.ResetCalls()
	if got := e.srv.WriteCalls(); got != 0 || len(e.srv.Calls()) != 0 {
		t.Errorf("after ResetCalls: WriteCalls %d, Calls %v", got, e.srv.Calls())
	}
}

func TestIsWriteOperation(t *testing.T) {
	for op, want := range map[string]bool{
		"CreateRepository": true, "PutLifecyclePolicy": true, "SetRepositoryPolicy": true, "DeleteRepositoryPolicy": true,
		"TagResource": true, "UntagResource": true, "BatchDeleteImage": true, "StartImageScan": true, "PutImage": true,
		"DescribeRepositories": false, "GetLifecyclePolicy": false, "ListTagsForResource": false, "BatchGetImage": false,
		"BatchCheckLayerAvailability": false, "GetAuthorizationToken": false,
	} {
		if got := isWriteOperation(op); got != want {
			t.Errorf("isWriteOperation(%q) = %v, want %v", op, got, want)
		}
	}
}
