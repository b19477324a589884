//! Unix modes and times the way 7-Zip stores them on Linux.

use sevenz_rust2::NtTime;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// FILE_ATTRIBUTE_UNIX_EXTENSION: the high 16 bits hold `st_mode`.
pub const UNIX_EXTENSION: u32 = 0x8000;
const DIRECTORY: u32 = 0x10;
const ARCHIVE: u32 = 0x20;
const READ_ONLY: u32 = 0x01;
const SECONDS_1601_TO_1970: i64 = 11_644_473_600;

/// 7-Zip's attribute word for a Unix mode (FileFind.cpp, Get_WinAttribPosix_From_PosixMode).
pub fn from_mode(mode: u32, is_dir: bool) -> u32 {
    let mut attributes = UNIX_EXTENSION | ((mode & 0xFFFF) << 16) | if is_dir { DIRECTORY } else { ARCHIVE };
    if mode & 0o222 == 0 {
        attributes |= READ_ONLY;
    }
    attributes
}

/// The full `st_mode` (type and permissions), when the archive recorded one.
pub fn unix_mode(attributes: u32) -> Option<u32> {
    (attributes & UNIX_EXTENSION != 0).then_some(attributes >> 16)
}

pub fn is_symlink_mode(mode: u32) -> bool {
    mode & 0o170000 == 0o120000
}

/// FILETIME: 100 ns units since 1601-01-01 UTC.
pub fn nt_time(secs: i64, nanos: i64) -> NtTime {
    let ticks = (secs + SECONDS_1601_TO_1970) as u64 * 10_000_000 + (nanos / 100) as u64;
    NtTime::new(ticks)
}

/// Whole seconds since 1970 (negative before) and the 100 ns ticks past them.
pub fn unix_seconds(time: NtTime) -> (i64, u32) {
    let ticks: u64 = time.into();
    ((ticks / 10_000_000) as i64 - SECONDS_1601_TO_1970, (ticks % 10_000_000) as u32)
}

pub fn system_time(time: NtTime) -> SystemTime {
    let ticks: u64 = time.into();
    let since_1601 = Duration::new(ticks / 10_000_000, (ticks % 10_000_000) as u32 * 100);
    let offset = Duration::from_secs(SECONDS_1601_TO_1970 as u64);
    match since_1601.checked_sub(offset) {
        Some(after) => UNIX_EPOCH + after,
        None => UNIX_EPOCH - (offset - since_1601),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_match_what_7zz_writes() {
        assert_eq!(from_mode(0o40755, true), 0x41ED8010);
        assert_eq!(from_mode(0o100644, false), 0x81A48020);
        assert_eq!(from_mode(0o100750, false), 0x81E88020);
        assert_eq!(from_mode(0o120777, false), 0xA1FF8020);
        assert_eq!(from_mode(0o100444, false) & READ_ONLY, READ_ONLY);
        assert_eq!(unix_mode(0x81E88020), Some(0o100750));
        assert_eq!(unix_mode(0x20), None);
        assert!(is_symlink_mode(0o120777));
    }

    #[test]
    fn times_round_trip_at_100ns() {
        let t = nt_time(1_700_000_000, 123_456_700);
        assert_eq!(system_time(t), UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_700));
        assert_eq!(u64::from(nt_time(0, 0)), 116_444_736_000_000_000);
    }
}
