"""unfake-async: find fake-async HTTP code and migrate it to real async I/O."""

__version__ = "0.1.0"
