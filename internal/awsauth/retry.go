package awsauth

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Retries of AWS calls. ThrottlingException is normal when many matrix jobs
// share an account, so the action's clients go through the SDK's standard
// retryer, which retries throttling (the codes in
// retry.DefaultThrottleErrorCodes), HTTP 5xx and connection errors, and
// never AccessDenied or validation errors. Its backoff is full jitter:
// before retry i (0-based) it waits rand[0,1) × min(1 s × 2^i, MaxBackoff)
// after throttling (a 50 ms base for other transient errors). MaxAttempts
// 8 is 7 retries: at most 1+2+4+8+16+20+20 = 71 s of waiting for one call,
// about half that on average. The action sets its retryers on its clients
// itself, so the SDK's AWS_MAX_ATTEMPTS and AWS_RETRY_MODE do not change
// them. The scan waiter paces its own reads (internal/scan/ecrscan).
const (
	MaxAttempts = 8
	MaxBackoff  = 20 * time.Second
)

// NewRetryer is the retryer the action passes as Options.Retryer: Load
// sets it on the returned config, so the ECR client of the run's region,
// the CloudWatch Logs client and the STS client (role_to_assume) use it.
// It is the standard retryer with MaxAttempts and MaxBackoff, and it does
// not retry a service quota (IsQuotaError).
//
// The registry token clients of other regions (a docker:// source or
// base_image in another ECR region) do not use it: they use
// NewTokenRetryer.
func NewRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		// The SDK counts LimitExceededException as throttling, but ECR and
		// CloudWatch Logs raise it for a service quota (repositories per
		// region, log groups, one scan per image per day): no retry helps.
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if IsQuotaError(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, o.Retryables...)
	})
}

// NewTokenRetryer is the retryer of the registry token clients of other
// regions: the SDK's standard retryer (its default 20 s backoff cap, and
// LimitExceededException counted as throttling: GetAuthorizationToken
// raises no quota error) with MaxAttempts attempts.
func NewTokenRetryer() aws.Retryer {
	return retry.AddWithMaxAttempts(retry.NewStandard(), MaxAttempts)
}

// IsQuotaError reports a service quota (LimitExceededException), which the
// SDK would retry as throttling.
func IsQuotaError(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "LimitExceededException"
}

// ReadAgain reports whether a paced wait (the scan, signing and
// replication waits) may read again after a read failed through the
// client's own retries: throttling, a server fault, or a transient
// connection error may pass; AccessDenied and validation errors never do.
func ReadAgain(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
			return true
		}
		return api.ErrorFault() == smithy.FaultServer
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}
