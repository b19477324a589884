//! vaultfs mounted for real (FUSE), checked against the real gocryptfs in both
//! directions, against the shared test vectors, and on bad input.

mod common;

use common::{TempDir, armorbox, is_mounted, memory_at_exit, occurrences, require, run, stderr, stdout, unmount_fuse};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSWORD: &str = "vault pässword";

struct Mount {
    plain: PathBuf,
}

impl Drop for Mount {
    fn drop(&mut self) {
        unmount_fuse(&self.plain);
    }
}

/// A scratch area: `cipher/`, `plain/` and a password file.
struct Work {
    dir: TempDir,
}

impl Work {
    fn new() -> Self {
        require("fusermount3");
        let dir = TempDir::new().unwrap();
        for sub in ["cipher", "plain"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
        Work { dir }
    }
    fn cipher(&self) -> PathBuf {
        self.dir.path().join("cipher")
    }
    fn plain(&self) -> PathBuf {
        self.dir.path().join("plain")
    }
    fn passfile(&self) -> PathBuf {
        self.dir.path().join("pw")
    }

    fn vaultfs(&self, args: &[&str]) -> Output {
        run(Command::new(armorbox()).arg("vaultfs").args(args))
    }

    fn init(&self) {
        let out = self.vaultfs(&[
            "-q",
            "-init",
            "-scryptn=10",
            "-passfile",
            self.passfile().to_str().unwrap(),
            self.cipher().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "vaultfs -init: {}", stderr(&out));
    }

    /// Mounts with vaultfs (background mode: returns once ready).
    fn mount(&self, extra: &[&str]) -> Mount {
        let passfile = self.passfile();
        let mut args = vec!["-q"];
        // gocryptfs refuses a -passfile beside a -masterkey.
        if !extra.iter().any(|a| a.starts_with("-masterkey")) {
            args.extend(["-passfile", passfile.to_str().unwrap()]);
        }
        args.extend_from_slice(extra);
        let (cipher, plain) = (self.cipher(), self.plain());
        args.extend([cipher.to_str().unwrap(), plain.to_str().unwrap()]);
        let out = self.vaultfs(&args);
        assert!(out.status.success(), "vaultfs mount: {}", stderr(&out));
        assert!(is_mounted(&plain), "vaultfs said ready but {} is not mounted", plain.display());
        Mount { plain }
    }

    fn mount_gocryptfs(&self) -> Mount {
        require("gocryptfs");
        let out = run(Command::new("gocryptfs")
            .arg("-q")
            .arg("-passfile")
            .arg(self.passfile())
            .arg(self.cipher())
            .arg(self.plain()));
        assert!(out.status.success(), "gocryptfs mount: {}", stderr(&out));
        Mount { plain: self.plain() }
    }
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 + i / 4096) as u8).collect()
}

