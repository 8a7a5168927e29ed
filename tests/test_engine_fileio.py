"""Reading and writing source files byte-faithfully, atomically, and never over a newer file."""
import os
import stat

import pytest

from unfake_async.codemod.engine import fileio


def roundtrip(tmp_path, raw: bytes, edit=lambda text: text.replace("old", "new")):
    path = tmp_path / "mod.py"
    path.write_bytes(raw)
    source = fileio.read_source(str(path))
    fileio.write_source(str(path), edit(source.text), source)
    return source, path.read_bytes()


def test_latin1_coding_cookie_is_honoured_and_kept(tmp_path):
    raw = "# -*- coding: latin-1 -*-\nname = 'café'  # old\n".encode("latin-1")
    source, written = roundtrip(tmp_path, raw)
    assert source.encoding == "iso-8859-1"
    assert "café" in source.text
    assert written == raw.replace(b"old", b"new")


def test_utf8_bom_is_kept(tmp_path):
    raw = b"\xef\xbb\xbfx = '\xc3\xa9'  # old\n"
    source, written = roundtrip(tmp_path, raw)
    assert not source.text.startswith("\ufeff")
    assert written == b"\xef\xbb\xbfx = '\xc3\xa9'  # new\n"


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_newline_style_is_kept_and_the_text_is_normalised(tmp_path, newline):
    raw = newline.join([b"a = 1", b"b = 'old'", b""])
    source, written = roundtrip(tmp_path, raw, lambda t: t.replace("old", "new\nc = 2"))
    assert "\r" not in source.text
    assert written == newline.join([b"a = 1", b"b = 'new", b"c = 2'", b""])


def test_mixed_newlines_are_left_alone(tmp_path):
    raw = b"a = 1\r\nb = 'old'\nc = 3\r\n"
    source, written = roundtrip(tmp_path, raw)
    assert written == b"a = 1\r\nb = 'new'\nc = 3\r\n"


def test_file_mode_is_kept(tmp_path):
    path = tmp_path / "tool.py"
    path.write_text("x = 'old'\n")
    os.chmod(path, 0o751)
    source = fileio.read_source(str(path))
    fileio.write_source(str(path), "x = 'new'\n", source)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o751
    assert path.read_text() == "x = 'new'\n"
    assert [p.name for p in tmp_path.iterdir()] == ["tool.py"]  # no temp file left behind


