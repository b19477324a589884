//! The one way armor-node and cvault touch the system: a program and its arguments as
//! separate strings (never a shell line built from input), every call logged in debug
//! mode, every failure carrying the command and its error output. Secrets go through
//! stdin and are never logged.

use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};

/// A failed command: what ran and what it said.
#[derive(Debug)]
pub struct CommandError {
    pub command: String,
    pub message: String,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed: {}", self.command, self.message)
    }
}

/// Runs commands, or with `dry_run` only prints the ones that would change something.
pub struct Runner {
    pub debug: bool,
    pub dry_run: bool,
}

fn display(program: &str, args: &[&str]) -> String {
    std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ")
}

impl Runner {
    /// A command that changes the system. Returns its stdout.
    pub fn change(&self, program: &str, args: &[&str]) -> Result<String, CommandError> {
        self.change_with_input(program, args, None)
    }

    /// Same, with `input` (a key, say) on stdin; the input is never printed.
    pub fn change_with_input(
        &self,
        program: &str,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<String, CommandError> {
        let shown = display(program, args);
        if self.dry_run {
            println!("    would run: {shown}{}", if input.is_some() { "  (secret on stdin)" } else { "" });
            return Ok(String::new());
        }
        self.execute(program, args, input)
    }

    /// A read-only probe: runs even in dry-run mode.
    pub fn probe(&self, program: &str, args: &[&str]) -> Result<String, CommandError> {
        self.execute(program, args, None)
    }

    /// True when the probe exits 0.
    pub fn succeeds(&self, program: &str, args: &[&str]) -> bool {
        self.probe(program, args).is_ok()
    }

    fn execute(&self, program: &str, args: &[&str], input: Option<&[u8]>) -> Result<String, CommandError> {
        let shown = display(program, args);
        if self.debug {
            eprintln!("+ {shown}");
        }
        let mut child = Command::new(program)
            .args(args)
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CommandError { command: shown.clone(), message: e.to_string() })?;
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("piped");
            stdin.write_all(input).map_err(|e| CommandError { command: shown.clone(), message: e.to_string() })?;
        }
        let out =
            child.wait_with_output().map_err(|e| CommandError { command: shown.clone(), message: e.to_string() })?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if self.debug {
            for line in stdout.lines().chain(stderr.lines()) {
                eprintln!("  | {line}");
            }
        }
        if !out.status.success() {
            let message = match stderr.trim() {
                "" => format!("{} with no message", out.status),
                text => format!("{} ({})", text, out.status),
            };
            return Err(CommandError { command: shown, message });
        }
        Ok(stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_command_and_its_message() {
        let r = Runner { debug: false, dry_run: false };
        let e = r.probe("sh", &["-c", "echo nope >&2; exit 3"]).unwrap_err();
        assert_eq!(e.command, "sh -c echo nope >&2; exit 3");
        assert!(e.message.starts_with("nope ("), "{}", e.message);
        assert_eq!(r.change_with_input("cat", &[], Some(b"secret")).unwrap(), "secret");
    }

    #[test]
    fn dry_run_changes_nothing_but_probes_run() {
        let r = Runner { debug: false, dry_run: true };
        assert_eq!(r.change("false", &[]).unwrap(), "");
        assert!(!r.succeeds("false", &[]));
        assert!(r.succeeds("true", &[]));
    }
}
