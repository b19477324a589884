//! `-ctlsock` in reverse mode: plaintext paths to view paths and back.

use super::paths::ReverseNames;
use crate::vaultfs::ctlsock::{PathMap, PathMapError};
use rustix::io::Errno;
use std::sync::Arc;

pub struct ReversePaths(pub Arc<ReverseNames>);

/// gocryptfs reports ENOENT by number and every other failure as -1.
fn failure(e: Errno) -> PathMapError {
    let number = if e == Errno::NOENT { e.raw_os_error() } else { -1 };
    (number, std::io::Error::from(e).to_string())
}

/// `a//./b/` → `a/b`; `..` cannot climb out of the root.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

impl PathMap for ReversePaths {
    fn encrypt_path(&self, plain: &str) -> Result<String, PathMapError> {
        self.0.encrypt_path(clean(plain).as_bytes()).map_err(failure)
    }

    fn decrypt_path(&self, cipher: &str) -> Result<String, PathMapError> {
        self.0.decrypt_path(&clean(cipher)).map(|p| String::from_utf8_lossy(&p).into_owned()).map_err(failure)
    }
}
