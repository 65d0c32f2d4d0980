package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/org/ecr-action/internal/policy"
)

// Options configure a Client.
type Options struct {
	// Keychain resolves credentials per registry. Required: the caller
	// decides what each registry gets (no silent anonymous fallback here).
	Keychain authn.Keychain
	// Transport is the HTTP transport; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Jobs is how many blobs move at once; 0 means 4 (more only adds
	// contention on loopback: .ci/bench-push measured 8 slower than 4).
	Jobs int
	// UserAgent is added to go-containerregistry's.
	UserAgent string
	// Logf receives progress lines; nil keeps the package silent.
	Logf func(format string, args ...any)
	// ProgressEvery is how often a long upload logs a line; 0 means 5 s.
	ProgressEvery time.Duration
	// RetryBackoff is how failed requests and blob uploads (5xx, 408, 429,
	// broken connections, an expired token) are retried; zero means
	// DefaultRetryBackoff(). Steps is the number of attempts.
	RetryBackoff remote.Backoff
	// LookupTags, when set, finds what tags name in a target repository in
	// one call (the action uses ECR's BatchGetImage, up to 100 tags a call)
	// instead of one registry HEAD per tag. found maps each tag that exists
	// to its digest; a tag in unsettled (the call could not say) is looked
	// up with a HEAD; any other tag does not exist.
	LookupTags func(ctx context.Context, repo name.Repository, tags []string) (found map[string]v1.Hash, unsettled []string, err error)
	// FindArchived, when set, says which of refs (tags or sha256:
	// digests) name an image in the archive storage class in repo, which
	// the registry answers 404 for: archived maps each such ref to the
	// image's digest. It is asked only when a ref is not found: a
	// retag_from, and the new tags of an immutable repository (an archived
	// image still holds its tags, so they cannot be written). An error
	// (the call was denied) is a note, not a failure.
	FindArchived func(ctx context.Context, repo name.Repository, refs []string) (archived map[string]v1.Hash, err error)
}

// Client reads sources from registries through one puller, so each is
// pinged and authenticated once per run, and reads and writes the target
// repository through one transport (see target), so its registry is pinged
// once, not once for reading and once more for writing.
type Client struct {
	puller  *remote.Puller // sources and base images on other registries
	logf    func(string, ...any)
	every   time.Duration
	retries *retries

	opts         Options
	ropts        []remote.Option
	lookupTags   func(context.Context, name.Repository, []string) (map[string]v1.Hash, []string, error)
	findArchived func(context.Context, name.Repository, []string) (map[string]v1.Hash, error)

	mountsMu sync.Mutex
	mounts   *mountSet // the blobs mounted during the current Upload

	targetMu     sync.Mutex
	targetReg    string
	targetPuller *remote.Puller
	targetPusher *remote.Pusher
}

// New returns a Client.
func New(o Options) (*Client, error) {
	if o.Keychain == nil {
		return nil, errors.New("image.New: Options.Keychain is required")
	}
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.RetryBackoff == (remote.Backoff{}) {
		o.RetryBackoff = DefaultRetryBackoff()
	}
	if o.RetryBackoff.Steps < 1 || o.RetryBackoff.Duration < 0 {
		return nil, fmt.Errorf("image.New: Options.RetryBackoff %+v needs at least 1 step and a duration of 0 or more", o.RetryBackoff)
	}
	rt := &retries{attempts: o.RetryBackoff.Steps, logf: o.Logf}
	ropts := []remote.Option{remote.WithAuthFromKeychain(o.Keychain), remote.WithJobs(o.Jobs)}
	ropts = append(ropts, retryOptions(o.RetryBackoff, rt)...)
	if o.Transport != nil {
		ropts = append(ropts, remote.WithTransport(o.Transport))
	}
	if o.UserAgent != "" {
		ropts = append(ropts, remote.WithUserAgent(o.UserAgent))
	}
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, err
	}
	return &Client{puller: puller, logf: o.Logf, every: o.ProgressEvery, retries: rt,
		opts: o, ropts: ropts, lookupTags: o.LookupTags, findArchived: o.FindArchived}, nil
}

