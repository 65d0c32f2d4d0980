package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
)

// The tests run reconcile through the real SDK client against ecrlocal, so
// the wire format and ECR's answers are the ones the action meets.

func newECR(t *testing.T) (*ecrlocal.Server, *ecr.Client) {
	e := ecrlocaltest.Start(t)
	return e.Server, e.Client
}

// load is the repository the inputs describe, read by config.Load as the
// action reads them, then taken over field by field as the action does.
func load(t *testing.T, inputs map[string]string) *Desired {
	t.Helper()
	base := map[string]string{"project_name": "canvas-ta", "environment": "production"}
	for k, v := range inputs {
		base[k] = v
	}
	c, err := config.Load(func(k string) string {
		for _, d := range config.Definitions() {
			if config.EnvName(d.Name) == k {
				if v, ok := base[d.Name]; ok {
					return v
				}
				return d.Default
			}
		}
		return ""
	})
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	d := &Desired{
		Repository: c.Repository, ScanOnPush: c.ScanOnPush,
		Mutability: c.Mutability, MutabilityFilters: c.MutabilityFilters,
		EncryptionType: c.EncryptionType, KMSKeyARN: c.KMSKeyARN,
		LifecycleEnabled: c.LifecycleEnabled, LifecyclePolicy: c.LifecyclePolicy, LifecycleSource: c.LifecycleSource,
		CrossAccount: c.CrossAccount, AccountIDs: c.AccountIDs,
	}
	for _, t := range c.ResourceTags {
		d.ResourceTags = append(d.ResourceTags, ResourceTag{Key: t.Key, Value: t.Value})
	}
	return d
}

func actions(res *Result) map[string]Action {
	m := map[string]Action{}
	for _, c := range res.Changes {
		m[c.Setting] = c.Action
	}
	return m
}

func TestCreateThenNothingToDo(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	c := load(t, nil)

	res, err := Reconcile(ctx, client, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Action{
		"Repository": Created, "Encryption": Created, "Scan on push": Created, "Tag mutability": Created,
		"Lifecycle policy": Created, "Cross-account pull": Unchanged, "Tags": Created,
	}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("first run actions (-want +got):\n%s", diff)
	}
	if res.Writes != srv.WriteCalls() || res.Writes != 2 {
		t.Errorf("first run: result counts %d writes, ecrlocal saw %d; want 2 (CreateRepository, PutLifecyclePolicy)", res.Writes, srv.WriteCalls())
	}
	if got, want := res.Repository.ARN, "arn:aws:ecr:us-east-1:123456789012:repository/canvas-ta-production-app"; got != want {
		t.Errorf("ARN = %q, want %q", got, want)
	}
	if !strings.HasSuffix(res.Repository.URI, "/canvas-ta-production-app") || res.Repository.RegistryURL() == "" {
		t.Errorf("URI = %q, registry = %q", res.Repository.URI, res.Repository.RegistryURL())
	}

	// The repository as ECR now reports it.
	d, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{c.Repository}})
	if err != nil {
		t.Fatal(err)
	}
	r := d.Repositories[0]
	if !r.ImageScanningConfiguration.ScanOnPush || r.ImageTagMutability != types.ImageTagMutabilityMutable || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("repository settings: scan=%v mutability=%s encryption=%s", r.ImageScanningConfiguration.ScanOnPush, r.ImageTagMutability, r.EncryptionConfiguration.EncryptionType)
	}
	lp, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(c.Repository)})
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.ValidateLifecyclePolicy(aws.ToString(lp.LifecyclePolicyText)); err != nil {
		t.Errorf("stored lifecycle policy invalid: %v", err)
	}

	srv.ResetCalls()
	res, err = Reconcile(ctx, client, c)
	if err != nil {
		t.Fatal(err)
	}
	if srv.WriteCalls() != 0 || res.Writes != 0 {
		t.Errorf("second run made %d write calls (ecrlocal saw %d), want 0; calls: %v", res.Writes, srv.WriteCalls(), srv.Calls())
	}
	for _, ch := range res.Changes {
		if ch.Action != Unchanged {
			t.Errorf("second run: %s is %s, want unchanged", ch.Setting, ch.Action)
		}
	}
}

