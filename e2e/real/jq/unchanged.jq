# A dry run changed nothing: every Secret of the namespace has the same
# resourceVersion (and none appeared or went) after it as before it.
#   --slurpfile before secrets-before.json --slurpfile after secrets-after.json
include "common";
def versions($l): $l[0].items | map({key: .metadata.name, value: .metadata.resourceVersion}) | from_entries;
versions($before) as $b | versions($after) as $a
| result($b | length; [($b + $a | keys[]) as $k | select($b[$k] != $a[$k]) | {secret: $k, before: $b[$k], after: $a[$k]}])
