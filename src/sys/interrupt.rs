//! Leaving nothing half-written behind when a command is interrupted. Commands that
//! write temporary files register them here; SIGINT, SIGTERM (what Slurm sends at a
//! job's time limit or on scancel) and SIGHUP are caught on a thread that deletes every
//! registered path and exits with 128 + the signal, as the default action would.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

/// Registered paths by ticket: registering and dropping stay cheap with thousands of
/// staged files.
static PATHS: Mutex<(u64, BTreeMap<u64, PathBuf>)> = Mutex::new((0, BTreeMap::new()));
static INSTALL: Once = Once::new();

/// Starts catching the signals (once per process); until then they kill as usual.
///
/// The signals are registered on the thread that waits for them, once it runs: if the
/// system refuses that thread, they keep their default action (the process dies, and
/// what it was writing stays under its temporary name) rather than being caught with
/// nobody to act on them.
pub fn remove_registered_on_signal() -> std::io::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        let (installed, outcome) = std::sync::mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
            let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
                Ok(signals) => signals,
                Err(e) => return drop(installed.send(Err(e))),
            };
            let _ = installed.send(Ok(()));
            if let Some(signal) = signals.forever().next() {
                let paths = PATHS.lock().unwrap_or_else(|e| e.into_inner());
                for path in paths.1.values() {
                    let _ = std::fs::remove_file(path);
                }
                std::process::exit(128 + signal);
            }
        });
        if spawned.is_ok() {
            result = outcome.recv().unwrap_or(Ok(()));
        }
    });
    result
}

/// A path deleted if a signal arrives while this lives.
pub struct Registered(u64);

/// Creates a file with `create` and registers its path, both under the lock the signal
/// thread holds from its first deletion to the exit: a signal then finds the file either
/// registered or not yet created, never created and unregistered (where it would be
/// left behind).
pub fn create_registered<T: AsRef<Path>>(
    create: impl FnOnce() -> std::io::Result<T>,
) -> std::io::Result<(T, Registered)> {
    let mut paths = PATHS.lock().unwrap_or_else(|e| e.into_inner());
    let created = create()?;
    let ticket = paths.0;
    paths.0 += 1;
    paths.1.insert(ticket, created.as_ref().to_path_buf());
    Ok((created, Registered(ticket)))
}

impl Drop for Registered {
    fn drop(&mut self) {
        PATHS.lock().unwrap_or_else(|e| e.into_inner()).1.remove(&self.0);
    }
}
