package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
	"github.com/org/ecr-action/internal/testing/logslocal"
	"github.com/org/ecr-action/internal/testing/runner"
)

// These tests run the action through ecrlocal's IAM middleware with exactly
// the identity policy the README documents: the README must list every
// action the action uses and nothing else, and each action it lists must be
// needed (without it a run fails, naming it, or degrades as the README says).

// iamDoc is what the README's "IAM permissions" section documents.
type iamDoc struct {
	policy ecrlocal.Policy // the identity policy: the JSON block with Statement and no Principal
	// extra are the actions of statement fragments documented beside the
	// policy (the customer managed KMS key statement), by Sid.
	extra map[string][]string
	trust []string // the actions of the role trust policy (one with Principal)
}

// readmeIAM parses the JSON blocks of the README's "IAM permissions" section.
func readmeIAM(t *testing.T) iamDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## IAM permissions\n")
	if !ok {
		t.Fatal("README has no \"## IAM permissions\" section")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	doc := iamDoc{extra: map[string][]string{}}
	policies := 0
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(section, -1) {
		var block map[string]any
		if err := json.Unmarshal([]byte(m[1]), &block); err != nil {
			t.Fatalf("README IAM JSON block is not valid JSON: %v\n%s", err, m[1])
		}
		switch {
		case block["Statement"] != nil && strings.Contains(m[1], `"Principal"`):
			var trust struct {
				Statement []struct {
					Action string
				}
			}
			if err := json.Unmarshal([]byte(m[1]), &trust); err != nil {
				t.Fatalf("trust policy: %v", err)
			}
			for _, s := range trust.Statement {
				doc.trust = append(doc.trust, s.Action)
			}
		case block["Statement"] != nil:
			p, err := ecrlocal.ParsePolicy([]byte(m[1]))
			if err != nil {
				t.Fatalf("README identity policy: %v", err)
			}
			doc.policy = p
			policies++
		case block["Sid"] != nil:
			var st struct {
				Sid    string
				Action []string
			}
			if err := json.Unmarshal([]byte(m[1]), &st); err != nil {
				t.Fatalf("statement %s: %v", m[1], err)
			}
			doc.extra[st.Sid] = st.Action
		default:
			t.Fatalf("README IAM JSON block of unknown kind:\n%s", m[1])
		}
	}
	if policies != 1 {
		t.Fatalf("README's IAM section has %d identity policies, want 1", policies)
	}
	return doc
}

// iamRig is ecrlocal (scanning with the test database) and logslocal on
// one address behind the IAM middleware; srv is also reachable without it
// (e.client) for the test's own reads.
type iamRig struct {
	*env
	iam  *ecrlocal.IAM
	logs *logslocal.Server
}

func startIAM(t *testing.T, p ecrlocal.Policy) *iamRig {
	t.Helper()
	db, err := ecrlocal.LoadVulnDB(filepath.Join("..", "..", "testdata", "scan", "vulndb.json"))
	if err != nil {
		t.Fatal(err)
	}
	direct := startECR(t, ecrlocal.Options{VulnDB: db})
	// The registry signs and replicates every repository, so the scenario
	// can run with require_signature and wait_for_replication on.
	gates := &env{srv: direct.Server, client: direct.Client}
	gates.putSigning(t)
	gates.putReplication(t, "")
	logs := logslocal.New(logslocal.Options{Region: ecrlocaltest.Region})
	iam := ecrlocal.NewIAM(logs.Route(direct.Server), p, ecrlocal.IAMOptions{})
	hs := httptest.NewServer(iam)
	t.Cleanup(hs.Close)
	return &iamRig{env: &env{srv: direct.Server, url: hs.URL, client: direct.Client}, iam: iam, logs: logs}
}

// iamRun is one step of the scenario.
type iamRun struct {
	name   string
	inputs map[string]string
}

