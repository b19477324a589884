//! The recipe users follow, with the real munge daemon:
//!   export SECRET=$(mask-passwd | munge -i /dev/stdin)
//!   echo "$SECRET" | unmunge -i /dev/stdin -m /dev/null
//! What comes back must be exactly what was typed (plus the newline).

mod common;

use common::{Pane, armorbox, require, run, shell_path};
use std::process::Command;

fn munged_answers() -> bool {
    run(Command::new("sh").args(["-c", "munge -n </dev/null | unmunge >/dev/null"])).status.success()
}

#[test]
fn typed_password_survives_munge_and_unmunge_exactly() {
    for tool in ["munge", "unmunge", "munged"] {
        require(tool);
    }
    assert!(munged_answers(), "munged does not answer: run tests/setup/prepare.sh (make test does)");

    let typed = "correct horse €42 'quoted' \"twice\"";
    let pipeline = format!(
        "SECRET=$({} mask-passwd | munge -i /dev/stdin) && echo \"$SECRET\" > credential && \
         echo \"$SECRET\" | unmunge -i /dev/stdin -m /dev/null",
        shell_path(&armorbox())
    );
    let pane = Pane::run_recorded(&pipeline);
    pane.wait_screen("Password:");
    pane.type_text(typed);
    assert_eq!(pane.line_with("Password:"), format!("Password: {}", "*".repeat(typed.chars().count())));
    pane.press(&["Enter"]);
    assert_eq!(pane.exit_code(), 0, "stderr: {}", String::from_utf8_lossy(&pane.file("err").unwrap()));
    assert_eq!(pane.output(), format!("{typed}\n").as_bytes());
    let credential = String::from_utf8(pane.file("credential").unwrap()).unwrap();
    assert!(credential.starts_with("MUNGE:"), "not a munge credential: {credential}");
    assert!(!credential.contains("horse"), "the credential must not carry the password in clear");
    assert!(pane.terminal_mode_restored());
}
