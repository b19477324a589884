//! Wipes the key sevenz-rust2 caches.
//!
//! To spare a second 2^19-round derivation when an archive's header and data share a
//! password, sevenz-rust2 keeps the last key it derived from a password, with a hash of
//! that password, in a static (`KEY_CACHE` in its `encryption/aes.rs`). It never wipes
//! it, so the key of the last archive read would stay in memory until the process ends.
//! The crate offers no way to clear it; the only thing that changes it is another
//! derivation, which overwrites it in place. [`forget`] has the crate open a tiny
//! archive, made here, whose header is encrypted under a throwaway password with one
//! SHA-256 round: the cache then holds that key, which protects nothing.

use super::aes_writer::{ArchiveKey, METHOD_ID};
use super::header_writer::{Coder, Folder, SubStream, encoded_header, header, signature_header};
use crate::secret::SecretBuf;
use sevenz_rust2::{ArchiveReader, Password};
use std::io::{self, Cursor, Write};

/// What the throwaway archive is encrypted with; it guards nothing.
const THROWAWAY_PASSWORD: &str = "armorbox: no secret";

/// Replaces the key in sevenz-rust2's cache with a throwaway one. Call it once an
/// archive opened with a password is done with (or failed to open).
pub fn forget() {
    // Nothing to report if it fails: it only fails if memory or randomness does.
    if let Ok(archive) = throwaway_archive() {
        let _ = ArchiveReader::new(Cursor::new(archive), Password::from(THROWAWAY_PASSWORD));
    }
}

/// An empty 7z archive whose header is encrypted with 7zAES under the throwaway
/// password, with one round of key derivation (cycles power 0) instead of 2^19.
fn throwaway_archive() -> io::Result<Vec<u8>> {
    let key = ArchiveKey::derive(&SecretBuf::from_slice(THROWAWAY_PASSWORD.as_bytes()), 0)?;
    let plain = header(&[], &[]);
    let (mut writer, properties) = key.encrypt(Vec::new())?;
    writer.write_all(&plain)?;
    let (packed, unpacked_len) = writer.finish()?;
    let folder = Folder {
        coders: vec![Coder { id: METHOD_ID, properties }],
        unpack_sizes: vec![unpacked_len],
        packed_size: packed.len() as u64,
        sub_streams: vec![SubStream { size: unpacked_len, crc: crc32fast::hash(&plain) }],
    };
    let next_header = encoded_header(0, &folder);
    let mut archive = signature_header(packed.len() as u64, &next_header).to_vec();
    archive.extend_from_slice(&packed);
    archive.extend_from_slice(&next_header);
    Ok(archive)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `forget` only works if the crate derives a key for the throwaway archive: it
    /// opens only with the throwaway password, which it must have derived a key from.
    #[test]
    fn the_throwaway_archive_opens_only_through_the_key_derivation() {
        let archive = throwaway_archive().unwrap();
        let opened = ArchiveReader::new(Cursor::new(archive.clone()), Password::from(THROWAWAY_PASSWORD));
        assert_eq!(opened.expect("opens with its password").archive().files.len(), 0);
        let wrong = ArchiveReader::new(Cursor::new(archive.clone()), Password::from("another"));
        assert!(wrong.is_err(), "opened with the wrong password");
        let none = ArchiveReader::new(Cursor::new(archive), Password::empty());
        assert!(matches!(none, Err(sevenz_rust2::Error::PasswordRequired)));
    }
}