// iamScenario is every feature of the action, in four runs over one
// repository: create it with everything on and push a built image through
// the scan gate, logging the result; the same again (nothing to change);
// change every setting (scan on push off with wait_for_scan true, tag
// mutability, lifecycle off, cross-account off, tags, log retention off)
// while pushing a new image; promote that image with retag_from; and copy
// it into another repository from the registry itself.
func iamScenario() []iamRun {
	common := []string{
		"encryption_type", "KMS", // the AWS-managed aws/ecr key: no KMS permission (README)
		"lifecycle_protected_tags", "v*",
		"enable_cross_account_access", "true", "allowed_account_ids", "012345678901",
		"tags", "Team=platform",
		// Passes the default CRITICAL gate: the Debian image's CRITICAL
		// finding is ignored.
		"ignore_vulnerabilities", "CVE-2099-0001",
		"scan_log_group", "/ecr-action/scans", "scan_log_retention_days", "14",
		"require_signature", "true", "wait_for_replication", "true",
	}
	create := seedInputs(append(slices.Clone(common), "base_image", "scratch", "files", "debian/var:/var")...)
	changed := append(slices.Clone(common),
		"enable_image_scanning", "false", "wait_for_scan", "true",
		"image_tag_mutability", "IMMUTABLE_WITH_EXCLUSION", "image_tag_mutability_exclusion_filters", "latest",
		"enable_lifecycle_policy", "false",
		"enable_cross_account_access", "false", "allowed_account_ids", "",
		"tags", "Team=web",
		"scan_log_retention_days", "0",
		"tag_sha", "false", "image_tags", "v2",
	)
	return []iamRun{
		{"create", create},
		{"unchanged", seedInputs(append(slices.Clone(common), "base_image", "scratch", "files", "debian/var:/var")...)},
		{"change every setting", seedInputs(append(slices.Clone(changed), "base_image", "scratch", "files", "debian/var:/var\nalpine/lib:/lib")...)},
		{"promote", seedInputs(append(slices.Clone(changed), "retag_from", "v2", "image_tags", "v2.1", "tag_latest", "false")...)},
		// Another repository of the registry as the source: with
		// BLOB_MOUNTING off (the default) its layers are uploaded, and the
		// action reads the setting to say why.
		{"copy from another repository", seedInputs(append(slices.Clone(common), "repository_name", "copy", "source", "docker://"+registryPlaceholder+"/canvas-ta-production-app:v2.1")...)},
	}
}

// registryPlaceholder in a scenario input stands for the rig's registry
// host, known only once it runs.
const registryPlaceholder = "{{registry}}"

// withRegistry returns inputs with the registry placeholder filled in.
func (r *iamRig) withRegistry(inputs map[string]string) map[string]string {
	out := make(map[string]string, len(inputs))
	for k, v := range inputs {
		out[k] = strings.ReplaceAll(v, registryPlaceholder, strings.TrimPrefix(r.url, "http://"))
	}
	return out
}

// iamJob is a workspace with the scan test images, logging to the rig.
func (r *iamRig) iamJob(t *testing.T) *job {
	j := vulnerableJob(t)
	j.env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = r.url
	return j
}

