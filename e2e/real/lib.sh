# shellcheck shell=bash
# Shared by the scripts in e2e/real/: flags, the dry-run printer, tool
# installation from Go modules, artifacts and comparisons.
#
# Every command a script runs goes through `run`, `save` or `save_status`:
# with --dry-run they only print it, one line each, prefixed with "+ ", so a
# machine without Docker sees (and e2e/tests/real_plans.rs checks) the plan.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REAL_DIR="$REPO_ROOT/e2e/real"
DRY_RUN=0
# Read by the scripts that source this file.
# shellcheck disable=SC2034
KEEP=0
# shellcheck disable=SC2034
SUITES=1
ARTIFACTS="${ARTIFACTS:-$REPO_ROOT/target/real-e2e}"
# Tools built from Go modules land here (like target/e2e-bin for the
# control plane), first on PATH.
TOOLS_BIN="${TOOLS_BIN:-$REPO_ROOT/target/real-bin}"
PKI="${PKI:-$REPO_ROOT/target/debug/kubectl-pki}"
GO_ENV=(env GOTOOLCHAIN=local GOFLAGS=-mod=mod)

usage() {
  cat <<EOF
usage: $(basename "$0") [--dry-run] [--keep] [--no-suites] [--artifacts DIR]
  --dry-run        print every command, one per line, and run none (no Docker needed)
  --keep           leave the clusters running at the end
  --no-suites      skip the cargo test suites (only the script's own comparisons)
  --artifacts DIR  where outputs and logs go (default target/real-e2e/<script>)
EOF
}

# shellcheck disable=SC2034 # KEEP and SUITES are read by the scripts
parse_args() {
  local name="$1"
  shift
  SCRIPT="$name"
  ARTIFACTS="$ARTIFACTS/$name"
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --keep) KEEP=1 ;;
      --no-suites) SUITES=0 ;;
      --artifacts) ARTIFACTS="$2"; shift ;;
      --artifacts=*) ARTIFACTS="${1#--artifacts=}" ;;
      -h | --help) usage; exit 0 ;;
      *) echo "$(basename "$0"): unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
  done
  # Keys, kubeconfigs and secrets stay out of the artifacts (which CI uploads).
  WORK="${WORK:-$REPO_ROOT/target/real-e2e-work/$name}"
  export PATH="$TOOLS_BIN:$PATH"
}

# on_exit_with COLLECT DELETE: every script's EXIT trap
# (`trap 'on_exit_with collect_logs delete_clusters' EXIT`). On failure it
# says where the logs are and runs COLLECT (the clusters' logs into
# $ARTIFACTS); then DELETE unless --keep. Nothing in a dry run.
on_exit_with() {
  local rc=$?
  [ "$DRY_RUN" = 1 ] && return 0
  if [ "$rc" != 0 ]; then
    echo "$SCRIPT: FAILED ($rc): logs in $ARTIFACTS" >&2
    "$1" || true
  fi
  if [ "$KEEP" = 0 ]; then "$2" || true; fi
}

# Values never printed (tokens captured into *_TOKEN variables): a plan
# line shows *** instead, so CI logs hold no credential.
MASKED=()

# One shell word per argument, quoted only when needed.
quote() {
  local out="" a m
  for a in "$@"; do
    for m in "${MASKED[@]}"; do
      if [ -n "$m" ] && [ "$a" = "$m" ]; then a='***'; fi
    done
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@,+%^-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
  done
  printf '%s' "${out% }"
}

# A step: what it proves, printed as a comment line.
step() { printf '\n# == %s\n' "$*"; }

# run CMD...: print it; run it unless --dry-run.
run() {
  printf '+ %s\n' "$(quote "$@")"
  [ "$DRY_RUN" = 1 ] && return 0
  "$@"
}

