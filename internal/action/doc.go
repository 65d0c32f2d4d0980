// Package action is the run of the GitHub Action: Run reads the inputs,
// ensures the ECR repository, pushes the image, gates on its scan, tags it,
// and reports outputs and a job summary.
//
// The phases, in the order they happen (one method of run each):
//
//  1. inputs: parse and check every input (internal/config); nothing is
//     read from AWS yet.
//  2. credentials: the network limits and the AWS configuration
//     (internal/awsauth), with the retry policy of awsauth.NewRetryer.
//  3. image, reading only: the registry login, the source opened and its
//     digest known, every tag looked up, the SBOM and provenance checked.
//     It comes before the repository's writes, so a bad source or an
//     immutable tag in the way changes nothing in AWS.
//  4. gate set-up, reading only: with require_signature or
//     wait_for_replication, the registry's signing configuration and
//     replication rules must cover the repository (internal/gates).
//  5. repository: read the repository and write what differs
//     (internal/reconcile).
//  6. push: the image by digest, no tag; then the referrers (SBOM and
//     provenance) by digest.
//  7. scan: wait for the scan of what was pushed and apply the gate.
//  8. signature: with require_signature, wait for ECR managed signing to
//     sign the image.
//  9. tags: written only when the scan and signing gates let them;
//     withheld otherwise.
//  10. outputs: the SARIF file and the scan log, the replication gate
//     (with wait_for_replication), then the step outputs.
//  11. summary: the job summary, built once from the run's state.
//
// A phase that fails returns an error; the run's exit method is the one
// place that turns the run's end (a failure, failures after the push that
// leave the outputs in place, a failed gate, a broken log) into the exit
// code. The wording of every failure comes from internal/diagnose.
package action
