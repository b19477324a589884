//! What armor-node learns about the node before changing anything (the preflight).

use super::{EXIT_PREFLIGHT, EXIT_USAGE};
use armorbox::exit::Failure;
use armorbox::sys::command::Runner;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// The site's access machines (Grid'5000), the default SSH sources.
pub const ACCESS_HOSTS: [&str; 2] = ["access-north.grid5000.fr", "access-south.grid5000.fr"];

pub struct Node {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    /// Allowed SSH sources as nftables accepts them (address or CIDR), v4 and v6 apart.
    pub allow_v4: Vec<String>,
    pub allow_v6: Vec<String>,
    /// The device holding /tmp (to be reused), if /tmp is still mounted or in fstab.
    pub tmp_device: Option<String>,
    pub extra_disks: Vec<String>,
}

fn preflight(message: impl Into<String>) -> Failure {
    Failure::new(EXIT_PREFLIGHT, format!("preflight: {}", message.into()))
}

/// Login users: uid ≥ 1000, a real shell.
fn login_users() -> Vec<(String, u32, u32, PathBuf)> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let (uid, gid) = (f.get(2)?.parse::<u32>().ok()?, f.get(3)?.parse::<u32>().ok()?);
            let shell = f.get(6)?;
            let login = (1000..60000).contains(&uid) && !shell.ends_with("nologin") && !shell.ends_with("false");
            login.then(|| (f[0].to_string(), uid, gid, PathBuf::from(f[5])))
        })
        .collect()
}

/// The source of a mount point in /proc/mounts.
pub fn mount_source(mountpoint: &Path) -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    let wanted = mountpoint.to_str()?;
    mounts.lines().rev().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(1) == Some(&wanted)).then(|| f[0].to_string())
    })
}

fn fstab_tmp_device() -> Option<String> {
    let fstab = std::fs::read_to_string("/etc/fstab").ok()?;
    fstab.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&"/tmp")).then(|| f[0].to_string())
    })
}

/// Empty whole disks: no partitions, not mounted, no signature.
fn empty_disks(runner: &Runner, exclude: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/sys/block") else { return found };
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("sd") || name.starts_with("vd") || name.starts_with("nvme") || name.starts_with("xvd")) {
            continue;
        }
        let dev = format!("/dev/{name}");
        let has_partitions = std::fs::read_dir(entry.path())
            .map(|d| d.flatten().any(|c| c.file_name().to_string_lossy().starts_with(&name)))
            .unwrap_or(true);
        let mounted = mounts.lines().any(|l| l.starts_with(&format!("{dev} ")));
        // blkid -p exits 2 when it finds no signature at all.
        let blank = !runner.succeeds("blkid", &["-p", &dev]);
        let in_lvm = runner.succeeds("pvs", &[&dev]);
        if !has_partitions && !mounted && blank && !in_lvm && !exclude.contains(&dev) {
            found.push(dev);
        }
    }
    found.sort();
    found
}

fn resolve(source: &str) -> Result<Vec<IpAddr>, String> {
    let host = source.split('/').next().unwrap_or(source);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let addrs: Vec<IpAddr> =
        (host, 22).to_socket_addrs().map_err(|e| format!("{source}: {e}"))?.map(|a| a.ip()).collect();
    if addrs.is_empty() { Err(format!("{source}: resolves to no address")) } else { Ok(addrs) }
}

impl Node {
    pub fn inspect(
        runner: &Runner,
        user: &Option<String>,
        allow: &[String],
        disks: &[String],
        dry_run: bool,
    ) -> Result<Node, Failure> {
        if !rustix::process::geteuid().is_root() && !dry_run {
            return Err(preflight("armor-node must run as root"));
        }
        let version = std::fs::read_to_string("/etc/debian_version").unwrap_or_default();
        if !version.starts_with("11") && !dry_run {
            return Err(preflight(format!("this is not Debian 11 (/etc/debian_version: {:?})", version.trim())));
        }
        let users = login_users();
        let (name, uid, gid, home) = match user {
            Some(u) => users
                .into_iter()
                .find(|(n, ..)| n == u)
                .ok_or_else(|| preflight(format!("user {u} does not exist or cannot log in")))?,
            None => match users.as_slice() {
                [only] => only.clone(),
                [] => return Err(preflight("no login user found: name one with --user")),
                many => {
                    let names: Vec<&str> = many.iter().map(|(n, ..)| n.as_str()).collect();
                    return Err(preflight(format!("several login users ({}): name one with --user", names.join(", "))));
                }
            },
        };
        let sources: Vec<String> =
            if allow.is_empty() { ACCESS_HOSTS.iter().map(|s| s.to_string()).collect() } else { allow.to_vec() };
        let (mut allow_v4, mut allow_v6) = (Vec::new(), Vec::new());
        for source in &sources {
            let prefix = source.split_once('/').map(|(_, p)| p.to_string());
            if let Some(p) = &prefix
                && p.parse::<u8>().is_err()
            {
                return Err(Failure::new(EXIT_USAGE, format!("--allow-ssh-from {source}: bad prefix length")));
            }
            // A name that does not resolve is an error, never an empty allow-list.
            for ip in resolve(source).map_err(preflight)? {
                let entry = match &prefix {
                    Some(p) => format!("{ip}/{p}"),
                    None => ip.to_string(),
                };
                match ip {
                    IpAddr::V4(_) => allow_v4.push(entry),
                    IpAddr::V6(_) => allow_v6.push(entry),
                }
            }
        }
        let tmp_device = mount_source(Path::new("/tmp")).filter(|d| d.starts_with("/dev/")).or_else(fstab_tmp_device);
        let tmp_device = tmp_device.map(|d| {
            // fstab may name it by UUID or LABEL.
            if d.starts_with("UUID=") || d.starts_with("LABEL=") {
                runner.probe("findfs", &[&d]).map(|s| s.trim().to_string()).unwrap_or(d)
            } else {
                d
            }
        });
        let extra_disks = if disks.is_empty() {
            empty_disks(runner, &tmp_device.iter().cloned().collect::<Vec<_>>())
        } else {
            disks.to_vec()
        };
        Ok(Node { user: name, uid, gid, home, allow_v4, allow_v6, tmp_device, extra_disks })
    }
}
