package ecrlocal

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/org/ecr-action/internal/testing/logslocal"
)

// iamEnv is ecrlocal and logslocal on one address behind an IAM.
type iamEnv struct {
	*env
	iam  *IAM
	logs *cloudwatchlogs.Client
}

func newIAMEnv(t *testing.T, p Policy) *iamEnv {
	t.Helper()
	srv, err := New(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	iam := NewIAM(logslocal.New(logslocal.Options{}).Route(srv), p, IAMOptions{})
	hs := httptest.NewServer(iam)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &iamEnv{
		env: &env{srv: srv, http: hs, client: newClient(hs.URL), host: strings.TrimPrefix(hs.URL, "http://")},
		iam: iam,
		logs: cloudwatchlogs.New(cloudwatchlogs.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		}),
	}
}

const testPrincipal = "arn:aws:sts::123456789012:assumed-role/ecr-action/ecr-action"

// denial is the AccessDenied message AWS writes.
func denial(action, resource string) string {
	return "User: " + testPrincipal + " is not authorized to perform: " + action + " on resource: " + resource +
		" because no identity-based policy allows the " + action + " action"
}

// wantDenied checks that err is an AccessDeniedException with AWS's message.
func wantDenied(t *testing.T, err error, action, resource string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("got %v, want AccessDeniedException", err)
	}
	if got, want := api.ErrorMessage(), denial(action, resource); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
}

