//! A progress line while a long job runs: bytes done, rate and ETA, redrawn in place a
//! few times a second, on stderr (or where 7-Zip's `-bsp` puts it) and only when that is
//! a terminal (scripts and batch logs get nothing).

use super::stdio::Stream;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Counts bytes as they go through; cheap to clone into readers.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A reader that counts what passes through it.
pub struct CountingReader<R> {
    inner: R,
    counter: Counter,
}

impl<R> CountingReader<R> {
    pub fn new(inner: R, counter: Counter) -> Self {
        CountingReader { inner, counter }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n as u64);
        Ok(n)
    }
}

/// The running line; dropping it stops and erases it.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The text of one progress line.
pub fn line(what: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let percent = (done.min(total) * 100).checked_div(total).unwrap_or(0);
    let eta = if rate > 0.0 && total > done { ((total - done) as f64 / rate) as u64 } else { 0 };
    format!(
        "{what} {percent:3}%  {} / {}  {}/s  ETA {}:{:02}",
        human(done as f64),
        human(total as f64),
        human(rate),
        eta / 60,
        eta % 60
    )
}

impl Progress {
    /// Starts drawing on `to` if it is a terminal (stderr unless 7-Zip's `-bsp` says
    /// otherwise: stdout may be a listing); otherwise does nothing.
    pub fn start(what: &'static str, total: u64, counter: Counter, to: Stream) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        if !to.is_terminal() {
            return Progress { stop, thread: None };
        }
        let flag = Arc::clone(&stop);
        // No thread to spare, no progress line: the work itself goes on.
        let thread = std::thread::Builder::new().spawn(move || {
            let start = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                let mut out = to.writer();
                let _ = write!(out, "\r{}\x1b[K", line(what, counter.get(), total, start.elapsed()));
                let _ = out.flush();
            }
            let mut out = to.writer();
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
        });
        Progress { stop, thread: thread.ok() }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_percent_sizes_rate_and_eta() {
        let text = line("compressing", 25_000_000, 100_000_000, Duration::from_secs(5));
        assert_eq!(text, "compressing  25%  25.0 MB / 100.0 MB  5.0 MB/s  ETA 0:15");
    }

    #[test]
    fn counting_reader_counts() {
        let counter = Counter::default();
        let mut r = CountingReader::new(&b"hello world"[..], counter.clone());
        std::io::copy(&mut r, &mut std::io::sink()).unwrap();
        assert_eq!(counter.get(), 11);
    }
}
