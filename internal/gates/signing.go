package gates

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/policy"
)

// SigningAPI is the part of the ECR client the signing gate calls.
type SigningAPI interface {
	GetSigningConfiguration(context.Context, *ecr.GetSigningConfigurationInput, ...func(*ecr.Options)) (*ecr.GetSigningConfigurationOutput, error)
	DescribeImageSigningStatus(context.Context, *ecr.DescribeImageSigningStatusInput, ...func(*ecr.Options)) (*ecr.DescribeImageSigningStatusOutput, error)
}

// ErrNoSigningConfiguration: require_signature is true, but the registry
// has no signing configuration, or none of its rules covers the repository.
var ErrNoSigningConfiguration = errors.New("no signing configuration covers the repository")

// SigningSetupError says why the registry cannot sign the repository's
// images; it wraps ErrNoSigningConfiguration. It carries what was found;
// internal/diagnose says what to do.
type SigningSetupError struct {
	Repository string
	NotFound   string   // the error code when the registry has no signing configuration
	Rules      []string // otherwise the configuration's rules: profile (filters)
}

func (e *SigningSetupError) Error() string {
	if e.NotFound != "" {
		return fmt.Sprintf("the registry has no signing configuration (GetSigningConfiguration: %s), so ECR signs no image", e.NotFound)
	}
	return fmt.Sprintf("no rule of the registry's signing configuration covers the repository %s, so ECR will not sign its images. Rules: %s", e.Repository, orNone(e.Rules))
}
func (e *SigningSetupError) Unwrap() error { return ErrNoSigningConfiguration }

// CheckSigning reads the registry's signing configuration
// (GetSigningConfiguration) and returns the signing profiles of the rules
// that cover repository: a rule without repository filters covers every
// repository, and a WILDCARD_MATCH filter's * matches any sequence of
// characters. No configuration, or no rule for the repository, is a
// *SigningSetupError. Run it before the first write.
func CheckSigning(ctx context.Context, api SigningAPI, repository string) ([]string, error) {
	out, err := api.GetSigningConfiguration(ctx, &ecr.GetSigningConfigurationInput{})
	var nf *types.SigningConfigurationNotFoundException
	if errors.As(err, &nf) {
		return nil, &SigningSetupError{Repository: repository, NotFound: nf.ErrorCode()}
	}
	if err != nil {
		return nil, err
	}
	var profiles []string
	var rules []string
	if out.SigningConfiguration != nil {
		for _, r := range out.SigningConfiguration.Rules {
			var filters []string
			for _, f := range r.RepositoryFilters {
				filters = append(filters, aws.ToString(f.Filter))
			}
			rules = append(rules, aws.ToString(r.SigningProfileArn)+" ("+orAll(filters)+")")
			if covers(filters, repository) && !slices.Contains(profiles, aws.ToString(r.SigningProfileArn)) {
				profiles = append(profiles, aws.ToString(r.SigningProfileArn))
			}
		}
	}
	if len(profiles) == 0 {
		return nil, &SigningSetupError{Repository: repository, Rules: rules}
	}
	return profiles, nil
}

func orAll(filters []string) string {
	if len(filters) == 0 {
		return "every repository"
	}
	return strings.Join(filters, ", ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

// covers reports whether WILDCARD_MATCH filters cover a repository.
func covers(filters []string, repository string) bool {
	if len(filters) == 0 {
		return true
	}
	return slices.ContainsFunc(filters, func(f string) bool { return policy.WildcardMatch(f, repository) })
}

// The outcomes of the signing gate (the signature_status output).
const (
	SignatureSigned   = "signed"
	SignatureFailed   = "failed"
	SignatureTimedOut = "timed_out"
	SignatureSkipped  = "skipped" // require_signature is false
)

// ProfileStatus is one signing status of the image.
type ProfileStatus struct {
	Profile       string
	Status        string // IN_PROGRESS, COMPLETE or FAILED; "" = not reported yet
	FailureCode   string
	FailureReason string
}

// SigningResult is the outcome of WaitSigned.
type SigningResult struct {
	Outcome  string // SignatureSigned, SignatureFailed or SignatureTimedOut
	Digest   string
	Profiles []ProfileStatus // the expected profiles first, then any other ECR reported
	Waited   time.Duration
}

// SigningOptions configure WaitSigned.
type SigningOptions struct {
	Repository string
	Digest     string   // the image the tags will name
	Profiles   []string // from CheckSigning: every one must report COMPLETE
	Pace       Pace
	Logf       func(format string, args ...any) // nil = silent
}

// WaitSigned waits until ECR reports the image signed by every expected
// profile (and every status it reports COMPLETE), a status FAILED, or the
// timeout. Errors are those no retry fixes (AccessDenied, a missing image)
// and the context's end; a failure or timeout is a result.
func WaitSigned(ctx context.Context, api SigningAPI, o SigningOptions) (*SigningResult, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	res := &SigningResult{Digest: o.Digest}
	last := ""
	waited, err := poll(ctx, o.Pace, func(ctx context.Context) (bool, error) {
		out, err := api.DescribeImageSigningStatus(ctx, &ecr.DescribeImageSigningStatusInput{
			RepositoryName: aws.String(o.Repository),
			ImageId:        &types.ImageIdentifier{ImageDigest: aws.String(o.Digest)},
		})
		if err != nil {
			if awsauth.ReadAgain(err) {
				o.Logf("DescribeImageSigningStatus: %v; reading again", err)
			}
			return false, err
		}
		res.Profiles = profileStatuses(o.Profiles, out.SigningStatuses)
		if s := DescribeProfiles(res.Profiles); s != last {
			o.Logf("signing of %s: %s", o.Digest, s)
			last = s
		}
		complete := true
		for _, p := range res.Profiles {
			switch p.Status {
			case string(types.SigningStatusFailed):
				res.Outcome = SignatureFailed
				return true, nil
			case string(types.SigningStatusComplete):
			default:
				complete = false
			}
		}
		if complete {
			res.Outcome = SignatureSigned
		}
		return complete, nil
	})
	res.Waited = waited
	switch {
	case errors.Is(err, errTimedOut):
		res.Outcome = SignatureTimedOut
		return res, nil
	case err != nil:
		return res, err
	}
	return res, nil
}

// profileStatuses lines ECR's statuses up with the expected profiles.
func profileStatuses(expected []string, got []types.ImageSigningStatus) []ProfileStatus {
	out := make([]ProfileStatus, 0, len(expected))
	for _, p := range expected {
		out = append(out, ProfileStatus{Profile: p})
	}
	for _, s := range got {
		ps := ProfileStatus{Profile: aws.ToString(s.SigningProfileArn), Status: string(s.Status), FailureCode: aws.ToString(s.FailureCode), FailureReason: aws.ToString(s.FailureReason)}
		if i := slices.IndexFunc(out, func(o ProfileStatus) bool { return o.Profile == ps.Profile }); i >= 0 {
			out[i] = ps
		} else {
			out = append(out, ps)
		}
	}
	return out
}

// DescribeProfiles lists each profile with its status, for the log and
// messages: "<profile> COMPLETE, <profile> not reported".
func DescribeProfiles(ps []ProfileStatus) string {
	var parts []string
	for _, p := range ps {
		st := p.Status
		if st == "" {
			st = "not reported"
		}
		parts = append(parts, p.Profile+" "+st)
	}
	return strings.Join(parts, ", ")
}
