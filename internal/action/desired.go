package action

import (
	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/reconcile"
)

// desiredRepository is the repository the inputs describe, as reconcile
// takes it (config parses inputs and imports no SDK; reconcile talks to ECR
// and does not read inputs).
func desiredRepository(c *config.Config) *reconcile.Desired {
	d := &reconcile.Desired{
		Repository:        c.Repository,
		ScanOnPush:        c.ScanOnPush,
		Mutability:        c.Mutability,
		MutabilityFilters: c.MutabilityFilters,
		EncryptionType:    c.EncryptionType,
		KMSKeyARN:         c.KMSKeyARN,
		LifecycleEnabled:  c.LifecycleEnabled,
		LifecyclePolicy:   c.LifecyclePolicy,
		LifecycleSource:   c.LifecycleSource,
		CrossAccount:      c.CrossAccount,
		AccountIDs:        c.AccountIDs,
	}
	for _, t := range c.ResourceTags {
		d.ResourceTags = append(d.ResourceTags, reconcile.ResourceTag{Key: t.Key, Value: t.Value})
	}
	return d
}
