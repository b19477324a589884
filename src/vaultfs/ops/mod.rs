//! The FUSE operations of the forward filesystem. `VaultFs` holds the mount's state
//! and the helpers every operation shares (finding a node's cipher directory and name,
//! encrypting names, building attributes); the operations themselves are grouped by
//! family in the submodules, each returning a `Result` that `request.rs` turns into
//! the kernel's answer. Every access to the cipher directory goes through
//! descriptors (see `backing.rs`).

mod attributes;
mod dir_ops;
mod files;
mod glob;
mod kernel;
mod links;
mod xattrs;

#[cfg(test)]
mod tests;

use super::activity::Activity;
use super::backing::{self, SELF};
use super::content_io::ContentIo;
use super::dir_cache::{DirCache, DirHandle};
use super::nodes::{Link, NodeTable, ROOT};
use crate::gocryptfs::names::{DIRIV_LEN, DIRIV_NAME, DiskName, LONGNAME_SUFFIX, NameError};
use crate::gocryptfs::{Volume, config};
use crate::sys::log;
use fuser::{Errno, FileAttr, FileType, INodeNo};
use rustix::fs::Stat;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, UNIX_EPOCH};

/// Largest write the kernel sends in one request (as gocryptfs: 1 MiB).
const MAX_WRITE: u32 = 1 << 20;

/// Directories nested deeper than this are a cycle in the node table, not a tree.
const MAX_DEPTH: usize = 8192;

/// Mount-time choices that change behaviour.
#[derive(Clone, Debug, Default)]
pub struct MountSettings {
    /// -sharedstorage: no kernel caching of entries and attributes.
    pub shared_storage: bool,
    /// -noprealloc
    pub no_prealloc: bool,
    /// -ro
    pub read_only: bool,
    /// -kernel_cache
    pub kernel_cache: bool,
    /// -force_owner: every file shows this uid and gid.
    pub force_owner: Option<(u32, u32)>,
    /// -badname: glob patterns (Go's filepath.Match syntax) of cipher names that do not
    /// decrypt and are shown anyway, as `NAME GOCRYPTFS_BAD_NAME`.
    pub bad_names: Vec<String>,
    /// -d / -debug / -fusedebug: log every FUSE request and its answer.
    pub debug: bool,
}

/// The environment variable of the test-only fault switch: a lookup of exactly this
/// name panics inside the request, to prove that one request's bug costs that request
/// only. Harmless outside tests: it can only make the caller's own lookups fail.
pub const FAULT_PANIC_NAME: &str = "VAULTFS_TEST_PANIC_ON_NAME";

struct OpenFile {
    file: File,
    ino: u64,
}

/// A directory's entries as readdir hands them out: inode, type, plaintext name.
type Listing = Vec<(u64, FileType, OsString)>;

/// The filesystem handed to fuser.
pub struct VaultFs {
    volume: Arc<Volume>,
    settings: MountSettings,
    root: Arc<DirHandle>,
    nodes: Mutex<NodeTable>,
    dir_cache: DirCache,
    files: Mutex<HashMap<u64, Arc<OpenFile>>>,
    dirs: Mutex<HashMap<u64, Arc<Listing>>>,
    next_handle: AtomicU64,
    ttl: Duration,
    running_as_root: bool,
    activity: Arc<Activity>,
    fault_name: Option<OsString>,
}

fn io_errno(e: io::Error) -> Errno {
    Errno::from(e)
}

fn sys_errno(e: rustix::io::Errno) -> Errno {
    Errno::from_i32(e.raw_os_error())
}

fn name_errno(e: NameError) -> Errno {
    match e {
        NameError::TooLong => Errno::ENAMETOOLONG,
        NameError::Invalid => Errno::EINVAL,
        NameError::Undecryptable => Errno::EIO,
    }
}

/// Locks a table that no request leaves half-changed: a panic elsewhere while it was
/// held does not make it unusable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

use super::request::{file_type as kind, system_time};

impl VaultFs {
    pub fn new(volume: Arc<Volume>, cipher_dir: &Path, settings: MountSettings) -> io::Result<Self> {
        raise_open_file_limit();
        let fd = backing::open_root(cipher_dir)?;
        let iv = read_dir_iv(&volume, fd.as_fd()).map_err(io::Error::other)?;
        let ttl = if settings.shared_storage { Duration::ZERO } else { Duration::from_secs(1) };
        Ok(VaultFs {
            root: Arc::new(DirHandle { fd, iv }),
            nodes: Mutex::default(),
            dir_cache: DirCache::new(!settings.shared_storage),
            files: Mutex::default(),
            dirs: Mutex::default(),
            next_handle: AtomicU64::new(1),
            ttl,
            running_as_root: rustix::process::geteuid().is_root(),
            activity: Arc::default(),
            fault_name: std::env::var_os(FAULT_PANIC_NAME),
            volume,
            settings,
        })
    }

