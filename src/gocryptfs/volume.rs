//! A filesystem's format with its keys: what every file and name operation needs.

use super::content::ContentCrypto;
use super::features::{ContentAlgorithm, Format};
use super::names::{DIRIV_LEN, DirIv, NameCrypto};
use crate::crypto::aead::BlockAead;
use crate::crypto::eme::Eme;
use crate::crypto::kdf::{hkdf_sha256, hkdf_sha256_key};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

const INFO_GCM: &str = "AES-GCM file content encryption";
const INFO_EME: &str = "EME filename encryption";
const INFO_SIV: &str = "AES-SIV file content encryption";
const INFO_XCHACHA: &str = "XChaCha20-Poly1305 file content encryption";

pub struct Volume {
    pub format: Format,
    pub content: ContentCrypto,
    pub names: NameCrypto,
}

impl Volume {
    /// Derives the content and name keys from the master key as the format says.
    pub fn new(format: Format, master_key: &[u8; 32]) -> Self {
        let content_aead = match (format.content, format.hkdf) {
            (ContentAlgorithm::AesGcm, true) => BlockAead::aes_gcm(&hkdf_sha256_key(master_key, INFO_GCM)),
            (ContentAlgorithm::AesGcm, false) => BlockAead::aes_gcm(master_key),
            (ContentAlgorithm::AesSiv, hkdf) => {
                let mut key = Zeroizing::new([0u8; 64]);
                if hkdf {
                    hkdf_sha256(master_key, INFO_SIV, key.as_mut_slice());
                } else {
                    key.copy_from_slice(&Sha512::digest(master_key));
                }
                BlockAead::aes_siv(&key)
            }
            // XChaCha always comes with HKDF (the config validation enforces it).
            (ContentAlgorithm::XChaCha20Poly1305, _) => {
                BlockAead::xchacha20_poly1305(&hkdf_sha256_key(master_key, INFO_XCHACHA))
            }
        };
        let eme = (!format.plaintext_names)
            .then(|| if format.hkdf { Eme::new(&hkdf_sha256_key(master_key, INFO_EME)) } else { Eme::new(master_key) });
        let names = NameCrypto::new(eme, format.raw64, format.long_names, format.long_name_max);
        Volume { content: ContentCrypto::new(content_aead), names, format }
    }

    /// The IV of a directory from its `gocryptfs.diriv` bytes (all zeros without DirIV).
    pub fn dir_iv(&self, diriv_file: Option<&[u8]>) -> Option<DirIv> {
        if !self.format.dir_iv {
            return Some([0; DIRIV_LEN]);
        }
        let iv: DirIv = diriv_file?.try_into().ok()?;
        (iv != [0; DIRIV_LEN]).then_some(iv)
    }

    /// A symlink's target as stored (encrypted and encoded unless plaintext names).
    pub fn encrypt_link_target(&self, target: &[u8]) -> std::io::Result<Vec<u8>> {
        if self.names.plaintext() || target.is_empty() {
            return Ok(target.to_vec());
        }
        Ok(self.names.encode(&self.content.encrypt_standalone(target)?).into_bytes())
    }

    pub fn decrypt_link_target(&self, stored: &[u8]) -> Option<Vec<u8>> {
        if self.names.plaintext() || stored.is_empty() {
            return Some(stored.to_vec());
        }
        let sealed = self.names.decode(std::str::from_utf8(stored).ok()?).ok()?;
        self.content.decrypt_standalone(&sealed).ok()
    }
}
