//! Mounting: checks, daemonizing like gocryptfs (return only once the mount is ready),
//! the FUSE session, and a clean unmount on SIGINT/SIGTERM/SIGHUP.

use super::options::Options;
use super::unlock::open_volume;
use armorbox::exit::{AppletResult, Failure};
use armorbox::gocryptfs::Volume;
use armorbox::gocryptfs::exit_code;
use armorbox::sys::fuse_mount::{self, MountRequest};
use armorbox::sys::{log, process_watch, self_exe, threads};
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
    options: &Options,
    raw_args: &[OsString],
    invoked_as: &str,
    cipher_dir: &Path,
    mountpoint: &Path,
    origin: Option<DaemonOrigin>,
) -> AppletResult {
    let idle = options.mount.idle;
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
    if !options.mount.nonempty && std::fs::read_dir(mountpoint).map(|mut d| d.next().is_some()).unwrap_or(false) {
        return Err(mountpoint_failure(mountpoint, "directory is not empty (use -nonempty to mount over it)"));
    }
    if !options.foreground && !daemon_child {
        return run_in_background(raw_args, invoked_as, options.quiet);
    }
    let cipher_dir = std::fs::canonicalize(cipher_dir)
        .map_err(|e| Failure::new(exit_code::CIPHERDIR, format!("invalid cipherdir {}: {e}", cipher_dir.display())))?;
    if options.reverse.enabled {
        return super::reverse::serve(
            options,
            invoked_as,
            &cipher_dir,
            mountpoint,
            daemon_child,
            waiting_parent,
            caller,
        );
    }
    let volume = Arc::new(open_volume(options, &cipher_dir)?);
    let control_socket = bind_control_socket(options)?;
    let settings = MountSettings {
        shared_storage: options.mount.shared_storage,
        no_prealloc: options.mount.no_prealloc,
        read_only: options.mount.read_only,
        kernel_cache: options.mount.kernel_cache,
        force_owner: options.mount.force_owner,
        bad_names: options.mount.bad_names.clone(),
        debug: options.debug,
    };
    let allow_other = options.mount.allow_other;
    let fs = VaultFs::new(Arc::clone(&volume), &cipher_dir, settings)
        .map_err(|e| Failure::new(exit_code::CIPHERDIR, format!("invalid cipherdir {}: {e}", cipher_dir.display())))?;
    let activity = fs.activity();
    let mountpoint = std::fs::canonicalize(mountpoint).map_err(|e| mountpoint_failure(mountpoint, e))?;
    // Threads are counted before mounting: a mount the system then refuses threads
    // to could not even be unmounted, as that takes a fusermount3 process.
    let config = session_config(options, helper_threads(options, &control_socket, idle, caller))?;
    let fuse_fd = fuse_mount::mount(&mount_request(options, &cipher_dir, &mountpoint)).map_err(fuse_failure)?;
    // Every create through the mount carries its mode, the caller's umask already
    // applied by the kernel: ours must not take bits away a second time (gocryptfs too).
    rustix::process::umask(rustix::fs::Mode::empty());
    let acl = if allow_other { SessionACL::All } else { SessionACL::Owner };
    // Every thread starts before the waiting parent hears "ready": a mount whose
    // signal or job watcher the system refused (a tight `ulimit -u`, a cgroup's
    // `pids.max`) is unmounted and reported, not left running without them.
    let (signals, session) =
        start_helpers(options, &mountpoint, &volume, &cipher_dir, &control_socket, idle, activity, caller)
            .and_then(|signals| Ok((signals, fuser::Session::from_fd(fs, fuse_fd, acl, config).map_err(fuse_failure)?)))
            .inspect_err(|_| {
                let _ = fuse_mount::unmount(&mountpoint, false);
            })?;
    for pid in options.notify_pid.into_iter().chain(waiting_parent) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::USR1);
    }
    if !options.quiet && !daemon_child {
        eprintln!("Filesystem mounted and ready.");
    }
    if daemon_child {
        detach_from_terminal(options.no_syslog);
        if !options.no_syslog {
            log::switch_to_syslog(invoked_as);
        }
    }
    // Ends when the filesystem is unmounted, by us or by `fusermount -u`/`umount`.
    let result = session.run();
    signals.close();
    if let Some((_, path)) = control_socket {
        let _ = std::fs::remove_file(path);
    }
    result.map_err(|e| {
        let message = format!("FUSE session ended with an error: {e}");
        // A detached daemon's stderr leads nowhere: say it where its warnings go.
        if daemon_child {
            log::warn(&message);
        }
        Failure::new(exit_code::FUSE_SERVER, message)
    })
}

