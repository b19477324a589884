//! Conformance checks for the classes of bugs issue 23 found in vaultfs, each run on a
//! plain directory (the reference), the real gocryptfs and vaultfs side by side. A check
//! that fails on the plain directory or on gocryptfs is a wrong check, and says so.

mod common;

use common::{SideBySide, require, run, stderr};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, CWD, Mode, OFlags, SeekFrom};
use rustix::io::Errno;
use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

type Check = Result<(), String>;

/// Runs `check` on the plain directory, gocryptfs and vaultfs; fails with every
/// filesystem's failure, and first of all when the reference or gocryptfs fails.
fn on_all(sides: &SideBySide, check: impl Fn(&Path) -> Check) {
    let results: Vec<_> = sides.targets().into_iter().map(|(name, root)| (name, check(&root))).collect();
    for (name, result) in &results {
        if let Err(e) = result
            && *name != "vaultfs"
        {
            panic!("the check itself is wrong: it fails on {name}: {e}");
        }
    }
    if let Err(e) = &results[2].1 {
        panic!("vaultfs: {e}");
    }
}

/// As `on_all`, without gocryptfs, for a check gocryptfs 2.3 is known to fail: the
/// caller says why.
fn on_plain_and_vaultfs(sides: &SideBySide, check: impl Fn(&Path) -> Check) {
    for (name, root) in sides.targets() {
        match (name, check(&root)) {
            ("gocryptfs", _) | (_, Ok(())) => {}
            ("vaultfs", Err(e)) => panic!("vaultfs: {e}"),
            (name, Err(e)) => panic!("the check itself is wrong: it fails on {name}: {e}"),
        }
    }
}

/// `Err` with a description unless `got == want`.
fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Check {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, expected {want:?}")) }
}

fn ctx<T>(what: &str, r: Result<T, Errno>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e:?}"))
}

