package action

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/clock"
	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/reconcile"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/scan"
)

// TestRunWithoutInputsFailsBeforeAWS checks the exit decision for invalid
// inputs: exit code 1, an annotation naming the input, no AWS call (the
// environment has no endpoint or credentials to make one with).
func TestRunWithoutInputsFailsBeforeAWS(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, Clock: clock.System, Version: "v0.0.0"})
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stdout.String(), "::error title=Invalid input project_name::") {
		t.Errorf("no annotation for the missing project_name input:\n%s", stdout.String())
	}
	if strings.Contains(stdout.String(), "AWS credentials") {
		t.Errorf("the run went on past the inputs:\n%s", stdout.String())
	}
}

// TestImageSummaryWithholdsTags checks that the summary, built once from
// the run's state, shows the tags a failed gate kept back as withheld and
// the outputs leave them out, while a tag already in place stays.
func TestImageSummaryWithholdsTags(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	tags := []image.TagPlan{{Tag: "v1", Action: image.TagPushed}, {Tag: "latest", Action: image.TagUnchanged}}
	r := &run{
		repo: reconcile.Repository{Name: "app", URI: "host/app"},
		scan: &scanOutcome{verdict: scan.Verdict{Gate: scan.GateFailed}},
		img: &imageRun{
			art:      &image.Artifact{Source: "oci:out", Layers: 1},
			plan:     &image.Plan{Tags: tags},
			pushed:   &image.Result{Digest: digest, Tags: tags},
			pushTime: 1500 * time.Millisecond,
			withheld: true,
		},
	}
	r.sum = r.imageSummary()
	want := []report.ImageTag{
		{Tag: "v1", URI: "host/app:v1", Action: image.TagWithheld},
		{Tag: "latest", URI: "host/app:latest", Action: image.TagUnchanged},
	}
	if len(r.sum.Tags) != len(want) || r.sum.Tags[0] != want[0] || r.sum.Tags[1] != want[1] {
		t.Errorf("tags %+v, want %+v", r.sum.Tags, want)
	}
	if r.sum.URI != "host/app@"+digest || r.sum.Seconds != 1.5 {
		t.Errorf("URI %q, seconds %v", r.sum.URI, r.sum.Seconds)
	}
	got := map[string]string{}
	for _, o := range r.outputList("") {
		got[o.name] = o.value
	}
	if got["image_tags"] != "latest" || got["image_uris"] != "host/app:latest" {
		t.Errorf("image_tags %q, image_uris %q; want only the tag in place", got["image_tags"], got["image_uris"])
	}
}
