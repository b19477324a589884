//! The cipher directory, reached only through descriptors.
//!
//! Every operation names its object as (descriptor of the parent directory, one name)
//! and uses the `*at` system calls without following a symbolic link in that last
//! name; directories are reached by opening one component at a time with
//! `O_NOFOLLOW`. A user who can write into the cipher directory therefore cannot, by
//! swapping a directory for a symbolic link while vaultfs runs (as root, say, with
//! `-allow_other`), make it act on anything outside: the swapped link is refused, never
//! followed. Paths are also never longer than one name, so trees deeper than PATH_MAX
//! in ciphertext work.
//!
//! Calls Linux has no "no follow" variant of (chmod, the xattr calls, access) go through
//! an `O_PATH | O_NOFOLLOW` descriptor of the object itself and its `/proc/self/fd`
//! entry, which names exactly that object.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// The name that designates a directory itself when given with its own descriptor:
/// the root of the cipher directory is handled as (its descriptor, ".").
pub const SELF: &str = ".";

/// A directory handle for `*at` calls only: no read access needed, never a link.
const DIR_HANDLE: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);
/// A handle on the object a name designates, even a symbolic link itself.
const OBJECT_HANDLE: OFlags = OFlags::PATH.union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

pub fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// The root of the cipher directory. The user's own path may contain links: it is
/// resolved once, here, as gocryptfs does.
pub fn open_root(path: &std::path::Path) -> io::Result<OwnedFd> {
    rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(io_err)
}

/// A handle on the directory `name` in `parent`; a symbolic link there is refused.
pub fn open_dir_handle(parent: BorrowedFd, name: &OsStr) -> io::Result<OwnedFd> {
    rustix::fs::openat(parent, name, DIR_HANDLE, Mode::empty()).map_err(io_err)
}

/// A handle on whatever `name` is (a link stays a link).
pub fn open_object(parent: BorrowedFd, name: &OsStr) -> io::Result<OwnedFd> {
    rustix::fs::openat(parent, name, OBJECT_HANDLE, Mode::empty()).map_err(io_err)
}

/// The directory `name` opened for reading its entries.
pub fn open_dir_for_listing(parent: BorrowedFd, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(parent, name, flags, Mode::empty()).map_err(io_err)
}

/// Opens a file with the given flags plus `O_NOFOLLOW` (a link gives ELOOP).
pub fn open_file(parent: BorrowedFd, name: &OsStr, flags: OFlags, mode: u32) -> io::Result<File> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(parent, name, flags, Mode::from_raw_mode(mode)).map(File::from).map_err(io_err)
}

pub fn stat(parent: BorrowedFd, name: &OsStr) -> io::Result<Stat> {
    rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err)
}

pub fn read_link(parent: BorrowedFd, name: &OsStr) -> io::Result<Vec<u8>> {
    rustix::fs::readlinkat(parent, name, Vec::new()).map(|target| target.into_bytes()).map_err(io_err)
}

/// The `/proc/self/fd` entry of a descriptor: a name for exactly that object.
fn proc_path(fd: BorrowedFd) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL in a number")
}

/// chmod without following a link in `name` (links have no mode of their own on Linux).
pub fn chmod(parent: BorrowedFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let object = open_object(parent, name)?;
    if FileType::from_raw_mode(rustix::fs::fstat(&object).map_err(io_err)?.st_mode) == FileType::Symlink {
        return Err(io_err(Errno::OPNOTSUPP));
    }
    rustix::fs::chmod(proc_path(object.as_fd()).as_c_str(), Mode::from_raw_mode(mode)).map_err(io_err)
}

pub fn chown(parent: BorrowedFd, name: &OsStr, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    let (uid, gid) = (uid.map(rustix::fs::Uid::from_raw), gid.map(rustix::fs::Gid::from_raw));
    rustix::fs::chownat(parent, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err)
}

pub fn set_times(parent: BorrowedFd, name: &OsStr, times: &rustix::fs::Timestamps) -> io::Result<()> {
    rustix::fs::utimensat(parent, name, times, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err)
}

