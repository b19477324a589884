//! The filesystem's core without FUSE: each operation called as the kernel would, on a
//! real cipher directory in a temporary directory, and its effect checked there.

use super::*;
use crate::gocryptfs::Format;
use crate::vaultfs::nodes::ROOT;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

const ME: (u32, u32) = (0, 0);

struct Fixture {
    _tmp: tempfile::TempDir,
    cipher: std::path::PathBuf,
    outside: std::path::PathBuf,
    fs: VaultFs,
}

fn fixture(settings: MountSettings) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let cipher = tmp.path().join("cipher");
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&cipher).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("victim"), b"untouched").unwrap();
    std::fs::write(cipher.join(DIRIV_NAME), [7u8; 16]).unwrap();
    let volume = Arc::new(Volume::new(Format::v2_default(), &[0u8; 32]));
    let fs = VaultFs::new(volume, &cipher, settings).unwrap();
    Fixture { _tmp: tmp, cipher, outside, fs }
}

fn name(text: &str) -> &OsStr {
    OsStr::new(text)
}

/// The one cipher name in `dir` that is not gocryptfs's own.
fn only_cipher_name(dir: &std::path::Path) -> OsString {
    let names: Vec<OsString> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != DIRIV_NAME && !n.to_string_lossy().ends_with(LONGNAME_SUFFIX))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    names[0].clone()
}

#[test]
fn files_are_written_encrypted_and_read_back() {
    let f = fixture(MountSettings::default());
    let (attr, fh) = f.fs.create_file(ME, ROOT, name("notes.txt"), 0o640, libc_rdwr()).unwrap();
    assert_eq!(f.fs.write_file(attr.ino.0, fh, 5000, b"hello").unwrap(), 5);
    assert_eq!(*f.fs.read_file(attr.ino.0, fh, 4998, 10).unwrap(), b"\0\0hello");
    f.fs.release_file(fh);
    let on_disk = f.cipher.join(only_cipher_name(&f.cipher));
    assert!(!std::fs::read(&on_disk).unwrap().windows(5).any(|w| w == b"hello"));
    assert_eq!(f.fs.lookup_entry(ROOT, name("notes.txt")).unwrap().size, 5005);
    assert_eq!(std::fs::metadata(&on_disk).unwrap().permissions().mode() & 0o777, 0o640);
}

#[test]
fn a_directory_renamed_over_an_empty_one_replaces_it() {
    let f = fixture(MountSettings::default());
    let a = f.fs.make_dir(ME, ROOT, name("a"), 0o755).unwrap();
    f.fs.create_file(ME, a.ino.0, name("inside"), 0o600, libc_rdwr()).map(|(_, fh)| f.fs.release_file(fh)).unwrap();
    f.fs.make_dir(ME, ROOT, name("b"), 0o755).unwrap();
    f.fs.rename_entry(ROOT, name("a"), ROOT, name("b"), 0).unwrap();
    let b = f.fs.lookup_entry(ROOT, name("b")).unwrap();
    assert_eq!(b.ino, a.ino);
    assert!(f.fs.lookup_entry(b.ino.0, name("inside")).is_ok());
    // Over a directory that has an entry, it must fail and change nothing.
    f.fs.make_dir(ME, ROOT, name("c"), 0o755).unwrap();
    assert_eq!(f.fs.rename_entry(ROOT, name("c"), ROOT, name("b"), 0), Err(Errno::ENOTEMPTY));
    assert!(f.fs.lookup_entry(b.ino.0, name("inside")).is_ok());
    assert!(f.fs.lookup_entry(ROOT, name("c")).is_ok());
}

#[test]
fn names_deeper_than_path_max_in_ciphertext_work() {
    let f = fixture(MountSettings::default());
    let component = "d".repeat(120);
    let mut parent = ROOT;
    // 40 levels of 120-byte names: about 7 KB of ciphertext path, past PATH_MAX.
    for _ in 0..40 {
        parent = f.fs.make_dir(ME, parent, name(&component), 0o755).unwrap().ino.0;
    }
    let (attr, fh) = f.fs.create_file(ME, parent, name("bottom"), 0o600, libc_rdwr()).unwrap();
    f.fs.write_file(attr.ino.0, fh, 0, b"deep").unwrap();
    f.fs.release_file(fh);
    f.fs.dir_cache.clear();
    let (fh, _) = f.fs.open_node(attr.ino.0, 0).unwrap();
    assert_eq!(*f.fs.read_file(attr.ino.0, fh, 0, 100).unwrap(), b"deep");
}

