//! Mounting: checks, daemonizing like gocryptfs (return only once the mount is ready),
//! the FUSE session, and a clean unmount on SIGINT/SIGTERM/SIGHUP.

use super::cli::Args;
use super::unlock::open_volume;
use armorbox::exit::{AppletResult, Failure};
use armorbox::gocryptfs::Volume;
use armorbox::gocryptfs::exit_code;
use armorbox::sys::fuse_mount::{self, MountRequest};
use armorbox::sys::{process_watch, self_exe, threads};
use armorbox::vaultfs::{MountSettings, VaultFs, ctlsock};
use fuser::{Config, SessionACL};
use rustix::process::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use std::ffi::OsString;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Internal: marks the re-executed background child, followed by the pid of the
/// parent waiting for SIGUSR1 and the pid of the process that ran vaultfs (never typed
/// by users).
pub const DAEMON_CHILD_FLAG: &str = "-armorbox-daemon-child";

fn mountpoint_failure(dir: &Path, why: impl std::fmt::Display) -> Failure {
    Failure::new(exit_code::MOUNTPOINT, format!("invalid mountpoint {}: {why}", dir.display()))
}

/// Who started the mount, as the background child learns it from its parent.
#[derive(Clone, Copy)]
pub struct DaemonOrigin {
    /// The vaultfs process waiting for SIGUSR1.
    pub waiting_parent: Pid,
    /// The process that ran vaultfs (a batch script's shell, say).
    pub caller: Option<Pid>,
}

pub fn mount(
    args: &Args,
    raw_args: &[OsString],
    invoked_as: &str,
    cipher_dir: &Path,
    mountpoint: &Path,
    origin: Option<DaemonOrigin>,
) -> AppletResult {
    // Flags first: a bad value is a usage error whatever state the directories are in.
    let owner = force_owner(args)?;
    let idle = idle_limit(args)?;
    let daemon_child = origin.is_some();
    let waiting_parent = origin.map(|o| o.waiting_parent);
    let caller = match origin {
        Some(o) => o.caller,
        None => rustix::process::getppid(),
    };
    let meta = std::fs::metadata(mountpoint).map_err(|e| mountpoint_failure(mountpoint, e))?;
    if !meta.is_dir() {
        return Err(mountpoint_failure(mountpoint, "not a directory"));
    }
    if !args.switch("nonempty") && std::fs::read_dir(mountpoint).map(|mut d| d.next().is_some()).unwrap_or(false) {
        return Err(mountpoint_failure(mountpoint, "directory is not empty (use -nonempty to mount over it)"));
    }
    if !args.switch("fg") && !daemon_child {
        return run_in_background(raw_args, invoked_as, args.switch("q"));
    }
    let cipher_dir = std::fs::canonicalize(cipher_dir)
        .map_err(|e| Failure::new(exit_code::CIPHERDIR, format!("invalid cipherdir {}: {e}", cipher_dir.display())))?;
    if args.switch("reverse") {
        return super::reverse::serve(args, &cipher_dir, mountpoint, daemon_child, waiting_parent, caller);
    }
    let volume = Arc::new(open_volume(args, &cipher_dir)?);
    let control_socket = bind_control_socket(args)?;
    let settings = MountSettings {
        shared_storage: args.switch("sharedstorage"),
        no_prealloc: args.switch("noprealloc"),
        read_only: args.switch("ro"),
        kernel_cache: args.switch("kernel_cache"),
        force_owner: owner,
        bad_names: Vec::new(),
        debug: false,
        serialize_reads: args.switch("serialize_reads"),
    };
    let allow_other = args.switch("allow_other") || settings.force_owner.is_some();
    let fs = VaultFs::new(Arc::clone(&volume), &cipher_dir, settings)
        .map_err(|e| Failure::new(exit_code::CIPHERDIR, format!("invalid cipherdir {}: {e}", cipher_dir.display())))?;
    let activity = fs.activity();
    let mountpoint = std::fs::canonicalize(mountpoint).map_err(|e| mountpoint_failure(mountpoint, e))?;
    // Threads are counted before mounting: a mount the system then refuses threads
    // to could not even be unmounted, as that takes a fusermount3 process.
    let config = session_config(args, helper_threads(args, &control_socket, idle, caller))?;
    let fuse_fd =
        fuse_mount::mount(&mount_request(args, &cipher_dir, &mountpoint, allow_other)?).map_err(fuse_failure)?;
    let acl = if allow_other { SessionACL::All } else { SessionACL::Owner };
    // Every thread starts before the waiting parent hears "ready": a mount whose
    // signal or job watcher the system refused (a tight `ulimit -u`, a cgroup's
    // `pids.max`) is unmounted and reported, not left running without them.
    let (signals, session) =
        start_helpers(args, &mountpoint, &volume, &cipher_dir, &control_socket, idle, activity, caller)
            .and_then(|signals| Ok((signals, fuser::Session::from_fd(fs, fuse_fd, acl, config).map_err(fuse_failure)?)))
            .inspect_err(|_| {
                let _ = fuse_mount::unmount(&mountpoint, false);
            })?;
    for pid in notify_pid(args)?.into_iter().chain(waiting_parent) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::USR1);
    }
    if !args.switch("q") && !daemon_child {
        eprintln!("Filesystem mounted and ready.");
    }
    if daemon_child {
        detach_from_terminal();
    }
    // Ends when the filesystem is unmounted, by us or by `fusermount -u`/`umount`.
    let result = session.run();
    signals.close();
    if let Some((_, path)) = control_socket {
        let _ = std::fs::remove_file(path);
    }
    result.map_err(|e| Failure::new(exit_code::FUSE_SERVER, format!("FUSE session ended with an error: {e}")))
}

