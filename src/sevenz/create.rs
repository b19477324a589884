//! `secarc a`: one solid block of every file, AES-256 with 2^19 key-derivation rounds
//! and a fresh IV per block and for the header, LZMA2 at 7-Zip's level settings, Unix
//! modes and 7-Zip's Linux timestamps, empty directories and files, symlinks followed
//! (or stored as links with -snl). Written to a temporary file and renamed at the end,
//! so a failure never leaves something that looks like a finished archive.

use super::ArchiveError;
use super::attributes;
use crate::secret::SecretBuf;
use crate::sys::progress::{Counter, CountingReader, Progress};
use sevenz_rust2::encoder_options::{AesEncoderOptions, Lzma2Options, LzmaOptions};
use sevenz_rust2::{ArchiveEntry, ArchiveWriter, EncoderConfiguration, EncoderMethod, Password, SourceReader};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// 7-Zip's key-derivation cost (`7zAES:19`); the crate's default is 8.
pub const KEY_DERIVATION_CYCLES_POWER: u8 = 19;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Lzma2,
    Lzma,
    Copy,
}

#[derive(Clone, Copy, Debug)]
pub struct Times {
    pub modified: bool,
    pub created: bool,
    pub accessed: bool,
}

pub struct CreateOptions {
    pub password: Option<SecretBuf>,
    pub encrypt_header: bool,
    pub level: u32,
    pub method: Method,
    pub threads: u32,
    pub times: Times,
    /// -snl: store symlinks as links instead of following them.
    pub store_symlinks: bool,
}

/// What was written.
pub struct Summary {
    pub files: usize,
    pub directories: usize,
    pub bytes: u64,
    pub archive_bytes: u64,
}

enum Content {
    Directory,
    File { path: PathBuf, size: u64 },
    Link { target: Vec<u8> },
}

struct Item {
    name: String,
    content: Content,
    meta: fs::Metadata,
}

/// 7-Zip's dictionary for a level (MethodProps.h): 256 MiB at -mx=8/9 since 24.09.
pub fn level_dictionary(level: u32) -> u64 {
    match level {
        0..=4 => 1 << (2 * level + 16),
        5..=8 => 1 << (level + 20),
        _ => 1 << 28,
    }
}

/// The dictionary for `input` bytes: the level's, cut down to the input like 7-Zip does,
/// and always 2^n or 3·2^n (the only sizes the LZMA2 property byte states exactly).
pub fn dictionary_for(level: u32, input: u64) -> u32 {
    let limit = level_dictionary(level);
    let wanted = input.clamp(4096, limit);
    let mut size = 4096u64;
    while size < wanted {
        let three_halves = size / 2 * 3;
        size = if three_halves >= wanted && three_halves > size { three_halves } else { size * 2 };
    }
    size.min(limit) as u32
}

/// The name 7zz gives an argument: the relative path as written, or only the last
/// component for absolute paths and paths with `..`.
fn archive_name(arg: &Path) -> Result<String, ArchiveError> {
    let plain_relative = !arg.is_absolute() && !arg.components().any(|c| c == Component::ParentDir);
    let name: PathBuf = if plain_relative {
        arg.components().filter(|c| matches!(c, Component::Normal(_))).collect()
    } else {
        PathBuf::from(arg.file_name().ok_or_else(|| ArchiveError::Io(format!("{}: no name to store", arg.display())))?)
    };
    name.to_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ArchiveError::Io(format!("{}: not a UTF-8 name 7z can store", arg.display())))
}

fn io_error(path: &Path, e: io::Error) -> ArchiveError {
    ArchiveError::Io(format!("{}: {e}", path.display()))
}

/// Walks the arguments depth-first, directories before their content.
fn collect(args: &[PathBuf], store_symlinks: bool) -> Result<Vec<Item>, ArchiveError> {
    let mut items = Vec::new();
    for arg in args {
        let name = archive_name(arg)?;
        collect_one(arg, name, store_symlinks, &mut items, 0)?;
    }
    Ok(items)
}

fn collect_one(
    path: &Path,
    name: String,
    store_symlinks: bool,
    items: &mut Vec<Item>,
    depth: usize,
) -> Result<(), ArchiveError> {
    if depth > 256 {
        return Err(ArchiveError::Io(format!("{}: directories nested too deep (a symlink loop?)", path.display())));
    }
    let link_meta = fs::symlink_metadata(path).map_err(|e| io_error(path, e))?;
    if link_meta.file_type().is_symlink() && store_symlinks {
        let target = fs::read_link(path).map_err(|e| io_error(path, e))?;
        items.push(Item {
            name,
            content: Content::Link { target: target.as_os_str().as_bytes().to_vec() },
            meta: link_meta,
        });
        return Ok(());
    }
    // Without -snl a link is followed, as 7zz does: the target's content and mode.
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        items.push(Item { name: name.clone(), content: Content::Directory, meta });
        let mut children: Vec<_> = fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| io_error(path, e))?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let child_name = child.file_name();
            let child_name = child_name
                .to_str()
                .ok_or_else(|| ArchiveError::Io(format!("{}: not a UTF-8 name", child.path().display())))?;
            collect_one(&child.path(), format!("{name}/{child_name}"), store_symlinks, items, depth + 1)?;
        }
    } else if meta.is_file() {
        items.push(Item { name, content: Content::File { path: path.to_path_buf(), size: meta.len() }, meta });
    } else {
        return Err(ArchiveError::Io(format!(
            "{}: not a file, directory or symlink (fifo, socket or device)",
            path.display()
        )));
    }
    Ok(())
}

