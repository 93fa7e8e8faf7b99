#!/usr/bin/env bash
# kubectl-pki against the real Kamaji operator, on kind (needs Docker on
# Linux: the tenant APIs are NodePorts on the kind node's address, which a
# Linux host routes to and Docker Desktop does not).
#
#   e2e/real/kamaji-kind.sh             # creates kind, installs cert-manager + Kamaji, judges rotation
#   e2e/real/kamaji-kind.sh --dry-run   # prints every command, runs none (no Docker needed)
#
# What it proves, with the real operator judging kubectl-pki's output:
# `status --tenant` reads a real TenantControlPlane's secrets and the cert
# its API serves; `rotate-ca` (dry run: nothing changes; real run: the
# annotate method, restarts, live check) leaves a new CA that openssl reads
# from Kamaji's own secret, every certificate chaining to it and the tenant
# API serving it; Cozystack's consumers and the tenant's CAPK-labelled
# workers restarted, the other tenant's not; an old service-account token
# still valid; `restore` puts the first CA back. Then the e2e suites run
# with E2E_PROVIDER=kind. Outputs go to target/real-e2e/kamaji-kind/.
set -euo pipefail

# Pinned versions. kind and helm are Go modules (checked with
# `go list -m`); the node image is the one of kind-configs/kind.yaml.
# cert-manager v1.21.2 is a published Go module tag (its chart has the same
# version); Kamaji 26.8.2-edge is the operator build the facts were observed
# on (docs/domain-facts.md): its chart is taken from the source at that tag.
KIND_VERSION=v0.33.0
KIND_NODE_IMAGE=kindest/node:v1.36.3
HELM_VERSION=v3.22.0
CERT_MANAGER_VERSION=v1.21.2
KAMAJI_VERSION=26.8.2-edge
TENANT_K8S_VERSION=v1.35.0

CLUSTER=kubectl-pki-e2e
KAMAJI_NS=kamaji-system
# The chart's DataStore name when a dry run cannot ask (the real run reads it).
DATASTORE=default
NS=tenant-root
TCP=kubernetes-demo
OTHER=kubernetes-other

# shellcheck source=e2e/real/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args kamaji-kind "$@"
cd "$REPO_ROOT"
need_docker

# What a failed run leaves for the artifacts, and the clean-up (lib.sh's on_exit_with).
collect_logs() {
  kind export logs "$ARTIFACTS/kind-logs" --name "$CLUSTER" >/dev/null 2>&1
  kubectl get events -A --sort-by=.lastTimestamp >"$ARTIFACTS/events.txt" 2>&1
  kubectl -n "$KAMAJI_NS" logs -l app.kubernetes.io/name=kamaji --tail=-1 >"$ARTIFACTS/kamaji.log" 2>&1
  kubectl -n "$NS" get tcp,secrets,deploy,pods -o wide >"$ARTIFACTS/tenant-root.txt" 2>&1
}
delete_clusters() {
  kind delete cluster --name "$CLUSTER" >/dev/null 2>&1
}
trap 'on_exit_with collect_logs delete_clusters' EXIT

datastore_exists() { [ -n "$(kubectl get datastores -o name 2>/dev/null)" ]; }

# The label selector of a Deployment's pods (its matchLabels as k=v,k=v).
deployment_selector() {
  kubectl -n "$1" get deployment "$2" -o json | jq -r '.spec.selector.matchLabels | to_entries | map("\(.key)=\(.value)") | join(",")'
}

step "tools from their Go modules, pinned"
go_install kind "sigs.k8s.io/kind@$KIND_VERSION"
go_install helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
command -v kubectl >/dev/null || run cargo xtask kubectl
build_pki

step "kind cluster $CLUSTER from kind-configs/kind.yaml (node image $KIND_NODE_IMAGE)"
run grep -q "image: $KIND_NODE_IMAGE" kind-configs/kind.yaml
if [ "$DRY_RUN" = 1 ] || ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  run kind create cluster --name "$CLUSTER" --config kind-configs/kind.yaml --wait 5m
fi
save "$WORK/kind.kubeconfig" kind get kubeconfig --name "$CLUSTER"
export KUBECONFIG="$WORK/kind.kubeconfig"
# The tenant APIs are NodePorts on this address (a Linux Docker host routes to it).
capture NODE_IP 172.18.0.2 docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$CLUSTER-control-plane"

step "cert-manager $CERT_MANAGER_VERSION (Kamaji's webhooks need its certificates)"
run helm repo add jetstack https://charts.jetstack.io --force-update
run helm upgrade --install cert-manager jetstack/cert-manager --version "$CERT_MANAGER_VERSION" \
  --namespace cert-manager --create-namespace --set crds.enabled=true --wait --timeout 10m

