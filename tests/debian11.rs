//! The shipped binary on a bare Debian 11: a debootstrap'd bullseye root (minbase,
//! nothing else installed; built and cached by tests/setup/bullseye-root.sh) entered
//! with chroot. Also checks the binary is static, so nothing in that root is used.

mod common;

use common::{Pane, TempDir, copy_executable, run, shell_path, shipped_armorbox, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The cached root, built by `tests/setup/prepare.sh`.
fn bullseye_root() -> PathBuf {
    let out = run(&mut Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/setup/bullseye-root.sh")));
    assert!(out.status.success(), "cannot build the Debian 11 root: {}", stderr(&out));
    let root = PathBuf::from(stdout(&out).trim());
    let version = std::fs::read_to_string(root.join("etc/debian_version")).unwrap();
    assert!(version.starts_with("11."), "not Debian 11: {version}");
    root
}

/// The binary copied into a private directory of the root, removed afterwards.
struct InstalledInRoot {
    root: PathBuf,
    dir: TempDir,
}

impl InstalledInRoot {
    fn new() -> Self {
        let root = bullseye_root();
        let dir = TempDir::new_in(root.join("opt")).unwrap();
        copy_executable(&shipped_armorbox(), &dir.path().join("armorbox"));
        InstalledInRoot { root, dir }
    }

    /// The path of a file in the private directory as seen inside the root.
    fn inside(&self, name: &str) -> PathBuf {
        Path::new("/").join(self.dir.path().strip_prefix(&self.root).unwrap()).join(name)
    }

    fn chroot(&self, program: &str) -> Command {
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.root).arg(self.inside(program)).env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }
}

fn program_headers(elf: &[u8]) -> Vec<u32> {
    let word = |at: usize, n: usize| elf[at..at + n].iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64);
    let (phoff, phentsize, phnum) = (word(0x20, 8) as usize, word(0x36, 2) as usize, word(0x38, 2) as usize);
    (0..phnum).map(|i| word(phoff + i * phentsize, 4) as u32).collect()
}

#[test]
fn shipped_binary_is_a_static_pie_with_no_interpreter() {
    let bin = shipped_armorbox();
    let elf = std::fs::read(&bin).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(elf[4], 2, "64-bit");
    const ET_DYN: u8 = 3;
    const PT_INTERP: u32 = 3;
    const PT_DYNAMIC: u32 = 2;
    assert_eq!(elf[0x10], ET_DYN, "{} is not position-independent", bin.display());
    let headers = program_headers(&elf);
    assert!(
        !headers.contains(&PT_INTERP),
        "{} needs a dynamic loader: test the static binary (make test sets ARMORBOX_BIN)",
        bin.display()
    );
    assert!(headers.contains(&PT_DYNAMIC), "static-pie keeps a DYNAMIC segment for self-relocation");
}

#[test]
fn runs_on_bare_debian_11_and_installs_its_links_there() {
    let installed = InstalledInRoot::new();
    let out = run(installed.chroot("armorbox").arg("--version"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("armorbox "));

    let links = installed.inside("bin");
    std::fs::create_dir(installed.dir.path().join("bin")).unwrap();
    let out = run(installed.chroot("armorbox").arg("--install").arg("-s").arg(&links));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let mut child = installed
        .chroot("bin/mask-passwd")
        .arg("--stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all("bullseye ✓\n".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "bullseye ✓\n");
}

#[test]
fn masked_prompt_works_on_a_terminal_inside_debian_11() {
    let installed = InstalledInRoot::new();
    let command =
        format!("chroot {} {} mask-passwd", shell_path(&installed.root), shell_path(&installed.inside("armorbox")));
    let pane = Pane::run_recorded(&command);
    pane.wait_screen("Password:");
    pane.type_text("on bullseye");
    assert_eq!(pane.line_with("Password:"), "Password: ***********");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0, "{}", String::from_utf8_lossy(&pane.file("err").unwrap()));
    assert_eq!(pane.output(), b"on bullseye\n");
    assert!(pane.terminal_mode_restored());
}

#[test]
fn vaultfs_without_dev_fuse_says_so_with_exit_19() {
    // The bare root has no /dev/fuse, as a container or a node without the module.
    let installed = InstalledInRoot::new();
    for dir in ["cipher", "plain"] {
        std::fs::create_dir(installed.dir.path().join(dir)).unwrap();
    }
    std::fs::write(installed.dir.path().join("pw"), "pw\n").unwrap();
    let (pw, cipher, plain) = (installed.inside("pw"), installed.inside("cipher"), installed.inside("plain"));
    let init = run(installed
        .chroot("armorbox")
        .args(["vaultfs", "-q", "-init", "-scryptn=10", "-passfile"])
        .arg(&pw)
        .arg(&cipher));
    assert!(init.status.success(), "{}", stderr(&init));
    let out = run(installed.chroot("armorbox").args(["vaultfs", "-passfile"]).arg(&pw).arg(&cipher).arg(&plain));
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    assert!(stderr(&out).contains("/dev/fuse is missing"), "{}", stderr(&out));
}
