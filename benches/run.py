#!/usr/bin/env python3
"""armorbox against the tools it replaces, in one run on the same input.

    make bench            (or: python3 benches/run.py PATH-TO-ARMORBOX)

secarc vs 7zz: compression time, archive size, peak memory, extraction time, on
about 60 MB and on a 24 MiB subset (the two ways secarc uses two cores), with
the documented switches (-p -mhe=on -mx=9 -m0=lzma2 -mtc=on -mtm=on -mta=on).
vaultfs vs gocryptfs: streaming write and read of 256 MiB through a mount.
Figures are printed as ratios (armorbox / peer): below 1 is better for times, sizes
and memory. Never run by `make test`: timings are not asserted anywhere.
"""
import os, resource, shutil, subprocess, sys, tempfile, time

ARMORBOX = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/x86_64-unknown-linux-musl/release/armorbox")
SWITCHES = ["-mhe=on", "-mx=9", "-m0=lzma2", "-mtc=on", "-mtm=on", "-mta=on"]
PASSWORD = "bench password"


def timed(cmd, cwd, stdin=None):
    """Wall time and peak RSS (KiB) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=stdin)
    elapsed = time.monotonic() - start
    # ru_maxrss of children is the max over all children so far: run the peak-heavy
    # commands in fresh subprocess trees to read it (see measure()).
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before


def measure(cmd, cwd):
    """Runs `cmd` in a fresh python child so its peak RSS is its own."""
    probe = (
        "import resource,subprocess,sys,time;t=time.monotonic();"
        "subprocess.run(sys.argv[2:],cwd=sys.argv[1],check=True,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,stdin=subprocess.DEVNULL);"
        "print(time.monotonic()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, cwd] + cmd, check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def corpus(root, name="sensitive_data", budget=60 << 20):
    """About 60 MB a researcher might archive: text, CSV-like data and binaries."""
    data = os.path.join(root, name)
    os.makedirs(data)
    used = 0
    for src in ["/usr/share/doc", "/usr/lib/x86_64-linux-gnu"]:
        for dirpath, _, files in os.walk(src):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                size = os.path.getsize(path)
                if size > 8 << 20 or used + size > budget:
                    continue
                dest = os.path.join(data, os.path.relpath(path, "/").replace("/", "_"))
                shutil.copyfile(path, dest)
                used += size
            if used >= budget:
                break
    rows = ["id,lab,value,flag"] + [f"{i},{i % 17},{(i * 7919) % 100003},{i % 2}" for i in range(200_000)]
    with open(os.path.join(data, "measurements.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    return used


def bench_secarc(work, name="sensitive_data", budget=60 << 20):
    """The seed's corpus (about 60 MB: pieces on several cores), or a smaller one
    (under 48 MiB: one stream with a match-finder thread)."""
    size = corpus(work, name, budget)
    print(f"secarc vs 7zz on {size / 1e6:.1f} MB ({len(os.listdir(os.path.join(work, name)))} files), switches {' '.join(SWITCHES)}")
    ours_t, ours_m = measure([ARMORBOX, "secarc", "a", f"-p{PASSWORD}", *SWITCHES, "ours.7z", f"{name}/"], work)
    theirs_t, theirs_m = measure(["7zz", "a", f"-p{PASSWORD}", *SWITCHES, "theirs.7z", f"{name}/"], work)
    ours_s, theirs_s = os.path.getsize(os.path.join(work, "ours.7z")), os.path.getsize(os.path.join(work, "theirs.7z"))
    x_ours, _ = measure([ARMORBOX, "secarc", "x", f"-p{PASSWORD}", "-oout-ours", "ours.7z"], work)
    x_theirs, _ = measure(["7zz", "x", f"-p{PASSWORD}", "-oout-theirs", "theirs.7z"], work)
    print(f"  compression time  {ours_t:7.1f} s vs {theirs_t:7.1f} s   ratio {ours_t / theirs_t:.2f}")
    print(f"  archive size      {ours_s:>9} vs {theirs_s:>9} B ratio {ours_s / theirs_s:.4f}")
    print(f"  peak memory       {ours_m / 1024:7.0f} MiB vs {theirs_m / 1024:5.0f} MiB ratio {ours_m / theirs_m:.2f}")
    print(f"  extraction time   {x_ours:7.2f} s vs {x_theirs:7.2f} s   ratio {x_ours / x_theirs:.2f}")


def bench_vaultfs(work):
    pw = os.path.join(work, "pw")
    with open(pw, "w") as f:
        f.write("bench\n")
    # gocryptfs's canonical set beyond dd: untar a tree of many small files, list it, remove it.
    tarball = os.path.join(work, "tree.tar.gz")
    subprocess.run(["tar", "czf", tarball, "-C", "/usr/share", "doc"], check=True, stderr=subprocess.DEVNULL)
    results = {}
    meta = {}
    for tool in ["vaultfs", "gocryptfs"]:
        cipher, plain = os.path.join(work, f"{tool}-c"), os.path.join(work, f"{tool}-p")
        os.makedirs(cipher)
        os.makedirs(plain)
        cmd = [ARMORBOX, "vaultfs"] if tool == "vaultfs" else ["gocryptfs"]
        subprocess.run(cmd + ["-q", "-init", "-scryptn=10", "-passfile", pw, cipher], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(cmd + ["-q", "-passfile", pw, cipher, plain], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            w, _ = measure(["dd", "if=/dev/zero", f"of={plain}/zero", "bs=131072", "count=2048", "conv=fsync"], work)
            r, _ = measure(["dd", f"if={plain}/zero", "of=/dev/null", "bs=131072"], work)
            untar, _ = measure(["tar", "xzf", tarball, "-C", plain], work)
            ls, _ = measure(["ls", "-lR", plain], work)
            rm, _ = measure(["rm", "-rf", f"{plain}/doc"], work)
            meta[tool] = (untar, ls, rm)
        finally:
            subprocess.run(["fusermount3", "-u", plain], check=False)
        results[tool] = (256 / w, 256 / r)
    (vw, vr), (gw, gr) = results["vaultfs"], results["gocryptfs"]
    print("vaultfs vs gocryptfs, 256 MiB streaming through a mount (MiB/s, higher is better)")
    print(f"  write  {vw:7.0f} vs {gw:7.0f}   ratio {vw / gw:.2f}")
    print(f"  read   {vr:7.0f} vs {gr:7.0f}   ratio {vr / gr:.2f}")
    print("vaultfs vs gocryptfs, /usr/share/doc as a tree of small files (seconds, lower is better)")
    for i, what in enumerate(["untar", "ls -lR", "rm -rf"]):
        ours, theirs = meta["vaultfs"][i], meta["gocryptfs"][i]
        print(f"  {what:7} {ours:6.2f} vs {theirs:6.2f}   ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(dir="/var/tmp") as work:
        bench_vaultfs(work)
    with tempfile.TemporaryDirectory(dir="/var/tmp") as work:
        bench_secarc(work)
    with tempfile.TemporaryDirectory(dir="/var/tmp") as work:
        bench_secarc(work, "medium_data", 24 << 20)