func TestUpdatesWhatDiffers(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	if _, err := Reconcile(ctx, client, load(t, nil)); err != nil {
		t.Fatal(err)
	}
	// Someone changed settings by hand and added a tag of their own.
	c := load(t, nil)
	if _, err := client.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
		RepositoryName: aws.String(c.Repository), ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: false},
	}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:ecr:us-east-1:123456789012:repository/" + c.Repository
	if _, err := client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String("Owner"), Value: aws.String("team-a")}, {Key: aws.String("Environment"), Value: aws.String("staging")},
	}}); err != nil {
		t.Fatal(err)
	}

	c = load(t, map[string]string{"image_tag_mutability": "IMMUTABLE_WITH_EXCLUSION", "image_tag_mutability_exclusion_filters": "latest", "max_image_count": "50"})
	srv.ResetCalls()
	res, err := Reconcile(ctx, client, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Action{
		"Repository": Unchanged, "Encryption": Unchanged, "Scan on push": Updated, "Tag mutability": Updated,
		"Lifecycle policy": Updated, "Cross-account pull": Unchanged, "Tags": Updated,
	}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if got := srv.WriteCalls(); got != 4 || res.Writes != 4 {
		t.Errorf("write calls = %d (result %d), want 4; calls %v", got, res.Writes, srv.Calls())
	}
	tags, err := client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range tags.Tags {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if got["Environment"] != "production" || got["Owner"] != "team-a" {
		t.Errorf("tags after reconcile = %v: want Environment restored and Owner kept", got)
	}
	d, _ := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{c.Repository}})
	if r := d.Repositories[0]; r.ImageTagMutability != types.ImageTagMutabilityImmutableWithExclusion || len(r.ImageTagMutabilityExclusionFilters) != 1 {
		t.Errorf("mutability = %s %v", r.ImageTagMutability, r.ImageTagMutabilityExclusionFilters)
	}
}

func TestEncryptionDriftIsReportedNotFixed(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	c := load(t, nil)
	if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:          aws.String(c.Repository),
		EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms},
	}); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	res, err := Reconcile(ctx, client, c)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["Encryption"]; a != Drift {
		t.Errorf("Encryption action = %q, want drift", a)
	}
	if len(res.Drift) != 1 || !strings.Contains(res.Drift[0], "KMS") || !strings.Contains(res.Drift[0], "AES256") {
		t.Errorf("Drift = %q", res.Drift)
	}
	if srv.Calls()["DeleteRepository"] != 0 || srv.Calls()["CreateRepository"] != 0 {
		t.Errorf("drift led to re-creation: %v", srv.Calls())
	}
}

func TestCrossAccountKeepsOtherStatements(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	c := load(t, nil)
	if _, err := Reconcile(ctx, client, c); err != nil {
		t.Fatal(err)
	}
	people := `{"Version":"2012-10-17","Statement":[{"Sid":"CIPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/ci"},"Action":["ecr:PutImage","ecr:InitiateLayerUpload"]}]}`
	if _, err := client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String(c.Repository), PolicyText: aws.String(people)}); err != nil {
		t.Fatal(err)
	}
	getPolicy := func() string {
		out, err := client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(c.Repository)})
		var none *types.RepositoryPolicyNotFoundException
		if errors.As(err, &none) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.PolicyText)
	}

	on := load(t, map[string]string{"enable_cross_account_access": "true", "allowed_account_ids": "012345678901\n222222222222"})
	res, err := Reconcile(ctx, client, on)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["Cross-account pull"]; a != Created {
		t.Errorf("Cross-account pull = %q, want created", a)
	}
	got := getPolicy()
	if diff := cmp.Diff([]string{"012345678901", "222222222222"}, policy.OwnedStatementAccounts(got)); diff != "" {
		t.Errorf("granted accounts (-want +got):\n%s", diff)
	}
	if off, _ := policy.MergeCrossAccount(got, "aws", nil); !policy.EqualRepositoryPolicies(off, people) {
		t.Errorf("people's statement changed: %s", got)
	}

	srv.ResetCalls()
	if _, err := Reconcile(ctx, client, on); err != nil {
		t.Fatal(err)
	}
	if srv.WriteCalls() != 0 {
		t.Errorf("unchanged cross-account run made %d writes: %v", srv.WriteCalls(), srv.Calls())
	}

	// Off again: only the action's statement goes.
	res, err = Reconcile(ctx, client, c)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["Cross-account pull"]; a != Removed {
		t.Errorf("Cross-account pull = %q, want removed", a)
	}
	if got := getPolicy(); !policy.EqualRepositoryPolicies(got, people) {
		t.Errorf("after turning off, policy = %s, want people's only", got)
	}

	// With only the action's statement, turning off deletes the policy.
	if _, err := client.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String(c.Repository)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Reconcile(ctx, client, on); err != nil {
		t.Fatal(err)
	}
	if _, err := Reconcile(ctx, client, c); err != nil {
		t.Fatal(err)
	}
	if got := getPolicy(); got != "" {
		t.Errorf("policy left after removing the only statement: %s", got)
	}
}

