"""scripts/bench_shim.py runs end to end on a tiny workload (figures only: no speed assertion)."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_script_prints_every_variant():
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "bench_shim.py"),
         "--requests", "40", "--rounds", "1", "--concurrency", "4", "--idle-seconds", "0.2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.strip()}
    assert rows["none"][4:] == ["1.000", "1.000"]  # the baseline's own ratios
    assert "unfake-async" in rows and "unfake-async+watchdog" in rows
    assert "hot path, non-blocking socket.send on the loop:" in done.stdout
    assert "unfake-async findings during the runs: 0" in done.stdout
    assert "watchdog alone, loop idle: " in done.stdout
