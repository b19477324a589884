//! The masked password prompt shared by every applet that asks for a secret
//! (mask-passwd, vaultfs, secarc, cvault-init): it talks to the controlling terminal,
//! never to stdin/stdout, shows one `*` per character and leaves the terminal as it
//! found it on every path out.

mod line_editor;
mod raw_mode;
mod signals;

pub use line_editor::{KeyOutcome, LineEditor};

use crate::secret::SecretBuf;
use raw_mode::RawMode;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::{Mode, OFlags, open};
use signals::SignalWatch;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use zeroize::Zeroize;

/// Why no password came back from the terminal.
#[derive(Debug)]
pub enum PromptError {
    /// There is no controlling terminal to ask on.
    NoTerminal(io::Error),
    /// Ctrl-C.
    Interrupted,
    /// Ctrl-D on an empty line, or the terminal hung up.
    EndOfInput,
    /// A signal ended the prompt (its number).
    Signal(i32),
    /// Reading or writing the terminal failed.
    Io(io::Error),
}

impl std::fmt::Display for PromptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PromptError::NoTerminal(e) => write!(f, "no terminal to ask on (/dev/tty: {e})"),
            PromptError::Interrupted => write!(f, "interrupted"),
            PromptError::EndOfInput => write!(f, "no password entered"),
            PromptError::Signal(n) => write!(f, "ended by signal {n}"),
            PromptError::Io(e) => write!(f, "terminal error: {e}"),
        }
    }
}

impl From<io::Error> for PromptError {
    fn from(e: io::Error) -> Self {
        PromptError::Io(e)
    }
}

impl From<rustix::io::Errno> for PromptError {
    fn from(e: rustix::io::Errno) -> Self {
        PromptError::Io(e.into())
    }
}

/// What to ask and what to accept.
pub struct PasswordRequest<'a> {
    pub prompt: &'a str,
    /// Ask a second time and compare; ask both again on mismatch.
    pub confirm_prompt: Option<&'a str>,
    /// Accept an empty password; otherwise say so and ask again.
    pub allow_empty: bool,
}

/// The controlling terminal (`/dev/tty`).
pub struct Terminal {
    fd: OwnedFd,
}

impl Terminal {
    /// Opens `/dev/tty`: works even when stdin and stdout are pipes, which is the point.
    pub fn open() -> Result<Self, PromptError> {
        let fd = open("/dev/tty", OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| PromptError::NoTerminal(e.into()))?;
        Ok(Terminal { fd })
    }

    /// Shows a line on the terminal (messages between prompts).
    pub fn say(&self, line: &str) -> Result<(), PromptError> {
        self.write_all(line.as_bytes())?;
        self.write_all(b"\r\n")
    }

    /// Asks as the request says until it gets an acceptable password.
    pub fn ask_password(&self, request: &PasswordRequest<'_>) -> Result<SecretBuf, PromptError> {
        loop {
            let first = self.read_masked(request.prompt)?;
            if first.is_empty() && !request.allow_empty {
                self.say("Empty password refused, try again (Ctrl-D to give up).")?;
                continue;
            }
            let Some(confirm_prompt) = request.confirm_prompt else {
                return Ok(first);
            };
            let second = self.read_masked(confirm_prompt)?;
            if first == second {
                return Ok(first);
            }
            self.say("Passwords do not match, try again.")?;
        }
    }

    /// Asks a question and reads one visible line (the terminal stays in its normal
    /// mode): for yes/no questions, never for secrets.
    pub fn ask_line(&self, question: &str) -> Result<String, PromptError> {
        self.write_all(question.as_bytes())?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match rustix::io::read(&self.fd, &mut byte) {
                Ok(0) => return Err(PromptError::EndOfInput),
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => line.push(byte[0]),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(String::from_utf8_lossy(&line).trim().to_string())
    }

    /// One masked line. The terminal is in raw mode only inside this call.
    pub fn read_masked(&self, prompt: &str) -> Result<SecretBuf, PromptError> {
        let signals = SignalWatch::new()?;
        let mut mode = RawMode::enter(self.fd.as_fd())?;
        let mut editor = LineEditor::new();
        self.write_all(prompt.as_bytes())?;
        let outcome = self.edit_line(&mut editor, &mut mode, &signals, prompt);
        mode.restore();
        // The cursor is still after the stars: end the line whatever happened.
        let _ = self.write_all(b"\r\n");
        outcome.map(|()| editor.into_password())
    }

    fn edit_line(
        &self,
        editor: &mut LineEditor,
        mode: &mut RawMode<'_>,
        signals: &SignalWatch,
        prompt: &str,
    ) -> Result<(), PromptError> {
        let mut keys = [0u8; 64];
        let wake = signals.wake_fd();
        let result = loop {
            let mut fds = [PollFd::new(&self.fd, PollFlags::IN), PollFd::new(&wake, PollFlags::IN)];
            match poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => break Err(e.into()),
            }
            let tty_ready = !fds[0].revents().is_empty();
            if let Some(ended) = self.handle_signals(signals, editor, mode, prompt)? {
                break Err(ended);
            }
            if !tty_ready {
                continue;
            }
            let n = match rustix::io::read(&self.fd, &mut keys) {
                Ok(0) => break Err(PromptError::EndOfInput),
                Ok(n) => n,
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
                Err(e) => break Err(e.into()),
            };
            if let Some(done) = self.handle_keys(&keys[..n], editor, mode)? {
                break done;
            }
        };
        keys.zeroize();
        result
    }

    /// Feeds typed bytes to the editor. `Some` when the line is finished.
    fn handle_keys(
        &self,
        keys: &[u8],
        editor: &mut LineEditor,
        mode: &mut RawMode<'_>,
    ) -> Result<Option<Result<(), PromptError>>, PromptError> {
        for &key in keys {
            match editor.feed(key) {
                KeyOutcome::Continue(draw) => self.write_all(&draw)?,
                KeyOutcome::Submit => return Ok(Some(Ok(()))),
                KeyOutcome::Interrupt => return Ok(Some(Err(PromptError::Interrupted))),
                KeyOutcome::EndOfInput => return Ok(Some(Err(PromptError::EndOfInput))),
                KeyOutcome::Suspend => {
                    // Like the terminal's own Ctrl-Z: stop the whole job. Our handler
                    // sees the signal and restores the terminal before stopping.
                    mode.restore();
                    rustix::process::kill_current_process_group(rustix::process::Signal::TSTP)?;
                }
            }
        }
        Ok(None)
    }

    /// Acts on arrived signals. `Some` when one of them ends the prompt.
    fn handle_signals(
        &self,
        signals: &SignalWatch,
        editor: &LineEditor,
        mode: &mut RawMode<'_>,
        prompt: &str,
    ) -> Result<Option<PromptError>, PromptError> {
        for signal in signals.take_pending() {
            if signals::ENDING.contains(&signal) {
                return Ok(Some(PromptError::Signal(signal)));
            }
            if signal == signals::STOP {
                mode.restore();
                self.write_all(b"\r\n")?;
                // Stops the process here; it resumes on SIGCONT, handled below.
                signal_hook::low_level::emulate_default_handler(signal)?;
            } else if signal == signals::CONTINUE {
                mode.reapply()?;
                self.write_all(prompt.as_bytes())?;
                self.write_all(&b"*".repeat(editor.char_count()))?;
            }
        }
        Ok(None)
    }

    fn write_all(&self, mut bytes: &[u8]) -> Result<(), PromptError> {
        while !bytes.is_empty() {
            match rustix::io::write(&self.fd, bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
