//! The FUSE side of the reverse view. A node remembers its path in the view and in
//! the plaintext tree; every request walks the plaintext path again from the root
//! descriptor (see backing.rs). The mount is read-only (the kernel answers EROFS to
//! every change), so only lookups, attributes, links, reads and listings are served.

use super::backing::{Backing, split};
use super::inomap::{InoMap, TAG_DIRIV, TAG_NAME_FILE, TAG_REAL};
use super::pathiv::{self, FileIvs, Purpose};
use super::paths::{ReverseNames, join};
use super::{CONFIG_NAME, ReverseSettings, content};
use crate::gocryptfs::Volume;
use crate::gocryptfs::config::FILE_NAME as FORWARD_CONFIG_NAME;
use crate::gocryptfs::names::{DIRIV_NAME, DiskName, LONGNAME_SUFFIX, is_long_name_file};
use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, INodeNo, LockOwner, OpenFlags,
    ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyLseek, ReplyOpen, ReplyStatfs, ReplyXattr,
    Request,
};
use rustix::fs::Stat;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

const ROOT: u64 = 1;
/// The mode of virtual files (`gocryptfs.diriv`, `*.name`): readable by all.
const VIRTUAL_MODE: u16 = 0o444;
/// The kernel refuses longer symlink targets; saying so beats its EIO.
const PATH_MAX: usize = 4096;
/// What a listing says for entries with no inode number of their own.
const UNKNOWN_INO: u64 = 0xffff_ffff;

#[derive(Clone)]
enum Kind {
    /// A file, directory or link of the plaintext tree.
    Real,
    /// The reverse config, shown as `gocryptfs.conf` in the root.
    Config,
    /// A `gocryptfs.diriv` or `.name` file: its content and attributes.
    Virtual { content: Arc<Vec<u8>>, attr: FileAttr },
}

#[derive(Clone)]
struct Node {
    cipher_path: Vec<u8>,
    plain_path: Vec<u8>,
    kind: Kind,
    /// On another device than the root (for `-one-file-system`).
    other_fs: bool,
    lookups: u64,
}

enum Open {
    Real { file: File, ivs: FileIvs },
    Config(File),
    Virtual(Arc<Vec<u8>>),
}

/// A directory as listed: inode number, type, name in the view.
type Listing = Vec<(u64, FileType, Vec<u8>)>;

pub struct ReverseFs {
    names: Arc<ReverseNames>,
    backing: Arc<Backing>,
    settings: ReverseSettings,
    inomap: InoMap,
    root_dev: u64,
    nodes: Mutex<HashMap<u64, Node>>,
    files: Mutex<HashMap<u64, Arc<Open>>>,
    dirs: Mutex<HashMap<u64, Arc<Listing>>>,
    /// Files with several hard links keep the IVs of the path they were first opened
    /// by, so every path shows the same bytes.
    hard_links: Mutex<HashMap<u64, FileIvs>>,
    next_handle: AtomicU64,
    ttl: Duration,
}

fn errno(e: io::Error) -> Errno {
    Errno::from(e)
}

fn rustix_errno(e: rustix::io::Errno) -> Errno {
    Errno::from_i32(e.raw_os_error())
}

fn entry_kind(kind: rustix::fs::FileType) -> FileType {
    kind_of(kind.as_raw_mode())
}

use crate::vaultfs::request::{Bytes, XattrValue, answer, file_type as kind_of, system_time as time};

impl ReverseFs {
    pub fn new(volume: Arc<Volume>, settings: ReverseSettings) -> io::Result<Self> {
        let backing = Arc::new(Backing::open(&settings.plain_dir)?);
        let root_dev = backing.root_stat()?.st_dev;
        let deterministic = !volume.format.dir_iv;
        let names = Arc::new(ReverseNames::new(volume, Arc::clone(&backing), deterministic));
        let mut nodes = HashMap::new();
        let root =
            Node { cipher_path: Vec::new(), plain_path: Vec::new(), kind: Kind::Real, other_fs: false, lookups: 1 };
        nodes.insert(ROOT, root);
        Ok(ReverseFs {
            names,
            backing,
            settings,
            inomap: InoMap::new(root_dev),
            root_dev,
            nodes: Mutex::new(nodes),
            files: Mutex::default(),
            dirs: Mutex::default(),
            hard_links: Mutex::default(),
            next_handle: AtomicU64::new(1),
            ttl: Duration::from_secs(1),
        })
    }

    /// The path mapping for `-ctlsock`.
    pub fn path_map(&self) -> super::ctl::ReversePaths {
        super::ctl::ReversePaths(Arc::clone(&self.names))
    }

