//! Keeps passwords and keys out of core files.
//!
//! The secrets themselves live in zeroizing memory, but copies this program does not
//! control outlive their use: sevenz-rust2 keeps the password and caches the last
//! derived key in a static, AES key schedules sit in the ciphers. A crash, or a
//! `kill -QUIT`, would write them to a core file on disk. Marking the process
//! non-dumpable stops that, and also stops other processes of the same user from
//! attaching with ptrace or reading its memory (a debugger now needs root). It is reset
//! when a program is executed, so the tools armorbox runs are not affected.

/// Best effort: where the kernel refuses (it does not on Linux), nothing changes.
pub fn forbid() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