// changesState reports whether an IAM action changes the repository, its
// images and tags, or the log group: every action but reads (Describe*,
// Get*, List*, BatchGet*, BatchCheck*) and layer uploads. A layer upload
// stores a content-addressed blob no image names yet, and the client's
// parallel uploads already in flight when one is denied may still finish.
func changesState(action string) bool {
	_, op, _ := strings.Cut(action, ":")
	for _, p := range []string{"Describe", "Get", "List", "BatchGet", "BatchCheck"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return !slices.Contains([]string{"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"}, action)
}

// notExercised are documented actions the scenario cannot reach, with the
// reason. Keep it empty unless a path truly cannot run against ecrlocal.
var notExercised = map[string]string{}

func TestIAMPolicyIsExactlyWhatTheActionUses(t *testing.T) {
	t.Parallel()
	doc := readmeIAM(t)
	documented := doc.policy.Actions()
	for _, a := range documented {
		if strings.ContainsAny(a, "*?") {
			t.Errorf("the README policy grants %q: list actions one by one", a)
		}
	}
	slices.Sort(documented)
	if d := slices.Compact(slices.Clone(documented)); len(d) != len(documented) {
		t.Errorf("the README policy lists an action twice: %v", documented)
	}
	// What the README documents beside the policy, and why the scenario
	// does not exercise it.
	if kms := doc.extra["EcrActionKmsKey"]; !slices.Equal(kms, []string{"kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"}) {
		t.Errorf("KMS key statement = %v", kms)
	} else {
		t.Logf("not exercised: %v (EcrActionKmsKey): ECR calls KMS itself when a repository is created with a customer managed key; the action makes no KMS call, and ecrlocal checks that the key exists but models no key policy or grant", kms)
	}
	if !slices.Equal(doc.trust, []string{"sts:AssumeRoleWithWebIdentity"}) {
		t.Errorf("trust policy actions = %v, want [sts:AssumeRoleWithWebIdentity]", doc.trust)
	}
	for _, a := range documented {
		if strings.HasPrefix(a, "sts:") || strings.HasPrefix(a, "kms:") {
			t.Errorf("the identity policy lists %s; it belongs to the trust policy or the KMS statement", a)
		}
	}

	// a. The whole scenario succeeds with exactly the documented policy.
	// Its runs hold a place among the shared tests; the subtests of c
	// take their own.
	release := machine.share(t)
	rig := startIAM(t, doc.policy)
	j := rig.iamJob(t)
	scenario := iamScenario()
	usedBy := make([][]string, len(scenario)) // actions each run used
	var used []string
	for i, run := range scenario {
		rig.iam.Reset()
		out := rig.runJob(t, j, rig.withRegistry(run.inputs))
		if out.ExitCode != 0 {
			t.Fatalf("run %q with the README policy: exit %d\n%s", run.name, out.ExitCode, out.Log)
		}
		if denied := rig.iam.Denied(); len(denied) > 0 {
			t.Errorf("run %q: the README policy denied %v", run.name, denied)
		}
		usedBy[i] = rig.iam.Used()
		used = append(used, usedBy[i]...)
		t.Logf("run %q used %v", run.name, usedBy[i])
	}
	release()
	slices.Sort(used)
	used = slices.Compact(used)
	t.Logf("actions used across the scenario (%d): %v", len(used), used)

	// b. What was used is what is documented.
	var wantUsed []string
	for _, a := range documented {
		if why, ok := notExercised[a]; ok {
			t.Logf("documented, not exercised: %s: %s", a, why)
			continue
		}
		wantUsed = append(wantUsed, a)
	}
	if diff := cmp.Diff(wantUsed, used); diff != "" {
		t.Errorf("actions used (+) against the README policy (-):\n%s", diff)
	}

	// c. Each documented action is needed.
	for _, action := range wantUsed {
		t.Run(action, func(t *testing.T) {
			sharedTest(t)
			first := slices.IndexFunc(usedBy, func(u []string) bool { return slices.Contains(u, action) })
			if first < 0 {
				t.Fatalf("the scenario never used %s", action)
			}
			rig := startIAM(t, doc.policy.Without(action))
			j := rig.iamJob(t)
			for i, run := range scenario[:first+1] {
				rig.iam.Reset()
				out := rig.runJob(t, j, rig.withRegistry(run.inputs))
				if i < first {
					if out.ExitCode != 0 {
						t.Fatalf("run %q, before the first use of %s: exit %d\n%s", run.name, action, out.ExitCode, out.Log)
					}
					continue
				}
				if !slices.Contains(rig.iam.Denied(), action) {
					t.Fatalf("run %q did not call %s without it (denied: %v)", run.name, action, rig.iam.Denied())
				}
				checkDenied(t, rig, action, run, out)
			}
		})
	}
}

// degrades are the actions whose denial the action works around, with what
// it says then (the README says so too).
var degrades = map[string]string{
	"ecr:GetRegistryScanningConfiguration":        "ecr:GetRegistryScanningConfiguration was denied, so the registry is taken to use basic scanning",
	"ecr:BatchGetRepositoryScanningConfiguration": "ecr:BatchGetRepositoryScanningConfiguration was denied, so whether pushes are scanned was worked out here",
	"ecr:DescribeImages":                          "ecr:DescribeImages was denied",
	"ecr:GetAccountSetting":                       "could not be checked (ecr:GetAccountSetting was denied)",
}

// checkDenied checks one run made without action: it fails naming the
// action (or degrades as documented), and after the denial no call that
// changes state was allowed.
func checkDenied(t *testing.T, rig *iamRig, action string, run iamRun, out *runner.Outcome) {
	t.Helper()
	if note, ok := degrades[action]; ok {
		if out.ExitCode != 0 || out.Outputs["scan_gate"] != "passed" || !strings.Contains(out.Log, note) {
			t.Errorf("run %q without %s: exit %d, scan_gate %q; want a passed gate with the note %q\n%s", run.name, action, out.ExitCode, out.Outputs["scan_gate"], note, out.Log)
		}
		return
	}
	if out.ExitCode == 0 {
		t.Fatalf("run %q without %s succeeded\n%s", run.name, action, out.Log)
	}
	errs := strings.Join(errorAnnotations(out.Log), "\n")
	// The advice names the action itself, not a list that contains it.
	if !regexp.MustCompile(`lack ` + regexp.QuoteMeta(action) + `\b`).MatchString(errs) {
		t.Errorf("run %q without %s: no ::error says the credentials lack it:\n%s", run.name, action, errs)
	}
	decisions := rig.iam.Decisions()
	deniedAt := slices.IndexFunc(decisions, func(d ecrlocal.Decision) bool { return !d.Allowed })
	for _, d := range decisions[deniedAt+1:] {
		if d.Allowed && changesState(d.Action) {
			t.Errorf("run %q: after %s was denied, %s on %s still went through", run.name, decisions[deniedAt].Action, d.Action, d.Resource)
		}
	}
}
