package action

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/clock"
	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/diagnose"
	"github.com/org/ecr-action/internal/dockerengine"
	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/settle"
	"github.com/org/ecr-action/internal/units"
)

// imageRun is the image part of the run's state: the push worked out
// before any write (the source open, its digest known, every tag looked
// up), then what the push, the referrers and the tags did.
type imageRun struct {
	reg *image.Client
	kc  *awsauth.Keychain
	// recovered is the retries and renewals logRecovery reported.
	recovered int
	art       *image.Artifact
	plan      *image.Plan
	attest    *attestation // what the referrers phase attaches; nil for nothing
	built     built        // what a build tells the provenance (files' digests, the base image)
	tmp       string

	// after the push
	pushed          *image.Result
	pushTime        time.Duration
	blobMounting    string
	blobMountingFix string
	referrers       []report.Referrer // the SBOM and provenance, attached or found
	// after the tags phase
	tagTime  time.Duration
	withheld bool // the gate did not pass: the tags the plan writes were not written
}

// prepareImage opens the image source and plans the push, reading only: the
// registry login, the source, the tags' current digests.
func (r *run) prepareImage(ctx context.Context) error {
	if r.cfg.Image == nil {
		return nil
	}
	end := r.wf.Group("Image")
	err := r.openAndPlan(ctx)
	end()
	if err != nil {
		return r.fail(ctx, diagnose.OpenImage, err)
	}
	return nil
}

func (r *run) openAndPlan(ctx context.Context) error {
	target, err := r.registry(ctx)
	if err != nil {
		return err
	}
	img := r.img
	art, retag, err := r.openImage(ctx, target)
	if err != nil {
		return err
	}
	img.art = art
	r.wf.Infof("image: %s, %s, %d layer(s), %s", art.Digest, platformsText(art.Platforms), art.Layers, units.Bytes(art.Size))
	plan, err := img.reg.Plan(ctx, art, image.Target{Repository: target, Mutability: r.cfg.Mutability, Filters: r.cfg.MutabilityFilters}, r.cfg.Image.Tags, retag)
	if err != nil {
		var ite *image.ImmutableTagError
		if errors.As(err, &ite) {
			return &diagnose.StepError{Kind: diagnose.ImmutableTag, Err: err}
		}
		var aie *image.ArchivedImageError
		if errors.As(err, &aie) {
			return &diagnose.StepError{Kind: diagnose.ArchivedImage, Err: err}
		}
		return &diagnose.StepError{Kind: diagnose.PlanTags, Err: err}
	}
	for _, t := range plan.Tags {
		line := fmt.Sprintf("tag %-20s %s", t.Tag, planWord(t.Action))
		if t.Previous != "" {
			line += " (now " + t.Previous + ")"
		}
		r.wf.Infof("%s", line)
	}
	img.plan = plan
	img.attest, err = prepareAttestation(r.cfg, r.getenv, r.env.Version, imageArtifact{Source: art.Source, Digest: art.Digest.String(), Built: img.built}, target.Name(), plan.Retag, r.clk.Now())
	return err
}

