// Package awsauth builds the AWS configuration the action uses: the region
// from the inputs or the environment, credentials from the standard AWS chain
// or, with role_to_assume, from the GitHub OIDC token exchanged with STS.
//
// Endpoints are the SDK's own: AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL_STS
// (and AWS_ENDPOINT_URL) are read by config.LoadDefaultConfig and honoured by
// every client built from the returned config.
package awsauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/org/ecr-action/internal/httpbound"
	"github.com/org/ecr-action/internal/invalid"
	"github.com/org/ecr-action/internal/policy"
)

// Defaults of the inputs this package reads.
const (
	DefaultRoleSessionName = "ecr-action"
	DefaultAudience        = "sts.amazonaws.com"
)

// Variables the GitHub runner sets when the workflow grants
// `permissions: id-token: write`.
const (
	TokenRequestURLVar   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	TokenRequestTokenVar = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// tokenRefreshTimeout bounds a later OIDC token request made when cached
// credentials expire; the SDK's token retriever interface takes no context.
const tokenRefreshTimeout = 30 * time.Second

// MaxResponseBytes bounds the body of an AWS API response (and of the OIDC
// token request). The largest the action asks for is a page of 1,000 scan
// findings, a few MiB; an endless body fails at this bound instead of
// running the process out of memory.
const MaxResponseBytes = 32 << 20

// Options are the inputs and hooks Load needs.
type Options struct {
	Region          string // input aws_region; falls back to AWS_REGION, then AWS_DEFAULT_REGION
	RoleToAssume    string // input role_to_assume
	RoleSessionName string // input role_session_name (default "ecr-action")
	Audience        string // input audience (default "sts.amazonaws.com")
	Getenv          func(string) string
	// Limits bound every AWS call (STS, and ECR and CloudWatch Logs through
	// the returned config's HTTP client) and the OIDC token request in time;
	// the zero value means httpbound's defaults. Response bodies are bounded
	// by MaxResponseBytes.
	Limits httpbound.Limits
	Mask   func(secret string) // called with the OIDC token (and any secret) before anything could log it
	// Retryer builds the retryer of every client made from the returned
	// config, STS included; nil = the SDK's default (3 attempts).
	Retryer func() aws.Retryer
}

// OIDCUnavailableError reports that role_to_assume was given but the runner
// did not provide the OIDC token request variables.
type OIDCUnavailableError struct {
	Missing []string // the variables that were not set
}

func (e *OIDCUnavailableError) Error() string {
	return fmt.Sprintf("input role_to_assume needs a GitHub OIDC token, but %s %s not set: add `permissions: id-token: write` to the workflow or job",
		strings.Join(e.Missing, " and "), map[bool]string{true: "is", false: "are"}[len(e.Missing) == 1])
}

// TokenRequestError reports a failed request for the GitHub OIDC token.
type TokenRequestError struct {
	StatusCode int // 0 when no answer arrived
	Err        error
}

func (e *TokenRequestError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("requesting the GitHub OIDC token: HTTP status %d: %v", e.StatusCode, e.Err)
	}
	return fmt.Sprintf("requesting the GitHub OIDC token: %v", e.Err)
}

func (e *TokenRequestError) Unwrap() error { return e.Err }

// sessionName is what STS accepts as RoleSessionName.
var sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// Load returns an AWS configuration with the region resolved and credentials
// retrieved once, so that a missing or refused credential fails here with the
// reason rather than at the first ECR call. Secrets Load itself obtains (the
// OIDC request token, the OIDC token, the assumed role's keys and session
// token) are passed to Mask as soon as they are known, and no secret appears
// in a returned error.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	mask := o.Mask
	if mask == nil {
		mask = func(string) {}
	}
	o.RoleToAssume = strings.TrimSpace(o.RoleToAssume)
	if o.RoleSessionName == "" {
		o.RoleSessionName = DefaultRoleSessionName
	}
	if o.Audience == "" {
		o.Audience = DefaultAudience
	}

	region, err := resolveRegion(o.Region, getenv)
	if err != nil {
		return aws.Config{}, err
	}
	if o.RoleToAssume != "" {
		// The same check as the inputs' (internal/config), so the two
		// cannot disagree on what a role ARN is.
		if err := policy.ValidateRoleARN(o.RoleToAssume); err != nil {
			return aws.Config{}, invalid.Input{Input: "role_to_assume", Value: invalid.Quote(o.RoleToAssume), Problem: err.Error()}
		}
		if !sessionName.MatchString(o.RoleSessionName) {
			return aws.Config{}, invalid.Input{Input: "role_session_name", Value: invalid.Quote(o.RoleSessionName),
				Problem: "is not a valid session name: use 2 to 64 characters from letters, digits and _+=,.@-"}
		}
	}

	if o.Limits.Connect == 0 && o.Limits.ResponseHeader == 0 && o.Limits.Stall == 0 {
		o.Limits = httpbound.Limits{Connect: httpbound.DefaultConnect, ResponseHeader: httpbound.DefaultResponseHeader, Stall: httpbound.DefaultStall}
	}
	// The SDK's own client, so that AWS_CA_BUNDLE still applies, with the
	// timeouts on its transport; its responses are watched (stall, size)
	// once the configuration is loaded.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(httpbound.Configure(o.Limits))
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithHTTPClient(httpClient)}
	if o.Retryer != nil {
		opts = append(opts, config.WithRetryer(o.Retryer))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	cfg.HTTPClient = httpbound.WrapDoer(cfg.HTTPClient, o.Limits.WithMaxBody(MaxResponseBytes))

	secrets := &secretSet{mask: mask}
	if o.RoleToAssume != "" {
		fetcher, err := newTokenFetcher(getenv, o.Audience, cfg.HTTPClient, secrets)
		if err != nil {
			return aws.Config{}, err
		}
		// Fetch once now, with the caller's context: a refused token fails here.
		token, err := fetcher.fetch(ctx)
		if err != nil {
			return aws.Config{}, secrets.redact(err)
		}
		fetcher.first = token
		provider := stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), o.RoleToAssume, fetcher,
			func(wo *stscreds.WebIdentityRoleOptions) { wo.RoleSessionName = o.RoleSessionName })
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	if cfg.Credentials == nil {
		return aws.Config{}, errors.New("no AWS credentials found: add an aws-actions/configure-aws-credentials step before this one, or set the role_to_assume input")
	}

	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		if o.RoleToAssume != "" {
			return aws.Config{}, secrets.redact(fmt.Errorf("assuming role %s with the GitHub OIDC token (check the role's trust policy allows this repository and audience %q): %w",
				o.RoleToAssume, o.Audience, err))
		}
		return aws.Config{}, secrets.redact(fmt.Errorf("getting AWS credentials from the environment (add an aws-actions/configure-aws-credentials step before this one, or set the role_to_assume input): %w", err))
	}
	if o.RoleToAssume != "" {
		// Credentials this action obtained are masked here. Credentials from
		// the environment are not masked by Load: report.New masks them
		// before the action's first line.
		secrets.add(creds.AccessKeyID)
		secrets.add(creds.SecretAccessKey)
		secrets.add(creds.SessionToken)
	}
	return cfg, nil
}

