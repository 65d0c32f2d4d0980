package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/org/ecr-action/internal/settle"
	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
)

// ECR creates repositories asynchronously: ecrlocal's CreateDelay hides a
// new repository from every other call for a while, as ECR can.

func TestCreateWaitsForTheRepositoryToAppear(t *testing.T) {
	const delay = 400 * time.Millisecond
	e := ecrlocaltest.StartWith(t, ecrlocal.Options{CreateDelay: delay})
	c := load(t, map[string]string{"enable_cross_account_access": "true", "allowed_account_ids": "111122223333"})
	start := time.Now()
	res, err := Reconcile(context.Background(), e.Client, c)
	if err != nil {
		t.Fatalf("first run with a %v create delay: %v", delay, err)
	}
	if !res.Created || !res.Fresh || res.Settled <= 0 || res.Settled > delay+settle.DefaultMax {
		t.Errorf("created %v, fresh %v, waited %v; want a created, fresh repository waited for about %v", res.Created, res.Fresh, res.Settled, delay)
	}
	calls := e.Server.Calls()
	if calls["PutLifecyclePolicy"] < 2 || calls["CreateRepository"] != 1 {
		t.Errorf("calls %v: want PutLifecyclePolicy retried after not-found and one CreateRepository", calls)
	}
	t.Logf("first run took %v, waited %v; calls %v", time.Since(start), res.Settled, calls)
	// Everything the run set is there.
	pol, err := e.Client.GetRepositoryPolicy(context.Background(), &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(c.Repository)})
	if err != nil || !strings.Contains(aws.ToString(pol.PolicyText), "111122223333") {
		t.Errorf("repository policy after the run: %v %v", pol, err)
	}
}

func TestLosingTheCreateRaceWaitsToo(t *testing.T) {
	const delay = 400 * time.Millisecond
	e := ecrlocaltest.StartWith(t, ecrlocal.Options{CreateDelay: delay})
	c := load(t, map[string]string{"image_tag_mutability": "IMMUTABLE"})
	// Another job's create, still invisible when this run starts.
	if _, err := e.Client.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(c.Repository)}); err != nil {
		t.Fatal(err)
	}
	res, err := Reconcile(context.Background(), e.Client, c)
	if err != nil {
		t.Fatalf("run that lost the create race: %v", err)
	}
	if res.Created || !res.Fresh || res.Settled <= 0 {
		t.Errorf("created %v, fresh %v, waited %v; want the other job's repository, waited for", res.Created, res.Fresh, res.Settled)
	}
	if a := actions(res); a["Tag mutability"] != Updated || a["Tags"] != Updated || a["Lifecycle policy"] != Created {
		t.Errorf("actions %v: want mutability and tags updated, lifecycle created", a)
	}
}

func TestRepositoryThatNeverAppearsFailsClearly(t *testing.T) {
	e := ecrlocaltest.StartWith(t, ecrlocal.Options{CreateDelay: time.Hour})
	c := load(t, nil)
	start := time.Now()
	res, err := ReconcileWith(context.Background(), e.Client, c, Options{Settle: settle.Policy{Budget: 300 * time.Millisecond, First: 50 * time.Millisecond}})
	var nv *settle.NotVisibleError
	if !errors.As(err, &nv) || !IsRepositoryNotFound(err) {
		t.Fatalf("got %v, want a NotVisibleError wrapping RepositoryNotFoundException", err)
	}
	if !strings.Contains(err.Error(), "lifecycle policy") || !strings.Contains(err.Error(), "after it was created") {
		t.Errorf("message %q does not say which call and why", err)
	}
	if res.Writes != 2 || time.Since(start) > 5*time.Second {
		t.Errorf("%d writes in %v: want CreateRepository and the one PutLifecyclePolicy, within the budget", res.Writes, time.Since(start))
	}
}
