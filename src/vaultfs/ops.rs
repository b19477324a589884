//! The FUSE operations. Each one resolves the inode to its cipher path (through the
//! node table), encrypts the names it is given with the directory's IV, and does the
//! same operation on the backing directory.

use super::content_io::ContentIo;
use super::nodes::{Link, NodeTable, ROOT};
use crate::crypto::random;
use crate::gocryptfs::names::{DIRIV_LEN, DIRIV_NAME, DiskName, LONGNAME_SUFFIX, NameError, XATTR_PREFIX};
use crate::gocryptfs::{Volume, config, offline};
use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, KernelConfig,
    LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Directory IVs kept at most (a few hundred bytes each).
const IV_CACHE_ENTRIES: usize = 4096;

/// Largest write the kernel sends in one request (as gocryptfs: 1 MiB).
const MAX_WRITE: u32 = 1 << 20;

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

struct OpenFile {
    file: File,
}

/// A directory's entries as readdir hands them out: inode, type, plaintext name.
type Listing = Vec<(u64, FileType, OsString)>;

/// The filesystem handed to fuser.
pub struct VaultFs {
    volume: Arc<Volume>,
    settings: MountSettings,
    nodes: Mutex<NodeTable>,
    files: Mutex<HashMap<u64, Arc<OpenFile>>>,
    dirs: Mutex<HashMap<u64, Arc<Listing>>>,
    next_handle: AtomicU64,
    ttl: Duration,
    running_as_root: bool,
    activity: Arc<super::activity::Activity>,
    iv_cache: Mutex<HashMap<PathBuf, [u8; DIRIV_LEN]>>,
}

/// The bytes an xattr call fills in, in a buffer of the size `query` says it needs.
/// `ls -l` asks for an ACL on every file and most files have none: one query settles
/// that, where a 64 KiB buffer for each was allocated, cleared, and (by the wiping
/// allocator) cleared again when freed, which made `ls -lR` a third slower.
fn sized_xattr(
    query: impl Fn() -> rustix::io::Result<usize>,
    fill: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
) -> Result<Vec<u8>, Errno> {
    loop {
        let size = query().map_err(|e| errno(e.into()))?;
        let mut buf = vec![0u8; size];
        match fill(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            // It grew between the two calls: ask again.
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(errno(e.into())),
        }
    }
}

fn errno(e: io::Error) -> Errno {
    Errno::from(e)
}

fn name_errno(e: NameError) -> Errno {
    match e {
        NameError::TooLong => Errno::ENAMETOOLONG,
        NameError::Invalid => Errno::EINVAL,
        NameError::Undecryptable => Errno::EIO,
    }
}

fn file_type(ft: fs::FileType) -> FileType {
    FileType::from_std(ft).unwrap_or(FileType::RegularFile)
}

fn system_time(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nsecs as u64)
    }
}

impl VaultFs {
    pub fn new(volume: Arc<Volume>, cipher_dir: PathBuf, settings: MountSettings) -> Self {
        let ttl = if settings.shared_storage { Duration::ZERO } else { Duration::from_secs(1) };
        VaultFs {
            volume,
            nodes: Mutex::new(NodeTable::new(cipher_dir)),
            files: Mutex::default(),
            dirs: Mutex::default(),
            next_handle: AtomicU64::new(1),
            ttl,
            settings,
            running_as_root: rustix::process::geteuid().is_root(),
            activity: Arc::default(),
            iv_cache: Mutex::default(),
        }
    }

    /// For the `-idle` watcher, which runs beside the session.
    pub fn activity(&self) -> Arc<super::activity::Activity> {
        Arc::clone(&self.activity)
    }

    fn path(&self, ino: INodeNo) -> Result<PathBuf, Errno> {
        self.activity.touch();
        self.nodes.lock().unwrap().cipher_path(ino.0).ok_or(Errno::ESTALE)
    }

    fn check_writable(&self) -> Result<(), Errno> {
        if self.settings.read_only { Err(Errno::EROFS) } else { Ok(()) }
    }

