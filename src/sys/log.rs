//! Where a daemon's warnings go. In the foreground they go to stderr; once a mount has
//! detached from its terminal, stderr is /dev/null, so they go to syslog instead (as
//! gocryptfs's do), unless `-nosyslog` kept them on stderr.
//!
//! The FUSE code calls [`warn`] and [`info`] and never `eprintln!` directly, so a
//! message is never lost to a closed stderr.

use std::fmt::Display;

/// A problem the user should hear about: a block that does not authenticate, a name
/// that does not decrypt, an unmount nobody asked for at the terminal.
pub fn warn(message: impl Display) {
    eprintln!("vaultfs: {message}");
}

/// Something worth a line in the log, not a problem.
pub fn info(message: impl Display) {
    eprintln!("vaultfs: {message}");
}