/// Writes the tree both directions check: long and unicode names, symlinks, modes,
/// a sparse file, a hard link, an xattr, an empty file and a multi-block file.
fn write_tree(root: &Path) {
    fs::write(root.join("data.csv"), "id,value\n1,42\n").unwrap();
    fs::write(root.join("empty"), "").unwrap();
    fs::write(root.join(format!("long_{}", "ü".repeat(110))), "long name").unwrap();
    fs::create_dir_all(root.join("deep/er ✓")).unwrap();
    fs::write(root.join("deep/er ✓/big.bin"), sample(300_000)).unwrap();
    symlink("deep/er ✓/big.bin", root.join("link")).unwrap();
    symlink("/absolute/target", root.join("abs")).unwrap();
    fs::write(root.join("script.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(root.join("script.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    let sparse = fs::OpenOptions::new().write(true).create(true).truncate(true).open(root.join("sparse")).unwrap();
    sparse.set_len(10 * 4096 + 5).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&sparse, b"middle", 5 * 4096).unwrap();
    fs::hard_link(root.join("data.csv"), root.join("hardlink.csv")).unwrap();
    rustix::fs::setxattr(root.join("data.csv"), "user.origin", b"lab 7", rustix::fs::XattrFlags::empty()).unwrap();
}

fn check_tree(root: &Path) {
    assert_eq!(fs::read(root.join("data.csv")).unwrap(), b"id,value\n1,42\n");
    assert_eq!(fs::read(root.join("empty")).unwrap(), b"");
    assert_eq!(fs::read(root.join(format!("long_{}", "ü".repeat(110)))).unwrap(), b"long name");
    assert_eq!(fs::read(root.join("deep/er ✓/big.bin")).unwrap(), sample(300_000));
    assert_eq!(fs::read_link(root.join("link")).unwrap(), Path::new("deep/er ✓/big.bin"));
    assert_eq!(fs::read_link(root.join("abs")).unwrap(), Path::new("/absolute/target"));
    assert_eq!(fs::metadata(root.join("script.sh")).unwrap().permissions().mode() & 0o777, 0o750);
    let sparse = fs::read(root.join("sparse")).unwrap();
    assert_eq!(sparse.len(), 10 * 4096 + 5);
    assert_eq!(&sparse[5 * 4096..5 * 4096 + 6], b"middle");
    assert!(sparse[..5 * 4096].iter().all(|&b| b == 0));
    let (a, b) = (fs::metadata(root.join("data.csv")).unwrap(), fs::metadata(root.join("hardlink.csv")).unwrap());
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.nlink(), 2);
    let mut value = [0u8; 64];
    let n = rustix::fs::getxattr(root.join("data.csv"), "user.origin", &mut value[..]).unwrap();
    assert_eq!(&value[..n], b"lab 7");
    let mut names: Vec<String> =
        fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names.len(), 9, "{names:?}");
}

#[test]
fn gocryptfs_reads_what_vaultfs_wrote() {
    let w = Work::new();
    w.init();
    {
        let _m = w.mount(&[]);
        write_tree(&w.plain());
        check_tree(&w.plain());
    }
    let _m = w.mount_gocryptfs();
    check_tree(&w.plain());
}

#[test]
fn vaultfs_reads_what_gocryptfs_wrote() {
    require("gocryptfs");
    let w = Work::new();
    let out = run(Command::new("gocryptfs")
        .args(["-q", "-init", "-scryptn=10", "-passfile"])
        .arg(w.passfile())
        .arg(w.cipher()));
    assert!(out.status.success(), "{}", stderr(&out));
    {
        let _m = w.mount_gocryptfs();
        write_tree(&w.plain());
    }
    let _m = w.mount(&[]);
    check_tree(&w.plain());
}

#[test]
fn the_two_take_turns_on_one_directory() {
    let w = Work::new();
    w.init();
    for round in 0..3 {
        {
            let _m = w.mount(&[]);
            fs::write(w.plain().join(format!("from-vaultfs-{round}")), format!("v{round}")).unwrap();
            for r in 0..round {
                assert_eq!(fs::read_to_string(w.plain().join(format!("from-gocryptfs-{r}"))).unwrap(), format!("g{r}"));
            }
        }
        let _m = w.mount_gocryptfs();
        fs::write(w.plain().join(format!("from-gocryptfs-{round}")), format!("g{round}")).unwrap();
        assert_eq!(fs::read_to_string(w.plain().join(format!("from-vaultfs-{round}"))).unwrap(), format!("v{round}"));
    }
}

