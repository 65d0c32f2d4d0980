package ecrlocal

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"
)

// newClockedEnv is an env whose server time is clk's.
func newClockedEnv(t *testing.T, opts Options) (*env, *manualClock) {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	clk := &manualClock{t: time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv.now = clk.now
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	return &env{srv: srv, http: hs, client: newClient(hs.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 }), host: strings.TrimPrefix(hs.URL, "http://")}, clk
}

const testProfile = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/ecr_signing"

func TestSigningConfigurationAndStatus(t *testing.T) {
	e, clk := newClockedEnv(t, Options{SigningDelay: time.Minute})
	ctx := context.Background()
	_, err := e.client.GetSigningConfiguration(ctx, &ecr.GetSigningConfigurationInput{})
	wantAPIError[*types.SigningConfigurationNotFoundException](t, err)
	_, err = e.client.DeleteSigningConfiguration(ctx, &ecr.DeleteSigningConfigurationInput{})
	wantAPIError[*types.SigningConfigurationNotFoundException](t, err)

	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("other")})
	// Pushed before any configuration: never signed.
	before, _ := e.putTestImage(t, "team/app", "old").Digest()

	for name, cfg := range map[string]*types.SigningConfiguration{
		"no rules":    {Rules: []types.SigningRule{}},
		"bad profile": {Rules: []types.SigningRule{{SigningProfileArn: aws.String("arn:aws:iam::123456789012:role/x")}}},
		"bad filter":  {Rules: []types.SigningRule{{SigningProfileArn: aws.String(testProfile), RepositoryFilters: []types.SigningRepositoryFilter{{Filter: aws.String("App"), FilterType: types.SigningRepositoryFilterTypeWildcardMatch}}}}},
		"filter type": {Rules: []types.SigningRule{{SigningProfileArn: aws.String(testProfile), RepositoryFilters: []types.SigningRepositoryFilter{{Filter: aws.String("app"), FilterType: "PREFIX_MATCH"}}}}},
	} {
		if _, err := e.client.PutSigningConfiguration(ctx, &ecr.PutSigningConfigurationInput{SigningConfiguration: cfg}); err == nil {
			t.Errorf("PutSigningConfiguration with %s succeeded", name)
		} else {
			wantAPIError[*types.InvalidParameterException](t, err)
		}
	}
	// The API Reference's pattern refuses what a repository name could not
	// hold at that place: a trailing or leading separator, two in a row.
	for _, f := range []string{"team/", "/x", "a..b", "-", "a//b", "*-"} {
		cfg := &types.SigningConfiguration{Rules: []types.SigningRule{{SigningProfileArn: aws.String(testProfile), RepositoryFilters: []types.SigningRepositoryFilter{{Filter: aws.String(f), FilterType: types.SigningRepositoryFilterTypeWildcardMatch}}}}}
		if _, err := e.client.PutSigningConfiguration(ctx, &ecr.PutSigningConfigurationInput{SigningConfiguration: cfg}); err == nil {
			t.Errorf("PutSigningConfiguration with the filter %q succeeded", f)
		} else {
			wantAPIError[*types.InvalidParameterException](t, err)
		}
	}
	cfg := &types.SigningConfiguration{Rules: []types.SigningRule{{SigningProfileArn: aws.String(testProfile), RepositoryFilters: []types.SigningRepositoryFilter{{Filter: aws.String("team/*"), FilterType: types.SigningRepositoryFilterTypeWildcardMatch}}}}}
	if _, err := e.client.PutSigningConfiguration(ctx, &ecr.PutSigningConfigurationInput{SigningConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	got, err := e.client.GetSigningConfiguration(ctx, &ecr.GetSigningConfigurationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.RegistryId) != DefaultAccount || len(got.SigningConfiguration.Rules) != 1 || aws.ToString(got.SigningConfiguration.Rules[0].RepositoryFilters[0].Filter) != "team/*" {
		t.Errorf("GetSigningConfiguration = %+v", got)
	}

	status := func(repo, digest string) []string {
		t.Helper()
		out, err := e.client.DescribeImageSigningStatus(ctx, &ecr.DescribeImageSigningStatusInput{RepositoryName: aws.String(repo), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(digest)}})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, st := range out.SigningStatuses {
			s = append(s, string(st.Status)+" "+aws.ToString(st.SigningProfileArn)+" "+aws.ToString(st.FailureCode))
		}
		return s
	}
	signed, _ := e.putTestImage(t, "team/app", "new").Digest()
	uncovered, _ := e.putTestImage(t, "other", "x").Digest()
	if diff := cmp.Diff([]string{"IN_PROGRESS " + testProfile + " "}, status("team/app", signed.String())); diff != "" {
		t.Errorf("right after the push (-want +got):\n%s", diff)
	}
	clk.advance(time.Minute)
	if diff := cmp.Diff([]string{"COMPLETE " + testProfile + " "}, status("team/app", signed.String())); diff != "" {
		t.Errorf("after the signing delay (-want +got):\n%s", diff)
	}
	if s := status("team/app", before.String()); len(s) != 0 {
		t.Errorf("an image pushed before the configuration: %v", s)
	}
	if s := status("other", uncovered.String()); len(s) != 0 {
		t.Errorf("an image no rule covers: %v", s)
	}
	_, err = e.client.DescribeImageSigningStatus(ctx, &ecr.DescribeImageSigningStatusInput{RepositoryName: aws.String("team/app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("missing")}})
	wantAPIError[*types.ImageNotFoundException](t, err)

	// Deleting the configuration keeps existing statuses.
	if _, err := e.client.DeleteSigningConfiguration(ctx, &ecr.DeleteSigningConfigurationInput{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"COMPLETE " + testProfile + " "}, status("team/app", signed.String())); diff != "" {
		t.Errorf("after the delete (-want +got):\n%s", diff)
	}
}

func TestSigningFailure(t *testing.T) {
	e, clk := newClockedEnv(t, Options{SigningDelay: time.Second, SigningFailure: "SIGNING_FAILED"})
	ctx := context.Background()
	if _, err := e.client.PutSigningConfiguration(ctx, &ecr.PutSigningConfigurationInput{SigningConfiguration: &types.SigningConfiguration{Rules: []types.SigningRule{{SigningProfileArn: aws.String(testProfile)}}}}); err != nil {
		t.Fatal(err)
	}
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	d, _ := e.putTestImage(t, "app", "v1").Digest()
	clk.advance(time.Second)
	out, err := e.client.DescribeImageSigningStatus(ctx, &ecr.DescribeImageSigningStatusInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SigningStatuses) != 1 || out.SigningStatuses[0].Status != types.SigningStatusFailed || aws.ToString(out.SigningStatuses[0].FailureCode) != "SIGNING_FAILED" || aws.ToString(out.SigningStatuses[0].FailureReason) == "" {
		t.Errorf("statuses = %+v", out.SigningStatuses)
	}
	if aws.ToString(out.ImageId.ImageDigest) != d.String() {
		t.Errorf("imageId = %+v", out.ImageId)
	}
}

func TestReplicationConfigurationAndStatus(t *testing.T) {
	e, clk := newClockedEnv(t, Options{Replication: map[string]ReplicationBehavior{
		"us-west-2":              {Delay: 2 * time.Second},
		"210987654321/eu-west-1": {Delay: time.Second, Failure: "REPLICATION_FAILED"},
	}})
	ctx := context.Background()
	reg, err := e.client.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(reg.RegistryId) != DefaultAccount || reg.ReplicationConfiguration == nil || len(reg.ReplicationConfiguration.Rules) != 0 {
		t.Errorf("DescribeRegistry before any configuration = %+v", reg)
	}
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("other")})
	before, _ := e.putTestImage(t, "team/app", "old").Digest()

	dest := func(region, account string) types.ReplicationDestination {
		return types.ReplicationDestination{Region: aws.String(region), RegistryId: aws.String(account)}
	}
	for name, rules := range map[string][]types.ReplicationRule{
		"itself":       {{Destinations: []types.ReplicationDestination{dest("us-east-1", DefaultAccount)}}},
		"no dest":      {{Destinations: []types.ReplicationDestination{}}},
		"bad account":  {{Destinations: []types.ReplicationDestination{dest("us-west-2", "12345")}}},
		"filter type":  {{Destinations: []types.ReplicationDestination{dest("us-west-2", DefaultAccount)}, RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String("team"), FilterType: "WILDCARD"}}}},
		"short filter": {{Destinations: []types.ReplicationDestination{dest("us-west-2", DefaultAccount)}, RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String("t"), FilterType: types.RepositoryFilterTypePrefixMatch}}}},
		"upper case":   {{Destinations: []types.ReplicationDestination{dest("us-west-2", DefaultAccount)}, RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String("Team"), FilterType: types.RepositoryFilterTypePrefixMatch}}}},
	} {
		if _, err := e.client.PutReplicationConfiguration(ctx, &ecr.PutReplicationConfigurationInput{ReplicationConfiguration: &types.ReplicationConfiguration{Rules: rules}}); err == nil {
			t.Errorf("PutReplicationConfiguration with %s succeeded", name)
		} else {
			wantAPIError[*types.InvalidParameterException](t, err)
		}
	}
	// A prefix may end in a separator (the pattern's last group takes
	// [._-][a-z0-9]*): canvas-ta- covers canvas-ta-production-app.
	for _, f := range []string{"canvas-ta-", "team/app_", "ab"} {
		prefixed := []types.ReplicationRule{{Destinations: []types.ReplicationDestination{dest("us-west-2", DefaultAccount)}, RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String(f), FilterType: types.RepositoryFilterTypePrefixMatch}}}}
		if _, err := e.client.PutReplicationConfiguration(ctx, &ecr.PutReplicationConfigurationInput{ReplicationConfiguration: &types.ReplicationConfiguration{Rules: prefixed}}); err != nil {
			t.Errorf("PutReplicationConfiguration with the prefix %q: %v", f, err)
		}
	}
	rules := []types.ReplicationRule{
		{Destinations: []types.ReplicationDestination{dest("us-west-2", DefaultAccount), dest("eu-west-1", "210987654321")}, RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String("team"), FilterType: types.RepositoryFilterTypePrefixMatch}}},
		{Destinations: []types.ReplicationDestination{dest("us-west-2", DefaultAccount)}},
	}
	if _, err := e.client.PutReplicationConfiguration(ctx, &ecr.PutReplicationConfigurationInput{ReplicationConfiguration: &types.ReplicationConfiguration{Rules: rules}}); err != nil {
		t.Fatal(err)
	}
	if reg, err = e.client.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{}); err != nil || len(reg.ReplicationConfiguration.Rules) != 2 {
		t.Fatalf("DescribeRegistry = %+v, %v", reg, err)
	}
	status := func(repo, digest string) []string {
		t.Helper()
		out, err := e.client.DescribeImageReplicationStatus(ctx, &ecr.DescribeImageReplicationStatusInput{RepositoryName: aws.String(repo), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(digest)}})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, st := range out.ReplicationStatuses {
			s = append(s, aws.ToString(st.RegistryId)+"/"+aws.ToString(st.Region)+" "+string(st.Status)+" "+aws.ToString(st.FailureCode))
		}
		return s
	}
	d, _ := e.putTestImage(t, "team/app", "new").Digest()
	o, _ := e.putTestImage(t, "other", "x").Digest()
	if diff := cmp.Diff([]string{"123456789012/us-west-2 IN_PROGRESS ", "210987654321/eu-west-1 IN_PROGRESS "}, status("team/app", d.String())); diff != "" {
		t.Errorf("at push (-want +got):\n%s", diff)
	}
	clk.advance(time.Second)
	if diff := cmp.Diff([]string{"123456789012/us-west-2 IN_PROGRESS ", "210987654321/eu-west-1 FAILED REPLICATION_FAILED"}, status("team/app", d.String())); diff != "" {
		t.Errorf("after 1s (-want +got):\n%s", diff)
	}
	clk.advance(time.Second)
	if diff := cmp.Diff([]string{"123456789012/us-west-2 COMPLETE ", "210987654321/eu-west-1 FAILED REPLICATION_FAILED"}, status("team/app", d.String())); diff != "" {
		t.Errorf("after 2s (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"123456789012/us-west-2 COMPLETE "}, status("other", o.String())); diff != "" {
		t.Errorf("the repository only the second rule covers (-want +got):\n%s", diff)
	}
	if s := status("team/app", before.String()); len(s) != 0 {
		t.Errorf("an image pushed before the configuration: %v", s)
	}
	_, err = e.client.DescribeImageReplicationStatus(ctx, &ecr.DescribeImageReplicationStatusInput{RepositoryName: aws.String("team/app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("missing")}})
	wantAPIError[*types.ImageNotFoundException](t, err)
	_, err = e.client.DescribeImageReplicationStatus(ctx, &ecr.DescribeImageReplicationStatusInput{RepositoryName: aws.String("nope"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("x")}})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
}

func TestGatesIAMActions(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	iam := NewIAM(srv, AllowActions("ecr:CreateRepository"), IAMOptions{})
	hs := httptest.NewServer(iam)
	t.Cleanup(hs.Close)
	c := newClient(hs.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	id := &types.ImageIdentifier{ImageTag: aws.String("v1")}
	_, _ = c.GetSigningConfiguration(ctx, &ecr.GetSigningConfigurationInput{})
	_, _ = c.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	_, _ = c.DescribeImageSigningStatus(ctx, &ecr.DescribeImageSigningStatusInput{RepositoryName: aws.String("app"), ImageId: id})
	_, _ = c.DescribeImageReplicationStatus(ctx, &ecr.DescribeImageReplicationStatusInput{RepositoryName: aws.String("app"), ImageId: id})
	var got []string
	for _, d := range iam.Decisions() {
		got = append(got, d.Action+" "+d.Resource)
	}
	want := []string{
		"ecr:GetSigningConfiguration *",
		"ecr:DescribeRegistry *",
		"ecr:DescribeImageSigningStatus arn:aws:ecr:us-east-1:123456789012:repository/app",
		"ecr:DescribeImageReplicationStatus arn:aws:ecr:us-east-1:123456789012:repository/app",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IAM checks (-want +got):\n%s", diff)
	}
}
