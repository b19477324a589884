//! Extended attributes: names encrypted like file names (with a fixed tweak), values
//! sealed like a one-block file; POSIX ACLs pass through unencrypted, as in gocryptfs
//! (the kernel must read them to enforce them).

use super::{VaultFs, name_errno, sys_errno};
use crate::gocryptfs::names::XATTR_PREFIX;
use crate::vaultfs::backing::XattrTarget;
use crate::vaultfs::request::XattrValue;
use fuser::Errno;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

const ACL_PREFIX: &[u8] = b"system.posix_acl_";

impl VaultFs {
    /// The stored name of an xattr; ACL names are stored as they are.
    fn stored_xattr_name(&self, name: &OsStr) -> Result<OsString, Errno> {
        if name.as_bytes().starts_with(ACL_PREFIX) {
            return Ok(name.to_owned());
        }
        if self.volume.names.plaintext() {
            return Err(Errno::EOPNOTSUPP);
        }
        self.volume.names.encrypt_xattr_name(name.as_bytes()).map(OsString::from).map_err(name_errno)
    }

    fn xattr_target(&self, ino: u64) -> Result<XattrTarget, Errno> {
        self.with_object(ino, XattrTarget::new)
    }

    pub(super) fn set_xattr(&self, ino: u64, name: &OsStr, value: &[u8], flags: i32) -> Result<(), Errno> {
        self.check_writable()?;
        if name.as_bytes().starts_with(b"security.") {
            return Err(Errno::EOPNOTSUPP);
        }
        let stored_name = self.stored_xattr_name(name)?;
        let stored = if stored_name == name || value.is_empty() {
            value.to_vec()
        } else {
            self.volume.content.encrypt_standalone(value).map_err(super::io_errno)?
        };
        let flags = rustix::fs::XattrFlags::from_bits_retain(flags as u32);
        self.xattr_target(ino)?.set(&stored_name, &stored, flags).map_err(sys_errno)
    }

    pub(super) fn get_xattr(&self, ino: u64, name: &OsStr, asked_size: u32) -> Result<XattrValue, Errno> {
        // The kernel asks for this on every write; gocryptfs answers it without I/O.
        if name.as_bytes().starts_with(b"security.") {
            return Err(Errno::NO_XATTR);
        }
        let stored_name = self.stored_xattr_name(name)?;
        let stored = self.xattr_target(ino)?.get(&stored_name).map_err(sys_errno)?;
        let bytes = if stored_name == name || stored.is_empty() { stored } else { self.open_xattr_value(&stored)? };
        Ok(XattrValue { asked_size, bytes })
    }

    /// A stored value: sealed bytes, or (as old gocryptfs versions wrote them) those
    /// bytes in base64.
    fn open_xattr_value(&self, stored: &[u8]) -> Result<Vec<u8>, Errno> {
        let content = &self.volume.content;
        if let Ok(plain) = content.decrypt_standalone(stored) {
            return Ok(plain);
        }
        let decoded = std::str::from_utf8(stored).ok().and_then(|text| self.volume.names.decode(text).ok());
        decoded.and_then(|sealed| content.decrypt_standalone(&sealed).ok()).ok_or(Errno::EIO)
    }

    pub(super) fn list_xattrs(&self, ino: u64, asked_size: u32) -> Result<XattrValue, Errno> {
        let stored = self.xattr_target(ino)?.list().map_err(sys_errno)?;
        let mut bytes = Vec::new();
        for name in stored.split(|&b| b == 0).filter(|s| !s.is_empty()) {
            if name.starts_with(ACL_PREFIX) {
                bytes.extend_from_slice(name);
                bytes.push(0);
            } else if name.starts_with(XATTR_PREFIX.as_bytes())
                && !self.volume.names.plaintext()
                && let Ok(plain) = self.volume.names.decrypt_xattr_name(&String::from_utf8_lossy(name))
            {
                bytes.extend_from_slice(&plain);
                bytes.push(0);
            }
        }
        Ok(XattrValue { asked_size, bytes })
    }

    pub(super) fn remove_xattr(&self, ino: u64, name: &OsStr) -> Result<(), Errno> {
        self.check_writable()?;
        let stored_name = self.stored_xattr_name(name)?;
        self.xattr_target(ino)?.remove(&stored_name).map_err(sys_errno)
    }
}
