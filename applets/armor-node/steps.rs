//! The steps, in the reference's order. Each one says whether it is already done (then
//! it is skipped), and otherwise does its work through the command layer.

use super::node::{Node, mount_source};
use super::{EXIT_REBOOT, EXIT_STEP};
use armorbox::crypto::random;
use armorbox::exit::{AppletResult, Failure};
use armorbox::secret::SecretBuf;
use armorbox::sys::command::{CommandError, Runner};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const VG_DATA: &str = "/dev/mapper/vg-data";
const MAPPED: &str = "/dev/mapper/encrypted";
const KEYS_DIR: &str = "/etc/ssh/authorized_keys";
const SSHD_DROP_IN: &str = "/etc/ssh/sshd_config.d/armor-node.conf";
const SUDOERS: &str = "/etc/sudoers.d/armor-node";
const NFTABLES: &str = "/etc/nftables.conf";
const HOST_KEYS_MARKER: &str = "/etc/ssh/.armor-node-host-keys";
const PACKAGES: [&str; 5] = ["lvm2", "cryptsetup", "nftables", "sudo", "openssh-server"];

/// What the steps share: the node, the command runner, and the key once made.
struct Ctx<'a> {
    node: &'a Node,
    run: &'a Runner,
    key: Option<SecretBuf>,
    /// Steps that did work in this run (for the node's state in error messages).
    done_now: Vec<&'static str>,
}

enum StepError {
    Command(CommandError),
    Other(String),
}

impl From<CommandError> for StepError {
    fn from(e: CommandError) -> Self {
        StepError::Command(e)
    }
}

impl From<std::io::Error> for StepError {
    fn from(e: std::io::Error) -> Self {
        StepError::Other(e.to_string())
    }
}

type StepResult = Result<(), StepError>;

struct Step {
    name: &'static str,
    done: fn(&Ctx) -> bool,
    apply: fn(&mut Ctx) -> StepResult,
}

fn write_file(ctx: &Ctx, path: &str, content: &str, mode: u32) -> StepResult {
    if ctx.run.dry_run {
        println!("    would write {path} (mode {mode:o}):");
        for line in content.lines() {
            println!("      | {line}");
        }
        return Ok(());
    }
    let tmp = format!("{path}.armor-node.tmp");
    fs::write(&tmp, content)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
    fs::rename(&tmp, path)?;
    Ok(())
}

fn file_is(path: &str, content: &str) -> bool {
    fs::read_to_string(path).is_ok_and(|c| c == content)
}

// --- the steps -------------------------------------------------------------------

fn reboot_pending(_: &Ctx) -> bool {
    false
}

fn upgrade(ctx: &mut Ctx) -> StepResult {
    let env = ["DEBIAN_FRONTEND=noninteractive", "apt-get"];
    ctx.run.change("env", &[env[0], env[1], "-q", "update"])?;
    ctx.run.change("env", &[env[0], env[1], "-q", "-y", "-o", "Dpkg::Options::=--force-confold", "upgrade"])?;
    Ok(())
}

fn packages_installed(ctx: &Ctx) -> bool {
    PACKAGES.iter().all(|p| {
        ctx.run.probe("dpkg-query", &["-W", "-f=${Status}", p]).is_ok_and(|s| s.contains("install ok installed"))
    })
}

fn install_packages(ctx: &mut Ctx) -> StepResult {
    let mut args = vec!["DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y", "install"];
    args.extend(PACKAGES);
    ctx.run.change("env", &args)?;
    Ok(())
}

fn kept_keys_path(node: &Node) -> PathBuf {
    Path::new(KEYS_DIR).join(&node.user)
}

fn keys_kept(ctx: &Ctx) -> bool {
    kept_keys_path(ctx.node).exists()
}

/// The user's keys outside the home, readable by sshd while the home is locked.
fn keep_keys(ctx: &mut Ctx) -> StepResult {
    let source = ctx.node.home.join(".ssh/authorized_keys");
    if ctx.run.dry_run {
        println!("    would copy {} to {}", source.display(), kept_keys_path(ctx.node).display());
        return Ok(());
    }
    let keys = fs::read_to_string(&source).map_err(|e| {
        StepError::Other(format!("{}: {e} (the user must have an SSH key to keep access)", source.display()))
    })?;
    if !ctx.run.dry_run {
        fs::create_dir_all(KEYS_DIR)?;
    }
    write_file(ctx, kept_keys_path(ctx.node).to_str().unwrap(), &keys, 0o644)
}

