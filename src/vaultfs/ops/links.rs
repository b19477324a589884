//! Symbolic links, hard links and special files.

use super::{VaultFs, io_errno};
use crate::vaultfs::backing;
use crate::vaultfs::request::Bytes;
use fuser::{Errno, FileAttr};
use rustix::fs::{AtFlags, FileType, Mode};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStringExt;

impl VaultFs {
    pub(super) fn make_symlink(
        &self,
        caller: (u32, u32),
        parent: u64,
        name: &OsStr,
        target: &OsStr,
    ) -> Result<FileAttr, Errno> {
        let stored = self.volume.encrypt_link_target(target.as_encoded_bytes()).map_err(io_errno)?;
        let stored = std::ffi::OsString::from_vec(stored);
        self.create_entry(caller, parent, name, |dir, disk_name| {
            rustix::fs::symlinkat(&stored, dir, disk_name).map_err(backing::io_err)
        })
    }

    pub(super) fn read_symlink(&self, ino: u64) -> Result<Bytes, Errno> {
        let stored = self.with_object(ino, backing::read_link)?;
        self.volume.decrypt_link_target(&stored).map(Bytes::from).ok_or(Errno::EIO)
    }

    pub(super) fn make_hard_link(
        &self,
        caller: (u32, u32),
        ino: u64,
        new_parent: u64,
        new_name: &OsStr,
    ) -> Result<FileAttr, Errno> {
        // The source is tried through each of its names (one may have gone away); the
        // long-name file of the new name is written once, by create_entry.
        let links = super::lock(&self.nodes).links(ino);
        let source = links.first().ok_or(Errno::ESTALE)?;
        let source_dir = self.dir(source.parent)?;
        let source_name = source.disk_name.clone();
        self.create_entry(caller, new_parent, new_name, |dir, disk_name| {
            rustix::fs::linkat(&source_dir.fd, &source_name, dir, disk_name, AtFlags::empty()).map_err(backing::io_err)
        })
    }

    pub(super) fn make_node(
        &self,
        caller: (u32, u32),
        parent: u64,
        name: &OsStr,
        mode: u32,
        rdev: u32,
    ) -> Result<FileAttr, Errno> {
        self.create_entry(caller, parent, name, |dir, disk_name| {
            let file_type = FileType::from_raw_mode(mode);
            let perm = Mode::from_raw_mode(mode & 0o7777);
            rustix::fs::mknodat(dir, disk_name, file_type, perm, rdev as u64).map_err(backing::io_err)
        })
    }
}
