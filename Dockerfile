# syntax=docker/dockerfile:1
#
# The kubectl-pki image: one static musl binary on distroless/static
# (CA certificates, a nonroot user, nothing else), for the exporter's Helm
# chart (charts/kubectl-pki-exporter) and for `docker run` of any command:
#
#   docker run --rm ghcr.io/kubectl-pki/kubectl-pki:0.1.0 version
#
# Built and pushed for linux/amd64 and linux/arm64 by the `image` job of
# .github/workflows/release.yml (buildx; arm64 builds natively under QEMU).
# It cannot be built in the development sandbox, which has no Docker; the
# same `cargo build --release --locked --target <arch>-unknown-linux-musl`
# is what the release job's cross builds run.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg KUBECTL_PKI_COMMIT="$(git rev-parse --short HEAD)" -t kubectl-pki .

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-alpine AS build
# musl-dev and a C compiler for ring; TARGETARCH comes from buildx.
RUN apk add --no-cache musl-dev gcc
ARG TARGETARCH
# The commit `kubectl pki version` prints (.git is not copied in).
ARG KUBECTL_PKI_COMMIT=unknown
ENV KUBECTL_PKI_COMMIT=${KUBECTL_PKI_COMMIT}
WORKDIR /src
COPY . .
# Ends with a check that the binary is static: distroless/static has no libc.
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    rustup target add "$target"; \
    cargo build --release --locked -p kubectl-pki --bin kubectl-pki --target "$target"; \
    install -m 0755 "target/$target/release/kubectl-pki" /kubectl-pki; \
    if ldd /kubectl-pki 2>&1 | grep -q '=>'; then echo "kubectl-pki is dynamically linked" >&2; exit 1; fi

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.title="kubectl-pki" \
      org.opencontainers.image.description="kubectl-pki: certificate status, renewal, CA rotation and a Prometheus exporter for Kubernetes" \
      org.opencontainers.image.source="https://github.com/kubectl-pki/kubectl-pki" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /kubectl-pki /kubectl-pki
# nonroot (65532:65532), as the chart's runAsUser expects.
USER 65532:65532
EXPOSE 9793
ENTRYPOINT ["/kubectl-pki"]
