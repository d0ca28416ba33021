#!/usr/bin/python3
"""Compare everyday file operations on a native directory and on cfgfs mounts.

Run with Debian's python3 (nothing outside the standard library is used):

    CFGFS_BIN=build/fs/cfgfs /usr/bin/python3 bench/run.py [--scale 0.5]

The same small config tree is laid out three times under one scratch
directory (on the file system of $TMPDIR, default /tmp): served natively,
through a cfgfs mount with default options, and through one with fsync=off.
Each operation is timed in a few rounds of a bounded loop; the table shows
the median round's time per operation and the ratio to native. Nothing is
built here and nothing is asserted: the numbers are for reading, not for
passing or failing. Every mount is unmounted at the end, also on Ctrl-C.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MOUNT_TIMEOUT_S = 10.0
UNMOUNT_TIMEOUT_S = 10.0
ROUNDS = 5
BIG_FILE_BYTES = 4 * 1024 * 1024
LISTED_FILES = 200
SMALL_FILES = 20

SMALL_YAML = """\
service: orders
replicas: 3
listen: {host: 0.0.0.0, port: 8080}
features: [audit_log, new_checkout]
"""


def make_tree(root):
    """The tree every setup starts from."""
    os.makedirs(os.path.join(root, "list"))
    os.makedirs(os.path.join(root, "small"))
    os.makedirs(os.path.join(root, "created"))
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(BIG_FILE_BYTES))
    for i in range(SMALL_FILES):
        with open(os.path.join(root, "small", f"s{i}.yaml"), "w") as f:
            f.write(SMALL_YAML)
    for i in range(LISTED_FILES):
        with open(os.path.join(root, "list", f"f{i:03}.txt"), "w") as f:
            f.write(f"line {i}\n")
    with open(os.path.join(root, "app.yaml"), "w") as f:
        f.write(SMALL_YAML)


class Mount:
    """A cfgfs process serving SRC at MNT in the foreground, logging to a file."""

    def __init__(self, binary, src, mnt, options, log_path):
        self.mnt = mnt
        self.log_path = log_path
        cmd = [binary, "-f"]
        if options:
            cmd += ["-o", options]
        cmd += [src, mnt]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not os.path.ismount(mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"cfgfs did not mount {mnt}; see {log_path}:\n"
                                   + open(log_path).read())
            time.sleep(0.02)

    def close(self):
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        try:
            self.proc.wait(timeout=UNMOUNT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            subprocess.run(["umount", "-l", self.mnt], check=False)
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ---- the operations: each takes the tree root and an iteration index ----

def op_read_big(root, i):
    with open(os.path.join(root, "big.bin"), "rb") as f:
        while f.read(1 << 20):
            pass


def op_small_read(root, i):
    with open(os.path.join(root, "small", f"s{i % SMALL_FILES}.yaml"), "rb") as f:
        f.read()


def op_stat(root, i):
    os.stat(os.path.join(root, "small", f"s{i % SMALL_FILES}.yaml"))


def op_create(root, i):
    # a fresh name every time: each call is one new saved file
    with open(os.path.join(root, "created", f"n{op_create.serial}.yaml"), "w") as f:
        f.write(SMALL_YAML)
    op_create.serial += 1


op_create.serial = 0


def op_rewrite(root, i):
    # in place (O_TRUNC), with different valid content each time
    with open(os.path.join(root, "app.yaml"), "w") as f:
        f.write(SMALL_YAML + f"generation: {op_rewrite.serial}\n")
    op_rewrite.serial += 1


op_rewrite.serial = 0


def op_listdir(root, i):
    d = os.path.join(root, "list")
    for e in os.scandir(d):
        os.lstat(os.path.join(d, e.name))


def op_ls(root, i):
    subprocess.run(["ls", "-l", os.path.join(root, "list")], stdout=subprocess.DEVNULL,
                   check=True)


# name, function, iterations per round (before --scale)
OPS = [
    ("read 4 MiB (cached)", op_read_big, 20),
    ("open+read+close small", op_small_read, 1000),
    ("stat", op_stat, 4000),
    ("create+write+close .yaml", op_create, 40),
    ("rewrite .yaml in place", op_rewrite, 40),
    ("readdir+lstat, 200 files", op_listdir, 40),
    ("ls -l, 200 files (process)", op_ls, 20),
]


def measure(root, fn, n):
    """Median over ROUNDS of the mean time per call, in seconds."""
    fn(root, 0)  # warm caches (and, for reads, the kernel page cache)
    rounds = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for i in range(n):
            fn(root, i)
        rounds.append((time.perf_counter() - t0) / n)
    return statistics.median(rounds)


def fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:8.1f} us"
    if s < 1:
        return f"{s * 1e3:8.2f} ms"
    return f"{s:8.2f} s "


def commits(src):
    r = subprocess.run(["git", "--git-dir", os.path.join(src, ".git"), "rev-list", "--count",
                        "HEAD"], capture_output=True, text=True, check=False)
    return r.stdout.strip() if r.returncode == 0 else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every iteration count (default 1.0)")
    args = ap.parse_args()

    binary = os.environ.get("CFGFS_BIN")
    if not binary:
        here = os.path.dirname(os.path.abspath(__file__))
        binary = os.path.join(os.path.dirname(here), "build", "fs", "cfgfs")
        print(f"CFGFS_BIN not set; using {binary}")
    binary = os.path.abspath(binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"bench: {binary} is not an executable cfgfs (set CFGFS_BIN)")

    scratch = tempfile.mkdtemp(prefix="cfgfs-bench.")
    setups = [("native", None), ("cfgfs", ""), ("fsync=off", "fsync=off")]
    roots, mounts = {}, []
    try:
        for name, options in setups:
            src = os.path.join(scratch, f"{name}-src")
            make_tree(src)
            if options is None:
                roots[name] = src
                continue
            mnt = os.path.join(scratch, f"{name}-mnt")
            os.mkdir(mnt)
            mounts.append((name, src, Mount(binary, src, mnt, options,
                                            os.path.join(scratch, f"{name}.log"))))
            roots[name] = mnt

        fstype = subprocess.run(["stat", "-f", "-c", "%T", scratch], capture_output=True,
                                text=True).stdout.strip()
        print(f"cfgfs: {binary}")
        print(f"native directory and cfgfs sources on {fstype} ({scratch}); "
              f"{os.uname().release}; median of {ROUNDS} rounds")
        print()
        header = f"{'operation':<28} {'native':>11} {'cfgfs':>11} {'ratio':>7} " \
                 f"{'fsync=off':>11} {'ratio':>7}"
        print(header)
        print("-" * len(header))
        for label, fn, n in OPS:
            n = max(1, int(n * args.scale))
            t = {}
            for name, _ in setups:
                t[name] = measure(roots[name], fn, n)
            print(f"{label:<28} {fmt_time(t['native'])} {fmt_time(t['cfgfs'])} "
                  f"{t['cfgfs'] / t['native']:6.1f}x {fmt_time(t['fsync=off'])} "
                  f"{t['fsync=off'] / t['native']:6.1f}x", flush=True)
        print()
        for name, src, _ in mounts:
            print(f"{name}: {commits(src)} commits in its store")
    finally:
        for name, src, m in mounts:
            m.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
