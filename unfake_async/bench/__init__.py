"""Before/after performance checks: `unfake-async bench`.

A local server with fixed latency in its own process (`server`), one fresh worker process per
measured row (`worker`, driven by `runner`), the built-in seed scenario and the user's own modules
(`scenario`), and the report (`report`). The command line is `command.bench_main`.
"""
