//! `cvault-mount`: not built yet. It answers --help with its intended usage and refuses
//! everything else plainly (see `not_built`).

use armorbox::exit::AppletResult;
use std::ffi::OsString;

const USAGE: &str = "Usage: cvault-mount [--config PATH] [--mountpoint DIR] [--force] [--detach]
Attach the iSCSI volume of compuVault_config.json, open its LUKS container and mount it.
";

pub fn run(_name: &str, args: &[OsString]) -> AppletResult {
    crate::not_built::refuse(USAGE, args)
}
