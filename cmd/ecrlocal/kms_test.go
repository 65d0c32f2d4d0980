package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestRunCreatesKMSKeys(t *testing.T) {
	url := startRun(t, "-kms-key", "alias/app", "-kms-key", "alias/team/other")
	code, out := callAPI(t, url, "CreateRepository", `{"repositoryName":"app","encryptionConfiguration":{"encryptionType":"KMS","kmsKey":"alias/app"}}`)
	if code != 200 {
		t.Fatalf("CreateRepository with -kms-key's alias = %d %v", code, out)
	}
	key, _ := out["repository"].(map[string]any)["encryptionConfiguration"].(map[string]any)["kmsKey"].(string)
	if !strings.HasPrefix(key, "arn:aws:kms:us-east-1:123456789012:key/") {
		t.Errorf("kmsKey = %q, want the key ARN", key)
	}
	code, out = callAPI(t, url, "CreateRepository", `{"repositoryName":"nokey","encryptionConfiguration":{"encryptionType":"KMS","kmsKey":"alias/missing"}}`)
	if code != 400 || out["__type"] != "KmsException" {
		t.Errorf("CreateRepository with an unknown alias = %d %v, want 400 KmsException", code, out)
	}
	for _, bad := range []string{"app", "alias/aws/ecr"} {
		if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-kms-key", bad}, io.Discard, io.Discard); err == nil {
			t.Errorf("-kms-key %s accepted", bad)
		}
	}
}
