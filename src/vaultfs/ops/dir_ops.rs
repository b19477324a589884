//! Names in directories: lookup, listing, mkdir, rmdir, unlink and rename.

use super::{Listing, VaultFs, io_errno, lock, name_errno};
use crate::crypto::random;
use crate::gocryptfs::config;
use crate::gocryptfs::names::{
    DIRIV_LEN, DIRIV_NAME, DiskName, LONGNAME_SUFFIX, is_hashed_long_name, is_long_name_file,
};
use crate::sys::log;
use crate::vaultfs::backing;
use crate::vaultfs::dir_cache::DirHandle;
use crate::vaultfs::nodes::{Link, ROOT};
use fuser::{Errno, FileAttr, FileType};
use rustix::fs::{AtFlags, Mode, RenameFlags};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::Arc;

/// What gocryptfs appends to a name shown through `-badname`.
pub const BAD_NAME_SUFFIX: &str = " GOCRYPTFS_BAD_NAME";

impl VaultFs {
    pub(super) fn lookup_entry(&self, parent: u64, name: &OsStr) -> Result<FileAttr, Errno> {
        if self.fault_name.as_deref() == Some(name) {
            panic!("the test fault switch {} names this file", super::FAULT_PANIC_NAME);
        }
        let dir = self.dir(parent)?;
        if self.volume.names.plaintext() && parent == ROOT && name == config::FILE_NAME {
            return Err(Errno::ENOENT);
        }
        if !self.settings.bad_names.is_empty() && name.as_bytes().ends_with(BAD_NAME_SUFFIX.as_bytes()) {
            let disk = self.bad_name_on_disk(&dir, name)?;
            return self.entry(parent, &dir, &disk);
        }
        let disk = self.disk_name(&dir, name, parent)?;
        self.entry(parent, &dir, OsStr::new(disk.file_name()))
    }

    /// The cipher name behind a name listed with the `-badname` suffix: the name as
    /// encrypted if that exists, else the undecryptable name it was shown for (the
    /// name with the suffix removed, or a decryptable prefix followed by the rest),
    /// when exactly one such name exists.
    fn bad_name_on_disk(&self, dir: &DirHandle, name: &OsStr) -> Result<OsString, Errno> {
        if let Ok(disk) = self.volume.names.encrypt(name.as_bytes(), &dir.iv) {
            let disk = OsString::from(disk.file_name());
            if backing::stat(dir.fd.as_fd(), &disk).is_ok() {
                return Ok(disk);
            }
        }
        let shown = &name.as_bytes()[..name.len() - BAD_NAME_SUFFIX.len()];
        let exists = |candidate: &[u8]| backing::stat(dir.fd.as_fd(), OsStr::from_bytes(candidate)).is_ok();
        let mut found: Vec<Vec<u8>> = Vec::new();
        if exists(shown) {
            found.push(shown.to_vec());
        }
        for split in (1..shown.len()).rev() {
            let Ok(disk) = self.volume.names.encrypt(&shown[..split], &dir.iv) else { continue };
            let encrypted = match disk {
                DiskName::Short(n) | DiskName::Long { full: n, .. } => n,
            };
            let candidate = [encrypted.as_bytes(), &shown[split..]].concat();
            if exists(&candidate) {
                found.push(candidate);
            }
        }
        match found.as_slice() {
            [one] => Ok(OsStr::from_bytes(one).to_owned()),
            _ => Err(Errno::ENOENT),
        }
    }

    /// How an undecryptable cipher name is shown when it matches a `-badname`
    /// pattern: the longest prefix that decrypts, the rest as is, and the suffix.
    fn shown_bad_name(&self, cipher_name: &str, iv: &[u8; DIRIV_LEN]) -> Option<Vec<u8>> {
        if !self.settings.bad_names.iter().any(|pattern| super::glob::matches(pattern, cipher_name)) {
            return None;
        }
        // The shortest encrypted name is one AES block, base64-encoded.
        let shortest = self.volume.names.encode(&[0; 16]).len();
        for split in (shortest..cipher_name.len()).rev() {
            if !cipher_name.is_char_boundary(split) {
                continue;
            }
            if let Ok(plain) = self.volume.names.decrypt(&cipher_name[..split], iv) {
                return Some([&plain[..], &cipher_name.as_bytes()[split..], BAD_NAME_SUFFIX.as_bytes()].concat());
            }
        }
        Some(format!("{cipher_name}{BAD_NAME_SUFFIX}").into_bytes())
    }

