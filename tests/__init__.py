"""Test package (importable so tests can share `tests.support`)."""
