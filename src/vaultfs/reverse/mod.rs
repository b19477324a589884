//! gocryptfs's reverse mode: a read-only, encrypted view of a plaintext directory.
//!
//! Everything the view shows is derived from the plaintext tree and the key: names are
//! encrypted with IVs derived from their encrypted path, file contents with a derived
//! file ID and block nonces (AES-SIV), and the files a forward mount needs
//! (`gocryptfs.conf`, `gocryptfs.diriv`, `gocryptfs.longname.*.name`) are virtual. The
//! same tree thus always gives the same bytes, so copies of the view (rsync to outside
//! storage) are incremental, and a copy mounts forward with gocryptfs or vaultfs.

mod backing;
mod content;
pub mod ctl;
pub mod exclude;
mod inomap;
mod ops;
pub mod pathiv;
pub mod paths;

pub use exclude::{ExcludeError, Excluder};
pub use ops::ReverseFs;

use std::path::PathBuf;

/// The reverse config's name in the plaintext directory; the view shows it as
/// `gocryptfs.conf`.
pub const CONFIG_NAME: &str = ".gocryptfs.reverse.conf";

/// Mount-time choices of a reverse mount.
pub struct ReverseSettings {
    /// The plaintext directory (canonical).
    pub plain_dir: PathBuf,
    /// `-config` was given: the plaintext directory's `.gocryptfs.reverse.conf` (if
    /// any) is then an ordinary file, and no `gocryptfs.conf` is shown.
    pub config_custom: bool,
    pub excluder: Excluder,
    /// `-one-file-system`: directories on other devices are shown empty.
    pub one_file_system: bool,
    /// `-force_owner`
    pub force_owner: Option<(u32, u32)>,
    /// -d / -debug / -fusedebug: log every FUSE request and its answer.
    pub debug: bool,
}
