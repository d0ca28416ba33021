"""Validated saves through a real mount (issue 3): an invalid save from any
tool fails that tool with EINVAL, leaves the live file and the history as
they were, keeps the bytes in .cfgfs/rejected/PATH and the reason in
.cfgfs/errors; readers never see a byte of it; hostile documents are refused
quickly with bounded memory; YAML as people write it is accepted.

Run as root: /usr/bin/python3 -m pytest tests/test_saves.py
"""
import errno
import os
import re
import stat
import subprocess
import threading
import time

import pytest

from conftest import run, wait_until

APP = b'name: demo\nport: 8080\n'
BAD = b'name: demo\nport: [\n'          # refused at 3:1
BAD_WHERE = '3:1'
GOOD = b'name: demo\nport: 9090\n'
SETTLE_MARGIN = 0.9   # > settle=300ms: long enough for a wrongly settled delete to commit
RSS_LIMIT_KIB = 200 * 1024


def error_lines(m, path):
    return [x for x in m.errors().splitlines() if x.split(' ', 3)[2:3] == [path]]


def assert_refused(m, n, path='app.yaml', old=APP, bad=BAD, where=BAD_WHERE):
    """The save of `bad` to `path` was refused and nothing else changed."""
    time.sleep(SETTLE_MARGIN)  # a vanished original must not settle into a delete
    assert (m.mnt / path).read_bytes() == old
    assert (m.src / path).read_bytes() == old
    assert m.revisions() == n, m.messages()[:3]
    assert m.show(path) == old
    assert m.rejected(path).read_bytes() == bad
    lines = error_lines(m, path)
    assert lines, m.errors()
    # TIME USER PATH PATH:LINE:COL: message
    assert re.fullmatch(rf'\S+ root {re.escape(path)} {re.escape(path)}:\d+:\d+: .+', lines[0])
    if where:
        assert f' {path}:{where}: ' in lines[0], lines[0]
    assert m.log_events('reject')
    names = sorted(os.listdir(m.mnt / os.path.dirname(path)))
    assert not [x for x in names if x.startswith('sed') or x.endswith('~') or x == '4913'
                or x.endswith('.swp')], names


@pytest.fixture
def badfile(tmp_path):
    p = tmp_path / 'bad.yaml'
    p.write_bytes(BAD)
    return p


# ---------------------------------------------------------------- each tool

def test_cp_reports_failed_close(cfgfs, badfile):
    m = cfgfs
    n = m.revisions()
    r = run(['cp', badfile, m.mnt / 'app.yaml'])
    assert r.returncode != 0
    assert b'failed to close' in r.stderr and b'Invalid argument' in r.stderr, r.stderr
    assert_refused(m, n)


def test_tee_reports_failure(cfgfs):
    m = cfgfs
    n = m.revisions()
    r = run(['tee', m.mnt / 'app.yaml'], input=BAD)
    assert r.returncode != 0
    assert b'Invalid argument' in r.stderr, r.stderr
    assert_refused(m, n)


def test_python_write_close_raises_einval(cfgfs):
    m = cfgfs
    n = m.revisions()
    f = open(m.mnt / 'app.yaml', 'wb')
    f.write(BAD)
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.EINVAL
    assert_refused(m, n)
    # and the same from a separate interpreter, as a user sees it
    r = run(['/usr/bin/python3', '-c',
             'import sys; f = open(sys.argv[1], "w"); f.write("a: {\\n"); f.close()',
             m.mnt / 'app.yaml'])
    assert r.returncode != 0
    assert b'OSError: [Errno 22] Invalid argument' in r.stderr, r.stderr
    assert_refused(m, n, bad=b'a: {\n', where=None)


def test_python_fsync_raises_einval(cfgfs):
    m = cfgfs
    n = m.revisions()
    fd = os.open(m.mnt / 'app.yaml', os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, BAD)
        with pytest.raises(OSError) as e:
            os.fsync(fd)
        assert e.value.errno == errno.EINVAL
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    assert_refused(m, n)


