"""Every editor and tool (issue 4): one logical save is exactly one revision
that touches only the saved path; an invalid save leaves the tree and the
history as they were, keeps the bytes in .cfgfs/rejected/PATH and, where the
tool checks for errors, makes the tool say so; no scratch name (swap, backup,
lock, probe, temporary) ever reaches any revision. Each tool runs at the
mount root and in a subdirectory (conf/sub/).

What each tool shows the user when cfgfs refuses a save (EINVAL), as recorded
by these tests (Debian 12 builds of the tools):

| tool | save pattern | what the user sees on refusal |
|---|---|---|
| vim (defaults) | rename `f`->`f~`, write new `f`, fsync, close, unlink `f~`; probe `4913` | `"f" E512: Close failed` (or `E667: Fsync failed`), exit 1 (`:wq` stays open / `-es` exits 1) |
| vim `backupcopy=yes` | copy `f`->`f~`, truncate+write `f` in place, fsync | `"f" E512: Close failed` (or `E667: Fsync failed`), exit 1 |
| neovim | rename `f`->`f~`, write new `f`, close (no fsync by default) | `E512: Close failed: invalid argument`, exit 1 |
| emacs --batch | truncate+write `f` in place (fsync inhibited in batch) | `Write error: Invalid argument`, exit 255 |
| emacs interactive (tmux, C-x C-s) | `.#f` lock symlink, truncate+write `f`, fsync, close | today **`Wrote f`**: emacs ignores EINVAL from fsync and cfgfs's close then succeeds (bug); once close fails too: `Write error: Invalid argument, f` |
| nano | truncate+write `f` in place | `[ Error writing f: Invalid argument ]` |
| `sed -i` | write `sedXXXXXX`, rename onto `f` | `sed: cannot rename DIR/sedXXXXXX: Invalid argument`, exit 4 |
| `cp` / `cp -p` | truncate+write `f` in place (`-p`: futimens before close) | `cp: failed to close 'f': Invalid argument`, exit 1 |
| `mv` from another fs | rename fails EXDEV; unlink `f`, create `f` (O_EXCL), write, futimens, fchmod, close, unlink the source | `mv: failed to close 'f': Invalid argument`, exit 1; source kept (today the old `f` is then deleted: bug) |
| `install -m 0640` | unlink `f`, create `f` (O_EXCL, 0600), write, fchmod 0600, close, then chmod 0640 by path | `install: failed to close 'f': Invalid argument`, exit 1 (today the old `f` is then deleted: bug) |
| `rsync` | write `.f.XXXXXX`, (utimensat), rename onto `f` | `rsync: [receiver] rename "DIR/.f.XXXXXX" -> "f": Invalid argument (22)`, exit 23 |
| `rsync --inplace` | truncate+write `f` in place | `rsync: [receiver] close failed on "f": Invalid argument (22)`, exit 11 |
| Python `NamedTemporaryFile` + `os.replace` | write `tmpXXXXXXXX`, rename onto `f` | `OSError: [Errno 22] Invalid argument: 'tmp...' -> 'f'` |
| Ansible `atomic_move` (emulated) | `.ansible_tmpXXXXXXXXf` in the same dir, fsync, rename | `failed final rename from ...: [Errno 22] Invalid argument` |
| JetBrains safe-write (emulated) | write `f___jb_tmp___`, rename `f`->`f___jb_old___`, rename tmp->`f`, unlink old | the rename fails with EINVAL: `Cannot save f: Invalid argument`; the IDE moves the old file back |
| `tee` | truncate+write `f` in place | `tee: f: Invalid argument`, exit 1 |
| bash `>` (builtin printf) | truncate+write `f` in place | nothing (bash ignores close errors), exit 0 |
| `git checkout -- f` (work tree = mount) | unlink `f`, create `f` (O_EXCL), write, close | nothing: git ignores close errors, exit 0 (today `f` vanishes and its delete is committed: bug) |

Run as root: /usr/bin/python3 -m pytest tests/test_editors.py
"""
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import run, wait_until