# at FILE: FILE itself when absolute, else $ARTIFACTS/FILE.
at() { if [[ "$1" == /* ]]; then printf '%s' "$1"; else printf '%s' "$ARTIFACTS/$1"; fi; }

# save FILE CMD...: run CMD with its stdout in FILE (relative: in $ARTIFACTS).
save() {
  local file
  file="$(at "$1")"
  shift
  printf '+ %s > %s\n' "$(quote "$@")" "$file"
  [ "$DRY_RUN" = 1 ] && return 0
  "$@" >"$file"
}

# save_status FILE CMD...: like save for `kubectl pki status`, whose exit
# code is a verdict: 0 ok and 3 expiring are accepted (a fresh cluster's
# certificates are ok), 4 (expired, invalid, not chaining) and 1 fail.
save_status() {
  local file rc=0
  file="$(at "$1")"
  shift
  printf '+ %s > %s\n' "$(quote "$@")" "$file"
  [ "$DRY_RUN" = 1 ] && return 0
  "$@" >"$file" || rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
    echo "FAIL: $(quote "$@") exited $rc (see $file)" >&2
    return 1
  fi
}

# capture VAR PLACEHOLDER CMD...: VAR=stdout of CMD (PLACEHOLDER in a dry run).
capture() {
  local var="$1" placeholder="$2"
  shift 2
  # shellcheck disable=SC2016 # a literal $( ) in the printed plan
  printf '+ %s=$(%s)\n' "$var" "$(quote "$@")"
  if [ "$DRY_RUN" = 1 ]; then
    printf -v "$var" '%s' "$placeholder"
    return 0
  fi
  local value
  value="$("$@")"
  if [[ "$var" == *_TOKEN ]]; then MASKED+=("$value"); fi
  printf -v "$var" '%s' "$value"
}

# compare NAME JQ_FILE ARGS...: a jq program from e2e/real/jq/ puts
# kubectl-pki's JSON next to the real tool's output and writes
# {ok, compared, mismatches} to $ARTIFACTS/compare-NAME.json; the step fails
# (jq -e .ok) on any disagreement, or when nothing was compared.
compare() {
  local name="$1" program="$REAL_DIR/jq/$2"
  shift 2
  save "compare-$name.json" jq -n -L "$REAL_DIR/jq" -f "$program" "$@"
  run jq -e '.ok and .compared > 0' "$ARTIFACTS/compare-$name.json"
}

# retry N SECONDS CMD...: until CMD succeeds, at most N times.
retry() {
  local n="$1" pause="$2" i
  shift 2
  printf '+ retry %s %s %s\n' "$n" "$pause" "$(quote "$@")"
  [ "$DRY_RUN" = 1 ] && return 0
  for ((i = 1; i <= n; i++)); do
    if "$@"; then return 0; fi
    sleep "$pause"
  done
  echo "FAIL: $(quote "$@") did not succeed after $n tries" >&2
  return 1
}

# expect_exit CODE CMD...: CMD must exit with CODE (a refusal that proves
# something: an old credential rejected, a role refused, pods not restarted).
expect_exit() {
  local want="$1" rc=0
  shift
  printf '+ %s  # must exit %s\n' "$(quote "$@")" "$want"
  [ "$DRY_RUN" = 1 ] && return 0
  "$@" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $(quote "$@") exited $rc, expected $want" >&2
    return 1
  fi
}

# expect_refused CMD...: CMD must fail (any non-zero exit).
expect_refused() {
  printf '+ %s  # must fail\n' "$(quote "$@")"
  [ "$DRY_RUN" = 1 ] && return 0
  if "$@"; then
    echo "FAIL: $(quote "$@") succeeded, expected a refusal" >&2
    return 1
  fi
}

# equal WHAT A B: two values that must agree.
equal() {
  printf '# check: %s: %s = %s\n' "$1" "$2" "$3"
  [ "$DRY_RUN" = 1 ] && return 0
  if [ "$2" != "$3" ]; then
    echo "FAIL: $1: $2 != $3" >&2
    return 1
  fi
}

# The SHA-256 fingerprint (AB:CD:... as kubectl-pki prints it) of a PEM file, by openssl.
pem_sha256() {
  local out
  out="$(openssl x509 -in "$1" -noout -fingerprint -sha256)"
  printf '%s' "${out#*=}"
}

# The notAfter of a PEM file, by openssl, as RFC 3339 UTC.
pem_not_after() {
  local out
  out="$(openssl x509 -in "$1" -noout -enddate)"
  date -u -d "${out#notAfter=}" +%Y-%m-%dT%H:%M:%SZ
}

# The first file matching a glob (a backup whose name has a timestamp).
first_file() {
  local f
  for f in "$@"; do
    if [ -e "$f" ]; then printf '%s' "$f"; return 0; fi
  done
  echo "no file matches $*" >&2
  return 1
}

# go_install NAME MODULE/PKG@VERSION: builds a tool from its Go module into
# $TOOLS_BIN unless that exact version is there (a stamp file records it).
go_install() {
  local name="$1" spec="$2"
  shift 2
  if [ "$DRY_RUN" = 0 ] && [ -x "$TOOLS_BIN/$name" ] && [ "$(cat "$TOOLS_BIN/.$name.version" 2>/dev/null)" = "$spec" ]; then
    printf '# %s: %s already built\n' "$name" "$spec"
    return 0
  fi
  run mkdir -p "$TOOLS_BIN"
  run "${GO_ENV[@]}" GOBIN="$TOOLS_BIN" go install "$@" "$spec"
  [ "$DRY_RUN" = 1 ] || echo "$spec" >"$TOOLS_BIN/.$name.version"
}

# operator_suite: the cargo test arguments of e2e/real/operator-suite.txt
# (`--test FILE`... `-- --exact --test-threads=1 NAME...`), one per line, into
# the array SUITE_ARGS: the same tests `cargo xtask test` runs against a
# separate local operator.
operator_suite() {
  local file name files=() names=()
  while read -r file name; do
    [ -z "$file" ] && continue
    [[ "$file" == \#* ]] && continue
    [[ " ${files[*]} " == *" $file "* ]] || files+=("$file")
    names+=("$name")
  done <"$REAL_DIR/operator-suite.txt"
  SUITE_ARGS=()
  for file in "${files[@]}"; do SUITE_ARGS+=(--test "$file"); done
  SUITE_ARGS+=(-- --exact --test-threads=1 "${names[@]}")
}

# The plugin under test, built like CI builds it.
build_pki() {
  step "kubectl-pki, built from this checkout"
  run cargo build --locked -p kubectl-pki --bins
  run mkdir -p "$ARTIFACTS" "$WORK"
}

need_docker() {
  [ "$DRY_RUN" = 1 ] && return 0
  if ! docker info >/dev/null 2>&1; then
    echo "$(basename "$0"): needs a Docker engine (docker info failed); --dry-run prints the plan without one" >&2
    exit 1
  fi
}

# The summary every script ends with.
passed() { printf '\n# PASS: %s\n' "$*"; }
