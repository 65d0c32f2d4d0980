package image

import (
	"errors"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// IsNameUnknown reports the registry's NAME_UNKNOWN: the repository does
// not exist, or, right after CreateRepository, does not exist yet for the
// registry (ECR creates repositories asynchronously; see internal/settle).
func IsNameUnknown(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