APP = b'name: demo\nport: 8080\n'
GOOD = b'name: demo\nport: 9090\n'
BAD = b'name: demo\nport: [\n'           # refused: YAML syntax error at 3:1
OLD_LINE = 'port: 8080'
FILES = {'app.yaml': APP, 'conf/sub/app.yaml': APP, 'conf/db.json': b'{"host": "db"}\n',
         'notes.txt': b'hello\n'}
WHERES = ['', 'conf/sub/']
WHERE_IDS = ['root', 'subdir']
SETTLE_MARGIN = 1.0     # > settle=300ms: a settled delete would have committed
STABLE_TIMEOUT = 30.0
TOOL_TIMEOUT = 60
TMUX_TIMEOUT = 30.0
# a fixed past time with nanoseconds, for the times tests
OLD_TIME_NS = 1_000_000_000 * 10**9 + 123_456_789


def new_line(data):
    """The second line of GOOD/BAD: what an editor turns 'port: 8080' into."""
    return data.decode().splitlines()[1]


# ---------------------------------------------------------------- helpers

def stable_revisions(m, timeout=STABLE_TIMEOUT):
    """The revision count once it stopped moving for longer than the settle
    window (a vanished original would commit its delete within it)."""
    deadline = time.monotonic() + timeout
    prev = m.revisions()
    while True:
        time.sleep(SETTLE_MARGIN)
        cur = m.revisions()
        if cur == prev:
            return cur
        if time.monotonic() > deadline:
            pytest.fail(f'revisions still moving after {timeout}s: {m.messages()[:5]}')
        prev = cur


def touched(m, rev='HEAD'):
    out = m.git('diff-tree', '--no-commit-id', '--name-only', '-r', '--root', rev)
    return sorted(p for p in out.splitlines()
                  if p and p != '.cfgfs-meta' and not p.endswith('/.cfgfs-meta'))


def history_paths(m):
    """Every path that any revision of the history touched."""
    out = m.git('log', '--name-only', '--format=', '--root', 'HEAD')
    return {p for p in out.splitlines() if p}


def assert_no_scratch_in_history(m):
    allowed = set(FILES) | {'.cfgfs-meta', 'conf/.cfgfs-meta', 'conf/sub/.cfgfs-meta'}
    extra = history_paths(m) - allowed
    assert not extra, f'paths in history that the tests never saved: {sorted(extra)}'
    for rev in range(m.revisions()):
        names = set(m.files(f'HEAD~{rev}'))
        assert names <= set(FILES), (rev, sorted(names - set(FILES)))


def listing(m, where):
    return sorted(os.listdir(m.mnt / where))


def out_of(r):
    return (r.stdout or b'').decode(errors='replace') + (r.stderr or b'').decode(errors='replace')


@dataclass
class Result:
    returncode: int
    output: str


# ---------------------------------------------------------------- tools

@dataclass
class Ctx:
    m: object
    path: str              # tree path, e.g. conf/sub/app.yaml
    tmp: Path              # a scratch directory outside the mount
    tmux: object = None

    @property
    def target(self):
        return self.m.mnt / self.path

    def outside(self, data, name='src.yaml'):
        p = self.tmp / f'{uuid.uuid4().hex[:8]}-{name}'
        p.write_bytes(data)
        return p


def sh(argv, **kw):
    r = run(argv, input=b'', timeout=TOOL_TIMEOUT, **kw)
    return Result(r.returncode, out_of(r))


def vim_save(binary, extra=()):
    def save(c, data):
        # -es is vim's batch mode; v:errmsg is the message an interactive
        # user would see on the command line
        cmds = [*extra, f'%s/{OLD_LINE}/{new_line(data)}/', 'w',
                'if v:errmsg != "" | put =v:errmsg | $print | cquit | endif', 'q']
        argv = [binary, '--clean', '-es']
        for x in cmds:
            argv += ['-c', x]
        return sh([*argv, c.target])
    return save


def emacs_batch(c, data):
    lisp = ('(progn (goto-char (point-min)) '
            f'(search-forward "{OLD_LINE}") (replace-match "{new_line(data)}" t t) '
            '(save-buffer))')
    return sh(['emacs', '-Q', '--batch', c.target, '--eval', lisp])


