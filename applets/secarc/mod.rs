//! `secarc`: not built yet. It answers --help with its intended usage and refuses
//! everything else plainly (see `not_built`).

use armorbox::exit::AppletResult;
use std::ffi::OsString;

const USAGE: &str = "Usage: secarc <a|x|e|l|t> [SWITCHES] ARCHIVE [FILES...]
Encrypted 7z archives (AES-256, encrypted headers, LZMA2) with 7-Zip's command line.
";

pub fn run(_name: &str, args: &[OsString]) -> AppletResult {
    crate::not_built::refuse(USAGE, args)
}