    /// The IV of a cipher directory, cached by path. The cache is dropped whole on every
    /// mkdir, rmdir and rename, so a directory removed and made again (perhaps with the
    /// same inode number) is never encrypted with its predecessor's IV; it is off with
    /// -sharedstorage, where another mount may do those behind our back.
    fn dir_iv(&self, dir: &Path) -> Result<[u8; DIRIV_LEN], Errno> {
        if let Some(iv) = self.iv_cache.lock().unwrap().get(dir) {
            return Ok(*iv);
        }
        let iv = offline::dir_iv(&self.volume, dir).map_err(|e| match e {
            offline::ReadError::Io(e) => errno(e),
            offline::ReadError::Corrupt(why) => {
                eprintln!("vaultfs: {why}");
                Errno::EIO
            }
        })?;
        if !self.settings.shared_storage {
            let mut cache = self.iv_cache.lock().unwrap();
            if cache.len() >= IV_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(dir.to_path_buf(), iv);
        }
        Ok(iv)
    }

    fn forget_dir_ivs(&self) {
        self.iv_cache.lock().unwrap().clear();
    }

    /// The on-disk name of `name` in the cipher directory `dir`.
    fn disk_name(&self, dir: &Path, name: &OsStr, is_root: bool) -> Result<DiskName, Errno> {
        if self.volume.names.plaintext() && is_root && name == config::FILE_NAME {
            return Err(Errno::EPERM);
        }
        let iv = self.dir_iv(dir)?;
        self.volume.names.encrypt(name.as_bytes(), &iv).map_err(name_errno)
    }

