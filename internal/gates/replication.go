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
)

// ReplicationAPI is the part of the ECR client the replication gate calls.
type ReplicationAPI interface {
	DescribeRegistry(context.Context, *ecr.DescribeRegistryInput, ...func(*ecr.Options)) (*ecr.DescribeRegistryOutput, error)
	DescribeImageReplicationStatus(context.Context, *ecr.DescribeImageReplicationStatusInput, ...func(*ecr.Options)) (*ecr.DescribeImageReplicationStatusOutput, error)
}

// Destination is where ECR replicates an image to.
type Destination struct {
	Region     string
	RegistryID string
}

func (d Destination) String() string { return d.RegistryID + " in " + d.Region }

// ErrNoReplication: wait_for_replication is true, but no replication rule
// of the registry covers the repository.
var ErrNoReplication = errors.New("no replication rule covers the repository")

// ReplicationSetupError says why nothing would be replicated; it wraps
// ErrNoReplication. It carries what was found; internal/diagnose says
// what to do.
type ReplicationSetupError struct {
	Repository string
	Rules      int // the registry's replication rules, none covering the repository
}

func (e *ReplicationSetupError) Error() string {
	what := "has no replication rules"
	if e.Rules > 0 {
		what = fmt.Sprintf("has %d replication rule(s), none of whose repository filters (PREFIX_MATCH) covers %s", e.Rules, e.Repository)
	}
	return fmt.Sprintf("the registry %s (DescribeRegistry), so ECR replicates none of the repository's images", what)
}
func (e *ReplicationSetupError) Unwrap() error { return ErrNoReplication }

// CheckReplication reads the registry's replication configuration
// (DescribeRegistry) and returns the distinct destinations of the rules
// that cover repository: a rule without repository filters covers every
// repository, a PREFIX_MATCH filter those whose name starts with it. No
// such destination is a *ReplicationSetupError. Run it before the first
// write.
func CheckReplication(ctx context.Context, api ReplicationAPI, repository string) ([]Destination, error) {
	out, err := api.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	if err != nil {
		return nil, err
	}
	var dests []Destination
	rules := 0
	if out.ReplicationConfiguration != nil {
		for _, r := range out.ReplicationConfiguration.Rules {
			rules++
			if !prefixCovers(r.RepositoryFilters, repository) {
				continue
			}
			for _, d := range r.Destinations {
				dest := Destination{Region: aws.ToString(d.Region), RegistryID: aws.ToString(d.RegistryId)}
				if !slices.Contains(dests, dest) {
					dests = append(dests, dest)
				}
			}
		}
	}
	if len(dests) == 0 {
		return nil, &ReplicationSetupError{Repository: repository, Rules: rules}
	}
	return dests, nil
}

func prefixCovers(filters []types.RepositoryFilter, repository string) bool {
	if len(filters) == 0 {
		return true
	}
	return slices.ContainsFunc(filters, func(f types.RepositoryFilter) bool {
		return strings.HasPrefix(repository, aws.ToString(f.Filter))
	})
}

// DestinationStatus is one destination's replication of the image.
type DestinationStatus struct {
	Destination
	Status      string // IN_PROGRESS, COMPLETE or FAILED; "" = not reported yet
	FailureCode string
	URI         string // the image in the destination, pinned by digest
}

// ReplicationResult is the outcome of WaitReplicated.
type ReplicationResult struct {
	Digest       string
	Destinations []DestinationStatus // the expected ones first, then any other ECR reported
	TimedOut     bool
	Waited       time.Duration
}

// Complete returns the destinations that report COMPLETE.
func (r *ReplicationResult) Complete() []DestinationStatus {
	var out []DestinationStatus
	for _, d := range r.Destinations {
		if d.Status == string(types.ReplicationStatusComplete) {
			out = append(out, d)
		}
	}
	return out
}

// OK reports whether every destination is COMPLETE.
// The replication_status output's values, as SignatureSigned… are
// signature_status's.
const (
	ReplicationComplete = "complete"
	ReplicationFailed   = "failed"
	ReplicationTimedOut = "timed_out"
	ReplicationSkipped  = "skipped" // wait_for_replication is false, or no tag was written
)

