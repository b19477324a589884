//! secarc against the real 7zz (Debian's 7zip), both directions, plus hostile archives,
//! wrong passwords, damage and overwrites.

mod common;

use common::{TempDir, armorbox, memory_at_exit, occurrences, ok, require, run, stderr, stdout};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

const PW: &str = "arc pässword";
const SEED_SWITCHES: [&str; 6] = ["-mhe=on", "-mx=9", "-m0=lzma2", "-mtc=on", "-mtm=on", "-mta=on"];

/// The documented `a` command line: `a -pPW <seed switches> [extra...] ARCHIVE INPUT`.
fn seed_add<'a>(pw: &'a str, extra: &[&'a str], archive: &'a str, input: &'a str) -> Vec<&'a str> {
    [&["a", pw][..], extra, &SEED_SWITCHES, &[archive, input]].concat()
}

fn secarc(args: &[&str], dir: &Path) -> std::process::Output {
    run(Command::new(armorbox()).arg("secarc").args(args).current_dir(dir).stdin(std::process::Stdio::null()))
}

fn sevenzz(args: &[&str], dir: &Path) -> std::process::Output {
    require("7zz");
    run(Command::new("7zz").args(args).current_dir(dir).env("LC_ALL", "C.UTF-8").stdin(std::process::Stdio::null()))
}

/// A tree with what users archive: nested dirs, an empty dir, an empty file, unicode
/// names, modes, an ELF binary, many small files, and a symlink.
fn sample_tree(root: &Path) {
    let d = root.join("sensitive_data");
    fs::create_dir_all(d.join("results/run 1")).unwrap();
    fs::create_dir_all(d.join("empty dir")).unwrap();
    fs::write(d.join("empty file"), "").unwrap();
    fs::write(d.join("données-é✓.csv"), "a,b\n1,2\n".repeat(500)).unwrap();
    fs::write(d.join("results/run 1/out.txt"), "result\n").unwrap();
    fs::write(d.join("script.sh"), "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(d.join("script.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::copy("/bin/true", d.join("tool-elf")).unwrap();
    fs::create_dir(d.join("many")).unwrap();
    for i in 0..300 {
        fs::write(d.join(format!("many/f{i:03}.txt")), format!("file {i}\n")).unwrap();
    }
    symlink("script.sh", d.join("link-to-script")).unwrap();
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>, i64),
    Link(PathBuf),
}

fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let node = if meta.file_type().is_symlink() {
                Node::Link(fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                stack.push(path.clone());
                Node::Dir(meta.mode() & 0o7777)
            } else {
                Node::File(meta.mode() & 0o7777, fs::read(&path).unwrap(), meta.mtime())
            };
            out.insert(rel, node);
        }
    }
    out
}

/// What the tree looks like with symlinks followed (7zz's default): the link becomes a
/// copy of its target.
fn followed(mut tree: BTreeMap<String, Node>) -> BTreeMap<String, Node> {
    if let Some(Node::Link(_)) = tree.get("sensitive_data/link-to-script") {
        let Some(Node::File(mode, data, mtime)) = tree.get("sensitive_data/script.sh") else { panic!() };
        let copy = Node::File(*mode, data.clone(), *mtime);
        tree.insert("sensitive_data/link-to-script".into(), copy);
    }
    tree
}

#[test]
fn seven_zip_opens_what_secarc_writes_with_the_documented_switches() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    ok(&secarc(&seed_add(&pw, &[], "sensitive_data_derived.7z", "sensitive_data/"), w.path()), "secarc a");

    let test = sevenzz(&["t", &pw, "sensitive_data_derived.7z"], w.path());
    ok(&test, "7zz t");
    assert!(stdout(&test).contains("Everything is Ok"));
    let slt = stdout(&sevenzz(&["l", "-slt", &pw, "sensitive_data_derived.7z"], w.path()));
    let method = slt.lines().find(|l| l.starts_with("Method = LZMA2")).expect("an LZMA2 entry");
    // 7zz prints 7zAES alone for 7-Zip's own 2^19 rounds, 7zAES:N for any other N.
    assert!(method.split(' ').any(|m| m == "7zAES"), "{method}");
    assert!(slt.contains("Attributes = A -rwxr-x---"), "modes stored the 7-Zip way:\n{slt}");
    // The ELF binary went into its own block through the x86 branch filter.
    let elf = slt.split("\n\n").find(|e| e.contains("Path = sensitive_data/tool-elf")).unwrap();
    assert!(elf.contains("BCJ"), "{elf}");
    listings_match(&pw, "sensitive_data_derived.7z", w.path());
    let no_password = sevenzz(&["l", "sensitive_data_derived.7z"], w.path());
    assert!(!no_password.status.success(), "the header is encrypted: listing needs the password");
    assert!(!stdout(&no_password).contains("données"), "a name leaked from the encrypted header");

    fs::create_dir(w.path().join("by-7zz")).unwrap();
    ok(&sevenzz(&["x", &pw, "-oby-7zz", "sensitive_data_derived.7z"], w.path()), "7zz x");
    assert_eq!(snapshot(&w.path().join("by-7zz")), followed(snapshot_of_source(w.path())));
}

fn snapshot_of_source(root: &Path) -> BTreeMap<String, Node> {
    let mut tree = snapshot(root);
    tree.retain(|k, _| k == "sensitive_data" || k.starts_with("sensitive_data/"));
    tree
}

