//! gocryptfs's command line: single- or double-dash long flags, `-flag=value` or
//! `-flag value`, booleans as `-flag` or `-flag=true|false`, `-o a,b=c` for mount
//! options, `--` to end flags, flags and the two positional arguments in any order.
//! One table lists every flag gocryptfs has; those vaultfs does not implement yet are
//! refused by name, never silently ignored.

use std::collections::HashMap;
use std::ffi::OsString;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Switch,
    Value,
    /// A value that may be given several times (kept in order).
    Repeated,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Support {
    Yes,
    /// Accepted for compatibility; has no effect (gocryptfs ignores it too).
    Ignored,
    /// gocryptfs has it, vaultfs does not yet: refused with exit 1.
    NotYet,
}

struct FlagSpec {
    /// The first name is the key the applet asks for; the others are aliases.
    names: &'static [&'static str],
    kind: Kind,
    support: Support,
    help: &'static str,
}

use Kind::*;
use Support::*;

const FLAGS: &[FlagSpec] = &[
    FlagSpec { names: &["init"], kind: Switch, support: Yes, help: "create a new encrypted directory" },
    FlagSpec { names: &["passwd"], kind: Switch, support: Yes, help: "change the password" },
    FlagSpec { names: &["info"], kind: Switch, support: Yes, help: "print the config (no secrets)" },
    FlagSpec {
        names: &["fsck"],
        kind: Switch,
        support: Yes,
        help: "check every name and file decrypts (exit 26 on damage)",
    },
    FlagSpec { names: &["version"], kind: Switch, support: Yes, help: "print the version" },
    FlagSpec { names: &["h", "help", "hh"], kind: Switch, support: Yes, help: "this help" },
    FlagSpec {
        names: &["passfile"],
        kind: Repeated,
        support: Yes,
        help: "read the password from the first line of FILE (repeatable: concatenated)",
    },
    FlagSpec {
        names: &["extpass"],
        kind: Repeated,
        support: Yes,
        help: "run CMD and use the first line it prints as the password",
    },
    FlagSpec {
        names: &["masterkey"],
        kind: Value,
        support: Yes,
        help: "mount with the master key (HEX or 'stdin') instead of a password",
    },
    FlagSpec { names: &["zerokey"], kind: Switch, support: Yes, help: "use an all-zero master key (tests only)" },
    FlagSpec {
        names: &["scryptn"],
        kind: Value,
        support: Yes,
        help: "scrypt cost log2(N) for -init and -passwd (default 16)",
    },
    FlagSpec {
        names: &["config"],
        kind: Value,
        support: Yes,
        help: "use this config file instead of CIPHERDIR/gocryptfs.conf",
    },
    FlagSpec { names: &["plaintextnames"], kind: Switch, support: Yes, help: "-init: do not encrypt file names" },
    FlagSpec { names: &["deterministic-names"], kind: Switch, support: Yes, help: "-init: no per-directory IVs" },
    FlagSpec { names: &["xchacha"], kind: Switch, support: Yes, help: "-init: XChaCha20-Poly1305 content encryption" },
    FlagSpec { names: &["aessiv"], kind: Switch, support: Yes, help: "-init: AES-SIV content encryption" },
    FlagSpec { names: &["raw64"], kind: Switch, support: Yes, help: "unpadded base64 names (default true)" },
    FlagSpec { names: &["hkdf"], kind: Switch, support: Yes, help: "HKDF subkeys (default true)" },
    FlagSpec { names: &["longnamemax"], kind: Value, support: Yes, help: "-init: hash names longer than N (62..255)" },
    FlagSpec { names: &["fg", "f"], kind: Switch, support: Yes, help: "stay in the foreground" },
    FlagSpec { names: &["notifypid"], kind: Value, support: Yes, help: "send SIGUSR1 to PID once mounted" },
    FlagSpec { names: &["q", "quiet"], kind: Switch, support: Yes, help: "print only errors" },
    FlagSpec {
        names: &["nosyslog"],
        kind: Switch,
        support: Yes,
        help: "once mounted in the background, keep messages on stderr instead of syslog",
    },
    FlagSpec { names: &["d", "debug"], kind: Switch, support: Yes, help: "log every filesystem request" },
    FlagSpec { names: &["fusedebug"], kind: Switch, support: Yes, help: "same as -d" },
    FlagSpec { names: &["wpanic"], kind: Switch, support: Yes, help: "exit on the first warning (tests)" },
    FlagSpec {
        names: &["longnames"],
        kind: Switch,
        support: Yes,
        help: "=false: -masterkey mount of a filesystem without long names (default true)",
    },
    FlagSpec {
        names: &["openssl"],
        kind: Value,
        support: Yes,
        help: "true|false|auto: checked; vaultfs has one crypto implementation",
    },
    FlagSpec {
        names: &["badname"],
        kind: Repeated,
        support: Yes,
        help: "show cipher names matching this glob that do not decrypt (repeatable)",
    },
    FlagSpec { names: &["fsname"], kind: Value, support: Yes, help: "source name shown in /proc/mounts" },
    FlagSpec { names: &["ro"], kind: Switch, support: Yes, help: "mount read-only" },
    FlagSpec { names: &["rw"], kind: Switch, support: Yes, help: "mount read-write (default)" },
    FlagSpec { names: &["allow_other"], kind: Switch, support: Yes, help: "let other users access the mount" },
    FlagSpec {
        names: &["sharedstorage"],
        kind: Switch,
        support: Yes,
        help: "no kernel caching: several mounts of one directory stay coherent",
    },
    FlagSpec { names: &["nonempty"], kind: Switch, support: Yes, help: "allow mounting over a non-empty directory" },
    FlagSpec { names: &["kernel_cache"], kind: Switch, support: Yes, help: "keep the kernel page cache across opens" },
    FlagSpec { names: &["noprealloc"], kind: Switch, support: Yes, help: "do not preallocate space before writes" },
    FlagSpec { names: &["serialize_reads"], kind: Switch, support: Yes, help: "one request at a time" },
    FlagSpec {
        names: &["unmount-on-exit"],
        kind: Switch,
        support: Yes,
        help: "unmount when the process that ran vaultfs exits (default inside a Slurm job; =false to keep)",
    },
    FlagSpec { names: &["ko"], kind: Value, support: Yes, help: "extra kernel mount options, comma-separated" },
    FlagSpec { names: &["o"], kind: Value, support: Yes, help: "mount options as flags: -o ro,allow_other" },
    FlagSpec { names: &["dev"], kind: Switch, support: Yes, help: "allow device files (default: nodev)" },
    FlagSpec { names: &["nodev"], kind: Switch, support: Yes, help: "no device files (default)" },
    FlagSpec { names: &["suid"], kind: Switch, support: Yes, help: "honour set-user-id bits (default: nosuid)" },
    FlagSpec { names: &["nosuid"], kind: Switch, support: Yes, help: "ignore set-user-id bits (default)" },
    FlagSpec { names: &["exec"], kind: Switch, support: Yes, help: "allow executing files (default)" },
    FlagSpec { names: &["noexec"], kind: Switch, support: Yes, help: "forbid executing files" },
    FlagSpec {
        names: &["nofail", "devrandom", "forcedecode"],
        kind: Switch,
        support: Ignored,
        help: "accepted and ignored, as gocryptfs does",
    },
    FlagSpec {
        names: &["i", "idle"],
        kind: Value,
        support: Yes,
        help: "unmount after this long unused with no open file (10m, 1h30m)",
    },
    FlagSpec {
        names: &["force_owner"],
        kind: Value,
        support: Yes,
        help: "show every file as owned by UID:GID (implies -allow_other)",
    },
    FlagSpec {
        names: &["ctlsock"],
        kind: Value,
        support: Yes,
        help: "answer EncryptPath/DecryptPath JSON requests on this Unix socket",
    },
    FlagSpec {
        names: &["reverse"],
        kind: Switch,
        support: Yes,
        help: "read-only encrypted view of a plaintext directory (with -init: create its config)",
    },
    FlagSpec {
        names: &["exclude", "e"],
        kind: Repeated,
        support: Yes,
        help: "-reverse: hide this plaintext path (relative to the root; comma lists allowed)",
    },
    FlagSpec {
        names: &["exclude-wildcard", "ew"],
        kind: Repeated,
        support: Yes,
        help: "-reverse: hide paths matching this gitignore-style pattern",
    },
    FlagSpec {
        names: &["exclude-from"],
        kind: Repeated,
        support: Yes,
        help: "-reverse: read -exclude-wildcard patterns from FILE, one per line",
    },
    FlagSpec {
        names: &["one-file-system"],
        kind: Switch,
        support: Yes,
        help: "-reverse: show directories of other filesystems (mount points) empty",
    },
    FlagSpec { names: &["fido2"], kind: Value, support: NotYet, help: "" },
    FlagSpec { names: &["acl"], kind: Switch, support: NotYet, help: "" },
    FlagSpec {
        names: &["context", "speed", "cpuprofile", "memprofile", "trace"],
        kind: Value,
        support: NotYet,
        help: "",
    },
];

