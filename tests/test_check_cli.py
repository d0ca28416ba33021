"""`cfgfs check`: the real-world corpus passes, bad documents are reported
as FILE:LINE:COL: message, and the exit codes follow SPEC.md.

The binary comes from $CFGFS_BIN, else build/cfgfs under the repo root (or
build/fs/cfgfs, where meson puts it today).
Run with /usr/bin/python3 -m pytest tests/test_check_cli.py
"""
import os
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# A copy ships in tests/corpus (Apache-2.0, see its LICENSE and NOTICE);
# the project's shared/ copy is the fallback.
CORPUS = next((p for p in (Path(__file__).resolve().parent / 'corpus',
                           Path(__file__).resolve().parents[2] / 'shared' / 'corpus')
               if (p / 'schemastore').is_dir()),
              Path(__file__).resolve().parent / 'corpus')
SCHEMASTORE = CORPUS / 'schemastore'
MAX_SIZE = 16 * 1024 * 1024


def cfgfs_bin():
    env = os.environ.get('CFGFS_BIN')
    if env:
        path = Path(env)
    else:
        candidates = [REPO / 'build' / 'cfgfs', REPO / 'build' / 'fs' / 'cfgfs']
        path = next((c for c in candidates if c.is_file()), candidates[0])
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        pytest.skip(f'cfgfs binary not built at {path} (set CFGFS_BIN)')
    return path


def check(*args, stdin=None):
    return subprocess.run([str(cfgfs_bin()), 'check', *map(str, args)],
                          input=stdin, capture_output=True, timeout=60)


def corpus_files():
    if not SCHEMASTORE.is_dir():
        return []
    return sorted(p for p in SCHEMASTORE.glob('*/valid/*') if p.is_file())


def test_corpus_present_or_skipped():
    if not SCHEMASTORE.is_dir():
        pytest.skip(f'corpus not found at {SCHEMASTORE}')
    assert len(corpus_files()) >= 239


@pytest.mark.parametrize('path', corpus_files(),
                         ids=lambda p: f'{p.parts[-3]}/{p.name}' if isinstance(p, Path) else str(p))
def test_corpus_valid_file_passes(path):
    r = check(path)
    assert r.stdout == b'' and r.stderr == b''
    assert r.returncode == 0


def test_whole_corpus_in_one_call():
    files = corpus_files()
    if not files:
        pytest.skip(f'corpus not found at {SCHEMASTORE}')
    r = check(*files)
    assert r.stdout.decode() == ''
    assert r.returncode == 0


# (file name, content, expected stdout lines with the name as given)
INVALID = [
    ('dup.yaml', b'name: a\nport: 1\nname: b\n',
     ['dup.yaml:3:1: duplicate key "name" (first at line 1)']),
    ('dup.json', b'{\n  "name": 1,\n  "name": 2\n}\n',
     ['dup.json:3:3: duplicate key "name" (first at line 2)']),
    ('syntax.yaml', b'a: 1\nb: [1, 2\n',
     ["syntax.yaml:3:1: did not find expected ',' or ']' "
      '(while parsing a flow sequence started at line 2, column 4)']),
    ('indent.yml', b'a:\n  b: 1\n c: 2\n',
     ['indent.yml:3:2: did not find expected key '
      '(while parsing a block mapping started at line 1, column 1)']),
    ('trailing.json', b'{"a": 1}\n}\n',
     ["trailing.json:2:1: trailing data after the JSON value, found '}'"]),
    ('comma.json', b'{"a": 1,}',
     ["comma.json:1:9: expected a string key, found '}'"]),
    ('empty.json', b'', ['empty.json:1:1: empty JSON document']),
    ('utf8.yaml', b'a: 1\nb: \xff\n', ['utf8.yaml:2:4: invalid UTF-8 byte 0xff']),
    ('merge.yaml', b'a:\n  <<: 3\n',
     ['merge.yaml:2:7: merge key "<<" needs a mapping or a sequence of mappings']),
    ('alias.yaml', b'a: *missing\n',
     ['alias.yaml:1:4: alias to undefined anchor "missing"']),
    ('deep.json', b'[' * 10000 + b']' * 10000,
     ['deep.json:1:65: nesting deeper than 64 levels']),
    ('deep.yaml', b'- ' * 10000 + b'x\n',
     ['deep.yaml:1:129: nesting deeper than 64 levels']),
]

VALID = [
    ('empty.yaml', b''),
    ('multi.yaml', b'kind: A\n---\nkind: B\n---\n'),
    ('compose.yaml', b'x: &d {image: a}\nweb:\n  <<: *d\n  image: b\n'),
    ('cfn.yaml', b'V: !Ref Env\nS: !Sub "${A}"\nG: !GetAtt [R, Arn]\n'),
    ('ok.json', b'{"a": [1, 2.5, true, null, "x"]}\n'),
    ('notes.txt', b'{{{ not parsed'),
]


