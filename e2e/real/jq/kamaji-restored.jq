# `kubectl pki restore` of the rotation's backup puts the first CA back:
# status --tenant after the restore holds the CA it held before the rotation.
#   --slurpfile before status-tenant-before.json --slurpfile restored status-tenant-restored.json --arg caSecret kubernetes-demo-ca
include "common";
def ca($s): [$s[0].items[] | select(.location.secret == $caSecret and .location.key == "ca.crt") | .certificate.sha256] | first;
result(if ca($before) == null then 0 else 1 end; if ca($before) != null and ca($before) == ca($restored) then [] else [{before: ca($before), restored: ca($restored)}] end)
