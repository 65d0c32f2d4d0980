package reconcile

import (
	"context"
	"strings"
	"testing"
)

func TestCompareKMSKeys(t *testing.T) {
	const (
		arn   = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		id    = "1234abcd-12ab-34cd-56ef-1234567890ab"
		other = "arn:aws:kms:us-east-1:123456789012:key/99999999-12ab-34cd-56ef-1234567890ab"
	)
	for _, tc := range []struct {
		want, found string
		match       keyMatch
	}{
		{arn, arn, keySame},
		{id, arn, keySame},
		{strings.ToUpper(id), arn, keySame},
		{arn, other, keyDifferent},
		{id, other, keyDifferent},
		{"arn:aws:kms:eu-west-1:123456789012:key/" + id, arn, keyDifferent},
		{"arn:aws:kms:us-east-1:999999999999:key/" + id, arn, keyDifferent},
		{"alias/app", arn, keyUnknown},
		{"arn:aws:kms:us-east-1:123456789012:alias/app", arn, keyUnknown},
		{arn, "alias/app", keyUnknown},
		{"alias/app", "arn:aws:kms:us-east-1:123456789012:alias/app", keySame},
		{"alias/app", "alias/other", keyDifferent},
	} {
		if got := compareKMSKeys(tc.want, tc.found); got != tc.match {
			t.Errorf("compareKMSKeys(%q, %q) = %d, want %d", tc.want, tc.found, got, tc.match)
		}
	}
}

// ECR answers the key ARN whatever named the key at creation; the second
// run must not call that drift.
func TestKMSKeyNamedAnotherWayIsNotDrift(t *testing.T) {
	ctx := context.Background()
	srv, client := newECR(t)
	keyARN, err := srv.CreateKMSKey("alias/app")
	if err != nil {
		t.Fatal(err)
	}
	keyID := keyARN[strings.LastIndex(keyARN, "/")+1:]
	for _, tc := range []struct {
		name, key string
		action    Action
		note      bool
	}{
		{"key ARN", keyARN, Unchanged, false},
		{"key ID", keyID, Unchanged, false},
		{"alias", "alias/app", NotCompared, true},
		{"alias ARN", "arn:aws:kms:us-east-1:123456789012:alias/app", NotCompared, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, map[string]string{"repository_name": "key-" + strings.ToLower(strings.ReplaceAll(tc.name, " ", "-")), "encryption_type": "KMS", "kms_key_arn": tc.key})
			if _, err := Reconcile(ctx, client, c); err != nil {
				t.Fatalf("first run: %v", err)
			}
			res, err := Reconcile(ctx, client, c)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if a := actions(res)["Encryption"]; a != tc.action || len(res.Drift) != 0 {
				t.Errorf("second run: Encryption %q, drift %q; want %q and no drift", a, res.Drift, tc.action)
			}
			noted := strings.Contains(strings.Join(res.Notes, "\n"), "encryption key not compared: ECR reports the key ARN "+keyARN+", the input kms_key_arn names the alias "+tc.key)
			if noted != tc.note {
				t.Errorf("notes = %q, want the not-compared note: %v", res.Notes, tc.note)
			}
		})
	}

	// A different key is drift, whichever way it is named.
	other, err := srv.CreateKMSKey("")
	if err != nil {
		t.Fatal(err)
	}
	c := load(t, map[string]string{"repository_name": "key-drift", "encryption_type": "KMS", "kms_key_arn": keyID})
	if _, err := Reconcile(ctx, client, c); err != nil {
		t.Fatal(err)
	}
	c.KMSKeyARN = other[strings.LastIndex(other, "/")+1:]
	res, err := Reconcile(ctx, client, c)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["Encryption"]; a != Drift || len(res.Drift) != 1 {
		t.Errorf("another key: Encryption %q, drift %q; want drift", a, res.Drift)
	}
}
