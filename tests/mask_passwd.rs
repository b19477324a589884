//! mask-passwd driven through a real pseudo-terminal: keys typed as a person types them,
//! the screen read back, the terminal's mode compared before and after.

mod common;

use common::{Pane, TempDir, armorbox, run, shell_path, stderr, stdout, wait_for, wait_for_line};
use std::process::{Command, Stdio};
use std::time::Duration;

fn mask_passwd(args: &str) -> String {
    format!("{} mask-passwd {args}", shell_path(&armorbox()))
}

#[test]
fn typed_password_shows_as_stars_and_reaches_stdout_exactly() {
    let pane = Pane::run_recorded(&mask_passwd(""));
    pane.wait_screen("Password:");
    pane.type_text("Sup3r secret€");
    let line = pane.line_with("Password:");
    assert_eq!(line, format!("Password: {}", "*".repeat(13)), "one star per character");
    let screen = pane.screen();
    assert!(!screen.contains("Sup3r") && !screen.contains("secret"), "password shown:\n{screen}");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0);
    assert_eq!(pane.output(), "Sup3r secret€\n".as_bytes());
    assert!(pane.terminal_mode_restored());
    assert!(!pane.screen().contains("secret"), "password shown after Enter");
}

#[test]
fn backspace_delete_and_ctrl_u_edit_the_line() {
    let pane = Pane::run_recorded(&mask_passwd(""));
    pane.wait_screen("Password:");
    pane.type_text("abcé");
    pane.press(&["BSpace"]); // DEL (0x7f) removes the two-byte é
    assert_eq!(pane.line_with("Password:"), "Password: ***");
    pane.press(&["C-h"]); // Backspace (0x08)
    assert_eq!(pane.line_with("Password:"), "Password: **");
    pane.press(&["C-u"]);
    assert_eq!(pane.line_with("Password:"), "Password:");
    pane.type_text("new€");
    pane.press(&["BSpace"]);
    pane.type_text("!");
    assert_eq!(pane.line_with("Password:"), "Password: ****");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0);
    assert_eq!(pane.output(), b"new!\n");
}

#[test]
fn ctrl_c_aborts_with_130_and_restores_the_terminal() {
    let pane = Pane::run_recorded(&mask_passwd(""));
    pane.wait_screen("Password:");
    pane.type_text("half typed");
    pane.press(&["C-c"]);
    assert_eq!(pane.exit_code(), 130);
    assert!(pane.output().is_empty(), "nothing may reach stdout on abort");
    assert!(pane.terminal_mode_restored());
}

#[test]
fn ctrl_d_aborts_only_on_an_empty_line() {
    let pane = Pane::run_recorded(&mask_passwd(""));
    pane.wait_screen("Password:");
    pane.type_text("ab");
    pane.press(&["C-d"]);
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0, "Ctrl-D after text is ignored");
    assert_eq!(pane.output(), b"ab\n");

    let pane = Pane::run_recorded(&mask_passwd(""));
    pane.wait_screen("Password:");
    pane.press(&["C-d"]);
    assert_eq!(pane.exit_code(), 4);
    assert!(pane.output().is_empty());
    assert!(pane.terminal_mode_restored());
}

#[test]
fn signals_restore_the_terminal_and_exit_128_plus_signal() {
    for (signal, code) in [("TERM", 143), ("HUP", 129), ("INT", 130)] {
        let dir = TempDir::new().unwrap();
        let pid_file = dir.path().join("pid");
        // The inner sh records its pid, then becomes mask-passwd.
        let pane = Pane::run_recorded(&format!("sh -c 'echo $$ > {}; exec {}'", pid_file.display(), mask_passwd("")));
        pane.wait_screen("Password:");
        pane.type_text("secret");
        let pid = wait_for_line(&pid_file);
        let killed = Command::new("kill").args([&format!("-{signal}"), pid.trim()]).status().unwrap();
        assert!(killed.success());
        assert_eq!(pane.exit_code(), code, "exit code after SIG{signal}");
        assert!(pane.output().is_empty());
        assert!(pane.terminal_mode_restored(), "terminal mode not restored after SIG{signal}");
    }
}

#[test]
fn ctrl_z_suspends_with_the_terminal_restored_and_fg_resumes_the_prompt() {
    let dir = TempDir::new().unwrap();
    let d = shell_path(dir.path());
    // An interactive shell with job control, as a user has.
    let pane = Pane::start("env PS1='$ ' bash --norc --noprofile -i");
    pane.wait_screen("$");
    pane.type_text(&format!("cd {d}; stty -g > before; {} > out", mask_passwd("")));
    pane.press(&["Enter"]);
    pane.wait_screen("Password:");
    pane.type_text("ab");
    pane.press(&["C-z"]);
    pane.wait_screen("Stopped");
    pane.type_text("fg");
    pane.press(&["Enter"]);
    // The prompt comes back with the stars typed so far.
    wait_for("the prompt redrawn", Duration::from_secs(10), || {
        pane.screen().lines().rev().find(|l| l.starts_with("Password: **")).map(|_| ())
    });
    pane.type_text("c");
    pane.press(&["Enter"]);
    pane.type_text("echo $? > rc; stty -g > after");
    pane.press(&["Enter"]);
    let rc = wait_for_line(&dir.path().join("rc"));
    assert_eq!(rc.trim(), "0");
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), b"abc\n");
    let before = std::fs::read(dir.path().join("before")).unwrap();
    wait_for("stty after", Duration::from_secs(5), || {
        std::fs::read(dir.path().join("after")).ok().filter(|b| !b.is_empty())
    });
    assert_eq!(std::fs::read(dir.path().join("after")).unwrap(), before);
}

