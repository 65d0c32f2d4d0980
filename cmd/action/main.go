// Command ecr-action is the GitHub Action's entry point. main is wiring
// only: the run is internal/action.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/org/ecr-action/internal/action"
	"github.com/org/ecr-action/internal/clock"
)

// version is the action's release (v1.2.3): the output of
// `ecr-action --version`, the SARIF tool version, the SBOM's creator and
// the provenance's action version. A build that does not stamp it says
// "dev". The release stamps it with
//
//	-ldflags "-X main.version=v1.2.3"
//
// (.ko.yaml does, from the VERSION environment variable).
var version = "dev"

func main() {
	// `ecr-action --version` prints the version and exits: a check that the
	// image holds the binary the release stamped. The runner passes no
	// arguments (action.yml declares no args).
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println("ecr-action", version)
		return
	}
	// The runner cancels a step with SIGINT, then SIGTERM 7.5 s later.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := action.Run(ctx, action.Env{
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Clock:   clock.System,
		Version: version,
	})
	stop()
	os.Exit(code)
}