// registry logs in to the registry and makes the client the image steps
// push through, and returns the repository the image goes to: the
// registry host of the login (or its dual-stack or FIPS form) and the
// repository input.
func (r *run) registry(ctx context.Context) (name.Repository, error) {
	login, err := awsauth.Login(ctx, r.client, r.wf.Mask)
	if err != nil {
		return name.Repository{}, &diagnose.StepError{Kind: diagnose.RegistryLogin, Subject: "getting a registry token (ecr:GetAuthorizationToken)", Err: err}
	}
	// ECR reports its IPv4 registry host; the SDK's dual-stack and FIPS
	// settings, which already steer the API calls, steer the pushes too.
	endpoints, err := awsauth.EndpointsFromEnv(r.getenv)
	if err != nil {
		return name.Repository{}, &diagnose.StepError{Kind: diagnose.RegistryEndpoints, Err: err}
	}
	if host, changed := awsauth.RegistryFor(login.Host, endpoints); changed {
		r.wf.Infof("pushing to %s rather than %s, as AWS_USE_DUALSTACK_ENDPOINT / AWS_USE_FIPS_ENDPOINT ask", host, login.Host)
		login.Host = host
	} else if h, ok := awsauth.ParseRegistryHost(login.Host); ok && endpoints.DualStack && !h.DualStack {
		r.wf.Warning("No dual-stack registry", fmt.Sprintf("AWS_USE_DUALSTACK_ENDPOINT is true, but ECR has no dual-stack registry host in %s (%s): pushing over IPv4 to %s.", h.Region, h.Suffix, login.Host))
	}
	regionAPI := func(region string) awsauth.TokenAPI {
		return ecr.NewFromConfig(r.awsCfg, func(o *ecr.Options) {
			o.Region = region
			o.Retryer = awsauth.NewTokenRetryer()
		})
	}
	// The keychain renews the registry token before it expires and when
	// the registry refuses it as expired, so a push may outlive a token.
	kc := awsauth.NewKeychain(login, regionAPI, r.wf.Mask, authn.DefaultKeychain, awsauth.WithPrimaryAPI(r.client), awsauth.WithClock(r.clk))
	reg, err := image.New(image.Options{Keychain: kc, Transport: kc.Transport(image.NewTransport(r.limits)), Logf: r.wf.Infof, UserAgent: "ecr-action",
		LookupTags: lookupTags(r.client), FindArchived: findArchived(r.client)})
	if err != nil {
		return name.Repository{}, err
	}
	target, err := name.NewRepository(login.Host + "/" + r.cfg.Repository)
	if err != nil {
		return name.Repository{}, &diagnose.StepError{Kind: diagnose.RegistryHost, Subject: fmt.Sprintf("registry %q from GetAuthorizationToken", login.Host), Err: err}
	}
	tmp, err := os.MkdirTemp(r.getenv("RUNNER_TEMP"), "ecr-action-")
	if err != nil {
		return name.Repository{}, err
	}
	r.img = &imageRun{reg: reg, kc: kc, tmp: tmp}
	return target, nil
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
func (r *run) openImage(ctx context.Context, target name.Repository) (*image.Artifact, bool, error) {
	im, reg, tmp := r.cfg.Image, r.img.reg, r.img.tmp
	switch {
	case im.RetagFrom != "":
		art, err := reg.Resolve(ctx, target, im.RetagFrom)
		var aie *image.ArchivedImageError
		if errors.As(err, &aie) {
			return nil, false, &diagnose.StepError{Kind: diagnose.ArchivedImage, Err: err}
		}
		if err != nil {
			return nil, false, &diagnose.StepError{Kind: diagnose.RetagFrom, Err: err}
		}
		return art, true, nil
	case im.Build != nil:
		art, info, err := buildImage(ctx, r.cfg, reg, tmp)
		if err != nil {
			return nil, false, &diagnose.StepError{Kind: diagnose.Build, Err: err}
		}
		r.img.built = info
		return art, false, nil
	case im.Source != nil:
		art, err := r.openSource(ctx, im.Source)
		if err != nil {
			return nil, false, &diagnose.StepError{Kind: diagnose.ImageSource, Err: err}
		}
		return art, false, nil
	}
	return nil, false, errors.New("no image input")
}

// openSource opens the source input, by its transport.
func (r *run) openSource(ctx context.Context, s *config.Source) (*image.Artifact, error) {
	archiveOpts := image.ArchiveOptions{TempDir: r.img.tmp, Logf: r.wf.Infof}
	switch s.Transport {
	case config.TransportOCI:
		return image.OpenOCIIn(ctx, s.Path, s.Ref, []string{r.cfg.Workspace, r.getenv("RUNNER_TEMP")})
	case config.TransportDockerArchive:
		return image.OpenArchive(ctx, s.Path, archiveOpts)
	case config.TransportDockerDaemon:
		engine, err := dockerengine.New(r.getenv("DOCKER_HOST"))
		if err != nil {
			return nil, err
		}
		return image.OpenDaemon(ctx, engine, s.Ref, r.img.tmp, archiveOpts)
	case config.TransportDocker:
		return image.OpenRemote(ctx, r.img.reg.Puller(), s.Ref)
	}
	return nil, fmt.Errorf("source transport %q is not supported", s.Transport)
}

// push writes the image by digest, without tags. A repository created
// during this run may answer NAME_UNKNOWN for a while after the create
// (ECR creates repositories asynchronously), so the upload is tried again
// with settle's bounded backoff; blobs already sent are not sent twice.
func (r *run) push(ctx context.Context) error {
	if r.img == nil {
		return nil
	}
	end := r.wf.Group("Push " + r.repo.URI)
	err := r.upload(ctx)
	end()
	if err != nil {
		return r.fail(ctx, diagnose.Push, err)
	}
	return nil
}

func (r *run) upload(ctx context.Context) error {
	img := r.img
	start := r.clk.Now()
	var res *image.Result
	upload := func() (err error) {
		res, err = img.reg.Upload(ctx, img.plan)
		return err
	}
	var err error
	if r.res.Fresh {
		var st settle.Stats
		st, err = settle.Policy{Clock: r.clk}.Do(ctx, upload, image.IsNameUnknown)
		if st.Attempts > 1 {
			r.wf.Infof("registry: the new repository was not there yet (NAME_UNKNOWN); the upload was tried %d times over %.1f s", st.Attempts, st.Waited.Seconds())
		}
	} else {
		err = upload()
	}
	img.logRecovery(r.wf)
	if err != nil {
		return &diagnose.StepError{Kind: diagnose.PushImage, Err: err}
	}
	img.pushed, img.pushTime = res, clock.Since(r.clk, start)
	art := img.art
	switch {
	case img.plan.Writes() && img.plan.Retag:
		r.wf.Infof("%s is in the repository: no layer to move", res.Digest)
	case img.plan.Writes():
		r.wf.Infof("pushed %s by digest: %d of %d layer(s) uploaded (%s) in %.1f s; tags come after the scan gate", res.Digest, res.UploadedLayers, art.Layers, units.Bytes(res.UploadedBytes), img.pushTime.Seconds())
		r.wf.Infof("layers: %d uploaded, %d mounted from another repository, %d already in the repository", res.UploadedLayers, res.MountedLayers, res.ExistingLayers)
		if res.UnmountedLayers > 0 {
			img.blobMounting, img.blobMountingFix = blobMountingNote(ctx, r.client, res)
			r.wf.Infof("%s %s", img.blobMounting, img.blobMountingFix)
		}
	default:
		r.wf.Infof("every tag already names %s: nothing pushed", res.Digest)
	}
	return nil
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

// tags writes the tags the plan changes, once the gate let them; when it
// did not, the tags are withheld and the image stays by digest only.
// Tags come last: a tag never names an image the gate failed.
func (r *run) tags(ctx context.Context) error {
	img := r.img
	if img == nil {
		return nil
	}
	if !r.scanPassed() || !r.gates.signed() {
		if img.plan.Writes() {
			img.withheld = true
			r.wf.Infof("no tag written: %s, so %s stays in the repository by digest only", r.gates.withheld(r.scanPassed()), img.pushed.Digest)
		}
		return nil
	}
	end := r.wf.Group("Tags")
	err := r.writeTags(ctx)
	end()
	if err != nil {
		return r.fail(ctx, diagnose.Tags, err)
	}
	r.tagged = true
	return nil
}

func (r *run) writeTags(ctx context.Context) error {
	img := r.img
	if !img.plan.Writes() {
		return nil
	}
	start := r.clk.Now()
	err := img.reg.Tag(ctx, img.plan)
	img.logRecovery(r.wf)
	if err != nil {
		var ite *image.ImmutableTagError
		if errors.As(err, &ite) {
			return &diagnose.StepError{Kind: diagnose.ImmutableTag, Err: err}
		}
		return &diagnose.StepError{Kind: diagnose.PushImage, Err: err}
	}
	img.tagTime = clock.Since(r.clk, start)
	n := 0
	for _, t := range img.plan.Tags {
		if t.Action != image.TagUnchanged {
			n++
		}
	}
	if img.plan.Retag {
		r.wf.Infof("retagged %s in place: %d tag(s) written, no layer moved", img.pushed.Digest, n)
	} else {
		r.wf.Infof("%d tag(s) written for %s", n, img.pushed.Digest)
	}
	return nil
}

// logRecovery says what the push had to recover from, when anything:
// retried registry requests and renewed registry tokens.
func (img *imageRun) logRecovery(wf *report.Workflow) {
	retries, renewals := img.reg.Retries(), img.kc.Renewals()
	if retries+renewals > img.recovered {
		img.recovered = retries + renewals
		wf.Infof("registry: %d failed request(s) retried, registry token renewed %d time(s), %d request(s) sent again after the registry refused an expired token", retries, renewals, img.kc.Resent())
	}
}

// imageSummary is the image's part of the outputs and the summary, built
// once from the run's state after the tags phase.
func (r *run) imageSummary() *report.ImageSummary {
	img := r.img
	if img == nil {
		return nil
	}
	art, res, uri := img.art, img.pushed, r.repo.URI
	sum := &report.ImageSummary{
		Source:          art.Source,
		Platforms:       art.Platforms,
		Size:            art.Size,
		Layers:          art.Layers,
		Digest:          res.Digest,
		URI:             uri + "@" + res.Digest,
		UploadedLayers:  res.UploadedLayers,
		UploadedBytes:   res.UploadedBytes,
		MountedLayers:   res.MountedLayers,
		ExistingLayers:  res.ExistingLayers,
		BlobMounting:    img.blobMounting,
		BlobMountingFix: img.blobMountingFix,
		Retag:           img.plan.Retag,
		Seconds:         img.pushTime.Seconds() + img.tagTime.Seconds(),
	}
	for _, t := range res.Tags {
		action := t.Action
		if img.withheld && t.Action != image.TagUnchanged {
			action = image.TagWithheld
		}
		sum.Tags = append(sum.Tags, report.ImageTag{Tag: t.Tag, URI: uri + ":" + t.Tag, Action: action, Previous: t.Previous})
	}
	return sum
}

func platformsText(ps []string) string {
	if len(ps) == 0 {
		return "platform unknown"
	}
	return strings.Join(ps, ", ")
}
