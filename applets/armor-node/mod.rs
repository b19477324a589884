//! `armor-node`: not built yet. It answers --help with its intended usage and refuses
//! everything else plainly (see `not_built`).

use armorbox::exit::AppletResult;
use std::ffi::OsString;

const USAGE: &str =
    "Usage: armor-node [--user NAME] [--allow-ssh-from HOST|CIDR]... [--disk DEV]... [--dry-run] [--yes] [--no-upgrade]
Secure a freshly deployed Debian 11 node: encrypted home, new SSH host keys, firewall, sshd lock-down.
";

pub fn run(_name: &str, args: &[OsString]) -> AppletResult {
    crate::not_built::refuse(USAGE, args)
}