step "Kamaji $KAMAJI_VERSION in $KAMAJI_NS, its chart at the same tag, with the etcd DataStore it installs"
run rm -rf "$WORK/kamaji-src"
run git clone --depth 1 --branch "$KAMAJI_VERSION" https://github.com/clastix/kamaji "$WORK/kamaji-src"
run helm repo add clastix https://clastix.github.io/charts --force-update
run helm dependency build "$WORK/kamaji-src/charts/kamaji"
run helm upgrade --install kamaji "$WORK/kamaji-src/charts/kamaji" --namespace "$KAMAJI_NS" --create-namespace \
  --set image.tag="$KAMAJI_VERSION" --wait --timeout 10m
run kubectl -n "$KAMAJI_NS" wait deployment -l app.kubernetes.io/name=kamaji --for=condition=Available --timeout=5m
# The chart's etcd (its kamaji-etcd dependency) registers a DataStore; the
# tenants use the one it made.
retry 60 5 datastore_exists
capture DATASTORE "$DATASTORE" kubectl get datastores -o 'jsonpath={.items[0].metadata.name}'

step "Cozystack-shaped tenants $NS/$TCP and $NS/$OTHER, consumers and CAPK-labelled workers"
save "$WORK/tenants.yaml" sed -e "s/@NODE_IP@/$NODE_IP/g" -e "s/@TENANT_K8S_VERSION@/$TENANT_K8S_VERSION/g" \
  -e "s/@DATASTORE@/$DATASTORE/g" "$REAL_DIR/manifests/tenants.yaml"
run kubectl apply -f "$WORK/tenants.yaml"
run kubectl -n "$NS" wait "tcp/$TCP" "tcp/$OTHER" --for=jsonpath='{.status.kubernetesResources.version.status}'=Ready --timeout=10m
run kubectl apply -f "$REAL_DIR/manifests/consumers.yaml"
run kubectl -n "$NS" wait deployment --all --for=condition=Available --timeout=10m

step "a service-account token of the tenant, made before the rotation"
save "$WORK/tenant-demo.kubeconfig" kubectl -n "$NS" get secret "$TCP-admin-kubeconfig" -o 'go-template={{index .data "admin.conf" | base64decode}}'
run kubectl --kubeconfig "$WORK/tenant-demo.kubeconfig" -n default create serviceaccount pki-probe
capture OLD_TOKEN token kubectl --kubeconfig "$WORK/tenant-demo.kubeconfig" -n default create token pki-probe --duration=24h
capture TENANT_SERVER "https://$NODE_IP:31443" kubectl --kubeconfig "$WORK/tenant-demo.kubeconfig" config view -o 'jsonpath={.clusters[0].cluster.server}'

step "status --tenant before: the operator's secrets, chained, and what the tenant API serves"
save_status status-tenant-before.json "$PKI" status --tenant "$TCP" -n "$NS" --kamaji-namespace "$KAMAJI_NS" -o json
save_status status-all-tenants.json "$PKI" status --all-tenants -n "$NS" --kamaji-namespace "$KAMAJI_NS" -o json
run jq -e --arg ep "$TENANT_SERVER" '[.items[] | select(.source == "tenant" and .served != null) | .served] | length > 0 and all(.verdict == "ok" and .endpoint == $ep)' \
  "$ARTIFACTS/status-tenant-before.json"

step "rotate-ca dry run: a plan, and not one secret changed"
save "$WORK/secrets-before-plan.json" kubectl -n "$NS" get secrets -o json
save rotate-ca-plan.json "$PKI" rotate-ca "$TCP" -n "$NS" --kamaji-namespace "$KAMAJI_NS" -o json
save "$WORK/secrets-after-plan.json" kubectl -n "$NS" get secrets -o json
compare dry-run-unchanged unchanged.jq --slurpfile before "$WORK/secrets-before-plan.json" --slurpfile after "$WORK/secrets-after-plan.json"

step "rotate-ca for real: annotate method (Kamaji >= edge-25.7.3), restarts, live check against $TENANT_SERVER"
capture SINCE 2026-01-01T00:00:00Z date -u +%Y-%m-%dT%H:%M:%SZ
save rotate-ca-report.json "$PKI" rotate-ca "$TCP" -n "$NS" --kamaji-namespace "$KAMAJI_NS" --dry-run=false \
  --restart-workers --backup-dir "$WORK/backups" --write-kubeconfig "$WORK/tenant-demo-new.kubeconfig" --timeout 15m -o json

