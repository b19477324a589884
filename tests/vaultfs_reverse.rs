//! `vaultfs -reverse` against the real `gocryptfs -reverse`, through real FUSE mounts:
//! the two views of one plaintext tree must be the same bytes (names, types, sizes,
//! modes, inode numbers, link targets, contents, virtual files), whichever program
//! created the config; an rsync of vaultfs's view mounts forward with gocryptfs and
//! gives the plaintext back, and a second rsync copies only what changed.

mod common;

use common::{TempDir, require, run, stderr, stdout};
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "reverse pässword";

fn vaultfs() -> Command {
    let mut cmd = Command::new(common::armorbox());
    cmd.arg("vaultfs");
    cmd
}

/// A FUSE mount (either program's), unmounted on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        common::unmount_fuse(&self.0);
    }
}

fn mount(mut cmd: Command, what: &str, mountpoint: &Path) -> Mount {
    fs::create_dir_all(mountpoint).unwrap();
    let out = run(&mut cmd);
    assert!(out.status.success(), "{what} failed: {}", stderr(&out));
    Mount(mountpoint.to_path_buf())
}

struct Case {
    _tmp: TempDir,
    root: PathBuf,
    plain: PathBuf,
    passfile: PathBuf,
}

impl Case {
    /// A plaintext tree with every kind of name, file size and object, and its
    /// reverse config made by `creator` ("vaultfs" or "gocryptfs").
    fn new(creator: &str, plaintext_names: bool) -> Case {
        require("gocryptfs");
        require("fusermount3");
        let tmp = TempDir::new().unwrap();
        let root = tmp.path().to_path_buf();
        let plain = root.join("plain");
        build_tree(&plain);
        let passfile = root.join("passfile");
        fs::write(&passfile, format!("{PASSWORD}\n")).unwrap();
        let mut init = if creator == "vaultfs" { vaultfs() } else { Command::new("gocryptfs") };
        init.args(["-q", "-init", "-reverse", "-scryptn=10", "-passfile"]).arg(&passfile);
        if plaintext_names {
            init.arg("-plaintextnames");
        }
        let out = run(init.arg(&plain));
        assert!(out.status.success(), "{creator} -init -reverse: {}", stderr(&out));
        assert!(plain.join(".gocryptfs.reverse.conf").exists());
        Case { _tmp: tmp, root, plain, passfile }
    }

    fn mount_vaultfs(&self, name: &str, extra: &[&str]) -> Mount {
        let mut cmd = vaultfs();
        cmd.args(["-q", "-reverse", "-passfile"]).arg(&self.passfile).args(extra).arg(&self.plain);
        cmd.arg(self.root.join(name));
        mount(cmd, "vaultfs -reverse", &self.root.join(name))
    }

    fn mount_gocryptfs(&self, name: &str, extra: &[&str]) -> Mount {
        let mut cmd = Command::new("gocryptfs");
        cmd.args(["-q", "-reverse", "-passfile"]).arg(&self.passfile).args(extra).arg(&self.plain);
        cmd.arg(self.root.join(name));
        mount(cmd, "gocryptfs -reverse", &self.root.join(name))
    }
}

fn write_sized(path: &Path, len: usize) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4096) as u8).collect();
    fs::write(path, bytes).unwrap();
}