func TestIAMWildcardMatching(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"ecr:*", "ecr:PutImage", true},
		{"ecr:Describe*", "ecr:DescribeRepositories", true},
		{"ecr:Describe*", "ecr:BatchGetImage", false},
		{"ecr:*Image", "ecr:PutImage", true},
		{"ecr:*Image", "ecr:PutImageScanningConfiguration", false},
		{"ecr:Put?mage", "ecr:PutImage", true},
		{"ecr:Put?mage", "ecr:PutImmage", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxcyyb", false},
		{"ecr:PutImage", "ecr:PutImage2", false},
		{"**", "x", true},
	} {
		if got := wildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	repo := "arn:aws:ecr:us-east-1:123456789012:repository/canvas-ta-production-app"
	stream := "arn:aws:logs:us-east-1:123456789012:log-group:/ecr-action/scans:log-stream:app"
	for _, tc := range []struct {
		pattern, resource string
		want              bool
	}{
		{"*", repo, true},
		{"*", "*", true},
		{"arn:aws:ecr:*:123456789012:repository/canvas-ta-*", repo, true},
		{"arn:aws:ecr:*:123456789012:repository/canvas-ta-*", "arn:aws:ecr:us-east-1:210987654321:repository/canvas-ta-x", false},
		{"arn:aws:ecr:*:123456789012:repository/other-*", repo, false},
		{"arn:aws:ecr:*:*:*", repo, true},
		// An action without a resource type is matched by "*" only.
		{"arn:aws:ecr:*:*:*", "*", false},
		// A wildcard does not reach across the region segment.
		{"arn:aws:ecr:us-*:123456789012:repository/*", "arn:aws:ecr:eu-west-1:123456789012:repository/x", false},
		// The resource part may hold colons.
		{"arn:aws:logs:*:123456789012:log-group:*", stream, true},
		{"arn:aws:logs:*:123456789012:log-group:/ecr-action/scans:*", stream, true},
		{"arn:aws:logs:*:123456789012:log-group:/ecr-action/scans:*", "arn:aws:logs:us-east-1:123456789012:log-group::log-stream:", false},
		// Resources are case-sensitive, actions are not.
		{"arn:aws:ecr:*:123456789012:repository/Canvas-*", repo, false},
	} {
		if got := resourceMatch(tc.pattern, tc.resource); got != tc.want {
			t.Errorf("resourceMatch(%q, %q) = %v, want %v", tc.pattern, tc.resource, got, tc.want)
		}
	}
	if !(Statement{Actions: []string{"ECR:putimage"}, Resources: []string{"*"}}).matches(check{"ecr:PutImage", repo}) {
		t.Error("actions must match case-insensitively")
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"A","Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"},
		{"Effect":"Allow","Action":["ecr:PutImage","ecr:Describe*"],"Resource":["arn:aws:ecr:*:123456789012:repository/a","arn:aws:ecr:*:123456789012:repository/b"]},
		{"Effect":"Deny","Action":"ecr:PutImage","Resource":"arn:aws:ecr:*:123456789012:repository/b"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{Statements: []Statement{
		{Sid: "A", Actions: []string{"ecr:GetAuthorizationToken"}, Resources: []string{"*"}},
		{Actions: []string{"ecr:PutImage", "ecr:Describe*"}, Resources: []string{"arn:aws:ecr:*:123456789012:repository/a", "arn:aws:ecr:*:123456789012:repository/b"}},
		{Deny: true, Actions: []string{"ecr:PutImage"}, Resources: []string{"arn:aws:ecr:*:123456789012:repository/b"}},
	}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ecr:GetAuthorizationToken", "ecr:PutImage", "ecr:Describe*"}, p.Actions()); diff != "" {
		t.Errorf("Actions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ecr:GetAuthorizationToken", "ecr:Describe*"}, p.Without("ecr:putimage").Actions()); diff != "" {
		t.Errorf("Without(ecr:PutImage).Actions (-want +got):\n%s", diff)
	}
	if one, err := ParsePolicy([]byte(`{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}`)); err != nil || len(one.Statements) != 1 {
		t.Errorf("a single statement object: %+v, %v", one, err)
	}

	for name, doc := range map[string]string{
		"condition":      `{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/x":"y"}}}]}`,
		"not action":     `{"Statement":[{"Effect":"Allow","NotAction":"ecr:DeleteRepository","Resource":"*"}]}`,
		"principal":      `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}]}`,
		"no effect":      `{"Statement":[{"Action":"ecr:*","Resource":"*"}]}`,
		"bad effect":     `{"Statement":[{"Effect":"allow","Action":"ecr:*","Resource":"*"}]}`,
		"no resource":    `{"Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`,
		"empty actions":  `{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`,
		"no statement":   `{"Version":"2012-10-17"}`,
		"empty list":     `{"Statement":[]}`,
		"not an object":  `["ecr:*"]`,
		"number actions": `{"Statement":[{"Effect":"Allow","Action":[1],"Resource":"*"}]}`,
	} {
		if _, err := ParsePolicy([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %s", name, doc)
		}
	}
}

func TestIAMDeniesAPICallsAsAWSDoes(t *testing.T) {
	e := newIAMEnv(t, Policy{Statements: []Statement{
		{Actions: []string{"ecr:CreateRepository", "ecr:Describe*"}, Resources: []string{"arn:aws:ecr:*:123456789012:repository/app-*"}},
		// Resource-scoped: not enough for an action without a resource type.
		{Actions: []string{"ecr:GetAuthorizationToken"}, Resources: []string{"arn:aws:ecr:*:123456789012:repository/*"}},
	}})
	ctx := context.Background()

	if _, err := e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app-a")}); err != nil {
		t.Fatalf("allowed CreateRepository: %v", err)
	}
	// With tags, CreateRepository also needs ecr:TagResource; the call is
	// refused whole and the repository is not created.
	_, err := e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app-b"),
		Tags: []types.Tag{{Key: aws.String("Team"), Value: aws.String("web")}}})
	wantDenied(t, err, "ecr:TagResource", "arn:aws:ecr:us-east-1:123456789012:repository/app-b")
	_, err = e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("other")})
	wantDenied(t, err, "ecr:CreateRepository", "arn:aws:ecr:us-east-1:123456789012:repository/other")
	_, err = e.client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	wantDenied(t, err, "ecr:GetAuthorizationToken", "*")
	// ListImageReferrers is authorized as ecr:BatchGetImage (API Reference).
	_, err = e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("app-a"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String("sha256:" + strings.Repeat("ab", 32))}})
	wantDenied(t, err, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:123456789012:repository/app-a")
	_, err = e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	wantDenied(t, err, "ecr:DescribeRepositories", "arn:aws:ecr:us-east-1:123456789012:repository/*")
	_, err = e.client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:123456789012:repository/app-a"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantDenied(t, err, "ecr:TagResource", "arn:aws:ecr:us-east-1:123456789012:repository/app-a")

	out, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app-a", "app-b"}})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeRepositories(app-a, app-b) = %+v, %v; want app-b not found (the denied create made nothing)", out, err)
	}
	if got := e.srv.Calls()["CreateRepository"]; got != 1 {
		t.Errorf("%d CreateRepository calls reached ecrlocal, want 1: denied calls stop at the IAM", got)
	}
	if diff := cmp.Diff([]string{"ecr:CreateRepository", "ecr:DescribeRepositories"}, e.iam.Used()); diff != "" {
		t.Errorf("Used (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ecr:BatchGetImage", "ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:GetAuthorizationToken", "ecr:TagResource"}, e.iam.Denied()); diff != "" {
		t.Errorf("Denied (-want +got):\n%s", diff)
	}
	d := e.iam.Decisions()
	if len(d) < 3 || d[1] != (Decision{"ecr:CreateRepository", "arn:aws:ecr:us-east-1:123456789012:repository/app-b", true}) ||
		d[2] != (Decision{"ecr:TagResource", "arn:aws:ecr:us-east-1:123456789012:repository/app-b", false}) {
		t.Errorf("decisions do not show the tag-on-create check: %+v", d)
	}

	// An explicit deny wins; SetPolicy and Reset apply at once.
	e.iam.SetPolicy(Policy{Statements: []Statement{
		{Actions: []string{"ecr:*"}, Resources: []string{"*"}},
		{Deny: true, Actions: []string{"ecr:Describe*"}, Resources: []string{"*"}},
	}})
	e.iam.Reset()
	_, err = e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app-a"}})
	wantDenied(t, err, "ecr:DescribeRepositories", "arn:aws:ecr:us-east-1:123456789012:repository/app-a")
	if _, err := e.client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); err != nil {
		t.Errorf("ecr:* on *: %v", err)
	}
	if diff := cmp.Diff([]string{"ecr:GetAuthorizationToken"}, e.iam.Used()); diff != "" {
		t.Errorf("Used after Reset (-want +got):\n%s", diff)
	}
}

