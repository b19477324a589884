//! The POSIX surface users' tools touch, on a real vaultfs mount; what vaultfs stores is
//! then read back through the real gocryptfs where content is involved.

mod common;

use common::{TempDir, armorbox, require, run, stderr};
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

struct Mounted {
    work: TempDir,
    extra: Vec<&'static str>,
}

impl Mounted {
    fn new(extra: &[&'static str]) -> Self {
        require("fusermount3");
        let work = TempDir::new().unwrap();
        let w = work.path();
        fs::create_dir(w.join("cipher")).unwrap();
        fs::create_dir(w.join("plain")).unwrap();
        fs::write(w.join("pw"), "posix\n").unwrap();
        let init = run(Command::new(armorbox())
            .args(["vaultfs", "-q", "-init", "-scryptn=10", "-passfile"])
            .arg(w.join("pw"))
            .arg(w.join("cipher")));
        assert!(init.status.success(), "{}", stderr(&init));
        let m = Mounted { work, extra: extra.to_vec() };
        m.mount();
        m
    }
    fn mount(&self) {
        let w = self.work.path();
        let out = run(Command::new(armorbox())
            .args(["vaultfs", "-q"])
            .args(&self.extra)
            .arg("-passfile")
            .arg(w.join("pw"))
            .arg(w.join("cipher"))
            .arg(w.join("plain")));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    fn unmount(&self) {
        common::unmount_fuse(&self.work.path().join("plain"));
    }
    fn p(&self, name: &str) -> PathBuf {
        self.work.path().join("plain").join(name)
    }
    /// Unmounts, mounts again with the real gocryptfs and returns the file's content.
    fn read_through_gocryptfs(&self, name: &str) -> Vec<u8> {
        require("gocryptfs");
        self.unmount();
        let w = self.work.path();
        let out = run(Command::new("gocryptfs")
            .args(["-q", "-passfile"])
            .arg(w.join("pw"))
            .arg(w.join("cipher"))
            .arg(w.join("plain")));
        assert!(out.status.success(), "{}", stderr(&out));
        let content = fs::read(self.p(name)).unwrap();
        self.unmount();
        self.mount();
        content
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.unmount();
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn writes_at_any_offset_append_and_truncate_match_a_model() {
    let m = Mounted::new(&[]);
    let path = m.p("model.bin");
    let mut model: Vec<u8> = Vec::new();
    let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
    let apply = |offset: usize, data: &[u8], model: &mut Vec<u8>| {
        file.write_all_at(data, offset as u64).unwrap();
        if model.len() < offset + data.len() {
            model.resize(offset + data.len(), 0);
        }
        model[offset..offset + data.len()].copy_from_slice(data);
    };
    // Inside a block, across block edges, past the end (leaving holes), overwriting.
    for (offset, len, seed) in
        [(0, 10, 1), (4090, 20, 2), (20_000, 5000, 3), (3, 4096 * 3, 4), (100_000, 1, 5), (8191, 2, 6)]
    {
        apply(offset, &pattern(len, seed), &mut model);
        assert_eq!(fs::read(&path).unwrap(), model, "after writing {len} at {offset}");
    }
    for new_len in [100_001u64, 50_000, 4096 * 3, 4097, 5, 0, 9000] {
        file.set_len(new_len).unwrap();
        model.resize(new_len as usize, 0);
        assert_eq!(fs::read(&path).unwrap(), model, "after truncate to {new_len}");
    }
    drop(file);
    let mut appender = OpenOptions::new().append(true).open(&path).unwrap();
    appender.write_all(b"appended").unwrap();
    model.extend_from_slice(b"appended");
    drop(appender);
    assert_eq!(fs::read(&path).unwrap(), model);
    assert_eq!(m.read_through_gocryptfs("model.bin"), model, "gocryptfs reads the same bytes");
}

#[test]
fn concurrent_writers_of_one_file_never_corrupt_it() {
    const LAST_ROUND: u8 = 19;
    let m = Mounted::new(&[]);
    let path = m.p("shared.bin");
    fs::write(&path, vec![0u8; 64 * 1024]).unwrap();
    let file = Arc::new(OpenOptions::new().write(true).open(&path).unwrap());
    // Each thread owns interleaved 1000-byte stripes: they share every 4 KiB block, so
    // each write is a read-modify-write of blocks another thread is changing.
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let file = Arc::clone(&file);
            std::thread::spawn(move || {
                for round in 0..=LAST_ROUND {
                    for stripe in (t as usize..64).step_by(4) {
                        file.write_all_at(&vec![t * 50 + round + 1; 1000], (stripe * 1000) as u64).unwrap();
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let data = fs::read(&path).unwrap();
    for stripe in 0..64 {
        let t = (stripe % 4) as u8;
        assert!(
            data[stripe * 1000..][..1000].iter().all(|&b| b == t * 50 + LAST_ROUND + 1),
            "stripe {stripe} corrupted"
        );
    }
}

#[test]
fn concurrent_readers_and_a_writer_never_see_torn_or_foreign_data() {
    let m = Mounted::new(&[]);
    let path = m.p("rw.bin");
    fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        let f = OpenOptions::new().write(true).open(&writer_path).unwrap();
        for v in 2..40u8 {
            f.write_all_at(&vec![v; 1 << 20], 0).unwrap();
        }
    });
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let f = fs::File::open(&path).unwrap();
                let mut block = vec![0u8; 4096];
                for i in 0..200u64 {
                    // An error here would be a block whose read-modify-write tore (its
                    // authentication fails). Which of the writes a page shows is the
                    // kernel page cache's business: only values that were written.
                    f.read_exact_at(&mut block, (i * 4096 * 7) % (1 << 20)).unwrap();
                    assert!(block.iter().all(|&b| (1..40).contains(&b)), "a block holds bytes nobody wrote");
                }
            })
        })
        .collect();
    writer.join().unwrap();
    readers.into_iter().for_each(|r| r.join().unwrap());
}

#[test]
fn renames_including_noreplace_and_exchange() {
    let m = Mounted::new(&[]);
    fs::write(m.p("a"), "A").unwrap();
    fs::write(m.p("b"), "B").unwrap();
    fs::create_dir(m.p("dir")).unwrap();
    fs::write(m.p("dir/inner"), "I").unwrap();
    let long = "l".repeat(200);
    fs::rename(m.p("a"), m.p(&long)).unwrap();
    assert_eq!(fs::read_to_string(m.p(&long)).unwrap(), "A");
    fs::rename(m.p(&long), m.p("a")).unwrap();
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let err = renameat_with(CWD, m.p("a"), CWD, m.p("b"), RenameFlags::NOREPLACE).unwrap_err();
    assert_eq!(err, rustix::io::Errno::EXIST);
    renameat_with(CWD, m.p("a"), CWD, m.p("b"), RenameFlags::EXCHANGE).unwrap();
    assert_eq!(fs::read_to_string(m.p("a")).unwrap(), "B");
    assert_eq!(fs::read_to_string(m.p("b")).unwrap(), "A");
    // Over an existing file, and a directory with its content.
    fs::rename(m.p("a"), m.p("b")).unwrap();
    assert!(!m.p("a").exists());
    fs::rename(m.p("dir"), m.p("moved dir")).unwrap();
    assert_eq!(fs::read_to_string(m.p("moved dir/inner")).unwrap(), "I");
    let mut names: Vec<_> = fs::read_dir(m.p("")).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["b", "moved dir"]);
}

#[test]
fn metadata_special_files_links_and_statfs() {
    let m = Mounted::new(&[]);
    let f = m.p("meta");
    fs::write(&f, "x").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).unwrap();
    let meta = fs::metadata(&f).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 5678));
    let when = std::time::UNIX_EPOCH + std::time::Duration::new(1_000_000_000, 123_456_789);
    fs::File::options().write(true).open(&f).unwrap().set_modified(when).unwrap();
    assert_eq!(fs::metadata(&f).unwrap().modified().unwrap(), when);

    let fifo = m.p("fifo");
    assert!(run(Command::new("mkfifo").arg(&fifo)).status.success());
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    let node = m.p("null-dev");
    assert!(run(Command::new("mknod").arg("-m").arg("666").arg(&node).args(["c", "1", "3"])).status.success());
    assert_eq!(fs::symlink_metadata(&node).unwrap().rdev(), rustix::fs::makedev(1, 3));

    fs::hard_link(&f, m.p("meta-link")).unwrap();
    assert_eq!(fs::metadata(&f).unwrap().nlink(), 2);
    fs::remove_file(&f).unwrap();
    assert_eq!(fs::read_to_string(m.p("meta-link")).unwrap(), "x");

    let vfs = rustix::fs::statvfs(m.p("")).unwrap();
    assert!(vfs.f_blocks > 0 && vfs.f_bsize > 0);
    assert_eq!(vfs.f_namemax, 255);

    // An unlinked file that is still open keeps working.
    let mut open = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(m.p("ghost")).unwrap();
    open.write_all(b"still here").unwrap();
    fs::remove_file(m.p("ghost")).unwrap();
    open.seek(SeekFrom::Start(0)).unwrap();
    let mut back = String::new();
    open.read_to_string(&mut back).unwrap();
    assert_eq!(back, "still here");
}

