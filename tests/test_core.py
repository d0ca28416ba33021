"""The core mount (issue 2): every operation through the mount behaves as on
a plain directory and is committed; one save is one commit with the right
author, message and tree; readers never see a partial save; mounting over
SOURCE, reconcile after offline edits, .git unreachable, clean unmount,
daemon mode, the mount helper and bad arguments.

Run as root: /usr/bin/python3 -m pytest tests/test_core.py
"""
import ctypes
import errno
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (cfgfs_bin, finish, find_pids, is_mounted, need_root, pid_alive,
                      run, terminate_pid, unmount, wait_until)

APP = b'name: demo\nport: 8080\n'
BASE_FILES = {'app.yaml': APP, 'notes.txt': b'line one\nline two\n',
              'conf/db.json': b'{"host": "db", "port": 5432}\n'}
ROOT_NAME = pwd.getpwuid(0).pw_name


def errno_of(fn, *args):
    """Run fn; return its errno when it raises OSError, else 0."""
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def snapshot(root, times=False):
    """Everything a user can see of a tree, except .git, .cfgfs and .history."""
    root = str(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root:
            dirnames[:] = [d for d in dirnames if d not in ('.git', '.cfgfs', '.history')]
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            e = {'type': stat.S_IFMT(st.st_mode), 'mode': oct(stat.S_IMODE(st.st_mode)),
                 'uid': st.st_uid, 'gid': st.st_gid}
            if stat.S_ISREG(st.st_mode):
                e['size'] = st.st_size
                with open(p, 'rb') as f:
                    e['data'] = f.read()
            elif stat.S_ISLNK(st.st_mode):
                e['target'] = os.readlink(p)
            if times:
                e['mtime_ns'] = st.st_mtime_ns
            out[rel] = e
    return out


def make_tree(root, files):
    for rel, data in files.items():
        p = Path(root) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


@pytest.fixture
def pair(cfgfs_factory, tmp_path):
    """A plain directory and a mount, both starting with BASE_FILES."""
    plain = tmp_path / 'plain'
    plain.mkdir()
    make_tree(plain, BASE_FILES)
    m = cfgfs_factory(files=BASE_FILES)
    assert snapshot(plain) == snapshot(m.mnt)
    return plain, m


def same_on_both(pair, op, times=()):
    """Apply op(root) to the plain directory and to the mount; the results
    (return values or errnos) and the visible trees must be equal (with the
    mtimes of the paths in `times`)."""
    plain, m = pair
    results = []
    for root in (plain, m.mnt):
        old = os.umask(0o022)
        try:
            results.append(op(Path(root)))
        except OSError as e:
            results.append(('errno', errno.errorcode.get(e.errno, e.errno)))
        finally:
            os.umask(old)
    assert results[0] == results[1], 'the mount answered differently'
    a, b = snapshot(m.mnt, True), snapshot(plain, True)
    for snap in (a, b):
        for rel, e in snap.items():
            if rel not in times:
                del e['mtime_ns']
    assert a == b
    return results[1]


def git_matches_mount(m):
    """HEAD's tree (files, symlinks, modes, owners) equals the mount's view."""
    snap = snapshot(m.mnt)
    tree = m.tree()
    files = {k: v for k, v in snap.items() if v['type'] != stat.S_IFDIR}
    assert sorted(tree) == sorted(files)
    for rel, e in files.items():
        gmode, data = tree[rel]
        if e['type'] == stat.S_IFLNK:
            assert gmode == '120000' and data.decode() == e['target'], rel
        else:
            assert data == e['data'], rel
        mode, uid, gid, _, _ = m.meta(rel)
        assert (stat.S_IMODE(mode), uid, gid) == (int(e['mode'], 8), e['uid'], e['gid']), rel
    for rel, e in snap.items():
        if e['type'] == stat.S_IFDIR:
            mode, uid, gid, _, _ = m.meta(rel + '/.')
            assert (stat.S_IMODE(mode), uid, gid) == (int(e['mode'], 8), e['uid'], e['gid']), rel


# ---------------------------------------------------------------- operations

def test_create_write_read(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        fd = os.open(r / 'new.yaml', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        os.write(fd, b'a: 1\n')
        os.write(fd, b'b: [1, 2]\n')
        os.close(fd)
        with open(r / 'new.yaml', 'rb') as f:
            return f.read()
    assert same_on_both(pair, op) == b'a: 1\nb: [1, 2]\n'
    assert m.revisions() == n + 1
    assert re.fullmatch(r'create new\.yaml \(python3, pid \d+\)', m.message())
    git_matches_mount(m)
    # O_EXCL on an existing name is refused as on disk
    same_on_both(pair, lambda r: os.open(r / 'new.yaml', os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    assert m.revisions() == n + 1


def test_overwrite_and_append(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        with open(r / 'notes.txt', 'ab') as f:
            f.write(b'line three\n')
        with open(r / 'app.yaml', 'r+b') as f:
            f.seek(6)
            f.write(b'DEMO')
        return (r / 'app.yaml').read_bytes()
    assert same_on_both(pair, op) == b'name: DEMO\nport: 8080\n'
    assert m.revisions() == n + 2
    assert m.files()['notes.txt'] == b'line one\nline two\nline three\n'
    git_matches_mount(m)


def test_pread_pwrite_sparse(pair):
    def op(r):
        fd = os.open(r / 'blob.bin', os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(fd, b'end', 70000)
        os.pwrite(fd, b'start', 0)
        data = os.pread(fd, 10, 69998)
        os.close(fd)
        return data
    assert same_on_both(pair, op) == b'\0\0end'
    git_matches_mount(pair[1])


def test_truncate(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        os.truncate(r / 'notes.txt', 4)
        with open(r / 'grow.txt', 'wb') as f:
            f.write(b'x')
        os.truncate(r / 'grow.txt', 5000)
        with open(r / 'app.yaml', 'r+b') as f:
            f.truncate(10)
        return [(r / x).stat().st_size for x in ('notes.txt', 'grow.txt', 'app.yaml')]
    assert same_on_both(pair, op) == [4, 5000, 10]
    # notes truncate, grow create, grow truncate, app truncate
    assert m.revisions() == n + 4
    git_matches_mount(m)
    assert m.files()['app.yaml'] == b'name: demo'


def test_bare_o_trunc_commits_empty_file(pair):
    plain, m = pair
    n = m.revisions()

    # A bare O_TRUNC is a save committed at RELEASE, which the kernel sends
    # after close() returns: until then readers keep the previous version.
    def op(r):
        os.close(os.open(r / 'notes.txt', os.O_WRONLY | os.O_TRUNC))
    same_on_both(pair, op)
    m.wait_revisions(n + 1)
    assert (plain / 'notes.txt').read_bytes() == b''
    assert (m.mnt / 'notes.txt').read_bytes() == b''
    assert m.files()['notes.txt'] == b''


def test_chmod(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        os.chmod(r / 'app.yaml', 0o600)
        os.chmod(r / 'notes.txt', 0o755)
        os.chmod(r / 'conf', 0o700)
        return [stat.S_IMODE((r / x).stat().st_mode) for x in ('app.yaml', 'notes.txt', 'conf')]
    assert same_on_both(pair, op) == [0o600, 0o755, 0o700]
    assert m.revisions() == n + 3
    msgs = m.messages()[:3]
    assert all(re.fullmatch(r'chmod \S+ \(python3, pid \d+\)', x) for x in msgs), msgs
    assert m.tree()['notes.txt'][0] == '100755'
    assert m.tree()['app.yaml'][0] == '100644'
    git_matches_mount(m)


def test_chown(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        os.chown(r / 'notes.txt', 1234, 1234)
        os.chown(r / 'conf', 1234, -1)
        os.chown(r / 'app.yaml', -1, 4321)
        return [((r / x).stat().st_uid, (r / x).stat().st_gid)
                for x in ('notes.txt', 'conf', 'app.yaml')]
    assert same_on_both(pair, op) == [(1234, 1234), (1234, 0), (0, 4321)]
    assert m.revisions() == n + 3
    assert re.fullmatch(r'chown notes\.txt \(python3, pid \d+\)', m.messages()[2])
    git_matches_mount(m)
    assert m.meta('notes.txt')[1:3] == (1234, 1234)


def test_utimens_touch_d(pair):
    plain, m = pair

    def op(r):
        for name in ('app.yaml', 'conf'):
            res = run(['touch', '-d', '2001-02-03 04:05:06.789', r / name])
            assert res.returncode == 0, res.stderr
        os.utime(r / 'notes.txt', ns=(1_000_000_000_123, 1_100_000_000_456))
        st = (r / 'notes.txt').stat()
        return st.st_atime_ns, st.st_mtime_ns
    assert same_on_both(pair, op, times=('app.yaml', 'conf', 'notes.txt')) == (1_000_000_000_123, 1_100_000_000_456)
    # a later save keeps what the tool set before it (cp -p, rsync)
    n = m.revisions()
    r = run(['cp', '-p', m.mnt / 'notes.txt', m.mnt / 'copy.txt'])
    assert r.returncode == 0, r.stderr
    assert (m.mnt / 'copy.txt').stat().st_mtime_ns == 1_100_000_000_456
    m.wait_revisions(n + 1)
    assert m.meta('copy.txt')[3:] == (1100, 456)


def test_mkdir_rmdir(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        os.mkdir(r / 'd', 0o750)
        os.mkdir(r / 'd' / 'e')
        os.mkdir(r / 'gone')
        (r / 'd' / 'e' / 'x.json').write_bytes(b'[1, 2]\n')
        os.rmdir(r / 'gone')
        return sorted(os.listdir(r / 'd'))
    assert same_on_both(pair, op) == ['e']
    assert m.revisions() == n + 5
    assert re.fullmatch(r'mkdir d \(python3, pid \d+\)', m.messages()[4])
    assert re.fullmatch(r'rmdir gone \(python3, pid \d+\)', m.message())
    git_matches_mount(m)
    # an empty directory survives in the store
    same_on_both(pair, lambda r: os.mkdir(r / 'empty', 0o700))
    assert 'empty/.cfgfs-meta' in m.git('ls-tree', '-r', '--name-only', 'HEAD').split()
    assert stat.S_IMODE(m.meta('empty/.')[0]) == 0o700
    # errors as on disk
    n = m.revisions()
    assert same_on_both(pair, lambda r: os.rmdir(r / 'd')) == ('errno', 'ENOTEMPTY')
    assert same_on_both(pair, lambda r: os.mkdir(r / 'd')) == ('errno', 'EEXIST')
    assert same_on_both(pair, lambda r: os.rmdir(r / 'nope')) == ('errno', 'ENOENT')
    assert same_on_both(pair, lambda r: os.rmdir(r / 'app.yaml')) == ('errno', 'ENOTDIR')
    assert m.revisions() == n


def test_unlink(pair):
    plain, m = pair
    n = m.revisions()
    same_on_both(pair, lambda r: os.unlink(r / 'notes.txt'))
    assert not (m.mnt / 'notes.txt').exists()
    m.wait_revisions(n + 1)   # the delete commits after the settle window
    assert re.fullmatch(r'delete notes\.txt \(python3, pid \d+\)', m.message())
    assert 'notes.txt' not in m.files()
    assert same_on_both(pair, lambda r: os.unlink(r / 'notes.txt')) == ('errno', 'ENOENT')
    assert same_on_both(pair, lambda r: os.unlink(r / 'conf')) in (
        ('errno', 'EISDIR'), ('errno', 'EPERM'))
    git_matches_mount(m)


def test_unlink_then_recreate_is_one_modify(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):  # install(1), git checkout: unlink first, then write anew
        os.unlink(r / 'app.yaml')
        (r / 'app.yaml').write_bytes(b'name: new\n')
    same_on_both(pair, op)
    assert m.revisions() == n + 1
    time.sleep(1.0)  # past the settle window: no delete may follow
    assert m.revisions() == n + 1
    assert m.files()['app.yaml'] == b'name: new\n'


def test_rename(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        os.rename(r / 'notes.txt', r / 'conf' / 'notes.txt')
        os.rename(r / 'conf', r / 'config')
        (r / 'tmp.yaml').write_bytes(b'name: replaced\n')
        os.rename(r / 'tmp.yaml', r / 'app.yaml')
        return sorted(set(os.listdir(r)) - {'.cfgfs', '.history'})
    assert same_on_both(pair, op) == ['app.yaml', 'config']
    m.wait_revisions(n + 4)
    msgs = m.messages()
    assert re.fullmatch(r'rename notes\.txt -> conf/notes\.txt \(python3, pid \d+\)', msgs[3])
    assert re.fullmatch(r'rename conf -> config \(python3, pid \d+\)', msgs[2])
    assert m.files()['app.yaml'] == b'name: replaced\n'
    git_matches_mount(m)
    assert same_on_both(pair, lambda r: os.rename(r / 'nope', r / 'x')) == ('errno', 'ENOENT')
    assert same_on_both(pair, lambda r: os.rename(r / 'config', r / 'app.yaml')) == (
        'errno', 'ENOTDIR')


def renameat2(old, new, flags):
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, 'renameat2'):
        pytest.skip('libc has no renameat2')
    AT_FDCWD = -100
    rc = libc.renameat2(AT_FDCWD, os.fsencode(str(old)), AT_FDCWD, os.fsencode(str(new)),
                        ctypes.c_uint(flags))
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), str(old))


RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


def test_rename_noreplace(pair):
    plain, m = pair
    n = m.revisions()
    assert same_on_both(pair, lambda r: renameat2(r / 'notes.txt', r / 'app.yaml',
                                                  RENAME_NOREPLACE)) == ('errno', 'EEXIST')
    assert m.revisions() == n
    same_on_both(pair, lambda r: renameat2(r / 'notes.txt', r / 'fresh.txt', RENAME_NOREPLACE))
    m.wait_revisions(n + 1)
    assert re.fullmatch(r'rename notes\.txt -> fresh\.txt \(python3, pid \d+\)', m.message())
    git_matches_mount(m)


def test_rename_exchange_is_einval(pair):
    plain, m = pair
    n = m.revisions()
    before = snapshot(m.mnt)
    with pytest.raises(OSError) as e:
        renameat2(m.mnt / 'notes.txt', m.mnt / 'app.yaml', RENAME_EXCHANGE)
    assert e.value.errno == errno.EINVAL
    assert snapshot(m.mnt) == before
    assert m.revisions() == n


def test_symlink_readlink(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        os.symlink('app.yaml', r / 'current.yaml')
        os.symlink('../app.yaml', r / 'conf' / 'up')
        os.symlink('/nonexistent/target', r / 'dangling')
        return (os.readlink(r / 'current.yaml'), (r / 'current.yaml').read_bytes(),
                os.readlink(r / 'dangling'))
    assert same_on_both(pair, op) == ('app.yaml', APP, '/nonexistent/target')
    assert m.revisions() == n + 3
    assert re.fullmatch(r'symlink current\.yaml \(python3, pid \d+\)', m.messages()[2])
    tree = m.tree()
    assert tree['current.yaml'] == ('120000', b'app.yaml')
    assert tree['conf/up'] == ('120000', b'../app.yaml')
    git_matches_mount(m)
    assert same_on_both(pair, lambda r: os.symlink('x', r / 'app.yaml')) == ('errno', 'EEXIST')


def test_hard_link(pair):
    plain, m = pair
    n = m.revisions()

    def op(r):
        os.link(r / 'app.yaml', r / 'app-backup.yaml')
        os.link(r / 'app.yaml', r / 'conf' / 'app-copy.yaml')
        return (r / 'conf' / 'app-copy.yaml').read_bytes()
    assert same_on_both(pair, op) == APP
    assert m.revisions() == n + 2
    assert re.fullmatch(r'link conf/app-copy\.yaml \(python3, pid \d+\)', m.message())
    files = m.files()
    assert files['app-backup.yaml'] == APP and files['conf/app-copy.yaml'] == APP
    git_matches_mount(m)
    # a later save through one name replaces that name only
    (m.mnt / 'conf' / 'app-copy.yaml').write_bytes(b'name: copy\n')
    assert (m.mnt / 'app.yaml').read_bytes() == APP
    assert (m.mnt / 'conf' / 'app-copy.yaml').read_bytes() == b'name: copy\n'
    assert m.files()['app.yaml'] == APP
    assert m.files()['conf/app-copy.yaml'] == b'name: copy\n'


def test_statfs(cfgfs):
    m = cfgfs
    a, b = os.statvfs(m.mnt), os.statvfs(m.src)
    assert a.f_bsize > 0 and a.f_blocks > 0
    assert a.f_namemax >= 255
    assert (a.f_bsize, a.f_blocks, a.f_files) == (b.f_bsize, b.f_blocks, b.f_files)
    r = run(['df', '-P', m.mnt])
    assert r.returncode == 0, r.stderr


def test_fifo_and_device_nodes_are_eperm(cfgfs):
    m = cfgfs
    n = m.revisions()
    assert errno_of(os.mkfifo, m.mnt / 'fifo') == errno.EPERM
    assert errno_of(os.mknod, m.mnt / 'null', stat.S_IFCHR | 0o600, os.makedev(1, 3)) == \
        errno.EPERM
    assert errno_of(os.mknod, m.mnt / 'blk', stat.S_IFBLK | 0o600, os.makedev(7, 0)) == \
        errno.EPERM
    r = run(['mkfifo', m.mnt / 'fifo2'])
    assert r.returncode != 0 and b'Operation not permitted' in r.stderr
    assert sorted(os.listdir(m.mnt)) == ['.cfgfs', '.history', 'app.yaml']
    assert m.revisions() == n


def test_whole_scenario_matches_plain_dir_and_git(pair):
    """Many operations in a row, as a deploy tool would do them."""
    plain, m = pair

    def op(r):
        os.makedirs(r / 'svc' / 'web')
        (r / 'svc' / 'web' / 'site.yaml').write_bytes(b'listen: 80\n')
        os.chmod(r / 'svc' / 'web' / 'site.yaml', 0o640)
        os.chown(r / 'svc' / 'web', 1234, 1234)
        os.symlink('web/site.yaml', r / 'svc' / 'default.yaml')
        os.rename(r / 'notes.txt', r / 'svc' / 'README')
        os.truncate(r / 'svc' / 'README', 3)
        os.link(r / 'app.yaml', r / 'svc' / 'app.yaml')
        os.unlink(r / 'conf' / 'db.json')
        os.rmdir(r / 'conf')
    same_on_both(pair, op)
    wait_until(lambda: 'conf/db.json' not in m.files(), 10, 'the settled delete')
    git_matches_mount(m)


# ---------------------------------------------------------------- commits

def test_one_save_one_commit(cfgfs_factory, hostname):
    """With the default fsync=on: one tool save, one commit, read back with
    plain git."""
    m = cfgfs_factory(files=BASE_FILES, opts=['settle=300ms'])
    assert m.revisions() == 1
    assert m.message() == 'import the existing tree'
    assert sorted(m.files()) == sorted(BASE_FILES)
    before = m.head()
    p = subprocess.Popen(['tee', str(m.mnt / 'app.yaml')], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = p.communicate(b'name: demo\nport: 9090\n', timeout=60)
    assert p.returncode == 0, err
    assert m.revisions() == 2
    assert m.git('rev-parse', 'HEAD~1').strip() == before
    assert m.message() == f'modify app.yaml (tee, pid {p.pid})'
    assert m.author() == f'{ROOT_NAME} <{ROOT_NAME}@{hostname}>'
    assert m.git('log', '-1', '--format=%cn', 'HEAD').strip()
    changed = m.git('diff-tree', '--no-commit-id', '--name-only', '-r', 'HEAD').split()
    assert [c for c in changed if not c.endswith('.cfgfs-meta')] == ['app.yaml']
    assert m.show('app.yaml') == b'name: demo\nport: 9090\n'
    assert m.files() == {**BASE_FILES, 'app.yaml': b'name: demo\nport: 9090\n'}
    assert (m.src / 'app.yaml').read_bytes() == b'name: demo\nport: 9090\n'
    # a save of the same bytes, a read, a stat: no further revision
    for _ in range(3):
        (m.mnt / 'app.yaml').read_bytes()
        os.stat(m.mnt / 'app.yaml')
        os.listdir(m.mnt)
    assert m.revisions() == 2
    finish(m)
    assert m.revisions() == 2


def test_each_tool_save_is_one_revision(cfgfs):
    m = cfgfs
    target = m.mnt / 'app.yaml'
    steps = [
        ['sh', '-c', f'echo "port: 1" > {target}'],
        ['cp', '/dev/stdin', target],
        ['sed', '-i', 's/port: 1/port: 2/', target],
        ['vim', '-u', 'NONE', '-N', '-es', '-c', '%s/port: 2/port: 3/', '-c', 'wq', target],
    ]
    n = m.revisions()
    r = run(steps[0])
    assert r.returncode == 0 and m.revisions() == n + 1
    r = run(steps[1], input=b'port: 1\nname: x\n')
    assert r.returncode == 0 and m.revisions() == n + 2
    r = run(steps[2])
    assert r.returncode == 0, r.stderr
    m.wait_revisions(n + 3)
    r = run(steps[3])
    assert r.returncode == 0, r.stdout + r.stderr
    m.wait_revisions(n + 4)
    time.sleep(0.8)  # longer than settle=300ms: the move-aside may not delete
    assert m.revisions() == n + 4
    assert m.files()['app.yaml'] == b'port: 3\nname: x\n'
    src = m.src.parent / 'rsync-src.yaml'
    src.write_bytes(b'port: 4\n')
    r = run(['rsync', str(src), str(target)])
    assert r.returncode == 0, r.stderr
    m.wait_revisions(n + 5)
    time.sleep(0.8)
    assert m.revisions() == n + 5
    assert re.fullmatch(r'modify app\.yaml \(rsync, pid \d+\)', m.message())
    names = [x for x in m.messages()[:5]]
    assert all(x.startswith('modify app.yaml ') for x in names), names
    assert sorted(os.listdir(m.mnt)) == ['.cfgfs', '.history', 'app.yaml']


def test_author_is_the_writing_user(public_dir, cfgfs_factory, hostname):
    mnt = public_dir / 'mnt'
    mnt.mkdir()
    m = cfgfs_factory(files=BASE_FILES, mnt=mnt,
                      opts=['fsync=off', 'settle=300ms', 'allow_other'])
    os.mkdir(m.mnt / 'shared')
    os.chmod(m.mnt / 'shared', 0o777)
    nobody = pwd.getpwnam('nobody')
    r = run(['tee', m.mnt / 'shared' / 'a.yaml'], uid=nobody.pw_uid, gid=nobody.pw_gid,
            input=b'a: 1\n')
    assert r.returncode == 0, r.stderr
    assert m.author() == f'nobody <nobody@{hostname}>'
    assert re.fullmatch(r'create shared/a\.yaml \(tee, pid \d+\)', m.message())
    assert m.meta('shared/a.yaml')[1:3] == (nobody.pw_uid, nobody.pw_gid)
    assert (m.mnt / 'shared' / 'a.yaml').stat().st_uid == nobody.pw_uid
    # a uid without a passwd entry is named by its number
    r = run(['tee', m.mnt / 'shared' / 'b.yaml'], uid=4242, gid=4242, input=b'b: 1\n')
    assert r.returncode == 0, r.stderr
    assert m.author() == f'4242 <4242@{hostname}>'
    # and default_permissions applies: nobody cannot write root's 0644 file
    r = run(['tee', m.mnt / 'app.yaml'], uid=nobody.pw_uid, gid=nobody.pw_gid,
            input=b'x: 1\n')
    assert r.returncode != 0 and b'Permission denied' in r.stderr
    assert (m.mnt / 'app.yaml').read_bytes() == APP


def test_readers_see_old_or_new_never_partial(cfgfs):
    m = cfgfs
    target = m.mnt / 'app.yaml'
    versions = [APP] + [
        (f'version: {i}\npad: "' + chr(ord('a') + i % 26) * ((i * 7919) % 150000) + '"\n')
        .encode() for i in range(1, 41)]
    seen = set()
    stop = threading.Event()
    failures = []

    def reader():
        while not stop.is_set():
            try:
                with open(target, 'rb') as f:
                    data = f.read()
            except OSError as e:
                failures.append(f'read failed: {e}')
                return
            seen.add(data)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    n = m.revisions()
    try:
        for v in versions[1:]:
            with open(target, 'wb') as f:
                for off in range(0, len(v), 4096):
                    f.write(v[off:off + 4096])
                    f.flush()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures
    assert m.revisions() == n + 40
    committed = {m.show('app.yaml', f'HEAD~{k}') for k in range(41)}
    assert committed == set(versions)
    bad = [d[:60] + b'...' + str(len(d)).encode() for d in seen if d not in committed]
    assert not bad, f'readers saw {len(bad)} partial or unknown versions: {bad[:3]}'
    assert len(seen) > 1


# ---------------------------------------------------------------- mounting

def test_mount_over_source(cfgfs_factory, tmp_path):
    gitdir = tmp_path / 'store.git'
    m = cfgfs_factory(files=BASE_FILES, over_source=True, gitdir=gitdir)
    assert is_mounted(m.src)
    assert sorted(os.listdir(m.src)) == ['.cfgfs', '.history', 'app.yaml', 'conf', 'notes.txt']
    assert (m.src / 'app.yaml').read_bytes() == APP
    n = m.revisions()
    (m.src / 'app.yaml').write_bytes(b'name: over\n')
    (m.src / 'conf' / 'new.json').write_bytes(b'{}')
    assert m.revisions() == n + 2
    assert (m.src / 'app.yaml').read_bytes() == b'name: over\n'
    finish(m)
    assert not is_mounted(m.src)
    assert (m.src / 'app.yaml').read_bytes() == b'name: over\n'
    assert (m.src / 'conf' / 'new.json').read_bytes() == b'{}'
    assert m.files()['app.yaml'] == b'name: over\n'


def test_mount_over_source_default_gitdir(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES, over_source=True)
    assert '.git' not in os.listdir(m.src)
    (m.src / 'app.yaml').write_bytes(b'name: over\n')
    os.unlink(m.src / 'notes.txt')
    finish(m)
    assert re.fullmatch(r'delete notes\.txt \(python3, pid \d+\)', m.message())
    assert m.files() == {'app.yaml': b'name: over\n', 'conf/db.json': BASE_FILES['conf/db.json']}
    assert sorted(os.listdir(m.src)) == ['.git', 'app.yaml', 'conf']


def test_remount_after_offline_edit(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    (m.mnt / 'app.yaml').write_bytes(b'name: online\n')
    finish(m)
    n = m.revisions()
    # a remount of an unchanged tree adds nothing
    m2 = finish(cfgfs_factory(src=m.src, mnt=m.mnt))
    assert m2.revisions() == n
    # edit while unmounted
    (m.src / 'app.yaml').write_bytes(b'name: offline\n')
    (m.src / 'notes.txt').unlink()
    (m.src / 'conf' / 'extra.json').write_bytes(b'[1]\n')
    os.makedirs(m.src / 'newdir' / 'deep')
    os.symlink('app.yaml', m.src / 'link')
    os.chmod(m.src / 'conf' / 'db.json', 0o600)
    m3 = cfgfs_factory(src=m.src, mnt=m.mnt)
    assert m3.revisions() == n + 1
    assert m3.message().startswith('reconcile')
    assert m3.files() == {'app.yaml': b'name: offline\n', 'conf/db.json': BASE_FILES['conf/db.json'],
                          'conf/extra.json': b'[1]\n', 'link': b'app.yaml'}
    assert (m3.mnt / 'app.yaml').read_bytes() == b'name: offline\n'
    assert (m3.mnt / 'newdir' / 'deep').is_dir()
    git_matches_mount(m3)
    assert m3.log_events('reconcile')


def test_git_dir_unreachable(cfgfs):
    m = cfgfs
    n = m.revisions()
    g = m.mnt / '.git'
    assert '.git' not in os.listdir(m.mnt)
    assert errno_of(os.stat, g) == errno.ENOENT
    assert errno_of(os.stat, g / 'HEAD') == errno.ENOENT
    assert errno_of(os.listdir, g) == errno.ENOENT
    assert run(['ls', g]).returncode != 0
    assert run(['cat', g / 'HEAD']).returncode != 0
    assert errno_of(lambda: open(g, 'w').close()) != 0
    assert errno_of(os.mkdir, g) != 0
    assert errno_of(os.symlink, 'app.yaml', g) != 0
    assert errno_of(os.rename, m.mnt / 'app.yaml', g) != 0
    assert errno_of(os.link, m.mnt / 'app.yaml', g) != 0
    assert errno_of(lambda: open(g / 'HEAD', 'w').close()) != 0
    # neither are the store's own names nor staging files, even mid-save
    assert errno_of(lambda: open(m.mnt / '.cfgfs-meta', 'w').close()) != 0
    with open(m.mnt / 'app.yaml', 'wb') as f:
        f.write(b'a: 1\n')
        f.flush()
        assert not [x for x in os.listdir(m.mnt) if x.startswith('.cfgfs-') or x == '.git']
    assert (m.src / '.git' / 'HEAD').is_file()
    assert m.revisions() == n + 1
    assert run(['git', '-C', m.mnt, 'status']).returncode != 0


def test_clean_unmount_with_saves_in_flight_loses_nothing(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES, opts=['fsync=off', 'settle=30s'])
    root = os.open(m.mnt, os.O_RDONLY | os.O_DIRECTORY)
    acked = {f'w{i}.yaml': [] for i in range(4)}
    stop = threading.Event()
    errors = []

    def writer(name):
        k = 0
        while not stop.is_set():
            data = f'writer: {name}\nsave: {k}\n'.encode()
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=root)
                os.write(fd, data)
                os.close(fd)
            except OSError as e:
                errors.append(f'{name}: {e}')
                return
            acked[name].append(data)
            k += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in acked]
    for t in threads:
        t.start()
    wait_until(lambda: all(len(v) >= 5 for v in acked.values()), 30, 'first saves')
    # a delete still settling (30s) must be committed by the unmount
    os.unlink(os.path.join(m.mnt, 'notes.txt'))
    r = subprocess.run(['fusermount3', '-u', '-z', str(m.mnt)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    time.sleep(0.3)  # saves keep arriving through the open directory fd
    stop.set()
    for t in threads:
        t.join()
    os.close(root)
    m.wait_exit()
    finish(m)
    assert not errors, errors
    files = m.files()
    assert 'notes.txt' not in files
    log = m.git('log', '--format=%H')
    for name, datas in acked.items():
        assert files[name] == datas[-1], name
        versions = {m.git('show', f'{c}:{name}', check=False) for c in log.split()}
        missing = [d for d in datas if d.decode() not in versions]
        assert not missing, f'{name}: acknowledged saves missing from history: {missing[:3]}'
        assert (m.src / name).read_bytes() == datas[-1]
    assert not (m.src / 'notes.txt').exists()


def test_unmount_finishes_pending_deletes(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES, opts=['fsync=off', 'settle=60s'])
    os.unlink(m.mnt / 'notes.txt')
    os.rename(m.mnt / 'app.yaml', m.mnt / 'app.yaml~')  # renamed to a scratch name
    n = m.revisions()
    finish(m)
    assert m.revisions() == n + 2
    assert sorted(m.files()) == ['conf/db.json']
    assert not (m.src / 'notes.txt').exists() and not (m.src / 'app.yaml').exists()


def test_git_fsck_clean(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES)
    for i in range(20):
        (m.mnt / f'f{i % 5}.json').write_bytes(f'{{"i": {i}}}'.encode())
    os.mkdir(m.mnt / 'd')
    os.symlink('../app.yaml', m.mnt / 'd' / 'l')
    os.chmod(m.mnt / 'f1.json', 0o600)
    os.unlink(m.mnt / 'f2.json')
    os.rename(m.mnt / 'f3.json', m.mnt / 'd' / 'f3.json')
    finish(m)
    r = subprocess.run(['git', '--git-dir', str(m.gitdir), 'fsck', '--full', '--strict'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'error' not in (r.stdout + r.stderr).lower()
    r = subprocess.run(['git', '--git-dir', str(m.gitdir), 'log', '--oneline'],
                       capture_output=True, text=True)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == m.revisions()


# ---------------------------------------------------------------- daemon

def _cleanup_daemon(src, mnt):
    if is_mounted(mnt):
        try:
            unmount(mnt)
        except AssertionError:
            pass
    for pid in find_pids(str(src)):
        terminate_pid(pid)


def test_daemon_mode_ready_on_return_and_sigterm(tmp_path):
    need_root()
    binary = cfgfs_bin()
    src, mnt = tmp_path / 'src', tmp_path / 'mnt'
    src.mkdir()
    mnt.mkdir()
    (src / 'app.yaml').write_bytes(APP)
    try:
        r = subprocess.run(['sh', '-c', f'"$0" -o fsync=off "$1" "$2" && cat "$2/app.yaml"',
                            str(binary), str(src), str(mnt)],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout == APP
        assert is_mounted(mnt)
        pids = find_pids(str(src), str(mnt))
        assert len(pids) == 1, pids
        pid = pids[0]
        (mnt / 'app.yaml').write_bytes(b'name: daemon\n')
        assert terminate_pid(pid), 'cfgfs ignored SIGTERM'
        assert not is_mounted(mnt)
        assert (src / 'app.yaml').read_bytes() == b'name: daemon\n'
        out = subprocess.run(['git', '-C', str(src), 'log', '--format=%s'],
                             capture_output=True, text=True).stdout.splitlines()
        assert len(out) == 2 and out[0].startswith('modify app.yaml (python3, pid ')
        r = subprocess.run(['git', '-C', str(src), 'fsck', '--full'], capture_output=True)
        assert r.returncode == 0
    finally:
        _cleanup_daemon(src, mnt)


def test_sigterm_in_foreground_unmounts_cleanly(cfgfs_factory):
    m = cfgfs_factory(files=BASE_FILES, opts=['fsync=off', 'settle=30s'])
    (m.mnt / 'app.yaml').write_bytes(b'name: term\n')
    os.unlink(m.mnt / 'notes.txt')
    m.proc.terminate()  # our child's exact PID
    m.wait_exit()
    assert not is_mounted(m.mnt)
    finish(m)
    assert m.files() == {'app.yaml': b'name: term\n', 'conf/db.json': BASE_FILES['conf/db.json']}


def test_mount_fuse3_helper_runs_cfgfs_from_path(tmp_path):
    need_root()
    helper = shutil.which('mount.fuse3') or (
        '/sbin/mount.fuse3' if os.path.exists('/sbin/mount.fuse3') else None)
    if not helper:
        pytest.skip('mount.fuse3 is missing')
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (bindir / 'cfgfs').symlink_to(cfgfs_bin())
    src, mnt = tmp_path / 'src', tmp_path / 'mnt'
    src.mkdir()
    mnt.mkdir()
    (src / 'app.yaml').write_bytes(APP)
    env = dict(os.environ, PATH=f'{bindir}:{os.environ.get("PATH", "/usr/bin:/bin")}')
    try:
        r = subprocess.run([helper, str(src), str(mnt), '-t', 'fuse.cfgfs', '-o',
                            'rw,fsync=off,noauto,_netdev'],
                           capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        assert is_mounted(mnt)
        with open('/proc/self/mountinfo') as f:
            line = next(x for x in f if f' {mnt} ' in x)
        assert 'fuse.cfgfs' in line
        assert (mnt / 'app.yaml').read_bytes() == APP
        (mnt / 'app.yaml').write_bytes(b'name: helper\n')
        r = subprocess.run(['umount', str(mnt)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        wait_until(lambda: not find_pids(str(src)), 20, 'cfgfs to exit after umount')
        assert (src / 'app.yaml').read_bytes() == b'name: helper\n'
    finally:
        _cleanup_daemon(src, mnt)


def test_mount_t_fuse_cfgfs(tmp_path):
    """mount(8) runs mount.fuse3, which runs `cfgfs` through /bin/sh with
    mount's sanitized PATH; so the test puts a `cfgfs` symlink on that PATH
    (/usr/local/sbin) inside a private mount namespace."""
    need_root()
    if not (shutil.which('mount.fuse3') or os.path.exists('/sbin/mount.fuse3')):
        pytest.skip('mount.fuse3 is missing')
    if not shutil.which('unshare') or not os.path.isdir('/usr/local/sbin'):
        pytest.skip('needs unshare(1) and /usr/local/sbin')
    if subprocess.run(['unshare', '-m', '--propagation', 'private', 'true'],
                      capture_output=True).returncode != 0:
        pytest.skip('no private mount namespace here (a chroot?): the bind mount '
                    'the test needs would leak to the host')
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    shutil.copy(cfgfs_bin(), bindir / 'cfgfs')
    src, mnt = tmp_path / 'src', tmp_path / 'mnt'
    src.mkdir()
    mnt.mkdir()
    (src / 'app.yaml').write_bytes(APP)
    script = f'''set -e
mount --bind {bindir} /usr/local/sbin
mount -t fuse.cfgfs {src} {mnt} -o fsync=off
grep -q ' {mnt} .* fuse.cfgfs ' /proc/self/mountinfo
cat {mnt}/app.yaml
printf 'name: fstab\\n' > {mnt}/app.yaml
umount {mnt}
'''
    try:
        r = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == APP
        wait_until(lambda: not find_pids(str(src)), 20, 'cfgfs to exit after umount')
        out = subprocess.run(['git', '-C', str(src), 'log', '--format=%s'],
                             capture_output=True, text=True).stdout.splitlines()
        assert len(out) == 2 and out[0].startswith('modify app.yaml (')
        assert (src / 'app.yaml').read_bytes() == b'name: fstab\n'
    finally:
        for pid in find_pids(str(src)):
            terminate_pid(pid)


# ---------------------------------------------------------------- bad arguments

def _bad_cases(tmp):
    f = tmp / 'afile'
    f.write_text('x')
    bad_policy = tmp / 'bad-policy.yaml'
    bad_policy.write_text('rules: [\n')
    return {
        'unknown-flag': ['-x', '{src}', '{mnt}'],
        'unknown-long-flag': ['--bogus', '{src}', '{mnt}'],
        'unknown-o-option': ['-o', 'no_such_option', '{src}', '{mnt}'],
        'source-not-a-dir': [str(f), '{mnt}'],
        'source-missing': [str(tmp / 'nope'), '{mnt}'],
        'mountpoint-missing': ['{src}', str(tmp / 'nope')],
        'missing-mountpoint': ['{src}'],
        'no-args': [],
        'extra-arg': ['{src}', '{mnt}', '{mnt}'],
        'fsync-maybe': ['-o', 'fsync=maybe', '{src}', '{mnt}'],
        'max-file-size-junk': ['-o', 'max_file_size=lots', '{src}', '{mnt}'],
        'settle-junk': ['-o', 'settle=soon', '{src}', '{mnt}'],
        'log-junk': ['-o', 'log=xml', '{src}', '{mnt}'],
        'policy-missing': ['-o', f'policy={tmp / "no-policy.yaml"}', '{src}', '{mnt}'],
        'policy-malformed': ['-o', f'policy={bad_policy}', '{src}', '{mnt}'],
        'o-without-value': ['{src}', '{mnt}', '-o'],
    }


BAD_CASE_NAMES = ['unknown-flag', 'unknown-long-flag', 'unknown-o-option', 'source-not-a-dir',
                  'source-missing', 'mountpoint-missing', 'missing-mountpoint', 'no-args',
                  'extra-arg', 'fsync-maybe', 'max-file-size-junk', 'settle-junk', 'log-junk',
                  'policy-missing', 'policy-malformed', 'o-without-value']


@pytest.mark.parametrize('foreground', [True, False], ids=['fg', 'daemon'])
@pytest.mark.parametrize('case', BAD_CASE_NAMES)
def test_bad_arguments(tmp_path, case, foreground):
    binary = cfgfs_bin()
    src, mnt = tmp_path / 'src', tmp_path / 'mnt'
    src.mkdir()
    mnt.mkdir()
    (src / 'app.yaml').write_bytes(APP)
    args = [a.format(src=src, mnt=mnt) for a in _bad_cases(tmp_path)[case]]
    argv = [str(binary)] + (['-f'] if foreground else []) + args
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (r.returncode, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].strip(), f'want one stderr line, got {lines!r}'
        assert r.stdout == ''
        assert not is_mounted(mnt)
        assert not (src / '.git').exists(), 'a refused command line touched SOURCE'
    finally:
        _cleanup_daemon(src, mnt)


# ---------------------------------------------------------------- crash safety

def test_kill_mid_save_then_remount_loses_nothing(cfgfs_factory, tmp_path):
    """SIGKILL the daemon while a writer saves in a loop, then mount again:
    the dead mount is cleared, SOURCE and the store agree, every committed
    version is one the writer wrote whole, and git fsck is clean."""
    from conftest import start  # the same launcher the fixture uses
    src = tmp_path / 'ksrc'
    src.mkdir()
    (src / 'app.yaml').write_bytes(b'version: 0\n')
    mnt = src  # over SOURCE, as operators run it
    victim = start(src, mnt, tmp_path, opts=['fsync=on'])
    written = {b'version: 0\n'}
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            data = f'version: {i}\npad: "{"x" * (i % 5000)}"\n'.encode()
            try:
                with open(mnt / 'app.yaml', 'wb') as f:
                    f.write(data)
                written.add(data)
            except OSError:
                written.add(data)  # may or may not have committed
                return
    t = threading.Thread(target=writer)
    t.start()
    wait_until(lambda: len(written) > 20, 30, 'the writer to save a few times')
    os.kill(victim.pid, signal.SIGKILL)
    victim.proc.wait()
    stop.set()
    t.join()
    victim.checked = True  # killed on purpose: its exit status says nothing

    # the remount (as a daemon: it returns once mounted) clears the dead
    # mount the killed one left over SOURCE
    r = subprocess.run([str(cfgfs_bin()), '-o', 'fsync=off', str(src), str(src)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert 'cleared the dead mount' in r.stderr, r.stderr
    try:
        live = (src / 'app.yaml').read_bytes()
        assert live in written, live[:40]
    finally:
        unmount(src)
        wait_until(lambda: not find_pids(str(src)), 20, 'cfgfs to exit after unmount')
    # below the mount: the store agrees with the file, fsck is clean, and
    # every committed version is one the writer wrote whole
    gitdir = src / '.git'
    show = lambda rev: subprocess.run(['git', '--git-dir', str(gitdir), 'show',
                                       f'{rev}:app.yaml'], capture_output=True).stdout
    assert show('HEAD') == live == (src / 'app.yaml').read_bytes()
    fsck = subprocess.run(['git', '--git-dir', str(gitdir), 'fsck', '--full'],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    revs = subprocess.run(['git', '--git-dir', str(gitdir), 'rev-list', 'HEAD'],
                          capture_output=True, text=True).stdout.split()
    for rev in revs[:50]:
        assert show(rev) in written
