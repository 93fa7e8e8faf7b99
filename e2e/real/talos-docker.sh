#!/usr/bin/env bash
# kubectl-pki against real Talos, in Docker (needs Docker).
#
#   e2e/real/talos-docker.sh             # talosctl cluster create (docker), judges talosconfigs and certificates
#   e2e/real/talos-docker.sh --dry-run   # prints every command, runs none (no Docker needed)
#
# What it proves, with Talos judging kubectl-pki's output:
# `talos config new --from-machine-config` (the control plane's machine
# config) and `--from-secrets` (the `talosctl gen secrets` bundle the
# cluster was made from) write talosconfigs the Talos API accepts
# (`talosctl version`), and one with os:reader is refused what the role
# lacks (`talosctl reset`, a sensitive resource); `status --file
# talosconfig` gives the expiry `talosctl config info` prints, and the roles;
# `status` against the cluster's kubeconfig reads the kube-apiserver
# certificate Talos holds in KubernetesDynamicCerts (same SHA-256, same
# notAfter, also by openssl). Outputs go to target/real-e2e/talos-docker/.
set -euo pipefail

# Pinned versions. Talos v1.14.0 is a published Go module tag (checked with
# `go list -m`); the node image is the same tag of ghcr.io/siderolabs/talos.
# talosctl is built inside its own module (its go.mod has replace
# directives, so `go install ...@version` refuses it).
TALOS_VERSION=v1.14.0
TALOS_IMAGE="ghcr.io/siderolabs/talos:$TALOS_VERSION"
TALOS_K8S_VERSION=1.36.3

CLUSTER=kubectl-pki-talos
CIDR=10.5.0.0/24
NODE=10.5.0.2

# shellcheck source=e2e/real/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args talos-docker "$@"
cd "$REPO_ROOT"
need_docker

