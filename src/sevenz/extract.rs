//! `secarc x` / `e`: extraction that cannot be turned against the user.
//!
//! Every name is checked before anything is written (no absolute paths, no `..`); a
//! file is never written through a symlink; symlinks are created last and only when
//! they point inside the target. Data goes to temporary files that are renamed into
//! place only once the whole archive has decoded and every CRC matched: a wrong
//! password or a damaged archive leaves no half-written file that looks complete.

use super::attributes;
use super::safe_path;
use super::{ArchiveError, classify, decoding_context};
use crate::secret::SecretBuf;
use crate::sys::interrupt;
use crate::sys::progress::{Counter, CountingReader, Progress};
use crate::sys::stdio::Stream;
use sevenz_rust2::{ArchiveEntry, ArchiveReader, Password};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What to do when a file to extract already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// -y
    Always,
    /// No terminal to ask and no -y: refuse.
    Refuse,
    /// Ask on the terminal (the callback decides).
    Ask,
}

/// The answer to "overwrite this file?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    All,
    Quit,
}

pub struct ExtractOptions {
    pub password: Option<SecretBuf>,
    /// `e`: every file straight into the target, no directories.
    pub flat: bool,
    pub overwrite: Overwrite,
    /// -bsp.
    pub progress: Stream,
}

#[derive(Default, Debug)]
pub struct ExtractSummary {
    pub files: usize,
    pub directories: usize,
    pub links: usize,
    pub skipped: usize,
    pub bytes: u64,
}

enum Kind {
    Directory,
    File,
    Link,
}

struct Planned {
    relative: PathBuf,
    kind: Kind,
    mode: Option<u32>,
    entry: ArchiveEntry,
}

pub fn password_of(secret: &Option<SecretBuf>) -> Result<Password, ArchiveError> {
    match secret {
        None => Ok(Password::empty()),
        Some(p) => std::str::from_utf8(p.expose())
            .map(Password::new)
            .map_err(|_| ArchiveError::Io("the password is not valid UTF-8".into())),
    }
}

/// How much of the archive is read at a time.
const READ_BUFFER: usize = 1 << 20;

/// Opens an archive for reading, mapping a wrong password and damage to clear errors.
///
/// Decoding runs on one thread, whatever `-mmt` says. The crate's parallel LZMA2
/// decoder holds each stretch between dictionary resets whole, compressed and decoded:
/// a 349 MB file that 7zz packed with `-mmt=1` (no resets) took 544 MB of memory, and a
/// larger one would take more. Neither secarc's pieces nor 7zz's `-mx=9` streams below
/// 256 MiB reset the dictionary, so on those it never ran in parallel anyway (measured:
/// the same CPU time on one thread or two). 7zz's multithreaded low levels do reset
/// every 4× dictionary; their parallel decoding is what this gives up (see README).
pub fn open(archive: &Path, password: &Option<SecretBuf>) -> Result<ArchiveReader<BufReader<File>>, ArchiveError> {
    let file = File::open(archive).map_err(|e| ArchiveError::Io(format!("{}: {e}", archive.display())))?;
    // The crate's AES stage reads its input 512 bytes at a time: unbuffered, that was
    // one system call per 512 bytes of archive (47,000 for a 27 MB archive).
    let file = BufReader::with_capacity(READ_BUFFER, file);
    let mut reader =
        ArchiveReader::new(file, password_of(password)?).map_err(|e| classify(e, &archive.display().to_string()))?;
    reader.set_thread_count(1);
    Ok(reader)
}

fn plan(entries: &[ArchiveEntry], flat: bool) -> Result<Vec<Planned>, ArchiveError> {
    let mut planned = Vec::new();
    for entry in entries {
        let relative =
            safe_path::relative(&entry.name).map_err(|why| ArchiveError::Refused(format!("unsafe entry {why}")))?;
        let mode = attributes::unix_mode(entry.windows_attributes).filter(|_| entry.has_windows_attributes);
        let kind = if entry.is_directory {
            Kind::Directory
        } else if mode.is_some_and(attributes::is_symlink_mode) {
            Kind::Link
        } else {
            Kind::File
        };
        if flat && matches!(kind, Kind::Directory) {
            continue;
        }
        let relative = if flat { PathBuf::from(relative.file_name().expect("checked non-empty")) } else { relative };
        planned.push(Planned { relative, kind, mode, entry: entry.clone() });
    }
    Ok(planned)
}

/// Creates `dir` and its parents under `root`, refusing to go through a symlink.
fn make_dirs(root: &Path, relative: &Path) -> Result<(), ArchiveError> {
    let mut current = root.to_path_buf();
    for part in relative.components() {
        current.push(part);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(ArchiveError::Refused(format!("{}: exists and is not a directory", current.display())));
            }
            Err(_) => fs::create_dir(&current).map_err(|e| ArchiveError::Io(format!("{}: {e}", current.display())))?,
        }
    }
    Ok(())
}

fn set_times(path: &Path, entry: &ArchiveEntry) {
    let mut times = fs::FileTimes::new();
    if entry.has_last_modified_date {
        times = times.set_modified(attributes::system_time(entry.last_modified_date));
    }
    if entry.has_access_date {
        times = times.set_accessed(attributes::system_time(entry.access_date));
    }
    if let Ok(file) = File::options().write(false).read(true).open(path) {
        let _ = file.set_times(times);
    }
}

