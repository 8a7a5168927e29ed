"""Which files a run looks at: walking, default and user excludes, .gitignore, symlinks."""
import os

import pytest

from unfake_async.codemod.engine import discovery
from unfake_async.codemod.engine.discovery import DiscoveryOptions, discover
from unfake_async.codemod.engine.exclude_spec import ExcludeSpec


def make(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def found(tmp_path, paths=None, **options):
    options.setdefault("root", str(tmp_path))
    result = discover([str(p) for p in (paths or [tmp_path])], DiscoveryOptions(**options))
    rel = sorted(os.path.relpath(f, tmp_path) for f in result.files)
    return rel, result


def test_walks_py_and_pyi_and_skips_non_source_directories(tmp_path):
    make(tmp_path, "a.py", "pkg/b.pyi", "pkg/c.txt", "pkg/d.pyc", ".git/hooks/x.py",
         "node_modules/m.py", "build/lib/b.py", "dist/d.py", "pkg/__pycache__/c.py",
         "lib/site-packages/s.py", ".venv/lib/v.py", ".tox/t.py")
    make(tmp_path, "myenv/lib/python3.11/site.py", "myenv/pyvenv.cfg")  # a venv by any name
    rel, _ = found(tmp_path)
    assert rel == ["a.py", "pkg/b.pyi"]


def test_gitignore_is_honoured_with_nesting_and_negation(tmp_path):
    (tmp_path / ".git").mkdir()
    make(tmp_path, "keep.py", "gen/out.py", "src/a.py", "src/b_pb2.py", "src/keep_pb2.py")
    (tmp_path / ".gitignore").write_text("gen/\n*_pb2.py\n")
    (tmp_path / "src" / ".gitignore").write_text("!keep_pb2.py\n")
    rel, _ = found(tmp_path)
    assert rel == ["keep.py", "src/a.py", "src/keep_pb2.py"]
    rel, _ = found(tmp_path, respect_gitignore=False)
    assert "gen/out.py" in rel and "src/b_pb2.py" in rel


def test_gitignore_of_the_repository_applies_when_a_subdirectory_is_given(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated_*.py\n")
    make(tmp_path, "src/generated_api.py", "src/api.py")
    rel, _ = found(tmp_path, [tmp_path / "src"])
    assert rel == ["src/api.py"]


def test_gitignore_above_an_unrelated_root_does_not_leak_in(tmp_path):
    (tmp_path / ".gitignore").write_text("*.py\n")  # not a repository: ignore it
    make(tmp_path, "project/a.py")
    rel, _ = found(tmp_path, [tmp_path / "project"], root=str(tmp_path / "project"))
    assert rel == ["project/a.py"]


def test_exclude_globs_use_gitignore_syntax_relative_to_the_root(tmp_path):
    make(tmp_path, "fixtures/x/after.py", "fixtures/x/before.py", "tests/data/t.py", "a/tests/data/u.py")
    rel, _ = found(tmp_path, excludes=discovery.DEFAULT_EXCLUDES + ("after.py", "/tests/data"))
    assert rel == ["a/tests/data/u.py", "fixtures/x/before.py"]


def test_explicit_files_are_checked_unless_force_exclude(tmp_path):
    make(tmp_path, "build/gen.py", "script")
    explicit = [tmp_path / "build" / "gen.py", tmp_path / "script"]
    rel, _ = found(tmp_path, explicit)
    assert rel == ["build/gen.py", "script"]
    rel, result = found(tmp_path, explicit, force_exclude=True)
    assert rel == ["script"]
    assert result.skipped == [] and result.errors == []


def test_missing_path_is_an_error(tmp_path):
    _, result = found(tmp_path, [tmp_path / "nope.py"])
    assert result.errors == [(str(tmp_path / "nope.py"), "no such file or directory")]


def test_symlinks_outside_the_roots_broken_or_looping_are_errors(tmp_path):
    outside = tmp_path / "outside"
    make(outside, "secret.py", "lib/deep.py")
    root = tmp_path / "proj"
    make(root, "a.py")
    (root / "to_file.py").symlink_to(outside / "secret.py")
    (root / "to_dir").symlink_to(outside / "lib")
    (root / "broken.py").symlink_to(root / "gone.py")
    (root / "loop1.py").symlink_to(root / "loop2.py")
    (root / "loop2.py").symlink_to(root / "loop1.py")
    (root / "inner.py").symlink_to(root / "a.py")  # inside: de-duplicated with a.py
    (root / "notes.txt").symlink_to(root / "gone.txt")  # not source: nobody asked about it
    (root / "skip_me.py").symlink_to(root / "gone.py")
    rel, result = found(tmp_path, [root], excludes=("skip_me.py",))
    assert rel == ["proj/a.py"]
    assert result.skipped == []
    reasons = {os.path.basename(p): r for p, r in result.errors}
    assert set(reasons) == {"to_file.py", "to_dir", "broken.py", "loop1.py", "loop2.py"}
    assert reasons["to_file.py"].startswith("symlink points outside the given paths; not followed")
    assert reasons["to_dir"].startswith("symlink points outside")
    assert reasons["broken.py"] == "broken symlink; not checked"
    assert reasons["loop1.py"] == "symlink loop; not checked"


def test_directory_symlink_loop_does_not_hang(tmp_path):
    make(tmp_path, "pkg/a.py")
    (tmp_path / "pkg" / "again").symlink_to(tmp_path / "pkg")
    rel, _ = found(tmp_path)
    assert rel == ["pkg/a.py"]


def test_unreadable_directory_is_an_error_and_the_walk_goes_on(tmp_path, monkeypatch):
    make(tmp_path, "locked/a.py", "open/b.py")
    real_scandir = os.scandir

    def scandir(path):  # root ignores permissions, so simulate what chmod 000 does to others
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", scandir)
    rel, result = found(tmp_path)
    assert rel == ["open/b.py"]
    assert result.errors == [
        (str(tmp_path / "locked"), "cannot read directory: Permission denied; not checked")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_chmod_000_directory_is_an_error(tmp_path):
    make(tmp_path, "locked/a.py", "b.py")
    os.chmod(tmp_path / "locked", 0)
    try:
        rel, result = found(tmp_path)
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    assert rel == ["b.py"]
    assert result.errors[0][1].startswith("cannot read directory")


def test_is_excluded_for_stdin_filenames(tmp_path):
    options = DiscoveryOptions(excludes=("migrations/",), root=str(tmp_path))
    assert discovery.is_excluded(str(tmp_path / "app/migrations/0001.py"), options)
    assert not discovery.is_excluded(str(tmp_path / "app/models.py"), options)


def test_an_excluded_directory_named_explicitly_is_walked_with_excludes_below_it(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text(".venv/\n")
    make(tmp_path, ".venv/lib/site-packages/pkg/mod.py", ".venv/lib/site-packages/pkg/__pycache__/m.py",
         ".venv/lib/site-packages/pkg/build/b.py", "src/a.py")
    rel, _ = found(tmp_path, [tmp_path / ".venv" / "lib" / "site-packages"])
    assert rel == [".venv/lib/site-packages/pkg/mod.py"]
    rel, _ = found(tmp_path)
    assert rel == ["src/a.py"]


def test_invalid_gitignore_line_is_skipped_like_git_does(tmp_path):
    """black's own test data has a .gitignore with a lone `!`: pathspec raises on it, git ignores
    the line. The run must go on, and the file's valid patterns still apply."""
    make(tmp_path, "keep.py", "skip.py")
    (tmp_path / ".gitignore").write_text("!\nskip.py\n")
    rel, result = found(tmp_path)
    assert rel == ["keep.py"] and result.errors == []


EXCLUDE_SETS = [
    discovery.DEFAULT_EXCLUDES,
    discovery.DEFAULT_EXCLUDES + ("tests/asgi/tests.py", "/pkg", "docs/", "*.pyi", "a/**/b"),
    discovery.DEFAULT_EXCLUDES + ("!build",),  # a negation: the whole spec decides, in order
    ("build", "!build/keep", "keep"),
    ("a.b", "...", ".", "..", "#build", " build", "build ", "\\!x", "x\\ y", "-", "_"),
]
CANDIDATES = [
    "build", "build/", "a/build", "a/build/", "a/build/x.py", "abuild/x.py", "build.py", "x/build.py/",
    "a/b", "a/x/b/", "pkg", "pkg/x.py", "q/pkg/x.py", "docs", "docs/", "a.b/c", "axb/c", "...", ".",
    "./", "./build", "/build", "//build", "a//build/x", "a/./build", "x\nbuild/y", "x\n/build",
    "build\n", " build", "build ", "!x", "x y", "-", "_/", "tests/asgi/tests.py", "t/tests/asgi/tests.py",
    "build/keep", "build/keep/", "keep/x.py", "dir/site-packages/x.py", "node_modules/",
]


@pytest.mark.parametrize("excludes", EXCLUDE_SETS)
def test_the_exclude_fast_path_matches_exactly_what_pathspec_matches(excludes):
    fast = ExcludeSpec(excludes)
    spec = discovery.pathspec.GitIgnoreSpec.from_lines(excludes)
    assert {c: fast.match_file(c) for c in CANDIDATES} == {c: spec.match_file(c) for c in CANDIDATES}


def test_user_excludes_with_negation_and_slashes(tmp_path):
    make(tmp_path, "build/a.py", "src/build/b.py", "src/gen/c.py", "gen/d.py", "e.py")
    rel, _ = found(tmp_path, excludes=discovery.DEFAULT_EXCLUDES + ("!src/build/", "/gen"))
    assert rel == ["e.py", "src/build/b.py", "src/gen/c.py"]
    rel, _ = found(tmp_path, excludes=discovery.DEFAULT_EXCLUDES + ("src/gen", "!build"))
    assert rel == ["build/a.py", "e.py", "gen/d.py", "src/build/b.py"]


def test_gitignores_that_apply_depend_on_the_directory_named(tmp_path):
    """Walked once below `vendor` and once from `vendor/sub`: `vendor/.gitignore` applies only in
    the first walk, whatever the order (the per-directory memo must not carry it over)."""
    make(tmp_path, "vendor/sub/gen_a.py", "vendor/sub/b.py", "vendor/gen_c.py")
    (tmp_path / "vendor" / ".gitignore").write_text("gen_*.py\n")
    vendor, sub = tmp_path / "vendor", tmp_path / "vendor" / "sub"
    for paths in ([vendor, sub], [sub, vendor]):
        rel, _ = found(tmp_path, paths, excludes=("vendor",))
        assert rel == ["vendor/sub/b.py", "vendor/sub/gen_a.py"]


def test_a_virtualenv_is_walked_only_when_named_and_pyvenv_cfg_must_be_a_file(tmp_path):
    make(tmp_path, "env/pyvenv.cfg", "env/lib/a.py", "notenv/pyvenv.cfg/x", "notenv/b.py")
    rel, _ = found(tmp_path)
    assert rel == ["notenv/b.py"]
    rel, _ = found(tmp_path, [tmp_path / "env"])
    assert rel == ["env/lib/a.py"]
