// Package reconcile brings one ECR repository to the desired state: it reads
// first and writes only what differs, so an unchanged run makes no write call.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/settle"
)

// API is the part of the ECR client reconcile uses.
type API interface {
	DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(context.Context, *ecr.CreateRepositoryInput, ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
	PutImageScanningConfiguration(context.Context, *ecr.PutImageScanningConfigurationInput, ...func(*ecr.Options)) (*ecr.PutImageScanningConfigurationOutput, error)
	PutImageTagMutability(context.Context, *ecr.PutImageTagMutabilityInput, ...func(*ecr.Options)) (*ecr.PutImageTagMutabilityOutput, error)
	GetLifecyclePolicy(context.Context, *ecr.GetLifecyclePolicyInput, ...func(*ecr.Options)) (*ecr.GetLifecyclePolicyOutput, error)
	PutLifecyclePolicy(context.Context, *ecr.PutLifecyclePolicyInput, ...func(*ecr.Options)) (*ecr.PutLifecyclePolicyOutput, error)
	DeleteLifecyclePolicy(context.Context, *ecr.DeleteLifecyclePolicyInput, ...func(*ecr.Options)) (*ecr.DeleteLifecyclePolicyOutput, error)
	GetRepositoryPolicy(context.Context, *ecr.GetRepositoryPolicyInput, ...func(*ecr.Options)) (*ecr.GetRepositoryPolicyOutput, error)
	SetRepositoryPolicy(context.Context, *ecr.SetRepositoryPolicyInput, ...func(*ecr.Options)) (*ecr.SetRepositoryPolicyOutput, error)
	DeleteRepositoryPolicy(context.Context, *ecr.DeleteRepositoryPolicyInput, ...func(*ecr.Options)) (*ecr.DeleteRepositoryPolicyOutput, error)
	ListTagsForResource(context.Context, *ecr.ListTagsForResourceInput, ...func(*ecr.Options)) (*ecr.ListTagsForResourceOutput, error)
	TagResource(context.Context, *ecr.TagResourceInput, ...func(*ecr.Options)) (*ecr.TagResourceOutput, error)
}

// Action is what the action did to a setting.
type Action string

const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Drift     Action = "drift"
	Removed   Action = "removed"
	Kept      Action = "kept"
	// NotCompared: the action cannot tell whether the setting matches
	// (a KMS alias against the key ARN ECR reports); a note says why.
	NotCompared Action = "not compared"
)

// Change is one row of the result: a setting, its desired and found values,
// and what the action did.
type Change struct {
	Setting, Desired, Found string
	Action                  Action
}

// Repository identifies the reconciled repository, from ECR's own answers.
type Repository struct {
	Name, URI, ARN, RegistryID string
}

// RegistryURL is the registry host of the repository URI, for docker login.
func (r Repository) RegistryURL() string {
	host, _, _ := strings.Cut(r.URI, "/")
	return host
}

// Result is what a run found and did.
type Result struct {
	Repository Repository
	Created    bool
	Changes    []Change
	// Drift lists differences the action must not fix (encryption is fixed
	// at creation), each as a sentence with the way out.
	Drift []string
	// Notes are things worth telling that are neither changes nor drift.
	Notes []string
	// Writes counts the write calls this run made.
	Writes int
	// Fresh is true when the repository was created during this run, by
	// this job or by one racing it: ECR may not show it everywhere yet
	// (see internal/settle), so later calls naming it, the registry's
	// included, should tolerate "not found" for a short while.
	Fresh bool
	// Settled is how long calls waited for a fresh repository to appear.
	Settled time.Duration
}

// Options tune Reconcile.
type Options struct {
	// Settle is how calls naming a repository created during the run are
	// retried while ECR still answers RepositoryNotFoundException; the
	// zero value is settle's defaults.
	Settle settle.Policy
}

