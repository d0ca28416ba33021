"""Compare cfgfs's glob matcher with git itself.

DESIGN.md: the policy's globs are gitignore-style, and `git check-ignore
--no-index` with the same single pattern is an exact oracle. For each pattern
we write a one-line .gitignore into a scratch repository whose tree holds
every test path (directories as real directories, since git asks lstat
whether a path is one), ask git which paths it ignores, and ask
glob-probe (built by tests/unit/names/meson.build) the same question.
"""

import os
import random
import subprocess

import pytest

BUILD = os.environ.get("CFGFS_BUILD", "build")
PROBE = os.path.join(BUILD, "tests", "unit", "names", "glob-probe")

# Paths of the tree; a trailing '/' marks a directory. Parents are implied.
TREE = [
    "app.yaml", "app.yml", "config.json", "README", "foo", ".hidden",
    ".env.yaml", "a/app.yaml", "a/.env", "a/b/app.yaml", "a/b/c/deep.conf",
    "a/b/c/d/e.yaml", "a/emptysub/", "emptydir/", "nginx/nginx.conf",
    "nginx/sites/default.conf", "nginx/sites/x.yaml", "nginx/conf.d/a.conf",
    "bar/foo", "bar/foo.d/x", "x.yaml/inner.txt", "abc/def", "abc/d/e/f",
    "[x]", "a*b", "a?c", "sp ace", "trail ", "#hash", "!bang", "back\\slash",
    "UPPER.YAML", "v1.2/conf", "dir.d/sub/", "foo/", "z/foo/bar",
]
# One name cannot be both a file and a directory in one tree.
TREE = [p for p in TREE if p != "foo/"] + ["zz/foo/"]

PATTERNS = [
    "*", "**", "*.yaml", "*.y?ml", "app.*", "/app.yaml", "app.yaml",
    "a/app.yaml", "/a/app.yaml", "a/*", "a/*/app.yaml", "a/**", "a/**/app.yaml",
    "**/app.yaml", "**/a/app.yaml", "**/b/**", "a/**/c", "a/**/c/", "**/*.conf",
    "nginx/**/*.conf", "nginx/*.conf", "nginx/", "nginx", "/nginx/", "sites/",
    "sites", "*/sites/*", "foo", "foo/", "/foo", "bar/foo", "foo.d/",
    "[abc]*", "[!a]*", "[^a]*", "[a-c]pp.yaml", "[a-]*", "[]x]*", "[[]x]",
    "[[:upper:]]*", "[[:digit:]]*", "*[[:space:]]*", "\\[x]", "a\\*b", "a\\?c",
    "a?c", "a*b", "\\#hash", "#hash", "\\!bang", "back\\\\slash", "sp ace",
    "trail\\ ", "trail ", "app.yaml   ", "*.YAML", "x.yaml/", "x.yaml",
    "*.yaml/", "**/", "*/", "abc/**/f", "abc/**/def", "abc/d**", "abc/**f",
    "**e.yaml", "a**/app.yaml", "a/b/**/", "v1.2/", "v1.?/conf", ".*", "/.*",
    "*/.env", ".env*", "dir.d/", "emptydir/", "emptydir", "a/emptysub/",
    "/**/deep.conf", "***/deep.conf", "a/***", "z/**/bar", "**/foo/", "**/foo",
    "*.d", "*.d/", "conf.d/a.conf", "/conf.d/", "a/b/c/d/e.yaml", "[a-z]/[a-z]",
]


def _random_patterns(n, seed=4913):
    rnd = random.Random(seed)
    atoms = ["a", "b", "c", "app", "yaml", "conf", ".", "*", "**", "?", "/",
             "[ab]", "[!a]", "[a-e]", "d", "e", "x", "foo", "nginx", "sites"]
    out = []
    while len(out) < n:
        pat = "".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 6)))
        if pat.startswith("!") or pat.strip("/") == "":
            continue
        out.append(pat)
    return out


def _git_env(home):
    env = dict(os.environ)
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home),
                "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    return env


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle")
    work = root / "work"
    work.mkdir()
    env = _git_env(root)
    subprocess.run(["git", "init", "-q", str(work)], check=True, env=env)
    for p in TREE:
        full = work / p.rstrip("/")
        if p.endswith("/"):
            full.mkdir(parents=True, exist_ok=True)
        else:
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_text("x\n")
    return work, env


def _git_ignored(work, env, pattern, paths):
    line = "\\" + pattern if pattern.startswith("#") else pattern
    (work / ".gitignore").write_text(line + "\n")
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", "-z", "-v", "-n", "--stdin"],
        cwd=work, env=env, input="\0".join(paths).encode() + b"\0",
        capture_output=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    fields = proc.stdout.split(b"\0")
    result = {}
    for i in range(0, len(fields) - 1, 4):
        source, path = fields[i], fields[i + 3].decode()
        result[path] = bool(source)
    return [result[p] for p in paths]


def _probe(pattern, paths):
    proc = subprocess.run([PROBE, pattern] + paths, capture_output=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return [line == b"1" for line in proc.stdout.split()]


def _all_paths():
    """Every file and directory of the tree (directories with '/')."""
    seen = []
    for p in TREE:
        parts = p.rstrip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i]) + "/"
            if d not in seen:
                seen.append(d)
        if p not in seen:
            seen.append(p)
    return seen


@pytest.fixture(scope="module", autouse=True)
def _need_probe():
    if not os.access(PROBE, os.X_OK):
        pytest.fail(f"{PROBE} not built (set CFGFS_BUILD to the build dir)")


@pytest.mark.parametrize("pattern", PATTERNS + _random_patterns(int(os.environ.get("CFGFS_ORACLE_RANDOM", "150"))))
def test_matches_git(tree, pattern):
    work, env = tree
    paths = _all_paths()
    git_paths = [p.rstrip("/") for p in paths]
    want = _git_ignored(work, env, pattern, git_paths)
    got = _probe(pattern, paths)
    diff = [(p, w, g) for p, w, g in zip(paths, want, got) if w != g]
    assert not diff, f"pattern {pattern!r}: (path, git, cfgfs) {diff}"


@pytest.mark.parametrize("pattern", ["[a", "a[", "[!", "[]", "x\\", "!x",
                                     "", "/", "[[:nope:]]"])
def test_bad_patterns_refused(pattern):
    proc = subprocess.run([PROBE, pattern, "x"], capture_output=True,
                          check=False)
    assert proc.returncode == 2
    assert b"glob" in proc.stderr