#[test]
fn xattrs_round_trip_and_are_stored_encrypted() {
    let m = Mounted::new(&[]);
    let f = m.p("x");
    fs::write(&f, "").unwrap();
    use rustix::fs::{XattrFlags, getxattr, listxattr, removexattr, setxattr};
    setxattr(&f, "user.project", b"genome-42", XattrFlags::empty()).unwrap();
    setxattr(&f, "user.empty", b"", XattrFlags::empty()).unwrap();
    let mut buf = [0u8; 256];
    let n = getxattr(&f, "user.project", &mut buf[..]).unwrap();
    assert_eq!(&buf[..n], b"genome-42");
    let n = listxattr(&f, &mut buf[..]).unwrap();
    let mut names: Vec<&[u8]> = buf[..n].split(|&b| b == 0).filter(|s| !s.is_empty()).collect();
    names.sort();
    assert_eq!(names, [&b"user.empty"[..], b"user.project"]);
    removexattr(&f, "user.empty").unwrap();
    assert_eq!(getxattr(&f, "user.empty", &mut buf[..]).unwrap_err(), rustix::io::Errno::NODATA);
    assert_eq!(setxattr(&f, "user.project", b"v", XattrFlags::CREATE).unwrap_err(), rustix::io::Errno::EXIST);
    // On disk: neither the name nor the value in clear.
    let cipher_dir = m.work.path().join("cipher");
    for entry in fs::read_dir(&cipher_dir).unwrap() {
        let path = entry.unwrap().path();
        let n = rustix::fs::llistxattr(&path, &mut buf[..]).unwrap_or(0);
        let listed = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(!listed.contains("project"), "xattr name in clear on {}: {listed}", path.display());
    }
}