fn build_tree(plain: &Path) {
    let deep = plain.join("dir_a/nested/deeper");
    fs::create_dir_all(&deep).unwrap();
    fs::create_dir_all(plain.join("ünïcødé ✓ dir")).unwrap();
    fs::write(plain.join("ünïcødé ✓ dir/naïve.txt"), "déjà vu\n").unwrap();
    for len in [0, 1, 4095, 4096, 4097] {
        write_sized(&plain.join(format!("size_{len}")), len);
    }
    write_sized(&plain.join("dir_a/big"), 3 * 1024 * 1024 + 123);
    fs::write(deep.join("leaf"), "leaf\n").unwrap();
    fs::write(plain.join("dir_a/secret.tmp"), "scratch\n").unwrap();
    fs::write(plain.join("dir_a/nested/private"), "private\n").unwrap();
    // 255 bytes: the longest name, hashed into gocryptfs.longname.* with a .name file.
    fs::write(plain.join("L".repeat(255)), "long name\n").unwrap();
    fs::create_dir(plain.join(format!("d{}", "é".repeat(100)))).unwrap();
    fs::write(plain.join(format!("d{}/inside", "é".repeat(100))), "in a long dir\n").unwrap();
    symlink("size_1", plain.join("rel_link")).unwrap();
    symlink("/etc/hostname", plain.join("dir_a/abs_link")).unwrap();
    symlink("x".repeat(300), plain.join("long_target_link")).unwrap();
    // Sparse: a hole, some data, a hole up to 6 MB.
    let mut sparse = fs::File::create(plain.join("sparse")).unwrap();
    sparse.seek(SeekFrom::Start(2 * 1024 * 1024)).unwrap();
    sparse.write_all(b"data in the middle").unwrap();
    sparse.set_len(6 * 1024 * 1024).unwrap();
}

/// Compares two trees entry by entry; `inodes` also compares inode numbers.
fn compare_views(a: &Path, b: &Path, inodes: bool) {
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    let (na, nb) = (names(a), names(b));
    assert_eq!(na, nb, "listings of {} and {}", a.display(), b.display());
    for name in na {
        let (pa, pb) = (a.join(&name), b.join(&name));
        let (ma, mb) = (fs::symlink_metadata(&pa).unwrap(), fs::symlink_metadata(&pb).unwrap());
        let what = pa.display();
        assert_eq!(ma.file_type(), mb.file_type(), "type of {what}");
        assert_eq!(ma.len(), mb.len(), "size of {what}");
        assert_eq!(ma.mode(), mb.mode(), "mode of {what}");
        assert_eq!(ma.nlink(), mb.nlink(), "links of {what}");
        if inodes {
            assert_eq!(ma.ino(), mb.ino(), "inode number of {what}");
        }
        if ma.file_type().is_symlink() {
            assert_eq!(fs::read_link(&pa).unwrap(), fs::read_link(&pb).unwrap(), "target of {what}");
        } else if ma.is_dir() {
            compare_views(&pa, &pb, inodes);
        } else {
            let (ca, cb) = (fs::read(&pa).unwrap(), fs::read(&pb).unwrap());
            assert_eq!(ca.len() as u64, ma.len(), "bytes read of {what}");
            assert!(ca == cb, "content of {what}");
        }
    }
}

/// The plaintext as a forward mount shows it equals the original (less the reverse
/// config, which the view shows as gocryptfs.conf, and the excluded paths).
fn compare_plain(original: &Path, restored: &Path, excluded: &[&str], rel: &str) {
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    let expected: Vec<String> = names(original)
        .into_iter()
        .filter(|n| !(rel.is_empty() && n == ".gocryptfs.reverse.conf"))
        .filter(|n| !excluded.contains(&format!("{rel}{n}").as_str()))
        .collect();
    assert_eq!(names(restored), expected, "restored listing of {rel}");
    for name in expected {
        let (po, pr) = (original.join(&name), restored.join(&name));
        let mo = fs::symlink_metadata(&po).unwrap();
        let mr = fs::symlink_metadata(&pr).unwrap();
        assert_eq!(mo.file_type(), mr.file_type(), "{rel}{name}");
        if mo.file_type().is_symlink() {
            assert_eq!(fs::read_link(&po).unwrap(), fs::read_link(&pr).unwrap(), "{rel}{name}");
        } else if mo.is_dir() {
            compare_plain(&po, &pr, excluded, &format!("{rel}{name}/"));
        } else {
            assert!(fs::read(&po).unwrap() == fs::read(&pr).unwrap(), "content of {rel}{name}");
            assert_eq!(mo.mode() & 0o7777, mr.mode() & 0o7777, "mode of {rel}{name}");
        }
    }
}

