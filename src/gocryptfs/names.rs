//! File names: PKCS#7-padded, EME-encrypted with the directory's IV as tweak, base64url;
//! names whose encoding is too long are stored as `gocryptfs.longname.<sha256>` with the
//! full encrypted name in a `.name` file beside it.

use crate::crypto::eme::Eme;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

pub const DIRIV_NAME: &str = "gocryptfs.diriv";
pub const DIRIV_LEN: usize = 16;
pub const LONGNAME_PREFIX: &str = "gocryptfs.longname.";
pub const LONGNAME_SUFFIX: &str = ".name";
/// Longest plaintext name (NAME_MAX).
pub const NAME_MAX: usize = 255;
/// The tweak gocryptfs uses for xattr names.
const XATTR_TWEAK: &[u8; 16] = b"xattr_name_iv_xx";
pub const XATTR_PREFIX: &str = "user.gocryptfs.";

pub type DirIv = [u8; DIRIV_LEN];

#[derive(Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty, `.`/`..`, contains `/` or NUL.
    Invalid,
    /// Longer than 255 bytes.
    TooLong,
    /// Not strict base64, wrong length, bad padding: not a name we wrote.
    Undecryptable,
}

/// How one plaintext name is stored on disk.
#[derive(Debug, PartialEq, Eq)]
pub enum DiskName {
    /// The encrypted name is the file name.
    Short(String),
    /// The file name is `hashed`; `full` goes into `<hashed>.name`.
    Long { hashed: String, full: String },
}

impl DiskName {
    pub fn file_name(&self) -> &str {
        match self {
            DiskName::Short(name) | DiskName::Long { hashed: name, .. } => name,
        }
    }
}

/// Name encryption of one filesystem; `None` EME means plaintext names.
pub struct NameCrypto {
    eme: Option<Eme>,
    raw64: bool,
    long_names: bool,
    long_name_max: usize,
}

impl NameCrypto {
    pub fn new(eme: Option<Eme>, raw64: bool, long_names: bool, long_name_max: usize) -> Self {
        NameCrypto { eme, raw64, long_names, long_name_max }
    }

    pub fn plaintext(&self) -> bool {
        self.eme.is_none()
    }

    pub fn encode(&self, bytes: &[u8]) -> String {
        if self.raw64 { URL_SAFE_NO_PAD.encode(bytes) } else { URL_SAFE.encode(bytes) }
    }

    /// Strict: rejects non-zero trailing bits, wrong padding, CR/LF.
    pub fn decode(&self, text: &str) -> Result<Vec<u8>, NameError> {
        let decoded = if self.raw64 { URL_SAFE_NO_PAD.decode(text) } else { URL_SAFE.decode(text) };
        decoded.map_err(|_| NameError::Undecryptable)
    }

    /// The on-disk name of `plain` in a directory with IV `iv`.
    pub fn encrypt(&self, plain: &[u8], iv: &DirIv) -> Result<DiskName, NameError> {
        check_plain_name(plain)?;
        let Some(eme) = &self.eme else {
            return Ok(DiskName::Short(String::from_utf8_lossy(plain).into_owned()));
        };
        let sealed = eme.encrypt(iv, &pad16(plain)).expect("a padded name of <= 256 bytes fits EME");
        let encoded = self.encode(&sealed);
        if self.long_names && encoded.len() > self.long_name_max {
            let hashed = format!("{LONGNAME_PREFIX}{}", self.encode(&Sha256::digest(encoded.as_bytes())));
            return Ok(DiskName::Long { hashed, full: encoded });
        }
        Ok(DiskName::Short(encoded))
    }

    /// The plaintext of an encrypted name (for a long name: the `.name` content).
    pub fn decrypt(&self, encoded: &str, iv: &DirIv) -> Result<Vec<u8>, NameError> {
        let Some(eme) = &self.eme else {
            return Ok(encoded.as_bytes().to_vec());
        };
        let sealed = self.decode(encoded)?;
        if sealed.is_empty() || sealed.len() % 16 != 0 {
            return Err(NameError::Undecryptable);
        }
        let padded = eme.decrypt(iv, &sealed).map_err(|_| NameError::Undecryptable)?;
        let plain = unpad16(&padded)?;
        check_plain_name(&plain).map_err(|_| NameError::Undecryptable)?;
        Ok(plain)
    }

