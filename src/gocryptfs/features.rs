//! Feature flags of `gocryptfs.conf` and the format they select.

use std::fmt;

/// Content encryption of a filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentAlgorithm {
    AesGcm,
    AesSiv,
    XChaCha20Poly1305,
}

impl fmt::Display for ContentAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContentAlgorithm::AesGcm => "AES-GCM-256",
            ContentAlgorithm::AesSiv => "AES-SIV-512",
            ContentAlgorithm::XChaCha20Poly1305 => "XChaCha20-Poly1305",
        })
    }
}

/// The flags gocryptfs knows. An unknown one makes a config unusable (it may change the
/// format in a way we would silently get wrong).
pub const KNOWN_FLAGS: [&str; 11] = [
    "PlaintextNames",
    "DirIV",
    "EMENames",
    "GCMIV128",
    "LongNames",
    "LongNameMax",
    "AESSIV",
    "Raw64",
    "HKDF",
    "FIDO2",
    "XChaCha20Poly1305",
];

/// Everything that decides how bytes and names are encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    pub content: ContentAlgorithm,
    /// Subkeys derived with HKDF (v1.3+); otherwise the master key is used directly.
    pub hkdf: bool,
    pub plaintext_names: bool,
    /// Per-directory IV files; without them names use an all-zero IV.
    pub dir_iv: bool,
    pub long_names: bool,
    /// Encoded names longer than this are hashed into `gocryptfs.longname.*`.
    pub long_name_max: usize,
    /// Unpadded base64url names.
    pub raw64: bool,
}

impl Format {
    /// What `gocryptfs -init` writes by default in v2.
    pub fn v2_default() -> Self {
        Format {
            content: ContentAlgorithm::AesGcm,
            hkdf: true,
            plaintext_names: false,
            dir_iv: true,
            long_names: true,
            long_name_max: 255,
            raw64: true,
        }
    }

    /// The feature flags `-init` writes for this format, in gocryptfs's order.
    pub fn feature_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if self.hkdf {
            flags.push("HKDF");
        }
        match self.content {
            ContentAlgorithm::XChaCha20Poly1305 => flags.push("XChaCha20Poly1305"),
            _ => flags.push("GCMIV128"),
        }
        if self.plaintext_names {
            flags.push("PlaintextNames");
        } else {
            if self.dir_iv {
                flags.push("DirIV");
            }
            if self.long_name_max != 255 {
                flags.push("LongNameMax");
            }
            flags.extend(["EMENames", "LongNames", "Raw64"]);
        }
        if self.content == ContentAlgorithm::AesSiv {
            flags.push("AESSIV");
        }
        flags.into_iter().map(String::from).collect()
    }
}
