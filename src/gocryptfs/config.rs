//! `gocryptfs.conf`: JSON with the scrypt parameters and the wrapped master key.
//!
//! The master key is wrapped with AES-256-GCM (whatever the content cipher), AAD = 8 zero
//! bytes; with the HKDF flag the nonce is 128-bit and the GCM key is
//! HKDF(scrypt(password), "AES-GCM file content encryption"), else a 96-bit nonce and the
//! scrypt output directly.

use super::exit_code;
use super::features::{ContentAlgorithm, Format, KNOWN_FLAGS};
use crate::crypto::aead::BlockAead;
use crate::crypto::{Key32, kdf, random};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub const FILE_NAME: &str = "gocryptfs.conf";
const KEY_WRAP_INFO: &str = "AES-GCM file content encryption";
/// The AAD of the key wrap: block number 0, no file ID.
const KEY_WRAP_AAD: [u8; 8] = [0; 8];
pub const DEFAULT_LOG_N: u8 = 16;
const MIN_LOG_N: u8 = 10;

/// Why a config cannot be used, with gocryptfs's exit code for each.
#[derive(Debug)]
pub enum ConfigError {
    Open(io::Error),
    Parse(String),
    Deprecated(String),
    Invalid(String),
    WeakScrypt(String),
    WrongPassword,
    Write(io::Error),
}

impl ConfigError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfigError::Open(_) => exit_code::OPEN_CONF,
            ConfigError::Parse(_) | ConfigError::Invalid(_) => exit_code::LOAD_CONF,
            ConfigError::Deprecated(_) => exit_code::DEPRECATED_FS,
            ConfigError::WeakScrypt(_) => exit_code::SCRYPT_PARAMS,
            ConfigError::WrongPassword => exit_code::PASSWORD_INCORRECT,
            ConfigError::Write(_) => exit_code::WRITE_CONF,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Open(e) => write!(f, "cannot open the config file: {e}"),
            ConfigError::Parse(why) => write!(f, "the config file is corrupt: {why}"),
            ConfigError::Deprecated(why) => write!(f, "deprecated filesystem format: {why}"),
            ConfigError::Invalid(why) => write!(f, "invalid config: {why}"),
            ConfigError::WeakScrypt(why) => write!(f, "refusing weak scrypt parameters: {why}"),
            ConfigError::WrongPassword => write!(f, "Password incorrect."),
            ConfigError::Write(e) => write!(f, "cannot write the config file: {e}"),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScryptObject {
    #[serde(rename = "Salt", with = "base64_bytes")]
    pub salt: Vec<u8>,
    #[serde(rename = "N")]
    pub n: u64,
    #[serde(rename = "R")]
    pub r: u32,
    #[serde(rename = "P")]
    pub p: u32,
    #[serde(rename = "KeyLen")]
    pub key_len: u32,
}

/// The file as gocryptfs writes it; field order is the JSON order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConfigFile {
    #[serde(rename = "Creator", default)]
    pub creator: String,
    #[serde(rename = "EncryptedKey", with = "base64_bytes")]
    pub encrypted_key: Vec<u8>,
    #[serde(rename = "ScryptObject")]
    pub scrypt: ScryptObject,
    #[serde(rename = "Version")]
    pub version: u16,
    /// `null` in the oldest configs.
    #[serde(rename = "FeatureFlags", default, deserialize_with = "null_as_empty")]
    pub feature_flags: Vec<String>,
    #[serde(rename = "FIDO2", default, skip_serializing_if = "Option::is_none")]
    pub fido2: Option<serde_json::Value>,
    #[serde(rename = "LongNameMax", default, skip_serializing_if = "is_zero")]
    pub long_name_max: u8,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Go's `[]byte` in JSON: standard base64 with padding.
mod base64_bytes {
    use super::*;
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read(path).map_err(ConfigError::Open)?;
        let config: ConfigFile = serde_json::from_slice(&text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.format()?;
        config.check_scrypt()?;
        Ok(config)
    }

    pub fn has(&self, flag: &str) -> bool {
        self.feature_flags.iter().any(|f| f == flag)
    }

    /// The format the flags describe, after gocryptfs's validity rules.
    pub fn format(&self) -> Result<Format, ConfigError> {
        if self.version != 2 {
            return Err(ConfigError::Invalid(format!("on-disk format version {} (only 2 is supported)", self.version)));
        }
        if let Some(unknown) = self.feature_flags.iter().find(|f| !KNOWN_FLAGS.contains(&f.as_str())) {
            return Err(ConfigError::Invalid(format!("unknown feature flag \"{unknown}\"")));
        }
        if self.has("FIDO2") {
            return Err(ConfigError::Invalid("FIDO2-protected filesystems are not supported by vaultfs".into()));
        }
        let (siv, xchacha, gcmiv128) = (self.has("AESSIV"), self.has("XChaCha20Poly1305"), self.has("GCMIV128"));
        let content = match (siv, xchacha) {
            (true, true) => return Err(ConfigError::Invalid("AESSIV and XChaCha20Poly1305 exclude each other".into())),
            (true, false) if !gcmiv128 => return Err(ConfigError::Invalid("AESSIV requires GCMIV128".into())),
            (true, false) => ContentAlgorithm::AesSiv,
            (false, true) if gcmiv128 || !self.has("HKDF") => {
                return Err(ConfigError::Invalid("XChaCha20Poly1305 requires HKDF and excludes GCMIV128".into()));
            }
            (false, true) => ContentAlgorithm::XChaCha20Poly1305,
            (false, false) if !gcmiv128 => {
                return Err(ConfigError::Deprecated(
                    "this filesystem was created by gocryptfs v0.6 or older (no GCMIV128); \
                     mount it with gocryptfs v1.x and copy the data out"
                        .into(),
                ));
            }
            (false, false) => ContentAlgorithm::AesGcm,
        };
        let plaintext_names = self.has("PlaintextNames");
        let name_flags = ["DirIV", "EMENames", "LongNames", "Raw64", "LongNameMax"];
        if plaintext_names && name_flags.iter().any(|f| self.has(f)) {
            return Err(ConfigError::Invalid("PlaintextNames excludes the name-encryption flags".into()));
        }
        if !plaintext_names && !self.has("EMENames") {
            return Err(ConfigError::Deprecated("names are neither EME-encrypted nor plaintext".into()));
        }
        if self.has("LongNameMax") != (self.long_name_max != 0) {
            return Err(ConfigError::Invalid("LongNameMax flag and value disagree".into()));
        }
        if self.has("LongNameMax") && !(62..=255).contains(&self.long_name_max) {
            return Err(ConfigError::Invalid(format!("LongNameMax {} is outside 62..255", self.long_name_max)));
        }
        Ok(Format {
            content,
            hkdf: self.has("HKDF"),
            plaintext_names,
            dir_iv: self.has("DirIV"),
            long_names: self.has("LongNames"),
            long_name_max: if self.long_name_max == 0 { 255 } else { self.long_name_max as usize },
            raw64: self.has("Raw64"),
        })
    }