fn io<T>(what: &str, r: std::io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

fn open_dir(at: impl AsFd, name: &str) -> Result<OwnedFd, String> {
    ctx(
        &format!("open directory {}", short(name)),
        rustix::fs::openat(at, name, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()),
    )
}

fn short(name: &str) -> String {
    if name.len() > 20 { format!("{}…({} bytes)", &name[..12], name.len()) } else { name.to_string() }
}

fn names_in(dir: impl AsFd) -> Result<Vec<String>, String> {
    let list = ctx("readdir", rustix::fs::Dir::read_from(dir))?;
    let mut names = Vec::new();
    for entry in list {
        let name = ctx("readdir entry", entry)?.file_name().to_string_lossy().into_owned();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

// ---------------------------------------------------------------------------------
// (1) Deep paths: valid in plaintext, far over PATH_MAX in ciphertext (and in plaintext
// too at the bottom), so everything goes through directory descriptors.

/// A 127-byte name for level `i`: encrypted and base64-encoded it is about 172 bytes.
fn level_name(i: usize) -> String {
    let head = format!("level-{i:02}-");
    format!("{head}{}", "d".repeat(127 - head.len()))
}

const DEPTH: usize = 40;

fn deep_paths(root: &Path) -> Check {
    let mut dir = open_dir(CWD, root.to_str().unwrap())?;
    for i in 0..DEPTH {
        let name = level_name(i);
        ctx(&format!("mkdir at depth {i}"), rustix::fs::mkdirat(&dir, name.as_str(), Mode::from_raw_mode(0o755)))?;
        dir = open_dir(&dir, &name)?;
    }
    let plain_len = DEPTH * 128;
    assert!(plain_len > libc::PATH_MAX as usize, "the plaintext path ({plain_len}) should be over PATH_MAX too");
    // A file at the bottom: create, write, read, stat.
    let flags = OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::CLOEXEC;
    let file = ctx("create at the bottom", rustix::fs::openat(&dir, "data", flags, Mode::from_raw_mode(0o644)))?;
    let content = b"at the bottom of forty directories".repeat(300);
    expect("written", ctx("write", rustix::io::pwrite(&file, &content, 0))?, content.len())?;
    drop(file);
    let file = ctx("open again", rustix::fs::openat(&dir, "data", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()))?;
    let mut back = vec![0u8; content.len() + 10];
    let n = ctx("read", rustix::io::pread(&file, &mut back, 0))?;
    expect("read back", &back[..n], &content[..])?;
    let st = ctx("stat", rustix::fs::statat(&dir, "data", AtFlags::SYMLINK_NOFOLLOW))?;
    expect("size", st.st_size as usize, content.len())?;
    // Renames at the bottom: a file, a directory, a file into that directory and back
    // out, a long (hashed) name.
    ctx("rename file", rustix::fs::renameat(&dir, "data", &dir, "renamed"))?;
    ctx("mkdir at the bottom", rustix::fs::mkdirat(&dir, "sub", Mode::from_raw_mode(0o755)))?;
    ctx("rename directory", rustix::fs::renameat(&dir, "sub", &dir, "sub2"))?;
    let long = "L".repeat(230);
    ctx("rename file into it", rustix::fs::renameat(&dir, "renamed", &dir, format!("sub2/{long}").as_str()))?;
    let sub = open_dir(&dir, "sub2")?;
    expect("listing below the bottom", names_in(&sub)?, vec![long.clone()])?;
    ctx("rename file back out", rustix::fs::renameat(&sub, long.as_str(), &dir, "back"))?;
    expect("listing at the bottom", names_in(&dir)?, vec!["back".to_string(), "sub2".to_string()])?;
    let st = ctx("stat after the renames", rustix::fs::statat(&dir, "back", AtFlags::SYMLINK_NOFOLLOW))?;
    expect("size after the renames", st.st_size as usize, content.len())?;
    // The deepest directory renamed as a whole, then the walk from the top again.
    let parent = open_dir(&dir, "..")?;
    let (last, moved) = (level_name(DEPTH - 1), format!("moved-{}", "m".repeat(120)));
    ctx("rename the deepest directory", rustix::fs::renameat(&parent, last.as_str(), &parent, moved.as_str()))?;
    let mut walk = open_dir(CWD, root.to_str().unwrap())?;
    for i in 0..DEPTH - 1 {
        walk = open_dir(&walk, &level_name(i))?;
    }
    let bottom = open_dir(&walk, &moved)?;
    let file = ctx("open after a fresh walk", rustix::fs::openat(&bottom, "back", OFlags::RDONLY, Mode::empty()))?;
    let n = ctx("read after a fresh walk", rustix::io::pread(&file, &mut back, 0))?;
    expect("content after a fresh walk", &back[..n], &content[..])?;
    // Unlink and rmdir at the bottom, then the whole chain bottom-up.
    ctx("unlink", rustix::fs::unlinkat(&bottom, "back", AtFlags::empty()))?;
    ctx("rmdir", rustix::fs::unlinkat(&bottom, "sub2", AtFlags::REMOVEDIR))?;
    expect("empty at the bottom", names_in(&bottom)?, Vec::<String>::new())?;
    let mut chain = vec![open_dir(CWD, root.to_str().unwrap())?];
    let mut names: Vec<String> = (0..DEPTH - 1).map(level_name).collect();
    names.push(moved);
    for name in &names[..DEPTH - 1] {
        let next = open_dir(chain.last().unwrap(), name)?;
        chain.push(next);
    }
    for (i, name) in names.iter().enumerate().rev() {
        ctx(&format!("rmdir at depth {i}"), rustix::fs::unlinkat(&chain[i], name.as_str(), AtFlags::REMOVEDIR))?;
    }
    expect("nothing left", names_in(&chain[0])?, Vec::<String>::new())
}

#[test]
fn deep_paths_far_over_path_max_in_ciphertext_work_through_directory_descriptors() {
    let sides = SideBySide::new(&[]);
    on_all(&sides, deep_paths);
}

// ---------------------------------------------------------------------------------
// (2) The caller's umask, not the daemon's, decides modes; another user can use them.

/// In a child whose umask is 0: creates `file` with mode `file_mode` and `dir` with
/// 0777. Returns the child's errno, 0 when both worked.
fn create_with_umask_zero(file: &Path, file_mode: u32, dir: &Path) -> i32 {
    let (file, dir) = (CString::new(file.to_str().unwrap()).unwrap(), CString::new(dir.to_str().unwrap()).unwrap());
    // SAFETY: the child makes only async-signal-safe system calls, then _exit: fine
    // after fork in a multithreaded process.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            libc::umask(0);
            let fd = libc::open(file.as_ptr(), libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, file_mode);
            if fd < 0 {
                libc::_exit(*libc::__errno_location());
            }
            libc::close(fd);
            if libc::mkdir(dir.as_ptr(), 0o777) < 0 {
                libc::_exit(*libc::__errno_location());
            }
            libc::_exit(0);
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        assert!(libc::WIFEXITED(status));
        libc::WEXITSTATUS(status)
    }
}

fn as_nobody(script: &str) -> Result<(), String> {
    let out = run(Command::new("runuser").args(["-u", "nobody", "--", "sh", "-c", script]));
    if out.status.success() { Ok(()) } else { Err(format!("as nobody, `{script}` failed: {}", stderr(&out).trim())) }
}

fn umask_is_the_callers(root: &Path) -> Check {
    // Let nobody reach the root (the scratch area is made 0755 by the test).
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).map_err(|e| format!("chmod root: {e}"))?;
    let (file, shared, dir) = (root.join("f0620"), root.join("f0666"), root.join("d0777"));
    expect("errno creating with umask 0", create_with_umask_zero(&file, 0o620, &dir), 0)?;
    let mode = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.mode() & 0o7777).map_err(|e| e.to_string());
    expect("mode of open(O_CREAT, 0620) under umask 0", mode(&file)?, 0o620)?;
    expect("mode of mkdir(0777) under umask 0", mode(&dir)?, 0o777)?;
    let other = root.join("other-dir");
    expect("errno creating with umask 0", create_with_umask_zero(&shared, 0o666, &other), 0)?;
    expect("mode of open(O_CREAT, 0666) under umask 0", mode(&shared)?, 0o666)?;
    // nobody (neither owner nor group) writes the 0666 file and creates in the 0777
    // directory; the 0620 file gives "others" nothing, so nobody cannot read it.
    let q = |p: &Path| common::shell_path(p);
    as_nobody(&format!("echo from-nobody >> {}", q(&shared)))?;
    as_nobody(&format!("echo made-by-nobody > {}/inside && cat {}/inside", q(&dir), q(&dir)))?;
    let owner = std::fs::metadata(dir.join("inside")).map_err(|e| e.to_string())?.uid();
    expect("owner of the file nobody made", owner, 65534)?;
    if as_nobody(&format!("cat {}", q(&file))).is_ok() {
        return Err("nobody could read a 0620 file owned by root".into());
    }
    expect(
        "content nobody appended",
        std::fs::read_to_string(&shared).map_err(|e| e.to_string())?,
        "from-nobody\n".to_string(),
    )
}

