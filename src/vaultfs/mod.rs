//! vaultfs's filesystem: a FUSE view of plaintext over a gocryptfs cipher directory.
//! The applet (applets/vaultfs) parses the command line, unlocks the key and mounts it.

mod activity;
mod backing;
mod content_io;
pub mod ctlsock;
mod dir_cache;
mod nodes;
mod ops;
mod request;
pub mod reverse;

pub use activity::{Activity, parse_go_duration};
pub use ops::{FAULT_PANIC_NAME, MountSettings, VaultFs};
