#!/usr/bin/env bash
# kubectl-pki against real k3s, in k3d (needs Docker).
#
#   e2e/real/k3d-k3s.sh             # creates the k3d clusters, compares with k3s's own tools
#   e2e/real/k3d-k3s.sh --dry-run   # prints every command, runs none (no Docker needed)
#
# What it proves, with k3s judging kubectl-pki's output:
# `status --k3s-dir` on the server's copied server/tls agrees with
# `k3s certificate check -o json` (same files, same notAfter);
# `k3s cross-sign` + `k3s rotate-sa-key` stage a rotation that
# `k3s certificate rotate-ca` accepts (without --force); after restarting
# the nodes the API serves a certificate of the new CA and a token made
# before the rotation is still valid; a cluster started on
# `k3s generate-ca` output (placed before the first start) comes up and
# serves a certificate of those CAs. Outputs go to target/real-e2e/k3d-k3s/.
set -euo pipefail

# Pinned versions. k3d is a Go module (checked with `go list -m`); the k3s
# image is the one of kind-configs/k3d.yaml (Kubernetes v1.36.3, the
# version of the local control plane).
K3D_VERSION=v5.9.0
K3S_IMAGE=rancher/k3s:v1.36.3-k3s1

CLUSTER=kubectl-pki-e2e
CUSTOM_CLUSTER=kubectl-pki-custom-ca
SERVER="k3d-$CLUSTER-server-0"
AGENT="k3d-$CLUSTER-agent-0"
CUSTOM_SERVER="k3d-$CUSTOM_CLUSTER-server-0"
K3S_DIR=/var/lib/rancher/k3s

# shellcheck source=e2e/real/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args k3d-k3s "$@"
cd "$REPO_ROOT"
need_docker

# What a failed run leaves for the artifacts, and the clean-up (lib.sh's on_exit_with).
collect_logs() {
  local c
  for c in "$SERVER" "$AGENT" "$CUSTOM_SERVER"; do docker logs "$c" >"$ARTIFACTS/$c.log" 2>&1 || true; done
}
delete_clusters() {
  k3d cluster delete "$CLUSTER" >/dev/null 2>&1 || true
  k3d cluster delete "$CUSTOM_CLUSTER" >/dev/null 2>&1
}
trap 'on_exit_with collect_logs delete_clusters' EXIT

step "tools from their Go modules, pinned"
go_install k3d "github.com/k3d-io/k3d/v5@$K3D_VERSION" \
  -ldflags "-s -w -X github.com/k3d-io/k3d/v5/version.Version=$K3D_VERSION -X github.com/k3d-io/k3d/v5/version.K3sVersion=${K3S_IMAGE#*:}"
command -v kubectl >/dev/null || run cargo xtask kubectl
build_pki

step "k3d cluster $CLUSTER from kind-configs/k3d.yaml ($K3S_IMAGE)"
run grep -q "image: $K3S_IMAGE" kind-configs/k3d.yaml
if [ "$DRY_RUN" = 1 ] || ! k3d cluster list --no-headers 2>/dev/null | grep -q "^$CLUSTER "; then
  run k3d cluster create --config kind-configs/k3d.yaml --kubeconfig-update-default=false --wait --timeout 5m
fi
save "$WORK/k3d.kubeconfig" k3d kubeconfig get "$CLUSTER"
export KUBECONFIG="$WORK/k3d.kubeconfig"
run kubectl wait node --all --for=condition=Ready --timeout=5m

step "status --k3s-dir on the server's own files = k3s certificate check -o json in the container"
run mkdir -p "$WORK/k3s/server"
run docker cp "$SERVER:$K3S_DIR/server/tls" "$WORK/k3s/server/"
run docker cp "$SERVER:$K3S_DIR/server/token" "$WORK/k3s/server/token"
save k3s-check.json docker exec "$SERVER" k3s certificate check -o json
save_status pki-k3s-status.json "$PKI" status --k3s-dir "$WORK/k3s" -o json
compare k3s-check k3s-check.jq --slurpfile k3s "$ARTIFACTS/k3s-check.json" --slurpfile pki "$ARTIFACTS/pki-k3s-status.json" \
  --arg k3sroot "$K3S_DIR" --arg pkiroot "$WORK/k3s"

step "a service-account token made before the rotation"
run kubectl -n default create serviceaccount pki-probe
capture OLD_TOKEN token kubectl -n default create token pki-probe --duration=24h
capture API_SERVER https://0.0.0.0:6443 kubectl config view -o 'jsonpath={.clusters[0].cluster.server}'