/// access(2) for the object itself; a link is always accessible (as lstat sees it).
pub fn access(parent: BorrowedFd, name: &OsStr, mode: rustix::fs::Access) -> io::Result<()> {
    let object = open_object(parent, name)?;
    if FileType::from_raw_mode(rustix::fs::fstat(&object).map_err(io_err)?.st_mode) == FileType::Symlink {
        return Ok(());
    }
    rustix::fs::access(proc_path(object.as_fd()).as_c_str(), mode).map_err(io_err)
}

/// The extended-attribute calls on the object `name` in `parent` designates, through
/// `/proc/self/fd/PARENT/NAME` and the calls that do not follow a link in the last
/// name: the only way to reach exactly that object for these calls (a link's own
/// attributes, never its target's).
pub struct XattrTarget {
    path: CString,
}

impl XattrTarget {
    pub fn new(parent: BorrowedFd, name: &OsStr) -> io::Result<Self> {
        let mut path = format!("/proc/self/fd/{}/", parent.as_raw_fd()).into_bytes();
        path.extend_from_slice(name.as_bytes());
        Ok(XattrTarget { path: CString::new(path).map_err(|_| io_err(Errno::INVAL))? })
    }

    pub fn get(&self, name: &OsStr) -> Result<Vec<u8>, Errno> {
        let path = self.path.as_c_str();
        sized(|| rustix::fs::lgetxattr_query(path, name), |buf| rustix::fs::lgetxattr(path, name, buf))
    }

    pub fn list(&self) -> Result<Vec<u8>, Errno> {
        let path = self.path.as_c_str();
        sized(|| rustix::fs::llistxattr_query(path), |buf| rustix::fs::llistxattr(path, buf))
    }

    pub fn set(&self, name: &OsStr, value: &[u8], flags: rustix::fs::XattrFlags) -> Result<(), Errno> {
        rustix::fs::lsetxattr(self.path.as_c_str(), name, value, flags)
    }

    pub fn remove(&self, name: &OsStr) -> Result<(), Errno> {
        rustix::fs::lremovexattr(self.path.as_c_str(), name)
    }
}

/// The bytes an xattr call fills in, in a buffer of the size `query` says it needs.
/// `ls -l` asks for an ACL on every file and most files have none: one query settles
/// that, where a fixed 64 KiB buffer for each was allocated and cleared.
fn sized(
    query: impl Fn() -> rustix::io::Result<usize>,
    fill: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
) -> Result<Vec<u8>, Errno> {
    loop {
        let mut buf = vec![0u8; query()?];
        match fill(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            // It grew between the two calls: ask again.
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One entry of a cipher directory as read from it.
pub struct RawEntry {
    pub name: OsString,
    pub ino: u64,
    pub file_type: FileType,
}

/// Every entry of an open directory but `.` and `..`. Entries whose type the
/// filesystem does not report are stat'ed.
pub fn read_entries(dir: &OwnedFd) -> io::Result<Vec<RawEntry>> {
    let mut reader = rustix::fs::Dir::read_from(dir).map_err(io_err)?;
    let mut out = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry.map_err(io_err)?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        let file_type = match entry.file_type() {
            FileType::Unknown => FileType::from_raw_mode(stat(dir.as_fd(), name)?.st_mode),
            known => known,
        };
        out.push(RawEntry { name: name.to_owned(), ino: entry.ino(), file_type });
    }
    Ok(out)
}

/// Reads a small whole file (a directory IV, a long name) without following a link.
pub fn read_small_file(parent: BorrowedFd, name: &OsStr, limit: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_file(parent, name, OFlags::RDONLY, 0)?;
    let mut out = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// Writes a new small file (a directory IV, a long name) with `mode`; it must not exist.
pub fn write_new_file(parent: BorrowedFd, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write;
    let mut file = open_file(parent, name, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL, mode)?;
    file.write_all(bytes)
}