fn lvm_exists(ctx: &Ctx) -> bool {
    ctx.run.succeeds("lvs", &["vg/data"])
}

fn tmp_freed(ctx: &Ctx) -> bool {
    lvm_exists(ctx) || mount_source(Path::new("/tmp")).is_none()
}

/// Stops /tmp from coming back, then unmounts it; services with a private /tmp keep
/// the old filesystem busy until restarted (seen on Debian 11 with logind).
fn free_tmp(ctx: &mut Ctx) -> StepResult {
    for unit in ["autofs.service", "nfs-client.target"] {
        if ctx.run.succeeds("systemctl", &["is-active", "--quiet", unit]) {
            ctx.run.change("systemctl", &["stop", unit])?;
        }
    }
    // Network filesystems (the site's NFS homes and shares) are not for sensitive data.
    let mounts = fs::read_to_string("/proc/mounts")?;
    for line in mounts.lines().rev() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() > 2 && ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs"].contains(&f[2]) {
            ctx.run.change("umount", &["-l", f[1]])?;
        }
    }
    let fstab = fs::read_to_string("/etc/fstab")?;
    let kept: Vec<&str> = fstab
        .lines()
        .filter(|l| l.trim_start().starts_with('#') || l.split_whitespace().nth(1) != Some("/tmp"))
        .collect();
    write_file(ctx, "/etc/fstab", &(kept.join("\n") + "\n"), 0o644)?;
    ctx.run.change("systemctl", &["daemon-reload"])?;
    ctx.run.change("umount", &["/tmp"])?;
    ctx.run.change("systemctl", &["restart", "systemd-logind"])?;
    ctx.run.change("chmod", &["1777", "/tmp"])?;
    Ok(())
}

fn make_lvm(ctx: &mut Ctx) -> StepResult {
    let mut devices: Vec<String> = ctx.node.tmp_device.iter().cloned().collect();
    devices.extend(ctx.node.extra_disks.iter().cloned());
    if devices.is_empty() {
        if ctx.run.dry_run {
            println!("    no /tmp partition and no empty disk found here: on this machine the step would fail");
            return Ok(());
        }
        return Err(StepError::Other("no /tmp partition and no empty disk to build the encrypted space on".into()));
    }
    let devs: Vec<&str> = devices.iter().map(String::as_str).collect();
    for dev in &devs {
        ctx.run.change("wipefs", &["-a", dev])?;
    }
    let mut pv = vec!["-ff", "-y"];
    pv.extend(&devs);
    ctx.run.change("pvcreate", &pv)?;
    let mut vg = vec!["vg"];
    vg.extend(&devs);
    ctx.run.change("vgcreate", &vg)?;
    ctx.run.change("lvcreate", &["-y", "-l", "100%FREE", "-n", "data", "vg"])?;
    Ok(())
}

fn luks_open(ctx: &Ctx) -> bool {
    Path::new(MAPPED).exists() && ctx.run.succeeds("cryptsetup", &["isLuks", VG_DATA])
}

