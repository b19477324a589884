//! `secarc l` (7-Zip's table, `-slt` its technical listing) and `secarc t`. Listings
//! are laid out as 7zz lays them out from its "Listing archive:" line on (7zz prints its
//! banner and a scan summary before it), times in the local time zone, so that what
//! reads one tool's listing reads the other's.

use super::attributes;
use super::extract::open;
use super::{ArchiveError, classify, decoding_context, methods};
use crate::secret::SecretBuf;
use crate::sys::local_time;
use sevenz_rust2::{Archive, ArchiveEntry, Block};
use std::io;
use std::path::Path;

/// `YYYY-MM-DD HH:MM:SS` (local time) and the 7-digit fraction, from a FILETIME.
fn date_time(entry_time: sevenz_rust2::NtTime) -> (String, String) {
    let (secs, ticks) = attributes::unix_seconds(entry_time);
    (local_time::local(secs).text(), format!("{ticks:07}"))
}

/// The Windows attribute bits 7-Zip shows: read-only, hidden, system, directory, archive.
const READ_ONLY: u32 = 0x01;
const HIDDEN: u32 = 0x02;
const SYSTEM: u32 = 0x04;
const DIRECTORY: u32 = 0x10;
const ARCHIVE: u32 = 0x20;

/// The letters of the Windows attributes 7-Zip shows ("RA" for a read-only file).
fn attribute_letters(entry: &ArchiveEntry) -> String {
    let bits = if entry.has_windows_attributes { entry.windows_attributes } else { 0 };
    let directory = entry.is_directory || bits & DIRECTORY != 0;
    [(directory, 'D'), (bits & READ_ONLY != 0, 'R'), (bits & HIDDEN != 0, 'H'), (bits & SYSTEM != 0, 'S')]
        .into_iter()
        .chain([(bits & ARCHIVE != 0, 'A')])
        .map(|(set, letter)| if set { letter } else { '.' })
        .collect()
}

/// `RA -r--r--r--` / `D drwxr-xr-x`, as 7-Zip shows attributes in `-slt`: the letters
/// set, then the Unix mode when the high bits hold one.
fn attribute_text(entry: &ArchiveEntry) -> String {
    let letters: String = attribute_letters(entry).chars().filter(|&c| c != '.').collect();
    let Some(mode) = attributes::unix_mode(entry.windows_attributes).filter(|_| entry.has_windows_attributes) else {
        return letters;
    };
    let type_char = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        _ => '-',
    };
    let mut perms = String::from(type_char);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        perms.push(if bits & 4 != 0 { 'r' } else { '-' });
        perms.push(if bits & 2 != 0 { 'w' } else { '-' });
        perms.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    format!("{letters} {perms}")
}

/// How many packed streams a block reads: one, and three more for each BCJ2 coder
/// (its call, jump and range-coder streams). sevenz-rust2 keeps the count private.
fn packed_stream_count(block: &Block) -> usize {
    const BCJ2: &[u8] = &[0x03, 0x03, 0x01, 0x1B];
    1 + 3 * block.coders.iter().filter(|coder| coder.encoder_method_id() == BCJ2).count()
}

/// Each entry's Packed Size as 7zz gives it: 0 for an entry without data, the block's
/// packed size for the first file of a block, nothing for the other files of a block.
fn packed_sizes(archive: &Archive) -> Vec<Option<u64>> {
    let mut block_sizes = Vec::with_capacity(archive.blocks.len());
    let mut streams = archive.pack_sizes().iter();
    for block in &archive.blocks {
        block_sizes.push(streams.by_ref().take(packed_stream_count(block)).sum::<u64>());
    }
    let map = &archive.stream_map;
    (0..archive.files.len())
        .map(|index| match map.file_block_index.get(index).copied().flatten() {
            None => Some(0),
            Some(block) if map.block_first_file_index.get(block) == Some(&index) => block_sizes.get(block).copied(),
            Some(_) => None,
        })
        .collect()
}

/// The archive's lines between "--" and the entries.
fn write_overview(out: &mut dyn io::Write, path: &Path, physical: u64, archive: &Archive) -> io::Result<()> {
    let headers = physical.saturating_sub(archive.pack_sizes().iter().sum());
    writeln!(out, "Listing archive: {}\n\n--", path.display())?;
    writeln!(out, "Path = {}\nType = 7z\nPhysical Size = {physical}\nHeaders Size = {headers}", path.display())?;
    if let Some(names) = methods::archive_method_names(&archive.blocks) {
        writeln!(out, "Method = {names}")?;
    }
    // Solid: a block holds more than one file. (Counted in one pass: a non-solid
    // archive has as many blocks as files.)
    let mut files_in_block = vec![0usize; archive.blocks.len()];
    for &block in archive.stream_map.file_block_index.iter().flatten() {
        if let Some(count) = files_in_block.get_mut(block) {
            *count += 1;
        }
    }
    let solid = files_in_block.iter().any(|&count| count > 1);
    writeln!(out, "Solid = {}\nBlocks = {}\n", if solid { "+" } else { "-" }, archive.blocks.len())
}

