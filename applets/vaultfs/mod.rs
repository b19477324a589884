//! `vaultfs`: not built yet. It answers --help with its intended usage and refuses
//! everything else plainly (see `not_built`).

use armorbox::exit::AppletResult;
use std::ffi::OsString;

const USAGE: &str = "Usage: vaultfs [OPTIONS] CIPHERDIR MOUNTPOINT | vaultfs -init [OPTIONS] CIPHERDIR
An encrypted overlay filesystem, byte-compatible with gocryptfs and drop-in on its command line.
";

pub fn run(_name: &str, args: &[OsString]) -> AppletResult {
    crate::not_built::refuse(USAGE, args)
}
