//! The multicall binary: dispatch on argv[0] and on the first argument, the overview,
//! unknown names, every applet's --help, and `--install`.

mod common;

use common::{TempDir, armorbox, copy_executable, run, stderr, stdout};
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::process::Command;

const APPLETS: [&str; 6] = ["armor-node", "cvault-init", "cvault-mount", "mask-passwd", "secarc", "vaultfs"];
/// Applets whose work has not landed yet: they must say so, never pretend.
const NOT_BUILT: [&str; 2] = ["cvault-init", "cvault-mount"];

fn armorbox_with(args: &[&str]) -> std::process::Output {
    run(Command::new(armorbox()).args(args))
}

/// A copy of the binary in a fresh directory, so links can be made next to it.
fn binary_in_tempdir() -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new().unwrap();
    let bin = dir.path().join("armorbox");
    copy_executable(&armorbox(), &bin);
    (dir, bin)
}

#[test]
fn overview_lists_every_applet_with_one_line_each() {
    for args in [&[][..], &["--help"], &["-h"]] {
        let out = armorbox_with(args);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        for applet in APPLETS {
            let lines = text.lines().filter(|l| l.trim_start().starts_with(&format!("{applet} "))).count();
            assert_eq!(lines, 1, "{applet} in overview of {args:?}:\n{text}");
        }
    }
}

#[test]
fn version_and_list() {
    let out = armorbox_with(&["--version"]);
    assert_eq!(stdout(&out).trim(), format!("armorbox {}", env!("CARGO_PKG_VERSION")));
    let out = armorbox_with(&["--list"]);
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), APPLETS);
}

#[test]
fn unknown_applet_exits_127_and_lists_the_applets() {
    let out = armorbox_with(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("frobnicate"));
    for applet in APPLETS {
        assert!(stderr(&out).contains(applet), "{}", stderr(&out));
    }
    // The same through a link with an unknown name.
    let (dir, bin) = binary_in_tempdir();
    symlink(&bin, dir.path().join("frobnicate")).unwrap();
    let out = run(&mut Command::new(dir.path().join("frobnicate")));
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("applet not found: 'frobnicate'"));
}

#[test]
fn argv0_picks_the_applet_also_with_a_login_dash() {
    let (dir, bin) = binary_in_tempdir();
    symlink(&bin, dir.path().join("mask-passwd")).unwrap();
    let out = run(Command::new(dir.path().join("mask-passwd")).arg("--help"));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("Usage: mask-passwd"));
    // exec -a: argv[0] as a login shell would give it.
    let out = run(Command::new("bash").args(["-c", &format!("exec -a -mask-passwd {} --help", bin.display())]));
    assert!(stdout(&out).starts_with("Usage: mask-passwd"), "{}", stderr(&out));
    // A renamed download still acts as the multiplexer.
    let renamed = dir.path().join("armorbox-0.1-x86_64");
    copy_executable(&bin, &renamed);
    let out = run(Command::new(&renamed).args(["mask-passwd", "--help"]));
    assert!(stdout(&out).starts_with("Usage: mask-passwd"));
}