/// Copies a test-vector directory, turning the vectors' link files back into symlinks.
fn copy_vector(name: &str, to: &Path) {
    let from =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors/gocryptfs/example_filesystems").join(name);
    let out = run(Command::new("cp").arg("-r").arg(format!("{}/.", from.display())).arg(to));
    assert!(out.status.success());
    run(Command::new("chmod").arg("-R").arg("u+w").arg(to));
    for entry in fs::read_dir(to).unwrap() {
        let entry = entry.unwrap();
        let len = entry.metadata().unwrap().len();
        let name = entry.file_name().into_string().unwrap();
        // Encrypted symlink targets are base64 text of 54..67 characters; file content
        // starts with the binary header 00 02.
        let bytes = fs::read(entry.path()).unwrap_or_default();
        let is_link_text =
            !name.starts_with("gocryptfs.") && (50..100).contains(&len) && bytes.iter().all(|b| b.is_ascii_graphic());
        if is_link_text || (name.len() < 20 && ["abs", "rel"].contains(&name.as_str())) {
            let target = String::from_utf8(bytes).unwrap();
            fs::remove_file(entry.path()).unwrap();
            symlink(target, entry.path()).unwrap();
        }
    }
}

#[test]
fn every_test_vector_mounts_by_password_and_by_master_key() {
    let cases: [(&str, &str, &[&str]); 8] = [
        (
            "v0.7",
            "ed7f6d83-40cce86c-0e7d79c2-a9438710-575221bf-30a0eb60-2821fa8f-7f3123bf",
            &["-raw64=false", "-hkdf=false"],
        ),
        (
            "v0.7-plaintextnames",
            "6d96397b-585631e1-c7cba69d-61e738b6-4d5ad2c2-e21f0fb3-52f60d3a-b08526f7",
            &["-plaintextnames", "-raw64=false", "-hkdf=false"],
        ),
        (
            "v0.9",
            "1cafe3f4-bc316466-2214c47c-ecd89bf3-4e078fe4-f5faeea7-8b7cab02-884f5e1c",
            &["-raw64=false", "-hkdf=false"],
        ),
        (
            "v1.1-aessiv",
            "eaf371c3-f9a55336-8819f22b-7bccd7c2-a738cf61-7261c658-14c28a03-9428992b",
            &["-aessiv", "-raw64=false", "-hkdf=false"],
        ),
        ("v1.3", "fd890dab-86bf61cf-ec5ad460-ad3ed01f-9c52d546-2a31783d-a56b088d-3d05232e", &[]),
        (
            "v2.2-deterministic-names",
            "722733f5-b0f399f5-5465ad7a-f0bed125-e82de7b4-045e7608-a5e5c78e-04a1a61e",
            &["-deterministic-names"],
        ),
        ("v2.2-xchacha", "44670e7e-32475bfc-bdfb8a8c-be17a767-0679cac0-be705d8c-af41c411-28c40f26", &["-xchacha"]),
        (
            "v2.2-xchacha-deterministic-names",
            "beba88a9-c6cd1dc0-b69c6f9d-9daea493-9ae87082-4ffc40bf-b44e52db-3933af39",
            &["-xchacha", "-deterministic-names"],
        ),
    ];
    for (name, key, key_flags) in cases {
        let w = Work::new();
        copy_vector(name, &w.cipher());
        fs::write(w.passfile(), "test\n").unwrap();
        let masterkey = format!("-masterkey={key}");
        let mut by_key: Vec<&str> = key_flags.to_vec();
        by_key.push(&masterkey);
        for extra in [&[][..], &by_key[..]] {
            let _m = w.mount(extra);
            let p = w.plain();
            let status = fs::read(p.join("status.txt")).unwrap_or_else(|e| {
                let listing: Vec<_> =
                    fs::read_dir(&p).map(|d| d.map(|e| e.unwrap().file_name()).collect()).unwrap_or_default();
                let cipher: Vec<_> = fs::read_dir(w.cipher()).unwrap().map(|e| e.unwrap().file_name()).collect();
                panic!("{name} {extra:?}: {e}; plain: {listing:?}; cipher: {cipher:?}")
            });
            assert_eq!(status, b"It works!\n", "{name} {extra:?}");
            assert_eq!(fs::read_link(p.join("rel")).unwrap(), Path::new("status.txt"), "{name}");
            assert_eq!(fs::read_link(p.join("abs")).unwrap(), Path::new("/a/b/c/d"), "{name}");
            if !name.starts_with("v0.7") {
                assert_eq!(
                    fs::read(p.join(format!("longname_255_{}", "x".repeat(242)))).unwrap(),
                    b"It works!\n",
                    "{name}"
                );
            }
            // Read-write: create, rename and remove work on old formats too.
            fs::write(p.join("new file"), "n").unwrap();
            fs::rename(p.join("new file"), p.join("renamed")).unwrap();
            fs::create_dir(p.join("d")).unwrap();
            fs::remove_dir(p.join("d")).unwrap();
            fs::remove_file(p.join("renamed")).unwrap();
        }
    }
}

