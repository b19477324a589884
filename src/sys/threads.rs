//! Work that gets its own thread when the system gives one, and runs on the caller's
//! thread when it does not (a tight `ulimit -u`, a cgroup's `pids.max`): slower, but
//! never a panic. `std::thread::spawn` panics on refusal.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

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

/// The work, taken once: by the thread if it started, else by the caller.
fn take<F>(shared: &Mutex<Option<F>>) -> F {
    shared.lock().unwrap_or_else(|e| e.into_inner()).take().expect("the thread and the caller never both run it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_runs_once_and_gives_its_result() {
        let task = spawn_or_run(|| 6 * 7);
        assert_eq!(task.join().unwrap(), 42);
    }
}