    /// Writes the `.name` file of a long name before the object is created.
    fn write_long_name(&self, dir: &Path, disk: &DiskName) -> Result<(), Errno> {
        if let DiskName::Long { hashed, full } = disk {
            let path = dir.join(format!("{hashed}{LONGNAME_SUFFIX}"));
            let write = || -> io::Result<()> {
                let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o400).open(&path)?;
                io::Write::write_all(&mut f, full.as_bytes())?;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o444))
            };
            write().map_err(errno)?;
        }
        Ok(())
    }

    fn remove_long_name(&self, dir: &Path, disk: &DiskName) {
        if let DiskName::Long { hashed, .. } = disk {
            let _ = fs::remove_file(dir.join(format!("{hashed}{LONGNAME_SUFFIX}")));
        }
    }

    /// Attributes as the user sees them: plaintext sizes, the decrypted link length.
    /// `path` is needed for symlinks only (an open file has none once unlinked).
    fn attr(&self, ino: u64, path: Option<&Path>, meta: &fs::Metadata) -> FileAttr {
        let kind = file_type(meta.file_type());
        let size = match kind {
            FileType::RegularFile => self.volume.content.cipher_to_plain_size(meta.len()),
            FileType::Symlink => path
                .and_then(|p| fs::read_link(p).ok())
                .and_then(|t| self.volume.decrypt_link_target(t.as_os_str().as_bytes()))
                .map(|t| t.len() as u64)
                .unwrap_or(meta.len()),
            _ => meta.len(),
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: meta.blocks(),
            atime: system_time(meta.atime(), meta.atime_nsec()),
            mtime: system_time(meta.mtime(), meta.mtime_nsec()),
            ctime: system_time(meta.ctime(), meta.ctime_nsec()),
            crtime: UNIX_EPOCH,
            kind,
            perm: (meta.mode() & 0o7777) as u16,
            nlink: meta.nlink() as u32,
            uid: self.settings.force_owner.map_or(meta.uid(), |(uid, _)| uid),
            gid: self.settings.force_owner.map_or(meta.gid(), |(_, gid)| gid),
            rdev: meta.rdev() as u32,
            blksize: 4096,
            flags: 0,
        }
    }

    /// Stats `disk_name` in `parent`, records the node and builds its attributes.
    fn entry(&self, parent: INodeNo, parent_path: &Path, disk_name: &str) -> Result<FileAttr, Errno> {
        let path = parent_path.join(disk_name);
        let meta = fs::symlink_metadata(&path).map_err(errno)?;
        let ino = meta.ino();
        self.nodes.lock().unwrap().remember(ino, Link { parent: parent.0, disk_name: disk_name.into() });
        Ok(self.attr(ino, Some(&path), &meta))
    }

    /// Gives a newly created object to the calling user when we run as root, as
    /// gocryptfs does with allow_other: files belong to who made them.
    fn chown_to_caller(&self, req: &Request, path: &Path) {
        if self.running_as_root && req.uid() != 0 {
            let _ = std::os::unix::fs::lchown(path, Some(req.uid()), Some(req.gid()));
        }
    }

    fn new_handle(&self) -> u64 {
        self.next_handle.fetch_add(1, Ordering::Relaxed)
    }

    fn open_file(&self, fh: FileHandle) -> Result<Arc<OpenFile>, Errno> {
        self.activity.touch();
        self.files.lock().unwrap().get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    fn content<'a>(&'a self, file: &'a File) -> ContentIo<'a> {
        ContentIo { crypto: &self.volume.content, file, preallocate: !self.settings.no_prealloc }
    }

    /// Creates something under a new name: resolves the name, writes the long-name file,
    /// runs `make`, undoes the long-name file on failure, and answers with the entry.
    fn create_entry(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        make: impl FnOnce(&Path) -> io::Result<()>,
    ) -> Result<FileAttr, Errno> {
        self.check_writable()?;
        let dir = self.path(parent)?;
        let disk = self.disk_name(&dir, name, parent.0 == ROOT)?;
        self.write_long_name(&dir, &disk)?;
        let path = dir.join(disk.file_name());
        if let Err(e) = make(&path) {
            self.remove_long_name(&dir, &disk);
            return Err(errno(e));
        }
        self.chown_to_caller(req, &path);
        self.entry(parent, &dir, disk.file_name())
    }

    fn read_dir_entries(&self, ino: INodeNo) -> Result<Listing, Errno> {
        let path = self.path(ino)?;
        let (entries, bad) = offline::list(&self.volume, &path, ino.0 == ROOT).map_err(|e| match e {
            offline::ReadError::Io(e) => errno(e),
            offline::ReadError::Corrupt(_) => Errno::EIO,
        })?;
        for b in bad {
            eprintln!("vaultfs: hiding undecryptable name {} ({})", b.cipher_path.display(), b.why);
        }
        let mut out =
            vec![(ino.0, FileType::Directory, OsString::from(".")), (ino.0, FileType::Directory, "..".into())];
        for e in entries {
            let meta = fs::symlink_metadata(&e.cipher_path);
            let inode = meta.as_ref().map(|m| m.ino()).unwrap_or(0);
            out.push((inode, file_type(e.file_type), OsStr::from_bytes(&e.plain_name).to_owned()));
        }
        Ok(out)
    }

    /// Removes a name (`remove` gets the cipher directory and the victim's path), its
    /// long-name file, and forgets the name in the node table.
    fn remove_entry(
        &self,
        parent: INodeNo,
        name: &OsStr,
        remove: impl FnOnce(&Path, &Path) -> io::Result<()>,
    ) -> Result<(), Errno> {
        self.check_writable()?;
        let dir = self.path(parent)?;
        let disk = self.disk_name(&dir, name, parent.0 == ROOT)?;
        remove(&dir, &dir.join(disk.file_name())).map_err(errno)?;
        self.remove_long_name(&dir, &disk);
        self.nodes.lock().unwrap().unlink(parent.0, OsStr::new(disk.file_name()));
        Ok(())
    }

    fn rmdir_dance(&self, dir: &Path, victim: &Path) -> io::Result<()> {
        // The directory's IV is moved out first (so rmdir sees an empty directory) and
        // put back if rmdir fails: names inside must never lose their IV.
        let diriv = victim.join(DIRIV_NAME);
        let parked = dir.join(format!("{DIRIV_NAME}.rmdir.{}", u64::from_ne_bytes(random::array()?)));
        let had_diriv = !self.volume.names.plaintext() && self.volume.format.dir_iv && diriv.exists();
        if had_diriv {
            fs::rename(&diriv, &parked)?;
        }
        match fs::remove_dir(victim) {
            Ok(()) => {
                if had_diriv {
                    let _ = fs::remove_file(&parked);
                }
                Ok(())
            }
            Err(e) => {
                if had_diriv {
                    let _ = fs::rename(&parked, &diriv);
                }
                Err(e)
            }
        }
    }

    fn xattr_name(&self, name: &OsStr) -> Result<OsString, Errno> {
        if name.as_bytes().starts_with(b"system.posix_acl_") {
            return Ok(name.to_owned());
        }
        if self.volume.names.plaintext() {
            return Err(Errno::EOPNOTSUPP);
        }
        self.volume.names.encrypt_xattr_name(name.as_bytes()).map(OsString::from).map_err(name_errno)
    }
}

