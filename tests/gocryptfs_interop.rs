//! The format core against the real `gocryptfs` (Debian package): a tree that the core
//! writes is read back through a real gocryptfs mount, and a tree written through a
//! real gocryptfs mount is read by the core.

mod common;

use armorbox::gocryptfs::config::ConfigFile;
use armorbox::gocryptfs::content;
use armorbox::gocryptfs::names::{DIRIV_NAME, DiskName, LONGNAME_SUFFIX};
use armorbox::gocryptfs::offline;
use armorbox::gocryptfs::{Format, Volume};
use common::{TempDir, require, run, stderr};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "interop pässword";

/// A real gocryptfs mount, unmounted on drop.
struct GocryptfsMount {
    plain: PathBuf,
}

impl GocryptfsMount {
    fn new(cipher: &Path, plain: &Path, passfile: &Path) -> Self {
        require("gocryptfs");
        require("fusermount3");
        let out = run(Command::new("gocryptfs").arg("-q").arg("-passfile").arg(passfile).arg(cipher).arg(plain));
        assert!(out.status.success(), "gocryptfs mount failed: {}", stderr(&out));
        GocryptfsMount { plain: plain.to_path_buf() }
    }
}

impl Drop for GocryptfsMount {
    fn drop(&mut self) {
        common::unmount_fuse(&self.plain);
    }
}

fn passfile(dir: &Path) -> PathBuf {
    let path = dir.join("passfile");
    fs::write(&path, format!("{PASSWORD}\n")).unwrap();
    path
}

/// Writes plaintext into a cipher directory with the core only (what vaultfs will do
/// through FUSE), the way gocryptfs lays it out.
struct CoreWriter<'a> {
    volume: &'a Volume,
}

impl CoreWriter<'_> {
    fn disk_name(&self, dir: &Path, name: &str) -> PathBuf {
        let iv = offline::dir_iv(self.volume, dir).unwrap();
        match self.volume.names.encrypt(name.as_bytes(), &iv).unwrap() {
            DiskName::Short(n) => dir.join(n),
            DiskName::Long { hashed, full } => {
                let name_file = dir.join(format!("{hashed}{LONGNAME_SUFFIX}"));
                fs::write(&name_file, full).unwrap();
                fs::set_permissions(&name_file, fs::Permissions::from_mode(0o444)).unwrap();
                dir.join(hashed)
            }
        }
    }

    fn file(&self, dir: &Path, name: &str, data: &[u8]) -> PathBuf {
        let path = self.disk_name(dir, name);
        let mut cipher = Vec::new();
        if !data.is_empty() {
            let (id, header) = content::new_header().unwrap();
            cipher.extend_from_slice(&header);
            cipher.extend(self.volume.content.encrypt_blocks(0, &id, data).unwrap());
        }
        fs::write(&path, cipher).unwrap();
        path
    }

    fn dir(&self, dir: &Path, name: &str) -> PathBuf {
        let path = self.disk_name(dir, name);
        fs::create_dir(&path).unwrap();
        let iv: [u8; 16] = armorbox::crypto::random::array().unwrap();
        let diriv = path.join(DIRIV_NAME);
        fs::write(&diriv, iv).unwrap();
        fs::set_permissions(&diriv, fs::Permissions::from_mode(0o444)).unwrap();
        path
    }

    fn symlink(&self, dir: &Path, name: &str, target: &str) {
        let stored = self.volume.encrypt_link_target(target.as_bytes()).unwrap();
        symlink(String::from_utf8(stored).unwrap(), self.disk_name(dir, name)).unwrap();
    }
}

fn sample_data() -> Vec<u8> {
    (0..3 * content::PLAIN_BS + 1234).map(|i| (i * 7 + i / 4096) as u8).collect()
}