/// How many threads `start_helpers` starts.
pub(super) fn helper_threads(
    options: &Options,
    control_socket: &Option<(UnixListener, PathBuf)>,
    idle: Option<Duration>,
    caller: Option<Pid>,
) -> usize {
    let watches_caller = unmount_on_exit(options) && caller.is_some();
    1 + usize::from(control_socket.is_some()) + usize::from(idle.is_some()) + usize::from(watches_caller)
}

/// The mount's helper threads: signals, `-ctlsock`, `-idle`, and the watch on the
/// process that mounted. Returns what ends the signal thread.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_helpers(
    options: &Options,
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
                log::warn(format_args!("unmounting {}: {e}", unmount_at.display()));
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
    if unmount_on_exit(options)
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
fn unmount_on_exit(options: &Options) -> bool {
    options.mount.unmount_on_exit.unwrap_or_else(|| std::env::var_os("SLURM_JOB_ID").is_some())
}

/// Unmounts when `caller` exits. Lazily if files are still open: no new access is
/// possible from then on, which is the point.
fn watch_caller(caller: Pid, mountpoint: PathBuf) -> Result<(), Failure> {
    spawn("caller-watch", move || {
        if process_watch::wait_for_exit(caller).is_ok() {
            log::info(format_args!(
                "process {} that mounted {} has exited: unmounting",
                caller.as_raw_nonzero(),
                mountpoint.display()
            ));
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
pub(super) fn bind_control_socket(options: &Options) -> Result<Option<(UnixListener, PathBuf)>, Failure> {
    let Some(path) = options.mount.ctlsock.clone() else { return Ok(None) };
    let listener = UnixListener::bind(&path)
        .map_err(|e| ctlsock_failure(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))))?;
    Ok(Some((listener, path)))
}

/// `-idle`: checks every min(limit/4, 2 min), as gocryptfs does.
fn watch_idle(activity: Arc<armorbox::vaultfs::Activity>, limit: Duration, mountpoint: PathBuf) -> Result<(), Failure> {
    let every = (limit / 4).min(Duration::from_secs(120)).max(Duration::from_millis(100));
    spawn("idle-watch", move || {
        loop {
            std::thread::sleep(every);
            if activity.idle_for(limit) {
                log::info(format_args!("idle for {limit:?}: unmounting {}", mountpoint.display()));
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

pub(super) fn mount_request(options: &Options, cipher_dir: &Path, mountpoint: &Path) -> MountRequest {
    let m = &options.mount;
    MountRequest {
        mountpoint: mountpoint.to_path_buf(),
        fsname: m.fsname.clone().unwrap_or_else(|| cipher_dir.display().to_string()),
        // The type shows as fuse.gocryptfs, so scripts that look for it keep working.
        subtype: "gocryptfs".into(),
        read_only: m.read_only,
        allow_other: m.allow_other,
        default_permissions: m.allow_other,
        dev: m.dev,
        suid: m.suid,
        noexec: m.noexec,
        extra: m.kernel_options.clone(),
    }
}

/// The FUSE session's threads: as many as the cores (at least 4), or as the system
/// still gives beside the `helpers` and one fusermount3 (to mount, and to unmount on
/// the way out). The session starts them all at once and fails whole if one is refused.
pub(super) fn session_config(options: &Options, helpers: usize) -> Result<Config, Failure> {
    let wanted = if options.mount.serialize_reads {
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
/// script's `$(…)` would otherwise wait for it forever. Its messages go to syslog from
/// now on; with `-nosyslog` the caller asked to keep them on stderr, as gocryptfs does.
pub(super) fn detach_from_terminal(keep_stderr: bool) {
    let _ = rustix::process::setsid();
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        if !keep_stderr {
            let _ = rustix::stdio::dup2_stderr(&null);
        }
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