pub fn list(
    archive: &Path,
    password: &Option<SecretBuf>,
    technical: bool,
    out: &mut dyn io::Write,
) -> Result<(), ArchiveError> {
    let reader = open(archive, password)?;
    let physical =
        std::fs::metadata(archive).map_err(|e| ArchiveError::Io(format!("{}: {e}", archive.display())))?.len();
    let write_err = |e: io::Error| ArchiveError::Io(format!("stdout: {e}"));
    write_overview(out, archive, physical, reader.archive()).map_err(write_err)?;
    if technical {
        technical_listing(out, reader.archive()).map_err(write_err)
    } else {
        table(out, reader.archive()).map_err(write_err)
    }
}

/// `-slt`: every entry's properties. Creation and access times, the attributes and the
/// CRC have a line in every entry when any entry has them (7zz lists the properties the
/// header records, and the modification time always).
fn technical_listing(out: &mut dyn io::Write, archive: &Archive) -> io::Result<()> {
    let files = &archive.files;
    let (any_ctime, any_atime) = (files.iter().any(|f| f.has_creation_date), files.iter().any(|f| f.has_access_date));
    let any_attributes = files.iter().any(|f| f.has_windows_attributes);
    let any_crc = files.iter().any(|f| f.has_crc);
    writeln!(out, "----------")?;
    for (index, (entry, packed)) in files.iter().zip(packed_sizes(archive)).enumerate() {
        let block_index = archive.stream_map.file_block_index.get(index).copied().flatten();
        let block = block_index.and_then(|b| archive.blocks.get(b));
        let time = |has: bool, t: sevenz_rust2::NtTime| {
            let (clock, fraction) = date_time(t);
            if has { format!("{clock}.{fraction}") } else { String::new() }
        };
        writeln!(out, "Path = {}\nSize = {}\nPacked Size = {}", entry.name, entry.size, optional(packed))?;
        for (any, name, has, t) in [
            (true, "Modified", entry.has_last_modified_date, entry.last_modified_date),
            (any_ctime, "Created", entry.has_creation_date, entry.creation_date),
            (any_atime, "Accessed", entry.has_access_date, entry.access_date),
        ] {
            if any {
                writeln!(out, "{name} = {}", time(has, t))?;
            }
        }
        if any_attributes {
            writeln!(out, "Attributes = {}", attribute_text(entry))?;
        }
        if any_crc {
            writeln!(out, "CRC = {}", if entry.has_crc { format!("{:08X}", entry.crc) } else { String::new() })?;
        }
        writeln!(
            out,
            "Encrypted = {}\nMethod = {}\nBlock = {}\n",
            if block.is_some_and(methods::is_encrypted) { "+" } else { "-" },
            block.map(methods::method_names).unwrap_or_default(),
            optional(block_index),
        )?;
    }
    Ok(())
}

/// The table: a row per entry, then the totals (the newest modification time, the
/// sizes, the numbers of files and folders).
fn table(out: &mut dyn io::Write, archive: &Archive) -> io::Result<()> {
    const RULE: &str = "------------------- ----- ------------ ------------  ------------------------";
    writeln!(out, "   Date      Time    Attr         Size   Compressed  Name\n{RULE}")?;
    let no_time = || " ".repeat(19);
    let (mut size, mut packed_size, mut files, mut folders, mut newest) = (0u64, 0u64, 0u64, 0u64, None::<u64>);
    for (entry, packed) in archive.files.iter().zip(packed_sizes(archive)) {
        let modified = entry.has_last_modified_date.then_some(entry.last_modified_date);
        let when = modified.map_or_else(no_time, |t| date_time(t).0);
        writeln!(
            out,
            "{when} {} {:>12} {:>12}  {}",
            attribute_letters(entry),
            entry.size,
            optional(packed),
            entry.name
        )?;
        size += entry.size;
        packed_size += packed.unwrap_or(0);
        *(if entry.is_directory { &mut folders } else { &mut files }) += 1;
        newest = newest.max(modified.map(u64::from));
    }
    let when = newest.map_or_else(no_time, |ticks| date_time(ticks.into()).0);
    let folders = if folders > 0 { format!(", {folders} folders") } else { String::new() };
    writeln!(out, "{RULE}\n{when}       {size:>12} {packed_size:>12}  {files} files{folders}")
}

/// A value, or nothing where there is none (7zz leaves the field empty).
fn optional(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Decodes everything and checks every CRC; returns the number of files tested.
pub fn test(archive: &Path, password: &Option<SecretBuf>) -> Result<usize, ArchiveError> {
    let mut reader = open(archive, password)?;
    let mut tested = 0;
    let mut current = String::new();
    reader
        .for_each_entries(|entry, data| {
            current = entry.name.clone();
            io::copy(data, &mut io::sink())?;
            tested += 1;
            Ok(true)
        })
        .map_err(|e| classify(e, &decoding_context(archive, &current)))?;
    Ok(tested)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_have_seven_digits() {
        assert_eq!(date_time(attributes::nt_time(1_700_000_000, 5_000_000)).1, "0050000");
    }

    #[test]
    fn times_before_1970_keep_their_date() {
        assert_eq!(attributes::unix_seconds(attributes::nt_time(-86_400, 0)), (-86_400, 0));
        assert_eq!(attributes::unix_seconds(attributes::nt_time(1_700_000_000, 300)), (1_700_000_000, 3));
    }
}