def sed_i(c, data):
    return sh(['sed', '-i', f's/{OLD_LINE}/{new_line(data)}/', c.target])


def cp(c, data):
    return sh(['cp', c.outside(data), c.target])


def cp_p(c, data):
    return sh(['cp', '-p', c.outside(data), c.target])


def mv_outside(c, data):
    src = c.outside(data)
    r = sh(['mv', src, c.target])
    c.mv_source_left = src.exists()
    return r


def install(c, data):
    return sh(['install', '-m', '0640', c.outside(data), c.target])


def rsync(c, data):
    return sh(['rsync', c.outside(data), c.target])


def rsync_inplace(c, data):
    return sh(['rsync', '--inplace', c.outside(data), c.target])


def tee(c, data):
    r = run(['tee', c.target], input=data, timeout=TOOL_TIMEOUT)
    return Result(r.returncode, r.stderr.decode(errors='replace'))


def bash_redirect(c, data):
    # printf is a builtin: bash's own close() of the redirection, whose
    # error bash ignores
    return sh(['bash', '-c', 'printf "%s" "$1" > "$2"', 'bash', data.decode(), c.target])


PY_TEMPFILE = r'''
import os, sys, tempfile
target, data = sys.argv[1], sys.argv[2].encode()
with tempfile.NamedTemporaryFile(dir=os.path.dirname(target), delete=False) as f:
    f.write(data)
try:
    os.replace(f.name, target)
except OSError:
    os.unlink(f.name)
    raise
'''

# module_utils/basic.py atomic_move after the EXDEV fallback: a temp named
# .ansible_tmpXXXXXXXX<basename> in the destination directory, the dest's
# mode and owner copied onto it, fsync, then os.rename.
PY_ANSIBLE = r'''
import os, sys, tempfile
target, data = sys.argv[1], sys.argv[2].encode()
d, base = os.path.split(target)
fd, tmp = tempfile.mkstemp(prefix='.ansible_tmp', dir=d, suffix=base)
os.write(fd, data)
os.fsync(fd)
os.close(fd)
st = os.stat(target)
os.chmod(tmp, st.st_mode & 0o7777)
os.chown(tmp, st.st_uid, st.st_gid)
try:
    os.rename(tmp, target)
except OSError as e:
    os.unlink(tmp)
    print('Unable to make %s into to %s, failed final rename from %s: %s'
          % (tmp, target, tmp, e), file=sys.stderr)
    sys.exit(1)
'''

# IntelliJ's SafeFileOutputStream: write NAME___jb_tmp___, move the original
# aside to NAME___jb_old___, move the temp over NAME, delete the old one.
PY_JETBRAINS = r'''
import os, sys
target, data = sys.argv[1], sys.argv[2].encode()
tmp, old = target + '___jb_tmp___', target + '___jb_old___'
with open(tmp, 'wb') as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
os.rename(target, old)
try:
    os.rename(tmp, target)
except OSError as e:
    os.rename(old, target)
    os.unlink(tmp)
    print('Cannot save %s: %s' % (target, e.strerror), file=sys.stderr)
    sys.exit(1)
os.unlink(old)
'''


def python_script(script):
    def save(c, data):
        return sh([sys.executable, '-c', script, c.target, data.decode()])
    return save


def git_checkout(c, data):
    """An outside repository whose work tree is the mount: commit APP then
    `data` there (in a separate work tree), then check the file out into the
    mount."""
    gitdir = c.tmp / f'outside-{uuid.uuid4().hex[:8]}.git'
    work = c.tmp / f'work-{uuid.uuid4().hex[:8]}'
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@e',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@e')
    base = ['git', f'--git-dir={gitdir}', f'--work-tree={work}']
    (work / c.path).parent.mkdir(parents=True)
    assert run([*base, 'init', '-q'], env=env).returncode == 0
    for i, content in enumerate((APP, data)):
        (work / c.path).write_bytes(content)
        for argv in ([*base, 'add', c.path], [*base, 'commit', '-q', '-m', f'v{i}']):
            r = run(argv, env=env, cwd=work)
            assert r.returncode == 0, r.stderr
    return sh(['git', f'--git-dir={gitdir}', f'--work-tree={c.m.mnt}', 'checkout', '--',
               c.path], cwd=c.m.mnt, env=env)


