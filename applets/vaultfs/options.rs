//! The command line as typed settings: every flag of the table ends up in one field
//! here, checked in one place ([`Options::from_args`]): conflicts, value ranges,
//! durations, owners, patterns. The rest of the applet reads these fields, never a flag
//! by name, so a flag that nothing reads would be a dead field, not a silent no-op.

use super::cli::{Args, UsageError};
use armorbox::exit::Failure;
use armorbox::gocryptfs::{ContentAlgorithm, Format};
use rustix::process::Pid;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// What the command line asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    Mount,
    Init,
    Passwd,
    Info,
    Fsck,
    Help,
    Version,
}

/// `-masterkey`: the key itself (from argv, where the user chose to put it) or `stdin`.
pub enum MasterKeyArg {
    Hex(Zeroizing<Vec<u8>>),
    Stdin,
}

/// Never prints the key.
impl std::fmt::Debug for MasterKeyArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MasterKeyArg::Hex(_) => "Hex(<redacted>)",
            MasterKeyArg::Stdin => "Stdin",
        })
    }
}

/// Where a password comes from when no master key is given.
#[derive(Default, Debug)]
pub struct PasswordSource {
    /// `-passfile`: the first line of each, concatenated.
    pub passfiles: Vec<PathBuf>,
    /// `-extpass`: one value is split on spaces, several are the argv.
    pub extpass: Vec<OsString>,
}

/// `-reverse` and what only it reads.
#[derive(Debug, Default)]
pub struct ReverseOptions {
    pub enabled: bool,
    /// `-exclude`/`-e`: plaintext paths (comma lists split).
    pub exclude: Vec<String>,
    /// `-exclude-wildcard`/`-ew`: gitignore-style patterns.
    pub exclude_wildcard: Vec<String>,
    /// `-exclude-from`: files of patterns.
    pub exclude_from: Vec<PathBuf>,
    pub one_file_system: bool,
}

/// Settings that only matter when mounting.
#[derive(Debug)]
pub struct MountOptions {
    pub read_only: bool,
    pub allow_other: bool,
    pub shared_storage: bool,
    pub nonempty: bool,
    pub kernel_cache: bool,
    pub no_prealloc: bool,
    pub serialize_reads: bool,
    /// `None`: the default (on inside a Slurm job).
    pub unmount_on_exit: Option<bool>,
    /// `-ko`: appended last to the kernel mount options.
    pub kernel_options: Vec<String>,
    /// The safer of each pair (`-dev`/`-nodev`, …) already chosen.
    pub dev: bool,
    pub suid: bool,
    pub noexec: bool,
    pub idle: Option<Duration>,
    pub force_owner: Option<(u32, u32)>,
    pub ctlsock: Option<PathBuf>,
    /// `-badname` glob patterns, for the filesystem.
    pub bad_names: Vec<String>,
    /// `-fsname`: the source shown in /proc/mounts (default: CIPHERDIR).
    pub fsname: Option<String>,
}

#[derive(Debug)]
pub struct Options {
    pub action: Action,
    pub positional: Vec<PathBuf>,
    pub password: PasswordSource,
    pub master_key: Option<MasterKeyArg>,
    pub zero_key: bool,
    /// `-scryptn`, when given (`-passwd` keeps the old cost otherwise).
    pub scrypt_log_n: Option<u8>,
    pub config: Option<PathBuf>,
    /// The format `-init` writes and a `-masterkey`/`-zerokey` mount assumes.
    pub format: Format,
    pub quiet: bool,
    pub foreground: bool,
    pub no_syslog: bool,
    /// `-d`, `-debug`, `-fusedebug`.
    pub debug: bool,
    /// `-wpanic`: a warning ends the mount.
    pub panic_on_warning: bool,
    pub notify_pid: Option<Pid>,
    pub mount: MountOptions,
    pub reverse: ReverseOptions,
}

fn usage(e: UsageError) -> Failure {
    Failure::usage(e.0)
}

