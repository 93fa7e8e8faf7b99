#!/usr/bin/env bash
# kubectl-pki against real Talos, in Docker (needs Docker).
#
#   e2e/real/talos-docker.sh             # talosctl cluster create (docker), judges talosconfigs and certificates
#   e2e/real/talos-docker.sh --dry-run   # prints every command, runs none (no Docker needed)
#
# What it proves, with Talos judging kubectl-pki's output:
# `talos config new --from-machine-config` (the control plane's machine
# config, read from the node) and `--from-secrets` (the cluster's secrets
# bundle, `talosctl gen secrets --from-controlplane-config`) write
# talosconfigs the Talos API accepts
# (`talosctl version`), and one with os:reader is refused what the role
# lacks (`talosctl reset`, a sensitive resource); `status --file
# talosconfig` gives the expiry `talosctl config info` prints, and the roles;
# `status` against the cluster's kubeconfig reads the kube-apiserver
# certificate Talos holds in KubernetesDynamicCerts (same SHA-256, same
# notAfter, also by openssl). Outputs go to target/real-e2e/talos-docker/.
set -euo pipefail

# Pinned versions. Talos v1.14.0 is a published Go module tag (checked with
# `go list -m`); the node image is the same tag of ghcr.io/siderolabs/talos.
# talosctl is built from e2e/real/talosctl/go.mod, which requires the same
# version (its go.mod has replace directives, so `go install ...@version`
# refuses it).
TALOS_VERSION=v1.14.0
TALOS_IMAGE="ghcr.io/siderolabs/talos:$TALOS_VERSION"
TALOS_K8S_VERSION=1.36.3

CLUSTER=kubectl-pki-talos
# The docker provisioner's default subnet; the control plane is its first node.
SUBNET=10.5.0.0/24
NODE=10.5.0.2

# shellcheck source=e2e/real/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args talos-docker "$@"
cd "$REPO_ROOT"
need_docker

# What a failed run leaves for the artifacts, and the clean-up (lib.sh's on_exit_with).
collect_logs() {
  talosctl --talosconfig "$WORK/talosconfig" --nodes "$NODE" logs machined >"$ARTIFACTS/machined.log" 2>&1 || true
  talosctl --talosconfig "$WORK/talosconfig" --nodes "$NODE" dmesg >"$ARTIFACTS/dmesg.log" 2>&1
}
delete_clusters() {
  talosctl cluster destroy --name "$CLUSTER" >/dev/null 2>&1
}
trap 'on_exit_with collect_logs delete_clusters' EXIT

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

step "talosctl $TALOS_VERSION, built from its Go module (e2e/real/talosctl/go.mod)"
if [ "$DRY_RUN" = 1 ] || [ "$(cat "$TOOLS_BIN/.talosctl.version" 2>/dev/null)" != "$TALOS_VERSION" ]; then
  run grep -q "github.com/siderolabs/talos $TALOS_VERSION" "$REAL_DIR/talosctl/go.mod"
  run mkdir -p "$TOOLS_BIN"
  run env -C "$REAL_DIR/talosctl" GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -trimpath \
    -ldflags "-s -w -X github.com/siderolabs/talos/pkg/machinery/version.Tag=$TALOS_VERSION" -o "$TOOLS_BIN/talosctl" \
    github.com/siderolabs/talos/cmd/talosctl
  [ "$DRY_RUN" = 1 ] || echo "$TALOS_VERSION" >"$TOOLS_BIN/.talosctl.version"
fi
command -v kubectl >/dev/null || run cargo xtask kubectl
build_pki

step "talosctl cluster create docker ($TALOS_IMAGE, Kubernetes $TALOS_K8S_VERSION), its machine config and secrets bundle"
run talosctl cluster create docker --name "$CLUSTER" --image "$TALOS_IMAGE" --kubernetes-version "$TALOS_K8S_VERSION" \
  --workers 0 --subnet "$SUBNET" --talosconfig-destination "$WORK/talosconfig"
# The control plane's machine configuration as the node holds it, and the
# secrets bundle of the cluster, as `talosctl gen secrets` writes one.
save "$WORK/controlplane.yaml" talosctl --talosconfig "$WORK/talosconfig" --nodes "$NODE" get machineconfig v1alpha1 -o 'jsonpath={.spec}'
run rm -f "$WORK/secrets.yaml"
run talosctl gen secrets --from-controlplane-config "$WORK/controlplane.yaml" -o "$WORK/secrets.yaml"
run talosctl --talosconfig "$WORK/talosconfig" --nodes "$NODE" kubeconfig "$WORK/kubeconfig" --force
run kubectl --kubeconfig "$WORK/kubeconfig" wait node --all --for=condition=Ready --timeout=10m

step "talos config new --from-machine-config and --from-secrets: talosconfigs the Talos API accepts"
run "$PKI" talos config new --from-machine-config "$WORK/controlplane.yaml" --endpoints "$NODE" --nodes "$NODE" \
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