/// The flags gocryptfs ignores, which vaultfs ignores too (named in the help).
fn ignored_flags() -> impl Iterator<Item = &'static str> {
    FLAGS.iter().filter(|s| s.support == Ignored).flat_map(|s| s.names.iter().copied())
}

/// Every flag vaultfs implements, by its key, and whether it takes a value.
#[cfg(test)]
pub fn supported_flags() -> impl Iterator<Item = (&'static str, bool)> {
    FLAGS.iter().filter(|s| s.support == Yes).map(|s| (s.names[0], s.kind != Switch))
}

/// A command line that does not parse, or asks for what is not built.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

#[derive(Debug, Default)]
pub struct Args {
    switches: HashMap<&'static str, bool>,
    values: HashMap<&'static str, Vec<OsString>>,
    pub positional: Vec<OsString>,
}

impl Args {
    pub fn switch(&self, name: &str) -> bool {
        self.switches.get(name).copied().unwrap_or(false)
    }

    /// A switch with a default, as `-raw64` and `-hkdf` (true unless `=false`).
    pub fn switch_or(&self, name: &str, default: bool) -> bool {
        self.switches.get(name).copied().unwrap_or(default)
    }

    /// A switch as given, `None` when absent (for defaults that depend on context).
    pub fn explicit_switch(&self, name: &str) -> Option<bool> {
        self.switches.get(name).copied()
    }

