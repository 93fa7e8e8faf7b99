# `kubectl pki status --file talosconfig` against `talosctl config info`:
# the client certificate's expiry date is the date talosctl prints
# ("Certificate expires: ... (2027-12-01)"), and its roles are the ones asked for.
#   --slurpfile pki pki-talosconfig-status.json --rawfile info talosctl-config-info.txt --arg roles os:admin
include "common";
([$info | scan("Certificate expires:[^\n]*?([0-9]{4}-[0-9]{2}-[0-9]{2})")] | map(.[0])) as $dates
| [$pki[0].items[] | select(.certificate.isCa == false)] as $clients
| [if ($dates | length) != 1 then {error: "talosctl config info printed \($dates | length) expiry dates"} else empty end,
   ($clients[] | select((.certificate.notAfter[0:10]) != $dates[0]) | {pki: .certificate.notAfter, talosctl: $dates[0]}),
   ($clients[] | select((.certificate.organizations | sort) != ($roles | split(",") | sort)) | {pkiRoles: .certificate.organizations, expected: $roles})]
  as $mismatches
| result($clients | length; $mismatches)
