# Multi-stage build: a static binary on distroless, running as nonroot.
# (The development machines have no Docker engine, so this file is kept
# deliberately plain; build it with `docker build -t replayhook .`.)
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/replayhook .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/replayhook /replayhook
COPY config.yaml /etc/replayhook/config.yaml
ENV REPLAYHOOK_CONFIG=/etc/replayhook/config.yaml \
    REPLAYHOOK_SNAPSHOT=/tmp/replayhook.snapshot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/replayhook"]
CMD ["serve"]