#[test]
fn secarc_opens_what_7zz_writes_and_both_extract_the_same() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    ok(&sevenzz(&seed_add(&pw, &[], "by-7zz.7z", "sensitive_data/"), w.path()), "7zz a");
    let listing = stdout(&sevenzz(&["l", "-slt", &pw, "by-7zz.7z"], w.path()));
    assert!(listing.contains("BCJ2"), "7zz put the ELF file through BCJ2, which secarc must decode");

    ok(&secarc(&["x", &pw, "-oby-secarc", "by-7zz.7z"], w.path()), "secarc x");
    ok(&sevenzz(&["x", &pw, "-oby-7zz", "by-7zz.7z"], w.path()), "7zz x");
    let ours = snapshot(&w.path().join("by-secarc"));
    assert_eq!(ours, snapshot(&w.path().join("by-7zz")), "secarc and 7zz extract the same tree");
    assert_eq!(ours, followed(snapshot_of_source(w.path())));
    ok(&secarc(&["t", &pw, "by-7zz.7z"], w.path()), "secarc t");
}

#[test]
fn symlinks_stored_as_links_with_snl_come_back_as_links_in_both() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    ok(&secarc(&["a", &pw, "-snl", "links.7z", "sensitive_data"], w.path()), "secarc a -snl");
    ok(&sevenzz(&["x", &pw, "-o7zz-out", "links.7z"], w.path()), "7zz x");
    ok(&secarc(&["x", &pw, "-osecarc-out", "links.7z"], w.path()), "secarc x");
    for out in ["7zz-out", "secarc-out"] {
        let link = w.path().join(out).join("sensitive_data/link-to-script");
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("script.sh"), "{out}");
    }
    assert_eq!(snapshot(&w.path().join("secarc-out")), snapshot_of_source(w.path()));
}

#[test]
fn flat_extraction_listing_and_test() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    ok(
        &secarc(&["a", &pw, "-mhe=on", "a.7z", "sensitive_data/results", "sensitive_data/script.sh"], w.path()),
        "secarc a",
    );
    ok(&secarc(&["e", &pw, "-oflat", "a.7z"], w.path()), "secarc e");
    let mut names: Vec<_> =
        fs::read_dir(w.path().join("flat")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["out.txt", "script.sh"]);
    let listing = secarc(&["l", &pw, "a.7z"], w.path());
    ok(&listing, "secarc l");
    assert!(stdout(&listing).contains("sensitive_data/results/run 1/out.txt"), "{}", stdout(&listing));
    let slt = stdout(&secarc(&["l", "-slt", &pw, "a.7z"], w.path()));
    assert!(slt.contains("Attributes = A -rwxr-x---"), "{slt}");
    let test = secarc(&["t", &pw, "a.7z"], w.path());
    ok(&test, "secarc t");
    assert!(stdout(&test).contains("Everything is Ok"));
}

#[test]
fn a_large_file_goes_through_in_bounded_memory() {
    let w = TempDir::new().unwrap();
    fs::create_dir(w.path().join("big")).unwrap();
    // 120 MB of compressible but not trivial data.
    let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x0F).collect();
    {
        use std::io::Write;
        let mut f = fs::File::create(w.path().join("big/data.bin")).unwrap();
        for _ in 0..120 {
            f.write_all(&chunk).unwrap();
        }
    }
    let pw = format!("-p{PW}");
    let made = secarc(&["a", &pw, "-mhe=on", "-mx=1", "big.7z", "big"], w.path());
    ok(&made, "secarc a");
    assert!(!stderr(&made).contains("ETA"), "no progress line when stderr is not a terminal");
    ok(&sevenzz(&["t", &pw, "big.7z"], w.path()), "7zz t");
    // 7zz on one thread writes one LZMA2 stream with no dictionary reset in it: the
    // case where a decoder that splits at resets would hold the whole file.
    ok(&sevenzz(&["a", &pw, "-mhe=on", "-mx=1", "-mmt=1", "theirs.7z", "big"], w.path()), "7zz a");
    for (archive, out) in [("big.7z", "out"), ("theirs.7z", "out-theirs")] {
        let peak = peak_memory(
            Command::new(armorbox()).args(["secarc", "x", &pw, &format!("-o{out}"), archive]).current_dir(w.path()),
        );
        // The -mx=1 dictionary (at most a few MiB) and buffers, not the file.
        assert!(peak < 48 << 20, "secarc x {archive} peaked at {} MiB for a 120 MiB file", peak >> 20);
        let (a, b) = (
            fs::metadata(w.path().join("big/data.bin")).unwrap(),
            fs::metadata(w.path().join(out).join("big/data.bin")).unwrap(),
        );
        assert_eq!(a.len(), b.len());
        let same =
            run(Command::new("cmp").arg(w.path().join("big/data.bin")).arg(w.path().join(out).join("big/data.bin")));
        assert!(same.status.success(), "{archive}: extracted file differs");
    }
}

/// Runs `command` to its end, successfully; gives its peak resident memory in bytes, as
/// the kernel's high-water mark read while it runs (a mark only rises, so the last
/// reading before the end is the peak up to then).
fn peak_memory(command: &mut Command) -> u64 {
    let mut child = command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        // A zombie's status has no memory lines: readings stop rising at the end.
        let status = fs::read_to_string(&status_path).unwrap_or_default();
        if let Some(kib) = status.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
            peak = peak.max(kib.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() << 10);
        }
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "{command:?} failed");
            return peak;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Copies text from /usr/share/doc into `dir` until `budget` bytes: real documents with
