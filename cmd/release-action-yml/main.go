// Command release-action-yml rewrites action.yml for a release commit: the
// line `image: Dockerfile` under runs becomes
// `image: docker://<repository>@sha256:<digest>`, so that `uses: org/ecr-action@v1`
// pulls the image the release published instead of building the Dockerfile
// on every job, and a moved tag in the registry cannot change what a
// release runs. Nothing else in the file changes (inputs, defaults,
// outputs, comments, formatting).
//
//	go run ./cmd/release-action-yml -file action.yml -image ghcr.io/org/ecr-action@sha256:<64 hex>
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "release-action-yml:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("release-action-yml", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "action.yml", "the action metadata file to rewrite in place")
	image := fs.String("image", "", "the published image, <registry>/<repository>@sha256:<64 hex digits>")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	src, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	out, err := pinImage(src, *image)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	info, err := os.Stat(*file)
	if err != nil {
		return err
	}
	return os.WriteFile(*file, out, info.Mode().Perm())
}

// imageRef is what a release pins: a lower-case registry host and
// repository path (GHCR and Docker refuse upper case) and a sha256 digest.
var imageRef = regexp.MustCompile(`^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+@sha256:[0-9a-f]{64}$`)

// dockerfileImage is the runs.image line of the development action.yml.
var dockerfileImage = regexp.MustCompile(`(?m)^(  image:[ \t]*)("Dockerfile"|'Dockerfile'|Dockerfile)([ \t]*)$`)

// pinImage returns src with runs.image set to docker://image.
func pinImage(src []byte, image string) ([]byte, error) {
	if !imageRef.MatchString(image) {
		return nil, fmt.Errorf("-image %q: want <registry>/<repository>@sha256:<64 hex digits>, lower case (a digest, so that a tag move cannot change a release)", image)
	}
	runs := regexp.MustCompile(`(?m)^runs:[ \t]*$`).FindAllIndex(src, -1)
	if len(runs) != 1 {
		return nil, fmt.Errorf("want one top-level runs: block, found %d", len(runs))
	}
	block := src[runs[0][1]:]
	if next := regexp.MustCompile(`(?m)^[^ \t#\n]`).FindIndex(block); next != nil {
		block = block[:next[0]]
	}
	m := dockerfileImage.FindAllSubmatchIndex(block, -1)
	if len(m) != 1 {
		return nil, fmt.Errorf("want one `image: Dockerfile` line in runs:, found %d (already rewritten?)", len(m))
	}
	at := runs[0][1]
	var out bytes.Buffer
	out.Write(src[:at+m[0][4]])
	out.WriteString("docker://" + image)
	out.Write(src[at+m[0][5]:])
	return out.Bytes(), nil
}
