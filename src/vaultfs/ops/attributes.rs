//! Attributes: getattr, setattr (mode, owner, size, times), statfs and access.

use super::{VaultFs, io_errno};
use crate::vaultfs::backing;
use fuser::{Errno, FileAttr, TimeOrNow};
use rustix::fs::{OFlags, Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
use std::os::fd::AsFd;
use std::time::UNIX_EPOCH;

/// What a setattr request asks to change.
#[derive(Debug, Default)]
pub struct AttrChange {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeOrNow>,
    pub mtime: Option<TimeOrNow>,
}

fn timestamps(atime: Option<TimeOrNow>, mtime: Option<TimeOrNow>) -> Timestamps {
    let spec = |t: Option<TimeOrNow>| match t {
        None => Timespec { tv_sec: 0, tv_nsec: UTIME_OMIT },
        Some(TimeOrNow::Now) => Timespec { tv_sec: 0, tv_nsec: UTIME_NOW },
        Some(TimeOrNow::SpecificTime(t)) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timespec { tv_sec: d.as_secs() as i64, tv_nsec: d.subsec_nanos() as _ },
            Err(before) => {
                // Before 1970: whole seconds down, nanoseconds up, as timespec wants.
                let d = before.duration();
                let (secs, nanos) = (d.as_secs() as i64, d.subsec_nanos());
                if nanos == 0 {
                    Timespec { tv_sec: -secs, tv_nsec: 0 }
                } else {
                    Timespec { tv_sec: -secs - 1, tv_nsec: (1_000_000_000 - nanos) as _ }
                }
            }
        },
    };
    Timestamps { last_access: spec(atime), last_modification: spec(mtime) }
}

impl VaultFs {
    pub(super) fn get_attr(&self, ino: u64, fh: Option<u64>) -> Result<FileAttr, Errno> {
        // Through the open file when there is one: it works after unlink, too.
        if let Some(open) = fh.and_then(|fh| self.open_file(fh).ok()) {
            return self.attr_of_open(ino, &open.file);
        }
        let result = self.with_object(ino, |dir, name| self.attr_at(Some(ino), dir, name));
        if let Err(Errno::ENOENT | Errno::ESTALE) = result {
            // fstat() of an open, unlinked file comes without its handle.
            if let Some(open) = self.any_open_file(ino) {
                return self.attr_of_open(ino, &open.file);
            }
        }
        result
    }

    fn attr_of_open(&self, ino: u64, file: &std::fs::File) -> Result<FileAttr, Errno> {
        let st = rustix::fs::fstat(file).map_err(|e| Errno::from(backing::io_err(e)))?;
        Ok(self.attr(ino, &st, || None))
    }

    pub(super) fn set_attr(&self, ino: u64, fh: Option<u64>, change: AttrChange) -> Result<FileAttr, Errno> {
        self.check_writable()?;
        // Through the open file when there is one (ftruncate on an unlinked file…).
        // fchmod, fchown and futimens come without the handle: a node that no name
        // reaches any more is changed through one of its open files.
        let open = fh.and_then(|fh| self.open_file(fh).ok()).or_else(|| {
            let unreachable = matches!(self.with_object(ino, backing::stat), Err(Errno::ENOENT | Errno::ESTALE));
            if unreachable { self.any_open_file(ino) } else { None }
        });
        if let Some(mode) = change.mode {
            match &open {
                Some(open) => rustix::fs::fchmod(&open.file, rustix::fs::Mode::from_raw_mode(mode & 0o7777))
                    .map_err(|e| Errno::from(backing::io_err(e)))?,
                None => self.with_object(ino, |dir, name| backing::chmod(dir, name, mode & 0o7777))?,
            }
        }
        if change.uid.is_some() || change.gid.is_some() {
            match &open {
                Some(open) => std::os::unix::fs::fchown(&open.file, change.uid, change.gid).map_err(io_errno)?,
                None => self.with_object(ino, |dir, name| backing::chown(dir, name, change.uid, change.gid))?,
            }
        }
        if let Some(size) = change.size {
            let lock = self.content_lock(ino);
            let _guard = lock.write().map_err(|_| Errno::EIO)?;
            match &open {
                Some(open) => self.content(&open.file).truncate(size).map_err(io_errno)?,
                None => self.with_object(ino, |dir, name| {
                    let file = backing::open_file(dir, name, OFlags::RDWR, 0)?;
                    self.content(&file).truncate(size)
                })?,
            }
        }
        if change.atime.is_some() || change.mtime.is_some() {
            let times = timestamps(change.atime, change.mtime);
            match &open {
                Some(open) => rustix::fs::futimens(&open.file, &times).map_err(|e| Errno::from(backing::io_err(e)))?,
                None => self.with_object(ino, |dir, name| backing::set_times(dir, name, &times))?,
            }
        }
        match &open {
            Some(open) => self.attr_of_open(ino, &open.file),
            None => self.get_attr(ino, None),
        }
    }

    pub(super) fn fs_stats(&self) -> Result<rustix::fs::StatVfs, Errno> {
        rustix::fs::fstatvfs(self.root.fd.as_fd()).map_err(|e| Errno::from(backing::io_err(e)))
    }

    pub(super) fn check_access(&self, ino: u64, mask: i32) -> Result<(), Errno> {
        let mode = rustix::fs::Access::from_bits_retain(mask as u32);
        self.with_object(ino, |dir, name| backing::access(dir, name, mode))
    }
}
