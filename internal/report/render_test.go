package report

import (
	"strings"
	"testing"

	"github.com/org/ecr-action/internal/reconcile"
	"github.com/org/ecr-action/internal/testing/goldenfile"
)

const lifecycle = `{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Expire untagged images older than 7 days",
      "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
      "action": {"type": "expire"}
    },
    {
      "rulePriority": 2,
      "description": "Keep the last 30 images",
      "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
      "action": {"type": "expire"}
    }
  ]
}`

func TestRenderRepository(t *testing.T) {
	tests := []struct {
		name string
		in   RepositorySummary
	}{
		{
			name: "created",
			in: RepositorySummary{
				Name:       "canvas-ta-production-app",
				URI:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/canvas-ta-production-app",
				ARN:        "arn:aws:ecr:us-east-1:123456789012:repository/canvas-ta-production-app",
				Created:    true,
				WriteCalls: 2,
				Rows: []Row{
					{Setting: "Encryption", Desired: "AES256", Action: reconcile.Created},
					{Setting: "Scan on push", Desired: "true", Action: reconcile.Created},
					{Setting: "Tag mutability", Desired: "MUTABLE", Action: reconcile.Created},
					{Setting: "Lifecycle policy", Desired: lifecycle, Action: reconcile.Created},
					{Setting: "Tags", Desired: "Environment=production, ManagedBy=ecr-action, Project=canvas-ta", Action: reconcile.Created},
				},
			},
		},
		{
			name: "unchanged",
			in: RepositorySummary{
				Name: "canvas-ta-production-app",
				URI:  "123456789012.dkr.ecr.us-east-1.amazonaws.com/canvas-ta-production-app",
				ARN:  "arn:aws:ecr:us-east-1:123456789012:repository/canvas-ta-production-app",
				Rows: []Row{
					{Setting: "Scan on push", Desired: "true", Found: "true", Action: reconcile.Unchanged},
					{Setting: "Tag mutability", Desired: "MUTABLE", Found: "MUTABLE", Action: reconcile.Unchanged},
					{Setting: "Repository policy", Desired: "", Found: "", Action: reconcile.Unchanged},
				},
			},
		},
		{
			name: "drift and updates",
			in: RepositorySummary{
				Name:       "app",
				URI:        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
				ARN:        "arn:aws:ecr:eu-west-1:123456789012:repository/app",
				WriteCalls: 1,
				Rows: []Row{
					{Setting: "Encryption", Desired: "KMS (arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab)", Found: "AES256", Action: reconcile.Drift},
					{Setting: "Scan on push", Desired: "true", Found: "false", Action: reconcile.Updated},
					{Setting: "Tag exclusions", Desired: "v*|release-*", Found: "<none>", Action: reconcile.Updated},
					{Setting: "Cross-account statement", Desired: "", Found: "EcrActionCrossAccountPull", Action: reconcile.Removed},
					{Setting: "Other policy statements", Desired: "", Found: "PeopleSid", Action: reconcile.Kept},
				},
			},
		},
		{
			name: "hostile values",
			in: RepositorySummary{
				Name: "a`b",
				URI:  "x|y\n## injected",
				Rows: []Row{
					{Setting: "Tags", Desired: "k=<script>alert(1)</script>", Found: "a|b\nc", Action: reconcile.Updated},
					{Setting: "Policy", Desired: "```\n</details>\n# heading", Found: "", Action: reconcile.Updated},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderRepository(tc.in)
			goldenfile.Check(t, "repository_"+strings.ReplaceAll(tc.name, " ", "_")+".md", got)
		})
	}
}

func TestRenderRepositoryTable(t *testing.T) {
	got := RenderRepository(RepositorySummary{
		Name: "app",
		Rows: []Row{
			{Setting: "a|b", Desired: "line1\nline2", Found: strings.Repeat("f", 100), Action: reconcile.Drift},
		},
	})
	var rows []string
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "|") {
			rows = append(rows, line)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("got %d table lines, want header, rule and one row:\n%s", len(rows), got)
	}
	// A cell may contain '|' only escaped, so each row has exactly 5 bare pipes.
	for _, r := range rows {
		if n := strings.Count(r, "|") - strings.Count(r, `\|`); n != 5 {
			t.Errorf("row %q has %d unescaped pipes, want 5", r, n)
		}
	}
	for _, want := range []string{"<details><summary>a|b (desired)</summary>", "line1\nline2", strings.Repeat("f", 100), "> [!WARNING]"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestRenderError(t *testing.T) {
	got := RenderError("Invalid inputs", "image_tag_mutability: \"SOMETIMES\" is not one of MUTABLE, IMMUTABLE\nencryption_type: \"DES\" is not one of AES256, KMS, KMS_DSSE\n")
	goldenfile.Check(t, "error.md", got)
	if !strings.Contains(RenderError("", "x"), "## ❌ The action failed") {
		t.Errorf("an empty title should fall back to a generic heading")
	}
}
