//! `vaultfs` (also answers to `gocryptfs`): gocryptfs's command line over armorbox's
//! gocryptfs format core and FUSE filesystem.

mod actions;
mod cli;
mod mount;
mod password;
mod reverse;
mod unlock;

use armorbox::exit::{AppletResult, Failure};
use armorbox::gocryptfs::exit_code;
use std::ffi::OsString;
use std::path::PathBuf;

pub fn run(name: &str, raw: &[OsString]) -> AppletResult {
    // The background child gets a private marker, its parent's pid and the caller's pid
    // in front of the user's own arguments.
    let pid = |text: &OsString| text.to_str().and_then(|p| p.parse().ok()).and_then(rustix::process::Pid::from_raw);
    let (origin, user_args) = match raw {
        [marker, parent, caller, rest @ ..] if marker == mount::DAEMON_CHILD_FLAG => match pid(parent) {
            Some(waiting_parent) => (Some(mount::DaemonOrigin { waiting_parent, caller: pid(caller) }), rest),
            None => return Err(Failure::usage("malformed internal daemon arguments")),
        },
        _ => (None, raw),
    };
    let args = cli::parse(user_args).map_err(|e| Failure::usage(format!("{}\nRun '{name} -help' for usage.", e.0)))?;
    if args.switch("h") {
        print!("{}", cli::help(name));
        return Ok(());
    }
    if args.switch("version") {
        println!("{name} (armorbox vaultfs {}); gocryptfs on-disk format v2", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    reverse::check_flags(&args)?;
    let actions = ["init", "passwd", "info", "fsck"].into_iter().filter(|a| args.switch(a)).count();
    if actions > 1 {
        return Err(Failure::usage("only one of -init, -passwd, -info, -fsck at a time"));
    }
    let positional: Vec<PathBuf> = args.positional.iter().map(PathBuf::from).collect();
    let wants_one = actions == 1;
    match (wants_one, positional.as_slice()) {
        (true, [cipher]) => {
            if args.switch("init") {
                actions::init(&args, name, cipher)
            } else if args.switch("passwd") {
                actions::passwd(&args, cipher)
            } else if args.switch("info") {
                actions::info(&args, cipher)
            } else {
                actions::fsck(&args, cipher)
            }
        }
        (true, _) => Err(Failure::usage("this action takes exactly one argument: CIPHERDIR")),
        (false, [cipher, mountpoint]) => {
            if !cipher.is_dir() {
                return Err(Failure::new(
                    exit_code::CIPHERDIR,
                    format!("invalid cipherdir {}: not a directory", cipher.display()),
                ));
            }
            // The background child re-parses the user's own arguments, unchanged.
            mount::mount(&args, user_args, name, cipher, mountpoint, origin)
        }
        (false, _) => Err(Failure::usage(format!(
            "usage: {name} [OPTIONS] CIPHERDIR MOUNTPOINT, or {name} -init|-passwd|-info|-fsck CIPHERDIR (see -help)"
        ))),
    }
}
