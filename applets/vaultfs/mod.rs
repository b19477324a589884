//! `vaultfs` (also answers to `gocryptfs`): gocryptfs's command line over armorbox's
//! gocryptfs format core and FUSE filesystem.

mod actions;
mod cli;
mod mount;
mod options;
mod password;
mod reverse;
mod unlock;

use armorbox::exit::{AppletResult, Failure};
use armorbox::gocryptfs::exit_code;
use options::Action;
use std::ffi::OsString;

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
    let options = options::Options::from_args(&args)?;
    armorbox::sys::log::set_quiet(options.quiet);
    armorbox::sys::log::set_panic_on_warning(options.panic_on_warning);
    let positional = options.positional.as_slice();
    match (options.action, positional) {
        (Action::Help, _) => {
            print!("{}", cli::help(name));
            Ok(())
        }
        (Action::Version, _) => {
            println!("{name} (armorbox vaultfs {}); gocryptfs on-disk format v2", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        (Action::Init, [cipher]) => actions::init(&options, name, cipher),
        (Action::Passwd, [cipher]) => actions::passwd(&options, cipher),
        (Action::Info, [cipher]) => actions::info(&options, cipher),
        (Action::Fsck, [cipher]) => actions::fsck(&options, cipher),
        (Action::Init | Action::Passwd | Action::Info | Action::Fsck, _) => {
            Err(Failure::usage("this action takes exactly one argument: CIPHERDIR"))
        }
        (Action::Mount, [cipher, mountpoint]) => {
            if !cipher.is_dir() {
                return Err(Failure::new(
                    exit_code::CIPHERDIR,
                    format!("invalid cipherdir {}: not a directory", cipher.display()),
                ));
            }
            // The background child re-parses the user's own arguments, unchanged.
            mount::mount(&options, user_args, name, cipher, mountpoint, origin)
        }
        (Action::Mount, _) => Err(Failure::usage(format!(
            "usage: {name} [OPTIONS] CIPHERDIR MOUNTPOINT, or {name} -init|-passwd|-info|-fsck CIPHERDIR (see -help)"
        ))),
    }
}