fn entry_for(item: &Item, times: Times) -> ArchiveEntry {
    let mut entry = ArchiveEntry::new();
    entry.name = item.name.clone();
    let m = &item.meta;
    let (is_dir, has_stream) = match &item.content {
        Content::Directory => (true, false),
        Content::File { size, .. } => (false, *size > 0),
        Content::Link { .. } => (false, true),
    };
    entry.is_directory = is_dir;
    entry.has_stream = has_stream;
    entry.has_windows_attributes = true;
    entry.windows_attributes = attributes::from_mode(m.mode(), is_dir);
    entry.has_last_modified_date = times.modified;
    entry.last_modified_date = attributes::nt_time(m.mtime(), m.mtime_nsec());
    // 7-Zip on Linux stores the inode change time as "created".
    entry.has_creation_date = times.created;
    entry.creation_date = attributes::nt_time(m.ctime(), m.ctime_nsec());
    entry.has_access_date = times.accessed;
    entry.access_date = attributes::nt_time(m.atime(), m.atime_nsec());
    entry
}

/// One solid block to write: its branch filter, entries, their readers, input bytes.
type BlockGroup = (Option<EncoderMethod>, Vec<ArchiveEntry>, Vec<SourceReader<Box<dyn Read>>>, u64);

/// The branch filter for an executable, from its ELF header: BCJ for x86, ARM64 for
/// AArch64; None for anything else.
fn branch_filter(path: &Path) -> Option<EncoderMethod> {
    let mut head = [0u8; 20];
    File::open(path).and_then(|mut f| f.read_exact(&mut head)).ok()?;
    if &head[..4] != b"\x7fELF" {
        return None;
    }
    match u16::from_le_bytes([head[18], head[19]]) {
        3 | 62 => Some(EncoderMethod::BCJ_X86_FILTER),
        183 => Some(EncoderMethod::BCJ_ARM64_FILTER),
        _ => None,
    }
}

/// LZMA2 at `level` for `input` bytes on `threads` threads.
///
/// With several threads the input is cut into one independent chunk per thread (each
/// starts with a dictionary reset, as 7-Zip's own multithreaded LZMA2 does), and the
/// dictionary is the chunk's. lzma-rust2's presets 6–9 differ only in dictionary size,
/// so the options start from preset 6 (the smallest chunk it allows) with the
/// dictionary set afterwards: level 9's match finder and lengths, any chunk size.
fn lzma2_options(level: u32, threads: u32, input: u64) -> Lzma2Options {
    const SPLIT_ABOVE: u64 = 4 << 20;
    let base = if level >= 6 { 6 } else { level };
    if threads > 1 && input > SPLIT_ABOVE {
        let dictionary = dictionary_for(level, input.div_ceil(threads as u64));
        let mut options = Lzma2Options::from_level_mt(base, threads, dictionary as u64);
        options.set_dictionary_size(dictionary);
        options
    } else {
        let mut options = Lzma2Options::from_level(base);
        options.set_dictionary_size(dictionary_for(level, input));
        options
    }
}

fn content_methods(
    options: &CreateOptions,
    password: Option<&Password>,
    input: u64,
    salt: [u8; 16],
    filter: Option<EncoderMethod>,
) -> Vec<EncoderConfiguration> {
    let mut methods = Vec::new();
    if let Some(password) = password {
        let mut aes = AesEncoderOptions::new(password.clone());
        aes.num_cycles_power = KEY_DERIVATION_CYCLES_POWER;
        // A fresh IV each time (new() draws it); one salt, so the 2^19 rounds of key
        // derivation are done once and cached.
        aes.salt = salt;
        methods.push(aes.into());
    }
    match options.method {
        Method::Lzma2 => methods.push(lzma2_options(options.level, options.threads, input).into()),
        Method::Lzma => {
            let mut lzma = LzmaOptions::from_level(options.level);
            lzma.set_dictionary_size(dictionary_for(options.level, input));
            methods.push(lzma.into());
        }
        Method::Copy => methods.push(EncoderMethod::COPY.into()),
    }
    // Outermost first: data → filter → LZMA2 → AES → file.
    if let Some(filter) = filter.filter(|_| options.method != Method::Copy) {
        methods.push(filter.into());
    }
    methods
}