    fn node(&self, ino: INodeNo) -> Result<Node, Errno> {
        self.nodes.lock().unwrap().get(&ino.0).cloned().ok_or(Errno::ESTALE)
    }

    fn excluded(&self, plain_path: &[u8]) -> bool {
        self.settings.excluder.excludes(plain_path)
    }

    fn config_path(&self) -> std::path::PathBuf {
        self.settings.plain_dir.join(CONFIG_NAME)
    }

    fn attr(&self, st: &Stat, ino: u64, size: u64) -> FileAttr {
        let (uid, gid) = self.settings.force_owner.unwrap_or((st.st_uid, st.st_gid));
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: st.st_blocks as u64,
            atime: time(st.st_atime, st.st_atime_nsec as i64),
            mtime: time(st.st_mtime, st.st_mtime_nsec as i64),
            ctime: time(st.st_ctime, st.st_ctime_nsec as i64),
            crtime: UNIX_EPOCH,
            kind: kind_of(st.st_mode),
            perm: (st.st_mode & 0o7777) as u16,
            nlink: st.st_nlink as u32,
            uid,
            gid,
            rdev: st.st_rdev as u32,
            blksize: st.st_blksize as u32,
            flags: 0,
        }
    }

    /// Attributes of a plaintext object as the view shows it: encrypted sizes.
    fn real_attr(&self, st: &Stat, cipher_path: &[u8], plain_path: &[u8]) -> FileAttr {
        let ino = self.inomap.translate(st.st_dev, TAG_REAL, st.st_ino);
        let size = match kind_of(st.st_mode) {
            FileType::RegularFile => self.names.volume.content.plain_to_cipher_size(st.st_size as u64),
            // The encrypted target's length does not depend on its nonce.
            FileType::Symlink => self.link_target(cipher_path, plain_path).map_or(0, |t| t.len() as u64),
            _ => st.st_size as u64,
        };
        self.attr(st, ino, size)
    }

    /// A virtual file's attributes: those of the object it belongs to (a directory for
    /// its diriv, a file for its `.name`), with its own inode number, size and mode.
    fn virtual_attr(&self, st: &Stat, tag: u8, size: usize) -> FileAttr {
        let ino = self.inomap.translate(st.st_dev, tag, st.st_ino);
        let mut attr = self.attr(st, ino, size as u64);
        attr.kind = FileType::RegularFile;
        attr.perm = VIRTUAL_MODE;
        attr.nlink = 1;
        attr
    }

    /// The symlink target the view shows, encrypted with a nonce derived from
    /// `nonce_path`.
    fn link_target(&self, nonce_path: &[u8], plain_path: &[u8]) -> Result<Vec<u8>, Errno> {
        let target = self.backing.read_link(plain_path).map_err(errno)?;
        if self.names.plaintext || target.is_empty() {
            return Ok(target);
        }
        let nonce = pathiv::derive(nonce_path, Purpose::SymlinkIv);
        let sealed = self.names.volume.content.aead().seal(&nonce, &[0u8; 8], &target);
        let encoded = self.names.volume.names.encode(&sealed).into_bytes();
        if encoded.len() > PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(encoded)
    }

    /// Records that the kernel holds one more reference to `ino`. A number seen before
    /// keeps its node (and kind), as the view's nodes are keyed by inode number; a real
    /// object moves to the path it was last seen under.
    fn remember(&self, ino: u64, node: Node) {
        let mut nodes = self.nodes.lock().unwrap();
        match nodes.get_mut(&ino) {
            Some(known) => {
                known.lookups += 1;
                if matches!((&known.kind, &node.kind), (Kind::Real, Kind::Real)) {
                    known.cipher_path = node.cipher_path;
                    known.plain_path = node.plain_path;
                    known.other_fs = node.other_fs;
                }
            }
            None => {
                nodes.insert(ino, Node { lookups: 1, ..node });
            }
        }
    }

    fn lookup_entry(&self, parent: INodeNo, name: &OsStr) -> Result<FileAttr, Errno> {
        let dir = self.node(parent)?;
        if !matches!(dir.kind, Kind::Real) {
            return Err(Errno::ENOTDIR);
        }
        let name_bytes = name.as_bytes();
        let name_str = std::str::from_utf8(name_bytes).ok();
        let encrypted = !self.names.plaintext;
        if encrypted && !self.names.deterministic && name_bytes == DIRIV_NAME.as_bytes() {
            // Shown even in a directory of another filesystem (-one-file-system).
            let st = self.backing.lstat(&dir.plain_path).map_err(errno)?;
            let iv = pathiv::derive(&dir.cipher_path, Purpose::DirIv);
            let attr = self.virtual_attr(&st, TAG_DIRIV, iv.len());
            return Ok(self.remember_virtual(&dir, name_bytes, iv.to_vec(), attr));
        }
        if self.settings.one_file_system && dir.other_fs {
            return Err(Errno::ENOENT);
        }
        if encrypted && let Some(name_file) = name_str.filter(|n| is_long_name_file(n)) {
            let iv = self.names.dir_iv(&dir.cipher_path);
            let (plain_name, full) =
                self.names.find_long_name(&dir.plain_path, &iv, name_file).map_err(rustix_errno)?;
            // gocryptfs tests the directory's *encrypted* path joined with the plaintext
            // name here; kept, so that the same `.name` files are refused.
            if self.excluded(&join(&dir.cipher_path, &plain_name)) {
                return Err(Errno::EPERM);
            }
            let st = self.backing.lstat(&join(&dir.plain_path, &plain_name)).map_err(errno)?;
            let attr = self.virtual_attr(&st, TAG_NAME_FILE, full.len());
            return Ok(self.remember_virtual(&dir, name_bytes, full.into_bytes(), attr));
        }
        if parent.0 == ROOT && !self.settings.config_custom && name_bytes == FORWARD_CONFIG_NAME.as_bytes() {
            let st = rustix::fs::stat(self.config_path()).map_err(rustix_errno)?;
            let ino = self.inomap.translate(st.st_dev, TAG_REAL, st.st_ino);
            let attr = self.attr(&st, ino, st.st_size as u64);
            let node = Node {
                cipher_path: name_bytes.to_vec(),
                plain_path: CONFIG_NAME.as_bytes().to_vec(),
                kind: Kind::Config,
                other_fs: false,
                lookups: 0,
            };
            self.remember(ino, node);
            return Ok(attr);
        }
        let cipher_name = name_str.ok_or(Errno::ENOENT)?;
        let plain_name =
            self.names.decrypt_name(cipher_name, &dir.cipher_path, &dir.plain_path).map_err(rustix_errno)?;
        let plain_path = join(&dir.plain_path, &plain_name);
        if self.excluded(&plain_path) {
            return Err(Errno::EPERM);
        }
        let st = self.backing.lstat(&plain_path).map_err(errno)?;
        let cipher_path = join(&dir.cipher_path, name_bytes);
        let attr = self.real_attr(&st, &cipher_path, &plain_path);
        let node = Node { cipher_path, plain_path, kind: Kind::Real, other_fs: st.st_dev != self.root_dev, lookups: 0 };
        self.remember(attr.ino.0, node);
        Ok(attr)
    }

    fn remember_virtual(&self, dir: &Node, name: &[u8], content: Vec<u8>, attr: FileAttr) -> FileAttr {
        let node = Node {
            cipher_path: join(&dir.cipher_path, name),
            plain_path: dir.plain_path.clone(),
            kind: Kind::Virtual { content: Arc::new(content), attr },
            other_fs: dir.other_fs,
            lookups: 0,
        };
        self.remember(attr.ino.0, node);
        attr
    }

    fn getattr_node(&self, node: &Node) -> Result<FileAttr, Errno> {
        match &node.kind {
            Kind::Virtual { attr, .. } => Ok(*attr),
            Kind::Config => {
                let st = rustix::fs::stat(self.config_path()).map_err(rustix_errno)?;
                Ok(self.attr(&st, st.st_ino, st.st_size as u64))
            }
            Kind::Real => {
                let st = self.backing.lstat(&node.plain_path).map_err(errno)?;
                Ok(self.real_attr(&st, &node.cipher_path, &node.plain_path))
            }
        }
    }

    /// gocryptfs derives a link's nonce from its path with its own name appended once
    /// more ("dir/link/link") when the target is read; the same bytes are shown here.
    fn readlink_nonce_path(cipher_path: &[u8]) -> Vec<u8> {
        let (_, name) = split(cipher_path);
        join(cipher_path, name)
    }

    fn open_node(&self, node: &Node) -> Result<(Open, FopenFlags), Errno> {
        match &node.kind {
            Kind::Virtual { content, .. } => Ok((Open::Virtual(Arc::clone(content)), FopenFlags::FOPEN_KEEP_CACHE)),
            Kind::Config => Ok((Open::Config(File::open(self.config_path()).map_err(errno)?), FopenFlags::empty())),
            Kind::Real => {
                let (file, st) = self.backing.open_file(&node.plain_path).map_err(errno)?;
                let derived = || pathiv::file_ivs(&node.cipher_path);
                let ivs = if st.st_nlink > 1 {
                    *self.hard_links.lock().unwrap().entry(st.st_ino).or_insert_with(derived)
                } else {
                    self.hard_links.lock().unwrap().get(&st.st_ino).copied().unwrap_or_else(derived)
                };
                Ok((Open::Real { file, ivs }, FopenFlags::empty()))
            }
        }
    }

    /// The entries of a directory as the view lists them: encrypted names in the
    /// plaintext directory's order, then the virtual files.
    fn listing(&self, node: &Node, is_root: bool) -> Result<Listing, Errno> {
        let mut virtual_files = Vec::new();
        if !self.names.plaintext && !self.names.deterministic {
            virtual_files.push((UNKNOWN_INO, FileType::RegularFile, DIRIV_NAME.as_bytes().to_vec()));
        }
        if self.settings.one_file_system && node.other_fs {
            // A mount point below the tree: shown empty.
            return Ok(virtual_files);
        }
        let raw = self.backing.list(&node.plain_path).map_err(errno)?;
        let raw = raw.into_iter().filter(|e| !self.excluded(&join(&node.plain_path, &e.name)));
        let map_config = is_root && !self.settings.config_custom;
        let mut out = Vec::new();
        if self.names.plaintext {
            let mut entries: Vec<_> = raw.map(|e| (e.ino, entry_kind(e.kind), e.name)).collect();
            if map_config {
                let shadowed = entries.iter().position(|e| e.2 == FORWARD_CONFIG_NAME.as_bytes());
                let mapped = entries.iter().position(|e| e.2 == CONFIG_NAME.as_bytes());
                if let Some(i) = mapped {
                    entries[i].2 = FORWARD_CONFIG_NAME.as_bytes().to_vec();
                }
                if let Some(i) = shadowed {
                    eprintln!(
                        "vaultfs: {CONFIG_NAME} is shown as {FORWARD_CONFIG_NAME} and shadows the file of that name in {}: rename it",
                        self.settings.plain_dir.display()
                    );
                    let tag: u64 = crate::crypto::random::array::<8>().map(u64::from_ne_bytes).unwrap_or(0);
                    entries[i].2 = format!("{FORWARD_CONFIG_NAME}_NAME_COLLISION_{tag}").into_bytes();
                }
            }
            return Ok(entries);
        }
        for entry in raw {
            let kind = entry_kind(entry.kind);
            if map_config && entry.name == CONFIG_NAME.as_bytes() {
                out.push((entry.ino, kind, FORWARD_CONFIG_NAME.as_bytes().to_vec()));
                continue;
            }
            match self.names.encrypt_name(&entry.name, &node.cipher_path) {
                Ok(DiskName::Short(name)) => out.push((entry.ino, kind, name.into_bytes())),
                Ok(DiskName::Long { hashed, .. }) => {
                    virtual_files.push((
                        UNKNOWN_INO,
                        FileType::RegularFile,
                        format!("{hashed}{LONGNAME_SUFFIX}").into(),
                    ));
                    out.push((entry.ino, kind, hashed.into_bytes()));
                }
                Err(_) => out.push((entry.ino, kind, b"___GOCRYPTFS_INVALID_NAME___".to_vec())),
            }
        }
        out.extend(virtual_files);
        Ok(out)
    }

    fn new_handle(&self) -> u64 {
        self.next_handle.fetch_add(1, Ordering::Relaxed)
    }
}

