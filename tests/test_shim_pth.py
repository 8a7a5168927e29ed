"""`UNFAKE_ASYNC_SHIM=...` alone turns the shim on, through the .pth file the wheel installs.

Fast tests exec the .pth line itself in a subprocess, as `site` does; one test builds the wheel,
installs it (no dependencies: the shim needs only the standard library) into a fresh venv and
runs `python -I` there with and without the variable.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PTH_SOURCE = os.path.join(ROOT, "unfake_async", "shim", "_bootstrap", "unfake_async_shim.pth")
PTH_NAME = "unfake_async_shim.pth"

BLOCKING_APP = textwrap.dedent("""\
    import asyncio, sys, time

    async def handler():
        time.sleep(0.001)

    asyncio.run(handler())
    print("shim imported:", "unfake_async" in sys.modules)
""")


def pth_line() -> str:
    (line,) = [line for line in open(PTH_SOURCE).read().splitlines() if line.strip()]
    assert line.startswith("import ")  # site.py executes only lines that start with "import"
    return line


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNFAKE_ASYNC_SHIM")}
    env.update(extra)
    return env


def run_python(args, env, python=sys.executable, cwd=None):
    return subprocess.run([python, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def exec_pth_then(code: str, env: dict, cwd):
    """Run the .pth line the way site.py does (exec), then `code`, under `python -S` so the
    installed copy of the .pth does not run first."""
    program = f"exec({pth_line()!r})\n{code}"
    return run_python(["-S", "-c", program], env, cwd=str(cwd))


def test_pth_line_does_nothing_without_the_variable(tmp_path):
    done = exec_pth_then("import sys; print(sorted(m for m in sys.modules "
                         "if m.startswith('unfake_async')))", clean_env(PYTHONPATH=ROOT),
                         tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]" and done.stderr == ""


def test_pth_line_turns_the_shim_on_with_the_variable(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(BLOCKING_APP)
    code = f"import runpy; runpy.run_path({str(app)!r}, run_name='__main__')"
    done = exec_pth_then(code, clean_env(PYTHONPATH=ROOT, UNFAKE_ASYNC_SHIM="warn"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "shim imported: True" in done.stdout
    assert "UFA010 blocking call on the event loop: time.sleep(0.001)" in done.stderr
    assert "app.py:4 in handler" in done.stderr  # the warning and the summary at exit


def test_pth_line_never_fails_the_interpreter_start(tmp_path):
    broken = tmp_path / "unfake_async"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('broken install')\n")
    done = exec_pth_then("print('started')", clean_env(PYTHONPATH=str(tmp_path),
                                                       UNFAKE_ASYNC_SHIM="warn"), tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "started"
    assert "unfake-async: shim not active: ImportError('broken install')" in done.stderr


def test_wheel_contents_declare_the_pth():
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    assert f'"unfake_async/shim/_bootstrap/{PTH_NAME}" = "{PTH_NAME}"' in text


def build_wheel(out_dir) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(out_dir), ROOT],
        capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0 and "hatchling" in done.stderr:
        pytest.skip("hatchling is not installed (pip install -e '.[test]')")
    assert done.returncode == 0, done.stderr
    (wheel,) = [os.path.join(out_dir, n) for n in os.listdir(out_dir) if n.endswith(".whl")]
    return wheel


def test_fresh_venv_from_the_wheel(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    assert PTH_NAME in zipfile.ZipFile(wheel).namelist()  # at the root of site-packages

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = str(env_dir / ("Scripts" if os.name == "nt" else "bin") / "python")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "-q", wheel], capture_output=True, text=True, timeout=120,
    )
    assert installed.returncode == 0, installed.stderr
    app = tmp_path / "app.py"
    app.write_text(BLOCKING_APP)
    elsewhere = str(tmp_path)  # not the source tree: the installed copy must be the one used

    off = run_python(["-I", str(app)], clean_env(), python, cwd=elsewhere)
    assert off.returncode == 0, off.stderr
    assert "shim imported: False" in off.stdout and off.stderr == ""

    on = run_python(["-I", str(app)], clean_env(UNFAKE_ASYNC_SHIM="warn"), python, cwd=elsewhere)
    assert on.returncode == 0, on.stderr
    assert "shim imported: True" in on.stdout
    assert "UFA010 blocking call on the event loop: time.sleep(0.001) at " in on.stderr
    where = run_python(["-I", "-c", "import unfake_async; print(unfake_async.__file__)"],
                       clean_env(UNFAKE_ASYNC_SHIM="record"), python, cwd=elsewhere)
    assert where.stdout.startswith(str(env_dir))

    lag = run_python(
        ["-I", "-c", "import asyncio, time\n"
                     "async def crunch():\n"
                     "    await asyncio.sleep(0.05)\n"
                     "    end = time.thread_time() + 0.3\n"
                     "    while time.thread_time() < end: pass\n"
                     "    await asyncio.sleep(0.05)\n"
                     "asyncio.run(crunch())\n"],
        clean_env(UNFAKE_ASYNC_SHIM="log", UNFAKE_ASYNC_SHIM_WATCHDOG="100"), python,
        cwd=elsewhere,
    )
    assert lag.returncode == 0, lag.stderr
    assert "UFA011 event loop blocked for " in lag.stderr and "<string>:5 in crunch" in lag.stderr