    /// Rejects parameters weaker than gocryptfs accepts (a rogue config could otherwise
    /// make a password cheap to guess).
    fn check_scrypt(&self) -> Result<(), ConfigError> {
        let s = &self.scrypt;
        if s.n < 1 << MIN_LOG_N || !s.n.is_power_of_two() || s.r < 8 || s.p < 1 || s.salt.len() < 32 || s.key_len < 32 {
            return Err(ConfigError::WeakScrypt(format!(
                "N={} R={} P={} salt={}B KeyLen={} (minimum N=1024 R=8 P=1 salt=32B KeyLen=32)",
                s.n,
                s.r,
                s.p,
                s.salt.len(),
                s.key_len
            )));
        }
        Ok(())
    }

    fn key_wrapper(&self, password: &[u8]) -> Result<BlockAead, ConfigError> {
        let s = &self.scrypt;
        let log_n = s.n.trailing_zeros() as u8;
        let scrypt_key = kdf::scrypt_key(password, &s.salt, log_n, s.r, s.p)
            .map_err(|_| ConfigError::WeakScrypt(format!("scrypt rejects N={} R={} P={}", s.n, s.r, s.p)))?;
        Ok(if self.has("HKDF") {
            BlockAead::aes_gcm(&kdf::hkdf_sha256_key(scrypt_key.as_slice(), KEY_WRAP_INFO))
        } else {
            BlockAead::aes_gcm_96bit_nonce(&scrypt_key)
        })
    }

    /// Unwraps the master key with the password (scrypt runs here: slow by design).
    pub fn decrypt_master_key(&self, password: &[u8]) -> Result<Key32, ConfigError> {
        let opened = self
            .key_wrapper(password)?
            .open(&KEY_WRAP_AAD, &self.encrypted_key)
            .map_err(|_| ConfigError::WrongPassword)?;
        let key: [u8; 32] =
            opened.as_slice().try_into().map_err(|_| ConfigError::Parse("wrapped key is not 32 bytes".into()))?;
        Ok(Key32::new(key))
    }

    /// Wraps `master_key` under `password` with fresh salt and nonce, as `-init` and
    /// `-passwd` do.
    pub fn encrypt_master_key(&mut self, password: &[u8], master_key: &[u8; 32], log_n: u8) -> io::Result<()> {
        self.scrypt = ScryptObject { salt: random::array::<32>()?.to_vec(), n: 1 << log_n, r: 8, p: 1, key_len: 32 };
        let wrapper =
            self.key_wrapper(password).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut nonce = vec![0u8; wrapper.nonce_len()];
        random::fill(&mut nonce)?;
        self.encrypted_key = wrapper.seal(&nonce, &KEY_WRAP_AAD, master_key);
        Ok(())
    }

    /// A new config for `format`, wrapping `master_key`.
    pub fn create(
        format: &Format,
        password: &[u8],
        master_key: &[u8; 32],
        log_n: u8,
        creator: &str,
    ) -> io::Result<Self> {
        if log_n < MIN_LOG_N {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("scryptn {log_n} is below the minimum {MIN_LOG_N}"),
            ));
        }
        let mut config = ConfigFile {
            creator: creator.to_string(),
            encrypted_key: Vec::new(),
            scrypt: ScryptObject { salt: Vec::new(), n: 0, r: 8, p: 1, key_len: 32 },
            version: 2,
            feature_flags: format.feature_flags(),
            fido2: None,
            long_name_max: if format.long_name_max == 255 { 0 } else { format.long_name_max as u8 },
        };
        config.encrypt_master_key(password, master_key, log_n)?;
        Ok(config)
    }

    /// The JSON exactly as Go's `json.MarshalIndent(cf, "", "\t")` plus a newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut ser).expect("a config always serializes");
        out.push(b'\n');
        out
    }

    /// Writes like gocryptfs: `gocryptfs.conf.tmp` (mode 0400, O_EXCL), fsync, rename
    /// over the config, so a crash leaves the old or the new file, never half of one.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let write = || -> io::Result<()> {
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o400).open(&tmp)?;
            file.write_all(&self.to_json())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ConfigError::Write(e)
        })
    }
}
