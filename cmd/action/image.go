package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/build"
	"github.com/org/ecr-action/internal/clock"
	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/dockerengine"
	"github.com/org/ecr-action/internal/httpbound"
	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/settle"
	"github.com/org/ecr-action/internal/units"
)

// imageRun is an image push worked out before any write: the source is open,
// its digest known and every tag looked up.
type imageRun struct {
	reg *image.Client
	kc  *awsauth.Keychain
	// recovered is the retries and renewals logRecovery reported.
	recovered int
	art       *image.Artifact
	plan      *image.Plan
	res       *image.Result // after uploadImage
	attest    *attestation  // what attachReferrers attaches; nil for nothing
	tmp       string
	clk       clock.Clock // times the push and the tags
	client    *ecr.Client // reads the BLOB_MOUNTING account setting
}

func (r *imageRun) cleanup() {
	if r != nil && r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

// stepError is a failure with the annotation title to show.
type stepError struct {
	title string
	err   error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// prepareImage opens the image source and plans the push, reading only: the
// registry login, the source, the tags' current digests.
func prepareImage(ctx context.Context, clk clock.Clock, wf *report.Workflow, getenv func(string) string, cfg *config.Config, awsCfg aws.Config, client *ecr.Client, limits httpbound.Limits) (*imageRun, error) {
	login, err := awsauth.Login(ctx, client, wf.Mask)
	if err != nil {
		return nil, &stepError{"Registry login", fmt.Errorf("getting a registry token (ecr:GetAuthorizationToken): %w", err)}
	}
	// ECR reports its IPv4 registry host; the SDK's dual-stack and FIPS
	// settings, which already steer the API calls, steer the pushes too.
	endpoints, err := awsauth.EndpointsFromEnv(getenv)
	if err != nil {
		return nil, &stepError{"Registry", err}
	}
	if host, changed := awsauth.RegistryFor(login.Host, endpoints); changed {
		wf.Infof("pushing to %s rather than %s, as AWS_USE_DUALSTACK_ENDPOINT / AWS_USE_FIPS_ENDPOINT ask", host, login.Host)
		login.Host = host
	} else if h, ok := awsauth.ParseRegistryHost(login.Host); ok && endpoints.DualStack && !h.DualStack {
		wf.Warning("No dual-stack registry", fmt.Sprintf("AWS_USE_DUALSTACK_ENDPOINT is true, but ECR has no dual-stack registry host in %s (%s): pushing over IPv4 to %s.", h.Region, h.Suffix, login.Host))
	}
	regionAPI := func(region string) awsauth.TokenAPI {
		return ecr.NewFromConfig(awsCfg, func(o *ecr.Options) {
			o.Region = region
			o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), maxAttempts)
		})
	}
	// The keychain renews the registry token before it expires and when
	// the registry refuses it as expired, so a push may outlive a token.
	kc := awsauth.NewKeychain(login, regionAPI, wf.Mask, authn.DefaultKeychain, awsauth.WithPrimaryAPI(client), awsauth.WithClock(clk))
	reg, err := image.New(image.Options{Keychain: kc, Transport: kc.Transport(image.NewTransport(limits)), Logf: wf.Infof, UserAgent: "ecr-action",
		LookupTags: lookupTags(client), FindArchived: findArchived(client)})
	if err != nil {
		return nil, err
	}
	repo, err := name.NewRepository(login.Host + "/" + cfg.Repository)
	if err != nil {
		return nil, &stepError{"Registry", fmt.Errorf("registry %q from GetAuthorizationToken: %w", login.Host, err)}
	}
	tmp, err := os.MkdirTemp(getenv("RUNNER_TEMP"), "ecr-action-")
	if err != nil {
		return nil, err
	}
	run := &imageRun{reg: reg, kc: kc, tmp: tmp, clk: clk, client: client}
	var files []build.FileDigest
	art, retag, err := openImage(ctx, wf, getenv, cfg, reg, repo, tmp, &files)
	if err != nil {
		run.cleanup()
		return nil, err
	}
	run.art = art
	wf.Infof("image: %s, %s, %d layer(s), %s", art.Digest, platformsText(art.Platforms), art.Layers, units.Bytes(art.Size))
	target := image.Target{Repository: repo, Mutability: cfg.Mutability, Filters: cfg.MutabilityFilters}
	plan, err := reg.Plan(ctx, art, target, cfg.Image.Tags, retag)
	if err != nil {
		run.cleanup()
		var ite *image.ImmutableTagError
		if errors.As(err, &ite) {
			return nil, &stepError{"Immutable tag", err}
		}
		var aie *image.ArchivedImageError
		if errors.As(err, &aie) {
			return nil, &stepError{"Archived image", err}
		}
		return nil, &stepError{"Registry", explainRegistry(err)}
	}
	for _, t := range plan.Tags {
		line := fmt.Sprintf("tag %-20s %s", t.Tag, planWord(t.Action))
		if t.Previous != "" {
			line += " (now " + t.Previous + ")"
		}
		wf.Infof("%s", line)
	}
	run.plan = plan
	run.attest, err = prepareAttestation(cfg, getenv, imageArtifact{Source: art.Source, Digest: art.Digest.String(), Files: files}, repo.Name(), plan.Retag, clk.Now())
	if err != nil {
		run.cleanup()
		return nil, err
	}
	return run, nil
}