on_exit() {
  local rc=$?
  [ "$DRY_RUN" = 1 ] && return 0
  if [ "$rc" != 0 ]; then
    echo "talos-docker: FAILED ($rc): logs in $ARTIFACTS" >&2
    talosctl --talosconfig "$WORK/talosconfig" --nodes "$NODE" logs machined >"$ARTIFACTS/machined.log" 2>&1 || true
    talosctl --talosconfig "$WORK/talosconfig" --nodes "$NODE" dmesg >"$ARTIFACTS/dmesg.log" 2>&1 || true
  fi
  if [ "$KEEP" = 0 ]; then talosctl cluster destroy --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap on_exit EXIT

# The directory of the Talos module in the Go module cache (downloaded by go).
talos_module_dir() {
  "${GO_ENV[@]}" go mod download -json "github.com/siderolabs/talos@$TALOS_VERSION" | jq -r .Dir
}

# talos_resource_pem JSON FIELD OUT: spec.FIELD.crt of a `talosctl get -o json`
# resource as a PEM file (Talos prints PEM bytes base64-encoded).
talos_resource_pem() {
  local crt
  crt="$(jq -r ".spec.$2.crt" "$1")"
  if [[ "$crt" == -----BEGIN* ]]; then printf '%s\n' "$crt" >"$3"; else printf '%s' "$crt" | base64 -d >"$3"; fi
}

# expect_denied CMD...: CMD must be refused by Talos's authorization (the
# role), not fail for another reason.
expect_denied() {
  local err="$WORK/denied.txt"
  printf '+ %s  # must be refused: PermissionDenied\n' "$(quote "$@")"
  [ "$DRY_RUN" = 1 ] && return 0
  if "$@" >"$err" 2>&1; then
    echo "FAIL: $(quote "$@") succeeded with role os:reader" >&2
    return 1
  fi
  cat "$err" >>"$ARTIFACTS/denied.log"
  if ! grep -q PermissionDenied "$err"; then
    echo "FAIL: $(quote "$@") failed, but not with PermissionDenied:" >&2
    cat "$err" >&2
    return 1
  fi
}

step "talosctl $TALOS_VERSION, built from its Go module"
if [ "$DRY_RUN" = 1 ] || [ "$(cat "$TOOLS_BIN/.talosctl.version" 2>/dev/null)" != "$TALOS_VERSION" ]; then
  capture TALOS_SRC "$HOME/go/pkg/mod/github.com/siderolabs/talos@$TALOS_VERSION" talos_module_dir
  run mkdir -p "$TOOLS_BIN"
  run env -C "$TALOS_SRC" GOWORK=off GOTOOLCHAIN=local go build -trimpath \
    -ldflags "-s -w -X github.com/siderolabs/talos/pkg/machinery/version.Tag=$TALOS_VERSION" -o "$TOOLS_BIN/talosctl" ./cmd/talosctl
  [ "$DRY_RUN" = 1 ] || echo "$TALOS_VERSION" >"$TOOLS_BIN/.talosctl.version"
fi
command -v kubectl >/dev/null || run cargo xtask kubectl
build_pki

step "a secrets bundle and machine configs from it, then talosctl cluster create docker ($TALOS_IMAGE)"
run rm -rf "$WORK/config" "$WORK/secrets.yaml"
run talosctl gen secrets -o "$WORK/secrets.yaml"
run talosctl gen config "$CLUSTER" "https://$NODE:6443" --with-secrets "$WORK/secrets.yaml" \
  --kubernetes-version "$TALOS_K8S_VERSION" --output-dir "$WORK/config"
run talosctl --talosconfig "$WORK/talosconfig" cluster create docker --name "$CLUSTER" --image "$TALOS_IMAGE" \
  --cidr "$CIDR" --input-dir "$WORK/config" --controlplanes 1 --workers 0 --wait-timeout 10m
run talosctl --talosconfig "$WORK/config/talosconfig" --endpoints "$NODE" --nodes "$NODE" kubeconfig "$WORK/kubeconfig" --force
run kubectl --kubeconfig "$WORK/kubeconfig" wait node --all --for=condition=Ready --timeout=10m

step "talos config new --from-machine-config and --from-secrets: talosconfigs the Talos API accepts"
run "$PKI" talos config new --from-machine-config "$WORK/config/controlplane.yaml" --endpoints "$NODE" --nodes "$NODE" \
  --force "$WORK/tc-machine-config"
run "$PKI" talos config new --from-secrets "$WORK/secrets.yaml" --endpoints "$NODE" --nodes "$NODE" --force "$WORK/tc-secrets"
run "$PKI" talos config new --from-secrets "$WORK/secrets.yaml" --roles os:reader --endpoints "$NODE" --nodes "$NODE" \
  --force "$WORK/tc-reader"
save talosctl-version-machine-config.txt talosctl --talosconfig "$WORK/tc-machine-config" version
save talosctl-version-secrets.txt talosctl --talosconfig "$WORK/tc-secrets" version
save talosctl-version-reader.txt talosctl --talosconfig "$WORK/tc-reader" version

step "os:reader is refused what the role lacks"
expect_denied talosctl --talosconfig "$WORK/tc-reader" reset --graceful=false --reboot --wait=false
expect_denied talosctl --talosconfig "$WORK/tc-reader" get kubernetesdynamiccerts
run talosctl --talosconfig "$WORK/tc-secrets" get kubernetesdynamiccerts

step "status --file talosconfig = talosctl config info (expiry date, roles)"
for tc in machine-config:os:admin secrets:os:admin reader:os:reader; do
  name="${tc%%:*}"
  roles="${tc#*:}"
  save "talosctl-config-info-$name.txt" talosctl --talosconfig "$WORK/tc-$name" config info
  save_status "pki-talosconfig-$name.json" "$PKI" status --file "$WORK/tc-$name" -o json
  compare "talosconfig-$name" talos-config-info.jq --slurpfile pki "$ARTIFACTS/pki-talosconfig-$name.json" \
    --rawfile info "$ARTIFACTS/talosctl-config-info-$name.txt" --arg roles "$roles"
done

step "status against the cluster's kubeconfig = talosctl get KubernetesDynamicCerts (same certificate, same notAfter)"
save "$WORK/dynamic-certs.yaml" talosctl --talosconfig "$WORK/tc-secrets" get KubernetesDynamicCerts -o yaml
save "$WORK/dynamic-certs.json" talosctl --talosconfig "$WORK/tc-secrets" get KubernetesDynamicCerts -o json
run talos_resource_pem "$WORK/dynamic-certs.json" apiServer "$WORK/dynamic-apiserver.crt"
run talos_resource_pem "$WORK/dynamic-certs.json" apiServerKubeletClient "$WORK/dynamic-apiserver-kubelet-client.crt"
run talos_resource_pem "$WORK/dynamic-certs.json" frontProxy "$WORK/dynamic-front-proxy.crt"
save_status status-dynamic-apiserver.json "$PKI" status --file "$WORK/dynamic-apiserver.crt" -o json
save_status status-dynamic-others.json "$PKI" status --file "$WORK/dynamic-apiserver-kubelet-client.crt" \
  --file "$WORK/dynamic-front-proxy.crt" -o json
capture OPENSSL_NOT_AFTER 2027-01-01T00:00:00Z pem_not_after "$WORK/dynamic-apiserver.crt"
save_status status-talos-kubeconfig.json "$PKI" --kubeconfig "$WORK/kubeconfig" status --source kubeconfig,server -o json
compare dynamic-certs talos-dynamic-certs.jq --slurpfile served "$ARTIFACTS/status-talos-kubeconfig.json" \
  --slurpfile resource "$ARTIFACTS/status-dynamic-apiserver.json" --arg opensslNotAfter "$OPENSSL_NOT_AFTER"

if [ "$KEEP" = 0 ]; then
  step "destroy the cluster"
  run talosctl cluster destroy --name "$CLUSTER"
fi
passed "Talos $TALOS_VERSION in Docker: talosconfigs accepted and role-limited, config info, KubernetesDynamicCerts"
