"""Callbacks after commit (issue 6): hooks from the policy file (debounced
bursts, data-only paths, retries with backoff, revert on failure without
looping, timeouts that kill the whole process group), the .cfgfs/events
stream (several readers, slow ones, replay from N, poll/select, a stalled
reader never slows a save), .cfgfs/metrics as valid Prometheus text whose
counters match what was done, .cfgfs/status, and policy errors reported as
FILE:LINE:COL with exit 2 before anything is mounted.

Every hook here is a small shell script the test writes next to the policy
file and runs as `run: [/bin/sh, SCRIPT, ...]`; it records what it was given
into files the test reads back. No assertion has a wall-clock upper bound:
waits use generous timeouts that only fail a hung run.

Run as root: /usr/bin/python3 -m pytest tests/test_callbacks.py
"""
import errno
import json
import math
import os
import re
import select
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import (FAST_OPTS, cfgfs_bin, is_mounted, need_root, pid_alive, unmount,
                      wait_until)

WAIT = 60.0          # generous: only a hung daemon or hook ever reaches it
QUIET = 3.0          # how long "nothing more happens" is watched for
APP = b'name: demo\nport: 8080\n'
SYSTEM_AUTHOR = 'cfgfs'
COMMIT_RE = re.compile(r'^[0-9a-f]{40}([0-9a-f]{24})?$')
TIME_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')

# Records one run: its environment (NUL-separated, as `env -0` prints it),
# its working directory and argv, and optionally a copy of one live file as
# the hook saw it. Written under a temporary name and renamed, so the test
# only ever reads whole records. Usage: record.sh DIR [FILE-TO-COPY]
RECORD_SH = r'''
d="$1"
mkdir -p "$d"
f="$d/$(date +%s.%N).$$"
{ env -0; printf 'HOOK_CWD=%s\0HOOK_ARGC=%s\0' "$(pwd -P)" "$#"; } > "$f.tmp"
if [ -n "$2" ]; then cat "$CFGFS_MOUNT/$2" > "$f.copy"; fi
mv "$f.tmp" "$f.env"
echo "recorded $CFGFS_REVISION"
echo "to stderr" >&2
'''


# ------------------------------------------------------------------ helpers

def write_policy(tmp_path, text, scripts=None):
    """The policy file (outside any tree) and its scripts, in tmp/policy/."""
    d = tmp_path / 'policy'
    d.mkdir(exist_ok=True)
    for name, body in (scripts or {}).items():
        (d / name).write_text(body)
    p = d / 'policy.yaml'
    p.write_text(text)
    return p


OPEN_EVENTS = []    # Events handles of the running test, closed before unmounting


@pytest.fixture
def mounter(cfgfs_factory):
    """mount(policy=None, files={'app.yaml': APP}, opts=()) -> Mount, fast
    options plus `policy=`. Events handles a failed test left open are
    closed before cfgfs_factory unmounts (an open one keeps it busy)."""
    def mount(policy=None, files=None, opts=()):
        o = list(FAST_OPTS) + list(opts)
        if policy:
            o.append(f'policy={policy}')
        return cfgfs_factory(files=files if files is not None else {'app.yaml': APP}, opts=o)
    yield mount
    while OPEN_EVENTS:
        OPEN_EVENTS.pop().close()


def runs(d):
    """The runs record.sh recorded in d, oldest first: dicts of the env,
    plus HOOK_CWD, HOOK_ARGC and (when asked for) COPY, the bytes of the
    live file the hook read."""
    d = Path(d)
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.glob('*.env'), key=lambda p: float(p.name.split('.')[0] + '.' +
                                                         p.name.split('.')[1])):
        env = {}
        for item in p.read_bytes().split(b'\0'):
            if b'=' in item:
                k, v = item.split(b'=', 1)
                env[k.decode()] = v.decode(errors='surrogateescape')
        env['T'] = float('.'.join(p.name.split('.')[:2]))   # when the run started
        copy = p.with_suffix('.copy')
        if copy.exists():
            env['COPY'] = copy.read_bytes()
        out.append(env)
    return out


