"""Modules the built-in bench scenario measures. They are data read as text, not imported."""
