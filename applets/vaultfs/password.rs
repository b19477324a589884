//! Where a password comes from, as gocryptfs 2.3 reads it: `-passfile` (first line of
//! each file, concatenated), `-extpass` (first line a command prints), stdin when it is
//! not a terminal (one line, read byte by byte so `-passwd` finds the new password on
//! the next line), else the masked terminal prompt shared with mask-passwd. The same
//! sources serve every password, the new one of `-passwd` included (gocryptfs 2.3; 2.5
//! changed that, but scripts and gocryptfs's 2.3 suite rely on it). An empty password
//! is exit 9, as in 2.3, whatever its source.

use super::options::PasswordSource;
use armorbox::exit::Failure;
use armorbox::gocryptfs::exit_code;
use armorbox::secret::SecretBuf;
use armorbox::sys::stdio::{self, StdinLine};
use armorbox::terminal::{PasswordRequest, PromptError, Terminal};
use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// gocryptfs's limit for one password.
const MAX_PASSWORD: usize = 2048;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Unlock an existing filesystem.
    Existing,
    /// Set a new password (`-init`, the new one of `-passwd`): asked twice on a terminal.
    New,
}

fn read_failure(message: String) -> Failure {
    Failure::new(exit_code::READ_PASSWORD, message)
}

/// The first line of `bytes`, without its newline.
fn first_line(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == b'\n').next().unwrap_or_default()
}

pub fn read(source: &PasswordSource, purpose: Purpose, prompt: &str) -> Result<SecretBuf, Failure> {
    let password = if !source.passfiles.is_empty() {
        from_files(&source.passfiles)?
    } else if !source.extpass.is_empty() {
        from_command(&source.extpass)?
    } else if !stdio::stdin_is_terminal() {
        from_stdin()?
    } else {
        from_terminal(purpose, prompt)?
    };
    if password.is_empty() {
        return Err(read_failure("password is empty".into()));
    }
    if password.len() > MAX_PASSWORD {
        return Err(read_failure(format!("password longer than {MAX_PASSWORD} bytes")));
    }
    Ok(password)
}

fn from_files(files: &[PathBuf]) -> Result<SecretBuf, Failure> {
    let mut password = SecretBuf::new();
    for file in files {
        let name = file.display().to_string();
        let mut content = Zeroizing::new(Vec::new());
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_end(&mut content))
            .map_err(|e| read_failure(format!("-passfile {name}: {e}")))?;
        let line = first_line(&content);
        if line.is_empty() {
            return Err(read_failure(format!("-passfile {name}: the first line is empty")));
        }
        password.extend_from_slice(line);
    }
    Ok(password)
}

fn from_command(values: &[OsString]) -> Result<SecretBuf, Failure> {
    // One value is split on spaces (as gocryptfs does); several are the argv as given.
    let argv: Vec<OsString> = if values.len() == 1 {
        values[0].to_string_lossy().split(' ').filter(|s| !s.is_empty()).map(OsString::from).collect()
    } else {
        values.to_vec()
    };
    let (program, rest) = argv.split_first().ok_or_else(|| read_failure("-extpass: empty command".into()))?;
    let output = Command::new(program)
        .args(rest)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| read_failure(format!("-extpass {}: {e}", program.to_string_lossy())))?;
    let stdout = Zeroizing::new(output.stdout);
    if !output.status.success() {
        return Err(read_failure(format!("-extpass {} failed ({})", program.to_string_lossy(), output.status)));
    }
    Ok(SecretBuf::from_slice(first_line(&stdout)))
}

fn from_stdin() -> Result<SecretBuf, Failure> {
    match stdio::read_stdin_line(MAX_PASSWORD + 1) {
        Ok(StdinLine::Line(line)) => Ok(line),
        Ok(StdinLine::Nothing) => Ok(SecretBuf::new()),
        Err(e) => Err(read_failure(format!("reading the password from stdin: {e}"))),
    }
}

fn from_terminal(purpose: Purpose, prompt: &str) -> Result<SecretBuf, Failure> {
    let request = PasswordRequest {
        prompt,
        confirm_prompt: (purpose == Purpose::New).then_some("Repeat: "),
        // Refused below with gocryptfs's own code and message.
        allow_empty: true,
    };
    Terminal::open().and_then(|tty| tty.ask_password(&request)).map_err(|e| match e {
        PromptError::Interrupted | PromptError::Signal(_) => Failure::silent(exit_code::SIGINT),
        other => read_failure(format!("reading the password: {other}")),
    })
}