def test_python_os_replace_raises_einval(cfgfs):
    m = cfgfs
    n = m.revisions()
    tmp = m.mnt / 'tmpab12cd34.yaml'   # tempfile.mkstemp's shape: scratch
    tmp.write_bytes(BAD)
    with pytest.raises(OSError) as e:
        os.replace(tmp, m.mnt / 'app.yaml')
    assert e.value.errno == errno.EINVAL
    os.unlink(tmp)
    assert_refused(m, n)


def test_sed_i_reports_cannot_rename(cfgfs):
    m = cfgfs
    n = m.revisions()
    r = run(['sed', '-i', 's/port: 8080/port: [/', m.mnt / 'app.yaml'])
    assert r.returncode != 0
    assert b'sed: cannot rename' in r.stderr and b'Invalid argument' in r.stderr, r.stderr
    assert_refused(m, n)


def test_vim_save_fails(cfgfs):
    m = cfgfs
    n = m.revisions()
    r = run(['vim', '-u', 'NONE', '-N', '-es', '-c', '%s/port: 8080/port: [/', '-c', 'wq',
             m.mnt / 'app.yaml'], input=b'')
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert_refused(m, n)
    # the message vim shows the user (silent mode: ask for it)
    r = run(['vim', '-u', 'NONE', '-N', '-es', '-c', '%s/port: 8080/port: [/', '-c', 'w',
             '-c', 'put =v:errmsg', '-c', '$print', '-c', 'q!', m.mnt / 'app.yaml'],
            input=b'')
    assert r.returncode != 0
    assert re.search(rb'E(667|512|212|514)', r.stdout + r.stderr), (r.stdout, r.stderr)
    assert_refused(m, n)


def test_rsync_reports_failure(cfgfs, badfile):
    m = cfgfs
    n = m.revisions()
    r = run(['rsync', badfile, m.mnt / 'app.yaml'])
    assert r.returncode != 0
    assert b'Invalid argument' in r.stderr, r.stderr
    assert_refused(m, n)


def test_mv_onto_formatted_name_is_checked(cfgfs):
    m = cfgfs
    (m.mnt / 'draft.txt').write_bytes(BAD)      # no format: committed as it is
    n = m.revisions()
    r = run(['mv', m.mnt / 'draft.txt', m.mnt / 'app.yaml'])
    # mv words EINVAL from rename(2) as "cannot move ... to a subdirectory of itself"
    assert r.returncode != 0 and r.stderr, r.stderr
    assert (m.mnt / 'draft.txt').read_bytes() == BAD
    assert_refused(m, n)


def test_shell_redirection_ignoring_close_still_refused(cfgfs):
    """bash ignores close() errors: the tool says nothing, cfgfs still keeps
    the bad bytes out."""
    m = cfgfs
    n = m.revisions()
    r = run(['bash', '-c', f"printf 'name: demo\\nport: [\\n' > {m.mnt / 'app.yaml'}"])
    assert r.returncode == 0
    assert_refused(m, n)


def test_later_valid_save_clears_rejected(cfgfs, badfile):
    m = cfgfs
    n = m.revisions()
    assert run(['cp', badfile, m.mnt / 'app.yaml']).returncode != 0
    assert m.rejected('app.yaml').read_bytes() == BAD
    assert 'app.yaml' in os.listdir(m.mnt / '.cfgfs' / 'rejected')
    st = os.stat(m.mnt / '.cfgfs')
    assert stat.S_ISDIR(st.st_mode)
    r = run(['tee', m.mnt / 'app.yaml'], input=GOOD)
    assert r.returncode == 0, r.stderr
    assert m.revisions() == n + 1
    assert m.show('app.yaml') == GOOD
    assert not m.rejected('app.yaml').exists()
    assert 'app.yaml' not in os.listdir(m.mnt / '.cfgfs' / 'rejected')


