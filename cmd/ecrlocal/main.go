// Command ecrlocal serves a local Amazon ECR (the ECR JSON API and the
// registry API v2 on one address) until interrupted.
//
//	go run ./cmd/ecrlocal -addr 127.0.0.1:0 [-account ID] [-region R] [-data DIR]
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
	"syscall"
	"time"

	"github.com/org/ecr-action/internal/ecrlocal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ecrlocal:", err)
		stop()
		os.Exit(1)
	}
}

// run parses flags, listens, prints the URL and serves until ctx ends.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ecrlocal", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
	account := fs.String("account", ecrlocal.DefaultAccount, "12-digit AWS account ID the registry reports")
	region := fs.String("region", ecrlocal.DefaultRegion, "AWS region the registry reports")
	data := fs.String("data", "", "directory for blobs (default: a temporary directory removed on exit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: ecrlocal takes only flags", fs.Args())
	}
	srv, err := ecrlocal.New(ecrlocal.Options{Account: *account, Region: *region, DataDir: *data})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(stdout, "ecrlocal listening on http://%s\n", ln.Addr())
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
