package ecrlocal

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// fakeClock replaces the server's clock; moving it is the only way time
// passes for the server in these tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestCreateDelayHidesNewRepository(t *testing.T) {
	const delay = 2 * time.Second
	e := newEnv(t, Options{CreateDelay: delay})
	clk := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e.srv.now = clk.Now
	ctx := context.Background()
	auth := e.auth(t)

	created := e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	if aws.ToString(created.RepositoryName) != "app" || created.RepositoryArn == nil {
		t.Fatalf("CreateRepository answered %+v, want the repository", created)
	}
	name, arn := aws.String("app"), created.RepositoryArn

	// Every call naming it answers as if it did not exist.
	calls := map[string]func() error{
		"DescribeRepositories": func() error {
			_, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app"}})
			return err
		},
		"PutLifecyclePolicy": func() error {
			_, err := e.client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`)})
			return err
		},
		"SetRepositoryPolicy": func() error {
			_, err := e.client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: name, PolicyText: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["ecr:BatchGetImage"]}]}`)})
			return err
		},
		"PutImageScanningConfiguration": func() error {
			_, err := e.client.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: name, ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
			return err
		},
		"TagResource": func() error {
			_, err := e.client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
		"ListTagsForResource": func() error {
			_, err := e.client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
			return err
		},
		"DeleteRepository": func() error {
			_, err := e.client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: name})
			return err
		},
	}
	for op, call := range calls {
		var nf *types.RepositoryNotFoundException
		if err := call(); err == nil || !errors.As(err, &nf) {
			t.Errorf("%s during the create delay: %v, want RepositoryNotFoundException", op, err)
		}
	}
	list, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil || len(list.Repositories) != 0 {
		t.Errorf("listing during the create delay: %v %+v, want no repository", err, list)
	}
	// The name is taken: a second create cannot make another repository.
	_, err = e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: name})
	wantAPIError[*types.RepositoryAlreadyExistsException](t, err)
	// The registry answers NAME_UNKNOWN, for a push and for a blob HEAD.
	err = remote.Write(e.ref(t, "app:v1"), randomImage(t), remote.WithAuth(auth))
	wantRegistryError(t, err, transport.NameUnknownErrorCode)
	req, _ := http.NewRequest(http.MethodHead, e.http.URL+"/v2/app/blobs/sha256:"+zeros64, nil)
	req.SetBasicAuth("AWS", basicPassword(t, auth))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("blob HEAD during the create delay: %v %v, want 404", resp, err)
	}

	clk.Add(delay - time.Millisecond)
	if err := calls["DescribeRepositories"](); err == nil {
		t.Error("DescribeRepositories 1 ms before the delay ends found the repository")
	}
	clk.Add(time.Millisecond)
	for _, op := range []string{"DescribeRepositories", "PutLifecyclePolicy", "SetRepositoryPolicy", "PutImageScanningConfiguration", "TagResource", "ListTagsForResource"} {
		if err := calls[op](); err != nil {
			t.Errorf("%s once the delay passed: %v", op, err)
		}
	}
	if err := remote.Write(e.ref(t, "app:v1"), randomImage(t), remote.WithAuth(auth)); err != nil {
		t.Errorf("push once the delay passed: %v", err)
	}
	tags, err := e.client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 1 {
		t.Errorf("tags: %v %+v, want the one TagResource set", err, tags)
	}
	// Another repository created now is pending on its own clock.
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("other")})
	if _, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"other"}}); err == nil {
		t.Error("a repository created after the first one's delay was visible at once")
	}
}

func TestCreateDelayRejectsNegative(t *testing.T) {
	if _, err := New(Options{CreateDelay: -time.Second}); err == nil {
		t.Error("New with a negative CreateDelay succeeded")
	}
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

func basicPassword(t *testing.T, a authn.Authenticator) string {
	t.Helper()
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Password
}
