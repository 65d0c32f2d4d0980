// Command ecrlocal serves a local Amazon ECR (the ECR JSON API and the
// registry API v2 on one address) until interrupted.
//
//	go run ./cmd/ecrlocal -addr 127.0.0.1:0 [-account ID] [-region R] [-data DIR]
//	                      [-vulndb FILE] [-scan-delay DURATION]
//	                      [-fault OPERATION=KIND:COUNT]... [-token-ttl DURATION]
//	                      [-create-delay DURATION]
//	                      [-signing-delay DURATION] [-signing-failure CODE]
//	                      [-replication DEST=DELAY[:FAILURE]]...
//
// Besides the two APIs it answers two counters for tests and benchmarks:
//
//	GET /_ecrlocal/calls           {"CreateRepository":1,...}: ECR API calls by operation
//	GET /_ecrlocal/registry-calls  {"calls":{"blob.head":3,...},"uploaded_bytes":N}:
//	                               registry (/v2/) requests by operation and the
//	                               blob bytes received in uploads
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/logslocal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ecrlocal:", err)
		stop()
		os.Exit(1)
	}
}

// usage is the help text printed before the flags.
const usage = `Usage: ecrlocal [flags]

Serves a local Amazon ECR until interrupted: the ECR JSON API (POST /, point
AWS_ENDPOINT_URL_ECR at it) and the registry API v2 (/v2/) on one address.
It prints "ecrlocal listening on http://HOST:PORT" once it accepts requests.

Image scanning: images pushed to a repository with scanOnPush (or covered
by a registry scanning rule) are scanned in the background; StartImageScan
scans on demand. A scan reads the OS package databases in the image's layers
(dpkg: var/lib/dpkg/status and status.d/, apk: lib/apk/db/installed) and
matches them against -vulndb, a JSON array of
  {"id","package","fixed_version","severity","description","uri"}
(versions below fixed_version are affected; "" = no fix). Without -vulndb
every scan completes with no findings. DescribeImageScanFindings reports
IN_PROGRESS for at least -scan-delay after the push.

Archive: UpdateImageStorageClass archives an image (its pulls answer 404)
and restores it; a restored image stays ACTIVATING, still not pullable, for
-restore-delay (default 0). Blob mounts happen only after
PutAccountSetting BLOB_MOUNTING=ENABLED, as in ECR.

Eventual consistency: -create-delay DURATION keeps a new repository
invisible to every other call for that long after CreateRepository, as
ECR's asynchronous creation can: API calls naming it answer
RepositoryNotFoundException, the registry NAME_UNKNOWN, listings leave it
out, and a second CreateRepository answers RepositoryAlreadyExistsException.
Default 0: visible at once.

Managed signing: PutSigningConfiguration sets the registry's signing rules;
each image pushed afterwards to a repository a rule covers gets one signing
status per profile, IN_PROGRESS for -signing-delay (default 0) and then
COMPLETE, or FAILED with failureCode -signing-failure when that is set.
DescribeImageSigningStatus reports them; GetSigningConfiguration answers
SigningConfigurationNotFoundException until a configuration is put.

Replication: PutReplicationConfiguration sets the registry's replication
rules (DescribeRegistry reads them); each image pushed afterwards gets one
status per destination of the rules covering its repository, which
DescribeImageReplicationStatus reports. -replication DEST=DELAY[:FAILURE]
(repeatable; DEST is REGION or ACCOUNT/REGION) keeps a destination
IN_PROGRESS for DELAY, then COMPLETE, or FAILED with failureCode FAILURE,
e.g. -replication us-west-2=2s -replication eu-west-1=1s:REPLICATION_FAILED.
Destinations not named are COMPLETE at once. Nothing is copied anywhere.

CloudWatch Logs: requests with an X-Amz-Target of Logs_20140328.* are
answered by a local CloudWatch Logs (log groups, streams and events in
memory), so AWS_ENDPOINT_URL_CLOUDWATCH_LOGS can point here too.

Faults, to replay a failure against the built binary (-fault repeats;
faults for one operation strike in the order given):
  -fault Operation=throttle:N
        the next N calls of that ECR API operation (e.g. PutImage,
        GetAuthorizationToken) get ThrottlingException (HTTP 400)
  -fault Operation=ExceptionName:N
        the next N calls get that exception instead, e.g.
        PutImage=ServerException:1 (HTTP 500) or
        CreateRepository=AccessDeniedException:2 (HTTP 400)
  -fault blob-upload=reset:N | blob-upload=500:N | blob-upload=503:N
        the next N registry requests that carry blob bytes (PATCH and PUT
        of an upload) read half the body, drop the upload, then reset the
        TCP connection or answer 500 UNKNOWN / 503 UNAVAILABLE
  -token-ttl DURATION
        registry tokens from GetAuthorizationToken expire after DURATION
        instead of ECR's 12h; the registry then answers 403 DENIED "Your
        authorization token has expired", as ECR does
GET /_ecrlocal/registry-calls reports the faults that struck as
"faults_struck": {"blob-upload":N}.

Least privilege: -iam-policy FILE authorizes every call (ECR API,
CloudWatch Logs and registry requests) against an identity-based IAM policy
JSON document, as IAM would for the caller: a call it does not allow gets
AccessDeniedException (the registry: 403 DENIED) naming the IAM action,
e.g. ecr:PutImage. Registry requests map to the actions ECR checks:
blob HEAD ecr:BatchCheckLayerAvailability, blob GET
ecr:GetDownloadUrlForLayer, upload POST/PATCH/PUT ecr:InitiateLayerUpload /
ecr:UploadLayerPart / ecr:CompleteLayerUpload, manifest GET/HEAD
ecr:BatchGetImage, manifest PUT ecr:PutImage. Condition, NotAction and
NotResource are refused rather than ignored.

Counters, for tests and benchmarks (ResetCalls in Go clears both):
  GET /_ecrlocal/calls
        ECR API calls by operation: {"CreateRepository":1,"DescribeRepositories":2}
  GET /_ecrlocal/registry-calls
        registry requests by operation, and blob bytes received in uploads:
        {"calls":{"ping":1,"blob.head":3,"upload.start":3,"upload.patch":3,
        "upload.put":3,"manifest.head":1,"manifest.put":1},"uploaded_bytes":2978}
        Operations: ping, blob.head, blob.get, upload.start, upload.mount
        (a cross-repository mount that succeeded), upload.patch, upload.put,
        upload.get, upload.delete, manifest.head, manifest.get, manifest.put,
        manifest.delete, tags.list, referrers.get, other (requests outside
        the registry API ecrlocal serves). Requests refused for credentials
        count too.

Flags:
`