# ---------------------------------------------------------------- tmux

class Tmux:
    """One private tmux server (its own socket) running one editor."""

    def __init__(self):
        self.sock = f'cfgfs-test-{os.getpid()}-{uuid.uuid4().hex[:8]}'
        self.env = dict(os.environ, TERM='xterm')
        self.started = False

    def cmd(self, *args, check=True):
        r = subprocess.run(['tmux', '-L', self.sock, '-f', '/dev/null', *args],
                           env=self.env, capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError(f'tmux {args}: {r.stderr}')
        return r

    def start(self, argv, cwd):
        self.cmd('new-session', '-d', '-s', 'ed', '-x', '250', '-y', '30', '-c', str(cwd),
                 shlex.join(['env', 'TERM=xterm', *map(str, argv)]))
        self.started = True

    def screen(self):
        r = self.cmd('capture-pane', '-p', '-t', 'ed', check=False)
        return r.stdout if r.returncode == 0 else ''

    def wait_for(self, pattern, timeout=TMUX_TIMEOUT):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            found = rx.search(s)
            if found:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f'timed out after {timeout}s waiting for {pattern!r} on:\n{s}')
            time.sleep(0.05)

    def keys(self, *keys):
        self.cmd('send-keys', '-t', 'ed', *keys)

    def text(self, s):
        self.cmd('send-keys', '-t', 'ed', '-l', s)

    def alive(self):
        return self.cmd('has-session', '-t', 'ed', check=False).returncode == 0

    def wait_exit(self, timeout=TMUX_TIMEOUT):
        wait_until(lambda: not self.alive(), timeout, 'the editor to exit')

    def kill(self):
        if self.started:
            self.cmd('kill-server', check=False)
            # a dead server leaves its socket file behind
            d = Path(os.environ.get('TMUX_TMPDIR', '/tmp')) / f'tmux-{os.getuid()}'
            (d / self.sock).unlink(missing_ok=True)


@pytest.fixture
def tmux(cfgfs_factory):
    """Depends on the mount factory so the editor is gone before the unmount."""
    if not shutil.which('tmux'):
        pytest.skip('tmux is not installed')
    t = Tmux()
    yield t
    t.kill()


def emacs_tmux(c, data):
    t = c.tmux
    t.start(['emacs', '-Q', '-nw', c.target], c.m.mnt)
    t.wait_for(re.escape(OLD_LINE))
    t.wait_for(r'\(Fundamental\)|\(YAML\)')
    t.keys('M-x')
    t.wait_for(r'M-x')
    t.text('replace-string')
    t.keys('Enter')
    t.wait_for(r'Replace string')
    t.text(OLD_LINE)
    t.keys('Enter')
    t.wait_for(r'with:')
    t.text(new_line(data))
    t.keys('Enter')
    t.wait_for(r'Replaced 1 occurrence')
    t.keys('C-x', 'C-s')
    found = t.wait_for(r'(Wrote [^\n]*app\.yaml|[^\n]*(error|Error)[^\n]*)')
    msg = found.group(0).strip()
    t.keys('M-x')
    t.wait_for(r'M-x')
    t.text('kill-emacs')    # leaves without asking about unsaved buffers
    t.keys('Enter')
    t.wait_exit()
    return Result(None, msg)


def nano_tmux(c, data):
    t = c.tmux
    t.start(['nano', '--ignorercfiles', c.target], c.m.mnt)
    t.wait_for(re.escape(OLD_LINE))
    t.keys('C-\\')
    t.wait_for(r'Search \(to replace\)')
    t.text(OLD_LINE)
    t.keys('Enter')
    t.wait_for(r'Replace with')
    t.text(new_line(data))
    t.keys('Enter')
    t.wait_for(r'Replace this instance')
    t.keys('a')
    t.wait_for(r'Replaced 1 occurrence')
    t.keys('C-o')
    t.wait_for(r'File Name to Write')
    t.keys('Enter')
    found = t.wait_for(r'\[ (Wrote \d+ lines?|Error writing [^\]]*) \]')
    msg = found.group(0)
    t.keys('C-x')
    if msg.startswith('[ Error'):
        t.wait_for(r'Save modified buffer')
        t.keys('n')
    t.wait_exit()
    return Result(None, msg)


