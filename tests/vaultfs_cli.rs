//! vaultfs's command line beyond mounting with a passfile: every -init format read by
//! the real gocryptfs, the terminal prompt and the master-key printout, -extpass,
//! -masterkey=stdin, -config, -nonempty, the fusermount3 mount path.

mod common;

use common::{Pane, TempDir, armorbox, ok, require, run, shell_path, stderr, stdout};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Dirs {
    tmp: TempDir,
}

impl Dirs {
    fn new() -> Self {
        require("fusermount3");
        let tmp = TempDir::new().unwrap();
        for d in ["cipher", "plain"] {
            fs::create_dir(tmp.path().join(d)).unwrap();
        }
        fs::write(tmp.path().join("pw"), "cli test\n").unwrap();
        Dirs { tmp }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
    fn unmount(&self) {
        common::unmount_fuse(&self.p("plain"));
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        if common::is_mounted(&self.p("plain")) {
            self.unmount();
        }
    }
}

fn vaultfs(args: &[&Path]) -> std::process::Output {
    run(Command::new(armorbox()).arg("vaultfs").args(args))
}

fn s(p: &str) -> &Path {
    Path::new(p)
}

#[test]
fn every_init_format_is_read_by_the_real_gocryptfs() {
    require("gocryptfs");
    for flags in
        [&[][..], &["-plaintextnames"], &["-deterministic-names"], &["-xchacha"], &["-aessiv"], &["-longnamemax=100"]]
    {
        let d = Dirs::new();
        let mut args: Vec<&Path> = vec![s("-q"), s("-init"), s("-scryptn=10"), s("-passfile")];
        let pw = d.p("pw");
        args.push(&pw);
        args.extend(flags.iter().map(|f| s(f)));
        let cipher = d.p("cipher");
        args.push(&cipher);
        let out = vaultfs(&args);
        assert!(out.status.success(), "{flags:?}: {}", stderr(&out));
        let plain = d.p("plain");
        let out = vaultfs(&[s("-q"), s("-passfile"), &pw, &cipher, &plain]);
        assert!(out.status.success(), "{flags:?}: {}", stderr(&out));
        let name = format!("name-{}", "q".repeat(120));
        fs::write(plain.join(&name), "content").unwrap();
        d.unmount();
        let out = run(Command::new("gocryptfs").arg("-q").arg("-passfile").arg(&pw).arg(&cipher).arg(&plain));
        assert!(out.status.success(), "{flags:?}: gocryptfs: {}", stderr(&out));
        assert_eq!(fs::read_to_string(plain.join(&name)).unwrap(), "content", "{flags:?}");
        let info = run(Command::new("gocryptfs").arg("-info").arg(&cipher));
        d.unmount();
        let expected_flag = match flags.first().copied() {
            Some("-plaintextnames") => "PlaintextNames",
            Some("-xchacha") => "XChaCha20Poly1305",
            Some("-aessiv") => "AESSIV",
            Some("-longnamemax=100") => "LongNameMax",
            _ => "HKDF",
        };
        assert!(stdout(&info).contains(expected_flag), "{flags:?}: {}", stdout(&info));
        if flags == ["-deterministic-names"] {
            assert!(!cipher.join("gocryptfs.diriv").exists());
        }
    }
}

#[test]
fn init_on_a_terminal_asks_twice_and_prints_a_master_key_that_mounts() {
    let d = Dirs::new();
    let pane = Pane::run_recorded(&format!(
        "{} vaultfs -init -scryptn=10 {}",
        shell_path(&armorbox()),
        shell_path(&d.p("cipher"))
    ));
    pane.wait_screen("Password:");
    pane.type_text("typed secret");
    pane.press(&["Enter"]);
    pane.wait_screen("Repeat:");
    pane.type_text("typed secret");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0, "{}", String::from_utf8_lossy(&pane.file("err").unwrap_or_default()));
    assert!(!pane.screen().contains("typed secret"), "password shown");
    // stdout is a file here, so like gocryptfs no key is printed there…
    let printed = String::from_utf8(pane.output()).unwrap();
    assert!(!printed.contains("Your master key is"), "{printed}");
    drop(pane);
    // …but on a terminal it is, in gocryptfs's layout, and it mounts.
    let d2 = Dirs::new();
    let pane = Pane::start(&format!(
        "{} vaultfs -init -scryptn=10 -passfile {} {}; exec sleep 600",
        shell_path(&armorbox()),
        shell_path(&d2.p("pw")),
        shell_path(&d2.p("cipher"))
    ));
    let screen = pane.wait_screen("This message is only printed once.");
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines.iter().position(|l| *l == "Your master key is:").expect("header");
    let key = format!("{}{}", lines[at + 2].trim(), lines[at + 3].trim());
    assert_eq!(key.len(), 71, "8 groups of 8 hex digits and 7 dashes: {key}");
    let masterkey = format!("-masterkey={key}");
    let out = vaultfs(&[s("-q"), s(&masterkey), &d2.p("cipher"), &d2.p("plain")]);
    assert!(out.status.success(), "{}", stderr(&out));
    fs::write(d2.p("plain/f"), "by master key").unwrap();
    d2.unmount();
    let out = vaultfs(&[s("-q"), s("-passfile"), &d2.p("pw"), &d2.p("cipher"), &d2.p("plain")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(d2.p("plain/f")).unwrap(), "by master key");
}

#[test]
fn mount_prompts_on_the_terminal_when_no_password_source_is_given() {
    let d = Dirs::new();
    assert!(
        vaultfs(&[s("-q"), s("-init"), s("-scryptn=10"), s("-passfile"), &d.p("pw"), &d.p("cipher")]).status.success()
    );
    let pane = Pane::run_recorded(&format!(
        "{} vaultfs -q {} {} < /dev/tty",
        shell_path(&armorbox()),
        shell_path(&d.p("cipher")),
        shell_path(&d.p("plain"))
    ));
    pane.wait_screen("Password:");
    pane.type_text("cli test");
    assert_eq!(pane.line_with("Password:"), "Password: ********");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0, "{}", String::from_utf8_lossy(&pane.file("err").unwrap_or_default()));
    fs::write(d.p("plain/x"), "typed").unwrap();
    d.unmount();
}