    /// The plaintext listing of directory `ino`.
    pub(super) fn list_dir(&self, ino: u64) -> Result<Listing, Errno> {
        let dir = self.dir(ino)?;
        let reader = self.with_object(ino, backing::open_dir_for_listing)?;
        let entries = backing::read_entries(&reader).map_err(io_errno)?;
        let mut out = vec![(ino, FileType::Directory, OsString::from(".")), (ino, FileType::Directory, "..".into())];
        let names = &self.volume.names;
        for entry in entries {
            let Some(cipher_name) = entry.name.to_str() else {
                self.hide_name(&entry.name, "not an encrypted name");
                continue;
            };
            if ino == ROOT && cipher_name == config::FILE_NAME {
                continue;
            }
            let kind = super::kind(entry.file_type.as_raw_mode());
            if names.plaintext() {
                out.push((entry.ino, kind, entry.name));
                continue;
            }
            if cipher_name == DIRIV_NAME || is_long_name_file(cipher_name) {
                continue;
            }
            let encoded = if is_hashed_long_name(cipher_name) {
                let name_file = OsString::from(format!("{cipher_name}{LONGNAME_SUFFIX}"));
                match backing::read_small_file(reader.as_fd(), &name_file, 4096) {
                    Ok(full) => String::from_utf8_lossy(&full).into_owned(),
                    Err(e) => {
                        self.hide_name(&entry.name, &format!("its {LONGNAME_SUFFIX} file: {e}"));
                        continue;
                    }
                }
            } else {
                cipher_name.to_string()
            };
            match names.decrypt(&encoded, &dir.iv) {
                Ok(plain) => out.push((entry.ino, kind, OsString::from_vec(plain))),
                Err(e) => match self.shown_bad_name(cipher_name, &dir.iv) {
                    Some(shown) => out.push((entry.ino, kind, OsString::from_vec(shown))),
                    None => self.hide_name(&entry.name, &format!("{:?}", name_errno(e))),
                },
            }
        }
        Ok(out)
    }

    fn hide_name(&self, cipher_name: &OsStr, why: &str) {
        log::warn(format!("hiding undecryptable name {} ({why})", cipher_name.to_string_lossy()));
    }

    pub(super) fn make_dir(&self, caller: (u32, u32), parent: u64, name: &OsStr, mode: u32) -> Result<FileAttr, Errno> {
        let with_diriv = !self.volume.names.plaintext() && self.volume.format.dir_iv;
        self.create_entry(caller, parent, name, |dir, disk_name| {
            // Writable by us until the IV file is in place.
            rustix::fs::mkdirat(dir, disk_name, Mode::from_raw_mode(mode | 0o700)).map_err(backing::io_err)?;
            let finish = || -> io::Result<()> {
                if with_diriv {
                    let new_dir = backing::open_dir_handle(dir, disk_name)?;
                    let iv: [u8; DIRIV_LEN] = random::array()?;
                    backing::write_new_file(new_dir.as_fd(), OsStr::new(DIRIV_NAME), &iv, 0o444)?;
                }
                if mode & 0o700 != 0o700 {
                    backing::chmod(dir, disk_name, mode)?;
                }
                Ok(())
            };
            finish().inspect_err(|_| {
                if let Ok(new_dir) = backing::open_dir_handle(dir, disk_name) {
                    let _ = rustix::fs::unlinkat(&new_dir, DIRIV_NAME, AtFlags::empty());
                }
                let _ = rustix::fs::unlinkat(dir, disk_name, AtFlags::REMOVEDIR);
            })
        })
    }

    /// Removes a name (`remove` gets the cipher directory and the on-disk name), its
    /// long-name file, and forgets the name in the node table.
    fn remove_entry(
        &self,
        parent: u64,
        name: &OsStr,
        remove: impl FnOnce(&DirHandle, &OsStr) -> io::Result<()>,
    ) -> Result<(), Errno> {
        self.check_writable()?;
        let dir = self.dir(parent)?;
        let disk = self.disk_name(&dir, name, parent)?;
        let disk_name = OsStr::new(disk.file_name());
        remove(&dir, disk_name).map_err(io_errno)?;
        self.remove_long_name(&dir, &disk);
        lock(&self.nodes).unlink(parent, disk_name);
        Ok(())
    }

    pub(super) fn unlink_name(&self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        self.remove_entry(parent, name, |dir, disk_name| {
            rustix::fs::unlinkat(&dir.fd, disk_name, AtFlags::empty()).map_err(backing::io_err)
        })
    }

