package ecrlocal

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.10", "1.9", 1},            // digits compare numerically
		{"1.002", "1.2", 0},           // leading zeros do not count
		{"1:1.0", "2.0", 1},           // epoch first
		{"0:2.0", "2.0", 0},           // epoch 0 is no epoch
		{"1:1.2.13.dfsg-1", "1.3", 1}, // ...even against a higher upstream
		{"1.0~rc1", "1.0", -1},        // ~ sorts before the end
		{"1.0~rc1", "1.0~rc2", -1},    //
		{"1.0~~", "1.0~", -1},         // ~~ before ~
		{"1.0", "1.0a", -1},           // end before a letter
		{"1.0a", "1.0+", -1},          // letters before non-letters
		{"1.0+", "1.0.", -1},          // non-letters by their code
		{"1.0-1", "1.0-1~deb12u1", 1}, // revision ~
		{"3.0.11-1~deb12u2", "3.0.13-1~deb12u1", -1},
		{"2.36-9+deb12u3", "2.36-9+deb12u4", -1},
		{"2.36-9+deb12u10", "2.36-9+deb12u4", 1},
		{"1.0", "1.0-0", 0},              // no revision is revision 0
		{"1.0-2", "1.0-10", -1},          //
		{"1.0-1-2", "1.0-1-10", -1},      // the revision follows the last hyphen
		{"1.36.1-r15", "1.36.1-r16", -1}, // apk
		{"1.36.1-r9", "1.36.1-r10", -1},  // apk, numeric release
		{"3.1.4-r5", "3.1.4", 1},         // apk: an -rN revision is above none
		{"1.3.1-r0", "1.2.12-r0", 1},     // apk
		{"20240226-r0", "20230506-r0", 1},
	}
	for _, tc := range tests {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := compareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestVulnAffects(t *testing.T) {
	v := Vuln{ID: "CVE-2099-0001", Package: "p", FixedVersion: "1.2-1", Severity: "HIGH"}
	for ver, want := range map[string]bool{"1.1-9": true, "1.2-0": true, "1.2-1": false, "1.2-1~x": true, "1.3": false, "1:0.1": false} {
		if got := v.affects(ver); got != want {
			t.Errorf("fixed 1.2-1: affects(%q) = %v, want %v", ver, got, want)
		}
	}
	v.FixedVersion = ""
	if !v.affects("99:99") {
		t.Errorf("with no fix every version is affected")
	}
}

func TestLoadVulnDB(t *testing.T) {
	db, err := LoadVulnDB("../../../testdata/scan/vulndb.json")
	if err != nil {
		t.Fatalf("the test database does not load: %v", err)
	}
	sevs := map[string]bool{}
	for _, v := range db {
		sevs[v.Severity] = true
		if !strings.HasPrefix(v.Description, "Test data:") || v.URI != "https://ecrlocal.invalid/vulndb/"+v.ID || !strings.Contains(v.ID, "-2099-") {
			t.Errorf("entry %s does not look made up: %+v", v.ID, v)
		}
	}
	if len(sevs) != len(severities) {
		t.Errorf("the test database covers severities %v, want all of %v", sevs, severities)
	}

	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", `{`, "not a JSON array"},
		{"an object", `{"id":"x"}`, "not a JSON array"},
		{"null", `null`, "got null"},
		{"trailing data", `[] []`, "trailing data"},
		{"unknown member", `[{"id":"CVE-2099-1","package":"p","fixedVersion":"1","severity":"LOW"}]`, `unknown field "fixedVersion"`},
		{"bad severity", `[{"id":"CVE-2099-1","package":"p","severity":"SEVERE"}]`, `entry 0 (CVE-2099-1): severity "SEVERE" is not one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED`},
		{"lower-case severity", `[{"id":"CVE-2099-1","package":"p","severity":"high"}]`, `severity "high"`},
		{"no id", `[{"package":"p","severity":"LOW"}]`, "entry 0: id is empty"},
		{"no package", `[{"id":"CVE-2099-1","severity":"LOW"}]`, "package is empty"},
		{"bad epoch", `[{"id":"CVE-2099-1","package":"p","fixed_version":"x:1.0","severity":"LOW"}]`, `fixed_version: version "x:1.0": epoch "x" is not a number`},
		{"twice", `[{"id":"CVE-2099-1","package":"p","severity":"LOW"},{"id":"CVE-2099-1","package":"p","severity":"HIGH"}]`, `entry 1 (CVE-2099-1): package "p" is listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadVulnDB(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("LoadVulnDB = %v, want an error naming the file and saying %q", err, tc.want)
			}
		})
	}
	if _, err := LoadVulnDB(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "reading vulnerability database") {
		t.Errorf("missing file: %v", err)
	}
	if db, err := LoadVulnDB(writeFile(t, dir, "empty.json", "[]")); err != nil || len(db) != 0 {
		t.Errorf("empty array: %v %v, want an empty database", db, err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewChecksScanOptions(t *testing.T) {
	for _, opts := range []Options{
		{VulnDB: []Vuln{{ID: "CVE-2099-1", Package: "p", Severity: "BAD"}}},
		{ScanDelay: -time.Second},
	} {
		if s, err := New(opts); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded, want an error", opts)
		}
	}
}

func TestParsePackageDatabases(t *testing.T) {
	dpkg := "Package: a\nStatus: install ok installed\nVersion: 1.0\nDescription: x\n y: z\n\n" +
		"Package: b\nStatus: deinstall ok config-files\nVersion: 2.0\n\n" +
		"Package: c\nStatus: install ok half-installed\nVersion: 3.0\n\n\n" +
		"Package: d\r\nVersion: 4.0\r\n"
	got := parseDpkg([]byte(dpkg))
	want := []pkg{{"a", "1.0", "OS"}, {"d", "4.0", "OS"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(pkg{})); diff != "" {
		t.Errorf("parseDpkg (-want +got):\n%s", diff)
	}
	apk := "P:musl\nV:1.2.4-r2\nA:x86_64\n\nP:noversion\n\nV:1\nP:late\n"
	got = parseAPK([]byte(apk))
	want = []pkg{{"musl", "1.2.4-r2", "OS"}, {"late", "1", "OS"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(pkg{})); diff != "" {
		t.Errorf("parseAPK (-want +got):\n%s", diff)
	}
}

func TestScanOperationsAreReadsOrWrites(t *testing.T) {
	for op, want := range map[string]bool{
		"StartImageScan": true, "PutRegistryScanningConfiguration": true,
		"DescribeImageScanFindings": false, "GetRegistryScanningConfiguration": false,
	} {
		if _, ok := operations()[op]; !ok {
			t.Errorf("%s is not served", op)
		}
		if got := isWriteOperation(op); got != want {
			t.Errorf("isWriteOperation(%q) = %v, want %v", op, got, want)
		}
	}
}

// manualClock is a server clock the test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestStartImageScanOncePerDay(t *testing.T) {
	srv, err := New(Options{ScanDelay: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	clk := &manualClock{t: time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv.now = clk.now // before the server serves anything
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	// The SDK retries LimitExceededException as throttling: one attempt here.
	client := newClient(hs.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
	e := &env{srv: srv, http: hs, client: client, host: strings.TrimPrefix(hs.URL, "http://")}
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	e.putTestImage(t, "app", "v1")
	id := &types.ImageIdentifier{ImageTag: aws.String("v1")}
	status := func() types.ScanStatus {
		t.Helper()
		out, err := e.client.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: id})
		if err != nil {
			t.Fatalf("DescribeImageScanFindings: %v", err)
		}
		return out.ImageScanStatus.Status
	}

	if _, err := e.client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: id}); err != nil {
		t.Fatalf("StartImageScan: %v", err)
	}
	// The server clock stands still: the scan waits for ScanDelay on it.
	time.Sleep(50 * time.Millisecond)
	if got := status(); got != types.ScanStatusInProgress {
		t.Errorf("before ScanDelay on the server clock: %s, want IN_PROGRESS", got)
	}
	clk.advance(time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for status() != types.ScanStatusComplete {
		if time.Now().After(deadline) {
			t.Fatal("the scan did not complete")
		}
		time.Sleep(5 * time.Millisecond)
	}
	clk.advance(23 * time.Hour)
	_, err = e.client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: id})
	wantAPIError[*types.LimitExceededException](t, err)
	clk.advance(time.Hour)
	if _, err := e.client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: id}); err != nil {
		t.Errorf("StartImageScan 24 hours later: %v", err)
	}
	if got := status(); got != types.ScanStatusInProgress {
		t.Errorf("after the second StartImageScan: %s, want IN_PROGRESS", got)
	}
}
