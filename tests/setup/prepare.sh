#!/usr/bin/env bash
# Everything the test suite needs on this machine: Debian packages of the real peers,
# the running services, and the cached Debian 11 root. Idempotent and quick when done.
# `make test` runs it; .ci/run runs it on a fresh machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# command -> Debian package
declare -A needs=(
    [tmux]=tmux
    [munge]=munge
    [unmunge]=munge
    [munged]=munge
    [debootstrap]=debootstrap
    [chroot]=coreutils
    [gocryptfs]=gocryptfs
    [gocryptfs-xray]=gocryptfs
    [fusermount3]=fuse3
    [7zz]=7zip
    [gdb]=gdb
    [gcore]=gdb
    [qemu-system-x86_64]=qemu-system-x86
    [qemu-img]=qemu-utils
    [ssh]=openssh-client
    [mkfs.ext4]=e2fsprogs
    [rsync]=rsync
    [sbatch]=slurm-client
    [slurmctld]=slurmctld
    [slurmd]=slurmd
)
missing=()
for cmd in "${!needs[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${needs[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
    packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "prepare: installing $packages"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
    else
        echo "prepare: the tests need these Debian packages: $packages (as root: apt-get install $packages)" >&2
        exit 1
    fi
fi

# Debian's udev rule makes /dev/fuse mode 0666, so that users mount through the setuid
# fusermount3; containers often leave it 0600. The tests that mount as nobody need 0666.
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ]; then
    chmod 0666 /dev/fuse
fi

# pjdfstest, the POSIX filesystem suite (its Rust port, from crates.io): the vaultfs
# conformance tests run it on a plain directory, gocryptfs and vaultfs.
if ! command -v pjdfstest >/dev/null 2>&1; then
    echo "prepare: installing pjdfstest with cargo"
    cargo install --quiet --locked --version 0.2.2 pjdfstest
fi

"$here/start-munged.sh"
"$here/start-slurm.sh"
root=$("$here/bullseye-root.sh")
image=$("$here/../vm/build-image.sh")
echo "prepare: ready (munged and a one-node Slurm answer; Debian 11 root at $root, guest image at $image)"