def test_rejected_copy_keeps_target_mode_and_owner(cfgfs, badfile):
    m = cfgfs
    os.chmod(m.mnt / 'app.yaml', 0o600)
    os.chown(m.mnt / 'app.yaml', 1234, 1234)
    n = m.revisions()
    assert run(['cp', badfile, m.mnt / 'app.yaml']).returncode != 0
    st = os.stat(m.rejected('app.yaml'))
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 1234, 1234)
    st = os.stat(m.mnt / 'app.yaml')
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 1234, 1234)
    assert m.revisions() == n
    # the rejected tree is read-only
    with pytest.raises(OSError):
        open(m.rejected('app.yaml'), 'wb').close()


def test_errors_newest_first(cfgfs):
    m = cfgfs
    (m.mnt / 'b.json').write_bytes(b'{}')
    for path, data in (('app.yaml', BAD), ('b.json', b'{"a": 1,}')):
        with pytest.raises(OSError):
            with open(m.mnt / path, 'wb') as f:
                f.write(data)
    lines = m.errors().splitlines()
    assert lines[0].split(' ')[2] == 'b.json' and lines[1].split(' ')[2] == 'app.yaml', lines
    status = (m.mnt / '.cfgfs' / 'status').read_text()
    import json
    s = json.loads(status)
    assert s['head']['revision'] == m.revisions()
    assert s['head']['commit'] == m.head()
    assert s['rejected'] >= 2


# ---------------------------------------------------------------- readers

def test_reader_never_sees_refused_bytes(cfgfs):
    m = cfgfs
    target = m.mnt / 'app.yaml'
    marker = b'REFUSED'
    bad = b'name: ' + marker + b'\nport: [\n' + b'# ' + marker * 2000 + b'\n'
    seen = {}
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            with open(target, 'rb') as f:
                data = f.read()
            seen[data] = seen.get(data, 0) + 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    n = m.revisions()
    try:
        for _ in range(5):
            fd = os.open(target, os.O_WRONLY | os.O_TRUNC)
            for off in range(0, len(bad), 1000):
                os.write(fd, bad[off:off + 1000])
                time.sleep(0.002)
            with pytest.raises(OSError):
                os.close(fd)
            r = run(['sed', '-i', 's/port: 8080/port: [REFUSED/', target])
            assert r.returncode != 0
            r = run(['vim', '-u', 'NONE', '-N', '-es', '-c', '%s/port: 8080/port: [REFUSED/',
                     '-c', 'wq', target], input=b'')
            assert r.returncode != 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert m.revisions() == n
    leaked = [d for d in seen if marker in d]
    assert not leaked, 'a reader saw refused bytes'
    others = {d: c for d, c in seen.items() if d != APP}
    assert not others, f'readers saw something other than the live file: ' \
                       f'{[(d[:40], len(d), c) for d, c in others.items()]}'


# ---------------------------------------------------------------- hostile input

def billion_laughs():
    lines = ['a0: &a0 [' + ','.join(['"lol"'] * 10) + ']']
    for i in range(1, 10):
        lines.append(f'a{i}: &a{i} [' + ','.join([f'*a{i - 1}'] * 10) + ']')
    return ('\n'.join(lines) + '\n').encode()


HOSTILE = {
    'alias-bomb': ('bomb.yaml', billion_laughs(), r'more than \d+ nodes'),
    'deep-yaml-flow': ('deep.yaml', b'[' * 10000 + b']' * 10000 + b'\n', 'nesting deeper than'),
    'deep-yaml-map': ('deepmap.yaml', b'{a: ' * 10000 + b'1' + b'}' * 10000 + b'\n',
                      'nesting deeper than'),
    'deep-yaml-block': ('deepblock.yaml', b''.join(b' ' * i + b'k:\n' for i in range(300))
                        + b' ' * 300 + b'v: 1\n', 'nesting deeper than'),
    'deep-json': ('deep.json', b'[' * 10000 + b']' * 10000, 'nesting deeper than'),
    'deep-json-objects': ('deepobj.json', b'{"a":' * 10000 + b'1' + b'}' * 10000,
                          'nesting deeper than'),
}


