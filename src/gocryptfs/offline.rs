//! Reading a cipher directory without mounting it: the directory IV, the decrypted
//! listing (long names resolved, gocryptfs's own files hidden), file contents and
//! symlink targets. `-fsck` and the tests build on it.

use super::content::{self, HEADER_LEN};
use super::names::{DIRIV_NAME, DirIv, LONGNAME_SUFFIX, is_hashed_long_name, is_long_name_file};
use super::volume::Volume;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One decrypted directory entry.
#[derive(Debug)]
pub struct Entry {
    pub plain_name: Vec<u8>,
    pub cipher_path: PathBuf,
    pub file_type: fs::FileType,
}

/// What a directory listing could not decrypt: gocryptfs hides such names, an fsck
/// reports them.
#[derive(Debug)]
pub struct Undecryptable {
    pub cipher_path: PathBuf,
    pub why: String,
}

/// A file, link or directory whose content does not decrypt.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// Header bad or a block inauthentic (its number).
    Corrupt(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// The IV of a cipher directory.
pub fn dir_iv(volume: &Volume, dir: &Path) -> Result<DirIv, ReadError> {
    if !volume.format.dir_iv || volume.names.plaintext() {
        return Ok([0; 16]);
    }
    let bytes = fs::read(dir.join(DIRIV_NAME))?;
    volume.dir_iv(Some(&bytes)).ok_or_else(|| ReadError::Corrupt(format!("{}: bad {DIRIV_NAME}", dir.display())))
}

/// Lists a cipher directory in plaintext; names that fail to decrypt come back apart.
pub fn list(volume: &Volume, dir: &Path, is_root: bool) -> Result<(Vec<Entry>, Vec<Undecryptable>), ReadError> {
    let iv = dir_iv(volume, dir)?;
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let Some(name) = name.to_str().map(str::to_owned) else {
            bad.push(Undecryptable { cipher_path: item.path(), why: "not an encrypted name".into() });
            continue;
        };
        if is_internal(volume, &name, is_root) {
            continue;
        }
        let encoded = if !volume.names.plaintext() && is_hashed_long_name(&name) {
            match fs::read(dir.join(format!("{name}{LONGNAME_SUFFIX}"))) {
                Ok(full) => String::from_utf8_lossy(&full).into_owned(),
                Err(e) => {
                    bad.push(Undecryptable { cipher_path: item.path(), why: format!("its .name file: {e}") });
                    continue;
                }
            }
        } else {
            name.clone()
        };
        match volume.names.decrypt(&encoded, &iv) {
            Ok(plain_name) => {
                entries.push(Entry { plain_name, cipher_path: item.path(), file_type: item.file_type()? })
            }
            Err(e) => bad.push(Undecryptable { cipher_path: item.path(), why: format!("{e:?}") }),
        }
    }
    entries.sort_by(|a, b| a.plain_name.cmp(&b.plain_name));
    Ok((entries, bad))
}

/// gocryptfs's own files, never shown in a listing.
fn is_internal(volume: &Volume, name: &str, is_root: bool) -> bool {
    if is_root && name == super::config::FILE_NAME {
        return true;
    }
    if volume.names.plaintext() {
        return false;
    }
    name == DIRIV_NAME || is_long_name_file(name)
}

/// The plaintext of a regular cipher file.
pub fn read_file(volume: &Volume, path: &Path) -> Result<Vec<u8>, ReadError> {
    let cipher = fs::read(path)?;
    if cipher.len() <= HEADER_LEN {
        return Ok(Vec::new());
    }
    let id = content::parse_header(&cipher)
        .map_err(|e| ReadError::Corrupt(format!("{}: bad file header ({e:?})", path.display())))?;
    volume
        .content
        .decrypt_blocks(0, &id, &cipher[HEADER_LEN..])
        .map_err(|e| ReadError::Corrupt(format!("{}: block {} is corrupt", path.display(), e.block_no)))
}

/// Checks that every block of a cipher file authenticates, reading it a bounded run
/// of blocks at a time (memory stays the same for any file size); returns the plain
/// size. Holes are skipped with `SEEK_DATA`/`SEEK_HOLE`: a block wholly inside one
/// reads as zeros, which is how gocryptfs stores a hole, so a sparse terabyte file is
/// checked in the time its data takes, as gocryptfs's fsck does.
pub fn check_file(volume: &Volume, path: &Path) -> Result<u64, ReadError> {
    const BLOCKS_PER_READ: u64 = 256;
    let file = fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut header = [0u8; HEADER_LEN];
    if read_at_up_to(&file, &mut header, 0)? < HEADER_LEN {
        return Ok(0); // empty (or shorter than a header, which read_file also reads as empty)
    }
    let id = content::parse_header(&header)
        .map_err(|e| ReadError::Corrupt(format!("{}: bad file header ({e:?})", path.display())))?;
    let cipher_bs = volume.content.cipher_bs() as u64;
    let header_len = HEADER_LEN as u64;
    let blocks = (size - header_len).div_ceil(cipher_bs);
    let mut cipher = vec![0u8; (cipher_bs * BLOCKS_PER_READ) as usize];
    let mut plain = Vec::new();
    let mut block = 0u64;
    while block < blocks {
        let Some((data, hole)) = next_data(&file, header_len + block * cipher_bs, size)? else { break };
        // Every block that overlaps [data, hole) is read whole, zeros of a partial
        // hole included.
        let first = (data - header_len) / cipher_bs;
        let end = (hole - header_len).div_ceil(cipher_bs).min(blocks);
        block = first.max(block);
        while block < end {
            let run = (end - block).min(BLOCKS_PER_READ);
            let want = &mut cipher[..(run * cipher_bs) as usize];
            let n = read_at_up_to(&file, want, header_len + block * cipher_bs)?;
            volume
                .content
                .decrypt_blocks_into(block, &id, &want[..n], &mut plain)
                .map_err(|e| ReadError::Corrupt(format!("{}: block {} is corrupt", path.display(), e.block_no)))?;
            block += run;
        }
    }
    Ok(volume.content.cipher_to_plain_size(size))
}

/// The next data region at or after `from` as `(start, end)`, `None` if only a hole
/// remains. A filesystem without hole support reports the whole file as data.
fn next_data(file: &fs::File, from: u64, size: u64) -> io::Result<Option<(u64, u64)>> {
    use rustix::fs::{SeekFrom, seek};
    let data = match seek(file, SeekFrom::Data(from)) {
        Ok(at) => at,
        Err(rustix::io::Errno::NXIO) => return Ok(None),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::OPNOTSUPP) => from,
        Err(e) => return Err(e.into()),
    };
    let hole = seek(file, SeekFrom::Hole(data)).unwrap_or(size).min(size);
    Ok((data < size).then_some((data, hole.max(data + 1))))
}

/// Fills `buf` from `offset` as far as the file goes.
fn read_at_up_to(file: &fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The plaintext target of a cipher symlink.
pub fn read_link(volume: &Volume, path: &Path) -> Result<Vec<u8>, ReadError> {
    let stored = fs::read_link(path)?;
    volume
        .decrypt_link_target(stored.as_os_str().as_bytes())
        .ok_or_else(|| ReadError::Corrupt(format!("{}: symlink target does not decrypt", path.display())))
}
