"""Suppression comments, parsed on their own: codes, prefixes, and what a bare `# noqa` means."""
from unfake_async.codemod.engine.suppression import Suppressions, skip_file

SOURCE = """\
a = 1  # noqa: UFA
b = 2  # noqa: E501
c = 3  # noqa
d = 4  # NOQA: e501, ufa003
e = 5  # unfake-async: ignore[UFA001]
f = 6  # unfake-async: ignore
g = 7  # noqa: UFA00
"""


def test_codes_and_prefixes():
    s = Suppressions(SOURCE)
    assert s.suppressed("UFA003", 1) and s.suppressed("UFA010", 1)  # a prefix, like --ignore UFA
    assert not s.suppressed("UFA003", 2)  # another tool's code only
    assert s.suppressed("UFA003", 3)  # bare noqa: everything
    assert s.suppressed("UFA003", 4) and not s.suppressed("UFA001", 4)
    assert s.suppressed("UFA001", 5) and not s.suppressed("UFA002", 5)
    assert s.suppressed("UFA002", 6)
    assert s.suppressed("UFA004", 7) and not s.suppressed("UFA010", 7)


def test_skip_file_only_as_a_whole_comment_line():
    assert skip_file("# unfake-async: skip-file\nimport requests\n")
    assert not skip_file('x = "# unfake-async: skip-file"\n')
