//! Reverse mode derives every IV from the encrypted path instead of drawing it at
//! random: the same plaintext tree always encrypts to the same bytes, which is what
//! makes an rsync of the view incremental. AES-SIV keeps this safe (a repeated nonce
//! only reveals that the same block was encrypted twice).
//!
//! value = SHA-256(cipher path ‖ 0x00 ‖ purpose)[0..16]; the cipher path is relative to
//! the mount root, without a leading slash ("" for the root).

use sha2::{Digest, Sha256};

pub type Iv16 = [u8; 16];

/// What a derived value is used for; its name is mixed into the hash.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    DirIv,
    FileId,
    Block0Iv,
    SymlinkIv,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::DirIv => b"DIRIV",
            Purpose::FileId => b"FILEID",
            Purpose::Block0Iv => b"BLOCK0IV",
            Purpose::SymlinkIv => b"SYMLINKIV",
        }
    }
}

pub fn derive(cipher_path: &[u8], purpose: Purpose) -> Iv16 {
    let mut hash = Sha256::new();
    hash.update(cipher_path);
    // NUL cannot occur in a path, so no two (path, purpose) pairs hash the same input.
    hash.update([0u8]);
    hash.update(purpose.label());
    hash.finalize()[..16].try_into().expect("SHA-256 is 32 bytes")
}

/// The two values a file's content needs: its header ID and the nonce of block 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileIvs {
    pub id: Iv16,
    pub block0: Iv16,
}

pub fn file_ivs(cipher_path: &[u8]) -> FileIvs {
    FileIvs { id: derive(cipher_path, Purpose::FileId), block0: derive(cipher_path, Purpose::Block0Iv) }
}

/// The nonce of block `block_no`: block 0's nonce with the block number added to its
/// second half, read as a big-endian integer (wrapping, as unsigned overflow does).
pub fn block_iv(block0: &Iv16, block_no: u64) -> Iv16 {
    let mut iv = *block0;
    let low = u64::from_be_bytes(iv[8..].try_into().unwrap()).wrapping_add(block_no);
    iv[8..].copy_from_slice(&low.to_be_bytes());
    iv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ivs_count_up_in_the_second_half_and_wrap() {
        let mut b0 = [0u8; 16];
        b0[7] = 9;
        b0[8..].copy_from_slice(&u64::MAX.to_be_bytes());
        let iv = block_iv(&b0, 2);
        assert_eq!(iv[..8], b0[..8], "the first half never changes");
        assert_eq!(u64::from_be_bytes(iv[8..].try_into().unwrap()), 1);
        assert_eq!(block_iv(&b0, 0), b0);
    }

    #[test]
    fn purposes_and_paths_give_different_values() {
        let a = derive(b"dir/file", Purpose::FileId);
        assert_ne!(a, derive(b"dir/file", Purpose::Block0Iv));
        assert_ne!(a, derive(b"dir/filf", Purpose::FileId));
        // The same input hashed by hand.
        let manual: [u8; 32] = Sha256::digest(b"dir/file\0FILEID").into();
        assert_eq!(a, manual[..16]);
    }
}
