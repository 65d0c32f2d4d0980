// Package ecrlocal is a local stand-in for Amazon ECR: one http.Handler that
// serves both the ECR JSON API (awsJson1_1, the operations the action calls)
// and the registry HTTP API v2 under /v2/, over one shared state.
//
// Metadata (repositories, policies, tags, images) lives in memory; blobs are
// streamed to content-addressed files on disk and hashed on the way in. A
// manifest pushed through the registry is an image that DescribeImages and
// BatchGetImage see, and an image put with PutImage can be pulled.
//
// Images are scanned for real, from their layers: see Options.VulnDB,
// LoadVulnDB and ScanHook. Scan on push follows the repository's effective
// scanning configuration, as BatchGetRepositoryScanningConfiguration reports
// it (see api_scanconfig.go: with registry rules, a repository no
// SCAN_ON_PUSH filter matches is MANUAL whatever its own scanOnPush); it and
// StartImageScan queue a scan that one background worker runs after the push
// has returned; DescribeImageScanFindings and DescribeImages report it.
//
// Options.CreateDelay models ECR's asynchronous repository creation: a new
// repository is invisible to every other call for that long (see
// consistency.go).
//
// It follows ECR's documented behaviour (the ECR User Guide and the ECR API
// Reference, https://docs.aws.amazon.com/AmazonECR/latest/APIReference/):
// the same exception names and HTTP status codes, so the real SDK decodes
// them into its typed errors. Its validation rules are its own (rules*.go),
// written from the AWS documents and the API model, never the action's
// package policy: depcheck_test.go fences that.
//
// Known differences from the real service, on purpose:
//   - SigV4 signatures are not verified: any credentials are accepted.
//   - One registry: a registryId other than the configured account is refused
//     with InvalidParameterException.
//   - DescribeRepositories pages by repository name; the order is by name.
//     DescribeImages and ListImages return images in push order.
//   - Blobs are served directly, not redirected to S3.
//   - The layer-upload API operations (InitiateLayerUpload, UploadLayerPart,
//     CompleteLayerUpload, GetDownloadUrlForLayer) and pull-through cache
//     are not implemented and answer UnknownOperationException.
//   - Managed signing and replication (signing.go, replication.go) model
//     the configurations and the per-image statuses only: nothing is signed
//     or copied. Statuses change after Options.SigningDelay and per
//     destination Options.Replication delays, ending COMPLETE or FAILED.
//   - Scanning matches OS packages only (dpkg: var/lib/dpkg/status and
//     status.d/; apk: lib/apk/db/installed), by binary package name, against
//     the given database instead of ECR's or Inspector's feeds; no language
//     packages. Versions compare with Debian's algorithm, apk versions too
//     (right for x.y.z-rN, not for apk's _alpha/_rc/_p suffixes).
//   - A scan's findings and status come at once: the result shows after
//     Options.ScanDelay (or the ScanHook's Delay) and the work, not
//     gradually. vulnerabilitySourceUpdatedAt is when the server started.
//   - One scan per image per 24 hours (server clock), the push scan
//     included: a StartImageScan within that answers LimitExceededException.
//     With ENHANCED scanning StartImageScan answers ValidationException.
//   - An image index, or an artifact whose config is not a container image
//     config, is UNSUPPORTED_IMAGE at once; its platform images are scanned
//     by their own digests. Foreign layers (with urls) are not read.
//   - ENHANCED scanning: findings have no cvss, remediation or resources;
//     the score stands in for Inspector's (CRITICAL 9.8, HIGH 7.5, MEDIUM
//     5.3, LOW 3.1, else 0); an UNDEFINED severity reads UNTRIAGED, as
//     Inspector's does; fixedInVersion is left out when there is no fix.
//     CONTINUOUS_SCAN images show ACTIVE and are never rescanned; changing
//     the registry configuration does not rescan images already pushed.
//     When rules of both frequencies cover a repository, CONTINUOUS_SCAN wins.
//   - Policies come back reformatted, as ECR does: repository policies
//     pretty-printed in ECR's style, lifecycle policies compacted. Compare
//     them as JSON, never as text.
//   - Tags follow the distribution spec's grammar (at most 128 characters)
//     on both APIs; ECR's PutImage accepts up to 300.
//   - BatchCheckLayerAvailability reports a blob the repository lacks as a
//     MissingLayerDigest failure.
//   - The registry accepts manifest DELETE (by digest: the image; by tag:
//     the tag, and the image with its last tag), as ECR now does; blob DELETE
//     is refused.
//   - The referrers API answers one index, never paged; an archived
//     referrer is left out of it (ListImageReferrers lists it when its
//     artifactStatus filter asks).
//   - Scan on push fires for every new manifest, pushed by tag or by digest
//     alone; Options.NoDigestPushScan (-no-digest-push-scan) takes the
//     stricter reading of what ECR leaves undocumented and scans only
//     manifests pushed with a tag.
//   - A restore from the archive takes Options.RestoreDelay (default 0), not
//     ECR's hours. UpdateImageStorageClass to the class an image is already
//     in, or while it is ACTIVATING, answers
//     ImageStorageClassUpdateNotSupportedException (ECR does not document it).
//   - Account settings BASIC_SCAN_TYPE_VERSION and REGISTRY_POLICY_SCOPE are
//     stored and returned but change nothing; BLOB_MOUNTING decides mounts.
//   - KMS keys are not checked for existence; KMS without a key reports a
//     stable, made-up ARN for the AWS-managed aws/ecr key.
//
// For tests, faults can be arranged: Inject for ECR API calls (throttling or
// any exception), InjectRegistry for blob uploads (a connection reset, 500 or
// 503 in the middle of the body, after which the upload is gone), and
// Options.TokenTTL for registry tokens that expire early; an expired token
// is answered 403 DENIED, as ECR does. ParseFaultSpec reads the command
// line's form of a fault.
package ecrlocal
