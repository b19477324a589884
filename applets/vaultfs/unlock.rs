//! From the command line to a usable `Volume`: the config and a password, or a master
//! key with the format given by flags (gocryptfs ignores the config then).

use super::cli::{Args, UsageError};
use super::password::{self, Purpose};
use armorbox::crypto::Key32;
use armorbox::exit::Failure;
use armorbox::gocryptfs::config::{ConfigFile, FILE_NAME};
use armorbox::gocryptfs::{ContentAlgorithm, Format, Volume, exit_code, masterkey};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub fn usage(e: UsageError) -> Failure {
    Failure::usage(e.0)
}

pub fn config_path(args: &Args, cipher_dir: &Path) -> PathBuf {
    match args.value("config") {
        Some(path) => PathBuf::from(path),
        None if args.switch("reverse") => super::reverse::default_config_path(cipher_dir),
        None => cipher_dir.join(FILE_NAME),
    }
}

/// The format described by init-time flags (also what `-masterkey` mounts use).
pub fn format_from_flags(args: &Args) -> Result<Format, Failure> {
    // -reverse implies -aessiv: its deterministic nonces are safe with SIV only.
    let content = match (args.switch("xchacha"), args.switch("aessiv") || args.switch("reverse")) {
        (true, true) => return Err(Failure::usage("-xchacha and -aessiv exclude each other")),
        (true, false) => ContentAlgorithm::XChaCha20Poly1305,
        (false, true) => ContentAlgorithm::AesSiv,
        (false, false) => ContentAlgorithm::AesGcm,
    };
    let hkdf = args.switch_or("hkdf", true);
    if content == ContentAlgorithm::XChaCha20Poly1305 && !hkdf {
        return Err(Failure::usage("-xchacha requires -hkdf"));
    }
    let long_name_max = match args.value_str("longnamemax").map_err(usage)? {
        None => 255,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (62..=255).contains(&n) => n,
            _ => return Err(Failure::usage(format!("-longnamemax {v}: must be 62..255"))),
        },
    };
    Ok(Format {
        content,
        hkdf,
        plaintext_names: args.switch("plaintextnames"),
        dir_iv: !args.switch("deterministic-names"),
        long_names: true,
        long_name_max,
        raw64: args.switch_or("raw64", true),
    })
}

/// `-scryptn`, or the default.
pub fn scrypt_log_n(args: &Args, default: u8) -> Result<u8, Failure> {
    match args.value_str("scryptn").map_err(usage)? {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (10..=28).contains(n))
            .ok_or_else(|| Failure::usage(format!("-scryptn {v}: must be 10..28"))),
    }
}

/// `-masterkey=HEX|stdin` or `-zerokey`, if given.
pub fn master_key_from_flags(args: &Args) -> Result<Option<Key32>, Failure> {
    if args.switch("zerokey") {
        return Ok(Some(Zeroizing::new([0u8; 32])));
    }
    let Some(value) = args.value("masterkey") else { return Ok(None) };
    let text: Zeroizing<Vec<u8>> = if value == "stdin" {
        match armorbox::sys::stdio::read_stdin_line(4096) {
            Ok(armorbox::sys::stdio::StdinLine::Line(line)) => Zeroizing::new(line.expose().to_vec()),
            _ => return Err(Failure::new(exit_code::MASTERKEY, "-masterkey=stdin: nothing on stdin")),
        }
    } else {
        Zeroizing::new(value.as_encoded_bytes().to_vec())
    };
    masterkey::parse(&text)
        .map(Some)
        .map_err(|_| Failure::new(exit_code::MASTERKEY, "-masterkey: expected 64 hex digits (dashes allowed)"))
}

/// Unlocks the filesystem in `cipher_dir` for mounting or checking.
pub fn open_volume(args: &Args, cipher_dir: &Path) -> Result<Volume, Failure> {
    if let Some(key) = master_key_from_flags(args)? {
        return Ok(Volume::new(format_from_flags(args)?, &key));
    }
    let config =
        ConfigFile::load(&config_path(args, cipher_dir)).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let format = config.format().map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let password = password::read(args, Purpose::Existing, "Password: ")?;
    if !args.switch("q") {
        eprintln!("Decrypting master key");
    }
    let key = config.decrypt_master_key(password.expose()).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    Ok(Volume::new(format, &key))
}
