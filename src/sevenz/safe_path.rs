//! Names from an archive are hostile until checked: no absolute paths, no `..`, no empty
//! or `.` components, no NUL. Only then are they joined to the target directory.

use std::path::{Component, Path, PathBuf};

/// The relative path an entry name stands for, or why it is refused.
pub fn relative(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name.contains('\0') {
        return Err(format!("{name:?}: empty or NUL in name"));
    }
    let path = Path::new(name);
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("{name:?}: '..' would leave the target directory")),
            Component::RootDir | Component::Prefix(_) => return Err(format!("{name:?}: absolute path")),
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(format!("{name:?}: no name"));
    }
    Ok(clean)
}

/// Refuses a path inside `root` that goes through a symlink: a link extracted (or
/// planted) earlier must never redirect a later file out of the target.
pub fn check_no_symlink_ancestors(root: &Path, relative: &Path) -> Result<(), String> {
    let mut current = root.to_path_buf();
    let mut parts = relative.components().peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            break;
        }
        current.push(part);
        if let Ok(meta) = std::fs::symlink_metadata(&current)
            && meta.file_type().is_symlink()
        {
            return Err(format!("{}: goes through the symlink {}", relative.display(), current.display()));
        }
    }
    Ok(())
}

/// Whether a symlink stored at `link` (relative) with `target` stays inside the root.
pub fn link_stays_inside(link: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = link.components().count() as i64 - 1;
    for component in target.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "", "a\0b", ".", "a/.."] {
            assert!(relative(bad).is_err(), "{bad:?}");
        }
        assert_eq!(relative("./a//b/./c").unwrap(), PathBuf::from("a/b/c"));
    }

    #[test]
    fn links_must_point_inside() {
        assert!(link_stays_inside(Path::new("d/link"), Path::new("../a.txt")));
        assert!(!link_stays_inside(Path::new("d/link"), Path::new("../../etc")));
        assert!(!link_stays_inside(Path::new("link"), Path::new("/etc/passwd")));
        assert!(link_stays_inside(Path::new("link"), Path::new("a/b/../c")));
    }
}
