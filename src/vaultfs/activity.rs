//! How busy the filesystem is, for `-idle`: when it was last used and how many files
//! are open. Shared between the FUSE threads and the idle watcher.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Activity {
    start: Instant,
    /// Milliseconds since `start` at the last operation.
    last_ms: AtomicU64,
    open_files: AtomicUsize,
}

impl Default for Activity {
    fn default() -> Self {
        Activity { start: Instant::now(), last_ms: AtomicU64::new(0), open_files: AtomicUsize::new(0) }
    }
}

impl Activity {
    pub fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub fn opened(&self) {
        self.open_files.fetch_add(1, Ordering::Relaxed);
        self.touch();
    }

    pub fn closed(&self) {
        self.open_files.fetch_sub(1, Ordering::Relaxed);
        self.touch();
    }

    /// Idle for at least `limit`, with no open file.
    pub fn idle_for(&self, limit: Duration) -> bool {
        let since = self.start.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)));
        self.open_files.load(Ordering::Relaxed) == 0 && since >= limit
    }
}

/// Go's duration syntax as gocryptfs takes it (`90s`, `10m`, `1h30m`, `500ms`).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(number * seconds);
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1.5m"), Some(Duration::from_secs(90)));
        for bad in ["", "10", "5x", "m"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn open_files_keep_it_busy() {
        let a = Activity::default();
        a.opened();
        assert!(!a.idle_for(Duration::ZERO));
        a.closed();
        assert!(a.idle_for(Duration::ZERO));
        assert!(!a.idle_for(Duration::from_secs(60)));
    }
}
