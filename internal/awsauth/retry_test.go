package awsauth

import (
	"errors"
	"fmt"
	"net"
	"syscall"
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

// TestReadAgain: a paced wait reads again after throttling, a server
// fault or a broken connection, never after AccessDenied or a validation
// error.
func TestReadAgain(t *testing.T) {
	op := func(err error) error {
		return &smithy.OperationError{ServiceID: "ECR", OperationName: "DescribeImageSigningStatus", Err: err}
	}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"throttled", op(&smithy.GenericAPIError{Code: "ThrottlingException"}), true},
		{"server fault", op(&smithy.GenericAPIError{Code: "ServerException", Fault: smithy.FaultServer}), true},
		{"connection reset", op(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"access denied", op(&smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultClient}), false},
		{"validation", op(&smithy.GenericAPIError{Code: "InvalidParameterException", Fault: smithy.FaultClient}), false},
	} {
		if got := ReadAgain(c.err); got != c.want {
			t.Errorf("%s: ReadAgain = %v, want %v", c.name, got, c.want)
		}
	}
}
