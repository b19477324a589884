//! What a bug or a hostile user can reach through a real vaultfs mount: a user who owns
//! the cipher directory swapping a directory for a symbolic link while root serves the
//! mount with -allow_other, and a request that panics inside the daemon.

mod common;

use common::{TempDir, armorbox, is_mounted, ok, require, run, stderr, unmount_fuse, wait_for};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        unmount_fuse(&self.0);
    }
}

fn init(cipher: &Path, passfile: &Path) {
    let out = run(Command::new(armorbox())
        .args(["vaultfs", "-q", "-init", "-scryptn=10", "-passfile"])
        .arg(passfile)
        .arg(cipher));
    ok(&out, "vaultfs -init");
}

fn mount(cipher: &Path, plain: &Path, passfile: &Path, extra: &[&str]) -> Mounted {
    let out = run(Command::new(armorbox())
        .args(["vaultfs", "-q", "-passfile"])
        .arg(passfile)
        .args(extra)
        .arg(cipher)
        .arg(plain));
    ok(&out, "vaultfs mount");
    assert!(is_mounted(plain));
    Mounted(plain.to_path_buf())
}

/// Every entry below `dir`: name -> (mode, uid, gid, content or link target).
fn snapshot(dir: &Path) -> BTreeMap<String, (u32, u32, u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let meta = fs::symlink_metadata(dir).unwrap();
    out.insert(".".into(), (meta.mode(), meta.uid(), meta.gid(), Vec::new()));
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let content = if meta.is_file() {
            fs::read(entry.path()).unwrap()
        } else if meta.file_type().is_symlink() {
            fs::read_link(entry.path()).unwrap().into_os_string().into_encoded_bytes()
        } else {
            Vec::new()
        };
        out.insert(entry.file_name().to_string_lossy().into_owned(), (meta.mode(), meta.uid(), meta.gid(), content));
    }
    out
}

/// The cipher names in `dir` other than gocryptfs's own files.
fn cipher_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "gocryptfs.diriv" && n != "gocryptfs.conf")
        .collect()
}

/// Root serves the mount with -allow_other; "nobody" owns the cipher directory. While
/// a shell of nobody's sits in a directory of the mount (so the kernel keeps that
/// directory without asking again), nobody swaps the directory's cipher twin for a
/// symbolic link to a root-owned directory that looks like a cipher directory (same IV
/// file, same encrypted names: the worst case), then works on the files through the
/// mount. Nothing in the root-owned directory may change: not with the daemon's
/// directory handles warm, and not after a removal has emptied them (cold).
#[test]
fn a_cipher_directory_swapped_for_a_symlink_leads_nowhere_outside() {
    require("runuser");
    require("python3");
    for cold in [false, true] {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path();
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
        let (cipher, plain, outside) = (root.join("cipher"), root.join("plain"), root.join("outside"));
        for dir in [&cipher, &plain, &outside] {
            fs::create_dir(dir).unwrap();
        }
        fs::write(root.join("pw"), "pw\n").unwrap();
        init(&cipher, &root.join("pw"));
        ok(&run(Command::new("chown").args(["-R", "nobody"]).arg(&cipher)), "chown");
        let signals = root.join("signals");
        fs::create_dir(&signals).unwrap();
        for dir in [&plain, &signals] {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
        }
        let _mounted = mount(&cipher, &plain, &root.join("pw"), &["-allow_other"]);
        let as_nobody = |script: &str| {
            run(Command::new("runuser").args(["-u", "nobody", "--", "sh", "-c", script]).current_dir(root))
        };
        ok(&as_nobody("mkdir plain/dir && echo secret > plain/dir/file && chmod 644 plain/dir/file"), "setup");

        // The root-owned look-alike: the swapped directory's IV and its file's name.
        let twin = cipher.join(&cipher_names(&cipher)[0]);
        let file_name = cipher_names(&twin)[0].clone();
        fs::copy(twin.join("gocryptfs.diriv"), outside.join("gocryptfs.diriv")).unwrap();
        fs::write(outside.join(&file_name), "untouched").unwrap();
        fs::set_permissions(outside.join(&file_name), fs::Permissions::from_mode(0o644)).unwrap();
        let before = snapshot(&outside);

        let empty_cache = if cold { "mkdir ../x && rmdir ../x;" } else { "" };
        let script = format!(
            "cd plain/dir || exit 1; touch ../../signals/in-place; while [ ! -e ../../signals/swapped ]; do sleep 0.02; done; {empty_cache} \
             chmod 777 file; chown nobody file; truncate -s 0 file; echo overwritten >> file; cat file; \
             python3 -c 'import os; os.setxattr(\"file\", \"user.x\", b\"1\")'; touch planted; mkdir planted-dir; \
             ln file hard; mv file moved; rm -f moved file; exit 0"
        );
        let mut worker = Command::new("runuser")
            .args(["-u", "nobody", "--", "sh", "-c", &script])
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the worker to sit in the directory", Duration::from_secs(10), || {
            signals.join("in-place").exists().then_some(())
        });
        let moved = cipher.join("moved-away");
        ok(
            &as_nobody(&format!(
                "mv {} {} && ln -s {} {}",
                twin.display(),
                moved.display(),
                outside.display(),
                twin.display()
            )),
            "swap",
        );
        fs::write(signals.join("swapped"), "").unwrap();
        assert!(worker.wait().unwrap().success());

        assert_eq!(snapshot(&outside), before, "cold cache: {cold}");
        assert!(is_mounted(&plain), "the mount survived (cold cache: {cold})");
    }
}

/// A request that panics (the test-only fault switch names a file whose lookup
/// panics) is answered with EIO and logged; the mount, its other files and a file
/// held open meanwhile keep working.
#[test]
fn a_panicking_request_costs_that_request_only() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    let (cipher, plain) = (root.join("cipher"), root.join("plain"));
    fs::create_dir(&cipher).unwrap();
    fs::create_dir(&plain).unwrap();
    fs::write(root.join("pw"), "pw\n").unwrap();
    init(&cipher, &root.join("pw"));
    let log = fs::File::create(root.join("daemon.log")).unwrap();
    let mut daemon = Command::new(armorbox())
        .args(["vaultfs", "-fg", "-nosyslog", "-passfile"])
        .arg(root.join("pw"))
        .arg(&cipher)
        .arg(&plain)
        .env(armorbox::vaultfs::FAULT_PANIC_NAME, "boom")
        .stderr(log)
        .spawn()
        .unwrap();
    let _mounted = Mounted(plain.clone());
    wait_for("the mount", Duration::from_secs(10), || is_mounted(&plain).then_some(()));
    fs::write(plain.join("kept-open"), "before").unwrap();
    let mut held = fs::OpenOptions::new().append(true).open(plain.join("kept-open")).unwrap();

    let err = fs::metadata(plain.join("boom")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO for the panicking request: {err}");

    std::io::Write::write_all(&mut held, b" and after").unwrap();
    drop(held);
    assert_eq!(fs::read_to_string(plain.join("kept-open")).unwrap(), "before and after");
    fs::write(plain.join("new"), "works").unwrap();
    assert_eq!(fs::read_to_string(plain.join("new")).unwrap(), "works");
    assert!(is_mounted(&plain));
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon is still running");
    let logged = fs::read_to_string(root.join("daemon.log")).unwrap();
    assert!(logged.contains("internal error"), "the panic is logged: {logged}");
    let _ = stderr;
}
