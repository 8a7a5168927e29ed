"""`python -m unfake_async`: the same command line as the `unfake-async` script."""
import os
import sys

# `python -m` puts the current directory first on sys.path, so a scanned project's own `rich.py`
# or `httpx.py` would be imported (and run) instead of the library. The tool must never execute
# the code it scans: drop that entry, as the console script never has it. (This package itself
# is already imported by now, wherever it was found.)
if sys.path and sys.path[0] and os.path.abspath(sys.path[0]) == os.getcwd():
    del sys.path[0]

from unfake_async.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
