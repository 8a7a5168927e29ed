"""The CI-matrix split documented in docs/performance.md ("Splitting a big tree across a CI
matrix"), run as written for 3 shards over a generated async monorepo: the shards partition
the files, and their findings together are exactly one whole run's."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from bench_generated import write_monorepo  # noqa: E402

SHARDS = 3
FINDING = re.compile(r"^(?:\./)?(\S+?\.py:\d+:\d+: UFA\d{3}\b.*)$", re.M)


def _recipe() -> str:
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    block = text.split("<!-- ci-split:begin -->", 1)[1].split("<!-- ci-split:end -->", 1)[0]
    return block.split("```sh", 1)[1].split("```", 1)[0]


def _run(command: str, tree: Path, shard: int) -> str:
    scripts = Path(sys.executable).parent  # the venv's unfake-async and python3
    env = dict(os.environ, SHARDS=str(SHARDS), SHARD=str(shard), UNFAKE_ASYNC_NO_CACHE="1",
               PATH=f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", "-c", "set -o pipefail\n" + command], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1, 123), done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("monorepo")
    size = write_monorepo(root, target_lines=3_000, fake_every=3)
    assert size["fake_files"] >= 3
    return root


def test_the_shards_partition_the_files(tree):
    listing = _recipe().split("| xargs", 1)[0]
    shards = [set(_run(listing, tree, shard).split()) for shard in range(SHARDS)]
    every = set(_run("unfake-async --show-files .", tree, 0).split())
    assert set().union(*shards) == every and sum(map(len, shards)) == len(every)
    assert all(shards), "every shard gets files on a tree of this size"


def test_the_shards_report_what_one_run_reports(tree):
    by_shard = [FINDING.findall(_run(_recipe(), tree, shard)) for shard in range(SHARDS)]
    whole = FINDING.findall(_run("unfake-async --check .", tree, 0))
    assert whole, "the generated tree holds fake async"
    reported = sorted(line for shard in by_shard for line in shard)
    assert reported == sorted(whole)
    assert sum(1 for shard in by_shard if shard) >= 2