@dataclass
class Tool:
    save: object
    binary: str
    program: str                   # as the commit message names it
    refusal_rc: object = 'nonzero'  # 'nonzero', an int, or None (not checked)
    refusal_msg: str = None        # regex the tool's output must match
    uses_tmux: bool = False
    leftovers: tuple = ()          # scratch files the real tool leaves behind


TOOLS = {
    # vim reports the fsync or, as the refusal sticks, the close that follows it
    'vim': Tool(vim_save('vim'), 'vim', 'vim', 'nonzero', r'E667: Fsync failed|E512: Close failed'),
    'vim-backupcopy-yes': Tool(vim_save('vim', ['set backupcopy=yes']), 'vim', 'vim',
                               'nonzero', r'E667: Fsync failed|E512: Close failed'),
    'neovim': Tool(vim_save('nvim'), 'nvim', 'nvim', 'nonzero',
                   r'E512: Close failed: invalid argument'),
    'emacs-batch': Tool(emacs_batch, 'emacs', 'emacs', 'nonzero',
                        r'Write error.*Invalid argument'),
    # a buffer whose save failed stays modified, so emacs keeps its auto-save
    'emacs-tmux': Tool(emacs_tmux, 'emacs', 'emacs', None, r'Write error|Invalid argument',
                       uses_tmux=True, leftovers=('app.yaml~', '#app.yaml#')),
    'nano-tmux': Tool(nano_tmux, 'nano', 'nano', None,
                      r'\[ Error writing \S*app\.yaml: Invalid argument \]', uses_tmux=True),
    'sed-i': Tool(sed_i, 'sed', 'sed', 4, r'sed: cannot rename \S+/sed\w{6}: Invalid argument'),
    'cp': Tool(cp, 'cp', 'cp', 1, r"cp: failed to close '\S+app\.yaml': Invalid argument"),
    'cp-p': Tool(cp_p, 'cp', 'cp', 1, r"cp: failed to close '\S+app\.yaml': Invalid argument"),
    'mv-outside': Tool(mv_outside, 'mv', 'mv', 1,
                       r"mv: failed to close '\S+app\.yaml': Invalid argument"),
    'install': Tool(install, 'install', 'install', 1,
                    r"install: failed to close '\S+app\.yaml': Invalid argument"),
    'rsync': Tool(rsync, 'rsync', 'rsync', 23,
                  r'rsync: \[receiver\] rename "\S+/\.app\.yaml\.\w{6}" -> "app\.yaml": '
                  r'Invalid argument \(22\)'),
    'rsync-inplace': Tool(rsync_inplace, 'rsync', 'rsync', 11,
                          r'rsync: \[receiver\] close failed on "\S+app\.yaml": '
                          r'Invalid argument \(22\)'),
    'python-tempfile': Tool(python_script(PY_TEMPFILE), sys.executable, 'python3', 1,
                            r"OSError: \[Errno 22\] Invalid argument: '\S+/tmp\w{8}' -> "
                            r"'\S+app\.yaml'"),
    'ansible': Tool(python_script(PY_ANSIBLE), sys.executable, 'python3', 1,
                    r'failed final rename from \S+/\.ansible_tmp\w{8}app\.yaml: '
                    r'\[Errno 22\] Invalid argument'),
    'jetbrains': Tool(python_script(PY_JETBRAINS), sys.executable, 'python3', 1,
                      r'Cannot save \S+app\.yaml: Invalid argument'),
    'tee': Tool(tee, 'tee', 'tee', 1, r'tee: \S+app\.yaml: Invalid argument'),
    'bash-redirect': Tool(bash_redirect, 'bash', 'bash', 0, None),
    'git-checkout': Tool(git_checkout, 'git', 'git', None, None),
}


