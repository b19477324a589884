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
pub fn remove_registered_on_signal() -> std::io::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    let paths = PATHS.lock().unwrap_or_else(|e| e.into_inner());
                    for path in paths.1.values() {
                        let _ = std::fs::remove_file(path);
                    }
                    std::process::exit(128 + signal);
                }
            });
        }
        Err(e) => result = Err(e),
    });
    result
}

/// A path deleted if a signal arrives while this lives.
pub struct Registered(u64);

pub fn register(path: &Path) -> Registered {
    let mut paths = PATHS.lock().unwrap_or_else(|e| e.into_inner());
    let ticket = paths.0;
    paths.0 += 1;
    paths.1.insert(ticket, path.to_path_buf());
    Registered(ticket)
}

impl Drop for Registered {
    fn drop(&mut self) {
        PATHS.lock().unwrap_or_else(|e| e.into_inner()).1.remove(&self.0);
    }
}