def save(path, data):
    """One in-place save: open, write, close (the close commits)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def status(m):
    return json.loads((m.mnt / '.cfgfs' / 'status').read_text())


def hook_status(m, i=0):
    return status(m)['hooks'][i]


def rev_commits(m):
    """[commit of revision 1, of revision 2, ...] along the first parents."""
    return m.git('rev-list', '--first-parent', '--reverse', 'HEAD').split()


def hook_log(m, **want):
    """`hook` log lines whose key=value fields include all of `want`."""
    out = []
    for line in m.log_events('hook'):
        if all(f' {k}={v}' in line or f' {k}="{v}"' in line for k, v in want.items()):
            out.append(line)
    return out


class Events:
    """One open .cfgfs/events handle; whole lines in, parsed events out."""

    def __init__(self, m, flags=os.O_RDONLY):
        self.fd = os.open(m.mnt / '.cfgfs' / 'events', flags)
        self.reads = []
        OPEN_EVENTS.append(self)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def readable(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        return bool(r)

    def read(self, size=1 << 20):
        """One read (blocking unless opened O_NONBLOCK): whole lines only."""
        data = os.read(self.fd, size)
        self.reads.append(data)
        assert data.endswith(b'\n'), f'a read returned a partial line: {data[-200:]!r}'
        return [json.loads(line) for line in data.decode().splitlines()]

    def read_until(self, revision, timeout=WAIT):
        """Read (waiting with select first, so a bug cannot hang the test)
        until an event for `revision` arrived; returns the events read."""
        out = []
        deadline = time.monotonic() + timeout
        while not out or out[-1]['revision'] < revision:
            left = deadline - time.monotonic()
            if left <= 0 or not self.readable(left):
                pytest.fail(f'no event for revision {revision} within {timeout}s; '
                            f'got {[e["revision"] for e in out]}')
            out += self.read()
        return out


def assert_event_shape(e, commits):
    assert set(e) >= {'revision', 'commit', 'time', 'author', 'paths'}, e
    assert isinstance(e['revision'], int) and e['revision'] >= 1, e
    assert COMMIT_RE.match(e['commit']), e
    assert e['commit'] == commits[e['revision'] - 1], (e, 'not the commit of that revision')
    assert TIME_RE.match(e['time']), e
    assert isinstance(e['paths'], list), e
    for p in e['paths']:
        assert p['op'] in ('create', 'modify', 'delete', 'rename', 'mode'), e
        assert ('from' in p) == (p['op'] == 'rename'), e


def assert_consecutive(revs, first, last):
    assert revs == list(range(first, last + 1)), \
        f'revisions out of order or skipped: {revs} (want {first}..{last})'


# ---------------------------------------------------- Prometheus text format

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL_NAME = r'[a-zA-Z_][a-zA-Z0-9_]*'
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
LABEL = rf'{LABEL_NAME}={LABEL_VALUE}'
SAMPLE = re.compile(rf'^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?,?\}})? (\S+)(?: (-?\d+))?$')
LABEL_ONE = re.compile(rf'({LABEL_NAME})=({LABEL_VALUE})')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


def parse_value(text, line):
    if text in ('+Inf', 'Inf'):
        return math.inf
    if text == '-Inf':
        return -math.inf
    if text == 'NaN':
        return math.nan
    assert re.fullmatch(r'[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?', text), \
        f'bad sample value in {line!r}'
    return float(text)


def unescape_label(v):
    return re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else m.group(1), v[1:-1])


def parse_prometheus(text):
    """Parse and check text exposition format 0.0.4. Returns
    (types {family: type}, samples {(name, frozenset(labels)): value})."""
    assert text.endswith('\n'), 'the exposition must end with a newline'
    types, helps, samples = {}, {}, {}
    family_of_sample = []       # family per sample line, in order

    def family(name):
        for suffix in ('_bucket', '_sum', '_count'):
            base = name[:-len(suffix)] if name.endswith(suffix) else None
            if base and types.get(base) in ('histogram', 'summary'):
                return base
        return name

    for line in text.split('\n')[:-1]:
        assert line == line.strip() or line.startswith('#'), f'stray whitespace: {line!r}'
        if not line:
            continue
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] == 'HELP':
                assert re.fullmatch(NAME, parts[2]), line
                assert parts[2] not in helps, f'second HELP for {parts[2]}'
                helps[parts[2]] = parts[3] if len(parts) > 3 else ''
            elif len(parts) >= 3 and parts[1] == 'TYPE':
                assert len(parts) == 4 and parts[3] in TYPES, f'bad TYPE line {line!r}'
                assert re.fullmatch(NAME, parts[2]), line
                assert parts[2] not in types, f'second TYPE for {parts[2]}'
                assert parts[2] not in family_of_sample, \
                    f'TYPE for {parts[2]} after its samples'
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, f'not a sample line: {line!r}'
        name, labels_text, value = m.group(1), m.group(2) or '', m.group(3)
        labels = {}
        for lm in LABEL_ONE.finditer(labels_text):
            assert lm.group(1) not in labels, f'label repeated in {line!r}'
            labels[lm.group(1)] = unescape_label(lm.group(2))
        key = (name, frozenset(labels.items()))
        assert key not in samples, f'sample repeated: {line!r}'
        samples[key] = parse_value(value, line)
        fam = family(name)
        if family_of_sample and family_of_sample[-1] != fam:
            assert fam not in family_of_sample, f'samples of {fam} are not contiguous'
        family_of_sample.append(fam)

    for fam, typ in types.items():
        own = {k: v for k, v in samples.items() if family(k[0]) == fam}
        if typ == 'counter':
            for (name, _), v in own.items():
                assert v >= 0, f'counter {name} is negative'
        if typ == 'histogram':
            check_histogram(fam, own)
    return types, samples


def check_histogram(fam, own):
    series = {}
    for (name, labels), v in own.items():
        rest = frozenset((k, x) for k, x in labels if k != 'le')
        s = series.setdefault(rest, {'buckets': [], 'sum': None, 'count': None})
        if name == fam + '_bucket':
            le = dict(labels).get('le')
            assert le is not None, f'{fam}_bucket without le'
            s['buckets'].append((parse_value(le, le), v))
        elif name == fam + '_sum':
            s['sum'] = v
        elif name == fam + '_count':
            s['count'] = v
        else:
            raise AssertionError(f'{name} in histogram {fam}')
    assert series, f'histogram {fam} has no samples'
    for rest, s in series.items():
        b = sorted(s['buckets'])
        assert b and b[-1][0] == math.inf, f'{fam} has no +Inf bucket'
        counts = [c for _, c in b]
        assert counts == sorted(counts), f'{fam} buckets are not cumulative: {b}'
        assert s['count'] is not None and s['sum'] is not None, f'{fam} lacks _sum/_count'
        assert b[-1][1] == s['count'], f'{fam}: +Inf bucket {b[-1][1]} != _count {s["count"]}'
        assert s['sum'] >= 0


def metrics(m):
    return parse_prometheus((m.mnt / '.cfgfs' / 'metrics').read_text())


def sample(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, f'no sample {name}{labels}; have ' + \
        ', '.join(sorted(f'{n}{dict(l)}' for n, l in samples if n.startswith(name)))
    return samples[key]


# ================================================================== hooks

def test_burst_of_saves_runs_matching_hook_once_with_all_paths(mounter, tmp_path):
    policy = write_policy(tmp_path, '''\
hooks:
  - match: "*.yaml"
    run: [/bin/sh, record.sh, runs-yaml, a4.yaml]
    debounce: 1s
  - match: "*.json"
    run: [/bin/sh, record.sh, runs-json]
    debounce: 100ms
''', {'record.sh': RECORD_SH})
    pdir = policy.parent
    m = mounter(policy, files={'app.yaml': APP, 'notes.txt': 'x\n'})
    start = m.revisions()
    before = m.head()
    names = [f'a{i % 5}.yaml' for i in range(20)]
    for i, name in enumerate(names):
        save(m.mnt / name, f'n: {i}\n'.encode())
    (m.mnt / 'notes.txt').write_text('not a yaml\n')
    head = m.wait_revisions(start + 21)
    assert head == start + 21

    want = set(names)

    def covered():
        got = set()
        for r in runs(pdir / 'runs-yaml'):
            got |= set(r['CFGFS_PATHS'].split('\n'))
        return want <= got
    wait_until(covered, WAIT, 'the yaml hook to cover all 5 saved files')
    time.sleep(QUIET)       # a late duplicate run would show up here
    rs = runs(pdir / 'runs-yaml')
    assert 1 <= len(rs) <= 3, f'{len(rs)} runs for one burst of 20 saves'
    commits = rev_commits(m)
    # the runs chain: each starts where the previous one ended
    assert rs[0]['CFGFS_PREVIOUS_COMMIT'] == before
    for a, b in zip(rs, rs[1:]):
        assert b['CFGFS_PREVIOUS_COMMIT'] == a['CFGFS_COMMIT']
    last = rs[-1]
    # the txt save came after every yaml save, and matches no yaml hook
    assert int(last['CFGFS_REVISION']) == head - 1
    assert last['CFGFS_COMMIT'] == commits[head - 2]
    for r in rs:
        paths = r['CFGFS_PATHS'].split('\n')
        assert len(paths) == len(set(paths)), paths
        assert set(paths) <= want, paths
        assert r['CFGFS_MOUNT'] == str(m.mnt)
        assert r['HOOK_CWD'] == str(pdir.resolve())
        assert r['HOOK_ARGC'] == '2'      # argv exactly as the policy wrote it
        assert 'CFGFS_PATHS_TRUNCATED' not in r
        m.git('cat-file', '-e', r['CFGFS_COMMIT'] + '^{commit}')
    # published before the hook ran: it read the burst's final content
    assert last['COPY'] == b'n: 19\n'
    assert not runs(pdir / 'runs-json'), 'a hook matching no saved path ran'
    # its output went to the log, line by line, tagged with the hook
    out = m.log_events('hook-output')
    assert any('recorded' in x and '*.yaml' in x and 'stdout' in x for x in out), out
    assert any('to stderr' in x and 'stderr' in x for x in out), out
    st = hook_status(m, 0)
    assert st['runs_ok'] == len(rs) and st['last_result'] == 'ok', st
    assert hook_status(m, 1)['runs_ok'] == 0 and hook_status(m, 1)['last_result'] == 'never'


def test_hostile_file_name_reaches_hooks_only_as_data(mounter, tmp_path):
    uniq = uuid.uuid4().hex[:12]
    pwned = Path(f'/tmp/pwned-{uniq}')
    pwned_rel = f'pwned2-{uniq}'
    policy = write_policy(tmp_path, '''\
hooks:
  - match: "*.yaml"
    run: [/bin/sh, record.sh, runs]
    debounce: 200ms
''', {'record.sh': RECORD_SH})
    pdir = policy.parent
    m = mounter(policy)
    # `$(touch /tmp/pwned-UNIQ); x.yaml` as a path: a name cannot hold a '/',
    # so the slashes are directory separators and the whole path is the text.
    hostile = f'$(touch /tmp/pwned-{uniq}); x.yaml'
    (m.mnt / '$(touch ' / 'tmp').mkdir(parents=True)
    save(m.mnt / hostile, b'a: 1\n')
    second = f'`touch {pwned_rel}`; $(touch {pwned_rel}) | y.yaml'
    save(m.mnt / second, b'b: 2\n')
    assert (m.mnt / hostile).read_bytes() == b'a: 1\n'

    def seen():
        got = set()
        for r in runs(pdir / 'runs'):
            got |= set(r['CFGFS_PATHS'].split('\n'))
        return {hostile, second} <= got
    wait_until(seen, WAIT, 'the hook to get both hostile names')
    time.sleep(1.0)
    assert not pwned.exists(), f'{pwned} was created: a path was run by a shell'
    for d in (pdir, m.mnt, m.src, Path('/'), Path.cwd()):
        assert not (d / pwned_rel).exists(), f'{d / pwned_rel} was created'
    assert m.show(hostile) == b'a: 1\n'
    for r in runs(pdir / 'runs'):
        assert r['HOOK_ARGC'] == '1', 'a path reached argv'


def test_failing_hook_retries_with_backoff_then_reverts(mounter, tmp_path):
    check = '''\
printf '%s %s\\n' "$(date +%s.%N)" "$CFGFS_REVISION" >> tries.log
if grep -q 'bad: true' "$CFGFS_MOUNT/app.yaml"; then
  echo "app.yaml is bad" >&2
  exit 1
fi
exit 0
'''
    policy = write_policy(tmp_path, '''\
hooks:
  - match: app.yaml
    run: [/bin/sh, check.sh]
    debounce: 100ms
    retries: 3
    backoff: {initial: 300ms, max: 5s}
    on_failure: revert
''', {'check.sh': check})
    pdir = policy.parent
    tries_log = pdir / 'tries.log'

    def tries():
        if not tries_log.exists():
            return []
        return [(float(t), int(r)) for t, r in
                (x.split() for x in tries_log.read_text().splitlines())]

    m = mounter(policy)
    ev = Events(m)
    good = b'name: demo\nport: 9090\n'
    save(m.mnt / 'app.yaml', good)
    r_good = m.revisions()
    wait_until(lambda: hook_status(m)['runs_ok'] == 1, WAIT, 'the first (good) run')
    assert tries() and tries()[-1][1] == r_good

    bad = b'name: demo\nport: 9090\nbad: true\n'
    save(m.mnt / 'app.yaml', bad)
    r_bad = r_good + 1
    assert m.revisions() == r_bad
    wait_until(lambda: hook_status(m)['reverts'] == 1, WAIT, 'the revert')
    wait_until(lambda: len(tries()) == 6, WAIT, 'the try after the revert')
    r_revert = r_bad + 1
    # published before the hook ran again: the mount shows the good version
    assert (m.src / 'app.yaml').read_bytes() == good
    assert (m.mnt / 'app.yaml').read_bytes() == good, \
        'the mount still serves the reverted-away content'
    wait_until(lambda: hook_status(m)['runs_ok'] == 2, WAIT, 'the run after the revert')

    # 1 try + 3 retries on the bad revision, then one on the revert
    t = tries()
    bad_tries = [ts for ts, r in t if r == r_bad]
    assert len(bad_tries) == 4, t
    assert [r for _, r in t] == [r_good] + [r_bad] * 4 + [r_revert], t
    gaps = [b - a for a, b in zip(bad_tries, bad_tries[1:])]
    # exponential backoff: each gap at least the delay, and they grow
    for i, g in enumerate(gaps):
        assert g >= 0.3 * 2 ** i * 0.95, f'gap {i} is {g:.3f}s: {gaps}'
    for a, b in zip(gaps, gaps[1:]):
        assert b >= a, f'gaps do not grow: {gaps}'

    # the live file, the store and the history show the last good version
    assert (m.mnt / 'app.yaml').read_bytes() == good
    assert (m.src / 'app.yaml').read_bytes() == good
    assert m.revisions() == r_revert
    assert m.show('app.yaml') == good
    msg = m.message()
    assert msg.startswith('revert ') and 'app.yaml' in msg, msg
    assert f'to revision {r_good} ' in msg and '(hook app.yaml failed)' in msg, msg
    assert m.show('app.yaml', 'HEAD~1') == bad
    hist_log = (m.mnt / '.history' / 'log').read_text().splitlines()
    assert hist_log[0].split(' ', 1)[0] == str(r_revert), hist_log[:2]
    assert (m.mnt / '.history' / str(r_revert) / 'app.yaml').read_bytes() == good

    # events: the bad save, then the revert as its own revision
    got = ev.read_until(r_revert)
    commits = rev_commits(m)
    for e in got:
        assert_event_shape(e, commits)
    assert_consecutive([e['revision'] for e in got], r_good, r_revert)
    last = got[-1]
    assert last['paths'] == [{'path': 'app.yaml', 'op': 'modify'}], last
    assert last['author'] == SYSTEM_AUTHOR, last
    ev.close()

    # status and metrics
    st = hook_status(m)
    assert st['match'] == 'app.yaml' and st['run'] == '/bin/sh', st
    assert (st['runs_ok'], st['runs_failed'], st['retries'], st['reverts']) == (2, 4, 3, 1), st
    assert st['last_result'] == 'ok' and st['last_revision'] == r_revert, st
    assert st['last_time'] > 0
    _, s = metrics(m)
    labels = {'hook': 'app.yaml', 'index': '0'}
    assert sample(s, 'cfgfs_hook_reverts_total', **labels) == 1
    assert sample(s, 'cfgfs_hook_retries_total', **labels) == 3
    assert sample(s, 'cfgfs_hook_runs_total', result='ok', **labels) == 2
    assert sample(s, 'cfgfs_hook_runs_total', result='failed', **labels) == 4
    assert sample(s, 'cfgfs_head_revision') == r_revert
    # hook logs: failures are warnings, the revert is logged
    assert len(hook_log(m, result='failed')) == 4
    assert any('reverted' in x for x in m.log_events('hook-revert')), m.log()
    assert any('app.yaml is bad' in x for x in m.log_events('hook-output'))

    # the hook works again after the revert: a later good save runs it once
    better = b'name: demo\nport: 9191\n'
    save(m.mnt / 'app.yaml', better)
    wait_until(lambda: hook_status(m)['runs_ok'] == 3, WAIT, 'a run after recovery')
    time.sleep(QUIET)
    assert m.show('app.yaml') == better and hook_status(m)['reverts'] == 1


def test_hook_failing_on_the_reverted_version_does_not_loop(mounter, tmp_path):
    fail = '''\
printf '%s %s\\n' "$(date +%s.%N)" "$CFGFS_REVISION" >> tries.log
cat "$CFGFS_MOUNT/app.yaml" > /dev/null    # a checker reads the config, then fails
exit 3
'''
    policy = write_policy(tmp_path, '''\
hooks:
  - match: "*.yaml"
    run: [/bin/sh, fail.sh]
    debounce: 100ms
    retries: 1
    backoff: {initial: 100ms}
    on_failure: revert
''', {'fail.sh': fail})
    tries_log = policy.parent / 'tries.log'

    def ntries():
        return len(tries_log.read_text().splitlines()) if tries_log.exists() else 0

    m = mounter(policy)
    r0 = m.revisions()
    for cycle in (1, 2):
        v = f'name: demo\nport: {9000 + cycle}\n'.encode()
        save(m.mnt / 'app.yaml', v)
        # 2 tries, the revert, the final try; then nothing more
        wait_until(lambda: len(m.log_events('hook-revert-failed')) == cycle, WAIT,
                   f'the hook to give up after revert (cycle {cycle})')
        time.sleep(QUIET)
        assert ntries() == 3 * cycle, tries_log.read_text()
        assert m.revisions() == r0 + 2 * cycle, m.messages()[:6]
        st = hook_status(m)
        assert st['reverts'] == cycle and st['runs_failed'] == 3 * cycle, st
        assert st['last_result'] == 'failed', st
        assert m.show('app.yaml') == APP, 'not restored in the store'
        assert (m.src / 'app.yaml').read_bytes() == APP
        assert m.message().startswith('revert app.yaml to revision '), m.message()
    _, s = metrics(m)
    assert sample(s, 'cfgfs_hook_reverts_total', hook='*.yaml', index='0') == 2
    assert sample(s, 'cfgfs_hook_runs_total', hook='*.yaml', index='0', result='failed') == 6
    assert len(m.log_events('hook-revert')) == 2
    # the mount serves what the store and SOURCE hold
    assert (m.mnt / 'app.yaml').read_bytes() == APP, \
        'the mount still serves the reverted-away content'


def test_hanging_hook_killed_at_timeout_with_its_children(mounter, tmp_path):
    hang = '''\
echo $$ > sh.pid
sleep 1000 &
echo $! > bg.pid
echo "hanging"
sh -c 'echo $$ > fg.pid; exec sleep 1000'
'''
    policy = write_policy(tmp_path, '''\
hooks:
  - match: app.yaml
    run: [/bin/sh, hang.sh]
    debounce: 0
    timeout: 1s
    retries: 0
''', {'hang.sh': hang})
    pdir = policy.parent
    m = mounter(policy)
    pids = []
    try:
        save(m.mnt / 'app.yaml', b'name: demo\nport: 1\n')
        wait_until(lambda: all((pdir / f).exists() and (pdir / f).read_text().strip()
                               for f in ('sh.pid', 'bg.pid', 'fg.pid')), WAIT,
                   'the hook and its children to start')
        pids = [int((pdir / f).read_text()) for f in ('sh.pid', 'bg.pid', 'fg.pid')]
        # the daemon keeps serving while the hook hangs
        save(m.mnt / 'other.yaml', b'x: 1\n')
        assert m.show('other.yaml') == b'x: 1\n'
        wait_until(lambda: hook_status(m)['timeouts'] == 1, WAIT, 'the timeout')
        wait_until(lambda: not any(pid_alive(p) for p in pids), WAIT,
                   f'hook processes {pids} to be gone')
        st = hook_status(m)
        assert st['last_result'] == 'timeout' and st['runs_ok'] == 0, st
        assert hook_log(m, result='timeout'), m.log_events('hook')
        assert any('hanging' in x for x in m.log_events('hook-output'))
        _, s = metrics(m)
        assert sample(s, 'cfgfs_hook_runs_total', hook='app.yaml', index='0',
                      result='timeout') == 1
        # on_failure keep: the change stays
        assert (m.mnt / 'app.yaml').read_bytes() == b'name: demo\nport: 1\n'
    finally:
        for p in pids:          # processes our hook started, by their ids
            if pid_alive(p):
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass


def test_hooks_see_renames_and_deletes_and_run_in_policy_order(mounter, tmp_path):
    policy = write_policy(tmp_path, '''\
hooks:
  - match: "*.yaml"
    run: [/bin/sh, record.sh, runs-first]
    debounce: 300ms
  - match: "conf/**"
    run: [/bin/sh, record.sh, runs-second]
    debounce: 300ms
''', {'record.sh': RECORD_SH})
    pdir = policy.parent
    m = mounter(policy, files={'app.yaml': APP, 'conf/db.yaml': b'db: 1\n',
                               'gone.yaml': b'g: 1\n'})
    r0 = m.revisions()
    os.rename(m.mnt / 'conf' / 'db.yaml', m.mnt / 'conf' / 'db.txt')   # from matches *.yaml
    os.unlink(m.mnt / 'gone.yaml')                                     # settles, then commits
    m.wait_revisions(r0 + 2, WAIT)

    def union(d):
        got = set()
        for r in runs(pdir / d):
            got |= set(r['CFGFS_PATHS'].split('\n'))
        return got
    wait_until(lambda: {'conf/db.yaml', 'gone.yaml'} <= union('runs-first'), WAIT,
               'the *.yaml hook to see the rename source and the delete')
    wait_until(lambda: {'conf/db.yaml', 'conf/db.txt'} <= union('runs-second'), WAIT,
               'the conf/** hook to see both names of the rename')
    time.sleep(QUIET)
    first, second = runs(pdir / 'runs-first'), runs(pdir / 'runs-second')
    assert 'conf/db.txt' not in union('runs-first')
    assert 'gone.yaml' not in union('runs-second')
    assert len(first) <= 2 and len(second) <= 2, (len(first), len(second))
    # policy order: one save both hooks match runs the first hook first
    n = len(first) + len(second)
    save(m.mnt / 'conf' / 'x.yaml', b'x: 1\n')
    rev = m.revisions()
    wait_until(lambda: len(runs(pdir / 'runs-first')) + len(runs(pdir / 'runs-second')) ==
               n + 2, WAIT, 'both hooks to run for conf/x.yaml')
    a = [r for r in runs(pdir / 'runs-first') if int(r['CFGFS_REVISION']) == rev]
    b = [r for r in runs(pdir / 'runs-second') if int(r['CFGFS_REVISION']) == rev]
    assert len(a) == 1 and len(b) == 1, (a, b)
    assert a[0]['CFGFS_PATHS'] == b[0]['CFGFS_PATHS'] == 'conf/x.yaml'
    assert a[0]['T'] <= b[0]['T'], 'hooks ran out of policy order'


def test_replay_covers_revisions_from_before_this_mount(cfgfs_factory, tmp_path):
    src = tmp_path / 'keep'
    m = cfgfs_factory(files={'app.yaml': APP}, src=src, opts=list(FAST_OPTS))
    for i in range(3):
        save(m.mnt / 'app.yaml', f'v: {i}\n'.encode())
    head = m.revisions()
    commits = rev_commits(m)
    m.unmount()
    m2 = cfgfs_factory(src=src, opts=list(FAST_OPTS))
    ev = Events(m2, os.O_RDWR)
    try:
        assert not ev.readable(0), 'a fresh reader starts at the head'
        os.write(ev.fd, b'0')
        got = ev.read_until(head)
        assert_consecutive([e['revision'] for e in got], 1, head)
        for e in got:
            assert_event_shape(e, commits)
        assert got[1]['paths'] == [{'path': 'app.yaml', 'op': 'modify'}]
        assert got[1]['author'] == 'root'
    finally:
        ev.close()
        OPEN_EVENTS.remove(ev)


# ================================================================== events

def test_event_lines_describe_each_kind_of_change(mounter):
    m = mounter(files={'app.yaml': APP, 'old.yaml': b'o: 1\n'})
    ev = Events(m)
    r0 = m.revisions()
    save(m.mnt / 'app.yaml', b'name: demo\nport: 1\n')           # modify
    save(m.mnt / 'new.yaml', b'n: 1\n')                          # create
    os.rename(m.mnt / 'old.yaml', m.mnt / 'renamed.yaml')        # rename
    os.chmod(m.mnt / 'new.yaml', 0o600)                          # mode
    os.unlink(m.mnt / 'renamed.yaml')                            # delete (settles)
    m.wait_revisions(r0 + 5, WAIT)
    got = ev.read_until(r0 + 5)
    commits = rev_commits(m)
    for e in got:
        assert_event_shape(e, commits)
        assert e['author'] == 'root', e
    assert_consecutive([e['revision'] for e in got], r0 + 1, r0 + 5)
    paths = [e['paths'] for e in got]
    assert paths[0] == [{'path': 'app.yaml', 'op': 'modify'}]
    assert paths[1] == [{'path': 'new.yaml', 'op': 'create'}]
    assert paths[2] == [{'path': 'renamed.yaml', 'from': 'old.yaml', 'op': 'rename'}]
    assert paths[3] == [{'path': 'new.yaml', 'op': 'mode'}]
    assert paths[4] == [{'path': 'renamed.yaml', 'op': 'delete'}]
    # nothing more: a non-blocking read says so
    ev.close()
    nb = Events(m, os.O_RDONLY | os.O_NONBLOCK)
    with pytest.raises(BlockingIOError):
        os.read(nb.fd, 4096)
    nb.close()


def test_two_readers_one_slow_see_every_revision_in_order(mounter):
    m = mounter(files={'app.yaml': APP, 'b.yaml': b'b: 0\n'})
    r0 = m.revisions()
    n = 40
    target = [None]
    results = {}

    def reader(name, pause):
        ev = Events(m)
        ready.release()
        got = []
        try:
            while True:
                got += ev.read(4096 if pause else 1 << 20)   # blocks until news
                if target[0] is not None and got and got[-1]['revision'] >= target[0]:
                    break
                if stop.is_set():
                    break
                time.sleep(pause)
        except Exception as e:      # reported by the main thread
            results[name + '-error'] = e
        finally:
            results[name] = got
            results[name + '-reads'] = ev.reads
            ev.close()

    ready = threading.Semaphore(0)
    stop = threading.Event()
    threads = [threading.Thread(target=reader, args=('fast', 0), daemon=True),
               threading.Thread(target=reader, args=('slow', 0.25), daemon=True)]
    for t in threads:
        t.start()
    for _ in threads:
        assert ready.acquire(timeout=WAIT)
    wait_until(lambda: status(m)['events_readers'] == 2, WAIT, 'two readers')
    for i in range(n):
        save(m.mnt / ('app.yaml' if i % 2 else 'b.yaml'), f'v: {i}\n'.encode())
    head = m.revisions()
    assert head == r0 + n
    target[0] = head
    for t in threads:
        t.join(WAIT)
    if any(t.is_alive() for t in threads):
        stop.set()
        save(m.mnt / 'b.yaml', b'wake: up\n')   # unblock a reader stuck in read
        for t in threads:
            t.join(WAIT)
    for name in ('fast', 'slow'):
        assert name + '-error' not in results, results[name + '-error']
    commits = rev_commits(m)
    for name in ('fast', 'slow'):
        got = results[name]
        for e in got:
            assert_event_shape(e, commits)
        assert_consecutive([e['revision'] for e in got][:n], r0 + 1, head)
    # the slow reader got several revisions per read: it was a cursor, not a queue
    assert max(len(r.splitlines()) for r in results['slow-reads']) > 1
    wait_until(lambda: status(m)['events_readers'] == 0, WAIT, 'readers to be counted out')


def test_replay_from_revision_n(mounter):
    m = mounter()
    for i in range(6):
        save(m.mnt / 'app.yaml', f'v: {i}\n'.encode())
    head = m.revisions()
    commits = rev_commits(m)

    ev = Events(m, os.O_RDWR)
    assert os.write(ev.fd, b'0\n') == 2
    got = ev.read_until(head)
    assert_consecutive([e['revision'] for e in got], 1, head)
    for e in got:
        assert_event_shape(e, commits)
    # then new ones, as they come
    save(m.mnt / 'app.yaml', b'v: new\n')
    more = ev.read_until(head + 1)
    assert [e['revision'] for e in more] == [head + 1]
    # writing again moves the cursor back
    os.write(ev.fd, f'{head - 2}\n'.encode())
    again = ev.read_until(head + 1)
    assert_consecutive([e['revision'] for e in again], head - 1, head + 1)
    # refused: not a number, beyond the head
    for bad in (b'abc\n', b'-1\n', f'{head + 50}\n'.encode(), b'\n'):
        with pytest.raises(OSError) as e:
            os.write(ev.fd, bad)
        assert e.value.errno == errno.EINVAL, bad
    ev.close()

    # a fresh reader that writes its own N sees only what follows N
    ev2 = Events(m, os.O_RDWR)
    os.write(ev2.fd, b'3')
    got = ev2.read_until(head + 1)
    assert_consecutive([e['revision'] for e in got], 4, head + 1)
    ev2.close()
    # write-only is refused (a cursor needs reading)
    with pytest.raises(OSError) as e:
        os.open(m.mnt / '.cfgfs' / 'events', os.O_WRONLY)
    assert e.value.errno == errno.EACCES


def test_poll_and_select_report_readable_when_a_revision_arrives(mounter):
    m = mounter()
    ev = Events(m)
    assert not ev.readable(0), 'readable before any revision'
    p = select.poll()
    p.register(ev.fd, select.POLLIN)
    assert p.poll(0) == []

    def later():
        time.sleep(0.5)
        save(m.mnt / 'app.yaml', b'v: 1\n')
    t = threading.Thread(target=later)
    t.start()
    assert ev.readable(WAIT), 'select did not wake for a new revision'
    t.join(WAIT)
    assert p.poll(0) and p.poll(0)[0][1] & select.POLLIN
    got = ev.read()
    assert [e['revision'] for e in got] == [m.revisions()]
    assert not ev.readable(0), 'still readable after reading everything'
    assert p.poll(0) == []
    # poll (not only select) wakes a sleeper too
    t = threading.Thread(target=later)
    t.start()
    r = p.poll(WAIT * 1000)
    t.join(WAIT)
    assert r and r[0][1] & select.POLLIN, 'poll did not wake for a new revision'
    assert [e['revision'] for e in ev.read()] == [m.revisions()]
    ev.close()


def test_stalled_reader_never_blocks_saves(mounter):
    m = mounter()
    r0 = m.revisions()
    stalled = Events(m)        # opened, never read while the saves happen
    parked = Events(m)         # one read parked, never read again
    parked_got = []
    pt = threading.Thread(target=lambda: parked_got.extend(parked.read()), daemon=True)
    pt.start()
    done = []

    def saver():
        for i in range(50):
            save(m.mnt / 'app.yaml', f'v: {i}\n'.encode())
            done.append(i)
    t = threading.Thread(target=saver, daemon=True)
    t.start()
    t.join(WAIT * 2)
    assert not t.is_alive(), f'saves stalled after {len(done)} of 50 with a stalled reader'
    assert m.revisions() == r0 + 50
    pt.join(WAIT)
    assert parked_got and parked_got[0]['revision'] == r0 + 1
    # the stalled reader lost nothing
    got = stalled.read_until(r0 + 50)
    assert_consecutive([e['revision'] for e in got], r0 + 1, r0 + 50)
    assert status(m)['events_readers'] == 2
    stalled.close()
    parked.close()


# ================================================================== metrics

def test_metrics_parse_and_count_what_was_done(mounter):
    m = mounter(opts=['max_file_size=4096'])
    types, s0 = metrics(m)
    for name, typ in (('cfgfs_saves_committed_total', 'counter'),
                      ('cfgfs_saves_rejected_total', 'counter'),
                      ('cfgfs_commit_latency_seconds', 'histogram'),
                      ('cfgfs_hook_runs_total', 'counter'),
                      ('cfgfs_hook_retries_total', 'counter'),
                      ('cfgfs_hook_reverts_total', 'counter'),
                      ('cfgfs_head_revision', 'gauge'),
                      ('cfgfs_events_readers', 'gauge'),
                      ('cfgfs_store_size_bytes', 'gauge')):
        assert types.get(name) == typ, (name, types.get(name))
    h0 = m.revisions()
    assert sample(s0, 'cfgfs_head_revision') == h0
    assert sample(s0, 'cfgfs_events_readers') == 0
    reasons = ('syntax', 'schema', 'check', 'size')
    rej0 = {r: sample(s0, 'cfgfs_saves_rejected_total', reason=r) for r in reasons}
    com0 = sample(s0, 'cfgfs_saves_committed_total')
    lat0 = sample(s0, 'cfgfs_commit_latency_seconds_count')

    # 5 committed saves
    save(m.mnt / 'app.yaml', b'name: demo\nport: 1\n')
    save(m.mnt / 'app.yaml', b'name: demo\nport: 2\n')
    save(m.mnt / 'b.yaml', b'b: 1\n')
    save(m.mnt / 'c.json', b'{"c": 1}\n')
    (m.mnt / 'd.txt').write_text('plain\n')
    # 2 refused for syntax
    for path, bad in (('app.yaml', b'name: [\n'), ('c.json', b'{"c": \n')):
        with pytest.raises(OSError) as e:
            save(m.mnt / path, bad)
        assert e.value.errno == errno.EINVAL
    # 1 refused for size: a scratch file may grow, the save onto app.yaml may not
    big = b'# padding\n' * 500 + b'k: v\n'
    (m.mnt / 'app.yaml.tmp').write_bytes(big)
    with pytest.raises(OSError) as e:
        os.rename(m.mnt / 'app.yaml.tmp', m.mnt / 'app.yaml')
    assert e.value.errno == errno.EFBIG
    if (m.mnt / 'app.yaml.tmp').exists():
        os.unlink(m.mnt / 'app.yaml.tmp')
    assert (m.mnt / 'app.yaml').read_bytes() == b'name: demo\nport: 2\n'
    ev = Events(m)

    _, s1 = metrics(m)
    head = m.revisions()
    assert head == h0 + 5
    assert sample(s1, 'cfgfs_saves_committed_total') - com0 == 5
    assert sample(s1, 'cfgfs_head_revision') == head
    rej1 = {r: sample(s1, 'cfgfs_saves_rejected_total', reason=r) for r in reasons}
    assert {r: rej1[r] - rej0[r] for r in reasons} == \
        {'syntax': 2, 'schema': 0, 'check': 0, 'size': 1}
    assert sample(s1, 'cfgfs_commit_latency_seconds_count') - lat0 == 5
    assert sample(s1, 'cfgfs_commit_latency_seconds_sum') > 0
    assert sample(s1, 'cfgfs_events_readers') == 1
    assert sample(s1, 'cfgfs_store_size_bytes') > 0
    # no hooks configured: no hook series
    assert not [k for k in s1 if k[0].startswith('cfgfs_hook_')]
    # .cfgfs/status agrees
    st = status(m)
    assert st['head'] == {'revision': head, 'commit': m.head()}
    assert st['saves'] == sample(s1, 'cfgfs_saves_committed_total')
    assert st['rejected'] == sum(rej1.values())
    assert st['events_readers'] == 1 and st['hooks'] == []
    ev.close()


def test_prometheus_parser_rejects_bad_text():
    """The parser above is strict enough to catch what it is meant to."""
    good = ('# HELP x_total X.\n# TYPE x_total counter\nx_total{a="b"} 1\n'
            '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'
            'h_sum 0.5\nh_count 2\n')
    parse_prometheus(good)
    for bad in (good[:-1],                                          # no final newline
                good.replace('h_count 2', 'h_count 3'),              # +Inf != _count
                good.replace('h_bucket{le="1"} 1', 'h_bucket{le="1"} 3'),  # not cumulative
                good.replace('{a="b"}', '{a=b}'),                    # unquoted label
                good.replace('x_total{a="b"} 1', 'x_total{a="b"} one'),
                good + 'x_total{a="c"} 2\n',                         # family split
                good.replace('counter', 'countr')):
        with pytest.raises(AssertionError):
            parse_prometheus(bad)


# ============================================================ policy errors

POLICY_ERRORS = {
    'unknown-key': ('hooks:\n  - match: "*.yaml"\n    run: [/bin/true]\n    colour: red\n',
                    4, 5, "unknown key 'colour'"),
    'unknown-top-key': ('rules: []\nhoks:\n  - match: x\n', 2, 1, "unknown key 'hoks'"),
    'bad-glob': ('hooks:\n  - match: "[abc"\n    run: [/bin/true]\n', 2, 12, '[abc'),
    'bad-duration': ('hooks:\n  - match: "*.yaml"\n    run: [/bin/true]\n'
                     '    debounce: 5 parsecs\n', 4, 15, '5 parsecs'),
    'bad-backoff-duration': ('hooks:\n  - match: "*.yaml"\n    run: [/bin/true]\n'
                             '    backoff: {initial: 10 fortnights}\n', 4, 24,
                             '10 fortnights'),
    'wrong-type': ('hooks:\n  - match: "*.yaml"\n    run: [/bin/true]\n'
                   '    retries: [1, 2]\n', 4, 14, 'retries'),
    'run-not-a-list': ('hooks:\n  - match: "*.yaml"\n    run: /bin/true\n', 3, 10, 'run'),
    'missing-run': ('hooks:\n  - match: "*.yaml"\n    debounce: 1s\n', 2, 5, "'run'"),
    'bad-on-failure': ('hooks:\n  - match: "*.yaml"\n    run: [/bin/true]\n'
                       '    on_failure: retry\n', 4, 17, 'on_failure'),
}


@pytest.mark.parametrize('case', sorted(POLICY_ERRORS))
def test_policy_error_gives_line_column_and_exit_2(tmp_path, case):
    need_root()
    text, line, col, needle = POLICY_ERRORS[case]
    policy = tmp_path / 'policy.yaml'
    policy.write_text(text)
    src, mnt = tmp_path / 'src', tmp_path / 'mnt'
    src.mkdir()
    mnt.mkdir()
    (src / 'app.yaml').write_bytes(APP)
    argv = [str(cfgfs_bin()), '-f', '-o', ','.join(FAST_OPTS + (f'policy={policy}',)),
            str(src), str(mnt)]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        if is_mounted(mnt):
            unmount(mnt)
        pytest.fail(f'cfgfs mounted with a bad policy ({case})')
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    m = re.search(rf'{re.escape(str(policy))}:(\d+):(\d+): (.+)$', lines[0])
    assert m, f'not FILE:LINE:COL: message: {lines[0]!r}'
    assert (int(m.group(1)), int(m.group(2))) == (line, col), lines[0]
    assert needle in m.group(3), lines[0]
    assert not is_mounted(mnt)
    assert sorted(os.listdir(src)) == ['app.yaml'], 'the store was created anyway'
    assert r.stdout == ''