#[test]
fn a_link_named_gocryptfs_runs_vaultfs() {
    let (dir, bin) = binary_in_tempdir();
    symlink(&bin, dir.path().join("gocryptfs")).unwrap();
    let out = run(Command::new(dir.path().join("gocryptfs")).arg("-version"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("gocryptfs (armorbox vaultfs"), "{}", stdout(&out));
}

#[test]
fn every_applet_answers_help_and_dash_h() {
    for applet in APPLETS {
        for flag in ["--help", "-h"] {
            let out = armorbox_with(&[applet, flag]);
            assert_eq!(out.status.code(), Some(0), "{applet} {flag}: {}", stderr(&out));
            assert!(stdout(&out).contains(&format!("Usage: {applet}")), "{applet} {flag}:\n{}", stdout(&out));
        }
    }
}

#[test]
fn applets_not_built_yet_say_so_and_exit_69() {
    for applet in NOT_BUILT {
        let help = stdout(&armorbox_with(&[applet, "--help"]));
        assert!(help.contains("not built yet"), "{applet} --help must say it is not built:\n{help}");
        let out = armorbox_with(&[applet, "some", "args"]);
        assert_eq!(out.status.code(), Some(69), "{applet}");
        assert!(stderr(&out).starts_with(&format!("{applet}: not built yet")), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}

fn same_inode(a: &Path, b: &Path) -> bool {
    let (x, y) = (fs::metadata(a).unwrap(), fs::metadata(b).unwrap());
    (x.dev(), x.ino()) == (y.dev(), y.ino())
}

#[test]
fn install_makes_symbolic_links_that_run_each_applet() {
    let (_bin_dir, bin) = binary_in_tempdir();
    let links = TempDir::new().unwrap();
    let out = run(Command::new(&bin).args(["--install", "-s"]).arg(links.path()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for applet in APPLETS {
        let link = links.path().join(applet);
        assert_eq!(fs::read_link(&link).unwrap(), bin, "absolute target from another directory");
        let help = run(Command::new(&link).arg("--help"));
        assert!(stdout(&help).contains(&format!("Usage: {applet}")));
    }
    // Run again: nothing changes, exit 0.
    let again = run(Command::new(&bin).args(["--install", "-s"]).arg(links.path()));
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).contains("already a link to armorbox"));
}

#[test]
fn install_next_to_the_binary_uses_relative_links_and_hard_links_work() {
    let (dir, bin) = binary_in_tempdir();
    let out = run(Command::new(&bin).args(["--install", "-s"]).arg(dir.path()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read_link(dir.path().join("secarc")).unwrap(), Path::new("armorbox"));

    let hard = TempDir::new_in(dir.path()).unwrap();
    let out = run(Command::new(&bin).arg("--install").arg(hard.path()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for applet in APPLETS {
        assert!(same_inode(&hard.path().join(applet), &bin), "{applet} is a hard link");
    }
}

#[test]
fn install_never_overwrites_a_foreign_file_but_replaces_its_own_stale_links() {
    let (_bin_dir, bin) = binary_in_tempdir();
    let links = TempDir::new().unwrap();
    let foreign = links.path().join("vaultfs");
    fs::write(&foreign, "#!/bin/sh\necho my own vaultfs\n").unwrap();
    let foreign_link = links.path().join("secarc");
    symlink("/usr/bin/7zz", &foreign_link).unwrap();
    // A link to an armorbox that has moved away: ours, so it is refreshed.
    let stale = links.path().join("mask-passwd");
    symlink("/nonexistent/old/armorbox", &stale).unwrap();

    let out = run(Command::new(&bin).args(["--install", "-s"]).arg(links.path()));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("vaultfs") && stderr(&out).contains("secarc"));
    assert_eq!(fs::read_to_string(&foreign).unwrap(), "#!/bin/sh\necho my own vaultfs\n");
    assert_eq!(fs::read_link(&foreign_link).unwrap(), Path::new("/usr/bin/7zz"));
    assert_eq!(fs::read_link(&stale).unwrap(), bin);
    assert_eq!(fs::read_link(links.path().join("armor-node")).unwrap(), bin);
}

#[test]
fn install_rejects_bad_usage_and_missing_directories() {
    let out = armorbox_with(&["--install"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("usage: armorbox --install [-s] DIR"));
    let out = armorbox_with(&["--install", "-x", "/tmp"]);
    assert_eq!(out.status.code(), Some(1));
    let out = armorbox_with(&["--install", "-s", "/nonexistent/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/dir"));
}

#[test]
fn make_install_puts_the_binary_and_its_links_under_prefix() {
    let prefix = TempDir::new().unwrap();
    let out = run(Command::new("make")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("install")
        .arg(format!("PREFIX={}", prefix.path().display())));
    assert!(out.status.success(), "make install failed:\n{}{}", stdout(&out), stderr(&out));
    let bin = prefix.path().join("bin/armorbox");
    for applet in APPLETS {
        assert_eq!(fs::read_link(prefix.path().join("bin").join(applet)).unwrap(), Path::new("armorbox"));
    }
    let out = run(Command::new(prefix.path().join("bin/mask-passwd")).arg("--help"));
    assert!(stdout(&out).starts_with("Usage: mask-passwd"));
    assert!(bin.exists());
}