    /// For the `-idle` watcher, which runs beside the session.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
    }

    fn check_writable(&self) -> Result<(), Errno> {
        if self.settings.read_only { Err(Errno::EROFS) } else { Ok(()) }
    }

    /// The cipher directory of node `ino`, opened one component at a time from the
    /// root (through cached handles where there are some).
    fn dir(&self, ino: u64) -> Result<Arc<DirHandle>, Errno> {
        self.dir_at_depth(ino, 0)
    }

    fn dir_at_depth(&self, ino: u64, depth: usize) -> Result<Arc<DirHandle>, Errno> {
        if ino == ROOT {
            return Ok(Arc::clone(&self.root));
        }
        if let Some(handle) = self.dir_cache.get(ino) {
            return Ok(handle);
        }
        if depth > MAX_DEPTH {
            return Err(Errno::ELOOP);
        }
        let mut last = Errno::ESTALE;
        // Copied out first: the table's lock must not be held while walking up.
        let links = lock(&self.nodes).links(ino);
        for link in links {
            let parent = match self.dir_at_depth(link.parent, depth + 1) {
                Ok(parent) => parent,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            match backing::open_dir_handle(parent.fd.as_fd(), &link.disk_name) {
                Ok(fd) => {
                    let iv = read_dir_iv(&self.volume, fd.as_fd()).map_err(|e| {
                        log::warn(e);
                        Errno::EIO
                    })?;
                    let handle = Arc::new(DirHandle { fd, iv });
                    self.dir_cache.insert(ino, Arc::clone(&handle));
                    return Ok(handle);
                }
                Err(e) => last = io_errno(e),
            }
        }
        Err(last)
    }

    /// Runs `op` on node `ino` as (its cipher directory, its name), through each name
    /// the node is known under until one exists (another name of a hard link may
    /// have gone away). The root is (its own handle, ".").
    fn with_object<T>(&self, ino: u64, mut op: impl FnMut(BorrowedFd, &OsStr) -> io::Result<T>) -> Result<T, Errno> {
        if ino == ROOT {
            return op(self.root.fd.as_fd(), OsStr::new(SELF)).map_err(io_errno);
        }
        let links = lock(&self.nodes).links(ino);
        let mut last = Errno::ESTALE;
        for link in links {
            let parent = match self.dir(link.parent) {
                Ok(parent) => parent,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            match op(parent.fd.as_fd(), &link.disk_name) {
                Err(e) if e.raw_os_error() == Some(libc_enoent()) => last = Errno::ENOENT,
                other => return other.map_err(io_errno),
            }
        }
        Err(last)
    }

    /// The on-disk name of `name` in the cipher directory `dir`.
    fn disk_name(&self, dir: &DirHandle, name: &OsStr, parent: u64) -> Result<DiskName, Errno> {
        if self.volume.names.plaintext() && parent == ROOT && name == config::FILE_NAME {
            return Err(Errno::EPERM);
        }
        self.volume.names.encrypt(name.as_encoded_bytes(), &dir.iv).map_err(name_errno)
    }

    /// Writes the `.name` file of a long name before the object is created. Returns
    /// whether this call wrote it (an existing one has the same content: same name,
    /// same directory IV).
    fn write_long_name(&self, dir: &DirHandle, disk: &DiskName) -> Result<bool, Errno> {
        let DiskName::Long { hashed, full } = disk else { return Ok(false) };
        let name = OsString::from(format!("{hashed}{LONGNAME_SUFFIX}"));
        match backing::write_new_file(dir.fd.as_fd(), &name, full.as_bytes(), 0o444) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_errno(e)),
        }
    }

    fn remove_long_name(&self, dir: &DirHandle, disk: &DiskName) {
        if let DiskName::Long { hashed, .. } = disk {
            let name = format!("{hashed}{LONGNAME_SUFFIX}");
            let _ = rustix::fs::unlinkat(&dir.fd, name.as_str(), rustix::fs::AtFlags::empty());
        }
    }

    /// Attributes as the user sees them: plaintext sizes, the decrypted link length.
    /// `link_target` reads a symlink's stored target when the node is one.
    // The stat field types differ between x86_64 and aarch64: the casts are for both.
    #[allow(clippy::unnecessary_cast)]
    fn attr(&self, ino: u64, st: &Stat, link_target: impl FnOnce() -> Option<Vec<u8>>) -> FileAttr {
        let kind = kind(st.st_mode as u32);
        let size = match kind {
            FileType::RegularFile => self.volume.content.cipher_to_plain_size(st.st_size as u64),
            FileType::Symlink => link_target()
                .and_then(|stored| self.volume.decrypt_link_target(&stored))
                .map_or(st.st_size as u64, |t| t.len() as u64),
            _ => st.st_size as u64,
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: st.st_blocks as u64,
            atime: system_time(st.st_atime as i64, st.st_atime_nsec as i64),
            mtime: system_time(st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: system_time(st.st_ctime as i64, st.st_ctime_nsec as i64),
            crtime: UNIX_EPOCH,
            kind,
            perm: (st.st_mode & 0o7777) as u16,
            nlink: st.st_nlink as u32,
            uid: self.settings.force_owner.map_or(st.st_uid, |(uid, _)| uid),
            gid: self.settings.force_owner.map_or(st.st_gid, |(_, gid)| gid),
            rdev: st.st_rdev as u32,
            blksize: 4096,
            flags: 0,
        }
    }

    /// Attributes of `name` in `dir`, without recording anything.
    fn attr_at(&self, ino: Option<u64>, dir: BorrowedFd, name: &OsStr) -> io::Result<FileAttr> {
        let st = backing::stat(dir, name)?;
        let ino = ino.unwrap_or(if name == SELF { ROOT } else { st.st_ino });
        Ok(self.attr(ino, &st, || backing::read_link(dir, name).ok()))
    }

    /// Stats `disk_name` in `parent`, records the node and builds its attributes.
    fn entry(&self, parent: u64, dir: &DirHandle, disk_name: &OsStr) -> Result<FileAttr, Errno> {
        let st = backing::stat(dir.fd.as_fd(), disk_name).map_err(io_errno)?;
        lock(&self.nodes).remember(st.st_ino, Link { parent, disk_name: disk_name.to_owned() });
        Ok(self.attr(st.st_ino, &st, || backing::read_link(dir.fd.as_fd(), disk_name).ok()))
    }

    /// Gives a newly created object to the calling user when we run as root, as
    /// gocryptfs does with allow_other: files belong to who made them.
    fn chown_to_caller(&self, uid: u32, gid: u32, dir: &DirHandle, name: &OsStr) {
        if self.running_as_root && uid != 0 {
            let _ = backing::chown(dir.fd.as_fd(), name, Some(uid), Some(gid));
        }
    }

    fn new_handle(&self) -> u64 {
        self.next_handle.fetch_add(1, Ordering::Relaxed)
    }

    fn open_file(&self, fh: u64) -> Result<Arc<OpenFile>, Errno> {
        lock(&self.files).get(&fh).cloned().ok_or(Errno::EBADF)
    }

    /// Some open file of node `ino`: how an unlinked file is still reached.
    fn any_open_file(&self, ino: u64) -> Option<Arc<OpenFile>> {
        lock(&self.files).values().find(|f| f.ino == ino).cloned()
    }

    fn content<'a>(&'a self, file: &'a File) -> ContentIo<'a> {
        ContentIo { crypto: &self.volume.content, file, preallocate: !self.settings.no_prealloc }
    }

    /// The lock that orders changes to one file's blocks. A request that panicked
    /// while holding it poisons it: that file then gives EIO rather than letting
    /// another request write over blocks in an unknown state.
    fn content_lock(&self, ino: u64) -> Arc<RwLock<()>> {
        lock(&self.nodes).content_lock(ino)
    }

    /// Runs one request's work and answers it (see request.rs).
    fn answer<R: super::request::Answer>(
        &self,
        reply: R,
        what: impl std::fmt::Debug,
        work: impl FnOnce() -> Result<R::Value, Errno>,
    ) where
        R::Value: super::request::Summary,
    {
        self.activity.touch();
        super::request::answer(reply, &self.ttl, self.settings.debug, what, work);
    }

    /// Creates something under a new name: resolves the name, writes the long-name
    /// file, runs `make` (given the directory and the on-disk name), undoes the
    /// long-name file on failure, and answers with the entry.
    fn create_entry(
        &self,
        caller: (u32, u32),
        parent: u64,
        name: &OsStr,
        make: impl FnOnce(BorrowedFd, &OsStr) -> io::Result<()>,
    ) -> Result<FileAttr, Errno> {
        self.check_writable()?;
        let dir = self.dir(parent)?;
        let disk = self.disk_name(&dir, name, parent)?;
        let wrote_long_name = self.write_long_name(&dir, &disk)?;
        let disk_name = OsStr::new(disk.file_name());
        if let Err(e) = make(dir.fd.as_fd(), disk_name) {
            if wrote_long_name {
                self.remove_long_name(&dir, &disk);
            }
            return Err(io_errno(e));
        }
        self.chown_to_caller(caller.0, caller.1, &dir, disk_name);
        self.entry(parent, &dir, disk_name)
    }
}

/// Every file open through the mount holds a backing descriptor in the daemon: the
/// usual soft limit of 1024 would make the daemon, not the user's program, run out.
/// The soft limit goes up to the hard one (gocryptfs raises it to 4096).
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

fn libc_enoent() -> i32 {
    rustix::io::Errno::NOENT.raw_os_error()
}

/// The IV of the cipher directory `dir` (all zeros without per-directory IVs).
fn read_dir_iv(volume: &Volume, dir: BorrowedFd) -> Result<[u8; DIRIV_LEN], String> {
    if !volume.format.dir_iv || volume.names.plaintext() {
        return Ok([0; DIRIV_LEN]);
    }
    let bytes = backing::read_small_file(dir, OsStr::new(DIRIV_NAME), DIRIV_LEN)
        .map_err(|e| format!("cannot read a directory's {DIRIV_NAME}: {e}"))?;
    volume.dir_iv(Some(&bytes)).ok_or_else(|| format!("a directory's {DIRIV_NAME} is corrupt"))
}