#[test]
fn the_callers_umask_decides_modes_and_another_user_can_use_them() {
    require("runuser");
    let sides = SideBySide::new(&["-allow_other"]);
    std::fs::set_permissions(sides.work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    on_all(&sides, umask_is_the_callers);
}

// ---------------------------------------------------------------------------------
// (3) A directory renamed over an existing empty directory replaces it; over a
// non-empty one it fails with ENOTEMPTY (or EEXIST, which POSIX allows).

fn directory_over_directory(root: &Path, from: &str, to: &str, busy: &str) -> Check {
    let r = |n: &str| root.join(n);
    let mk = |p: &Path| std::fs::create_dir(p).map_err(|e| format!("mkdir {}: {e}", short(&p.to_string_lossy())));
    mk(&r(from))?;
    std::fs::write(r(from).join("inside"), "moved along").map_err(|e| e.to_string())?;
    mk(&r(to))?;
    mk(&r(busy))?;
    std::fs::write(r(busy).join("keep"), "").map_err(|e| e.to_string())?;
    let err = rustix::fs::renameat(CWD, r(from).as_path(), CWD, r(busy).as_path());
    if !matches!(err, Err(Errno::NOTEMPTY) | Err(Errno::EXIST)) {
        return Err(format!("rename {} over non-empty {}: {err:?}, expected ENOTEMPTY", short(from), short(busy)));
    }
    ctx(
        &format!("rename {} over empty {}", short(from), short(to)),
        rustix::fs::renameat(CWD, r(from).as_path(), CWD, r(to).as_path()),
    )?;
    expect("old name gone", r(from).exists(), false)?;
    expect(
        "content under the new name",
        std::fs::read_to_string(r(to).join("inside")).map_err(|e| e.to_string())?,
        "moved along".into(),
    )?;
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map_err(|e| e.to_string())?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want = vec![to.to_string(), busy.to_string()];
    want.sort();
    expect("listing", names, want)
}

#[test]
fn a_directory_renamed_over_an_empty_directory_replaces_it() {
    let sides = SideBySide::new(&[]);
    // 200-byte names are stored as hashed long names by both.
    let long = |c: &str| c.repeat(200);
    let short = |c: &str| c.to_string();
    let cases = [
        ("short names", short("a"), short("b"), short("c")),
        ("long names", long("a"), long("b"), long("c")),
        ("short over long", short("s"), long("t"), long("u")),
        ("long over short", long("v"), short("w"), short("x")),
    ];
    for (i, (what, from, to, busy)) in cases.iter().enumerate() {
        let check = |root: &Path| {
            let dir = root.join(format!("case-{i}"));
            std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
            directory_over_directory(&dir, from, to, busy).map_err(|e| format!("{what}: {e}"))
        };
        // gocryptfs 2.3 removes the target's long-name file while clearing the empty
        // directory out of the way, so the renamed directory vanishes from listings:
        // over a long name, vaultfs is held to the plain directory only.
        if to.len() > 100 { on_plain_and_vaultfs(&sides, check) } else { on_all(&sides, check) }
    }
}

// ---------------------------------------------------------------------------------
// (4) An open file that lost its last name: fstat says nlink 0 and its size; reads,
// writes and ftruncate go on working.

fn unlinked_but_open(root: &Path, name: &str) -> Check {
    let path = root.join(name);
    let file = ctx("create", rustix::fs::open(&path, OFlags::CREATE | OFlags::RDWR, Mode::from_raw_mode(0o644)))?;
    ctx("write", rustix::io::pwrite(&file, &[7u8; 10_000], 0))?;
    ctx("unlink", rustix::fs::unlink(&path))?;
    let st = ctx("fstat after unlink", rustix::fs::fstat(&file))?;
    expect("nlink after unlink", st.st_nlink, 0)?;
    expect("size after unlink", st.st_size, 10_000)?;
    ctx("write after unlink", rustix::io::pwrite(&file, b"later", 12_000))?;
    let mut back = vec![0u8; 20_000];
    let n = ctx("read after unlink", rustix::io::pread(&file, &mut back, 0))?;
    expect("bytes read after unlink", n, 12_005)?;
    expect(
        "data after unlink",
        (&back[..3], &back[10_000..10_003], &back[12_000..12_005]),
        (&[7u8; 3][..], &[0u8; 3][..], &b"later"[..]),
    )?;
    ctx("ftruncate after unlink", rustix::fs::ftruncate(&file, 5))?;
    let st = ctx("fstat after ftruncate", rustix::fs::fstat(&file))?;
    expect("size after ftruncate", (st.st_size, st.st_nlink), (5, 0))?;
    ctx("seek", rustix::fs::seek(&file, SeekFrom::Start(0)))?;
    let n = ctx("read", rustix::io::read(&file, &mut back))?;
    expect("content after ftruncate", &back[..n], &[7u8; 5][..])?;
    expect("name gone", path.exists(), false)
}

#[test]
fn fstat_of_an_unlinked_open_file_gives_nlink_0_and_it_keeps_working() {
    let sides = SideBySide::new(&[]);
    on_all(&sides, |root| unlinked_but_open(root, "ghost"));
    on_all(&sides, |root| unlinked_but_open(root, &"g".repeat(220)));
}

// ---------------------------------------------------------------------------------
// Hard links seen from two -sharedstorage mounts of one directory.

#[test]
fn hard_links_stay_valid_across_two_sharedstorage_mounts_when_one_unlinks_a_name() {
    let sides = SideBySide::new(&["-sharedstorage"]);
    let w = sides.work.path();
    for second in ["gocryptfs2", "vaultfs2"] {
        std::fs::create_dir(w.join(second)).unwrap();
    }
    let _second = [
        sides.mount("gocryptfs", "gocryptfs2", &["-sharedstorage"]),
        sides.mount("vaultfs", "vaultfs2", &["-sharedstorage"]),
    ];
    let check = |a: &Path| -> Check {
        // The plain reference has one view: both "mounts" are the same directory.
        let name = a.file_name().unwrap().to_str().unwrap();
        let b = if name == "plain" { a.to_path_buf() } else { a.with_file_name(format!("{name}2")) };
        let read = |p: &Path, what: &str| io(what, std::fs::read_to_string(p));
        let nlink = |p: &Path, what: &str| io(what, std::fs::metadata(p)).map(|m| m.nlink());
        let long = "h".repeat(210);
        io("write on the first mount", std::fs::write(a.join("first"), "linked content"))?;
        io("link on the first mount", std::fs::hard_link(a.join("first"), a.join("second")))?;
        io("link to a long name", std::fs::hard_link(a.join("first"), a.join(&long)))?;
        expect("nlink seen from the other mount", nlink(&b.join("second"), "stat on the other mount")?, 3)?;
        let open_b = io("open on the other mount", std::fs::File::open(b.join("second")))?;
        io("unlink on the first mount", std::fs::remove_file(a.join("first")))?;
        expect("other mount, removed name", b.join("first").exists(), false)?;
        let on_b = read(&b.join("second"), "other mount, read by a remaining name")?;
        expect("other mount, content by a remaining name", on_b, "linked content".into())?;
        let on_b = read(&b.join(&long), "other mount, read by the long name")?;
        expect("other mount, content by the long name", on_b, "linked content".into())?;
        expect("other mount, nlink after the unlink", nlink(&b.join("second"), "other mount, stat")?, 2)?;
        let mut back = [0u8; 14];
        let r = std::os::unix::fs::FileExt::read_exact_at(&open_b, &mut back, 0);
        io("other mount, read from the file opened before", r)?;
        expect("other mount, open file", &back[..], b"linked content")?;
        io("other mount, rewrite", std::fs::write(b.join("second"), "rewritten on b"))?;
        let on_a = read(&a.join(&long), "first mount, read by the long name")?;
        expect("first mount sees the write by the long name", on_a, "rewritten on b".into())?;
        io("other mount, unlink the long name", std::fs::remove_file(b.join(&long)))?;
        expect("first mount, nlink after the other unlinks", nlink(&a.join("second"), "first mount, stat")?, 1)?;
        expect("first mount, last name", read(&a.join("second"), "first mount, read")?, "rewritten on b".into())
    };
    on_all(&sides, check);
}

// ---------------------------------------------------------------------------------
// SEEK_DATA / SEEK_HOLE and st_blocks after fallocate: what gocryptfs answers is what
// its ciphertext layout gives, so vaultfs (the same layout) must answer the same.

/// (offset, SEEK_DATA result, SEEK_HOLE result) over a sparse file, errors by name.
fn seek_map(root: &Path) -> Vec<(u64, String, String)> {
    let path = root.join("sparse");
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    use std::os::unix::fs::FileExt;
    file.write_all_at(&[1u8; 10], 0).unwrap();
    file.write_all_at(&[2u8; 5000], 1 << 20).unwrap();
    file.write_all_at(&[3u8; 1], 3 << 20).unwrap();
    file.set_len(4 << 20).unwrap();
    file.sync_all().unwrap();
    let offsets =
        [0, 5, 4095, 4096, 8192, 200_000, (1 << 20) - 1, 1 << 20, (1 << 20) + 6000, 3 << 20, (4 << 20) - 1, 4 << 20];
    offsets
        .into_iter()
        .map(|off| {
            let at = |whence| match rustix::fs::seek(&file, whence) {
                Ok(n) => n.to_string(),
                Err(e) => format!("{e:?}"),
            };
            (off, at(SeekFrom::Data(off)), at(SeekFrom::Hole(off)))
        })
        .collect()
}

#[test]
fn seek_data_and_seek_hole_on_a_sparse_file_answer_as_gocryptfs_does() {
    let sides = SideBySide::new(&[]);
    let [(_, plain), (_, gocryptfs), (_, vaultfs)] = sides.targets();
    // The reference only as a sanity check: holes and data where they were made (its
    // block size differs from gocryptfs's ciphertext layout).
    let reference = seek_map(&plain);
    assert_eq!(reference[0], (0, "0".into(), "4096".into()), "ext4 reference: {reference:?}");
    let want = seek_map(&gocryptfs);
    let got = seek_map(&vaultfs);
    let differ: Vec<_> = want.iter().zip(&got).filter(|(w, g)| w != g).collect();
    assert!(differ.is_empty(), "vaultfs answers (offset, SEEK_DATA, SEEK_HOLE) differently from gocryptfs: {differ:?}");
}

/// (size, st_blocks) after fallocate calls that grow the file and reserve past its end.
fn blocks_after_fallocate(root: &Path) -> Vec<(u64, u64)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(root.join("alloc"))
        .unwrap();
    let mut seen = Vec::new();
    use rustix::fs::FallocateFlags;
    for (flags, off, len) in [
        (FallocateFlags::empty(), 0, 1 << 20),
        (FallocateFlags::KEEP_SIZE, 1 << 20, 1 << 20),
        (FallocateFlags::empty(), (3 << 20) + 100, 5000),
    ] {
        rustix::fs::fallocate(&file, flags, off, len).unwrap();
        let st = rustix::fs::fstat(&file).unwrap();
        seen.push((st.st_size as u64, st.st_blocks as u64));
    }
    seen
}

