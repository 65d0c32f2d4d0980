package action

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/diagnose"
	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/provenance"
	"github.com/org/ecr-action/internal/referrer"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/sbom"
)

// The SBOM and the provenance statement are attached to the pushed image as
// OCI referrers (internal/referrer), after the image is uploaded by digest
// and before any tag is written, so a tag never names an image without
// them. A retag pushes no image and attaches nothing: the image keeps the
// referrers it was pushed with.
//
// A re-run must not pile up referrers: the provenance names the run, so
// its bytes differ on every run. Before pushing, the image's referrers are
// listed (the referrers API; ECR checks ecr:BatchGetImage) and a kind
// (artifactType) the image already has is not pushed again; its digest is
// reported instead.

// signingNote is the summary's word on signing: the documents are unsigned.
const signingNote = "The SBOM and the provenance are unsigned. To sign them, run `cosign attest` or `notation sign` against the image digest (see the README)."

// attestation is what the image phase works out for the referrers before any
// write: the provenance statement is checked then, so a run outside GitHub
// Actions fails before it changes anything.
type attestation struct {
	sbom       bool
	provenance *provenance.Input // nil when provenance is off
	tool       string            // the SBOM's creator, "ecr-action-v1.2.3"
}

// prepareAttestation checks what the referrers need. It returns nil when
// the run attaches nothing (both inputs false, or a retag).
func prepareAttestation(cfg *config.Config, getenv func(string) string, version string, art imageArtifact, repoName string, retag bool, started time.Time) (*attestation, error) {
	if retag || (!cfg.SBOM && !cfg.Provenance) {
		return nil, nil
	}
	a := &attestation{sbom: cfg.SBOM, tool: "ecr-action-" + version}
	if !cfg.Provenance {
		return a, nil
	}
	in := provenanceInput(cfg, getenv, version, art, repoName, started)
	// Checked now with the start time as the finish time: New fails on a
	// missing or malformed GitHub context, which a later time cannot fix.
	in.FinishedOn = started
	if _, err := provenance.New(in); err != nil {
		return nil, &diagnose.StepError{Kind: diagnose.ProvenanceContext, Err: err}
	}
	a.provenance = &in
	return a, nil
}

// imageArtifact is what provenanceInput reads of the opened image.
type imageArtifact struct {
	Source string
	Digest string
	Built  built // a build's files sources and base image; zero for other inputs
}

