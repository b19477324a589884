//! Work that gets its own thread when the system gives one, and runs on the caller's
//! thread when it does not (a tight `ulimit -u`, a cgroup's `pids.max`): slower, but
//! never a panic. `std::thread::spawn` and rayon's global pool panic on refusal.

use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A piece of work, running on its own thread or already done.
pub enum Task<T> {
    Thread(JoinHandle<T>),
    Done(T),
}

impl<T> Task<T> {
    /// The work's result; an error only if its thread panicked.
    pub fn join(self) -> std::thread::Result<T> {
        match self {
            Task::Thread(handle) => handle.join(),
            Task::Done(value) => Ok(value),
        }
    }
}

/// Runs `work` on a new thread, or here and now if the system refuses one.
pub fn spawn_or_run<T, F>(work: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    // `Builder::spawn` drops the closure when it fails, so the work is shared with the
    // thread's closure rather than moved into it, to be taken back on refusal.
    let shared = Arc::new(Mutex::new(Some(work)));
    let theirs = Arc::clone(&shared);
    let spawned = std::thread::Builder::new().spawn(move || take(&theirs)());
    match spawned {
        Ok(handle) => Task::Thread(handle),
        Err(_) => Task::Done(take(&shared)()),
    }
}

/// The pool for data-parallel work, or None if the system refused its threads: the
/// callers then run sequentially. Rayon's global pool would panic instead, inside a
/// FUSE request, taking the mount and the write with it. Built once; a refusal is not
/// retried, since sequential work is only slower.
pub fn parallel_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().thread_name(|i| format!("parallel-{i}")).build().ok()).as_ref()
}

/// How many more threads this process could start now, up to `wanted`. For libraries
/// that start several threads at once and fail whole when one is refused (the FUSE
/// session): asked for no more than this, they start.
pub fn available(wanted: usize) -> usize {
    let before = live_threads();
    let gate = Arc::new(RwLock::new(()));
    let closed = gate.write().unwrap_or_else(|e| e.into_inner());
    let probes: Vec<_> = (0..wanted)
        .map_while(|_| {
            let gate = Arc::clone(&gate);
            std::thread::Builder::new().spawn(move || drop(gate.read())).ok()
        })
        .collect();
    let started = probes.len();
    drop(closed);
    for probe in probes {
        let _ = probe.join();
    }
    // A joined thread still counts against the limits until the kernel reaps it, a
    // moment after `join` returns; starting the real threads before that would fail.
    let deadline = Instant::now() + Duration::from_secs(1);
    while live_threads().zip(before).is_some_and(|(now, before)| now > before) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    started
}

/// This process's threads as the kernel counts them.
fn live_threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:"))?.trim().parse().ok()
}

/// The work, taken once: by the thread if it started, else by the caller.
fn take<F>(shared: &Mutex<Option<F>>) -> F {
    shared.lock().unwrap_or_else(|e| e.into_inner()).take().expect("the thread and the caller never both run it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_no_limit_every_wanted_thread_is_available() {
        assert_eq!(available(8), 8);
        assert!(live_threads().is_some_and(|n| n >= 1));
    }

    #[test]
    fn the_work_runs_once_and_gives_its_result() {
        let task = spawn_or_run(|| 6 * 7);
        assert_eq!(task.join().unwrap(), 42);
    }
}