def alias_bomb():
    lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    for i in range(1, 10):
        refs = ', '.join([f'*a{i - 1}'] * 9)
        lines.append(f'a{i}: &a{i} [{refs}]')
    return ('\n'.join(lines) + '\n').encode()


@pytest.mark.parametrize('name,content,expected', INVALID, ids=[c[0] for c in INVALID])
def test_invalid_document(tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content)
    r = subprocess.run([str(cfgfs_bin()), 'check', name], cwd=tmp_path,
                       capture_output=True, timeout=60)
    assert r.stdout.decode().splitlines() == expected
    assert r.stderr == b''
    assert r.returncode == 1


@pytest.mark.parametrize('name,content', VALID, ids=[c[0] for c in VALID])
def test_valid_document(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    r = check(tmp_path / name)
    assert (r.returncode, r.stdout, r.stderr) == (0, b'', b'')


def test_alias_bomb_refused_fast(tmp_path):
    (tmp_path / 'bomb.yaml').write_bytes(alias_bomb())
    # bounded by check()'s timeout: a real expansion would never finish
    r = check(tmp_path / 'bomb.yaml')
    assert r.returncode == 1
    assert r.stdout.decode().endswith(
        'bomb.yaml:6:10: document has more than 100000 nodes (aliases expanded)\n')


def test_over_max_size(tmp_path):
    big = tmp_path / 'big.json'
    with open(big, 'wb') as f:
        f.truncate(MAX_SIZE + 1)
    r = check(big)
    assert r.returncode == 1
    assert r.stdout.decode() == f'{big}: file is larger than the limit of {MAX_SIZE} bytes\n'
    # exactly at the limit is not "too large" (it is all NUL bytes, so a syntax error)
    with open(big, 'wb') as f:
        f.truncate(MAX_SIZE)
    r = check('--as', 'x.txt', big)
    assert (r.returncode, r.stdout) == (0, b'')


def test_as_decides_the_format(tmp_path):
    f = tmp_path / 'draft.tmp'
    f.write_bytes(b'a: 1\na: 2\n')
    assert check(f).returncode == 0  # no known format: nothing to parse
    r = check('--as', 'conf/app.yaml', f)
    assert r.returncode == 1
    assert r.stdout.decode() == f'{f}:2:1: duplicate key "a" (first at line 1)\n'
    r = check(f'--as=app.json', f)
    assert r.stdout.decode() == f"{f}:1:1: expected a JSON value, found 'a'\n"


def test_stdin_with_as():
    r = check('--as', 'x.json', '-', stdin=b'{"a": 1, "a": 2}')
    assert r.returncode == 1
    assert r.stdout.decode() == '-:1:10: duplicate key "a" (first at line 1)\n'


def test_mixed_files_one_line_per_problem(tmp_path):
    (tmp_path / 'good.yaml').write_bytes(b'a: 1\n')
    (tmp_path / 'bad.json').write_bytes(b'[1,]')
    (tmp_path / 'bad.yaml').write_bytes(b'a: 1\na: 1\n')
    r = subprocess.run([str(cfgfs_bin()), 'check', 'good.yaml', 'bad.json', 'bad.yaml'],
                       cwd=tmp_path, capture_output=True, timeout=60)
    assert r.returncode == 1
    assert r.stdout.decode().splitlines() == [
        "bad.json:1:4: expected a JSON value, found ']'",
        'bad.yaml:2:1: duplicate key "a" (first at line 1)',
    ]


def test_unreadable_file(tmp_path):
    missing = tmp_path / 'missing.yaml'
    r = check(missing)
    assert r.returncode == 1
    assert r.stdout.decode() == f'{missing}: cannot read: No such file or directory\n'
    r = check(tmp_path)
    assert r.returncode == 1
    assert r.stdout.decode() == f'{tmp_path}: cannot read: Is a directory\n'


@pytest.mark.parametrize('args', [
    [],
    ['--as'],
    ['--as', ''],
    ['--bogus', 'a.yaml'],
    ['--policy', 'p.yaml', 'a.yaml'],
    ['--as', 'a.yaml', '--as', 'b.yaml', 'c'],
    ['--as', 'a.yaml'],
])
def test_usage_errors(args):
    r = check(*args)
    assert r.returncode == 2
    assert r.stdout == b''
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith('cfgfs check: ')


def test_double_dash_ends_options(tmp_path):
    f = tmp_path / '--as.yaml'
    f.write_bytes(b'a: [\n')
    r = subprocess.run([str(cfgfs_bin()), 'check', '--', '--as.yaml'], cwd=tmp_path,
                       capture_output=True, timeout=60)
    assert r.returncode == 1
    assert r.stdout.decode().startswith('--as.yaml:2:1: ')
