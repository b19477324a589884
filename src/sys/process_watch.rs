//! Waiting for another process to end (not our child): a pidfd becomes readable when it
//! exits. Kernels before 5.3 have no pidfd; there we look every half second.

use rustix::event::{PollFd, PollFlags, poll};
use rustix::process::{Pid, PidfdFlags};
use std::io;
use std::time::Duration;

/// Blocks until `pid` has exited.
pub fn wait_for_exit(pid: Pid) -> io::Result<()> {
    match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(pidfd) => loop {
            let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
            match poll(&mut fds, None) {
                Ok(_) if !fds[0].revents().is_empty() => return Ok(()),
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        },
        Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(_) => {
            while rustix::process::test_kill_process(pid).is_ok() {
                std::thread::sleep(Duration::from_millis(500));
            }
            Ok(())
        }
    }
}