def tool_ctx(request, name, m, where, tmp_path):
    tool = TOOLS[name]
    if not shutil.which(tool.binary):
        pytest.skip(f'{tool.binary} is not installed')
    c = Ctx(m, where + 'app.yaml', tmp_path)
    if tool.uses_tmux:
        c.tmux = request.getfixturevalue('tmux')
    return tool, c


@pytest.fixture
def m(cfgfs_factory):
    return cfgfs_factory(files=FILES)


# ---------------------------------------------------------------- valid saves

@pytest.mark.parametrize('where', WHERES, ids=WHERE_IDS)
@pytest.mark.parametrize('name', list(TOOLS))
def test_valid_save_is_one_revision(request, m, tmp_path, name, where):
    tool, c = tool_ctx(request, name, m, where, tmp_path)
    before = listing(m, where)
    n = stable_revisions(m)
    r = tool.save(c, GOOD)
    if r.returncode is not None:
        assert r.returncode == 0, r.output
    if name.endswith('tmux'):
        assert re.search(r'Wrote', r.output), r.output
    verb = 'modify'
    if name == 'install':
        # install(1) sets the mode with chmod(2) after it closed the file it
        # wrote: the content is one revision, the mode a second (README)
        assert stable_revisions(m) == n + 2, m.messages()[:4]
        assert re.fullmatch(rf'modify {re.escape(c.path)} \(install, pid \d+\)',
                            m.messages()[1]), m.messages()[:2]
        verb = 'chmod'
        assert touched(m, 'HEAD~1') == [c.path]
        # the chmod revision changes only the recorded mode (0600 -> 0640)
        assert m.meta(c.path, 'HEAD~1')[0] != m.meta(c.path)[0]
    else:
        assert stable_revisions(m) == n + 1, m.messages()[:4]
        assert touched(m) == [c.path]
    assert re.fullmatch(rf'{verb} {re.escape(c.path)} \({re.escape(tool.program)}, pid \d+\)',
                        m.message()), m.message()
    assert m.show(c.path) == GOOD
    assert c.target.read_bytes() == GOOD
    assert (m.src / c.path).read_bytes() == GOOD
    # the other files are untouched
    for p, data in FILES.items():
        if p != c.path:
            assert m.show(p) == data, p
    # what history records is what the live file shows
    st = os.stat(c.target)
    assert m.meta(c.path) == (st.st_mode, st.st_uid, st.st_gid,
                              st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9)
    left = set(listing(m, where)) - set(before)
    assert left <= set(tool.leftovers), sorted(left)
    assert set(before) <= set(listing(m, where))
    assert_no_scratch_in_history(m)
    assert not m.rejected(c.path).exists()
    assert m.errors() == ''


# ---------------------------------------------------------------- refused saves

@pytest.mark.parametrize('where', WHERES, ids=WHERE_IDS)
@pytest.mark.parametrize('name', list(TOOLS))
def test_invalid_save_is_refused(request, m, tmp_path, name, where):
    tool, c = tool_ctx(request, name, m, where, tmp_path)
    before = listing(m, where)
    n = stable_revisions(m)
    head = m.head()
    r = tool.save(c, BAD)
    if tool.refusal_rc == 'nonzero':
        assert r.returncode != 0, r.output
    elif tool.refusal_rc is not None:
        assert r.returncode == tool.refusal_rc, r.output
    if tool.refusal_msg:
        assert re.search(tool.refusal_msg, r.output), r.output
    if name == 'mv-outside':
        assert c.mv_source_left, 'mv removed its source although the copy failed'
    assert stable_revisions(m) == n, m.messages()[:4]
    assert m.head() == head
    assert c.target.read_bytes() == APP
    assert (m.src / c.path).read_bytes() == APP
    assert m.show(c.path) == APP
    assert m.rejected(c.path).read_bytes() == BAD
    lines = [x for x in m.errors().splitlines() if x.split(' ', 3)[2:3] == [c.path]]
    assert lines and f' {c.path}:3:1: ' in lines[0], m.errors()
    left = set(listing(m, where)) - set(before)
    assert left <= set(tool.leftovers), sorted(left)
    assert set(before) <= set(listing(m, where))
    assert_no_scratch_in_history(m)