@pytest.mark.parametrize('case', sorted(HOSTILE))
def test_hostile_document_refused_with_bounded_memory(cfgfs, case):
    m = cfgfs
    name, data, message = HOSTILE[case]
    n = m.revisions()
    r = run(['tee', m.mnt / name], input=data, timeout=60)
    assert r.returncode != 0 and b'Invalid argument' in r.stderr, r.stderr
    assert not (m.mnt / name).exists()
    assert m.revisions() == n
    lines = error_lines(m, name)
    assert lines and re.search(message, lines[0]), m.errors()
    assert m.rejected(name).read_bytes() == data
    assert m.rss_kib() < RSS_LIMIT_KIB
    # the daemon still serves
    (m.mnt / 'app.yaml').write_bytes(GOOD)
    assert m.revisions() == n + 1


def test_over_max_file_size_is_efbig(cfgfs_factory):
    m = cfgfs_factory(files={'app.yaml': APP},
                      opts=['fsync=off', 'settle=300ms', 'max_file_size=64K'])
    n = m.revisions()
    fd = os.open(m.mnt / 'app.yaml', os.O_WRONLY)
    try:
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b'# x\n' * 25000, 0)   # 100,000 bytes
        assert e.value.errno == errno.EFBIG
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b'x', 64 * 1024)
        assert e.value.errno == errno.EFBIG
    finally:
        os.close(fd)
    assert (m.mnt / 'app.yaml').read_bytes() == APP
    assert m.revisions() == n
    # exactly the limit is allowed
    data = b'#' * (64 * 1024 - 1) + b'\n'
    (m.mnt / 'limit.txt').write_bytes(data)
    assert m.show('limit.txt') == data
    r = run(['tee', m.mnt / 'big.txt'], input=b'y' * (200 * 1024))
    assert r.returncode != 0 and b'File too large' in r.stderr, r.stderr
    assert m.rss_kib() < RSS_LIMIT_KIB


def test_default_max_file_size_keeps_memory_bounded(cfgfs):
    m = cfgfs
    chunk = b'# ' + b'z' * 1021 + b'\n'
    fd = os.open(m.mnt / 'app.yaml', os.O_WRONLY)
    written = 0
    err = None
    try:
        while written < 32 * 1024 * 1024:
            try:
                os.pwrite(fd, chunk * 1024, written)
            except OSError as e:
                err = e
                break
            written += len(chunk) * 1024
    finally:
        os.close(fd)
    assert err is not None and err.errno == errno.EFBIG
    assert written == 16 * 1024 * 1024
    assert m.rss_kib() < RSS_LIMIT_KIB


# ---------------------------------------------------------------- accepted

def test_valid_json_and_yaml_in_subdirectory(cfgfs):
    m = cfgfs
    os.makedirs(m.mnt / 'svc' / 'web')
    n = m.revisions()
    (m.mnt / 'svc' / 'web' / 'site.json').write_bytes(b'{"listen": [80, 443]}\n')
    (m.mnt / 'svc' / 'web' / 'site.yml').write_bytes(b'listen:\n  - 80\n')
    assert m.revisions() == n + 2
    assert m.show('svc/web/site.json') == b'{"listen": [80, 443]}\n'
    assert re.fullmatch(r'create svc/web/site\.yml \(python3, pid \d+\)', m.message())
    # and an invalid one there is refused with its full path
    with pytest.raises(OSError) as e:
        with open(m.mnt / 'svc' / 'web' / 'site.json', 'wb') as f:
            f.write(b'{"listen": [80, 443}\n')
    assert e.value.errno == errno.EINVAL
    assert m.rejected('svc/web/site.json').read_bytes() == b'{"listen": [80, 443}\n'
    lines = error_lines(m, 'svc/web/site.json')
    assert lines and re.search(r' svc/web/site\.json:1:\d+: ', lines[0]), m.errors()
    assert m.revisions() == n + 2


def test_unknown_format_committed_as_is(cfgfs):
    m = cfgfs
    n = m.revisions()
    blobs = {'notes.txt': b'{{{ [ : : not yaml\n\t- {\n', 'data.bin': bytes(range(256)) * 3,
             'nginx.conf': b'server { listen 80 }\n', 'Makefile': b'all:\n\techo $@\n'}
    for name, data in blobs.items():
        (m.mnt / name).write_bytes(data)
    assert m.revisions() == n + len(blobs)
    for name, data in blobs.items():
        assert m.show(name) == data
        assert (m.mnt / name).read_bytes() == data
    assert not error_lines(m, 'notes.txt')