/// the far-apart repeats (licences, changelogs) that a cut dictionary would lose.
fn doc_corpus(dir: &Path, budget: u64) -> u64 {
    fs::create_dir_all(dir).unwrap();
    let mut used = 0;
    let mut stack = vec![PathBuf::from("/usr/share/doc")];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries.into_iter().rev() {
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() && used + meta.len() <= budget {
                let name = path.strip_prefix("/usr/share/doc").unwrap().to_string_lossy().replace('/', "_");
                fs::copy(&path, dir.join(name)).unwrap();
                used += meta.len();
            }
        }
    }
    used
}

#[test]
fn two_threads_keep_the_archive_within_one_percent_of_7zz() {
    let w = TempDir::new().unwrap();
    let used = doc_corpus(&w.path().join("docs"), 12 << 20);
    assert!(used > 6 << 20, "/usr/share/doc holds only {used} bytes: not enough to split");
    let pw = format!("-p{PW}");
    let args = |archive: &'static str| seed_add(&pw, &["-mmt=2"], archive, "docs");
    ok(&secarc(&args("ours.7z"), w.path()), "secarc a -mmt=2");
    ok(&sevenzz(&args("theirs.7z"), w.path()), "7zz a -mmt=2");
    ok(&sevenzz(&["t", &pw, "ours.7z"], w.path()), "7zz t");
    let size = |name: &str| fs::metadata(w.path().join(name)).unwrap().len() as f64;
    let ratio = size("ours.7z") / size("theirs.7z");
    assert!(ratio < 1.01, "secarc's archive is {ratio:.4} times 7zz's on {used} bytes of documents");
}

/// The stored paths of an archive, as 7zz lists them.
fn stored_paths(archive: &Path) -> std::collections::BTreeSet<String> {
    let listing = sevenzz(&["l", "-slt", archive.to_str().unwrap()], archive.parent().unwrap());
    ok(&listing, "7zz l -slt");
    let text = stdout(&listing);
    text.split("----------")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_prefix("Path = "))
        .map(String::from)
        .collect()
}

#[test]
fn wildcards_and_exclusions_select_what_7zz_selects() {
    let w = TempDir::new().unwrap();
    for dir in ["d/sub/deeper", "d/cache"] {
        fs::create_dir_all(w.path().join(dir)).unwrap();
    }
    for file in
        ["a.csv", "b.txt", "d/c.csv", "d/g.log", "d/sub/e.csv", "d/sub/f.log", "d/sub/deeper/h.csv", "d/cache/i.csv"]
    {
        fs::write(w.path().join(file), file).unwrap();
    }
    let cases: [&[&str]; 9] = [
        &["*.csv"],
        &["-r", "*.csv"],
        &["d/*.csv"],
        &["-r", "d/*.csv"],
        &["d", "-x!*.log"],
        &["d", "-xr!*.log"],
        &["d", "-x!d/g.log"],
        &["d", "-xr!cache"],
        &["-r", "d/*.csv", "-xr!deeper", "-x!*.txt"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let ours = format!("ours{i}.7z");
        let theirs = format!("theirs{i}.7z");
        ok(&secarc(&[&["a", ours.as_str()], *case].concat(), w.path()), &format!("secarc a {case:?}"));
        ok(&sevenzz(&[&["a", theirs.as_str()], *case].concat(), w.path()), &format!("7zz a {case:?}"));
        let (a, b) = (stored_paths(&w.path().join(&ours)), stored_paths(&w.path().join(&theirs)));
        assert!(!a.is_empty(), "{case:?} selected nothing");
        assert_eq!(a, b, "{case:?}: secarc and 7zz store different entries");
    }
    // "." and "dir/." store what the directory holds, without its name.
    for (dir, arg) in [("d", "."), ("", "d/.")] {
        let cwd = w.path().join(dir);
        let (ours, theirs) = (w.path().join(format!("dot-ours{dir}.7z")), w.path().join(format!("dot-theirs{dir}.7z")));
        ok(&secarc(&["a", ours.to_str().unwrap(), arg], &cwd), &format!("secarc a {arg}"));
        ok(&sevenzz(&["a", theirs.to_str().unwrap(), arg], &cwd), &format!("7zz a {arg}"));
        let (a, b) = (stored_paths(&ours), stored_paths(&theirs));
        assert!(a.contains("sub/e.csv"), "{arg}: {a:?}");
        assert_eq!(a, b, "{arg}: secarc and 7zz store different entries");
    }
    let nothing = secarc(&["a", "none.7z", "d/*.pdf"], w.path());
    assert_eq!(nothing.status.code(), Some(2), "a pattern matching nothing is an error: {}", stderr(&nothing));
    assert!(stderr(&nothing).contains("no file matches"));
    assert!(!w.path().join("none.7z").exists());
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir).into_iter().filter(|p| p.to_string_lossy().ends_with(".partial")).collect()
}

/// Starts `command` in `dir` with the given stdin and its output discarded.
fn spawn_quiet(command: &mut Command, dir: &Path, stdin: std::process::Stdio) -> std::process::Child {
    command
        .current_dir(dir)
        .stdin(stdin)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Polls `done` every few milliseconds; fails the test after `seconds`.
fn wait_until(what: &str, seconds: u64, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed().as_secs() < seconds, "timed out waiting until {what}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn a_cancelled_job_leaves_no_partial_archive() {
    let w = TempDir::new().unwrap();
    doc_corpus(&w.path().join("docs"), 12 << 20);
    let pw = format!("-p{PW}");
    for signal in ["TERM", "INT"] {
        let mut command = Command::new(armorbox());
        command.args(["secarc", "a", &pw, "-mx=9", "cancelled.7z", "docs"]);
        let mut child = spawn_quiet(&mut command, w.path(), std::process::Stdio::null());
        wait_until("secarc starts writing", 20, || !partial_files(w.path()).is_empty());
        std::thread::sleep(std::time::Duration::from_millis(300));
        run(Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()));
        let status = child.wait().unwrap();
        let expected = if signal == "TERM" { 128 + 15 } else { 128 + 2 };
        assert_eq!(status.code(), Some(expected), "SIG{signal}");
        assert!(partial_files(w.path()).is_empty(), "SIG{signal} left {:?}", partial_files(w.path()));
        assert!(!w.path().join("cancelled.7z").exists());
    }
}

