package config

import (
	"testing"
	"time"
)

func TestLoadGates(t *testing.T) {
	in := seed()
	for k, v := range map[string]string{
		"base_image": "scratch", "tag_sha": "false", "image_tags": "v1", "require_signature": "TRUE", "signature_timeout": "90s",
		"wait_for_replication": "true", "replication_timeout": "1h",
	} {
		in[k] = v
	}
	c, err := Load(env(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Gates{RequireSignature: true, SignatureTimeout: 90 * time.Second, WaitForReplication: true, ReplicationTimeout: time.Hour}
	if c.Gates != want {
		t.Errorf("Gates = %+v, want %+v", c.Gates, want)
	}
	// A retag waits too: the image named is the one the tags will name.
	in = seed()
	in["retag_from"], in["require_signature"], in["wait_for_replication"], in["tag_sha"], in["image_tags"] = "v1", "true", "true", "false", "v2"
	c, err = Load(env(in))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Gates.RequireSignature || !c.Gates.WaitForReplication || c.Gates.SignatureTimeout != 10*time.Minute || c.Gates.ReplicationTimeout != 30*time.Minute {
		t.Errorf("retag Gates = %+v", c.Gates)
	}
}
