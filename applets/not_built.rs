//! The honest answer of an applet whose work has not landed yet: its intended usage on
//! `--help`, and a plain refusal with its own exit code for anything else.

use armorbox::exit::{AppletResult, Failure, code};
use std::ffi::OsString;

pub fn refuse(usage: &str, args: &[OsString]) -> AppletResult {
    let wants_help = args.iter().any(|a| a == "--help" || a == "-h" || a == "-help");
    if wants_help {
        print!(
            "{usage}\nStatus: not built yet in armorbox {}: every use except --help exits {}.\n",
            env!("CARGO_PKG_VERSION"),
            code::NOT_BUILT
        );
        return Ok(());
    }
    Err(Failure::new(
        code::NOT_BUILT,
        format!("not built yet in armorbox {}: nothing was done", env!("CARGO_PKG_VERSION")),
    ))
}
