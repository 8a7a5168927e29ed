"""Reading source files faithfully and writing fixes back atomically.

A file is decoded the way Python itself would (UTF-8 BOM, PEP 263 coding cookie), its newline
style is remembered, and a fix is written back with the same encoding, BOM, newlines and mode.
Writes go to a temporary file in the same directory and are renamed over the original only if the
original is still exactly what was read (inode, mtime, size and content hash, checked under an
advisory lock), so an editor save or a second `--fix` run in between is never overwritten and no
reader ever sees a half-written file.
"""
from __future__ import annotations

import codecs
import functools
import hashlib
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass, field
from typing import Optional

try:  # POSIX only; elsewhere the inode/mtime/hash check alone guards the rename.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class FileSkipped(Exception):
    """The file is deliberately not processed (too large, binary, not a regular file); the
    message says why. The runner still reports it as an error: it was not checked."""


class FileError(Exception):
    """The file could not be read, decoded or written; the message is one line for the user."""


@dataclass(frozen=True)
class SourceFile:
    """A decoded source text plus everything needed to write it back byte-faithfully."""

    text: str  # newlines normalised to "\n" when the file used one style throughout
    encoding: str  # codec name as tokenize reports it ("utf-8", "utf-8-sig", "iso-8859-1", ...)
    newline: str  # the style to restore on write: "\n", "\r\n" or "\r"
    data: bytes = field(repr=False, compare=False)  # the raw bytes as read
    # Identity of the file as read, compared again just before a write. None for stdin.
    device: Optional[int] = None
    inode: Optional[int] = None
    mtime_ns: Optional[int] = None
    size: Optional[int] = None
    mode: Optional[int] = None

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of the raw bytes as read. Computed on first use: only files that pass the
        prefilter need it (cache key, unchanged-on-disk check), and hashing every file was a
        quarter of the read time."""
        return digest_bytes(self.data)


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_source(data: bytes) -> SourceFile:
    """Decode raw bytes as Python would; raise FileSkipped/FileError with a one-line reason."""
    text, encoding, newline = _decode(data)
    return SourceFile(text=text, encoding=encoding, newline=newline, data=data)


def _decode(data: bytes) -> "tuple[str, str, str]":
    if b"\x00" in data:
        raise FileSkipped("binary file (contains NUL bytes)")
    encoding = _declared_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-8"):
            raise FileError(_not_utf8(exc))
        raise FileError(f"cannot decode as {encoding} (byte {exc.start})")
    except LookupError:
        raise FileError(f"unknown encoding {encoding!r} in coding cookie")
    text, newline = _normalise_newlines(text)
    return text, encoding, newline


def _declared_encoding(data: bytes) -> str:
    """The encoding tokenize.detect_encoding finds (raising FileError where it fails).

    Without a BOM and without "coding" in the first two lines it can only say UTF-8, or fail
    on a first line that is not UTF-8, which decoding the whole text then reports the same way;
    asking it only otherwise spares a BytesIO and a regex per file."""
    second_line_end = data.find(b"\n", data.find(b"\n") + 1)
    head = data if second_line_end < 0 else data[:second_line_end]
    if b"coding" not in head and not data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # bad cookie, a cookie contradicting the BOM, or non-UTF-8 bytes
        if "unknown encoding" not in exc.msg:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise FileError(_not_utf8(bad))
        raise FileError(f"cannot determine encoding: {exc.msg}")
    return encoding


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 (byte {exc.start}) and no coding cookie declares another encoding"


def _normalise_newlines(text: str) -> "tuple[str, str]":
    """Turn a single-style "\\r\\n" or "\\r" text into "\\n" and say which style to restore.

    Mixed styles are left exactly as they are (restoring "\\n"), so lines the fix does not touch
    keep their bytes.
    """
    if "\r" not in text:
        return text, "\n"
    crlf = text.count("\r\n")
    lone_cr = text.count("\r") - crlf
    lone_lf = text.count("\n") - crlf
    if crlf and not lone_cr and not lone_lf:
        return text.replace("\r\n", "\n"), "\r\n"
    if lone_cr and not crlf and not lone_lf:
        return text.replace("\r", "\n"), "\r"
    return text, "\n"


def encode_source(text: str, source: SourceFile) -> bytes:
    """Encode `text` back with the encoding, BOM and newline style of `source`."""
    if source.newline != "\n":
        text = text.replace("\n", source.newline)
    try:
        return text.encode(source.encoding)
    except UnicodeEncodeError as exc:
        raise FileError(
            f"the fixed text has {exc.object[exc.start:exc.end]!r}, which {source.encoding} "
            "cannot encode"
        )


def read_source(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile:
    """Read and decode one file; raise FileSkipped or FileError with a one-line reason."""
    try:
        # O_NONBLOCK: opening a FIFO named `x.py` must not wait forever for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FileSkipped("not a regular file")
            if info.st_size > max_bytes:
                raise FileSkipped(
                    f"file too large ({info.st_size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB limit)"
                )
            data = _read_to_end(fd, info.st_size, max_bytes + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}")
    if len(data) > max_bytes:  # grew since fstat
        raise FileSkipped(f"file too large (over the {max_bytes / 1e6:.0f} MB limit)")
    text, encoding, newline = _decode(data)
    return SourceFile(
        text=text,
        encoding=encoding,
        newline=newline,
        data=data,
        device=info.st_dev,
        inode=info.st_ino,
        mtime_ns=info.st_mtime_ns,
        size=info.st_size,
        mode=stat.S_IMODE(info.st_mode),
    )


def _read_to_end(fd: int, expected: int, limit: int) -> bytes:
    """Up to `limit` bytes, to the end of the file. The first read asks for the size fstat
    reported (plus one, to see growth), not for the limit: a buffered read(limit) allocates
    10 MB per file, which was a third of the time spent reading Django."""
    chunks = []
    total = 0
    size = min(expected + 1, limit)
    while total < limit:
        chunk = os.read(fd, min(size, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        size = 1 << 16
    return b"".join(chunks)


def write_source(path: str, text: str, source: SourceFile) -> None:
    """Atomically replace `path` with `text`, only if it is still the file `source` was read from.

    Raises FileError (file left untouched) when it changed on disk or cannot be written.
    """
    data = encode_source(text, source)
    target = os.path.realpath(path)  # replace the file a symlink points at, not the link
    fd, temp_path = _temp_file_beside(target)
    try:
        _write_and_sync(fd, data)
        if source.mode is not None:
            os.chmod(temp_path, source.mode)
        _replace_if_unchanged(target, temp_path, source)
    except BaseException:
        _remove_quietly(temp_path)
        raise


def create_file(path: str, text: str) -> bool:
    """Write a new file atomically: readers see all of `text` or no file. False (and nothing
    written) when `path` exists already, e.g. created by another run meanwhile; FileError when
    it cannot be written. UTF-8, `\n` newlines, mode from the umask like any new file."""
    fd, temp_path = _temp_file_beside(os.path.abspath(path))
    try:
        _write_and_sync(fd, text.encode("utf-8"))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)
        # link() fails when the name exists: unlike rename(), it never replaces a file.
        try:
            os.link(temp_path, path)
        except FileExistsError:
            raise
        except OSError:
            # A file system without hard links: exclusive creation, then the bytes.
            with open(path, "xb") as handle:
                handle.write(text.encode("utf-8"))
    except FileExistsError:
        return False
    except OSError as exc:
        raise FileError(f"cannot create {path}: {exc.strerror or exc}")
    finally:
        _remove_quietly(temp_path)
    return True


def _temp_file_beside(target: str):
    """(fd, path) of a new temporary file in `target`'s folder, named after it (hidden, with the
    `.unfake-tmp` suffix), so that a rename or link to `target` stays on one file system."""
    directory = os.path.dirname(target)
    try:
        return tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(target) + ".",
                                suffix=".unfake-tmp")
    except OSError as exc:
        raise FileError(f"cannot write to {directory}: {exc.strerror or exc}")


def _write_and_sync(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_if_unchanged(target: str, temp_path: str, source: SourceFile) -> None:
    try:
        handle = open(target, "rb")
    except OSError as exc:
        raise FileError(f"cannot reopen for writing: {exc.strerror or exc}")
    with handle:
        if fcntl is not None:
            # Serialises the check-and-rename against another unfake-async run on the same file.
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        opened = os.fstat(handle.fileno())
        try:
            current = os.stat(target)
        except OSError:
            current = None
        same_file = (
            current is not None
            and (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)
            and (opened.st_dev, opened.st_ino) == (source.device, source.inode)
            and opened.st_mtime_ns == source.mtime_ns
            and opened.st_size == source.size
        )
        if not same_file or digest_bytes(handle.read()) != source.digest:
            raise FileError("changed on disk since it was read; not overwritten (run again)")
        try:
            _copy_owner(opened, temp_path)
            os.replace(temp_path, target)
        except OSError as exc:
            raise FileError(f"cannot replace file: {exc.strerror or exc}")


def _copy_owner(info: os.stat_result, temp_path: str) -> None:
    if hasattr(os, "chown"):
        try:
            os.chown(temp_path, info.st_uid, info.st_gid)
        except OSError:
            pass  # not permitted for non-root users unless already the owner: keep ours


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
