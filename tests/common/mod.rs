//! Helpers shared by the integration tests: the binary under test, temporary
//! directories, required tools, and a real terminal driven through tmux.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use tempfile::TempDir;

/// The binary under test: the shipped static one when `make test` names it, else the
/// one cargo built for this test run.
pub fn armorbox() -> PathBuf {
    match std::env::var_os("ARMORBOX_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_BIN_EXE_armorbox")),
    }
}

/// The static binary `make` builds: what users download. Tests that are about the shipped
/// artefact itself use it even under a plain `cargo test`.
pub fn shipped_armorbox() -> PathBuf {
    let path = match std::env::var_os("ARMORBOX_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/x86_64-unknown-linux-musl/release/armorbox"))
        }
    };
    assert!(path.exists(), "{} is missing: build it with `make`", path.display());
    path
}

/// Copies an executable with `cp`, not `fs::copy`: a write descriptor open in this
/// multithreaded test process would leak into children other tests fork meanwhile, and
/// exec'ing the copy would then fail with "Text file busy".
pub fn copy_executable(from: &Path, to: &Path) {
    let ok = Command::new("cp").arg(from).arg(to).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "cannot copy {} to {}", from.display(), to.display());
}

/// Fails the test, with both outputs, unless the command succeeded.
pub fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed ({:?}):\n{}\n{}", out.status.code(), stdout(out), stderr(out));
}

/// Fails the test (never skips it) when a tool the test needs is missing.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool} || test -x /usr/sbin/{tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(found, "this test needs `{tool}`: run tests/setup/prepare.sh (make test does)");
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `armorbox ARGS` in `dir` under gdb, stopped as it exits, and returns its whole
/// memory at that moment (the core file gcore writes of it) and its exit status.
/// `meanwhile` runs while the program does (to use a mount and unmount it, say).
pub fn memory_at_exit(args: &[&str], dir: &Path, meanwhile: impl FnOnce()) -> (Vec<u8>, u64) {
    require("gdb");
    let core = dir.join("memory.core");
    let _ = std::fs::remove_file(&core);
    let gdb = Command::new("gdb")
        .args(["-q", "-batch", "-ex", "set pagination off", "-ex", "catch syscall exit_group", "-ex", "run"])
        // exit_group's argument, the status.
        .args(["-ex", "printf \"status=%d\\n\", $rdi", "-ex"])
        .arg(format!("gcore {}", core.display()))
        .args(["-ex", "kill", "--args"])
        .arg(armorbox())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start gdb");
    meanwhile();
    let out = gdb.wait_with_output().expect("gdb");
    let printed = stdout(&out);
    let status = printed.lines().find_map(|l| l.strip_prefix("status=")).and_then(|s| s.trim().parse().ok());
    let memory =
        std::fs::read(&core).unwrap_or_else(|e| panic!("gdb wrote no core ({e}):\n{printed}\n{}", stderr(&out)));
    (memory, status.unwrap_or_else(|| panic!("no exit status from gdb:\n{printed}")))
}

pub fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Polls until `ready` returns something, or fails the test after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut ready: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a file that a shell writes with `echo … > file`: it exists (empty) a moment
/// before its line is in, so only a complete line counts.
pub fn wait_for_line(path: &Path) -> String {
    wait_for(&format!("a line in {}", path.display()), Duration::from_secs(15), || {
        std::fs::read_to_string(path).ok().filter(|s| s.ends_with('\n'))
    })
}

/// Whether `path` is a mount point now.
pub fn is_mounted(path: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let path = path.to_str().unwrap().trim_end_matches('/');
    mounts.lines().any(|l| l.split(' ').nth(1) == Some(path))
}

/// Unmounts a FUSE mount, retrying while the kernel still releases a file a test just
/// closed (EBUSY for a moment); says so if it never works.
pub fn unmount_fuse(path: &Path) {
    for _ in 0..100 {
        let done =
            Command::new("fusermount3").arg("-u").arg(path).output().map(|o| o.status.success()).unwrap_or(false);
        if done || !is_mounted(path) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("could not unmount {}", path.display());
}

/// Single-quotes a string for sh.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn shell_path(p: &Path) -> String {
    shell_quote(&p.to_string_lossy())
}

/// A real terminal: a tmux pane on a private tmux server, so a program under test
/// gets a genuine pseudo-terminal as its controlling terminal, keys are typed as a
/// person types them, and the screen is read back as a person would see it.
pub struct Pane {
    socket: String,
    dir: TempDir,
    /// Where `run_recorded` keeps its files (the pane's own dir holds the socket).
    recording: Option<TempDir>,
}