pub fn create(archive: &Path, args: &[PathBuf], options: &CreateOptions) -> Result<Summary, ArchiveError> {
    let items = collect(args, options.store_symlinks)?;
    let bytes: u64 = items
        .iter()
        .map(|i| match &i.content {
            Content::File { size, .. } => *size,
            Content::Link { target } => target.len() as u64,
            Content::Directory => 0,
        })
        .sum();
    let password = match &options.password {
        Some(p) => Some(Password::new(
            std::str::from_utf8(p.expose()).map_err(|_| ArchiveError::Io("the password is not valid UTF-8".into()))?,
        )),
        None => None,
    };
    let salt: [u8; 16] = crate::crypto::random::array().map_err(|e| ArchiveError::Io(e.to_string()))?;

    let dir = archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".secarc-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| io_error(dir, e))?;
    let file = temp.reopen().map_err(|e| io_error(temp.path(), e))?;
    let mut writer = ArchiveWriter::new(file).map_err(|e| ArchiveError::Io(format!("{}: {e}", archive.display())))?;
    writer.set_encrypt_header(options.encrypt_header && password.is_some());

    let mut directories = 0;
    let mut files = 0;
    let counter = Counter::default();
    let _progress = Progress::start("compressing", bytes, counter.clone());
    // Executables go into their own solid block through a branch filter, as 7-Zip
    // groups files by filter: x86 (BCJ), ARM64, everything else.
    let mut groups: Vec<BlockGroup> = Vec::new();
    for item in &items {
        let entry = entry_for(item, options.times);
        let (filter, reader, size): (Option<EncoderMethod>, Box<dyn Read>, u64) = match &item.content {
            Content::Directory => {
                directories += 1;
                writer.push_archive_entry::<&[u8]>(entry, None).map_err(|e| super::classify(e, &item.name))?;
                continue;
            }
            Content::File { size: 0, .. } => {
                files += 1;
                writer.push_archive_entry::<&[u8]>(entry, None).map_err(|e| super::classify(e, &item.name))?;
                continue;
            }
            Content::File { path, size } => {
                let opened = File::open(path).map_err(|e| io_error(path, e))?;
                (branch_filter(path), Box::new(CountingReader::new(opened, counter.clone())), *size)
            }
            Content::Link { target } => (None, Box::new(io::Cursor::new(target.clone())), target.len() as u64),
        };
        files += 1;
        let slot = match groups.iter().position(|g| g.0 == filter) {
            Some(i) => i,
            None => {
                groups.push((filter, Vec::new(), Vec::new(), 0));
                groups.len() - 1
            }
        };
        groups[slot].1.push(entry);
        groups[slot].2.push(SourceReader::new(reader));
        groups[slot].3 += size;
    }
    for (filter, entries, readers, size) in groups {
        // Each block gets its own IV (content_methods draws a fresh one).
        writer.set_content_methods(content_methods(options, password.as_ref(), size, salt, filter));
        writer.push_archive_entries(entries, readers).map_err(|e| super::classify(e, "compressing"))?;
    }
    // The header gets its own IV too (header encryption needs AES among the methods).
    writer.set_content_methods(content_methods(options, password.as_ref(), bytes, salt, None));
    let file = writer.finish().map_err(|e| ArchiveError::Io(format!("{}: {e}", archive.display())))?;
    file.sync_all().map_err(|e| io_error(archive, e))?;
    let archive_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    temp.persist_noclobber(archive).map_err(|e| {
        ArchiveError::Refused(format!("{}: {} (secarc does not update existing archives)", archive.display(), e.error))
    })?;
    Ok(Summary { files, directories, bytes, archive_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_is_the_levels_cut_to_the_input_in_exact_sizes() {
        assert_eq!(level_dictionary(9), 256 << 20);
        assert_eq!(level_dictionary(5), 32 << 20);
        assert_eq!(dictionary_for(9, 10), 4096);
        assert_eq!(dictionary_for(9, 1_400_000), 1536 << 10, "7zz lists LZMA2:1536k here");
        assert_eq!(dictionary_for(9, 5 << 30), 256 << 20);
        for input in [5000u64, 1 << 20, 3 << 20, 7_000_000, 100 << 20] {
            let d = dictionary_for(9, input) as u64;
            assert!(d >= input.min(256 << 20));
            assert!(d.is_power_of_two() || (d / 3).is_power_of_two(), "{d}");
        }
    }

    #[test]
    fn names_follow_7zz() {
        assert_eq!(archive_name(Path::new("dir/")).unwrap(), "dir");
        assert_eq!(archive_name(Path::new("./dir/sub")).unwrap(), "dir/sub");
        assert_eq!(archive_name(Path::new("/tmp/x/sub")).unwrap(), "sub");
        assert_eq!(archive_name(Path::new("../x/a.txt")).unwrap(), "a.txt");
    }
}