// manifestTypes are the manifest media types BatchGetImage may return as
// stored. Schema 1 is left out: asked for it, ECR converts a schema 2
// manifest, and the digest changes.
var manifestTypes = []string{
	string(types.DockerManifestSchema2), string(types.DockerManifestList),
	string(types.OCIManifestSchema1), string(types.OCIImageIndex),
}

// lookupTags finds what tags name in the target repository with ECR's
// BatchGetImage, 100 tags a call: one round trip where a registry HEAD per
// tag makes one each (a HEAD needs ecr:BatchGetImage too). A tag the call
// reports neither found nor missing is left to a registry HEAD; in a
// repository that does not exist yet, no tag exists.
func lookupTags(client *ecr.Client) func(context.Context, name.Repository, []string) (map[string]v1.Hash, []string, error) {
	return func(ctx context.Context, repo name.Repository, tags []string) (map[string]v1.Hash, []string, error) {
		found := map[string]v1.Hash{}
		var unsettled []string
		for chunk := range slices.Chunk(tags, 100) {
			ids := make([]ecrtypes.ImageIdentifier, len(chunk))
			for i, t := range chunk {
				ids[i] = ecrtypes.ImageIdentifier{ImageTag: aws.String(t)}
			}
			out, err := client.BatchGetImage(ctx, &ecr.BatchGetImageInput{
				RepositoryName: aws.String(repo.RepositoryStr()), ImageIds: ids, AcceptedMediaTypes: manifestTypes,
			})
			var notFound *ecrtypes.RepositoryNotFoundException
			if errors.As(err, &notFound) {
				// The run creates the repository later: no tag exists yet.
				return map[string]v1.Hash{}, nil, nil
			}
			if err != nil {
				return nil, nil, err
			}
			missing := map[string]bool{}
			for _, f := range out.Failures {
				if f.ImageId != nil && f.FailureCode == ecrtypes.ImageFailureCodeImageNotFound {
					missing[aws.ToString(f.ImageId.ImageTag)] = true
				}
			}
			for _, im := range out.Images {
				if im.ImageId == nil {
					continue
				}
				if h, err := v1.NewHash(aws.ToString(im.ImageId.ImageDigest)); err == nil && slices.Contains(chunk, aws.ToString(im.ImageId.ImageTag)) {
					found[aws.ToString(im.ImageId.ImageTag)] = h
				}
			}
			for _, t := range chunk {
				if _, ok := found[t]; !ok && !missing[t] {
					unsettled = append(unsettled, t)
				}
			}
		}
		return found, unsettled, nil
	}
}

// archivedPages bounds findArchived's listing: 10 pages of 100 archived
// images. Past that, refs on later pages are taken as not archived.
const archivedPages = 10