impl Pane {
    /// Starts `shell_command` (run by sh) in a new 100x30 pane.
    pub fn start(shell_command: &str) -> Pane {
        require("tmux");
        let dir = TempDir::new().unwrap();
        // A private server whose socket lives (and dies) with the temporary directory.
        let socket = dir.path().join("tmux.sock").to_string_lossy().into_owned();
        let pane = Pane { socket, dir, recording: None };
        let status = pane
            .tmux()
            .args(["new-session", "-d", "-x", "100", "-y", "30", "sh", "-c", shell_command])
            .status()
            .expect("cannot start tmux");
        assert!(status.success(), "tmux new-session failed");
        pane
    }

    /// Runs `command` (sh syntax) in a pane, recording around it what tests check:
    /// `stty.before`, `out` (its stdout), `err`, `rc`, `stty.after`, in `self.dir`.
    pub fn run_recorded(command: &str) -> Pane {
        let dir = TempDir::new().unwrap();
        let d = shell_path(dir.path());
        let script = format!(
            "cd {d} && stty -g > stty.before; {command} > out 2> err; echo $? > rc.tmp; \
             stty -g > stty.after; mv rc.tmp rc; exec sleep 600"
        );
        let mut pane = Pane::start(&script);
        pane.recording = Some(dir);
        pane
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-S", &self.socket, "-f", "/dev/null"]);
        cmd
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let ok = self.tmux().args(["send-keys", "-l", text]).status().unwrap().success();
        assert!(ok, "tmux send-keys failed");
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Presses named keys: "Enter", "BSpace", "C-u", "C-c", …
    pub fn press(&self, keys: &[&str]) {
        let ok = self.tmux().arg("send-keys").args(keys).status().unwrap().success();
        assert!(ok, "tmux send-keys failed");
        std::thread::sleep(Duration::from_millis(100));
    }

    /// The visible screen, trailing blank lines dropped.
    pub fn screen(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Waits until the screen shows `needle` and returns the screen. Lines come back
    /// without trailing blanks, so a needle should not end in one.
    pub fn wait_screen(&self, needle: &str) -> String {
        let mut last = String::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            last = self.screen();
            if last.contains(needle) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("screen never showed {needle:?}; it shows:\n{last}");
    }

    /// The line of the screen holding `needle`.
    pub fn line_with(&self, needle: &str) -> String {
        let screen = self.wait_screen(needle);
        screen.lines().find(|l| l.contains(needle)).unwrap_or_default().trim_end().to_string()
    }

    /// The pane terminal's current settings (`stty -g`), read from outside.
    pub fn terminal_settings(&self) -> Vec<u8> {
        let tty = self.tmux().args(["display-message", "-p", "#{pane_tty}"]).output().unwrap();
        let tty = String::from_utf8_lossy(&tty.stdout).trim().to_string();
        let out = Command::new("stty").args(["-g", "-F", &tty]).output().unwrap();
        assert!(out.status.success(), "stty -F {tty} failed");
        out.stdout
    }

    /// A file the recorded command wrote.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        let dir = self.recording.as_ref().unwrap_or(&self.dir);
        std::fs::read(dir.path().join(name)).ok()
    }

    /// Waits for the recorded command to end; returns its exit status.
    pub fn exit_code(&self) -> i32 {
        let rc = wait_for("the command in the pane to end", Duration::from_secs(15), || self.file("rc"));
        String::from_utf8_lossy(&rc).trim().parse().expect("rc file holds a number")
    }

    pub fn output(&self) -> Vec<u8> {
        self.file("out").unwrap_or_default()
    }

    /// True when the terminal settings after the command equal those before it.
    pub fn terminal_mode_restored(&self) -> bool {
        let before = self.file("stty.before").expect("stty.before");
        let after = self.file("stty.after").expect("stty.after");
        !before.is_empty() && before == after
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
    }
}

/// A Debian 11 guest booted by tests/vm/start.sh (qemu, TCG), stopped on drop.
pub fn vm_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm").join(name)
}

pub struct Guest {
    pub work: TempDir,
}

impl Guest {
    pub fn boot() -> Guest {
        for tool in ["qemu-system-x86_64", "qemu-img", "debootstrap", "ssh"] {
            require(tool);
        }
        let work = TempDir::new().unwrap();
        let out = run(Command::new(vm_script("start.sh")).arg(work.path()));
        assert!(out.status.success(), "the Debian 11 guest did not boot:\n{}{}", stdout(&out), stderr(&out));
        Guest { work }
    }

