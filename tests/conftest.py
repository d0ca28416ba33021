"""Fixtures for the end-to-end tests: real cfgfs mounts driven by real tools.

As in sshfs's test suite, a mount fixture waits for the mount to be ready and
fails the test when the daemon complains: at teardown the daemon's log (its
stderr with -f) must hold no `error` line and no sanitizer report, and the
daemon must exit with status 0 after a clean unmount.

The binary is $CFGFS_BIN, else build/fs/cfgfs (or build/cfgfs) under the repo.
Mounting needs root; tests that mount are skipped otherwise.
Run with: /usr/bin/python3 -m pytest tests/
"""
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MOUNT_TIMEOUT = 10.0     # seconds until a started daemon must show its mount
EXIT_TIMEOUT = 20.0      # seconds for a daemon to exit after the unmount
UNMOUNT_TRIES = 10
POLL = 0.02

SANITIZER_PATTERNS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer',
                      'runtime error:', 'ERROR: ThreadSanitizer',
                      'WARNING: ThreadSanitizer')
# TIME LEVEL EVENT key=value...
LOG_LINE = re.compile(r'^(\S+) (debug|info|warn|error) (\S+)(.*)$')


def cfgfs_bin():
    env = os.environ.get('CFGFS_BIN')
    if env:
        path = Path(env)
        if not path.is_absolute():
            path = REPO / path
    else:
        candidates = [REPO / 'build' / 'fs' / 'cfgfs', REPO / 'build' / 'cfgfs']
        path = next((c for c in candidates if c.is_file()), candidates[0])
    if not path.exists():
        pytest.skip(f'cfgfs binary not built at {path} (set CFGFS_BIN)')
    return path


def need_root():
    if os.geteuid() != 0:
        pytest.skip('mounting tests run as root')
    if not Path('/dev/fuse').exists():
        pytest.skip('/dev/fuse is missing')


