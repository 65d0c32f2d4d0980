package gates

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/testing/fakeclock"
)

const (
	profile = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/prod"
	digest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

var start = time.Date(2099, 5, 6, 7, 8, 9, 0, time.UTC)

// fakeAPI answers from the fake clock's time since start: each status
// function gets the elapsed time.
type fakeAPI struct {
	clk      *fakeclock.Clock
	config   *types.SigningConfiguration // nil = SigningConfigurationNotFoundException
	registry *types.ReplicationConfiguration
	signing  func(elapsed time.Duration) ([]types.ImageSigningStatus, error)
	repl     func(elapsed time.Duration) ([]types.ImageReplicationStatus, error)
	reads    int
}

func (f *fakeAPI) GetSigningConfiguration(context.Context, *ecr.GetSigningConfigurationInput, ...func(*ecr.Options)) (*ecr.GetSigningConfigurationOutput, error) {
	if f.config == nil {
		return nil, &types.SigningConfigurationNotFoundException{Message: aws.String("not found")}
	}
	return &ecr.GetSigningConfigurationOutput{SigningConfiguration: f.config}, nil
}

func (f *fakeAPI) DescribeImageSigningStatus(ctx context.Context, in *ecr.DescribeImageSigningStatusInput, _ ...func(*ecr.Options)) (*ecr.DescribeImageSigningStatusOutput, error) {
	f.reads++
	if aws.ToString(in.ImageId.ImageDigest) != digest || aws.ToString(in.RepositoryName) != "team/app" {
		return nil, errors.New("wrong image asked for")
	}
	st, err := f.signing(f.clk.Now().Sub(start))
	if err != nil {
		return nil, err
	}
	return &ecr.DescribeImageSigningStatusOutput{SigningStatuses: st}, nil
}

func (f *fakeAPI) DescribeRegistry(context.Context, *ecr.DescribeRegistryInput, ...func(*ecr.Options)) (*ecr.DescribeRegistryOutput, error) {
	return &ecr.DescribeRegistryOutput{ReplicationConfiguration: f.registry}, nil
}

func (f *fakeAPI) DescribeImageReplicationStatus(ctx context.Context, in *ecr.DescribeImageReplicationStatusInput, _ ...func(*ecr.Options)) (*ecr.DescribeImageReplicationStatusOutput, error) {
	f.reads++
	st, err := f.repl(f.clk.Now().Sub(start))
	if err != nil {
		return nil, err
	}
	return &ecr.DescribeImageReplicationStatusOutput{ReplicationStatuses: st}, nil
}

func denied(op string) error {
	return &smithy.OperationError{ServiceID: "ECR", OperationName: op, Err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: ecr:" + op}}
}

func throttled() error {
	return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
}

func signed(status types.SigningStatus) []types.ImageSigningStatus {
	s := types.ImageSigningStatus{SigningProfileArn: aws.String(profile), Status: status}
	if status == types.SigningStatusFailed {
		s.FailureCode, s.FailureReason = aws.String("SIGNING_FAILED"), aws.String("the profile is revoked")
	}
	return []types.ImageSigningStatus{s}
}

func TestCheckSigning(t *testing.T) {
	f := &fakeAPI{}
	_, err := CheckSigning(context.Background(), f, "team/app")
	if !errors.Is(err, ErrNoSigningConfiguration) || !strings.Contains(err.Error(), "no signing configuration") {
		t.Errorf("no configuration: %v", err)
	}
	rule := func(p string, filters ...string) types.SigningRule {
		r := types.SigningRule{SigningProfileArn: aws.String(p)}
		for _, f := range filters {
			r.RepositoryFilters = append(r.RepositoryFilters, types.SigningRepositoryFilter{Filter: aws.String(f), FilterType: types.SigningRepositoryFilterTypeWildcardMatch})
		}
		return r
	}
	f.config = &types.SigningConfiguration{Rules: []types.SigningRule{rule(profile+"x", "other/*", "*-prod")}}
	_, err = CheckSigning(context.Background(), f, "team/app")
	if !errors.Is(err, ErrNoSigningConfiguration) || !strings.Contains(err.Error(), "no rule") || !strings.Contains(err.Error(), "other/*, *-prod") {
		t.Errorf("no covering rule: %v", err)
	}
	f.config.Rules = append(f.config.Rules, rule(profile, "team/*"), rule(profile), rule(profile+"y"))
	got, err := CheckSigning(context.Background(), f, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{profile, profile + "y"}, got); diff != "" {
		t.Errorf("profiles (-want +got):\n%s", diff)
	}
}

// TestCovers: a rule's WILDCARD_MATCH filters cover a repository when any
// one matches (policy.WildcardMatch), and a rule without filters covers
// every repository.
func TestCovers(t *testing.T) {
	if !covers(nil, "anything") {
		t.Error("a rule without filters covers nothing")
	}
	if !covers([]string{"other", "team/*"}, "team/app") || covers([]string{"other", "team/*"}, "teams/app") {
		t.Error("covers does not take any one matching filter")
	}
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"team/*", "team/app", true}, {"*/production", "a/production", true}, {"*prod*", "myproduction", true},
		{"team/*", "teams/app", false}, {"app", "app", true}, {"app", "app2", false}, {"a*b*a", "aba", true}, {"a*a", "a", false},
	} {
		if got := covers([]string{c.pattern}, c.name); got != c.want {
			t.Errorf("covers(%q, %q) = %v", c.pattern, c.name, got)
		}
	}
}

