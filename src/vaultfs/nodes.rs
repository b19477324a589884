//! The kernel's inode numbers and where each lives in the cipher directory.
//!
//! An inode number is the backing file's own `st_ino` (as gocryptfs does), so numbers are
//! stable across lookups, remounts and several mounts of one directory; the root is 1.
//! A node remembers every (parent, on-disk name) it was seen under, newest first, so a
//! hard link stays reachable when one of its names goes away (here or, with
//! `-sharedstorage`, in another mount).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::sync::{Arc, RwLock};

pub const ROOT: u64 = 1;

/// One place a node lives: its parent directory and its on-disk (encrypted) name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub parent: u64,
    pub disk_name: OsString,
}

struct Node {
    links: Vec<Link>,
    lookups: u64,
    /// Serializes read-modify-write of this file's blocks; reads share it.
    content_lock: Arc<RwLock<()>>,
}

pub struct NodeTable {
    nodes: HashMap<u64, Node>,
}

impl Default for NodeTable {
    fn default() -> Self {
        let mut nodes = HashMap::new();
        nodes.insert(ROOT, Node { links: Vec::new(), lookups: 1, content_lock: Arc::default() });
        NodeTable { nodes }
    }
}

impl NodeTable {
    /// Where the node lives, the name most recently seen first; empty for the root
    /// and for a node whose every name went away.
    pub fn links(&self, ino: u64) -> Vec<Link> {
        self.nodes.get(&ino).map(|n| n.links.clone()).unwrap_or_default()
    }

    #[cfg(test)]
    pub fn knows(&self, ino: u64) -> bool {
        self.nodes.contains_key(&ino)
    }

    /// Records a lookup: the kernel now holds one more reference to `ino`.
    pub fn remember(&mut self, ino: u64, link: Link) {
        let node = self.nodes.entry(ino).or_insert_with(|| Node {
            links: Vec::new(),
            lookups: 0,
            content_lock: Arc::default(),
        });
        node.lookups += 1;
        // The name just seen first: it is the one most likely to still exist.
        node.links.retain(|known| *known != link);
        node.links.insert(0, link);
    }

    /// The kernel dropped `count` references.
    pub fn forget(&mut self, ino: u64, count: u64) {
        if ino == ROOT {
            return;
        }
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.lookups = node.lookups.saturating_sub(count);
            if node.lookups == 0 {
                self.nodes.remove(&ino);
            }
        }
    }

    /// A name went away (unlink, rmdir, or the source of a rename).
    pub fn unlink(&mut self, parent: u64, disk_name: &OsStr) {
        for node in self.nodes.values_mut() {
            node.links.retain(|l| !(l.parent == parent && l.disk_name == disk_name));
        }
    }

    /// A rename: the node known under the old name now lives under the new one, and
    /// whatever the new name held before is gone.
    pub fn rename(&mut self, old: &Link, new: &Link) {
        self.unlink(new.parent, &new.disk_name);
        for node in self.nodes.values_mut() {
            for link in node.links.iter_mut() {
                if link == old {
                    *link = new.clone();
                }
            }
        }
    }

    /// RENAME_EXCHANGE: the two names swap their nodes.
    pub fn exchange(&mut self, a: &Link, b: &Link) {
        for node in self.nodes.values_mut() {
            for link in node.links.iter_mut() {
                if link == a {
                    *link = b.clone();
                } else if link == b {
                    *link = a.clone();
                }
            }
        }
    }

    pub fn content_lock(&self, ino: u64) -> Arc<RwLock<()>> {
        self.nodes.get(&ino).map(|n| Arc::clone(&n.content_lock)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(parent: u64, name: &str) -> Link {
        Link { parent, disk_name: name.into() }
    }

    #[test]
    fn links_follow_renames_and_hard_links_newest_first() {
        let mut t = NodeTable::default();
        t.remember(10, link(ROOT, "dirA"));
        t.remember(11, link(10, "file"));
        t.rename(&link(ROOT, "dirA"), &link(ROOT, "dirB"));
        assert_eq!(t.links(10), [link(ROOT, "dirB")]);
        t.remember(11, link(ROOT, "hardlink"));
        assert_eq!(t.links(11), [link(ROOT, "hardlink"), link(10, "file")]);
        // Seen again under its first name: that name moves to the front.
        t.remember(11, link(10, "file"));
        assert_eq!(t.links(11), [link(10, "file"), link(ROOT, "hardlink")]);
        t.unlink(ROOT, OsStr::new("hardlink"));
        assert_eq!(t.links(11), [link(10, "file")]);
        t.forget(11, 3);
        assert!(!t.knows(11));
    }

    #[test]
    fn exchange_swaps_two_names() {
        let mut t = NodeTable::default();
        t.remember(20, link(ROOT, "a"));
        t.remember(21, link(ROOT, "b"));
        t.exchange(&link(ROOT, "a"), &link(ROOT, "b"));
        assert_eq!(t.links(20), [link(ROOT, "b")]);
        assert_eq!(t.links(21), [link(ROOT, "a")]);
    }
}
