# Multi-stage build: a static binary on distroless, running as nonroot.
# (The development machines have no Docker engine, so this file is kept
# deliberately plain; build it with `docker build -t replayhook .`.
# deploy/README.md shows how to run it.)
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The Go toolchain stamps the VCS revision from .git, which .dockerignore
# leaves out of the context: pass them in instead, as
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t replayhook .
ARG VERSION=""
ARG REVISION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X github.com/replayhook/replayhook/internal/buildinfo.linkedVersion=${VERSION} -X github.com/replayhook/replayhook/internal/buildinfo.linkedRevision=${REVISION}" \
      -o /out/replayhook . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/replayhook /replayhook
# The minimal production configuration: every secret from the environment
# (deploy/replayhook.env lists them); the server names any that is missing.
COPY deploy/config.production.yaml /etc/replayhook/config.yaml
# The snapshot holds personal data: keep /data on a volume only this
# container can read.
COPY --from=build --chown=65532:65532 /out/data /data
ENV REPLAYHOOK_CONFIG=/etc/replayhook/config.yaml \
    REPLAYHOOK_ADDR=0.0.0.0:8080 \
    REPLAYHOOK_SNAPSHOT=/data/replayhook.snapshot
VOLUME /data
USER nonroot:nonroot
EXPOSE 8080
# distroless has no shell or curl: the binary checks itself (GET /livez).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/replayhook", "healthcheck"]
ENTRYPOINT ["/replayhook"]
CMD ["serve"]