    pub(super) fn remove_dir(&self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        let result = self.remove_entry(parent, name, |dir, disk_name| self.rmdir_keeping_iv(dir, disk_name));
        self.dir_cache.clear();
        result
    }

    /// rmdir of a cipher directory: its IV file is moved out first (so the directory
    /// is empty for rmdir) and put back if rmdir fails, so names inside never lose it.
    fn rmdir_keeping_iv(&self, dir: &DirHandle, disk_name: &OsStr) -> io::Result<()> {
        let has_diriv = !self.volume.names.plaintext() && self.volume.format.dir_iv;
        let victim = backing::open_dir_handle(dir.fd.as_fd(), disk_name)?;
        let parked = format!("{DIRIV_NAME}.rmdir.{:016x}", u64::from_ne_bytes(random::array()?));
        let moved = has_diriv && rustix::fs::renameat(&victim, DIRIV_NAME, &dir.fd, parked.as_str()).is_ok();
        match rustix::fs::unlinkat(&dir.fd, disk_name, AtFlags::REMOVEDIR) {
            Ok(()) => {
                if moved {
                    let _ = rustix::fs::unlinkat(&dir.fd, parked.as_str(), AtFlags::empty());
                }
                Ok(())
            }
            Err(e) => {
                if moved {
                    let _ = rustix::fs::renameat(&dir.fd, parked.as_str(), &victim, DIRIV_NAME);
                }
                Err(backing::io_err(e))
            }
        }
    }

    pub(super) fn rename_entry(
        &self,
        parent: u64,
        name: &OsStr,
        new_parent: u64,
        new_name: &OsStr,
        flags: u32,
    ) -> Result<(), Errno> {
        self.check_writable()?;
        let flags = RenameFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
        let (old_dir, new_dir) = (self.dir(parent)?, self.dir(new_parent)?);
        let old = self.disk_name(&old_dir, name, parent)?;
        let new = self.disk_name(&new_dir, new_name, new_parent)?;
        let exchange = flags.contains(RenameFlags::EXCHANGE);
        let wrote_long_name = !exchange && self.write_long_name(&new_dir, &new)?;
        let (old_name, new_disk_name) = (OsStr::new(old.file_name()), OsStr::new(new.file_name()));
        let rename = || rustix::fs::renameat_with(&old_dir.fd, old_name, &new_dir.fd, new_disk_name, flags);
        let mut result = rename();
        // An "empty" cipher directory still holds its IV file, so renaming over it
        // fails (ENOTEMPTY on ext4, EEXIST on xfs): remove it as rmdir would, then
        // try again. A directory that really has entries stays, and so does the error.
        if matches!(result, Err(rustix::io::Errno::NOTEMPTY | rustix::io::Errno::EXIST))
            && !flags.intersects(RenameFlags::NOREPLACE | RenameFlags::EXCHANGE)
            && self.rmdir_keeping_iv(&new_dir, new_disk_name).is_ok()
        {
            result = rename();
        }
        self.dir_cache.clear();
        if let Err(e) = result {
            if wrote_long_name {
                self.remove_long_name(&new_dir, &new);
            }
            return Err(Errno::from(backing::io_err(e)));
        }
        let old_link = Link { parent, disk_name: old_name.to_owned() };
        let new_link = Link { parent: new_parent, disk_name: new_disk_name.to_owned() };
        if exchange {
            lock(&self.nodes).exchange(&old_link, &new_link);
        } else {
            // After RENAME_WHITEOUT a whiteout holds the old name: its long-name file
            // stays, or the whiteout would be an undecryptable name.
            if old_link != new_link && !flags.contains(RenameFlags::WHITEOUT) {
                self.remove_long_name(&old_dir, &old);
            }
            lock(&self.nodes).rename(&old_link, &new_link);
        }
        Ok(())
    }

    pub(super) fn open_listing(&self, ino: u64) -> Result<u64, Errno> {
        let listing = self.list_dir(ino)?;
        let fh = self.new_handle();
        lock(&self.dirs).insert(fh, Arc::new(listing));
        Ok(fh)
    }

    pub(super) fn listing(&self, fh: u64) -> Result<Arc<Listing>, Errno> {
        lock(&self.dirs).get(&fh).cloned().ok_or(Errno::EBADF)
    }

    pub(super) fn close_listing(&self, fh: u64) {
        lock(&self.dirs).remove(&fh);
    }
}
