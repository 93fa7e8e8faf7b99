# Helpers shared by the comparisons (included with `include "common";`).
# Timestamps as whole seconds in UTC: Go prints fractions and +00:00, kubectl-pki Z.
def norm_time: sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | sub(" UTC$"; "Z");
def rel($root): ltrimstr($root) | ltrimstr("/");
def result($compared; $mismatches): {ok: ($mismatches | length == 0), compared: $compared, mismatches: $mismatches};
