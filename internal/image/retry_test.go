package image_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
)

// faultEnv is ecrlocal with a repository and an image.Client logged in to
// it the way the action logs in: a renewing awsauth.Keychain and its
// Transport.
type faultEnv struct {
	ecr  *ecrlocaltest.Env
	kc   *awsauth.Keychain
	reg  *image.Client
	repo name.Repository
}

// fastRetries keeps the tests quick; the number of attempts is the default's.
var fastRetries = remote.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Jitter: 0.5, Steps: 5}

// newFaultEnv starts ecrlocal with opts and a keychain and registry client
// for its repository "app". With a non-zero skew, the tokens' expiresAt is
// reported that much later than the registry enforces it: a runner whose
// clock runs behind AWS's, which learns that a token expired only when the
// registry refuses it.
func newFaultEnv(t *testing.T, opts ecrlocal.Options, inner http.RoundTripper, skew time.Duration) *faultEnv {
	t.Helper()
	e := ecrlocaltest.StartWith(t, opts)
	ctx := context.Background()
	if _, err := e.Client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	var tokens awsauth.TokenAPI = e.Client
	if skew != 0 {
		tokens = skewedTokens{e.Client, skew}
	}
	login, err := awsauth.Login(ctx, tokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc := awsauth.NewKeychain(login, nil, nil, nil, awsauth.WithPrimaryAPI(tokens))
	reg, err := image.New(image.Options{Keychain: kc, Transport: kc.Transport(inner), RetryBackoff: fastRetries, Jobs: 4})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(login.Host + "/app")
	if err != nil {
		t.Fatal(err)
	}
	return &faultEnv{ecr: e, kc: kc, reg: reg, repo: repo}
}

func (f *faultEnv) push(t *testing.T, layers int, size int64) (*image.Artifact, error) {
	t.Helper()
	a := imageArtifact(t, randomImage(t, size, layers))
	ctx := context.Background()
	plan, err := f.reg.Plan(ctx, a, mutable(f.repo), []string{"v1"}, false)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if _, err = f.reg.Upload(ctx, plan); err != nil {
		return a, err
	}
	return a, f.reg.Tag(ctx, plan)
}

// checkPushed reads the image back by tag and validates every blob.
func (f *faultEnv) checkPushed(t *testing.T, a *image.Artifact) {
	t.Helper()
	// Through the keychain's transport, which renews a token the registry
	// refuses as expired, as the push's does.
	kc := remote.WithAuthFromKeychain(f.kc)
	desc, err := remote.Get(f.repo.Tag("v1"), kc, remote.WithTransport(f.kc.Transport(nil)))
	if err != nil {
		t.Fatalf("reading the tag back: %v", err)
	}
	if desc.Digest != a.Digest {
		t.Errorf("tag v1 names %s, want %s", desc.Digest, a.Digest)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("the pushed image does not validate: %v", err)
	}
}

func TestPushSurvivesUploadFaults(t *testing.T) {
	for _, kind := range []ecrlocal.RegistryFaultKind{ecrlocal.FaultReset, ecrlocal.Fault500, ecrlocal.Fault503} {
		t.Run(string(kind), func(t *testing.T) {
			f := newFaultEnv(t, ecrlocal.Options{}, nil, 0)
			if err := f.ecr.Server.InjectRegistry(ecrlocal.RegistryBlobUpload, ecrlocal.RegistryFault{Count: 3, Kind: kind}); err != nil {
				t.Fatal(err)
			}
			a, err := f.push(t, 3, 256<<10)
			if err != nil {
				t.Fatalf("push through 3 %s faults: %v", kind, err)
			}
			if got := f.ecr.Server.RegistryFaultsStruck()[ecrlocal.RegistryBlobUpload]; got != 3 {
				t.Errorf("%d faults struck, want 3", got)
			}
			if got := f.reg.Retries(); got < 3 {
				t.Errorf("Retries() = %d, want at least the 3 faults", got)
			}
			f.checkPushed(t, a)
			t.Logf("%s: %d retries, registry calls %v", kind, f.reg.Retries(), f.ecr.Server.RegistryCalls())
		})
	}
}

func TestPushGivesUpAfterBoundedAttempts(t *testing.T) {
	f := newFaultEnv(t, ecrlocal.Options{}, nil, 0)
	if err := f.ecr.Server.InjectRegistry(ecrlocal.RegistryBlobUpload, ecrlocal.RegistryFault{Count: 1_000_000, Kind: ecrlocal.Fault503}); err != nil {
		t.Fatal(err)
	}
	const layers = 2
	_, err := f.push(t, layers, 64<<10)
	var re *image.RetriesExhaustedError
	if !errors.As(err, &re) {
		t.Fatalf("push against a registry that always fails = %v, want a RetriesExhaustedError", err)
	}
	if re.Attempts != fastRetries.Steps || !strings.Contains(re.Operation, "blob upload") || !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q (%d attempts, operation %q), want %d attempts of a blob upload ending in 503", err, re.Attempts, re.Operation, fastRetries.Steps)
	}
	// Every blob (layers and config) at most Steps attempts.
	calls := f.ecr.Server.RegistryCalls()
	if n := calls["upload.patch"]; n < fastRetries.Steps || n > (layers+1)*fastRetries.Steps {
		t.Errorf("%d upload PATCHes, want %d to %d", n, fastRetries.Steps, (layers+1)*fastRetries.Steps)
	}
	if calls["manifest.put"] != 0 {
		t.Errorf("a manifest was put after the blobs failed: %v", calls)
	}
	out, lerr := f.ecr.Client.ListImages(context.Background(), &ecr.ListImagesInput{RepositoryName: aws.String("app")})
	if lerr != nil || len(out.ImageIds) != 0 {
		t.Errorf("images after the failed push: %v (%v), want none", out, lerr)
	}
	t.Logf("gave up after %d PATCHes: %v", calls["upload.patch"], err)
}

