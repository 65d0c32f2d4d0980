package action

import (
	"reflect"
	"testing"

	"github.com/org/ecr-action/internal/config"
)

// TestDesiredRepositoryTakesEveryField: a field added to reconcile.Desired
// and not filled from the config would be sent as its zero value.
func TestDesiredRepositoryTakesEveryField(t *testing.T) {
	c := &config.Config{
		Repository: "app", ScanOnPush: true,
		Mutability: "IMMUTABLE_WITH_EXCLUSION", MutabilityFilters: []string{"latest"},
		EncryptionType: "KMS", KMSKeyARN: "alias/app",
		LifecycleEnabled: true, LifecyclePolicy: `{"rules":[]}`, LifecycleSource: "generated",
		CrossAccount: true, AccountIDs: []string{"012345678901"},
		ResourceTags: []config.ResourceTag{{Key: "Project", Value: "p"}},
	}
	d := reflect.ValueOf(*desiredRepository(c))
	for i := range d.NumField() {
		if d.Field(i).IsZero() {
			t.Errorf("reconcile.Desired.%s is not taken from the config", d.Type().Field(i).Name)
		}
	}
	if got := desiredRepository(c).ResourceTags; len(got) != 1 || got[0].Key != "Project" || got[0].Value != "p" {
		t.Errorf("ResourceTags = %v", got)
	}
}