step "k3s cross-sign + rotate-sa-key stage a rotation; kubectl-pki's check and then k3s itself accept it"
run "$PKI" k3s cross-sign --data-dir "$WORK/k3s" --out "$WORK/rotate-ca"
run "$PKI" k3s rotate-sa-key --data-dir "$WORK/k3s" --out "$WORK/rotate-ca"
run "$PKI" k3s check --data-dir "$WORK/rotate-ca" --current "$WORK/k3s"
save_status status-staged-server-ca.json "$PKI" status --file "$WORK/rotate-ca/tls/server-ca.crt" -o json
run docker cp "$WORK/rotate-ca" "$SERVER:$K3S_DIR/server/rotate-ca"
# No --force: k3s runs its own checks (bundles, chain to the old roots, the old service key kept).
save k3s-rotate-ca.txt docker exec "$SERVER" k3s certificate rotate-ca --path="$K3S_DIR/server/rotate-ca"

step "restart the k3s nodes (servers first): the API serves a certificate of the new CA"
run docker restart "$SERVER"
run docker restart "$AGENT"
retry 60 5 kubectl --insecure-skip-tls-verify get --raw /readyz
save "$WORK/k3d-rotated.kubeconfig" k3d kubeconfig get "$CLUSTER"
save_status status-served-rotated.json "$PKI" --kubeconfig "$WORK/k3d-rotated.kubeconfig" status --source server -o json
compare served-new-ca served-by-ca.jq --slurpfile served "$ARTIFACTS/status-served-rotated.json" \
  --slurpfile ca "$ARTIFACTS/status-staged-server-ca.json"
run kubectl --kubeconfig "$WORK/k3d-rotated.kubeconfig" wait node --all --for=condition=Ready --timeout=5m

step "the old token is still valid (rotate-sa-key kept the old public key), and a new one works"
capture WHO system:serviceaccount:default:pki-probe kubectl --kubeconfig=/dev/null --server "$API_SERVER" \
  --insecure-skip-tls-verify --token "$OLD_TOKEN" auth whoami -o 'jsonpath={.status.userInfo.username}'
equal "the token made before the rotation" "$WHO" system:serviceaccount:default:pki-probe
capture NEW_TOKEN token kubectl --kubeconfig "$WORK/k3d-rotated.kubeconfig" -n default create token pki-probe --duration=1h
capture WHO_NEW system:serviceaccount:default:pki-probe kubectl --kubeconfig=/dev/null --server "$API_SERVER" \
  --insecure-skip-tls-verify --token "$NEW_TOKEN" auth whoami -o 'jsonpath={.status.userInfo.username}'
equal "a token made after the rotation" "$WHO_NEW" system:serviceaccount:default:pki-probe

if [ "$SUITES" = 1 ]; then
  step "the e2e suites that apply to k3s, against this cluster (E2E_PROVIDER=k3d)"
  run env E2E_PROVIDER=k3d cargo test -p e2e --test status --test restarts -- --test-threads=1
fi

step "a cluster started on k3s generate-ca output (placed in server/tls before the first start) comes up"
run "$PKI" k3s generate-ca --data-dir "$WORK/custom"
save_status status-generated-server-ca.json "$PKI" status --file "$WORK/custom/server/tls/server-ca.crt" -o json
run k3d cluster create "$CUSTOM_CLUSTER" --image "$K3S_IMAGE" --servers 1 --agents 0 \
  --volume "$WORK/custom/server/tls:$K3S_DIR/server/tls@server:0" --k3s-arg "--disable=traefik@server:0" \
  --kubeconfig-update-default=false --wait --timeout 5m
save "$WORK/k3d-custom.kubeconfig" k3d kubeconfig get "$CUSTOM_CLUSTER"
run kubectl --kubeconfig "$WORK/k3d-custom.kubeconfig" wait node --all --for=condition=Ready --timeout=5m
save_status status-served-custom.json "$PKI" --kubeconfig "$WORK/k3d-custom.kubeconfig" status --source server -o json
compare served-generated-ca served-by-ca.jq --slurpfile served "$ARTIFACTS/status-served-custom.json" \
  --slurpfile ca "$ARTIFACTS/status-generated-server-ca.json"
save k3s-check-custom.json docker exec "$CUSTOM_SERVER" k3s certificate check -o json
save_status pki-k3s-status-custom.json "$PKI" status --k3s-dir "$WORK/custom" -o json
compare k3s-check-custom k3s-check.jq --slurpfile k3s "$ARTIFACTS/k3s-check-custom.json" \
  --slurpfile pki "$ARTIFACTS/pki-k3s-status-custom.json" --arg k3sroot "$K3S_DIR" --arg pkiroot "$WORK/custom"

if [ "$KEEP" = 0 ]; then
  step "delete the clusters"
  run k3d cluster delete "$CLUSTER"
  run k3d cluster delete "$CUSTOM_CLUSTER"
fi
passed "k3d $K3D_VERSION + $K3S_IMAGE: status --k3s-dir = k3s certificate check, cross-sign accepted by rotate-ca, old tokens, generate-ca"