// provenanceInput gathers the statement's input from the GitHub context
// (the runner's GITHUB_* and RUNNER_* variables) and the inputs that shaped
// the image; version names the action when it runs as a local action. The
// image's own environment values are left out (only their names go in):
// they may hold what a workflow treats as a secret.
func provenanceInput(cfg *config.Config, getenv func(string) string, version string, art imageArtifact, repoName string, started time.Time) provenance.Input {
	actionRepo, actionRef := getenv("GITHUB_ACTION_REPOSITORY"), getenv("GITHUB_ACTION_REF")
	if actionRepo == "" {
		// A local action (uses: ./) has neither: name the project.
		actionRepo = "org/ecr-action"
	}
	if actionRef == "" {
		actionRef = version
	}
	in := provenance.Input{
		GitHub: provenance.GitHub{
			ServerURL:         getenv("GITHUB_SERVER_URL"),
			Repository:        getenv("GITHUB_REPOSITORY"),
			RepositoryID:      getenv("GITHUB_REPOSITORY_ID"),
			RepositoryOwnerID: getenv("GITHUB_REPOSITORY_OWNER_ID"),
			Ref:               getenv("GITHUB_REF"),
			SHA:               getenv("GITHUB_SHA"),
			EventName:         getenv("GITHUB_EVENT_NAME"),
			WorkflowRef:       getenv("GITHUB_WORKFLOW_REF"),
			RunID:             getenv("GITHUB_RUN_ID"),
			RunAttempt:        getenv("GITHUB_RUN_ATTEMPT"),
			RunnerOS:          getenv("RUNNER_OS"),
			RunnerArch:        getenv("RUNNER_ARCH"),
			RunnerEnvironment: getenv("RUNNER_ENVIRONMENT"),
		},
		Action:    provenance.Action{Repository: actionRepo, Version: actionRef},
		Subjects:  []provenance.Subject{{Name: repoName, Digest: art.Digest}},
		Inputs:    map[string]string{},
		StartedOn: started,
	}
	for _, name := range []string{"source", "base_image", "files", "entrypoint", "cmd", "workdir", "labels", "platforms"} {
		if v := strings.TrimSpace(getenv(config.EnvName(name))); v != "" {
			in.Inputs[name] = v
		}
	}
	if im := cfg.Image; im != nil && im.Build != nil && len(im.Build.Env) > 0 {
		var names []string
		for _, kv := range im.Build.Env {
			k, _, _ := strings.Cut(kv, "=")
			names = append(names, k)
		}
		in.Inputs["env"] = "names only: " + strings.Join(names, ", ")
	}
	if len(cfg.Image.Tags) > 0 {
		in.Inputs["tags"] = strings.Join(cfg.Image.Tags, ",")
	}
	// The base image: the one a build started from, or the image a
	// docker:// source copied.
	switch {
	case art.Built.baseDigest != "":
		in.BaseImages = append(in.BaseImages, provenance.Dependency{URI: art.Built.baseRef, Digest: art.Built.baseDigest})
	case strings.HasPrefix(art.Source, "docker://"):
		in.BaseImages = append(in.BaseImages, provenance.Dependency{URI: strings.TrimPrefix(art.Source, "docker://"), Digest: art.Digest})
	}
	// The files sources' digests, from the build's own pass over them.
	for _, f := range art.Built.files {
		in.Files = append(in.Files, provenance.Dependency{URI: f.Path, Digest: f.Digest.String(), Dir: f.Dir})
	}
	return in
}

// sbomOutput is the sbom_digest output: the digest for one image, or one
// platform=digest line per platform of an index.
func sbomOutput(referrers []report.Referrer, index bool) string {
	var lines []string
	for _, x := range referrers {
		if x.Kind != "SBOM" {
			continue
		}
		if index {
			lines = append(lines, x.Platform+"="+x.Digest)
		} else {
			lines = append(lines, x.Digest)
		}
	}
	return strings.Join(lines, "\n")
}

// provenanceOutput is the provenance_digest output.
func provenanceOutput(referrers []report.Referrer) string {
	for _, x := range referrers {
		if x.Kind == "Provenance" {
			return x.Digest
		}
	}
	return ""
}

// subject is one manifest a referrer can refer to.
type subject struct {
	desc     v1.Descriptor
	platform v1.Platform
	img      v1.Image
}

// subjects returns the pushed image's platform manifests (one for an image,
// each image of an index) and the top manifest's descriptor.
func subjects(art *image.Artifact) (top v1.Descriptor, subs []subject, err error) {
	if art.Image != nil {
		raw, err := art.Image.RawManifest()
		if err != nil {
			return top, nil, err
		}
		top = v1.Descriptor{MediaType: art.MediaType, Digest: art.Digest, Size: int64(len(raw))}
		cf, err := art.Image.ConfigFile()
		if err != nil {
			return top, nil, fmt.Errorf("reading the image config: %w", err)
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}
		return top, []subject{{desc: top, platform: p, img: art.Image}}, nil
	}
	raw, err := art.Index.RawManifest()
	if err != nil {
		return top, nil, err
	}
	top = v1.Descriptor{MediaType: art.MediaType, Digest: art.Digest, Size: int64(len(raw))}
	im, err := art.Index.IndexManifest()
	if err != nil {
		return top, nil, err
	}
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		// Attestation manifests BuildKit adds (platform unknown/unknown)
		// describe no runnable image.
		if d.Platform != nil && d.Platform.OS == "unknown" {
			continue
		}
		img, err := art.Index.Image(d.Digest)
		if err != nil {
			return top, nil, fmt.Errorf("opening %s of the index: %w", d.Digest, err)
		}
		var p v1.Platform
		if d.Platform != nil {
			p = *d.Platform
		}
		desc := v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
		subs = append(subs, subject{desc: desc, platform: p, img: img})
	}
	return top, subs, nil
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	if s == "/" {
		return "unknown"
	}
	return s
}

