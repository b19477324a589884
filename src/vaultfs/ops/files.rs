//! File contents: open, create, read, write, release, fsync, fallocate and lseek.

use super::{OpenFile, VaultFs, io_errno, lock};
use crate::gocryptfs::content::{HEADER_LEN, PLAIN_BS};
use crate::vaultfs::backing;
use crate::vaultfs::request::Bytes;
use fuser::{Errno, FileAttr, FopenFlags};
use rustix::fs::{FallocateFlags, OFlags, SeekFrom};
use std::sync::{Arc, Mutex};

const SEEK_DATA: i32 = 3;
const SEEK_HOLE: i32 = 4;

/// The open flags the backing file gets: read access always (writes read-modify-write
/// partial blocks), never a link, and none of the flags that only make sense for the
/// plaintext offsets (append, direct I/O) or were already handled (create, truncate).
fn backing_flags(flags: i32) -> (OFlags, bool) {
    let access = flags & OFlags::RWMODE.bits() as i32;
    let writing = access != OFlags::RDONLY.bits() as i32;
    let kept = OFlags::from_bits_retain(flags as u32) & (OFlags::SYNC | OFlags::DSYNC | OFlags::NOATIME);
    (if writing { OFlags::RDWR } else { OFlags::RDONLY } | kept, writing)
}

impl VaultFs {
    fn keep_cache(&self) -> FopenFlags {
        if self.settings.kernel_cache { FopenFlags::FOPEN_KEEP_CACHE } else { FopenFlags::empty() }
    }

    fn register(&self, file: std::fs::File, ino: u64) -> u64 {
        let fh = self.new_handle();
        lock(&self.files).insert(fh, Arc::new(OpenFile { file, ino }));
        self.activity.opened();
        fh
    }

    pub(super) fn open_node(&self, ino: u64, flags: i32) -> Result<(u64, FopenFlags), Errno> {
        let (backing_flags, writing) = backing_flags(flags);
        if writing {
            self.check_writable()?;
        }
        let file = self.with_object(ino, |dir, name| backing::open_file(dir, name, backing_flags, 0))?;
        if flags & OFlags::TRUNC.bits() as i32 != 0 && writing {
            let lock = self.content_lock(ino);
            let _guard = lock.write().map_err(|_| Errno::EIO)?;
            file.set_len(0).map_err(io_errno)?;
        }
        Ok((self.register(file, ino), self.keep_cache()))
    }

    pub(super) fn create_file(
        &self,
        caller: (u32, u32),
        parent: u64,
        name: &std::ffi::OsStr,
        mode: u32,
        flags: i32,
    ) -> Result<(FileAttr, u64), Errno> {
        let opened = Mutex::new(None);
        let (backing_flags, _) = backing_flags(flags | OFlags::RDWR.bits() as i32);
        let attr = self.create_entry(caller, parent, name, |dir, disk_name| {
            let flags = backing_flags | OFlags::CREATE | OFlags::EXCL;
            *opened.lock().unwrap_or_else(|p| p.into_inner()) = Some(backing::open_file(dir, disk_name, flags, mode)?);
            Ok(())
        })?;
        let file = opened.into_inner().unwrap_or_else(|p| p.into_inner()).ok_or(Errno::EIO)?;
        Ok((attr, self.register(file, attr.ino.0)))
    }

    pub(super) fn read_file(&self, ino: u64, fh: u64, offset: u64, size: u32) -> Result<Bytes, Errno> {
        let open = self.open_file(fh)?;
        let lock = self.content_lock(ino);
        let _guard = lock.read().map_err(|_| Errno::EIO)?;
        let mut data = Bytes::reuse();
        self.content(&open.file).read_into(offset, size as usize, &mut data).map_err(io_errno)?;
        Ok(data)
    }

    pub(super) fn write_file(&self, ino: u64, fh: u64, offset: u64, data: &[u8]) -> Result<u32, Errno> {
        let open = self.open_file(fh)?;
        let lock = self.content_lock(ino);
        let _guard = lock.write().map_err(|_| Errno::EIO)?;
        self.content(&open.file).write_at(offset, data).map_err(io_errno)?;
        Ok(data.len() as u32)
    }