/// A random key, given to cryptsetup through a pipe: the published recovery writes it
/// with `echo`, which adds a newline, and --key-file uses every byte, so the key file
/// content is the key plus "\n".
fn format_luks(ctx: &mut Ctx) -> StepResult {
    if ctx.run.succeeds("cryptsetup", &["isLuks", VG_DATA]) && !ctx.run.dry_run {
        return Err(StepError::Other(format!(
            "{VG_DATA} is already encrypted but not open: unlock it with the recovery procedure (the key was printed when it was made)"
        )));
    }
    let raw: [u8; 32] = random::array()?;
    let mut key = SecretBuf::new();
    for b in raw {
        key.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    let mut key_file = SecretBuf::from_slice(key.expose());
    key_file.push(b'\n');
    ctx.run.change_with_input(
        "cryptsetup",
        &["luksFormat", "--batch-mode", "--type", "luks2", "--key-file=-", VG_DATA],
        Some(key_file.expose()),
    )?;
    ctx.run.change_with_input(
        "cryptsetup",
        &["luksOpen", "--key-file=-", VG_DATA, "encrypted"],
        Some(key_file.expose()),
    )?;
    ctx.key = Some(key);
    Ok(())
}

fn home_mounted(ctx: &Ctx) -> bool {
    mount_source(&ctx.node.home).is_some_and(|s| s == MAPPED || s.ends_with("/encrypted"))
}

/// ext4 on the volume, the home's current content copied in, then mounted over it.
fn mount_home(ctx: &mut Ctx) -> StepResult {
    let home = ctx.node.home.to_str().unwrap().to_string();
    if !ctx.run.succeeds("blkid", &[MAPPED]) || ctx.run.dry_run {
        ctx.run.change("mkfs.ext4", &["-q", "-L", "home", MAPPED])?;
    }
    let staging = "/run/armor-node-home";
    ctx.run.change("mkdir", &["-p", staging])?;
    ctx.run.change("mount", &[MAPPED, staging])?;
    ctx.run.change("cp", &["-a", &format!("{home}/."), staging])?;
    ctx.run.change("umount", &[staging])?;
    ctx.run.change("mount", &[MAPPED, &home])?;
    let owner = format!("{}:{}", ctx.node.uid, ctx.node.gid);
    ctx.run.change("chown", &[&owner, &home])?;
    // The keys inside the home too, for tools that look there.
    let ssh_dir = format!("{home}/.ssh");
    ctx.run.change(
        "install",
        &["-d", "-m", "700", "-o", &ctx.node.uid.to_string(), "-g", &ctx.node.gid.to_string(), &ssh_dir],
    )?;
    ctx.run.change(
        "install",
        &[
            "-m",
            "600",
            "-o",
            &ctx.node.uid.to_string(),
            "-g",
            &ctx.node.gid.to_string(),
            kept_keys_path(ctx.node).to_str().unwrap(),
            &format!("{ssh_dir}/authorized_keys"),
        ],
    )?;
    Ok(())
}

fn host_keys_fresh(_: &Ctx) -> bool {
    Path::new(HOST_KEYS_MARKER).exists()
}

fn new_host_keys(ctx: &mut Ctx) -> StepResult {
    if !ctx.run.dry_run {
        for entry in fs::read_dir("/etc/ssh")?.flatten() {
            if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
                fs::remove_file(entry.path())?;
            }
        }
    } else {
        println!("    would remove /etc/ssh/ssh_host_*");
    }
    ctx.run.change("ssh-keygen", &["-A"])?;
    write_file(ctx, HOST_KEYS_MARKER, "host keys replaced by armor-node\n", 0o600)
}

fn sshd_config(node: &Node) -> String {
    format!(
        "# Written by armor-node: only {user}, by key.\nPermitRootLogin no\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nChallengeResponseAuthentication no\nAllowUsers {user}\n\
         AuthorizedKeysFile .ssh/authorized_keys {KEYS_DIR}/%u\n",
        user = node.user
    )
}

fn sshd_locked(ctx: &Ctx) -> bool {
    file_is(SSHD_DROP_IN, &sshd_config(ctx.node))
        && fs::metadata("/root/.ssh/authorized_keys").map_or(true, |m| m.len() == 0)
}

fn lock_sshd(ctx: &mut Ctx) -> StepResult {
    if !ctx.run.dry_run {
        fs::create_dir_all("/etc/ssh/sshd_config.d")?;
    }
    write_file(ctx, SSHD_DROP_IN, &sshd_config(ctx.node), 0o644)?;
    ctx.run.change("sshd", &["-t"])?;
    if Path::new("/root/.ssh/authorized_keys").exists() {
        write_file(ctx, "/root/.ssh/authorized_keys", "", 0o600)?;
    }
    ctx.run.change("systemctl", &["restart", "ssh"])?;
    Ok(())
}

fn sudoers(node: &Node) -> String {
    // The user has no usable password on a deployed node: sudo must not ask for one.
    format!("# Written by armor-node.\n{} ALL=(ALL:ALL) NOPASSWD: ALL\n", node.user)
}

fn sudo_granted(ctx: &Ctx) -> bool {
    file_is(SUDOERS, &sudoers(ctx.node))
}