// target returns the puller and pusher for repo's registry (the push
// target). They share one transport that pinged the registry and set up its
// authentication once, with pull and push scope on repo; separate ones
// would each ping before their first request. It is made at the first use,
// so a run that writes nothing and needs no registry read pings nothing.
func (r *Client) target(ctx context.Context, repo name.Repository) (*remote.Puller, *remote.Pusher, error) {
	r.targetMu.Lock()
	defer r.targetMu.Unlock()
	if r.targetPuller != nil && r.targetReg == repo.RegistryStr() {
		return r.targetPuller, r.targetPusher, nil
	}
	// What remote does to a transport that is not a *transport.Wrapper:
	// retries, then the user agent.
	base := r.opts.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	base = &mountWatcher{next: base, r: r}
	base = transport.NewRetry(base, transport.WithRetryBackoff(r.opts.RetryBackoff),
		transport.WithRetryPredicate(r.retries.retryable), transport.WithRetryStatusCodes(retryStatusCodes...))
	if r.opts.UserAgent != "" {
		base = transport.NewUserAgent(base, r.opts.UserAgent)
	}
	auth, err := authn.Resolve(ctx, r.opts.Keychain, repo)
	if err != nil {
		return nil, nil, fmt.Errorf("credentials for %s: %w", repo.Registry, err)
	}
	// A *transport.Wrapper: remote uses it as it is, with no ping.
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, base, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", repo.Registry, r.retries.gaveUp(err))
	}
	opts := append(slices.Clone(r.ropts), remote.WithTransport(tr))
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, nil, err
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, nil, err
	}
	r.targetReg, r.targetPuller, r.targetPusher = repo.RegistryStr(), puller, pusher
	return puller, pusher, nil
}

// Puller is the Client's puller, for opening docker:// sources and base
// images with the same credentials and connections.
func (r *Client) Puller() *remote.Puller { return r.puller }

// Target is the repository pushed to and its tag mutability.
type Target struct {
	Repository name.Repository
	Mutability string   // MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION
	Filters    []string // the exclusion filters of the *_WITH_EXCLUSION modes
}

// TagAction is what a run does to one tag. A Plan holds the first three;
// TagWithheld is what becomes of a tag the plan would write when the scan
// gate fails.
type TagAction string

const (
	TagPushed    TagAction = "pushed"    // the tag is new
	TagMoved     TagAction = "moved"     // a mutable tag moved from another image
	TagUnchanged TagAction = "unchanged" // the tag already names this image
	// TagWithheld: the plan would have written the tag, but the scan gate
	// failed; the image is in the repository by digest only.
	TagWithheld TagAction = "withheld"
)

// TagPlan is one tag and what the push does to it.
type TagPlan struct {
	Tag      string
	Action   TagAction
	Previous string // the digest the tag named before, when moved
}

// Plan is a push worked out before any write.
type Plan struct {
	Artifact *Artifact
	Target   Target
	Tags     []TagPlan
	// Retag: the image is already in the repository; only tags are written.
	Retag bool
}

// Writes reports whether the push changes anything.
func (p *Plan) Writes() bool {
	for _, t := range p.Tags {
		if t.Action != TagUnchanged {
			return true
		}
	}
	return false
}

// Conflict is a tag the repository will not let move.
type Conflict struct {
	Tag       string
	Found     string // the digest the tag names now
	Immutable string // the repository's mutability setting
}

// ImmutableTagError says that tags the repository makes immutable already name
// another image. Nothing has been written when it is returned.
type ImmutableTagError struct {
	Repository string
	Digest     string // the image being pushed
	Conflicts  []Conflict
	Filters    []string
	// Raced: another run wrote the tag between Plan and Tag. The image was
	// uploaded by digest and stays in the repository with no tag.
	Raced bool
}

func (e *ImmutableTagError) Error() string {
	var b strings.Builder
	for i, c := range e.Conflicts {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "tag %q in %s already names %s, and image_tag_mutability %s makes it immutable, so it cannot move to %s.",
			c.Tag, e.Repository, c.Found, c.Immutable, e.Digest)
	}
	if e.Raced {
		b.WriteString(" Another run wrote the tag after this run looked it up; " + e.Digest + " was uploaded by digest and no tag names it.\nFix: ")
	} else {
		b.WriteString(" Nothing was pushed.\nFix: ")
	}
	var names []string
	for _, c := range e.Conflicts {
		names = append(names, c.Tag)
	}
	b.WriteString(fixFor(names, e.Conflicts[0].Immutable, e.Filters))
	return b.String()
}

