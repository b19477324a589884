//! The sorted table of applets: name, one-line summary, entry point. Dispatch, the
//! overview, `--list` and `--install` all read it, so an applet is added in one place.

use armorbox::exit::AppletResult;
use std::ffi::OsString;

pub struct Applet {
    pub name: &'static str,
    pub summary: &'static str,
    pub run: fn(&str, &[OsString]) -> AppletResult,
}

pub const APPLETS: &[Applet] = &[
    Applet {
        name: "armor-node",
        summary: "secure a freshly deployed node: LUKS home, new SSH host keys, firewall, sshd lock-down",
        run: crate::armor_node::run,
    },
    Applet {
        name: "cvault-init",
        summary: "attach an iSCSI volume (CHAP), LUKS-format it and mount it",
        run: crate::cvault_init::run,
    },
    Applet {
        name: "cvault-mount",
        summary: "attach an iSCSI volume (CHAP), open its LUKS container and mount it",
        run: crate::cvault_mount::run,
    },
    Applet {
        name: "mask-passwd",
        summary: "read a password on the terminal showing '*', write it to stdout",
        run: crate::mask_passwd::run,
    },
    Applet {
        name: "secarc",
        summary: "encrypted 7z archives (AES-256, encrypted headers, LZMA2) that 7-Zip reads",
        run: crate::secarc::run,
    },
    Applet {
        name: "vaultfs",
        summary: "encrypted overlay filesystem (FUSE), byte-compatible with gocryptfs",
        run: crate::vaultfs::run,
    },
];

/// Other names an applet answers to, so existing scripts run unchanged through a link
/// of that name. `--install` does not make these links: shadowing the real tool is the
/// user's explicit choice.
pub const ALIASES: &[(&str, &str)] = &[("gocryptfs", "vaultfs")];

pub fn find(name: &str) -> Option<&'static Applet> {
    let name = ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, real)| *real);
    APPLETS.binary_search_by(|a| a.name.cmp(name)).ok().map(|i| &APPLETS[i])
}

/// What `armorbox` and `armorbox --help` print.
pub fn overview(version: &str) -> String {
    let mut text = format!(
        "armorbox {version}: tools for handling sensitive data on HPC nodes, in one static binary.\n\n\
         Usage: armorbox APPLET [ARGS...]   or   APPLET [ARGS...] through a link named APPLET\n       \
         armorbox --install [-s] DIR      link every applet into DIR (-s: symbolic links)\n       \
         armorbox --list | --version | --help\n\nApplets:\n"
    );
    for applet in APPLETS {
        text.push_str(&format!("  {:<13} {}\n", applet.name, applet.summary));
    }
    text.push_str("\nEach applet answers --help.\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_so_binary_search_finds_every_applet() {
        assert!(APPLETS.windows(2).all(|w| w[0].name < w[1].name));
        for applet in APPLETS {
            assert_eq!(find(applet.name).map(|a| a.name), Some(applet.name));
        }
        assert!(find("nope").is_none());
    }
}
