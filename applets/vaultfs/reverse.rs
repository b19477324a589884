//! `-reverse`: the encrypted view of a plaintext directory (src/vaultfs/reverse). The
//! mount follows the forward one (mount.rs) step for step; only the filesystem, its
//! control socket and the read-only mount differ.

use super::mount;
use super::options::{EXCLUDE_ERROR, Options};
use super::unlock::open_volume;
use armorbox::exit::{AppletResult, Failure};
use armorbox::gocryptfs::{ContentAlgorithm, exit_code};
use armorbox::sys::{fuse_mount, log};
use armorbox::vaultfs::ctlsock;
use armorbox::vaultfs::reverse::{CONFIG_NAME, Excluder, ReverseFs, ReverseSettings};
use fuser::SessionACL;
use rustix::process::Pid;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the reverse config lives unless `-config` says otherwise.
pub fn default_config_path(plain_dir: &Path) -> PathBuf {
    plain_dir.join(CONFIG_NAME)
}

fn excluder(options: &Options) -> Result<Excluder, Failure> {
    let r = &options.reverse;
    let from: Vec<&Path> = r.exclude_from.iter().map(PathBuf::as_path).collect();
    Excluder::new(&r.exclude, &r.exclude_wildcard, &from).map_err(|e| Failure::new(EXCLUDE_ERROR, e.0))
}

/// Mounts the reverse view of `plain_dir` (canonical) at `mountpoint` and serves it
/// until it is unmounted. Called in the foreground process (or the background child).
pub fn serve(
    options: &Options,
    invoked_as: &str,
    plain_dir: &Path,
    mountpoint: &Path,
    daemon_child: bool,
    waiting_parent: Option<Pid>,
    caller: Option<Pid>,
) -> AppletResult {
    let mountpoint = std::fs::canonicalize(mountpoint).map_err(|e| {
        Failure::new(exit_code::MOUNTPOINT, format!("invalid mountpoint {}: {e}", mountpoint.display()))
    })?;
    // Compared as text, as gocryptfs does: a view of "/" may be mounted anywhere.
    let inside = format!("{}/", plain_dir.display());
    if mountpoint.display().to_string().starts_with(&inside) {
        return Err(Failure::new(
            exit_code::MOUNTPOINT,
            format!(
                "Mountpoint {} is contained in the plaintext directory {}: the view would encrypt itself",
                mountpoint.display(),
                plain_dir.display()
            ),
        ));
    }
    let excluder = excluder(options)?;
    let volume = Arc::new(open_volume(options, plain_dir)?);
    if volume.format.content != ContentAlgorithm::AesSiv {
        return Err(Failure::usage("AES-SIV is required by reverse mode, but not enabled in the config file"));
    }
    let settings = ReverseSettings {
        plain_dir: plain_dir.to_path_buf(),
        config_custom: options.config.is_some(),
        excluder,
        one_file_system: options.reverse.one_file_system,
        force_owner: options.mount.force_owner,
        debug: options.debug,
    };
    let allow_other = options.mount.allow_other;
    let fs = ReverseFs::new(Arc::clone(&volume), settings)
        .map_err(|e| Failure::new(exit_code::CIPHERDIR, format!("invalid cipherdir {}: {e}", plain_dir.display())))?;
    let control_socket = mount::bind_control_socket(options)?;
    let config = mount::session_config(options, mount::helper_threads(options, &control_socket, None, caller))?;
    let mut request = mount::mount_request(options, plain_dir, &mountpoint);
    // Always read-only: the kernel answers EROFS to every change.
    request.read_only = true;
    request.subtype = "gocryptfs-reverse".into();
    let fuse_fd = fuse_mount::mount(&request).map_err(mount::fuse_failure)?;
    let acl = if allow_other { SessionACL::All } else { SessionACL::Owner };
    let paths: Arc<dyn ctlsock::PathMap> = Arc::new(fs.path_map());
    let started = (|| {
        // No forward socket and no -idle (gocryptfs ignores it in reverse mode): the
        // reverse socket is started here.
        let signals =
            mount::start_helpers(options, &mountpoint, &volume, plain_dir, &None, None, Arc::default(), caller)?;
        if let Some((listener, _)) = &control_socket {
            let listener = listener.try_clone().map_err(mount::ctlsock_failure)?;
            mount::spawn("ctlsock", move || ctlsock::serve_map(listener, paths))?;
        }
        let session = fuser::Session::from_fd(fs, fuse_fd, acl, config).map_err(mount::fuse_failure)?;
        Ok::<_, Failure>((signals, session))
    })();
    let (signals, session) = started.inspect_err(|_| {
        let _ = fuse_mount::unmount(&mountpoint, false);
    })?;
    for pid in options.notify_pid.into_iter().chain(waiting_parent) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::USR1);
    }
    if !options.quiet && !daemon_child {
        eprintln!("Filesystem mounted and ready.");
    }
    if daemon_child {
        mount::detach_from_terminal(options.no_syslog);
        if !options.no_syslog {
            log::switch_to_syslog(invoked_as);
        }
    }
    let result = session.run();
    signals.close();
    if let Some((_, path)) = control_socket {
        let _ = std::fs::remove_file(path);
    }
    result.map_err(|e| Failure::new(exit_code::FUSE_SERVER, format!("FUSE session ended with an error: {e}")))
}
