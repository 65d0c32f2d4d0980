// Package ecrlocal is a local stand-in for Amazon ECR: one http.Handler that
// serves both the ECR JSON API (awsJson1_1, the operations the action calls)
// and the registry HTTP API v2 under /v2/, over one shared state.
//
// Metadata (repositories, policies, tags, images) lives in memory; blobs are
// streamed to content-addressed files on disk and hashed on the way in. A
// manifest pushed through the registry is an image that DescribeImages and
// BatchGetImage see, and an image put with PutImage can be pulled.
//
// It follows ECR's documented behaviour (see ../../shared/design/ecr-rules.md
// and the ECR API Reference, https://docs.aws.amazon.com/AmazonECR/latest/APIReference/):
// the same exception names and HTTP status codes, so the real SDK decodes
// them into its typed errors; validation shared with the action's client side
// comes from package policy.
//
// Known differences from the real service, on purpose:
//   - SigV4 signatures are not verified: any credentials are accepted.
//   - One registry: a registryId other than the configured account is refused
//     with InvalidParameterException.
//   - DescribeRepositories pages by repository name; the order is by name.
//     DescribeImages and ListImages return images in push order.
//   - Blobs are served directly, not redirected to S3.
//   - The layer-upload API operations (InitiateLayerUpload, UploadLayerPart,
//     CompleteLayerUpload, GetDownloadUrlForLayer), scanning, replication and
//     pull-through cache are not implemented and answer UnknownOperationException.
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
//   - KMS keys are not checked for existence; KMS without a key reports a
//     stable, made-up ARN for the AWS-managed aws/ecr key.
package ecrlocal
