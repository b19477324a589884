//! Turns the signals that concern an interactive prompt into events its poll loop sees.
//!
//! A handler can do almost nothing safely, so each signal only sets its flag and wakes
//! a self-pipe; the prompt restores the terminal and acts on it in normal code.

use signal_hook::SigId;
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Signals that end the prompt (the terminal is restored, then the applet exits
/// with 128 + the signal number).
pub const ENDING: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];
/// Job control: stop (restore the terminal first) and continue (set it up again).
pub const STOP: i32 = SIGTSTP;
pub const CONTINUE: i32 = SIGCONT;

/// Registered handlers, removed again on drop so the rest of the program keeps the
/// default behaviour.
pub struct SignalWatch {
    flags: Vec<(i32, Arc<AtomicBool>)>,
    handlers: Vec<SigId>,
    wake_read: UnixStream,
}

impl SignalWatch {
    pub fn new() -> io::Result<Self> {
        let (wake_read, wake_write) = UnixStream::pair()?;
        wake_read.set_nonblocking(true)?;
        let mut watch = SignalWatch { flags: Vec::new(), handlers: Vec::new(), wake_read };
        for signal in ENDING.into_iter().chain([STOP, CONTINUE]) {
            let flag = Arc::new(AtomicBool::new(false));
            // The flag first: actions run in registration order, so when the pipe wakes
            // the loop the flag is already set.
            watch.handlers.push(signal_hook::flag::register(signal, Arc::clone(&flag))?);
            watch.handlers.push(signal_hook::low_level::pipe::register(signal, wake_write.try_clone()?)?);
            watch.flags.push((signal, flag));
        }
        Ok(watch)
    }

    /// Readable when a signal arrived.
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake_read.as_fd()
    }

    /// The signals that arrived since the last call, in a fixed order.
    pub fn take_pending(&self) -> Vec<i32> {
        let mut drain = [0u8; 64];
        while matches!((&self.wake_read).read(&mut drain), Ok(n) if n > 0) {}
        self.flags.iter().filter(|(_, flag)| flag.swap(false, Ordering::SeqCst)).map(|(signal, _)| *signal).collect()
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        for id in self.handlers.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
