# The same image `make image` builds without a container engine: the
# static manager binary (public CA roots compiled in) on an empty base,
# user 65532, entrypoint /manager, the org.opencontainers.image labels.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY api/ api/
COPY internal/ internal/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o manager ./cmd

FROM scratch
ARG VERSION=0.1.0
ARG REVISION=""
LABEL org.opencontainers.image.title="spaces-operator" \
      org.opencontainers.image.description="Kubernetes operator keeping Avaya Spaces in step with Space, SpaceInvite and ServiceAccountUserSet objects" \
      org.opencontainers.image.source="https://github.com/avayacloud/spaces-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/
WORKDIR /
COPY --from=builder /workspace/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