impl Options {
    pub fn from_args(args: &Args) -> Result<Options, Failure> {
        let action = action(args)?;
        let password = PasswordSource {
            passfiles: args.values("passfile").iter().map(PathBuf::from).collect(),
            extpass: args.values("extpass").to_vec(),
        };
        let master_key = args.value("masterkey").map(|v| {
            if v == "stdin" {
                MasterKeyArg::Stdin
            } else {
                MasterKeyArg::Hex(Zeroizing::new(v.as_encoded_bytes().to_vec()))
            }
        });
        // The conflicts gocryptfs refuses: each pair names two places for one secret.
        if !password.extpass.is_empty() && !password.passfiles.is_empty() {
            return Err(Failure::usage("the options -extpass and -passfile cannot be used at the same time"));
        }
        if master_key.is_some() && !password.passfiles.is_empty() {
            return Err(Failure::usage("the options -passfile and -masterkey cannot be used at the same time"));
        }
        if master_key.is_some() && !password.extpass.is_empty() {
            return Err(Failure::usage("the options -extpass and -masterkey cannot be used at the same time"));
        }
        if let Some(v) = args.value_str("openssl").map_err(usage)? {
            // vaultfs has one crypto implementation: the value is checked as gocryptfs
            // checks it, and changes nothing else.
            if v != "auto" && super::cli::parse_bool("openssl", v).is_err() {
                return Err(Failure::usage(format!("invalid -openssl setting {v:?}: expected true, false or auto")));
            }
        }
        let mount = mount_options(args)?;
        let reverse = reverse_options(args);
        if !reverse.enabled && !reverse.exclude.is_empty() {
            return Err(Failure::new(EXCLUDE_ERROR, "-exclude only works in reverse mode"));
        }
        if reverse.enabled && action == Action::Fsck {
            return Err(Failure::usage("Running -fsck with -reverse is not supported"));
        }
        Ok(Options {
            action,
            positional: args.positional.iter().map(PathBuf::from).collect(),
            password,
            master_key,
            zero_key: args.switch("zerokey"),
            scrypt_log_n: scrypt_log_n(args)?,
            config: args.value("config").map(PathBuf::from),
            format: format(args)?,
            quiet: args.switch("q"),
            foreground: args.switch("fg"),
            no_syslog: args.switch("nosyslog"),
            debug: args.switch("d") || args.switch("fusedebug"),
            panic_on_warning: args.switch("wpanic"),
            notify_pid: notify_pid(args)?,
            mount,
            reverse,
        })
    }
}

/// gocryptfs's exit code for exclusion errors.
pub const EXCLUDE_ERROR: i32 = 29;

/// gocryptfs takes comma-separated lists for the exclusion flags, repeatable.
fn list(args: &Args, name: &str) -> Vec<String> {
    args.values(name)
        .iter()
        .flat_map(|v| v.to_string_lossy().split(',').map(String::from).collect::<Vec<_>>())
        .collect()
}

fn reverse_options(args: &Args) -> ReverseOptions {
    ReverseOptions {
        enabled: args.switch("reverse"),
        exclude: list(args, "exclude"),
        exclude_wildcard: list(args, "exclude-wildcard"),
        exclude_from: list(args, "exclude-from").into_iter().map(PathBuf::from).collect(),
        one_file_system: args.switch("one-file-system"),
    }
}

fn action(args: &Args) -> Result<Action, Failure> {
    if args.switch("h") {
        return Ok(Action::Help);
    }
    if args.switch("version") {
        return Ok(Action::Version);
    }
    let chosen: Vec<Action> =
        [("init", Action::Init), ("passwd", Action::Passwd), ("info", Action::Info), ("fsck", Action::Fsck)]
            .into_iter()
            .filter(|(flag, _)| args.switch(flag))
            .map(|(_, a)| a)
            .collect();
    match chosen.as_slice() {
        [] => Ok(Action::Mount),
        [one] => Ok(*one),
        _ => Err(Failure::usage("only one of -init, -passwd, -info, -fsck at a time")),
    }
}

/// The format described by init-time flags.
fn format(args: &Args) -> Result<Format, Failure> {
    // -reverse implies -aessiv: its deterministic nonces are safe with SIV only.
    let content = match (args.switch("xchacha"), args.switch("aessiv") || args.switch("reverse")) {
        (true, true) => return Err(Failure::usage("-xchacha and -aessiv exclude each other")),
        (true, false) => ContentAlgorithm::XChaCha20Poly1305,
        (false, true) => ContentAlgorithm::AesSiv,
        (false, false) => ContentAlgorithm::AesGcm,
    };
    let hkdf = args.switch_or("hkdf", true);
    if content == ContentAlgorithm::XChaCha20Poly1305 && !hkdf {
        return Err(Failure::usage("-xchacha requires -hkdf"));
    }
    let long_name_max = match args.value_str("longnamemax").map_err(usage)? {
        None => 255,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (62..=255).contains(&n) => n,
            _ => {
                return Err(Failure::usage(format!("-longnamemax: value {v} is outside the allowed range 62 ... 255")));
            }
        },
    };
    Ok(Format {
        content,
        hkdf,
        plaintext_names: args.switch("plaintextnames"),
        dir_iv: !args.switch("deterministic-names"),
        // -longnames=false: a -masterkey mount of a filesystem from before long names.
        long_names: args.switch_or("longnames", true),
        long_name_max,
        raw64: args.switch_or("raw64", true),
    })
}

