//! Small system helpers shared by the applets.

pub mod argv;
pub mod command;
pub mod fuse_mount;
pub mod huge_pages;
pub mod interrupt;
pub mod local_time;
pub mod log;
pub mod no_core_dump;
pub mod process_watch;
pub mod progress;
pub mod self_exe;
pub mod stdio;
pub mod threads;
pub mod wiping_alloc;
