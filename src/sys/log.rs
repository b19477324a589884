//! Where a daemon's warnings go. In the foreground they go to stderr; once a mount has
//! detached from its terminal, stderr is /dev/null, so [`switch_to_syslog`] sends them
//! to syslog instead (as gocryptfs's go), unless `-nosyslog` kept them on stderr.
//!
//! The FUSE code calls [`warn`] and [`info`] and never `eprintln!` directly, so a
//! message is never lost to a closed stderr. Messages never carry secrets.
//!
//! Syslog is spoken directly: one RFC 3164 datagram per message to `/dev/log`, facility
//! `user`, severity `warning` or `info`, as Go's `log/syslog` (gocryptfs's) writes it:
//! `<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE`. No `logger` process is started (a node
//! without util-linux, or a job near its process limit, would lose the messages). Where
//! there is no `/dev/log` (a container without a syslog daemon) messages go nowhere,
//! as they would have on the detached stderr.

use std::fmt::Display;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// The socket syslog daemons (rsyslog, syslog-ng, busybox syslogd, journald) read.
const SYSLOG_SOCKET: &str = "/dev/log";

const FACILITY_USER: u8 = 1;
const SEVERITY_WARNING: u8 = 4;
const SEVERITY_INFO: u8 = 6;

/// Set once the mount has detached and syslog takes over from stderr.
struct Syslog {
    /// `None` when there is no `/dev/log` to connect to.
    socket: Option<UnixDatagram>,
    /// `TAG[PID]`, fixed at the switch (the daemon's pid does not change after).
    tag: String,
}

static SYSLOG: Mutex<Option<Syslog>> = Mutex::new(None);
static QUIET: AtomicBool = AtomicBool::new(false);
static PANIC_ON_WARNING: AtomicBool = AtomicBool::new(false);

/// A problem the user should hear about: a block that does not authenticate, a name
/// that does not decrypt, an unmount nobody asked for at the terminal.
pub fn warn(message: impl Display) {
    emit(SEVERITY_WARNING, &message.to_string());
    if PANIC_ON_WARNING.load(Ordering::Relaxed) {
        // -wpanic (gocryptfs's tests pass it): a warning ends the daemon, so a test
        // cannot pass over a warning it did not expect.
        emit(SEVERITY_WARNING, "-wpanic: exiting on the warning above");
        std::process::exit(2);
    }
}

/// Something worth a line in the log, not a problem. `-q` silences it.
pub fn info(message: impl Display) {
    if !QUIET.load(Ordering::Relaxed) {
        emit(SEVERITY_INFO, &message.to_string());
    }
}

/// `-q`: drop [`info`] messages (warnings still go out).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// `-wpanic`: exit on the first warning.
pub fn set_panic_on_warning(on: bool) {
    PANIC_ON_WARNING.store(on, Ordering::Relaxed);
}

/// From now on, messages go to syslog as `tag[PID]` (the mount calls this when it
/// detaches from the terminal). Connects at once, while the process can still open
/// files it may not later (a chroot, a tight `ulimit -n`).
pub fn switch_to_syslog(tag: &str) {
    let socket = UnixDatagram::unbound().ok().filter(|s| s.connect(SYSLOG_SOCKET).is_ok());
    let syslog = Syslog { socket, tag: format!("{tag}[{}]", std::process::id()) };
    *SYSLOG.lock().unwrap_or_else(PoisonError::into_inner) = Some(syslog);
}

fn emit(severity: u8, message: &str) {
    let guard = SYSLOG.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(syslog) = guard.as_ref() else {
        drop(guard);
        eprintln!("vaultfs: {message}");
        return;
    };
    if let Some(socket) = &syslog.socket {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let line = format_line(severity, &timestamp(now), &syslog.tag, message);
        // A full or restarted syslog daemon loses the line; the mount carries on.
        let _ = socket.send(line.as_bytes());
    }
}

/// One RFC 3164 message as a local syslog daemon expects it.
fn format_line(severity: u8, timestamp: &str, tag: &str, message: &str) -> String {
    let priority = FACILITY_USER * 8 + severity;
    // One message, one line: a newline inside would start a forged record.
    let message = message.replace('\n', " ");
    format!("<{priority}>{timestamp} {tag}: {message}")
}

/// `Mmm dd hh:mm:ss` in local time (RFC 3164's TIMESTAMP, day padded with a space).
fn timestamp(secs: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = super::local_time::local(secs);
    let month = MONTHS[(t.month.clamp(1, 12) - 1) as usize];
    format!("{month} {:>2} {:02}:{:02}:{:02}", t.day, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_priority_timestamp_tag_and_one_line_of_message() {
        assert_eq!(
            format_line(SEVERITY_WARNING, "Mar  5 07:08:09", "gocryptfs[42]", "bad block\nforged"),
            "<12>Mar  5 07:08:09 gocryptfs[42]: bad block forged"
        );
        assert!(format_line(SEVERITY_INFO, "x", "t", "m").starts_with("<14>"));
    }

    #[test]
    fn the_timestamp_is_rfc3164s() {
        let text = timestamp(0);
        assert_eq!(text.len(), "Jan  1 00:00:00".len(), "{text}");
        assert!(MONTHS_OK.iter().any(|m| text.starts_with(m)), "{text}");
    }

    const MONTHS_OK: [&str; 2] = ["Jan", "Dec"];
}
