//! Calendar time in the machine's time zone, as 7-Zip's listings print it: `TZ` if set,
//! else `/etc/localtime` (musl's `localtime_r` reads both), else UTC.

/// A moment as the calendar and the clock show it.
#[derive(Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// `YYYY-MM-DD HH:MM:SS`.
    pub fn text(&self) -> String {
        let Civil { year, month, day, hour, minute, second } = self;
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
    }
}

/// `secs` since 1970 in local time; in UTC where the C library cannot convert it.
pub fn local(secs: i64) -> Civil {
    // `time_t` is 64 bits on every 64-bit target; naming the type warns on musl targets
    // (libc flags its 32-bit musl form), and a narrower one would not compile here.
    let time = secs;
    // SAFETY: an all-zero `tm` is a valid value (integers and a null zone name).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals; `localtime_r` only writes `tm`, and is
    // the thread-safe form (no shared static result).
    let converted = unsafe { libc::localtime_r(&time, &mut tm) };
    if converted.is_null() {
        return utc(secs);
    }
    Civil {
        year: tm.tm_year as i64 + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
    }
}

/// `secs` since 1970 in UTC (Howard Hinnant's days-to-civil algorithm).
pub fn utc(secs: i64) -> Civil {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second) = ((rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32);
    Civil { year, month, day, hour, minute, second }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(utc(1_700_000_000).text(), "2023-11-14 22:13:20");
        assert_eq!(utc(951_782_400).text(), "2000-02-29 00:00:00");
        assert_eq!(utc(-1).text(), "1969-12-31 23:59:59");
    }
}