fn grant_sudo(ctx: &mut Ctx) -> StepResult {
    let staged = "/run/armor-node-sudoers";
    write_file(ctx, staged, &sudoers(ctx.node), 0o440)?;
    ctx.run.change("visudo", &["-cf", staged])?;
    ctx.run.change("mv", &[staged, SUDOERS])?;
    Ok(())
}

fn ruleset(node: &Node) -> String {
    let set = |v: &[String]| v.join(", ");
    let mut rules = String::from(
        "#!/usr/sbin/nft -f\n# Written by armor-node: SSH only from the allowed sources; outbound open.\n\
         flush ruleset\n\ntable inet armor {\n  chain input {\n    type filter hook input priority 0; policy drop;\n\
         \x20   iif lo accept\n    ct state established,related accept\n    ct state invalid drop\n\
         \x20   meta l4proto 1 accept comment \"icmp\"\n    meta l4proto 58 accept comment \"ipv6-icmp\"\n",
    );
    if !node.allow_v4.is_empty() {
        rules.push_str(&format!("    ip saddr {{ {} }} tcp dport 22 accept\n", set(&node.allow_v4)));
    }
    if !node.allow_v6.is_empty() {
        rules.push_str(&format!("    ip6 saddr {{ {} }} tcp dport 22 accept\n", set(&node.allow_v6)));
    }
    rules.push_str("  }\n  chain forward {\n    type filter hook forward priority 0; policy drop;\n  }\n  chain output {\n    type filter hook output priority 0; policy accept;\n  }\n}\n");
    rules
}

fn firewall_up(ctx: &Ctx) -> bool {
    file_is(NFTABLES, &ruleset(ctx.node)) && ctx.run.probe("nft", &["list", "table", "inet", "armor"]).is_ok()
}

fn firewall(ctx: &mut Ctx) -> StepResult {
    let staged = "/run/armor-node-nftables.conf";
    write_file(ctx, staged, &ruleset(ctx.node), 0o644)?;
    ctx.run.change("nft", &["-c", "-f", staged])?;
    ctx.run.change("mv", &[staged, NFTABLES])?;
    ctx.run.change("nft", &["-f", NFTABLES])?;
    ctx.run.change("systemctl", &["enable", "nftables"])?;
    Ok(())
}

/// Services that listen on the network on deployed images, besides sshd.
const OTHER_LISTENERS: [&str; 6] =
    ["rpcbind.socket", "rpcbind.service", "exim4.service", "postfix.service", "avahi-daemon.service", "cups.service"];

fn listeners_stopped(ctx: &Ctx) -> bool {
    OTHER_LISTENERS.iter().all(|u| !ctx.run.succeeds("systemctl", &["is-active", "--quiet", u]))
}

fn stop_listeners(ctx: &mut Ctx) -> StepResult {
    for unit in OTHER_LISTENERS {
        if ctx.run.succeeds("systemctl", &["is-active", "--quiet", unit]) {
            ctx.run.change("systemctl", &["disable", "--now", unit])?;
        }
    }
    Ok(())
}

const STEPS: &[Step] = &[
    Step { name: "install the packages armor-node needs", done: packages_installed, apply: install_packages },
    Step { name: "keep the user's SSH keys outside the home", done: keys_kept, apply: keep_keys },
    Step { name: "free the /tmp partition", done: tmp_freed, apply: free_tmp },
    Step { name: "LVM volume vg/data on /tmp's partition and the empty disks", done: lvm_exists, apply: make_lvm },
    Step { name: "LUKS on /dev/mapper/vg-data, opened as encrypted", done: luks_open, apply: format_luks },
    Step { name: "ext4 on it, mounted as the user's home", done: home_mounted, apply: mount_home },
    Step { name: "new SSH host keys", done: host_keys_fresh, apply: new_host_keys },
    Step { name: "sshd: the user only, by key; root's keys removed", done: sshd_locked, apply: lock_sshd },
    Step { name: "other network services stopped", done: listeners_stopped, apply: stop_listeners },
    Step { name: "sudo for the user", done: sudo_granted, apply: grant_sudo },
    Step { name: "firewall: SSH only from the allowed sources", done: firewall_up, apply: firewall },
];

