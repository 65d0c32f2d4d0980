package awsauth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

type fakeTokens struct {
	region string
	calls  *[]string
	err    error
}

func (f fakeTokens) GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, _ ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	*f.calls = append(*f.calls, f.region)
	if f.err != nil {
		return nil, f.err
	}
	tok := base64.StdEncoding.EncodeToString([]byte("AWS:secret-" + f.region))
	return &ecr.GetAuthorizationTokenOutput{AuthorizationData: []types.AuthorizationData{{
		AuthorizationToken: aws.String(tok),
		ProxyEndpoint:      aws.String("https://111122223333.dkr.ecr." + f.region + ".amazonaws.com"),
	}}}, nil
}

func TestLoginMasksBeforeReturning(t *testing.T) {
	var calls []string
	var masked []string
	l, err := Login(context.Background(), fakeTokens{region: "eu-west-1", calls: &calls}, func(s string) { masked = append(masked, s) })
	if err != nil {
		t.Fatal(err)
	}
	if l.Host != "111122223333.dkr.ecr.eu-west-1.amazonaws.com" || l.Username != "AWS" || l.Password != "secret-eu-west-1" {
		t.Errorf("login %+v", l)
	}
	if len(masked) != 2 || masked[1] != "secret-eu-west-1" {
		t.Errorf("masked %q, want the token and the password", masked)
	}
}

func TestKeychain(t *testing.T) {
	var calls []string
	primary := &RegistryLogin{Host: "127.0.0.1:5000", Username: "AWS", Password: "p"}
	denied := errors.New("AccessDeniedException: not allowed")
	k := NewKeychain(primary, func(region string) TokenAPI {
		if region == "ap-south-1" {
			return fakeTokens{region: region, calls: &calls, err: denied}
		}
		return fakeTokens{region: region, calls: &calls}
	}, nil, nil)
	resolve := func(ref string) (*authn.AuthConfig, error) {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := k.Resolve(r.Context())
		if err != nil {
			return nil, err
		}
		return a.Authorization()
	}
	if c, err := resolve("127.0.0.1:5000/app:1"); err != nil || c.Password != "p" {
		t.Errorf("target registry: %+v, %v", c, err)
	}
	for range 2 {
		if c, err := resolve("111122223333.dkr.ecr.us-west-2.amazonaws.com/base:1"); err != nil || c.Password != "secret-us-west-2" {
			t.Errorf("other ECR registry: %+v, %v", c, err)
		}
	}
	if strings.Join(calls, ",") != "us-west-2" {
		t.Errorf("token calls %v, want one in us-west-2 (cached after)", calls)
	}
	if _, err := resolve("111122223333.dkr.ecr.ap-south-1.amazonaws.com/base:1"); err == nil || !strings.Contains(err.Error(), "ap-south-1") {
		t.Errorf("denied token: err %v, want an error naming the region", err)
	}
	if c, err := resolve("ghcr.io/org/base:1"); err != nil || c.Username != "" {
		t.Errorf("other registry: %+v, %v; want anonymous", c, err)
	}
}
