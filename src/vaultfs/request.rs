//! One FUSE request from the kernel to its answer, for both filesystems (forward and
//! reverse): a panic inside it is caught and answered with EIO (the mount and every
//! other file keep working), `-debug` logs it, and the reply boilerplate lives here
//! once.

use crate::sys::log;
use fuser::{
    Errno, FileAttr, FileHandle, FopenFlags, Generation, ReplyAttr, ReplyCreate, ReplyData, ReplyEmpty, ReplyEntry,
    ReplyLseek, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr,
};
use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// A reply fuser hands to an operation, answered from a `Result`.
pub trait Answer {
    type Value;
    fn send(self, ttl: &Duration, value: Self::Value);
    fn fail(self, errno: Errno);
}

impl Answer for ReplyEntry {
    type Value = FileAttr;
    fn send(self, ttl: &Duration, attr: FileAttr) {
        self.entry(ttl, &attr, Generation(0));
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

impl Answer for ReplyAttr {
    type Value = FileAttr;
    fn send(self, ttl: &Duration, attr: FileAttr) {
        self.attr(ttl, &attr);
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

impl Answer for ReplyEmpty {
    type Value = ();
    fn send(self, _: &Duration, (): ()) {
        self.ok();
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

thread_local! {
    /// The buffer of the last read answered on this thread, kept for the next one.
    static SPARE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The bytes of a ReplyData in a buffer reused across the requests of one thread: a
/// megabyte-sized buffer per read costs an mmap, page faults and, with the wiping
/// allocator, a wipe and an munmap each time (reads took 1.47 times as long, 7
/// interleaved rounds of 250 MiB, when every read had its own).
pub struct Bytes(Vec<u8>);

impl Bytes {
    /// This thread's spare buffer, empty.
    pub fn reuse() -> Self {
        let mut buf = SPARE.with_borrow_mut(std::mem::take);
        buf.clear();
        Bytes(buf)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl std::ops::Deref for Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        SPARE.with_borrow_mut(|spare| {
            if buf.capacity() > spare.capacity() {
                *spare = buf;
            }
        });
    }
}

impl Answer for ReplyData {
    type Value = Bytes;
    fn send(self, _: &Duration, data: Bytes) {
        self.data(&data);
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

impl Answer for ReplyOpen {
    type Value = (u64, FopenFlags);
    fn send(self, _: &Duration, (fh, flags): (u64, FopenFlags)) {
        self.opened(FileHandle(fh), flags);
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

impl Answer for ReplyCreate {
    type Value = (FileAttr, u64);
    fn send(self, ttl: &Duration, (attr, fh): (FileAttr, u64)) {
        self.created(ttl, &attr, Generation(0), FileHandle(fh), FopenFlags::empty());
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

impl Answer for ReplyWrite {
    type Value = u32;
    fn send(self, _: &Duration, written: u32) {
        self.written(written);
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

impl Answer for ReplyLseek {
    type Value = i64;
    fn send(self, _: &Duration, offset: i64) {
        self.offset(offset);
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

impl Answer for ReplyStatfs {
    type Value = rustix::fs::StatVfs;
    fn send(self, _: &Duration, s: rustix::fs::StatVfs) {
        self.statfs(
            s.f_blocks,
            s.f_bfree,
            s.f_bavail,
            s.f_files,
            s.f_ffree,
            s.f_bsize as u32,
            s.f_namemax as u32,
            s.f_frsize as u32,
        );
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

/// What getxattr and listxattr answer: the size when asked for it, else the bytes.
pub struct XattrValue {
    pub asked_size: u32,
    pub bytes: Vec<u8>,
}

impl Answer for ReplyXattr {
    type Value = XattrValue;
    fn send(self, _: &Duration, value: XattrValue) {
        if value.asked_size == 0 {
            self.size(value.bytes.len() as u32);
        } else if value.bytes.len() > value.asked_size as usize {
            self.error(Errno::ERANGE);
        } else {
            self.data(&value.bytes);
        }
    }
    fn fail(self, errno: Errno) {
        self.error(errno);
    }
}

/// Short forms of results for the `-debug` log (never file contents or names' keys).
pub trait Summary {
    fn summary(&self) -> String;
}

impl Summary for FileAttr {
    fn summary(&self) -> String {
        format!("ino {} {:?} size {} mode {:o}", self.ino.0, self.kind, self.size, self.perm)
    }
}
impl Summary for () {
    fn summary(&self) -> String {
        "ok".into()
    }
}
impl Summary for Bytes {
    fn summary(&self) -> String {
        format!("{} bytes", self.len())
    }
}
impl Summary for (u64, FopenFlags) {
    fn summary(&self) -> String {
        format!("fh {}", self.0)
    }
}
impl Summary for (FileAttr, u64) {
    fn summary(&self) -> String {
        format!("{} fh {}", self.0.summary(), self.1)
    }
}
impl Summary for u32 {
    fn summary(&self) -> String {
        self.to_string()
    }
}
impl Summary for i64 {
    fn summary(&self) -> String {
        self.to_string()
    }
}
impl Summary for rustix::fs::StatVfs {
    fn summary(&self) -> String {
        format!("{} blocks free", self.f_bfree)
    }
}
impl Summary for XattrValue {
    fn summary(&self) -> String {
        format!("{} bytes", self.bytes.len())
    }
}

/// Runs one request's work and answers it. `what` describes the request for the log.
pub fn answer<R: Answer>(
    reply: R,
    ttl: &Duration,
    debug: bool,
    what: impl Debug,
    work: impl FnOnce() -> Result<R::Value, Errno>,
) where
    R::Value: Summary,
{
    let result = match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            log::warn(format!("internal error in {what:?}: {why} (this is a bug; answered EIO)"));
            Err(Errno::EIO)
        }
    };
    if debug {
        match &result {
            Ok(value) => log::info(format!("{what:?} -> {}", value.summary())),
            Err(errno) => log::info(format!("{what:?} -> {errno:?}")),
        }
    }
    match result {
        Ok(value) => reply.send(ttl, value),
        Err(errno) => reply.fail(errno),
    }
}

/// Conversions from a backing file's stat to what fuser wants.
pub fn system_time(secs: i64, nsecs: i64) -> std::time::SystemTime {
    use std::time::UNIX_EPOCH;
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nsecs as u64)
    }
}

pub fn file_type(mode: u32) -> fuser::FileType {
    use fuser::FileType;
    match rustix::fs::FileType::from_raw_mode(mode) {
        rustix::fs::FileType::Directory => FileType::Directory,
        rustix::fs::FileType::Symlink => FileType::Symlink,
        rustix::fs::FileType::Fifo => FileType::NamedPipe,
        rustix::fs::FileType::Socket => FileType::Socket,
        rustix::fs::FileType::CharacterDevice => FileType::CharDevice,
        rustix::fs::FileType::BlockDevice => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}
