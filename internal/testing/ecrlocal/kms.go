package ecrlocal

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// KMS keys, as far as ECR shows them. CreateRepository's kmsKey takes "the
// alias, key ID, or full ARN of the KMS key" (alias/NAME, an alias ARN, a key
// ID or a key ARN) and "the key must exist in the same Region as the
// repository" (EncryptionConfiguration in the API model); DescribeRepositories
// then reports the key ARN, whatever named it. A key ECR cannot use fails the
// create with KmsException, its kmsError the code KMS answered.
//
// ecrlocal knows the AWS managed key alias/aws/ecr of its account and region,
// and the customer managed keys a test or `ecrlocal -kms-key` creates with
// CreateKMSKey. It does not model other accounts' keys, key policies, grants
// or disabled keys: any key it does not know is "not found", the stricter
// reading.

// managedKMSAlias is the AWS managed key ECR uses when KMS encryption is
// asked for without a key.
const managedKMSAlias = "alias/aws/ecr"

var (
	// KMS: alias names are alias/ followed by letters, digits, '/', '_' and
	// '-' (1 to 256 characters); alias/aws/ is reserved for AWS managed keys.
	kmsAliasRule = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
	kmsKeyIDRule = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	kmsARNRule   = regexp.MustCompile(`^arn:(aws[a-z-]*):kms:([a-z0-9-]+):([0-9]{12}):(key/.+|alias/.+)$`)
)

// kmsKeyring holds the customer managed keys; its zero value is empty and
// ready. It has its own lock: CreateRepository asks it while holding none.
type kmsKeyring struct {
	mu      sync.Mutex
	keys    map[string]bool   // key ID
	aliases map[string]string // alias/NAME -> key ID
	made    int
}

// CreateKMSKey creates a customer managed KMS key in the server's account and
// region, with alias (alias/NAME) pointing at it when alias is not empty, and
// returns the key ARN. Key IDs are derived from the account, region and the
// order of creation, so a run is repeatable.
func (s *Server) CreateKMSKey(alias string) (string, error) {
	k := &s.kms
	k.mu.Lock()
	defer k.mu.Unlock()
	if alias != "" {
		if !kmsAliasRule.MatchString(alias) {
			return "", fmt.Errorf("KMS alias %q must be alias/ followed by letters, digits, '/', '_' or '-'", alias)
		}
		if strings.HasPrefix(alias, "alias/aws/") {
			return "", fmt.Errorf("KMS alias %q: the prefix alias/aws/ is reserved for AWS managed keys", alias)
		}
		if _, taken := k.aliases[alias]; taken {
			return "", fmt.Errorf("KMS alias %q already exists", alias)
		}
	}
	if k.keys == nil {
		k.keys, k.aliases = map[string]bool{}, map[string]string{}
	}
	k.made++
	id := uuidFrom(fmt.Sprintf("customer-key:%s:%s:%d", s.account, s.region, k.made))
	k.keys[id] = true
	if alias != "" {
		k.aliases[alias] = id
	}
	return s.kmsKeyARN(id), nil
}

func (s *Server) kmsKeyARN(id string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", s.region, s.account, id)
}

// managedKMSKeyID is the ID of the AWS managed aws/ecr key: made up, but
// stable per account and region as the real one is.
func (s *Server) managedKMSKeyID() string {
	return uuidFrom("aws/ecr:" + s.account + ":" + s.region)
}

func uuidFrom(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	h := fmt.Sprintf("%x", sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// resolveKMSKey is what CreateRepository does with encryptionConfiguration.kmsKey:
// the key ARN of the key it names, or KmsException when there is no such key
// in this account and region.
func (s *Server) resolveKMSKey(given string) (string, *apiError) {
	if given == "" {
		return s.kmsKeyARN(s.managedKMSKeyID()), nil
	}
	name := given
	if m := kmsARNRule.FindStringSubmatch(given); m != nil {
		if m[1] != "aws" || m[2] != s.region || m[3] != s.account {
			return "", kmsNotFound(given, fmt.Sprintf("the key must exist in the same Region as the repository (%s) and ecrlocal knows only the keys of account %s", s.region, s.account))
		}
		name = m[4]
	} else if strings.HasPrefix(given, "arn:") {
		return "", invalidParameter("encryptionConfiguration.kmsKey", fmt.Sprintf("%q is not a KMS key ARN or alias ARN (arn:aws:kms:<region>:<account>:key/<id> or :alias/<name>)", given))
	}
	if name == managedKMSAlias {
		return s.kmsKeyARN(s.managedKMSKeyID()), nil
	}
	k := &s.kms
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case strings.HasPrefix(name, "alias/"):
		if id, ok := k.aliases[name]; ok {
			return s.kmsKeyARN(id), nil
		}
		return "", kmsNotFound(given, fmt.Sprintf("Alias arn:aws:kms:%s:%s:%s is not found", s.region, s.account, name))
	case strings.HasPrefix(name, "key/"):
		name = strings.TrimPrefix(name, "key/")
	}
	if name == s.managedKMSKeyID() || k.keys[name] {
		return s.kmsKeyARN(name), nil
	}
	if !kmsKeyIDRule.MatchString(name) {
		return "", kmsNotFound(given, fmt.Sprintf("Invalid keyId '%s'", name))
	}
	return "", kmsNotFound(given, fmt.Sprintf("Key '%s' does not exist", s.kmsKeyARN(name)))
}

func kmsNotFound(given, why string) *apiError {
	return &apiError{code: "KmsException", msg: fmt.Sprintf("The KMS key %q cannot be used to encrypt the repository: %s", given, why), fields: map[string]string{"kmsError": "NotFoundException"}}
}