const EXCLUDED: [&str; 3] = ["dir_a/secret.tmp", "dir_a/nested/private", "size_4095"];

fn exclusion_flags(case: &Case) -> Vec<String> {
    let from = case.root.join("patterns");
    fs::write(&from, "# comment\nsize_4095\n").unwrap();
    vec![
        "-e".into(),
        "dir_a/nested/private".into(),
        "-ew".into(),
        "*.tmp".into(),
        "-exclude-from".into(),
        from.display().to_string(),
    ]
}

fn views_match(creator: &str, plaintext_names: bool) {
    let case = Case::new(creator, plaintext_names);
    for excluding in [false, true] {
        let flags = if excluding { exclusion_flags(&case) } else { Vec::new() };
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let ours = case.mount_vaultfs("view_vaultfs", &flags);
        let theirs = case.mount_gocryptfs("view_gocryptfs", &flags);
        compare_views(&ours.0, &theirs.0, true);
        if !plaintext_names {
            let top = fs::read_dir(&ours.0).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
            assert!(top.iter().any(|n| n == "gocryptfs.diriv"), "virtual diriv listed");
            assert!(top.iter().any(|n| n.to_string_lossy().ends_with(".name")), "virtual .name listed");
        }
        assert!(ours.0.join("gocryptfs.conf").exists());
        if excluding {
            round_trip(&case, &ours.0, &EXCLUDED);
        }
    }
}

/// rsync the view out, mount the copy forward with the real gocryptfs, compare; then
/// a second rsync after touching one file transfers that file only.
fn round_trip(case: &Case, view: &Path, excluded: &[&str]) {
    require("rsync");
    let copy = case.root.join("copy");
    let rsync = |extra: &[&str]| {
        let out = run(Command::new("rsync")
            .args(["-a", "--stats"])
            .args(extra)
            .arg(format!("{}/", view.display()))
            .arg(&copy));
        assert!(out.status.success(), "rsync: {}", stderr(&out));
        stdout(&out)
    };
    rsync(&[]);
    {
        let forward = case.root.join("forward");
        let mut cmd = Command::new("gocryptfs");
        cmd.args(["-q", "-passfile"]).arg(&case.passfile).arg(&copy).arg(&forward);
        let forward = mount(cmd, "gocryptfs forward mount of the copy", &forward);
        compare_plain(&case.plain, &forward.0, excluded, "");
    }
    // Only the touched file differs: rsync's quick check sends that one alone.
    let touched = case.plain.join("dir_a/nested/deeper/leaf");
    let later = fs::metadata(&touched).unwrap().mtime() + 100;
    let out = run(Command::new("touch").arg("-d").arg(format!("@{later}")).arg(&touched));
    assert!(out.status.success());
    std::thread::sleep(std::time::Duration::from_millis(1100)); // the kernel's attribute cache
    let stats = rsync(&[]);
    let sent = stats.lines().find(|l| l.starts_with("Number of regular files transferred")).unwrap_or("");
    assert!(sent.ends_with(": 1"), "expected exactly one file sent, got: {stats}");
}

#[test]
fn views_match_gocryptfs_with_a_vaultfs_config() {
    views_match("vaultfs", false);
}

#[test]
fn views_match_gocryptfs_with_a_gocryptfs_config() {
    views_match("gocryptfs", false);
}

#[test]
fn plaintext_names_views_match_gocryptfs_with_either_config() {
    views_match("vaultfs", true);
    views_match("gocryptfs", true);
}

