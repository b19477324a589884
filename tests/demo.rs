//! `make demo` must keep working as applets land.

mod common;

use common::{armorbox, run, stderr, stdout};
use std::process::Command;

#[test]
fn demo_runs_the_workflow_end_to_end() {
    let out = run(Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/demo/demo.sh")).arg(armorbox()));
    assert!(out.status.success(), "demo failed:\n{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("recovered the password exactly"), "munge part did not run:\n{text}");
    assert!(text.contains("the CSV is stored encrypted"), "vaultfs part did not run:\n{text}");
    assert!(text.contains("sensitive_data/measurements.csv"), "secarc listing missing:\n{text}");
}
