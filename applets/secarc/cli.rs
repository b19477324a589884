//! 7-Zip's command line: `secarc <command> [switches] <archive> [files]`, switches
//! anywhere after the command (`-mx=9`, `-mx9`, `-pPASS`, `-oDIR` or `-o DIR`), `--`
//! to end them. A table lists the switches; anything else is refused by name.

use armorbox::sevenz::selection::Exclude;
pub use armorbox::sys::stdio::Stream;
use std::ffi::OsString;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Add,
    Extract,
    ExtractFlat,
    List,
    Test,
}

#[derive(Debug, Default)]
pub struct Switches {
    /// `-p` alone: Some(None), prompt; `-pPASS`: Some(Some(..)).
    pub password: Option<Option<String>>,
    pub password_file: Option<OsString>,
    pub password_stdin: bool,
    pub header_encryption: Option<bool>,
    pub level: Option<u32>,
    pub method: Option<String>,
    pub threads: Option<u32>,
    pub ctime: Option<bool>,
    pub mtime: Option<bool>,
    pub atime: Option<bool>,
    pub output: Option<OsString>,
    pub yes: bool,
    pub store_symlinks: bool,
    /// -r / -r-: wildcard arguments match in subdirectories too.
    pub recurse: bool,
    /// -x!PATTERN, -xr!PATTERN.
    pub excludes: Vec<Exclude>,
    pub technical: bool,
    /// -ms=on|off: one solid block per branch filter, or a block for each file.
    pub solid: Option<bool>,
    /// -bso, -bse, -bsp.
    pub messages: Option<Stream>,
    pub errors: Option<Stream>,
    pub progress: Option<Stream>,
    pub help: bool,
}

