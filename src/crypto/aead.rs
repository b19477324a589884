//! Authenticated encryption of one block, in the three layouts gocryptfs writes:
//!
//! | cipher | layout |
//! |---|---|
//! | AES-256-GCM, 128-bit nonce (or 96-bit for legacy key wrap) | `nonce ‖ ciphertext ‖ tag` |
//! | AES-SIV-512 | `nonce ‖ SIV ‖ ciphertext` (the nonce is the last associated-data item) |
//! | XChaCha20-Poly1305 | `nonce[24] ‖ ciphertext ‖ tag` |
//!
//! The caller supplies the nonce (random for each write), so a batch of blocks can take
//! its nonces from one getrandom call and be sealed in parallel.

use aes::Aes256;
use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_siv::siv::Aes256Siv;
use chacha20poly1305::XChaCha20Poly1305;
use zeroize::Zeroizing;

pub const TAG_LEN: usize = 16;

/// Authentication failed: wrong key, or the block was changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Inauthentic;

/// Which AEAD, with its key schedule.
pub enum BlockAead {
    AesGcm128BitNonce(Box<AesGcm<Aes256, U16>>),
    AesGcm96BitNonce(Box<AesGcm<Aes256, U12>>),
    /// The 64-byte key; AES-SIV's API needs a fresh instance per operation.
    AesSiv(Zeroizing<[u8; 64]>),
    XChaCha20Poly1305(Box<XChaCha20Poly1305>),
}

impl BlockAead {
    pub fn aes_gcm(key: &[u8; 32]) -> Self {
        BlockAead::AesGcm128BitNonce(Box::new(AesGcm::new(key.into())))
    }

    /// GCM with the standard 96-bit nonce: only gocryptfs configs without HKDF use it.
    pub fn aes_gcm_96bit_nonce(key: &[u8; 32]) -> Self {
        BlockAead::AesGcm96BitNonce(Box::new(AesGcm::new(key.into())))
    }

    pub fn aes_siv(key: &[u8; 64]) -> Self {
        BlockAead::AesSiv(Zeroizing::new(*key))
    }

    pub fn xchacha20_poly1305(key: &[u8; 32]) -> Self {
        BlockAead::XChaCha20Poly1305(Box::new(XChaCha20Poly1305::new(key.into())))
    }

    pub fn nonce_len(&self) -> usize {
        match self {
            BlockAead::AesGcm128BitNonce(_) | BlockAead::AesSiv(_) => 16,
            BlockAead::AesGcm96BitNonce(_) => 12,
            BlockAead::XChaCha20Poly1305(_) => 24,
        }
    }

    /// Bytes a sealed block has beyond its plaintext.
    pub fn overhead(&self) -> usize {
        self.nonce_len() + TAG_LEN
    }

    /// Seals `plain` into `out` (exactly `plain.len() + overhead()` bytes).
    pub fn seal_into(&self, nonce: &[u8], aad: &[u8], plain: &[u8], out: &mut [u8]) {
        let n = self.nonce_len();
        assert_eq!(nonce.len(), n, "nonce length");
        assert_eq!(out.len(), plain.len() + self.overhead(), "sealed block length");
        out[..n].copy_from_slice(nonce);
        match self {
            BlockAead::AesSiv(key) => {
                let (siv, body) = out[n..].split_at_mut(TAG_LEN);
                body.copy_from_slice(plain);
                let tag = Aes256Siv::new((&**key).into())
                    .encrypt_inout_detached([aad, nonce], body.into())
                    .expect("AES-SIV accepts two associated-data items");
                siv.copy_from_slice(&tag);
            }
            _ => {
                let (body, tag_out) = out[n..].split_at_mut(plain.len());
                body.copy_from_slice(plain);
                let tag = match self {
                    BlockAead::AesGcm128BitNonce(c) => {
                        c.encrypt_inout_detached(nonce.try_into().unwrap(), aad, body.into())
                    }
                    BlockAead::AesGcm96BitNonce(c) => {
                        c.encrypt_inout_detached(nonce.try_into().unwrap(), aad, body.into())
                    }
                    BlockAead::XChaCha20Poly1305(c) => {
                        c.encrypt_inout_detached(nonce.try_into().unwrap(), aad, body.into())
                    }
                    BlockAead::AesSiv(_) => unreachable!(),
                }
                .expect("block sizes are far below the AEAD limits");
                tag_out.copy_from_slice(&tag);
            }
        }
    }

