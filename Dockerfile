# syntax=docker/dockerfile:1
#
# The production image: one static binary, no simulators (-tags nodevnet, DESIGN §9), on a
# distroless base that has no shell and runs as the unprivileged user 65532. The Kubernetes
# manifests (deploy/k8s) run it as `rebalancer <target> --config ... --ops-addr :8080`.
#
#   docker build -t ghcr.io/rebalancer-dev/rebalancer:<tag> .

# Build on the builder's own platform and cross-compile: no emulation for multi-arch images.
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
WORKDIR /src
# Modules first, so that a source change reuses the download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags nodevnet -trimpath -ldflags='-s -w' -o /out/rebalancer ./cmd/rebalancer

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rebalancer /rebalancer
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/rebalancer"]