fn scrypt_log_n(args: &Args) -> Result<Option<u8>, Failure> {
    let Some(v) = args.value_str("scryptn").map_err(usage)? else { return Ok(None) };
    v.parse()
        .ok()
        .filter(|n| (10..=28).contains(n))
        .map(Some)
        .ok_or_else(|| Failure::usage(format!("-scryptn {v}: must be 10..28")))
}

fn notify_pid(args: &Args) -> Result<Option<Pid>, Failure> {
    let Some(text) = args.value_str("notifypid").map_err(usage)? else { return Ok(None) };
    let pid: i32 = text.parse().map_err(|_| Failure::usage(format!("-notifypid {text}: not a process id")))?;
    // 0 is gocryptfs's "nobody to notify".
    Ok(Pid::from_raw(pid))
}

fn mount_options(args: &Args) -> Result<MountOptions, Failure> {
    let force_owner = match args.value_str("force_owner").map_err(usage)? {
        None => None,
        Some(text) => {
            let parsed = text.split_once(':').and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)));
            Some(parsed.ok_or_else(|| Failure::usage(format!("-force_owner {text}: expected UID:GID, numbers")))?)
        }
    };
    let idle = match args.value_str("i").map_err(usage)? {
        None => None,
        // 0 (Go's one unit-less duration) means no limit, as in gocryptfs.
        Some("0") => None,
        Some(text) => match armorbox::vaultfs::parse_go_duration(text) {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None => return Err(Failure::usage(format!("-idle {text}: expected a duration such as 10m or 1h30m"))),
        },
    };
    let mut bad_names = Vec::new();
    for value in args.values("badname") {
        let text = value.to_str().ok_or_else(|| Failure::usage("-badname: not valid UTF-8"))?;
        // A comma separates patterns, as in gocryptfs's list flags.
        for pattern in text.split(',').filter(|p| !p.is_empty()) {
            if !glob_is_valid(pattern) {
                return Err(Failure::usage(format!("-badname: invalid pattern {pattern:?} supplied")));
            }
            bad_names.push(pattern.to_string());
        }
    }
    let kernel_options = args.value_str("ko").map_err(usage)?.unwrap_or_default();
    Ok(MountOptions {
        // -rw is the default spelled out; -ro wins over it, as in gocryptfs.
        read_only: args.switch("ro"),
        allow_other: args.switch("allow_other") || force_owner.is_some(),
        shared_storage: args.switch("sharedstorage"),
        nonempty: args.switch("nonempty"),
        kernel_cache: args.switch("kernel_cache"),
        no_prealloc: args.switch("noprealloc"),
        serialize_reads: args.switch("serialize_reads"),
        unmount_on_exit: args.explicit_switch("unmount-on-exit"),
        kernel_options: kernel_options.split(',').filter(|o| !o.is_empty()).map(String::from).collect(),
        // The safer of each pair wins, as in gocryptfs; FUSE defaults are nodev, nosuid.
        dev: args.switch("dev") && !args.switch("nodev"),
        suid: args.switch("suid") && !args.switch("nosuid"),
        noexec: args.switch("noexec"),
        idle,
        force_owner,
        ctlsock: args.value("ctlsock").map(PathBuf::from),
        bad_names,
        fsname: args.value_str("fsname").map_err(usage)?.map(String::from),
    })
}