#[test]
fn a_cancelled_extraction_leaves_no_file_that_looks_complete() {
    let w = TempDir::new().unwrap();
    doc_corpus(&w.path().join("docs"), 12 << 20);
    let pw = format!("-p{PW}");
    ok(&secarc(&["a", &pw, "-mx=1", "docs.7z", "docs"], w.path()), "secarc a");
    let out = w.path().join("out");
    let mut command = Command::new(armorbox());
    command.args(["secarc", "x", &pw, "-oout", "docs.7z"]);
    let mut child = spawn_quiet(&mut command, w.path(), std::process::Stdio::null());
    wait_until("secarc starts extracting", 20, || !partial_files(&out).is_empty());
    // Frozen mid-extraction so it cannot finish first; the SIGTERM is taken on SIGCONT.
    let pid = child.id().to_string();
    run(Command::new("kill").args(["-STOP", &pid]));
    run(Command::new("kill").args(["-TERM", &pid]));
    run(Command::new("kill").args(["-CONT", &pid]));
    assert_eq!(child.wait().unwrap().code(), Some(128 + 15));
    let files: Vec<_> = walk(&out).into_iter().filter(|p| !p.is_dir()).collect();
    assert!(files.is_empty(), "left behind: {files:?}");
}

#[test]
fn wrong_password_fails_with_its_code_and_writes_nothing() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    ok(&secarc(&["a", &format!("-p{PW}"), "a.7z", "sensitive_data"], w.path()), "secarc a");
    let out = secarc(&["x", "-pnot it", "-oout", "a.7z"], w.path());
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrong password"), "{}", stderr(&out));
    let written: Vec<_> = walk(&w.path().join("out")).into_iter().filter(|p| p.is_file()).collect();
    assert!(written.is_empty(), "files left behind: {written:?}");
    let out = secarc(&["x", "-oout", "a.7z"], w.path());
    assert_eq!(out.status.code(), Some(4), "no password at all: {}", stderr(&out));
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

#[test]
fn a_truncated_or_damaged_archive_is_a_clear_error_and_leaves_no_complete_looking_files() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    ok(&secarc(&["a", &format!("-p{PW}"), "-mx=1", "a.7z", "sensitive_data"], w.path()), "secarc a");
    let bytes = fs::read(w.path().join("a.7z")).unwrap();
    fs::write(w.path().join("truncated.7z"), &bytes[..bytes.len() / 2]).unwrap();
    let out = secarc(&["x", &format!("-p{PW}"), "-oout1", "truncated.7z"], w.path());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let mut damaged = bytes.clone();
    damaged[200] ^= 0xFF;
    fs::write(w.path().join("damaged.7z"), &damaged).unwrap();
    let out = secarc(&["x", &format!("-p{PW}"), "-oout2", "damaged.7z"], w.path());
    assert!(matches!(out.status.code(), Some(3) | Some(4)), "{:?}: {}", out.status.code(), stderr(&out));
    assert!(stderr(&out).contains("entry ") || stderr(&out).contains("wrong password"), "{}", stderr(&out));
    for dir in ["out1", "out2"] {
        let files: Vec<_> = walk(&w.path().join(dir)).into_iter().filter(|p| p.is_file()).collect();
        assert!(files.is_empty(), "{dir}: {files:?}");
    }
}

/// An entry of a hand-built archive: its name, its Unix mode if any, its bytes.
type HostileEntry<'a> = (&'a str, Option<u32>, &'a [u8]);

/// Builds an archive with hand-picked entries, as an attacker would.
fn hostile_archive(path: &Path, entries: &[HostileEntry]) {
    use sevenz_rust2::{ArchiveEntry, ArchiveWriter};
    let mut writer = ArchiveWriter::create(path).unwrap();
    for (name, mode, data) in entries {
        let mut entry = ArchiveEntry::new_file(name);
        if let Some(mode) = mode {
            entry.has_windows_attributes = true;
            entry.windows_attributes = 0x8000 | (mode << 16) | 0x20;
        }
        writer.push_archive_entry(entry, Some(*data)).unwrap();
    }
    writer.finish().unwrap();
}

#[test]
fn hostile_archives_never_write_outside_the_target() {
    let w = TempDir::new().unwrap();
    let cases: Vec<(&str, Vec<HostileEntry>)> = vec![
        ("dotdot.7z", vec![("ok.txt", None, b"fine"), ("../escaped.txt", None, b"evil")]),
        ("absolute.7z", vec![("/tmp/secarc-absolute-escape.txt", None, b"evil")]),
        ("through-link.7z", vec![("link", Some(0o120777), b"/tmp"), ("link/secarc-link-escape.txt", None, b"evil")]),
    ];
    for (name, entries) in &cases {
        hostile_archive(&w.path().join(name), entries);
        let out = secarc(&["x", "-oout", name], w.path());
        assert_eq!(out.status.code(), Some(5), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("refused") || stderr(&out).contains("unsafe"), "{name}: {}", stderr(&out));
    }
    assert!(!w.path().join("escaped.txt").exists());
    assert!(!Path::new("/tmp/secarc-absolute-escape.txt").exists());
    assert!(!Path::new("/tmp/secarc-link-escape.txt").exists());
    // A link pointing out of the target is not created even alone.
    hostile_archive(&w.path().join("outward-link.7z"), &[("up", Some(0o120777), b"../../etc")]);
    let out = secarc(&["x", "-oout2", "outward-link.7z"], w.path());
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(fs::symlink_metadata(w.path().join("out2/up")).is_err());
}