#[test]
fn extpass_masterkey_stdin_config_and_nonempty() {
    let d = Dirs::new();
    // -config: the config lives outside the cipher directory.
    let conf = d.p("elsewhere.conf");
    let out = vaultfs(&[
        s("-q"),
        s("-init"),
        s("-scryptn=10"),
        s("-passfile"),
        &d.p("pw"),
        s("-config"),
        &conf,
        &d.p("cipher"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(conf.exists() && !d.p("cipher/gocryptfs.conf").exists());
    // -extpass: a command prints the password.
    let extpass = format!("-extpass=cat {}", d.p("pw").display());
    let out = vaultfs(&[s("-q"), s(&extpass), s("-config"), &conf, &d.p("cipher"), &d.p("plain")]);
    assert!(out.status.success(), "{}", stderr(&out));
    fs::write(d.p("plain/f"), "via extpass").unwrap();
    d.unmount();
    // -nonempty mounts over a directory with files; without it, exit 10.
    fs::write(d.p("plain/underneath"), "hidden while mounted").unwrap();
    let out = vaultfs(&[s("-q"), s("-passfile"), &d.p("pw"), s("-config"), &conf, &d.p("cipher"), &d.p("plain")]);
    assert_eq!(out.status.code(), Some(10));
    let out = vaultfs(&[
        s("-q"),
        s("-nonempty"),
        s("-passfile"),
        &d.p("pw"),
        s("-config"),
        &conf,
        &d.p("cipher"),
        &d.p("plain"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(d.p("plain/f")).unwrap(), "via extpass");
    assert!(!d.p("plain/underneath").exists());
    d.unmount();
    fs::remove_file(d.p("plain/underneath")).unwrap();
    // -masterkey=stdin, on a filesystem made with a known key (-init -masterkey).
    let d2 = Dirs::new();
    let key = "00112233-44556677-8899aabb-ccddeeff-00112233-44556677-8899aabb-ccddeeff";
    let masterkey = format!("-masterkey={key}");
    // The password on stdin: -passfile with -masterkey is refused, as gocryptfs does.
    let out = run(Command::new(armorbox())
        .args(["vaultfs", "-q", "-init", "-scryptn=10", &masterkey])
        .arg(d2.p("cipher"))
        .stdin(fs::File::open(d2.p("pw")).unwrap()));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut child = Command::new(armorbox())
        .args(["vaultfs", "-q", "-masterkey=stdin"])
        .arg(d2.p("cipher"))
        .arg(d2.p("plain"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{key}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    fs::write(d2.p("plain/k"), "key from stdin").unwrap();
    d2.unmount();
    let out = vaultfs(&[s("-q"), s("-masterkey=not-hex"), &d2.p("cipher"), &d2.p("plain")]);
    assert_eq!(out.status.code(), Some(14));
}

#[test]
fn the_unprivileged_path_through_fusermount3_mounts_too() {
    let d = Dirs::new();
    assert!(
        vaultfs(&[s("-q"), s("-init"), s("-scryptn=10"), s("-passfile"), &d.p("pw"), &d.p("cipher")]).status.success()
    );
    let out = run(Command::new(armorbox())
        .args(["vaultfs", "-q", "-passfile"])
        .arg(d.p("pw"))
        .arg(d.p("cipher"))
        .arg(d.p("plain"))
        .env("VAULTFS_MOUNT_HELPER", "fusermount3"));
    assert!(out.status.success(), "{}", stderr(&out));
    fs::write(d.p("plain/f"), "through fusermount3").unwrap();
    assert_eq!(fs::read_to_string(d.p("plain/f")).unwrap(), "through fusermount3");
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        mounts.lines().any(|l| l.contains(d.p("plain").to_str().unwrap()) && l.contains("fuse.gocryptfs")),
        "{mounts}"
    );
    d.unmount();
}

#[test]
fn repeated_passfiles_concatenate_and_notifypid_signals_readiness() {
    let d = Dirs::new();
    fs::write(d.p("pw1"), "first half\nignored line\n").unwrap();
    fs::write(d.p("pw2"), " second half\n").unwrap();
    fs::write(d.p("pw"), "first half second half\n").unwrap();
    assert!(
        vaultfs(&[s("-q"), s("-init"), s("-scryptn=10"), s("-passfile"), &d.p("pw"), &d.p("cipher")]).status.success()
    );
    // -notifypid: a shell waits for SIGUSR1 from the foreground mount, as gocryptfs's
    // test harness does.
    let script = format!(
        "trap 'echo ready > {ready}; kill $child $sleeper; exit 0' USR1; \
         {bin} vaultfs -q -fg -notifypid=$$ -passfile {pw1} -passfile {pw2} {cipher} {plain} & child=$!; \
         sleep 20 & sleeper=$!; wait $sleeper; echo timeout > {ready}",
        ready = shell_path(&d.p("ready")),
        bin = shell_path(&armorbox()),
        pw1 = shell_path(&d.p("pw1")),
        pw2 = shell_path(&d.p("pw2")),
        cipher = shell_path(&d.p("cipher")),
        plain = shell_path(&d.p("plain")),
    );
    let out = run(Command::new("bash").arg("-c").arg(script));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(d.p("ready")).unwrap(), "ready\n");
}

#[test]
fn allow_other_lets_another_user_in_and_only_then() {
    let d = Dirs::new();
    assert!(
        vaultfs(&[s("-q"), s("-init"), s("-scryptn=10"), s("-passfile"), &d.p("pw"), &d.p("cipher")]).status.success()
    );
    // Let "nobody" traverse to the mount point.
    for dir in [d.tmp.path().to_path_buf(), d.p("plain")] {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let as_nobody =
        |plain: &Path| run(Command::new("runuser").args(["-u", "nobody", "--", "cat"]).arg(plain.join("f")));
    for (flags, allowed) in [(&[][..], false), (&["-allow_other"][..], true)] {
        let mut args = vec![s("-q")];
        args.extend(flags.iter().map(|f| s(f)));
        let (pw, cipher, plain) = (d.p("pw"), d.p("cipher"), d.p("plain"));
        args.extend([s("-passfile"), &pw, &cipher, &plain]);
        assert!(vaultfs(&args).status.success());
        fs::write(plain.join("f"), "shared").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(plain.join("f"), fs::Permissions::from_mode(0o644)).unwrap();
        let out = as_nobody(&plain);
        assert_eq!(out.status.success(), allowed, "{flags:?}: {}", stderr(&out));
        if allowed {
            assert_eq!(stdout(&out), "shared");
        }
        d.unmount();
    }
}

/// Under a tight `ulimit -u` the mount serves with the threads the system gives, and
/// a write too large for one thread is encrypted on the FUSE thread instead of in a
/// pool the system refuses. Before, the FUSE session failed to start its threads, or
/// rayon's global pool panicked inside the request: the daemon died, the write was lost.
#[test]
fn with_no_thread_to_spare_for_encryption_a_large_write_still_lands() {
    require("runuser");
    require("prlimit");
    require("gocryptfs");
    let d = Dirs::new();
    assert!(
        vaultfs(&[s("-q"), s("-init"), s("-scryptn=10"), s("-passfile"), &d.p("pw"), &d.p("cipher")]).status.success()
    );
    common::copy_executable(&armorbox(), &d.p("armorbox"));
    let data: Vec<u8> = (0..4u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    fs::write(d.p("data"), &data).unwrap();
    ok(&run(Command::new("chown").args(["-R", "nobody"]).arg(d.tmp.path())), "chown");
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(d.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let as_nobody =
        |args: &[&str]| run(Command::new("runuser").args(["-u", "nobody", "--"]).args(args).current_dir(d.tmp.path()));
    // Room for the waiting parent, the daemon, its signal thread, one fusermount3 and
    // one FUSE thread, one more for another test's passing `runuser -u nobody`, and
    // far from the 16 threads the encryption pool asks for.
    let room = common::tasks_of_uid(65534) + 6;
    let mounted = run(Command::new("runuser")
        .args(["-u", "nobody", "--", "env", "RAYON_NUM_THREADS=16", "VAULTFS_MOUNT_HELPER=fusermount3", "prlimit"])
        .arg(format!("--nproc={room}"))
        .args(["./armorbox", "vaultfs", "-q", "-passfile", "pw", "cipher", "plain"])
        .current_dir(d.tmp.path()));
    ok(&mounted, "vaultfs mount as nobody with little room for threads");
    ok(&as_nobody(&["dd", "if=data", "of=plain/big", "bs=1M", "conv=fsync"]), "writing 4 MiB in 1 MiB requests");
    ok(&as_nobody(&["fusermount3", "-u", "plain"]), "unmounting");
    // What reached the disk, read by the real gocryptfs.
    fs::create_dir(d.p("check")).unwrap();
    ok(
        &run(Command::new("gocryptfs")
            .args(["-q", "-ro", "-passfile"])
            .arg(d.p("pw"))
            .arg(d.p("cipher"))
            .arg(d.p("check"))),
        "gocryptfs",
    );
    let read_back = fs::read(d.p("check/big"));
    common::unmount_fuse(&d.p("check"));
    assert!(read_back.unwrap() == data, "the file gocryptfs reads differs from what was written");
}

fn init(d: &Dirs) {
    let out = vaultfs(&[s("-q"), s("-init"), s("-scryptn=10"), s("-passfile"), &d.p("pw"), &d.p("cipher")]);
    ok(&out, "-init");
}

#[test]
fn a_mount_creates_files_with_the_mode_asked_for_whatever_its_own_umask() {
    // The kernel already applied the creating process's umask; the daemon's own (022
    // here) must not take bits away again, as gocryptfs's umask 0 ensures.
    let d = Dirs::new();
    init(&d);
    let out = run(Command::new("sh").arg("-c").arg(format!(
        "umask 022; exec {} vaultfs -q -passfile {} {} {}",
        shell_path(&armorbox()),
        shell_path(&d.p("pw")),
        shell_path(&d.p("cipher")),
        shell_path(&d.p("plain"))
    )));
    ok(&out, "mount");
    let out = run(Command::new("sh").arg("-c").arg(format!(
        "umask 0; : > {f}; umask 077; : > {g}",
        f = shell_path(&d.p("plain/open-0666")),
        g = shell_path(&d.p("plain/open-0600"))
    )));
    ok(&out, "create");
    use std::os::unix::fs::PermissionsExt;
    let mode = |name: &str| fs::metadata(d.p(name)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("plain/open-0666"), 0o666);
    assert_eq!(mode("plain/open-0600"), 0o600);
    d.unmount();
}

/// A datagram socket standing in for syslog's `/dev/log`, and a shell line that runs
/// a command in a private mount namespace where `/dev/log` is that socket (and
/// `/dev/null`, `/dev/fuse` the real ones): nothing outside the test sees it.
struct FakeDevLog {
    socket: std::os::unix::net::UnixDatagram,
    setup: String,
}

impl FakeDevLog {
    fn new(d: &Dirs) -> Self {
        require("unshare");
        let path = d.p("log.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let dev = shell_path(&d.p("dev"));
        let setup = format!(
            "mkdir -p {dev} && mount -t tmpfs none {dev} && \
             for n in null zero urandom fuse; do touch {dev}/$n && mount --bind /dev/$n {dev}/$n; done && \
             touch {dev}/log && mount --bind {sock} {dev}/log && mount --rbind {dev} /dev",
            sock = shell_path(&path)
        );
        FakeDevLog { socket, setup }
    }

    fn next(&self) -> String {
        let mut buf = vec![0u8; 4096];
        let n = self.socket.recv(&mut buf).expect("a syslog message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[test]
fn a_detached_mount_logs_to_syslog_and_with_nosyslog_to_stderr() {
    let d = Dirs::new();
    init(&d);
    let log = FakeDevLog::new(&d);
    // -idle 1s makes the daemon say something once it has detached: that it unmounts.
    let mount = |extra: &str| {
        run(Command::new("unshare").arg("-m").arg("sh").arg("-c").arg(format!(
            "{setup} && exec {bin} vaultfs {extra} -idle 1s -passfile {pw} {cipher} {plain} 2> {err}",
            setup = log.setup,
            bin = shell_path(&armorbox()),
            pw = shell_path(&d.p("pw")),
            cipher = shell_path(&d.p("cipher")),
            plain = shell_path(&d.p("plain")),
            err = shell_path(&d.p("stderr")),
        )))
    };
    ok(&mount(""), "mount in a private namespace");
    let line = log.next();
    // <user.info>Mmm dd hh:mm:ss vaultfs[PID]: MESSAGE, as Go's log/syslog writes it.
    let (head, message) = line.split_once("]: ").unwrap_or_else(|| panic!("{line:?}"));
    assert!(head.starts_with("<14>"), "{line:?}");
    assert_eq!(head.as_bytes()[7], b' ', "RFC 3164 timestamp: {line:?}");
    let (_, pid) = head.rsplit_once(" vaultfs[").unwrap_or_else(|| panic!("{line:?}"));
    assert!(pid.parse::<u32>().is_ok(), "{line:?}");
    assert!(message.starts_with("idle for 1s: unmounting"), "{line:?}");
    let stderr_text = fs::read_to_string(d.p("stderr")).unwrap();
    assert!(!stderr_text.contains("idle"), "went to stderr too: {stderr_text}");

    // -nosyslog: the detached daemon keeps the caller's stderr, and syslog hears nothing.
    ok(&mount("-nosyslog"), "mount with -nosyslog");
    common::wait_for("the idle message on stderr", std::time::Duration::from_secs(20), || {
        fs::read_to_string(d.p("stderr")).ok().filter(|t| t.contains("idle for 1s: unmounting"))
    });
    log.socket.set_nonblocking(true).unwrap();
    assert!(log.socket.recv(&mut [0u8; 64]).is_err(), "-nosyslog still logged to syslog");
}

#[test]
fn in_the_foreground_with_nosyslog_messages_go_to_stderr() {
    let d = Dirs::new();
    init(&d);
    let out = run(Command::new(armorbox())
        .arg("vaultfs")
        .args(["-fg", "-nosyslog", "-idle", "1s", "-passfile"])
        .arg(d.p("pw"))
        .arg(d.p("cipher"))
        .arg(d.p("plain")));
    ok(&out, "-fg mount");
    assert!(stderr(&out).contains("idle for 1s: unmounting"), "{}", stderr(&out));
    // -q silences such information.
    let out = run(Command::new(armorbox())
        .arg("vaultfs")
        .args(["-q", "-fg", "-idle", "1s", "-passfile"])
        .arg(d.p("pw"))
        .arg(d.p("cipher"))
        .arg(d.p("plain")));
    ok(&out, "-q -fg mount");
    assert_eq!(stderr(&out), "");
}

#[test]
fn badname_is_repeatable_and_checked_and_bad_flags_exit_1() {
    let d = Dirs::new();
    init(&d);
    let pw = d.p("pw");
    let out = vaultfs(&[
        s("-q"),
        s("-badname=*a*,b?"),
        s("-badname"),
        s("[c]"),
        s("-passfile"),
        &pw,
        &d.p("cipher"),
        &d.p("plain"),
    ]);
    ok(&out, "-badname mount");
    d.unmount();
    for bad in [&["-badname=[x"][..], &["-passfile", "/x", "-extpass", "echo x"], &["-openssl=maybe"], &["-o", "o=x"]] {
        let mut args: Vec<&Path> = bad.iter().map(|a| s(a)).collect();
        let (cipher, plain) = (d.p("cipher"), d.p("plain"));
        args.extend([cipher.as_path(), plain.as_path()]);
        let out = vaultfs(&args);
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {}", stderr(&out));
    }
    // The help names the flags that are accepted and ignored, as gocryptfs ignores them.
    let help = stdout(&vaultfs(&[s("-help")]));
    assert!(help.contains("Ignored, as gocryptfs ignores them: -nofail -devrandom -forcedecode."), "{help}");
}

#[test]
fn fsck_skips_the_holes_of_a_sparse_terabyte_file() {
    let d = Dirs::new();
    init(&d);
    ok(&vaultfs(&[s("-q"), s("-passfile"), &d.p("pw"), &d.p("cipher"), &d.p("plain")]), "mount");
    {
        use std::os::unix::fs::FileExt;
        let f = fs::File::create(d.p("plain/big")).unwrap();
        f.write_all_at(b"foobar", 1 << 40).unwrap();
        f.write_all_at(b"start", 0).unwrap();
    }
    d.unmount();
    let started = std::time::Instant::now();
    let out = vaultfs(&[s("-fsck"), s("-passfile"), &d.p("pw"), &d.p("cipher")]);
    ok(&out, "-fsck");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    // Damage inside the data is still found.
    let name = fs::read_dir(d.p("cipher"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.file_name().unwrap().to_str().unwrap().starts_with("gocryptfs."))
        .unwrap();
    let f = fs::OpenOptions::new().write(true).open(&name).unwrap();
    let size = f.metadata().unwrap().len();
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", size - 3).unwrap();
    let out = vaultfs(&[s("-fsck"), s("-passfile"), &d.p("pw"), &d.p("cipher")]);
    assert_eq!(out.status.code(), Some(26), "{}{}", stdout(&out), stderr(&out));
}
