//! armor-node on a booted Debian 11 guest (tests/vm): the home ends up on LUKS over LVM
//! spanning the /tmp partition and the extra disk, the user keeps key access and sudo,
//! root and passwords are refused, host keys change, the firewall admits SSH only from
//! the allowed source, a second run changes nothing, a pending reboot exits 1, and the
//! published recovery procedure works verbatim after a reboot.

mod common;

use common::{Guest, shipped_armorbox, stderr, stdout, vm_script};
use std::process::{Command, Output};

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed ({:?}):\n{}\n{}", out.status.code(), stdout(out), stderr(out));
    stdout(out)
}

/// slirp's view of the host: SSH from the host arrives from this address.
const HOST_AS_SEEN: &str = "10.0.2.2";

#[test]
fn armor_node_secures_a_debian_11_node_and_the_recovery_works_after_reboot() {
    let guest = Guest::boot();
    ok(&guest.ssh_with_input("root", "cat > /usr/local/bin/armorbox && chmod 755 /usr/local/bin/armorbox && armorbox --install -s /usr/local/bin", &shipped_armorbox()), "copy");
    let old_fp = ok(&guest.ssh("root", "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"), "old fingerprint");

    // The plan changes nothing.
    let plan = ok(
        &guest.ssh("root", &format!("armor-node --dry-run --no-upgrade --allow-ssh-from {HOST_AS_SEEN}")),
        "dry run",
    );
    assert!(plan.contains("would run: pvcreate") && plan.contains("/dev/vdb") && plan.contains("/dev/vdc"), "{plan}");
    assert!(ok(&guest.ssh("root", "findmnt -n -o SOURCE /tmp"), "tmp").contains("/dev/vdb"));

    // A pending reboot: exit 1, nothing done.
    let pending = guest.ssh("root", "touch /var/run/reboot-required; armor-node --no-upgrade --yes --allow-ssh-from 10.0.2.2; echo rc=$?; rm /var/run/reboot-required");
    assert!(stdout(&pending).contains("rc=1"), "{}{}", stdout(&pending), stderr(&pending));

    let out = guest.ssh(
        "root",
        &format!("armor-node --no-upgrade --yes --allow-ssh-from {HOST_AS_SEEN} --allow-ssh-from 192.0.2.0/24"),
    );
    let log = ok(&out, "armor-node");
    assert!(log.trim_end().ends_with("Setup completed successfully!"), "{log}");
    let key = log
        .lines()
        .skip_while(|l| !l.starts_with("Encryption key of your home"))
        .map(str::trim)
        .find(|l| l.len() == 64 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .expect("the key is printed")
        .to_string();

    // Root and password logins are refused; the user logs in with the key and sudoes.
    assert!(!guest.ssh("root", "true").status.success(), "root login must be refused");
    let sshd = ok(&guest.ssh("researcher", "sudo -n sshd -T"), "sshd -T");
    assert!(sshd.contains("permitrootlogin no") && sshd.contains("passwordauthentication no"), "{sshd}");
    let new_fp = ok(&guest.ssh("researcher", "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"), "new fingerprint");
    assert_ne!(old_fp, new_fp, "host keys must change");

    // The home: ext4 on /dev/mapper/encrypted, LUKS on vg-data spanning both disks.
    let layout = ok(&guest.ssh("researcher", "findmnt -n -o SOURCE $HOME; sudo -n cryptsetup isLuks /dev/mapper/vg-data && echo luks; sudo -n pvs --noheadings -o pv_name"), "layout");
    assert!(
        layout.contains("/dev/mapper/encrypted")
            && layout.contains("luks")
            && layout.contains("/dev/vdb")
            && layout.contains("/dev/vdc"),
        "{layout}"
    );
    ok(&guest.ssh("researcher", "head -c 300000 /dev/zero | tr '\\0' 'Q' | sed 's/QQQQ/ARMORMARK/g' > ~/marker && sync && echo ARMORMARKPLAIN > ~/plain.txt && sync"), "write marker");
    let leak =
        guest.ssh("researcher", "sudo -n sh -c 'for d in /dev/vdb /dev/vdc; do grep -c -a ARMORMARK $d || true; done'");
    assert!(stdout(&leak).lines().all(|l| l.trim() == "0"), "plaintext on a raw disk: {}", stdout(&leak));

    // The firewall: SSH only from the allowed sources, persisted.
    let rules = ok(&guest.ssh("researcher", "sudo -n nft list ruleset"), "nft");
    assert!(rules.contains("10.0.2.2") && rules.contains("192.0.2.0/24") && rules.contains("policy drop"), "{rules}");

    // A second run is a no-op.
    let again = ok(
        &guest.ssh(
            "researcher",
            &format!("sudo -n armor-node --no-upgrade --allow-ssh-from {HOST_AS_SEEN} --allow-ssh-from 192.0.2.0/24"),
        ),
        "second run",
    );
    assert!(!again.contains("[step]"), "{again}");
    assert!(again.contains("already done") && again.contains("Setup completed successfully!"));

    // Reboot: the home is locked; the user still gets in (keys outside the home) and the
    // published procedure unlocks it verbatim.
    let _ = guest.ssh("researcher", "sudo -n systemctl reboot");
    std::thread::sleep(std::time::Duration::from_secs(10));
    common::wait_for("the guest back after reboot", std::time::Duration::from_secs(300), || {
        guest.ssh("researcher", "true").status.success().then_some(())
    });
    let locked = ok(&guest.ssh("researcher", "findmnt -n $HOME || echo locked; ls ~/marker 2>&1 || true"), "locked");
    assert!(locked.contains("locked"), "{locked}");
    let recovery = format!(
        "echo '{key}' > /run/user/1000/key\nsudo cryptsetup luksOpen --key-file /run/user/1000/key /dev/mapper/vg-data encrypted\nsudo mount /dev/mapper/encrypted $HOME\ncat $HOME/plain.txt"
    );
    let restored = ok(&guest.ssh("researcher", &recovery), "recovery procedure");
    assert_eq!(restored.trim(), "ARMORMARKPLAIN");
    let rules = ok(&guest.ssh("researcher", "sudo -n nft list table inet armor"), "firewall after reboot");
    assert!(rules.contains("10.0.2.2"));

    // A refused source: with only 192.0.2.0/24 allowed, the host (10.0.2.2) is shut out.
    let _ = guest.ssh(
        "researcher",
        "sudo -n armorbox armor-node --no-upgrade --allow-ssh-from 192.0.2.0/24 > /tmp/last.log 2>&1 &",
    );
    common::wait_for("SSH to be refused from the host", std::time::Duration::from_secs(60), || {
        (!Command::new(vm_script("ssh.sh"))
            .arg(guest.work.path())
            .args(["researcher", "true"])
            .status()
            .unwrap()
            .success())
        .then_some(())
    });
}