    /// Seals into a new vector.
    pub fn seal(&self, nonce: &[u8], aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; plain.len() + self.overhead()];
        self.seal_into(nonce, aad, plain, &mut out);
        out
    }

    /// Opens a sealed block into `out` (exactly `sealed.len() - overhead()` bytes).
    pub fn open_into(&self, aad: &[u8], sealed: &[u8], out: &mut [u8]) -> Result<(), Inauthentic> {
        let n = self.nonce_len();
        if sealed.len() < self.overhead() || out.len() != sealed.len() - self.overhead() {
            return Err(Inauthentic);
        }
        let nonce = &sealed[..n];
        match self {
            BlockAead::AesSiv(key) => {
                let (siv, body) = sealed[n..].split_at(TAG_LEN);
                out.copy_from_slice(body);
                Aes256Siv::new((&**key).into())
                    .decrypt_inout_detached([aad, nonce], out.into(), siv.try_into().unwrap())
                    .map_err(|_| Inauthentic)
            }
            _ => {
                let (body, tag) = sealed[n..].split_at(sealed.len() - n - TAG_LEN);
                out.copy_from_slice(body);
                let tag = tag.try_into().unwrap();
                match self {
                    BlockAead::AesGcm128BitNonce(c) => {
                        c.decrypt_inout_detached(nonce.try_into().unwrap(), aad, out.into(), tag)
                    }
                    BlockAead::AesGcm96BitNonce(c) => {
                        c.decrypt_inout_detached(nonce.try_into().unwrap(), aad, out.into(), tag)
                    }
                    BlockAead::XChaCha20Poly1305(c) => {
                        c.decrypt_inout_detached(nonce.try_into().unwrap(), aad, out.into(), tag)
                    }
                    BlockAead::AesSiv(_) => unreachable!(),
                }
                .map_err(|_| Inauthentic)
            }
        }
        .inspect_err(|_| out.iter_mut().for_each(|b| *b = 0))
    }

    /// Opens into a new (zeroizing) vector.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Inauthentic> {
        let mut out = Zeroizing::new(vec![0u8; sealed.len().saturating_sub(self.overhead())]);
        self.open_into(aad, sealed, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<BlockAead> {
        vec![
            BlockAead::aes_gcm(&[1; 32]),
            BlockAead::aes_gcm_96bit_nonce(&[2; 32]),
            BlockAead::aes_siv(&[3; 64]),
            BlockAead::xchacha20_poly1305(&[4; 32]),
        ]
    }

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        for aead in all() {
            let nonce = vec![9u8; aead.nonce_len()];
            let sealed = aead.seal(&nonce, b"aad", b"hello block");
            assert_eq!(sealed.len(), 11 + aead.overhead());
            assert_eq!(&sealed[..aead.nonce_len()], &nonce[..]);
            assert_eq!(aead.open(b"aad", &sealed).unwrap().as_slice(), b"hello block");
            assert_eq!(aead.open(b"other aad", &sealed).unwrap_err(), Inauthentic);
            for i in 0..sealed.len() {
                let mut bad = sealed.clone();
                bad[i] ^= 1;
                assert!(aead.open(b"aad", &bad).is_err(), "flip at {i} undetected");
            }
            assert!(aead.open(b"aad", &sealed[..aead.overhead() - 1]).is_err());
        }
    }

    #[test]
    fn gcm_with_128_bit_nonce_matches_a_known_answer() {
        // AES-256-GCM, 16-byte nonce (J0 = GHASH(IV)), computed independently with
        // Python's `cryptography`: key 00..1f, nonce 00..0f, no AAD, plaintext "abc".
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let nonce: Vec<u8> = (0..16).collect();
        let sealed = BlockAead::aes_gcm(&key).seal(&nonce, b"", b"abc");
        let hex: String = sealed[16..].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, EXPECTED_GCM16_ABC);
    }

    const EXPECTED_GCM16_ABC: &str = "060ec311ff6d75324a6611f7b6c67cc7de332a";
}