fn failure(step: &str, error: StepError, ctx: &Ctx) -> Failure {
    let what = match error {
        StepError::Command(e) => e.to_string(),
        StepError::Other(e) => e,
    };
    let state = if ctx.done_now.is_empty() {
        "nothing was changed in this run".to_string()
    } else {
        format!("done in this run before it: {}", ctx.done_now.join("; "))
    };
    let key_note = ctx
        .key
        .as_ref()
        .map(|k| {
            format!(
                "\nThe encryption key made in this run (keep it: it is needed to unlock the home): {}",
                String::from_utf8_lossy(k.expose())
            )
        })
        .unwrap_or_default();
    Failure::new(
        EXIT_STEP,
        format!(
            "step \"{step}\" failed: {what}\nThe node is partially armored ({state}). Re-deploying the node and running armor-node again is the documented recovery.{key_note}"
        ),
    )
}

pub fn run_all(run: &Runner, node: &Node, no_upgrade: bool, yes: bool) -> AppletResult {
    let mut ctx = Ctx { node, run, key: None, done_now: Vec::new() };
    if run.dry_run {
        println!("armor-node plan for user {} (home {}), changing nothing:", node.user, node.home.display());
        println!(
            "  SSH allowed from: {}",
            node.allow_v4.iter().chain(&node.allow_v6).cloned().collect::<Vec<_>>().join(", ")
        );
        println!(
            "  devices for the encrypted space: {}",
            node.tmp_device.iter().chain(&node.extra_disks).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    // Upgrade first: a pending reboot means "reboot and run me again" (exit 1).
    if !no_upgrade && !reboot_pending(&ctx) {
        println!("[step] upgrade the system");
        upgrade(&mut ctx).map_err(|e| failure("upgrade the system", e, &ctx))?;
    }
    if Path::new("/var/run/reboot-required").exists() {
        return Err(Failure::new(
            EXIT_REBOOT,
            "a system upgrade needs a reboot: reboot the node and run armor-node again",
        ));
    }
    let destroys = !lvm_exists(&ctx);
    if destroys && !yes && !run.dry_run {
        let devices: Vec<String> = node.tmp_device.iter().chain(&node.extra_disks).cloned().collect();
        let confirmed = armorbox::terminal::Terminal::open()
            .and_then(|t| t.ask_line(&format!("This erases {}. Type yes to go on: ", devices.join(", "))))
            .is_ok_and(|a| a == "yes");
        if !confirmed {
            return Err(Failure::new(
                super::EXIT_USAGE,
                "not confirmed: nothing changed (--yes confirms without asking)",
            ));
        }
    }
    for step in STEPS {
        if (step.done)(&ctx) {
            println!("[done] {}: already done", step.name);
            continue;
        }
        println!("[step] {}", step.name);
        (step.apply)(&mut ctx).map_err(|e| failure(step.name, e, &ctx))?;
        ctx.done_now.push(step.name);
    }
    if run.dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(());
    }
    report(&ctx);
    println!("Setup completed successfully!");
    Ok(())
}

fn report(ctx: &Ctx) {
    let host = fs::read_to_string("/etc/hostname").unwrap_or_default().trim().to_string();
    println!("\nNew SSH host key fingerprints (expect the host-key-changed warning once):");
    for kind in ["ed25519", "ecdsa", "rsa"] {
        if let Ok(fp) = ctx.run.probe("ssh-keygen", &["-lf", &format!("/etc/ssh/ssh_host_{kind}_key.pub")]) {
            println!("  {}", fp.trim());
        }
    }
    println!("\nConnect with: ssh {}@{host}", ctx.node.user);
    if let Some(key) = &ctx.key {
        println!("\nEncryption key of your home (it is stored nowhere: keep it safe):\n");
        // Straight to fd 1 from the wiped buffer: no copy of the key in stdout's buffer.
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let mut line = SecretBuf::from_slice(b"  ");
        line.extend_from_slice(key.expose());
        line.extend_from_slice(b"\n\n");
        let _ = armorbox::sys::stdio::write_stdout_unbuffered(line.expose());
        println!(
            "After a reboot, unlock your home with:\n  echo '<paste key content here>' > /run/user/{uid}/key\n  \
             sudo cryptsetup luksOpen --key-file /run/user/{uid}/key /dev/mapper/vg-data encrypted\n  sudo mount /dev/mapper/encrypted $HOME\n",
            uid = ctx.node.uid
        );
    }
}