#[test]
fn existing_files_are_not_overwritten_silently() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    ok(&secarc(&["a", &pw, "a.7z", "sensitive_data/script.sh"], w.path()), "secarc a");
    let existing = w.path().join("out/sensitive_data/script.sh");
    fs::create_dir_all(existing.parent().unwrap()).unwrap();
    fs::write(&existing, "mine").unwrap();
    let out = secarc(&["x", &pw, "-oout", "a.7z"], w.path());
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("-y"));
    assert_eq!(fs::read_to_string(&existing).unwrap(), "mine");
    ok(&secarc(&["x", &pw, "-y", "-oout", "a.7z"], w.path()), "secarc x -y");
    assert_eq!(fs::read_to_string(&existing).unwrap(), "#!/bin/sh\necho hi\n");
    // Creating over an existing archive is refused too: secarc does not update.
    let out = secarc(&["a", &pw, "a.7z", "sensitive_data"], w.path());
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn bad_command_lines_exit_7() {
    let w = TempDir::new().unwrap();
    for args in [
        &["q", "a.7z"][..],
        &["a", "-v10m", "a.7z", "x"],
        &["a", "-mx=11", "a.7z", "x"],
        &["a", "-m0=zstd", "a.7z", "x"],
    ] {
        let out = secarc(args, w.path());
        assert_eq!(out.status.code(), Some(7), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("secarc: "), "{}", stderr(&out));
    }
}

/// Bytes that LZMA at -mx=9 compresses slowly, so that a run lasts long enough to watch.
fn noise(len: u32) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

