//! `armor-node`: secure a freshly deployed Debian 11 node for one user's sensitive data
//! (the reference in shared/reference/node-applets.md). Steps run in order; each checks
//! whether it is already done, so a second run reports "already done" throughout.
//! Exit 0: done; 1: a reboot is needed, reboot and run again; 2 and up: errors.

mod node;
mod steps;

use argh::FromArgs;
use armorbox::exit::AppletResult;
use armorbox::sys::command::Runner;
use std::ffi::OsString;

pub const EXIT_REBOOT: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_PREFLIGHT: i32 = 3;
pub const EXIT_STEP: i32 = 4;

#[derive(FromArgs)]
/// Secure a freshly deployed Debian 11 node: encrypted home on LVM + LUKS with a key
/// that never touches disk, new SSH host keys, sshd for one user by key only, sudo for
/// that user, and a firewall admitting SSH only from the allowed sources.
#[argh(
    help_triggers("-h", "--help"),
    note = "Exit codes: 0 done; 1 a system upgrade needs a reboot: reboot and run again;\n\
            2 bad command line; 3 the node is not fit (preflight); 4 a step failed\n\
            (the message names the step, the command and the node's state).\n\
            GAN_DEBUG=1 (or -v) shows every command and its output."
)]
struct Options {
    /// the user whose home is encrypted (default: the node's only login user)
    #[argh(option)]
    user: Option<String>,
    /// source allowed to reach SSH: host name, address or CIDR (repeatable; default
    /// the site's access machines)
    #[argh(option)]
    allow_ssh_from: Vec<String>,
    /// additional empty disk to add to the encrypted space (repeatable; default: every
    /// empty disk found)
    #[argh(option)]
    disk: Vec<String>,
    /// print the plan (steps, commands, files) and change nothing
    #[argh(switch)]
    dry_run: bool,
    /// do not ask before destroying the /tmp partition and the extra disks
    #[argh(switch)]
    yes: bool,
    /// skip the system upgrade (a pending reboot is still reported with exit 1)
    #[argh(switch)]
    no_upgrade: bool,
    /// show every command and its output (as GAN_DEBUG=1)
    #[argh(switch, short = 'v')]
    verbose: bool,
}

pub fn run(name: &str, args: &[OsString]) -> AppletResult {
    let options: Options = crate::argh_args::parse(name, args, EXIT_USAGE)?;
    let debug = options.verbose || std::env::var_os("GAN_DEBUG").is_some_and(|v| v != "0" && !v.is_empty());
    let runner = Runner { debug, dry_run: options.dry_run };
    let node = node::Node::inspect(&runner, &options.user, &options.allow_ssh_from, &options.disk, options.dry_run)?;
    steps::run_all(&runner, &node, options.no_upgrade, options.yes)
}
