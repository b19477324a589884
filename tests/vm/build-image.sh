#!/usr/bin/env bash
# Builds (once, cached) a Debian 11 guest for the tests that need a real kernel with
# device-mapper, LVM and iSCSI: a root filesystem image, its kernel and initrd, and the
# SSH key of the guest's user "researcher" (uid 1000). Prints the cache directory.
set -euo pipefail

cache=${ARMORBOX_CACHE:-/var/cache/armorbox}/vm-bullseye
mirror=${ARMORBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -f "$cache/.complete" ]; then
    echo "$cache"
    exit 0
fi
for tool in debootstrap mkfs.ext4 qemu-system-x86_64 qemu-img ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (tests/setup/prepare.sh installs it)" >&2; exit 1; }
done
work="$cache.partial.$$"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
root="$work/root"
# Everything armor-node and the tests use is installed now: the guest has no need to
# reach a mirror during the tests.
packages=systemd,systemd-sysv,udev,linux-image-amd64,initramfs-tools,openssh-server,sudo,lvm2,cryptsetup,cryptsetup-bin,nftables,e2fsprogs,dbus,libpam-systemd,iproute2,ifupdown,isc-dhcp-client,procps,kmod,util-linux,open-iscsi,tgt
debootstrap --variant=minbase --include="$packages" bullseye "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { echo "build-image: debootstrap failed (see $work/debootstrap.log)" >&2; tail -5 "$work/debootstrap.log" >&2; exit 1; }

echo armored-node > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 armored-node\n' > "$root/etc/hosts"
printf '/dev/vda / ext4 defaults 0 1\n/dev/vdb /tmp ext4 defaults 0 2\n' > "$root/etc/fstab"
printf 'auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n' > "$root/etc/network/interfaces"
chroot "$root" useradd -m -u 1000 -s /bin/bash researcher
chroot "$root" passwd -l researcher >/dev/null
chroot "$root" passwd -d root >/dev/null
ssh-keygen -q -t ed25519 -N '' -C armorbox-test -f "$work/id_ed25519"
install -d -m 700 -o 1000 -g 1000 "$root/home/researcher/.ssh"
install -m 600 -o 1000 -g 1000 "$work/id_ed25519.pub" "$root/home/researcher/.ssh/authorized_keys"
# Like a deployed node: root logs in with the same key (the operator's access).
install -d -m 700 "$root/root/.ssh"
install -m 600 "$work/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
# A serial console for debugging boots.
chroot "$root" systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true
cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/initrd.img"
truncate -s 3G "$work/rootfs.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/rootfs.img"
rm -rf "$root"
touch "$work/.complete"
rm -rf "$cache"
mv "$work" "$cache"
trap - EXIT
echo "$cache"
