"""Lines added per migrated module, a client per module ("inline") vs one project module ("auto").

Usage: scripts/client_lines.py

The one-file fixtures' before.py files become the modules of one package in a temporary
directory, which `unfake-async --fix --unsafe-fixes` migrates twice, once per client-module
setting. Prints, for each, the migrated modules, the lines they gained (added minus removed,
per difflib) and the new files the run created.
"""
import dataclasses
import difflib
import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tests.support import package_fixtures as pf  # noqa: E402
from unfake_async.settings import Settings  # noqa: E402


def measure(client_module: str) -> str:
    with tempfile.TemporaryDirectory() as temp:
        package = pathlib.Path(temp) / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        for case in sorted(pf.FIXTURES.iterdir()):
            if (case / "before.py").exists():
                shutil.copy(case / "before.py", package / f"{case.name}.py")
        before = pf.tree_texts(package)
        result = pf.migrate(package.parent, dataclasses.replace(Settings(), client_module=client_module))
        after = pf.tree_texts(package)
        changed = [name for name in before if before[name] != after[name]]
        added = removed = 0
        for name in changed:
            for line in difflib.unified_diff(before[name].splitlines(), after[name].splitlines(), lineterm="", n=0):
                if line.startswith("+") and not line.startswith("+++"):
                    added += 1
                elif line.startswith("-") and not line.startswith("---"):
                    removed += 1
        created = {str(pathlib.Path(new.path).name): len(new.text.splitlines()) for new in result.created}
        return (f"client-module={client_module!r}: {len(changed)} modules migrated, +{added} -{removed} lines "
                f"({(added - removed) / len(changed):.1f} net lines per module), "
                f"created {created or 'nothing'}")


if __name__ == "__main__":
    for setting in ("inline", "auto"):
        print(measure(setting))