    pub(super) fn release_file(&self, fh: u64) {
        if lock(&self.files).remove(&fh).is_some() {
            self.activity.closed();
        }
    }

    pub(super) fn sync_file(&self, fh: u64, data_only: bool) -> Result<(), Errno> {
        let open = self.open_file(fh)?;
        if data_only { open.file.sync_data() } else { open.file.sync_all() }.map_err(io_errno)
    }

    /// fallocate as gocryptfs does it: only modes 0 and KEEP_SIZE; the space of the
    /// cipher blocks that will hold the range is reserved, and mode 0 then grows the
    /// file as a truncate would.
    pub(super) fn allocate(&self, ino: u64, fh: u64, offset: u64, length: u64, mode: i32) -> Result<(), Errno> {
        self.check_writable()?;
        let keep_size = FallocateFlags::KEEP_SIZE.bits() as i32;
        if mode != 0 && mode != keep_size {
            return Err(Errno::EOPNOTSUPP);
        }
        if length == 0 {
            return Err(Errno::EINVAL);
        }
        let open = self.open_file(fh)?;
        let lock = self.content_lock(ino);
        let _guard = lock.write().map_err(|_| Errno::EIO)?;
        let (bs, cbs) = (PLAIN_BS as u64, self.volume.content.cipher_bs() as u64);
        let overhead = cbs - bs;
        let end = offset + length;
        let (first, last) = (offset / bs, (end - 1) / bs);
        let cipher_start = HEADER_LEN as u64 + first * cbs;
        // The last block holds `end - last*bs` bytes of plaintext plus its overhead.
        let cipher_end = HEADER_LEN as u64 + last * cbs + overhead + (end - last * bs);
        rustix::fs::fallocate(&open.file, FallocateFlags::KEEP_SIZE, cipher_start, cipher_end - cipher_start)
            .map_err(|e| Errno::from(backing::io_err(e)))?;
        if mode == keep_size {
            return Ok(());
        }
        let content = self.content(&open.file);
        if content.plain_size().map_err(io_errno)? < end {
            content.truncate(end).map_err(io_errno)?;
        }
        Ok(())
    }

    /// SEEK_DATA and SEEK_HOLE, mapped through the cipher file's own data and holes
    /// (a hole in the plaintext is a hole in the cipher file, block for block).
    pub(super) fn seek(&self, fh: u64, offset: i64, whence: i32) -> Result<i64, Errno> {
        if whence != SEEK_DATA && whence != SEEK_HOLE {
            return Err(Errno::EINVAL);
        }
        let offset = u64::try_from(offset).map_err(|_| Errno::ENXIO)?;
        let open = self.open_file(fh)?;
        let crypto = &self.volume.content;
        let (bs, cbs) = (PLAIN_BS as u64, crypto.cipher_bs() as u64);
        let cipher_size = open.file.metadata().map_err(io_errno)?.len();
        if offset >= crypto.cipher_to_plain_size(cipher_size) {
            return Err(Errno::ENXIO);
        }
        let cipher_offset = HEADER_LEN as u64 + offset / bs * cbs;
        let whence = if whence == SEEK_DATA { SeekFrom::Data(cipher_offset) } else { SeekFrom::Hole(cipher_offset) };
        let found = rustix::fs::seek(&open.file, whence).map_err(|e| Errno::from(backing::io_err(e)))?;
        if found == cipher_offset {
            return Ok(offset as i64);
        }
        if matches!(whence, SeekFrom::Hole(_)) && found >= cipher_size {
            return Ok(crypto.cipher_to_plain_size(cipher_size) as i64);
        }
        // The first whole block at or after what the cipher file reports.
        let block = found.saturating_sub(HEADER_LEN as u64).div_ceil(cbs);
        Ok((block * bs) as i64)
    }
}