fn reply_xattr(reply: ReplyXattr, size: u32, data: &[u8]) {
    if size == 0 {
        reply.size(data.len() as u32);
    } else if data.len() > size as usize {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(data);
    }
}

fn timestamps(atime: Option<TimeOrNow>, mtime: Option<TimeOrNow>) -> rustix::fs::Timestamps {
    use rustix::fs::{Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
    let spec = |t: Option<TimeOrNow>| match t {
        None => Timespec { tv_sec: 0, tv_nsec: UTIME_OMIT },
        Some(TimeOrNow::Now) => Timespec { tv_sec: 0, tv_nsec: UTIME_NOW },
        Some(TimeOrNow::SpecificTime(t)) => {
            let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
            Timespec { tv_sec: d.as_secs() as i64, tv_nsec: d.subsec_nanos() as _ }
        }
    };
    Timestamps { last_access: spec(atime), last_modification: spec(mtime) }
}

fn set_times(path: &Path, atime: Option<TimeOrNow>, mtime: Option<TimeOrNow>) -> io::Result<()> {
    let times = timestamps(atime, mtime);
    rustix::fs::utimensat(rustix::fs::CWD, path, &times, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).map_err(io::Error::from)
}

fn set_times_fd(file: &File, atime: Option<TimeOrNow>, mtime: Option<TimeOrNow>) -> io::Result<()> {
    rustix::fs::futimens(file, &timestamps(atime, mtime)).map_err(io::Error::from)
}

impl Filesystem for VaultFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        let _ = config.set_max_write(MAX_WRITE);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let result = (|| {
            let dir = self.path(parent)?;
            if self.volume.names.plaintext() && parent.0 == ROOT && name == config::FILE_NAME {
                return Err(Errno::ENOENT);
            }
            let disk = self.disk_name(&dir, name, parent.0 == ROOT)?;
            self.entry(parent, &dir, disk.file_name())
        })();
        match result {
            Ok(attr) => reply.entry(&self.ttl, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.nodes.lock().unwrap().forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        // Through the open file when there is one: it works after unlink, too.
        let open = fh.and_then(|fh| self.open_file(fh).ok());
        let result = match open {
            Some(open) => open.file.metadata().map(|meta| self.attr(ino.0, None, &meta)).map_err(errno),
            None => self.path(ino).and_then(|path| {
                let meta = fs::symlink_metadata(&path).map_err(errno)?;
                Ok(self.attr(ino.0, Some(&path), &meta))
            }),
        };
        match result {
            Ok(attr) => reply.attr(&self.ttl, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let result = (|| {
            self.check_writable()?;
            // Through the open file when there is one (ftruncate on an unlinked file…).
            let open = fh.and_then(|fh| self.open_file(fh).ok());
            let path = match &open {
                Some(_) => None,
                None => Some(self.path(ino)?),
            };
            if let Some(mode) = mode {
                let perm = fs::Permissions::from_mode(mode & 0o7777);
                match (&open, &path) {
                    (Some(open), _) => open.file.set_permissions(perm),
                    (None, Some(path)) => fs::set_permissions(path, perm),
                    _ => unreachable!(),
                }
                .map_err(errno)?;
            }
            if uid.is_some() || gid.is_some() {
                match (&open, &path) {
                    (Some(open), _) => std::os::unix::fs::fchown(&open.file, uid, gid),
                    (None, Some(path)) => std::os::unix::fs::lchown(path, uid, gid),
                    _ => unreachable!(),
                }
                .map_err(errno)?;
            }
            if let Some(size) = size {
                let lock = self.nodes.lock().unwrap().content_lock(ino.0);
                let _guard = lock.write().unwrap();
                match (&open, &path) {
                    (Some(open), _) => self.content(&open.file).truncate(size),
                    (None, Some(path)) => OpenOptions::new()
                        .read(true)
                        .write(true)
                        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                        .open(path)
                        .and_then(|file| self.content(&file).truncate(size)),
                    _ => unreachable!(),
                }
                .map_err(errno)?;
            }
            if atime.is_some() || mtime.is_some() {
                match (&open, &path) {
                    (Some(open), _) => set_times_fd(&open.file, atime, mtime),
                    (None, Some(path)) => set_times(path, atime, mtime),
                    _ => unreachable!(),
                }
                .map_err(errno)?;
            }
            let meta = match (&open, &path) {
                (Some(open), _) => open.file.metadata(),
                (None, Some(path)) => fs::symlink_metadata(path),
                _ => unreachable!(),
            }
            .map_err(errno)?;
            Ok(self.attr(ino.0, path.as_deref(), &meta))
        })();
        match result {
            Ok(attr) => reply.attr(&self.ttl, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let result = self.path(ino).and_then(|path| {
            let stored = fs::read_link(&path).map_err(errno)?;
            self.volume.decrypt_link_target(stored.as_os_str().as_bytes()).ok_or(Errno::EIO)
        });
        match result {
            Ok(target) => reply.data(&target),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, rdev: u32, reply: ReplyEntry) {
        let result = self.create_entry(req, parent, name, |path| {
            let file_type = rustix::fs::FileType::from_raw_mode(mode);
            let perm = rustix::fs::Mode::from_raw_mode(mode & !umask & 0o7777);
            rustix::fs::mknodat(rustix::fs::CWD, path, file_type, perm, rdev as u64).map_err(io::Error::from)
        });
        match result {
            Ok(attr) => reply.entry(&self.ttl, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, reply: ReplyEntry) {
        self.forget_dir_ivs();
        let with_diriv = !self.volume.names.plaintext() && self.volume.format.dir_iv;
        let result = self.create_entry(req, parent, name, |path| {
            let wanted = mode & !umask & 0o7777;
            // Writable by us until the IV file is in place.
            fs::DirBuilder::new().mode(wanted | 0o700).create(path)?;
            if with_diriv {
                let iv: [u8; DIRIV_LEN] = random::array()?;
                let write_iv = || -> io::Result<()> {
                    let diriv = path.join(DIRIV_NAME);
                    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o444).open(&diriv)?;
                    io::Write::write_all(&mut f, &iv)
                };
                if let Err(e) = write_iv() {
                    let _ = fs::remove_dir_all(path);
                    return Err(e);
                }
            }
            if wanted != wanted | 0o700 {
                fs::set_permissions(path, fs::Permissions::from_mode(wanted))?;
            }
            Ok(())
        });
        match result {
            Ok(attr) => reply.entry(&self.ttl, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.remove_entry(parent, name, |_dir, victim| fs::remove_file(victim)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.forget_dir_ivs();
        match self.remove_entry(parent, name, |dir, victim| self.rmdir_dance(dir, victim)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(&self, req: &Request, parent: INodeNo, link_name: &OsStr, target: &Path, reply: ReplyEntry) {
        let result = self.volume.encrypt_link_target(target.as_os_str().as_bytes()).map_err(errno).and_then(|stored| {
            self.create_entry(req, parent, link_name, |path| {
                std::os::unix::fs::symlink(OsStr::from_bytes(&stored), path)
            })
        });
        match result {
            Ok(attr) => reply.entry(&self.ttl, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        self.forget_dir_ivs();
        let result = (|| {
            self.check_writable()?;
            let (old_dir, new_dir) = (self.path(parent)?, self.path(newparent)?);
            let old = self.disk_name(&old_dir, name, parent.0 == ROOT)?;
            let new = self.disk_name(&new_dir, newname, newparent.0 == ROOT)?;
            let exchange = flags.contains(RenameFlags::RENAME_EXCHANGE);
            if !exchange {
                self.write_long_name(&new_dir, &new)?;
            }
            let raw_flags = rustix::fs::RenameFlags::from_bits_retain(flags.bits());
            let (old_path, new_path) = (old_dir.join(old.file_name()), new_dir.join(new.file_name()));
            if let Err(e) = rustix::fs::renameat_with(rustix::fs::CWD, &old_path, rustix::fs::CWD, &new_path, raw_flags)
            {
                if !exchange {
                    self.remove_long_name(&new_dir, &new);
                }
                return Err(errno(e.into()));
            }
            let old_link = Link { parent: parent.0, disk_name: old.file_name().into() };
            let new_link = Link { parent: newparent.0, disk_name: new.file_name().into() };
            if exchange {
                self.nodes.lock().unwrap().exchange(&old_link, &new_link);
            } else {
                if old_path != new_path {
                    self.remove_long_name(&old_dir, &old);
                }
                self.nodes.lock().unwrap().rename(&old_link, &new_link);
            }
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(&self, req: &Request, ino: INodeNo, newparent: INodeNo, newname: &OsStr, reply: ReplyEntry) {
        let result = self
            .path(ino)
            .and_then(|source| self.create_entry(req, newparent, newname, |path| fs::hard_link(&source, path)));
        match result {
            Ok(attr) => reply.entry(&self.ttl, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let result = (|| {
            let path = self.path(ino)?;
            let access = flags.0 & libc_accmode();
            let writing = access != rustix::fs::OFlags::RDONLY.bits() as i32;
            if writing {
                self.check_writable()?;
            }
            // Read access always: writes read-modify-write partial blocks.
            let file = OpenOptions::new()
                .read(true)
                .write(writing)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(&path)
                .map_err(errno)?;
            if flags.0 & rustix::fs::OFlags::TRUNC.bits() as i32 != 0 && writing {
                let lock = self.nodes.lock().unwrap().content_lock(ino.0);
                let _guard = lock.write().unwrap();
                file.set_len(0).map_err(errno)?;
            }
            let fh = self.new_handle();
            self.files.lock().unwrap().insert(fh, Arc::new(OpenFile { file }));
            self.activity.opened();
            Ok(fh)
        })();
        let open_flags = if self.settings.kernel_cache { FopenFlags::FOPEN_KEEP_CACHE } else { FopenFlags::empty() };
        match result {
            Ok(fh) => reply.opened(FileHandle(fh), open_flags),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        thread_local! {
            // Reused across requests (see content_io): no fresh megabyte per read.
            static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        READ_BUF.with_borrow_mut(|data| {
            let result = self.open_file(fh).and_then(|open| {
                let lock = self.nodes.lock().unwrap().content_lock(ino.0);
                let _guard = lock.read().unwrap();
                self.content(&open.file).read_into(offset, size as usize, data).map_err(errno)
            });
            match result {
                Ok(()) => reply.data(data),
                Err(e) => reply.error(e),
            }
        });
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let result = self.open_file(fh).and_then(|open| {
            let lock = self.nodes.lock().unwrap().content_lock(ino.0);
            let _guard = lock.write().unwrap();
            self.content(&open.file).write_at(offset, data).map_err(errno)
        });
        match result {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        if self.files.lock().unwrap().remove(&fh.0).is_some() {
            self.activity.closed();
        }
        reply.ok();
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, datasync: bool, reply: ReplyEmpty) {
        let result = self
            .open_file(fh)
            .and_then(|open| if datasync { open.file.sync_data() } else { open.file.sync_all() }.map_err(errno));
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.read_dir_entries(ino) {
            Ok(entries) => {
                let fh = self.new_handle();
                self.dirs.lock().unwrap().insert(fh, Arc::new(entries));
                reply.opened(FileHandle(fh), FopenFlags::empty());
            }
            Err(e) => reply.error(e),
        }
    }

    fn readdir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(entries) = self.dirs.lock().unwrap().get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        self.dirs.lock().unwrap().remove(&fh.0);
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let root = self.nodes.lock().unwrap().cipher_path(ROOT).unwrap_or_default();
        match rustix::fs::statvfs(&root) {
            Ok(s) => reply.statfs(
                s.f_blocks,
                s.f_bfree,
                s.f_bavail,
                s.f_files,
                s.f_ffree,
                s.f_bsize as u32,
                s.f_namemax as u32,
                s.f_frsize as u32,
            ),
            Err(e) => reply.error(errno(e.into())),
        }
    }

    fn setxattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let result = (|| {
            self.check_writable()?;
            if name.as_bytes().starts_with(b"security.") {
                return Err(Errno::EOPNOTSUPP);
            }
            let path = self.path(ino)?;
            let stored_name = self.xattr_name(name)?;
            let passthrough = stored_name == name;
            let stored = if passthrough || value.is_empty() {
                value.to_vec()
            } else {
                self.volume.content.encrypt_standalone(value).map_err(errno)?
            };
            let flags = rustix::fs::XattrFlags::from_bits_retain(flags as u32);
            rustix::fs::lsetxattr(&path, stored_name.as_os_str(), &stored, flags).map_err(|e| errno(e.into()))
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let result = (|| {
            // The kernel asks for this on every write; gocryptfs answers it without I/O.
            if name.as_bytes().starts_with(b"security.") {
                return Err(Errno::NO_XATTR);
            }
            let path = self.path(ino)?;
            let stored_name = self.xattr_name(name)?;
            let buf = sized_xattr(
                || rustix::fs::lgetxattr_query(&path, stored_name.as_os_str()),
                |buf| rustix::fs::lgetxattr(&path, stored_name.as_os_str(), buf),
            )?;
            if stored_name == name || buf.is_empty() {
                return Ok(buf);
            }
            self.volume.content.decrypt_standalone(&buf).map_err(|_| Errno::EIO)
        })();
        match result {
            Ok(value) => reply_xattr(reply, size, &value),
            Err(e) => reply.error(e),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let result = (|| {
            let path = self.path(ino)?;
            let buf = sized_xattr(|| rustix::fs::llistxattr_query(&path), |buf| rustix::fs::llistxattr(&path, buf))?;
            let mut out = Vec::new();
            for stored in buf.split(|&b| b == 0).filter(|s| !s.is_empty()) {
                if stored.starts_with(b"system.posix_acl_") {
                    out.extend_from_slice(stored);
                    out.push(0);
                } else if stored.starts_with(XATTR_PREFIX.as_bytes())
                    && !self.volume.names.plaintext()
                    && let Ok(plain) = self.volume.names.decrypt_xattr_name(&String::from_utf8_lossy(stored))
                {
                    out.extend_from_slice(&plain);
                    out.push(0);
                }
            }
            Ok(out)
        })();
        match result {
            Ok(list) => reply_xattr(reply, size, &list),
            Err(e) => reply.error(e),
        }
    }

    fn removexattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let result = (|| {
            self.check_writable()?;
            let path = self.path(ino)?;
            let stored_name = self.xattr_name(name)?;
            rustix::fs::lremovexattr(&path, stored_name.as_os_str()).map_err(|e| errno(e.into()))
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn access(&self, _req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        let result = self.path(ino).and_then(|path| {
            let mode = rustix::fs::Access::from_bits_retain(mask.bits() as u32);
            rustix::fs::access(&path, mode).map_err(|e| errno(e.into()))
        });
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let opened = Mutex::new(None);
        let result = self.create_entry(req, parent, name, |path| {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(mode & !umask & 0o7777)
                .custom_flags(flags & rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(path)?;
            *opened.lock().unwrap() = Some(file);
            Ok(())
        });
        match result {
            Ok(attr) => {
                let file = opened.into_inner().unwrap().expect("created file is open");
                let fh = self.new_handle();
                self.files.lock().unwrap().insert(fh, Arc::new(OpenFile { file }));
                self.activity.opened();
                reply.created(&self.ttl, &attr, Generation(0), FileHandle(fh), FopenFlags::empty());
            }
            Err(e) => reply.error(e),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let keep_size = rustix::fs::FallocateFlags::KEEP_SIZE.bits() as i32;
        let result = (|| {
            self.check_writable()?;
            let open = self.open_file(fh)?;
            match mode {
                // Space reservation only: gocryptfs accepts it and changes nothing visible.
                m if m == keep_size => Ok(()),
                0 => {
                    let lock = self.nodes.lock().unwrap().content_lock(ino.0);
                    let _guard = lock.write().unwrap();
                    let content = self.content(&open.file);
                    if content.plain_size().map_err(errno)? < offset + length {
                        content.truncate(offset + length).map_err(errno)?;
                    }
                    Ok(())
                }
                _ => Err(Errno::EOPNOTSUPP),
            }
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }
}

/// O_ACCMODE: the access-mode bits of open flags.
fn libc_accmode() -> i32 {
    0o3
}