func TestIAMDeniesRegistryRequests(t *testing.T) {
	e := newIAMEnv(t, AllowActions("ecr:*"))
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	auth := remote.WithAuth(e.auth(t))

	// Without ecr:PutImage the layers go up and the manifest is refused
	// with the registry's DENIED error naming the action.
	e.iam.SetPolicy(AllowActions("ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchGetImage"))
	e.iam.Reset()
	img := randomImage(t)
	err := remote.Write(e.ref(t, "app:v1"), img, auth)
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusForbidden || len(te.Errors) != 1 || te.Errors[0].Code != transport.DeniedErrorCode {
		t.Fatalf("push without ecr:PutImage: %v; want 403 DENIED", err)
	}
	if want := denial("ecr:PutImage", "arn:aws:ecr:us-east-1:123456789012:repository/app"); te.Errors[0].Message != want {
		t.Errorf("message:\n got %s\nwant %s", te.Errors[0].Message, want)
	}
	if diff := cmp.Diff([]string{"ecr:PutImage"}, e.iam.Denied()); diff != "" {
		t.Errorf("Denied (-want +got):\n%s", diff)
	}
	for _, a := range []string{"ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"} {
		if !strings.Contains(strings.Join(e.iam.Used(), " "), a) {
			t.Errorf("a push used %v; want %s among them", e.iam.Used(), a)
		}
	}
	if n := e.srv.RegistryCalls()["manifest.put"]; n != 0 {
		t.Errorf("%d manifest PUTs reached ecrlocal; the denied one must not", n)
	}

	// Reading the layers back needs ecr:GetDownloadUrlForLayer.
	e.iam.SetPolicy(AllowActions("ecr:*"))
	if err := remote.Write(e.ref(t, "app:v1"), img, auth); err != nil {
		t.Fatal(err)
	}
	e.iam.SetPolicy(AllowActions("ecr:BatchGetImage"))
	pulled, err := remote.Image(e.ref(t, "app:v1"), auth)
	if err != nil {
		t.Fatalf("manifest GET with ecr:BatchGetImage: %v", err)
	}
	_, err = pulled.ConfigFile()
	if !errors.As(err, &te) || te.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "ecr:GetDownloadUrlForLayer") {
		t.Errorf("blob GET without ecr:GetDownloadUrlForLayer: %v", err)
	}

	// A request without credentials is ECR's 401 challenge, before IAM.
	e.iam.Reset()
	resp, err := http.Get(e.http.URL + "/v2/app/manifests/v1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(e.iam.Decisions()) != 0 {
		t.Errorf("no credentials: status %d, decisions %+v; want 401 and none", resp.StatusCode, e.iam.Decisions())
	}
	// The test hooks are not AWS calls.
	resp, err = http.Get(e.http.URL + "/_ecrlocal/calls")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/_ecrlocal/calls: %d", resp.StatusCode)
	}
}

