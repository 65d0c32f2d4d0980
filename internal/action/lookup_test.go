package action

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
)

// TestLookupTags checks the one-call tag lookup the push plans with: the
// digest of each tag that exists, nothing for the others, no tag at all in
// a repository that does not exist yet, one BatchGetImage per 100 tags.
func TestLookupTags(t *testing.T) {
	e := ecrlocaltest.Start(t)
	ctx := context.Background()
	login, err := awsauth.Login(ctx, e.Client, nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := lookupTags(e.Client)

	missingRepo, err := name.NewRepository(login.Host + "/not-yet")
	if err != nil {
		t.Fatal(err)
	}
	found, unsettled, err := lookup(ctx, missingRepo, []string{"v1"})
	if err != nil || len(found) != 0 || len(unsettled) != 0 {
		t.Errorf("a repository that does not exist: %v %v %v, want no tag and no error", found, unsettled, err)
	}

	if _, err := e.Client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(login.Host + "/app")
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: login.Username, Password: login.Password})
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("v1"), img, auth); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(repo.Tag("multi"), idx, auth); err != nil {
		t.Fatal(err)
	}
	imgDigest, _ := img.Digest()
	idxDigest, _ := idx.Digest()

	tags := []string{"v1", "multi", "absent"}
	for i := range 150 {
		tags = append(tags, "t"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+"-"+string(rune('a'+i/26)))
	}
	e.Server.ResetCalls()
	found, unsettled, err = lookup(ctx, repo, tags)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found["v1"] != imgDigest || found["multi"] != idxDigest || len(unsettled) != 0 {
		t.Errorf("found %v, unsettled %v; want v1 %s and multi (an index) %s, nothing unsettled", found, unsettled, imgDigest, idxDigest)
	}
	if n := e.Server.Calls()["BatchGetImage"]; n != 2 {
		t.Errorf("%d BatchGetImage calls for %d tags, want 2 (100 tags a call)", n, len(tags))
	}
	if reg := e.Server.RegistryCalls(); len(reg) != 0 {
		t.Errorf("registry requests %v, want none", reg)
	}
}