#[test]
fn known_answer_of_gocryptfs_example_filesystem() {
    // tests/example_filesystems/v1.3-reverse: 10000 zero bytes in dir1/dir2/file.
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors/gocryptfs/example_filesystems");
    let source = vectors.join("v1.3-reverse");
    if !source.exists() {
        eprintln!("skipped: {} is missing", source.display());
        return;
    }
    require("fusermount3");
    let tmp = TempDir::new().unwrap();
    // The vectors are read-only; a copy gives the file its content.
    let plain = tmp.path().join("plain");
    fs::create_dir_all(plain.join("dir1/dir2")).unwrap();
    fs::write(plain.join("dir1/dir2/file"), vec![0u8; 10000]).unwrap();
    fs::copy(source.join(".gocryptfs.reverse.conf"), plain.join(".gocryptfs.reverse.conf")).unwrap();
    let mut cmd = vaultfs();
    cmd.args(["-q", "-reverse", "-masterkey"])
        .arg("2290a7f4-3e1908fb-b006f7d9-261bdaf1-4b72bc38-3b24956c-db7d8a8d-d996076a")
        .arg(&plain)
        .arg(tmp.path().join("view"));
    let view = mount(cmd, "vaultfs -reverse -masterkey", &tmp.path().join("view"));
    let file = view.0.join("zOsW1-BUX54hC2hmhu2EOw/4ZqrpGQdw5r07KR1qw2ZeQ/tfCm9Sp9J_Dvc-jD7J6p8g");
    assert_eq!(fs::metadata(&file).unwrap().len(), 10114);
    let out = run(Command::new("md5sum").arg(&file));
    assert!(stdout(&out).starts_with("9818501d214c5eb42ca2472caf6c82a1"), "md5: {}", stdout(&out));
}

#[test]
fn the_view_is_read_only() {
    let case = Case::new("vaultfs", false);
    let view = case.mount_vaultfs("view", &[]);
    let erofs = Some(libc::EROFS);
    assert_eq!(fs::write(view.0.join("new"), "x").unwrap_err().raw_os_error(), erofs);
    assert_eq!(fs::create_dir(view.0.join("newdir")).unwrap_err().raw_os_error(), erofs);
    let existing = fs::read_dir(&view.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file() && !p.ends_with("gocryptfs.conf") && !p.ends_with("gocryptfs.diriv"))
        .unwrap();
    let open = fs::OpenOptions::new().write(true).open(&existing);
    assert_eq!(open.unwrap_err().raw_os_error(), erofs);
    assert_eq!(fs::remove_file(&existing).unwrap_err().raw_os_error(), erofs);
}

#[test]
fn exit_codes_are_gocryptfs_ones() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("d");
    fs::create_dir(&dir).unwrap();
    let code = |cmd: &mut Command| run(cmd).status.code();
    // -exclude without -reverse, and an unreadable pattern file: 29.
    assert_eq!(code(vaultfs().args(["-zerokey", "-exclude", "x"]).arg(&dir).arg(&dir)), Some(29));
    let missing = tmp.path().join("no-such-patterns");
    let m = tmp.path().join("m");
    fs::create_dir(&m).unwrap();
    assert_eq!(
        code(vaultfs().args(["-zerokey", "-reverse", "-fg", "-exclude-from"]).arg(&missing).arg(&dir).arg(&m)),
        Some(29)
    );
    // A second -init -reverse would overwrite the key: refused (7).
    let pass = tmp.path().join("pass");
    fs::write(&pass, "p\n").unwrap();
    let init =
        |d: &Path| code(vaultfs().args(["-q", "-init", "-reverse", "-scryptn=10", "-passfile"]).arg(&pass).arg(d));
    assert_eq!(init(&dir), Some(0));
    assert_eq!(init(&dir), Some(7));
    // A forward (AES-GCM) config cannot be mounted in reverse: 1.
    let fwd = tmp.path().join("fwd");
    fs::create_dir(&fwd).unwrap();
    assert_eq!(code(vaultfs().args(["-q", "-init", "-scryptn=10", "-passfile"]).arg(&pass).arg(&fwd)), Some(0));
    let conf = fwd.join("gocryptfs.conf");
    let out =
        run(vaultfs().args(["-reverse", "-fg", "-passfile"]).arg(&pass).arg("-config").arg(&conf).arg(&dir).arg(&m));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // -info finds the reverse config with -reverse.
    let out = run(vaultfs().args(["-info", "-reverse"]).arg(&dir));
    assert!(stdout(&out).contains("AESSIV"), "{}", stdout(&out));
}