func TestLifecycleDisabledRemovesOnlyGenerated(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	c := load(t, nil)
	if _, err := Reconcile(ctx, client, c); err != nil {
		t.Fatal(err)
	}
	off := load(t, map[string]string{"enable_lifecycle_policy": "false"})
	res, err := Reconcile(ctx, client, off)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["Lifecycle policy"]; a != Removed {
		t.Errorf("generated policy: action %q, want removed", a)
	}
	// A policy people wrote is left in place.
	own := `{"rules":[{"rulePriority":1,"description":"ours","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`
	if _, err := client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(c.Repository), LifecyclePolicyText: aws.String(own)}); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	res, err = Reconcile(ctx, client, off)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["Lifecycle policy"]; a != Kept || srv.Calls()["DeleteLifecyclePolicy"] != 0 {
		t.Errorf("people's policy: action %q, deletes %d; want kept and none", a, srv.Calls()["DeleteLifecyclePolicy"])
	}
}

func TestCreationRaceIsNotAnError(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	c := load(t, nil)
	// Another job creates the repository between our read and our write.
	if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(c.Repository)}); err != nil {
		t.Fatal(err)
	}
	srv.Inject("DescribeRepositories", ecrlocal.Fault{Count: 1, Error: "RepositoryNotFoundException"})
	res, err := Reconcile(ctx, client, c)
	if err != nil {
		t.Fatalf("race: %v", err)
	}
	if res.Created || len(res.Notes) == 0 {
		t.Errorf("Created = %v, notes %q: want reconciled as existing, with a note", res.Created, res.Notes)
	}
	if a := actions(res)["Lifecycle policy"]; a != Created {
		t.Errorf("lifecycle after race = %q, want created", a)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	srv.Inject("DescribeRepositories", ecrlocal.Fault{Count: 3, Throttle: true})
	if _, err := Reconcile(ctx, client, load(t, nil)); err != nil {
		t.Fatalf("throttled run failed: %v", err)
	}
	if got := srv.Calls()["DescribeRepositories"]; got != 4 {
		t.Errorf("DescribeRepositories calls = %d, want 4 (3 throttled + 1)", got)
	}
}

func TestAccessDeniedStopsWithTypedError(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	srv.Inject("PutLifecyclePolicy", ecrlocal.Fault{Count: 10, Error: "AccessDeniedException"})
	_, err := Reconcile(ctx, client, load(t, nil))
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("err = %v, want AccessDeniedException", err)
	}
	if !strings.Contains(err.Error(), "lifecycle policy") {
		t.Errorf("error does not say what was being done: %v", err)
	}
	if got := srv.Calls()["PutLifecyclePolicy"]; got != 1 {
		t.Errorf("AccessDenied retried: %d calls", got)
	}
}

func TestDescribeLifecycle(t *testing.T) {
	doc, err := policy.GenerateLifecyclePolicy(policy.LifecycleParams{MaxImageCount: 30, UntaggedImageDays: 7, ProtectedTags: []string{"v*"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "1. expire untagged images older than 7 days; 2. protect tagged v*; 3. keep last 30 images"
	if got := describeLifecycle(doc); got != want {
		t.Errorf("describeLifecycle = %q, want %q", got, want)
	}
	if got := describeLifecycle(""); got != "(none)" {
		t.Errorf("describeLifecycle(\"\") = %q", got)
	}
}