def test_write_through_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.py"
    target.write_text("x = 'old'\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    source = fileio.read_source(str(link))
    fileio.write_source(str(link), "x = 'new'\n", source)
    assert link.is_symlink()
    assert target.read_text() == "x = 'new'\n"


def test_non_utf8_without_cookie_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.py"
    path.write_bytes(b"x = '\xe9'\n")
    with pytest.raises(fileio.FileError, match="not valid UTF-8"):
        fileio.read_source(str(path))


def test_unknown_cookie_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.py"
    path.write_bytes(b"# coding: klingon\nx = 1\n")
    with pytest.raises(fileio.FileError, match="encoding"):
        fileio.read_source(str(path))


def test_binary_file_is_skipped(tmp_path):
    path = tmp_path / "blob.py"
    path.write_bytes(b"\x7fELF\x00\x01\x02")
    with pytest.raises(fileio.FileSkipped, match="binary"):
        fileio.read_source(str(path))


def test_huge_file_is_skipped_with_its_size(tmp_path):
    path = tmp_path / "huge.py"
    path.write_bytes(b"x = 1\n" * 2000)
    with pytest.raises(fileio.FileSkipped, match="too large"):
        fileio.read_source(str(path), max_bytes=1000)


def test_unreadable_path_is_an_error(tmp_path):
    with pytest.raises(fileio.FileError, match="cannot read"):
        fileio.read_source(str(tmp_path / "missing.py"))


def test_file_changed_on_disk_is_not_overwritten(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("x = 'old'\n")
    source = fileio.read_source(str(path))
    path.write_text("x = 'edited by someone else'\n")
    with pytest.raises(fileio.FileError, match="changed on disk"):
        fileio.write_source(str(path), "x = 'new'\n", source)
    assert path.read_text() == "x = 'edited by someone else'\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mod.py"]


def test_same_size_same_mtime_change_is_caught_by_the_hash(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("x = 'aaa'\n")
    source = fileio.read_source(str(path))
    info = os.stat(path)
    with open(path, "r+b") as handle:  # same inode, same size
        handle.write(b"x = 'bbb'\n")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the mtime put back
    with pytest.raises(fileio.FileError, match="changed on disk"):
        fileio.write_source(str(path), "x = 'new'\n", source)
    assert path.read_text() == "x = 'bbb'\n"


def test_replaced_file_is_not_overwritten(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("x = 'old'\n")
    source = fileio.read_source(str(path))
    other = tmp_path / "other"
    other.write_text("x = 'old'\n")  # identical bytes, but a different file now
    os.replace(other, path)
    with pytest.raises(fileio.FileError, match="changed on disk"):
        fileio.write_source(str(path), "x = 'new'\n", source)


def test_text_the_encoding_cannot_hold_is_an_error_and_the_file_is_untouched(tmp_path):
    raw = "# coding: latin-1\nx = 'old'\n".encode("latin-1")
    path = tmp_path / "mod.py"
    path.write_bytes(raw)
    source = fileio.read_source(str(path))
    with pytest.raises(fileio.FileError, match="cannot encode"):
        fileio.write_source(str(path), "# coding: latin-1\nx = '\u2603'\n", source)
    assert path.read_bytes() == raw


def _decoded_through_tokenize(data: bytes):
    """What decode_source did before its UTF-8 fast path: always ask tokenize."""
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" not in exc.msg:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                return ("error", fileio._not_utf8(bad))
        return ("error", f"cannot determine encoding: {exc.msg}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-8"):
            return ("error", fileio._not_utf8(exc))
        return ("error", f"cannot decode as {encoding} (byte {exc.start})")
    except LookupError:
        return ("error", f"unknown encoding {encoding!r} in coding cookie")
    return (fileio._normalise_newlines(text)[0], encoding)


ENCODING_CASES = [
    b"", b"\n", b"\n\n", b"x = 1\n", b"x = 1", b"\xef\xbb\xbfx = 1\n", b"\xef\xbb\xbf",
    b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", b"#!/usr/bin/env python\n# coding: latin-1\nx = '\xe9'\n",
    b"x = 1\n# coding: latin-1\nx = '\xe9'\n", b"\n\n# coding: latin-1\nx = '\xe9'\n",
    b"s = 'coding: latin-1'\nx = '\xe9'\n", b"# coding: klingon\n", b"\n# coding: klingon\n",
    b"\xef\xbb\xbf# coding: latin-1\n", b"\xef\xbb\xbf# coding: utf-8\nx = '\xc3\xa9'\n",
    b"x = '\xe9'\n", b"# \xe9\nx = 1\n", b"\n# \xe9\n", b"x = 1\ny = '\xe9'\n", b"\ny = '\xe9'\n",
    b"# coding: latin-1\rx = '\xe9'\r", b"# comment\r\n# coding: cp1252\r\nx = '\x80'\r\n",
    b"# vim: set fileencoding=ascii :\nx = '\xe9'\n", b"#coding=utf-8\nx = '\xff'\n",
    b"x = '\xc3\xa9'\r\n", b"# no cookie, just coding\nx = 1\n",
]


@pytest.mark.parametrize("data", ENCODING_CASES)
def test_decoding_matches_tokenize_detect_encoding_exactly(data):
    try:
        source = fileio.decode_source(data)
    except fileio.FileError as exc:
        outcome = ("error", str(exc))
    else:
        outcome = (source.text, source.encoding)
    assert outcome == _decoded_through_tokenize(data)


def test_the_digest_is_of_the_bytes_as_read(tmp_path):
    import hashlib

    raw = b"\xef\xbb\xbfx = 1\r\n"
    path = tmp_path / "mod.py"
    path.write_bytes(raw)
    source = fileio.read_source(str(path))
    path.write_bytes(b"y = 2\n")  # the digest is computed later, on first use
    assert source.digest == hashlib.sha256(raw).hexdigest()


def test_a_file_longer_than_fstat_said_is_read_to_its_end_or_to_the_limit(tmp_path):
    path = tmp_path / "mod.py"
    path.write_bytes(b"x" * 200_000)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert fileio._read_to_end(fd, 10, 1_000_000) == b"x" * 200_000
        os.lseek(fd, 0, os.SEEK_SET)
        assert fileio._read_to_end(fd, 10, 100_001) == b"x" * 100_001
    finally:
        os.close(fd)