REAL_YAML = {
    'multidoc.yaml': b'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n'
                     b'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n...\n---\n'
                     b'# empty doc follows\n---\n',
    'compose.yaml': b'x-common: &common\n  restart: always\n  environment:\n    A: 1\n'
                    b'services:\n  web:\n    <<: *common\n    image: nginx\n'
                    b'  db:\n    <<: [*common]\n    image: postgres\n',
    'cfn.yaml': b'Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n'
                b'    Properties:\n      BucketName: !Sub "${AWS::StackName}-b"\n'
                b'      Tags: !If [c, !Ref T, !GetAtt X.Arn]\n'
                b'Outputs:\n  O: {Value: !Ref Bucket}\n',
    'gitlab.yml': b'.base: &base\n  script: [make]\n  tags: [docker]\n'
                  b'test:\n  <<: *base\n  stage: test\n  only: &refs [main]\n'
                  b'deploy:\n  <<: *base\n  only: *refs\n',
    'scalars.yaml': b'on: yes\nmode: 0755\nempty:\nnull_: ~\nt: !!str 1\nbin: !!binary aGk=\n'
                    b'multi: |\n  line\n  line\nfolded: >-\n  a\n  b\nkey with spaces: 1\n'
                    b'"quoted": \'x\'\n? complex\n: value\n',
    'data.json': b'{"a": [1, 2.5e10, -0, true, null, "\\u00e9"], "b": {}}',
}


@pytest.mark.parametrize('name', sorted(REAL_YAML))
def test_yaml_as_people_write_it_is_accepted(cfgfs, name):
    m = cfgfs
    n = m.revisions()
    r = run(['tee', m.mnt / name], input=REAL_YAML[name])
    assert r.returncode == 0, (r.stderr, m.errors())
    assert m.revisions() == n + 1
    assert m.show(name) == REAL_YAML[name]   # the bytes written, never re-serialized
    assert not m.rejected(name).exists()


CHECKS = [
    ('dup.yaml', b'name: a\nport: 1\nname: b\n', '3:1', 'duplicate key "name"'),
    ('dup.json', b'{\n  "name": 1,\n  "name": 2\n}\n', '3:3', 'duplicate key "name"'),
    ('trail.json', b'{"a": 1} x', '1:10', 'trailing data'),
    ('utf.yaml', b'a: "\xff\xfe"\n', '1:5', 'invalid UTF-8'),
    ('tab.yaml', b'a:\n\tb: 1\n', None, ''),
]


@pytest.mark.parametrize('name,data,where,message', CHECKS, ids=[c[0] for c in CHECKS])
def test_each_check_refuses_through_the_mount(cfgfs, name, data, where, message):
    m = cfgfs
    n = m.revisions()
    with pytest.raises(OSError) as e:
        with open(m.mnt / name, 'wb') as f:
            f.write(data)
    assert e.value.errno == errno.EINVAL
    assert m.revisions() == n
    assert not (m.mnt / name).exists()
    assert m.rejected(name).read_bytes() == data
    line = error_lines(m, name)[0]
    if where:
        assert f' {name}:{where}: ' in line, line
    assert message in line, line


def test_scratch_names_are_never_validated_or_committed(cfgfs):
    m = cfgfs
    n = m.revisions()
    for name in ('.app.yaml.swp', 'app.yaml~', '4913', 'sedAb12Cd', '.app.yaml.Xy12Ab',
                 'tmpa1b2c3d4', 'tmpa1b2c3d4.yaml', '.#app.yaml'):
        (m.mnt / name).write_bytes(BAD)
        assert (m.mnt / name).read_bytes() == BAD
        os.unlink(m.mnt / name)
    time.sleep(SETTLE_MARGIN)
    assert m.revisions() == n
    assert m.errors() == ''