# ---------------------------------------------------------------- times and modes

def times_cp_p(c, src):
    return sh(['cp', '-p', src, c.target])


def times_rsync_t(c, src):
    return sh(['rsync', '-t', src, c.target])


def times_install_m(c, src):
    return sh(['install', '-m', '0640', src, c.target])


TIMES = {
    # name: (save, binary, mode kept?, mtime kept?)
    'cp-p': (times_cp_p, 'cp', True, True),
    'rsync-t': (times_rsync_t, 'rsync', False, True),
    'install-m': (times_install_m, 'install', True, False),
}


@pytest.mark.parametrize('where', WHERES, ids=WHERE_IDS)
@pytest.mark.parametrize('name', list(TIMES))
def test_times_and_modes_survive(m, tmp_path, name, where):
    save, binary, mode_kept, mtime_kept = TIMES[name]
    if not shutil.which(binary):
        pytest.skip(f'{binary} is not installed')
    c = Ctx(m, where + 'app.yaml', tmp_path)
    src = c.outside(GOOD)
    os.chmod(src, 0o640)
    os.utime(src, ns=(OLD_TIME_NS, OLD_TIME_NS))
    n = stable_revisions(m)
    r = save(c, src)
    assert r.returncode == 0, r.output
    # install(1) chmods after closing: a content revision, then a mode one
    assert stable_revisions(m) == n + (2 if binary == 'install' else 1), m.messages()[:4]
    assert touched(m, 'HEAD~1' if binary == 'install' else 'HEAD') == [c.path]
    st = os.stat(c.target)
    if mode_kept:
        assert stat.S_IMODE(st.st_mode) == 0o640
    if mtime_kept:
        assert st.st_mtime_ns == OLD_TIME_NS
    assert m.meta(c.path) == (st.st_mode, st.st_uid, st.st_gid,
                              st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9)
    # and .history shows the same
    hst = os.stat(m.mnt / '.history' / str(m.revisions()) / c.path)
    assert stat.S_IMODE(hst.st_mode) == stat.S_IMODE(st.st_mode)
    assert hst.st_mtime_ns == st.st_mtime_ns


@pytest.mark.parametrize('where', WHERES, ids=WHERE_IDS)
def test_touch_d_new_file_records_its_time(m, where):
    path = where + 'new.yaml'
    n = stable_revisions(m)
    r = sh(['touch', '-d', '@1000000000.123456789', m.mnt / path])
    assert r.returncode == 0, r.output
    assert stable_revisions(m) == n + 1, m.messages()[:4]
    assert touched(m) == [path]
    assert re.fullmatch(rf'create {re.escape(path)} \(touch, pid \d+\)', m.message())
    st = os.stat(m.mnt / path)
    assert st.st_mtime_ns == OLD_TIME_NS
    assert m.meta(path) == (st.st_mode, st.st_uid, st.st_gid,
                            1_000_000_000, 123_456_789)


# ---------------------------------------------------------------- emacs ignores EINVAL from fsync

def test_emacs_interactive_refusal_is_reported_at_close(m):
    """Emacs (fileio.c write_region) ignores EINVAL from fsync, taking it
    for "this filesystem cannot fsync", and trusts close(). A save refused
    at fsync must therefore still fail at the close that follows, or the
    user is told "Wrote" for a save that was refused. The same sequence
    from Python: write, fsync (EINVAL), close must be EINVAL too."""
    fd = os.open(m.mnt / 'app.yaml', os.O_WRONLY | os.O_TRUNC)
    os.write(fd, BAD)
    with pytest.raises(OSError) as e:
        os.fsync(fd)
    assert e.value.errno == 22
    with pytest.raises(OSError) as e:
        os.close(fd)
    assert e.value.errno == 22
    assert (m.mnt / 'app.yaml').read_bytes() == APP
