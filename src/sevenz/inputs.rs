//! What `secarc a` reads: the arguments walked depth-first (directories before their
//! content), wildcards expanded and exclusions applied, symlinks followed or kept
//! (-snl), each entry named as 7zz would store it.

use super::ArchiveError;
use super::attributes;
use super::create::{CreateOptions, Times};
use super::header_writer::FileRecord;
use super::selection;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

pub(super) enum Content {
    Directory,
    File { path: PathBuf, size: u64 },
    Link { target: Vec<u8> },
}

pub(super) struct Item {
    pub name: String,
    pub content: Content,
    pub meta: fs::Metadata,
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

pub(super) fn io_error(path: &Path, e: io::Error) -> ArchiveError {
    ArchiveError::Io(format!("{}: {e}", path.display()))
}

/// Walks the arguments depth-first, directories before their content, expanding
/// wildcards and leaving out what the selection excludes.
pub(super) fn collect(args: &[PathBuf], options: &CreateOptions) -> Result<Vec<Item>, ArchiveError> {
    let mut items = Vec::new();
    for arg in args {
        let pattern = arg.file_name().and_then(|n| n.to_str()).filter(|n| selection::has_wildcards(n));
        match pattern {
            Some(pattern) => {
                let dir = arg.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                if selection::has_wildcards(&dir.to_string_lossy()) {
                    return Err(ArchiveError::Io(format!(
                        "{}: wildcards work in the last part of a path only",
                        arg.display()
                    )));
                }
                let before = items.len();
                collect_matches(dir, &name_prefix(dir), pattern, options, &mut items, 0)?;
                if items.len() == before {
                    return Err(ArchiveError::Io(format!("{}: no file matches", arg.display())));
                }
            }
            None if names_contents(arg) => {
                for (child, name) in sorted_children(arg)? {
                    collect_one(&child.path(), name, options, &mut items, 1)?;
                }
            }
            None => collect_one(arg, archive_name(arg)?, options, &mut items, 0)?,
        }
    }
    Ok(items)
}

/// `.`, `./` or `dir/.`: 7zz stores what the directory holds, under names relative to
/// it. (Path's components drop a trailing `.`, so this looks at the bytes.)
fn names_contents(arg: &Path) -> bool {
    let bytes = arg.as_os_str().as_bytes();
    let trimmed = bytes.strip_suffix(b"/").unwrap_or(bytes);
    trimmed == b"." || trimmed.ends_with(b"/.")
}

/// Where names found under a wildcard's directory start: its path when plain and
/// relative, as 7zz does, else nothing.
fn name_prefix(dir: &Path) -> String {
    let plain_relative = !dir.is_absolute() && !dir.components().any(|c| c == Component::ParentDir);
    let kept: PathBuf = dir.components().filter(|c| matches!(c, Component::Normal(_))).collect();
    if plain_relative { kept.to_string_lossy().into_owned() } else { String::new() }
}

/// A directory's entries in name order (archives list the same way every run), with
/// their names, which 7z needs in UTF-8.
fn sorted_children(dir: &Path) -> Result<Vec<(fs::DirEntry, String)>, ArchiveError> {
    let mut children: Vec<fs::DirEntry> =
        fs::read_dir(dir).map_err(|e| io_error(dir, e))?.collect::<Result<_, _>>().map_err(|e| io_error(dir, e))?;
    children.sort_by_key(|c| c.file_name());
    children
        .into_iter()
        .map(|child| match child.file_name().into_string() {
            Ok(name) => Ok((child, name)),
            Err(_) => Err(ArchiveError::Io(format!("{}: not a UTF-8 name", child.path().display()))),
        })
        .collect()
}

/// The entries of `dir` whose name matches `pattern`; with -r, also below it.
fn collect_matches(
    dir: &Path,
    prefix: &str,
    pattern: &str,
    options: &CreateOptions,
    items: &mut Vec<Item>,
    depth: usize,
) -> Result<(), ArchiveError> {
    if depth > 256 {
        return Err(ArchiveError::Io(format!("{}: directories nested too deep", dir.display())));
    }
    for (child, child_name) in sorted_children(dir)? {
        let name = if prefix.is_empty() { child_name.clone() } else { format!("{prefix}/{child_name}") };
        if selection::matches(pattern, &child_name) {
            collect_one(&child.path(), name, options, items, depth + 1)?;
        } else if options.selection.recurse
            && child.file_type().is_ok_and(|t| t.is_dir())
            && !options.selection.excludes(&name)
        {
            collect_matches(&child.path(), &name, pattern, options, items, depth + 1)?;
        }
    }
    Ok(())
}

fn collect_one(
    path: &Path,
    name: String,
    options: &CreateOptions,
    items: &mut Vec<Item>,
    depth: usize,
) -> Result<(), ArchiveError> {
    if options.selection.excludes(&name) {
        return Ok(());
    }
    let store_symlinks = options.store_symlinks;
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
        for (child, child_name) in sorted_children(path)? {
            collect_one(&child.path(), format!("{name}/{child_name}"), options, items, depth + 1)?;
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

/// The header record of an item.
pub(super) fn record_for(item: &Item, times: Times) -> FileRecord {
    let m = &item.meta;
    let (is_directory, has_stream) = match &item.content {
        Content::Directory => (true, false),
        Content::File { size, .. } => (false, *size > 0),
        Content::Link { .. } => (false, true),
    };
    FileRecord {
        name: item.name.clone(),
        has_stream,
        is_directory,
        attributes: attributes::from_mode(m.mode(), is_directory),
        // 7-Zip on Linux stores the inode change time as "created".
        created: times.created.then(|| attributes::nt_time(m.ctime(), m.ctime_nsec()).into()),
        accessed: times.accessed.then(|| attributes::nt_time(m.atime(), m.atime_nsec()).into()),
        modified: times.modified.then(|| attributes::nt_time(m.mtime(), m.mtime_nsec()).into()),
    }
}

/// The bytes an item puts into a block.
pub(super) fn data_size(item: &Item) -> u64 {
    match &item.content {
        Content::File { size, .. } => *size,
        Content::Link { target } => target.len() as u64,
        Content::Directory => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_dot_names_the_contents() {
        for arg in [".", "./", "d/.", "d/./"] {
            assert!(names_contents(Path::new(arg)), "{arg}");
        }
        for arg in ["d", "d/", "..", "a.b", ".hidden"] {
            assert!(!names_contents(Path::new(arg)), "{arg}");
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