func TestIAMRegistryActions(t *testing.T) {
	repo := "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
	src := "arn:aws:ecr:us-east-1:123456789012:repository/base"
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		method, target string
		body           string
		want           []check
	}{
		{"GET", "/v2/", "", nil},
		{"HEAD", "/v2/team/app/blobs/" + d, "", []check{{"ecr:BatchCheckLayerAvailability", repo}}},
		{"GET", "/v2/team/app/blobs/" + d, "", []check{{"ecr:GetDownloadUrlForLayer", repo}}},
		{"POST", "/v2/team/app/blobs/uploads/", "", []check{{"ecr:InitiateLayerUpload", repo}}},
		// "Users need ecr:GetDownloadUrlForLayer IAM permission on a
		// repository to mount layers from the repository" (Blob mounting).
		{"POST", "/v2/team/app/blobs/uploads/?mount=" + d + "&from=base", "", []check{{"ecr:InitiateLayerUpload", repo}, {"ecr:GetDownloadUrlForLayer", src}}},
		{"POST", "/v2/team/app/blobs/uploads/?digest=" + d, "x", []check{{"ecr:InitiateLayerUpload", repo}, {"ecr:UploadLayerPart", repo}, {"ecr:CompleteLayerUpload", repo}}},
		{"PATCH", "/v2/team/app/blobs/uploads/u1", "x", []check{{"ecr:UploadLayerPart", repo}}},
		{"PUT", "/v2/team/app/blobs/uploads/u1?digest=" + d, "", []check{{"ecr:CompleteLayerUpload", repo}}},
		{"PUT", "/v2/team/app/blobs/uploads/u1?digest=" + d, "x", []check{{"ecr:UploadLayerPart", repo}, {"ecr:CompleteLayerUpload", repo}}},
		{"HEAD", "/v2/team/app/manifests/latest", "", []check{{"ecr:BatchGetImage", repo}}},
		{"GET", "/v2/team/app/manifests/" + d, "", []check{{"ecr:BatchGetImage", repo}}},
		{"PUT", "/v2/team/app/manifests/latest", "{}", []check{{"ecr:PutImage", repo}}},
		{"DELETE", "/v2/team/app/manifests/" + d, "", []check{{"ecr:BatchDeleteImage", repo}}},
		{"GET", "/v2/team/app/tags/list", "", []check{{"ecr:ListImages", repo}}},
		{"GET", "/v2/team/app/referrers/" + d, "", []check{{"ecr:BatchGetImage", repo}}},
	} {
		r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		got := NewIAM(http.NotFoundHandler(), Policy{}, IAMOptions{}).registryChecks(r)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(check{})); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.target, diff)
		}
	}
}

func TestIAMLogs(t *testing.T) {
	group := "/ecr-action/scans"
	e := newIAMEnv(t, Policy{Statements: []Statement{{
		Actions:   []string{"logs:CreateLogGroup", "logs:Describe*", "logs:PutLogEvents"},
		Resources: []string{"arn:aws:logs:*:123456789012:log-group:" + group + ":*"},
	}}})
	ctx := context.Background()
	if _, err := e.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("allowed CreateLogGroup: %v", err)
	}
	_, err := e.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("app")})
	var denied *logtypes.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Fatalf("CreateLogStream: %v; want the SDK's AccessDeniedException", err)
	}
	wantDenied(t, err, "logs:CreateLogStream", "arn:aws:logs:us-east-1:123456789012:log-group:"+group+":log-stream:app")
	// DescribeLogGroups lists by prefix: the group-scoped form does not
	// cover it (the README says so).
	_, err = e.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	wantDenied(t, err, "logs:DescribeLogGroups", "arn:aws:logs:us-east-1:123456789012:log-group::log-stream:")
	if diff := cmp.Diff([]string{"logs:CreateLogGroup"}, e.iam.Used()); diff != "" {
		t.Errorf("Used (-want +got):\n%s", diff)
	}
}
