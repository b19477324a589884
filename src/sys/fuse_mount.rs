//! Mounting a FUSE filesystem without libfuse, and without anything that later unmounts
//! "whatever is at this path": as root with mount(2) directly (what gocryptfs calls
//! DirectMount), otherwise through the setuid `fusermount3`, which hands back the
//! /dev/fuse descriptor over a socket. The caller serves that descriptor.
//!
//! fuser's own mounting was not used because when a session ends after an external
//! `fusermount -u`, it unmounts by path again, which can take down a new mount made at
//! the same place in the meantime (seen in our tests as a remount vanishing).

use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, UnmountFlags};
use rustix::net::{AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketFlags, SocketType};
use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to mount and how.
#[derive(Clone, Debug, Default)]
pub struct MountRequest {
    pub mountpoint: PathBuf,
    /// Shown as the source in /proc/mounts (gocryptfs shows the cipher directory).
    pub fsname: String,
    /// The type becomes `fuse.<subtype>`.
    pub subtype: String,
    pub read_only: bool,
    pub allow_other: bool,
    pub default_permissions: bool,
    pub dev: bool,
    pub suid: bool,
    pub noexec: bool,
    /// Further options for the kernel (`-ko`), passed as given.
    pub extra: Vec<String>,
}

impl MountRequest {
    /// Options both the kernel and fusermount3 understand.
    fn common_options(&self) -> Vec<String> {
        let mut options = Vec::new();
        if self.allow_other {
            options.push("allow_other".to_string());
        }
        if self.default_permissions {
            options.push("default_permissions".to_string());
        }
        options.extend(self.extra.iter().cloned());
        options
    }

    fn flags(&self) -> MountFlags {
        let mut flags = MountFlags::empty();
        if !self.dev {
            flags |= MountFlags::NODEV;
        }
        if !self.suid {
            flags |= MountFlags::NOSUID;
        }
        if self.noexec {
            flags |= MountFlags::NOEXEC;
        }
        if self.read_only {
            flags |= MountFlags::RDONLY;
        }
        flags
    }
}

/// Mounts and returns the /dev/fuse descriptor to serve. `VAULTFS_MOUNT_HELPER=fusermount3`
/// in the environment skips the direct mount (so root can exercise the user path).
pub fn mount(request: &MountRequest) -> io::Result<OwnedFd> {
    if std::env::var_os("VAULTFS_MOUNT_HELPER").is_some_and(|v| v == "fusermount3") {
        return mount_with_fusermount(request);
    }
    match mount_directly(request) {
        // Not root (mount(2) refused), or /dev/fuse not open to us: the setuid helper can.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => mount_with_fusermount(request),
        other => other,
    }
}

fn mount_directly(request: &MountRequest) -> io::Result<OwnedFd> {
    let fuse = rustix::fs::open("/dev/fuse", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::NOENT => {
            io::Error::new(io::ErrorKind::NotFound, "/dev/fuse is missing (is the fuse module loaded?)")
        }
        e => io::Error::from(e),
    })?;
    let root_mode = std::fs::metadata(&request.mountpoint)?.mode() & 0o170000;
    let mut options = vec![
        format!("fd={}", fuse.as_raw_fd()),
        format!("rootmode={root_mode:o}"),
        format!("user_id={}", rustix::process::getuid().as_raw()),
        format!("group_id={}", rustix::process::getgid().as_raw()),
    ];
    options.extend(request.common_options());
    let data = CString::new(options.join(",")).map_err(|_| io::Error::other("NUL in mount options"))?;
    let fs_type = format!("fuse.{}", request.subtype);
    rustix::mount::mount(
        request.fsname.as_str(),
        &request.mountpoint,
        fs_type.as_str(),
        request.flags(),
        data.as_c_str(),
    )?;
    Ok(fuse)
}

fn mount_with_fusermount(request: &MountRequest) -> io::Result<OwnedFd> {
    // Our end is close-on-exec; fusermount3's end is inherited and named by _FUSE_COMMFD.
    let (ours, theirs) = rustix::net::socketpair(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    rustix::io::fcntl_setfd(&theirs, rustix::io::FdFlags::empty())?;
    let mut options = request.common_options();
    options.push(format!("fsname={}", request.fsname));
    options.push(format!("subtype={}", request.subtype));
    for (wanted, name) in
        [(request.read_only, "ro"), (!request.dev, "nodev"), (!request.suid, "nosuid"), (request.noexec, "noexec")]
    {
        if wanted {
            options.push(name.to_string());
        }
    }
    let mut child = Command::new("fusermount3")
        .arg("-o")
        .arg(options.join(","))
        .arg("--")
        .arg(&request.mountpoint)
        .env("_FUSE_COMMFD", theirs.as_raw_fd().to_string())
        .spawn()
        .map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::NotFound { " (install the fuse3 package)" } else { "" };
            io::Error::new(e.kind(), format!("fusermount3: {e}{hint}"))
        })?;
    drop(theirs);
    let received = receive_fd(&ours);
    let status = child.wait()?;
    match received {
        Ok(fd) => Ok(fd),
        Err(_) if !status.success() => Err(io::Error::other(format!("fusermount3 failed ({status})"))),
        Err(e) => Err(e),
    }
}

fn receive_fd(socket: &OwnedFd) -> io::Result<OwnedFd> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    rustix::net::recvmsg(socket, &mut [io::IoSliceMut::new(&mut byte)], &mut control, RecvFlags::empty())?;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = message
            && let Some(fd) = fds.next()
        {
            return Ok(fd);
        }
    }
    Err(io::Error::other("fusermount3 sent no /dev/fuse descriptor"))
}

/// Unmounts our own mount (on SIGTERM and the like). `lazy` detaches it even while
/// files are open: nothing can reach it any more, and it goes when they close.
pub fn unmount(mountpoint: &Path, lazy: bool) -> io::Result<()> {
    let flags = if lazy { UnmountFlags::DETACH } else { UnmountFlags::empty() };
    match rustix::mount::unmount(mountpoint, flags) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::PERM) => {
            let mut cmd = Command::new("fusermount3");
            cmd.arg(if lazy { "-uz" } else { "-u" }).arg("--").arg(mountpoint);
            let status = cmd.status()?;
            if status.success() { Ok(()) } else { Err(io::Error::other(format!("fusermount3 -u failed ({status})"))) }
        }
        Err(e) => Err(e.into()),
    }
}