#[test]
fn sigtstp_restores_the_terminal_while_stopped_and_sigcont_resumes_the_prompt() {
    // Under plain sh (no job control) nobody else touches the terminal while the
    // prompt is stopped, so what the terminal shows then is our doing.
    let dir = TempDir::new().unwrap();
    let pid_file = dir.path().join("pid");
    let pane = Pane::run_recorded(&format!("sh -c 'echo $$ > {}; exec {}'", pid_file.display(), mask_passwd("")));
    pane.wait_screen("Password:");
    let cooked = pane.file("stty.before").unwrap();
    assert_ne!(pane.terminal_settings(), cooked, "the prompt runs with echo off");
    pane.type_text("ab");
    let pid = wait_for_line(&pid_file);
    let signal = |name: &str| assert!(Command::new("kill").args([name, pid.trim()]).status().unwrap().success());
    signal("-TSTP");
    wait_for("the terminal restored while stopped", Duration::from_secs(5), || {
        (pane.terminal_settings() == cooked).then_some(())
    });
    signal("-CONT");
    wait_for("the prompt redrawn", Duration::from_secs(5), || {
        pane.screen().lines().rev().find(|l| l.starts_with("Password: **")).map(|_| ())
    });
    assert_ne!(pane.terminal_settings(), cooked, "raw mode again after SIGCONT");
    pane.type_text("c");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0);
    assert_eq!(pane.output(), b"abc\n");
    assert!(pane.terminal_mode_restored());
}

#[test]
fn confirm_asks_again_until_both_entries_match() {
    let pane = Pane::run_recorded(&mask_passwd("--confirm"));
    pane.wait_screen("Password:");
    pane.type_text("one");
    pane.press(&["Enter"]);
    pane.wait_screen("Repeat password:");
    pane.type_text("two");
    pane.press(&["Enter"]);
    pane.wait_screen("do not match");
    pane.type_text("same");
    pane.press(&["Enter"]);
    pane.type_text("same");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0);
    assert_eq!(pane.output(), b"same\n");
}

#[test]
fn empty_password_is_refused_unless_allowed() {
    let pane = Pane::run_recorded(&mask_passwd(""));
    pane.wait_screen("Password:");
    pane.press(&["Enter"]);
    pane.wait_screen("Empty password refused");
    pane.type_text("x");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0);
    assert_eq!(pane.output(), b"x\n");

    let pane = Pane::run_recorded(&mask_passwd("--allow-empty"));
    pane.wait_screen("Password:");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0);
    assert_eq!(pane.output(), b"\n");
}

#[test]
fn custom_prompt_and_no_newline() {
    let pane = Pane::run_recorded(&mask_passwd("--prompt 'Vault key> ' -n"));
    pane.wait_screen("Vault key>");
    pane.type_text("k");
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0);
    assert_eq!(pane.output(), b"k");
    assert!(pane.file("err").unwrap().is_empty(), "the prompt must not go to stderr either");
}

#[test]
fn refuses_to_print_the_password_onto_a_terminal() {
    let dir = TempDir::new().unwrap();
    let rc = dir.path().join("rc");
    let pane = Pane::start(&format!("{}; echo $? > {}; exec sleep 600", mask_passwd(""), shell_path(&rc)));
    let code = wait_for_line(&rc);
    assert_eq!(code.trim(), "6");
    assert!(pane.screen().contains("stdout is a terminal"));
}

#[test]
fn without_a_terminal_it_fails_clearly_with_its_own_code() {
    // setsid: a new session with no controlling terminal, as under cron or a batch job.
    let out = run(Command::new("setsid").arg("-w").arg(armorbox()).arg("mask-passwd").stdin(Stdio::null()));
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("no terminal"));
    assert!(stderr(&out).contains("--stdin"));
    assert!(out.stdout.is_empty());
}

fn with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(armorbox())
        .arg("mask-passwd")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn stdin_mode_reads_exactly_the_first_line() {
    let out = with_stdin(&["--stdin"], "pässword with spaces\nsecond line\n".as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "pässword with spaces\n");
    let out = with_stdin(&["--stdin", "-n"], b"no newline at end");
    assert_eq!(out.stdout, b"no newline at end");
}

#[test]
fn stdin_mode_refuses_empty_and_missing_input() {
    let out = with_stdin(&["--stdin"], b"\n");
    assert_eq!(out.status.code(), Some(5));
    assert!(out.stdout.is_empty());
    let out = with_stdin(&["--stdin", "--allow-empty"], b"\n");
    assert_eq!((out.status.code(), out.stdout), (Some(0), b"\n".to_vec()));
    let out = with_stdin(&["--stdin"], b"");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn stdin_mode_refuses_a_terminal_stdin_which_would_echo() {
    let pane = Pane::run_recorded(&format!("{} < /dev/tty", mask_passwd("--stdin")));
    assert_eq!(pane.exit_code(), 1);
    assert!(String::from_utf8_lossy(&pane.file("err").unwrap()).contains("stdin is a terminal"));
}

#[test]
fn bad_command_lines_exit_1_with_a_hint() {
    for args in [&["--bogus"][..], &["--prompt"], &["--stdin", "--confirm"], &["extra"]] {
        let out = run(Command::new(armorbox()).arg("mask-passwd").args(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).starts_with("mask-passwd: "), "{args:?}: {}", stderr(&out));
    }
}
