//! The static binary on a real Debian 11 machine — its own 5.10 kernel, systemd, FUSE —
//! booted by the test suite with qemu (TCG) from the image tests/vm/build-image.sh
//! makes and caches. The same harness will carry armor-node and cvault.

mod common;

use common::{Guest, shipped_armorbox, stderr, stdout};
use std::process::Output;

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed ({:?}):\n{}\n{}", out.status.code(), stdout(out), stderr(out));
    stdout(out)
}

#[test]
fn the_static_binary_works_on_a_booted_debian_11_node() {
    let guest = Guest::boot();
    let release = ok(&guest.ssh("root", "cat /etc/debian_version; uname -r"), "version");
    assert!(release.starts_with("11."), "{release}");
    assert!(release.contains("5.10."), "Debian 11's kernel: {release}");

    ok(
        &guest.ssh_with_input(
            "root",
            "cat > /usr/local/bin/armorbox && chmod 755 /usr/local/bin/armorbox",
            &shipped_armorbox(),
        ),
        "copy the binary",
    );
    ok(&guest.ssh("root", "armorbox --install -s /usr/local/bin"), "install links");
    let version = ok(&guest.ssh("researcher", "armorbox --version"), "version as the user");
    assert!(version.starts_with("armorbox "));
    let echoed = ok(&guest.ssh("researcher", "printf 'on the node\\n' | mask-passwd --stdin"), "mask-passwd");
    assert_eq!(echoed, "on the node\n");

    // vaultfs on the node's own kernel: FUSE through mount(2), written and read back.
    let script = "set -e; cd /root; printf 'pw\\n' > pw; mkdir c p; \
                  vaultfs -q -init -scryptn=10 -passfile pw c; vaultfs -q -passfile pw c p; \
                  echo 'on debian 11' > p/f; grep -q ' /root/p fuse.gocryptfs ' /proc/mounts; \
                  fusermount -u p 2>/dev/null || umount p; vaultfs -q -passfile pw c p; cat p/f; umount p";
    let read_back = ok(&guest.ssh("root", script), "vaultfs in the guest");
    assert_eq!(read_back, "on debian 11\n");
}