// Desired is the repository a run ensures, as the inputs describe it
// (checked already: reconcile sends what it is given).
type Desired struct {
	Repository string
	ScanOnPush bool
	// Mutability is an ImageTagMutability value; MutabilityFilters are the
	// exclusion filters of the *_WITH_EXCLUSION modes.
	Mutability        string
	MutabilityFilters []string
	// EncryptionType and KMSKeyARN are set at creation only; a difference
	// found later is drift.
	EncryptionType string
	KMSKeyARN      string
	// LifecycleEnabled: the repository has LifecyclePolicy (generated or
	// given; LifecycleSource says which), or none when false.
	LifecycleEnabled bool
	LifecyclePolicy  string
	LifecycleSource  string
	// CrossAccount: AccountIDs may pull, through the action's statement of
	// the repository policy.
	CrossAccount bool
	AccountIDs   []string
	// ResourceTags are the repository's tags, in the order to create them.
	ResourceTags []ResourceTag
}

// ResourceTag is one tag of the repository (not of an image).
type ResourceTag struct{ Key, Value string }

// Reconcile ensures the repository c describes.
func Reconcile(ctx context.Context, api API, c *Desired) (*Result, error) {
	return ReconcileWith(ctx, api, c, Options{})
}

// ReconcileWith is Reconcile with options.
func ReconcileWith(ctx context.Context, api API, c *Desired, o Options) (*Result, error) {
	r := &reconciler{api: api, c: c, res: &Result{}, settle: o.Settle}
	if err := r.run(ctx); err != nil {
		return r.res, err
	}
	return r.res, nil
}

type reconciler struct {
	api    API
	c      *Desired
	res    *Result
	settle settle.Policy
}

// IsRepositoryNotFound reports ECR's RepositoryNotFoundException.
func IsRepositoryNotFound(err error) bool {
	var nf *types.RepositoryNotFoundException
	return errors.As(err, &nf)
}

// call runs fn, one ECR call naming the repository. Once the repository is
// fresh (created during this run), RepositoryNotFoundException is retried
// with settle's bounded backoff.
func (r *reconciler) call(ctx context.Context, fn func() error) error {
	if !r.res.Fresh {
		return fn()
	}
	st, err := r.settle.Do(ctx, fn, IsRepositoryNotFound)
	r.res.Settled += st.Waited
	return err
}

func (r *reconciler) add(setting, desired, found string, action Action) {
	r.res.Changes = append(r.res.Changes, Change{setting, desired, found, action})
}

func (r *reconciler) run(ctx context.Context) error {
	name := r.c.Repository
	repo, err := r.describe(ctx)
	if err != nil {
		return err
	}
	if repo == nil {
		repo, err = r.create(ctx)
		if err != nil {
			return err
		}
	}
	r.res.Repository = Repository{
		Name:       aws.ToString(repo.RepositoryName),
		URI:        aws.ToString(repo.RepositoryUri),
		ARN:        aws.ToString(repo.RepositoryArn),
		RegistryID: aws.ToString(repo.RegistryId),
	}
	if r.res.Repository.Name == "" {
		r.res.Repository.Name = name
	}
	if !r.res.Created {
		r.add("Repository", name, name, Unchanged)
		r.checkEncryption(repo)
		if err := r.scanOnPush(ctx, repo); err != nil {
			return err
		}
		if err := r.mutability(ctx, repo); err != nil {
			return err
		}
	}
	if err := r.lifecycle(ctx); err != nil {
		return err
	}
	if err := r.repositoryPolicy(ctx); err != nil {
		return err
	}
	return r.tags(ctx)
}

func (r *reconciler) describe(ctx context.Context) (*types.Repository, error) {
	out, err := r.api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{r.c.Repository}})
	var notFound *types.RepositoryNotFoundException
	switch {
	case errors.As(err, &notFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("describing repository %q: %w", r.c.Repository, err)
	case len(out.Repositories) == 0:
		return nil, nil
	}
	return &out.Repositories[0], nil
}

