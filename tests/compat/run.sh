#!/usr/bin/env bash
# make compat: gocryptfs 2.3's own integration suite (../shared/gocryptfs-suite) run
# against BINARY under the name gocryptfs, each test in its own process (ISOLATE=1:
# the matrix package otherwise stops at its first failing flag combination and hides
# the rest).
#
# known-failures.txt lists, as "package TestName", the tests vaultfs does not pass yet.
# The run fails on any other failure, and also when a listed test passes, so that the
# list only ever shrinks and always says exactly where vaultfs stands.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:?usage: run.sh BINARY}")
suite=${GOCRYPTFS_SUITE:-$here/../../../shared/gocryptfs-suite}
[ -x "$suite/run.sh" ] || { echo "compat: no gocryptfs suite at $suite (set GOCRYPTFS_SUITE)" >&2; exit 2; }
"$suite/build.sh"

scratch=$(mktemp -d /tmp/vaultfs-compat.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
ln -s "$bin" "$scratch/gocryptfs"
set +e
ISOLATE=1 "$suite/run.sh" "$scratch/gocryptfs" | tee "$scratch/out"
set -e

# "pkg: N passed…" then "  FAILED: A B[matrix#3] C(TestMain:panic)": one "pkg Test" per
# failure, without the flag-combination and panic suffixes.
awk '/^[a-z_]+: [0-9]+ passed/ { pkg = substr($1, 1, length($1) - 1) }
     /^  FAILED:/ { for (i = 2; i <= NF; i++) { t = $i; sub(/[[(].*/, "", t); print pkg " " t } }' \
    "$scratch/out" | sort -u > "$scratch/failed"
# awk, not grep -v: a list of comments only is no error.
awk '!/^#/ && NF' "$here/known-failures.txt" | sort -u > "$scratch/known"

new=$(comm -23 "$scratch/failed" "$scratch/known")
fixed=$(comm -13 "$scratch/failed" "$scratch/known")
total=$(grep '^TOTAL:' "$scratch/out" || echo "TOTAL: (none)")
echo "compat: $total; $(wc -l < "$scratch/known") tests listed in tests/compat/known-failures.txt"
status=0
if [ -n "$new" ]; then
    echo "compat: FAILED, not listed as known:"; echo "$new" | sed 's/^/  /'; status=1
fi
if [ -n "$fixed" ]; then
    echo "compat: these now pass; remove them from tests/compat/known-failures.txt:"; echo "$fixed" | sed 's/^/  /'
    status=1
fi
exit $status
