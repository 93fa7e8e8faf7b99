# `kubectl pki status --k3s-dir` against `k3s certificate check -o json` on
# the same server/tls files: for every file under server/ that k3s checks,
# the same certificates (as their notAfter, leaf and CA of the file's
# bundle) on both sides. (k3s also checks the agent's files, under agent/,
# which the copied server/tls does not hold.)
#   --slurpfile k3s k3s-check.json --slurpfile pki pki-k3s-status.json
#   --arg k3sroot /var/lib/rancher/k3s --arg pkiroot <copied data dir>
include "common";
[$pki[0].items[] | select(.source == "k3s") | {file: (.location.path | rel($pkiroot)), notAfter: (.certificate.notAfter | norm_time)}] as $ours
| [($k3s[0].Certificates // [])[] | {file: (.Filename | rel($k3sroot)), notAfter: (.ExpiryTime | norm_time)} | select(.file | startswith("server/"))] as $theirs
| ($theirs | map(.file) | unique) as $files
| [$files[] as $f
   | {file: $f, k3s: ([$theirs[] | select(.file == $f) | .notAfter] | sort), pki: ([$ours[] | select(.file == $f) | .notAfter] | sort)}
   | select(.k3s != .pki)] as $mismatches
| result($files | length; $mismatches)