// referrers attaches the SBOM and the provenance to the pushed image, by
// digest, before any tag: a tag never names an image without them.
func (r *run) referrers(ctx context.Context) error {
	if r.img == nil || r.img.attest == nil {
		return nil
	}
	end := r.wf.Group("SBOM and provenance")
	err := r.attach(ctx)
	end()
	if err != nil {
		return r.fail(ctx, diagnose.Referrers, err)
	}
	return nil
}

// attach pushes the SBOM (one per platform) and the provenance as
// referrers of the uploaded image, by digest, skipping a kind the image
// already has. Any failure fails the run before the tags.
func (r *run) attach(ctx context.Context) error {
	img := r.img
	top, subs, err := subjects(img.art)
	if err != nil {
		return &diagnose.StepError{Kind: diagnose.SBOM, Err: err}
	}
	a := &attacher{wf: r.wf, img: img, repo: img.plan.Target.Repository, existing: map[v1.Hash][]v1.Descriptor{}}
	if img.attest.sbom {
		for _, s := range subs {
			ref, err := a.sbom(ctx, s, img.attest.tool)
			if err != nil {
				return err
			}
			img.referrers = append(img.referrers, ref)
		}
	}
	if img.attest.provenance != nil {
		ref, err := a.provenance(ctx, top, subs, *img.attest.provenance, r.clk.Now())
		if err != nil {
			return err
		}
		img.referrers = append(img.referrers, ref)
	}
	return nil
}

// attacher pushes the referrers of one image, listing each subject's
// existing referrers once.
type attacher struct {
	wf       *report.Workflow
	img      *imageRun
	repo     name.Repository
	existing map[v1.Hash][]v1.Descriptor
}

// find returns the referrer of artifactType that d already has, if any.
func (a *attacher) find(ctx context.Context, d v1.Hash, artifactType string) (v1.Descriptor, bool, error) {
	l, ok := a.existing[d]
	if !ok {
		var err error
		l, err = a.img.reg.Referrers(ctx, a.repo, d)
		a.img.logRecovery(a.wf)
		if err != nil {
			return v1.Descriptor{}, false, &diagnose.StepError{Kind: diagnose.ListReferrers, Err: err}
		}
		a.existing[d] = l
	}
	i := slices.IndexFunc(l, func(d v1.Descriptor) bool { return d.ArtifactType == artifactType })
	if i < 0 {
		return v1.Descriptor{}, false, nil
	}
	return l[i], true, nil
}

// push packs doc as a referrer of sub and pushes it by digest.
func (a *attacher) push(ctx context.Context, kind diagnose.StepKind, name string, sub v1.Descriptor, artifactType, title string, doc []byte) (string, error) {
	art, err := referrer.New(sub, artifactType, doc, referrer.Options{Title: title})
	if err != nil {
		return "", &diagnose.StepError{Kind: kind, Err: err}
	}
	d, err := a.img.reg.PushArtifact(ctx, a.repo, art)
	a.img.logRecovery(a.wf)
	if err != nil {
		return "", &diagnose.StepError{Kind: diagnose.PushReferrer, Subject: fmt.Sprintf("pushing the %s referrer of %s", name, sub.Digest), Err: err}
	}
	return d.String(), nil
}

