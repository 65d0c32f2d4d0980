package reconcile

import "strings"

// How the KMS key the inputs name compares with the one ECR reports.
type keyMatch int

const (
	keySame      keyMatch = iota // the same key
	keyDifferent                 // different keys: drift
	keyUnknown                   // an alias against a key: only KMS can tell
)

// kmsRef is a KMS key named one of the four ways CreateRepository accepts:
// a key ARN, a key ID, an alias ARN or alias/NAME.
type kmsRef struct {
	alias           bool   // names an alias, not a key
	name            string // the key ID, or alias/NAME
	region, account string // "" when the form does not say
}

func parseKMSRef(s string) kmsRef {
	if rest, ok := strings.CutPrefix(s, "arn:"); ok {
		// arn:<partition>:kms:<region>:<account>:key/<id> or :alias/<name>
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) == 5 {
			ref := kmsRef{region: parts[2], account: parts[3]}
			if id, ok := strings.CutPrefix(parts[4], "key/"); ok {
				ref.name = id
				return ref
			}
			ref.alias, ref.name = true, parts[4]
			return ref
		}
		return kmsRef{name: s}
	}
	if strings.HasPrefix(s, "alias/") {
		return kmsRef{alias: true, name: s}
	}
	return kmsRef{name: s}
}

// compareKMSKeys compares the key the inputs name (want) with the one ECR
// reports (found; ECR reports the key ARN, whatever named the key at
// creation). A key ID and a key ARN compare by the key ID, and by region and
// account where both say; an alias compares only with an alias. An alias
// against a key ARN cannot be resolved without KMS (kms:DescribeKey, which
// the action does not call), so it is keyUnknown: never drift.
func compareKMSKeys(want, found string) keyMatch {
	w, f := parseKMSRef(want), parseKMSRef(found)
	if w.alias != f.alias {
		return keyUnknown
	}
	if !strings.EqualFold(w.name, f.name) {
		return keyDifferent
	}
	if (w.region != "" && f.region != "" && w.region != f.region) || (w.account != "" && f.account != "" && w.account != f.account) {
		return keyDifferent
	}
	return keySame
}