    pub fn value(&self, name: &str) -> Option<&OsString> {
        self.values.get(name).and_then(|v| v.last())
    }

    pub fn values(&self, name: &str) -> &[OsString] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn value_str(&self, name: &str) -> Result<Option<&str>, UsageError> {
        self.value(name).map(|v| v.to_str().ok_or_else(|| UsageError(format!("-{name}: not valid UTF-8")))).transpose()
    }
}

/// The first row naming `name` decides (rows for flags vaultfs now supports sit above
/// the "not yet" row, which may still list them until it is tidied).
fn find(name: &str) -> Option<(&'static str, &'static FlagSpec)> {
    FLAGS.iter().find(|spec| spec.names.contains(&name)).map(|spec| (spec.names[0], spec))
}

pub fn parse_bool(name: &str, value: &str) -> Result<bool, UsageError> {
    match value {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err(UsageError(format!("-{name}={value}: expected true or false"))),
    }
}

pub fn parse(raw: &[OsString]) -> Result<Args, UsageError> {
    let mut args = Args::default();
    let mut queue: std::collections::VecDeque<OsString> = raw.iter().cloned().collect();
    while let Some(arg) = queue.pop_front() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--" {
            args.positional.extend(queue.drain(..));
            break;
        }
        if !text.starts_with('-') || text == "-" {
            args.positional.push(arg);
            continue;
        }
        let body = text.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let (key, spec) = find(name).ok_or_else(|| UsageError(format!("flag provided but not defined: -{name}")))?;
        match spec.support {
            NotYet => {
                return Err(UsageError(format!("-{name} is a gocryptfs option that vaultfs does not support yet")));
            }
            Ignored => {
                if spec.kind != Switch && inline.is_none() {
                    queue.pop_front();
                }
                continue;
            }
            Yes => {}
        }
        match spec.kind {
            Switch => {
                let on = match &inline {
                    Some(v) => parse_bool(name, v)?,
                    None => true,
                };
                args.switches.insert(key, on);
            }
            Value | Repeated => {
                let value = match inline {
                    Some(v) => OsString::from(v),
                    None => queue.pop_front().ok_or_else(|| UsageError(format!("flag needs an argument: -{name}")))?,
                };
                if key == "o" {
                    // -o a,b=c means -a -b=c.
                    if value.to_string_lossy().split(',').any(|o| o == "o" || o == "-o") {
                        return Err(UsageError("-o cannot be passed to -o".into()));
                    }
                    for option in value.to_string_lossy().split(',').filter(|o| !o.is_empty()).rev() {
                        queue.push_front(format!("-{option}").into());
                    }
                    continue;
                }
                let slot = args.values.entry(key).or_default();
                if spec.kind == Value {
                    slot.clear();
                }
                slot.push(value);
            }
        }
    }
    Ok(args)
}

