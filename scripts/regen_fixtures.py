"""Regenerate fixtures/*/after.py and expected.txt from before.py with the current codemod.

A case folder may hold other modules beside before.py (with an `__init__.py` it is a package):
before.py sees their helpers and re-exports as a run over the folder would; they are not fixed.

Usage: scripts/regen_fixtures.py [CASE ...]   (no case: all of them)

A package case (`before/` is a tree, see tests/support/package_fixtures.py) gets its `after/`
tree from a `--fix --unsafe-fixes` run over a copy of `before/`.

Run after a deliberate change to the rewrite, then review `git diff fixtures/` line by line:
the fixtures are the specification, this script only saves typing.
"""
import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tests.support.fixture_project import fixture_facts  # noqa: E402
from tests.support.fixture_settings import fixture_settings  # noqa: E402
from tests.support import package_fixtures  # noqa: E402
from unfake_async.codemod import FixLevel, analyze_source  # noqa: E402


def main() -> None:
    root = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
    wanted = set(sys.argv[1:])  # case names; none = all
    for case in sorted(p for p in root.iterdir() if (p / "before.py").exists()):
        if wanted and case.name not in wanted:
            continue
        before = (case / "before.py").read_text()
        result = analyze_source(before, path=str(case / "before.py"), settings=fixture_settings(case),
                                fix_level=FixLevel.UNSAFE, project=fixture_facts(case, "before.py", before))
        (case / "after.py").write_text(result.fixed_source or before)
        lines = [
            f"{f.line}:{f.col} {f.rule_id} fix={f.fix.value}" + (f" reason={f.reason}" if f.fix.value == "none" else "")
            for f in result.findings
        ]
        (case / "expected.txt").write_text("".join(line + "\n" for line in lines))
        print(f"{case.name}: {len(result.findings)} findings, {'changed' if result.fixed_source else 'unchanged'}")
    for name in package_fixtures.package_cases():
        if wanted and name not in wanted:
            continue
        with tempfile.TemporaryDirectory() as temp:
            tree = package_fixtures.copy_before(name, pathlib.Path(temp) / "tree")
            result = package_fixtures.migrate(tree, package_fixtures.case_settings(name))
            shutil.rmtree(root / name / "after", ignore_errors=True)
            shutil.copytree(tree, root / name / "after", ignore=shutil.ignore_patterns("__pycache__"))
        fixed = sum(r.fixed_count for r in result.reports)
        print(f"{name}: {fixed} fixed in {sum(r.changed for r in result.reports)} files, "
              f"{len(result.created)} created")


if __name__ == "__main__":
    main()
