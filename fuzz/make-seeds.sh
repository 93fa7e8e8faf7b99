#!/usr/bin/env bash
# Regenerates the seed corpus in fuzz/seeds/<target>/ with the openssl CLI:
# small valid inputs of every shape each parser accepts (throwaway keys).
# Run from anywhere; the files are committed, so this is rarely needed.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
o() { openssl "$@" 2>/dev/null; }
b64() { base64 -w0 < "$1"; }

# Keys: Ed25519 (PKCS#8), ECDSA P-256 (SEC1 and PKCS#8), RSA-1024 (PKCS#1, small on purpose).
o genpkey -algorithm ed25519 -out "$work/ed.key"
o ecparam -name prime256v1 -genkey -noout -out "$work/ec-sec1.key"
o pkcs8 -topk8 -nocrypt -in "$work/ec-sec1.key" -out "$work/ec.key"
o genrsa -traditional -out "$work/rsa.key" 1024 || o genrsa -out "$work/rsa.key" 1024
# A CA (Ed25519, O=talos as Talos makes it), an ECDSA intermediate, leaves.
o req -x509 -new -key "$work/ed.key" -subj "/O=talos" -days 3650 -out "$work/ca.crt"
o req -new -key "$work/ec.key" -subj "/CN=intermediate" -out "$work/int.csr"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$work/ca.ext"
o x509 -req -in "$work/int.csr" -CA "$work/ca.crt" -CAkey "$work/ed.key" -CAcreateserial -days 365 -extfile "$work/ca.ext" -out "$work/int.crt"
o req -new -key "$work/rsa.key" -subj "/CN=leaf/O=system:masters" -out "$work/leaf.csr"
printf 'subjectAltName=DNS:leaf.example,IP:10.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > "$work/leaf.ext"
o x509 -req -in "$work/leaf.csr" -CA "$work/int.crt" -CAkey "$work/ec.key" -CAcreateserial -days 30 -extfile "$work/leaf.ext" -out "$work/leaf.crt"
o x509 -in "$work/leaf.crt" -outform DER -out "$work/leaf.der"
cat "$work/leaf.crt" "$work/int.crt" "$work/ca.crt" > "$work/bundle.pem"

seed() { mkdir -p "seeds/$1"; cat > "seeds/$1/$2"; }
seed pem_der leaf.pem < "$work/leaf.crt"
seed pem_der leaf.der < "$work/leaf.der"
seed pem_der bundle.pem < "$work/bundle.pem"
b64 "$work/bundle.pem" | seed pem_der bundle.pem.b64
b64 "$work/leaf.der" | seed pem_der leaf.der.b64
{ echo "text before"; cat "$work/ca.crt"; echo "text between"; cat "$work/int.crt"; } | seed pem_der with-text.pem

seed private_key ed25519.pem < "$work/ed.key"
seed private_key ec-sec1.pem < "$work/ec-sec1.key"
seed private_key ec-pkcs8.pem < "$work/ec.key"
seed private_key rsa-pkcs1.pem < "$work/rsa.key"
o pkey -in "$work/ed.key" -outform DER | seed private_key ed25519.der
o pkey -in "$work/ec.key" -outform DER | seed private_key ec-pkcs8.der

kubeconfig() {
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: %s\n' "$(b64 "$work/bundle.pem")"
  printf 'users:\n- name: u\n  user:\n    client-certificate-data: %s\n    client-key-data: %s\n' "$(b64 "$work/leaf.crt")" "$(b64 "$work/rsa.key")"
  printf -- '- name: files\n  user:\n    client-certificate: leaf.crt\n    client-key: leaf.key\n'
  printf 'contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n    namespace: default\n- name: other\n  context: {cluster: c, user: files}\ncurrent-context: ctx\n'
}
kubeconfig | seed kubeconfig admin.conf
printf 'clusters: []\nusers: []\ncontexts: []\n' | seed kubeconfig empty.conf

talosconfig() {
  printf 'context: prod\ncontexts:\n  prod:\n    endpoints: [10.0.0.2, 10.0.0.3]\n    nodes: [10.0.0.2]\n    ca: %s\n    crt: %s\n    key: %s\n' \
    "$(b64 "$work/ca.crt")" "$(b64 "$work/leaf.crt")" "$(b64 "$work/ed.key")"
  printf '  broken:\n    ca: bm90IGEgY2VydA==\n    crt: "%%%%"\n'
}
talosconfig | seed talosconfig talosconfig

printf 'cluster:\n  id: x\ncerts:\n  etcd:\n    crt: %s\n    key: %s\n  os:\n    crt: %s\n    key: %s\n' \
  "$(b64 "$work/int.crt")" "$(b64 "$work/ec.key")" "$(b64 "$work/ca.crt")" "$(b64 "$work/ed.key")" | seed talos_secrets secrets.yaml
printf 'version: v1alpha1\nmachine:\n  type: controlplane\n  ca:\n    crt: %s\n    key: %s\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp-1\n' \
  "$(b64 "$work/ca.crt")" "$(b64 "$work/ed.key")" | seed talos_secrets controlplane.yaml
printf 'version: v1alpha1\nmachine:\n  type: worker\n  ca:\n    crt: %s\n    key: ""\n' "$(b64 "$work/ca.crt")" | seed talos_secrets worker.yaml
{ cat "$work/ca.crt"; cat "$work/ed.key"; } | seed talos_secrets ca-and-key.pem

# secret_data: first byte picks the key name (see src/lib.rs): 0 tls.crt, 2 kubeconfig, 3 talosconfig, 4 value.
{ printf '\x00'; cat "$work/bundle.pem"; } | seed secret_data tls.crt
{ printf '\x02'; kubeconfig; } | seed secret_data kubeconfig
{ printf '\x03'; talosconfig; } | seed secret_data talosconfig
{ printf '\x04'; b64 "$work/leaf.der"; } | seed secret_data value-b64

seed k3s_bundle server-ca.crt < "$work/bundle.pem"
cat "$work/int.crt" "$work/ca.crt" | seed k3s_bundle intermediate-and-root.crt
seed k3s_bundle root.crt < "$work/ca.crt"
echo "seeds written to $(pwd)/seeds"