#[test]
fn an_open_unlinked_file_keeps_its_attributes() {
    let f = fixture(MountSettings::default());
    let (attr, fh) = f.fs.create_file(ME, ROOT, name("gone"), 0o600, libc_rdwr()).unwrap();
    f.fs.write_file(attr.ino.0, fh, 0, b"still here").unwrap();
    f.fs.unlink_name(ROOT, name("gone")).unwrap();
    // fstat() arrives without the handle.
    let seen = f.fs.get_attr(attr.ino.0, None).unwrap();
    assert_eq!((seen.nlink, seen.size), (0, 10));
    // fchmod() arrives without the handle too.
    let change = super::attributes::AttrChange { mode: Some(0o640), ..Default::default() };
    assert_eq!(f.fs.set_attr(attr.ino.0, None, change).unwrap().perm, 0o640);
    f.fs.release_file(fh);
    assert!(f.fs.get_attr(attr.ino.0, None).is_err());
}

#[test]
fn seek_data_and_hole_map_through_the_cipher_file() {
    let f = fixture(MountSettings { no_prealloc: true, ..MountSettings::default() });
    let (attr, fh) = f.fs.create_file(ME, ROOT, name("sparse"), 0o600, libc_rdwr()).unwrap();
    let ino = attr.ino.0;
    f.fs.write_file(ino, fh, 0, &[1; 10]).unwrap();
    f.fs.write_file(ino, fh, 1 << 30, &[2; 10]).unwrap();
    assert_eq!(f.fs.seek(fh, 0, SEEK_DATA_FOR_TESTS).unwrap(), 0);
    let hole = f.fs.seek(fh, 0, SEEK_HOLE_FOR_TESTS).unwrap();
    assert!(hole > 0 && hole < 1 << 30, "{hole}");
    assert_eq!(f.fs.seek(fh, 1 << 20, SEEK_DATA_FOR_TESTS).unwrap(), 1 << 30);
    assert_eq!(f.fs.seek(fh, (1 << 30) + 100, SEEK_DATA_FOR_TESTS), Err(Errno::ENXIO));
}

