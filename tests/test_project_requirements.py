"""The run says once which packages the migrated code needs and the project does not declare."""
import subprocess

import pytest

from tests.test_cli import UNSAFE, run_main
from unfake_async.project_requirements import added_imports, declared_packages, missing_requirements

NOTE = "The migrated code imports aiohttp>=3.10, which this project does not declare"


def test_added_imports_are_the_new_top_level_libraries_only():
    before = "import requests\nimport httpx\n"
    after = "import asyncio\nimport aiohttp\nimport httpx\nfrom httpx2 import AsyncClient\n"
    assert added_imports(before, after) == ("aiohttp", "httpx2")
    assert added_imports(after, after) == ()


@pytest.mark.parametrize("files", [
    {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["requests", "AioHTTP >= 3.11"]\n'},
    {"pyproject.toml": '[project]\nname = "x"\n[project.optional-dependencies]\nweb = ["aiohttp[speedups]"]\n'},
    {"pyproject.toml": '[dependency-groups]\ndev = ["aiohttp"]\n'},
    {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.9"\naiohttp = "^3.10"\n'},
    {"pyproject.toml": '[tool.poetry.group.web.dependencies]\naiohttp = "*"\n'},
    {"requirements.txt": "# web\nrequests==2.32.0\naiohttp==3.11.0 ; python_version >= '3.9'\n"},
    {"requirements/base.txt": "-r other.txt\naiohttp\n"},
    {"setup.cfg": "[options]\ninstall_requires =\n    requests\n    aiohttp>=3.10\n"},
    {"setup.py": 'setup(name="x", install_requires=["requests", "aiohttp>=3.10"])\n'},
])
def test_every_usual_place_declares_a_dependency(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert "aiohttp" in declared_packages(str(tmp_path))
    assert missing_requirements(["aiohttp", "httpx"], str(tmp_path)) == ["httpx>=0.27"]


def test_nothing_declared_anywhere_means_missing(tmp_path):
    (tmp_path / "requirements.txt").write_text("# aiohttp is not a requirement here\nrequests\n")
    assert missing_requirements(["aiohttp"], str(tmp_path)) == ["aiohttp>=3.10"]
    assert missing_requirements([], str(tmp_path)) == []


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Two files to migrate in a project that declares requests and httpx, not aiohttp."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["requests", "httpx"]\n')
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(UNSAFE)
    return tmp_path


def test_diff_names_the_missing_dependency_once_in_its_head_and_once_in_the_summary(project, capsys):
    code, out, err = run_main(capsys, ".", "--diff", "--unsafe-fixes", "--no-cache")
    assert code == 1
    assert out.count(NOTE) == 1 and out.startswith("# " + NOTE)
    assert out.index(NOTE) < out.index("--- ")
    assert err.count(NOTE) == 1
    # The head is ignored by patch tools: the diff still applies.
    (project / "fix.diff").write_text(out)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "apply", "fix.diff"], cwd=project, check=True)
    assert "import aiohttp" in (project / "a.py").read_text()


def test_fix_says_it_once(project, capsys):
    code, out, _ = run_main(capsys, ".", "--fix", "--unsafe-fixes", "--no-cache")
    assert code == 0 and out.count(NOTE) == 1
    code, out, _ = run_main(capsys, ".", "--fix", "--unsafe-fixes", "--no-cache")
    assert NOTE not in out  # nothing migrated this time


def test_no_note_when_declared_or_not_needed(project, capsys):
    code, out, err = run_main(capsys, ".", "--diff", "--unsafe-fixes", "--no-cache", "--transport", "httpx")
    assert code == 1 and "does not declare" not in out + err
    (project / "requirements.txt").write_text("aiohttp>=3.10\n")
    code, out, err = run_main(capsys, ".", "--diff", "--unsafe-fixes", "--no-cache")
    assert code == 1 and "does not declare" not in out + err
    code, out, err = run_main(capsys, ".", "--no-cache")  # a check run migrates nothing
    assert "does not declare" not in out + err


def test_the_client_module_the_fix_creates_counts(project, capsys):
    """In a package, the migrated files import the project's `_http_client.py` only; the module
    they need imports aiohttp for its transport, and the note says so."""
    package = project / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("a.py", "b.py"):
        (project / name).rename(package / name)
    code, out, err = run_main(capsys, ".", "--fix", "--unsafe-fixes", "--no-cache")
    assert code == 0 and (package / "_http_client.py").exists()
    assert "import aiohttp" not in (package / "a.py").read_text()
    assert out.count(NOTE) == 1
