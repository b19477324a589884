//! `secarc a`: the entries (inputs.rs) grouped into solid blocks by branch filter, each
//! block written by folder_writer.rs, then the header (header_writer.rs), compressed and
//! encrypted with the archive's one key and a fresh IV. Written to a temporary file and
//! renamed at the end, so a failure never leaves something that looks like a finished
//! archive.

use super::ArchiveError;
use super::aes_writer::ArchiveKey;
use super::folder_writer::{BranchFilter, write_folder, write_header};
use super::header_writer;
use super::inputs::{Content, Item, collect, data_size, io_error, record_for};
use super::selection::Selection;
use crate::secret::SecretBuf;
use crate::sys::interrupt;
use crate::sys::progress::{Counter, Progress};
use crate::sys::stdio::Stream;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
    /// Wildcards (-r) and exclusions (-x!, -xr!).
    pub selection: Selection,
    /// -ms=on: the files of a branch filter share one solid block; off: a block each.
    pub solid: bool,
    /// -bsp.
    pub progress: Stream,
}

/// What was written.
pub struct Summary {
    pub files: usize,
    pub directories: usize,
    pub bytes: u64,
    pub archive_bytes: u64,
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

pub fn create(archive: &Path, args: &[PathBuf], options: &CreateOptions) -> Result<Summary, ArchiveError> {
    let items = collect(args, options)?;
    let bytes: u64 = items.iter().map(data_size).sum();
    let key = match &options.password {
        Some(password) => Some(
            ArchiveKey::derive(password, KEY_DERIVATION_CYCLES_POWER)
                .map_err(|e| ArchiveError::Io(format!("deriving the key: {e}")))?,
        ),
        None => None,
    };

    let dir = archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Deleted if a signal ends secarc before the archive is complete.
    let (temp, _registered) = interrupt::create_registered(|| {
        tempfile::Builder::new().prefix(".secarc-").suffix(".partial").tempfile_in(dir)
    })
    .map_err(|e| ArchiveError::Io(format!("{}: cannot create the archive there: {}", dir.display(), e.kind())))?;
    let failed = |e: io::Error| ArchiveError::Io(format!("{}: {e}", archive.display()));
    let mut out = BufWriter::with_capacity(1 << 20, temp.reopen().map_err(|e| io_error(temp.path(), e))?);
    // Room for the signature header, written last when the header's place is known.
    out.write_all(&[0u8; header_writer::SIGNATURE_HEADER_SIZE as usize]).map_err(failed)?;

    let counter = Counter::default();
    let _progress = Progress::start("compressing", bytes, counter.clone(), options.progress);
    // Entries without data first, in walk order; then each block's entries, as the
    // header must list the entries with data in the order of the blocks. Executables go
    // into their own block through a branch filter, as 7-Zip groups files by filter.
    let mut records = Vec::with_capacity(items.len());
    let mut groups: Vec<(Option<BranchFilter>, Vec<&Item>)> = Vec::new();
    let (mut files, mut directories) = (0, 0);
    for item in &items {
        match &item.content {
            Content::Directory => directories += 1,
            _ => files += 1,
        }
        if data_size(item) == 0 && !matches!(item.content, Content::Link { .. }) {
            records.push(record_for(item, options.times));
            continue;
        }
        let filter = match &item.content {
            Content::File { path, .. } => BranchFilter::for_file(path),
            _ => None,
        };
        match groups.iter_mut().find(|g| options.solid && g.0 == filter) {
            Some(group) => group.1.push(item),
            None => groups.push((filter, vec![item])),
        }
    }
    let mut folders = Vec::with_capacity(groups.len());
    let mut pack_pos = 0u64;
    for (filter, members) in &groups {
        let folder = write_folder(&mut out, *filter, members, options, key.as_ref(), &counter)?;
        pack_pos += folder.packed_size;
        folders.push(folder);
        records.extend(members.iter().map(|m| record_for(m, options.times)));
    }
    let header = header_writer::header(&folders, &records);
    let header_key = key.as_ref().filter(|_| options.encrypt_header);
    let (next_header, header_stream) = write_header(&mut out, pack_pos, header, header_key).map_err(failed)?;
    out.write_all(&next_header).map_err(failed)?;
    let mut file = out.into_inner().map_err(|e| failed(e.into_error()))?;
    let signature = header_writer::signature_header(pack_pos + header_stream, &next_header);
    file.seek(SeekFrom::Start(0)).and_then(|_| file.write_all(&signature)).map_err(failed)?;
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
}
