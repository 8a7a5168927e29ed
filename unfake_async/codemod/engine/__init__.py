"""The engine: files in, results out. Discovery, reading and writing, the cache, the prefilter,
the worker processes and the pass protocol; nothing here knows what an HTTP call looks like
beyond the prefilter's import patterns. Imports nothing from the layers above it."""
