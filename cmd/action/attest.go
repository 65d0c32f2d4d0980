package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/org/ecr-action/internal/build"
	"github.com/org/ecr-action/internal/config"
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

// attestation is what prepareImage works out for the referrers before any
// write: the provenance statement is checked then, so a run outside GitHub
// Actions fails before it changes anything.
type attestation struct {
	sbom       bool
	provenance *provenance.Input // nil when provenance is off
	tool       string            // the SBOM's creator, "ecr-action-v1.2.3"
}

// prepareAttestation checks what the referrers need. It returns nil when
// the run attaches nothing (both inputs false, or a retag).
func prepareAttestation(cfg *config.Config, getenv func(string) string, art imageArtifact, repoName string, retag bool, started time.Time) (*attestation, error) {
	if retag || (!cfg.SBOM && !cfg.Provenance) {
		return nil, nil
	}
	a := &attestation{sbom: cfg.SBOM, tool: "ecr-action-" + version}
	if !cfg.Provenance {
		return a, nil
	}
	in := provenanceInput(cfg, getenv, art, repoName, started)
	// Checked now with the start time as the finish time: New fails on a
	// missing or malformed GitHub context, which a later time cannot fix.
	in.FinishedOn = started
	if _, err := provenance.New(in); err != nil {
		return nil, &stepError{"Provenance", fmt.Errorf("%w\n\nThe provenance statement is made from the GitHub Actions context (GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_REF, GITHUB_WORKFLOW_REF, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_SERVER_URL). Outside GitHub Actions, set provenance: false. Nothing was changed in AWS", err)}
	}
	a.provenance = &in
	return a, nil
}

// imageArtifact is what provenanceInput reads of the opened image.
type imageArtifact struct {
	Source string
	Digest string
	Files  []build.FileDigest // a build's files sources; none for other inputs
}

// provenanceInput gathers the statement's input from the GitHub context
// (the runner's GITHUB_* and RUNNER_* variables) and the inputs that shaped
// the image. The image's own environment values are left out (only their
// names go in): they may hold what a workflow treats as a secret.
func provenanceInput(cfg *config.Config, getenv func(string) string, art imageArtifact, repoName string, started time.Time) provenance.Input {
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
	// The base image: the one a build started from (its digest is in the
	// artifact's source, "build from <ref>@<digest>"), or the image a
	// docker:// source copied.
	switch {
	case strings.HasPrefix(art.Source, "build from "):
		if ref, d, ok := strings.Cut(strings.TrimPrefix(art.Source, "build from "), "@sha256:"); ok {
			in.BaseImages = append(in.BaseImages, provenance.Dependency{URI: ref, Digest: "sha256:" + d})
		}
	case strings.HasPrefix(art.Source, "docker://"):
		in.BaseImages = append(in.BaseImages, provenance.Dependency{URI: strings.TrimPrefix(art.Source, "docker://"), Digest: art.Digest})
	}
	// The files sources' digests, from the build's own pass over them.
	for _, f := range art.Files {
		in.Files = append(in.Files, provenance.Dependency{URI: f.Path, Digest: f.Digest.String(), Dir: f.Dir})
	}
	return in
}

// attachResult is what attachReferrers did, for the outputs and summary.
type attachResult struct {
	referrers []report.Referrer
}