// Outcome is ReplicationComplete, ReplicationTimedOut or ReplicationFailed.
func (r *ReplicationResult) Outcome() string {
	switch {
	case r.OK():
		return ReplicationComplete
	case r.TimedOut:
		return ReplicationTimedOut
	}
	return ReplicationFailed
}

func (r *ReplicationResult) OK() bool {
	return !r.TimedOut && len(r.Complete()) == len(r.Destinations)
}

// ReplicationOptions configure WaitReplicated.
type ReplicationOptions struct {
	Repository   string
	Digest       string
	Destinations []Destination // from CheckReplication
	Pace         Pace
	Logf         func(format string, args ...any) // nil = silent
}

// WaitReplicated waits until every destination reports a final status
// (COMPLETE or FAILED) or the timeout passes; it keeps waiting for the
// others after one FAILED, so the result has every URI there is to give.
// Errors are those no retry fixes and the context's end.
func WaitReplicated(ctx context.Context, api ReplicationAPI, o ReplicationOptions) (*ReplicationResult, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	res := &ReplicationResult{Digest: o.Digest}
	for _, d := range o.Destinations {
		res.Destinations = append(res.Destinations, DestinationStatus{Destination: d})
	}
	last := ""
	waited, err := poll(ctx, o.Pace, func(ctx context.Context) (bool, error) {
		out, err := api.DescribeImageReplicationStatus(ctx, &ecr.DescribeImageReplicationStatusInput{
			RepositoryName: aws.String(o.Repository),
			ImageId:        &types.ImageIdentifier{ImageDigest: aws.String(o.Digest)},
		})
		if err != nil {
			if awsauth.ReadAgain(err) {
				o.Logf("DescribeImageReplicationStatus: %v; reading again", err)
			}
			return false, err
		}
		for _, s := range out.ReplicationStatuses {
			ds := DestinationStatus{Destination: Destination{Region: aws.ToString(s.Region), RegistryID: aws.ToString(s.RegistryId)}, Status: string(s.Status), FailureCode: aws.ToString(s.FailureCode)}
			if i := slices.IndexFunc(res.Destinations, func(d DestinationStatus) bool { return d.Destination == ds.Destination }); i >= 0 {
				res.Destinations[i] = ds
			} else {
				res.Destinations = append(res.Destinations, ds)
			}
		}
		if s := describeDestinations(res.Destinations); s != last {
			o.Logf("replication of %s: %s", o.Digest, s)
			last = s
		}
		for _, d := range res.Destinations {
			if d.Status != string(types.ReplicationStatusComplete) && d.Status != string(types.ReplicationStatusFailed) {
				return false, nil
			}
		}
		return true, nil
	})
	res.Waited = waited
	for i := range res.Destinations {
		if d := &res.Destinations[i]; d.Status == string(types.ReplicationStatusComplete) {
			d.URI = imageURI(d.Destination, o.Repository, o.Digest)
		}
	}
	switch {
	case errors.Is(err, errTimedOut):
		res.TimedOut = true
		return res, nil
	case err != nil:
		return res, err
	}
	return res, nil
}

func describeDestinations(ds []DestinationStatus) string {
	var parts []string
	for _, d := range ds {
		st := d.Status
		if st == "" {
			st = "not reported"
		}
		if d.FailureCode != "" {
			st += " (" + d.FailureCode + ")"
		}
		parts = append(parts, d.Region+"/"+d.RegistryID+" "+st)
	}
	return strings.Join(parts, ", ")
}

// ImageURI is the image's URI in a destination registry, pinned by
// digest: <registry>.dkr.ecr.<region>.<domain>/<repository>@<digest>, with
// the domain of the region's partition (awsauth.RegistryIn). Replication
// keeps the repository name.
func imageURI(d Destination, repository, digest string) string {
	return awsauth.RegistryIn(d.RegistryID, d.Region).String() + "/" + repository + "@" + digest
}