impl ReverseFs {
    fn answer<R: crate::vaultfs::request::Answer>(
        &self,
        reply: R,
        what: impl std::fmt::Debug,
        work: impl FnOnce() -> Result<R::Value, Errno>,
    ) where
        R::Value: crate::vaultfs::request::Summary,
    {
        answer(reply, &self.ttl, self.settings.debug, what, work);
    }

    fn open_file(&self, fh: u64) -> Result<Arc<Open>, Errno> {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).get(&fh).cloned().ok_or(Errno::EBADF)
    }

    fn read_open(&self, open: &Open, offset: u64, size: usize) -> Result<Vec<u8>, Errno> {
        let result = match open {
            Open::Real { file, ivs } => {
                let mut out = Vec::new();
                content::read(self.names.volume.content.aead(), file, ivs, offset, size, &mut out).map(|()| out)
            }
            Open::Config(file) => {
                let mut buf = vec![0u8; size];
                file.read_at(&mut buf, offset).map(|n| {
                    buf.truncate(n);
                    buf
                })
            }
            Open::Virtual(content) => {
                let start = (offset as usize).min(content.len());
                let end = start.saturating_add(size).min(content.len());
                Ok(content[start..end].to_vec())
            }
        };
        result.map_err(errno)
    }

    /// Permission bits of the attributes shown; root may do anything (as in
    /// gocryptfs, whose FUSE library grants uid 0 every access).
    fn check_access(&self, uid: u32, gid: u32, ino: INodeNo, mask: AccessFlags) -> Result<(), Errno> {
        let attr = self.node(ino).and_then(|n| self.getattr_node(&n))?;
        if uid == 0 || mask == AccessFlags::F_OK {
            return Ok(());
        }
        let perm = u32::from(attr.perm);
        let granted = if uid == attr.uid {
            perm >> 6
        } else if gid == attr.gid {
            perm >> 3
        } else {
            perm
        } & 0o7;
        if (mask.bits() as u32) & !granted == 0 { Ok(()) } else { Err(Errno::EACCES) }
    }

    /// SEEK_DATA/SEEK_HOLE: asked of the plaintext file, with offsets converted.
    fn seek(&self, fh: u64, offset: i64, whence: i32) -> Result<i64, Errno> {
        let open = self.open_file(fh)?;
        let Open::Real { file, .. } = &*open else { return Err(Errno::EINVAL) };
        let content = &self.names.volume.content;
        let plain_offset = content.cipher_to_plain_size(offset.max(0) as u64);
        let whence = match whence {
            3 => rustix::fs::SeekFrom::Data(plain_offset),
            4 => rustix::fs::SeekFrom::Hole(plain_offset),
            _ => return Err(Errno::EINVAL),
        };
        let found = rustix::fs::seek(file, whence).map_err(rustix_errno)?;
        Ok(content.plain_to_cipher_size(found) as i64)
    }
}