// sbom attaches the SBOM of one platform image, unless it has one.
func (a *attacher) sbom(ctx context.Context, s subject, tool string) (report.Referrer, error) {
	plat := platformString(s.platform)
	r := report.Referrer{Kind: "SBOM", Platform: plat, Subject: s.desc.Digest.String()}
	d, ok, err := a.find(ctx, s.desc.Digest, referrer.SPDXJSON)
	if err != nil {
		return r, err
	}
	if ok {
		r.Digest, r.Existing = d.Digest.String(), true
		a.wf.Infof("SBOM of %s (%s): already attached as %s", s.desc.Digest, plat, r.Digest)
		return r, nil
	}
	doc, detail, err := generateSBOM(ctx, s, a.repo.Name(), tool)
	if err != nil {
		return r, err
	}
	r.Detail = detail
	if r.Digest, err = a.push(ctx, diagnose.SBOM, "SBOM", s.desc, referrer.SPDXJSON, "sbom.spdx.json", doc); err != nil {
		return r, err
	}
	a.wf.Infof("SBOM of %s (%s): %s, attached as %s", s.desc.Digest, plat, detail, r.Digest)
	return r, nil
}

// provenance attaches the provenance statement to the top manifest, unless
// it has one; now is the statement's finish time.
func (a *attacher) provenance(ctx context.Context, top v1.Descriptor, subs []subject, in provenance.Input, now time.Time) (report.Referrer, error) {
	r := report.Referrer{Kind: "Provenance", Subject: top.Digest.String(), Detail: "SLSA v1, run " + in.GitHub.RunID + " attempt " + in.GitHub.RunAttempt}
	if len(subs) == 1 && top.Digest == subs[0].desc.Digest {
		r.Platform = platformString(subs[0].platform)
	}
	d, ok, err := a.find(ctx, top.Digest, referrer.InTotoJSON)
	if err != nil {
		return r, err
	}
	if ok {
		r.Digest, r.Existing, r.Detail = d.Digest.String(), true, "SLSA v1, from an earlier run"
		a.wf.Infof("provenance of %s: already attached as %s", top.Digest, r.Digest)
		return r, nil
	}
	in.FinishedOn = now
	if in.FinishedOn.Before(in.StartedOn) {
		in.FinishedOn = in.StartedOn
	}
	st, err := provenance.New(in)
	if err != nil {
		return r, &diagnose.StepError{Kind: diagnose.Provenance, Err: err}
	}
	doc, err := st.Encode()
	if err != nil {
		return r, &diagnose.StepError{Kind: diagnose.Provenance, Err: err}
	}
	if r.Digest, err = a.push(ctx, diagnose.Provenance, "Provenance", top, referrer.InTotoJSON, "provenance.intoto.json", doc); err != nil {
		return r, err
	}
	a.wf.Infof("provenance of %s: attached as %s", top.Digest, r.Digest)
	return r, nil
}

// generateSBOM reads one platform's layers once and writes its SPDX
// document. The creation time is the image config's, so the same image
// gives the same document, and the same referrer digest, on every run; an
// image whose config has none gets the Unix epoch.
func generateSBOM(ctx context.Context, s subject, repoName, tool string) ([]byte, string, error) {
	fail := func(err error) ([]byte, string, error) {
		return nil, "", &diagnose.StepError{Kind: diagnose.SBOMContents, Subject: fmt.Sprintf("SBOM of %s (%s)", s.desc.Digest, platformString(s.platform)), Err: err}
	}
	cf, err := s.img.ConfigFile()
	if err != nil {
		return fail(fmt.Errorf("reading the image config: %w", err))
	}
	created := cf.Created.Time
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	b, inv, err := sbom.Generate(ctx, s.img, s.platform, sbom.Options{Created: created.UTC(), Tool: tool, Repository: repoName})
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return fail(err)
	}
	mods := 0
	for _, g := range inv.GoBinaries {
		mods += 1 + len(g.Deps)
	}
	detail := fmt.Sprintf("%d OS package(s), %d Go binary(ies) with %d module(s)", len(inv.Packages), len(inv.GoBinaries), mods)
	return b, detail, nil
}