#[derive(Debug)]
pub struct Parsed {
    pub command: Option<Command>,
    pub switches: Switches,
    pub archive: Option<OsString>,
    pub files: Vec<OsString>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

fn on_off(switch: &str, value: &str) -> Result<bool, UsageError> {
    match value {
        "" | "on" | "+" => Ok(true),
        "off" | "-" => Ok(false),
        _ => Err(UsageError(format!("{switch}{value}: expected on or off"))),
    }
}

fn stream(switch: &str, value: &str) -> Result<Stream, UsageError> {
    match value {
        "0" => Ok(Stream::Nowhere),
        "1" => Ok(Stream::Stdout),
        "2" => Ok(Stream::Stderr),
        _ => Err(UsageError(format!("{switch}{value}: expected 0 (nowhere), 1 (stdout) or 2 (stderr)"))),
    }
}

/// How each switch is written: its prefix, and how the rest of the word is read.
const SWITCH_PREFIXES: &[&str] = &[
    "--password-file",
    "--password-stdin",
    "--help",
    "-mhe",
    "-mmt",
    "-mtc",
    "-mtm",
    "-mta",
    "-mx",
    "-ms",
    "-m0",
    "-bso",
    "-bse",
    "-bsp",
    "-slt",
    "-snl",
    "-p",
    "-o",
    "-y",
    "-r",
    "-x",
    "-h",
];

pub fn parse(args: &[OsString]) -> Result<Parsed, UsageError> {
    let mut switches = Switches::default();
    let mut words: Vec<OsString> = Vec::new();
    let mut queue: std::collections::VecDeque<OsString> = args.iter().cloned().collect();
    while let Some(arg) = queue.pop_front() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--" {
            words.extend(queue.drain(..));
            break;
        }
        if !text.starts_with('-') || text == "-" {
            words.push(arg);
            continue;
        }
        let prefix = SWITCH_PREFIXES
            .iter()
            .find(|p| text.starts_with(**p))
            .ok_or_else(|| UsageError(format!("unsupported switch: {text}")))?;
        let rest = text[prefix.len()..].trim_start_matches('=');
        match *prefix {
            "--help" | "-h" if rest.is_empty() => switches.help = true,
            "--password-file" => {
                switches.password_file = Some(if rest.is_empty() {
                    queue.pop_front().ok_or_else(|| UsageError("--password-file needs a FILE".into()))?
                } else {
                    rest.into()
                })
            }
            "--password-stdin" if rest.is_empty() => switches.password_stdin = true,
            "-mhe" => switches.header_encryption = Some(on_off("-mhe=", rest)?),
            "-mtc" => switches.ctime = Some(on_off("-mtc=", rest)?),
            "-mtm" => switches.mtime = Some(on_off("-mtm=", rest)?),
            "-mta" => switches.atime = Some(on_off("-mta=", rest)?),
            "-mmt" => {
                switches.threads = Some(match rest {
                    "" | "on" => 0,
                    "off" => 1,
                    n => n.parse().map_err(|_| UsageError(format!("-mmt={n}: expected a number, on or off")))?,
                })
            }
            "-mx" => {
                let level: u32 = rest.parse().map_err(|_| UsageError(format!("-mx={rest}: expected 0..9")))?;
                if level > 9 {
                    return Err(UsageError(format!("-mx={level}: expected 0..9")));
                }
                switches.level = Some(level);
            }
            "-ms" => switches.solid = Some(on_off("-ms=", rest)?),
            "-bso" => switches.messages = Some(stream("-bso", rest)?),
            "-bse" => switches.errors = Some(stream("-bse", rest)?),
            "-bsp" => switches.progress = Some(stream("-bsp", rest)?),
            "-m0" => switches.method = Some(rest.to_ascii_lowercase()),
            "-slt" if rest.is_empty() => switches.technical = true,
            "-snl" if rest.is_empty() => switches.store_symlinks = true,
            "-y" if rest.is_empty() => switches.yes = true,
            // Directories are always archived whole; -r is about wildcards, as in 7zz.
            "-r" if rest.is_empty() => switches.recurse = true,
            "-r" if rest == "-" => switches.recurse = false,
            "-x" => {
                let (recursive, pattern) = match &text[2..] {
                    t if t.starts_with("r-!") => (false, &t[3..]),
                    t if t.starts_with("r!") => (true, &t[2..]),
                    t if t.starts_with('!') => (false, &t[1..]),
                    _ => return Err(UsageError(format!("{text}: expected -x!PATTERN or -xr!PATTERN"))),
                };
                if pattern.is_empty() {
                    return Err(UsageError(format!("{text}: the pattern is empty")));
                }
                switches.excludes.push(Exclude { pattern: pattern.to_string(), recursive });
            }
            "-p" => switches.password = Some((!text[2..].is_empty()).then(|| text[2..].to_string())),
            "-o" => {
                let dir = &text[2..];
                switches.output = Some(if dir.is_empty() {
                    queue.pop_front().ok_or_else(|| UsageError("-o needs a directory".into()))?
                } else {
                    dir.into()
                });
            }
            _ => return Err(UsageError(format!("unsupported switch: {text}"))),
        }
    }
    let mut words = words.into_iter();
    let command = match words.next() {
        None => None,
        Some(c) => Some(match c.to_str() {
            Some("a") => Command::Add,
            Some("x") => Command::Extract,
            Some("e") => Command::ExtractFlat,
            Some("l") => Command::List,
            Some("t") => Command::Test,
            _ => return Err(UsageError(format!("unsupported command: {} (a, x, e, l, t)", c.to_string_lossy()))),
        }),
    };
    Ok(Parsed { command, switches, archive: words.next(), files: words.collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Parsed, UsageError> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn the_documented_command_lines_parse() {
        let a = p(&["a", "-p", "-mhe=on", "-mx=9", "-m0=lzma2", "-mtc=on", "-mtm=on", "-mta=on", "out.7z", "dir/"])
            .unwrap();
        assert_eq!(a.command, Some(Command::Add));
        assert_eq!(a.switches.password, Some(None));
        assert_eq!((a.switches.header_encryption, a.switches.level), (Some(true), Some(9)));
        assert_eq!(a.switches.method.as_deref(), Some("lzma2"));
        assert_eq!((a.switches.ctime, a.switches.mtime, a.switches.atime), (Some(true), Some(true), Some(true)));
        assert_eq!(a.archive.unwrap(), "out.7z");
        assert_eq!(a.files, [OsString::from("dir/")]);
        let x = p(&["x", "data.7z", "-pSecret", "-o/tmp/out", "-y"]).unwrap();
        assert_eq!(x.switches.password, Some(Some("Secret".into())));
        assert_eq!(x.switches.output.unwrap(), "/tmp/out");
        assert!(x.switches.yes);
    }

    #[test]
    fn variants_and_refusals() {
        assert_eq!(p(&["a", "-mx9", "a.7z"]).unwrap().switches.level, Some(9));
        assert_eq!(p(&["a", "-mmt=off", "a.7z"]).unwrap().switches.threads, Some(1));
        assert_eq!(p(&["x", "-o", "dir", "a.7z"]).unwrap().switches.output.unwrap(), "dir");
        assert!(p(&["a", "-mx=10", "a.7z"]).is_err());
        assert!(p(&["a", "-v100m", "a.7z"]).unwrap_err().0.contains("-v100m"));
        assert!(p(&["u", "a.7z"]).unwrap_err().0.contains("unsupported command"));
        assert!(p(&["a", "-mhe=maybe", "a.7z"]).is_err());
    }

    #[test]
    fn output_streams_and_solid_mode() {
        let a = p(&["a", "-bso0", "-bse1", "-bsp2", "-ms=off", "a.7z", "d"]).unwrap().switches;
        assert_eq!(
            (a.messages, a.errors, a.progress),
            (Some(Stream::Nowhere), Some(Stream::Stdout), Some(Stream::Stderr))
        );
        assert_eq!(a.solid, Some(false));
        assert_eq!(p(&["a", "-ms=on", "a.7z"]).unwrap().switches.solid, Some(true));
        assert!(p(&["a", "-bso3", "a.7z"]).unwrap_err().0.contains("-bso3"));
        assert!(p(&["a", "-ms=e", "a.7z"]).unwrap_err().0.contains("-ms=e"));
    }
}