/// How many threads `start_helpers` starts.
pub(super) fn helper_threads(
    args: &Args,
    control_socket: &Option<(UnixListener, PathBuf)>,
    idle: Option<Duration>,
    caller: Option<Pid>,
) -> usize {
    let watches_caller = unmount_on_exit(args) && caller.is_some();
    1 + usize::from(control_socket.is_some()) + usize::from(idle.is_some()) + usize::from(watches_caller)
}

/// The mount's helper threads: signals, `-ctlsock`, `-idle`, and the watch on the
/// process that mounted. Returns what ends the signal thread.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_helpers(
    args: &Args,
    mountpoint: &Path,
    volume: &Arc<Volume>,
    cipher_dir: &Path,
    control_socket: &Option<(UnixListener, PathBuf)>,
    idle: Option<Duration>,
    activity: Arc<armorbox::vaultfs::Activity>,
    caller: Option<Pid>,
) -> Result<signal_hook::iterator::Handle, Failure> {
    let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Failure::new(exit_code::FUSE_SERVER, format!("signal setup: {e}")))?;
    let handle = signals.handle();
    let unmount_at = mountpoint.to_path_buf();
    let started = spawn("signals", move || {
        let mut signals = signals;
        if signals.forever().next().is_some() {
            // Unmounting ends the session loop.
            if let Err(e) = fuse_mount::unmount(&unmount_at, false) {
                eprintln!("vaultfs: unmounting {}: {e}", unmount_at.display());
            }
        }
    });
    if started.is_err() {
        // Caught signals with no thread to act on them would be ignored.
        handle.close();
    }
    started?;
    if let Some((listener, _)) = control_socket {
        let listener = listener.try_clone().map_err(ctlsock_failure)?;
        let (volume, dir) = (Arc::clone(volume), cipher_dir.to_path_buf());
        spawn("ctlsock", move || ctlsock::serve(listener, volume, dir))?;
    }
    if let Some(limit) = idle {
        watch_idle(activity, limit, mountpoint.to_path_buf())?;
    }
    if unmount_on_exit(args)
        && let Some(caller) = caller
    {
        watch_caller(caller, mountpoint.to_path_buf())?;
    }
    Ok(handle)
}