// sbomOutput is the sbom_digest output: the digest for one image, or one
// platform=digest line per platform of an index.
func (r *attachResult) sbomOutput(index bool) string {
	var lines []string
	for _, x := range r.referrers {
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

func (r *attachResult) provenanceOutput() string {
	for _, x := range r.referrers {
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
func subjects(run *imageRun) (top v1.Descriptor, subs []subject, err error) {
	art := run.art
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

// attachReferrers pushes the SBOM (one per platform) and the provenance as
// referrers of the uploaded image, by digest, skipping a kind the image
// already has. Any failure fails the run before the tags.
func attachReferrers(ctx context.Context, wf *report.Workflow, run *imageRun, at *attestation) (*attachResult, error) {
	res := &attachResult{}
	if at == nil {
		return res, nil
	}
	repo := run.plan.Target.Repository
	top, subs, err := subjects(run)
	if err != nil {
		return nil, &stepError{"SBOM", err}
	}
	existing := map[v1.Hash][]v1.Descriptor{}
	listed := func(d v1.Hash) ([]v1.Descriptor, error) {
		if l, ok := existing[d]; ok {
			return l, nil
		}
		l, err := run.reg.Referrers(ctx, repo, d)
		run.logRecovery(wf)
		if err != nil {
			return nil, &stepError{"Referrers", fmt.Errorf("%w\n\nListing an image's referrers needs ecr:BatchGetImage on the repository. No tag was written", explainRegistry(err))}
		}
		existing[d] = l
		return l, nil
	}
	find := func(l []v1.Descriptor, artifactType string) (v1.Descriptor, bool) {
		i := slices.IndexFunc(l, func(d v1.Descriptor) bool { return d.ArtifactType == artifactType })
		if i < 0 {
			return v1.Descriptor{}, false
		}
		return l[i], true
	}
	push := func(kind string, sub v1.Descriptor, artifactType, title string, doc []byte) (string, error) {
		art, err := referrer.New(sub, artifactType, doc, referrer.Options{Title: title})
		if err != nil {
			return "", &stepError{kind, err}
		}
		d, err := run.reg.PushArtifact(ctx, repo, art)
		run.logRecovery(wf)
		if err != nil {
			return "", &stepError{"Push failed", fmt.Errorf("pushing the %s referrer of %s: %w", kind, sub.Digest, explainRegistry(err))}
		}
		return d.String(), nil
	}

	if at.sbom {
		for _, s := range subs {
			plat := platformString(s.platform)
			l, err := listed(s.desc.Digest)
			if err != nil {
				return nil, err
			}
			r := report.Referrer{Kind: "SBOM", Platform: plat, Subject: s.desc.Digest.String()}
			if d, ok := find(l, referrer.SPDXJSON); ok {
				r.Digest, r.Existing = d.Digest.String(), true
				wf.Infof("SBOM of %s (%s): already attached as %s", s.desc.Digest, plat, r.Digest)
				res.referrers = append(res.referrers, r)
				continue
			}
			doc, detail, err := generateSBOM(ctx, s, repo.Name(), at.tool)
			if err != nil {
				return nil, err
			}
			r.Detail = detail
			if r.Digest, err = push("SBOM", s.desc, referrer.SPDXJSON, "sbom.spdx.json", doc); err != nil {
				return nil, err
			}
			wf.Infof("SBOM of %s (%s): %s, attached as %s", s.desc.Digest, plat, detail, r.Digest)
			res.referrers = append(res.referrers, r)
		}
	}
	if at.provenance != nil {
		l, err := listed(top.Digest)
		if err != nil {
			return nil, err
		}
		r := report.Referrer{Kind: "Provenance", Subject: top.Digest.String(), Detail: "SLSA v1, run " + at.provenance.GitHub.RunID + " attempt " + at.provenance.GitHub.RunAttempt}
		if len(subs) == 1 && top.Digest == subs[0].desc.Digest {
			r.Platform = platformString(subs[0].platform)
		}
		if d, ok := find(l, referrer.InTotoJSON); ok {
			r.Digest, r.Existing, r.Detail = d.Digest.String(), true, "SLSA v1, from an earlier run"
			wf.Infof("provenance of %s: already attached as %s", top.Digest, r.Digest)
		} else {
			in := *at.provenance
			in.FinishedOn = run.clk.Now()
			if in.FinishedOn.Before(in.StartedOn) {
				in.FinishedOn = in.StartedOn
			}
			st, err := provenance.New(in)
			if err != nil {
				return nil, &stepError{"Provenance", err}
			}
			doc, err := st.Encode()
			if err != nil {
				return nil, &stepError{"Provenance", err}
			}
			if r.Digest, err = push("Provenance", top, referrer.InTotoJSON, "provenance.intoto.json", doc); err != nil {
				return nil, err
			}
			wf.Infof("provenance of %s: attached as %s", top.Digest, r.Digest)
		}
		res.referrers = append(res.referrers, r)
	}
	return res, nil
}

// generateSBOM reads one platform's layers once and writes its SPDX
// document. The creation time is the image config's, so the same image
// gives the same document, and the same referrer digest, on every run; an
// image whose config has none gets the Unix epoch.
func generateSBOM(ctx context.Context, s subject, repoName, tool string) ([]byte, string, error) {
	fail := func(err error) ([]byte, string, error) {
		return nil, "", &stepError{"SBOM", fmt.Errorf("SBOM of %s (%s): %w\n\nNo tag was written. Set sbom: false to push without an SBOM", s.desc.Digest, platformString(s.platform), err)}
	}
	cf, err := s.img.ConfigFile()
	if err != nil {
		return fail(fmt.Errorf("reading the image config: %w", err))
	}
	created := cf.Created.Time
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	layers, err := s.img.Layers()
	if err != nil {
		return fail(fmt.Errorf("reading the image's layers: %w", err))
	}
	inv, err := sbom.Scan(ctx, layers, sbom.Limits{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return fail(err)
	}
	doc, err := sbom.Build(inv, sbom.Image{Digest: s.desc.Digest, Platform: s.platform, Repository: repoName},
		sbom.Options{Created: created.UTC(), Tool: tool, Repository: repoName})
	if err != nil {
		return fail(err)
	}
	b, err := doc.Encode()
	if err != nil {
		return fail(err)
	}
	mods := 0
	for _, g := range inv.GoBinaries {
		mods += 1 + len(g.Deps)
	}
	detail := fmt.Sprintf("%d OS package(s), %d Go binary(ies) with %d module(s)", len(inv.Packages), len(inv.GoBinaries), mods)
	return b, detail, nil
}