/// The help text, generated from the table.
pub fn help(name: &str) -> String {
    let mut text = format!(
        "Usage: {name} -init|-passwd|-info|-fsck [OPTIONS] CIPHERDIR\n   or: {name} [OPTIONS] CIPHERDIR MOUNTPOINT\n\n\
         An encrypted overlay filesystem, byte-compatible with gocryptfs and drop-in on its command line.\n\
         Flags take one or two dashes and -flag=value or -flag value.\n\nOptions:\n"
    );
    for spec in FLAGS.iter().filter(|s| s.support == Yes) {
        let names: Vec<String> = spec.names.iter().map(|n| format!("-{n}")).collect();
        let arg = if spec.kind == Switch { "" } else { " X" };
        text.push_str(&format!("  {:<28} {}\n", format!("{}{arg}", names.join(", ")), spec.help));
    }
    let ignored: Vec<String> = ignored_flags().map(|n| format!("-{n}")).collect();
    text.push_str(&format!("\nIgnored, as gocryptfs ignores them: {}.\n", ignored.join(" ")));
    text.push_str(
        "Not yet supported (refused): -fido2 -acl -context -speed and the profiling flags.\n\
         Exit codes are gocryptfs's: 1 usage, 6 bad CIPHERDIR, 7 init, 8 config, 9 password read, 10 mountpoint,\n\
         12 wrong password, 13 weak scrypt, 14 bad master key, 19 FUSE, 20 -ctlsock, 23/24 config open/write,\n\
         26 fsck found damage, 27 deprecated format, 29 exclusion error.\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, UsageError> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn single_and_double_dash_with_inline_or_separate_values() {
        let a = p(&["-passfile=/a", "--passfile", "/b", "-scryptn", "10", "cipher", "-q", "plain"]).unwrap();
        assert_eq!(a.values("passfile"), [OsString::from("/a"), OsString::from("/b")]);
        assert_eq!(a.value("scryptn").unwrap(), "10");
        assert!(a.switch("q"));
        assert_eq!(a.positional, [OsString::from("cipher"), OsString::from("plain")]);
    }

    #[test]
    fn booleans_take_explicit_values_and_o_expands() {
        let a = p(&["-raw64=false", "-o", "ro,allow_other", "c", "m"]).unwrap();
        assert!(!a.switch_or("raw64", true));
        assert!(a.switch("ro") && a.switch("allow_other"));
        assert!(p(&["-raw64=maybe"]).is_err());
    }

    #[test]
    fn unknown_and_unsupported_flags_are_refused_by_name() {
        assert_eq!(p(&["-bogus"]).unwrap_err().0, "flag provided but not defined: -bogus");
        assert!(p(&["-acl", "a", "b"]).unwrap_err().0.contains("does not support yet"));
        assert!(p(&["-fido2=/dev/hidraw0", "a", "b"]).unwrap_err().0.contains("-fido2"));
        assert!(p(&["-passfile"]).unwrap_err().0.contains("needs an argument"));
    }

    #[test]
    fn double_dash_ends_flags_and_ignored_flags_pass() {
        let a = p(&["-nofail", "--", "-weird-name", "m"]).unwrap();
        assert_eq!(a.positional, [OsString::from("-weird-name"), OsString::from("m")]);
    }

    #[test]
    fn aliases_share_one_key() {
        assert!(p(&["-f"]).unwrap().switch("fg"));
        assert!(p(&["--quiet"]).unwrap().switch("q"));
        assert!(p(&["-debug"]).unwrap().switch("d"));
    }
}
