package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// A repository created with a KMS alias: ECR reports the key ARN, so the
// second run must neither warn nor call it drift, and must say why the key
// was not compared.
func TestKMSAliasKeyIsNotDriftOnTheSecondRun(t *testing.T) {
	sharedTest(t)
	e := start(t)
	keyARN, err := e.srv.CreateKMSKey("alias/canvas")
	if err != nil {
		t.Fatal(err)
	}
	in := seedInputs("encryption_type", "KMS", "kms_key_arn", "alias/canvas")
	first := e.run(t, in)
	if first.ExitCode != 0 {
		t.Fatalf("first run: exit %d\n%s", first.ExitCode, first.Log)
	}
	repo, err := e.client.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"canvas-ta-production-app"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(repo.Repositories[0].EncryptionConfiguration.KmsKey); got != keyARN {
		t.Fatalf("ECR reports key %q, want the alias's key ARN %q", got, keyARN)
	}

	e.srv.ResetCalls()
	second := e.run(t, in)
	if second.ExitCode != 0 {
		t.Fatalf("second run: exit %d\n%s", second.ExitCode, second.Log)
	}
	if strings.Contains(second.Log, "Encryption drift") || strings.Contains(second.Summary, "drift") {
		t.Errorf("the second run reports drift for the same key:\n%s\n%s", second.Log, second.Summary)
	}
	if !strings.Contains(second.Log, "note: encryption key not compared: ECR reports the key ARN "+keyARN+", the input kms_key_arn names the alias alias/canvas") {
		t.Errorf("the log does not say why the key was not compared:\n%s", second.Log)
	}
	if !strings.Contains(second.Summary, "| not compared |") {
		t.Errorf("the summary's Encryption row does not say not compared:\n%s", second.Summary)
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("the second run made %d write calls, want 0", w)
	}
}

// An alias KMS cannot find fails the create with KmsException: the action
// says which input to check, and no repository is left behind.
func TestUnknownKMSAliasFailsClearly(t *testing.T) {
	sharedTest(t)
	e := start(t)
	out := e.run(t, seedInputs("encryption_type", "KMS", "kms_key_arn", "alias/missing"))
	if out.ExitCode == 0 {
		t.Fatalf("the run succeeded with an unknown KMS alias:\n%s", out.Log)
	}
	if !strings.Contains(out.Log, "KMS key unusable") || !strings.Contains(out.Log, "kms_key_arn") || !strings.Contains(out.Log, "alias/missing is not found") {
		t.Errorf("the failure does not name the key problem and the input:\n%s", out.Log)
	}
	if _, err := e.client.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"canvas-ta-production-app"}}); err == nil {
		t.Error("a repository exists after a create refused for its key")
	}
}
