//! 7zAES for writing: the key from the password by 2^cycles rounds of SHA-256 (done once
//! per archive), and an AES-256-CBC writer with a fresh IV for every stream, zero-padded
//! to the block size as 7-Zip does (the coder's unpack size says where the plaintext
//! ends). The key and the UTF-16 password copy are wiped when dropped.

use crate::secret::SecretBuf;
use aes::Aes256;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use zeroize::Zeroizing;

/// The 7z method id of 7zAES (AES-256 + SHA-256).
pub const METHOD_ID: &[u8] = &[0x06, 0xF1, 0x07, 0x01];

pub struct ArchiveKey {
    key: Zeroizing<[u8; 32]>,
    cycles_power: u8,
}

impl ArchiveKey {
    /// Derives the key as 7-Zip does: one SHA-256 over 2^cycles_power repetitions of
    /// UTF-16LE(password) ‖ 64-bit little-endian counter. No salt, like 7zz: the IV is
    /// what differs between streams, and the key is derived once per archive.
    pub fn derive(password: &SecretBuf, cycles_power: u8) -> io::Result<ArchiveKey> {
        let text = std::str::from_utf8(password.expose())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the password is not valid UTF-8"))?;
        let mut utf16: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(text.len() * 2));
        for unit in text.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let mut sha = Sha256::new();
        for counter in 0..(1u64 << cycles_power) {
            sha.update(&utf16[..]);
            sha.update(counter.to_le_bytes());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&sha.finalize());
        Ok(ArchiveKey { key, cycles_power })
    }

    /// The coder properties 7zz writes: cycles, no salt, a 16-byte IV.
    pub fn properties(&self, iv: &[u8; 16]) -> Vec<u8> {
        let mut props = vec![0x40 | self.cycles_power, 0x0F];
        props.extend_from_slice(iv);
        props
    }

    /// A writer encrypting into `inner` under a fresh random IV; returns it with the
    /// coder properties naming that IV.
    pub fn encrypt<W: Write>(&self, inner: W) -> io::Result<(CbcWriter<W>, Vec<u8>)> {
        let iv: [u8; 16] = crate::crypto::random::array()?;
        let writer = CbcWriter {
            inner,
            cipher: Aes256::new(&Array::from(*self.key)),
            chain: iv,
            pending: Zeroizing::new([0; 16]),
            pending_len: 0,
            plaintext_len: 0,
        };
        Ok((writer, self.properties(&iv)))
    }
}

pub struct CbcWriter<W> {
    inner: W,
    cipher: Aes256,
    chain: [u8; 16],
    /// Plaintext waiting for a whole block.
    pending: Zeroizing<[u8; 16]>,
    pending_len: usize,
    plaintext_len: u64,
}

impl<W: Write> CbcWriter<W> {
    fn seal_pending(&mut self) -> io::Result<()> {
        let mut block = Array::from(*self.pending);
        for (b, c) in block.iter_mut().zip(self.chain) {
            *b ^= c;
        }
        self.cipher.encrypt_block(&mut block);
        self.chain.copy_from_slice(&block);
        self.pending_len = 0;
        self.inner.write_all(&block)
    }

    /// Pads the last block with zeros, writes it; returns the inner writer and the
    /// plaintext length (the AES coder's unpack size).
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.pending_len > 0 {
            self.pending[self.pending_len..].fill(0);
            self.seal_pending()?;
        }
        Ok((self.inner, self.plaintext_len))
    }
}

impl<W: Write> Write for CbcWriter<W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let len = buf.len();
        while !buf.is_empty() {
            let take = (16 - self.pending_len).min(buf.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&buf[..take]);
            self.pending_len += take;
            buf = &buf[take..];
            if self.pending_len == 16 {
                self.seal_pending()?;
            }
        }
        self.plaintext_len += len as u64;
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