#[test]
fn fallocate_then_stat_shows_the_st_blocks_gocryptfs_shows() {
    let sides = SideBySide::new(&[]);
    let [(_, plain), (_, gocryptfs), (_, vaultfs)] = sides.targets();
    let reference = blocks_after_fallocate(&plain);
    assert!(reference[0].1 * 512 >= 1 << 20, "ext4 allocates what fallocate asks: {reference:?}");
    let want = blocks_after_fallocate(&gocryptfs);
    assert!(want[0].1 * 512 >= 1 << 20, "gocryptfs allocates the ciphertext of 1 MiB: {want:?}");
    let got = blocks_after_fallocate(&vaultfs);
    assert_eq!(got, want, "vaultfs (size, st_blocks) after each fallocate, against gocryptfs's");
}

// ---------------------------------------------------------------------------------
// A POSIX suite from elsewhere: pjdfstest (the Rust port on crates.io, installed by
// tests/setup/prepare.sh), run on the three trees.

/// The names of the pjdfstest cases that failed in `root`, and its summary line.
fn pjdfstest_failures(root: &Path, config: &Path) -> (Vec<String>, String) {
    // RUST_BACKTRACE=0: pjdfstest prints a backtrace per failure otherwise.
    let out = run(Command::new("pjdfstest").arg("-c").arg(config).arg("-p").arg(root).env("RUST_BACKTRACE", "0"));
    let text = common::stdout(&out) + &stderr(&out);
    let summary = text.lines().find(|l| l.starts_with("Summary:")).unwrap_or_default().to_string();
    assert!(summary.contains("passed"), "pjdfstest did not run in {}:\n{text}", root.display());
    let failed = text
        .lines()
        .filter(|l| l.trim_end().ends_with("FAILED"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    (failed, summary)
}

#[test]
fn pjdfstest_fails_nothing_on_vaultfs_that_passes_on_gocryptfs() {
    require("pjdfstest");
    require("runuser");
    let sides = SideBySide::new(&[]);
    let config = sides.work.path().join("pjdfstest.toml");
    // naptime: long enough for the timestamp cases on FUSE (0.001 s made them flaky on
    // ext4 too); two unprivileged users for the permission cases; no remounting.
    std::fs::write(
        &config,
        "[features]\nposix_fallocate = {}\nutimensat = {}\nutime_now = {}\n\
         [settings]\nnaptime = 0.05\nallow_remount = false\n\
         [dummy_auth]\nentries = [[\"nobody\", \"nogroup\"], [\"daemon\", \"daemon\"]]\n",
    )
    .unwrap();
    // The unprivileged cases need to reach the roots.
    std::fs::set_permissions(sides.work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let [(_, plain), (_, gocryptfs), (_, vaultfs)] = sides.targets();
    for root in [&plain, &gocryptfs, &vaultfs] {
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (on_plain, plain_summary) = pjdfstest_failures(&plain, &config);
    let (on_gocryptfs, gocryptfs_summary) = pjdfstest_failures(&gocryptfs, &config);
    let (on_vaultfs, vaultfs_summary) = pjdfstest_failures(&vaultfs, &config);
    eprintln!("plain: {plain_summary} {on_plain:?}\ngocryptfs: {gocryptfs_summary}\nvaultfs: {vaultfs_summary}");
    let only_vaultfs: Vec<_> = on_vaultfs.iter().filter(|t| !on_gocryptfs.contains(t)).collect();
    assert!(only_vaultfs.is_empty(), "pjdfstest cases that pass on gocryptfs and fail on vaultfs: {only_vaultfs:?}");
}