def wait_until(pred, timeout=10.0, what='condition'):
    """Poll pred() until true; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout}s waiting for {what}')
        time.sleep(POLL)


def is_mounted(path):
    """True when a mount sits exactly at path (from /proc/self/mountinfo,
    which, unlike os.path.ismount, also sees a mount over its own source)."""
    path = os.path.realpath(str(path))
    with open('/proc/self/mountinfo') as f:
        for line in f:
            mp = line.split()[4].encode().decode('unicode_escape')
            if mp == path:
                return True
    return False


def mount_count(path):
    path = os.path.realpath(str(path))
    n = 0
    with open('/proc/self/mountinfo') as f:
        for line in f:
            if line.split()[4].encode().decode('unicode_escape') == path:
                n += 1
    return n


def log_problems(text):
    """The lines of a daemon log that fail a test: error level, sanitizers."""
    bad = []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if m and m.group(2) == 'error':
            bad.append(line)
        elif any(p in line for p in SANITIZER_PATTERNS):
            bad.append(line)
    return bad


def git(gitdir, *args, check=True, text=True, input=None):
    r = subprocess.run(['git', '--git-dir', str(gitdir), *map(str, args)],
                       capture_output=True, text=text, input=input, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f'git {" ".join(map(str, args))} failed: {r.stderr}')
    return r.stdout


def unmount(mnt):
    """fusermount3 -u, retried while the mount is busy."""
    last = ''
    for _ in range(UNMOUNT_TRIES):
        if not is_mounted(mnt):
            return
        r = subprocess.run(['fusermount3', '-u', str(mnt)], capture_output=True,
                           text=True, timeout=60)
        if r.returncode == 0:
            return
        last = r.stderr
        time.sleep(0.2)
    if is_mounted(mnt):
        raise AssertionError(f'could not unmount {mnt}: {last}')


class Mount:
    """One running daemon: SOURCE, MOUNTPOINT, its store and its log."""

    def __init__(self, src, mnt, gitdir, opts, log_path, argv, proc=None):
        self.src = Path(src)
        self.mnt = Path(mnt)
        self.gitdir = Path(gitdir)
        self.opts = opts
        self.log_path = Path(log_path)
        self.argv = argv
        self.proc = proc
        self.checked = False

    @property
    def pid(self):
        return self.proc.pid

    def path(self, rel=''):
        return self.mnt / rel

    def log(self):
        try:
            return self.log_path.read_text(errors='replace')
        except FileNotFoundError:
            return ''

    def log_events(self, event):
        out = []
        for line in self.log().splitlines():
            m = LOG_LINE.match(line)
            if m and m.group(3) == event:
                out.append(line)
        return out

    def git(self, *args, **kw):
        return git(self.gitdir, *args, **kw)

    def revisions(self):
        r = subprocess.run(['git', '--git-dir', str(self.gitdir), 'rev-list', '--count',
                            'HEAD'], capture_output=True, text=True, timeout=60)
        return int(r.stdout) if r.returncode == 0 else 0

    def head(self):
        return self.git('rev-parse', 'HEAD').strip()

    def wait_revisions(self, n, timeout=10.0):
        """Wait until the store holds at least n revisions (settle windows)."""
        wait_until(lambda: self.revisions() >= n, timeout,
                   f'{n} revisions (have {self.revisions()})')
        return self.revisions()

    def message(self, rev='HEAD'):
        return self.git('log', '-1', '--format=%s', rev).strip()

    def messages(self):
        return self.git('log', '--format=%s').splitlines()

    def author(self, rev='HEAD'):
        return self.git('log', '-1', '--format=%an <%ae>', rev).strip()

    def tree(self, rev='HEAD'):
        """{path: (mode, bytes or link target)} of a revision, without the
        .cfgfs-meta blobs."""
        out = {}
        listing = self.git('ls-tree', '-r', '-z', rev, text=False)
        for entry in listing.split(b'\0'):
            if not entry:
                continue
            info, name = entry.split(b'\t', 1)
            mode, _, oid = info.split(b' ')
            name = name.decode()
            if name == '.cfgfs-meta' or name.endswith('/.cfgfs-meta'):
                continue
            data = self.git('cat-file', 'blob', oid.decode(), text=False)
            out[name] = (mode.decode(), data)
        return out

    def files(self, rev='HEAD'):
        """{path: bytes} of a revision's regular files and symlinks."""
        return {k: v[1] for k, v in self.tree(rev).items()}

    def show(self, path, rev='HEAD'):
        return self.git('show', f'{rev}:{path}', text=False)

    def meta(self, path, rev='HEAD'):
        """(mode, uid, gid, mtime_sec, mtime_nsec) recorded for path."""
        d, _, name = path.rpartition('/')   # 'dir/.' is the directory itself
        if name == '':
            d, name = path.rstrip('/'), '.'
        blob = f'{rev}:{d + "/" if d else ""}.cfgfs-meta'
        for line in self.git('show', blob).splitlines()[1:]:
            mode, uid, gid, sec, nsec, n = line.split(' ', 5)
            if n == name:
                return int(mode, 8), int(uid), int(gid), int(sec), int(nsec)
        raise AssertionError(f'{path} not in {blob}')

    def errors(self):
        return (self.mnt / '.cfgfs' / 'errors').read_text()

    def rejected(self, rel):
        return self.mnt / '.cfgfs' / 'rejected' / rel

    def rss_kib(self):
        with open(f'/proc/{self.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        raise AssertionError('no VmRSS')

    def unmount(self):
        unmount(self.mnt)
        self.wait_exit()

    def wait_exit(self):
        try:
            self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # this exact PID, started by us
            self.proc.wait(timeout=EXIT_TIMEOUT)
            raise AssertionError(f'cfgfs (pid {self.pid}) did not exit after unmount; '
                                 f'log:\n{self.log()}')

    def check(self):
        """The teardown verdict: exit status 0, no errors in the log, and a
        store that git fsck finds clean."""
        self.checked = True
        problems = []
        if self.proc.returncode != 0:
            problems.append(f'cfgfs exited with status {self.proc.returncode}')
        text = self.log()
        bad = log_problems(text)
        if bad:
            problems.append('the daemon logged errors:\n' + '\n'.join(bad))
            # a sanitizer report is only useful whole: stack and allocation site
            start = next((i for i, l in enumerate(text.splitlines())
                          if any(p in l for p in SANITIZER_PATTERNS)), None)
            if start is not None:
                problems.append('\n'.join(text.splitlines()[start:start + 80]))
        if (self.gitdir / 'HEAD').exists():
            r = subprocess.run(['git', '--git-dir', str(self.gitdir), 'fsck', '--full',
                                '--no-progress'], capture_output=True, text=True,
                               timeout=120)
            if r.returncode != 0 or re.search(r'^(error|missing|broken|bad)',
                                              r.stdout + r.stderr, re.M):
                problems.append(f'git fsck: {r.stdout}{r.stderr}')
        return problems


def start(src, mnt, tmp, opts=None, gitdir=None, foreground=True, extra_args=()):
    """Start cfgfs on src at mnt and wait for the mount; returns a Mount."""
    need_root()
    binary = cfgfs_bin()
    opts = list(opts or [])
    if gitdir:
        opts.append(f'gitdir={gitdir}')
    argv = [str(binary)]
    if foreground:
        argv.append('-f')
    argv += list(extra_args)
    if opts:
        argv += ['-o', ','.join(opts)]
    argv += [str(src), str(mnt)]
    n = len(list(Path(tmp).glob('cfgfs-*.log')))
    log_path = Path(tmp) / f'cfgfs-{n}.log'
    before = mount_count(mnt)
    logf = open(log_path, 'wb')
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                            start_new_session=True)
    logf.close()
    m = Mount(src, mnt, gitdir or Path(src) / '.git', opts, log_path, argv, proc)
    deadline = time.monotonic() + MOUNT_TIMEOUT
    while mount_count(mnt) <= before:
        if proc.poll() is not None:
            pytest.fail(f'cfgfs exited with {proc.returncode} before mounting; '
                        f'log:\n{m.log()}')
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f'cfgfs did not mount within {MOUNT_TIMEOUT}s; log:\n{m.log()}')
        time.sleep(POLL)
    return m


