//! 7z archives as 7-Zip writes them with `a -p -mhe=on -mx=9 -m0=lzma2`: written here
//! (lzma-rust2 compresses; the container, 7zAES and the parallel LZMA2 pieces are ours)
//! and read with sevenz-rust2, with 7-Zip's choices where the crates' defaults differ:
//! 2^19 key-derivation rounds, a fresh IV for every block and the header, Unix modes
//! and 7-Zip's Linux timestamps, symlinks, empty directories, and an extraction that
//! cannot write outside its target.

pub mod aes_writer;
pub mod attributes;
pub mod create;
pub mod extract;
pub mod folder_writer;
pub mod header_writer;
pub mod inputs;
pub mod key_cache;
pub mod listing;
pub mod lzma2_pieces;
pub mod methods;
pub mod safe_path;
pub mod selection;

/// Why an archive operation failed, with the exit code secarc uses.
#[derive(Debug)]
pub enum ArchiveError {
    /// The password is wrong (or missing for an encrypted archive).
    WrongPassword(String),
    /// The archive is damaged or truncated (names the entry when known).
    Corrupt(String),
    /// Reading inputs or writing outputs failed.
    Io(String),
    /// The archive is refused for safety (path traversal, symlink tricks) or an
    /// existing file would be overwritten without permission.
    Refused(String),
    /// The archive uses a method secarc cannot decode.
    Unsupported(String),
}

impl ArchiveError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ArchiveError::Io(_) => 2,
            ArchiveError::Corrupt(_) => 3,
            ArchiveError::WrongPassword(_) => 4,
            ArchiveError::Refused(_) => 5,
            ArchiveError::Unsupported(_) => 6,
        }
    }
}

impl std::fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArchiveError::WrongPassword(m)
            | ArchiveError::Corrupt(m)
            | ArchiveError::Io(m)
            | ArchiveError::Refused(m)
            | ArchiveError::Unsupported(m) => f.write_str(m),
        }
    }
}

/// What an error while decoding names: the entry being decoded, or the archive before
/// the first one.
pub fn decoding_context(archive: &std::path::Path, current_entry: &str) -> String {
    if current_entry.is_empty() { archive.display().to_string() } else { format!("entry {current_entry}") }
}

/// Maps the crate's errors: a password problem, or damage.
pub fn classify(error: sevenz_rust2::Error, context: &str) -> ArchiveError {
    use sevenz_rust2::Error as E;
    match error {
        E::PasswordRequired => {
            ArchiveError::WrongPassword(format!("{context}: the archive is encrypted: a password is needed (-p)"))
        }
        E::MaybeBadPassword(_) => ArchiveError::WrongPassword(format!("{context}: wrong password")),
        E::UnsupportedCompressionMethod(method) => ArchiveError::Unsupported(format!(
            "{context}: uses the method {method}, which secarc cannot decode (7zz can: 7zz x)"
        )),
        E::FileOpen(e, name) => ArchiveError::Io(format!("{name}: {e}")),
        E::Io(e, what) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ArchiveError::Corrupt(format!("{context}: the archive is truncated ({what})"))
        }
        other => ArchiveError::Corrupt(format!("{context}: {other}")),
    }
}
