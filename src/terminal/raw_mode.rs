//! Puts the terminal in the mode a masked prompt needs and puts it back, always.

use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use std::io;
use std::os::fd::BorrowedFd;

/// While alive, the terminal reads key by key with no echo and no signal keys (Ctrl-C
/// and Ctrl-Z arrive as bytes, so the prompt decides what they do). Dropping it — on
/// return, on error or while a panic unwinds — restores the settings found at start.
pub struct RawMode<'fd> {
    fd: BorrowedFd<'fd>,
    original: Termios,
    active: bool,
}

impl<'fd> RawMode<'fd> {
    pub fn enter(fd: BorrowedFd<'fd>) -> io::Result<Self> {
        let original = termios::tcgetattr(fd)?;
        let mut mode = RawMode { fd, original, active: false };
        mode.reapply()?;
        Ok(mode)
    }

    /// Applies the prompt's settings again, as after the job was stopped and continued
    /// (the shell may have reset the terminal meanwhile).
    pub fn reapply(&mut self) -> io::Result<()> {
        let mut raw = self.original.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ECHONL | LocalModes::ISIG | LocalModes::IEXTEN);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        termios::tcsetattr(self.fd, OptionalActions::Now, &raw)?;
        self.active = true;
        Ok(())
    }

    /// Puts the original settings back (idempotent).
    pub fn restore(&mut self) {
        if self.active {
            // Nothing useful can be done if this fails (the terminal is gone).
            let _ = termios::tcsetattr(self.fd, OptionalActions::Now, &self.original);
            self.active = false;
        }
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        self.restore();
    }
}