// findArchived lists the repository's archived images (DescribeImages with
// the imageStatus filter ARCHIVED: one call for up to 100) and returns the
// refs, tags or digests, that name one. The registry answers 404 for an
// archived image and BatchGetImage reports it as ImageNotFound, so this is
// how a missing image is told from an archived one.
func findArchived(client *ecr.Client) func(context.Context, name.Repository, []string) (map[string]v1.Hash, error) {
	return func(ctx context.Context, repo name.Repository, refs []string) (map[string]v1.Hash, error) {
		want := map[string]bool{}
		for _, r := range refs {
			want[r] = true
		}
		archived := map[string]v1.Hash{}
		in := &ecr.DescribeImagesInput{
			RepositoryName: aws.String(repo.RepositoryStr()),
			Filter:         &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterArchived},
			MaxResults:     aws.Int32(100),
		}
		for range archivedPages {
			out, err := client.DescribeImages(ctx, in)
			var notFound *ecrtypes.RepositoryNotFoundException
			if errors.As(err, &notFound) {
				return archived, nil
			}
			if err != nil {
				var api smithy.APIError
				if errors.As(err, &api) && strings.HasPrefix(api.ErrorCode(), "AccessDenied") {
					return nil, fmt.Errorf("ecr:DescribeImages was denied (%s); allow it to tell an archived image from a missing one", api.ErrorCode())
				}
				return nil, fmt.Errorf("listing archived images (ecr:DescribeImages): %w", err)
			}
			for _, d := range out.ImageDetails {
				h, err := v1.NewHash(aws.ToString(d.ImageDigest))
				if err != nil || d.ImageStatus == ecrtypes.ImageStatusActive {
					continue
				}
				if want[h.String()] {
					archived[h.String()] = h
				}
				for _, t := range d.ImageTags {
					if want[t] {
						archived[t] = h
					}
				}
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		return archived, nil
	}
}

func planWord(a image.TagAction) string {
	switch a {
	case image.TagPushed:
		return "new"
	case image.TagMoved:
		return "will move"
	}
	return string(a)
}

// openImage opens what the inputs name. retag is true for retag_from.
// files receives the digests of a build's files sources.
func openImage(ctx context.Context, wf *report.Workflow, getenv func(string) string, cfg *config.Config, reg *image.Client, repo name.Repository, tmp string, files *[]build.FileDigest) (*image.Artifact, bool, error) {
	im := cfg.Image
	archiveOpts := image.ArchiveOptions{TempDir: tmp, Logf: wf.Infof}
	var art *image.Artifact
	var err error
	switch {
	case im.RetagFrom != "":
		art, err = reg.Resolve(ctx, repo, im.RetagFrom)
		var aie *image.ArchivedImageError
		if errors.As(err, &aie) {
			return nil, false, &stepError{"Archived image", err}
		}
		if err != nil {
			return nil, false, &stepError{"Invalid input retag_from", explainRegistry(err)}
		}
		return art, true, nil
	case im.Build != nil:
		art, *files, err = buildImage(ctx, cfg, reg, tmp)
		if err != nil {
			return nil, false, &stepError{"Build", explainRegistry(err)}
		}
		return art, false, nil
	case im.Source != nil:
		s := im.Source
		switch s.Transport {
		case config.TransportOCI:
			art, err = image.OpenOCIIn(ctx, s.Path, s.Ref, []string{cfg.Workspace, getenv("RUNNER_TEMP")})
		case config.TransportDockerArchive:
			art, err = image.OpenArchive(ctx, s.Path, archiveOpts)
		case config.TransportDockerDaemon:
			var engine *dockerengine.Client
			engine, err = dockerengine.New(getenv("DOCKER_HOST"))
			if err == nil {
				art, err = image.OpenDaemon(ctx, engine, s.Ref, tmp, archiveOpts)
			}
		case config.TransportDocker:
			art, err = image.OpenRemote(ctx, reg.Puller(), s.Ref)
		default:
			err = fmt.Errorf("source transport %q is not supported", s.Transport)
		}
		if err != nil {
			return nil, false, &stepError{"Image source", explainRegistry(err)}
		}
		return art, false, nil
	}
	return nil, false, errors.New("no image input")
}

// uploadImage writes the image by digest, without tags, and reports it.
// fresh is a repository created during this run: the registry may answer
// NAME_UNKNOWN for a while after the create (ECR creates repositories
// asynchronously), so the upload is tried again with settle's bounded
// backoff; blobs already sent are not sent twice.
func uploadImage(ctx context.Context, wf *report.Workflow, run *imageRun, repoURI string, fresh bool) (*report.ImageSummary, error) {
	start := run.clk.Now()
	var res *image.Result
	upload := func() (err error) {
		res, err = run.reg.Upload(ctx, run.plan)
		return err
	}
	var err error
	if fresh {
		var st settle.Stats
		st, err = settle.Policy{Clock: run.clk}.Do(ctx, upload, image.IsNameUnknown)
		if st.Attempts > 1 {
			wf.Infof("registry: the new repository was not there yet (NAME_UNKNOWN); the upload was tried %d times over %.1f s", st.Attempts, st.Waited.Seconds())
		}
	} else {
		err = upload()
	}
	run.logRecovery(wf)
	if err != nil {
		return nil, &stepError{"Push failed", explainRegistry(err)}
	}
	run.res = res
	art := run.art
	sum := &report.ImageSummary{
		Source:         art.Source,
		Platforms:      art.Platforms,
		Size:           art.Size,
		Layers:         art.Layers,
		Digest:         res.Digest,
		URI:            repoURI + "@" + res.Digest,
		UploadedLayers: res.UploadedLayers,
		UploadedBytes:  res.UploadedBytes,
		MountedLayers:  res.MountedLayers,
		ExistingLayers: res.ExistingLayers,
		Retag:          run.plan.Retag,
		Seconds:        clock.Since(run.clk, start).Seconds(),
	}
	for _, t := range res.Tags {
		sum.Tags = append(sum.Tags, report.ImageTag{Tag: t.Tag, URI: repoURI + ":" + t.Tag, Action: t.Action, Previous: t.Previous})
	}
	switch {
	case run.plan.Writes() && run.plan.Retag:
		wf.Infof("%s is in the repository: no layer to move", res.Digest)
	case run.plan.Writes():
		wf.Infof("pushed %s by digest: %d of %d layer(s) uploaded (%s) in %.1f s; tags come after the scan gate", res.Digest, res.UploadedLayers, art.Layers, units.Bytes(res.UploadedBytes), sum.Seconds)
		wf.Infof("layers: %d uploaded, %d mounted from another repository, %d already in the repository", res.UploadedLayers, res.MountedLayers, res.ExistingLayers)
		if res.UnmountedLayers > 0 {
			sum.BlobMounting, sum.BlobMountingFix = blobMountingNote(ctx, run.client, res)
			wf.Infof("%s %s", sum.BlobMounting, sum.BlobMountingFix)
		}
	default:
		wf.Infof("every tag already names %s: nothing pushed", res.Digest)
	}
	return sum, nil
}

// putBlobMounting is the command that turns blob mounting on.
const putBlobMounting = "aws ecr put-account-setting --name BLOB_MOUNTING --value ENABLED"

// blobMountingNote explains why layers from another repository of the
// registry were uploaded rather than mounted, from the account setting
// BLOB_MOUNTING (ecr:GetAccountSetting; when that is denied, it says so).
// fix is the command that turns mounting on, when it may be off.
func blobMountingNote(ctx context.Context, client *ecr.Client, res *image.Result) (note, fix string) {
	what := fmt.Sprintf("%d layer(s) from %s were uploaded, not mounted", res.UnmountedLayers, strings.Join(res.MountSources, ", "))
	out, err := client.GetAccountSetting(ctx, &ecr.GetAccountSettingInput{Name: aws.String("BLOB_MOUNTING")})
	var api smithy.APIError
	switch {
	case err != nil && errors.As(err, &api) && strings.HasPrefix(api.ErrorCode(), "AccessDenied"):
		return what + "; whether the account setting BLOB_MOUNTING is on could not be checked (ecr:GetAccountSetting was denied). ECR mounts layers across repositories only when it is ENABLED; to turn it on:", putBlobMounting
	case err != nil:
		return fmt.Sprintf("%s; reading the account setting BLOB_MOUNTING failed (%v). ECR mounts layers across repositories only when it is ENABLED; to turn it on:", what, err), putBlobMounting
	case aws.ToString(out.Value) == "ENABLED":
		return what + " although the account setting BLOB_MOUNTING is ENABLED: ECR mounts only between repositories with the same encryption (type and KMS key), and only layers an image in the source repository references.", ""
	}
	return fmt.Sprintf("%s: the account setting BLOB_MOUNTING is %s, so ECR copies every layer between repositories. To mount them instead, turn it on:", what, cmpOr(aws.ToString(out.Value), "DISABLED")), putBlobMounting
}

func cmpOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// tagImage writes the tags the plan changes, once the gate let it.
func tagImage(ctx context.Context, wf *report.Workflow, run *imageRun, sum *report.ImageSummary) error {
	if !run.plan.Writes() {
		return nil
	}
	start := run.clk.Now()
	err := run.reg.Tag(ctx, run.plan)
	run.logRecovery(wf)
	if err != nil {
		var ite *image.ImmutableTagError
		if errors.As(err, &ite) {
			return &stepError{"Immutable tag", err}
		}
		return &stepError{"Push failed", explainRegistry(err)}
	}
	sum.Seconds += clock.Since(run.clk, start).Seconds()
	n := 0
	for _, t := range run.plan.Tags {
		if t.Action != image.TagUnchanged {
			n++
		}
	}
	if run.plan.Retag {
		wf.Infof("retagged %s in place: %d tag(s) written, no layer moved", sum.Digest, n)
	} else {
		wf.Infof("%d tag(s) written for %s", n, sum.Digest)
	}
	return nil
}

// logRecovery says what the push had to recover from, when anything:
// retried registry requests and renewed registry tokens.
func (r *imageRun) logRecovery(wf *report.Workflow) {
	retries, renewals := r.reg.Retries(), r.kc.Renewals()
	if retries+renewals > r.recovered {
		r.recovered = retries + renewals
		wf.Infof("registry: %d failed request(s) retried, registry token renewed %d time(s), %d request(s) sent again after the registry refused an expired token", retries, renewals, r.kc.Resent())
	}
}

// withholdTags marks the tags the run would have written as withheld: the
// image stays in the repository by digest only.
func withholdTags(sum *report.ImageSummary) {
	for i, t := range sum.Tags {
		if t.Action != image.TagUnchanged {
			sum.Tags[i].Action = image.TagWithheld
		}
	}
}

// explainRegistry adds what to do to registry errors that need it.
func explainRegistry(err error) error {
	var re *image.RetriesExhaustedError
	if errors.As(err, &re) {
		return fmt.Errorf("%w\n\nThe registry kept failing through %d attempts with backoff; no tag was written. Re-run the job; if it fails again, check the AWS Health Dashboard for ECR in this region and any proxy between the runner and the registry", err, re.Attempts)
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		if action, why := registryDeniedAction(te); action != "" {
			return fmt.Errorf("%w\n\nThe credentials lack %s on the repository%s. Add it to the role's policy (the README lists the minimal policy)", err, action, why)
		}
		return fmt.Errorf("%w\n\nThe registry refused the credentials. Pushing needs ecr:GetAuthorizationToken, ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage and ecr:BatchGetImage on the repository (the README lists the policy); a private source registry needs its own login", err)
	case http.StatusTooManyRequests:
		return fmt.Errorf("%w\n\nThe registry kept rate-limiting after retries; re-run the job", err)
	}
	return err
}

// registryDeniedAction is the IAM action a registry 403 is about: the one
// ECR's DENIED message names, or for a HEAD (whose answer has no body) the
// action ECR checks for it, with why it may be something else.
func registryDeniedAction(te *transport.Error) (action, why string) {
	if te.StatusCode != http.StatusForbidden {
		return "", ""
	}
	for _, d := range te.Errors {
		if a := deniedAction(d.Message); a != "" {
			return a, ""
		}
	}
	if te.Request == nil || te.Request.Method != http.MethodHead {
		return "", ""
	}
	const headWhy = ", or the registry token expired (a HEAD answer carries no reason)"
	switch p := te.Request.URL.Path; {
	case strings.Contains(p, "/blobs/"):
		return "ecr:BatchCheckLayerAvailability", headWhy
	case strings.Contains(p, "/manifests/"):
		return "ecr:BatchGetImage", headWhy
	}
	return "", ""
}

// deniedAction returns the IAM action an AWS AccessDenied message names
// ("User: … is not authorized to perform: ecr:TagResource on resource: …"),
// or "".
func deniedAction(msg string) string {
	_, rest, ok := strings.Cut(msg, "is not authorized to perform: ")
	if !ok {
		return ""
	}
	action, _, _ := strings.Cut(rest, " ")
	return action
}

func platformsText(ps []string) string {
	if len(ps) == 0 {
		return "platform unknown"
	}
	return strings.Join(ps, ", ")
}