#[test]
fn deprecated_formats_refuse_to_mount_with_exit_27() {
    for name in ["v0.4", "v0.5", "v0.6", "v0.6-plaintextnames"] {
        let w = Work::new();
        copy_vector(name, &w.cipher());
        fs::write(w.passfile(), "test\n").unwrap();
        let out = w.vaultfs(&[
            "-passfile",
            w.passfile().to_str().unwrap(),
            w.cipher().to_str().unwrap(),
            w.plain().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(27), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("deprecated"), "{}", stderr(&out));
    }
}

#[test]
fn bad_input_gets_gocryptfs_exit_codes_and_clear_messages() {
    let w = Work::new();
    w.init();
    let (c, p) = (w.cipher(), w.plain());
    let (c, p) = (c.to_str().unwrap(), p.to_str().unwrap());
    fs::write(w.dir.path().join("wrong"), "nope\n").unwrap();
    let wrong = w.dir.path().join("wrong");
    let out = w.vaultfs(&["-passfile", wrong.to_str().unwrap(), c, p]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert!(stderr(&out).contains("Password incorrect."));

    fs::write(w.plain().join("occupied"), "x").unwrap();
    let out = w.vaultfs(&["-passfile", w.passfile().to_str().unwrap(), c, p]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(stderr(&out).contains("not empty"));
    fs::remove_file(w.plain().join("occupied")).unwrap();

    let out = w.vaultfs(&["-passfile", w.passfile().to_str().unwrap(), "/nonexistent/cipher", p]);
    assert_eq!(out.status.code(), Some(6));
    let out = w.vaultfs(&["-bogusflag", c, p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("-bogusflag"));
    let out = w.vaultfs(&["-acl", c, p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not support yet"), "{}", stderr(&out));
    let empty = w.dir.path().join("empty-pw");
    fs::write(&empty, "\n").unwrap();
    let out = w.vaultfs(&["-passfile", empty.to_str().unwrap(), c, p]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));

    // A corrupt config: exit 8 and a message that says so.
    let conf = w.cipher().join("gocryptfs.conf");
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(&conf, "{ not json").unwrap();
    let out = w.vaultfs(&["-passfile", w.passfile().to_str().unwrap(), c, p]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("corrupt"));
}

#[test]
fn a_tampered_block_gives_eio_for_that_block_only() {
    let w = Work::new();
    w.init();
    {
        let _m = w.mount(&[]);
        fs::write(w.plain().join("victim"), sample(5 * 4096)).unwrap();
    }
    // Flip one byte inside the third block of the only regular file.
    let file = fs::read_dir(w.cipher())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| fs::metadata(p).unwrap().len() > 20_000)
        .unwrap();
    let mut bytes = fs::read(&file).unwrap();
    bytes[18 + 2 * 4128 + 100] ^= 0x40;
    fs::write(&file, bytes).unwrap();
    let _m = w.mount(&[]);
    let f = fs::File::open(w.plain().join("victim")).unwrap();
    let mut block = vec![0u8; 4096];
    use std::os::unix::fs::FileExt;
    f.read_exact_at(&mut block, 0).unwrap();
    assert_eq!(block, sample(5 * 4096)[..4096]);
    let err = f.read_exact_at(&mut block, 2 * 4096).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO expected, got {err}");
    f.read_exact_at(&mut block, 4 * 4096).unwrap();
    assert_eq!(block, sample(5 * 4096)[4 * 4096..]);
}

#[test]
fn fsck_reports_damage_with_exit_26_and_passes_a_clean_tree() {
    let w = Work::new();
    w.init();
    {
        let _m = w.mount(&[]);
        write_tree(&w.plain());
    }
    let fsck = || w.vaultfs(&["-fsck", "-passfile", w.passfile().to_str().unwrap(), w.cipher().to_str().unwrap()]);
    let out = fsck();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("no problems found"));

    // A file larger than one read of -fsck (256 blocks): damage far into it is found
    // and named by its block number.
    {
        let _m = w.mount(&[]);
        fs::write(w.plain().join("big.bin"), sample(3 << 20)).unwrap();
    }
    use std::os::unix::fs::FileExt;
    let big = fs::read_dir(w.cipher())
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| fs::symlink_metadata(p).unwrap().len())
        .unwrap();
    let f = fs::OpenOptions::new().write(true).open(&big).unwrap();
    f.write_all_at(&[0xFF; 4], 18 + 600 * 4128 + 100).unwrap();
    let out = fsck();
    assert_eq!(out.status.code(), Some(26), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("block 600 is corrupt"), "{}", stderr(&out));

    let broken = Work::new();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors/gocryptfs/fsck/broken_fs_v1.4");
    run(Command::new("cp").arg("-r").arg(format!("{}/.", from.display())).arg(broken.cipher()));
    fs::write(broken.passfile(), "test\n").unwrap();
    let out =
        broken.vaultfs(&["-fsck", "-passfile", broken.passfile().to_str().unwrap(), broken.cipher().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(26), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("problems"));
}

#[test]
fn passwd_changes_the_password_and_info_shows_the_config() {
    let w = Work::new();
    w.init();
    let new = w.dir.path().join("new-pw");
    fs::write(&new, "new secret\n").unwrap();
    // Old and new password on two lines of stdin (not a terminal), as gocryptfs 2.3
    // reads them (a -passfile would give both).
    let out = run(Command::new("sh").arg("-c").arg(format!(
        "{{ head -n1 {}; printf 'new secret\\n'; }} | {} vaultfs -q -passwd {}",
        w.passfile().display(),
        armorbox().display(),
        w.cipher().display()
    )));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.vaultfs(&[
        "-passfile",
        w.passfile().to_str().unwrap(),
        w.cipher().to_str().unwrap(),
        w.plain().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(12), "the old password no longer works");
    let _m = {
        let out = w.vaultfs(&[
            "-q",
            "-passfile",
            new.to_str().unwrap(),
            w.cipher().to_str().unwrap(),
            w.plain().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        Mount { plain: w.plain() }
    };
    let info = w.vaultfs(&["-info", w.cipher().to_str().unwrap()]);
    assert!(
        stdout(&info).contains("FeatureFlags:      HKDF GCMIV128 DirIV EMENames LongNames Raw64"),
        "{}",
        stdout(&info)
    );
    assert!(stdout(&info).contains("contentEncryption: AES-GCM-256"));
}

#[test]
fn sigterm_unmounts_cleanly() {
    let w = Work::new();
    w.init();
    let mut child = Command::new(armorbox())
        .args(["vaultfs", "-q", "-fg", "-passfile"])
        .arg(w.passfile())
        .arg(w.cipher())
        .arg(w.plain())
        .spawn()
        .unwrap();
    common::wait_for("the mount", std::time::Duration::from_secs(10), || {
        fs::read_to_string("/proc/self/mounts").unwrap().contains(w.plain().to_str().unwrap()).then_some(())
    });
    fs::write(w.plain().join("f"), "data").unwrap();
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!fs::read_to_string("/proc/self/mounts").unwrap().contains(w.plain().to_str().unwrap()));
    assert!(fs::read_dir(w.plain()).unwrap().next().is_none(), "mountpoint is empty again");
}

/// The master key as the real gocryptfs tools read it from the config with the password.
fn master_key(w: &Work) -> Vec<u8> {
    require("gocryptfs-xray");
    let out = run(Command::new("sh")
        .arg("-c")
        .arg("gocryptfs-xray -dumpmasterkey \"$1/gocryptfs.conf\" < \"$2\"")
        .args(["sh", w.cipher().to_str().unwrap(), w.passfile().to_str().unwrap()]));
    assert!(out.status.success(), "gocryptfs-xray -dumpmasterkey: {}", stderr(&out));
    let hex = stdout(&out).trim().to_string();
    assert_eq!(hex.len(), 64, "{hex}");
    (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// At the moment vaultfs exits, neither the password nor the master key nor the keys
/// derived from it (content, names) is anywhere in its memory: after -init, and after a
/// foreground mount that wrote and read a file and was unmounted from outside.
#[test]
fn no_password_or_key_is_left_in_memory_when_vaultfs_exits() {
    let w = Work::new();
    let (pw, cipher, plain) = (w.passfile(), w.cipher(), w.plain());
    let (pw, cipher, plain) = (pw.to_str().unwrap(), cipher.to_str().unwrap(), plain.to_str().unwrap());
    let init = ["vaultfs", "-q", "-init", "-scryptn=10", "-passfile", pw, cipher];
    let runs: [(&[&str], bool); 2] =
        [(&init, false), (&["vaultfs", "-q", "-fg", "-passfile", pw, cipher, plain], true)];
    for (args, mounts) in runs {
        let (memory, status) = memory_at_exit(args, w.dir.path(), || {
            if mounts {
                assert!(wait_mounted(&w.plain(), true), "{args:?}: no mount");
                fs::write(w.plain().join("f"), sample(100_000)).unwrap();
                assert_eq!(fs::read(w.plain().join("f")).unwrap(), sample(100_000));
                unmount_fuse(&w.plain());
            }
        });
        assert_eq!(status, 0, "{args:?} under gdb");
        // The control: the scan sees the process's memory, its arguments included.
        assert!(occurrences(&memory, cipher.as_bytes()) > 0, "{args:?}: the core does not hold the process's memory");
        let key = master_key(&w);
        let derived = |info: &str| {
            let mut out = [0u8; 32];
            hkdf::Hkdf::<sha2::Sha256>::new(None, &key).expand(info.as_bytes(), &mut out).unwrap();
            out.to_vec()
        };
        let secrets = [
            ("password", PASSWORD.as_bytes().to_vec()),
            ("master key", key[..16].to_vec()),
            ("content key", derived("AES-GCM file content encryption")[..16].to_vec()),
            ("name key", derived("EME filename encryption")[..16].to_vec()),
        ];
        for (what, secret) in secrets {
            let found = occurrences(&memory, &secret);
            assert_eq!(found, 0, "vaultfs {args:?}: the {what} is left in memory {found} times");
        }
    }
}

/// Regression: a daemon whose filesystem was unmounted from outside must not unmount
/// again by path, which took down a new mount made there meanwhile (fuser does that;
/// vaultfs mounts by itself).
#[test]
fn an_immediate_remount_is_not_taken_down_by_the_previous_daemon() {
    let w = Work::new();
    w.init();
    for round in 0..8 {
        {
            let _m = w.mount(&[]);
            fs::write(w.plain().join(format!("r{round}")), "x").unwrap();
        }
        let _m = w.mount(&[]);
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(is_mounted(&w.plain()), "round {round}: the new mount vanished");
        assert!(w.plain().join(format!("r{round}")).exists());
    }
}

/// Waits until `path` is (or is no longer) a mount point.
fn wait_mounted(path: &Path, mounted: bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(10) {
        if is_mounted(path) == mounted {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// Runs `vaultfs …` from a short-lived shell, as a batch script would.
fn mount_from_script(w: &Work, env: &[(&str, &str)], extra: &str) -> Output {
    let script = format!(
        "{} vaultfs -q {extra} -passfile {} {} {} && echo mounted > {}/state",
        armorbox().display(),
        w.passfile().display(),
        w.cipher().display(),
        w.plain().display(),
        w.dir.path().display()
    );
    run(Command::new("sh").arg("-c").arg(script).envs(env.iter().copied()))
}

#[test]
fn inside_a_slurm_job_the_mount_ends_with_the_script_that_made_it() {
    let w = Work::new();
    w.init();
    let out = mount_from_script(&w, &[("SLURM_JOB_ID", "4242")], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(w.dir.path().join("state")).unwrap(), "mounted\n");
    // The shell has exited: vaultfs unmounts by itself.
    assert!(wait_mounted(&w.plain(), false), "still mounted after the script ended");
}

#[test]
fn outside_slurm_the_mount_stays_unless_asked_and_the_flag_works_both_ways() {
    let w = Work::new();
    w.init();
    let out = mount_from_script(&w, &[], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let _m = Mount { plain: w.plain() };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(is_mounted(&w.plain()), "gocryptfs behaviour by default outside a job");
    drop(_m);
    assert!(wait_mounted(&w.plain(), false));

    let out = mount_from_script(&w, &[], "-unmount-on-exit");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(wait_mounted(&w.plain(), false), "-unmount-on-exit did not unmount");

    let out = mount_from_script(&w, &[("SLURM_JOB_ID", "1")], "-unmount-on-exit=false");
    assert!(out.status.success(), "{}", stderr(&out));
    let _m = Mount { plain: w.plain() };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(is_mounted(&w.plain()), "-unmount-on-exit=false keeps it in a job");
}

#[test]
fn two_sharedstorage_mounts_of_one_directory_stay_coherent() {
    let w = Work::new();
    w.init();
    let second = w.dir.path().join("plain2");
    fs::create_dir(&second).unwrap();
    let _a = w.mount(&["-sharedstorage"]);
    let out = w.vaultfs(&[
        "-q",
        "-sharedstorage",
        "-passfile",
        w.passfile().to_str().unwrap(),
        w.cipher().to_str().unwrap(),
        second.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let _b = Mount { plain: second.clone() };
    let (a, b) = (w.plain(), second);
    fs::write(a.join("f"), "one").unwrap();
    assert_eq!(fs::read_to_string(b.join("f")).unwrap(), "one");
    fs::write(b.join("f"), "two, longer").unwrap();
    assert_eq!(fs::read_to_string(a.join("f")).unwrap(), "two, longer");
    assert_eq!(fs::metadata(a.join("f")).unwrap().len(), 11, "size seen at once on the other mount");
    fs::rename(a.join("f"), a.join("g")).unwrap();
    assert!(!b.join("f").exists());
    assert_eq!(fs::read_to_string(b.join("g")).unwrap(), "two, longer");
    // Inode numbers are the same on both mounts and stable.
    assert_eq!(fs::metadata(a.join("g")).unwrap().ino(), fs::metadata(b.join("g")).unwrap().ino());
    fs::create_dir(b.join("d")).unwrap();
    fs::write(a.join("d/inner"), "x").unwrap();
    fs::remove_file(b.join("d/inner")).unwrap();
    fs::remove_dir(a.join("d")).unwrap();
    assert!(!b.join("d").exists());
}

#[test]
fn idle_unmounts_after_the_given_time_but_not_while_a_file_is_open() {
    let w = Work::new();
    w.init();
    let m = w.mount(&["-idle=1s"]);
    fs::write(w.plain().join("f"), "x").unwrap();
    let open = fs::File::open(w.plain().join("f")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(is_mounted(&w.plain()), "unmounted while a file was open");
    drop(open);
    assert!(wait_mounted(&w.plain(), false), "-idle=1s never unmounted");
    std::mem::forget(m);
}

#[test]
fn force_owner_shows_every_file_with_the_given_owner() {
    let w = Work::new();
    w.init();
    let _m = w.mount(&["-force_owner=4321:8765"]);
    fs::write(w.plain().join("f"), "x").unwrap();
    for path in [w.plain().join("f"), w.plain()] {
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4321, 8765), "{}", path.display());
    }
    // Stored with the real owner: only the view changes.
    let stored = fs::read_dir(w.cipher())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.ends_with("gocryptfs.conf") && !p.ends_with("gocryptfs.diriv"))
        .unwrap();
    assert_eq!(fs::metadata(stored).unwrap().uid(), 0);
    let bad =
        w.vaultfs(&["-force_owner=alice", w.cipher().to_str().unwrap(), w.dir.path().join("x").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
}

/// Sends one request to a control socket and returns the JSON answer.
fn ask_ctlsock(socket: &Path, request: &str) -> serde_json::Value {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
}

#[test]
fn ctlsock_answers_like_gocryptfs() {
    let w = Work::new();
    w.init();
    let long = format!("long-{}", "z".repeat(190));
    let socket = w.dir.path().join("ctl.sock");
    let ours = {
        let _m = w.mount(&["-ctlsock", socket.to_str().unwrap()]);
        fs::create_dir(w.plain().join("dir")).unwrap();
        fs::write(w.plain().join("dir/file.txt"), "x").unwrap();
        fs::write(w.plain().join(&long), "y").unwrap();
        let mut answers = Vec::new();
        for path in ["dir/file.txt", long.as_str(), "dir"] {
            let reply = ask_ctlsock(&socket, &format!("{{\"EncryptPath\":\"{path}\"}}"));
            assert_eq!(reply["ErrNo"], 0, "{reply}");
            let cipher = reply["Result"].as_str().unwrap().to_string();
            assert!(w.cipher().join(&cipher).exists(), "{cipher} is not in the cipher dir");
            let back = ask_ctlsock(&socket, &format!("{{\"DecryptPath\":\"{cipher}\"}}"));
            assert_eq!(back["Result"], path, "{back}");
            answers.push(cipher);
        }
        // gocryptfs answers a request it refuses before any path lookup with ErrNo -1.
        let bad = ask_ctlsock(&socket, "{\"EncryptPath\":\"a\",\"DecryptPath\":\"b\"}");
        assert_eq!(bad["ErrNo"], -1);
        assert_eq!(bad["ErrText"], "Ambiguous");
        // A non-canonical path is answered for its canonical form, with a warning.
        let odd = ask_ctlsock(&socket, "{\"EncryptPath\":\"/dir//file.txt/\"}");
        assert_eq!(odd["Result"], answers[0], "{odd}");
        assert!(odd["WarnText"].as_str().unwrap().contains("Non-canonical"), "{odd}");
        answers
    };
    common::wait_for("the socket to go at unmount", std::time::Duration::from_secs(5), || {
        (!socket.exists()).then_some(())
    });
    // The real gocryptfs gives the same answers on the same directory.
    require("gocryptfs");
    let out = run(Command::new("gocryptfs")
        .args(["-q", "-ctlsock"])
        .arg(&socket)
        .arg("-passfile")
        .arg(w.passfile())
        .arg(w.cipher())
        .arg(w.plain()));
    assert!(out.status.success(), "{}", stderr(&out));
    let _m = Mount { plain: w.plain() };
    for (path, ours) in ["dir/file.txt", long.as_str(), "dir"].iter().zip(&ours) {
        let theirs = ask_ctlsock(&socket, &format!("{{\"EncryptPath\":\"{path}\"}}"));
        assert_eq!(theirs["Result"].as_str().unwrap(), ours, "gocryptfs disagrees on {path}");
    }
}