#[test]
fn a_progress_line_shows_on_a_terminal() {
    let w = TempDir::new().unwrap();
    fs::create_dir(w.path().join("data")).unwrap();
    // Hard to compress at -mx=9: takes a few seconds.
    let noise = noise(24 << 20);
    fs::write(w.path().join("data/noise.bin"), &noise).unwrap();
    fs::create_dir(w.path().join("more")).unwrap();
    let more: Vec<u8> = noise.iter().rev().chain(&noise[..17 << 20]).copied().collect();
    fs::write(w.path().join("more/noise.bin"), more).unwrap();
    // One stream; one stream with a match-finder thread; and, past 64 MiB, pieces on
    // two threads. The last two read their input well before they have compressed it:
    // the line must follow the compression, not the reading.
    for (threads, inputs) in [("-mmt=1", "data"), ("-mmt=2", "data"), ("-mmt=2", "data more")] {
        let done = w.path().join(format!("done{threads}{}", inputs.len()));
        let pane = common::Pane::start(&format!(
            "cd {} && rm -f out.7z && {} secarc a -pPW -mx=9 {threads} out.7z {inputs} > /dev/null; echo $? > {}; exec sleep 600",
            common::shell_path(w.path()),
            common::shell_path(&armorbox()),
            common::shell_path(&done)
        ));
        let screen = pane.wait_screen("ETA");
        assert!(screen.contains("compressing") && screen.contains("B/s"), "{screen}");
        // How long each percentage stays on screen, in samples.
        let mut shown: BTreeMap<u32, usize> = BTreeMap::new();
        while !done.exists() {
            let screen = pane.screen();
            let percent = screen.split_whitespace().find_map(|word| word.strip_suffix('%')?.parse::<u32>().ok());
            if let Some(percent) = percent {
                *shown.entry(percent).or_default() += 1;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let samples: usize = shown.values().sum();
        let between: Vec<_> = shown.iter().filter(|(p, _)| (1..100).contains(*p)).collect();
        assert!(between.len() >= 3, "{threads}: the line should advance step by step, showed {shown:?}");
        assert!(
            between.iter().all(|(_, n)| **n * 2 < samples),
            "{threads}: the line sat on one figure for most of the run: {shown:?}"
        );
        assert_eq!(common::wait_for_line(&done).trim(), "0");
    }
}

/// 7-Zip's -bso, -bse and -bsp send the summary, the errors and the progress line to
/// nowhere (0), stdout (1) or stderr (2); scripts use -bso0 -bsp0 to keep logs quiet.
#[test]
fn output_switches_route_the_summary_errors_and_progress() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    let quiet = secarc(&["a", &pw, "-bso0", "-bsp0", "q.7z", "sensitive_data"], w.path());
    ok(&quiet, "secarc a -bso0 -bsp0");
    assert_eq!((stdout(&quiet).as_str(), stderr(&quiet).as_str()), ("", ""));
    ok(&sevenzz(&["t", &pw, "q.7z"], w.path()), "7zz t");
    let to_stderr = secarc(&["t", &pw, "-bso2", "q.7z"], w.path());
    ok(&to_stderr, "secarc t -bso2");
    assert!(stdout(&to_stderr).is_empty() && stderr(&to_stderr).contains("Everything is Ok"), "{to_stderr:?}");
    let wrong = secarc(&["t", "-pwrong", "-bse1", "q.7z"], w.path());
    assert_eq!(wrong.status.code(), Some(4));
    assert!(stderr(&wrong).is_empty() && stdout(&wrong).contains("wrong password"), "{wrong:?}");
    let silent = secarc(&["x", "-pwrong", "-bse0", "-oout", "q.7z"], w.path());
    assert_eq!(silent.status.code(), Some(4));
    assert_eq!((stdout(&silent).as_str(), stderr(&silent).as_str()), ("", ""));
    let unencrypted = secarc(&["a", "-bso0", "-bse0", "plain.7z", "sensitive_data"], w.path());
    ok(&unencrypted, "secarc a without a password");
    assert_eq!((stdout(&unencrypted).as_str(), stderr(&unencrypted).as_str()), ("", ""), "the warning goes with -bse0");
    // A reader that went away (`| head -0`): the summary is dropped, not a panic.
    let closed = run(Command::new("sh")
        .arg("-c")
        .arg("\"$0\" secarc t \"$1\" q.7z | true")
        .args([armorbox().to_str().unwrap(), &pw])
        .current_dir(w.path()));
    ok(&closed, "secarc t into a closed pipe");
    assert!(stderr(&closed).is_empty(), "{}", stderr(&closed));

    // Hard to compress at -mx=9: the line has time to show, or would.
    let noise = noise(16 << 20);
    fs::write(w.path().join("noise.bin"), &noise).unwrap();
    for (switch, redirect, shows) in [("-bsp1", "2>/dev/null", true), ("-bsp0", "", false)] {
        let done = w.path().join(format!("done{switch}"));
        let pane = common::Pane::start(&format!(
            "cd {} && rm -f n.7z && {} secarc a -pPW -mx=9 -bso0 {switch} n.7z noise.bin {redirect}; echo $? > {}; exec sleep 600",
            common::shell_path(w.path()),
            common::shell_path(&armorbox()),
            common::shell_path(&done)
        ));
        if shows {
            assert!(pane.wait_screen("ETA").contains("compressing"), "{switch} {redirect}");
        } else {
            while !done.exists() {
                assert!(!pane.screen().contains("ETA"), "{switch}: a progress line showed");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        assert_eq!(common::wait_for_line(&done).trim(), "0", "{switch}");
    }
}

/// `-pPASS` is masked in the process's command line as soon as secarc starts: for the
/// rest of the run, `ps` and /proc show `-pxxxx` (7zz leaves the password there).
#[test]
fn an_inline_password_is_masked_in_the_command_line() {
    let w = TempDir::new().unwrap();
    // Hard to compress at -mx=9: the run lasts long enough to be watched.
    let noise = noise(16 << 20);
    fs::write(w.path().join("noise.bin"), &noise).unwrap();
    let secret = "SecretInline42";
    let mut child = Command::new(armorbox())
        .args(["secarc", "a", &format!("-p{secret}"), "-mx=9", "n.7z", "noise.bin"])
        .current_dir(w.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cmdline = format!("/proc/{}/cmdline", child.id());
    let masked = format!("-p{}", "x".repeat(secret.len()));
    let (mut reads_masked, mut reads_after) = (0, 0);
    while child.try_wait().unwrap().is_none() {
        let text = String::from_utf8_lossy(&fs::read(&cmdline).unwrap_or_default()).into_owned();
        if text.contains(&masked) {
            reads_masked += 1;
        }
        if reads_masked > 0 {
            reads_after += 1;
            assert!(!text.contains(secret), "the password showed again after it was masked: {text:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(child.wait().unwrap().success());
    assert!(reads_masked >= 10, "the command line showed {masked} in {reads_masked} reads of {reads_after}");
}

/// -ms=off: a block for each file, as 7zz makes them; 7zz tests and lists it so.
#[test]
fn non_solid_archives_have_a_block_for_each_file() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    ok(&secarc(&["a", &pw, "-mhe=on", "-ms=off", "ns.7z", "sensitive_data"], w.path()), "secarc a -ms=off");
    ok(&sevenzz(&["t", &pw, "ns.7z"], w.path()), "7zz t");
    let slt = stdout(&sevenzz(&["l", "-slt", &pw, "ns.7z"], w.path()));
    assert!(slt.contains("\nSolid = -\n"), "{slt}");
    let entries = slt.split_once("----------\n").unwrap().1;
    let blocks: Vec<_> = entries.lines().filter_map(|l| l.strip_prefix("Block = ")).filter(|b| !b.is_empty()).collect();
    let distinct: std::collections::BTreeSet<_> = blocks.iter().collect();
    assert!(blocks.len() > 3 && distinct.len() == blocks.len(), "one block per file: {blocks:?}");
    listings_match(&pw, "ns.7z", w.path());
    ok(&sevenzz(&["x", &pw, "-oout", "ns.7z"], w.path()), "7zz x");
    assert_eq!(snapshot(&w.path().join("out")), followed(snapshot_of_source(w.path())));
}

/// Starts `command` in `dir` allowed to write core files of any size, with a pipe as
/// stdin that is kept open, and kills it with SIGQUIT (whose default is to dump core)
/// once it is waiting. Returns whether the kernel dumped its core.
fn dumps_core_on_sigquit(command: &mut Command, dir: &Path) -> bool {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    // SAFETY: only an async-signal-safe setrlimit between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let unlimited = rustix::process::Rlimit { current: None, maximum: None };
            rustix::process::setrlimit(rustix::process::Resource::Core, unlimited).map_err(std::io::Error::from)
        });
    }
    let mut child = spawn_quiet(command, dir, std::process::Stdio::piped());
    let stat = format!("/proc/{}/stat", child.id());
    // Field 3 of /proc/PID/stat is the state: S once it blocks reading stdin.
    wait_until("the process waits", 10, || {
        fs::read_to_string(&stat).is_ok_and(|s| s.rsplit(") ").next().unwrap_or("").starts_with('S'))
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    run(Command::new("kill").args(["-QUIT", &child.id().to_string()]));
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(3), "{status:?}");
    status.core_dumped()
}

#[test]
fn a_process_holding_the_password_writes_no_core_file() {
    let w = TempDir::new().unwrap();
    fs::write(w.path().join("data.txt"), "sensitive").unwrap();
    ok(&secarc(&["a", &format!("-p{PW}"), "-mx=1", "data.7z", "data.txt"], w.path()), "secarc a");
    // The control: in this directory, with these limits, a process does dump core.
    assert!(dumps_core_on_sigquit(Command::new("sleep").arg("30"), w.path()), "this machine writes no core files");
    let dumped =
        dumps_core_on_sigquit(Command::new(armorbox()).args(["secarc", "x", "--password-stdin", "data.7z"]), w.path());
    assert!(!dumped, "secarc, waiting for its password, dumped core");
    let cores: Vec<_> = fs::read_dir(w.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("core"))
        .collect();
    assert_eq!(cores.len(), 1, "only the control's core file: {cores:?}");
}

/// A node whose `ulimit -u` leaves no room for the match-finder thread still gets its
/// archive: the encoder falls back to finding matches on its own thread (same stream).
#[test]
fn a_refused_match_finder_thread_falls_back_to_one_thread() {
    let w = nobody_workdir();
    // 6 MiB: above the size where two threads share one stream, and compressible.
    fs::write(w.path().join("data/text"), compressible(6 << 20)).unwrap();
    // Room for what nobody runs already plus two tasks: secarc's main thread and its
    // signal thread, not a third.
    secarc_as_nobody_with_room_for(&w, 2, &["-mx=9", "-mmt=2"]);
}

/// No thread to spare at all: the signal thread, the progress line's and the pieces'
/// workers are all refused, and the archive is still made, on the main thread.
#[test]
fn with_no_thread_to_spare_the_archive_is_made_on_the_main_thread() {
    let w = nobody_workdir();
    // 20 MiB at -mx=1 (HC4) with two threads: two pieces, each wanting a worker.
    fs::write(w.path().join("data/text"), compressible(20 << 20)).unwrap();
    for switches in [&["-mx=9", "-mmt=1"][..], &["-mx=1", "-mmt=2"]] {
        let _ = fs::remove_file(w.path().join("out.7z"));
        secarc_as_nobody_with_room_for(&w, 1, switches);
    }
}

/// A directory nobody may write, holding the binary and an empty `data` directory.
fn nobody_workdir() -> TempDir {
    require("runuser");
    require("prlimit");
    let w = TempDir::new().unwrap();
    fs::set_permissions(w.path(), fs::Permissions::from_mode(0o777)).unwrap();
    common::copy_executable(&armorbox(), &w.path().join("armorbox"));
    fs::create_dir(w.path().join("data")).unwrap();
    fs::set_permissions(w.path().join("data"), fs::Permissions::from_mode(0o777)).unwrap();
    w
}

fn compressible(len: u32) -> Vec<u8> {
    (0..len).map(|i| b"node vault archive "[(i.wrapping_mul(7) % 19) as usize]).collect()
}

/// Runs `secarc a` on `data` as nobody, with room for `tasks` tasks beyond what nobody
/// runs already (root would ignore the limit), and checks the archive with 7zz.
fn secarc_as_nobody_with_room_for(w: &TempDir, tasks: usize, switches: &[&str]) {
    let running = common::tasks_of_uid(65534);
    let made = run(Command::new("runuser")
        .args(["-u", "nobody", "--", "prlimit", &format!("--nproc={}", running + tasks), "./armorbox", "secarc", "a"])
        .arg("-pPW")
        .args(switches)
        .args(["out.7z", "data"])
        .current_dir(w.path()));
    ok(&made, &format!("secarc a {switches:?} with room for {tasks} task(s)"));
    let tested = sevenzz(&["t", "-pPW", "out.7z"], w.path());
    ok(&tested, "7zz t");
    assert!(stdout(&tested).contains("Everything is Ok"));
}

/// 7-Zip's key for `password`: SHA-256 over 2^19 repetitions of its UTF-16LE form and
/// a 64-bit counter (no salt).
fn seven_zip_key(password: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut sha = Sha256::new();
    for counter in 0..(1u64 << 19) {
        sha.update(&utf16);
        sha.update(counter.to_le_bytes());
    }
    sha.finalize().to_vec()
}

/// After every command, at the moment the process exits, neither the password (as
/// typed or as the UTF-16 that 7zAES hashes) nor the key derived from it is anywhere
/// in its memory: not in freed heap, not in dead stack frames, not in sevenz-rust2's
/// cache of the last key. A wrong password is as secret as the right one.
#[test]
fn no_password_or_key_is_left_in_memory_when_secarc_exits() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let right = "Wipe me, 7z Pässwort!";
    let wrong = "Wipe me, 7z Passwort?";
    ok(&sevenzz(&seed_add(&format!("-p{right}"), &[], "theirs.7z", "sensitive_data"), w.path()), "7zz a");
    let right_file = "password-file-right";
    let wrong_file = "password-file-wrong";
    fs::write(w.path().join(right_file), format!("{right}\n")).unwrap();
    fs::write(w.path().join(wrong_file), format!("{wrong}\n")).unwrap();
    let secrets = |password: &str| {
        let key = seven_zip_key(password);
        let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
        // Half the key: AES-256's first round key is the key's first 16 bytes.
        [("typed password", password.as_bytes().to_vec()), ("UTF-16 password", utf16), ("key", key[..16].to_vec())]
    };
    let inline = format!("-p{right}");
    let runs: [(&[&str], &str, u64); 6] = [
        (&["t", "--password-file", right_file, "theirs.7z"], right, 0),
        (&["x", "--password-file", right_file, "-oout", "theirs.7z"], right, 0),
        (&["l", "-slt", "--password-file", right_file, "theirs.7z"], right, 0),
        (&["t", "--password-file", wrong_file, "theirs.7z"], wrong, 4),
        // The process's arguments are in its memory too, where ps reads them.
        (&["t", &inline, "theirs.7z"], right, 0),
        (&["a", "--password-file", right_file, "-mhe=on", "-mx=1", "ours.7z", "sensitive_data"], right, 0),
    ];
    for (args, password, expected_status) in runs {
        let (memory, status) = memory_at_exit(&[&["secarc"][..], args].concat(), w.path(), || {});
        assert_eq!(status, expected_status, "secarc {args:?} under gdb");
        // The control: the scan sees the process's memory, its arguments included.
        let archive = args.iter().find(|a| a.ends_with(".7z")).unwrap();
        assert!(occurrences(&memory, archive.as_bytes()) > 0, "{args:?}: the core does not hold the process's memory");
        for (form, secret) in secrets(password) {
            let found = occurrences(&memory, &secret);
            assert_eq!(found, 0, "secarc {args:?}: the {form} is left in memory {found} times");
        }
    }
    assert!(w.path().join("out/sensitive_data").is_dir(), "x extracted nothing");
    ok(&sevenzz(&["t", &format!("-p{right}"), "ours.7z"], w.path()), "7zz t on what secarc a wrote under gdb");
}

/// Every method and filter 7zz writes on request, encrypted headers and all, solid and
/// not: what secarc extracts equals the input. Deflate64, which sevenz-rust2 cannot
/// decode, is refused with its own exit code and names the method.
#[test]
fn secarc_extracts_every_method_and_filter_7zz_writes() {
    let w = TempDir::new().unwrap();
    sample_tree(w.path());
    let pw = format!("-p{PW}");
    let methods: [&[&str]; 16] = [
        &["-m0=ppmd"],
        &["-m0=ppmd:o=32:mem=64m", "-ms=off"],
        &["-m0=bzip2"],
        &["-m0=deflate"],
        &["-m0=lzma", "-ms=off"],
        &["-m0=copy"],
        &["-m0=delta:4", "-m1=lzma2"],
        &["-m0=bcj", "-m1=lzma"],
        &["-m0=bcj2", "-m1=lzma2"],
        &["-m0=arm64", "-m1=lzma2"],
        &["-m0=arm", "-m1=lzma2"],
        &["-m0=armt", "-m1=lzma2"],
        &["-m0=ppc", "-m1=lzma2"],
        &["-m0=sparc", "-m1=lzma2"],
        &["-m0=ia64", "-m1=lzma2"],
        &["-m0=riscv", "-m1=lzma2"],
    ];
    let expected = followed(snapshot_of_source(w.path()));
    for (i, method) in methods.iter().enumerate() {
        let archive = format!("m{i}.7z");
        let args = [&["a", &pw, "-mhe=on"][..], method, &[&archive, "sensitive_data"]].concat();
        ok(&sevenzz(&args, w.path()), &format!("7zz a {method:?}"));
        let out_dir = format!("-oout{i}");
        ok(&secarc(&["x", &pw, &out_dir, &archive], w.path()), &format!("secarc x of 7zz's {method:?}"));
        assert_eq!(snapshot(&w.path().join(format!("out{i}"))), expected, "{method:?}");
        listings_match(&pw, &archive, w.path());
    }
    ok(&sevenzz(&["a", &pw, "-m0=deflate64", "d64.7z", "sensitive_data"], w.path()), "7zz a deflate64");
    let out = secarc(&["x", &pw, "-od64", "d64.7z"], w.path());
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("DEFLATE64"), "{}", stderr(&out));
    let written: Vec<_> = walk(&w.path().join("d64")).into_iter().filter(|p| p.is_file()).collect();
    assert!(written.is_empty(), "files left behind: {written:?}");
    let out = secarc(&["t", &pw, "d64.7z"], w.path());
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("d64.7z: uses the method DEFLATE64"), "{}", stderr(&out));
}

/// `secarc l` and `secarc l -slt` print what 7zz prints from its "Listing archive:"
/// line on (7zz's banner comes before it), in a time zone other than UTC: the archive's
/// sizes, methods and blocks, each entry's packed size, attributes, times and CRC.
fn listings_match(pw: &str, archive: &str, dir: &Path) {
    // A POSIX zone rule, which needs no tz database: UTC+1, with summer time.
    const ZONE: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
    for technical in [&[][..], &["-slt"]] {
        let args = [&["l"][..], technical, &[pw, archive]].concat();
        let ours = run(Command::new(armorbox()).arg("secarc").args(&args).current_dir(dir).env("TZ", ZONE));
        ok(&ours, &format!("secarc {args:?}"));
        let theirs = run(Command::new("7zz").args(&args).current_dir(dir).env("LC_ALL", "C.UTF-8").env("TZ", ZONE));
        ok(&theirs, &format!("7zz {args:?}"));
        let theirs = stdout(&theirs);
        let theirs = theirs.find("Listing archive:").map_or("", |at| &theirs[at..]);
        assert!(theirs.contains("Physical Size = "), "7zz's listing:\n{theirs}");
        assert_eq!(stdout(&ours), theirs, "secarc {args:?} prints what 7zz prints");
    }
}
