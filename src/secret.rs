//! Memory for passwords and keys.
//!
//! A [`SecretBuf`] zeroizes its bytes when dropped *and* whenever it grows: a plain
//! `Vec::push` would reallocate and leave the old copy behind in freed memory. It has no
//! `Display`, and its `Debug` prints only the length, so a secret cannot reach a log or
//! an error message by accident. Comparison is constant-time.

use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Growable, zeroizing byte buffer for secrets.
pub struct SecretBuf {
    bytes: Vec<u8>,
}

impl SecretBuf {
    /// Room for any password a person types without reallocating.
    const INITIAL_CAPACITY: usize = 256;

    pub fn new() -> Self {
        SecretBuf { bytes: Vec::with_capacity(Self::INITIAL_CAPACITY) }
    }

    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut buf = SecretBuf::new();
        buf.extend_from_slice(bytes);
        buf
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        self.bytes.push(byte);
    }

    pub fn extend_from_slice(&mut self, more: &[u8]) {
        self.reserve(more.len());
        self.bytes.extend_from_slice(more);
    }

    /// Removes the last byte, wiping it.
    pub fn pop(&mut self) -> Option<u8> {
        let last = self.bytes.pop()?;
        // The popped slot still holds the byte in the spare capacity.
        self.bytes.spare_capacity_mut()[0].write(0);
        Some(last)
    }

    /// Shortens to `len` bytes, wiping what is cut off.
    pub fn truncate(&mut self, len: usize) {
        if len < self.bytes.len() {
            self.bytes[len..].zeroize();
            self.bytes.truncate(len);
        }
    }

    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Grows by moving into a fresh allocation and wiping the old one ourselves.
    fn reserve(&mut self, additional: usize) {
        let needed = self.bytes.len() + additional;
        if needed <= self.bytes.capacity() {
            return;
        }
        let mut bigger = Vec::with_capacity(needed.max(self.bytes.capacity() * 2));
        bigger.extend_from_slice(&self.bytes);
        self.bytes.zeroize();
        self.bytes = bigger;
    }
}

/// How much of the stack [`scrub_stack`] overwrites: past the deepest an applet's work
/// goes below its caller (secarc's key derivation and decryption left copies of the
/// key up to 26 KiB down; 7zAES, scrypt and the AEADs keep their state on the stack).
const STACK_SCRUB_BYTES: usize = 256 << 10;

/// Overwrites the stack below the caller with zeros. Ciphers and hashes copy keys into
/// their stack frames, which nothing wipes when they return: a 7zAES key derived by
/// sevenz-rust2 stayed on the stack six times until the process ended. Called where
/// such work has returned, this wipes those dead frames. It stays well within the
/// main thread's stack (8 MiB by default) and a spawned thread's (2 MiB).
#[inline(never)]
pub fn scrub_stack() {
    let mut area = [0u8; STACK_SCRUB_BYTES];
    // Volatile writes, so that the compiler cannot drop them as dead stores.
    area.zeroize();
    std::hint::black_box(&area);
}

impl Default for SecretBuf {
    fn default() -> Self {
        SecretBuf::new()
    }
}

impl Drop for SecretBuf {
    fn drop(&mut self) {
        // Wipes the whole allocation, spare capacity included.
        self.bytes.zeroize();
    }
}

impl fmt::Debug for SecretBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBuf([redacted; {} bytes])", self.bytes.len())
    }
}

impl PartialEq for SecretBuf {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for SecretBuf {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_keeps_the_content() {
        let mut s = SecretBuf::new();
        for i in 0..10_000u32 {
            s.push((i % 251) as u8);
        }
        assert_eq!(s.len(), 10_000);
        assert!(s.expose().iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    }

    #[test]
    fn pop_and_truncate_wipe_what_they_remove() {
        let mut s = SecretBuf::from_slice(b"hunter2");
        assert_eq!(s.pop(), Some(b'2'));
        // The freed slot must be zero, not the old byte.
        let spare = s.bytes.spare_capacity_mut();
        assert_eq!(unsafe { spare[0].assume_init() }, 0);
        s.truncate(2);
        assert_eq!(s.expose(), b"hu");
        let spare = s.bytes.spare_capacity_mut();
        assert!(spare[..5].iter().all(|b| unsafe { b.assume_init() } == 0));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = SecretBuf::from_slice(b"hunter2");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("7 bytes"));
    }

    #[test]
    fn equality_compares_content() {
        assert_eq!(SecretBuf::from_slice(b"abc"), SecretBuf::from_slice(b"abc"));
        assert_ne!(SecretBuf::from_slice(b"abc"), SecretBuf::from_slice(b"abd"));
        assert_ne!(SecretBuf::from_slice(b"abc"), SecretBuf::from_slice(b"ab"));
    }
}
