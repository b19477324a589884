//! Open handles of recently used cipher directories, with their IVs.
//!
//! Reaching a directory means opening each component from the root (see backing.rs);
//! keeping the handle of a directory in use saves that walk and the read of its IV on
//! every request. A handle follows its directory when it is renamed, so renames keep
//! entries valid; removal and rename clear the cache (a directory made again may reuse
//! an inode number, and must never be encrypted with its predecessor's IV). With
//! `-sharedstorage` nothing is cached: another mount may change the tree behind us.

use crate::gocryptfs::names::DirIv;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

/// Directories kept at most: each holds one descriptor.
const CAPACITY: usize = 512;

/// A cipher directory: a handle for `*at` calls and the IV its names are encrypted with.
pub struct DirHandle {
    pub fd: OwnedFd,
    pub iv: DirIv,
}

pub struct DirCache {
    enabled: bool,
    entries: Mutex<HashMap<u64, Arc<DirHandle>>>,
}

impl DirCache {
    pub fn new(enabled: bool) -> Self {
        DirCache { enabled, entries: Mutex::default() }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<DirHandle>>> {
        // The map is never left half-changed: a poisoned lock is still consistent.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, ino: u64) -> Option<Arc<DirHandle>> {
        if !self.enabled {
            return None;
        }
        self.entries().get(&ino).cloned()
    }

    pub fn insert(&self, ino: u64, handle: Arc<DirHandle>) {
        if !self.enabled {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(ino, handle);
    }

    pub fn clear(&self) {
        self.entries().clear();
    }
}
