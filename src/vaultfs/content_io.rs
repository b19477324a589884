//! Plaintext reads, writes and truncation on an open backing file, in gocryptfs's
//! layout. Callers hold the file's content lock (shared to read, exclusive to change),
//! so a partial block's read-modify-write never races another writer of this mount.

use crate::gocryptfs::content::{self, ContentCrypto, FileId, HEADER_LEN, PLAIN_BS};
use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

thread_local! {
    /// Per-thread buffers reused across requests: a megabyte-sized allocation per request
    /// costs an mmap, page faults and a TLB shootdown each time with musl's allocator.
    static CIPHER_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static PLAIN_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// An I/O error the kernel sees as EIO, for data that does not authenticate.
fn corrupt(what: String) -> io::Error {
    crate::sys::log::warn(what);
    io::Error::from_raw_os_error(rustix::io::Errno::IO.raw_os_error())
}

pub struct ContentIo<'a> {
    pub crypto: &'a ContentCrypto,
    pub file: &'a File,
    /// Reserve disk space before writing (not with -noprealloc): a full disk then fails
    /// the write cleanly instead of leaving a half-written block.
    pub preallocate: bool,
}

impl ContentIo<'_> {
    fn cipher_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    pub fn plain_size(&self) -> io::Result<u64> {
        Ok(self.crypto.cipher_to_plain_size(self.cipher_len()?))
    }

    /// The file ID, or None for an empty file (no header, or a header alone).
    fn file_id(&self, cipher_len: u64) -> io::Result<Option<FileId>> {
        if cipher_len <= HEADER_LEN as u64 {
            return Ok(None);
        }
        let mut header = [0u8; HEADER_LEN];
        self.file.read_exact_at(&mut header, 0)?;
        content::parse_header(&header).map(Some).map_err(|e| corrupt(format!("bad file header: {e:?}")))
    }

    pub fn read_at(&self, offset: u64, size: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_into(offset, size, &mut out)?;
        Ok(out)
    }

    /// Reads plaintext into `out` (cleared first), for callers that reuse the buffer.
    pub fn read_into(&self, offset: u64, size: usize, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        let cipher_len = self.cipher_len()?;
        let plain_size = self.crypto.cipher_to_plain_size(cipher_len);
        if offset >= plain_size || size == 0 {
            return Ok(());
        }
        let Some(id) = self.file_id(cipher_len)? else { return Ok(()) };
        let end = plain_size.min(offset + size as u64);
        let (first, last) = (offset / PLAIN_BS as u64, (end - 1) / PLAIN_BS as u64);
        let cbs = self.crypto.cipher_bs() as u64;
        let cipher_start = HEADER_LEN as u64 + first * cbs;
        let cipher_end = (HEADER_LEN as u64 + (last + 1) * cbs).min(cipher_len);
        CIPHER_BUF.with_borrow_mut(|cipher| -> io::Result<()> {
            cipher.clear();
            cipher.resize((cipher_end - cipher_start) as usize, 0);
            self.file.read_exact_at(cipher, cipher_start)?;
            self.crypto
                .decrypt_blocks_into(first, &id, cipher, out)
                .map_err(|e| corrupt(format!("block {} does not authenticate", e.block_no)))
        })?;
        let skip = (offset - first * PLAIN_BS as u64) as usize;
        let take = ((end - offset) as usize).min(out.len().saturating_sub(skip));
        out.truncate(skip + take);
        out.drain(..skip);
        Ok(())
    }

    pub fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let cipher_len = self.cipher_len()?;
        let id = match self.file_id(cipher_len)? {
            Some(id) => id,
            None => {
                // First write, or a file holding only a header: start with a fresh ID.
                let (id, header) = content::new_header()?;
                // Not on an empty file: that would free space fallocate reserved.
                if cipher_len > 0 {
                    self.file.set_len(0)?;
                }
                self.file.write_all_at(&header, 0)?;
                id
            }
        };
        let plain_size = self.crypto.cipher_to_plain_size(cipher_len);
        let bs = PLAIN_BS as u64;
        let first = offset / bs;
        // Writing past a short last block: it becomes a full block of zeros-padded data
        // first, or it would read back short. Blocks in between stay holes.
        if offset > plain_size && !plain_size.is_multiple_of(bs) && first > plain_size / bs {
            let last_block = plain_size / bs;
            let mut padded = self.read_at(last_block * bs, PLAIN_BS)?;
            padded.resize(PLAIN_BS, 0);
            self.write_blocks(last_block, &id, &padded)?;
        }
        let region_start = first * bs;
        let end = offset + data.len() as u64;
        let last = (end - 1) / bs;
        let existing_end = plain_size.min((last + 1) * bs);
        let mut region = if existing_end > region_start {
            self.read_at(region_start, (existing_end - region_start) as usize)?
        } else {
            Vec::new()
        };
        region.resize(region.len().max((end - region_start) as usize), 0);
        let at = (offset - region_start) as usize;
        region[at..at + data.len()].copy_from_slice(data);
        self.write_blocks(first, &id, &region)
    }

    fn write_blocks(&self, first_block: u64, id: &FileId, plain: &[u8]) -> io::Result<()> {
        CIPHER_BUF.with_borrow_mut(|cipher| {
            self.crypto.encrypt_blocks_into(first_block, id, plain, cipher)?;
            let at = HEADER_LEN as u64 + first_block * self.crypto.cipher_bs() as u64;
            if self.preallocate {
                // Best effort: filesystems without fallocate simply skip it.
                let _ =
                    rustix::fs::fallocate(self.file, rustix::fs::FallocateFlags::KEEP_SIZE, at, cipher.len() as u64);
            }
            self.file.write_all_at(cipher, at)
        })
    }

    /// Grows the file as gocryptfs does, so that both leave the same blocks and holes
    /// (what SEEK_DATA, SEEK_HOLE and st_blocks show): the old last block is padded
    /// with zeros, whole blocks in between stay holes, and a new size on a block
    /// boundary is reached by extending the cipher file (its last block a hole, which
    /// reads as zeros) rather than by writing that block.
    fn grow(&self, old_size: u64, new_size: u64) -> io::Result<()> {
        let bs = PLAIN_BS as u64;
        let same_block = old_size > 0 && (old_size - 1) / bs == (new_size - 1) / bs;
        if same_block || !new_size.is_multiple_of(bs) {
            // Writing the last byte pads the old last block on the way.
            return self.write_at(new_size - 1, &[0]);
        }
        if !old_size.is_multiple_of(bs) {
            self.write_at(old_size, &vec![0; (bs - old_size % bs) as usize])?;
        }
        if old_size == 0 {
            // Over whatever is there (nothing, or a header without blocks), without
            // truncating: that would free space fallocate reserved.
            let (_, header) = content::new_header()?;
            self.file.write_all_at(&header, 0)?;
        }
        self.file.set_len(HEADER_LEN as u64 + new_size / bs * self.crypto.cipher_bs() as u64)
    }

    pub fn truncate(&self, new_size: u64) -> io::Result<()> {
        let plain_size = self.plain_size()?;
        if new_size == plain_size {
            return Ok(());
        }
        if new_size == 0 {
            return self.file.set_len(0);
        }
        if new_size > plain_size {
            return self.grow(plain_size, new_size);
        }
        let bs = PLAIN_BS as u64;
        let (block, keep) = (new_size / bs, new_size % bs);
        let cut = HEADER_LEN as u64 + block * self.crypto.cipher_bs() as u64;
        if keep == 0 {
            return self.file.set_len(cut);
        }
        let tail = self.read_at(block * bs, keep as usize)?;
        self.file.set_len(cut)?;
        self.write_at(block * bs, &tail)
    }
}
