//! vaultfs's filesystem: a FUSE view of plaintext over a gocryptfs cipher directory.
//! The applet (applets/vaultfs) parses the command line, unlocks the key and mounts it.

mod activity;
mod content_io;
pub mod ctlsock;
mod nodes;
mod ops;
pub mod reverse;

pub use activity::{Activity, parse_go_duration};
pub use ops::{MountSettings, VaultFs};
