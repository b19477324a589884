//! Masks a password given on the command line (7-Zip's `-pPASSWORD`), as the MySQL
//! client does with its `-p`.
//!
//! The kernel shows a process's arguments to every user (`ps`, `/proc/PID/cmdline`)
//! straight from the process's own memory, the strings at the top of its stack. Writing
//! over them there hides the password for the rest of the run: only the moments before
//! the applet starts stay exposed (the help still advises `-p` or `--password-file`).
//! The write goes through `/proc/self/mem`, so no Rust reference to that memory
//! exists; the standard library only reads it again through raw pointers, and armorbox
//! has parsed its arguments by then.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;

/// What the hidden bytes become.
const MASK: u8 = b'x';

/// Overwrites with `x` every byte after the first `keep` of each argument of this
/// process equal to `argument`. Returns how many arguments it masked.
pub fn mask(argument: &OsStr, keep: usize) -> io::Result<usize> {
    let (start, end) = argument_area()?;
    let mem = OpenOptions::new().read(true).write(true).open("/proc/self/mem")?;
    let mut area = vec![0u8; (end - start) as usize];
    mem.read_exact_at(&mut area, start)?;
    let mut masked = 0;
    let mut offset = 0;
    for arg in area.split(|&b| b == 0) {
        if arg == argument.as_bytes() && arg.len() > keep {
            let hidden = vec![MASK; arg.len() - keep];
            mem.write_all_at(&hidden, start + (offset + keep) as u64)?;
            masked += 1;
        }
        offset += arg.len() + 1;
    }
    Ok(masked)
}

/// Where this process's argument strings lie: fields 48 and 49 of `/proc/self/stat`
/// (Linux 3.5 and later).
fn argument_area() -> io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may hold spaces and parentheses: count after its end.
    let after_name = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
    // That rest starts at field 3, so field N is its (N - 3)th item.
    let field = |n: usize| after_name.split(' ').nth(n - 3).and_then(|f| f.parse::<u64>().ok());
    match (field(48), field(49)) {
        (Some(start), Some(end)) if start < end => Ok((start, end)),
        _ => Err(io::Error::other("/proc/self/stat gives no argument area")),
    }
}