#[test]
fn fallocate_and_fsync() {
    let m = Mounted::new(&[]);
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(m.p("alloc")).unwrap();
    rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, 10_000).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 10_000);
    rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::KEEP_SIZE, 0, 50_000).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 10_000);
    assert_eq!(
        rustix::fs::fallocate(
            &f,
            rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE,
            0,
            10
        )
        .unwrap_err(),
        rustix::io::Errno::OPNOTSUPP
    );
    f.write_all_at(b"synced", 9000).unwrap();
    f.sync_all().unwrap();
    f.sync_data().unwrap();
    let mut back = vec![0u8; 10_000];
    f.read_exact_at(&mut back, 0).unwrap();
    assert!(back[..9000].iter().all(|&b| b == 0));
    assert_eq!(&back[9000..9006], b"synced");
}

#[test]
fn directories_with_many_and_long_entries() {
    let m = Mounted::new(&[]);
    fs::create_dir_all(m.p("a/b/c")).unwrap();
    for i in 0..300 {
        fs::write(m.p(&format!("a/b/c/file-{i:03}-{}", "ö".repeat(i % 120))), i.to_string()).unwrap();
    }
    let count = fs::read_dir(m.p("a/b/c")).unwrap().count();
    assert_eq!(count, 300);
    assert_eq!(fs::read_to_string(m.p(&format!("a/b/c/file-119-{}", "ö".repeat(119)))).unwrap(), "119");
    assert_eq!(fs::remove_dir(m.p("a/b")).unwrap_err().raw_os_error(), Some(39), "ENOTEMPTY");
    fs::remove_dir_all(m.p("a")).unwrap();
    assert!(fs::read_dir(m.p("")).unwrap().next().is_none());
    let too_long = "n".repeat(256);
    assert_eq!(fs::write(m.p(&too_long), "").unwrap_err().raw_os_error(), Some(36), "ENAMETOOLONG");
    // Nothing of gocryptfs's own is visible or reachable.
    assert!(!m.p("gocryptfs.conf").exists());
    assert!(!m.p("gocryptfs.diriv").exists());
}

#[test]
fn read_only_mounts_refuse_changes() {
    let m = Mounted::new(&["-ro"]);
    assert_eq!(fs::write(m.p("new"), "x").unwrap_err().raw_os_error(), Some(30), "EROFS");
    assert_eq!(fs::create_dir(m.p("d")).unwrap_err().raw_os_error(), Some(30), "EROFS");
}

/// Regression guard for the directory-IV cache: a directory removed and made again
/// under the same name (often with the same inode number) has a new IV; names written
/// into it must use that one, or they would be unreadable for everyone else.
#[test]
fn a_directory_made_again_under_the_same_name_gets_its_own_iv() {
    let m = Mounted::new(&[]);
    for round in 0..10 {
        fs::create_dir(m.p("again")).unwrap();
        fs::write(m.p(&format!("again/file-{round}")), round.to_string()).unwrap();
        if round < 9 {
            fs::remove_dir_all(m.p("again")).unwrap();
        }
    }
    fs::rename(m.p("again"), m.p("moved")).unwrap();
    fs::create_dir(m.p("again")).unwrap();
    fs::write(m.p("again/new"), "new").unwrap();
    assert_eq!(m.read_through_gocryptfs("moved/file-9"), b"9");
    assert_eq!(m.read_through_gocryptfs("again/new"), b"new");
}