/// Whether `pattern` is a well-formed Go `filepath.Match` pattern: `*`, `?`, `[…]`
/// classes (`^` negates, `a-z` ranges, never empty), `\\` escapes. gocryptfs refuses
/// malformed ones before mounting; so do we.
pub fn glob_is_valid(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    // One class member, escaped or not; `-` and `]` cannot start one.
    let member = |i: &mut usize| -> Option<char> {
        let mut c = *chars.get(*i)?;
        if c == '-' || c == ']' {
            return None;
        }
        if c == '\\' {
            *i += 1;
            c = *chars.get(*i)?;
        }
        *i += 1;
        Some(c)
    };
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return false;
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    let Some(lo) = member(&mut i) else { return false };
                    if chars.get(i) == Some(&'-') {
                        i += 1;
                        match member(&mut i) {
                            Some(hi) if hi >= lo => {}
                            _ => return false,
                        }
                    }
                    ranges += 1;
                }
            }
            _ => i += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Result<Options, Failure> {
        let raw: Vec<OsString> = args.iter().map(OsString::from).collect();
        Options::from_args(&super::super::cli::parse(&raw).map_err(usage)?)
    }

    #[test]
    fn go_glob_syntax_is_checked() {
        for good in ["*valid*", "a?c", "[abc]x", "[^a-z]", "\\*", "[]a]x".get(1..).unwrap(), "x[\\]]"] {
            assert!(glob_is_valid(good), "{good}");
        }
        for bad in ["[", "[]", "a\\", "[z-a]", "[a-]", "[-a]", "[^]"] {
            assert!(!glob_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn password_sources_conflict_as_in_gocryptfs() {
        for pair in [
            ["-passfile=/p", "-extpass=echo x"],
            ["-passfile=/p", "-masterkey=stdin"],
            ["-extpass=x", "-masterkey=stdin"],
        ] {
            let e = options(&[pair[0], pair[1], "c", "m"]).expect_err("refused");
            assert_eq!(e.code, 1, "{}", e.message);
            assert!(e.message.contains("cannot be used at the same time"), "{}", e.message);
        }
    }

    /// A value each value-taking flag accepts.
    fn sample(flag: &str) -> &'static str {
        match flag {
            "scryptn" => "12",
            "longnamemax" => "100",
            "notifypid" => "1",
            "i" => "5m",
            "force_owner" => "1:2",
            "openssl" => "false",
            "o" => "ro",
            _ => "x",
        }
    }

    /// The check ripgrep gets from the compiler: a flag in the table that no field
    /// reflects would be accepted and do nothing.
    #[test]
    fn every_supported_flag_changes_the_options() {
        // gocryptfs's defaults spelled out, and a value only checked: no change expected.
        let no_change = ["rw", "exec", "nodev", "nosuid", "openssl"];
        let base_of = |argv: &[&str]| format!("{:?}", options(argv).unwrap_or_else(|e| panic!("{}", e.message)));
        for (flag, takes_value) in super::super::cli::supported_flags() {
            // -exclude is refused without -reverse (exit 29, as in gocryptfs).
            let prefix: &[&str] = if flag == "exclude" { &["-reverse"] } else { &[] };
            let base = base_of(&[prefix, &["c", "m"]].concat());
            // Switches that default to true (-raw64, -hkdf) show only as =false.
            let forms: Vec<Vec<String>> = if takes_value {
                vec![vec![format!("-{flag}"), sample(flag).into()]]
            } else {
                vec![vec![format!("-{flag}")], vec![format!("-{flag}=false")]]
            };
            let changed = forms.into_iter().any(|args| {
                let mut args: Vec<String> = prefix.iter().map(|p| p.to_string()).chain(args).collect();
                args.extend(["c".into(), "m".into()]);
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                format!("{:?}", options(&argv).unwrap_or_else(|e| panic!("{flag}: {}", e.message))) != base
            });
            assert_eq!(changed, !no_change.contains(&flag), "-{flag} is read by nothing (or should not be)");
        }
    }

    #[test]
    fn the_master_key_is_never_printed() {
        let o = options(&["-masterkey=00112233", "c", "m"]).unwrap_or_else(|e| panic!("{}", e.message));
        assert!(!format!("{o:?}").contains("00112233"));
    }

    #[test]
    fn every_flag_lands_in_a_field() {
        let o = options(&[
            "-fusedebug",
            "-badname=*a*,b?",
            "-badname",
            "[c]",
            "-fsname=src",
            "-wpanic",
            "-o",
            "ro,nosuid",
            "-i=0",
            "-longnames=false",
            "-openssl=auto",
            "-unmount-on-exit=false",
            "c",
            "m",
        ])
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(o.debug && o.panic_on_warning && o.mount.read_only && !o.mount.suid);
        assert_eq!(o.mount.bad_names, ["*a*", "b?", "[c]"]);
        assert_eq!(o.mount.fsname.as_deref(), Some("src"));
        assert_eq!(o.mount.idle, None);
        assert_eq!(o.mount.unmount_on_exit, Some(false));
        assert!(!o.format.long_names);
        assert_eq!(o.action, Action::Mount);
        assert!(options(&["-badname=[", "c", "m"]).is_err());
        assert!(options(&["-openssl=maybe", "c", "m"]).is_err());
        assert!(options(&["-longnamemax=61", "c"]).is_err());
        assert!(options(&["-init", "-info", "c"]).is_err());
    }
}