func waitSigned(t *testing.T, status func(time.Duration) ([]types.ImageSigningStatus, error)) (*SigningResult, *fakeAPI, error) {
	t.Helper()
	clk := fakeclock.New(start)
	f := &fakeAPI{clk: clk, signing: status}
	res, err := WaitSigned(context.Background(), f, SigningOptions{Repository: "team/app", Digest: digest, Profiles: []string{profile}, Pace: Pace{Timeout: time.Minute, Clock: clk}})
	if clk.Pending() != 0 {
		t.Errorf("%d timeouts left pending", clk.Pending())
	}
	return res, f, err
}

func TestWaitSigned(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		res, f, err := waitSigned(t, func(e time.Duration) ([]types.ImageSigningStatus, error) {
			switch {
			case e < 2*time.Second:
				return nil, nil // not started
			case e < 10*time.Second:
				return signed(types.SigningStatusInProgress), nil
			}
			return signed(types.SigningStatusComplete), nil
		})
		if err != nil || res.Outcome != SignatureSigned {
			t.Fatalf("res %+v, err %v", res, err)
		}
		// Reads at 0, 1, 3, 7, 12 s: one to five seconds apart.
		if res.Waited != 12*time.Second || f.reads != 5 {
			t.Errorf("waited %s over %d reads, want 12s over 5", res.Waited, f.reads)
		}
		if len(res.Profiles) != 1 || res.Profiles[0].Status != string(types.SigningStatusComplete) {
			t.Errorf("profiles of a signed image: %+v", res.Profiles)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		res, _, err := waitSigned(t, func(time.Duration) ([]types.ImageSigningStatus, error) {
			return signed(types.SigningStatusInProgress), nil
		})
		if err != nil || res.Outcome != SignatureTimedOut || res.Waited != time.Minute {
			t.Fatalf("res %+v, err %v", res, err)
		}
		if len(res.Profiles) != 1 || res.Profiles[0].Status != string(types.SigningStatusInProgress) || DescribeProfiles(res.Profiles) != profile+" IN_PROGRESS" {
			t.Errorf("profiles: %+v (%s)", res.Profiles, DescribeProfiles(res.Profiles))
		}
	})
	t.Run("never reported", func(t *testing.T) {
		res, _, err := waitSigned(t, func(time.Duration) ([]types.ImageSigningStatus, error) { return nil, nil })
		if err != nil || res.Outcome != SignatureTimedOut {
			t.Fatalf("res %+v, err %v", res, err)
		}
		if len(res.Profiles) != 1 || res.Profiles[0].Status != "" {
			t.Errorf("profiles of an image ECR reports nothing for: %+v", res.Profiles)
		}
	})
	t.Run("failure", func(t *testing.T) {
		res, _, err := waitSigned(t, func(e time.Duration) ([]types.ImageSigningStatus, error) {
			if e < 3*time.Second {
				return signed(types.SigningStatusInProgress), nil
			}
			return signed(types.SigningStatusFailed), nil
		})
		if err != nil || res.Outcome != SignatureFailed || res.Waited != 3*time.Second {
			t.Fatalf("res %+v, err %v", res, err)
		}
		if p := res.Profiles; len(p) != 1 || p[0].Status != string(types.SigningStatusFailed) || p[0].FailureCode != "SIGNING_FAILED" || p[0].FailureReason != "the profile is revoked" {
			t.Errorf("profiles: %+v", p)
		}
	})
	t.Run("access denied ends the wait at once", func(t *testing.T) {
		res, f, err := waitSigned(t, func(time.Duration) ([]types.ImageSigningStatus, error) {
			return nil, denied("DescribeImageSigningStatus")
		})
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") || f.reads != 1 || res.Waited != 0 {
			t.Fatalf("err %v after %d reads, %s", err, f.reads, res.Waited)
		}
	})
	t.Run("throttling is read again, slower", func(t *testing.T) {
		res, f, err := waitSigned(t, func(e time.Duration) ([]types.ImageSigningStatus, error) {
			if e < 5*time.Second {
				return nil, throttled()
			}
			return signed(types.SigningStatusComplete), nil
		})
		// Throttled at 0 and 2 s, read at 6 s.
		if err != nil || res.Outcome != SignatureSigned || f.reads != 3 || res.Waited != 6*time.Second {
			t.Fatalf("res %+v after %d reads, err %v", res, f.reads, err)
		}
	})
	t.Run("a second profile must sign too", func(t *testing.T) {
		clk := fakeclock.New(start)
		f := &fakeAPI{clk: clk, signing: func(time.Duration) ([]types.ImageSigningStatus, error) {
			return signed(types.SigningStatusComplete), nil
		}}
		res, err := WaitSigned(context.Background(), f, SigningOptions{Repository: "team/app", Digest: digest, Profiles: []string{profile, profile + "2"}, Pace: Pace{Timeout: 20 * time.Second, Clock: clk}})
		if err != nil || res.Outcome != SignatureTimedOut || !strings.Contains(DescribeProfiles(res.Profiles), profile+"2 not reported") {
			t.Fatalf("res %+v, err %v", res, err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		clk := fakeclock.New(start)
		ctx, cancel := context.WithCancel(context.Background())
		f := &fakeAPI{clk: clk, signing: func(time.Duration) ([]types.ImageSigningStatus, error) {
			cancel()
			return signed(types.SigningStatusInProgress), nil
		}}
		_, err := WaitSigned(ctx, f, SigningOptions{Repository: "team/app", Digest: digest, Profiles: []string{profile}, Pace: Pace{Timeout: time.Minute, Clock: clk}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
}

func dest(region, account string) types.ReplicationDestination {
	return types.ReplicationDestination{Region: aws.String(region), RegistryId: aws.String(account)}
}

func TestCheckReplication(t *testing.T) {
	f := &fakeAPI{registry: &types.ReplicationConfiguration{}}
	_, err := CheckReplication(context.Background(), f, "team/app")
	if !errors.Is(err, ErrNoReplication) || !strings.Contains(err.Error(), "has no replication rules") {
		t.Errorf("no rules: %v", err)
	}
	f.registry.Rules = []types.ReplicationRule{{Destinations: []types.ReplicationDestination{dest("eu-west-1", "123456789012")}, RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String("other"), FilterType: types.RepositoryFilterTypePrefixMatch}}}}
	_, err = CheckReplication(context.Background(), f, "team/app")
	if !errors.Is(err, ErrNoReplication) || !strings.Contains(err.Error(), "none of whose") {
		t.Errorf("no covering rule: %v", err)
	}
	f.registry.Rules = append(f.registry.Rules,
		types.ReplicationRule{Destinations: []types.ReplicationDestination{dest("us-west-2", "123456789012"), dest("eu-west-1", "210987654321")}, RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String("team"), FilterType: types.RepositoryFilterTypePrefixMatch}}},
		types.ReplicationRule{Destinations: []types.ReplicationDestination{dest("us-west-2", "123456789012")}},
	)
	got, err := CheckReplication(context.Background(), f, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Destination{{"us-west-2", "123456789012"}, {"eu-west-1", "210987654321"}}, got); diff != "" {
		t.Errorf("destinations (-want +got):\n%s", diff)
	}
}

var dests = []Destination{{"us-west-2", "123456789012"}, {"cn-north-1", "210987654321"}}

func replStatus(d Destination, status types.ReplicationStatus) types.ImageReplicationStatus {
	s := types.ImageReplicationStatus{Region: aws.String(d.Region), RegistryId: aws.String(d.RegistryID), Status: status}
	if status == types.ReplicationStatusFailed {
		s.FailureCode = aws.String("REPLICATION_FAILED")
	}
	return s
}

func waitReplicated(t *testing.T, status func(time.Duration) ([]types.ImageReplicationStatus, error)) (*ReplicationResult, *fakeAPI, error) {
	t.Helper()
	clk := fakeclock.New(start)
	f := &fakeAPI{clk: clk, repl: status}
	res, err := WaitReplicated(context.Background(), f, ReplicationOptions{Repository: "team/app", Digest: digest, Destinations: dests, Pace: Pace{Timeout: time.Minute, Clock: clk}})
	if clk.Pending() != 0 {
		t.Errorf("%d timeouts left pending", clk.Pending())
	}
	return res, f, err
}

func TestWaitReplicated(t *testing.T) {
	west := "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/app@" + digest
	china := "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/team/app@" + digest
	t.Run("success", func(t *testing.T) {
		res, _, err := waitReplicated(t, func(e time.Duration) ([]types.ImageReplicationStatus, error) {
			switch {
			case e < time.Second:
				return nil, nil
			case e < 20*time.Second:
				return []types.ImageReplicationStatus{replStatus(dests[0], types.ReplicationStatusComplete), replStatus(dests[1], types.ReplicationStatusInProgress)}, nil
			}
			return []types.ImageReplicationStatus{replStatus(dests[0], types.ReplicationStatusComplete), replStatus(dests[1], types.ReplicationStatusComplete)}, nil
		})
		if err != nil || !res.OK() || res.Outcome() != ReplicationComplete {
			t.Fatalf("res %+v, err %v", res, err)
		}
		var uris []string
		for _, d := range res.Complete() {
			uris = append(uris, d.URI)
		}
		if diff := cmp.Diff([]string{west, china}, uris); diff != "" {
			t.Errorf("URIs (-want +got):\n%s", diff)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		res, _, err := waitReplicated(t, func(time.Duration) ([]types.ImageReplicationStatus, error) {
			return []types.ImageReplicationStatus{replStatus(dests[0], types.ReplicationStatusComplete)}, nil
		})
		if err != nil || res.OK() || !res.TimedOut || res.Outcome() != ReplicationTimedOut || res.Waited != time.Minute {
			t.Fatalf("res %+v, err %v", res, err)
		}
		if d := res.Destinations; len(d) != 2 || d[0].Status != string(types.ReplicationStatusComplete) || d[1].Status != "" || d[1].String() != "210987654321 in cn-north-1" {
			t.Errorf("destinations: %+v", d)
		}
		if c := res.Complete(); len(c) != 1 || c[0].URI != west {
			t.Errorf("complete: %+v", c)
		}
	})
	t.Run("failure waits for the others", func(t *testing.T) {
		res, _, err := waitReplicated(t, func(e time.Duration) ([]types.ImageReplicationStatus, error) {
			second := types.ReplicationStatusInProgress
			if e >= 7*time.Second {
				second = types.ReplicationStatusComplete
			}
			return []types.ImageReplicationStatus{replStatus(dests[0], types.ReplicationStatusFailed), replStatus(dests[1], second)}, nil
		})
		if err != nil || res.OK() || res.TimedOut || res.Outcome() != ReplicationFailed || res.Waited != 7*time.Second {
			t.Fatalf("res %+v, err %v", res, err)
		}
		if d := res.Destinations; len(d) != 2 || d[0].Status != string(types.ReplicationStatusFailed) || d[0].FailureCode != "REPLICATION_FAILED" || d[1].Status != string(types.ReplicationStatusComplete) {
			t.Errorf("destinations: %+v", d)
		}
		if c := res.Complete(); len(c) != 1 || c[0].URI != china {
			t.Errorf("complete: %+v", c)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		_, f, err := waitReplicated(t, func(time.Duration) ([]types.ImageReplicationStatus, error) {
			return nil, denied("DescribeImageReplicationStatus")
		})
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") || f.reads != 1 {
			t.Fatalf("err %v after %d reads", err, f.reads)
		}
	})
}
