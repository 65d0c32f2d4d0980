package main

import (
	"os"
	"strings"
	"testing"
)

// Blob mounts (issue 14, item 7): the log and the summary count the layers
// uploaded, mounted from another repository of the registry, and already in
// the repository; a layer from another repository that was uploaded instead
// of mounted gets the reason, read from the BLOB_MOUNTING account setting,
// and the command that turns it on.
func TestMountCountsAndBlobMountingSetting(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	writeOCI(t, j.workspace("out"), testImage(t, 3))
	if out := e.runJob(t, j, seedInputs("repository", "base", "source", "oci:out")); out.ExitCode != 0 {
		t.Fatalf("push base: exit %d\n%s", out.ExitCode, out.Log)
	}
	host := strings.TrimPrefix(e.url, "http://")
	src := "docker://" + host + "/base:" + shortSHA
	want := func(t *testing.T, what, text string, subs ...string) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(text, s) {
				t.Errorf("%s lacks %q:\n%s", what, s, text)
			}
		}
	}

	// BLOB_MOUNTING off (ECR's default): every layer is uploaded.
	e.srv.ResetCalls()
	out := e.runJob(t, j, seedInputs("repository", "copy-off", "source", src))
	if out.ExitCode != 0 {
		t.Fatalf("copy with mounting off: exit %d\n%s", out.ExitCode, out.Log)
	}
	want(t, "log (mounting off)", out.Log,
		"layers: 3 uploaded, 0 mounted from another repository, 0 already in the repository",
		"3 layer(s) from base were uploaded, not mounted: the account setting BLOB_MOUNTING is DISABLED",
		"aws ecr put-account-setting --name BLOB_MOUNTING --value ENABLED")
	want(t, "summary (mounting off)", out.Summary,
		"- Layers: 3 uploaded, 0 mounted from another repository, 0 already in the repository",
		"- Blob mounting: 3 layer(s) from base were uploaded", "`aws ecr put-account-setting --name BLOB_MOUNTING --value ENABLED`")
	if n := e.srv.Calls()["GetAccountSetting"]; n != 1 {
		t.Errorf("GetAccountSetting called %d times, want 1", n)
	}

	// On: every layer is mounted, nothing to explain, no setting read.
	enableBlobMounting(t, e)
	e.srv.ResetCalls()
	out = e.runJob(t, j, seedInputs("repository", "copy-on", "source", src))
	if out.ExitCode != 0 {
		t.Fatalf("copy with mounting on: exit %d\n%s", out.ExitCode, out.Log)
	}
	want(t, "log (mounting on)", out.Log, "layers: 0 uploaded, 3 mounted from another repository, 0 already in the repository")
	want(t, "summary (mounting on)", out.Summary, "- Layers: 0 uploaded, 3 mounted from another repository, 0 already in the repository")
	if strings.Contains(out.Summary, "Blob mounting") || e.srv.Calls()["GetAccountSetting"] != 0 {
		t.Errorf("mounting on: a blob mounting note or a GetAccountSetting call (%v)\n%s", e.srv.Calls(), out.Summary)
	}

	// A build on the base into a repository that has its layers: they are
	// already there, and the new layer is uploaded.
	if err := os.WriteFile(j.workspace("hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = e.runJob(t, j, seedInputs("repository", "copy-off", "base_image", host+"/base:"+shortSHA, "files", "hello.txt:/hello.txt", "tag_latest", "false", "image_tags", "built"))
	if out.ExitCode != 0 {
		t.Fatalf("build on the base: exit %d\n%s", out.ExitCode, out.Log)
	}
	want(t, "log (build)", out.Log, "layers: 1 uploaded, 0 mounted from another repository, 3 already in the repository")
}
