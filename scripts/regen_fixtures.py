"""Regenerate fixtures/*/after.py and expected.txt from before.py with the current codemod.

A case folder may hold other modules beside before.py (with an `__init__.py` it is a package):
before.py sees their helpers and re-exports as a run over the folder would; they are not fixed.

Usage: scripts/regen_fixtures.py [CASE ...]   (no case: all of them)

Run after a deliberate change to the rewrite, then review `git diff fixtures/` line by line:
the fixtures are the specification, this script only saves typing.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tests.support.fixture_project import fixture_facts  # noqa: E402
from tests.support.fixture_settings import fixture_settings  # noqa: E402
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


if __name__ == "__main__":
    main()
