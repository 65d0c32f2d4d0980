package diagnose

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/org/ecr-action/internal/image"
)

// StepKind is what an image step was doing when it failed: it decides the
// annotation title and the remedy (the steps table).
type StepKind int

const (
	RegistryLogin     StepKind = iota + 1 // getting the registry token
	RegistryEndpoints                     // the dual-stack and FIPS settings
	RegistryHost                          // the registry host ECR reported
	PlanTags                              // looking up the tags
	ImmutableTag                          // a tag in the way in an immutable repository
	ArchivedImage                         // an archived image in the way
	RetagFrom                             // resolving retag_from
	Build                                 // building from base_image and files
	ImageSource                           // opening source
	PushImage                             // uploading or tagging the image
	PushReferrer                          // pushing an SBOM or provenance referrer
	ListReferrers                         // listing the image's referrers
	SBOM                                  // preparing an SBOM referrer
	SBOMContents                          // reading an image's packages for its SBOM
	Provenance                            // making the provenance statement
	ProvenanceContext                     // the GitHub context the provenance is made from
	ScanGate                              // the scan gate cannot be applied
	SigningGate                           // the signing gate: reading its set-up or waiting
	SigningSetup                          // no signing rule covers the repository
	ReplicationGate                       // the replication gate: reading its set-up or waiting
	ReplicationSetup                      // no replication rule covers the repository
)

// steps are the titles and remedies of the image steps. registry: the
// error is the registry's answer, diagnosed by registryText.
var steps = map[StepKind]struct {
	title    string
	registry bool
	remedy   string
}{
	RegistryLogin:     {title: "Registry login"},
	RegistryEndpoints: {title: "Registry"},
	RegistryHost:      {title: "Registry"},
	PlanTags:          {title: "Registry", registry: true},
	ImmutableTag:      {title: "Immutable tag"},
	ArchivedImage:     {title: "Archived image"},
	RetagFrom:         {title: "Invalid input retag_from", registry: true},
	Build:             {title: "Build", registry: true},
	ImageSource:       {title: "Image source", registry: true},
	PushImage:         {title: "Push failed", registry: true},
	PushReferrer:      {title: "Push failed", registry: true},
	ListReferrers: {title: "Referrers", registry: true,
		remedy: "Listing an image's referrers needs ecr:BatchGetImage on the repository. No tag was written"},
	SBOM: {title: "SBOM"},
	SBOMContents: {title: "SBOM",
		remedy: "No tag was written. Set sbom: false to push without an SBOM"},
	Provenance: {title: "Provenance"},
	ProvenanceContext: {title: "Provenance",
		remedy: "The provenance statement is made from the GitHub Actions context (GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_REF, GITHUB_WORKFLOW_REF, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_SERVER_URL). Outside GitHub Actions, set provenance: false. Nothing was changed in AWS"},
	ScanGate:    {title: "Scan"},
	SigningGate: {title: "Signing gate"},
	SigningSetup: {title: "Signing gate",
		remedy: "require_signature is true: set up ECR managed signing (ECR > Private registry > Settings > Managed signing, or aws ecr put-signing-configuration) with a rule whose repository filters (WILDCARD_MATCH) cover the repository, or remove require_signature"},
	ReplicationGate: {title: "Replication gate"},
	ReplicationSetup: {title: "Replication gate",
		remedy: "wait_for_replication is true: add a replication rule whose repository filters (PREFIX_MATCH) cover the repository (ECR > Private registry > Settings > Replication, or aws ecr put-replication-configuration), or remove wait_for_replication"},
}

// StepError is a failed image step: which step, what it was about, and
// the error. It holds no advice: Step words it.
type StepError struct {
	Kind    StepKind
	Subject string // what the step worked on, e.g. "pushing the SBOM referrer of sha256:…"; may be ""
	Err     error
}

func (e *StepError) Error() string {
	if e.Subject == "" {
		return e.Err.Error()
	}
	return e.Subject + ": " + e.Err.Error()
}

func (e *StepError) Unwrap() error { return e.Err }

// Step is the title and message of an image step's failure; title is the
// annotation title for an error that names no step.
func Step(err error, title string) (string, string) {
	var se *StepError
	if errors.As(err, &se) {
		s := steps[se.Kind]
		text := se.Err.Error()
		if s.registry {
			text = registryText(se.Err)
		}
		if se.Subject != "" {
			text = se.Subject + ": " + text
		}
		if s.remedy != "" {
			text += "\n\n" + s.remedy
		}
		if _, msg, ok := api(text, se.Err); ok {
			return s.title, msg
		}
		return s.title, text
	}
	// An AWS error with a code reads by its code; one without (the
	// connection failed) keeps the step's title.
	if t, m, ok := api(err.Error(), err); ok {
		return t, m
	}
	return title, err.Error()
}

// registryText is a registry error with what to do, where it needs it.
func registryText(err error) string {
	var re *image.RetriesExhaustedError
	if errors.As(err, &re) {
		return fmt.Sprintf("%v\n\nThe registry kept failing through %d attempts with backoff; no tag was written. Re-run the job; if it fails again, check the AWS Health Dashboard for ECR in this region and any proxy between the runner and the registry", err, re.Attempts)
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return err.Error()
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		if action, why := registryDeniedAction(te); action != "" {
			return fmt.Sprintf("%v\n\nThe credentials lack %s on the repository%s. Add it to the role's policy (the README lists the minimal policy)", err, action, why)
		}
		return fmt.Sprintf("%v\n\nThe registry refused the credentials. Pushing needs ecr:GetAuthorizationToken, ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage and ecr:BatchGetImage on the repository (the README lists the policy); a private source registry needs its own login", err)
	case http.StatusTooManyRequests:
		return fmt.Sprintf("%v\n\nThe registry kept rate-limiting after retries; re-run the job", err)
	}
	return err.Error()
}

// registryDeniedAction is the IAM action a registry 403 is about: the one
// ECR's DENIED message names, or for a HEAD (whose answer has no body) the
// action ECR checks for it, with why it may be something else.
func registryDeniedAction(te *transport.Error) (action, why string) {
	if te.StatusCode != http.StatusForbidden {
		return "", ""
	}
	for _, d := range te.Errors {
		if a := DeniedAction(d.Message); a != "" {
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