/// Starts a named helper thread; a refusal (a tight `ulimit -u`, a cgroup's
/// `pids.max`) is an error rather than `std::thread::spawn`'s panic.
pub(super) fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> Result<(), Failure> {
    std::thread::Builder::new().name(name.into()).spawn(work).map(drop).map_err(|e| {
        Failure::new(exit_code::FUSE_SERVER, format!("cannot start the {name} thread: {e} (is `ulimit -u` too low?)"))
    })
}

/// Inside a Slurm job the mount ends with the job unless asked otherwise: gocryptfs's
/// daemon outlives a finished, cancelled or killed job, with the data decrypted.
fn unmount_on_exit(args: &Args) -> bool {
    args.switch_or("unmount-on-exit", std::env::var_os("SLURM_JOB_ID").is_some())
}

/// Unmounts when `caller` exits. Lazily if files are still open: no new access is
/// possible from then on, which is the point.
fn watch_caller(caller: Pid, mountpoint: PathBuf) -> Result<(), Failure> {
    spawn("caller-watch", move || {
        if process_watch::wait_for_exit(caller).is_ok() {
            eprintln!(
                "vaultfs: process {} that mounted {} has exited: unmounting",
                caller.as_raw_nonzero(),
                mountpoint.display()
            );
            if fuse_mount::unmount(&mountpoint, false).is_err() {
                let _ = fuse_mount::unmount(&mountpoint, true);
            }
        }
    })
}

pub(super) fn ctlsock_failure(e: std::io::Error) -> Failure {
    Failure::new(exit_code::CTLSOCK, format!("-ctlsock: {e}"))
}

/// Binds `-ctlsock` before mounting, so a bad path fails before anything is mounted.
pub(super) fn bind_control_socket(args: &Args) -> Result<Option<(UnixListener, PathBuf)>, Failure> {
    let Some(path) = args.value("ctlsock").map(PathBuf::from) else { return Ok(None) };
    let listener = UnixListener::bind(&path)
        .map_err(|e| ctlsock_failure(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))))?;
    Ok(Some((listener, path)))
}

pub(super) fn force_owner(args: &Args) -> Result<Option<(u32, u32)>, Failure> {
    let Some(text) = args.value_str("force_owner").map_err(super::unlock::usage)? else { return Ok(None) };
    let parsed = text.split_once(':').and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)));
    parsed.map(Some).ok_or_else(|| Failure::usage(format!("-force_owner {text}: expected UID:GID, numbers")))
}

fn idle_limit(args: &Args) -> Result<Option<Duration>, Failure> {
    let Some(text) = args.value_str("i").map_err(super::unlock::usage)? else { return Ok(None) };
    armorbox::vaultfs::parse_go_duration(text)
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| Failure::usage(format!("-idle {text}: expected a duration such as 10m or 1h30m")))
}

/// `-idle`: checks every min(limit/4, 2 min), as gocryptfs does.
fn watch_idle(activity: Arc<armorbox::vaultfs::Activity>, limit: Duration, mountpoint: PathBuf) -> Result<(), Failure> {
    let every = (limit / 4).min(Duration::from_secs(120)).max(Duration::from_millis(100));
    spawn("idle-watch", move || {
        loop {
            std::thread::sleep(every);
            if activity.idle_for(limit) {
                eprintln!("vaultfs: idle for {limit:?}: unmounting {}", mountpoint.display());
                if fuse_mount::unmount(&mountpoint, false).is_ok() {
                    return;
                }
            }
        }
    })
}

pub(super) fn fuse_failure(e: std::io::Error) -> Failure {
    let hint = if !Path::new("/dev/fuse").exists() {
        " (/dev/fuse is missing: load the fuse module, or ask for FUSE in the container/job)"
    } else if e.kind() == std::io::ErrorKind::NotFound {
        " (fusermount3 is missing: as a normal user, install fuse3; root mounts directly)"
    } else {
        ""
    };
    Failure::new(exit_code::FUSE_SERVER, format!("mount failed: {e}{hint}"))
}

