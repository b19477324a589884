//! The PALMA-style batch recipe under a real one-node Slurm (slurmctld, slurmd, munge,
//! started by tests/setup/start-slurm.sh): the job mounts an encrypted directory in its
//! TMPDIR with a munge-protected password, works, unmounts; a cancelled job's mount
//! disappears with it.

mod common;

use common::{TempDir, armorbox, require, run, stderr, stdout, wait_for};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const PASSWORD: &str = "batch job pässword";

fn slurm_answers() -> bool {
    run(Command::new("timeout").args(["20", "srun", "-N1", "-t", "1", "true"])).status.success()
}

/// A cipher directory made with vaultfs, the sample CSV inside, and the munge credential
/// that carries the password (as `mask-passwd | munge -i /dev/stdin` makes it).
struct Setup {
    work: TempDir,
    secret: String,
}

impl Setup {
    fn new() -> Self {
        for tool in ["sbatch", "scancel", "munge", "unmunge"] {
            require(tool);
        }
        assert!(slurm_answers(), "Slurm does not run jobs: run tests/setup/prepare.sh (make test does)");
        // Jobs run as root here; the work area must be reachable from the job.
        let work = TempDir::new_in("/var/tmp").unwrap();
        let w = work.path();
        fs::create_dir(w.join("bin")).unwrap();
        common::copy_executable(&armorbox(), &w.join("bin/armorbox"));
        let out = run(Command::new(w.join("bin/armorbox")).args(["--install", "-s"]).arg(w.join("bin")));
        assert!(out.status.success(), "{}", stderr(&out));
        fs::create_dir(w.join("data-encrypted")).unwrap();
        let pw = w.join("pw");
        fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
        let init = run(Command::new(armorbox())
            .args(["vaultfs", "-q", "-init", "-scryptn=10", "-passfile"])
            .arg(&pw)
            .arg(w.join("data-encrypted")));
        assert!(init.status.success(), "{}", stderr(&init));
        fs::create_dir(w.join("setup-plain")).unwrap();
        let mount = run(Command::new(armorbox())
            .args(["vaultfs", "-q", "-passfile"])
            .arg(&pw)
            .arg(w.join("data-encrypted"))
            .arg(w.join("setup-plain")));
        assert!(mount.status.success(), "{}", stderr(&mount));
        // With `cp`, not `fs::copy`: a descriptor open in this process leaks into the
        // children the other test forks meanwhile and can keep the mount busy for a
        // moment; the unmount below failed once in `make test`.
        let copied = run(Command::new("cp")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/demo/sample/measurements.csv"))
            .arg(w.join("setup-plain/measurements.csv")));
        assert!(copied.status.success(), "{}", stderr(&copied));
        let unmounted = run(Command::new("fusermount3").arg("-u").arg(w.join("setup-plain")));
        assert!(unmounted.status.success(), "{}", stderr(&unmounted));
        fs::remove_file(&pw).unwrap();
        let munged =
            run(Command::new("sh").arg("-c").arg(format!("printf '%s\\n' '{PASSWORD}' | munge -i /dev/stdin")));
        assert!(munged.status.success(), "{}", stderr(&munged));
        Setup { work, secret: stdout(&munged).trim().to_string() }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.work.path().join(name)
    }

    fn write_job(&self, name: &str, body: &str) -> std::path::PathBuf {
        let w = self.work.path().display();
        let script = format!(
            "#!/bin/bash\n#SBATCH --job-name=armorbox-{name}\n#SBATCH --output={w}/{name}.out\n#SBATCH --time=5\n\
             set -euo pipefail\nexport PATH={w}/bin:$PATH\nexport TMPDIR=$(mktemp -d {w}/job-$SLURM_JOB_ID.XXXX)\n\
             mkdir -p \"$TMPDIR/data-plain\"\n{body}"
        );
        let path = self.path(&format!("{name}.sbatch"));
        fs::write(&path, script).unwrap();
        path
    }

    fn sbatch(&self, script: &Path, wait: bool) -> std::process::Output {
        let mut cmd = Command::new("sbatch");
        cmd.arg("--parsable").arg(format!("--export=ALL,SECRET={}", self.secret)).current_dir(self.work.path());
        if wait {
            cmd.arg("--wait");
        }
        run(cmd.arg(script))
    }
}

fn is_mounted(path: &str) -> bool {
    common::is_mounted(Path::new(path))
}

#[test]
fn the_batch_recipe_mounts_works_and_unmounts_in_a_real_slurm_job() {
    let s = Setup::new();
    let data = s.path("data-encrypted");
    let script = s.write_job(
        "recipe",
        &format!(
            "vaultfs -passfile=<(echo \"$SECRET\" | unmunge -i /dev/stdin -m /dev/null) {data} \"$TMPDIR/data-plain\"\n\
             grep -q \" $TMPDIR/data-plain fuse.gocryptfs \" /proc/mounts\n\
             awk -F, 'NR > 1 {{ n++; s += $3 }} END {{ printf \"%d rows, mean systolic %.1f\\n\", n, s / n }}' \
             \"$TMPDIR/data-plain/measurements.csv\" > \"$TMPDIR/data-plain/result.txt\"\n\
             fusermount -u \"$TMPDIR/data-plain\"\n\
             ! grep -q \" $TMPDIR/data-plain \" /proc/mounts\n\
             echo \"job $SLURM_JOB_ID done\"\n",
            data = data.display()
        ),
    );
    let out = s.sbatch(&script, true);
    let log = fs::read_to_string(s.path("recipe.out")).unwrap_or_default();
    assert!(out.status.success(), "job failed: {}\n{log}", stderr(&out));
    assert!(log.contains("done"), "{log}");
    // The result was written encrypted: read it back through the real gocryptfs.
    require("gocryptfs");
    let plain = s.path("check-plain");
    fs::create_dir(&plain).unwrap();
    let pw = s.path("pw");
    fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let mount = run(Command::new("gocryptfs").arg("-q").arg("-passfile").arg(&pw).arg(&data).arg(&plain));
    assert!(mount.status.success(), "{}", stderr(&mount));
    let result = fs::read_to_string(plain.join("result.txt"));
    common::unmount_fuse(&plain);
    assert!(result.unwrap().starts_with("200 rows, mean systolic "));
}

#[test]
fn a_cancelled_job_takes_its_mount_with_it() {
    let s = Setup::new();
    let data = s.path("data-encrypted");
    let marker = s.path("mounted-at");
    let script = s.write_job(
        "cancelled",
        &format!(
            "vaultfs -passfile=<(echo \"$SECRET\" | unmunge -i /dev/stdin -m /dev/null) {} \"$TMPDIR/data-plain\"\n\
             echo \"$TMPDIR/data-plain\" > {}\nsleep 300\n",
            data.display(),
            marker.display()
        ),
    );
    let out = s.sbatch(&script, false);
    assert!(out.status.success(), "{}", stderr(&out));
    let job = stdout(&out).trim().to_string();
    let mountpoint = wait_for("the job to mount", Duration::from_secs(60), || {
        fs::read_to_string(&marker).ok().filter(|m| m.ends_with('\n')).map(|m| m.trim().to_string())
    });
    assert!(is_mounted(&mountpoint), "the job's mount is not there");
    assert!(Path::new(&mountpoint).join("measurements.csv").exists());
    assert!(run(Command::new("scancel").arg(&job)).status.success());
    wait_for("the cancelled job's mount to disappear", Duration::from_secs(30), || {
        (!is_mounted(&mountpoint)).then_some(())
    });
    assert!(!Path::new(&mountpoint).join("measurements.csv").exists(), "decrypted data still visible");
}
