//! Inode numbers as gocryptfs shows them in reverse mode: the backing inode number,
//! with a 15-bit namespace in bits 48..63 for everything that is not a plain file on
//! the root's device. A namespace is a (device, tag) pair, numbered in the order they
//! are first seen (the root's device is 0); tag 1 marks a directory's virtual
//! `gocryptfs.diriv`, tag 2 a long name's virtual `.name` file, so those get numbers
//! that share the low 48 bits with their directory or file but never collide with it.
//! Numbers that do not fit go to a spill table with the top bit set.

use std::collections::HashMap;
use std::sync::Mutex;

pub const TAG_REAL: u8 = 0;
pub const TAG_DIRIV: u8 = 1;
pub const TAG_NAME_FILE: u8 = 2;

const NAMESPACE_BITS: u32 = 48;
const MAX_NAMESPACE: u16 = (1 << 15) - 1;
const MAX_PASSTHROUGH: u64 = (1 << NAMESPACE_BITS) - 1;
const SPILL_BIT: u64 = 1 << 63;

#[derive(Default)]
struct Tables {
    namespaces: HashMap<(u64, u8), u16>,
    next_namespace: u16,
    spilled: HashMap<(u64, u8, u64), u64>,
    next_spill: u64,
}

pub struct InoMap {
    tables: Mutex<Tables>,
}

impl InoMap {
    pub fn new(root_dev: u64) -> Self {
        let mut tables = Tables::default();
        tables.namespaces.insert((root_dev, TAG_REAL), 0);
        tables.next_namespace = 1;
        InoMap { tables: Mutex::new(tables) }
    }

    pub fn translate(&self, dev: u64, tag: u8, ino: u64) -> u64 {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if ino <= MAX_PASSTHROUGH {
            if let Some(&ns) = t.namespaces.get(&(dev, tag)) {
                return (u64::from(ns) << NAMESPACE_BITS) | ino;
            }
            if t.next_namespace < MAX_NAMESPACE {
                let ns = t.next_namespace;
                t.next_namespace += 1;
                t.namespaces.insert((dev, tag), ns);
                return (u64::from(ns) << NAMESPACE_BITS) | ino;
            }
        }
        let key = (dev, tag, ino);
        if let Some(&n) = t.spilled.get(&key) {
            return n | SPILL_BIT;
        }
        let n = t.next_spill;
        t.next_spill += 1;
        t.spilled.insert(key, n);
        n | SPILL_BIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_device_passes_through_and_tags_get_namespaces_in_order() {
        let m = InoMap::new(7);
        assert_eq!(m.translate(7, TAG_REAL, 1234), 1234);
        assert_eq!(m.translate(7, TAG_DIRIV, 1234), (1 << 48) | 1234);
        assert_eq!(m.translate(9, TAG_REAL, 5), (2 << 48) | 5);
        assert_eq!(m.translate(7, TAG_DIRIV, 99), (1 << 48) | 99);
        assert_eq!(m.translate(7, TAG_REAL, 1 << 50), SPILL_BIT);
        assert_eq!(m.translate(7, TAG_REAL, 1 << 50), SPILL_BIT, "stable");
        assert_eq!(m.translate(8, TAG_REAL, 1 << 50), SPILL_BIT | 1);
    }
}
