//! `mask-passwd`: the masked prompt of the `mask-passwd | munge -i /dev/stdin` recipe.
//!
//! The password is read on the controlling terminal and written to stdout, exactly, with
//! one newline; stdout carries nothing else, and the prompt never goes there.

use argh::FromArgs;
use armorbox::exit::{AppletResult, Failure, code};
use armorbox::secret::SecretBuf;
use armorbox::sys::stdio::{self, StdinLine};
use armorbox::terminal::{PasswordRequest, PromptError, Terminal};
use std::ffi::OsString;

const NO_TERMINAL: i32 = 3;
const END_OF_INPUT: i32 = 4;
const EMPTY_REFUSED: i32 = 5;
const STDOUT_IS_TERMINAL: i32 = 6;
/// Longest password accepted from stdin: generous, but a runaway pipe is not a password.
const MAX_STDIN_PASSWORD: usize = 64 * 1024;

#[derive(FromArgs)]
/// Read a password on the terminal, showing one '*' per character, and write it to
/// stdout followed by a newline.
#[argh(
    help_triggers("-h", "--help"),
    note = "Typical use:  export SECRET=$(mask-passwd | munge -i /dev/stdin)\n\n\
            Keys: Backspace/Delete erase a character, Ctrl-U the whole line, Enter ends,\n\
            Ctrl-C aborts, Ctrl-D on an empty line aborts, Ctrl-Z suspends.\n\
            The prompt and stars go to the terminal (/dev/tty); stdout gets only the password.",
    error_code(1, "bad command line"),
    error_code(2, "input/output error"),
    error_code(3, "no terminal to ask on (use --stdin for a pipe)"),
    error_code(4, "input ended before a password (Ctrl-D, empty stdin)"),
    error_code(5, "empty password refused (see --allow-empty)"),
    error_code(6, "stdout is a terminal: the password would be shown"),
    error_code(130, "Ctrl-C; other signals exit with 128 + their number")
)]
struct Options {
    /// the prompt shown on the terminal (default "Password: ")
    #[argh(option, default = "String::from(\"Password: \")")]
    prompt: String,

    /// ask twice and ask again until both match
    #[argh(switch)]
    confirm: bool,

    /// accept an empty password
    #[argh(switch)]
    allow_empty: bool,

    /// write no newline after the password
    #[argh(switch, short = 'n')]
    no_newline: bool,

    /// read the first line of stdin (a pipe) instead of asking on the terminal
    #[argh(switch)]
    stdin: bool,

    /// write the password even when stdout is a terminal, where it is shown
    #[argh(switch)]
    to_terminal: bool,
}

pub fn run(name: &str, args: &[OsString]) -> AppletResult {
    let options = parse(name, args)?;
    if stdio::stdout_is_terminal() && !options.to_terminal {
        return Err(Failure::new(
            STDOUT_IS_TERMINAL,
            "stdout is a terminal, where the password would be shown: pipe it \
             (mask-passwd | munge -i /dev/stdin) or pass --to-terminal",
        ));
    }
    let password = if options.stdin { read_from_stdin(&options)? } else { ask_on_terminal(&options)? };
    let mut output = password;
    if !options.no_newline {
        output.push(b'\n');
    }
    stdio::write_stdout_unbuffered(output.expose())
        .map_err(|e| Failure::new(code::IO, format!("cannot write the password to stdout: {e}")))
}

fn parse(name: &str, args: &[OsString]) -> Result<Options, Failure> {
    let options: Options = crate::argh_args::parse(name, args, code::USAGE)?;
    if options.stdin && options.confirm {
        return Err(Failure::usage("--confirm asks on the terminal; it does not go with --stdin"));
    }
    Ok(options)
}

fn ask_on_terminal(options: &Options) -> Result<SecretBuf, Failure> {
    let confirm_prompt = confirm_prompt_for(&options.prompt);
    let request = PasswordRequest {
        prompt: &options.prompt,
        confirm_prompt: options.confirm.then_some(confirm_prompt.as_str()),
        allow_empty: options.allow_empty,
    };
    Terminal::open().and_then(|tty| tty.ask_password(&request)).map_err(prompt_failure)
}

/// "Password: " → "Repeat password: "; any other prompt gets "Repeat: " before it.
fn confirm_prompt_for(prompt: &str) -> String {
    match prompt.strip_prefix("Password") {
        Some(rest) => format!("Repeat password{rest}"),
        None => format!("Repeat: {prompt}"),
    }
}

fn read_from_stdin(options: &Options) -> Result<SecretBuf, Failure> {
    if stdio::stdin_is_terminal() {
        return Err(Failure::usage(
            "--stdin reads a pipe, but stdin is a terminal (it would echo the password); drop --stdin",
        ));
    }
    match stdio::read_stdin_line(MAX_STDIN_PASSWORD) {
        Ok(StdinLine::Line(line)) if line.is_empty() && !options.allow_empty => {
            Err(Failure::new(EMPTY_REFUSED, "empty password on stdin refused (--allow-empty accepts it)"))
        }
        Ok(StdinLine::Line(line)) => Ok(line),
        Ok(StdinLine::Nothing) => Err(Failure::new(END_OF_INPUT, "stdin is empty: no password")),
        Err(e) => Err(Failure::new(code::IO, format!("cannot read the password from stdin: {e}"))),
    }
}

fn prompt_failure(error: PromptError) -> Failure {
    match error {
        PromptError::NoTerminal(e) => {
            Failure::new(NO_TERMINAL, format!("no terminal to ask on (/dev/tty: {e}); to read a pipe, use --stdin"))
        }
        PromptError::Interrupted => Failure::silent(code::signal(2)),
        PromptError::EndOfInput => Failure::new(END_OF_INPUT, "aborted: no password entered"),
        PromptError::Signal(signal) => Failure::silent(code::signal(signal)),
        PromptError::Io(e) => Failure::new(code::IO, format!("terminal error: {e}")),
    }
}
