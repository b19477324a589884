//! Finding our own binary, to link to it (`--install`) or run it again (vaultfs's
//! background mode): /proc/self/exe, or where /proc is not mounted (a fresh chroot, some
//! containers) argv[0] as a path or looked up in PATH, as the shell found it.

use std::io;
use std::path::{Path, PathBuf};

pub fn own_binary() -> io::Result<PathBuf> {
    if let Ok(exe) = std::env::current_exe().and_then(std::fs::canonicalize) {
        return Ok(exe);
    }
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let named = Path::new(&argv0);
    let candidates: Vec<PathBuf> = if named.components().count() > 1 {
        vec![named.to_path_buf()]
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).map(|dir| dir.join(named)).collect()
    };
    candidates
        .into_iter()
        .find_map(|candidate| std::fs::canonicalize(candidate).ok().filter(|p| p.is_file()))
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "cannot find my own binary (no /proc/self/exe; run me by my path)")
        })
}
