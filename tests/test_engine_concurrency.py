"""Two `--fix` runs at once on the same tree never corrupt or half-write a file: every file ends
up either untouched or exactly as one run alone would fix it, and no temp file is left."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from unfake_async.rules import ALL_RULES

REPO = pathlib.Path(__file__).resolve().parent.parent

TEMPLATE = """\
import requests


async def fetch_{n}(url):
    try:
        return requests.get(url + "/{n}").json()
    except Exception:
        return None
"""


def fix(tree, *extra):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "unfake_async", str(tree), "--fix", "--no-cache", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.skipif(not ALL_RULES, reason="no UFA rules registered yet")
def test_concurrent_fix_runs_never_corrupt_files(tmp_path):
    originals = {f"m{n:02}.py": TEMPLATE.format(n=n) for n in range(8)}
    expected_tree = tmp_path / "expected"
    expected_tree.mkdir()
    for name, text in originals.items():
        (expected_tree / name).write_text(text)
    solo = fix(expected_tree, "-j", "1")
    assert solo.wait(timeout=120) == 0, solo.stderr.read()
    expected = {name: (expected_tree / name).read_text() for name in originals}
    assert all(expected[n] != originals[n] for n in originals)

    for round_number in range(1):
        tree = tmp_path / f"round{round_number}"
        tree.mkdir()
        for name, text in originals.items():
            (tree / name).write_text(text)
        runs = [fix(tree, "-j", "2"), fix(tree, "-j", "1")]
        outcomes = [(run.wait(timeout=180), run.stderr.read()) for run in runs]
        for code, err in outcomes:
            assert code in (0, 2), err
            for line in err.splitlines():
                if ": error: " in line:  # the loser of a race backs off, it never overwrites
                    assert "changed on disk since it was read; not overwritten" in line, line
        assert sorted(os.listdir(tree)) == sorted(originals)  # no temp files left
        for name in originals:
            assert (tree / name).read_text() in (expected[name], originals[name])
        # Whatever a race left behind, one more run completes the job.
        again = fix(tree)
        assert again.wait(timeout=120) == 0, again.stderr.read()
        assert {name: (tree / name).read_text() for name in originals} == expected
        shutil.rmtree(tree)