func (r *reconciler) create(ctx context.Context) (*types.Repository, error) {
	c := r.c
	in := &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(c.Repository),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: c.ScanOnPush},
		ImageTagMutability:         types.ImageTagMutability(c.Mutability),
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionType(c.EncryptionType)},
	}
	if c.KMSKeyARN != "" {
		in.EncryptionConfiguration.KmsKey = aws.String(c.KMSKeyARN)
	}
	for _, f := range c.MutabilityFilters {
		in.ImageTagMutabilityExclusionFilters = append(in.ImageTagMutabilityExclusionFilters, types.ImageTagMutabilityExclusionFilter{
			Filter: aws.String(f), FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard,
		})
	}
	for _, t := range c.ResourceTags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	r.res.Writes++
	out, err := r.api.CreateRepository(ctx, in)
	var exists *types.RepositoryAlreadyExistsException
	if errors.As(err, &exists) {
		// Another job created it between our read and our write: reconcile
		// the repository as it is. Its create may not have settled yet, so
		// reads can still answer RepositoryNotFoundException for a while.
		r.res.Fresh = true
		var repo *types.Repository
		err := r.call(ctx, func() error {
			out, err := r.api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{c.Repository}})
			if err == nil && len(out.Repositories) == 0 {
				return fmt.Errorf("DescribeRepositories returned no repository: %w", &types.RepositoryNotFoundException{Message: aws.String("empty answer")})
			}
			if err == nil {
				repo = &out.Repositories[0]
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("creating repository %q: ECR said it exists (another job created it), then that it does not: %w", c.Repository, err)
		}
		r.res.Notes = append(r.res.Notes, "another job created the repository at the same time; its settings were reconciled")
		r.add("Repository", c.Repository, c.Repository, Unchanged)
		r.checkEncryption(repo)
		if err := r.scanOnPush(ctx, repo); err != nil {
			return nil, err
		}
		if err := r.mutability(ctx, repo); err != nil {
			return nil, err
		}
		return repo, nil
	}
	if err != nil {
		return nil, fmt.Errorf("creating repository %q: %w", c.Repository, err)
	}
	r.res.Created = true
	r.res.Fresh = true
	r.add("Repository", c.Repository, "(none)", Created)
	r.add("Encryption", encryptionText(c.EncryptionType, c.KMSKeyARN), "(none)", Created)
	r.add("Scan on push", fmt.Sprint(c.ScanOnPush), "(none)", Created)
	r.add("Tag mutability", mutabilityText(c.Mutability, c.MutabilityFilters), "(none)", Created)
	return out.Repository, nil
}

func encryptionText(typ, key string) string {
	if key == "" {
		if typ == policy.EncryptionAES256 {
			return typ
		}
		return typ + " (AWS-managed key)"
	}
	return typ + " " + key
}

func mutabilityText(mode string, filters []string) string {
	if len(filters) == 0 {
		return mode
	}
	return mode + " except " + strings.Join(filters, ", ")
}