// delayingTransport delays every request, so a push lasts long enough for a
// short-lived token to expire in the middle of it.
type delayingTransport struct{ delay time.Duration }

func (s delayingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(s.delay)
	return http.DefaultTransport.RoundTrip(r)
}

// skewedTokens reports every token's expiresAt skew later than the
// service enforces it.
type skewedTokens struct {
	awsauth.TokenAPI
	skew time.Duration
}

func (s skewedTokens) GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, opts ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	out, err := s.TokenAPI.GetAuthorizationToken(ctx, in, opts...)
	if err == nil {
		for i, d := range out.AuthorizationData {
			if d.ExpiresAt != nil {
				later := d.ExpiresAt.Add(s.skew)
				out.AuthorizationData[i].ExpiresAt = &later
			}
		}
	}
	return out, err
}

func TestPushRenewsATokenThatExpiresMidPush(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration
	}{
		// Tokens that look valid for a day longer than they are: the
		// keychain never sees one near its expiry, and only the
		// registry's refusal renews it.
		{"when the registry refuses it", 24 * time.Hour},
		{"before it expires", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const ttl = 400 * time.Millisecond
			// 60 ms a request: the push makes about 20, so it lasts over 2 ttl.
			f := newFaultEnv(t, ecrlocal.Options{TokenTTL: ttl}, delayingTransport{60 * time.Millisecond}, tc.skew)
			start := time.Now()
			a, err := f.push(t, 8, 64<<10)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("push outliving its token: %v", err)
			}
			if took < 2*ttl {
				t.Fatalf("the push took %v, not long enough to outlive a %v token", took, ttl)
			}
			f.checkPushed(t, a)
			tokens := f.ecr.Server.Calls()["GetAuthorizationToken"]
			// One login, then a renewal per lifetime at most (the quarter
			// margin renews at 3/4 of it), plus the read-back.
			limit := 3 + int(took/(ttl*3/4))
			if tokens < 2 || tokens > limit {
				t.Errorf("%d GetAuthorizationToken calls over a %v push with %v tokens, want 2 to %d", tokens, took, ttl, limit)
			}
			if tc.skew > 0 && f.kc.Resent() == 0 {
				t.Errorf("no request was sent again after a refusal")
			}
			t.Logf("push of %v: %d GetAuthorizationToken calls, %d renewals, %d requests resent, %d retries", took.Round(time.Millisecond), tokens, f.kc.Renewals(), f.kc.Resent(), f.reg.Retries())
		})
	}
}

func imageArtifact(t *testing.T, img v1.Image) *image.Artifact {
	t.Helper()
	a, err := image.FromImage("test", img)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
