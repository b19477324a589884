//! Names in the reverse view: plaintext names are encrypted with a directory IV
//! derived from the directory's encrypted path; a hashed long name is mapped back by
//! encrypting the long entries of the plaintext directory until one hashes to it
//! (there is no `.name` file on disk to read it from).

use super::backing::Backing;
use super::pathiv::{self, Purpose};
use crate::gocryptfs::Volume;
use crate::gocryptfs::names::{DiskName, LONGNAME_SUFFIX, NameError, is_hashed_long_name, is_long_name_file};
use rustix::io::Errno;
use std::sync::Arc;

pub struct ReverseNames {
    pub volume: Arc<Volume>,
    pub backing: Arc<Backing>,
    /// Names in the clear (and symlink targets too).
    pub plaintext: bool,
    /// All-zero directory IVs and no `gocryptfs.diriv` files.
    pub deterministic: bool,
    /// Plaintext names up to this long never hash: only longer entries need to be
    /// tried when resolving a long name.
    short_name_max: usize,
}

/// Joins a relative path and a name ("" is the root).
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        return name.to_vec();
    }
    let mut out = Vec::with_capacity(dir.len() + 1 + name.len());
    out.extend_from_slice(dir);
    out.push(b'/');
    out.extend_from_slice(name);
    out
}

impl ReverseNames {
    pub fn new(volume: Arc<Volume>, backing: Arc<Backing>, deterministic: bool) -> Self {
        let plaintext = volume.names.plaintext();
        // base64 grows 3 bytes into 4 and padding rounds up to 16: the longest plaintext
        // whose encrypted name still fits the limit.
        let quarter = volume.format.long_name_max * 3 / 4;
        let short_name_max = (quarter - quarter % 16).saturating_sub(1);
        ReverseNames { volume, backing, plaintext, deterministic, short_name_max }
    }

    /// The IV of the directory at `cipher_dir` (its path in the view).
    pub fn dir_iv(&self, cipher_dir: &[u8]) -> [u8; 16] {
        if self.deterministic { [0; 16] } else { pathiv::derive(cipher_dir, Purpose::DirIv) }
    }

    /// The name of `plain` in the view of the directory at `cipher_dir`.
    pub fn encrypt_name(&self, plain: &[u8], cipher_dir: &[u8]) -> Result<DiskName, NameError> {
        self.volume.names.encrypt(plain, &self.dir_iv(cipher_dir))
    }

    /// The plaintext name behind `cipher_name`, in the directory whose view path is
    /// `cipher_dir` and plaintext path is `plain_dir`. Names that do not decrypt do not
    /// exist (ENOENT), as the names tools probe (`.Trash`…) never decrypt.
    pub fn decrypt_name(&self, cipher_name: &str, cipher_dir: &[u8], plain_dir: &[u8]) -> Result<Vec<u8>, Errno> {
        if self.plaintext {
            return Ok(cipher_name.as_bytes().to_vec());
        }
        if is_long_name_file(cipher_name) {
            // A virtual file: it has no plaintext name.
            return Err(Errno::INVAL);
        }
        let iv = self.dir_iv(cipher_dir);
        if is_hashed_long_name(cipher_name) {
            return self.find_long_name(plain_dir, &iv, cipher_name).map(|(plain, _)| plain);
        }
        self.volume.names.decrypt(cipher_name, &iv).map_err(|_| Errno::NOENT)
    }

    /// The plaintext entry of `plain_dir` whose hashed name is `hashed` (with or
    /// without the `.name` suffix), and its full encrypted name.
    pub fn find_long_name(&self, plain_dir: &[u8], iv: &[u8; 16], hashed: &str) -> Result<(Vec<u8>, String), Errno> {
        let hashed = hashed.strip_suffix(LONGNAME_SUFFIX).unwrap_or(hashed);
        let entries = self.backing.list(plain_dir).map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
        for entry in entries {
            if entry.name.len() <= self.short_name_max {
                continue;
            }
            if let Ok(DiskName::Long { hashed: h, full }) = self.volume.names.encrypt(&entry.name, iv)
                && h == hashed
            {
                return Ok((entry.name, full));
            }
        }
        Err(Errno::NOENT)
    }

    /// A view path to its plaintext path, component by component.
    pub fn decrypt_path(&self, cipher_path: &str) -> Result<Vec<u8>, Errno> {
        if self.plaintext || cipher_path.is_empty() {
            return Ok(cipher_path.as_bytes().to_vec());
        }
        let mut cipher_dir = Vec::new();
        let mut plain_dir = Vec::new();
        for part in cipher_path.split('/') {
            let plain = self.decrypt_name(part, &cipher_dir, &plain_dir)?;
            cipher_dir = join(&cipher_dir, part.as_bytes());
            plain_dir = join(&plain_dir, &plain);
        }
        Ok(plain_dir)
    }

    /// A plaintext path to its view path (whether or not it exists).
    pub fn encrypt_path(&self, plain_path: &[u8]) -> Result<String, Errno> {
        if self.plaintext || plain_path.is_empty() {
            return Ok(String::from_utf8_lossy(plain_path).into_owned());
        }
        let mut cipher_dir = Vec::new();
        for part in plain_path.split(|&b| b == b'/') {
            let name = self.encrypt_name(part, &cipher_dir).map_err(|e| match e {
                NameError::TooLong => Errno::NAMETOOLONG,
                _ => Errno::INVAL,
            })?;
            cipher_dir = join(&cipher_dir, name.file_name().as_bytes());
        }
        Ok(String::from_utf8(cipher_dir).expect("encrypted names are base64"))
    }
}
