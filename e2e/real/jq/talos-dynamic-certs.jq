# `kubectl pki status` against the Talos cluster's kubeconfig (the served
# kube-apiserver certificate) and `talosctl get KubernetesDynamicCerts`
# (its spec.apiServer.crt, read by kubectl-pki from the file and by openssl):
# the same certificate (SHA-256) with the same notAfter on all three.
#   --slurpfile served status-talos-kubeconfig.json --slurpfile resource status-dynamic-apiserver.json
#   --arg opensslNotAfter "2027-12-01T20:11:18Z"
include "common";
([$served[0].items[] | select(.source == "server" and .certificate.isCa == false)] | first) as $leaf
| ([$resource[0].items[] | select((.location.index // 0) == 0)] | first) as $res
| if $leaf == null or $res == null then result(0; [{error: "no served leaf or nothing in the resource's apiServer.crt"}])
  else result(1; [
      (if $leaf.certificate.sha256 != $res.certificate.sha256 then {served: $leaf.certificate.sha256, resource: $res.certificate.sha256} else empty end),
      (if ($leaf.certificate.notAfter | norm_time) != ($res.certificate.notAfter | norm_time) then {servedNotAfter: $leaf.certificate.notAfter, resourceNotAfter: $res.certificate.notAfter} else empty end),
      (if ($res.certificate.notAfter | norm_time) != ($opensslNotAfter | norm_time) then {resourceNotAfter: $res.certificate.notAfter, openssl: $opensslNotAfter} else empty end)])
  end
