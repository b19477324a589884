//! From the command line to a usable `Volume`: the config and a password, or a master
//! key with the format given by flags (gocryptfs ignores the config then).

use super::options::{MasterKeyArg, Options};
use super::password::{self, Purpose};
use armorbox::crypto::Key32;
use armorbox::exit::Failure;
use armorbox::gocryptfs::config::{ConfigFile, FILE_NAME};
use armorbox::gocryptfs::{Volume, exit_code, masterkey};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub fn config_path(options: &Options, cipher_dir: &Path) -> PathBuf {
    match &options.config {
        Some(path) => path.clone(),
        None if options.reverse.enabled => super::reverse::default_config_path(cipher_dir),
        None => cipher_dir.join(FILE_NAME),
    }
}

/// `-masterkey=HEX|stdin` or `-zerokey`, if given.
pub fn master_key_from_flags(options: &Options) -> Result<Option<Key32>, Failure> {
    if options.zero_key {
        return Ok(Some(Zeroizing::new([0u8; 32])));
    }
    let Some(given) = &options.master_key else { return Ok(None) };
    let text: Zeroizing<Vec<u8>> = match given {
        MasterKeyArg::Stdin => match armorbox::sys::stdio::read_stdin_line(4096) {
            Ok(armorbox::sys::stdio::StdinLine::Line(line)) => Zeroizing::new(line.expose().to_vec()),
            _ => return Err(Failure::new(exit_code::MASTERKEY, "-masterkey=stdin: nothing on stdin")),
        },
        MasterKeyArg::Hex(hex) => hex.clone(),
    };
    masterkey::parse(&text)
        .map(Some)
        .map_err(|_| Failure::new(exit_code::MASTERKEY, "-masterkey: expected 64 hex digits (dashes allowed)"))
}

/// Unlocks the filesystem in `cipher_dir` for mounting or checking.
pub fn open_volume(options: &Options, cipher_dir: &Path) -> Result<Volume, Failure> {
    if let Some(key) = master_key_from_flags(options)? {
        return Ok(Volume::new(options.format.clone(), &key));
    }
    let config =
        ConfigFile::load(&config_path(options, cipher_dir)).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let format = config.format().map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let password = password::read(&options.password, Purpose::Existing, "Password: ")?;
    if !options.quiet {
        eprintln!("Decrypting master key");
    }
    let key = config.decrypt_master_key(password.expose()).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    Ok(Volume::new(format, &key))
}
