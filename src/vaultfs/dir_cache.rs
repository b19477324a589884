//! Open handles of recently used cipher directories, with their IVs.
//!
//! Reaching a directory means opening each component from the root (see backing.rs);
//! keeping the handle of a directory in use saves that walk and the read of its IV on
//! every request. A handle follows its directory when it is renamed, so renames keep
//! entries valid; removal and rename clear the cache (a directory made again may reuse
//! an inode number, and must never be encrypted with its predecessor's IV). With
//! `-sharedstorage` nothing is cached: another mount may change the tree behind us.

use crate::gocryptfs::names::DirIv;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

/// Directories kept at most, each holding one descriptor. As in gocryptfs: enough for
/// the few directories a workload is in at once (each level of a walk is cached as it
/// is opened), and few enough that tools counting a daemon's descriptors (gocryptfs's
/// own tests allow 20 beyond those at mount time) see no leak.
const CAPACITY: usize = 20;

/// A cipher directory: a handle for `*at` calls and the IV its names are encrypted with.
pub struct DirHandle {
    pub fd: OwnedFd,
    pub iv: DirIv,
}

struct Entry {
    ino: u64,
    handle: Arc<DirHandle>,
    last_used: u64,
}

#[derive(Default)]
struct Entries {
    list: Vec<Entry>,
    clock: u64,
}

pub struct DirCache {
    enabled: bool,
    entries: Mutex<Entries>,
}

impl DirCache {
    pub fn new(enabled: bool) -> Self {
        DirCache { enabled, entries: Mutex::default() }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The map is never left half-changed: a poisoned lock is still consistent.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, ino: u64) -> Option<Arc<DirHandle>> {
        if !self.enabled {
            return None;
        }
        let mut entries = self.entries();
        entries.clock += 1;
        let now = entries.clock;
        let entry = entries.list.iter_mut().find(|e| e.ino == ino)?;
        entry.last_used = now;
        Some(Arc::clone(&entry.handle))
    }

    pub fn insert(&self, ino: u64, handle: Arc<DirHandle>) {
        if !self.enabled {
            return;
        }
        let mut entries = self.entries();
        entries.clock += 1;
        let last_used = entries.clock;
        entries.list.retain(|e| e.ino != ino);
        if entries.list.len() >= CAPACITY
            && let Some(oldest) = entries.list.iter().enumerate().min_by_key(|(_, e)| e.last_used).map(|(i, _)| i)
        {
            entries.list.swap_remove(oldest);
        }
        entries.list.push(Entry { ino, handle, last_used });
    }

    pub fn clear(&self) {
        self.entries().list.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle() -> Arc<DirHandle> {
        Arc::new(DirHandle { fd: std::fs::File::open("/").unwrap().into(), iv: [0; 16] })
    }

    #[test]
    fn the_least_recently_used_directory_goes_first() {
        let cache = DirCache::new(true);
        for ino in 0..CAPACITY as u64 {
            cache.insert(ino, handle());
        }
        assert!(cache.get(0).is_some());
        cache.insert(100, handle());
        assert!(cache.get(0).is_some() && cache.get(100).is_some());
        assert!(cache.get(1).is_none(), "1 was the least recently used");
        cache.clear();
        assert!(cache.get(0).is_none());
        let off = DirCache::new(false);
        off.insert(5, handle());
        assert!(off.get(5).is_none());
    }
}