step "restarts: Cozystack's consumers and the tenant's workers restarted, the other tenant's workers not"
run "$PKI" restarts -n "$NS" -l "cluster.x-k8s.io/cluster-name=$TCP" --since "$SINCE" --wait --timeout 10m
run "$PKI" restarts -n "$NS" -l "app=$TCP-kcsi-driver" --since "$SINCE" --wait --timeout 10m
run "$PKI" restarts -n "$NS" -l "k8s-app=$TCP-kccm" --since "$SINCE" --wait --timeout 10m
run "$PKI" restarts -n "$NS" -l "app=$TCP-cluster-autoscaler" --since "$SINCE" --wait --timeout 10m
expect_exit 4 "$PKI" restarts -n "$NS" -l "cluster.x-k8s.io/cluster-name=$OTHER" --since "$SINCE"

step "status --tenant after, judged against the operator's own secret (openssl) and the live API"
save_status status-tenant-after.json "$PKI" status --tenant "$TCP" -n "$NS" --kamaji-namespace "$KAMAJI_NS" -o json
save "$WORK/ca-after.crt" kubectl -n "$NS" get secret "$TCP-ca" -o 'go-template={{index .data "ca.crt" | base64decode}}'
capture CA_SHA256 AB:CD pem_sha256 "$WORK/ca-after.crt"
compare kamaji-rotated kamaji-rotated.jq --slurpfile before "$ARTIFACTS/status-tenant-before.json" \
  --slurpfile after "$ARTIFACTS/status-tenant-after.json" --slurpfile report "$ARTIFACTS/rotate-ca-report.json" \
  --arg caSecret "$TCP-ca" --arg opensslSha256 "$CA_SHA256"
run kubectl -n "$NS" wait "tcp/$TCP" --for=jsonpath='{.status.kubernetesResources.version.status}'=Ready --timeout=5m

step "the tenant API after the rotation: new kubeconfig works, old one refused, old token still valid"
run kubectl --kubeconfig "$WORK/tenant-demo-new.kubeconfig" get --raw /readyz
expect_refused kubectl --kubeconfig "$WORK/tenant-demo.kubeconfig" --request-timeout=20s get namespaces
capture WHO system:serviceaccount:default:pki-probe kubectl --kubeconfig=/dev/null --server "$TENANT_SERVER" \
  --insecure-skip-tls-verify --token "$OLD_TOKEN" auth whoami -o 'jsonpath={.status.userInfo.username}'
equal "the token made before the rotation" "$WHO" system:serviceaccount:default:pki-probe

if [ "$SUITES" = 1 ]; then
  step "the e2e suites that judge rotation, against this cluster (E2E_PROVIDER=kind: the provider profile meets the real operator)"
  # The provider suite (e2e/real/operator-suite.txt): the same tests cargo
  # xtask test runs against a local operator, here against the real Kamaji.
  operator_suite
  run env E2E_PROVIDER=kind E2E_KAMAJI_NAMESPACE="$KAMAJI_NS" E2E_TENANT_API=node-network \
    E2E_NODE_IP="$NODE_IP" E2E_DATASTORE="$DATASTORE" cargo test -p e2e "${SUITE_ARGS[@]}"
fi

step "restore: the rotation's backup puts the first CA back"
capture BACKUP "$WORK/backups/pki-backup-$NS-$TCP-TIME.yaml" first_file "$WORK/backups/pki-backup-$NS-$TCP-"*.yaml
save restore-plan.json "$PKI" restore "$BACKUP" -o json
save restore-report.json "$PKI" restore "$BACKUP" --dry-run=false -o json
# The tenant kube-apiserver re-reads its files only in new pods (Kamaji
# drops a rollout-restart annotation): replace them one at a time.
capture TCP_PODS "kamaji.clastix.io/name=$TCP" deployment_selector "$NS" "$TCP"
run kubectl -n "$NS" delete pod -l "$TCP_PODS" --wait=true
run kubectl -n "$NS" rollout status "deployment/$TCP" --timeout=5m
retry 30 10 "$PKI" status --tenant "$TCP" -n "$NS" --kamaji-namespace "$KAMAJI_NS" --summary
save_status status-tenant-restored.json "$PKI" status --tenant "$TCP" -n "$NS" --kamaji-namespace "$KAMAJI_NS" -o json
compare kamaji-restored kamaji-restored.jq --slurpfile before "$ARTIFACTS/status-tenant-before.json" \
  --slurpfile restored "$ARTIFACTS/status-tenant-restored.json" --arg caSecret "$TCP-ca"

if [ "$KEEP" = 0 ]; then
  step "delete the cluster"
  run kind delete cluster --name "$CLUSTER"
fi
passed "kind $KIND_VERSION + Kamaji $KAMAJI_VERSION: status, rotate-ca, restarts, live check, old tokens, restore"