func (r *reconciler) checkEncryption(repo *types.Repository) {
	c := r.c
	foundType, foundKey := policy.EncryptionAES256, ""
	if e := repo.EncryptionConfiguration; e != nil {
		if e.EncryptionType != "" {
			foundType = string(e.EncryptionType)
		}
		foundKey = aws.ToString(e.KmsKey)
	}
	desired := encryptionText(c.EncryptionType, c.KMSKeyARN)
	found := foundType
	if foundKey != "" {
		found += " " + foundKey
	}
	same := foundType == c.EncryptionType
	if same && c.KMSKeyARN != "" {
		switch compareKMSKeys(c.KMSKeyARN, foundKey) {
		case keyDifferent:
			same = false
		case keyUnknown:
			r.add("Encryption", desired, found, NotCompared)
			what := fmt.Sprintf("ECR reports the key ARN %s, the input kms_key_arn names the alias %s", foundKey, c.KMSKeyARN)
			if !parseKMSRef(c.KMSKeyARN).alias {
				what = fmt.Sprintf("ECR reports the alias %s, the input kms_key_arn names the key %s", foundKey, c.KMSKeyARN)
			}
			r.res.Notes = append(r.res.Notes, "encryption key not compared: "+what+
				", and only KMS can say which key an alias points to (the action makes no KMS call); no drift is reported. Set kms_key_arn to the key ARN to have it compared")
			return
		}
	}
	if same {
		r.add("Encryption", desired, found, Unchanged)
		return
	}
	r.add("Encryption", desired, found, Drift)
	r.res.Drift = append(r.res.Drift, fmt.Sprintf(
		"repository %q is encrypted with %s but encryption_type/kms_key_arn ask for %s. ECR fixes encryption when a repository is created, so the action leaves it as it is; to change it, create a new repository (for example with the repository input) and move the images, or set the inputs to match",
		c.Repository, found, desired))
}

func (r *reconciler) scanOnPush(ctx context.Context, repo *types.Repository) error {
	found := repo.ImageScanningConfiguration != nil && repo.ImageScanningConfiguration.ScanOnPush
	if found == r.c.ScanOnPush {
		r.add("Scan on push", fmt.Sprint(r.c.ScanOnPush), fmt.Sprint(found), Unchanged)
		return nil
	}
	r.res.Writes++
	if err := r.call(ctx, func() error {
		_, err := r.api.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
			RepositoryName:             aws.String(r.c.Repository),
			ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: r.c.ScanOnPush},
		})
		return err
	}); err != nil {
		return fmt.Errorf("setting scan on push of %q: %w", r.c.Repository, err)
	}
	r.add("Scan on push", fmt.Sprint(r.c.ScanOnPush), fmt.Sprint(found), Updated)
	return nil
}

func (r *reconciler) mutability(ctx context.Context, repo *types.Repository) error {
	foundMode := string(repo.ImageTagMutability)
	if foundMode == "" {
		foundMode = policy.Mutable
	}
	var foundFilters []string
	for _, f := range repo.ImageTagMutabilityExclusionFilters {
		foundFilters = append(foundFilters, aws.ToString(f.Filter))
	}
	desired := mutabilityText(r.c.Mutability, r.c.MutabilityFilters)
	found := mutabilityText(foundMode, foundFilters)
	if foundMode == r.c.Mutability && sameSet(foundFilters, r.c.MutabilityFilters) {
		r.add("Tag mutability", desired, found, Unchanged)
		return nil
	}
	in := &ecr.PutImageTagMutabilityInput{
		RepositoryName:     aws.String(r.c.Repository),
		ImageTagMutability: types.ImageTagMutability(r.c.Mutability),
	}
	for _, f := range r.c.MutabilityFilters {
		in.ImageTagMutabilityExclusionFilters = append(in.ImageTagMutabilityExclusionFilters, types.ImageTagMutabilityExclusionFilter{
			Filter: aws.String(f), FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard,
		})
	}
	r.res.Writes++
	if err := r.call(ctx, func() error { _, err := r.api.PutImageTagMutability(ctx, in); return err }); err != nil {
		return fmt.Errorf("setting tag mutability of %q: %w", r.c.Repository, err)
	}
	r.add("Tag mutability", desired, found, Updated)
	return nil
}

