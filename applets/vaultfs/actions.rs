//! The actions that do not mount: `-init`, `-info`, `-passwd`, `-fsck`.

use super::options::Options;
use super::password::{self, Purpose};
use super::unlock::{config_path, master_key_from_flags, open_volume};
use armorbox::crypto::random;
use armorbox::exit::{AppletResult, Failure};
use armorbox::gocryptfs::config::{ConfigFile, DEFAULT_LOG_N};
use armorbox::gocryptfs::names::DIRIV_NAME;
use armorbox::gocryptfs::offline::{self, ReadError};
use armorbox::gocryptfs::{Volume, exit_code, masterkey};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn cipher_dir_failure(dir: &Path, why: impl std::fmt::Display) -> Failure {
    Failure::new(exit_code::CIPHERDIR, format!("invalid cipherdir {}: {why}", dir.display()))
}

pub fn init(options: &Options, invoked_as: &str, cipher_dir: &Path) -> AppletResult {
    let entries = fs::read_dir(cipher_dir).map_err(|e| cipher_dir_failure(cipher_dir, e))?;
    let reverse = options.reverse.enabled;
    // A reverse config goes into the (non-empty) plaintext directory it encrypts.
    if reverse && config_path(options, cipher_dir).exists() {
        let path = config_path(options, cipher_dir);
        return Err(Failure::new(exit_code::INIT, format!("Config file {} already exists", path.display())));
    }
    if !reverse && options.config.is_none() && entries.count() > 0 {
        return Err(cipher_dir_failure(cipher_dir, "directory is not empty"));
    }
    let format = options.format.clone();
    let log_n = options.scrypt_log_n.unwrap_or(DEFAULT_LOG_N);
    let master_key = match master_key_from_flags(options)? {
        Some(key) => key,
        None => {
            zeroize::Zeroizing::new(random::array::<32>().map_err(|e| Failure::new(exit_code::INIT, e.to_string()))?)
        }
    };
    if !options.quiet && options.password.extpass.is_empty() {
        eprintln!("Choose a password for protecting your files.");
    }
    let password = password::read(&options.password, Purpose::New, "Password: ")?;
    let creator = format!("vaultfs (armorbox {})", env!("CARGO_PKG_VERSION"));
    let config = ConfigFile::create(&format, password.expose(), &master_key, log_n, &creator)
        .map_err(|e| Failure::new(exit_code::INIT, e.to_string()))?;
    config.save(&config_path(options, cipher_dir)).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    if format.dir_iv && !format.plaintext_names && !reverse {
        write_root_diriv(cipher_dir)
            .map_err(|e| Failure::new(exit_code::INIT, format!("writing {DIRIV_NAME}: {e}")))?;
    }
    if !options.quiet && armorbox::sys::stdio::stdout_is_terminal() {
        print!("{}", masterkey::reminder(&master_key).as_str());
    }
    if !options.quiet {
        let (kind, flag) = if reverse { ("gocryptfs-reverse", " -reverse") } else { ("gocryptfs", "") };
        println!("The {kind} filesystem has been created successfully.");
        println!("You can now mount it using: {invoked_as}{flag} {} MOUNTPOINT", cipher_dir.display());
    }
    Ok(())
}

fn write_root_diriv(cipher_dir: &Path) -> std::io::Result<()> {
    let iv: [u8; 16] = random::array()?;
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o444).open(cipher_dir.join(DIRIV_NAME))?;
    file.write_all(&iv)?;
    file.sync_all()
}

pub fn info(options: &Options, cipher_dir: &Path) -> AppletResult {
    let config =
        ConfigFile::load(&config_path(options, cipher_dir)).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let format = config.format().map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let s = &config.scrypt;
    println!("Creator:           {}", config.creator);
    println!("FeatureFlags:      {}", config.feature_flags.join(" "));
    println!("EncryptedKey:      {}B", config.encrypted_key.len());
    println!("ScryptObject:      Salt={}B N={} R={} P={} KeyLen={}", s.salt.len(), s.n, s.r, s.p, s.key_len);
    println!("contentEncryption: {}", format.content);
    Ok(())
}

pub fn passwd(options: &Options, cipher_dir: &Path) -> AppletResult {
    let path = config_path(options, cipher_dir);
    let mut config = ConfigFile::load(&path).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let master_key = match master_key_from_flags(options)? {
        Some(key) => key,
        None => {
            let old = password::read(&options.password, Purpose::Existing, "Password: ")?;
            config.decrypt_master_key(old.expose()).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?
        }
    };
    let old_log_n = config.scrypt.n.trailing_zeros() as u8;
    let log_n = options.scrypt_log_n.unwrap_or(old_log_n);
    if !options.quiet {
        eprintln!("Please enter your new password.");
    }
    // As gocryptfs 2.3: -passfile/-extpass give the new password too (the same one,
    // when only the scrypt cost changes); stdin gives it on the line after the old.
    let new = password::read(&options.password, Purpose::New, "Password: ")?;
    config
        .encrypt_master_key(new.expose(), &master_key, log_n)
        .map_err(|e| Failure::new(exit_code::WRITE_CONF, e.to_string()))?;
    // The rename in save() replaces a read-only file: its directory must be writable.
    config.save(&path).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    if !options.quiet {
        println!("Password changed.");
    }
    Ok(())
}

/// Decrypts every name, file and symlink; reports each problem; exit 26 if any.
pub fn fsck(options: &Options, cipher_dir: &Path) -> AppletResult {
    let volume = open_volume(options, cipher_dir)?;
    let mut problems = 0usize;
    let mut checked = 0usize;
    check_dir(&volume, cipher_dir, true, &mut problems, &mut checked);
    if problems > 0 {
        return Err(Failure::new(
            exit_code::FSCK_ERRORS,
            format!("fsck: found {problems} problems in {checked} objects"),
        ));
    }
    if !options.quiet {
        println!("fsck summary: no problems found ({checked} objects checked)");
    }
    Ok(())
}

fn check_dir(volume: &Volume, dir: &Path, is_root: bool, problems: &mut usize, checked: &mut usize) {
    let report = |problems: &mut usize, what: String| {
        eprintln!("fsck: {what}");
        *problems += 1;
    };
    let (entries, bad) = match offline::list(volume, dir, is_root) {
        Ok(listing) => listing,
        Err(ReadError::Io(e)) => return report(problems, format!("{}: {e}", dir.display())),
        Err(ReadError::Corrupt(why)) => return report(problems, why),
    };
    for b in bad {
        report(problems, format!("{}: name does not decrypt ({})", b.cipher_path.display(), b.why));
    }
    for entry in entries {
        *checked += 1;
        let result = if entry.file_type.is_dir() {
            check_dir(volume, &entry.cipher_path, false, problems, checked);
            Ok(())
        } else if entry.file_type.is_symlink() {
            offline::read_link(volume, &entry.cipher_path).map(drop)
        } else if entry.file_type.is_file() {
            offline::check_file(volume, &entry.cipher_path).map(drop)
        } else {
            Ok(())
        };
        match result {
            Ok(()) => {}
            Err(ReadError::Io(e)) => report(problems, format!("{}: {e}", entry.cipher_path.display())),
            Err(ReadError::Corrupt(why)) => report(problems, why),
        }
    }
}
