//! `secarc`: encrypted 7z archives with 7-Zip's command line.

mod cli;

use armorbox::exit::{AppletResult, Failure};
use armorbox::secret::SecretBuf;
use armorbox::sevenz::create::{self, CreateOptions, Method, Times};
use armorbox::sevenz::extract::{self, Answer, ExtractOptions, Overwrite};
use armorbox::sevenz::selection::Selection;
use armorbox::sevenz::{ArchiveError, key_cache, listing};
use armorbox::sys::stdio;
use armorbox::sys::{argv, interrupt};
use armorbox::terminal::{PasswordRequest, PromptError, Terminal};
use cli::{Command, Parsed, Stream};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};

/// 7-Zip's exit code for a bad command line.
const USAGE: i32 = 7;

const HELP: &str = "Usage: secarc <command> [switches...] <archive.7z> [files...]

Encrypted 7z archives (AES-256, encrypted headers, LZMA2) with 7-Zip's command line;
7-Zip opens what it writes, and it opens 7-Zip's.

Commands:
  a   add: create an archive of files and directories (secarc never updates an
      existing archive)
  x   extract with full paths          e   extract all files into one directory
  l   list (-slt: technical listing)   t   test: decode everything, check every CRC

Switches:
  -p            ask for the password on the terminal (twice for a)
  -pPASSWORD    the password inline (masked as -pxxx once secarc starts, but other
                users may see it in ps before: prefer -p or --password-file)
  --password-file FILE   the first line of FILE;  --password-stdin   one line of stdin
  -mhe=on|off   encrypt the header (names, sizes) too
  -mx=0..9      compression level (default 5; 9 = 7-Zip's ultra, 256 MiB dictionary)
  -m0=lzma2|lzma|copy    method (default lzma2)
  -mmt=N|on|off compression threads (default: every core)
  -mtm/-mtc/-mta=on|off  store modification/change/access times (default on/off/off)
  -oDIR, -o DIR output directory for x and e   -y   overwrite without asking
  -snl          store symlinks as links (default: follow them, as 7-Zip does)
  -ms=on|off    one solid block (per filter; default), or a block for each file
  -bso0|1|2     messages (the summary) to nowhere, stdout (default) or stderr
  -bse0|1|2     errors and warnings to nowhere, stdout or stderr (default)
  -bsp0|1|2     the progress line to nowhere, stdout or stderr (default), shown
                only while that is a terminal
  Files may hold wildcards (quote them): 'data/*.csv' takes the matches in data/;
  -r            ... and in every directory below it (directories are always
                archived whole)
  -x!PATTERN    leave out the entry stored under PATTERN ('d/tmp', '*.bak' at the top)
  -xr!PATTERN   leave out every entry named PATTERN at any depth ('*.log', 'cache')

Exit codes: 0 ok, 2 I/O error, 3 damaged or truncated archive, 4 wrong or missing
password, 5 refused (unsafe entry, would overwrite, archive exists), 6 a compression
method secarc cannot decode, 7 bad command line.
";

pub fn run(name: &str, args: &[OsString]) -> AppletResult {
    let parsed =
        cli::parse(args).map_err(|e| Failure::new(USAGE, format!("{}\nRun '{name} --help' for usage.", e.0)))?;
    if let Some(Some(inline)) = &parsed.switches.password {
        // Best effort: without /proc the password stays visible, as it does with 7zz.
        let _ = argv::mask(OsStr::new(&format!("-p{inline}")), "-p".len());
    }
    if parsed.switches.help || (parsed.command.is_none() && parsed.archive.is_none()) {
        print!("{HELP}");
        return Ok(());
    }
    let errors = parsed.switches.errors.unwrap_or(Stream::Stderr);
    run_command(&parsed).map_err(|failure| match errors {
        Stream::Stderr => failure,
        Stream::Stdout if !failure.message.is_empty() => {
            say(Stream::Stdout, &format!("{name}: {}", failure.message));
            Failure::silent(failure.code)
        }
        Stream::Stdout => failure,
        Stream::Nowhere => Failure::silent(failure.code),
    })
}

/// Prints `text` where a -bso or -bse switch sends it.
fn say(to: Stream, text: &str) {
    if !text.is_empty() {
        let _ = writeln!(to.writer(), "{text}");
    }
}

/// Where the summary goes (-bso).
fn messages(parsed: &Parsed) -> Stream {
    parsed.switches.messages.unwrap_or(Stream::Stdout)
}

/// Where the progress line goes (-bsp).
fn progress(parsed: &Parsed) -> Stream {
    parsed.switches.progress.unwrap_or(Stream::Stderr)
}

fn run_command(parsed: &Parsed) -> AppletResult {
    let command = parsed.command.ok_or_else(|| Failure::new(USAGE, "no command"))?;
    let archive = PathBuf::from(parsed.archive.clone().ok_or_else(|| Failure::new(USAGE, "no archive name given"))?);
    let result = match command {
        Command::Add => add(parsed, &archive),
        Command::Extract | Command::ExtractFlat => extract(parsed, &archive, command == Command::ExtractFlat),
        Command::List => retry_with_prompt(parsed, |password| {
            let stdout = std::io::stdout();
            listing::list(&archive, password, parsed.switches.technical, &mut stdout.lock())
        }),
        Command::Test => retry_with_prompt(parsed, |password| {
            let n = listing::test(&archive, password)?;
            say(messages(parsed), &format!("Files: {n}\nEverything is Ok"));
            Ok(())
        }),
    };
    result.map_err(|e| match e {
        Outcome::Archive(e) => Failure::new(e.exit_code(), e.to_string()),
        Outcome::Other(f) => f,
    })
}

enum Outcome {
    Archive(ArchiveError),
    Other(Failure),
}

impl From<ArchiveError> for Outcome {
    fn from(e: ArchiveError) -> Self {
        Outcome::Archive(e)
    }
}

impl From<Failure> for Outcome {
    fn from(f: Failure) -> Self {
        Outcome::Other(f)
    }
}

fn threads(parsed: &Parsed) -> u32 {
    match parsed.switches.threads {
        None | Some(0) => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        Some(n) => n,
    }
}

fn prompt_failure(e: PromptError) -> Failure {
    match e {
        PromptError::Interrupted | PromptError::Signal(_) => Failure::silent(255),
        other => Failure::new(4, format!("password: {other}")),
    }
}

/// The password as the switches say; `confirm` asks twice when prompting.
fn password(parsed: &Parsed, confirm: bool) -> Result<Option<SecretBuf>, Failure> {
    let s = &parsed.switches;
    if let Some(file) = &s.password_file {
        let content = zeroize::Zeroizing::new(
            std::fs::read(file)
                .map_err(|e| Failure::new(2, format!("--password-file {}: {e}", Path::new(file).display())))?,
        );
        let line = content.split(|&b| b == b'\n').next().unwrap_or_default();
        return Ok(Some(SecretBuf::from_slice(line)));
    }
    if s.password_stdin {
        return match stdio::read_stdin_line(4096) {
            Ok(stdio::StdinLine::Line(line)) => Ok(Some(line)),
            _ => Err(Failure::new(4, "--password-stdin: no password on stdin")),
        };
    }
    match &s.password {
        Some(Some(inline)) => Ok(Some(SecretBuf::from_slice(inline.as_bytes()))),
        Some(None) => ask_password(confirm).map(Some),
        None => Ok(None),
    }
}

fn ask_password(confirm: bool) -> Result<SecretBuf, Failure> {
    let request = PasswordRequest {
        prompt: "Enter password: ",
        confirm_prompt: confirm.then_some("Verify password: "),
        allow_empty: false,
    };
    Terminal::open().and_then(|t| t.ask_password(&request)).map_err(prompt_failure)
}

/// Runs `op` with the password from the switches; when none was given and the archive
/// turns out to need one, asks on the terminal (as 7-Zip does) and tries again.
fn retry_with_prompt(
    parsed: &Parsed,
    mut op: impl FnMut(&Option<SecretBuf>) -> Result<(), ArchiveError>,
) -> Result<(), Outcome> {
    let given = password(parsed, false)?;
    let outcome = match op(&given) {
        Err(ArchiveError::WrongPassword(_)) if given.is_none() && Terminal::open().is_ok() => {
            let asked = Some(ask_password(false)?);
            op(&asked)
        }
        other => other,
    };
    // A wrong password's key is as sensitive as the right one's: it may be a near miss.
    key_cache::forget();
    Ok(outcome?)
}

fn add(parsed: &Parsed, archive: &Path) -> Result<(), Outcome> {
    let s = &parsed.switches;
    if parsed.files.is_empty() {
        return Err(Failure::new(USAGE, "nothing to add: give files or directories after the archive name").into());
    }
    if archive.exists() {
        return Err(ArchiveError::Refused(format!(
            "{}: exists; secarc does not update archives (remove it or choose another name)",
            archive.display()
        ))
        .into());
    }
    let method = match s.method.as_deref() {
        None | Some("lzma2") => Method::Lzma2,
        Some("lzma") => Method::Lzma,
        Some("copy") => Method::Copy,
        Some(other) => {
            return Err(Failure::new(USAGE, format!("-m0={other}: supported methods are lzma2, lzma, copy")).into());
        }
    };
    let password = password(parsed, true)?;
    // After any prompt, which restores the terminal on its own signals.
    cleanup_on_signals()?;
    if password.is_none() {
        let warning = "secarc: warning: no password given (-p): the archive is NOT encrypted";
        say(s.errors.unwrap_or(Stream::Stderr), warning);
    }
    let options = CreateOptions {
        password,
        encrypt_header: s.header_encryption.unwrap_or(false),
        level: s.level.unwrap_or(5),
        method,
        threads: threads(parsed),
        times: Times {
            modified: s.mtime.unwrap_or(true),
            created: s.ctime.unwrap_or(false),
            accessed: s.atime.unwrap_or(false),
        },
        store_symlinks: s.store_symlinks,
        selection: Selection { recurse: s.recurse, excludes: s.excludes.clone() },
        solid: s.solid.unwrap_or(true),
        progress: progress(parsed),
    };
    let inputs: Vec<PathBuf> = parsed.files.iter().map(PathBuf::from).collect();
    let summary = create::create(archive, &inputs, &options)?;
    let text = format!(
        "Folders: {}\nFiles: {}\nSize:       {}\nArchive size: {} bytes\nEverything is Ok",
        summary.directories, summary.files, summary.bytes, summary.archive_bytes
    );
    say(messages(parsed), &text);
    Ok(())
}

/// A cancelled job (SIGTERM) or Ctrl-C leaves no temporary archive or staged file.
fn cleanup_on_signals() -> Result<(), ArchiveError> {
    interrupt::remove_registered_on_signal().map_err(|e| ArchiveError::Io(format!("signal setup: {e}")))
}

fn extract(parsed: &Parsed, archive: &Path, flat: bool) -> Result<(), Outcome> {
    let s = &parsed.switches;
    let target = s.output.as_ref().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let overwrite = if s.yes {
        Overwrite::Always
    } else if Terminal::open().is_ok() && stdio::stdin_is_terminal() {
        Overwrite::Ask
    } else {
        Overwrite::Refuse
    };
    let mut ask = |path: &Path| -> Answer {
        let question = format!(
            "Would you like to replace the existing file {}? [y]es / [n]o / [a]lways / [q]uit: ",
            path.display()
        );
        match Terminal::open().and_then(|t| t.ask_line(&question)).as_deref() {
            Ok("y" | "Y" | "yes") => Answer::Yes,
            Ok("a" | "A" | "always") => Answer::All,
            Ok("n" | "N" | "no") => Answer::No,
            _ => Answer::Quit,
        }
    };
    retry_with_prompt(parsed, |password| {
        cleanup_on_signals()?;
        let password = password.as_ref().map(|p| SecretBuf::from_slice(p.expose()));
        let options = ExtractOptions { password, flat, overwrite, progress: progress(parsed) };
        let summary = extract::extract(archive, &target, &options, &mut ask)?;
        let text = format!(
            "Folders: {}\nFiles: {}\nSymlinks: {}\nSize:       {}\nEverything is Ok",
            summary.directories, summary.files, summary.links, summary.bytes
        );
        say(messages(parsed), &text);
        if summary.skipped > 0 {
            return Err(ArchiveError::Refused(format!("{} unsafe symlinks were not created", summary.skipped)));
        }
        Ok(())
    })
}