// run parses flags, listens, prints the URL and serves until ctx ends.
// Usage and flag errors go to stderr; -h prints the usage and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecrlocal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
	account := fs.String("account", ecrlocal.DefaultAccount, "12-digit AWS account ID the registry reports")
	region := fs.String("region", ecrlocal.DefaultRegion, "AWS region the registry reports")
	data := fs.String("data", "", "directory for blobs (default: a temporary directory removed on exit)")
	vulndb := fs.String("vulndb", "", "vulnerability database `FILE` for image scans (JSON; default: none, scans find nothing)")
	scanDelay := fs.Duration("scan-delay", 0, "how long a scan stays IN_PROGRESS at least, e.g. 2s")
	createDelay := fs.Duration("create-delay", 0, "how long a new repository stays invisible after CreateRepository, e.g. 2s")
	tokenTTL := fs.Duration("token-ttl", ecrlocal.DefaultTokenTTL, "how long registry tokens are valid, e.g. 30s")
	restoreDelay := fs.Duration("restore-delay", 0, "how long an image restored from the archive stays ACTIVATING, e.g. 5s")
	noDigestScan := fs.Bool("no-digest-push-scan", false, "do not scan on push a manifest pushed by digest alone (no tag): the stricter reading of what ECR leaves undocumented")
	signingDelay := fs.Duration("signing-delay", 0, "how long a pushed image's managed signing stays IN_PROGRESS, e.g. 2s")
	signingFailure := fs.String("signing-failure", "", "make every managed signing end FAILED with this failureCode `CODE`")
	replication := map[string]ecrlocal.ReplicationBehavior{}
	fs.Func("replication", "how replication to a destination goes: `DEST=DELAY[:FAILURE]` (repeatable; see above)", func(v string) error {
		dest, rest, ok := strings.Cut(v, "=")
		if !ok || dest == "" {
			return fmt.Errorf("%q is not DEST=DELAY[:FAILURE], e.g. us-west-2=2s or eu-west-1=1s:REPLICATION_FAILED", v)
		}
		delay, failure, _ := strings.Cut(rest, ":")
		d, err := time.ParseDuration(delay)
		if err != nil || d < 0 {
			return fmt.Errorf("%q: the delay %q is not a duration of 0 or more, e.g. 2s", v, delay)
		}
		replication[dest] = ecrlocal.ReplicationBehavior{Delay: d, Failure: failure}
		return nil
	})
	iamPolicy := fs.String("iam-policy", "", "authorize every call against the IAM policy in `FILE` (JSON; default: allow everything)")
	var kmsAliases []string
	fs.Func("kms-key", "create a customer managed KMS key with this `ALIAS` (alias/NAME) that CreateRepository accepts by alias, alias ARN, key ID or key ARN (repeatable; unknown keys answer KmsException)", func(v string) error {
		kmsAliases = append(kmsAliases, v)
		return nil
	})
	var faults []ecrlocal.FaultSpec
	fs.Func("fault", "inject a fault: `OPERATION=KIND:COUNT` (repeatable; see above)", func(v string) error {
		f, err := ecrlocal.ParseFaultSpec(v)
		if err != nil {
			return err
		}
		faults = append(faults, f)
		return nil
	})
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: ecrlocal takes only flags", fs.Args())
	}
	if *scanDelay < 0 {
		return fmt.Errorf("-scan-delay %v is negative", *scanDelay)
	}
	if *restoreDelay < 0 {
		return fmt.Errorf("-restore-delay %v is negative", *restoreDelay)
	}
	if *signingDelay < 0 {
		return fmt.Errorf("-signing-delay %v is negative", *signingDelay)
	}
	if *createDelay < 0 {
		return fmt.Errorf("-create-delay %v is negative", *createDelay)
	}
	if *tokenTTL <= 0 {
		return fmt.Errorf("-token-ttl %v must be positive, e.g. 30s", *tokenTTL)
	}
	var policy *ecrlocal.Policy
	if *iamPolicy != "" {
		doc, err := os.ReadFile(*iamPolicy)
		if err != nil {
			return fmt.Errorf("-iam-policy: %w", err)
		}
		p, err := ecrlocal.ParsePolicy(doc)
		if err != nil {
			return fmt.Errorf("-iam-policy %s: %w", *iamPolicy, err)
		}
		policy = &p
	}
	var db []ecrlocal.Vuln
	if *vulndb != "" {
		var err error
		if db, err = ecrlocal.LoadVulnDB(*vulndb); err != nil {
			return fmt.Errorf("-vulndb: %w", err)
		}
	}
	srv, err := ecrlocal.New(ecrlocal.Options{Account: *account, Region: *region, DataDir: *data, VulnDB: db, ScanDelay: *scanDelay, TokenTTL: *tokenTTL, RestoreDelay: *restoreDelay, CreateDelay: *createDelay, NoDigestPushScan: *noDigestScan,
		SigningDelay: *signingDelay, SigningFailure: *signingFailure, Replication: replication})
	if err != nil {
		return err
	}
	defer srv.Close()
	var kmsLines []string
	for _, alias := range kmsAliases {
		arn, err := srv.CreateKMSKey(alias)
		if err != nil {
			return fmt.Errorf("-kms-key: %w", err)
		}
		kmsLines = append(kmsLines, fmt.Sprintf("ecrlocal KMS key %s %s\n", alias, arn))
	}
	for _, f := range faults {
		if err := srv.Apply(f); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	// The same address answers CloudWatch Logs, for scan_log_group.
	logs := logslocal.New(logslocal.Options{Account: *account, Region: *region})
	var handler http.Handler = logs.Route(srv)
	if policy != nil {
		handler = ecrlocal.NewIAM(handler, *policy, ecrlocal.IAMOptions{Account: *account, Region: *region})
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(stdout, "ecrlocal listening on http://%s\n", ln.Addr())
	for _, l := range kmsLines {
		fmt.Fprint(stdout, l)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
