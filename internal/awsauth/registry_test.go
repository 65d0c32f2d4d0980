package awsauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/ecr-action/internal/testing/fakeclock"
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

// renewingTokens issues a new password per call, valid for ttl by clock.
type renewingTokens struct {
	clock func() time.Time
	ttl   time.Duration
	delay time.Duration // how long each call takes
	fail  error

	mu      sync.Mutex
	calls   int
	expires map[string]time.Time // password -> expiry
}

// valid reports whether the registry takes pw now.
func (f *renewingTokens) valid(pw string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.expires[pw]
	return ok && f.clock().Before(exp)
}

func (f *renewingTokens) GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, _ ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.calls++
	pw := fmt.Sprintf("pw-%d", f.calls)
	if f.expires == nil {
		f.expires = map[string]time.Time{}
	}
	f.expires[pw] = f.clock().Add(f.ttl)
	tok := base64.StdEncoding.EncodeToString([]byte("AWS:" + pw))
	return &ecr.GetAuthorizationTokenOutput{AuthorizationData: []types.AuthorizationData{{
		AuthorizationToken: aws.String(tok),
		ExpiresAt:          aws.Time(f.expires[pw]),
	}}}, nil
}

func (f *renewingTokens) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// primaryKeychain logs in through api as the action does and returns a
// Keychain that can renew the login, and the masked values.
func primaryKeychain(t *testing.T, api TokenAPI, host string, clock *fakeclock.Clock, opts ...KeychainOption) (*Keychain, *[]string) {
	t.Helper()
	var mu sync.Mutex
	masked := &[]string{}
	mask := func(s string) { mu.Lock(); defer mu.Unlock(); *masked = append(*masked, s) }
	l, err := Login(context.Background(), api, mask)
	if err != nil {
		t.Fatal(err)
	}
	l.Host = host
	opts = append([]KeychainOption{WithPrimaryAPI(api), WithClock(clock)}, opts...)
	return NewKeychain(l, nil, mask, nil, opts...), masked
}