func (r *reconciler) lifecycle(ctx context.Context) error {
	c := r.c
	found := ""
	if !r.res.Created {
		var out *ecr.GetLifecyclePolicyOutput
		err := r.call(ctx, func() (err error) {
			out, err = r.api.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(c.Repository)})
			return err
		})
		var none *types.LifecyclePolicyNotFoundException
		switch {
		case errors.As(err, &none):
		case err != nil:
			return fmt.Errorf("reading the lifecycle policy of %q: %w", c.Repository, err)
		default:
			found = aws.ToString(out.LifecyclePolicyText)
		}
	}
	foundText := describeLifecycle(found)
	if !c.LifecycleEnabled {
		switch {
		case found == "":
			r.add("Lifecycle policy", "(none)", foundText, Unchanged)
		case policy.IsGeneratedLifecyclePolicy(found):
			r.res.Writes++
			if err := r.call(ctx, func() error {
				_, err := r.api.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String(c.Repository)})
				return err
			}); err != nil {
				return fmt.Errorf("removing the lifecycle policy of %q: %w", c.Repository, err)
			}
			r.add("Lifecycle policy", "(none)", foundText, Removed)
		default:
			r.add("Lifecycle policy", "(none)", foundText, Kept)
			r.res.Notes = append(r.res.Notes, "enable_lifecycle_policy is false but the repository has a lifecycle policy this action did not generate; it was left in place (remove it yourself if it should go)")
		}
		return nil
	}
	desired := describeLifecycle(c.LifecyclePolicy)
	if c.LifecycleSource != "generated" {
		desired = "from " + c.LifecycleSource + ": " + desired
	}
	if found != "" && policy.EqualLifecyclePolicies(found, c.LifecyclePolicy) {
		r.add("Lifecycle policy", desired, foundText, Unchanged)
		return nil
	}
	r.res.Writes++
	if err := r.call(ctx, func() error {
		_, err := r.api.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{
			RepositoryName:      aws.String(c.Repository),
			LifecyclePolicyText: aws.String(c.LifecyclePolicy),
		})
		return err
	}); err != nil {
		return fmt.Errorf("putting the lifecycle policy of %q: %w", c.Repository, err)
	}
	action := Updated
	if found == "" {
		action = Created
	}
	r.add("Lifecycle policy", desired, foundText, action)
	return nil
}

// describeLifecycle summarises a lifecycle policy in a line.
func describeLifecycle(doc string) string {
	if doc == "" {
		return "(none)"
	}
	var p policy.LifecyclePolicy
	if json.Unmarshal([]byte(doc), &p) != nil {
		return "(unreadable policy)"
	}
	sort.SliceStable(p.Rules, func(i, j int) bool { return p.Rules[i].RulePriority < p.Rules[j].RulePriority })
	parts := make([]string, 0, len(p.Rules))
	for _, rule := range p.Rules {
		s := rule.Selection
		what := map[string]string{"any": "images", "untagged": "untagged images", "tagged": "tagged images"}[s.TagStatus]
		if len(s.TagPatternList) > 0 {
			what = "tagged " + strings.Join(s.TagPatternList, "+")
		} else if len(s.TagPrefixList) > 0 {
			what = "tagged " + strings.Join(s.TagPrefixList, "|") + "*"
		}
		switch {
		case s.CountType == "imageCountMoreThan" && s.CountNumber == policy.ProtectCountNumber && s.TagStatus == "tagged":
			parts = append(parts, fmt.Sprintf("%d. protect %s", rule.RulePriority, what))
		case s.CountType == "imageCountMoreThan":
			parts = append(parts, fmt.Sprintf("%d. keep last %d %s", rule.RulePriority, s.CountNumber, what))
		default:
			parts = append(parts, fmt.Sprintf("%d. %s %s older than %d %s", rule.RulePriority, rule.Action.Type, what, s.CountNumber, s.CountUnit))
		}
	}
	return strings.Join(parts, "; ")
}