pub(super) fn notify_pid(args: &Args) -> Result<Option<rustix::process::Pid>, Failure> {
    let Some(text) = args.value_str("notifypid").map_err(super::unlock::usage)? else { return Ok(None) };
    let pid: i32 = text.parse().map_err(|_| Failure::usage(format!("-notifypid {text}: not a process id")))?;
    Ok(rustix::process::Pid::from_raw(pid))
}

pub(super) fn mount_request(
    args: &Args,
    cipher_dir: &Path,
    mountpoint: &Path,
    allow_other: bool,
) -> Result<MountRequest, Failure> {
    let extra = args.value_str("ko").map_err(super::unlock::usage)?.unwrap_or_default();
    Ok(MountRequest {
        mountpoint: mountpoint.to_path_buf(),
        fsname: cipher_dir.display().to_string(),
        // The type shows as fuse.gocryptfs, so scripts that look for it keep working.
        subtype: "gocryptfs".into(),
        read_only: args.switch("ro"),
        allow_other,
        default_permissions: allow_other,
        // The safer of each pair wins, as in gocryptfs; FUSE defaults are nodev, nosuid.
        dev: args.switch("dev") && !args.switch("nodev"),
        suid: args.switch("suid") && !args.switch("nosuid"),
        noexec: args.switch("noexec"),
        extra: extra.split(',').filter(|o| !o.is_empty()).map(String::from).collect(),
    })
}

/// The FUSE session's threads: as many as the cores (at least 4), or as the system
/// still gives beside the `helpers` and one fusermount3 (to mount, and to unmount on
/// the way out). The session starts them all at once and fails whole if one is refused.
pub(super) fn session_config(args: &Args, helpers: usize) -> Result<Config, Failure> {
    let wanted = if args.switch("serialize_reads") {
        1
    } else {
        std::thread::available_parallelism().map_or(4, |n| n.get()).max(4)
    };
    let room = threads::available(wanted + helpers + 1);
    let threads = room.saturating_sub(helpers + 1).min(wanted);
    if threads == 0 {
        return Err(Failure::new(
            exit_code::FUSE_SERVER,
            format!(
                "the system gives only {room} more thread(s) or process(es), and a mount needs {} (is `ulimit -u` too low?)",
                helpers + 2
            ),
        ));
    }
    let mut config = Config::default();
    config.n_threads = Some(threads);
    config.clone_fd = true;
    Ok(config)
}

/// The background child must not hold the terminal or the caller's pipes: a batch
/// script's `$(…)` would otherwise wait for it forever.
pub(super) fn detach_from_terminal() {
    let _ = rustix::process::setsid();
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
    }
}

/// gocryptfs's daemon mode: run ourselves again in the background and return once it
/// says the mount is ready (SIGUSR1), or with its exit code if it fails first.
fn run_in_background(raw_args: &[OsString], invoked_as: &str, quiet: bool) -> AppletResult {
    let ready = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(SIGUSR1, Arc::clone(&ready))
        .map_err(|e| Failure::new(exit_code::FORK_CHILD, format!("signal setup: {e}")))?;
    let exe = self_exe::own_binary()
        .map_err(|e| Failure::new(exit_code::FORK_CHILD, format!("cannot re-run myself: {e}")))?;
    let mut child = Command::new(exe)
        .arg0(invoked_as)
        .arg(DAEMON_CHILD_FLAG)
        .arg(std::process::id().to_string())
        .arg(rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get()).to_string())
        .args(raw_args)
        .spawn()
        .map_err(|e| Failure::new(exit_code::FORK_CHILD, format!("cannot start the background process: {e}")))?;
    loop {
        if ready.load(Ordering::SeqCst) {
            if !quiet {
                eprintln!("Filesystem mounted and ready.");
            }
            return Ok(());
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                // The child printed its own error; pass its code on.
                return Err(Failure::silent(status.code().unwrap_or(exit_code::FORK_CHILD)));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(Failure::new(exit_code::FORK_CHILD, format!("waiting for the background process: {e}")));
            }
        }
    }
}
