//! `armorbox --install [-s] DIR`: one link per applet in DIR, like busybox.
//!
//! Never overwrites anything that is not already a link to armorbox: a user's own
//! `vaultfs` script or another tool of the same name is left alone and reported.

use crate::registry::APPLETS;
use armorbox::exit::{Failure, code};
use armorbox::sys::self_exe;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Some links were not made because a foreign file holds the name.
const SOME_LEFT_ALONE: i32 = 3;

#[derive(Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    Hard,
    Symbolic,
}

pub fn run(args: &[OsString]) -> Result<(), Failure> {
    let (kind, dir) = parse(args)?;
    let exe = self_exe::own_binary().map_err(|e| Failure::new(code::IO, e.to_string()))?;
    let dir_meta = fs::metadata(&dir).map_err(|e| Failure::new(code::IO, format!("{}: {e}", dir.display())))?;
    if !dir_meta.is_dir() {
        return Err(Failure::new(code::IO, format!("{}: not a directory", dir.display())));
    }
    let target = symlink_target(&exe, &dir);
    let mut left_alone = Vec::new();
    for applet in APPLETS {
        let link = dir.join(applet.name);
        match install_one(kind, &exe, &target, &link)? {
            Outcome::Made => println!("{} -> {}", link.display(), target.display()),
            Outcome::AlreadyThere => println!("{}: already a link to armorbox", link.display()),
            Outcome::Foreign => left_alone.push(link),
        }
    }
    if left_alone.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = left_alone.iter().map(|p| p.display().to_string()).collect();
    Err(Failure::new(
        SOME_LEFT_ALONE,
        format!("left alone (they exist and are not links to armorbox): {}", names.join(", ")),
    ))
}

fn parse(args: &[OsString]) -> Result<(LinkKind, PathBuf), Failure> {
    let usage = || Failure::usage("usage: armorbox --install [-s] DIR");
    match args {
        [flag, dir] if flag == "-s" => Ok((LinkKind::Symbolic, PathBuf::from(dir))),
        [dir] if !dir.to_string_lossy().starts_with('-') => Ok((LinkKind::Hard, PathBuf::from(dir))),
        _ => Err(usage()),
    }
}

/// A relative target when the binary sits in DIR itself, so the tree can be moved.
fn symlink_target(exe: &Path, dir: &Path) -> PathBuf {
    let same_dir = fs::canonicalize(dir).ok().as_deref() == exe.parent();
    match (same_dir, exe.file_name()) {
        (true, Some(name)) => PathBuf::from(name),
        _ => exe.to_path_buf(),
    }
}

enum Outcome {
    Made,
    AlreadyThere,
    Foreign,
}

fn install_one(kind: LinkKind, exe: &Path, target: &Path, link: &Path) -> Result<Outcome, Failure> {
    let fail = |e: io::Error| Failure::new(code::IO, format!("{}: {e}", link.display()));
    match fs::symlink_metadata(link) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
        Ok(meta) => {
            if !points_at_armorbox(link, &meta, exe) {
                return Ok(Outcome::Foreign);
            }
            let wanted = match kind {
                LinkKind::Hard => meta.is_file(),
                LinkKind::Symbolic => fs::read_link(link).ok().as_deref() == Some(target),
            };
            if wanted && same_file(link, exe) {
                return Ok(Outcome::AlreadyThere);
            }
        }
    }
    // Made under a temporary name and renamed over: the name never disappears.
    let temporary =
        link.with_file_name(format!(".{}.armorbox-install", link.file_name().unwrap_or_default().to_string_lossy()));
    let _ = fs::remove_file(&temporary);
    let made = match kind {
        LinkKind::Symbolic => std::os::unix::fs::symlink(target, &temporary),
        LinkKind::Hard => fs::hard_link(exe, &temporary),
    };
    made.map_err(|e| match e.raw_os_error() {
        Some(code) if code == rustix::io::Errno::XDEV.raw_os_error() => {
            Failure::new(code::IO, format!("{}: hard links cannot cross filesystems; use --install -s", link.display()))
        }
        _ => fail(e),
    })?;
    fs::rename(&temporary, link).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        fail(e)
    })?;
    Ok(Outcome::Made)
}

/// Ours: the very binary (a hard link, or a symlink resolving to it), or a symlink
/// whose target is named armorbox (an older install elsewhere, even if dangling).
fn points_at_armorbox(link: &Path, meta: &fs::Metadata, exe: &Path) -> bool {
    if same_file(link, exe) {
        return true;
    }
    meta.file_type().is_symlink()
        && fs::read_link(link)
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().starts_with("armorbox")))
            .unwrap_or(false)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}