#[test]
fn gocryptfs_reads_a_tree_written_by_the_core() {
    let work = TempDir::new().unwrap();
    let cipher = work.path().join("cipher");
    fs::create_dir(&cipher).unwrap();
    // -init by the core: config + root diriv.
    let master_key: [u8; 32] = armorbox::crypto::random::array().unwrap();
    let config =
        ConfigFile::create(&Format::v2_default(), PASSWORD.as_bytes(), &master_key, 10, "armorbox test").unwrap();
    config.save(&cipher.join("gocryptfs.conf")).unwrap();
    let iv: [u8; 16] = armorbox::crypto::random::array().unwrap();
    fs::write(cipher.join(DIRIV_NAME), iv).unwrap();

    let volume = Volume::new(Format::v2_default(), &master_key);
    let writer = CoreWriter { volume: &volume };
    let long_name = format!("long_{}", "é".repeat(100));
    writer.file(&cipher, "data.csv", b"id,value\n1,42\n");
    writer.file(&cipher, "empty", b"");
    writer.file(&cipher, &long_name, b"long name content");
    let sub = writer.dir(&cipher, "sub dir ✓");
    writer.file(&sub, "big.bin", &sample_data());
    writer.symlink(&cipher, "link", "sub dir ✓/big.bin");

    let plain = work.path().join("plain");
    fs::create_dir(&plain).unwrap();
    let _mount = GocryptfsMount::new(&cipher, &plain, &passfile(work.path()));
    assert_eq!(fs::read(plain.join("data.csv")).unwrap(), b"id,value\n1,42\n");
    assert_eq!(fs::read(plain.join("empty")).unwrap(), b"");
    assert_eq!(fs::read(plain.join(&long_name)).unwrap(), b"long name content");
    assert_eq!(fs::read(plain.join("sub dir ✓/big.bin")).unwrap(), sample_data());
    assert_eq!(fs::read_link(plain.join("link")).unwrap(), Path::new("sub dir ✓/big.bin"));
    assert_eq!(fs::read(plain.join("link")).unwrap(), sample_data());
    let mut names: Vec<String> =
        fs::read_dir(&plain).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let mut expected = vec!["data.csv".to_string(), "empty".into(), long_name, "link".into(), "sub dir ✓".into()];
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn the_core_reads_a_tree_written_through_gocryptfs() {
    require("gocryptfs");
    let work = TempDir::new().unwrap();
    let cipher = work.path().join("cipher");
    let plain = work.path().join("plain");
    fs::create_dir(&cipher).unwrap();
    fs::create_dir(&plain).unwrap();
    let pass = passfile(work.path());
    let out = run(Command::new("gocryptfs").args(["-q", "-init", "-scryptn=10", "-passfile"]).arg(&pass).arg(&cipher));
    assert!(out.status.success(), "gocryptfs -init: {}", stderr(&out));
    let long_name = format!("x{}", "y".repeat(200));
    {
        let _mount = GocryptfsMount::new(&cipher, &plain, &pass);
        fs::write(plain.join("notes.txt"), "written by gocryptfs\n").unwrap();
        fs::create_dir_all(plain.join("a/b")).unwrap();
        fs::write(plain.join("a/b/big.bin"), sample_data()).unwrap();
        fs::write(plain.join(&long_name), "long").unwrap();
        symlink("a/b/big.bin", plain.join("shortcut")).unwrap();
    }
    let config = ConfigFile::load(&cipher.join("gocryptfs.conf")).unwrap();
    let format = config.format().unwrap();
    assert_eq!(format, Format::v2_default(), "gocryptfs -init writes the v2 default format");
    let volume = Volume::new(format, &config.decrypt_master_key(PASSWORD.as_bytes()).unwrap());

    let (root, bad) = offline::list(&volume, &cipher, true).unwrap();
    assert!(bad.is_empty());
    let names: Vec<String> = root.iter().map(|e| String::from_utf8(e.plain_name.clone()).unwrap()).collect();
    assert_eq!(names, ["a", "notes.txt", "shortcut", long_name.as_str()]);
    assert_eq!(offline::read_file(&volume, &root[1].cipher_path).unwrap(), b"written by gocryptfs\n");
    assert_eq!(offline::read_link(&volume, &root[2].cipher_path).unwrap(), b"a/b/big.bin");
    assert_eq!(offline::read_file(&volume, &root[3].cipher_path).unwrap(), b"long");
    let (a, _) = offline::list(&volume, &root[0].cipher_path, false).unwrap();
    let (b, _) = offline::list(&volume, &a[0].cipher_path, false).unwrap();
    assert_eq!(offline::read_file(&volume, &b[0].cipher_path).unwrap(), sample_data());
}