impl Filesystem for ReverseFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        self.answer(reply, ("lookup", parent.0, name), || self.lookup_entry(parent, name));
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if ino.0 == ROOT {
            return;
        }
        let mut nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(node) = nodes.get_mut(&ino.0) {
            node.lookups = node.lookups.saturating_sub(nlookup);
            if node.lookups == 0 {
                nodes.remove(&ino.0);
            }
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        self.answer(reply, ("getattr", ino.0), || self.node(ino).and_then(|n| self.getattr_node(&n)));
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        self.answer(reply, ("readlink", ino.0), || {
            let n = self.node(ino)?;
            match n.kind {
                Kind::Real => {
                    self.link_target(&Self::readlink_nonce_path(&n.cipher_path), &n.plain_path).map(Bytes::from)
                }
                _ => Err(Errno::EINVAL),
            }
        });
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        self.answer(reply, ("open", ino.0, flags.0), || {
            if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
                return Err(Errno::EROFS);
            }
            let (open, open_flags) = self.node(ino).and_then(|n| self.open_node(&n))?;
            let fh = self.new_handle();
            self.files.lock().unwrap_or_else(|p| p.into_inner()).insert(fh, Arc::new(open));
            Ok((fh, open_flags))
        });
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
        self.answer(reply, ("read", ino.0, offset, size), || {
            self.read_open(&*self.open_file(fh.0)?, offset, size as usize).map(Bytes::from)
        });
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
        self.files.lock().unwrap_or_else(|p| p.into_inner()).remove(&fh.0);
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        self.answer(reply, ("opendir", ino.0), || {
            let n = self.node(ino)?;
            let entries = match n.kind {
                Kind::Real => self.listing(&n, ino.0 == ROOT)?,
                _ => return Err(Errno::ENOTDIR),
            };
            let fh = self.new_handle();
            self.dirs.lock().unwrap_or_else(|p| p.into_inner()).insert(fh, Arc::new(entries));
            Ok((fh, FopenFlags::empty()))
        });
    }

    fn readdir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(entries) = self.dirs.lock().unwrap_or_else(|p| p.into_inner()).get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, OsStr::from_bytes(name)) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner()).remove(&fh.0);
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        self.answer(reply, "statfs", || self.backing.statvfs().map_err(errno));
    }

    /// No extended attributes in the view (gocryptfs has none in reverse mode).
    fn getxattr(&self, _req: &Request, _ino: INodeNo, _name: &OsStr, _size: u32, reply: ReplyXattr) {
        reply.error(Errno::NO_XATTR);
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        self.answer(reply, ("listxattr", ino.0), || Ok(XattrValue { asked_size: size, bytes: Vec::new() }));
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        self.answer(reply, ("access", ino.0, mask.bits()), || self.check_access(req.uid(), req.gid(), ino, mask));
    }

    fn lseek(&self, _req: &Request, ino: INodeNo, fh: FileHandle, offset: i64, whence: i32, reply: ReplyLseek) {
        self.answer(reply, ("lseek", ino.0, offset, whence), || self.seek(fh.0, offset, whence));
    }
}
