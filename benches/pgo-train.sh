#!/usr/bin/env bash
# The workload the release binary is optimised for (profile-guided, see the Makefile):
# runs an instrumented armorbox through what users time, so that the compiler learns
# which branches are hot. Usage: benches/pgo-train.sh INSTRUMENTED-ARMORBOX WORKDIR
#
# The inputs exist on any machine that has built armorbox: this repository's sources
# (below 4 MiB: one LZMA stream on one thread) and the sources of its dependencies
# with an ELF binary (16 MiB: the match-finder thread, the BCJ filter). Not the
# benchmark's corpus (/usr/share/doc, /usr/lib), so that `make bench` measures data
# the build was not trained on.
set -euo pipefail

bin=$(realpath "$1")
work=$2
rm -rf "$work"
mkdir -p "$work/small" "$work/medium"
work=$(realpath "$work")
say() { echo "pgo-train: $*"; }

cp -r src applets tests README.md "$work/small/"
cargo metadata --format-version 1 --locked --offline 2>/dev/null |
    python3 -c 'import json, os, sys
dirs = sorted(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["source"])
print("\0".join(dirs), end="")' |
    xargs -0 tar -c --sort=name -f - 2>/dev/null | head -c $((10 << 20)) > "$work/medium/dependencies.tar" || true
cp "$bin" "$work/medium/armorbox-instrumented"
echo "pgo password" > "$work/password"
chmod 600 "$work/password"

secarc() { "$bin" secarc "$@" --password-file "$work/password" > /dev/null; }
for corpus in small medium; do
    say "secarc a -mx=9, t, l -slt, x on $(du -sh "$work/$corpus" | cut -f1)"
    secarc a -mhe=on -mx=9 -m0=lzma2 -mtc=on -mtm=on -mta=on "$work/$corpus.7z" "$work/$corpus"
    secarc t "$work/$corpus.7z"
    secarc l -slt "$work/$corpus.7z"
    secarc x -o"$work/out-$corpus" "$work/$corpus.7z"
done
say "secarc a at the default level"
secarc a "$work/default.7z" "$work/small"

# vaultfs through a real mount, where this machine has FUSE. Best effort: a machine
# whose FUSE fails still builds, with vaultfs untrained.
train_vaultfs() {
    mkdir -p "$work/cipher" "$work/plain"
    "$bin" vaultfs -init -q -scryptn 10 -passfile "$work/password" "$work/cipher" > /dev/null || return 1
    "$bin" vaultfs -fg -q -passfile "$work/password" "$work/cipher" "$work/plain" &
    local daemon=$! ok=0
    for _ in $(seq 100); do mountpoint -q "$work/plain" && break; sleep 0.1; done
    if mountpoint -q "$work/plain"; then
        dd if=/dev/urandom of="$work/plain/stream" bs=1M count=64 status=none conv=fsync &&
            cat "$work/plain/stream" > /dev/null &&
            { tar -C "$work/plain" -xf "$work/medium/dependencies.tar" 2> /dev/null || true; } &&
            ls -lR "$work/plain" > /dev/null &&
            rm -rf "${work:?}/plain/"* || ok=1
        fusermount3 -u "$work/plain" || ok=1
    else
        ok=1
        kill "$daemon" 2> /dev/null
    fi
    # The profile is written when the daemon exits.
    wait "$daemon" || ok=1
    return $ok
}
if [ -w /dev/fuse ] && command -v fusermount3 > /dev/null; then
    say "vaultfs: write, read, untar, ls -lR, rm -rf"
    train_vaultfs || say "vaultfs failed on this machine: it is left untrained"
else
    say "no usable /dev/fuse: vaultfs is left untrained"
fi