func password(t *testing.T, k *Keychain, host string) string {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := authn.Authorization(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return c.Password
}

func TestKeychainRenewsNearExpiry(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	api := &renewingTokens{clock: clock.Now, ttl: time.Hour}
	k, masked := primaryKeychain(t, api, "127.0.0.1:5000", clock)
	if got := password(t, k, "127.0.0.1:5000"); got != "pw-1" {
		t.Fatalf("password %q, want the login's pw-1", got)
	}
	clock.Advance(54 * time.Minute) // 6 minutes left: more than the 5-minute margin
	if got := password(t, k, "127.0.0.1:5000"); got != "pw-1" || api.count() != 1 {
		t.Errorf("6 minutes before expiry: password %q after %d calls, want pw-1 and no renewal", got, api.count())
	}
	clock.Advance(2 * time.Minute)
	if got := password(t, k, "127.0.0.1:5000"); got != "pw-2" || api.count() != 2 {
		t.Errorf("4 minutes before expiry: password %q after %d calls, want the renewed pw-2", got, api.count())
	}
	if !slices.Contains(*masked, "pw-2") {
		t.Errorf("the renewed password was not masked: %q", *masked)
	}
	if k.Renewals() != 1 {
		t.Errorf("Renewals() = %d, want 1", k.Renewals())
	}

	// A short-lived token: the margin is a quarter of its lifetime.
	short := &renewingTokens{clock: clock.Now, ttl: 8 * time.Second}
	k, _ = primaryKeychain(t, short, "127.0.0.1:5000", clock)
	clock.Advance(5 * time.Second)
	if password(t, k, "127.0.0.1:5000"); short.count() != 1 {
		t.Errorf("3 of 8 seconds left: %d calls, want no renewal yet", short.count())
	}
	clock.Advance(2 * time.Second)
	if password(t, k, "127.0.0.1:5000"); short.count() != 2 {
		t.Errorf("1 of 8 seconds left: %d calls, want a renewal", short.count())
	}
}

func TestKeychainRenewalIsSingleFlight(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	api := &renewingTokens{clock: clock.Now, ttl: time.Hour, delay: 20 * time.Millisecond}
	k, _ := primaryKeychain(t, api, "127.0.0.1:5000", clock)
	clock.Advance(59 * time.Minute)
	var wg sync.WaitGroup
	got := make([]string, 32)
	for i := range got {
		wg.Go(func() { got[i] = password(t, k, "127.0.0.1:5000") })
	}
	wg.Wait()
	if api.count() != 2 {
		t.Errorf("32 parallel requests near expiry made %d GetAuthorizationToken calls, want 2 (login and one renewal)", api.count())
	}
	for _, p := range got {
		if p != "pw-2" {
			t.Fatalf("passwords %q, want every one pw-2", got)
		}
	}
}

func TestKeychainKeepsAValidTokenWhenRenewalFails(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	api := &renewingTokens{clock: clock.Now, ttl: time.Hour}
	k, _ := primaryKeychain(t, api, "127.0.0.1:5000", clock)
	clock.Advance(58 * time.Minute)
	api.fail = errors.New("ThrottlingException: Rate exceeded")
	if got := password(t, k, "127.0.0.1:5000"); got != "pw-1" {
		t.Errorf("renewal failing 2 minutes before expiry: password %q, want the still valid pw-1", got)
	}
	clock.Advance(3 * time.Minute)
	reg, _ := name.NewRegistry("127.0.0.1:5000")
	a, _ := k.Resolve(reg)
	if _, err := authn.Authorization(context.Background(), a); err == nil || !strings.Contains(err.Error(), "GetAuthorizationToken") {
		t.Errorf("renewal failing after expiry: %v, want an error naming ecr:GetAuthorizationToken", err)
	}
}

// expiringRegistry answers like ECR: 202 for a password within its
// lifetime, 403 DENIED "expired" after (no body for HEAD), 403 for a
// password that lacks permission. It checks that a PATCH body arrives whole.
type expiringRegistry struct {
	api      *renewingTokens
	wantBody string

	mu       sync.Mutex
	requests int
}

func (r *expiringRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	r.mu.Unlock()
	_, pw, _ := req.BasicAuth()
	body, _ := io.ReadAll(req.Body)
	switch {
	case pw == "denied":
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"errors":[{"code":"DENIED","message":"User is not authorized to perform: ecr:InitiateLayerUpload"}]}`)
	case !r.api.valid(pw):
		w.WriteHeader(http.StatusForbidden)
		if req.Method != http.MethodHead {
			io.WriteString(w, `{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}`)
		}
	case req.Method == http.MethodPatch && string(body) != r.wantBody:
		w.WriteHeader(http.StatusBadRequest)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func TestTransportRenewsAnExpiredToken(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	api := &renewingTokens{clock: clock.Now, ttl: time.Hour}
	reg := &expiringRegistry{api: api, wantBody: strings.Repeat("layer", 1000)}
	ts := httptest.NewServer(reg)
	defer ts.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	// Margin 0: only the registry's refusal renews.
	k, masked := primaryKeychain(t, api, host, clock, withRefreshMargin(0))
	client := &http.Client{Transport: k.Transport(nil)}
	send := func(method, pw string, replayable bool) int {
		t.Helper()
		var body io.Reader
		if method == http.MethodPatch {
			body = strings.NewReader(reg.wantBody)
		}
		req, _ := http.NewRequest(method, ts.URL+"/v2/app/blobs/uploads/1", body)
		if !replayable {
			req.GetBody = nil
		}
		req.SetBasicAuth("AWS", pw)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, tc := range []struct {
		method     string
		replayable bool
		want       int
	}{
		{http.MethodGet, true, http.StatusAccepted},
		{http.MethodHead, true, http.StatusAccepted}, // no body: the token's expiresAt tells
		{http.MethodPatch, true, http.StatusAccepted},
		{http.MethodPatch, false, http.StatusForbidden},
	} {
		stale := password(t, k, host)
		clock.Advance(time.Hour) // the token in hand expires
		if got := send(tc.method, stale, tc.replayable); got != tc.want || api.count() != i+2 {
			t.Errorf("%s (replayable %v) with an expired token = %d after %d token calls, want %d after %d",
				tc.method, tc.replayable, got, api.count(), tc.want, i+2)
		}
	}
	// The unreplayable PATCH still renewed: its retry goes through.
	if got := send(http.MethodPatch, password(t, k, host), false); got != http.StatusAccepted || api.count() != 5 {
		t.Errorf("retried PATCH with the renewed token = %d after %d token calls, want 202 after 5", got, api.count())
	}
	if !slices.Contains(*masked, "pw-5") {
		t.Errorf("the renewed password was not masked: %q", *masked)
	}
	// A permission denial is not an expiry: no renewal, no retry.
	before, requests := api.count(), reg.requests
	if got := send(http.MethodGet, "denied", true); got != http.StatusForbidden || api.count() != before || reg.requests != requests+1 {
		t.Errorf("permission denial = %d with %d token calls and %d requests, want 403 with none and 1", got, api.count()-before, reg.requests-requests)
	}
}

func TestTransportRenewsOnceForParallelRefusals(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	api := &renewingTokens{clock: clock.Now, ttl: time.Hour, delay: 20 * time.Millisecond}
	reg := &expiringRegistry{api: api}
	ts := httptest.NewServer(reg)
	defer ts.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	k, _ := primaryKeychain(t, api, host, clock, withRefreshMargin(0))
	stale := password(t, k, host)
	clock.Advance(time.Hour)
	client := &http.Client{Transport: k.Transport(nil)}
	var wg sync.WaitGroup
	codes := make([]int, 16)
	for i := range codes {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v2/", nil)
			req.SetBasicAuth("AWS", stale)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for _, c := range codes {
		if c != http.StatusAccepted {
			t.Fatalf("answers %v, want every request retried to 202", codes)
		}
	}
	if got := api.count(); got != 2 {
		t.Errorf("16 parallel refusals led to %d token calls in all, want 2 (the login and one renewal)", got)
	}
}

// withRefreshMargin renews a token when less than d is left before its
// expiresAt; 0 renews only tokens the registry refuses as expired. The
// action always uses the default margin; the tests use 0 to reach the
// refusal path.
func withRefreshMargin(d time.Duration) KeychainOption {
	return func(k *Keychain) { k.margin = d }
}