/// Extracts everything into `target` (created if missing).
pub fn extract(
    archive: &Path,
    target: &Path,
    options: &ExtractOptions,
    ask: &mut dyn FnMut(&Path) -> Answer,
) -> Result<ExtractSummary, ArchiveError> {
    let mut reader = open(archive, &options.password)?;
    let planned = plan(&reader.archive().files, options.flat)?;
    fs::create_dir_all(target).map_err(|e| ArchiveError::Io(format!("{}: {e}", target.display())))?;
    let mut summary = ExtractSummary::default();

    // Decide about existing files before writing anything.
    let mut overwrite_all = options.overwrite == Overwrite::Always;
    let mut skip: Vec<bool> = Vec::with_capacity(planned.len());
    for item in &planned {
        let exists = fs::symlink_metadata(target.join(&item.relative)).is_ok_and(|m| !m.is_dir());
        let skip_it = if matches!(item.kind, Kind::Directory) || !exists || overwrite_all {
            false
        } else {
            match options.overwrite {
                Overwrite::Refuse => {
                    return Err(ArchiveError::Refused(format!(
                        "{} exists: not overwritten (use -y to overwrite)",
                        target.join(&item.relative).display()
                    )));
                }
                _ => match ask(&target.join(&item.relative)) {
                    Answer::Yes => false,
                    Answer::No => true,
                    Answer::All => {
                        overwrite_all = true;
                        false
                    }
                    Answer::Quit => return Err(ArchiveError::Refused("extraction cancelled".into())),
                },
            }
        };
        skip.push(skip_it);
    }

    for item in planned.iter().filter(|i| matches!(i.kind, Kind::Directory)) {
        make_dirs(target, &item.relative)?;
    }
    let index: HashMap<&str, usize> = planned.iter().enumerate().map(|(i, p)| (p.entry.name.as_str(), i)).collect();
    // Each staged file is deleted if it fails, or if a signal ends secarc.
    let mut staged: Vec<(tempfile::TempPath, PathBuf, usize, interrupt::Registered)> = Vec::new();
    let mut link_targets: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut current = String::new();
    let counter = Counter::default();
    let total: u64 = planned.iter().map(|p| p.entry.size).sum();
    let progress = Progress::start("extracting", total, counter.clone(), options.progress);
    let decoded = reader.for_each_entries(|entry, data| {
        current = entry.name.clone();
        let data = &mut CountingReader::new(data, counter.clone());
        let Some(&i) = index.get(entry.name.as_str()) else {
            // A directory skipped by `e`: nothing to write; drain to keep the CRC check.
            io::copy(data, &mut io::sink())?;
            return Ok(true);
        };
        let item = &planned[i];
        match item.kind {
            Kind::Directory => {}
            Kind::Link => {
                let mut link = Vec::new();
                data.take(64 * 1024).read_to_end(&mut link)?;
                link_targets.insert(i, link);
            }
            Kind::File => {
                if skip[i] {
                    io::copy(data, &mut io::sink())?;
                    return Ok(true);
                }
                let destination = target.join(&item.relative);
                safe_path::check_no_symlink_ancestors(target, &item.relative)
                    .map_err(|why| sevenz_rust2::Error::Other(format!("refused: {why}").into()))?;
                let parent = destination.parent().unwrap_or(target);
                if !options.flat {
                    fs::create_dir_all(parent)?;
                }
                let (mut temp, registered) = interrupt::create_registered(|| {
                    tempfile::Builder::new().prefix(".secarc-").suffix(".partial").tempfile_in(parent)
                })?;
                io::copy(data, temp.as_file_mut())?;
                temp.as_file_mut().flush()?;
                staged.push((temp.into_temp_path(), destination, i, registered));
            }
        }
        Ok(true)
    });
    drop(progress);
    // Any failure: the staged temporary files are deleted as they drop.
    decoded.map_err(|e| {
        let context = decoding_context(archive, &current);
        match e {
            sevenz_rust2::Error::Other(ref why) if why.starts_with("refused: ") => {
                ArchiveError::Refused(why.trim_start_matches("refused: ").to_string())
            }
            e => classify(e, &context),
        }
    })?;

    for (temp, destination, i, _registered) in staged {
        let item = &planned[i];
        if let Some(mode) = item.mode {
            let _ = fs::set_permissions(&temp, fs::Permissions::from_mode(mode & 0o7777));
        }
        set_times(&temp, &item.entry);
        temp.persist(&destination).map_err(|e| ArchiveError::Io(format!("{}: {}", destination.display(), e.error)))?;
        summary.files += 1;
        summary.bytes += item.entry.size;
    }
    for (i, target_bytes) in link_targets {
        let item = &planned[i];
        // Symlinks are made last, and only pointing inside: nothing is written through one.
        let link_target = PathBuf::from(std::ffi::OsStr::from_bytes(&target_bytes));
        if !safe_path::link_stays_inside(&item.relative, &link_target) {
            eprintln!(
                "secarc: {}: symlink to {} points outside the target: not created",
                item.relative.display(),
                link_target.display()
            );
            summary.skipped += 1;
            continue;
        }
        let destination = target.join(&item.relative);
        if skip[i] {
            continue;
        }
        let _ = fs::remove_file(&destination);
        std::os::unix::fs::symlink(&link_target, &destination)
            .map_err(|e| ArchiveError::Io(format!("{}: {e}", destination.display())))?;
        summary.links += 1;
    }
    // Directory modes and times last, deepest first, so writing inside them is done.
    let mut dirs: Vec<&Planned> = planned.iter().filter(|i| matches!(i.kind, Kind::Directory)).collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.relative.components().count()));
    for dir in dirs {
        let path = target.join(&dir.relative);
        if let Some(mode) = dir.mode {
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777));
        }
        set_times(&path, &dir.entry);
        summary.directories += 1;
    }
    Ok(summary)
}
