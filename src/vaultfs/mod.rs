//! vaultfs's filesystem: a FUSE view of plaintext over a gocryptfs cipher directory.
//! The applet (applets/vaultfs) parses the command line, unlocks the key and mounts it.

mod content_io;
mod nodes;
mod ops;

pub use ops::{MountSettings, VaultFs};