// resolveRegion applies the precedence aws_region, AWS_REGION,
// AWS_DEFAULT_REGION.
func resolveRegion(input string, getenv func(string) string) (string, error) {
	for _, v := range []string{input, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")} {
		if v = strings.TrimSpace(v); v != "" {
			return v, nil
		}
	}
	return "", invalid.Input{Input: "aws_region",
		Problem: "no AWS region: set the aws_region input, or the AWS_REGION or AWS_DEFAULT_REGION environment variable"}
}

// tokenFetcher gets GitHub OIDC tokens from the runner's token service. It
// is the stscreds.IdentityTokenRetriever of the web identity provider.
type tokenFetcher struct {
	url          string // request URL with the audience added
	requestToken string
	client       aws.HTTPClient
	secrets      *secretSet
	first        string // the token fetched by Load, used once
}

func newTokenFetcher(getenv func(string) string, audience string, client aws.HTTPClient, secrets *secretSet) (*tokenFetcher, error) {
	rawURL, requestToken := getenv(TokenRequestURLVar), getenv(TokenRequestTokenVar)
	secrets.add(requestToken)
	var missing []string
	if rawURL == "" {
		missing = append(missing, TokenRequestURLVar)
	}
	if requestToken == "" {
		missing = append(missing, TokenRequestTokenVar)
	}
	if len(missing) > 0 {
		return nil, &OIDCUnavailableError{Missing: missing}
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s is not an http(s) URL; it is set by the runner, do not override it", TokenRequestURLVar)
	}
	// The runner's URL already carries a query; append the audience to it.
	sep := "&"
	if u.RawQuery == "" {
		sep = "?"
		rawURL = strings.TrimSuffix(rawURL, "?")
	}
	if client == nil {
		client = &http.Client{Timeout: tokenRefreshTimeout}
	}
	return &tokenFetcher{
		url:          rawURL + sep + "audience=" + url.QueryEscape(audience),
		requestToken: requestToken,
		client:       client,
		secrets:      secrets,
	}, nil
}

// GetIdentityToken implements stscreds.IdentityTokenRetriever. The first call
// returns the token Load fetched; later calls (credentials refreshed after
// they expire) fetch a fresh one, bounded by tokenRefreshTimeout.
func (f *tokenFetcher) GetIdentityToken() ([]byte, error) {
	if f.first != "" {
		token := f.first
		f.first = ""
		return []byte(token), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), tokenRefreshTimeout)
	defer cancel()
	token, err := f.fetch(ctx)
	if err != nil {
		return nil, f.secrets.redact(err)
	}
	return []byte(token), nil
}

// fetch requests a token and masks it.
func (f *tokenFetcher) fetch(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return "", &TokenRequestError{Err: errors.New("building the request failed")}
	}
	req.Header.Set("Authorization", "bearer "+f.requestToken)
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		// A *url.Error repeats the URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", &TokenRequestError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", &TokenRequestError{StatusCode: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return "", &TokenRequestError{StatusCode: resp.StatusCode, Err: errors.New(short(string(body)))}
	}
	var answer struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", &TokenRequestError{StatusCode: resp.StatusCode, Err: errors.New("the answer is not JSON with a value field")}
	}
	if answer.Value == "" {
		return "", &TokenRequestError{StatusCode: resp.StatusCode, Err: errors.New("the answer has no token in its value field")}
	}
	f.secrets.add(answer.Value)
	return answer.Value, nil
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "empty answer"
	}
	return s
}