func (r *reconciler) repositoryPolicy(ctx context.Context) error {
	c := r.c
	var accounts []string
	if c.CrossAccount {
		accounts = c.AccountIDs
	}
	desiredText := "(no cross-account access)"
	if len(accounts) > 0 {
		desiredText = "pull for " + strings.Join(accounts, ", ")
	}
	found := ""
	if !r.res.Created {
		var out *ecr.GetRepositoryPolicyOutput
		err := r.call(ctx, func() (err error) {
			out, err = r.api.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(c.Repository)})
			return err
		})
		var none *types.RepositoryPolicyNotFoundException
		switch {
		case errors.As(err, &none):
		case err != nil:
			return fmt.Errorf("reading the repository policy of %q: %w", c.Repository, err)
		default:
			found = aws.ToString(out.PolicyText)
		}
	} else if len(accounts) == 0 {
		r.add("Cross-account pull", desiredText, "(none)", Unchanged)
		return nil
	}
	foundText := "(none)"
	if ids := policy.OwnedStatementAccounts(found); ids != nil {
		foundText = "pull for " + strings.Join(ids, ", ")
	}
	merged, err := policy.MergeCrossAccount(found, partition(r.res.Repository.ARN), accounts)
	if err != nil {
		return fmt.Errorf("merging the cross-account statement into the policy of %q: %w", c.Repository, err)
	}
	switch {
	case merged == "" && found == "":
		r.add("Cross-account pull", desiredText, foundText, Unchanged)
	case merged == "":
		r.res.Writes++
		if err := r.call(ctx, func() error {
			_, err := r.api.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String(c.Repository)})
			return err
		}); err != nil {
			return fmt.Errorf("removing the repository policy of %q: %w", c.Repository, err)
		}
		r.add("Cross-account pull", desiredText, foundText, Removed)
	case policy.EqualRepositoryPolicies(found, merged):
		r.add("Cross-account pull", desiredText, foundText, Unchanged)
	default:
		r.res.Writes++
		if err := r.call(ctx, func() error {
			_, err := r.api.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{
				RepositoryName: aws.String(c.Repository),
				PolicyText:     aws.String(merged),
			})
			return err
		}); err != nil {
			return fmt.Errorf("setting the repository policy of %q: %w", c.Repository, err)
		}
		action := Updated
		switch {
		case len(accounts) == 0:
			action = Removed
		case foundText == "(none)":
			action = Created
		}
		r.add("Cross-account pull", desiredText, foundText, action)
	}
	return nil
}

// partition returns the ARN partition ("aws", "aws-cn", "aws-us-gov").
func partition(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) >= 2 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

func (r *reconciler) tags(ctx context.Context) error {
	c := r.c
	desired := make([]string, 0, len(c.ResourceTags))
	for _, t := range c.ResourceTags {
		desired = append(desired, t.Key+"="+t.Value)
	}
	desiredText := strings.Join(desired, ", ")
	if r.res.Created {
		r.add("Tags", desiredText, "(none)", Created)
		return nil
	}
	var out *ecr.ListTagsForResourceOutput
	err := r.call(ctx, func() (err error) {
		out, err = r.api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(r.res.Repository.ARN)})
		return err
	})
	if err != nil {
		return fmt.Errorf("listing the tags of %q: %w", c.Repository, err)
	}
	found := map[string]string{}
	var foundList []string
	for _, t := range out.Tags {
		found[aws.ToString(t.Key)] = aws.ToString(t.Value)
		foundList = append(foundList, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(foundList)
	foundText := strings.Join(foundList, ", ")
	if foundText == "" {
		foundText = "(none)"
	}
	var missing []types.Tag
	for _, t := range c.ResourceTags {
		if v, ok := found[t.Key]; !ok || v != t.Value {
			missing = append(missing, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		}
	}
	if len(missing) == 0 {
		r.add("Tags", desiredText, foundText, Unchanged)
		return nil
	}
	r.res.Writes++
	if err := r.call(ctx, func() error {
		_, err := r.api.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(r.res.Repository.ARN), Tags: missing})
		return err
	}); err != nil {
		return fmt.Errorf("tagging repository %q: %w", c.Repository, err)
	}
	r.add("Tags", desiredText, foundText, Updated)
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		if m[s] == 0 {
			return false
		}
		m[s]--
	}
	return true
}
