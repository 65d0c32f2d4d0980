package awsauth

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestRetryers(t *testing.T) {
	quota := &smithy.OperationError{ServiceID: "ECR", OperationName: "CreateRepository",
		Err: &smithy.GenericAPIError{Code: "LimitExceededException", Message: "too many repositories"}}
	throttled := &smithy.OperationError{ServiceID: "ECR", OperationName: "DescribeRepositories",
		Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "rate exceeded"}}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}

	if !IsQuotaError(fmt.Errorf("creating: %w", quota)) || IsQuotaError(throttled) || IsQuotaError(errors.New("LimitExceededException")) {
		t.Error("IsQuotaError must match the LimitExceededException code only, through wrapping")
	}
	r := NewRetryer()
	if got := r.MaxAttempts(); got != MaxAttempts {
		t.Errorf("NewRetryer: %d attempts, want %d", got, MaxAttempts)
	}
	for _, tt := range []struct {
		err  error
		want bool
	}{{quota, false}, {throttled, true}, {denied, false}} {
		if got := r.IsErrorRetryable(tt.err); got != tt.want {
			t.Errorf("NewRetryer retries %v: %v, want %v", tt.err, got, tt.want)
		}
	}
	tr := NewTokenRetryer()
	if got := tr.MaxAttempts(); got != MaxAttempts {
		t.Errorf("NewTokenRetryer: %d attempts, want %d", got, MaxAttempts)
	}
	if !tr.IsErrorRetryable(quota) {
		t.Error("NewTokenRetryer is the SDK's standard retryer, which counts LimitExceededException as throttling")
	}
}
