# syntax=docker/dockerfile:1

# Build stage: a static Go binary. It runs on the build machine's platform and
# cross-compiles for the target one, so multi-arch release builds need no
# emulation for the Go compiler.
# The tag matches go.mod's go line: the golang images set GOTOOLCHAIN=local,
# so an older Go in the image would refuse to build (a contract test checks).
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src

# Module downloads get their own layer: source edits do not invalidate it.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Set by BuildKit from --platform; empty means the build machine's own.
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /ecr-action ./cmd/action

# Final stage: distroless static has CA certificates (for HTTPS to AWS) and
# tzdata, and nothing else.
FROM gcr.io/distroless/static-debian12

# No USER line on purpose. The GitHub runner starts container actions with
# `docker run` and no --user, so the image's USER is who runs the action.
# GitHub's Dockerfile support documentation says Docker actions must run as
# the default user (root), or it cannot access the GITHUB_WORKSPACE directory;
# the same holds for the mounted file-command files (GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, ...) the action writes its results to.
# This image's default user is root (its :nonroot tag would break that).
COPY --from=build /ecr-action /ecr-action
ENTRYPOINT ["/ecr-action"]
