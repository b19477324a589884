//! Access to the plaintext directory relative to one descriptor of its root: every
//! path is walked component by component with `openat(O_PATH|O_NOFOLLOW)`, so a
//! symlink swapped in for a directory by a user who can write the tree is never
//! followed out of it.

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, Stat};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub struct Backing {
    root: OwnedFd,
}

/// One directory entry as listed by getdents (without `.` and `..`).
pub struct RawEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub kind: rustix::fs::FileType,
}

fn io_err(e: rustix::io::Errno) -> io::Error {
    e.into()
}

/// Splits a relative plaintext path into its parent and last component; the root
/// ("") is itself seen as "." in itself.
pub fn split(path: &[u8]) -> (&[u8], &[u8]) {
    if path.is_empty() {
        return (b"", b".");
    }
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (b"", path),
    }
}

impl Backing {
    /// The root itself may be reached through symlinks: it is what the user named.
    pub fn open(root: &Path) -> io::Result<Self> {
        let root = rustix::fs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(io_err)?;
        Ok(Backing { root })
    }

    /// A descriptor (O_PATH) of the directory at `dir`, "" being the root.
    pub fn dir(&self, dir: &[u8]) -> io::Result<OwnedFd> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut fd = rustix::fs::openat(&self.root, ".", flags, Mode::empty()).map_err(io_err)?;
        for part in dir.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
            fd = rustix::fs::openat(&fd, OsStr::from_bytes(part), flags, Mode::empty()).map_err(io_err)?;
        }
        Ok(fd)
    }

    /// lstat of a relative plaintext path.
    pub fn lstat(&self, path: &[u8]) -> io::Result<Stat> {
        let (parent, name) = split(path);
        let dir = self.dir(parent)?;
        lstat_at(&dir, name)
    }

    pub fn root_stat(&self) -> io::Result<Stat> {
        rustix::fs::fstat(&self.root).map_err(io_err)
    }

    pub fn read_link(&self, path: &[u8]) -> io::Result<Vec<u8>> {
        let (parent, name) = split(path);
        let dir = self.dir(parent)?;
        let target = rustix::fs::readlinkat(&dir, OsStr::from_bytes(name), Vec::new()).map_err(io_err)?;
        Ok(target.into_bytes())
    }

    /// Opens a regular file for reading; anything else is refused with EACCES, as
    /// gocryptfs does.
    pub fn open_file(&self, path: &[u8]) -> io::Result<(std::fs::File, Stat)> {
        let (parent, name) = split(path);
        let dir = self.dir(parent)?;
        let fd = rustix::fs::openat(
            &dir,
            OsStr::from_bytes(name),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err)?;
        let st = rustix::fs::fstat(&fd).map_err(io_err)?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok((std::fs::File::from(fd), st))
    }

    /// The entries of the directory at `path`, in getdents order.
    pub fn list(&self, path: &[u8]) -> io::Result<Vec<RawEntry>> {
        let (parent, name) = split(path);
        let dir = self.dir(parent)?;
        let fd = rustix::fs::openat(
            &dir,
            OsStr::from_bytes(name),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err)?;
        let mut out = Vec::new();
        let listing = rustix::fs::Dir::read_from(fd.as_fd()).map_err(io_err)?;
        for entry in listing {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let mut kind = entry.file_type();
            if kind == rustix::fs::FileType::Unknown {
                // Some filesystems do not fill d_type.
                if let Ok(st) = lstat_at(&fd, name) {
                    kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
                }
            }
            out.push(RawEntry { name: name.to_vec(), ino: entry.ino(), kind });
        }
        Ok(out)
    }

    pub fn statvfs(&self) -> io::Result<rustix::fs::StatVfs> {
        rustix::fs::fstatvfs(&self.root).map_err(io_err)
    }
}

fn lstat_at(dir: &impl AsFd, name: &[u8]) -> io::Result<Stat> {
    let flags = if name == b"." { AtFlags::empty() } else { AtFlags::SYMLINK_NOFOLLOW };
    rustix::fs::statat(dir, OsStr::from_bytes(name), flags).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_gives_parent_and_name() {
        assert_eq!(split(b""), (&b""[..], &b"."[..]));
        assert_eq!(split(b"a"), (&b""[..], &b"a"[..]));
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
    }

    #[test]
    fn symlinked_directories_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        std::fs::write(tmp.path().join("real/f"), b"x").unwrap();
        std::os::unix::fs::symlink("real", tmp.path().join("link")).unwrap();
        let b = Backing::open(tmp.path()).unwrap();
        assert!(b.lstat(b"real/f").is_ok());
        assert!(b.lstat(b"link/f").is_err());
        assert!(b.open_file(b"link").is_err(), "a symlink is not opened as a file");
        let names: Vec<Vec<u8>> = b.list(b"").unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names.len(), 2);
    }
}
