# A real Kamaji rotation judged three ways: kubectl-pki's report says the
# live check passed; `status --tenant` after it holds a new CA whose
# fingerprint is the one openssl reads from the operator's <tcp>-ca secret,
# every tenant certificate chains to it (verdict verified, status ok) and
# the tenant API serves a certificate of it (served verdict ok).
#   --slurpfile before status-tenant-before.json --slurpfile after status-tenant-after.json
#   --slurpfile report rotate-ca-report.json --arg caSecret kubernetes-demo-ca --arg opensslSha256 AB:CD:...
include "common";
def ca($s): [$s[0].items[] | select(.location.secret == $caSecret and .location.key == "ca.crt") | .certificate.sha256] | first;
[$after[0].items[] | select(.source == "tenant")] as $tenant
| [
    (if ($report[0].liveCheck.verdict // null) != "passed" then {liveCheck: $report[0].liveCheck} else empty end),
    (if ca($before) == null or ca($before) == ca($after) then {caBefore: ca($before), caAfter: ca($after), error: "the CA did not change"} else empty end),
    (if ca($after) != $opensslSha256 then {pki: ca($after), openssl: $opensslSha256} else empty end),
    ($tenant[] | select(.status != "ok" or ((.chain.verdict // "verified") != "verified")) | {name, status, chain}),
    ($tenant[] | select(.served != null and .served.verdict != "ok") | {name, served})
  ] as $mismatches
| result($tenant | length; $mismatches)