/// A user who owns the cipher directory swaps a directory the mount knows for a
/// symbolic link to somewhere else (here a directory that looks like a cipher directory
/// with the same IV, such as another gocryptfs tree, so that only the refusal to follow
/// the link protects it): nothing there may change, whether the directory's handle was
/// cached (the operation then lands in the moved directory, inside the cipher
/// directory) or not (the link is refused).
#[test]
fn a_directory_swapped_for_a_symlink_is_never_followed() {
    for cached in [true, false] {
        let f = fixture(MountSettings::default());
        let dir = f.fs.make_dir(ME, ROOT, name("dir"), 0o755).unwrap().ino.0;
        let (file, fh) = f.fs.create_file(ME, dir, name("file"), 0o644, libc_rdwr()).unwrap();
        f.fs.release_file(fh);
        let cipher_dir = f.cipher.join(only_cipher_name(&f.cipher));
        let cipher_file = only_cipher_name(&cipher_dir);
        // The attacker's copy of the file's name points at the victim.
        std::fs::copy(cipher_dir.join(DIRIV_NAME), f.outside.join(DIRIV_NAME)).unwrap();
        std::fs::rename(&cipher_dir, f.cipher.join("moved-away")).unwrap();
        std::fs::create_dir(f.outside.join("sub")).unwrap();
        std::os::unix::fs::symlink(&f.outside, &cipher_dir).unwrap();
        std::os::unix::fs::symlink(f.outside.join("victim"), f.outside.join(&cipher_file)).unwrap();
        if !cached {
            f.fs.dir_cache.clear();
        }
        let change = || super::attributes::AttrChange { mode: Some(0o777), ..Default::default() };
        let _ = f.fs.set_attr(file.ino.0, None, change());
        let _ = f.fs.set_attr(dir, None, change());
        let _ = f.fs.set_attr(file.ino.0, None, super::attributes::AttrChange { size: Some(0), ..Default::default() });
        let _ = f.fs.create_file(ME, dir, name("planted"), 0o644, libc_rdwr());
        let _ = f.fs.make_dir(ME, dir, name("planted-dir"), 0o755);
        let _ = f.fs.unlink_name(dir, name("file"));
        let _ = f.fs.set_xattr(file.ino.0, name("user.x"), b"v", 0);
        let _ = f.fs.make_hard_link(ME, file.ino.0, dir, name("hard"));
        let _ = f.fs.rename_entry(dir, name("file"), ROOT, name("stolen"), 0);
        if let Ok((fh, _)) = f.fs.open_node(file.ino.0, libc_rdwr()) {
            let _ = f.fs.write_file(file.ino.0, fh, 0, b"overwritten");
            f.fs.release_file(fh);
        }
        let victim = f.outside.join("victim");
        assert_eq!(std::fs::read(&victim).unwrap(), b"untouched", "cached: {cached}");
        assert_eq!(std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o644, "cached: {cached}");
        assert_eq!(std::fs::metadata(&f.outside).unwrap().mode() & 0o777, 0o755, "cached: {cached}");
        let mut left: Vec<OsString> = std::fs::read_dir(&f.outside).unwrap().map(|e| e.unwrap().file_name()).collect();
        left.sort();
        let mut expected = [cipher_file.clone(), DIRIV_NAME.into(), "sub".into(), "victim".into()];
        expected.sort();
        assert_eq!(left, expected, "cached: {cached}");
        assert_eq!(std::fs::read_dir(f.outside.join("sub")).unwrap().count(), 0, "cached: {cached}");
    }
}

#[test]
fn a_panic_in_one_request_is_answered_with_eio() {
    let mut f = fixture(MountSettings::default());
    f.fs.fault_name = Some("boom".into());
    let answered = std::sync::Mutex::new(None);
    struct Capture<'a>(&'a std::sync::Mutex<Option<Result<u64, Errno>>>);
    impl crate::vaultfs::request::Answer for Capture<'_> {
        type Value = FileAttr;
        fn send(self, _: &Duration, attr: FileAttr) {
            *self.0.lock().unwrap() = Some(Ok(attr.ino.0));
        }
        fn fail(self, errno: Errno) {
            *self.0.lock().unwrap() = Some(Err(errno));
        }
    }
    f.fs.answer(Capture(&answered), "lookup boom", || f.fs.lookup_entry(ROOT, name("boom")));
    assert_eq!(answered.lock().unwrap().take(), Some(Err(Errno::EIO)));
    f.fs.make_dir(ME, ROOT, name("fine"), 0o755).unwrap();
    f.fs.answer(Capture(&answered), "lookup fine", || f.fs.lookup_entry(ROOT, name("fine")));
    assert!(matches!(answered.lock().unwrap().take(), Some(Ok(_))));
}

#[test]
fn a_poisoned_file_gives_eio_for_that_file_only() {
    let f = fixture(MountSettings::default());
    let (a, fa) = f.fs.create_file(ME, ROOT, name("a"), 0o600, libc_rdwr()).unwrap();
    let (b, fb) = f.fs.create_file(ME, ROOT, name("b"), 0o600, libc_rdwr()).unwrap();
    let lock = f.fs.content_lock(a.ino.0);
    let _ = std::panic::catch_unwind(|| {
        let _guard = lock.write().unwrap();
        panic!("a request's bug while writing");
    });
    assert_eq!(f.fs.write_file(a.ino.0, fa, 0, b"x"), Err(Errno::EIO));
    assert_eq!(f.fs.write_file(b.ino.0, fb, 0, b"x"), Ok(1));
}

const SEEK_DATA_FOR_TESTS: i32 = 3;
const SEEK_HOLE_FOR_TESTS: i32 = 4;

fn libc_rdwr() -> i32 {
    rustix::fs::OFlags::RDWR.bits() as i32
}
