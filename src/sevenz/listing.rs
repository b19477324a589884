//! `secarc l` (7-Zip's table, `-slt` its technical listing) and `secarc t`.

use super::attributes;
use super::extract::open;
use super::{ArchiveError, classify, decoding_context, methods};
use crate::secret::SecretBuf;
use sevenz_rust2::ArchiveEntry;
use std::io;
use std::path::Path;
use std::time::UNIX_EPOCH;

/// `YYYY-MM-DD HH:MM:SS` (UTC) and the 7-digit fraction, from a FILETIME.
fn date_time(entry_time: sevenz_rust2::NtTime) -> (String, String) {
    let t = attributes::system_time(entry_time);
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let clock = format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    (clock, format!("{:07}", since.subsec_nanos() / 100))
}

/// `D drwxr-xr-x` / `A -rw-r--r--`, as 7-Zip shows attributes.
fn attribute_text(entry: &ArchiveEntry) -> String {
    let kind = if entry.is_directory { "D" } else { "A" };
    let Some(mode) = attributes::unix_mode(entry.windows_attributes).filter(|_| entry.has_windows_attributes) else {
        return kind.to_string();
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
    format!("{kind} {perms}")
}

pub fn list(
    archive: &Path,
    password: &Option<SecretBuf>,
    technical: bool,
    out: &mut dyn io::Write,
) -> Result<(), ArchiveError> {
    let reader = open(archive, password)?;
    let files = &reader.archive().files;
    let write_err = |e: io::Error| ArchiveError::Io(format!("stdout: {e}"));
    if technical {
        writeln!(
            out,
            "Path = {}\nType = 7z\nBlocks = {}\n\n----------",
            archive.display(),
            reader.archive().blocks.len()
        )
        .map_err(write_err)?;
        let archive_info = reader.archive();
        for (index, entry) in files.iter().enumerate() {
            let block_index = archive_info.stream_map.file_block_index.get(index).copied().flatten();
            let block = block_index.and_then(|b| archive_info.blocks.get(b));
            let (m, mf) = date_time(entry.last_modified_date);
            let (c, cf) = date_time(entry.creation_date);
            let (a, af) = date_time(entry.access_date);
            let time = |has: bool, t: &str, f: &str| if has { format!("{t}.{f}") } else { String::new() };
            writeln!(
                out,
                "Path = {}\nSize = {}\nModified = {}\nCreated = {}\nAccessed = {}\nAttributes = {}\nCRC = {}\n\
                 Encrypted = {}\nMethod = {}\nBlock = {}\n",
                entry.name,
                entry.size,
                time(entry.has_last_modified_date, &m, &mf),
                time(entry.has_creation_date, &c, &cf),
                time(entry.has_access_date, &a, &af),
                attribute_text(entry),
                if entry.has_crc { format!("{:08X}", entry.crc) } else { String::new() },
                if block.is_some_and(methods::is_encrypted) { "+" } else { "-" },
                block.map(methods::method_names).unwrap_or_default(),
                block_index.map(|b| b.to_string()).unwrap_or_default(),
            )
            .map_err(write_err)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "   Date      Time    Attr         Size  Name\n------------------- ----- ------------  ------------------------"
    )
    .map_err(write_err)?;
    let (mut total, mut file_count, mut dir_count) = (0u64, 0usize, 0usize);
    for entry in files {
        let (when, _) = date_time(entry.last_modified_date);
        let attr = if entry.is_directory { "D...." } else { "....A" };
        writeln!(out, "{when} {attr} {:>12}  {}", entry.size, entry.name).map_err(write_err)?;
        total += entry.size;
        if entry.is_directory {
            dir_count += 1;
        } else {
            file_count += 1;
        }
    }
    writeln!(out, "------------------- ----- ------------  ------------------------\n{:>38}  {file_count} files, {dir_count} folders", total)
        .map_err(write_err)?;
    Ok(())
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
    fn dates_are_civil_utc() {
        let t = attributes::nt_time(1_700_000_000, 5_000_000);
        assert_eq!(date_time(t), ("2023-11-14 22:13:20".to_string(), "0050000".to_string()));
        assert_eq!(date_time(attributes::nt_time(951_782_400, 0)).0, "2000-02-29 00:00:00");
    }
}