    pub fn ssh(&self, user: &str, command: &str) -> Output {
        run(Command::new(vm_script("ssh.sh")).arg(self.work.path()).arg(user).arg(command))
    }

    pub fn ssh_with_input(&self, user: &str, command: &str, input: &Path) -> Output {
        let file = std::fs::File::open(input).unwrap();
        run(Command::new(vm_script("ssh.sh")).arg(self.work.path()).arg(user).arg(command).stdin(Stdio::from(file)))
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = Command::new(vm_script("stop.sh")).arg(self.work.path()).status();
    }
}

/// How many threads the user `uid` runs (what RLIMIT_NPROC counts).
pub fn tasks_of_uid(uid: u32) -> usize {
    let uid_line = format!("Uid:\t{uid}\t");
    let tasks =
        std::fs::read_dir("/proc").unwrap().flatten().filter_map(|p| std::fs::read_dir(p.path().join("task")).ok());
    tasks
        .flatten()
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("status")).is_ok_and(|s| s.contains(&uid_line)))
        .count()
}

/// A FUSE mount point, unmounted when dropped: a failing test unmounts too.
pub struct FuseMount {
    pub point: PathBuf,
}

impl Drop for FuseMount {
    fn drop(&mut self) {
        unmount_fuse(&self.point);
    }
}

/// The three filesystems that tests compare side by side, each in its own directory of
/// one scratch area: a plain directory on the host filesystem (the reference), a mount
/// of the real gocryptfs on a directory gocryptfs created, and a vaultfs mount on a
/// directory vaultfs created. `extra` flags go to both mounts.
pub struct SideBySide {
    // Declared first so that the mounts go before the scratch area is deleted.
    mounts: Vec<FuseMount>,
    pub work: TempDir,
}

impl SideBySide {
    pub const PASSWORD: &'static str = "side by side";

    pub fn new(extra: &[&str]) -> SideBySide {
        require("fusermount3");
        require("gocryptfs");
        let work = TempDir::new().unwrap();
        let w = work.path();
        for dir in ["plain", "gocryptfs.cipher", "gocryptfs", "vaultfs.cipher", "vaultfs"] {
            std::fs::create_dir(w.join(dir)).unwrap();
        }
        std::fs::write(w.join("pw"), format!("{}\n", Self::PASSWORD)).unwrap();
        let init = run(Command::new("gocryptfs")
            .args(["-q", "-init", "-scryptn", "10", "-passfile"])
            .arg(w.join("pw"))
            .arg(w.join("gocryptfs.cipher")));
        ok(&init, "gocryptfs -init");
        let init = run(Command::new(armorbox())
            .args(["vaultfs", "-q", "-init", "-scryptn=10", "-passfile"])
            .arg(w.join("pw"))
            .arg(w.join("vaultfs.cipher")));
        ok(&init, "vaultfs -init");
        let mut this = SideBySide { mounts: Vec::new(), work };
        this.mounts.push(this.mount("gocryptfs", "gocryptfs", extra));
        this.mounts.push(this.mount("vaultfs", "vaultfs", extra));
        this
    }

    /// Mounts `<name>.cipher` on `point` (relative to the scratch area) with `program`
    /// ("gocryptfs" or "vaultfs"); a second mount of one directory is allowed.
    pub fn mount(&self, program: &str, point: &str, extra: &[&str]) -> FuseMount {
        let w = self.work.path();
        let point = w.join(point);
        let mut cmd = if program == "vaultfs" {
            let mut cmd = Command::new(armorbox());
            cmd.arg("vaultfs");
            cmd
        } else {
            Command::new("gocryptfs")
        };
        cmd.args(["-q", "-passfile"]).arg(w.join("pw")).args(extra);
        let out = run(cmd.arg(w.join(format!("{program}.cipher"))).arg(&point));
        ok(&out, &format!("mounting with {program}"));
        assert!(is_mounted(&point), "{program} said ready but {} is not mounted", point.display());
        FuseMount { point }
    }

    /// (name, root) of the reference directory, the gocryptfs mount and the vaultfs mount.
    pub fn targets(&self) -> [(&'static str, PathBuf); 3] {
        let w = self.work.path();
        [("plain", w.join("plain")), ("gocryptfs", w.join("gocryptfs")), ("vaultfs", w.join("vaultfs"))]
    }
}