// fixFor says how to let tags move, or to stop asking them to.
func fixFor(tags []string, mode string, filters []string) string {
	var moving []string // tags that are meant to move (latest, v1, v1.2)
	for _, t := range tags {
		if t == "latest" || isMovingSemver(t) {
			moving = append(moving, t)
		}
	}
	if len(moving) > 0 && mode != policy.MutableWithExclusion {
		all := append(append([]string(nil), filters...), moving...)
		return fmt.Sprintf("%s is meant to move on every release: set image_tag_mutability: IMMUTABLE_WITH_EXCLUSION with image_tag_mutability_exclusion_filters: %s, or stop pushing it (tag_latest: false / tag_semver: false).",
			strings.Join(moving, ", "), strings.Join(all, ","))
	}
	if mode == policy.MutableWithExclusion {
		return fmt.Sprintf("these tags match image_tag_mutability_exclusion_filters (%s); push under a new tag (image_tags), or change the filters.", strings.Join(filters, ","))
	}
	return "push under a tag that does not exist yet (the commit SHA tag is unique per commit), or retag_from the image that already has this tag."
}

// isMovingSemver reports whether t looks like a major or minor version tag
// (v1, v1.2, 1, 1.2), which move from release to release.
func isMovingSemver(t string) bool {
	t = strings.TrimPrefix(t, "v")
	parts := strings.Split(t, ".")
	if len(parts) > 2 || t == "" {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// isNotFound reports a registry 404 (MANIFEST_UNKNOWN, NAME_UNKNOWN: the
// repository may not exist yet).
func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// Plan looks up every tag before anything is written: a tag already at a's
// digest is unchanged, a tag at another digest moves when the repository lets
// it and fails the plan (an *ImmutableTagError) when it does not.
func (r *Client) Plan(ctx context.Context, a *Artifact, t Target, tags []string, retag bool) (*Plan, error) {
	if len(tags) == 0 {
		return nil, errors.New("no tag to push")
	}
	plans := make([]TagPlan, len(tags))
	found := map[string]v1.Hash{}
	head := tags // the tags to look up with a registry HEAD each
	if r.lookupTags != nil {
		var err error
		if found, head, err = r.lookupTags(ctx, t.Repository, tags); err != nil {
			return nil, fmt.Errorf("looking up the tags in %s: %w", t.Repository, err)
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, tag := range head {
		g.Go(func() error {
			puller, _, err := r.target(gctx, t.Repository)
			if err != nil {
				return err
			}
			d, err := puller.Head(gctx, t.Repository.Tag(tag))
			switch {
			case isNotFound(err):
				return nil
			case err != nil:
				return fmt.Errorf("looking up tag %q in %s: %w", tag, t.Repository, err)
			}
			mu.Lock()
			found[tag] = d.Digest
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, tag := range tags {
		plans[i] = TagPlan{Tag: tag, Action: TagPushed}
		switch d, ok := found[tag]; {
		case !ok:
		case d == a.Digest:
			plans[i].Action = TagUnchanged
		default:
			plans[i].Action = TagMoved
			plans[i].Previous = d.String()
		}
	}
	if err := r.checkArchivedTags(ctx, a, t, plans); err != nil {
		return nil, err
	}
	var conflicts []Conflict
	for _, p := range plans {
		if p.Action == TagMoved && policy.TagImmutable(t.Mutability, t.Filters, p.Tag) {
			conflicts = append(conflicts, Conflict{Tag: p.Tag, Found: p.Previous, Immutable: t.Mutability})
		}
	}
	if len(conflicts) > 0 {
		return nil, &ImmutableTagError{Repository: t.Repository.String(), Digest: a.Digest.String(), Conflicts: conflicts, Filters: t.Filters}
	}
	return &Plan{Artifact: a, Target: t, Tags: plans, Retag: retag}, nil
}

// Result is what a push did.
type Result struct {
	Digest string
	Tags   []TagPlan
	// UploadedLayers and UploadedBytes count the layers whose bytes were
	// sent; layers already in the repository or mounted from another
	// repository of the registry are not counted.
	UploadedLayers int
	UploadedBytes  int64
	// MountedLayers were mounted from another repository of the registry
	// (the registry answered the mount with 201 Created); ExistingLayers
	// were in the repository already. Uploaded, mounted and existing add
	// up to the layers the push handled.
	MountedLayers  int
	ExistingLayers int
	// UnmountedLayers were uploaded although they came from another
	// repository of the same registry (a docker:// source or base image
	// there), which ECR mounts only with the account setting
	// BLOB_MOUNTING ENABLED and the same encryption; MountSources are
	// those repositories.
	UnmountedLayers int
	MountSources    []string
}

// Upload writes the plan's image without any tag: blobs, then the manifest
// by digest (children before an index). A caller can check the uploaded
// image (wait for its scan) before Tag lets a tag name it. A plan with
// nothing to change, or a retag, uploads nothing.
func (r *Client) Upload(ctx context.Context, p *Plan) (*Result, error) {
	a := p.Artifact
	repo := p.Target.Repository
	res := &Result{Digest: a.Digest.String(), Tags: p.Tags}
	if !p.Writes() || p.Retag {
		return res, nil
	}
	prog := newProgress()
	mounts := r.watchMounts()
	defer r.stopWatchingMounts()
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { prog.report(rctx, r.every, r.logf) })
	_, pusher, err := r.target(ctx, repo)
	if err == nil {
		err = pusher.Push(ctx, repo.Digest(a.Digest.String()), prog.counted(a))
	}
	stop()
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("pushing %s to %s: %w", a.Digest, repo, r.retries.gaveUp(err))
	}
	res.UploadedLayers, res.UploadedBytes = prog.uploaded()
	_, res.MountedLayers, res.ExistingLayers, res.UnmountedLayers, res.MountSources = prog.layerCounts(repo, mounts.has)
	return res, nil
}

// Tag writes the plan's tags that change, in parallel, after Upload.
func (r *Client) Tag(ctx context.Context, p *Plan) error {
	a := p.Artifact
	repo := p.Target.Repository
	taggable := a.Taggable()
	_, pusher, err := r.target(ctx, repo)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, t := range p.Tags {
		if t.Action == TagUnchanged {
			continue
		}
		g.Go(func() error {
			err := pusher.Put(gctx, repo.Tag(t.Tag), taggable)
			if isTagInvalid(err) && policy.TagImmutable(p.Target.Mutability, p.Target.Filters, t.Tag) {
				return r.lostTagRace(gctx, p, t.Tag, err)
			}
			if err != nil {
				return fmt.Errorf("tagging %s as %s:%s: %w", a.Digest, repo, t.Tag, r.retries.gaveUp(err))
			}
			return nil
		})
	}
	return g.Wait()
}

// isTagInvalid reports ECR's answer to a manifest PUT on an immutable tag
// that exists (ImageTagAlreadyExistsException as the registry API's
// TAG_INVALID). Real ECR gives it even when the tag already names the same
// image.
func isTagInvalid(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.TagInvalidErrorCode {
			return true
		}
	}
	return false
}

// lostTagRace settles a TAG_INVALID on an immutable tag that Plan found
// free: another run (a parallel matrix job) wrote it in between. A tag that
// names this image is what was asked; one that names another image is an
// *ImmutableTagError.
func (r *Client) lostTagRace(ctx context.Context, p *Plan, tag string, putErr error) error {
	a, repo := p.Artifact, p.Target.Repository
	puller, _, err := r.target(ctx, repo)
	if err != nil {
		return fmt.Errorf("tagging %s as %s:%s: %w (and looking the tag up again: %v)", a.Digest, repo, tag, putErr, err)
	}
	d, err := puller.Head(ctx, repo.Tag(tag))
	if err != nil {
		return fmt.Errorf("tagging %s as %s:%s: %w (and looking the tag up again: %v)", a.Digest, repo, tag, putErr, err)
	}
	if d.Digest == a.Digest {
		return nil
	}
	return &ImmutableTagError{
		Repository: repo.String(), Digest: a.Digest.String(), Filters: p.Target.Filters, Raced: true,
		Conflicts: []Conflict{{Tag: tag, Found: d.Digest.String(), Immutable: p.Target.Mutability}},
	}
}

// Resolve finds from (a tag or a sha256: digest) in repo, for a retag: only
// manifests are read, never layers.
func (r *Client) Resolve(ctx context.Context, repo name.Repository, from string) (*Artifact, error) {
	var ref name.Reference
	if strings.HasPrefix(from, "sha256:") {
		ref = repo.Digest(from)
	} else {
		ref = repo.Tag(from)
	}
	puller, _, err := r.target(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("retag_from %q: %w", from, err)
	}
	desc, err := puller.Get(ctx, ref)
	if isNotFound(err) {
		note := ""
		if r.findArchived != nil {
			archived, aerr := r.findArchived(ctx, repo, []string{from})
			if d, ok := archived[from]; ok && aerr == nil {
				return nil, &ArchivedImageError{Repository: repo.RepositoryStr(), Ref: from, Digest: d.String(), RetagFrom: true}
			}
			if aerr != nil {
				note = fmt.Sprintf(" (whether it is archived could not be checked: %v)", aerr)
			}
		}
		return nil, fmt.Errorf("retag_from %q: no such image in %s%s; push it first (source or base_image), or name a tag or digest that exists", from, repo, note)
	}
	if err != nil {
		return nil, fmt.Errorf("retag_from %q: reading %s: %w", from, ref, err)
	}
	source := "retag_from:" + from
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("retag_from %q: %w", from, err)
		}
		return newIndexArtifact(source, idx)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("retag_from %q: %w", from, err)
	}
	return newImageArtifact(source, img)
}

// ArchivedImageError says that an image the run needs is in the archive
// storage class: it cannot be pulled, retagged, or scanned, and its tags
// stay taken, until it is restored. Nothing has been written.
type ArchivedImageError struct {
	Repository string // the repository name
	Ref        string // the tag or digest that names it
	Digest     string // the archived image
	// RetagFrom: Ref is the retag_from input; otherwise it is a tag the
	// run would write in an immutable repository.
	RetagFrom bool
	Pushing   string // the digest the run pushes (tags only)
}

func (e *ArchivedImageError) Error() string {
	var what string
	switch {
	case e.RetagFrom:
		what = fmt.Sprintf("retag_from %q names image %s in %s, which is archived (storage class ARCHIVE): an archived image cannot be pulled or retagged.", e.Ref, e.Digest, e.Repository)
	case e.Digest == e.Pushing:
		what = fmt.Sprintf("tag %q in %s already names this image, %s, which is archived (storage class ARCHIVE); the repository's tags are immutable, so the tag cannot be written again.", e.Ref, e.Repository, e.Digest)
	default:
		what = fmt.Sprintf("tag %q in %s names image %s, which is archived (storage class ARCHIVE); the repository's tags are immutable, so it cannot move to %s.", e.Ref, e.Repository, e.Digest, e.Pushing)
	}
	fix := fmt.Sprintf("restore it with `aws ecr update-image-storage-class --repository-name %s --image-id imageDigest=%s --target-storage-class STANDARD`, wait until DescribeImages shows it ACTIVE (a restore takes minutes to hours), then re-run", e.Repository, e.Digest)
	if !e.RetagFrom && e.Digest != e.Pushing {
		fix += "; or push under a tag that does not exist yet"
	}
	return what + " Nothing was pushed.\nFix: " + fix + "."
}

// checkArchivedTags fails the plan when a new tag of an immutable
// repository names an archived image: the tag lookup does not see it (the
// registry answers 404 for an archived image), but ECR keeps its tags, so
// writing it would fail after the upload.
func (r *Client) checkArchivedTags(ctx context.Context, a *Artifact, t Target, plans []TagPlan) error {
	if r.findArchived == nil {
		return nil
	}
	var ask []string
	for _, p := range plans {
		if p.Action == TagPushed && policy.TagImmutable(t.Mutability, t.Filters, p.Tag) {
			ask = append(ask, p.Tag)
		}
	}
	if len(ask) == 0 {
		return nil
	}
	archived, err := r.findArchived(ctx, t.Repository, ask)
	if err != nil {
		if r.logf != nil {
			r.logf("could not check whether the new tags name an archived image: %v", err)
		}
		return nil
	}
	for _, tag := range ask {
		if d, ok := archived[tag]; ok {
			return &ArchivedImageError{Repository: t.Repository.RepositoryStr(), Ref: tag, Digest: d.String(), Pushing: a.Digest.String()}
		}
	}
	return nil
}

// mountSet is the blobs the registry mounted during one Upload.
type mountSet struct {
	mu sync.Mutex
	m  map[v1.Hash]bool
}

func (s *mountSet) has(h v1.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[h]
}

func (r *Client) watchMounts() *mountSet {
	s := &mountSet{m: map[v1.Hash]bool{}}
	r.mountsMu.Lock()
	r.mounts = s
	r.mountsMu.Unlock()
	return s
}

func (r *Client) stopWatchingMounts() {
	r.mountsMu.Lock()
	r.mounts = nil
	r.mountsMu.Unlock()
}

// mountWatcher sees the target registry's answers to blob mounts
// (POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repository>): 201
// Created is a mount; 202 Accepted opens an upload instead.
type mountWatcher struct {
	next http.RoundTripper
	r    *Client
}

func (m *mountWatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost || resp.StatusCode != http.StatusCreated {
		return resp, err
	}
	h, herr := v1.NewHash(req.URL.Query().Get("mount"))
	if herr != nil {
		return resp, err
	}
	m.r.mountsMu.Lock()
	s := m.r.mounts
	m.r.mountsMu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.m[h] = true
		s.mu.Unlock()
	}
	return resp, err
}