    pub fn encrypt_xattr_name(&self, name: &[u8]) -> Result<String, NameError> {
        let eme = self.eme.as_ref().ok_or(NameError::Invalid)?;
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(NameError::Invalid);
        }
        let sealed = eme.encrypt(XATTR_TWEAK, &pad16(name)).expect("xattr names fit EME");
        Ok(format!("{XATTR_PREFIX}{}", self.encode(&sealed)))
    }

    pub fn decrypt_xattr_name(&self, stored: &str) -> Result<Vec<u8>, NameError> {
        let eme = self.eme.as_ref().ok_or(NameError::Invalid)?;
        let encoded = stored.strip_prefix(XATTR_PREFIX).ok_or(NameError::Undecryptable)?;
        let sealed = self.decode(encoded)?;
        let padded = eme.decrypt(XATTR_TWEAK, &sealed).map_err(|_| NameError::Undecryptable)?;
        unpad16(&padded)
    }
}

/// True for the names gocryptfs itself keeps in a directory.
pub fn is_long_name_file(name: &str) -> bool {
    name.starts_with(LONGNAME_PREFIX) && name.ends_with(LONGNAME_SUFFIX)
}

pub fn is_hashed_long_name(name: &str) -> bool {
    name.starts_with(LONGNAME_PREFIX) && !name.ends_with(LONGNAME_SUFFIX)
}

fn check_plain_name(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
        return Err(NameError::Invalid);
    }
    if name.len() > NAME_MAX {
        return Err(NameError::TooLong);
    }
    Ok(())
}

/// PKCS#7 to a multiple of 16: always 1..=16 pad bytes.
pub fn pad16(plain: &[u8]) -> Vec<u8> {
    let pad = 16 - plain.len() % 16;
    let mut out = Vec::with_capacity(plain.len() + pad);
    out.extend_from_slice(plain);
    out.resize(plain.len() + pad, pad as u8);
    out
}

/// Strict PKCS#7 removal: 1..=16 equal pad bytes, and something left before them.
pub fn unpad16(padded: &[u8]) -> Result<Vec<u8>, NameError> {
    let pad = *padded.last().ok_or(NameError::Undecryptable)? as usize;
    if pad == 0 || pad > 16 || pad >= padded.len() || !padded.len().is_multiple_of(16) {
        return Err(NameError::Undecryptable);
    }
    let (plain, padding) = padded.split_at(padded.len() - pad);
    if padding.iter().any(|&b| b as usize != pad) {
        return Err(NameError::Undecryptable);
    }
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw64: bool) -> NameCrypto {
        NameCrypto::new(Some(Eme::new(&[9; 32])), raw64, true, 255)
    }

    #[test]
    fn padding_is_pkcs7_and_strict() {
        assert_eq!(pad16(b"abc").len(), 16);
        assert_eq!(pad16(&[1; 16]), [[1u8; 16], [16u8; 16]].concat());
        assert_eq!(unpad16(&pad16(b"abc")).unwrap(), b"abc");
        assert!(unpad16(&[16u8; 16]).is_err(), "nothing left before the padding");
        let mut bad = pad16(b"abc");
        bad[10] = 3;
        assert!(unpad16(&bad).is_err());
    }

    #[test]
    fn names_round_trip_and_long_ones_are_hashed_at_176_bytes() {
        let n = names(true);
        let iv = [1u8; 16];
        for name in ["a", "status.txt", "ünïcødé ✓", &"x".repeat(175)] {
            let disk = n.encrypt(name.as_bytes(), &iv).unwrap();
            let DiskName::Short(enc) = disk else { panic!("{name} should be short") };
            assert!(enc.len() <= 255);
            assert_eq!(n.decrypt(&enc, &iv).unwrap(), name.as_bytes());
        }
        let DiskName::Long { hashed, full } = n.encrypt("x".repeat(176).as_bytes(), &iv).unwrap() else {
            panic!("176 bytes must be hashed")
        };
        assert!(hashed.starts_with(LONGNAME_PREFIX) && hashed.len() == LONGNAME_PREFIX.len() + 43);
        assert_eq!(n.decrypt(&full, &iv).unwrap(), "x".repeat(176).as_bytes());
    }

    #[test]
    fn invalid_names_are_refused() {
        let n = names(true);
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
            assert_eq!(n.encrypt(bad, &[0; 16]), Err(NameError::Invalid));
        }
        assert_eq!(n.encrypt(&[b'x'; 256], &[0; 16]), Err(NameError::TooLong));
        assert_eq!(n.decrypt("not base64!", &[0; 16]), Err(NameError::Undecryptable));
    }

    #[test]
    fn xattr_names_round_trip() {
        let n = names(false);
        let stored = n.encrypt_xattr_name(b"user.comment").unwrap();
        assert!(stored.starts_with(XATTR_PREFIX));
        assert_eq!(n.decrypt_xattr_name(&stored).unwrap(), b"user.comment");
    }
}
