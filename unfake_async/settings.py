"""Settings that shape detection and the generated code.

Defaults live here; `[tool.unfake-async]` in pyproject.toml and command-line flags override them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

# Thread-offload helpers recognised out of the box, as qualified names of the callable that takes
# a sync function (and its arguments) and runs it in a worker thread. The value says where the
# function argument sits and how the helper passes arguments on.
#   "call":      helper(func, *args, **kwargs)   keywords go to func, e.g. asyncio.to_thread
#   "call-args": helper(func, *args, **options)  keywords belong to the helper, e.g. anyio
#   "wrap":      helper(func)(*args, **kwargs)   e.g. asgiref's sync_to_async
DEFAULT_OFFLOAD_HELPERS = {
    "asyncio.to_thread": "call",
    "anyio.to_thread.run_sync": "call-args",
    "starlette.concurrency.run_in_threadpool": "call",
    "fastapi.concurrency.run_in_threadpool": "call",
    "asgiref.sync.sync_to_async": "wrap",
    "asyncer.asyncify": "wrap",
}

# Method names that take (func, *args) and run func in an executor, matched on any object, since
# the receiver is a framework object we cannot resolve statically (Home Assistant's `hass`).
DEFAULT_OFFLOAD_METHODS = ("async_add_executor_job",)

TIMEOUT_POLICIES = ("preserve", "httpx-default")
# The generated client's library and transport; docs/performance.md has the measurements behind
# the defaults.
TARGETS = ("httpx", "httpx2")
TRANSPORTS = ("aiohttp", "httpx")
# "default" was a transport name before the aiohttp transport became the default; configs that
# still say it get today's default rather than an error.
TRANSPORT_ALIASES = {"default": "aiohttp"}


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one run."""

    # Generated names.
    client_attribute: str = "_client"
    client_getter: str = "_get_client"
    module_client_function: str = "_http_client"
    module_close_function: str = "aclose_http_client"
    # "preserve": timeout=None like requests (no timeout at all); "httpx-default": httpx's 5 s;
    # a number: that many seconds.
    timeout: Union[str, float] = "preserve"
    # Keep a removed ThreadPoolExecutor's max_workers as the client's connection limit.
    keep_concurrency_cap: bool = False
    target: str = "httpx"
    # "aiohttp": a generated transport on aiohttp's connection pool (fastest; needs aiohttp);
    # "httpx": the target's own connection pools, split in small pools behind a semaphore.
    transport: str = "aiohttp"
    # Where module-level code gets its client (migrate/client_source.py): "auto" (one
    # `_http_client.py` in the top-level package of the migrated file; a file outside any package
    # keeps a client of its own), "inline" (every module its own client), or the path of the
    # project's client module.
    client_module: str = "auto"
    # Bring your own client: "pkg.http:get_client", an accessor that returns an httpx.AsyncClient;
    # the migration calls it and writes no client code.
    client: Optional[str] = None
    offload_helpers: Tuple[Tuple[str, str], ...] = tuple(DEFAULT_OFFLOAD_HELPERS.items())
    offload_methods: Tuple[str, ...] = DEFAULT_OFFLOAD_METHODS
    # The project's line length ([tool.ruff] / [tool.black] line-length, else black's and ruff's
    # 88): rewritten statements longer than this are wrapped.
    line_length: int = 88
    select: Tuple[str, ...] = ("UFA",)
    ignore: Tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def rule_enabled(self, rule_id: str) -> bool:
        def matches(prefixes: Tuple[str, ...]) -> Optional[int]:
            lengths = [len(p) for p in prefixes if rule_id.startswith(p)]
            return max(lengths) if lengths else None

        selected, ignored = matches(self.select), matches(self.ignore)
        if selected is None:
            return False
        return ignored is None or selected > ignored


DEFAULT_SETTINGS = Settings()
