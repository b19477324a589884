//! Unbuffered stdin/stdout for secrets, and the choice of a standard stream.
//!
//! `std::io::stdout()` keeps its own buffer, which would hold a copy of the password
//! that nobody wipes; these helpers go straight to the file descriptors.

use crate::secret::SecretBuf;
use std::io;
use zeroize::Zeroize;

/// Standard output, standard error, or neither: where 7-Zip's -bso, -bse and -bsp send
/// their text (`1`, `2`, `0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Nowhere,
    Stdout,
    Stderr,
}

impl Stream {
    /// Whether the stream is a terminal (never for `Nowhere`).
    pub fn is_terminal(self) -> bool {
        match self {
            Stream::Nowhere => false,
            Stream::Stdout => rustix::termios::isatty(rustix::stdio::stdout()),
            Stream::Stderr => rustix::termios::isatty(rustix::stdio::stderr()),
        }
    }

    /// A locked writer to the stream (one that drops everything for `Nowhere`).
    pub fn writer(self) -> Box<dyn io::Write> {
        match self {
            Stream::Nowhere => Box::new(io::sink()),
            Stream::Stdout => Box::new(io::stdout().lock()),
            Stream::Stderr => Box::new(io::stderr().lock()),
        }
    }
}

/// Writes all of `bytes` to fd 1 with no intermediate buffer.
pub fn write_stdout_unbuffered(mut bytes: &[u8]) -> io::Result<()> {
    let stdout = rustix::stdio::stdout();
    while !bytes.is_empty() {
        match rustix::io::write(stdout, bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Result of reading one secret line from stdin.
pub enum StdinLine {
    /// A line (without its `\n`); the input may have ended without one.
    Line(SecretBuf),
    /// Stdin was empty.
    Nothing,
}

/// Reads the first line of stdin into zeroizing memory, refusing more than `max` bytes.
/// Reads byte by byte so nothing past the line is consumed from a shared pipe.
pub fn read_stdin_line(max: usize) -> io::Result<StdinLine> {
    let stdin = rustix::stdio::stdin();
    let mut line = SecretBuf::new();
    let mut byte = [0u8; 1];
    let mut saw_any = false;
    loop {
        match rustix::io::read(stdin, &mut byte) {
            Ok(0) => break,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        saw_any = true;
        if byte[0] == b'\n' {
            break;
        }
        if line.len() >= max {
            byte.zeroize();
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("line longer than {max} bytes")));
        }
        line.push(byte[0]);
    }
    byte.zeroize();
    Ok(if saw_any { StdinLine::Line(line) } else { StdinLine::Nothing })
}

pub fn stdin_is_terminal() -> bool {
    rustix::termios::isatty(rustix::stdio::stdin())
}

pub fn stdout_is_terminal() -> bool {
    rustix::termios::isatty(rustix::stdio::stdout())
}
