//! The crypto core shared by vaultfs (gocryptfs format) and secarc (7zAES): AEAD block
//! ciphers, EME wide-block name encryption, key derivation and randomness. No file or
//! terminal I/O here, so every piece is tested against known answers.

pub mod aead;
pub mod eme;
pub mod kdf;
pub mod random;

use zeroize::Zeroizing;

/// A 256-bit key that is wiped when dropped.
pub type Key32 = Zeroizing<[u8; 32]>;
