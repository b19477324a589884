//! The gocryptfs on-disk format (v2), usable without FUSE: the config file and its key
//! wrap, file content blocks, names, and the master-key printout. `vaultfs` mounts it;
//! the tests read real gocryptfs directories with it directly.

pub mod config;
pub mod content;
pub mod exit_code;
pub mod features;
pub mod masterkey;
pub mod names;
pub mod offline;
pub mod volume;

pub use config::ConfigFile;
pub use features::{ContentAlgorithm, Format};
pub use volume::Volume;
