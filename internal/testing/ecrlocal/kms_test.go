package ecrlocal

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// CreateRepository takes an alias, alias ARN, key ID or key ARN, and
// DescribeRepositories answers the key ARN; a key ecrlocal does not know is
// KmsException, as a key KMS cannot find is on ECR.
func TestCreateRepositoryResolvesKMSKeys(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	key, err := e.srv.CreateKMSKey("alias/team/app")
	if err != nil {
		t.Fatal(err)
	}
	id := key[strings.LastIndex(key, "/")+1:]
	managed := "arn:aws:kms:us-east-1:123456789012:key/" + e.srv.managedKMSKeyID()
	for i, tc := range []struct{ given, want string }{
		{"alias/team/app", key},
		{"arn:aws:kms:us-east-1:123456789012:alias/team/app", key},
		{id, key},
		{key, key},
		{"alias/aws/ecr", managed},
		{"arn:aws:kms:us-east-1:123456789012:alias/aws/ecr", managed},
		{"", managed},
	} {
		for _, typ := range []types.EncryptionType{types.EncryptionTypeKms, types.EncryptionTypeKmsDsse} {
			name := "k" + string(rune('a'+i)) + "-" + strings.ToLower(string(typ))
			enc := &types.EncryptionConfiguration{EncryptionType: typ}
			if tc.given != "" {
				enc.KmsKey = aws.String(tc.given)
			}
			r := e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name), EncryptionConfiguration: enc})
			if got := aws.ToString(r.EncryptionConfiguration.KmsKey); got != tc.want {
				t.Errorf("CreateRepository with kmsKey %q answered %q, want the key ARN %q", tc.given, got, tc.want)
			}
			out, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.Repositories[0].EncryptionConfiguration.KmsKey); got != tc.want {
				t.Errorf("DescribeRepositories after kmsKey %q: %q, want the key ARN %q", tc.given, got, tc.want)
			}
		}
	}

	for _, tc := range []struct{ given, want string }{
		{"alias/missing", "Alias arn:aws:kms:us-east-1:123456789012:alias/missing is not found"},
		{"arn:aws:kms:us-east-1:123456789012:alias/missing", "alias/missing is not found"},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", "Key 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"},
		{"arn:aws:kms:eu-west-1:123456789012:key/" + id, "same Region as the repository"},
		{"arn:aws:kms:us-east-1:999999999999:key/" + id, "keys of account 123456789012"},
		{"not-a-key", "Invalid keyId 'not-a-key'"},
	} {
		_, err := e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("refused"), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String(tc.given)}})
		var kms *types.KmsException
		if !errors.As(err, &kms) || !strings.Contains(kms.ErrorMessage(), tc.want) || aws.ToString(kms.KmsError) != "NotFoundException" {
			t.Errorf("CreateRepository with kmsKey %q = %v, want KmsException (kmsError NotFoundException) saying %q", tc.given, err, tc.want)
		}
	}
	if _, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"refused"}}); err == nil {
		t.Error("a create refused for its key left a repository behind")
	}
	_, err = e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("refused"), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("arn:aws:s3:::bucket")}})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Errorf("an S3 ARN as kmsKey = %v, want InvalidParameterException", err)
	}
}

func TestCreateKMSKey(t *testing.T) {
	s, err := New(Options{Account: "012345678901", Region: "eu-west-1", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.CreateKMSKey("alias/one")
	if err != nil || !kmsKeyIDRule.MatchString(a[strings.LastIndex(a, "/")+1:]) || !strings.HasPrefix(a, "arn:aws:kms:eu-west-1:012345678901:key/") {
		t.Fatalf("CreateKMSKey = %q, %v", a, err)
	}
	b, err := s.CreateKMSKey("")
	if err != nil || a == b {
		t.Errorf("a second key = %q, %v; want a new key", b, err)
	}
	for _, bad := range []string{"alias/one", "one", "alias/aws/mine", "alias/has space"} {
		if _, err := s.CreateKMSKey(bad); err == nil {
			t.Errorf("CreateKMSKey(%q) accepted", bad)
		}
	}
	// Repeatable: the same account, region and order give the same keys.
	s2, err := New(Options{Account: "012345678901", Region: "eu-west-1", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if again, _ := s2.CreateKMSKey("alias/other"); again != a {
		t.Errorf("first key of a second server = %q, want %q", again, a)
	}
}
