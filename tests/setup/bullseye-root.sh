#!/usr/bin/env bash
# Builds (once) a bare Debian 11 root with debootstrap, for the test that runs the static
# binary on bullseye with nothing else installed. Cached: a later run reuses it.
# Prints the root's path.
set -euo pipefail

cache=${ARMORBOX_CACHE:-/var/cache/armorbox}
root="$cache/bullseye-minbase"
mirror=${ARMORBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ -f "$root/.armorbox-complete" ]; then
    echo "$root"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "bullseye-root: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
mkdir -p "$cache"
work="$cache/bullseye-minbase.partial.$$"
trap 'rm -rf "$work"' EXIT
# minbase: essential packages and apt only, the barest node a researcher could land on.
debootstrap --variant=minbase bullseye "$work" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { echo "bullseye-root: debootstrap failed, see $cache/debootstrap.log" >&2; exit 1; }
touch "$work/.armorbox-complete"
rm -rf "$root"
mv "$work" "$root"
trap - EXIT
echo "$root"