FAST_OPTS = ('fsync=off', 'settle=300ms')


@pytest.fixture
def cfgfs_factory(tmp_path):
    """mount(files=None, opts=FAST_OPTS, over_source=False, src=None,
    gitdir=None) -> Mount. Every mount is unmounted and checked at teardown."""
    mounts = []
    counter = [0]

    def mount(files=None, opts=FAST_OPTS, over_source=False, src=None, mnt=None,
              gitdir=None, extra_args=()):
        counter[0] += 1
        if src is None:
            src = tmp_path / f'src{counter[0]}'
            src.mkdir()
        src = Path(src)
        for rel, data in (files or {}).items():
            p = src / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data if isinstance(data, bytes) else data.encode())
        if over_source:
            mnt = src
        elif mnt is None:
            mnt = tmp_path / f'mnt{counter[0]}'
            mnt.mkdir()
        m = start(src, mnt, tmp_path, opts, gitdir, extra_args=extra_args)
        mounts.append(m)
        return m

    yield mount

    problems = []
    for m in mounts:
        try:
            if m.proc.poll() is None:
                unmount(m.mnt)
                m.wait_exit()
        except AssertionError as e:
            problems.append(str(e))
            continue
        if not m.checked:
            problems += m.check()
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)


@pytest.fixture
def cfgfs(cfgfs_factory):
    """One fast mount (fsync=off, settle=300ms) of a tree holding app.yaml."""
    return cfgfs_factory(files={'app.yaml': 'name: demo\nport: 8080\n'})


def finish(m):
    """Unmount m now and fail on what the teardown would fail on; returns m
    so a test can read the store at rest."""
    if m.proc.poll() is None:
        m.unmount()
    problems = m.check()
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)
    return m


@pytest.fixture
def public_dir():
    """A 0755 directory under /tmp (pytest's tmp_path is 0700, so other
    users could not reach a mountpoint inside it). Request it before
    cfgfs_factory so it is removed after the unmount."""
    import shutil
    import tempfile
    d = Path(tempfile.mkdtemp(prefix='cfgfs-test-'))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def hostname():
    return socket.gethostname()


def run(argv, *, uid=None, gid=None, input=None, cwd=None, env=None, timeout=60):
    """Run a tool, optionally as another user; returns CompletedProcess
    (bytes)."""
    def demote():
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
    return subprocess.run([str(a) for a in argv], input=input, capture_output=True,
                          cwd=cwd, env=env, timeout=timeout,
                          preexec_fn=demote if (uid is not None or gid is not None) else None)


def find_pids(*needles):
    """PIDs whose command line holds every needle exactly (used to find the
    daemon we started without -f; needles include our unique SOURCE path)."""
    pids = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/cmdline', 'rb') as f:
                args = f.read().split(b'\0')
        except OSError:
            continue
        args = [a.decode(errors='replace') for a in args]
        if all(n in args for n in needles):
            pids.append(int(d))
    return pids


def pid_alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        return state != 'Z'
    except FileNotFoundError:
        return False


def terminate_pid(pid):
    """SIGTERM one exact PID and wait for it; SIGKILL if it hangs."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + EXIT_TIMEOUT
    while pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return False
        time.sleep(POLL)
    return True
