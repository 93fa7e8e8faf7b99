# The certificate an API server serves (`kubectl pki status --source server`)
# was issued by the given CA (`kubectl pki status --file CA.crt`, its first
# certificate, index 0 of the bundle): the served leaf's authorityKeyId is the CA's subjectKeyId.
#   --slurpfile served status-server.json --slurpfile ca status-ca.json
include "common";
([$served[0].items[] | select(.source == "server" and .certificate.isCa == false)] | first) as $leaf
| ([$ca[0].items[] | select((.location.index // 0) == 0)] | first | .certificate) as $c
| if $leaf == null or $c == null then result(0; [{error: "no served leaf or no CA certificate"}])
  else result(1; if $leaf.certificate.authorityKeyId == $c.subjectKeyId then [] else
      [{served: $leaf.certificate.subject, servedIssuer: $leaf.certificate.issuer, servedAuthorityKeyId: $leaf.certificate.authorityKeyId,
        ca: $c.subject, caSubjectKeyId: $c.subjectKeyId}] end)
  end
