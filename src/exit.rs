//! Errors that end an applet: a message for the user and the exit code that scripts see.
//!
//! Every failure an applet reports goes through [`Failure`], printed once at the
//! boundary as `APPLET: MESSAGE`. Messages never contain secrets: the types in
//! [`crate::secret`] have no `Display` and a redacting `Debug`.

use std::fmt;

/// Exit codes shared by every applet. Applets with a peer whose codes are an ABI
/// (vaultfs follows gocryptfs's) define their own on top of these.
pub mod code {
    /// Bad command line.
    pub const USAGE: i32 = 1;
    /// An I/O error on the terminal, stdin or stdout.
    pub const IO: i32 = 2;
    /// The applet exists but its work is not built yet in this release.
    pub const NOT_BUILT: i32 = 69;
    /// A bug in armorbox (a panic was caught at the top).
    pub const INTERNAL: i32 = 70;
    /// No applet of that name.
    pub const UNKNOWN_APPLET: i32 = 127;
    /// Ended by a signal: 128 + the signal number, as a shell reports it.
    pub const fn signal(signo: i32) -> i32 {
        128 + signo
    }
}

/// An applet's failure: what to tell the user and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(code::USAGE, message)
    }

    /// An exit that has nothing left to say (the cause was already shown, as after
    /// Ctrl-C on a prompt).
    pub fn silent(code: i32) -> Self {
        Failure { code, message: String::new() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// What an applet's entry point returns.
pub type AppletResult = Result<(), Failure>;

/// Prints a failure the way every applet does and returns its exit code.
pub fn report(applet: &str, failure: &Failure) -> i32 {
    if !failure.message.is_empty() {
        eprintln!("{applet}: {}", failure.message);
    }
    failure.code
}
