""".history/ (issue 5): every revision as a read-only directory, each file's
versions under files/, the log, HEAD, and validated rollback.

Every .history/N/ is compared with a plain directory that replays the same
operations (modes, owners, symlinks, empty directories), and with the live
mount's own stat at the time (file mtimes). Users browse with ls, cat, diff
and cp, so those are what the tests drive.

Run as root: /usr/bin/python3 -m pytest tests/test_history.py
"""
import datetime
import errno
import json
import os
import pwd
import random
import re
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import FAST_OPTS, finish, run

APP = b'name: demo\nport: 8080\n'
BASE_FILES = {'app.yaml': APP, 'notes.txt': b'line one\nline two\n',
              'conf/db.json': b'{"host": "db", "port": 5432}\n'}
TEST_UID = TEST_GID = 4321          # an owner without a passwd entry
TEST_USER = 'cfgfs-test'            # the non-root user of the permission tests
FIXED = {'HEAD', 'log', 'rollback', 'files'}
LOG_RE = re.compile(r'^(\d+) ([0-9a-f]{40}) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\S+) (.*)$')


def errno_of(fn, *args):
    """Run fn; return its errno when it raises OSError, else 0."""
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def walk(root, times=False):
    """{relative path: what a user sees} of a tree: type, mode, owner, size and
    bytes of files, symlink targets, directories (empty ones too). The mount's
    .cfgfs and .history are left out; with times, a file's mtime_ns."""
    root = str(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root:
            dirnames[:] = [d for d in dirnames if d not in ('.cfgfs', '.history')]
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            e = {'type': stat.S_IFMT(st.st_mode), 'mode': oct(stat.S_IMODE(st.st_mode)),
                 'uid': st.st_uid, 'gid': st.st_gid}
            if stat.S_ISREG(st.st_mode):
                e['size'] = st.st_size
                with open(p, 'rb') as f:
                    e['data'] = f.read()
                if times:
                    e['mtime_ns'] = st.st_mtime_ns
            elif stat.S_ISLNK(st.st_mode):
                e['target'] = os.readlink(p)
            out[os.path.relpath(p, root)] = e
    return out


def mtimes(snap):
    return {k: e['mtime_ns'] for k, e in snap.items() if 'mtime_ns' in e}


def untimed(snap):
    return {k: {f: v for f, v in e.items() if f != 'mtime_ns'} for k, e in snap.items()}


def make_tree(root, files):
    for rel, data in files.items():
        p = Path(root) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def write(path, data, mode=0o644):
    """One save the plain way: open, write, close."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def hist(m, *parts):
    return m.mnt.joinpath('.history', *map(str, parts))


def head_link(m):
    return os.readlink(hist(m, 'HEAD'))


def rollback(m, what):
    """Write WHAT to .history/rollback the way `echo N >` does (one write);
    returns 0 or the errno."""
    data = what if isinstance(what, bytes) else str(what).encode()

    def op():
        fd = os.open(hist(m, 'rollback'), os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return errno_of(op)


def revisions_git(m):
    """[(commit, committer time, author name, subject)] along the first-parent
    history, oldest first: revision N is element N-1."""
    out = []
    for line in m.git('log', '--first-parent', '--reverse', '--format=%H %ct %an%x00%s')\
            .splitlines():
        head, subject = line.split('\0', 1)
        commit, ct, author = head.split(' ', 2)
        out.append((commit, int(ct), author, subject))
    return out


def read_event(fd, timeout=20.0):
    """One line from an open .cfgfs/events, read in a thread so a missing
    event fails the test instead of hanging it."""
    got = {}

    def reader():
        buf = b''
        try:
            while not buf.endswith(b'\n'):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
        except OSError as e:
            got['error'] = e
        got['data'] = buf
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f'no event within {timeout}s'
    assert 'error' not in got, got.get('error')
    line = got['data'].decode()
    assert line.endswith('\n') and line.count('\n') == 1, repr(line)
    return json.loads(line)


def ensure_user():
    """The non-root test user, created (no home, no shell) when missing."""
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pass
    r = subprocess.run(['useradd', '--system', '--no-create-home', '--shell',
                        '/usr/sbin/nologin', TEST_USER], capture_output=True, text=True,
                       timeout=60)
    # 9: made meanwhile by someone else
    if r.returncode not in (0, 9):
        pytest.skip(f'cannot create user {TEST_USER}: {r.stderr.strip()}')
    return pwd.getpwnam(TEST_USER)


def as_user(user, argv, **kw):
    return run(argv, uid=user.pw_uid, gid=user.pw_gid, **kw)


# ------------------------------------------------------- the replayed sequence

def _rename_notes(r):
    os.rename(r / 'notes.txt', r / 'conf' / 'notes.txt')


def _exec_file(r):
    fd = os.open(r / 'run.sh', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o750)
    os.write(fd, b'#!/bin/sh\necho hi\n')
    os.close(fd)


# (revision made, what it does); ROLLBACK steps restore the tree of a revision.
ROLLBACK_TO = 5
STEPS = [
    (2, 'modify app.yaml', lambda r: write(r / 'app.yaml', b'name: demo\nport: 9090\n')),
    (3, 'create new.txt', lambda r: write(r / 'new.txt', b'fresh\n')),
    (4, 'chmod new.txt 0600', lambda r: os.chmod(r / 'new.txt', 0o600)),
    (5, 'chown notes.txt', lambda r: os.chown(r / 'notes.txt', TEST_UID, TEST_GID)),
    (6, 'modify app.yaml', lambda r: write(r / 'app.yaml', b'name: demo\nport: 9191\n')),
    (7, 'symlink link', lambda r: os.symlink('app.yaml', r / 'link')),
    (8, 'mkdir empty', lambda r: os.mkdir(r / 'empty')),
    (9, 'rename notes.txt', _rename_notes),
    (10, 'delete new.txt', lambda r: os.unlink(r / 'new.txt')),
    (11, 'mkdir tmpdir', lambda r: os.mkdir(r / 'tmpdir', 0o750)),
    (12, 'rmdir tmpdir', lambda r: os.rmdir(r / 'tmpdir')),
    (13, 'chmod conf 0700', lambda r: os.chmod(r / 'conf', 0o700)),
    (14, 'modify conf/db.json', lambda r: write(r / 'conf' / 'db.json', b'{"host": "db2"}\n')),
    (15, 'create run.sh 0750', _exec_file),
    (16, f'rollback to {ROLLBACK_TO}', 'ROLLBACK'),
    (17, 'modify app.yaml', lambda r: write(r / 'app.yaml', b'name: after\n')),
]


@pytest.fixture
def replay(cfgfs_factory, tmp_path):
    """Run STEPS on a mount and on a plain directory. Returns (m, copies,
    expected, live): copies/N is a `cp -a` of the plain directory after
    step N, expected[N] its walk, live[N] the mount's walk with mtimes right
    after step N was committed."""
    plain = tmp_path / 'plain'
    copies = tmp_path / 'copies'
    plain.mkdir()
    copies.mkdir()
    make_tree(plain, BASE_FILES)
    m = cfgfs_factory(files=BASE_FILES)
    old = os.umask(0o022)
    try:
        expected, live = {}, {}

        def record(n):
            subprocess.run(['cp', '-a', str(plain), str(copies / str(n))], check=True)
            expected[n] = walk(copies / str(n))
            live[n] = walk(m.mnt, times=True)
            assert untimed(live[n]) == expected[n], f'live tree differs from replay at {n}'

        assert m.revisions() == 1
        record(1)
        for n, what, op in STEPS:
            if op == 'ROLLBACK':
                assert rollback(m, f'{ROLLBACK_TO}\n') == 0
                for child in plain.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
                subprocess.run(['cp', '-a', f'{copies / str(ROLLBACK_TO)}/.', str(plain)],
                               check=True)
            else:
                op(plain)
                op(m.mnt)
            m.wait_revisions(n)   # deletes are committed after the settle window
            assert m.revisions() == n, f'step {what!r} made {m.revisions() - n + 1} revisions'
            assert head_link(m) == str(n), what
            record(n)
    finally:
        os.umask(old)
    return m, copies, expected, live


def test_every_revision_equals_a_plain_replay(replay):
    m, copies, expected, live = replay
    last = STEPS[-1][0]
    assert m.revisions() == last
    for n in range(1, last + 1):
        got = walk(hist(m, n), times=True)
        assert untimed(got) == expected[n], f'.history/{n} differs from the replay'
        assert mtimes(got) == mtimes(live[n]), f'.history/{n}: file mtimes differ'
    # the root of each revision is the mount's root as it was
    root = os.stat(m.mnt)
    for n in range(1, last + 1):
        st = os.stat(hist(m, n))
        assert stat.S_ISDIR(st.st_mode), n
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == \
            (stat.S_IMODE(root.st_mode), root.st_uid, root.st_gid), n
    # find (which trusts st_nlink and d_type) sees the same tree
    fmt = '%p %y %m %U %G %s %l\n'
    for n in (8, 9, 13):
        got = subprocess.run(['find', '.', '-mindepth', '1', '-printf', fmt], cwd=hist(m, n),
                             capture_output=True, text=True, timeout=60)
        want = subprocess.run(['find', '.', '-mindepth', '1', '-printf', fmt],
                              cwd=copies / str(n), capture_output=True, text=True, timeout=60)
        assert got.returncode == 0 and got.stderr == '', got.stderr

        def strip_dir_sizes(out):
            return sorted(re.sub(r'^(\S+ d \S+ \S+ \S+) \d+', r'\1', line)
                          for line in out.splitlines())
        assert strip_dir_sizes(got.stdout) == strip_dir_sizes(want.stdout), n
    # spot checks of what the comparison covers
    assert stat.S_IMODE(os.lstat(hist(m, 4, 'new.txt')).st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(hist(m, 3, 'new.txt')).st_mode) == 0o644
    assert os.lstat(hist(m, 5, 'notes.txt')).st_uid == TEST_UID
    assert os.lstat(hist(m, 4, 'notes.txt')).st_uid == 0
    assert os.readlink(hist(m, 7, 'link')) == 'app.yaml'
    assert os.listdir(hist(m, 8, 'empty')) == []
    assert stat.S_IMODE(os.lstat(hist(m, 11, 'tmpdir')).st_mode) == 0o750
    assert not hist(m, 12, 'tmpdir').exists()
    assert stat.S_IMODE(os.lstat(hist(m, 13, 'conf')).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(hist(m, 15, 'run.sh')).st_mode) == 0o750
    assert not hist(m, 10, 'new.txt').exists()
    # the rollback revision is the tree of revision 5 again
    assert untimed(walk(hist(m, 16))) == untimed(walk(hist(m, ROLLBACK_TO)))
    assert re.fullmatch(rf'rollback to {ROLLBACK_TO} \(python3, pid \d+\)', m.message('HEAD~1'))
    # reading the same revision again gives the same answers (immutability)
    assert walk(hist(m, 9), times=True) == walk(hist(m, 9), times=True)


def test_diff_r_between_revisions(replay):
    m, copies, expected, live = replay
    got = subprocess.run(['diff', '-r', '3', '7'], cwd=hist(m), capture_output=True,
                         text=True, timeout=60)
    want = subprocess.run(['diff', '-r', '3', '7'], cwd=copies, capture_output=True,
                          text=True, timeout=60)
    assert want.returncode == 1
    assert (got.returncode, got.stdout, got.stderr) == (1, want.stdout, '')
    assert 'Only in 7: link' in got.stdout
    assert '< port: 8080' not in got.stdout and '> port: 9191' in got.stdout
    # identical revisions: exit 0, no output
    same = subprocess.run(['diff', '-r', str(ROLLBACK_TO), '16'], cwd=hist(m),
                          capture_output=True, text=True, timeout=60)
    assert (same.returncode, same.stdout, same.stderr) == (0, '', '')


def test_cp_a_reproduces_a_revision(replay, tmp_path):
    m, copies, expected, live = replay
    for n in (3, 9):
        dest = tmp_path / f'elsewhere{n}'
        dest.mkdir()
        r = subprocess.run(['cp', '-a', f'{hist(m, n)}/.', f'{dest}/'], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        got = walk(dest, times=True)
        assert untimed(got) == expected[n], f'cp -a of .history/{n}'
        assert mtimes(got) == mtimes(live[n]), f'cp -a of .history/{n}: file mtimes'
    # revision 9 holds what cp -a must carry over
    assert expected[9]['new.txt']['mode'] == oct(0o600)
    assert expected[9]['conf/notes.txt']['uid'] == TEST_UID
    assert expected[9]['link']['target'] == 'app.yaml'
    assert expected[9]['empty']['type'] == stat.S_IFDIR


# ---------------------------------------------------------- log, HEAD, listing

def test_log_head_and_listing(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    write(m.mnt / 'app.yaml', b'name: demo\nport: 1\n')
    os.mkdir(m.mnt / 'd')
    os.symlink('../app.yaml', m.mnt / 'd' / 'l')
    os.chmod(m.mnt / 'notes.txt', 0o600)
    n = m.revisions()
    os.unlink(m.mnt / 'notes.txt')
    m.wait_revisions(n + 1)
    os.rename(m.mnt / 'conf' / 'db.json', m.mnt / 'db.json')
    head = m.revisions()
    assert head == 7

    # HEAD is a relative symlink to the newest revision, and resolves
    assert head_link(m) == str(head)
    assert os.path.samefile(hist(m, 'HEAD'), hist(m, head))
    assert sorted(os.listdir(hist(m, 'HEAD'))) == sorted(os.listdir(hist(m, head)))
    # ls .history: the fixed names and 1..N, nothing else
    names = os.listdir(hist(m))
    assert len(names) == len(set(names))
    assert set(names) == FIXED | {str(i) for i in range(1, head + 1)}
    assert not hist(m, head + 1).exists() and not hist(m, 0).exists()
    assert not hist(m, f'0{head}').exists() and not hist(m, 'x1').exists()
    r = run(['ls', hist(m)])
    assert r.returncode == 0
    assert sorted(r.stdout.decode().split()) == sorted(FIXED | {str(i) for i in range(1, 8)})

    # log: one line per revision, newest first, as git has them
    text = hist(m, 'log').read_text()
    assert text.endswith('\n')
    lines = text.splitlines()
    assert len(lines) == head
    revs = revisions_git(m)
    assert len(revs) == head
    for i, line in enumerate(lines):
        mm = LOG_RE.match(line)
        assert mm, line
        num, commit, when, author, msg = mm.groups()
        assert int(num) == head - i
        c, ct, an, subject = revs[int(num) - 1]
        assert commit == c
        assert when == datetime.datetime.fromtimestamp(ct, datetime.timezone.utc)\
            .strftime('%Y-%m-%dT%H:%M:%SZ')
        assert author == an
        assert msg == subject
    assert lines[-1].split()[4:] == ['import', 'the', 'existing', 'tree']
    assert re.fullmatch(r'rename conf/db\.json.*', lines[0].split(' ', 4)[4])
    # its size is what cat reads
    assert os.stat(hist(m, 'log')).st_size == len(text.encode())
    assert run(['cat', hist(m, 'log')]).stdout == text.encode()
    # the log grows with the next save and HEAD follows
    write(m.mnt / 'app.yaml', b'name: demo\nport: 2\n')
    assert head_link(m) == str(head + 1)
    lines2 = hist(m, 'log').read_text().splitlines()
    assert lines2[1:] == lines and lines2[0].startswith(f'{head + 1} ')
    assert str(head + 1) in os.listdir(hist(m))
    # the rollback file reads as empty
    assert hist(m, 'rollback').read_bytes() == b''


def test_new_revisions_and_versions_appear_at_once(cfgfs_factory):
    """The growing parts are never cached: a name looked up (or listed)
    before it existed is there right after the commit that makes it."""
    m = cfgfs_factory(files=BASE_FILES)
    n = m.revisions()
    versions = hist(m, 'files', 'app.yaml')
    assert os.listdir(versions) == ['1']
    assert errno_of(os.stat, hist(m, n + 1)) == errno.ENOENT
    assert errno_of(os.stat, versions / str(n + 1)) == errno.ENOENT
    assert errno_of(os.stat, hist(m, 'files', 'late.txt')) == errno.ENOENT
    assert errno_of(os.stat, hist(m, 'files', 'conf', 'late.txt')) == errno.ENOENT
    assert sorted(os.listdir(hist(m, 'files', 'conf'))) == ['db.json']
    for i in range(3):
        write(m.mnt / 'app.yaml', f'name: v{i}\n'.encode())
        rev = n + 1 + i
        assert hist(m, rev).is_dir()
        assert (hist(m, rev, 'app.yaml')).read_bytes() == f'name: v{i}\n'.encode()
        assert (versions / str(rev)).read_bytes() == f'name: v{i}\n'.encode()
        assert sorted(map(int, os.listdir(versions))) == [1] + list(range(n + 1, rev + 1))
        assert head_link(m) == str(rev)
        assert (hist(m, 'HEAD', 'app.yaml')).read_bytes() == f'name: v{i}\n'.encode()
    write(m.mnt / 'late.txt', b'late\n')
    write(m.mnt / 'conf' / 'late.txt', b'later\n')
    rev = m.revisions()
    assert os.listdir(hist(m, 'files', 'late.txt')) == [str(rev - 1)]
    assert os.listdir(hist(m, 'files', 'conf', 'late.txt')) == [str(rev)]
    assert sorted(os.listdir(hist(m, 'files', 'conf'))) == ['db.json', 'late.txt']
    # the old revisions did not change meanwhile
    assert (hist(m, n, 'app.yaml')).read_bytes() == APP
    assert not hist(m, n, 'late.txt').exists()


def test_odd_names_and_large_files(cfgfs_factory):
    m = cfgfs_factory(files={'app.yaml': APP})
    names = ['with space.txt', 'ünïcödé.txt', 'dir with space/-dash.txt', '#hash.txt',
             'a.b.c.txt', "quote'.txt"]
    for i, name in enumerate(names):
        (m.mnt / name).parent.mkdir(exist_ok=True)
        write(m.mnt / name, f'{i}\n'.encode())
    big = random.Random(7).randbytes(3 * 1024 * 1024 + 123)
    write(m.mnt / 'big.bin', big)
    rev = m.revisions()
    for i, name in enumerate(names):
        assert (hist(m, rev, name)).read_bytes() == f'{i}\n'.encode(), name
        assert len(os.listdir(hist(m, 'files', name))) == 1, name
    # whole-file and odd-sized reads of a large blob, and its size
    p = hist(m, rev, 'big.bin')
    assert os.stat(p).st_size == len(big)
    assert p.read_bytes() == big
    with open(p, 'rb', buffering=0) as f:
        parts = []
        while True:
            chunk = f.read(12345)
            if not chunk:
                break
            parts.append(chunk)
        assert b''.join(parts) == big
        assert os.pread(f.fileno(), 100, len(big) - 50) == big[-50:]
    assert (hist(m, 'files', 'big.bin', rev)).read_bytes() == big
    r = run(['cmp', p, m.mnt / 'big.bin'])
    assert r.returncode == 0, r.stdout


def test_index_survives_remount_and_is_rebuilt_when_lost(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    for i in range(5):
        write(m.mnt / f'f{i % 2}.txt', f'{i}\n'.encode())
    os.chmod(m.mnt / 'f0.txt', 0o600)
    n = m.revisions()
    os.unlink(m.mnt / 'f1.txt')
    m.wait_revisions(n + 1)
    write(m.mnt / 'f1.txt', b'again\n')

    def view(m):
        files = {}
        for dirpath, dirnames, filenames in os.walk(hist(m, 'files')):
            for name in filenames:
                p = os.path.join(dirpath, name)
                files[os.path.relpath(p, hist(m, 'files'))] = Path(p).read_bytes()
        return (hist(m, 'log').read_text(), head_link(m), sorted(os.listdir(hist(m))),
                files, [walk(hist(m, r), times=True) for r in range(1, m.revisions() + 1)])
    before = view(m)
    src = m.src
    finish(m)
    m = cfgfs_factory(src=src)
    assert view(m) == before
    finish(m)
    (src / '.git' / 'cfgfs-index').unlink()
    m = cfgfs_factory(src=src)
    assert view(m) == before
    finish(m)
    (src / '.git' / 'cfgfs-index').write_bytes(b'garbage\n')
    m = cfgfs_factory(src=src)
    assert view(m) == before
    # and it goes on from there
    write(m.mnt / 'f0.txt', b'next\n')
    rev = m.revisions()
    assert sorted(map(int, os.listdir(hist(m, 'files', 'f0.txt'))))[-1] == rev


# ------------------------------------------------------------------ read-only

def test_history_is_read_only(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    os.mkdir(m.mnt / 'empty')
    n = m.revisions()
    tree = walk(m.mnt)
    rev = hist(m, n)
    fver = hist(m, 'files', 'app.yaml', 1)

    def opener(path, flags):
        return lambda: os.close(os.open(path, flags, 0o644))
    ops = {
        'open for write': opener(rev / 'app.yaml', os.O_WRONLY),
        'open read-write': opener(rev / 'app.yaml', os.O_RDWR),
        'open append': opener(rev / 'app.yaml', os.O_WRONLY | os.O_APPEND),
        'open truncating': opener(rev / 'app.yaml', os.O_RDONLY | os.O_TRUNC),
        'create': opener(rev / 'new.txt', os.O_WRONLY | os.O_CREAT),
        'create in subdir': opener(rev / 'conf' / 'new.txt', os.O_WRONLY | os.O_CREAT),
        'unlink': lambda: os.unlink(rev / 'app.yaml'),
        'mkdir': lambda: os.mkdir(rev / 'newdir'),
        'rmdir': lambda: os.rmdir(rev / 'empty'),
        'chmod': lambda: os.chmod(rev / 'app.yaml', 0o600),
        'chmod dir': lambda: os.chmod(rev / 'conf', 0o700),
        'chown': lambda: os.chown(rev / 'app.yaml', TEST_UID, TEST_GID),
        'truncate': lambda: os.truncate(rev / 'app.yaml', 0),
        'utime': lambda: os.utime(rev / 'app.yaml', (1, 1)),
        'rename': lambda: os.rename(rev / 'app.yaml', rev / 'moved.yaml'),
        'rename into': lambda: os.rename(m.mnt / 'notes.txt', rev / 'notes2.txt'),
        'rename out of': lambda: os.rename(rev / 'app.yaml', m.mnt / 'stolen.yaml'),
        'symlink': lambda: os.symlink('app.yaml', rev / 'sl'),
        'hard link': lambda: os.link(m.mnt / 'app.yaml', rev / 'hl'),
        'files open for write': opener(fver, os.O_WRONLY),
        'files create': opener(hist(m, 'files', 'app.yaml', 99), os.O_WRONLY | os.O_CREAT),
        'files create top': opener(hist(m, 'files', 'x.yaml'), os.O_WRONLY | os.O_CREAT),
        'files unlink': lambda: os.unlink(fver),
        'files mkdir': lambda: os.mkdir(hist(m, 'files', 'newdir')),
        'files rmdir': lambda: os.rmdir(hist(m, 'files', 'app.yaml')),
        'files chmod': lambda: os.chmod(fver, 0o600),
        'files truncate': lambda: os.truncate(fver, 0),
        'files rename': lambda: os.rename(fver, hist(m, 'files', 'app.yaml', 2)),
        'log write': opener(hist(m, 'log'), os.O_WRONLY),
        'log unlink': lambda: os.unlink(hist(m, 'log')),
        'HEAD unlink': lambda: os.unlink(hist(m, 'HEAD')),
        'create in .history': opener(hist(m, 'new'), os.O_WRONLY | os.O_CREAT),
        'mkdir revision': lambda: os.mkdir(hist(m, n + 1)),
        'rmdir revision': lambda: os.rmdir(hist(m, 1)),
        'rename revision': lambda: os.rename(hist(m, 1), hist(m, n + 5)),
        'chmod rollback': lambda: os.chmod(hist(m, 'rollback'), 0o666),
        'unlink rollback': lambda: os.unlink(hist(m, 'rollback')),
    }
    got = {name: errno.errorcode.get(errno_of(op), errno_of(op)) for name, op in ops.items()}
    assert got == {name: 'EROFS' for name in ops}
    # nothing changed: no revision, same live tree, same history
    assert m.revisions() == n
    assert walk(m.mnt) == tree
    assert walk(rev) == tree
    assert fver.read_bytes() == APP
    # shell tools report it too
    r = run(['bash', '-c', 'echo x >> "$0"', rev / 'app.yaml'])
    assert r.returncode != 0 and b'Read-only file system' in r.stderr
    r = run(['touch', rev / 'touched'])
    assert r.returncode != 0 and b'Read-only file system' in r.stderr


# ------------------------------------------------------- per-file versions

def test_files_listing_after_1000_saves(cfgfs_factory):
    nfiles, nsaves = 100, 1000

    def path_of(i):
        return f'f{i:03}.txt' if i % 2 == 0 else f'sub{i % 4}/f{i:03}.yaml'

    def content(i, k):
        return (f'file: {i}\nsave: {k}\n').encode()
    initial = {path_of(i): content(i, -1) for i in range(20)}   # imported: revision 1
    m = cfgfs_factory(files=initial)
    n0 = m.revisions()
    assert n0 == 1
    rng = random.Random(5)
    order = list(range(nfiles)) + rng.choices(range(nfiles),
                                              weights=[1 + i % 7 for i in range(nfiles)],
                                              k=nsaves - nfiles)
    rng.shuffle(order)
    versions = {path_of(i): [1] for i in range(20)}
    data_at = {(path_of(i), 1): content(i, -1) for i in range(20)}
    for k, i in enumerate(order):
        p = path_of(i)
        with open(m.mnt / p, 'wb') as f:
            f.write(content(i, k))
        rev = n0 + k + 1
        versions.setdefault(p, []).append(rev)
        data_at[(p, rev)] = content(i, k)
    assert m.revisions() == n0 + nsaves

    # a deleted-then-recreated file shows both lives
    n = m.revisions()
    os.unlink(m.mnt / 'f000.txt')
    m.wait_revisions(n + 1)
    gone = n + 1
    assert not hist(m, gone, 'f000.txt').exists()
    assert hist(m, 'files', 'f000.txt').is_dir()       # its past stays browsable
    write(m.mnt / 'f000.txt', b'second life\n')
    assert m.revisions() == n + 2
    versions['f000.txt'].append(n + 2)
    data_at[('f000.txt', n + 2)] = b'second life\n'

    files = hist(m, 'files')
    assert sorted(os.listdir(files)) == sorted(
        {p.split('/')[0] for p in versions})
    for d in ('sub1', 'sub3'):
        assert sorted(os.listdir(files / d)) == sorted(
            p.split('/')[1] for p in versions if p.startswith(d + '/'))
    for p, revs in versions.items():
        listed = os.listdir(files / p)
        assert all(x.isdigit() for x in listed), (p, listed)
        assert sorted(map(int, listed)) == revs, p
        for rev in revs:
            vp = files / p / str(rev)
            assert vp.read_bytes() == data_at[(p, rev)], (p, rev)
            st = os.stat(vp)
            assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644, (p, rev)
    # only the revisions that wrote a file are there
    assert not (files / 'f000.txt' / str(gone)).exists()
    assert not (files / 'sub1' / 'f001.yaml' / str(n0 + nsaves + 50)).exists()
    other = next(r for r in range(2, n0 + nsaves) if r not in versions['f002.txt'])
    assert errno_of(os.stat, files / 'f002.txt' / str(other)) == errno.ENOENT
    assert errno_of(os.stat, files / 'never.txt') == errno.ENOENT
    # and a version read through files/ is the file as .history/N/ has it
    p = 'sub3/f003.yaml'
    for rev in versions[p][-3:]:
        assert (files / p / str(rev)).read_bytes() == hist(m, rev, p).read_bytes()
    assert (files / 'f000.txt' / '1').read_bytes() == content(0, -1)


def test_files_versions_are_content_mode_or_owner_changes(cfgfs_factory):
    m = cfgfs_factory(files={'a.txt': b'one\n', 'b.txt': b'b\n'})
    write(m.mnt / 'a.txt', b'two\n')                        # 2: content
    os.chmod(m.mnt / 'a.txt', 0o600)                         # 3: mode
    os.chown(m.mnt / 'a.txt', TEST_UID, TEST_GID)            # 4: owner
    write(m.mnt / 'b.txt', b'b2\n')                          # 5: another file
    os.utime(m.mnt / 'a.txt', (1_000_000, 1_000_000))        # mtime only: no new version
    n = m.revisions()
    os.symlink('a.txt', m.mnt / 'l')                         # a symlink has versions too
    os.rename(m.mnt / 'b.txt', m.mnt / 'c.txt')
    versions = sorted(map(int, os.listdir(hist(m, 'files', 'a.txt'))))
    assert versions == [1, 2, 3, 4]
    v = hist(m, 'files', 'a.txt')
    assert (v / '1').read_bytes() == b'one\n' and (v / '2').read_bytes() == b'two\n'
    assert stat.S_IMODE(os.stat(v / '2').st_mode) == 0o644
    assert stat.S_IMODE(os.stat(v / '3').st_mode) == 0o600
    assert os.stat(v / '3').st_uid == 0 and os.stat(v / '4').st_uid == TEST_UID
    assert os.listdir(hist(m, 'files', 'l')) == [str(n + 1)]
    assert os.readlink(hist(m, 'files', 'l', n + 1)) == 'a.txt'
    assert sorted(map(int, os.listdir(hist(m, 'files', 'b.txt')))) == [1, 5]
    assert os.listdir(hist(m, 'files', 'c.txt')) == [str(n + 2)]
    assert (hist(m, 'files', 'c.txt', n + 2)).read_bytes() == b'b2\n'


# ---------------------------------------------------------------- permissions

def test_permissions_as_non_root_user(public_dir, cfgfs_factory):
    user = ensure_user()
    mnt = public_dir / 'mnt'
    mnt.mkdir()
    m = cfgfs_factory(files={'public.conf': b'everyone\n', 'secret.conf': b'hush\n',
                             'private/inner.txt': b'inner\n'},
                      mnt=mnt, opts=[*FAST_OPTS, 'allow_other'])
    os.chmod(m.mnt / 'secret.conf', 0o600)
    rev_secret = m.revisions()
    write(m.mnt / 'secret.conf', b'hush hush\n')
    rev_secret2 = m.revisions()
    os.chmod(m.mnt / 'private', 0o700)
    n = m.revisions()
    assert n == rev_secret + 2

    def cat(path):
        return as_user(user, ['cat', path])

    def readable(path):
        r = cat(path)
        return r.returncode == 0

    # the live tree, as the kernel checks it with default_permissions
    assert cat(m.mnt / 'public.conf').stdout == b'everyone\n'
    r = cat(m.mnt / 'secret.conf')
    assert r.returncode != 0 and b'Permission denied' in r.stderr
    assert not readable(m.mnt / 'private' / 'inner.txt')
    # history keeps the modes, so the same user is refused there too
    for p in (hist(m, n, 'secret.conf'), hist(m, 'HEAD', 'secret.conf'),
              hist(m, 'files', 'secret.conf', rev_secret),
              hist(m, 'files', 'secret.conf', rev_secret2),
              hist(m, n, 'private', 'inner.txt')):
        r = cat(p)
        assert r.returncode != 0 and b'Permission denied' in r.stderr, p
    r = as_user(user, ['ls', hist(m, n, 'private')])
    assert r.returncode != 0 and b'Permission denied' in r.stderr
    # what was world-readable is readable
    for p in (hist(m, n, 'public.conf'), hist(m, 'files', 'public.conf', 1),
              hist(m, 1, 'secret.conf'), hist(m, 'files', 'secret.conf', 1),
              hist(m, 1, 'private', 'inner.txt')):
        r = cat(p)
        assert r.returncode == 0, (p, r.stderr)
    assert cat(hist(m, 1, 'secret.conf')).stdout == b'hush\n'
    # browsing works as that user
    r = as_user(user, ['ls', hist(m)])
    assert r.returncode == 0 and str(n).encode() in r.stdout.split()
    assert cat(hist(m, 'log')).stdout.count(b'\n') == n
    r = as_user(user, ['readlink', hist(m, 'HEAD')])
    assert r.stdout.strip() == str(n).encode()

    # rollback needs write permission on the mount root
    r = as_user(user, ['sh', '-c', 'echo 1 > "$0"', hist(m, 'rollback')])
    assert r.returncode != 0
    assert b'Permission denied' in r.stderr or b'Operation not permitted' in r.stderr, r.stderr
    code = ('import os, sys\n'
            'try:\n'
            '    fd = os.open(sys.argv[1], os.O_WRONLY)\n'
            '    os.write(fd, b"1\\n")\n'
            '    os.close(fd)\n'
            '    print(0)\n'
            'except OSError as e:\n'
            '    print(e.errno)\n')
    r = as_user(user, ['/usr/bin/python3', '-c', code, hist(m, 'rollback')])
    assert int(r.stdout) in (errno.EACCES, errno.EPERM), r
    assert m.revisions() == n
    assert (m.mnt / 'secret.conf').read_bytes() == b'hush hush\n'
    assert head_link(m) == str(n)


def test_version_saved_inside_private_directory_stays_private(public_dir, cfgfs_factory):
    """A 0644 file in a 0700 root directory is out of the user's reach live
    and in .history/N/; the same content must not be readable through
    files/PATH/N either (files/ has no per-revision directory modes)."""
    user = ensure_user()
    mnt = public_dir / 'mnt'
    mnt.mkdir()
    m = cfgfs_factory(files={'app.yaml': APP}, mnt=mnt, opts=[*FAST_OPTS, 'allow_other'])
    os.mkdir(m.mnt / 'private', 0o700)
    write(m.mnt / 'private' / 'inner.txt', b'only root ever saw this\n')
    rev = m.revisions()
    assert stat.S_IMODE(os.stat(m.mnt / 'private').st_mode) == 0o700
    for p in (m.mnt / 'private' / 'inner.txt', hist(m, rev, 'private', 'inner.txt')):
        r = as_user(user, ['cat', p])
        assert r.returncode != 0 and b'Permission denied' in r.stderr, p
    r = as_user(user, ['cat', hist(m, 'files', 'private', 'inner.txt', rev)])
    assert r.returncode != 0 and r.stdout == b'', (
        f'files/ serves a version no user but root could ever read: {r.stdout!r}')


# ------------------------------------------------------------------ rollback

def test_rollback_restores_the_whole_tree(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    os.chmod(m.mnt / 'app.yaml', 0o600)
    write(m.mnt / 'app.yaml', b'name: changed\n')
    write(m.mnt / 'extra.yaml', b'x: 1\n')
    os.mkdir(m.mnt / 'newdir')
    os.chown(m.mnt / 'notes.txt', TEST_UID, TEST_GID)
    os.chmod(m.mnt / 'conf', 0o700)
    os.symlink('app.yaml', m.mnt / 'link')
    n = m.revisions()
    at1 = walk(hist(m, 1), times=True)
    assert untimed(walk(m.mnt)) != untimed(at1)

    events = os.open(m.mnt / '.cfgfs' / 'events', os.O_RDONLY)
    try:
        assert rollback(m, '1\n') == 0
        # one new revision, the tree of revision 1, committed and published
        assert m.revisions() == n + 1
        assert head_link(m) == str(n + 1)
        assert re.fullmatch(r'rollback to 1 \(python3, pid \d+\)', m.message())
        assert untimed(walk(m.mnt)) == untimed(at1)
        assert stat.S_IMODE(os.stat(m.mnt / 'app.yaml').st_mode) == 0o644
        assert (m.mnt / 'app.yaml').read_bytes() == APP
        assert os.stat(m.mnt / 'notes.txt').st_uid == 0
        assert not (m.mnt / 'extra.yaml').exists() and not (m.mnt / 'newdir').exists()
        assert not os.path.lexists(m.mnt / 'link')
        assert untimed(walk(hist(m, n + 1))) == untimed(at1)
        top = hist(m, 'log').read_text().splitlines()[0]
        mm = LOG_RE.match(top)
        assert mm and mm.group(1) == str(n + 1)
        assert re.fullmatch(r'rollback to 1 \(python3, pid \d+\)', mm.group(5))
        # the store agrees
        assert m.files() == {k: v for k, v in m.files('HEAD~' + str(n)).items()}
        # events see the rollback like any revision
        ev = read_event(events)
    finally:
        os.close(events)
    assert ev['revision'] == n + 1
    assert ev['commit'] == m.head()
    changed = {p['path']: p['op'] for p in ev['paths']}
    assert changed.get('extra.yaml') == 'delete'
    assert changed.get('app.yaml') in ('modify', 'mode')
    assert 'link' in changed and 'notes.txt' in changed
    # history before the rollback is untouched, and rollback can be undone
    assert (hist(m, n, 'extra.yaml')).read_bytes() == b'x: 1\n'
    assert rollback(m, n) == 0
    assert m.revisions() == n + 2
    assert (m.mnt / 'extra.yaml').read_bytes() == b'x: 1\n'
    assert os.stat(m.mnt / 'notes.txt').st_uid == TEST_UID
    assert os.readlink(m.mnt / 'link') == 'app.yaml'
    assert untimed(walk(m.mnt)) == untimed(walk(hist(m, n)))
    # the shell way works as well
    r = run(['bash', '-c', 'echo 2 > "$0"', hist(m, 'rollback')])
    assert r.returncode == 0, r.stderr
    assert m.revisions() == n + 3
    assert untimed(walk(m.mnt)) == untimed(walk(hist(m, 2)))


def test_rollback_across_file_and_directory_changes(cfgfs_factory):
    m = cfgfs_factory(files={'app.yaml': APP, 'x/y.txt': b'y\n', 'z': b'z\n',
                             'd/e/f.txt': b'f\n'})
    os.symlink('x', m.mnt / 'lx')
    target = m.revisions()
    n = target
    shutil.rmtree(m.mnt / 'x')
    os.unlink(m.mnt / 'z')
    os.unlink(m.mnt / 'lx')
    m.wait_revisions(n + 4)                   # x/y.txt, x, z, lx
    write(m.mnt / 'x', b'now a file\n')      # a directory became a file
    os.mkdir(m.mnt / 'z')                     # a file became a directory
    write(m.mnt / 'z' / 'w.txt', b'w\n')
    os.mkdir(m.mnt / 'lx')                    # a symlink became a directory
    os.rename(m.mnt / 'd', m.mnt / 'd2')
    n = m.revisions()
    assert rollback(m, target) == 0
    assert m.revisions() == n + 1
    assert untimed(walk(m.mnt)) == untimed(walk(hist(m, target)))
    assert (m.mnt / 'x' / 'y.txt').read_bytes() == b'y\n'
    assert (m.mnt / 'z').read_bytes() == b'z\n'
    assert os.readlink(m.mnt / 'lx') == 'x'
    assert (m.mnt / 'd' / 'e' / 'f.txt').read_bytes() == b'f\n'
    assert not (m.mnt / 'd2').exists()
    # and back again
    assert rollback(m, n) == 0
    assert untimed(walk(m.mnt)) == untimed(walk(hist(m, n)))
    assert (m.mnt / 'x').read_bytes() == b'now a file\n'


def test_rollback_supersedes_a_pending_delete(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    write(m.mnt / 'app.yaml', b'name: two\n')
    n = m.revisions()
    os.unlink(m.mnt / 'notes.txt')           # its revision waits for the settle window
    assert rollback(m, 1) == 0
    # the rollback is committed and wins; the delete does not come afterwards
    m.wait_revisions(n + 1)
    time.sleep(1.0)   # longer than the settle window (no upper bound is asserted)
    assert m.messages()[0].startswith('rollback to 1 ')
    assert (m.mnt / 'notes.txt').read_bytes() == BASE_FILES['notes.txt']
    assert untimed(walk(m.mnt)) == untimed(walk(hist(m, 1)))
    assert untimed(walk(hist(m, 'HEAD'))) == untimed(walk(hist(m, 1)))


def test_cp_from_history_restores_one_file(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    write(m.mnt / 'app.yaml', b'name: two\n')
    write(m.mnt / 'notes.txt', b'changed\n')
    n = m.revisions()
    r = run(['cp', hist(m, 1, 'app.yaml'), m.mnt / 'app.yaml'])
    assert r.returncode == 0, r.stderr
    assert m.revisions() == n + 1
    assert (m.mnt / 'app.yaml').read_bytes() == APP
    assert (m.mnt / 'notes.txt').read_bytes() == b'changed\n'
    assert re.fullmatch(r'modify app\.yaml \(cp, pid \d+\)', m.message())


def test_rollback_bad_input(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    write(m.mnt / 'app.yaml', b'name: two\n')
    n = m.revisions()
    tree = walk(m.mnt, times=True)
    log = hist(m, 'log').read_text()
    for bad in ('abc', 'abc\n', '0', '0\n', str(n + 1), f'{n + 1}\n', '99999999999999999999',
                '-1', '1.5', '1 2', '1abc', '\n', 'HEAD'):
        assert rollback(m, bad) == errno.EINVAL, repr(bad)
    for bad in ('abc', '0', str(n + 1)):
        r = run(['bash', '-c', f'echo {bad} > "$0"', hist(m, 'rollback')])
        assert r.returncode != 0 and b'Invalid argument' in r.stderr, (bad, r.stderr)
    assert m.revisions() == n
    assert walk(m.mnt, times=True) == tree
    assert hist(m, 'log').read_text() == log
    assert head_link(m) == str(n)
    # and a good number still works afterwards
    assert rollback(m, '1\n') == 0
    assert m.revisions() == n + 1


def test_rollback_refused_by_todays_policy(cfgfs_factory, tmp_path):
    # no policy: a .conf file is committed as it is, invalid YAML or not
    m = cfgfs_factory(files={'app.yaml': APP})
    write(m.mnt / 'x.conf', b'key: [1, 2\n')
    bad_rev = m.revisions()
    write(m.mnt / 'x.conf', b'key: [1, 2]\n')
    write(m.mnt / 'y.txt', b'later\n')
    good_rev = m.revisions()
    src = m.src
    finish(m)

    policy = tmp_path / 'policy.yaml'
    policy.write_text('rules:\n  - match: "*.conf"\n    format: yaml\n')
    m = cfgfs_factory(src=src, opts=[*FAST_OPTS, f'policy={policy}'])
    assert m.revisions() == good_rev       # a remount adds no revision
    n = good_rev
    tree = walk(m.mnt, times=True)
    log = hist(m, 'log').read_text()
    errors_before = m.errors()
    assert rollback(m, bad_rev) == errno.EINVAL
    # nothing changed: tree, store, history
    assert m.revisions() == n
    assert walk(m.mnt, times=True) == tree
    assert hist(m, 'log').read_text() == log
    assert head_link(m) == str(n)
    assert (m.mnt / 'x.conf').read_bytes() == b'key: [1, 2]\n'
    assert (hist(m, bad_rev, 'x.conf')).read_bytes() == b'key: [1, 2\n'
    # and the reason is where rejected saves put theirs
    errors = m.errors()
    assert errors != errors_before
    assert re.search(r'x\.conf:\d+:\d+: ', errors), errors
    # the shell sees EINVAL
    r = run(['bash', '-c', f'echo {bad_rev} > "$0"', hist(m, 'rollback')])
    assert r.returncode != 0 and b'Invalid argument' in r.stderr
    assert m.revisions() == n
    # a revision that passes today's policy can still be restored
    assert rollback(m, bad_rev - 1) == 0
    assert m.revisions() == n + 1
    assert not (m.mnt / 'x.conf').exists()
